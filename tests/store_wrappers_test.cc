#include "zarrpp/store_wrappers.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <thread>
#include <type_traits>
#include <vector>

#include "support/store_conformance.h"
#include "zarrpp/caching_store.h"
#include "zarrpp/local_store.h"
#include "zarrpp/memory_store.h"

namespace {

using std::chrono::microseconds;
using zarrpp::ByteRange;
using zarrpp::Bytes;
using zarrpp::ByteView;
using zarrpp::CountingStore;
using zarrpp::DirListing;
using zarrpp::ForwardingStore;
using zarrpp::LatencyStore;
using zarrpp::MemoryStore;
using zarrpp::Result;
using zarrpp::Status;
using zarrpp::Store;
using zarrpp::StoreCapabilities;
using zarrpp::testing::Filled;
using zarrpp::testing::StoreCase;

std::shared_ptr<zarrpp::Store> CountingLocal() {
  std::string dir = zarrpp::testing::MakeTempDir("counting");
  auto local = zarrpp::LocalStore::Create(dir);
  EXPECT_TRUE(local.ok()) << local.status();
  if (!local.ok()) return nullptr;
  return zarrpp::testing::RemoveDirOnRelease(std::make_shared<CountingStore>(*local), dir);
}

// A store with no set_range and no atomic set, to check that wrappers forward capabilities
// rather than assume them, and that the default set_range refuses with Unsupported. It overrides
// only what a store must, so the conformance suite also runs the Store defaults (get_scatter,
// get_within, set_gather, get_ranges, exists).
class MinimalStore : public zarrpp::Store {
 public:
  zarrpp::StoreCapabilities capabilities() const override {
    zarrpp::StoreCapabilities caps;
    caps.partial_reads = false;
    return caps;
  }
  zarrpp::Result<bool> get_into(std::string_view key, ByteRange range, Bytes& out) override {
    return inner_->get_into(key, range, out);
  }
  zarrpp::Status set(std::string_view key, zarrpp::ByteView value) override {
    return inner_->set(key, value);
  }
  zarrpp::Status erase(std::string_view key) override { return inner_->erase(key); }
  zarrpp::Status erase_prefix(std::string_view prefix) override {
    return inner_->erase_prefix(prefix);
  }
  zarrpp::Result<std::vector<std::string>> list_prefix(std::string_view prefix) override {
    return inner_->list_prefix(prefix);
  }
  zarrpp::Result<zarrpp::DirListing> list_dir(std::string_view prefix) override {
    return inner_->list_dir(prefix);
  }
  zarrpp::Result<std::optional<uint64_t>> size(std::string_view key) override {
    return inner_->size(key);
  }
  std::string description() const override { return "minimal"; }

 private:
  std::shared_ptr<MemoryStore> inner_ = MemoryStore::Create();
};

INSTANTIATE_TEST_SUITE_P(
    , StoreConformance,
    ::testing::Values(
        StoreCase{
            "LatencyMem",
            [] { return std::make_shared<LatencyStore>(MemoryStore::Create(), microseconds(1)); }},
        StoreCase{"CountMem",
                  [] { return std::make_shared<CountingStore>(MemoryStore::Create()); }},
        StoreCase{"CountFs", CountingLocal},
        StoreCase{"MinimalMem", [] { return std::make_shared<MinimalStore>(); }},
        StoreCase{"ForwardMem",
                  [] { return std::make_shared<ForwardingStore>(MemoryStore::Create()); }},
        StoreCase{"FwdPrimMem",
                  [] {
                    return std::make_shared<ForwardingStore>(MemoryStore::Create(),
                                                             ForwardingStore::Forward::kPrimitives);
                  }},
        StoreCase{"ForwardFs",
                  [] {
                    std::string dir = zarrpp::testing::MakeTempDir("forward");
                    auto local = zarrpp::LocalStore::Create(dir);
                    EXPECT_TRUE(local.ok()) << local.status();
                    return zarrpp::testing::RemoveDirOnRelease(
                        std::make_shared<ForwardingStore>(*local), dir);
                  }}),
    zarrpp::testing::StoreCaseName);

// One rule for making stores (zarrpp/store.h): a static factory per class, Result when creation
// can fail, a plain shared_ptr (and a public constructor) when it cannot.
TEST(StoreFactories, EveryStoreHasOneFactoryPattern) {
  static_assert(std::is_same_v<decltype(zarrpp::MemoryStore::Create()),
                               std::shared_ptr<zarrpp::MemoryStore>>);
  static_assert(std::is_default_constructible_v<zarrpp::MemoryStore>);
  static_assert(std::is_same_v<decltype(zarrpp::CountingStore::Create(nullptr)),
                               std::shared_ptr<zarrpp::CountingStore>>);
  static_assert(
      std::is_same_v<decltype(zarrpp::LatencyStore::Create(nullptr, std::chrono::microseconds(0))),
                     std::shared_ptr<zarrpp::LatencyStore>>);
  static_assert(std::is_same_v<decltype(zarrpp::LocalStore::Open("")),
                               zarrpp::Result<std::shared_ptr<zarrpp::LocalStore>>>);
  static_assert(std::is_same_v<decltype(zarrpp::LocalStore::Create("")),
                               zarrpp::Result<std::shared_ptr<zarrpp::LocalStore>>>);
  static_assert(!std::is_constructible_v<zarrpp::LocalStore, std::string>);

  auto made = std::make_shared<zarrpp::MemoryStore>();
  ASSERT_TRUE(made->set("k", zarrpp::AsBytes("v")).ok());
  auto counting = zarrpp::CountingStore::Create(made);
  auto latency = zarrpp::LatencyStore::Create(counting, std::chrono::microseconds(0));
  auto got = latency->get("k");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, zarrpp::Bytes(zarrpp::AsBytes("v").begin(), zarrpp::AsBytes("v").end()));
  EXPECT_EQ(counting->counters().get_into, 1u);
}

