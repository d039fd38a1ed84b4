// codecs/checksum32_codec.h - numcodecs' 32-bit checksum codecs: `numcodecs.adler32`,
// `numcodecs.crc32` and `numcodecs.fletcher32` (Zarr v2 filters "adler32", "crc32",
// "fletcher32").
//
// Byte layout: the payload and its checksum as 4 little-endian bytes. adler32 and crc32 put the
// checksum before the payload by default ({"location": "start"}, numcodecs' default) or after it
// ({"location": "end"}); fletcher32 always puts it after. Checksums: Adler-32 (RFC 1950;
// Adler32("Wikipedia") == 0x11E60398), CRC-32 (ISO-HDLC, zlib's crc32; Crc32("123456789") ==
// 0xCBF43926), Fletcher-32 as HDF5 computes it (16-bit big-endian words, an odd last byte as the
// high byte of a word). Decoding verifies the checksum and returns a view of the payload (no
// copy); a mismatch or an input shorter than 4 bytes is Corruption.
//
// Thread safety: immutable; shared between threads.
#pragma once

#include <cstdint>
#include <memory>

#include "codecs/codec.h"
#include "zarrpp/json.h"

namespace zarrpp {

uint32_t Adler32(ByteView data);
uint32_t Crc32(ByteView data);
uint32_t Fletcher32(ByteView data);

class Checksum32Codec final : public BytesToBytesCodec {
 public:
  enum class Algorithm { kAdler32, kCrc32, kFletcher32 };
  static constexpr uint64_t kChecksumSize = 4;

  static std::shared_ptr<const Checksum32Codec> Make(Algorithm algorithm, bool at_end);
  static Result<std::shared_ptr<const Codec>> Adler32Factory(const Json& configuration);
  static Result<std::shared_ptr<const Codec>> Crc32Factory(const Json& configuration);
  static Result<std::shared_ptr<const Codec>> Fletcher32Factory(const Json& configuration);

  Algorithm algorithm() const { return algorithm_; }
  bool at_end() const { return at_end_; }
  std::string_view name() const override;
  Json ToJson() const override;
  std::optional<uint64_t> EncodedSize(uint64_t decoded_size) const override {
    return decoded_size + kChecksumSize;
  }
  Status Encode(ByteView in, Bytes& out) const override;
  Result<ByteView> Decode(ByteView in, DecodedSize size, Bytes& scratch) const override;

 private:
  Checksum32Codec(Algorithm algorithm, bool at_end) : algorithm_(algorithm), at_end_(at_end) {}
  uint32_t Compute(ByteView data) const;
  Algorithm algorithm_;
  bool at_end_;
};

}  // namespace zarrpp
