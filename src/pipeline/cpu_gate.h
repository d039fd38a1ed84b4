// src/pipeline/cpu_gate.h - admits at most N threads at a time to CPU work.
//
// Chunk tasks on a latency-bound store run on many I/O threads; each takes a token around its CPU
// stages so that no more of them compute at once than the CPU executor has threads. Waiters are
// woken one at a time, in the order the condition variable chooses: a release wakes one waiter,
// never all of them (with dozens of waiting threads on a few cores, waking every waiter to let
// one through costs more than the work it gates).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace zarrpp::internal {

class CpuGate {
 public:
  explicit CpuGate(size_t tokens) : free_(tokens) {}
  void Acquire() {
    std::unique_lock l(mu_);
    cv_.wait(l, [&] { return free_ > 0; });
    --free_;
  }
  void Release() {
    {
      std::lock_guard l(mu_);
      ++free_;
    }
    cv_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t free_;  // guarded by mu_
};

}  // namespace zarrpp::internal
