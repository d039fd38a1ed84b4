// Groups and hierarchies: path rules, ancestor creation, opening and listing nodes, batch
// creation (CreateHierarchy) in every mode and error case, attributes, and array resize/append.
#include "zarrpp/hierarchy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <latch>
#include <map>
#include <mutex>
#include <numeric>
#include <thread>

#include "support/create_race.h"
#include "zarrpp/array.h"
#include "zarrpp/group.h"
#include "zarrpp/json.h"
#include "zarrpp/local_store.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/store_wrappers.h"

namespace zarrpp {
namespace {

using std::chrono::microseconds;

// Forwards to a store while recording how many requests overlap; can sleep per request, hide
// the listing capability, and fail writes of zarr.json documents.
class ProbeStore : public ForwardingStore {
 public:
  explicit ProbeStore(std::shared_ptr<Store> inner, microseconds latency = microseconds(0))
      : ForwardingStore(std::move(inner), Forward::kPrimitives), latency_(latency) {}

  std::atomic<bool> listable{true};
  std::atomic<bool> fail_metadata_sets{false};
  std::atomic<bool> fail_erases{false};
  std::atomic<int> max_in_flight{0};

  StoreCapabilities capabilities() const override {
    StoreCapabilities c = ForwardingStore::capabilities();
    c.listable = listable.load();
    return c;
  }
  Result<bool> get_into(std::string_view key, ByteRange range, Bytes& out) override {
    Guard g(*this);
    return inner_->get_into(key, range, out);
  }
  Status set(std::string_view key, ByteView value) override {
    Guard g(*this);
    if (fail_metadata_sets && key.ends_with("zarr.json")) {
      return Status::IOError("injected failure writing " + std::string(key));
    }
    return inner_->set(key, value);
  }
  Status erase(std::string_view key) override {
    Guard g(*this);
    if (fail_erases) return Status::IOError("injected failure erasing " + std::string(key));
    return inner_->erase(key);
  }
  Status erase_prefix(std::string_view prefix) override {
    Guard g(*this);
    if (fail_erases) return Status::IOError("injected failure erasing " + std::string(prefix));
    return inner_->erase_prefix(prefix);
  }
  Result<std::vector<std::string>> list_prefix(std::string_view prefix) override {
    Guard g(*this);
    if (!listable) return Status::Unsupported("listing is off");
    return inner_->list_prefix(prefix);
  }
  Result<DirListing> list_dir(std::string_view prefix) override {
    Guard g(*this);
    if (!listable) return Status::Unsupported("listing is off");
    return inner_->list_dir(prefix);
  }
  Result<std::optional<uint64_t>> size(std::string_view key) override {
    Guard g(*this);
    return inner_->size(key);
  }
  std::string description() const override { return "probe"; }

 private:
  struct Guard {
    explicit Guard(ProbeStore& s) : s_(s) {
      const int now = ++s_.in_flight_;
      int seen = s_.max_in_flight.load();
      while (now > seen && !s_.max_in_flight.compare_exchange_weak(seen, now)) {
      }
      if (s_.latency_.count() > 0) std::this_thread::sleep_for(s_.latency_);
    }
    ~Guard() { --s_.in_flight_; }
    ProbeStore& s_;
  };

