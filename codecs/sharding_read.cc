// codecs/sharding_read.cc - reading shards: whole decode, and partial decode of one version of a
// shard (its index, the touched inner chunks fetched in merged ranges, retried when replaced).
#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <string>
#include <utility>

#include "codecs/sharding_codec.h"
#include "codecs/sharding_internal.h"
#include "src/array/indexing.h"
#include "src/checked_math.h"
#include "src/first_error.h"
#include "src/pipeline/strided_copy.h"
#include "src/store_internal.h"
#include "zarrpp/array.h"
#include "zarrpp/executor.h"
#include "zarrpp/store.h"

namespace zarrpp::internal {
namespace {

// A blosc inner chunk of at least this many stored bytes whose part is small is read in parts
// (its header and block starts, then the blocks holding the part) instead of whole: below it
// the extra round trips cost more than the bytes they save.
constexpr uint64_t kRangedBloscMinBytes = uint64_t{64} << 10;

// How often a partial read opens the shard again after the version it was reading was replaced,
// before it reads the whole value in one request (atomic by itself).
constexpr int kReadAttempts = 8;

// The decoder of parts of inner chunks for a read with `ctx` (null: a whole-shard decode, which
// verifies every checksum), or null when inner chunks are decoded whole: an inner chain ending in
// crc32c has one only when the handle skips checksums on partial reads.
const SpanDecoder* InnerSpanDecoder(const Layout& L, const PartialCodecContext* ctx) {
  if (L.inner_span_unverified != nullptr && ctx != nullptr && ctx->options != nullptr &&
      !ctx->options->verify_checksum_on_partial_reads) {
    return L.inner_span_unverified.get();
  }
  return L.inner_span.get();
}

// The span of inner chunk part `p` worth reading or decoding with `d` instead of the whole inner
// chunk (at most half of it), if any.
std::optional<SpanDecoder::Span> InnerSpan(const SpanDecoder* d, const InnerPart& p) {
  if (d == nullptr || p.whole) return std::nullopt;
  const SpanDecoder::Span span = d->SpanOf(p.in_inner.data(), p.shape);
  if (span.end - span.begin > d->span_space() / 2) return std::nullopt;
  return span;
}

// Decodes the touched inner chunks into the caller's box. bytes[k] is chunk touched[k]'s stored
// bytes, or absent for an empty entry; when spanned[k] (spanned may be null: none), only the
// span InnerSpan() names of them.
Status DecodeInto(const Layout& L, const PartialCodecContext* ctx, Executor* ex,
                  const std::string& key, const std::vector<uint64_t>& touched,
                  const std::vector<std::optional<ByteView>>& bytes, const uint64_t* chunk_origin,
                  const std::vector<uint64_t>& box_shape, uint8_t* out,
                  const std::vector<uint64_t>& out_shape, const uint64_t* out_origin,
                  const std::vector<uint8_t>* spanned = nullptr) {
  const size_t r = L.grid.size();
  const size_t esize = L.shard.dtype.size();
  const uint8_t* fill = L.shard.fill_value.bytes.data();
  const SpanDecoder* span_decoder = InnerSpanDecoder(L, ctx);
  const uint64_t* strides = ctx != nullptr ? ctx->out_strides : nullptr;
  std::vector<uint64_t> inner_strides(r);  // bytes, C order of an inner chunk
  for (size_t d = r, n = esize; d-- > 0;) {
    inner_strides[d] = n;
    n *= L.inner_shape[d];
  }
  // The part `p` of an inner chunk (C order at `inner`) or the fill value into `out` at `pos`.
  auto put = [&](const uint8_t* inner, const InnerPart& p, const uint64_t* pos) {
    if (strides == nullptr) {
      return CopyBox(inner, L.inner_shape, p.in_inner.data(), out, out_shape, pos, p.shape, esize);
    }
    uint8_t* to = out;
    for (size_t d = 0; d < r; ++d) {
      inner += p.in_inner[d] * inner_strides[d];
      to += pos[d] * strides[d];
    }
    CopyStridedBox(inner, inner_strides.data(), to, strides, p.shape.data(), r, esize);
  };
  auto fill_part = [&](const InnerPart& p, const uint64_t* pos) {
    if (strides == nullptr) return FillBox(out, out_shape, pos, p.shape, fill, esize);
    uint8_t* to = out;
    for (size_t d = 0; d < r; ++d) to += pos[d] * strides[d];
    FillStridedBox(to, strides, p.shape.data(), r, fill, esize);
  };
  FirstError err;
  const size_t grain = ctx ? InnerGrain(*ctx, ex, touched.size(), L.inner_bytes)
                           : std::max<size_t>(1, touched.size());
  if (ctx != nullptr && ctx->staged) {
    // Decode every touched inner chunk, one codec at a time, then scatter them all.
    const size_t n = touched.size();
    std::vector<ByteView> views(n);
    std::vector<uint8_t> present(n, 0);
    for (size_t k = 0; k < n; ++k) {
      if (bytes[k]) {
        views[k] = *bytes[k];
        present[k] = 1;
      }
    }
    std::vector<Bytes> decoded;
    if (L.inner->is_identity()) {
      for (size_t k = 0; k < n; ++k) {
        if (present[k] && views[k].size() != L.inner_bytes) {
          return Status::Corruption(ShardWhere(key) + ": " + Coords(L, touched[k]) + " holds " +
                                    std::to_string(views[k].size()) + " bytes, expected " +
                                    std::to_string(L.inner_bytes));
        }
      }
    } else {
      Executor& run = ex != nullptr ? *ex : *InlineExecutor();
      RETURN_IF_ERROR(L.inner->DecodeBatch(views, present, decoded, run, grain, [&](size_t k) {
        return ShardWhere(key) + ": " + Coords(L, touched[k]);
      }));
      for (size_t k = 0; k < n; ++k) views[k] = ByteView(decoded[k]);
    }
    RunParallel(ex, n, grain, [&](size_t b, size_t e) {
      InnerPart p;
      std::vector<uint64_t> pos(r);
      for (size_t k = b; k < e; ++k) {
        LocateInner(L, touched[k], chunk_origin, box_shape, p);
        for (size_t d = 0; d < r; ++d) pos[d] = out_origin[d] + (p.lo[d] - chunk_origin[d]);
        if (!present[k]) {
          fill_part(p, pos.data());
        } else {
          put(views[k].data(), p, pos.data());
        }
      }
    });
    return Status::OK();
  }
  RunParallel(ex, touched.size(), grain, [&](size_t b, size_t e) {
    Lease<InnerScratch> s;
    InnerPart p;
    std::vector<uint64_t> pos(r);
    for (size_t k = b; k < e && !err.failed(); ++k) {
      const uint64_t j = touched[k];
      LocateInner(L, j, chunk_origin, box_shape, p);
      for (size_t d = 0; d < r; ++d) pos[d] = out_origin[d] + (p.lo[d] - chunk_origin[d]);
      if (!bytes[k]) {
        fill_part(p, pos.data());
        continue;
      }
      if (spanned != nullptr && (*spanned)[k]) {
        Status st = span_decoder->DecodeBox(p.shape, *bytes[k], out, out_shape, pos.data(),
                                            s->chunk, s->chain.a);
        if (!st.ok()) err.Set(st.WithContext(ShardWhere(key) + ": " + Coords(L, j)));
        continue;
      }
      if (span_decoder != nullptr && span_decoder->compressed() && strides == nullptr) {
        // Only the blosc blocks holding the part are decompressed.
        if (const std::optional<SpanDecoder::Span> span = InnerSpan(span_decoder, p)) {
          s->chain.b.resize(span->end - span->begin);
          Status st = span_decoder->SpanFromValue(*bytes[k], *span, s->chain.b.data(), s->chain.c);
          if (st.ok()) {
            st = span_decoder->DecodeBox(p.shape, s->chain.b, out, out_shape, pos.data(), s->chunk,
                                         s->chain.a);
          }
          if (!st.ok()) err.Set(st.WithContext(ShardWhere(key) + ": " + Coords(L, j)));
          continue;
        }
      }
      if (L.inner->is_identity()) {
        // Stored bytes are the inner chunk itself: copy the part straight from them.
        if (bytes[k]->size() != L.inner_bytes) {
          err.Set(Status::Corruption(ShardWhere(key) + ": " + Coords(L, j) + " holds " +
                                     std::to_string(bytes[k]->size()) + " bytes, expected " +
                                     std::to_string(L.inner_bytes)));
          continue;
        }
        put(bytes[k]->data(), p, pos.data());
        continue;
      }
      if (strides == nullptr && p.whole && IsContiguousBox(out_shape, pos.data(), p.shape)) {
        MutableByteView dst(out + LinearOffset(out_shape, pos.data()) * esize, L.inner_bytes);
        Status st = L.inner->Decode(*bytes[k], dst, s->chain);
        if (!st.ok()) err.Set(st.WithContext(ShardWhere(key) + ": " + Coords(L, j)));
        continue;
      }
      s->chunk.resize(L.inner_bytes);
      Status st = L.inner->Decode(*bytes[k], s->chunk, s->chain);
      if (!st.ok()) {
        err.Set(st.WithContext(ShardWhere(key) + ": " + Coords(L, j)));
        continue;
      }
      put(s->chunk.data(), p, pos.data());
    }
  });
  return err.status();
}

}  // namespace

Result<bool> FetchRanges(const PartialCodecContext& ctx, ValueReader& reader,
                         const std::vector<std::pair<uint64_t, uint64_t>>& wanted,
                         std::vector<Bytes>& buffers, std::vector<ByteView>& views) {
  const ShardingOptions& opt = OptionsOf(ctx);
  std::vector<size_t> order(wanted.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return wanted[a].first < wanted[b].first; });
  struct Merged {
    uint64_t lo, hi;
    std::vector<size_t> members;
  };
  std::vector<Merged> merged;
  for (size_t k : order) {
    const uint64_t lo = wanted[k].first, hi = lo + wanted[k].second;
    if (!merged.empty()) {
      Merged& m = merged.back();
      const uint64_t new_hi = std::max(m.hi, hi);
      if (lo <= m.hi + opt.coalesce_max_gap_bytes && new_hi - m.lo <= opt.coalesce_max_bytes) {
        m.hi = new_hi;
        m.members.push_back(k);
        continue;
      }
    }
    merged.push_back({lo, hi, {k}});
  }
  if (buffers.size() < merged.size()) buffers.resize(merged.size());
  views.assign(wanted.size(), ByteView());
  FirstError err;
  std::atomic<bool> gone{false};
  auto check = [&](size_t m, Result<bool> readable) {
    if (!readable.ok()) {
      if (readable.status().IsInvalidArgument()) {
        err.Set(Status::Corruption(ShardWhere(ctx.key) + ": index points at bytes [" +
                                   std::to_string(merged[m].lo) + ", " +
                                   std::to_string(merged[m].hi) + ") past the shard's end (" +
                                   readable.status().message() + ")"));
      } else {
        err.Set(readable.status());
      }
      return;
    }
    if (!*readable) {
      gone = true;
      return;
    }
    if (buffers[m].size() != merged[m].hi - merged[m].lo) {
      err.Set(Status::Corruption(ShardWhere(ctx.key) + ": range read returned " +
                                 std::to_string(buffers[m].size()) + " bytes, expected " +
                                 std::to_string(merged[m].hi - merged[m].lo)));
    }
  };
  const Generation& generation = reader.generation();
  if (merged.size() > 1 && generation.present() && ctx.store->capabilities().io_concurrency > 0) {
    RunParallel(ctx.executor, merged.size(), 1, [&](size_t b, size_t e) {
      for (size_t m = b; m < e && !err.failed() && !gone; ++m) {
        Result<ReadResult> r = ctx.store->get_if(
            ctx.key, ByteRange::Bounded(merged[m].lo, merged[m].hi), buffers[m], &generation);
        if (!r.ok()) {
          check(m, r.status());
        } else {
          check(m, r->found && r->condition_met);
        }
      }
    });
  } else {
    for (size_t m = 0; m < merged.size() && !err.failed() && !gone; ++m) {
      check(m, reader.read(ByteRange::Bounded(merged[m].lo, merged[m].hi), buffers[m]));
    }
  }
  RETURN_IF_ERROR(err.status());
  if (gone) return false;
  for (size_t m = 0; m < merged.size(); ++m) {
    for (size_t k : merged[m].members) {
      views[k] = ByteView(buffers[m]).subspan(wanted[k].first - merged[m].lo, wanted[k].second);
    }
  }
  return true;
}

}  // namespace zarrpp::internal

