#include "zarrpp/executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
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
