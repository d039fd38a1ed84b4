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
// The factory is called once per test and must return an empty store. The TEST_P bodies live in
// this header (not in the support library) so the linker cannot drop them from a binary.
// Behaviour the suite expects beyond the Store contract is tied to capabilities(): set_range
// tests expect Unsupported when the capability is false, and the torn-read check runs only when
// atomic_set is true.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
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

TEST_P(StoreConformance, GetScatterOfTheWrongSizeIsCorruptionAndWritesNothing) {
  MustSet("a/c/0", Pattern(1000, 7));
  Bytes small(999, 0xEE);
  const std::vector<zarrpp::MutableByteView> pieces = {zarrpp::MutableByteView(small)};
  auto r = store_->get_scatter("a/c/0", pieces);
  ASSERT_TRUE(r.status().IsCorruption()) << r.status();
  EXPECT_NE(r.status().message().find("a/c/0"), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("1000"), std::string::npos) << r.status();
  EXPECT_EQ(small, Bytes(999, 0xEE));
}

TEST_P(StoreConformance, GetWithinPlacesAValueThatFitsAtTheFrontOfThePieces) {
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

TEST_P(StoreConformance, GetWithinOfAValueTooLargeReportsItsSizeAndWritesNothing) {
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

TEST_P(StoreConformance, SuffixReadsTrailingBytesAndLongSuffixGivesWholeValue) {
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

TEST_P(StoreConformance, SetRangePastTheEndIsInvalidArgumentAndChangesNothing) {
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

TEST_P(StoreConformance, ReadersConcurrentWithWholeValueWritersSeeCompleteValues) {
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

TEST_P(StoreConformance, ConcurrentSetRangeOnDisjointRegionsKeepsEveryWrite) {
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

TEST_P(StoreConformance, DescriptionIsNotEmpty) {
  EXPECT_FALSE(store_->description().empty());
  auto caps = store_->capabilities();
  EXPECT_TRUE(caps.readable);
  EXPECT_TRUE(caps.writable);
  EXPECT_TRUE(caps.listable);
}

}  // namespace

#endif  // ZARRPP_STORE_CONFORMANCE_HELPERS_ONLY
