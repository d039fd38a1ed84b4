// codecs/sharding_internal.h - helpers the sharding codec's read and write paths share: leased
// scratch buffers, the parallel loop over inner chunks, and the coalescing range fetch.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "codecs/codec.h"
#include "codecs/codec_chain.h"
#include "codecs/sharding_index.h"
#include "zarrpp/array.h"
#include "zarrpp/executor.h"
#include "zarrpp/store.h"

namespace zarrpp::internal {

// Buffer bytes a scratch object holds (its capacity), for the free list's byte bound.
template <typename T>
uint64_t ScratchBytes(const T& t);

// A free list of scratch objects of type T; leased per task (a worker waiting inside a nested
// parallel loop may run another task on the same thread, so thread_local would be shared). Idle
// objects number at most 16 and hold at most 64 MiB of buffers; an object returned past the byte
// bound is freed.
template <typename T>
class Lease {
 public:
  Lease() {
    std::lock_guard<std::mutex> g(mu());
    if (!list().empty()) {
      p_ = std::move(list().back());
      list().pop_back();
      bytes() -= ScratchBytes(*p_);
    }
    if (!p_) p_ = std::make_unique<T>();
  }
  ~Lease() {
    const uint64_t n = ScratchBytes(*p_);
    std::lock_guard<std::mutex> g(mu());
    if (list().size() < 16 && bytes() + n <= kMaxIdleBytes) {
      bytes() += n;
      list().push_back(std::move(p_));
    }
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  // Frees every idle object.
  static void ReleaseIdle() {
    std::vector<std::unique_ptr<T>> drop;
    std::lock_guard<std::mutex> g(mu());
    drop.swap(list());
    bytes() = 0;
  }
  T& operator*() { return *p_; }
  T* operator->() { return p_.get(); }

 private:
  static constexpr uint64_t kMaxIdleBytes = uint64_t{64} << 20;
  static std::mutex& mu() {
    static auto* m = new std::mutex;  // never destroyed: leases may end during exit
    return *m;
  }
  static std::vector<std::unique_ptr<T>>& list() {
    static auto* l = new std::vector<std::unique_ptr<T>>;
    return *l;
  }
  static uint64_t& bytes() {  // guarded by mu()
    static uint64_t b = 0;
    return b;
  }
  std::unique_ptr<T> p_;
};

struct InnerScratch {
  Bytes chunk;
  ChainScratch chain;
};

struct ShardScratch {
  Bytes blob;                  // a whole fetched shard
  Bytes out;                   // an assembled shard
  std::vector<Bytes> encoded;  // new inner chunks of one write
  std::vector<Bytes> ranges;   // merged ranges of one read
};

template <>
inline uint64_t ScratchBytes(const InnerScratch& t) {
  return t.chunk.capacity() + t.chain.a.capacity() + t.chain.b.capacity() + t.chain.c.capacity();
}
template <>
inline uint64_t ScratchBytes(const ShardScratch& t) {
  uint64_t n = t.blob.capacity() + t.out.capacity();
  for (const Bytes& b : t.encoded) n += b.capacity();
  for (const Bytes& b : t.ranges) n += b.capacity();
  return n;
}

// The sharding options of a call (the defaults when it has none).
inline const ShardingOptions& OptionsOf(const PartialCodecContext& ctx) {
  static const ShardingOptions defaults;
  return ctx.options ? ctx.options->sharding : defaults;
}

// Runs body over [0, n) on `ex` in blocks of `grain`, or inline without an executor or with one
// item.
inline void RunParallel(Executor* ex, size_t n, size_t grain,
                        const std::function<void(size_t, size_t)>& body) {
  if (n == 0) return;
  if (ex == nullptr || n == 1) return body(0, n);
  ex->ParallelFor(n, grain, body);
}

// Inner chunks per task: enough for ctx's min_task_bytes, but no fewer tasks than workers.
inline size_t InnerGrain(const PartialCodecContext& ctx, Executor* ex, size_t n,
                         uint64_t inner_bytes) {
  const uint64_t min_task = ctx.options ? ctx.options->min_task_bytes : 256 * 1024;
  uint64_t grain = std::max<uint64_t>(1, min_task / std::max<uint64_t>(1, inner_bytes));
  const size_t conc = ex ? std::max<size_t>(1, ex->concurrency()) : 1;
  grain = std::min<uint64_t>(grain, std::max<uint64_t>(1, (n + conc - 1) / conc));
  return static_cast<size_t>(grain);
}

// Fetches [offset, offset + nbytes) for each wanted entry of the version `reader` holds, merging
// ranges whose gap is small. views[k] receives wanted k's bytes. Returns false when that version
// is gone. A latency-bound store with generations serves the merged ranges in parallel, each a
// get_if() conditioned on the reader's generation; otherwise the reader reads them in turn.
Result<bool> FetchRanges(const PartialCodecContext& ctx, ValueReader& reader,
                         const std::vector<std::pair<uint64_t, uint64_t>>& wanted,
                         std::vector<Bytes>& buffers, std::vector<ByteView>& views);

}  // namespace zarrpp::internal
