// codecs/vlen_codec.h - the `vlen-utf8` and `vlen-bytes` array->bytes codecs and the decoded form
// of a chunk of a variable-size data type (string, bytes).
//
// A decoded variable-size chunk is a VariableChunk: N + 1 offsets and the N elements' bytes
// concatenated in C order. The encoded layout (numcodecs VLenUTF8 / VLenBytes, one layout for
// both) is a u32 little-endian element count, then per element a u32 little-endian byte length
// and the bytes (spec/strings.md). These codecs have no fixed-size form: Encode and Decode of the
// ArrayToBytesCodec interface are FailedPrecondition; the variable-size path
// (src/pipeline/variable_chunks.h) calls EncodeVariable and DecodeVariable.
//
// Thread safety: immutable; shared between threads.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "codecs/codec.h"
#include "zarrpp/json.h"

namespace zarrpp {

// The decoded chunk of a variable-size type: element i is data[offsets[i], offsets[i + 1]).
// offsets has size() + 1 entries, non-decreasing, starting at 0.
struct VariableChunk {
  std::vector<uint64_t> offsets{0};
  Bytes data;

  uint64_t size() const { return offsets.size() - 1; }
  std::string_view at(uint64_t i) const {
    return std::string_view(reinterpret_cast<const char*>(data.data()) + offsets[i],
                            offsets[i + 1] - offsets[i]);
  }
  void push_back(std::string_view v) {
    data.insert(data.end(), v.begin(), v.end());
    offsets.push_back(data.size());
  }
  // `n` copies of `v`.
  static VariableChunk Filled(uint64_t n, std::string_view v);
};

// True when `s` is well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF).
bool IsValidUtf8(std::string_view s);

class VlenCodec final : public ArrayToBytesCodec {
 public:
  enum class Flavor { kUtf8, kBytes };
  static std::shared_ptr<const VlenCodec> Make(Flavor flavor);
  // Registry factories of "vlen-utf8" and "vlen-bytes"; a non-empty configuration is
  // InvalidArgument.
  static Result<std::shared_ptr<const Codec>> FactoryUtf8(const Json& configuration);
  static Result<std::shared_ptr<const Codec>> FactoryBytes(const Json& configuration);

  Flavor flavor() const { return flavor_; }
  std::string_view name() const override {
    return flavor_ == Flavor::kUtf8 ? "vlen-utf8" : "vlen-bytes";
  }
  Json ToJson() const override { return Json{{"name", std::string(name())}}; }
  // InvalidArgument unless the data type is variable-size (string or bytes).
  Status ValidateSpec(const ChunkSpec& decoded) const override;
  std::optional<uint64_t> EncodedSize(const ChunkSpec& /*decoded*/) const override {
    return std::nullopt;
  }
  Status Encode(const ChunkSpec& decoded, ByteView array, Bytes& out) const override;
  Status Decode(const ChunkSpec& decoded, ByteView encoded, MutableByteView array) const override;

  // `chunk` holds decoded.num_elements() elements. An element of 2^32 bytes or more is
  // InvalidArgument.
  Status EncodeVariable(const ChunkSpec& decoded, const VariableChunk& chunk, Bytes& out) const;
  // Corruption for a count other than decoded.num_elements(), a length past the value, trailing
  // bytes, or (string type) an element that is not UTF-8. Allocates no more than the value's size
  // justifies.
  Status DecodeVariable(const ChunkSpec& decoded, ByteView encoded, VariableChunk& out) const;

 private:
  explicit VlenCodec(Flavor flavor) : flavor_(flavor) {}
  Flavor flavor_;
};

}  // namespace zarrpp
