// Zarr v3 core data type names.
#include "zarrpp/data_type.h"

#include <array>
#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace zarrpp {
namespace {

constexpr std::pair<std::string_view, DataTypeId> kNamedTypes[] = {
    {"bool", DataTypeId::kBool},
    {"int8", DataTypeId::kInt8},
    {"int16", DataTypeId::kInt16},
    {"int32", DataTypeId::kInt32},
    {"int64", DataTypeId::kInt64},
    {"uint8", DataTypeId::kUInt8},
    {"uint16", DataTypeId::kUInt16},
    {"uint32", DataTypeId::kUInt32},
    {"uint64", DataTypeId::kUInt64},
    {"float16", DataTypeId::kFloat16},
    {"float32", DataTypeId::kFloat32},
    {"float64", DataTypeId::kFloat64},
    {"complex64", DataTypeId::kComplex64},
    {"complex128", DataTypeId::kComplex128},
    {"numpy.datetime64", DataTypeId::kDateTime64},
    {"numpy.timedelta64", DataTypeId::kTimeDelta64},
    {"bfloat16", DataTypeId::kBFloat16},
    {"float8_e3m4", DataTypeId::kFloat8E3M4},
    {"float8_e4m3", DataTypeId::kFloat8E4M3},
    {"float8_e4m3b11fnuz", DataTypeId::kFloat8E4M3B11FNUZ},
    {"float8_e4m3fnuz", DataTypeId::kFloat8E4M3FNUZ},
    {"float8_e5m2", DataTypeId::kFloat8E5M2},
    {"float8_e5m2fnuz", DataTypeId::kFloat8E5M2FNUZ},
    {"float8_e8m0fnu", DataTypeId::kFloat8E8M0FNU},
    {"float4_e2m1fn", DataTypeId::kFloat4E2M1FN},
    {"float6_e2m3fn", DataTypeId::kFloat6E2M3FN},
    {"float6_e3m2fn", DataTypeId::kFloat6E3M2FN},
    {"int2", DataTypeId::kInt2},
    {"int4", DataTypeId::kInt4},
    {"uint2", DataTypeId::kUInt2},
    {"uint4", DataTypeId::kUInt4},
    {"complex_bfloat16", DataTypeId::kComplexBFloat16},
    {"complex_float16", DataTypeId::kComplexFloat16},
    {"complex_float32", DataTypeId::kComplexFloat32},
    {"complex_float64", DataTypeId::kComplexFloat64},
    {"complex_float8_e3m4", DataTypeId::kComplexFloat8E3M4},
    {"complex_float8_e4m3", DataTypeId::kComplexFloat8E4M3},
    {"complex_float8_e4m3b11fnuz", DataTypeId::kComplexFloat8E4M3B11FNUZ},
    {"complex_float8_e4m3fnuz", DataTypeId::kComplexFloat8E4M3FNUZ},
    {"complex_float8_e5m2", DataTypeId::kComplexFloat8E5M2},
    {"complex_float8_e5m2fnuz", DataTypeId::kComplexFloat8E5M2FNUZ},
    {"complex_float8_e8m0fnu", DataTypeId::kComplexFloat8E8M0FNU},
};

constexpr std::array<std::string_view, 14> kTimeUnits = {
    "generic", "Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as"};

}  // namespace

Result<DataType> DataType::FromName(std::string_view name) {
  for (const auto& [n, id] : kNamedTypes) {
    if (n == name) return DataType(id);
  }
  if (name == "string") return DataType(DataTypeId::kString);
  if (name == "bytes" || name == "variable_length_bytes") return DataType(DataTypeId::kBytes);
  if (name == "null_terminated_bytes" || name == "fixed_length_utf32") {
    return Status::InvalidArgument("data type \"" + std::string(name) +
                                   "\" needs its configuration {\"length_bytes\"}");
  }
  if (name.size() >= 2 && name[0] == 'r') {
    // r<N>: N written in plain decimal (no sign, no leading zeros), a positive multiple of 8.
    const std::string_view digits = name.substr(1);
    uint64_t bits = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
    const bool plain = ec == std::errc() && end == digits.data() + digits.size() &&
                       digits[0] >= '1' && digits[0] <= '9';
    if (plain && bits % 8 == 0 && bits / 8 <= UINT32_MAX) {
      return DataType(DataTypeId::kRawBits, static_cast<uint32_t>(bits / 8));
    }
    if (plain) {
      return Status::Unsupported("data type \"" + std::string(name) +
                                 "\" is not supported: r<N> needs N a positive multiple of 8");
    }
  }
  return Status::Unsupported("data type \"" + std::string(name) + "\" is not supported");
}

