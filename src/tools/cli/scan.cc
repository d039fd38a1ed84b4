#include "src/tools/cli/scan.h"

#include <algorithm>
#include <map>
#include <mutex>

#include "src/hierarchy/hierarchy_internal.h"

namespace zarrpp::tools {

namespace {

std::string_view LastSegment(std::string_view key) {
  const size_t slash = key.rfind('/');
  return slash == std::string_view::npos ? key : key.substr(slash + 1);
}

std::string Parent(std::string_view key) {
  const size_t slash = key.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(key.substr(0, slash));
}

bool IsNodeDocument(std::string_view name) {
  return name == "zarr.json" || name == ".zarray" || name == ".zgroup";
}

// Opens the node at `path` the way the library does, without consolidated metadata (the scan
// must see the store as it is).
void OpenScanned(const std::shared_ptr<Store>& store, ScannedNode& n) {
  NodeOptions options;
  options.use_consolidated = false;
  auto node = OpenNode(store, n.path, options);
  if (!node.ok()) {
    n.error = node.status();
    return;
  }
  n.is_array = node->is_array();
  n.array = node->array;
  n.group = node->group;
  n.zarr_format = n.is_array ? n.array->metadata().zarr_format : n.group->metadata().zarr_format;
}

}  // namespace

bool IsMetadataName(std::string_view name) {
  return IsNodeDocument(name) || name == ".zattrs" || name == ".zmetadata";
}

uint64_t ScannedNode::logical_bytes() const {
  if (!array) return 0;
  const ArrayMetadata& m = array->metadata();
  if (m.data_type.is_variable()) return 0;
  uint64_t n = m.data_type.size();
  for (uint64_t s : m.shape) {
    if (s != 0 && n > UINT64_MAX / s) return UINT64_MAX;
    n *= s;
  }
  return n;
}

size_t ScannedNode::depth() const {
  return path.empty() ? 0 : 1 + static_cast<size_t>(std::count(path.begin(), path.end(), '/'));
}

std::string ScannedNode::name() const {
  return path.empty() ? "/" : std::string(LastSegment(path));
}

Result<TreeScan> ScanTree(std::shared_ptr<Store> store, const ScanOptions& options) {
  TreeScan scan;
  scan.listable = store->capabilities().listable;
  if (!scan.listable) {
    ScannedNode root;
    OpenScanned(store, root);
    if (!root.error.ok()) return root.error;
    root.metadata_key = root.array ? root.array->MetadataKey() : root.group->MetadataKey();
    scan.nodes.push_back(std::move(root));
    return scan;
  }
  ASSIGN_OR_RETURN(scan.keys, store->list());

  // Nodes: every directory holding a node document.
  std::map<std::string, ScannedNode> nodes;
  for (const std::string& key : scan.keys) {
    const std::string_view name = LastSegment(key);
    if (!IsNodeDocument(name)) continue;
    ScannedNode& n = nodes[Parent(key)];
    n.path = Parent(key);
    // zarr.json wins over the v2 documents, as OpenNode decides.
    if (n.metadata_key.empty() || name == "zarr.json") n.metadata_key = key;
  }
  std::vector<ScannedNode*> list;
  for (auto& [path, n] : nodes) list.push_back(&n);
  RETURN_IF_ERROR(
      internal::RunConcurrently(list.size(), options.io_concurrency, false, [&](size_t i) {
        OpenScanned(store, *list[i]);
        return Status::OK();
      }));

  // Every key goes to the deepest node above it.
  for (const std::string& key : scan.keys) {
    std::string owner = Parent(key);
    auto it = nodes.find(owner);
    while (it == nodes.end() && !owner.empty()) {
      owner = Parent(owner);
      it = nodes.find(owner);
    }
    if (it == nodes.end()) {
      scan.stray.push_back(key);
      continue;
    }
    ScannedNode& n = it->second;
    const std::string_view rel = std::string_view(key).substr(owner.empty() ? 0 : owner.size() + 1);
    if (rel.find('/') == std::string_view::npos && IsMetadataName(rel)) {
      n.metadata_keys.push_back(key);
      continue;
    }
    if (!n.error.ok()) {
      n.unclassified_keys.push_back(key);
      continue;
    }
    if (!n.is_array) {
      scan.stray.push_back(key);
      continue;
    }
    const ArrayMetadata& m = n.array->metadata();
    auto coords = m.chunk_key_encoding.DecodeKey(rel, m.rank());
    bool inside = coords.ok();
    if (inside) {
      const std::vector<uint64_t> grid = m.grid_shape();
      for (size_t d = 0; d < grid.size(); ++d) inside = inside && (*coords)[d] < grid[d];
    }
    (inside ? n.chunk_keys : scan.stray).push_back(key);
  }

  if (options.sizes) {
    struct Sized {
      const std::string* key;
      uint64_t* total;
    };
    std::vector<Sized> work;
    for (auto& [path, n] : nodes) {
      for (const std::string& k : n.chunk_keys) work.push_back({&k, &n.chunk_bytes});
      for (const std::string& k : n.metadata_keys) work.push_back({&k, &n.metadata_bytes});
    }
    std::mutex mu;
    RETURN_IF_ERROR(internal::RunConcurrently(
        work.size(), options.io_concurrency, true, [&](size_t i) -> Status {
          ASSIGN_OR_RETURN(std::optional<uint64_t> size, store->size(*work[i].key));
          std::lock_guard lock(mu);
          *work[i].total += size.value_or(0);
          return Status::OK();
        }));
    scan.sizes_known = true;
  }
  for (auto& [path, n] : nodes) scan.nodes.push_back(std::move(n));
  return scan;
}

}  // namespace zarrpp::tools
