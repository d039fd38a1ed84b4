#include "codecs/lz4_codec.h"

#include <lz4.h>

#include <algorithm>
#include <string>

#include "codecs/numcodecs_config.h"
#include "zarrpp/json.h"

namespace zarrpp {

namespace {

// An LZ4 block expands at most ~255:1 (a 1-byte literal run plus 255-byte match extensions).
constexpr uint64_t kMaxRatio = 256;

Result<uint32_t> Header(ByteView in) {
  if (in.size() < Lz4Codec::kHeaderSize) {
    return Status::Corruption("lz4: input of " + std::to_string(in.size()) +
                              " bytes is shorter than the 4-byte size header");
  }
  return uint32_t{in[0]} | uint32_t{in[1]} << 8 | uint32_t{in[2]} << 16 | uint32_t{in[3]} << 24;
}

Status DecodeBlock(ByteView in, MutableByteView out) {
  const ByteView block = in.subspan(Lz4Codec::kHeaderSize);
  if (block.size() > static_cast<size_t>(INT32_MAX)) {
    return Status::Corruption("lz4: block of " + std::to_string(block.size()) +
                              " bytes is too large");
  }
  const int n = LZ4_decompress_safe(reinterpret_cast<const char*>(block.data()),
                                    reinterpret_cast<char*>(out.data()),
                                    static_cast<int>(block.size()), static_cast<int>(out.size()));
  if (n < 0 || static_cast<size_t>(n) != out.size()) {
    return Status::Corruption("lz4: malformed block (" + std::to_string(block.size()) +
                              " bytes) for " + std::to_string(out.size()) + " decoded bytes");
  }
  return Status::OK();
}

}  // namespace

Result<Lz4Codec::Options> Lz4Codec::OptionsFromJson(const Json& configuration) {
  Options o;
  ASSIGN_OR_RETURN(internal::ConfigReader r, internal::ConfigReader::Make(configuration));
  ASSIGN_OR_RETURN(std::optional<int64_t> a, r.Int("acceleration"));
  RETURN_IF_ERROR(r.Finish());
  if (a) o.acceleration = static_cast<int>(std::clamp<int64_t>(*a, 1, 65537));
  return o;
}

std::shared_ptr<const Lz4Codec> Lz4Codec::Make(Options options) {
  options.acceleration = std::clamp(options.acceleration, 1, 65537);
  return std::shared_ptr<const Lz4Codec>(new Lz4Codec(options));
}

Result<std::shared_ptr<const Codec>> Lz4Codec::Factory(const Json& configuration) {
  ASSIGN_OR_RETURN(Options options, OptionsFromJson(configuration));
  return std::shared_ptr<const Codec>(Make(options));
}

Json Lz4Codec::ToJson() const {
  return {{"name", kName}, {"configuration", {{"acceleration", options_.acceleration}}}};
}

Status Lz4Codec::Encode(ByteView in, Bytes& out) const {
  if (in.size() > static_cast<size_t>(LZ4_MAX_INPUT_SIZE)) {
    return Status::InvalidArgument("lz4: input of " + std::to_string(in.size()) +
                                   " bytes exceeds LZ4's block limit of " +
                                   std::to_string(LZ4_MAX_INPUT_SIZE));
  }
  const int bound = LZ4_compressBound(static_cast<int>(in.size()));
  out.resize(kHeaderSize + static_cast<size_t>(bound));
  const uint32_t n32 = static_cast<uint32_t>(in.size());
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(n32 >> (8 * i));
  const int n = LZ4_compress_fast(reinterpret_cast<const char*>(in.data()),
                                  reinterpret_cast<char*>(out.data() + kHeaderSize),
                                  static_cast<int>(in.size()), bound, options_.acceleration);
  if (n <= 0) {
    out.clear();
    return Status::InvalidArgument("lz4: compression failed");
  }
  out.resize(kHeaderSize + static_cast<size_t>(n));
  return Status::OK();
}

Status Lz4Codec::DecodeInto(ByteView in, MutableByteView out) const {
  ASSIGN_OR_RETURN(uint32_t n, Header(in));
  if (n != out.size()) {
    return Status::Corruption("lz4: header announces " + std::to_string(n) +
                              " decoded bytes, expected " + std::to_string(out.size()));
  }
  return DecodeBlock(in, out);
}

Result<ByteView> Lz4Codec::Decode(ByteView in, DecodedSize size, Bytes& scratch) const {
  ASSIGN_OR_RETURN(uint32_t n, Header(in));
  if (size.exact && n != *size.exact) {
    return Status::Corruption("lz4: header announces " + std::to_string(n) +
                              " decoded bytes, expected " + std::to_string(*size.exact));
  }
  const uint64_t plausible = (in.size() - kHeaderSize + 1) * kMaxRatio;
  if (!size.exact && (n > size.max || n > plausible)) {
    return Status::Corruption("lz4: block of " + std::to_string(in.size()) +
                              " bytes claims an implausible " + std::to_string(n) +
                              " decoded bytes (the chunk allows at most " +
                              std::to_string(std::min(size.max, plausible)) + ")");
  }
  scratch.resize(n);
  RETURN_IF_ERROR(DecodeBlock(in, scratch));
  return ByteView(scratch);
}

}  // namespace zarrpp
