#include "src/key_locks.h"

#include <algorithm>

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

}  // namespace zarrpp::internal
