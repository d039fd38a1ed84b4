// zarrpp_demo - the main job: writes workload W1 (8192 x 8192 float32, chunks 256 x 1024) as a
// blosc-lz4 compressed array in a local directory, reads it back, checks its digest against the
// published one, and prints what it did.
//
//   zarrpp_demo [DIRECTORY]     (default: ./w1-blosc-lz4.zarr, replaced if present)
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "src/tools/workloads.h"
#include "zarrpp/array.h"
#include "zarrpp/digest.h"
#include "zarrpp/json.h"
#include "zarrpp/local_store.h"

using namespace zarrpp;

namespace {
double Seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
int Fail(const Status& s) {
  std::fprintf(stderr, "zarrpp_demo: %s\n", s.ToString().c_str());
  return 1;
}
}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "w1-blosc-lz4.zarr";
  const uint64_t rows = workloads::kW1Rows, cols = workloads::kW1Cols;
  std::vector<float> data(rows * cols);
  workloads::GenerateW1(data.data(), rows, cols, *DefaultExecutor());

  auto store = LocalStore::Create(dir);
  if (!store.ok()) return Fail(store.status());
  CreateOptions create;
  create.overwrite = true;
  // The read buffer is allocated and touched before timing, as a caller's buffer would be.
  std::vector<float> back(rows * cols);
  auto t0 = std::chrono::steady_clock::now();
  auto array = Array::Create(*store, "", workloads::W1Metadata("blosc-lz4"), create);
  if (!array.ok()) return Fail(array.status());
  Status s = (*array)->Write(Region::All({rows, cols}), std::span<const float>(data));
  if (!s.ok()) return Fail(s);
  auto t1 = std::chrono::steady_clock::now();

  auto reopened = Array::Open(*store, "");
  if (!reopened.ok()) return Fail(reopened.status());
  s = (*reopened)->Read(Region::All({rows, cols}), std::span<float>(back));
  if (!s.ok()) return Fail(s);
  auto t2 = std::chrono::steady_clock::now();

  const bool same = std::memcmp(data.data(), back.data(), data.size() * sizeof(float)) == 0;
  auto digest = ArrayDigest(**reopened);
  if (!digest.ok()) return Fail(digest.status());
  const bool digest_ok = *digest == workloads::kW1Sha256;

  auto keys = (*store)->list();
  if (!keys.ok()) return Fail(keys.status());
  uint64_t stored = 0;
  for (const std::string& k : *keys) {
    auto size = (*store)->size(k);
    if (size.ok() && *size && k != "zarr.json") stored += **size;
  }
  const double logical = static_cast<double>(rows * cols * sizeof(float));
  const double mib = logical / (1024.0 * 1024.0);
  std::printf("zarrpp demo: workload W1 in %s\n", dir.c_str());
  std::printf("  shape          %llu x %llu float32 (%.0f MiB), chunks 256 x 1024\n",
              static_cast<unsigned long long>(rows), static_cast<unsigned long long>(cols), mib);
  std::printf("  codecs         %s\n", (*reopened)->metadata().codecs->dump().c_str());
  std::printf("  stored bytes   %llu (compression ratio %.2f)\n",
              static_cast<unsigned long long>(stored), logical / static_cast<double>(stored));
  std::printf("  write          %.3f s (%.0f MiB/s)\n", Seconds(t0, t1), mib / Seconds(t0, t1));
  std::printf("  read           %.3f s (%.0f MiB/s)\n", Seconds(t1, t2), mib / Seconds(t1, t2));
  std::printf("  read == written: %s\n", same ? "yes" : "NO");
  std::printf("  sha256 %s (%s)\n", digest->c_str(),
              digest_ok ? "matches the published W1 digest" : "MISMATCH");
  return same && digest_ok ? 0 : 1;
}
