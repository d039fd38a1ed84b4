// Appending along a sharded time axis (the write pattern of instruments and simulations), on a
// local store behind a CountingStore.
//
//   A float32 [T, 180, 360] field (T = 128 steps of 253 KiB), sharded `depth` steps deep
//   (depth 8 or 64) with inner chunks [1, 90, 180], zstd level 3. The engine side appends the
//   T steps in calls of `steps` (1, 8 or 64) with Array::Append; the baseline ("whole") writes
//   the same T steps with one Write into an array created at its final shape.
//
// Reported per case: the time of the appends over the time of the whole write (the ratio
// table), and as counters bytes_written / final_bytes, where final_bytes is what the store holds
// at the end (shards and metadata): the bytes an append costs beyond the data it adds.
//
// Run: build/bench/append_bench
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bench_support.h"
#include "zarrpp/array.h"
#include "zarrpp/json.h"
#include "zarrpp/local_store.h"
#include "zarrpp/store_wrappers.h"

namespace zarrpp {
namespace {

constexpr uint64_t kSteps = 128, kNy = 180, kNx = 360;

using bench::Check;
using bench::Must;

// A smooth field that changes with time plus a little low-bit noise: compresses about 2:1.
const std::vector<float>& Field() {
  static const std::vector<float> data = [] {
    std::vector<float> v(kSteps * kNy * kNx);
    uint32_t noise = 12345;
    for (uint64_t t = 0; t < kSteps; ++t) {
      for (uint64_t y = 0; y < kNy; ++y) {
        for (uint64_t x = 0; x < kNx; ++x) {
          noise = noise * 1664525u + 1013904223u;
          v[(t * kNy + y) * kNx + x] =
              static_cast<float>(280.0 + 20.0 * std::sin(0.05 * static_cast<double>(y + t)) *
                                             std::cos(0.03 * static_cast<double>(x))) +
              static_cast<float>(noise >> 24) * 1e-4f;
        }
      }
    }
    return v;
  }();
  return data;
}

ArrayMetadata Meta(uint64_t t, uint64_t depth) {
  ArrayMetadata m;
  m.shape = {t, kNy, kNx};
  m.chunk_shape = {depth, kNy, kNx};
  m.data_type = DataType(DataTypeId::kFloat32);
  m.fill_value = FillValue::Zero(m.data_type);
  const Json inner = Json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
                                  {{"name", "zstd"}, {"configuration", {{"level", 3}}}}});
  m.codecs =
      Json::array({{{"name", "sharding_indexed"},
                    {"configuration",
                     {{"chunk_shape", Json::array({1, 90, 180})},
                      {"codecs", inner},
                      {"index_codecs",
                       Json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
                                    {{"name", "crc32c"}}})}}}}});
  return m;
}

uint64_t StoredBytes(const std::string& dir) {
  uint64_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) n += e.file_size();
  }
  return n;
}

// steps == 0: the baseline, one whole write.
void BM_Append(benchmark::State& state, uint64_t steps, uint64_t depth) {
  const std::vector<float>& data = Field();
  const std::string dir = bench::ScratchDir("zarrpp_append_bench");
  uint64_t written = 0, final_bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    bench::RemoveDir(dir);
    auto local = Must(LocalStore::Create(dir), "open");
    auto counting = std::make_shared<CountingStore>(local);
    CreateOptions create;
    auto a = Must(Array::Create(counting, "tas", Meta(steps == 0 ? kSteps : 0, depth), create),
                  "create");
    counting->reset();
    state.ResumeTiming();
    if (steps == 0) {
      Check(a->Write(Region::All(a->shape()), std::span<const float>(data)), "write");
    } else {
      for (uint64_t t = 0; t < kSteps; t += steps) {
        const uint64_t n = std::min(steps, kSteps - t);
        Check(a->Append(std::span<const float>(data.data() + t * kNy * kNx, n * kNy * kNx),
                        {n, kNy, kNx}, 0),
              "append");
      }
    }
    state.PauseTiming();
    written += counting->counters().bytes_written;
    final_bytes += StoredBytes(dir);
    state.ResumeTiming();
  }
  state.counters["bytes_written"] =
      static_cast<double>(written) / static_cast<double>(state.iterations());
  state.counters["written_over_final"] =
      static_cast<double>(written) / static_cast<double>(final_bytes);
  bench::RemoveDir(dir);
}

void Register() {
  for (uint64_t depth : {8, 64}) {
    const std::string name = "append/depth" + std::to_string(depth);
    benchmark::RegisterBenchmark((name + "/whole").c_str(), BM_Append, 0, depth)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Iterations(3);
    for (uint64_t steps : {1, 8, 64}) {
      benchmark::RegisterBenchmark((name + "/steps" + std::to_string(steps)).c_str(), BM_Append,
                                   steps, depth)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->Iterations(3);
    }
  }
}

}  // namespace
}  // namespace zarrpp

int main(int argc, char** argv) {
  zarrpp::Register();
  return zarrpp::bench::RunWithRatios(argc, argv, "whole",
                                      "appends of N steps each / one whole write of the same data",
                                      {"steps1", "steps8", "steps64"});
}
