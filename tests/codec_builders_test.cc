// The typed codec chain builders (zarrpp/codecs.h): the JSON they build, and arrays created with
// them.
#include <gtest/gtest.h>

#include <vector>

#include "zarrpp/array.h"
#include "zarrpp/codecs.h"
#include "zarrpp/json.h"
#include "zarrpp/memory_store.h"

namespace zarrpp {
namespace {

TEST(CodecBuilders, BuildTheChainJsonInOrder) {
  EXPECT_EQ(Codecs::Bytes().Zstd(3).ToJson(),
            Json::parse(R"([{"name":"bytes","configuration":{"endian":"little"}},
                            {"name":"zstd","configuration":{"level":3,"checksum":false}}])"));
  EXPECT_EQ(Codecs::Transpose({1, 0}).ThenBytes(false).Gzip(9).Crc32c().ToJson(),
            Json::parse(R"([{"name":"transpose","configuration":{"order":[1,0]}},
                            {"name":"bytes","configuration":{"endian":"big"}},
                            {"name":"gzip","configuration":{"level":9}},
                            {"name":"crc32c"}])"));
  BloscSettings b;
  b.cname = "zstd";
  b.clevel = 7;
  b.shuffle = "bitshuffle";
  b.typesize = 4;
  EXPECT_EQ(Codecs::Bytes().Blosc(b).ToJson()[1],
            Json::parse(R"({"name":"blosc","configuration":{"cname":"zstd","clevel":7,
                            "shuffle":"bitshuffle","typesize":4,"blocksize":0}})"));
  EXPECT_EQ(
      Codecs::Sharding({4, 8}, Codecs::Bytes().Zstd(1), Codecs::Bytes(), ShardIndexLocation::kStart)
          .ToJson(),
      Json::parse(R"([{"name":"sharding_indexed","configuration":{
                "chunk_shape":[4,8],
                "codecs":[{"name":"bytes","configuration":{"endian":"little"}},
                          {"name":"zstd","configuration":{"level":1,"checksum":false}}],
                "index_codecs":[{"name":"bytes","configuration":{"endian":"little"}}],
                "index_location":"start"}}])"));
  EXPECT_TRUE(Codecs().empty());
  EXPECT_EQ(Codecs().Then("numcodecs.shuffle", {{"elementsize", 4}}).ToJson()[0]["name"],
            "numcodecs.shuffle");
}

// Arrays created from each builder hold what was written, with no JSON in the caller's code.
TEST(CodecBuilders, ArraysCreatedWithThemRoundTrip) {
  BloscSettings blosc;
  blosc.typesize = 4;
  const std::vector<Codecs> chains = {
      Codecs::Bytes().Zstd(3),
      Codecs::Bytes(false).Gzip(1).Crc32c(),
      Codecs::Transpose({1, 0}).ThenBytes().Blosc(blosc),
      Codecs::Sharding({8, 8}, Codecs::Bytes().Zstd(1)),
      Codecs::Sharding({4, 16}, Codecs::Bytes(), Codecs::Bytes().Crc32c(),
                       ShardIndexLocation::kStart),
  };
  std::vector<int32_t> data(32 * 48);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<int32_t>(i * 7 - 1000);
  for (size_t c = 0; c < chains.size(); ++c) {
    SCOPED_TRACE(chains[c].ToJson().dump());
    ArrayMetadata m;
    m.shape = {32, 48};
    m.chunk_shape = {16, 16};
    m.data_type = DataType(DataTypeId::kInt32);
    m.fill_value = FillValue::Zero(m.data_type);
    m.codecs = chains[c];
    auto store = MemoryStore::Create();
    auto a = Array::Create(store, "a", m);
    ASSERT_TRUE(a.ok()) << a.status();
    ASSERT_TRUE((*a)->Write(Region::All(m.shape), std::span<const int32_t>(data)).ok());
    auto b = Array::Open(store, "a");
    ASSERT_TRUE(b.ok()) << b.status();
    std::vector<int32_t> got(data.size());
    ASSERT_TRUE((*b)->Read(Region::All(m.shape), std::span<int32_t>(got)).ok());
    EXPECT_EQ(got, data);
  }
}

TEST(CodecBuilders, InvalidSettingsAreRefusedWhenTheArrayIsCreated) {
  ArrayMetadata m;
  m.shape = {8};
  m.chunk_shape = {8};
  m.data_type = DataType(DataTypeId::kUInt16);
  m.fill_value = FillValue::Zero(m.data_type);
  m.codecs = Codecs::Bytes().Blosc();  // shuffle without a typesize
  auto a = Array::Create(MemoryStore::Create(), "a", m);
  ASSERT_FALSE(a.ok());
  EXPECT_TRUE(a.status().IsInvalidArgument()) << a.status();
  EXPECT_NE(a.status().message().find("typesize"), std::string::npos) << a.status();
  m.codecs = Codecs::Bytes().Zstd(1000);
  EXPECT_FALSE(Array::Create(MemoryStore::Create(), "a", m).ok());
  m.codecs = Codecs::Sharding({3}, Codecs::Bytes());  // does not divide the shard
  EXPECT_FALSE(Array::Create(MemoryStore::Create(), "a", m).ok());
}

}  // namespace
}  // namespace zarrpp
