// The batched pipeline: phase by phase over every chunk of a request. It holds every encoded
// (and decoded) chunk of the request at once; it exists as the reference design that the fused
// pipeline is measured against, and produces byte-identical stores.
#include <algorithm>
#include <atomic>
#include <mutex>

#include "src/array/indexing.h"
#include "src/first_error.h"
#include "src/pipeline/chunk_cache.h"
#include "src/pipeline/pipeline.h"

namespace zarrpp::internal {
namespace {

using Errors = FirstError;

std::vector<ChunkPart> LocateAll(const ArrayMetadata& m, const Region& region,
                                 const ChunkSpan& span) {
  std::vector<ChunkPart> parts(span.total);
  for (uint64_t i = 0; i < span.total; ++i) LocateChunk(m, region, span, i, parts[i]);
  return parts;
}

}  // namespace

Status BatchedRead(Array::Impl& a, const Region& region, MutableByteView out) {
  if (a.chunk_cache) return CachedRead(a, region, out);
  // A batch runs one prepared chain over chunks of one shape: unsharded chunks of a rectilinear
  // grid, which differ in shape, take the fused pipeline.
  if (a.shape_chains && a.partial == nullptr) return FusedRead(a, region, out);
  const ArrayMetadata& m = a.metadata;
  const ChunkSpan span = ChunksTouching(m, region);
  if (span.total == 0) return Status::OK();
  const size_t n = span.total;
  const uint64_t chunk_bytes = a.chain->decoded_spec().num_bytes();
  const size_t esize = m.data_type.size();
  const size_t grain = ChunkGrain(a, n, chunk_bytes);
  // Phases that only wait on the store run on the I/O threads when the store is latency-bound.
  const Dispatch io = PlanDispatch(a, n, chunk_bytes);
  std::vector<ChunkPart> parts = LocateAll(m, region, span);
  std::vector<std::string> keys(n);
  for (size_t i = 0; i < n; ++i) keys[i] = a.ChunkKey(parts[i].coords.data());
  Errors err;
  if (a.partial != nullptr) {
    // Sharded: each shard is read by its codec (index, then the touched inner chunks), which
    // decodes the inner chunks in phases: every one through each codec, then all scattered.
    io.executor->ParallelFor(n, io.grain, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) {
        PartialCodecContext ctx = PartialContextFor(a, parts[i].coords.data(), keys[i]);
        ctx.staged = true;
        if (Status s = BindCodecs(a, parts[i]); !s.ok()) return err.Set(s);
        Status s = a.partial->PartialDecode(parts[i].chain->decoded_spec(), ctx,
                                            parts[i].in_chunk.data(), parts[i].shape, out.data(),
                                            region.shape, parts[i].in_region.data());
        if (!s.ok()) return err.Set(s);
      }
    });
    return err.status();
  }

  // Phase 1: fetch every chunk.
  std::vector<Bytes> fetched(n);
  std::vector<uint8_t> found(n, 0);
  if (a.async_io) {
    // The store completes operations on its own thread: io_lanes in flight from this one.
    RETURN_IF_ERROR(RunAsync(n, a.io_lanes, [&](size_t i, AsyncDone done) {
      a.store->get_async(keys[i], ByteRange::Whole(), fetched[i],
                         [&found, i, done = std::move(done)](Result<bool> r) {
                           if (r.ok()) found[i] = *r ? 1 : 0;
                           done(r.status());
                         });
    }));
  } else {
    io.executor->ParallelFor(n, io.grain, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) {
        Result<bool> r = a.store->get_into(keys[i], ByteRange::Whole(), fetched[i]);
        if (!r.ok()) return err.Set(r.status());
        found[i] = *r ? 1 : 0;
      }
    });
  }
  RETURN_IF_ERROR(err.status());
  // Phase 2: decode every chunk, one codec at a time. Stored bytes of an identity chain are the
  // chunks themselves.
  std::vector<Bytes> decoded;
  std::vector<ByteView> views(fetched.begin(), fetched.end());
  if (a.chain->is_identity()) {
    for (size_t i = 0; i < n; ++i) {
      if (found[i] && fetched[i].size() != chunk_bytes) {
        return Status::Corruption("chunk '" + keys[i] + "': holds " +
                                  std::to_string(fetched[i].size()) + " bytes, expected " +
                                  std::to_string(chunk_bytes));
      }
    }
  } else {
    RETURN_IF_ERROR(a.chain->DecodeBatch(views, found, decoded, *a.executor, grain,
                                         [&](size_t i) { return "chunk '" + keys[i] + "'"; }));
    for (size_t i = 0; i < n; ++i) views[i] = ByteView(decoded[i]);
  }
  // Phase 3: scatter every chunk.
  a.executor->ParallelFor(n, grain, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) {
      const ChunkPart& p = parts[i];
      if (!found[i]) {
        FillBox(out.data(), region.shape, p.in_region.data(), p.shape, m.fill_value.bytes.data(),
                esize);
      } else {
        CopyBox(views[i].data(), m.chunk_shape, p.in_chunk.data(), out.data(), region.shape,
                p.in_region.data(), p.shape, esize);
      }
    }
  });
  return Status::OK();
}

