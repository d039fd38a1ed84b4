// codecs/deflate_state.h - libdeflate state shared by the DEFLATE-based codecs (gzip, zlib).
#pragma once

#include <libdeflate.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace zarrpp::internal {

// DEFLATE expands at most 1032:1; a stream claiming more is corrupt.
inline constexpr uint64_t kMaxDeflateRatio = 1032;

// libdeflate state is not thread-safe and a compressor is tied to its level: one per level (0-9)
// and thread, created on first use and kept for the thread's life.
libdeflate_compressor* ThreadDeflateCompressor(int level);
libdeflate_decompressor* ThreadDeflateDecompressor();

// A sentence for a libdeflate result; `format` names the stream ("gzip", "zlib").
std::string DeflateResultName(libdeflate_result r, std::string_view format);

}  // namespace zarrpp::internal
