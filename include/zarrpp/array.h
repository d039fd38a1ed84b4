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
// the same chunk are serialized per chunk within one Array handle. Across handles and processes,
// on a store with generations and conditional writes (MemoryStore, LocalStore), a partial write
// is a read-modify-write of one version of the chunk or shard, under the store's key lock where it
// has one and conditioned on the version read, so no write is lost; a partial read of a shard
// returns each inner chunk's old or new contents (spec/concurrency.md has the table per store).
// Resize, Append and the attribute setters change the handle's metadata: they wait for the handle's
// in-flight Read/Write/Fill calls and hold later ones back until they finish, so data calls always
// see one consistent shape. References returned by metadata() and shape() are not protected: do not
// hold them across a concurrent Resize/Append.
//
// Ownership: the Array shares ownership of its store and executor.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "zarrpp/bytes.h"
#include "zarrpp/data_type.h"
#include "zarrpp/executor.h"
#include "zarrpp/future.h"
#include "zarrpp/hyperslab.h"
#include "zarrpp/metadata.h"
#include "zarrpp/region.h"
#include "zarrpp/status.h"
#include "zarrpp/store.h"
#include "zarrpp/strided_view.h"

namespace zarrpp {

class ArrayBatch;  // zarrpp/array_batch.h
class ChunkCache;  // zarrpp/chunk_cache.h

enum class PipelineKind {
  kFused,    // one task per chunk (or group of small chunks): fetch -> decode -> scatter
  kBatched,  // phase by phase over all chunks: fetch all, decode all, scatter all
};

// Runtime settings for arrays whose codec chain is [sharding_indexed]; never stored in the
// metadata. The byte layout and the guarantees of each write path are in spec/sharding.md.
struct ShardingOptions {
  // Byte ranges of inner chunks that one read needs are merged into one request when the gap
  // between them is at most this many bytes. Default 1 MiB: a round trip costs more than that.
  uint64_t coalesce_max_gap_bytes = uint64_t{1} << 20;
  // A merged request never grows past this many bytes. Default 16 MiB.
  uint64_t coalesce_max_bytes = uint64_t{16} << 20;
  // A read that touches at least this share of a shard's inner chunks fetches the whole shard in
  // one request instead of the index and then the chunks. Default 0.5.
  double whole_shard_read_fraction = 0.5;
  // Bytes of decoded shard indexes kept in memory, shared by every worker of this handle, so
  // repeated partial reads of one shard do not re-read its index. Each entry is the index of one
  // generation of its shard and is used only for that generation, so other handles' and
  // processes' writes are always seen; stores without generations get no caching. Default 0
  // (off).
  uint64_t index_cache_bytes = 0;
  // A partial write rewrites (compacts) the whole shard when the bytes it no longer uses would
  // exceed this share of the shard. Default 0.5.
  double compaction_threshold = 0.5;
  // When a partial write rewrites a shard on a store with set_range, free space of this share of
  // the data bytes is left before the index (or after the data, with the index at the start) for
  // later partial writes. Default 0: on such stores a partial write places new inner chunks in
  // free space or past the shard's end (growing it in place) without a rewrite anyway, so the
  // reserve only trades space for fewer growths. Full-shard writes never leave free space.
  double append_reserve = 0.0;
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
  // Store operations in flight at once, separate from the CPU executor's concurrency. Default 0:
  // the store's capabilities().io_concurrency (0 for memory and local stores, whose operations are
  // CPU-bound; 64 for a LatencyStore). When it exceeds the executor's concurrency, chunk tasks run
  // on I/O threads (`io_executor`) so that blocking operations overlap, while decoding, encoding
  // and copying are still limited to the executor's concurrency.
  size_t io_concurrency = 0;
  // The fused pipeline on I/O threads bounds the bytes its chunk buffers hold at once, per Read
  // or Write call, to about this many: each of the up to io_concurrency chunk tasks in flight
  // reserves what it holds across a store operation (the encoded chunk it fetched or is storing,
  // or the chunk it gathered for an identity chain) and waits while the budget is full, and the
  // CPU stages' decoded or gathered chunks (one per CPU token) count against it too. Small encoded
  // chunks therefore run io_concurrency at a time and large ones fewer. A read reserves the
  // largest encoded chunk it has seen so far (at first the largest the handle's previous read saw,
  // or the chunk's decoded size), so a chunk much larger than that can exceed the budget by its
  // excess while its read is in flight. Reads and writes of a sharded array reserve the shard's
  // decoded size (twice for writes).
  // Identity chains whose chunk rows are long hold nothing: the store moves the rows straight
  // between itself and the caller's buffer (Store::get_scatter, Store::set_gather).
  // Default 0: 12 MiB + 2 x executor concurrency x chunk bytes, so that with the codecs' own
  // working memory a request stays within 16 MiB + 2 x executor concurrency x chunk bytes. The
  // batched pipeline holds every chunk of a request by design and is not bounded.
  size_t max_inflight_bytes = 0;
  // The threads that wait on store operations when io_concurrency applies. Default (null): a
  // process-wide pool of io_concurrency threads shared by every array asking for that size.
  std::shared_ptr<Executor> io_executor;
  // Reads of a small part of a chunk whose codec chain ends in crc32c (spec/codecs.md, "Partial
  // decoding"). true: the whole value is read and its checksum verified, as for every other read.
  // false: only the bytes holding the part are read and the checksum is not verified for such
  // reads (a part of a value cannot be checked against it); reads of whole chunks still verify.
  // Default true.
  bool verify_checksum_on_partial_reads = true;
  // Sharded arrays: read coalescing, index cache, compaction (see ShardingOptions).
  ShardingOptions sharding;
  // A cache of decoded chunks (inner chunks when sharded) shared by every handle given the same
  // object (zarrpp/chunk_cache.h, spec/caches.md): reads copy from it, writes through any of
  // those handles invalidate it. With a cache, store() returns the store wrapped so that writes
  // through it invalidate too. Default (null): no cache.
  std::shared_ptr<ChunkCache> chunk_cache;

