// The pipeline matrix (spec/pipeline.md, workload.md W2 plus W1): every cell is run with the
// batched pipeline (the baseline), the fused pipeline, and the fused pipeline on one worker, in
// the same process with their repetitions interleaved, so fused / batched is a same-run ratio.
//
//   pipeline     batched | fused | fused1 (MakeTbbExecutor(1))
//   compression  none | blosc-lz4 | zstd3 | gzip1
//   layout       c1000        uint8 1,000,000, chunks 1000
//                c1000-s1000  the same chunks, one per shard of 1000
//                c100-s1e6    chunks 100 in one shard of 1,000,000
//                c1e5-s1e7    uint8 100,000,000, chunks 100,000 in shards of 10,000,000
//                w1           float32 W1 rows x 8192, chunks 256 x 1024 (1 MiB)
//                w1-s         the same inner chunks in shards of 2048 x 2048
//                (rows: ZARRPP_BENCH_W1_ROWS, default 2048 = 64 MiB, to keep the matrix in budget)
//   store        mem (latency 0) | mem-1ms | mem-10ms | local
//   data         scalar (Fill with 1) | random (a semi-random pattern; W1 uses its own values)
//   operation    write (whole array) | read (whole array) | strided (1 % of the chunks, one
//                Read call per chunk, in grid order)
//
// Names are "<op>/<layout>/<compression>/<store>/<data>/<pipeline>". Counters per case:
// bytes_per_second (logical bytes of the request), bytes_read / bytes_written (store traffic
// through a CountingStore), peak_mem (peak live heap bytes above the level at the start of the
// operation, from counting definitions of malloc/free in this binary: C++ and the codec libraries'
// own allocations alike), retained_mem (live bytes
// at the end minus the start: what a memory store kept), workers, requests (store operations),
// chunk_bytes (the chunk a reader decodes: the inner chunk when sharded), stored_chunk_bytes and
// stored_chunks (the stored chunk: the shard when sharded).
// W1 cells with compression on the local store also get a "floor" case (semi-random data, write
// and read: the codec work alone, see RunFloor) and a "limit" case (also scalar reads: the codec
// work plus plain file I/O, see RunLimit).
// After the Google Benchmark output the binary prints the fused / batched table.
//
//   build/bench/pipeline_bench --benchmark_out=bench/results/pipeline.json \
//       --benchmark_out_format=json
//   build/bench/pipeline_bench --benchmark_filter='read/c1000/'
#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "bench_support.h"
#include "codecs/codec_chain.h"
#include "src/tools/workloads.h"
#include "zarrpp/array.h"
#include "zarrpp/json.h"
#include "zarrpp/local_store.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/store_wrappers.h"

// ---- heap accounting: every allocation of this process, C++ or C (codec libraries' contexts and
// buffers included), goes through these definitions of the C allocator, which forward to glibc's.

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);
}

