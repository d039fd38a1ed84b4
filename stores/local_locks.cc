// stores/local_locks.cc - OFD locks and key lock files of a LocalStore (taken, checked after
// locking, checked when held), temporaries' names, and the cleanup of stale reserved files.
#include "stores/local_locks.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "src/store_internal.h"

namespace zarrpp::internal {
namespace {

// The lock file of the value `name` in the same directory. Names too long to carry the prefix
// are hashed (FNV-1a: stable across processes and builds).
std::string LockName(std::string_view name) {
  std::string out(kLockPrefix);
  if (out.size() + name.size() <= NAME_MAX) {
    out += name;
    return out;
  }
  uint64_t h = 1469598103934665603ull;
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  char buf[32];
  int n = std::snprintf(buf, sizeof(buf), "#%016llx", static_cast<unsigned long long>(h));
  out.append(buf, static_cast<size_t>(n));
  return out;
}

// Removes stale ".zarrpp-" files under `dir_fd`; counts them in `removed`.
Status RemoveStaleAt(int dir_fd, const std::string& path, int64_t older_than_ns,
                     uint64_t& removed) {
  std::vector<Entry> entries;
  RETURN_IF_ERROR(ReadEntriesAt(dir_fd, path, entries));
  for (const Entry& e : entries) {
    if (e.kind == EntryKind::kDirectory) {
      FileDescriptor child(
          ::openat(dir_fd, e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!child.valid()) continue;
      RETURN_IF_ERROR(RemoveStaleAt(child.get(), path + "/" + e.name, older_than_ns, removed));
    } else if (e.kind == EntryKind::kFile &&
               std::string_view(e.name).starts_with(kReservedPrefix)) {
      if (RemoveUnheldLockFile(dir_fd, e.name.c_str(), older_than_ns)) ++removed;
    }
  }
  return Status::OK();
}

}  // namespace

int OfdLock(int fd, short type, bool wait) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 0;
  for (;;) {
    if (::fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) == 0) return 0;
    if (errno != EINTR) return errno;
  }
}

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

std::string TempName() {
  static const uint64_t nonce = [] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }();
  static std::atomic<uint64_t> counter{0};
  char buf[96];
  int n = std::snprintf(buf, sizeof(buf), "%.*s%ld-%016llx-%llu",
                        static_cast<int>(kTempPrefix.size()), kTempPrefix.data(),
                        static_cast<long>(::getpid()), static_cast<unsigned long long>(nonce),
                        static_cast<unsigned long long>(counter.fetch_add(1)));
  return std::string(buf, static_cast<size_t>(n));
}

bool RemoveUnheldLockFile(int dir_fd, const char* name, int64_t older_than_ns) {
  FileDescriptor fd(::openat(dir_fd, name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return false;
  if (OfdLock(fd.get(), F_WRLCK, false) != 0) return false;  // held: a live writer or holder
  struct stat mine, there;
  if (::fstat(fd.get(), &mine) != 0 || !S_ISREG(mine.st_mode)) return false;
  if (older_than_ns >= 0 && MtimeNs(mine) > older_than_ns) return false;
  if (::fstatat(dir_fd, name, &there, AT_SYMLINK_NOFOLLOW) != 0) return false;
  if (mine.st_dev != there.st_dev || mine.st_ino != there.st_ino) return false;
  return ::unlinkat(dir_fd, name, 0) == 0;
}

}  // namespace zarrpp::internal

namespace zarrpp {

using internal::DirResult;
using internal::FileDescriptor;
using internal::KeyContext;
using internal::kMaxAttempts;
using internal::LockName;
using internal::OfdLock;
using internal::OpenDirBeneath;
using internal::OsError;
using internal::RemoveStaleAt;
using internal::ResolveError;
using internal::SplitKey;

Status LocalStore::CheckHeld(std::string_view key, const KeyLock* held) const {
  if (held == nullptr) return Status::OK();
  const auto* mine = dynamic_cast<const Lock*>(held);
  if (mine == nullptr || mine->store() != this) {
    return Status::InvalidArgument(KeyContext("write", key) +
                                   ": the held lock was not taken from this store");
  }
  if (mine->key() != key) {
    return Status::InvalidArgument(KeyContext("write", key) + ": the held lock is of key '" +
                                   mine->key() + "'");
  }
  return Status::OK();
}

Result<std::unique_ptr<LocalStore::Lock>> LocalStore::LockAt(int dir_fd, std::string_view key,
                                                             std::string_view op) {
  const std::string name = LockName(SplitKey(key).second);
  const std::string path = PathOf(key) + " (lock file " + name + ")";
  for (;;) {
    FileDescriptor fd(::openat(dir_fd, name.c_str(),
                               O_CREAT | O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0666));
    if (!fd.valid()) {
      if (errno == ENOENT) return std::unique_ptr<Lock>();  // the directory was removed
      return OsError("open lock file", path, errno).WithContext(KeyContext(op, key));
    }
    if (int err = OfdLock(fd.get(), F_WRLCK, true); err != 0) {
      return OsError("lock", path, err).WithContext(KeyContext(op, key));
    }
    // The previous holder may have unlinked the file we waited on: lock the directory's one.
    struct stat mine, there;
    if (::fstat(fd.get(), &mine) != 0) {
      return OsError("fstat", path, errno).WithContext(KeyContext(op, key));
    }
    if (::fstatat(dir_fd, name.c_str(), &there, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      return OsError("stat", path, errno).WithContext(KeyContext(op, key));
    }
    if (mine.st_dev != there.st_dev || mine.st_ino != there.st_ino) continue;
    FileDescriptor dir(::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0));
    if (!dir.valid()) return OsError("dup", path, errno).WithContext(KeyContext(op, key));
    return std::make_unique<Lock>(this, std::string(key), std::move(dir), name, std::move(fd));
  }
}

Result<std::unique_ptr<KeyLock>> LocalStore::lock(std::string_view key) {
  RETURN_IF_ERROR(ValidateKey(key));
  const std::string_view parent = SplitKey(key).first;
  for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
    DirResult dir = OpenDirBeneath(root_fd_, parent, /*create=*/true, options_.fsync);
    if (dir.err == ENOENT) continue;  // an erase removed a directory being created
    if (dir.err != 0) return ResolveError("lock", key, dir.err, dir.component, root_);
    ASSIGN_OR_RETURN(std::unique_ptr<Lock> held, LockAt(dir.fd.get(), key, "lock"));
    if (held) {
      if (!SplitKey(key).first.empty()) held->TidyOnRelease();
      return std::unique_ptr<KeyLock>(std::move(held));
    }
  }
  return Status::IOError(KeyContext("lock", key) + ": its directory kept vanishing");
}

Result<uint64_t> LocalStore::RemoveStaleTemporaries(std::chrono::seconds older_than) {
  struct timespec now {};
  ::clock_gettime(CLOCK_REALTIME, &now);
  const int64_t threshold = static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec -
                            static_cast<int64_t>(older_than.count()) * 1000000000;
  FileDescriptor root(::openat(root_fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return OsError("open", root_, errno);
  uint64_t removed = 0;
  RETURN_IF_ERROR_CTX(RemoveStaleAt(root.get(), root_, threshold, removed),
                      "remove stale temporaries of " + description());
  return removed;
}

}  // namespace zarrpp
