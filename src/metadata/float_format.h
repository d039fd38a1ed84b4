// src/metadata/float_format.h - the small binary float formats of the zarr-extensions data types:
// bfloat16, float8_*, float6_*, float4_e2m1fn. Each is described by its bit layout; values
// convert to and from double exactly (every value of these formats is a double) with
// round-to-nearest-even on the way in.
//
// Thread safety: pure functions over constant tables.
#pragma once

#include <cstdint>
#include <optional>

#include "zarrpp/data_type.h"

namespace zarrpp::internal {

struct FloatFormat {
  enum class Kind : uint8_t {
    kIeee,    // exponent all ones: infinity (mantissa 0) or NaN
    kFinite,  // "fn" without NaN (float4, float6): every pattern is a finite number
    kFnuz,    // no infinity, no negative zero; the pattern 1000...0 alone is NaN
    kE8M0,    // unsigned powers of two 2^(e-127); 0xff is NaN
  };
  uint8_t bits;  // total significant bits
  uint8_t exp_bits;
  uint8_t mant_bits;
  int bias;
  Kind kind;

  uint32_t sign_bit() const { return kind == Kind::kE8M0 ? 0 : uint32_t{1} << (bits - 1); }
  bool has_nan() const { return kind != Kind::kFinite; }
  bool has_inf() const { return kind == Kind::kIeee; }
  // The pattern written for "NaN" (0 when the format has none).
  uint32_t canonical_nan() const;
  uint32_t infinity() const { return ((uint32_t{1} << exp_bits) - 1) << mant_bits; }
  bool IsNan(uint32_t pattern) const;
  bool IsInf(uint32_t pattern) const;
  // The value of a pattern (NaN for NaN patterns).
  double ToDouble(uint32_t pattern) const;
  // The nearest pattern to `v` (ties to even); nullopt when `v` is out of range (rounds past the
  // largest finite value), or is a NaN/infinity/zero the format cannot hold.
  std::optional<uint32_t> FromDouble(double v) const;
};

// The format of bfloat16, float8_*, float6_*, float4_e2m1fn (complex types: pass the
// component_id()); nullptr for any other type.
const FloatFormat* FloatFormatOf(DataTypeId id);

// Rewrites `n` elements of a sub-byte type (DataType::is_sub_byte()) in their canonical
// in-memory form: int2/int4 sign-extended from their low bits, the others with the bits above
// their width cleared. Other types are left alone.
void CanonicalizeSubByte(uint8_t* data, uint64_t n, DataType type);

}  // namespace zarrpp::internal
