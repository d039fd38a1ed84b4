#include "src/pipeline/strided_copy.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define ZARRPP_STRIDED_AVX2 1
#endif

#include <atomic>

namespace zarrpp::internal {
namespace {

template <size_t N>
void CopyStridedN(const uint8_t* src, uint64_t ss, uint8_t* dst, uint64_t ds, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) {
    std::memcpy(dst, src, N);
    src += ss;
    dst += ds;
  }
}

// A transposing copy: element (i, j) moves from src + i * N + j * sj to dst + i * di + j * N,
// so src is contiguous along i and dst along j. Only the part [i0, i1) x [j0, j1).
template <size_t N>
void TransposeScalar(const uint8_t* src, uint64_t sj, uint8_t* dst, uint64_t di, uint64_t i0,
                     uint64_t i1, uint64_t j0, uint64_t j1) {
  for (uint64_t i = i0; i < i1; ++i) {
    const uint8_t* s = src + i * N + j0 * sj;
    uint8_t* d = dst + i * di + j0 * N;
    for (uint64_t j = j0; j < j1; ++j) {
      std::memcpy(d, s, N);
      s += sj;
      d += N;
    }
  }
}

// The tile side, in elements, of a transposing copy: each tile row is at least one 64-byte
// cache line on both sides, and a tile of both sides stays well inside L1.
template <size_t N>
constexpr uint64_t kTile = N >= 8 ? 8 : 64 / N;

#if defined(__SSE2__)
// A full tile of 4-byte elements as 4 x 4 register transposes.
void TransposeTile4(const uint8_t* src, uint64_t sj, uint8_t* dst, uint64_t di, uint64_t i0,
                    uint64_t j0) {
  for (uint64_t i = i0; i < i0 + kTile<4>; i += 4) {
    for (uint64_t j = j0; j < j0 + kTile<4>; j += 4) {
      const uint8_t* s = src + i * 4 + j * sj;
      __m128 r0 = _mm_castsi128_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s)));
      __m128 r1 = _mm_castsi128_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + sj)));
      __m128 r2 = _mm_castsi128_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 2 * sj)));
      __m128 r3 = _mm_castsi128_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 3 * sj)));
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
      uint8_t* d = dst + i * di + j * 4;
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d), _mm_castps_si128(r0));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d + di), _mm_castps_si128(r1));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 2 * di), _mm_castps_si128(r2));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 3 * di), _mm_castps_si128(r3));
    }
  }
}

// A full tile of 8-byte elements as 2 x 2 register transposes.
void TransposeTile8(const uint8_t* src, uint64_t sj, uint8_t* dst, uint64_t di, uint64_t i0,
                    uint64_t j0) {
  for (uint64_t i = i0; i < i0 + kTile<8>; i += 2) {
    for (uint64_t j = j0; j < j0 + kTile<8>; j += 2) {
      const uint8_t* s = src + i * 8 + j * sj;
      const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
      const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + sj));
      uint8_t* d = dst + i * di + j * 8;
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d), _mm_unpacklo_epi64(a, b));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d + di), _mm_unpackhi_epi64(a, b));
    }
  }
}

