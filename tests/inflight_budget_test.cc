// The in-flight byte budget of fused requests on I/O threads (src/pipeline/inflight_budget.h).
#include "src/pipeline/inflight_budget.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

namespace zarrpp::internal {
namespace {

using namespace std::chrono_literals;

TEST(InflightBudget, AcquireWaitsForRoomAndReleaseLetsItIn) {
  InflightBudget budget(100);
  EXPECT_EQ(budget.Acquire([] { return 60; }), 60u);
  EXPECT_FALSE(budget.TryAcquire(50));
  std::atomic<bool> in{false};
  std::thread waiter([&] {
    budget.Acquire([] { return 50; });
    in = true;
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(in.load());
  budget.Release(60);
  waiter.join();
  EXPECT_TRUE(in.load());
  EXPECT_TRUE(budget.TryAcquire(50));  // 100 of 100
  EXPECT_FALSE(budget.TryAcquire(1));
}

TEST(InflightBudget, OversizedReservationProceedsAloneOnly) {
  InflightBudget budget(100);
  EXPECT_EQ(budget.Acquire([] { return 500; }), 500u);  // nothing reserved: let through
  std::atomic<bool> in{false};
  std::thread waiter([&] {
    budget.Acquire([] { return 1; });
    in = true;
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(in.load());
  budget.Release(500);
  waiter.join();
  EXPECT_TRUE(in.load());
}

TEST(InflightBudget, WaiterSeesAnEstimateThatShrankWhileItWaited) {
  InflightBudget budget(100);
  budget.Acquire([] { return 90; });
  std::atomic<uint64_t> estimate{50};
  std::atomic<uint64_t> got{0};
  std::thread waiter([&] { got = budget.Acquire([&] { return estimate.load(); }); });
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(got.load(), 0u);
  estimate = 5;
  budget.Release(0);  // a release of nothing wakes no one
  budget.Force(0);
  budget.Release(1);  // 89 reserved: 5 fits now
  waiter.join();
  EXPECT_EQ(got.load(), 5u);
}

TEST(LaneBuffer, HoldReservesCapacityAndGivesItBackAtTheEnd) {
  InflightBudget budget(1 << 20);
  {
    Bytes buf;
    LaneBuffer lane(budget, buf);
    lane.Hold(400 * 1024);
    EXPECT_GE(buf.capacity(), 400u * 1024);
    EXPECT_FALSE(budget.TryAcquire(700 * 1024));
    EXPECT_TRUE(budget.TryAcquire(600 * 1024));
    budget.Release(600 * 1024);
    // A value far smaller than the reservation gives most of it back after the store call.
    buf.assign(1000, 7);
    lane.Sync();
    EXPECT_TRUE(budget.TryAcquire(900 * 1024));
    budget.Release(900 * 1024);
  }
  // Lane over: its buffer is freed and everything is back.
  EXPECT_TRUE(budget.TryAcquire(1 << 20));
}

TEST(LaneBuffer, ValueLargerThanTheReservationIsCountedWithoutWaiting) {
  InflightBudget budget(1000);
  Bytes buf;
  LaneBuffer lane(budget, buf);
  lane.Hold(100);
  buf.assign(1500, 1);  // the store returned more than estimated
  lane.Sync();          // must not block although it passes the budget
  EXPECT_FALSE(budget.TryAcquire(1));
}

// Lanes that each hold a reservation and want more never deadlock: a lane that must wait first
// gives back everything it holds.
TEST(LaneBuffer, ManyLanesGrowingTheirReservationsAllFinish) {
  InflightBudget budget(10 * 1024);
  std::vector<std::future<void>> lanes;
  for (int t = 0; t < 16; ++t) {
    lanes.push_back(std::async(std::launch::async, [&budget, t] {
      Bytes buf;
      LaneBuffer lane(budget, buf);
      for (uint64_t n = 1024; n <= 8 * 1024; n += 512 + 64 * static_cast<uint64_t>(t)) {
        lane.Hold(n);
        buf.resize(n);
        lane.Sync();
        std::this_thread::sleep_for(100us);
      }
    }));
  }
  for (auto& f : lanes) {
    ASSERT_EQ(f.wait_for(20s), std::future_status::ready) << "lanes deadlocked";
  }
  EXPECT_TRUE(budget.TryAcquire(10 * 1024));
}

}  // namespace
}  // namespace zarrpp::internal
