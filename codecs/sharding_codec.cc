// codecs/sharding_codec.cc - the sharding codec itself: construction, factory and JSON, and the
// prepared layout of each shard spec. The index, reads and writes are in sharding_index.cc,
// sharding_read.cc and sharding_write.cc.
#include "codecs/sharding_codec.h"

#include <algorithm>
#include <mutex>
#include <string>
#include <utility>

#include "codecs/sharding_index.h"
#include "codecs/sharding_internal.h"
#include "src/checked_math.h"
#include "src/metadata/json_numbers.h"
#include "zarrpp/json.h"

namespace zarrpp {

using internal::InnerScratch;
using internal::Layout;
using internal::Lease;
using internal::ShardScratch;

ShardingCodec::ShardingCodec(std::vector<uint64_t> chunk_shape, CodecChain codecs,
                             CodecChain index_codecs, IndexLocation location)
    : chunk_shape_(std::move(chunk_shape)),
      codecs_(std::move(codecs)),
      index_codecs_(std::move(index_codecs)),
      location_(location) {}

Result<std::shared_ptr<const ShardingCodec>> ShardingCodec::Make(std::vector<uint64_t> chunk_shape,
                                                                 CodecChain codecs,
                                                                 CodecChain index_codecs,
                                                                 IndexLocation location) {
  for (size_t d = 0; d < chunk_shape.size(); ++d) {
    if (chunk_shape[d] == 0) {
      return Status::InvalidArgument("chunk_shape entry " + std::to_string(d) + " is 0");
    }
  }
  return std::shared_ptr<const ShardingCodec>(new ShardingCodec(
      std::move(chunk_shape), std::move(codecs), std::move(index_codecs), location));
}

Result<std::shared_ptr<const Codec>> ShardingCodec::Factory(const Json& configuration) {
  if (!configuration.is_object()) {
    return Status::InvalidArgument(
        "configuration must be an object with chunk_shape, codecs and "
        "index_codecs, got " +
        configuration.dump());
  }
  for (auto it = configuration.begin(); it != configuration.end(); ++it) {
    const std::string& k = it.key();
    if (k != "chunk_shape" && k != "codecs" && k != "index_codecs" && k != "index_location") {
      return Status::InvalidArgument("unknown configuration field \"" + k + "\"");
    }
  }
  const auto cs = configuration.find("chunk_shape");
  if (cs == configuration.end() || !cs->is_array()) {
    return Status::InvalidArgument(
        "chunk_shape must be a list of positive integers, got " +
        (cs == configuration.end() ? std::string("nothing") : cs->dump()));
  }
  std::vector<uint64_t> chunk_shape;
  for (const Json& v : *cs) {
    const std::optional<uint64_t> n = internal::AsUint(v);
    if (!n || *n == 0) {
      return Status::InvalidArgument("chunk_shape entry " + v.dump() +
                                     " is not a positive integer");
    }
    chunk_shape.push_back(*n);
  }
  const auto codecs = configuration.find("codecs");
  if (codecs == configuration.end()) return Status::InvalidArgument("codecs is missing");
  ASSIGN_OR_RETURN_CTX(CodecChain inner, CodecChain::FromJson(*codecs), "codecs");
  const auto index_codecs = configuration.find("index_codecs");
  if (index_codecs == configuration.end()) {
    return Status::InvalidArgument("index_codecs is missing");
  }
  ASSIGN_OR_RETURN_CTX(CodecChain index, CodecChain::FromJson(*index_codecs), "index_codecs");
  IndexLocation location = IndexLocation::kEnd;
  const auto loc = configuration.find("index_location");
  if (loc != configuration.end()) {
    if (*loc == "start") {
      location = IndexLocation::kStart;
    } else if (*loc != "end") {
      return Status::InvalidArgument("index_location must be \"start\" or \"end\", got " +
                                     loc->dump());
    }
  }
  ASSIGN_OR_RETURN(auto codec,
                   Make(std::move(chunk_shape), std::move(inner), std::move(index), location));
  return std::shared_ptr<const Codec>(std::move(codec));
}

Json ShardingCodec::ToJson() const {
  return {{"name", "sharding_indexed"},
          {"configuration",
           {{"chunk_shape", chunk_shape_},
            {"codecs", codecs_.ToJson()},
            {"index_codecs", index_codecs_.ToJson()},
            {"index_location", location_ == IndexLocation::kStart ? "start" : "end"}}}};
}

Result<std::shared_ptr<const ShardingCodec::Layout>> ShardingCodec::Prepare(
    const ChunkSpec& decoded) const {
  {
    std::lock_guard<std::mutex> l(layouts_mu_);
    for (const auto& L : layouts_) {
      if (L->shard.shape == decoded.shape && L->shard.dtype == decoded.dtype &&
          L->shard.fill_value == decoded.fill_value) {
        return L;
      }
    }
  }
  const size_t r = chunk_shape_.size();
  if (decoded.shape.size() != r) {
    return Status::InvalidArgument("chunk_shape has rank " + std::to_string(r) +
                                   " but the shard has rank " +
                                   std::to_string(decoded.shape.size()));
  }
  auto L = std::make_shared<Layout>();
  L->shard = decoded;
  L->inner_shape = chunk_shape_;
  L->grid.resize(r);
  L->location = location_;
  for (size_t d = 0; d < r; ++d) {
    if (decoded.shape[d] % chunk_shape_[d] != 0) {
      return Status::InvalidArgument(
          "chunk_shape " + Json(chunk_shape_).dump() + " does not divide the shard shape " +
          Json(decoded.shape).dump() + " in dimension " + std::to_string(d));
    }
    L->grid[d] = decoded.shape[d] / chunk_shape_[d];
    L->n_inner *= L->grid[d];
  }
  // The index holds two uint64 per inner chunk; its size must fit in 64 bits.
  RETURN_IF_ERROR(internal::CheckedMul(L->n_inner, 16, "shard index size (inner chunks x 16)"));
  const ChunkSpec inner_spec{chunk_shape_, decoded.dtype, decoded.fill_value};
  L->inner_bytes = inner_spec.num_bytes();
  ASSIGN_OR_RETURN_CTX(L->inner, codecs_.Prepare(inner_spec), "codecs");
  L->inner_fixed = L->inner->encoded_size();
  L->inner_span = SpanDecoder::For(*L->inner, /*skip_checksum=*/false);
  if (L->inner_span == nullptr) {
    L->inner_span_unverified = SpanDecoder::For(*L->inner, /*skip_checksum=*/true);
  }
  std::vector<uint64_t> index_shape = L->grid;
  index_shape.push_back(2);
  const ChunkSpec index_spec{index_shape, DataType(DataTypeId::kUInt64), FillValue{Bytes(8, 0xFF)}};
  ASSIGN_OR_RETURN_CTX(L->index, index_codecs_.Prepare(index_spec), "index_codecs");
  if (!L->index->encoded_size()) {
    return Status::InvalidArgument(
        "index_codecs must have a fixed encoded size (no compressor), got " +
        index_codecs_.ToJson().dump());
  }
  L->index_size = *L->index->encoded_size();
  L->morton.Reset(L->grid);
  std::lock_guard<std::mutex> l(layouts_mu_);
  if (layouts_.size() >= 8) layouts_.erase(layouts_.begin());  // edge specs come and go
  layouts_.push_back(L);
  return std::shared_ptr<const Layout>(std::move(L));
}

Result<uint64_t> ShardingCodec::IndexSize(const ChunkSpec& decoded) const {
  ASSIGN_OR_RETURN(auto L, Prepare(decoded));
  return L->index_size;
}

Status ShardingCodec::ValidateSpec(const ChunkSpec& decoded) const {
  return Prepare(decoded).status();
}

std::optional<uint64_t> ShardingCodec::EncodedSize(const ChunkSpec& /*decoded*/) const {
  return std::nullopt;
}

uint64_t ShardingCodec::MaxEncodedSize(const ChunkSpec& decoded) const {
  auto L = Prepare(decoded);
  if (!L.ok()) return UINT64_MAX;
  return internal::SaturatingAdd(
      (*L)->index_size, internal::SaturatingMul((*L)->n_inner, (*L)->inner->max_encoded_size()));
}

void ReleaseShardingScratch() {
  Lease<InnerScratch>::ReleaseIdle();
  Lease<ShardScratch>::ReleaseIdle();
}

}  // namespace zarrpp
