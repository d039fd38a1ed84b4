// codecs/reshape_codec.h - `reshape` (zarr-extensions, zarrs) and `zarrs.squeeze`: array->array
// codecs that change the chunk's shape and keep its C-order bytes.
//
// reshape: configuration {"shape": [entry, ...]}; each entry is a positive integer, -1 (at most
// one: whatever makes the element counts match) or a list of decoded dimension indices whose
// extents multiply (e.g. [[0, 1], -1, [3], 10]). A shape whose element count differs from the
// chunk's is InvalidArgument when the chain is prepared.
// zarrs.squeeze: no configuration; drops every dimension of extent 1.
//
// Thread safety: immutable; shared between threads.
#pragma once

#include <memory>
#include <vector>

#include "codecs/codec.h"
#include "zarrpp/json.h"

namespace zarrpp {

class ReshapeCodec final : public ArrayToArrayCodec {
 public:
  static Result<std::shared_ptr<const Codec>> Factory(const Json& configuration);
  std::string_view name() const override { return "reshape"; }
  Json ToJson() const override;
  Result<ChunkSpec> EncodedSpec(const ChunkSpec& decoded) const override;
  Status Encode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const override;
  Status Decode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const override;

 private:
  explicit ReshapeCodec(Json shape) : shape_(std::move(shape)) {}
  Json shape_;  // validated entries
};

class SqueezeCodec final : public ArrayToArrayCodec {
 public:
  static Result<std::shared_ptr<const Codec>> Factory(const Json& configuration);
  std::string_view name() const override { return "zarrs.squeeze"; }
  Json ToJson() const override { return {{"name", "zarrs.squeeze"}}; }
  Result<ChunkSpec> EncodedSpec(const ChunkSpec& decoded) const override;
  Status Encode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const override;
  Status Decode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const override;
};

}  // namespace zarrpp
