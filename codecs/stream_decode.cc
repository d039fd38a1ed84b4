#include "codecs/stream_decode.h"

#include <algorithm>
#include <string>

namespace zarrpp::internal {

Result<ByteView> StreamDecode(std::string_view codec, uint64_t in_size, DecodedSize size,
                              const StreamStep& step, Bytes& scratch) {
  constexpr uint64_t kFloor = 4096;
  const uint64_t limit = size.exact ? *size.exact : size.max;
  uint64_t capacity = size.exact ? *size.exact
                                 : std::min(std::max(in_size * 4, kFloor),
                                            std::max<uint64_t>(size.expected, kFloor));
  capacity = std::min(capacity, limit);
  scratch.resize(capacity);
  size_t written = 0;
  while (true) {
    if (written == scratch.size()) {
      if (scratch.size() < limit) {
        scratch.resize(std::min<uint64_t>(limit, std::max<uint64_t>(scratch.size() * 2, kFloor)));
        continue;
      }
      // Full at the bound: any further output is too much.
      uint8_t probe = 0;
      size_t extra = 0;
      ASSIGN_OR_RETURN(bool end, step(&probe, 1, extra));
      if (extra > 0) {
        return Status::Corruption(std::string(codec) + ": stream of " + std::to_string(in_size) +
                                  " bytes decodes to more than the " + std::to_string(limit) +
                                  " bytes the chunk allows");
      }
      if (end) break;
      continue;
    }
    ASSIGN_OR_RETURN(bool end, step(scratch.data() + written, scratch.size() - written, written));
    if (end) break;
  }
  if (size.exact && written != *size.exact) {
    return Status::Corruption(std::string(codec) + ": stream decoded to " +
                              std::to_string(written) + " bytes, expected " +
                              std::to_string(*size.exact));
  }
  scratch.resize(written);
  return ByteView(scratch);
}

}  // namespace zarrpp::internal
