// codecs/bitround_codec.h - `bitround` (zarrs; zarr-extensions) and `numcodecs.bitround`
// (numcodecs' BitRound, Zarr v2 filter "bitround"): floats with all but `keepbits` mantissa bits
// rounded away (round half to even on the bit pattern), so that compressors find more zeros.
//
// Configuration {"keepbits": int >= 0}; keepbits above the type's mantissa width (10, 23, 52 for
// float16/32/64) is InvalidArgument when the chain is prepared, equal to it leaves values as they
// are. With m = width - keepbits, the bits b become (b + ((b >> m) & 1) + 2^(m-1) - 1) with the
// low m bits cleared, in two's complement (numcodecs' arithmetic; NaN and infinity get no special
// case, as in numcodecs). Decoding is the identity.
//
// Integers (int8..int64, uint8..uint64, numpy.datetime64/timedelta64 as int64; zarr-extensions
// codecs/bitround): keepbits (>= 1, else InvalidArgument) bits are kept from the most significant
// set bit of the element's bit pattern (two's complement for signed types): with
// m = (bits up to that set bit) - keepbits > 0, the same half-to-even rounding on the pattern,
// the add saturating at the all-ones pattern, then the low m bits cleared (the registry's sample
// data: keepbits 3 takes uint8 123 to 128, 209 to 224, 255 to 224). Other types are Unsupported.
//
// Thread safety: immutable; shared between threads.
#pragma once

#include <memory>
#include <string>

#include "codecs/codec.h"
#include "zarrpp/json.h"

namespace zarrpp {

class BitroundCodec final : public ArrayToArrayCodec {
 public:
  static Result<std::shared_ptr<const Codec>> Factory(const Json& configuration);
  static Result<std::shared_ptr<const Codec>> NumcodecsFactory(const Json& configuration);
  static std::shared_ptr<const BitroundCodec> Make(uint32_t keepbits, bool numcodecs_name);

  uint32_t keepbits() const { return keepbits_; }
  std::string_view name() const override {
    return numcodecs_name_ ? "numcodecs.bitround" : "bitround";
  }
  Json ToJson() const override;
  Result<ChunkSpec> EncodedSpec(const ChunkSpec& decoded) const override;
  Status Encode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const override;
  Status Decode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const override;

 private:
  BitroundCodec(uint32_t keepbits, bool numcodecs_name)
      : keepbits_(keepbits), numcodecs_name_(numcodecs_name) {}
  uint32_t keepbits_;
  bool numcodecs_name_;
};

}  // namespace zarrpp
