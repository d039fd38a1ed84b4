// Array::ReadAsync / WriteAsync / AppendAsync and zarrpp::Future: values that encode their
// position (and version), ordering of the per-handle queue, errors through the Future,
// cancellation, callbacks, and destroying Futures and Arrays with work pending.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "support/async_arrays.h"
#include "support/worker_block.h"
#include "zarrpp/array.h"
#include "zarrpp/future.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/store_wrappers.h"

namespace zarrpp {
namespace {

using test_support::FirstCheckGate;
using test_support::MakeAsyncTestArray;
using test_support::WorkerBlock;

// The value of the element at C-order index `pos` of the array, written by `version`.
uint32_t Value(uint32_t version, uint64_t pos) {
  return version * 1'000'000u + static_cast<uint32_t>(pos);
}

// The values of `region` of a 2-d array with `cols` columns, all written by `version`.
std::vector<uint32_t> RegionValues(const Region& region, uint64_t cols, uint32_t version) {
  std::vector<uint32_t> v;
  v.reserve(region.num_elements());
  for (uint64_t r = 0; r < region.shape[0]; ++r) {
    for (uint64_t c = 0; c < region.shape[1]; ++c) {
      v.push_back(Value(version, (region.origin[0] + r) * cols + region.origin[1] + c));
    }
  }
  return v;
}

std::vector<uint32_t> ReadAll(Array& a) {
  std::vector<uint32_t> out(Region::All(a.shape()).num_elements());
  const Status s = a.Read(Region::All(a.shape()), std::span<uint32_t>(out));
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

TEST(ArrayAsync, ManyWritesInFlightThenWaitAll) {
  auto store = MemoryStore::Create();
  auto a = MakeAsyncTestArray(store, {64, 48}, {8, 16});
  ASSERT_NE(a, nullptr);
  std::vector<std::vector<uint32_t>> buffers;
  std::vector<Region> regions;
  for (uint64_t r = 0; r < 64; r += 4) {
    for (uint64_t c = 0; c < 48; c += 24) {
      regions.push_back(Region{{r, c}, {4, 24}});
      buffers.push_back(RegionValues(regions.back(), 48, 1));
    }
  }
  std::vector<Future<Status>> pending;
  for (size_t i = 0; i < regions.size(); ++i) {
    pending.push_back(a->WriteAsync(regions[i], std::span<const uint32_t>(buffers[i])));
  }
  for (auto& f : pending) ASSERT_TRUE(f.wait().ok()) << f.wait();
  for (auto& f : pending) EXPECT_TRUE(f.ready());
  EXPECT_EQ(ReadAll(*a), RegionValues(Region::All(a->shape()), 48, 1));
}

TEST(ArrayAsync, OverlappingWritesApplyInCallOrder) {
  auto store = MemoryStore::Create();
  auto a = MakeAsyncTestArray(store, {40, 12}, {4, 5});
  ASSERT_NE(a, nullptr);
  // Write k (version k + 1) covers rows [k, k + 10): a row's last writer is the largest k covering
  // it. Partial chunks make each write a read-modify-write of what the previous one stored.
  constexpr uint32_t kWrites = 30;
  std::vector<std::vector<uint32_t>> buffers(kWrites);
  std::vector<Future<Status>> pending;
  for (uint32_t k = 0; k < kWrites; ++k) {
    const Region region{{k, 1}, {10, 10}};
    buffers[k] = RegionValues(region, 12, k + 1);
    pending.push_back(a->WriteAsync(region, std::span<const uint32_t>(buffers[k])));
  }
  // A read queued behind the writes sees all of them.
  std::vector<uint32_t> seen(40 * 12);
  Future<Status> read = a->ReadAsync(Region::All(a->shape()), std::span<uint32_t>(seen));
  ASSERT_TRUE(read.wait().ok()) << read.wait();
  for (auto& f : pending) EXPECT_TRUE(f.ready() && f.wait().ok()) << f.wait();
  for (uint64_t r = 0; r < 40; ++r) {
    for (uint64_t c = 0; c < 12; ++c) {
      uint32_t expect = 0;
      if (c >= 1 && c < 11 && r < kWrites + 9) {
        const uint32_t last = static_cast<uint32_t>(std::min<uint64_t>(r, kWrites - 1));
        expect = Value(last + 1, r * 12 + c);
      }
      ASSERT_EQ(seen[r * 12 + c], expect) << "row " << r << " col " << c;
    }
  }
  EXPECT_EQ(ReadAll(*a), seen);
}

TEST(ArrayAsync, AppendSequenceGivesShapeAndData) {
  auto store = MemoryStore::Create();
  auto a = MakeAsyncTestArray(store, {0, 6}, {3, 4});
  ASSERT_NE(a, nullptr);
  // Appends of 1, 2, 3, 1, 2, 3, ... rows; row t holds Value(1, t * 6 + c).
  std::vector<std::vector<uint32_t>> buffers;
  std::vector<Future<Status>> pending;
  uint64_t rows = 0;
  for (int i = 0; i < 12; ++i) {
    const uint64_t n = 1 + i % 3;
    buffers.push_back(RegionValues(Region{{rows, 0}, {n, 6}}, 6, 1));
    pending.push_back(a->AppendAsync(std::span<const uint32_t>(buffers.back()), {n, 6}, 0));
    rows += n;
  }
  for (auto& f : pending) ASSERT_TRUE(f.wait().ok()) << f.wait();
  EXPECT_EQ(a->shape(), (std::vector<uint64_t>{rows, 6}));
  EXPECT_EQ(ReadAll(*a), RegionValues(Region{{0, 0}, {rows, 6}}, 6, 1));
  auto reopened = Array::Open(store, "a");
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->shape(), (std::vector<uint64_t>{rows, 6}));
  EXPECT_EQ(ReadAll(**reopened), RegionValues(Region{{0, 0}, {rows, 6}}, 6, 1));
}

TEST(ArrayAsync, WriteQueuedAfterAppendSeesTheNewShape) {
  auto store = MemoryStore::Create();
  auto a = MakeAsyncTestArray(store, {2, 3}, {2, 3});
  ASSERT_NE(a, nullptr);
  const std::vector<uint32_t> more = RegionValues(Region{{2, 0}, {2, 3}}, 3, 1);
  const std::vector<uint32_t> fix = RegionValues(Region{{3, 0}, {1, 3}}, 3, 2);
  Future<Status> append = a->AppendAsync(std::span<const uint32_t>(more), {2, 3}, 0);
  // Row 3 exists only once the append has run: the write is checked when it runs, in order.
  Future<Status> write = a->WriteAsync(Region{{3, 0}, {1, 3}}, std::span<const uint32_t>(fix));
  ASSERT_TRUE(append.wait().ok()) << append.wait();
  ASSERT_TRUE(write.wait().ok()) << write.wait();
  std::vector<uint32_t> expect(6, 0);
  expect.insert(expect.end(), more.begin(), more.begin() + 3);
  expect.insert(expect.end(), fix.begin(), fix.end());
  EXPECT_EQ(ReadAll(*a), expect);
}

TEST(ArrayAsync, ErrorsComeBackThroughTheFuture) {
  auto store = MemoryStore::Create();
  auto a = MakeAsyncTestArray(store, {10, 10}, {5, 5});
  ASSERT_NE(a, nullptr);
  std::vector<uint32_t> buf(100, 7);
  Future<Status> out_of_bounds =
      a->WriteAsync(Region{{5, 5}, {6, 5}}, std::span<const uint32_t>(buf.data(), 30));
  Future<Status> wrong_size = a->WriteAsync(Region{{0, 0}, {5, 5}}, std::span<const uint32_t>(buf));
  Future<Status> read_wrong_size =
      a->ReadAsync(Region{{0, 0}, {2, 2}}, std::span<uint32_t>(buf.data(), 3));
  Future<Status> bad_append = a->AppendAsync(std::span<const uint32_t>(buf.data(), 9), {1, 9}, 0);
  Future<Status> bad_axis = a->AppendAsync(std::span<const uint32_t>(buf.data(), 10), {1, 10}, 2);
  std::vector<float> floats(4);
  Future<Status> wrong_type = a->WriteAsync(Region{{0, 0}, {2, 2}}, std::span<const float>(floats));
  EXPECT_TRUE(wrong_type.ready());  // the type is checked before queueing
  // The queue goes on after errors.
  Future<Status> good = a->WriteAsync(Region{{0, 0}, {10, 10}}, std::span<const uint32_t>(buf));

  EXPECT_TRUE(out_of_bounds.wait().IsInvalidArgument()) << out_of_bounds.wait();
  EXPECT_TRUE(wrong_size.wait().IsInvalidArgument()) << wrong_size.wait();
  EXPECT_TRUE(read_wrong_size.wait().IsInvalidArgument()) << read_wrong_size.wait();
  EXPECT_TRUE(bad_append.wait().IsInvalidArgument()) << bad_append.wait();
  EXPECT_TRUE(bad_axis.wait().IsInvalidArgument()) << bad_axis.wait();
  EXPECT_TRUE(wrong_type.wait().IsInvalidArgument()) << wrong_type.wait();
  ASSERT_TRUE(good.wait().ok()) << good.wait();
  EXPECT_EQ(a->shape(), (std::vector<uint64_t>{10, 10}));
  EXPECT_EQ(ReadAll(*a), std::vector<uint32_t>(100, 7));
}

TEST(ArrayAsync, CancelDropsAQueuedRequest) {
  auto store = MemoryStore::Create();
  auto a = MakeAsyncTestArray(store, {4, 4}, {2, 2});
  ASSERT_NE(a, nullptr);
  const std::vector<uint32_t> ones(16, 1), twos(16, 2), threes(16, 3);
  const Region whole = Region::All(a->shape());
  WorkerBlock block;
  Future<Status> first =
      block.Hold([&] { return a->WriteAsync(whole, std::span<const uint32_t>(ones)); });
  block.WaitEntered();  // `first` has run; the worker sits in its callback
  Future<Status> second = a->WriteAsync(whole, std::span<const uint32_t>(twos));
  Future<Status> third = a->WriteAsync(whole, std::span<const uint32_t>(threes));
  Future<Status> appended = a->AppendAsync(std::span<const uint32_t>(threes.data(), 4), {1, 4}, 0);
  EXPECT_FALSE(second.ready());
  EXPECT_TRUE(third.cancel());
  EXPECT_TRUE(appended.cancel());
  EXPECT_TRUE(third.ready());  // done at once, without running
  EXPECT_TRUE(third.wait().IsFailedPrecondition()) << third.wait();
  EXPECT_NE(third.wait().message().find("cancelled before it started"), std::string::npos)
      << third.wait();
  EXPECT_FALSE(third.cancel());  // already done
  block.Release();
  ASSERT_TRUE(second.wait().ok()) << second.wait();
  EXPECT_TRUE(first.wait().ok());
  EXPECT_FALSE(first.cancel());
  EXPECT_TRUE(appended.wait().IsFailedPrecondition()) << appended.wait();
  EXPECT_EQ(a->shape(), (std::vector<uint64_t>{4, 4}));  // the append never ran
  EXPECT_EQ(ReadAll(*a), twos);                          // the cancelled write never ran
}

TEST(ArrayAsync, CancelStopsARunningWriteBetweenSlabs) {
  auto store = MemoryStore::Create();
  // One chunk per row of chunks: the write goes in slabs of 64 rows, cancellation checked
  // before each.
  auto a = MakeAsyncTestArray(store, {256, 4}, {1, 4});
  ASSERT_NE(a, nullptr);
  const Region whole = Region::All(a->shape());
  const std::vector<uint32_t> values = RegionValues(whole, 4, 1);
  FirstCheckGate gate;
  WriteOptions options;
  // The caller's hook: at the first check it lets the test cancel, and waits until it has.
  options.cancel = gate.hook();
  Future<Status> f = a->WriteAsync(whole, std::span<const uint32_t>(values), options);
  gate.WaitStarted();
  EXPECT_FALSE(f.cancel());  // running: asked to stop, not dropped
  gate.Release();
  const Status s = f.wait();
  EXPECT_TRUE(s.IsFailedPrecondition()) << s;
  EXPECT_NE(s.message().find("cancelled while running"), std::string::npos) << s;
  // The first slab (rows 0..63) was written before the stop; nothing after it.
  const std::vector<uint32_t> got = ReadAll(*a);
  for (uint64_t r = 0; r < 256; ++r) {
    for (uint64_t c = 0; c < 4; ++c) {
      ASSERT_EQ(got[r * 4 + c], r < 64 ? Value(1, r * 4 + c) : 0u) << "row " << r;
    }
  }
}

TEST(ArrayAsync, CancelStopsARunningRead) {
  auto store = MemoryStore::Create();
  auto a = MakeAsyncTestArray(store, {256, 4}, {1, 4});
  ASSERT_NE(a, nullptr);
  std::vector<uint32_t> out(256 * 4);
  std::atomic<bool> go{false};
  ReadOptions options;
  options.cancel = [&] {
    while (!go.load()) std::this_thread::yield();
    return false;
  };
  Future<Status> f = a->ReadAsync(Region::All(a->shape()), std::span<uint32_t>(out), options);
  // Queued or running: either way it does not complete the read.
  const bool dropped = f.cancel();
  go = true;
  const Status s = f.wait();
  EXPECT_TRUE(s.IsFailedPrecondition()) << s;
  EXPECT_NE(s.message().find(dropped ? "before it started" : "while running"), std::string::npos)
      << s;
}

TEST(ArrayAsync, CallerCancelHookStillApplies) {
  auto store = MemoryStore::Create();
  auto a = MakeAsyncTestArray(store, {256, 4}, {1, 4});
  ASSERT_NE(a, nullptr);
  const std::vector<uint32_t> values(256 * 4, 5);
  WriteOptions options;
  options.cancel = [] { return true; };
  Future<Status> f =
      a->WriteAsync(Region::All(a->shape()), std::span<const uint32_t>(values), options);
  const Status s = f.wait();
  EXPECT_TRUE(s.IsFailedPrecondition()) << s;
  EXPECT_NE(s.message().find("WriteOptions::cancel"), std::string::npos) << s;
  EXPECT_EQ(ReadAll(*a), std::vector<uint32_t>(256 * 4, 0));
}

TEST(ArrayAsync, ThenIsCalledExactlyOnce) {
  auto store = MemoryStore::Create();
  auto a = MakeAsyncTestArray(store, {8, 8}, {4, 4});
  ASSERT_NE(a, nullptr);
  const std::vector<uint32_t> values(64, 9);
  const Region whole = Region::All(a->shape());

  // Attached while pending (the worker is held, so the request cannot have completed).
  WorkerBlock block;
  Future<Status> first =
      block.Hold([&] { return a->WriteAsync(whole, std::span<const uint32_t>(values)); });
  block.WaitEntered();
  Future<Status> f = a->WriteAsync(whole, std::span<const uint32_t>(values));
  std::atomic<int> before{0}, second{0};
  Status seen;
  std::thread::id ran_on;
  f.then([&](const Status& s) {
    seen = s;
    ran_on = std::this_thread::get_id();
    ++before;
  });
  f.then([&](const Status&) { ++second; });
  EXPECT_EQ(before.load(), 0);
  block.Release();
  ASSERT_TRUE(f.wait().ok()) << f.wait();
  // wait() returns only after the callbacks attached before completion have returned.
  EXPECT_EQ(before.load(), 1);
  EXPECT_EQ(second.load(), 1);
  EXPECT_TRUE(seen.ok());
  EXPECT_NE(ran_on, std::this_thread::get_id());

  // Attached after completion: called at once, on the calling thread.
  std::atomic<int> after{0};
  std::thread::id after_on;
  f.then([&](const Status& s) {
    EXPECT_TRUE(s.ok());
    after_on = std::this_thread::get_id();
    ++after;
  });
  EXPECT_EQ(after_on, std::this_thread::get_id());
  EXPECT_EQ(after.load(), 1);
  (void)f.wait();
  EXPECT_EQ(before.load(), 1);
  EXPECT_EQ(after.load(), 1);

  // A cancelled request's callbacks run once, with the cancelled status; so do an already
  // done Future's and an invalid Future's.
  WorkerBlock block2;
  Future<Status> g =
      block2.Hold([&] { return a->WriteAsync(whole, std::span<const uint32_t>(values)); });
  block2.WaitEntered();
  Future<Status> h = a->WriteAsync(whole, std::span<const uint32_t>(values));
  std::atomic<int> on_cancel{0};
  h.then([&](const Status& s) {
    EXPECT_TRUE(s.IsFailedPrecondition());
    ++on_cancel;
  });
  EXPECT_TRUE(h.cancel());
  EXPECT_FALSE(h.cancel());
  block2.Release();
  EXPECT_EQ(on_cancel.load(), 1);
  Future<Status> ready = Future<Status>::Ready(Status::NotFound("x"));
  int on_ready = 0;
  ready.then([&](const Status& s) { on_ready += s.IsNotFound(); });
  EXPECT_EQ(on_ready, 1);
  Future<Status> invalid;
  EXPECT_FALSE(invalid.valid());
  EXPECT_TRUE(invalid.ready());
  EXPECT_TRUE(invalid.wait().IsFailedPrecondition());
  EXPECT_FALSE(invalid.cancel());
  int on_invalid = 0;
  invalid.then([&](const Status& s) { on_invalid += s.IsFailedPrecondition(); });
  EXPECT_EQ(on_invalid, 1);
}

TEST(ArrayAsync, ThenWhileCompletingFromOtherThreadsIsCalledOnce) {
  auto store = MemoryStore::Create();
  auto a = MakeAsyncTestArray(store, {16, 16}, {4, 4});
  ASSERT_NE(a, nullptr);
  const std::vector<uint32_t> values(256, 3);
  for (int round = 0; round < 50; ++round) {
    Future<Status> f = a->WriteAsync(Region::All(a->shape()), std::span<const uint32_t>(values));
    std::atomic<int> calls{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] { f.then([&](const Status&) { ++calls; }); });
    }
    for (auto& t : threads) t.join();
    ASSERT_TRUE(f.wait().ok());
    EXPECT_EQ(calls.load(), 4);
  }
}

