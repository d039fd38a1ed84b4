#include "src/pipeline/rectilinear_chunks.h"

#include <algorithm>
#include <string>

#include "codecs/sharding_codec.h"
#include "src/first_error.h"
#include "src/array/indexing.h"
#include "src/pipeline/pipeline.h"

namespace zarrpp::internal {

Result<std::shared_ptr<const PreparedChain>> ShapeChains::For(const std::vector<uint64_t>& shape) {
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = prepared_.find(shape);
    if (it != prepared_.end()) return it->second;
  }
  auto prepared = chain_.Prepare(ChunkSpec{shape, dtype_, fill_});
  if (!prepared.ok()) {
    std::string s = "[";
    for (size_t d = 0; d < shape.size(); ++d) s += (d ? ", " : "") + std::to_string(shape[d]);
    return prepared.status().WithContext("codecs for chunks of shape " + s + "]");
  }
  std::lock_guard<std::mutex> l(mu_);
  if (prepared_.size() >= kMaxShapes) prepared_.clear();
  prepared_.emplace(shape, *prepared);
  return *prepared;
}

Status PrepareRectilinear(Array::Impl& a, const CodecChain& chain) {
  const ArrayMetadata& m = a.metadata;
  const ChunkGrid& g = *m.rectilinear;
  if (m.zarr_format != 3) {
    return Status::Unsupported("chunk_grid \"rectilinear\" has no zarr_format " +
                               std::to_string(m.zarr_format) + " form");
  }
  if (m.data_type.is_variable()) {
    return Status::Unsupported("chunk_grid \"rectilinear\" with the variable-size data type " +
                               m.data_type.name() + " is not supported");
  }
  const auto* sharding = dynamic_cast<const ShardingCodec*>(chain.array_to_bytes().get());
  if (sharding != nullptr && chain.array_to_array().empty()) {
    const std::vector<uint64_t>& inner = sharding->chunk_shape();
    for (size_t d = 0; d < g.rank() && d < inner.size(); ++d) {
      for (uint64_t len : g.DistinctLengths(d)) {
        if (len % inner[d] != 0) {
          return Status::InvalidArgument(
              "chunk_grid: rectilinear chunk edge " + std::to_string(len) + " of dimension " +
              std::to_string(d) + " is not a multiple of the sharding_indexed inner chunk edge " +
              std::to_string(inner[d]) + " (every shard must be cut into whole inner chunks)");
        }
      }
    }
  }
  a.shape_chains = std::make_shared<ShapeChains>(chain, m.data_type, m.fill_value);
  return Status::OK();
}

Region RectilinearChunkRegion(const ArrayMetadata& m, const std::vector<uint64_t>& coords) {
  const ChunkGrid& g = *m.rectilinear;
  Region r{std::vector<uint64_t>(m.rank()), std::vector<uint64_t>(m.rank())};
  for (size_t d = 0; d < m.rank(); ++d) {
    r.origin[d] = g.Origin(d, coords[d]);
    const uint64_t end = std::min(m.shape[d], r.origin[d] + g.Length(d, coords[d]));
    r.shape[d] = end > r.origin[d] ? end - r.origin[d] : 0;
  }
  return r;
}

