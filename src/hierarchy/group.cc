// Groups: open, create, children, walk and attributes.
#include "zarrpp/group.h"

#include <algorithm>
#include <utility>

#include "src/guard.h"
#include "src/hierarchy/hierarchy_internal.h"
#include "src/metadata/consolidated.h"
#include "src/metadata/metadata_v2.h"
#include "zarrpp/hierarchy.h"
#include "zarrpp/json.h"

namespace zarrpp {
namespace internal {

// Sets and reads what a Group holds of its consolidated metadata.
struct GroupAccess {
  static void SetConsolidated(Group& g, std::shared_ptr<const ConsolidatedIndex> index) {
    g.consolidated_ = std::move(index);
  }
  static const ConsolidatedIndex* Consolidated(const Group& g) { return g.consolidated_.get(); }
};

}  // namespace internal
namespace {

std::string PrefixOf(const std::string& path) {
  return path.empty() ? "" : path + "/";
}

std::string JoinPath(const std::string& base, const std::string& relative) {
  if (base.empty()) return relative;
  if (relative.empty()) return base;
  return base + "/" + relative;
}

using internal::ConsolidatedIndex;
using internal::ConsolidatedNode;

Result<Node> ArrayNode(const std::shared_ptr<Store>& store, const std::string& path,
                       ArrayMetadata m, const NodeOptions& options) {
  Node node;
  node.path = path;
  ASSIGN_OR_RETURN(node.array, Array::Attach(store, path, std::move(m), options.array_options));
  return node;
}

// A group handle. Its consolidated metadata is `below` when the group came from its parent's;
// otherwise, with use_consolidated, what the group itself holds (v3: its zarr.json's field, read
// already; v2: its .zmetadata, read now).
Result<Node> GroupNode(const std::shared_ptr<Store>& store, const std::string& path,
                       GroupMetadata m, std::shared_ptr<const ConsolidatedIndex> below,
                       const NodeOptions& options) {
  if (!below && options.use_consolidated) {
    if (m.zarr_format == 3) {
      if (const auto it = m.extra_fields->find(kConsolidatedMetadataField);
          it != m.extra_fields->end()) {
        ASSIGN_OR_RETURN(auto nodes, internal::ParseConsolidatedV3(*it, MetadataKeyFor(path)));
        below = std::make_shared<const ConsolidatedIndex>(ConsolidatedIndex{std::move(nodes)});
      }
    } else {
      ASSIGN_OR_RETURN(auto nodes, internal::ReadConsolidatedV2(*store, path));
      if (nodes) {
        below = std::make_shared<const ConsolidatedIndex>(ConsolidatedIndex{std::move(*nodes)});
      }
    }
  }
  Node node;
  node.path = path;
  ASSIGN_OR_RETURN(node.group, Group::Attach(store, path, std::move(m), options));
  internal::GroupAccess::SetConsolidated(*node.group, std::move(below));
  return node;
}

// A handle for the node at `path` described by `entry` (from consolidated metadata, or read);
// `below` is the consolidated metadata of its subtree, for groups.
Result<Node> NodeFromEntry(const std::shared_ptr<Store>& store, const std::string& path,
                           const ConsolidatedNode& entry,
                           std::shared_ptr<const ConsolidatedIndex> below,
                           const NodeOptions& options) {
  if (entry.zarr_format == 2) {
    const std::string key =
        internal::V2KeyFor(path, entry.is_array ? internal::kZarrayKey : internal::kZgroupKey);
    if (entry.is_array) {
      ASSIGN_OR_RETURN(ArrayMetadata m,
                       internal::ArrayMetadataFromV2(entry.document, entry.attributes, key));
      return ArrayNode(store, path, std::move(m), options);
    }
    if (!entry.attributes.is_object()) {
      return Status::InvalidArgument(internal::V2KeyFor(path, internal::kZattrsKey) + ": " +
                                     entry.attributes.dump() + " is not a JSON object");
    }
    GroupMetadata g;
    g.zarr_format = 2;
    g.attributes = entry.attributes;
    return GroupNode(store, path, std::move(g), std::move(below), options);
  }
  const std::string key = MetadataKeyFor(path);
  if (entry.is_array) {
    ASSIGN_OR_RETURN(ArrayMetadata m, ArrayMetadata::FromJson(entry.document, key));
    return ArrayNode(store, path, std::move(m), options);
  }
  ASSIGN_OR_RETURN(GroupMetadata g, GroupMetadata::FromJson(entry.document, key));
  return GroupNode(store, path, std::move(g), std::move(below), options);
}

// Reads the node at `path`: zarr.json, else a v2 .zgroup or .zarray; nullopt when none is there.
Result<std::optional<Node>> ReadNode(const std::shared_ptr<Store>& store, const std::string& path,
                                     const NodeOptions& options) {
  ASSIGN_OR_RETURN(auto stored, internal::ReadNodeDocument(*store, MetadataKeyFor(path)));
  if (stored) {
    ConsolidatedNode entry{stored->is_array, 3, std::move(stored->document), Json::object()};
    ASSIGN_OR_RETURN(Node n, NodeFromEntry(store, path, entry, nullptr, options));
    return std::optional<Node>(std::move(n));
  }
  ASSIGN_OR_RETURN(std::optional<GroupMetadata> v2_group,
                   internal::ReadV2GroupMetadata(*store, path));
  if (v2_group) {
    ASSIGN_OR_RETURN(Node n, GroupNode(store, path, std::move(*v2_group), nullptr, options));
    return std::optional<Node>(std::move(n));
  }
  ASSIGN_OR_RETURN(std::optional<ArrayMetadata> v2_array,
                   internal::ReadV2ArrayMetadata(*store, path));
  if (v2_array) {
    ASSIGN_OR_RETURN(Node n, ArrayNode(store, path, std::move(*v2_array), options));
    return std::optional<Node>(std::move(n));
  }
  return std::optional<Node>();
}

// The nodes of `index` (relative to the group at `base`) whose relative paths `select` accepts,
// sorted by path; Node::path is relative.
// The node `rel` of `index` (relative to the group at `base`); Node::path is `rel`. A group gets
// its subtree of the index.
Result<Node> NodeFromIndex(const std::shared_ptr<Store>& store, const std::string& base,
                           const ConsolidatedIndex& index, const std::string& rel,
                           const ConsolidatedNode& entry, const NodeOptions& options) {
  std::shared_ptr<const ConsolidatedIndex> below;
  if (!entry.is_array) {
    below = std::make_shared<const ConsolidatedIndex>(
        ConsolidatedIndex{internal::ConsolidatedSubtree(index.nodes, rel)});
  }
  ASSIGN_OR_RETURN(Node n,
                   NodeFromEntry(store, JoinPath(base, rel), entry, std::move(below), options));
  n.path = rel;
  return n;
}

// The nodes of `index` whose relative paths `select` accepts, sorted by path.
template <typename Select>
Result<std::vector<Node>> NodesFromIndex(const std::shared_ptr<Store>& store,
                                         const std::string& base, const ConsolidatedIndex& index,
                                         const NodeOptions& options, Select select) {
  std::vector<Node> out;
  for (const auto& [rel, entry] : index.nodes) {
    if (!select(rel)) continue;
    ASSIGN_OR_RETURN(Node n, NodeFromIndex(store, base, index, rel, entry, options));
    out.push_back(std::move(n));
  }
  return out;
}

// The nodes directly below each of `parents` (absolute paths), sorted by path. Child prefixes
// without a node document, and names starting with "__", are not nodes.
Result<std::vector<Node>> ChildrenOf(const std::shared_ptr<Store>& store,
                                     const std::vector<std::string>& parents,
                                     const NodeOptions& options) {
  std::vector<std::vector<std::string>> listed(parents.size());
  RETURN_IF_ERROR(internal::RunConcurrently(
      parents.size(), options.io_concurrency, /*stop_on_error=*/true, [&](size_t i) {
        const std::string prefix = PrefixOf(parents[i]);
        ASSIGN_OR_RETURN(DirListing dir, store->list_dir(prefix));
        for (const std::string& child : dir.prefixes) {
          // Entries are full prefixes ending in "/".
          std::string name = child.substr(prefix.size());
          if (!name.empty() && name.back() == '/') name.pop_back();
          if (name.empty() || name.compare(0, 2, "__") == 0) continue;
          auto normal = NormalizeNodePath(name);
          if (!normal.ok() || *normal != name) continue;  // not a valid node name
          listed[i].push_back(JoinPath(parents[i], name));
        }
        return Status::OK();
      }));
  std::vector<std::string> paths;
  for (auto& l : listed) paths.insert(paths.end(), l.begin(), l.end());
  std::sort(paths.begin(), paths.end());
  std::vector<std::optional<Node>> nodes(paths.size());
  RETURN_IF_ERROR(internal::RunConcurrently(
      paths.size(), options.io_concurrency, /*stop_on_error=*/true, [&](size_t i) {
        ASSIGN_OR_RETURN(nodes[i], ReadNode(store, paths[i], options));
        return Status::OK();
      }));
  std::vector<Node> out;
  for (auto& n : nodes) {
    if (n) out.push_back(std::move(*n));
  }
  return out;
}

// Appends piecewise: GCC 12 reports a false -Wrestrict for the equivalent chain of operator+.
Status NamesGroupItself(std::string_view relative, const std::string& group) {
  std::string m = "'";
  m.append(relative).append("' names the group '/").append(group);
  m.append("' itself, not a node below it");
  return Status::InvalidArgument(std::move(m));
}

}  // namespace

Result<Node> OpenNode(std::shared_ptr<Store> store, std::string_view path,
                      const NodeOptions& options) {
  if (!store) return Status::InvalidArgument("OpenNode: null store");
  ASSIGN_OR_RETURN(std::string norm, NormalizeNodePath(path));
  ASSIGN_OR_RETURN(std::optional<Node> node, ReadNode(store, norm, options));
  if (!node) {
    return Status::NotFound("no node at '/" + norm + "': '" + MetadataKeyFor(norm) + "' (or '" +
                            internal::V2KeyFor(norm, internal::kZgroupKey) + "', '" +
                            internal::V2KeyFor(norm, internal::kZarrayKey) + "') is missing");
  }
  return std::move(*node);
}

Group::Group(std::shared_ptr<Store> store, std::string path, GroupMetadata metadata,
             const NodeOptions& options)
    : store_(std::move(store)),
      path_(std::move(path)),
      options_(options),
      zarr_format_(metadata.zarr_format),
      metadata_(std::move(metadata)) {}

Result<std::shared_ptr<Group>> Group::Attach(std::shared_ptr<Store> store, std::string path,
                                             GroupMetadata metadata, const NodeOptions& options) {
  if (!store) return Status::InvalidArgument("Group::Attach: null store");
  ASSIGN_OR_RETURN(std::string norm, NormalizeNodePath(path));
  if (norm != path) {
    return Status::InvalidArgument("Group::Attach: path '" + path + "' is not normalised ('" +
                                   norm + "')");
  }
  if (metadata.zarr_format != 3 && metadata.zarr_format != 2) {
    return Status::InvalidArgument(MetadataKeyFor(path) + ": zarr_format is " +
                                   std::to_string(metadata.zarr_format) + ", expected 3 or 2");
  }
  return std::shared_ptr<Group>(
      new Group(std::move(store), std::move(path), std::move(metadata), options));
}

Result<std::shared_ptr<Group>> Group::Create(std::shared_ptr<Store> store, std::string_view path,
                                             GroupMetadata metadata, const CreateOptions& create,
                                             const NodeOptions& options) {
  ASSIGN_OR_RETURN(std::string norm, NormalizeNodePath(path));
  HierarchyOptions h;
  h.overwrite = create.overwrite;
  h.node = options;
  ASSIGN_OR_RETURN(std::vector<Node> created,
                   zarrpp::CreateHierarchy(std::move(store), {{norm, std::move(metadata)}}, h));
  for (Node& node : created) {
    if (node.path == norm) return std::move(node.group);
  }
  return Status::IOError("Group::Create: '/" + norm + "' was not written");
}

Result<std::shared_ptr<Group>> Group::Open(std::shared_ptr<Store> store, std::string_view path,
                                           const NodeOptions& options) {
  ASSIGN_OR_RETURN(Node node, zarrpp::OpenNode(std::move(store), path, options));
  if (!node.is_group()) {
    return Status::FailedPrecondition("'/" + node.path + "' is an array, not a group (" +
                                      MetadataKeyFor(node.path) + ")");
  }
  return std::move(node.group);
}

GroupMetadata Group::metadata() const {
  std::lock_guard lock(mu_);
  return metadata_;
}

std::string Group::MetadataKey() const {
  if (zarr_format_ == 2) return internal::V2KeyFor(path_, internal::kZgroupKey);
  return MetadataKeyFor(path_);
}

Result<Json> Group::attributes() const {
  const std::string key = MetadataKey();
  if (zarr_format_ == 2) {
    ASSIGN_OR_RETURN(std::optional<GroupMetadata> g, internal::ReadV2GroupMetadata(*store_, path_));
    if (!g) return Status::NotFound("group '/" + path_ + "' is gone: '" + key + "' is missing");
    return *std::move(g->attributes);
  }
  ASSIGN_OR_RETURN(auto stored, internal::ReadNodeDocument(*store_, key));
  if (!stored) return Status::NotFound("group '/" + path_ + "' is gone: '" + key + "' is missing");
  if (stored->is_array) {
    return Status::FailedPrecondition("'/" + path_ + "' is now an array, not a group (" + key +
                                      ")");
  }
  ASSIGN_OR_RETURN(GroupMetadata m, GroupMetadata::FromJson(stored->document, key));
  return *std::move(m.attributes);
}

Status Group::WriteMetadata(GroupMetadata metadata) {
  // mu_ is held by the caller.
  if (zarr_format_ == 2) {
    RETURN_IF_ERROR(internal::WriteV2Attributes(*store_, path_, metadata.attributes));
  } else {
    RETURN_IF_ERROR(store_->set(MetadataKey(), AsBytes(metadata.ToJson().dump(2))));
  }
  metadata_ = std::move(metadata);
  return Status::OK();
}

Status Group::SetAttributes(Json attributes) {
  if (!attributes.is_object()) {
    return Status::InvalidArgument("attributes of group '/" + path_ +
                                   "' must be a JSON object, got " + attributes.dump());
  }
  std::lock_guard lock(mu_);
  GroupMetadata m = metadata_;
  m.attributes = std::move(attributes);
  return WriteMetadata(std::move(m));
}

Status Group::UpdateAttributes(const Json& patch) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(Json current, attributes());
  ASSIGN_OR_RETURN(Json merged,
                   internal::MergeAttributes(std::move(current), patch, "group '/" + path_ + "'"));
  GroupMetadata m = metadata_;
  m.attributes = std::move(merged);
  return WriteMetadata(std::move(m));
}