TEST(ArrayAsync, CallbackMayWaitOnItsOwnFuture) {
  auto store = MemoryStore::Create();
  auto a = MakeAsyncTestArray(store, {4, 4}, {2, 2});
  ASSERT_NE(a, nullptr);
  const std::vector<uint32_t> values(16, 1);
  auto f = std::make_shared<Future<Status>>(
      a->WriteAsync(Region::All(a->shape()), std::span<const uint32_t>(values)));
  std::atomic<bool> inner_ok{false};
  f->then([&inner_ok, raw = f.get()](const Status&) { inner_ok = raw->wait().ok(); });
  ASSERT_TRUE(f->wait().ok());
  EXPECT_TRUE(inner_ok.load());
}

TEST(ArrayAsync, DestroyingFuturesWithoutWaitingIsSafe) {
  auto store = MemoryStore::Create();
  auto a = MakeAsyncTestArray(store, {32, 32}, {8, 8});
  ASSERT_NE(a, nullptr);
  for (uint32_t v = 1; v <= 20; ++v) {
    // The buffer dies right after the Future: the Future's destructor waits for the write.
    std::vector<uint32_t> buf = RegionValues(Region::All(a->shape()), 32, v);
    Future<Status> f = a->WriteAsync(Region::All(a->shape()), std::span<const uint32_t>(buf));
  }
  EXPECT_EQ(ReadAll(*a), RegionValues(Region::All(a->shape()), 32, 20));
  // Move assignment waits for the operation it replaces.
  std::vector<uint32_t> b1 = RegionValues(Region::All(a->shape()), 32, 21);
  std::vector<uint32_t> b2 = RegionValues(Region::All(a->shape()), 32, 22);
  Future<Status> f = a->WriteAsync(Region::All(a->shape()), std::span<const uint32_t>(b1));
  f = a->WriteAsync(Region::All(a->shape()), std::span<const uint32_t>(b2));
  ASSERT_TRUE(f.wait().ok());
  EXPECT_EQ(ReadAll(*a), b2);
}

