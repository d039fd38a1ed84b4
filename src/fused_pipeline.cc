#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <optional>

#include "src/first_error.h"
#include "src/indexing.h"
#include "src/pipeline.h"

namespace zarrpp::internal {

ChunkSpan ChunksTouching(const ArrayMetadata& m, const Region& region) {
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
  const size_t r = m.rank();
  part.coords.resize(r);
  part.in_chunk.resize(r);
  part.in_region.resize(r);
  part.shape.resize(r);
  part.covers_chunk = true;
  part.covers_in_bounds = true;
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
    const uint64_t lo = coords[d] * m.chunk_shape[d];
    ctx.in_bounds[d] = std::min(m.chunk_shape[d], m.shape[d] - std::min(m.shape[d], lo));
  }
  return ctx;
}

size_t ChunkGrain(const Array::Impl& a, uint64_t n_chunks, uint64_t chunk_bytes) {
  const size_t conc = std::max<size_t>(1, a.executor->concurrency());
  uint64_t grain =
      std::max<uint64_t>(1, a.options.min_task_bytes / std::max<uint64_t>(1, chunk_bytes));
  const uint64_t per_worker = (n_chunks + conc - 1) / conc;
  grain = std::min<uint64_t>(grain, std::max<uint64_t>(1, per_worker));
  return static_cast<size_t>(grain);
}

Dispatch PlanDispatch(const Array::Impl& a, uint64_t n_chunks, uint64_t chunk_bytes, bool write) {
  if (a.io_executor) {
    const size_t lanes = write ? a.io_lanes_write : a.io_lanes_read;
    return {a.io_executor.get(), 1, a.cpu_gate.get(),
            static_cast<size_t>(std::min<uint64_t>(n_chunks, lanes))};
  }
  return {a.executor.get(), ChunkGrain(a, n_chunks, chunk_bytes), nullptr, 0};
}

// Runs body(scratch, i) for every chunk i < n as planned by `d`: in lanes (each lane one task
// that takes the next chunk until none is left, so no more than d.lanes are in flight), or in
// grain-sized ranges on the executor. Stops early once `err` has failed.
template <typename Body>
void ForEachChunk(const Dispatch& d, uint64_t n, const FirstError& err, Body body) {
  if (d.lanes > 0) {
    std::atomic<uint64_t> next{0};
    d.executor->ParallelFor(d.lanes, 1, [&](size_t, size_t) {
      ScratchPool::Lease lease;
      for (uint64_t i = next.fetch_add(1); i < n && !err.failed(); i = next.fetch_add(1)) {
        body(*lease, i);
      }
    });
    return;
  }
  d.executor->ParallelFor(n, d.grain, [&](size_t begin, size_t end) {
    ScratchPool::Lease lease;
    for (size_t i = begin; i < end && !err.failed(); ++i) body(*lease, i);
  });
}

