// zarrpp/convert.h - re-encode every array and group of a hierarchy into another store.
//
// Convert copies the node at `src_path` and everything below it into `dst_path`: groups with
// their attributes, arrays with their attributes and contents, in Zarr v3 or v2
// (spec/zarr-v2.md), with a new chunk shape, sharding or codec chain when asked. Contents stream
// one target chunk (shard) at a time on the executor, so memory stays near
// max(max_buffer_bytes, one target chunk) whatever the array's size; chunks whose contents all
// equal the fill value are not written. A damaged source does not stop it: each node that
// cannot be converted is reported and the rest are converted.
//
// Thread safety: the function is safe to call concurrently for distinct destinations. The source
// must not change during the call.
//
// Ownership: the caller keeps the stores; Convert holds them only for the call.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zarrpp/executor.h"
#include "zarrpp/metadata.h"
#include "zarrpp/status.h"
#include "zarrpp/store.h"

namespace zarrpp {

// Where a conversion stands, as ConvertOptions::progress sees it. Totals are known once the source
// has been planned, before the first write.
struct ConvertProgress {
  // Decoded bytes of the target chunks copied so far, and of all of them (the logical size of
  // every array to convert). Variable-size arrays (string, bytes) count in chunks only.
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
  // Target chunks (shards) copied so far, and in all.
  uint64_t chunks_done = 0;
  uint64_t chunks_total = 0;
  // Nodes (arrays and groups) finished, converted or failed, and in all.
  uint64_t nodes_done = 0;
  uint64_t nodes_total = 0;
  // The array being copied (relative to src_path), or "" between arrays.
  std::string current;
};

// Options for one array that replace the ConvertOptions fields of the same name for it; a field
// left unset keeps the ConvertOptions value.
struct ArrayConvertOptions {
  std::optional<std::vector<uint64_t>> chunks;
  std::optional<std::vector<uint64_t>> shards;
  std::optional<JsonValue> codecs;
  std::optional<bool> unshard;
};

struct ConvertOptions {
  // Format of every written node: 2 or 3. Default (nullopt): each node keeps its own format.
  std::optional<int> zarr_format;
  // New chunk shape; with `shards`, the inner chunk shape. Default: the source's (for a sharded
  // source with `shards` given: its inner chunk shape). Its rank must match every array's.
  std::optional<std::vector<uint64_t>> chunks;
  // Shard shape: the chain becomes [sharding_indexed] with inner chunks `chunks`, inner codecs
  // `codecs` (default: the source's chain, or a sharded source's inner chain) and the index at
  // the end, protected by crc32c. Each entry must be a multiple of the inner chunk's.
  // Default: no change.
  std::optional<std::vector<uint64_t>> shards;
  // A rectilinear chunk grid for the target (v3 only; its chunk_shapes must cover every array's
  // shape and rank). Excludes `chunks`, `shards` and `unshard`. Default: none. A rectilinear
  // source keeps its grid unless `chunks` or `shards` give a regular one.
  std::optional<ChunkGrid> chunk_grid;
  // Replacement codec chain (v3 JSON list). For a v2 target it maps to v2 terms: bytes endian to
  // the dtype's byte order, transpose [n-1..0] to order "F", one compressor to `compressor`;
  // anything else is Unsupported naming the array and the codec. Default: the source's chain.
  std::optional<JsonValue> codecs;
  // Store a sharded source array unsharded: its inner chunks become the chunks (unless `chunks`
  // is given) and its inner codecs the chain (unless `codecs` is given). Arrays that are not
  // sharded are unaffected. Combined with `shards` it is InvalidArgument. Default false.
  bool unshard = false;
  // Per-array options, keyed by the array's path relative to src_path ("" for an array at
  // src_path itself; paths are normalised as node paths). A key that names no node of the source
  // is InvalidArgument, one naming a group is InvalidArgument; both before anything is written.
  // Keys that normalise to the same path merge field by field. Default: empty (every array takes
  // the fields above).
  std::map<std::string, ArrayConvertOptions> arrays;
  // Erase everything under the destination first. Default false: a destination holding any key
  // is FailedPrecondition and nothing is written.
  bool overwrite = false;
  // Decode and re-encode every chunk even when the source's stored chunks could be copied as
  // they are. Default false: an array of a fixed-size data type whose target has the source's
  // shape, chunk grid, data type, fill value and codec chain (ChunksCompatible in
  // zarrpp/array.h) is copied chunk by chunk as stored bytes (shards whole, index and any free
  // space included), each decoded once to check it (a damaged chunk fails the array as on the
  // re-encoding path) but never encoded; chunks the source holds that equal the fill value are
  // then copied too. Set it to rewrite every chunk with this library's encoder (e.g. to compact
  // shards or to drop stored fill chunks).
  bool reencode = false;
  // Runs the per-chunk copy tasks. Default (null): DefaultExecutor().
  std::shared_ptr<Executor> executor;
  // Decoded bytes in flight at once (copy buffers), unless one target chunk alone is larger.
  // Default 256 MiB.
  uint64_t max_buffer_bytes = uint64_t{256} << 20;
  // Checked before the destination is touched, between nodes and between target chunks (shards)
  // of an array; when it returns true Convert stops and returns FailedPrecondition "cancelled"
  // (no report). Nodes converted before that stay, each complete; the array being copied is
  // erased like a failed one, so nothing in the destination looks complete that is not. May be
  // called from any thread, concurrently. Default (empty): never cancelled.
  std::function<bool()> cancel;
  // Called after each target chunk (shard) is copied and after each node is finished, with the
  // totals so far. Calls are serialised (never two at once) but may come from any worker thread;
  // the callback should return quickly (it holds up the copy) and must not call Convert.
  // Default (empty): no reports.
  std::function<void(const ConvertProgress&)> progress;
};

// The outcome for one node of the source.
struct ConvertNodeResult {
  std::string path;       // relative to src_path; "" for the node at src_path itself
  bool is_array = false;  // false also when its metadata could not be read
  // OK when converted; otherwise why not: its metadata document does not parse, is not a JSON
  // object with node_type "array" or "group", or a directory stands where it belongs; the
  // array's metadata is invalid or names a codec that is not built in; a directory stands where
  // a chunk value belongs or a value where a directory of chunks does; a chunk cannot be read or
  // decoded; writing the destination failed. A failed node leaves nothing in the destination
  // that opens as that node (see Convert).
  Status error;
};

struct ConvertReport {
  uint64_t arrays = 0;         // arrays converted
  uint64_t groups = 0;         // including implied ancestor groups written in the destination
  uint64_t chunks_copied = 0;  // target chunks (or shards) processed
  // Every node found under the source (arrays and groups, sorted by path), and any implied
  // ancestor group whose write failed. Callers must check each entry's error, or failed().
  std::vector<ConvertNodeResult> nodes;

