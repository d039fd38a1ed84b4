// 1,000 random single-element reads of W1 zstd3 (bench/workloads.md: 8192 x 8192 float32,
// chunks 256 x 1024, [bytes, zstd 3], on a local store), per point, with the decoded-chunk cache
// holding the working set (every chunk), against:
//   memcpy      the limit: a memcpy of the element out of a decoded buffer, same binary
//   empty_read  the floor of the call path: Array::Read of an empty region at the point (the
//               checks and dispatch every Read pays, touching no chunk)
//   cached      Array::Read of the point with ArrayOptions::chunk_cache warm
//   uncached    Array::Read of the point without a cache (fetch and decode a 1 MiB chunk)
//   hdf5_cached HDF5 (when found at configure time): the same array, chunking and zstd level,
//               H5Dread of a one-element hyperslab with a chunk cache holding every chunk
//
//   build-bench/bench/cache_bench          ratios against memcpy printed at the end
#include <zstd.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "bench_support.h"
#include "src/tools/workloads.h"
#include "zarrpp/array.h"
#include "zarrpp/chunk_cache.h"
#include "zarrpp/local_store.h"

#ifdef ZARRPP_BENCH_HDF5
#include <hdf5.h>
#endif

namespace zarrpp::bench {
namespace {

using workloads::kW1ChunkCols;
using workloads::kW1ChunkRows;
using workloads::kW1Cols;
using workloads::kW1Rows;

constexpr size_t kPoints = 1000;

const std::vector<float>& Source() {
  static std::vector<float>* data = [] {
    auto* d = new std::vector<float>(kW1Rows * kW1Cols);
    workloads::GenerateW1(d->data(), kW1Rows, kW1Cols, *DefaultExecutor());
    return d;
  }();
  return *data;
}

const std::vector<std::pair<uint64_t, uint64_t>>& Points() {
  static std::vector<std::pair<uint64_t, uint64_t>>* p = [] {
    auto* v = new std::vector<std::pair<uint64_t, uint64_t>>;
    std::mt19937_64 rng(2026);
    for (size_t i = 0; i < kPoints; ++i) v->emplace_back(rng() % kW1Rows, rng() % kW1Cols);
    return v;
  }();
  return *p;
}

// Scratch directories made by this run, removed at its end.
std::vector<std::string>& Made() {
  static std::vector<std::string> made;
  return made;
}

// The W1 zstd3 array, written once per run.
const std::string& ZarrDir() {
  static std::string* dir = [] {
    auto* d = new std::string(ScratchDir("cache-w1-zstd3"));
    Made().push_back(*d);
    auto store = Must(LocalStore::Create(*d), "open store");
    CreateOptions create;
    create.overwrite = true;
    auto array = Must(Array::Create(store, "", workloads::W1Metadata("zstd3"), create), "create");
    Check(array->Write(Region::All({kW1Rows, kW1Cols}), std::span<const float>(Source())),
          "write W1");
    return d;
  }();
  return *dir;
}

std::shared_ptr<Array> OpenW1(std::shared_ptr<ChunkCache> cache) {
  auto store = Must(LocalStore::Create(ZarrDir()), "open store");
  ArrayOptions o;
  o.chunk_cache = std::move(cache);
  return Must(Array::Open(store, "", o), "open W1");
}

// Reads every point (1,000 Read calls) into `out`, checking the values once.
void ReadPoints(benchmark::State& state, const Array& a, std::vector<float>& out) {
  const auto& pts = Points();
  for (size_t i = 0; i < pts.size(); ++i) {
    Status s = a.Read(Region{{pts[i].first, pts[i].second}, {1, 1}},
                      MutableByteView(reinterpret_cast<uint8_t*>(&out[i]), sizeof(float)));
    if (!s.ok()) return state.SkipWithError(s.ToString().c_str());
  }
}

bool Verify(const std::vector<float>& out) {
  const auto& pts = Points();
  for (size_t i = 0; i < pts.size(); ++i) {
    if (out[i] != Source()[pts[i].first * kW1Cols + pts[i].second]) return false;
  }
  return true;
}

void Finish(benchmark::State& state) {
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(kPoints));
  // Seconds per point (shown with an SI prefix: 25n is 25 ns).
  state.counters["per_point"] =
      benchmark::Counter(double(state.iterations()) * kPoints,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_Memcpy(benchmark::State& state) {
  const auto& pts = Points();
  const float* src = Source().data();
  std::vector<float> out(kPoints);
  for (auto _ : state) {
    for (size_t i = 0; i < pts.size(); ++i) {
      std::memcpy(&out[i], src + pts[i].first * kW1Cols + pts[i].second, sizeof(float));
      benchmark::ClobberMemory();
    }
    benchmark::DoNotOptimize(out.data());
  }
  if (!Verify(out)) state.SkipWithError("memcpy read wrong values");
  Finish(state);
}

void BM_EmptyRead(benchmark::State& state) {
  auto cache = ChunkCache::Make(uint64_t{320} << 20);
  auto a = OpenW1(cache);
  const auto& pts = Points();
  float sink = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < pts.size(); ++i) {
      Status s = a->Read(Region{{pts[i].first, pts[i].second}, {0, 0}},
                         MutableByteView(reinterpret_cast<uint8_t*>(&sink), 0));
      if (!s.ok()) return state.SkipWithError(s.ToString().c_str());
    }
  }
  Finish(state);
}

void BM_Cached(benchmark::State& state) {
  // Every chunk fits: 256 x (1 MiB + the per-entry charge).
  auto cache = ChunkCache::Make(uint64_t{257} << 20);
  auto a = OpenW1(cache);
  std::vector<float> out(kPoints);
  ReadPoints(state, *a, out);  // warm: the working set is cached
  cache->ResetStats();
  for (auto _ : state) ReadPoints(state, *a, out);
  if (!Verify(out)) state.SkipWithError("cached read wrong values");
  const ChunkCacheStats st = cache->stats();
  if (st.misses != 0) state.SkipWithError("the working set was not cached");
  state.counters["hits"] = double(st.hits);
  Finish(state);
}

void BM_Uncached(benchmark::State& state) {
  auto a = OpenW1(nullptr);
  std::vector<float> out(kPoints);
  for (auto _ : state) ReadPoints(state, *a, out);
  if (!Verify(out)) state.SkipWithError("uncached read wrong values");
  Finish(state);
}

#ifdef ZARRPP_BENCH_HDF5
// HDF5's registered zstd filter (id 32015), written here against the zstd library so that HDF5
// reads and writes the same codec at the same level as the Zarr array.
constexpr H5Z_filter_t kZstdFilter = 32015;

size_t ZstdFilter(unsigned flags, size_t n_values, const unsigned values[], size_t nbytes,
                  size_t* buf_size, void** buf) {
  if (flags & H5Z_FLAG_REVERSE) {
    const unsigned long long size = ZSTD_getFrameContentSize(*buf, nbytes);
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN) return 0;
    void* out = H5allocate_memory(size, false);
    const size_t got = ZSTD_decompress(out, size, *buf, nbytes);
    if (ZSTD_isError(got)) {
      H5free_memory(out);
      return 0;
    }
    H5free_memory(*buf);
    *buf = out;
    *buf_size = size;
    return got;
  }
  const int level = n_values > 0 ? static_cast<int>(values[0]) : 3;
  const size_t bound = ZSTD_compressBound(nbytes);
  void* out = H5allocate_memory(bound, false);
  const size_t got = ZSTD_compress(out, bound, *buf, nbytes, level);
  if (ZSTD_isError(got)) {
    H5free_memory(out);
    return 0;
  }
  H5free_memory(*buf);
  *buf = out;
  *buf_size = bound;
  return got;
}

