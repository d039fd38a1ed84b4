// stores/local_store.cc - the Store operations of LocalStore: opening the root, reads, atomic and
// in-place writes, erase and listing. Path resolution is in local_paths.cc, locks in
// local_locks.cc.
#include "zarrpp/local_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

#include "src/store_internal.h"
#include "stores/local_locks.h"
#include "stores/local_paths.h"
#include "stores/local_store_internal.h"
#include "zarrpp/open_store.h"

namespace zarrpp::internal {
namespace {

Generation GenerationOf(const struct stat& st) {
  char buf[128];
  int n = std::snprintf(
      buf, sizeof(buf), "%llx.%llx.%llx.%llx.%llx", static_cast<unsigned long long>(st.st_dev),
      static_cast<unsigned long long>(st.st_ino), static_cast<unsigned long long>(st.st_size),
      static_cast<unsigned long long>(MtimeNs(st)),
      static_cast<unsigned long long>(static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 +
                                      st.st_ctim.tv_nsec));
  return Generation::Of(std::string(buf, static_cast<size_t>(n)));
}

// An mtime for a write: strictly later than every one this process handed out and than the
// file's previous mtime, so the generation changes on every write even when the kernel's clock
// ticks coarsely.
int64_t FreshMtimeNs(int64_t previous_ns) {
  static std::atomic<int64_t> last{0};
  struct timespec now {};
  ::clock_gettime(CLOCK_REALTIME, &now);
  const int64_t t = static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
  int64_t prev = last.load(std::memory_order_relaxed);
  for (;;) {
    const int64_t next = std::max({t, prev + 1, previous_ns + 1});
    if (last.compare_exchange_weak(prev, next, std::memory_order_relaxed)) return next;
  }
}

int SetMtime(int fd, int64_t ns) {
  struct timespec times[2];
  times[0].tv_sec = 0;
  times[0].tv_nsec = UTIME_OMIT;
  times[1].tv_sec = static_cast<time_t>(ns / 1000000000);
  times[1].tv_nsec = static_cast<long>(ns % 1000000000);
  return ::futimens(fd, times) == 0 ? 0 : errno;
}

Status WriteAll(int fd, ByteView value, uint64_t offset, const std::string& path) {
  const uint8_t* p = value.data();
  size_t left = value.size();
  while (left > 0) {
    ssize_t n = ::pwrite(fd, p, left, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return OsError("write", path, errno);
    }
    p += n;
    offset += static_cast<uint64_t>(n);
    left -= static_cast<size_t>(n);
  }
  return Status::OK();
}

// A directory entry's name is listed only when it could have been written as a key segment.
bool IsListableName(std::string_view name) {
  if (name == "." || name == "..") return false;
  if (name.starts_with(kReservedPrefix)) return false;
  return name.find('\\') == std::string_view::npos;
}

// How listing sees the entries of one store, so that it shows what reads see: a symlink counts as
// what it points to when a read may follow it (beneath the root, unless the options allow more),
// and a directory it points to is listed through it. A symlink that reads would refuse (it leaves
// the root) is listed as a key, so that reading it reports the link instead of a consumer of the
// listing taking its data for missing. A directory already on the path being listed is not
// entered again, so a listing can never loop.
struct Lister {
  int root_fd;
  bool follow_outside;
  const std::string& real_root;

