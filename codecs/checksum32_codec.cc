#include "codecs/checksum32_codec.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "codecs/numcodecs_config.h"
#include "zarrpp/json.h"

namespace zarrpp {

namespace {

std::string Hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08X", v);
  return buf;
}

// zlib takes uInt lengths: feed large inputs in pieces.
template <typename Fn>
uint32_t Piecewise(ByteView data, uLong state, Fn fn) {
  const uint8_t* p = data.data();
  size_t left = data.size();
  constexpr size_t kPiece = size_t{1} << 30;
  while (left > 0) {
    const size_t n = std::min(left, kPiece);
    state = fn(state, p, static_cast<uInt>(n));
    p += n;
    left -= n;
  }
  return static_cast<uint32_t>(state);
}

Result<bool> LocationAtEnd(const Json& configuration) {
  ASSIGN_OR_RETURN(internal::ConfigReader r, internal::ConfigReader::Make(configuration));
  ASSIGN_OR_RETURN(std::optional<std::string> location, r.String("location"));
  RETURN_IF_ERROR(r.Finish());
  if (!location || *location == "start") return false;
  if (*location == "end") return true;
  return Status::InvalidArgument("configuration.location must be \"start\" or \"end\", got \"" +
                                 *location + "\"");
}

}  // namespace

uint32_t Adler32(ByteView data) {
  return Piecewise(data, adler32(0, nullptr, 0),
                   [](uLong s, const uint8_t* p, uInt n) { return adler32(s, p, n); });
}

uint32_t Crc32(ByteView data) {
  return Piecewise(data, crc32(0, nullptr, 0),
                   [](uLong s, const uint8_t* p, uInt n) { return crc32(s, p, n); });
}

uint32_t Fletcher32(ByteView data) {
  // Sums of big-endian 16-bit words, folded before they can overflow (360 words at a time).
  const uint8_t* p = data.data();
  size_t words = data.size() / 2;
  uint32_t sum1 = 0, sum2 = 0;
  while (words > 0) {
    size_t block = std::min<size_t>(words, 360);
    words -= block;
    for (; block > 0; --block, p += 2) {
      sum1 += (uint32_t{p[0]} << 8) | p[1];
      sum2 += sum1;
    }
    sum1 = (sum1 & 0xFFFF) + (sum1 >> 16);
    sum2 = (sum2 & 0xFFFF) + (sum2 >> 16);
  }
  if (data.size() % 2 != 0) {
    sum1 += uint32_t{p[0]} << 8;
    sum2 += sum1;
    sum1 = (sum1 & 0xFFFF) + (sum1 >> 16);
    sum2 = (sum2 & 0xFFFF) + (sum2 >> 16);
  }
  sum1 = (sum1 & 0xFFFF) + (sum1 >> 16);
  sum2 = (sum2 & 0xFFFF) + (sum2 >> 16);
  return (sum2 << 16) | sum1;
}

std::shared_ptr<const Checksum32Codec> Checksum32Codec::Make(Algorithm algorithm, bool at_end) {
  return std::shared_ptr<const Checksum32Codec>(
      new Checksum32Codec(algorithm, algorithm == Algorithm::kFletcher32 || at_end));
}

Result<std::shared_ptr<const Codec>> Checksum32Codec::Adler32Factory(const Json& configuration) {
  ASSIGN_OR_RETURN(bool at_end, LocationAtEnd(configuration));
  return std::shared_ptr<const Codec>(Make(Algorithm::kAdler32, at_end));
}

Result<std::shared_ptr<const Codec>> Checksum32Codec::Crc32Factory(const Json& configuration) {
  ASSIGN_OR_RETURN(bool at_end, LocationAtEnd(configuration));
  return std::shared_ptr<const Codec>(Make(Algorithm::kCrc32, at_end));
}

Result<std::shared_ptr<const Codec>> Checksum32Codec::Fletcher32Factory(const Json& configuration) {
  ASSIGN_OR_RETURN(internal::ConfigReader r, internal::ConfigReader::Make(configuration));
  RETURN_IF_ERROR(r.Finish());
  return std::shared_ptr<const Codec>(Make(Algorithm::kFletcher32, true));
}

std::string_view Checksum32Codec::name() const {
  switch (algorithm_) {
    case Algorithm::kAdler32: return "numcodecs.adler32";
    case Algorithm::kCrc32: return "numcodecs.crc32";
    case Algorithm::kFletcher32: return "numcodecs.fletcher32";
  }
  return "numcodecs.crc32";
}

Json Checksum32Codec::ToJson() const {
  // numcodecs before 0.14 takes no "location" (its checksum is always first): written only for
  // "end".
  if (algorithm_ == Algorithm::kFletcher32 || !at_end_) return {{"name", name()}};
  return {{"name", name()}, {"configuration", {{"location", "end"}}}};
}

uint32_t Checksum32Codec::Compute(ByteView data) const {
  switch (algorithm_) {
    case Algorithm::kAdler32: return Adler32(data);
    case Algorithm::kCrc32: return Crc32(data);
    case Algorithm::kFletcher32: return Fletcher32(data);
  }
  return 0;
}

Status Checksum32Codec::Encode(ByteView in, Bytes& out) const {
  const uint32_t sum = Compute(in);
  out.resize(in.size() + kChecksumSize);
  uint8_t* payload = out.data() + (at_end_ ? 0 : kChecksumSize);
  uint8_t* field = out.data() + (at_end_ ? in.size() : 0);
  if (!in.empty()) std::memcpy(payload, in.data(), in.size());
  for (int i = 0; i < 4; ++i) field[i] = static_cast<uint8_t>(sum >> (8 * i));
  return Status::OK();
}

Result<ByteView> Checksum32Codec::Decode(ByteView in, DecodedSize size, Bytes&) const {
  if (in.size() < kChecksumSize) {
    return Status::Corruption(std::string(name()) + ": input of " + std::to_string(in.size()) +
                              " bytes is shorter than the 4-byte checksum");
  }
  const ByteView payload = in.subspan(at_end_ ? 0 : kChecksumSize, in.size() - kChecksumSize);
  const uint8_t* f = in.data() + (at_end_ ? payload.size() : 0);
  const uint32_t stored =
      uint32_t{f[0]} | uint32_t{f[1]} << 8 | uint32_t{f[2]} << 16 | uint32_t{f[3]} << 24;
  const uint32_t computed = Compute(payload);
  if (stored != computed) {
    return Status::Corruption(std::string(name()) + " checksum mismatch: stored " + Hex32(stored) +
                              ", computed " + Hex32(computed));
  }
  if (size.exact && payload.size() != *size.exact) {
    return Status::Corruption(std::string(name()) + ": payload has " +
                              std::to_string(payload.size()) + " bytes, expected " +
                              std::to_string(*size.exact));
  }
  if (!size.exact && payload.size() > size.max) {
    return Status::Corruption(std::string(name()) + ": payload has " +
                              std::to_string(payload.size()) + " bytes, more than the " +
                              std::to_string(size.max) + " the chunk allows");
  }
  return payload;
}

}  // namespace zarrpp
