#include "codecs/blosc_codec.h"

#include <blosc.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "zarrpp/json.h"

namespace zarrpp {

namespace {

constexpr std::array<std::string_view, 6> kCnames = {"lz4",  "lz4hc", "blosclz",
                                                     "zstd", "zlib",  "snappy"};

// Frames whose announced size is implausible for their length are refused before allocating, so
// a corrupted header cannot demand gigabytes. No c-blosc compressor comes near this ratio.
constexpr uint64_t kMaxRatio = 1 << 16;

std::string_view ShuffleName(BloscCodec::Shuffle s) {
  switch (s) {
    case BloscCodec::Shuffle::kNoShuffle: return "noshuffle";
    case BloscCodec::Shuffle::kShuffle: return "shuffle";
    case BloscCodec::Shuffle::kBitShuffle: return "bitshuffle";
  }
  return "shuffle";
}

int ShuffleCode(BloscCodec::Shuffle s) {
  switch (s) {
    case BloscCodec::Shuffle::kNoShuffle: return BLOSC_NOSHUFFLE;
    case BloscCodec::Shuffle::kShuffle: return BLOSC_SHUFFLE;
    case BloscCodec::Shuffle::kBitShuffle: return BLOSC_BITSHUFFLE;
  }
  return BLOSC_SHUFFLE;
}

Result<int64_t> GetInt(const Json& value, std::string_view field) {
  if (!value.is_number_integer()) {
    return Status::InvalidArgument("configuration." + std::string(field) +
                                   " must be an integer, got " + value.dump());
  }
  if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return Status::InvalidArgument("configuration." + std::string(field) + " " + value.dump() +
                                   " is out of range");
  }
  return value.get<int64_t>();
}

}  // namespace

Result<BloscCodec::Options> BloscCodec::OptionsFromJson(const Json& configuration) {
  if (!configuration.is_object()) {
    return Status::InvalidArgument("configuration is required (cname, clevel, shuffle)");
  }
  Options o;
  bool have_cname = false, have_clevel = false, have_shuffle = false;
  for (const auto& [key, value] : configuration.items()) {
    if (key == "cname") {
      if (!value.is_string()) {
        return Status::InvalidArgument("configuration.cname must be a string, got " + value.dump());
      }
      o.cname = value.get<std::string>();
      have_cname = true;
    } else if (key == "clevel") {
      ASSIGN_OR_RETURN(int64_t v, GetInt(value, key));
      if (v < 0 || v > 9) {
        return Status::InvalidArgument("configuration.clevel " + std::to_string(v) +
                                       " is outside 0..9");
      }
      o.clevel = static_cast<int>(v);
      have_clevel = true;
    } else if (key == "shuffle") {
      // GDAL writes the shuffle as numcodecs' integer code; its meaning is unambiguous.
      if (value == "noshuffle" || value == 0) {
        o.shuffle = Shuffle::kNoShuffle;
      } else if (value == "shuffle" || value == 1) {
        o.shuffle = Shuffle::kShuffle;
      } else if (value == "bitshuffle" || value == 2) {
        o.shuffle = Shuffle::kBitShuffle;
      } else {
        return Status::InvalidArgument(
            "configuration.shuffle must be \"noshuffle\", \"shuffle\" or \"bitshuffle\" (or 0, "
            "1, 2), got " +
            value.dump());
      }
      have_shuffle = true;
    } else if (key == "typesize") {
      ASSIGN_OR_RETURN(int64_t v, GetInt(value, key));
      if (v <= 0 || v > UINT32_MAX) {
        return Status::InvalidArgument("configuration.typesize " + std::to_string(v) +
                                       " must be a positive integer");
      }
      o.typesize = static_cast<uint32_t>(v);
    } else if (key == "blocksize") {
      ASSIGN_OR_RETURN(int64_t v, GetInt(value, key));
      if (v < 0) {
        return Status::InvalidArgument("configuration.blocksize " + std::to_string(v) +
                                       " must be 0 (automatic) or positive");
      }
      o.blocksize = static_cast<uint64_t>(v);
    } else {
      return Status::InvalidArgument("unexpected configuration field \"" + key + "\"");
    }
  }
  if (!have_cname) return Status::InvalidArgument("configuration.cname is required");
  if (!have_clevel) return Status::InvalidArgument("configuration.clevel is required");
  if (!have_shuffle) return Status::InvalidArgument("configuration.shuffle is required");
  return o;
}

