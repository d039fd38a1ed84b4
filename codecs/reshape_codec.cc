#include "codecs/reshape_codec.h"

#include <cstring>
#include <string>

#include "codecs/numcodecs_config.h"
#include "src/checked_math.h"
#include "zarrpp/json.h"

namespace zarrpp {

namespace {

Status Copy(ByteView src, MutableByteView dst) {
  if (src.size() != dst.size()) {
    return Status::InvalidArgument("reshape: " + std::to_string(src.size()) + " bytes for " +
                                   std::to_string(dst.size()));
  }
  if (!src.empty()) std::memcpy(dst.data(), src.data(), src.size());
  return Status::OK();
}

std::string ShapeText(const std::vector<uint64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace

Result<std::shared_ptr<const Codec>> ReshapeCodec::Factory(const Json& configuration) {
  ASSIGN_OR_RETURN(internal::ConfigReader r, internal::ConfigReader::Make(configuration));
  const std::optional<Json> shape = r.Raw("shape");
  RETURN_IF_ERROR(r.Finish());
  if (!shape || !shape->is_array()) {
    return Status::InvalidArgument("configuration.shape must be a list, got " +
                                   (shape ? shape->dump() : std::string("nothing")));
  }
  int inferred = 0;
  for (const Json& e : *shape) {
    const bool ok_int = e.is_number_integer() && (e.get<int64_t>() >= 1 || e.get<int64_t>() == -1);
    bool ok_list = e.is_array() && !e.empty();
    if (ok_list) {
      for (const Json& d : e) {
        ok_list =
            ok_list && d.is_number_integer() && d.get<int64_t>() >= 0 && d.get<int64_t>() < 64;
      }
    }
    if (!ok_int && !ok_list) {
      return Status::InvalidArgument("configuration.shape entry " + e.dump() +
                                     " is not a positive integer, -1 or a list of dimensions");
    }
    if (ok_int && e.get<int64_t>() == -1) ++inferred;
  }
  if (inferred > 1) {
    return Status::InvalidArgument("configuration.shape has " + std::to_string(inferred) +
                                   " entries of -1 (at most one is allowed)");
  }
  return std::shared_ptr<const Codec>(new ReshapeCodec(*shape));
}

Json ReshapeCodec::ToJson() const {
  return {{"name", "reshape"}, {"configuration", {{"shape", shape_}}}};
}

Result<ChunkSpec> ReshapeCodec::EncodedSpec(const ChunkSpec& decoded) const {
  std::vector<uint64_t> out;
  std::optional<size_t> infer;
  uint64_t known = 1;
  for (const Json& e : shape_) {
    uint64_t extent = 1;
    if (e.is_array()) {
      for (const Json& d : e) {
        const uint64_t dim = d.get<uint64_t>();
        if (dim >= decoded.shape.size()) {
          return Status::InvalidArgument("reshape: dimension " + std::to_string(dim) +
                                         " is outside a chunk of rank " +
                                         std::to_string(decoded.shape.size()));
        }
        ASSIGN_OR_RETURN(extent, internal::CheckedMul(extent, decoded.shape[dim], "reshape"));
      }
    } else if (e.get<int64_t>() == -1) {
      infer = out.size();
    } else {
      extent = e.get<uint64_t>();
    }
    ASSIGN_OR_RETURN(known, internal::CheckedMul(known, extent, "reshape"));
    out.push_back(extent);
  }
  const uint64_t total = decoded.num_elements();
  if (infer) {
    if (known == 0 || total % known != 0) {
      return Status::InvalidArgument("reshape: no extent for -1 turns " + std::to_string(known) +
                                     " into the chunk's " + std::to_string(total) + " elements");
    }
    out[*infer] = total / known;
    known = total;
  }
  if (known != total) {
    return Status::InvalidArgument("reshape: shape " + ShapeText(out) + " holds " +
                                   std::to_string(known) + " elements, the chunk " +
                                   ShapeText(decoded.shape) + " holds " + std::to_string(total));
  }
  return ChunkSpec{std::move(out), decoded.dtype, decoded.fill_value};
}

Status ReshapeCodec::Encode(const ChunkSpec&, ByteView src, MutableByteView dst) const {
  return Copy(src, dst);
}

Status ReshapeCodec::Decode(const ChunkSpec&, ByteView src, MutableByteView dst) const {
  return Copy(src, dst);
}

Result<std::shared_ptr<const Codec>> SqueezeCodec::Factory(const Json& configuration) {
  ASSIGN_OR_RETURN(internal::ConfigReader r, internal::ConfigReader::Make(configuration));
  RETURN_IF_ERROR(r.Finish());
  static const std::shared_ptr<const Codec> instance(new SqueezeCodec());
  return instance;
}

Result<ChunkSpec> SqueezeCodec::EncodedSpec(const ChunkSpec& decoded) const {
  ChunkSpec out{{}, decoded.dtype, decoded.fill_value};
  for (uint64_t s : decoded.shape) {
    if (s != 1) out.shape.push_back(s);
  }
  return out;
}

Status SqueezeCodec::Encode(const ChunkSpec&, ByteView src, MutableByteView dst) const {
  return Copy(src, dst);
}

Status SqueezeCodec::Decode(const ChunkSpec&, ByteView src, MutableByteView dst) const {
  return Copy(src, dst);
}

}  // namespace zarrpp
