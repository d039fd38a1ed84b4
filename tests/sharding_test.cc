// sharding_indexed: the spec's worked example byte for byte, Morton layout, index at start and
// end, nested shards, edge shards, missing shards and inner chunks, partial reads (bytes and
// requests counted), in-place patches at the offsets the stored index records, the append path
// for compressed inner chunks, full rewrites on stores without set_range, corrupted indexes,
// and concurrent partial writes against a reference.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include "codecs/crc32c_codec.h"
#include "codecs/sharding_codec.h"
#include "src/array/indexing.h"
#include "support/reference_array.h"
#include "zarrpp/array.h"
#include "zarrpp/json.h"
#include "zarrpp/local_store.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/store_wrappers.h"

namespace zarrpp {
namespace {

constexpr uint64_t kE = ShardIndex::kEmpty;

Json Bytes_() {
  return {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
}
Json Crc() {
  return {{"name", "crc32c"}};
}
Json Zstd() {
  return {{"name", "zstd"}, {"configuration", {{"level", 1}, {"checksum", false}}}};
}

Json Sharding(std::vector<uint64_t> inner, Json codecs, const char* location = "end") {
  return {{"name", "sharding_indexed"},
          {"configuration",
           {{"chunk_shape", inner},
            {"codecs", std::move(codecs)},
            {"index_codecs", Json::array({Bytes_(), Crc()})},
            {"index_location", location}}}};
}

ArrayMetadata Meta(std::vector<uint64_t> shape, std::vector<uint64_t> shard, DataType t,
                   Json codecs) {
  ArrayMetadata m;
  m.shape = std::move(shape);
  m.chunk_shape = std::move(shard);
  m.data_type = t;
  m.fill_value = FillValue::Zero(t);
  m.codecs = std::move(codecs);
  return m;
}

std::shared_ptr<Array> MustCreate(std::shared_ptr<Store> store, ArrayMetadata m,
                                  ArrayOptions options = {}) {
  CreateOptions create;
  create.overwrite = true;
  auto r = Array::Create(std::move(store), "a", std::move(m), create, options);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : nullptr;
}

std::vector<uint8_t> Hex(std::initializer_list<int> v) {
  return std::vector<uint8_t>(v.begin(), v.end());
}

void PutU64(Bytes& b, uint64_t v) {
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void PutCrc(Bytes& b, size_t from) {
  const uint32_t c = Crc32c(ByteView(b).subspan(from));
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(c >> (8 * i)));
}

using test_support::Reference;

Region RandomRegion(std::mt19937_64& rng, const std::vector<uint64_t>& shape, uint64_t max_len) {
  Region r;
  for (uint64_t s : shape) {
    const uint64_t len = 1 + rng() % std::min<uint64_t>(s, max_len);
    r.origin.push_back(rng() % (s - len + 1));
    r.shape.push_back(len);
  }
  return r;
}

template <typename T>
std::vector<T> RandomValues(std::mt19937_64& rng, uint64_t n) {
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(1 + rng() % 1000);
  return v;
}

// A store that hides set_range, so partial writes must rewrite whole shards.
class NoSetRangeStore : public CountingStore {
 public:
  using CountingStore::CountingStore;
  StoreCapabilities capabilities() const override {
    StoreCapabilities c = CountingStore::capabilities();
    c.set_range = false;
    return c;
  }
  Status set_range(std::string_view, uint64_t, ByteView) override {
    return Status::Unsupported("no set_range");
  }
};

Result<std::shared_ptr<const ShardingCodec>> CodecFrom(const Json& j) {
  ASSIGN_OR_RETURN(auto c, BuiltinCodecRegistry().Create(j));
  return std::dynamic_pointer_cast<const ShardingCodec>(c);
}

// ---------------------------------------------------------------------------------------------
// The worked example of zarr-facts 2.7.

TEST(ShardingCodec, WorkedExampleIndexAtEndIsByteExact) {
  auto codec = CodecFrom(Sharding({2}, Json::array({{{"name", "bytes"}}})));
  ASSERT_TRUE(codec.ok()) << codec.status();
  const ChunkSpec spec{
      {4}, DataType(DataTypeId::kUInt8), FillValue::Zero(DataType(DataTypeId::kUInt8))};
  ASSERT_TRUE((*codec)->ValidateSpec(spec).ok());
  const Bytes data = {1, 2, 3, 4};
  Bytes out;
  ASSERT_TRUE((*codec)->Encode(spec, data, out).ok());
  Bytes want = {1, 2, 3, 4};
  PutU64(want, 0), PutU64(want, 2), PutU64(want, 2), PutU64(want, 2);
  for (int b : {0x04, 0x52, 0x6E, 0x88}) want.push_back(static_cast<uint8_t>(b));
  ASSERT_EQ(out.size(), 40u);
  EXPECT_EQ(out, want);
  Bytes back(4);
  ASSERT_TRUE((*codec)->Decode(spec, out, back).ok());
  EXPECT_EQ(back, data);
}

TEST(ShardingCodec, WorkedExampleIndexAtStartIsByteExact) {
  auto codec = CodecFrom(Sharding({2}, Json::array({{{"name", "bytes"}}}), "start"));
  ASSERT_TRUE(codec.ok()) << codec.status();
  const ChunkSpec spec{
      {4}, DataType(DataTypeId::kUInt8), FillValue::Zero(DataType(DataTypeId::kUInt8))};
  const Bytes data = {1, 2, 3, 4};
  Bytes out;
  ASSERT_TRUE((*codec)->Encode(spec, data, out).ok());
  Bytes want;
  PutU64(want, 36), PutU64(want, 2), PutU64(want, 38), PutU64(want, 2);
  for (int b : {0x0A, 0xB5, 0xE2, 0x39}) want.push_back(static_cast<uint8_t>(b));
  for (uint8_t b : data) want.push_back(b);
  EXPECT_EQ(out, want);
  Bytes back(4);
  ASSERT_TRUE((*codec)->Decode(spec, out, back).ok());
  EXPECT_EQ(back, data);
}

TEST(ShardingCodec, WorkedExampleEmptyInnerChunkUsesSentinelAndIsLeftOut) {
  auto codec = CodecFrom(Sharding({2}, Json::array({{{"name", "bytes"}}})));
  ASSERT_TRUE(codec.ok());
  const ChunkSpec spec{
      {4}, DataType(DataTypeId::kUInt8), FillValue::Zero(DataType(DataTypeId::kUInt8))};
  Bytes out;
  ASSERT_TRUE((*codec)->Encode(spec, Bytes{1, 2, 0, 0}, out).ok());
  Bytes want = {1, 2};
  PutU64(want, 0), PutU64(want, 2), PutU64(want, kE), PutU64(want, kE);
  for (int b : {0xBD, 0x13, 0xBD, 0x56}) want.push_back(static_cast<uint8_t>(b));
  EXPECT_EQ(out, want);
}

TEST(ShardingCodec, AllEmptyShardEncodesToNothing) {
  auto codec = CodecFrom(Sharding({2}, Json::array({{{"name", "bytes"}}})));
  ASSERT_TRUE(codec.ok());
  const ChunkSpec spec{
      {4}, DataType(DataTypeId::kUInt8), FillValue::Zero(DataType(DataTypeId::kUInt8))};
  Bytes out = {9};
  ASSERT_TRUE((*codec)->Encode(spec, Bytes{0, 0, 0, 0}, out).ok());
  EXPECT_TRUE(out.empty());
}

TEST(ShardingArray, WorkedExampleThroughArrayWriteIsByteExact) {
  for (const char* loc : {"end", "start"}) {
    auto mem = MemoryStore::Create();
    auto a = MustCreate(
        mem, Meta({4}, {4}, DataType(DataTypeId::kUInt8),
                  Json::array({Sharding({2}, Json::array({{{"name", "bytes"}}}), loc)})));
    ASSERT_TRUE(a);
    const std::vector<uint8_t> data = {1, 2, 3, 4};
    ASSERT_TRUE(a->Write(Region::All({4}), std::span<const uint8_t>(data)).ok());
    auto v = mem->get("a/c/0");
    ASSERT_TRUE(v.ok() && v->has_value());
    ASSERT_EQ((*v)->size(), 40u);
    const Bytes crc =
        std::string(loc) == "end" ? Hex({0x04, 0x52, 0x6E, 0x88}) : Hex({0x0A, 0xB5, 0xE2, 0x39});
    const size_t at = std::string(loc) == "end" ? 36 : 32;
    EXPECT_EQ(Bytes((*v)->begin() + at, (*v)->begin() + at + 4), crc) << loc;
  }
}

// ---------------------------------------------------------------------------------------------
// Layout.

TEST(ShardingCodec, MortonOrderPutsDimensionZeroFastest) {
  EXPECT_EQ(MortonOrder({2, 2}), (std::vector<uint64_t>{0, 2, 1, 3}));
  // (2,3): (0,0),(1,0),(0,1),(1,1),(0,2),(1,2) as C-order indices.
  EXPECT_EQ(MortonOrder({2, 3}), (std::vector<uint64_t>{0, 3, 1, 4, 2, 5}));
  const auto m = MortonOrder({4, 4});
  // (0,0),(1,0),(0,1),(1,1),(2,0),(3,0),(2,1),(3,1)
  EXPECT_EQ(std::vector<uint64_t>(m.begin(), m.begin() + 8),
            (std::vector<uint64_t>{0, 4, 1, 5, 8, 12, 9, 13}));
  // Non-power-of-two grids keep every cell exactly once.
  auto odd = MortonOrder({5, 2});
  std::sort(odd.begin(), odd.end());
  EXPECT_EQ(odd, (std::vector<uint64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(ShardingArray, FullShardWriteLaysInnerChunksOutInMortonOrder) {
  auto mem = MemoryStore::Create();
  auto a = MustCreate(mem, Meta({4, 4}, {4, 4}, DataType(DataTypeId::kUInt8),
                                Json::array({Sharding({2, 2}, Json::array({Bytes_()}))})));
  std::vector<uint8_t> data(16);
  for (size_t i = 0; i < 16; ++i) data[i] = static_cast<uint8_t>(i + 1);
  ASSERT_TRUE(a->Write(Region::All({4, 4}), std::span<const uint8_t>(data)).ok());
  auto v = mem->get("a/c/0/0");
  ASSERT_TRUE(v.ok() && v->has_value());
  ASSERT_EQ((*v)->size(), 16u + 64 + 4);
  auto u64 = [&](size_t at) {
    uint64_t x = 0;
    std::memcpy(&x, (*v)->data() + at, 8);
    return x;
  };
  // Index in C order: (0,0)@0, (0,1)@8, (1,0)@4, (1,1)@12 -- Morton puts (1,0) second.
  EXPECT_EQ(u64(16 + 0), 0u);
  EXPECT_EQ(u64(16 + 16), 8u);
  EXPECT_EQ(u64(16 + 32), 4u);
  EXPECT_EQ(u64(16 + 48), 12u);
  // Inner chunk (0,0) holds rows 0-1, cols 0-1.
  EXPECT_EQ(Bytes((*v)->begin(), (*v)->begin() + 4), Hex({1, 2, 5, 6}));
}

// ---------------------------------------------------------------------------------------------
// Round trips.

struct Case {
  const char* name;
  std::vector<uint64_t> shape, shard;
  Json codecs;
  PipelineKind pipeline;
};

std::vector<Case> Cases() {
  const Json fixed = Json::array({Bytes_()});
  const Json zstd = Json::array({Bytes_(), Zstd()});
  const Json nested = Json::array({Sharding({2, 3}, Json::array({Bytes_()}))});
  return {
      {"end", {16, 24}, {8, 12}, Json::array({Sharding({4, 3}, fixed)}), PipelineKind::kFused},
      {"start",
       {16, 24},
       {8, 12},
       Json::array({Sharding({4, 3}, fixed, "start")}),
       PipelineKind::kFused},
      {"zstd", {16, 24}, {8, 12}, Json::array({Sharding({4, 3}, zstd)}), PipelineKind::kFused},
      {"edge",
       {13, 22},
       {8, 12},
       Json::array({Sharding({2, 3}, zstd, "start")}),
       PipelineKind::kFused},
      {"nested", {16, 24}, {8, 12}, Json::array({Sharding({4, 6}, nested)}), PipelineKind::kFused},
      {"batched",
       {13, 22},
       {8, 12},
       Json::array({Sharding({4, 3}, fixed)}),
       PipelineKind::kBatched},
      {"opaque",
       {13, 22},
       {8, 12},
       Json::array({Sharding({4, 3}, fixed), Crc()}),
       PipelineKind::kFused},
  };
}

TEST(ShardingArray, RandomWritesAndReadsMatchAReference) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    auto mem = MemoryStore::Create();
    ArrayOptions opt;
    opt.pipeline = c.pipeline;
    auto a = MustCreate(mem, Meta(c.shape, c.shard, DataType(DataTypeId::kUInt16), c.codecs), opt);
    ASSERT_TRUE(a);
    Reference<uint16_t> ref(c.shape, 0);
    std::mt19937_64 rng(42);
    // A full write first, then random partial writes and reads.
    auto all = RandomValues<uint16_t>(rng, ref.data.size());
    ASSERT_TRUE(a->Write(Region::All(c.shape), std::span<const uint16_t>(all)).ok());
    ref.Write(Region::All(c.shape), all);
    for (int i = 0; i < 60; ++i) {
      const Region r = RandomRegion(rng, c.shape, 9);
      if (i % 3 == 2) {
        std::vector<uint16_t> got(r.num_elements());
        ASSERT_TRUE(a->Read(r, std::span<uint16_t>(got)).ok());
        ASSERT_EQ(got, ref.Read(r)) << r.ToString();
      } else {
        auto v = RandomValues<uint16_t>(rng, r.num_elements());
        if (i % 7 == 0) std::fill(v.begin(), v.end(), 0);  // makes inner chunks empty
        const Status st = a->Write(r, std::span<const uint16_t>(v));
        ASSERT_TRUE(st.ok()) << st;
        ref.Write(r, v);
      }
    }
    std::vector<uint16_t> got(ref.data.size());
    ASSERT_TRUE(a->Read(Region::All(c.shape), std::span<uint16_t>(got)).ok());
    EXPECT_EQ(got, ref.data);
  }
}

TEST(ShardingArray, MissingShardAndMissingInnerChunksReadAsFillValue) {
  auto mem = MemoryStore::Create();
  ArrayMetadata m = Meta({8, 8}, {4, 4}, DataType(DataTypeId::kInt32),
                         Json::array({Sharding({2, 2}, Json::array({Bytes_()}))}));
  m.fill_value = FillValue{Bytes{7, 0, 0, 0}};
  ArrayOptions opt;
  opt.sharding.append_reserve = 0;  // the shard holds exactly what it stores
  auto a = MustCreate(mem, m, opt);
  const std::vector<int32_t> one = {5};
  ASSERT_TRUE(a->Write(Region{{1, 1}, {1, 1}}, std::span<const int32_t>(one)).ok());
  std::vector<int32_t> got(64);
  ASSERT_TRUE(a->Read(Region::All({8, 8}), std::span<int32_t>(got)).ok());
  for (size_t i = 0; i < 64; ++i) EXPECT_EQ(got[i], i == 9 ? 5 : 7) << i;
  // Only one shard exists, and it stores one inner chunk.
  auto keys = mem->list_prefix("a/c/");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, std::vector<std::string>{"a/c/0/0"});
  auto v = mem->get("a/c/0/0");
  EXPECT_EQ((*v)->size(), 16u + 4 * 16 + 4);
  // A partial read of a missing inner chunk in a present shard.
  std::vector<int32_t> part(4);
  ASSERT_TRUE(a->Read(Region{{2, 2}, {2, 2}}, std::span<int32_t>(part)).ok());
  EXPECT_EQ(part, (std::vector<int32_t>{7, 7, 7, 7}));
}

TEST(ShardingArray, ShardWhoseInnerChunksAllBecomeEmptyIsErased) {
  for (bool set_range : {true, false}) {
    auto mem = MemoryStore::Create();
    std::shared_ptr<Store> store = mem;
    if (!set_range) store = std::make_shared<NoSetRangeStore>(mem);
    auto a = MustCreate(store, Meta({8}, {8}, DataType(DataTypeId::kUInt8),
                                    Json::array({Sharding({2}, Json::array({Bytes_()}))})));
    const std::vector<uint8_t> ones(3, 1), zeros(3, 0);
    ASSERT_TRUE(a->Write(Region{{2}, {3}}, std::span<const uint8_t>(ones)).ok());
    ASSERT_TRUE(mem->get("a/c/0")->has_value());
    ASSERT_TRUE(a->Write(Region{{2}, {3}}, std::span<const uint8_t>(zeros)).ok());
    EXPECT_FALSE(mem->get("a/c/0")->has_value()) << set_range;
    // A full write of fill values erases too.
    ASSERT_TRUE(a->Write(Region{{2}, {3}}, std::span<const uint8_t>(ones)).ok());
    ASSERT_TRUE(a->Fill(Region::All({8}), uint8_t{0}).ok());
    EXPECT_FALSE(mem->get("a/c/0")->has_value()) << set_range;
  }
}

TEST(ShardingArray, ScalarFillOverManyInnerChunksStoresIdenticalChunks) {
  auto mem = MemoryStore::Create();
  ArrayOptions opt;
  opt.sharding.append_reserve = 0;
  auto a = MustCreate(mem,
                      Meta({1000}, {1000}, DataType(DataTypeId::kUInt8),
                           Json::array({Sharding({10}, Json::array({Bytes_()}))})),
                      opt);
  ASSERT_TRUE(a->Fill(Region{{0}, {995}}, uint8_t{3}).ok());
  std::vector<uint8_t> got(1000);
  ASSERT_TRUE(a->Read(Region::All({1000}), std::span<uint8_t>(got)).ok());
  for (size_t i = 0; i < 1000; ++i) ASSERT_EQ(got[i], i < 995 ? 3 : 0) << i;
  auto v = mem->get("a/c/0");
  EXPECT_EQ((*v)->size(), 1000u + 100 * 16 + 4);
}

// ---------------------------------------------------------------------------------------------
// I/O counted.

struct W3Like {
  std::shared_ptr<MemoryStore> mem = MemoryStore::Create();
  std::shared_ptr<CountingStore> counting = std::make_shared<CountingStore>(mem);
  std::shared_ptr<Array> a;
  std::vector<uint16_t> data;
  W3Like(Json inner_codecs, ArrayOptions opt = {}) {
    a = MustCreate(counting,
                   Meta({64, 64}, {64, 64}, DataType(DataTypeId::kUInt16),
                        Json::array({Sharding({8, 4}, std::move(inner_codecs))})),
                   opt);
    data.resize(64 * 64);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint16_t>(i % 251 + 1);
    EXPECT_TRUE(a->Write(Region::All({64, 64}), std::span<const uint16_t>(data)).ok());
    counting->reset();
  }
  static constexpr uint64_t kIndex = 128 * 16 + 4;
  static constexpr uint64_t kInner = 8 * 4 * 2;
};

TEST(ShardingArray, ReadingOneInnerChunkReadsIndexAndThatChunkOnly) {
  W3Like w(Json::array({Bytes_()}));
  std::vector<uint16_t> got(32);
  ASSERT_TRUE(w.a->Read(Region{{8, 4}, {8, 4}}, std::span<uint16_t>(got)).ok());
  const auto c = w.counting->counters();
  EXPECT_EQ(c.bytes_read, W3Like::kIndex + W3Like::kInner);
  // One version opened, then two reads of it: the index and the chunk.
  EXPECT_EQ(c.open_reader, 1u);
  EXPECT_EQ(c.reader_read, 2u);
  EXPECT_EQ(c.get_into, 0u);
  for (size_t r = 0; r < 8; ++r) {
    for (size_t k = 0; k < 4; ++k) EXPECT_EQ(got[r * 4 + k], w.data[(8 + r) * 64 + 4 + k]);
  }
}

TEST(ShardingArray, CloseRangesAreMergedAndDistantOnesAreNot) {
  ArrayOptions opt;
  opt.sharding.coalesce_max_gap_bytes = 0;
  W3Like w(Json::array({Bytes_()}), opt);
  // Inner chunks (0,0) and (1,0) are adjacent in Morton order: one merged request.
  std::vector<uint16_t> got(16 * 4);
  ASSERT_TRUE(w.a->Read(Region{{0, 0}, {16, 4}}, std::span<uint16_t>(got)).ok());
  EXPECT_EQ(w.counting->counters().reader_read, 2u);
  // (0,0) and (0,1) are 2 slots apart in Morton order: two requests with no gap allowed ...
  w.counting->reset();
  std::vector<uint16_t> row(8 * 8);
  ASSERT_TRUE(w.a->Read(Region{{0, 0}, {8, 8}}, std::span<uint16_t>(row)).ok());
  EXPECT_EQ(w.counting->counters().reader_read, 3u);
  // ... and one with the default gap.
  ArrayOptions def;
  auto b = Array::Open(w.counting, "a", def);
  ASSERT_TRUE(b.ok());
  w.counting->reset();
  ASSERT_TRUE((*b)->Read(Region{{0, 0}, {8, 8}}, std::span<uint16_t>(row)).ok());
  EXPECT_EQ(w.counting->counters().reader_read, 2u);
  for (size_t r = 0; r < 8; ++r) {
    for (size_t k = 0; k < 8; ++k) EXPECT_EQ(row[r * 8 + k], w.data[r * 64 + k]);
  }
}

TEST(ShardingArray, ReadTouchingMostOfAShardFetchesItInOneRequest) {
  W3Like w(Json::array({Bytes_()}));
  std::vector<uint16_t> got(64 * 64);
  ASSERT_TRUE(w.a->Read(Region::All({64, 64}), std::span<uint16_t>(got)).ok());
  EXPECT_EQ(w.counting->counters().get_into, 1u);
  EXPECT_EQ(got, w.data);
}

TEST(ShardingArray, IndexCacheAvoidsRereadingTheIndex) {
  ArrayOptions opt;
  opt.sharding.index_cache_bytes = 1 << 20;
  W3Like w(Json::array({Bytes_()}), opt);
  std::vector<uint16_t> got(32);
  ASSERT_TRUE(w.a->Read(Region{{8, 4}, {8, 4}}, std::span<uint16_t>(got)).ok());
  w.counting->reset();
  ASSERT_TRUE(w.a->Read(Region{{16, 8}, {8, 4}}, std::span<uint16_t>(got)).ok());
  // The cached index is of the version the reader opened: only the chunk is read.
  EXPECT_EQ(w.counting->counters().reader_read, 1u);
  EXPECT_EQ(w.counting->counters().bytes_read, W3Like::kInner);
  EXPECT_EQ(got[0], w.data[16 * 64 + 8]);
  // A write through the same handle keeps the cached index right.
  const std::vector<uint16_t> zeros(32, 0);
  ASSERT_TRUE(w.a->Write(Region{{16, 8}, {8, 4}}, std::span<const uint16_t>(zeros)).ok());
  ASSERT_TRUE(w.a->Read(Region{{16, 8}, {8, 4}}, std::span<uint16_t>(got)).ok());
  EXPECT_EQ(got, zeros);
}

TEST(ShardingArray, FixedSizePartialWritePatchesOnlyTheTouchedInnerChunk) {
  W3Like w(Json::array({Bytes_()}));
  std::vector<uint16_t> v(32, 999);
  ASSERT_TRUE(w.a->Write(Region{{8, 4}, {8, 4}}, std::span<const uint16_t>(v)).ok());
  const auto c = w.counting->counters();
  EXPECT_EQ(c.set + c.set_if, 0u);
  EXPECT_EQ(c.patch_if, 1u);
  EXPECT_EQ(c.bytes_written, W3Like::kInner);  // the index did not change
  // A partly covered inner chunk reads its old bytes and merges.
  w.counting->reset();
  const std::vector<uint16_t> one = {7};
  ASSERT_TRUE(w.a->Write(Region{{9, 5}, {1, 1}}, std::span<const uint16_t>(one)).ok());
  EXPECT_EQ(w.counting->counters().bytes_written, W3Like::kInner);
  std::vector<uint16_t> got(64 * 64);
  ASSERT_TRUE(w.a->Read(Region::All({64, 64}), std::span<uint16_t>(got)).ok());
  for (size_t r = 0; r < 64; ++r) {
    for (size_t k = 0; k < 64; ++k) {
      uint16_t want = w.data[r * 64 + k];
      if (r >= 8 && r < 16 && k >= 4 && k < 8) want = 999;
      if (r == 9 && k == 5) want = 7;
      ASSERT_EQ(got[r * 64 + k], want) << r << "," << k;
    }
  }
}

TEST(ShardingArray, InPlacePatchUsesTheStoredOffsetsOfAReverseOrderedShard) {
  // A shard written by another writer: inner chunks stored in reverse C order, index at end.
  auto mem = MemoryStore::Create();
  auto a = MustCreate(mem, Meta({8}, {8}, DataType(DataTypeId::kUInt8),
                                Json::array({Sharding({2}, Json::array({{{"name", "bytes"}}}))})));
  Bytes shard;
  for (int j = 3; j >= 0; --j) {
    shard.push_back(static_cast<uint8_t>(10 * j + 1));
    shard.push_back(static_cast<uint8_t>(10 * j + 2));
  }
  const size_t index_from = shard.size();
  for (uint64_t j = 0; j < 4; ++j) PutU64(shard, (3 - j) * 2), PutU64(shard, 2);
  PutCrc(shard, index_from);
  ASSERT_TRUE(mem->set("a/c/0", shard).ok());
  std::vector<uint8_t> got(8);
  ASSERT_TRUE(a->Read(Region::All({8}), std::span<uint8_t>(got)).ok());
  EXPECT_EQ(got, Hex({1, 2, 11, 12, 21, 22, 31, 32}));
  // Patch inner chunk 1 (elements 2-3) and one element of inner chunk 3.
  const std::vector<uint8_t> two = {100, 101}, one = {200};
  ASSERT_TRUE(a->Write(Region{{2}, {2}}, std::span<const uint8_t>(two)).ok());
  ASSERT_TRUE(a->Write(Region{{7}, {1}}, std::span<const uint8_t>(one)).ok());
  ASSERT_TRUE(a->Read(Region::All({8}), std::span<uint8_t>(got)).ok());
  EXPECT_EQ(got, Hex({1, 2, 100, 101, 21, 22, 31, 200}));
  // The shard kept its layout: patched bytes sit where the index said (reverse order).
  auto v = mem->get("a/c/0");
  EXPECT_EQ(Bytes((*v)->begin(), (*v)->begin() + 8), Hex({31, 200, 21, 22, 100, 101, 1, 2}));
}

TEST(ShardingArray, CompressedPartialWritesAppendAndWriteOnlyTheChunkAndIndex) {
  W3Like w(Json::array({Bytes_(), Zstd()}));
  std::vector<uint16_t> v(32);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint16_t>(3 * i + 1);
  // The first partial write of a compact shard grows it in place: the chunk past the data, the
  // index after it. Later ones reuse the space replaced chunks free, or grow again.
  for (int i = 0; i < 4; ++i) {
    w.counting->reset();
    for (auto& x : v) x = static_cast<uint16_t>(x + 1);
    ASSERT_TRUE(w.a->Write(Region{{16, 8}, {8, 4}}, std::span<const uint16_t>(v)).ok());
    const auto c = w.counting->counters();
    EXPECT_EQ(c.set + c.set_if, 0u) << i;
    EXPECT_EQ(c.patch_if, 1u) << i;  // the chunk and the index, as one change
    EXPECT_LT(c.bytes_written, W3Like::kIndex + W3Like::kInner + 32) << i;
  }
  std::vector<uint16_t> got(32);
  ASSERT_TRUE(w.a->Read(Region{{16, 8}, {8, 4}}, std::span<uint16_t>(got)).ok());
  EXPECT_EQ(got, v);
}

TEST(ShardingArray, RepeatedCompressedPartialWritesCompactTheShard) {
  ArrayOptions opt;
  opt.sharding.compaction_threshold = 0.25;
  W3Like w(Json::array({Bytes_(), Zstd()}), opt);
  Reference<uint16_t> ref({64, 64}, 0);
  ref.data = w.data;
  std::mt19937_64 rng(7);
  uint64_t sets = 0;
  for (int i = 0; i < 300; ++i) {
    const Region r = RandomRegion(rng, {64, 64}, 6);
    auto v = RandomValues<uint16_t>(rng, r.num_elements());
    ASSERT_TRUE(w.a->Write(r, std::span<const uint16_t>(v)).ok());
    ref.Write(r, v);
  }
  sets = w.counting->counters().set_if;
  EXPECT_LT(sets, 150u);  // most writes patched in place (freed space is reused first)
  // Emptying half the shard leaves more than the threshold unused: the write compacts it.
  w.counting->reset();
  const std::vector<uint16_t> zeros(64 * 32, 0);
  ASSERT_TRUE(w.a->Write(Region{{0, 0}, {64, 32}}, std::span<const uint16_t>(zeros)).ok());
  ref.Write(Region{{0, 0}, {64, 32}}, zeros);
  EXPECT_EQ(w.counting->counters().set_if, 1u);
  EXPECT_EQ(w.counting->counters().patch_if, 0u);
  std::vector<uint16_t> got(64 * 64);
  ASSERT_TRUE(w.a->Read(Region::All({64, 64}), std::span<uint16_t>(got)).ok());
  EXPECT_EQ(got, ref.data);
  // Unused bytes stay under the compaction threshold.
  auto v = w.mem->get("a/c/0/0");
  auto sharding = CodecFrom(Sharding({8, 4}, Json::array({Bytes_(), Zstd()})));
  ASSERT_TRUE(sharding.ok());
  Bytes full(64 * 64 * 2);
  const ChunkSpec spec{
      {64, 64}, DataType(DataTypeId::kUInt16), FillValue::Zero(DataType(DataTypeId::kUInt16))};
  Bytes compact;
  ASSERT_TRUE((*sharding)
                  ->Encode(spec,
                           ByteView(reinterpret_cast<const uint8_t*>(ref.data.data()), full.size()),
                           compact)
                  .ok());
  EXPECT_LE((*v)->size(), 2 * compact.size() + 64);
}

TEST(ShardingArray, PartialWriteThatRewritesAShardLeavesFreeSpaceBeforeTheIndex) {
  for (const char* loc : {"end", "start"}) {
    auto mem = MemoryStore::Create();
    ArrayOptions opt;
    opt.sharding.append_reserve = 0.5;
    auto a = MustCreate(mem,
                        Meta({16}, {16}, DataType(DataTypeId::kUInt8),
                             Json::array({Sharding({4}, Json::array({{{"name", "bytes"}}}), loc)})),
                        opt);
    const std::vector<uint8_t> v = {1, 2, 3, 4, 5, 6, 7, 8};
    ASSERT_TRUE(a->Write(Region{{0}, {8}}, std::span<const uint8_t>(v)).ok());
    // 8 data bytes, 4 free, 4 * 16 + 4 index.
    EXPECT_EQ((**mem->get("a/c/0")).size(), 8u + 4 + 68) << loc;
    // The next new inner chunk goes into the free space: no whole-shard set.
    auto counting = std::make_shared<CountingStore>(mem);
    auto b = Array::Open(counting, "a", opt);
    ASSERT_TRUE(b.ok());
    ASSERT_TRUE((*b)->Write(Region{{8}, {4}}, std::span<const uint8_t>(v.data(), 4)).ok());
    EXPECT_EQ(counting->counters().set + counting->counters().set_if, 0u) << loc;
    EXPECT_EQ(counting->counters().bytes_written, 4u + 68) << loc;
    std::vector<uint8_t> got(16);
    ASSERT_TRUE((*b)->Read(Region::All({16}), std::span<uint8_t>(got)).ok());
    EXPECT_EQ(got, Hex({1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 0, 0, 0, 0})) << loc;
  }
}

TEST(ShardingArray, StoreWithoutSetRangeRewritesTheWholeShard) {
  auto mem = MemoryStore::Create();
  auto store = std::make_shared<NoSetRangeStore>(mem);
  auto a = MustCreate(store, Meta({64, 64}, {64, 64}, DataType(DataTypeId::kUInt16),
                                  Json::array({Sharding({8, 4}, Json::array({Bytes_()}))})));
  std::vector<uint16_t> data(64 * 64, 5);
  ASSERT_TRUE(a->Write(Region::All({64, 64}), std::span<const uint16_t>(data)).ok());
  store->reset();
  const std::vector<uint16_t> one = {9};
  ASSERT_TRUE(a->Write(Region{{3, 3}, {1, 1}}, std::span<const uint16_t>(one)).ok());
  const auto c = store->counters();
  EXPECT_EQ(c.set_if, 1u);
  EXPECT_EQ(c.set_range + c.patch_if, 0u);
  EXPECT_EQ(c.bytes_written, 64u * 64 * 2 + W3Like::kIndex);
  std::vector<uint16_t> got(64 * 64);
  ASSERT_TRUE(a->Read(Region::All({64, 64}), std::span<uint16_t>(got)).ok());
  data[3 * 64 + 3] = 9;
  EXPECT_EQ(got, data);
}

TEST(ShardingArray, WriteCoveringTheWholeShardNeverReadsTheOldOne) {
  W3Like w(Json::array({Bytes_(), Zstd()}));
  ASSERT_TRUE(w.a->Write(Region::All({64, 64}), std::span<const uint16_t>(w.data)).ok());
  ASSERT_TRUE(w.a->Fill(Region::All({64, 64}), uint16_t{4}).ok());
  const auto c = w.counting->counters();
  EXPECT_EQ(c.get_into + c.get_if + c.open_reader, 0u);
  EXPECT_EQ(c.size, 0u);
  EXPECT_EQ(c.set + c.set_if, 2u);
}

// ---------------------------------------------------------------------------------------------
// Corruption.

class CorruptIndex : public ::testing::Test {
 protected:
  // uint8 [8], one shard, inner [2], index at end: 8 data bytes + 64 + 4.
  void SetUp() override {
    a = MustCreate(mem, Meta({8}, {8}, DataType(DataTypeId::kUInt8),
                             Json::array({Sharding({2}, Json::array({{{"name", "bytes"}}}))})));
    std::vector<uint8_t> d = {1, 2, 3, 4, 5, 6, 7, 8};
    ASSERT_TRUE(a->Write(Region::All({8}), std::span<const uint8_t>(d)).ok());
  }
  // Replaces entry `j` and re-seals the CRC.
  void SetEntry(uint64_t j, uint64_t off, uint64_t nb) {
    Bytes v = **mem->get("a/c/0");
    Bytes idx;
    for (uint64_t k = 0; k < 4; ++k) {
      uint64_t o, n;
      std::memcpy(&o, v.data() + 8 + 16 * k, 8);
      std::memcpy(&n, v.data() + 16 + 16 * k, 8);
      if (k == j) o = off, n = nb;
      PutU64(idx, o), PutU64(idx, n);
    }
    PutCrc(idx, 0);
    std::memcpy(v.data() + 8, idx.data(), idx.size());
    ASSERT_TRUE(mem->set("a/c/0", v).ok());
  }
  void ExpectCorruption(const char* what) {
    std::vector<uint8_t> got(8);
    Status whole = a->Read(Region::All({8}), std::span<uint8_t>(got));
    EXPECT_TRUE(whole.IsCorruption()) << what << ": " << whole;
    EXPECT_NE(whole.message().find("a/c/0"), std::string::npos) << whole;
    std::vector<uint8_t> two(2);
    Status part = a->Read(Region{{2}, {2}}, std::span<uint8_t>(two));
    EXPECT_TRUE(part.IsCorruption()) << what << ": " << part;
    const std::vector<uint8_t> one = {9};
    Status write = a->Write(Region{{3}, {1}}, std::span<const uint8_t>(one));
    EXPECT_TRUE(write.IsCorruption()) << what << ": " << write;
  }
  std::shared_ptr<MemoryStore> mem = MemoryStore::Create();
  std::shared_ptr<Array> a;
};

TEST_F(CorruptIndex, ChecksumMismatchIsCorruption) {
  Bytes v = **mem->get("a/c/0");
  v[8 + 16] ^= 1;  // inner chunk 1's offset, CRC left alone
  ASSERT_TRUE(mem->set("a/c/0", v).ok());
  ExpectCorruption("crc");
}

TEST_F(CorruptIndex, OffsetPastTheEndIsCorruption) {
  SetEntry(1, 1000, 2);
  ExpectCorruption("past end");
}

TEST_F(CorruptIndex, HugeOffsetThatOverflowsIsCorruption) {
  SetEntry(1, ~uint64_t{0} - 1, 4);
  ExpectCorruption("overflow");
}

TEST_F(CorruptIndex, OverlappingEntriesAreCorruption) {
  SetEntry(1, 1, 2);  // overlaps inner chunk 0 at [0, 2)
  ExpectCorruption("overlap");
}

TEST_F(CorruptIndex, HalfEmptyEntryIsCorruption) {
  SetEntry(1, kE, 2);
  ExpectCorruption("half sentinel");
}

TEST_F(CorruptIndex, ShardShorterThanItsIndexIsCorruption) {
  ASSERT_TRUE(mem->set("a/c/0", Hex({1, 2, 3})).ok());
  ExpectCorruption("short");
}

TEST_F(CorruptIndex, WrongInnerChunkSizeIsCorruption) {
  SetEntry(1, 2, 1);  // fixed-size inner chunk of 2 bytes recorded as 1
  std::vector<uint8_t> got(8);
  EXPECT_TRUE(a->Read(Region::All({8}), std::span<uint8_t>(got)).IsCorruption());
}

TEST_F(CorruptIndex, OverlapInAShardThatIsNeitherInCNorMortonOrderIsCorruption) {
  // Offsets 5, 2, 4, 6: not in C (= Morton) order, so the check sorts them; [4, 6) and [5, 7)
  // overlap.
  SetEntry(0, 5, 2);
  ExpectCorruption("overlap out of order");
}

// A compressed (zstd) shard, index at the end or the start: corrupted or truncated inner chunks
// and truncated values are Corruption naming the shard through every path of the pipeline.
class CorruptCompressed : public ::testing::TestWithParam<const char*> {
 protected:
  // uint16 [64, 64], one shard, inner [8, 4] (128 inner chunks of 64 bytes before zstd).
  void SetUp() override {
    a = MustCreate(
        mem, Meta({64, 64}, {64, 64}, DataType(DataTypeId::kUInt16),
                  Json::array({Sharding({8, 4}, Json::array({Bytes_(), Zstd()}), GetParam())})));
    std::vector<uint16_t> d(64 * 64);
    for (size_t i = 0; i < d.size(); ++i) d[i] = static_cast<uint16_t>(i * 7 % 1000 + 1);
    ASSERT_TRUE(a->Write(Region::All({64, 64}), std::span<const uint16_t>(d)).ok());
    value = **mem->get("a/c/0/0");
    index_at = start() ? 0 : value.size() - kIndex;
  }
  bool start() const { return std::string(GetParam()) == "start"; }
  uint64_t Entry(uint64_t j, int half) const {
    uint64_t v;
    std::memcpy(&v, value.data() + index_at + 16 * j + 8 * half, 8);
    return v;
  }
  // Rewrites entry j's nbytes and re-seals the index CRC.
  void SetNbytes(uint64_t j, uint64_t nb) {
    std::memcpy(value.data() + index_at + 16 * j + 8, &nb, 8);
    const uint32_t c = Crc32c(ByteView(value).subspan(index_at, kIndex - 4));
    std::memcpy(value.data() + index_at + kIndex - 4, &c, 4);
  }
  // Whole read, a read of the inner chunk at `at` alone, and a write of one element into it.
  void ExpectCorruption(const char* what, std::vector<uint64_t> at = {0, 0}) {
    ASSERT_TRUE(mem->set("a/c/0/0", value).ok());
    std::vector<uint16_t> all(64 * 64);
    Status whole = a->Read(Region::All({64, 64}), std::span<uint16_t>(all));
    EXPECT_TRUE(whole.IsCorruption()) << what << ": " << whole;
    EXPECT_NE(whole.message().find("a/c/0/0"), std::string::npos) << what << ": " << whole;
    std::vector<uint16_t> one_chunk(32);
    Status part = a->Read(Region{at, {8, 4}}, std::span<uint16_t>(one_chunk));
    EXPECT_TRUE(part.IsCorruption()) << what << ": " << part;
    EXPECT_NE(part.message().find("a/c/0/0"), std::string::npos) << what << ": " << part;
    const std::vector<uint16_t> x = {9};
    Status write = a->Write(Region{{at[0] + 1, at[1] + 1}, {1, 1}}, std::span<const uint16_t>(x));
    EXPECT_TRUE(write.IsCorruption()) << what << ": " << write;
  }
  static constexpr uint64_t kIndex = 128 * 16 + 4;
  std::shared_ptr<MemoryStore> mem = MemoryStore::Create();
  std::shared_ptr<Array> a;
  Bytes value;
  uint64_t index_at = 0;
};

TEST_P(CorruptCompressed, CorruptedInnerChunkFrameIsCorruption) {
  // The zstd frame magic of inner chunk [0, 0]; the index is intact.
  for (int i = 0; i < 4; ++i) value[Entry(0, 0) + i] ^= 0x5A;
  ExpectCorruption("bad frame");
}

TEST_P(CorruptCompressed, TruncatedInnerChunkIsCorruption) {
  // The index (CRC re-sealed) records half of inner chunk [0, 0]'s bytes.
  SetNbytes(0, Entry(0, 1) / 2);
  ExpectCorruption("truncated inner chunk");
}

TEST_P(CorruptCompressed, TruncatedShardIsCorruption) {
  // Cuts into the last inner chunk in Morton order, [7, 15]; a partial read of a chunk whose
  // bytes are intact (with the index at the start) need not notice.
  value.resize(value.size() - 40);
  ExpectCorruption("truncated shard", {56, 60});
}

TEST_P(CorruptCompressed, ShardCutInsideItsIndexIsCorruption) {
  value.resize(start() ? kIndex / 2 : value.size() - kIndex / 2);
  ExpectCorruption("cut in index");
}

INSTANTIATE_TEST_SUITE_P(IndexLocation, CorruptCompressed, ::testing::Values("end", "start"));

// ---------------------------------------------------------------------------------------------
// Configuration.

// chunk_shape built in C++ from ints holds signed JSON integers: positive ones are taken, zero
// and negative ones refused.
TEST(ShardingCodec, InnerShapeFromSignedIntegersIsTakenWhenPositive) {
  auto config = [](Json shape) {
    return Json::array({{{"name", "sharding_indexed"},
                         {"configuration",
                          {{"chunk_shape", std::move(shape)},
                           {"codecs", Json::array({{{"name", "bytes"}}})},
                           {"index_codecs", Json::array({Bytes_(), Crc()})}}}}});
  };
  auto ok = Array::Create(
      MemoryStore::Create(), "a",
      Meta({8}, {8}, DataType(DataTypeId::kUInt8), config(Json::array({static_cast<int>(4)}))));
  EXPECT_TRUE(ok.ok()) << ok.status();
  for (int bad : {0, -4}) {
    auto r =
        Array::Create(MemoryStore::Create(), "a",
                      Meta({8}, {8}, DataType(DataTypeId::kUInt8), config(Json::array({bad}))));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status();
  }
}

TEST(ShardingCodec, InnerShapeThatDoesNotDivideTheShardIsInvalidArgument) {
  auto r = Array::Create(MemoryStore::Create(), "a",
                         Meta({8}, {8}, DataType(DataTypeId::kUInt8),
                              Json::array({Sharding({3}, Json::array({{{"name", "bytes"}}}))})));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status();
  EXPECT_NE(r.status().message().find("does not divide"), std::string::npos) << r.status();
}

TEST(ShardingCodec, CompressedIndexCodecsAreInvalidArgument) {
  Json s = Sharding({2}, Json::array({{{"name", "bytes"}}}));
  s["configuration"]["index_codecs"] = Json::array({Bytes_(), Zstd()});
  auto r = Array::Create(MemoryStore::Create(), "a",
                         Meta({8}, {8}, DataType(DataTypeId::kUInt8), Json::array({s})));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("fixed"), std::string::npos) << r.status();
}

TEST(ShardingCodec, IndexLocationDefaultsToEndAndRoundTripsThroughJson) {
  Json s = Sharding({2}, Json::array({{{"name", "bytes"}}}));
  s["configuration"].erase("index_location");
  auto c = CodecFrom(s);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->index_location(), ShardingCodec::IndexLocation::kEnd);
  EXPECT_EQ((*c)->ToJson()["configuration"]["index_location"], "end");
  Json bad = s;
  bad["configuration"]["index_location"] = "middle";
  EXPECT_TRUE(CodecFrom(bad).status().IsInvalidArgument());
}

// ---------------------------------------------------------------------------------------------
// Concurrency.

void ConcurrentWritesLoseNothing(std::shared_ptr<Store> store, Json inner) {
  const std::vector<uint64_t> shape = {64, 96};
  auto a = MustCreate(store, Meta(shape, {64, 96}, DataType(DataTypeId::kUInt32),
                                  Json::array({Sharding({8, 8}, std::move(inner))})));
  ASSERT_TRUE(a);
  // Thread t owns rows r with r % 8 == t; its writes are random boxes within one owned row.
  constexpr int kThreads = 8, kWrites = 250;
  Reference<uint32_t> ref(shape, 0);
  std::vector<std::thread> threads;
  std::vector<Status> errors(kThreads);
  std::mutex ref_mu;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(100 + t);
      for (int i = 0; i < kWrites; ++i) {
        const uint64_t row = (rng() % 8) * 8 + t;
        const uint64_t len = 1 + rng() % 12;
        const uint64_t col = rng() % (shape[1] - len + 1);
        const Region r{{row, col}, {1, len}};
        std::vector<uint32_t> v(len);
        for (auto& x : v) x = static_cast<uint32_t>(rng() % 100000 + 1);
        Status st = a->Write(r, std::span<const uint32_t>(v));
        if (!st.ok()) {
          errors[t] = st;
          return;
        }
        std::lock_guard<std::mutex> l(ref_mu);
        ref.Write(r, v);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const Status& s : errors) ASSERT_TRUE(s.ok()) << s;
  std::vector<uint32_t> got(ref.data.size());
  ASSERT_TRUE(a->Read(Region::All(shape), std::span<uint32_t>(got)).ok());
  size_t wrong = 0;
  for (size_t i = 0; i < got.size(); ++i) wrong += got[i] != ref.data[i];
  EXPECT_EQ(wrong, 0u);
}

TEST(ShardingConcurrency, EightThreadsOfSmallWritesToOneShardLoseNothing) {
  ConcurrentWritesLoseNothing(MemoryStore::Create(), Json::array({Bytes_()}));
}

TEST(ShardingConcurrency, EightThreadsOfCompressedWritesToOneShardLoseNothing) {
  ConcurrentWritesLoseNothing(MemoryStore::Create(), Json::array({Bytes_(), Zstd()}));
}

TEST(ShardingConcurrency, EightThreadsOnALocalStoreLoseNothing) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("zarrpp_sharding_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto store = LocalStore::Create(dir.string());
  ASSERT_TRUE(store.ok()) << store.status();
  ConcurrentWritesLoseNothing(*store, Json::array({Bytes_()}));
  ConcurrentWritesLoseNothing(std::make_shared<NoSetRangeStore>(*store),
                              Json::array({Bytes_(), Zstd()}));
  std::filesystem::remove_all(dir);
}

// ---------------------------------------------------------------------------------------------
// Appends along a sharded axis: each one patches the shard in place (its new inner chunks past
// the shard's data, then the index), so the bytes written stay close to the final shards' size
// and the array is whole after every call.

float StepValue(uint64_t t, uint64_t y, uint64_t x) {
  return static_cast<float>(t * 10000 + y * 100 + x);
}

std::vector<float> Step(uint64_t t, uint64_t ny, uint64_t nx) {
  std::vector<float> v(ny * nx);
  for (uint64_t y = 0; y < ny; ++y) {
    for (uint64_t x = 0; x < nx; ++x) v[y * nx + x] = StepValue(t, y, x);
  }
  return v;
}

void AppendStepsCheckingEachOne(std::shared_ptr<Store> base, const char* location, bool compress) {
  SCOPED_TRACE(std::string(location) + (compress ? " zstd" : " raw"));
  constexpr uint64_t kNy = 32, kNx = 48, kSteps = 20, kDepth = 8;
  auto counting = std::make_shared<CountingStore>(base);
  Json inner = compress ? Json::array({Bytes_(), Zstd()}) : Json::array({Bytes_()});
  ArrayMetadata m = Meta({0, kNy, kNx}, {kDepth, kNy, kNx}, DataType(DataTypeId::kFloat32),
                         Json::array({Sharding({1, 16, 16}, inner, location)}));
  auto a = MustCreate(counting, m);
  ASSERT_NE(a, nullptr);
  counting->reset();
  uint64_t sets = 0;
  for (uint64_t t = 0; t < kSteps; ++t) {
    const std::vector<float> step = Step(t, kNy, kNx);
    ASSERT_TRUE(a->Append(std::span<const float>(step), {1, kNy, kNx}, 0).ok()) << t;
    // A fresh handle sees every step so far, each value in its place.
    auto b = Array::Open(base, "a");
    ASSERT_TRUE(b.ok()) << b.status();
    ASSERT_EQ((*b)->shape()[0], t + 1);
    std::vector<float> got((t + 1) * kNy * kNx);
    ASSERT_TRUE((*b)->Read(Region::All((*b)->shape()), std::span<float>(got)).ok()) << t;
    for (uint64_t u = 0; u <= t; ++u) {
      const std::vector<float> want = Step(u, kNy, kNx);
      ASSERT_TRUE(std::equal(want.begin(), want.end(), got.begin() + u * kNy * kNx))
          << "step " << u << " after append " << t;
    }
  }
  const auto c = counting->counters();
  sets = c.set + c.set_if;
  // One whole-shard set per shard (its first step, a new shard); every later step is a patch.
  const uint64_t shards = (kSteps + kDepth - 1) / kDepth;
  EXPECT_EQ(c.patch_if, kSteps - shards);
  uint64_t final_bytes = 0;
  for (uint64_t s = 0; s < shards; ++s) {
    auto v = base->get("a/c/" + std::to_string(s) + "/0/0");
    ASSERT_TRUE(v.ok() && v->has_value()) << s;
    final_bytes += (*v)->size();
  }
  auto meta = base->get("a/zarr.json");
  ASSERT_TRUE(meta.ok() && meta->has_value());
  // Every metadata document written is at most the final one's size. Each append writes its
  // encoded inner chunks once, and one index: nothing of the shard is written twice but indexes.
  const uint64_t metadata_bytes = kSteps * (*meta)->size();
  const uint64_t index_bytes = kDepth * (kNy / 16) * (kNx / 16) * 16 + 4;
  EXPECT_LE(c.bytes_written, metadata_bytes + final_bytes + (kSteps - shards) * index_bytes)
      << "final shards " << final_bytes << ", metadata sets " << sets;
  // No shard is ever read whole: only indexes (and no old chunk, since none is overwritten).
  EXPECT_LE(c.bytes_read, kSteps * 2 * index_bytes);
}

TEST(ShardingAppend, StepsPatchTheOpenShardInPlaceOnAMemoryStore) {
  for (const char* loc : {"end", "start"}) {
    for (bool compress : {false, true}) {
      AppendStepsCheckingEachOne(MemoryStore::Create(), loc, compress);
    }
  }
}

TEST(ShardingAppend, StepsPatchTheOpenShardInPlaceOnALocalStore) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("zarrpp_append_" + std::to_string(::getpid()));
  for (const char* loc : {"end", "start"}) {
    for (bool compress : {false, true}) {
      std::filesystem::remove_all(dir);
      auto store = LocalStore::Create(dir.string());
      ASSERT_TRUE(store.ok()) << store.status();
      AppendStepsCheckingEachOne(*store, loc, compress);
    }
  }
  std::filesystem::remove_all(dir);
}

