#include "support/within_checks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "support/async_checks.h"

namespace zarrpp::test_support {

namespace {

constexpr uint8_t kUntouched = 0xEE;

// `total` bytes cut into three pieces of uneven sizes (as many as there are bytes, up to three).
std::vector<MutableByteView> Cut(Bytes& buffer, size_t total) {
  buffer.assign(total, kUntouched);
  std::vector<MutableByteView> pieces;
  const size_t a = total / 5, b = total / 2;
  size_t at = 0;
  for (size_t end : {a, b, total}) {
    if (end > at) pieces.emplace_back(buffer.data() + at, end - at);
    at = end;
  }
  return pieces;
}

Result<std::optional<uint64_t>> Within(Store& store, const std::string& key,
                                       std::span<const MutableByteView> pieces, bool async) {
  if (!async) return store.get_within(key, pieces);
  Latch latch(1);
  Result<std::optional<uint64_t>> got = std::optional<uint64_t>();
  store.get_within_async(key, pieces, [&](Result<std::optional<uint64_t>> size) {
    got = std::move(size);
    latch.Done();
  });
  EXPECT_TRUE(latch.Wait()) << "get_within_async of " << key << " never completed";
  return got;
}

}  // namespace

void WithinChecks(Store& store, size_t size) {
  WithinChecks(store, store, size);
}

void WithinChecks(Store& writer, Store& store, size_t size) {
  const std::string key = "within/v" + std::to_string(size);
  const Bytes value = ValueOf(size % 251, size);
  ASSERT_TRUE(writer.set(key, value).ok());
  for (bool async : {false, true}) {
    SCOPED_TRACE(async ? "get_within_async" : "get_within");
    for (size_t total : {size + size / 2 + 1, size}) {
      Bytes buffer;
      const auto pieces = Cut(buffer, total);
      auto got = Within(store, key, pieces, async);
      ASSERT_TRUE(got.ok()) << got.status();
      ASSERT_TRUE(got->has_value());
      EXPECT_EQ(**got, size);
      EXPECT_TRUE(std::equal(value.begin(), value.end(), buffer.begin())) << "room " << total;
      EXPECT_TRUE(std::all_of(buffer.begin() + static_cast<ptrdiff_t>(size), buffer.end(),
                              [](uint8_t b) { return b == kUntouched; }))
          << "bytes past the value written, room " << total;
    }
    if (size > 0) {
      // One byte short: not read, the size returned.
      Bytes buffer;
      const auto pieces = Cut(buffer, size - 1);
      auto got = Within(store, key, pieces, async);
      ASSERT_TRUE(got.ok()) << got.status();
      ASSERT_TRUE(got->has_value());
      EXPECT_EQ(**got, size);
      EXPECT_TRUE(std::all_of(buffer.begin(), buffer.end(), [](uint8_t b) {
        return b == kUntouched;
      })) << "a value larger than the pieces wrote into them";
    }
    {
      Bytes buffer;
      const auto pieces = Cut(buffer, size + 8);
      auto got = Within(store, "within/missing", pieces, async);
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_FALSE(got->has_value());
      EXPECT_TRUE(
          std::all_of(buffer.begin(), buffer.end(), [](uint8_t b) { return b == kUntouched; }));
    }
    {
      Bytes buffer;
      const auto pieces = Cut(buffer, 16);
      auto got = Within(store, "within/../bad", pieces, async);
      ASSERT_FALSE(got.ok());
      EXPECT_EQ(got.status().code(), Status::Code::kInvalidArgument) << got.status();
    }
  }
  // The value that fits is read again after one that did not (a connection ended early
  // must not disturb the next request).
  Bytes buffer;
  const auto pieces = Cut(buffer, size + 1);
  auto again = Within(store, key, pieces, true);
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_TRUE(again->has_value());
  EXPECT_TRUE(std::equal(value.begin(), value.end(), buffer.begin()));
}

}  // namespace zarrpp::test_support
