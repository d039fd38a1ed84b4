#include "src/array/indexing.h"

#include <cmath>
#include <cstring>

#include "src/dim_values.h"

namespace zarrpp::internal {
namespace {

// Number of trailing dimensions (and the run length in elements) that can be copied as one run:
// a dimension joins the run when the box spans it fully in both arrays.
struct Run {
  size_t outer_rank;  // dimensions iterated explicitly
  uint64_t elements;  // elements per contiguous run
};

Run ContiguousRun(const std::vector<uint64_t>& a_shape, const std::vector<uint64_t>* b_shape,
                  const std::vector<uint64_t>& box) {
  size_t r = box.size();
  uint64_t run = 1;
  size_t d = r;
  while (d > 0) {
    size_t k = d - 1;
    run *= box[k];
    d = k;
    bool full = box[k] == a_shape[k] && (b_shape == nullptr || box[k] == (*b_shape)[k]);
    if (!full) break;
  }
  return {d, run};
}

inline void CopyElems(uint8_t* dst, const uint8_t* src, uint64_t bytes) {
  std::memcpy(dst, src, bytes);
}

}  // namespace

void CopyBox(const uint8_t* src, const std::vector<uint64_t>& src_shape, const uint64_t* src_origin,
             uint8_t* dst, const std::vector<uint64_t>& dst_shape, const uint64_t* dst_origin,
             const std::vector<uint64_t>& box_shape, size_t elem_size) {
  const size_t rank = box_shape.size();
  if (rank == 0) {
    std::memcpy(dst, src, elem_size);
    return;
  }
  for (uint64_t s : box_shape)
    if (s == 0) return;
  Run run = ContiguousRun(src_shape, &dst_shape, box_shape);
  const uint64_t run_bytes = run.elements * elem_size;
  // Strides in bytes.
  DimValues src_stride(rank), dst_stride(rank);
  uint64_t s = elem_size, t = elem_size;
  for (size_t d = rank; d-- > 0;) {
    src_stride[d] = s;
    dst_stride[d] = t;
    s *= src_shape[d];
    t *= dst_shape[d];
  }
  uint64_t src_base = 0, dst_base = 0;
  for (size_t d = 0; d < rank; ++d) {
    src_base += src_origin[d] * src_stride[d];
    dst_base += dst_origin[d] * dst_stride[d];
  }
  if (run.outer_rank == 0) {
    CopyElems(dst + dst_base, src + src_base, run_bytes);
    return;
  }
  // Odometer over the outer dimensions [0, outer_rank).
  const size_t outer = run.outer_rank;
  DimValues idx(outer, 0);
  const uint8_t* sp = src + src_base;
  uint8_t* dp = dst + dst_base;
  const size_t last = outer - 1;
  const uint64_t n_last = box_shape[last];
  const uint64_t ss_last = src_stride[last], ds_last = dst_stride[last];
  while (true) {
    const uint8_t* s2 = sp;
    uint8_t* d2 = dp;
    for (uint64_t i = 0; i < n_last; ++i) {
      CopyElems(d2, s2, run_bytes);
      s2 += ss_last;
      d2 += ds_last;
    }
    // Advance dims [0, last).
    size_t d = last;
    while (d > 0) {
      --d;
      sp += src_stride[d];
      dp += dst_stride[d];
      if (++idx[d] < box_shape[d]) break;
      sp -= src_stride[d] * box_shape[d];
      dp -= dst_stride[d] * box_shape[d];
      idx[d] = 0;
      if (d == 0) return;
    }
    if (last == 0) return;
  }
}

void FillElements(uint8_t* dst, uint64_t n, const uint8_t* elem, size_t elem_size) {
  if (n == 0) return;
  bool all_same = true;
  for (size_t i = 1; i < elem_size; ++i) all_same &= elem[i] == elem[0];
  if (all_same) {
    std::memset(dst, elem[0], n * elem_size);
    return;
  }
  std::memcpy(dst, elem, elem_size);
  // Doubling copies: O(log n) memcpy calls.
  uint64_t done = 1;
  while (done < n) {
    uint64_t c = std::min(done, n - done);
    std::memcpy(dst + done * elem_size, dst, c * elem_size);
    done += c;
  }
}

void FillBox(uint8_t* dst, const std::vector<uint64_t>& dst_shape, const uint64_t* origin,
             const std::vector<uint64_t>& box_shape, const uint8_t* elem, size_t elem_size) {
  const size_t rank = box_shape.size();
  if (rank == 0) {
    std::memcpy(dst, elem, elem_size);
    return;
  }
  for (uint64_t s : box_shape)
    if (s == 0) return;
  Run run = ContiguousRun(dst_shape, nullptr, box_shape);
  DimValues stride(rank);
  uint64_t t = elem_size;
  for (size_t d = rank; d-- > 0;) {
    stride[d] = t;
    t *= dst_shape[d];
  }
  uint64_t base = 0;
  for (size_t d = 0; d < rank; ++d) base += origin[d] * stride[d];
  if (run.outer_rank == 0) {
    FillElements(dst + base, run.elements, elem, elem_size);
    return;
  }
  const size_t outer = run.outer_rank;
  DimValues idx(outer, 0);
  uint8_t* dp = dst + base;
  while (true) {
    FillElements(dp, run.elements, elem, elem_size);
    size_t d = outer;
    while (true) {
      --d;
      dp += stride[d];
      if (++idx[d] < box_shape[d]) break;
      dp -= stride[d] * box_shape[d];
      idx[d] = 0;
      if (d == 0) return;
    }
  }
}

namespace {

template <typename U>
bool AllEqualBits(const uint8_t* data, uint64_t n, const uint8_t* fill) {
  U f;
  std::memcpy(&f, fill, sizeof(U));
  const uint8_t* p = data;
  // Word-at-a-time compare; the compiler vectorises this loop.
  for (uint64_t i = 0; i < n; ++i, p += sizeof(U)) {
    U v;
    std::memcpy(&v, p, sizeof(U));
    if (v != f) return false;
  }
  return true;
}

template <typename U>
inline bool IsNanBits(U bits, unsigned exp_bits, unsigned mant_bits) {
  const U exp_mask = static_cast<U>(((U{1} << exp_bits) - 1) << mant_bits);
  const U mant_mask = static_cast<U>((U{1} << mant_bits) - 1);
  return (bits & exp_mask) == exp_mask && (bits & mant_mask) != 0;
}

// Per-component float compare where NaN == NaN.
template <typename U>
bool AllEqualFloat(const uint8_t* data, uint64_t n_components, const uint8_t* fill,
                   uint64_t fill_components, unsigned exp_bits, unsigned mant_bits) {
  U f[2] = {0, 0};
  std::memcpy(f, fill, sizeof(U) * fill_components);
  bool fnan[2] = {IsNanBits<U>(f[0], exp_bits, mant_bits), IsNanBits<U>(f[1], exp_bits, mant_bits)};
  const uint8_t* p = data;
  for (uint64_t i = 0; i < n_components; ++i, p += sizeof(U)) {
    U v;
    std::memcpy(&v, p, sizeof(U));
    uint64_t c = fill_components == 2 ? (i & 1) : 0;
    if (v == f[c]) continue;
    if (fnan[c] && IsNanBits<U>(v, exp_bits, mant_bits)) continue;
    return false;
  }
  return true;
}

}  // namespace

bool AllEqualFill(const uint8_t* data, uint64_t n, const uint8_t* fill, DataType type) {
  // Complex types compare per component (complex_float32 is complex64, ...); the extension
  // float formats compare bit patterns.
  const uint64_t parts = type.is_complex() ? 2 : 1;
  switch (type.component_id()) {
    case DataTypeId::kFloat16: return AllEqualFloat<uint16_t>(data, n * parts, fill, parts, 5, 10);
    case DataTypeId::kFloat32: return AllEqualFloat<uint32_t>(data, n * parts, fill, parts, 8, 23);
    case DataTypeId::kFloat64: return AllEqualFloat<uint64_t>(data, n * parts, fill, parts, 11, 52);
    default: break;
  }
  switch (type.size()) {
    case 1: {
      const uint8_t f = fill[0];
      for (uint64_t i = 0; i < n; ++i)
        if (data[i] != f) return false;
      return true;
    }
    case 2: return AllEqualBits<uint16_t>(data, n, fill);
    case 4: return AllEqualBits<uint32_t>(data, n, fill);
    case 8: return AllEqualBits<uint64_t>(data, n, fill);
    default: {
      const size_t sz = type.size();
      for (uint64_t i = 0; i < n; ++i)
        if (std::memcmp(data + i * sz, fill, sz) != 0) return false;
      return true;
    }
  }
}

bool IsContiguousBox(const std::vector<uint64_t>& shape, const uint64_t* origin,
                     const std::vector<uint64_t>& box_shape) {
  (void)origin;
  // Contiguous when, from some dimension k on, the box spans every later dimension fully and
  // every earlier dimension has extent 1.
  size_t r = box_shape.size();
  size_t d = r;
  while (d > 0 && box_shape[d - 1] == shape[d - 1]) --d;
  if (d == 0) return true;
  // Dimension d-1 is partial; all dims before it must have extent 1.
  for (size_t k = 0; k + 1 < d; ++k)
    if (box_shape[k] != 1) return false;
  return true;
}

}  // namespace zarrpp::internal