TEST(StoreWrappers, CapabilitiesAreForwarded) {
  auto minimal = std::make_shared<MinimalStore>();
  for (const std::shared_ptr<zarrpp::Store>& w :
       {std::shared_ptr<zarrpp::Store>(std::make_shared<LatencyStore>(minimal, microseconds(0))),
        std::shared_ptr<zarrpp::Store>(std::make_shared<CountingStore>(minimal))}) {
    EXPECT_FALSE(w->capabilities().set_range);
    EXPECT_FALSE(w->capabilities().atomic_set);
    EXPECT_FALSE(w->capabilities().partial_reads);
  }
  auto mem = std::make_shared<CountingStore>(MemoryStore::Create());
  EXPECT_TRUE(mem->capabilities().set_range);
  EXPECT_TRUE(mem->capabilities().atomic_set);
  EXPECT_EQ(mem->capabilities().io_concurrency, 0u);
  // Reads in place would bypass a wrapper (its counts, its latency, its cache): no wrapper offers
  // them, though the inner store does.
  ASSERT_TRUE(MemoryStore::Create()->capabilities().memory_readers);
  for (const std::shared_ptr<zarrpp::Store>& w :
       {std::shared_ptr<zarrpp::Store>(mem),
        std::shared_ptr<zarrpp::Store>(
            std::make_shared<LatencyStore>(MemoryStore::Create(), microseconds(0))),
        std::shared_ptr<zarrpp::Store>(std::make_shared<ForwardingStore>(MemoryStore::Create())),
        std::shared_ptr<zarrpp::Store>(std::make_shared<zarrpp::CachingStore>(
            MemoryStore::Create(), zarrpp::ChunkCacheOptions{}))}) {
    EXPECT_FALSE(w->capabilities().memory_readers) << w->description();
  }
}

// Counts the set() and get_into() calls that reach it.
class SetCountingStore : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  zarrpp::Status set(std::string_view key, ByteView value) override {
    ++sets;
    return ForwardingStore::set(key, value);
  }
  Result<bool> get_into(std::string_view key, ByteRange range, Bytes& out) override {
    ++gets;
    return ForwardingStore::get_into(key, range, out);
  }
  std::atomic<int> sets{0}, gets{0};
};

