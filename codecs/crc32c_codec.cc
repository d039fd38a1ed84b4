#include "codecs/crc32c_codec.h"

#include <isa-l/crc.h>

#include <climits>
#include <cstdio>
#include <cstring>
#include <string>

#include "zarrpp/json.h"

namespace zarrpp {

namespace {

std::string Hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08X", v);
  return buf;
}

}  // namespace

uint32_t Crc32c(ByteView data) {
  // ISA-L takes the running (pre-inversion) state and an int length, so large inputs are fed in
  // pieces and the result is inverted once at the end.
  uint32_t state = 0xFFFFFFFFu;
  const uint8_t* p = data.data();
  size_t left = data.size();
  constexpr size_t kPiece = size_t{1} << 30;
  while (left > 0) {
    const size_t n = left < kPiece ? left : kPiece;
    state = crc32_iscsi(const_cast<unsigned char*>(p), static_cast<int>(n), state);
    p += n;
    left -= n;
  }
  return ~state;
}

std::shared_ptr<const Crc32cCodec> Crc32cCodec::Make() {
  static const std::shared_ptr<const Crc32cCodec> instance(new Crc32cCodec());
  return instance;
}

Result<std::shared_ptr<const Codec>> Crc32cCodec::Factory(const Json& configuration) {
  if (!configuration.is_null() && !configuration.is_object()) {
    return Status::InvalidArgument("configuration must be an object, got " + configuration.dump());
  }
  if (configuration.is_object() && !configuration.empty()) {
    return Status::InvalidArgument("takes no configuration, got field \"" +
                                   configuration.begin().key() + "\"");
  }
  return std::shared_ptr<const Codec>(Make());
}

Json Crc32cCodec::ToJson() const {
  return {{"name", "crc32c"}};
}

Status Crc32cCodec::Encode(ByteView in, Bytes& out) const {
  const uint32_t crc = Crc32c(in);
  out.resize(in.size() + kChecksumSize);
  if (!in.empty()) std::memcpy(out.data(), in.data(), in.size());
  uint8_t* suffix = out.data() + in.size();
  for (int i = 0; i < 4; ++i) suffix[i] = static_cast<uint8_t>(crc >> (8 * i));
  return Status::OK();
}

Result<ByteView> Crc32cCodec::Verify(ByteView in) const {
  if (in.size() < kChecksumSize) {
    return Status::Corruption("crc32c: input of " + std::to_string(in.size()) +
                              " bytes is shorter than the 4-byte checksum");
  }
  const ByteView payload = in.first(in.size() - kChecksumSize);
  const uint8_t* s = in.data() + payload.size();
  const uint32_t stored =
      uint32_t{s[0]} | uint32_t{s[1]} << 8 | uint32_t{s[2]} << 16 | uint32_t{s[3]} << 24;
  const uint32_t computed = Crc32c(payload);
  if (stored != computed) {
    return Status::Corruption("crc32c checksum mismatch: stored " + Hex32(stored) + ", computed " +
                              Hex32(computed));
  }
  return payload;
}

Result<ByteView> Crc32cCodec::Decode(ByteView in, DecodedSize size, Bytes& /*scratch*/) const {
  ASSIGN_OR_RETURN(ByteView payload, Verify(in));
  if (size.exact && payload.size() != *size.exact) {
    return Status::Corruption("crc32c: payload has " + std::to_string(payload.size()) +
                              " bytes, expected " + std::to_string(*size.exact));
  }
  if (!size.exact && payload.size() > size.max) {
    return Status::Corruption("crc32c: payload has " + std::to_string(payload.size()) +
                              " bytes, more than the " + std::to_string(size.max) +
                              " the chunk allows");
  }
  return payload;
}

Status Crc32cCodec::DecodeInto(ByteView in, MutableByteView out) const {
  ASSIGN_OR_RETURN(ByteView payload, Verify(in));
  if (payload.size() != out.size()) {
    return Status::Corruption("crc32c: payload has " + std::to_string(payload.size()) +
                              " bytes, expected " + std::to_string(out.size()));
  }
  if (!payload.empty()) std::memcpy(out.data(), payload.data(), payload.size());
  return Status::OK();
}

}  // namespace zarrpp