  const microseconds latency_;
  std::atomic<int> in_flight_{0};
};

ArrayMetadata U8(std::vector<uint64_t> shape, std::vector<uint64_t> chunks) {
  ArrayMetadata m;
  m.shape = std::move(shape);
  m.chunk_shape = std::move(chunks);
  m.data_type = DataType(DataTypeId::kUInt8);
  m.codecs = Json::parse(R"(["bytes"])");
  return m;
}

GroupMetadata WithAttrs(Json attributes) {
  GroupMetadata g;
  g.attributes = std::move(attributes);
  return g;
}

// `base` followed by the number: appended piecewise, because GCC 12 reports a false -Wrestrict
// for "literal" + std::to_string(...).
std::string Name(std::string base, int i) {
  return base.append(std::to_string(i));
}

std::vector<std::string> Keys(const std::shared_ptr<Store>& store) {
  return *store->list();
}

Json Doc(const std::shared_ptr<Store>& store, const std::string& key) {
  auto bytes = store->get(key);
  EXPECT_TRUE(bytes.ok() && *bytes) << key;
  if (!bytes.ok() || !*bytes) return Json();
  return Json::parse(AsString(**bytes));
}

std::vector<std::string> Paths(const std::vector<Node>& nodes) {
  std::vector<std::string> out;
  for (const Node& n : nodes) out.push_back(n.path);
  return out;
}

// Writes one chunk of ones so that a test can see whether an array's data survived.
void WriteOnes(const std::shared_ptr<Store>& store, const std::string& path) {
  auto arr = Array::Open(store, path);
  ASSERT_TRUE(arr.ok()) << arr.status();
  std::vector<uint8_t> ones((*arr)->shape()[0], 1);
  ASSERT_TRUE((*arr)->Write(Region::All((*arr)->shape()), std::span<const uint8_t>(ones)).ok());
}

// ---- Paths ----

TEST(NodePath, NormalisesSlashesAndBackslashes) {
  EXPECT_EQ(*NormalizeNodePath("/a//b/"), "a/b");
  EXPECT_EQ(*NormalizeNodePath("a\\b"), "a/b");
  EXPECT_EQ(*NormalizeNodePath(""), "");
  EXPECT_EQ(*NormalizeNodePath("///"), "");
  EXPECT_EQ(*NormalizeNodePath("a.b/.c/d..e"), "a.b/.c/d..e");
}

TEST(NodePath, RefusesReservedNamesNamingThePath) {
  const std::vector<std::string> names = {
      "a/../b", "./a", "a/...", "__zarr/x", "a/__b", "a/zarr.json", std::string("a/b\0c", 5)};
  for (const std::string& bad : names) {
    auto r = NormalizeNodePath(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(r.status().IsInvalidArgument());
    EXPECT_NE(r.status().message().find("node path '" + bad + "'"), std::string::npos)
        << r.status();
  }
}

TEST(NodePath, CreateWithReservedNameWritesNothing) {
  auto store = MemoryStore::Create();
  EXPECT_TRUE(Group::Create(store, "a/__b").status().IsInvalidArgument());
  EXPECT_TRUE(Array::Create(store, "a/zarr.json", U8({4}, {4})).status().IsInvalidArgument());
  EXPECT_TRUE(Keys(store).empty());
}

// ---- Groups and ancestors ----

TEST(Group, CreateWritesEveryMissingAncestorGroup) {
  auto store = MemoryStore::Create();
  auto g = Group::Create(store, "/a//b/c/", WithAttrs({{"k", 1}}));
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ((*g)->path(), "a/b/c");
  EXPECT_EQ(Keys(store), (std::vector<std::string>{"a/b/c/zarr.json", "a/b/zarr.json",
                                                   "a/zarr.json", "zarr.json"}));
  for (const char* key : {"zarr.json", "a/zarr.json", "a/b/zarr.json"}) {
    EXPECT_EQ(Doc(store, key)["node_type"], "group") << key;
    EXPECT_EQ(Doc(store, key)["zarr_format"], 3) << key;
  }
  EXPECT_EQ(Doc(store, "a/b/c/zarr.json")["attributes"]["k"], 1);
}

TEST(Group, ArrayCreateWritesAncestorsAndKeepsExistingOnes) {
  auto store = MemoryStore::Create();
  ASSERT_TRUE(Group::Create(store, "a", WithAttrs({{"keep", true}})).ok());
  auto arr = Array::Create(store, "a/b/x", U8({4}, {2}));
  ASSERT_TRUE(arr.ok()) << arr.status();
  EXPECT_EQ(Doc(store, "a/zarr.json")["attributes"]["keep"], true);
  EXPECT_EQ(Doc(store, "a/b/zarr.json")["node_type"], "group");
  EXPECT_EQ(Doc(store, "a/b/x/zarr.json")["node_type"], "array");
}

TEST(Group, ArrayUnderArrayIsRefusedBeforeWriting) {
  auto store = MemoryStore::Create();
  ASSERT_TRUE(Array::Create(store, "a", U8({4}, {4})).ok());
  WriteOnes(store, "a");
  const auto before = Keys(store);
  auto r = Array::Create(store, "a/b/x", U8({4}, {4}));
  ASSERT_TRUE(r.status().IsFailedPrecondition()) << r.status();
  EXPECT_NE(r.status().message().find("'/a'"), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("'/a/b/x'"), std::string::npos) << r.status();
  EXPECT_EQ(Keys(store), before);
}

TEST(Group, GroupUnderArrayIsRefusedEvenWithOverwrite) {
  auto store = MemoryStore::Create();
  ASSERT_TRUE(Array::Create(store, "a", U8({4}, {4})).ok());
  WriteOnes(store, "a");
  const auto before = Keys(store);
  auto r = Group::Create(store, "a/g", {}, CreateOptions{.overwrite = true});
  EXPECT_TRUE(r.status().IsFailedPrecondition()) << r.status();
  EXPECT_EQ(Keys(store), before);
}

TEST(Group, CreateRefusesExistingNodeUnlessOverwriteWhichErasesItsSubtree) {
  auto store = MemoryStore::Create();
  ASSERT_TRUE(Group::Create(store, "g").ok());
  ASSERT_TRUE(Array::Create(store, "g/x", U8({4}, {4})).ok());
  ASSERT_TRUE(Group::Create(store, "h").ok());
  auto again = Group::Create(store, "g");
  ASSERT_TRUE(again.status().IsAlreadyExists()) << again.status();
  EXPECT_NE(again.status().message().find("'/g'"), std::string::npos);
  ASSERT_TRUE(Group::Create(store, "g", WithAttrs({{"v", 2}}), {.overwrite = true}).ok());
  EXPECT_EQ(Keys(store), (std::vector<std::string>{"g/zarr.json", "h/zarr.json", "zarr.json"}));
  EXPECT_EQ(Doc(store, "g/zarr.json")["attributes"]["v"], 2);
}

TEST(Group, OpenChecksNodeType) {
  auto store = MemoryStore::Create();
  ASSERT_TRUE(Array::Create(store, "g/a", U8({4}, {4})).ok());
  auto g = Group::Open(store, "/g/");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ((*g)->path(), "g");
  EXPECT_TRUE(Group::Open(store, "g/a").status().IsFailedPrecondition());
  EXPECT_TRUE(Group::Open(store, "nope").status().IsNotFound());
  EXPECT_TRUE(Array::Open(store, "g").status().IsFailedPrecondition());
}

TEST(Group, OpenNodeDecidesByZarrJson) {
  auto store = MemoryStore::Create();
  ASSERT_TRUE(Array::Create(store, "g/a", U8({6}, {4})).ok());
  auto a = OpenNode(store, "g/a");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(a->is_array());
  EXPECT_FALSE(a->is_group());
  EXPECT_EQ(a->array->shape(), std::vector<uint64_t>{6});
  auto g = OpenNode(store, "g");
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(g->is_group());
  EXPECT_TRUE(OpenNode(store, "g/none").status().IsNotFound());
  ASSERT_TRUE(store->set("odd/zarr.json", AsBytes(R"({"zarr_format":3,"node_type":"x"})")).ok());
  auto odd = OpenNode(store, "odd");
  EXPECT_TRUE(odd.status().IsCorruption()) << odd.status();
  EXPECT_NE(odd.status().message().find("odd/zarr.json"), std::string::npos);
}

TEST(Group, ChildrenListsArraysAndGroupsAndSkipsNonNodes) {
  auto store = MemoryStore::Create();
  auto root = Group::Create(store, "");
  ASSERT_TRUE(root.ok());
  ASSERT_TRUE(Array::Create(store, "b_array", U8({4}, {4})).ok());
  ASSERT_TRUE(Group::Create(store, "a_group/inner").ok());
  ASSERT_TRUE(store->set("no_meta/data", AsBytes("x")).ok());  // a prefix without zarr.json
  ASSERT_TRUE(
      store->set("__reserved/zarr.json", AsBytes(R"({"zarr_format":3,"node_type":"group"})")).ok());
  auto children = (*root)->Children();
  ASSERT_TRUE(children.ok()) << children.status();
  ASSERT_EQ(Paths(*children), (std::vector<std::string>{"a_group", "b_array"}));
  EXPECT_TRUE((*children)[0].is_group());
  EXPECT_EQ((*children)[0].group->path(), "a_group");
  EXPECT_TRUE((*children)[1].is_array());
  auto sub = (*root)->OpenGroup("a_group");
  ASSERT_TRUE(sub.ok());
  auto inner = (*sub)->Children();
  ASSERT_TRUE(inner.ok());
  EXPECT_EQ(Paths(*inner), std::vector<std::string>{"inner"});
}

TEST(Group, WalkVisitsTheWholeTree) {
  auto store = MemoryStore::Create();
  ASSERT_TRUE(Array::Create(store, "x/y/arr", U8({4}, {4})).ok());
  ASSERT_TRUE(Array::Create(store, "x/top", U8({4}, {4})).ok());
  ASSERT_TRUE(Group::Create(store, "z").ok());
  auto root = Group::Open(store, "");
  ASSERT_TRUE(root.ok());
  auto all = (*root)->Walk();
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(Paths(*all), (std::vector<std::string>{"x", "x/top", "x/y", "x/y/arr", "z"}));
  auto x = Group::Open(store, "x");
  auto below = (*x)->Walk();
  ASSERT_TRUE(below.ok());
  EXPECT_EQ(Paths(*below), (std::vector<std::string>{"top", "y", "y/arr"}));
  EXPECT_TRUE((*below)[2].is_array());
  EXPECT_EQ((*below)[2].array->path(), "x/y/arr");
}

TEST(Group, RelativeCreateAndOpen) {
  auto store = MemoryStore::Create();
  auto g = Group::Create(store, "g");
  ASSERT_TRUE(g.ok());
  auto a = (*g)->CreateArray("sub/a", U8({4}, {2}));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ((*a)->path(), "g/sub/a");
  EXPECT_EQ(Doc(store, "g/sub/zarr.json")["node_type"], "group");
  EXPECT_TRUE((*g)->OpenArray("sub/a").ok());
  EXPECT_TRUE((*g)->OpenGroup("sub").ok());
  auto self = (*g)->CreateGroup("/");
  EXPECT_TRUE(self.status().IsInvalidArgument()) << self.status();
  EXPECT_TRUE((*g)->CreateArray("", U8({4}, {2})).status().IsInvalidArgument());
}

// ---- Attributes ----

TEST(Attributes, GroupReplaceAndMergeRewriteZarrJson) {
  auto store = MemoryStore::Create();
  auto g = Group::Create(store, "g", WithAttrs({{"a", 1}, {"b", {{"x", 1}}}}));
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*(*g)->attributes(), Json({{"a", 1}, {"b", {{"x", 1}}}}));
  ASSERT_TRUE((*g)->UpdateAttributes({{"a", nullptr}, {"b", {{"y", 2}}}, {"c", "new"}}).ok());
  const Json expected = {{"b", {{"y", 2}}}, {"c", "new"}};  // objects replace, null removes
  EXPECT_EQ(Doc(store, "g/zarr.json")["attributes"], expected);
  EXPECT_EQ((*g)->metadata().attributes, expected);
  auto other = Group::Open(store, "g");
  EXPECT_EQ(*(*other)->attributes(), expected);
  ASSERT_TRUE((*g)->SetAttributes({{"only", true}}).ok());
  EXPECT_EQ(*(*other)->attributes(), Json({{"only", true}}));
  EXPECT_TRUE((*g)->SetAttributes(Json::array()).IsInvalidArgument());
  EXPECT_TRUE((*g)->UpdateAttributes(5).IsInvalidArgument());
  EXPECT_EQ(*(*g)->attributes(), Json({{"only", true}}));
}

TEST(Attributes, UpdateMergesWithChangesFromOtherHandles) {
  auto store = MemoryStore::Create();
  auto a1 = Array::Create(store, "a", U8({4}, {2}));
  ASSERT_TRUE(a1.ok());
  auto a2 = Array::Open(store, "a");
  ASSERT_TRUE((*a1)->UpdateAttributes({{"one", 1}}).ok());
  ASSERT_TRUE((*a2)->UpdateAttributes({{"two", 2}}).ok());
  EXPECT_EQ(*(*a1)->attributes(), Json({{"one", 1}, {"two", 2}}));
  EXPECT_EQ(Doc(store, "a/zarr.json")["node_type"], "array");
  EXPECT_EQ((*Array::Open(store, "a"))->metadata().attributes, Json({{"one", 1}, {"two", 2}}));
}

TEST(Attributes, MissingNodeIsNotFound) {
  auto store = MemoryStore::Create();
  auto g = Group::Create(store, "g");
  ASSERT_TRUE(store->erase("g/zarr.json").ok());
  EXPECT_TRUE((*g)->attributes().status().IsNotFound());
  EXPECT_TRUE((*g)->UpdateAttributes({{"k", 1}}).IsNotFound());
  EXPECT_FALSE(*store->exists("g/zarr.json"));
}

// ---- CreateHierarchy ----

NodeMap SampleTree() {
  return NodeMap{{"/exp", WithAttrs({{"name", "exp"}})},
                 {"exp/run1/temperature", U8({8}, {4})},
                 {"exp/run1/pressure", U8({8}, {4})},
                 {"exp/run2/", GroupMetadata{}},
                 {"other/a", U8({2}, {2})}};
}

TEST(CreateHierarchy, WritesNodesAndImplicitGroupsAndReturnsEveryHandle) {
  auto store = MemoryStore::Create();
  auto nodes = CreateHierarchy(store, SampleTree());
  ASSERT_TRUE(nodes.ok()) << nodes.status();
  EXPECT_EQ(Paths(*nodes),
            (std::vector<std::string>{"", "exp", "exp/run1", "exp/run1/pressure",
                                      "exp/run1/temperature", "exp/run2", "other", "other/a"}));
  std::vector<std::string> implicit;
  for (const Node& n : *nodes) {
    if (n.implicit) implicit.push_back(n.path);
    EXPECT_NE(n.is_array(), n.is_group()) << n.path;
    const std::string key = n.path.empty() ? "zarr.json" : n.path + "/zarr.json";
    EXPECT_EQ(Doc(store, key)["node_type"], n.is_array() ? "array" : "group") << key;
  }
  EXPECT_EQ(implicit, (std::vector<std::string>{"", "exp/run1", "other"}));
  EXPECT_EQ((*nodes)[3].array->path(), "exp/run1/pressure");
  EXPECT_EQ(Doc(store, "exp/zarr.json")["attributes"]["name"], "exp");
  EXPECT_EQ(Keys(store).size(), 8u);
  // Array defaults are applied as Array::Create does.
  EXPECT_EQ(Doc(store, "other/a/zarr.json")["fill_value"], 0);
}

TEST(CreateHierarchy, EmptyInputIsANoOp) {
  auto store = MemoryStore::Create();
  auto nodes = CreateHierarchy(store, {});
  ASSERT_TRUE(nodes.ok());
  EXPECT_TRUE(nodes->empty());
  EXPECT_TRUE(Keys(store).empty());
}

TEST(CreateHierarchy, ExistingImplicitGroupIsLeftUntouched) {
  auto store = MemoryStore::Create();
  ASSERT_TRUE(Group::Create(store, "exp/run1", WithAttrs({{"keep", 1}})).ok());
  auto counting = std::make_shared<CountingStore>(store);
  auto nodes = CreateHierarchy(counting, {{"exp/run1/t", U8({4}, {4})}});
  ASSERT_TRUE(nodes.ok()) << nodes.status();
  EXPECT_EQ(Paths(*nodes), std::vector<std::string>{"exp/run1/t"});
  // One write (create-only on this store, which has conditional writes).
  EXPECT_EQ(counting->counters().set + counting->counters().set_if, 1u);
  EXPECT_EQ(counting->counters().set_if, 1u);
  EXPECT_EQ(Doc(store, "exp/run1/zarr.json")["attributes"]["keep"], 1);
}

TEST(CreateHierarchy, ArrayAncestorInInputIsRefusedAndNothingIsWritten) {
  for (bool overwrite : {false, true}) {
    auto store = MemoryStore::Create();
    // Array under array, and group under array.
    for (NodeMap input : {NodeMap{{"a", U8({4}, {4})}, {"a/b/c", U8({4}, {4})}},
                          NodeMap{{"a", U8({4}, {4})}, {"a/g", GroupMetadata{}}}}) {
      auto r = CreateHierarchy(store, input, {.overwrite = overwrite});
      ASSERT_TRUE(r.status().IsInvalidArgument()) << r.status();
      EXPECT_NE(r.status().message().find("ancestor '/a'"), std::string::npos) << r.status();
      EXPECT_TRUE(Keys(store).empty());
    }
  }
}

TEST(CreateHierarchy, ArrayAncestorInStoreIsRefusedInEveryMode) {
  for (bool overwrite : {false, true}) {
    auto store = MemoryStore::Create();
    ASSERT_TRUE(Array::Create(store, "data/arr", U8({4}, {4})).ok());
    WriteOnes(store, "data/arr");
    const auto before = Keys(store);
    auto r = CreateHierarchy(store, {{"data/arr/sub/x", U8({4}, {4})}, {"fresh", GroupMetadata{}}},
                             {.overwrite = overwrite});
    ASSERT_TRUE(r.status().IsFailedPrecondition()) << r.status();
    EXPECT_NE(r.status().message().find("'/data/arr'"), std::string::npos) << r.status();
    EXPECT_EQ(Keys(store), before) << "overwrite=" << overwrite;
  }
}

TEST(CreateHierarchy, DuplicatePathsAfterNormalisationAreRefused) {
  auto store = MemoryStore::Create();
  auto r = CreateHierarchy(store, {{"a/b", GroupMetadata{}}, {"/a//b/", U8({4}, {4})}});
  ASSERT_TRUE(r.status().IsInvalidArgument()) << r.status();
  EXPECT_NE(r.status().message().find("'a/b'"), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("'/a//b/'"), std::string::npos) << r.status();
  EXPECT_TRUE(Keys(store).empty());
}

TEST(CreateHierarchy, InvalidNodesAreRefusedBeforeAnyWrite) {
  auto store = MemoryStore::Create();
  GroupMetadata v2;
  v2.zarr_format = 2;
  EXPECT_TRUE(
      CreateHierarchy(store, {{"a", GroupMetadata{}}, {"b", v2}}).status().IsInvalidArgument());
  EXPECT_TRUE(CreateHierarchy(store, {{"a", GroupMetadata{}}, {"b/__x", GroupMetadata{}}})
                  .status()
                  .IsInvalidArgument());
  auto bad = CreateHierarchy(store, {{"a", GroupMetadata{}}, {"b", U8({4}, {0})}});
  EXPECT_FALSE(bad.ok());
  ArrayMetadata v2_array = U8({4}, {4});
  v2_array.zarr_format = 2;
  auto old_format = CreateHierarchy(store, {{"a", GroupMetadata{}}, {"b", v2_array}});
  EXPECT_TRUE(old_format.status().IsUnsupported()) << old_format.status();
  EXPECT_NE(old_format.status().message().find("b/zarr.json"), std::string::npos)
      << old_format.status();
  EXPECT_TRUE(Keys(store).empty());
}

TEST(CreateHierarchy, ExistingNodesWithoutOverwriteLeaveTheStoreUntouched) {
  auto store = MemoryStore::Create();
  ASSERT_TRUE(Array::Create(store, "exp/run1/temperature", U8({4}, {4})).ok());
  WriteOnes(store, "exp/run1/temperature");
  ASSERT_TRUE(Group::Create(store, "exp/run2").ok());
  const auto before = Keys(store);
  // An existing array at a named path.
  auto r = CreateHierarchy(store, {{"exp/run1/temperature", U8({8}, {4})}, {"new", U8({2}, {2})}});
  ASSERT_TRUE(r.status().IsAlreadyExists()) << r.status();
  EXPECT_NE(r.status().message().find("an array already exists at '/exp/run1/temperature'"),
            std::string::npos)
      << r.status();
  EXPECT_EQ(Keys(store), before);
  // An explicitly named existing group.
  r = CreateHierarchy(store, {{"exp/run2", GroupMetadata{}}, {"new", U8({2}, {2})}});
  ASSERT_TRUE(r.status().IsAlreadyExists()) << r.status();
  EXPECT_NE(r.status().message().find("a group already exists at '/exp/run2'"), std::string::npos)
      << r.status();
  EXPECT_EQ(Keys(store), before);
}

TEST(CreateHierarchy, OverwriteRemovesUnnamedDescendantsOfNamedNodesAndNothingElse) {
  auto store = MemoryStore::Create();
  ASSERT_TRUE(CreateHierarchy(store, SampleTree()).ok());
  WriteOnes(store, "exp/run1/temperature");
  WriteOnes(store, "other/a");
  ASSERT_TRUE(Group::Create(store, "exp/run2/extra").ok());
  ASSERT_TRUE(
      Group::Create(store, "exp/run1", {}, {.overwrite = false}).status().IsAlreadyExists());
  ASSERT_TRUE(store
                  ->set("exp/run1/zarr.json", AsBytes(R"({"zarr_format":3,"node_type":"group",
                         "attributes":{"old":true}})"))
                  .ok());

  auto r = CreateHierarchy(
      store, {{"exp/run2", WithAttrs({{"fresh", true}})}, {"exp/run1/temperature", U8({16}, {4})}},
      {.overwrite = true});
  ASSERT_TRUE(r.status().ok()) << r.status();
  // Named nodes were rewritten and their unnamed descendants (and chunks) are gone.
  EXPECT_EQ(Doc(store, "exp/run2/zarr.json")["attributes"]["fresh"], true);
  EXPECT_FALSE(*store->exists("exp/run2/extra/zarr.json"));
  EXPECT_EQ(Doc(store, "exp/run1/temperature/zarr.json")["shape"], Json::array({16}));
  EXPECT_FALSE(*store->exists("exp/run1/temperature/c/0"));
  // Everything else is kept: the implicit parent, a sibling array, another subtree's chunks.
  EXPECT_EQ(Doc(store, "exp/run1/zarr.json")["attributes"]["old"], true);
  EXPECT_TRUE(*store->exists("exp/run1/pressure/zarr.json"));
  EXPECT_TRUE(*store->exists("exp/zarr.json"));
  EXPECT_TRUE(*store->exists("other/a/c/0"));
  EXPECT_EQ(Paths(*r), (std::vector<std::string>{"exp/run1/temperature", "exp/run2"}));
}

TEST(CreateHierarchy, ArrayOverwriteErasesOnlyItsOwnPrefixAndReportsAFailedErase) {
  for (const int format : {3, 2}) {
    SCOPED_TRACE(Name("zarr_format ", format));
    auto probe = std::make_shared<ProbeStore>(MemoryStore::Create());
    ArrayMetadata m = U8({4}, {2});
    m.zarr_format = format;
    ASSERT_TRUE(Array::Create(probe, "d/a", m).ok());
    ASSERT_TRUE(Array::Create(probe, "d/ab", m).ok());  // a sibling sharing the name's prefix
    ASSERT_TRUE(probe->set("d/a.txt", AsBytes(std::string("beside"))).ok());
    std::vector<uint8_t> v = {1, 2, 3, 4};
    auto a = Array::Open(probe, "d/a");
    ASSERT_TRUE(a.ok()) << a.status();
    ASSERT_TRUE((*a)->Write(Region::All({4}), std::span<const uint8_t>(v)).ok());
    const std::vector<std::string> before = Keys(probe);

    // A failing erase is reported, and the old node is left as it was (nothing written).
    probe->fail_erases = true;
    auto failed = Array::Create(probe, "d/a", U8({9}, {3}), {.overwrite = true});
    EXPECT_TRUE(failed.status().IsIOError()) << failed.status();
    EXPECT_NE(failed.status().message().find("d/a/"), std::string::npos) << failed.status();
    EXPECT_EQ(Keys(probe), before);
    probe->fail_erases = false;

    // The overwrite erases the node's subtree and nothing beside it.
    ASSERT_TRUE(Array::Create(probe, "d/a", m, {.overwrite = true}).ok());
    std::vector<std::string> kept;
    for (const std::string& k : Keys(probe)) {
      if (!k.starts_with("d/a/")) kept.push_back(k);
    }
    std::vector<std::string> expected;
    for (const std::string& k : before) {
      if (!k.starts_with("d/a/")) expected.push_back(k);
    }
    EXPECT_EQ(kept, expected);
    EXPECT_TRUE(*probe->exists("d/a.txt"));
    std::vector<uint8_t> out(4, 9);
    auto reopened = Array::Open(probe, "d/a");
    ASSERT_TRUE(reopened.ok()) << reopened.status();
    ASSERT_TRUE((*reopened)->Read(Region::All({4}), std::span<uint8_t>(out)).ok());
    EXPECT_EQ(out, (std::vector<uint8_t>{0, 0, 0, 0}));
  }
}

TEST(CreateHierarchy, OverwriteRewritesImplicitGroupsInsideErasedSubtrees) {
  // Erasing a named node's subtree also removes existing groups below it that the input needs
  // as ancestors; they must be written again.
  auto store = MemoryStore::Create();
  ASSERT_TRUE(Group::Create(store, "a/b", WithAttrs({{"old", 1}})).ok());
  auto r = CreateHierarchy(store, {{"a", GroupMetadata{}}, {"a/b/c", U8({4}, {4})}},
                           {.overwrite = true});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Doc(store, "a/b/zarr.json")["node_type"], "group");
  EXPECT_EQ(Doc(store, "a/b/zarr.json")["attributes"], Json::object());
  EXPECT_TRUE(*store->exists("a/b/c/zarr.json"));
}

TEST(CreateHierarchy, OverwriteReplacesAnArrayByAGroupWithItsChunks) {
  auto store = MemoryStore::Create();
  ASSERT_TRUE(Array::Create(store, "n", U8({4}, {4})).ok());
  WriteOnes(store, "n");
  auto r = CreateHierarchy(store, {{"n", GroupMetadata{}}, {"n/child", U8({4}, {4})}},
                           {.overwrite = true});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Doc(store, "n/zarr.json")["node_type"], "group");
  EXPECT_FALSE(*store->exists("n/c/0"));
}