Result<std::string> Group::Join(std::string_view relative) const {
  ASSIGN_OR_RETURN(std::string rel, NormalizeNodePath(relative));
  return JoinPath(path_, rel);
}

Result<Node> Group::OpenNode(std::string_view relative) const {
  ASSIGN_OR_RETURN(std::string rel, NormalizeNodePath(relative));
  if (consolidated_ && !rel.empty()) {
    // From the consolidated metadata when it has the node; a node created since reads the store.
    if (const auto it = consolidated_->nodes.find(rel); it != consolidated_->nodes.end()) {
      ASSIGN_OR_RETURN(Node node,
                       NodeFromIndex(store_, path_, *consolidated_, rel, it->second, options_));
      node.path = JoinPath(path_, rel);
      return node;
    }
  }
  return zarrpp::OpenNode(store_, JoinPath(path_, rel), options_);
}

Result<std::shared_ptr<Group>> Group::OpenGroup(std::string_view relative) const {
  ASSIGN_OR_RETURN(Node node, OpenNode(relative));
  if (!node.is_group()) {
    return Status::FailedPrecondition("'/" + node.path + "' is an array, not a group (" +
                                      node.array->MetadataKey() + ")");
  }
  return std::move(node.group);
}

Result<std::shared_ptr<Array>> Group::OpenArray(std::string_view relative) const {
  ASSIGN_OR_RETURN(Node node, OpenNode(relative));
  if (!node.is_array()) {
    return Status::FailedPrecondition("'/" + node.path + "' is a group, not an array (" +
                                      node.group->MetadataKey() + ")");
  }
  return std::move(node.array);
}

