// OpenStore: which store each URL or path opens, and that opening creates nothing unless asked.
#include "zarrpp/open_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "zarrpp/local_store.h"
#include "zarrpp/memory_store.h"

namespace zarrpp {
namespace {

std::string TempPath(const std::string& name) {
  const auto p = std::filesystem::temp_directory_path() /
                 ("zarrpp_open_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  return p.string();
}

TEST(OpenStore, PlainPathsAndFileUrlsOpenALocalStore) {
  const std::string dir = TempPath("local");
  std::filesystem::create_directories(dir + "/with space");
  for (const std::string& spec : {dir, "file://" + dir, "FILE://" + dir, "file://localhost" + dir,
                                  "file://" + dir + "/with%20space"}) {
    auto store = OpenStore(spec);
    ASSERT_TRUE(store.ok()) << spec << ": " << store.status();
    EXPECT_NE(dynamic_cast<LocalStore*>(store->get()), nullptr) << spec;
  }
  // The escaped path is the directory with the space in its name.
  auto spaced = OpenStore("file://" + dir + "/with%20space");
  ASSERT_TRUE(spaced.ok());
  ASSERT_TRUE((*spaced)->set("k", AsBytes(std::string("v"))).ok());
  EXPECT_TRUE(std::filesystem::exists(dir + "/with space/k"));
  std::filesystem::remove_all(dir);
}

TEST(OpenStore, AMissingLocalRootIsNotFoundAndNothingIsCreated) {
  const std::string dir = TempPath("missing");
  for (const std::string& spec : {dir, "file://" + dir}) {
    auto store = OpenStore(spec);
    ASSERT_FALSE(store.ok()) << spec;
    EXPECT_EQ(store.status().code(), Status::Code::kNotFound) << store.status();
    EXPECT_FALSE(std::filesystem::exists(dir)) << spec;
  }
  OpenStoreOptions create;
  create.create = true;
  auto made = OpenStore("file://" + dir + "/a/b", create);
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_TRUE(std::filesystem::is_directory(dir + "/a/b"));
  std::filesystem::remove_all(dir);
}

TEST(OpenStore, MemoryUrlOpensANewEmptyMemoryStore) {
  auto a = OpenStore("memory://");
  auto b = OpenStore("memory://");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(dynamic_cast<MemoryStore*>(a->get()), nullptr);
  ASSERT_TRUE((*a)->set("k", AsBytes(std::string("v"))).ok());
  auto k = (*b)->exists("k");
  ASSERT_TRUE(k.ok());
  EXPECT_FALSE(*k);  // each URL is its own store
  auto named = OpenStore("memory://name");
  ASSERT_FALSE(named.ok());
  EXPECT_EQ(named.status().code(), Status::Code::kInvalidArgument) << named.status();
}

TEST(OpenStore, UnknownSchemesAndMalformedFileUrlsAreInvalidArgument) {
  auto gs = OpenStore("gs://bucket/x?token=secret");
  ASSERT_FALSE(gs.ok());
  EXPECT_EQ(gs.status().code(), Status::Code::kInvalidArgument) << gs.status();
  EXPECT_NE(gs.status().message().find("'gs'"), std::string::npos) << gs.status();
  EXPECT_EQ(gs.status().message().find("secret"), std::string::npos) << gs.status();
  for (const char* bad :
       {"file://otherhost/x", "file:///x%2", "file:///x%zz", "file:///x?y", "file:///x%00y", ""}) {
    auto s = OpenStore(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.status().code(), Status::Code::kInvalidArgument) << bad << ": " << s.status();
  }
}

TEST(OpenStore, HttpUrlsOpenAReadOnlyStoreWithoutTouchingTheNetwork) {
  auto s = OpenStore("http://127.0.0.1:1/some/tree/");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE((*s)->capabilities().writable);
  EXPECT_EQ((*s)->description(), "http://127.0.0.1:1/some/tree");
}

TEST(LocalPathOf, NamesTheDirectoryOfLocalSpecsOnly) {
  auto p = LocalPathOf("file:///a/b%20c");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, std::optional<std::string>("/a/b c"));
  p = LocalPathOf("rel/dir");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, std::optional<std::string>("rel/dir"));
  p = LocalPathOf("s3://bucket/x");
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->has_value());
  EXPECT_FALSE(LocalPathOf("file://host/x").ok());
}

}  // namespace
}  // namespace zarrpp
