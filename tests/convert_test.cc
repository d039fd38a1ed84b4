// Convert (zarrpp/convert.h): v3 <-> v2, re-chunking, sharding and codec replacement keep every
// element and attribute; destinations are protected; what a target cannot express is refused
// naming the array and the codec; a damaged tree is converted except for each node it cannot read,
// which is reported and leaves nothing that looks complete in the destination.
#include "zarrpp/convert.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>

#include "zarrpp/json.h"

#define ZARRPP_STORE_CONFORMANCE_HELPERS_ONLY  // MakeTempDir, without the store suite
#include "support/store_conformance.h"
#include "zarrpp/array.h"
#include "zarrpp/digest.h"
#include "zarrpp/executor.h"
#include "zarrpp/group.h"
#include "zarrpp/local_store.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/store_wrappers.h"

namespace zarrpp {
namespace {

// A v3 hierarchy: group "g" with attributes, arrays g/a (float32 2-d, partly written so some
// chunks are missing) and g/s/b (int16 0-d).
std::shared_ptr<MemoryStore> SourceTree() {
  auto store = MemoryStore::Create();
  ArrayMetadata a;
  a.shape = {9, 7};
  a.chunk_shape = {4, 3};
  a.data_type = DataType(DataTypeId::kFloat32);
  a.fill_value = *FillValue::FromJson("NaN", a.data_type);
  a.attributes = {{"units", "m"}};
  auto arr = Array::Create(store, "g/a", a);
  EXPECT_TRUE(arr.ok()) << arr.status().ToString();
  std::vector<float> v(5 * 7);
  std::iota(v.begin(), v.end(), -10.5f);
  EXPECT_TRUE((*arr)->Write(Region{{0, 0}, {5, 7}}, std::span<const float>(v)).ok());
  ArrayMetadata b;
  b.data_type = DataType(DataTypeId::kInt16);
  auto scalar = Array::Create(store, "g/s/b", b);
  EXPECT_TRUE(scalar.ok()) << scalar.status().ToString();
  EXPECT_TRUE((*scalar)->Fill(Region{}, int16_t{-42}).ok());
  EXPECT_TRUE(store
                  ->set("g/zarr.json",
                        AsBytes(std::string(
                            R"({"zarr_format":3,"node_type":"group","attributes":{"title":"t"}})")))
                  .ok());
  return store;
}

std::vector<ArrayDigestEntry> Digests(std::shared_ptr<Store> store, const std::string& path) {
  auto d = DigestTree(std::move(store), path);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  if (!d.ok()) return {};
  for (const ArrayDigestEntry& e : *d) EXPECT_TRUE(e.error.ok()) << e.path << ": " << e.error;
  return *d;
}

void ExpectSameContents(const std::vector<ArrayDigestEntry>& a,
                        const std::vector<ArrayDigestEntry>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].path, b[i].path);
    EXPECT_EQ(a[i].sha256, b[i].sha256) << a[i].path;
    EXPECT_EQ(a[i].shape, b[i].shape) << a[i].path;
  }
}

TEST(Convert, V3ToV2AndBackKeepsContentsAndAttributes) {
  auto src = SourceTree();
  auto v2 = MemoryStore::Create();
  ConvertOptions to2;
  to2.zarr_format = 2;
  to2.max_buffer_bytes = 64;  // one chunk at a time
  auto report = Convert(src, "g", v2, "out", to2);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->arrays, 2u);
  EXPECT_EQ(Json::parse(AsString(**v2->get("out/.zattrs"))), Json({{"title", "t"}}));
  EXPECT_TRUE(*v2->exists("out/.zgroup"));
  EXPECT_TRUE(*v2->exists("out/s/.zgroup"));  // implied group, required by v2
  EXPECT_TRUE(*v2->exists(".zgroup"));        // and the destination's missing ancestors
  EXPECT_EQ(Json::parse(AsString(**v2->get("out/a/.zattrs"))), Json({{"units", "m"}}));
  const Json z = Json::parse(AsString(**v2->get("out/a/.zarray")));
  EXPECT_EQ(z["fill_value"], "NaN");
  EXPECT_EQ(z["dimension_separator"], "/");  // the v3 default encoding's separator
  EXPECT_EQ(z["compressor"]["id"], "zstd");
  EXPECT_FALSE(*v2->exists("out/a/2/0"));  // a chunk of fill values is not stored
  ExpectSameContents(Digests(src, "g"), Digests(v2, "out"));

  auto v3 = MemoryStore::Create();
  ConvertOptions to3;
  to3.zarr_format = 3;
  ASSERT_TRUE(Convert(v2, "out", v3, "", to3).ok());
  auto a3 = Array::Open(v3, "a");
  ASSERT_TRUE(a3.ok()) << a3.status().ToString();
  EXPECT_EQ(a3->get()->metadata().zarr_format, 3);
  EXPECT_EQ(a3->get()->metadata().attributes, Json({{"units", "m"}}));
  ExpectSameContents(Digests(src, "g"), Digests(v3, ""));
}