namespace zarrpp {

using internal::DecodeInto;
using internal::FetchRanges;
using internal::FillBox;
using internal::FillElements;
using internal::FillStridedBox;
using internal::IndexOfBlob;
using internal::InnerPart;
using internal::InnerSpan;
using internal::InnerSpanDecoder;
using internal::kRangedBloscMinBytes;
using internal::kReadAttempts;
using internal::Lease;
using internal::LocateInner;
using internal::OptionsOf;
using internal::ReadIndex;
using internal::ShardScratch;
using internal::TouchedChunks;

Status ShardingCodec::Decode(const ChunkSpec& decoded, ByteView encoded,
                             MutableByteView array) const {
  ASSIGN_OR_RETURN(auto L, Prepare(decoded));
  if (array.size() != decoded.num_bytes()) {
    return Status::InvalidArgument("shard buffer has " + std::to_string(array.size()) +
                                   " bytes, expected " + std::to_string(decoded.num_bytes()));
  }
  const size_t esize = decoded.dtype.size();
  if (encoded.empty()) {
    // What Encode produces when nothing is stored; only seen under an outer bytes->bytes codec.
    FillElements(array.data(), decoded.num_elements(), decoded.fill_value.bytes.data(), esize);
    return Status::OK();
  }
  ASSIGN_OR_RETURN(std::shared_ptr<ShardIndex> index, IndexOfBlob(*L, encoded, "<value>"));
  std::vector<uint64_t> touched(L->n_inner);
  std::vector<std::optional<ByteView>> bytes(L->n_inner);
  for (uint64_t j = 0; j < L->n_inner; ++j) {
    touched[j] = j;
    if (index->present(j)) bytes[j] = encoded.subspan(index->offset(j), index->nbytes(j));
  }
  const std::vector<uint64_t> origin(decoded.shape.size(), 0);
  return DecodeInto(*L, nullptr, nullptr, "<value>", touched, bytes, origin.data(), decoded.shape,
                    array.data(), decoded.shape, origin.data());
}

Status ShardingCodec::PartialDecode(const ChunkSpec& decoded, const PartialCodecContext& ctx,
                                    const uint64_t* chunk_origin,
                                    const std::vector<uint64_t>& box_shape, uint8_t* out,
                                    const std::vector<uint64_t>& out_shape,
                                    const uint64_t* out_origin) const {
  ASSIGN_OR_RETURN(auto L, Prepare(decoded));
  const std::vector<uint64_t> touched = TouchedChunks(*L, chunk_origin, box_shape);
  if (touched.empty()) return Status::OK();
  const ShardingOptions& opt = OptionsOf(ctx);
  const size_t esize = decoded.dtype.size();
  auto fill_box = [&] {
    if (ctx.out_strides != nullptr) {
      uint8_t* to = out;
      for (size_t d = 0; d < box_shape.size(); ++d) to += out_origin[d] * ctx.out_strides[d];
      FillStridedBox(to, ctx.out_strides, box_shape.data(), box_shape.size(),
                     decoded.fill_value.bytes.data(), esize);
      return Status::OK();
    }
    FillBox(out, out_shape, out_origin, box_shape, decoded.fill_value.bytes.data(), esize);
    return Status::OK();
  };
  Lease<ShardScratch> s;
  std::vector<std::optional<ByteView>> bytes(touched.size());
  std::vector<uint8_t> spanned;  // per touched chunk: only a span of it was fetched
  auto decode = [&] {
    return DecodeInto(*L, &ctx, ctx.executor, ctx.key, touched, bytes, chunk_origin, box_shape, out,
                      out_shape, out_origin, spanned.empty() ? nullptr : &spanned);
  };
  const StoreCapabilities caps = ctx.store->capabilities();
  // One read of the whole value: one version by itself (ReadWhole: from a store with
  // memory_readers, the store's own bytes, held by `pinned` until the inner chunks are decoded).
  auto read_whole = [&]() -> Status {
    spanned.clear();  // every inner chunk is fetched whole
    // The generation is needed only to cache the index.
    ByteView blob;
    std::unique_ptr<ValueReader> pinned;
    ASSIGN_OR_RETURN(const ReadResult r,
                     internal::ReadWhole(*ctx.store, ctx.key, ctx.index_cache != nullptr, pinned,
                                         s->blob, blob));
    if (!r.found) return fill_box();
    if (ctx.io_bytes != nullptr) *ctx.io_bytes = blob.size();
    ASSIGN_OR_RETURN(std::shared_ptr<ShardIndex> index, IndexOfBlob(*L, blob, ctx.key));
    for (size_t k = 0; k < touched.size(); ++k) {
      const uint64_t j = touched[k];
      if (index->present(j)) bytes[k] = blob.subspan(index->offset(j), index->nbytes(j));
    }
    if (ctx.index_cache) ctx.index_cache->Put(ctx.key, r.generation, std::move(index));
    return decode();
  };
  // Without generations a store cannot tie the index to the chunks it points at: one read.
  if (!caps.partial_reads || !caps.generations ||
      static_cast<double>(touched.size()) >=
          opt.whole_shard_read_fraction * static_cast<double>(L->n_inner)) {
    return read_whole();
  }
  // The index and the inner chunks come from one version of the shard; a version replaced
  // part-way (a whole-shard write, a compaction, an in-place patch) is opened again.
  for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
    ASSIGN_OR_RETURN(std::unique_ptr<ValueReader> reader, ctx.store->open_reader(ctx.key));
    if (!reader) return fill_box();
    std::shared_ptr<const ShardIndex> index;
    ASSIGN_OR_RETURN(bool readable, ReadIndex(*L, ctx, *reader, true, s->blob, index));
    if (!readable) continue;
    // A cached index was validated against the size of the version it came from, which is this.
    std::vector<std::pair<uint64_t, uint64_t>> wanted;
    std::vector<size_t> slot;
    // An uncompressed inner chunk of the right size whose part is small: only the span holding
    // the part is fetched (one of the wrong size is fetched whole, and is Corruption). With
    // crc32c last in the inner chain, only when the handle skips checksums on partial reads.
    const SpanDecoder* span_decoder = InnerSpanDecoder(*L, &ctx);
    const bool spans = span_decoder != nullptr && !span_decoder->compressed() && !ctx.staged &&
                       ctx.out_strides == nullptr;
    // A large blosc inner chunk whose part is small: only its header, block starts and the
    // blocks holding the part, read through the same reader (so from the same version).
    const bool ranged_blosc = span_decoder != nullptr && span_decoder->compressed() &&
                              !ctx.staged && ctx.out_strides == nullptr;
    spanned.assign(spans || ranged_blosc ? touched.size() : 0, 0);
    std::vector<Bytes> blosc_spans;
    Bytes fetched, scratch;
    bool gone = false;
    InnerPart part;
    for (size_t k = 0; k < touched.size() && !gone; ++k) {
      const uint64_t j = touched[k];
      bytes[k].reset();
      if (!index->present(j)) continue;
      if (ranged_blosc && index->nbytes(j) >= kRangedBloscMinBytes) {
        LocateInner(*L, j, chunk_origin, box_shape, part);
        if (const std::optional<SpanDecoder::Span> span = InnerSpan(span_decoder, part)) {
          const uint64_t at = index->offset(j);
          auto read = [&](uint64_t offset, MutableByteView dest) -> Result<bool> {
            ASSIGN_OR_RETURN(
                bool current,
                reader->read(ByteRange::Bounded(at + offset, at + offset + dest.size()), fetched));
            if (!current) return false;
            if (fetched.size() != dest.size()) {
              return Status::Corruption("read " + std::to_string(fetched.size()) + " bytes at " +
                                        std::to_string(offset) + ", asked for " +
                                        std::to_string(dest.size()));
            }
            std::memcpy(dest.data(), fetched.data(), dest.size());
            return true;
          };
          blosc_spans.resize(touched.size());
          blosc_spans[k].resize(span->end - span->begin);
          Result<bool> current = span_decoder->SpanFromReader(index->nbytes(j), read, *span,
                                                              blosc_spans[k].data(), scratch);
          if (!current.ok()) {
            return current.status().WithContext(internal::ShardWhere(ctx.key) + ": " +
                                                internal::Coords(*L, j));
          }
          if (!*current) {
            gone = true;
            continue;
          }
          bytes[k] = ByteView(blosc_spans[k]);
          spanned[k] = 1;
          continue;
        }
      }
      slot.push_back(k);
      if (spans && index->nbytes(j) == span_decoder->value_size()) {
        LocateInner(*L, j, chunk_origin, box_shape, part);
        if (const std::optional<SpanDecoder::Span> span = InnerSpan(span_decoder, part)) {
          wanted.emplace_back(index->offset(j) + span->begin, span->end - span->begin);
          spanned[k] = 1;
          continue;
        }
      }
      wanted.emplace_back(index->offset(j), index->nbytes(j));
    }
    if (gone) continue;
    std::vector<ByteView> views;
    ASSIGN_OR_RETURN(readable, FetchRanges(ctx, *reader, wanted, s->ranges, views));
    if (!readable) continue;
    for (size_t w = 0; w < slot.size(); ++w) bytes[slot[w]] = views[w];
    return decode();
  }
  return read_whole();
}

