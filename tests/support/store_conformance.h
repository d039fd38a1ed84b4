// tests/support/store_conformance.h - the one conformance suite every Store runs.
//
// Usage, in exactly one test file per binary:
//
//   #include "support/store_conformance.h"
//   INSTANTIATE_TEST_SUITE_P(Memory, StoreConformance,
//                            ::testing::Values(zarrpp::testing::StoreCase{
//                                "Memory", [] { return zarrpp::MemoryStore::Create(); }}),
//                            zarrpp::testing::StoreCaseName);
//
// The factory is called once per test and must return an empty store (or GTEST_SKIP() with the
// reason, e.g. when the server it needs is not configured). The TEST_P bodies live in
// this header (not in the support library) so the linker cannot drop them from a binary.
// Behaviour the suite expects beyond the Store contract is tied to capabilities(): set_range
// tests expect Unsupported when the capability is false, and the torn-read check runs only when
// atomic_set is true. Likewise generations (tokens change on every write), conditional_writes
// (conditions are honoured, otherwise Unsupported), key_locks (lock() excludes, otherwise
// Unsupported), and patches racing readers only where the store has set_range and generations.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "zarrpp/store.h"

namespace zarrpp::testing {

struct StoreCase {
  std::string name;
  std::function<std::shared_ptr<Store>()> make;
};

inline void PrintTo(const StoreCase& c, std::ostream* os) {
  *os << c.name;
}

inline std::string StoreCaseName(const ::testing::TestParamInfo<StoreCase>& info) {
  return info.param.name;
}

// `size` copies of `byte`.
Bytes Filled(size_t size, uint8_t byte);
// `size` bytes of a position-dependent pattern (distinct seeds give distinct values).
Bytes Pattern(size_t size, uint32_t seed);
// True when every byte of `value` equals its first byte.
bool Homogeneous(const Bytes& value);

// Creates a fresh directory under the test temporary directory; the returned shared_ptr wraps
// `store` so that dropping the last reference removes the directory too.
std::string MakeTempDir(const std::string& tag);
std::shared_ptr<Store> RemoveDirOnRelease(std::shared_ptr<Store> store, std::string dir);

}  // namespace zarrpp::testing

// store_conformance.cc defines this to get the helpers without registering the suite in the
// support library (where it would clash with the copy registered by each test binary).
#ifndef ZARRPP_STORE_CONFORMANCE_HELPERS_ONLY

namespace {

class StoreConformance : public ::testing::TestWithParam<zarrpp::testing::StoreCase> {
 protected:
  void SetUp() override {
    store_ = GetParam().make();
    if (IsSkipped()) return;  // the factory skipped, saying why (e.g. no server to test against)
    ASSERT_NE(store_, nullptr);
  }

  zarrpp::Bytes MustGet(std::string_view key,
                        zarrpp::ByteRange range = zarrpp::ByteRange::Whole()) {
    auto r = store_->get(key, range);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return {};
    EXPECT_TRUE(r->has_value()) << "key '" << key << "' missing";
    return r->value_or(zarrpp::Bytes{});
  }

  void MustSet(std::string_view key, const zarrpp::Bytes& value) {
    zarrpp::Status s = store_->set(key, value);
    ASSERT_TRUE(s.ok()) << s;
  }

  std::vector<std::string> MustList(std::string_view prefix) {
    auto r = store_->list_prefix(prefix);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::vector<std::string>{};
  }

  std::shared_ptr<zarrpp::Store> store_;
};

using zarrpp::ByteRange;
using zarrpp::Bytes;
using zarrpp::testing::Filled;
using zarrpp::testing::Homogeneous;
using zarrpp::testing::Pattern;
using Strings = std::vector<std::string>;

TEST_P(StoreConformance, GetMissingKeyIsNullopt) {
  auto r = store_->get("nope");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->has_value());
  auto ranged = store_->get("a/b/nope", ByteRange::Bounded(0, 1));
  ASSERT_TRUE(ranged.ok()) << ranged.status();
  EXPECT_FALSE(ranged->has_value());
  Bytes out = {1, 2, 3};
  auto found = store_->get_into("nope", ByteRange::Whole(), out);
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(*found);
}

TEST_P(StoreConformance, GetScatterPlacesTheValueInPiecesAndSkipsNullOnes) {
  const Bytes v = Pattern(1000, 7);
  MustSet("a/c/0", v);
  Bytes first(100, 0xEE), last(500, 0xEE);
  const std::vector<zarrpp::MutableByteView> pieces = {
      zarrpp::MutableByteView(first), zarrpp::MutableByteView(static_cast<uint8_t*>(nullptr), 400),
      zarrpp::MutableByteView(last)};
  auto found = store_->get_scatter("a/c/0", pieces);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_TRUE(*found);
  EXPECT_EQ(first, Bytes(v.begin(), v.begin() + 100));
  EXPECT_EQ(last, Bytes(v.begin() + 500, v.end()));

  auto missing = store_->get_scatter("a/c/1", pieces);
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_FALSE(*missing);
}

TEST_P(StoreConformance, GetScatterOfWrongSizeIsCorruptionWritesNothing) {
  MustSet("a/c/0", Pattern(1000, 7));
  Bytes small(999, 0xEE);
  const std::vector<zarrpp::MutableByteView> pieces = {zarrpp::MutableByteView(small)};
  auto r = store_->get_scatter("a/c/0", pieces);
  ASSERT_TRUE(r.status().IsCorruption()) << r.status();
  EXPECT_NE(r.status().message().find("a/c/0"), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("1000"), std::string::npos) << r.status();
  EXPECT_EQ(small, Bytes(999, 0xEE));
}

TEST_P(StoreConformance, GetWithinPlacesAFittingValueAtTheFront) {
  const Bytes v = Pattern(1000, 9);
  MustSet("a/c/0", v);
  Bytes first(300, 0xEE), second(600, 0xEE), third(400, 0xEE);
  const std::vector<zarrpp::MutableByteView> pieces = {zarrpp::MutableByteView(first),
                                                       zarrpp::MutableByteView(second),
                                                       zarrpp::MutableByteView(third)};
  auto size = store_->get_within("a/c/0", pieces);
  ASSERT_TRUE(size.ok()) << size.status();
  ASSERT_TRUE(size->has_value());
  EXPECT_EQ(**size, 1000u);
  EXPECT_EQ(first, Bytes(v.begin(), v.begin() + 300));
  EXPECT_EQ(second, Bytes(v.begin() + 300, v.begin() + 900));
  Bytes want_third(v.begin() + 900, v.end());
  want_third.resize(400, 0xEE);  // past the value: left as it was
  EXPECT_EQ(third, want_third);

  auto missing = store_->get_within("a/c/1", pieces);
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_FALSE(missing->has_value());

  MustSet("a/c/2", Bytes());
  auto empty = store_->get_within("a/c/2", pieces);
  ASSERT_TRUE(empty.ok()) << empty.status();
  ASSERT_TRUE(empty->has_value());
  EXPECT_EQ(**empty, 0u);
}