  // Limits that keep a handle's memory and work proportional to what is stored, whatever the
  // metadata claims (spec/errors.md, "Limits"). Open, Create and Attach check them and give
  // Unsupported naming the value and the limit, so a hostile zarr.json costs nothing at open.
  //
  // The largest decoded chunk the handle will hold in memory: the chunk of the array, or, when the
  // codec chain is exactly [sharding_indexed] (whose shards are read and written in parts), each
  // inner chunk (at every level of nesting). Default 4 GiB.
  uint64_t max_decoded_chunk_bytes = uint64_t{4} << 30;
  // The most inner chunks one shard may have (its index holds 16 bytes per inner chunk).
  // Default 2^22 (a 64 MiB index).
  uint64_t max_inner_chunks_per_shard = uint64_t{1} << 22;
  // Checked between slabs of chunks by Read, Write and Fill calls that touch many chunks (and by
  // ArrayDigest and Convert); when it returns true the call stops and returns FailedPrecondition
  // "cancelled". Chunks written before that stay written. May be called from any thread. Default
  // (empty): never cancelled.
  std::function<bool()> cancel;
};

// Which conversions a Read or Write between the array's data type and a different memory type
// (the caller's element type) may make (spec/memory_types.md). Both types must be one of bool,
// int8..int64, uint8..uint64, float16, float32, float64 (InvalidArgument naming both otherwise).
enum class Conversion {
  // Only conversions that are exact for every value: bool to any type; an integer to a wider
  // integer that holds its whole range (int16 -> int32, uint16 -> int32/uint32, not int16 ->
  // uint32); an integer whose digits fit a float's significand (8-bit -> float16, 16-bit ->
  // float32, 32-bit -> float64); a float to a wider float. Any other pair is InvalidArgument
  // naming both types, before any I/O.
  kExact,
  // Also every other pair of the types above, converting each element as follows, and failing
  // with InvalidArgument naming the element (its C-order index in the region) and its value when
  // it does not fit the target type (no saturation):
  //  - to an integer or bool: floats are rounded toward zero first; NaN, infinities and values
  //    outside the target's range fail (bool holds only 0 and 1);
  //  - to a float: rounded to nearest, ties to even; a finite value that rounds beyond the
  //    target's largest finite value fails; NaN and infinities stay NaN and infinities.
  kAllowNarrowing,
};

// Settings of one Read call; an unset field takes the handle's ArrayOptions value.
struct ReadOptions {
  // The pipeline for this call. Default (unset): ArrayOptions::pipeline.
  std::optional<PipelineKind> pipeline;
  // Checked, besides ArrayOptions::cancel, where that is (between slabs of chunks); when it
  // returns true the call stops with FailedPrecondition "cancelled (ReadOptions::cancel)".
  // Default (empty): only ArrayOptions::cancel.
  std::function<bool()> cancel;
  // Conversions allowed when the memory type differs from the array's data type. Default exact.
  Conversion convert = Conversion::kExact;
};

// Settings of one Write or Fill call; an unset field takes the handle's ArrayOptions value.
struct WriteOptions {
  // The pipeline for this call. Default (unset): ArrayOptions::pipeline. Both pipelines store
  // byte-identical chunks, so calls may mix them on one array.
  std::optional<PipelineKind> pipeline;
  // Checked, besides ArrayOptions::cancel, where that is (between slabs of chunks); when it
  // returns true the call stops with FailedPrecondition "cancelled (WriteOptions::cancel)" and
  // the chunks written before stay written. Default (empty): only ArrayOptions::cancel.
  std::function<bool()> cancel;
  // Conversions allowed when the memory type differs from the array's data type. Default exact.
  Conversion convert = Conversion::kExact;
};

struct CreateOptions {
  // Replace an existing node at the path (erasing its whole subtree first). Default false:
  // an existing node is AlreadyExists and nothing is written; on a store with conditional writes
  // the metadata goes in create-only, so of several processes creating the same Zarr v3 array at
  // once exactly one succeeds and the others get AlreadyExists (zarrpp/hierarchy.h).
  bool overwrite = false;
};

// Store requests a metadata operation (hierarchy creation, listing, chunk erasure on resize) keeps
// in flight by default. It is independent of the CPU executor: such operations wait on latency,
// and 64 requests in flight cover 1,000 nodes on a 5 ms store in about 16 round trips while
// keeping 64 mostly sleeping threads.
inline constexpr size_t kDefaultIoConcurrency = 64;

struct ResizeOptions {
  // When the array shrinks, erase every chunk wholly outside the new shape and reset the part
  // of every chunk straddling the new edge that falls outside it to the fill value, before the
  // new shape is written: a later grow shows only fill values there. If that step fails, Resize
  // returns the error with the old shape still stored (elements being discarded may be partly
  // reset already). Default true. With false the shrink writes only the metadata, and a later
  // grow shows the old values again where chunks were left.
  bool erase_outside_chunks = true;
  // Erase requests in flight at once, on threads of their own. Default kDefaultIoConcurrency.
  size_t io_concurrency = kDefaultIoConcurrency;
};

// Which grid chunk-level calls address (spec/chunks.md).
enum class ChunkLevel {
  // The chunks of the array's chunk grid, one store value each (for a sharded array: shards).
  kStored,
  // The inner chunks of shards: the grid of sharding_indexed's chunk_shape laid over the array.
  // Only for arrays whose codec chain is exactly [sharding_indexed] (FailedPrecondition
  // otherwise); its grid is ceil(shape / inner chunk shape) per dimension.
  kInner,
};

// The chunk grid of one level.
struct ChunkGridInfo {
  std::vector<uint64_t> chunk_shape;  // elements of one chunk of the level
  std::vector<uint64_t> grid;         // chunks per dimension covering the array's shape
};

// One chunk of a level, as the chunk iteration calls report it.
struct ChunkInfo {
  std::vector<uint64_t> coords;  // position in the level's grid
  std::string key;               // store key: of the chunk, or for kInner of the shard holding it
  // kInner: the inner chunk's C-order index in its shard's inner grid, and the shard's grid
  // position. kStored: 0 and `coords`.
  uint64_t inner_index = 0;
  std::vector<uint64_t> shard_coords;
  // The elements of the array the chunk covers: its box clipped to the array's shape.
  Region region;
  // ForEachChunk: the part of the requested region inside the chunk (in array coordinates).
  // ForEachStoredChunk: equal to `region`.
  Region part;
  // ForEachStoredChunk: the chunk's stored (encoded) bytes. ForEachChunk: 0.
  uint64_t encoded_bytes = 0;
};

// Called once per chunk; a status other than OK stops the iteration and is returned.
using ChunkVisitor = std::function<Status(const ChunkInfo&)>;

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
  // A handle for an array whose metadata the caller has already read or is about to write; no
  // I/O. Applies Create's defaults and validates as Create does. `path` must be normalised
  // (InvalidArgument otherwise).
  static Result<std::shared_ptr<Array>> Attach(std::shared_ptr<Store> store, std::string path,
                                               ArrayMetadata metadata,
                                               const ArrayOptions& options = {});

