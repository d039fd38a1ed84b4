// codecs/deflate_state.h - libdeflate state shared by the DEFLATE-based codecs (gzip, zlib).
#pragma once

#include <libdeflate.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "codecs/context_pool.h"

namespace zarrpp::internal {

// DEFLATE expands at most 1032:1; a stream claiming more is corrupt.
inline constexpr uint64_t kMaxDeflateRatio = 1032;

struct DeflateCompressorDeleter {
  void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
};
struct DeflateDecompressorDeleter {
  void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
};
using DeflateCompressor = ContextPool<libdeflate_compressor, DeflateCompressorDeleter>::Lease;
using DeflateDecompressor = ContextPool<libdeflate_decompressor, DeflateDecompressorDeleter>::Lease;

// libdeflate state is not thread-safe and a compressor is tied to its level: leased from
// process-wide pools (one per level 0-9), created on first use. Null when allocation failed.
DeflateCompressor LeaseDeflateCompressor(int level);
DeflateDecompressor LeaseDeflateDecompressor();

// A sentence for a libdeflate result; `format` names the stream ("gzip", "zlib").
std::string DeflateResultName(libdeflate_result r, std::string_view format);

}  // namespace zarrpp::internal