TEST(CreateHierarchy, ChecksAndWritesRunConcurrentlyWithinTheBound) {
  auto probe = std::make_shared<ProbeStore>(MemoryStore::Create(), microseconds(2000));
  NodeMap input;
  for (int i = 0; i < 40; ++i) input.emplace(Name("g/a", i), U8({4}, {4}));
  HierarchyOptions options;
  options.node.io_concurrency = 8;
  auto r = CreateHierarchy(probe, input, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->size(), 42u);  // 40 arrays, "g" and the root
  EXPECT_LE(probe->max_in_flight.load(), 8);
  EXPECT_GE(probe->max_in_flight.load(), 2);
}

TEST(CreateHierarchy, IssuesOneReadPerCheckedNodeAndOneWritePerNodeOnALatencyStore) {
  auto counting = std::make_shared<CountingStore>(MemoryStore::Create());
  auto slow = std::make_shared<LatencyStore>(counting, microseconds(1000));
  NodeMap input;
  for (int g = 0; g < 5; ++g) {
    const std::string group = Name("g", g);
    input.emplace(group, GroupMetadata{});
    for (int a = 0; a < 20; ++a) {
      input.emplace(Name(group + "/a", a), U8({4}, {4}));
    }
  }
  auto r = CreateHierarchy(slow, input);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(counting->counters().get_into, 106u);  // 105 named nodes and the implicit root
  EXPECT_EQ(counting->counters().set + counting->counters().set_if, 106u);
  // That the requests overlap is checked by the in-flight probe above; the time it saves is
  // measured by bench/hierarchy_bench (W4), not asserted here.
}

