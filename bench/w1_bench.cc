// W1 (bench/workloads.md): 8192 x 8192 float32 in 256 chunks of 256 x 1024 on a local
// store, full write and full read, for the "none", "blosc-lz4" and "zstd3" chains, each beside the
// limit baseline: the fastest any engine could be here (per chunk on all cores: copy the chunk out,
// call the codec library directly, pwrite/pread its own file; no metadata, no framework).
//
//   build/bench/w1_bench                   all cases, ratios printed at the end
//   build/bench/w1_bench --benchmark_filter=blosc
#include <blosc.h>
#include <fcntl.h>
#include <oneapi/tbb/parallel_for.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "bench_support.h"
#include "src/tools/workloads.h"
#include "zarrpp/array.h"
#include "zarrpp/local_store.h"

namespace zarrpp::bench {
namespace {

using workloads::kW1ChunkCols;
using workloads::kW1ChunkRows;
using workloads::kW1Cols;
using workloads::kW1Rows;

constexpr uint64_t kGridRows = kW1Rows / kW1ChunkRows;
constexpr uint64_t kGridCols = kW1Cols / kW1ChunkCols;
constexpr uint64_t kChunkElems = kW1ChunkRows * kW1ChunkCols;
constexpr uint64_t kChunkBytes = kChunkElems * sizeof(float);

const std::vector<float>& Source() {
  static std::vector<float>* data = [] {
    auto* d = new std::vector<float>(kW1Rows * kW1Cols);
    workloads::GenerateW1(d->data(), kW1Rows, kW1Cols, *DefaultExecutor());
    return d;
  }();
  return *data;
}

std::vector<float>& Destination() {
  static std::vector<float>* d = new std::vector<float>(kW1Rows * kW1Cols, 1.0f);  // touched
  return *d;
}

std::string Dir(const std::string& role, const std::string& config) {
  static std::map<std::string, std::string> dirs;
  auto key = role + "-" + config;
  auto it = dirs.find(key);
  if (it == dirs.end()) it = dirs.emplace(key, ScratchDir("w1-" + key)).first;
  return it->second;
}

// Empties `dir`, leaving it in place.
void FreshDir(const std::string& dir) {
  RemoveDir(dir);
  std::filesystem::create_directories(dir);
}

// ---- the limit baseline ----------------------------------------------------------------------

struct LimitScratch {
  std::vector<uint8_t> chunk = std::vector<uint8_t>(kChunkBytes);
  std::vector<uint8_t> encoded =
      std::vector<uint8_t>(ZSTD_compressBound(kChunkBytes) + BLOSC_MAX_OVERHEAD);
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
};
LimitScratch& Scratch() {
  thread_local LimitScratch s;
  return s;
}

void LimitWrite(const std::string& config, const std::string& dir) {
  const float* src = Source().data();
  tbb::parallel_for(uint64_t{0}, kGridRows * kGridCols, [&](uint64_t i) {
    LimitScratch& s = Scratch();
    const uint64_t gr = i / kGridCols, gc = i % kGridCols;
    for (uint64_t r = 0; r < kW1ChunkRows; ++r) {
      std::memcpy(s.chunk.data() + r * kW1ChunkCols * 4,
                  src + (gr * kW1ChunkRows + r) * kW1Cols + gc * kW1ChunkCols, kW1ChunkCols * 4);
    }
    const uint8_t* out = s.chunk.data();
    size_t n = kChunkBytes;
    if (config == "blosc-lz4") {
      int c = blosc_compress_ctx(5, BLOSC_SHUFFLE, 4, kChunkBytes, s.chunk.data(), s.encoded.data(),
                                 s.encoded.size(), "lz4", 0, 1);
      out = s.encoded.data();
      n = static_cast<size_t>(c);
    } else if (config == "zstd3") {
      n = ZSTD_compressCCtx(s.cctx, s.encoded.data(), s.encoded.size(), s.chunk.data(), kChunkBytes,
                            3);
      out = s.encoded.data();
    }
    std::string path = dir + "/" + std::to_string(gr) + "." + std::to_string(gc);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ::pwrite(fd, out, n, 0) != static_cast<ssize_t>(n)) std::abort();
    ::close(fd);
  });
}

void LimitRead(const std::string& config, const std::string& dir) {
  float* dst = Destination().data();
  tbb::parallel_for(uint64_t{0}, kGridRows * kGridCols, [&](uint64_t i) {
    LimitScratch& s = Scratch();
    const uint64_t gr = i / kGridCols, gc = i % kGridCols;
    std::string path = dir + "/" + std::to_string(gr) + "." + std::to_string(gc);
    int fd = ::open(path.c_str(), O_RDONLY);
    struct stat st;
    if (fd < 0 || ::fstat(fd, &st) != 0) std::abort();
    const size_t n = static_cast<size_t>(st.st_size);
    if (s.encoded.size() < n) s.encoded.resize(n);
    if (::pread(fd, s.encoded.data(), n, 0) != static_cast<ssize_t>(n)) std::abort();
    ::close(fd);
    const uint8_t* chunk = s.encoded.data();
    if (config == "blosc-lz4") {
      blosc_decompress_ctx(s.encoded.data(), s.chunk.data(), kChunkBytes, 1);
      chunk = s.chunk.data();
    } else if (config == "zstd3") {
      ZSTD_decompressDCtx(s.dctx, s.chunk.data(), kChunkBytes, s.encoded.data(), n);
      chunk = s.chunk.data();
    }
    for (uint64_t r = 0; r < kW1ChunkRows; ++r) {
      std::memcpy(dst + (gr * kW1ChunkRows + r) * kW1Cols + gc * kW1ChunkCols,
                  chunk + r * kW1ChunkCols * 4, kW1ChunkCols * 4);
    }
  });
}

// ---- the engine ----------------------------------------------------------------------------

void EngineWrite(benchmark::State& state, const std::string& config, const std::string& dir) {
  auto store = LocalStore::Create(dir);
  if (!store.ok()) return state.SkipWithError(store.status().ToString().c_str());
  CreateOptions create;
  create.overwrite = true;
  auto array = Array::Create(*store, "", workloads::W1Metadata(config), create);
  if (!array.ok()) return state.SkipWithError(array.status().ToString().c_str());
  Status s = (*array)->Write(Region::All({kW1Rows, kW1Cols}), std::span<const float>(Source()));
  if (!s.ok()) state.SkipWithError(s.ToString().c_str());
}

void EngineRead(benchmark::State& state, const std::string& dir) {
  auto store = LocalStore::Create(dir);
  if (!store.ok()) return state.SkipWithError(store.status().ToString().c_str());
  auto array = Array::Open(*store, "");
  if (!array.ok()) return state.SkipWithError(array.status().ToString().c_str());
  Status s = (*array)->Read(Region::All({kW1Rows, kW1Cols}), std::span<float>(Destination()));
  if (!s.ok()) state.SkipWithError(s.ToString().c_str());
}

bool Verify() {
  return std::memcmp(Source().data(), Destination().data(), Source().size() * sizeof(float)) == 0;
}

std::set<std::string>& Written() {
  static std::set<std::string> w;
  return w;
}

void Register(const std::string& config) {
  auto setup = [](benchmark::internal::Benchmark* b) {
    b->Iterations(1)
        ->Repetitions(5)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond)
        ->ReportAggregatesOnly(false);
  };
  setup(benchmark::RegisterBenchmark(
      ("W1/write/" + config + "/limit").c_str(), [config](benchmark::State& st) {
        Source();
        std::string dir = Dir("limit", config);
        for (auto _ : st) {
          st.PauseTiming();
          FreshDir(dir);
          st.ResumeTiming();
          LimitWrite(config, dir);
        }
        Written().insert("limit-" + config);
        st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(kW1Rows * kW1Cols * 4));
      }));
  setup(benchmark::RegisterBenchmark(
      ("W1/write/" + config + "/engine").c_str(), [config](benchmark::State& st) {
        Source();
        std::string dir = Dir("engine", config);
        for (auto _ : st) {
          st.PauseTiming();
          FreshDir(dir);  // both sides write new files into an empty directory
          st.ResumeTiming();
          EngineWrite(st, config, dir);
        }
        Written().insert("engine-" + config);
        st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(kW1Rows * kW1Cols * 4));
      }));
  setup(benchmark::RegisterBenchmark(
      ("W1/read/" + config + "/limit").c_str(), [config](benchmark::State& st) {
        std::string dir = Dir("limit", config);
        if (!Written().count("limit-" + config))
          LimitWrite(config, dir), Written().insert("limit-" + config);
        Destination();
        for (auto _ : st) LimitRead(config, dir);
        if (!Verify()) st.SkipWithError("limit read returned different data");
        st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(kW1Rows * kW1Cols * 4));
      }));
  setup(benchmark::RegisterBenchmark(
      ("W1/read/" + config + "/engine").c_str(), [config](benchmark::State& st) {
        std::string dir = Dir("engine", config);
        if (!Written().count("engine-" + config)) {
          EngineWrite(st, config, dir);
          Written().insert("engine-" + config);
        }
        std::fill(Destination().begin(), Destination().end(), 0.0f);
        for (auto _ : st) EngineRead(st, dir);
        if (!Verify()) st.SkipWithError("engine read returned different data");
        st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(kW1Rows * kW1Cols * 4));
      }));
}

}  // namespace
}  // namespace zarrpp::bench

int main(int argc, char** argv) {
  blosc_init();
  for (const char* c : {"none", "blosc-lz4", "zstd3"}) zarrpp::bench::Register(c);
  int rc = zarrpp::bench::RunWithRatios(argc, argv, "limit",
                                        "W1 on a local store: engine vs limit baseline");
  for (const char* c : {"none", "blosc-lz4", "zstd3"}) {
    zarrpp::bench::RemoveDir(zarrpp::bench::Dir("limit", c));
    zarrpp::bench::RemoveDir(zarrpp::bench::Dir("engine", c));
  }
  return rc;
}
