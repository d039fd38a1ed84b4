#include "codecs/fixedscaleoffset_codec.h"

#include <cmath>

#include "codecs/element_cast.h"
#include "codecs/numcodecs_filter_parse.h"
#include "zarrpp/json.h"

namespace zarrpp {

using internal::CastTo;
using internal::LoadElement;
using internal::StoreElement;

Result<std::shared_ptr<const Codec>> FixedScaleOffsetCodec::Factory(const Json& configuration) {
  ASSIGN_OR_RETURN(internal::ConfigReader r, internal::ConfigReader::Make(configuration));
  ASSIGN_OR_RETURN(auto texts, internal::ReadDtypePair(r, "dtype", "astype"));
  ASSIGN_OR_RETURN(std::optional<double> offset, r.Number("offset"));
  ASSIGN_OR_RETURN(std::optional<double> scale, r.Number("scale"));
  RETURN_IF_ERROR(r.Finish());
  if (!offset) return Status::InvalidArgument("configuration.offset is required");
  if (!scale) return Status::InvalidArgument("configuration.scale is required");
  if (!std::isfinite(*offset) || !std::isfinite(*scale) || *scale == 0) {
    return Status::InvalidArgument(
        "configuration.scale must be finite and non-zero and offset "
        "finite, got scale " +
        std::to_string(*scale) + ", offset " + std::to_string(*offset));
  }
  std::shared_ptr<FixedScaleOffsetCodec> c(new FixedScaleOffsetCodec());
  ASSIGN_OR_RETURN(c->dtype_, ParseDtype(texts.first, "dtype"));
  ASSIGN_OR_RETURN(c->astype_, ParseDtype(texts.second, "astype"));
  RETURN_IF_ERROR(internal::VisitNumeric(c->dtype_, kName, [](auto) { return Status::OK(); }));
  RETURN_IF_ERROR(internal::VisitNumeric(c->astype_, kName, [](auto) { return Status::OK(); }));
  c->dtype_text_ = texts.first.get<std::string>();
  c->astype_text_ = texts.second.get<std::string>();
  c->offset_ = *offset;
  c->scale_ = *scale;
  c->offset_json_ = configuration["offset"];
  c->scale_json_ = configuration["scale"];
  return std::shared_ptr<const Codec>(std::move(c));
}

Json FixedScaleOffsetCodec::ToJson() const {
  return {{"name", kName},
          {"configuration",
           {{"offset", offset_json_},
            {"scale", scale_json_},
            {"dtype", dtype_text_},
            {"astype", astype_text_}}}};
}

Status FixedScaleOffsetCodec::Encode(const ChunkSpec& decoded, ByteView src,
                                     MutableByteView dst) const {
  const uint64_t n = decoded.num_elements();
  return internal::VisitNumeric(dtype_, kName, [&](auto t) {
    return internal::VisitNumeric(astype_, kName, [&](auto u) {
      using T = decltype(t);
      using U = decltype(u);
      using A = internal::FloatArith<T>;
      const A offset = static_cast<A>(offset_), scale = static_cast<A>(scale_);
      for (uint64_t i = 0; i < n; ++i) {
        const A x = static_cast<A>(internal::Widen(LoadElement<T>(src.data() + i * sizeof(T))));
        const A v = std::nearbyint(static_cast<A>(static_cast<A>(x - offset) * scale));
        StoreElement(dst.data() + i * sizeof(U), CastTo<U>(v));
      }
      return Status::OK();
    });
  });
}

Status FixedScaleOffsetCodec::Decode(const ChunkSpec& decoded, ByteView src,
                                     MutableByteView dst) const {
  const uint64_t n = decoded.num_elements();
  return internal::VisitNumeric(dtype_, kName, [&](auto t) {
    return internal::VisitNumeric(astype_, kName, [&](auto u) {
      using T = decltype(t);
      using U = decltype(u);
      using A = internal::FloatArith<U>;
      const A offset = static_cast<A>(offset_), scale = static_cast<A>(scale_);
      for (uint64_t i = 0; i < n; ++i) {
        const A e = static_cast<A>(internal::Widen(LoadElement<U>(src.data() + i * sizeof(U))));
        StoreElement(dst.data() + i * sizeof(T), CastTo<T>(static_cast<A>(e / scale) + offset));
      }
      return Status::OK();
    });
  });
}

}  // namespace zarrpp
