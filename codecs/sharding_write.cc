// codecs/sharding_write.cc - writing shards: whole encode, and partial encode as a conditional
// read-modify-write of one version (in-place patch, free-space placement, or a rebuilt shard).
#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <utility>

#include "codecs/sharding_codec.h"
#include "codecs/sharding_internal.h"
#include "src/array/indexing.h"
#include "src/checked_math.h"
#include "src/first_error.h"
#include "src/pipeline/key_locks.h"
#include "src/store_internal.h"
#include "zarrpp/array.h"
#include "zarrpp/executor.h"
#include "zarrpp/store.h"

namespace zarrpp::internal {
namespace {

// New values for a box of one shard.
struct WriteJob {
  const uint64_t* origin;              // of the box in the shard
  const std::vector<uint64_t>* shape;  // of the box
  const uint8_t* src;
  const std::vector<uint64_t>* src_shape;  // unused when scalar
  const uint64_t* src_origin;              // unused when scalar
  bool scalar = false;
  std::vector<uint64_t> in_bounds;  // extent of the shard inside the array
  bool write_empty = false;
};

// True when the box (origin, shape) is the whole shard, so every inner chunk is whole.
bool IsWholeShard(const Layout& L, const uint64_t* origin, const std::vector<uint64_t>& shape) {
  for (size_t d = 0; d < shape.size(); ++d) {
    if (origin[d] != 0 || shape[d] != L.shard.shape[d]) return false;
  }
  return true;
}

// Takes the bytes `enc` into `dst`: by swapping buffers when `enc` is the whole of one of the
// worker's scratch buffers (the usual case: the last codec wrote there), else by a copy. The
// swapped-in buffer keeps its capacity, so after the first shard no encode allocates.
void TakeEncoded(ByteView enc, InnerScratch& s, Bytes& dst) {
  for (Bytes* b : {&s.chain.a, &s.chain.b, &s.chain.c, &s.chunk}) {
    // A buffer the codec sized for its worst case, far above what it wrote, stays with the
    // scratch (warm for the next chunk) and the bytes are copied out: taking it would leave the
    // codec a fresh buffer to allocate and zero-fill for every inner chunk.
    if (!enc.empty() && enc.data() == b->data() && enc.size() == b->size() &&
        b->capacity() <= enc.size() + enc.size() / 4) {
      std::swap(*b, dst);
      return;
    }
  }
  dst.assign(enc.begin(), enc.end());
}

// Merges and encodes the touched inner chunks. old[k] holds chunk touched[k]'s stored bytes
// when it is present and only partly overwritten. result[k] is the new encoded bytes (in
// `encoded[k]`, the scalar memo, or the caller's source buffer when the inner chain is the
// identity) or nullopt when the chunk is now empty. The views live until `encoded`, `memo` or
// the source change.
Status EncodeTouched(const Layout& L, const PartialCodecContext* ctx, Executor* ex,
                     const std::string& key, const WriteJob& job,
                     const std::vector<uint64_t>& touched,
                     const std::vector<std::optional<ByteView>>& old, std::vector<Bytes>& encoded,
                     std::vector<std::optional<ByteView>>& result, Bytes& memo) {
  const size_t r = L.grid.size();
  const size_t esize = L.shard.dtype.size();
  const uint8_t* fill = L.shard.fill_value.bytes.data();
  const uint64_t inner_elems = L.inner_bytes / std::max<size_t>(1, esize);
  if (encoded.size() < touched.size()) encoded.resize(touched.size());
  result.assign(touched.size(), std::nullopt);

  const size_t grain0 = ctx ? InnerGrain(*ctx, ex, touched.size(), L.inner_bytes)
                            : std::max<size_t>(1, touched.size());
  if (ctx != nullptr && ctx->staged) {
    // Merge every touched inner chunk into a buffer of its own, then encode them all, one codec
    // at a time.
    const size_t n = touched.size();
    encoded.resize(n);
    std::vector<uint8_t> keep(n, 1);
    FirstError merr;
    RunParallel(ex, n, grain0, [&](size_t b, size_t e) {
      Lease<InnerScratch> s;
      InnerPart p;
      std::vector<uint64_t> src_pos(r);
      for (size_t k = b; k < e && !merr.failed(); ++k) {
        LocateInner(L, touched[k], job.origin, *job.shape, p);
        Bytes& chunk = encoded[k];
        chunk.resize(L.inner_bytes);
        if (!p.whole) {
          if (old[k]) {
            Status st = L.inner->Decode(*old[k], chunk, s->chain);
            if (!st.ok()) {
              merr.Set(st.WithContext(ShardWhere(key) + ": " + Coords(L, touched[k])));
              continue;
            }
          } else {
            FillElements(chunk.data(), inner_elems, fill, esize);
          }
        }
        if (job.scalar) {
          FillBox(chunk.data(), L.inner_shape, p.in_inner.data(), p.shape, job.src, esize);
        } else {
          for (size_t d = 0; d < r; ++d) src_pos[d] = job.src_origin[d] + (p.lo[d] - job.origin[d]);
          CopyBox(job.src, *job.src_shape, src_pos.data(), chunk.data(), L.inner_shape,
                  p.in_inner.data(), p.shape, esize);
        }
        if (!job.write_empty && AllEqualFill(chunk.data(), inner_elems, fill, L.shard.dtype)) {
          keep[k] = 0;
        }
      }
    });
    RETURN_IF_ERROR(merr.status());
    Executor& run = ex != nullptr ? *ex : *InlineExecutor();
    RETURN_IF_ERROR(L.inner->EncodeBatch(encoded, keep, run, grain0, [&](size_t k) {
      return ShardWhere(key) + ": " + Coords(L, touched[k]);
    }));
    for (size_t k = 0; k < n; ++k) {
      if (keep[k] && !encoded[k].empty()) result[k] = ByteView(encoded[k]);
    }
    return Status::OK();
  }

  // A scalar over whole inner chunks: merge, empty-test and encode once for all of them.
  bool memo_empty = true;
  if (job.scalar) {
    Lease<InnerScratch> s;
    s->chunk.resize(L.inner_bytes);
    FillElements(s->chunk.data(), inner_elems, job.src, esize);
    if (job.write_empty || !AllEqualFill(s->chunk.data(), inner_elems, fill, L.shard.dtype)) {
      ASSIGN_OR_RETURN_CTX(ByteView enc, L.inner->Encode(s->chunk, s->chain),
                           ShardWhere(key) + ": inner chunk");
      memo.assign(enc.begin(), enc.end());
      memo_empty = memo.empty();
    }
    if (IsWholeShard(L, job.origin, *job.shape)) {
      // Every inner chunk is whole: the shard is the memo repeated (W2's scalar write).
      if (!memo_empty) result.assign(touched.size(), ByteView(memo));
      return Status::OK();
    }
  }

  FirstError err;
  const size_t grain = ctx ? InnerGrain(*ctx, ex, touched.size(), L.inner_bytes)
                           : std::max<size_t>(1, touched.size());
  RunParallel(ex, touched.size(), grain, [&](size_t b, size_t e) {
    Lease<InnerScratch> s;
    InnerPart p;
    std::vector<uint64_t> src_pos(r);
    for (size_t k = b; k < e && !err.failed(); ++k) {
      const uint64_t j = touched[k];
      LocateInner(L, j, job.origin, *job.shape, p);
      if (job.scalar && p.whole) {
        if (!memo_empty) result[k] = ByteView(memo);
        continue;
      }
      for (size_t d = 0; d < r; ++d) src_pos[d] = job.src_origin[d] + (p.lo[d] - job.origin[d]);
      ByteView chunk;
      bool from_src = false;
      if (!job.scalar && p.whole && IsContiguousBox(*job.src_shape, src_pos.data(), p.shape)) {
        // The caller's buffer holds the inner chunk in C order: encode straight from it.
        chunk =
            ByteView(job.src + LinearOffset(*job.src_shape, src_pos.data()) * esize, L.inner_bytes);
        from_src = true;
      } else {
        s->chunk.resize(L.inner_bytes);
        if (!p.whole) {
          if (old[k]) {
            Status st = L.inner->Decode(*old[k], s->chunk, s->chain);
            if (!st.ok()) {
              err.Set(st.WithContext(ShardWhere(key) + ": " + Coords(L, j)));
              continue;
            }
          } else {
            FillElements(s->chunk.data(), inner_elems, fill, esize);
          }
        }
        if (job.scalar) {
          FillBox(s->chunk.data(), L.inner_shape, p.in_inner.data(), p.shape, job.src, esize);
        } else {
          CopyBox(job.src, *job.src_shape, src_pos.data(), s->chunk.data(), L.inner_shape,
                  p.in_inner.data(), p.shape, esize);
        }
        chunk = s->chunk;
      }
      if (!job.write_empty && AllEqualFill(chunk.data(), inner_elems, fill, L.shard.dtype)) {
        continue;  // empty
      }
      Result<ByteView> enc = L.inner->Encode(chunk, s->chain);
      if (!enc.ok()) {
        err.Set(enc.status().WithContext(ShardWhere(key) + ": " + Coords(L, j)));
        continue;
      }
      // A nested shard with nothing in it encodes to no bytes: store it as an empty entry.
      if (enc->empty()) continue;
      if (from_src && enc->data() == chunk.data()) {
        result[k] = *enc;  // identity chain: the caller's bytes are the encoded bytes
        continue;
      }
      TakeEncoded(*enc, *s, encoded[k]);
      result[k] = ByteView(encoded[k]);
    }
  });
  return err.status();
}

// Builds a whole shard in `out` with the present chunks in Morton order. Touched chunk k takes
// result[k]; other chunks keep their stored bytes from `old_blob` per `old_index` (either may be
// null/empty for a new shard). `reserve` is the share of data bytes left free for later
// appends. Each chunk is copied once, straight to its place; `out` keeps its capacity between
// shards. Returns false (and leaves `out` empty) when no chunk is present.
Result<bool> Assemble(const Layout& L, const std::string& key, const ShardIndex* old_index,
                      ByteView old_blob, const std::vector<uint64_t>& touched,
                      const std::vector<std::optional<ByteView>>& result, double reserve,
                      Bytes& out, std::vector<uint64_t>* entries_out = nullptr) {
  // The bytes of every inner chunk: result itself when the write touched all of them in C order
  // (a full write), else old bytes overlaid with the touched ones.
  std::vector<std::optional<ByteView>> merged;
  const std::optional<ByteView>* src = result.data();
  if (old_index != nullptr || touched.size() != L.n_inner) {
    merged.assign(L.n_inner, std::nullopt);
    if (old_index != nullptr) {
      for (uint64_t j = 0; j < L.n_inner; ++j) {
        if (!old_index->present(j)) continue;
        if (old_index->offset(j) + old_index->nbytes(j) > old_blob.size()) {
          return Status::Corruption(ShardWhere(key) + ": " + Coords(L, j) + " passes the end");
        }
        merged[j] = old_blob.subspan(old_index->offset(j), old_index->nbytes(j));
      }
    }
    for (size_t k = 0; k < touched.size(); ++k) merged[touched[k]] = result[k];
    src = merged.data();
  }
  uint64_t data = 0;
  bool any = false;
  for (uint64_t j = 0; j < L.n_inner; ++j) {
    if (src[j]) {
      data += src[j]->size();
      any = true;
    }
  }
  if (!any) {
    out.clear();
    return false;
  }
  const uint64_t spare = static_cast<uint64_t>(static_cast<double>(data) * std::max(0.0, reserve));
  const bool start = L.location == ShardingCodec::IndexLocation::kStart;
  out.resize(L.index_size + data + spare);
  std::vector<uint64_t> entries(2 * L.n_inner, kEmpty);
  uint64_t pos = start ? L.index_size : 0;
  for (uint64_t j : L.morton) {
    if (!src[j]) continue;
    const ByteView v = *src[j];
    if (!v.empty()) std::memcpy(out.data() + pos, v.data(), v.size());
    entries[2 * j] = pos;
    entries[2 * j + 1] = v.size();
    pos += v.size();
  }
  if (spare) std::memset(out.data() + pos, 0, spare);
  RETURN_IF_ERROR(
      EncodeIndex(L, entries, out.data() + (start ? 0 : out.size() - L.index_size), key));
  if (entries_out) *entries_out = std::move(entries);
  return true;
}

// The pieces of a whole new shard whose every inner chunk was just encoded (result[j] for inner
// chunk j): the chunks' bytes in Morton order and the encoded index (in `index_bytes`), in
// stored order, adjacent views merged. The shard is the pieces' concatenation; nothing is copied.
// Returns false when no chunk is present.
Result<bool> AssemblePieces(const Layout& L, const std::string& key,
                            const std::vector<std::optional<ByteView>>& result,
                            std::vector<ByteView>& pieces, Bytes& index_bytes,
                            std::vector<uint64_t>& entries) {
  const bool start = L.location == ShardingCodec::IndexLocation::kStart;
  entries.assign(2 * L.n_inner, kEmpty);
  pieces.clear();
  uint64_t pos = start ? L.index_size : 0;
  bool any = false;
  for (uint64_t j : L.morton) {
    if (!result[j]) continue;
    const ByteView v = *result[j];
    entries[2 * j] = pos;
    entries[2 * j + 1] = v.size();
    pos += v.size();
    any = true;
    if (v.empty()) continue;
    if (!pieces.empty() && pieces.back().data() + pieces.back().size() == v.data()) {
      pieces.back() = ByteView(pieces.back().data(), pieces.back().size() + v.size());
    } else {
      pieces.push_back(v);
    }
  }
  if (!any) return false;
  index_bytes.resize(L.index_size);
  RETURN_IF_ERROR(EncodeIndex(L, entries, index_bytes.data(), key));
  if (start) {
    pieces.insert(pieces.begin(), ByteView(index_bytes));
  } else {
    pieces.push_back(ByteView(index_bytes));
  }
  return true;
}

// Unused bytes of a shard of `size` bytes whose live chunks are `entries`.
uint64_t UnusedBytes(const Layout& L, const std::vector<uint64_t>& entries, uint64_t size) {
  uint64_t live = L.index_size;
  for (uint64_t j = 0; j < L.n_inner; ++j) {
    if (entries[2 * j] != kEmpty) live += entries[2 * j + 1];
  }
  return size > live ? size - live : 0;
}

// Stores the shard assembled in `out` at ctx.key (or erases it when no chunk is present) under
// `cond`; false when the condition did not hold. The cached index follows the version written.
Result<bool> StoreShard(const PartialCodecContext& ctx, const Bytes& out, bool any,
                        const std::vector<uint64_t>& entries, const WriteConditions& cond) {
  Store& store = *ctx.store;
  if (ctx.index_cache) ctx.index_cache->Erase(ctx.key);
  if (!any) return store.erase_if(ctx.key, cond);
  const ByteView piece(out);
  ASSIGN_OR_RETURN(std::optional<Generation> written,
                   store.set_if(ctx.key, std::span<const ByteView>(&piece, 1), cond));
  if (!written) return false;
  if (ctx.index_cache) ctx.index_cache->PutWritten(ctx.key, *written, entries);
  return true;
}

using ProduceFn = std::function<Status(const std::vector<std::optional<ByteView>>& old,
                                       std::vector<std::optional<ByteView>>& result)>;

// A read-modify-write of one version of the shard at ctx.key that replaces the inner chunks
// `touched` with what `produce(old, result)` gives: old[k] holds chunk touched[k]'s stored bytes
// when needs_old(touched[k]) and it is present; result[k] is its new encoded bytes or nullopt
// (not stored).
Status ReadModifyWrite(const std::shared_ptr<const Layout>& L, const PartialCodecContext& ctx,
                       const std::vector<uint64_t>& touched,
                       const std::function<bool(uint64_t)>& needs_old, const ProduceFn& produce,
                       ShardScratch* s) {
  using IndexLocation = ShardingCodec::IndexLocation;
  const ShardingOptions& opt = OptionsOf(ctx);
  Store& store = *ctx.store;
  const std::string& key = ctx.key;
  std::vector<std::optional<ByteView>> result;
  auto store_shard = [&](bool any, const std::vector<uint64_t>& entries,
                         const WriteConditions& cond) -> Result<bool> {
    return StoreShard(ctx, s->out, any, entries, cond);
  };
  // Writers that lock hold the key's
  // lock across it, so no two of them read the same version to replace it (and free space is
  // allocated against the index of the current version). The write is conditioned on the
  // generation read, so a writer that does not lock (or a store without locks) costs a retry of
  // the whole read-modify-write instead of a lost update or an index pointing at bytes another
  // writer moved.
  const StoreCapabilities caps = store.capabilities();
  std::unique_ptr<KeyLock> lock;
  if (caps.key_locks) {
    ASSIGN_OR_RETURN(lock, store.lock(key));
  }
  const bool conditional = caps.conditional_writes && caps.generations;
  const bool patchable = caps.set_range;
  const double reserve = patchable ? opt.append_reserve : 0.0;
  // One attempt; false when the version read was replaced before the write (nothing written).
  auto attempt = [&]() -> Result<bool> {
    std::unique_ptr<ValueReader> reader;
    Generation generation = Generation::Absent();
    std::shared_ptr<const ShardIndex> index;
    bool blob_loaded = false;
    std::vector<std::optional<ByteView>> old(touched.size());
    if (patchable) {
      ASSIGN_OR_RETURN(reader, store.open_reader(key));
      if (reader) {
        generation = reader->generation();
        ASSIGN_OR_RETURN(bool readable, ReadIndex(*L, ctx, *reader, true, s->blob, index));
        if (!readable) return false;
        std::vector<std::pair<uint64_t, uint64_t>> wanted;
        std::vector<size_t> slot;
        for (size_t k = 0; k < touched.size(); ++k) {
          const uint64_t j = touched[k];
          if (index->present(j) && needs_old(j)) {
            wanted.emplace_back(index->offset(j), index->nbytes(j));
            slot.push_back(k);
          }
        }
        std::vector<ByteView> views;
        ASSIGN_OR_RETURN(readable, FetchRanges(ctx, *reader, wanted, s->ranges, views));
        if (!readable) return false;
        for (size_t w = 0; w < slot.size(); ++w) old[slot[w]] = views[w];
      }
    } else {
      ASSIGN_OR_RETURN(ReadResult got, store.get_if(key, ByteRange::Whole(), s->blob));
      blob_loaded = got.found;
      generation = got.generation;
      if (blob_loaded) {
        ASSIGN_OR_RETURN(std::shared_ptr<ShardIndex> idx, IndexOfBlob(*L, s->blob, key));
        index = std::move(idx);
        for (size_t k = 0; k < touched.size(); ++k) {
          const uint64_t j = touched[k];
          if (index->present(j) && needs_old(j)) {
            old[k] = ByteView(s->blob).subspan(index->offset(j), index->nbytes(j));
          }
        }
      }
    }
    WriteConditions cond;
    cond.held = lock.get();
    if (conditional) cond.if_equal = generation;

    RETURN_IF_ERROR(produce(old, result));

    if (!index) {
      // No shard yet: the touched chunks are the whole content (created only if still absent).
      std::vector<uint64_t> entries;
      ASSIGN_OR_RETURN(bool any,
                       Assemble(*L, key, nullptr, {}, touched, result, reserve, s->out, &entries));
      return store_shard(any, entries, cond);
    }

    if (patchable) {
      // Patch in place, as one change conditioned on the version read. Fixed-size chunks
      // overwrite the bytes the index of that version records for them; other chunks go into
      // its free space (never over bytes it still uses), and the index is rewritten with them.
      const uint64_t size = reader->size();
      const bool start = L->location == IndexLocation::kStart;
      const uint64_t data_end = start ? size : size - L->index_size;
      // Chunks that fit in no gap extend the data part past its end (over the old index when
      // it is at the end; the new index then follows the data): an append costs the chunk and
      // the index, never a rewrite of the shard.
      uint64_t grow_end = data_end;
      std::vector<uint64_t> entries = index->entries;
      std::vector<RangeWrite> writes;
      bool changed = false;
      bool fits = true;
      std::vector<std::pair<uint64_t, uint64_t>> gaps;  // [lo, hi), computed on first need
      bool gaps_ready = false;
      auto allocate = [&](uint64_t n) -> std::optional<uint64_t> {
        if (!gaps_ready) {
          // Gaps between the stored chunks in offset order (O(n), no sort per write); every
          // stored chunk lies inside the data part (validated against this version's size).
          std::vector<uint64_t> computed;
          if (index->by_offset.empty()) OrderByOffset(*L, index->entries, computed);
          const std::vector<uint64_t>& order =
              index->by_offset.empty() ? computed : index->by_offset;
          uint64_t at = start ? L->index_size : 0;
          for (uint64_t u : order) {
            if (index->offset(u) > at) gaps.emplace_back(at, index->offset(u));
            at = std::max(at, index->offset(u) + index->nbytes(u));
          }
          if (at < data_end) gaps.emplace_back(at, data_end);
          gaps_ready = true;
        }
        for (auto& g : gaps) {
          if (g.second - g.first >= n) {
            const uint64_t at = g.first;
            g.first += n;
            return at;
          }
        }
        // Grow: from the start of the free tail of the data part, if there is one.
        uint64_t at = grow_end;
        if (grow_end == data_end && !gaps.empty() && gaps.back().second == data_end) {
          at = gaps.back().first;
          gaps.back().first = data_end;
        }
        if (n > UINT64_MAX - L->index_size - at) return std::nullopt;
        grow_end = at + n;
        return at;
      };
      for (size_t k = 0; k < touched.size() && fits; ++k) {
        const uint64_t j = touched[k];
        const std::optional<ByteView>& b = result[k];
        if (!b) {
          if (index->present(j)) {
            entries[2 * j] = entries[2 * j + 1] = kEmpty;
            changed = true;
          }
          continue;
        }
        if (L->inner_fixed && index->present(j) && index->nbytes(j) == b->size()) {
          writes.push_back({index->offset(j), *b});
          continue;
        }
        std::optional<uint64_t> at = allocate(b->size());
        if (!at) {
          fits = false;
          break;
        }
        writes.push_back({*at, *b});
        entries[2 * j] = *at;
        entries[2 * j + 1] = b->size();
        changed = true;
      }
      const bool any =
          std::any_of(entries.begin(), entries.end(), [](uint64_t e) { return e != kEmpty; });
      if (fits && !any) {
        if (ctx.index_cache) ctx.index_cache->Erase(key);
        return store.erase_if(key, cond);
      }
      const uint64_t new_size =
          grow_end == data_end ? size : (start ? grow_end : grow_end + L->index_size);
      const uint64_t index_at = start ? 0 : new_size - L->index_size;
      const bool compact = static_cast<double>(UnusedBytes(*L, entries, new_size)) >
                           opt.compaction_threshold * static_cast<double>(new_size);
      if (fits && !compact) {
        if (writes.empty() && !changed) return true;  // nothing stored changes
        // The index goes last: the chunk bytes (which may extend the value) come first, so
        // with the index at the start a crash before its write leaves the old shard intact.
        Bytes enc;
        if (changed) {
          enc.resize(L->index_size);
          RETURN_IF_ERROR(EncodeIndex(*L, entries, enc.data(), key));
          writes.push_back({index_at, enc});
        }
        if (ctx.index_cache) ctx.index_cache->Erase(key);
        ASSIGN_OR_RETURN(std::optional<Generation> written, store.patch_if(key, writes, cond));
        if (!written) return false;
        if (ctx.index_cache) ctx.index_cache->PutWritten(key, *written, std::move(entries));
        return true;
      }
      // Read-modify-write of the whole shard, from the same version.
      ASSIGN_OR_RETURN(bool readable, reader->read(ByteRange::Whole(), s->blob));
      if (!readable) return false;
      ASSIGN_OR_RETURN(std::shared_ptr<ShardIndex> idx, IndexOfBlob(*L, s->blob, key));
      index = std::move(idx);
    }

    // Read-modify-write of the whole shard: untouched chunks keep their encoded bytes.
    std::vector<uint64_t> entries;
    ASSIGN_OR_RETURN(bool any, Assemble(*L, key, index.get(), s->blob, touched, result, reserve,
                                        s->out, &entries));
    return store_shard(any, entries, cond);
  };

  // With the lock held only a writer that does not lock can replace the version read; without
  // locks, concurrent writers of this shard retry until one of them wins each round.
  for (int n = 0; n < internal::kWriteAttempts; ++n) {
    ASSIGN_OR_RETURN(bool done, attempt());
    if (done) return Status::OK();
    internal::BackoffAfterConflict(n);
  }
  return Status::IOError(ShardWhere(key) + ": a partial write found the shard replaced " +
                         std::to_string(internal::kWriteAttempts) +
                         " times between reading and writing it; not written");
}

}  // namespace
}  // namespace zarrpp::internal

