// Rectilinear chunk grids: the grid's arithmetic, metadata parsing, canonical serialisation and
// refusals (hostile sizes included), and reads and writes against a brute-force reference over
// random shapes and random chunk edges on memory and local stores, both pipelines, plain and
// sharded, with chunk-level access, resize and append.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "zarrpp/array.h"
#include "zarrpp/chunk_grid.h"
#include "zarrpp/convert.h"
#include "zarrpp/digest.h"
#include "zarrpp/json.h"
#include "zarrpp/local_store.h"
#include "zarrpp/memory_store.h"

namespace zarrpp {
namespace {

Json BytesCodec() {
  return {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
}
Json Zstd() {
  return {{"name", "zstd"}, {"configuration", {{"level", 1}, {"checksum", false}}}};
}
Json Sharding(std::vector<uint64_t> inner) {
  return {{"name", "sharding_indexed"},
          {"configuration",
           {{"chunk_shape", inner},
            {"codecs", Json::array({BytesCodec()})},
            {"index_codecs", Json::array({BytesCodec(), {{"name", "crc32c"}}})},
            {"index_location", "end"}}}};
}

Json Doc(std::vector<uint64_t> shape, Json chunk_shapes, Json codecs = Json::array({BytesCodec()}),
         Json kind = "inline") {
  return {{"zarr_format", 3},
          {"node_type", "array"},
          {"shape", shape},
          {"data_type", "uint32"},
          {"chunk_grid",
           {{"name", "rectilinear"},
            {"configuration", {{"kind", kind}, {"chunk_shapes", chunk_shapes}}}}},
          {"chunk_key_encoding", {{"name", "default"}}},
          {"fill_value", 7},
          {"codecs", codecs}};
}

TEST(ChunkGrid, RegularAxisArithmetic) {
  const ChunkGrid g = ChunkGrid::Regular({4});
  EXPECT_TRUE(g.is_regular());
  EXPECT_EQ(g.Index(0, 0), 0u);
  EXPECT_EQ(g.Index(0, 9), 2u);
  EXPECT_EQ(g.Origin(0, 3), 12u);
  EXPECT_EQ(g.Length(0, 100), 4u);
  EXPECT_EQ(g.ChunksCovering(0, 10), 3u);
  EXPECT_EQ(g.RoundUp(0, 10), 12u);
  EXPECT_EQ(g.Extent(0), UINT64_MAX);
}

TEST(ChunkGrid, RunsMatchTheExpandedEdges) {
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<ChunkGrid::Run> runs;
    std::vector<uint64_t> edges;
    const int n = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < n; ++i) {
      const uint64_t len = 1 + rng() % 5;
      const uint64_t count = 1 + rng() % 4;
      runs.push_back({len, count});
      for (uint64_t k = 0; k < count; ++k) edges.push_back(len);
    }
    auto g = ChunkGrid::FromAxes({ChunkGrid::AxisSpec{0, runs}});
    ASSERT_TRUE(g.ok()) << g.status();
    ASSERT_EQ(g->Count(0), edges.size());
    uint64_t origin = 0;
    for (size_t i = 0; i < edges.size(); ++i) {
      EXPECT_EQ(g->Origin(0, i), origin);
      EXPECT_EQ(g->Length(0, i), edges[i]);
      for (uint64_t x = origin; x < origin + edges[i]; ++x) EXPECT_EQ(g->Index(0, x), i);
      origin += edges[i];
    }
    EXPECT_EQ(g->Extent(0), origin);
  }
}

TEST(ChunkGrid, HugeRunsStayRunLengthEncoded) {
  auto g = ChunkGrid::FromAxes({ChunkGrid::AxisSpec{0, {{1, uint64_t{1} << 62}, {3, 2}}}});
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->Count(0), (uint64_t{1} << 62) + 2);
  EXPECT_EQ(g->Index(0, (uint64_t{1} << 62) + 4), (uint64_t{1} << 62) + 1);
  EXPECT_EQ(g->axis(0).runs.size(), 2u);
  // Lengths adding up past 2^64 are refused.
  auto over = ChunkGrid::FromAxes({ChunkGrid::AxisSpec{0, {{4, uint64_t{1} << 62}, {1, 1}}}});
  EXPECT_EQ(over.status().code(), Status::Code::kInvalidArgument);
}

