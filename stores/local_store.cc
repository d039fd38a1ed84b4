#include "zarrpp/local_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <system_error>
#include <utility>

#include "src/store_internal.h"

namespace zarrpp {

namespace {

constexpr std::string_view kTempPrefix = ".zarrpp-tmp-";

// Parent directories can be removed by a concurrent erase() of a sibling between our mkdir and
// our open; each such race costs one more attempt, and this bounds them.
constexpr int kMaxSetAttempts = 16;

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

// Closes the descriptor on every path out of a function.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
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
  // Closes now and reports the result: close() can report a deferred write error.
  int Close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

class DirHandle {
 public:
  explicit DirHandle(DIR* d) : d_(d) {}
  DirHandle(const DirHandle&) = delete;
  DirHandle& operator=(const DirHandle&) = delete;
  ~DirHandle() {
    if (d_ != nullptr) ::closedir(d_);
  }
  DIR* get() const { return d_; }

 private:
  DIR* d_;
};

std::string ParentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Absent for the store: the path does not exist, or an ancestor is a regular file.
bool IsMissingErrno(int err) {
  return err == ENOENT || err == ENOTDIR;
}

Status WriteAll(int fd, ByteView value, const std::string& path) {
  const uint8_t* p = value.data();
  size_t left = value.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return OsError("write", path, errno);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return Status::OK();
}

Status FsyncDirectory(const std::string& dir) {
  FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return OsError("open directory", dir, errno);
  if (::fsync(fd.get()) != 0) return OsError("fsync directory", dir, errno);
  return Status::OK();
}

// A temporary name no other writer (thread or process) will pick: pid, a per-process random
// nonce, and a per-process counter. O_EXCL turns any residual collision into a retry.
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

// A directory entry's name is listed only when it could have been written as a key segment.
bool IsListableName(std::string_view name) {
  if (name == "." || name == "..") return false;
  if (name.starts_with(kTempPrefix)) return false;
  return name.find('\\') == std::string_view::npos;
}

enum class EntryKind { kFile, kDirectory, kOther };

// Symlinks to files count as files; symlinks to directories are not followed, so a listing
// can never loop.
EntryKind KindOf(const struct dirent* entry, const std::string& path) {
  switch (entry->d_type) {
    case DT_REG: return EntryKind::kFile;
    case DT_DIR: return EntryKind::kDirectory;
    case DT_LNK: {
      struct stat st;
      if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return EntryKind::kFile;
      return EntryKind::kOther;
    }
    case DT_UNKNOWN: {
      struct stat st;
      if (::lstat(path.c_str(), &st) != 0) return EntryKind::kOther;
      if (S_ISREG(st.st_mode)) return EntryKind::kFile;
      if (S_ISDIR(st.st_mode)) return EntryKind::kDirectory;
      if (S_ISLNK(st.st_mode) && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        return EntryKind::kFile;
      }
      return EntryKind::kOther;
    }
    default: return EntryKind::kOther;
  }
}

struct Entry {
  std::string name;
  EntryKind kind;
};

// Reads one directory's listable entries. A directory that does not exist (or stopped existing)
// yields no entries.
Status ReadEntries(const std::string& dir, std::vector<Entry>& entries, bool listable_only) {
  DirHandle d(::opendir(dir.c_str()));
  if (d.get() == nullptr) {
    if (IsMissingErrno(errno)) return Status::OK();
    return OsError("opendir", dir, errno);
  }
  while (true) {
    errno = 0;
    struct dirent* entry = ::readdir(d.get());
    if (entry == nullptr) {
      if (errno != 0) return OsError("readdir", dir, errno);
      break;
    }
    std::string_view name(entry->d_name);
    if (name == "." || name == "..") continue;
    if (listable_only && !IsListableName(name)) continue;
    std::string path = dir;
    path += '/';
    path += name;
    entries.push_back({std::string(name), KindOf(entry, path)});
  }
  return Status::OK();
}

Status ListTree(const std::string& dir, const std::string& key_prefix,
                std::vector<std::string>& keys) {
  std::vector<Entry> entries;
  RETURN_IF_ERROR(ReadEntries(dir, entries, /*listable_only=*/true));
  for (Entry& e : entries) {
    if (e.kind == EntryKind::kFile) {
      keys.push_back(key_prefix + e.name);
    } else if (e.kind == EntryKind::kDirectory) {
      RETURN_IF_ERROR(ListTree(dir + "/" + e.name, key_prefix + e.name + "/", keys));
    }
  }
  return Status::OK();
}

// Removes everything inside `dir` (not `dir` itself). Entries that vanish concurrently are fine.
Status RemoveContents(const std::string& dir) {
  std::vector<Entry> entries;
  RETURN_IF_ERROR(ReadEntries(dir, entries, /*listable_only=*/false));
  for (const Entry& e : entries) {
    std::string path = dir + "/" + e.name;
    if (e.kind == EntryKind::kDirectory) {
      RETURN_IF_ERROR(RemoveContents(path));
      if (::rmdir(path.c_str()) != 0 && !IsMissingErrno(errno)) {
        return OsError("rmdir", path, errno);
      }
    } else if (::unlink(path.c_str()) != 0 && !IsMissingErrno(errno)) {
      return OsError("unlink", path, errno);
    }
  }
  return Status::OK();
}

}  // namespace

LocalStore::LocalStore(std::string root, LocalStoreOptions options)
    : root_(std::move(root)), base_(root_ == "/" ? root_ : root_ + "/"), options_(options) {}

Result<std::shared_ptr<LocalStore>> LocalStore::Open(std::string root, LocalStoreOptions options) {
  if (root.empty()) return Status::InvalidArgument("LocalStore root path is empty");
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(root, ec);
  if (ec) return Status::IOError("LocalStore root '" + root + "': " + ec.message());
  std::string normalized = absolute.lexically_normal().string();
  while (normalized.size() > 1 && normalized.back() == '/') normalized.pop_back();

  struct stat st;
  if (::stat(normalized.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return Status::IOError("LocalStore root '" + normalized + "': " + ErrnoText(ENOTDIR));
    }
  } else if (errno == ENOENT) {
    if (!options.create) {
      return Status::NotFound("LocalStore root '" + normalized +
                              "' does not exist (LocalStoreOptions::create is false)");
    }
    std::filesystem::create_directories(normalized, ec);
    if (ec) return Status::IOError("create LocalStore root '" + normalized + "': " + ec.message());
  } else {
    return OsError("stat LocalStore root", normalized, errno);
  }
  return std::shared_ptr<LocalStore>(new LocalStore(std::move(normalized), options));
}

StoreCapabilities LocalStore::capabilities() const {
  StoreCapabilities caps;
  caps.partial_reads = true;
  caps.set_range = true;
  caps.atomic_set = true;
  return caps;
}

std::string LocalStore::description() const {
  return "file://" + root_;
}

std::string LocalStore::PathOf(std::string_view key) const {
  std::string path;
  path.reserve(base_.size() + key.size());
  path += base_;
  path += key;
  return path;
}

std::mutex& LocalStore::StripeFor(std::string_view key) {
  return stripes_[std::hash<std::string_view>{}(key) % kStripes];
}

namespace {

// The file of a key opened for reading, and its size when opened.
struct OpenedValue {
  std::string path;
  FileDescriptor fd{-1};
  uint64_t size = 0;
};

// Opens `path`, the file of `key`, into `v`. False when the key is missing (no file, or not a
// regular file).
Result<bool> OpenValue(std::string path, std::string_view key, OpenedValue& v) {
  v.path = std::move(path);
  const std::string& p = v.path;
  FileDescriptor& fd = v.fd;
  // O_NONBLOCK keeps a FIFO planted under the root from blocking the reader.
  fd.Reset(::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) {
    if (IsMissingErrno(errno)) return false;
    return OsError("open", p, errno).WithContext(KeyContext("get", key));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return OsError("fstat", p, errno).WithContext(KeyContext("get", key));
  }
  if (!S_ISREG(st.st_mode)) return false;
  v.size = static_cast<uint64_t>(st.st_size);
  return true;
}

// Reads `dest.size()` bytes at `offset` of the open file into `dest` (skipped when null); the
// file was `size` bytes when opened.
Status ReadAt(int fd, const std::string& path, std::string_view key, uint64_t offset,
              MutableByteView dest, uint64_t size) {
  if (dest.data() == nullptr) return Status::OK();
  uint64_t done = 0;
  while (done < dest.size()) {
    ssize_t n =
        ::pread(fd, dest.data() + done, dest.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return OsError("pread", path, errno).WithContext(KeyContext("get", key));
    }
    if (n == 0) {
      return Status::IOError("get of key '" + std::string(key) + "': file '" + path +
                             "' shrank while being read (expected " + std::to_string(size) +
                             " bytes, got " + std::to_string(offset + done) + ")");
    }
    done += static_cast<uint64_t>(n);
  }
  return Status::OK();
}

// Reads the first `size` bytes of the open file into the front of `pieces`.
Status ReadIntoPieces(int fd, const std::string& path, std::string_view key, uint64_t size,
                      std::span<const MutableByteView> pieces) {
  return internal::ForEachFrontPiece(pieces, size, [&](MutableByteView part, uint64_t at) {
    return ReadAt(fd, path, key, at, part, size);
  });
}

}  // namespace

Result<bool> LocalStore::get_into(std::string_view key, ByteRange range, Bytes& out) {
  RETURN_IF_ERROR(ValidateKey(key));
  OpenedValue v;
  ASSIGN_OR_RETURN(bool found, OpenValue(PathOf(key), key, v));
  if (!found) return false;
  ASSIGN_OR_RETURN(auto bounds, range.Resolve(v.size, key));
  out.resize(bounds.second - bounds.first);
  RETURN_IF_ERROR(ReadAt(v.fd.get(), v.path, key, bounds.first, out, bounds.second));
  return true;
}

Result<bool> LocalStore::get_scatter(std::string_view key,
                                     std::span<const MutableByteView> pieces) {
  RETURN_IF_ERROR(ValidateKey(key));
  OpenedValue v;
  ASSIGN_OR_RETURN(bool found, OpenValue(PathOf(key), key, v));
  if (!found) return false;
  const uint64_t expected = internal::PiecesSize(pieces);
  if (v.size != expected) return internal::ScatterSizeMismatch(key, v.size, expected);
  RETURN_IF_ERROR(ReadIntoPieces(v.fd.get(), v.path, key, v.size, pieces));
  return true;
}

Result<std::optional<uint64_t>> LocalStore::get_within(std::string_view key,
                                                       std::span<const MutableByteView> pieces) {
  RETURN_IF_ERROR(ValidateKey(key));
  OpenedValue v;
  ASSIGN_OR_RETURN(bool found, OpenValue(PathOf(key), key, v));
  if (!found) return std::optional<uint64_t>();
  if (v.size <= internal::PiecesSize(pieces)) {
    RETURN_IF_ERROR(ReadIntoPieces(v.fd.get(), v.path, key, v.size, pieces));
  }
  return std::optional<uint64_t>(v.size);
}

Status LocalStore::set(std::string_view key, ByteView value) {
  const ByteView one[] = {value};
  return set_gather(key, one);
}

Status LocalStore::set_gather(std::string_view key, std::span<const ByteView> pieces) {
  RETURN_IF_ERROR(ValidateKey(key));
  const std::string path = PathOf(key);
  std::lock_guard lock(StripeFor(key));
  for (int attempt = 1;; ++attempt) {
    bool retry = false;
    Status s = SetOnce(path, pieces, retry);
    if (!retry || attempt == kMaxSetAttempts) return s.WithContext(KeyContext("set", key));
  }
}

// One attempt of set(): temporary file, write, (fsync), close, rename. Sets `retry` when the
// attempt failed only because a directory on the path vanished or was missing.
Status LocalStore::SetOnce(const std::string& path, std::span<const ByteView> pieces, bool& retry) {
  const std::string dir = ParentOf(path);
  std::string tmp = dir + "/" + TempName();
  FileDescriptor fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
  std::vector<std::string> created_dirs;
  if (!fd.valid()) {
    if (errno == EEXIST) {
      retry = true;
      return OsError("create temporary", tmp, EEXIST);
    }
    if (errno != ENOENT) return OsError("create temporary", tmp, errno);
    // The first write under a new directory: create the missing ancestors, deepest last.
    std::vector<std::string> missing;
    for (std::string d = dir; d.size() > root_.size(); d = ParentOf(d)) {
      if (::mkdir(d.c_str(), 0777) == 0) {
        created_dirs.push_back(d);
        break;
      }
      if (errno == EEXIST) break;
      if (errno != ENOENT) return OsError("mkdir", d, errno);
      missing.push_back(d);
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
      if (::mkdir(it->c_str(), 0777) != 0 && errno != EEXIST) {
        if (errno == ENOENT) retry = true;  // a concurrent erase removed an ancestor
        return OsError("mkdir", *it, errno);
      }
      created_dirs.push_back(*it);
    }
    fd.Reset(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
    if (!fd.valid()) {
      if (errno == ENOENT || errno == EEXIST) retry = true;
      return OsError("create temporary", tmp, errno);
    }
  }

  auto fail = [&](Status s) {
    if (fd.valid()) fd.Close();
    ::unlink(tmp.c_str());
    return s;
  };
  for (const ByteView& piece : pieces) {
    Status s = WriteAll(fd.get(), piece, tmp);
    if (!s.ok()) return fail(s);
  }
  if (options_.fsync && ::fsync(fd.get()) != 0) return fail(OsError("fsync", tmp, errno));
  if (fd.Close() != 0) return fail(OsError("close", tmp, errno));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    // ENOENT: an erase_prefix removed the temporary or its directory under us.
    if (err == ENOENT) retry = true;
    return Status::IOError("rename '" + tmp + "' over '" + path + "': " + ErrnoText(err));
  }
  if (options_.fsync) {
    RETURN_IF_ERROR(FsyncDirectory(dir));
    for (const std::string& d : created_dirs) RETURN_IF_ERROR(FsyncDirectory(ParentOf(d)));
  }
  return Status::OK();
}

Status LocalStore::set_range(std::string_view key, uint64_t offset, ByteView value) {
  RETURN_IF_ERROR(ValidateKey(key));
  const std::string path = PathOf(key);
  const std::string context = KeyContext("set_range", key);
  std::lock_guard lock(StripeFor(key));
  FileDescriptor fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) {
    if (IsMissingErrno(errno) || errno == EISDIR) {
      return Status::FailedPrecondition(context + ": the key does not exist");
    }
    return OsError("open", path, errno).WithContext(context);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return OsError("fstat", path, errno).WithContext(context);
  if (!S_ISREG(st.st_mode)) {
    return Status::FailedPrecondition(context + ": '" + path + "' is not a regular file");
  }
  const auto file_size = static_cast<uint64_t>(st.st_size);
  if (offset > file_size || value.size() > file_size - offset) {
    return Status::InvalidArgument(context + ": offset " + std::to_string(offset) + " + length " +
                                   std::to_string(value.size()) + " passes the value's end " +
                                   std::to_string(file_size));
  }
  size_t done = 0;
  while (done < value.size()) {
    ssize_t n = ::pwrite(fd.get(), value.data() + done, value.size() - done,
                         static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return OsError("pwrite", path, errno).WithContext(context);
    }
    done += static_cast<size_t>(n);
  }
  if (options_.fsync && ::fsync(fd.get()) != 0) {
    return OsError("fsync", path, errno).WithContext(context);
  }
  if (fd.Close() != 0) return OsError("close", path, errno).WithContext(context);
  return Status::OK();
}

namespace {

// Removes `dir` and then its ancestors while they are empty, stopping before `root`.
void RemoveEmptyDirectories(std::string dir, const std::string& root) {
  while (dir.size() > root.size() && dir.starts_with(root)) {
    if (::rmdir(dir.c_str()) != 0) return;  // not empty (or already gone): stop
    dir = ParentOf(dir);
  }
}

}  // namespace

Status LocalStore::erase(std::string_view key) {
  RETURN_IF_ERROR(ValidateKey(key));
  const std::string path = PathOf(key);
  std::lock_guard lock(StripeFor(key));
  if (::unlink(path.c_str()) != 0) {
    // A directory is not a value, so there is nothing to erase.
    if (IsMissingErrno(errno) || errno == EISDIR) return Status::OK();
    return OsError("unlink", path, errno).WithContext(KeyContext("erase", key));
  }
  RemoveEmptyDirectories(ParentOf(path), root_);
  return Status::OK();
}

Status LocalStore::erase_prefix(std::string_view prefix) {
  RETURN_IF_ERROR(ValidatePrefix(prefix));
  const std::string context = "erase_prefix '" + std::string(prefix) + "'";
  if (prefix.empty()) return RemoveContents(root_).WithContext(context);
  const std::string dir = PathOf(prefix.substr(0, prefix.size() - 1));
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) {
    if (IsMissingErrno(errno)) return Status::OK();
    return OsError("lstat", dir, errno).WithContext(context);
  }
  // A file at "a" is the key "a", which does not start with the prefix "a/".
  if (!S_ISDIR(st.st_mode)) return Status::OK();
  RETURN_IF_ERROR_CTX(RemoveContents(dir), context);
  RemoveEmptyDirectories(dir, root_);
  return Status::OK();
}