TEST(CreateHierarchy, RootedVariantReturnsTheSingleRoot) {
  auto store = MemoryStore::Create();
  auto root = CreateRootedHierarchy(store, {{"exp", GroupMetadata{}}, {"exp/run/t", U8({4}, {4})}});
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(root->path, "exp");
  ASSERT_TRUE(root->is_group());
  EXPECT_TRUE(*store->exists("exp/run/zarr.json"));

  auto lone_array = CreateRootedHierarchy(store, {{"solo", U8({4}, {4})}});
  ASSERT_TRUE(lone_array.ok());
  EXPECT_TRUE(lone_array->is_array());

  auto other = MemoryStore::Create();
  auto two = CreateRootedHierarchy(other, {{"a", GroupMetadata{}}, {"b/c", U8({4}, {4})}});
  ASSERT_TRUE(two.status().IsInvalidArgument()) << two.status();
  EXPECT_NE(two.status().message().find("'/a', '/b/c'"), std::string::npos) << two.status();
  EXPECT_TRUE(Keys(other).empty());
}

TEST(CreateHierarchy, CreateNodesWritesExactlyTheGivenDocuments) {
  auto store = MemoryStore::Create();
  auto r = CreateNodes(store, {{"x/y", U8({4}, {4})}, {"p", GroupMetadata{}}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Keys(store), (std::vector<std::string>{"p/zarr.json", "x/y/zarr.json"}));
  EXPECT_EQ(Paths(*r), (std::vector<std::string>{"p", "x/y"}));
}

TEST(CreateHierarchy, GroupMethodTakesRelativePathsAndLeavesSiblingsAlone) {
  auto store = MemoryStore::Create();
  auto g = Group::Create(store, "base", WithAttrs({{"mine", 1}}));
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE(Group::Create(store, "base/sibling").ok());
  ASSERT_TRUE(Group::Create(store, "outside").ok());
  auto r = (*g)->CreateHierarchy({{"new/arr", U8({4}, {4})}, {"grp", GroupMetadata{}}},
                                 {.overwrite = true});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Paths(*r), (std::vector<std::string>{"grp", "new", "new/arr"}));
  EXPECT_EQ((*r)[2].array->path(), "base/new/arr");
  EXPECT_TRUE(*store->exists("base/sibling/zarr.json"));
  EXPECT_TRUE(*store->exists("outside/zarr.json"));
  EXPECT_EQ(Doc(store, "base/zarr.json")["attributes"]["mine"], 1);

  auto self = (*g)->CreateHierarchy({{"/", GroupMetadata{}}});
  ASSERT_TRUE(self.status().IsInvalidArgument()) << self.status();
  EXPECT_NE(self.status().message().find("itself"), std::string::npos);
  auto dup = (*g)->CreateHierarchy({{"q", GroupMetadata{}}, {"q/", GroupMetadata{}}});
  EXPECT_TRUE(dup.status().IsInvalidArgument()) << dup.status();
}

