// libFuzzer harness: stored chunk bytes through a full read. The first input byte picks one of
// the codec chains below; the rest is stored as the array's only chunk, which is then read whole,
// so it passes through every codec of the chain (and for sharding, the index and inner chunks).
#include <string>

#include "tests/fuzz/fuzz_chains.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace zarrpp;
  if (size < 1) return 0;
  const fuzz::ChainCase& c = fuzz::kChains[data[0] % fuzz::kNumChains];
  auto store = MemoryStore::Create();
  ArrayMetadata m;
  m.shape = {16, 16};
  m.chunk_shape = {16, 16};
  m.data_type = DataType(DataTypeId::kUInt16);
  m.codecs = Json::parse(c.codecs);
  auto a = Array::Create(store, "a", m, {}, fuzz::SmallOptions());
  if (!a.ok()) {
    std::fprintf(stderr, "chain %s: %s\n", c.codecs, a.status().ToString().c_str());
    std::abort();
  }
  if (!store->set("a/c/0/0", Bytes(data + 1, data + size)).ok()) return 0;
  Bytes out(16 * 16 * 2);
  fuzz::CheckExpected((*a)->Read(Region::All(m.shape), out));
  // A part of the chunk, which sharding reads through its index alone.
  Bytes part(4 * 4 * 2);
  fuzz::CheckExpected((*a)->Read(Region{{4, 8}, {4, 4}}, part));
  return 0;
}
