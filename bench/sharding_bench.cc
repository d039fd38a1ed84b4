// Sharding benchmarks (workload.md W1 sharded, W2 scalar, W3), each paired with a baseline run
// in the same binary; after the usual table the binary prints one ratio per goal.
//
//   W3  uint16 4096x4096 in one shard, inner 64x32 (4 KiB, 8,192 inner chunks), local store:
//       one inner chunk / 1 % of inner chunks / one element updated in place, against rewriting
//       the whole shard; the same with zstd inner chunks (the append path); reading one inner
//       chunk against reading one unsharded 4 KiB chunk. Bytes moved are counted through
//       CountingStore and reported as counters per iteration.
//   W1  float32 8192 x 8192 (256 MiB, the full workload; ZARRPP_BENCH_W1_ROWS=4096 halves it),
//       local store: sharded-blosc-lz4 against blosc-lz4, full write and full read.
//   W2  uint8 1,000,000 written as a scalar: chunks of 100 in one shard against one unsharded
//       chunk of 1,000,000, memory store.
//
// W1 and W2 run three repetitions each, interleaved in random order with each other, and a
// ratio uses the fastest repetition of each side: on a shared 2-core machine the load drifts by
// more than the differences measured, and interleaving exposes both sides to the same drift.
//
// Run: build-shardperf/bench/sharding_bench   (about a minute on 2 cores)
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench_support.h"
#include "src/tools/workloads.h"
#include "zarrpp/array.h"
#include "zarrpp/json.h"
#include "zarrpp/local_store.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/store_wrappers.h"