Result<std::shared_ptr<const BloscCodec>> BloscCodec::Make(Options o, int num_threads) {
  bool known = false;
  for (std::string_view c : kCnames) known = known || c == o.cname;
  if (!known) {
    return Status::InvalidArgument(
        "configuration.cname must be one of lz4, lz4hc, blosclz, zstd, zlib, snappy, got \"" +
        o.cname + "\"");
  }
  if (blosc_compname_to_compcode(o.cname.c_str()) < 0) {
    return Status::Unsupported("blosc: cname \"" + o.cname +
                               "\" is not available in this build of c-blosc");
  }
  if (o.clevel < 0 || o.clevel > 9) {
    return Status::InvalidArgument("configuration.clevel " + std::to_string(o.clevel) +
                                   " is outside 0..9");
  }
  if (o.shuffle != Shuffle::kNoShuffle && !o.typesize) {
    return Status::InvalidArgument("configuration.typesize is required with shuffle \"" +
                                   std::string(ShuffleName(o.shuffle)) + "\"");
  }
  if (o.typesize && *o.typesize == 0) {
    return Status::InvalidArgument("configuration.typesize 0 must be a positive integer");
  }
  if (num_threads < 1) {
    return Status::InvalidArgument("blosc: num_threads " + std::to_string(num_threads) +
                                   " must be at least 1");
  }
  return std::shared_ptr<const BloscCodec>(new BloscCodec(std::move(o), num_threads));
}

Result<std::shared_ptr<const Codec>> BloscCodec::Factory(const Json& configuration) {
  ASSIGN_OR_RETURN(Options options, OptionsFromJson(configuration));
  ASSIGN_OR_RETURN(std::shared_ptr<const BloscCodec> codec, Make(std::move(options)));
  return std::shared_ptr<const Codec>(std::move(codec));
}

Json BloscCodec::ToJson() const {
  Json config = Json::object();
  config["cname"] = options_.cname;
  config["clevel"] = options_.clevel;
  config["shuffle"] = ShuffleName(options_.shuffle);
  if (options_.typesize) config["typesize"] = *options_.typesize;
  config["blocksize"] = options_.blocksize;
  return {{"name", "blosc"}, {"configuration", std::move(config)}};
}

Status BloscCodec::Encode(ByteView in, Bytes& out) const {
  return EncodeByKeep(in, out);
}

Result<ByteView> BloscCodec::EncodeKeep(ByteView in, Bytes& buf) const {
  if (in.size() > static_cast<uint64_t>(BLOSC_MAX_BUFFERSIZE)) {
    return Status::InvalidArgument("blosc: input of " + std::to_string(in.size()) +
                                   " bytes exceeds the c-blosc limit of " +
                                   std::to_string(BLOSC_MAX_BUFFERSIZE) + " bytes");
  }
  const size_t bound = in.size() + BLOSC_MAX_OVERHEAD;
  if (buf.size() < bound) buf.resize(bound);
  const size_t typesize = options_.typesize.value_or(1);
  const int n = blosc_compress_ctx(options_.clevel, ShuffleCode(options_.shuffle), typesize,
                                   in.size(), in.data(), buf.data(), bound, options_.cname.c_str(),
                                   options_.blocksize, num_threads_);
  if (n <= 0) {
    // With a destination of input + BLOSC_MAX_OVERHEAD c-blosc documents that it cannot fail.
    return Status::InvalidArgument("blosc: compression failed with code " + std::to_string(n));
  }
  return ByteView(buf.data(), static_cast<size_t>(n));
}

Result<uint64_t> BloscCodec::CheckFrame(ByteView in) const {
  if (in.size() < BLOSC_MIN_HEADER_LENGTH) {
    return Status::Corruption("blosc: frame of " + std::to_string(in.size()) +
                              " bytes is shorter than its " +
                              std::to_string(BLOSC_MIN_HEADER_LENGTH) + "-byte header");
  }
  size_t nbytes = 0, cbytes = 0, blocksize = 0;
  blosc_cbuffer_sizes(in.data(), &nbytes, &cbytes, &blocksize);
  if (cbytes != in.size()) {
    return Status::Corruption("blosc: header announces " + std::to_string(cbytes) +
                              " compressed bytes but the frame has " + std::to_string(in.size()));
  }
  size_t validated = 0;
  if (blosc_cbuffer_validate(in.data(), in.size(), &validated) != 0) {
    return Status::Corruption("blosc: invalid frame header");
  }
  return static_cast<uint64_t>(validated);
}

