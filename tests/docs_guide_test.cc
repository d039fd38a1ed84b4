// docs/getting-started.md, compiled and run: its ```cpp blocks are extracted from the page at
// build time (docs/extract_code.cmake) into one file linked into this test, so the guide's code
// always builds against the current headers and does what the guide says.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "zarrpp/array.h"
#include "zarrpp/group.h"
#include "zarrpp/json.h"
#include "zarrpp/local_store.h"

// Defined by the guide.
zarrpp::Status WriteAnArray(const std::string& root);
zarrpp::Status ReadBack(const std::string& root);
zarrpp::Status ReadStrided(const std::string& root);
zarrpp::Status AppendDays(const std::string& root);
zarrpp::Status BuildHierarchy(const std::string& root);
zarrpp::Status WriteSharded(const std::string& root);
zarrpp::Status ComputeWhileWriting(const std::string& root);
zarrpp::Status CoarseGridAsync(const std::string& root);
zarrpp::Status ConvertOnTheWay(const std::string& root);
zarrpp::Status ChunkByChunk(const std::string& root);
zarrpp::Status AppendTogether(const std::string& root);
zarrpp::Status MonthlyChunks(const std::string& root);

namespace zarrpp {
namespace {

namespace fs = std::filesystem;

class DocsGuide : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = (fs::temp_directory_path() /
             ("zarrpp_guide_" + std::to_string(::getpid()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                .string();
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string root_;
};

TEST_F(DocsGuide, WriteThenReadBack) {
  Status s = WriteAnArray(root_);
  ASSERT_TRUE(s.ok()) << s;
  s = ReadBack(root_);
  ASSERT_TRUE(s.ok()) << s;
  auto store = LocalStore::Open(root_);
  ASSERT_TRUE(store.ok());
  auto array = Array::Open(*store, "temperature");
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ((*array)->metadata().dimension_names->at(0), "time");
  // 10 days of 30-day chunks: the first of 2 x 4 tiles of chunks, 8 chunks stored.
  auto keys = (*store)->list_prefix("temperature/c/");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), 8u);
}

TEST_F(DocsGuide, StridedSelections) {
  Status s = WriteAnArray(root_);
  ASSERT_TRUE(s.ok()) << s;
  s = ReadStrided(root_);
  ASSERT_TRUE(s.ok()) << s;
}

TEST_F(DocsGuide, AppendGrowsTheSeries) {
  Status s = AppendDays(root_);
  ASSERT_TRUE(s.ok()) << s;
  auto store = LocalStore::Open(root_);
  ASSERT_TRUE(store.ok());
  auto array = Array::Open(*store, "station_counts");
  ASSERT_TRUE(array.ok()) << array.status();
  std::vector<int32_t> v(20);
  ASSERT_TRUE((*array)->Read(Region::All({5, 4}), std::span<int32_t>(v)).ok());
  EXPECT_EQ(v[4 * 4 + 3], 16);
}

TEST_F(DocsGuide, HierarchyAndSharding) {
  Status s = BuildHierarchy(root_);
  ASSERT_TRUE(s.ok()) << s;
  s = WriteSharded(root_);
  ASSERT_TRUE(s.ok()) << s;
  auto store = LocalStore::Open(root_);
  ASSERT_TRUE(store.ok());
  auto shards = (*store)->list_prefix("image/c/");
  ASSERT_TRUE(shards.ok());
  EXPECT_EQ(shards->size(), 4u);
  auto group = Group::Open(*store, "model");
  ASSERT_TRUE(group.ok()) << group.status();
  EXPECT_EQ(group->get()->metadata().attributes["Conventions"], "CF-1.8");
}

TEST_F(DocsGuide, AsyncWritesLandInOrder) {
  Status s = WriteAnArray(root_);
  ASSERT_TRUE(s.ok()) << s;
  s = ComputeWhileWriting(root_);
  ASSERT_TRUE(s.ok()) << s;
  auto store = LocalStore::Open(root_);
  ASSERT_TRUE(store.ok());
  auto array = Array::Open(*store, "temperature");
  ASSERT_TRUE(array.ok()) << array.status();
  // Every day 0..19 holds 250 + its C-order element index, whichever buffer carried it.
  std::vector<float> v(20 * 180 * 360);
  ASSERT_TRUE((*array)->Read(Region{{0, 0, 0}, {20, 180, 360}}, std::span<float>(v)).ok());
  for (size_t i = 0; i < v.size(); i += 997) {
    ASSERT_EQ(v[i], 250.0f + static_cast<float>(i)) << "element " << i;
  }
  s = CoarseGridAsync(root_);
  ASSERT_TRUE(s.ok()) << s;
}

TEST_F(DocsGuide, ConversionsAndChunksAndBatches) {
  for (auto step : {WriteAnArray, AppendDays, ConvertOnTheWay, WriteSharded, ChunkByChunk,
                    AppendTogether, MonthlyChunks}) {
    Status s = step(root_);
    ASSERT_TRUE(s.ok()) << s;
  }
  auto store = LocalStore::Open(root_);
  ASSERT_TRUE(store.ok());
  auto series = Array::Open(*store, "station_counts");
  ASSERT_TRUE(series.ok()) << series.status();
  std::vector<int32_t> v(8);
  ASSERT_TRUE((*series)->Read(Region{{0, 0}, {2, 4}}, std::span<int32_t>(v)).ok());
  // Row 0 was rewritten from int64; row 1 kept AppendDays' values after the refused write.
  EXPECT_EQ(v, (std::vector<int32_t>{7, 8, 9, 10, 1, 2, 3, 4}));
  auto field = Array::Open(*store, "run/field");
  ASSERT_TRUE(field.ok()) << field.status();
  EXPECT_EQ((*field)->shape(), (std::vector<uint64_t>{1, 8}));
  auto daily = Array::Open(*store, "daily");
  ASSERT_TRUE(daily.ok()) << daily.status();
  ASSERT_TRUE((*daily)->metadata().rectilinear.has_value());
  std::vector<float> day(180 * 360);
  ASSERT_TRUE((*daily)->Read(Region{{60, 0, 0}, {1, 180, 360}}, std::span<float>(day)).ok());
  EXPECT_EQ(day[12345], 1.5f);
  ASSERT_TRUE((*daily)->Read(Region{{62, 0, 0}, {1, 180, 360}}, std::span<float>(day)).ok());
  EXPECT_EQ(day[12345], 0.0f);
}

}  // namespace
}  // namespace zarrpp
