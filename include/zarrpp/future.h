// zarrpp/future.h - the handle of an operation that completes later (Array::ReadAsync,
// WriteAsync, AppendAsync).
//
// A Future<T> refers to one operation whose outcome is a T (Status, or Result<U>). It is either
// pending (queued or running) or done, and once done its value never changes. The operation keeps
// its own reference to the shared state, so a Future may be destroyed, moved or waited on from any
// thread, before or after the operation completes.
//
// Destroying a valid Future waits for its operation to complete (as wait() does): buffers the
// caller lent to the operation are therefore never used after the caller's handle is gone, even
// when the caller did not wait. To let an operation finish unobserved, keep its Future somewhere
// that outlives the operation, or attach a callback with then().
//
// Callbacks: then(callback) calls `callback(value)` exactly once, after the value is set - on the
// calling thread if the operation is already done, otherwise on the thread that completes it (the
// array's background worker). wait() and ready() report done only after every callback attached
// before completion has returned, so a caller that waited may free what its callbacks use. A
// callback must be short (it delays the requests queued behind its operation) and must not
// throw (an exception from it is caught and dropped). Inside a callback, wait() on the same
// Future returns its value at once, and destroying the Future does not wait. A callback run by a
// background worker must not wait for, or destroy the Future of, an operation queued behind its
// own on the same worker: that operation cannot start until the callback returns.
//
// Thread safety: every member may be called concurrently with every other on the same Future,
// except assignment and destruction, which need the caller's exclusive access as for any object.
#pragma once

#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "zarrpp/status.h"

namespace zarrpp {

template <typename T>
class Future;

namespace internal {

// The state one operation and its Future share. Public only so that Future can be header-only;
// not part of the API.
template <typename T>
class FutureState {
 public:
  using Callback = std::function<void(const T&)>;

  FutureState() = default;
  // `cancelled` is the value of the operation when it is cancelled before it starts.
  explicit FutureState(T cancelled) : cancelled_(std::move(cancelled)) {}

  // queued -> running -> completing -> done, or queued -> completing -> done (cancelled).
  enum class Phase { kQueued, kRunning, kCompleting, kDone };

  // Moves queued -> running. False when the operation is no longer queued (cancelled before it
  // started): the caller must then not run it.
  bool TryStart() {
    std::lock_guard lock(mu_);
    if (phase_ != Phase::kQueued) return false;
    phase_ = Phase::kRunning;
    return true;
  }

  // Sets the value (first call only) and runs the callbacks. Returns false when a value was
  // already set.
  bool Complete(T value) {
    std::unique_lock lock(mu_);
    if (phase_ == Phase::kCompleting || phase_ == Phase::kDone) return false;
    CompleteLocked(lock, std::move(value));
    return true;
  }

  // Asks the operation to stop. A queued operation completes at once with its cancelled value and
  // returns true; a running one has its cancel flag set (polled by the operation) and returns
  // false, as does a done one.
  bool Cancel() {
    std::unique_lock lock(mu_);
    if (phase_ != Phase::kQueued) {
      if (phase_ == Phase::kRunning) cancel_requested_.store(true, std::memory_order_relaxed);
      return false;
    }
    cancel_requested_.store(true, std::memory_order_relaxed);
    T value = cancelled_ ? std::move(*cancelled_) : T(Status::FailedPrecondition("cancelled"));
    CompleteLocked(lock, std::move(value));
    return true;
  }

  bool cancel_requested() const { return cancel_requested_.load(std::memory_order_relaxed); }

  bool ready() const {
    std::lock_guard lock(mu_);
    return phase_ == Phase::kDone;
  }

  const T& Wait() const {
    std::unique_lock lock(mu_);
    if (phase_ == Phase::kCompleting && completer_ == std::this_thread::get_id()) return *value_;
    cv_.wait(lock, [&] { return phase_ == Phase::kDone; });
    return *value_;
  }

  void Then(Callback callback) {
    std::unique_lock lock(mu_);
    if (phase_ != Phase::kDone) {
      callbacks_.push_back(std::move(callback));
      return;
    }
    lock.unlock();
    Invoke(callback);
  }

 private:
  void CompleteLocked(std::unique_lock<std::mutex>& lock, T value) {
    value_.emplace(std::move(value));
    phase_ = Phase::kCompleting;
    completer_ = std::this_thread::get_id();
    while (!callbacks_.empty()) {
      std::vector<Callback> run = std::move(callbacks_);
      callbacks_.clear();
      lock.unlock();
      for (Callback& cb : run) Invoke(cb);
      lock.lock();
    }
    phase_ = Phase::kDone;
    completer_ = std::thread::id();
    lock.unlock();
    cv_.notify_all();
  }

  void Invoke(Callback& cb) const {
    try {
      cb(*value_);
    } catch (...) {
      // A callback must not throw; its exception has nowhere to go.
    }
  }

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  Phase phase_ = Phase::kQueued;
  std::optional<T> value_;
  std::vector<Callback> callbacks_;
  std::thread::id completer_;
  std::atomic<bool> cancel_requested_{false};
  std::optional<T> cancelled_;
};

}  // namespace internal

template <typename T>
class Future {
 public:
  // An invalid Future (no operation): valid() is false, ready() true, wait() FailedPrecondition.
  Future() = default;
  explicit Future(std::shared_ptr<internal::FutureState<T>> state) : state_(std::move(state)) {}
  // A Future that is already done with `value` (e.g. an argument error found before queueing).
  static Future Ready(T value) {
    auto state = std::make_shared<internal::FutureState<T>>();
    state->Complete(std::move(value));
    return Future(std::move(state));
  }

  Future(Future&&) noexcept = default;
  // Waits for the operation this Future referred to before taking `other`'s.
  Future& operator=(Future&& other) noexcept {
    if (this != &other) {
      WaitQuietly();
      state_ = std::move(other.state_);
    }
    return *this;
  }
  Future(const Future&) = delete;
  Future& operator=(const Future&) = delete;
  // Waits for the operation to complete (see the file comment).
  ~Future() { WaitQuietly(); }

  bool valid() const { return state_ != nullptr; }
  // True once the operation is done and its callbacks have returned. Never blocks.
  bool ready() const { return !state_ || state_->ready(); }
  // Blocks until the operation is done and returns its value (valid while this Future lives).
  const T& wait() const {
    if (!state_) return Invalid();
    return state_->Wait();
  }
  // Calls `callback(value)` once the operation is done (see the file comment); each attached
  // callback is called exactly once. On an invalid Future it is called at once with the
  // FailedPrecondition of wait().
  void then(std::function<void(const T&)> callback) {
    if (!state_) {
      try {
        callback(Invalid());
      } catch (...) {
      }
      return;
    }
    state_->Then(std::move(callback));
  }
  // Asks the operation to stop. Returns true when it had not started: it is dropped (never runs)
  // and is done at once with FailedPrecondition "cancelled". Returns false when it is running (it
  // stops at its next cancellation point, which each async call documents, and its value says
  // whether it stopped) or already done.
  bool cancel() { return state_ && state_->Cancel(); }

 private:
  static const T& Invalid() {
    static const T invalid = Status::FailedPrecondition("wait on an invalid Future");
    return invalid;
  }
  void WaitQuietly() const {
    if (state_) state_->Wait();
  }
  std::shared_ptr<internal::FutureState<T>> state_;
};

}  // namespace zarrpp
