// codecs/crc32c_codec.h - the `crc32c` bytes->bytes codec and the CRC-32C function.
//
// Encoding appends the CRC-32C (Castagnoli, RFC 3720) of the input as 4 little-endian bytes.
// Decoding verifies it and returns a view of the input without the suffix (no copy). A mismatch
// or an input shorter than 4 bytes is Corruption.
//
// Thread safety: immutable; shared between threads.
#pragma once

#include <cstdint>
#include <memory>

#include "codecs/codec.h"
#include "zarrpp/json.h"

namespace zarrpp {

// CRC-32C of `data`: initial value 0xFFFFFFFF, reflected, final XOR 0xFFFFFFFF.
// Crc32c("123456789") == 0xE3069283.
uint32_t Crc32c(ByteView data);

class Crc32cCodec final : public BytesToBytesCodec {
 public:
  static constexpr uint64_t kChecksumSize = 4;

  static std::shared_ptr<const Crc32cCodec> Make();
  // The registry factory; any configuration field is InvalidArgument.
  static Result<std::shared_ptr<const Codec>> Factory(const Json& configuration);

  std::string_view name() const override { return "crc32c"; }
  Json ToJson() const override;
  std::optional<uint64_t> EncodedSize(uint64_t decoded_size) const override {
    return decoded_size + kChecksumSize;
  }
  Status Encode(ByteView in, Bytes& out) const override;
  Result<ByteView> Decode(ByteView in, DecodedSize size, Bytes& scratch) const override;
  Status DecodeInto(ByteView in, MutableByteView out) const override;

 private:
  Crc32cCodec() = default;
  // Verifies the suffix; returns the payload view.
  Result<ByteView> Verify(ByteView in) const;
};

}  // namespace zarrpp