  ~Array();
  Array(const Array&) = delete;
  Array& operator=(const Array&) = delete;

  const ArrayMetadata& metadata() const;
  // The most store requests one fused Read or Write keeps in flight on I/O threads (see
  // ArrayOptions::io_concurrency; max_inflight_bytes may hold fewer at once when chunks are
  // large); 0 when chunk tasks run on the CPU executor.
  size_t io_concurrency() const;
  const std::vector<uint64_t>& shape() const { return metadata().shape; }
  DataType data_type() const { return metadata().data_type; }
  const std::string& path() const;
  const std::shared_ptr<Store>& store() const;
  const ArrayOptions& options() const;

  // The store key of the chunk at grid position `coords`.
  std::string ChunkKey(const std::vector<uint64_t>& coords) const;
  // The key of this array's zarr.json.
  std::string MetadataKey() const;

  // Untyped read/write: `out`/`in` hold region.num_elements() * data_type().size() bytes. A
  // failed Read leaves `out` unspecified (chunks read before the error; on a latency-bound store,
  // possibly a chunk's encoded bytes).
  Status Read(const Region& region, MutableByteView out, const ReadOptions& options = {}) const;
  Status Write(const Region& region, ByteView in, const WriteOptions& options = {});
  // Writes one element value (data_type().size() bytes) to every element of `region`, encoding
  // each fully covered chunk once and reusing it.
  Status Fill(const Region& region, ByteView element, const WriteOptions& options = {});

