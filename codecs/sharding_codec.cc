#include "codecs/sharding_codec.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <functional>
#include <limits>
#include <mutex>
#include <string>
#include <utility>

#include "src/checked_math.h"
#include "src/first_error.h"
#include "src/indexing.h"
#include "src/key_locks.h"
#include "src/store_internal.h"
#include "zarrpp/array.h"
#include "zarrpp/executor.h"
#include "zarrpp/store.h"

namespace zarrpp {

static_assert(std::endian::native == std::endian::little,
              "the shard index is handled in memory as little-endian uint64");

using internal::AllEqualFill;
using internal::CopyBox;
using internal::FillBox;
using internal::FillElements;
using internal::IsContiguousBox;
using internal::LinearOffset;

struct ShardingCodec::Layout {
  ChunkSpec shard;  // the decoded shard
  std::vector<uint64_t> inner_shape;
  std::vector<uint64_t> grid;  // inner chunks per dimension
  uint64_t n_inner = 1;
  uint64_t inner_bytes = 0;             // decoded bytes of one inner chunk
  std::optional<uint64_t> inner_fixed;  // encoded bytes of one inner chunk when fixed
  std::shared_ptr<const PreparedChain> inner;
  std::shared_ptr<const PreparedChain> index;
  uint64_t index_size = 0;  // encoded bytes of the index
  IndexLocation location = IndexLocation::kEnd;
  // Write order: C-order indices of inner chunks, tabulated on the first write that needs them,
  // so preparing a layout (and so opening an array) costs the same whatever the inner chunk count.
  class LazyMorton {
   public:
    void Reset(std::vector<uint64_t> grid) { grid_ = std::move(grid); }
    const std::vector<uint64_t>& table() const {
      std::call_once(once_, [this] { table_ = MortonOrder(grid_); });
      return table_;
    }
    size_t size() const { return table().size(); }
    uint64_t operator[](size_t k) const { return table()[k]; }
    auto begin() const { return table().begin(); }
    auto end() const { return table().end(); }

   private:
    std::vector<uint64_t> grid_;
    mutable std::once_flag once_;
    mutable std::vector<uint64_t> table_;
  };
  LazyMorton morton;