namespace {
std::atomic<int64_t> g_live{0};
std::atomic<int64_t> g_peak{0};

void* Account(void* p) {
  if (p == nullptr) return p;
  const int64_t n = static_cast<int64_t>(malloc_usable_size(p));
  const int64_t live = g_live.fetch_add(n, std::memory_order_relaxed) + n;
  int64_t peak = g_peak.load(std::memory_order_relaxed);
  while (live > peak && !g_peak.compare_exchange_weak(peak, live, std::memory_order_relaxed)) {
  }
  return p;
}
void Unaccount(void* p) {
  if (p == nullptr) return;
  g_live.fetch_sub(static_cast<int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
}
}  // namespace

extern "C" {
void* malloc(size_t n) noexcept {
  return Account(__libc_malloc(n));
}
void* calloc(size_t n, size_t size) noexcept {
  return Account(__libc_calloc(n, size));
}
void* realloc(void* p, size_t n) noexcept {
  Unaccount(p);
  void* q = __libc_realloc(p, n);
  if (q == nullptr && n != 0) {
    Account(p);  // the old block is still live
    return nullptr;
  }
  return Account(q);
}
void free(void* p) noexcept {
  Unaccount(p);
  __libc_free(p);
}
void* memalign(size_t align, size_t n) noexcept {
  return Account(__libc_memalign(align, n));
}
void* aligned_alloc(size_t align, size_t n) noexcept {
  return Account(__libc_memalign(align, n));
}
int posix_memalign(void** out, size_t align, size_t n) noexcept {
  if (align < sizeof(void*) || (align & (align - 1)) != 0) return EINVAL;
  void* p = Account(__libc_memalign(align, n));
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
}  // extern "C"

namespace zarrpp::bench {
namespace {

void Check(const Status& s, const std::string& what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what.c_str(), s.ToString().c_str());
    std::abort();
  }
}
template <typename T>
T Must(Result<T> r, const std::string& what) {
  Check(r.status(), what);
  return std::move(r).value();
}

// ---- the matrix -------------------------------------------------------------------------------

struct Layout {
  std::string name;
  std::vector<uint64_t> shape, chunks;
  std::vector<uint64_t> inner;  // empty: unsharded
  bool w1 = false;              // float32 W1 values; otherwise uint8
};

uint64_t W1Rows() {
  const char* e = std::getenv("ZARRPP_BENCH_W1_ROWS");
  return e ? std::strtoull(e, nullptr, 10) : 2048;
}

std::vector<Layout> Layouts() {
  const uint64_t rows = W1Rows();
  return {
      {"c1000", {1000000}, {1000}, {}, false},
      {"c1000-s1000", {1000000}, {1000}, {1000}, false},
      {"c100-s1e6", {1000000}, {1000000}, {100}, false},
      {"c1e5-s1e7", {100000000}, {10000000}, {100000}, false},
      {"w1", {rows, 8192}, {256, 1024}, {}, true},
      {"w1-s", {rows, 8192}, {std::min<uint64_t>(rows, 2048), 2048}, {256, 1024}, true},
  };
}
const std::vector<std::string> kCompressions = {"none", "blosc-lz4", "zstd3", "gzip1"};
struct StoreKind {
  std::string name;
  bool local;
  int latency_ms;
};
const std::vector<StoreKind> kStores = {
    {"mem", false, 0}, {"mem-1ms", false, 1}, {"mem-10ms", false, 10}, {"local", true, 0}};
const std::vector<std::string> kData = {"scalar", "random"};
const std::vector<std::string> kOps = {"write", "read", "strided"};
const std::vector<std::string> kPipelines = {"batched", "fused", "fused1"};

Json CompressedChain(const std::string& comp, size_t esize) {
  Json bytes = {{"name", "bytes"}};
  if (esize > 1) bytes["configuration"] = {{"endian", "little"}};
  Json c = Json::array({bytes});
  if (comp == "blosc-lz4") {
    c.push_back({{"name", "blosc"},
                 {"configuration",
                  {{"cname", "lz4"},
                   {"clevel", 5},
                   {"shuffle", "shuffle"},
                   {"typesize", esize},
                   {"blocksize", 0}}}});
  } else if (comp == "zstd3") {
    c.push_back({{"name", "zstd"}, {"configuration", {{"level", 3}, {"checksum", false}}}});
  } else if (comp == "gzip1") {
    c.push_back({{"name", "gzip"}, {"configuration", {{"level", 1}}}});
  }
  return c;
}

ArrayMetadata MetaFor(const Layout& l, const std::string& comp) {
  ArrayMetadata m;
  m.shape = l.shape;
  m.chunk_shape = l.chunks;
  m.data_type = DataType(l.w1 ? DataTypeId::kFloat32 : DataTypeId::kUInt8);
  m.fill_value = FillValue::Zero(m.data_type);
  const size_t esize = m.data_type.size();
  if (l.inner.empty()) {
    m.codecs = CompressedChain(comp, esize);
  } else {
    Json bytes = {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
    m.codecs = Json::array({{{"name", "sharding_indexed"},
                             {"configuration",
                              {{"chunk_shape", l.inner},
                               {"codecs", CompressedChain(comp, esize)},
                               {"index_codecs", Json::array({bytes, {{"name", "crc32c"}}})},
                               {"index_location", "end"}}}}});
  }
  return m;
}

uint64_t NumElements(const Layout& l) {
  uint64_t n = 1;
  for (uint64_t d : l.shape) n *= d;
  return n;
}
size_t ElementSize(const Layout& l) {
  return l.w1 ? 4 : 1;
}
// The chunks a reader sees: inner chunks when sharded.
std::vector<uint64_t> ReadChunk(const Layout& l) {
  return l.inner.empty() ? l.chunks : l.inner;
}

// The semi-random uint8 pattern: a slow ramp with 4 noisy low bits, about 2:1 compressible.
void FillRandom(uint8_t* out, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) {
    uint32_t h = static_cast<uint32_t>(i) * 0x9E3779B1u;
    h ^= h >> 16;
    out[i] = static_cast<uint8_t>(((i >> 10) & 0xF0) | (h & 0x0F));
  }
}

// Source and destination buffers, one pair per layout, allocated before any case measures.
struct Buffers {
  Bytes source;  // the random contents
  Bytes dest;
  Bytes expected_scalar;
};
Buffers& BuffersFor(const Layout& l) {
  static std::map<std::string, std::unique_ptr<Buffers>>* all =
      new std::map<std::string, std::unique_ptr<Buffers>>;
  auto& b = (*all)[l.name];
  if (!b) {
    // Release the other layouts' buffers: only one layout's data is alive at a time.
    all->clear();
    auto fresh = std::make_unique<Buffers>();
    const uint64_t bytes = NumElements(l) * ElementSize(l);
    fresh->source.resize(bytes);
    fresh->dest.assign(bytes, 0xAB);
    fresh->expected_scalar.resize(bytes);
    if (l.w1) {
      workloads::GenerateW1(reinterpret_cast<float*>(fresh->source.data()), l.shape[0], l.shape[1],
                            *DefaultExecutor());
      const float one = 1.0f;
      for (uint64_t i = 0; i < bytes; i += 4) std::memcpy(&fresh->expected_scalar[i], &one, 4);
    } else {
      FillRandom(fresh->source.data(), bytes);
      std::fill(fresh->expected_scalar.begin(), fresh->expected_scalar.end(), 1);
    }
    (*all)[l.name] = std::move(fresh);
    return *(*all)[l.name];
  }
  return *b;
}

// The stored array of one (layout, compression, data, memory|local): the inner store is shared by
// the latency variants; only one is alive at a time.
struct Fixture {
  std::string key;
  std::shared_ptr<Store> inner;
  std::string dir;
  bool written = false;
};
Fixture& FixtureFor(const std::string& key, bool local) {
  static Fixture* f = new Fixture;
  if (f->key != key) {
    if (!f->dir.empty()) RemoveDir(f->dir);
    *f = Fixture{};
    f->key = key;
    if (local) {
      f->dir = ScratchDir("pipeline");
      f->inner = Must(LocalStore::Create(f->dir), "open local store");
    } else {
      f->inner = MemoryStore::Create();
    }
  }
  return *f;
}

std::shared_ptr<Executor> OneWorker() {
  static std::shared_ptr<Executor> e = MakeTbbExecutor(1);
  return e;
}

struct Cell {
  Layout layout;
  std::string comp, data, op, pipeline;
  StoreKind store;
};

void WriteAll(Array& a, const Cell& c, const Buffers& b) {
  const Region all = Region::All(c.layout.shape);
  if (c.data == "scalar") {
    if (c.layout.w1) {
      Check(a.Fill(all, 1.0f), "fill");
    } else {
      Check(a.Fill(all, uint8_t{1}), "fill");
    }
  } else {
    Check(a.Write(all, ByteView(b.source)), "write");
  }
}

// The regions of a strided read: every 100th chunk (as the reader sees chunks), at least one.
std::vector<Region> StridedRegions(const Layout& l) {
  const std::vector<uint64_t> rc = ReadChunk(l);
  std::vector<uint64_t> grid(l.shape.size());
  uint64_t total = 1;
  for (size_t d = 0; d < grid.size(); ++d) {
    grid[d] = l.shape[d] / rc[d];
    total *= grid[d];
  }
  std::vector<Region> out;
  for (uint64_t i = 0; i < total; i += 100) {
    Region r;
    r.origin.resize(grid.size());
    r.shape = rc;
    uint64_t rest = i;
    for (size_t d = grid.size(); d-- > 0;) {
      r.origin[d] = (rest % grid[d]) * rc[d];
      rest /= grid[d];
    }
    out.push_back(std::move(r));
  }
  return out;
}

void RunCell(benchmark::State& state, const Cell& c) {
  Buffers& b = BuffersFor(c.layout);
  const std::string key =
      c.layout.name + "/" + c.comp + "/" + c.data + "/" + (c.store.local ? "local" : "mem");
  Fixture& f = FixtureFor(key, c.store.local);
  std::shared_ptr<Store> store = f.inner;
  if (c.store.latency_ms > 0) {
    store = std::make_shared<LatencyStore>(store, std::chrono::milliseconds(c.store.latency_ms));
  }
  auto counting = std::make_shared<CountingStore>(store);
  ArrayOptions opts;
  opts.pipeline = c.pipeline == "batched" ? PipelineKind::kBatched : PipelineKind::kFused;
  if (c.pipeline == "fused1") opts.executor = OneWorker();
  const ArrayMetadata meta = MetaFor(c.layout, c.comp);
  if (!f.written) {
    // Reads need stored contents: write them once, untimed, with the batched pipeline's peer.
    auto setup = Must(Array::Create(f.inner, "a", meta, CreateOptions{true}), "create");
    WriteAll(*setup, c, b);
    f.written = true;
  }
  auto array = Must(Array::Attach(counting, "a", meta, opts), "attach");
  const Region all = Region::All(c.layout.shape);
  const std::vector<Region> strided =
      c.op == "strided" ? StridedRegions(c.layout) : std::vector<Region>{};
  uint64_t strided_bytes = 0;
  for (const Region& r : strided) strided_bytes += r.num_elements() * ElementSize(c.layout);

  counting->reset();
  // Peak and retained heap of the iteration with the highest peak, each above its own start.
  int64_t peak = 0;
  int64_t retained = 0;
  for (auto _ : state) {
    // Every iteration starts without the scratch buffers earlier calls keep for reuse, so the
    // peak counts (and the time pays for) every buffer the operation needs.
    state.PauseTiming();
    if (c.op == "write" && !c.store.local) {
      // A write to the memory store starts from an empty array, so every value it stores stays
      // (retained, not counted in the peak): replacing values instead held old and new ones at
      // once while up to io_concurrency stores ran, and the peak counted the store's old values.
      Check(f.inner->erase_prefix("a/c/"), "erase chunks");
    }
    ReleaseScratchMemory();
    const int64_t live0 = g_live.load();
    g_peak.store(live0);
    state.ResumeTiming();
    if (c.op == "write") {
      if (c.store.local) {
        // Flush earlier cells' dirty pages first, so that kernel writeback throttling does not
        // charge one pipeline for another's writes.
        state.PauseTiming();
        ::sync();
        state.ResumeTiming();
      }
      WriteAll(*array, c, b);
    } else if (c.op == "read") {
      Check(array->Read(all, MutableByteView(b.dest)), "read");
    } else {
      const size_t part_bytes = strided_bytes / strided.size();
      for (const Region& r : strided) {
        // 1-D: into the part's place in the whole-array buffer; a 2-D chunk is not contiguous
        // there, so it goes to the front of the buffer.
        const uint64_t off = r.origin.size() == 1 ? r.origin[0] * ElementSize(c.layout) : 0;
        Check(array->Read(r, MutableByteView(b.dest.data() + off, part_bytes)), "strided read");
      }
    }
    // What stays allocated is what the store kept: scratch kept for reuse is freed first, so
    // that it is not subtracted from the peak as if the store held it.
    state.PauseTiming();
    const int64_t top = g_peak.load();
    ReleaseScratchMemory();
    if (top - live0 >= peak) {
      peak = top - live0;
      retained = g_live.load() - live0;
    }
    state.ResumeTiming();
  }
  const double iters = static_cast<double>(state.iterations());
  const auto counters = counting->counters();
  state.counters["bytes_read"] = static_cast<double>(counters.bytes_read) / iters;
  state.counters["bytes_written"] = static_cast<double>(counters.bytes_written) / iters;
  state.counters["peak_mem"] = static_cast<double>(peak);
  state.counters["retained_mem"] = static_cast<double>(std::max<int64_t>(0, retained));
  state.counters["workers"] =
      static_cast<double>(c.pipeline == "fused1" ? 1 : DefaultExecutor()->concurrency());
  uint64_t chunk_bytes = ElementSize(c.layout);
  for (uint64_t d : ReadChunk(c.layout)) chunk_bytes *= d;
  state.counters["chunk_bytes"] = static_cast<double>(chunk_bytes);
  uint64_t stored_bytes = ElementSize(c.layout), stored_chunks = 1;
  for (size_t d = 0; d < c.layout.shape.size(); ++d) {
    stored_bytes *= c.layout.chunks[d];
    stored_chunks *= (c.layout.shape[d] + c.layout.chunks[d] - 1) / c.layout.chunks[d];
  }
  // The stored chunk (the shard when sharded): the unit one worker fetches and holds.
  state.counters["stored_chunk_bytes"] = static_cast<double>(stored_bytes);
  state.counters["stored_chunks"] = static_cast<double>(stored_chunks);
  // Store requests in flight at once, as measured: the most operations running at the same time
  // during the case (for the fused pipeline, bounded by its in-flight memory budget); 0 when chunk
  // tasks run on the CPU executor.
  state.counters["io_concurrency"] =
      array->io_concurrency() > 0 ? static_cast<double>(counters.max_in_flight) : 0.0;
  state.counters["requests"] =
      static_cast<double>(counters.get_into + counters.get_ranges + counters.set +
                          counters.set_range + counters.erase + counters.size) /
      iters;
  const uint64_t logical =
      c.op == "strided" ? strided_bytes : NumElements(c.layout) * ElementSize(c.layout);
  state.SetBytesProcessed(static_cast<int64_t>(logical) * state.iterations());

  if (c.op == "read") {
    const Bytes& want = c.data == "scalar" ? b.expected_scalar : b.source;
    if (b.dest != want) state.SkipWithError("read returned different data");
  }
}

// The codec floor of a W1 cell on the local store: the chain's encode (write) or decode (read) of
// every chunk of the array, in parallel on the default executor, from chunks already gathered (or
// fetched) in memory, with no store, no gather and no scatter. No pipeline can do that request's
// codec work in less time, so batched / floor is the largest speed-up any pipeline could show.
void RunFloor(benchmark::State& state, const Cell& c) {
  Buffers& b = BuffersFor(c.layout);
  const std::vector<uint64_t> rc = ReadChunk(c.layout);  // 256 x 1024 float32
  const DataType dtype(DataTypeId::kFloat32);
  auto chain = Must(CodecChain::FromJson(CompressedChain(c.comp, 4)), "chain");
  auto prepared = Must(chain.Prepare(ChunkSpec{rc, dtype, FillValue::Zero(dtype)}), "prepare");
  const uint64_t rows = c.layout.shape[0], cols = c.layout.shape[1];
  const uint64_t row_bytes = rc[1] * 4;
  std::vector<Bytes> chunks;
  for (uint64_t r0 = 0; r0 < rows; r0 += rc[0]) {
    for (uint64_t c0 = 0; c0 < cols; c0 += rc[1]) {
      Bytes chunk(rc[0] * row_bytes);
      for (uint64_t r = 0; r < rc[0]; ++r) {
        std::memcpy(chunk.data() + r * row_bytes, b.source.data() + ((r0 + r) * cols + c0) * 4,
                    row_bytes);
      }
      chunks.push_back(std::move(chunk));
    }
  }
  std::vector<Bytes> encoded(chunks.size());
  if (c.op == "read") {
    ChainScratch cs;
    for (size_t i = 0; i < chunks.size(); ++i) {
      ByteView e = Must(prepared->Encode(chunks[i], cs), "encode");
      encoded[i].assign(e.begin(), e.end());
    }
  }
  Executor& ex = *DefaultExecutor();
  for (auto _ : state) {
    ex.ParallelFor(chunks.size(), 1, [&](size_t lo, size_t hi) {
      ChainScratch cs;
      for (size_t i = lo; i < hi; ++i) {
        if (c.op == "write") {
          Check(prepared->Encode(chunks[i], cs).status(), "encode");
        } else {
          Check(prepared->Decode(encoded[i], chunks[i], cs), "decode");
        }
      }
    });
  }
  state.SetBytesProcessed(static_cast<int64_t>(NumElements(c.layout) * 4) * state.iterations());
}

// The limit of a W1 cell on the local store: workload.md's limit baseline, for every chain and both
// layouts. Per stored file, on all cores at once: a write copies each chunk's rows out of the
// source, encodes them with the prepared chain and pwrites them to the file one after another (a
// shard's inner chunks in one file, without an index); a read preads each file whole, decodes each
// chunk into a scratch chunk and copies its rows into the destination. No metadata, no store, no
// framework: batched / limit is the largest speed-up any engine could show over batched. The
// "atomic-limit" write is the same but writes each file as a temporary file renamed over the
// key's, as an engine whose whole-value writes are atomic must (LocalStore::set).
struct LimitScratch {
  Bytes chunk;
  Bytes file;
  ChainScratch chain;
};
LimitScratch& LimitScratchOfThread() {
  thread_local LimitScratch s;
  return s;
}

void RunLimit(benchmark::State& state, const Cell& c) {
  Buffers& b = BuffersFor(c.layout);
  const Bytes& data = c.data == "scalar" ? b.expected_scalar : b.source;
  const std::vector<uint64_t> rc = ReadChunk(c.layout);  // 256 x 1024 float32
  const std::vector<uint64_t>& sc = c.layout.chunks;     // the stored chunk (a shard when sharded)
  const DataType dtype(DataTypeId::kFloat32);
  auto chain = Must(CodecChain::FromJson(CompressedChain(c.comp, 4)), "chain");
  auto prepared = Must(chain.Prepare(ChunkSpec{rc, dtype, FillValue::Zero(dtype)}), "prepare");
  const uint64_t cols = c.layout.shape[1];
  const uint64_t unit_cols = cols / sc[1];
  const uint64_t units = (c.layout.shape[0] / sc[0]) * unit_cols;
  const uint64_t per_rows = sc[0] / rc[0], per_cols = sc[1] / rc[1];
  const uint64_t row_bytes = rc[1] * 4;
  const std::string dir = ScratchDir("pipeline-limit");
  const bool atomic = c.pipeline == "atomic-limit";
  std::vector<std::vector<uint64_t>> sizes(units, std::vector<uint64_t>(per_rows * per_cols));
  // Where row r of chunk k of unit u starts in the array.
  auto at = [&](uint64_t u, uint64_t k, uint64_t r) {
    const uint64_t row = (u / unit_cols) * sc[0] + (k / per_cols) * rc[0] + r;
    const uint64_t col = (u % unit_cols) * sc[1] + (k % per_cols) * rc[1];
    return (row * cols + col) * 4;
  };
  auto write = [&] {
    DefaultExecutor()->ParallelFor(units, 1, [&](size_t lo, size_t hi) {
      LimitScratch& s = LimitScratchOfThread();
      s.chunk.resize(rc[0] * row_bytes);
      for (size_t u = lo; u < hi; ++u) {
        const std::string path = dir + "/" + std::to_string(u);
        const std::string target = atomic ? path + ".tmp" : path;
        const int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) std::abort();
        uint64_t off = 0;
        for (uint64_t k = 0; k < per_rows * per_cols; ++k) {
          for (uint64_t r = 0; r < rc[0]; ++r) {
            std::memcpy(s.chunk.data() + r * row_bytes, data.data() + at(u, k, r), row_bytes);
          }
          const ByteView e = Must(prepared->Encode(s.chunk, s.chain), "encode");
          if (::pwrite(fd, e.data(), e.size(), static_cast<off_t>(off)) !=
              static_cast<ssize_t>(e.size())) {
            std::abort();
          }
          sizes[u][k] = e.size();
          off += e.size();
        }
        ::close(fd);
        if (atomic && ::rename(target.c_str(), path.c_str()) != 0) std::abort();
      }
    });
  };
  auto read = [&] {
    DefaultExecutor()->ParallelFor(units, 1, [&](size_t lo, size_t hi) {
      LimitScratch& s = LimitScratchOfThread();
      s.chunk.resize(rc[0] * row_bytes);
      for (size_t u = lo; u < hi; ++u) {
        const std::string path = dir + "/" + std::to_string(u);
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || ::fstat(fd, &st) != 0) std::abort();
        s.file.resize(static_cast<size_t>(st.st_size));
        if (::pread(fd, s.file.data(), s.file.size(), 0) != static_cast<ssize_t>(s.file.size())) {
          std::abort();
        }
        ::close(fd);
        uint64_t off = 0;
        for (uint64_t k = 0; k < per_rows * per_cols; ++k) {
          Check(prepared->Decode(ByteView(s.file.data() + off, sizes[u][k]), s.chunk, s.chain),
                "decode");
          off += sizes[u][k];
          for (uint64_t r = 0; r < rc[0]; ++r) {
            std::memcpy(b.dest.data() + at(u, k, r), s.chunk.data() + r * row_bytes, row_bytes);
          }
        }
      }
    });
  };
  if (c.op == "read") {
    write();
    std::fill(b.dest.begin(), b.dest.end(), 0xAB);
  } else {
    // As in the pipelines' write cells: the files already exist (the timed write replaces them),
    // and no earlier dirty pages are written back on this case's time.
    write();
    ::sync();
  }
  for (auto _ : state) {
    if (c.op == "write") {
      write();
    } else {
      read();
    }
  }
  if (c.op == "read" && b.dest != data) state.SkipWithError("limit read returned different data");
  RemoveDir(dir);
  state.SetBytesProcessed(static_cast<int64_t>(NumElements(c.layout) * 4) * state.iterations());
}

