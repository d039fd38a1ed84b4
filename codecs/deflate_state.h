// codecs/deflate_state.h - libdeflate state shared by the DEFLATE-based codecs (gzip, zlib).
#pragma once

#include <libdeflate.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "codecs/context_pool.h"
#include "zarrpp/bytes.h"
#include "zarrpp/status.h"

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

// One DEFLATE container: libdeflate's functions for it and the name errors use.
struct DeflateFormat {
  const char* name;  // "gzip", "zlib"
  size_t (*bound)(libdeflate_compressor*, size_t);
  size_t (*compress)(libdeflate_compressor*, const void*, size_t, void*, size_t);
  libdeflate_result (*decompress)(libdeflate_decompressor*, const void*, size_t, void*, size_t,
                                  size_t*);
};
extern const DeflateFormat kGzipFormat;
extern const DeflateFormat kZlibFormat;

// Compresses `in` at `level` into the front of `buf` (grown to the format's bound when smaller,
// never shrunk) and returns the compressed size.
Result<size_t> DeflateEncodeKeep(const DeflateFormat& f, int level, ByteView in, Bytes& buf);
// Decompresses into exactly `out`; any other decoded size is Corruption.
Status DeflateDecodeInto(const DeflateFormat& f, ByteView in, MutableByteView out);
// Decompresses a stream of unknown decoded size into `scratch`, starting with `capacity` bytes
// and doubling up to `limit`; a stream that needs more is Corruption.
Result<ByteView> DeflateDecodeGrowing(const DeflateFormat& f, ByteView in, uint64_t capacity,
                                      uint64_t limit, Bytes& scratch);

}  // namespace zarrpp::internal
