// tests/support/worker_block.h - holding an array handle's async worker in tests of the
// asynchronous calls (tests/array_async_test.cc, tests/array_async_selection_test.cc).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "zarrpp/future.h"
#include "zarrpp/status.h"

namespace zarrpp::test_support {

// A thread that Enter()s stays there until Release(); WaitEntered() returns once one has entered.
class Gate {
 public:
  void Enter() {
    std::unique_lock lock(mu_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return released_; });
  }
  void WaitEntered() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return entered_; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false, released_ = false;
};

// Holds the async worker of an array inside a callback until Release(), so that the requests
// queued behind stay queued.
class WorkerBlock {
 public:
  // Submits a request with `submit` and attaches the block to it: the worker enters the block
  // when that request completes. A request that completed before the block was attached (under
  // load it can) would run the block's callback here, on the submitting thread, and hold nothing;
  // then another request is submitted, until one is held. Returns the held request's Future.
  template <class Submit>
  Future<Status> Hold(Submit submit) {
    const std::thread::id self = std::this_thread::get_id();
    for (;;) {
      Future<Status> f = submit();
      bool ran_here = false;
      f.then([this, self, &ran_here](const Status&) {
        if (std::this_thread::get_id() == self) {
          ran_here = true;
          return;
        }
        gate_.Enter();
      });
      if (!ran_here) return f;
    }
  }
  void WaitEntered() { gate_.WaitEntered(); }
  void Release() { gate_.Release(); }

 private:
  Gate gate_;
};

// A cancellation hook that, at its first check, lets the test act on a running request and waits
// until it has: hook() goes in WriteOptions::cancel (never asks to stop), WaitStarted() returns
// once the request is inside its first check, Release() lets it go on.
class FirstCheckGate {
 public:
  std::function<bool()> hook() {
    return [this] {
      if (calls_.fetch_add(1) == 0) gate_.Enter();
      return false;
    };
  }
  void WaitStarted() { gate_.WaitEntered(); }
  void Release() { gate_.Release(); }

 private:
  Gate gate_;
  std::atomic<int> calls_{0};
};

}  // namespace zarrpp::test_support
