#include "codecs/transpose_codec.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "zarrpp/json.h"

namespace zarrpp {

namespace {

// One axis of a strided copy: element count and byte strides in source and destination.
struct Axis {
  uint64_t count;
  uint64_t src_stride;
  uint64_t dst_stride;
};

std::string JoinShape(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

// Copies the plane spanned by axes `o` (outer) and `i` (inner). When the inner axis is strided
// on either side, the plane is copied in square tiles so that reads and writes both stay within a
// few cache lines per row; a plain row-by-row walk would touch a new line (and often a new page)
// for every element. kSize is the element size, or 0 for sizes known only at run time.
template <size_t kSize>
void CopyPlane(const uint8_t* src, uint8_t* dst, const Axis& o, const Axis& i, size_t elem) {
  const size_t es = kSize != 0 ? kSize : elem;
  auto copy = [&](uint8_t* d, const uint8_t* s) { std::memcpy(d, s, kSize != 0 ? kSize : elem); };
  if (i.src_stride == es && i.dst_stride == es) {
    for (uint64_t a = 0; a < o.count; ++a) {
      std::memcpy(dst + a * o.dst_stride, src + a * o.src_stride, i.count * es);
    }
    return;
  }
  constexpr uint64_t kTile = 64;
  for (uint64_t a0 = 0; a0 < o.count; a0 += kTile) {
    const uint64_t a1 = std::min(o.count, a0 + kTile);
    for (uint64_t b0 = 0; b0 < i.count; b0 += kTile) {
      const uint64_t b1 = std::min(i.count, b0 + kTile);
      for (uint64_t a = a0; a < a1; ++a) {
        const uint8_t* s = src + a * o.src_stride;
        uint8_t* d = dst + a * o.dst_stride;
        for (uint64_t b = b0; b < b1; ++b) copy(d + b * i.dst_stride, s + b * i.src_stride);
      }
    }
  }
}

// Visits every element of `axes` (outermost first) and copies it: the innermost two axes form a
// tiled plane, the others are walked with an odometer.
template <size_t kSize>
void StridedCopyOf(const uint8_t* src, uint8_t* dst, const Axis* axes, size_t rank, size_t elem) {
  if (rank == 0) {
    std::memcpy(dst, src, elem);
    return;
  }
  if (rank == 1) {
    CopyPlane<kSize>(src, dst, Axis{1, 0, 0}, axes[0], elem);
    return;
  }
  const Axis& plane_outer = axes[rank - 2];
  const Axis& plane_inner = axes[rank - 1];
  const size_t outer = rank - 2;
  if (outer == 0) {
    CopyPlane<kSize>(src, dst, plane_outer, plane_inner, elem);
    return;
  }
  uint64_t counter_storage[16];
  std::vector<uint64_t> counter_heap;
  uint64_t* counter = counter_storage;
  if (outer > 16) {
    counter_heap.resize(outer);
    counter = counter_heap.data();
  }
  std::fill(counter, counter + outer, 0);
  uint64_t src_off = 0;
  uint64_t dst_off = 0;
  while (true) {
    CopyPlane<kSize>(src + src_off, dst + dst_off, plane_outer, plane_inner, elem);
    // Advance the odometer over the axes outside the plane.
    size_t d = outer;
    while (true) {
      if (d == 0) return;
      --d;
      src_off += axes[d].src_stride;
      dst_off += axes[d].dst_stride;
      if (++counter[d] < axes[d].count) break;
      src_off -= axes[d].src_stride * axes[d].count;
      dst_off -= axes[d].dst_stride * axes[d].count;
      counter[d] = 0;
    }
  }
}

void StridedCopy(const uint8_t* src, uint8_t* dst, const Axis* axes, size_t rank, size_t elem) {
  switch (elem) {
    case 1: return StridedCopyOf<1>(src, dst, axes, rank, elem);
    case 2: return StridedCopyOf<2>(src, dst, axes, rank, elem);
    case 4: return StridedCopyOf<4>(src, dst, axes, rank, elem);
    case 8: return StridedCopyOf<8>(src, dst, axes, rank, elem);
    case 16: return StridedCopyOf<16>(src, dst, axes, rank, elem);
    default: return StridedCopyOf<0>(src, dst, axes, rank, elem);
  }
}

// Copies between the decoded layout (`in_shape`, C order) and the encoded layout (the permuted
// shape, C order). `encode` selects the direction; the iteration always walks the encoded array
// in C order, so one side is contiguous.
void Permute(const std::vector<uint64_t>& in_shape, const std::vector<uint32_t>& order, size_t elem,
             const uint8_t* src, uint8_t* dst, bool encode) {
  const size_t rank = in_shape.size();
  Axis axes_storage[16];
  std::vector<Axis> axes_heap;
  Axis* axes = axes_storage;
  if (rank > 16) {
    axes_heap.resize(rank);
    axes = axes_heap.data();
  }
  // Byte strides of the decoded (C-order) array.
  uint64_t in_strides_storage[16];
  std::vector<uint64_t> in_strides_heap;
  uint64_t* in_strides = in_strides_storage;
  if (rank > 16) {
    in_strides_heap.resize(rank);
    in_strides = in_strides_heap.data();
  }
  uint64_t stride = elem;
  for (size_t i = rank; i-- > 0;) {
    in_strides[i] = stride;
    stride *= in_shape[i];
  }
  // Encoded-array axes, C order, contiguous strides.
  uint64_t enc_stride = elem;
  for (size_t i = rank; i-- > 0;) {
    const uint64_t count = in_shape[order[i]];
    const uint64_t strided = in_strides[order[i]];
    axes[i] = encode ? Axis{count, strided, enc_stride} : Axis{count, enc_stride, strided};
    enc_stride *= count;
  }
  // Drop unit axes and merge neighbours that are contiguous on both sides, so the inner loop is
  // as long as possible (an identity permutation becomes one flat copy).
  size_t n = 0;
  for (size_t i = 0; i < rank; ++i) {
    if (axes[i].count == 1) continue;
    if (n > 0) {
      Axis& prev = axes[n - 1];
      if (prev.src_stride == axes[i].src_stride * axes[i].count &&
          prev.dst_stride == axes[i].dst_stride * axes[i].count) {
        prev = Axis{prev.count * axes[i].count, axes[i].src_stride, axes[i].dst_stride};
        continue;
      }
    }
    axes[n++] = axes[i];
  }
  if (n == 1 && axes[0].src_stride == elem && axes[0].dst_stride == elem) {
    std::memcpy(dst, src, axes[0].count * elem);
    return;
  }
  StridedCopy(src, dst, axes, n, elem);
}

}  // namespace

Result<TransposeCodec::Options> TransposeCodec::OptionsFromJson(const Json& configuration) {
  if (!configuration.is_object()) {
    return Status::InvalidArgument("configuration with \"order\" is required");
  }
  Options options;
  bool have_order = false;
  for (const auto& [key, value] : configuration.items()) {
    if (key != "order") {
      return Status::InvalidArgument("unexpected configuration field \"" + key + "\"");
    }
    if (value.is_string()) {
      return Status::InvalidArgument("configuration.order " + value.dump() +
                                     " is not allowed in Zarr v3; give an explicit permutation");
    }
    if (!value.is_array()) {
      return Status::InvalidArgument("configuration.order must be an array of integers, got " +
                                     value.dump());
    }
    for (const Json& v : value) {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 ||
          v.get<int64_t>() > static_cast<int64_t>(UINT32_MAX)) {
        return Status::InvalidArgument("configuration.order entry " + v.dump() +
                                       " is not a non-negative integer");
      }
      options.order.push_back(v.get<uint32_t>());
    }
    have_order = true;
  }
  if (!have_order) return Status::InvalidArgument("configuration.order is required");
  return options;
}

Result<std::shared_ptr<const TransposeCodec>> TransposeCodec::Make(Options options) {
  const size_t n = options.order.size();
  std::vector<bool> seen(n, false);
  for (uint32_t axis : options.order) {
    if (axis >= n || seen[axis]) {
      std::string s = "[";
      for (size_t i = 0; i < n; ++i) s += (i ? ", " : "") + std::to_string(options.order[i]);
      return Status::InvalidArgument("configuration.order " + s + "] is not a permutation of 0.." +
                                     std::to_string(n == 0 ? 0 : n - 1));
    }
    seen[axis] = true;
  }
  return std::shared_ptr<const TransposeCodec>(new TransposeCodec(std::move(options)));
}

Result<std::shared_ptr<const Codec>> TransposeCodec::Factory(const Json& configuration) {
  ASSIGN_OR_RETURN(Options options, OptionsFromJson(configuration));
  ASSIGN_OR_RETURN(std::shared_ptr<const TransposeCodec> codec, Make(std::move(options)));
  return std::shared_ptr<const Codec>(std::move(codec));
}

Json TransposeCodec::ToJson() const {
  return {{"name", "transpose"}, {"configuration", {{"order", options_.order}}}};
}

Result<ChunkSpec> TransposeCodec::EncodedSpec(const ChunkSpec& decoded) const {
  if (decoded.shape.size() != options_.order.size()) {
    return Status::InvalidArgument("transpose: order has " + std::to_string(options_.order.size()) +
                                   " entries but the chunk shape " + JoinShape(decoded.shape) +
                                   " has rank " + std::to_string(decoded.shape.size()));
  }
  ChunkSpec encoded = decoded;
  for (size_t i = 0; i < options_.order.size(); ++i) {
    encoded.shape[i] = decoded.shape[options_.order[i]];
  }
  return encoded;
}

Status TransposeCodec::CheckSpec(const ChunkSpec& decoded, size_t src_size, size_t dst_size) const {
  if (decoded.shape.size() != options_.order.size()) {
    return Status::InvalidArgument("transpose: order has " + std::to_string(options_.order.size()) +
                                   " entries but the chunk has rank " +
                                   std::to_string(decoded.shape.size()));
  }
  const uint64_t n = decoded.num_bytes();
  if (src_size != n || dst_size != n) {
    return Status::InvalidArgument("transpose: buffers of " + std::to_string(src_size) + " and " +
                                   std::to_string(dst_size) + " bytes for a chunk of " +
                                   std::to_string(n) + " bytes");
  }
  return Status::OK();
}

Status TransposeCodec::Encode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const {
  RETURN_IF_ERROR(CheckSpec(decoded, src.size(), dst.size()));
  if (src.empty()) return Status::OK();
  Permute(decoded.shape, options_.order, decoded.dtype.size(), src.data(), dst.data(), true);
  return Status::OK();
}

Status TransposeCodec::Decode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const {
  RETURN_IF_ERROR(CheckSpec(decoded, src.size(), dst.size()));
  if (src.empty()) return Status::OK();
  Permute(decoded.shape, options_.order, decoded.dtype.size(), src.data(), dst.data(), false);
  return Status::OK();
}

}  // namespace zarrpp
