#include "codecs/vlen_codec.h"

#include <cstring>

#include "zarrpp/json.h"

namespace zarrpp {

namespace {

void PutU32(Bytes& out, uint32_t v) {
  const uint8_t b[4] = {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8),
                        static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 24)};
  out.insert(out.end(), b, b + 4);
}

uint32_t GetU32(const uint8_t* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

Result<std::shared_ptr<const Codec>> FromConfiguration(const Json& configuration,
                                                       VlenCodec::Flavor flavor) {
  if (!configuration.is_null() && !(configuration.is_object() && configuration.empty())) {
    return Status::InvalidArgument("takes no configuration, got " + configuration.dump());
  }
  return std::shared_ptr<const Codec>(VlenCodec::Make(flavor));
}

}  // namespace

VariableChunk VariableChunk::Filled(uint64_t n, std::string_view v) {
  VariableChunk c;
  c.offsets.resize(n + 1);
  c.data.resize(n * v.size());
  for (uint64_t i = 0; i < n; ++i) {
    if (!v.empty()) std::memcpy(c.data.data() + i * v.size(), v.data(), v.size());
    c.offsets[i + 1] = (i + 1) * v.size();
  }
  return c;
}

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const uint8_t c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (n - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += len;
  }
  return true;
}

std::shared_ptr<const VlenCodec> VlenCodec::Make(Flavor flavor) {
  return std::shared_ptr<const VlenCodec>(new VlenCodec(flavor));
}

Result<std::shared_ptr<const Codec>> VlenCodec::FactoryUtf8(const Json& configuration) {
  return FromConfiguration(configuration, Flavor::kUtf8);
}

Result<std::shared_ptr<const Codec>> VlenCodec::FactoryBytes(const Json& configuration) {
  return FromConfiguration(configuration, Flavor::kBytes);
}

Status VlenCodec::ValidateSpec(const ChunkSpec& decoded) const {
  if (!decoded.dtype.is_variable()) {
    return Status::InvalidArgument("codec '" + std::string(name()) + "' encodes string or bytes " +
                                   "arrays, not " + decoded.dtype.name());
  }
  return Status::OK();
}

Status VlenCodec::Encode(const ChunkSpec& /*decoded*/, ByteView /*array*/, Bytes& /*out*/) const {
  return Status::FailedPrecondition("codec '" + std::string(name()) +
                                    "' has no fixed-size form (use the variable-size path)");
}

Status VlenCodec::Decode(const ChunkSpec& /*decoded*/, ByteView /*encoded*/,
                         MutableByteView /*array*/) const {
  return Status::FailedPrecondition("codec '" + std::string(name()) +
                                    "' has no fixed-size form (use the variable-size path)");
}

Status VlenCodec::EncodeVariable(const ChunkSpec& decoded, const VariableChunk& chunk,
                                 Bytes& out) const {
  const uint64_t n = decoded.num_elements();
  if (chunk.size() != n) {
    return Status::InvalidArgument("codec '" + std::string(name()) + "': chunk holds " +
                                   std::to_string(chunk.size()) + " elements, its shape " +
                                   std::to_string(n));
  }
  if (n > UINT32_MAX) {
    return Status::InvalidArgument("codec '" + std::string(name()) + "': " + std::to_string(n) +
                                   " elements do not fit its 32-bit count");
  }
  out.clear();
  out.reserve(4 + 4 * n + chunk.data.size());
  PutU32(out, static_cast<uint32_t>(n));
  for (uint64_t i = 0; i < n; ++i) {
    const std::string_view v = chunk.at(i);
    if (v.size() > UINT32_MAX) {
      return Status::InvalidArgument("codec '" + std::string(name()) + "': element " +
                                     std::to_string(i) + " has " + std::to_string(v.size()) +
                                     " bytes, more than its 32-bit length allows");
    }
    PutU32(out, static_cast<uint32_t>(v.size()));
    out.insert(out.end(), v.begin(), v.end());
  }
  return Status::OK();
}

Status VlenCodec::DecodeVariable(const ChunkSpec& decoded, ByteView encoded,
                                 VariableChunk& out) const {
  const std::string what = "codec '" + std::string(name()) + "': ";
  if (encoded.size() < 4) {
    return Status::Corruption(what + "value of " + std::to_string(encoded.size()) +
                              " bytes has no element count");
  }
  const uint64_t n = GetU32(encoded.data());
  if (n != decoded.num_elements()) {
    return Status::Corruption(what + "value holds " + std::to_string(n) +
                              " elements, the chunk has " + std::to_string(decoded.num_elements()));
  }
  if (n > (encoded.size() - 4) / 4) {
    return Status::Corruption(what + std::to_string(n) + " elements cannot fit in " +
                              std::to_string(encoded.size()) + " bytes");
  }
  out.offsets.assign(1, 0);
  out.offsets.reserve(n + 1);
  out.data.clear();
  out.data.reserve(encoded.size() - 4 - 4 * n);
  const bool utf8 = decoded.dtype.id() == DataTypeId::kString;
  size_t pos = 4;
  for (uint64_t i = 0; i < n; ++i) {
    if (encoded.size() - pos < 4) {
      return Status::Corruption(what + "value ends before the length of element " +
                                std::to_string(i));
    }
    const uint64_t len = GetU32(encoded.data() + pos);
    pos += 4;
    if (len > encoded.size() - pos) {
      return Status::Corruption(what + "element " + std::to_string(i) + " has length " +
                                std::to_string(len) + ", past the end of the value (" +
                                std::to_string(encoded.size() - pos) + " bytes left)");
    }
    const std::string_view v(reinterpret_cast<const char*>(encoded.data()) + pos, len);
    if (utf8 && !IsValidUtf8(v)) {
      return Status::Corruption(what + "element " + std::to_string(i) +
                                " of a string array is not valid UTF-8");
    }
    out.push_back(v);
    pos += len;
  }
  if (pos != encoded.size()) {
    return Status::Corruption(what + std::to_string(encoded.size() - pos) +
                              " bytes follow the last element");
  }
  return Status::OK();
}

}  // namespace zarrpp
