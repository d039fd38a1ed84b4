// zarrpp/strided_view.h - a view of caller memory as an N-dimensional array with element strides.
//
// A view is a pointer, extents and strides (in elements, never bytes); element (i0, ..., in-1)
// lives at data + sum(i_d * strides[d]). Strides are unsigned: a view never walks backwards from
// its pointer, which keeps the bounds of the memory it covers [data, data + span) simple to check.
// Any order is allowed: C order (the last stride 1), Fortran order (the first stride 1), a column
// of a matrix (one stride of the row length), a slice of a larger view (Slice). A stride of 0
// repeats one element along a dimension; such a view can be written from (Array::Write) but not
// read into.
//
// Array::Read and Array::Write (zarrpp/array.h) take a view whose extents equal the selection's
// shape and move elements between it and the array in one call, with no copy of the whole
// selection. They check the view first (InvalidArgument naming the dimension):
//  - a read's view must not map two elements to one address: with the dimensions of extent > 1
//    sorted by stride, each stride must be at least the previous stride times its extent (every
//    C-order, Fortran-order, padded-row or sliced view passes; interleaved layouts that would not
//    overlap but fail this test are rejected too);
//  - the span of the view, ((extent - 1) * stride summed over dimensions + 1) elements, must fit
//    in the address space.
//
// StridedView<T> is the typed view (T const for a source); ElementView and MutableElementView are
// untyped (element size in bytes). None of them owns memory: the caller keeps it alive and, for a
// read, does not touch it while the call runs. Views are values; copying one copies its extents
// and strides, not the elements.
//
// With a standard library that has std::mdspan (__cpp_lib_mdspan), a StridedView converts from a
// std::mdspan of any layout whose mapping reports strides (layout_right, layout_left,
// layout_stride).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>
#include <version>

#if defined(__cpp_lib_mdspan)
#include <mdspan>
#endif

#include "zarrpp/region.h"
#include "zarrpp/status.h"

namespace zarrpp {

// Untyped view of memory to read into.
struct MutableElementView {
  uint8_t* data = nullptr;
  size_t element_size = 0;        // bytes per element
  std::vector<uint64_t> extents;  // elements per dimension
  std::vector<uint64_t> strides;  // elements between neighbours per dimension (same rank)
};

// Untyped view of memory to write from.
struct ElementView {
  const uint8_t* data = nullptr;
  size_t element_size = 0;
  std::vector<uint64_t> extents;
  std::vector<uint64_t> strides;
  ElementView() = default;
  ElementView(const uint8_t* d, size_t size, std::vector<uint64_t> e, std::vector<uint64_t> s)
      : data(d), element_size(size), extents(std::move(e)), strides(std::move(s)) {}
  ElementView(const MutableElementView& v)  // NOLINT(google-explicit-constructor)
      : data(v.data), element_size(v.element_size), extents(v.extents), strides(v.strides) {}
};

// The strides of a C-order (row-major) and a Fortran-order (column-major) array of `extents`.
// They wrap modulo 2^64 for extents whose product does not fit; such a view fails the span check.
inline std::vector<uint64_t> COrderStrides(const std::vector<uint64_t>& extents) {
  std::vector<uint64_t> s(extents.size());
  uint64_t n = 1;
  for (size_t d = extents.size(); d-- > 0;) {
    s[d] = n;
    n *= extents[d];
  }
  return s;
}
inline std::vector<uint64_t> FortranOrderStrides(const std::vector<uint64_t>& extents) {
  std::vector<uint64_t> s(extents.size());
  uint64_t n = 1;
  for (size_t d = 0; d < extents.size(); ++d) {
    s[d] = n;
    n *= extents[d];
  }
  return s;
}

template <typename T>
class StridedView {
 public:
  using element_type = T;

  StridedView() = default;
  // A view of `data` with the given extents and strides (elements). The ranks must agree; Array
  // calls check that (InvalidArgument), as they check everything else about a view.
  StridedView(T* data, std::vector<uint64_t> extents, std::vector<uint64_t> strides)
      : data_(data), extents_(std::move(extents)), strides_(std::move(strides)) {}

