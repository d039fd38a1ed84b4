// Convert copies stored chunk bytes when the target's chunks are the source's (ChunksCompatible
// and equal shape), decodes and re-encodes otherwise or when ConvertOptions::reencode is set.
#include <gtest/gtest.h>

#include <cstring>

#include "zarrpp/array.h"
#include "zarrpp/convert.h"
#include "zarrpp/json.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/store_wrappers.h"

namespace zarrpp {
namespace {

Json BytesCodec() {
  return {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
}
Json Zstd(int level) {
  return {{"name", "zstd"}, {"configuration", {{"level", level}, {"checksum", false}}}};
}

ArrayMetadata Meta(Json codecs) {
  ArrayMetadata m;
  m.shape = {30, 20};
  m.chunk_shape = {8, 8};
  m.data_type = DataType(DataTypeId::kUInt32);
  m.fill_value = FillValue::Zero(m.data_type);
  m.codecs = std::move(codecs);
  return m;
}

Json ShardedChain() {
  Json sharding = {{"name", "sharding_indexed"},
                   {"configuration",
                    {{"chunk_shape", std::vector<uint64_t>{4, 4}},
                     {"codecs", Json::array({BytesCodec(), Zstd(3)})},
                     {"index_codecs", Json::array({BytesCodec(), {{"name", "crc32c"}}})},
                     {"index_location", "end"}}}};
  return Json::array({sharding});
}

// A source array whose values encode their position, plus one stored chunk of fill values.
std::shared_ptr<MemoryStore> Source(Json codecs) {
  auto store = MemoryStore::Create();
  ArrayOptions o;
  o.write_empty_chunks = true;
  auto created = Array::Create(store, "x", Meta(std::move(codecs)), {}, o);
  EXPECT_TRUE(created.ok()) << created.status();
  if (!created.ok()) return store;
  auto a = *created;
  std::vector<uint32_t> v(30 * 16);
  for (uint64_t i = 0; i < 30; ++i)
    for (uint64_t j = 0; j < 16; ++j) v[i * 16 + j] = static_cast<uint32_t>(1 + i * 100 + j);
  EXPECT_TRUE(a->Write(Region{{0, 0}, {30, 16}}, std::span<const uint32_t>(v)).ok());
  std::vector<uint32_t> zeros(30 * 4, 0);
  EXPECT_TRUE(a->Write(Region{{0, 16}, {30, 4}}, std::span<const uint32_t>(zeros)).ok());
  return store;
}

void ExpectValues(std::shared_ptr<Store> store) {
  auto a = Array::Open(store, "y");
  ASSERT_TRUE(a.ok()) << a.status();
  std::vector<uint32_t> v(30 * 20);
  ASSERT_TRUE((*a)->Read(Region::All((*a)->shape()), std::span<uint32_t>(v)).ok());
  for (uint64_t i = 0; i < 30; ++i)
    for (uint64_t j = 0; j < 20; ++j)
      ASSERT_EQ(v[i * 20 + j], j < 16 ? static_cast<uint32_t>(1 + i * 100 + j) : 0u);
}

TEST(ConvertRawCopy, EqualChunksAreCopiedByteForByte) {
  for (const Json& codecs : {Json::array({BytesCodec(), Zstd(3)}), ShardedChain()}) {
    auto src = Source(codecs);
    auto dst = MemoryStore::Create();
    auto report = Convert(src, "x", dst, "y");
    ASSERT_TRUE(report.ok()) << report.status();
    ASSERT_EQ(report->failed(), 0u);
    ExpectValues(dst);
    auto keys = src->list_prefix("x/c/");
    ASSERT_TRUE(keys.ok());
    ASSERT_FALSE(keys->empty());
    for (const std::string& key : *keys) {
      auto a = src->get(key);
      auto b = dst->get("y/" + key.substr(2));
      ASSERT_TRUE(a.ok() && b.ok() && *a && *b) << key;
      EXPECT_EQ(**a, **b) << key;
    }
    // The stored chunk of fill values came along as stored bytes.
    auto fill_chunk = dst->exists("y/c/0/2");
    ASSERT_TRUE(fill_chunk.ok());
    EXPECT_TRUE(*fill_chunk) << codecs.dump();
  }
}

TEST(ConvertRawCopy, ReencodeDecodesAndEncodesEveryChunk) {
  auto src = Source(Json::array({BytesCodec(), Zstd(3)}));
  auto dst = MemoryStore::Create();
  ConvertOptions o;
  o.reencode = true;
  auto report = Convert(src, "x", dst, "y", o);
  ASSERT_TRUE(report.ok()) << report.status();
  ExpectValues(dst);
  // Re-encoded: the chunk of fill values is not stored.
  auto fill_chunk = dst->exists("y/c/0/2");
  ASSERT_TRUE(fill_chunk.ok());
  EXPECT_FALSE(*fill_chunk);
}

TEST(ConvertRawCopy, OtherCodecsFallBackToDecodeAndEncode) {
  auto src = Source(Json::array({BytesCodec(), Zstd(3)}));
  auto dst = MemoryStore::Create();
  ConvertOptions o;
  o.codecs = Json::array({BytesCodec(), Zstd(5)});
  auto report = Convert(src, "x", dst, "y", o);
  ASSERT_TRUE(report.ok()) << report.status();
  ExpectValues(dst);
  auto fill_chunk = dst->exists("y/c/0/2");
  ASSERT_TRUE(fill_chunk.ok());
  EXPECT_FALSE(*fill_chunk);
  auto opened = Array::Open(dst, "y");
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ((*opened)->metadata().codecs[1]["configuration"]["level"], 5);
}

TEST(ConvertRawCopy, FormatChangeKeepsValues) {
  // v3 -> v2 -> v3: whichever path each step takes, the values survive.
  auto src = Source(Json::array({BytesCodec(), Zstd(3)}));
  auto v2 = MemoryStore::Create();
  ConvertOptions o;
  o.zarr_format = 2;
  auto report = Convert(src, "x", v2, "y", o);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->failed(), 0u);
  ExpectValues(v2);
  auto back = MemoryStore::Create();
  o.zarr_format = 3;
  report = Convert(v2, "y", back, "y", o);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->failed(), 0u);
  ExpectValues(back);
}

}  // namespace
}  // namespace zarrpp
