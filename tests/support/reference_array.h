// tests/support/reference_array.h - a plain in-memory N-d array in C order that tests compare an
// Array's reads against after applying the same writes.
#pragma once

#include <cstdint>
#include <vector>

#include "src/array/indexing.h"
#include "zarrpp/array.h"

namespace zarrpp::test_support {

template <typename T>
struct Reference {
  std::vector<uint64_t> shape;
  std::vector<T> data;
  Reference(std::vector<uint64_t> s, T fill) : shape(std::move(s)) {
    uint64_t n = 1;
    for (auto x : shape) n *= x;
    data.assign(n, fill);
  }
  // Stores `in` (region-shaped, C order) at `r`.
  void Write(const Region& r, const std::vector<T>& in) {
    internal::CopyBox(reinterpret_cast<const uint8_t*>(in.data()), r.shape,
                      std::vector<uint64_t>(r.rank(), 0).data(),
                      reinterpret_cast<uint8_t*>(data.data()), shape, r.origin.data(), r.shape,
                      sizeof(T));
  }
  // The values of region `r`, C order.
  std::vector<T> Read(const Region& r) const {
    std::vector<T> out(r.num_elements());
    internal::CopyBox(reinterpret_cast<const uint8_t*>(data.data()), shape, r.origin.data(),
                      reinterpret_cast<uint8_t*>(out.data()), r.shape,
                      std::vector<uint64_t>(r.rank(), 0).data(), r.shape, sizeof(T));
    return out;
  }
};

}  // namespace zarrpp::test_support
