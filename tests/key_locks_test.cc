// Per-key write locks (src/pipeline/key_locks.h) and the memory store's atomicity against readers.
#include "src/pipeline/key_locks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "zarrpp/memory_store.h"

namespace zarrpp::internal {
namespace {

TEST(KeyLocks, SerializesOneKey) {
  KeyLocks locks;
  int counter = 0;  // guarded by the lock on "c/0"
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        const KeyLocks::Guard g = locks.Lock("c/0");
        const int seen = counter;
        std::this_thread::yield();
        counter = seen + 1;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, 8 * 2000);
}

TEST(KeyLocks, DifferentKeysDoNotWait) {
  KeyLocks locks;
  // Many keys land in one of the 64 stripes; none of them may wait on a held neighbour.
  KeyLocks::Guard held = locks.Lock("c/0");
  auto other = std::async(std::launch::async, [&] {
    for (int i = 1; i < 500; ++i) {
      const KeyLocks::Guard g = locks.Lock("c/" + std::to_string(i));
    }
    return true;
  });
  ASSERT_EQ(other.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(other.get());
}

TEST(KeyLocks, WaiterProceedsWhenReleased) {
  KeyLocks locks;
  std::optional<KeyLocks::Guard> held(locks.Lock("k"));
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    const KeyLocks::Guard g = locks.Lock("k");
    got = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(got.load());
  held.reset();
  waiter.join();
  EXPECT_TRUE(got.load());
}

TEST(KeyLocks, LockAllTakesDuplicatesOnceAndInOrder) {
  KeyLocks locks;
  std::vector<KeyLocks::Guard> a = locks.LockAll({"b", "a", "b", "c"});
  EXPECT_EQ(a.size(), 3u);
  // Two requests taking overlapping sets in opposite orders finish (sorted order: no deadlock).
  a.clear();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        std::vector<std::string> keys = {"x", "y", "z"};
        if (t % 2) std::reverse(keys.begin(), keys.end());
        const auto guards = locks.LockAll(keys);
        EXPECT_EQ(guards.size(), 3u);
      }
    });
  }
  for (auto& t : threads) t.join();
}

}  // namespace
}  // namespace zarrpp::internal

namespace zarrpp {
namespace {

// A reader never sees a value half patched by set_range, and a patch never lands in a copy a
// reader took earlier.
TEST(MemoryStoreAtomicity, SetRangeIsAtomicAgainstReaders) {
  auto store = MemoryStore::Create();
  const size_t n = 1 << 16;
  ASSERT_TRUE(store->set("v", Bytes(n, 0)).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    Bytes out;
    while (!stop) {
      auto r = store->get_into("v", ByteRange::Whole(), out);
      if (!r.ok() || !*r || out.size() != n) {
        ++torn;
        continue;
      }
      for (size_t i = 1; i < n; ++i) {
        if (out[i] != out[0]) {
          ++torn;
          break;
        }
      }
    }
  });
  for (int round = 1; round <= 300; ++round) {
    ASSERT_TRUE(store->set_range("v", 0, Bytes(n, static_cast<uint8_t>(round))).ok());
  }
  stop = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0);
  Bytes last;
  ASSERT_TRUE(*store->get_into("v", ByteRange::Whole(), last));
  EXPECT_EQ(last, Bytes(n, static_cast<uint8_t>(300 % 256)));
}

}  // namespace
}  // namespace zarrpp
