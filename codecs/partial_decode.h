// codecs/partial_decode.h - decoding a box of a chunk from one byte span of its encoded value.
//
// A prepared chain whose encoded value places every element at a fixed byte offset can decode
// any box of a chunk from the span of the value that holds it, without the rest: chains of zero
// or more `transpose`, then `bytes` (either byte order), then optionally `crc32c` when the caller
// accepts reads that do not verify the checksum (a part of a value cannot be checked against it).
// The same chains with `blosc` as their only bytes->bytes codec (or `blosc` then `crc32c`, when
// the caller accepts unverified reads) decode a span out of the whole stored value,
// decompressing only the blosc blocks that hold it. Every other chain (other
// compressors and filters, sharding) has no such decoder and is decoded whole.
//
// Thread safety: immutable; shared between threads. Scratch buffers are passed in per call.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "codecs/codec_chain.h"

namespace zarrpp {

class BloscCodec;

class SpanDecoder {
 public:
  // The decoder for `chain`, or null when the chain cannot decode a box from a span of its value.
  // A chain ending in crc32c has one only when `skip_checksum`; its spans never include the
  // checksum, which is not verified.
  static std::shared_ptr<const SpanDecoder> For(const PreparedChain& chain, bool skip_checksum);

  // True when spans are decoded out of a compressed frame (blosc): the whole value is fetched,
  // and value_size() is not known.
  bool compressed() const { return blosc_ != nullptr; }
  // The exact size of every encoded value when not compressed(); any other size is Corruption.
  uint64_t value_size() const { return value_size_; }
  // The bytes of the representation spans address: the chunk entering the bytes codec.
  uint64_t span_space() const { return span_space_; }

  // The byte span [begin, end) holding the box (origin, shape) of the decoded chunk, in the
  // bytes codec's output (the stored value itself unless compressed()). The box is non-empty and
  // inside the chunk.
  struct Span {
    uint64_t begin = 0;
    uint64_t end = 0;
  };
  Span SpanOf(const uint64_t* origin, const std::vector<uint64_t>& shape) const;
  // The size of the span of any box of `shape` (the same wherever the box lies), each extent first
  // clipped to `clip` when given.
  uint64_t SpanSize(const std::vector<uint64_t>& shape,
                    const std::vector<uint64_t>* clip = nullptr) const;

  // Decodes the box of `shape` from `span`, the bytes SpanOf() named for it, into `out` (a C-order
  // buffer of shape out_shape) at out_origin. `s1` and `s2` are scratch.
  Status DecodeBox(const std::vector<uint64_t>& shape, ByteView span, uint8_t* out,
                   const std::vector<uint64_t>& out_shape, const uint64_t* out_origin, Bytes& s1,
                   Bytes& s2) const;

  // Bytes of the stored value after the compressed frame (the crc32c suffix), or 0.
  uint64_t suffix() const { return suffix_; }

  // compressed(): decodes the span's bytes out of the whole stored value into `out`
  // (span.end - span.begin bytes). A frame that is damaged or decodes to another size than the
  // chunk's is Corruption.
  Status SpanFromValue(ByteView value, Span span, uint8_t* out, Bytes& scratch) const;
  // compressed(): the same for a stored value of `value_size` bytes read in parts through `read`
  // (the frame's header, block starts and the blocks holding the span). False when `read`
  // returned false (the version read went away).
  Result<bool> SpanFromReader(uint64_t value_size,
                              const std::function<Result<bool>(uint64_t, MutableByteView)>& read,
                              Span span, uint8_t* out, Bytes& scratch) const;

 private:
  SpanDecoder() = default;
  std::vector<std::shared_ptr<const ArrayToArrayCodec>> transposes_;
  std::shared_ptr<const ArrayToBytesCodec> bytes_;
  std::shared_ptr<const BloscCodec> blosc_;
  DataType dtype_;
  FillValue fill_;
  std::vector<uint64_t> encoded_shape_;  // the array entering the bytes codec
  // levels_[k]: which decoded dimension each dimension of the representation entering
  // array->array codec k is (levels_.back(): the one entering the bytes codec).
  std::vector<std::vector<size_t>> levels_;
  // dim_stride_[d]: the C-order stride (in elements) in the encoded array of decoded dimension d.
  std::vector<uint64_t> dim_stride_;
  std::vector<uint64_t> zeros_;  // rank zeros: the origin of a box in a buffer of its own
  size_t elem_size_ = 0;
  uint64_t value_size_ = 0;
  uint64_t span_space_ = 0;
  uint64_t suffix_ = 0;
  bool bytes_identity_ = false;
};

}  // namespace zarrpp
