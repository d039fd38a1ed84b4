#include "zarrpp/local_store.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "support/store_conformance.h"

namespace {

namespace fs = std::filesystem;
using zarrpp::ByteRange;
using zarrpp::Bytes;
using zarrpp::LocalStore;
using zarrpp::LocalStoreOptions;
using zarrpp::testing::Filled;
using zarrpp::testing::Pattern;
using zarrpp::testing::StoreCase;

std::shared_ptr<zarrpp::Store> MakeLocal(LocalStoreOptions options) {
  std::string dir = zarrpp::testing::MakeTempDir("local");
  auto store = LocalStore::Open(dir + "/root", options);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return nullptr;
  return zarrpp::testing::RemoveDirOnRelease(*store, dir);
}

INSTANTIATE_TEST_SUITE_P(Local, StoreConformance,
                         ::testing::Values(StoreCase{"Local", [] { return MakeLocal({}); }},
                                           StoreCase{"LocalFsync",
                                                     [] { return MakeLocal({.fsync = true}); }}),
                         zarrpp::testing::StoreCaseName);

// A scratch directory holding the store's root and things placed beside it.
class LocalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = zarrpp::testing::MakeTempDir("localtest");
    ASSERT_FALSE(dir_.empty());
    root_ = dir_ + "/root";
    auto s = LocalStore::Open(root_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *s;
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  static void WriteFile(const std::string& path, const std::string& content) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << content;
  }
  // Every name under `dir` (recursively) that starts with the temporary prefix.
  static std::vector<std::string> TempFilesUnder(const std::string& dir) {
    std::vector<std::string> found;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      if (e.path().filename().string().starts_with(".zarrpp-tmp-")) found.push_back(e.path());
    }
    return found;
  }

  std::string dir_, root_;
  std::shared_ptr<LocalStore> store_;
};

TEST_F(LocalStoreTest, KeyMapsToNestedPathUnderRoot) {
  ASSERT_TRUE(store_->set("a/b/c", zarrpp::AsBytes("hello")).ok());
  EXPECT_EQ(ReadFile(root_ + "/a/b/c"), "hello");
  EXPECT_EQ(store_->description(), "file://" + root_);
  WriteFile(root_ + "/x/y", "planted");
  EXPECT_EQ(**store_->get("x/y"),
            Bytes(zarrpp::AsBytes("planted").begin(), zarrpp::AsBytes("planted").end()));
}

TEST_F(LocalStoreTest, DotDotKeysCannotEscapeTheRoot) {
  const std::string secret = dir_ + "/secret";
  WriteFile(secret, "outside");
  for (const char* key : {"../secret", "a/../../secret", "./../secret", "..", "a/../.."}) {
    SCOPED_TRACE(key);
    EXPECT_TRUE(store_->get(key).status().IsInvalidArgument());
    EXPECT_TRUE(store_->set(key, Filled(3, 1)).IsInvalidArgument());
    EXPECT_TRUE(store_->set_range(key, 0, Filled(1, 1)).IsInvalidArgument());
    EXPECT_TRUE(store_->erase(key).IsInvalidArgument());
    EXPECT_TRUE(store_->size(key).status().IsInvalidArgument());
  }
  EXPECT_TRUE(store_->erase_prefix("../").IsInvalidArgument());
  EXPECT_TRUE(store_->list_prefix("../").status().IsInvalidArgument());
  EXPECT_TRUE(store_->list_dir("../").status().IsInvalidArgument());
  EXPECT_EQ(ReadFile(secret), "outside");
  EXPECT_TRUE(fs::exists(secret));
}

TEST_F(LocalStoreTest, OpenCreatesMissingRootUnlessToldNot) {
  const std::string nested = dir_ + "/deep/er/root";
  auto created = LocalStore::Open(nested);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(fs::is_directory(nested));

  auto refused = LocalStore::Open(dir_ + "/absent", {.create = false});
  EXPECT_TRUE(refused.status().IsNotFound()) << refused.status();
  EXPECT_NE(refused.status().message().find(dir_ + "/absent"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ + "/absent"));

  WriteFile(dir_ + "/plainfile", "x");
  auto on_file = LocalStore::Open(dir_ + "/plainfile");
  EXPECT_TRUE(on_file.status().IsIOError()) << on_file.status();
}

TEST_F(LocalStoreTest, ReopeningSeesExistingValues) {
  ASSERT_TRUE(store_->set("c/0", Pattern(100, 3)).ok());
  auto again = LocalStore::Open(root_ + "/", {.create = false});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(**(*again)->get("c/0"), Pattern(100, 3));
  EXPECT_EQ((*again)->root(), root_);
}

