// codecs/delta_codec.h - `numcodecs.delta`: numcodecs' Delta (Zarr v2 filter "delta"): the chunk,
// flattened in C order, as its first element followed by the differences of consecutive elements.
//
// Configuration {"dtype": typestr, "astype": typestr (default dtype)}. Differences are taken in
// dtype (integers wrap) and cast to astype; decoding sums them as numpy.cumsum does (in astype,
// integers in 64 bits) and casts each sum to dtype.
//
// Thread safety: immutable; shared between threads.
#pragma once

#include <memory>

#include "codecs/dtype_filter.h"
#include "zarrpp/json.h"

namespace zarrpp {

class DeltaCodec final : public DtypeFilterCodec {
 public:
  static constexpr std::string_view kName = "numcodecs.delta";
  static Result<std::shared_ptr<const Codec>> Factory(const Json& configuration);

  std::string_view name() const override { return kName; }
  Json ToJson() const override;
  Status Encode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const override;
  Status Decode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const override;

 private:
  DeltaCodec() = default;
};

}  // namespace zarrpp
