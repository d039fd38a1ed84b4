#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <new>
#include <optional>
#include <thread>

#include "src/array/indexing.h"
#include "src/first_error.h"
#include "src/pipeline/chunk_cache.h"
#include "src/pipeline/inflight_budget.h"
#include "src/pipeline/pipeline.h"
#include "src/pipeline/shape_chains.h"
#include "src/pipeline/span_read.h"
#include "src/store_internal.h"

namespace zarrpp::internal {

ChunkSpan ChunksTouching(const ArrayMetadata& m, const Region& region) {
  if (m.rectilinear) return ChunksTouchingGrid(*m.rectilinear, region);
  ChunkSpan s;
  const size_t r = m.rank();
  s.first.resize(r);
  s.count.resize(r);
  for (size_t d = 0; d < r; ++d) {
    const uint64_t c = m.chunk_shape[d];
    if (region.shape[d] == 0) {
      s.first[d] = 0;
      s.count[d] = 0;
    } else {
      s.first[d] = region.origin[d] / c;
      const uint64_t last = (region.origin[d] + region.shape[d] - 1) / c;
      s.count[d] = last - s.first[d] + 1;
    }
    s.total *= s.count[d];
  }
  return s;
}

void LocateChunk(const ArrayMetadata& m, const Region& region, const ChunkSpan& span,
                 uint64_t index, ChunkPart& part) {
  if (m.rectilinear) return LocateChunkOnGrid(m, region, span, index, part);
  const size_t r = m.rank();
  part.coords.resize(r);
  part.in_chunk.resize(r);
  part.in_region.resize(r);
  part.shape.resize(r);
  part.covers_chunk = true;
  part.covers_in_bounds = true;
  part.regular = &m.chunk_shape;
  for (size_t d = r; d-- > 0;) {
    const uint64_t cnt = span.count[d];
    const uint64_t cd = span.first[d] + index % cnt;
    index /= cnt;
    const uint64_t c = m.chunk_shape[d];
    const uint64_t chunk_lo = cd * c;
    const uint64_t chunk_hi = chunk_lo + c;
    const uint64_t lo = std::max(chunk_lo, region.origin[d]);
    const uint64_t hi = std::min(chunk_hi, region.origin[d] + region.shape[d]);
    part.coords[d] = cd;
    part.in_chunk[d] = lo - chunk_lo;
    part.in_region[d] = lo - region.origin[d];
    part.shape[d] = hi - lo;
    if (part.shape[d] != c) part.covers_chunk = false;
    const uint64_t in_bounds_hi = std::min(chunk_hi, m.shape[d]);
    if (lo != chunk_lo || hi != in_bounds_hi) part.covers_in_bounds = false;
  }
}

PartialCodecContext PartialContextFor(Array::Impl& a, const uint64_t* coords, std::string key) {
  const ArrayMetadata& m = a.metadata;
  PartialCodecContext ctx;
  ctx.store = a.store.get();
  ctx.key = std::move(key);
  ctx.executor = a.executor.get();
  ctx.options = &a.options;
  ctx.index_cache = a.index_cache.get();
  ctx.in_bounds.resize(m.rank());
  for (size_t d = 0; d < m.rank(); ++d) {
    const uint64_t lo = ChunkOrigin(m, d, coords[d]);
    ctx.in_bounds[d] = std::min(ChunkEdge(m, d, coords[d]), m.shape[d] - std::min(m.shape[d], lo));
  }
  return ctx;
}

Result<bool> StoreChunk(Store& store, const std::string& key, std::optional<ByteView> encoded,
                        const WriteConditions& cond) {
  if (!cond.if_equal && cond.held == nullptr) {
    RETURN_IF_ERROR(encoded ? store.set(key, *encoded) : store.erase(key));
    return true;
  }
  if (!encoded) return store.erase_if(key, cond);
  ASSIGN_OR_RETURN(std::optional<Generation> written,
                   store.set_if(key, std::span<const ByteView>(&*encoded, 1), cond));
  return written.has_value();
}

Status ConflictsExhausted(const std::string& key) {
  return Status::IOError("chunk '" + key + "': a partial write found the chunk replaced " +
                         std::to_string(kWriteAttempts) +
                         " times between reading and writing it; not written");
}

size_t ChunkGrain(const Array::Impl& a, uint64_t n_chunks, uint64_t chunk_bytes) {
  const size_t conc = std::max<size_t>(1, a.executor->concurrency());
  uint64_t grain =
      std::max<uint64_t>(1, a.options.min_task_bytes / std::max<uint64_t>(1, chunk_bytes));
  const uint64_t per_worker = (n_chunks + conc - 1) / conc;
  grain = std::min<uint64_t>(grain, std::max<uint64_t>(1, per_worker));
  return static_cast<size_t>(grain);
}

namespace {
// The blocking lanes of a handle. On a store with completion-based operations only the paths
// without that form use them (sharded chunks, read-modify-write, the batched pipeline), on a pool
// of 2 x cores threads: the process stays within a small multiple of the cores however many
// operations are in flight, and each such lane still has many ranges in flight through
// get_ranges().
size_t BlockingLanes(const Array::Impl& a) {
  if (!a.async_io) return a.io_lanes;
  const size_t cores = std::max<size_t>(1, std::thread::hardware_concurrency());
  return std::max<size_t>(1, std::min(a.io_lanes, 2 * cores));
}
}  // namespace

Status RunAsync(size_t n, size_t lanes, const std::function<void(size_t, AsyncDone)>& start) {
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    size_t in_flight = 0;
    Status first;
  };
  // Shared with the callbacks, which may run after a failure ended the loop early.
  auto st = std::make_shared<State>();
  lanes = std::max<size_t>(1, lanes);
  for (size_t i = 0; i < n; ++i) {
    {
      std::unique_lock<std::mutex> l(st->mu);
      st->cv.wait(l, [&] { return st->in_flight < lanes || !st->first.ok(); });
      if (!st->first.ok()) break;
      ++st->in_flight;
    }
    try {
      start(i, [st](Status s) {
        std::lock_guard<std::mutex> l(st->mu);
        if (!s.ok() && st->first.ok()) st->first = std::move(s);
        --st->in_flight;
        st->cv.notify_all();
      });
    } catch (const std::bad_alloc&) {
      // Out of memory before the operation started: it never will.
      std::lock_guard<std::mutex> l(st->mu);
      if (st->first.ok()) st->first = Status::IOError("out of memory starting a store operation");
      --st->in_flight;
      break;
    }
  }
  std::unique_lock<std::mutex> l(st->mu);
  st->cv.wait(l, [&] { return st->in_flight == 0; });
  return st->first;
}