TEST_F(LocalStoreTest, TemporaryFilesAreNotListed) {
  ASSERT_TRUE(store_->set("a/b", Filled(1, 1)).ok());
  WriteFile(root_ + "/.zarrpp-tmp-123-abc-0", "stale");
  WriteFile(root_ + "/a/.zarrpp-tmp-9", "stale");
  EXPECT_EQ(*store_->list(), std::vector<std::string>{"a/b"});
  auto dir = store_->list_dir("");
  ASSERT_TRUE(dir.ok());
  EXPECT_TRUE(dir->keys.empty());
  EXPECT_EQ(dir->prefixes, std::vector<std::string>{"a/"});
  auto sub = store_->list_dir("a/");
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(sub->keys, std::vector<std::string>{"a/b"});
}

TEST_F(LocalStoreTest, SuccessfulSetsLeaveNoTemporaryFiles) {
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(store_->set("c/" + std::to_string(i % 5) + "/x", Pattern(1000, i)).ok());
  }
  EXPECT_TRUE(TempFilesUnder(root_).empty());
}

TEST_F(LocalStoreTest, FailedSetOverDirectoryKeepsOldDataAndLeavesNoTemporary) {
  ASSERT_TRUE(store_->set("a/b/inner", zarrpp::AsBytes("old")).ok());
  zarrpp::Status s = store_->set("a/b", Filled(10, 7));  // "a/b" is a non-empty directory
  EXPECT_TRUE(s.IsIOError()) << s;
  EXPECT_NE(s.message().find("'a/b'"), std::string::npos) << s;
  EXPECT_EQ(ReadFile(root_ + "/a/b/inner"), "old");
  EXPECT_TRUE(TempFilesUnder(root_).empty());
  // A directory where a file is expected reads as missing.
  EXPECT_FALSE(store_->get("a/b")->has_value());
  EXPECT_EQ(*store_->size("a/b"), std::nullopt);
  EXPECT_FALSE(*store_->exists("a/b"));
  EXPECT_TRUE(store_->set_range("a/b", 0, Filled(1, 1)).IsFailedPrecondition());
  EXPECT_TRUE(store_->erase("a/b").ok());
  EXPECT_EQ(ReadFile(root_ + "/a/b/inner"), "old");
}

TEST_F(LocalStoreTest, FailedSetUnderAFileKeepsTheFile) {
  ASSERT_TRUE(store_->set("a/file", zarrpp::AsBytes("value")).ok());
  zarrpp::Status s = store_->set("a/file/child", Filled(4, 1));
  EXPECT_TRUE(s.IsIOError()) << s;
  EXPECT_NE(s.message().find("a/file/child"), std::string::npos) << s;
  EXPECT_EQ(ReadFile(root_ + "/a/file"), "value");
  EXPECT_FALSE(store_->get("a/file/child")->has_value());
  EXPECT_TRUE(TempFilesUnder(root_).empty());
}

TEST_F(LocalStoreTest, SetReplacesTheFileWhileSetRangeWritesInPlace) {
  ASSERT_TRUE(store_->set("k", Pattern(1 << 20, 1)).ok());
  struct stat before {};
  ASSERT_EQ(::stat((root_ + "/k").c_str(), &before), 0);

  ASSERT_TRUE(store_->set_range("k", 1000, Filled(24, 0xAB)).ok());
  struct stat after_range {};
  ASSERT_EQ(::stat((root_ + "/k").c_str(), &after_range), 0);
  EXPECT_EQ(after_range.st_ino, before.st_ino);  // same file: written in place

  Bytes expected = Pattern(1 << 20, 1);
  std::fill(expected.begin() + 1000, expected.begin() + 1024, 0xAB);
  std::string on_disk = ReadFile(root_ + "/k");
  ASSERT_EQ(on_disk.size(), expected.size());
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(),
                         reinterpret_cast<const uint8_t*>(on_disk.data())));

  ASSERT_TRUE(store_->set("k", Filled(8, 1)).ok());
  struct stat after_set {};
  ASSERT_EQ(::stat((root_ + "/k").c_str(), &after_set), 0);
  EXPECT_NE(after_set.st_ino, before.st_ino);  // a new file renamed over the old one
  EXPECT_EQ(after_set.st_size, 8);
}

TEST_F(LocalStoreTest, RangeReadsUseTheCurrentFileSize) {
  ASSERT_TRUE(store_->set("k", Pattern(100, 2)).ok());
  WriteFile(root_ + "/k", "0123456789");  // replaced behind the store's back
  EXPECT_EQ(**store_->get("k", ByteRange::Suffix(3)), (Bytes{'7', '8', '9'}));
  EXPECT_EQ(**store_->get("k", ByteRange::FromOffset(8)), (Bytes{'8', '9'}));
  EXPECT_TRUE(store_->get("k", ByteRange::Bounded(5, 20)).status().IsInvalidArgument());
}