TEST_P(StoreConformance, GetWithinTooSmallReportsSizeAndWritesNothing) {
  MustSet("a/c/0", Pattern(1000, 9));
  Bytes first(500, 0xEE), second(499, 0xEE);
  const std::vector<zarrpp::MutableByteView> pieces = {zarrpp::MutableByteView(first),
                                                       zarrpp::MutableByteView(second)};
  auto size = store_->get_within("a/c/0", pieces);
  ASSERT_TRUE(size.ok()) << size.status();
  ASSERT_TRUE(size->has_value());
  EXPECT_EQ(**size, 1000u);
  EXPECT_EQ(first, Bytes(500, 0xEE));
  EXPECT_EQ(second, Bytes(499, 0xEE));
  // An invalid key is an error, not a miss.
  EXPECT_TRUE(store_->get_within("../x", pieces).status().IsInvalidArgument());
}

TEST_P(StoreConformance, SetGatherStoresTheConcatenation) {
  const Bytes a = Pattern(300, 1), b = Pattern(0, 2), c = Pattern(700, 3);
  const std::vector<zarrpp::ByteView> pieces = {zarrpp::ByteView(a), zarrpp::ByteView(b),
                                                zarrpp::ByteView(c)};
  ASSERT_TRUE(store_->set_gather("x/y", pieces).ok());
  Bytes want = a;
  want.insert(want.end(), c.begin(), c.end());
  EXPECT_EQ(MustGet("x/y"), want);
  // Replaces an existing value whole.
  const std::vector<zarrpp::ByteView> shorter = {zarrpp::ByteView(c)};
  ASSERT_TRUE(store_->set_gather("x/y", shorter).ok());
  EXPECT_EQ(MustGet("x/y"), c);
}

TEST_P(StoreConformance, SetThenGetRoundTrips) {
  Bytes v = Pattern(1000, 1);
  MustSet("zarr.json", v);
  MustSet("arr/c/0/1", Pattern(10, 2));
  EXPECT_EQ(MustGet("zarr.json"), v);
  EXPECT_EQ(MustGet("arr/c/0/1"), Pattern(10, 2));
}

TEST_P(StoreConformance, OverwriteReplacesWholeValue) {
  MustSet("k", Pattern(500, 1));
  MustSet("k", Pattern(20, 2));
  EXPECT_EQ(MustGet("k"), Pattern(20, 2));
  MustSet("k", Pattern(700, 3));
  EXPECT_EQ(MustGet("k"), Pattern(700, 3));
  auto size = store_->size("k");
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, std::optional<uint64_t>(700));
}

TEST_P(StoreConformance, SetCopiesCallerBufferAndGetReturnsCopy) {
  Bytes v = Filled(64, 7);
  MustSet("k", v);
  v[0] = 99;
  Bytes got = MustGet("k");
  EXPECT_EQ(got, Filled(64, 7));
  got[1] = 42;
  EXPECT_EQ(MustGet("k"), Filled(64, 7));
}

TEST_P(StoreConformance, EmptyValueIsPresentAndEmpty) {
  MustSet("empty", {});
  auto r = store_->get("empty");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->has_value());
  EXPECT_TRUE((*r)->empty());
  EXPECT_EQ(*store_->size("empty"), std::optional<uint64_t>(0));
  EXPECT_TRUE(*store_->exists("empty"));
  EXPECT_EQ(MustGet("empty", ByteRange::Suffix(5)), Bytes{});
  EXPECT_EQ(MustGet("empty", ByteRange::Bounded(0, 0)), Bytes{});
  EXPECT_EQ(MustGet("empty", ByteRange::FromOffset(0)), Bytes{});
  EXPECT_TRUE(store_->get("empty", ByteRange::Bounded(0, 1)).status().IsInvalidArgument());
}

TEST_P(StoreConformance, FourMebibyteValueRoundTrips) {
  Bytes v = Pattern(4 << 20, 9);
  MustSet("big/value", v);
  EXPECT_EQ(MustGet("big/value"), v);
  Bytes tail(v.end() - 4096, v.end());
  EXPECT_EQ(MustGet("big/value", ByteRange::Suffix(4096)), tail);
  Bytes middle(v.begin() + (1 << 20), v.begin() + (3 << 20));
  EXPECT_EQ(MustGet("big/value", ByteRange::Bounded(1 << 20, 3 << 20)), middle);
}

TEST_P(StoreConformance, BoundedRangeReadsExactlyThoseBytes) {
  Bytes v = Pattern(10, 4);
  MustSet("k", v);
  EXPECT_EQ(MustGet("k", ByteRange::Bounded(2, 5)), Bytes(v.begin() + 2, v.begin() + 5));
  EXPECT_EQ(MustGet("k", ByteRange::Bounded(0, 10)), v);
  EXPECT_EQ(MustGet("k", ByteRange::Bounded(3, 3)), Bytes{});    // empty range
  EXPECT_EQ(MustGet("k", ByteRange::Bounded(10, 10)), Bytes{});  // empty range at the end
  EXPECT_EQ(MustGet("k", ByteRange::Bounded(9, 10)), Bytes{v[9]});
}

TEST_P(StoreConformance, RangePastEndIsInvalidArgument) {
  MustSet("k", Pattern(10, 4));
  for (ByteRange r :
       {ByteRange::Bounded(5, 11), ByteRange::Bounded(11, 11), ByteRange::Bounded(11, 20),
        ByteRange::Bounded(6, 5), ByteRange::FromOffset(11)}) {
    auto got = store_->get("k", r);
    EXPECT_TRUE(got.status().IsInvalidArgument()) << r.ToString() << " -> " << got.status();
    if (!got.ok()) {
      EXPECT_NE(got.status().message().find("'k'"), std::string::npos) << got.status();
    }
  }
}