// A full tile of 2-byte elements as 8 x 8 register transposes.
void TransposeTile2(const uint8_t* src, uint64_t sj, uint8_t* dst, uint64_t di, uint64_t i0,
                    uint64_t j0) {
  for (uint64_t i = i0; i < i0 + kTile<2>; i += 8) {
    for (uint64_t j = j0; j < j0 + kTile<2>; j += 8) {
      const uint8_t* s = src + i * 2 + j * sj;
      __m128i r[8];
      for (int k = 0; k < 8; ++k) {
        r[k] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + k * sj));
      }
      // r[k] holds elements (i .. i + 7, j + k); three rounds of interleaving transpose them.
      const __m128i a0 = _mm_unpacklo_epi16(r[0], r[1]), a1 = _mm_unpackhi_epi16(r[0], r[1]);
      const __m128i a2 = _mm_unpacklo_epi16(r[2], r[3]), a3 = _mm_unpackhi_epi16(r[2], r[3]);
      const __m128i a4 = _mm_unpacklo_epi16(r[4], r[5]), a5 = _mm_unpackhi_epi16(r[4], r[5]);
      const __m128i a6 = _mm_unpacklo_epi16(r[6], r[7]), a7 = _mm_unpackhi_epi16(r[6], r[7]);
      const __m128i b0 = _mm_unpacklo_epi32(a0, a2), b1 = _mm_unpackhi_epi32(a0, a2);
      const __m128i b2 = _mm_unpacklo_epi32(a1, a3), b3 = _mm_unpackhi_epi32(a1, a3);
      const __m128i b4 = _mm_unpacklo_epi32(a4, a6), b5 = _mm_unpackhi_epi32(a4, a6);
      const __m128i b6 = _mm_unpacklo_epi32(a5, a7), b7 = _mm_unpackhi_epi32(a5, a7);
      const __m128i c[8] = {_mm_unpacklo_epi64(b0, b4), _mm_unpackhi_epi64(b0, b4),
                            _mm_unpacklo_epi64(b1, b5), _mm_unpackhi_epi64(b1, b5),
                            _mm_unpacklo_epi64(b2, b6), _mm_unpackhi_epi64(b2, b6),
                            _mm_unpacklo_epi64(b3, b7), _mm_unpackhi_epi64(b3, b7)};
      uint8_t* d = dst + i * di + j * 2;
      for (int k = 0; k < 8; ++k) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(d + k * di), c[k]);
      }
    }
  }
}
#endif

template <size_t N>
void FullTile(const uint8_t* src, uint64_t sj, uint8_t* dst, uint64_t di, uint64_t i0,
              uint64_t j0) {
#if defined(__SSE2__)
  if constexpr (N == 2) return TransposeTile2(src, sj, dst, di, i0, j0);
  if constexpr (N == 4) return TransposeTile4(src, sj, dst, di, i0, j0);
  if constexpr (N == 8) return TransposeTile8(src, sj, dst, di, i0, j0);
#endif
  TransposeScalar<N>(src, sj, dst, di, i0, i0 + kTile<N>, j0, j0 + kTile<N>);
}

// The whole transposing copy of ni x nj elements, tile by tile: a strip of kTile rows of dst
// (along i) at a time, left to right, so dst is written in address order within each row.
template <size_t N>
void Transpose(const uint8_t* src, uint64_t sj, uint8_t* dst, uint64_t di, uint64_t ni,
               uint64_t nj) {
  constexpr uint64_t t = kTile<N>;
  for (uint64_t i0 = 0; i0 < ni; i0 += t) {
    const uint64_t i1 = std::min(ni, i0 + t);
    uint64_t j0 = 0;
    if (i1 - i0 == t) {
      for (; j0 + t <= nj; j0 += t) FullTile<N>(src, sj, dst, di, i0, j0);
    }
    if (j0 < nj) TransposeScalar<N>(src, sj, dst, di, i0, i1, j0, nj);
  }
}

#if defined(ZARRPP_STRIDED_AVX2)
// AVX2 kernels, compiled for AVX2 whatever the build's target and used only when the CPU runs
// them (chosen once, UseTransposeKernel). Each full tile is kAvxTile x kAvxTile elements: an
// 8 x 8 (4-byte) or 4 x 4 (8-byte) register transpose per block, so that every tile row is a
// whole 64-byte cache line on both sides.

