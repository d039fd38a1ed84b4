#include "zarrpp/local_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "stores/local_store_internal.h"
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
  auto store = LocalStore::Create(dir + "/root", options);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return nullptr;
  return zarrpp::testing::RemoveDirOnRelease(*store, dir);
}

INSTANTIATE_TEST_SUITE_P(, StoreConformance,
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
    auto s = LocalStore::Create(root_);
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
      const std::string name = e.path().filename().string();
      if (name.starts_with(".zarrpp-tmp-") || name.starts_with(".zarrpp-lock-")) {
        found.push_back(e.path());
      }
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

// True when nothing (file, directory or link) exists at `path`, asked of the kernel directly.
bool Absent(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) != 0 && errno == ENOENT;
}

TEST_F(LocalStoreTest, OpenNeverCreatesAMissingRoot) {
  const std::string nested = dir_ + "/deep/er/root";
  auto missing = LocalStore::Open(nested);
  EXPECT_TRUE(missing.status().IsNotFound()) << missing.status();
  EXPECT_NE(missing.status().message().find(nested), std::string::npos) << missing.status();
  EXPECT_NE(missing.status().message().find("LocalStore::Create"), std::string::npos)
      << missing.status();
  EXPECT_TRUE(Absent(nested));
  EXPECT_TRUE(Absent(dir_ + "/deep"));

  // A mistyped path of an existing store, one level down: still nothing made.
  auto typo = LocalStore::Open(root_ + "x");
  EXPECT_TRUE(typo.status().IsNotFound()) << typo.status();
  EXPECT_TRUE(Absent(root_ + "x"));

  WriteFile(dir_ + "/plainfile", "x");
  auto on_file = LocalStore::Open(dir_ + "/plainfile");
  EXPECT_TRUE(on_file.status().IsIOError()) << on_file.status();
  auto create_on_file = LocalStore::Create(dir_ + "/plainfile");
  EXPECT_TRUE(create_on_file.status().IsIOError()) << create_on_file.status();
}

