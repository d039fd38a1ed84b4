#include "codecs/partial_decode.h"

#include <algorithm>
#include <string>

#include "codecs/blosc_codec.h"
#include "codecs/bytes_codec.h"
#include "codecs/crc32c_codec.h"
#include "codecs/transpose_codec.h"
#include "src/array/indexing.h"

namespace zarrpp {

std::shared_ptr<const SpanDecoder> SpanDecoder::For(const PreparedChain& chain,
                                                    bool skip_checksum) {
  const CodecChain& c = chain.chain();
  if (dynamic_cast<const BytesCodec*>(c.array_to_bytes().get()) == nullptr) return nullptr;
  std::shared_ptr<SpanDecoder> d(new SpanDecoder());
  const auto& bbs = c.bytes_to_bytes();
  // blosc alone, or followed by crc32c when the checksum may be skipped: the frame is the value
  // without its 4-byte suffix.
  const bool crc_last = skip_checksum && !bbs.empty() &&
                        dynamic_cast<const Crc32cCodec*>(bbs.back().get()) != nullptr;
  if (bbs.size() == 1 || (bbs.size() == 2 && crc_last)) {
    d->blosc_ = std::dynamic_pointer_cast<const BloscCodec>(bbs[0]);
    if (d->blosc_ != nullptr && bbs.size() == 2) d->suffix_ = Crc32cCodec::kChecksumSize;
  }
  if (d->blosc_ == nullptr) {
    for (const auto& bb : bbs) {
      if (!skip_checksum || dynamic_cast<const Crc32cCodec*>(bb.get()) == nullptr) return nullptr;
    }
    if (!chain.encoded_size()) return nullptr;
  }
  const ChunkSpec& decoded = chain.decoded_spec();
  d->levels_.emplace_back(decoded.shape.size());
  for (size_t i = 0; i < decoded.shape.size(); ++i) d->levels_[0][i] = i;
  for (const auto& aa : c.array_to_array()) {
    const auto* t = dynamic_cast<const TransposeCodec*>(aa.get());
    if (t == nullptr) return nullptr;
    const std::vector<uint32_t>& order = t->options().order;
    const std::vector<size_t>& prev = d->levels_.back();
    if (order.size() != prev.size()) return nullptr;
    std::vector<size_t> next(prev.size());
    for (size_t i = 0; i < order.size(); ++i) next[i] = prev[order[i]];
    d->levels_.push_back(std::move(next));
    d->transposes_.push_back(aa);
  }
  const ChunkSpec& ab = chain.array_to_bytes_spec();
  if (ab.dtype.size() != decoded.dtype.size() || ab.dtype.size() == 0) return nullptr;
  d->bytes_ = c.array_to_bytes();
  d->bytes_identity_ = d->bytes_->IsIdentity(ab);
  d->dtype_ = decoded.dtype;
  d->fill_ = decoded.fill_value;
  d->encoded_shape_ = ab.shape;
  d->elem_size_ = ab.dtype.size();
  d->span_space_ = ab.num_bytes();
  const size_t r = ab.shape.size();
  d->dim_stride_.assign(r, 0);
  d->zeros_.assign(r, 0);
  uint64_t stride = 1;
  for (size_t i = r; i-- > 0;) {
    d->dim_stride_[d->levels_.back()[i]] = stride;
    stride *= ab.shape[i];
  }
  if (d->blosc_ == nullptr) {
    d->value_size_ = *chain.encoded_size();
    if (ab.num_bytes() + (bbs.empty() ? 0 : Crc32cCodec::kChecksumSize) != d->value_size_) {
      return nullptr;
    }
  }
  return d;
}

SpanDecoder::Span SpanDecoder::SpanOf(const uint64_t* origin,
                                      const std::vector<uint64_t>& shape) const {
  uint64_t first = 0, last = 0;
  for (size_t d = 0; d < dim_stride_.size(); ++d) {
    first += origin[d] * dim_stride_[d];
    last += (origin[d] + shape[d] - 1) * dim_stride_[d];
  }
  return Span{first * elem_size_, (last + 1) * elem_size_};
}

uint64_t SpanDecoder::SpanSize(const std::vector<uint64_t>& shape,
                               const std::vector<uint64_t>* clip) const {
  uint64_t last = 0;
  for (size_t d = 0; d < dim_stride_.size(); ++d) {
    const uint64_t n = clip != nullptr ? std::min(shape[d], (*clip)[d]) : shape[d];
    if (n == 0) return 0;
    last += (n - 1) * dim_stride_[d];
  }
  return (last + 1) * elem_size_;
}

Status SpanDecoder::DecodeBox(const std::vector<uint64_t>& shape, ByteView span, uint8_t* out,
                              const std::vector<uint64_t>& out_shape, const uint64_t* out_origin,
                              Bytes& s1, Bytes& s2) const {
  // The span starts at the box's first element, and C-order offsets are linear in the
  // coordinates: the box's elements lie in it as in the chunk, counted from origin zero.
  const size_t r = shape.size();
  const std::vector<uint64_t>& zeros = zeros_;
  if (transposes_.empty() && bytes_identity_) {
    // The span's elements are the chunk's, in place: copy the box straight out.
    internal::CopyBox(span.data(), encoded_shape_, zeros.data(), out, out_shape, out_origin, shape,
                      elem_size_);
    return Status::OK();
  }
  // The box's shape at every level of the chain.
  std::vector<std::vector<uint64_t>> shapes(levels_.size(), std::vector<uint64_t>(r));
  for (size_t k = 0; k < levels_.size(); ++k) {
    for (size_t i = 0; i < r; ++i) shapes[k][i] = shape[levels_[k][i]];
  }
  uint64_t n = elem_size_;
  for (uint64_t e : shape) n *= e;
  Bytes* cur = &s1;
  Bytes* other = &s2;
  cur->resize(n);
  internal::CopyBox(span.data(), encoded_shape_, zeros.data(), cur->data(), shapes.back(),
                    zeros.data(), shapes.back(), elem_size_);
  if (!bytes_identity_) {
    other->resize(n);
    RETURN_IF_ERROR(bytes_->Decode(ChunkSpec{shapes.back(), dtype_, fill_}, *cur, *other));
    std::swap(cur, other);
  }
  for (size_t k = transposes_.size(); k-- > 0;) {
    other->resize(n);
    RETURN_IF_ERROR(transposes_[k]->Decode(ChunkSpec{shapes[k], dtype_, fill_}, *cur, *other));
    std::swap(cur, other);
  }
  internal::CopyBox(cur->data(), shape, zeros.data(), out, out_shape, out_origin, shape,
                    elem_size_);
  return Status::OK();
}

Status SpanDecoder::SpanFromValue(ByteView value, Span span, uint8_t* out, Bytes& scratch) const {
  if (blosc_ == nullptr) {
    return Status::InvalidArgument("a span of an uncompressed value is read, not decoded");
  }
  if (value.size() < suffix_) {
    return Status::Corruption("value of " + std::to_string(value.size()) +
                              " bytes is shorter than its crc32c suffix");
  }
  return blosc_->DecodeRange(value.first(value.size() - suffix_), span_space_, span.begin, span.end,
                             out, scratch);
}

Result<bool> SpanDecoder::SpanFromReader(
    uint64_t value_size, const std::function<Result<bool>(uint64_t, MutableByteView)>& read,
    Span span, uint8_t* out, Bytes& scratch) const {
  if (blosc_ == nullptr) {
    return Status::InvalidArgument("a span of an uncompressed value is read, not decoded");
  }
  if (value_size < suffix_) {
    return Status::Corruption("value of " + std::to_string(value_size) +
                              " bytes is shorter than its crc32c suffix");
  }
  return blosc_->DecodeRangeFrom(value_size - suffix_, read, span_space_, span.begin, span.end, out,
                                 scratch);
}

}  // namespace zarrpp
