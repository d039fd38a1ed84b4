// DigestTree (zarrpp/digest.h) over damaged trees: every node it cannot digest becomes an entry
// carrying its error, and every other array is still digested.
#include "zarrpp/digest.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "zarrpp/array.h"
#include "zarrpp/json.h"
#include "zarrpp/memory_store.h"

namespace zarrpp {
namespace {

ArrayMetadata U16(std::vector<uint64_t> shape, std::vector<uint64_t> chunks) {
  ArrayMetadata m;
  m.shape = std::move(shape);
  m.chunk_shape = std::move(chunks);
  m.data_type = DataType(DataTypeId::kUInt16);
  m.codecs = Json::parse(R"([{"name":"bytes","configuration":{"endian":"little"}}])");
  return m;
}

std::shared_ptr<Array> Written(const std::shared_ptr<Store>& store, const std::string& path) {
  auto arr = Array::Create(store, path, U16({4, 4}, {2, 2}));
  EXPECT_TRUE(arr.ok()) << arr.status();
  std::vector<uint16_t> v(16);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint16_t>(1000 + i);
  EXPECT_TRUE((*arr)->Write(Region::All({4, 4}), std::span<const uint16_t>(v)).ok());
  return *arr;
}

Status Put(const std::shared_ptr<Store>& store, const std::string& key, const std::string& v) {
  return store->set(key, AsBytes(v));
}

TEST(DigestTree, ReportsEveryDamagedNodeAndDigestsTheRest) {
  auto store = MemoryStore::Create();
  auto good = Written(store, "good");
  auto reference = ArrayDigest(*good);
  ASSERT_TRUE(reference.ok()) << reference.status();
  Written(store, "other/good");
  for (const char* name : {"short", "dirchunk", "filedir"}) Written(store, name);
  ASSERT_TRUE(Put(store, "badjson/zarr.json", "{\"node_type\": ").ok());
  ASSERT_TRUE(Put(store, "list/zarr.json", "[1,2]").ok());
  ASSERT_TRUE(Put(store, "notype/zarr.json", R"({"zarr_format":3})").ok());
  ASSERT_TRUE(Put(store, "short/c/1/1", "xy").ok());  // 2 bytes where 8 belong
  ASSERT_TRUE(Put(store, "dirchunk/c/0/1/stray", "x").ok());
  ASSERT_TRUE(store->erase("filedir/c/1/0").ok());
  ASSERT_TRUE(store->erase("filedir/c/1/1").ok());
  ASSERT_TRUE(Put(store, "filedir/c/1", "a value where chunks belong").ok());
  ASSERT_TRUE(Put(store, "dirmeta/zarr.json/x", "{}").ok());

  auto entries = DigestTree(store, "");
  ASSERT_TRUE(entries.ok()) << entries.status();
  std::map<std::string, ArrayDigestEntry> by_path;
  for (const ArrayDigestEntry& e : *entries) by_path[e.path] = e;
  ASSERT_EQ(by_path.size(), 9u);  // the groups "" and "other" are not entries

  for (const char* ok : {"good", "other/good"}) {
    EXPECT_TRUE(by_path[ok].error.ok()) << ok << ": " << by_path[ok].error;
    EXPECT_EQ(by_path[ok].sha256, *reference) << ok;
  }
  struct Expected {
    std::string path;
    Status::Code code;
    std::string text;
  };
  for (const Expected& x : {
           Expected{"badjson", Status::Code::kInvalidArgument, "badjson/zarr.json"},
           Expected{"list", Status::Code::kCorruption, "not a JSON object"},
           Expected{"notype", Status::Code::kCorruption, "node_type is missing"},
           Expected{"short", Status::Code::kCorruption, "short/c/1/1"},
           Expected{"dirchunk", Status::Code::kCorruption, "'dirchunk/c/0/1' is a directory"},
           Expected{"filedir", Status::Code::kCorruption, "'filedir/c/1' is a value"},
           Expected{"dirmeta", Status::Code::kCorruption, "'dirmeta/zarr.json' is a directory"},
       }) {
    const ArrayDigestEntry& e = by_path[x.path];
    EXPECT_EQ(e.error.code(), x.code) << x.path << ": " << e.error;
    EXPECT_NE(e.error.message().find(x.text), std::string::npos) << x.path << ": " << e.error;
    EXPECT_TRUE(e.sha256.empty()) << x.path;
  }
  // The damaged arrays whose metadata was read still say what they are.
  EXPECT_EQ(by_path["short"].shape, (std::vector<uint64_t>{4, 4}));
  EXPECT_EQ(by_path["short"].data_type, "uint16");
}

TEST(DigestTree, GroupsAreNotEntries) {
  auto store = MemoryStore::Create();
  Written(store, "g/a");
  auto entries = DigestTree(store, "g");
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].path, "a");
  EXPECT_TRUE((*entries)[0].error.ok());
}

}  // namespace
}  // namespace zarrpp
