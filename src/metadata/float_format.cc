#include "src/metadata/float_format.h"

#include <cmath>
#include <limits>

namespace zarrpp::internal {

namespace {

using Kind = FloatFormat::Kind;

// Layouts from the zarr-extensions data type documents (spec/metadata.md cites them).
constexpr FloatFormat kBFloat16{16, 8, 7, 127, Kind::kIeee};
constexpr FloatFormat kE3M4{8, 3, 4, 3, Kind::kIeee};
constexpr FloatFormat kE4M3{8, 4, 3, 7, Kind::kIeee};
constexpr FloatFormat kE4M3B11FNUZ{8, 4, 3, 11, Kind::kFnuz};
constexpr FloatFormat kE4M3FNUZ{8, 4, 3, 8, Kind::kFnuz};
constexpr FloatFormat kE5M2{8, 5, 2, 15, Kind::kIeee};
constexpr FloatFormat kE5M2FNUZ{8, 5, 2, 16, Kind::kFnuz};
constexpr FloatFormat kE8M0FNU{8, 8, 0, 127, Kind::kE8M0};
constexpr FloatFormat kE2M1FN{4, 2, 1, 1, Kind::kFinite};
constexpr FloatFormat kE2M3FN{6, 2, 3, 1, Kind::kFinite};
constexpr FloatFormat kE3M2FN{6, 3, 2, 3, Kind::kFinite};

}  // namespace

uint32_t FloatFormat::canonical_nan() const {
  switch (kind) {
    case Kind::kIeee: return infinity() | (uint32_t{1} << (mant_bits - 1));
    case Kind::kFnuz: return sign_bit();
    case Kind::kE8M0: return 0xff;
    case Kind::kFinite: return 0;
  }
  return 0;
}

bool FloatFormat::IsNan(uint32_t p) const {
  const uint32_t mask = (bits == 32 ? ~uint32_t{0} : (uint32_t{1} << bits) - 1);
  p &= mask;
  switch (kind) {
    case Kind::kIeee: {
      const uint32_t mant = p & ((uint32_t{1} << mant_bits) - 1);
      return (p & infinity()) == infinity() && mant != 0;
    }
    case Kind::kFnuz: return p == sign_bit();
    case Kind::kE8M0: return p == 0xff;
    case Kind::kFinite: return false;
  }
  return false;
}

bool FloatFormat::IsInf(uint32_t p) const {
  return kind == Kind::kIeee && (p & ~sign_bit()) == infinity();
}

double FloatFormat::ToDouble(uint32_t p) const {
  p &= (uint32_t{1} << bits) - 1;
  if (IsNan(p)) return std::numeric_limits<double>::quiet_NaN();
  if (kind == Kind::kE8M0) return std::ldexp(1.0, static_cast<int>(p) - bias);
  const bool negative = (p & sign_bit()) != 0;
  if (IsInf(p)) return negative ? -HUGE_VAL : HUGE_VAL;
  const uint32_t exp = (p >> mant_bits) & ((uint32_t{1} << exp_bits) - 1);
  const uint32_t mant = p & ((uint32_t{1} << mant_bits) - 1);
  double v = exp == 0 ? std::ldexp(mant, 1 - bias - mant_bits)
                      : std::ldexp((uint32_t{1} << mant_bits) + mant,
                                   static_cast<int>(exp) - bias - mant_bits);
  return negative ? -v : v;
}

std::optional<uint32_t> FloatFormat::FromDouble(double v) const {
  if (std::isnan(v)) {
    if (!has_nan()) return std::nullopt;
    return canonical_nan();
  }
  const bool negative = std::signbit(v);
  if (kind == Kind::kE8M0) {
    // Only exact positive powers of two 2^-127 .. 2^127 are values of this format.
    if (negative || v == 0 || std::isinf(v)) return std::nullopt;
    int e = 0;
    const double m = std::frexp(v, &e);  // v = m * 2^e, m in [0.5, 1)
    if (m != 0.5) return std::nullopt;
    const int field = e - 1 + bias;
    if (field < 0 || field > 254) return std::nullopt;
    return static_cast<uint32_t>(field);
  }
  const uint32_t sign = negative ? sign_bit() : 0;
  if (std::isinf(v)) {
    if (!has_inf()) return std::nullopt;
    return sign | infinity();
  }
  const double a = std::fabs(v);
  // The magnitude pattern, rounded to nearest even.
  uint32_t magnitude = 0;
  if (a != 0) {
    int e = 0;
    std::frexp(a, &e);
    const int exponent = e - 1;  // a in [2^exponent, 2^(exponent+1))
    const int min_normal = 1 - bias;
    if (exponent < min_normal) {
      // Subnormal: units of 2^(min_normal - mant_bits); a carry into the exponent field is the
      // smallest normal, which the same pattern arithmetic gives.
      magnitude = static_cast<uint32_t>(std::nearbyint(std::ldexp(a, mant_bits - min_normal)));
    } else {
      const double q = std::nearbyint(std::ldexp(a, mant_bits - exponent));  // [2^m, 2^(m+1)]
      if (exponent + bias > (1 << exp_bits)) return std::nullopt;            // far out of range
      magnitude = (static_cast<uint32_t>(exponent + bias) << mant_bits) +
                  (static_cast<uint32_t>(q) - (uint32_t{1} << mant_bits));
    }
  }
  // The largest finite magnitude pattern.
  const uint32_t all = (uint32_t{1} << (bits - 1)) - 1;
  const uint32_t max_finite = kind == Kind::kIeee ? infinity() - 1 : all;
  if (magnitude > max_finite) return std::nullopt;
  if (kind == Kind::kFnuz && magnitude == 0) return 0u;  // no negative zero
  return sign | magnitude;
}

void CanonicalizeSubByte(uint8_t* data, uint64_t n, DataType type) {
  if (!type.is_sub_byte()) return;
  const uint32_t shift = 8 - type.bits();
  if (type.id() == DataTypeId::kInt2 || type.id() == DataTypeId::kInt4) {
    for (uint64_t i = 0; i < n; ++i) {
      data[i] = static_cast<uint8_t>(static_cast<int8_t>(static_cast<uint8_t>(data[i] << shift)) >>
                                     shift);
    }
  } else {
    const auto mask = static_cast<uint8_t>(0xffu >> shift);
    for (uint64_t i = 0; i < n; ++i) data[i] &= mask;
  }
}

const FloatFormat* FloatFormatOf(DataTypeId id) {
  switch (id) {
    case DataTypeId::kBFloat16: return &kBFloat16;
    case DataTypeId::kFloat8E3M4: return &kE3M4;
    case DataTypeId::kFloat8E4M3: return &kE4M3;
    case DataTypeId::kFloat8E4M3B11FNUZ: return &kE4M3B11FNUZ;
    case DataTypeId::kFloat8E4M3FNUZ: return &kE4M3FNUZ;
    case DataTypeId::kFloat8E5M2: return &kE5M2;
    case DataTypeId::kFloat8E5M2FNUZ: return &kE5M2FNUZ;
    case DataTypeId::kFloat8E8M0FNU: return &kE8M0FNU;
    case DataTypeId::kFloat4E2M1FN: return &kE2M1FN;
    case DataTypeId::kFloat6E2M3FN: return &kE2M3FN;
    case DataTypeId::kFloat6E3M2FN: return &kE3M2FN;
    default: return nullptr;
  }
}

}  // namespace zarrpp::internal
