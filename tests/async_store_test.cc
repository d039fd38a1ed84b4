// The completion-based store operations (Store::get_async, set_async, erase_async; the contract in
// include/zarrpp/store.h): the default form on MemoryStore and LocalStore, the native one of
// LatencyStore (a timer thread, no thread per request), CountingStore's forwarding, destruction
// with operations pending, and the fused pipeline keeping hundreds of chunk reads in flight on a
// latency-bound store with a bounded number of threads.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/async_checks.h"
#include "zarrpp/array.h"
#include "zarrpp/json.h"
#include "zarrpp/local_store.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/store_wrappers.h"

namespace zarrpp {
namespace {

using Clock = std::chrono::steady_clock;

using test_support::KeyOf;
using test_support::Latch;
using test_support::ThreadBound;
using test_support::ThreadCount;
using test_support::ThreadSampler;
using test_support::ValueOf;

void RoundTrip(Store& store, size_t n) {
  test_support::AsyncRoundTrip(store, n);
}

TEST(AsyncStore, MemoryStoreDefaultFormRoundTrips) {
  auto mem = MemoryStore::Create();
  EXPECT_FALSE(mem->capabilities().async_io);
  RoundTrip(*mem, 200);
}

TEST(AsyncStore, LocalStoreDefaultFormRoundTrips) {
  const auto root =
      std::filesystem::temp_directory_path() / ("zarrpp_async_local_" + std::to_string(::getpid()));
  std::filesystem::remove_all(root);
  auto local = LocalStore::Create(root.string());
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_FALSE((*local)->capabilities().async_io);
  RoundTrip(**local, 100);
  std::filesystem::remove_all(root);
}

TEST(AsyncStore, LatencyStoreRoundTripsNatively) {
  auto slow = std::make_shared<LatencyStore>(MemoryStore::Create(), std::chrono::milliseconds(2));
  EXPECT_TRUE(slow->capabilities().async_io);
  RoundTrip(*slow, 300);
}

TEST(AsyncStore, CountingStoreForwardsAndCounts) {
  auto counting = std::make_shared<CountingStore>(
      std::make_shared<LatencyStore>(MemoryStore::Create(), std::chrono::milliseconds(1)));
  EXPECT_TRUE(counting->capabilities().async_io);
  RoundTrip(*counting, 50);
  const CountingStore::Counters c = counting->counters();
  EXPECT_EQ(c.set, 50u);
  EXPECT_GE(c.get_into, 52u);  // 52 asynchronous reads, then 50 synchronous checks
  EXPECT_GE(c.erase, 25u);
  EXPECT_GT(c.max_in_flight, 1u);  // the asynchronous operations overlapped
}

// 1,000 reads of a store with 10 ms latency in flight at once: done in a few latencies (not
// 10 s one after another), with at most one thread more than before.
TEST(AsyncStore, LatencyStoreKeepsManyReadsInFlightOnOneThread) {
  auto mem = MemoryStore::Create();
  constexpr size_t kN = 1000;
  for (size_t i = 0; i < kN; ++i) ASSERT_TRUE(mem->set(KeyOf(i), ValueOf(i)).ok());
  auto slow = std::make_shared<LatencyStore>(mem, std::chrono::milliseconds(10));
  const size_t before = ThreadCount();
  std::vector<Bytes> out(kN);
  std::atomic<size_t> ok{0};
  Latch latch(kN);
  const auto start = Clock::now();
  size_t during = 0;
  for (size_t i = 0; i < kN; ++i) {
    slow->get_async(KeyOf(i), ByteRange::Whole(), out[i], [&, i](Result<bool> f) {
      if (f.ok() && *f && out[i] == ValueOf(i)) ok.fetch_add(1);
      latch.Done();
    });
    if (i == kN / 2) during = ThreadCount();
  }
  ASSERT_TRUE(latch.Wait());
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_EQ(ok.load(), kN);
  EXPECT_LT(seconds, 2.0) << "1000 reads of 10 ms each ran one after another";
  EXPECT_LE(during, before + 1) << "threads before " << before << ", during " << during;
}

TEST(AsyncStore, LatencyStoreWaitsAtLeastTheLatency) {
  auto slow = std::make_shared<LatencyStore>(MemoryStore::Create(), std::chrono::milliseconds(20));
  ASSERT_TRUE(slow->set("k", ValueOf(1)).ok());
  Bytes out;
  Latch latch(1);
  const auto start = Clock::now();
  Clock::time_point done_at;
  slow->get_async("k", ByteRange::Whole(), out, [&](Result<bool>) {
    done_at = Clock::now();
    latch.Done();
  });
  ASSERT_TRUE(latch.Wait());
  EXPECT_GE(done_at - start, std::chrono::milliseconds(20));
  EXPECT_EQ(out, ValueOf(1));
}

// Destroying a LatencyStore with operations waiting out their latency completes each with
// IOError ("cancelled") at once.
TEST(AsyncStore, DestroyingALatencyStoreWithPendingOperationsCancelsThem) {
  auto mem = MemoryStore::Create();
  ASSERT_TRUE(mem->set("k", ValueOf(5)).ok());
  constexpr size_t kN = 200;
  std::vector<Bytes> out(kN);
  std::vector<Status> got(2 * kN, Status::OK());
  std::atomic<size_t> calls{0};
  const Bytes value = ValueOf(9);
  const ByteView view(value);
  {
    auto slow = std::make_shared<LatencyStore>(mem, std::chrono::seconds(30));
    for (size_t i = 0; i < kN; ++i) {
      slow->get_async("k", ByteRange::Whole(), out[i], [&, i](Result<bool> f) {
        got[i] = f.status();
        calls.fetch_add(1);
      });
      slow->set_async("w/" + std::to_string(i), std::span<const ByteView>(&view, 1),
                      [&, i](Status s) {
                        got[kN + i] = std::move(s);
                        calls.fetch_add(1);
                      });
    }
    const auto start = Clock::now();
    slow.reset();
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  }
  EXPECT_EQ(calls.load(), 2 * kN);
  for (const Status& s : got) {
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), Status::Code::kIOError) << s;
    EXPECT_NE(s.message().find("cancelled"), std::string::npos) << s;
  }
}

