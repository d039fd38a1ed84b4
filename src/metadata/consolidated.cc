// Consolidated metadata: parsing and writing both stored forms (src/metadata/consolidated.h).
#include "src/metadata/consolidated.h"

#include <utility>

#include "src/metadata/metadata_v2.h"
#include "zarrpp/array.h"
#include "zarrpp/json.h"

namespace zarrpp::internal {
namespace {

Status Bad(std::string_view where, const std::string& what) {
  return Status::Corruption(std::string(where) + ": consolidated metadata: " + what);
}

// A path usable as a node path below the group: normalised, not the group itself.
bool ValidRelativePath(const std::string& path) {
  auto norm = NormalizeNodePath(path);
  return norm.ok() && *norm == path && !path.empty();
}

Status AddV3Entries(const Json& field, const std::string& base, std::string_view where, int depth,
                    ConsolidatedNodes& out) {
  if (depth > 64) return Bad(where, "nested more than 64 levels");
  if (!field.is_object()) return Bad(where, field.dump() + " is not an object");
  if (const auto kind = field.find("kind"); kind != field.end() && *kind != "inline") {
    return Status::Unsupported(std::string(where) + ": consolidated metadata of kind " +
                               kind->dump() + " (only \"inline\" is)");
  }
  const auto metadata = field.find("metadata");
  if (metadata == field.end() || !metadata->is_object()) {
    return Bad(where, "\"metadata\" is missing or not an object");
  }
  for (const auto& [path, doc] : metadata->items()) {
    const std::string full = base.empty() ? path : base + "/" + path;
    if (!ValidRelativePath(full)) return Bad(where, "entry '" + full + "' is not a node path");
    if (!doc.is_object()) return Bad(where, "entry '" + full + "' is not a JSON object");
    const auto type = doc.find("node_type");
    if (type == doc.end() || (*type != "array" && *type != "group")) {
      return Bad(where, "entry '" + full + "' has no node_type \"array\" or \"group\"");
    }
    ConsolidatedNode node;
    node.is_array = *type == "array";
    node.zarr_format = 3;
    node.document = doc;
    if (!node.is_array) {
      if (const auto nested = doc.find(kConsolidatedMetadataField);
          nested != doc.end() && !nested->is_null()) {
        RETURN_IF_ERROR(AddV3Entries(*nested, full, where, depth + 1, out));
      }
      node.document.erase(std::string(kConsolidatedMetadataField));
    }
    out.insert_or_assign(full, std::move(node));
  }
  return Status::OK();
}

}  // namespace

Result<ConsolidatedNodes> ParseConsolidatedV3(const Json& field, std::string_view where) {
  ConsolidatedNodes out;
  RETURN_IF_ERROR(AddV3Entries(field, "", where, 0, out));
  return out;
}

Json ConsolidatedV3Field(const ConsolidatedNodes& nodes) {
  Json metadata = Json::object();
  for (const auto& [path, node] : nodes) metadata[path] = node.document;
  return Json{{"kind", "inline"}, {"must_understand", false}, {"metadata", std::move(metadata)}};
}

Result<std::optional<ConsolidatedNodes>> ReadConsolidatedV2(Store& store,
                                                            std::string_view group_path) {
  const std::string key = V2KeyFor(group_path, kZmetadataKey);
  ASSIGN_OR_RETURN(std::optional<Bytes> bytes, store.get(key));
  if (!bytes) return std::optional<ConsolidatedNodes>();
  ASSIGN_OR_RETURN(Json doc, ParseJson(AsString(*bytes), key));
  if (!doc.is_object()) return Bad(key, "the document is not a JSON object");
  if (const auto f = doc.find("zarr_consolidated_format"); f != doc.end() && *f != 1) {
    return Status::Unsupported(key + ": zarr_consolidated_format " + f->dump() + " (only 1 is)");
  }
  const auto metadata = doc.find("metadata");
  if (metadata == doc.end() || !metadata->is_object()) {
    return Bad(key, "\"metadata\" is missing or not an object");
  }
  ConsolidatedNodes out;
  std::map<std::string, Json> attributes;
  for (const auto& [name, value] : metadata->items()) {
    const size_t slash = name.rfind('/');
    const std::string node = slash == std::string::npos ? "" : name.substr(0, slash);
    const std::string leaf = slash == std::string::npos ? name : name.substr(slash + 1);
    if (node.empty()) continue;  // the group's own documents
    if (!ValidRelativePath(node)) return Bad(key, "entry '" + name + "' is not below a node path");
    if (!value.is_object()) return Bad(key, "entry '" + name + "' is not a JSON object");
    if (leaf == kZarrayKey || leaf == kZgroupKey) {
      ConsolidatedNode n;
      n.is_array = leaf == kZarrayKey;
      n.zarr_format = 2;
      n.document = value;
      if (auto [it, fresh] = out.emplace(node, std::move(n)); !fresh) {
        return Bad(key, "node '" + node + "' has both .zarray and .zgroup");
      }
    } else if (leaf == kZattrsKey) {
      attributes[node] = value;
    }
  }
  for (auto& [node, attrs] : attributes) {
    if (auto it = out.find(node); it != out.end()) it->second.attributes = std::move(attrs);
  }
  return std::optional<ConsolidatedNodes>(std::move(out));
}

Json ConsolidatedV2Document(const Json& group_attributes, const ConsolidatedNodes& nodes) {
  Json metadata = Json::object();
  metadata[std::string(kZgroupKey)] = Json{{"zarr_format", 2}};
  metadata[std::string(kZattrsKey)] = group_attributes;
  for (const auto& [path, node] : nodes) {
    metadata[path + "/" + std::string(node.is_array ? kZarrayKey : kZgroupKey)] = node.document;
    metadata[path + "/" + std::string(kZattrsKey)] = node.attributes;
  }
  return Json{{"metadata", std::move(metadata)}, {"zarr_consolidated_format", 1}};
}

ConsolidatedNodes ConsolidatedSubtree(const ConsolidatedNodes& nodes, std::string_view path) {
  ConsolidatedNodes out;
  const std::string prefix = std::string(path) + "/";
  for (auto it = nodes.lower_bound(prefix); it != nodes.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    out.emplace(it->first.substr(prefix.size()), it->second);
  }
  return out;
}

}  // namespace zarrpp::internal