  EntryKind Kind(const Entry& e, const std::string& key) const {
    if (e.kind != EntryKind::kLink) return e.kind;
    FileDescriptor fd(OpenForRead(root_fd, key, O_PATH, follow_outside, real_root));
    if (!fd.valid()) return errno == EXDEV ? EntryKind::kFile : EntryKind::kOther;
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return EntryKind::kOther;
    if (S_ISREG(st.st_mode)) return EntryKind::kFile;
    if (S_ISDIR(st.st_mode)) return EntryKind::kDirectory;
    return EntryKind::kOther;
  }
};

using DirectoryId = std::pair<dev_t, ino_t>;

Status ListTreeAt(const Lister& lister, int dir_fd, const std::string& path,
                  const std::string& key_prefix, std::vector<std::string>& keys,
                  std::vector<DirectoryId>& ancestors) {
  struct stat self;
  if (::fstat(dir_fd, &self) != 0) return OsError("fstat", path, errno);
  const DirectoryId id{self.st_dev, self.st_ino};
  if (std::find(ancestors.begin(), ancestors.end(), id) != ancestors.end()) return Status::OK();
  ancestors.push_back(id);
  std::vector<Entry> entries;
  RETURN_IF_ERROR(ReadEntriesAt(dir_fd, path, entries));
  for (const Entry& e : entries) {
    if (!IsListableName(e.name)) continue;
    const std::string key = key_prefix + e.name;
    const EntryKind kind = lister.Kind(e, key);
    if (kind == EntryKind::kFile) {
      keys.push_back(key);
    } else if (kind == EntryKind::kDirectory) {
      FileDescriptor child(
          e.kind == EntryKind::kLink
              ? OpenForRead(lister.root_fd, key, O_RDONLY | O_DIRECTORY, lister.follow_outside,
                            lister.real_root)
              : ::openat(dir_fd, e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!child.valid()) {
        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) continue;  // changed under us
        return OsError("open directory", path + "/" + e.name, errno);
      }
      RETURN_IF_ERROR(
          ListTreeAt(lister, child.get(), path + "/" + e.name, key + "/", keys, ancestors));
    }
  }
  ancestors.pop_back();
  return Status::OK();
}

// Removes everything inside `dir_fd` (not the directory itself), never following a symlink:
// symlinks are removed as links. Lock files of live holders are kept. Entries that vanish
// concurrently are fine.
Status RemoveContentsAt(int dir_fd, const std::string& path) {
  std::vector<Entry> entries;
  RETURN_IF_ERROR(ReadEntriesAt(dir_fd, path, entries));
  for (const Entry& e : entries) {
    const std::string child_path = path + "/" + e.name;
    if (e.kind == EntryKind::kDirectory) {
      FileDescriptor child(
          ::openat(dir_fd, e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!child.valid()) {
        if (errno == ENOENT) continue;
        return OsError("open directory", child_path, errno);
      }
      RETURN_IF_ERROR(RemoveContentsAt(child.get(), child_path));
      if (::unlinkat(dir_fd, e.name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT &&
          errno != ENOTEMPTY && errno != EEXIST) {
        return OsError("rmdir", child_path, errno);
      }
    } else if (std::string_view(e.name).starts_with(kLockPrefix)) {
      RemoveUnheldLockFile(dir_fd, e.name.c_str(), -1);
    } else if (::unlinkat(dir_fd, e.name.c_str(), 0) != 0 && errno != ENOENT) {
      return OsError("unlink", child_path, errno);
    }
  }
  return Status::OK();
}

// A value opened for reading: the descriptor (invalid when the key is missing) and its fstat,
// taken under a shared OFD lock when `lock` (released when the descriptor closes).
struct OpenedValue {
  FileDescriptor fd;
  struct stat st {};
  bool locked = false;  // holds the shared lock (the value had been patched in place)
};

// Whether `st` carries the mark an in-place patch sets before its first write (the sticky bit,
// which Linux ignores on regular files). A value that never carried it was only ever written
// whole (a new file renamed into place), so reading it needs no lock.
bool PatchedInPlace(const struct stat& st) {
  return (st.st_mode & S_ISVTX) != 0;
}

Status LockForRead(OpenedValue& v, std::string_view key, std::string_view op,
                   const std::string& root) {
  const int err = OfdLock(v.fd.get(), F_RDLCK, true);
  if (err != 0 && err != ENOLCK && err != EOPNOTSUPP && err != EINVAL) {
    return OsError("lock", root + "/" + std::string(key), err).WithContext(KeyContext(op, key));
  }
  v.locked = true;
  if (::fstat(v.fd.get(), &v.st) != 0) {
    return OsError("fstat", root + "/" + std::string(key), errno).WithContext(KeyContext(op, key));
  }
  return Status::OK();
}

// Opens the file of `key` for reading, without looking at it: `v.fd` stays invalid when the key is
// missing.
Status OpenValueFile(int root_fd, std::string_view key, std::string_view op, bool follow_outside,
                     const std::string& real_root, const std::string& root, OpenedValue& v) {
  // A NUL-terminated copy of the key, on the stack for every key but a very long one.
  char small[256];
  std::string large;
  const char* rel = small;
  if (key.size() < sizeof(small)) {
    std::memcpy(small, key.data(), key.size());
    small[key.size()] = '\0';
  } else {
    large.assign(key);
    rel = large.c_str();
  }
  // O_NONBLOCK keeps a FIFO planted under the root from blocking the reader.
  v.fd.Reset(OpenForRead(root_fd, rel, O_RDONLY | O_NONBLOCK, follow_outside, real_root));
  if (!v.fd.valid()) {
    const int err = errno;
    if (err == ENOENT) return Status::OK();
    return ResolveError(op, key, err, "", root);
  }
  return Status::OK();
}

// Judges an opened value by its fstat in `v.st`: a directory is damage (or absent with
// `dir_is_absent`), anything but a regular file is no value (`v.fd` reset), and with `lock` a
// value that has been patched in place is locked for reading and looked at again.
Status InspectOpened(OpenedValue& v, std::string_view key, std::string_view op,
                     const std::string& root, bool lock, bool dir_is_absent) {
  if (S_ISDIR(v.st.st_mode)) {
    // Reading a value's bytes where a directory stands is damage; asking whether a value is
    // there is answered "no", since a directory is also what a prefix looks like.
    if (!dir_is_absent) return IsADirectory(op, key);
    v.fd.Reset(-1);
  }
  if (!S_ISREG(v.st.st_mode)) {
    v.fd.Reset(-1);  // a FIFO or device is not a value
    return Status::OK();
  }
  if (lock && PatchedInPlace(v.st)) RETURN_IF_ERROR(LockForRead(v, key, op, root));
  return Status::OK();
}

// With `lock`, a value that has been patched in place is opened under its shared lock, so that
// no patch is half-applied while it is read; any other value is read unlocked and checked with
// RereadLocked afterwards.
Status OpenValue(int root_fd, std::string_view key, std::string_view op, bool follow_outside,
                 const std::string& real_root, const std::string& root, bool lock, OpenedValue& v,
                 bool dir_is_absent = false) {
  RETURN_IF_ERROR(OpenValueFile(root_fd, key, op, follow_outside, real_root, root, v));
  if (!v.fd.valid()) return Status::OK();
  if (::fstat(v.fd.get(), &v.st) != 0) {
    return OsError("fstat", root + "/" + std::string(key), errno).WithContext(KeyContext(op, key));
  }
  return InspectOpened(v, key, op, root, lock, dir_is_absent);
}

// After reading a value opened without its lock: true when an in-place patch began since the
// open (its mark is set before its first write, so a read that saw any of its bytes sees the
// mark here). The value is then locked and its metadata re-read, and the caller reads again.
Result<bool> RereadLocked(OpenedValue& v, std::string_view key, std::string_view op,
                          const std::string& root) {
  if (v.locked || !v.fd.valid()) return false;
  struct stat now;
  if (::fstat(v.fd.get(), &now) != 0) {
    return OsError("fstat", root + "/" + std::string(key), errno).WithContext(KeyContext(op, key));
  }
  if (!PatchedInPlace(now)) return false;
  RETURN_IF_ERROR(LockForRead(v, key, op, root));
  return true;
}

// Names a value's file in error messages; the path is put together only when an error needs it.
struct ValuePath {
  std::string_view base;  // the store's root and a slash
  std::string_view key;
  std::string str() const {
    std::string path(base);
    path += key;
    return path;
  }
};

// Reads `dest.size()` bytes at `offset` of the open file into `dest` (skipped when null); the
// file was `size` bytes when opened.
Status ReadAt(int fd, const ValuePath& where, uint64_t offset, MutableByteView dest,
              uint64_t size) {
  const std::string_view key = where.key;
  if (dest.data() == nullptr) return Status::OK();
  uint64_t done = 0;
  while (done < dest.size()) {
    ssize_t n =
        ::pread(fd, dest.data() + done, dest.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return OsError("pread", where.str(), errno).WithContext(KeyContext("get", key));
    }
    if (n == 0) {
      return Status::IOError("get of key '" + std::string(key) + "': file '" + where.str() +
                             "' shrank while being read (expected " + std::to_string(size) +
                             " bytes, got " + std::to_string(offset + done) + ")");
    }
    done += static_cast<uint64_t>(n);
  }
  return Status::OK();
}

// Reads the first `size` bytes of the open file into the front of `pieces`. Pieces go to the
// kernel many at a time (preadv): a skipped stretch between two pieces, when short, is read into
// a scratch buffer and dropped, so that the rows of a part of a chunk cost one call, not one per
// row. A longer stretch starts a new call, and the per-piece reads finish anything a call left.
Status ReadIntoPieces(int fd, const ValuePath& where, uint64_t size,
                      std::span<const MutableByteView> pieces) {
  constexpr uint64_t kMaxGap = 64 << 10;
  constexpr size_t kMaxIov = 1024;            // IOV_MAX on Linux
  alignas(64) static uint8_t sink[16 << 10];  // written by the kernel, never read
  std::vector<iovec> iov;
  uint64_t at = 0;         // file offset of the next byte
  uint64_t batch_at = 0;   // file offset of the batch's first byte
  uint64_t batch_len = 0;  // bytes the batch reads
  uint64_t pending = 0;    // a skipped stretch not yet added to the batch
  uint64_t done_upto = 0;  // every piece byte before this offset has been read
  auto flush = [&]() -> bool {
    if (iov.empty()) return true;
    const ssize_t n =
        ::preadv(fd, iov.data(), static_cast<int>(iov.size()), static_cast<off_t>(batch_at));
    iov.clear();
    if (n < 0 || static_cast<uint64_t>(n) != batch_len) return false;
    done_upto = batch_at + batch_len;
    return true;
  };
  bool ok = true;
  for (const MutableByteView& p : pieces) {
    if (!ok || at >= size) break;
    const uint64_t k = std::min<uint64_t>(p.size(), size - at);
    if (p.data() == nullptr) {
      pending += k;
    } else if (k > 0) {
      if (!iov.empty() &&
          (pending > kMaxGap || iov.size() + 2 + pending / sizeof(sink) >= kMaxIov)) {
        ok = flush();
      }
      if (iov.empty()) {
        batch_at = at;
        batch_len = 0;
      } else {
        for (uint64_t g = pending; g > 0;) {
          const uint64_t n = std::min<uint64_t>(g, sizeof(sink));
          iov.push_back({sink, n});
          batch_len += n;
          g -= n;
        }
      }
      pending = 0;
      iov.push_back({p.data(), k});
      batch_len += k;
    }
    at += k;
  }
  if (ok) ok = flush();
  (void)ok;  // a short or failed batch is read again below, piece by piece, with its error
  return internal::ForEachFrontPiece(pieces, size, [&](MutableByteView part, uint64_t off) {
    if (off + part.size() <= done_upto) return Status::OK();
    return ReadAt(fd, where, off, part, size);
  });
}

}  // namespace

std::atomic<bool> g_keep_patch_marks{true};

void SetLocalStoreKeepsPatchMarks(bool keep) {
  g_keep_patch_marks.store(keep, std::memory_order_relaxed);
}

}  // namespace zarrpp::internal

namespace zarrpp {

using internal::DirectoryId;
using internal::DirResult;
using internal::Entry;
using internal::EntryKind;
using internal::ErrnoText;
using internal::FileDescriptor;
using internal::FreshMtimeNs;
using internal::g_keep_patch_marks;
using internal::GenerationOf;
using internal::InspectOpened;
using internal::IsADirectory;
using internal::IsListableName;
using internal::KeyContext;
using internal::kMaxAttempts;
using internal::Lister;
using internal::ListTreeAt;
using internal::MtimeNs;
using internal::OfdLock;
using internal::OpenDirBeneath;
using internal::OpenedValue;
using internal::OpenForRead;
using internal::OpenValue;
using internal::OpenValueFile;
using internal::OsError;
using internal::PatchedInPlace;
using internal::ReadAt;
using internal::ReadEntriesAt;
using internal::ReadIntoPieces;
using internal::RemoveContentsAt;
using internal::RereadLocked;
using internal::ResolveError;
using internal::SetMtime;
using internal::SharedReadLock;
using internal::SplitKey;
using internal::TempName;
using internal::ValuePath;
using internal::WriteAll;

class LocalStore::Reader final : public ValueReader {
 public:
  Reader(FileDescriptor fd, const struct stat& st, std::string key, std::string base)
      : fd_(std::move(fd)),
        key_(std::move(key)),
        base_(std::move(base)),
        size_(static_cast<uint64_t>(st.st_size)),
        mtime_ns_(MtimeNs(st)),
        generation_(GenerationOf(st)) {}
  uint64_t size() const override { return size_; }
  const Generation& generation() const override { return generation_; }
  Result<bool> read(ByteRange range, Bytes& out) override {
    ASSIGN_OR_RETURN(auto bounds, range.Resolve(size_, key_));
    const SharedReadLock lock(fd_.get());
    struct stat st;
    if (::fstat(fd_.get(), &st) != 0) {
      return OsError("fstat", ValuePath{base_, key_}.str(), errno)
          .WithContext(KeyContext("read", key_));
    }
    // Patched in place since the open (every write sets a fresh mtime): that version is gone.
    if (static_cast<uint64_t>(st.st_size) != size_ || MtimeNs(st) != mtime_ns_) return false;
    out.resize(bounds.second - bounds.first);
    RETURN_IF_ERROR(ReadAt(fd_.get(), ValuePath{base_, key_}, bounds.first, out, size_));
    return true;
  }