namespace {

// The shard at ctx.key, or the part of one version of it `pick` asks for once its index is known.
// `pick(index, reader)` reads what it needs through `reader` (null: from `blob`, the whole value
// held in memory) and returns false when the version was replaced meanwhile.
template <typename Pick>
Result<bool> WithIndex(const ShardingCodec::Layout& L, const PartialCodecContext& ctx, Bytes& blob,
                       Pick&& pick) {
  const StoreCapabilities caps = ctx.store->capabilities();
  if (caps.partial_reads) {
    for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
      ASSIGN_OR_RETURN(std::unique_ptr<ValueReader> reader, ctx.store->open_reader(ctx.key));
      if (!reader) return false;
      std::shared_ptr<const ShardIndex> index;
      ASSIGN_OR_RETURN(bool readable, ReadIndex(L, ctx, *reader, true, blob, index));
      if (!readable) continue;
      ASSIGN_OR_RETURN(readable, pick(*index, reader.get()));
      if (readable) return true;
    }
  }
  ASSIGN_OR_RETURN(bool found, ctx.store->get_into(ctx.key, ByteRange::Whole(), blob));
  if (!found) return false;
  ASSIGN_OR_RETURN(std::shared_ptr<ShardIndex> index, IndexOfBlob(L, blob, ctx.key));
  ASSIGN_OR_RETURN(bool done, pick(*index, nullptr));
  (void)done;  // a value in memory is never replaced
  return true;
}

