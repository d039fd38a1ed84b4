// src/tools/cli/scan.h - one listing of a hierarchy, every key attributed to the node it belongs
// to.
//
// The tool's info, ls, tree and validate commands share this view: the nodes under a store's
// root (found through their zarr.json, .zarray and .zgroup documents), each opened as the library
// opens it, with its metadata documents, its chunk keys and their stored sizes; and the keys that
// belong to no node (stray keys). A store that cannot list (HttpStore) yields only the node at
// its root, with sizes unknown.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "zarrpp/array.h"
#include "zarrpp/group.h"
#include "zarrpp/status.h"
#include "zarrpp/store.h"

namespace zarrpp::tools {

struct ScannedNode {
  std::string path;  // relative to the store root; "" for the root
  bool is_array = false;
  int zarr_format = 3;
  // Set when the node opened; otherwise `error` says why not.
  std::shared_ptr<Array> array;
  std::shared_ptr<Group> group;
  Status error;
  std::string metadata_key;                // the document that defines the node
  std::vector<std::string> metadata_keys;  // every metadata document of the node (full keys)
  std::vector<std::string> chunk_keys;     // chunk (shard) keys inside the array's grid
  // Keys below an array that could not be opened: they cannot be classified.
  std::vector<std::string> unclassified_keys;
  // Stored bytes of the chunk keys and of the metadata documents (when sizes were asked for).
  uint64_t chunk_bytes = 0;
  uint64_t metadata_bytes = 0;

  // Decoded size of the whole array (shape x element size); 0 for groups and variable-size types.
  uint64_t logical_bytes() const;
  // Depth below the root: 0 for the root, 1 for its children.
  size_t depth() const;
  // The last path segment ("/" for the root).
  std::string name() const;
};

struct TreeScan {
  bool listable = true;
  bool sizes_known = false;
  std::vector<std::string> keys;   // every key of the store, sorted (empty when not listable)
  std::vector<ScannedNode> nodes;  // sorted by path; the root first when it is a node
  std::vector<std::string> stray;  // keys that belong to no node
};

struct ScanOptions {
  bool sizes = true;           // ask the store for the size of every node's keys
  size_t io_concurrency = 16;  // store requests in flight while opening nodes and sizing keys
};

// Scans the hierarchy at the root of `store`. Only failing to list (or, for a store that cannot
// list, finding no node at its root) is an error; a node that cannot be opened is a node with
// `error` set.
Result<TreeScan> ScanTree(std::shared_ptr<Store> store, const ScanOptions& options = {});

// True for the names of metadata documents (zarr.json, .zarray, .zgroup, .zattrs, .zmetadata).
bool IsMetadataName(std::string_view name);

}  // namespace zarrpp::tools