Result<std::shared_ptr<Group>> Group::CreateGroup(std::string_view relative, GroupMetadata metadata,
                                                  const CreateOptions& create) const {
  ASSIGN_OR_RETURN(std::string rel, NormalizeNodePath(relative));
  if (rel.empty()) {
    return NamesGroupItself(relative, path_);
  }
  return Group::Create(store_, JoinPath(path_, rel), std::move(metadata), create, options_);
}

Result<std::shared_ptr<Array>> Group::CreateArray(std::string_view relative, ArrayMetadata metadata,
                                                  const CreateOptions& create) const {
  ASSIGN_OR_RETURN(std::string rel, NormalizeNodePath(relative));
  if (rel.empty()) {
    return NamesGroupItself(relative, path_);
  }
  return Array::Create(store_, JoinPath(path_, rel), std::move(metadata), create,
                       options_.array_options);
}

Result<std::vector<Node>> Group::Children() const {
  if (consolidated_) {
    return NodesFromIndex(store_, path_, *consolidated_, options_,
                          [](const std::string& p) { return p.find('/') == std::string::npos; });
  }
  ASSIGN_OR_RETURN(std::vector<Node> children, ChildrenOf(store_, {path_}, options_));
  const size_t cut = PrefixOf(path_).size();
  for (Node& n : children) n.path = n.path.substr(cut);
  return children;
}