  // Reads and writes with a memory type other than the data type: `out`/`in` hold
  // region.num_elements() elements of `memory_type` (one of bool, int8..int64, uint8..uint64,
  // float16, float32, float64), converted from or to the data type element by element as
  // options.convert allows (see Conversion). A memory type equal to the data type's typed_id()
  // (int64 for the time types, int8 for int4, ...) is the plain Read/Write. The conversion runs per
  // chunk as chunks are decoded (reads) or before they are encoded (writes), with a scratch buffer
  // of at most one chunk, or ArrayOptions::min_task_bytes of grouped small chunks, per worker;
  // never one of the whole region. A read element that does not fit fails the Read, leaving `out`
  // unspecified as any failed Read does. A Write that may narrow first checks that every element of
  // `in` converts and otherwise fails before any I/O, writing nothing; a Write that fails later
  // (I/O) leaves what a plain Write does. Fill values of missing chunks are converted like stored
  // elements.
  Status Read(const Region& region, MutableByteView out, DataTypeId memory_type,
              const ReadOptions& options = {}) const;
  Status Write(const Region& region, ByteView in, DataTypeId memory_type,
               const WriteOptions& options = {});

  // Typed forms. T equal to the data type (DataTypeOf<T>::id == data_type().typed_id()) reads and
  // writes the caller's buffer directly; any other T converts as the memory-type forms above do.
  // std::span<uint8_t> is MutableByteView, the untyped form (bytes of the data type); name
  // DataTypeId::kUInt8 to read into or write from uint8 elements of another data type.
  template <typename T>
  Status Read(const Region& region, std::span<T> out, const ReadOptions& options = {}) const {
    const MutableByteView bytes(reinterpret_cast<uint8_t*>(out.data()), out.size_bytes());
    if (SameType(DataTypeOf<std::remove_cv_t<T>>::id, sizeof(T))) {
      return Read(region, bytes, options);
    }
    return Read(region, bytes, DataTypeOf<std::remove_cv_t<T>>::id, options);
  }
  template <typename T>
  Status Write(const Region& region, std::span<const T> in, const WriteOptions& options = {}) {
    const ByteView bytes(reinterpret_cast<const uint8_t*>(in.data()), in.size_bytes());
    if (SameType(DataTypeOf<std::remove_cv_t<T>>::id, sizeof(T))) {
      return Write(region, bytes, options);
    }
    return Write(region, bytes, DataTypeOf<std::remove_cv_t<T>>::id, options);
  }
  template <typename T>
  Status Write(const Region& region, std::span<T> in, const WriteOptions& options = {}) {
    return Write(region, std::span<const T>(in), options);
  }
  template <typename T>
  Status Fill(const Region& region, const T& value, const WriteOptions& options = {}) {
    RETURN_IF_ERROR(CheckType(DataTypeOf<std::remove_cv_t<T>>::id, sizeof(T)));
    return Fill(region, ByteView(reinterpret_cast<const uint8_t*>(&value), sizeof(T)), options);
  }