void RegisterZstdFilter() {
  static const bool done = [] {
    H5Z_class2_t c{};
    c.version = H5Z_CLASS_T_VERS;
    c.id = kZstdFilter;
    c.encoder_present = 1;
    c.decoder_present = 1;
    c.name = "zstd";
    c.filter = ZstdFilter;
    return H5Zregister(&c) >= 0;
  }();
  if (!done) std::abort();
}

const std::string& Hdf5File() {
  static std::string* path = [] {
    RegisterZstdFilter();
    Made().push_back(ScratchDir("cache-w1-hdf5"));
    auto* p = new std::string(Made().back() + "/w1.h5");
    const hid_t file = H5Fcreate(p->c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    const hsize_t dims[2] = {kW1Rows, kW1Cols};
    const hsize_t chunk[2] = {kW1ChunkRows, kW1ChunkCols};
    const hid_t space = H5Screate_simple(2, dims, nullptr);
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    const unsigned level = 3;
    H5Pset_filter(dcpl, kZstdFilter, H5Z_FLAG_MANDATORY, 1, &level);
    const hid_t ds = H5Dcreate2(file, "w1", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (ds < 0 ||
        H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, Source().data()) < 0) {
      std::abort();
    }
    H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Fclose(file);
    return p;
  }();
  return *path;
}

void BM_Hdf5Cached(benchmark::State& state) {
  const std::string& path = Hdf5File();
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
  // Room for every chunk, with enough hash slots that none collide out.
  H5Pset_chunk_cache(dapl, 100003, size_t{300} << 20, 1.0);
  const hid_t ds = H5Dopen2(file, "w1", dapl);
  const hid_t fspace = H5Dget_space(ds);
  const hsize_t one[2] = {1, 1};
  const hid_t mspace = H5Screate_simple(2, one, nullptr);
  const auto& pts = Points();
  std::vector<float> out(kPoints);
  auto read_all = [&] {
    for (size_t i = 0; i < pts.size(); ++i) {
      const hsize_t start[2] = {pts[i].first, pts[i].second};
      H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, nullptr, one, nullptr);
      if (H5Dread(ds, H5T_NATIVE_FLOAT, mspace, fspace, H5P_DEFAULT, &out[i]) < 0) return false;
    }
    return true;
  };
  if (!read_all()) state.SkipWithError("H5Dread failed");  // warm
  for (auto _ : state) {
    if (!read_all()) state.SkipWithError("H5Dread failed");
  }
  if (!Verify(out)) state.SkipWithError("hdf5 read wrong values");
  H5Sclose(mspace);
  H5Sclose(fspace);
  H5Dclose(ds);
  H5Pclose(dapl);
  H5Fclose(file);
  Finish(state);
}
#endif

