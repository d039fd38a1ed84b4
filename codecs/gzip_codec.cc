#include "codecs/gzip_codec.h"

#include <libdeflate.h>

#include <algorithm>
#include <array>
#include <memory>
#include <string>

#include "codecs/deflate_state.h"
#include "zarrpp/json.h"

namespace zarrpp {

namespace {

constexpr uint64_t kMaxRatio = internal::kMaxDeflateRatio;
// The smallest gzip member: 10-byte header, an empty DEFLATE block, 8-byte trailer.
constexpr size_t kMinMemberSize = 18;

}  // namespace

Result<GzipCodec::Options> GzipCodec::OptionsFromJson(const Json& configuration) {
  if (!configuration.is_object()) {
    return Status::InvalidArgument("configuration with \"level\" is required");
  }
  Options o;
  bool have_level = false;
  for (const auto& [key, value] : configuration.items()) {
    if (key != "level") {
      return Status::InvalidArgument("unexpected configuration field \"" + key + "\"");
    }
    if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > 9 ||
        (value.is_number_unsigned() && value.get<uint64_t>() > 9)) {
      return Status::InvalidArgument("configuration.level must be an integer in 0..9, got " +
                                     value.dump());
    }
    o.level = value.get<int>();
    have_level = true;
  }
  if (!have_level) return Status::InvalidArgument("configuration.level is required");
  return o;
}

Result<std::shared_ptr<const GzipCodec>> GzipCodec::Make(Options options) {
  if (options.level < 0 || options.level > 9) {
    return Status::InvalidArgument("configuration.level " + std::to_string(options.level) +
                                   " is outside 0..9");
  }
  return std::shared_ptr<const GzipCodec>(new GzipCodec(options));
}

Result<std::shared_ptr<const Codec>> GzipCodec::Factory(const Json& configuration) {
  ASSIGN_OR_RETURN(Options options, OptionsFromJson(configuration));
  ASSIGN_OR_RETURN(std::shared_ptr<const GzipCodec> codec, Make(options));
  return std::shared_ptr<const Codec>(std::move(codec));
}

Json GzipCodec::ToJson() const {
  return {{"name", "gzip"}, {"configuration", {{"level", options_.level}}}};
}

Status GzipCodec::Encode(ByteView in, Bytes& out) const {
  return EncodeByKeep(in, out);
}

Result<ByteView> GzipCodec::EncodeKeep(ByteView in, Bytes& buf) const {
  ASSIGN_OR_RETURN(size_t n,
                   internal::DeflateEncodeKeep(internal::kGzipFormat, options_.level, in, buf));
  return ByteView(buf.data(), n);
}

Status GzipCodec::DecodeInto(ByteView in, MutableByteView out) const {
  return internal::DeflateDecodeInto(internal::kGzipFormat, in, out);
}

Result<ByteView> GzipCodec::Decode(ByteView in, DecodedSize size, Bytes& scratch) const {
  if (size.exact) {
    scratch.resize(*size.exact);
    RETURN_IF_ERROR(DecodeInto(in, scratch));
    return ByteView(scratch);
  }
  if (in.size() < kMinMemberSize) {
    return Status::Corruption("gzip: stream of " + std::to_string(in.size()) +
                              " bytes is shorter than the smallest gzip member (" +
                              std::to_string(kMinMemberSize) + " bytes)");
  }
  const uint64_t limit = std::min<uint64_t>(in.size() * kMaxRatio, size.max);
  // ISIZE (the last 4 bytes, little-endian) is the decoded size modulo 2^32: a first guess,
  // trusted no further than the chunk's expected size.
  const uint8_t* t = in.data() + in.size() - 4;
  const uint64_t isize =
      uint64_t{t[0]} | uint64_t{t[1]} << 8 | uint64_t{t[2]} << 16 | uint64_t{t[3]} << 24;
  const uint64_t guess = std::min<uint64_t>(isize, std::max<uint64_t>(size.expected, 4096));
  return internal::DeflateDecodeGrowing(internal::kGzipFormat, in, std::min(guess, limit), limit,
                                        scratch);
}

}  // namespace zarrpp