std::string DataType::name() const {
  if (id_ == DataTypeId::kString) return "string";
  if (id_ == DataTypeId::kBytes) return "bytes";
  if (id_ == DataTypeId::kFixedBytes) return "null_terminated_bytes";
  if (id_ == DataTypeId::kFixedUtf32) return "fixed_length_utf32";
  if (id_ == DataTypeId::kRawBits) {
    std::string n(1, 'r');
    n += std::to_string(uint64_t{size_} * 8);
    return n;
  }
  for (const auto& [n, id] : kNamedTypes) {
    if (id == id_) return std::string(n);
  }
  return "unknown";
}

uint32_t DataType::component_size() const {
  switch (id_) {
    case DataTypeId::kBool:
    case DataTypeId::kRawBits:
    case DataTypeId::kString:
    case DataTypeId::kBytes:
    case DataTypeId::kFixedBytes: return 1;
    case DataTypeId::kFixedUtf32: return 4;
    default: return is_complex() ? size_ / 2 : size_;
  }
}

uint32_t DataType::bits() const {
  switch (id_) {
    case DataTypeId::kBool: return 1;
    case DataTypeId::kInt2:
    case DataTypeId::kUInt2: return 2;
    case DataTypeId::kInt4:
    case DataTypeId::kUInt4:
    case DataTypeId::kFloat4E2M1FN: return 4;
    case DataTypeId::kFloat6E2M3FN:
    case DataTypeId::kFloat6E3M2FN: return 6;
    default: return component_size() * 8;
  }
}

DataTypeId DataType::component_id() const {
  switch (id_) {
    case DataTypeId::kComplex64:
    case DataTypeId::kComplexFloat32: return DataTypeId::kFloat32;
    case DataTypeId::kComplex128:
    case DataTypeId::kComplexFloat64: return DataTypeId::kFloat64;
    case DataTypeId::kComplexFloat16: return DataTypeId::kFloat16;
    case DataTypeId::kComplexBFloat16: return DataTypeId::kBFloat16;
    case DataTypeId::kComplexFloat8E3M4: return DataTypeId::kFloat8E3M4;
    case DataTypeId::kComplexFloat8E4M3: return DataTypeId::kFloat8E4M3;
    case DataTypeId::kComplexFloat8E4M3B11FNUZ: return DataTypeId::kFloat8E4M3B11FNUZ;
    case DataTypeId::kComplexFloat8E4M3FNUZ: return DataTypeId::kFloat8E4M3FNUZ;
    case DataTypeId::kComplexFloat8E5M2: return DataTypeId::kFloat8E5M2;
    case DataTypeId::kComplexFloat8E5M2FNUZ: return DataTypeId::kFloat8E5M2FNUZ;
    case DataTypeId::kComplexFloat8E8M0FNU: return DataTypeId::kFloat8E8M0FNU;
    default: return id_;
  }
}

DataTypeId DataType::typed_id() const {
  switch (id_) {
    case DataTypeId::kDateTime64:
    case DataTypeId::kTimeDelta64: return DataTypeId::kInt64;
    case DataTypeId::kComplexFloat32: return DataTypeId::kComplex64;
    case DataTypeId::kComplexFloat64: return DataTypeId::kComplex128;
    case DataTypeId::kInt2:
    case DataTypeId::kInt4: return DataTypeId::kInt8;
    case DataTypeId::kUInt2:
    case DataTypeId::kUInt4: return DataTypeId::kUInt8;
    default: return id_;
  }
}

std::string_view TimeUnitName(TimeUnit unit) {
  const auto i = static_cast<size_t>(unit);
  return i < kTimeUnits.size() ? kTimeUnits[i] : "generic";
}

std::optional<TimeUnit> TimeUnitFromName(std::string_view name) {
  if (name == "\u03bcs") return TimeUnit::kMicrosecond;  // "μs", NumPy's other spelling
  for (size_t i = 0; i < kTimeUnits.size(); ++i) {
    if (kTimeUnits[i] == name) return static_cast<TimeUnit>(i);
  }
  return std::nullopt;
}

}  // namespace zarrpp
