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
// Not a reader-writer lock: with dozens of threads writing at once, glibc 2.36's
// pthread_rwlock_wrlock spins for hundreds of milliseconds.
//
// Ownership: the store owns copies of every value; set() copies the caller's bytes and get()
// returns a copy. A range read copies only the bytes of that range.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zarrpp/store.h"

namespace zarrpp {

class MemoryStore : public Store {
 public:
  static std::shared_ptr<MemoryStore> Create();

  // readable, writable, erasable, listable, partial_reads, set_range and atomic_set all true.
  StoreCapabilities capabilities() const override;

  Result<bool> get_into(std::string_view key, ByteRange range, Bytes& out) override;
  // Copies the value straight into the pieces (one copy, no intermediate buffer).
  Result<bool> get_scatter(std::string_view key, std::span<const MutableByteView> pieces) override;
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
  std::string description() const override { return "memory"; }

 protected:
  MemoryStore() = default;

 private:
  using Value = std::shared_ptr<Bytes>;
  Value Find(std::string_view key) const;  // null when absent
  Status Replace(std::string_view key, Value fresh);

  mutable std::mutex mu_;
  std::map<std::string, Value, std::less<>> values_;  // guarded by mu_
};

}  // namespace zarrpp
