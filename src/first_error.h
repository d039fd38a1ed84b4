// src/first_error.h - the first error of a parallel loop.
#pragma once

#include <atomic>
#include <mutex>

#include "zarrpp/status.h"

namespace zarrpp::internal {

// Collects the first non-OK Status reported by any body of a parallel loop; failed() lets the
// other bodies stop early. Safe for concurrent use.
class FirstError {
 public:
  void Set(Status s) {
    std::lock_guard<std::mutex> l(mu_);
    if (status_.ok()) status_ = std::move(s);
    failed_.store(true, std::memory_order_relaxed);
  }
  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  Status status() {
    std::lock_guard<std::mutex> l(mu_);
    return status_;
  }

 private:
  std::mutex mu_;
  Status status_;
  std::atomic<bool> failed_{false};
};

}  // namespace zarrpp::internal
