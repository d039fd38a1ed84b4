// zarrpp/local_store.h - a Store over a directory of the local file system.
//
// The key "a/b/c" is the file <root>/a/b/c: "/" in a key is the directory separator, and every
// key is validated (ValidateKey) on every call, so no key can name a path outside the root.
// Names starting with ".zarrpp-" (temporaries and lock files; no key segment may start so) are
// never listed.
//
// Containment. The root is opened once (Open) and every path is resolved beneath that
// descriptor. Writes, erases, patches and locks never follow a symbolic link: the key's
// directory is resolved with no symlinks at all (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, or
// a component walk with O_NOFOLLOW where the kernel lacks openat2) and a symlink on the way is
// FailedPrecondition naming the key. A key that is itself a symlink is replaced (set) or removed
// (erase) as a link; its target is never touched. erase_prefix removes symlinks, never what they
// point to. Reads follow symlinks that stay inside the root; one that leaves it is
// FailedPrecondition naming the key unless LocalStoreOptions::follow_symlinks_outside_root.
//
// Damage is an error, not absence: a key whose path runs through a regular file ("a/b/c" where
// "a/b" is a file) is Corruption naming the key for every operation on it; a key that is a
// directory is Corruption for reads of its bytes (get_into, get_scatter, get_within, get_if,
// open_reader) and for set/set_range/patch_if, while size/exists/generation report no value and
// erase erases nothing (a directory is also what a prefix looks like). Listing still works and
// shows what is there.
//
// Write paths (durability and the concurrency table are in spec/stores.md):
//   set()        takes the key's lock (below), writes a uniquely named temporary file
//                (".zarrpp-tmp-..." in the key's directory, held under an OFD write lock while
//                written) and renames it over the target: readers see the old or the new value,
//                never a mix. Missing parent directories are created. On failure the temporary
//                is removed and the old value is left intact.
//   set_range(), patch_if()
//                overwrite bytes of the existing file in place (pwrite) under an exclusive OFD
//                lock on the file, after marking the file as patched in place (its sticky bit);
//                reads of a marked file hold a shared OFD lock, and reads of an unmarked one
//                are repeated under it when the mark appears meanwhile, so readers in any
//                process see all of a patch or none of it. Not atomic against a crash. Patching
//                needs ownership of the file (to mark it and set its mtime).
//   erase()      takes the key's lock, unlinks the file, then removes parent directories left
//                empty (never the root).
//
// Generations: a token of dev, inode, size, mtime and ctime (nanoseconds) from fstat. Every write
// path sets the file's mtime itself to a process-unique, strictly increasing time later than the
// file's previous mtime, so the token changes on every write even where kernel timestamps are
// coarse. Conditions (set_if, erase_if, patch_if) are checked under the key's lock (whole-value
// writes) or the file's OFD write lock (patches), so they hold across threads and processes.
//
// Locks: lock(key) takes an exclusive OFD lock on ".zarrpp-lock-<name>" in the key's directory,
// which excludes other threads, other LocalStore objects and other processes (and NFS clients,
// through POSIX locks). Whole-value writes of a key wait for its holder unless they pass the
// lock as WriteConditions::held; patches do not take key locks. A lock file is removed by its
// holder at release; waiters re-check that the file they locked is still the one in the
// directory.
//
// Thread safety: safe for concurrent calls, and for concurrent processes on one root.
//
// Ownership: the store owns a descriptor of its root; values returned are caller-owned copies.
// Readers (open_reader) and KeyLocks must not outlive their store.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zarrpp/store.h"

namespace zarrpp {

struct LocalStoreOptions {
  // Open() creates the root directory (and its missing parents) when it does not exist. Default
  // false: opening never creates anything, so a mistyped path is NotFound naming it instead of a
  // new empty directory. Create() creates whatever this says.
  bool create = false;
  // When true, set() and set_range() fsync the file, and set() also fsyncs the directory that
  // received the rename (and the parents of directories it created), before returning, so the
  // write survives power loss. Default false: writes are atomic against crashes of this process
  // but may be lost (never torn) if the machine loses power; fsync costs a device flush per set.
  bool fsync = false;
  // Reads may follow symbolic links that lead outside the root. Default false: a dataset
  // unpacked from an archive (or written by someone else) must not be able to make a reader
  // return /etc/... as a chunk. Writes never follow symlinks, whatever this says.
  bool follow_symlinks_outside_root = false;
  // When non-zero, Open() removes temporaries and lock files that writers which crashed left
  // behind when they are older than this and no live writer holds them (RemoveStaleTemporaries;
  // one hour is a safe value: no live write keeps a temporary that long). Runs only when the root
  // is writable by this process. Default 0 (off): it walks the whole tree, and an Open of a store
  // of millions of chunks should not pay for that walk each time; run RemoveStaleTemporaries (or
  // `zarrpp clean PATH`) when convenient instead. A stale temporary is never listed or read; it
  // only takes space.
  std::chrono::seconds remove_stale_temporaries_after{0};
};

class LocalStore : public Store {
 public:
  // Opens the store rooted at the existing directory `root`, a path or a file:// URL
  // ("file:///data/x.zarr" or "file://localhost/data/x.zarr"; another scheme, or a file:// URL
  // naming another host, is InvalidArgument naming it and pointing to OpenStore). Never creates
  // anything (unless options.create): a missing root is NotFound naming the path; a root that
  // exists as something else than a directory is IOError.
  static Result<std::shared_ptr<LocalStore>> Open(std::string root, LocalStoreOptions options = {});
  // Creates the directory `root` (a path or a file:// URL, as for Open) and its missing parents,
  // then opens it. An existing directory is fine (its contents are kept): Create is "open,
  // creating if needed", the call for a writer that makes a new dataset.
  static Result<std::shared_ptr<LocalStore>> Create(std::string root,
                                                    LocalStoreOptions options = {});
  ~LocalStore() override;