TEST_F(LocalStoreTest, CreateMakesTheRootAndItsParentsAndKeepsAnExistingOne) {
  const std::string nested = dir_ + "/deep/er/root";
  auto created = LocalStore::Create(nested);
  ASSERT_TRUE(created.ok()) << created.status();
  struct stat st;
  ASSERT_EQ(::stat(nested.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  ASSERT_TRUE((*created)->set("a/k", Filled(4, 7)).ok());

  auto again = LocalStore::Create(nested);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(**(*again)->get("a/k"), Filled(4, 7));
  auto opened = LocalStore::Open(nested);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(**(*opened)->get("a/k"), Filled(4, 7));

  // Open creates only when asked to through its options.
  auto asked = LocalStore::Open(dir_ + "/asked", {.create = true});
  ASSERT_TRUE(asked.ok()) << asked.status();
  EXPECT_FALSE(Absent(dir_ + "/asked"));
}

TEST_F(LocalStoreTest, OpenAndCreateUnderstandFileUrlsAndRefuseOtherSchemes) {
  const fs::path cwd = fs::current_path();
  fs::current_path(dir_);  // a URL taken as a relative path would create "./file:" here
  auto missing = LocalStore::Open("file://" + dir_ + "/viaurl");
  EXPECT_TRUE(missing.status().IsNotFound()) << missing.status();
  EXPECT_NE(missing.status().message().find(dir_ + "/viaurl"), std::string::npos);
  EXPECT_TRUE(Absent(dir_ + "/viaurl"));
  EXPECT_TRUE(Absent(dir_ + "/file:"));

  auto url = LocalStore::Create("file://" + dir_ + "/viaurl");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ((*url)->root(), dir_ + "/viaurl");
  ASSERT_TRUE((*url)->set("k", zarrpp::AsBytes("v")).ok());
  EXPECT_TRUE(fs::exists(dir_ + "/viaurl/k"));
  auto opened = LocalStore::Open("file://" + dir_ + "/viaurl");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ((*opened)->root(), dir_ + "/viaurl");
  auto local = LocalStore::Open("file://localhost" + dir_ + "/viaurl");
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_EQ((*local)->root(), dir_ + "/viaurl");
  // Escapes are decoded as OpenStore decodes them.
  auto escaped = LocalStore::Create("file://" + dir_ + "/with%20space");
  ASSERT_TRUE(escaped.ok()) << escaped.status();
  EXPECT_EQ((*escaped)->root(), dir_ + "/with space");
  EXPECT_TRUE(Absent(dir_ + "/with%20space"));

  for (const std::string bad : {"s3://bucket/x", "http://host/x", "gs://b/x"}) {
    const std::string scheme = bad.substr(0, bad.find("://"));
    for (const bool create : {false, true}) {
      auto r = create ? LocalStore::Create(bad) : LocalStore::Open(bad);
      EXPECT_TRUE(r.status().IsInvalidArgument()) << bad << ": " << r.status();
      EXPECT_NE(r.status().message().find(scheme + "://"), std::string::npos) << r.status();
      EXPECT_NE(r.status().message().find("OpenStore"), std::string::npos) << r.status();
    }
    EXPECT_TRUE(Absent(dir_ + "/" + scheme + ":"));
  }
  for (const std::string bad : {"file://otherhost/x", "file://rel"}) {
    auto r = LocalStore::Create(bad);
    EXPECT_TRUE(r.status().IsInvalidArgument()) << bad << ": " << r.status();
    EXPECT_NE(r.status().message().find(bad), std::string::npos) << r.status();
  }
  EXPECT_TRUE(Absent(dir_ + "/file:"));
  EXPECT_TRUE(Absent(dir_ + "/otherhost"));
  EXPECT_TRUE(Absent(dir_ + "/rel"));
  fs::current_path(cwd);
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
  EXPECT_TRUE(s.IsCorruption()) << s;
  EXPECT_NE(s.message().find("'a/b'"), std::string::npos) << s;
  EXPECT_EQ(ReadFile(root_ + "/a/b/inner"), "old");
  EXPECT_TRUE(TempFilesUnder(root_).empty());
  // Reading a value where a directory stands is damage, named; asking whether a value is there
  // is answered "no" (a directory is also what a prefix looks like), and erasing it erases
  // nothing.
  auto got = store_->get("a/b");
  EXPECT_TRUE(got.status().IsCorruption()) << got.status();
  EXPECT_NE(got.status().message().find("'a/b'"), std::string::npos) << got.status();
  Bytes buf(4);
  const zarrpp::MutableByteView pieces[] = {zarrpp::MutableByteView(buf)};
  EXPECT_TRUE(store_->get_scatter("a/b", pieces).status().IsCorruption());
  EXPECT_TRUE(store_->get_within("a/b", pieces).status().IsCorruption());
  EXPECT_TRUE(store_->get_if("a/b", ByteRange::Whole(), buf).status().IsCorruption());
  EXPECT_TRUE(store_->open_reader("a/b").status().IsCorruption());
  const zarrpp::RangeWrite writes[] = {{0, buf}};
  EXPECT_TRUE(store_->patch_if("a/b", writes, {}).status().IsCorruption());
  EXPECT_TRUE(store_->generation("a/b")->absent());
  EXPECT_EQ(*store_->size("a/b"), std::nullopt);
  EXPECT_FALSE(*store_->exists("a/b"));
  EXPECT_TRUE(store_->set_range("a/b", 0, Filled(1, 1)).IsCorruption());
  EXPECT_TRUE(store_->erase("a/b").ok());
  EXPECT_EQ(ReadFile(root_ + "/a/b/inner"), "old");
}

TEST_F(LocalStoreTest, AFileWhereADirectoryBelongsIsCorruptionNamingTheKey) {
  ASSERT_TRUE(store_->set("a/file", zarrpp::AsBytes("value")).ok());
  zarrpp::Status s = store_->set("a/file/child", Filled(4, 1));
  EXPECT_TRUE(s.IsCorruption()) << s;
  EXPECT_NE(s.message().find("a/file/child"), std::string::npos) << s;
  EXPECT_EQ(ReadFile(root_ + "/a/file"), "value");
  auto got = store_->get("a/file/child");
  EXPECT_TRUE(got.status().IsCorruption()) << got.status();
  EXPECT_NE(got.status().message().find("a/file/child"), std::string::npos) << got.status();
  EXPECT_TRUE(store_->size("a/file/child").status().IsCorruption());
  EXPECT_TRUE(store_->exists("a/file/child").status().IsCorruption());
  EXPECT_TRUE(store_->set_range("a/file/child", 0, Filled(1, 1)).IsCorruption());
  EXPECT_TRUE(store_->erase("a/file/child").IsCorruption());
  EXPECT_TRUE(store_->lock("a/file/child").status().IsCorruption());
  // Listing keeps working and shows what is there.
  EXPECT_EQ(*store_->list(), std::vector<std::string>{"a/file"});
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
  auto durable = LocalStore::Create(root_ + "-durable", {.fsync = true});
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
  Bytes four(4);
  auto at = store_->get_at("pipe", 0, four);
  ASSERT_TRUE(at.ok()) << at.status();
  EXPECT_FALSE(at->has_value());
  EXPECT_TRUE(store_->list()->empty());
}

// get_at reads before it looks at the file: what it finds there still decides the answer.
TEST_F(LocalStoreTest, GetAtJudgesWhatItReadAfterTheRead) {
  Bytes four(4);
  ASSERT_EQ(::mkdir((root_ + "/dir").c_str(), 0700), 0);
  auto dir = store_->get_at("dir", 0, four);
  ASSERT_FALSE(dir.ok());
  EXPECT_TRUE(dir.status().IsCorruption()) << dir.status();
  // A value patched in place (marked): read under its lock, the patched bytes.
  ASSERT_TRUE(store_->set("k", Pattern(4096, 2)).ok());
  ASSERT_TRUE(store_->set_range("k", 100, Filled(4, 9)).ok());
  auto patched = store_->get_at("k", 100, four);
  ASSERT_TRUE(patched.ok() && patched->has_value()) << patched.status();
  EXPECT_EQ(**patched, 4096u);
  EXPECT_EQ(four, Filled(4, 9));
  // Unmarked: the bytes and the size; past the end: the size alone.
  const Bytes u = Pattern(4096, 3);
  ASSERT_TRUE(store_->set("u", u).ok());
  auto inside = store_->get_at("u", 4092, four);
  ASSERT_TRUE(inside.ok() && inside->has_value());
  EXPECT_EQ(**inside, 4096u);
  EXPECT_EQ(four, Bytes(u.end() - 4, u.end()));
  auto past = store_->get_at("u", 4094, four);
  ASSERT_TRUE(past.ok() && past->has_value());
  EXPECT_EQ(**past, 4096u);
  Bytes none;
  auto empty = store_->get_at("u", 9000, none);
  ASSERT_TRUE(empty.ok() && empty->has_value());
  EXPECT_EQ(**empty, 4096u);
}

// --- Generations, locks and readers across processes -------------------------------------------

// Runs body(i) in `n` forked child processes, which all start together once every one exists;
// returns their exit codes (100 + signal when one was killed).
std::vector<int> RunChildren(int n, const std::function<int(int)>& body) {
  int go[2];
  EXPECT_EQ(::pipe(go), 0);
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(go[1]);
      char c;
      while (::read(go[0], &c, 1) < 0 && errno == EINTR) {
      }
      ::_exit(body(i));
    }
    pids.push_back(pid);
  }
  ::close(go[0]);
  ::close(go[1]);  // every child's read returns: start
  std::vector<int> codes;
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status));
  }
  return codes;
}

