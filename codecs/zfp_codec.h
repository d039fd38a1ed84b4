// codecs/zfp_codec.h - the zfp array->bytes codecs: `zfp` (zarr-extensions codecs/zarrs.zfp, the
// form zarrs writes) and `numcodecs.zfpy` (numcodecs' ZFPY; Zarr v2 compressor "zfpy").
//
// Both store a chunk as one zfp stream (the format is defined by the zfp library, which zarrpp
// links). The chunk's C-order shape (d0, .., dn-1) is the zfp field nx = dn-1 (fastest), ny =
// dn-2, ...: the same values in the same order.
//
//   zfp             no header: the configuration says everything. Configuration {"mode":
//                   "fixed_rate" + "rate" | "fixed_precision" + "precision" | "fixed_accuracy" +
//                   "tolerance" | "reversible" | "expert" + "minbits", "maxbits", "maxprec",
//                   "minexp"}. Chunks of rank 1-4 are fields of that rank; a chunk of another
//                   rank drops its size-1 dimensions (a single element is a 1-d field of 1),
//                   more than 4 left is Unsupported. Types float32, float64, int32, int64, and
//                   int8/uint8/int16/uint16 promoted to int32 as the zfp_promote_* functions do.
//   numcodecs.zfpy  a full zfp header (magic, field type and shape, mode) then the stream, as
//                   zfpy.compress_numpy(write_header=True) writes it. Configuration {"mode": 2
//                   (fixed rate) | 3 (fixed precision) | 4 (fixed accuracy), "tolerance",
//                   "rate", "precision"} (numcodecs writes all four; -1 = unset) and an ignored
//                   "compression_kwargs". Decoding takes the mode from the header, which must
//                   name the chunk's type and shape (else Corruption). Types float32, float64,
//                   int32, int64; rank 1-4.
//
// Other types are Unsupported naming the type. Decoding is bounds-checked block by block: a
// truncated or hostile stream is Corruption, and memory stays within the chunk plus one block.
//
// Thread safety: immutable; shared between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "codecs/codec.h"
#include "zarrpp/json.h"

namespace zarrpp {

class ZfpCodec final : public ArrayToBytesCodec {
 public:
  enum class Flavor { kZfp, kZfpy };
  enum class Mode { kFixedRate, kFixedPrecision, kFixedAccuracy, kReversible, kExpert };
  struct Options {
    Flavor flavor = Flavor::kZfp;
    Mode mode = Mode::kReversible;
    double rate = -1;                                // fixed_rate: compressed bits per value
    int64_t precision = -1;                          // fixed_precision: bit planes kept
    double tolerance = -1;                           // fixed_accuracy: absolute error bound
    uint32_t minbits = 0, maxbits = 0, maxprec = 0;  // expert
    int32_t minexp = 0;                              // expert
    // numcodecs.zfpy: the integer mode as written (2, 3, 4; others cannot encode).
    int64_t zfpy_mode = 4;
  };

  static constexpr std::string_view kZfpName = "zfp";
  static constexpr std::string_view kZfpyName = "numcodecs.zfpy";

  static Result<std::shared_ptr<const ZfpCodec>> Make(Options options);
  // Registry factories for "zfp" and "numcodecs.zfpy".
  static Result<std::shared_ptr<const Codec>> Factory(const Json& configuration);
  static Result<std::shared_ptr<const Codec>> ZfpyFactory(const Json& configuration);

  const Options& options() const { return options_; }

  std::string_view name() const override {
    return options_.flavor == Flavor::kZfp ? kZfpName : kZfpyName;
  }
  Json ToJson() const override;
  // Unsupported for a data type or shape zfp cannot take.
  Status ValidateSpec(const ChunkSpec& decoded) const override;
  std::optional<uint64_t> EncodedSize(const ChunkSpec& /*decoded*/) const override {
    return std::nullopt;
  }
  // zfp's worst case for the chunk (zfp_stream_maximum_size).
  uint64_t MaxEncodedSize(const ChunkSpec& decoded) const override;
  Status Encode(const ChunkSpec& decoded, ByteView array, Bytes& out) const override;
  Status Decode(const ChunkSpec& decoded, ByteView encoded, MutableByteView array) const override;

 private:
  explicit ZfpCodec(Options options) : options_(options) {}
  Options options_;
};

}  // namespace zarrpp
