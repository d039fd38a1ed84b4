#include "codecs/deflate_state.h"

#include <algorithm>
#include <array>
#include <memory>
#include <string>

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

const DeflateFormat kGzipFormat{"gzip", libdeflate_gzip_compress_bound, libdeflate_gzip_compress,
                                libdeflate_gzip_decompress};
const DeflateFormat kZlibFormat{"zlib", libdeflate_zlib_compress_bound, libdeflate_zlib_compress,
                                libdeflate_zlib_decompress};

Result<size_t> DeflateEncodeKeep(const DeflateFormat& f, int level, ByteView in, Bytes& buf) {
  const DeflateCompressor c = LeaseDeflateCompressor(level);
  if (c == nullptr) return Status::IOError(std::string(f.name) + ": cannot allocate a compressor");
  const size_t bound = f.bound(c, in.size());
  if (buf.size() < bound) buf.resize(bound);
  const size_t n = f.compress(c, in.data(), in.size(), buf.data(), buf.size());
  if (n == 0) {
    return Status::InvalidArgument(std::string(f.name) + ": compression of " +
                                   std::to_string(in.size()) + " bytes failed");
  }
  return n;
}

Status DeflateDecodeInto(const DeflateFormat& f, ByteView in, MutableByteView out) {
  const DeflateDecompressor d = LeaseDeflateDecompressor();
  if (d == nullptr) {
    return Status::IOError(std::string(f.name) + ": cannot allocate a decompressor");
  }
  const libdeflate_result r =
      f.decompress(d, in.data(), in.size(), out.data(), out.size(), nullptr);
  if (r != LIBDEFLATE_SUCCESS) {
    return Status::Corruption(std::string(f.name) + ": " + DeflateResultName(r, f.name) + " (" +
                              std::to_string(in.size()) + " encoded bytes, expected " +
                              std::to_string(out.size()) + " decoded)");
  }
  return Status::OK();
}

Result<ByteView> DeflateDecodeGrowing(const DeflateFormat& f, ByteView in, uint64_t capacity,
                                      uint64_t limit, Bytes& scratch) {
  const DeflateDecompressor d = LeaseDeflateDecompressor();
  if (d == nullptr) {
    return Status::IOError(std::string(f.name) + ": cannot allocate a decompressor");
  }
  while (true) {
    scratch.resize(capacity);
    size_t actual = 0;
    const libdeflate_result r =
        f.decompress(d, in.data(), in.size(), scratch.data(), capacity, &actual);
    if (r == LIBDEFLATE_SUCCESS) {
      scratch.resize(actual);
      return ByteView(scratch);
    }
    if (r != LIBDEFLATE_INSUFFICIENT_SPACE || capacity >= limit) {
      return Status::Corruption(std::string(f.name) + ": " + DeflateResultName(r, f.name) + " (" +
                                std::to_string(in.size()) + " encoded bytes)");
    }
    capacity = std::min(limit, std::max<uint64_t>(capacity * 2, 4096));
  }
}

}  // namespace zarrpp::internal
