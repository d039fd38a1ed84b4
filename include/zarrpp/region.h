// zarrpp/region.h - a box-shaped selection of an N-dimensional array.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace zarrpp {

// The elements origin[d] <= i[d] < origin[d] + shape[d] for every dimension d.
// A 0-d region has empty origin and shape and holds one element.
struct Region {
  std::vector<uint64_t> origin;
  std::vector<uint64_t> shape;

  // The whole of an array of `shape`.
  static Region All(const std::vector<uint64_t>& shape) {
    return Region{std::vector<uint64_t>(shape.size(), 0), shape};
  }
  size_t rank() const { return shape.size(); }
  // The element count. It wraps modulo 2^64 for a shape whose product does not fit; Read, Write
  // and Fill check the region's bytes with checked arithmetic (InvalidArgument on overflow)
  // before using it.
  uint64_t num_elements() const {
    uint64_t n = 1;
    for (uint64_t s : shape) n *= s;
    return n;
  }
  std::string ToString() const;  // "[0:4, 2:3]"
  friend bool operator==(const Region&, const Region&) = default;
};

}  // namespace zarrpp
