// src/types/float16.h - IEEE 754 binary16 ("float16") conversions, as raw 16-bit patterns.
//
// Narrowing (double/float -> half) rounds to nearest, ties to even, in one step (no double
// rounding through float); values beyond the half range become infinity, values below half the
// smallest subnormal become signed zero. Widening (half -> float/double) is exact. NaNs keep their
// sign and the top bits of their payload; a NaN whose kept payload would be zero becomes quiet so
// it stays a NaN.
//
// Thread safety: pure functions.
#pragma once

#include <bit>
#include <cstdint>

namespace zarrpp::internal {

inline constexpr uint16_t kHalfSignMask = 0x8000;
inline constexpr uint16_t kHalfExponentMask = 0x7c00;
inline constexpr uint16_t kHalfMantissaMask = 0x03ff;
inline constexpr uint16_t kHalfInfinity = 0x7c00;
inline constexpr uint16_t kHalfCanonicalNaN = 0x7e00;
inline constexpr double kHalfMax = 65504.0;

inline bool HalfIsNaN(uint16_t h) {
  return (h & kHalfExponentMask) == kHalfExponentMask && (h & kHalfMantissaMask) != 0;
}
inline bool HalfIsInf(uint16_t h) {
  return (h & 0x7fff) == kHalfInfinity;
}

// Exact.
inline double HalfToDouble(uint16_t h) {
  const uint64_t sign = static_cast<uint64_t>(h & kHalfSignMask) << 48;
  const int exp = (h & kHalfExponentMask) >> 10;
  const uint64_t mant = h & kHalfMantissaMask;
  uint64_t bits;
  if (exp == 0x1f) {
    bits = sign | (uint64_t{0x7ff} << 52) | (mant << 42);
  } else if (exp != 0) {
    bits = sign | (static_cast<uint64_t>(exp - 15 + 1023) << 52) | (mant << 42);
  } else if (mant == 0) {
    bits = sign;
  } else {
    // Subnormal half: mant * 2^-24, normal as a double.
    int shift = std::countl_zero(static_cast<uint16_t>(mant << 6));  // leading zeros in 10 bits
    const uint64_t normalised = (mant << (shift + 1)) & kHalfMantissaMask;
    bits = sign | (static_cast<uint64_t>(-15 - shift + 1023) << 52) | (normalised << 42);
  }
  return std::bit_cast<double>(bits);
}

// Exact.
inline float HalfToFloat(uint16_t h) {
  const uint16_t exp = h & kHalfExponentMask;
  if (exp == kHalfExponentMask) {
    // Keep the NaN payload bit for bit (a float cast from double would too, but be explicit).
    const uint32_t sign = static_cast<uint32_t>(h & kHalfSignMask) << 16;
    const uint32_t mant = static_cast<uint32_t>(h & kHalfMantissaMask) << 13;
    return std::bit_cast<float>(sign | 0x7f800000u | mant);
  }
  return static_cast<float>(HalfToDouble(h));  // exact: every half is a float
}

// Rounds to nearest, ties to even.
inline uint16_t DoubleToHalf(double d) {
  const uint64_t bits = std::bit_cast<uint64_t>(d);
  const uint16_t sign = static_cast<uint16_t>((bits >> 48) & kHalfSignMask);
  const int biased = static_cast<int>((bits >> 52) & 0x7ff);
  const uint64_t mant = bits & ((uint64_t{1} << 52) - 1);
  if (biased == 0x7ff) {
    if (mant == 0) return sign | kHalfInfinity;
    uint16_t payload = static_cast<uint16_t>(mant >> 42);
    if (payload == 0) payload = 0x200;  // would read as infinity; keep it a (quiet) NaN
    return sign | kHalfInfinity | payload;
  }
  if (biased == 0) return sign;  // zero or a double subnormal, far below half's range
  const int e = biased - 1023;
  if (e > 15) return sign | kHalfInfinity;
  const uint64_t sig = mant | (uint64_t{1} << 52);  // 53 significant bits
  // Normal halves keep 11 significant bits; subnormal halves count units of 2^-24.
  const int shift = e >= -14 ? 42 : 28 - e;
  if (shift >= 64) return sign;
  uint64_t q = sig >> shift;
  const uint64_t rem = sig & ((uint64_t{1} << shift) - 1);
  const uint64_t half_unit = uint64_t{1} << (shift - 1);
  if (rem > half_unit || (rem == half_unit && (q & 1))) ++q;
  if (e >= -14) {
    // q is in [1024, 2048]; a carry to 2048 moves into the exponent (and up to infinity).
    return sign | static_cast<uint16_t>((static_cast<uint32_t>(e + 14) << 10) + q);
  }
  return sign | static_cast<uint16_t>(q);  // q == 1024 is the smallest normal
}

// Rounds to nearest, ties to even (float -> double is exact, so this rounds once).
inline uint16_t FloatToHalf(float f) {
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu) != 0) {
    const uint16_t sign = static_cast<uint16_t>((bits >> 16) & kHalfSignMask);
    uint16_t payload = static_cast<uint16_t>((bits & 0x007fffffu) >> 13);
    if (payload == 0) payload = 0x200;
    return sign | kHalfInfinity | payload;
  }
  return DoubleToHalf(static_cast<double>(f));
}

}  // namespace zarrpp::internal