TEST(RectilinearMetadata, ParsesTheExtensionExample) {
  // zarr-extensions chunk-grids/rectilinear: five ways of declaring edges for shape 6.
  auto m = ArrayMetadata::FromJson(
      Doc({6, 6, 6, 6, 6}, Json::parse("[4, [1, 2, 3], [[4, 2]], [[1, 3], 3], [4, 4, 4]]")));
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_TRUE(m->rectilinear.has_value());
  const ChunkGrid& g = *m->rectilinear;
  EXPECT_TRUE(g.axis_is_regular(0));
  EXPECT_EQ(g.Count(1), 3u);
  EXPECT_EQ(g.Origin(1, 2), 3u);
  EXPECT_EQ(g.Count(2), 2u);
  EXPECT_EQ(g.Count(3), 4u);
  EXPECT_EQ(g.Length(3, 3), 3u);
  EXPECT_EQ(g.Count(4), 3u);
  EXPECT_EQ(m->grid_shape(), (std::vector<uint64_t>{2, 3, 2, 4, 2}));
  EXPECT_EQ(m->chunk_shape, (std::vector<uint64_t>{4, 3, 4, 3, 4}));
}

TEST(RectilinearMetadata, RoundTripsInCanonicalForm) {
  auto m = ArrayMetadata::FromJson(
      Doc({30, 6, 2000}, Json::parse("[5, [1, 1, 2, [2, 1]], [[1, 1000], [1, 500], 250, 250]]")));
  ASSERT_TRUE(m.ok()) << m.status();
  const Json j = m->ToJson();
  EXPECT_EQ(j["chunk_grid"]["name"], "rectilinear");
  EXPECT_EQ(j["chunk_grid"]["configuration"]["kind"], "inline");
  EXPECT_EQ(j["chunk_grid"]["configuration"]["chunk_shapes"],
            Json::parse("[5, [1, 1, 2, 2], [[1, 1500], 250, 250]]"));
  auto again = ArrayMetadata::FromJson(j);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again->rectilinear, *m->rectilinear);
  EXPECT_EQ(again->ToJson(), j);
}

void ExpectInvalid(const Json& doc, const std::string& needle) {
  auto m = ArrayMetadata::FromJson(doc);
  ASSERT_FALSE(m.ok()) << doc.dump();
  EXPECT_EQ(m.status().code(), Status::Code::kInvalidArgument) << m.status();
  EXPECT_NE(m.status().message().find("chunk_grid"), std::string::npos) << m.status();
  EXPECT_NE(m.status().message().find(needle), std::string::npos) << m.status();
}

TEST(RectilinearMetadata, RefusesMalformedGrids) {
  ExpectInvalid(Doc({6}, Json::parse("[[1, 0, 5]]")), "item 1");
  ExpectInvalid(Doc({6}, Json::parse("[[[2, 0], 6]]")), "count");
  ExpectInvalid(Doc({6}, Json::parse("[[-2, 8]]")), "item 0");
  ExpectInvalid(Doc({6}, Json::parse("[0]")), "entry 0");
  ExpectInvalid(Doc({6}, Json::parse("[[]]")), "empty");
  ExpectInvalid(Doc({6}, Json::parse("[[[1, 2, 3]]]")), "run");
  ExpectInvalid(Doc({6}, Json::parse("[[2.5, 4]]")), "item 0");
  ExpectInvalid(Doc({6, 6}, Json::parse("[[6]]")), "rank");
  ExpectInvalid(Doc({6}, Json::parse("[[2, 2]]")), "short");
  ExpectInvalid(Doc({6}, Json::parse("[6]"), Json::array({BytesCodec()}), "external"), "kind");
  Json no_shapes = Doc({6}, Json::parse("[6]"));
  no_shapes["chunk_grid"]["configuration"].erase("chunk_shapes");
  ExpectInvalid(no_shapes, "chunk_shapes");
  Json extra = Doc({6}, Json::parse("[6]"));
  extra["chunk_grid"]["configuration"]["chunk_shape"] = {6};
  ExpectInvalid(extra, "chunk_shape");
}