namespace zarrpp {
namespace {

std::string TempDir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("zarrpp_sharding_bench_" + std::to_string(::getpid())) / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

using bench::Check;
using bench::Must;

Json BytesLE() {
  return {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
}
Json ShardingOf(std::vector<uint64_t> inner, Json codecs) {
  return {{"name", "sharding_indexed"},
          {"configuration",
           {{"chunk_shape", inner},
            {"codecs", std::move(codecs)},
            {"index_codecs", Json::array({BytesLE(), {{"name", "crc32c"}}})},
            {"index_location", "end"}}}};
}
ArrayMetadata Meta(std::vector<uint64_t> shape, std::vector<uint64_t> chunks, DataType t,
                   Json codecs) {
  ArrayMetadata m;
  m.shape = std::move(shape);
  m.chunk_shape = std::move(chunks);
  m.data_type = t;
  m.fill_value = FillValue::Zero(t);
  m.codecs = std::move(codecs);
  return m;
}

void AddIoCounters(benchmark::State& state, const CountingStore& store) {
  const auto c = store.counters();
  const double n = static_cast<double>(state.iterations());
  state.counters["bytes_written"] = static_cast<double>(c.bytes_written) / n;
  state.counters["bytes_read"] = static_cast<double>(c.bytes_read) / n;
  state.counters["requests"] = static_cast<double>(c.get_into + c.set + c.set_range + c.size) / n;
}

// ---------------------------------------------------------------------------------------------
// W3

constexpr uint64_t kW3 = 4096;
const std::vector<uint64_t> kW3Shape = {kW3, kW3};
const std::vector<uint64_t> kW3Inner = {64, 32};

struct W3 {
  std::shared_ptr<CountingStore> store;
  std::shared_ptr<Array> array;
  std::vector<uint16_t> data;
};

// A shard written whole: uncompressed ("none") or zstd level 3 ("zstd").
W3& W3Array(const std::string& inner) {
  static std::map<std::string, std::unique_ptr<W3>> arrays;
  auto& slot = arrays[inner];
  if (!slot) {
    slot = std::make_unique<W3>();
    auto local = Must(LocalStore::Create(TempDir("w3_" + inner)), "open");
    slot->store = std::make_shared<CountingStore>(local);
    Json codecs = Json::array({BytesLE()});
    if (inner == "zstd") codecs.push_back({{"name", "zstd"}, {"configuration", {{"level", 3}}}});
    slot->array = Must(Array::Create(slot->store, "w3",
                                     Meta(kW3Shape, kW3Shape, DataType(DataTypeId::kUInt16),
                                          Json::array({ShardingOf(kW3Inner, codecs)}))),
                       "create");
    slot->data.resize(kW3 * kW3);
    std::mt19937 rng(3);
    for (size_t i = 0; i < slot->data.size(); ++i) {
      slot->data[i] = static_cast<uint16_t>((i % kW3) / 7 + (rng() & 15));
    }
    Check(slot->array->Write(Region::All(kW3Shape), std::span<const uint16_t>(slot->data)),
          "w3 write");
  }
  return *slot;
}

Region RandomInner(std::mt19937_64& rng) {
  const uint64_t r = rng() % (kW3 / kW3Inner[0]), c = rng() % (kW3 / kW3Inner[1]);
  return Region{{r * kW3Inner[0], c * kW3Inner[1]}, kW3Inner};
}

void BM_W3_FullShardRewrite(benchmark::State& state, std::string inner) {
  W3& w = W3Array(inner);
  w.store->reset();
  for (auto _ : state) {
    Check(w.array->Write(Region::All(kW3Shape), std::span<const uint16_t>(w.data)), "rewrite");
  }
  AddIoCounters(state, *w.store);
}

// `chunks` whole inner chunks per iteration, each its own write call.
void BM_W3_UpdateInnerChunks(benchmark::State& state, std::string inner, int chunks) {
  W3& w = W3Array(inner);
  std::mt19937_64 rng(11);
  std::vector<uint16_t> v(kW3Inner[0] * kW3Inner[1]);
  // One untimed update first: a compact compressed shard gets its free space here.
  Check(w.array->Write(RandomInner(rng), std::span<const uint16_t>(v)), "warm-up");
  w.store->reset();
  uint64_t rewrites = 0;
  for (auto _ : state) {
    for (int k = 0; k < chunks; ++k) {
      for (auto& x : v) x = static_cast<uint16_t>(x + 1 + (rng() & 3));
      const uint64_t sets = w.store->counters().set;
      Check(w.array->Write(RandomInner(rng), std::span<const uint16_t>(v)), "update");
      rewrites += w.store->counters().set - sets;
    }
  }
  AddIoCounters(state, *w.store);
  state.counters["shard_rewrites"] = static_cast<double>(rewrites);
  state.counters["bound_chunk_plus_index"] = static_cast<double>(chunks) * (4096.0 + 8192 * 16 + 4);
}

void BM_W3_UpdateOneElement(benchmark::State& state, std::string inner) {
  W3& w = W3Array(inner);
  std::mt19937_64 rng(12);
  w.store->reset();
  uint16_t x = 1;
  for (auto _ : state) {
    const Region r{{rng() % kW3, rng() % kW3}, {1, 1}};
    ++x;
    Check(w.array->Write(r, std::span<const uint16_t>(&x, 1)), "element");
  }
  AddIoCounters(state, *w.store);
}

void BM_W3_ReadOneInnerChunk(benchmark::State& state, bool cache) {
  W3& w = W3Array("none");
  ArrayOptions opt;
  if (cache) opt.sharding.index_cache_bytes = 1 << 20;
  auto a = Must(Array::Open(w.store, "w3", opt), "open");
  std::mt19937_64 rng(13);
  std::vector<uint16_t> out(kW3Inner[0] * kW3Inner[1]);
  if (cache) Check(a->Read(RandomInner(rng), std::span<uint16_t>(out)), "warm-up");
  w.store->reset();
  for (auto _ : state) {
    Check(a->Read(RandomInner(rng), std::span<uint16_t>(out)), "read");
  }
  AddIoCounters(state, *w.store);
}

// The baseline: the same 4 KiB chunks stored unsharded, one value each.
void BM_W3_ReadOneUnshardedChunk(benchmark::State& state) {
  static std::shared_ptr<CountingStore> store;
  static std::shared_ptr<Array> a;
  if (!a) {
    store = std::make_shared<CountingStore>(Must(LocalStore::Create(TempDir("w3_flat")), "open"));
    a = Must(Array::Create(
                 store, "flat",
                 Meta(kW3Shape, kW3Inner, DataType(DataTypeId::kUInt16), Json::array({BytesLE()}))),
             "create");
    Check(a->Write(Region::All(kW3Shape), std::span<const uint16_t>(W3Array("none").data)),
          "write");
  }
  std::mt19937_64 rng(13);
  std::vector<uint16_t> out(kW3Inner[0] * kW3Inner[1]);
  store->reset();
  for (auto _ : state) {
    Check(a->Read(RandomInner(rng), std::span<uint16_t>(out)), "read");
  }
  AddIoCounters(state, *store);
}

// ---------------------------------------------------------------------------------------------
// W1

uint64_t W1Rows() {
  const char* env = std::getenv("ZARRPP_BENCH_W1_ROWS");
  const uint64_t rows = env ? std::strtoull(env, nullptr, 10) : 8192;
  return std::max<uint64_t>(2048, rows / 2048 * 2048);
}

const std::vector<float>& W1Data() {
  static std::vector<float> data = [] {
    std::vector<float> d(W1Rows() * workloads::kW1Cols);
    workloads::GenerateW1(d.data(), W1Rows(), workloads::kW1Cols, *DefaultExecutor());
    return d;
  }();
  return data;
}

std::shared_ptr<Array> W1Array(const std::string& config) {
  static std::map<std::string, std::shared_ptr<Array>> arrays;
  auto& a = arrays[config];
  if (!a) {
    auto store = Must(LocalStore::Create(TempDir("w1_" + config)), "open");
    a = Must(
        Array::Create(store, "w1", workloads::W1Metadata(config, W1Rows(), workloads::kW1Cols)),
        "create");
  }
  return a;
}

void BM_W1_Write(benchmark::State& state, std::string config) {
  auto a = W1Array(config);
  const Region all = Region::All({W1Rows(), workloads::kW1Cols});
  for (auto _ : state) Check(a->Write(all, std::span<const float>(W1Data())), "w1 write");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * W1Data().size() * 4));
}

void BM_W1_Read(benchmark::State& state, std::string config) {
  auto a = W1Array(config);
  const Region all = Region::All({W1Rows(), workloads::kW1Cols});
  Check(a->Write(all, std::span<const float>(W1Data())), "w1 write");
  std::vector<float> out(W1Data().size());
  for (auto _ : state) Check(a->Read(all, std::span<float>(out)), "w1 read");
  if (out != W1Data()) state.SkipWithError("W1 read back differs");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size() * 4));
}

