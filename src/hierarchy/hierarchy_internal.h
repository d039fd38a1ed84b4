// src/hierarchy/hierarchy_internal.h - helpers shared by groups, batch creation and array
// evolution.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "zarrpp/json.h"
#include "zarrpp/metadata.h"
#include "zarrpp/status.h"
#include "zarrpp/store.h"

namespace zarrpp::internal {

// Runs fn(i) for every i in [0, n), at most `concurrency` at a time, on threads started for this
// call plus the calling thread. Store requests block on latency, not CPU, so they must not be
// bounded by (or occupy) the CPU executor. With stop_on_error, no new call starts after a
// failure. Returns the error of the lowest index that failed, so the reported error does not
// depend on timing when every call runs. An exception thrown by fn is caught on the thread that
// ran it and counts as that call's failure (an IOError, "out of memory" for std::bad_alloc).
Status RunConcurrently(size_t n, size_t concurrency, bool stop_on_error,
                       const std::function<Status(size_t)>& fn);

// The attributes `base` with `patch` applied: keys set to their values, null values removed.
// InvalidArgument naming `where` unless both are objects.
Result<Json> MergeAttributes(Json base, const Json& patch, std::string_view where);

// A parsed zarr.json of either node type.
struct StoredNode {
  bool is_array = false;
  Json document;
};
// Reads and classifies the zarr.json at `key`; nullopt when missing. A document that is not an
// object, or whose node_type is missing or neither "array" nor "group", is Corruption naming the
// key (the one rule for every reader of node documents: open, digest, convert).
Result<std::optional<StoredNode>> ReadNodeDocument(Store& store, const std::string& key);

}  // namespace zarrpp::internal
