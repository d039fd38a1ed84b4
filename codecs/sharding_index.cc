// codecs/sharding_index.cc - the shard index: decode, validation, encode, reading one version's
// index (through the cache), the index cache itself, Morton order, and box/inner-chunk geometry.
#include "codecs/sharding_index.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "codecs/sharding_internal.h"
#include "src/array/indexing.h"
#include "src/checked_math.h"
#include "src/store_internal.h"

namespace zarrpp {

static_assert(std::endian::native == std::endian::little,
              "the shard index is handled in memory as little-endian uint64");

namespace internal {

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

namespace {

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

}  // namespace

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

}  // namespace internal

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

void ShardIndexCache::PutWritten(const std::string& key, const Generation& generation,
                                 std::vector<uint64_t> entries) {
  auto index = std::make_shared<ShardIndex>();
  index->entries = std::move(entries);
  Put(key, generation, std::move(index));
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

}  // namespace zarrpp
