// src/array/array_impl.h - the state behind an Array handle, shared by the pipelines.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "codecs/codec_chain.h"
#include "codecs/partial_decode.h"
#include "codecs/sharding_codec.h"
#include "src/pipeline/cpu_gate.h"
#include "src/pipeline/key_locks.h"
#include "zarrpp/array.h"

namespace zarrpp {

namespace internal {
class AsyncQueue;      // src/array_async.h
class ChunkCacheCore;  // src/pipeline/chunk_cache_core.h
class ShapeChains;     // src/pipeline/shape_chains.h
}  // namespace internal

struct Array::Impl {
  std::shared_ptr<Store> store;
  std::string path;    // normalised node path, "" for the root
  std::string prefix;  // "" or path + "/"
  ArrayMetadata metadata;
  std::shared_ptr<const PreparedChain> chain;  // prepared for the regular chunk spec
  ArrayOptions options;
  std::shared_ptr<Executor> executor;
  // Set when the store's operations wait on latency (see ArrayOptions::io_concurrency): chunk
  // tasks run on io_executor, one chunk per task, and their CPU stages take a token from cpu_gate
  // (as many tokens as the CPU executor has threads).
  // With a store whose operations complete on its own thread (StoreCapabilities::async_io),
  // `async_io` is set instead: the fused pipeline keeps its io_lanes operations in flight through
  // the store's completion-based operations, with no thread waiting on each, and io_executor
  // (ArrayOptions::io_executor, else a shared pool created on first use by IoExecutorOf()) serves
  // only the paths without a completion-based form.
  mutable std::shared_ptr<Executor> io_executor;
  mutable std::once_flag io_once;
  bool async_io = false;
  std::unique_ptr<internal::CpuGate> cpu_gate;
  // Fused chunk tasks in flight at once on io_executor (0 when io_executor is null), and the
  // bytes their buffers may hold at once (ArrayOptions::max_inflight_bytes, resolved).
  size_t io_lanes = 0;
  uint64_t inflight_bytes = 0;
  // The largest encoded chunk the last fused request on I/O threads fetched or stored (0: none
  // yet): the first reservation of the next request (src/pipeline/inflight_budget.h).
  std::atomic<uint64_t> encoded_hint{0};
  // The chain's array->bytes codec when the chain is exactly that codec and it can read and
  // write parts of a stored chunk (sharding_indexed); null otherwise (the chunk is opaque).
  const PartialArrayToBytesCodec* partial = nullptr;
  // Decodes a box of a chunk from the span of its stored value holding it, when the chain can
  // (codecs/partial_decode.h; src/pipeline/span_read.h); null otherwise.
  std::shared_ptr<const SpanDecoder> span_decoder;
  // Shard indexes shared by every worker of this handle; null unless
  // options.sharding.index_cache_bytes > 0.
  std::unique_ptr<ShardIndexCache> index_cache;
  // Partial writes of one chunk are read-modify-write: every write holds its chunk's key lock
  // across the store operation. Locks are per key, so writes of different chunks never wait on
  // each other across the store's latency.
  internal::KeyLocks chunk_locks;
  // The queue and thread of ReadAsync/WriteAsync/AppendAsync, created on first use; drained by
  // ~Array before anything else of the handle goes.
  mutable std::once_flag async_once;
  mutable std::shared_ptr<internal::AsyncQueue> async;
  // ArrayOptions::chunk_cache (src/pipeline/chunk_cache.h): set when reads go through the cache,
  // whose unit is the chunk, or the inner chunk of a sharded array. `store` is then wrapped so that
  // its writes invalidate the cache's entries; cache_store_id names the store in the cache.
  std::shared_ptr<internal::ChunkCacheCore> chunk_cache;
  uint64_t cache_store_id = 0;
  std::vector<uint64_t> cache_unit;
  uint64_t cache_unit_bytes = 0;
  // Set for a rectilinear chunk grid (metadata.rectilinear): the codecs prepared per chunk shape,
  // which the pipelines take for each chunk (BindCodecs, src/pipeline/pipeline.h); `chain`,
  // `span_decoder` and `partial` are those of the largest chunk, which bounds the memory of any
  // one.
  std::shared_ptr<internal::ShapeChains> shape_chains;
  std::string ChunkKey(const uint64_t* coords) const;
  // The same key in `key`, reusing its capacity (no allocation once it has held a key).
  void ChunkKeyInto(const uint64_t* coords, std::string& key) const;
};

namespace internal {
// Runs every queued async call of the handle and stops its thread (src/array/array_async.cc); a
// no-op when no async call was made.
void ShutdownAsync(Array::Impl& a);
}  // namespace internal

}  // namespace zarrpp
