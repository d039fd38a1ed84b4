#include "codecs/quantize_codec.h"

#include <cmath>

#include "codecs/element_cast.h"
#include "codecs/numcodecs_filter_parse.h"
#include "zarrpp/json.h"

namespace zarrpp {

using internal::CastTo;
using internal::LoadElement;
using internal::StoreElement;

namespace {

// numcodecs' scale for `digits`, computed as Python does (math.log(x, 10) is ln x / ln 10).
double QuantizeScale(int digits) {
  const double precision = std::pow(10.0, -digits);
  double e = std::log(precision) / std::log(10.0);
  e = e < 0 ? std::floor(e) : std::ceil(e);
  const double bits = std::ceil(std::log(std::pow(10.0, -e)) / std::log(2.0));
  return std::pow(2.0, bits);
}

bool IsFloat(DataType t) {
  return t.id() == DataTypeId::kFloat16 || t.id() == DataTypeId::kFloat32 ||
         t.id() == DataTypeId::kFloat64;
}

}  // namespace

Result<std::shared_ptr<const Codec>> QuantizeCodec::Factory(const Json& configuration) {
  ASSIGN_OR_RETURN(internal::ConfigReader r, internal::ConfigReader::Make(configuration));
  ASSIGN_OR_RETURN(auto texts, internal::ReadDtypePair(r, "dtype", "astype"));
  ASSIGN_OR_RETURN(std::optional<int64_t> digits, r.Int("digits"));
  RETURN_IF_ERROR(r.Finish());
  if (!digits) return Status::InvalidArgument("configuration.digits is required");
  if (*digits < -300 || *digits > 300) {
    return Status::InvalidArgument("configuration.digits " + std::to_string(*digits) +
                                   " is outside -300..300");
  }
  std::shared_ptr<QuantizeCodec> c(new QuantizeCodec());
  ASSIGN_OR_RETURN(c->dtype_, ParseDtype(texts.first, "dtype"));
  ASSIGN_OR_RETURN(c->astype_, ParseDtype(texts.second, "astype"));
  if (!IsFloat(c->dtype_) || !IsFloat(c->astype_)) {
    return Status::InvalidArgument(
        "numcodecs.quantize: dtype and astype must be float16, "
        "float32 or float64, got " +
        c->dtype_.name() + " and " + c->astype_.name());
  }
  c->dtype_text_ = texts.first.get<std::string>();
  c->astype_text_ = texts.second.get<std::string>();
  c->digits_ = static_cast<int>(*digits);
  return std::shared_ptr<const Codec>(std::move(c));
}

Json QuantizeCodec::ToJson() const {
  return {
      {"name", kName},
      {"configuration", {{"digits", digits_}, {"dtype", dtype_text_}, {"astype", astype_text_}}}};
}

Status QuantizeCodec::Encode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const {
  const uint64_t n = decoded.num_elements();
  const double scale_d = QuantizeScale(digits_);
  return internal::VisitNumeric(dtype_, kName, [&](auto t) {
    return internal::VisitNumeric(astype_, kName, [&](auto u) {
      using T = decltype(t);
      using U = decltype(u);
      using A = internal::FloatArith<T>;
      const A scale = static_cast<A>(scale_d);
      for (uint64_t i = 0; i < n; ++i) {
        const A x = static_cast<A>(internal::Widen(LoadElement<T>(src.data() + i * sizeof(T))));
        const A v = static_cast<A>(std::nearbyint(static_cast<A>(scale * x)) / scale);
        StoreElement(dst.data() + i * sizeof(U), CastTo<U>(v));
      }
      return Status::OK();
    });
  });
}

Status QuantizeCodec::Decode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const {
  const uint64_t n = decoded.num_elements();
  return internal::VisitNumeric(dtype_, kName, [&](auto t) {
    return internal::VisitNumeric(astype_, kName, [&](auto u) {
      using T = decltype(t);
      using U = decltype(u);
      for (uint64_t i = 0; i < n; ++i) {
        StoreElement(dst.data() + i * sizeof(T),
                     CastTo<T>(LoadElement<U>(src.data() + i * sizeof(U))));
      }
      return Status::OK();
    });
  });
}

}  // namespace zarrpp
