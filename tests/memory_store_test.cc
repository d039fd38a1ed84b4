#include "zarrpp/memory_store.h"

#include <gtest/gtest.h>

#include "support/store_conformance.h"

namespace {

using zarrpp::ByteRange;
using zarrpp::MemoryStore;
using zarrpp::testing::StoreCase;

INSTANTIATE_TEST_SUITE_P(, StoreConformance,
                         ::testing::Values(StoreCase{"Memory",
                                                     [] { return MemoryStore::Create(); }}),
                         zarrpp::testing::StoreCaseName);

TEST(MemoryStore, CapabilitiesAreAllTrue) {
  auto caps = MemoryStore::Create()->capabilities();
  EXPECT_TRUE(caps.partial_reads);
  EXPECT_TRUE(caps.set_range);
  EXPECT_TRUE(caps.atomic_set);
  EXPECT_TRUE(caps.erasable);
  EXPECT_TRUE(caps.generations);
  EXPECT_TRUE(caps.conditional_writes);
  EXPECT_TRUE(caps.key_locks);
  EXPECT_TRUE(caps.memory_readers);
  EXPECT_EQ(MemoryStore::Create()->description(), "memory");
}

TEST(MemoryStore, StoresAreIndependent) {
  auto a = MemoryStore::Create();
  auto b = MemoryStore::Create();
  ASSERT_TRUE(a->set("k", zarrpp::AsBytes("x")).ok());
  EXPECT_FALSE(b->get("k")->has_value());
}

TEST(MemoryStore, AReaderKeepsItsSnapshotThroughPatchesAndErase) {
  auto store = MemoryStore::Create();
  const zarrpp::Bytes v = zarrpp::testing::Pattern(100, 1);
  ASSERT_TRUE(store->set("k", v).ok());
  auto reader = std::move(*store->open_reader("k"));
  ASSERT_NE(reader, nullptr);
  const zarrpp::Bytes patch(10, 0xff);
  const zarrpp::RangeWrite writes[] = {{0, patch}, {50, patch}};
  ASSERT_TRUE(store->patch_if("k", writes, {})->has_value());
  ASSERT_TRUE(store->erase("k").ok());
  zarrpp::Bytes out;
  ASSERT_TRUE(*reader->read(ByteRange::Whole(), out));
  EXPECT_EQ(out, v);
}

// A reader exposes its version in place: the same bytes at the same address whatever is written
// to the key while the reader lives (patches, ranges, a new value, an erase), and later readers
// see the new value.
TEST(MemoryStore, AReaderExposesItsVersionInPlaceThroughWrites) {
  auto store = MemoryStore::Create();
  const zarrpp::Bytes v = zarrpp::testing::Pattern(100, 1);
  ASSERT_TRUE(store->set("k", v).ok());
  auto reader = std::move(*store->open_reader("k"));
  ASSERT_NE(reader, nullptr);
  const std::optional<zarrpp::ByteView> view = reader->memory();
  ASSERT_TRUE(view.has_value());
  const uint8_t* at = view->data();
  ASSERT_EQ(zarrpp::Bytes(view->begin(), view->end()), v);
  const zarrpp::Bytes patch(10, 0xff);
  ASSERT_TRUE(store->set_range("k", 20, patch).ok());
  const zarrpp::RangeWrite writes[] = {{0, patch}};
  ASSERT_TRUE(store->patch_if("k", writes, {})->has_value());
  ASSERT_TRUE(store->set("k", zarrpp::testing::Pattern(100, 2)).ok());
  EXPECT_EQ(reader->memory()->data(), at);
  EXPECT_EQ(zarrpp::Bytes(view->begin(), view->end()), v);
  auto later = std::move(*store->open_reader("k"));
  ASSERT_NE(later, nullptr);
  const zarrpp::ByteView now = *later->memory();
  EXPECT_EQ(zarrpp::Bytes(now.begin(), now.end()), zarrpp::testing::Pattern(100, 2));
  ASSERT_TRUE(store->erase("k").ok());
  EXPECT_EQ(zarrpp::Bytes(view->begin(), view->end()), v);
}

TEST(MemoryStore, GenerationsAreNeverReusedAfterEraseAndRecreate) {
  auto store = MemoryStore::Create();
  ASSERT_TRUE(store->set("k", zarrpp::AsBytes("x")).ok());
  const zarrpp::Generation first = *store->generation("k");
  ASSERT_TRUE(store->erase("k").ok());
  ASSERT_TRUE(store->set("k", zarrpp::AsBytes("x")).ok());
  EXPECT_FALSE(*store->generation("k") == first);
}

TEST(MemoryStore, AHeldLockMustBeOfTheKeyAndFromThisStore) {
  auto store = MemoryStore::Create();
  auto other = MemoryStore::Create();
  auto lock = std::move(*store->lock("a"));
  auto foreign = std::move(*other->lock("b"));
  const zarrpp::Bytes v(1, 1);
  const zarrpp::ByteView piece(v);
  zarrpp::WriteConditions wrong_key;
  wrong_key.held = lock.get();
  EXPECT_TRUE(store->set_if("b", std::span(&piece, 1), wrong_key).status().IsInvalidArgument());
  zarrpp::WriteConditions wrong_store;
  wrong_store.held = foreign.get();
  EXPECT_TRUE(store->erase_if("b", wrong_store).status().IsInvalidArgument());
  EXPECT_EQ(lock->key(), "a");
  // A lock of one key never holds up another key.
  EXPECT_TRUE(store->set("b", v).ok());
}

// ValidateKey, ValidatePrefix and ByteRange are shared by every store; they are pinned down here
// directly, next to the simplest store.
TEST(ValidateKey, AcceptsOrdinaryKeys) {
  for (const char* k : {"zarr.json", "a/b/c", "c/0/0", ".zattrs", "a.b", "..a", "a..", "x/.y"}) {
    EXPECT_TRUE(zarrpp::ValidateKey(k).ok()) << k;
  }
}

TEST(ValidateKey, RefusesKeysThatCouldLeaveTheRootOrAreMalformed) {
  using namespace std::string_literals;
  for (const std::string& k :
       {""s, "/"s, "/a"s, "a/"s, "a//b"s, "."s, ".."s, "../x"s, "a/../b"s, "a/./b"s, "a/.."s,
        "a\\b"s, "..\\x"s, "a\0b"s, ".zarrpp-tmp-x"s, "a/.zarrpp-tmp-1/b"s}) {
    zarrpp::Status s = zarrpp::ValidateKey(k);
    EXPECT_TRUE(s.IsInvalidArgument()) << "'" << k << "' -> " << s;
  }
}

TEST(ValidateKey, MessageNamesTheKeyAndEscapesNul) {
  using namespace std::string_literals;
  EXPECT_NE(zarrpp::ValidateKey("a/../b").message().find("'a/../b'"), std::string::npos);
  EXPECT_NE(zarrpp::ValidateKey("a\0b"s).message().find("'a\\x00b'"), std::string::npos)
      << zarrpp::ValidateKey("a\0b"s);
}

TEST(ValidatePrefix, AcceptsEmptyAndSlashTerminatedKeys) {
  EXPECT_TRUE(zarrpp::ValidatePrefix("").ok());
  EXPECT_TRUE(zarrpp::ValidatePrefix("a/").ok());
  EXPECT_TRUE(zarrpp::ValidatePrefix("a/b/").ok());
  for (const char* p : {"a", "/", "/a/", "a//", "../", "a/./", ".zarrpp-tmp-q/"}) {
    EXPECT_TRUE(zarrpp::ValidatePrefix(p).IsInvalidArgument()) << p;
  }
}

TEST(ByteRange, ResolvesEveryKindAgainstASize) {
  using Span = std::pair<uint64_t, uint64_t>;
  EXPECT_EQ(*ByteRange::Whole().Resolve(10, "k"), Span(0, 10));
  EXPECT_EQ(*ByteRange::Bounded(2, 7).Resolve(10, "k"), Span(2, 7));
  EXPECT_EQ(*ByteRange::Bounded(10, 10).Resolve(10, "k"), Span(10, 10));
  EXPECT_EQ(*ByteRange::FromOffset(4).Resolve(10, "k"), Span(4, 10));
  EXPECT_EQ(*ByteRange::FromOffset(10).Resolve(10, "k"), Span(10, 10));
  EXPECT_EQ(*ByteRange::Suffix(3).Resolve(10, "k"), Span(7, 10));
  EXPECT_EQ(*ByteRange::Suffix(30).Resolve(10, "k"), Span(0, 10));
  EXPECT_EQ(*ByteRange::Suffix(0).Resolve(0, "k"), Span(0, 0));
}

TEST(ByteRange, OutOfBoundsNamesRangeKeyAndSize) {
  auto r = ByteRange::Bounded(5, 11).Resolve(10, "arr/c/0");
  ASSERT_TRUE(r.status().IsInvalidArgument());
  EXPECT_NE(r.status().message().find("[5, 11)"), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("'arr/c/0'"), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("10"), std::string::npos) << r.status();
  auto reversed = ByteRange::Bounded(6, 5).Resolve(10, "k");
  ASSERT_TRUE(reversed.status().IsInvalidArgument());
  EXPECT_NE(reversed.status().message().find("before start 6"), std::string::npos)
      << reversed.status();
  EXPECT_TRUE(ByteRange::FromOffset(11).Resolve(10, "k").status().IsInvalidArgument());
}

TEST(ByteRange, ToStringShowsKind) {
  EXPECT_EQ(ByteRange::Whole().ToString(), "[whole value]");
  EXPECT_EQ(ByteRange::Bounded(1, 4).ToString(), "[1, 4)");
  EXPECT_EQ(ByteRange::FromOffset(9).ToString(), "[9, end)");
  EXPECT_EQ(ByteRange::Suffix(16).ToString(), "[last 16 bytes]");
}

}  // namespace