namespace {

using WorkerScratch = ScratchPool::Scratch;

Status ReadOneChunk(Array::Impl& a, const Region& region, MutableByteView out, WorkerScratch& s,
                    CpuGate* gate) {
  const ArrayMetadata& m = a.metadata;
  const ChunkPart& p = s.part;
  const size_t esize = m.data_type.size();
  const std::string key = a.ChunkKey(p.coords.data());
  if (a.partial != nullptr) {
    // Sharded: read the index and only the inner chunks this part touches.
    const PartialCodecContext ctx = PartialContextFor(a, p.coords.data(), key);
    return a.partial->PartialDecode(a.chain->decoded_spec(), ctx, p.in_chunk.data(), p.shape,
                                    out.data(), region.shape, p.in_region.data());
  }
  ASSIGN_OR_RETURN(bool found, a.store->get_into(key, ByteRange::Whole(), s.fetched));
  CpuToken cpu(gate);
  if (!found) {
    FillBox(out.data(), region.shape, p.in_region.data(), p.shape, m.fill_value.bytes.data(),
            esize);
    return Status::OK();
  }
  const uint64_t chunk_bytes = a.chain->decoded_spec().num_bytes();
  if (p.covers_chunk && IsContiguousBox(region.shape, p.in_region.data(), p.shape)) {
    const uint64_t off = LinearOffset(region.shape, p.in_region.data()) * esize;
    RETURN_IF_ERROR_CTX(a.chain->Decode(s.fetched, out.subspan(off, chunk_bytes), s.chain),
                        "chunk '" + key + "'");
    return Status::OK();
  }
  const uint8_t* decoded = nullptr;
  if (a.chain->is_identity()) {
    // Stored bytes are the chunk itself: scatter straight from the fetched buffer.
    if (s.fetched.size() != chunk_bytes) {
      return Status::Corruption("chunk '" + key + "': holds " + std::to_string(s.fetched.size()) +
                                " bytes, expected " + std::to_string(chunk_bytes));
    }
    decoded = s.fetched.data();
  } else {
    s.chunk.resize(chunk_bytes);
    RETURN_IF_ERROR_CTX(a.chain->Decode(s.fetched, s.chunk, s.chain), "chunk '" + key + "'");
    decoded = s.chunk.data();
  }
  CopyBox(decoded, m.chunk_shape, p.in_chunk.data(), out.data(), region.shape, p.in_region.data(),
          p.shape, esize);
  return Status::OK();
}

Status WriteOneChunk(Array::Impl& a, const Region& region, WriteSource src, WorkerScratch& s,
                     const std::optional<Bytes>* memo, CpuGate* gate) {
  const ArrayMetadata& m = a.metadata;
  const ChunkPart& p = s.part;
  const size_t esize = m.data_type.size();
  const uint8_t* fill = m.fill_value.bytes.data();
  const std::string key = a.ChunkKey(p.coords.data());
  const uint64_t chunk_bytes = a.chain->decoded_spec().num_bytes();

  const KeyLocks::Guard lock = a.chunk_locks.Lock(key);
  if (a.partial != nullptr) {
    // Sharded: the codec merges only the touched inner chunks and patches or rewrites the shard.
    const PartialCodecContext ctx = PartialContextFor(a, p.coords.data(), key);
    return a.partial->PartialEncode(a.chain->decoded_spec(), ctx, p.in_chunk.data(), p.shape,
                                    src.data, region.shape, p.in_region.data(), src.scalar);
  }
  if (memo != nullptr && p.covers_chunk) {
    // A scalar over a whole chunk: encoded once for the whole request.
    if (!memo->has_value()) return a.store->erase(key);
    return a.store->set(key, **memo);
  }

  ByteView chunk;
  std::optional<CpuToken> cpu;
  if (!src.scalar && p.covers_chunk && IsContiguousBox(region.shape, p.in_region.data(), p.shape)) {
    // The caller's buffer already holds the chunk in C order: encode straight from it.
    chunk =
        ByteView(src.data + LinearOffset(region.shape, p.in_region.data()) * esize, chunk_bytes);
  } else {
    // The existing chunk is fetched before the CPU token is taken; the merge, test and encode
    // run back to back under it, while the chunk is in cache.
    bool found = false;
    if (!p.covers_in_bounds) {
      ASSIGN_OR_RETURN(found, a.store->get_into(key, ByteRange::Whole(), s.fetched));
    }
    cpu.emplace(gate);
    s.chunk.resize(chunk_bytes);
    if (p.covers_in_bounds) {
      // Every stored element is overwritten; the part beyond the array edge holds the fill value.
      if (!p.covers_chunk) FillElements(s.chunk.data(), m.chunk_elements(), fill, esize);
    } else {
      if (found) {
        RETURN_IF_ERROR_CTX(a.chain->Decode(s.fetched, s.chunk, s.chain), "chunk '" + key + "'");
      } else {
        FillElements(s.chunk.data(), m.chunk_elements(), fill, esize);
      }
    }
    if (src.scalar) {
      FillBox(s.chunk.data(), m.chunk_shape, p.in_chunk.data(), p.shape, src.data, esize);
    } else {
      CopyBox(src.data, region.shape, p.in_region.data(), s.chunk.data(), m.chunk_shape,
              p.in_chunk.data(), p.shape, esize);
    }
    chunk = s.chunk;
  }
  if (!cpu) cpu.emplace(gate);
  if (!a.options.write_empty_chunks &&
      AllEqualFill(chunk.data(), m.chunk_elements(), fill, m.data_type)) {
    cpu.reset();
    return a.store->erase(key);
  }
  ASSIGN_OR_RETURN_CTX(ByteView encoded, a.chain->Encode(chunk, s.chain), "chunk '" + key + "'");
  cpu.reset();  // storing waits on the store, not on the CPU
  // Empty output: nothing to store (a shard whose inner chunks are all empty).
  if (encoded.empty()) return a.store->erase(key);
  return a.store->set(key, encoded);
}

}  // namespace

