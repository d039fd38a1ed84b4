// src/pipeline/key_locks.h - exclusive locks on individual store keys.
//
// A write of one chunk is read-modify-write when it covers only part of the chunk, so writes of one
// key are serialized. The lock is exact: two different keys never wait on each other, however many
// writes are in flight (a fixed array of hashed stripes makes writes of unrelated chunks wait on
// each other across the store's latency).
//
// Deadlock freedom: a thread holds at most one key, or takes several through LockAll, which takes
// them in sorted order.
//
// These locks coordinate the writes of one Array handle. Writes from other handles and other
// processes are coordinated by the store (StoreLocks below, Store::lock(), conditional writes);
// spec/concurrency.md has the protocol.
#pragma once

#include <array>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "zarrpp/status.h"
#include "zarrpp/store.h"

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

// The store's own exclusive locks (Store::lock()) on keys, which hold across handles and, for
// LocalStore, across processes. Empty when the store has no key locks (its capabilities say so);
// then only conditional writes coordinate writers. Several keys are taken in sorted order, so
// two holders of several keys never wait on each other in a cycle.
class StoreLocks {
 public:
  StoreLocks() = default;
  // Takes the lock of every distinct key of `keys` when `store` has key locks.
  static Result<StoreLocks> Take(Store& store, std::vector<std::string> keys);
  // The lock held on `key`, or null.
  const KeyLock* held(const std::string& key) const;

 private:
  std::vector<std::unique_ptr<KeyLock>> locks_;  // sorted by key
};

// Waits before retrying a read-modify-write whose conditional write lost to another writer
// (`attempt` counts from 0): a yield at first, then a growing, jittered sleep of up to ~20 ms.
void BackoffAfterConflict(int attempt);

// How often a read-modify-write of one chunk or shard is attempted before it gives up with
// IOError (each failure means another writer changed the value in between).
inline constexpr int kWriteAttempts = 200;

}  // namespace zarrpp::internal
