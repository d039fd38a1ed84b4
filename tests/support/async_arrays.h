// tests/support/async_arrays.h - the arrays the tests of the asynchronous calls work on
// (tests/array_async_test.cc, tests/array_async_selection_test.cc): uint32 elements, zstd level 1.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "zarrpp/array.h"
#include "zarrpp/json.h"

namespace zarrpp::test_support {

inline ArrayMetadata AsyncTestMeta(std::vector<uint64_t> shape, std::vector<uint64_t> chunks) {
  ArrayMetadata m;
  m.shape = std::move(shape);
  m.chunk_shape = std::move(chunks);
  m.data_type = DataType(DataTypeId::kUInt32);
  m.fill_value = FillValue::Zero(m.data_type);
  m.codecs = Json::parse(R"([{"name":"bytes","configuration":{"endian":"little"}},
                             {"name":"zstd","configuration":{"level":1}}])");
  return m;
}

// Array "a" in `store`; null (and a failed expectation) if it cannot be created.
inline std::shared_ptr<Array> MakeAsyncTestArray(const std::shared_ptr<Store>& store,
                                                 std::vector<uint64_t> shape,
                                                 std::vector<uint64_t> chunks,
                                                 const ArrayOptions& options = {}) {
  auto a =
      Array::Create(store, "a", AsyncTestMeta(std::move(shape), std::move(chunks)), {}, options);
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? *a : nullptr;
}

}  // namespace zarrpp::test_support
