// codecs/codec.h - the codec model of the Zarr v3 spec.
//
// Three kinds of codec: array->array (transpose, reshape, bitround, numcodecs' value filters),
// array->bytes (bytes, sharding_indexed) and bytes->bytes (blosc, zstd, gzip, crc32c, numcodecs'
// compressors and checksums). Codecs are immutable once built from their JSON
// configuration and are shared between threads; scratch memory is passed in per call.
//
// Chunks in memory are C-order buffers of elements in the host (little-endian) representation.
// Codec errors are Status values without the chunk key; the pipeline adds the key as context.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zarrpp/bytes.h"
#include "zarrpp/data_type.h"
#include "zarrpp/json.h"
#include "zarrpp/metadata.h"
#include "zarrpp/status.h"

namespace zarrpp {

// The decoded representation of a chunk at some point in a chain: shape, data type, fill value.
struct ChunkSpec {
  std::vector<uint64_t> shape;
  DataType dtype;
  FillValue fill_value;

  uint64_t num_elements() const {
    uint64_t n = 1;
    for (uint64_t s : shape) n *= s;
    return n;
  }
  uint64_t num_bytes() const { return num_elements() * dtype.size(); }
};

// How many bytes a bytes->bytes decoder may produce for one value.
struct DecodedSize {
  DecodedSize(std::nullopt_t) {}                              // NOLINT: unknown, unbounded
  DecodedSize(uint64_t size) : exact(size) {}                 // NOLINT: exactly `size`
  DecodedSize(std::optional<uint64_t> size) : exact(size) {}  // NOLINT
  DecodedSize(std::optional<uint64_t> size, uint64_t expected_bytes, uint64_t max_bytes)
      : exact(size), expected(expected_bytes), max(max_bytes) {}

  // The exact decoded size when the chain knows it; any other size is Corruption.
  std::optional<uint64_t> exact;
  // When not exact: what the decoder may allocate before it has produced anything (the decoded
  // chunk's size from its spec). A size the encoded header announces is trusted no further than
  // this; past it the output grows geometrically, so memory stays within max(expected, 2 x the
  // bytes produced) plus a constant.
  uint64_t expected = 0;
  // When not exact: the most the value can decode to for the chunk spec; more is Corruption as
  // soon as the output passes it.
  uint64_t max = UINT64_MAX;
};

class Codec {
 public:
  enum class Kind { kArrayToArray, kArrayToBytes, kBytesToBytes };
  virtual ~Codec() = default;
  virtual Kind kind() const = 0;
  // The registered name, e.g. "blosc".
  virtual std::string_view name() const = 0;
  // The normalised metadata form: {"name": ..., "configuration": {...}} (configuration omitted
  // when the codec has none).
  virtual Json ToJson() const = 0;
};

class ArrayToArrayCodec : public Codec {
 public:
  Kind kind() const final { return Kind::kArrayToArray; }
  // The representation after encoding: shape, data type and fill value (a codec may change the
  // shape and the data type, e.g. numcodecs.astype, but not the number of elements).
  // InvalidArgument when the codec cannot take `decoded`.
  virtual Result<ChunkSpec> EncodedSpec(const ChunkSpec& decoded) const = 0;
  // `src` and `dst` are distinct buffers: the decoded side holds decoded.num_bytes() bytes, the
  // encoded side EncodedSpec(decoded).num_bytes().
  virtual Status Encode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const = 0;
  virtual Status Decode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const = 0;
};

class ArrayToBytesCodec : public Codec {
 public:
  Kind kind() const final { return Kind::kArrayToBytes; }
  // InvalidArgument when the codec cannot encode arrays of `decoded` (e.g. bytes without endian
  // for a multi-byte type, a sharding chunk_shape that does not divide the shard).
  virtual Status ValidateSpec(const ChunkSpec& decoded) const = 0;
  // The encoded size for arrays of `decoded`, or nullopt when it varies.
  virtual std::optional<uint64_t> EncodedSize(const ChunkSpec& decoded) const = 0;
  // An upper bound on the encoded size for arrays of `decoded` (the most a decoder before this
  // codec may produce). The default is EncodedSize(), or no bound when that varies.
  virtual uint64_t MaxEncodedSize(const ChunkSpec& decoded) const {
    return EncodedSize(decoded).value_or(UINT64_MAX);
  }
  // True when the encoded bytes are exactly the in-memory bytes, so a chain may skip the copy.
  virtual bool IsIdentity(const ChunkSpec& /*decoded*/) const { return false; }
  // `array` holds decoded.num_bytes() bytes; `out` is resized to the encoded bytes. An empty
  // `out` means the chunk holds nothing worth storing and its key is to be erased
  // (sharding_indexed with every inner chunk empty); other codecs never produce it.
  virtual Status Encode(const ChunkSpec& decoded, ByteView array, Bytes& out) const = 0;
  // `array` holds decoded.num_bytes() bytes and is fully written. Truncated or malformed input is
  // Corruption.
  virtual Status Decode(const ChunkSpec& decoded, ByteView encoded,
                        MutableByteView array) const = 0;
};

class BytesToBytesCodec : public Codec {
 public:
  Kind kind() const final { return Kind::kBytesToBytes; }
  // The encoded size for `decoded_size` input bytes, or nullopt when it varies (compressors).
  virtual std::optional<uint64_t> EncodedSize(uint64_t decoded_size) const = 0;
  // An upper bound on the encoded size of `decoded_size` input bytes written by any encoder of
  // this format. The default is EncodedSize(), or for a compressor the input plus 1/8 plus 64 KiB,
  // which covers the stored-block worst case of zstd, deflate and blosc.
  virtual uint64_t MaxEncodedSize(uint64_t decoded_size) const;
  // `out` is resized to the encoded bytes (its capacity is reused).
  virtual Status Encode(ByteView in, Bytes& out) const = 0;
  // Encodes `in` into the front of `buf` and returns the encoded bytes. `buf` grows as needed but
  // is not shrunk to them, so a buffer kept at the codec's worst-case size is not zero-filled
  // again on the next call (compressors override this). The default is Encode() into `buf`.
  virtual Result<ByteView> EncodeKeep(ByteView in, Bytes& buf) const;

