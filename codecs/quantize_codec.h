// codecs/quantize_codec.h - `numcodecs.quantize`: numcodecs' Quantize (Zarr v2 filter "quantize"):
// floats rounded to a binary precision that keeps `digits` decimal digits after the point.
//
// Configuration {"digits": int, "dtype": float typestr, "astype": float typestr (default
// dtype)}. With e = floor(log10(10^-digits)) (ceil when not negative), bits = ceil(log2(10^-e))
// and scale = 2^bits, encoded = around(scale * x) / scale cast to astype; decoding casts back.
// Lossy: decoding does not restore the dropped bits.
//
// Thread safety: immutable; shared between threads.
#pragma once

#include <memory>

#include "codecs/dtype_filter.h"
#include "zarrpp/json.h"

namespace zarrpp {

class QuantizeCodec final : public DtypeFilterCodec {
 public:
  static constexpr std::string_view kName = "numcodecs.quantize";
  static Result<std::shared_ptr<const Codec>> Factory(const Json& configuration);

  std::string_view name() const override { return kName; }
  Json ToJson() const override;
  Status Encode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const override;
  Status Decode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const override;

  int digits() const { return digits_; }

 private:
  QuantizeCodec() = default;
  int digits_ = 0;
};

}  // namespace zarrpp