uint64_t Decode(const Bytes& b) {
  uint64_t n = 0;
  for (size_t i = 0; i < b.size() && i < 8; ++i) n |= uint64_t{b[i]} << (8 * i);
  return n;
}
Bytes Encode(uint64_t n) {
  Bytes b(8);
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(n >> (8 * i));
  return b;
}

TEST_F(LocalStoreTest, LockedCountersInSeveralProcessesLoseNoIncrement) {
  constexpr int kProcesses = 4, kIncrements = 200;
  const std::string root = root_;
  std::vector<int> codes = RunChildren(kProcesses, [&](int) {
    auto opened = LocalStore::Open(root);
    if (!opened.ok()) return 2;
    std::shared_ptr<LocalStore> store = *opened;
    for (int i = 0; i < kIncrements; ++i) {
      auto lock = store->lock("c/counter");
      if (!lock.ok()) return 3;
      auto cur = store->get("c/counter");
      if (!cur.ok()) return 4;
      const Bytes next = Encode(cur->has_value() ? Decode(**cur) + 1 : 1);
      const zarrpp::ByteView piece(next);
      zarrpp::WriteConditions held;
      held.held = lock->get();
      auto w = store->set_if("c/counter", std::span(&piece, 1), held);
      if (!w.ok() || !w->has_value()) return 5;
    }
    return 0;
  });
  for (int code : codes) EXPECT_EQ(code, 0);
  EXPECT_EQ(Decode(*store_->get("c/counter").value()), uint64_t{kProcesses} * kIncrements);
  EXPECT_TRUE(TempFilesUnder(root_).empty());
}

TEST_F(LocalStoreTest, SetIfAbsentRaceAcrossProcessesHasOneWinnerPerKey) {
  constexpr int kProcesses = 6, kKeys = 5;
  const std::string root = root_;
  // Exit code: bit k set when this process created key k; 64 and up on errors.
  std::vector<int> codes = RunChildren(kProcesses, [&](int p) {
    auto opened = LocalStore::Open(root);
    if (!opened.ok()) return 64;
    int won = 0;
    for (int k = 0; k < kKeys; ++k) {
      const Bytes v = VersionBytes(VersionSize(p), static_cast<uint32_t>(p * 10 + k));
      const zarrpp::ByteView piece(v);
      zarrpp::WriteConditions absent;
      absent.if_equal = zarrpp::Generation::Absent();
      auto r = (*opened)->set_if("race/" + std::to_string(k), std::span(&piece, 1), absent);
      if (!r.ok()) return 65;
      if (r->has_value()) won |= 1 << k;
    }
    return won;
  });
  for (int k = 0; k < kKeys; ++k) {
    int winners = 0, winner = -1;
    for (int p = 0; p < kProcesses; ++p) {
      ASSERT_LT(codes[p], 64) << "process " << p;
      if (codes[p] & (1 << k)) {
        ++winners;
        winner = p;
      }
    }
    ASSERT_EQ(winners, 1) << "key " << k;
    EXPECT_EQ(*store_->get("race/" + std::to_string(k)).value(),
              VersionBytes(VersionSize(winner), static_cast<uint32_t>(winner * 10 + k)));
  }
}

