// codecs/dtype_filter.h - the shared shape of numcodecs' value filters (astype, delta,
// fixedscaleoffset, quantize): array->array codecs configured with the decoded data type
// ("dtype") and the encoded one ("astype"), which work element by element on the chunk in C
// order and may change the data type (and with it the chunk's byte size).
//
// Data types are given as NumPy typestrs ("<i4", "|u1", ">f8") or v3 names ("int32"). The byte
// order of a typestr does not matter here: chunks in memory are little-endian and the
// array->bytes codec decides the stored order. A chunk whose data type is not the configured
// "dtype" is InvalidArgument when the chain is prepared.
#pragma once

#include <string>

#include "codecs/codec.h"
#include "zarrpp/json.h"

namespace zarrpp {

class DtypeFilterCodec : public ArrayToArrayCodec {
 public:
  DataType dtype() const { return dtype_; }
  DataType astype() const { return astype_; }
  // The configuration's typestrs as given ("<i4").
  const std::string& dtype_text() const { return dtype_text_; }
  const std::string& astype_text() const { return astype_text_; }

  // The encoded spec has the astype data type and the encoded fill value.
  Result<ChunkSpec> EncodedSpec(const ChunkSpec& decoded) const override;

 protected:
  // Parses `text` (a typestr or a v3 name); `field` names it in errors.
  static Result<DataType> ParseDtype(const Json& text, std::string_view field);
  // A NumPy typestr for `type` ("<i4").
  static std::string Typestr(DataType type);

  DataType dtype_ = DataType(DataTypeId::kFloat64);
  DataType astype_ = DataType(DataTypeId::kFloat64);
  std::string dtype_text_, astype_text_;
};

}  // namespace zarrpp