// Forward::kPrimitives: every write and read, whatever the call, goes through this object's set()
// and get_into(); what those defaults cannot offer is not claimed.
TEST(ForwardingStore, PrimitivesRouteEveryWriteAndReadThroughTheOverrides) {
  auto mem = MemoryStore::Create();
  SetCountingStore s(mem, ForwardingStore::Forward::kPrimitives);
  const Bytes v = Filled(10, 7);
  const std::vector<ByteView> pieces = {ByteView(v).first(4), ByteView(v).subspan(4)};
  ASSERT_TRUE(s.set("a", v).ok());
  ASSERT_TRUE(s.set_gather("b", pieces).ok());
  ASSERT_TRUE(s.set_if("c", pieces, {}).ok());
  Status async = Status::IOError("not called");
  s.set_async("d", pieces, [&](Status st) { async = st; });
  ASSERT_TRUE(async.ok()) << async;
  EXPECT_EQ(s.sets.load(), 4);
  Bytes out(10);
  const std::vector<zarrpp::MutableByteView> into = {zarrpp::MutableByteView(out)};
  ASSERT_TRUE(s.get_within("b", into).ok());
  ASSERT_TRUE(s.get_scatter("c", into).ok());
  EXPECT_EQ(out, v);
  EXPECT_GE(s.gets.load(), 2);
  const StoreCapabilities c = s.capabilities();
  EXPECT_FALSE(c.generations || c.conditional_writes || c.key_locks || c.set_range || c.async_io);
  EXPECT_TRUE(c.partial_reads);
  EXPECT_EQ(s.description(), mem->description());
}

// Forward::kEverything: the inner store's own operations are used (its conditions, generations,
// readers), and its capabilities are reported unchanged.
TEST(ForwardingStore, EverythingReachesTheInnerStoresOwnOperations) {
  auto counting = std::make_shared<CountingStore>(MemoryStore::Create());
  SetCountingStore s(counting);
  const Bytes v = Filled(10, 3);
  const std::vector<ByteView> pieces = {ByteView(v)};
  zarrpp::WriteConditions absent;
  absent.if_equal = zarrpp::Generation::Absent();
  auto written = s.set_if("k", pieces, absent);
  ASSERT_TRUE(written.ok()) << written.status();
  ASSERT_TRUE(written->has_value());
  auto again = s.set_if("k", pieces, absent);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->has_value());  // the inner store's condition held it back
  auto gen = s.generation("k");
  ASSERT_TRUE(gen.ok());
  EXPECT_EQ(*gen, **written);
  auto reader = s.open_reader("k");
  ASSERT_TRUE(reader.ok() && *reader);
  Bytes part;
  ASSERT_TRUE((*reader)->read(ByteRange::Bounded(2, 5), part).ok());
  EXPECT_EQ(part, Filled(3, 3));
  EXPECT_EQ(s.sets.load(), 0);
  EXPECT_EQ(s.gets.load(), 0);
  const CountingStore::Counters n = counting->counters();
  EXPECT_EQ(n.set_if, 2u);
  EXPECT_EQ(n.generation, 1u);
  EXPECT_EQ(n.open_reader, 1u);
  EXPECT_TRUE(s.capabilities().generations);
  EXPECT_TRUE(s.capabilities().conditional_writes);
}

TEST(StoreWrappers, LatencyStoreAsksForIoConcurrencyOnlyWithLatency) {
  auto mem = MemoryStore::Create();
  EXPECT_EQ(LatencyStore(mem, microseconds(0)).capabilities().io_concurrency, 0u);
  EXPECT_EQ(LatencyStore(mem, microseconds(1000)).capabilities().io_concurrency,
            LatencyStore::kLatencyIoConcurrency);
}

TEST(StoreWrappers, DefaultSetRangeIsUnsupportedNamingKeyAndStore) {
  CountingStore counting(std::make_shared<MinimalStore>());
  ASSERT_TRUE(counting.set("k", Filled(4, 1)).ok());
  zarrpp::Status s = counting.set_range("k", 1, Filled(1, 2));
  EXPECT_TRUE(s.IsUnsupported()) << s;
  EXPECT_NE(s.message().find("'k'"), std::string::npos) << s;
  EXPECT_NE(s.message().find("minimal"), std::string::npos) << s;
  EXPECT_EQ(counting.counters().set_range, 1u);
  EXPECT_EQ(counting.counters().bytes_written, 4u);  // the failed set_range moved no bytes
}