// ---------------------------------------------------------------------------------------------
// W2

void BM_W2_ScalarWrite(benchmark::State& state, bool sharded) {
  auto store = MemoryStore::Create();
  const Json codecs = sharded ? Json::array({ShardingOf({100}, Json::array({{{"name", "bytes"}}}))})
                              : Json::array({{{"name", "bytes"}}});
  auto a = Must(
      Array::Create(store, "w2", Meta({1000000}, {1000000}, DataType(DataTypeId::kUInt8), codecs)),
      "create");
  uint8_t v = 1;
  for (auto _ : state) {
    v = static_cast<uint8_t>(v % 200 + 1);
    Check(a->Fill(Region::All({1000000}), v), "fill");
  }
}

// ---------------------------------------------------------------------------------------------
// Ratios.

class Reporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.run_type != Run::RT_Iteration || r.iterations == 0) continue;
      const double t = r.GetAdjustedRealTime();  // in the run's time unit
      const double s = t * (r.time_unit == benchmark::kMillisecond   ? 1e-3
                            : r.time_unit == benchmark::kMicrosecond ? 1e-6
                            : r.time_unit == benchmark::kNanosecond  ? 1e-9
                                                                     : 1.0);
      // The fastest repetition: the one least disturbed by other load on the machine.
      auto [it, fresh] = seconds_.emplace(r.run_name.function_name, s);
      if (!fresh) it->second = std::min(it->second, s);
    }
    ConsoleReporter::ReportRuns(runs);
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    struct Goal {
      const char* what;
      const char* engine;
      const char* baseline;
      const char* goal;
    };
    const Goal goals[] = {
        {"W3 one inner chunk in place: full-rewrite time / in-place time",
         "W3/full_shard_rewrite/none", "W3/one_inner_chunk/none", ">= 100"},
        {"W3 1% of inner chunks: full-rewrite time / in-place time", "W3/full_shard_rewrite/none",
         "W3/one_percent/none", "(reported)"},
        {"W3 one element: full-rewrite time / in-place time", "W3/full_shard_rewrite/none",
         "W3/one_element/none", "(reported)"},
        {"W3 zstd one inner chunk: full-rewrite time / append time", "W3/full_shard_rewrite/zstd",
         "W3/one_inner_chunk/zstd", "(reported)"},
        {"Read one inner chunk / read one unsharded chunk", "W3/read_inner_chunk/no_cache",
         "W3/read_unsharded_chunk", "<= 2"},
        {"Read one inner chunk (index cached) / unsharded chunk", "W3/read_inner_chunk/cache",
         "W3/read_unsharded_chunk", "<= 2"},
        {"W1 write: sharded-blosc-lz4 / blosc-lz4", "W1/write/sharded-blosc-lz4",
         "W1/write/blosc-lz4", "<= 1.15"},
        {"W1 read: sharded-blosc-lz4 / blosc-lz4", "W1/read/sharded-blosc-lz4", "W1/read/blosc-lz4",
         "<= 1.15"},
        {"W2 scalar write: 10,000 inner chunks / one chunk", "W2/scalar/sharded",
         "W2/scalar/unsharded", "<= 2"},
    };
    std::printf("\n%-60s %12s %12s %9s  %s\n", "ratio", "numerator s", "baseline s", "ratio",
                "goal");
    for (const Goal& g : goals) {
      auto a = seconds_.find(g.engine), b = seconds_.find(g.baseline);
      if (a == seconds_.end() || b == seconds_.end()) continue;
      std::printf("%-60s %12.6f %12.6f %9.2f  %s\n", g.what, a->second, b->second,
                  a->second / b->second, g.goal);
    }
  }

 private:
  std::map<std::string, double> seconds_;
};