  // readable, writable, erasable, listable, partial_reads, set_range, atomic_set, generations,
  // conditional_writes and key_locks all true.
  StoreCapabilities capabilities() const override;

  Result<bool> get_into(std::string_view key, ByteRange range, Bytes& out) override;
  // Read the file straight into the pieces (no intermediate buffer).
  Result<bool> get_scatter(std::string_view key, std::span<const MutableByteView> pieces) override;
  Result<std::optional<uint64_t>> get_at(std::string_view key, uint64_t offset,
                                         MutableByteView dest) override;
  Result<std::optional<uint64_t>> get_within(std::string_view key,
                                             std::span<const MutableByteView> pieces) override;
  Status set(std::string_view key, ByteView value) override;
  // Writes the pieces one after another into the temporary file (no intermediate buffer).
  Status set_gather(std::string_view key, std::span<const ByteView> pieces) override;
  Status set_range(std::string_view key, uint64_t offset, ByteView value) override;
  Status erase(std::string_view key) override;
  // Removes the subtree of `prefix` (everything under the root for ""). Not ordered against
  // concurrent writes under the prefix: a key set concurrently may survive. Lock files of live
  // holders are left (with their directories).
  Status erase_prefix(std::string_view prefix) override;
  Result<std::vector<std::string>> list_prefix(std::string_view prefix) override;
  Result<DirListing> list_dir(std::string_view prefix) override;
  Result<bool> exists(std::string_view key) override;
  Result<std::optional<uint64_t>> size(std::string_view key) override;

  Result<ReadResult> get_if(std::string_view key, ByteRange range, Bytes& out,
                            const Generation* if_equal = nullptr) override;
  Result<Generation> generation(std::string_view key) override;
  // Pins the file: renames over the key do not affect the reader; an in-place patch since the
  // open makes read() return false.
  Result<std::unique_ptr<ValueReader>> open_reader(std::string_view key) override;
  Result<std::optional<Generation>> set_if(std::string_view key, std::span<const ByteView> pieces,
                                           const WriteConditions& conditions) override;
  Result<bool> erase_if(std::string_view key, const WriteConditions& conditions) override;
  Result<std::optional<Generation>> patch_if(std::string_view key,
                                             std::span<const RangeWrite> writes,
                                             const WriteConditions& conditions) override;
  Result<std::unique_ptr<KeyLock>> lock(std::string_view key) override;

  // "file://<root>".
  std::string description() const override;

  const std::string& root() const { return root_; }

  // Walks the root (never following symlinks) and removes ".zarrpp-" temporaries and lock files
  // whose mtime is older than `older_than` and that no one holds locked (a live writer or lock
  // holder keeps an OFD lock on its file; such files are never removed). Returns how many were
  // removed.
  Result<uint64_t> RemoveStaleTemporaries(std::chrono::seconds older_than);

 private:
  class Lock;
  class Reader;

  LocalStore(std::string root, std::string real_root, int root_fd, LocalStoreOptions options);

  std::string PathOf(std::string_view key) const;
  // Checks that `held` (when not null) is a lock of `key` taken from this store.
  Status CheckHeld(std::string_view key, const KeyLock* held) const;
  Result<std::unique_ptr<Lock>> LockAt(int dir_fd, std::string_view key, std::string_view op);
  Result<std::optional<Generation>> WriteValue(std::string_view key,
                                               std::span<const ByteView> pieces,
                                               const WriteConditions& conditions,
                                               std::string_view op);
  // Patch on a file system that does not keep the patch mark: read, change, rewrite whole.
  // `checked`: the generation for which Patch found the caller's condition true.
  Result<std::optional<Generation>> PatchByRewrite(std::string_view key,
                                                   std::span<const RangeWrite> writes,
                                                   const WriteConditions& conditions,
                                                   std::string_view op, const Generation& checked);
  Result<std::optional<Generation>> Patch(std::string_view key, std::span<const RangeWrite> writes,
                                          const WriteConditions& conditions, std::string_view op,
                                          bool may_extend);
  // Removes the directory `rel` and then its ancestors while they are empty (never the root).
  void RemoveEmptyDirectories(std::string rel) const;

  const std::string root_;       // as given, without trailing '/' (except for "/")
  const std::string real_root_;  // realpath of the root, for checks where openat2 is missing
  const std::string base_;       // root_ + "/" : the prefix of every value's path
  const int root_fd_;            // O_PATH descriptor of the root: every path resolves beneath it
  const LocalStoreOptions options_;
};

}  // namespace zarrpp