TEST(RectilinearMetadata, HostileSizesAreBoundedOrRefused) {
  // A run of 2^62 chunks stays one run in memory and one pair when written.
  auto m = ArrayMetadata::FromJson(Doc({10}, Json::parse("[[[1, 4611686018427387904]]]")));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->ToJson()["chunk_grid"]["configuration"]["chunk_shapes"],
            Json::parse("[[[1, 4611686018427387904]]]"));
  EXPECT_EQ(m->grid_shape(), std::vector<uint64_t>{10});
  // Edges adding up past 2^64.
  ExpectInvalid(Doc({10}, Json::parse("[[[4611686018427387904, 8]]]")), "sum");
  // A chunk too large to address.
  ExpectInvalid(Doc({10, 10}, Json::parse("[[[4611686018427387904, 1]], [[4611686018427387904, "
                                          "1]]]")),
                "2^64");
}

TEST(RectilinearMetadata, AnUnknownGridIsStillUnsupported) {
  Json doc = Doc({6}, Json::parse("[6]"));
  doc["chunk_grid"]["name"] = "hexagonal";
  auto m = ArrayMetadata::FromJson(doc);
  EXPECT_EQ(m.status().code(), Status::Code::kUnsupported);
  EXPECT_NE(m.status().message().find("hexagonal"), std::string::npos);
}

// Random edges covering `extent` (sometimes overhanging), as JSON of one dimension.
Json RandomAxis(std::mt19937_64& rng, uint64_t extent) {
  if (rng() % 4 == 0) return 1 + rng() % 5;  // a regular axis
  Json list = Json::array();
  uint64_t sum = 0;
  const uint64_t want = extent + (rng() % 3 == 0 ? rng() % 6 : 0);
  while (sum < std::max<uint64_t>(want, 1)) {
    const uint64_t len = 1 + rng() % 6;
    const uint64_t count = 1 + rng() % 3;
    if (count > 1) {
      list.push_back(Json::array({len, count}));
    } else {
      list.push_back(len);
    }
    sum += len * count;
  }
  return list;
}

struct Case {
  std::shared_ptr<Store> store;
  std::shared_ptr<Array> array;
  std::vector<uint32_t> reference;  // C order over the shape
};

Region RandomRegion(std::mt19937_64& rng, const std::vector<uint64_t>& shape) {
  Region r{std::vector<uint64_t>(shape.size()), std::vector<uint64_t>(shape.size())};
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 0) continue;
    r.origin[d] = rng() % shape[d];
    r.shape[d] = 1 + rng() % (shape[d] - r.origin[d]);
  }
  return r;
}

uint64_t Elements(const std::vector<uint64_t>& s) {
  uint64_t n = 1;
  for (uint64_t x : s) n *= x;
  return n;
}

// Calls f(array index, region index) for every element of `r` in C order.
template <typename F>
void ForEach(const std::vector<uint64_t>& shape, const Region& r, F f) {
  const size_t rank = shape.size();
  const uint64_t n = Elements(r.shape);
  std::vector<uint64_t> c(rank, 0);
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t lin = 0;
    for (size_t d = 0; d < rank; ++d) lin = lin * shape[d] + r.origin[d] + c[d];
    f(lin, i);
    for (size_t d = rank; d-- > 0;) {
      if (++c[d] < r.shape[d]) break;
      c[d] = 0;
    }
  }
}