Executor* IoExecutorOf(const Array::Impl& a) {
  std::call_once(a.io_once, [&] {
    if (!a.io_executor) a.io_executor = SharedIoExecutor(BlockingLanes(a));
  });
  return a.io_executor.get();
}

Dispatch PlanDispatch(const Array::Impl& a, uint64_t n_chunks, uint64_t chunk_bytes) {
  if (a.io_lanes > 0) {
    const size_t lanes = BlockingLanes(a);
    return {IoExecutorOf(a), 1, a.cpu_gate.get(),
            static_cast<size_t>(std::min<uint64_t>(n_chunks, lanes))};
  }
  return {a.executor.get(), ChunkGrain(a, n_chunks, chunk_bytes), nullptr, 0};
}

// Runs body(scratch, lane, i) for every chunk i < n as planned by `d`: in lanes (each lane one task
// that takes the next chunk until none is left, so no more than d.lanes are in flight; `lane` is
// its buffer in `budget`), or in grain-sized ranges on the executor (`lane` null). Stops early
// once `err` has failed.
template <typename Body>
void ForEachChunk(const Dispatch& d, uint64_t n, InflightBudget* budget, const FirstError& err,
                  Body body) {
  if (d.lanes > 0) {
    std::atomic<uint64_t> next{0};
    d.executor->ParallelFor(d.lanes, 1, [&](size_t, size_t) {
      ScratchPool::Lease lease;
      LaneBuffer lane(*budget, lease->fetched);
      for (uint64_t i = next.fetch_add(1); i < n && !err.failed(); i = next.fetch_add(1)) {
        body(*lease, &lane, i);
      }
    });
    return;
  }
  d.executor->ParallelFor(n, d.grain, [&](size_t begin, size_t end) {
    ScratchPool::Lease lease;
    for (size_t i = begin; i < end && !err.failed(); ++i) body(*lease, nullptr, i);
  });
}

// The shared state of one fused request on I/O threads.
struct LaneRequest {
  LaneRequest(const Array::Impl& a, bool reading)
      : budget(BudgetFor(a, reading)), guess(a.chain->decoded_spec().num_bytes()) {
    if (const uint64_t hint = a.encoded_hint.load(std::memory_order_relaxed); hint != 0) {
      guess = hint;
    }
  }
  // The bytes lanes may hold: the whole budget less what the CPU stages work in, per CPU token:
  // a read's decoded chunk and its copy of the encoded one, a write's gathered chunk (its encoded
  // output becomes the lane's); nothing for an identity chain or a sharded array.
  static uint64_t BudgetFor(const Array::Impl& a, bool reading) {
    const uint64_t chunk = a.chain->decoded_spec().num_bytes();
    if (a.chain->is_identity() || a.partial != nullptr) return a.inflight_bytes;
    const uint64_t cpu = std::max<size_t>(1, a.executor->concurrency()) * (reading ? 2 : 1) * chunk;
    return a.inflight_bytes > cpu + chunk ? a.inflight_bytes - cpu : chunk;
  }
  // What a read reserves before fetching: the largest encoded chunk seen so far.
  uint64_t Estimate() const {
    const uint64_t s = seen.load(std::memory_order_relaxed);
    return s != 0 ? s : guess;
  }
  void Saw(uint64_t n) {
    uint64_t cur = seen.load(std::memory_order_relaxed);
    while (n > cur && !seen.compare_exchange_weak(cur, n, std::memory_order_relaxed)) {
    }
  }

  InflightBudget budget;
  uint64_t guess;
  std::atomic<uint64_t> seen{0};
};

namespace {

using WorkerScratch = ScratchPool::Scratch;

// The scratch a CPU stage works in: the task's own on the CPU executor; on I/O threads one leased
// for the stage, so that decoded and gathered chunks number at most the CPU tokens, not the lanes.
class CpuScratch {
 public:
  CpuScratch(WorkerScratch& task, const LaneBuffer* lane) {
    if (lane != nullptr) {
      lease_.emplace(ScratchPool::Use::kCpuStage);
      s_ = &**lease_;
    } else {
      s_ = &task;
    }
  }
  WorkerScratch* operator->() { return s_; }
  WorkerScratch& operator*() { return *s_; }

