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
// Versions and coordination (spec/stores.md has the table per store): every value has a
// Generation, a version token that changes whenever the value does. Reads can return it
// (get_if, open_reader) and be conditioned on it; writes can be conditioned on it (set_if,
// erase_if, patch_if: create-if-absent, replace-if-generation-equal), which object stores map to
// If-None-Match / If-Match. Stores that can also take an exclusive advisory lock per key (lock())
// say so in capabilities().key_locks; LocalStore's locks hold across processes.
//
// Completion-based operations (get_async, get_within_async, set_async, erase_async): the same
// operations, started and finished later with a callback, so that a caller can keep many requests
// in flight without a thread waiting on each. A store whose capabilities().async_io is true runs
// them on its own thread(s) (S3Store and HttpStore on their libcurl event loop, LatencyStore on its
// timer thread); every other store runs the synchronous operation on the calling thread and calls
// the callback before returning. The contract, for every store:
//   - Exactly one call of `done` per operation, also on failure and at shutdown.
//   - The key is copied before the call returns. The destination Bytes of a read and the pieces
//     of a write are borrowed: they stay alive and untouched until `done` has been called.
//   - `done` may run on the calling thread (before the call returns) or on the store's thread.
//     It must not block, nor call a synchronous operation of the same store (on an event loop it
//     would wait on itself), nor drop the last reference to the store. It may start further
//     asynchronous operations; heavy work belongs on another executor.
//   - Destroying a store with operations pending is safe: the destructor completes every one
//     (those not yet finished with IOError naming the key and "cancelled") before it returns.
//     A cancelled write may or may not have taken effect.
//
// Making a store: every store is made by a static factory of its class, never by naming an
// implementation type. `Create` makes something new (MemoryStore::Create, LocalStore::Create: a
// new directory, or an existing one), `Open` attaches to something that exists and never creates
// it (LocalStore::Open, S3Store::Open/OpenUrl, HttpStore::Open/OpenUrl; OpenStore in
// zarrpp/open_store.h picks one from a URL). The return type says whether it can fail: a factory
// that touches the file system or the network or validates options returns
// Result<std::shared_ptr<T>>; one that cannot fail (MemoryStore::Create, and the wrappers'
// CountingStore::Create and LatencyStore::Create) returns std::shared_ptr<T>. Stores whose creation
// cannot fail also have a public constructor, so std::make_shared<T>(...) works and means the same;
// the others have none (LocalStore's is private; S3Store and HttpStore are interfaces over a
// hidden implementation), so a Status is never lost to a constructor.
//
// Ownership: stores are shared through std::shared_ptr; values returned are copies owned by
// the caller.
#pragma once

#include <cstdint>
#include <functional>
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
  // get_if()/open_reader() return generations that change whenever the value changes, and
  // conditions on them are honoured by reads.
  bool generations = false;
  // set_if()/erase_if()/patch_if() honour WriteConditions::if_equal atomically.
  bool conditional_writes = false;
  // lock() takes an exclusive advisory lock per key (see lock()).
  bool key_locks = false;
  // get_async()/set_async()/erase_async() complete on the store's own thread: no caller thread
  // waits while they are in flight. false: they run the synchronous operation on the caller.
  bool async_io = false;
  // Readers from open_reader() hold their version in this process's memory and expose it in
  // place (ValueReader::memory()), so a caller may decode or copy from the store's own bytes
  // instead of a copy of them. false: memory() is nullopt (read through read()).
  bool memory_readers = false;
};

// Completions of the asynchronous operations (see the header comment for the contract).
using ReadCallback = std::function<void(Result<bool> found)>;
using WriteCallback = std::function<void(Status status)>;
using SizeCallback = std::function<void(Result<std::optional<uint64_t>> size)>;

// A version token of one stored value. Opaque: compared only for equality, and only between
// generations that came from the same store. Three kinds:
//   Unknown()  - no version is known (a store without generations); a condition on it never holds.
//   Absent()   - the key holds no value; as a write condition: create only if absent.
//   a token    - one version of a present value.
class Generation {
 public:
  Generation() = default;  // Unknown
  static Generation Unknown() { return Generation(); }
  static Generation Absent() { return Generation(Kind::kAbsent, {}); }
  static Generation Of(std::string token) { return Generation(Kind::kValue, std::move(token)); }

