// codecs/bz2_codec.h - `numcodecs.bz2`: one bzip2 stream, as numcodecs' BZ2 codec (Zarr v2
// compressor "bz2") writes it.
//
// Configuration {"level": 1..9} (default 1, numcodecs' default): the bzip2 block size in units of
// 100 kB. It only matters for encoding: a level outside 1..9 is read and clamped to the nearest.
// Decoding is bounded by the chunk spec (DecodedSize); libbz2's decoder uses at most ~3.6 MB.
//
// Thread safety: immutable; shared between threads.
#pragma once

#include <memory>

#include "codecs/codec.h"
#include "zarrpp/json.h"

namespace zarrpp {

class Bz2Codec final : public BytesToBytesCodec {
 public:
  static constexpr std::string_view kName = "numcodecs.bz2";
  struct Options {
    int level = 1;
  };
  static Result<Options> OptionsFromJson(const Json& configuration);
  static std::shared_ptr<const Bz2Codec> Make(Options options);
  static Result<std::shared_ptr<const Codec>> Factory(const Json& configuration);

  const Options& options() const { return options_; }
  std::string_view name() const override { return kName; }
  Json ToJson() const override;
  std::optional<uint64_t> EncodedSize(uint64_t) const override { return std::nullopt; }
  Status Encode(ByteView in, Bytes& out) const override;
  Result<ByteView> Decode(ByteView in, DecodedSize size, Bytes& scratch) const override;

 private:
  explicit Bz2Codec(Options options) : options_(options) {}
  Options options_;
};

}  // namespace zarrpp
