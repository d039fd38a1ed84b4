// Reading float32 data into a float64 buffer (a converting read, spec/memory_types.md) against
// reading it into a float32 buffer, in the same binary and run.
//
//   A float32 [4096, 4096] array (64 MiB) in a MemoryStore, chunks [256, 256] (256 KiB), either
//   zstd level 1 or uncompressed (bytes only). The baseline ("plain") reads the whole array into
//   a float32 buffer; the engine reads it into a float64 buffer (Read with std::span<double>).
//
// Reported: the ratio table, engine time / plain time per case.
//
// Run: build-bench/bench/memory_types_bench
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "bench_support.h"
#include "zarrpp/array.h"
#include "zarrpp/json.h"
#include "zarrpp/memory_store.h"

namespace zarrpp {
namespace {

constexpr uint64_t kN = 4096, kChunk = 256;

void Check(const Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
    std::abort();
  }
}

// A smooth field with low-bit noise (compresses about 2:1 with zstd).
const std::vector<float>& Field() {
  static const std::vector<float> data = [] {
    std::vector<float> v(kN * kN);
    uint32_t noise = 12345;
    for (uint64_t y = 0; y < kN; ++y) {
      for (uint64_t x = 0; x < kN; ++x) {
        noise = noise * 1664525u + 1013904223u;
        v[y * kN + x] = static_cast<float>(280.0 + 20.0 * std::sin(0.005 * static_cast<double>(y)) *
                                                       std::cos(0.003 * static_cast<double>(x))) +
                        static_cast<float>(noise >> 24) * 1e-4f;
      }
    }
    return v;
  }();
  return data;
}

std::shared_ptr<Array> MakeArray(bool zstd) {
  ArrayMetadata m;
  m.shape = {kN, kN};
  m.chunk_shape = {kChunk, kChunk};
  m.data_type = DataType(DataTypeId::kFloat32);
  m.fill_value = FillValue::Zero(m.data_type);
  Json codecs = Json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}});
  if (zstd) codecs.push_back({{"name", "zstd"}, {"configuration", {{"level", 1}}}});
  m.codecs = codecs;
  auto arr = Array::Create(MemoryStore::Create(), "a", m);
  Check(arr.status(), "create");
  Check((*arr)->Write(Region{{0, 0}, {kN, kN}}, std::span<const float>(Field())), "write");
  return *arr;
}

const std::shared_ptr<Array>& ArrayFor(bool zstd) {
  static std::shared_ptr<Array> arrays[2];
  if (!arrays[zstd]) arrays[zstd] = MakeArray(zstd);
  return arrays[zstd];
}

template <typename T>
void BM_Read(benchmark::State& state, bool zstd) {
  const auto& arr = ArrayFor(zstd);
  std::vector<T> out(kN * kN);
  const Region all{{0, 0}, {kN, kN}};
  Check(arr->Read(all, std::span<T>(out)), "warm-up read");
  for (auto _ : state) {
    Check(arr->Read(all, std::span<T>(out)), "read");
    benchmark::DoNotOptimize(out.data());
  }
  if (out[12345] != static_cast<T>(Field()[12345])) {
    std::fprintf(stderr, "wrong value read\n");
    std::abort();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kN * kN * sizeof(float)));
}

}  // namespace
}  // namespace zarrpp

int main(int argc, char** argv) {
  using zarrpp::BM_Read;
  for (bool zstd : {true, false}) {
    const std::string c = zstd ? "zstd" : "raw";
    benchmark::RegisterBenchmark((c + "/plain").c_str(), BM_Read<float>, zstd)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark((c + "/engine").c_str(), BM_Read<double>, zstd)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  return zarrpp::bench::RunWithRatios(argc, argv, "plain",
                                      "float32 array read into float64 (engine) / float32 (plain)");
}
