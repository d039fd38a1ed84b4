// Arrays on a rectilinear chunk grid take the same pipelines as regular ones: a small read of an
// uncompressed chunk fetches only its bytes, a chunk cache serves repeated reads, and a partial
// write of a shard patches only the inner chunks it touches. Each case checks the values against
// what was written.
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "zarrpp/array.h"
#include "zarrpp/chunk_cache.h"
#include "zarrpp/codecs.h"
#include "zarrpp/hyperslab.h"
#include "zarrpp/json.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/store_wrappers.h"

namespace zarrpp {
namespace {

ArrayMetadata Meta(std::vector<uint64_t> shape, Json chunk_shapes, Json codecs) {
  auto m = ArrayMetadata::FromJson(
      {{"zarr_format", 3},
       {"node_type", "array"},
       {"shape", shape},
       {"data_type", "uint32"},
       {"chunk_grid",
        {{"name", "rectilinear"},
         {"configuration", {{"kind", "inline"}, {"chunk_shapes", chunk_shapes}}}}},
       {"chunk_key_encoding", {{"name", "default"}}},
       {"fill_value", 7},
       {"codecs", codecs}});
  EXPECT_TRUE(m.ok()) << m.status();
  return *m;
}

// An array of `meta` in a memory store, every element i holding 1000 + i (C order), and a handle
// on it through a CountingStore opened with `options`.
struct Written {
  std::shared_ptr<MemoryStore> memory = MemoryStore::Create();
  std::shared_ptr<CountingStore> counting;
  std::shared_ptr<Array> array;
  std::vector<uint32_t> values;
};

Written Write(const ArrayMetadata& meta, const ArrayOptions& options = {}) {
  Written w;
  auto created = Array::Create(w.memory, "a", meta);
  EXPECT_TRUE(created.ok()) << created.status();
  uint64_t n = 1;
  for (uint64_t e : meta.shape) n *= e;
  w.values.resize(n);
  std::iota(w.values.begin(), w.values.end(), 1000u);
  EXPECT_TRUE((*created)->Write(Region::All(meta.shape), std::span<const uint32_t>(w.values)).ok());
  w.counting = CountingStore::Create(w.memory);
  auto opened = Array::Open(w.counting, "a", options);
  EXPECT_TRUE(opened.ok()) << opened.status();
  w.array = *opened;
  w.counting->reset();
  return w;
}

TEST(RectilinearPipeline, OneElementOfALargeUncompressedChunkFetchesOnlyItsBytes) {
  // Chunks of 3000 and 5000 elements along one dimension.
  Written w = Write(Meta({8000}, Json::parse("[[3000, 5000]]"), Codecs::Bytes().ToJson()));
  for (PipelineKind kind : {PipelineKind::kFused, PipelineKind::kBatched}) {
    for (uint64_t at : {uint64_t{2}, uint64_t{2999}, uint64_t{3000}, uint64_t{7777}}) {
      w.counting->reset();
      uint32_t got = 0;
      ReadOptions ro;
      ro.pipeline = kind;
      ASSERT_TRUE(w.array->Read(Region{{at}, {1}}, std::span<uint32_t>(&got, 1), ro).ok());
      EXPECT_EQ(got, w.values[at]) << at;
      EXPECT_EQ(w.counting->counters().bytes_read, sizeof(uint32_t)) << at;
    }
  }
}

TEST(RectilinearPipeline, SmallPartsOfTwoDimensionalChunksReadOnlyTheirSpans) {
  // Rows cut [5, 60, 35], columns [40, 24]: a 2 x 2 box in the 60 x 40 chunk.
  Written w =
      Write(Meta({100, 64}, Json::parse("[[5, 60, 35], [40, 24]]"), Codecs::Bytes().ToJson()));
  std::vector<uint32_t> got(4);
  ASSERT_TRUE(w.array->Read(Region{{30, 10}, {2, 2}}, std::span<uint32_t>(got)).ok());
  EXPECT_EQ(got, (std::vector<uint32_t>{w.values[30 * 64 + 10], w.values[30 * 64 + 11],
                                        w.values[31 * 64 + 10], w.values[31 * 64 + 11]}));
  // The span from (30, 10) to (31, 11) of a chunk 40 elements wide: 42 elements, not 2400.
  EXPECT_LE(w.counting->counters().bytes_read, 42 * sizeof(uint32_t));
}

TEST(RectilinearPipeline, AChunkCachedHandleServesARepeatedReadWithoutTheStore) {
  ArrayOptions options;
  options.chunk_cache = ChunkCache::Make(uint64_t{1} << 20);
  Written w =
      Write(Meta({10, 12}, Json::parse("[[3, 7], [[2, 3], 6]]"), Codecs::Bytes().Zstd(1).ToJson()),
            options);
  const Region r{{1, 1}, {8, 10}};  // touches chunks of four different shapes
  std::vector<uint32_t> first(80), second(80);
  ASSERT_TRUE(w.array->Read(r, std::span<uint32_t>(first)).ok());
  EXPECT_GT(w.counting->counters().bytes_read, 0u);
  w.counting->reset();
  ASSERT_TRUE(w.array->Read(r, std::span<uint32_t>(second)).ok());
  EXPECT_EQ(w.counting->counters().bytes_read, 0u);
  EXPECT_EQ(w.counting->counters().get_into + w.counting->counters().get_if, 0u);
  EXPECT_GT(options.chunk_cache->stats().hits, 0u);
  for (uint64_t i = 0; i < 8; ++i) {
    for (uint64_t j = 0; j < 10; ++j) {
      EXPECT_EQ(first[i * 10 + j], w.values[(1 + i) * 12 + 1 + j]);
      EXPECT_EQ(second[i * 10 + j], first[i * 10 + j]);
    }
  }
  // A write through the handle is seen by the next read.
  const uint32_t v = 5;
  ASSERT_TRUE(w.array->Write(Region{{4, 9}, {1, 1}}, std::span<const uint32_t>(&v, 1)).ok());
  ASSERT_TRUE(w.array->Read(r, std::span<uint32_t>(second)).ok());
  EXPECT_EQ(second[3 * 10 + 8], 5u);
}

TEST(RectilinearPipeline, ACachedShardedArrayReadsInnerChunksOfEveryShardShape) {
  ArrayOptions options;
  options.chunk_cache = ChunkCache::Make(uint64_t{1} << 20);
  Written w = Write(Meta({12, 10}, Json::parse("[[4, 8], [6, 4]]"),
                         Codecs::Sharding({2, 2}, Codecs::Bytes()).ToJson()),
                    options);
  std::vector<uint32_t> got(12 * 10);
  for (int pass = 0; pass < 2; ++pass) {
    w.counting->reset();
    ASSERT_TRUE(w.array->Read(Region::All({12, 10}), std::span<uint32_t>(got)).ok());
    EXPECT_EQ(got, w.values);
    if (pass == 1) EXPECT_EQ(w.counting->counters().bytes_read, 0u);
  }
}

TEST(RectilinearPipeline, APartialShardWriteWritesLessThanTheShard) {
  // Shards of 4 x 16 and 12 x 16 elements, inner chunks of 2 x 4 (32 bytes).
  const ArrayMetadata meta = Meta({16, 16}, Json::parse("[[4, 12], 16]"),
                                  Codecs::Sharding({2, 4}, Codecs::Bytes()).ToJson());
  for (PipelineKind kind : {PipelineKind::kFused, PipelineKind::kBatched}) {
    Written w = Write(meta);
    const uint64_t shard_bytes = (**w.memory->get("a/c/1/0")).size();
    ASSERT_GT(shard_bytes, 12u * 16 * 4);
    // One whole inner chunk of the second shard: patched in place, the index unchanged.
    const std::vector<uint32_t> v(8, 99);
    WriteOptions wo;
    wo.pipeline = kind;
    ASSERT_TRUE(w.array->Write(Region{{6, 4}, {2, 4}}, std::span<const uint32_t>(v), wo).ok());
    const auto c = w.counting->counters();
    EXPECT_EQ(c.set + c.set_if, 0u);
    EXPECT_EQ(c.bytes_written, 2u * 4 * 4);
    EXPECT_LT(c.bytes_written, shard_bytes);
    std::vector<uint32_t> got(16 * 16);
    ASSERT_TRUE(w.array->Read(Region::All({16, 16}), std::span<uint32_t>(got)).ok());
    for (uint64_t i = 0; i < 16; ++i) {
      for (uint64_t j = 0; j < 16; ++j) {
        const bool written = i >= 6 && i < 8 && j >= 4 && j < 8;
        EXPECT_EQ(got[i * 16 + j], written ? 99u : w.values[i * 16 + j]) << i << "," << j;
      }
    }
  }
}

TEST(RectilinearPipeline, ShardedReadsFetchOnlyTheInnerChunksTouched) {
  Written w = Write(Meta({16, 16}, Json::parse("[[4, 12], 16]"),
                         Codecs::Sharding({2, 4}, Codecs::Bytes()).ToJson()));
  uint32_t got = 0;
  ASSERT_TRUE(w.array->Read(Region{{9, 13}, {1, 1}}, std::span<uint32_t>(&got, 1)).ok());
  EXPECT_EQ(got, w.values[9 * 16 + 13]);
  const uint64_t shard_bytes = (**w.memory->get("a/c/1/0")).size();
  EXPECT_LT(w.counting->counters().bytes_read, shard_bytes / 2);
}

TEST(RectilinearPipeline, StridedSelectionsReadEachChunkAtItsOwnShape) {
  Written w = Write(
      Meta({20, 18}, Json::parse("[[3, 9, 8], [[5, 2], 8]]"), Codecs::Bytes().Zstd(1).ToJson()));
  // Every third row from 1, every fourth column from 2: 7 x 4 elements across all chunks.
  const Hyperslab h{{1, 2}, {3, 4}, {7, 4}, {}};
  for (PipelineKind kind : {PipelineKind::kFused, PipelineKind::kBatched}) {
    std::vector<uint32_t> got(7 * 4, 0);
    ReadOptions ro;
    ro.pipeline = kind;
    ASSERT_TRUE(w.array->Read(h, std::span<uint32_t>(got), ro).ok());
    for (uint64_t i = 0; i < 7; ++i) {
      for (uint64_t j = 0; j < 4; ++j) {
        EXPECT_EQ(got[i * 4 + j], w.values[(1 + 3 * i) * 18 + 2 + 4 * j]) << i << "," << j;
      }
    }
  }
}

}  // namespace
}  // namespace zarrpp
