#include "src/pipeline/shape_chains.h"

#include <algorithm>
#include <string>

#include "codecs/sharding_codec.h"
#include "src/pipeline/pipeline.h"

namespace zarrpp::internal {

Result<std::shared_ptr<const ShapeCodecs>> ShapeChains::For(const std::vector<uint64_t>& shape) {
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
  auto codecs = std::make_shared<ShapeCodecs>();
  codecs->owner = id_;
  codecs->shape = shape;
  codecs->chain = *prepared;
  codecs->span_decoder = SpanDecoder::For(*codecs->chain, skip_checksum_);
  std::lock_guard<std::mutex> l(mu_);
  if (prepared_.size() >= kMaxShapes) prepared_.clear();
  prepared_.emplace(shape, codecs);
  return std::shared_ptr<const ShapeCodecs>(std::move(codecs));
}

Status PrepareShapeChains(Array::Impl& a, const CodecChain& chain) {
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
  a.shape_chains = std::make_shared<ShapeChains>(chain, m.data_type, m.fill_value,
                                                 !a.options.verify_checksum_on_partial_reads);
  return Status::OK();
}

Region ChunkRegionOf(const ArrayMetadata& m, const std::vector<uint64_t>& coords) {
  Region r{std::vector<uint64_t>(m.rank()), std::vector<uint64_t>(m.rank())};
  for (size_t d = 0; d < m.rank(); ++d) {
    r.origin[d] = ChunkOrigin(m, d, coords[d]);
    const uint64_t end = std::min(m.shape[d], r.origin[d] + ChunkEdge(m, d, coords[d]));
    r.shape[d] = end > r.origin[d] ? end - r.origin[d] : 0;
  }
  return r;
}

ChunkSpan ChunksTouchingGrid(const ChunkGrid& g, const Region& region) {
  ChunkSpan s;
  const size_t r = region.rank();
  s.first.assign(r, 0);
  s.count.assign(r, 0);
  for (size_t d = 0; d < r; ++d) {
    if (region.shape[d] != 0) {
      s.first[d] = g.Index(d, region.origin[d]);
      s.count[d] = g.Index(d, region.origin[d] + region.shape[d] - 1) - s.first[d] + 1;
    }
    s.total *= s.count[d];
  }
  return s;
}

void LocateChunkOnGrid(const ArrayMetadata& m, const Region& region, const ChunkSpan& span,
                       uint64_t index, ChunkPart& part) {
  const ChunkGrid& g = *m.rectilinear;
  const size_t r = m.rank();
  part.coords.resize(r);
  part.in_chunk.resize(r);
  part.in_region.resize(r);
  part.shape.resize(r);
  part.edges.resize(r);
  part.regular = nullptr;
  part.covers_chunk = true;
  part.covers_in_bounds = true;
  for (size_t d = r; d-- > 0;) {
    const uint64_t cnt = span.count[d];
    const uint64_t cd = span.first[d] + index % cnt;
    index /= cnt;
    const uint64_t c = g.Length(d, cd);
    const uint64_t chunk_lo = g.Origin(d, cd);
    const uint64_t chunk_hi = chunk_lo + c;
    const uint64_t lo = std::max(chunk_lo, region.origin[d]);
    const uint64_t hi = std::min(chunk_hi, region.origin[d] + region.shape[d]);
    part.edges[d] = c;
    part.coords[d] = cd;
    part.in_chunk[d] = lo - chunk_lo;
    part.in_region[d] = lo - region.origin[d];
    part.shape[d] = hi - lo;
    if (part.shape[d] != c) part.covers_chunk = false;
    if (lo != chunk_lo || hi != std::min(chunk_hi, m.shape[d])) part.covers_in_bounds = false;
  }
}

Status BindShapeCodecs(const Array::Impl& a, ChunkPart& p) {
  if (p.codecs == nullptr || p.codecs->owner != a.shape_chains->id() ||
      p.codecs->shape != p.edges) {
    ASSIGN_OR_RETURN(p.codecs, a.shape_chains->For(p.edges));
  }
  p.chain = p.codecs->chain.get();
  p.span_decoder = p.codecs->span_decoder.get();
  return Status::OK();
}

}  // namespace zarrpp::internal