TEST_F(LocalStoreTest, EraseRemovesEmptyParentsButNeverTheRoot) {
  ASSERT_TRUE(store_->set("a/b/c/d", Filled(1, 1)).ok());
  ASSERT_TRUE(store_->set("a/x", Filled(1, 1)).ok());
  ASSERT_TRUE(store_->erase("a/b/c/d").ok());
  EXPECT_FALSE(fs::exists(root_ + "/a/b"));
  EXPECT_TRUE(fs::exists(root_ + "/a/x"));
  ASSERT_TRUE(store_->erase("a/x").ok());
  EXPECT_FALSE(fs::exists(root_ + "/a"));
  EXPECT_TRUE(fs::is_directory(root_));
  ASSERT_TRUE(store_->set("top", Filled(1, 1)).ok());
  ASSERT_TRUE(store_->erase("top").ok());
  EXPECT_TRUE(fs::is_directory(root_));
}

TEST_F(LocalStoreTest, ErasePrefixRemovesSubtreeIncludingStrayFiles) {
  ASSERT_TRUE(store_->set("g/arr/c/0/0", Filled(1, 1)).ok());
  ASSERT_TRUE(store_->set("g/arr/zarr.json", Filled(1, 1)).ok());
  ASSERT_TRUE(store_->set("g/zarr.json", Filled(1, 1)).ok());
  WriteFile(root_ + "/g/arr/c/.zarrpp-tmp-stale", "x");
  ASSERT_TRUE(store_->erase_prefix("g/arr/").ok());
  EXPECT_FALSE(fs::exists(root_ + "/g/arr"));
  EXPECT_TRUE(fs::exists(root_ + "/g/zarr.json"));
  ASSERT_TRUE(store_->erase_prefix("").ok());
  EXPECT_TRUE(fs::is_directory(root_));
  EXPECT_TRUE(fs::is_empty(root_));
}

TEST_F(LocalStoreTest, ErasePrefixLeavesAFileNamedLikeThePrefix) {
  ASSERT_TRUE(store_->set("a", Filled(2, 5)).ok());
  ASSERT_TRUE(store_->erase_prefix("a/").ok());
  EXPECT_EQ(**store_->get("a"), Filled(2, 5));
}

TEST_F(LocalStoreTest, LargeDirectoryListingIsCompleteAndSorted) {
  constexpr int kFlat = 20000;
  std::vector<std::string> expected;
  expected.reserve(kFlat + 100);
  for (int i = 0; i < kFlat; ++i) {
    std::string key = "c/";
    key += std::to_string(i);
    ASSERT_TRUE(store_->set(key, {}).ok()) << key;
    expected.push_back(std::move(key));
  }
  for (int i = 0; i < 100; ++i) {
    std::string key = "n/";
    key += std::to_string(i % 10);
    key += "/";
    key += std::to_string(i);
    ASSERT_TRUE(store_->set(key, Filled(1, 1)).ok());
    expected.push_back(std::move(key));
  }
  std::sort(expected.begin(), expected.end());
  auto all = store_->list();
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(*all, expected);
  auto flat = store_->list_dir("c/");
  ASSERT_TRUE(flat.ok());
  EXPECT_EQ(flat->keys.size(), static_cast<size_t>(kFlat));
  EXPECT_TRUE(std::is_sorted(flat->keys.begin(), flat->keys.end()));
  EXPECT_TRUE(flat->prefixes.empty());
  auto nested = store_->list_dir("n/");
  ASSERT_TRUE(nested.ok());
  EXPECT_EQ(nested->prefixes.size(), 10u);
  EXPECT_EQ(store_->list_prefix("n/")->size(), 100u);
}

TEST_F(LocalStoreTest, FsyncOptionStillWritesAndReadsBack) {
  auto durable = LocalStore::Open(root_ + "-durable", {.fsync = true});
  ASSERT_TRUE(durable.ok()) << durable.status();
  ASSERT_TRUE((*durable)->set("new/dirs/k", Pattern(5000, 4)).ok());
  ASSERT_TRUE((*durable)->set_range("new/dirs/k", 10, Filled(10, 0)).ok());
  Bytes expected = Pattern(5000, 4);
  std::fill(expected.begin() + 10, expected.begin() + 20, 0);
  EXPECT_EQ(ReadFile(root_ + "-durable/new/dirs/k"), std::string(expected.begin(), expected.end()));
  EXPECT_TRUE(TempFilesUnder(root_ + "-durable").empty());
}

TEST_F(LocalStoreTest, OperationsOnFifoDoNotBlock) {
  ASSERT_EQ(::mkfifo((root_ + "/pipe").c_str(), 0600), 0);
  auto got = store_->get("pipe");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(got->has_value());
  EXPECT_EQ(*store_->size("pipe"), std::nullopt);
  EXPECT_TRUE(store_->list()->empty());
}

}  // namespace
