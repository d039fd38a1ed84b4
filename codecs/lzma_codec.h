// codecs/lzma_codec.h - `numcodecs.lzma`: an xz or legacy .lzma stream, as numcodecs' LZMA codec
// (Zarr v2 compressor "lzma") writes it.
//
// Configuration, as numcodecs: {"format": 1, "check": -1, "preset": null, "filters": null}.
//   format  1 = xz (default), 2 = legacy .lzma ("alone"), 0 = auto (decoding only); 3 (raw) is
//           Unsupported.
//   check   -1 = the format's default (CRC64 for xz), 0 none, 1 CRC32, 4 CRC64, 10 SHA-256;
//           encode-only.
//   preset  null = 6, else 0..9, optionally with the "extreme" flag 0x80000000; encode-only.
//   filters null, or a filter chain: read (an xz stream records its own chain), but encoding
//           with one is Unsupported.
// Decoding reads any xz or .lzma stream, bounded by the chunk spec and by a 128 MiB decoder
// memory limit (preset 9 needs 65 MiB); a stream that needs more is Unsupported.
//
// Thread safety: immutable; shared between threads.
#pragma once

#include <memory>

#include "codecs/codec.h"
#include "zarrpp/json.h"

namespace zarrpp {

class LzmaCodec final : public BytesToBytesCodec {
 public:
  static constexpr std::string_view kName = "numcodecs.lzma";
  struct Options {
    int format = 1;
    int check = -1;
    std::optional<uint32_t> preset;
    Json filters = nullptr;
  };
  static Result<Options> OptionsFromJson(const Json& configuration);
  static Result<std::shared_ptr<const LzmaCodec>> Make(Options options);
  static Result<std::shared_ptr<const Codec>> Factory(const Json& configuration);

  const Options& options() const { return options_; }
  std::string_view name() const override { return kName; }
  Json ToJson() const override;
  std::optional<uint64_t> EncodedSize(uint64_t) const override { return std::nullopt; }
  Status Encode(ByteView in, Bytes& out) const override;
  Result<ByteView> Decode(ByteView in, DecodedSize size, Bytes& scratch) const override;

 private:
  explicit LzmaCodec(Options options) : options_(std::move(options)) {}
  Options options_;
};

}  // namespace zarrpp
