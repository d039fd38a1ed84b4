#include "codecs/astype_codec.h"

#include "codecs/element_cast.h"
#include "codecs/numcodecs_filter_parse.h"
#include "zarrpp/json.h"

namespace zarrpp {

namespace {

template <typename D, typename S>
void CastAll(ByteView src, MutableByteView dst, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) {
    internal::StoreElement(
        dst.data() + i * sizeof(D),
        internal::CastTo<D>(internal::LoadElement<S>(src.data() + i * sizeof(S))));
  }
}

// Casts n elements of `from` at src to `to` at dst.
Status Cast(DataType from, DataType to, ByteView src, MutableByteView dst, uint64_t n) {
  return internal::VisitNumeric(from, AstypeCodec::kName, [&](auto s) {
    return internal::VisitNumeric(to, AstypeCodec::kName, [&](auto d) {
      CastAll<decltype(d), decltype(s)>(src, dst, n);
      return Status::OK();
    });
  });
}

}  // namespace

Result<std::shared_ptr<const Codec>> AstypeCodec::Factory(const Json& configuration) {
  ASSIGN_OR_RETURN(internal::ConfigReader r, internal::ConfigReader::Make(configuration));
  ASSIGN_OR_RETURN(auto texts, internal::ReadDtypePair(r, "decode_dtype", "encode_dtype", true));
  RETURN_IF_ERROR(r.Finish());
  std::shared_ptr<AstypeCodec> c(new AstypeCodec());
  ASSIGN_OR_RETURN(c->dtype_, ParseDtype(texts.first, "decode_dtype"));
  ASSIGN_OR_RETURN(c->astype_, ParseDtype(texts.second, "encode_dtype"));
  RETURN_IF_ERROR(internal::VisitNumeric(c->dtype_, kName, [](auto) { return Status::OK(); }));
  RETURN_IF_ERROR(internal::VisitNumeric(c->astype_, kName, [](auto) { return Status::OK(); }));
  c->dtype_text_ = texts.first.get<std::string>();
  c->astype_text_ = texts.second.get<std::string>();
  return std::shared_ptr<const Codec>(std::move(c));
}

Json AstypeCodec::ToJson() const {
  return {{"name", kName},
          {"configuration", {{"encode_dtype", astype_text_}, {"decode_dtype", dtype_text_}}}};
}

Status AstypeCodec::Encode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const {
  return Cast(dtype_, astype_, src, dst, decoded.num_elements());
}

Status AstypeCodec::Decode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const {
  return Cast(astype_, dtype_, src, dst, decoded.num_elements());
}

}  // namespace zarrpp