void CheckWhole(Array& a, const std::vector<uint32_t>& ref, PipelineKind kind) {
  const auto& shape = a.metadata().shape;
  std::vector<uint32_t> got(ref.size(), 0);
  ReadOptions ro;
  ro.pipeline = kind;
  ASSERT_TRUE(a.Read(Region::All(shape), std::span<uint32_t>(got), ro).ok());
  ASSERT_EQ(got, ref);
}

void RunRandomCases(const std::function<std::shared_ptr<Store>()>& make_store, bool sharded,
                    uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (int trial = 0; trial < 12; ++trial) {
    const size_t rank = 1 + rng() % 3;
    std::vector<uint64_t> shape(rank);
    Json axes = Json::array();
    for (size_t d = 0; d < rank; ++d) {
      shape[d] = rng() % 14;
      if (sharded) {
        // Edges that are multiples of the inner chunk edge 2.
        Json list = Json::array();
        uint64_t sum = 0;
        while (sum < std::max<uint64_t>(shape[d], 1)) {
          const uint64_t len = 2 * (1 + rng() % 3);
          list.push_back(len);
          sum += len;
        }
        axes.push_back(list);
      } else {
        axes.push_back(RandomAxis(rng, shape[d]));
      }
    }
    Json codecs =
        sharded ? Json::array({Sharding(std::vector<uint64_t>(rank, 2))})
                : (trial % 2 ? Json::array({BytesCodec(), Zstd()}) : Json::array({BytesCodec()}));
    SCOPED_TRACE("trial " + std::to_string(trial) + " shape " + Json(shape).dump() + " axes " +
                 axes.dump());
    auto meta = ArrayMetadata::FromJson(Doc(shape, axes, codecs));
    ASSERT_TRUE(meta.ok()) << meta.status();
    auto store = make_store();
    auto created = Array::Create(store, "a", *meta);
    ASSERT_TRUE(created.ok()) << created.status();
    Array& a = **created;
    std::vector<uint32_t> ref(Elements(shape), 7);  // fill value
    CheckWhole(a, ref, PipelineKind::kFused);
    for (int op = 0; op < 10; ++op) {
      const Region r = RandomRegion(rng, shape);
      const PipelineKind kind = rng() % 2 ? PipelineKind::kFused : PipelineKind::kBatched;
      if (rng() % 3 != 0) {
        std::vector<uint32_t> data(Elements(r.shape));
        for (auto& v : data) v = static_cast<uint32_t>(rng() % 5 == 0 ? 7 : rng() % 1000);
        WriteOptions wo;
        wo.pipeline = kind;
        ASSERT_TRUE(a.Write(r, std::span<const uint32_t>(data), wo).ok());
        ForEach(shape, r, [&](uint64_t lin, uint64_t i) { ref[lin] = data[i]; });
      } else {
        std::vector<uint32_t> got(Elements(r.shape), 0);
        ReadOptions ro;
        ro.pipeline = kind;
        ASSERT_TRUE(a.Read(r, std::span<uint32_t>(got), ro).ok());
        ForEach(shape, r, [&](uint64_t lin, uint64_t i) { ASSERT_EQ(got[i], ref[lin]); });
      }
    }
    CheckWhole(a, ref, PipelineKind::kFused);
    CheckWhole(a, ref, PipelineKind::kBatched);
    // A fresh handle reads the same.
    auto reopened = Array::Open(store, "a");
    ASSERT_TRUE(reopened.ok()) << reopened.status();
    CheckWhole(**reopened, ref, PipelineKind::kFused);
  }
}

TEST(RectilinearArray, RandomReadsAndWritesMatchAReferenceInMemory) {
  RunRandomCases([] { return MemoryStore::Create(); }, false, 11);
}

