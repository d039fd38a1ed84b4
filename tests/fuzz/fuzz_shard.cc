// Fuzzes a sharded array whose one stored shard is the input: whole and partial reads must return
// a Status (never crash, never read or write out of bounds), and a partial write that succeeds
// must read back exactly what was written, with every element outside the written box unchanged
// from a read made just before it.
//
// Input: byte 0 picks the layout (index at start or end; inner chain bytes, bytes+crc32c or
// bytes+zstd), bytes 1-4 pick the read and write boxes, the rest is the shard.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "zarrpp/array.h"
#include "zarrpp/executor.h"
#include "zarrpp/memory_store.h"

namespace {

using zarrpp::Array;
using zarrpp::ArrayMetadata;
using zarrpp::ArrayOptions;
using zarrpp::ByteView;
using zarrpp::DataType;
using zarrpp::DataTypeId;
using zarrpp::Json;
using zarrpp::MemoryStore;
using zarrpp::Region;

constexpr uint64_t kSide = 8;   // the array and its one shard: 8 x 8 uint16
constexpr uint64_t kInner = 4;  // 2 x 2 inner chunks of 4 x 4

Json InnerChain(int which) {
  Json bytes = {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
  switch (which) {
    case 1: return Json::array({bytes, {{"name", "crc32c"}}});
    case 2: return Json::array({bytes, {{"name", "zstd"}, {"configuration", {{"level", 1}}}}});
    default: return Json::array({bytes});
  }
}

ArrayMetadata Metadata(uint8_t selector) {
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

Region Box(uint8_t a, uint8_t b) {
  const uint64_t r0 = a % kSide, c0 = (a / kSide) % kSide;
  const uint64_t rows = 1 + b % (kSide - r0), cols = 1 + (b / kSide) % (kSide - c0);
  return Region{{r0, c0}, {rows, cols}};
}

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_shard: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 5) return 0;
  auto store = MemoryStore::Create();
  ArrayOptions options;
  options.executor = zarrpp::InlineExecutor();
  auto created = Array::Create(store, "a", Metadata(data[0]), {}, options);
  Check(created.ok(), "create failed");
  std::shared_ptr<Array> array = *created;
  Check(store->set("a/c/0/0", ByteView(data + 5, size - 5)).ok(), "set failed");

  std::vector<uint16_t> whole(kSide * kSide);
  (void)array->Read(Region{{0, 0}, {kSide, kSide}}, std::span<uint16_t>(whole));
  const Region read_box = Box(data[1], data[2]);
  std::vector<uint16_t> part(read_box.num_elements());
  (void)array->Read(read_box, std::span<uint16_t>(part));

  // A partial write over whatever the shard holds; when it succeeds, the array must hold the
  // written values in the box and, elsewhere, what a successful read before it returned.
  std::vector<uint16_t> before(kSide * kSide);
  const bool before_ok =
      array->Read(Region{{0, 0}, {kSide, kSide}}, std::span<uint16_t>(before)).ok();
  const Region write_box = Box(data[3], data[4]);
  std::vector<uint16_t> values(write_box.num_elements());
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<uint16_t>(0x5000 + i);
  if (!array->Write(write_box, std::span<const uint16_t>(values)).ok()) return 0;
  std::vector<uint16_t> after(kSide * kSide);
  Check(array->Read(Region{{0, 0}, {kSide, kSide}}, std::span<uint16_t>(after)).ok(),
        "read after a successful write failed");
  for (uint64_t r = 0; r < kSide; ++r) {
    for (uint64_t c = 0; c < kSide; ++c) {
      const bool inside = r >= write_box.origin[0] &&
                          r < write_box.origin[0] + write_box.shape[0] &&
                          c >= write_box.origin[1] && c < write_box.origin[1] + write_box.shape[1];
      const uint16_t got = after[r * kSide + c];
      if (inside) {
        const uint64_t i =
            (r - write_box.origin[0]) * write_box.shape[1] + (c - write_box.origin[1]);
        Check(got == values[i], "written element read back wrong");
      } else if (before_ok) {
        Check(got == before[r * kSide + c], "element outside the write changed");
      }
    }
  }
  return 0;
}
