// src/pipeline/inflight_budget.h - bounds the bytes a request's chunk tasks hold across store
// operations.
//
// A fused request on I/O threads runs up to io_concurrency chunk tasks ("lanes") at once. What a
// lane holds while it waits on the store (the encoded bytes it fetched, or the encoded bytes it is
// storing) is reserved here first, so the request's buffers in flight stay within
// ArrayOptions::max_inflight_bytes whatever the store's I/O concurrency: small encoded chunks run
// many lanes at once, large ones fewer.
//
// Reservations wait while the budget is full. One reservation larger than the whole budget is let
// through when nothing else is reserved, so a request always makes progress. Waiters are woken one
// at a time; a waiter that gets in wakes the next while room is left.
#pragma once

#include <algorithm>
#include <concepts>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "zarrpp/bytes.h"

namespace zarrpp::internal {

class InflightBudget {
 public:
  explicit InflightBudget(uint64_t limit) : limit_(limit) {}

  // Reserves want() bytes, waiting until they fit (or until nothing is reserved); want() is asked
  // again at every wake-up, so an estimate that shrinks while waiting is taken into account.
  // Returns the bytes reserved.
  template <typename Want>
  uint64_t Acquire(Want want) {
    std::unique_lock l(mu_);
    uint64_t n = 0;
    cv_.wait(l, [&] {
      n = want();
      return used_ + n <= limit_ || used_ == 0;
    });
    used_ += n;
    if (used_ < limit_) cv_.notify_one();
    return n;
  }
  // Reserves `n` bytes if they fit now.
  bool TryAcquire(uint64_t n) {
    std::lock_guard l(mu_);
    if (used_ + n > limit_ && used_ != 0) return false;
    used_ += n;
    return true;
  }
  // Reserves `n` bytes already held (a value larger than its reservation), without waiting.
  void Force(uint64_t n) {
    std::lock_guard l(mu_);
    used_ += n;
  }
  void Release(uint64_t n) {
    if (n == 0) return;
    {
      std::lock_guard l(mu_);
      used_ -= n;
    }
    cv_.notify_one();
  }
  uint64_t limit() const { return limit_; }

 private:
  const uint64_t limit_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t used_ = 0;  // guarded by mu_
};

// The one buffer a lane keeps across store operations, and its reservation in the budget. The
// reservation covers the buffer's capacity at all times; both are given up when the lane ends.
class LaneBuffer {
 public:
  LaneBuffer(InflightBudget& budget, Bytes& buf) : budget_(budget), buf_(buf) {
    // A buffer kept from an earlier request counts from the start, or is dropped if it does not
    // fit.
    if (buf_.capacity() > 0 && !budget_.TryAcquire(buf_.capacity())) Bytes().swap(buf_);
    held_ = buf_.capacity();
  }
  // The buffer is freed with its reservation: kept for a later request, it would still be memory
  // while the lanes that take over this one's room allocate theirs.
  ~LaneBuffer() {
    Bytes().swap(buf_);
    budget_.Release(held_);
  }
  LaneBuffer(const LaneBuffer&) = delete;
  LaneBuffer& operator=(const LaneBuffer&) = delete;

  Bytes& bytes() { return buf_; }

  // Makes room to hold want() bytes (the buffer's contents are dropped): grows the reservation,
  // or, when the budget is full, frees the buffer and waits for a reservation from nothing. A
  // reservation more than twice what is wanted is given back. The only waits are these, by lanes
  // that hold nothing, while every lane holding a reservation proceeds without waiting on the
  // budget: lanes never wait on each other in a cycle.
  // With `allocate` false only the reservation is made (the bytes will arrive later, by Adopt()
  // or Take(), or are held by a codec on the lane's behalf).
  template <typename Want>
  requires std::invocable<Want&>
  void Hold(Want want, bool allocate = true) {
    uint64_t n = want();
    if (held_ > 2 * n && held_ > kKeep) {
      Bytes().swap(buf_);
      budget_.Release(held_);
      held_ = 0;
    }
    if (held_ < n) {
      if (budget_.TryAcquire(n - held_)) {
        held_ = n;
      } else {
        Bytes().swap(buf_);
        budget_.Release(held_);
        held_ = budget_.Acquire(want);
        n = held_;
      }
    }
    if (allocate && buf_.capacity() < n) {
      buf_.clear();
      buf_.reserve(n);
    }
  }
  void Hold(uint64_t n, bool allocate = true) {
    Hold([n] { return n; }, allocate);
  }
  // Makes room to hold `n` bytes (as Hold() does) if the budget has it now; false, with the lane
  // as it was, if it would have to wait.
  bool TryHold(uint64_t n) {
    if (held_ < n) {
      if (!budget_.TryAcquire(n - held_)) return false;
      held_ = n;
    }
    Hold(n);
    return true;
  }
  // Frees the buffer and gives back its reservation (the lane's next store call needs none).
  void Drop() {
    Bytes().swap(buf_);
    budget_.Release(held_);
    held_ = 0;
  }
  // After a store call filled the buffer: accounts for growth beyond the reservation (a value
  // larger than estimated), or gives back most of a reservation far larger than the value, so
  // that lanes waiting for room start as soon as small values are seen.
  void Sync() {
    if (held_ > kKeep && buf_.size() < held_ / 4) {
      buf_.shrink_to_fit();
      const uint64_t keep = std::max<uint64_t>(buf_.capacity(), kKeep);
      budget_.Release(held_ - keep);
      held_ = keep;
      return;
    }
    if (buf_.capacity() > held_) {
      budget_.Force(buf_.capacity() - held_);
      held_ = buf_.capacity();
    }
  }
  // Copies `bytes` into the lane's buffer (sized to fit) without waiting; the reservation grows
  // if the bytes pass it.
  void Take(ByteView bytes) {
    if (buf_.capacity() < bytes.size() || buf_.capacity() > 2 * bytes.size() + kKeep) {
      Bytes fresh;
      fresh.reserve(bytes.size());
      buf_.swap(fresh);
    }
    buf_.assign(bytes.begin(), bytes.end());
    Sync();
  }
  // Takes `other`'s contents as this lane's buffer (no copy) and frees the lane's previous one. The
  // reservation grows to cover it without waiting (the caller reserved an estimate with Hold()).
  void Adopt(Bytes& other) {
    Bytes().swap(buf_);
    buf_.swap(other);
    Sync();
  }

 private:
  static constexpr uint64_t kKeep = 64 * 1024;  // reservations this small are never given back
  InflightBudget& budget_;
  Bytes& buf_;
  uint64_t held_ = 0;
};

}  // namespace zarrpp::internal
