// Writes the seed corpora of the fuzz harnesses from values the library itself writes:
//   make_seeds OUT_DIR  ->  OUT_DIR/{metadata_v3,metadata_v2,codec_chain,region,shard}/seed-N
// The committed corpora under tests/fuzz/corpus/ came from this program.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/fuzz/fuzz_chains.h"
#include "tests/fuzz/fuzz_shard.h"
#include "zarrpp/array.h"
#include "zarrpp/json.h"
#include "zarrpp/memory_store.h"

namespace fs = std::filesystem;
using namespace zarrpp;

namespace {

void Write(const fs::path& dir, int n, const Bytes& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / ("seed-" + std::to_string(n)), std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

Bytes Pattern(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>((i * 7) / 5);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds OUT_DIR\n");
    return 2;
  }
  const fs::path out = argv[1];
  for (size_t i = 0; i < fuzz::kNumChains; ++i) {
    auto store = MemoryStore::Create();
    ArrayMetadata m;
    m.shape = {16, 16};
    m.chunk_shape = {16, 16};
    m.data_type = DataType(fuzz::kChains[i].type);
    m.codecs = Json::parse(fuzz::kChains[i].codecs);
    m.attributes = {{"seed", i}};
    auto a = Array::Create(store, "a", m);
    if (!a.ok()) {
      std::fprintf(stderr, "chain %zu: %s\n", i, a.status().ToString().c_str());
      return 1;
    }
    // Half the chunk written, so sharded chunks have empty inner chunks too.
    if (m.data_type.is_variable()) {
      std::vector<std::string> values(8 * 16);
      for (size_t k = 0; k < values.size(); ++k) values[k] = std::string(k % 7, 'a' + k % 26);
      if (!(*a)->WriteStrings(Region{{0, 0}, {8, 16}}, std::span<const std::string>(values)).ok())
        return 1;
    } else if (!(*a)->Write(Region{{0, 0}, {8, 16}}, Pattern(8 * 16 * 2)).ok()) {
      return 1;
    }
    auto doc = store->get("a/zarr.json");
    auto chunk = store->get("a/c/0/0");
    if (!doc.ok() || !*doc || !chunk.ok() || !*chunk) return 1;
    Write(out / "metadata_v3", static_cast<int>(i), **doc);
    Bytes seed = {static_cast<uint8_t>(i)};
    seed.insert(seed.end(), (*chunk)->begin(), (*chunk)->end());
    Write(out / "codec_chain", static_cast<int>(i), seed);
  }
  int n = 0;
  for (const char* type : {"uint8", "int32", "float64", "bool", "complex64"}) {
    auto store = MemoryStore::Create();
    ArrayMetadata m;
    m.zarr_format = 2;
    m.shape = {10, 7};
    m.chunk_shape = {4, 3};
    auto t = DataType::FromName(type);
    if (!t.ok()) continue;
    m.data_type = *t;
    auto a = Array::Create(store, "a", m);
    if (!a.ok()) {
      std::fprintf(stderr, "v2 %s: %s\n", type, a.status().ToString().c_str());
      continue;
    }
    auto doc = store->get("a/.zarray");
    if (doc.ok() && *doc) Write(out / "metadata_v2", n++, **doc);
  }
  // Region inputs: rank, type, then (shape, chunk, origin, extent) per dimension.
  const Bytes regions[] = {
      {1, 0, 100, 10, 5, 20},
      {2, 1, 16, 4, 3, 5, 9, 2, 0, 9},
      {3, 0, 8, 3, 1, 2, 8, 8, 0, 8, 5, 2, 4, 1},
      {2, 0, 0xF0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 4, 0, 64, 0, 0, 2},
      {0, 1},
  };
  n = 0;
  for (const Bytes& r : regions) Write(out / "region", n++, r);
  // Shard inputs: layout, read box, write box, then a shard with three of its four inner chunks.
  for (int layout = 0; layout < fuzz::kShardLayouts; ++layout) {
    auto store = MemoryStore::Create();
    auto a = Array::Create(store, "a", fuzz::ShardMetadata(static_cast<uint8_t>(layout)));
    if (!a.ok()) {
      std::fprintf(stderr, "shard layout %d: %s\n", layout, a.status().ToString().c_str());
      return 1;
    }
    if (!(*a)->Write(Region{{0, 0}, {8, 4}}, Pattern(8 * 4 * 2)).ok()) return 1;
    if (!(*a)->Write(Region{{4, 4}, {4, 4}}, Pattern(4 * 4 * 2)).ok()) return 1;
    auto shard = store->get("a/c/0/0");
    if (!shard.ok() || !*shard) return 1;
    Bytes seed = {static_cast<uint8_t>(layout), static_cast<uint8_t>(9 * layout),
                  static_cast<uint8_t>(5 + layout), static_cast<uint8_t>(18 + layout), 27};
    seed.insert(seed.end(), (*shard)->begin(), (*shard)->end());
    Write(out / "shard", layout, seed);
  }
  return 0;
}
