#include "codecs/bytes_codec.h"

#include <cstring>

#include "src/metadata/float_format.h"
#include "zarrpp/json.h"

namespace zarrpp {

namespace {

template <typename T, T (*Swap)(T)>
void SwapCopy(const uint8_t* src, uint8_t* dst, size_t n_bytes) {
  const size_t n = n_bytes / sizeof(T);
  for (size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, src + i * sizeof(T), sizeof(T));
    v = Swap(v);
    std::memcpy(dst + i * sizeof(T), &v, sizeof(T));
  }
}

uint16_t Swap16(uint16_t v) {
  return __builtin_bswap16(v);
}
uint32_t Swap32(uint32_t v) {
  return __builtin_bswap32(v);
}
uint64_t Swap64(uint64_t v) {
  return __builtin_bswap64(v);
}

// Copies `n_bytes` from src to dst reversing each `width`-byte component. Byte swapping is its
// own inverse, so encode and decode share it.
void SwapComponents(const uint8_t* src, uint8_t* dst, size_t n_bytes, uint32_t width) {
  switch (width) {
    case 2: SwapCopy<uint16_t, Swap16>(src, dst, n_bytes); return;
    case 4: SwapCopy<uint32_t, Swap32>(src, dst, n_bytes); return;
    case 8: SwapCopy<uint64_t, Swap64>(src, dst, n_bytes); return;
    default:
      for (size_t i = 0; i + width <= n_bytes; i += width) {
        for (uint32_t k = 0; k < width; ++k) dst[i + k] = src[i + width - 1 - k];
      }
  }
}

}  // namespace

Result<BytesCodec::Options> BytesCodec::OptionsFromJson(const Json& configuration) {
  Options options;
  if (configuration.is_null()) return options;
  if (!configuration.is_object()) {
    return Status::InvalidArgument("configuration must be an object, got " + configuration.dump());
  }
  for (const auto& [key, value] : configuration.items()) {
    if (key != "endian") {
      return Status::InvalidArgument("unexpected configuration field \"" + key + "\"");
    }
    if (value == "little") {
      options.endian = Endian::kLittle;
    } else if (value == "big") {
      options.endian = Endian::kBig;
    } else {
      return Status::InvalidArgument("configuration.endian must be \"little\" or \"big\", got " +
                                     value.dump());
    }
  }
  return options;
}

std::shared_ptr<const BytesCodec> BytesCodec::Make(Options options) {
  return std::shared_ptr<const BytesCodec>(new BytesCodec(options));
}

Result<std::shared_ptr<const Codec>> BytesCodec::Factory(const Json& configuration) {
  ASSIGN_OR_RETURN(Options options, OptionsFromJson(configuration));
  return std::shared_ptr<const Codec>(Make(options));
}

Json BytesCodec::ToJson() const {
  Json j = {{"name", "bytes"}};
  if (options_.endian) {
    j["configuration"] = {{"endian", *options_.endian == Endian::kBig ? "big" : "little"}};
  }
  return j;
}

uint32_t BytesCodec::SwapWidth(const ChunkSpec& decoded) const {
  const uint32_t width = decoded.dtype.component_size();
  if (width <= 1 || options_.endian != Endian::kBig) return 0;
  return width;
}

Status BytesCodec::ValidateSpec(const ChunkSpec& decoded) const {
  // The spec requires `endian` for types where byte order applies; r<N> is raw bytes and has none.
  if (!options_.endian && decoded.dtype.component_size() > 1) {
    return Status::InvalidArgument("bytes: configuration.endian is required for data type " +
                                   decoded.dtype.name() + " (" +
                                   std::to_string(decoded.dtype.size()) + "-byte elements)");
  }
  return Status::OK();
}

std::optional<uint64_t> BytesCodec::EncodedSize(const ChunkSpec& decoded) const {
  return decoded.num_bytes();
}

bool BytesCodec::IsIdentity(const ChunkSpec& decoded) const {
  // Sub-byte types are canonicalised on decode (their stored upper bits are arbitrary).
  return SwapWidth(decoded) == 0 && !decoded.dtype.is_sub_byte();
}

Status BytesCodec::Encode(const ChunkSpec& decoded, ByteView array, Bytes& out) const {
  const uint64_t n = decoded.num_bytes();
  if (array.size() != n) {
    return Status::InvalidArgument("bytes: chunk has " + std::to_string(array.size()) +
                                   " bytes, expected " + std::to_string(n));
  }
  out.resize(n);
  if (n == 0) return Status::OK();
  if (const uint32_t width = SwapWidth(decoded)) {
    SwapComponents(array.data(), out.data(), n, width);
  } else {
    std::memcpy(out.data(), array.data(), n);
  }
  return Status::OK();
}

Status BytesCodec::Decode(const ChunkSpec& decoded, ByteView encoded, MutableByteView array) const {
  const uint64_t n = decoded.num_bytes();
  if (array.size() != n) {
    return Status::InvalidArgument("bytes: output has " + std::to_string(array.size()) +
                                   " bytes, expected " + std::to_string(n));
  }
  if (encoded.size() != n) {
    return Status::Corruption("bytes: encoded chunk has " + std::to_string(encoded.size()) +
                              " bytes, expected " + std::to_string(n));
  }
  if (n == 0) return Status::OK();
  if (const uint32_t width = SwapWidth(decoded)) {
    SwapComponents(encoded.data(), array.data(), n, width);
  } else {
    std::memcpy(array.data(), encoded.data(), n);
  }
  internal::CanonicalizeSubByte(array.data(), n, decoded.dtype);
  return Status::OK();
}

}  // namespace zarrpp