void Register() {
  const std::string c = "W1-zstd3/1000-random-points/";
  auto setup = [](benchmark::internal::Benchmark* b) {
    b->Repetitions(5)->UseRealTime()->Unit(benchmark::kMicrosecond)->MinTime(0.2);
  };
  setup(benchmark::RegisterBenchmark((c + "memcpy").c_str(), BM_Memcpy));
  setup(benchmark::RegisterBenchmark((c + "empty_read").c_str(), BM_EmptyRead));
  setup(benchmark::RegisterBenchmark((c + "cached").c_str(), BM_Cached));
#ifdef ZARRPP_BENCH_HDF5
  setup(benchmark::RegisterBenchmark((c + "hdf5_cached").c_str(), BM_Hdf5Cached));
#endif
  benchmark::RegisterBenchmark((c + "uncached").c_str(), BM_Uncached)
      ->Iterations(1)
      ->Repetitions(3)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
}

void RemoveScratch() {
  for (const std::string& d : Made()) RemoveDir(d);
}

}  // namespace
}  // namespace zarrpp::bench

int main(int argc, char** argv) {
  zarrpp::bench::Register();
  const int rc =
      zarrpp::bench::RunWithRatios(argc, argv, "memcpy",
                                   "1,000 random single-element reads of W1 zstd3 (per call "
                                   "of 1,000 points)",
                                   {"empty_read", "cached", "hdf5_cached", "uncached"});
  zarrpp::bench::RemoveScratch();
  return rc;
}