Status CheckInnerIndex(const ShardingCodec::Layout& L, const std::string& key, uint64_t j) {
  if (j < L.n_inner) return Status::OK();
  return Status::InvalidArgument(internal::ShardWhere(key) + ": inner chunk " + std::to_string(j) +
                                 " is out of range (" + std::to_string(L.n_inner) +
                                 " inner chunks)");
}

}  // namespace

Result<std::shared_ptr<const ShardIndex>> ShardingCodec::ReadShardIndex(
    const ChunkSpec& decoded, const PartialCodecContext& ctx) const {
  ASSIGN_OR_RETURN(auto L, Prepare(decoded));
  Bytes blob;
  std::shared_ptr<const ShardIndex> out;
  ASSIGN_OR_RETURN(
      bool found,
      WithIndex(*L, ctx, blob, [&](const ShardIndex& index, ValueReader*) -> Result<bool> {
        out = std::make_shared<ShardIndex>(index);
        return true;
      }));
  if (!found) return std::shared_ptr<const ShardIndex>();
  return out;
}

Result<std::optional<Bytes>> ShardingCodec::ReadInnerEncoded(const ChunkSpec& decoded,
                                                             const PartialCodecContext& ctx,
                                                             uint64_t j) const {
  ASSIGN_OR_RETURN(auto L, Prepare(decoded));
  RETURN_IF_ERROR(CheckInnerIndex(*L, ctx.key, j));
  Bytes blob;
  std::optional<Bytes> out;
  ASSIGN_OR_RETURN(
      bool found,
      WithIndex(*L, ctx, blob, [&](const ShardIndex& index, ValueReader* reader) -> Result<bool> {
        out.reset();
        if (!index.present(j)) return true;
        const uint64_t off = index.offset(j), n = index.nbytes(j);
        if (reader == nullptr) {
          out = Bytes(blob.begin() + static_cast<ptrdiff_t>(off),
                      blob.begin() + static_cast<ptrdiff_t>(off + n));
          return true;
        }
        Bytes bytes;
        if (n > 0) {
          ASSIGN_OR_RETURN(bool readable, reader->read(ByteRange::Bounded(off, off + n), bytes));
          if (!readable) return false;
          if (bytes.size() != n) {
            return Status::Corruption(internal::ShardWhere(ctx.key) + ": " +
                                      internal::Coords(*L, j) + " is cut short");
          }
        }
        out = std::move(bytes);
        return true;
      }));
  if (!found) return std::optional<Bytes>();
  return out;
}

}  // namespace zarrpp
