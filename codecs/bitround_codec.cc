#include "codecs/bitround_codec.h"

#include <bit>
#include <cstring>
#include <limits>

#include "codecs/numcodecs_config.h"
#include "zarrpp/json.h"

namespace zarrpp {

namespace {

// Mantissa width of a float type, 0 for other types.
uint32_t MantissaBits(DataType t) {
  switch (t.id()) {
    case DataTypeId::kFloat16: return 10;
    case DataTypeId::kFloat32: return 23;
    case DataTypeId::kFloat64: return 52;
    default: return 0;
  }
}

template <typename U>
void Round(ByteView src, MutableByteView dst, uint64_t n, uint32_t maskbits) {
  const U half = (U{1} << (maskbits - 1)) - 1;
  const U mask = static_cast<U>(~((U{1} << maskbits) - 1));
  for (uint64_t i = 0; i < n; ++i) {
    U b;
    std::memcpy(&b, src.data() + i * sizeof(U), sizeof(U));
    b = static_cast<U>(b + ((b >> maskbits) & 1) + half);
    b = static_cast<U>(b & mask);
    std::memcpy(dst.data() + i * sizeof(U), &b, sizeof(U));
  }
}

// Integers: keep `keepbits` bits from the most significant set bit of the element's unsigned
// bit pattern (two's complement for signed types), rounding half to even with a saturating add,
// as the zarr-extensions bitround sample data and zarrs (its reference implementation) do.
template <typename U>
void RoundInteger(ByteView src, MutableByteView dst, uint64_t n, uint32_t keepbits) {
  constexpr uint32_t kWidth = 8 * sizeof(U);
  constexpr U kMax = std::numeric_limits<U>::max();
  for (uint64_t i = 0; i < n; ++i) {
    U b;
    std::memcpy(&b, src.data() + i * sizeof(U), sizeof(U));
    const auto maxbits = static_cast<uint32_t>(kWidth - std::countl_zero(b));
    if (keepbits < maxbits) {
      const uint32_t maskbits = maxbits - keepbits;  // < kWidth, as keepbits >= 1
      const auto mask = static_cast<U>(kMax << maskbits);
      const auto add = static_cast<U>(((b >> maskbits) & 1) + ((U{1} << (maskbits - 1)) - 1));
      b = b > static_cast<U>(kMax - add) ? kMax : static_cast<U>(b + add);
      b = static_cast<U>(b & mask);
    }
    std::memcpy(dst.data() + i * sizeof(U), &b, sizeof(U));
  }
}

bool IsBitroundInteger(DataType t) {
  return t.is_signed_int() || t.is_unsigned_int() || t.is_time();
}

Result<uint32_t> ParseKeepbits(const Json& configuration) {
  ASSIGN_OR_RETURN(internal::ConfigReader r, internal::ConfigReader::Make(configuration));
  ASSIGN_OR_RETURN(std::optional<int64_t> k, r.Int("keepbits"));
  RETURN_IF_ERROR(r.Finish());
  if (!k) return Status::InvalidArgument("configuration.keepbits is required");
  if (*k < 0 || *k > 64) {
    return Status::InvalidArgument("configuration.keepbits must be in 0..64, got " +
                                   std::to_string(*k));
  }
  return static_cast<uint32_t>(*k);
}

}  // namespace

Result<std::shared_ptr<const Codec>> BitroundCodec::Factory(const Json& configuration) {
  ASSIGN_OR_RETURN(uint32_t k, ParseKeepbits(configuration));
  return std::shared_ptr<const Codec>(Make(k, false));
}

Result<std::shared_ptr<const Codec>> BitroundCodec::NumcodecsFactory(const Json& configuration) {
  ASSIGN_OR_RETURN(uint32_t k, ParseKeepbits(configuration));
  return std::shared_ptr<const Codec>(Make(k, true));
}

std::shared_ptr<const BitroundCodec> BitroundCodec::Make(uint32_t keepbits, bool numcodecs_name) {
  return std::shared_ptr<const BitroundCodec>(new BitroundCodec(keepbits, numcodecs_name));
}

Json BitroundCodec::ToJson() const {
  return {{"name", name()}, {"configuration", {{"keepbits", keepbits_}}}};
}

Result<ChunkSpec> BitroundCodec::EncodedSpec(const ChunkSpec& decoded) const {
  if (IsBitroundInteger(decoded.dtype)) {
    if (keepbits_ == 0) {
      return Status::InvalidArgument(std::string(name()) + ": keepbits must be at least 1 for " +
                                     decoded.dtype.name());
    }
    return decoded;
  }
  const uint32_t bits = MantissaBits(decoded.dtype);
  if (bits == 0) {
    return Status::Unsupported(std::string(name()) + ": data type " + decoded.dtype.name() +
                               " is not supported (float16/32/64, integers and the time types "
                               "are)");
  }
  if (keepbits_ > bits) {
    return Status::InvalidArgument(std::string(name()) + ": keepbits " + std::to_string(keepbits_) +
                                   " exceeds the " + std::to_string(bits) + " mantissa bits of " +
                                   decoded.dtype.name());
  }
  return decoded;
}

Status BitroundCodec::Encode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const {
  const uint32_t bits = MantissaBits(decoded.dtype);
  const uint64_t n = decoded.num_elements();
  if (IsBitroundInteger(decoded.dtype) && keepbits_ >= 1) {
    switch (decoded.dtype.size()) {
      case 1: RoundInteger<uint8_t>(src, dst, n, keepbits_); break;
      case 2: RoundInteger<uint16_t>(src, dst, n, keepbits_); break;
      case 4: RoundInteger<uint32_t>(src, dst, n, keepbits_); break;
      default: RoundInteger<uint64_t>(src, dst, n, keepbits_); break;
    }
    return Status::OK();
  }
  if (bits == 0 || keepbits_ > bits) {
    return Status::InvalidArgument(std::string(name()) + ": cannot round " + decoded.dtype.name());
  }
  if (keepbits_ == bits) {
    if (!src.empty()) std::memcpy(dst.data(), src.data(), src.size());
    return Status::OK();
  }
  const uint32_t maskbits = bits - keepbits_;
  switch (decoded.dtype.size()) {
    case 2: Round<uint16_t>(src, dst, n, maskbits); break;
    case 4: Round<uint32_t>(src, dst, n, maskbits); break;
    default: Round<uint64_t>(src, dst, n, maskbits); break;
  }
  return Status::OK();
}

Status BitroundCodec::Decode(const ChunkSpec&, ByteView src, MutableByteView dst) const {
  if (!src.empty()) std::memcpy(dst.data(), src.data(), src.size());
  return Status::OK();
}

}  // namespace zarrpp
