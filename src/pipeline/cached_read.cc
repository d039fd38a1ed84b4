// src/pipeline/cached_read.cc - reads of a handle with a ChunkCache (zarrpp/chunk_cache.h): each
// unit (chunk, or inner chunk when sharded) the region touches is copied out of the cache; units
// not cached are fetched, decoded whole, kept and copied. On a rectilinear grid the units of an
// unsharded array are its chunks, each of its own shape; inner chunks are one shape on either
// grid, since every shard edge is a multiple of the inner one.
#include <charconv>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "src/array/array_impl.h"
#include "src/array/indexing.h"
#include "src/first_error.h"
#include "src/pipeline/chunk_cache.h"
#include "src/pipeline/chunk_cache_core.h"
#include "src/pipeline/pipeline.h"
#include "src/pipeline/shape_chains.h"
#include "src/pipeline/strided_copy.h"

namespace zarrpp::internal {
namespace {

// Where one unit lies in the store and which box of the region it holds.
struct UnitPlace {
  std::vector<uint64_t> shard;             // grid position of the stored chunk holding the unit
  std::vector<uint64_t> in_shard;          // sharded: origin of the unit inside its shard
  uint64_t part = ChunkCacheCore::kWhole;  // sharded: C-order index of the unit in its shard
  std::vector<uint64_t> in_unit;           // origin of the box inside the unit
  std::vector<uint64_t> in_region;         // origin of the box inside the region
  std::vector<uint64_t> shape;             // shape of the box
  std::string key;
  const std::vector<uint64_t>* unit = nullptr;  // shape of the unit: a.cache_unit, or `edges`
  std::vector<uint64_t> edges;                  // an unsharded rectilinear chunk's shape
};

// The units of an unsharded array on a rectilinear grid are its chunks, each of its own shape.
bool ChunkUnits(const Array::Impl& a) {
  return a.metadata.rectilinear && a.partial == nullptr;
}

void Place(const Array::Impl& a, const Region& region, const uint64_t* u, UnitPlace& p) {
  const ArrayMetadata& m = a.metadata;
  const size_t r = m.rank();
  const std::vector<uint64_t>& unit = a.cache_unit;
  p.shard.resize(r);
  p.in_unit.resize(r);
  p.in_region.resize(r);
  p.shape.resize(r);
  const bool sharded = a.partial != nullptr;
  if (sharded) p.in_shard.resize(r);
  p.part = sharded ? 0 : ChunkCacheCore::kWhole;
  const ChunkGrid* grid = m.rectilinear ? &*m.rectilinear : nullptr;
  p.unit = &unit;
  if (grid != nullptr && !sharded) {
    p.edges.resize(r);
    p.unit = &p.edges;
  }
  for (size_t d = 0; d < r; ++d) {
    uint64_t lo = 0;
    uint64_t len = unit[d];
    if (grid != nullptr && !sharded) {
      lo = grid->Origin(d, u[d]);
      len = p.edges[d] = grid->Length(d, u[d]);
    } else {
      lo = u[d] * unit[d];
    }
    const uint64_t begin = std::max(lo, region.origin[d]);
    const uint64_t end = std::min(lo + len, region.origin[d] + region.shape[d]);
    p.in_unit[d] = begin - lo;
    p.in_region[d] = begin - region.origin[d];
    p.shape[d] = end - begin;
    if (sharded && grid != nullptr) {
      p.shard[d] = grid->Index(d, lo);
      const uint64_t in = lo - grid->Origin(d, p.shard[d]);
      p.in_shard[d] = in;
      p.part = p.part * (grid->Length(d, p.shard[d]) / unit[d]) + in / unit[d];
    } else if (sharded) {
      const uint64_t per = m.chunk_shape[d] / unit[d];
      p.shard[d] = u[d] / per;
      p.in_shard[d] = (u[d] % per) * unit[d];
      p.part = p.part * per + u[d] % per;
    } else {
      p.shard[d] = u[d];
    }
  }
  // The key as Array::Impl::ChunkKey spells it (ChunkKeyEncoding::EncodeKey after the prefix),
  // written into the reused string so that a read served from the cache allocates nothing.
  const ChunkKeyEncoding& enc = m.chunk_key_encoding;
  const bool v2 = enc.kind == ChunkKeyEncoding::Kind::kV2;
  p.key.assign(a.prefix);
  if (r == 0) {
    p.key += v2 ? '0' : 'c';
    return;
  }
  if (!v2) p.key += 'c';
  char digits[24];
  for (size_t d = 0; d < r; ++d) {
    if (!v2 || d > 0) p.key += enc.separator;
    const char* end = std::to_chars(digits, digits + sizeof(digits), p.shard[d]).ptr;
    p.key.append(digits, static_cast<size_t>(end - digits));
  }
}

// The box of `p` from the unit (`data`, C order; null: the fill value) into a strided destination:
// `out` is the region's origin, `strides` its byte strides.
void CopyOutStrided(const Array::Impl& a, const Bytes* data, const UnitPlace& p, uint8_t* out,
                    const uint64_t* strides) {
  const ArrayMetadata& m = a.metadata;
  const size_t esize = m.data_type.size();
  const size_t r = m.rank();
  for (size_t d = 0; d < r; ++d) out += p.in_region[d] * strides[d];
  if (data == nullptr) {
    FillStridedBox(out, strides, p.shape.data(), r, m.fill_value.bytes.data(), esize);
    return;
  }
  thread_local std::vector<uint64_t> ss;  // C-order byte strides of the unit
  ss.resize(r);
  const uint8_t* src = data->data();
  for (size_t d = r, n = esize; d-- > 0;) {
    ss[d] = n;
    src += p.in_unit[d] * n;
    n *= a.cache_unit[d];
  }
  CopyStridedBox(src, ss.data(), out, strides, p.shape.data(), r, esize);
}

void CopyOut(const Array::Impl& a, const Bytes* data, const UnitPlace& p, const Region& region,
             MutableByteView out, const uint64_t* strides = nullptr) {
  if (strides != nullptr) return CopyOutStrided(a, data, p, out.data(), strides);
  const ArrayMetadata& m = a.metadata;
  const size_t esize = m.data_type.size();
  if (data == nullptr) {
    FillBox(out.data(), region.shape, p.in_region.data(), p.shape, m.fill_value.bytes.data(),
            esize);
    return;
  }
  // A box that is one run along the last dimension (a point, a part of a row) is one memcpy.
  const size_t r = m.rank();
  bool one_run = true;
  for (size_t d = 0; d + 1 < r; ++d) one_run = one_run && p.shape[d] == 1;
  if (one_run) {
    uint64_t src = 0, dst = 0;
    for (size_t d = 0; d < r; ++d) {
      src = src * (*p.unit)[d] + p.in_unit[d];
      dst = dst * region.shape[d] + p.in_region[d];
    }
    std::memcpy(out.data() + dst * esize, data->data() + src * esize,
                (r == 0 ? 1 : p.shape[r - 1]) * esize);
    return;
  }
  CopyBox(data->data(), *p.unit, p.in_unit.data(), out.data(), region.shape, p.in_region.data(),
          p.shape, esize);
}

// Whether the cached value (of `generation`) may be served: always, unless the cache
// revalidates; then only when the store still holds that generation (the entries of the key
// that are not of it go).
Result<bool> Fresh(Array::Impl& a, const UnitPlace& p, const Generation& generation) {
  ASSIGN_OR_RETURN(Generation now, a.store->generation(p.key));
  if (now == generation) return true;
  a.chunk_cache->DropStale(a.cache_store_id, p.key, now);
  return false;
}

// Reads, decodes and keeps the unit at `p`, and copies its box out.
Status FetchUnit(Array::Impl& a, const UnitPlace& p, const Region& region, MutableByteView out,
                 const uint64_t* strides) {
  ChunkCacheCore& cache = *a.chunk_cache;
  const uint64_t ticket = cache.Ticket(a.cache_store_id, p.key);
  CachedValue v;
  // The chain of the stored chunk holding the unit: the handle's, or on a rectilinear grid the
  // one for that chunk's shape.
  std::shared_ptr<const ShapeCodecs> codecs;
  if (a.shape_chains) {
    ASSIGN_OR_RETURN(codecs,
                     a.shape_chains->For(a.partial == nullptr
                                             ? p.edges
                                             : a.metadata.rectilinear->ChunkShape(p.shard.data())));
  }
  const PreparedChain& chain = codecs ? *codecs->chain : *a.chain;
  if (a.partial == nullptr) {
    ScratchPool::Lease s;
    ASSIGN_OR_RETURN(ReadResult rr, a.store->get_if(p.key, ByteRange::Whole(), s->fetched));
    v.generation = rr.generation;
    if (rr.found) {
      auto decoded = std::make_shared<Bytes>(chain.decoded_spec().num_bytes());
      RETURN_IF_ERROR_CTX(chain.Decode(s->fetched, *decoded, s->chain), "chunk '" + p.key + "'");
      v.data = std::move(decoded);
    }
  } else {
    // The generation is read before the shard: the entry names a version no newer than the one
    // it holds, so a revalidation can drop it needlessly but never keep it wrongly.
    if (a.store->capabilities().generations) {
      ASSIGN_OR_RETURN(v.generation, a.store->generation(p.key));
    }
    auto decoded = std::make_shared<Bytes>(a.cache_unit_bytes);
    const PartialCodecContext ctx = PartialContextFor(a, p.shard.data(), p.key);
    const std::vector<uint64_t> zero(a.metadata.rank(), 0);
    RETURN_IF_ERROR(a.partial->PartialDecode(chain.decoded_spec(), ctx, p.in_shard.data(),
                                             a.cache_unit, decoded->data(), a.cache_unit,
                                             zero.data()));
    v.data = std::move(decoded);
  }
  CopyOut(a, v.data.get(), p, region, out, strides);
  const uint64_t bytes = v.data ? v.data->size() : 0;
  cache.Insert(a.cache_store_id, p.key, p.part, std::move(v), bytes, ticket);
  return Status::OK();
}

// Boxes up to this size are copied out with the cache's lock held.
constexpr uint64_t kCopyUnderLockBytes = 4096;

// Per-thread positions, reused so that a read served from the cache allocates nothing.
struct Walk {
  std::vector<uint64_t> lo, hi, u;
  UnitPlace place;
  Generation generation;
};

// CachedRead into C order of region.shape (strides null) or a strided destination.
Status CachedReadInto(Array::Impl& a, const Region& region, MutableByteView out,
                      const uint64_t* strides) {
  const ArrayMetadata& m = a.metadata;
  const size_t r = m.rank();
  for (size_t d = 0; d < r; ++d) {
    if (region.shape[d] == 0) return Status::OK();
  }
  ChunkCacheCore& cache = *a.chunk_cache;
  const bool revalidate = cache.revalidate();
  const size_t esize = m.data_type.size();
  thread_local Walk w;
  w.lo.resize(r);
  w.hi.resize(r);
  w.u.resize(r);
  const bool chunk_units = ChunkUnits(a);
  for (size_t d = 0; d < r; ++d) {
    const uint64_t last = region.origin[d] + region.shape[d] - 1;
    if (chunk_units) {
      w.lo[d] = m.rectilinear->Index(d, region.origin[d]);
      w.hi[d] = m.rectilinear->Index(d, last);
    } else {
      w.lo[d] = region.origin[d] / a.cache_unit[d];
      w.hi[d] = last / a.cache_unit[d];
    }
    w.u[d] = w.lo[d];
  }
  std::vector<std::vector<uint64_t>> missed;
  while (true) {
    Place(a, region, w.u.data(), w.place);
    bool hit;
    if (revalidate) {
      // Checked against the store first, so the value is held by reference across that call.
      std::shared_ptr<const Bytes> data;
      hit = cache.Lookup(a.cache_store_id, w.place.key, w.place.part, &data, &w.generation);
      if (hit) {
        ASSIGN_OR_RETURN(hit, Fresh(a, w.place, w.generation));
      }
      if (hit) CopyOut(a, data.get(), w.place, region, out, strides);
    } else {
      // Small boxes are copied under the cache's lock (no reference count traffic); larger
      // ones from a reference taken under it, so other threads are not held up by the copy.
      uint64_t box = esize;
      for (size_t d = 0; d < r; ++d) box *= w.place.shape[d];
      std::shared_ptr<const Bytes> data;
      bool copied = false;
      hit = cache.Visit(a.cache_store_id, w.place.key, w.place.part, [&](const CachedValue& v) {
        if (box <= kCopyUnderLockBytes) {
          CopyOut(a, v.data.get(), w.place, region, out, strides);
          copied = true;
        } else {
          data = v.data;
        }
      });
      if (hit && !copied) CopyOut(a, data.get(), w.place, region, out, strides);
    }
    if (!hit) missed.push_back(w.u);
    bool done = true;
    for (size_t d = r; d-- > 0;) {  // next unit, odometer order
      if (++w.u[d] <= w.hi[d]) {
        done = false;
        break;
      }
      w.u[d] = w.lo[d];
    }
    if (done) break;
  }
  if (missed.empty()) return Status::OK();
  if (missed.size() == 1) {
    UnitPlace p;
    Place(a, region, missed[0].data(), p);
    return FetchUnit(a, p, region, out, strides);
  }
  FirstError err;
  a.executor->ParallelFor(missed.size(), 1, [&](size_t begin, size_t end) {
    UnitPlace p;
    for (size_t i = begin; i < end && !err.failed(); ++i) {
      Place(a, region, missed[i].data(), p);
      Status s = FetchUnit(a, p, region, out, strides);
      if (!s.ok()) err.Set(std::move(s));
    }
  });
  return err.status();
}

}  // namespace

Status CachedRead(Array::Impl& a, const Region& region, MutableByteView out) {
  return CachedReadInto(a, region, out, nullptr);
}

Status CachedReadStrided(Array::Impl& a, const Region& region, uint8_t* out,
                         const uint64_t* out_strides) {
  return CachedReadInto(a, region, MutableByteView(out, 0), out_strides);
}

}  // namespace zarrpp::internal