// ---- Resize and append ----

TEST(Resize, GrowingChangesOnlyMetadata) {
  auto store = std::make_shared<CountingStore>(MemoryStore::Create());
  auto arr = Array::Create(store, "a", U8({4}, {4}));
  ASSERT_TRUE(arr.ok());
  std::vector<uint8_t> v = {1, 2, 3, 4};
  ASSERT_TRUE((*arr)->Write(Region::All({4}), std::span<const uint8_t>(v)).ok());
  store->reset();
  ASSERT_TRUE((*arr)->Resize({10}).ok());
  EXPECT_EQ(store->counters().set, 1u);
  EXPECT_EQ(store->counters().erase, 0u);
  EXPECT_EQ((*arr)->shape(), std::vector<uint64_t>{10});
  auto reopened = Array::Open(store, "a");
  ASSERT_TRUE(reopened.ok());
  std::vector<uint8_t> out(10, 9);
  ASSERT_TRUE((*reopened)->Read(Region::All({10}), std::span<uint8_t>(out)).ok());
  EXPECT_EQ(out, (std::vector<uint8_t>{1, 2, 3, 4, 0, 0, 0, 0, 0, 0}));
}

TEST(Resize, ShrinkingErasesChunksWhollyOutside) {
  for (bool listable : {true, false}) {
    auto probe = std::make_shared<ProbeStore>(MemoryStore::Create());
    probe->listable = listable;
    auto arr = Array::Create(probe, "a", U8({10, 10}, {3, 3}));
    ASSERT_TRUE(arr.ok()) << arr.status();
    std::vector<uint8_t> ones(100, 1);
    ASSERT_TRUE((*arr)->Write(Region::All({10, 10}), std::span<const uint8_t>(ones)).ok());
    ASSERT_TRUE((*arr)->Resize({4, 10}).ok());
    probe->listable = true;
    // Rows of chunks 0 and 1 (elements 0..5) remain; rows 2 and 3 are wholly outside.
    auto keys = probe->list_prefix("a/c/");
    ASSERT_TRUE(keys.ok());
    EXPECT_EQ(keys->size(), 8u) << "listable=" << listable;
    EXPECT_TRUE(*probe->exists("a/c/1/3"));
    EXPECT_FALSE(*probe->exists("a/c/2/0"));
    EXPECT_EQ(Doc(probe, "a/zarr.json")["shape"], Json::array({4, 10}));
  }
}