TEST(RectilinearArray, RandomShardedReadsAndWritesMatchAReference) {
  RunRandomCases([] { return MemoryStore::Create(); }, true, 12);
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("zarrpp_rect_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    std::filesystem::remove_all(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(RectilinearArray, RandomReadsAndWritesMatchAReferenceOnALocalStore) {
  TempDir dir;
  int n = 0;
  RunRandomCases(
      [&]() -> std::shared_ptr<Store> {
        auto s = LocalStore::Create(dir.path() + "/" + std::to_string(n++));
        EXPECT_TRUE(s.ok()) << s.status();
        return s.ok() ? std::shared_ptr<Store>(*s) : nullptr;
      },
      false, 13);
}

// A 2-d array of shape [7, 9], rows cut [1, 4, 2], columns [3, 3, 3].
std::shared_ptr<Array> Small(std::shared_ptr<Store> store) {
  auto meta = ArrayMetadata::FromJson(
      Doc({7, 9}, Json::parse("[[1, 4, 2], 3]"), Json::array({BytesCodec()})));
  EXPECT_TRUE(meta.ok()) << meta.status();
  auto a = Array::Create(std::move(store), "a", *meta);
  EXPECT_TRUE(a.ok()) << a.status();
  return *a;
}

TEST(RectilinearArray, ChunksAreStoredUnderTheirGridIndexWithTheirOwnShape) {
  auto store = MemoryStore::Create();
  auto a = Small(store);
  std::vector<uint32_t> all(63);
  for (uint32_t i = 0; i < 63; ++i) all[i] = 100 + i;
  ASSERT_TRUE(a->Write(Region::All({7, 9}), std::span<const uint32_t>(all)).ok());
  // Keys are the regular-grid keys of the same index; the bytes codec stores exactly the
  // chunk's own elements.
  for (uint64_t i = 0; i < 3; ++i) {
    for (uint64_t j = 0; j < 3; ++j) {
      auto v = store->get("a/c/" + std::to_string(i) + "/" + std::to_string(j));
      ASSERT_TRUE(v.ok() && v->has_value()) << i << "," << j;
      const uint64_t rows = i == 0 ? 1 : i == 1 ? 4 : 2;
      EXPECT_EQ((*v)->size(), rows * 3 * 4);
    }
  }
  auto v = store->get("a/c/1/2");
  ASSERT_TRUE(v.ok() && v->has_value());
  uint32_t first = 0;
  std::memcpy(&first, (*v)->data(), 4);
  EXPECT_EQ(first, 100u + 1 * 9 + 6);  // element (1, 6) opens chunk (1, 2)
}

TEST(RectilinearArray, ChunkLevelAccessUsesEachChunksRegionAndShape) {
  auto store = MemoryStore::Create();
  auto a = Small(store);
  std::vector<std::pair<std::vector<uint64_t>, Region>> seen;
  ASSERT_TRUE(a->ForEachChunk(Region{{2, 4}, {4, 2}}, ChunkLevel::kStored, [&](const ChunkInfo& c) {
                 seen.push_back({c.coords, c.part});
                 return Status::OK();
               }).ok());
  ASSERT_EQ(seen.size(), 2u);  // rows 2..5 lie in row chunks 1 and 2; columns 4..5 in chunk 1
  EXPECT_EQ(seen[0].first, (std::vector<uint64_t>{1, 1}));
  EXPECT_EQ(seen[0].second.origin, (std::vector<uint64_t>{2, 4}));
  EXPECT_EQ(seen[0].second.shape, (std::vector<uint64_t>{3, 2}));
  EXPECT_EQ(seen[1].first, (std::vector<uint64_t>{2, 1}));
  EXPECT_EQ(seen[1].second.shape, (std::vector<uint64_t>{1, 2}));
  auto grid = a->ChunkGrid(ChunkLevel::kStored);
  ASSERT_TRUE(grid.ok()) << grid.status();
  EXPECT_EQ(grid->grid, (std::vector<uint64_t>{3, 3}));

  // Chunk (2, 0) holds 2 x 3 elements; a buffer of another size is refused.
  std::vector<uint32_t> chunk = {1, 2, 3, 4, 5, 6};
  ASSERT_TRUE(
      a->WriteChunk(ChunkLevel::kStored, {2, 0},
                    ByteView(reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size() * 4))
          .ok());
  std::vector<uint32_t> wrong(9);
  EXPECT_EQ(
      a->WriteChunk(ChunkLevel::kStored, {2, 0},
                    ByteView(reinterpret_cast<const uint8_t*>(wrong.data()), wrong.size() * 4))
          .code(),
      Status::Code::kInvalidArgument);
  std::vector<uint32_t> back(6);
  auto found =
      a->ReadChunk(ChunkLevel::kStored, {2, 0},
                   MutableByteView(reinterpret_cast<uint8_t*>(back.data()), back.size() * 4));
  ASSERT_TRUE(found.ok() && *found);
  EXPECT_EQ(back, chunk);
  std::vector<uint32_t> rows(2 * 9);
  ASSERT_TRUE(a->Read(Region{{5, 0}, {2, 9}}, std::span<uint32_t>(rows)).ok());
  EXPECT_EQ(rows[0], 1u);
  EXPECT_EQ(rows[9 + 2], 6u);
  EXPECT_EQ(rows[3], 7u);  // untouched: the fill value
}

TEST(RectilinearArray, ResizeStaysInsideTheDeclaredChunks) {
  auto store = MemoryStore::Create();
  auto a = Small(store);
  std::vector<uint32_t> all(63, 5);
  ASSERT_TRUE(a->Write(Region::All({7, 9}), std::span<const uint32_t>(all)).ok());
  // Rows are declared up to 7: growing past is refused; the regular column axis grows freely.
  Status grow = a->Resize({8, 9});
  EXPECT_EQ(grow.code(), Status::Code::kInvalidArgument) << grow;
  EXPECT_NE(grow.message().find("rectilinear"), std::string::npos) << grow;
  ASSERT_TRUE(a->Resize({7, 20}).ok());
  // Shrinking to 3 rows cuts row chunk 1 (rows 1..4): rows 3..4 read the fill value after
  // growing back, and chunk 2 is erased.
  ASSERT_TRUE(a->Resize({3, 20}).ok());
  EXPECT_FALSE(*store->exists("a/c/2/0"));
  ASSERT_TRUE(a->Resize({7, 20}).ok());
  std::vector<uint32_t> got(7 * 20);
  ASSERT_TRUE(a->Read(Region::All({7, 20}), std::span<uint32_t>(got)).ok());
  for (uint64_t i = 0; i < 7; ++i) {
    for (uint64_t j = 0; j < 20; ++j) {
      EXPECT_EQ(got[i * 20 + j], i < 3 && j < 9 ? 5u : 7u) << i << "," << j;
    }
  }
  auto reopened = Array::Open(store, "a");
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->metadata().shape, (std::vector<uint64_t>{7, 20}));
  EXPECT_EQ((*reopened)->metadata().ToJson()["chunk_grid"]["configuration"]["chunk_shapes"],
            Json::parse("[[1, 4, 2], 3]"));
}

