// zarrpp/metadata.h - Zarr node metadata (zarr.json) as C++ values.
//
// Parsing validates every field and refuses what it does not understand: an unknown field or
// codec without "must_understand": false is Unsupported naming it; malformed fields are
// InvalidArgument naming the field and the value. Serialising writes every field back, so
// parse -> serialise -> parse is the identity, including unknown must_understand:false fields.
//
// JSON: `Json` here is only declared (zarrpp/json_value.h); include <zarrpp/json.h> to build,
// read or compare the JSON fields (codecs, attributes, extra_fields) and the documents that
// FromJson, ToJson and ParseJson take and return.
//
// Thread safety: values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zarrpp/bytes.h"
#include "zarrpp/chunk_grid.h"
#include "zarrpp/data_type.h"
#include "zarrpp/json_value.h"
#include "zarrpp/status.h"

namespace zarrpp {

// One element's bytes in memory representation (little-endian), size == data_type.size().
struct FillValue {
  Bytes bytes;

  // Parses a v3 fill_value JSON for `type`: numbers (floats rounded ties-to-even from the
  // decimal text), "NaN", "Infinity", "-Infinity", "0x..." bit patterns for floats (width must
  // match the type), [re, im] for complex, true/false for bool, [b0, ...] (N/8 bytes) for r<N>.
  static Result<FillValue> FromJson(const Json& j, DataType type);
  // The v3 JSON form: numbers, "NaN" for the canonical NaN, hex for any other NaN.
  Json ToJson(DataType type) const;
  // The type's zero.
  static FillValue Zero(DataType type) { return FillValue{Bytes(type.size(), 0)}; }

  friend bool operator==(const FillValue&, const FillValue&) = default;
};

struct ChunkKeyEncoding {
  enum class Kind { kDefault, kV2 };
  Kind kind = Kind::kDefault;
  char separator = '/';  // '/' or '.'; default: '/' for kDefault, '.' for kV2

  // The key of the chunk at grid position `coords`, relative to the array's prefix.
  // 0-d: "c" (default) or "0" (v2).
  std::string EncodeKey(const std::vector<uint64_t>& coords) const;
  // The same key appended to `out`, for `rank` indices at `coords`: with the capacity `out`
  // already has, no allocation.
  void AppendKey(const uint64_t* coords, size_t rank, std::string& out) const;
  // The inverse of EncodeKey for an array of `rank` dimensions (used when listing chunks).
  // InvalidArgument for keys EncodeKey would not write: another prefix or separator, a different
  // number of indices, signs or leading zeros.
  Result<std::vector<uint64_t>> DecodeKey(std::string_view key, size_t rank) const;
  static Result<ChunkKeyEncoding> FromJson(const Json& j);
  Json ToJson() const;
  friend bool operator==(const ChunkKeyEncoding&, const ChunkKeyEncoding&) = default;
};

struct ArrayMetadata {
  int zarr_format = 3;
  std::vector<uint64_t> shape;
  DataType data_type;
  std::vector<uint64_t> chunk_shape;  // regular grid; every entry > 0
  // Set for a "rectilinear" chunk grid (spec/metadata.md): the chunk edges of every dimension.
  // chunk_shape then holds the largest edge of each dimension (parsing sets it), the bound of
  // any chunk's shape; metadata built in code may leave it empty.
  std::optional<ChunkGrid> rectilinear;
  ChunkKeyEncoding chunk_key_encoding;
  FillValue fill_value;
  // zarr_format 2 only: the .zarray fill_value is null (missing chunks read as the type's zero,
  // held in fill_value); kept so that rewriting .zarray writes null again.
  bool fill_value_null = false;
  // Normalised codec objects {"name":..., "configuration":{...}}; default: empty.
  JsonValue codecs = JsonValue::EmptyArray();
  JsonValue attributes;  // a JSON object; default: empty
  std::optional<std::vector<std::optional<std::string>>> dimension_names;
  JsonValue extra_fields;  // unknown fields with must_understand:false, kept verbatim

  size_t rank() const { return shape.size(); }
  // Number of chunks along each dimension: ceil(shape / chunk_shape), or for a rectilinear grid
  // the chunks holding any element.
  std::vector<uint64_t> grid_shape() const;
  // Total elements in one chunk (the largest chunk of a rectilinear grid).
  uint64_t chunk_elements() const;
  // The chunk grid: rectilinear, or the regular grid of chunk_shape.
  ChunkGrid grid() const;

  // Parses and validates a zarr.json document of node_type "array". `where` names the document
  // (e.g. its key) in error messages. Codecs are checked for presence in the registry and chain
  // validity.
  static Result<ArrayMetadata> FromJson(const Json& j, std::string_view where = "zarr.json");
  // Parses a v3 zarr.json text.
  static Result<ArrayMetadata> Parse(std::string_view text, std::string_view where = "zarr.json");
  Json ToJson() const;
  // Checks the invariants FromJson checks, for metadata built in code.
  Status Validate(std::string_view where = "array") const;
};

// The field of a group's zarr.json holding the consolidated metadata of the hierarchy below it,
// as zarr-python writes it: {"kind": "inline", "must_understand": false, "metadata": {path:
// document}}. Kept in GroupMetadata::extra_fields; null is accepted and dropped.
inline constexpr std::string_view kConsolidatedMetadataField = "consolidated_metadata";

struct GroupMetadata {
  int zarr_format = 3;
  JsonValue attributes;    // a JSON object; default: empty
  JsonValue extra_fields;  // e.g. consolidated_metadata; must_understand:false fields

  static Result<GroupMetadata> FromJson(const Json& j, std::string_view where = "zarr.json");
  static Result<GroupMetadata> Parse(std::string_view text, std::string_view where = "zarr.json");
  Json ToJson() const;
};

// Parses JSON text, turning parse errors into InvalidArgument naming `where`.
Result<Json> ParseJson(std::string_view text, std::string_view where);

}  // namespace zarrpp