TEST(Resize, ShrinkingCanKeepChunks) {
  auto store = MemoryStore::Create();
  auto arr = Array::Create(store, "", U8({8}, {2}));
  std::vector<uint8_t> v = {1, 2, 3, 4, 5, 6, 7, 8};
  ASSERT_TRUE((*arr)->Write(Region::All({8}), std::span<const uint8_t>(v)).ok());
  ASSERT_TRUE((*arr)->Resize({2}, {.erase_outside_chunks = false}).ok());
  EXPECT_TRUE(*store->exists("c/3"));
  // The kept chunks show their values again after growing.
  ASSERT_TRUE((*arr)->Resize({8}).ok());
  std::vector<uint8_t> out(8);
  ASSERT_TRUE((*arr)->Read(Region::All({8}), std::span<uint8_t>(out)).ok());
  EXPECT_EQ(out, v);
}

TEST(Resize, ShrinkResetsTheCutPartOfStraddlingChunks) {
  auto store = MemoryStore::Create();
  auto arr = Array::Create(store, "a", U8({10}, {4}));
  ASSERT_TRUE(arr.ok()) << arr.status();
  std::vector<uint8_t> v = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  ASSERT_TRUE((*arr)->Write(Region::All({10}), std::span<const uint8_t>(v)).ok());
  ASSERT_TRUE((*arr)->Resize({5}).ok());
  EXPECT_FALSE(*store->exists("a/c/2"));
  ASSERT_TRUE((*arr)->Resize({10}).ok());
  std::vector<uint8_t> out(10, 99);
  ASSERT_TRUE((*arr)->Read(Region::All({10}), std::span<uint8_t>(out)).ok());
  // Element 4 survives; 5..7 shared chunk 1 with it and must not come back.
  EXPECT_EQ(out, (std::vector<uint8_t>{1, 2, 3, 4, 5, 0, 0, 0, 0, 0}));
}

TEST(Resize, ShrinkThenGrowShowsOnlyFillPastTheEdgeInEveryDimension) {
  struct Case {
    std::vector<uint64_t> shrink, grow;
    bool sharded;
  };
  for (const Case& c :
       {Case{{3, 3}, {5, 5}, false}, Case{{3, 5}, {5, 7}, false}, Case{{5, 1}, {5, 5}, false},
        Case{{3, 3}, {5, 5}, true}, Case{{1, 6}, {7, 6}, true}}) {
    auto store = MemoryStore::Create();
    ArrayMetadata m = U8({6, 6}, {2, 2});
    if (c.sharded) {
      m.chunk_shape = {4, 4};
      m.codecs = Json::parse(R"([{"name":"sharding_indexed","configuration":{
        "chunk_shape":[2,2],"codecs":[{"name":"bytes"}],
        "index_codecs":[{"name":"bytes","configuration":{"endian":"little"}},{"name":"crc32c"}]}}])");
    }
    m.fill_value = FillValue{Bytes{7}};
    auto arr = Array::Create(store, "a", m);
    ASSERT_TRUE(arr.ok()) << arr.status();
    std::vector<uint8_t> v(36);
    std::iota(v.begin(), v.end(), uint8_t{100});
    ASSERT_TRUE((*arr)->Write(Region::All({6, 6}), std::span<const uint8_t>(v)).ok());
    ASSERT_TRUE((*arr)->Resize(c.shrink).ok());
    ASSERT_TRUE((*arr)->Resize(c.grow).ok());
    std::vector<uint8_t> out(c.grow[0] * c.grow[1], 0);
    ASSERT_TRUE((*arr)->Read(Region::All(c.grow), std::span<uint8_t>(out)).ok());
    for (uint64_t i = 0; i < c.grow[0]; ++i) {
      for (uint64_t j = 0; j < c.grow[1]; ++j) {
        const bool kept = i < c.shrink[0] && j < c.shrink[1];
        EXPECT_EQ(out[i * c.grow[1] + j], kept ? v[i * 6 + j] : 7)
            << "element " << i << "," << j << " shrink " << c.shrink[0] << "x" << c.shrink[1]
            << (c.sharded ? " sharded" : "");
      }
    }
  }
}

TEST(Resize, FailedShrinkEraseNeverLeavesStaleRowsForALaterGrow) {
  auto probe = std::make_shared<ProbeStore>(MemoryStore::Create());
  auto arr = Array::Create(probe, "a", U8({10, 2}, {4, 2}));
  ASSERT_TRUE(arr.ok()) << arr.status();
  std::vector<uint8_t> v(20);
  std::iota(v.begin(), v.end(), uint8_t{1});
  ASSERT_TRUE((*arr)->Write(Region::All({10, 2}), std::span<const uint8_t>(v)).ok());
  probe->fail_erases = true;
  const Status s = (*arr)->Resize({4, 2});
  ASSERT_TRUE(s.IsIOError()) << s;
  EXPECT_NE(s.message().find("erasing a/c/"), std::string::npos) << s;  // names the chunk
  // The shrink did not take: the stored shape (and the handle's) still covers every row, so no
  // stored edge hides old rows.
  EXPECT_EQ(Doc(probe, "a/zarr.json")["shape"], Json::array({10, 2}));
  EXPECT_EQ((*arr)->shape(), (std::vector<uint64_t>{10, 2}));
  probe->fail_erases = false;
  // Grow from what is stored: every row shown is either an original value or the fill value,
  // and after a shrink that succeeds, growing shows only fill values past the edge.
  ASSERT_TRUE((*arr)->Resize({4, 2}).ok());
  ASSERT_TRUE((*arr)->Resize({12, 2}).ok());
  auto reopened = Array::Open(probe, "a");
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  std::vector<uint8_t> out(24, 99);
  ASSERT_TRUE((*reopened)->Read(Region::All({12, 2}), std::span<uint8_t>(out)).ok());
  std::vector<uint8_t> expected(24, 0);
  std::copy(v.begin(), v.begin() + 8, expected.begin());
  EXPECT_EQ(out, expected);
}

