// src/pipeline/pipeline.h - the codec pipelines that move data between a caller's buffer and
// chunks.
//
// Both pipelines take a region already checked against the array bounds and a buffer already
// checked against the region size.
//
// Fused: on a store with completion-based operations (a.async_io), reads and whole-chunk writes
// of unsharded arrays keep io_lanes store operations in flight with Store::get_async/set_async
// while the CPU executor's workers decode what has arrived and encode what is next; no thread
// waits on each operation. Otherwise one task per chunk (or per group of small chunks, so dispatch
// never dominates) runs fetch -> decode -> scatter for reads, and gather -> (fetch existing if
// partial) -> merge -> encode -> store for writes. Chunk regions do not overlap, so scatter needs
// no locks; per-worker scratch buffers are reused across chunks.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/array/array_impl.h"
#include "src/dim_values.h"
#include "src/first_error.h"

namespace zarrpp::internal {

class ShapeCodecs;  // src/pipeline/shape_chains.h

// The chunk grid of an array, regular or rectilinear (metadata.rectilinear), as the pipelines walk
// it: the chunk holding an element, a chunk's first element and its edge along one dimension.
inline uint64_t ChunkIndexOf(const ArrayMetadata& m, size_t d, uint64_t x) {
  return m.rectilinear ? m.rectilinear->Index(d, x) : x / m.chunk_shape[d];
}
inline uint64_t ChunkOrigin(const ArrayMetadata& m, size_t d, uint64_t i) {
  return m.rectilinear ? m.rectilinear->Origin(d, i) : i * m.chunk_shape[d];
}
inline uint64_t ChunkEdge(const ArrayMetadata& m, size_t d, uint64_t i) {
  return m.rectilinear ? m.rectilinear->Length(d, i) : m.chunk_shape[d];
}

// The chunks a region touches: grid positions [first, first + count) per dimension.
struct ChunkSpan {
  DimValues first;
  DimValues count;
  uint64_t total = 1;
};
ChunkSpan ChunksTouching(const ArrayMetadata& m, const Region& region);

// Where one chunk meets a region.
struct ChunkPart {
  std::vector<uint64_t> coords;     // grid position
  std::vector<uint64_t> in_chunk;   // origin of the part inside the chunk
  std::vector<uint64_t> in_region;  // origin of the part inside the region buffer
  std::vector<uint64_t> shape;      // extent of the part
  bool covers_chunk = false;        // the part is the whole chunk
  bool covers_in_bounds = false;    // the part is every in-bounds element of the chunk
  // The chunk's shape: the array's chunk_shape on a regular grid (`regular`), else `edges`.
  const std::vector<uint64_t>& chunk_shape() const { return regular ? *regular : edges; }
  const std::vector<uint64_t>* regular = nullptr;
  std::vector<uint64_t> edges;
  // The codecs for chunks of that shape (BindCodecs): the handle's on a regular grid, else those
  // `codecs` holds.
  const PreparedChain* chain = nullptr;
  const SpanDecoder* span_decoder = nullptr;
  std::shared_ptr<const ShapeCodecs> codecs;
};
void LocateChunk(const ArrayMetadata& m, const Region& region, const ChunkSpan& span,
                 uint64_t index, ChunkPart& part);

// Sets part.chain and part.span_decoder for the chunk LocateChunk placed in `part`. Fails only
// when the codecs cannot be prepared for a chunk shape of a rectilinear grid (a.shape_chains).
// UseArrayCodecs is the regular grid's case, with no error to report.
Status BindShapeCodecs(const Array::Impl& a, ChunkPart& part);
inline void UseArrayCodecs(const Array::Impl& a, ChunkPart& part) {
  part.chain = a.chain.get();
  part.span_decoder = a.span_decoder.get();
}
inline Status BindCodecs(const Array::Impl& a, ChunkPart& part) {
  if (a.shape_chains) return BindShapeCodecs(a, part);
  UseArrayCodecs(a, part);
  return Status::OK();
}

// Scratch buffers a task reuses across chunks. They keep their capacity, so a warmed-up process
// does no heap allocation per chunk; idle ones keep at most 32 MiB of buffers per use. Leased per
// task rather than held thread_local, because a worker waiting inside a nested parallel loop may
// start another task on the same thread.
class ScratchPool {
 public:
  // Frees every idle scratch object (ReleaseScratchMemory()).
  struct Scratch {
    Bytes fetched;
    Bytes chunk;
    Bytes extra;
    ChainScratch chain;
    ChunkPart part;
    std::vector<MutableByteView> pieces;  // a chunk's rows in the caller's buffer (get_scatter)
    std::vector<ByteView> gathered;       // a chunk's rows in the caller's buffer (set_gather)
    std::string key;                      // the key of the chunk at hand (capacity reused)
    // A version of the chunk at hand read in place (StoreCapabilities::memory_readers): its
    // bytes stay valid while this is held; reset once they are used.
    std::unique_ptr<ValueReader> pinned;
  };
  enum class Use { kTask, kCpuStage };
  class Lease {
   public:
    explicit Lease(Use use = Use::kTask);
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Scratch& operator*() { return *s_; }
    Scratch* operator->() { return s_.get(); }