TEST_P(StoreConformance, FromOffsetReadsToTheEnd) {
  Bytes v = Pattern(10, 5);
  MustSet("k", v);
  EXPECT_EQ(MustGet("k", ByteRange::FromOffset(0)), v);
  EXPECT_EQ(MustGet("k", ByteRange::FromOffset(4)), Bytes(v.begin() + 4, v.end()));
  EXPECT_EQ(MustGet("k", ByteRange::FromOffset(10)), Bytes{});
}

TEST_P(StoreConformance, SuffixReadsTailAndLongSuffixGivesWholeValue) {
  Bytes v = Pattern(10, 6);
  MustSet("k", v);
  EXPECT_EQ(MustGet("k", ByteRange::Suffix(3)), Bytes(v.end() - 3, v.end()));
  EXPECT_EQ(MustGet("k", ByteRange::Suffix(0)), Bytes{});
  EXPECT_EQ(MustGet("k", ByteRange::Suffix(10)), v);
  EXPECT_EQ(MustGet("k", ByteRange::Suffix(1000)), v);
}

TEST_P(StoreConformance, GetIntoResizesCallerBuffer) {
  MustSet("k", Pattern(100, 7));
  Bytes out = Filled(5000, 1);
  auto found = store_->get_into("k", ByteRange::Bounded(10, 20), out);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_TRUE(*found);
  Bytes v = Pattern(100, 7);
  EXPECT_EQ(out, Bytes(v.begin() + 10, v.begin() + 20));
}

TEST_P(StoreConformance, GetRangesHandlesRepeatedAndMissingKeys) {
  Bytes a = Pattern(50, 1), b = Pattern(30, 2);
  MustSet("x/a", a);
  MustSet("x/b", b);
  std::vector<zarrpp::KeyRange> req = {
      {"x/a", ByteRange::Bounded(0, 10)}, {"x/missing", ByteRange::Whole()},
      {"x/b", ByteRange::Suffix(5)},      {"x/a", ByteRange::FromOffset(45)},
      {"x/a", ByteRange::Whole()},        {"x/missing", ByteRange::Suffix(3)},
  };
  auto r = store_->get_ranges(req);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), req.size());
  EXPECT_EQ((*r)[0], Bytes(a.begin(), a.begin() + 10));
  EXPECT_FALSE((*r)[1].has_value());
  EXPECT_EQ((*r)[2], Bytes(b.end() - 5, b.end()));
  EXPECT_EQ((*r)[3], Bytes(a.begin() + 45, a.end()));
  EXPECT_EQ((*r)[4], a);
  EXPECT_FALSE((*r)[5].has_value());

  auto empty = store_->get_ranges({});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());

  auto bad = store_->get_ranges({{"x/a", ByteRange::Bounded(40, 60)}});
  EXPECT_TRUE(bad.status().IsInvalidArgument()) << bad.status();
}

TEST_P(StoreConformance, SetRangeInTheMiddleAndAtTheEnd) {
  MustSet("k", Filled(10, 0));
  zarrpp::Status s = store_->set_range("k", 3, Filled(4, 5));
  if (!store_->capabilities().set_range) {
    EXPECT_TRUE(s.IsUnsupported()) << s;
    EXPECT_EQ(MustGet("k"), Filled(10, 0));
    return;
  }
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(MustGet("k"), (Bytes{0, 0, 0, 5, 5, 5, 5, 0, 0, 0}));
  ASSERT_TRUE(store_->set_range("k", 8, Filled(2, 9)).ok());  // ends exactly at the end
  EXPECT_EQ(MustGet("k"), (Bytes{0, 0, 0, 5, 5, 5, 5, 0, 9, 9}));
  ASSERT_TRUE(store_->set_range("k", 10, {}).ok());  // empty write at the end
  ASSERT_TRUE(store_->set_range("k", 0, Filled(1, 1)).ok());
  EXPECT_EQ(MustGet("k"), (Bytes{1, 0, 0, 5, 5, 5, 5, 0, 9, 9}));
  EXPECT_EQ(*store_->size("k"), std::optional<uint64_t>(10));
}

TEST_P(StoreConformance, SetRangePastTheEndIsInvalidAndChangesNothing) {
  MustSet("k", Filled(10, 0));
  for (auto [offset, length] :
       {std::pair<uint64_t, size_t>{8, 3}, {10, 1}, {11, 0}, {0, 11}, {UINT64_MAX, 2}}) {
    zarrpp::Status s = store_->set_range("k", offset, Filled(length, 7));
    if (!store_->capabilities().set_range) {
      EXPECT_TRUE(s.IsUnsupported()) << s;
    } else {
      EXPECT_TRUE(s.IsInvalidArgument()) << offset << "+" << length << ": " << s;
    }
  }
  EXPECT_EQ(MustGet("k"), Filled(10, 0));
}

TEST_P(StoreConformance, SetRangeOnMissingKeyIsFailedPrecondition) {
  zarrpp::Status s = store_->set_range("missing/key", 0, Filled(3, 1));
  if (store_->capabilities().set_range) {
    EXPECT_TRUE(s.IsFailedPrecondition()) << s;
  } else {
    EXPECT_TRUE(s.IsUnsupported()) << s;
  }
  EXPECT_NE(s.message().find("missing/key"), std::string::npos) << s;
  EXPECT_FALSE(store_->get("missing/key")->has_value());
}

TEST_P(StoreConformance, EraseRemovesKeyAndMissingKeyIsOk) {
  MustSet("a/b", Filled(3, 1));
  MustSet("a/c", Filled(3, 2));
  ASSERT_TRUE(store_->erase("a/b").ok());
  EXPECT_FALSE(store_->get("a/b")->has_value());
  EXPECT_EQ(MustGet("a/c"), Filled(3, 2));
  EXPECT_TRUE(store_->erase("a/b").ok());
  EXPECT_TRUE(store_->erase("never/was").ok());
  EXPECT_EQ(MustList(""), Strings{"a/c"});
}

TEST_P(StoreConformance, EraseOfLastKeyLeavesNoEmptyPrefix) {
  MustSet("a/b/c", Filled(1, 1));
  MustSet("z", Filled(1, 1));
  ASSERT_TRUE(store_->erase("a/b/c").ok());
  auto dir = store_->list_dir("");
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(dir->keys, Strings{"z"});
  EXPECT_EQ(dir->prefixes, Strings{});
}

