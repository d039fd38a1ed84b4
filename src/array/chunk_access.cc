// src/array/chunk_access.cc - chunk-level access of an Array: the chunk grids, chunk iteration, and
// single chunks read and written decoded or as their stored bytes (spec/chunks.md).
#include <algorithm>
#include <cstring>
#include <mutex>

#include "codecs/sharding_codec.h"
#include "codecs/sharding_index.h"
#include "src/array/array_impl.h"
#include "src/array/indexing.h"
#include "src/guard.h"
#include "src/pipeline/key_locks.h"
#include "src/pipeline/pipeline.h"
#include "src/pipeline/shape_chains.h"
#include "zarrpp/array.h"
#include "zarrpp/json.h"

namespace zarrpp {
namespace {

constexpr uint64_t kCancelEvery = 1024;

std::string CoordsText(const std::vector<uint64_t>& c) {
  std::string t = "[";
  for (size_t i = 0; i < c.size(); ++i) t += (i ? ", " : "") + std::to_string(c[i]);
  return t + "]";
}

const char* LevelName(ChunkLevel level) {
  return level == ChunkLevel::kStored ? "stored chunk" : "inner chunk";
}

// The sharding codec of a chain that is exactly [sharding_indexed]; null otherwise.
const ShardingCodec* ShardingOf(const Array::Impl& a) {
  // The inner level of a rectilinear grid is not addressed here (GridOf).
  if (a.partial == nullptr || a.metadata.rectilinear) return nullptr;
  return dynamic_cast<const ShardingCodec*>(a.chain->chain().array_to_bytes().get());
}

Result<ChunkGridInfo> GridOf(const Array::Impl& a, ChunkLevel level) {
  const ArrayMetadata& m = a.metadata;
  ChunkGridInfo g;
  if (level == ChunkLevel::kStored) {
    g.chunk_shape = m.chunk_shape;
  } else {
    const ShardingCodec* sharding = ShardingOf(a);
    if (sharding == nullptr) {
      return Status::FailedPrecondition("array '/" + a.path +
                                        "' has no inner chunks: its codec chain is not exactly "
                                        "[sharding_indexed]");
    }
    g.chunk_shape = sharding->chunk_shape();
  }
  g.grid.resize(m.rank());
  if (m.rectilinear) {  // stored chunks only: a rectilinear array has no inner level here
    g.grid = m.grid_shape();
    return g;
  }
  for (size_t d = 0; d < m.rank(); ++d) {
    const uint64_t c = g.chunk_shape[d];
    g.grid[d] = m.shape[d] / c + (m.shape[d] % c != 0 ? 1 : 0);
  }
  return g;
}

// Where one chunk of a level lies: its key, shard and inner index, and its region.
struct Located {
  std::string key;
  std::vector<uint64_t> shard;         // grid position of the stored chunk
  std::vector<uint64_t> inner_origin;  // kInner: origin of the inner chunk inside its shard
  uint64_t inner_index = 0;
};

void Locate(const ArrayMetadata& m, const std::string& prefix, ChunkLevel level,
            const ChunkGridInfo& g, const std::vector<uint64_t>& coords, Located& out) {
  const size_t r = m.rank();
  out.shard.resize(r);
  out.inner_origin.assign(r, 0);
  out.inner_index = 0;
  if (level == ChunkLevel::kStored) {
    out.shard = coords;
  } else {
    for (size_t d = 0; d < r; ++d) {
      const uint64_t per_shard = m.chunk_shape[d] / g.chunk_shape[d];
      out.shard[d] = coords[d] / per_shard;
      const uint64_t in = coords[d] % per_shard;
      out.inner_origin[d] = in * g.chunk_shape[d];
      out.inner_index = out.inner_index * per_shard + in;
    }
  }
  out.key = prefix + m.chunk_key_encoding.EncodeKey(out.shard);
}

Region ChunkRegion(const ArrayMetadata& m, const ChunkGridInfo& g,
                   const std::vector<uint64_t>& coords) {
  if (m.rectilinear) return internal::ChunkRegionOf(m, coords);
  Region r{std::vector<uint64_t>(m.rank()), std::vector<uint64_t>(m.rank())};
  for (size_t d = 0; d < m.rank(); ++d) {
    r.origin[d] = coords[d] * g.chunk_shape[d];
    r.shape[d] = std::min(g.chunk_shape[d], m.shape[d] - std::min(m.shape[d], r.origin[d]));
  }
  return r;
}

Status CheckCoords(const Array::Impl& a, ChunkLevel level, const ChunkGridInfo& g,
                   const std::vector<uint64_t>& coords, std::string_view op) {
  const std::string what = std::string(op) + " of array '/" + a.path + "'";
  if (coords.size() != g.grid.size()) {
    return Status::InvalidArgument(
        what + ": " + LevelName(level) + " coordinates " + CoordsText(coords) + " have rank " +
        std::to_string(coords.size()) + ", the array has rank " + std::to_string(g.grid.size()));
  }
  for (size_t d = 0; d < coords.size(); ++d) {
    if (coords[d] >= g.grid[d]) {
      return Status::InvalidArgument(what + ": " + LevelName(level) + " " + CoordsText(coords) +
                                     " is outside the chunk grid " + CoordsText(g.grid));
    }
  }
  return Status::OK();
}

// The shape of the chunk at `coords` of a level: the level's chunk_shape, or on a rectilinear
// grid the chunk's own.
std::vector<uint64_t> ShapeOf(const Array::Impl& a, const ChunkGridInfo& g,
                              const std::vector<uint64_t>& coords) {
  return a.metadata.rectilinear ? a.metadata.rectilinear->ChunkShape(coords.data()) : g.chunk_shape;
}

// The chain for chunks of `shape`: the array's, or on a rectilinear grid the one prepared for it.
Result<std::shared_ptr<const PreparedChain>> ChainOf(const Array::Impl& a,
                                                     const std::vector<uint64_t>& shape) {
  if (!a.shape_chains) return a.chain;
  ASSIGN_OR_RETURN(auto codecs, a.shape_chains->For(shape));
  return codecs->chain;
}

Status CheckBuffer(const Array::Impl& a, const std::vector<uint64_t>& chunk_shape, size_t size,
                   std::string_view op) {
  const ArrayMetadata& m = a.metadata;
  if (m.data_type.is_variable()) {
    return Status::FailedPrecondition(std::string(op) + " of array '/" + a.path + "': data type " +
                                      m.data_type.name() +
                                      " has no fixed element size; use ReadChunkEncoded or "
                                      "WriteChunkEncoded");
  }
  uint64_t need = m.data_type.size();
  for (uint64_t c : chunk_shape) need *= c;  // fits: the largest chunk was prepared at open
  if (size != need) {
    return Status::InvalidArgument(std::string(op) + " of array '/" + a.path + "': buffer holds " +
                                   std::to_string(size) + " bytes, a chunk of shape " +
                                   CoordsText(chunk_shape) + " needs " + std::to_string(need));
  }
  return Status::OK();
}

Status Cancelled(const Array::Impl& a, std::string_view op) {
  return Status::FailedPrecondition(std::string(op) + " of array '/" + a.path +
                                    "': cancelled (ArrayOptions::cancel)");
}

// The grid positions of stored chunks of `a`, from the listing, in C order.
Result<std::vector<std::pair<std::vector<uint64_t>, std::string>>> StoredChunks(
    const Array::Impl& a, const ArrayMetadata& m, const ChunkGridInfo& stored) {
  if (!a.store->capabilities().listable) {
    return Status::Unsupported("listing the stored chunks of array '/" + a.path + "': store " +
                               a.store->description() + " cannot list");
  }
  ASSIGN_OR_RETURN(std::vector<std::string> keys, a.store->list_prefix(a.prefix));
  std::vector<std::pair<std::vector<uint64_t>, std::string>> out;
  for (std::string& key : keys) {
    auto coords =
        m.chunk_key_encoding.DecodeKey(std::string_view(key).substr(a.prefix.size()), m.rank());
    if (!coords.ok()) continue;  // zarr.json, or a key of a nested node
    bool inside = true;
    for (size_t d = 0; d < m.rank(); ++d) inside &= (*coords)[d] < stored.grid[d];
    if (inside) out.emplace_back(std::move(*coords), std::move(key));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

bool ChunksCompatible(const ArrayMetadata& a, const ArrayMetadata& b) {
  if (a.chunk_shape != b.chunk_shape || a.rectilinear != b.rectilinear ||
      !(a.data_type == b.data_type) || a.fill_value.bytes != b.fill_value.bytes) {
    return false;
  }
  auto ca = CodecChain::FromJson(a.codecs);
  auto cb = CodecChain::FromJson(b.codecs);
  return ca.ok() && cb.ok() && ca->ToJson() == cb->ToJson();
}

Result<ChunkGridInfo> Array::ChunkGrid(ChunkLevel level) const {
  std::shared_lock lock(metadata_mu_);
  return GridOf(*impl_, level);
}

Status Array::ForEachChunk(const Region& region, ChunkLevel level,
                           const ChunkVisitor& visit) const {
  return internal::Guard("chunks of array '" + impl_->path + "'", [&]() -> Status {
    // The metadata at the start; `visit` runs without the handle's lock, so it may call the
    // array's methods.
    std::shared_lock lock(metadata_mu_);
    const Array::Impl& a = *impl_;
    const ArrayMetadata m = a.metadata;
    ASSIGN_OR_RETURN(ChunkGridInfo g, GridOf(a, level));
    lock.unlock();
    const size_t r = m.rank();
    if (region.origin.size() != r || region.shape.size() != r) {
      return Status::InvalidArgument(
          "chunks of array '/" + a.path + "': region " + region.ToString() + " has rank " +
          std::to_string(region.shape.size()) + ", array has rank " + std::to_string(r));
    }
    for (size_t d = 0; d < r; ++d) {
      if (region.origin[d] > m.shape[d] || region.shape[d] > m.shape[d] - region.origin[d]) {
        return Status::InvalidArgument("chunks of array '/" + a.path + "': region " +
                                       region.ToString() + " is out of bounds in dimension " +
                                       std::to_string(d) + " (size " + std::to_string(m.shape[d]) +
                                       ")");
      }
      if (region.shape[d] == 0) return Status::OK();
    }
    std::vector<uint64_t> first(r), last(r);
    for (size_t d = 0; d < r; ++d) {
      if (m.rectilinear) {
        first[d] = m.rectilinear->Index(d, region.origin[d]);
        last[d] = m.rectilinear->Index(d, region.origin[d] + region.shape[d] - 1);
        continue;
      }
      first[d] = region.origin[d] / g.chunk_shape[d];
      last[d] = (region.origin[d] + region.shape[d] - 1) / g.chunk_shape[d];
    }
    ChunkInfo info;
    info.coords = first;
    Located loc;
    for (uint64_t n = 0;; ++n) {
      if (n % kCancelEvery == kCancelEvery - 1 && a.options.cancel && a.options.cancel()) {
        return Cancelled(a, "chunks");
      }
      Locate(m, a.prefix, level, g, info.coords, loc);
      info.key = loc.key;
      info.inner_index = loc.inner_index;
      info.shard_coords = loc.shard;
      info.region = ChunkRegion(m, g, info.coords);
      info.part = info.region;
      for (size_t d = 0; d < r; ++d) {
        const uint64_t lo = std::max(info.region.origin[d], region.origin[d]);
        const uint64_t hi = std::min(info.region.origin[d] + info.region.shape[d],
                                     region.origin[d] + region.shape[d]);
        info.part.origin[d] = lo;
        info.part.shape[d] = hi - lo;
      }
      RETURN_IF_ERROR(visit(info));
      size_t d = r;
      while (d-- > 0) {
        if (info.coords[d] < last[d]) {
          ++info.coords[d];
          break;
        }
        info.coords[d] = first[d];
      }
      if (d == static_cast<size_t>(-1)) return Status::OK();  // every position visited (or 0-d)
    }
  });
}

Status Array::ForEachStoredChunk(ChunkLevel level, const ChunkVisitor& visit) const {
  return internal::Guard("stored chunks of array '" + impl_->path + "'", [&]() -> Status {
    // The metadata at the start; `visit` runs without the handle's lock, so it may call the
    // array's methods.
    std::shared_lock lock(metadata_mu_);
    Array::Impl& a = *impl_;
    const ArrayMetadata m = a.metadata;
    const size_t r = m.rank();
    ASSIGN_OR_RETURN(ChunkGridInfo stored_grid, GridOf(a, ChunkLevel::kStored));
    ASSIGN_OR_RETURN(ChunkGridInfo g, GridOf(a, level));
    lock.unlock();
    ASSIGN_OR_RETURN(auto stored, StoredChunks(a, m, stored_grid));
    ChunkInfo info;
    for (auto& [shard, key] : stored) {
      if (a.options.cancel && a.options.cancel()) return Cancelled(a, "stored chunks");
      if (level == ChunkLevel::kStored) {
        ASSIGN_OR_RETURN(std::optional<uint64_t> size, a.store->size(key));
        if (!size) continue;  // erased since the listing
        info.coords = shard;
        info.key = key;
        info.inner_index = 0;
        info.shard_coords = shard;
        info.region = ChunkRegion(m, g, shard);
        info.part = info.region;
        info.encoded_bytes = *size;
        RETURN_IF_ERROR(visit(info));
        continue;
      }
      const ShardingCodec* sharding = ShardingOf(a);
      PartialCodecContext ctx;  // a read of the index: no extent inside the array needed
      ctx.store = a.store.get();
      ctx.key = key;
      ctx.executor = a.executor.get();
      ctx.options = &a.options;
      ctx.index_cache = a.index_cache.get();
      ASSIGN_OR_RETURN(std::shared_ptr<const ShardIndex> index,
                       sharding->ReadShardIndex(a.chain->decoded_spec(), ctx));
      if (!index) continue;  // erased since the listing
      std::vector<uint64_t> per_shard(r);
      for (size_t d = 0; d < r; ++d) per_shard[d] = m.chunk_shape[d] / g.chunk_shape[d];
      const uint64_t n_inner = index->entries.size() / 2;
      std::vector<uint64_t> in(r);
      for (uint64_t j = 0; j < n_inner; ++j) {
        if (!index->present(j)) continue;
        uint64_t rest = j;
        for (size_t d = r; d-- > 0;) {
          in[d] = rest % per_shard[d];
          rest /= per_shard[d];
        }
        info.coords.resize(r);
        bool inside = true;
        for (size_t d = 0; d < r; ++d) {
          info.coords[d] = shard[d] * per_shard[d] + in[d];
          inside &= info.coords[d] < g.grid[d];
        }
        if (!inside) continue;
        info.key = key;
        info.inner_index = j;
        info.shard_coords = shard;
        info.region = ChunkRegion(m, g, info.coords);
        info.part = info.region;
        info.encoded_bytes = index->nbytes(j);
        RETURN_IF_ERROR(visit(info));
      }
    }
    return Status::OK();
  });
}

Result<bool> Array::ReadChunk(ChunkLevel level, const std::vector<uint64_t>& coords,
                              MutableByteView out) const {
  return internal::Guard("read of a chunk of array '" + impl_->path + "'", [&]() -> Result<bool> {
    std::shared_lock lock(metadata_mu_);
    Array::Impl& a = *impl_;
    const ArrayMetadata& m = a.metadata;
    ASSIGN_OR_RETURN(ChunkGridInfo g, GridOf(a, level));
    RETURN_IF_ERROR(CheckCoords(a, level, g, coords, "read of a chunk"));
    const std::vector<uint64_t> shape = ShapeOf(a, g, coords);
    RETURN_IF_ERROR(CheckBuffer(a, shape, out.size(), "read of a chunk"));
    const size_t esize = m.data_type.size();
    Located loc;
    Locate(a.metadata, a.prefix, level, g, coords, loc);
    internal::ScratchPool::Lease s;
    if (level == ChunkLevel::kStored) {
      ASSIGN_OR_RETURN(bool found, a.store->get_into(loc.key, ByteRange::Whole(), s->fetched));
      if (!found) {
        internal::FillElements(out.data(), out.size() / esize, m.fill_value.bytes.data(), esize);
        return false;
      }
      ASSIGN_OR_RETURN(auto chain, ChainOf(a, shape));
      RETURN_IF_ERROR_CTX(chain->Decode(s->fetched, out, s->chain), "chunk '" + loc.key + "'");
      return true;
    }
    const ShardingCodec* sharding = ShardingOf(a);
    const PartialCodecContext ctx = internal::PartialContextFor(a, loc.shard.data(), loc.key);
    ASSIGN_OR_RETURN(std::optional<Bytes> bytes,
                     sharding->ReadInnerEncoded(a.chain->decoded_spec(), ctx, loc.inner_index));
    if (!bytes) {
      internal::FillElements(out.data(), out.size() / esize, m.fill_value.bytes.data(), esize);
      return false;
    }
    ASSIGN_OR_RETURN(auto L, sharding->Prepare(a.chain->decoded_spec()));
    RETURN_IF_ERROR_CTX(L->inner->Decode(*bytes, out, s->chain),
                        "shard '" + loc.key + "': inner chunk " + CoordsText(coords));
    return true;
  });
}

Status Array::WriteChunk(ChunkLevel level, const std::vector<uint64_t>& coords, ByteView in) {
  return internal::Guard("write of a chunk of array '" + impl_->path + "'", [&]() -> Status {
    std::shared_lock lock(metadata_mu_);
    Array::Impl& a = *impl_;
    const ArrayMetadata& m = a.metadata;
    ASSIGN_OR_RETURN(ChunkGridInfo g, GridOf(a, level));
    RETURN_IF_ERROR(CheckCoords(a, level, g, coords, "write of a chunk"));
    const std::vector<uint64_t> shape = ShapeOf(a, g, coords);
    RETURN_IF_ERROR(CheckBuffer(a, shape, in.size(), "write of a chunk"));
    Located loc;
    Locate(a.metadata, a.prefix, level, g, coords, loc);
    const internal::KeyLocks::Guard key_lock = a.chunk_locks.Lock(loc.key);
    if (level == ChunkLevel::kStored) {
      const bool empty = !a.options.write_empty_chunks &&
                         internal::AllEqualFill(in.data(), in.size() / m.data_type.size(),
                                                m.fill_value.bytes.data(), m.data_type);
      if (empty) return a.store->erase(loc.key);
      internal::ScratchPool::Lease s;
      ASSIGN_OR_RETURN(auto chain, ChainOf(a, shape));
      ASSIGN_OR_RETURN_CTX(ByteView enc, chain->Encode(in, s->chain), "chunk '" + loc.key + "'");
      // A shard whose inner chunks all equal the fill value encodes to nothing: not stored.
      if (enc.empty() && ShardingOf(a) != nullptr) return a.store->erase(loc.key);
      return a.store->set(loc.key, enc);
    }
    const std::vector<uint64_t> zeros(m.rank(), 0);
    PartialCodecContext ctx = internal::PartialContextFor(a, loc.shard.data(), loc.key);
    return a.partial->PartialEncode(a.chain->decoded_spec(), ctx, loc.inner_origin.data(),
                                    g.chunk_shape, in.data(), g.chunk_shape, zeros.data(),
                                    /*scalar=*/false);
  });
}

Result<std::optional<Bytes>> Array::ReadChunkEncoded(ChunkLevel level,
                                                     const std::vector<uint64_t>& coords) const {
  return internal::Guard(
      "read of a chunk of array '" + impl_->path + "'", [&]() -> Result<std::optional<Bytes>> {
        std::shared_lock lock(metadata_mu_);
        Array::Impl& a = *impl_;
        ASSIGN_OR_RETURN(ChunkGridInfo g, GridOf(a, level));
        RETURN_IF_ERROR(CheckCoords(a, level, g, coords, "read of an encoded chunk"));
        Located loc;
        Locate(a.metadata, a.prefix, level, g, coords, loc);
        if (level == ChunkLevel::kStored) return a.store->get(loc.key);
        const PartialCodecContext ctx = internal::PartialContextFor(a, loc.shard.data(), loc.key);
        return ShardingOf(a)->ReadInnerEncoded(a.chain->decoded_spec(), ctx, loc.inner_index);
      });
}

Status Array::WriteChunkEncoded(ChunkLevel level, const std::vector<uint64_t>& coords,
                                std::optional<ByteView> encoded) {
  return internal::Guard("write of a chunk of array '" + impl_->path + "'", [&]() -> Status {
    std::shared_lock lock(metadata_mu_);
    Array::Impl& a = *impl_;
    ASSIGN_OR_RETURN(ChunkGridInfo g, GridOf(a, level));
    RETURN_IF_ERROR(CheckCoords(a, level, g, coords, "write of an encoded chunk"));
    Located loc;
    Locate(a.metadata, a.prefix, level, g, coords, loc);
    const internal::KeyLocks::Guard key_lock = a.chunk_locks.Lock(loc.key);
    if (level == ChunkLevel::kStored) {
      return encoded ? a.store->set(loc.key, *encoded) : a.store->erase(loc.key);
    }
    const PartialCodecContext ctx = internal::PartialContextFor(a, loc.shard.data(), loc.key);
    return ShardingOf(a)->WriteInnerEncoded(a.chain->decoded_spec(), ctx, loc.inner_index, encoded);
  });
}

}  // namespace zarrpp
