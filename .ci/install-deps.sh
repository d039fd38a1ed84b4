#!/usr/bin/env bash
# Installs the Debian packages zarrpp needs to build, test and benchmark.
# Idempotent: packages already present are not fetched again, and apt is quiet then.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libblosc-dev libzstd-dev zlib1g-dev libdeflate-dev libisal-dev
  liblz4-dev liblzma-dev libbz2-dev libzfp-dev
  nlohmann-json3-dev libtbb-dev libssl-dev libcurl4-openssl-dev
)
# The tests and benchmarks (ZARRPP_TESTS=0 with -DZARRPP_BUILD_TESTS=OFF -DZARRPP_BUILD_BENCHMARKS=OFF
# builds the library and tool alone): GoogleTest, Google Benchmark, and the peers below.
if [ "${ZARRPP_TESTS:-1}" = "0" ]; then
  ZARRPP_MPI=0 ZARRPP_FUZZ=0 ZARRPP_INTEROP=0
else
  packages+=(googletest libgtest-dev libgmock-dev libbenchmark-dev)
fi
# Multi-process writers: the MPI test (tests/mpi) runs when Open MPI is present.
if [ "${ZARRPP_MPI:-1}" = "1" ]; then
  packages+=(openmpi-bin libopenmpi-dev)
fi
# Object storage: the S3 tests run against a single-node Ceph RADOS Gateway
# (tests/services/rgw.sh), the HTTP store tests against nginx and python3 -m http.server.
if [ "${ZARRPP_S3:-1}" = "1" ]; then
  packages+=(radosgw ceph-mon ceph-osd ceph-common nginx-light curl python3)
fi
# The libFuzzer harnesses (tests/fuzz) build with clang and its sanitizer runtimes.
if [ "${ZARRPP_FUZZ:-1}" = "1" ]; then
  packages+=(clang libclang-rt-14-dev)
fi
if [ "${ZARRPP_INTEROP:-1}" = "1" ]; then
  packages+=(python3-zarr python3-numpy nodejs npm)
fi
# The API reference (cmake --build build --target docs) needs doxygen: ZARRPP_DOCS=1.
if [ "${ZARRPP_DOCS:-0}" = "1" ]; then
  packages+=(doxygen)
fi
if [ "${ZARRPP_PLOTS:-0}" = "1" ]; then
  packages+=(python3-matplotlib)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# node/npm may come from outside Debian (already on PATH): do not fight it.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  tmp=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