Status FusedRead(Array::Impl& a, const Region& region, MutableByteView out) {
  const ChunkSpan span = ChunksTouching(a.metadata, region);
  if (span.total == 0) return Status::OK();
  const uint64_t chunk_bytes = a.chain->decoded_spec().num_bytes();
  FirstError err;
  const Dispatch d = PlanDispatch(a, span.total, chunk_bytes, false);
  ForEachChunk(d, span.total, err, [&](WorkerScratch& s, uint64_t i) {
    LocateChunk(a.metadata, region, span, i, s.part);
    Status st = ReadOneChunk(a, region, out, s, d.cpu_gate);
    if (!st.ok()) err.Set(std::move(st));
  });
  return err.status();
}

Status FusedWrite(Array::Impl& a, const Region& region, WriteSource src) {
  const ArrayMetadata& m = a.metadata;
  const ChunkSpan span = ChunksTouching(m, region);
  if (span.total == 0) return Status::OK();
  const uint64_t chunk_bytes = a.chain->decoded_spec().num_bytes();

  // Scalar writes: merge, test and encode a whole chunk once; every fully covered chunk reuses it.
  std::optional<Bytes> memo;
  bool have_memo = false;
  if (src.scalar && a.partial == nullptr) {
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
  FirstError err;
  const Dispatch d = PlanDispatch(a, span.total, chunk_bytes, true);
  ForEachChunk(d, span.total, err, [&](WorkerScratch& s, uint64_t i) {
    LocateChunk(m, region, span, i, s.part);
    Status st = WriteOneChunk(a, region, src, s, have_memo ? &memo : nullptr, d.cpu_gate);
    if (!st.ok()) err.Set(std::move(st));
  });
  return err.status();
}

}  // namespace zarrpp::internal

namespace zarrpp::internal {
namespace {
// Free scratch objects; bounded so a burst of tasks does not pin memory forever.
struct ScratchFreeList {
  std::mutex mu;
  std::vector<std::unique_ptr<ScratchPool::Scratch>> free;
};
ScratchFreeList& FreeList() {
  static ScratchFreeList* list = new ScratchFreeList;  // never destroyed: used until exit
  return *list;
}
constexpr size_t kMaxFreeScratch = 64;
}  // namespace

ScratchPool::Lease::Lease() {
  ScratchFreeList& l = FreeList();
  {
    std::lock_guard<std::mutex> g(l.mu);
    if (!l.free.empty()) {
      s_ = std::move(l.free.back());
      l.free.pop_back();
    }
  }
  if (!s_) s_ = std::make_unique<Scratch>();
}

ScratchPool::Lease::~Lease() {
  ScratchFreeList& l = FreeList();
  std::lock_guard<std::mutex> g(l.mu);
  if (l.free.size() < kMaxFreeScratch) l.free.push_back(std::move(s_));
}

}  // namespace zarrpp::internal
