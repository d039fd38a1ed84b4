// src/array/selection.h - hyperslab selections and strided views: checks, and the Read and Write
// that move the selected elements of each chunk between the pipeline and the caller's view
// (spec/selections.md).
//
// Thread safety: the Read/Write follow Array's rules (the caller holds the handle's metadata lock
// shared); the checks are pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "src/array/array_impl.h"
#include "zarrpp/array.h"
#include "zarrpp/hyperslab.h"
#include "zarrpp/strided_view.h"

namespace zarrpp::internal {

// A hyperslab checked against an array, with stride and block resolved.
struct Slab {
  std::vector<uint64_t> start, stride, count, block;
  std::vector<uint64_t> shape;  // count * block
  uint64_t elements = 0;        // product of shape
  // True when the selection is one box (count <= 1 or stride == block in every dimension).
  bool is_box = false;
  Region box;  // that box, when is_box
};

// Checks `h` against `array_shape` (rank, stride >= 1, stride >= block where count > 1, bounds,
// the selection's byte size at `element_size` bytes fitting in 64 bits); InvalidArgument
// prefixed with `what` naming the dimension.
Result<Slab> CheckHyperslab(const std::vector<uint64_t>& array_shape, const Hyperslab& h,
                            size_t element_size, const std::string& what);

// Checks a view against a selection of `shape`: rank and extents equal, `element_size` as
// expected, span within the address space, and for a destination no two elements at one address
// (the nested-strides test of zarrpp/strided_view.h). InvalidArgument prefixed with `what`.
Status CheckView(const void* data, size_t element_size, const std::vector<uint64_t>& extents,
                 const std::vector<uint64_t>& strides, const std::vector<uint64_t>& shape,
                 size_t expected_element_size, bool destination, const std::string& what);

// True when the view is the dense C-order layout of its extents.
bool IsDenseCOrder(const std::vector<uint64_t>& extents, const std::vector<uint64_t>& strides);

// Reads or writes the checked selection `s` (not empty) through the view, whose element type is
// `memory_type` (the data type's typed id for no conversion; a converting pair must have passed
// CheckConversion). `cancel` is checked with the handle's hook before each chunk's part.
Status SelectionRead(Array::Impl& a, const Slab& s, const MutableElementView& out,
                     DataTypeId memory_type, bool batched, const std::function<bool()>& cancel,
                     const char* cancel_name);
Status SelectionWrite(Array::Impl& a, const Slab& s, const ElementView& in, DataTypeId memory_type,
                      bool narrowing, bool batched, const std::function<bool()>& cancel,
                      const char* cancel_name);

}  // namespace zarrpp::internal
