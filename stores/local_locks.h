// stores/local_locks.h - LocalStore's reserved files: OFD locks, the lock file of each key
// (LocalStore::Lock), temporaries, and the removal of lock files no one holds. Internal.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "stores/local_paths.h"
#include "zarrpp/local_store.h"

namespace zarrpp {
namespace internal {

// Names LocalStore reserves in every directory (never listed as keys): temporaries, lock files.
constexpr std::string_view kReservedPrefix = ".zarrpp-";
constexpr std::string_view kTempPrefix = ".zarrpp-tmp-";
constexpr std::string_view kLockPrefix = ".zarrpp-lock-";

// Takes (or with F_UNLCK drops) an OFD lock on the whole file. Returns 0 or an errno.
int OfdLock(int fd, short type, bool wait);

// A shared lock for the duration of a read. File systems without OFD locks are read unlocked.
class SharedReadLock {
 public:
  explicit SharedReadLock(int fd) : fd_(fd) {
    const int err = OfdLock(fd_, F_RDLCK, true);
    held_ = err == 0;
  }
  ~SharedReadLock() {
    if (held_) OfdLock(fd_, F_UNLCK, false);
  }
  SharedReadLock(const SharedReadLock&) = delete;
  SharedReadLock& operator=(const SharedReadLock&) = delete;

 private:
  int fd_;
  bool held_ = false;
};

// The modification time of `st` in nanoseconds since the epoch.
int64_t MtimeNs(const struct stat& st);

// A temporary name no other writer (thread or process) will pick: pid, a per-process random
// nonce, and a per-process counter. O_EXCL turns any residual collision into a retry.
std::string TempName();

// Unlinks the lock file `name` in `dir_fd` if no one holds it (safe: lockers re-check the file
// after locking). Returns true when removed.
bool RemoveUnheldLockFile(int dir_fd, const char* name, int64_t older_than_ns);

}  // namespace internal

// A key lock: the key's lock file, held under an exclusive OFD lock until destroyed.
class LocalStore::Lock final : public KeyLock {
 public:
  Lock(const LocalStore* store, std::string key, internal::FileDescriptor dir, std::string name,
       internal::FileDescriptor fd)
      : store_(store),
        key_(std::move(key)),
        dir_(std::move(dir)),
        name_(std::move(name)),
        fd_(std::move(fd)) {}
  // Unlinks the lock file while still holding it, then releases it (closing fd_); a waiter that
  // then gets the unlinked file sees it is no longer the directory's and tries again.
  ~Lock() override {
    ::unlinkat(dir_.get(), name_.c_str(), 0);
    if (tidy_) store_->RemoveEmptyDirectories(std::string(internal::SplitKey(key_).first));
  }
  const std::string& key() const override { return key_; }
  const LocalStore* store() const { return store_; }
  // At release, also remove the key's directories when the lock file was all they held (a lock
  // taken with lock() for a key that was never written).
  void TidyOnRelease() { tidy_ = true; }

 private:
  const LocalStore* store_;
  std::string key_;
  internal::FileDescriptor dir_;
  std::string name_;
  internal::FileDescriptor fd_;
  bool tidy_ = false;
};

}  // namespace zarrpp
