// codecs/fixedscaleoffset_codec.h - `numcodecs.fixedscaleoffset`: numcodecs' FixedScaleOffset (Zarr
// v2 filter "fixedscaleoffset"): encoded = round((x - offset) * scale) cast to astype; decoded =
// encoded / scale + offset cast to dtype.
//
// Configuration {"offset": number, "scale": number, "dtype": typestr, "astype": typestr
// (default dtype)}. Arithmetic follows NumPy: float32 and float16 data in float32, everything else
// in float64; rounding is half to even (numpy.around).
//
// Thread safety: immutable; shared between threads.
#pragma once

#include <memory>

#include "codecs/dtype_filter.h"
#include "zarrpp/json.h"

namespace zarrpp {

class FixedScaleOffsetCodec final : public DtypeFilterCodec {
 public:
  static constexpr std::string_view kName = "numcodecs.fixedscaleoffset";
  static Result<std::shared_ptr<const Codec>> Factory(const Json& configuration);

  std::string_view name() const override { return kName; }
  Json ToJson() const override;
  Status Encode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const override;
  Status Decode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const override;

  double offset() const { return offset_; }
  double scale() const { return scale_; }

 private:
  FixedScaleOffsetCodec() = default;
  double offset_ = 0, scale_ = 1;
  Json offset_json_, scale_json_;  // as given, for ToJson
};

}  // namespace zarrpp
