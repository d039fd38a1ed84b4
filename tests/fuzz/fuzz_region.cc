// libFuzzer harness: region arithmetic. The input chooses a shape, a chunk shape and a region
// (small values or any 64-bit value); the array is validated as Attach does, then the region is
// read, written and filled. A region inside the array whose bytes fit the buffer must succeed;
// anything else must be InvalidArgument (or Unsupported for chunks past the harness's limit).
#include <cstring>
#include <vector>

#include "src/checked_math.h"
#include "tests/fuzz/fuzz_common.h"
#include "zarrpp/json.h"

namespace {

struct Input {
  const uint8_t* p;
  size_t n;
  uint8_t Byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  // A tag byte: below 0xF0 a small value (the tag itself), else 8 raw bytes.
  uint64_t Value() {
    const uint8_t tag = Byte();
    if (tag < 0xF0) return tag;
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | Byte();
    return v;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace zarrpp;
  Input in{data, size};
  const size_t rank = in.Byte() % 4;
  ArrayMetadata m;
  m.data_type = DataType(in.Byte() % 2 ? DataTypeId::kUInt16 : DataTypeId::kUInt8);
  Region region;
  for (size_t d = 0; d < rank; ++d) {
    m.shape.push_back(in.Value());
    m.chunk_shape.push_back(in.Value());
    region.origin.push_back(in.Value());
    region.shape.push_back(in.Value());
  }
  m.codecs = Json::parse(R"([{"name":"bytes","configuration":{"endian":"little"}}])");
  ArrayOptions o = fuzz::SmallOptions();
  o.max_decoded_chunk_bytes = 4096;
  auto store = MemoryStore::Create();
  auto a = Array::Attach(store, "a", m, o);
  fuzz::CheckExpected(a.status());
  if (!a.ok()) return 0;
  const size_t esize = m.data_type.size();
  bool inside = true;
  unsigned __int128 elements = 1;
  for (size_t d = 0; d < rank; ++d) {
    if (static_cast<unsigned __int128>(region.origin[d]) + region.shape[d] > m.shape[d]) {
      inside = false;
    }
    elements *= region.shape[d];
    if (elements > (static_cast<unsigned __int128>(1) << 64))
      elements = static_cast<unsigned __int128>(1) << 64;
  }
  const unsigned __int128 bytes = elements * esize;
  const uint16_t fill_value = 0, other = 0x0101;
  if (inside && bytes <= 4096) {
    Bytes buf(static_cast<size_t>(bytes), 0x5a);
    Status w = (*a)->Write(region, buf);
    Status r = (*a)->Read(region, buf);
    Status f = (*a)->Fill(region, ByteView(reinterpret_cast<const uint8_t*>(&other), esize));
    Status e = (*a)->Fill(region, ByteView(reinterpret_cast<const uint8_t*>(&fill_value), esize));
    for (const Status& s : {w, r, f, e}) {
      if (!s.ok()) {
        std::fprintf(stderr, "region %s: %s\n", region.ToString().c_str(), s.ToString().c_str());
        std::abort();
      }
    }
    return 0;
  }
  Bytes small(16);
  Status r = (*a)->Read(region, small);
  if (!r.IsInvalidArgument()) {
    std::fprintf(stderr, "region %s: read gave %s\n", region.ToString().c_str(),
                 r.ToString().c_str());
    std::abort();
  }
  if (inside) {
    // Filling with the fill value follows the stored chunks (none), whatever the region's size.
    Status e = (*a)->Fill(region, ByteView(reinterpret_cast<const uint8_t*>(&fill_value), esize));
    fuzz::CheckExpected(e);
  }
  return 0;
}
