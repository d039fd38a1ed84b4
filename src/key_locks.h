// src/key_locks.h - exclusive locks on individual store keys.
//
// A write of one chunk is read-modify-write when it covers only part of the chunk, so writes of one
// key are serialized. The lock is exact: two different keys never wait on each other, however many
// writes are in flight (a fixed array of hashed stripes makes writes of unrelated chunks wait on
// each other across the store's latency).
//
// Deadlock freedom: a thread holds at most one key, or takes several through LockAll, which takes
// them in sorted order.
#pragma once

#include <array>
#include <condition_variable>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

namespace zarrpp::internal {

class KeyLocks {
 public:
  // Holds one key until destroyed (or moved from).
  class Guard {
   public:
    Guard() = default;
    Guard(KeyLocks* owner, std::string key) : owner_(owner), key_(std::move(key)) {}
    Guard(Guard&& o) noexcept : owner_(o.owner_), key_(std::move(o.key_)) { o.owner_ = nullptr; }
    Guard& operator=(Guard&& o) noexcept {
      if (this != &o) {
        Release();
        owner_ = o.owner_;
        key_ = std::move(o.key_);
        o.owner_ = nullptr;
      }
      return *this;
    }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    ~Guard() { Release(); }

   private:
    void Release() {
      if (owner_ != nullptr) owner_->Unlock(key_);
      owner_ = nullptr;
    }
    KeyLocks* owner_ = nullptr;
    std::string key_;
  };

  // Blocks until no other guard holds `key`.
  Guard Lock(const std::string& key);
  // Every distinct key of `keys`, taken in sorted order.
  std::vector<Guard> LockAll(std::vector<std::string> keys);

 private:
  struct Stripe {
    std::mutex mu;
    std::condition_variable cv;
    std::unordered_set<std::string> held;  // guarded by mu
  };
  Stripe& StripeFor(const std::string& key) {
    return stripes_[std::hash<std::string>{}(key) % stripes_.size()];
  }
  void Unlock(const std::string& key);

  std::array<Stripe, 64> stripes_;
};

}  // namespace zarrpp::internal
