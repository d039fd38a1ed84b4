// zarrpp/codecs.h - typed builders for codec chains, so that creating an array needs no JSON.
//
//   ArrayMetadata m;
//   m.codecs = Codecs::Bytes().Zstd(3);                          // [bytes, zstd 3]
//   m.codecs = Codecs::Sharding({64, 64}, Codecs::Bytes().Blosc());  // a sharded array
//
// A `Codecs` value is a codec chain in order (array->array codecs, one array->bytes codec,
// bytes->bytes codecs), built by appending one codec per call. It converts to the chain's JSON
// (the form ArrayMetadata::codecs and zarr.json hold), which stays the generic escape hatch for
// any codec without a builder. The builders check nothing: Array::Create validates the chain
// against the data type and returns InvalidArgument / Unsupported naming the codec and field, as
// it does for JSON. Values are plain data: copyable, thread-compatible.
//
// Building a chain and assigning it to ArrayMetadata::codecs needs no JSON; Then() with a
// configuration and ToJson() take and give Json (include <zarrpp/json.h>).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "zarrpp/metadata.h"

namespace zarrpp {

// blosc settings (the v3 "blosc" codec; see spec/codecs.md).
struct BloscSettings {
  std::string cname = "lz4";        // lz4, lz4hc, blosclz, zstd, zlib, snappy
  int clevel = 5;                   // 0-9
  std::string shuffle = "shuffle";  // noshuffle, shuffle, bitshuffle
  // The element size in bytes, which shuffling needs: required unless shuffle is "noshuffle"
  // (0 leaves it out, and Array::Create then says it is required).
  uint64_t typesize = 0;
  uint64_t blocksize = 0;  // 0: blosc chooses
};

enum class ShardIndexLocation { kEnd, kStart };

class Codecs {
 public:
  // An empty chain: Array::Create then uses its default ([bytes(little), zstd(0)]).
  Codecs() = default;

  // Chains that start with one codec.
  static Codecs Bytes(bool little_endian = true);        // array->bytes: raw elements in that order
  static Codecs Transpose(std::vector<uint64_t> order);  // array->array: dimension permutation
  // array->bytes: the inner chunks of each shard encoded with `inner`, then an index encoded with
  // `index` (default [bytes(little), crc32c]), at the end or the start of the shard.
  static Codecs Sharding(std::vector<uint64_t> inner_chunk_shape, const Codecs& inner,
                         const Codecs& index = Codecs::Bytes().Crc32c(),
                         ShardIndexLocation location = ShardIndexLocation::kEnd);

  // Appenders (each returns *this, so calls chain).
  Codecs& ThenBytes(bool little_endian = true);
  Codecs& ThenTranspose(std::vector<uint64_t> order);
  Codecs& Zstd(int level = 3, bool checksum = false);
  Codecs& Gzip(int level = 5);
  Codecs& Blosc(const BloscSettings& settings = {});
  Codecs& Crc32c();
  // Any codec by name and configuration (JSON object; empty for none).
  Codecs& Then(const std::string& name);
  Codecs& Then(const std::string& name, const Json& configuration);

  // The chain as zarr.json holds it: an array of {"name", "configuration"} objects.
  const Json& ToJson() const;
  operator const JsonValue&() const { return chain_; }  // NOLINT(google-explicit-constructor)
  bool empty() const;

 private:
  JsonValue chain_ = JsonValue::EmptyArray();
};

}  // namespace zarrpp