  // Strided selections and strided memory (spec/selections.md). `selection` is a Hyperslab
  // (zarrpp/hyperslab.h) or a Region; the view (zarrpp/strided_view.h) has extents equal to the
  // selection's shape, in any strides, and receives or supplies the selected elements in
  // row-major selection order. Nothing else of the caller's memory is read or written. The view
  // and selection are checked before any I/O (InvalidArgument naming the dimension: rank, bounds,
  // HDF5 rules, extents, overlapping strides of a read's view, a span beyond the address space, an
  // element size other than the data type's or the memory type's). Only the chunks holding a
  // selected element are read or written; each one's selected part is moved between the pipeline
  // and the view through a scratch buffer of at most one chunk per worker (for shards over 16 MiB,
  // a box of whole inner chunks of at most 16 MiB or one inner chunk), never one of the whole
  // selection. A Region or box hyperslab into a dense C-order view is the plain Read or Write.
  // Writes keep the contract of Write: elements not selected are left as stored; a hyperslab whose
  // blocks leave gaps inside a chunk writes each of that chunk's blocks as its own partial write. A
  // failed Read leaves the view's elements unspecified; a failed Write leaves what a failed Write
  // does. With a memory type (the element type of the view, converted as options.convert allows,
  // see the memory-type Read/Write above) the same rules apply; a narrowing Write checks every
  // element before any I/O.
  Status Read(const Hyperslab& selection, const MutableElementView& out,
              const ReadOptions& options = {}) const;
  Status Read(const Region& region, const MutableElementView& out,
              const ReadOptions& options = {}) const;
  Status Read(const Hyperslab& selection, const MutableElementView& out, DataTypeId memory_type,
              const ReadOptions& options = {}) const;
  Status Write(const Hyperslab& selection, const ElementView& in, const WriteOptions& options = {});
  Status Write(const Region& region, const ElementView& in, const WriteOptions& options = {});
  Status Write(const Hyperslab& selection, const ElementView& in, DataTypeId memory_type,
               const WriteOptions& options = {});
  // Typed views: T equal to the data type moves elements as they are, any other T converts.
  template <typename T>
  Status Read(const Hyperslab& selection, const StridedView<T>& out,
              const ReadOptions& options = {}) const {
    static_assert(!std::is_const_v<T>, "Read needs a view of mutable elements");
    if (SameType(DataTypeOf<T>::id, sizeof(T))) return Read(selection, out.elements(), options);
    return Read(selection, out.elements(), DataTypeOf<T>::id, options);
  }
  template <typename T>
  Status Read(const Region& region, const StridedView<T>& out,
              const ReadOptions& options = {}) const {
    return Read(Hyperslab::Of(region), out, options);
  }
  template <typename T>
  Status Write(const Hyperslab& selection, const StridedView<T>& in,
               const WriteOptions& options = {}) {
    using E = std::remove_cv_t<T>;
    if (SameType(DataTypeOf<E>::id, sizeof(T))) {
      return Write(selection, in.const_elements(), options);
    }
    return Write(selection, in.const_elements(), DataTypeOf<E>::id, options);
  }
  template <typename T>
  Status Write(const Region& region, const StridedView<T>& in, const WriteOptions& options = {}) {
    return Write(Hyperslab::Of(region), in, options);
  }
  // A hyperslab's elements into or from a dense C-order buffer of shape() elements.
  template <typename T>
  Status Read(const Hyperslab& selection, std::span<T> out, const ReadOptions& options = {}) const {
    return Read(selection, DenseView(selection, out.data(), out.size()), options);
  }
  template <typename T>
  Status Write(const Hyperslab& selection, std::span<T> in, const WriteOptions& options = {}) {
    return Write(selection, DenseView(selection, in.data(), in.size()), options);
  }

  // Variable-size data types (string, bytes; spec/strings.md). Elements are given and returned
  // in C order, region.num_elements() of them (another count is InvalidArgument). Values of a
  // string array must be valid UTF-8 (InvalidArgument naming the element, nothing written); a
  // stored element that is not is Corruption naming the chunk. On a fixed-size array these calls
  // are FailedPrecondition, as Read/Write/Fill/Append are on a variable-size one - except the
  // fixed-length strings (null_terminated_bytes, fixed_length_utf32), which both APIs take: the
  // string API gives each element without its trailing NULs (UTF-8 for UTF-32 elements) and pads
  // what it writes; a value that does not fit is InvalidArgument naming it, nothing written.
  Result<std::vector<std::string>> ReadStrings(const Region& region) const;
  Status WriteStrings(const Region& region, std::span<const std::string> values);
  Status WriteStrings(const Region& region, std::span<const std::string_view> values);
  // Sets every element of `region` to `value`.
  Status FillStrings(const Region& region, std::string_view value);

  // The attributes as stored now (reads zarr.json, so changes through other handles are seen).
  // NotFound when zarr.json is gone.
  Result<Json> attributes() const;
  // Replaces the attributes (a JSON object) and rewrites zarr.json with one set().
  Status SetAttributes(Json attributes);
  // Merges `patch` (a JSON object) into the stored attributes: each key is set to its value
  // (objects replace, they are not merged recursively) and keys whose value is null are removed.
  // Reads zarr.json, then writes this handle's metadata with the merged attributes in one set().
  Status UpdateAttributes(const Json& patch);

  // Changes the shape (same rank; InvalidArgument otherwise). Writes zarr.json once; growing
  // touches nothing else. Shrinking first clears what lies outside the new shape (see
  // ResizeOptions) and writes the new shape only when that succeeded, so a failed shrink keeps
  // the old shape and never leaves old values hidden beyond a stored edge.
  Status Resize(std::vector<uint64_t> new_shape, const ResizeOptions& options = {});