// Slow cells get fewer repetitions (at least two; the first also warms scratch), and the short
// ones, whose ratio noise would otherwise decide, seven.
int RepetitionsFor(const Cell& c) {
  const uint64_t bytes = NumElements(c.layout) * ElementSize(c.layout);
  // Full reads of the large arrays on the memory stores are short (20-200 ms) but vary by 10-30 %
  // between repetitions: five of them. Their writes (up to 1.3 s) and local-store cells: three.
  if (bytes >= (uint64_t{32} << 20) && c.op == "read" && !c.store.local) return 5;
  if (bytes >= (uint64_t{32} << 20) && c.op != "strided") return 3;
  // 100 sequential reads of two round trips each at 10 ms: 2 s, and little noise.
  if (c.store.latency_ms >= 10 && c.op == "strided" && !c.layout.inner.empty()) return 2;
  if (c.store.latency_ms >= 10) return 3;
  // Writes of 1,000 files take about half a second each.
  if (c.store.local && c.op == "write" && c.layout.name.rfind("c1000", 0) == 0) return 4;
  return 7;
}
// Cells of well under a millisecond repeat the operation inside one timing, so timer and
// scheduling noise do not decide their ratio.
int IterationsFor(const Cell& c) {
  return c.op == "strided" && c.store.latency_ms == 0 ? 20 : 1;
}