TEST_F(LocalStoreTest, ReaderProcessSeesOneVersionOrGoneDuringRenamesAndPatches) {
  ASSERT_TRUE(store_->set("v", VersionBytes(VersionSize(1), 1)).ok());
  const std::string root = root_;
  pid_t writer = ::fork();
  ASSERT_GE(writer, 0);
  if (writer == 0) {
    auto opened = LocalStore::Open(root);
    if (!opened.ok()) ::_exit(2);
    for (uint32_t v = 2; v < 1500; ++v) {
      if (v % 2 == 1) {
        if (!(*opened)->set("v", VersionBytes(VersionSize(v), v)).ok()) ::_exit(3);
        continue;
      }
      // The same size as the value it patches (the odd version before it), rewritten whole in
      // two ranges, back half first.
      const Bytes next = VersionBytes(VersionSize(v - 1), v);
      const size_t mid = next.size() / 2;
      const zarrpp::RangeWrite writes[] = {{mid, zarrpp::ByteView(next).subspan(mid)},
                                           {0, zarrpp::ByteView(next).subspan(0, mid)}};
      auto r = (*opened)->patch_if("v", writes, {});
      if (!r.ok() || !r->has_value()) ::_exit(4);
    }
    ::_exit(0);
  }
  int reads = 0, gone = 0, mixed = 0, errors = 0, status = 0;
  Bytes head, part, whole;
  for (;;) {
    const bool done = ::waitpid(writer, &status, WNOHANG) == writer;
    auto o = store_->open_reader("v");
    if (!o.ok() || *o == nullptr) {
      ++errors;
    } else {
      auto& rd = **o;
      auto h = rd.read(ByteRange::Bounded(0, 4), head);
      if (!h.ok()) {
        ++errors;
      } else if (!*h) {
        ++gone;
      } else {
        const Bytes want = VersionBytes(rd.size(), VersionOf(head));
        for (uint64_t at = 0; at < rd.size(); at += 700) {
          const uint64_t end = std::min<uint64_t>(rd.size(), at + 500);
          auto p = rd.read(ByteRange::Bounded(at, end), part);
          if (!p.ok()) {
            ++errors;
            break;
          }
          if (!*p) {
            ++gone;
            break;
          }
          ++reads;
          if (part != Bytes(want.begin() + at, want.begin() + end)) ++mixed;
        }
      }
    }
    // A whole read is one version too.
    auto g = store_->get_into("v", ByteRange::Whole(), whole);
    if (!g.ok() || !*g) {
      ++errors;
    } else if (whole != VersionBytes(whole.size(), VersionOf(whole))) {
      ++mixed;
    }
    // So is a read at an offset (the first 4,096 bytes span both patched halves of every
    // version; values that were never patched are read without a lock).
    Bytes first(4096);
    auto at = store_->get_at("v", 0, first);
    if (!at.ok() || !at->has_value()) {
      ++errors;
    } else {
      const Bytes want = VersionBytes(**at, VersionOf(first));
      if (!std::equal(first.begin(), first.end(), want.begin())) ++mixed;
    }
    if (done) break;
  }
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(errors, 0);
  EXPECT_EQ(mixed, 0) << "of " << reads << " reads (" << gone << " found their version gone)";
  EXPECT_GT(reads, 0);
}

// An in-place patch marks the file (the sticky bit, ignored by Linux on regular files) before it
// changes a byte; readers lock only marked files. A whole-value write is a new, unmarked file.
TEST_F(LocalStoreTest, InPlacePatchesMarkTheFileWholeWritesDoNot) {
  auto sticky = [&] {
    struct stat st;
    EXPECT_EQ(::stat((root_ + "/a/v").c_str(), &st), 0);
    return (st.st_mode & S_ISVTX) != 0;
  };
  ASSERT_TRUE(store_->set("a/v", Filled(64, 1)).ok());
  EXPECT_FALSE(sticky());
  const Bytes two = Filled(8, 2);
  ASSERT_TRUE(store_->set_range("a/v", 8, two).ok());
  EXPECT_TRUE(sticky());
  Bytes out;
  auto g = store_->get_into("a/v", ByteRange::Whole(), out);
  ASSERT_TRUE(g.ok() && *g) << g.status();
  Bytes want = Filled(64, 1);
  std::copy(two.begin(), two.end(), want.begin() + 8);
  EXPECT_EQ(out, want);
  ASSERT_TRUE(store_->set("a/v", Filled(64, 3)).ok());
  EXPECT_FALSE(sticky());
  // A patch writing nothing changes nothing, the mark included.
  ASSERT_TRUE(store_->set_range("a/v", 8, zarrpp::ByteView()).ok());
  EXPECT_FALSE(sticky());
}

// A patch writing all of `value` in `n` equal ranges, last range first.
std::vector<zarrpp::RangeWrite> BackToFront(const Bytes& value, size_t n) {
  std::vector<zarrpp::RangeWrite> writes;
  const size_t piece = value.size() / n;
  for (size_t i = n; i-- > 0;)
    writes.push_back({i * piece, zarrpp::ByteView(value).subspan(i * piece, piece)});
  return writes;
}

