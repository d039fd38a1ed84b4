// Deterministic workloads of several writers updating disjoint regions of one array that share
// shards, inner chunks and chunks, and the expected array after they all finished.
//
// The array is 2-D uint64. It is cut into small tiles (smaller than an inner chunk or a chunk), and
// each tile belongs to one writer; a writer's k-th write is a random box inside one of its tiles,
// drawn from a generator seeded by (seed, writer), so any process can replay every writer's
// writes to compute the expected contents without any communication. Every value encodes its
// element's position and the write that stored it, so a value read at the wrong place, a stale
// value (a lost update) and a garbled one are all told apart from the right one.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "zarrpp/array.h"
#include "zarrpp/json.h"
#include "zarrpp/metadata.h"
#include "zarrpp/region.h"

namespace zarrpp::test_support {

struct DisjointPlan {
  std::vector<uint64_t> shape = {64, 96};
  uint64_t tile = 4;  // tiles are tile x tile elements
  uint32_t writers = 4;
  uint32_t writes_per_writer = 200;
  uint64_t seed = 1;

  uint64_t tiles_in(size_t d) const { return (shape[d] + tile - 1) / tile; }
  uint64_t elements() const { return shape[0] * shape[1]; }
  // The writer owning tile (ti, tj): scattered so that every chunk has several owners.
  uint32_t owner(uint64_t ti, uint64_t tj) const {
    return static_cast<uint32_t>((ti * 7 + tj * 3 + (ti / 3) * 5) % writers);
  }
};

// The value the k-th write (k counts from 1) stores at linear position `pos`.
inline uint64_t DisjointValue(uint64_t pos, uint32_t k) {
  return ((pos + 1) << 20) | k;
}

struct DisjointWrite {
  Region region;
  uint32_t k = 0;                // 1-based write number of its writer
  std::vector<uint64_t> values;  // C order over region
};

// Every write of `writer`, in the order it makes them.
inline std::vector<DisjointWrite> DisjointWrites(const DisjointPlan& plan, uint32_t writer) {
  std::vector<std::pair<uint64_t, uint64_t>> mine;
  for (uint64_t ti = 0; ti < plan.tiles_in(0); ++ti) {
    for (uint64_t tj = 0; tj < plan.tiles_in(1); ++tj) {
      if (plan.owner(ti, tj) == writer) mine.emplace_back(ti, tj);
    }
  }
  std::mt19937_64 rng(plan.seed * 1000003 + writer);
  std::vector<DisjointWrite> out;
  if (mine.empty()) return out;
  for (uint32_t k = 1; k <= plan.writes_per_writer; ++k) {
    const auto [ti, tj] = mine[rng() % mine.size()];
    DisjointWrite w;
    w.k = k;
    const uint64_t t[2] = {ti, tj};
    for (size_t d = 0; d < 2; ++d) {
      const uint64_t lo = t[d] * plan.tile;
      const uint64_t hi = std::min(plan.shape[d], lo + plan.tile);
      const uint64_t len = 1 + rng() % (hi - lo);
      w.region.origin.push_back(lo + rng() % (hi - lo - len + 1));
      w.region.shape.push_back(len);
    }
    for (uint64_t i = 0; i < w.region.shape[0]; ++i) {
      for (uint64_t j = 0; j < w.region.shape[1]; ++j) {
        const uint64_t pos = (w.region.origin[0] + i) * plan.shape[1] + w.region.origin[1] + j;
        w.values.push_back(DisjointValue(pos, k));
      }
    }
    out.push_back(std::move(w));
  }
  return out;
}

// The array after every writer's writes (0, the fill value, where nobody wrote).
inline std::vector<uint64_t> DisjointExpected(const DisjointPlan& plan) {
  std::vector<uint64_t> want(plan.elements(), 0);
  for (uint32_t w = 0; w < plan.writers; ++w) {
    for (const DisjointWrite& dw : DisjointWrites(plan, w)) {
      size_t v = 0;
      for (uint64_t i = 0; i < dw.region.shape[0]; ++i) {
        for (uint64_t j = 0; j < dw.region.shape[1]; ++j) {
          want[(dw.region.origin[0] + i) * plan.shape[1] + dw.region.origin[1] + j] =
              dw.values[v++];
        }
      }
    }
  }
  return want;
}

struct DisjointCheck {
  uint64_t lost = 0;   // an older write's value (or the fill value) where a later one belongs
  uint64_t wrong = 0;  // a value that belongs to another element, or no write made at all
};

inline DisjointCheck CheckDisjoint(const DisjointPlan& plan, const std::vector<uint64_t>& got,
                                   const std::vector<uint64_t>& want) {
  DisjointCheck c;
  for (uint64_t pos = 0; pos < want.size(); ++pos) {
    if (got[pos] == want[pos]) continue;
    const bool own_place = got[pos] == 0 || (got[pos] >> 20) == pos + 1;
    const uint32_t k = static_cast<uint32_t>(got[pos] & 0xfffff);
    if (own_place && k < (want[pos] & 0xfffff) && k <= plan.writes_per_writer) {
      ++c.lost;
    } else {
      ++c.wrong;
    }
  }
  return c;
}

// The array configurations the concurrency tests run: sharded with variable-size (compressed)
// and fixed-size inner chains, the index at the start and at the end, and plain chunks.
struct DisjointLayout {
  std::string name;
  Json codecs;
  std::vector<uint64_t> chunk_shape;
};

inline std::vector<DisjointLayout> DisjointLayouts() {
  const Json bytes = {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
  const Json crc = {{"name", "crc32c"}};
  const Json zstd = {{"name", "zstd"}, {"configuration", {{"level", 1}, {"checksum", false}}}};
  const Json gzip = {{"name", "gzip"}, {"configuration", {{"level", 1}}}};
  auto sharding = [&](Json inner, const char* where) {
    return Json::array({{{"name", "sharding_indexed"},
                         {"configuration",
                          {{"chunk_shape", std::vector<uint64_t>{8, 8}},
                           {"codecs", std::move(inner)},
                           {"index_codecs", Json::array({bytes, crc})},
                           {"index_location", where}}}}});
  };
  return {
      {"zstd_index_end", sharding(Json::array({bytes, zstd}), "end"), {32, 32}},
      {"gzip_index_start", sharding(Json::array({bytes, gzip}), "start"), {32, 48}},
      {"fixed_index_start", sharding(Json::array({bytes, crc}), "start"), {32, 32}},
      {"fixed_index_end", sharding(Json::array({bytes}), "end"), {64, 32}},
      {"chunked_zstd", Json::array({bytes, zstd}), {8, 8}},
      {"chunked_raw", Json::array({bytes}), {16, 8}},
  };
}

inline ArrayMetadata DisjointMetadata(const DisjointPlan& plan, const DisjointLayout& layout) {
  ArrayMetadata m;
  m.shape = plan.shape;
  m.chunk_shape = layout.chunk_shape;
  m.data_type = DataType(DataTypeId::kUInt64);
  m.fill_value = FillValue::Zero(m.data_type);
  m.codecs = layout.codecs;
  return m;
}

// Makes the writes of `writer` through `array`; stops at the first error.
inline Status RunDisjointWriter(Array& array, const DisjointPlan& plan, uint32_t writer,
                                const WriteOptions& options = {}) {
  for (const DisjointWrite& w : DisjointWrites(plan, writer)) {
    RETURN_IF_ERROR(array.Write(w.region, std::span<const uint64_t>(w.values), options));
  }
  return Status::OK();
}

}  // namespace zarrpp::test_support
