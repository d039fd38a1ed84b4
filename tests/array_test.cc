// Arrays end to end: random regions against a plain in-memory reference, partial chunk merges,
// fill values, empty chunks, 0-d and zero-length arrays, and every bad input.
#include "zarrpp/array.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <thread>

#include "src/array/indexing.h"
#include "support/reference_array.h"
#include "zarrpp/json.h"
#include "zarrpp/local_store.h"
#include "zarrpp/memory_store.h"

namespace zarrpp {
namespace {

using test_support::Reference;

Region RandomRegion(std::mt19937_64& rng, const std::vector<uint64_t>& shape) {
  Region r;
  for (uint64_t s : shape) {
    uint64_t a = rng() % (s + 1), b = rng() % (s + 1);
    if (a > b) std::swap(a, b);
    r.origin.push_back(a);
    r.shape.push_back(b - a);
  }
  return r;
}

ArrayMetadata Meta(std::vector<uint64_t> shape, std::vector<uint64_t> chunks, DataType t,
                   Json codecs) {
  ArrayMetadata m;
  m.shape = std::move(shape);
  m.chunk_shape = std::move(chunks);
  m.data_type = t;
  m.fill_value = FillValue::Zero(t);
  m.codecs = std::move(codecs);
  return m;
}

struct ChainCase {
  const char* name;
  Json codecs;
};

std::vector<ChainCase> Chains() {
  return {
      {"bytes", Json::parse(R"([{"name":"bytes","configuration":{"endian":"little"}}])")},
      {"bytes_big_crc",
       Json::parse(R"([{"name":"bytes","configuration":{"endian":"big"}},{"name":"crc32c"}])")},
      {"transpose_zstd", Json::parse(R"([{"name":"transpose","configuration":{"order":[2,0,1]}},
          {"name":"bytes","configuration":{"endian":"little"}},{"name":"zstd","configuration":{"level":1}}])")},
      {"blosc_gzip", Json::parse(R"([{"name":"bytes","configuration":{"endian":"little"}},
          {"name":"blosc","configuration":{"cname":"lz4","clevel":5,"shuffle":"shuffle","typesize":2,"blocksize":0}},
          {"name":"gzip","configuration":{"level":1}}])")},
  };
}

class ArrayRandomRegions : public ::testing::TestWithParam<std::tuple<int, bool, PipelineKind>> {};

TEST_P(ArrayRandomRegions, MatchReference) {
  auto [chain_index, local, pipeline] = GetParam();
  const ChainCase c = Chains()[chain_index];
  std::shared_ptr<Store> store;
  std::filesystem::path dir;
  if (local) {
    dir = std::filesystem::temp_directory_path() /
          ("zarrpp_array_test_" + std::to_string(::getpid()) + "_" + c.name);
    std::filesystem::remove_all(dir);
    auto s = LocalStore::Create(dir.string());
    ASSERT_TRUE(s.ok()) << s.status();
    store = *s;
  } else {
    store = MemoryStore::Create();
  }
  const std::vector<uint64_t> shape = {37, 23, 11};
  ArrayMetadata m = Meta(shape, {8, 5, 4}, DataType(DataTypeId::kUInt16), c.codecs);
  m.fill_value = FillValue{{0x34, 0x12}};  // 0x1234
  ArrayOptions opts;
  opts.pipeline = pipeline;
  opts.min_task_bytes = 64;  // many tasks, to exercise concurrency
  auto arr = Array::Create(store, "group/arr", m, {}, opts);
  ASSERT_TRUE(arr.ok()) << arr.status();
  Reference<uint16_t> ref(shape, 0x1234);
  std::mt19937_64 rng(42 + chain_index);
  for (int iter = 0; iter < 60; ++iter) {
    Region r = RandomRegion(rng, shape);
    std::vector<uint16_t> in(r.num_elements());
    // Some writes are all fill value, so chunks get erased again.
    const bool fill_only = iter % 7 == 3;
    for (auto& v : in) v = fill_only ? 0x1234 : static_cast<uint16_t>(rng());
    ASSERT_TRUE((*arr)->Write(r, std::span<const uint16_t>(in)).ok());
    ref.Write(r, in);
    Region q = RandomRegion(rng, shape);
    std::vector<uint16_t> out(q.num_elements(), 0xDEAD);
    ASSERT_TRUE((*arr)->Read(q, std::span<uint16_t>(out)).ok());
    ASSERT_EQ(out, ref.Read(q)) << "iteration " << iter << " region " << q.ToString();
  }
  // A fresh handle sees the same contents.
  auto reopened = Array::Open(store, "/group//arr/", opts);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  std::vector<uint16_t> all(ref.data.size());
  ASSERT_TRUE((*reopened)->Read(Region::All(shape), std::span<uint16_t>(all)).ok());
  EXPECT_EQ(all, ref.data);
  if (local) std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(, ArrayRandomRegions,
                         ::testing::Combine(::testing::Range(0, 4), ::testing::Bool(),
                                            ::testing::Values(PipelineKind::kFused,
                                                              PipelineKind::kBatched)),
                         [](const auto& info) {
                           return std::string(Chains()[std::get<0>(info.param)].name) +
                                  (std::get<1>(info.param) ? "_local" : "_memory") +
                                  (std::get<2>(info.param) == PipelineKind::kFused ? "_fused"
                                                                                   : "_batched");
                         });

TEST(Array, MissingChunksReadAsFillValue) {
  auto store = MemoryStore::Create();
  ArrayMetadata m = Meta({10}, {4}, DataType(DataTypeId::kFloat64),
                         Json::parse(R"([{"name":"bytes","configuration":{"endian":"little"}}])"));
  double fill = -2.5;
  m.fill_value.bytes.resize(8);
  std::memcpy(m.fill_value.bytes.data(), &fill, 8);
  auto arr = Array::Create(store, "", m);
  ASSERT_TRUE(arr.ok()) << arr.status();
  std::vector<double> out(10, 0);
  ASSERT_TRUE((*arr)->Read(Region::All({10}), std::span<double>(out)).ok());
  for (double v : out) EXPECT_EQ(v, -2.5);
  auto keys = store->list();
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, std::vector<std::string>{"zarr.json"});
}

TEST(Array, EmptyChunksAreNotStoredAndAreErased) {
  auto store = MemoryStore::Create();
  ArrayMetadata m = Meta({8}, {4}, DataType(DataTypeId::kInt32),
                         Json::parse(R"([{"name":"bytes","configuration":{"endian":"little"}}])"));
  auto arr = Array::Create(store, "a", m);
  ASSERT_TRUE(arr.ok());
  std::vector<int32_t> v = {1, 2, 3, 4, 0, 0, 0, 0};
  ASSERT_TRUE((*arr)->Write(Region::All({8}), std::span<const int32_t>(v)).ok());
  EXPECT_TRUE(*store->exists("a/c/0"));
  EXPECT_FALSE(*store->exists("a/c/1"));
  std::vector<int32_t> zeros(4, 0);
  ASSERT_TRUE((*arr)->Write(Region{{0}, {4}}, std::span<const int32_t>(zeros)).ok());
  EXPECT_FALSE(*store->exists("a/c/0"));
}

TEST(Array, WriteEmptyChunksOptionStoresFillChunks) {
  auto store = MemoryStore::Create();
  ArrayMetadata m = Meta({8}, {4}, DataType(DataTypeId::kInt32),
                         Json::parse(R"([{"name":"bytes","configuration":{"endian":"little"}}])"));
  ArrayOptions o;
  o.write_empty_chunks = true;
  auto arr = Array::Create(store, "a", m, {}, o);
  ASSERT_TRUE(arr.ok());
  std::vector<int32_t> zeros(8, 0);
  ASSERT_TRUE((*arr)->Write(Region::All({8}), std::span<const int32_t>(zeros)).ok());
  EXPECT_TRUE(*store->exists("a/c/0"));
  EXPECT_TRUE(*store->exists("a/c/1"));
}

TEST(Array, NanEqualsNanAndSignedZeroDiffersForEmptyTest) {
  auto store = MemoryStore::Create();
  ArrayMetadata m = Meta({4}, {2}, DataType(DataTypeId::kFloat32),
                         Json::parse(R"([{"name":"bytes","configuration":{"endian":"little"}}])"));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  m.fill_value.bytes.resize(4);
  std::memcpy(m.fill_value.bytes.data(), &nan, 4);
  auto arr = Array::Create(store, "", m);
  ASSERT_TRUE(arr.ok());
  // A NaN with another payload still counts as the NaN fill value.
  uint32_t other_nan_bits = 0x7fc00001u;
  float other_nan;
  std::memcpy(&other_nan, &other_nan_bits, 4);
  std::vector<float> v = {other_nan, nan, 0.0f, -0.0f};
  ASSERT_TRUE((*arr)->Write(Region::All({4}), std::span<const float>(v)).ok());
  EXPECT_FALSE(*store->exists("c/0"));
  EXPECT_TRUE(*store->exists("c/1"));

  ArrayMetadata z = Meta({2}, {2}, DataType(DataTypeId::kFloat32),
                         Json::parse(R"([{"name":"bytes","configuration":{"endian":"little"}}])"));
  // A separate store: the root of `store` is an array, which cannot have children.
  auto store2 = MemoryStore::Create();
  auto arr2 = Array::Create(store2, "z", z);
  ASSERT_TRUE(arr2.ok());
  std::vector<float> negzero = {-0.0f, -0.0f};
  ASSERT_TRUE((*arr2)->Write(Region::All({2}), std::span<const float>(negzero)).ok());
  EXPECT_TRUE(*store2->exists("z/c/0")) << "-0.0 is not the fill value +0.0";
}

TEST(Array, ZeroDimensionalArrayUsesKeyC) {
  auto store = MemoryStore::Create();
  ArrayMetadata m = Meta({}, {}, DataType(DataTypeId::kInt64),
                         Json::parse(R"([{"name":"bytes","configuration":{"endian":"little"}}])"));
  auto arr = Array::Create(store, "scalar", m);
  ASSERT_TRUE(arr.ok()) << arr.status();
  int64_t v = -77;
  ASSERT_TRUE((*arr)->Write(Region{}, std::span<const int64_t>(&v, 1)).ok());
  EXPECT_TRUE(*store->exists("scalar/c"));
  int64_t out = 0;
  ASSERT_TRUE((*arr)->Read(Region{}, std::span<int64_t>(&out, 1)).ok());
  EXPECT_EQ(out, -77);
}

TEST(Array, ZeroLengthDimensionReadsAndWritesNothing) {
  auto store = MemoryStore::Create();
  ArrayMetadata m =
      Meta({0, 5}, {2, 2}, DataType(DataTypeId::kUInt8), Json::parse(R"([{"name":"bytes"}])"));
  auto arr = Array::Create(store, "", m);
  ASSERT_TRUE(arr.ok()) << arr.status();
  std::vector<uint8_t> none;
  EXPECT_TRUE((*arr)->Write(Region::All({0, 5}), std::span<const uint8_t>(none)).ok());
  EXPECT_TRUE((*arr)->Read(Region::All({0, 5}), std::span<uint8_t>(none)).ok());
  EXPECT_EQ(store->list()->size(), 1u);
}

TEST(Array, FillWritesScalarEverywhereAndEdgeChunksKeepFillOutside) {
  auto store = MemoryStore::Create();
  ArrayMetadata m =
      Meta({10, 7}, {4, 4}, DataType(DataTypeId::kUInt8), Json::parse(R"([{"name":"bytes"}])"));
  auto arr = Array::Create(store, "", m);
  ASSERT_TRUE(arr.ok());
  ASSERT_TRUE((*arr)->Fill(Region{{1, 0}, {9, 7}}, uint8_t{5}).ok());
  std::vector<uint8_t> out(70);
  ASSERT_TRUE((*arr)->Read(Region::All({10, 7}), std::span<uint8_t>(out)).ok());
  for (int r = 0; r < 10; ++r)
    for (int c = 0; c < 7; ++c) EXPECT_EQ(out[r * 7 + c], r == 0 ? 0 : 5) << r << "," << c;
  // The edge chunk (2,1) holds rows 8..11 x cols 4..7; outside the array it holds the fill value.
  auto raw = store->get("c/2/1");
  ASSERT_TRUE(raw.ok() && raw->has_value());
  ASSERT_EQ((*raw)->size(), 16u);
  EXPECT_EQ((**raw)[0], 5);  // (8,4)
  EXPECT_EQ((**raw)[3], 0);  // (8,7) is beyond column 6
  EXPECT_EQ((**raw)[8], 0);  // (10,4) is beyond row 9
}

TEST(Array, ConcurrentWritersToSharedChunksLoseNothing) {
  auto store = MemoryStore::Create();
  ArrayMetadata m = Meta(
      {64, 64}, {16, 16}, DataType(DataTypeId::kUInt32),
      Json::parse(
          R"([{"name":"bytes","configuration":{"endian":"little"}},{"name":"zstd","configuration":{"level":1}}])"));
  auto arr = Array::Create(store, "", m);
  ASSERT_TRUE(arr.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      // Thread t owns every 8th column: each write is a partial chunk write.
      for (uint64_t r = 0; r < 64; r += 4) {
        for (uint64_t c = t; c < 64; c += 8) {
          std::vector<uint32_t> v(4);
          for (int i = 0; i < 4; ++i) v[i] = static_cast<uint32_t>((r + i) * 64 + c + 1);
          ASSERT_TRUE((*arr)->Write(Region{{r, c}, {4, 1}}, std::span<const uint32_t>(v)).ok());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<uint32_t> out(64 * 64);
  ASSERT_TRUE((*arr)->Read(Region::All({64, 64}), std::span<uint32_t>(out)).ok());
  for (uint32_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], i + 1);
}

TEST(ArrayErrors, OutOfBoundsRegionIsInvalidArgumentBeforeIo) {
  auto store = MemoryStore::Create();
  auto arr = Array::Create(
      store, "", Meta({10}, {4}, DataType(DataTypeId::kUInt8), Json::parse(R"(["bytes"])")));
  ASSERT_TRUE(arr.ok()) << arr.status();
  std::vector<uint8_t> buf(4);
  Status s = (*arr)->Write(Region{{8}, {4}}, std::span<const uint8_t>(buf));
  EXPECT_TRUE(s.IsInvalidArgument()) << s;
  EXPECT_NE(s.message().find("out of bounds"), std::string::npos) << s;
  s = (*arr)->Read(Region{{0, 0}, {1, 1}}, std::span<uint8_t>(buf));
  EXPECT_TRUE(s.IsInvalidArgument()) << s;
  s = (*arr)->Read(Region{{0}, {3}}, std::span<uint8_t>(buf));  // buffer of 4 for 3 elements
  EXPECT_TRUE(s.IsInvalidArgument()) << s;
  EXPECT_EQ(store->list()->size(), 1u);
}

TEST(ArrayErrors, TypedSpanOfWrongTypeIsInvalidArgument) {
  auto store = MemoryStore::Create();
  auto arr =
      Array::Create(store, "",
                    Meta({4}, {4}, DataType(DataTypeId::kFloat32),
                         Json::parse(R"([{"name":"bytes","configuration":{"endian":"little"}}])")));
  ASSERT_TRUE(arr.ok());
  std::vector<int32_t> v(4);
  EXPECT_TRUE((*arr)->Read(Region::All({4}), std::span<int32_t>(v)).IsInvalidArgument());
}

TEST(ArrayErrors, CorruptedChunkIsCorruptionNamingTheKey) {
  auto store = MemoryStore::Create();
  auto arr = Array::Create(
      store, "x",
      Meta({4}, {4}, DataType(DataTypeId::kUInt8), Json::parse(R"(["bytes", "crc32c"])")));
  ASSERT_TRUE(arr.ok()) << arr.status();
  std::vector<uint8_t> v = {1, 2, 3, 4};
  ASSERT_TRUE((*arr)->Write(Region::All({4}), std::span<const uint8_t>(v)).ok());
  auto got = store->get("x/c/0");
  ASSERT_TRUE(got.ok() && got->has_value());
  Bytes raw = **got;
  raw[1] ^= 0xFF;
  ASSERT_TRUE(store->set("x/c/0", raw).ok());
  std::vector<uint8_t> out(4);
  Status s = (*arr)->Read(Region::All({4}), std::span<uint8_t>(out));
  EXPECT_TRUE(s.IsCorruption()) << s;
  EXPECT_NE(s.message().find("x/c/0"), std::string::npos) << s;
  // A truncated chunk too.
  ASSERT_TRUE(store->set("x/c/0", ByteView(raw.data(), 2)).ok());
  s = (*arr)->Read(Region::All({4}), std::span<uint8_t>(out));
  EXPECT_TRUE(s.IsCorruption()) << s;
  // A partial write over a corrupted chunk fails and leaves it as it was.
  s = (*arr)->Write(Region{{0}, {1}}, std::span<const uint8_t>(v.data(), 1));
  EXPECT_TRUE(s.IsCorruption()) << s;
  EXPECT_EQ((*store->get("x/c/0"))->size(), 2u);
}

TEST(ArrayErrors, TruncatedUncompressedChunkIsCorruptionOnPartialRead) {
  // With a bare bytes chain, partial reads scatter straight from the stored bytes: their size is
  // checked first.
  auto store = MemoryStore::Create();
  auto arr = Array::Create(
      store, "u", Meta({8, 8}, {4, 4}, DataType(DataTypeId::kUInt8), Json::parse(R"(["bytes"])")));
  ASSERT_TRUE(arr.ok()) << arr.status();
  std::vector<uint8_t> v(64, 7);
  ASSERT_TRUE((*arr)->Write(Region::All({8, 8}), std::span<const uint8_t>(v)).ok());
  ASSERT_TRUE(store->set("u/c/0/0", Bytes(15, 7)).ok());
  std::vector<uint8_t> out(4);
  Status s = (*arr)->Read(Region{{1, 1}, {2, 2}}, std::span<uint8_t>(out));
  EXPECT_TRUE(s.IsCorruption()) << s;
  EXPECT_NE(s.message().find("u/c/0/0"), std::string::npos) << s;
  ASSERT_TRUE((*arr)->Read(Region{{5, 5}, {2, 2}}, std::span<uint8_t>(out)).ok());
  EXPECT_EQ(out, std::vector<uint8_t>(4, 7));
}

TEST(ArrayErrors, CreateRefusesExistingNodeUnlessOverwrite) {
  auto store = MemoryStore::Create();
  auto m = Meta({4}, {4}, DataType(DataTypeId::kUInt8), Json::parse(R"(["bytes"])"));
  ASSERT_TRUE(Array::Create(store, "a", m).ok());
  std::vector<uint8_t> v = {1, 2, 3, 4};
  ASSERT_TRUE(
      (*Array::Open(store, "a"))->Write(Region::All({4}), std::span<const uint8_t>(v)).ok());
  auto again = Array::Create(store, "a", m);
  EXPECT_TRUE(again.status().IsAlreadyExists()) << again.status();
  EXPECT_TRUE(*store->exists("a/c/0"));
  CreateOptions ow;
  ow.overwrite = true;
  ASSERT_TRUE(Array::Create(store, "a", m, ow).ok());
  EXPECT_FALSE(*store->exists("a/c/0"));
}

TEST(ArrayErrors, CreateWithOverwriteNeverDeletesOutsideALocalStoresRoot) {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("zarrpp_array_contain_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "outside" / "c");
  std::ofstream(dir / "outside" / "zarr.json") << "{}";
  std::ofstream(dir / "outside" / "c" / "0") << "precious";
  auto opened = LocalStore::Create((dir / "root").string());
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::shared_ptr<Store> store = *opened;
  fs::create_symlink(dir / "outside", dir / "root" / "a");
  auto m = Meta({4}, {4}, DataType(DataTypeId::kUInt8), Json::parse(R"(["bytes"])"));
  // Below the link: refused, since reading the link's metadata would leave the root.
  EXPECT_FALSE(Array::Create(store, "a/b", m, CreateOptions{.overwrite = true}).ok());
  // At the link: the link goes, a real array takes its place.
  ASSERT_TRUE(Array::Create(store, "a", m, CreateOptions{.overwrite = true}).ok());
  EXPECT_FALSE(fs::is_symlink(dir / "root" / "a"));
  EXPECT_TRUE(fs::exists(dir / "outside" / "zarr.json"));
  std::ifstream in(dir / "outside" / "c" / "0");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "precious");
  fs::remove_all(dir);
}

TEST(ArrayErrors, BadMetadataIsRefusedAndNothingIsWritten) {
  auto store = MemoryStore::Create();
  auto m = Meta({4}, {0}, DataType(DataTypeId::kUInt8), Json::parse(R"(["bytes"])"));
  EXPECT_FALSE(Array::Create(store, "a", m).ok());
  m = Meta({4}, {2}, DataType(DataTypeId::kUInt16), Json::parse(R"(["bytes"])"));  // no endian
  EXPECT_FALSE(Array::Create(store, "a", m).ok());
  m = Meta({4}, {2}, DataType(DataTypeId::kUInt8),
           Json::parse(R"(["bytes", {"name":"nonesuch"}])"));
  auto r = Array::Create(store, "a", m);
  EXPECT_TRUE(r.status().IsUnsupported()) << r.status();
  EXPECT_NE(r.status().message().find("nonesuch"), std::string::npos);
  EXPECT_TRUE(store->list()->empty());
}

TEST(ArrayErrors, OpenMissingIsNotFoundAndMalformedNamesKey) {
  auto store = MemoryStore::Create();
  EXPECT_TRUE(Array::Open(store, "nope").status().IsNotFound());
  ASSERT_TRUE(store->set("bad/zarr.json", AsBytes("{not json")).ok());
  auto r = Array::Open(store, "bad");
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("bad/zarr.json"), std::string::npos) << r.status();
  ASSERT_TRUE(store->set("g/zarr.json", AsBytes(R"({"zarr_format":3,"node_type":"group"})")).ok());
  EXPECT_TRUE(Array::Open(store, "g").status().IsFailedPrecondition());
}

TEST(NodePath, NormalisesAndRefusesInvalidNames) {
  EXPECT_EQ(*NormalizeNodePath("/a//b/"), "a/b");
  EXPECT_EQ(*NormalizeNodePath(""), "");
  EXPECT_EQ(*NormalizeNodePath("/"), "");
  for (const char* bad : {"a/../b", "..", "a/.", "__x", "a/zarr.json"}) {
    EXPECT_TRUE(NormalizeNodePath(bad).status().IsInvalidArgument()) << bad;
  }
}

}  // namespace
}  // namespace zarrpp