TEST(StoreWrappers, CountingStoreCountsVersionsConditionsReadersAndLocks) {
  CountingStore store(MemoryStore::Create());
  const zarrpp::Bytes v = Filled(10, 3);
  const zarrpp::ByteView piece(v);
  zarrpp::WriteConditions absent;
  absent.if_equal = zarrpp::Generation::Absent();
  ASSERT_TRUE(store.set_if("k", std::span(&piece, 1), absent)->has_value());
  ASSERT_FALSE(store.set_if("k", std::span(&piece, 1), absent)->has_value());  // wrote nothing
  zarrpp::Bytes out;
  ASSERT_TRUE(store.get_if("k", ByteRange::Bounded(0, 4), out)->found);
  const zarrpp::Generation g = *store.generation("k");
  auto reader = std::move(*store.open_reader("k"));
  ASSERT_TRUE(*reader->read(ByteRange::Bounded(2, 8), out));
  const zarrpp::RangeWrite writes[] = {{0, piece.subspan(0, 2)}};
  ASSERT_TRUE(store.patch_if("k", writes, {})->has_value());
  {
    auto lock = std::move(*store.lock("k"));
    zarrpp::WriteConditions held;
    held.held = lock.get();
    held.if_equal = g;  // stale since the patch
    ASSERT_FALSE(*store.erase_if("k", held));
  }
  CountingStore::Counters expected;
  expected.set_if = 2;
  expected.get_if = 1;
  expected.generation = 1;
  expected.open_reader = 1;
  expected.reader_read = 1;
  expected.patch_if = 1;
  expected.lock = 1;
  expected.erase_if = 1;
  expected.bytes_read = 4 + 6;
  expected.bytes_written = 10 + 2;
  expected.max_in_flight = 1;
  EXPECT_EQ(store.counters(), expected);
}

TEST(StoreWrappers, DescriptionsNameTheInnerStore) {
  EXPECT_EQ(LatencyStore(MemoryStore::Create(), microseconds(250)).description(),
            "latency(250us, memory)");
  EXPECT_EQ(CountingStore(MemoryStore::Create()).description(), "counting(memory)");
}

template <typename F>
microseconds TimeOf(F&& f) {
  auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration_cast<microseconds>(std::chrono::steady_clock::now() - start);
}

TEST(LatencyStore, EveryOperationTakesAtLeastTheLatency) {
  const microseconds latency(3000);
  auto inner = MemoryStore::Create();
  ASSERT_TRUE(inner->set("a/k", Filled(10, 1)).ok());
  LatencyStore store(inner, latency);
  std::vector<std::pair<const char*, std::function<void()>>> ops = {
      {"get", [&] { EXPECT_TRUE(store.get("a/k").ok()); }},
      {"get_ranges",
       [&] {
         EXPECT_TRUE(store.get_ranges({{"a/k", ByteRange::Whole()}}).ok());
       }},
      {"set", [&] { EXPECT_TRUE(store.set("a/j", Filled(3, 2)).ok()); }},
      {"set_range", [&] { EXPECT_TRUE(store.set_range("a/k", 0, Filled(1, 3)).ok()); }},
      {"erase", [&] { EXPECT_TRUE(store.erase("a/j").ok()); }},
      {"erase_prefix", [&] { EXPECT_TRUE(store.erase_prefix("zz/").ok()); }},
      {"list", [&] { EXPECT_TRUE(store.list().ok()); }},
      {"list_prefix", [&] { EXPECT_TRUE(store.list_prefix("a/").ok()); }},
      {"list_dir", [&] { EXPECT_TRUE(store.list_dir("").ok()); }},
      {"exists", [&] { EXPECT_TRUE(*store.exists("a/k")); }},
      {"size", [&] { EXPECT_EQ(*store.size("a/k"), std::optional<uint64_t>(10)); }},
  };
  for (auto& [name, op] : ops) EXPECT_GE(TimeOf(op), latency) << name;
  // Latency is per operation, so n sequential operations take at least n times as long.
  EXPECT_GE(TimeOf([&] {
              for (int i = 0; i < 5; ++i) ASSERT_TRUE(store.get("a/k").ok());
            }),
            5 * latency);
  EXPECT_EQ(**store.get("a/k"), (Bytes{3, 1, 1, 1, 1, 1, 1, 1, 1, 1}));
}

TEST(LatencyStore, ConcurrentOperationsOverlapTheirLatency) {
  const microseconds latency(20000);
  LatencyStore store(MemoryStore::Create(), latency);
  std::vector<std::thread> threads;
  auto elapsed = TimeOf([&] {
    for (int t = 0; t < 4; ++t) threads.emplace_back([&] { (void)store.get("k"); });
    for (auto& th : threads) th.join();
  });
  EXPECT_GE(elapsed, latency);
  EXPECT_LT(elapsed, 4 * latency);  // the sleep is not under a lock
}

