// codecs/gzip_codec.h - the `gzip` bytes->bytes codec (DEFLATE in a RFC 1952 gzip member).
//
// Encodes with libdeflate. Decodes any single-member gzip stream (including zlib's output); when
// the decoded size is unknown, the ISIZE trailer sizes the first attempt.
//
// Thread safety: immutable; shared between threads. libdeflate state is per thread.
#pragma once

#include <cstdint>
#include <memory>

#include "codecs/codec.h"
#include "zarrpp/json.h"

namespace zarrpp {

class GzipCodec final : public BytesToBytesCodec {
 public:
  struct Options {
    int level = 5;  // 0..9, required in JSON
    friend bool operator==(const Options&, const Options&) = default;
  };

  // Parses {"level": 0..9}.
  static Result<Options> OptionsFromJson(const Json& configuration);
  static Result<std::shared_ptr<const GzipCodec>> Make(Options options);
  // The registry factory.
  static Result<std::shared_ptr<const Codec>> Factory(const Json& configuration);

  const Options& options() const { return options_; }

  std::string_view name() const override { return "gzip"; }
  Json ToJson() const override;
  std::optional<uint64_t> EncodedSize(uint64_t) const override { return std::nullopt; }
  Status Encode(ByteView in, Bytes& out) const override;
  Result<ByteView> EncodeKeep(ByteView in, Bytes& buf) const override;
  Result<ByteView> Decode(ByteView in, DecodedSize size, Bytes& scratch) const override;
  Status DecodeInto(ByteView in, MutableByteView out) const override;

 private:
  explicit GzipCodec(Options options) : options_(options) {}

  Options options_;
};

}  // namespace zarrpp
