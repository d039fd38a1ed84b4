// zarrpp/chunk_cache.h - a cache of decoded chunks, bounded in bytes, shared by Array handles.
//
// A ChunkCache is opt-in: give the same object (ArrayOptions::chunk_cache) to every handle that
// should share it; one cache serves any number of arrays, handles and stores. Reads of a handle
// with a cache copy the elements they need out of the cached decoded chunk, and fetch and decode
// only the chunks that are not cached (then keep them), so repeated small reads of the same
// chunks cost a copy. The least recently used entries go first when the bytes held would pass the
// capacity. A chunk whose decoded size exceeds the capacity is never cached: handles of such
// arrays read as if they had no cache.
//
// What is cached: for an array whose codec chain is exactly [sharding_indexed], the inner chunks
// (the unit a small read decodes, so a point read keeps one inner chunk, not a shard); for every
// other array, the chunks of its chunk grid. A missing chunk is cached as "fill value" (no
// buffer). Entries are keyed by (store object, store key of the chunk or shard, inner chunk
// index); the store key holds the array's path. Variable-size data types (string, bytes) are not
// cached.
//
// What it sees (spec/caches.md has the table):
//  - Every write through a handle that shares the cache, by any path (Write, Fill, WriteChunk,
//    WriteChunkEncoded, Append, Resize's erasures, sharded partial writes, their asynchronous
//    forms): the handle's store operations on a key drop every entry of that key (all inner
//    chunks of a shard) when the operation completes, before the call returns; a concurrent read
//    that fetched the old value before that moment does not put it back (it sees that the key
//    was invalidated since it started). Creating an array (Array::Create, Attach) drops every
//    entry under its path.
//  - Writes through Array::store() of such a handle (it returns the store wrapped so that its
//    writes invalidate too).
// What it does not see: writes by other processes, by handles without this cache, or straight
// through the store object the handle was opened on. Reads may return the cached values of
// such chunks until they are evicted or revalidated. With ChunkCacheOptions::revalidate every
// cached entry is checked against the store before use: one Store::generation() call per chunk
// or shard a read touches (a stat for LocalStore, a HEAD request for S3/HTTP, a map lookup for
// MemoryStore); a changed generation drops the entry and the chunk is read again. On a store
// without generations a revalidating cache never serves an entry (every read is a miss).
// Entries remember the generation of the value they came from, and a read that fetches another
// generation of a shard drops that shard's entries of other generations.
//
// Thread safety: all members are safe for concurrent calls; one mutex guards the entries (held
// only for the hash lookup and list update, never across a copy, store call or decode). An
// entry's buffer is shared and immutable: a reader copies out of it while another thread evicts
// it, so memory held may briefly exceed the capacity by the entries readers are copying from.
// Ownership: handles share ownership of the cache (std::shared_ptr).
#pragma once

#include <cstdint>
#include <memory>

namespace zarrpp {

namespace internal {
class ChunkCacheCore;  // src/pipeline/chunk_cache_core.h
}

struct ChunkCacheOptions {
  // Bytes of cached entries (decoded bytes plus a fixed charge per entry for its key and
  // bookkeeping, kEntryOverheadBytes) never exceed this. 0: nothing is ever cached.
  uint64_t capacity_bytes = 0;
  // Check each entry's generation against the store before serving it (see the header comment
  // for the cost). Default false: entries are trusted until a write through a sharing handle
  // drops them.
  bool revalidate = false;
};

// Counters since the cache was made (or since ResetStats for the event counters).
struct ChunkCacheStats {
  uint64_t hits = 0;           // lookups served from the cache
  uint64_t misses = 0;         // lookups that had to read the store
  uint64_t insertions = 0;     // entries added
  uint64_t evictions = 0;      // entries removed to stay within the capacity
  uint64_t invalidations = 0;  // entries removed by writes (or array creation) through handles
  uint64_t stale = 0;          // entries removed because the store had another generation
  uint64_t not_cached = 0;     // values read but not kept: too large, or a write raced the read
  uint64_t entries = 0;        // entries held now
  uint64_t bytes = 0;          // bytes held now (never above capacity)
  uint64_t capacity = 0;
};

class ChunkCache {
 public:
  // Charged per entry on top of its decoded bytes.
  static constexpr uint64_t kEntryOverheadBytes = 128;

  static std::shared_ptr<ChunkCache> Make(const ChunkCacheOptions& options);
  static std::shared_ptr<ChunkCache> Make(uint64_t capacity_bytes) {
    ChunkCacheOptions o;
    o.capacity_bytes = capacity_bytes;
    return Make(o);
  }

  uint64_t capacity_bytes() const;
  bool revalidate() const;
  ChunkCacheStats stats() const;
  void ResetStats();
  // Drops every entry.
  void Clear();

  // The entries and their bookkeeping; used by the library (Array, CachingStore).
  const std::shared_ptr<internal::ChunkCacheCore>& core() const { return core_; }

 private:
  explicit ChunkCache(std::shared_ptr<internal::ChunkCacheCore> core) : core_(std::move(core)) {}
  friend class internal::ChunkCacheCore;
  std::shared_ptr<internal::ChunkCacheCore> core_;
};

}  // namespace zarrpp