Status BatchedWrite(Array::Impl& a, const Region& region, WriteSource src) {
  if (a.shape_chains && a.partial == nullptr) return FusedWrite(a, region, src);
  const ArrayMetadata& m = a.metadata;
  const ChunkSpan span = ChunksTouching(m, region);
  if (span.total == 0) return Status::OK();
  const size_t n = span.total;
  const uint64_t chunk_bytes = a.chain->decoded_spec().num_bytes();
  const size_t esize = m.data_type.size();
  const uint8_t* fill = m.fill_value.bytes.data();
  const size_t grain = ChunkGrain(a, n, chunk_bytes);
  // Phases that only wait on the store run on the I/O threads when the store is latency-bound.
  const Dispatch io = PlanDispatch(a, n, chunk_bytes);
  std::vector<ChunkPart> parts = LocateAll(m, region, span);
  std::vector<std::string> keys(n);
  for (size_t i = 0; i < n; ++i) keys[i] = a.ChunkKey(parts[i].coords.data());
  // Writes to one chunk from concurrent requests stay read-modify-write consistent.
  const std::vector<KeyLocks::Guard> locks = a.chunk_locks.LockAll(keys);
  Errors err;
  if (a.partial != nullptr) {
    // Sharded: the codec merges the touched inner chunks, encodes them in phases (every one
    // through each codec) and patches or rewrites each shard.
    io.executor->ParallelFor(n, io.grain, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) {
        PartialCodecContext ctx = PartialContextFor(a, parts[i].coords.data(), keys[i]);
        ctx.staged = true;
        if (Status s = BindCodecs(a, parts[i]); !s.ok()) return err.Set(s);
        Status s = a.partial->PartialEncode(parts[i].chain->decoded_spec(), ctx,
                                            parts[i].in_chunk.data(), parts[i].shape, src.data,
                                            region.shape, parts[i].in_region.data(), src.scalar);
        if (!s.ok()) return err.Set(s);
      }
    });
    return err.status();
  }
  // A chunk only partly overwritten is a read-modify-write of one version of it, stored only if
  // it is still the version read; chunks whose condition failed (a writer that does not lock
  // changed them) go through the phases again. Whole chunks are stored first, holding no store
  // lock (a store's unconditional write may wait on the key's lock, which must never happen
  // while this thread holds other keys' locks); then the partly written chunks, under the store's
  // locks of their keys (when it has them), taken in sorted order and passed to the writes.
  const StoreCapabilities caps = a.store->capabilities();
  const bool conditional = caps.conditional_writes && caps.generations;
  std::vector<WriteConditions> conds(n);
  std::vector<uint8_t> pending(n, 0);
  std::vector<Bytes> chunks(n);
  std::vector<uint8_t> found(n, 0);
  std::vector<uint8_t> keep(n, 1);
  std::vector<ByteView> views_of(n);  // the values of asynchronous stores, borrowed until done
  auto where = [&](size_t i) { return "chunk '" + keys[i] + "'"; };
  // Runs the phases over the pending chunks until every one is stored.
  auto run = [&]() -> Status {
    for (int attempt = 0;; ++attempt) {
      // Phase 1: fetch the chunks that are only partly overwritten, with their generations.
      io.executor->ParallelFor(n, io.grain, [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) {
          found[i] = 0;
          if (!pending[i] || parts[i].covers_in_bounds) continue;
          Result<ReadResult> r = a.store->get_if(keys[i], ByteRange::Whole(), chunks[i]);
          if (!r.ok()) return err.Set(r.status());
          found[i] = r->found ? 1 : 0;
          if (conditional) conds[i].if_equal = r->generation;
        }
      });
      RETURN_IF_ERROR(err.status());
      // Phase 2: decode the fetched chunks, one codec at a time.
      {
        std::vector<Bytes> fetched;
        fetched.swap(chunks);
        const std::vector<ByteView> views(fetched.begin(), fetched.end());
        RETURN_IF_ERROR(a.chain->DecodeBatch(views, found, chunks, *a.executor, grain, where));
      }
      // Phase 3: merge the new values into every chunk; chunks equal to the fill value are erased.
      a.executor->ParallelFor(n, grain, [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) {
          keep[i] = 0;
          if (!pending[i]) continue;
          keep[i] = 1;
          const ChunkPart& p = parts[i];
          Bytes& chunk = chunks[i];
          if (!found[i]) {
            chunk.resize(chunk_bytes);
            if (!p.covers_chunk) FillElements(chunk.data(), m.chunk_elements(), fill, esize);
          }
          if (src.scalar) {
            FillBox(chunk.data(), m.chunk_shape, p.in_chunk.data(), p.shape, src.data, esize);
          } else {
            CopyBox(src.data, region.shape, p.in_region.data(), chunk.data(), m.chunk_shape,
                    p.in_chunk.data(), p.shape, esize);
          }
          if (!a.options.write_empty_chunks &&
              AllEqualFill(chunk.data(), m.chunk_elements(), fill, m.data_type)) {
            keep[i] = 0;
            Bytes().swap(chunk);
          }
        }
      });
      // Phase 4: encode every kept chunk, one codec at a time (an empty encoding is an erase).
      RETURN_IF_ERROR(a.chain->EncodeBatch(chunks, keep, *a.executor, grain, where));
      // Phase 5: store every chunk.
      std::atomic<size_t> lost{0};
      if (a.async_io) {
        // Unconditional stores are started from this thread and complete on the store's; a
        // conditional one (or one under a held lock) runs here, synchronously.
        RETURN_IF_ERROR(RunAsync(n, a.io_lanes, [&](size_t i, AsyncDone done) {
          if (!pending[i]) return done(Status::OK());
          const bool empty = !keep[i] || chunks[i].empty();
          if (conds[i].if_equal || conds[i].held != nullptr) {
            Result<bool> stored =
                StoreChunk(*a.store, keys[i],
                           empty ? std::nullopt : std::optional<ByteView>(chunks[i]), conds[i]);
            if (stored.ok() && *stored) pending[i] = 0;
            if (stored.ok() && !*stored) lost.fetch_add(1);
            return done(stored.status());
          }
          auto stored = [&pending, i, done = std::move(done)](Status s) {
            if (s.ok()) pending[i] = 0;
            done(std::move(s));
          };
          if (empty) return a.store->erase_async(keys[i], std::move(stored));
          const ByteView* value = &views_of[i];
          views_of[i] = ByteView(chunks[i]);
          a.store->set_async(keys[i], std::span<const ByteView>(value, 1), std::move(stored));
        }));
      } else {
        io.executor->ParallelFor(n, io.grain, [&](size_t b, size_t e) {
          for (size_t i = b; i < e; ++i) {
            if (!pending[i]) continue;
            const bool empty = !keep[i] || chunks[i].empty();
            Result<bool> stored =
                StoreChunk(*a.store, keys[i],
                           empty ? std::nullopt : std::optional<ByteView>(chunks[i]), conds[i]);
            if (!stored.ok()) return err.Set(stored.status());
            if (*stored) {
              pending[i] = 0;
            } else {
              lost.fetch_add(1);
            }
          }
        });
      }
      RETURN_IF_ERROR(err.status());
      if (lost.load() == 0) return Status::OK();
      if (attempt + 1 >= kWriteAttempts) {
        for (size_t i = 0; i < n; ++i) {
          if (pending[i]) return ConflictsExhausted(keys[i]);
        }
      }
      BackoffAfterConflict(attempt);
    }
  };
  std::vector<std::string> rmw_keys;
  for (size_t i = 0; i < n; ++i) {
    if (parts[i].covers_in_bounds) {
      pending[i] = 1;
    } else {
      rmw_keys.push_back(keys[i]);
    }
  }
  if (rmw_keys.size() < n) RETURN_IF_ERROR(run());
  if (rmw_keys.empty()) return Status::OK();
  ASSIGN_OR_RETURN(const StoreLocks store_locks, StoreLocks::Take(*a.store, std::move(rmw_keys)));
  for (size_t i = 0; i < n; ++i) {
    pending[i] = parts[i].covers_in_bounds ? 0 : 1;
    conds[i].held = store_locks.held(keys[i]);
  }
  return run();
}

}  // namespace zarrpp::internal
