#include "codecs/zlib_codec.h"

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

}  // namespace

Result<ZlibCodec::Options> ZlibCodec::OptionsFromJson(const Json& configuration) {
  Options o;
  if (configuration.is_null()) return o;
  if (!configuration.is_object()) {
    return Status::InvalidArgument("configuration " + configuration.dump() + " is not an object");
  }
  for (const auto& [key, value] : configuration.items()) {
    if (key != "level") {
      return Status::InvalidArgument("unexpected configuration field \"" + key + "\"");
    }
    if (!value.is_number_integer()) {
      return Status::InvalidArgument("configuration.level must be an integer, got " + value.dump());
    }
    // The level only matters for encoding: numcodecs writes zlib's -1 (its default, 6), and a
    // level outside 0..9 encodes at the nearest one.
    if (value.is_number_unsigned() && value.get<uint64_t>() > 9) {
      o.level = 9;
    } else {
      const int64_t level = value.get<int64_t>();
      o.level = level == -1 ? 6 : static_cast<int>(std::clamp<int64_t>(level, 0, 9));
    }
  }
  return o;
}

Result<std::shared_ptr<const ZlibCodec>> ZlibCodec::Make(Options options) {
  if (options.level < 0 || options.level > 9) {
    return Status::InvalidArgument("configuration.level " + std::to_string(options.level) +
                                   " is outside 0..9");
  }
  return std::shared_ptr<const ZlibCodec>(new ZlibCodec(options));
}

Result<std::shared_ptr<const Codec>> ZlibCodec::Factory(const Json& configuration) {
  ASSIGN_OR_RETURN(Options options, OptionsFromJson(configuration));
  ASSIGN_OR_RETURN(std::shared_ptr<const ZlibCodec> codec, Make(options));
  return std::shared_ptr<const Codec>(std::move(codec));
}

Json ZlibCodec::ToJson() const {
  return {{"name", kName}, {"configuration", {{"level", options_.level}}}};
}

Status ZlibCodec::Encode(ByteView in, Bytes& out) const {
  return EncodeByKeep(in, out);
}

Result<ByteView> ZlibCodec::EncodeKeep(ByteView in, Bytes& buf) const {
  ASSIGN_OR_RETURN(size_t n,
                   internal::DeflateEncodeKeep(internal::kZlibFormat, options_.level, in, buf));
  return ByteView(buf.data(), n);
}

Status ZlibCodec::DecodeInto(ByteView in, MutableByteView out) const {
  return internal::DeflateDecodeInto(internal::kZlibFormat, in, out);
}

Result<ByteView> ZlibCodec::Decode(ByteView in, DecodedSize size, Bytes& scratch) const {
  if (size.exact) {
    scratch.resize(*size.exact);
    RETURN_IF_ERROR(DecodeInto(in, scratch));
    return ByteView(scratch);
  }
  // A zlib stream does not record its decoded size: grow the buffer until it fits.
  const uint64_t limit =
      std::min<uint64_t>(std::max<uint64_t>(in.size() * kMaxRatio, 4096), size.max);
  const uint64_t capacity = std::min<uint64_t>(std::max<uint64_t>(in.size() * 4, 4096),
                                               std::max<uint64_t>(size.expected, 4096));
  return internal::DeflateDecodeGrowing(internal::kZlibFormat, in, std::min(capacity, limit), limit,
                                        scratch);
}

}  // namespace zarrpp