// Elements (i .. i + 7, j + k) at s + k * sj, k < 8, transposed: o[k] holds (i + k, j .. j + 7).
__attribute__((target("avx2"), always_inline)) inline void Block8x4Regs(const uint8_t* s,
                                                                        uint64_t sj, __m256* o) {
  // Written out in full (no arrays, no loops) so that everything stays in registers.
  const __m256 r0 = _mm256_loadu_ps(reinterpret_cast<const float*>(s));
  const __m256 r1 = _mm256_loadu_ps(reinterpret_cast<const float*>(s + sj));
  const __m256 r2 = _mm256_loadu_ps(reinterpret_cast<const float*>(s + 2 * sj));
  const __m256 r3 = _mm256_loadu_ps(reinterpret_cast<const float*>(s + 3 * sj));
  const __m256 r4 = _mm256_loadu_ps(reinterpret_cast<const float*>(s + 4 * sj));
  const __m256 r5 = _mm256_loadu_ps(reinterpret_cast<const float*>(s + 5 * sj));
  const __m256 r6 = _mm256_loadu_ps(reinterpret_cast<const float*>(s + 6 * sj));
  const __m256 r7 = _mm256_loadu_ps(reinterpret_cast<const float*>(s + 7 * sj));
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  o[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  o[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  o[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  o[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  o[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  o[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  o[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  o[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// As Block8x4Regs, stored: row k at d + k * di.
__attribute__((target("avx2"), always_inline)) inline void Block8x4(const uint8_t* s, uint64_t sj,
                                                                    uint8_t* d, uint64_t di) {
  __m256 o[8];
  Block8x4Regs(s, sj, o);
  for (int k = 0; k < 8; ++k) _mm256_storeu_ps(reinterpret_cast<float*>(d + k * di), o[k]);
}

// Elements (i .. i + 3, j + k) at s + k * sj, k < 4, transposed: o[k] holds (i + k, j .. j + 3).
__attribute__((target("avx2"), always_inline)) inline void Block4x8Regs(const uint8_t* s,
                                                                        uint64_t sj, __m256d* o) {
  const __m256d r0 = _mm256_loadu_pd(reinterpret_cast<const double*>(s));
  const __m256d r1 = _mm256_loadu_pd(reinterpret_cast<const double*>(s + sj));
  const __m256d r2 = _mm256_loadu_pd(reinterpret_cast<const double*>(s + 2 * sj));
  const __m256d r3 = _mm256_loadu_pd(reinterpret_cast<const double*>(s + 3 * sj));
  const __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
  const __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
  o[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
  o[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
  o[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
  o[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}

// As Block4x8Regs, stored: row k at d + k * di.
__attribute__((target("avx2"), always_inline)) inline void Block4x8(const uint8_t* s, uint64_t sj,
                                                                    uint8_t* d, uint64_t di) {
  __m256d o[4];
  Block4x8Regs(s, sj, o);
  for (int k = 0; k < 4; ++k) _mm256_storeu_pd(reinterpret_cast<double*>(d + k * di), o[k]);
}

// Two blocks side by side along j, elements (i .. i + b - 1) x (j .. j + 2b - 1) with b = 32 / N:
// each destination row is one whole 64-byte line at d + k * di, written with two non-temporal
// stores back to back, which fill the line's write-combining buffer, so the line goes to memory
// without first being read (d 64-byte aligned, di a multiple of 64).
template <size_t N>
__attribute__((target("avx2"), always_inline)) inline void StreamLines(const uint8_t* s,
                                                                       uint64_t sj, uint8_t* d,
                                                                       uint64_t di) {
  if constexpr (N == 4) {
    __m256 a[8], c[8];
    Block8x4Regs(s, sj, a);
    Block8x4Regs(s + 8 * sj, sj, c);
    for (int k = 0; k < 8; ++k) {
      float* line = reinterpret_cast<float*>(d + k * di);
      _mm256_stream_ps(line, a[k]);
      _mm256_stream_ps(line + 8, c[k]);
    }
  } else {
    __m256d a[4], c[4];
    Block4x8Regs(s, sj, a);
    Block4x8Regs(s + 4 * sj, sj, c);
    for (int k = 0; k < 4; ++k) {
      double* line = reinterpret_cast<double*>(d + k * di);
      _mm256_stream_pd(line, a[k]);
      _mm256_stream_pd(line + 4, c[k]);
    }
  }
}

template <size_t N>
constexpr uint64_t kAvxTile = 64 / N;

// A transposing copy whose source rows are at least kPageBytes apart first asks the CPU to bring
// the source into L2, when it is at most kPrefetchBytes (TransposeAvx2).
constexpr uint64_t kPageBytes = 4096;
constexpr uint64_t kPrefetchBytes = uint64_t{1} << 20;

// From this many destination bytes on, a transposing copy writes its whole destination lines with
// non-temporal stores (StreamLines): a line written whole need not be read first, which a
// regular store does, so the copy moves two bytes through memory per byte copied instead of three;
// the cost is that those lines are not left in the cache, which a destination this large would
// mostly leave anyway.
constexpr uint64_t kStreamBytes = uint64_t{256} << 10;

// One b x b register block (b = 32 / N) at (i, j). Not forced inline: the edge parts call it
// from lambdas, which do not carry the AVX2 target.
template <size_t N>
__attribute__((target("avx2"))) inline void BlockAt(const uint8_t* src, uint64_t sj, uint8_t* dst,
                                                    uint64_t di, uint64_t i, uint64_t j) {
  const uint8_t* s = src + i * N + j * sj;
  uint8_t* d = dst + i * di + j * N;
  if constexpr (N == 4) {
    Block8x4(s, sj, d, di);
  } else {
    Block4x8(s, sj, d, di);
  }
}

// Elements before the first whose address is a multiple of 64, when `p` is element-aligned.
template <size_t N>
uint64_t ToLine(const uint8_t* p, uint64_t n) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  if (a % N != 0) return 0;
  return std::min<uint64_t>(n, ((64 - a % 64) % 64) / N);
}

// Calls f(x) for the origins of blocks of side b that cover [x0, x1) and lie within
// [0, max(x1, b)): from min(x0, last) in steps of b, ending with the block at `last`, the first
// whose end reaches x1; so the last block may overlap the one before, or start before x0.
template <class F>
inline void CoverWithBlocks(uint64_t x0, uint64_t x1, uint64_t b, F f) {
  if (x1 <= x0) return;
  const uint64_t last = x1 > b ? x1 - b : 0;
  for (uint64_t x = std::min(x0, last);; x = std::min(x + b, last)) {
    f(x);
    if (x >= last) return;
  }
}

// As Transpose<N>, for N = 4 or 8 and ni, nj >= b, with the AVX2 blocks. Strips of b
// destination rows (along i) at a time, each strip across its rows in tiles of one cache line
// (t elements along j) that start where the destination reaches a line boundary, so that their
// stores never split a line; a large copy whose lines are all aligned writes each tile's lines
// whole with non-temporal stores. A strip thus keeps b write streams going, each in address
// order. A source whose rows are less than a page apart (a chunk) is read as the tiles need it,
// a column of half lines at a time, which the hardware prefetchers follow (asking for all of it
// into L2 first measured slower). The parts that are not whole tiles (the rows after the last
// strip, the lines before and after the tiles along j) are covered by blocks that may overlap
// ones already written: a copy writes the same bytes twice, never a wrong one, so no part falls
// back to element-by-element copies.
template <size_t N>
__attribute__((target("avx2"))) void TransposeAvx2(const uint8_t* src, uint64_t sj, uint8_t* dst,
                                                   uint64_t di, uint64_t ni, uint64_t nj) {
  constexpr uint64_t t = kAvxTile<N>;
  constexpr uint64_t b = 32 / N;  // block side, and the rows of a strip
  // Tiles span [0, i1) x [j0, j1).
  const uint64_t j0 = ToLine<N>(dst, nj);
  const uint64_t i1 = ni / b * b, j1 = j0 + (nj - j0) / t * t;
  const bool stream = ni * nj * N >= kStreamBytes && di % 64 == 0 &&
                      reinterpret_cast<uintptr_t>(dst + j0 * N) % 64 == 0;
  // Source rows a page or more apart (a caller's strided buffer, as a write gathers from it):
  // the tiles' column of half lines has one line per page, which no hardware prefetcher
  // follows, so the whole source is first requested into L2 in address order.
  if (sj >= kPageBytes && ni * N * nj <= kPrefetchBytes) {
    for (uint64_t j = 0; j < nj; ++j) {
      const char* row = reinterpret_cast<const char*>(src + j * sj);
      for (uint64_t o = 0; o < ni * N; o += 64) _mm_prefetch(row + o, _MM_HINT_T1);
    }
  }
  for (uint64_t i = 0; i < i1; i += b) {
    for (uint64_t jt = j0; jt < j1; jt += t) {
      if (stream) {
        StreamLines<N>(src + i * N + jt * sj, sj, dst + i * di + jt * N, di);
        continue;
      }
      for (uint64_t j = jt; j < jt + t; j += b) BlockAt<N>(src, sj, dst, di, i, j);
    }
  }
  // Non-temporal stores are ordered before everything after (the edges below may rewrite the
  // same bytes, and the caller's completion publishes them).
  if (stream) _mm_sfence();
  // The rows after the tiles, under the tiles' columns.
  CoverWithBlocks(i1, ni, b, [&](uint64_t i) {
    for (uint64_t j = j0; j < j1; j += b) BlockAt<N>(src, sj, dst, di, i, j);
  });
  // The columns before and after the tiles, every row.
  const auto columns = [&](uint64_t from, uint64_t to) {
    CoverWithBlocks(from, to, b, [&](uint64_t j) {
      CoverWithBlocks(0, ni, b, [&](uint64_t i) { BlockAt<N>(src, sj, dst, di, i, j); });
    });
  };
  columns(0, j0);
  columns(j1, nj);
}

bool CpuHasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}
#endif

std::atomic<bool> use_baseline{false};

bool Avx2Chosen() {
#if defined(ZARRPP_STRIDED_AVX2)
  return !use_baseline.load(std::memory_order_relaxed) && CpuHasAvx2();
#else
  return false;
#endif
}

void TransposeAny(const uint8_t* src, uint64_t sj, uint8_t* dst, uint64_t di, uint64_t ni,
                  uint64_t nj, size_t esize) {
#if defined(ZARRPP_STRIDED_AVX2)
  if ((esize == 4 || esize == 8) && ni >= 32 / esize && nj >= 32 / esize && Avx2Chosen()) {
    return esize == 4 ? TransposeAvx2<4>(src, sj, dst, di, ni, nj)
                      : TransposeAvx2<8>(src, sj, dst, di, ni, nj);
  }
#endif
  switch (esize) {
    case 1: return Transpose<1>(src, sj, dst, di, ni, nj);
    case 2: return Transpose<2>(src, sj, dst, di, ni, nj);
    case 4: return Transpose<4>(src, sj, dst, di, ni, nj);
    case 8: return Transpose<8>(src, sj, dst, di, ni, nj);
    case 16: return Transpose<16>(src, sj, dst, di, ni, nj);
    default: {
      // Other sizes (structured types): row by row, src strided.
      for (uint64_t i = 0; i < ni; ++i) {
        CopyStrided1D(src + i * esize, sj, dst + i * di, esize, nj, esize);
      }
    }
  }
}

// The order in which a box copy visits its dimensions (CopyStridedBox).
void BoxOrder(const uint64_t* ss, const uint64_t* ds, const uint64_t* shape, size_t rank,
              size_t* order) {
  for (size_t d = 0; d < rank; ++d) order[d] = d;
  const auto key = [&](size_t d) {
    return shape[d] <= 1 ? std::numeric_limits<uint64_t>::max() : ds[d];
  };
  std::stable_sort(order, order + rank, [&](size_t x, size_t y) { return key(x) > key(y); });
  if (rank < 2 || ss == nullptr) return;
  // src's smallest stride (of a dimension with more than one element) next to the innermost.
  size_t best = rank;
  for (size_t k = 0; k < rank; ++k) {
    const size_t d = order[k];
    if (shape[d] > 1 && (best == rank || ss[d] < ss[order[best]])) best = k;
  }
  if (best == rank || best >= rank - 2) return;
  const size_t d = order[best];
  for (size_t k = best; k + 2 < rank; ++k) order[k] = order[k + 1];
  order[rank - 2] = d;
}

void CopyLevel(size_t level, const size_t* order, size_t rank, const uint8_t* src,
               const uint64_t* ss, uint8_t* dst, const uint64_t* ds, const uint64_t* shape,
               size_t esize) {
  const size_t d = order[level];
  if (level + 1 == rank) return CopyStrided1D(src, ss[d], dst, ds[d], shape[d], esize);
  if (level + 2 == rank) {
    const size_t e = order[level + 1];
    return CopyStrided2D(src, ss[d], ss[e], dst, ds[d], ds[e], shape[d], shape[e], esize);
  }
  for (uint64_t j = 0; j < shape[d]; ++j) {
    CopyLevel(level + 1, order, rank, src + j * ss[d], ss, dst + j * ds[d], ds, shape, esize);
  }
}

void FillLevel(size_t level, const size_t* order, size_t rank, uint8_t* dst, const uint64_t* ds,
               const uint64_t* shape, const uint8_t* elem, size_t esize) {
  const size_t d = order[level];
  if (level + 1 == rank) {
    for (uint64_t j = 0; j < shape[d]; ++j) std::memcpy(dst + j * ds[d], elem, esize);
    return;
  }
  for (uint64_t j = 0; j < shape[d]; ++j) {
    FillLevel(level + 1, order, rank, dst + j * ds[d], ds, shape, elem, esize);
  }
}

}  // namespace

void CopyStridedBox(const uint8_t* src, const uint64_t* ss, uint8_t* dst, const uint64_t* ds,
                    const uint64_t* shape, size_t rank, size_t esize) {
  for (size_t d = 0; d < rank; ++d) {
    if (shape[d] == 0) return;
  }
  if (rank == 0) {
    std::memcpy(dst, src, esize);
    return;
  }
  std::vector<size_t> order(rank);
  BoxOrder(ss, ds, shape, rank, order.data());
  CopyLevel(0, order.data(), rank, src, ss, dst, ds, shape, esize);
}

void FillStridedBox(uint8_t* dst, const uint64_t* ds, const uint64_t* shape, size_t rank,
                    const uint8_t* elem, size_t esize) {
  for (size_t d = 0; d < rank; ++d) {
    if (shape[d] == 0) return;
  }
  if (rank == 0) {
    std::memcpy(dst, elem, esize);
    return;
  }
  std::vector<size_t> order(rank);
  BoxOrder(nullptr, ds, shape, rank, order.data());
  FillLevel(0, order.data(), rank, dst, ds, shape, elem, esize);
}

void UseTransposeKernel(TransposeKernel kernel) {
  use_baseline.store(kernel == TransposeKernel::kBaseline, std::memory_order_relaxed);
}

bool Avx2TransposeInUse() {
  return Avx2Chosen();
}

void CopyStrided1D(const uint8_t* src, uint64_t ss, uint8_t* dst, uint64_t ds, uint64_t n,
                   size_t esize) {
  if (ss == esize && ds == esize) {
    std::memcpy(dst, src, n * esize);
    return;
  }
  switch (esize) {
    case 1: return CopyStridedN<1>(src, ss, dst, ds, n);
    case 2: return CopyStridedN<2>(src, ss, dst, ds, n);
    case 4: return CopyStridedN<4>(src, ss, dst, ds, n);
    case 8: return CopyStridedN<8>(src, ss, dst, ds, n);
    case 16: return CopyStridedN<16>(src, ss, dst, ds, n);
    default:
      for (uint64_t i = 0; i < n; ++i) std::memcpy(dst + i * ds, src + i * ss, esize);
  }
}

void CopyStrided2D(const uint8_t* src, uint64_t src_outer, uint64_t src_inner, uint8_t* dst,
                   uint64_t dst_outer, uint64_t dst_inner, uint64_t n_outer, uint64_t n_inner,
                   size_t esize) {
  if (n_outer == 0 || n_inner == 0) return;
  const uint64_t row = n_inner * esize;
  if (src_inner == esize && dst_inner == esize) {
    if (src_outer == row && dst_outer == row) {
      std::memcpy(dst, src, n_outer * row);
      return;
    }
    for (uint64_t i = 0; i < n_outer; ++i) {
      std::memcpy(dst + i * dst_outer, src + i * src_outer, row);
    }
    return;
  }
  // Transposing: each side contiguous along a different dimension (with more than one element
  // along both, else a 1-D copy does it).
  if (n_outer > 1 && n_inner > 1) {
    if (src_outer == esize && dst_inner == esize) {
      return TransposeAny(src, src_inner, dst, dst_outer, n_outer, n_inner, esize);
    }
    if (src_inner == esize && dst_outer == esize) {
      return TransposeAny(src, src_outer, dst, dst_inner, n_inner, n_outer, esize);
    }
  }
  for (uint64_t i = 0; i < n_outer; ++i) {
    CopyStrided1D(src + i * src_outer, src_inner, dst + i * dst_outer, dst_inner, n_inner, esize);
  }
}

}  // namespace zarrpp::internal
