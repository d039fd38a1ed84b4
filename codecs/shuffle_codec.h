// codecs/shuffle_codec.h - `numcodecs.shuffle`: the byte shuffle of numcodecs' Shuffle codec
// (Zarr v2 filter "shuffle").
//
// Configuration {"elementsize": int} (default 4). For n = size / elementsize elements, encoded
// byte j * n + i is decoded byte i * elementsize + j: first every element's byte 0, then every
// byte 1, and so on. elementsize 0 or 1 leaves the bytes as they are. A size that is not a
// multiple of elementsize is InvalidArgument on encode and Corruption on decode (numcodecs
// refuses it too). The encoded size equals the decoded size.
//
// Thread safety: immutable; shared between threads.
#pragma once

#include <memory>

#include "codecs/codec.h"
#include "zarrpp/json.h"

namespace zarrpp {

class ShuffleCodec final : public BytesToBytesCodec {
 public:
  static constexpr std::string_view kName = "numcodecs.shuffle";
  static Result<std::shared_ptr<const Codec>> Factory(const Json& configuration);
  static std::shared_ptr<const ShuffleCodec> Make(uint32_t elementsize);

  uint32_t elementsize() const { return elementsize_; }
  std::string_view name() const override { return kName; }
  Json ToJson() const override;
  std::optional<uint64_t> EncodedSize(uint64_t decoded_size) const override { return decoded_size; }
  Status Encode(ByteView in, Bytes& out) const override;
  Result<ByteView> Decode(ByteView in, DecodedSize size, Bytes& scratch) const override;

 private:
  explicit ShuffleCodec(uint32_t elementsize) : elementsize_(elementsize) {}
  uint32_t elementsize_;
};

}  // namespace zarrpp
