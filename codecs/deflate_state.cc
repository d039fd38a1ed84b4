#include "codecs/deflate_state.h"

#include <array>
#include <memory>

namespace zarrpp::internal {
namespace {

struct CompressorDeleter {
  void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
};
struct DecompressorDeleter {
  void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
};

}  // namespace

libdeflate_compressor* ThreadDeflateCompressor(int level) {
  thread_local std::array<std::unique_ptr<libdeflate_compressor, CompressorDeleter>, 10> pool;
  auto& slot = pool[static_cast<size_t>(level)];
  if (!slot) slot.reset(libdeflate_alloc_compressor(level));
  return slot.get();
}

libdeflate_decompressor* ThreadDeflateDecompressor() {
  thread_local std::unique_ptr<libdeflate_decompressor, DecompressorDeleter> d(
      libdeflate_alloc_decompressor());
  return d.get();
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
