// codecs/bytes_codec.h - the `bytes` array->bytes codec.
//
// Writes the chunk's elements in C order with the configured byte order. Complex values swap
// each float part separately; bool and r<N> have no byte order and are never swapped. The
// `endian` field may be left out only for types without a byte order (1-byte types and r<N>).
// Sub-byte types (int4, float4_e2m1fn, ...) take one byte each; decoding ignores the bits above
// their width (sign-extending int2/int4).
//
// Thread safety: immutable; shared between threads.
#pragma once

#include <memory>
#include <optional>

#include "codecs/codec.h"
#include "zarrpp/json.h"

namespace zarrpp {

class BytesCodec final : public ArrayToBytesCodec {
 public:
  enum class Endian { kLittle, kBig };
  struct Options {
    std::optional<Endian> endian;  // absent: only valid for types without a byte order
    friend bool operator==(const Options&, const Options&) = default;
  };

  // Parses {"endian": "little"|"big"} (or an empty/null configuration).
  static Result<Options> OptionsFromJson(const Json& configuration);
  static std::shared_ptr<const BytesCodec> Make(Options options);
  // The registry factory.
  static Result<std::shared_ptr<const Codec>> Factory(const Json& configuration);

  const Options& options() const { return options_; }

  std::string_view name() const override { return "bytes"; }
  Json ToJson() const override;
  Status ValidateSpec(const ChunkSpec& decoded) const override;
  std::optional<uint64_t> EncodedSize(const ChunkSpec& decoded) const override;
  bool IsIdentity(const ChunkSpec& decoded) const override;
  Status Encode(const ChunkSpec& decoded, ByteView array, Bytes& out) const override;
  Status Decode(const ChunkSpec& decoded, ByteView encoded, MutableByteView array) const override;

 private:
  explicit BytesCodec(Options options) : options_(options) {}
  // The component size to swap, or 0 when the bytes pass through unchanged.
  uint32_t SwapWidth(const ChunkSpec& decoded) const;

  Options options_;
};

}  // namespace zarrpp