  // Grows the array along `axis` by data_shape[axis] and writes `data` (C order, data_shape,
  // every other extent equal to the array's) into the new part. Chunks are written first and
  // zarr.json once, last: on failure the stored array keeps its old shape and contents, and this
  // handle its old metadata. Mismatched extents, axis or buffer size are InvalidArgument before
  // any I/O; an empty extent along `axis` writes nothing.
  Status Append(ByteView data, const std::vector<uint64_t>& data_shape, size_t axis);
  template <typename T>
  Status Append(std::span<const T> data, const std::vector<uint64_t>& data_shape, size_t axis) {
    RETURN_IF_ERROR(CheckType(DataTypeOf<std::remove_cv_t<T>>::id, sizeof(T)));
    return Append(ByteView(reinterpret_cast<const uint8_t*>(data.data()), data.size_bytes()),
                  data_shape, axis);
  }
  template <typename T>
  Status Append(std::span<T> data, const std::vector<uint64_t>& data_shape, size_t axis) {
    return Append(std::span<const T>(data), data_shape, axis);
  }

  // ---- Asynchronous calls (spec/async.md). Each queues the synchronous call of the same name
  // (Read, Write, Append) and returns at once with a Future (zarrpp/future.h) whose value is
  // the Status that call returns; every error, including a bad region, buffer size or shape,
  // comes back through the Future. The typed forms check T first and return a Future that is
  // already done with InvalidArgument when it does not match.
  //
  // Buffers: `out`, `in` and `data` are borrowed, not copied. The caller keeps each buffer alive
  // and does not touch it (no write, and for ReadAsync no read either) until the Future is done.
  // Destroying the Future waits for the operation, so a buffer that outlives its Future is safe.
  //
  // Order: the async calls of one Array handle go into one first-in first-out queue served by one
  // background thread of the handle (started on first use): they run one at a time, in call
  // order, each with its chunks spread over the CPU executor as the synchronous call does. So
  // WriteAsync calls to overlapping regions apply in call order, appends apply in call order, and
  // a ReadAsync sees every async write and append queued before it. Synchronous calls and async
  // calls of other handles are not ordered with the queue: they run concurrently with it under
  // the Array's usual thread-safety rules (a concurrent reader sees each chunk old or new).
  //
  // Cancellation (Future::cancel): a call still queued is dropped, never runs, and is done at once
  // with FailedPrecondition "... cancelled before it started". A running ReadAsync or WriteAsync
  // stops where the synchronous call checks ArrayOptions::cancel (between slabs of chunks along
  // dimension 0, several per call only when the region spans several rows of chunks) and its
  // value is FailedPrecondition "... cancelled while running": a write keeps the chunks it wrote,
  // a read leaves `out` partly filled. A running AppendAsync is not interrupted (an append is
  // all-or-nothing).
  //
  // Destroying the Array waits until every queued call has run (none is dropped), then stops the
  // thread; this is safe from any thread, including from a Future's callback.
  Future<Status> ReadAsync(const Region& region, MutableByteView out,
                           ReadOptions options = {}) const;
  Future<Status> WriteAsync(const Region& region, ByteView in, WriteOptions options = {});
  Future<Status> AppendAsync(ByteView data, std::vector<uint64_t> data_shape, size_t axis);
  template <typename T>
  Future<Status> ReadAsync(const Region& region, std::span<T> out, ReadOptions options = {}) const {
    if (Status s = CheckType(DataTypeOf<std::remove_cv_t<T>>::id, sizeof(T)); !s.ok()) {
      return Future<Status>::Ready(std::move(s));
    }
    return ReadAsync(region,
                     MutableByteView(reinterpret_cast<uint8_t*>(out.data()), out.size_bytes()),
                     std::move(options));
  }
  template <typename T>
  Future<Status> WriteAsync(const Region& region, std::span<const T> in,
                            WriteOptions options = {}) {
    if (Status s = CheckType(DataTypeOf<std::remove_cv_t<T>>::id, sizeof(T)); !s.ok()) {
      return Future<Status>::Ready(std::move(s));
    }
    return WriteAsync(region,
                      ByteView(reinterpret_cast<const uint8_t*>(in.data()), in.size_bytes()),
                      std::move(options));
  }
  template <typename T>
  Future<Status> WriteAsync(const Region& region, std::span<T> in, WriteOptions options = {}) {
    return WriteAsync(region, std::span<const T>(in), std::move(options));
  }
  template <typename T>
  Future<Status> AppendAsync(std::span<const T> data, std::vector<uint64_t> data_shape,
                             size_t axis) {
    if (Status s = CheckType(DataTypeOf<std::remove_cv_t<T>>::id, sizeof(T)); !s.ok()) {
      return Future<Status>::Ready(std::move(s));
    }
    return AppendAsync(ByteView(reinterpret_cast<const uint8_t*>(data.data()), data.size_bytes()),
                       std::move(data_shape), axis);
  }
  template <typename T>
  Future<Status> AppendAsync(std::span<T> data, std::vector<uint64_t> data_shape, size_t axis) {
    return AppendAsync(std::span<const T>(data), std::move(data_shape), axis);
  }

