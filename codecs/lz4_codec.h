// codecs/lz4_codec.h - `numcodecs.lz4`: numcodecs' LZ4 framing (Zarr v2 compressor "lz4").
//
// Byte layout: the decoded size as 4 little-endian bytes, then one LZ4 block (not the LZ4 frame
// format). Configuration {"acceleration": int} (default 1; encode-only, values below 1 read as 1).
// The header is checked against the chunk spec before anything is allocated.
//
// Thread safety: immutable; shared between threads.
#pragma once

#include <memory>

#include "codecs/codec.h"
#include "zarrpp/json.h"

namespace zarrpp {

class Lz4Codec final : public BytesToBytesCodec {
 public:
  static constexpr std::string_view kName = "numcodecs.lz4";
  static constexpr uint64_t kHeaderSize = 4;
  struct Options {
    int acceleration = 1;
  };
  static Result<Options> OptionsFromJson(const Json& configuration);
  static std::shared_ptr<const Lz4Codec> Make(Options options);
  static Result<std::shared_ptr<const Codec>> Factory(const Json& configuration);

  const Options& options() const { return options_; }
  std::string_view name() const override { return kName; }
  Json ToJson() const override;
  std::optional<uint64_t> EncodedSize(uint64_t) const override { return std::nullopt; }
  Status Encode(ByteView in, Bytes& out) const override;
  Result<ByteView> Decode(ByteView in, DecodedSize size, Bytes& scratch) const override;
  Status DecodeInto(ByteView in, MutableByteView out) const override;

 private:
  explicit Lz4Codec(Options options) : options_(options) {}
  Options options_;
};

}  // namespace zarrpp