TEST(ArrayAsync, DestroyingTheArrayRunsEveryQueuedRequest) {
  auto store = MemoryStore::Create();
  auto a = MakeAsyncTestArray(store, {0, 16}, {4, 16});
  ASSERT_NE(a, nullptr);
  std::vector<std::vector<uint32_t>> buffers;
  std::vector<Future<Status>> pending;
  for (uint64_t t = 0; t < 40; ++t) {
    buffers.push_back(RegionValues(Region{{t, 0}, {1, 16}}, 16, 1));
  }
  for (uint64_t t = 0; t < 40; ++t) {
    pending.push_back(a->AppendAsync(std::span<const uint32_t>(buffers[t]), {1, 16}, 0));
  }
  a.reset();  // the last reference: waits for the queue, then stops the worker
  for (auto& f : pending) {
    EXPECT_TRUE(f.ready());
    EXPECT_TRUE(f.wait().ok()) << f.wait();
  }
  auto reopened = Array::Open(store, "a");
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->shape(), (std::vector<uint64_t>{40, 16}));
  EXPECT_EQ(ReadAll(**reopened), RegionValues(Region{{0, 0}, {40, 16}}, 16, 1));
}

TEST(ArrayAsync, DestroyingTheArrayFromACallbackIsSafe) {
  auto store = MemoryStore::Create();
  auto a = MakeAsyncTestArray(store, {8, 8}, {4, 4});
  ASSERT_NE(a, nullptr);
  const Region whole{{0, 0}, {8, 8}};
  const std::vector<uint32_t> v1 = RegionValues(whole, 8, 1), v2 = RegionValues(whole, 8, 2),
                              v3 = RegionValues(whole, 8, 3);
  WorkerBlock block;
  Future<Status> f1 =
      block.Hold([&] { return a->WriteAsync(whole, std::span<const uint32_t>(v1)); });
  block.WaitEntered();
  Future<Status> f2 = a->WriteAsync(whole, std::span<const uint32_t>(v2));
  Future<Status> f3 = a->WriteAsync(whole, std::span<const uint32_t>(v3));
  // f2's callback drops the last reference to the Array, on the worker thread, with f3 queued.
  std::atomic<bool> destroyed{false};
  f2.then([&destroyed, held = std::move(a)](const Status&) mutable {
    held.reset();
    destroyed = true;
  });
  ASSERT_EQ(a, nullptr);
  block.Release();
  ASSERT_TRUE(f2.wait().ok()) << f2.wait();
  EXPECT_TRUE(destroyed.load());
  ASSERT_TRUE(f3.wait().ok()) << f3.wait();  // ran before the Array went
  auto reopened = Array::Open(store, "a");
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(ReadAll(**reopened), v3);
}