   private:
    Use use_;
    std::unique_ptr<Scratch> s_;
  };
  static void ReleaseIdle();
};

// What a write stores: a region-shaped buffer, or one element repeated.
struct WriteSource {
  const uint8_t* data;
  bool scalar;
};

Status FusedRead(Array::Impl& a, const Region& region, MutableByteView out);
Status FusedWrite(Array::Impl& a, const Region& region, WriteSource src);

Status BatchedRead(Array::Impl& a, const Region& region, MutableByteView out);
Status BatchedWrite(Array::Impl& a, const Region& region, WriteSource src);

// The context for a partial decode/encode of the chunk at `coords` (a.partial is set).
PartialCodecContext PartialContextFor(Array::Impl& a, const uint64_t* coords, std::string key);

// Stores `encoded` at `key` (erases the key when nullopt) under `cond`. Returns false when the
// condition did not hold (nothing stored). Without a condition or a held lock it is a plain
// set()/erase().
Result<bool> StoreChunk(Store& store, const std::string& key, std::optional<ByteView> encoded,
                        const WriteConditions& cond);

// The error of a read-modify-write of `key` that lost to other writers kWriteAttempts times.
Status ConflictsExhausted(const std::string& key);

// Tasks per ParallelFor grain for chunks of `chunk_bytes` decoded bytes.
size_t ChunkGrain(const Array::Impl& a, uint64_t n_chunks, uint64_t chunk_bytes);

// Where the per-chunk tasks of one request run. On a latency-bound store (a.io_lanes > 0) they
// run one chunk per task on the I/O threads and take a CPU token around their CPU stages;
// otherwise on the CPU executor, grouped by ChunkGrain.
struct Dispatch {
  Executor* executor;
  size_t grain;
  CpuGate* cpu_gate;  // null: no gating
  size_t lanes = 0;   // > 0: at most this many chunk tasks at once, each pulling chunks in turn
};
Dispatch PlanDispatch(const Array::Impl& a, uint64_t n_chunks, uint64_t chunk_bytes);

// Runs body(scratch, gate, i) for every task i < n of `task_bytes` each, as PlanDispatch places
// them: on the I/O threads, lanes pulling tasks in turn (gate: the CPU gate their CPU stages take),
// or grouped on the CPU executor (gate null). Stops starting tasks once `err` holds an error.
template <typename Body>
void ForEachTask(const Array::Impl& a, uint64_t n, uint64_t task_bytes, const FirstError& err,
                 Body body) {
  const Dispatch d = PlanDispatch(a, n, task_bytes);
  if (d.lanes > 0) {
    std::atomic<uint64_t> next{0};
    d.executor->ParallelFor(d.lanes, 1, [&](size_t, size_t) {
      ScratchPool::Lease lease;
      for (uint64_t i = next.fetch_add(1); i < n && !err.failed(); i = next.fetch_add(1)) {
        body(*lease, d.cpu_gate, i);
      }
    });
    return;
  }
  d.executor->ParallelFor(n, d.grain, [&](size_t begin, size_t end) {
    ScratchPool::Lease lease;
    for (size_t i = begin; i < end && !err.failed(); ++i) body(*lease, nullptr, i);
  });
}

// Runs start(i, done) for every i < n with at most `lanes` running at once, on the calling thread:
// start begins an asynchronous store operation whose completion calls done(status) once (on any
// thread; it never blocks). Returns once every operation started has completed, with the first
// error (after which no more are started).
using AsyncDone = std::function<void(Status)>;
Status RunAsync(size_t n, size_t lanes, const std::function<void(size_t, AsyncDone)>& start);

// The I/O threads of a handle with io_lanes > 0: a.io_executor, created on first use for a store
// with completion-based operations (a.async_io).
Executor* IoExecutorOf(const Array::Impl& a);

// Holds one CPU token for its lifetime (no-op without a gate).
class CpuToken {
 public:
  explicit CpuToken(CpuGate* gate) : gate_(gate) {
    if (gate_) gate_->Acquire();
  }
  ~CpuToken() {
    if (gate_) gate_->Release();
  }
  CpuToken(const CpuToken&) = delete;
  CpuToken& operator=(const CpuToken&) = delete;

 private:
  CpuGate* gate_;
};

}  // namespace zarrpp::internal
