// Store::get_within_async (the contract in include/zarrpp/store.h): the default form on a store
// without completion-based operations and on one with them, LatencyStore's native form and
// CountingStore's forwarding; and the fused read keeping every lane in flight when the in-flight
// budget has room for few buffers, by reading encoded chunks into the caller's buffer.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "support/within_checks.h"
#include "zarrpp/array.h"
#include "zarrpp/json.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/store_wrappers.h"

namespace zarrpp {
namespace {

using test_support::WithinChecks;

TEST(GetWithinAsync, MemoryStoreRunsTheSynchronousRead) {
  auto mem = MemoryStore::Create();
  ASSERT_FALSE(mem->capabilities().async_io);
  for (size_t size : {0, 1, 1000, 70'000}) WithinChecks(*mem, size);
}

// A store that says it has completion-based operations but does not place values itself: the
// default reads into a buffer of its own with get_async() and copies.
class AsyncMemory : public MemoryStore {
 public:
  StoreCapabilities capabilities() const override {
    StoreCapabilities c = MemoryStore::capabilities();
    c.async_io = true;
    return c;
  }
};

TEST(GetWithinAsync, DefaultFormOnAStoreWithCompletions) {
  AsyncMemory store;
  for (size_t size : {0, 1, 1000, 70'000}) WithinChecks(store, size);
}

TEST(GetWithinAsync, LatencyStoreNativelyAndCountingStoreForwarding) {
  auto mem = MemoryStore::Create();
  auto slow = std::make_shared<LatencyStore>(mem, std::chrono::milliseconds(1));
  for (size_t size : {0, 1000, 70'000}) WithinChecks(*slow, size);
  auto counting = std::make_shared<CountingStore>(slow);
  WithinChecks(*counting, 5000);
  const auto c = counting->counters();
  EXPECT_GT(c.get_into, 0u);
  EXPECT_GT(c.bytes_read, 0u);
  // Over a store with completion-based operations of its own (AsyncMemory's default form).
  auto over_async =
      std::make_shared<LatencyStore>(std::make_shared<AsyncMemory>(), std::chrono::milliseconds(1));
  WithinChecks(*over_async, 3000);
}

// A budget with room for about one encoded chunk: the read still keeps most of its lanes in
// flight (the rest of the chunks land in the caller's buffer), with the right values, also for
// chunks whose encoded value is larger than their decoded bytes (random data) and for parts of
// chunks (a region that is not chunk-aligned).
TEST(GetWithinAsync, FusedReadKeepsLanesInFlightBeyondTheBudget) {
  constexpr uint64_t kRows = 512, kCols = 512, kChunk = 64;
  ArrayMetadata m;
  m.shape = {kRows, kCols};
  m.chunk_shape = {kChunk, kChunk};
  m.data_type = DataType(DataTypeId::kFloat32);
  m.fill_value = FillValue::Zero(m.data_type);
  m.codecs = Json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
                          {{"name", "zstd"}, {"configuration", {{"level", 1}}}}});
  auto mem = MemoryStore::Create();
  auto counting = std::make_shared<CountingStore>(
      std::make_shared<LatencyStore>(mem, std::chrono::milliseconds(5)));
  ArrayOptions o;
  o.io_concurrency = 32;
  o.max_inflight_bytes = 1;  // room for one chunk's buffer at a time
  auto w = Array::Create(counting, "a", m, {}, o);
  ASSERT_TRUE(w.ok()) << w.status();
  std::vector<float> data(kRows * kCols);
  std::mt19937 rng(7);
  for (uint64_t r = 0; r < kRows; ++r) {
    for (uint64_t c = 0; c < kCols; ++c) {
      // The last row of chunks is random (incompressible); the others smooth.
      data[r * kCols + c] = r >= kRows - kChunk ? static_cast<float>(rng()) / 7.0f
                                                : static_cast<float>((r / 4) * 3 + c / 16);
    }
  }
  // Chunk (1, 2) reads as the fill value.
  for (uint64_t r = kChunk; r < 2 * kChunk; ++r) {
    for (uint64_t c = 2 * kChunk; c < 3 * kChunk; ++c) data[r * kCols + c] = 0;
  }
  const Region all = Region::All(m.shape);
  ASSERT_TRUE((*w)->Write(all, std::span<const float>(data)).ok());
  // A fresh handle: no estimate of the encoded size carried over from the write.
  auto a = Array::Open(counting, "a", o);
  ASSERT_TRUE(a.ok()) << a.status();
  std::vector<float> out(data.size(), -1.0f);
  counting->reset();
  ASSERT_TRUE((*a)->Read(all, std::span<float>(out)).ok());
  EXPECT_TRUE(out == data);
  const auto c = counting->counters();
  EXPECT_GE(c.max_in_flight, 16u) << "the budget held the read to few requests in flight";
  // Random chunks do not fit their decoded bytes: each is read again into a buffer, no more.
  EXPECT_LE(c.get_into, 64u + 8u + 8u);

  // Regions across chunk boundaries, at both ends of the array.
  for (const Region& r : {Region{{kChunk / 2, 3}, {3 * kChunk, 5 * kChunk}},
                          Region{{kRows - kChunk - 7, kCols / 3}, {kChunk + 7, kCols / 2}}}) {
    std::vector<float> part(r.shape[0] * r.shape[1], -1.0f);
    auto b = Array::Open(counting, "a", o);
    ASSERT_TRUE(b.ok()) << b.status();
    ASSERT_TRUE((*b)->Read(r, std::span<float>(part)).ok());
    for (uint64_t i = 0; i < r.shape[0]; ++i) {
      for (uint64_t j = 0; j < r.shape[1]; ++j) {
        ASSERT_EQ(part[i * r.shape[1] + j], data[(r.origin[0] + i) * kCols + r.origin[1] + j])
            << "at " << i << ", " << j;
      }
    }
  }
}

}  // namespace
}  // namespace zarrpp