  bool unknown() const { return kind_ == Kind::kUnknown; }
  bool absent() const { return kind_ == Kind::kAbsent; }
  bool present() const { return kind_ == Kind::kValue; }
  const std::string& token() const { return token_; }
  // "unknown", "absent", or the token.
  std::string ToString() const;

  // Unknown never equals anything, itself included.
  friend bool operator==(const Generation& a, const Generation& b) {
    return a.kind_ != Kind::kUnknown && a.kind_ == b.kind_ && a.token_ == b.token_;
  }

 private:
  enum class Kind { kUnknown, kAbsent, kValue };
  Generation(Kind kind, std::string token) : kind_(kind), token_(std::move(token)) {}
  Kind kind_ = Kind::kUnknown;
  std::string token_;
};

// The outcome of a read that reports the value's generation.
struct ReadResult {
  bool found = false;         // the key held a value; `out` holds the bytes read
  bool condition_met = true;  // false: the value's generation differed from if_equal; nothing read
  Generation generation;      // of the value read (Absent when not found)
};

// Several range reads of one version of one value (Store::open_reader). Reads return the bytes
// of the version opened or report that it is gone; they never mix two versions.
// Not safe for concurrent calls; one reader per thread.
class ValueReader {
 public:
  virtual ~ValueReader() = default;
  // Size and generation of the version opened.
  virtual uint64_t size() const = 0;
  virtual const Generation& generation() const = 0;
  // Reads `range` of the version opened into `out`. Returns false (nothing read) when that version
  // is no longer readable (an object store whose value changed since): open a reader again.
  virtual Result<bool> read(ByteRange range, Bytes& out) = 0;
  // The whole version opened, in place, when the store holds it in this process's memory
  // (StoreCapabilities::memory_readers): the bytes stay valid and unchanged while this reader
  // lives, whatever is written to the key meanwhile. nullopt: read it through read().
  virtual std::optional<ByteView> memory() const { return std::nullopt; }
};

// An exclusive advisory lock on one key of one store (Store::lock()); released when destroyed.
class KeyLock {
 public:
  virtual ~KeyLock() = default;
  virtual const std::string& key() const = 0;
};

// Conditions on a write.
struct WriteConditions {
  // nullopt: unconditional. Absent(): write only if the key holds no value. A token: only if the
  // key's current generation equals it. Unknown(): never holds.
  std::optional<Generation> if_equal;
  // The caller holds this key's lock, taken from this store's lock(); the store does not take it
  // again for this write (it would wait on the caller). Null: the store locks what it needs.
  const KeyLock* held = nullptr;
};

// One in-place write of patch_if().
struct RangeWrite {
  uint64_t offset = 0;
  ByteView bytes;
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

  // Reads dest.size() bytes at `offset` of the value at `key` into `dest` and returns the value's
  // size; nullopt when the key is missing. When the value ends before offset + dest.size(), its
  // size is returned, so that a caller expecting a value of a known size tells a short or long
  // value from a read (a partial chunk read). `dest` holds the value's bytes only when the range
  // lies within the returned size; otherwise its bytes are unspecified (a store may have read
  // whatever the file there held). The bytes and the size describe one version of the value. The
  // default reads through open_reader(); stores that can do it in one operation override it.
  virtual Result<std::optional<uint64_t>> get_at(std::string_view key, uint64_t offset,
                                                 MutableByteView dest);

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

  // --- Versions, conditions and locks -----------------------------------------------------------

  // get_into() that also returns the generation of the value read; when `if_equal` is given and
  // the current generation differs, reads nothing and returns condition_met = false. The default
  // (a store without generations) reads with get_into() and returns Unknown generations; with a
  // condition it reads nothing and reports condition_met = false.
  virtual Result<ReadResult> get_if(std::string_view key, ByteRange range, Bytes& out,
                                    const Generation* if_equal = nullptr);

  // Current generation of the value at `key` (Absent when missing; Unknown for a store without
  // generations).
  virtual Result<Generation> generation(std::string_view key);

