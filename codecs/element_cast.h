// codecs/element_cast.h - element access and numpy-style casts for the array->array codecs that
// compute on values (numcodecs astype, delta, fixedscaleoffset, quantize; bitround).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

#include "src/types/float16.h"
#include "zarrpp/data_type.h"
#include "zarrpp/status.h"

namespace zarrpp::internal {

// An IEEE binary16 element; arithmetic happens in float.
struct Half {
  uint16_t bits = 0;
};

template <typename T>
struct Arith {
  using type = T;
};
template <>
struct Arith<Half> {
  using type = float;
};
// numpy computes an integer array with a Python float in float64, a float32 or float16 array in
// float32 (value-based casting), a float64 array in float64.
template <typename T>
using FloatArith =
    std::conditional_t<std::is_same_v<T, float> || std::is_same_v<T, Half>, float, double>;

template <typename T>
T LoadElement(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
template <typename T>
void StoreElement(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}

template <typename T>
typename Arith<T>::type Widen(T v) {
  if constexpr (std::is_same_v<T, Half>) {
    return HalfToFloat(v.bits);
  } else {
    return v;
  }
}

// numpy's astype: integers wrap, floats round to nearest, float to integer truncates toward zero
// and wraps (see below for NaN and values outside int64, where NumPy's result is platform
// behaviour).
template <typename D, typename S>
D CastTo(S v) {
  if constexpr (std::is_same_v<D, S>) {
    return v;
  } else if constexpr (std::is_same_v<D, Half>) {
    return Half{DoubleToHalf(static_cast<double>(v))};
  } else if constexpr (std::is_same_v<S, Half>) {
    return CastTo<D>(HalfToFloat(v.bits));
  } else if constexpr (std::is_integral_v<D> && std::is_floating_point_v<S>) {
    // As NumPy on x86-64: truncate to int64 (NaN and values outside int64 give INT64_MIN), then
    // wrap to D; uint64 takes values up to 2^64 directly.
    const double d = static_cast<double>(v);
    if constexpr (std::is_same_v<D, uint64_t>) {
      if (d >= 0 && d < 18446744073709551616.0) return static_cast<uint64_t>(d);
    }
    int64_t i = INT64_MIN;
    if (d > -9223372036854775808.0 && d < 9223372036854775808.0) i = static_cast<int64_t>(d);
    return static_cast<D>(static_cast<std::make_unsigned_t<D>>(static_cast<uint64_t>(i)));
  } else if constexpr (std::is_integral_v<D> && std::is_integral_v<S>) {
    return static_cast<D>(static_cast<std::make_unsigned_t<D>>(v));
  } else {
    return static_cast<D>(v);
  }
}

// Calls f(T{}) with the C++ element type of `t`: int8..int64, uint8..uint64, Half, float,
// double. Other types are Unsupported naming `codec`.
template <typename F>
Status VisitNumeric(DataType t, std::string_view codec, F&& f) {
  switch (t.id()) {
    case DataTypeId::kInt8: return f(int8_t{});
    case DataTypeId::kInt16: return f(int16_t{});
    case DataTypeId::kInt32: return f(int32_t{});
    case DataTypeId::kInt64: return f(int64_t{});
    case DataTypeId::kUInt8: return f(uint8_t{});
    case DataTypeId::kUInt16: return f(uint16_t{});
    case DataTypeId::kUInt32: return f(uint32_t{});
    case DataTypeId::kUInt64: return f(uint64_t{});
    case DataTypeId::kFloat16: return f(Half{});
    case DataTypeId::kFloat32: return f(float{});
    case DataTypeId::kFloat64: return f(double{});
    default: break;
  }
  return Status::Unsupported(std::string(codec) + ": data type " + t.name() +
                             " is not supported (integers and float16/32/64 are)");
}

}  // namespace zarrpp::internal