Result<std::vector<Node>> Group::Walk() const {
  if (consolidated_) {
    return NodesFromIndex(store_, path_, *consolidated_, options_,
                          [](const std::string&) { return true; });
  }
  std::vector<Node> all;
  std::vector<std::string> frontier = {path_};
  while (!frontier.empty()) {
    ASSIGN_OR_RETURN(std::vector<Node> level, ChildrenOf(store_, frontier, options_));
    frontier.clear();
    for (Node& n : level) {
      if (n.is_group()) frontier.push_back(n.path);
      all.push_back(std::move(n));
    }
  }
  const size_t cut = PrefixOf(path_).size();
  for (Node& n : all) n.path = n.path.substr(cut);
  std::sort(all.begin(), all.end(), [](const Node& a, const Node& b) { return a.path < b.path; });
  return all;
}

Result<std::vector<Node>> Group::CreateHierarchy(const NodeMap& nodes,
                                                 const CreateOptions& create) const {
  NodeMap absolute;
  std::map<std::string, std::string> key_of;
  for (const auto& [key, metadata] : nodes) {
    ASSIGN_OR_RETURN(std::string rel, NormalizeNodePath(key));
    if (rel.empty()) {
      return Status::InvalidArgument("key '" + key + "' names the group '/" + path_ +
                                     "' itself; create_hierarchy creates nodes below it");
    }
    if (auto [it, fresh] = key_of.emplace(rel, key); !fresh) {
      return Status::InvalidArgument("keys '" + it->second + "' and '" + key +
                                     "' both name the node '" + rel + "'");
    }
    absolute.emplace(JoinPath(path_, rel), metadata);
  }
  HierarchyOptions h;
  h.overwrite = create.overwrite;
  h.node = options_;
  ASSIGN_OR_RETURN(std::vector<Node> created, zarrpp::CreateHierarchy(store_, absolute, h));
  std::vector<Node> out;
  const std::string prefix = PrefixOf(path_);
  for (Node& n : created) {
    if (n.path.size() > prefix.size() && n.path.compare(0, prefix.size(), prefix) == 0) {
      n.path = n.path.substr(prefix.size());
      out.push_back(std::move(n));
    }
  }
  return out;
}

