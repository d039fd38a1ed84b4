// Decoded-chunk cache (ArrayOptions::chunk_cache) and the encoded-value cache (CachingStore):
// hits equal misses, the byte bound, LRU order, invalidation by every write path of handles that
// share the cache, revalidation for writers that do not, concurrency, and sharded arrays.
#include "zarrpp/chunk_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "support/store_conformance.h"
#include "zarrpp/array.h"
#include "zarrpp/caching_store.h"
#include "zarrpp/json.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/store_wrappers.h"

namespace zarrpp {
namespace {

Json Zstd() {
  return {{"name", "zstd"}, {"configuration", {{"level", 1}, {"checksum", false}}}};
}
Json BytesCodec() {
  return {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
}
Json Crc() {
  return {{"name", "crc32c"}};
}
Json Plain() {
  return Json::array({BytesCodec(), Zstd()});
}
Json Sharded(std::vector<uint64_t> inner) {
  return Json::array({{{"name", "sharding_indexed"},
                       {"configuration",
                        {{"chunk_shape", inner},
                         {"codecs", Json::array({BytesCodec(), Zstd()})},
                         {"index_codecs", Json::array({BytesCodec(), Crc()})}}}}});
}

ArrayMetadata Meta(std::vector<uint64_t> shape, std::vector<uint64_t> chunk, Json codecs) {
  ArrayMetadata m;
  m.shape = std::move(shape);
  m.chunk_shape = std::move(chunk);
  m.data_type = DataType(DataTypeId::kUInt32);
  m.fill_value = FillValue::Zero(m.data_type);
  m.codecs = std::move(codecs);
  return m;
}

ArrayOptions WithCache(std::shared_ptr<ChunkCache> cache) {
  ArrayOptions o;
  o.chunk_cache = std::move(cache);
  return o;
}

std::shared_ptr<Array> MustCreate(std::shared_ptr<Store> store, ArrayMetadata m,
                                  ArrayOptions options = {}) {
  CreateOptions create;
  create.overwrite = true;
  auto r = Array::Create(std::move(store), "a", std::move(m), create, options);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : nullptr;
}

std::shared_ptr<Array> MustOpen(std::shared_ptr<Store> store, ArrayOptions options = {}) {
  auto r = Array::Open(std::move(store), "a", options);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : nullptr;
}

// The value of element (r, c) of an array of `cols` columns written as `version`: its position
// and the version, so a stale or misplaced element can never pass as a current one.
uint32_t Value(uint64_t r, uint64_t c, uint64_t cols, uint32_t version) {
  return static_cast<uint32_t>((r * cols + c) * 16 + version);
}

std::vector<uint32_t> Values(const Region& g, uint64_t cols, uint32_t version) {
  std::vector<uint32_t> v;
  v.reserve(g.num_elements());
  for (uint64_t r = 0; r < g.shape[0]; ++r) {
    for (uint64_t c = 0; c < g.shape[1]; ++c) {
      v.push_back(Value(g.origin[0] + r, g.origin[1] + c, cols, version));
    }
  }
  return v;
}

std::vector<uint32_t> MustRead(const Array& a, const Region& g) {
  std::vector<uint32_t> out(g.num_elements());
  Status s = a.Read(g, std::span<uint32_t>(out));
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

void MustWrite(Array& a, const Region& g, uint64_t cols, uint32_t version) {
  const std::vector<uint32_t> v = Values(g, cols, version);
  Status s = a.Write(g, std::span<const uint32_t>(v));
  ASSERT_TRUE(s.ok()) << s;
}

Region Whole(const Array& a) {
  return Region{std::vector<uint64_t>(a.metadata().rank(), 0), a.metadata().shape};
}

constexpr uint64_t kChunkBytes = 8 * 8 * sizeof(uint32_t);
constexpr uint64_t kEntryBytes = kChunkBytes + ChunkCache::kEntryOverheadBytes;

TEST(ChunkCache, HitsReturnTheSameBytesAsMisses) {
  auto store = MemoryStore::Create();
  auto cache = ChunkCache::Make(uint64_t{1} << 20);
  auto w = MustCreate(store, Meta({40, 36}, {8, 8}, Plain()));
  MustWrite(*w, Whole(*w), 36, 1);
  auto a = MustOpen(store, WithCache(cache));
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200; ++i) {
    Region g{{rng() % 40, rng() % 36}, {0, 0}};
    g.shape = {1 + rng() % (40 - g.origin[0]), 1 + rng() % (36 - g.origin[1])};
    ASSERT_EQ(MustRead(*a, g), Values(g, 36, 1)) << g.ToString();
  }
  const ChunkCacheStats s = cache->stats();
  EXPECT_EQ(s.misses, 5u * 5u);  // each chunk read once
  EXPECT_GT(s.hits, 200u);
  EXPECT_EQ(s.entries, 25u);
  EXPECT_EQ(s.bytes, 25 * kEntryBytes);
  // Both pipelines and converting reads take the cache.
  ReadOptions batched;
  batched.pipeline = PipelineKind::kBatched;
  std::vector<uint32_t> out(40 * 36);
  ASSERT_TRUE(a->Read(Whole(*a), std::span<uint32_t>(out), batched).ok());
  EXPECT_EQ(out, Values(Whole(*a), 36, 1));
  std::vector<uint64_t> wide(40 * 36);
  ASSERT_TRUE(a->Read(Whole(*a),
                      MutableByteView(reinterpret_cast<uint8_t*>(wide.data()), wide.size() * 8),
                      DataTypeId::kUInt64)
                  .ok());
  for (size_t i = 0; i < wide.size(); ++i) ASSERT_EQ(wide[i], out[i]);
  EXPECT_EQ(cache->stats().misses, 25u);
}

TEST(ChunkCache, MissingChunksReadAsFillAndAreCachedWithoutBytes) {
  auto store = MemoryStore::Create();
  auto cache = ChunkCache::Make(uint64_t{1} << 20);
  auto a = MustCreate(store, Meta({16, 16}, {8, 8}, Plain()), WithCache(cache));
  EXPECT_EQ(MustRead(*a, Whole(*a)), std::vector<uint32_t>(256, 0));
  EXPECT_EQ(MustRead(*a, Whole(*a)), std::vector<uint32_t>(256, 0));
  EXPECT_EQ(cache->stats().hits, 4u);
  EXPECT_EQ(cache->stats().bytes, 4 * ChunkCache::kEntryOverheadBytes);
  MustWrite(*a, Region{{3, 3}, {2, 2}}, 16, 2);
  std::vector<uint32_t> want(256, 0);
  for (uint64_t r = 3; r < 5; ++r) {
    for (uint64_t c = 3; c < 5; ++c) want[r * 16 + c] = Value(r, c, 16, 2);
  }
  EXPECT_EQ(MustRead(*a, Whole(*a)), want);
}

TEST(ChunkCache, BytesHeldNeverExceedTheCapacity) {
  auto store = MemoryStore::Create();
  const uint64_t capacity = 3 * kEntryBytes + 100;
  auto cache = ChunkCache::Make(capacity);
  auto a = MustCreate(store, Meta({64, 64}, {8, 8}, Plain()), WithCache(cache));
  auto b = MustOpen(store, WithCache(cache));
  MustWrite(*a, Whole(*a), 64, 1);
  std::mt19937_64 rng(11);
  uint32_t version = 1;
  for (int i = 0; i < 300; ++i) {
    Region g{{rng() % 64, rng() % 64}, {0, 0}};
    g.shape = {1 + rng() % std::min<uint64_t>(20, 64 - g.origin[0]),
               1 + rng() % std::min<uint64_t>(20, 64 - g.origin[1])};
    Array& h = (i % 2) ? *a : *b;
    if (i % 5 == 0) {
      // A whole-chunk write keeps every element of the array at one version.
      ++version;
      MustWrite(h, Whole(h), 64, version);
    } else {
      ASSERT_EQ(MustRead(h, g), Values(g, 64, version)) << g.ToString();
    }
    const ChunkCacheStats s = cache->stats();
    ASSERT_LE(s.bytes, capacity);
    ASSERT_LE(s.entries, 3u);
  }
  EXPECT_GT(cache->stats().evictions, 0u);
}

TEST(ChunkCache, EvictsTheLeastRecentlyUsedFirst) {
  auto store = MemoryStore::Create();
  auto cache = ChunkCache::Make(2 * kEntryBytes);
  auto a = MustCreate(store, Meta({8, 24}, {8, 8}, Plain()), WithCache(cache));
  MustWrite(*a, Whole(*a), 24, 1);
  const Region A{{0, 0}, {1, 1}}, B{{0, 8}, {1, 1}}, C{{0, 16}, {1, 1}};
  cache->Clear();
  cache->ResetStats();
  MustRead(*a, A);  // miss
  MustRead(*a, B);  // miss
  MustRead(*a, A);  // hit: A is now the most recent
  MustRead(*a, C);  // miss: evicts B
  EXPECT_EQ(cache->stats().misses, 3u);
  EXPECT_EQ(cache->stats().hits, 1u);
  EXPECT_EQ(cache->stats().evictions, 1u);
  EXPECT_EQ(MustRead(*a, A), Values(A, 24, 1));  // hit
  EXPECT_EQ(cache->stats().hits, 2u);
  EXPECT_EQ(MustRead(*a, B), Values(B, 24, 1));  // miss: B went
  EXPECT_EQ(cache->stats().misses, 4u);
}

TEST(ChunkCache, ChunkLargerThanTheCapacityBypassesTheCache) {
  auto store = MemoryStore::Create();
  auto cache = ChunkCache::Make(kChunkBytes);  // the overhead does not fit
  auto a = MustCreate(store, Meta({16, 16}, {8, 8}, Plain()), WithCache(cache));
  MustWrite(*a, Whole(*a), 16, 1);
  EXPECT_EQ(MustRead(*a, Whole(*a)), Values(Whole(*a), 16, 1));
  MustWrite(*a, Region{{0, 0}, {8, 8}}, 16, 2);
  const Region g{{0, 0}, {8, 8}};
  EXPECT_EQ(MustRead(*a, g), Values(g, 16, 2));
  const ChunkCacheStats s = cache->stats();
  EXPECT_EQ(s.entries, 0u);
  EXPECT_EQ(s.hits + s.misses, 0u);
}

// Every write path of a handle sharing the cache is seen by the next read of another handle.
TEST(ChunkCache, WritesThroughAHandleSharingTheCacheAreSeenAtOnce) {
  auto store = MemoryStore::Create();
  auto cache = ChunkCache::Make(uint64_t{1} << 20);
  auto w = MustCreate(store, Meta({24, 24}, {8, 8}, Plain()), WithCache(cache));
  auto r = MustOpen(store, WithCache(cache));
  MustWrite(*w, Whole(*w), 24, 1);
  std::vector<uint32_t> want = Values(Whole(*r), 24, 1);
  auto check = [&](const char* what) {
    ASSERT_EQ(MustRead(*r, Whole(*r)), want) << what;
    ASSERT_EQ(MustRead(*r, Whole(*r)), want) << what << " (cached)";
  };
  check("initial");
  auto set = [&](const Region& g, uint32_t version) {
    for (uint64_t i = 0; i < g.shape[0]; ++i) {
      for (uint64_t j = 0; j < g.shape[1]; ++j) {
        const uint64_t rr = g.origin[0] + i, cc = g.origin[1] + j;
        want[rr * 24 + cc] = Value(rr, cc, 24, version);
      }
    }
  };
  // Partial write (read-modify-write of two chunks).
  MustWrite(*w, Region{{5, 7}, {2, 3}}, 24, 2);
  set(Region{{5, 7}, {2, 3}}, 2);
  check("partial write");
  // Fill, including the fill value (chunks erased).
  ASSERT_TRUE(w->Fill(Region{{8, 8}, {8, 8}}, uint32_t{0}).ok());
  for (uint64_t i = 8; i < 16; ++i) {
    for (uint64_t j = 8; j < 16; ++j) want[i * 24 + j] = 0;
  }
  check("fill with the fill value");
  ASSERT_TRUE(w->Fill(Region{{0, 16}, {3, 8}}, uint32_t{5}).ok());
  for (uint64_t i = 0; i < 3; ++i) {
    for (uint64_t j = 16; j < 24; ++j) want[i * 24 + j] = 5;
  }
  check("fill");
  // WriteChunk and WriteChunkEncoded.
  {
    const Region g{{16, 0}, {8, 8}};
    const std::vector<uint32_t> v = Values(g, 24, 3);
    ASSERT_TRUE(w->WriteChunk(ChunkLevel::kStored, {2, 0},
                              ByteView(reinterpret_cast<const uint8_t*>(v.data()), kChunkBytes))
                    .ok());
    set(g, 3);
    check("WriteChunk");
    auto enc = w->ReadChunkEncoded(ChunkLevel::kStored, {0, 0});
    ASSERT_TRUE(enc.ok() && enc->has_value());
    ASSERT_TRUE(w->WriteChunkEncoded(ChunkLevel::kStored, {2, 1}, ByteView(**enc)).ok());
    for (uint64_t i = 0; i < 8; ++i) {
      for (uint64_t j = 0; j < 8; ++j) want[(16 + i) * 24 + 8 + j] = want[i * 24 + j];
    }
    check("WriteChunkEncoded");
  }
  // Asynchronous write.
  const std::vector<uint32_t> async_values = Values(Region{{20, 20}, {4, 4}}, 24, 4);
  ASSERT_TRUE(
      w->WriteAsync(Region{{20, 20}, {4, 4}}, std::span<const uint32_t>(async_values)).wait().ok());
  set(Region{{20, 20}, {4, 4}}, 4);
  check("WriteAsync");
  // Resize shrinking (erases and resets what is cut) then growing: the handle reading must
  // follow the shape, and sees fill values where the cut was.
  ASSERT_TRUE(w->Resize({12, 24}).ok());
  ASSERT_TRUE(w->Resize({24, 24}).ok());
  for (uint64_t i = 12; i < 24; ++i) {
    for (uint64_t j = 0; j < 24; ++j) want[i * 24 + j] = 0;
  }
  auto reopened = MustOpen(store, WithCache(cache));
  ASSERT_EQ(MustRead(*reopened, Whole(*reopened)), want) << "resize";
  // Writes straight through store() of a handle with a cache invalidate too.
  ASSERT_TRUE(w->store()->erase(w->ChunkKey({0, 0})).ok());
  for (uint64_t i = 0; i < 8; ++i) {
    for (uint64_t j = 0; j < 8; ++j) want[i * 24 + j] = 0;
  }
  ASSERT_EQ(MustRead(*reopened, Whole(*reopened)), want) << "store()->erase";
  EXPECT_GT(cache->stats().invalidations, 0u);
  // Creating the array again (overwrite) drops everything cached under its path.
  auto again = MustCreate(store, Meta({24, 24}, {8, 8}, Plain()), WithCache(cache));
  EXPECT_EQ(MustRead(*again, Whole(*again)), std::vector<uint32_t>(24 * 24, 0));
}

TEST(ChunkCache, AWriteByAHandleNotSharingTheCacheIsSeenAfterRevalidation) {
  auto store = MemoryStore::Create();
  ChunkCacheOptions trusting;
  trusting.capacity_bytes = uint64_t{1} << 20;
  ChunkCacheOptions checking = trusting;
  checking.revalidate = true;
  auto trust = ChunkCache::Make(trusting);
  auto check = ChunkCache::Make(checking);
  auto other = MustCreate(store, Meta({16, 16}, {8, 8}, Plain()));
  MustWrite(*other, Whole(*other), 16, 1);
  auto a = MustOpen(store, WithCache(trust));
  auto b = MustOpen(store, WithCache(check));
  const Region g = Whole(*a);
  ASSERT_EQ(MustRead(*a, g), Values(g, 16, 1));
  ASSERT_EQ(MustRead(*b, g), Values(g, 16, 1));
  MustWrite(*other, Region{{0, 0}, {16, 8}}, 16, 2);  // two of the four chunks
  std::vector<uint32_t> want = Values(g, 16, 1);
  for (uint64_t i = 0; i < 16; ++i) {
    for (uint64_t j = 0; j < 8; ++j) want[i * 16 + j] = Value(i, j, 16, 2);
  }
  // The revalidating cache sees the write; the trusting one serves what it holds (documented)
  // until it is cleared.
  EXPECT_EQ(MustRead(*b, g), want);
  EXPECT_EQ(check->stats().stale, 2u);
  EXPECT_EQ(MustRead(*a, g), Values(g, 16, 1));
  trust->Clear();
  EXPECT_EQ(MustRead(*a, g), want);
  // Revalidated entries that did not change are served.
  const uint64_t hits = check->stats().hits;
  EXPECT_EQ(MustRead(*b, g), want);
  EXPECT_EQ(check->stats().hits, hits + 4);
}

TEST(ChunkCache, ShardedArraysCacheInnerChunks) {
  auto store = MemoryStore::Create();
  auto cache = ChunkCache::Make(uint64_t{1} << 20);
  // Shards of 16 x 16, inner chunks of 4 x 4: 16 inner chunks per shard.
  auto w = MustCreate(store, Meta({32, 30}, {16, 16}, Sharded({4, 4})), WithCache(cache));
  auto r = MustOpen(store, WithCache(cache));
  MustWrite(*w, Whole(*w), 30, 1);
  const Region point{{5, 6}, {1, 1}};
  EXPECT_EQ(MustRead(*r, point), Values(point, 30, 1));
  EXPECT_EQ(cache->stats().entries, 1u);
  EXPECT_EQ(cache->stats().bytes, 4 * 4 * 4 + ChunkCache::kEntryOverheadBytes);
  EXPECT_EQ(MustRead(*r, point), Values(point, 30, 1));
  EXPECT_EQ(cache->stats().hits, 1u);
  std::vector<uint32_t> want = Values(Whole(*r), 30, 1);
  ASSERT_EQ(MustRead(*r, Whole(*r)), want);  // includes edge inner chunks past the shape
  ASSERT_EQ(MustRead(*r, Whole(*r)), want);
  // A partial write of another inner chunk of the same shard, through the other handle.
  MustWrite(*w, Region{{9, 1}, {2, 2}}, 30, 2);
  for (uint64_t i = 9; i < 11; ++i) {
    for (uint64_t j = 1; j < 3; ++j) want[i * 30 + j] = Value(i, j, 30, 2);
  }
  ASSERT_EQ(MustRead(*r, Whole(*r)), want);
  // Inner-chunk level writes.
  std::vector<uint32_t> seven(16, 7);
  ASSERT_TRUE(w->WriteChunk(ChunkLevel::kInner, {7, 7},
                            ByteView(reinterpret_cast<const uint8_t*>(seven.data()), 64))
                  .ok());
  for (uint64_t i = 28; i < 32; ++i) {
    for (uint64_t j = 28; j < 30; ++j) want[i * 30 + j] = 7;
  }
  ASSERT_EQ(MustRead(*r, Whole(*r)), want);
}

TEST(ChunkCache, ConcurrentReadersAndWritersNeverSeeStaleOrMisplacedValues) {
  auto store = MemoryStore::Create();
  auto cache = ChunkCache::Make(20 * kEntryBytes);  // about half the chunks: evictions happen
  constexpr uint64_t kN = 48;                       // 6 x 6 chunks of 8 x 8
  auto a = MustCreate(store, Meta({kN, kN}, {8, 8}, Plain()), WithCache(cache));
  auto b = MustOpen(store, WithCache(cache));
  MustWrite(*a, Whole(*a), kN, 0);
  std::atomic<bool> failed{false};
  std::atomic<int> writers_left{2};
  std::vector<std::thread> threads;
  // Writers own chunk rows (writer k: rows of chunks k, k + 2, k + 4) and after each write read
  // back through the other handle: exactly the version written must come back.
  for (int k = 0; k < 2; ++k) {
    threads.emplace_back([&, k] {
      std::mt19937_64 rng(100 + k);
      for (uint32_t version = 1; version < 15 && !failed; ++version) {
        for (uint64_t cr = k; cr < 6; cr += 2) {
          const uint64_t cc = rng() % 6;
          const Region g{{cr * 8 + rng() % 4, cc * 8 + rng() % 4}, {4, 4}};
          MustWrite(k ? *a : *b, g, kN, version);
          const std::vector<uint32_t> back = MustRead(k ? *b : *a, g);
          if (back != Values(g, kN, version)) failed = true;
        }
      }
      --writers_left;
    });
  }
  for (int k = 0; k < 2; ++k) {
    threads.emplace_back([&, k] {
      std::mt19937_64 rng(200 + k);
      while (writers_left > 0 && !failed) {
        Region g{{rng() % kN, rng() % kN}, {0, 0}};
        g.shape = {1 + rng() % (kN - g.origin[0]), 1 + rng() % (kN - g.origin[1])};
        const std::vector<uint32_t> v = MustRead(k ? *a : *b, g);
        for (uint64_t i = 0; i < g.shape[0]; ++i) {
          for (uint64_t j = 0; j < g.shape[1]; ++j) {
            const uint32_t x = v[i * g.shape[1] + j];
            const uint64_t pos = (g.origin[0] + i) * kN + g.origin[1] + j;
            if (x / 16 != pos || x % 16 >= 15) failed = true;
          }
        }
        if (cache->stats().bytes > cache->capacity_bytes()) failed = true;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(failed);
  EXPECT_LE(cache->stats().bytes, cache->capacity_bytes());
}

// The cache's keys must be the keys writes use, whatever the encoding, or a write would leave
// the old entry in place.
TEST(ChunkCache, EveryChunkKeyEncodingIsInvalidatedByWrites) {
  for (auto [kind, sep] :
       {std::pair{ChunkKeyEncoding::Kind::kDefault, '/'},
        std::pair{ChunkKeyEncoding::Kind::kDefault, '.'},
        std::pair{ChunkKeyEncoding::Kind::kV2, '.'}, std::pair{ChunkKeyEncoding::Kind::kV2, '/'}}) {
    auto store = MemoryStore::Create();
    auto cache = ChunkCache::Make(uint64_t{1} << 20);
    ArrayMetadata m = Meta({24, 24}, {8, 8}, Plain());
    m.chunk_key_encoding.kind = kind;
    m.chunk_key_encoding.separator = sep;
    auto w = MustCreate(store, m, WithCache(cache));
    auto r = MustOpen(store, WithCache(cache));
    MustWrite(*w, Whole(*w), 24, 1);
    ASSERT_EQ(MustRead(*r, Whole(*r)), Values(Whole(*r), 24, 1));
    MustWrite(*w, Whole(*w), 24, 2);
    ASSERT_EQ(MustRead(*r, Whole(*r)), Values(Whole(*r), 24, 2)) << sep;
    EXPECT_EQ(cache->stats().invalidations, 9u);
  }
}

TEST(ChunkCache, HandlesOpenedOnAnotherHandlesStoreShareItsEntries) {
  auto store = MemoryStore::Create();
  auto cache = ChunkCache::Make(uint64_t{1} << 20);
  auto a = MustCreate(store, Meta({16, 16}, {8, 8}, Plain()), WithCache(cache));
  auto b = MustOpen(a->store(), WithCache(cache));
  MustWrite(*a, Whole(*a), 16, 1);
  ASSERT_EQ(MustRead(*b, Whole(*b)), Values(Whole(*b), 16, 1));
  ASSERT_EQ(MustRead(*a, Whole(*a)), Values(Whole(*a), 16, 1));
  EXPECT_EQ(cache->stats().entries, 4u);  // one namespace: b's entries serve a
  MustWrite(*a, Whole(*a), 16, 2);
  EXPECT_EQ(MustRead(*b, Whole(*b)), Values(Whole(*b), 16, 2));
  MustWrite(*b, Whole(*b), 16, 3);
  EXPECT_EQ(MustRead(*a, Whole(*a)), Values(Whole(*a), 16, 3));
}

TEST(ChunkCache, OneCacheServesManyArraysAndStores) {
  auto s1 = MemoryStore::Create();
  auto s2 = MemoryStore::Create();
  auto cache = ChunkCache::Make(uint64_t{1} << 20);
  auto a = MustCreate(s1, Meta({8, 8}, {8, 8}, Plain()), WithCache(cache));
  auto b = MustCreate(s2, Meta({8, 8}, {8, 8}, Plain()), WithCache(cache));
  MustWrite(*a, Whole(*a), 8, 1);
  MustWrite(*b, Whole(*b), 8, 2);
  // Same path and key in two stores: two entries, never confused.
  EXPECT_EQ(MustRead(*a, Whole(*a)), Values(Whole(*a), 8, 1));
  EXPECT_EQ(MustRead(*b, Whole(*b)), Values(Whole(*b), 8, 2));
  EXPECT_EQ(MustRead(*a, Whole(*a)), Values(Whole(*a), 8, 1));
  EXPECT_EQ(cache->stats().entries, 2u);
}

TEST(CachingStore, ServesHeldValuesAndDropsThemOnWrites) {
  auto memory = MemoryStore::Create();
  auto counting = std::make_shared<CountingStore>(memory);
  ChunkCacheOptions o;
  o.capacity_bytes = 4096;
  auto store = std::make_shared<CachingStore>(counting, o);
  const Bytes v1{1, 2, 3, 4, 5, 6};
  ASSERT_TRUE(store->set("k", v1).ok());
  auto got = store->get("k");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(**got, v1);
  counting->reset();
  got = store->get("k");
  EXPECT_EQ(**got, v1);
  got = store->get("k", ByteRange::Bounded(1, 3));
  EXPECT_EQ(**got, (Bytes{2, 3}));
  got = store->get("k", ByteRange::Suffix(2));
  EXPECT_EQ(**got, (Bytes{5, 6}));
  EXPECT_EQ(counting->counters().get_into + counting->counters().get_if, 0u);
  EXPECT_EQ(store->stats().hits, 3u);
  // A write through the wrapper drops the value.
  const Bytes v2{9, 9};
  ASSERT_TRUE(store->set("k", v2).ok());
  got = store->get("k");
  EXPECT_EQ(**got, v2);
  ASSERT_TRUE(store->erase("k").ok());
  got = store->get("k");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  // Absent values are held too.
  counting->reset();
  EXPECT_FALSE(store->get("k")->has_value());
  EXPECT_EQ(counting->counters().get_into + counting->counters().get_if, 0u);
  // A value larger than the capacity is never held; ranged reads of values not held are
  // forwarded as ranges.
  ASSERT_TRUE(store->set("big", Bytes(8192, 7)).ok());
  EXPECT_EQ((*store->get("big"))->size(), 8192u);
  EXPECT_EQ((*store->get("big", ByteRange::Bounded(0, 2)))->size(), 2u);
  EXPECT_LE(store->stats().bytes, o.capacity_bytes);
  // A write to the inner store is not seen until revalidation or Clear.
  ASSERT_TRUE(store->set("k", v1).ok());
  EXPECT_EQ(**store->get("k"), v1);
  ASSERT_TRUE(memory->set("k", v2).ok());
  EXPECT_EQ(**store->get("k"), v1);
  store->Clear();
  EXPECT_EQ(**store->get("k"), v2);
}

TEST(CachingStore, RevalidationSeesWritesToTheInnerStore) {
  auto memory = MemoryStore::Create();
  ChunkCacheOptions o;
  o.capacity_bytes = 4096;
  o.revalidate = true;
  auto store = std::make_shared<CachingStore>(memory, o);
  ASSERT_TRUE(memory->set("k", Bytes{1}).ok());
  EXPECT_EQ(**store->get("k"), Bytes{1});
  EXPECT_EQ(**store->get("k"), Bytes{1});
  EXPECT_EQ(store->stats().hits, 1u);
  ASSERT_TRUE(memory->set("k", Bytes{2}).ok());
  EXPECT_EQ(**store->get("k"), Bytes{2});
  EXPECT_EQ(store->stats().stale, 1u);
}

TEST(CachingStore, ArraysReadThroughItSeeTheirOwnWrites) {
  auto memory = MemoryStore::Create();
  ChunkCacheOptions o;
  o.capacity_bytes = uint64_t{1} << 20;
  auto store = std::make_shared<CachingStore>(memory, o);
  auto a = MustCreate(store, Meta({24, 24}, {8, 8}, Plain()));
  MustWrite(*a, Whole(*a), 24, 1);
  EXPECT_EQ(MustRead(*a, Whole(*a)), Values(Whole(*a), 24, 1));
  EXPECT_EQ(MustRead(*a, Whole(*a)), Values(Whole(*a), 24, 1));
  EXPECT_GE(store->stats().hits, 9u);
  MustWrite(*a, Region{{3, 3}, {10, 10}}, 24, 2);
  std::vector<uint32_t> want = Values(Whole(*a), 24, 1);
  for (uint64_t i = 3; i < 13; ++i) {
    for (uint64_t j = 3; j < 13; ++j) want[i * 24 + j] = Value(i, j, 24, 2);
  }
  EXPECT_EQ(MustRead(*a, Whole(*a)), want);
  // Sharded: partial reads of a held shard are served from it.
  auto s = MustCreate(store, Meta({32, 32}, {16, 16}, Sharded({4, 4})));
  MustWrite(*s, Whole(*s), 32, 3);
  EXPECT_EQ(MustRead(*s, Whole(*s)), Values(Whole(*s), 32, 3));
  const Region g{{17, 2}, {5, 5}};
  EXPECT_EQ(MustRead(*s, g), Values(g, 32, 3));
}

}  // namespace
}  // namespace zarrpp

namespace {

// The shared store suite: a CachingStore behaves as a store, whether it holds everything it
// reads (large capacity) or almost nothing (values over 64 bytes are never held).
std::shared_ptr<zarrpp::Store> Caching(uint64_t capacity, bool revalidate) {
  zarrpp::ChunkCacheOptions o;
  o.capacity_bytes = capacity;
  o.revalidate = revalidate;
  return std::make_shared<zarrpp::CachingStore>(zarrpp::MemoryStore::Create(), o);
}

INSTANTIATE_TEST_SUITE_P(
    , StoreConformance,
    ::testing::Values(
        zarrpp::testing::StoreCase{"CacheMem", [] { return Caching(uint64_t{1} << 24, false); }},
        zarrpp::testing::StoreCase{
            "CacheTiny",
            [] { return Caching(zarrpp::ChunkCache::kEntryOverheadBytes + 64, false); }},
        zarrpp::testing::StoreCase{"CacheReval", [] { return Caching(uint64_t{1} << 24, true); }}),
    zarrpp::testing::StoreCaseName);

}  // namespace