  // The number of entries of `nodes` whose error is set.
  uint64_t failed() const;
};

// Converts the hierarchy at `src_path` in `src` into `dst_path` in `dst`.
//
// Runs to completion over damaged trees: a node that cannot be converted does not stop the
// others. It gets its error in the report's `nodes` and every node that can be read is still
// converted, so a returned report may hold failed nodes. A failed node never looks complete in
// the destination: an array's contents are written first and its metadata documents last, and
// when anything fails its whole destination prefix is erased (so at worst, when that erase
// fails too, chunks without metadata remain, which open as no node); a group whose documents
// could not all be written has them erased. Nodes below a failed node are still converted; a
// failed node is not replaced by an implied group.
//
// Errors of the call itself (then the report is not returned): the source tree cannot be
// listed; it holds no node (NotFound); a destination write outside any node fails (erasing it
// with `overwrite`, its missing ancestor groups); ConvertOptions::cancel returned true
// (FailedPrecondition "cancelled"); and the refusals below. Errors name the array (its path
// relative to src_path) and the field or codec.
//
// Refused before anything is written or erased:
//   - options the target cannot express for a readable array (a chunk or shard shape of another
//     rank, a codec that the target format has no term for, a codec that is not built in):
//     InvalidArgument or Unsupported naming the array and the field or codec;
//   - a destination holding any key, unless `overwrite` (FailedPrecondition);
//   - a destination that is the source, lies inside it or contains it (InvalidArgument): for one
//     store object the node paths are compared; for two LocalStores the resolved directories
//     (symbolic links, "." and ".." followed; see CheckDisjointDirectories);
//   - for a LocalStore source, a symbolic link under the source node that resolves outside the
//     source store's root (FailedPrecondition naming the key and the target): its bytes are not
//     part of the store and are never copied; or that resolves into a LocalStore destination
//     (InvalidArgument), which is erased and rewritten while the source is read.
Result<ConvertReport> Convert(std::shared_ptr<Store> src, std::string_view src_path,
                              std::shared_ptr<Store> dst, std::string_view dst_path,
                              const ConvertOptions& options = {});

// InvalidArgument (naming both, and that nothing was written) when the directory
// `destination_dir` is `source_dir`, lies inside it or contains it once each is resolved
// (symbolic links, "." and ".." of the existing part followed; the missing rest taken as
// written), or when the existing directories' identities (device and inode, of each and its
// ancestors) say so, which also catches a bind mount. Callers that create the destination
// directory run this first.
Status CheckDisjointDirectories(std::string_view source_dir, std::string_view destination_dir);

// The metadata Convert writes for an array whose metadata is `source` (format, chunk grid, chain
// and key encoding as the options say; attributes kept). `where` names the array in messages.
Result<ArrayMetadata> ConvertedArrayMetadata(const ArrayMetadata& source,
                                             const ConvertOptions& options, std::string_view where);

}  // namespace zarrpp
