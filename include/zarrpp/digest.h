// zarrpp/digest.h - content digests that compare arrays across implementations.
//
// The digest of an array is the SHA-256 of its contents in C order, each element little-endian,
// bool as one byte 0/1, every NaN replaced by the canonical quiet NaN (float16 0x7e00, float32
// 0x7fc00000, float64 0x7ff8000000000000; per component for complex), missing chunks as the fill
// value, a 0-d array as its one element. string and bytes elements are each their byte length
// (u64 little-endian) followed by their bytes (spec/strings.md). Two stores holding the same
// logical array have the same digest whatever their codecs, chunking or format.
//
// Extension types hash their in-memory bytes (data_type.h): numpy.datetime64/timedelta64 as
// int64; sub-byte types (int2, int4, uint2, uint4, float4_e2m1fn, float6_*) as one byte per
// element, int2/int4 sign-extended and the others with the bits above their width cleared;
// bfloat16 and the IEEE-style float8 formats (e3m4, e4m3, e5m2) with every NaN replaced by the
// canonical NaN (bfloat16 0x7fc0, e3m4 0x78, e4m3 0x7c, e5m2 0x7e; per component for complex);
// the fnuz and e8m0 formats have one NaN pattern and hash as stored.
//
// Thread safety: safe to call concurrently; reads only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "zarrpp/data_type.h"
#include "zarrpp/status.h"
#include "zarrpp/store.h"

namespace zarrpp {

class Array;  // zarrpp/array.h

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

// Canonicalises `n` elements of `type` in place as the digest defines (NaN, bool, sub-byte).
void CanonicalizeForDigest(uint8_t* data, uint64_t n, DataType type);

// Damage in the layout of an array's chunk keys that a reader would take for missing chunks
// (the fill value): a directory standing where a chunk value belongs (a key of `keys` below the
// array whose leading segments form a chunk key), or, with the "/" separator, a value standing
// where a directory of chunks belongs (a key that a chunk key continues, such as "c" or "c/1").
// `keys` is a sorted listing (as Store::list_prefix returns) holding at least the array's keys;
// others are skipped, so one listing of a tree serves each of its arrays. Corruption naming
// the key; OK when there is none.
Status CheckChunkKeyLayout(const Array& array, const std::vector<std::string>& keys);

struct ArrayDigestEntry {
  std::string path;  // relative to the tree's root path; "" for the root itself
  std::string data_type;
  std::vector<uint64_t> shape;
  std::string sha256;  // empty when `error` is set
  // OK, or why this node could not be digested (its metadata does not parse or is not a node
  // document, or a directory stands where it belongs; a chunk cannot be read or decoded; a
  // directory stands where a chunk value belongs or a value where a directory of chunks does).
  // data_type and shape are filled when the metadata was read.
  Status error;
};

// Digests every array at or under `path` (found through their zarr.json and .zarray documents),
// sorted by path. A node that cannot be digested does not stop the walk: it gets an entry with
// `error` set and the rest are still digested, so callers must check every entry's error. A
// zarr.json that is not a JSON object with node_type "array" or "group" is such an entry. Only
// failing to list the tree is an error of the call.
//
// A store that cannot list (capabilities().listable false, e.g. HttpStore) is read without
// listing: an array at `path` gets its one entry (chunk-key layout damage cannot be seen then);
// a group at `path` is Unsupported (its arrays cannot be found), nothing there is NotFound.
Result<std::vector<ArrayDigestEntry>> DigestTree(std::shared_ptr<Store> store,
                                                 std::string_view path,
                                                 const DigestOptions& options = {});

}  // namespace zarrpp
