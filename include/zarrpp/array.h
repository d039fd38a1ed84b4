// zarrpp/array.h - a Zarr v3 array in a store: create, open, read and write box regions.
//
// An Array is a handle: its metadata (immutable for the life of the handle, except through
// Resize/Append on this handle), the prepared codec chain for its chunk spec, the store, and
// the executor that runs its per-chunk tasks.
//
// Reads and writes take a region (origin + shape, within bounds) and a caller-owned C-order
// buffer of exactly region.num_elements() elements in memory representation. A bad region or
// buffer size is InvalidArgument before any I/O. Chunks that are missing read as the fill value.
// A write that covers part of a chunk merges with what is stored (read-modify-write). A chunk
// whose contents all equal the fill value (NaN equals NaN; +0 and -0 differ) is not stored and is
// erased if present, unless write_empty_chunks is set.
//
// Thread safety: an Array may be used by many threads at once. Concurrent reads are always safe.
// Concurrent writes to regions that share no chunk are safe; concurrent partial writes that touch
// the same chunk are serialized per chunk within one Array handle (handles opened separately on the
// same store do not coordinate with each other).
//
// Ownership: the Array shares ownership of its store and executor.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "zarrpp/bytes.h"
#include "zarrpp/data_type.h"
#include "zarrpp/executor.h"
#include "zarrpp/metadata.h"
#include "zarrpp/region.h"
#include "zarrpp/status.h"
#include "zarrpp/store.h"

namespace zarrpp {

enum class PipelineKind {
  kFused,    // one task per chunk (or group of small chunks): fetch -> decode -> scatter
  kBatched,  // phase by phase over all chunks: fetch all, decode all, scatter all
};

// Runtime options of an Array handle; none of them is stored in the metadata.
struct ArrayOptions {
  // Runs per-chunk tasks. Default (null): DefaultExecutor(), one worker per hardware thread.
  std::shared_ptr<Executor> executor;
  // Store chunks even when every element equals the fill value. Default false: such chunks are
  // not written and are erased if present, saving space for sparse arrays.
  bool write_empty_chunks = false;
  // Which codec pipeline runs reads and writes. Default fused.
  PipelineKind pipeline = PipelineKind::kFused;
  // Decoded bytes below which chunks are grouped into one task so that dispatch cost never
  // dominates. Default 256 KiB.
  size_t min_task_bytes = 256 * 1024;
};

struct CreateOptions {
  // Replace an existing node at the path (erasing its whole subtree first). Default false:
  // an existing node is AlreadyExists and nothing is written.
  bool overwrite = false;
};

class Array {
 public:
  // Creates the array described by `metadata` at `path` ("" is the store root; "a/b" nested) and
  // writes its zarr.json. Empty `metadata.codecs` means [bytes(little), zstd(level 0)]; an empty
  // fill value means the type's zero. The metadata is validated first: InvalidArgument or
  // Unsupported naming the field, and nothing is written.
  static Result<std::shared_ptr<Array>> Create(std::shared_ptr<Store> store, std::string_view path,
                                               ArrayMetadata metadata,
                                               const CreateOptions& create = {},
                                               const ArrayOptions& options = {});
  // Opens the array at `path`. NotFound when there is no zarr.json; FailedPrecondition when the
  // node is a group; metadata errors name the metadata key.
  static Result<std::shared_ptr<Array>> Open(std::shared_ptr<Store> store, std::string_view path,
                                             const ArrayOptions& options = {});

  ~Array();
  Array(const Array&) = delete;
  Array& operator=(const Array&) = delete;

  const ArrayMetadata& metadata() const;
  const std::vector<uint64_t>& shape() const { return metadata().shape; }
  DataType data_type() const { return metadata().data_type; }
  const std::string& path() const;
  const std::shared_ptr<Store>& store() const;
  const ArrayOptions& options() const;

  // The store key of the chunk at grid position `coords`.
  std::string ChunkKey(const std::vector<uint64_t>& coords) const;
  // The key of this array's zarr.json.
  std::string MetadataKey() const;

  // Untyped read/write: `out`/`in` hold region.num_elements() * data_type().size() bytes.
  Status Read(const Region& region, MutableByteView out) const;
  Status Write(const Region& region, ByteView in);
  // Writes one element value (data_type().size() bytes) to every element of `region`, encoding
  // each fully covered chunk once and reusing it.
  Status Fill(const Region& region, ByteView element);

  // Typed forms: T must match the data type (InvalidArgument otherwise).
  template <typename T>
  Status Read(const Region& region, std::span<T> out) const {
    RETURN_IF_ERROR(CheckType(DataTypeOf<std::remove_cv_t<T>>::id, sizeof(T)));
    return Read(region, MutableByteView(reinterpret_cast<uint8_t*>(out.data()), out.size_bytes()));
  }
  template <typename T>
  Status Write(const Region& region, std::span<const T> in) {
    RETURN_IF_ERROR(CheckType(DataTypeOf<std::remove_cv_t<T>>::id, sizeof(T)));
    return Write(region, ByteView(reinterpret_cast<const uint8_t*>(in.data()), in.size_bytes()));
  }
  template <typename T>
  Status Write(const Region& region, std::span<T> in) {
    return Write(region, std::span<const T>(in));
  }
  template <typename T>
  Status Fill(const Region& region, const T& value) {
    RETURN_IF_ERROR(CheckType(DataTypeOf<std::remove_cv_t<T>>::id, sizeof(T)));
    return Fill(region, ByteView(reinterpret_cast<const uint8_t*>(&value), sizeof(T)));
  }

  // Replaces the attributes and rewrites zarr.json atomically.
  Status SetAttributes(Json attributes);

  struct Impl;

 private:
  explicit Array(std::unique_ptr<Impl> impl);
  Status CheckType(DataTypeId id, size_t size) const;
  std::unique_ptr<Impl> impl_;
};

// The node path normalised ("/a//b/" -> "a/b"; "" or "/" -> ""). InvalidArgument for names that
// are empty after normalisation inside the path, only periods, start with "__", or are
// "zarr.json", naming the path.
Result<std::string> NormalizeNodePath(std::string_view path);
// "zarr.json" for the root, "a/b/zarr.json" for "a/b".
std::string MetadataKeyFor(std::string_view node_path);

}  // namespace zarrpp