// A CountingStore destroyed while its inner store still runs its operations waits for them.
TEST(AsyncStore, DestroyingACountingStoreWaitsForItsOperations) {
  auto slow = std::make_shared<LatencyStore>(MemoryStore::Create(), std::chrono::milliseconds(50));
  ASSERT_TRUE(slow->set("k", ValueOf(2)).ok());
  std::vector<Bytes> out(20);
  std::atomic<size_t> ok{0};
  {
    auto counting = std::make_shared<CountingStore>(slow);
    for (auto& o : out) {
      counting->get_async("k", ByteRange::Whole(), o, [&, p = &o](Result<bool> f) {
        if (f.ok() && *f && *p == ValueOf(2)) ok.fetch_add(1);
      });
    }
  }
  EXPECT_EQ(ok.load(), out.size());
}

// The fused pipeline on a latency-bound store: 1,024 chunks at 256 in flight are read and written
// with at most 2 x cores + 8 threads in the process, the values right, in a few rounds of the
// latency (not 1,024 / cores of them).
class AsyncPipeline : public ::testing::TestWithParam<bool> {};

TEST_P(AsyncPipeline, ManyChunksInFlightWithBoundedThreads) {
  const bool compressed = GetParam();
  constexpr uint64_t kChunks = 1024, kElems = 512;
  ArrayMetadata m;
  m.shape = {kChunks * kElems};
  m.chunk_shape = {kElems};
  m.data_type = DataType(DataTypeId::kUInt32);
  m.fill_value = FillValue::Zero(m.data_type);
  m.codecs = Json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}});
  if (compressed) m.codecs->push_back({{"name", "zstd"}, {"configuration", {{"level", 1}}}});
  auto mem = MemoryStore::Create();
  auto slow = std::make_shared<LatencyStore>(mem, std::chrono::milliseconds(10));
  ArrayOptions o;
  o.io_concurrency = 256;
  auto a = Array::Create(slow, "a", m, {}, o);
  ASSERT_TRUE(a.ok()) << a.status();
  std::vector<uint32_t> data(kChunks * kElems);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint32_t>(i * 2654435761u);
  // Chunk 5 stays missing: it reads as the fill value.
  for (size_t i = 5 * kElems; i < 6 * kElems; ++i) data[i] = 0;
  const Region all = Region::All(m.shape);
  {
    ThreadSampler threads;
    const auto start = Clock::now();
    ASSERT_TRUE((*a)->Write(all, std::span<const uint32_t>(data)).ok());
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    threads.Stop();
    EXPECT_LE(threads.max(), ThreadBound()) << "threads during the write";
    EXPECT_LT(seconds, 3.0) << "the write did not overlap its 1,024 stores";
  }
  auto keys = mem->list_prefix("a/c/");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), kChunks - 1);  // the empty chunk is not stored
  std::vector<uint32_t> out(data.size(), 7);
  {
    ThreadSampler threads;
    const auto start = Clock::now();
    ASSERT_TRUE((*a)->Read(all, std::span<uint32_t>(out)).ok());
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    threads.Stop();
    EXPECT_LE(threads.max(), ThreadBound()) << "threads during the read";
    EXPECT_LT(seconds, 3.0) << "the read did not overlap its 1,024 fetches";
  }
  EXPECT_TRUE(out == data);
  // A region across chunk boundaries (partial chunks at both ends).
  const Region mid{{kElems / 2}, {3 * kElems}};
  std::vector<uint32_t> part(3 * kElems);
  ASSERT_TRUE((*a)->Read(mid, std::span<uint32_t>(part)).ok());
  EXPECT_TRUE(std::equal(part.begin(), part.end(), data.begin() + kElems / 2));
}

