// Batch creation of nodes (CreateHierarchy and friends) and the helpers shared with groups and
// array evolution.
#include "zarrpp/hierarchy.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "src/guard.h"
#include "src/hierarchy/hierarchy_internal.h"
#include "zarrpp/json.h"

namespace zarrpp {
namespace internal {

Status RunConcurrently(size_t n, size_t concurrency, bool stop_on_error,
                       const std::function<Status(size_t)>& fn) {
  if (n == 0) return Status::OK();
  const size_t workers = std::max<size_t>(1, std::min(n, concurrency));
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  size_t first_bad = n;
  Status first_status;
  auto drain = [&]() noexcept {
    for (;;) {
      if (stop_on_error && failed.load(std::memory_order_relaxed)) return;
      const size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= n) return;
      Status s;
      try {
        s = fn(i);
      } catch (...) {
        // Unwinding a spawned thread would terminate the process, and not every caller runs
        // under an API guard: an exception (std::bad_alloc) is this call's failure, a Status.
        s = StatusFromCurrentException("store request " + std::to_string(i) + " of " +
                                       std::to_string(n));
      }
      if (!s.ok()) {
        std::lock_guard lock(mu);
        if (i < first_bad) {
          first_bad = i;
          first_status = std::move(s);
        }
        failed.store(true, std::memory_order_relaxed);
      }
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(workers - 1);
  for (size_t t = 1; t < workers; ++t) {
    // Fewer threads than asked for (the system refused one, or memory ran out) only lowers the
    // concurrency: the calling thread drains whatever is left.
    try {
      threads.emplace_back(drain);
    } catch (...) {
      break;
    }
  }
  drain();
  for (auto& t : threads) t.join();
  return first_bad < n ? first_status : Status::OK();
}

Result<Json> MergeAttributes(Json base, const Json& patch, std::string_view where) {
  if (!patch.is_object()) {
    return Status::InvalidArgument(
        std::string(where) + ": an attribute patch must be a JSON object, got " + patch.dump());
  }
  if (!base.is_object()) {
    return Status::InvalidArgument(std::string(where) +
                                   ": stored attributes are not an object: " + base.dump());
  }
  for (const auto& [key, value] : patch.items()) {
    if (value.is_null()) {
      base.erase(key);
    } else {
      base[key] = value;
    }
  }
  return base;
}

Result<std::optional<StoredNode>> ReadNodeDocument(Store& store, const std::string& key) {
  ASSIGN_OR_RETURN(std::optional<Bytes> bytes, store.get(key));
  if (!bytes) return std::optional<StoredNode>();
  ASSIGN_OR_RETURN(Json doc, ParseJson(AsString(*bytes), key));
  if (!doc.is_object()) {
    return Status::Corruption(key + ": metadata is " + std::string(doc.type_name()) +
                              ", not a JSON object");
  }
  const auto type = doc.find("node_type");
  if (type == doc.end()) return Status::Corruption(key + ": node_type is missing");
  if (!type->is_string() || (*type != "array" && *type != "group")) {
    return Status::Corruption(key + ": node_type " + type->dump() +
                              " is neither \"array\" nor \"group\"");
  }
  const bool is_array = *type == "array";
  return std::optional<StoredNode>(StoredNode{is_array, std::move(doc)});
}

}  // namespace internal

namespace {

// Paths in messages: "/" for the root, "/a/b" otherwise, as the spec writes them.
std::string Show(const std::string& path) {
  return "'/" + path + "'";
}

// True when `path` is strictly below `ancestor`.
bool IsBelow(const std::string& path, const std::string& ancestor) {
  if (ancestor.empty()) return !path.empty();
  return path.size() > ancestor.size() && path.compare(0, ancestor.size(), ancestor) == 0 &&
         path[ancestor.size()] == '/';
}

// The proper ancestors of `path`, root first: "a/b/c" -> "", "a", "a/b".
std::vector<std::string> AncestorsOf(const std::string& path) {
  std::vector<std::string> out;
  if (path.empty()) return out;
  out.emplace_back();
  for (size_t i = path.find('/'); i != std::string::npos; i = path.find('/', i + 1)) {
    out.push_back(path.substr(0, i));
  }
  return out;
}

size_t Depth(const std::string& path) {
  return path.empty() ? 0 : 1 + std::count(path.begin(), path.end(), '/');
}

// One node to write: its validated metadata, the document and (for arrays) the handle.
struct Planned {
  bool implicit = false;
  std::string implied_by;  // for implicit groups: the first named node below it
  GroupMetadata group;
  std::shared_ptr<Array> array;
  std::string document;
};
using Plan = std::map<std::string, Planned>;  // by normalised path

// Normalises the keys and validates every node's metadata; no I/O.
Result<Plan> PrepareNamedNodes(const std::shared_ptr<Store>& store, const NodeMap& nodes,
                               const NodeOptions& options) {
  if (!store) return Status::InvalidArgument("hierarchy: null store");
  Plan plan;
  std::map<std::string, std::string> key_of;  // normalised path -> the input key
  for (const auto& [key, metadata] : nodes) {
    ASSIGN_OR_RETURN(std::string path, NormalizeNodePath(key));
    if (auto [it, fresh] = key_of.emplace(path, key); !fresh) {
      return Status::InvalidArgument("keys '" + it->second + "' and '" + key +
                                     "' both name the node " + Show(path));
    }
    const std::string where = MetadataKeyFor(path);
    Planned p;
    if (const auto* g = std::get_if<GroupMetadata>(&metadata)) {
      if (g->zarr_format != 3) {
        return Status::InvalidArgument(where + ": zarr_format is " +
                                       std::to_string(g->zarr_format) + ", expected 3");
      }
      // Validate exactly as a reader would.
      ASSIGN_OR_RETURN(p.group, GroupMetadata::FromJson(g->ToJson(), where));
      p.document = p.group.ToJson().dump(2);
    } else {
      if (const int format = std::get<ArrayMetadata>(metadata).zarr_format; format != 3) {
        return Status::Unsupported(where + ": zarr_format " + std::to_string(format) +
                                   " arrays are created by Array::Create, one at a time");
      }
      ASSIGN_OR_RETURN(p.array, Array::Attach(store, path, std::get<ArrayMetadata>(metadata),
                                              options.array_options));
      p.document = p.array->metadata().ToJson().dump(2);
    }
    plan.emplace(std::move(path), std::move(p));
  }
  return plan;
}

// Writes the document of `path` only if its key is absent. A named node found present is
// AlreadyExists (another writer created it since the checks); an implicit group found present is
// left as it is, unless it is an array.
Status WriteCreateOnly(Store& store, const std::string& path, const Planned& p) {
  const std::string key = MetadataKeyFor(path);
  const ByteView piece = AsBytes(p.document);
  WriteConditions conditions;
  conditions.if_equal = Generation::Absent();
  ASSIGN_OR_RETURN(std::optional<Generation> written,
                   store.set_if(key, std::span<const ByteView>(&piece, 1), conditions));
  if (written) return Status::OK();
  Result<std::optional<internal::StoredNode>> found = internal::ReadNodeDocument(store, key);
  const bool is_array = found.ok() && *found && (*found)->is_array;
  if (p.implicit) {
    if (!is_array) return Status::OK();
    return Status::FailedPrecondition("cannot create " + Show(p.implied_by) + ": its ancestor " +
                                      Show(path) + " became an array in the store (" + key +
                                      ") while it was being created; only groups contain nodes");
  }
  const std::string what =
      found.ok() && *found ? (is_array ? "an array" : "a group") : std::string("a node");
  return Status::AlreadyExists(what + " already exists at " + Show(path) + " (" + key +
                               "): another writer created it first");
}

// Writes every planned document concurrently (on a store with conditional writes, one tree level
// at a time, parents first), and returns the handles sorted by path. On a store with conditional
// writes, implicit groups, and with `create_only` named nodes too, are written only if their key is
// absent (WriteCreateOnly), so of several writers creating the same node at once exactly one
// succeeds, and an implicit group never replaces a node another writer has just created.
Result<std::vector<Node>> WritePlan(const std::shared_ptr<Store>& store, const Plan& plan,
                                    const NodeOptions& options, bool create_only = false) {
  std::vector<const std::pair<const std::string, Planned>*> order;
  order.reserve(plan.size());
  for (const auto& entry : plan) order.push_back(&entry);
  std::stable_sort(order.begin(), order.end(),
                   [](const auto* a, const auto* b) { return Depth(a->first) < Depth(b->first); });
  const bool conditional = store->capabilities().conditional_writes;
  const auto write = [&](size_t i) {
    const auto& [path, p] = *order[i];
    if (conditional && (create_only || p.implicit)) return WriteCreateOnly(*store, path, p);
    return store->set(MetadataKeyFor(path), AsBytes(p.document));
  };
  if (!conditional) {
    RETURN_IF_ERROR(internal::RunConcurrently(order.size(), options.io_concurrency,
                                              /*stop_on_error=*/true, write));
  } else {
    // Level by level: a conditional write of a parent that fails (another writer made it an
    // array) must stop its children before any is written.
    for (size_t begin = 0; begin < order.size();) {
      size_t end = begin;
      while (end < order.size() && Depth(order[end]->first) == Depth(order[begin]->first)) ++end;
      RETURN_IF_ERROR(internal::RunConcurrently(end - begin, options.io_concurrency,
                                                /*stop_on_error=*/true,
                                                [&](size_t i) { return write(begin + i); }));
      begin = end;
    }
  }
  std::vector<Node> out;
  out.reserve(plan.size());
  for (const auto& [path, p] : plan) {
    Node node;
    node.path = path;
    node.implicit = p.implicit;
    if (p.array) {
      node.array = p.array;
    } else {
      ASSIGN_OR_RETURN(node.group, Group::Attach(store, path, p.group, options));
    }
    out.push_back(std::move(node));
  }
  return out;
}

}  // namespace

Result<std::vector<Node>> CreateNodes(std::shared_ptr<Store> store, const NodeMap& nodes,
                                      const NodeOptions& options) {
  ASSIGN_OR_RETURN(Plan plan, PrepareNamedNodes(store, nodes, options));
  return WritePlan(store, plan, options);
}

Result<std::vector<Node>> CreateHierarchy(std::shared_ptr<Store> store, const NodeMap& nodes,
                                          const HierarchyOptions& options) {
  ASSIGN_OR_RETURN(Plan plan, PrepareNamedNodes(store, nodes, options.node));
  if (plan.empty()) return std::vector<Node>();

  // The subtrees erased under overwrite: named nodes not below another named node.
  std::vector<std::string> erased;
  if (options.overwrite) {
    for (const auto& entry : plan) {
      const std::string& path = entry.first;
      if (std::none_of(erased.begin(), erased.end(),
                       [&](const std::string& e) { return IsBelow(path, e); })) {
        erased.push_back(path);
      }
    }
  }
  auto inside_erased = [&](const std::string& path) {
    return std::any_of(erased.begin(), erased.end(),
                       [&](const std::string& e) { return path == e || IsBelow(path, e); });
  };

  // Implicit ancestors; an ancestor that the input makes an array is refused.
  std::vector<std::string> named;
  for (const auto& entry : plan) named.push_back(entry.first);
  for (const std::string& path : named) {
    for (const std::string& ancestor : AncestorsOf(path)) {
      auto it = plan.find(ancestor);
      if (it == plan.end()) {
        Planned p;
        p.implicit = true;
        p.implied_by = path;
        p.document = p.group.ToJson().dump(2);
        plan.emplace(ancestor, std::move(p));
      } else if (it->second.array) {
        return Status::InvalidArgument("cannot create " + Show(path) + ": its ancestor " +
                                       Show(ancestor) +
                                       " is an array in the input; only groups contain nodes");
      }
    }
  }

  // Check the store for every node whose fate depends on what is there: named nodes without
  // overwrite, and implicit groups outside the erased subtrees (inside them everything is
  // erased, so they are always written).
  std::vector<std::string> to_check;
  for (const auto& [path, p] : plan) {
    if (p.implicit ? !inside_erased(path) : !options.overwrite) to_check.push_back(path);
  }
  std::vector<std::optional<internal::StoredNode>> found(to_check.size());
  RETURN_IF_ERROR(internal::RunConcurrently(
      to_check.size(), options.node.io_concurrency, /*stop_on_error=*/false, [&](size_t i) {
        const std::string& path = to_check[i];
        const std::string key = MetadataKeyFor(path);
        ASSIGN_OR_RETURN(found[i], internal::ReadNodeDocument(*store, key));
        if (!found[i]) return Status::OK();
        const Planned& p = plan.at(path);
        if (p.implicit && found[i]->is_array) {
          return Status::FailedPrecondition(
              "cannot create " + Show(p.implied_by) + ": its ancestor " + Show(path) +
              " is an array in the store (" + key + "); only groups contain nodes");
        }
        if (!p.implicit) {
          return Status::AlreadyExists(std::string(found[i]->is_array ? "an array" : "a group") +
                                       " already exists at " + Show(path) + " (" + key + ")");
        }
        return Status::OK();
      }));
  // Implicit groups that already exist are left untouched.
  for (size_t i = 0; i < to_check.size(); ++i) {
    if (found[i]) plan.erase(to_check[i]);
  }

  RETURN_IF_ERROR(internal::RunConcurrently(
      erased.size(), options.node.io_concurrency, /*stop_on_error=*/true,
      [&](size_t i) { return store->erase_prefix(erased[i].empty() ? "" : erased[i] + "/"); }));
  // Without overwrite, every document goes in create-only where the store can condition writes:
  // the checks above and the writes are not one step, and two writers creating the same node at
  // once must not both succeed.
  return WritePlan(store, plan, options.node, /*create_only=*/!options.overwrite);
}

Result<Node> CreateRootedHierarchy(std::shared_ptr<Store> store, const NodeMap& nodes,
                                   const HierarchyOptions& options) {
  std::vector<std::string> paths;
  for (const auto& entry : nodes) {
    ASSIGN_OR_RETURN(std::string path, NormalizeNodePath(entry.first));
    paths.push_back(std::move(path));
  }
  std::sort(paths.begin(), paths.end());
  std::vector<std::string> roots;
  for (const std::string& path : paths) {
    if (std::none_of(paths.begin(), paths.end(),
                     [&](const std::string& other) { return IsBelow(path, other); }) &&
        (roots.empty() || roots.back() != path)) {
      roots.push_back(path);
    }
  }
  if (roots.size() != 1) {
    std::string list;
    for (const std::string& r : roots) list += (list.empty() ? "" : ", ") + Show(r);
    return Status::InvalidArgument(
        "a rooted hierarchy needs exactly one named node that has no "
        "named ancestor; the input has " +
        std::to_string(roots.size()) + (list.empty() ? "" : ": ") + list);
  }
  ASSIGN_OR_RETURN(std::vector<Node> created, CreateHierarchy(std::move(store), nodes, options));
  for (Node& node : created) {
    if (node.path == roots.front()) return std::move(node);
  }
  return Status::IOError("rooted hierarchy: the root " + Show(roots.front()) + " was not written");
}

}  // namespace zarrpp
