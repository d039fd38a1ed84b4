// zarrpp/digest.h - content digests that compare arrays across implementations.
//
// The digest of an array is the SHA-256 of its contents in C order, each element little-endian,
// bool as one byte 0/1, every NaN replaced by the canonical quiet NaN (float16 0x7e00, float32
// 0x7fc00000, float64 0x7ff8000000000000; per component for complex), missing chunks as the fill
// value, a 0-d array as its one element. Two stores holding the same logical array have the same
// digest whatever their codecs, chunking or format.
//
// Thread safety: safe to call concurrently; reads only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "zarrpp/array.h"
#include "zarrpp/status.h"
#include "zarrpp/store.h"

namespace zarrpp {

struct DigestOptions {
  // Arrays whose contents exceed this many bytes are Unsupported (naming both sizes) before any
  // work: SHA-256 reads every byte, so the time a digest takes follows the array's logical size,
  // whatever is stored. Parts of the array with no stored chunk are hashed from a fill-value
  // buffer without reading the store, at about 1-2 GB/s. Default 64 GiB.
  uint64_t max_bytes = uint64_t{64} << 30;
  // Checked between slabs (~64 MiB); when it returns true the digest stops with
  // FailedPrecondition "cancelled". Default (empty): never cancelled.
  std::function<bool()> cancel;
};

// Lower-case hex SHA-256 of the array's contents, streamed slab by slab (memory bounded by about
// 64 MiB plus one chunk per worker).
Result<std::string> ArrayDigest(const Array& array, const DigestOptions& options = {});

// Canonicalises `n` elements of `type` in place as the digest defines (NaN, bool).
void CanonicalizeForDigest(uint8_t* data, uint64_t n, DataType type);

struct ArrayDigestEntry {
  std::string path;  // relative to the tree's root path; "" for the root itself
  std::string data_type;
  std::vector<uint64_t> shape;
  std::string sha256;
};

// Digests every array at or under `path` (found through their zarr.json documents), sorted by
// path.
Result<std::vector<ArrayDigestEntry>> DigestTree(std::shared_ptr<Store> store,
                                                 std::string_view path,
                                                 const DigestOptions& options = {});

}  // namespace zarrpp