// The window of that protocol: a value written whole (unmarked, read without a lock) whose first
// in-place patch starts while a reader is reading it. Each round writes a fresh 1 MiB value and
// patches it whole in 64 ranges, back to front; readers in another thread must see one version.
TEST_F(LocalStoreTest, ReadersSeeNoPartOfTheFirstPatchOfAFreshValue) {
  constexpr size_t kSize = 1 << 20, kPieces = 64;
  constexpr uint32_t kRounds = 200;
  ASSERT_TRUE(store_->set("p/v", VersionBytes(kSize, 1)).ok());
  std::atomic<bool> done{false};
  std::atomic<int> writer_errors{0};
  std::thread writer([&] {
    for (uint32_t round = 0; round < kRounds; ++round) {
      const uint32_t whole = 2 * round + 3, patched = 2 * round + 4;
      const Bytes next = VersionBytes(kSize, patched);
      if (!store_->set("p/v", VersionBytes(kSize, whole)).ok()) ++writer_errors;
      // Readers open the fresh, unmarked value meanwhile and are still reading it when the
      // patch starts.
      std::this_thread::sleep_for(std::chrono::microseconds(300));
      auto r = store_->patch_if("p/v", BackToFront(next, kPieces), {});
      if (!r.ok() || !r->has_value()) ++writer_errors;
    }
    done = true;
  });
  // Readers alternate get_into (fstat before and after the read) and get_at (read first, one
  // fstat after it).
  int reads = 0, mixed = 0, errors = 0, at_reads = 0;
  Bytes whole;
  while (!done.load()) {
    bool found = false;
    if (reads % 2 == 0) {
      auto g = store_->get_into("p/v", ByteRange::Whole(), whole);
      found = g.ok() && *g;
    } else {
      whole.resize(kSize);
      auto g = store_->get_at("p/v", 0, whole);
      found = g.ok() && g->has_value() && **g == kSize;
      at_reads += found ? 1 : 0;
    }
    if (!found) {
      ++errors;
      continue;
    }
    ++reads;
    // One byte per patched range (cheap, so that reads follow each other closely), and every
    // byte now and then.
    const uint32_t v = VersionOf(whole);
    bool same = whole.size() == kSize;
    for (size_t i = 0; same && i < kPieces; ++i) {
      const size_t at = i * (kSize / kPieces) + 5;
      same = whole[at] == static_cast<uint8_t>((at * 131 + v * 7 + (at >> 9)) & 0xff);
    }
    if (same && reads % 64 == 0) same = whole == VersionBytes(kSize, v);
    if (!same) ++mixed;
  }
  writer.join();
  EXPECT_EQ(writer_errors.load(), 0);
  EXPECT_EQ(errors, 0);
  EXPECT_EQ(mixed, 0) << "of " << reads << " reads";
  EXPECT_GT(reads, 10);
  EXPECT_GT(at_reads, 5);
}

