// libFuzzer harness: a zarr.json document through parsing (as an array and as a group),
// Array::Open and a read of the front of the array (no chunks stored: every element is the fill
// value).
#include <string>

#include "tests/fuzz/fuzz_common.h"
#include "zarrpp/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace zarrpp;
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = ArrayMetadata::Parse(text);
  fuzz::CheckExpected(parsed.status());
  if (parsed.ok()) {
    // Serialising and parsing again gives the same metadata.
    auto again = ArrayMetadata::FromJson(parsed->ToJson());
    if (!again.ok()) {
      std::fprintf(stderr, "round trip failed: %s\n", again.status().ToString().c_str());
      std::abort();
    }
  }
  fuzz::CheckExpected(GroupMetadata::Parse(text).status());
  auto store = MemoryStore::Create();
  if (!store->set("a/zarr.json", Bytes(data, data + size)).ok()) return 0;
  auto a = Array::Open(store, "a", fuzz::SmallOptions());
  fuzz::CheckExpected(a.status());
  if (a.ok()) fuzz::ReadFront(**a, 4096);
  return 0;
}