TEST(Resize, FailedShrinkTrimKeepsTheOldShape) {
  // The straddling chunk's reset ends in an erase (it holds only fill values then): that erase
  // failing stops the shrink before the metadata changes.
  auto probe = std::make_shared<ProbeStore>(MemoryStore::Create());
  auto arr = Array::Create(probe, "a", U8({8}, {4}));
  ASSERT_TRUE(arr.ok()) << arr.status();
  std::vector<uint8_t> v = {1, 2, 3, 4, 0, 6, 7, 8};
  ASSERT_TRUE((*arr)->Write(Region::All({8}), std::span<const uint8_t>(v)).ok());
  probe->fail_erases = true;
  EXPECT_FALSE((*arr)->Resize({5}).ok());
  EXPECT_EQ(Doc(probe, "a/zarr.json")["shape"], Json::array({8}));
  probe->fail_erases = false;
  ASSERT_TRUE((*arr)->Resize({5}).ok());
  ASSERT_TRUE((*arr)->Resize({8}).ok());
  std::vector<uint8_t> out(8, 99);
  ASSERT_TRUE((*arr)->Read(Region::All({8}), std::span<uint8_t>(out)).ok());
  EXPECT_EQ(out, (std::vector<uint8_t>{1, 2, 3, 4, 0, 0, 0, 0}));
  EXPECT_FALSE(*probe->exists("a/c/1"));
}

TEST(Resize, RankMismatchIsRefused) {
  auto store = MemoryStore::Create();
  auto arr = Array::Create(store, "a", U8({8}, {2}));
  auto s = (*arr)->Resize({2, 2});
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("rank 2, array has rank 1"), std::string::npos) << s;
  EXPECT_EQ(Doc(store, "a/zarr.json")["shape"], Json::array({8}));
}

TEST(Append, ExtendsATimeSeriesWritingMetadataOncePerCall) {
  auto counting = std::make_shared<CountingStore>(MemoryStore::Create());
  ArrayMetadata m = U8({0, 3}, {2, 3});
  auto arr = Array::Create(counting, "ts", m);
  ASSERT_TRUE(arr.ok()) << arr.status();
  std::vector<uint8_t> expected;
  for (uint8_t step = 1; step <= 5; ++step) {
    std::vector<uint8_t> rows(3 * step, step);  // `step` rows of value `step`
    counting->reset();
    ASSERT_TRUE((*arr)->Append(std::span<const uint8_t>(rows), {step, 3}, 0).ok());
    // Exactly one zarr.json write per call; the other sets are chunks.
    const uint64_t chunk_writes = counting->counters().set - 1;
    EXPECT_GE(chunk_writes, 1u);
    EXPECT_EQ(Doc(counting, "ts/zarr.json")["shape"][0], expected.size() / 3 + step);
    expected.insert(expected.end(), rows.begin(), rows.end());
  }
  auto reopened = Array::Open(counting, "ts");
  ASSERT_TRUE(reopened.ok());
  ASSERT_EQ((*reopened)->shape(), (std::vector<uint64_t>{15, 3}));
  std::vector<uint8_t> out(45);
  ASSERT_TRUE((*reopened)->Read(Region::All({15, 3}), std::span<uint8_t>(out)).ok());
  EXPECT_EQ(out, expected);
}

TEST(Append, AlongAnInnerAxis) {
  auto store = MemoryStore::Create();
  auto arr = Array::Create(store, "a", U8({2, 1}, {2, 2}));
  std::vector<uint8_t> first = {1, 2};
  ASSERT_TRUE((*arr)->Write(Region::All({2, 1}), std::span<const uint8_t>(first)).ok());
  std::vector<uint8_t> more = {3, 4, 5, 6};  // 2x2
  ASSERT_TRUE((*arr)->Append(std::span<const uint8_t>(more), {2, 2}, 1).ok());
  std::vector<uint8_t> out(6);
  ASSERT_TRUE((*arr)->Read(Region::All({2, 3}), std::span<uint8_t>(out)).ok());
  EXPECT_EQ(out, (std::vector<uint8_t>{1, 3, 4, 2, 5, 6}));
}

TEST(Append, BadInputIsRefusedBeforeAnyIo) {
  auto counting = std::make_shared<CountingStore>(MemoryStore::Create());
  auto arr = Array::Create(counting, "a", U8({2, 3}, {2, 2}));
  counting->reset();
  std::vector<uint8_t> six(6, 1);
  EXPECT_TRUE((*arr)->Append(std::span<const uint8_t>(six), {2, 2}, 0).IsInvalidArgument());
  EXPECT_TRUE((*arr)->Append(std::span<const uint8_t>(six), {2, 3}, 2).IsInvalidArgument());
  EXPECT_TRUE((*arr)->Append(std::span<const uint8_t>(six), {6}, 0).IsInvalidArgument());
  EXPECT_TRUE((*arr)->Append(std::span<const uint8_t>(six), {1, 3}, 0).IsInvalidArgument());
  std::vector<uint16_t> wrong_type(6, 1);
  EXPECT_TRUE((*arr)->Append(std::span<const uint16_t>(wrong_type), {2, 3}, 0).IsInvalidArgument());
  auto s = (*arr)->Append(std::span<const uint8_t>(six), {2, 2}, 0);
  EXPECT_NE(s.message().find("extent 2 in dimension 1, array has 3"), std::string::npos) << s;
  EXPECT_EQ(counting->counters(), CountingStore::Counters{});
  EXPECT_EQ((*arr)->shape(), (std::vector<uint64_t>{2, 3}));
}

TEST(Append, FailedMetadataWriteKeepsTheOldShape) {
  auto probe = std::make_shared<ProbeStore>(MemoryStore::Create());
  auto arr = Array::Create(probe, "a", U8({2}, {2}));
  ASSERT_TRUE(arr.ok());
  probe->fail_metadata_sets = true;
  std::vector<uint8_t> two = {7, 8};
  EXPECT_TRUE((*arr)->Append(std::span<const uint8_t>(two), {2}, 0).IsIOError());
  EXPECT_EQ((*arr)->shape(), std::vector<uint64_t>{2});
  EXPECT_EQ(Doc(probe, "a/zarr.json")["shape"], Json::array({2}));
  probe->fail_metadata_sets = false;
  ASSERT_TRUE((*arr)->Append(std::span<const uint8_t>(two), {2}, 0).ok());
  EXPECT_EQ((*arr)->shape(), std::vector<uint64_t>{4});
}

