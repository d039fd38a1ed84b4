// libFuzzer harness: stored chunk bytes through a full read. The first input byte picks one of
// the codec chains below; the rest is stored as the array's only chunk, which is then read whole,
// so it passes through every codec of the chain (and for sharding, the index and inner chunks).
#include <string>

#include "tests/fuzz/fuzz_chains.h"
#include "tests/fuzz/fuzz_common.h"
#include "zarrpp/json.h"

namespace {

struct Target {
  std::shared_ptr<zarrpp::MemoryStore> store;
  std::shared_ptr<zarrpp::Array> array;
};

// One array per chain, created once: an iteration only replaces the stored chunk.
const Target& TargetFor(size_t i) {
  using namespace zarrpp;
  static Target* targets = [] {
    auto* t = new Target[fuzz::kNumChains];  // used until exit
    for (size_t k = 0; k < fuzz::kNumChains; ++k) {
      ArrayMetadata m;
      m.shape = {16, 16};
      m.chunk_shape = {16, 16};
      m.data_type = DataType(fuzz::kChains[k].type);
      m.codecs = Json::parse(fuzz::kChains[k].codecs);
      t[k].store = MemoryStore::Create();
      auto a = Array::Create(t[k].store, "a", m, {}, fuzz::SmallOptions());
      if (!a.ok()) {
        std::fprintf(stderr, "chain %s: %s\n", fuzz::kChains[k].codecs,
                     a.status().ToString().c_str());
        std::abort();
      }
      t[k].array = *a;
    }
    return t;
  }();
  return targets[i];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace zarrpp;
  if (size < 1) return 0;
  const Target& t = TargetFor(data[0] % fuzz::kNumChains);
  if (!t.store->set("a/c/0/0", Bytes(data + 1, data + size)).ok()) return 0;
  if (t.array->data_type().is_variable()) {  // offsets + bytes chunks (spec/strings.md)
    fuzz::CheckExpected(t.array->ReadStrings(Region::All(t.array->shape())).status());
    fuzz::CheckExpected(t.array->ReadStrings(Region{{4, 8}, {4, 4}}).status());
    return 0;
  }
  Bytes out(16 * 16 * 2);
  fuzz::CheckExpected(t.array->Read(Region::All(t.array->shape()), out));
  // A part of the chunk, which sharding reads through its index alone.
  Bytes part(4 * 4 * 2);
  fuzz::CheckExpected(t.array->Read(Region{{4, 8}, {4, 4}}, part));
  // One element: chains that decode a span of the value (bytes, transpose, blosc) read only it.
  Bytes one(2);
  fuzz::CheckExpected(t.array->Read(Region{{9, 3}, {1, 1}}, one));
  return 0;
}