 private:
  std::optional<ScratchPool::Lease> lease_;
  WorkerScratch* s_;
};

// Makes `encoded` (the chain's output, living in `cs`) the lane's buffer, so that the CPU stage's
// scratch can go back to its pool while the store call runs. Output aliasing the chain's input is
// returned as it is.
ByteView KeepEncoded(LaneBuffer* lane, ChainScratch& cs, ByteView encoded) {
  if (lane == nullptr || encoded.empty()) return encoded;
  for (Bytes* b : {&cs.a, &cs.b, &cs.c}) {
    if (!b->empty() && b->data() == encoded.data()) {
      // A buffer sized for the codec's worst case (far above what it wrote) is not kept whole.
      if (b->capacity() <= encoded.size() + encoded.size() / 4) {
        lane->Adopt(*b);
      } else {
        lane->Take(encoded);
      }
      return ByteView(lane->bytes().data(), encoded.size());
    }
  }
  return encoded;
}

// An identity chain's stored value is the chunk itself; any other size is corruption.
Status WrongChunkSize(const std::string& key, uint64_t got, uint64_t want) {
  return Status::Corruption("chunk '" + key + "': holds " + std::to_string(got) +
                            " bytes, expected " + std::to_string(want));
}

// Rows of a chunk's C-order bytes shorter than this are not worth a piece of their own: the chunk
// goes through a buffer instead.
constexpr uint64_t kMinPieceBytes = 256;

// The rows (runs along the last dimension) of chunk part `p` as pieces of the region-shaped
// buffer `buf`, in the chunk's C order: element rows outside the part are skipped (a null piece
// when reading; for writing every row must be in the part). Adjacent pieces merge. Returns false
// when the pieces average fewer than kMinPieceBytes.
template <typename View, typename Ptr>
bool ChunkRowPieces(const ArrayMetadata& m, const Region& region, const ChunkPart& p, Ptr buf,
                    std::vector<View>& pieces) {
  const size_t r = m.rank();
  if (r == 0) return false;
  const size_t esize = m.data_type.size();
  const std::vector<uint64_t>& chunk_shape = p.chunk_shape();
  const uint64_t row = chunk_shape[r - 1] * esize;
  const uint64_t run = p.shape[r - 1] * esize;
  pieces.clear();
  auto add = [&](Ptr at, uint64_t n) {
    if (n == 0) return;
    if (!pieces.empty()) {
      View& last = pieces.back();
      const bool both_skip = at == nullptr && last.data() == nullptr;
      const bool adjacent =
          at != nullptr && last.data() != nullptr && last.data() + last.size() == at;
      if (both_skip || adjacent) {
        last = View(last.data(), last.size() + n);
        return;
      }
    }
    pieces.push_back(View(at, n));
  };
  uint64_t rows = 1;
  for (size_t d = 0; d + 1 < r; ++d) rows *= chunk_shape[d];
  std::vector<uint64_t> c(r, 0);  // chunk coordinates of the current row (last stays 0)
  std::vector<uint64_t> at(r, 0);
  for (uint64_t i = 0; i < rows; ++i) {
    bool inside = true;
    for (size_t d = 0; d + 1 < r; ++d) {
      if (c[d] < p.in_chunk[d] || c[d] >= p.in_chunk[d] + p.shape[d]) inside = false;
    }
    if (!inside) {
      add(nullptr, row);
    } else {
      for (size_t d = 0; d + 1 < r; ++d) at[d] = c[d] - p.in_chunk[d] + p.in_region[d];
      at[r - 1] = p.in_region[r - 1];
      add(nullptr, p.in_chunk[r - 1] * esize);
      add(buf + LinearOffset(region.shape, at.data()) * esize, run);
      add(nullptr, row - p.in_chunk[r - 1] * esize - run);
    }
    for (size_t d = r - 1; d-- > 0;) {  // next row, odometer order
      if (++c[d] < chunk_shape[d]) break;
      c[d] = 0;
    }
  }
  return pieces.size() <= 1 || rows * row / pieces.size() >= kMinPieceBytes;
}

// Decodes the fetched chunk `encoded` of part `p` into the caller's buffer, in the CPU stage's
// scratch `c`.
Status DecodePart(const Array::Impl& a, const Region& region, MutableByteView out,
                  const ChunkPart& p, const std::string& key, ByteView encoded, WorkerScratch& c) {
  const ArrayMetadata& m = a.metadata;
  const size_t esize = m.data_type.size();
  const PreparedChain& chain = *p.chain;
  const uint64_t chunk_bytes = chain.decoded_spec().num_bytes();
  if (p.covers_chunk && IsContiguousBox(region.shape, p.in_region.data(), p.shape)) {
    const uint64_t off = LinearOffset(region.shape, p.in_region.data()) * esize;
    RETURN_IF_ERROR_CTX(chain.Decode(encoded, out.subspan(off, chunk_bytes), c.chain),
                        "chunk '" + key + "'");
    return Status::OK();
  }
  const uint8_t* decoded = nullptr;
  if (chain.is_identity()) {
    // Stored bytes are the chunk itself: scatter straight from the fetched buffer.
    if (encoded.size() != chunk_bytes) return WrongChunkSize(key, encoded.size(), chunk_bytes);
    decoded = encoded.data();
  } else {
    c.chunk.resize(chunk_bytes);
    RETURN_IF_ERROR_CTX(chain.Decode(encoded, c.chunk, c.chain), "chunk '" + key + "'");
    decoded = c.chunk.data();
  }
  CopyBox(decoded, p.chunk_shape(), p.in_chunk.data(), out.data(), region.shape, p.in_region.data(),
          p.shape, esize);
  return Status::OK();
}

// The first `n` bytes of `pieces`, concatenated into `out`.
void GatherFront(std::span<const MutableByteView> pieces, uint64_t n, Bytes& out) {
  out.resize(n);
  (void)ForEachFrontPiece(pieces, n, [&](MutableByteView piece, uint64_t at) {
    std::memcpy(out.data() + at, piece.data(), piece.size());
    return Status::OK();
  });
}

Status ReadOneChunk(Array::Impl& a, const Region& region, MutableByteView out, WorkerScratch& s,
                    LaneBuffer* lane, LaneRequest* req, CpuGate* gate) {
  const ArrayMetadata& m = a.metadata;
  if (a.shape_chains) {
    RETURN_IF_ERROR(BindShapeCodecs(a, s.part));
  } else {
    UseArrayCodecs(a, s.part);
  }
  const ChunkPart& p = s.part;
  const size_t esize = m.data_type.size();
  a.ChunkKeyInto(p.coords.data(), s.key);
  const std::string& key = s.key;
  const uint64_t chunk_bytes = p.chain->decoded_spec().num_bytes();
  if (a.partial != nullptr) {
    // Sharded: read the index and only the inner chunks this part touches. On I/O threads the
    // lane reserves the shard's encoded size, estimated by the largest seen so far.
    PartialCodecContext ctx = PartialContextFor(a, p.coords.data(), key);
    uint64_t fetched = 0;
    if (lane != nullptr) {
      lane->Hold([req] { return req->Estimate(); }, /*allocate=*/false);
      ctx.io_bytes = &fetched;
    }
    RETURN_IF_ERROR(a.partial->PartialDecode(p.chain->decoded_spec(), ctx, p.in_chunk.data(),
                                             p.shape, out.data(), region.shape,
                                             p.in_region.data()));
    if (fetched != 0) req->Saw(fetched);
    return Status::OK();
  }
  if (p.span_decoder != nullptr) {
    ASSIGN_OR_RETURN(bool done, ReadPartFromSpan(a, region, out, p, key, s, lane != nullptr));
    if (done) return Status::OK();
  }
  // A missing chunk reads as the fill value.
  auto fill_part = [&] {
    CpuToken cpu(gate);
    FillBox(out.data(), region.shape, p.in_region.data(), p.shape, m.fill_value.bytes.data(),
            esize);
    return Status::OK();
  };
  const bool identity = p.chain->is_identity();
  if (identity &&
      ChunkRowPieces(m, region, p, out.data(), s.pieces)) {
    // The stored bytes are the chunk: the store places them straight in the caller's buffer, so
    // the lane holds no buffer at all, and the rows outside a part read are skipped, not copied.
    ASSIGN_OR_RETURN(bool found, a.store->get_scatter(key, s.pieces));
    return found ? Status::OK() : fill_part();
  }
  if (lane != nullptr && !identity && !lane->TryHold(req->Estimate()) &&
      ChunkRowPieces(m, region, p, out.data(), s.pieces)) {
    // When the budget has no room for the encoded chunk, a chunk that fits in its part of the
    // caller's buffer lands there (that part is this task's to write) instead of waiting: the lane
    // holds nothing while the store works, so every lane can have a request in flight whatever
    // the encoded chunks weigh. The CPU stage copies the encoded bytes out before decoding over
    // them (one copy more than through a lane buffer).
    std::erase_if(s.pieces, [](const MutableByteView& v) { return v.data() == nullptr; });
    const uint64_t room = internal::PiecesSize<MutableByteView>(s.pieces);
    if (req->Estimate() <= room) {
      lane->Drop();
      ASSIGN_OR_RETURN(std::optional<uint64_t> size, a.store->get_within(key, s.pieces));
      if (!size) return fill_part();
      req->Saw(*size);
      if (*size <= room) {
        CpuToken cpu(gate);
        CpuScratch c(s, lane);
        GatherFront(s.pieces, *size, c->fetched);
        return DecodePart(a, region, out, p, key, c->fetched, *c);
      }
      // Larger than its part of the caller's buffer: fetched again below into the lane's
      // buffer, now that its size is known.
    }
  }
  if (lane != nullptr) {
    if (identity) {
      lane->Hold(chunk_bytes);
    } else {
      lane->Hold([req] { return req->Estimate(); });
    }
  }
  ASSIGN_OR_RETURN(bool found, a.store->get_into(key, ByteRange::Whole(), s.fetched));
  if (lane != nullptr) {
    lane->Sync();
    if (found) req->Saw(s.fetched.size());
  }
  if (!found) return fill_part();
  CpuToken cpu(gate);
  CpuScratch c(s, lane);
  return DecodePart(a, region, out, p, key, s.fetched, *c);
}

Status WriteOneChunk(Array::Impl& a, const Region& region, WriteSource src, WorkerScratch& s,
                     LaneBuffer* lane, LaneRequest* req, const std::optional<Bytes>* memo,
                     CpuGate* gate) {
  const ArrayMetadata& m = a.metadata;
  if (a.shape_chains) {
    RETURN_IF_ERROR(BindShapeCodecs(a, s.part));
  } else {
    UseArrayCodecs(a, s.part);
  }
  const ChunkPart& p = s.part;
  const size_t esize = m.data_type.size();
  const uint8_t* fill = m.fill_value.bytes.data();
  const std::string key = a.ChunkKey(p.coords.data());
  const PreparedChain& chain = *p.chain;
  const uint64_t chunk_bytes = chain.decoded_spec().num_bytes();
  const uint64_t chunk_elements = chain.decoded_spec().num_elements();

  const KeyLocks::Guard lock = a.chunk_locks.Lock(key);
  if (a.partial != nullptr) {
    // Sharded: the codec merges only the touched inner chunks and patches or rewrites the shard.
    // On I/O threads the lane reserves, for a whole shard, its encoded size (estimated by the
    // largest seen so far); for part of one, the old and the new shard.
    PartialCodecContext ctx = PartialContextFor(a, p.coords.data(), key);
    uint64_t stored = 0;
    if (lane != nullptr) {
      if (p.covers_in_bounds) {
        lane->Hold([req] { return req->Estimate(); }, /*allocate=*/false);
        ctx.io_bytes = &stored;
      } else {
        lane->Hold(2 * chunk_bytes, /*allocate=*/false);
      }
    }
    RETURN_IF_ERROR(a.partial->PartialEncode(chain.decoded_spec(), ctx, p.in_chunk.data(), p.shape,
                                             src.data, region.shape, p.in_region.data(),
                                             src.scalar));
    if (stored != 0) req->Saw(stored);
    return Status::OK();
  }
  if (memo != nullptr && p.covers_chunk) {
    // A scalar over a whole chunk: encoded once for the whole request.
    if (!memo->has_value()) return a.store->erase(key);
    return a.store->set(key, **memo);
  }

  const bool identity = chain.is_identity();
  const bool contiguous =
      !src.scalar && p.covers_chunk && IsContiguousBox(region.shape, p.in_region.data(), p.shape);
  if (lane != nullptr && identity && !contiguous && !src.scalar && p.covers_chunk &&
      ChunkRowPieces(m, region, p, src.data, s.gathered)) {
    // The stored value is the chunk's rows of the caller's buffer: the store takes them as they
    // are, so the lane holds no buffer at all.
    if (!a.options.write_empty_chunks) {
      CpuToken cpu(gate);
      bool empty = true;
      for (const ByteView& v : s.gathered) {
        if (!AllEqualFill(v.data(), v.size() / esize, fill, m.data_type)) {
          empty = false;
          break;
        }
      }
      if (empty) return a.store->erase(key);
    }
    return a.store->set_gather(key, s.gathered);
  }
  // On I/O threads the lane reserves, before it waits for the CPU, the buffer it will hold across
  // the store calls: the stored value for an identity chain (none when it is the caller's
  // buffer), else the encoded chunk, estimated by the largest seen so far.
  if (lane != nullptr && !(identity && contiguous)) {
    if (identity) {
      lane->Hold(chunk_bytes);
    } else {
      // The buffer is needed now only to fetch the old chunk; the encoded one arrives later.
      lane->Hold([req] { return req->Estimate(); }, /*allocate=*/!p.covers_in_bounds);
    }
  }
  // A chunk only partly overwritten is a read-modify-write of one version of it: under the
  // store's lock of the key when it has them (which excludes other handles and processes), and
  // stored only if the value is still the version read; otherwise it is read and merged again.
  const bool rmw = !p.covers_in_bounds;
  StoreLocks store_lock;
  if (rmw) {
    ASSIGN_OR_RETURN(store_lock, StoreLocks::Take(*a.store, {key}));
  }
  const StoreCapabilities caps = a.store->capabilities();
  const bool conditional = rmw && caps.conditional_writes && caps.generations;
  WriteConditions cond;
  cond.held = store_lock.held(key);
  for (int attempt = 0;; ++attempt) {
    if (attempt > 0) {
      if (attempt >= kWriteAttempts) return ConflictsExhausted(key);
      BackoffAfterConflict(attempt - 1);
    }
    ByteView chunk;
    std::optional<CpuToken> cpu;
    std::optional<CpuScratch> c;
    if (contiguous) {
      // The caller's buffer already holds the chunk in C order: encode straight from it.
      chunk =
          ByteView(src.data + LinearOffset(region.shape, p.in_region.data()) * esize, chunk_bytes);
      cpu.emplace(gate);
      c.emplace(s, lane);
    } else {
      // The existing chunk is fetched before the CPU token is taken; the merge, test and encode
      // run back to back under it, while the chunk is in cache. An identity chain's chunk is its
      // stored value: it is fetched, merged and stored in the task's own buffer.
      bool found = false;
      if (rmw) {
        ASSIGN_OR_RETURN(ReadResult got, a.store->get_if(key, ByteRange::Whole(), s.fetched));
        found = got.found;
        if (conditional) cond.if_equal = got.generation;
        if (lane != nullptr) lane->Sync();
      }
      cpu.emplace(gate);
      c.emplace(s, lane);
      Bytes& dest = identity ? s.fetched : (*c)->chunk;
      if (identity && found && s.fetched.size() != chunk_bytes) {
        return WrongChunkSize(key, s.fetched.size(), chunk_bytes);
      }
      if (!(identity && found)) dest.resize(chunk_bytes);
      if (p.covers_in_bounds) {
        // Every stored element is overwritten; the part beyond the array edge holds the fill
        // value.
        if (!p.covers_chunk) FillElements(dest.data(), chunk_elements, fill, esize);
      } else if (!found) {
        FillElements(dest.data(), chunk_elements, fill, esize);
      } else if (!identity) {
        RETURN_IF_ERROR_CTX(chain.Decode(s.fetched, dest, (*c)->chain), "chunk '" + key + "'");
      }
      if (src.scalar) {
        FillBox(dest.data(), p.chunk_shape(), p.in_chunk.data(), p.shape, src.data, esize);
      } else {
        CopyBox(src.data, region.shape, p.in_region.data(), dest.data(), p.chunk_shape(),
                p.in_chunk.data(), p.shape, esize);
      }
      chunk = dest;
    }
    if (!a.options.write_empty_chunks &&
        AllEqualFill(chunk.data(), chunk_elements, fill, m.data_type)) {
      c.reset();
      cpu.reset();
      ASSIGN_OR_RETURN(bool stored, StoreChunk(*a.store, key, std::nullopt, cond));
      if (stored) return Status::OK();
      continue;
    }
    ASSIGN_OR_RETURN_CTX(ByteView encoded, chain.Encode(chunk, (*c)->chain), "chunk '" + key + "'");
    if (lane != nullptr) {
      req->Saw(encoded.size());
      encoded = KeepEncoded(lane, (*c)->chain, encoded);
    }
    c.reset();
    cpu.reset();  // storing waits on the store, not on the CPU
    // Empty output: nothing to store (a shard whose inner chunks are all empty).
    ASSIGN_OR_RETURN(
        bool stored,
        StoreChunk(*a.store, key, encoded.empty() ? std::nullopt : std::optional<ByteView>(encoded),
                   cond));
    if (stored) return Status::OK();
  }
}

// --- Completion-based I/O (a.async_io) ------------------------------------------------------
//
// The CPU executor's workers share one request: each issues store operations while fewer than
// io_lanes are in flight and the bytes reserved for their buffers fit the request's budget, and
// otherwise takes the next completed one (a read to decode, a write to account for) or waits for
// one. The store's callbacks only queue a completion and wake a worker: they never block, and all
// CPU work stays on the executor.

// Every chunk the region touches is written whole (in bounds): no read-modify-write.
bool WholeChunksOnly(const ArrayMetadata& m, const Region& region) {
  for (size_t d = 0; d < m.rank(); ++d) {
    if (region.shape[d] == 0) continue;
    const uint64_t end = region.origin[d] + region.shape[d];
    if (ChunkOrigin(m, d, ChunkIndexOf(m, d, region.origin[d])) != region.origin[d]) return false;
    const uint64_t last = ChunkIndexOf(m, d, end - 1);
    if (ChunkOrigin(m, d, last) + ChunkEdge(m, d, last) != end && end != m.shape[d]) return false;
  }
  return true;
}

// Runs `worker` on up to `n` workers of the CPU executor and returns once none of the store
// operations counted in `st` (AsyncReads, AsyncWrites) is in flight. A worker leaves only once
// nothing is in flight, but an exception (out of memory) may end them early: the drain still
// runs, so no buffer is freed while the store reads or writes it.
template <typename State, typename Worker>
void RunWorkersThenDrain(Array::Impl& a, uint64_t n, State& st, const Worker& worker) {
  const size_t workers =
      static_cast<size_t>(std::min<uint64_t>(n, std::max<size_t>(1, a.executor->concurrency())));
  auto drain = [&] {
    std::unique_lock<std::mutex> l(st.mu);
    st.cv.wait(l, [&] { return st.in_flight == 0; });
  };
  try {
    a.executor->ParallelFor(workers, 1, worker);
  } catch (...) {
    drain();
    throw;
  }
  drain();
}

struct AsyncReads {
  struct Done {
    uint64_t index;
    std::unique_ptr<Bytes> buf;  // null: the value landed in the caller's buffer, at `pieces`
    Result<bool> found;
    uint64_t reserved;  // bytes of the budget this buffer holds
    std::vector<MutableByteView> pieces;
    uint64_t size = 0;  // of a value read into `pieces`
  };
  std::mutex mu;
  std::condition_variable cv;
  uint64_t next = 0;      // the next chunk to issue
  size_t in_flight = 0;   // store operations not yet completed
  uint64_t reserved = 0;  // budget bytes held by buffers in flight or waiting to be decoded
  std::deque<Done> done;  // completed, waiting for a worker
  std::vector<std::unique_ptr<Bytes>> free;  // buffers to reuse
  // Chunks whose value did not fit their part of the caller's buffer: fetched again into a
  // buffer of the budget, before any new chunk.
  std::deque<uint64_t> again;
};

Status AsyncRead(Array::Impl& a, const Region& region, MutableByteView out) {
  const ArrayMetadata& m = a.metadata;
  const ChunkSpan span = ChunksTouching(m, region);
  const uint64_t n = span.total;
  const size_t esize = m.data_type.size();
  LaneRequest req(a, /*reading=*/true);
  const uint64_t limit = req.budget.limit();
  const size_t lanes = std::max<size_t>(1, a.io_lanes);
  FirstError err;
  AsyncReads st;
  // When the budget has no room for another buffer, a chunk whose encoded value fits in its part
  // of the caller's buffer is read there (get_within_async; that part is this chunk's to write):
  // such reads hold no buffer, so every lane can have a request in flight whatever the encoded
  // chunks weigh. The CPU stage copies the encoded bytes out before decoding over them.
  const bool direct = !a.chain->is_identity();
  struct Issue {
    uint64_t index;
    std::unique_ptr<Bytes> buf;  // null: into the caller's buffer
    uint64_t reserved;
  };
  auto worker = [&](size_t, size_t) {
    ScratchPool::Lease lease;
    std::vector<Issue> issue;
    ChunkPart at;
    while (true) {
      std::optional<AsyncReads::Done> item;
      uint64_t est = 0;
      {
        std::unique_lock<std::mutex> l(st.mu);
        while (true) {
          est = req.Estimate();
          while (!err.failed() && (st.next < n || !st.again.empty()) &&
                 st.in_flight + issue.size() < lanes) {
            if (st.reserved + est <= limit || st.reserved == 0) {
              std::unique_ptr<Bytes> buf;
              if (!st.free.empty()) {
                buf = std::move(st.free.back());
                st.free.pop_back();
              } else {
                buf = std::make_unique<Bytes>();
              }
              st.reserved += est;
              uint64_t index = 0;
              if (!st.again.empty()) {
                index = st.again.front();
                st.again.pop_front();
              } else {
                index = st.next++;
              }
              issue.push_back({index, std::move(buf), est});
            } else if (direct && st.again.empty()) {
              issue.push_back({st.next++, nullptr, 0});
            } else {
              break;
            }
          }
          if (!issue.empty()) break;
          if (!st.done.empty()) {
            item.emplace(std::move(st.done.front()));
            st.done.pop_front();
            break;
          }
          if (st.in_flight == 0 && ((st.next >= n && st.again.empty()) || err.failed())) return;
          st.cv.wait(l);
        }
        st.in_flight += issue.size();
      }
      for (size_t k = 0; k < issue.size(); ++k) {
        Issue& is = issue[k];
        try {
          LocateChunk(m, region, span, is.index, at);
          if (!is.buf) {
            auto pieces = std::make_shared<std::vector<MutableByteView>>();
            const bool fits = ChunkRowPieces(m, region, at, out.data(), *pieces);
            std::erase_if(*pieces, [](const MutableByteView& v) { return v.data() == nullptr; });
            if (!fits || pieces->empty() || internal::PiecesSize<MutableByteView>(*pieces) < est) {
              // No room for it in the caller's buffer: it waits for room in the budget.
              std::lock_guard<std::mutex> l(st.mu);
              st.again.push_back(is.index);
              --st.in_flight;
              st.cv.notify_all();
              continue;
            }
            const std::span<const MutableByteView> view(*pieces);
            a.store->get_within_async(
                a.ChunkKey(at.coords.data()), view,
                [&st, index = is.index, pieces](Result<std::optional<uint64_t>> size) {
                  Result<bool> found =
                      size.ok() ? Result<bool>(size->has_value()) : Result<bool>(size.status());
                  const uint64_t bytes = size.ok() && size->has_value() ? **size : 0;
                  std::lock_guard<std::mutex> l(st.mu);
                  st.done.push_back(
                      {index, nullptr, std::move(found), 0, std::move(*pieces), bytes});
                  --st.in_flight;
                  st.cv.notify_all();
                });
            continue;
          }
          Bytes& dest = *is.buf;
          a.store->get_async(
              a.ChunkKey(at.coords.data()), ByteRange::Whole(), dest,
              [&st, index = is.index,
               buf = std::make_shared<std::unique_ptr<Bytes>>(std::move(is.buf)),
               reserved = is.reserved](Result<bool> found) {
                std::lock_guard<std::mutex> l(st.mu);
                const uint64_t held = std::max<uint64_t>(reserved, (*buf)->capacity());
                st.reserved += held - reserved;
                st.done.push_back({index, std::move(*buf), std::move(found), held, {}, 0});
                --st.in_flight;
                st.cv.notify_all();
              });
        } catch (...) {
          // Out of memory before the operation started: it and the ones after it never will.
          std::lock_guard<std::mutex> l(st.mu);
          for (size_t j = k; j < issue.size(); ++j) st.reserved -= issue[j].reserved;
          st.in_flight -= issue.size() - k;
          st.cv.notify_all();
          throw;
        }
      }
      issue.clear();
      if (!item) continue;
      Status s = [&]() -> Status {
        if (!item->found.ok()) return item->found.status();
        ChunkPart& p = lease->part;
        LocateChunk(m, region, span, item->index, p);
        RETURN_IF_ERROR(BindCodecs(a, p));
        if (!*item->found) {
          FillBox(out.data(), region.shape, p.in_region.data(), p.shape, m.fill_value.bytes.data(),
                  esize);
          return Status::OK();
        }
        if (!item->buf) {
          req.Saw(item->size);
          if (item->size > internal::PiecesSize<MutableByteView>(item->pieces)) {
            // Not read (larger than its part of the caller's buffer): fetched again.
            std::lock_guard<std::mutex> l(st.mu);
            st.again.push_back(item->index);
            return Status::OK();
          }
          GatherFront(item->pieces, item->size, lease->fetched);
          return DecodePart(a, region, out, p, a.ChunkKey(p.coords.data()), lease->fetched, *lease);
        }
        req.Saw(item->buf->size());
        return DecodePart(a, region, out, p, a.ChunkKey(p.coords.data()), *item->buf, *lease);
      }();
      if (!s.ok()) err.Set(std::move(s));
      std::lock_guard<std::mutex> l(st.mu);
      st.reserved -= item->reserved;
      // A buffer far above the estimate is not kept for the next chunk.
      if (item->buf && item->buf->capacity() <= 2 * req.Estimate() + (64 << 10)) {
        st.free.push_back(std::move(item->buf));
      }
      st.cv.notify_all();
    }
  };
  RunWorkersThenDrain(a, n, st, worker);
  if (req.seen.load() != 0) a.encoded_hint.store(req.seen.load());
  return err.status();
}

struct AsyncWrites {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t next = 0;
  size_t in_flight = 0;
  uint64_t reserved = 0;
  // Buffers of completed writes, handed back to the encoders: a fresh buffer per chunk would be
  // fresh pages (page faults) for every chunk encoded.
  std::vector<Bytes> spare;
};
constexpr size_t kSpareWriteBuffers = 4;

// One write in flight: what its callback releases.
struct PendingWrite {
  KeyLocks::Guard lock;
  Bytes owned;  // the stored value when not borrowed from the caller's buffer or the memo
  ByteView value;
  uint64_t reserved = 0;
};

Status AsyncWrite(Array::Impl& a, const Region& region, WriteSource src,
                  const std::optional<Bytes>* memo) {
  const ArrayMetadata& m = a.metadata;
  const ChunkSpan span = ChunksTouching(m, region);
  const uint64_t n = span.total;
  const size_t esize = m.data_type.size();
  const uint8_t* fill = m.fill_value.bytes.data();
  const uint64_t chunk_bytes = a.chain->decoded_spec().num_bytes();
  const bool identity = a.chain->is_identity();
  LaneRequest req(a, /*reading=*/false);
  const uint64_t limit = req.budget.limit();
  const size_t lanes = std::max<size_t>(1, a.io_lanes);
  FirstError err;
  AsyncWrites st;
  auto finish = [&st, &err](std::unique_ptr<PendingWrite> w, Status s) {
    const uint64_t r = w->reserved;
    Bytes buffer;
    buffer.swap(w->owned);
    w.reset();  // releases the key before the slot is given back
    std::lock_guard<std::mutex> l(st.mu);
    if (buffer.capacity() > 0 && st.spare.size() < kSpareWriteBuffers) {
      st.spare.push_back(std::move(buffer));
    }
    if (!s.ok()) err.Set(std::move(s));
    st.reserved -= r;
    --st.in_flight;
    st.cv.notify_all();
  };
  auto worker = [&](size_t, size_t) {
    ScratchPool::Lease lease;
    WorkerScratch& s = *lease;
    while (true) {
      uint64_t i = 0;
      auto w = std::make_unique<PendingWrite>();
      {
        std::unique_lock<std::mutex> l(st.mu);
        const uint64_t est = identity ? chunk_bytes : req.Estimate();
        st.cv.wait(l, [&] {
          return err.failed() || st.next >= n ||
                 (st.in_flight < lanes && (st.reserved + est <= limit || st.reserved == 0));
        });
        if (err.failed() || st.next >= n) return;
        i = st.next++;
        ++st.in_flight;
        st.reserved += est;
        w->reserved = est;
      }
      const ChunkPart& p = s.part;
      LocateChunk(m, region, span, i, s.part);
      const std::string key = a.ChunkKey(p.coords.data());
      w->lock = a.chunk_locks.Lock(key);
      std::optional<ByteView> value;  // nullopt: erase
      auto encode = [&]() -> Status {
        if (memo != nullptr && p.covers_chunk) {
          if (memo->has_value()) value = ByteView(**memo);
          return Status::OK();
        }
        RETURN_IF_ERROR(BindCodecs(a, s.part));
        const uint64_t part_chunk_bytes = p.chain->decoded_spec().num_bytes();
        const uint64_t chunk_elements = p.chain->decoded_spec().num_elements();
        ByteView chunk;
        const bool contiguous = !src.scalar && p.covers_chunk &&
                                IsContiguousBox(region.shape, p.in_region.data(), p.shape);
        if (contiguous) {
          chunk = ByteView(src.data + LinearOffset(region.shape, p.in_region.data()) * esize,
                           part_chunk_bytes);
        } else {
          s.chunk.resize(part_chunk_bytes);
          if (!p.covers_chunk) FillElements(s.chunk.data(), chunk_elements, fill, esize);
          if (src.scalar) {
            FillBox(s.chunk.data(), p.chunk_shape(), p.in_chunk.data(), p.shape, src.data, esize);
          } else {
            CopyBox(src.data, region.shape, p.in_region.data(), s.chunk.data(), p.chunk_shape(),
                    p.in_chunk.data(), p.shape, esize);
          }
          chunk = s.chunk;
        }
        if (!a.options.write_empty_chunks &&
            AllEqualFill(chunk.data(), chunk_elements, fill, m.data_type)) {
          return Status::OK();
        }
        ASSIGN_OR_RETURN_CTX(ByteView encoded, p.chain->Encode(chunk, s.chain),
                             "chunk '" + key + "'");
        if (encoded.empty()) return Status::OK();  // nothing to store
        // The value must outlive this worker's scratch: its buffer is taken, not copied, unless
        // it is the caller's (an identity chain over a contiguous chunk).
        const bool borrowed = contiguous && encoded.data() == chunk.data();
        if (!borrowed) {
          bool taken = false;
          for (Bytes* b : {&s.chain.a, &s.chain.b, &s.chain.c, &s.chunk}) {
            if (!b->empty() && b->data() == encoded.data()) {
              const size_t size = encoded.size();
              w->owned.swap(*b);
              w->owned.resize(size);
              std::lock_guard<std::mutex> l(st.mu);
              if (!st.spare.empty()) {
                b->swap(st.spare.back());
                st.spare.pop_back();
              }
              taken = true;
              break;
            }
          }
          if (!taken) w->owned.assign(encoded.begin(), encoded.end());
          encoded = w->owned;
        }
        if (!identity) req.Saw(encoded.size());
        value = encoded;
        return Status::OK();
      };
      // Out of memory while encoding fails this chunk's write and gives its slot back.
      Status st_encode;
      try {
        st_encode = encode();
      } catch (const std::bad_alloc&) {
        st_encode = Status::IOError("chunk '" + key + "': out of memory");
      }
      if (!st_encode.ok()) {
        finish(std::move(w), std::move(st_encode));
        continue;
      }
      {
        std::lock_guard<std::mutex> l(st.mu);
        const uint64_t held = std::max<uint64_t>(w->reserved, w->owned.capacity());
        st.reserved += held - w->reserved;
        w->reserved = held;
      }
      PendingWrite* raw = w.get();
      auto done = [finish, shared = std::make_shared<std::unique_ptr<PendingWrite>>(std::move(w))](
                      Status status) { finish(std::move(*shared), std::move(status)); };
      if (value) {
        raw->value = *value;
        a.store->set_async(key, std::span<const ByteView>(&raw->value, 1), std::move(done));
      } else {
        a.store->erase_async(key, std::move(done));
      }
    }
  };
  RunWorkersThenDrain(a, n, st, worker);
  if (req.seen.load() != 0) a.encoded_hint.store(req.seen.load());
  return err.status();
}

}  // namespace

