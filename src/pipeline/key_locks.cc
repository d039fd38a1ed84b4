#include "src/pipeline/key_locks.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

namespace zarrpp::internal {

KeyLocks::Guard KeyLocks::Lock(const std::string& key) {
  Stripe& s = StripeFor(key);
  std::unique_lock l(s.mu);
  s.cv.wait(l, [&] { return !s.held.contains(key); });
  s.held.insert(key);
  return Guard(this, key);
}

std::vector<KeyLocks::Guard> KeyLocks::LockAll(std::vector<std::string> keys) {
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::vector<Guard> guards;
  guards.reserve(keys.size());
  for (const std::string& k : keys) guards.push_back(Lock(k));
  return guards;
}

void KeyLocks::Unlock(const std::string& key) {
  Stripe& s = StripeFor(key);
  {
    std::lock_guard l(s.mu);
    s.held.erase(key);
  }
  // Waiters on other keys of this stripe wake, find their key still held or free, and go on.
  s.cv.notify_all();
}

Result<StoreLocks> StoreLocks::Take(Store& store, std::vector<std::string> keys) {
  StoreLocks out;
  if (!store.capabilities().key_locks) return out;
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  out.locks_.reserve(keys.size());
  for (const std::string& k : keys) {
    ASSIGN_OR_RETURN(std::unique_ptr<KeyLock> l, store.lock(k));
    out.locks_.push_back(std::move(l));
  }
  return out;
}

const KeyLock* StoreLocks::held(const std::string& key) const {
  auto it = std::lower_bound(
      locks_.begin(), locks_.end(), key,
      [](const std::unique_ptr<KeyLock>& l, const std::string& k) { return l->key() < k; });
  return it != locks_.end() && (*it)->key() == key ? it->get() : nullptr;
}

void BackoffAfterConflict(int attempt) {
  if (attempt < 2) {
    std::this_thread::yield();
    return;
  }
  thread_local std::minstd_rand rng{std::random_device{}()};
  const int cap_us = std::min(20000, 50 << std::min(attempt - 2, 9));
  std::uniform_int_distribution<int> us(cap_us / 2, cap_us);
  std::this_thread::sleep_for(std::chrono::microseconds(us(rng)));
}

}  // namespace zarrpp::internal
