// codecs/context_pool.h - reusable codec contexts (zstd, libdeflate) shared by every thread.
//
// Compression contexts are expensive to create (allocations and large tables) and not
// thread-safe. Keeping one per thread costs one context per thread that ever ran a codec: on the
// 64 I/O threads of a latency-bound store that is 64 cold contexts, each touched once per
// request. A pool hands the most recently returned context out first, so the contexts in use
// number at most the codec calls running at once and stay warm in cache.
#pragma once

#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace zarrpp::internal {

template <typename T, typename Deleter>
class ContextPool {
 public:
  using Ptr = std::unique_ptr<T, Deleter>;

  // One context, returned to its pool when destroyed. Converts to T* (null if creation failed).
  class Lease {
   public:
    Lease(ContextPool* pool, Ptr p) : pool_(pool), p_(std::move(p)) {}
    Lease(Lease&&) = default;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (p_) pool_->Return(std::move(p_));
    }
    T* get() const { return p_.get(); }
    operator T*() const { return p_.get(); }  // NOLINT(google-explicit-constructor)

   private:
    ContextPool* pool_;
    Ptr p_;
  };

  // `make` creates a context when none is free: a callable returning T* (null on failure).
  template <typename Make>
  Lease Acquire(Make&& make) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!free_.empty()) {
        Ptr p = std::move(free_.back());
        free_.pop_back();
        return Lease(this, std::move(p));
      }
    }
    return Lease(this, Ptr(make()));
  }

 private:
  // Kept: as many as were ever in use at once, up to a bound; the rest are freed.
  static constexpr size_t kMaxFree = 64;
  void Return(Ptr p) {
    std::lock_guard<std::mutex> l(mu_);
    if (free_.size() < kMaxFree) free_.push_back(std::move(p));
  }

  std::mutex mu_;
  std::vector<Ptr> free_;  // guarded by mu_; back() is the most recently returned
};

}  // namespace zarrpp::internal