TEST(ArrayAsync, ReaderOnAnotherHandleSeesWholeChunks) {
  auto store = MemoryStore::Create();
  constexpr uint64_t kRows = 32, kCols = 32;
  auto writer = MakeAsyncTestArray(store, {kRows, kCols}, {8, 8});
  ASSERT_NE(writer, nullptr);
  auto reader = Array::Open(store, "a");
  ASSERT_TRUE(reader.ok()) << reader.status();
  const Region whole = Region::All(writer->shape());
  constexpr uint32_t kVersions = 60;
  std::vector<std::vector<uint32_t>> buffers;
  for (uint32_t v = 1; v <= kVersions; ++v) buffers.push_back(RegionValues(whole, kCols, v));
  std::vector<Future<Status>> pending;
  for (uint32_t v = 1; v <= kVersions; ++v) {
    pending.push_back(writer->WriteAsync(whole, std::span<const uint32_t>(buffers[v - 1])));
  }
  std::vector<uint32_t> out(kRows * kCols);
  int reads = 0;
  uint32_t newest = 0;
  do {
    ASSERT_TRUE((*reader)->Read(whole, std::span<uint32_t>(out)).ok());
    ++reads;
    // Each 8x8 chunk holds one version (0 = never written) with every value in place.
    for (uint64_t cr = 0; cr < kRows; cr += 8) {
      for (uint64_t cc = 0; cc < kCols; cc += 8) {
        const uint32_t v = out[cr * kCols + cc] / 1'000'000u;
        newest = std::max(newest, v);
        for (uint64_t r = cr; r < cr + 8; ++r) {
          for (uint64_t c = cc; c < cc + 8; ++c) {
            const uint32_t expect = v == 0 ? 0 : Value(v, r * kCols + c);
            ASSERT_EQ(out[r * kCols + c], expect)
                << "chunk (" << cr / 8 << ", " << cc / 8 << ") mixes versions at (" << r << ", "
                << c << ")";
          }
        }
      }
    }
  } while (!pending.back().ready());
  for (auto& f : pending) ASSERT_TRUE(f.wait().ok()) << f.wait();
  ASSERT_TRUE((*reader)->Read(whole, std::span<uint32_t>(out)).ok());
  EXPECT_EQ(out, buffers.back());
  EXPECT_GT(reads, 0);
}