TEST_P(StoreConformance, ErasePrefixRemovesExactlyThePrefixKeys) {
  for (const char* k : {"a/b", "a/c/d", "a/c/e/f", "ab", "abc/x", "b/a/x"})
    MustSet(k, Filled(2, 1));
  ASSERT_TRUE(store_->erase_prefix("a/").ok());
  EXPECT_EQ(MustList(""), (Strings{"ab", "abc/x", "b/a/x"}));
  ASSERT_TRUE(store_->erase_prefix("nothing/here/").ok());
  EXPECT_EQ(MustList(""), (Strings{"ab", "abc/x", "b/a/x"}));
  ASSERT_TRUE(store_->erase_prefix("").ok());
  EXPECT_EQ(MustList(""), Strings{});
  MustSet("after/clear", Filled(1, 3));  // the store stays usable
  EXPECT_EQ(MustGet("after/clear"), Filled(1, 3));
}

TEST_P(StoreConformance, ErasePrefixRefusesInvalidPrefixes) {
  MustSet("a/b", Filled(1, 1));
  for (const char* p : {"a", "/a/", "a//", "../", "a/../"}) {
    EXPECT_TRUE(store_->erase_prefix(p).IsInvalidArgument()) << p;
    EXPECT_TRUE(store_->list_prefix(p).status().IsInvalidArgument()) << p;
    EXPECT_TRUE(store_->list_dir(p).status().IsInvalidArgument()) << p;
  }
  EXPECT_EQ(MustGet("a/b"), Filled(1, 1));
}

TEST_P(StoreConformance, ListReturnsEveryKeySorted) {
  Strings keys = {"zarr.json", "a/zarr.json", "a/c/1/0", "a/c/0/0", "a/c/0/1", "b", "a.b/x"};
  for (const auto& k : keys) MustSet(k, Filled(1, 1));
  std::sort(keys.begin(), keys.end());
  auto all = store_->list();
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(*all, keys);
  EXPECT_EQ(MustList(""), keys);
}

TEST_P(StoreConformance, ListPrefixReturnsOnlyKeysUnderThePrefix) {
  for (const char* k : {"a/b", "a/c", "a/d/e", "a/f/g", "ab", "b/x"}) MustSet(k, Filled(1, 1));
  EXPECT_EQ(MustList("a/"), (Strings{"a/b", "a/c", "a/d/e", "a/f/g"}));
  EXPECT_EQ(MustList("a/d/"), (Strings{"a/d/e"}));
  EXPECT_EQ(MustList("zz/"), Strings{});
  EXPECT_EQ(MustList("a/b/"), Strings{});  // "a/b" is a key, not a prefix
}

TEST_P(StoreConformance, ListDirSplitsKeysAndChildPrefixes) {
  for (const char* k : {"a/b", "a/c", "a/d/e", "a/f/g", "a/f/h/i", "top"}) MustSet(k, Filled(1, 1));
  auto dir = store_->list_dir("a/");
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(dir->keys, (Strings{"a/b", "a/c"}));
  EXPECT_EQ(dir->prefixes, (Strings{"a/d/", "a/f/"}));

  auto root = store_->list_dir("");
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(root->keys, Strings{"top"});
  EXPECT_EQ(root->prefixes, Strings{"a/"});

  auto missing = store_->list_dir("nope/");
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_TRUE(missing->keys.empty());
  EXPECT_TRUE(missing->prefixes.empty());
}

TEST_P(StoreConformance, ListDirOrdersChildrenWithPunctuation) {
  // '-' and '.' sort before '/', '0' after it: children must not be confused with their siblings.
  for (const char* k : {"p/d-x", "p/d/e", "p/d.y", "p/d0", "p/d/f/g"}) MustSet(k, Filled(1, 1));
  auto dir = store_->list_dir("p/");
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(dir->keys, (Strings{"p/d-x", "p/d.y", "p/d0"}));
  EXPECT_EQ(dir->prefixes, Strings{"p/d/"});
}

TEST_P(StoreConformance, ExistsAndSizeReportPresence) {
  MustSet("a/b", Filled(17, 1));
  EXPECT_TRUE(*store_->exists("a/b"));
  EXPECT_FALSE(*store_->exists("a/c"));
  EXPECT_FALSE(*store_->exists("a"));  // a prefix is not a key
  EXPECT_EQ(*store_->size("a/b"), std::optional<uint64_t>(17));
  EXPECT_EQ(*store_->size("a/c"), std::nullopt);
  EXPECT_EQ(*store_->size("a"), std::nullopt);
}

TEST_P(StoreConformance, InvalidKeysAreRefusedByEveryOperation) {
  using namespace std::string_literals;
  const Strings bad = {"",  "/a", "a/",   "a//b", "../x",  "a/../b", "a/./b",
                       ".", "..", "a/..", "a\\b", "a\0b"s, "/",      "x/.zarrpp-tmp-1"};
  for (const std::string& key : bad) {
    SCOPED_TRACE("key '" + key + "'");
    auto g = store_->get(key);
    EXPECT_TRUE(g.status().IsInvalidArgument()) << g.status();
    zarrpp::Status s = store_->set(key, Filled(1, 1));
    EXPECT_TRUE(s.IsInvalidArgument()) << s;
    s = store_->set_range(key, 0, Filled(1, 1));
    EXPECT_TRUE(s.IsInvalidArgument()) << s;
    s = store_->erase(key);
    EXPECT_TRUE(s.IsInvalidArgument()) << s;
    EXPECT_TRUE(store_->exists(key).status().IsInvalidArgument());
    EXPECT_TRUE(store_->size(key).status().IsInvalidArgument());
    EXPECT_TRUE(store_->get_ranges({{key, ByteRange::Whole()}}).status().IsInvalidArgument());
    Bytes one(1);
    const std::vector<zarrpp::MutableByteView> into = {zarrpp::MutableByteView(one)};
    EXPECT_TRUE(store_->get_scatter(key, into).status().IsInvalidArgument());
    const Bytes v = Filled(1, 1);
    const std::vector<zarrpp::ByteView> from = {zarrpp::ByteView(v)};
    EXPECT_TRUE(store_->set_gather(key, from).IsInvalidArgument());
  }
  auto s = store_->set("a//b", Filled(1, 1));
  EXPECT_NE(s.message().find("a//b"), std::string::npos) << s;
  EXPECT_EQ(MustList(""), Strings{});
}