Status BloscCodec::DecompressTo(ByteView in, uint8_t* dst, uint64_t size) const {
  if (size == 0) return Status::OK();  // c-blosc reports 0 bytes as failure
  const int n = blosc_decompress_ctx(in.data(), dst, size, num_threads_);
  if (n < 0 || static_cast<uint64_t>(n) != size) {
    return Status::Corruption("blosc: decompression failed (code " + std::to_string(n) +
                              ", expected " + std::to_string(size) + " bytes)");
  }
  return Status::OK();
}

Result<ByteView> BloscCodec::Decode(ByteView in, DecodedSize size, Bytes& scratch) const {
  ASSIGN_OR_RETURN(uint64_t nbytes, CheckFrame(in));
  if (size.exact && nbytes != *size.exact) {
    return Status::Corruption("blosc: frame decodes to " + std::to_string(nbytes) +
                              " bytes, expected " + std::to_string(*size.exact));
  }
  if (!size.exact && nbytes > in.size() * kMaxRatio) {
    return Status::Corruption("blosc: frame of " + std::to_string(in.size()) +
                              " bytes claims an implausible " + std::to_string(nbytes) +
                              " decoded bytes");
  }
  // c-blosc decodes a frame in one call, so the announced size is all it can be given; it is
  // refused past what the chunk allows.
  if (!size.exact && nbytes > size.max) {
    return Status::Corruption("blosc: frame announces " + std::to_string(nbytes) +
                              " decoded bytes, more than the " + std::to_string(size.max) +
                              " the chunk allows");
  }
  scratch.resize(nbytes);
  RETURN_IF_ERROR(DecompressTo(in, scratch.data(), nbytes));
  return ByteView(scratch);
}

Status BloscCodec::DecodeRange(ByteView in, uint64_t total, uint64_t begin, uint64_t end,
                               uint8_t* out, Bytes& scratch) const {
  ASSIGN_OR_RETURN(uint64_t nbytes, CheckFrame(in));
  if (nbytes != total) {
    return Status::Corruption("blosc: frame decodes to " + std::to_string(nbytes) +
                              " bytes, expected " + std::to_string(total));
  }
  if (begin >= end) return Status::OK();
  if (end > total) {
    return Status::InvalidArgument("blosc: range [" + std::to_string(begin) + ", " +
                                   std::to_string(end) + ") is past the value's " +
                                   std::to_string(total) + " bytes");
  }
  size_t typesize = 0;
  int flags = 0;
  blosc_cbuffer_metainfo(in.data(), &typesize, &flags);
  if (typesize == 0 || total % typesize != 0 || total / typesize > INT32_MAX) {
    // Items of the frame's type size cannot address every byte: the whole frame is decoded.
    scratch.resize(total);
    RETURN_IF_ERROR(DecompressTo(in, scratch.data(), total));
    std::memcpy(out, scratch.data() + begin, end - begin);
    return Status::OK();
  }
  const uint64_t first = begin / typesize;
  const uint64_t last = (end + typesize - 1) / typesize;
  scratch.resize((last - first) * typesize);
  const int n = blosc_getitem(in.data(), static_cast<int>(first), static_cast<int>(last - first),
                              scratch.data());
  if (n < 0 || static_cast<uint64_t>(n) != scratch.size()) {
    return Status::Corruption("blosc: decoding items " + std::to_string(first) + ".." +
                              std::to_string(last) + " failed (code " + std::to_string(n) + ")");
  }
  std::memcpy(out, scratch.data() + (begin - first * typesize), end - begin);
  return Status::OK();
}

