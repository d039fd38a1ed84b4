// Strided reads into strided destinations (spec/selections.md) against the contiguous read of the
// same bytes into a dense C-order buffer, in the same binary and run.
//
//   A float32 [4096, 4096] array (64 MiB) in a MemoryStore, chunks [256, 256] (256 KiB), zstd
//   level 1 or uncompressed (bytes only). Cases, each with its baseline ("plain"):
//   - slice: the whole array into a [4096, 4096] slice of a caller's [4096, 4160] matrix (rows
//     padded); plain: the whole array into a dense buffer.
//   - fortran: the whole array into a column-major buffer; plain: the same dense read.
//   - hyperslab: every other row of chunks (start 0, stride 512, count 8, block 256 rows; all
//     columns) into the padded slice; plain: the dense read of 2048 x 4096 elements (the same
//     number of chunks and bytes).
//   The same array sharded (shards [1024, 1024], inner chunks [256, 256], zstd level 1 or
//   uncompressed inner chunks), "sharded-" cases: slice and fortran, each against the dense
//   read of the same sharded array.
//   raw-fortran-write: the uncompressed array written whole from a column-major buffer, against
//   the same bytes written from a dense one (into an array of its own).
//
// Reported: the ratio table, engine time / plain time per case. The callers' buffers are where
// std::vector puts them (16 bytes past a 64-byte boundary here), or, with STRIDED_BENCH_ALIGN=1
// in the environment, start at a 64-byte boundary, for both sides.
//
// Run: build/bench/strided_bench --benchmark_enable_random_interleaving=true
//   --benchmark_repetitions=10
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "bench_support.h"
#include "zarrpp/array.h"
#include "zarrpp/codecs.h"
#include "zarrpp/json.h"
#include "zarrpp/memory_store.h"

namespace zarrpp {
namespace {

using bench::Check;

constexpr uint64_t kN = 4096, kChunk = 256, kPad = 64;

// A smooth field with low-bit noise (compresses about 2:1 with zstd).
std::vector<float> Field() {
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
}

constexpr uint64_t kShard = 1024;

const std::shared_ptr<Array>& ArrayFor(bool zstd, bool sharded) {
  static std::shared_ptr<Array> arrays[2][2];
  std::shared_ptr<Array>& a = arrays[sharded][zstd];
  if (!a) {
    ArrayMetadata m;
    m.shape = {kN, kN};
    m.data_type = DataType(DataTypeId::kFloat32);
    m.fill_value = FillValue::Zero(m.data_type);
    const Codecs chunk_codecs = zstd ? Codecs::Bytes().Zstd(1) : Codecs::Bytes();
    if (sharded) {
      m.chunk_shape = {kShard, kShard};
      m.codecs = Codecs::Sharding({kChunk, kChunk}, chunk_codecs);
    } else {
      m.chunk_shape = {kChunk, kChunk};
      m.codecs = chunk_codecs;
    }
    a = bench::Must(Array::Create(MemoryStore::Create(), "a", m), "create");
    const std::vector<float> field = Field();
    Check(a->Write(Region{{0, 0}, {kN, kN}}, std::span<const float>(field)), "write");
  }
  return a;
}

enum class Case { kSlice, kFortran, kHyperslab };

// A caller's buffer of n floats in `storage`: where std::vector puts it, or, with
// STRIDED_BENCH_ALIGN=1 in the environment, from its first 64-byte boundary (both sides alike).
std::span<float> Buffer(std::vector<float>& storage, uint64_t n) {
  static const bool align = std::getenv("STRIDED_BENCH_ALIGN") != nullptr;
  storage.assign(n + 16, 0.0f);
  const uintptr_t at = reinterpret_cast<uintptr_t>(storage.data());
  const uint64_t skip = align ? (64 - at % 64) % 64 / sizeof(float) : 0;
  return std::span<float>(storage.data() + skip, n);
}

void BM_Plain(benchmark::State& state, bool zstd, bool sharded, Case c) {
  const auto& arr = ArrayFor(zstd, sharded);
  const uint64_t rows = c == Case::kHyperslab ? kN / 2 : kN;
  std::vector<float> storage;
  const std::span<float> out = Buffer(storage, rows * kN);
  const Region region{{0, 0}, {rows, kN}};
  Check(arr->Read(region, std::span<float>(out)), "warm-up read");
  for (auto _ : state) {
    Check(arr->Read(region, std::span<float>(out)), "read");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * rows * kN * sizeof(float)));
}

void BM_Strided(benchmark::State& state, bool zstd, bool sharded, Case c) {
  const auto& arr = ArrayFor(zstd, sharded);
  std::vector<float> storage;
  const std::span<float> buffer = Buffer(storage, c == Case::kFortran ? kN * kN : kN * (kN + kPad));
  const auto matrix = StridedView<float>::COrder(buffer.data(), {kN, kN + kPad});
  const uint64_t rows = c == Case::kHyperslab ? kN / 2 : kN;
  const StridedView<float> view =
      c == Case::kFortran ? StridedView<float>::FortranOrder(buffer.data(), {kN, kN})
                          : bench::Must(matrix.Slice(Region{{0, kPad / 2}, {rows, kN}}), "slice");
  const Hyperslab sel =
      c == Case::kHyperslab
          ? Hyperslab{{0, 0}, {2 * kChunk, 1}, {kN / (2 * kChunk), 1}, {kChunk, kN}}
          : Hyperslab::Of(Region{{0, 0}, {kN, kN}});
  Check(arr->Read(sel, view), "warm-up read");
  for (auto _ : state) {
    Check(arr->Read(sel, view), "read");
    benchmark::DoNotOptimize(buffer.data());
  }
  // Spot check: element (row 300, column 5) of the selection.
  const uint64_t r = 300, col = 5;
  const uint64_t arr_row = c == Case::kHyperslab ? (r / kChunk) * 2 * kChunk + r % kChunk : r;
  std::vector<float> one(1);
  Check(arr->Read(Region{{arr_row, col}, {1, 1}}, std::span<float>(one)), "spot read");
  const std::vector<uint64_t> idx = {r, col};
  if (view[idx] != one[0]) {
    std::fprintf(stderr, "wrong value read\n");
    std::abort();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * rows * kN * sizeof(float)));
}