// On a file system that does not keep the mark, a patch rewrites the whole value (a new file):
// readers that take no lock still see one version, and conditions still hold.
TEST_F(LocalStoreTest, PatchesRewriteTheValueWhereTheMarkIsNotKept) {
  zarrpp::internal::SetLocalStoreKeepsPatchMarks(false);
  struct Restore {
    ~Restore() { zarrpp::internal::SetLocalStoreKeepsPatchMarks(true); }
  } restore;
  ASSERT_TRUE(store_->set("m/v", Filled(64, 1)).ok());
  struct stat before, after;
  ASSERT_EQ(::stat((root_ + "/m/v").c_str(), &before), 0);
  auto g = store_->generation("m/v");
  ASSERT_TRUE(g.ok());
  const Bytes two = Filled(8, 2), three = Filled(4, 3);
  const zarrpp::RangeWrite writes[] = {{8, two}, {64, three}};  // the second extends the value
  auto r = store_->patch_if("m/v", writes, zarrpp::WriteConditions{*g, nullptr});
  ASSERT_TRUE(r.ok() && r->has_value()) << r.status();
  ASSERT_EQ(::stat((root_ + "/m/v").c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino) << "rewritten as a new file";
  EXPECT_EQ(after.st_mode & S_ISVTX, 0u);
  Bytes want = Filled(64, 1);
  std::copy(two.begin(), two.end(), want.begin() + 8);
  want.insert(want.end(), three.begin(), three.end());
  EXPECT_EQ(*store_->get("m/v").value(), want);
  // A stale generation: nothing written.
  auto stale = store_->patch_if("m/v", writes, zarrpp::WriteConditions{*g, nullptr});
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_FALSE(stale->has_value());
  EXPECT_TRUE(store_->set_range("missing/v", 0, two).IsFailedPrecondition());
  // Readers racing such patches see whole versions.
  constexpr size_t kSize = 1 << 18, kPieces = 16;
  std::atomic<bool> done{false};
  std::atomic<int> writer_errors{0};
  std::thread writer([&] {
    for (uint32_t round = 0; round < 60; ++round) {
      const Bytes next = VersionBytes(kSize, 2 * round + 4);
      if (!store_->set("m/w", VersionBytes(kSize, 2 * round + 3)).ok()) ++writer_errors;
      auto w = store_->patch_if("m/w", BackToFront(next, kPieces), {});
      if (!w.ok() || !w->has_value()) ++writer_errors;
    }
    done = true;
  });
  int reads = 0, mixed = 0;
  Bytes whole;
  while (!done.load()) {
    auto got = store_->get_into("m/w", ByteRange::Whole(), whole);
    if (!got.ok() || !*got) continue;  // before the first set
    ++reads;
    if (whole != VersionBytes(kSize, VersionOf(whole))) ++mixed;
  }
  writer.join();
  EXPECT_EQ(writer_errors.load(), 0);
  EXPECT_EQ(mixed, 0) << "of " << reads << " reads";
}

TEST_F(LocalStoreTest, LocksOfTwoStoreObjectsOnOneRootExcludeEachOther) {
  auto other = LocalStore::Open(root_);
  ASSERT_TRUE(other.ok());
  auto held = store_->lock("k");
  ASSERT_TRUE(held.ok()) << held.status();
  std::atomic<bool> got{false};
  std::thread t([&] {
    auto l = (*other)->lock("k");
    EXPECT_TRUE(l.ok()) << l.status();
    got = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(got.load());
  // A lock taken from another store object cannot be passed as held.
  const Bytes v = Filled(3, 1);
  const zarrpp::ByteView piece(v);
  zarrpp::WriteConditions foreign;
  foreign.held = held->get();
  EXPECT_TRUE((*other)->set_if("k", std::span(&piece, 1), foreign).status().IsInvalidArgument());
  held->reset();
  t.join();
  EXPECT_TRUE(got.load());
  // Lock files are removed at release and never listed.
  EXPECT_TRUE(store_->list()->empty());
  // A lock of a key never written leaves no directories behind.
  ASSERT_TRUE(store_->lock("x/y/z")->get() != nullptr);
  EXPECT_TRUE(fs::is_empty(root_));
}

TEST_F(LocalStoreTest, GenerationChangesOnEveryWriteWithinOneClockTick) {
  ASSERT_TRUE(store_->set("k", Filled(64, 1)).ok());
  std::vector<zarrpp::Generation> seen{*store_->generation("k")};
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(store_->set_range("k", 0, Filled(1, 1)).ok());
    const zarrpp::Generation g = *store_->generation("k");
    for (const auto& old : seen) ASSERT_FALSE(old == g) << "after patch " << i;
    seen.push_back(g);
  }
}

void SetMtimeAgo(const std::string& path, std::chrono::seconds ago) {
  struct timespec times[2];
  ::clock_gettime(CLOCK_REALTIME, &times[0]);
  times[0].tv_sec -= ago.count();
  times[1] = times[0];
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << path;
}

TEST_F(LocalStoreTest, RemoveStaleTemporariesKeepsLiveAndFreshOnes) {
  using std::chrono::hours;
  ASSERT_TRUE(store_->set("a/k", Filled(3, 1)).ok());
  WriteFile(root_ + "/a/.zarrpp-tmp-crashed", "partial");
  SetMtimeAgo(root_ + "/a/.zarrpp-tmp-crashed", hours(2));
  WriteFile(root_ + "/a/.zarrpp-lock-gone", "");
  SetMtimeAgo(root_ + "/a/.zarrpp-lock-gone", hours(2));
  WriteFile(root_ + "/a/.zarrpp-tmp-fresh", "writing");
  auto live = store_->lock("a/held");
  ASSERT_TRUE(live.ok());
  SetMtimeAgo(root_ + "/a/.zarrpp-lock-held", hours(2));
  auto removed = store_->RemoveStaleTemporaries(hours(1));
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 2u);
  EXPECT_FALSE(fs::exists(root_ + "/a/.zarrpp-tmp-crashed"));
  EXPECT_FALSE(fs::exists(root_ + "/a/.zarrpp-lock-gone"));
  EXPECT_TRUE(fs::exists(root_ + "/a/.zarrpp-tmp-fresh"));
  EXPECT_TRUE(fs::exists(root_ + "/a/.zarrpp-lock-held"));  // held: never removed
  EXPECT_EQ(ReadFile(root_ + "/a/k"), std::string(3, '\1'));
  live->reset();
  EXPECT_FALSE(fs::exists(root_ + "/a/.zarrpp-lock-held"));

  // Open cleans up only when asked to (a walk of the whole tree per Open is not free).
  SetMtimeAgo(root_ + "/a/.zarrpp-tmp-fresh", hours(2));
  ASSERT_TRUE(LocalStore::Open(root_).ok());
  EXPECT_TRUE(fs::exists(root_ + "/a/.zarrpp-tmp-fresh"));
  ASSERT_TRUE(LocalStore::Open(root_, {.remove_stale_temporaries_after = hours(1)}).ok());
  EXPECT_FALSE(fs::exists(root_ + "/a/.zarrpp-tmp-fresh"));
}

TEST_F(LocalStoreTest, ACrashedHolderNeitherBlocksOthersNorLeavesItsLockFile) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const std::string root = root_;
  pid_t holder = ::fork();
  ASSERT_GE(holder, 0);
  if (holder == 0) {
    auto opened = LocalStore::Open(root);
    if (!opened.ok()) ::_exit(2);
    auto k = (*opened)->lock("a/k");
    auto j = (*opened)->lock("a/j");
    if (!k.ok() || !j.ok()) ::_exit(3);
    (void)!::write(ready[1], "x", 1);
    ::pause();  // killed while holding both locks
    ::_exit(0);
  }
  ::close(ready[1]);
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  const std::string k_file = root_ + "/a/.zarrpp-lock-k", j_file = root_ + "/a/.zarrpp-lock-j";
  SetMtimeAgo(k_file, std::chrono::hours(2));
  SetMtimeAgo(j_file, std::chrono::hours(2));
  // Alive: its lock files are never removed, however old.
  EXPECT_EQ(*store_->RemoveStaleTemporaries(std::chrono::hours(1)), 0u);
  EXPECT_TRUE(fs::exists(k_file));
  ::kill(holder, SIGKILL);
  int status = 0;
  ::waitpid(holder, &status, 0);
  // Dead: its OFD locks died with it, so a key can be locked at once, without any cleanup...
  {
    auto l = store_->lock("a/j");
    ASSERT_TRUE(l.ok()) << l.status();
  }
  EXPECT_FALSE(fs::exists(j_file));  // removed at release, as every lock file
  // ...and the lock file it left behind is stale now.
  EXPECT_EQ(*store_->RemoveStaleTemporaries(std::chrono::hours(1)), 1u);
  EXPECT_FALSE(fs::exists(k_file));
}