void RegisterAll() {
  for (const Layout& l : Layouts()) {
    for (const std::string& comp : kCompressions) {
      for (const std::string& data : kData) {
        for (const StoreKind& store : kStores) {
          for (const std::string& op : kOps) {
            // Repetitions are interleaved: batched, fused, fused1, batched, fused, ... so that
            // drift in the machine's speed during a cell falls on every pipeline alike. Each
            // repetition is a benchmark of its own under the cell's name.
            const int reps = RepetitionsFor(Cell{l, comp, data, op, "batched", store});
            for (int r = 0; r < reps; ++r) {
              for (const std::string& pipe : kPipelines) {
                Cell c{l, comp, data, op, pipe, store};
                const std::string name =
                    op + "/" + l.name + "/" + comp + "/" + store.name + "/" + data + "/" + pipe;
                benchmark::RegisterBenchmark(name.c_str(),
                                             [c](benchmark::State& st) { RunCell(st, c); })
                    ->Iterations(IterationsFor(c))
                    ->UseRealTime()
                    ->Unit(benchmark::kMillisecond);
              }
            }
            if (l.w1 && comp != "none" && store.local && op != "strided") {
              // Random data: the codec floor and the limit (and for writes the atomic limit);
              // scalar reads: the limit.
              for (const std::string pipe : {"floor", "limit", "atomic-limit"}) {
                if (data == "scalar" && (pipe != "limit" || op == "write")) continue;
                if (pipe == "atomic-limit" && op != "write") continue;
                Cell c{l, comp, data, op, pipe, store};
                const std::string name =
                    op + "/" + l.name + "/" + comp + "/" + store.name + "/" + data + "/" + pipe;
                benchmark::RegisterBenchmark(name.c_str(),
                                             [c](benchmark::State& st) {
                                               if (c.pipeline == "floor") {
                                                 RunFloor(st, c);
                                               } else {
                                                 RunLimit(st, c);
                                               }
                                             })
                    ->Iterations(1)
                    ->Repetitions(RepetitionsFor(c))
                    ->UseRealTime()
                    ->Unit(benchmark::kMillisecond);
              }
            }
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace zarrpp::bench

int main(int argc, char** argv) {
  zarrpp::bench::RegisterAll();
  const int rc = zarrpp::bench::RunWithRatios(
      argc, argv, "batched", "Pipeline matrix: fused / batched, same run", {"fused", "fused1"});
  zarrpp::bench::FixtureFor("", false);  // removes the last local directory
  return rc;
}
