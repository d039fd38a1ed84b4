// tests/support/async_checks.h - checks of the completion-based store operations shared by the
// store tests (tests/async_store_test.cc, the S3 and HTTP tests), and thread counting.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>

#include "zarrpp/store.h"

namespace zarrpp::test_support {

// The threads of this process now (entries of /proc/self/task).
size_t ThreadCount();

// 2 x cores + 8: the thread bound of a request with hundreds of operations in flight.
size_t ThreadBound();

// Samples ThreadCount() on its own thread (counted out) until stopped; max() is the most seen.
class ThreadSampler {
 public:
  ThreadSampler();
  ~ThreadSampler();
  void Stop();
  size_t max() const { return max_.load(); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<size_t> max_{0};
  std::thread thread_;
};

// Waits for `n` calls of Done().
class Latch {
 public:
  explicit Latch(size_t n) : left_(n) {}
  void Done();
  bool Wait(std::chrono::seconds limit = std::chrono::seconds(120));

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t left_;
};

// A value that encodes its position: `n` bytes, byte j = (i * 7 + j) mod 251.
Bytes ValueOf(size_t i, size_t n = 64);
std::string KeyOf(size_t i);

// Writes `n` position-encoded values with set_async (all in flight at once), reads them back
// with get_async (and a missing key and a bounded range), erases half with erase_async, checks a
// bad key gives InvalidArgument through the callback: every answer is asserted (gtest failures).
void AsyncRoundTrip(Store& store, size_t n);

}  // namespace zarrpp::test_support
