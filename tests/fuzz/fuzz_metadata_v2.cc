// libFuzzer harness: a .zarray document through parsing, Array::Open and a read of the front of
// the array (no chunks stored: every element is the fill value).
#include <string>

#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace zarrpp;
  auto store = MemoryStore::Create();
  if (!store->set("a/.zarray", Bytes(data, data + size)).ok()) return 0;
  auto a = Array::Open(store, "a", fuzz::SmallOptions());
  fuzz::CheckExpected(a.status());
  if (a.ok()) fuzz::ReadFront(**a, 4096);
  return 0;
}