TEST(ArrayAsync, AsyncCallsFromManyThreadsAllComplete) {
  auto store = MemoryStore::Create();
  auto a = MakeAsyncTestArray(store, {64, 8}, {4, 8});
  ASSERT_NE(a, nullptr);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (uint64_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t i = 0; i < 16; i += 4) {
        const Region region{{t * 16 + i, 0}, {4, 8}};
        const std::vector<uint32_t> buf = RegionValues(region, 8, 1);
        Future<Status> f = a->WriteAsync(region, std::span<const uint32_t>(buf));
        if (!f.wait().ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(ReadAll(*a), RegionValues(Region::All(a->shape()), 8, 1));
}

TEST(ArrayAsync, AppendsQueuedTogetherWriteTheMetadataOnce) {
  auto counting = CountingStore::Create(MemoryStore::Create());
  auto a = MakeAsyncTestArray(counting, {1, 6}, {1, 6});
  ASSERT_NE(a, nullptr);
  const std::vector<uint32_t> row0 = RegionValues(Region{{0, 0}, {1, 6}}, 6, 1);
  WorkerBlock block;
  Future<Status> first = block.Hold([&] {
    return a->WriteAsync(Region{{0, 0}, {1, 6}}, std::span<const uint32_t>(row0));
  });
  block.WaitEntered();  // the appends below stay queued until Release
  const uint64_t sets_before = counting->counters().set;
  std::vector<std::vector<uint32_t>> rows;
  std::vector<Future<Status>> good;
  for (uint64_t r = 1; r <= 8; ++r) rows.push_back(RegionValues(Region{{r, 0}, {1, 6}}, 6, 1));
  for (size_t i = 0; i < 5; ++i) {
    good.push_back(a->AppendAsync(std::span<const uint32_t>(rows[i]), {1, 6}, 0));
  }
  // Fails alone (6 columns expected); the appends before and after it still apply.
  Future<Status> bad = a->AppendAsync(std::span<const uint32_t>(rows[0].data(), 5), {1, 5}, 0);
  Future<Status> cancelled = a->AppendAsync(std::span<const uint32_t>(rows[0]), {1, 6}, 0);
  EXPECT_TRUE(cancelled.cancel());
  for (size_t i = 5; i < 8; ++i) {
    good.push_back(a->AppendAsync(std::span<const uint32_t>(rows[i]), {1, 6}, 0));
  }
  block.Release();
  ASSERT_TRUE(first.wait().ok()) << first.wait();
  for (auto& f : good) ASSERT_TRUE(f.wait().ok()) << f.wait();
  EXPECT_TRUE(bad.wait().IsInvalidArgument()) << bad.wait();
  EXPECT_TRUE(cancelled.wait().IsFailedPrecondition()) << cancelled.wait();
  EXPECT_EQ(a->shape(), (std::vector<uint64_t>{9, 6}));
  EXPECT_EQ(ReadAll(*a), RegionValues(Region{{0, 0}, {9, 6}}, 6, 1));
  // One set per appended chunk, and one of the metadata for all eight appends.
  EXPECT_EQ(counting->counters().set - sets_before, 8u + 1u);
  auto reopened = Array::Open(counting, "a");
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->shape(), (std::vector<uint64_t>{9, 6}));
  EXPECT_EQ(ReadAll(**reopened), RegionValues(Region{{0, 0}, {9, 6}}, 6, 1));
}

// A MemoryStore whose set() of "a/zarr.json" fails once `refuse` is set.
// Every write goes through set() (ForwardingStore::Forward::kPrimitives: no conditional writes).
class MetadataRefusingStore : public ForwardingStore {
 public:
  MetadataRefusingStore() : ForwardingStore(MemoryStore::Create(), Forward::kPrimitives) {}
  std::atomic<bool> refuse{false};
  Status set(std::string_view key, ByteView value) override {
    if (refuse && key == "a/zarr.json") return Status::IOError("refused writing 'a/zarr.json'");
    return inner_->set(key, value);
  }
  std::string description() const override { return "metadata-refusing store"; }
};

TEST(ArrayAsync, AppendsQueuedTogetherFailTogetherWhenTheMetadataWriteFails) {
  auto store = std::make_shared<MetadataRefusingStore>();
  auto a = MakeAsyncTestArray(store, {1, 6}, {1, 6});
  ASSERT_NE(a, nullptr);
  const std::vector<uint32_t> row = RegionValues(Region{{0, 0}, {1, 6}}, 6, 1);
  WorkerBlock block;
  Future<Status> first = block.Hold([&] {
    return a->WriteAsync(Region{{0, 0}, {1, 6}}, std::span<const uint32_t>(row));
  });
  block.WaitEntered();
  std::vector<Future<Status>> appends;
  for (int i = 0; i < 3; ++i) {
    appends.push_back(a->AppendAsync(std::span<const uint32_t>(row), {1, 6}, 0));
  }
  store->refuse = true;
  block.Release();
  ASSERT_TRUE(first.wait().ok()) << first.wait();
  for (auto& f : appends) {
    EXPECT_TRUE(f.wait().IsIOError()) << f.wait();
    EXPECT_NE(f.wait().message().find("a/zarr.json"), std::string::npos) << f.wait();
  }
  EXPECT_EQ(a->shape(), (std::vector<uint64_t>{1, 6}));
  // Once the store takes the metadata again, appends go on from the published shape.
  store->refuse = false;
  ASSERT_TRUE(a->AppendAsync(std::span<const uint32_t>(row), {1, 6}, 0).wait().ok());
  EXPECT_EQ(a->shape(), (std::vector<uint64_t>{2, 6}));
}

}  // namespace
}  // namespace zarrpp
