// src/codec_builders.cc - the typed codec chain builders of zarrpp/codecs.h.
#include <utility>

#include "zarrpp/codecs.h"
#include "zarrpp/json.h"

namespace zarrpp {

namespace {
Json Codec(const std::string& name, const Json& configuration) {
  Json c = {{"name", name}};
  if (!configuration.empty()) c["configuration"] = configuration;
  return c;
}
}  // namespace

Codecs& Codecs::Then(const std::string& name) {
  return Then(name, Json::object());
}

Codecs& Codecs::Then(const std::string& name, const Json& configuration) {
  chain_->push_back(Codec(name, configuration));
  return *this;
}

const Json& Codecs::ToJson() const {
  return *chain_;
}

bool Codecs::empty() const {
  return chain_->empty();
}

Codecs Codecs::Bytes(bool little_endian) {
  return Codecs().ThenBytes(little_endian);
}

Codecs Codecs::Transpose(std::vector<uint64_t> order) {
  return Codecs().ThenTranspose(std::move(order));
}

Codecs Codecs::Sharding(std::vector<uint64_t> inner_chunk_shape, const Codecs& inner,
                        const Codecs& index, ShardIndexLocation location) {
  Json config = {{"chunk_shape", std::move(inner_chunk_shape)},
                 {"codecs", inner.empty() ? Codecs::Bytes().ToJson() : inner.ToJson()},
                 {"index_codecs", index.ToJson()},
                 {"index_location", location == ShardIndexLocation::kEnd ? "end" : "start"}};
  return Codecs().Then("sharding_indexed", config);
}

Codecs& Codecs::ThenBytes(bool little_endian) {
  return Then("bytes", {{"endian", little_endian ? "little" : "big"}});
}

Codecs& Codecs::ThenTranspose(std::vector<uint64_t> order) {
  return Then("transpose", {{"order", std::move(order)}});
}

Codecs& Codecs::Zstd(int level, bool checksum) {
  return Then("zstd", {{"level", level}, {"checksum", checksum}});
}

Codecs& Codecs::Gzip(int level) {
  return Then("gzip", {{"level", level}});
}

Codecs& Codecs::Blosc(const BloscSettings& s) {
  Json config = {
      {"cname", s.cname}, {"clevel", s.clevel}, {"shuffle", s.shuffle}, {"blocksize", s.blocksize}};
  if (s.typesize != 0) config["typesize"] = s.typesize;
  return Then("blosc", config);
}

Codecs& Codecs::Crc32c() {
  return Then("crc32c", Json::object());
}

}  // namespace zarrpp
