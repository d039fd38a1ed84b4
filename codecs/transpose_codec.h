// codecs/transpose_codec.h - the `transpose` array->array codec.
//
// Encoding permutes the axes: out_shape[i] = in_shape[order[i]] and out[pos_out] = in[pos_in]
// with pos_out[i] = pos_in[order[i]] (numpy's transpose(a, order)). `order` must be an explicit
// permutation of 0..rank-1; the v2-era "C"/"F" strings are refused.
//
// Thread safety: immutable; shared between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "codecs/codec.h"
#include "zarrpp/json.h"

namespace zarrpp {

class TransposeCodec final : public ArrayToArrayCodec {
 public:
  struct Options {
    std::vector<uint32_t> order;
    friend bool operator==(const Options&, const Options&) = default;
  };

  // Parses {"order": [permutation]}.
  static Result<Options> OptionsFromJson(const Json& configuration);
  // InvalidArgument unless `order` is a permutation of 0..n-1.
  static Result<std::shared_ptr<const TransposeCodec>> Make(Options options);
  // The registry factory.
  static Result<std::shared_ptr<const Codec>> Factory(const Json& configuration);

  const Options& options() const { return options_; }

  std::string_view name() const override { return "transpose"; }
  Json ToJson() const override;
  Result<ChunkSpec> EncodedSpec(const ChunkSpec& decoded) const override;
  Status Encode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const override;
  Status Decode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const override;

 private:
  explicit TransposeCodec(Options options) : options_(std::move(options)) {}
  Status CheckSpec(const ChunkSpec& decoded, size_t src_size, size_t dst_size) const;

  Options options_;
};

}  // namespace zarrpp
