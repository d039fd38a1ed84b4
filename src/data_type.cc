// Zarr v3 core data type names.
#include "zarrpp/data_type.h"

#include <array>
#include <charconv>
#include <string>
#include <string_view>
#include <utility>

namespace zarrpp {
namespace {

constexpr std::array<std::pair<std::string_view, DataTypeId>, 14> kNamedTypes = {{
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
}};

}  // namespace

Result<DataType> DataType::FromName(std::string_view name) {
  for (const auto& [n, id] : kNamedTypes) {
    if (n == name) return DataType(id);
  }
  if (name == "string") return DataType(DataTypeId::kString);
  if (name == "bytes" || name == "variable_length_bytes") return DataType(DataTypeId::kBytes);
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
    case DataTypeId::kComplex64: return 4;
    case DataTypeId::kComplex128: return 8;
    case DataTypeId::kBool:
    case DataTypeId::kRawBits:
    case DataTypeId::kString:
    case DataTypeId::kBytes: return 1;
    default: return size_;
  }
}

}  // namespace zarrpp