TEST_P(StoreConformance, UnusualButValidKeysRoundTrip) {
  const Strings keys = {
      ".zattrs", "a/.zarray",      "c.0.1", "sp ace/x", "unicode/\xc3\xa9t\xc3\xa9",
      "-dash",   "a/b/c/d/e/f/g/h"};
  for (size_t i = 0; i < keys.size(); ++i) MustSet(keys[i], Pattern(5, static_cast<uint32_t>(i)));
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(MustGet(keys[i]), Pattern(5, static_cast<uint32_t>(i))) << keys[i];
  }
  Strings sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(MustList(""), sorted);
}

// "t<thread>/k<slot>", or "shared/k<slot>" for thread -1.
inline std::string OwnKey(int thread, int slot) {
  std::string key = thread < 0 ? "shared" : "t";
  if (thread >= 0) key += std::to_string(thread);
  key += "/k";
  key += std::to_string(slot);
  return key;
}

TEST_P(StoreConformance, ConcurrentSetGetEraseOnDistinctAndSharedKeys) {
  constexpr int kThreads = 8;
  constexpr int kIterations = 150;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIterations; ++i) {
        const auto byte = static_cast<uint8_t>(t * 31 + i);
        const std::string own = OwnKey(t, i % 4);
        const std::string shared = OwnKey(-1, i % 3);
        const size_t len = 1 + static_cast<size_t>((t * 131 + i * 17) % 3000);
        if (!store_->set(own, Filled(len, byte)).ok()) ++failures;
        auto got = store_->get(own);
        if (!got.ok() || !got->has_value() || **got != Filled(len, byte)) ++failures;
        if (!store_->set(shared, Filled(len, byte)).ok()) ++failures;
        auto s = store_->get(shared);
        // Another thread may have replaced or erased it; whatever is there is one whole value.
        if (!s.ok() || (s->has_value() && !Homogeneous(**s))) ++failures;
        if (i % 5 == 4) {
          if (!store_->erase(own).ok()) ++failures;
          auto gone = store_->get(own);
          if (!gone.ok() || gone->has_value()) ++failures;
        }
        if (i % 7 == 0 && !store_->erase(shared).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  // Final state of each thread's own keys is exactly its last write (or erase).
  for (int t = 0; t < kThreads; ++t) {
    for (int slot = 0; slot < 4; ++slot) {
      const int last = ((kIterations - 1 - slot) / 4) * 4 + slot;  // last iteration on slot
      const std::string own = OwnKey(t, slot);
      auto got = store_->get(own);
      ASSERT_TRUE(got.ok());
      if (last % 5 == 4) {
        EXPECT_FALSE(got->has_value()) << own;
      } else {
        const size_t len = 1 + static_cast<size_t>((t * 131 + last * 17) % 3000);
        EXPECT_EQ(*got, Filled(len, static_cast<uint8_t>(t * 31 + last))) << own;
      }
    }
  }
}

TEST_P(StoreConformance, ReadersOfWholeValueWritesSeeCompleteValues) {
  // Each value is a full buffer of one byte whose length is determined by the byte, so a torn
  // read shows up as mixed bytes or a length that does not match.
  auto length_of = [](uint8_t b) { return static_cast<size_t>(4096 + 977 * (b % 50)); };
  MustSet("hot/key", Filled(length_of(0), 0));
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0}, errors{0}, reads{0};
  const bool atomic = store_->capabilities().atomic_set;
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      // At least 100 writes each, and on until the readers have read often enough to matter
      // (on a loaded machine the writers may otherwise finish before a reader runs).
      for (int i = 0; i < 100 || (reads.load() < 200 && errors.load() == 0); ++i) {
        auto b = static_cast<uint8_t>(w * 60 + i % 60);
        if (!store_->set("hot/key", Filled(length_of(b), b)).ok()) ++errors;
      }
    });
  }
  for (int r = 0; r < 4; ++r) {
    threads.emplace_back([&] {
      Bytes buf;
      while (!stop.load()) {
        auto found = store_->get_into("hot/key", ByteRange::Whole(), buf);
        if (!found.ok() || !*found) {
          ++errors;
          continue;
        }
        ++reads;
        if (!Homogeneous(buf) || buf.size() != length_of(buf.empty() ? 0 : buf[0])) ++torn;
      }
    });
  }
  for (int w = 0; w < 4; ++w) threads[w].join();
  stop = true;
  for (size_t i = 4; i < threads.size(); ++i) threads[i].join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GE(reads.load(), 200);
  if (atomic) {
    EXPECT_EQ(torn.load(), 0) << "of " << reads.load() << " reads";
  }
}

TEST_P(StoreConformance, ConcurrentDisjointSetRangesKeepEveryWrite) {
  constexpr int kThreads = 8;
  constexpr size_t kRegion = 4096;
  MustSet("shared", Filled(kThreads * kRegion, 0));
  if (!store_->capabilities().set_range) {
    EXPECT_TRUE(store_->set_range("shared", 0, Filled(1, 1)).IsUnsupported());
    return;
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto byte = static_cast<uint8_t>(t + 1);
        if (!store_->set_range("shared", t * kRegion, Filled(kRegion, byte)).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  Bytes got = MustGet("shared");
  ASSERT_EQ(got.size(), kThreads * kRegion);
  for (int t = 0; t < kThreads; ++t) {
    Bytes region(got.begin() + t * kRegion, got.begin() + (t + 1) * kRegion);
    EXPECT_EQ(region, Filled(kRegion, static_cast<uint8_t>(t + 1))) << "region " << t;
  }
}

// --- Versions, conditions and locks -------------------------------------------------------------

using zarrpp::Generation;
using zarrpp::KeyLock;
using zarrpp::RangeWrite;
using zarrpp::ReadResult;
using zarrpp::WriteConditions;

inline WriteConditions IfEqual(Generation g) {
  WriteConditions c;
  c.if_equal = std::move(g);
  return c;
}

// Bytes of version `version`: its first 8 bytes hold the version, every other byte depends on
// both its position and the version, so a read mixing two versions (or misplaced bytes) is seen.
inline Bytes VersionBytes(size_t size, uint32_t version) {
  Bytes out(size);
  for (size_t i = 0; i < size; ++i) {
    out[i] = i < 4 ? static_cast<uint8_t>(version >> (8 * i))
                   : static_cast<uint8_t>((i * 131 + version * 7 + (i >> 9)) & 0xff);
  }
  return out;
}
inline uint32_t VersionOf(const Bytes& head) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4 && i < head.size(); ++i) v |= uint32_t{head[i]} << (8 * i);
  return v;
}
// Sizes differ between versions so that a torn size shows too.
inline size_t VersionSize(uint32_t version) {
  return 4096 + 1000 * (version % 5);
}

