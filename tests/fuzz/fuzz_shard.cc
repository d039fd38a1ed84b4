// Fuzzes a sharded array whose one stored shard is the input: whole and partial reads must return
// a Status (never crash, never read or write out of bounds), and a partial write that succeeds
// must read back exactly what was written; when the whole array read before the write, it reads
// after it too, with every element outside the written box unchanged.
//
// Input: byte 0 picks the layout (index at start or end; inner chain bytes, bytes+crc32c or
// bytes+zstd), bytes 1-4 pick the read and write boxes, the rest is the shard.
#include "tests/fuzz/fuzz_shard.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "zarrpp/array.h"
#include "zarrpp/executor.h"
#include "zarrpp/json.h"
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

using zarrpp::fuzz::kInner;
using zarrpp::fuzz::kSide;

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
  auto created = Array::Create(store, "a", zarrpp::fuzz::ShardMetadata(data[0]), {}, options);
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
  // The box reads back as written, whatever else the shard holds (a damaged inner chunk that the
  // write did not touch stays damaged).
  std::vector<uint16_t> back(values.size());
  Check(array->Read(write_box, std::span<uint16_t>(back)).ok(), "read of the written box failed");
  Check(back == values, "written element read back wrong");
  if (!before_ok) return 0;
  // A shard that read whole before the write reads whole after it, unchanged outside the box.
  std::vector<uint16_t> after(kSide * kSide);
  Check(array->Read(Region{{0, 0}, {kSide, kSide}}, std::span<uint16_t>(after)).ok(),
        "whole read after a successful write failed");
  for (uint64_t r = 0; r < kSide; ++r) {
    for (uint64_t c = 0; c < kSide; ++c) {
      const bool inside = r >= write_box.origin[0] &&
                          r < write_box.origin[0] + write_box.shape[0] &&
                          c >= write_box.origin[1] && c < write_box.origin[1] + write_box.shape[1];
      if (!inside)
        Check(after[r * kSide + c] == before[r * kSide + c], "element outside the write changed");
    }
  }
  return 0;
}
