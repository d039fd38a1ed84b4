// zarrpp/data_type.h - Zarr v3 data types.
//
// Elements live in memory in the host's representation; zarrpp requires a little-endian host
// (checked at compile time), so in-memory bytes equal the little-endian encoding. bool is one
// byte 0/1; complex is (real, imag); r<N> is N/8 raw bytes. string and bytes have no fixed size;
// null_terminated_bytes and fixed_length_utf32 are fixed-size strings (their byte size given).
//
// Extension types (zarr-extensions): numpy.datetime64 / numpy.timedelta64 are int64 counts of
// scale_factor x unit (INT64_MIN is NaT); bfloat16 and the float8 formats are their bit patterns
// (2 and 1 bytes); complex_<float> is (real, imag) of that float. Sub-byte types take one byte
// per element in memory: int2/int4 sign-extended to int8, uint2/uint4 and float4_e2m1fn /
// float6_* zero-extended; a codec stores only their low bits (see spec/metadata.md).
//
// Thread safety: values; immutable after construction.
#pragma once

#include <bit>
#include <complex>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "zarrpp/status.h"

static_assert(std::endian::native == std::endian::little, "zarrpp requires a little-endian host");

namespace zarrpp {

enum class DataTypeId : uint8_t {
  kBool,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kUInt8,
  kUInt16,
  kUInt32,
  kUInt64,
  kFloat16,
  kFloat32,
  kFloat64,
  kComplex64,
  kComplex128,
  kRawBits,  // r<N>
  // Extension types (zarr-extensions registry).
  kDateTime64,   // numpy.datetime64: int64 with unit and scale_factor
  kTimeDelta64,  // numpy.timedelta64: int64 with unit and scale_factor
  kBFloat16,
  kFloat8E3M4,
  kFloat8E4M3,
  kFloat8E4M3B11FNUZ,
  kFloat8E4M3FNUZ,
  kFloat8E5M2,
  kFloat8E5M2FNUZ,
  kFloat8E8M0FNU,
  kFloat4E2M1FN,  // 4 bits, one byte in memory
  kFloat6E2M3FN,  // 6 bits, one byte in memory
  kFloat6E3M2FN,  // 6 bits, one byte in memory
  kInt2,          // one int8 in memory, -2..1
  kInt4,          // one int8 in memory, -8..7
  kUInt2,         // one uint8 in memory, 0..3
  kUInt4,         // one uint8 in memory, 0..15
  kComplexBFloat16,
  kComplexFloat16,
  kComplexFloat32,  // stored as complex64
  kComplexFloat64,  // stored as complex128
  kComplexFloat8E3M4,
  kComplexFloat8E4M3,
  kComplexFloat8E4M3B11FNUZ,
  kComplexFloat8E4M3FNUZ,
  kComplexFloat8E5M2,
  kComplexFloat8E5M2FNUZ,
  kComplexFloat8E8M0FNU,
  kString,  // variable length, UTF-8 (spec/strings.md)
  kBytes,   // variable length, raw bytes
  // Fixed length strings (zarr-python 3's names; spec/strings.md), built with the byte size:
  kFixedBytes,  // null_terminated_bytes: N bytes, NUL-padded (NumPy "|S<N>")
  kFixedUtf32,  // fixed_length_utf32: N/4 UTF-32 code units, zero-padded (NumPy "<U<N/4>")
};

// The unit of numpy.datetime64 / numpy.timedelta64 ("generic" is NumPy's unit-less form).
enum class TimeUnit : uint8_t {
  kGeneric,
  kYear,
  kMonth,
  kWeek,
  kDay,
  kHour,
  kMinute,
  kSecond,
  kMillisecond,
  kMicrosecond,
  kNanosecond,
  kPicosecond,
  kFemtosecond,
  kAttosecond,
};
// The NumPy spelling ("Y", "ms", "us", "generic", ...).
std::string_view TimeUnitName(TimeUnit unit);
// Parses a NumPy unit; "μs" is read as "us". nullopt when unknown.
std::optional<TimeUnit> TimeUnitFromName(std::string_view name);

class DataType {
 public:
  constexpr DataType() = default;
  constexpr explicit DataType(DataTypeId id, uint32_t raw_bytes = 0)
      : id_(id), size_(SizeOf(id, raw_bytes)) {}