Result<std::vector<std::string>> LocalStore::list_prefix(std::string_view prefix) {
  RETURN_IF_ERROR(ValidatePrefix(prefix));
  std::vector<std::string> keys;
  const std::string dir = prefix.empty() ? root_ : PathOf(prefix.substr(0, prefix.size() - 1));
  RETURN_IF_ERROR_CTX(ListTree(dir, std::string(prefix), keys),
                      "list_prefix '" + std::string(prefix) + "'");
  std::sort(keys.begin(), keys.end());
  return keys;
}

Result<DirListing> LocalStore::list_dir(std::string_view prefix) {
  RETURN_IF_ERROR(ValidatePrefix(prefix));
  const std::string dir = prefix.empty() ? root_ : PathOf(prefix.substr(0, prefix.size() - 1));
  std::vector<Entry> entries;
  RETURN_IF_ERROR_CTX(ReadEntries(dir, entries, /*listable_only=*/true),
                      "list_dir '" + std::string(prefix) + "'");
  DirListing listing;
  for (Entry& e : entries) {
    if (e.kind == EntryKind::kFile) {
      listing.keys.push_back(std::string(prefix) + e.name);
    } else if (e.kind == EntryKind::kDirectory) {
      listing.prefixes.push_back(std::string(prefix) + e.name + "/");
    }
  }
  std::sort(listing.keys.begin(), listing.keys.end());
  std::sort(listing.prefixes.begin(), listing.prefixes.end());
  return listing;
}

Result<std::optional<uint64_t>> LocalStore::size(std::string_view key) {
  RETURN_IF_ERROR(ValidateKey(key));
  const std::string path = PathOf(key);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (IsMissingErrno(errno)) return std::optional<uint64_t>();
    return OsError("stat", path, errno).WithContext(KeyContext("size", key));
  }
  if (!S_ISREG(st.st_mode)) return std::optional<uint64_t>();
  return std::optional<uint64_t>(static_cast<uint64_t>(st.st_size));
}

Result<bool> LocalStore::exists(std::string_view key) {
  ASSIGN_OR_RETURN(std::optional<uint64_t> value_size, size(key));
  return value_size.has_value();
}

}  // namespace zarrpp