Status FusedRead(Array::Impl& a, const Region& region, MutableByteView out) {
  if (a.chunk_cache) return CachedRead(a, region, out);
  const ChunkSpan span = ChunksTouching(a.metadata, region);
  if (span.total == 0) return Status::OK();
  // Per chunk: the whole chunk, or a small part read from a span of its value.
  const uint64_t work = ReadWorkPerChunk(a, region, span.total);
  const bool whole = work == a.chain->decoded_spec().num_bytes();
  if (a.async_io && a.partial == nullptr && whole) return AsyncRead(a, region, out);
  if (ReadInline(a, span.total, work)) {
    // Small together: on the calling thread, with no executor call at all.
    ScratchPool::Lease lease;
    for (uint64_t i = 0; i < span.total; ++i) {
      LocateChunk(a.metadata, region, span, i, lease->part);
      RETURN_IF_ERROR(ReadOneChunk(a, region, out, *lease, nullptr, nullptr, nullptr));
    }
    return Status::OK();
  }
  FirstError err;
  const Dispatch d = PlanDispatch(a, span.total, work);
  std::optional<LaneRequest> req;
  if (d.lanes > 0) req.emplace(a, /*reading=*/true);
  ForEachChunk(d, span.total, req ? &req->budget : nullptr, err,
               [&](WorkerScratch& s, LaneBuffer* lane, uint64_t i) {
                 LocateChunk(a.metadata, region, span, i, s.part);
                 Status st =
                     ReadOneChunk(a, region, out, s, lane, req ? &*req : nullptr, d.cpu_gate);
                 if (!st.ok()) err.Set(std::move(st));
               });
  if (req && req->seen.load() != 0) a.encoded_hint.store(req->seen.load());
  return err.status();
}

