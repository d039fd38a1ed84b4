#include "codecs/deflate_state.h"

#include <array>
#include <memory>

namespace zarrpp::internal {
DeflateCompressor LeaseDeflateCompressor(int level) {
  using Pool = ContextPool<libdeflate_compressor, DeflateCompressorDeleter>;
  static auto* pools = new std::array<Pool, 10>;  // used until exit
  return (*pools)[static_cast<size_t>(level)].Acquire(
      [level] { return libdeflate_alloc_compressor(level); });
}

DeflateDecompressor LeaseDeflateDecompressor() {
  static auto* pool = new ContextPool<libdeflate_decompressor, DeflateDecompressorDeleter>;
  return pool->Acquire([] { return libdeflate_alloc_decompressor(); });
}

std::string DeflateResultName(libdeflate_result r, std::string_view format) {
  switch (r) {
    case LIBDEFLATE_SUCCESS: return "success";
    case LIBDEFLATE_BAD_DATA: return "invalid or truncated " + std::string(format) + " data";
    case LIBDEFLATE_SHORT_OUTPUT: return "stream decodes to fewer bytes than expected";
    case LIBDEFLATE_INSUFFICIENT_SPACE: return "stream decodes to more bytes than expected";
  }
  return "unknown error";
}

}  // namespace zarrpp::internal