  // numpy.datetime64 / numpy.timedelta64 (`id`) with its unit and scale factor (1..2^31-1).
  static constexpr DataType Time(DataTypeId id, TimeUnit unit, uint32_t scale_factor) {
    DataType t(id);
    t.unit_ = unit;
    t.scale_factor_ = scale_factor;
    return t;
  }

  // Parses a v3 data_type name ("float32", "r16", ...). Unknown names are Unsupported; the
  // time types need their configuration and are built with Time() (metadata does that).
  static Result<DataType> FromName(std::string_view name);

  DataTypeId id() const { return id_; }
  // Bytes per element; 0 for the variable-size types (string, bytes).
  uint32_t size() const { return size_; }
  // Elements of different sizes (string, bytes): chunks are offsets + bytes (spec/strings.md).
  bool is_variable() const { return id_ == DataTypeId::kString || id_ == DataTypeId::kBytes; }
  // null_terminated_bytes and fixed_length_utf32: fixed-size elements that the string API
  // (Array::ReadStrings/WriteStrings) reads and writes as text, and the byte API as elements.
  bool is_fixed_string() const {
    return id_ == DataTypeId::kFixedBytes || id_ == DataTypeId::kFixedUtf32;
  }
  // The v3 name ("float32", "r16").
  std::string name() const;

  // The core float types float16/32/64 (is_extension_float() covers bfloat16, float8, ...).
  bool is_float() const {
    return id_ == DataTypeId::kFloat16 || id_ == DataTypeId::kFloat32 ||
           id_ == DataTypeId::kFloat64;
  }
  // complex64/complex128 and every complex_<float> extension type.
  bool is_complex() const {
    return id_ == DataTypeId::kComplex64 || id_ == DataTypeId::kComplex128 ||
           (id_ >= DataTypeId::kComplexBFloat16 && id_ <= DataTypeId::kComplexFloat8E8M0FNU);
  }
  // bfloat16, float8_*, float4_e2m1fn, float6_*.
  bool is_extension_float() const {
    return id_ >= DataTypeId::kBFloat16 && id_ <= DataTypeId::kFloat6E3M2FN;
  }
  // The core signed integers int8..int64 (int2/int4 are sub-byte; see bits()).
  bool is_signed_int() const { return id_ >= DataTypeId::kInt8 && id_ <= DataTypeId::kInt64; }
  bool is_unsigned_int() const { return id_ >= DataTypeId::kUInt8 && id_ <= DataTypeId::kUInt64; }
  bool is_time() const { return id_ == DataTypeId::kDateTime64 || id_ == DataTypeId::kTimeDelta64; }
  // int2, int4, uint2, uint4, float4_e2m1fn, float6_*: fewer bits than their byte in memory.
  bool is_sub_byte() const { return bits() < 8 && id_ != DataTypeId::kBool; }
  // Size of one scalar component for byte swapping: the float size for complex, 1 for bool and
  // r<N>, else size().
  uint32_t component_size() const;
  // Significant bits of one component (1 for bool, 4 for int4 and float4_e2m1fn, 6 for float6,
  // else 8 x component_size()); what packbits keeps by default.
  uint32_t bits() const;
  // The component type of a complex type (float32 for complex64 and complex_float32, ...); the
  // type itself otherwise.
  DataTypeId component_id() const;
  // The core type whose C++ element represents this type in memory, for the typed API: int64 for
  // the time types, complex64/128 for complex_float32/64, int8/uint8 for int2/int4/uint2/uint4;
  // the id itself otherwise.
  DataTypeId typed_id() const;
  // numpy.datetime64 / numpy.timedelta64 only (kGeneric and 1 otherwise).
  TimeUnit time_unit() const { return unit_; }
  uint32_t scale_factor() const { return scale_factor_; }

  friend bool operator==(const DataType& a, const DataType& b) {
    return a.id_ == b.id_ && a.size_ == b.size_ && a.unit_ == b.unit_ &&
           a.scale_factor_ == b.scale_factor_;
  }