Result<bool> BloscCodec::DecodeRangeFrom(uint64_t frame_size, const FrameReader& read,
                                         uint64_t total, uint64_t begin, uint64_t end, uint8_t* out,
                                         Bytes& scratch) const {
  constexpr uint64_t kHeader = BLOSC_MIN_HEADER_LENGTH;
  if (frame_size < kHeader) {
    return Status::Corruption("blosc: frame of " + std::to_string(frame_size) +
                              " bytes is shorter than its " + std::to_string(kHeader) +
                              "-byte header");
  }
  // The frame's bytes, zero until read: calloc leaves the pages of a large frame untouched.
  std::unique_ptr<uint8_t, decltype(&std::free)> frame(
      static_cast<uint8_t*>(std::calloc(frame_size, 1)), &std::free);
  if (frame == nullptr) return Status::IOError("blosc: out of memory for a frame");
  auto fetch = [&](uint64_t at, uint64_t n) -> Result<bool> {
    return n == 0 ? true : read(at, MutableByteView(frame.get() + at, n));
  };
  // The header and the block starts of up to 64 blocks in one read.
  const uint64_t head = std::min<uint64_t>(frame_size, kHeader + 4 * 64);
  ASSIGN_OR_RETURN(bool got, fetch(0, head));
  if (!got) return false;
  size_t nbytes = 0, cbytes = 0, blocksize = 0, typesize = 0;
  int flags = 0;
  blosc_cbuffer_sizes(frame.get(), &nbytes, &cbytes, &blocksize);
  blosc_cbuffer_metainfo(frame.get(), &typesize, &flags);
  ASSIGN_OR_RETURN(uint64_t announced, CheckFrame(ByteView(frame.get(), frame_size)));
  if (announced != total) {
    return Status::Corruption("blosc: frame decodes to " + std::to_string(announced) +
                              " bytes, expected " + std::to_string(total));
  }
  if (begin >= end) return true;
  if (end > total) {
    return Status::InvalidArgument("blosc: range [" + std::to_string(begin) + ", " +
                                   std::to_string(end) + ") is past the value's " +
                                   std::to_string(total) + " bytes");
  }
  if ((flags & BLOSC_MEMCPYED) != 0) {
    if (frame_size != kHeader + total) {
      return Status::Corruption("blosc: a stored (memcpyed) frame of " +
                                std::to_string(frame_size) + " bytes for " + std::to_string(total) +
                                " decoded bytes");
    }
    return read(kHeader + begin, MutableByteView(out, end - begin));
  }
  if (blocksize == 0) return Status::Corruption("blosc: frame header gives a block size of 0");
  const uint64_t nblocks = (total + blocksize - 1) / blocksize;
  const uint64_t starts_end = kHeader + 4 * nblocks;
  if (starts_end > frame_size) {
    return Status::Corruption("blosc: " + std::to_string(nblocks) +
                              " block starts do not fit in a frame of " +
                              std::to_string(frame_size) + " bytes");
  }
  if (starts_end > head) {
    ASSIGN_OR_RETURN(got, fetch(head, starts_end - head));
    if (!got) return false;
  }
  std::vector<uint64_t> starts(nblocks);
  for (uint64_t j = 0; j < nblocks; ++j) {
    int32_t s = 0;
    std::memcpy(&s, frame.get() + kHeader + 4 * j, 4);
    if (s < static_cast<int64_t>(starts_end) || static_cast<uint64_t>(s) >= frame_size) {
      starts[j] = UINT64_MAX;  // damaged: refused if a block holding the range needs it
    } else {
      starts[j] = static_cast<uint64_t>(s);
    }
  }
  std::vector<uint64_t> sorted = starts;
  std::sort(sorted.begin(), sorted.end());
  // Blocks need not be stored in order (c-blosc's threads append them as they finish): a block
  // ends where the next stored block starts, or at the frame's end.
  const uint64_t first_block = begin / blocksize, last_block = (end - 1) / blocksize;
  uint64_t lo = UINT64_MAX, hi = 0;
  for (uint64_t j = first_block; j <= last_block; ++j) {
    if (starts[j] == UINT64_MAX) {
      return Status::Corruption("blosc: the start of block " + std::to_string(j) +
                                " lies outside the frame");
    }
    auto next = std::upper_bound(sorted.begin(), sorted.end(), starts[j]);
    const uint64_t stop = next == sorted.end() || *next == UINT64_MAX ? frame_size : *next;
    lo = std::min(lo, starts[j]);
    hi = std::max(hi, stop);
  }
  ASSIGN_OR_RETURN(got, fetch(lo, hi - lo));
  if (!got) return false;
  RETURN_IF_ERROR(DecodeRange(ByteView(frame.get(), frame_size), total, begin, end, out, scratch));
  return true;
}

Status BloscCodec::DecodeInto(ByteView in, MutableByteView out) const {
  ASSIGN_OR_RETURN(uint64_t nbytes, CheckFrame(in));
  if (nbytes != out.size()) {
    return Status::Corruption("blosc: frame decodes to " + std::to_string(nbytes) +
                              " bytes, expected " + std::to_string(out.size()));
  }
  return DecompressTo(in, out.data(), nbytes);
}

}  // namespace zarrpp
