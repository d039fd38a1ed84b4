#include "src/array/indexing.h"

#include <gtest/gtest.h>

#include <numeric>

namespace zarrpp::internal {
namespace {

TEST(CopyBox, CopiesInteriorBoxBetweenDifferentShapes) {
  std::vector<uint64_t> src_shape = {4, 5}, dst_shape = {3, 3}, box = {2, 3};
  std::vector<uint16_t> src(20);
  std::iota(src.begin(), src.end(), 0);
  std::vector<uint16_t> dst(9, 99);
  uint64_t so[] = {1, 2}, dorig[] = {1, 0};
  CopyBox(reinterpret_cast<uint8_t*>(src.data()), src_shape, so,
          reinterpret_cast<uint8_t*>(dst.data()), dst_shape, dorig, box, 2);
  EXPECT_EQ(dst, (std::vector<uint16_t>{99, 99, 99, 7, 8, 9, 12, 13, 14}));
}

TEST(CopyBox, WholeRowsAreOneRunAndRankZeroCopiesOneElement) {
  std::vector<uint64_t> shape = {3, 4};
  std::vector<uint8_t> src(12), dst(12, 0);
  std::iota(src.begin(), src.end(), 1);
  uint64_t o[] = {0, 0};
  CopyBox(src.data(), shape, o, dst.data(), shape, o, shape, 1);
  EXPECT_EQ(src, dst);
  std::vector<uint64_t> none;
  uint32_t a = 7, b = 0;
  CopyBox(reinterpret_cast<uint8_t*>(&a), none, nullptr, reinterpret_cast<uint8_t*>(&b), none,
          nullptr, none, 4);
  EXPECT_EQ(b, 7u);
}

TEST(CopyBox, ThreeDimensionalBoxMatchesNaiveLoop) {
  std::vector<uint64_t> s = {5, 6, 7}, d = {4, 4, 4}, box = {3, 2, 4};
  std::vector<uint32_t> src(5 * 6 * 7);
  std::iota(src.begin(), src.end(), 0);
  std::vector<uint32_t> dst(64, 0);
  uint64_t so[] = {1, 3, 2}, dor[] = {0, 1, 0};
  CopyBox(reinterpret_cast<uint8_t*>(src.data()), s, so, reinterpret_cast<uint8_t*>(dst.data()), d,
          dor, box, 4);
  for (uint64_t i = 0; i < 3; ++i)
    for (uint64_t j = 0; j < 2; ++j)
      for (uint64_t k = 0; k < 4; ++k)
        EXPECT_EQ(dst[(i * 4 + j + 1) * 4 + k], src[((i + 1) * 6 + j + 3) * 7 + k + 2]);
}

TEST(FillBox, FillsOnlyTheBox) {
  std::vector<uint64_t> shape = {3, 3}, box = {2, 2};
  std::vector<uint16_t> a(9, 0);
  uint16_t v = 0x0102;
  uint64_t o[] = {1, 1};
  FillBox(reinterpret_cast<uint8_t*>(a.data()), shape, o, box, reinterpret_cast<uint8_t*>(&v), 2);
  EXPECT_EQ(a, (std::vector<uint16_t>{0, 0, 0, 0, 0x0102, 0x0102, 0, 0x0102, 0x0102}));
}

TEST(AllEqualFill, ComparesBitsExceptNaN) {
  float f[3] = {1.5f, 1.5f, 1.5f};
  float fill = 1.5f;
  DataType t(DataTypeId::kFloat32);
  EXPECT_TRUE(AllEqualFill(reinterpret_cast<uint8_t*>(f), 3, reinterpret_cast<uint8_t*>(&fill), t));
  f[2] = 2.0f;
  EXPECT_FALSE(
      AllEqualFill(reinterpret_cast<uint8_t*>(f), 3, reinterpret_cast<uint8_t*>(&fill), t));
  uint64_t nan_a = 0x7ff8000000000000ull, nan_b = 0xfff0000000000001ull;
  uint64_t d[2] = {nan_a, nan_b};
  EXPECT_TRUE(AllEqualFill(reinterpret_cast<uint8_t*>(d), 2, reinterpret_cast<uint8_t*>(&nan_a),
                           DataType(DataTypeId::kFloat64)));
  uint32_t zero = 0, negzero[1] = {0x80000000u};
  EXPECT_FALSE(
      AllEqualFill(reinterpret_cast<uint8_t*>(negzero), 1, reinterpret_cast<uint8_t*>(&zero), t));
}

TEST(IsContiguousBox, RecognisesRowRuns) {
  std::vector<uint64_t> shape = {4, 5, 6};
  uint64_t o[] = {0, 0, 0};
  EXPECT_TRUE(IsContiguousBox(shape, o, {2, 5, 6}));
  EXPECT_TRUE(IsContiguousBox(shape, o, {1, 2, 6}));
  EXPECT_TRUE(IsContiguousBox(shape, o, {1, 1, 3}));
  EXPECT_FALSE(IsContiguousBox(shape, o, {2, 2, 6}));
  EXPECT_FALSE(IsContiguousBox(shape, o, {1, 2, 3}));
}

}  // namespace
}  // namespace zarrpp::internal
