// zarrpp/local_store.h - a Store over a directory of the local file system.
//
// The key "a/b/c" is the file <root>/a/b/c: "/" in a key is the directory separator, and every
// key is validated (ValidateKey) on every call, so no key can name a path outside the root.
//
// Write paths (durability is spelled out in spec/stores.md):
//   set()        writes a uniquely named temporary file (".zarrpp-tmp-..." in the key's directory,
//                never a valid key and never listed) and renames it over the target: readers see
//                the old or the new value, never a mix. Missing parent directories are created.
//                On failure the temporary is removed and the old value is left intact.
//   set_range()  overwrites bytes of the existing file in place (pwrite); not atomic.
//   erase()      unlinks the file, then removes parent directories left empty (never the root).
//
// A directory is not a value: get()/size() of a path that is a directory report the key as
// missing, and set() over a directory is IOError naming the key.
//
// Thread safety: safe for concurrent calls. set(), set_range() and erase() of one key are
// serialized through a striped lock table inside this object; other processes writing the same
// directory are not coordinated with (their whole-value writes are still atomic renames).
//
// Ownership: the store owns nothing but the root path; values returned are caller-owned copies.
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zarrpp/store.h"

namespace zarrpp {

struct LocalStoreOptions {
  // Create the root directory (and its missing parents) when it does not exist. Default true.
  // When false, a missing root is NotFound.
  bool create = true;
  // When true, set() and set_range() fsync the file, and set() also fsyncs the directory that
  // received the rename (and the parents of directories it created), before returning, so the
  // write survives power loss. Default false: writes are atomic against crashes of this process
  // but may be lost (never torn) if the machine loses power; fsync costs a device flush per set.
  bool fsync = false;
};

class LocalStore : public Store {
 public:
  // Opens the store rooted at `root`. The root must be (or, with options.create, will become)
  // a directory; a root that exists as something else is IOError.
  static Result<std::shared_ptr<LocalStore>> Open(std::string root, LocalStoreOptions options = {});

  // readable, writable, erasable, listable, partial_reads, set_range and atomic_set all true.
  StoreCapabilities capabilities() const override;

  Result<bool> get_into(std::string_view key, ByteRange range, Bytes& out) override;
  // Read the file straight into the pieces (no intermediate buffer).
  Result<bool> get_scatter(std::string_view key, std::span<const MutableByteView> pieces) override;
  Result<std::optional<uint64_t>> get_within(std::string_view key,
                                             std::span<const MutableByteView> pieces) override;
  Status set(std::string_view key, ByteView value) override;
  // Writes the pieces one after another into the temporary file (no intermediate buffer).
  Status set_gather(std::string_view key, std::span<const ByteView> pieces) override;
  Status set_range(std::string_view key, uint64_t offset, ByteView value) override;
  Status erase(std::string_view key) override;
  // Removes the subtree of `prefix` (everything under the root for ""). Not ordered against
  // concurrent writes under the prefix: a key set concurrently may survive.
  Status erase_prefix(std::string_view prefix) override;
  Result<std::vector<std::string>> list_prefix(std::string_view prefix) override;
  Result<DirListing> list_dir(std::string_view prefix) override;
  Result<bool> exists(std::string_view key) override;
  Result<std::optional<uint64_t>> size(std::string_view key) override;
  // "file://<root>".
  std::string description() const override;

  const std::string& root() const { return root_; }

 private:
  LocalStore(std::string root, LocalStoreOptions options);

  std::string PathOf(std::string_view key) const;
  std::mutex& StripeFor(std::string_view key);
  Status SetOnce(const std::string& path, std::span<const ByteView> pieces, bool& retry);

  static constexpr size_t kStripes = 256;

  const std::string root_;  // as given, without trailing '/' (except for "/")
  const std::string base_;  // root_ + "/" : the prefix of every value's path
  const LocalStoreOptions options_;
  std::array<std::mutex, kStripes> stripes_;
};

}  // namespace zarrpp
