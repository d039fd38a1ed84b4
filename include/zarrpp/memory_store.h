// zarrpp/memory_store.h - a Store that keeps every value in process memory.
//
// MemoryStore is a sorted map from key to value. It is meant for tests, scratch arrays and as a
// cache target; nothing survives the process.
//
// Thread safety: safe for concurrent calls. One mutex guards the map and is held only for a
// lookup or a pointer swap: values are reference-counted buffers, so a reader takes a reference
// under the lock and copies outside it, and a writer copies the new value before it locks. A
// whole-value set() is atomic (readers see the old or the new value); set_range() is atomic too
// (stronger than the Store contract requires): it patches in place only when no reader holds the
// value, and otherwise patches a copy and swaps it in.
//
// Versions, conditions and locks: every write (set, set_gather, set_range, set_if, patch_if) gives
// the value a new generation drawn from a store-wide counter, so a generation is never reused,
// not even after an erase and a re-create. Conditional writes check their condition and write
// under the one mutex, so they are atomic with respect to every other operation. open_reader()
// holds a reference to the value's buffer: a snapshot that later writes never touch (they
// copy-swap), so its reads always succeed. lock() takes an exact per-key lock kept in this object:
// every handle sharing this MemoryStore object is excluded, and while a key is locked every
// whole-value write of that key (set, set_gather, set_if, erase, erase_if) through this object
// waits, except writes passing the lock as WriteConditions::held. Patches (set_range, patch_if)
// and erase_prefix do not wait (condition patches on a generation); readers never wait. A KeyLock
// must be released before its store is destroyed. Not a reader-writer lock: with dozens of threads
// writing at once, glibc 2.36's pthread_rwlock_wrlock spins for hundreds of milliseconds.
//
// Ownership: the store owns copies of every value; set() copies the caller's bytes and get()
// returns a copy. A range read copies only the bytes of that range.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "zarrpp/store.h"

namespace zarrpp {

class MemoryStore : public Store {
 public:
  // A new, empty store. Creation cannot fail, so the constructor is public as well:
  // std::make_shared<MemoryStore>() is the same thing.
  static std::shared_ptr<MemoryStore> Create();
  MemoryStore() = default;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  // readable, writable, erasable, listable, partial_reads, set_range, atomic_set, generations,
  // conditional_writes and key_locks all true.
  StoreCapabilities capabilities() const override;

  Result<bool> get_into(std::string_view key, ByteRange range, Bytes& out) override;
  // Copies the value straight into the pieces (one copy, no intermediate buffer).
  Result<bool> get_scatter(std::string_view key, std::span<const MutableByteView> pieces) override;
  Result<std::optional<uint64_t>> get_at(std::string_view key, uint64_t offset,
                                         MutableByteView dest) override;
  Result<std::optional<uint64_t>> get_within(std::string_view key,
                                             std::span<const MutableByteView> pieces) override;
  Status set(std::string_view key, ByteView value) override;
  // Builds the new value straight from the pieces (one copy, no intermediate buffer).
  Status set_gather(std::string_view key, std::span<const ByteView> pieces) override;
  Status set_range(std::string_view key, uint64_t offset, ByteView value) override;
  Status erase(std::string_view key) override;
  Status erase_prefix(std::string_view prefix) override;
  Result<std::vector<std::string>> list_prefix(std::string_view prefix) override;
  Result<DirListing> list_dir(std::string_view prefix) override;
  Result<std::optional<uint64_t>> size(std::string_view key) override;

  Result<ReadResult> get_if(std::string_view key, ByteRange range, Bytes& out,
                            const Generation* if_equal = nullptr) override;
  Result<Generation> generation(std::string_view key) override;
  // A snapshot: reads of the reader never fail and never see later writes.
  Result<std::unique_ptr<ValueReader>> open_reader(std::string_view key) override;
  Result<std::optional<Generation>> set_if(std::string_view key, std::span<const ByteView> pieces,
                                           const WriteConditions& conditions) override;
  Result<bool> erase_if(std::string_view key, const WriteConditions& conditions) override;
  // Atomic: readers see all of the writes or none; writes may extend the value.
  Result<std::optional<Generation>> patch_if(std::string_view key,
                                             std::span<const RangeWrite> writes,
                                             const WriteConditions& conditions) override;
  Result<std::unique_ptr<KeyLock>> lock(std::string_view key) override;

  std::string description() const override { return "memory"; }

 private:
  class Lock;
  using Value = std::shared_ptr<Bytes>;
  struct Entry {
    Value bytes;
    uint64_t generation = 0;
  };
  using Map = std::map<std::string, Entry, std::less<>>;

  Value Find(std::string_view key) const;  // null when absent
  // Writes `fresh` under `conditions`; nullopt when the condition did not hold.
  Result<std::optional<Generation>> Replace(std::string_view key, Value fresh,
                                            const WriteConditions& conditions);
  // Checks that `held` (when not null) is a lock of `key` taken from this store.
  Status CheckHeld(std::string_view key, const KeyLock* held) const;
  // Waits (on `lock`, which holds mu_) until no lock other than `held` holds `key`.
  void AwaitUnlocked(std::unique_lock<std::mutex>& lock, std::string_view key, const KeyLock* held);
  void Unlock(const std::string& key);
  // patch_if(), or set_range() when `may_extend` is false (every write inside the value).
  Result<std::optional<Generation>> Patch(std::string_view key, std::span<const RangeWrite> writes,
                                          const WriteConditions& conditions, bool may_extend);

  mutable std::mutex mu_;
  std::condition_variable unlocked_;           // signalled when a key lock is released
  Map values_;                                 // guarded by mu_
  std::set<std::string, std::less<>> locked_;  // keys held by lock(); guarded by mu_
  uint64_t last_generation_ = 0;               // guarded by mu_
};

}  // namespace zarrpp