 protected:
  // Encode() for codecs that implement EncodeKeep(): its bytes, `out` shrunk to them (cleared on
  // error).
  Status EncodeByKeep(ByteView in, Bytes& out) const;

 public:
  // Decodes `in`. `size` is the exact decoded size when the chain knows it (a mismatch is
  // Corruption), else the expected and largest sizes the chunk spec allows (see DecodedSize).
  // Returns the decoded bytes, which live in `scratch` or alias `in` (crc32c strips its suffix
  // without a copy).
  virtual Result<ByteView> Decode(ByteView in, DecodedSize size, Bytes& scratch) const = 0;
  // Decodes `in` into exactly out.size() bytes (any other size is Corruption). The default
  // decodes into a scratch buffer and copies; compressors decode in place.
  virtual Status DecodeInto(ByteView in, MutableByteView out) const;
};

class Store;
class Executor;
struct ArrayOptions;
class ShardIndexCache;

// What a partial decode or encode of one stored chunk may use besides the codec itself.
struct PartialCodecContext {
  Store* store = nullptr;
  std::string key;               // the chunk's store key
  Executor* executor = nullptr;  // for parallel work inside the chunk (may be null: inline)
  const ArrayOptions* options = nullptr;
  ShardIndexCache* index_cache = nullptr;  // may be null (no caching)
  // The batched (reference) pipeline: the touched inner chunks pass through the inner chain one
  // codec at a time, each into a buffer of its own, before any is scattered (reads) or stored
  // (writes); no decoding straight into the caller's buffer and no scalar memo.
  bool staged = false;
  // Extent of the chunk that lies inside the array (elements past it are never stored data).
  std::vector<uint64_t> in_bounds;
  // When set: receives the bytes a PartialDecode of a whole chunk fetched, or a PartialEncode of
  // a whole chunk stored (left unchanged by other paths). The pipelines use it to estimate what
  // the next chunk will hold.
  uint64_t* io_bytes = nullptr;
  // PartialDecode only. When set (rank entries, in bytes): `out` is a strided destination, the
  // element at position pos of the out box is at out + sum(pos[d] * out_strides[d]) and
  // out_shape only bounds it; each inner chunk is decoded once and copied into it, never
  // decoded in place. Null: `out` is C order of out_shape.
  const uint64_t* out_strides = nullptr;
};

// An array->bytes codec that can read or write part of a stored chunk without moving the whole
// value (sharding_indexed). The pipeline uses it only when the chain is exactly this codec: an
// outer array->array or bytes->bytes codec makes the stored value opaque. Boxes are given as an
// origin and shape inside the chunk, and a matching origin inside a caller's C-order buffer.
class PartialArrayToBytesCodec {
 public:
  virtual ~PartialArrayToBytesCodec() = default;
  // Writes the box (chunk_origin, box_shape) of the chunk at ctx.key into `out` (shape out_shape)
  // at out_origin. A missing chunk reads as the fill value.
  virtual Status PartialDecode(const ChunkSpec& decoded, const PartialCodecContext& ctx,
                               const uint64_t* chunk_origin, const std::vector<uint64_t>& box_shape,
                               uint8_t* out, const std::vector<uint64_t>& out_shape,
                               const uint64_t* out_origin) const = 0;
  // Stores new values for the box (chunk_origin, box_shape) of the chunk at ctx.key: taken from
  // `src` (shape src_shape) at src_origin, or `src` is one element repeated when `scalar`. The
  // caller serializes calls for one key.
  virtual Status PartialEncode(const ChunkSpec& decoded, const PartialCodecContext& ctx,
                               const uint64_t* chunk_origin, const std::vector<uint64_t>& box_shape,
                               const uint8_t* src, const std::vector<uint64_t>& src_shape,
                               const uint64_t* src_origin, bool scalar) const = 0;
};

// Builds a codec from its configuration object (may be null/absent).
using CodecFactory = Result<std::shared_ptr<const Codec>> (*)(const Json& configuration);

class CodecRegistry {
 public:
  // Registers (or replaces) `name`.
  void Register(std::string name, CodecFactory factory);
  // Builds a codec from metadata JSON: a name string or {"name", "configuration",
  // "must_understand"}. Unknown names are Unsupported naming the codec.
  Result<std::shared_ptr<const Codec>> Create(const Json& codec_json) const;
  bool Contains(std::string_view name) const;

 private:
  std::vector<std::pair<std::string, CodecFactory>> factories_;
};

// Registers every built-in codec; the one list of what zarrpp understands.
void RegisterBuiltinCodecs(CodecRegistry& registry);
// A registry holding the built-in codecs, built on first use and immutable afterwards.
const CodecRegistry& BuiltinCodecRegistry();

// Splits codec metadata JSON into name and configuration (object, possibly empty), checking the
// shape of the extension object. `where` names the codec list position in messages.
struct CodecJson {
  std::string name;
  Json configuration = Json::object();
  bool must_understand = true;
};
Result<CodecJson> ParseCodecJson(const Json& j);

}  // namespace zarrpp