INSTANTIATE_TEST_SUITE_P(Codecs, AsyncPipeline, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Zstd" : "Raw"; });

// A store error of one chunk fails the request with that error, and every operation started
// completes before the call returns.
class FailingReads : public MemoryStore {
 public:
  StoreCapabilities capabilities() const override {
    StoreCapabilities c = MemoryStore::capabilities();
    c.io_concurrency = 64;
    return c;
  }
  Result<bool> get_into(std::string_view key, ByteRange range, Bytes& out) override {
    if (key.ends_with("/17")) return Status::IOError("injected failure of " + std::string(key));
    return MemoryStore::get_into(key, range, out);
  }
};

TEST(AsyncPipelineErrors, AFailedChunkReadFailsTheRequestNamingIt) {
  auto inner = std::make_shared<FailingReads>();
  auto slow = std::make_shared<LatencyStore>(inner, std::chrono::milliseconds(2));
  ArrayMetadata m;
  m.shape = {100 * 64};
  m.chunk_shape = {64};
  m.data_type = DataType(DataTypeId::kUInt8);
  m.fill_value = FillValue::Zero(m.data_type);
  ArrayOptions o;
  o.io_concurrency = 32;
  auto a = Array::Create(slow, "a", m, {}, o);
  ASSERT_TRUE(a.ok()) << a.status();
  std::vector<uint8_t> data(m.shape[0], 3);
  ASSERT_TRUE((*a)->Write(Region::All(m.shape), std::span<const uint8_t>(data)).ok());
  std::vector<uint8_t> out(data.size());
  Status s = (*a)->Read(Region::All(m.shape), std::span<uint8_t>(out));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kIOError) << s;
  EXPECT_NE(s.message().find("a/c/17"), std::string::npos) << s;
}

}  // namespace
}  // namespace zarrpp
