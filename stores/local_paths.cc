// stores/local_paths.cc - resolution of keys beneath a LocalStore's root (openat2 or a component
// walk), reading directory entries, and the errors a stopped resolution gives.
#include "stores/local_paths.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <string>
#include <system_error>
#include <utility>

#include "stores/local_store_internal.h"

namespace zarrpp::internal {
namespace {

std::atomic<bool> g_use_openat2{true};

int Openat2(int dir_fd, const char* path, int flags, uint64_t resolve) {
#ifdef SYS_openat2
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags);
  how.resolve = resolve;
  for (;;) {
    int fd = static_cast<int>(::syscall(SYS_openat2, dir_fd, path, &how, sizeof(how)));
    // EAGAIN: a concurrent rename made the kernel unsure the walk stayed beneath; try again.
    if (fd < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    return fd;
  }
#else
  (void)dir_fd;
  (void)path;
  (void)flags;
  (void)resolve;
  errno = ENOSYS;
  return -1;
#endif
}

// Opens the directory `rel` ("" for the root) beneath `root_fd` without following any symlink,
// by one component at a time; with `create`, missing directories are made (and with
// `fsync_created` their parents are synced). ELOOP: a component is a symlink; ENOTDIR: a
// component is something else than a directory.
DirResult WalkDir(int root_fd, std::string_view rel, bool create, bool fsync_created) {
  DirResult r;
  r.fd.Reset(::openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!r.fd.valid()) {
    r.err = errno;
    return r;
  }
  size_t begin = 0;
  while (begin < rel.size()) {
    size_t end = rel.find('/', begin);
    if (end == std::string_view::npos) end = rel.size();
    const std::string component(rel.substr(begin, end - begin));
    for (int attempt = 0;; ++attempt) {
      int fd =
          ::openat(r.fd.get(), component.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0) {
        r.fd.Reset(fd);
        break;
      }
      int err = errno;
      if (err == ENOENT && create && attempt < kMaxAttempts) {
        if (::mkdirat(r.fd.get(), component.c_str(), 0777) == 0) {
          if (fsync_created) ::fsync(r.fd.get());
        } else if (errno != EEXIST) {
          err = errno;
          r.err = err;
          r.component = std::string(rel.substr(0, end));
          return r;
        }
        continue;
      }
      if (err == ELOOP || err == ENOTDIR) {
        struct stat st;
        if (::fstatat(r.fd.get(), component.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
          err = S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR;
        }
      }
      r.err = err;
      r.component = std::string(rel.substr(0, end));
      r.fd.Reset(-1);
      return r;
    }
    begin = end + 1;
  }
  return r;
}

std::string Quoted(std::string_view s) {
  std::string q = "'";
  q += s;
  q += "'";
  return q;
}

// Kind of `name` in `dir_fd`, never following a symlink.
EntryKind KindAt(int dir_fd, const struct dirent* entry) {
  switch (entry->d_type) {
    case DT_REG: return EntryKind::kFile;
    case DT_DIR: return EntryKind::kDirectory;
    case DT_LNK: return EntryKind::kLink;
    case DT_UNKNOWN: {
      struct stat st;
      if (::fstatat(dir_fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) return EntryKind::kOther;
      if (S_ISREG(st.st_mode)) return EntryKind::kFile;
      if (S_ISDIR(st.st_mode)) return EntryKind::kDirectory;
      if (S_ISLNK(st.st_mode)) return EntryKind::kLink;
      return EntryKind::kOther;
    }
    default: return EntryKind::kOther;
  }
}

}  // namespace

std::string ErrnoText(int err) {
  return std::generic_category().message(err);
}

Status OsError(std::string_view op, const std::string& path, int err) {
  std::string m(op);
  m += " '";
  m += path;
  m += "': ";
  m += ErrnoText(err);
  return Status::IOError(std::move(m));
}

std::string KeyContext(std::string_view op, std::string_view key) {
  std::string c(op);
  c += " of key '";
  c += key;
  c += "'";
  return c;
}

std::pair<std::string_view, std::string_view> SplitKey(std::string_view key) {
  size_t slash = key.rfind('/');
  if (slash == std::string_view::npos) return {std::string_view(), key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

DirResult OpenDirBeneath(int root_fd, std::string_view rel, bool create, bool fsync_created) {
  if (!rel.empty() && g_use_openat2.load(std::memory_order_relaxed)) {
    const std::string path(rel);
    int fd = Openat2(root_fd, path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                     RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    if (fd >= 0) {
      DirResult r;
      r.fd.Reset(fd);
      return r;
    }
    const int err = errno;
    if (err == ENOSYS) {
      g_use_openat2.store(false, std::memory_order_relaxed);
    } else if (err != ENOENT && err != ELOOP && err != ENOTDIR) {
      DirResult r;
      r.err = err;
      return r;
    } else if (err == ENOENT && !create) {
      DirResult r;
      r.err = ENOENT;
      return r;
    }
  }
  return WalkDir(root_fd, rel, create, fsync_created);
}

Status ResolveError(std::string_view op, std::string_view key, int err,
                    const std::string& component, const std::string& root) {
  const std::string ctx = KeyContext(op, key);
  const std::string where = component.empty() ? "a path component" : Quoted(component);
  switch (err) {
    case ELOOP:
      return Status::FailedPrecondition(ctx + ": " + where +
                                        " is a symbolic link; LocalStore never writes, erases "
                                        "or locks through symbolic links");
    case ENOTDIR:
      return Status::Corruption(ctx + ": " + where +
                                " is a file where a directory belongs (damaged store)");
    case EXDEV:
      return Status::FailedPrecondition(
          ctx +
          ": the path leaves the store's root through a symbolic link "
          "(LocalStoreOptions::follow_symlinks_outside_root is false)");
    default: return OsError("resolve", root + "/" + std::string(key), err).WithContext(ctx);
  }
}

Status IsADirectory(std::string_view op, std::string_view key) {
  return Status::Corruption(KeyContext(op, key) +
                            ": the key is a directory where a value belongs (damaged store)");
}

Status ReadEntriesAt(int dir_fd, const std::string& path, std::vector<Entry>& entries) {
  int dup_fd = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return OsError("dup", path, errno);
  DIR* d = ::fdopendir(dup_fd);
  if (d == nullptr) {
    int err = errno;
    ::close(dup_fd);
    return OsError("fdopendir", path, err);
  }
  ::rewinddir(d);
  Status s;
  while (true) {
    errno = 0;
    struct dirent* entry = ::readdir(d);
    if (entry == nullptr) {
      if (errno != 0) s = OsError("readdir", path, errno);
      break;
    }
    std::string_view name(entry->d_name);
    if (name == "." || name == "..") continue;
    entries.push_back({std::string(name), KindAt(dir_fd, entry)});
  }
  ::closedir(d);
  return s;
}

int OpenForRead(int root_fd, const char* rel, int flags, bool follow_outside,
                const std::string& real_root) {
  const char* path = *rel == '\0' ? "." : rel;
  flags |= O_CLOEXEC;
  if (follow_outside) return ::openat(root_fd, path, flags);
  if (g_use_openat2.load(std::memory_order_relaxed)) {
    int fd = Openat2(root_fd, path, flags, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
    if (fd >= 0 || errno != ENOSYS) return fd;
    g_use_openat2.store(false, std::memory_order_relaxed);
  }
  // Without openat2: open, then check where the opened file really is.
  int fd = ::openat(root_fd, path, flags);
  if (fd < 0) return fd;
  char link[64];
  std::snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  std::string target(PATH_MAX, '\0');
  ssize_t n = ::readlink(link, target.data(), target.size());
  bool beneath = false;
  if (n > 0) {
    target.resize(static_cast<size_t>(n));
    beneath = real_root == "/" || target == real_root ||
              (target.starts_with(real_root) && target[real_root.size()] == '/');
  }
  if (!beneath) {
    ::close(fd);
    errno = EXDEV;
    return -1;
  }
  return fd;
}

void SetLocalStoreUsesOpenat2(bool use) {
  g_use_openat2.store(use, std::memory_order_relaxed);
}

}  // namespace zarrpp::internal