namespace zarrpp {

using internal::Assemble;
using internal::AssemblePieces;
using internal::EncodeIndex;
using internal::EncodeTouched;
using internal::FetchRanges;
using internal::IndexOfBlob;
using internal::InnerPart;
using internal::kEmpty;
using internal::Lease;
using internal::LocateInner;
using internal::OptionsOf;
using internal::OrderByOffset;
using internal::ProduceFn;
using internal::ReadIndex;
using internal::ShardScratch;
using internal::ShardWhere;
using internal::StoreShard;
using internal::TouchedChunks;
using internal::UnusedBytes;
using internal::WriteJob;

Status ShardingCodec::Encode(const ChunkSpec& decoded, ByteView array, Bytes& out) const {
  ASSIGN_OR_RETURN(auto L, Prepare(decoded));
  if (array.size() != decoded.num_bytes()) {
    return Status::InvalidArgument("shard has " + std::to_string(array.size()) +
                                   " bytes, expected " + std::to_string(decoded.num_bytes()));
  }
  const std::vector<uint64_t> origin(decoded.shape.size(), 0);
  WriteJob job{origin.data(), &decoded.shape, array.data(), &decoded.shape, origin.data()};
  job.in_bounds = decoded.shape;
  std::vector<uint64_t> touched(L->n_inner);
  for (uint64_t j = 0; j < L->n_inner; ++j) touched[j] = j;
  Lease<ShardScratch> s;
  std::vector<std::optional<ByteView>> result;
  Bytes memo;
  const std::vector<std::optional<ByteView>> old(touched.size());
  RETURN_IF_ERROR(
      EncodeTouched(*L, nullptr, nullptr, "<value>", job, touched, old, s->encoded, result, memo));
  ASSIGN_OR_RETURN(bool any, Assemble(*L, "<value>", nullptr, {}, touched, result, 0.0, out));
  (void)any;  // an empty `out` tells the pipeline to erase the key
  return Status::OK();
}

Status ShardingCodec::PartialEncode(const ChunkSpec& decoded, const PartialCodecContext& ctx,
                                    const uint64_t* chunk_origin,
                                    const std::vector<uint64_t>& box_shape, const uint8_t* src,
                                    const std::vector<uint64_t>& src_shape,
                                    const uint64_t* src_origin, bool scalar) const {
  ASSIGN_OR_RETURN(auto L, Prepare(decoded));
  const std::vector<uint64_t> touched = TouchedChunks(*L, chunk_origin, box_shape);
  if (touched.empty()) return Status::OK();
  Store& store = *ctx.store;
  const std::string& key = ctx.key;
  WriteJob job{chunk_origin, &box_shape, src, &src_shape, src_origin, scalar};
  job.in_bounds = ctx.in_bounds.empty() ? decoded.shape : ctx.in_bounds;
  job.write_empty = ctx.options && ctx.options->write_empty_chunks;
  const size_t r = decoded.shape.size();
  bool full = true;
  for (size_t d = 0; d < r; ++d) {
    if (chunk_origin[d] != 0 || box_shape[d] < std::min(job.in_bounds[d], decoded.shape[d])) {
      full = false;
    }
  }
  Lease<ShardScratch> s;
  std::vector<std::optional<ByteView>> result;
  Bytes memo;
  auto store_shard = [&](bool any, const std::vector<uint64_t>& entries,
                         const WriteConditions& cond) -> Result<bool> {
    return StoreShard(ctx, s->out, any, entries, cond);
  };

  // A write covering every stored element of the shard never reads the old one: it replaces the
  // value unconditionally (whatever another writer stored meanwhile is overwritten as a whole).
  if (full) {
    const std::vector<std::optional<ByteView>> old(touched.size());
    RETURN_IF_ERROR(
        EncodeTouched(*L, &ctx, ctx.executor, key, job, touched, old, s->encoded, result, memo));
    std::vector<uint64_t> entries;
    if (touched.size() == L->n_inner) {
      // Every inner chunk is new: the store takes the encoded chunks and the index as pieces,
      // without assembling the shard in a buffer of its own.
      std::vector<ByteView> pieces;
      Bytes index_bytes;
      ASSIGN_OR_RETURN(bool any, AssemblePieces(*L, key, result, pieces, index_bytes, entries));
      if (!any) return store_shard(false, entries, {}).status();
      if (ctx.index_cache) ctx.index_cache->Erase(key);
      if (ctx.io_bytes != nullptr) *ctx.io_bytes = internal::PiecesSize<ByteView>(pieces);
      ASSIGN_OR_RETURN(std::optional<Generation> written, store.set_if(key, pieces, {}));
      if (ctx.index_cache && written)
        ctx.index_cache->PutWritten(key, *written, std::move(entries));
      return Status::OK();
    }
    ASSIGN_OR_RETURN(bool any,
                     Assemble(*L, key, nullptr, {}, touched, result, 0.0, s->out, &entries));
    return store_shard(any, entries, {}).status();
  }

  // Touched chunks whose old bytes are needed: present and only partly overwritten.
  auto needs_old = [&](uint64_t j) {
    InnerPart p;
    LocateInner(*L, j, chunk_origin, box_shape, p);
    if (p.whole) return false;
    for (size_t d = 0; d < r; ++d) {
      const uint64_t hi = std::min(p.inner_origin[d] + L->inner_shape[d], job.in_bounds[d]);
      if (p.lo[d] != p.inner_origin[d] || p.lo[d] + p.shape[d] != hi) return true;
    }
    return false;
  };

  const ProduceFn produce = [&](const std::vector<std::optional<ByteView>>& old,
                                std::vector<std::optional<ByteView>>& out) {
    return EncodeTouched(*L, &ctx, ctx.executor, key, job, touched, old, s->encoded, out, memo);
  };
  return internal::ReadModifyWrite(L, ctx, touched, needs_old, produce, &*s);
}

Status ShardingCodec::WriteInnerEncoded(const ChunkSpec& decoded, const PartialCodecContext& ctx,
                                        uint64_t j, std::optional<ByteView> encoded) const {
  ASSIGN_OR_RETURN(auto L, Prepare(decoded));
  if (j >= L->n_inner) {
    return Status::InvalidArgument(ShardWhere(ctx.key) + ": inner chunk " + std::to_string(j) +
                                   " is out of range (" + std::to_string(L->n_inner) +
                                   " inner chunks)");
  }
  const std::vector<uint64_t> touched{j};
  Lease<ShardScratch> s;
  const ProduceFn produce = [&](const std::vector<std::optional<ByteView>>& /*old*/,
                                std::vector<std::optional<ByteView>>& out) {
    out.assign(1, encoded);
    return Status::OK();
  };
  return internal::ReadModifyWrite(
      L, ctx, touched, [](uint64_t) { return false; }, produce, &*s);
}

}  // namespace zarrpp