 private:
  FileDescriptor fd_;
  std::string key_;
  std::string base_;
  uint64_t size_;
  int64_t mtime_ns_;
  Generation generation_;
};

LocalStore::LocalStore(std::string root, std::string real_root, int root_fd,
                       LocalStoreOptions options)
    : root_(std::move(root)),
      real_root_(std::move(real_root)),
      base_(root_ == "/" ? root_ : root_ + "/"),
      root_fd_(root_fd),
      options_(options) {}

LocalStore::~LocalStore() {
  ::close(root_fd_);
}

Result<std::shared_ptr<LocalStore>> LocalStore::Open(std::string root, LocalStoreOptions options) {
  if (root.empty()) return Status::InvalidArgument("LocalStore root path is empty");
  // A URL is understood (file://, decoded as OpenStore decodes it) or refused naming its scheme;
  // it is never taken as a relative path (which would create "./file:/...").
  ASSIGN_OR_RETURN(std::optional<std::string> local, LocalPathOf(root));
  if (!local) {
    return Status::InvalidArgument("LocalStore root '" + root + "' is a " +
                                   root.substr(0, root.find("://")) +
                                   ":// URL; LocalStore takes a path or a file:// URL (OpenStore "
                                   "in zarrpp/open_store.h opens other schemes)");
  }
  root = std::move(*local);
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
                              "' does not exist (LocalStore::Open never creates it; use "
                              "LocalStore::Create to make a new store)");
    }
    std::filesystem::create_directories(normalized, ec);
    if (ec) return Status::IOError("create LocalStore root '" + normalized + "': " + ec.message());
  } else {
    return OsError("stat LocalStore root", normalized, errno);
  }
  FileDescriptor fd(::open(normalized.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return OsError("open LocalStore root", normalized, errno);
  std::string real_root = normalized;
  if (char* real = ::realpath(normalized.c_str(), nullptr)) {
    real_root = real;
    std::free(real);
  }
  std::shared_ptr<LocalStore> store(
      new LocalStore(std::move(normalized), std::move(real_root), fd.Release(), options));
  if (options.remove_stale_temporaries_after.count() > 0 &&
      ::access(store->root_.c_str(), W_OK) == 0) {
    // Best effort: a failure to clean up must not stop the store from opening.
    (void)store->RemoveStaleTemporaries(options.remove_stale_temporaries_after);
  }
  return store;
}

Result<std::shared_ptr<LocalStore>> LocalStore::Create(std::string root,
                                                       LocalStoreOptions options) {
  options.create = true;
  return Open(std::move(root), options);
}

StoreCapabilities LocalStore::capabilities() const {
  StoreCapabilities caps;
  caps.partial_reads = true;
  caps.set_range = true;
  caps.atomic_set = true;
  caps.generations = true;
  caps.conditional_writes = true;
  caps.key_locks = true;
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

Result<bool> LocalStore::get_into(std::string_view key, ByteRange range, Bytes& out) {
  RETURN_IF_ERROR(ValidateKey(key));
  OpenedValue v;
  RETURN_IF_ERROR(OpenValue(root_fd_, key, "get", options_.follow_symlinks_outside_root, real_root_,
                            root_, true, v));
  if (!v.fd.valid()) return false;
  for (;;) {
    const auto size = static_cast<uint64_t>(v.st.st_size);
    ASSIGN_OR_RETURN(auto bounds, range.Resolve(size, key));
    out.resize(bounds.second - bounds.first);
    RETURN_IF_ERROR(ReadAt(v.fd.get(), ValuePath{base_, key}, bounds.first, out, bounds.second));
    ASSIGN_OR_RETURN(bool again, RereadLocked(v, key, "get", root_));
    if (!again) return true;
  }
}

Result<bool> LocalStore::get_scatter(std::string_view key,
                                     std::span<const MutableByteView> pieces) {
  RETURN_IF_ERROR(ValidateKey(key));
  OpenedValue v;
  RETURN_IF_ERROR(OpenValue(root_fd_, key, "get", options_.follow_symlinks_outside_root, real_root_,
                            root_, true, v));
  if (!v.fd.valid()) return false;
  for (;;) {
    const auto size = static_cast<uint64_t>(v.st.st_size);
    const uint64_t expected = internal::PiecesSize(pieces);
    if (size != expected) return internal::ScatterSizeMismatch(key, size, expected);
    RETURN_IF_ERROR(ReadIntoPieces(v.fd.get(), ValuePath{base_, key}, size, pieces));
    ASSIGN_OR_RETURN(bool again, RereadLocked(v, key, "get", root_));
    if (!again) return true;
  }
}

Result<std::optional<uint64_t>> LocalStore::get_at(std::string_view key, uint64_t offset,
                                                   MutableByteView dest) {
  RETURN_IF_ERROR(ValidateKey(key));
  OpenedValue v;
  RETURN_IF_ERROR(OpenValueFile(root_fd_, key, "get", options_.follow_symlinks_outside_root,
                                real_root_, root_, v));
  if (!v.fd.valid()) return std::optional<uint64_t>();
  // Read first, look after: one fstat instead of one before and one after. A regular file that
  // does not carry the patch mark after the read was not patched while it was read (the mark is
  // set before a patch's first write and never cleared) and so kept its size, which the same
  // fstat gives. pread of a directory, FIFO or device fails or is judged below as before.
  ssize_t n = 0;
  if (!dest.empty()) {
    do {
      n = ::pread(v.fd.get(), dest.data(), dest.size(), static_cast<off_t>(offset));
    } while (n < 0 && errno == EINTR);
  }
  if (::fstat(v.fd.get(), &v.st) != 0) {
    return OsError("fstat", ValuePath{base_, key}.str(), errno).WithContext(KeyContext("get", key));
  }
  if (S_ISREG(v.st.st_mode) && !PatchedInPlace(v.st)) {
    const auto size = static_cast<uint64_t>(v.st.st_size);
    const bool inside = offset <= size && dest.size() <= size - offset;
    if (!inside || static_cast<uint64_t>(n) == dest.size()) return std::optional<uint64_t>(size);
    // A short read of a file long enough: read again the careful way below.
  }
  RETURN_IF_ERROR(InspectOpened(v, key, "get", root_, true, false));
  if (!v.fd.valid()) return std::optional<uint64_t>();
  for (;;) {
    const auto size = static_cast<uint64_t>(v.st.st_size);
    if (offset <= size && dest.size() <= size - offset) {
      RETURN_IF_ERROR(ReadAt(v.fd.get(), ValuePath{base_, key}, offset, dest, size));
    }
    ASSIGN_OR_RETURN(bool again, RereadLocked(v, key, "get", root_));
    if (!again) return std::optional<uint64_t>(size);
  }
}

Result<std::optional<uint64_t>> LocalStore::get_within(std::string_view key,
                                                       std::span<const MutableByteView> pieces) {
  RETURN_IF_ERROR(ValidateKey(key));
  OpenedValue v;
  RETURN_IF_ERROR(OpenValue(root_fd_, key, "get", options_.follow_symlinks_outside_root, real_root_,
                            root_, true, v));
  if (!v.fd.valid()) return std::optional<uint64_t>();
  for (;;) {
    const auto size = static_cast<uint64_t>(v.st.st_size);
    if (size <= internal::PiecesSize(pieces)) {
      RETURN_IF_ERROR(ReadIntoPieces(v.fd.get(), ValuePath{base_, key}, size, pieces));
    }
    ASSIGN_OR_RETURN(bool again, RereadLocked(v, key, "get", root_));
    if (!again) return std::optional<uint64_t>(size);
  }
}

Result<ReadResult> LocalStore::get_if(std::string_view key, ByteRange range, Bytes& out,
                                      const Generation* if_equal) {
  RETURN_IF_ERROR(ValidateKey(key));
  OpenedValue v;
  RETURN_IF_ERROR(OpenValue(root_fd_, key, "get", options_.follow_symlinks_outside_root, real_root_,
                            root_, true, v));
  for (;;) {
    ReadResult r;
    r.generation = v.fd.valid() ? GenerationOf(v.st) : Generation::Absent();
    if (if_equal != nullptr && !(*if_equal == r.generation)) {
      r.condition_met = false;
      return r;
    }
    if (!v.fd.valid()) return r;
    const auto size = static_cast<uint64_t>(v.st.st_size);
    ASSIGN_OR_RETURN(auto bounds, range.Resolve(size, key));
    out.resize(bounds.second - bounds.first);
    RETURN_IF_ERROR(ReadAt(v.fd.get(), ValuePath{base_, key}, bounds.first, out, bounds.second));
    ASSIGN_OR_RETURN(bool again, RereadLocked(v, key, "get", root_));
    if (again) continue;
    r.found = true;
    return r;
  }
}

Result<Generation> LocalStore::generation(std::string_view key) {
  RETURN_IF_ERROR(ValidateKey(key));
  OpenedValue v;
  RETURN_IF_ERROR(OpenValue(root_fd_, key, "generation", options_.follow_symlinks_outside_root,
                            real_root_, root_, false, v, /*dir_is_absent=*/true));
  return v.fd.valid() ? GenerationOf(v.st) : Generation::Absent();
}

Result<std::unique_ptr<ValueReader>> LocalStore::open_reader(std::string_view key) {
  RETURN_IF_ERROR(ValidateKey(key));
  OpenedValue v;
  RETURN_IF_ERROR(OpenValue(root_fd_, key, "open_reader", options_.follow_symlinks_outside_root,
                            real_root_, root_, true, v));
  if (!v.fd.valid()) return std::unique_ptr<ValueReader>();
  if (v.locked) OfdLock(v.fd.get(), F_UNLCK, false);
  return std::unique_ptr<ValueReader>(new Reader(std::move(v.fd), v.st, std::string(key), base_));
}

Result<std::optional<uint64_t>> LocalStore::size(std::string_view key) {
  RETURN_IF_ERROR(ValidateKey(key));
  OpenedValue v;
  RETURN_IF_ERROR(OpenValue(root_fd_, key, "size", options_.follow_symlinks_outside_root,
                            real_root_, root_, false, v, /*dir_is_absent=*/true));
  if (!v.fd.valid()) return std::optional<uint64_t>();
  return std::optional<uint64_t>(static_cast<uint64_t>(v.st.st_size));
}

Result<bool> LocalStore::exists(std::string_view key) {
  ASSIGN_OR_RETURN(std::optional<uint64_t> value_size, size(key));
  return value_size.has_value();
}

Status LocalStore::set(std::string_view key, ByteView value) {
  const ByteView one[] = {value};
  return WriteValue(key, one, {}, "set").status();
}

Status LocalStore::set_gather(std::string_view key, std::span<const ByteView> pieces) {
  return WriteValue(key, pieces, {}, "set").status();
}

Result<std::optional<Generation>> LocalStore::set_if(std::string_view key,
                                                     std::span<const ByteView> pieces,
                                                     const WriteConditions& conditions) {
  return WriteValue(key, pieces, conditions, "set");
}

Result<std::optional<Generation>> LocalStore::WriteValue(std::string_view key,
                                                         std::span<const ByteView> pieces,
                                                         const WriteConditions& conditions,
                                                         std::string_view op) {
  RETURN_IF_ERROR(ValidateKey(key));
  RETURN_IF_ERROR(CheckHeld(key, conditions.held));
  const auto [parent, name_view] = SplitKey(key);
  const std::string name(name_view);
  const std::string ctx = KeyContext(op, key);
  const std::string dir_path = parent.empty() ? root_ : PathOf(parent);
  for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
    DirResult dir = OpenDirBeneath(root_fd_, parent, /*create=*/true, options_.fsync);
    if (dir.err == ENOENT) continue;  // an erase removed a directory being created
    if (dir.err != 0) return ResolveError(op, key, dir.err, dir.component, root_);
    std::unique_ptr<Lock> own;
    if (conditions.held == nullptr) {
      ASSIGN_OR_RETURN(own, LockAt(dir.fd.get(), key, op));
      if (!own) continue;
    }
    struct stat current;
    int64_t previous_mtime = 0;
    Generation now = Generation::Absent();
    if (::fstatat(dir.fd.get(), name.c_str(), &current, AT_SYMLINK_NOFOLLOW) == 0) {
      if (S_ISDIR(current.st_mode)) return IsADirectory(op, key);
      previous_mtime = MtimeNs(current);
      now = GenerationOf(current);
    } else if (errno != ENOENT) {
      return OsError("stat", PathOf(key), errno).WithContext(ctx);
    }
    if (conditions.if_equal && !(*conditions.if_equal == now)) return std::optional<Generation>();

    const std::string tmp = TempName();
    const std::string tmp_path = dir_path + "/" + tmp;
    FileDescriptor fd(::openat(dir.fd.get(), tmp.c_str(),
                               O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666));
    if (!fd.valid()) {
      if (errno == ENOENT || errno == EEXIST) continue;
      return OsError("create temporary", tmp_path, errno).WithContext(ctx);
    }
    // Held until the rename, so RemoveStaleTemporaries can tell this live temporary from a
    // crashed writer's.
    OfdLock(fd.get(), F_WRLCK, false);
    auto fail = [&](Status s) {
      ::unlinkat(dir.fd.get(), tmp.c_str(), 0);
      return s.WithContext(ctx);
    };
    uint64_t at = 0;
    for (const ByteView& piece : pieces) {
      Status s = WriteAll(fd.get(), piece, at, tmp_path);
      if (!s.ok()) return fail(s);
      at += piece.size();
    }
    if (int err = SetMtime(fd.get(), FreshMtimeNs(previous_mtime)); err != 0) {
      return fail(OsError("futimens", tmp_path, err));
    }
    if (options_.fsync && ::fsync(fd.get()) != 0) return fail(OsError("fsync", tmp_path, errno));
    if (::renameat(dir.fd.get(), tmp.c_str(), dir.fd.get(), name.c_str()) != 0) {
      const int err = errno;
      ::unlinkat(dir.fd.get(), tmp.c_str(), 0);
      // ENOENT: an erase_prefix removed the temporary or its directory under us.
      if (err == ENOENT) continue;
      if (err == EISDIR || err == ENOTEMPTY || err == EEXIST) return IsADirectory(op, key);
      return Status::IOError(ctx + ": rename '" + tmp_path + "' over '" + PathOf(key) +
                             "': " + ErrnoText(err));
    }
    struct stat written;
    if (::fstat(fd.get(), &written) != 0)
      return OsError("fstat", PathOf(key), errno).WithContext(ctx);
    if (fd.Close() != 0) return OsError("close", PathOf(key), errno).WithContext(ctx);
    if (options_.fsync && ::fsync(dir.fd.get()) != 0) {
      return OsError("fsync directory", dir_path, errno).WithContext(ctx);
    }
    return std::optional<Generation>(GenerationOf(written));
  }
  return Status::IOError(ctx + ": its directory kept vanishing");
}

Status LocalStore::set_range(std::string_view key, uint64_t offset, ByteView value) {
  const RangeWrite write{offset, value};
  return Patch(key, std::span<const RangeWrite>(&write, 1), {}, "set_range", false).status();
}

Result<std::optional<Generation>> LocalStore::patch_if(std::string_view key,
                                                       std::span<const RangeWrite> writes,
                                                       const WriteConditions& conditions) {
  return Patch(key, writes, conditions, "patch", true);
}

Result<std::optional<Generation>> LocalStore::Patch(std::string_view key,
                                                    std::span<const RangeWrite> writes,
                                                    const WriteConditions& conditions,
                                                    std::string_view op, bool may_extend) {
  RETURN_IF_ERROR(ValidateKey(key));
  RETURN_IF_ERROR(CheckHeld(key, conditions.held));
  const auto [parent, name_view] = SplitKey(key);
  const std::string name(name_view);
  const std::string path = PathOf(key);
  const std::string ctx = KeyContext(op, key);
  auto missing = [&]() -> Result<std::optional<Generation>> {
    if (conditions.if_equal && !conditions.if_equal->absent()) return std::optional<Generation>();
    return Status::FailedPrecondition(ctx + ": the key does not exist");
  };
  DirResult dir = OpenDirBeneath(root_fd_, parent, /*create=*/false, false);
  if (dir.err == ENOENT) return missing();
  if (dir.err != 0) return ResolveError(op, key, dir.err, dir.component, root_);
  FileDescriptor fd(
      ::openat(dir.fd.get(), name.c_str(), O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) {
    const int err = errno;
    if (err == ENOENT) return missing();
    if (err == ELOOP) {
      return Status::FailedPrecondition(ctx +
                                        ": the key is a symbolic link; LocalStore never "
                                        "writes through symbolic links");
    }
    if (err == EISDIR) return IsADirectory(op, key);
    return OsError("open", path, err).WithContext(ctx);
  }
  if (int err = OfdLock(fd.get(), F_WRLCK, true);
      err != 0 && err != ENOLCK && err != EOPNOTSUPP && err != EINVAL) {
    return OsError("lock", path, err).WithContext(ctx);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return OsError("fstat", path, errno).WithContext(ctx);
  if (!S_ISREG(st.st_mode)) {
    return Status::FailedPrecondition(ctx + ": '" + path + "' is not a regular file");
  }
  if (conditions.if_equal && !(*conditions.if_equal == GenerationOf(st))) {
    return std::optional<Generation>();
  }
  const auto file_size = static_cast<uint64_t>(st.st_size);
  bool any = false;
  uint64_t end = file_size;  // the value's end as the writes before this one leave it
  for (const RangeWrite& w : writes) {
    const bool inside = w.offset <= end && w.bytes.size() <= end - w.offset;
    if (!inside && !(may_extend && w.offset <= end && w.bytes.size() <= UINT64_MAX - w.offset)) {
      return Status::InvalidArgument(
          ctx + ": offset " + std::to_string(w.offset) + " + length " +
          std::to_string(w.bytes.size()) +
          (may_extend ? " would leave a hole after the value's end " : " passes the value's end ") +
          std::to_string(end));
    }
    end = std::max(end, w.offset + w.bytes.size());
    any = any || !w.bytes.empty();
  }
  if (!any) return std::optional<Generation>(GenerationOf(st));
  // Mark the file before its first byte changes: readers of unmarked files take no lock and
  // look for the mark after reading (OpenValue, RereadLocked).
  if (!PatchedInPlace(st)) {
    if (::fchmod(fd.get(), (st.st_mode & 07777) | S_ISVTX) != 0) {
      return OsError("mark for in-place writes (fchmod)", path, errno).WithContext(ctx);
    }
    struct stat marked;
    if (::fstat(fd.get(), &marked) != 0) return OsError("fstat", path, errno).WithContext(ctx);
    if (!PatchedInPlace(marked) || !g_keep_patch_marks.load(std::memory_order_relaxed)) {
      // A file system that ignores mode changes: readers could not tell a patch is under way,
      // so the value is rewritten whole instead (a new file renamed into place).
      fd.Reset(-1);
      return PatchByRewrite(key, writes, conditions, op, GenerationOf(marked));
    }
  }
  for (const RangeWrite& w : writes) {
    RETURN_IF_ERROR_CTX(WriteAll(fd.get(), w.bytes, w.offset, path), ctx);
  }
  if (int err = SetMtime(fd.get(), FreshMtimeNs(MtimeNs(st))); err != 0) {
    return OsError("futimens", path, err).WithContext(ctx);
  }
  if (options_.fsync && ::fsync(fd.get()) != 0) {
    return OsError("fsync", path, errno).WithContext(ctx);
  }
  struct stat written;
  if (::fstat(fd.get(), &written) != 0) return OsError("fstat", path, errno).WithContext(ctx);
  if (fd.Close() != 0) return OsError("close", path, errno).WithContext(ctx);
  return std::optional<Generation>(GenerationOf(written));
}

Result<std::optional<Generation>> LocalStore::PatchByRewrite(std::string_view key,
                                                             std::span<const RangeWrite> writes,
                                                             const WriteConditions& conditions,
                                                             std::string_view op,
                                                             const Generation& checked) {
  const std::string ctx = KeyContext(op, key);
  for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
    Bytes value;
    ASSIGN_OR_RETURN(ReadResult r, get_if(key, ByteRange::Whole(), value, nullptr));
    if (!r.found) {
      if (conditions.if_equal && !conditions.if_equal->absent()) {
        return std::optional<Generation>();
      }
      return Status::FailedPrecondition(ctx + ": the key does not exist");
    }
    // The caller's condition held for the version Patch marked (`checked`): the value still
    // satisfies it only if it is still that version.
    if (conditions.if_equal && !(checked == r.generation)) return std::optional<Generation>();
    for (const RangeWrite& w : writes) {  // checked against the value's end by Patch
      if (w.offset + w.bytes.size() > value.size()) value.resize(w.offset + w.bytes.size());
      std::copy(w.bytes.begin(), w.bytes.end(), value.begin() + static_cast<ptrdiff_t>(w.offset));
    }
    WriteConditions same;
    same.if_equal = r.generation;
    same.held = conditions.held;
    const ByteView piece(value);
    ASSIGN_OR_RETURN(std::optional<Generation> written,
                     WriteValue(key, std::span<const ByteView>(&piece, 1), same, op));
    if (written) return written;
    // Changed since it was read: with the caller's condition that is an answer, otherwise the
    // patch is applied to the new value.
    if (conditions.if_equal) return std::optional<Generation>();
  }
  return Status::IOError(ctx + ": the value kept changing while it was rewritten");
}

void LocalStore::RemoveEmptyDirectories(std::string rel) const {
  while (!rel.empty()) {
    const auto [parent, name] = SplitKey(rel);
    DirResult dir = OpenDirBeneath(root_fd_, parent, /*create=*/false, false);
    if (dir.err != 0) return;
    // Not empty (or already gone): stop.
    if (::unlinkat(dir.fd.get(), std::string(name).c_str(), AT_REMOVEDIR) != 0) return;
    rel = std::string(parent);
  }
}

Status LocalStore::erase(std::string_view key) {
  return erase_if(key, {}).status();
}

Result<bool> LocalStore::erase_if(std::string_view key, const WriteConditions& conditions) {
  RETURN_IF_ERROR(ValidateKey(key));
  RETURN_IF_ERROR(CheckHeld(key, conditions.held));
  const auto [parent, name_view] = SplitKey(key);
  const std::string name(name_view);
  const std::string ctx = KeyContext("erase", key);
  const bool absent_ok = !conditions.if_equal || conditions.if_equal->absent();
  for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
    DirResult dir = OpenDirBeneath(root_fd_, parent, /*create=*/false, false);
    if (dir.err == ENOENT) return absent_ok;
    if (dir.err != 0) return ResolveError("erase", key, dir.err, dir.component, root_);
    struct stat current;
    if (::fstatat(dir.fd.get(), name.c_str(), &current, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT) return OsError("stat", PathOf(key), errno).WithContext(ctx);
      // Absent: an unconditional erase is done without locking.
      if (!conditions.if_equal) return true;
    } else if (S_ISDIR(current.st_mode)) {
      // A directory is a prefix, not a value: there is nothing to erase.
      return absent_ok;
    }
    std::unique_ptr<Lock> own;
    if (conditions.held == nullptr) {
      ASSIGN_OR_RETURN(own, LockAt(dir.fd.get(), key, "erase"));
      if (!own) continue;
    }
    Generation now = Generation::Absent();
    if (::fstatat(dir.fd.get(), name.c_str(), &current, AT_SYMLINK_NOFOLLOW) == 0) {
      if (S_ISDIR(current.st_mode)) return absent_ok;
      now = GenerationOf(current);
    } else if (errno != ENOENT) {
      return OsError("stat", PathOf(key), errno).WithContext(ctx);
    }
    if (now.absent()) return absent_ok;
    if (conditions.if_equal && !(*conditions.if_equal == now)) return false;
    if (::unlinkat(dir.fd.get(), name.c_str(), 0) != 0 && errno != ENOENT) {
      return OsError("unlink", PathOf(key), errno).WithContext(ctx);
    }
    own.reset();  // removes the lock file, so the directory can be empty
    RemoveEmptyDirectories(std::string(parent));
    return true;
  }
  return Status::IOError(ctx + ": its directory kept vanishing");
}

Status LocalStore::erase_prefix(std::string_view prefix) {
  RETURN_IF_ERROR(ValidatePrefix(prefix));
  const std::string ctx = "erase_prefix '" + std::string(prefix) + "'";
  if (prefix.empty()) {
    FileDescriptor root(::openat(root_fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root.valid()) return OsError("open", root_, errno).WithContext(ctx);
    return RemoveContentsAt(root.get(), root_).WithContext(ctx);
  }
  const std::string_view rel = prefix.substr(0, prefix.size() - 1);
  const auto [parent, name_view] = SplitKey(rel);
  const std::string name(name_view);
  DirResult dir = OpenDirBeneath(root_fd_, parent, /*create=*/false, false);
  // No directory, or a file on the way: nothing is stored under the prefix.
  if (dir.err == ENOENT || dir.err == ENOTDIR) return Status::OK();
  if (dir.err != 0) return ResolveError("erase_prefix", prefix, dir.err, dir.component, root_);
  struct stat st;
  if (::fstatat(dir.fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Status::OK();
    return OsError("stat", PathOf(rel), errno).WithContext(ctx);
  }
  if (S_ISLNK(st.st_mode)) {
    // The keys under a symlinked directory go with the link; what it points to is never touched.
    if (::unlinkat(dir.fd.get(), name.c_str(), 0) != 0 && errno != ENOENT) {
      return OsError("unlink", PathOf(rel), errno).WithContext(ctx);
    }
  } else if (S_ISDIR(st.st_mode)) {
    FileDescriptor sub(
        ::openat(dir.fd.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub.valid()) {
      if (errno == ENOENT) return Status::OK();
      return OsError("open directory", PathOf(rel), errno).WithContext(ctx);
    }
    RETURN_IF_ERROR_CTX(RemoveContentsAt(sub.get(), PathOf(rel)), ctx);
    ::unlinkat(dir.fd.get(), name.c_str(), AT_REMOVEDIR);  // may hold a live lock file
  } else {
    // A file at "a" is the key "a", which does not start with the prefix "a/".
    return Status::OK();
  }
  RemoveEmptyDirectories(std::string(parent));
  return Status::OK();
}

Result<std::vector<std::string>> LocalStore::list_prefix(std::string_view prefix) {
  RETURN_IF_ERROR(ValidatePrefix(prefix));
  const std::string ctx = "list_prefix '" + std::string(prefix) + "'";
  std::vector<std::string> keys;
  const std::string rel(prefix.empty() ? std::string_view() : prefix.substr(0, prefix.size() - 1));
  FileDescriptor dir(OpenForRead(root_fd_, rel, O_RDONLY | O_DIRECTORY,
                                 options_.follow_symlinks_outside_root, real_root_));
  if (!dir.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) return keys;
    return ResolveError("list_prefix", prefix, errno, "", root_);
  }
  const Lister lister{root_fd_, options_.follow_symlinks_outside_root, real_root_};
  std::vector<DirectoryId> ancestors;
  RETURN_IF_ERROR_CTX(ListTreeAt(lister, dir.get(), rel.empty() ? root_ : PathOf(rel),
                                 std::string(prefix), keys, ancestors),
                      ctx);
  std::sort(keys.begin(), keys.end());
  return keys;
}

Result<DirListing> LocalStore::list_dir(std::string_view prefix) {
  RETURN_IF_ERROR(ValidatePrefix(prefix));
  const std::string ctx = "list_dir '" + std::string(prefix) + "'";
  DirListing listing;
  const std::string rel(prefix.empty() ? std::string_view() : prefix.substr(0, prefix.size() - 1));
  FileDescriptor dir(OpenForRead(root_fd_, rel, O_RDONLY | O_DIRECTORY,
                                 options_.follow_symlinks_outside_root, real_root_));
  if (!dir.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) return listing;
    return ResolveError("list_dir", prefix, errno, "", root_);
  }
  std::vector<Entry> entries;
  RETURN_IF_ERROR_CTX(ReadEntriesAt(dir.get(), rel.empty() ? root_ : PathOf(rel), entries), ctx);
  const Lister lister{root_fd_, options_.follow_symlinks_outside_root, real_root_};
  for (const Entry& e : entries) {
    if (!IsListableName(e.name)) continue;
    const EntryKind kind = lister.Kind(e, std::string(prefix) + e.name);
    if (kind == EntryKind::kFile) {
      listing.keys.push_back(std::string(prefix) + e.name);
    } else if (kind == EntryKind::kDirectory) {
      listing.prefixes.push_back(std::string(prefix) + e.name + "/");
    }
  }
  std::sort(listing.keys.begin(), listing.keys.end());
  std::sort(listing.prefixes.begin(), listing.prefixes.end());
  return listing;
}

}  // namespace zarrpp