TEST(RectilinearArray, AppendFillsTheDeclaredRowsThenStops) {
  auto store = MemoryStore::Create();
  auto meta = ArrayMetadata::FromJson(
      Doc({0, 2}, Json::parse("[[3, 1, [2, 2]], 2]"), Json::array({BytesCodec()})));
  ASSERT_TRUE(meta.ok()) << meta.status();
  auto a = Array::Create(store, "a", *meta);
  ASSERT_TRUE(a.ok()) << a.status();
  std::vector<uint32_t> rows = {1, 2, 3, 4, 5, 6, 7, 8};
  ASSERT_TRUE((*a)->Append(std::span<const uint32_t>(rows), {4, 2}, 0).ok());
  ASSERT_TRUE((*a)->Append(std::span<const uint32_t>(rows), {4, 2}, 0).ok());
  EXPECT_EQ((*a)->metadata().shape, (std::vector<uint64_t>{8, 2}));
  Status past = (*a)->Append(std::span<const uint32_t>(rows), {1, 2}, 0);
  EXPECT_EQ(past.code(), Status::Code::kInvalidArgument) << past;
  std::vector<uint32_t> got(16);
  ASSERT_TRUE((*a)->Read(Region::All({8, 2}), std::span<uint32_t>(got)).ok());
  for (size_t i = 0; i < 16; ++i) EXPECT_EQ(got[i], rows[i % 8]);
}