TEST_P(StoreConformance, GenerationsChangeOnWritesAbsentWhenMissing) {
  auto missing = store_->generation("g/k");
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_TRUE(missing->absent());
  const auto caps = store_->capabilities();
  if (!caps.generations) {
    MustSet("g/k", Pattern(10, 1));
    auto g = store_->generation("g/k");
    ASSERT_TRUE(g.ok()) << g.status();
    EXPECT_FALSE(g->absent());
    return;
  }
  std::vector<Generation> seen;
  auto current = [&](const char* after) {
    auto g = store_->generation("g/k");
    EXPECT_TRUE(g.ok()) << g.status();
    if (!g.ok()) return;
    EXPECT_TRUE(g->present()) << "after " << after;
    for (const Generation& old : seen)
      EXPECT_FALSE(old == *g) << "after " << after << ": " << g->ToString();
    // get_if reports the same generation.
    Bytes out;
    auto r = store_->get_if("g/k", ByteRange::Bounded(0, 1), out);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(r->found);
    EXPECT_EQ(r->generation, *g) << "after " << after;
    seen.push_back(*g);
  };
  MustSet("g/k", Pattern(100, 1));
  current("set");
  MustSet("g/k", Pattern(100, 1));
  current("set of the same bytes");
  const Bytes half = Pattern(50, 2);
  const std::vector<zarrpp::ByteView> pieces = {zarrpp::ByteView(half), zarrpp::ByteView(half)};
  ASSERT_TRUE(store_->set_gather("g/k", pieces).ok());
  current("set_gather");
  if (caps.set_range) {
    ASSERT_TRUE(store_->set_range("g/k", 3, Filled(1, 7)).ok());
    current("set_range");
    ASSERT_TRUE(store_->set_range("g/k", 3, Filled(1, 7)).ok());
    current("set_range of the same byte");
    const Bytes patch = Filled(4, 9);
    const RangeWrite writes[] = {{0, patch}, {90, patch}};
    auto p = store_->patch_if("g/k", writes, {});
    ASSERT_TRUE(p.ok()) << p.status();
    ASSERT_TRUE(p->has_value());
    current("patch_if");
    EXPECT_EQ(**p, seen.back());
  }
  if (caps.conditional_writes) {
    auto w = store_->set_if("g/k", pieces, {});
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_TRUE(w->has_value());
    current("set_if");
    EXPECT_EQ(**w, seen.back());
  }
  ASSERT_TRUE(store_->erase("g/k").ok());
  auto erased = store_->generation("g/k");
  ASSERT_TRUE(erased.ok());
  EXPECT_TRUE(erased->absent());
  MustSet("g/k", Pattern(100, 1));
  current("erase and set of the first bytes again");
}

TEST_P(StoreConformance, GetIfWithAStaleGenerationReadsNothing) {
  const Bytes v1 = Pattern(300, 1), v2 = Pattern(300, 2);
  MustSet("k", v1);
  Bytes out;
  auto first = store_->get_if("k", ByteRange::Whole(), out);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(first->found);
  EXPECT_EQ(out, v1);
  MustSet("k", v2);
  const Bytes sentinel = Filled(3, 0xee);
  out = sentinel;
  auto stale = store_->get_if("k", ByteRange::Whole(), out, &first->generation);
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_FALSE(stale->condition_met);
  EXPECT_EQ(out, sentinel) << "a failed condition read bytes";
  if (!store_->capabilities().generations) return;
  auto now = store_->generation("k");
  ASSERT_TRUE(now.ok());
  auto fresh = store_->get_if("k", ByteRange::Bounded(10, 20), out, &*now);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_TRUE(fresh->condition_met);
  EXPECT_TRUE(fresh->found);
  EXPECT_EQ(out, Bytes(v2.begin() + 10, v2.begin() + 20));
  const Generation absent = Generation::Absent();
  out = sentinel;
  auto present = store_->get_if("k", ByteRange::Whole(), out, &absent);
  ASSERT_TRUE(present.ok());
  EXPECT_FALSE(present->condition_met);
  EXPECT_EQ(out, sentinel);
  auto missing = store_->get_if("nope", ByteRange::Whole(), out, &absent);
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->condition_met);
  EXPECT_FALSE(missing->found);
  EXPECT_TRUE(missing->generation.absent());
  const Generation unknown;
  auto never = store_->get_if("k", ByteRange::Whole(), out, &unknown);
  ASSERT_TRUE(never.ok());
  EXPECT_FALSE(never->condition_met);
}