void Register() {
  using benchmark::RegisterBenchmark;
  const auto ms = benchmark::kMillisecond, us = benchmark::kMicrosecond;
  for (std::string inner : {"none", "zstd"}) {
    RegisterBenchmark(("W3/full_shard_rewrite/" + inner).c_str(), BM_W3_FullShardRewrite, inner)
        ->Unit(ms)
        ->UseRealTime()
        ->MinTime(0.5);
    RegisterBenchmark(("W3/one_inner_chunk/" + inner).c_str(), BM_W3_UpdateInnerChunks, inner, 1)
        ->Unit(us)
        ->UseRealTime()
        ->MinTime(0.5);
  }
  RegisterBenchmark("W3/one_percent/none", BM_W3_UpdateInnerChunks, std::string("none"), 82)
      ->Unit(ms)
      ->UseRealTime()
      ->MinTime(0.5);
  RegisterBenchmark("W3/one_element/none", BM_W3_UpdateOneElement, std::string("none"))
      ->Unit(us)
      ->UseRealTime()
      ->MinTime(0.5);
  RegisterBenchmark("W3/read_inner_chunk/no_cache", BM_W3_ReadOneInnerChunk, false)
      ->Unit(us)
      ->UseRealTime()
      ->MinTime(0.5);
  RegisterBenchmark("W3/read_inner_chunk/cache", BM_W3_ReadOneInnerChunk, true)
      ->Unit(us)
      ->UseRealTime()
      ->MinTime(0.5);
  RegisterBenchmark("W3/read_unsharded_chunk", BM_W3_ReadOneUnshardedChunk)
      ->Unit(us)
      ->UseRealTime()
      ->MinTime(0.5);
  for (std::string config : {"blosc-lz4", "sharded-blosc-lz4"}) {
    RegisterBenchmark(("W1/write/" + config).c_str(), BM_W1_Write, config)
        ->Unit(ms)
        ->UseRealTime()
        ->MinTime(1.0)
        ->Repetitions(3);
    RegisterBenchmark(("W1/read/" + config).c_str(), BM_W1_Read, config)
        ->Unit(ms)
        ->UseRealTime()
        ->MinTime(1.0)
        ->Repetitions(3);
  }
  RegisterBenchmark("W2/scalar/unsharded", BM_W2_ScalarWrite, false)
      ->Unit(us)
      ->UseRealTime()
      ->MinTime(0.3)
      ->Repetitions(3);
  RegisterBenchmark("W2/scalar/sharded", BM_W2_ScalarWrite, true)
      ->Unit(us)
      ->UseRealTime()
      ->MinTime(0.3)
      ->Repetitions(3);
}

}  // namespace
}  // namespace zarrpp

int main(int argc, char** argv) {
  zarrpp::Register();
  // Repetitions of different benchmarks run interleaved unless the caller says otherwise.
  std::vector<char*> args(argv, argv + argc);
  bool interleave_given = false;
  for (char* a : args) {
    interleave_given |= std::string(a).find("random_interleaving") != std::string::npos;
  }
  std::string interleave = "--benchmark_enable_random_interleaving=true";
  if (!interleave_given) args.push_back(interleave.data());
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  zarrpp::Reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  std::filesystem::remove_all(std::filesystem::temp_directory_path() /
                              ("zarrpp_sharding_bench_" + std::to_string(::getpid())));
  return 0;
}
