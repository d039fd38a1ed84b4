// tests/fuzz/fuzz_chains.h - the codec chains fuzz_codec_chain feeds stored bytes through, for
// a 16 x 16 chunk of uint16 (or of strings, for the vlen chains).
#pragma once

#include <cstddef>

#include "zarrpp/data_type.h"

namespace zarrpp::fuzz {

struct ChainCase {
  const char* codecs;
  DataTypeId type = DataTypeId::kUInt16;
};

inline constexpr ChainCase kChains[] = {
    {R"([{"name":"bytes","configuration":{"endian":"little"}}])"},
    {R"([{"name":"bytes","configuration":{"endian":"big"}},{"name":"zstd","configuration":{"level":1}}])"},
    {R"([{"name":"bytes","configuration":{"endian":"little"}},{"name":"gzip","configuration":{"level":1}}])"},
    {R"([{"name":"bytes","configuration":{"endian":"little"}},{"name":"blosc","configuration":{"cname":"lz4","clevel":5,"shuffle":"shuffle","typesize":2,"blocksize":0}}])"},
    {R"([{"name":"bytes","configuration":{"endian":"little"}},{"name":"crc32c"}])"},
    {R"([{"name":"transpose","configuration":{"order":[1,0]}},{"name":"bytes","configuration":{"endian":"little"}},{"name":"zstd","configuration":{"level":1}}])"},
    {R"([{"name":"bytes","configuration":{"endian":"little"}},{"name":"zstd","configuration":{"level":1}},{"name":"zstd","configuration":{"level":1}}])"},
    {R"([{"name":"bytes","configuration":{"endian":"little"}},{"name":"gzip","configuration":{"level":1}},{"name":"crc32c"}])"},
    {R"([{"name":"sharding_indexed","configuration":{"chunk_shape":[4,4],"codecs":[{"name":"bytes","configuration":{"endian":"little"}},{"name":"zstd","configuration":{"level":1}}],"index_codecs":[{"name":"bytes","configuration":{"endian":"little"}},{"name":"crc32c"}],"index_location":"end"}}])"},
    {R"([{"name":"sharding_indexed","configuration":{"chunk_shape":[4,8],"codecs":[{"name":"bytes","configuration":{"endian":"little"}}],"index_codecs":[{"name":"bytes","configuration":{"endian":"little"}}],"index_location":"start"}}])"},
    {R"([{"name":"sharding_indexed","configuration":{"chunk_shape":[8,8],"codecs":[{"name":"bytes","configuration":{"endian":"little"}}],"index_codecs":[{"name":"bytes","configuration":{"endian":"little"}},{"name":"crc32c"}],"index_location":"end"}},{"name":"zstd","configuration":{"level":1}}])"},
    {R"([{"name":"sharding_indexed","configuration":{"chunk_shape":[8,8],"codecs":[{"name":"sharding_indexed","configuration":{"chunk_shape":[2,2],"codecs":[{"name":"bytes","configuration":{"endian":"little"}},{"name":"blosc","configuration":{"cname":"zstd","clevel":3,"shuffle":"bitshuffle","typesize":2,"blocksize":0}}],"index_codecs":[{"name":"bytes","configuration":{"endian":"little"}}],"index_location":"end"}}],"index_codecs":[{"name":"bytes","configuration":{"endian":"little"}},{"name":"crc32c"}],"index_location":"end"}}])"},
    {R"([{"name":"vlen-utf8"}])", DataTypeId::kString},
    {R"([{"name":"vlen-bytes"},{"name":"zstd","configuration":{"level":1}}])", DataTypeId::kBytes},
    {R"([{"name":"sharding_indexed","configuration":{"chunk_shape":[4,4],"codecs":[{"name":"vlen-utf8"}],"index_codecs":[{"name":"bytes","configuration":{"endian":"little"}}],"index_location":"end"}}])",
     DataTypeId::kString},
};
inline constexpr size_t kNumChains = sizeof(kChains) / sizeof(kChains[0]);

}  // namespace zarrpp::fuzz