TEST(RectilinearArray, ShardEdgesMustHoldWholeInnerChunks) {
  auto meta =
      ArrayMetadata::FromJson(Doc({10}, Json::parse("[[8, 6]]"), Json::array({Sharding({4})})));
  ASSERT_TRUE(meta.ok()) << meta.status();
  auto a = Array::Create(MemoryStore::Create(), "a", *meta);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Status::Code::kInvalidArgument) << a.status();
  EXPECT_NE(a.status().message().find("edge 6"), std::string::npos) << a.status();
}

TEST(RectilinearArray, MetadataBuiltInCodeIsCanonicalised) {
  ArrayMetadata m;
  m.shape = {10, 4};
  m.data_type = DataType(DataTypeId::kUInt32);
  auto grid =
      ChunkGrid::FromAxes({ChunkGrid::AxisSpec{0, {{3, 2}, {4, 1}}}, ChunkGrid::AxisSpec{4, {}}});
  ASSERT_TRUE(grid.ok()) << grid.status();
  m.rectilinear = *grid;
  auto a = Array::Create(MemoryStore::Create(), "a", m);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ((*a)->metadata().chunk_shape, (std::vector<uint64_t>{4, 4}));
  EXPECT_EQ((*a)->metadata().ToJson()["chunk_grid"]["configuration"]["chunk_shapes"],
            Json::parse("[[3, 3, 4], 4]"));
  std::vector<uint32_t> v(40);
  for (uint32_t i = 0; i < 40; ++i) v[i] = i;
  ASSERT_TRUE((*a)->Write(Region::All({10, 4}), std::span<const uint32_t>(v)).ok());
  std::vector<uint32_t> got(40);
  ASSERT_TRUE((*a)->Read(Region::All({10, 4}), std::span<uint32_t>(got)).ok());
  EXPECT_EQ(got, v);
}

// Writes V over an array of `shape` and returns the values.
std::vector<uint32_t> FillWithPositions(Array& a) {
  std::vector<uint32_t> v(Elements(a.metadata().shape));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint32_t>(1000 + i);
  EXPECT_TRUE(a.Write(Region::All(a.metadata().shape), std::span<const uint32_t>(v)).ok());
  return v;
}

