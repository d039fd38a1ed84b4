// src/pipeline/strided_copy.h - element copies between buffers addressed by byte strides.
//
// The inner loops of moving a chunk's box to or from a strided view of the caller's memory
// (spec/selections.md). Strides are in bytes and need not be multiples of anything; the buffers
// must not overlap. A copy whose two sides are contiguous along the same dimension is a memcpy
// per row (one memcpy when the rows are back to back on both sides); a transposing copy (each
// side contiguous along a different dimension) runs in cache-sized tiles so that neither side
// is walked with a large stride per element.
#pragma once

#include <cstddef>
#include <cstdint>

namespace zarrpp::internal {

// Copies n elements of `esize` bytes from src (stride ss bytes) to dst (stride ds bytes).
void CopyStrided1D(const uint8_t* src, uint64_t ss, uint8_t* dst, uint64_t ds, uint64_t n,
                   size_t esize);

// Copies the n_outer x n_inner elements of `esize` bytes: element (i, j) moves from
// src + i * src_outer + j * src_inner to dst + i * dst_outer + j * dst_inner.
void CopyStrided2D(const uint8_t* src, uint64_t src_outer, uint64_t src_inner, uint8_t* dst,
                   uint64_t dst_outer, uint64_t dst_inner, uint64_t n_outer, uint64_t n_inner,
                   size_t esize);

// Copies the box of `rank` dimensions with extents `shape` from src (byte strides ss) to dst (byte
// strides ds). The dimensions are visited with dst's largest stride outermost and src's smallest
// next to the innermost, so the last two levels are one CopyStrided2D (row copies or a tiled
// transpose). Rank 0 copies one element.
void CopyStridedBox(const uint8_t* src, const uint64_t* ss, uint8_t* dst, const uint64_t* ds,
                    const uint64_t* shape, size_t rank, size_t esize);

// Writes `elem` (esize bytes) to every element of the box with extents `shape` at dst (byte
// strides ds).
void FillStridedBox(uint8_t* dst, const uint64_t* ds, const uint64_t* shape, size_t rank,
                    const uint8_t* elem, size_t esize);

// The kernels of transposing copies of 4- and 8-byte elements: AVX2 register transposes where
// the CPU runs them (the default, decided once per process), or the SSE2 baseline. Tests set the
// baseline to check both kernels on one machine; not to be changed while copies run.
enum class TransposeKernel { kBest, kBaseline };
void UseTransposeKernel(TransposeKernel kernel);

// True when transposing copies use the AVX2 kernels.
bool Avx2TransposeInUse();

}  // namespace zarrpp::internal
