// zarrpp/hierarchy.h - creating many nodes of a hierarchy in one call.
//
// Creating nodes one by one costs a few store round trips each (ancestor checks, existence check,
// the write). CreateHierarchy validates the whole input first, checks the store with concurrent
// reads, and then writes every zarr.json concurrently, so 1,000 nodes cost a few dozen round
// trips instead of thousands. Semantics (spec/hierarchy.md has the full table):
//
//   - Keys are normalised (NormalizeNodePath); two keys that normalise to the same path are
//     InvalidArgument naming both. An empty map is a no-op.
//   - Every missing ancestor of a key becomes an implicit group. An implicit group whose path
//     already holds a group in the store is left untouched (not rewritten).
//   - An ancestor that is an array is an error in every mode, including overwrite: in the input
//     it is InvalidArgument, in the store FailedPrecondition, naming both paths.
//   - Without overwrite, an existing array or explicitly named existing group is AlreadyExists
//     naming the path.
//   - With overwrite, each explicitly named node's whole subtree is erased first (erase_prefix),
//     then written; nothing outside the named subtrees is erased. Naming "" erases the store.
//   - All checks run before anything is written or erased: in every error case above the store
//     is untouched. A store failure during the erase or write phase stops the call and may
//     leave part of the input written (there is no rollback).
//
//   - On a store with conditional writes (capabilities().conditional_writes: LocalStore,
//     MemoryStore, S3 endpoints that honour If-None-Match), implicit groups, and without
//     overwrite also the named nodes, are written create-only (set_if with Generation::Absent()).
//     Of several writers (threads or processes) creating the same node at once exactly one
//     succeeds; the others get AlreadyExists naming the path, and an implicit group never
//     replaces a node another writer has just created.
//
// Thread safety: the functions are safe to call concurrently. Where the store has conditional
// writes, concurrent creations of one node are decided by the store (above); elsewhere two calls
// creating overlapping paths at the same time race (each call's checks may pass before the
// other's writes land, and the last write wins).
#pragma once

#include <memory>
#include <vector>

#include "zarrpp/group.h"
#include "zarrpp/status.h"
#include "zarrpp/store.h"

namespace zarrpp {

struct HierarchyOptions {
  // Replace explicitly named existing nodes, erasing their subtrees first. Default false.
  bool overwrite = false;
  // Concurrency of the store requests and options of the returned handles. The reads of the
  // check phase, the erases and the writes each run at most node.io_concurrency at a time.
  NodeOptions node;
};

// Creates every node of `nodes` (and the implied ancestor groups) under the store root.
// Returns a handle for every node written, implicit groups included (Node::implicit), sorted by
// path. Array metadata gets the defaults of Array::Create and is validated before any I/O.
Result<std::vector<Node>> CreateHierarchy(std::shared_ptr<Store> store, const NodeMap& nodes,
                                          const HierarchyOptions& options = {});

// As CreateHierarchy, returning the one root of the input: the named node that has no named
// ancestor. InvalidArgument (naming the roots) unless there is exactly one; nothing is written
// then. (zarr-python takes the keys with the fewest segments, which accepts {"a", "b/c"}.)
Result<Node> CreateRootedHierarchy(std::shared_ptr<Store> store, const NodeMap& nodes,
                                   const HierarchyOptions& options = {});

// Writes the zarr.json of every node concurrently and nothing else: no ancestor groups, no
// existence checks, no erasing. The caller guarantees that the result is a valid hierarchy.
// Paths are still normalised and array metadata completed and validated (InvalidArgument or
// Unsupported before any write), because the returned handles need it. Sorted by path.
Result<std::vector<Node>> CreateNodes(std::shared_ptr<Store> store, const NodeMap& nodes,
                                      const NodeOptions& options = {});

}  // namespace zarrpp