TEST_P(StoreConformance, SetIfAbsentFromEightThreadsHasExactlyOneWinner) {
  if (!store_->capabilities().conditional_writes) {
    const Bytes v = Filled(1, 1);
    const zarrpp::ByteView piece(v);
    auto r = store_->set_if("race", std::span(&piece, 1), IfEqual(Generation::Absent()));
    EXPECT_TRUE(r.status().IsUnsupported()) << r.status();
    return;
  }
  constexpr int kThreads = 8, kKeys = 10;
  for (int k = 0; k < kKeys; ++k) {
    const std::string key = "race/" + std::to_string(k);
    std::atomic<int> winners{0}, winner{-1}, errors{0};
    std::vector<std::optional<Generation>> won(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        const Bytes v = VersionBytes(VersionSize(t), static_cast<uint32_t>(k * 100 + t));
        const zarrpp::ByteView piece(v);
        auto r = store_->set_if(key, std::span(&piece, 1), IfEqual(Generation::Absent()));
        if (!r.ok()) {
          ++errors;
          return;
        }
        if (r->has_value()) {
          ++winners;
          winner = t;
          won[t] = *r;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(errors.load(), 0);
    ASSERT_EQ(winners.load(), 1) << key;
    const int t = winner.load();
    EXPECT_EQ(MustGet(key), VersionBytes(VersionSize(t), static_cast<uint32_t>(k * 100 + t)));
    auto g = store_->generation(key);
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(*g, *won[t]);
  }
}

// patch_if may extend a value (the writes in order, each starting at or before the end the
// earlier ones left), never leave a hole, and changes nothing when it refuses.
TEST_P(StoreConformance, PatchIfMayExtendButNotLeaveAHole) {
  if (!store_->capabilities().set_range) GTEST_SKIP() << "the store has no set_range";
  MustSet("k", Filled(10, 0));
  const Bytes a = Filled(4, 1), b = Filled(3, 2), c = Filled(2, 3);
  // Past the end after the first write: a hole (11 > 10) even though later ones would fill it.
  const RangeWrite hole[] = {{11, a}, {10, b}};
  EXPECT_TRUE(store_->patch_if("k", hole, {}).status().IsInvalidArgument());
  const RangeWrite out_of_order[] = {{14, a}, {8, b}};
  EXPECT_TRUE(store_->patch_if("k", out_of_order, {}).status().IsInvalidArgument());
  EXPECT_EQ(MustGet("k"), Filled(10, 0));
  // Overlapping the end, then continuing from the new end, then inside: applied in order.
  const RangeWrite grow[] = {{8, a}, {12, b}, {0, c}};
  auto r = store_->patch_if("k", grow, {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(MustGet("k"), (Bytes{3, 3, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2}));
  EXPECT_EQ(*store_->size("k"), std::optional<uint64_t>(15));
  // set_range stays inside the value.
  EXPECT_TRUE(store_->set_range("k", 15, a).IsInvalidArgument());
  EXPECT_EQ(*store_->size("k"), std::optional<uint64_t>(15));
  if (store_->capabilities().conditional_writes && store_->capabilities().generations) {
    const Generation g = *store_->generation("k");
    const RangeWrite more[] = {{15, c}};
    auto stale = store_->patch_if("k", more, IfEqual(Generation::Absent()));
    ASSERT_TRUE(stale.ok()) << stale.status();
    EXPECT_FALSE(stale->has_value());
    auto grown = store_->patch_if("k", more, IfEqual(g));
    ASSERT_TRUE(grown.ok()) << grown.status();
    ASSERT_TRUE(grown->has_value());
    EXPECT_FALSE(**grown == g);
    EXPECT_EQ(*store_->size("k"), std::optional<uint64_t>(17));
  }
}

TEST_P(StoreConformance, StaleGenerationConditionalWritesChangeNothing) {
  const auto caps = store_->capabilities();
  const Bytes v1 = Pattern(200, 1), v2 = Pattern(200, 2), v3 = Pattern(100, 3);
  const zarrpp::ByteView piece3(v3);
  const std::span<const zarrpp::ByteView> pieces3(&piece3, 1);
  if (!caps.conditional_writes) {
    MustSet("k", v1);
    EXPECT_TRUE(
        store_->set_if("k", pieces3, IfEqual(Generation::Absent())).status().IsUnsupported());
    EXPECT_TRUE(store_->erase_if("k", IfEqual(Generation::Absent())).status().IsUnsupported());
    EXPECT_EQ(MustGet("k"), v1);
    // Unconditional forms work on every store.
    auto w = store_->set_if("k", pieces3, {});
    ASSERT_TRUE(w.ok()) << w.status();
    EXPECT_TRUE(w->has_value());
    EXPECT_EQ(MustGet("k"), v3);
    auto e = store_->erase_if("k", {});
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_TRUE(*e);
    EXPECT_FALSE(*store_->exists("k"));
    return;
  }
  MustSet("k", v1);
  const Generation g1 = *store_->generation("k");
  MustSet("k", v2);
  const Generation g2 = *store_->generation("k");
  ASSERT_FALSE(g1 == g2);
  auto stale_set = store_->set_if("k", pieces3, IfEqual(g1));
  ASSERT_TRUE(stale_set.ok()) << stale_set.status();
  EXPECT_FALSE(stale_set->has_value());
  auto absent_set = store_->set_if("k", pieces3, IfEqual(Generation::Absent()));
  ASSERT_TRUE(absent_set.ok()) << absent_set.status();
  EXPECT_FALSE(absent_set->has_value());
  auto unknown_set = store_->set_if("k", pieces3, IfEqual(Generation::Unknown()));
  ASSERT_TRUE(unknown_set.ok()) << unknown_set.status();
  EXPECT_FALSE(unknown_set->has_value());
  auto stale_erase = store_->erase_if("k", IfEqual(g1));
  ASSERT_TRUE(stale_erase.ok()) << stale_erase.status();
  EXPECT_FALSE(*stale_erase);
  auto absent_erase = store_->erase_if("k", IfEqual(Generation::Absent()));
  ASSERT_TRUE(absent_erase.ok()) << absent_erase.status();
  EXPECT_FALSE(*absent_erase);
  if (caps.set_range) {
    const Bytes patch = Filled(10, 0xab);
    const RangeWrite writes[] = {{0, patch}, {150, patch}};
    auto stale_patch = store_->patch_if("k", writes, IfEqual(g1));
    ASSERT_TRUE(stale_patch.ok()) << stale_patch.status();
    EXPECT_FALSE(stale_patch->has_value());
    const RangeWrite past[] = {{0, patch}, {201, patch}};  // would leave a hole
    EXPECT_TRUE(store_->patch_if("k", past, IfEqual(g2)).status().IsInvalidArgument());
    EXPECT_TRUE(store_->patch_if("nope", writes, {}).status().IsFailedPrecondition());
  }
  EXPECT_EQ(MustGet("k"), v2);
  EXPECT_EQ(*store_->generation("k"), g2);

  // With the current generation each write goes through.
  Generation g = g2;
  if (caps.set_range) {
    const Bytes patch = Filled(10, 0xab);
    const RangeWrite writes[] = {{0, patch}, {150, patch}};
    auto p = store_->patch_if("k", writes, IfEqual(g));
    ASSERT_TRUE(p.ok()) << p.status();
    ASSERT_TRUE(p->has_value());
    g = **p;
    Bytes expected = v2;
    std::fill(expected.begin(), expected.begin() + 10, 0xab);
    std::fill(expected.begin() + 150, expected.begin() + 160, 0xab);
    EXPECT_EQ(MustGet("k"), expected);
  }
  auto w = store_->set_if("k", pieces3, IfEqual(g));
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_TRUE(w->has_value());
  EXPECT_EQ(MustGet("k"), v3);
  EXPECT_FALSE(store_->erase_if("k", IfEqual(g)).value());
  auto e = store_->erase_if("k", IfEqual(**w));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_TRUE(*e);
  EXPECT_FALSE(*store_->exists("k"));
  auto gone = store_->erase_if("k", IfEqual(Generation::Absent()));
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(*gone);
  auto stale_on_missing = store_->erase_if("k", IfEqual(**w));
  ASSERT_TRUE(stale_on_missing.ok());
  EXPECT_FALSE(*stale_on_missing);
}

TEST_P(StoreConformance, OpenReaderReadsTheVersionOpenedOrReportsItGone) {
  const Bytes v1 = VersionBytes(VersionSize(1), 1);
  MustSet("r/k", v1);
  auto opened = store_->open_reader("r/k");
  ASSERT_TRUE(opened.ok()) << opened.status();
  ASSERT_NE(*opened, nullptr);
  std::unique_ptr<zarrpp::ValueReader> reader = std::move(*opened);
  EXPECT_EQ(reader->size(), v1.size());
  MustSet("r/k", VersionBytes(VersionSize(2), 2));
  Bytes out;
  auto read = reader->read(ByteRange::Bounded(100, 300), out);
  ASSERT_TRUE(read.ok()) << read.status();
  if (*read) {
    EXPECT_EQ(out, Bytes(v1.begin() + 100, v1.begin() + 300));
  }
  auto missing = store_->open_reader("r/nope");
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_EQ(*missing, nullptr);

  // Concurrent writers: whole-value sets, and (where supported) patches rewriting the whole value
  // in two ranges. Every read that succeeds must belong to the version its reader opened.
  std::atomic<bool> stop{false};
  std::atomic<int> mixed{0}, errors{0}, reads{0};
  // patch_if is atomic for readers only in stores that implement it (those with generations).
  const bool patches = store_->capabilities().set_range && store_->capabilities().generations;
  std::thread writer([&] {
    for (uint32_t v = 3; v < 400 || (reads.load() < 300 && errors.load() == 0 && v < 100000); ++v) {
      Bytes next = VersionBytes(VersionSize(v), v);
      if (patches && v % 2 == 0) {
        // Same size as the previous (odd) version, so the patch may cover it whole.
        next = VersionBytes(VersionSize(v - 1), v);
        const size_t mid = next.size() / 2;
        const RangeWrite writes[] = {{mid, zarrpp::ByteView(next).subspan(mid)},
                                     {0, zarrpp::ByteView(next).subspan(0, mid)}};
        auto r = store_->patch_if("r/k", writes, {});
        if (!r.ok()) ++errors;
        continue;
      }
      if (!store_->set("r/k", next).ok()) ++errors;
    }
    stop = true;
  });
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      Bytes head, part;
      while (!stop.load()) {
        auto o = store_->open_reader("r/k");
        if (!o.ok() || *o == nullptr) {
          ++errors;
          continue;
        }
        auto& rd = **o;
        auto h = rd.read(ByteRange::Bounded(0, 4), head);
        if (!h.ok()) {
          ++errors;
          continue;
        }
        if (!*h) continue;
        const uint32_t v = VersionOf(head);
        const Bytes want = VersionBytes(rd.size(), v);
        for (uint64_t at = 0; at < rd.size(); at += 1500) {
          const uint64_t end = std::min<uint64_t>(rd.size(), at + 1000);
          auto p = rd.read(ByteRange::Bounded(at, end), part);
          if (!p.ok()) {
            ++errors;
            break;
          }
          if (!*p) break;
          ++reads;
          if (part != Bytes(want.begin() + at, want.begin() + end)) ++mixed;
        }
      }
    });
  }
  writer.join();
  for (auto& th : readers) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(mixed.load(), 0) << "of " << reads.load() << " reads";
}

TEST_P(StoreConformance, LockExcludesOtherThreadsAndNoIncrementIsLost) {
  if (!store_->capabilities().key_locks) {
    EXPECT_TRUE(store_->lock("counter").status().IsUnsupported());
    return;
  }
  constexpr int kThreads = 8, kIncrements = 40;
  std::atomic<int> inside{0}, overlaps{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        auto l = store_->lock("c/counter");
        if (!l.ok()) {
          ++errors;
          continue;
        }
        if (inside.fetch_add(1) != 0) ++overlaps;
        auto cur = store_->get("c/counter");
        uint64_t n = 0;
        if (cur.ok() && cur->has_value() && (*cur)->size() == 8) {
          for (int b = 0; b < 8; ++b) n |= uint64_t{(**cur)[b]} << (8 * b);
        } else if (!cur.ok() || cur->has_value()) {
          ++errors;
        }
        ++n;
        Bytes next(8);
        for (int b = 0; b < 8; ++b) next[b] = static_cast<uint8_t>(n >> (8 * b));
        const zarrpp::ByteView piece(next);
        WriteConditions held;
        held.held = l->get();
        if (!store_->set_if("c/counter", std::span(&piece, 1), held).ok()) ++errors;
        inside.fetch_sub(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(overlaps.load(), 0);
  const Bytes got = MustGet("c/counter");
  ASSERT_EQ(got.size(), 8u);
  uint64_t n = 0;
  for (int b = 0; b < 8; ++b) n |= uint64_t{got[b]} << (8 * b);
  EXPECT_EQ(n, uint64_t{kThreads} * kIncrements);
}

TEST_P(StoreConformance, WritesOfALockedKeyWaitForItsHolder) {
  if (!store_->capabilities().key_locks) return;
  auto l = store_->lock("w/k");
  ASSERT_TRUE(l.ok()) << l.status();
  std::atomic<bool> done{false};
  std::thread writer([&] {
    EXPECT_TRUE(store_->set("w/k", Filled(4, 2)).ok());
    done = true;
  });
  // Another key is not held up.
  MustSet("w/other", Filled(4, 3));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(done.load()) << "a write went through while another holder had the key's lock";
  WriteConditions held;
  held.held = l->get();
  const Bytes mine = Filled(4, 1);
  const zarrpp::ByteView piece(mine);
  auto w = store_->set_if("w/k", std::span(&piece, 1), held);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(MustGet("w/k"), mine);
  l->reset();
  writer.join();
  EXPECT_TRUE(done.load());
  EXPECT_EQ(MustGet("w/k"), Filled(4, 2));
}

TEST_P(StoreConformance, DescriptionIsNotEmpty) {
  EXPECT_FALSE(store_->description().empty());
  auto caps = store_->capabilities();
  EXPECT_TRUE(caps.readable);
  EXPECT_TRUE(caps.writable);
  EXPECT_TRUE(caps.listable);
}

}  // namespace

#endif  // ZARRPP_STORE_CONFORMANCE_HELPERS_ONLY