TEST(CountingStore, CountsEveryOperationAndByteExactly) {
  CountingStore store(MemoryStore::Create());
  ASSERT_TRUE(store.set("a/x", Filled(100, 1)).ok());
  ASSERT_TRUE(store.set("a/y", Filled(7, 2)).ok());
  ASSERT_TRUE(store.set_range("a/x", 10, Filled(5, 3)).ok());
  EXPECT_TRUE(store.set_range("missing", 0, Filled(5, 3)).IsFailedPrecondition());
  ASSERT_TRUE(store.get("a/x", ByteRange::Bounded(0, 30))->has_value());  // 30 bytes
  ASSERT_FALSE(store.get("a/missing")->has_value());                      // 0 bytes
  ASSERT_TRUE(store.get("a/x", ByteRange::Bounded(0, 500)).status().IsInvalidArgument());
  auto ranges = store.get_ranges({{"a/x", ByteRange::Suffix(8)},
                                  {"a/y", ByteRange::Whole()},
                                  {"nope", ByteRange::Whole()}});  // 8 + 7 bytes
  ASSERT_TRUE(ranges.ok());
  ASSERT_TRUE(*store.exists("a/y"));
  ASSERT_EQ(*store.size("a/y"), std::optional<uint64_t>(7));
  ASSERT_EQ(store.list()->size(), 2u);
  ASSERT_EQ(store.list_prefix("a/")->size(), 2u);
  ASSERT_EQ(store.list_dir("")->prefixes.size(), 1u);
  ASSERT_TRUE(store.erase("a/y").ok());
  ASSERT_TRUE(store.erase_prefix("a/").ok());

  CountingStore::Counters expected;
  expected.set = 2;
  expected.set_range = 2;
  expected.get_into = 3;
  expected.get_ranges = 1;
  expected.ranges_requested = 3;
  expected.exists = 1;
  expected.size = 1;
  expected.list = 1;
  expected.list_prefix = 1;
  expected.list_dir = 1;
  expected.erase = 1;
  expected.erase_prefix = 1;
  expected.bytes_read = 30 + 8 + 7;
  expected.bytes_written = 100 + 7 + 5;
  expected.max_in_flight = 1;  // one thread: one operation at a time
  EXPECT_EQ(store.counters(), expected);

  store.reset();
  EXPECT_EQ(store.counters(), CountingStore::Counters{});
  EXPECT_TRUE(store.list()->empty());
  EXPECT_EQ(store.counters().list, 1u);
}

// Lets get_into() return only once `n` calls are inside it at the same time.
class RendezvousStore : public ForwardingStore {
 public:
  explicit RendezvousStore(std::ptrdiff_t n) : ForwardingStore(MemoryStore::Create()), all_in_(n) {}
  Result<bool> get_into(std::string_view key, ByteRange range, Bytes& out) override {
    all_in_.arrive_and_wait();
    return inner_->get_into(key, range, out);
  }
  std::string description() const override { return "rendezvous"; }

 private:
  std::latch all_in_;
};

TEST(CountingStore, MeasuresOperationsInFlight) {
  constexpr int kThreads = 5;
  CountingStore store(std::make_shared<RendezvousStore>(kThreads));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] { EXPECT_FALSE(*store.get("k")); });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(store.counters().max_in_flight, static_cast<uint64_t>(kThreads));
  EXPECT_EQ(store.counters().get_into, static_cast<uint64_t>(kThreads));
  store.reset();
  EXPECT_EQ(store.counters().max_in_flight, 0u);
  ASSERT_TRUE(store.set("k", zarrpp::AsBytes("v")).ok());  // no rendezvous on set
  EXPECT_EQ(store.counters().max_in_flight, 1u);
}

TEST(CountingStore, CountsExactlyUnderConcurrency) {
  CountingStore store(MemoryStore::Create());
  constexpr int kThreads = 8, kOps = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string key = "k";
      key += std::to_string(t);
      for (int i = 0; i < kOps; ++i) {
        EXPECT_TRUE(store.set(key, Filled(3, 1)).ok());
        EXPECT_TRUE(store.get(key, ByteRange::Suffix(2)).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  auto c = store.counters();
  EXPECT_EQ(c.set, uint64_t{kThreads * kOps});
  EXPECT_EQ(c.get_into, uint64_t{kThreads * kOps});
  EXPECT_EQ(c.bytes_written, uint64_t{3 * kThreads * kOps});
  EXPECT_EQ(c.bytes_read, uint64_t{2 * kThreads * kOps});
}

}  // namespace
