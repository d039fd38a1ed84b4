// src/array_impl.h - the state behind an Array handle, shared by the pipelines.
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <semaphore>
#include <string>

#include "codecs/codec_chain.h"
#include "codecs/sharding_codec.h"
#include "zarrpp/array.h"

namespace zarrpp {

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
  std::shared_ptr<Executor> io_executor;
  std::unique_ptr<std::counting_semaphore<>> cpu_gate;
  // The chain's array->bytes codec when the chain is exactly that codec and it can read and
  // write parts of a stored chunk (sharding_indexed); null otherwise (the chunk is opaque).
  const PartialArrayToBytesCodec* partial = nullptr;
  // Shard indexes shared by every worker of this handle; null unless
  // options.sharding.index_cache_bytes > 0.
  std::unique_ptr<ShardIndexCache> index_cache;
  // Partial writes of one chunk are read-modify-write: serialized per chunk through these stripes.
  // A write holds its chunk's stripe across the store's latency, so two chunks sharing a stripe
  // wait on each other: 1024 stripes keep the 64 requests a latency-bound store has in flight
  // almost always on distinct stripes (64 stripes left about 40 distinct, and 1,000 chunk writes
  // on a 10 ms store took twice the I/O-concurrency bound).
  std::array<std::mutex, 1024> chunk_locks;

  std::mutex& LockFor(const std::string& key) {
    return chunk_locks[std::hash<std::string>{}(key) % chunk_locks.size()];
  }
  std::string ChunkKey(const uint64_t* coords) const;
};

}  // namespace zarrpp
