// src/dim_values.h - one value per dimension of an array, without a heap allocation for the ranks
// arrays have in practice.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace zarrpp::internal {

// Up to kInline values live inside the object; more go to the heap. Values are unspecified after
// resize() until written (assign() sets them all).
class DimValues {
 public:
  static constexpr size_t kInline = 8;
  DimValues() = default;
  explicit DimValues(size_t n, uint64_t value = 0) { assign(n, value); }

  void resize(size_t n) {
    if (n > kInline) heap_.resize(n);
    n_ = n;
  }
  void assign(size_t n, uint64_t value) {
    resize(n);
    std::fill(data(), data() + n, value);
  }
  size_t size() const { return n_; }
  uint64_t* data() { return n_ > kInline ? heap_.data() : inline_; }
  const uint64_t* data() const { return n_ > kInline ? heap_.data() : inline_; }
  uint64_t& operator[](size_t d) { return data()[d]; }
  uint64_t operator[](size_t d) const { return data()[d]; }

 private:
  size_t n_ = 0;
  uint64_t inline_[kInline];
  std::vector<uint64_t> heap_;
};

}  // namespace zarrpp::internal