Status FusedWrite(Array::Impl& a, const Region& region, WriteSource src) {
  const ArrayMetadata& m = a.metadata;
  const ChunkSpan span = ChunksTouching(m, region);
  if (span.total == 0) return Status::OK();
  const uint64_t chunk_bytes = a.chain->decoded_spec().num_bytes();

  // Scalar writes: merge, test and encode a whole chunk once; every fully covered chunk reuses it
  // (chunks of one shape only: not on a rectilinear grid).
  std::optional<Bytes> memo;
  bool have_memo = false;
  if (src.scalar && a.partial == nullptr && !a.shape_chains) {
    Bytes chunk(chunk_bytes);
    FillElements(chunk.data(), m.chunk_elements(), src.data, m.data_type.size());
    if (a.options.write_empty_chunks ||
        !AllEqualFill(chunk.data(), m.chunk_elements(), m.fill_value.bytes.data(), m.data_type)) {
      ChainScratch cs;
      ASSIGN_OR_RETURN(ByteView enc, a.chain->Encode(chunk, cs));
      if (!enc.empty()) memo = Bytes(enc.begin(), enc.end());
    }
    have_memo = true;
  }
  if (a.async_io && a.partial == nullptr && WholeChunksOnly(m, region)) {
    return AsyncWrite(a, region, src, have_memo ? &memo : nullptr);
  }
  FirstError err;
  const Dispatch d = PlanDispatch(a, span.total, chunk_bytes);
  std::optional<LaneRequest> req;
  if (d.lanes > 0) req.emplace(a, /*reading=*/false);
  ForEachChunk(d, span.total, req ? &req->budget : nullptr, err,
               [&](WorkerScratch& s, LaneBuffer* lane, uint64_t i) {
                 LocateChunk(m, region, span, i, s.part);
                 Status st = WriteOneChunk(a, region, src, s, lane, req ? &*req : nullptr,
                                           have_memo ? &memo : nullptr, d.cpu_gate);
                 if (!st.ok()) err.Set(std::move(st));
               });
  if (req && req->seen.load() != 0) a.encoded_hint.store(req->seen.load());
  return err.status();
}

}  // namespace zarrpp::internal

