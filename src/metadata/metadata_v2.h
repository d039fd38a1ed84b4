// src/metadata/metadata_v2.h - Zarr v2 metadata documents (.zarray, .zgroup, .zattrs) and their
// mapping onto zarrpp's ArrayMetadata. The byte-level contract is spec/zarr-v2.md.
//
// A v2 array is held as an ArrayMetadata with zarr_format 2 whose codec chain is the v3 chain
// that produces the same chunk bytes:
//   order "F" (rank > 1)  -> transpose with order [n-1, ..., 0], first in the chain
//   dtype byte order      -> bytes {"endian": "little" | "big"} (none for 1-byte types)
//   compressor            -> one bytes->bytes codec: blosc, zstd, gzip, numcodecs.zlib
//   dimension_separator   -> chunk_key_encoding v2 with that separator (0-d key "0")
//   fill_value null       -> the type's zero, with fill_value_null set
// Writing maps the chain back; what v2 cannot express is Unsupported naming the codec.
//
// Thread safety: free functions over values and thread-safe stores.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "zarrpp/array.h"
#include "zarrpp/json.h"
#include "zarrpp/metadata.h"
#include "zarrpp/status.h"
#include "zarrpp/store.h"

namespace zarrpp::internal {

inline constexpr std::string_view kZarrayKey = ".zarray";
inline constexpr std::string_view kZgroupKey = ".zgroup";
inline constexpr std::string_view kZattrsKey = ".zattrs";

// The key of document `name` (".zarray", ".zgroup", ".zattrs") of the node at `node_path`
// ("" for the root).
std::string V2KeyFor(std::string_view node_path, std::string_view name);

// A NumPy typestr ("<f4", ">i2", "|b1", "<c8", ...) -> data type and whether it is big-endian.
// Unsupported for kinds zarrpp has no type for (strings, objects, datetimes, structured).
struct V2DataType {
  DataType type;
  bool big_endian = false;
};
Result<V2DataType> ParseV2DataType(const Json& dtype);
// The typestr of `type` ("|" for 1-byte types). Unsupported for r<N>.
Result<std::string> V2DataTypeString(DataType type, bool big_endian);

// The .zarray document (plus the .zattrs object, {} when absent) as ArrayMetadata. `where` names
// the document in messages.
Result<ArrayMetadata> ArrayMetadataFromV2(const Json& zarray, const Json& zattrs,
                                          std::string_view where);
// The attribute holding a v2 array's dimension names (xarray's convention): reading a v2 array
// sets dimension_names from it when it is a list of rank strings.
inline constexpr std::string_view kArrayDimensionsAttribute = "_ARRAY_DIMENSIONS";
// The .zattrs of `m`: its attributes plus _ARRAY_DIMENSIONS from dimension_names when every
// dimension is named and the attribute is not already there.
Json V2AttributesOf(const ArrayMetadata& m);

// The .zarray document for `m` (any zarr_format; its chunk_key_encoding separator becomes
// dimension_separator). Unsupported naming `where` and the codec when the chain has no v2 form.
Result<Json> ArrayMetadataToV2(const ArrayMetadata& m, std::string_view where);

// Completes and checks metadata for a new v2 array: the same checks a reader makes, by writing
// .zarray and parsing it back. The result has zarr_format 2 and a v2 chunk key encoding.
Result<ArrayMetadata> NormalizeV2ArrayMetadata(ArrayMetadata m, std::string_view where);

// Reads the v2 array at `node_path`: nullopt when there is no .zarray; FailedPrecondition when
// the node is a v2 group.
Result<std::optional<ArrayMetadata>> ReadV2ArrayMetadata(Store& store, std::string_view node_path);
// Writes .zarray and .zattrs ({} when empty, as zarr-python does).
Status WriteV2ArrayMetadata(Store& store, std::string_view node_path, const ArrayMetadata& m);
// Rewrites .zattrs only.
Status WriteV2Attributes(Store& store, std::string_view node_path, const Json& attributes);

// Reads the v2 group at `node_path`: nullopt when there is no .zgroup. The result has
// zarr_format 2 and the .zattrs attributes.
Result<std::optional<GroupMetadata>> ReadV2GroupMetadata(Store& store, std::string_view node_path);
// Writes .zgroup ({"zarr_format": 2}) and .zattrs.
Status WriteV2GroupMetadata(Store& store, std::string_view node_path, const GroupMetadata& g);

// True when any metadata document (zarr.json, .zarray, .zgroup) exists at `node_path`.
Result<bool> NodeExists(Store& store, std::string_view node_path);

// Writes the metadata documents of the array at `node_path` in its format: zarr.json (v3) or
// .zarray and .zattrs (v2).
Status WriteArrayMetadataDocuments(Store& store, std::string_view node_path,
                                   const ArrayMetadata& m);
// The key whose existence marks the array: zarr.json (v3) or .zarray (v2).
std::string ArrayMetadataKeyFor(std::string_view node_path, int zarr_format);

// Array::Create for zarr_format 2 (spec/zarr-v2.md): every missing ancestor gets a .zgroup (v2
// requires them); an ancestor that is an array is FailedPrecondition; an existing node at the
// path is AlreadyExists unless `overwrite`, which erases its subtree first. All checks run before
// the first write.
Result<std::shared_ptr<Array>> CreateV2Array(std::shared_ptr<Store> store, const std::string& path,
                                             ArrayMetadata metadata, bool overwrite,
                                             const ArrayOptions& options);

}  // namespace zarrpp::internal
