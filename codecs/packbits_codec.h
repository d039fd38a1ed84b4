// codecs/packbits_codec.h - the `packbits` array->bytes codec (zarr-extensions
// codecs/packbits).
//
// Each element is k = components x (last_bit - first_bit + 1) bits: for every component (two
// for complex types) the bits first_bit..last_bit of its little-endian representation. Elements
// follow in C order as one bit sequence, least significant bit first: sequence bit i is bit
// (i % 8) of byte i / 8; the last byte is zero-padded. padding_encoding "first_byte" /
// "last_byte" adds one byte holding the number of padding bits before / after the packed bytes
// ("none", the default, adds nothing). Decoding shifts the bits back to first_bit and
// sign-extends signed integers (int2/int4 to their int8 byte, numpy.datetime64/timedelta64 as
// int64), zero-extending everything else.
//
// Takes every fixed-size type except r<N>. Default bit ranges: bool 1 bit, int2/uint2 2,
// int4/uint4/float4_e2m1fn 4, float6_* 6, other types 8 x their component size.
//
// Thread safety: immutable; shared between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "codecs/codec.h"
#include "zarrpp/json.h"

namespace zarrpp {

class PackBitsCodec final : public ArrayToBytesCodec {
 public:
  enum class Padding { kNone, kFirstByte, kLastByte };
  struct Options {
    Padding padding = Padding::kNone;
    std::optional<uint32_t> first_bit;  // absent: 0
    std::optional<uint32_t> last_bit;   // absent: the component's bits - 1
    friend bool operator==(const Options&, const Options&) = default;
  };

  // Parses {"padding_encoding", "first_bit", "last_bit"} (each optional, null = absent).
  static Result<Options> OptionsFromJson(const Json& configuration);
  // InvalidArgument when last_bit < first_bit.
  static Result<std::shared_ptr<const PackBitsCodec>> Make(Options options);
  // The registry factory.
  static Result<std::shared_ptr<const Codec>> Factory(const Json& configuration);

  const Options& options() const { return options_; }

  std::string_view name() const override { return "packbits"; }
  Json ToJson() const override;
  Status ValidateSpec(const ChunkSpec& decoded) const override;
  std::optional<uint64_t> EncodedSize(const ChunkSpec& decoded) const override;
  Status Encode(const ChunkSpec& decoded, ByteView array, Bytes& out) const override;
  Status Decode(const ChunkSpec& decoded, ByteView encoded, MutableByteView array) const override;

 private:
  explicit PackBitsCodec(Options options) : options_(options) {}
  struct Layout {
    uint32_t first = 0;       // first bit kept of each component
    uint32_t width = 0;       // bits kept of each component
    uint32_t components = 1;  // 2 for complex types
    uint32_t component_bytes = 1;
    bool sign_extend = false;
  };
  Result<Layout> LayoutFor(const ChunkSpec& decoded) const;

  Options options_;
};

}  // namespace zarrpp
