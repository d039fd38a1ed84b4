// stores/local_paths.h - how LocalStore resolves keys beneath its root: openat2 or a component
// walk without symlinks, reads that follow symlinks only beneath the root, and what a stopped
// resolution means (a symlink, damage, or an OS error). Internal to LocalStore.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zarrpp/status.h"

namespace zarrpp::internal {

// Directories can be removed by a concurrent erase() of a sibling between resolving them and
// creating a file in them; each such race costs one more attempt, and this bounds them.
constexpr int kMaxAttempts = 16;

// The text of errno `err`.
std::string ErrnoText(int err);
// IOError "<op> '<path>': <errno text>".
Status OsError(std::string_view op, const std::string& path, int err);
// "<op> of key '<key>'", the context of a key's errors.
std::string KeyContext(std::string_view op, std::string_view key);

// Closes the descriptor on every path out of a function.
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(FileDescriptor&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  FileDescriptor& operator=(FileDescriptor&& o) noexcept {
    if (this != &o) Reset(o.Release());
    return *this;
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Closes now and reports the result: close() can report a deferred write error.
  int Close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_ = -1;
};

// "a/b/c" -> {"a/b", "c"}; "c" -> {"", "c"}.
std::pair<std::string_view, std::string_view> SplitKey(std::string_view key);

// How resolving a directory with no symlinks went.
struct DirResult {
  FileDescriptor fd;
  int err = 0;            // 0, or the errno that stopped it
  std::string component;  // the path (relative to the root) where it stopped, when known
};

// Opens the directory `rel` ("" for the root) beneath `root_fd` without following any symlink: in
// one openat2 call where the kernel has it, else by one component at a time (the walk also runs to
// create missing directories with `create`, syncing their parents with `fsync_created`, and to
// name the component that stopped it). ELOOP: a component is a symlink; ENOTDIR: a component is
// something else than a directory.
DirResult OpenDirBeneath(int root_fd, std::string_view rel, bool create, bool fsync_created);

// The Status of a resolution that stopped with `err` (not ENOENT) on `component`.
Status ResolveError(std::string_view op, std::string_view key, int err,
                    const std::string& component, const std::string& root);

// Corruption: a directory stands where the value of `key` belongs.
Status IsADirectory(std::string_view op, std::string_view key);

// A directory entry and its kind, as seen without following a symlink.
enum class EntryKind { kFile, kDirectory, kLink, kOther };

struct Entry {
  std::string name;
  EntryKind kind;
};

// Reads the entries of the open directory `dir_fd` (which stays open). `path` names it in errors.
Status ReadEntriesAt(int dir_fd, const std::string& path, std::vector<Entry>& entries);

// Opens `rel` ("" or "." for the root) beneath `root_fd` for reading: symlinks are followed while
// they stay beneath the root (all of them with `follow_outside`). -1 with errno EXDEV when the
// path leaves the root.
int OpenForRead(int root_fd, const char* rel, int flags, bool follow_outside,
                const std::string& real_root);
inline int OpenForRead(int root_fd, const std::string& rel, int flags, bool follow_outside,
                       const std::string& real_root) {
  return OpenForRead(root_fd, rel.c_str(), flags, follow_outside, real_root);
}

}  // namespace zarrpp::internal
