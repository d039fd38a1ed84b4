// codecs/blosc_codec.h - the `blosc` bytes->bytes codec (c-blosc 1.x chunk format).
//
// Output is a standard c-blosc frame with its 16-byte header. Frames are validated before they
// are decompressed, so truncated or corrupted input is Corruption and never read out of bounds.
// Uses the context API of c-blosc (no global state, no global lock).
//
// Thread safety: immutable; shared between threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "codecs/codec.h"
#include "zarrpp/json.h"

namespace zarrpp {

class BloscCodec final : public BytesToBytesCodec {
 public:
  enum class Shuffle { kNoShuffle, kShuffle, kBitShuffle };
  struct Options {
    std::string cname = "lz4";  // lz4 | lz4hc | blosclz | zstd | zlib
    int clevel = 5;             // 0 (no compression) .. 9
    Shuffle shuffle = Shuffle::kShuffle;
    std::optional<uint32_t> typesize;  // shuffle stride; required unless kNoShuffle
    uint64_t blocksize = 0;            // 0: chosen by c-blosc
    friend bool operator==(const Options&, const Options&) = default;
  };

  static Result<Options> OptionsFromJson(const Json& configuration);
  // InvalidArgument for out-of-range values, Unsupported for a compressor this build of c-blosc
  // lacks (snappy). `num_threads` is c-blosc's internal thread count per call; the default of 1
  // leaves parallelism to the caller, who decodes chunks concurrently.
  static Result<std::shared_ptr<const BloscCodec>> Make(Options options, int num_threads = 1);
  // The registry factory.
  static Result<std::shared_ptr<const Codec>> Factory(const Json& configuration);

  const Options& options() const { return options_; }

  std::string_view name() const override { return "blosc"; }
  Json ToJson() const override;
  std::optional<uint64_t> EncodedSize(uint64_t) const override { return std::nullopt; }
  Status Encode(ByteView in, Bytes& out) const override;
  Result<ByteView> EncodeKeep(ByteView in, Bytes& buf) const override;
  Result<ByteView> Decode(ByteView in, DecodedSize size, Bytes& scratch) const override;
  Status DecodeInto(ByteView in, MutableByteView out) const override;
  // Decodes only bytes [begin, end) of the frame `in`, which must decode to exactly `total`
  // bytes (Corruption otherwise), into `out` (end - begin bytes): only the blosc blocks holding
  // them are decompressed (partial decoding, codecs.md).
  Status DecodeRange(ByteView in, uint64_t total, uint64_t begin, uint64_t end, uint8_t* out,
                     Bytes& scratch) const;
  // Reads bytes [offset, offset + dest.size()) of the stored frame into dest; an error or a
  // version that went away (false) ends the decode with that result.
  using FrameReader = std::function<Result<bool>(uint64_t offset, MutableByteView dest)>;
  // DecodeRange of a frame of `frame_size` stored bytes that is not in memory: reads its header
  // and block starts, then only the bytes of the blocks holding [begin, end) (a memcpyed frame:
  // only those bytes). Returns false when `read` did. Block starts outside the frame are
  // Corruption; memory held is the frame's size, of which only the parts read are touched.
  Result<bool> DecodeRangeFrom(uint64_t frame_size, const FrameReader& read, uint64_t total,
                               uint64_t begin, uint64_t end, uint8_t* out, Bytes& scratch) const;

 private:
  BloscCodec(Options options, int num_threads)
      : options_(std::move(options)), num_threads_(num_threads) {}
  // Validates the frame header; returns the decoded size it announces.
  Result<uint64_t> CheckFrame(ByteView in) const;
  Status DecompressTo(ByteView in, uint8_t* dst, uint64_t size) const;

  Options options_;
  int num_threads_;
};

}  // namespace zarrpp
