// src/checked_math.h - the one place where sizes multiply and add.
//
// Every product of shapes, chunk sizes, counts and element sizes goes through these helpers, so
// that a value from metadata or a caller can never wrap around uint64 and turn into a small
// buffer size. Overflow is InvalidArgument naming the field and the values.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "zarrpp/status.h"

namespace zarrpp::internal {

// a * b, or InvalidArgument "<field>: <a> x <b> overflows 2^64".
inline Result<uint64_t> CheckedMul(uint64_t a, uint64_t b, std::string_view field) {
  uint64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) {
    return Status::InvalidArgument(std::string(field) + ": " + std::to_string(a) + " x " +
                                   std::to_string(b) + " overflows 2^64");
  }
  return r;
}

// a + b, or InvalidArgument "<field>: <a> + <b> overflows 2^64".
inline Result<uint64_t> CheckedAdd(uint64_t a, uint64_t b, std::string_view field) {
  uint64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) {
    return Status::InvalidArgument(std::string(field) + ": " + std::to_string(a) + " + " +
                                   std::to_string(b) + " overflows 2^64");
  }
  return r;
}

// `scale` times the product of `dims` (the element count of a shape when scale is 1, its bytes
// when scale is the element size). A zero anywhere gives 0 without an error, as the true product
// is 0 whatever the other factors are.
inline Result<uint64_t> CheckedProduct(std::span<const uint64_t> dims, std::string_view field,
                                       uint64_t scale = 1) {
  for (uint64_t d : dims)
    if (d == 0) return uint64_t{0};
  uint64_t n = scale;
  for (uint64_t d : dims) {
    if (__builtin_mul_overflow(n, d, &n)) {
      std::string shape = "[";
      for (size_t i = 0; i < dims.size(); ++i) shape += (i ? ", " : "") + std::to_string(dims[i]);
      shape += "]";
      return Status::InvalidArgument(std::string(field) + ": " + shape +
                                     (scale != 1 ? " x " + std::to_string(scale) : "") +
                                     " overflows 2^64");
    }
  }
  return n;
}

// a * b saturated at UINT64_MAX, for upper bounds that only ever limit allocation.
inline uint64_t SaturatingMul(uint64_t a, uint64_t b) {
  uint64_t r = 0;
  return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}
inline uint64_t SaturatingAdd(uint64_t a, uint64_t b) {
  uint64_t r = 0;
  return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

}  // namespace zarrpp::internal
