// src/array/indexing.h - N-dimensional box copies and element tests over C-order buffers.
//
// These are the inner loops of scatter (chunk -> caller buffer), gather (caller buffer -> chunk)
// and the empty-chunk test. They coalesce trailing dimensions that are contiguous in both
// buffers, so a box of whole rows is one memcpy.
#pragma once

#include <cstdint>
#include <vector>

#include "zarrpp/data_type.h"

namespace zarrpp::internal {

// A box inside a C-order array of `array_shape` elements, each `elem_size` bytes.
struct BoxRef {
  const std::vector<uint64_t>* array_shape;
  const uint64_t* origin;  // rank entries (may be null for rank 0)
};

// Copies the box of `box_shape` at `src_origin` in `src` (shape src_shape) to `dst_origin` in
// `dst` (shape dst_shape). Rank 0 copies one element.
void CopyBox(const uint8_t* src, const std::vector<uint64_t>& src_shape, const uint64_t* src_origin,
             uint8_t* dst, const std::vector<uint64_t>& dst_shape, const uint64_t* dst_origin,
             const std::vector<uint64_t>& box_shape, size_t elem_size);

// Writes `elem` (elem_size bytes) to every element of the box at `origin` in `dst`.
void FillBox(uint8_t* dst, const std::vector<uint64_t>& dst_shape, const uint64_t* origin,
             const std::vector<uint64_t>& box_shape, const uint8_t* elem, size_t elem_size);

// Writes `elem` to each of `n` consecutive elements.
void FillElements(uint8_t* dst, uint64_t n, const uint8_t* elem, size_t elem_size);

// True when every element of `data` equals `fill`: bit patterns equal, except that for float and
// complex types any NaN equals any NaN (per component). +0 and -0 differ.
bool AllEqualFill(const uint8_t* data, uint64_t n_elements, const uint8_t* fill, DataType type);

// True when a box of `box_shape` at `origin` in an array of `shape` occupies one contiguous run
// of the C-order buffer.
bool IsContiguousBox(const std::vector<uint64_t>& shape, const uint64_t* origin,
                     const std::vector<uint64_t>& box_shape);

// C-order linear offset (in elements) of `coords` in an array of `shape`.
inline uint64_t LinearOffset(const std::vector<uint64_t>& shape, const uint64_t* coords) {
  uint64_t off = 0;
  for (size_t d = 0; d < shape.size(); ++d) off = off * shape[d] + coords[d];
  return off;
}

}  // namespace zarrpp::internal
