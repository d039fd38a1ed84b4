#include "zarrpp/executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <new>
#include <thread>
#include <vector>

namespace zarrpp {
namespace {

void ExpectCoversEveryIndexOnce(Executor& e, size_t n, size_t grain) {
  std::vector<std::atomic<int>> hits(n);
  std::atomic<size_t> max_range{0};
  e.ParallelFor(n, grain, [&](size_t b, size_t end) {
    size_t len = end - b;
    size_t cur = max_range.load();
    while (len > cur && !max_range.compare_exchange_weak(cur, len)) {
    }
    for (size_t i = b; i < end; ++i) hits[i]++;
  });
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "index " << i;
}

TEST(Executor, EveryExecutorCoversEveryIndexExactlyOnce) {
  for (auto e :
       {InlineExecutor(), MakeTbbExecutor(2), MakeTbbExecutor(1), MakeThreadPoolExecutor(8)}) {
    ExpectCoversEveryIndexOnce(*e, 1000, 7);
    ExpectCoversEveryIndexOnce(*e, 1, 1);
    ExpectCoversEveryIndexOnce(*e, 5, 100);
    e->ParallelFor(0, 1, [](size_t, size_t) { FAIL() << "called for an empty range"; });
  }
}

// A body that throws std::bad_alloc on a thread other than the caller's: the exception arrives
// on the caller, after every body that started has returned, and the process lives on.
TEST(Executor, ExceptionOnWorkerThreadArrivesOnCaller) {
  struct Kind {
    const char* name;
    std::shared_ptr<Executor> executor;
  };
  for (const Kind& k :
       {Kind{"tbb", MakeTbbExecutor(2)}, Kind{"thread pool", MakeThreadPoolExecutor(4)},
        Kind{"io pool", SharedIoExecutor(8)}}) {
    SCOPED_TRACE(k.name);
    const std::thread::id caller = std::this_thread::get_id();
    std::atomic<int> started{0}, finished{0}, threw{0};
    std::atomic<bool> running_at_return{false};
    bool caught = false;
    try {
      k.executor->ParallelFor(64, 1, [&](size_t, size_t) {
        started++;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        if (std::this_thread::get_id() != caller && threw.fetch_add(1) == 0) throw std::bad_alloc();
        finished++;
      });
    } catch (const std::bad_alloc&) {
      caught = true;
      running_at_return = started.load() != finished.load() + 1;
    }
    EXPECT_TRUE(caught);
    EXPECT_GE(threw.load(), 1) << "no body ran on a worker thread";
    EXPECT_FALSE(running_at_return.load()) << "a body was still running when the exception arrived";
    // Nothing still runs behind the caller's back.
    const int after = finished.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(finished.load(), after);
    // The executor still works.
    ExpectCoversEveryIndexOnce(*k.executor, 100, 3);
  }
}

// A body that throws on the calling thread while workers still run bodies of the same call:
// ParallelFor waits for them before the exception leaves it.
TEST(Executor, ExceptionOnCallerWaitsForWorkers) {
  for (auto e : {InlineExecutor(), MakeTbbExecutor(2), MakeThreadPoolExecutor(4)}) {
    const std::thread::id caller = std::this_thread::get_id();
    std::atomic<int> started{0}, finished{0};
    bool thrown = false;
    int started_at_catch = -1, finished_at_catch = -2;
    try {
      e->ParallelFor(32, 1, [&](size_t, size_t) {
        started++;
        if (std::this_thread::get_id() == caller) throw std::bad_alloc();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        finished++;
      });
    } catch (const std::bad_alloc&) {
      thrown = true;
      started_at_catch = started.load();
      finished_at_catch = finished.load();
    }
    EXPECT_TRUE(thrown);
    EXPECT_EQ(started_at_catch, finished_at_catch + 1);
  }
}

TEST(Executor, NestedCallsDoNotDeadlock) {
  for (auto e : {MakeTbbExecutor(2), MakeThreadPoolExecutor(4)}) {
    std::atomic<int> total{0};
    e->ParallelFor(8, 1, [&](size_t, size_t) {
      e->ParallelFor(8, 1, [&](size_t b, size_t end) { total += static_cast<int>(end - b); });
    });
    EXPECT_EQ(total.load(), 64);
  }
}

TEST(Executor, ThreadPoolOverlapsBlockingWork) {
  auto pool = MakeThreadPoolExecutor(32);
  auto t0 = std::chrono::steady_clock::now();
  pool->ParallelFor(
      64, 1, [](size_t, size_t) { std::this_thread::sleep_for(std::chrono::milliseconds(20)); });
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // 64 sleeps of 20 ms on 32 threads (plus the caller): two rounds, far from the 1.28 s serial
  // time.
  EXPECT_LT(s, 0.4);
  EXPECT_GE(s, 0.02);
}

TEST(Executor, GrainBoundsRangeLength) {
  auto e = MakeTbbExecutor(2);
  std::atomic<size_t> longest{0};
  e->ParallelFor(1000, 10, [&](size_t b, size_t end) {
    size_t len = end - b, cur = longest.load();
    while (len > cur && !longest.compare_exchange_weak(cur, len)) {
    }
  });
  EXPECT_LE(longest.load(), 10u);
}

}  // namespace
}  // namespace zarrpp