  // Asynchronous selection calls: the strided Read and Write above (a Hyperslab or a Region, a
  // strided view, optionally a memory type) queued as ReadAsync and WriteAsync are, with their
  // order, cancellation and errors (a bad selection or view comes back through the Future as the
  // synchronous call's InvalidArgument). The view is copied (pointer, extents, strides); the
  // memory it points at is borrowed: the caller keeps it alive and untouched until the Future is
  // done, as for `out` and `in` above. Nothing outside the view's selected elements is touched.
  Future<Status> ReadAsync(const Hyperslab& selection, MutableElementView out,
                           ReadOptions options = {}) const;
  Future<Status> ReadAsync(const Hyperslab& selection, MutableElementView out,
                           DataTypeId memory_type, ReadOptions options = {}) const;
  Future<Status> WriteAsync(const Hyperslab& selection, ElementView in, WriteOptions options = {});
  Future<Status> WriteAsync(const Hyperslab& selection, ElementView in, DataTypeId memory_type,
                            WriteOptions options = {});
  // Typed views: T equal to the data type moves elements as they are, any other T converts.
  template <typename T>
  Future<Status> ReadAsync(const Hyperslab& selection, const StridedView<T>& out,
                           ReadOptions options = {}) const {
    static_assert(!std::is_const_v<T>, "ReadAsync needs a view of mutable elements");
    if (SameType(DataTypeOf<T>::id, sizeof(T))) {
      return ReadAsync(selection, out.elements(), std::move(options));
    }
    return ReadAsync(selection, out.elements(), DataTypeOf<T>::id, std::move(options));
  }
  template <typename T>
  Future<Status> ReadAsync(const Region& region, const StridedView<T>& out,
                           ReadOptions options = {}) const {
    return ReadAsync(Hyperslab::Of(region), out, std::move(options));
  }
  template <typename T>
  Future<Status> WriteAsync(const Hyperslab& selection, const StridedView<T>& in,
                            WriteOptions options = {}) {
    using E = std::remove_cv_t<T>;
    if (SameType(DataTypeOf<E>::id, sizeof(T))) {
      return WriteAsync(selection, in.const_elements(), std::move(options));
    }
    return WriteAsync(selection, in.const_elements(), DataTypeOf<E>::id, std::move(options));
  }
  template <typename T>
  Future<Status> WriteAsync(const Region& region, const StridedView<T>& in,
                            WriteOptions options = {}) {
    return WriteAsync(Hyperslab::Of(region), in, std::move(options));
  }
  // A hyperslab's elements into or from a dense C-order buffer of the selection's shape.
  template <typename T>
  Future<Status> ReadAsync(const Hyperslab& selection, std::span<T> out,
                           ReadOptions options = {}) const {
    return ReadAsync(selection, DenseView(selection, out.data(), out.size()), std::move(options));
  }
  template <typename T>
  Future<Status> WriteAsync(const Hyperslab& selection, std::span<T> in,
                            WriteOptions options = {}) {
    return WriteAsync(selection, DenseView(selection, in.data(), in.size()), std::move(options));
  }

  // ---- Chunk-level access (spec/chunks.md). Grid coordinates have the array's rank and lie
  // inside ChunkGrid(level).grid; otherwise InvalidArgument naming the coordinates and the grid.
  // A chunk's buffer holds the whole chunk of the level in C order (chunk_shape elements, also
  // the elements of an edge chunk past the array's shape, which are stored but never read by
  // Read); another size is InvalidArgument. Thread safety and locking as for Read and Write.

  // The chunk grid of `level`.
  Result<ChunkGridInfo> ChunkGrid(ChunkLevel level) const;
  // Calls `visit` for every chunk of `level` that `region` touches, in C order of the grid, whether
  // stored or not. Work and memory are bounded per chunk, not by the grid: ArrayOptions::cancel is
  // checked every 1024 chunks (FailedPrecondition "cancelled"). An empty region visits nothing.
  // Both iterations use the shape at their start and call `visit` without holding the handle's
  // lock, so `visit` may call any method of the array (a Resize or Append it makes is not seen by
  // the iteration under way).
  Status ForEachChunk(const Region& region, ChunkLevel level, const ChunkVisitor& visit) const;
  // Calls `visit` for every chunk of `level` that is stored, with its encoded size, in C order of
  // the grid. Stored chunks come from the store's listing (Unsupported on a store that cannot
  // list) and sizes from Store::size; kInner reads each shard's index and nothing else. Keys that
  // are not chunk keys of this array, and chunks wholly outside the shape, are skipped. Memory
  // follows what is stored (the listing), never the size of the grid; cancel is checked per
  // stored chunk (per shard for kInner).
  Status ForEachStoredChunk(ChunkLevel level, const ChunkVisitor& visit) const;

