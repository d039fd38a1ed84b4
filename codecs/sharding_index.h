// codecs/sharding_index.h - the shard index and layout: the prepared layout of one shard spec,
// index decode/encode/validation, and where a box meets the inner chunks. Internal to the codec.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "codecs/codec.h"
#include "codecs/codec_chain.h"
#include "codecs/partial_decode.h"
#include "codecs/sharding_codec.h"
#include "zarrpp/store.h"

namespace zarrpp {

struct ShardingCodec::Layout {
  ChunkSpec shard;  // the decoded shard
  std::vector<uint64_t> inner_shape;
  std::vector<uint64_t> grid;  // inner chunks per dimension
  uint64_t n_inner = 1;
  uint64_t inner_bytes = 0;             // decoded bytes of one inner chunk
  std::optional<uint64_t> inner_fixed;  // encoded bytes of one inner chunk when fixed
  std::shared_ptr<const PreparedChain> inner;
  // Decodes a part of an inner chunk from a span of its bytes (codecs/partial_decode.h); null
  // when the inner chain cannot (inner chunks are then decoded whole).
  std::shared_ptr<const SpanDecoder> inner_span;
  // The same for reads of handles that skip checksums on partial reads
  // (ArrayOptions::verify_checksum_on_partial_reads = false), when it differs: set only for an
  // inner chain ending in crc32c that has no decoder otherwise.
  std::shared_ptr<const SpanDecoder> inner_span_unverified;
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

namespace internal {

using Layout = ShardingCodec::Layout;
constexpr uint64_t kEmpty = ShardIndex::kEmpty;

// "inner chunk [i, j, ...]": the grid position of inner chunk `j`, for messages.
std::string Coords(const Layout& L, uint64_t j);
// "shard '<key>'", for messages.
std::string ShardWhere(const std::string& key);

// The inner chunks a box of the shard touches, as C-order indices.
std::vector<uint64_t> TouchedChunks(const Layout& L, const uint64_t* origin,
                                    const std::vector<uint64_t>& shape);

// Where inner chunk `j` meets the box (origin, shape) of the shard.
struct InnerPart {
  std::vector<uint64_t> inner_origin;  // of the inner chunk in the shard
  std::vector<uint64_t> lo;            // of the part in the shard
  std::vector<uint64_t> in_inner;      // of the part in the inner chunk
  std::vector<uint64_t> shape;         // of the part
  bool whole = true;                   // the part is the whole inner chunk
};

// Locates inner chunk `j` within the box (origin, shape) of the shard.
void LocateInner(const Layout& L, uint64_t j, const uint64_t* origin,
                 const std::vector<uint64_t>& shape, InnerPart& p);

// The present inner chunks that hold bytes, as C-order indices sorted by offset. O(n): a shard
// written whole is in C or Morton order and is recognised in one pass; any other order (after
// chunks went into free space) is radix-sorted on the offset, so no read or write of a shard
// with thousands of inner chunks pays an n log n sort.
void OrderByOffset(const Layout& L, const std::vector<uint64_t>& entries,
                   std::vector<uint64_t>& order);

// The index of a whole shard value held in memory.
Result<std::shared_ptr<ShardIndex>> IndexOfBlob(const Layout& L, ByteView blob,
                                                const std::string& key);

// Encodes `entries` (the index of a shard at `key`) into the L.index_size bytes at `dst`.
Status EncodeIndex(const Layout& L, const std::vector<uint64_t>& entries, uint8_t* dst,
                   const std::string& key);

// The index of the version of the shard `reader` holds: from the cache when it holds that
// version's index (`use_cache`), else read and decoded (and cached). False when the version is
// gone (nothing decoded).
Result<bool> ReadIndex(const Layout& L, const PartialCodecContext& ctx, ValueReader& reader,
                       bool use_cache, Bytes& buf, std::shared_ptr<const ShardIndex>& index);

}  // namespace internal
}  // namespace zarrpp
