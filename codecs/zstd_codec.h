// codecs/zstd_codec.h - the `zstd` bytes->bytes codec (a Zstandard frame, RFC 8878).
//
// Frames with and without the content-size field decode: with it, the announced size is checked
// against the expected size before decompressing; without it, the frame is stream-decoded. One
// compression and one decompression context per thread are reused across calls.
//
// Thread safety: immutable; shared between threads.
#pragma once

#include <cstdint>
#include <memory>

#include "codecs/codec.h"
#include "zarrpp/json.h"

namespace zarrpp {

class ZstdCodec final : public BytesToBytesCodec {
 public:
  static constexpr int kMinLevel = -131072;
  static constexpr int kMaxLevel = 22;
  struct Options {
    int level = 0;          // required in JSON; 0 is libzstd's default level
    bool checksum = false;  // write and verify the frame's content checksum
    friend bool operator==(const Options&, const Options&) = default;
  };

  // Parses {"level": int, "checksum": bool (optional)}.
  static Result<Options> OptionsFromJson(const Json& configuration);
  static Result<std::shared_ptr<const ZstdCodec>> Make(Options options);
  // The registry factory.
  static Result<std::shared_ptr<const Codec>> Factory(const Json& configuration);

  const Options& options() const { return options_; }

  std::string_view name() const override { return "zstd"; }
  // "checksum" is written only when true (the extension's README form); both forms are read.
  Json ToJson() const override;
  std::optional<uint64_t> EncodedSize(uint64_t) const override { return std::nullopt; }
  Status Encode(ByteView in, Bytes& out) const override;
  Result<ByteView> EncodeKeep(ByteView in, Bytes& buf) const override;
  Result<ByteView> Decode(ByteView in, DecodedSize size, Bytes& scratch) const override;
  Status DecodeInto(ByteView in, MutableByteView out) const override;

 private:
  explicit ZstdCodec(Options options) : options_(options) {}

  Options options_;
};

}  // namespace zarrpp