// Readers on handles of their own, racing the appends: every step they see holds its values.
TEST(ShardingAppend, ReadersRacingAppendsSeeWholeSteps) {
  constexpr uint64_t kNy = 16, kNx = 16, kSteps = 64;
  const auto dir =
      std::filesystem::temp_directory_path() / ("zarrpp_append_race_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto store = LocalStore::Create(dir.string());
  ASSERT_TRUE(store.ok()) << store.status();
  ArrayMetadata m = Meta({0, kNy, kNx}, {16, kNy, kNx}, DataType(DataTypeId::kFloat32),
                         Json::array({Sharding({1, 8, 8}, Json::array({Bytes_(), Zstd()}))}));
  auto a = MustCreate(*store, m);
  ASSERT_NE(a, nullptr);
  std::atomic<bool> done{false};
  std::atomic<uint64_t> checked{0}, wrong{0}, failed{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      while (!done.load()) {
        auto b = Array::Open(*store, "a");
        if (!b.ok()) {
          ++failed;
          continue;
        }
        const uint64_t n = (*b)->shape()[0];
        std::vector<float> got(n * kNy * kNx);
        if (!(*b)->Read(Region::All((*b)->shape()), std::span<float>(got)).ok()) {
          ++failed;
          continue;
        }
        for (uint64_t t = 0; t < n; ++t) {
          for (uint64_t i = 0; i < kNy * kNx; ++i) {
            wrong += got[t * kNy * kNx + i] != StepValue(t, i / kNx, i % kNx);
          }
        }
        ++checked;
      }
    });
  }
  for (uint64_t t = 0; t < kSteps; ++t) {
    const std::vector<float> step = Step(t, kNy, kNx);
    ASSERT_TRUE(a->Append(std::span<const float>(step), {1, kNy, kNx}, 0).ok()) << t;
  }
  done = true;
  for (auto& th : readers) th.join();
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_EQ(failed.load(), 0u);
  EXPECT_GT(checked.load(), 0u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace zarrpp
