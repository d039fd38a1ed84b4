// zarrpp/hyperslab.h - a strided selection of an N-dimensional array, with HDF5 hyperslab
// semantics (spec/selections.md).
//
// Along dimension d it selects the indices start[d] + i * stride[d] + j for i < count[d] and
// j < block[d]: count[d] blocks of block[d] consecutive indices, one every stride[d]. The
// selection is the product of the dimensions' index sets. Its elements are read into and written
// from a buffer or view of shape() = count * block per dimension, in row-major order of (i, j)
// per dimension: element (i * block[d] + j) along d is index start[d] + i * stride[d] + j.
//
// Rules (checked by Array::Read/Write, InvalidArgument naming the dimension and values):
//  - start and count have the array's rank; stride and block have it too or are empty (all 1s);
//  - stride >= 1, and stride >= block where count > 1 (blocks may not overlap, as in HDF5);
//  - the last selected index, start + (count - 1) * stride + block - 1, lies inside the array;
//  - a count or block of 0 selects nothing: the call checks its arguments and does no I/O.
//
// A Hyperslab is a plain value; it holds no reference to an array.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "zarrpp/region.h"

namespace zarrpp {

struct Hyperslab {
  std::vector<uint64_t> start;
  std::vector<uint64_t> stride;  // empty: 1 in every dimension
  std::vector<uint64_t> count;
  std::vector<uint64_t> block;  // empty: 1 in every dimension

  // The hyperslab selecting exactly `region`: one block of region.shape at region.origin.
  static Hyperslab Of(const Region& region) {
    return Hyperslab{region.origin, std::vector<uint64_t>(region.rank(), 1),
                     std::vector<uint64_t>(region.rank(), 1), region.shape};
  }
  size_t rank() const { return start.size(); }
  uint64_t stride_at(size_t d) const { return stride.empty() ? 1 : stride[d]; }
  uint64_t block_at(size_t d) const { return block.empty() ? 1 : block[d]; }
  // count * block per dimension (wraps modulo 2^64 when that does not fit; Array calls check it
  // first). Meaningful only when the ranks agree.
  std::vector<uint64_t> shape() const {
    std::vector<uint64_t> s(count.size());
    for (size_t d = 0; d < count.size(); ++d) s[d] = count[d] * block_at(d);
    return s;
  }
  std::string ToString() const;  // "[start=0 stride=2 count=3 block=1, ...]"
  friend bool operator==(const Hyperslab&, const Hyperslab&) = default;
};

}  // namespace zarrpp
