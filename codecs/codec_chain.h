// codecs/codec_chain.h - a validated codec chain and its prepared form for one chunk spec.
//
// CodecChain: 0..n array->array, exactly one array->bytes, 0..n bytes->bytes (validated once).
// PreparedChain: the chain bound to one chunk spec (shape, data type, fill value); it knows the
// representation at every step and the encoded size (fixed or variable), and is reused for every
// chunk of that spec. Both are immutable and shared between threads; per-call scratch memory is a
// ChainScratch owned by the calling worker.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "codecs/codec.h"
#include "zarrpp/executor.h"
#include "zarrpp/json.h"

namespace zarrpp {

// Per-worker scratch buffers reused across chunks (no per-chunk heap churn).
struct ChainScratch {
  Bytes a, b, c;
};

class PreparedChain;

class CodecChain {
 public:
  // Builds and validates a chain from the metadata "codecs" list.
  static Result<CodecChain> FromJson(const Json& codecs,
                                     const CodecRegistry& registry = BuiltinCodecRegistry());
  static Result<CodecChain> FromCodecs(std::vector<std::shared_ptr<const Codec>> codecs);

  Json ToJson() const;

  const std::vector<std::shared_ptr<const ArrayToArrayCodec>>& array_to_array() const {
    return aa_;
  }
  const std::shared_ptr<const ArrayToBytesCodec>& array_to_bytes() const { return ab_; }
  const std::vector<std::shared_ptr<const BytesToBytesCodec>>& bytes_to_bytes() const {
    return bb_;
  }

  // Binds the chain to `spec`, checking every codec accepts its input representation.
  Result<std::shared_ptr<const PreparedChain>> Prepare(const ChunkSpec& spec) const;

 private:
  std::vector<std::shared_ptr<const ArrayToArrayCodec>> aa_;
  std::shared_ptr<const ArrayToBytesCodec> ab_;
  std::vector<std::shared_ptr<const BytesToBytesCodec>> bb_;
};

class PreparedChain {
 public:
  const CodecChain& chain() const { return chain_; }
  const ChunkSpec& decoded_spec() const { return specs_.front(); }
  // The spec entering the array->bytes codec (after the array->array codecs).
  const ChunkSpec& array_to_bytes_spec() const { return specs_.back(); }
  // Size of every encoded chunk when fixed, else nullopt.
  std::optional<uint64_t> encoded_size() const { return encoded_size_; }
  // An upper bound on the encoded size of one chunk (UINT64_MAX when none is known).
  uint64_t max_encoded_size() const { return max_encoded_size_; }

  // Encodes one chunk of decoded_spec().num_bytes() bytes. The result aliases `chunk` or lives in
  // `scratch`, valid until `scratch` is next used.
  Result<ByteView> Encode(ByteView chunk, ChainScratch& scratch) const;
  // True when stored bytes are exactly the chunk's memory bytes (no array->array codec, an
  // identity array->bytes codec, no bytes->bytes codec): readers may copy straight from them.
  bool is_identity() const {
    return ab_identity_ && chain_.array_to_array().empty() && chain_.bytes_to_bytes().empty();
  }
  // Decodes `encoded` into `out` (exactly decoded_spec().num_bytes() bytes), straight into `out`
  // when no array->array codec intervenes.
  Status Decode(ByteView encoded, MutableByteView out, ChainScratch& scratch) const;

  // Codec at a time over a batch (the batched pipeline's phases): each codec of the chain runs on
  // every chunk of the batch, in parallel on `ex`, before the next codec starts, and every step
  // leaves its output in a buffer of its own. Entries with present[i] == 0 are skipped. Errors
  // name where(i). Identity steps (a little-endian bytes codec) pass buffers through untouched.
  //
  // EncodeBatch replaces chunks[i] by its encoded form and clears present[i] when a chunk
  // encodes to nothing (the array->bytes codec asks for the key to be erased).
  Status EncodeBatch(std::vector<Bytes>& chunks, std::vector<uint8_t>& present, Executor& ex,
                     size_t grain, const std::function<std::string(size_t)>& where) const;
  // DecodeBatch decodes encoded[i] into decoded[i] (decoded_spec().num_bytes() bytes). With an
  // identity chain the bytes are copied; callers read such chunks where they lie instead.
  Status DecodeBatch(const std::vector<ByteView>& encoded, const std::vector<uint8_t>& present,
                     std::vector<Bytes>& decoded, Executor& ex, size_t grain,
                     const std::function<std::string(size_t)>& where) const;

 private:
  friend class CodecChain;
  CodecChain chain_;
  std::vector<ChunkSpec> specs_;  // specs_[i] enters aa codec i; back() enters the ab codec
  std::optional<uint64_t> ab_encoded_size_;
  std::optional<uint64_t> encoded_size_;
  std::vector<uint64_t> bb_max_;  // bb_max_[k]: the most bytes->bytes codec k may decode to
  uint64_t max_encoded_size_ = UINT64_MAX;
  // What bytes->bytes codec k may decode to: exact when every codec before it has a fixed size.
  DecodedSize BytesDecodedSize(size_t k) const;
  bool ab_identity_ = false;
};

}  // namespace zarrpp
