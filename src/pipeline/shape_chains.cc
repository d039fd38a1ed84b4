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
