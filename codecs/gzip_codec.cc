#include "codecs/gzip_codec.h"

#include <libdeflate.h>

#include <algorithm>
#include <array>
#include <memory>
#include <string>

#include "codecs/deflate_state.h"

namespace zarrpp {

namespace {

constexpr uint64_t kMaxRatio = internal::kMaxDeflateRatio;
// The smallest gzip member: 10-byte header, an empty DEFLATE block, 8-byte trailer.
constexpr size_t kMinMemberSize = 18;

std::string ResultName(libdeflate_result r) {
  return internal::DeflateResultName(r, "gzip");
}

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
  const internal::DeflateCompressor c = internal::LeaseDeflateCompressor(options_.level);
  if (c == nullptr) return Status::IOError("gzip: cannot allocate a compressor");
  out.resize(libdeflate_gzip_compress_bound(c, in.size()));
  const size_t n = libdeflate_gzip_compress(c, in.data(), in.size(), out.data(), out.size());
  if (n == 0) {
    out.clear();
    return Status::InvalidArgument("gzip: compression of " + std::to_string(in.size()) +
                                   " bytes failed");
  }
  out.resize(n);
  return Status::OK();
}

Status GzipCodec::DecodeInto(ByteView in, MutableByteView out) const {
  const internal::DeflateDecompressor d = internal::LeaseDeflateDecompressor();
  if (d == nullptr) return Status::IOError("gzip: cannot allocate a decompressor");
  const libdeflate_result r =
      libdeflate_gzip_decompress(d, in.data(), in.size(), out.data(), out.size(), nullptr);
  if (r != LIBDEFLATE_SUCCESS) {
    return Status::Corruption("gzip: " + ResultName(r) + " (" + std::to_string(in.size()) +
                              " encoded bytes, expected " + std::to_string(out.size()) +
                              " decoded)");
  }
  return Status::OK();
}

Result<ByteView> GzipCodec::Decode(ByteView in, std::optional<uint64_t> decoded_size,
                                   Bytes& scratch) const {
  if (decoded_size) {
    scratch.resize(*decoded_size);
    RETURN_IF_ERROR(DecodeInto(in, scratch));
    return ByteView(scratch);
  }
  if (in.size() < kMinMemberSize) {
    return Status::Corruption("gzip: stream of " + std::to_string(in.size()) +
                              " bytes is shorter than the smallest gzip member (" +
                              std::to_string(kMinMemberSize) + " bytes)");
  }
  const internal::DeflateDecompressor d = internal::LeaseDeflateDecompressor();
  if (d == nullptr) return Status::IOError("gzip: cannot allocate a decompressor");
  const uint64_t limit = in.size() * kMaxRatio;
  // ISIZE (the last 4 bytes, little-endian) is the decoded size modulo 2^32: a good first guess.
  const uint8_t* t = in.data() + in.size() - 4;
  const uint64_t isize =
      uint64_t{t[0]} | uint64_t{t[1]} << 8 | uint64_t{t[2]} << 16 | uint64_t{t[3]} << 24;
  uint64_t capacity = isize <= limit ? isize : in.size() * 4;
  while (true) {
    scratch.resize(capacity);
    size_t actual = 0;
    const libdeflate_result r =
        libdeflate_gzip_decompress(d, in.data(), in.size(), scratch.data(), capacity, &actual);
    if (r == LIBDEFLATE_SUCCESS) {
      scratch.resize(actual);
      return ByteView(scratch);
    }
    if (r != LIBDEFLATE_INSUFFICIENT_SPACE || capacity >= limit) {
      return Status::Corruption("gzip: " + ResultName(r) + " (" + std::to_string(in.size()) +
                                " encoded bytes)");
    }
    capacity = std::min(limit, std::max<uint64_t>(capacity * 2, 4096));
  }
}

}  // namespace zarrpp