  // Grid position of inner chunk `j` (C order).
  void GridCoords(uint64_t j, std::vector<uint64_t>& g) const {
    g.resize(grid.size());
    for (size_t d = grid.size(); d-- > 0;) {
      g[d] = j % grid[d];
      j /= grid[d];
    }
  }
};

namespace {

using Layout = ShardingCodec::Layout;
constexpr uint64_t kEmpty = ShardIndex::kEmpty;

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
uint64_t ScratchBytes(const InnerScratch& t) {
  return t.chunk.capacity() + t.chain.a.capacity() + t.chain.b.capacity() + t.chain.c.capacity();
}
template <>
uint64_t ScratchBytes(const ShardScratch& t) {
  uint64_t n = t.blob.capacity() + t.out.capacity();
  for (const Bytes& b : t.encoded) n += b.capacity();
  for (const Bytes& b : t.ranges) n += b.capacity();
  return n;
}

std::string Coords(const Layout& L, uint64_t j) {
  std::vector<uint64_t> g;
  L.GridCoords(j, g);
  std::string s = "inner chunk [";
  for (size_t d = 0; d < g.size(); ++d) {
    if (d) s += ", ";
    s += std::to_string(g[d]);
  }
  return s + "]";
}

std::string ShardWhere(const std::string& key) {
  return "shard '" + key + "'";
}

const ShardingOptions& OptionsOf(const PartialCodecContext& ctx) {
  static const ShardingOptions defaults;
  return ctx.options ? ctx.options->sharding : defaults;
}

void RunParallel(Executor* ex, size_t n, size_t grain,
                 const std::function<void(size_t, size_t)>& body) {
  if (n == 0) return;
  if (ex == nullptr || n == 1) return body(0, n);
  ex->ParallelFor(n, grain, body);
}

size_t InnerGrain(const PartialCodecContext& ctx, Executor* ex, size_t n, uint64_t inner_bytes) {
  const uint64_t min_task = ctx.options ? ctx.options->min_task_bytes : 256 * 1024;
  uint64_t grain = std::max<uint64_t>(1, min_task / std::max<uint64_t>(1, inner_bytes));
  const size_t conc = ex ? std::max<size_t>(1, ex->concurrency()) : 1;
  grain = std::min<uint64_t>(grain, std::max<uint64_t>(1, (n + conc - 1) / conc));
  return static_cast<size_t>(grain);
}

using internal::FirstError;

// The inner chunks a box of the shard touches, as C-order indices.
std::vector<uint64_t> TouchedChunks(const Layout& L, const uint64_t* origin,
                                    const std::vector<uint64_t>& shape) {
  const size_t r = L.grid.size();
  bool whole_shard = true;
  for (size_t d = 0; d < r; ++d) {
    if (origin[d] != 0 || shape[d] != L.shard.shape[d]) whole_shard = false;
  }
  if (whole_shard) {
    std::vector<uint64_t> all(L.n_inner);
    for (uint64_t j = 0; j < L.n_inner; ++j) all[j] = j;
    return all;
  }
  std::vector<uint64_t> first(r), count(r);
  uint64_t total = 1;
  for (size_t d = 0; d < r; ++d) {
    if (shape[d] == 0) return {};
    first[d] = origin[d] / L.inner_shape[d];
    count[d] = (origin[d] + shape[d] - 1) / L.inner_shape[d] - first[d] + 1;
    total *= count[d];
  }
  std::vector<uint64_t> out(total);
  std::vector<uint64_t> g(r);
  for (uint64_t t = 0; t < total; ++t) {
    uint64_t rest = t;
    for (size_t d = r; d-- > 0;) {
      g[d] = first[d] + rest % count[d];
      rest /= count[d];
    }
    out[t] = LinearOffset(L.grid, g.data());
  }
  return out;
}

// Where inner chunk `j` meets the box (origin, shape) of the shard.
struct InnerPart {
  std::vector<uint64_t> inner_origin;  // of the inner chunk in the shard
  std::vector<uint64_t> lo;            // of the part in the shard
  std::vector<uint64_t> in_inner;      // of the part in the inner chunk
  std::vector<uint64_t> shape;         // of the part
  bool whole = true;                   // the part is the whole inner chunk
};

void LocateInner(const Layout& L, uint64_t j, const uint64_t* origin,
                 const std::vector<uint64_t>& shape, InnerPart& p) {
  const size_t r = L.grid.size();
  L.GridCoords(j, p.inner_origin);
  p.lo.resize(r);
  p.in_inner.resize(r);
  p.shape.resize(r);
  p.whole = true;
  for (size_t d = 0; d < r; ++d) {
    const uint64_t c = L.inner_shape[d];
    const uint64_t ilo = p.inner_origin[d] * c;
    p.inner_origin[d] = ilo;
    const uint64_t lo = std::max(ilo, origin[d]);
    const uint64_t hi = std::min(ilo + c, origin[d] + shape[d]);
    p.lo[d] = lo;
    p.in_inner[d] = lo - ilo;
    p.shape[d] = hi > lo ? hi - lo : 0;
    if (p.shape[d] != c) p.whole = false;
  }
}

// The present inner chunks that hold bytes, as C-order indices sorted by offset. O(n): a shard
// written whole is in C or Morton order and is recognised in one pass; any other order (after
// chunks went into free space) is radix-sorted on the offset, so no read or write of a shard
// with thousands of inner chunks pays an n log n sort.
void OrderByOffset(const Layout& L, const std::vector<uint64_t>& entries,
                   std::vector<uint64_t>& order) {
  auto live = [&](uint64_t j) { return entries[2 * j] != kEmpty && entries[2 * j + 1] != 0; };
  auto in_order = [&](const auto& order_of) {
    order.clear();
    uint64_t prev = 0;
    for (uint64_t k = 0; k < L.n_inner; ++k) {
      const uint64_t j = order_of(k);
      if (!live(j)) continue;
      if (entries[2 * j] < prev) return false;
      prev = entries[2 * j];
      order.push_back(j);
    }
    return true;
  };
  if (in_order([](uint64_t k) { return k; })) return;
  if (L.morton.size() == L.n_inner && in_order([&](uint64_t k) { return L.morton[k]; })) return;
  order.clear();
  uint64_t max_offset = 0;
  for (uint64_t j = 0; j < L.n_inner; ++j) {
    if (!live(j)) continue;
    order.push_back(j);
    max_offset = std::max(max_offset, entries[2 * j]);
  }
  // Least significant digit first; each pass is stable, so the result is sorted by offset.
  constexpr int kDigitBits = 11;
  constexpr uint64_t kMask = (uint64_t{1} << kDigitBits) - 1;
  std::vector<uint64_t> count(kMask + 1);
  std::vector<uint64_t> next(order.size());
  const int bits = static_cast<int>(std::bit_width(max_offset));
  for (int shift = 0; shift < bits; shift += kDigitBits) {
    std::fill(count.begin(), count.end(), 0);
    for (uint64_t j : order) ++count[(entries[2 * j] >> shift) & kMask];
    uint64_t at = 0;
    for (uint64_t& c : count) at += std::exchange(c, at);
    for (uint64_t j : order) next[count[(entries[2 * j] >> shift) & kMask]++] = j;
    order.swap(next);
  }
}

// Checks every entry of an index. `shard_size` is the value's size when known. The overlap check
// is skipped for an index this process decoded and validated before (`check_overlap` false):
// only its fit to the current value's size is in doubt.
Status ValidateIndex(const Layout& L, const ShardIndex& index, std::optional<uint64_t> shard_size,
                     const std::string& key, bool check_overlap = true,
                     std::vector<uint64_t>* order_out = nullptr) {
  const uint64_t isz = L.index_size;
  uint64_t data_lo = 0;
  std::optional<uint64_t> data_hi;
  if (L.location == ShardingCodec::IndexLocation::kStart) {
    data_lo = isz;
    if (shard_size) data_hi = *shard_size;
  } else if (shard_size) {
    if (*shard_size < isz) {
      return Status::Corruption(ShardWhere(key) + " has " + std::to_string(*shard_size) +
                                " bytes, fewer than its " + std::to_string(isz) + "-byte index");
    }
    data_hi = *shard_size - isz;
  }
  for (uint64_t j = 0; j < L.n_inner; ++j) {
    const uint64_t off = index.offset(j), nb = index.nbytes(j);
    if (off == kEmpty || nb == kEmpty) {
      if (off != nb) {
        return Status::Corruption(ShardWhere(key) + ": index entry of " + Coords(L, j) +
                                  " has offset " + std::to_string(off) + " and nbytes " +
                                  std::to_string(nb) + "; only one is the empty marker");
      }
      continue;
    }
    if (nb > std::numeric_limits<uint64_t>::max() - off) {
      return Status::Corruption(ShardWhere(key) + ": index entry of " + Coords(L, j) +
                                " overflows: offset " + std::to_string(off) + " + nbytes " +
                                std::to_string(nb));
    }
    if (off < data_lo || (data_hi && off + nb > *data_hi)) {
      return Status::Corruption(
          ShardWhere(key) + ": index entry of " + Coords(L, j) + " covers bytes [" +
          std::to_string(off) + ", " + std::to_string(off + nb) + "), outside the data bytes [" +
          std::to_string(data_lo) + ", " + (data_hi ? std::to_string(*data_hi) : "end") + ")");
    }
  }
  if (!check_overlap) return Status::OK();
  // No two chunks may share bytes: in offset order each chunk ends before the next begins.
  std::vector<uint64_t> order;
  OrderByOffset(L, index.entries, order);
  for (size_t k = 1; k < order.size(); ++k) {
    const uint64_t a = order[k - 1], b = order[k];
    if (index.offset(b) < index.offset(a) + index.nbytes(a)) {
      return Status::Corruption(ShardWhere(key) + ": index entries of " + Coords(L, a) + " [" +
                                std::to_string(index.offset(a)) + ", +" +
                                std::to_string(index.nbytes(a)) + ") and " + Coords(L, b) + " [" +
                                std::to_string(index.offset(b)) + ", +" +
                                std::to_string(index.nbytes(b)) + ") overlap");
    }
  }
  if (order_out) *order_out = std::move(order);
  return Status::OK();
}

Result<std::shared_ptr<ShardIndex>> DecodeIndex(const Layout& L, ByteView encoded,
                                                std::optional<uint64_t> shard_size,
                                                const std::string& key) {
  if (encoded.size() != L.index_size) {
    return Status::Corruption(ShardWhere(key) + ": index has " + std::to_string(encoded.size()) +
                              " bytes, expected " + std::to_string(L.index_size));
  }
  auto index = std::make_shared<ShardIndex>();
  index->entries.resize(2 * L.n_inner);
  Lease<InnerScratch> s;
  MutableByteView dst(reinterpret_cast<uint8_t*>(index->entries.data()), 16 * L.n_inner);
  RETURN_IF_ERROR_CTX(L.index->Decode(encoded, dst, s->chain), ShardWhere(key) + ": index");
  RETURN_IF_ERROR(ValidateIndex(L, *index, shard_size, key, true, &index->by_offset));
  return index;
}

// The index of a whole shard value held in memory.
Result<std::shared_ptr<ShardIndex>> IndexOfBlob(const Layout& L, ByteView blob,
                                                const std::string& key) {
  if (blob.size() < L.index_size) {
    return Status::Corruption(ShardWhere(key) + " has " + std::to_string(blob.size()) +
                              " bytes, fewer than its " + std::to_string(L.index_size) +
                              "-byte index");
  }
  const ByteView enc = L.location == ShardingCodec::IndexLocation::kEnd
                           ? blob.subspan(blob.size() - L.index_size)
                           : blob.first(L.index_size);
  return DecodeIndex(L, enc, blob.size(), key);
}

Status EncodeIndex(const Layout& L, const std::vector<uint64_t>& entries, uint8_t* dst,
                   const std::string& key) {
  Lease<InnerScratch> s;
  ByteView raw(reinterpret_cast<const uint8_t*>(entries.data()), 16 * L.n_inner);
  ASSIGN_OR_RETURN_CTX(ByteView enc, L.index->Encode(raw, s->chain), ShardWhere(key) + ": index");
  if (enc.size() != L.index_size) {
    return Status::Corruption(ShardWhere(key) + ": index encoded to " + std::to_string(enc.size()) +
                              " bytes, expected " + std::to_string(L.index_size));
  }
  std::memcpy(dst, enc.data(), enc.size());
  return Status::OK();
}

// How often a partial read opens the shard again after the version it was reading was replaced,
// before it reads the whole value in one request (atomic by itself).
constexpr int kReadAttempts = 8;

// The index of the version of the shard `reader` holds: from the cache when it holds that
// version's index (`use_cache`), else read and decoded (and cached). False when the version is
// gone (nothing decoded).
Result<bool> ReadIndex(const Layout& L, const PartialCodecContext& ctx, ValueReader& reader,
                       bool use_cache, Bytes& buf, std::shared_ptr<const ShardIndex>& index) {
  const uint64_t size = reader.size();
  if (use_cache && ctx.index_cache) {
    index = ctx.index_cache->Get(ctx.key, reader.generation());
    if (index) return true;
  }
  if (size < L.index_size) {
    return Status::Corruption(ShardWhere(ctx.key) + " has " + std::to_string(size) +
                              " bytes, fewer than its " + std::to_string(L.index_size) +
                              "-byte index");
  }
  const ByteRange range = L.location == ShardingCodec::IndexLocation::kStart
                              ? ByteRange::Bounded(0, L.index_size)
                              : ByteRange::Bounded(size - L.index_size, size);
  ASSIGN_OR_RETURN(bool readable, reader.read(range, buf));
  if (!readable) return false;
  ASSIGN_OR_RETURN(std::shared_ptr<ShardIndex> decoded, DecodeIndex(L, buf, size, ctx.key));
  if (ctx.index_cache) ctx.index_cache->Put(ctx.key, reader.generation(), decoded);
  index = std::move(decoded);
  return true;
}

// Fetches [offset, offset + nbytes) for each wanted entry of the version `reader` holds, merging
// ranges whose gap is small. views[k] receives wanted k's bytes. Returns false when that version
// is gone. A latency-bound store with generations serves the merged ranges in parallel, each a
// get_if() conditioned on the reader's generation; otherwise the reader reads them in turn.
Result<bool> FetchRanges(const PartialCodecContext& ctx, ValueReader& reader,
                         const std::vector<std::pair<uint64_t, uint64_t>>& wanted,
                         std::vector<Bytes>& buffers, std::vector<ByteView>& views) {
  const ShardingOptions& opt = OptionsOf(ctx);
  std::vector<size_t> order(wanted.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return wanted[a].first < wanted[b].first; });
  struct Merged {
    uint64_t lo, hi;
    std::vector<size_t> members;
  };
  std::vector<Merged> merged;
  for (size_t k : order) {
    const uint64_t lo = wanted[k].first, hi = lo + wanted[k].second;
    if (!merged.empty()) {
      Merged& m = merged.back();
      const uint64_t new_hi = std::max(m.hi, hi);
      if (lo <= m.hi + opt.coalesce_max_gap_bytes && new_hi - m.lo <= opt.coalesce_max_bytes) {
        m.hi = new_hi;
        m.members.push_back(k);
        continue;
      }
    }
    merged.push_back({lo, hi, {k}});
  }
  if (buffers.size() < merged.size()) buffers.resize(merged.size());
  views.assign(wanted.size(), ByteView());
  FirstError err;
  std::atomic<bool> gone{false};
  auto check = [&](size_t m, Result<bool> readable) {
    if (!readable.ok()) {
      if (readable.status().IsInvalidArgument()) {
        err.Set(Status::Corruption(ShardWhere(ctx.key) + ": index points at bytes [" +
                                   std::to_string(merged[m].lo) + ", " +
                                   std::to_string(merged[m].hi) + ") past the shard's end (" +
                                   readable.status().message() + ")"));
      } else {
        err.Set(readable.status());
      }
      return;
    }
    if (!*readable) {
      gone = true;
      return;
    }
    if (buffers[m].size() != merged[m].hi - merged[m].lo) {
      err.Set(Status::Corruption(ShardWhere(ctx.key) + ": range read returned " +
                                 std::to_string(buffers[m].size()) + " bytes, expected " +
                                 std::to_string(merged[m].hi - merged[m].lo)));
    }
  };
  const Generation& generation = reader.generation();
  if (merged.size() > 1 && generation.present() && ctx.store->capabilities().io_concurrency > 0) {
    RunParallel(ctx.executor, merged.size(), 1, [&](size_t b, size_t e) {
      for (size_t m = b; m < e && !err.failed() && !gone; ++m) {
        Result<ReadResult> r = ctx.store->get_if(
            ctx.key, ByteRange::Bounded(merged[m].lo, merged[m].hi), buffers[m], &generation);
        if (!r.ok()) {
          check(m, r.status());
        } else {
          check(m, r->found && r->condition_met);
        }
      }
    });
  } else {
    for (size_t m = 0; m < merged.size() && !err.failed() && !gone; ++m) {
      check(m, reader.read(ByteRange::Bounded(merged[m].lo, merged[m].hi), buffers[m]));
    }
  }
  RETURN_IF_ERROR(err.status());
  if (gone) return false;
  for (size_t m = 0; m < merged.size(); ++m) {
    for (size_t k : merged[m].members) {
      views[k] = ByteView(buffers[m]).subspan(wanted[k].first - merged[m].lo, wanted[k].second);
    }
  }
  return true;
}

// Decodes the touched inner chunks into the caller's box. bytes[k] is chunk touched[k]'s stored
// bytes, or absent for an empty entry.
Status DecodeInto(const Layout& L, const PartialCodecContext* ctx, Executor* ex,
                  const std::string& key, const std::vector<uint64_t>& touched,
                  const std::vector<std::optional<ByteView>>& bytes, const uint64_t* chunk_origin,
                  const std::vector<uint64_t>& box_shape, uint8_t* out,
                  const std::vector<uint64_t>& out_shape, const uint64_t* out_origin) {
  const size_t r = L.grid.size();
  const size_t esize = L.shard.dtype.size();
  const uint8_t* fill = L.shard.fill_value.bytes.data();
  FirstError err;
  const size_t grain = ctx ? InnerGrain(*ctx, ex, touched.size(), L.inner_bytes)
                           : std::max<size_t>(1, touched.size());
  if (ctx != nullptr && ctx->staged) {
    // Decode every touched inner chunk, one codec at a time, then scatter them all.
    const size_t n = touched.size();
    std::vector<ByteView> views(n);
    std::vector<uint8_t> present(n, 0);
    for (size_t k = 0; k < n; ++k) {
      if (bytes[k]) {
        views[k] = *bytes[k];
        present[k] = 1;
      }
    }
    std::vector<Bytes> decoded;
    if (L.inner->is_identity()) {
      for (size_t k = 0; k < n; ++k) {
        if (present[k] && views[k].size() != L.inner_bytes) {
          return Status::Corruption(ShardWhere(key) + ": " + Coords(L, touched[k]) + " holds " +
                                    std::to_string(views[k].size()) + " bytes, expected " +
                                    std::to_string(L.inner_bytes));
        }
      }
    } else {
      Executor& run = ex != nullptr ? *ex : *InlineExecutor();
      RETURN_IF_ERROR(L.inner->DecodeBatch(views, present, decoded, run, grain, [&](size_t k) {
        return ShardWhere(key) + ": " + Coords(L, touched[k]);
      }));
      for (size_t k = 0; k < n; ++k) views[k] = ByteView(decoded[k]);
    }
    RunParallel(ex, n, grain, [&](size_t b, size_t e) {
      InnerPart p;
      std::vector<uint64_t> pos(r);
      for (size_t k = b; k < e; ++k) {
        LocateInner(L, touched[k], chunk_origin, box_shape, p);
        for (size_t d = 0; d < r; ++d) pos[d] = out_origin[d] + (p.lo[d] - chunk_origin[d]);
        if (!present[k]) {
          FillBox(out, out_shape, pos.data(), p.shape, fill, esize);
        } else {
          CopyBox(views[k].data(), L.inner_shape, p.in_inner.data(), out, out_shape, pos.data(),
                  p.shape, esize);
        }
      }
    });
    return Status::OK();
  }
  RunParallel(ex, touched.size(), grain, [&](size_t b, size_t e) {
    Lease<InnerScratch> s;
    InnerPart p;
    std::vector<uint64_t> pos(r);
    for (size_t k = b; k < e && !err.failed(); ++k) {
      const uint64_t j = touched[k];
      LocateInner(L, j, chunk_origin, box_shape, p);
      for (size_t d = 0; d < r; ++d) pos[d] = out_origin[d] + (p.lo[d] - chunk_origin[d]);
      if (!bytes[k]) {
        FillBox(out, out_shape, pos.data(), p.shape, fill, esize);
        continue;
      }
      if (L.inner->is_identity()) {
        // Stored bytes are the inner chunk itself: copy the part straight from them.
        if (bytes[k]->size() != L.inner_bytes) {
          err.Set(Status::Corruption(ShardWhere(key) + ": " + Coords(L, j) + " holds " +
                                     std::to_string(bytes[k]->size()) + " bytes, expected " +
                                     std::to_string(L.inner_bytes)));
          continue;
        }
        CopyBox(bytes[k]->data(), L.inner_shape, p.in_inner.data(), out, out_shape, pos.data(),
                p.shape, esize);
        continue;
      }
      if (p.whole && IsContiguousBox(out_shape, pos.data(), p.shape)) {
        MutableByteView dst(out + LinearOffset(out_shape, pos.data()) * esize, L.inner_bytes);
        Status st = L.inner->Decode(*bytes[k], dst, s->chain);
        if (!st.ok()) err.Set(st.WithContext(ShardWhere(key) + ": " + Coords(L, j)));
        continue;
      }
      s->chunk.resize(L.inner_bytes);
      Status st = L.inner->Decode(*bytes[k], s->chunk, s->chain);
      if (!st.ok()) {
        err.Set(st.WithContext(ShardWhere(key) + ": " + Coords(L, j)));
        continue;
      }
      CopyBox(s->chunk.data(), L.inner_shape, p.in_inner.data(), out, out_shape, pos.data(),
              p.shape, esize);
    }
  });
  return err.status();
}

// New values for a box of one shard.
struct WriteJob {
  const uint64_t* origin;              // of the box in the shard
  const std::vector<uint64_t>* shape;  // of the box
  const uint8_t* src;
  const std::vector<uint64_t>* src_shape;  // unused when scalar
  const uint64_t* src_origin;              // unused when scalar
  bool scalar = false;
  std::vector<uint64_t> in_bounds;  // extent of the shard inside the array
  bool write_empty = false;
};

// True when the box (origin, shape) is the whole shard, so every inner chunk is whole.
bool IsWholeShard(const Layout& L, const uint64_t* origin, const std::vector<uint64_t>& shape) {
  for (size_t d = 0; d < shape.size(); ++d) {
    if (origin[d] != 0 || shape[d] != L.shard.shape[d]) return false;
  }
  return true;
}

// Takes the bytes `enc` into `dst`: by swapping buffers when `enc` is the whole of one of the
// worker's scratch buffers (the usual case: the last codec wrote there), else by a copy. The
// swapped-in buffer keeps its capacity, so after the first shard no encode allocates.
void TakeEncoded(ByteView enc, InnerScratch& s, Bytes& dst) {
  for (Bytes* b : {&s.chain.a, &s.chain.b, &s.chain.c, &s.chunk}) {
    // A buffer the codec sized for its worst case, far above what it wrote, stays with the
    // scratch (warm for the next chunk) and the bytes are copied out: taking it would leave the
    // codec a fresh buffer to allocate and zero-fill for every inner chunk.
    if (!enc.empty() && enc.data() == b->data() && enc.size() == b->size() &&
        b->capacity() <= enc.size() + enc.size() / 4) {
      std::swap(*b, dst);
      return;
    }
  }
  dst.assign(enc.begin(), enc.end());
}

// Merges and encodes the touched inner chunks. old[k] holds chunk touched[k]'s stored bytes
// when it is present and only partly overwritten. result[k] is the new encoded bytes (in
// `encoded[k]`, the scalar memo, or the caller's source buffer when the inner chain is the
// identity) or nullopt when the chunk is now empty. The views live until `encoded`, `memo` or
// the source change.
Status EncodeTouched(const Layout& L, const PartialCodecContext* ctx, Executor* ex,
                     const std::string& key, const WriteJob& job,
                     const std::vector<uint64_t>& touched,
                     const std::vector<std::optional<ByteView>>& old, std::vector<Bytes>& encoded,
                     std::vector<std::optional<ByteView>>& result, Bytes& memo) {
  const size_t r = L.grid.size();
  const size_t esize = L.shard.dtype.size();
  const uint8_t* fill = L.shard.fill_value.bytes.data();
  const uint64_t inner_elems = L.inner_bytes / std::max<size_t>(1, esize);
  if (encoded.size() < touched.size()) encoded.resize(touched.size());
  result.assign(touched.size(), std::nullopt);

  const size_t grain0 = ctx ? InnerGrain(*ctx, ex, touched.size(), L.inner_bytes)
                            : std::max<size_t>(1, touched.size());
  if (ctx != nullptr && ctx->staged) {
    // Merge every touched inner chunk into a buffer of its own, then encode them all, one codec
    // at a time.
    const size_t n = touched.size();
    encoded.resize(n);
    std::vector<uint8_t> keep(n, 1);
    FirstError merr;
    RunParallel(ex, n, grain0, [&](size_t b, size_t e) {
      Lease<InnerScratch> s;
      InnerPart p;
      std::vector<uint64_t> src_pos(r);
      for (size_t k = b; k < e && !merr.failed(); ++k) {
        LocateInner(L, touched[k], job.origin, *job.shape, p);
        Bytes& chunk = encoded[k];
        chunk.resize(L.inner_bytes);
        if (!p.whole) {
          if (old[k]) {
            Status st = L.inner->Decode(*old[k], chunk, s->chain);
            if (!st.ok()) {
              merr.Set(st.WithContext(ShardWhere(key) + ": " + Coords(L, touched[k])));
              continue;
            }
          } else {
            FillElements(chunk.data(), inner_elems, fill, esize);
          }
        }
        if (job.scalar) {
          FillBox(chunk.data(), L.inner_shape, p.in_inner.data(), p.shape, job.src, esize);
        } else {
          for (size_t d = 0; d < r; ++d) src_pos[d] = job.src_origin[d] + (p.lo[d] - job.origin[d]);
          CopyBox(job.src, *job.src_shape, src_pos.data(), chunk.data(), L.inner_shape,
                  p.in_inner.data(), p.shape, esize);
        }
        if (!job.write_empty && AllEqualFill(chunk.data(), inner_elems, fill, L.shard.dtype)) {
          keep[k] = 0;
        }
      }
    });
    RETURN_IF_ERROR(merr.status());
    Executor& run = ex != nullptr ? *ex : *InlineExecutor();
    RETURN_IF_ERROR(L.inner->EncodeBatch(encoded, keep, run, grain0, [&](size_t k) {
      return ShardWhere(key) + ": " + Coords(L, touched[k]);
    }));
    for (size_t k = 0; k < n; ++k) {
      if (keep[k] && !encoded[k].empty()) result[k] = ByteView(encoded[k]);
    }
    return Status::OK();
  }

  // A scalar over whole inner chunks: merge, empty-test and encode once for all of them.
  bool memo_empty = true;
  if (job.scalar) {
    Lease<InnerScratch> s;
    s->chunk.resize(L.inner_bytes);
    FillElements(s->chunk.data(), inner_elems, job.src, esize);
    if (job.write_empty || !AllEqualFill(s->chunk.data(), inner_elems, fill, L.shard.dtype)) {
      ASSIGN_OR_RETURN_CTX(ByteView enc, L.inner->Encode(s->chunk, s->chain),
                           ShardWhere(key) + ": inner chunk");
      memo.assign(enc.begin(), enc.end());
      memo_empty = memo.empty();
    }
    if (IsWholeShard(L, job.origin, *job.shape)) {
      // Every inner chunk is whole: the shard is the memo repeated (W2's scalar write).
      if (!memo_empty) result.assign(touched.size(), ByteView(memo));
      return Status::OK();
    }
  }

  FirstError err;
  const size_t grain = ctx ? InnerGrain(*ctx, ex, touched.size(), L.inner_bytes)
                           : std::max<size_t>(1, touched.size());
  RunParallel(ex, touched.size(), grain, [&](size_t b, size_t e) {
    Lease<InnerScratch> s;
    InnerPart p;
    std::vector<uint64_t> src_pos(r);
    for (size_t k = b; k < e && !err.failed(); ++k) {
      const uint64_t j = touched[k];
      LocateInner(L, j, job.origin, *job.shape, p);
      if (job.scalar && p.whole) {
        if (!memo_empty) result[k] = ByteView(memo);
        continue;
      }
      for (size_t d = 0; d < r; ++d) src_pos[d] = job.src_origin[d] + (p.lo[d] - job.origin[d]);
      ByteView chunk;
      bool from_src = false;
      if (!job.scalar && p.whole && IsContiguousBox(*job.src_shape, src_pos.data(), p.shape)) {
        // The caller's buffer holds the inner chunk in C order: encode straight from it.
        chunk =
            ByteView(job.src + LinearOffset(*job.src_shape, src_pos.data()) * esize, L.inner_bytes);
        from_src = true;
      } else {
        s->chunk.resize(L.inner_bytes);
        if (!p.whole) {
          if (old[k]) {
            Status st = L.inner->Decode(*old[k], s->chunk, s->chain);
            if (!st.ok()) {
              err.Set(st.WithContext(ShardWhere(key) + ": " + Coords(L, j)));
              continue;
            }
          } else {
            FillElements(s->chunk.data(), inner_elems, fill, esize);
          }
        }
        if (job.scalar) {
          FillBox(s->chunk.data(), L.inner_shape, p.in_inner.data(), p.shape, job.src, esize);
        } else {
          CopyBox(job.src, *job.src_shape, src_pos.data(), s->chunk.data(), L.inner_shape,
                  p.in_inner.data(), p.shape, esize);
        }
        chunk = s->chunk;
      }
      if (!job.write_empty && AllEqualFill(chunk.data(), inner_elems, fill, L.shard.dtype)) {
        continue;  // empty
      }
      Result<ByteView> enc = L.inner->Encode(chunk, s->chain);
      if (!enc.ok()) {
        err.Set(enc.status().WithContext(ShardWhere(key) + ": " + Coords(L, j)));
        continue;
      }
      // A nested shard with nothing in it encodes to no bytes: store it as an empty entry.
      if (enc->empty()) continue;
      if (from_src && enc->data() == chunk.data()) {
        result[k] = *enc;  // identity chain: the caller's bytes are the encoded bytes
        continue;
      }
      TakeEncoded(*enc, *s, encoded[k]);
      result[k] = ByteView(encoded[k]);
    }
  });
  return err.status();
}

// Builds a whole shard in `out` with the present chunks in Morton order. Touched chunk k takes
// result[k]; other chunks keep their stored bytes from `old_blob` per `old_index` (either may be
// null/empty for a new shard). `reserve` is the share of data bytes left free for later
// appends. Each chunk is copied once, straight to its place; `out` keeps its capacity between
// shards. Returns false (and leaves `out` empty) when no chunk is present.
Result<bool> Assemble(const Layout& L, const std::string& key, const ShardIndex* old_index,
                      ByteView old_blob, const std::vector<uint64_t>& touched,
                      const std::vector<std::optional<ByteView>>& result, double reserve,
                      Bytes& out, std::vector<uint64_t>* entries_out = nullptr) {
  // The bytes of every inner chunk: result itself when the write touched all of them in C order
  // (a full write), else old bytes overlaid with the touched ones.
  std::vector<std::optional<ByteView>> merged;
  const std::optional<ByteView>* src = result.data();
  if (old_index != nullptr || touched.size() != L.n_inner) {
    merged.assign(L.n_inner, std::nullopt);
    if (old_index != nullptr) {
      for (uint64_t j = 0; j < L.n_inner; ++j) {
        if (!old_index->present(j)) continue;
        if (old_index->offset(j) + old_index->nbytes(j) > old_blob.size()) {
          return Status::Corruption(ShardWhere(key) + ": " + Coords(L, j) + " passes the end");
        }
        merged[j] = old_blob.subspan(old_index->offset(j), old_index->nbytes(j));
      }
    }
    for (size_t k = 0; k < touched.size(); ++k) merged[touched[k]] = result[k];
    src = merged.data();
  }
  uint64_t data = 0;
  bool any = false;
  for (uint64_t j = 0; j < L.n_inner; ++j) {
    if (src[j]) {
      data += src[j]->size();
      any = true;
    }
  }
  if (!any) {
    out.clear();
    return false;
  }
  const uint64_t spare = static_cast<uint64_t>(static_cast<double>(data) * std::max(0.0, reserve));
  const bool start = L.location == ShardingCodec::IndexLocation::kStart;
  out.resize(L.index_size + data + spare);
  std::vector<uint64_t> entries(2 * L.n_inner, kEmpty);
  uint64_t pos = start ? L.index_size : 0;
  for (uint64_t j : L.morton) {
    if (!src[j]) continue;
    const ByteView v = *src[j];
    if (!v.empty()) std::memcpy(out.data() + pos, v.data(), v.size());
    entries[2 * j] = pos;
    entries[2 * j + 1] = v.size();
    pos += v.size();
  }
  if (spare) std::memset(out.data() + pos, 0, spare);
  RETURN_IF_ERROR(
      EncodeIndex(L, entries, out.data() + (start ? 0 : out.size() - L.index_size), key));
  if (entries_out) *entries_out = std::move(entries);
  return true;
}

// The pieces of a whole new shard whose every inner chunk was just encoded (result[j] for inner
// chunk j): the chunks' bytes in Morton order and the encoded index (in `index_bytes`), in
// stored order, adjacent views merged. The shard is the pieces' concatenation; nothing is copied.
// Returns false when no chunk is present.
Result<bool> AssemblePieces(const Layout& L, const std::string& key,
                            const std::vector<std::optional<ByteView>>& result,
                            std::vector<ByteView>& pieces, Bytes& index_bytes,
                            std::vector<uint64_t>& entries) {
  const bool start = L.location == ShardingCodec::IndexLocation::kStart;
  entries.assign(2 * L.n_inner, kEmpty);
  pieces.clear();
  uint64_t pos = start ? L.index_size : 0;
  bool any = false;
  for (uint64_t j : L.morton) {
    if (!result[j]) continue;
    const ByteView v = *result[j];
    entries[2 * j] = pos;
    entries[2 * j + 1] = v.size();
    pos += v.size();
    any = true;
    if (v.empty()) continue;
    if (!pieces.empty() && pieces.back().data() + pieces.back().size() == v.data()) {
      pieces.back() = ByteView(pieces.back().data(), pieces.back().size() + v.size());
    } else {
      pieces.push_back(v);
    }
  }
  if (!any) return false;
  index_bytes.resize(L.index_size);
  RETURN_IF_ERROR(EncodeIndex(L, entries, index_bytes.data(), key));
  if (start) {
    pieces.insert(pieces.begin(), ByteView(index_bytes));
  } else {
    pieces.push_back(ByteView(index_bytes));
  }
  return true;
}

// Unused bytes of a shard of `size` bytes whose live chunks are `entries`.
uint64_t UnusedBytes(const Layout& L, const std::vector<uint64_t>& entries, uint64_t size) {
  uint64_t live = L.index_size;
  for (uint64_t j = 0; j < L.n_inner; ++j) {
    if (entries[2 * j] != kEmpty) live += entries[2 * j + 1];
  }
  return size > live ? size - live : 0;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::shared_ptr<const ShardIndex> ShardIndexCache::Get(const std::string& key,
                                                       const Generation& generation) {
  if (!generation.present()) return nullptr;
  std::lock_guard<std::mutex> l(mu_);
  auto it = map_.find(key);
  if (it == map_.end() || !(it->second.generation == generation)) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return it->second.index;
}

void ShardIndexCache::Put(const std::string& key, const Generation& generation,
                          std::shared_ptr<const ShardIndex> index) {
  auto cost = [](const std::string& k, const Generation& g, const ShardIndex& i) {
    return (i.entries.size() + i.by_offset.size()) * 8 + k.size() + g.token().size() + 64;
  };
  std::lock_guard<std::mutex> l(mu_);
  auto it = map_.find(key);
  if (it != map_.end()) {
    bytes_ -= cost(key, it->second.generation, *it->second.index);
    lru_.erase(it->second.lru);
    map_.erase(it);
  }
  if (!index || !generation.present() || cost(key, generation, *index) > capacity_) return;
  bytes_ += cost(key, generation, *index);
  lru_.push_front(key);
  map_.emplace(key, Entry{generation, std::move(index), lru_.begin()});
  while (bytes_ > capacity_ && !lru_.empty()) {
    auto victim = map_.find(lru_.back());
    bytes_ -= cost(victim->first, victim->second.generation, *victim->second.index);
    map_.erase(victim);
    lru_.pop_back();
  }
}

uint64_t ShardIndexCache::size_bytes() const {
  std::lock_guard<std::mutex> l(mu_);
  return bytes_;
}

std::vector<uint64_t> MortonOrder(const std::vector<uint64_t>& grid) {
  uint64_t n = 1;
  for (uint64_t g : grid) n *= g;
  std::vector<uint64_t> out(n);
  std::vector<int> bits(grid.size());
  int total_bits = 0, max_bits = 0;
  for (size_t d = 0; d < grid.size(); ++d) {
    bits[d] = grid[d] > 1 ? static_cast<int>(std::bit_width(grid[d] - 1)) : 0;
    total_bits += bits[d];
    max_bits = std::max(max_bits, bits[d]);
  }
  if (total_bits > 64) {
    for (uint64_t j = 0; j < n; ++j) out[j] = j;
    return out;
  }
  std::vector<std::pair<uint64_t, uint64_t>> codes(n);  // (code, C-order index)
  std::vector<uint64_t> g(grid.size());
  for (uint64_t j = 0; j < n; ++j) {
    uint64_t rest = j;
    for (size_t d = grid.size(); d-- > 0;) {
      g[d] = rest % grid[d];
      rest /= grid[d];
    }
    uint64_t code = 0;
    int bit = 0;
    for (int b = 0; b < max_bits; ++b) {
      for (size_t d = 0; d < grid.size(); ++d) {
        if (b < bits[d]) code |= ((g[d] >> b) & 1u) << bit++;
      }
    }
    codes[j] = {code, j};
  }
  std::sort(codes.begin(), codes.end());
  for (uint64_t k = 0; k < n; ++k) out[k] = codes[k].second;
  return out;
}

// ---------------------------------------------------------------------------------------------

ShardingCodec::ShardingCodec(std::vector<uint64_t> chunk_shape, CodecChain codecs,
                             CodecChain index_codecs, IndexLocation location)
    : chunk_shape_(std::move(chunk_shape)),
      codecs_(std::move(codecs)),
      index_codecs_(std::move(index_codecs)),
      location_(location) {}

Result<std::shared_ptr<const ShardingCodec>> ShardingCodec::Make(std::vector<uint64_t> chunk_shape,
                                                                 CodecChain codecs,
                                                                 CodecChain index_codecs,
                                                                 IndexLocation location) {
  for (size_t d = 0; d < chunk_shape.size(); ++d) {
    if (chunk_shape[d] == 0) {
      return Status::InvalidArgument("chunk_shape entry " + std::to_string(d) + " is 0");
    }
  }
  return std::shared_ptr<const ShardingCodec>(new ShardingCodec(
      std::move(chunk_shape), std::move(codecs), std::move(index_codecs), location));
}

Result<std::shared_ptr<const Codec>> ShardingCodec::Factory(const Json& configuration) {
  if (!configuration.is_object()) {
    return Status::InvalidArgument(
        "configuration must be an object with chunk_shape, codecs and "
        "index_codecs, got " +
        configuration.dump());
  }
  for (auto it = configuration.begin(); it != configuration.end(); ++it) {
    const std::string& k = it.key();
    if (k != "chunk_shape" && k != "codecs" && k != "index_codecs" && k != "index_location") {
      return Status::InvalidArgument("unknown configuration field \"" + k + "\"");
    }
  }
  const auto cs = configuration.find("chunk_shape");
  if (cs == configuration.end() || !cs->is_array()) {
    return Status::InvalidArgument(
        "chunk_shape must be a list of positive integers, got " +
        (cs == configuration.end() ? std::string("nothing") : cs->dump()));
  }
  std::vector<uint64_t> chunk_shape;
  for (const Json& v : *cs) {
    if (!v.is_number_unsigned() || v.get<uint64_t>() == 0) {
      return Status::InvalidArgument("chunk_shape entry " + v.dump() +
                                     " is not a positive integer");
    }
    chunk_shape.push_back(v.get<uint64_t>());
  }
  const auto codecs = configuration.find("codecs");
  if (codecs == configuration.end()) return Status::InvalidArgument("codecs is missing");
  ASSIGN_OR_RETURN_CTX(CodecChain inner, CodecChain::FromJson(*codecs), "codecs");
  const auto index_codecs = configuration.find("index_codecs");
  if (index_codecs == configuration.end()) {
    return Status::InvalidArgument("index_codecs is missing");
  }
  ASSIGN_OR_RETURN_CTX(CodecChain index, CodecChain::FromJson(*index_codecs), "index_codecs");
  IndexLocation location = IndexLocation::kEnd;
  const auto loc = configuration.find("index_location");
  if (loc != configuration.end()) {
    if (*loc == "start") {
      location = IndexLocation::kStart;
    } else if (*loc != "end") {
      return Status::InvalidArgument("index_location must be \"start\" or \"end\", got " +
                                     loc->dump());
    }
  }
  ASSIGN_OR_RETURN(auto codec,
                   Make(std::move(chunk_shape), std::move(inner), std::move(index), location));
  return std::shared_ptr<const Codec>(std::move(codec));
}

Json ShardingCodec::ToJson() const {
  return {{"name", "sharding_indexed"},
          {"configuration",
           {{"chunk_shape", chunk_shape_},
            {"codecs", codecs_.ToJson()},
            {"index_codecs", index_codecs_.ToJson()},
            {"index_location", location_ == IndexLocation::kStart ? "start" : "end"}}}};
}

Result<std::shared_ptr<const ShardingCodec::Layout>> ShardingCodec::Prepare(
    const ChunkSpec& decoded) const {
  {
    std::lock_guard<std::mutex> l(layouts_mu_);
    for (const auto& L : layouts_) {
      if (L->shard.shape == decoded.shape && L->shard.dtype == decoded.dtype &&
          L->shard.fill_value == decoded.fill_value) {
        return L;
      }
    }
  }
  const size_t r = chunk_shape_.size();
  if (decoded.shape.size() != r) {
    return Status::InvalidArgument("chunk_shape has rank " + std::to_string(r) +
                                   " but the shard has rank " +
                                   std::to_string(decoded.shape.size()));
  }
  auto L = std::make_shared<Layout>();
  L->shard = decoded;
  L->inner_shape = chunk_shape_;
  L->grid.resize(r);
  L->location = location_;
  for (size_t d = 0; d < r; ++d) {
    if (decoded.shape[d] % chunk_shape_[d] != 0) {
      return Status::InvalidArgument(
          "chunk_shape " + Json(chunk_shape_).dump() + " does not divide the shard shape " +
          Json(decoded.shape).dump() + " in dimension " + std::to_string(d));
    }
    L->grid[d] = decoded.shape[d] / chunk_shape_[d];
    L->n_inner *= L->grid[d];
  }
  // The index holds two uint64 per inner chunk; its size must fit in 64 bits.
  RETURN_IF_ERROR(internal::CheckedMul(L->n_inner, 16, "shard index size (inner chunks x 16)"));
  const ChunkSpec inner_spec{chunk_shape_, decoded.dtype, decoded.fill_value};
  L->inner_bytes = inner_spec.num_bytes();
  ASSIGN_OR_RETURN_CTX(L->inner, codecs_.Prepare(inner_spec), "codecs");
  L->inner_fixed = L->inner->encoded_size();
  std::vector<uint64_t> index_shape = L->grid;
  index_shape.push_back(2);
  const ChunkSpec index_spec{index_shape, DataType(DataTypeId::kUInt64), FillValue{Bytes(8, 0xFF)}};
  ASSIGN_OR_RETURN_CTX(L->index, index_codecs_.Prepare(index_spec), "index_codecs");
  if (!L->index->encoded_size()) {
    return Status::InvalidArgument(
        "index_codecs must have a fixed encoded size (no compressor), got " +
        index_codecs_.ToJson().dump());
  }
  L->index_size = *L->index->encoded_size();
  L->morton.Reset(L->grid);
  std::lock_guard<std::mutex> l(layouts_mu_);
  if (layouts_.size() >= 8) layouts_.erase(layouts_.begin());  // edge specs come and go
  layouts_.push_back(L);
  return std::shared_ptr<const Layout>(std::move(L));
}

Result<uint64_t> ShardingCodec::IndexSize(const ChunkSpec& decoded) const {
  ASSIGN_OR_RETURN(auto L, Prepare(decoded));
  return L->index_size;
}

Status ShardingCodec::ValidateSpec(const ChunkSpec& decoded) const {
  return Prepare(decoded).status();
}

std::optional<uint64_t> ShardingCodec::EncodedSize(const ChunkSpec& /*decoded*/) const {
  return std::nullopt;
}

uint64_t ShardingCodec::MaxEncodedSize(const ChunkSpec& decoded) const {
  auto L = Prepare(decoded);
  if (!L.ok()) return UINT64_MAX;
  return internal::SaturatingAdd(
      (*L)->index_size, internal::SaturatingMul((*L)->n_inner, (*L)->inner->max_encoded_size()));
}

Status ShardingCodec::Encode(const ChunkSpec& decoded, ByteView array, Bytes& out) const {
  ASSIGN_OR_RETURN(auto L, Prepare(decoded));
  if (array.size() != decoded.num_bytes()) {
    return Status::InvalidArgument("shard has " + std::to_string(array.size()) +
                                   " bytes, expected " + std::to_string(decoded.num_bytes()));
  }
  const std::vector<uint64_t> origin(decoded.shape.size(), 0);
  WriteJob job{origin.data(), &decoded.shape, array.data(), &decoded.shape, origin.data()};
  job.in_bounds = decoded.shape;
  std::vector<uint64_t> touched(L->n_inner);
  for (uint64_t j = 0; j < L->n_inner; ++j) touched[j] = j;
  Lease<ShardScratch> s;
  std::vector<std::optional<ByteView>> result;
  Bytes memo;
  const std::vector<std::optional<ByteView>> old(touched.size());
  RETURN_IF_ERROR(
      EncodeTouched(*L, nullptr, nullptr, "<value>", job, touched, old, s->encoded, result, memo));
  ASSIGN_OR_RETURN(bool any, Assemble(*L, "<value>", nullptr, {}, touched, result, 0.0, out));
  (void)any;  // an empty `out` tells the pipeline to erase the key
  return Status::OK();
}

Status ShardingCodec::Decode(const ChunkSpec& decoded, ByteView encoded,
                             MutableByteView array) const {
  ASSIGN_OR_RETURN(auto L, Prepare(decoded));
  if (array.size() != decoded.num_bytes()) {
    return Status::InvalidArgument("shard buffer has " + std::to_string(array.size()) +
                                   " bytes, expected " + std::to_string(decoded.num_bytes()));
  }
  const size_t esize = decoded.dtype.size();
  if (encoded.empty()) {
    // What Encode produces when nothing is stored; only seen under an outer bytes->bytes codec.
    FillElements(array.data(), decoded.num_elements(), decoded.fill_value.bytes.data(), esize);
    return Status::OK();
  }
  ASSIGN_OR_RETURN(std::shared_ptr<ShardIndex> index, IndexOfBlob(*L, encoded, "<value>"));
  std::vector<uint64_t> touched(L->n_inner);
  std::vector<std::optional<ByteView>> bytes(L->n_inner);
  for (uint64_t j = 0; j < L->n_inner; ++j) {
    touched[j] = j;
    if (index->present(j)) bytes[j] = encoded.subspan(index->offset(j), index->nbytes(j));
  }
  const std::vector<uint64_t> origin(decoded.shape.size(), 0);
  return DecodeInto(*L, nullptr, nullptr, "<value>", touched, bytes, origin.data(), decoded.shape,
                    array.data(), decoded.shape, origin.data());
}

// ---------------------------------------------------------------------------------------------

Status ShardingCodec::PartialDecode(const ChunkSpec& decoded, const PartialCodecContext& ctx,
                                    const uint64_t* chunk_origin,
                                    const std::vector<uint64_t>& box_shape, uint8_t* out,
                                    const std::vector<uint64_t>& out_shape,
                                    const uint64_t* out_origin) const {
  ASSIGN_OR_RETURN(auto L, Prepare(decoded));
  const std::vector<uint64_t> touched = TouchedChunks(*L, chunk_origin, box_shape);
  if (touched.empty()) return Status::OK();
  const ShardingOptions& opt = OptionsOf(ctx);
  const size_t esize = decoded.dtype.size();
  auto fill_box = [&] {
    FillBox(out, out_shape, out_origin, box_shape, decoded.fill_value.bytes.data(), esize);
    return Status::OK();
  };
  Lease<ShardScratch> s;
  std::vector<std::optional<ByteView>> bytes(touched.size());
  auto decode = [&] {
    return DecodeInto(*L, &ctx, ctx.executor, ctx.key, touched, bytes, chunk_origin, box_shape, out,
                      out_shape, out_origin);
  };
  // One read of the whole value: one version by itself.
  auto read_whole = [&]() -> Status {
    // The generation is needed only to cache the index.
    ReadResult r;
    if (ctx.index_cache) {
      ASSIGN_OR_RETURN(r, ctx.store->get_if(ctx.key, ByteRange::Whole(), s->blob));
    } else {
      ASSIGN_OR_RETURN(r.found, ctx.store->get_into(ctx.key, ByteRange::Whole(), s->blob));
    }
    if (!r.found) return fill_box();
    if (ctx.io_bytes != nullptr) *ctx.io_bytes = s->blob.size();
    ASSIGN_OR_RETURN(std::shared_ptr<ShardIndex> index, IndexOfBlob(*L, s->blob, ctx.key));
    for (size_t k = 0; k < touched.size(); ++k) {
      const uint64_t j = touched[k];
      if (index->present(j)) {
        bytes[k] = ByteView(s->blob).subspan(index->offset(j), index->nbytes(j));
      }
    }
    if (ctx.index_cache) ctx.index_cache->Put(ctx.key, r.generation, std::move(index));
    return decode();
  };
  // Without generations a store cannot tie the index to the chunks it points at: one read.
  const StoreCapabilities caps = ctx.store->capabilities();
  if (!caps.partial_reads || !caps.generations ||
      static_cast<double>(touched.size()) >=
          opt.whole_shard_read_fraction * static_cast<double>(L->n_inner)) {
    return read_whole();
  }
  // The index and the inner chunks come from one version of the shard; a version replaced
  // part-way (a whole-shard write, a compaction, an in-place patch) is opened again.
  for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
    ASSIGN_OR_RETURN(std::unique_ptr<ValueReader> reader, ctx.store->open_reader(ctx.key));
    if (!reader) return fill_box();
    std::shared_ptr<const ShardIndex> index;
    ASSIGN_OR_RETURN(bool readable, ReadIndex(*L, ctx, *reader, true, s->blob, index));
    if (!readable) continue;
    // A cached index was validated against the size of the version it came from, which is this.
    std::vector<std::pair<uint64_t, uint64_t>> wanted;
    std::vector<size_t> slot;
    for (size_t k = 0; k < touched.size(); ++k) {
      const uint64_t j = touched[k];
      bytes[k].reset();
      if (!index->present(j)) continue;
      wanted.emplace_back(index->offset(j), index->nbytes(j));
      slot.push_back(k);
    }
    std::vector<ByteView> views;
    ASSIGN_OR_RETURN(readable, FetchRanges(ctx, *reader, wanted, s->ranges, views));
    if (!readable) continue;
    for (size_t w = 0; w < slot.size(); ++w) bytes[slot[w]] = views[w];
    return decode();
  }
  return read_whole();
}

Status ShardingCodec::PartialEncode(const ChunkSpec& decoded, const PartialCodecContext& ctx,
                                    const uint64_t* chunk_origin,
                                    const std::vector<uint64_t>& box_shape, const uint8_t* src,
                                    const std::vector<uint64_t>& src_shape,
                                    const uint64_t* src_origin, bool scalar) const {
  ASSIGN_OR_RETURN(auto L, Prepare(decoded));
  const std::vector<uint64_t> touched = TouchedChunks(*L, chunk_origin, box_shape);
  if (touched.empty()) return Status::OK();
  const ShardingOptions& opt = OptionsOf(ctx);
  Store& store = *ctx.store;
  const std::string& key = ctx.key;
  WriteJob job{chunk_origin, &box_shape, src, &src_shape, src_origin, scalar};
  job.in_bounds = ctx.in_bounds.empty() ? decoded.shape : ctx.in_bounds;
  job.write_empty = ctx.options && ctx.options->write_empty_chunks;
  const size_t r = decoded.shape.size();
  bool full = true;
  for (size_t d = 0; d < r; ++d) {
    if (chunk_origin[d] != 0 || box_shape[d] < std::min(job.in_bounds[d], decoded.shape[d])) {
      full = false;
    }
  }
  Lease<ShardScratch> s;
  std::vector<std::optional<ByteView>> result;
  Bytes memo;

  // Stores the shard assembled in s->out (or erases it when no chunk is present) under `cond`;
  // false when the condition did not hold. The cached index follows the version written.
  auto store_shard = [&](bool any, const std::vector<uint64_t>& entries,
                         const WriteConditions& cond) -> Result<bool> {
    if (ctx.index_cache) ctx.index_cache->Erase(key);
    if (!any) return store.erase_if(key, cond);
    const ByteView piece(s->out);
    ASSIGN_OR_RETURN(std::optional<Generation> written,
                     store.set_if(key, std::span<const ByteView>(&piece, 1), cond));
    if (!written) return false;
    if (ctx.index_cache) {
      auto index = std::make_shared<ShardIndex>();
      index->entries = entries;
      ctx.index_cache->Put(key, *written, std::move(index));
    }
    return true;
  };

  // A write covering every stored element of the shard never reads the old one: it replaces the
  // value unconditionally (whatever another writer stored meanwhile is overwritten as a whole).
  if (full) {
    const std::vector<std::optional<ByteView>> old(touched.size());
    RETURN_IF_ERROR(
        EncodeTouched(*L, &ctx, ctx.executor, key, job, touched, old, s->encoded, result, memo));
    std::vector<uint64_t> entries;
    if (touched.size() == L->n_inner) {
      // Every inner chunk is new: the store takes the encoded chunks and the index as pieces,
      // without assembling the shard in a buffer of its own.
      std::vector<ByteView> pieces;
      Bytes index_bytes;
      ASSIGN_OR_RETURN(bool any, AssemblePieces(*L, key, result, pieces, index_bytes, entries));
      if (!any) return store_shard(false, entries, {}).status();
      if (ctx.index_cache) ctx.index_cache->Erase(key);
      if (ctx.io_bytes != nullptr) *ctx.io_bytes = internal::PiecesSize<ByteView>(pieces);
      ASSIGN_OR_RETURN(std::optional<Generation> written, store.set_if(key, pieces, {}));
      if (ctx.index_cache && written) {
        auto index = std::make_shared<ShardIndex>();
        index->entries = std::move(entries);
        ctx.index_cache->Put(key, *written, std::move(index));
      }
      return Status::OK();
    }
    ASSIGN_OR_RETURN(bool any,
                     Assemble(*L, key, nullptr, {}, touched, result, 0.0, s->out, &entries));
    return store_shard(any, entries, {}).status();
  }

  // Otherwise a read-modify-write of one version of the shard. Writers that lock hold the key's
  // lock across it, so no two of them read the same version to replace it (and free space is
  // allocated against the index of the current version). The write is conditioned on the
  // generation read, so a writer that does not lock (or a store without locks) costs a retry of
  // the whole read-modify-write instead of a lost update or an index pointing at bytes another
  // writer moved.
  const StoreCapabilities caps = store.capabilities();
  std::unique_ptr<KeyLock> lock;
  if (caps.key_locks) {
    ASSIGN_OR_RETURN(lock, store.lock(key));
  }
  const bool conditional = caps.conditional_writes && caps.generations;
  const bool patchable = caps.set_range;
  const double reserve = patchable ? opt.append_reserve : 0.0;
  // Touched chunks whose old bytes are needed: present and only partly overwritten.
  auto needs_old = [&](uint64_t j) {
    InnerPart p;
    LocateInner(*L, j, chunk_origin, box_shape, p);
    if (p.whole) return false;
    for (size_t d = 0; d < r; ++d) {
      const uint64_t hi = std::min(p.inner_origin[d] + L->inner_shape[d], job.in_bounds[d]);
      if (p.lo[d] != p.inner_origin[d] || p.lo[d] + p.shape[d] != hi) return true;
    }
    return false;
  };

  // One attempt; false when the version read was replaced before the write (nothing written).
  auto attempt = [&]() -> Result<bool> {
    std::unique_ptr<ValueReader> reader;
    Generation generation = Generation::Absent();
    std::shared_ptr<const ShardIndex> index;
    bool blob_loaded = false;
    std::vector<std::optional<ByteView>> old(touched.size());
    if (patchable) {
      ASSIGN_OR_RETURN(reader, store.open_reader(key));
      if (reader) {
        generation = reader->generation();
        ASSIGN_OR_RETURN(bool readable, ReadIndex(*L, ctx, *reader, true, s->blob, index));
        if (!readable) return false;
        std::vector<std::pair<uint64_t, uint64_t>> wanted;
        std::vector<size_t> slot;
        for (size_t k = 0; k < touched.size(); ++k) {
          const uint64_t j = touched[k];
          if (index->present(j) && needs_old(j)) {
            wanted.emplace_back(index->offset(j), index->nbytes(j));
            slot.push_back(k);
          }
        }
        std::vector<ByteView> views;
        ASSIGN_OR_RETURN(readable, FetchRanges(ctx, *reader, wanted, s->ranges, views));
        if (!readable) return false;
        for (size_t w = 0; w < slot.size(); ++w) old[slot[w]] = views[w];
      }
    } else {
      ASSIGN_OR_RETURN(ReadResult got, store.get_if(key, ByteRange::Whole(), s->blob));
      blob_loaded = got.found;
      generation = got.generation;
      if (blob_loaded) {
        ASSIGN_OR_RETURN(std::shared_ptr<ShardIndex> idx, IndexOfBlob(*L, s->blob, key));
        index = std::move(idx);
        for (size_t k = 0; k < touched.size(); ++k) {
          const uint64_t j = touched[k];
          if (index->present(j) && needs_old(j)) {
            old[k] = ByteView(s->blob).subspan(index->offset(j), index->nbytes(j));
          }
        }
      }
    }
    WriteConditions cond;
    cond.held = lock.get();
    if (conditional) cond.if_equal = generation;

    RETURN_IF_ERROR(
        EncodeTouched(*L, &ctx, ctx.executor, key, job, touched, old, s->encoded, result, memo));

    if (!index) {
      // No shard yet: the touched chunks are the whole content (created only if still absent).
      std::vector<uint64_t> entries;
      ASSIGN_OR_RETURN(bool any,
                       Assemble(*L, key, nullptr, {}, touched, result, reserve, s->out, &entries));
      return store_shard(any, entries, cond);
    }

    if (patchable) {
      // Patch in place, as one change conditioned on the version read. Fixed-size chunks
      // overwrite the bytes the index of that version records for them; other chunks go into
      // its free space (never over bytes it still uses), and the index is rewritten with them.
      const uint64_t size = reader->size();
      const bool start = L->location == IndexLocation::kStart;
      const uint64_t index_at = start ? 0 : size - L->index_size;
      std::vector<uint64_t> entries = index->entries;
      std::vector<RangeWrite> writes;
      bool changed = false;
      bool fits = true;
      std::vector<std::pair<uint64_t, uint64_t>> gaps;  // [lo, hi), computed on first need
      bool gaps_ready = false;
      auto allocate = [&](uint64_t n) -> std::optional<uint64_t> {
        if (!gaps_ready) {
          // Gaps between the stored chunks in offset order (O(n), no sort per write); every
          // stored chunk lies inside the data part (validated against this version's size).
          std::vector<uint64_t> computed;
          if (index->by_offset.empty()) OrderByOffset(*L, index->entries, computed);
          const std::vector<uint64_t>& order =
              index->by_offset.empty() ? computed : index->by_offset;
          uint64_t at = start ? L->index_size : 0;
          const uint64_t data_end = start ? size : size - L->index_size;
          for (uint64_t u : order) {
            if (index->offset(u) > at) gaps.emplace_back(at, index->offset(u));
            at = std::max(at, index->offset(u) + index->nbytes(u));
          }
          if (at < data_end) gaps.emplace_back(at, data_end);
          gaps_ready = true;
        }
        for (auto& g : gaps) {
          if (g.second - g.first >= n) {
            const uint64_t at = g.first;
            g.first += n;
            return at;
          }
        }
        return std::nullopt;
      };
      for (size_t k = 0; k < touched.size() && fits; ++k) {
        const uint64_t j = touched[k];
        const std::optional<ByteView>& b = result[k];
        if (!b) {
          if (index->present(j)) {
            entries[2 * j] = entries[2 * j + 1] = kEmpty;
            changed = true;
          }
          continue;
        }
        if (L->inner_fixed && index->present(j) && index->nbytes(j) == b->size()) {
          writes.push_back({index->offset(j), *b});
          continue;
        }
        std::optional<uint64_t> at = allocate(b->size());
        if (!at) {
          fits = false;
          break;
        }
        writes.push_back({*at, *b});
        entries[2 * j] = *at;
        entries[2 * j + 1] = b->size();
        changed = true;
      }
      const bool any =
          std::any_of(entries.begin(), entries.end(), [](uint64_t e) { return e != kEmpty; });
      if (fits && !any) {
        if (ctx.index_cache) ctx.index_cache->Erase(key);
        return store.erase_if(key, cond);
      }
      const bool compact = static_cast<double>(UnusedBytes(*L, entries, size)) >
                           opt.compaction_threshold * static_cast<double>(size);
      if (fits && !compact) {
        if (writes.empty() && !changed) return true;  // nothing stored changes
        Bytes enc;
        if (changed) {
          enc.resize(L->index_size);
          RETURN_IF_ERROR(EncodeIndex(*L, entries, enc.data(), key));
          writes.push_back({index_at, enc});
        }
        if (ctx.index_cache) ctx.index_cache->Erase(key);
        ASSIGN_OR_RETURN(std::optional<Generation> written, store.patch_if(key, writes, cond));
        if (!written) return false;
        if (ctx.index_cache) {
          auto updated = std::make_shared<ShardIndex>();
          updated->entries = std::move(entries);
          ctx.index_cache->Put(key, *written, std::move(updated));
        }
        return true;
      }
      // Read-modify-write of the whole shard, from the same version.
      ASSIGN_OR_RETURN(bool readable, reader->read(ByteRange::Whole(), s->blob));
      if (!readable) return false;
      ASSIGN_OR_RETURN(std::shared_ptr<ShardIndex> idx, IndexOfBlob(*L, s->blob, key));
      index = std::move(idx);
    }

    // Read-modify-write of the whole shard: untouched chunks keep their encoded bytes.
    std::vector<uint64_t> entries;
    ASSIGN_OR_RETURN(bool any, Assemble(*L, key, index.get(), s->blob, touched, result, reserve,
                                        s->out, &entries));
    return store_shard(any, entries, cond);
  };

  // With the lock held only a writer that does not lock can replace the version read; without
  // locks, concurrent writers of this shard retry until one of them wins each round.
  for (int n = 0; n < internal::kWriteAttempts; ++n) {
    ASSIGN_OR_RETURN(bool done, attempt());
    if (done) return Status::OK();
    internal::BackoffAfterConflict(n);
  }
  return Status::IOError(ShardWhere(key) + ": a partial write found the shard replaced " +
                         std::to_string(internal::kWriteAttempts) +
                         " times between reading and writing it; not written");
}

void ReleaseShardingScratch() {
  Lease<InnerScratch>::ReleaseIdle();
  Lease<ShardScratch>::ReleaseIdle();
}

}  // namespace zarrpp
