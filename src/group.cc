// Groups: open, create, children, walk and attributes.
#include "zarrpp/group.h"

#include <algorithm>
#include <utility>

#include "src/hierarchy_internal.h"
#include "zarrpp/hierarchy.h"

namespace zarrpp {
namespace {

std::string PrefixOf(const std::string& path) {
  return path.empty() ? "" : path + "/";
}

std::string JoinPath(const std::string& base, const std::string& relative) {
  if (base.empty()) return relative;
  if (relative.empty()) return base;
  return base + "/" + relative;
}

// A handle for the node whose zarr.json is `stored`.
Result<Node> MakeNode(const std::shared_ptr<Store>& store, const std::string& path,
                      internal::StoredNode stored, const NodeOptions& options) {
  const std::string key = MetadataKeyFor(path);
  Node node;
  node.path = path;
  if (stored.is_array) {
    ASSIGN_OR_RETURN(ArrayMetadata m, ArrayMetadata::FromJson(stored.document, key));
    ASSIGN_OR_RETURN(node.array, Array::Attach(store, path, std::move(m), options.array_options));
  } else {
    ASSIGN_OR_RETURN(GroupMetadata m, GroupMetadata::FromJson(stored.document, key));
    ASSIGN_OR_RETURN(node.group, Group::Attach(store, path, std::move(m), options));
  }
  return node;
}

// The nodes directly below each of `parents` (absolute paths), sorted by path. Child prefixes
// without a zarr.json, and names starting with "__", are not nodes.
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
        ASSIGN_OR_RETURN(auto stored, internal::ReadNodeDocument(*store, MetadataKeyFor(paths[i])));
        if (!stored) return Status::OK();
        ASSIGN_OR_RETURN(nodes[i], MakeNode(store, paths[i], std::move(*stored), options));
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
  const std::string key = MetadataKeyFor(norm);
  ASSIGN_OR_RETURN(auto stored, internal::ReadNodeDocument(*store, key));
  if (!stored) return Status::NotFound("no node at '/" + norm + "': '" + key + "' is missing");
  return MakeNode(store, norm, std::move(*stored), options);
}

Group::Group(std::shared_ptr<Store> store, std::string path, GroupMetadata metadata,
             const NodeOptions& options)
    : store_(std::move(store)),
      path_(std::move(path)),
      options_(options),
      metadata_(std::move(metadata)) {}

Result<std::shared_ptr<Group>> Group::Attach(std::shared_ptr<Store> store, std::string path,
                                             GroupMetadata metadata, const NodeOptions& options) {
  if (!store) return Status::InvalidArgument("Group::Attach: null store");
  ASSIGN_OR_RETURN(std::string norm, NormalizeNodePath(path));
  if (norm != path) {
    return Status::InvalidArgument("Group::Attach: path '" + path + "' is not normalised ('" +
                                   norm + "')");
  }
  if (metadata.zarr_format != 3) {
    return Status::InvalidArgument(MetadataKeyFor(path) + ": zarr_format is " +
                                   std::to_string(metadata.zarr_format) + ", expected 3");
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
  return MetadataKeyFor(path_);
}

Result<Json> Group::attributes() const {
  const std::string key = MetadataKey();
  ASSIGN_OR_RETURN(auto stored, internal::ReadNodeDocument(*store_, key));
  if (!stored) return Status::NotFound("group '/" + path_ + "' is gone: '" + key + "' is missing");
  if (stored->is_array) {
    return Status::FailedPrecondition("'/" + path_ + "' is now an array, not a group (" + key +
                                      ")");
  }
  ASSIGN_OR_RETURN(GroupMetadata m, GroupMetadata::FromJson(stored->document, key));
  return std::move(m.attributes);
}

Status Group::WriteMetadata(GroupMetadata metadata) {
  // mu_ is held by the caller.
  RETURN_IF_ERROR(store_->set(MetadataKey(), AsBytes(metadata.ToJson().dump(2))));
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
  ASSIGN_OR_RETURN(std::string path, Join(relative));
  return zarrpp::OpenNode(store_, path, options_);
}

Result<std::shared_ptr<Group>> Group::OpenGroup(std::string_view relative) const {
  ASSIGN_OR_RETURN(std::string path, Join(relative));
  return Group::Open(store_, path, options_);
}

Result<std::shared_ptr<Array>> Group::OpenArray(std::string_view relative) const {
  ASSIGN_OR_RETURN(std::string path, Join(relative));
  return Array::Open(store_, path, options_.array_options);
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
  ASSIGN_OR_RETURN(std::vector<Node> children, ChildrenOf(store_, {path_}, options_));
  const size_t cut = PrefixOf(path_).size();
  for (Node& n : children) n.path = n.path.substr(cut);
  return children;
}

Result<std::vector<Node>> Group::Walk() const {
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

}  // namespace zarrpp