  // Decodes the chunk at `coords` into `out`. Returns true when it is stored, false when it is not
  // (then `out` holds the fill value). FailedPrecondition on a variable-size data type.
  Result<bool> ReadChunk(ChunkLevel level, const std::vector<uint64_t>& coords,
                         MutableByteView out) const;
  // Encodes `in` as the chunk at `coords` and stores it; a chunk that equals the fill value is
  // erased instead (unless write_empty_chunks). kStored replaces the value with one set(); kInner
  // patches the shard by the read-modify-write of a partial Write (key lock, conditional write,
  // in place when it fits), so concurrent writes of different inner chunks of one shard, from
  // any number of threads or handles on a store with generations, lose no update.
  Status WriteChunk(ChunkLevel level, const std::vector<uint64_t>& coords, ByteView in);
  // The stored bytes of the chunk at `coords`, not decoded; nullopt when it is not stored. For
  // kInner the bytes come from one version of the shard, located by its index.
  Result<std::optional<Bytes>> ReadChunkEncoded(ChunkLevel level,
                                                const std::vector<uint64_t>& coords) const;
  // Stores `encoded` as the chunk at `coords` without decoding it (nullopt: the chunk is erased,
  // or for kInner marked not stored in its shard's index). kStored is one set() (or erase());
  // kInner patches the shard as WriteChunk does. The bytes are NOT validated: bytes that do not
  // decode with this array's chain are stored as given and make later reads of the chunk fail
  // with Corruption. Copying between arrays whose chunk grid, data type, fill value and codec
  // chain are equal (ChunksCompatible) moves valid bytes.
  Status WriteChunkEncoded(ChunkLevel level, const std::vector<uint64_t>& coords,
                           std::optional<ByteView> encoded);

  struct Impl;

 private:
  explicit Array(std::unique_ptr<Impl> impl);
  Status CheckType(DataTypeId id, size_t size) const;
  // A C-order view of `n` elements at `data` with the selection's shape, or with extents that
  // cannot match it (an empty view of rank 0) when `n` is not its element count.
  template <typename T>
  static StridedView<T> DenseView(const Hyperslab& selection, T* data, size_t n) {
    const std::vector<uint64_t> shape = selection.shape();
    uint64_t want = 1;
    for (uint64_t s : shape) want *= s;
    if (selection.count.size() != selection.start.size() || want != n) {
      return StridedView<T>(data, {n}, {1});  // rejected: extents differ from the shape
    }
    return StridedView<T>::COrder(data, shape);
  }
  bool SameType(DataTypeId id, size_t size) const;
  Status WriteVariable(const Region& region, uint64_t count,
                       const std::function<std::string_view(uint64_t)>& value);
  Status WriteMetadataLocked(ArrayMetadata metadata);
  // Writes `data` past `staged`'s extent along `axis` as Append does and grows staged.shape,
  // leaving the handle's metadata as it was. The caller holds metadata_mu_ exclusively.
  Status AppendChunksLocked(ArrayMetadata& staged, ByteView data,
                            const std::vector<uint64_t>& data_shape, size_t axis);
  friend class ArrayBatch;
  std::unique_ptr<Impl> impl_;
  // Shared by Read/Write/Fill, exclusive for calls that change the metadata.
  mutable std::shared_mutex metadata_mu_;
};

// True when the stored chunks of `a` can be copied byte for byte into `b` and read back with the
// same values: equal chunk shape, data type, fill value and codec chain (the chain as parsed, so
// equal configurations written differently compare equal). The shapes may differ.
bool ChunksCompatible(const ArrayMetadata& a, const ArrayMetadata& b);

// The node path normalised ("/a//b/" -> "a/b"; "" or "/" -> ""). InvalidArgument for names that
// are empty after normalisation inside the path, only periods, start with "__", or are
// "zarr.json", naming the path.
Result<std::string> NormalizeNodePath(std::string_view path);
// "zarr.json" for the root, "a/b/zarr.json" for "a/b".
std::string MetadataKeyFor(std::string_view node_path);

// Frees the scratch buffers finished Read and Write calls keep for reuse by later ones (at most
// 32 MiB per process); later calls allocate them again. Safe to call at any time from any thread.
void ReleaseScratchMemory();

}  // namespace zarrpp