TEST(RectilinearArray, ConvertsToAndFromARegularGridWithTheSameDigest) {
  auto store = MemoryStore::Create();
  auto meta = ArrayMetadata::FromJson(
      Doc({11, 7}, Json::parse("[[2, [3, 3]], [1, 6]]"), Json::array({BytesCodec(), Zstd()})));
  ASSERT_TRUE(meta.ok()) << meta.status();
  auto src = Array::Create(store, "a", *meta);
  ASSERT_TRUE(src.ok()) << src.status();
  const std::vector<uint32_t> values = FillWithPositions(**src);
  auto digest = ArrayDigest(**src);
  ASSERT_TRUE(digest.ok()) << digest.status();

  // Rectilinear -> regular.
  ConvertOptions to_regular;
  to_regular.chunks = std::vector<uint64_t>{4, 4};
  auto dst = MemoryStore::Create();
  ASSERT_TRUE(Convert(store, "a", dst, "r", to_regular).ok());
  auto regular = Array::Open(dst, "r");
  ASSERT_TRUE(regular.ok()) << regular.status();
  EXPECT_FALSE((*regular)->metadata().rectilinear.has_value());
  EXPECT_EQ((*regular)->metadata().chunk_shape, (std::vector<uint64_t>{4, 4}));
  EXPECT_EQ(*ArrayDigest(**regular), *digest);

  // Regular -> another rectilinear grid.
  ConvertOptions to_rect;
  auto grid = ChunkGrid::FromAxes(
      {ChunkGrid::AxisSpec{0, {{5, 1}, {6, 1}}}, ChunkGrid::AxisSpec{0, {{7, 1}}}});
  ASSERT_TRUE(grid.ok());
  to_rect.chunk_grid = *grid;
  auto dst2 = MemoryStore::Create();
  auto converted = Convert(dst, "r", dst2, "back", to_rect);
  ASSERT_TRUE(converted.ok()) << converted.status();
  auto back = Array::Open(dst2, "back");
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_TRUE((*back)->metadata().rectilinear.has_value());
  EXPECT_EQ(*(*back)->metadata().rectilinear, *grid);
  EXPECT_EQ(*ArrayDigest(**back), *digest);
  EXPECT_TRUE(*dst2->exists("back/c/1/0"));
  EXPECT_FALSE(*dst2->exists("back/c/2/0"));

  // A rectilinear copy keeps its grid; v2 has none.
  auto dst3 = MemoryStore::Create();
  ASSERT_TRUE(Convert(store, "a", dst3, "same").ok());
  auto same = Array::Open(dst3, "same");
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*(*same)->metadata().rectilinear, *(*src)->metadata().rectilinear);
  EXPECT_EQ(*ArrayDigest(**same), *digest);
  ConvertOptions to_v2;
  to_v2.zarr_format = 2;
  auto refused = Convert(store, "a", MemoryStore::Create(), "", to_v2);
  EXPECT_EQ(refused.status().code(), Status::Code::kUnsupported) << refused.status();
  // A grid that does not cover the shape is refused by name.
  ConvertOptions short_grid;
  auto small = ChunkGrid::FromAxes({ChunkGrid::AxisSpec{0, {{5, 1}}}, ChunkGrid::AxisSpec{7, {}}});
  short_grid.chunk_grid = *small;
  auto too_short = Convert(dst, "r", MemoryStore::Create(), "", short_grid);
  EXPECT_EQ(too_short.status().code(), Status::Code::kInvalidArgument) << too_short.status();
  std::vector<uint32_t> got(values.size());
  ASSERT_TRUE((*back)->Read(Region::All({11, 7}), std::span<uint32_t>(got)).ok());
  EXPECT_EQ(got, values);
}

TEST(RectilinearArray, DigestMatchesTheRegularArrayOfTheSameValues) {
  auto store = MemoryStore::Create();
  auto rect = ArrayMetadata::FromJson(Doc({9, 5}, Json::parse("[[1, 5, 3], [[2, 2], 1]]")));
  ASSERT_TRUE(rect.ok()) << rect.status();
  auto a = Array::Create(store, "rect", *rect);
  ASSERT_TRUE(a.ok());
  ArrayMetadata reg = *rect;
  reg.rectilinear.reset();
  reg.chunk_shape = {4, 4};
  auto b = Array::Create(store, "reg", reg);
  ASSERT_TRUE(b.ok()) << b.status();
  // Only some chunks stored: missing ones read the fill value in both.
  std::vector<uint32_t> part = {1, 2, 3, 4, 5, 6};
  for (Array* x : {a->get(), b->get()}) {
    ASSERT_TRUE(x->Write(Region{{2, 1}, {2, 3}}, std::span<const uint32_t>(part)).ok());
  }
  auto da = ArrayDigest(**a);
  auto db = ArrayDigest(**b);
  ASSERT_TRUE(da.ok() && db.ok());
  EXPECT_EQ(*da, *db);
}

}  // namespace
}  // namespace zarrpp
