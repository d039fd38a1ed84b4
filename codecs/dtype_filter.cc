#include "codecs/dtype_filter.h"

#include "src/metadata/metadata_v2.h"
#include "zarrpp/json.h"

namespace zarrpp {

Result<DataType> DtypeFilterCodec::ParseDtype(const Json& text, std::string_view field) {
  if (!text.is_string()) {
    return Status::InvalidArgument("configuration." + std::string(field) +
                                   " must be a data type string, got " + text.dump());
  }
  const std::string s = text.get<std::string>();
  if (!s.empty() && (s[0] == '<' || s[0] == '>' || s[0] == '|' || s[0] == '=')) {
    ASSIGN_OR_RETURN_CTX(internal::V2DataType t, internal::ParseV2DataType(text),
                         "configuration." + std::string(field));
    return t.type;
  }
  ASSIGN_OR_RETURN_CTX(DataType t, DataType::FromName(s), "configuration." + std::string(field));
  return t;
}

std::string DtypeFilterCodec::Typestr(DataType type) {
  Result<std::string> s = internal::V2DataTypeString(type, false);
  return s.ok() ? *s : type.name();
}

Result<ChunkSpec> DtypeFilterCodec::EncodedSpec(const ChunkSpec& decoded) const {
  if (decoded.dtype != dtype_) {
    return Status::InvalidArgument(std::string(name()) + ": configuration.dtype is " +
                                   dtype_.name() + " but the chunk's data type is " +
                                   decoded.dtype.name());
  }
  ChunkSpec encoded{decoded.shape, astype_, FillValue::Zero(astype_)};
  const ChunkSpec one{{1}, dtype_, decoded.fill_value};
  RETURN_IF_ERROR_CTX(Encode(one, decoded.fill_value.bytes, encoded.fill_value.bytes),
                      "fill_value");
  return encoded;
}

}  // namespace zarrpp