TEST(Convert, ShardsAndChunksAndCodecsReplaceTheLayout) {
  auto src = SourceTree();
  auto dst = MemoryStore::Create();
  ConvertOptions o;
  o.chunks = std::vector<uint64_t>{2, 1};
  o.shards = std::vector<uint64_t>{4, 7};
  o.codecs = Json::array({{{"name", "bytes"}, {"configuration", {{"endian", "big"}}}},
                          {{"name", "gzip"}, {"configuration", {{"level", 1}}}}});
  auto report = Convert(src, "g/a", dst, "", o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  auto sharded = Array::Open(dst, "");
  ASSERT_TRUE(sharded.ok()) << sharded.status().ToString();
  const ArrayMetadata& m = (*sharded)->metadata();
  EXPECT_EQ(m.chunk_shape, (std::vector<uint64_t>{4, 7}));
  ASSERT_EQ(m.codecs->size(), 1u);
  EXPECT_EQ(m.codecs[0]["name"], "sharding_indexed");
  EXPECT_EQ(m.codecs[0]["configuration"]["chunk_shape"], Json({2, 1}));
  EXPECT_EQ(m.codecs[0]["configuration"]["codecs"][1]["name"], "gzip");
  ExpectSameContents(Digests(src, "g/a"), Digests(dst, ""));

  // Re-chunk the sharded copy back to plain chunks.
  auto plain = MemoryStore::Create();
  ConvertOptions p;
  p.chunks = std::vector<uint64_t>{3, 3};
  p.codecs = Json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}});
  ASSERT_TRUE(Convert(dst, "", plain, "", p).ok());
  auto rechunked = Array::Open(plain, "");
  ASSERT_TRUE(rechunked.ok()) << rechunked.status().ToString();
  EXPECT_EQ((*rechunked)->metadata().chunk_shape, (std::vector<uint64_t>{3, 3}));
  ExpectSameContents(Digests(src, "g/a"), Digests(plain, ""));
}

TEST(Convert, RefusesANonEmptyDestinationUnlessOverwrite) {
  auto src = SourceTree();
  auto dst = MemoryStore::Create();
  ASSERT_TRUE(dst->set("keep/x", AsBytes(std::string("1"))).ok());
  auto refused = Convert(src, "g", dst, "", {});
  ASSERT_EQ(refused.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("keep/x"), std::string::npos);
  EXPECT_EQ(*dst->list(), std::vector<std::string>{"keep/x"});
  ConvertOptions o;
  o.overwrite = true;
  ASSERT_TRUE(Convert(src, "g", dst, "", o).ok());
  EXPECT_FALSE(*dst->exists("keep/x"));
  ExpectSameContents(Digests(src, "g"), Digests(dst, ""));
}

