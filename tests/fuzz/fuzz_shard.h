// The sharded array of fuzz_shard (and of its seeds): 8 x 8 uint16, one shard of 2 x 2 inner
// chunks; byte 0 of an input picks the index location and the inner chain.
#pragma once

#include <cstdint>

#include "zarrpp/array.h"
#include "zarrpp/json.h"

namespace zarrpp::fuzz {

constexpr uint64_t kSide = 8;   // the array and its one shard: 8 x 8 uint16
constexpr uint64_t kInner = 4;  // 2 x 2 inner chunks of 4 x 4

inline Json InnerChain(int which) {
  Json bytes = {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
  switch (which) {
    case 1: return Json::array({bytes, {{"name", "crc32c"}}});
    case 2: return Json::array({bytes, {{"name", "zstd"}, {"configuration", {{"level", 1}}}}});
    default: return Json::array({bytes});
  }
}

inline ArrayMetadata ShardMetadata(uint8_t selector) {
  ArrayMetadata m;
  m.shape = {kSide, kSide};
  m.chunk_shape = {kSide, kSide};
  m.data_type = DataType(DataTypeId::kUInt16);
  m.fill_value = zarrpp::FillValue::Zero(m.data_type);
  Json bytes = {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
  m.codecs = Json::array({{{"name", "sharding_indexed"},
                           {"configuration",
                            {{"chunk_shape", {kInner, kInner}},
                             {"codecs", InnerChain(selector % 3)},
                             {"index_codecs", Json::array({bytes, {{"name", "crc32c"}}})},
                             {"index_location", (selector / 3) % 2 == 0 ? "end" : "start"}}}}});
  return m;
}

// Layouts byte 0 distinguishes (index location x inner chain).
constexpr int kShardLayouts = 6;

}  // namespace zarrpp::fuzz
