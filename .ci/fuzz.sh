#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz, clang) and runs each for a bounded time from its
# committed seed corpus. Findings (crash-*, leak-*, timeout-*, oom-*) are left in build-fuzz/findings
# and make the script fail.
#   FUZZ_SECONDS  seconds per harness (default 60)
#   FUZZ_JOBS     build jobs (default nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-$(nproc)}
build=build-fuzz

CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZARRPP_FUZZ=ON \
  -DZARRPP_BUILD_TESTS=OFF -DZARRPP_BUILD_BENCHMARKS=OFF -DZARRPP_BUILD_TOOLS=OFF
cmake --build "$build" -j"$jobs" --target fuzz_metadata_v3 fuzz_metadata_v2 fuzz_codec_chain \
  fuzz_region fuzz_shard

mkdir -p "$build/findings"
status=0
for name in metadata_v3 metadata_v2 codec_chain region shard; do
  work="$build/corpus/$name"
  mkdir -p "$work"
  echo "== fuzz_$name: ${seconds}s"
  if ! ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$build/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/findings/${name}-" \
      "$work" "tests/fuzz/corpus/$name"; then
    echo "fuzz_$name: finding (see $build/findings)"
    status=1
  fi
done
exit $status
