// zarrpp/group.h - Zarr groups and nodes (v3, and v2 for reading): create, open, list children,
// walk, attributes.
//
// A hierarchy is a tree of nodes; a node is a group (which may have children) or an array (which
// may not). Every node has a zarr.json at "<path>/zarr.json" ("zarr.json" for the root). A node
// path is normalised by NormalizeNodePath (array.h): "/a//b/" is "a/b", "" is the root, and names
// that are only periods, start with "__" or are "zarr.json" are InvalidArgument naming the path.
//
// Creating a node at a nested path writes every missing ancestor group and refuses, before
// writing anything, when an ancestor is an array (FailedPrecondition naming both paths). Existing
// ancestor groups are never rewritten. Batch creation of many nodes is in hierarchy.h and shares
// this implementation.
//
// Reading: a child is a prefix under the group (from list_dir) that holds a zarr.json, or for
// Zarr v2 a .zgroup or .zarray (with .zattrs); prefixes without one (and names starting with
// "__") are not nodes and are skipped. v2 groups and arrays open, list and walk as v3 ones do;
// creation through groups writes v3 (Array::Create with zarr_format 2 writes v2 arrays).
//
// Consolidated metadata (Consolidate, below; zarr-python's form, spec/hierarchy.md): when a group
// opened with NodeOptions::use_consolidated holds it, Children(), Walk() and OpenNode() of that
// group and of the groups opened through it answer from it without store requests. It is a
// snapshot taken by Consolidate: nodes created or changed since are not in it (OpenNode of a
// path it lacks still reads the store); run Consolidate again after changing the hierarchy. Store
// requests of one call (the child documents of Children(), each level of Walk()) run concurrently
// on dedicated I/O threads, at most NodeOptions::io_concurrency at a time.
//
// Thread safety: a Group may be used by many threads at once. Attribute changes through one
// handle are serialized; handles opened separately on the same store do not coordinate, and the
// last whole-document write wins.
//
// Ownership: a Group shares ownership of its store; Node handles share their Group/Array.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "zarrpp/array.h"
#include "zarrpp/metadata.h"
#include "zarrpp/status.h"
#include "zarrpp/store.h"

namespace zarrpp {

class Group;
namespace internal {
struct GroupAccess;
struct ConsolidatedIndex;
}  // namespace internal

// Runtime options of the handles that groups and hierarchy operations hand out.
struct NodeOptions {
  // Maximum store requests in flight for one call (children, walk, batch creation). Each call
  // runs them on min(this, requests) - 1 threads of its own plus the calling thread; 1 makes
  // every call sequential. Default kDefaultIoConcurrency (64, array.h).
  size_t io_concurrency = kDefaultIoConcurrency;
  // Options of every Array handle opened or created through a group. Default: ArrayOptions{}.
  ArrayOptions array_options;
  // Answer from a group's consolidated metadata when it has some. Default true.
  bool use_consolidated = true;
};

// The metadata of a node to create: a group or an array.
using NodeMetadata = std::variant<GroupMetadata, ArrayMetadata>;
// Node paths (normalised on use) to the metadata of the node to create there.
using NodeMap = std::map<std::string, NodeMetadata>;

// A handle on one node: exactly one of `group` and `array` is set.
struct Node {
  // Normalised path: absolute for store-level calls, relative to the group for Group methods.
  std::string path;
  std::shared_ptr<Group> group;
  std::shared_ptr<Array> array;
  // True for an ancestor group that batch creation wrote because the input implied it.
  bool implicit = false;

  bool is_group() const { return group != nullptr; }
  bool is_array() const { return array != nullptr; }
};

class Group {
 public:
  // Creates the group at `path` and every missing ancestor group. Without create.overwrite an
  // existing node at `path` is AlreadyExists naming it; with it, the node's whole subtree is
  // erased first. An ancestor that is an array is FailedPrecondition; in every error case
  // nothing is written. metadata.zarr_format other than 3 is InvalidArgument.
  static Result<std::shared_ptr<Group>> Create(std::shared_ptr<Store> store, std::string_view path,
                                               GroupMetadata metadata = {},
                                               const CreateOptions& create = {},
                                               const NodeOptions& options = {});
  // Opens the group at `path`. NotFound when there is no zarr.json; FailedPrecondition when the
  // node is an array; metadata errors name the key.
  static Result<std::shared_ptr<Group>> Open(std::shared_ptr<Store> store, std::string_view path,
                                             const NodeOptions& options = {});
  // A handle for a group whose metadata the caller has already read or written; no I/O.
  // `path` must be normalised. InvalidArgument for an unnormalised path or zarr_format != 3.
  static Result<std::shared_ptr<Group>> Attach(std::shared_ptr<Store> store, std::string path,
                                               GroupMetadata metadata,
                                               const NodeOptions& options = {});

  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  const std::string& path() const { return path_; }
  const std::shared_ptr<Store>& store() const { return store_; }
  const NodeOptions& options() const { return options_; }
  // A copy of this handle's metadata (as last read or written through it).
  GroupMetadata metadata() const;
  // The key of this group's zarr.json.
  std::string MetadataKey() const;

