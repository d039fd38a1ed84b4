// Chunk-level access: chunk grids, iteration over the chunks a region touches and over the stored
// ones (inner chunks from shard indexes only), single chunks read and written decoded and as
// their stored bytes, at both levels, their errors, and concurrent inner-chunk writes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>

#include "zarrpp/array.h"
#include "zarrpp/json.h"
#include "zarrpp/local_store.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/store_wrappers.h"

namespace zarrpp {
namespace {

Json BytesCodec() {
  return {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
}
Json Zstd() {
  return {{"name", "zstd"}, {"configuration", {{"level", 1}, {"checksum", false}}}};
}
Json Sharding(std::vector<uint64_t> inner, Json codecs) {
  return {{"name", "sharding_indexed"},
          {"configuration",
           {{"chunk_shape", inner},
            {"codecs", std::move(codecs)},
            {"index_codecs", Json::array({BytesCodec(), {{"name", "crc32c"}}})},
            {"index_location", "end"}}}};
}

ArrayMetadata Meta(std::vector<uint64_t> shape, std::vector<uint64_t> chunks, Json codecs,
                   uint32_t fill = 0) {
  ArrayMetadata m;
  m.shape = std::move(shape);
  m.chunk_shape = std::move(chunks);
  m.data_type = DataType(DataTypeId::kUInt32);
  m.fill_value = FillValue{Bytes(4, 0)};
  std::memcpy(m.fill_value.bytes.data(), &fill, 4);
  m.codecs = std::move(codecs);
  return m;
}

std::shared_ptr<Array> Make(std::shared_ptr<Store> store, ArrayMetadata m,
                            const std::string& path = "a", ArrayOptions o = {}) {
  auto r = Array::Create(std::move(store), path, std::move(m), {}, o);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : nullptr;
}

// Value at (i, j): encodes the position.
uint32_t V(uint64_t i, uint64_t j) {
  return static_cast<uint32_t>(1 + i * 1000 + j);
}

// Writes V over the whole of a 2-d array.
void WritePositions(Array& a) {
  const auto& s = a.shape();
  std::vector<uint32_t> v(s[0] * s[1]);
  for (uint64_t i = 0; i < s[0]; ++i)
    for (uint64_t j = 0; j < s[1]; ++j) v[i * s[1] + j] = V(i, j);
  ASSERT_TRUE(a.Write(Region::All(s), std::span<const uint32_t>(v)).ok());
}

MutableByteView View(std::vector<uint32_t>& v) {
  return MutableByteView(reinterpret_cast<uint8_t*>(v.data()), v.size() * 4);
}
ByteView CView(const std::vector<uint32_t>& v) {
  return ByteView(reinterpret_cast<const uint8_t*>(v.data()), v.size() * 4);
}

Json Sharded() {
  return Json::array({Sharding({2, 3}, Json::array({BytesCodec(), Zstd()}))});
}

TEST(ChunkGrid, BothLevels) {
  auto a = Make(MemoryStore::Create(), Meta({10, 13}, {4, 6}, Sharded()));
  auto stored = a->ChunkGrid(ChunkLevel::kStored);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->chunk_shape, (std::vector<uint64_t>{4, 6}));
  EXPECT_EQ(stored->grid, (std::vector<uint64_t>{3, 3}));
  auto inner = a->ChunkGrid(ChunkLevel::kInner);
  ASSERT_TRUE(inner.ok());
  EXPECT_EQ(inner->chunk_shape, (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(inner->grid, (std::vector<uint64_t>{5, 5}));

  auto plain = Make(MemoryStore::Create(), Meta({10, 13}, {4, 6}, {}));
  EXPECT_EQ(plain->ChunkGrid(ChunkLevel::kInner).status().code(),
            Status::Code::kFailedPrecondition);
}

TEST(ForEachChunk, ReportsCoordsKeysRegionsAndParts) {
  auto a = Make(MemoryStore::Create(), Meta({10, 13}, {4, 6}, {}));
  std::vector<ChunkInfo> seen;
  ASSERT_TRUE(a->ForEachChunk(Region{{3, 5}, {6, 8}}, ChunkLevel::kStored, [&](const ChunkInfo& c) {
                 seen.push_back(c);
                 return Status::OK();
               }).ok());
  // Rows 3..8 touch chunk rows 0..2, columns 5..12 touch chunk columns 0..2.
  ASSERT_EQ(seen.size(), 9u);
  EXPECT_EQ(seen[0].coords, (std::vector<uint64_t>{0, 0}));
  EXPECT_EQ(seen[0].key, a->ChunkKey({0, 0}));
  EXPECT_EQ(seen[0].region, (Region{{0, 0}, {4, 6}}));
  EXPECT_EQ(seen[0].part, (Region{{3, 5}, {1, 1}}));
  EXPECT_EQ(seen[1].coords, (std::vector<uint64_t>{0, 1}));
  EXPECT_EQ(seen[8].coords, (std::vector<uint64_t>{2, 2}));
  EXPECT_EQ(seen[8].key, "a/c/2/2");
  // The edge chunk is clipped to the shape.
  EXPECT_EQ(seen[8].region, (Region{{8, 12}, {2, 1}}));
  EXPECT_EQ(seen[8].part, (Region{{8, 12}, {1, 1}}));
  EXPECT_EQ(seen[4].part, (Region{{4, 6}, {4, 6}}));

  int n = 0;
  EXPECT_TRUE(a->ForEachChunk(Region{{3, 5}, {0, 8}}, ChunkLevel::kStored, [&](const ChunkInfo&) {
                 ++n;
                 return Status::OK();
               }).ok());
  EXPECT_EQ(n, 0);
}

TEST(ForEachChunk, InnerChunksNameTheirShardAndIndex) {
  auto a = Make(MemoryStore::Create(), Meta({10, 13}, {4, 6}, Sharded()));
  std::vector<ChunkInfo> seen;
  ASSERT_TRUE(a->ForEachChunk(Region{{2, 3}, {3, 4}}, ChunkLevel::kInner, [&](const ChunkInfo& c) {
                 seen.push_back(c);
                 return Status::OK();
               }).ok());
  // Rows 2..4 -> inner rows 1..2; columns 3..6 -> inner columns 1..2.
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].coords, (std::vector<uint64_t>{1, 1}));
  EXPECT_EQ(seen[0].shard_coords, (std::vector<uint64_t>{0, 0}));
  EXPECT_EQ(seen[0].inner_index, 3u);  // (1, 1) in a 2x2 inner grid
  EXPECT_EQ(seen[0].key, "a/c/0/0");
  EXPECT_EQ(seen[0].region, (Region{{2, 3}, {2, 3}}));
  EXPECT_EQ(seen[1].coords, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(seen[1].shard_coords, (std::vector<uint64_t>{0, 1}));
  EXPECT_EQ(seen[1].inner_index, 2u);
  EXPECT_EQ(seen[1].key, "a/c/0/1");
  EXPECT_EQ(seen[1].part, (Region{{2, 6}, {2, 1}}));
  EXPECT_EQ(seen[3].coords, (std::vector<uint64_t>{2, 2}));
  EXPECT_EQ(seen[3].shard_coords, (std::vector<uint64_t>{1, 1}));
  EXPECT_EQ(seen[3].inner_index, 0u);
}

TEST(ForEachChunk, HugeGridIsVisitedLazilyAndStopsOnErrorOrCancel) {
  // 2^40 x 2^20 chunks: only the visited ones cost anything.
  ArrayOptions o;
  std::atomic<int> calls{0};
  std::atomic<bool> cancel{false};
  o.cancel = [&] {
    ++calls;
    return cancel.load();
  };
  auto a =
      Make(MemoryStore::Create(), Meta({uint64_t{1} << 40, uint64_t{1} << 20}, {1, 1}, {}), "a", o);
  uint64_t n = 0;
  Status s = a->ForEachChunk(Region::All(a->shape()), ChunkLevel::kStored, [&](const ChunkInfo& c) {
    if (n == 0) {
      EXPECT_EQ(c.coords, (std::vector<uint64_t>{0, 0}));
    }
    if (n == 5000) {
      EXPECT_EQ(c.coords, (std::vector<uint64_t>{0, 5000}));
      return Status::Corruption("stop here");
    }
    ++n;
    return Status::OK();
  });
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_EQ(n, 5000u);
  EXPECT_GE(calls.load(), 4);  // checked every 1024 chunks

  cancel = true;
  n = 0;
  s = a->ForEachChunk(Region::All(a->shape()), ChunkLevel::kStored, [&](const ChunkInfo&) {
    ++n;
    return Status::OK();
  });
  EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(s.message().find("cancelled"), std::string::npos);
  EXPECT_LT(n, 1025u);
}

TEST(ForEachChunk, VisitMayCallTheArray) {
  auto a = Make(MemoryStore::Create(), Meta({10, 13}, {4, 6}, {}));
  int n = 0;
  ASSERT_TRUE(
      a->ForEachChunk(Region::All(a->shape()), ChunkLevel::kStored, [&](const ChunkInfo& c) {
         // Exclusive on the handle's metadata: must not wait on the
         // iteration.
         RETURN_IF_ERROR(a->SetAttributes({{"n", ++n}}));
         std::vector<uint32_t> v(24, static_cast<uint32_t>(n));
         return a->WriteChunk(ChunkLevel::kStored, c.coords, CView(v));
       }).ok());
  EXPECT_EQ(n, 9);
  std::vector<uint32_t> one(1);
  ASSERT_TRUE(a->Read(Region{{9, 12}, {1, 1}}, std::span<uint32_t>(one)).ok());
  EXPECT_EQ(one[0], 9u);
}

TEST(ForEachChunk, BadRegionIsInvalidArgument) {
  auto a = Make(MemoryStore::Create(), Meta({10, 13}, {4, 6}, {}));
  auto none = [](const ChunkInfo&) { return Status::OK(); };
  EXPECT_EQ(a->ForEachChunk(Region{{0}, {1}}, ChunkLevel::kStored, none).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(a->ForEachChunk(Region{{9, 0}, {2, 1}}, ChunkLevel::kStored, none).code(),
            Status::Code::kInvalidArgument);
}

TEST(ForEachStoredChunk, ListsStoredChunksWithTheirSizes) {
  auto store = MemoryStore::Create();
  auto a = Make(store, Meta({10, 13}, {4, 6}, Json::array({BytesCodec(), Zstd()})));
  // Keys that are not chunk keys of `a`, or lie outside its grid, are skipped.
  ASSERT_TRUE(store->set("a/notes.txt", ByteView()).ok());
  ASSERT_TRUE(store->set("a/c/9/9", ByteView()).ok());
  std::vector<uint32_t> v(4 * 6, 7);
  ASSERT_TRUE(a->Write(Region{{4, 6}, {4, 6}}, std::span<const uint32_t>(v)).ok());
  ASSERT_TRUE(a->Write(Region{{8, 12}, {2, 1}}, std::span<const uint32_t>(v.data(), 2)).ok());
  std::vector<ChunkInfo> seen;
  ASSERT_TRUE(a->ForEachStoredChunk(ChunkLevel::kStored, [&](const ChunkInfo& c) {
                 seen.push_back(c);
                 return Status::OK();
               }).ok());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].coords, (std::vector<uint64_t>{1, 1}));
  EXPECT_EQ(seen[1].coords, (std::vector<uint64_t>{2, 2}));
  EXPECT_EQ(seen[1].region, (Region{{8, 12}, {2, 1}}));
  for (const ChunkInfo& c : seen) {
    auto size = store->size(c.key);
    ASSERT_TRUE(size.ok() && *size);
    EXPECT_EQ(c.encoded_bytes, **size);
  }
}

TEST(ForEachStoredChunk, InnerChunksComeFromTheIndexesAlone) {
  auto mem = MemoryStore::Create();
  auto counting = std::make_shared<CountingStore>(mem);
  auto a = Make(counting, Meta({10, 13}, {4, 6}, Sharded()));
  // Inner chunks (0,0), (1,2) and (4,4) (the last one at the array's corner).
  std::vector<uint32_t> v(6);
  for (int i = 0; i < 6; ++i) v[i] = 100 + i;
  ASSERT_TRUE(a->WriteChunk(ChunkLevel::kInner, {0, 0}, CView(v)).ok());
  ASSERT_TRUE(a->WriteChunk(ChunkLevel::kInner, {1, 2}, CView(v)).ok());
  ASSERT_TRUE(a->WriteChunk(ChunkLevel::kInner, {4, 4}, CView(v)).ok());
  counting->reset();
  std::vector<ChunkInfo> seen;
  ASSERT_TRUE(a->ForEachStoredChunk(ChunkLevel::kInner, [&](const ChunkInfo& c) {
                 seen.push_back(c);
                 return Status::OK();
               }).ok());
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].coords, (std::vector<uint64_t>{0, 0}));
  EXPECT_EQ(seen[1].coords, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(seen[1].shard_coords, (std::vector<uint64_t>{0, 1}));
  EXPECT_EQ(seen[1].inner_index, 2u);
  EXPECT_EQ(seen[2].coords, (std::vector<uint64_t>{4, 4}));
  EXPECT_EQ(seen[2].region, (Region{{8, 12}, {2, 1}}));
  for (const ChunkInfo& c : seen) {
    auto raw = a->ReadChunkEncoded(ChunkLevel::kInner, c.coords);
    ASSERT_TRUE(raw.ok() && *raw);
    EXPECT_EQ(c.encoded_bytes, (*raw)->size());
  }
  // Three shards: each read only its index (4 inner chunks x 16 bytes + 4 bytes of crc32c).
  counting->reset();
  ASSERT_TRUE(a->ForEachStoredChunk(ChunkLevel::kInner, [](const ChunkInfo&) {
                 return Status::OK();
               }).ok());
  EXPECT_EQ(counting->counters().bytes_read, 3u * (4 * 16 + 4));
}

TEST(ForEachStoredChunk, StopsWhenCancelled) {
  ArrayOptions o;
  std::atomic<bool> cancel{false};
  o.cancel = [&] { return cancel.load(); };
  auto a = Make(MemoryStore::Create(), Meta({10, 13}, {4, 6}, Sharded()), "a", o);
  WritePositions(*a);
  int n = 0;
  cancel = true;
  Status s = a->ForEachStoredChunk(ChunkLevel::kInner, [&](const ChunkInfo&) {
    ++n;
    return Status::OK();
  });
  EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(n, 0);
  cancel = false;
  s = a->ForEachStoredChunk(ChunkLevel::kInner, [&](const ChunkInfo&) {
    ++n;
    return Status::OK();
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(n, 25);  // every inner chunk of a 5 x 5 inner grid holds data
}

TEST(ReadChunk, DecodesWholeChunksAndReportsMissingOnes) {
  auto a = Make(MemoryStore::Create(), Meta({10, 13}, {4, 6}, {}, /*fill=*/9));
  WritePositions(*a);
  std::vector<uint32_t> out(24);
  auto got = a->ReadChunk(ChunkLevel::kStored, {1, 1}, View(out));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(*got);
  for (uint64_t i = 0; i < 4; ++i)
    for (uint64_t j = 0; j < 6; ++j) EXPECT_EQ(out[i * 6 + j], V(4 + i, 6 + j));
  // The edge chunk: elements past the shape hold the fill value.
  got = a->ReadChunk(ChunkLevel::kStored, {2, 2}, View(out));
  ASSERT_TRUE(got.ok() && *got);
  for (uint64_t i = 0; i < 4; ++i)
    for (uint64_t j = 0; j < 6; ++j)
      EXPECT_EQ(out[i * 6 + j], i < 2 && j < 1 ? V(8 + i, 12 + j) : 9u) << i << "," << j;

  auto empty = Make(MemoryStore::Create(), Meta({10, 13}, {4, 6}, {}, 9));
  got = empty->ReadChunk(ChunkLevel::kStored, {0, 1}, View(out));
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(*got);
  for (uint32_t x : out) EXPECT_EQ(x, 9u);
}

TEST(WriteChunk, StoresWholeChunksAndErasesFillOnes) {
  auto store = MemoryStore::Create();
  auto a = Make(store, Meta({10, 13}, {4, 6}, {}, 9));
  std::vector<uint32_t> in(24);
  for (uint64_t i = 0; i < 4; ++i)
    for (uint64_t j = 0; j < 6; ++j) in[i * 6 + j] = V(8 + i, 12 + j);
  ASSERT_TRUE(a->WriteChunk(ChunkLevel::kStored, {2, 2}, CView(in)).ok());
  std::vector<uint32_t> back(2);
  ASSERT_TRUE(a->Read(Region{{8, 12}, {2, 1}}, std::span<uint32_t>(back)).ok());
  EXPECT_EQ(back, (std::vector<uint32_t>{V(8, 12), V(9, 12)}));
  std::vector<uint32_t> fill(24, 9);
  ASSERT_TRUE(a->WriteChunk(ChunkLevel::kStored, {2, 2}, CView(fill)).ok());
  auto present = store->exists(a->ChunkKey({2, 2}));
  ASSERT_TRUE(present.ok());
  EXPECT_FALSE(*present);
}

TEST(ChunkCalls, ErrorsAreInvalidArgumentOrFailedPrecondition) {
  auto a = Make(MemoryStore::Create(), Meta({10, 13}, {4, 6}, {}));
  std::vector<uint32_t> out(24);
  EXPECT_EQ(a->ReadChunk(ChunkLevel::kStored, {3, 0}, View(out)).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(a->ReadChunk(ChunkLevel::kStored, {0}, View(out)).status().code(),
            Status::Code::kInvalidArgument);
  std::vector<uint32_t> small(23);
  EXPECT_EQ(a->ReadChunk(ChunkLevel::kStored, {0, 0}, View(small)).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(a->WriteChunk(ChunkLevel::kStored, {0, 0}, CView(small)).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(a->WriteChunk(ChunkLevel::kStored, {0, 3}, CView(out)).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(a->ReadChunkEncoded(ChunkLevel::kStored, {3, 3}).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(a->WriteChunkEncoded(ChunkLevel::kStored, {0, 9}, std::nullopt).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(a->ReadChunk(ChunkLevel::kInner, {0, 0}, View(out)).status().code(),
            Status::Code::kFailedPrecondition);
  auto s = a->ReadChunk(ChunkLevel::kStored, {3, 0}, View(out)).status();
  EXPECT_NE(s.message().find("[3, 0]"), std::string::npos) << s;

  auto sharded = Make(MemoryStore::Create(), Meta({10, 13}, {4, 6}, Sharded()));
  std::vector<uint32_t> inner(6);
  EXPECT_EQ(sharded->ReadChunk(ChunkLevel::kInner, {5, 0}, View(inner)).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(sharded->WriteChunk(ChunkLevel::kInner, {0, 0}, CView(out)).code(),
            Status::Code::kInvalidArgument);
}

TEST(InnerChunks, ReadAndWriteOneInnerChunkOfAShard) {
  auto a = Make(MemoryStore::Create(), Meta({10, 13}, {4, 6}, Sharded(), 9));
  WritePositions(*a);
  std::vector<uint32_t> out(6);
  auto got = a->ReadChunk(ChunkLevel::kInner, {3, 2}, View(out));
  ASSERT_TRUE(got.ok() && *got) << got.status();
  for (uint64_t i = 0; i < 2; ++i)
    for (uint64_t j = 0; j < 3; ++j) EXPECT_EQ(out[i * 3 + j], V(6 + i, 6 + j));

  std::vector<uint32_t> in(6);
  for (uint64_t i = 0; i < 2; ++i)
    for (uint64_t j = 0; j < 3; ++j) in[i * 3 + j] = 50000 + V(6 + i, 6 + j);
  ASSERT_TRUE(a->WriteChunk(ChunkLevel::kInner, {3, 2}, CView(in)).ok());
  // Only that inner chunk changed.
  std::vector<uint32_t> all(10 * 13);
  ASSERT_TRUE(a->Read(Region::All(a->shape()), std::span<uint32_t>(all)).ok());
  for (uint64_t i = 0; i < 10; ++i)
    for (uint64_t j = 0; j < 13; ++j) {
      const bool inside = i >= 6 && i < 8 && j >= 6 && j < 9;
      EXPECT_EQ(all[i * 13 + j], inside ? 50000 + V(i, j) : V(i, j)) << i << "," << j;
    }
  // An inner chunk of fill values is dropped from its shard.
  std::vector<uint32_t> fill(6, 9);
  ASSERT_TRUE(a->WriteChunk(ChunkLevel::kInner, {3, 2}, CView(fill)).ok());
  got = a->ReadChunk(ChunkLevel::kInner, {3, 2}, View(out));
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(*got);
  auto raw = a->ReadChunkEncoded(ChunkLevel::kInner, {3, 2});
  ASSERT_TRUE(raw.ok());
  EXPECT_FALSE(raw->has_value());
}

TEST(EncodedChunks, RawCopiesBetweenEqualArraysGiveEqualValues) {
  for (const Json& codecs : {Json::array({BytesCodec(), Zstd()}), Sharded()}) {
    auto src = Make(MemoryStore::Create(), Meta({10, 13}, {4, 6}, codecs));
    auto dst_store = MemoryStore::Create();
    auto dst = Make(dst_store, Meta({10, 13}, {4, 6}, codecs));
    ASSERT_TRUE(ChunksCompatible(src->metadata(), dst->metadata()));
    WritePositions(*src);
    for (ChunkLevel level : {ChunkLevel::kStored, ChunkLevel::kInner}) {
      if (level == ChunkLevel::kInner && !dst->ChunkGrid(level).ok()) continue;
      ASSERT_TRUE(dst_store->erase_prefix("a/c/").ok());
      ASSERT_TRUE(src->ForEachChunk(Region::All(src->shape()), level,
                                    [&](const ChunkInfo& c) {
                                      ASSIGN_OR_RETURN(std::optional<Bytes> raw,
                                                       src->ReadChunkEncoded(level, c.coords));
                                      if (!raw) return Status::OK();
                                      return dst->WriteChunkEncoded(level, c.coords,
                                                                    ByteView(*raw));
                                    })
                      .ok());
      std::vector<uint32_t> all(10 * 13);
      ASSERT_TRUE(dst->Read(Region::All(dst->shape()), std::span<uint32_t>(all)).ok());
      for (uint64_t i = 0; i < 10; ++i)
        for (uint64_t j = 0; j < 13; ++j) ASSERT_EQ(all[i * 13 + j], V(i, j)) << codecs.dump();
    }
    // nullopt erases.
    ASSERT_TRUE(dst->WriteChunkEncoded(ChunkLevel::kStored, {0, 0}, std::nullopt).ok());
    std::vector<uint32_t> one(1);
    ASSERT_TRUE(dst->Read(Region{{0, 0}, {1, 1}}, std::span<uint32_t>(one)).ok());
    EXPECT_EQ(one[0], 0u);
  }
  EXPECT_FALSE(ChunksCompatible(Meta({10, 13}, {4, 6}, {}), Meta({10, 13}, {4, 7}, {})));
  EXPECT_FALSE(ChunksCompatible(Meta({10, 13}, {4, 6}, {}, 1), Meta({10, 13}, {4, 6}, {}, 2)));
  EXPECT_FALSE(ChunksCompatible(Meta({10, 13}, {4, 6}, Json::array({BytesCodec(), Zstd()})),
                                Meta({10, 13}, {4, 6}, Json::array({BytesCodec()}))));
}

TEST(EncodedChunks, RawBytesAreNotValidatedAndFailOnRead) {
  auto a = Make(MemoryStore::Create(), Meta({10, 13}, {4, 6}, Json::array({BytesCodec(), Zstd()})));
  const Bytes junk = {1, 2, 3};
  ASSERT_TRUE(a->WriteChunkEncoded(ChunkLevel::kStored, {0, 0}, ByteView(junk)).ok());
  std::vector<uint32_t> out(24);
  EXPECT_FALSE(a->ReadChunk(ChunkLevel::kStored, {0, 0}, View(out)).ok());
  auto raw = a->ReadChunkEncoded(ChunkLevel::kStored, {0, 0});
  ASSERT_TRUE(raw.ok() && *raw);
  EXPECT_EQ(**raw, junk);
}

// 4 x 16 inner chunks in one shard, written by 8 threads through 2 handles; then raw writes too.
void ConcurrentInnerWrites(std::shared_ptr<Store> store) {
  ArrayMetadata m =
      Meta({8, 48}, {8, 48}, Json::array({Sharding({2, 3}, Json::array({BytesCodec(), Zstd()}))}));
  auto a = Make(store, m);
  auto b = Array::Open(store, "a");
  ASSERT_TRUE(b.ok());
  const int threads = 8;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      Array& h = t % 2 ? **b : *a;
      for (uint64_t k = t; k < 64; k += threads) {
        const uint64_t gi = k / 16, gj = k % 16;
        std::vector<uint32_t> in(6);
        for (uint64_t i = 0; i < 2; ++i)
          for (uint64_t j = 0; j < 3; ++j) in[i * 3 + j] = V(gi * 2 + i, gj * 3 + j);
        Status s = h.WriteChunk(ChunkLevel::kInner, {gi, gj}, CView(in));
        EXPECT_TRUE(s.ok()) << s;
      }
    });
  }
  for (auto& th : pool) th.join();
  std::vector<uint32_t> all(8 * 48);
  ASSERT_TRUE(a->Read(Region::All(a->shape()), std::span<uint32_t>(all)).ok());
  for (uint64_t i = 0; i < 8; ++i)
    for (uint64_t j = 0; j < 48; ++j) ASSERT_EQ(all[i * 48 + j], V(i, j)) << i << "," << j;

  // Raw writes of inner chunks, concurrently: each moves one inner chunk of `a` into `c`.
  auto c = Make(store, m, "c");
  pool.clear();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (uint64_t k = t; k < 64; k += threads) {
        const std::vector<uint64_t> at{k / 16, k % 16};
        auto raw = a->ReadChunkEncoded(ChunkLevel::kInner, at);
        ASSERT_TRUE(raw.ok() && *raw);
        Status s = c->WriteChunkEncoded(ChunkLevel::kInner, at, ByteView(**raw));
        EXPECT_TRUE(s.ok()) << s;
      }
    });
  }
  for (auto& th : pool) th.join();
  std::fill(all.begin(), all.end(), 0);
  ASSERT_TRUE(c->Read(Region::All(c->shape()), std::span<uint32_t>(all)).ok());
  for (uint64_t i = 0; i < 8; ++i)
    for (uint64_t j = 0; j < 48; ++j) ASSERT_EQ(all[i * 48 + j], V(i, j)) << i << "," << j;
}

TEST(InnerChunks, ConcurrentWritesOfDifferentInnerChunksLoseNothing) {
  ConcurrentInnerWrites(MemoryStore::Create());
}

TEST(InnerChunks, ConcurrentWritesOfDifferentInnerChunksLoseNothingOnALocalStore) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("zarrpp_chunk_access_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto store = LocalStore::Create(dir.string());
  ASSERT_TRUE(store.ok()) << store.status();
  ConcurrentInnerWrites(*store);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace zarrpp
