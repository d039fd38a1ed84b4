// src/pipeline/chunk_cache_core.h - the entries of a ChunkCache (and of a CachingStore): values
// keyed by (store id, store key, part), least recently used first out, bounded in bytes, with the
// invalidation tickets that keep a read racing a write from putting back the old value.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "zarrpp/bytes.h"
#include "zarrpp/chunk_cache.h"
#include "zarrpp/store.h"

namespace zarrpp::internal {

// One cached value: the bytes (shared, never modified once cached) and the generation of the
// stored value they came from. Null bytes: the value was absent.
struct CachedValue {
  std::shared_ptr<const Bytes> data;
  Generation generation;
};

class ChunkCacheCore {
 public:
  // The part number of an entry that holds a whole value (not an inner chunk).
  static constexpr uint64_t kWhole = ~uint64_t{0};

  explicit ChunkCacheCore(const ChunkCacheOptions& options) : options_(options) {}

  uint64_t capacity() const { return options_.capacity_bytes; }
  bool revalidate() const { return options_.revalidate; }
  // Whether a value of `bytes` decoded bytes can ever be held.
  bool Fits(uint64_t bytes) const {
    return bytes <= options_.capacity_bytes &&
           options_.capacity_bytes - bytes >= ChunkCache::kEntryOverheadBytes;
  }

  // The id naming `store` in keys: the same for every call with the same live store object; a
  // new one for a new object, even at the address of a destroyed one (whose entries go).
  uint64_t StoreId(const std::shared_ptr<Store>& store);

  // Marks the entry most recently used and returns its bytes in `data` (null: the value was
  // absent) and, when `generation` is not null, its generation there; false when not cached.
  bool Lookup(uint64_t store, std::string_view key, uint64_t part,
              std::shared_ptr<const Bytes>* data, Generation* generation = nullptr);
  // Calls `use(value)` with the entries' mutex held when cached (marking the entry most recently
  // used), for copies small enough that taking a reference would cost more; `use` must not call
  // back into the cache nor keep references past the call. False when not cached.
  template <typename Use>
  bool Visit(uint64_t store, std::string_view key, uint64_t part, Use&& use) {
    {
      std::lock_guard<std::mutex> g(mu_);
      Entry* e = FindLocked(store, key, part);
      if (e != nullptr) {
        use(static_cast<const CachedValue&>(e->value));
        hits_.fetch_add(1, std::memory_order_relaxed);
        return true;
      }
    }
    misses_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  // Taken before reading `key` from the store; Insert keeps the value only if no invalidation
  // of `key` happened since.
  uint64_t Ticket(uint64_t store, std::string_view key) const;
  // Keeps `value` (`bytes` decoded bytes) unless `key` was invalidated since `ticket` or it does
  // not fit; evicts least recently used entries to make room. Entries of other parts of `key`
  // whose generation is known and differs from value.generation are dropped (stale).
  bool Insert(uint64_t store, std::string_view key, uint64_t part, CachedValue value,
              uint64_t bytes, uint64_t ticket);
  // Drops every entry of `key` (every part) and advances its ticket.
  void Invalidate(uint64_t store, std::string_view key);
  // Drops every entry of `store` whose key starts with `prefix` and advances every ticket.
  void InvalidatePrefix(uint64_t store, std::string_view prefix);
  // Drops the entries of `key` whose generation is not `current` (a revalidation failed).
  void DropStale(uint64_t store, std::string_view key, const Generation& current);
  void Clear();

  ChunkCacheStats Stats() const;
  void ResetStats();
  // Counts a value read and not kept.
  void CountNotCached() { not_cached_.fetch_add(1, std::memory_order_relaxed); }

 private:
  struct GroupKey {
    uint64_t store;
    std::string key;
  };
  struct GroupKeyView {
    uint64_t store;
    std::string_view key;
  };
  struct GroupHash {
    using is_transparent = void;
    size_t operator()(const GroupKeyView& k) const {
      return std::hash<std::string_view>()(k.key) ^ (k.store * 0x9E3779B97F4A7C15ull);
    }
    size_t operator()(const GroupKey& k) const { return (*this)(GroupKeyView{k.store, k.key}); }
  };
  struct GroupEq {
    using is_transparent = void;
    static GroupKeyView V(const GroupKey& k) { return {k.store, k.key}; }
    static GroupKeyView V(const GroupKeyView& k) { return k; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return V(a).store == V(b).store && V(a).key == V(b).key;
    }
  };
  struct Entry;
  using Lru = std::list<Entry>;
  // The entries of one key: the whole value, or parts (inner chunks) by number.
  struct Group {
    std::optional<Lru::iterator> whole;
    std::unordered_map<uint64_t, Lru::iterator> parts;
    bool empty() const { return !whole && parts.empty(); }
    template <typename F>
    void ForEach(F&& f) const {
      if (whole) f(*whole);
      for (const auto& [p, e] : parts) f(e);
    }
  };
  using Groups = std::unordered_map<GroupKey, Group, GroupHash, GroupEq>;
  struct Entry {
    Groups::value_type* group;
    uint64_t part;
    CachedValue value;
    uint64_t bytes;  // charged, overhead included
  };
  static constexpr size_t kStripes = 64;
  static size_t StripeOf(uint64_t store, std::string_view key) {
    return GroupHash()(GroupKeyView{store, key}) % kStripes;
  }
  // Removes `it` (mu_ held); the group goes when it empties.
  void RemoveLocked(Lru::iterator it);
  // The entry, marked most recently used; null when absent (mu_ held).
  Entry* FindLocked(uint64_t store, std::string_view key, uint64_t part);

  const ChunkCacheOptions options_;
  mutable std::mutex mu_;
  Lru lru_;  // front: most recently used
  Groups groups_;
  uint64_t bytes_ = 0;
  // Invalidation counts per stripe of keys (written under mu_, read without it by Ticket).
  std::array<std::atomic<uint64_t>, kStripes> epochs_{};
  struct StoreSlot {
    std::weak_ptr<Store> store;
    uint64_t id;
  };
  std::mutex stores_mu_;
  std::unordered_map<const Store*, StoreSlot> stores_;
  uint64_t next_store_id_ = 1;
  // Event counters; hits and misses are counted without mu_.
  std::atomic<uint64_t> hits_{0}, misses_{0}, insertions_{0}, evictions_{0}, invalidations_{0},
      stale_{0}, not_cached_{0};
};

}  // namespace zarrpp::internal