// The other direction, uncompressed: the whole array written from a column-major buffer
// (engine) against the same bytes written from a dense one (plain), into an array of its own.
const std::shared_ptr<Array>& WriteArray() {
  static std::shared_ptr<Array> a;
  if (!a) {
    ArrayMetadata m = ArrayFor(false, false)->metadata();
    a = bench::Must(Array::Create(MemoryStore::Create(), "w", m), "create");
  }
  return a;
}

void BM_WritePlain(benchmark::State& state) {
  const auto& arr = WriteArray();
  std::vector<float> storage;
  const std::span<float> in = Buffer(storage, kN * kN);
  Check(ArrayFor(false, false)->Read(Region{{0, 0}, {kN, kN}}, in), "read");
  const Region all{{0, 0}, {kN, kN}};
  for (auto _ : state) Check(arr->Write(all, std::span<const float>(in)), "write");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kN * kN * sizeof(float)));
}

void BM_WriteFortran(benchmark::State& state) {
  const auto& arr = WriteArray();
  std::vector<float> storage;
  const std::span<float> buffer = Buffer(storage, kN * kN);
  const auto view = StridedView<float>::FortranOrder(buffer.data(), {kN, kN});
  const Hyperslab all = Hyperslab::Of(Region{{0, 0}, {kN, kN}});
  Check(ArrayFor(false, false)->Read(all, view), "read");
  for (auto _ : state) Check(arr->Write(all, view), "write");
  // Spot check: element (row 300, column 5) as written.
  std::vector<float> one(1), want(1);
  Check(arr->Read(Region{{300, 5}, {1, 1}}, std::span<float>(one)), "spot read");
  Check(ArrayFor(false, false)->Read(Region{{300, 5}, {1, 1}}, std::span<float>(want)), "spot");
  if (one[0] != want[0]) {
    std::fprintf(stderr, "wrong value written\n");
    std::abort();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kN * kN * sizeof(float)));
}

}  // namespace
}  // namespace zarrpp

int main(int argc, char** argv) {
  using zarrpp::Case;
  for (bool sharded : {false, true}) {
    for (bool zstd : {true, false}) {
      for (auto [c, name] : {std::pair{Case::kSlice, "slice"}, std::pair{Case::kFortran, "fortran"},
                             std::pair{Case::kHyperslab, "hyperslab"}}) {
        if (sharded && c == Case::kHyperslab) continue;
        const std::string base =
            std::string(sharded ? "sharded-" : "") + (zstd ? "zstd-" : "raw-") + name;
        benchmark::RegisterBenchmark((base + "/plain").c_str(), zarrpp::BM_Plain, zstd, sharded, c)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
        benchmark::RegisterBenchmark((base + "/engine").c_str(), zarrpp::BM_Strided, zstd, sharded,
                                     c)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
    }
  }
  benchmark::RegisterBenchmark("raw-fortran-write/plain", zarrpp::BM_WritePlain)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark("raw-fortran-write/engine", zarrpp::BM_WriteFortran)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  return zarrpp::bench::RunWithRatios(
      argc, argv, "plain",
      "strided read or write of a strided view (engine) / dense read or write (plain)");
}