  // A C-order (last index fastest) or Fortran-order (first index fastest) array at `data`.
  static StridedView COrder(T* data, std::vector<uint64_t> extents) {
    std::vector<uint64_t> s = COrderStrides(extents);
    return StridedView(data, std::move(extents), std::move(s));
  }
  static StridedView FortranOrder(T* data, std::vector<uint64_t> extents) {
    std::vector<uint64_t> s = FortranOrderStrides(extents);
    return StridedView(data, std::move(extents), std::move(s));
  }

  // A view of the mutable elements as const ones.
  operator StridedView<const T>() const  // NOLINT(google-explicit-constructor)
      requires(!std::is_const_v<T>) {
    return StridedView<const T>(data_, extents_, strides_);
  }

#if defined(__cpp_lib_mdspan)
  // The view of a std::mdspan whose mapping reports strides (layout_right, layout_left,
  // layout_stride). Negative strides are not representable; such a mapping gives an empty view of
  // rank 0 with a null pointer, which every Array call rejects.
  template <typename E, typename L, typename A>
  requires std::is_convertible_v<typename A::data_handle_type, T*> StridedView(
      const std::mdspan<T, E, L, A>& m)  // NOLINT(google-explicit-constructor)
  {
    std::vector<uint64_t> ext(E::rank()), str(E::rank());
    for (size_t d = 0; d < E::rank(); ++d) {
      ext[d] = static_cast<uint64_t>(m.extent(d));
      const auto s = m.mapping().stride(d);
      if (s < 0) return;
      str[d] = static_cast<uint64_t>(s);
    }
    data_ = m.data_handle();
    extents_ = std::move(ext);
    strides_ = std::move(str);
  }
#endif

  // The part of this view that `region` selects, in the same memory: origin moves the pointer,
  // shape becomes the extents, strides stay. InvalidArgument naming the dimension when the region
  // has another rank or does not lie within the extents.
  Result<StridedView> Slice(const Region& region) const {
    if (region.rank() != extents_.size() || region.origin.size() != extents_.size()) {
      return Status::InvalidArgument("slice " + region.ToString() + " of a view of rank " +
                                     std::to_string(extents_.size()));
    }
    T* p = data_;
    for (size_t d = 0; d < extents_.size(); ++d) {
      if (region.origin[d] > extents_[d] || region.shape[d] > extents_[d] - region.origin[d]) {
        return Status::InvalidArgument("slice " + region.ToString() + ": dimension " +
                                       std::to_string(d) + " exceeds the view's extent " +
                                       std::to_string(extents_[d]));
      }
      if (region.shape[d] != 0) p += region.origin[d] * strides_[d];
    }
    bool empty = false;
    for (uint64_t s : region.shape) empty = empty || s == 0;
    return StridedView(empty ? data_ : p, region.shape, strides_);
  }

  // The element at `index` (rank entries, each below its extent; not checked).
  T& operator[](std::span<const uint64_t> index) const {
    uint64_t off = 0;
    for (size_t d = 0; d < index.size(); ++d) off += index[d] * strides_[d];
    return data_[off];
  }

  T* data() const {
    return data_;
  }
  size_t rank() const {
    return extents_.size();
  }
  const std::vector<uint64_t>& extents() const {
    return extents_;
  }
  const std::vector<uint64_t>& strides() const {
    return strides_;
  }

  // The untyped views of the same memory.
  MutableElementView elements() const requires(!std::is_const_v<T>) {
    return MutableElementView{reinterpret_cast<uint8_t*>(data_), sizeof(T), extents_, strides_};
  }
  ElementView const_elements() const {
    return ElementView(reinterpret_cast<const uint8_t*>(data_), sizeof(T), extents_, strides_);
  }

 private:
  T* data_ = nullptr;
  std::vector<uint64_t> extents_;
  std::vector<uint64_t> strides_;
};

}  // namespace zarrpp