TEST(Append, ReadsOnTheSameHandleStayConsistentDuringAppends) {
  auto store = MemoryStore::Create();
  auto arr = Array::Create(store, "a", U8({4, 4}, {3, 3}));
  std::vector<uint8_t> base(16, 5);
  ASSERT_TRUE((*arr)->Write(Region::All({4, 4}), std::span<const uint8_t>(base)).ok());
  std::atomic<bool> done{false};
  std::atomic<int> bad_reads{0};
  std::thread reader([&] {
    std::vector<uint8_t> out(16);
    while (!done) {
      if (!(*arr)->Read(Region::All({4, 4}), std::span<uint8_t>(out)).ok() || out != base) {
        ++bad_reads;
      }
    }
  });
  std::vector<uint8_t> row(4, 9);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE((*arr)->Append(std::span<const uint8_t>(row), {1, 4}, 0).ok());
  }
  done = true;
  reader.join();
  EXPECT_EQ(bad_reads.load(), 0);
  EXPECT_EQ(Doc(store, "a/zarr.json")["shape"], Json::array({54, 4}));
}

// --- Creation decided by the store (conditional writes) -----------------------------------------

// A MemoryStore where "another writer" stores a value just before this process's first
// conditional write of a key: the window between CreateHierarchy's checks and its writes.
class InterposingStore : public ForwardingStore {
 public:
  InterposingStore() : ForwardingStore(MemoryStore::Create()) {}
  void PlantBeforeConditionalWrite(std::string key, std::string value) {
    std::lock_guard<std::mutex> l(mu_);
    planted_[std::move(key)] = std::move(value);
  }

  Result<std::optional<Generation>> set_if(std::string_view key, std::span<const ByteView> pieces,
                                           const WriteConditions& conditions) override {
    std::string planted;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = planted_.find(std::string(key));
      if (it != planted_.end()) {
        planted = std::move(it->second);
        planted_.erase(it);
      }
    }
    if (!planted.empty()) RETURN_IF_ERROR(inner_->set(key, AsBytes(planted)));
    return inner_->set_if(key, pieces, conditions);
  }
  std::string description() const override { return "interposing"; }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> planted_;
};

// The zarr.json Array::Create writes for a small array with these attributes.
std::string ArrayDocument(Json attributes) {
  ArrayMetadata m = U8({4}, {2});
  m.attributes = std::move(attributes);
  auto scratch = MemoryStore::Create();
  EXPECT_TRUE(Array::Create(scratch, "", m).ok());
  auto doc = scratch->get("zarr.json");
  return doc.ok() && doc->has_value() ? std::string(AsString(**doc)) : std::string();
}

TEST(CreateOnly, ArrayCreatedByAnotherWriterAfterTheChecksIsAlreadyExists) {
  auto store = std::make_shared<InterposingStore>();
  store->PlantBeforeConditionalWrite("a/zarr.json", ArrayDocument({{"by", "other"}}));
  auto a = Array::Create(store, "a", U8({8}, {4}));
  ASSERT_FALSE(a.ok());
  EXPECT_TRUE(a.status().IsAlreadyExists()) << a.status();
  EXPECT_NE(a.status().message().find("'/a'"), std::string::npos) << a.status();
  // The other writer's array is intact.
  auto other = Array::Open(store, "a");
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ((*other)->metadata().attributes->value("by", ""), "other");
  EXPECT_EQ((*other)->metadata().shape, std::vector<uint64_t>{4});
}

TEST(CreateOnly, ImplicitGroupCreatedMeanwhileIsKeptAndTheArrayIsWritten) {
  auto store = std::make_shared<InterposingStore>();
  GroupMetadata g = WithAttrs({{"by", "other"}});
  store->PlantBeforeConditionalWrite("zarr.json", g.ToJson().dump());
  auto a = Array::Create(store, "x/y", U8({8}, {4}));
  ASSERT_TRUE(a.ok()) << a.status();
  auto root = Group::Open(store, "");
  ASSERT_TRUE(root.ok()) << root.status();
  auto attributes = (*root)->attributes();
  ASSERT_TRUE(attributes.ok()) << attributes.status();
  EXPECT_EQ(attributes->value("by", ""), "other");  // not replaced by an empty group
  EXPECT_TRUE(Array::Open(store, "x/y").ok());
}

TEST(CreateOnly, ImplicitGroupThatBecameAnArrayMeanwhileIsFailedPrecondition) {
  auto store = std::make_shared<InterposingStore>();
  store->PlantBeforeConditionalWrite("x/zarr.json", ArrayDocument(Json::object()));
  auto a = Array::Create(store, "x/y", U8({8}, {4}));
  ASSERT_FALSE(a.ok());
  EXPECT_TRUE(a.status().IsFailedPrecondition()) << a.status();
  EXPECT_NE(a.status().message().find("'/x'"), std::string::npos) << a.status();
  auto y = store->inner()->get("x/y/zarr.json");
  ASSERT_TRUE(y.ok());
  EXPECT_FALSE(y->has_value());
}

TEST(CreateOnly, OverwriteStillReplacesTheNamedNode) {
  auto store = MemoryStore::Create();
  ASSERT_TRUE(Array::Create(store, "a", U8({8}, {4})).ok());
  CreateOptions create;
  create.overwrite = true;
  auto a = Array::Create(store, "a", U8({16}, {4}), create);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ((*a)->metadata().shape, std::vector<uint64_t>{16});
}

TEST(CreateOnly, ThreadsRacingToCreateOneArrayExactlyOneWins) {
  auto store = MemoryStore::Create();
  constexpr int kThreads = 8;
  for (int round = 0; round < 25; ++round) {
    const std::string path = "g/a" + std::to_string(round);
    std::latch start(kThreads);
    std::atomic<int> created{0}, exists{0}, other{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        ArrayMetadata m = U8({8}, {4});
        m.attributes = Json{{"racer", t}};
        start.arrive_and_wait();
        auto a = Array::Create(store, path, m);
        if (a.ok()) {
          ++created;
        } else if (a.status().IsAlreadyExists()) {
          ++exists;
        } else {
          ++other;
          ADD_FAILURE() << a.status();
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(created.load(), 1) << "round " << round;
    EXPECT_EQ(exists.load(), kThreads - 1) << "round " << round;
    EXPECT_EQ(other.load(), 0) << "round " << round;
  }
}

TEST(CreateOnly, ProcessesRacingOnALocalStoreExactlyOneWins) {
  const std::string root = (std::filesystem::temp_directory_path() /
                            ("zarrpp_create_race_" + std::to_string(::getpid())))
                               .string();
  std::filesystem::remove_all(root);
  for (int round = 0; round < 5; ++round) {
    const std::string path = "race/a" + std::to_string(round);
    const test_support::CreateRaceOutcome out = test_support::RaceArrayCreation(
        [&]() -> Result<std::shared_ptr<Store>> {
          ASSIGN_OR_RETURN(auto s, LocalStore::Create(root));
          return std::shared_ptr<Store>(std::move(s));
        },
        path, 4);
    EXPECT_EQ(out.created, 1) << "round " << round;
    EXPECT_EQ(out.already_exists, 3) << "round " << round;
    EXPECT_EQ(out.failed, 0) << "round " << round;
  }
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace zarrpp