TEST(Convert, WhatTheTargetCannotExpressIsRefusedNamingArrayAndCodec) {
  auto src = SourceTree();
  auto dst = MemoryStore::Create();
  ConvertOptions crc;
  crc.zarr_format = 2;
  crc.codecs = Json::array(
      {{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}, {{"name", "crc32c"}}});
  auto r = Convert(src, "g", dst, "", crc);
  ASSERT_EQ(r.status().code(), Status::Code::kUnsupported);
  EXPECT_NE(r.status().message().find("crc32c"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("/a"), std::string::npos) << r.status().ToString();
  EXPECT_TRUE(dst->list()->empty());  // nothing written

  ConvertOptions shard;
  shard.zarr_format = 2;
  shard.shards = std::vector<uint64_t>{8, 6};
  auto s = Convert(src, "g/a", dst, "", shard);
  ASSERT_EQ(s.status().code(), Status::Code::kUnsupported);
  EXPECT_NE(s.status().message().find("sharding_indexed"), std::string::npos);

  ConvertOptions rank;
  rank.chunks = std::vector<uint64_t>{2, 2, 2};
  auto k = Convert(src, "g/a", dst, "", rank);
  ASSERT_EQ(k.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(k.status().message().find("rank"), std::string::npos);

  ConvertOptions uneven;
  uneven.chunks = std::vector<uint64_t>{3, 3};
  uneven.shards = std::vector<uint64_t>{4, 6};
  EXPECT_EQ(Convert(src, "g/a", dst, "", uneven).status().code(), Status::Code::kInvalidArgument);
}

TEST(Convert, OverlappingNodesOfOneStoreAreRefusedBeforeAnyWrite) {
  ConvertOptions o;
  o.overwrite = true;
  struct Case {
    std::string src, dst, why;
  };
  for (const Case& c :
       {Case{"g", "g", "is the source"}, Case{"g/a", "g", "contains the source"},
        Case{"g", "g/a/x", "lies inside the source"}, Case{"g", "", "contains the source"},
        Case{"", "g", "lies inside the source"}, Case{"/g/", "g", "is the source"}}) {
    auto store = SourceTree();
    const std::vector<std::string> keys = *store->list();
    const auto before = Digests(store, "");
    auto r = Convert(store, c.src, store, c.dst, o);
    ASSERT_EQ(r.status().code(), Status::Code::kInvalidArgument) << c.src << " -> " << c.dst;
    EXPECT_NE(r.status().message().find(c.why), std::string::npos) << r.status();
    EXPECT_EQ(*store->list(), keys) << c.src << " -> " << c.dst;
    ExpectSameContents(Digests(store, ""), before);
  }
  // Siblings sharing a name prefix do not overlap.
  auto store = SourceTree();
  ASSERT_TRUE(Convert(store, "g", store, "gcopy", o).ok());
  ExpectSameContents(Digests(store, "g"), Digests(store, "gcopy"));
}

TEST(Convert, DisjointDirectoriesCompareResolvedPaths) {
  EXPECT_TRUE(CheckDisjointDirectories("/tmp/zarrpp-x/src", "/tmp/zarrpp-x/src2").ok());
  EXPECT_TRUE(CheckDisjointDirectories("/tmp/zarrpp-x/src", "/tmp/zarrpp-x/src/../src")
                  .IsInvalidArgument());
  EXPECT_TRUE(
      CheckDisjointDirectories("/tmp/zarrpp-x/src/", "/tmp/zarrpp-x/src/a/b").IsInvalidArgument());
  EXPECT_TRUE(
      CheckDisjointDirectories("/tmp/zarrpp-x/src/a", "/tmp/zarrpp-x/").IsInvalidArgument());
}

TEST(Convert, LocalSourceLinksOutOfTheRootOrIntoTheDestinationAreRefused) {
  namespace fs = std::filesystem;
  const fs::path dir = testing::MakeTempDir("convert-links");
  ASSERT_FALSE(dir.empty());
  auto store = LocalStore::Create((dir / "root").string());
  ASSERT_TRUE(store.ok()) << store.status();
  auto mem = SourceTree();
  ASSERT_TRUE(Convert(mem, "", *store, "", {}).ok());
  { std::ofstream(dir / "outside") << "outside bytes"; }
  const fs::path chunk = dir / "root" / "g" / "a" / "c" / "0" / "0";
  ASSERT_TRUE(fs::exists(chunk));

  // A chunk that is a link into the destination's subtree (inside the same root).
  ASSERT_TRUE(Convert(*store, "g", *store, "h", {}).ok());
  const std::vector<std::string> keys = *(*store)->list();
  fs::remove(chunk);
  fs::create_symlink(dir / "root" / "h" / "a" / "c" / "0" / "0", chunk);
  ConvertOptions o;
  o.overwrite = true;
  auto into = Convert(*store, "g", *store, "h", o);
  ASSERT_EQ(into.status().code(), Status::Code::kInvalidArgument) << into.status();
  EXPECT_NE(into.status().message().find("'g/a/c/0/0'"), std::string::npos) << into.status();
  EXPECT_NE(into.status().message().find("inside the destination"), std::string::npos);
  EXPECT_EQ(*(*store)->list(), keys);  // nothing erased or written

  // A destination node that is a link to the source node, in the same store.
  fs::create_directory_symlink(dir / "root" / "g", dir / "root" / "alias");
  const std::vector<std::string> keys_with_alias = *(*store)->list();
  auto aliased = Convert(*store, "g", *store, "alias", o);
  ASSERT_EQ(aliased.status().code(), Status::Code::kInvalidArgument) << aliased.status();
  EXPECT_NE(aliased.status().message().find("is the source"), std::string::npos);
  EXPECT_EQ(*(*store)->list(), keys_with_alias);
  fs::remove(dir / "root" / "alias");

  // A chunk that is a link out of the root, converted into another store.
  fs::remove(chunk);
  fs::create_symlink(dir / "outside", chunk);
  auto dst = MemoryStore::Create();
  auto out = Convert(*store, "g", dst, "", {});
  ASSERT_EQ(out.status().code(), Status::Code::kFailedPrecondition) << out.status();
  EXPECT_NE(out.status().message().find("'g/a/c/0/0'"), std::string::npos) << out.status();
  EXPECT_TRUE(dst->list()->empty());
  std::error_code ec;
  fs::remove_all(dir, ec);
}

// A store whose set() fails for the keys in `fail` (IOError naming the key) and otherwise
// forwards to a MemoryStore.
class FailingSetStore : public ForwardingStore {
 public:
  explicit FailingSetStore(std::set<std::string> fail)
      : ForwardingStore(MemoryStore::Create(), Forward::kPrimitives), fail_(std::move(fail)) {}
  Status set(std::string_view key, ByteView value) override {
    if (fail_.contains(std::string(key))) {
      return Status::IOError("injected failure writing '" + std::string(key) + "'");
    }
    return inner_->set(key, value);
  }
  std::string description() const override { return "failing-set store"; }

 private:
  std::set<std::string> fail_;
};

// The source tree plus damaged nodes, each failing in its own way; "bad/group/ok" is a good array
// below a group whose metadata is invalid.
std::shared_ptr<MemoryStore> DamagedTree() {
  auto store = SourceTree();
  auto put = [&](const std::string& key, const std::string& text) {
    EXPECT_TRUE(store->set(key, AsBytes(text)).ok()) << key;
  };
  ArrayMetadata m;
  m.shape = {8};
  m.chunk_shape = {4};
  m.data_type = DataType(DataTypeId::kInt32);
  std::vector<int32_t> v(8);
  std::iota(v.begin(), v.end(), 100);
  for (const char* name : {"bad/trunc", "bad/codec", "bad/group/ok"}) {
    auto arr = Array::Create(store, name, m);
    EXPECT_TRUE(arr.ok()) << arr.status().ToString();
    EXPECT_TRUE((*arr)->Write(Region::All({8}), std::span<const int32_t>(v)).ok());
  }
  // The second chunk cut short; the first still decodes, so its copy is written before the
  // failure.
  const Bytes chunk = **store->get("bad/trunc/c/1");
  put("bad/trunc/c/1", std::string(AsString(chunk).substr(0, chunk.size() / 2)));
  Json codec = Json::parse(AsString(**store->get("bad/codec/zarr.json")));
  codec["codecs"].push_back({{"name", "no_such_codec"}});
  put("bad/codec/zarr.json", codec.dump());
  put("bad/json/zarr.json", R"({"zarr_format": 3, "node_type": )");
  put("bad/list/zarr.json", "[1,2]");
  put("bad/type/zarr.json", R"({"zarr_format": 3, "node_type": "table"})");
  put("bad/group/zarr.json", R"({"zarr_format": 3, "node_type": "group", "attributes": 5})");
  put("bad/dirmeta/zarr.json/stray", "{}");
  return store;
}

TEST(Convert, RunsToCompletionReportingEveryUnreadableNode) {
  auto src = DamagedTree();
  const std::vector<std::string> bad = {"bad/codec", "bad/dirmeta", "bad/group", "bad/json",
                                        "bad/list",  "bad/trunc",   "bad/type"};
  for (const int format : {3, 2}) {
    SCOPED_TRACE("zarr format " + std::to_string(format));
    auto dst = MemoryStore::Create();
    ConvertOptions o;
    o.zarr_format = format;
    o.max_buffer_bytes = 16;  // one chunk at a time: bad/trunc's first chunk is copied first
    auto report = Convert(src, "", dst, "out", o);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_EQ(report->failed(), bad.size());
    EXPECT_EQ(report->arrays, 3u);  // g/a, g/s/b, bad/group/ok
    std::vector<std::string> failed, converted;
    for (const ConvertNodeResult& n : report->nodes) {
      (n.error.ok() ? converted : failed).push_back(n.path);
    }
    EXPECT_EQ(failed, bad);
    EXPECT_EQ(converted,
              (std::vector<std::string>{"", "bad", "bad/group/ok", "g", "g/a", "g/s", "g/s/b"}));
    auto error = [&](const std::string& path) {
      for (const ConvertNodeResult& n : report->nodes) {
        if (n.path == path) return n.error;
      }
      return Status::OK();
    };
    EXPECT_EQ(error("bad/codec").code(), Status::Code::kUnsupported);
    EXPECT_NE(error("bad/codec").message().find("no_such_codec"), std::string::npos);
    EXPECT_NE(error("bad/json").message().find("bad/json/zarr.json"), std::string::npos);
    EXPECT_EQ(error("bad/list").code(), Status::Code::kCorruption);
    EXPECT_NE(error("bad/type").message().find("\"table\""), std::string::npos);
    EXPECT_NE(error("bad/dirmeta").message().find("is a directory"), std::string::npos);
    EXPECT_NE(error("bad/group").message().find("attributes"), std::string::npos);
    EXPECT_FALSE(error("bad/trunc").ok());

    // Every good array has its source's contents; no bad node left anything behind, so nothing
    // of it opens (and the destination digests clean).
    const auto digests = Digests(dst, "out");
    std::vector<std::string> arrays;
    for (const ArrayDigestEntry& e : digests) arrays.push_back(e.path);
    EXPECT_EQ(arrays, (std::vector<std::string>{"bad/group/ok", "g/a", "g/s/b"}));
    ExpectSameContents(Digests(src, "g"), Digests(dst, "out/g"));
    ExpectSameContents(Digests(src, "bad/group"), Digests(dst, "out/bad/group"));
    for (const std::string& b : bad) {
      EXPECT_FALSE(Array::Open(dst, "out/" + b).ok()) << b;
      if (b == "bad/group") continue;  // holds its converted child
      EXPECT_TRUE(dst->list_prefix("out/" + b + "/")->empty()) << b;
    }
    EXPECT_FALSE(*dst->exists("out/bad/group/zarr.json"));
    EXPECT_FALSE(*dst->exists("out/bad/group/.zgroup"));
  }
}

TEST(Convert, AFailedDestinationWriteLeavesNoNodeLookingComplete) {
  auto src = SourceTree();
  // v2 target: g/a's second chunk, g/s/b's .zattrs (after its .zarray) and g/s's .zattrs (after
  // its .zgroup) fail; g itself is written.
  auto dst = std::make_shared<FailingSetStore>(
      std::set<std::string>{"g/a/0/1", "g/s/b/.zattrs", "g/s/.zattrs"});
  ConvertOptions o;
  o.zarr_format = 2;
  auto report = Convert(src, "", dst, "", o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  std::vector<std::string> failed;
  for (const ConvertNodeResult& n : report->nodes) {
    if (n.error.ok()) continue;
    failed.push_back(n.path);
    EXPECT_EQ(n.error.code(), Status::Code::kIOError) << n.path;
    EXPECT_NE(n.error.message().find("injected failure"), std::string::npos) << n.error;
  }
  EXPECT_EQ(failed, (std::vector<std::string>{"g/a", "g/s", "g/s/b"}));
  EXPECT_EQ(report->arrays, 0u);
  EXPECT_TRUE(*dst->exists("g/.zgroup"));
  EXPECT_EQ(*dst->list_prefix("g/a/"), std::vector<std::string>{});
  EXPECT_EQ(*dst->list_prefix("g/s/"), std::vector<std::string>{});
  EXPECT_FALSE(Array::Open(dst, "g/a").ok());
  EXPECT_FALSE(Array::Open(dst, "g/s/b").ok());
}

TEST(Convert, MissingSourceIsNotFound) {
  auto src = MemoryStore::Create();
  auto dst = MemoryStore::Create();
  EXPECT_EQ(Convert(src, "nothing", dst, "", {}).status().code(), Status::Code::kNotFound);
}

// ConvertOptions::cancel firing while an array's chunks are copied: the call returns
// FailedPrecondition "cancelled", the nodes written before stay complete, and the array being
// copied leaves nothing behind (its prefix is erased as a failed array's), on every executor.
TEST(Convert, CancelBetweenChunksErasesTheArrayBeingCopied) {
  for (auto executor : {InlineExecutor(), MakeTbbExecutor(2), MakeThreadPoolExecutor(4)}) {
    auto src = SourceTree();
    auto dst = MemoryStore::Create();
    std::atomic<int> calls{0};
    ConvertOptions o;
    o.executor = executor;
    o.max_buffer_bytes = 64;  // one chunk per batch
    // Checks, in order: before the destination, node "" (group g), node "a", then one per chunk
    // of a's 3 x 3: the sixth is inside a's copy.
    o.cancel = [&] { return ++calls >= 6; };
    auto report = Convert(src, "g", dst, "out", o);
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.status().code(), Status::Code::kFailedPrecondition);
    EXPECT_NE(report.status().message().find("cancelled"), std::string::npos) << report.status();
    // Once it has fired the hook is not asked again (workers already inside it may finish).
    if (executor == InlineExecutor()) {
      EXPECT_EQ(calls.load(), 6);
    }
    // The group converted before is complete; the array being copied and everything after are
    // absent.
    auto group = Group::Open(dst, "out");
    ASSERT_TRUE(group.ok()) << group.status();
    EXPECT_EQ(*(*group)->attributes(), Json({{"title", "t"}}));
    EXPECT_EQ(*dst->list_prefix("out/a/"), std::vector<std::string>{});
    EXPECT_EQ(*dst->list_prefix("out/s/"), std::vector<std::string>{});
    EXPECT_FALSE(Array::Open(dst, "out/a").ok());
    EXPECT_FALSE(Array::Open(dst, "out/s/b").ok());
  }
}

// Cancelled before anything is written: the destination, even with overwrite, is untouched.
TEST(Convert, CancelBeforeWritingLeavesTheDestinationUntouched) {
  auto src = SourceTree();
  auto dst = MemoryStore::Create();
  ASSERT_TRUE(dst->set("out/keep", AsBytes(std::string("x"))).ok());
  ConvertOptions o;
  o.overwrite = true;
  o.cancel = [] { return true; };
  auto report = Convert(src, "g", dst, "out", o);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(report.status().message().find("cancelled"), std::string::npos) << report.status();
  EXPECT_EQ(*dst->list(), std::vector<std::string>{"out/keep"});
}

// A hook that never fires is asked between every node and chunk and changes nothing.
TEST(Convert, CancelHookThatNeverFiresConvertsEverything) {
  auto src = SourceTree();
  auto dst = MemoryStore::Create();
  std::atomic<int> calls{0};
  ConvertOptions o;
  o.cancel = [&] {
    ++calls;
    return false;
  };
  auto report = Convert(src, "g", dst, "out", o);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->failed(), 0u);
  EXPECT_EQ(report->arrays, 2u);
  // 1 before writing + 4 nodes (g, a, s, s/b) + 9 chunks of a + 1 of s/b.
  EXPECT_EQ(calls.load(), 15);
  ExpectSameContents(Digests(src, "g"), Digests(dst, "out"));
}

TEST(Convert, PerArrayOptionsOverrideTheSharedOnes) {
  auto src = SourceTree();
  auto dst = MemoryStore::Create();
  ConvertOptions o;
  o.chunks = std::vector<uint64_t>{};  // the 0-d g/s/b takes the shared (empty) chunk shape
  o.arrays["g/a"].chunks = std::vector<uint64_t>{3, 7};
  o.arrays["/g/a/"].shards = std::vector<uint64_t>{9, 7};  // normalised: the same array
  auto report = Convert(src, "", dst, "", o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->failed(), 0u);
  auto a = Array::Open(dst, "g/a");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ((*a)->metadata().chunk_shape, (std::vector<uint64_t>{9, 7}));
  EXPECT_EQ((*a)->metadata().codecs[0]["configuration"]["chunk_shape"], (Json{3, 7}));
  ExpectSameContents(Digests(src, ""), Digests(dst, ""));

  // Options naming no node, or a group, are refused before anything is written.
  for (const std::string bad : {"g/nothing", "g"}) {
    ConvertOptions wrong;
    wrong.arrays[bad].chunks = std::vector<uint64_t>{1, 1};
    auto out = MemoryStore::Create();
    auto r = Convert(src, "", out, "", wrong);
    EXPECT_TRUE(r.status().IsInvalidArgument()) << bad << ": " << r.status().ToString();
    EXPECT_NE(r.status().message().find("'/" + bad + "'"), std::string::npos) << r.status();
    EXPECT_TRUE(out->list()->empty()) << bad;
  }
}

TEST(Convert, UnshardTakesTheInnerChunksAndCodecs) {
  auto src = SourceTree();
  auto sharded = MemoryStore::Create();
  ConvertOptions shard;
  shard.chunks = std::vector<uint64_t>{2, 3};
  shard.shards = std::vector<uint64_t>{4, 6};
  ASSERT_TRUE(Convert(src, "g/a", sharded, "", shard).ok());
  auto back = MemoryStore::Create();
  ConvertOptions unshard;
  unshard.unshard = true;
  auto report = Convert(sharded, "", back, "", unshard);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  auto a = Array::Open(back, "");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ((*a)->metadata().chunk_shape, (std::vector<uint64_t>{2, 3}));
  EXPECT_NE((*a)->metadata().codecs[0]["name"], "sharding_indexed");
  ExpectSameContents(Digests(src, "g/a"), Digests(back, ""));

  ConvertOptions both;
  both.unshard = true;
  both.shards = std::vector<uint64_t>{4, 6};
  auto out = MemoryStore::Create();
  EXPECT_TRUE(Convert(sharded, "", out, "", both).status().IsInvalidArgument());
  EXPECT_TRUE(out->list()->empty());
}

TEST(Convert, ProgressCountsEveryChunkAndNode) {
  auto src = SourceTree();
  auto dst = MemoryStore::Create();
  std::vector<ConvertProgress> seen;
  std::atomic<int> in_call{0};
  bool overlapped = false;
  ConvertOptions o;
  o.max_buffer_bytes = 64;
  o.progress = [&](const ConvertProgress& p) {
    if (in_call.fetch_add(1) != 0) overlapped = true;
    seen.push_back(p);
    in_call.fetch_sub(1);
  };
  auto report = Convert(src, "", dst, "", o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_FALSE(overlapped);
  ASSERT_FALSE(seen.empty());
  const ConvertProgress& last = seen.back();
  // g/a: 3 x 3 chunks of float32, 9 x 7 elements; g/s/b: one int16 chunk.
  EXPECT_EQ(last.chunks_total, 10u);
  EXPECT_EQ(last.chunks_done, 10u);
  EXPECT_EQ(last.bytes_total, 9u * 7 * 4 + 2);
  EXPECT_EQ(last.bytes_done, last.bytes_total);
  EXPECT_EQ(last.nodes_total, report->nodes.size() + 0u);
  EXPECT_EQ(last.nodes_done, last.nodes_total);
  for (size_t i = 1; i < seen.size(); ++i) {
    EXPECT_GE(seen[i].bytes_done, seen[i - 1].bytes_done);
    EXPECT_GE(seen[i].chunks_done, seen[i - 1].chunks_done);
  }
}

}  // namespace
}  // namespace zarrpp