TEST_F(LocalStoreTest, ACrashedWritersTemporaryIsRemovedOnlyOnceNoOneHoldsIt) {
  ASSERT_TRUE(store_->set("a/k", Filled(4, 1)).ok());
  const std::string tmp = root_ + "/a/.zarrpp-tmp-crashed";
  WriteFile(tmp, "partial");
  SetMtimeAgo(tmp, std::chrono::hours(2));
  // While a writer holds it (as every live writer holds its temporary), it stays.
  int fd = ::open(tmp.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  ASSERT_EQ(::fcntl(fd, F_OFD_SETLK, &fl), 0);
  EXPECT_EQ(*store_->RemoveStaleTemporaries(std::chrono::hours(1)), 0u);
  EXPECT_TRUE(fs::exists(tmp));
  ::close(fd);
  EXPECT_EQ(*store_->RemoveStaleTemporaries(std::chrono::hours(1)), 1u);
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_EQ(*store_->list(), std::vector<std::string>{"a/k"});
}

// --- Containment: nothing outside the root is created, modified or deleted ----------------------

// Everything under `dir`: path -> "D", "F:<content>" or "L:<target>"; symlinks are not followed.
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
       ++it) {
    const fs::path& p = it->path();
    if (fs::is_symlink(it->symlink_status())) {
      out[p] = "L:" + fs::read_symlink(p).string();
    } else if (fs::is_directory(it->symlink_status())) {
      out[p] = "D";
    } else {
      std::ifstream in(p, std::ios::binary);
      out[p] = "F:" + std::string(std::istreambuf_iterator<char>(in), {});
    }
  }
  return out;
}

class LocalStoreContainment : public LocalStoreTest, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    zarrpp::internal::SetLocalStoreUsesOpenat2(GetParam());
    LocalStoreTest::SetUp();
    outside_ = dir_ + "/outside";
    WriteFile(outside_ + "/victim", "precious");
    WriteFile(outside_ + "/sub/deep", "deep");
    fs::create_symlink(outside_, root_ + "/dirlink");
    fs::create_symlink(outside_ + "/victim", root_ + "/filelink");
    fs::create_directories(root_ + "/a/b");
    fs::create_symlink("../../../outside", root_ + "/a/b/rel");  // relative, leaving the root
    before_ = Snapshot(outside_);
  }
  void TearDown() override {
    EXPECT_EQ(Snapshot(outside_), before_) << "the tree outside the root changed";
    LocalStoreTest::TearDown();
    zarrpp::internal::SetLocalStoreUsesOpenat2(true);
  }
  std::string outside_;
  std::map<std::string, std::string> before_;
};

INSTANTIATE_TEST_SUITE_P(, LocalStoreContainment, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("Openat2") : std::string("Walk");
                         });

TEST_P(LocalStoreContainment, WritesThroughADirectorySymlinkAreRefused) {
  const Bytes v = Filled(5, 9);
  const zarrpp::ByteView piece(v);
  zarrpp::WriteConditions absent;
  absent.if_equal = zarrpp::Generation::Absent();
  for (const char* key : {"dirlink/x", "dirlink/sub/new", "dirlink/victim", "a/b/rel/victim"}) {
    SCOPED_TRACE(key);
    zarrpp::Status s = store_->set(key, v);
    EXPECT_TRUE(s.IsFailedPrecondition()) << s;
    EXPECT_NE(s.message().find(key), std::string::npos) << s;
    EXPECT_TRUE(store_->set_gather(key, std::span(&piece, 1)).IsFailedPrecondition());
    EXPECT_TRUE(store_->set_if(key, std::span(&piece, 1), absent).status().IsFailedPrecondition());
    EXPECT_TRUE(store_->set_range(key, 0, v).IsFailedPrecondition());
    const zarrpp::RangeWrite writes[] = {{0, v}};
    EXPECT_TRUE(store_->patch_if(key, writes, {}).status().IsFailedPrecondition());
    EXPECT_TRUE(store_->erase(key).IsFailedPrecondition());
    EXPECT_TRUE(store_->erase_if(key, absent).status().IsFailedPrecondition());
    EXPECT_TRUE(store_->lock(key).status().IsFailedPrecondition());
  }
}

