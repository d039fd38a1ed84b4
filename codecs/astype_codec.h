// codecs/astype_codec.h - `numcodecs.astype`: numcodecs' AsType (Zarr v2 filter "astype"): each
// element cast from decode_dtype to encode_dtype as NumPy's astype does.
//
// Configuration {"encode_dtype": typestr, "decode_dtype": typestr}, both required. Casts between
// integers wrap; float to integer truncates toward zero and wraps, as NumPy on x86-64 (NaN and
// values outside int64 become INT64_MIN before wrapping); decoding casts back.
//
// Thread safety: immutable; shared between threads.
#pragma once

#include <memory>

#include "codecs/dtype_filter.h"
#include "zarrpp/json.h"

namespace zarrpp {

class AstypeCodec final : public DtypeFilterCodec {
 public:
  static constexpr std::string_view kName = "numcodecs.astype";
  static Result<std::shared_ptr<const Codec>> Factory(const Json& configuration);

  std::string_view name() const override { return kName; }
  Json ToJson() const override;
  Status Encode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const override;
  Status Decode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const override;

 private:
  AstypeCodec() = default;
};

}  // namespace zarrpp
