// zarrpp/data_type.h - Zarr v3 data types.
//
// Elements live in memory in the host's representation; zarrpp requires a little-endian host
// (checked at compile time), so in-memory bytes equal the little-endian encoding. bool is one
// byte 0/1; complex is (real, imag); r<N> is N/8 raw bytes. string and bytes have no fixed size.
//
// Thread safety: values; immutable after construction.
#pragma once

#include <bit>
#include <complex>
#include <cstdint>
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
  kString,   // variable length, UTF-8 (spec/strings.md)
  kBytes,    // variable length, raw bytes
};

class DataType {
 public:
  constexpr DataType() = default;
  constexpr explicit DataType(DataTypeId id, uint32_t raw_bytes = 0)
      : id_(id), size_(SizeOf(id, raw_bytes)) {}

  // Parses a v3 data_type name ("float32", "r16", ...). Unknown names are Unsupported.
  static Result<DataType> FromName(std::string_view name);

  DataTypeId id() const { return id_; }
  // Bytes per element; 0 for the variable-size types (string, bytes).
  uint32_t size() const { return size_; }
  // Elements of different sizes (string, bytes): chunks are offsets + bytes (spec/strings.md).
  bool is_variable() const { return id_ == DataTypeId::kString || id_ == DataTypeId::kBytes; }
  // The v3 name ("float32", "r16").
  std::string name() const;

  bool is_float() const {
    return id_ == DataTypeId::kFloat16 || id_ == DataTypeId::kFloat32 ||
           id_ == DataTypeId::kFloat64;
  }
  bool is_complex() const {
    return id_ == DataTypeId::kComplex64 || id_ == DataTypeId::kComplex128;
  }
  bool is_signed_int() const { return id_ >= DataTypeId::kInt8 && id_ <= DataTypeId::kInt64; }
  bool is_unsigned_int() const { return id_ >= DataTypeId::kUInt8 && id_ <= DataTypeId::kUInt64; }
  // Size of one scalar component for byte swapping: the float size for complex, 1 for bool and
  // r<N>, else size().
  uint32_t component_size() const;

  friend bool operator==(const DataType& a, const DataType& b) {
    return a.id_ == b.id_ && a.size_ == b.size_;
  }

 private:
  static constexpr uint32_t SizeOf(DataTypeId id, uint32_t raw) {
    switch (id) {
      case DataTypeId::kBool:
      case DataTypeId::kInt8:
      case DataTypeId::kUInt8: return 1;
      case DataTypeId::kInt16:
      case DataTypeId::kUInt16:
      case DataTypeId::kFloat16: return 2;
      case DataTypeId::kInt32:
      case DataTypeId::kUInt32:
      case DataTypeId::kFloat32: return 4;
      case DataTypeId::kInt64:
      case DataTypeId::kUInt64:
      case DataTypeId::kFloat64:
      case DataTypeId::kComplex64: return 8;
      case DataTypeId::kComplex128: return 16;
      case DataTypeId::kRawBits: return raw;
      case DataTypeId::kString:
      case DataTypeId::kBytes: return 0;
    }
    return 0;
  }
  DataTypeId id_ = DataTypeId::kUInt8;
  uint32_t size_ = 1;
};

// The data type matching a C++ element type, for typed spans (bool, (u)intN_t, float, double,
// std::complex<float>, std::complex<double>). Float16 and r<N> use the untyped API.
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