  // The attributes as stored now (reads zarr.json, so changes through other handles are seen).
  // NotFound when the group's zarr.json is gone.
  Result<Json> attributes() const;
  // Replaces the attributes (a JSON object, else InvalidArgument) and rewrites zarr.json with
  // one set().
  Status SetAttributes(Json attributes);
  // Merges `patch` (a JSON object) into the stored attributes: each key is set to its value
  // (objects replace, they are not merged recursively) and keys whose value is null are removed.
  // Reads zarr.json, then rewrites it with one set(). NotFound when zarr.json is gone.
  Status UpdateAttributes(const Json& patch);

  // The node at `relative` (normalised; "" is this group), array or group as its zarr.json says.
  Result<Node> OpenNode(std::string_view relative) const;
  Result<std::shared_ptr<Group>> OpenGroup(std::string_view relative) const;
  Result<std::shared_ptr<Array>> OpenArray(std::string_view relative) const;

  // Creates a node below this group (writing missing groups in between), as Group::Create and
  // Array::Create do. `relative` naming the group itself is InvalidArgument.
  Result<std::shared_ptr<Group>> CreateGroup(std::string_view relative, GroupMetadata metadata = {},
                                             const CreateOptions& create = {}) const;
  Result<std::shared_ptr<Array>> CreateArray(std::string_view relative, ArrayMetadata metadata,
                                             const CreateOptions& create = {}) const;

  // The direct children, sorted by name; Node::path is the child's name.
  Result<std::vector<Node>> Children() const;
  // Every descendant (not this group), sorted by path relative to this group. One list_dir per
  // group and one get per node, concurrently level by level.
  Result<std::vector<Node>> Walk() const;

  // True when this handle answers from consolidated metadata.
  bool consolidated() const { return consolidated_ != nullptr; }

  // Batch creation below this group (see CreateHierarchy in hierarchy.h): keys are relative to
  // this group; a key naming the group itself is InvalidArgument. Returns the nodes written
  // (including implicit groups), sorted by path relative to this group. Nodes outside the
  // group, the group itself and siblings not named are left alone.
  Result<std::vector<Node>> CreateHierarchy(const NodeMap& nodes,
                                            const CreateOptions& create = {}) const;

 private:
  friend struct internal::GroupAccess;
  Group(std::shared_ptr<Store> store, std::string path, GroupMetadata metadata,
        const NodeOptions& options);
  // `relative` normalised and joined to this group's path.
  Result<std::string> Join(std::string_view relative) const;
  Status WriteMetadata(GroupMetadata metadata);

  const std::shared_ptr<Store> store_;
  const std::string path_;
  const NodeOptions options_;
  const int zarr_format_;  // of metadata_, which never changes format
  mutable std::mutex mu_;  // guards metadata_ and orders this handle's zarr.json writes
  GroupMetadata metadata_;
  // The nodes below this group (relative paths) from consolidated metadata; null when none.
  std::shared_ptr<const internal::ConsolidatedIndex> consolidated_;
};

// Opens the node at `path`, a group or an array as its zarr.json says. NotFound when there is
// no zarr.json; a document whose node_type is neither is InvalidArgument naming the key.
Result<Node> OpenNode(std::shared_ptr<Store> store, std::string_view path,
                      const NodeOptions& options = {});

// Writes the consolidated metadata of the group at `path`: the metadata documents of every node
// below it, read now (consolidated metadata already there is not trusted), into the group's
// zarr.json (field "consolidated_metadata", v3) or its .zmetadata (v2), with one write.
// NotFound when there is no group at `path`; FailedPrecondition when it is an array.
Status Consolidate(std::shared_ptr<Store> store, std::string_view path,
                   const NodeOptions& options = {});

}  // namespace zarrpp