namespace zarrpp::internal {
namespace {
// Free scratch objects; bounded so a burst of tasks does not pin memory forever.
struct ScratchFreeList {
  std::mutex mu;
  std::vector<std::unique_ptr<ScratchPool::Scratch>> free;
  uint64_t bytes = 0;  // buffer capacity the free scratch objects hold
};
// Two lists: scratch for whole chunk tasks, and scratch for the CPU stages of tasks on I/O
// threads (few at once, each holding a decoded chunk), so that neither takes the other's buffers.
ScratchFreeList& FreeList(ScratchPool::Use use) {
  static ScratchFreeList* lists = new ScratchFreeList[2];  // never destroyed: used until exit
  return lists[use == ScratchPool::Use::kTask ? 0 : 1];
}
constexpr size_t kMaxFreeScratch = 64;
constexpr uint64_t kMaxFreeScratchBytes = uint64_t{32} << 20;

uint64_t CapacityOf(const ScratchPool::Scratch& s) {
  return s.fetched.capacity() + s.chunk.capacity() + s.extra.capacity() + s.chain.a.capacity() +
         s.chain.b.capacity() + s.chain.c.capacity();
}
void FreeBuffers(ScratchPool::Scratch& s) {
  for (Bytes* b : {&s.fetched, &s.chunk, &s.extra, &s.chain.a, &s.chain.b, &s.chain.c}) {
    Bytes().swap(*b);
  }
}
}  // namespace

ScratchPool::Lease::Lease(Use use) : use_(use) {
  ScratchFreeList& l = FreeList(use_);
  {
    std::lock_guard<std::mutex> g(l.mu);
    if (!l.free.empty()) {
      s_ = std::move(l.free.back());
      l.free.pop_back();
      l.bytes -= CapacityOf(*s_);
    }
  }
  if (!s_) s_ = std::make_unique<Scratch>();
}

ScratchPool::Lease::~Lease() {
  if (s_->part.codecs) s_->part.codecs.reset();  // a rectilinear handle's codecs go with it
  ScratchFreeList& l = FreeList(use_);
  const uint64_t cap = CapacityOf(*s_);
  std::unique_lock<std::mutex> g(l.mu);
  if (l.free.size() >= kMaxFreeScratch) return;  // s_ is freed after the lock
  if (l.bytes + cap > kMaxFreeScratchBytes) {
    // Over the byte bound: kept without its buffers, which are freed outside the lock.
    g.unlock();
    FreeBuffers(*s_);
    g.lock();
    if (l.free.size() >= kMaxFreeScratch) return;
  } else {
    l.bytes += cap;
  }
  l.free.push_back(std::move(s_));
}

void ScratchPool::ReleaseIdle() {
  ReleaseShardingScratch();
  for (Use use : {Use::kTask, Use::kCpuStage}) {
    ScratchFreeList& l = FreeList(use);
    std::vector<std::unique_ptr<Scratch>> drop;
    std::lock_guard<std::mutex> g(l.mu);
    drop.swap(l.free);
    l.bytes = 0;
  }
}

}  // namespace zarrpp::internal

namespace zarrpp {
void ReleaseScratchMemory() {
  internal::ScratchPool::ReleaseIdle();
}
}  // namespace zarrpp