  // Opens one version of the value at `key` for several range reads (null when missing). The
  // default reads the whole value once when the store has no generations, and otherwise reads
  // ranges with get_if() conditioned on the generation first seen.
  virtual Result<std::unique_ptr<ValueReader>> open_reader(std::string_view key);

  // set_gather() under `conditions`. Returns the new generation (Unknown for a store without
  // generations), or nullopt when the condition did not hold (nothing written). The default
  // supports only unconditional writes (Unsupported otherwise).
  virtual Result<std::optional<Generation>> set_if(std::string_view key,
                                                   std::span<const ByteView> pieces,
                                                   const WriteConditions& conditions);

  // erase() under `conditions`: true when erased or already absent as required, false when the
  // condition did not hold. The default supports only unconditional erases.
  virtual Result<bool> erase_if(std::string_view key, const WriteConditions& conditions);

  // Several in-place writes into the existing value at `key` (as set_range()), applied in order
  // as one change: a concurrent reader of this store sees all of them or none, and the generation
  // changes once. A write may also extend the value: each must start at or before the value's end
  // as left by the writes before it (a write that would leave a hole is InvalidArgument, and
  // nothing is written); the value's new size is the furthest end written. A missing key is
  // FailedPrecondition. Returns the new generation, or nullopt when the condition did not hold.
  // Needs capabilities().set_range, and stores with it override this; the default applies
  // set_range() one by one, only unconditionally and only inside the value (no atomicity for
  // readers). Durability: not atomic across a crash (the writes land in order; a crash part-way
  // may leave the first ones written, and an extension written before its later writes).
  virtual Result<std::optional<Generation>> patch_if(std::string_view key,
                                                     std::span<const RangeWrite> writes,
                                                     const WriteConditions& conditions);

  // Takes the exclusive advisory lock of `key`, waiting while another holder has it. Locks
  // coordinate writers; they never stop a reader, and a key need not hold a value to be locked.
  // In every store with key_locks, whole-value writes of a locked key (set, set_gather, set_if,
  // erase, erase_if) wait for the holder unless they pass its lock as WriteConditions::held;
  // patches (set_range, patch_if) and erase_prefix do not wait (condition patches on a
  // generation). Which holders are excluded (threads of this object, other objects on the same
  // data, other processes) is the store's contract (capabilities().key_locks; spec/stores.md).
  // A thread must not take a second lock on a key it holds, nor write the key without passing
  // the lock it holds (either would wait on itself). The default is Unsupported.
  virtual Result<std::unique_ptr<KeyLock>> lock(std::string_view key);

  // --- Completion-based operations (header comment: buffers, callback thread, shutdown) ----------

  // get_into() started now and finished by calling `done` with what get_into() returns; `out`
  // receives the bytes. The default runs get_into() on the calling thread.
  virtual void get_async(std::string_view key, ByteRange range, Bytes& out, ReadCallback done);

  // get_within() started now and finished by calling `done` with what get_within() returns: the
  // value lands in the front of `pieces` when it fits (a larger one is not read; its size is
  // returned). The span and the memory its pieces point to are borrowed until `done` has been
  // called. S3Store and HttpStore place the bytes as they arrive, with no buffer of their own.
  // The default runs get_within() on the calling thread for a store without async_io; with
  // async_io it reads the value with get_async() into a buffer of its own and copies it into the
  // pieces.
  virtual void get_within_async(std::string_view key, std::span<const MutableByteView> pieces,
                                SizeCallback done);

  // set_gather() (unconditional) started now; `done` receives its Status. The default runs
  // set_gather() on the calling thread.
  virtual void set_async(std::string_view key, std::span<const ByteView> pieces,
                         WriteCallback done);

  // erase() started now; `done` receives its Status. The default runs erase() on the calling
  // thread.
  virtual void erase_async(std::string_view key, WriteCallback done);

  // A short human-readable description ("memory", "file:///path").
  virtual std::string description() const = 0;
};

// Validates a store key (see the header comment). Returns InvalidArgument naming the key.
Status ValidateKey(std::string_view key);
// Validates a prefix: "" or a valid key followed by "/".
Status ValidatePrefix(std::string_view prefix);

}  // namespace zarrpp