namespace {

// The chunks a region touches on a rectilinear grid (ChunksTouching of the regular grid).
ChunkSpan Touching(const ChunkGrid& g, const Region& region) {
  ChunkSpan s;
  const size_t r = region.rank();
  s.first.resize(r);
  s.count.resize(r);
  for (size_t d = 0; d < r; ++d) {
    if (region.shape[d] == 0) {
      s.total = 0;
      s.count[d] = 0;
      continue;
    }
    s.first[d] = g.Index(d, region.origin[d]);
    s.count[d] = g.Index(d, region.origin[d] + region.shape[d] - 1) - s.first[d] + 1;
    s.total *= s.count[d];
  }
  return s;
}

// Where one chunk meets a region.
struct GridPart {
  std::vector<uint64_t> coords;
  std::vector<uint64_t> chunk_shape;
  std::vector<uint64_t> in_chunk;
  std::vector<uint64_t> in_region;
  std::vector<uint64_t> shape;
  bool covers_in_bounds = true;  // every in-bounds element of the chunk
};

void Locate(const ArrayMetadata& m, const Region& region, const ChunkSpan& s, uint64_t index,
            GridPart& p) {
  const ChunkGrid& g = *m.rectilinear;
  const size_t r = m.rank();
  p.coords.resize(r);
  p.chunk_shape.resize(r);
  p.in_chunk.resize(r);
  p.in_region.resize(r);
  p.shape.resize(r);
  p.covers_in_bounds = true;
  for (size_t d = r; d-- > 0;) {
    const uint64_t cd = s.first[d] + index % s.count[d];
    index /= s.count[d];
    const uint64_t lo_chunk = g.Origin(d, cd);
    const uint64_t len = g.Length(d, cd);
    const uint64_t hi_chunk = lo_chunk + len;
    const uint64_t lo = std::max(lo_chunk, region.origin[d]);
    const uint64_t hi = std::min(hi_chunk, region.origin[d] + region.shape[d]);
    p.coords[d] = cd;
    p.chunk_shape[d] = len;
    p.in_chunk[d] = lo - lo_chunk;
    p.in_region[d] = lo - region.origin[d];
    p.shape[d] = hi - lo;
    if (lo != lo_chunk || hi != std::min(hi_chunk, m.shape[d])) p.covers_in_bounds = false;
  }
}

template <typename Body>
Status ForEachChunk(Array::Impl& a, const Region& region, Body body) {
  const ChunkSpan s = Touching(*a.metadata.rectilinear, region);
  if (s.total == 0) return Status::OK();
  FirstError err;
  a.executor->ParallelFor(static_cast<size_t>(s.total), 1, [&](size_t begin, size_t end) {
    GridPart p;
    Bytes chunk;
    ChainScratch scratch;
    for (size_t i = begin; i < end && !err.failed(); ++i) {
      Locate(a.metadata, region, s, i, p);
      Status st = body(p, chunk, scratch);
      if (!st.ok()) err.Set(std::move(st));
    }
  });
  return err.status();
}

}  // namespace

Status RectilinearRead(Array::Impl& a, const Region& region, MutableByteView out) {
  const ArrayMetadata& m = a.metadata;
  const size_t esize = m.data_type.size();
  return ForEachChunk(a, region, [&](const GridPart& p, Bytes& chunk, ChainScratch& scratch) {
    const std::string key = a.ChunkKey(p.coords.data());
    ASSIGN_OR_RETURN(std::optional<Bytes> stored, a.store->get(key));
    if (!stored) {
      FillBox(out.data(), region.shape, p.in_region.data(), p.shape, m.fill_value.bytes.data(),
              esize);
      return Status::OK();
    }
    ASSIGN_OR_RETURN(auto chain, a.shape_chains->For(p.chunk_shape));
    chunk.resize(chain->decoded_spec().num_bytes());
    RETURN_IF_ERROR_CTX(chain->Decode(*stored, chunk, scratch), "chunk '" + key + "'");
    CopyBox(chunk.data(), p.chunk_shape, p.in_chunk.data(), out.data(), region.shape,
            p.in_region.data(), p.shape, esize);
    return Status::OK();
  });
}

Status RectilinearWrite(Array::Impl& a, const Region& region, WriteSource src) {
  const ArrayMetadata& m = a.metadata;
  const size_t esize = m.data_type.size();
  const uint8_t* fill = m.fill_value.bytes.data();
  return ForEachChunk(a, region, [&](const GridPart& p, Bytes& chunk, ChainScratch& scratch) {
    const std::string key = a.ChunkKey(p.coords.data());
    ASSIGN_OR_RETURN(auto chain, a.shape_chains->For(p.chunk_shape));
    const uint64_t n = chain->decoded_spec().num_elements();
    chunk.resize(n * esize);
    KeyLocks::Guard held = a.chunk_locks.Lock(key);
    bool merged = false;
    if (!p.covers_in_bounds) {
      ASSIGN_OR_RETURN(std::optional<Bytes> stored, a.store->get(key));
      if (stored) {
        RETURN_IF_ERROR_CTX(chain->Decode(*stored, chunk, scratch), "chunk '" + key + "'");
        merged = true;
      }
    }
    if (!merged) FillElements(chunk.data(), n, fill, esize);
    if (src.scalar) {
      FillBox(chunk.data(), p.chunk_shape, p.in_chunk.data(), p.shape, src.data, esize);
    } else {
      CopyBox(src.data, region.shape, p.in_region.data(), chunk.data(), p.chunk_shape,
              p.in_chunk.data(), p.shape, esize);
    }
    if (!a.options.write_empty_chunks && AllEqualFill(chunk.data(), n, fill, m.data_type)) {
      return a.store->erase(key);
    }
    ASSIGN_OR_RETURN_CTX(ByteView encoded, chain->Encode(chunk, scratch), "chunk '" + key + "'");
    return a.store->set(key, encoded);
  });
}

}  // namespace zarrpp::internal
