#include "codecs/bz2_codec.h"

#include <bzlib.h>

#include <algorithm>
#include <climits>
#include <string>

#include "codecs/numcodecs_config.h"
#include "codecs/stream_decode.h"
#include "zarrpp/json.h"

namespace zarrpp {

Result<Bz2Codec::Options> Bz2Codec::OptionsFromJson(const Json& configuration) {
  Options o;
  ASSIGN_OR_RETURN(internal::ConfigReader r, internal::ConfigReader::Make(configuration));
  ASSIGN_OR_RETURN(std::optional<int64_t> level, r.Int("level"));
  RETURN_IF_ERROR(r.Finish());
  if (level) o.level = static_cast<int>(std::clamp<int64_t>(*level, 1, 9));
  return o;
}

std::shared_ptr<const Bz2Codec> Bz2Codec::Make(Options options) {
  options.level = std::clamp(options.level, 1, 9);
  return std::shared_ptr<const Bz2Codec>(new Bz2Codec(options));
}

Result<std::shared_ptr<const Codec>> Bz2Codec::Factory(const Json& configuration) {
  ASSIGN_OR_RETURN(Options options, OptionsFromJson(configuration));
  return std::shared_ptr<const Codec>(Make(options));
}

Json Bz2Codec::ToJson() const {
  return {{"name", kName}, {"configuration", {{"level", options_.level}}}};
}

Status Bz2Codec::Encode(ByteView in, Bytes& out) const {
  if (in.size() > UINT_MAX / 2) {
    return Status::InvalidArgument("bz2: input of " + std::to_string(in.size()) +
                                   " bytes exceeds what one bzip2 stream encodes here");
  }
  // bzip2's documented worst case: 1% plus 600 bytes.
  unsigned int capacity = static_cast<unsigned int>(in.size() + in.size() / 100 + 600);
  out.resize(capacity);
  char empty = 0;  // libbz2 refuses a null source even for zero bytes
  const int r = BZ2_bzBuffToBuffCompress(
      reinterpret_cast<char*>(out.data()), &capacity,
      in.empty() ? &empty : const_cast<char*>(reinterpret_cast<const char*>(in.data())),
      static_cast<unsigned int>(in.size()), options_.level, 0, 0);
  if (r != BZ_OK) {
    out.clear();
    return Status::InvalidArgument("bz2: compression failed (code " + std::to_string(r) + ")");
  }
  out.resize(capacity);
  return Status::OK();
}

Result<ByteView> Bz2Codec::Decode(ByteView in, DecodedSize size, Bytes& scratch) const {
  bz_stream strm{};
  if (BZ2_bzDecompressInit(&strm, 0, 0) != BZ_OK) {
    return Status::IOError("bz2: cannot allocate a decompression stream");
  }
  struct End {
    bz_stream* s;
    ~End() { BZ2_bzDecompressEnd(s); }
  } end{&strm};
  const uint8_t* next = in.data();
  size_t left = in.size();
  auto step = [&](uint8_t* out, size_t avail, size_t& written) -> Result<bool> {
    const unsigned int feed = static_cast<unsigned int>(std::min<size_t>(left, 1u << 30));
    const unsigned int room = static_cast<unsigned int>(std::min<size_t>(avail, 1u << 30));
    strm.next_in = const_cast<char*>(reinterpret_cast<const char*>(next));
    strm.avail_in = feed;
    strm.next_out = reinterpret_cast<char*>(out);
    strm.avail_out = room;
    const int r = BZ2_bzDecompress(&strm);
    const size_t consumed = feed - strm.avail_in;
    const size_t produced = room - strm.avail_out;
    next += consumed;
    left -= consumed;
    written += produced;
    if (r == BZ_STREAM_END) {
      if (left != 0) {
        return Status::Corruption("bz2: " + std::to_string(left) +
                                  " trailing bytes after the stream");
      }
      return true;
    }
    if (r != BZ_OK) {
      return Status::Corruption("bz2: malformed stream (code " + std::to_string(r) + ")");
    }
    if (left == 0 && consumed == 0 && produced == 0) {
      return Status::Corruption("bz2: stream of " + std::to_string(in.size()) +
                                " bytes is truncated");
    }
    return false;
  };
  return internal::StreamDecode("bz2", in.size(), size, step, scratch);
}

}  // namespace zarrpp
