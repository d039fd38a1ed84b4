// The strided copy kernels (src/pipeline/strided_copy.h) against an element-by-element reference.
#include "src/pipeline/strided_copy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

namespace zarrpp::internal {
namespace {

struct Case {
  uint64_t n_outer, n_inner;
  uint64_t src_outer, src_inner, dst_outer, dst_inner;  // in elements
};

// Runs CopyStrided2D for `c` with elements of `esize` bytes between buffers holding random
// bytes, and checks every destination byte: the copied element where the copy puts one, the
// old byte everywhere else.
// `lead` elements come before the first one copied on both sides (random, 0-2, if negative).
void Check(const Case& c, size_t esize, std::mt19937_64& rng, int64_t lead_elements = -1) {
  auto span = [](uint64_t no, uint64_t ni, uint64_t so, uint64_t si) {
    return (no - 1) * so + (ni - 1) * si + 1;
  };
  const uint64_t lead =
      lead_elements >= 0 ? static_cast<uint64_t>(lead_elements) : static_cast<uint64_t>(rng() % 3);
  std::vector<uint8_t> src((lead + span(c.n_outer, c.n_inner, c.src_outer, c.src_inner)) * esize);
  std::vector<uint8_t> dst((lead + span(c.n_outer, c.n_inner, c.dst_outer, c.dst_inner)) * esize +
                           7);
  for (uint8_t& b : src) b = static_cast<uint8_t>(rng());
  for (uint8_t& b : dst) b = static_cast<uint8_t>(rng());
  std::vector<uint8_t> want = dst;
  for (uint64_t i = 0; i < c.n_outer; ++i) {
    for (uint64_t j = 0; j < c.n_inner; ++j) {
      std::memcpy(want.data() + (lead + i * c.dst_outer + j * c.dst_inner) * esize,
                  src.data() + (lead + i * c.src_outer + j * c.src_inner) * esize, esize);
    }
  }
  CopyStrided2D(src.data() + lead * esize, c.src_outer * esize, c.src_inner * esize,
                dst.data() + lead * esize, c.dst_outer * esize, c.dst_inner * esize, c.n_outer,
                c.n_inner, esize);
  ASSERT_EQ(dst, want) << "esize " << esize << " n " << c.n_outer << "x" << c.n_inner
                       << " src strides " << c.src_outer << "," << c.src_inner << " dst strides "
                       << c.dst_outer << "," << c.dst_inner;
}

// Extents around the tile sides (8, 16, 32, 64 elements) and the register blocks inside them.
const uint64_t kExtents[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100};

// Runs each case with the kernels this CPU picks and again with the baseline (SSE2) kernels.
class KernelTest : public ::testing::TestWithParam<TransposeKernel> {
 protected:
  void SetUp() override { UseTransposeKernel(GetParam()); }
  void TearDown() override { UseTransposeKernel(TransposeKernel::kBest); }
};

INSTANTIATE_TEST_SUITE_P(Kernels, KernelTest,
                         ::testing::Values(TransposeKernel::kBest, TransposeKernel::kBaseline),
                         [](const auto& info) {
                           return info.param == TransposeKernel::kBest ? "Best" : "Baseline";
                         });

TEST(CopyStrided2D, BestKernelIsAvx2WhereTheCpuHasIt) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (!__builtin_cpu_supports("avx2")) GTEST_SKIP() << "this CPU has no AVX2";
  EXPECT_TRUE(Avx2TransposeInUse());
  UseTransposeKernel(TransposeKernel::kBaseline);
  EXPECT_FALSE(Avx2TransposeInUse());
  UseTransposeKernel(TransposeKernel::kBest);
  EXPECT_TRUE(Avx2TransposeInUse());
#else
  GTEST_SKIP() << "AVX2 kernels are built for x86-64 with GCC or Clang only";
#endif
}

TEST_P(KernelTest, TransposesMatchReferenceForEveryElementSize) {
  std::mt19937_64 rng(1);
  for (size_t esize : {1, 2, 3, 4, 8, 12, 16}) {
    for (uint64_t no : kExtents) {
      for (uint64_t ni : kExtents) {
        const uint64_t pad = rng() % 3;
        // Source contiguous along the outer dimension, destination along the inner (a chunk
        // into a Fortran-order view), and the reverse (a Fortran-order source into a chunk).
        Check(Case{no, ni, 1, no + pad, ni + pad, 1}, esize, rng);
        Check(Case{no, ni, ni + pad, 1, 1, no + pad}, esize, rng);
      }
    }
  }
}

TEST_P(KernelTest, RowsAndOddStridesMatchReference) {
  std::mt19937_64 rng(2);
  for (size_t esize : {1, 2, 4, 8, 16}) {
    for (int trial = 0; trial < 300; ++trial) {
      const uint64_t no = kExtents[rng() % std::size(kExtents)];
      const uint64_t ni = kExtents[rng() % std::size(kExtents)];
      switch (trial % 4) {
        case 0:  // dense on both sides: one memcpy
          Check(Case{no, ni, ni, 1, ni, 1}, esize, rng);
          break;
        case 1:  // padded rows
          Check(Case{no, ni, ni + rng() % 4, 1, ni + rng() % 4, 1}, esize, rng);
          break;
        case 2: {  // odd element strides on both sides, non-overlapping destination
          const uint64_t si = 1 + rng() % 5, di = 3 + 2 * (rng() % 2);
          Check(Case{no, ni, ni * si + rng() % 3, si, ni * di + rng() % 3, di}, esize, rng);
          break;
        }
        default: {  // a transpose with an odd stride on the contiguous-looking side
          const uint64_t s = 3;
          Check(Case{no, ni, s, no * s + 1, ni + 1, 1}, esize, rng);
        }
      }
    }
  }
}

// A large transpose (many full tiles, ragged edges) of 4- and 8-byte elements, the sizes with
// AVX2 kernels.
TEST_P(KernelTest, LargeTransposesMatchReference) {
  std::mt19937_64 rng(4);
  for (size_t esize : {4, 8}) {
    for (auto [no, ni] : {std::pair<uint64_t, uint64_t>{256, 256}, {257, 250}, {129, 300}}) {
      Check(Case{no, ni, 1, no + 3, ni + 1, 1}, esize, rng);
      Check(Case{no, ni, ni, 1, 1, no}, esize, rng);
    }
  }
}

// Transposes whose first source and destination elements sit at every element offset within a
// 64-byte line (the AVX2 tiles start at the destination's first line boundary and cover what is
// before and after them with overlapping blocks), for extents just above the block sides.
TEST_P(KernelTest, TransposesAtEveryLineOffsetMatchReference) {
  std::mt19937_64 rng(5);
  for (size_t esize : {4, 8}) {
    for (int64_t lead = 0; lead < static_cast<int64_t>(64 / esize); ++lead) {
      for (auto [no, ni] : {std::pair<uint64_t, uint64_t>{8, 8},
                            {9, 4},
                            {4, 9},
                            {15, 17},
                            {17, 40},
                            {40, 33},
                            {64, 64},
                            {70, 23}}) {
        Check(Case{no, ni, 1, no + lead % 3, ni + lead % 2, 1}, esize, rng, lead);
        Check(Case{no, ni, ni + lead % 2, 1, 1, no + lead % 3}, esize, rng, lead);
      }
    }
  }
}

// Transposes of at least 256 KiB whose destination lines are 64-byte multiples apart (the AVX2
// kernel writes their whole lines with non-temporal stores), at element offsets within a line on
// both sides, with ragged edges.
TEST_P(KernelTest, LargeLineAlignedTransposesMatchReference) {
  std::mt19937_64 rng(6);
  for (size_t esize : {4, 8}) {
    const uint64_t line = 64 / esize;  // elements per 64 bytes
    for (const int64_t lead :
         {int64_t{0}, int64_t{1}, int64_t{3}, static_cast<int64_t>(line) - 1}) {
      for (auto [no, ni] : {std::pair<uint64_t, uint64_t>{256, 256}, {300, 270}, {257, 512}}) {
        const uint64_t dst_outer = (ni + line - 1) / line * line + line;  // a multiple of 64 bytes
        Check(Case{no, ni, 1, no + lead % 2, dst_outer, 1}, esize, rng, lead);
      }
    }
  }
}

TEST(CopyStrided1D, MatchesReference) {
  std::mt19937_64 rng(3);
  for (size_t esize : {1, 2, 4, 5, 8, 16}) {
    for (uint64_t n : kExtents) {
      for (uint64_t ss : {1, 2, 3}) {
        Check(Case{1, n, 0, ss, 0, 1 + (ss % 2) * 2}, esize, rng);
      }
    }
  }
}

// N-D boxes (ranks 0-4) between random layouts: each side's dimensions in a random order, padded.
TEST(CopyStridedBox, CopiesAndFillsMatchReference) {
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 400; ++trial) {
    const size_t rank = trial % 5;
    const size_t esize = std::vector<size_t>{1, 2, 3, 4, 8, 16}[rng() % 6];
    std::vector<uint64_t> shape(rank);
    uint64_t n = 1;
    for (uint64_t& e : shape) {
      e = 1 + rng() % (rank <= 2 ? 40 : 9);
      n *= e;
    }
    auto layout = [&](std::vector<uint64_t>& strides) {
      std::vector<size_t> order(rank);
      for (size_t d = 0; d < rank; ++d) order[d] = d;
      std::shuffle(order.begin(), order.end(), rng);
      strides.assign(rank, 0);
      uint64_t s = 1 + rng() % 2;
      for (size_t d : order) {
        strides[d] = s;
        s *= shape[d] + rng() % 3;
      }
      return s;  // elements spanned
    };
    std::vector<uint64_t> ss, ds;
    const uint64_t src_span = layout(ss), dst_span = layout(ds);
    std::vector<uint8_t> src((src_span + 2) * esize), dst((dst_span + 2) * esize);
    for (uint8_t& b : src) b = static_cast<uint8_t>(rng());
    for (uint8_t& b : dst) b = static_cast<uint8_t>(rng());
    std::vector<uint8_t> want = dst, want_fill = dst, filled = dst;
    const uint8_t elem[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t rest = i, so = 1, doff = 1;
      for (size_t d = rank; d-- > 0;) {
        so += (rest % shape[d]) * ss[d];
        doff += (rest % shape[d]) * ds[d];
        rest /= shape[d];
      }
      std::memcpy(want.data() + doff * esize, src.data() + so * esize, esize);
      std::memcpy(want_fill.data() + doff * esize, elem, esize);
    }
    std::vector<uint64_t> ssb(rank), dsb(rank);
    for (size_t d = 0; d < rank; ++d) {
      ssb[d] = ss[d] * esize;
      dsb[d] = ds[d] * esize;
    }
    CopyStridedBox(src.data() + esize, ssb.data(), dst.data() + esize, dsb.data(), shape.data(),
                   rank, esize);
    ASSERT_EQ(dst, want) << "trial " << trial;
    FillStridedBox(filled.data() + esize, dsb.data(), shape.data(), rank, elem, esize);
    ASSERT_EQ(filled, want_fill) << "trial " << trial;
  }
}

TEST(CopyStrided2D, EmptyCopiesTouchNothing) {
  uint8_t src[4] = {1, 2, 3, 4}, dst[4] = {9, 9, 9, 9};
  CopyStrided2D(src, 4, 1, dst, 1, 4, 0, 5, 1);
  CopyStrided2D(src, 4, 1, dst, 1, 4, 5, 0, 1);
  for (uint8_t b : dst) EXPECT_EQ(b, 9);
}

}  // namespace
}  // namespace zarrpp::internal
