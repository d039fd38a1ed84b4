// codecs/zlib_codec.h - `numcodecs.zlib`: a raw zlib stream (RFC 1950), as Zarr v2's "zlib"
// compressor writes it.
//
// Zarr v3 has no zlib codec; this one exists so that a Zarr v2 array whose compressor is
// {"id": "zlib", "level": L} maps onto a v3 codec chain. It is registered under the numcodecs
// name, which cannot collide with a v3 codec name, and appears only in chains built from v2
// metadata (or given explicitly). Encodes with libdeflate; decodes any single zlib stream.
//
// Thread safety: immutable; shared between threads. libdeflate state is per thread.
#pragma once

#include <memory>

#include "codecs/codec.h"
#include "zarrpp/json.h"

namespace zarrpp {

class ZlibCodec final : public BytesToBytesCodec {
 public:
  static constexpr std::string_view kName = "numcodecs.zlib";
  struct Options {
    int level = 1;  // 0..9; numcodecs' default is 1
    friend bool operator==(const Options&, const Options&) = default;
  };

  // Parses {"level": int} (absent: 1, as numcodecs); -1 reads as 6 (zlib's default level),
  // other levels outside 0..9 as the nearest of them.
  static Result<Options> OptionsFromJson(const Json& configuration);
  static Result<std::shared_ptr<const ZlibCodec>> Make(Options options);
  // The registry factory.
  static Result<std::shared_ptr<const Codec>> Factory(const Json& configuration);

  const Options& options() const { return options_; }

  std::string_view name() const override { return kName; }
  Json ToJson() const override;
  std::optional<uint64_t> EncodedSize(uint64_t) const override { return std::nullopt; }
  Status Encode(ByteView in, Bytes& out) const override;
  Result<ByteView> EncodeKeep(ByteView in, Bytes& buf) const override;
  Result<ByteView> Decode(ByteView in, DecodedSize size, Bytes& scratch) const override;
  Status DecodeInto(ByteView in, MutableByteView out) const override;

 private:
  explicit ZlibCodec(Options options) : options_(options) {}

  Options options_;
};

}  // namespace zarrpp
