// Appends into a sharded array on a store without set_range (as S3: no append, no patch): each
// append rewrites its open shard whole with one set, and after every append a fresh handle reads
// every appended step (spec/sharding.md, "Appends on stores without set_range"). The same appends
// on a store with set_range grow the shard in place. Bytes written are counted per append.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "zarrpp/array.h"
#include "zarrpp/json.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/store_wrappers.h"

namespace zarrpp {
namespace {

constexpr uint64_t kCols = 1024, kDepth = 8, kSteps = 24;

// A counting store that hides set_range and patches, as an object store does.
class ObjectLikeStore : public CountingStore {
 public:
  using CountingStore::CountingStore;
  StoreCapabilities capabilities() const override {
    StoreCapabilities c = CountingStore::capabilities();
    c.set_range = false;
    return c;
  }
  Status set_range(std::string_view key, uint64_t, ByteView) override {
    return Status::Unsupported("set_range of '" + std::string(key) + "' on an object-like store");
  }
  Result<std::optional<Generation>> patch_if(std::string_view key, std::span<const RangeWrite>,
                                             const WriteConditions&) override {
    return Status::Unsupported("patch_if of '" + std::string(key) + "' on an object-like store");
  }
};

// uint32 [0, kCols], shards kDepth steps deep of inner chunks [1, kCols], uncompressed so that
// sizes are exact; the index is at the end with crc32c.
ArrayMetadata Meta() {
  ArrayMetadata m;
  m.shape = {0, kCols};
  m.chunk_shape = {kDepth, kCols};
  m.data_type = DataType(DataTypeId::kUInt32);
  m.fill_value = FillValue::Zero(m.data_type);
  m.codecs = Json::array(
      {{{"name", "sharding_indexed"},
        {"configuration",
         {{"chunk_shape", Json::array({1, kCols})},
          {"codecs", Json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}})},
          {"index_codecs",
           Json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
                        {{"name", "crc32c"}}})}}}}});
  return m;
}

std::vector<uint32_t> Step(uint64_t t) {
  std::vector<uint32_t> v(kCols);
  for (uint64_t c = 0; c < kCols; ++c) v[c] = static_cast<uint32_t>(1 + t * kCols + c);
  return v;
}

struct Written {
  std::vector<uint64_t> shard_bytes;  // per append: bytes written other than zarr.json
  uint64_t total = 0;                 // the sum of shard_bytes
  uint64_t final_bytes = 0;           // the shards at the end
};

// Appends kSteps one-step appends through `store`; after each, a fresh handle reads all of them.
Written AppendSteps(const std::shared_ptr<CountingStore>& store) {
  Written w;
  auto created = Array::Create(store, "a", Meta());
  EXPECT_TRUE(created.ok()) << created.status();
  if (!created.ok()) return w;
  std::shared_ptr<Array> a = *created;
  for (uint64_t t = 0; t < kSteps; ++t) {
    const std::vector<uint32_t> step = Step(t);
    const uint64_t before = store->counters().bytes_written;
    const Status s = a->Append(std::span<const uint32_t>(step), {1, kCols}, 0);
    EXPECT_TRUE(s.ok()) << s;
    const uint64_t written = store->counters().bytes_written - before;
    auto meta = store->size("a/zarr.json");
    EXPECT_TRUE(meta.ok() && meta->has_value());
    const uint64_t meta_bytes = meta.ok() && meta->has_value() ? **meta : 0;
    w.shard_bytes.push_back(written - meta_bytes);
    w.total += written - meta_bytes;
    // Durable and readable: a new handle sees every step appended so far.
    auto fresh = Array::Open(store, "a");
    EXPECT_TRUE(fresh.ok()) << fresh.status();
    if (!fresh.ok()) continue;
    EXPECT_EQ((*fresh)->shape(), (std::vector<uint64_t>{t + 1, kCols}));
    std::vector<uint32_t> all((t + 1) * kCols);
    const Status r = (*fresh)->Read(Region::All((*fresh)->shape()), std::span<uint32_t>(all));
    EXPECT_TRUE(r.ok()) << r;
    for (uint64_t u = 0; u <= t; ++u) {
      const std::vector<uint32_t> want = Step(u);
      EXPECT_TRUE(std::equal(want.begin(), want.end(), all.begin() + u * kCols))
          << "step " << u << " after append " << t;
    }
  }
  for (uint64_t s = 0; s * kDepth < kSteps; ++s) {
    auto size = store->size("a/c/" + std::to_string(s) + "/0");
    if (size.ok() && size->has_value()) w.final_bytes += **size;
  }
  return w;
}

TEST(ShardedAppendWithoutSetRange, EachAppendRewritesTheOpenShardAndStaysReadable) {
  auto store = std::make_shared<ObjectLikeStore>(MemoryStore::Create());
  const Written w = AppendSteps(store);
  ASSERT_EQ(w.shard_bytes.size(), kSteps);
  const uint64_t inner = kCols * sizeof(uint32_t), index = kDepth * 16 + 4;
  for (uint64_t t = 0; t < kSteps; ++t) {
    // The whole open shard: the steps it holds so far and its index, every time.
    const uint64_t in_shard = t % kDepth + 1;
    EXPECT_EQ(w.shard_bytes[t], in_shard * inner + index) << "append " << t;
  }
  EXPECT_EQ(store->counters().set_range, 0u);
  EXPECT_EQ(store->counters().patch_if, 0u);
  const double ratio = static_cast<double>(w.total) / static_cast<double>(w.final_bytes);
  std::printf("object-like store: %llu shard bytes written for %llu stored (%.2fx)\n",
              static_cast<unsigned long long>(w.total),
              static_cast<unsigned long long>(w.final_bytes), ratio);
  // Shards of depth D rewritten on each of D appends write about (D + 1) / 2 times their size.
  EXPECT_GT(ratio, 0.8 * (kDepth + 1) / 2.0);
}

TEST(ShardedAppendWithSetRange, AppendsGrowTheShardInPlace) {
  auto store = CountingStore::Create(MemoryStore::Create());
  ASSERT_TRUE(store->capabilities().set_range);
  const Written w = AppendSteps(store);
  ASSERT_EQ(w.shard_bytes.size(), kSteps);
  const uint64_t inner = kCols * sizeof(uint32_t), index = kDepth * 16 + 4;
  for (uint64_t t = 0; t < kSteps; ++t) {
    // A new inner chunk and the index (the first step of a shard writes the new shard whole).
    EXPECT_EQ(w.shard_bytes[t], inner + index) << "append " << t;
  }
  const double ratio = static_cast<double>(w.total) / static_cast<double>(w.final_bytes);
  std::printf("store with set_range: %llu shard bytes written for %llu stored (%.2fx)\n",
              static_cast<unsigned long long>(w.total),
              static_cast<unsigned long long>(w.final_bytes), ratio);
  EXPECT_LT(ratio, 1.1);
}

}  // namespace
}  // namespace zarrpp
