// zarrpp/caching_store.h - a store wrapper that keeps whole values in memory, bounded in bytes.
//
// CachingStore serves reads of values it holds from memory, so repeated reads of the same
// objects on a remote store (S3, HTTP) cost a copy instead of a request. A whole-value read of a
// value it does not hold reads it from the inner store and keeps it when it fits (a missing key
// is kept as "absent"). A ranged read is served from a held value; of a value not held it is
// forwarded as it is and nothing is kept, so a caller reading ranges of large values (shard
// indexes, inner chunks) never moves more bytes than it asked for. Values larger than the
// capacity are never kept. The least recently used values go first.
//
// Coherence (spec/caches.md): every write through the wrapper (set, set_gather, set_range,
// erase, erase_prefix, set_if, erase_if, patch_if and the asynchronous forms) drops the value's
// entry once the inner operation completes, whatever its outcome, before returning; a read
// racing that write does not put the old value back. Writes to the inner store by anything else
// (another process, another wrapper, the inner store object directly) are not seen: the old
// value is served until it is evicted, unless `revalidate` is set, which checks the inner
// store's generation() of the value before each served read (one small request each: a stat or
// a HEAD) and reads the value again when it changed; on a store without generations a
// revalidating CachingStore holds nothing and forwards every read. generation(), get_if() with
// a condition, exists() and size() of values not held, list*, and lock() always ask the inner
// store; get_if() without a condition, or with one equal to the held value's generation, is
// served from memory with the held value's generation.
//
// Thread safety: safe for concurrent calls (the entries are guarded by one mutex, held only for
// lookups and updates). Ownership: shares ownership of the inner store.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "zarrpp/chunk_cache.h"
#include "zarrpp/store.h"

namespace zarrpp {

namespace internal {
class ChunkCacheCore;
}

class CachingStore : public Store {
 public:
  // options.capacity_bytes bounds the bytes held (values plus
  // ChunkCache::kEntryOverheadBytes each); options.revalidate as described above.
  CachingStore(std::shared_ptr<Store> inner, const ChunkCacheOptions& options);
  CachingStore(const CachingStore&) = delete;
  CachingStore& operator=(const CachingStore&) = delete;

  // Hits, misses, evictions, invalidations and the bytes held.
  ChunkCacheStats stats() const;
  void ResetStats();
  // Drops every value held.
  void Clear();

  StoreCapabilities capabilities() const override {
    StoreCapabilities c = inner_->capabilities();
    c.memory_readers = false;  // reads go through the cache
    return c;
  }
  Result<bool> get_into(std::string_view key, ByteRange range, Bytes& out) override;
  Status set(std::string_view key, ByteView value) override;
  Status set_gather(std::string_view key, std::span<const ByteView> pieces) override;
  Status set_range(std::string_view key, uint64_t offset, ByteView value) override;
  Status erase(std::string_view key) override;
  Status erase_prefix(std::string_view prefix) override;
  Result<std::vector<std::string>> list() override;
  Result<std::vector<std::string>> list_prefix(std::string_view prefix) override;
  Result<DirListing> list_dir(std::string_view prefix) override;
  Result<bool> exists(std::string_view key) override;
  Result<std::optional<uint64_t>> size(std::string_view key) override;
  Result<ReadResult> get_if(std::string_view key, ByteRange range, Bytes& out,
                            const Generation* if_equal = nullptr) override;
  Result<Generation> generation(std::string_view key) override;
  Result<std::optional<Generation>> set_if(std::string_view key, std::span<const ByteView> pieces,
                                           const WriteConditions& conditions) override;
  Result<bool> erase_if(std::string_view key, const WriteConditions& conditions) override;
  Result<std::optional<Generation>> patch_if(std::string_view key,
                                             std::span<const RangeWrite> writes,
                                             const WriteConditions& conditions) override;
  // The inner store's lock; pass it as WriteConditions::held to writes through either store.
  Result<std::unique_ptr<KeyLock>> lock(std::string_view key) override;
  // A held value completes at once on the calling thread; otherwise the inner store's operation
  // (a whole-value read is kept when it completes).
  void get_async(std::string_view key, ByteRange range, Bytes& out, ReadCallback done) override;
  void set_async(std::string_view key, std::span<const ByteView> pieces,
                 WriteCallback done) override;
  void erase_async(std::string_view key, WriteCallback done) override;
  // "caching(<inner description>)".
  std::string description() const override;

 private:
  // Serves `range` of `key` from memory into `out` when held (and, with revalidate, current);
  // `generation` receives the held value's. nullopt: not held.
  Result<std::optional<bool>> Serve(std::string_view key, ByteRange range, Bytes& out,
                                    Generation* generation);
  // Reads `key` from the inner store under `if_equal`; a whole value read is kept when it fits.
  Result<ReadResult> Fill(std::string_view key, ByteRange range, Bytes& out,
                          const Generation* if_equal);

  const std::shared_ptr<Store> inner_;
  const std::shared_ptr<internal::ChunkCacheCore> core_;
  const bool generations_;  // inner_->capabilities().generations
};

}  // namespace zarrpp