Status Consolidate(std::shared_ptr<Store> store, std::string_view path,
                   const NodeOptions& options) {
  // Documents are serialised here (attributes a caller set may not be valid UTF-8): no exception
  // leaves the call.
  return internal::Guard("Consolidate of '" + std::string(path) + "'", [&]() -> Status {
    NodeOptions fresh = options;
    fresh.use_consolidated = false;  // read every node now
    ASSIGN_OR_RETURN(std::shared_ptr<Group> group, Group::Open(store, path, fresh));
    ASSIGN_OR_RETURN(std::vector<Node> nodes, group->Walk());
    GroupMetadata g = group->metadata();
    internal::ConsolidatedNodes entries;
    for (const Node& n : nodes) {
      ConsolidatedNode e;
      e.is_array = n.is_array();
      if (n.is_array()) {
        const ArrayMetadata& m = n.array->metadata();
        e.zarr_format = m.zarr_format;
        if (m.zarr_format == 2) {
          ASSIGN_OR_RETURN(e.document, internal::ArrayMetadataToV2(m, n.array->MetadataKey()));
          e.attributes = internal::V2AttributesOf(m);
        } else {
          e.document = m.ToJson();
        }
      } else {
        GroupMetadata child = n.group->metadata();
        e.zarr_format = child.zarr_format;
        if (child.zarr_format == 2) {
          e.document = Json{{"zarr_format", 2}};
          e.attributes = child.attributes;
        } else {
          child.extra_fields->erase(std::string(kConsolidatedMetadataField));
          e.document = child.ToJson();
        }
      }
      // One document form per hierarchy: a node of the other format below the group is left out.
      if (e.zarr_format == g.zarr_format) entries.emplace(n.path, std::move(e));
    }
    if (g.zarr_format == 2) {
      const Json doc = internal::ConsolidatedV2Document(g.attributes, entries);
      return store->set(internal::V2KeyFor(group->path(), internal::kZmetadataKey),
                        AsBytes(doc.dump(2)));
    }
    g.extra_fields[std::string(kConsolidatedMetadataField)] =
        internal::ConsolidatedV3Field(entries);
    return store->set(group->MetadataKey(), AsBytes(g.ToJson().dump(2)));
  });
}

}  // namespace zarrpp
