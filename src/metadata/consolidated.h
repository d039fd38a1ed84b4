// src/metadata/consolidated.h - consolidated metadata: the documents of every node below a group,
// kept in one place so that opening a hierarchy reads one document instead of one per node.
//
// Two stored forms, as zarr-python writes them (spec/hierarchy.md):
//   v3  the field "consolidated_metadata" of the group's zarr.json:
//       {"kind": "inline", "must_understand": false, "metadata": {"<path>": <zarr.json>, ...}}
//       with paths relative to the group. A group entry may itself carry consolidated metadata
//       of its subtree (nested form); both flat and nested are read.
//   v2  the document ".zmetadata" beside the group's .zgroup:
//       {"zarr_consolidated_format": 1, "metadata": {".zgroup": {...}, "<path>/.zarray": {...},
//        "<path>/.zattrs": {...}, ...}}
//
// Thread safety: free functions over values and thread-safe stores.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "zarrpp/json.h"
#include "zarrpp/metadata.h"
#include "zarrpp/status.h"
#include "zarrpp/store.h"

namespace zarrpp::internal {

inline constexpr std::string_view kZmetadataKey = ".zmetadata";

// One node of a consolidated hierarchy.
struct ConsolidatedNode {
  bool is_array = false;
  int zarr_format = 3;
  Json document;                     // v3: the node's zarr.json; v2: its .zarray or .zgroup
  Json attributes = Json::object();  // v2: its .zattrs; v3: unused (inside the document)
};
// Node paths relative to the consolidating group (never "") -> node.
using ConsolidatedNodes = std::map<std::string, ConsolidatedNode>;

// What a Group handle holds of its consolidated metadata.
struct ConsolidatedIndex {
  ConsolidatedNodes nodes;
};

// The nodes of a v3 group's consolidated_metadata field. `where` names the group's zarr.json.
// Malformed content is Corruption naming the entry.
Result<ConsolidatedNodes> ParseConsolidatedV3(const Json& field, std::string_view where);
// The field's value for `nodes` (flat form; group entries carry no consolidated metadata).
Json ConsolidatedV3Field(const ConsolidatedNodes& nodes);

// Reads .zmetadata of the v2 group at `group_path`; nullopt when there is none.
Result<std::optional<ConsolidatedNodes>> ReadConsolidatedV2(Store& store,
                                                            std::string_view group_path);
// The .zmetadata document for the v2 group with attributes `group_attributes` and `nodes`.
Json ConsolidatedV2Document(const Json& group_attributes, const ConsolidatedNodes& nodes);

// The nodes strictly below `path` (relative, not ""), with paths made relative to it.
ConsolidatedNodes ConsolidatedSubtree(const ConsolidatedNodes& nodes, std::string_view path);

}  // namespace zarrpp::internal
