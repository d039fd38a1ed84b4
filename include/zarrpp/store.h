// zarrpp/store.h - the abstract store: a flat map from string keys to byte values.
//
// Operations carry the names of the Zarr v3 abstract store interface. Keys are "/"-separated,
// never start or end with "/", and never contain empty, "." or ".." segments; a store refuses any
// other key with InvalidArgument naming it. A prefix is "" (everything) or ends with "/".
//
// Absent is a value: get() of a missing key returns an empty optional, erase() of a missing key
// succeeds, size() of a missing key returns nullopt.
//
// Thread safety: every Store implementation is safe for concurrent calls from any number of
// threads. Concurrent set()/set_range() calls on one key are serialized by the store; a reader
// concurrent with a whole-value set() sees either the old or the new value, never a mix
// (for stores whose capabilities().atomic_set is true).
//
// Ownership: stores are shared through std::shared_ptr; values returned are copies owned by
// the caller.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "zarrpp/bytes.h"
#include "zarrpp/status.h"

namespace zarrpp {

// A byte range request against one value.
struct ByteRange {
  enum class Kind { kWhole, kBounded, kFromOffset, kSuffix };
  Kind kind = Kind::kWhole;
  uint64_t start = 0;   // kBounded, kFromOffset: first byte
  uint64_t end = 0;     // kBounded: one past the last byte (exclusive)
  uint64_t suffix = 0;  // kSuffix: number of trailing bytes

  static ByteRange Whole() { return {}; }
  // [start, end). end < start is InvalidArgument at the store.
  static ByteRange Bounded(uint64_t start, uint64_t end) { return {Kind::kBounded, start, end, 0}; }
  static ByteRange FromOffset(uint64_t start) { return {Kind::kFromOffset, start, 0, 0}; }
  static ByteRange Suffix(uint64_t n) { return {Kind::kSuffix, 0, 0, n}; }

  // Resolves this range against a value of `size` bytes into [begin, end).
  // Bounded ranges that pass the end, or start past the end, are InvalidArgument; a suffix longer
  // than the value yields the whole value.
  Result<std::pair<uint64_t, uint64_t>> Resolve(uint64_t size, std::string_view key) const;
  std::string ToString() const;
};

struct KeyRange {
  std::string key;
  ByteRange range;
};

// What a store can do; queried, never guessed.
struct StoreCapabilities {
  bool readable = true;
  bool writable = true;
  bool erasable = true;
  bool listable = true;
  bool partial_reads = true;  // get() with a ByteRange reads only those bytes
  bool set_range = false;     // set_range() overwrites bytes inside an existing value in place
  bool atomic_set = false;    // set() replaces a value atomically (readers never see a torn value)
  // How many operations are worth having in flight at once. 0: operations are CPU-bound (memory,
  // local files served from the page cache), so the CPU executor's concurrency is right. A store
  // whose operations wait on latency (network, LatencyStore) reports more, and the pipelines then
  // issue that many blocking operations at once on I/O threads.
  size_t io_concurrency = 0;
};

// The result of list_dir(prefix): keys directly under the prefix, and child prefixes (ending "/").
struct DirListing {
  std::vector<std::string> keys;
  std::vector<std::string> prefixes;
};

class Store {
 public:
  virtual ~Store() = default;

  virtual StoreCapabilities capabilities() const = 0;

  // Reads `range` of the value at `key` into `out` (resized to the bytes read; its capacity is
  // reused, so callers keep one buffer per worker). Returns false when the key is missing.
  virtual Result<bool> get_into(std::string_view key, ByteRange range, Bytes& out) = 0;

  // Reads the whole value at `key` straight into `pieces`, in order: piece i receives the next
  // pieces[i].size() bytes of the value; a piece whose data() is null skips them. A value whose
  // size differs from the pieces' total is Corruption naming the key and both sizes, with nothing
  // written. Returns false when the key is missing, writing nothing. The default reads the value
  // with get_into() into a temporary buffer and copies it; stores that can place the bytes
  // directly (no intermediate buffer) override it.
  virtual Result<bool> get_scatter(std::string_view key, std::span<const MutableByteView> pieces);

  // Reads the whole value at `key` into the front of `pieces` (in order; pieces must not be
  // null) when it fits in their total. Returns nullopt when the key is missing, otherwise the
  // value's size. A value larger than the pieces is not read: nothing is written and its size is
  // returned, so the caller can fetch it another way. Bytes of the pieces past the value are left
  // as they were. The default reads the value with get_into() into a temporary buffer; stores
  // that can place the bytes directly override it.
  virtual Result<std::optional<uint64_t>> get_within(std::string_view key,
                                                     std::span<const MutableByteView> pieces);

  // Convenience over get_into(): nullopt when the key is missing.
  Result<std::optional<Bytes>> get(std::string_view key, ByteRange range = ByteRange::Whole());

  // Reads several ranges (keys may repeat). Element i is nullopt when key i is missing.
  // The default issues get_into() for each; stores may coalesce.
  virtual Result<std::vector<std::optional<Bytes>>> get_ranges(
      const std::vector<KeyRange>& requests);

  // Replaces (or creates) the value at `key`.
  virtual Status set(std::string_view key, ByteView value) = 0;

  // set() of the concatenation of `pieces`, with the same atomicity. The default concatenates
  // into a temporary buffer; stores that can take the pieces directly override it.
  virtual Status set_gather(std::string_view key, std::span<const ByteView> pieces);

  // Overwrites value.size() bytes at `offset` inside the existing value at `key`. A missing key
  // is FailedPrecondition naming it; offset + value.size() past the value's end is
  // InvalidArgument. Stores without the set_range capability return Unsupported. Not atomic:
  // a crash part-way may leave some of the new bytes written.
  virtual Status set_range(std::string_view key, uint64_t offset, ByteView value);

  // Removes the value at `key`; a missing key is not an error.
  virtual Status erase(std::string_view key) = 0;

  // Removes every key starting with `prefix` ("" or ending with "/").
  virtual Status erase_prefix(std::string_view prefix) = 0;

  // All keys, sorted.
  virtual Result<std::vector<std::string>> list() { return list_prefix(""); }
  // Keys starting with `prefix`, sorted.
  virtual Result<std::vector<std::string>> list_prefix(std::string_view prefix) = 0;
  // Keys and child prefixes directly under `prefix`, each sorted. Entries are full keys
  // (they include `prefix`).
  virtual Result<DirListing> list_dir(std::string_view prefix) = 0;

  virtual Result<bool> exists(std::string_view key);
  // Size in bytes of the value at `key`, or nullopt when missing.
  virtual Result<std::optional<uint64_t>> size(std::string_view key) = 0;

  // A short human-readable description ("memory", "file:///path").
  virtual std::string description() const = 0;
};

// Validates a store key (see the header comment). Returns InvalidArgument naming the key.
Status ValidateKey(std::string_view key);
// Validates a prefix: "" or a valid key followed by "/".
Status ValidatePrefix(std::string_view prefix);

}  // namespace zarrpp