 private:
  static constexpr uint32_t SizeOf(DataTypeId id, uint32_t raw) {
    switch (id) {
      case DataTypeId::kBool:
      case DataTypeId::kInt8:
      case DataTypeId::kUInt8:
      case DataTypeId::kFloat8E3M4:
      case DataTypeId::kFloat8E4M3:
      case DataTypeId::kFloat8E4M3B11FNUZ:
      case DataTypeId::kFloat8E4M3FNUZ:
      case DataTypeId::kFloat8E5M2:
      case DataTypeId::kFloat8E5M2FNUZ:
      case DataTypeId::kFloat8E8M0FNU:
      case DataTypeId::kFloat4E2M1FN:
      case DataTypeId::kFloat6E2M3FN:
      case DataTypeId::kFloat6E3M2FN:
      case DataTypeId::kInt2:
      case DataTypeId::kInt4:
      case DataTypeId::kUInt2:
      case DataTypeId::kUInt4: return 1;
      case DataTypeId::kInt16:
      case DataTypeId::kUInt16:
      case DataTypeId::kFloat16:
      case DataTypeId::kBFloat16:
      case DataTypeId::kComplexFloat8E3M4:
      case DataTypeId::kComplexFloat8E4M3:
      case DataTypeId::kComplexFloat8E4M3B11FNUZ:
      case DataTypeId::kComplexFloat8E4M3FNUZ:
      case DataTypeId::kComplexFloat8E5M2:
      case DataTypeId::kComplexFloat8E5M2FNUZ:
      case DataTypeId::kComplexFloat8E8M0FNU: return 2;
      case DataTypeId::kComplexBFloat16:
      case DataTypeId::kComplexFloat16: return 4;
      case DataTypeId::kDateTime64:
      case DataTypeId::kTimeDelta64:
      case DataTypeId::kComplexFloat32: return 8;
      case DataTypeId::kComplexFloat64: return 16;
      case DataTypeId::kInt32:
      case DataTypeId::kUInt32:
      case DataTypeId::kFloat32: return 4;
      case DataTypeId::kInt64:
      case DataTypeId::kUInt64:
      case DataTypeId::kFloat64:
      case DataTypeId::kComplex64: return 8;
      case DataTypeId::kComplex128: return 16;
      case DataTypeId::kRawBits:
      case DataTypeId::kFixedBytes:
      case DataTypeId::kFixedUtf32: return raw;
      case DataTypeId::kString:
      case DataTypeId::kBytes: return 0;
    }
    return 0;
  }
  DataTypeId id_ = DataTypeId::kUInt8;
  TimeUnit unit_ = TimeUnit::kGeneric;
  uint32_t size_ = 1;
  uint32_t scale_factor_ = 1;
};

// The data type matching a C++ element type, for typed spans (bool, (u)intN_t, float, double,
// std::complex<float>, std::complex<double>). A type is accepted for every array whose
// DataType::typed_id() matches (int64_t for the time types, int8_t for int4, ...). Float16,
// bfloat16, float8 and r<N> use the untyped API.
template <typename T>
struct DataTypeOf;
#define ZARRPP_DATA_TYPE_OF(T, ID)       \
  template <>                            \
  struct DataTypeOf<T> {                 \
    static constexpr DataTypeId id = ID; \
  };
ZARRPP_DATA_TYPE_OF(bool, DataTypeId::kBool)
ZARRPP_DATA_TYPE_OF(int8_t, DataTypeId::kInt8)
ZARRPP_DATA_TYPE_OF(int16_t, DataTypeId::kInt16)
ZARRPP_DATA_TYPE_OF(int32_t, DataTypeId::kInt32)
ZARRPP_DATA_TYPE_OF(int64_t, DataTypeId::kInt64)
ZARRPP_DATA_TYPE_OF(uint8_t, DataTypeId::kUInt8)
ZARRPP_DATA_TYPE_OF(uint16_t, DataTypeId::kUInt16)
ZARRPP_DATA_TYPE_OF(uint32_t, DataTypeId::kUInt32)
ZARRPP_DATA_TYPE_OF(uint64_t, DataTypeId::kUInt64)
ZARRPP_DATA_TYPE_OF(float, DataTypeId::kFloat32)
ZARRPP_DATA_TYPE_OF(double, DataTypeId::kFloat64)
ZARRPP_DATA_TYPE_OF(std::complex<float>, DataTypeId::kComplex64)
ZARRPP_DATA_TYPE_OF(std::complex<double>, DataTypeId::kComplex128)
#undef ZARRPP_DATA_TYPE_OF

}  // namespace zarrpp