TEST_P(LocalStoreContainment, FileSymlinkIsReplacedOrRemovedNeverPatched) {
  const Bytes v = Filled(5, 9);
  zarrpp::Status s = store_->set_range("filelink", 0, v);
  EXPECT_TRUE(s.IsFailedPrecondition()) << s;
  EXPECT_NE(s.message().find("filelink"), std::string::npos) << s;
  const zarrpp::RangeWrite writes[] = {{0, v}};
  EXPECT_TRUE(store_->patch_if("filelink", writes, {}).status().IsFailedPrecondition());
  // A lock of the key is taken beside the link, in the root.
  {
    auto l = store_->lock("filelink");
    ASSERT_TRUE(l.ok()) << l.status();
  }
  // Conditions compare against the link itself, so a generation read through it never matches.
  const zarrpp::ByteView piece(v);
  zarrpp::WriteConditions absent;
  absent.if_equal = zarrpp::Generation::Absent();
  EXPECT_FALSE(store_->set_if("filelink", std::span(&piece, 1), absent)->has_value());
  EXPECT_FALSE(*store_->erase_if("filelink", absent));
  // set replaces the link itself.
  ASSERT_TRUE(store_->set("filelink", v).ok());
  EXPECT_FALSE(fs::is_symlink(fs::symlink_status(root_ + "/filelink")));
  EXPECT_EQ(*store_->get("filelink").value(), v);
  // erase removes a link, never its target.
  fs::create_symlink(outside_ + "/victim", root_ + "/link2");
  EXPECT_TRUE(store_->erase("link2").ok());
  EXPECT_FALSE(fs::exists(fs::symlink_status(root_ + "/link2")));
}

TEST_P(LocalStoreContainment, ErasePrefixRemovesSymlinksNotWhatTheyPointTo) {
  ASSERT_TRUE(store_->set("a/b/c/k", Filled(3, 1)).ok());
  EXPECT_TRUE(store_->erase_prefix("dirlink/").ok());
  EXPECT_FALSE(fs::exists(fs::symlink_status(root_ + "/dirlink")));
  EXPECT_TRUE(store_->erase_prefix("a/").ok());  // holds the symlink a/b/rel
  EXPECT_FALSE(fs::exists(root_ + "/a"));
  fs::create_symlink(outside_, root_ + "/again");
  EXPECT_TRUE(store_->erase_prefix("").ok());
  EXPECT_TRUE(fs::is_empty(root_));
}

TEST_P(LocalStoreContainment, ReadsLeavingTheRootAreRefusedUnlessAllowed) {
  for (const char* key : {"dirlink/victim", "filelink", "a/b/rel/sub/deep"}) {
    SCOPED_TRACE(key);
    auto got = store_->get(key);
    EXPECT_TRUE(got.status().IsFailedPrecondition()) << got.status();
    EXPECT_NE(got.status().message().find(key), std::string::npos) << got.status();
    EXPECT_TRUE(store_->size(key).status().IsFailedPrecondition());
    EXPECT_TRUE(store_->exists(key).status().IsFailedPrecondition());
    EXPECT_TRUE(store_->generation(key).status().IsFailedPrecondition());
    EXPECT_TRUE(store_->open_reader(key).status().IsFailedPrecondition());
    Bytes out;
    EXPECT_TRUE(store_->get_if(key, ByteRange::Whole(), out).status().IsFailedPrecondition());
  }
  for (const char* key : {"dirlink/victim", "filelink"}) {
    SCOPED_TRACE(key);
    Bytes buf(8);
    const zarrpp::MutableByteView pieces[] = {zarrpp::MutableByteView(buf)};
    EXPECT_TRUE(store_->get_scatter(key, pieces).status().IsFailedPrecondition());
    EXPECT_TRUE(store_->get_within(key, pieces).status().IsFailedPrecondition());
    EXPECT_TRUE(store_->get_ranges({{key, ByteRange::Whole()}}).status().IsFailedPrecondition());
  }
  EXPECT_TRUE(store_->list_prefix("dirlink/").status().IsFailedPrecondition());
  EXPECT_TRUE(store_->list_dir("dirlink/").status().IsFailedPrecondition());
  // Links whose targets reads refuse are listed as keys, so that a consumer of the listing reads
  // them and gets the refusal naming the key instead of taking them for missing.
  EXPECT_EQ(*store_->list(), (std::vector<std::string>{"a/b/rel", "dirlink", "filelink"}));

  auto open = LocalStore::Open(root_, {.follow_symlinks_outside_root = true});
  ASSERT_TRUE(open.ok());
  auto followed = (*open)->get("dirlink/victim");
  ASSERT_TRUE(followed.ok()) << followed.status();
  EXPECT_EQ(std::string(followed->value().begin(), followed->value().end()), "precious");
  // Followed, the links list what they lead to.
  EXPECT_EQ(*(*open)->list(),
            (std::vector<std::string>{"a/b/rel/sub/deep", "a/b/rel/victim", "dirlink/sub/deep",
                                      "dirlink/victim", "filelink"}));
  // Writes never follow, whatever the option says.
  EXPECT_TRUE((*open)->set("dirlink/victim", Filled(1, 1)).IsFailedPrecondition());
  EXPECT_TRUE((*open)->set_range("filelink", 0, Filled(1, 1)).IsFailedPrecondition());
}

TEST_P(LocalStoreContainment, SymlinksInTheRootAreReadButNotWrittenThrough) {
  ASSERT_TRUE(store_->set("real/k", zarrpp::AsBytes("inside")).ok());
  fs::create_symlink("real", root_ + "/alias");
  auto got = store_->get("alias/k");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(std::string(got->value().begin(), got->value().end()), "inside");
  EXPECT_TRUE(store_->set("alias/k2", Filled(1, 1)).IsFailedPrecondition());
  EXPECT_FALSE(fs::exists(root_ + "/real/k2"));
}

}  // namespace
