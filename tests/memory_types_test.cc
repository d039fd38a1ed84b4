// Reads and writes whose memory type differs from the array's data type (spec/memory_types.md).
#include "src/types/memory_types.h"

#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "src/types/float16.h"
#include "zarrpp/array.h"
#include "zarrpp/json.h"
#include "zarrpp/memory_store.h"

namespace zarrpp {
namespace {

const std::vector<DataTypeId> kTypes = {
    DataTypeId::kBool,   DataTypeId::kInt8,    DataTypeId::kInt16,   DataTypeId::kInt32,
    DataTypeId::kInt64,  DataTypeId::kUInt8,   DataTypeId::kUInt16,  DataTypeId::kUInt32,
    DataTypeId::kUInt64, DataTypeId::kFloat16, DataTypeId::kFloat32, DataTypeId::kFloat64};

std::string Name(DataTypeId id) {
  return DataType(id).name();
}

// One element of `type` holding `v` (which the type represents exactly).
void Encode(DataTypeId type, long double v, uint8_t* p) {
  auto put = [&](auto x) { std::memcpy(p, &x, sizeof(x)); };
  switch (type) {
    case DataTypeId::kBool: put(static_cast<uint8_t>(v != 0)); break;
    case DataTypeId::kInt8: put(static_cast<int8_t>(v)); break;
    case DataTypeId::kInt16: put(static_cast<int16_t>(v)); break;
    case DataTypeId::kInt32: put(static_cast<int32_t>(v)); break;
    case DataTypeId::kInt64: put(static_cast<int64_t>(v)); break;
    case DataTypeId::kUInt8: put(static_cast<uint8_t>(v)); break;
    case DataTypeId::kUInt16: put(static_cast<uint16_t>(v)); break;
    case DataTypeId::kUInt32: put(static_cast<uint32_t>(v)); break;
    case DataTypeId::kUInt64: put(static_cast<uint64_t>(v)); break;
    case DataTypeId::kFloat16: put(internal::DoubleToHalf(static_cast<double>(v))); break;
    case DataTypeId::kFloat32: put(static_cast<float>(v)); break;
    case DataTypeId::kFloat64: put(static_cast<double>(v)); break;
    default: FAIL() << "not a convertible type";
  }
}

long double Decode(DataTypeId type, const uint8_t* p) {
  auto get = [&](auto x) {
    std::memcpy(&x, p, sizeof(x));
    return static_cast<long double>(x);
  };
  switch (type) {
    case DataTypeId::kBool: return p[0];
    case DataTypeId::kInt8: return get(int8_t{});
    case DataTypeId::kInt16: return get(int16_t{});
    case DataTypeId::kInt32: return get(int32_t{});
    case DataTypeId::kInt64: return get(int64_t{});
    case DataTypeId::kUInt8: return get(uint8_t{});
    case DataTypeId::kUInt16: return get(uint16_t{});
    case DataTypeId::kUInt32: return get(uint32_t{});
    case DataTypeId::kUInt64: return get(uint64_t{});
    case DataTypeId::kFloat16: {
      uint16_t h;
      std::memcpy(&h, p, 2);
      return internal::HalfToDouble(h);
    }
    case DataTypeId::kFloat32: return get(float{});
    case DataTypeId::kFloat64: return get(double{});
    default: return 0;
  }
}

// A value for element i of `type` that encodes i and uses much of the type's range (exact in the
// type; long double holds every value of every type exactly).
long double PositionValue(DataTypeId type, uint64_t i) {
  const long double x = static_cast<long double>(i);
  switch (type) {
    case DataTypeId::kBool: return i % 3 == 0 ? 1 : 0;
    case DataTypeId::kInt8: return static_cast<long double>(i % 255) - 127;
    case DataTypeId::kUInt8: return static_cast<long double>(i % 256);
    case DataTypeId::kInt16: return static_cast<long double>((i * 97) % 65535) - 32767;
    case DataTypeId::kUInt16: return static_cast<long double>((i * 97) % 65536);
    case DataTypeId::kInt32: return x * 2000003 - 1000000000;
    case DataTypeId::kUInt32: return static_cast<long double>((i * 5000011) % 4294967296u);
    case DataTypeId::kInt64: return x * 10000000000019.0L - 4000000000000000000.0L;
    case DataTypeId::kUInt64: return x * 20000000000000003.0L;
    case DataTypeId::kFloat16: return static_cast<long double>(i % 1000) * 0.5L - 250;
    case DataTypeId::kFloat32: return static_cast<float>(static_cast<float>(i) * 0.37f - 100.0f);
    case DataTypeId::kFloat64: return static_cast<double>(i) * 0.37 - 100.0 + 1.0 / 3.0;
    default: return 0;
  }
}

struct Layout {
  const char* name;
  bool sharded;
  PipelineKind pipeline;
  size_t io_concurrency = 0;  // 64: chunk tasks on I/O threads (lanes)
};

class MemoryTypes : public ::testing::TestWithParam<Layout> {
 protected:
  // An array of `type` and shape {37, 23}, chunks {8, 5} (inner chunks {4, 5} of {8, 10} shards
  // when sharded), so regions meet partial and edge chunks.
  std::shared_ptr<Array> Make(DataTypeId type, std::vector<uint8_t> fill = {}) {
    ArrayMetadata m;
    m.shape = {37, 23};
    m.data_type = DataType(type);
    m.fill_value = fill.empty() ? FillValue::Zero(m.data_type) : FillValue{fill};
    const Json zstd = {{"name", "zstd"}, {"configuration", {{"level", 1}, {"checksum", false}}}};
    const Json bytes = {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
    if (GetParam().sharded) {
      m.chunk_shape = {8, 10};
      m.codecs = Json::array({{{"name", "sharding_indexed"},
                               {"configuration",
                                {{"chunk_shape", {4, 5}},
                                 {"codecs", Json::array({bytes, zstd})},
                                 {"index_codecs", Json::array({bytes})},
                                 {"index_location", "end"}}}}});
    } else {
      m.chunk_shape = {8, 5};
      m.codecs = Json::array({bytes, zstd});
    }
    ArrayOptions opts;
    opts.pipeline = GetParam().pipeline;
    opts.min_task_bytes = 64;  // several tiles per read
    opts.io_concurrency = GetParam().io_concurrency;
    store_ = MemoryStore::Create();
    auto arr = Array::Create(store_, "a", m, {}, opts);
    EXPECT_TRUE(arr.ok()) << arr.status();
    return arr.ok() ? *arr : nullptr;
  }

  // Chunk keys in the store (not metadata).
  size_t StoredChunks() {
    auto keys = store_->list();
    EXPECT_TRUE(keys.ok()) << keys.status();
    size_t n = 0;
    if (keys.ok()) {
      for (const auto& k : *keys) n += k.find("zarr.json") == std::string::npos ? 1 : 0;
    }
    return n;
  }

  std::shared_ptr<Store> store_;
};

const Region kAll{{0, 0}, {37, 23}};
const Region kPart{{3, 2}, {20, 14}};

uint64_t Index(const Region& r, uint64_t k, uint64_t cols) {
  // Element k of region r (C order) as an index into the whole {37, 23} array.
  const uint64_t row = r.origin[0] + k / r.shape[1];
  const uint64_t col = r.origin[1] + k % r.shape[1];
  return row * cols + col;
}

TEST_P(MemoryTypes, EveryExactPairRoundTripsPositionValues) {
  for (DataTypeId from : kTypes) {
    auto arr = Make(from);
    ASSERT_NE(arr, nullptr);
    const size_t fs = DataType(from).size();
    const uint64_t n = kAll.num_elements();
    std::vector<uint8_t> data(n * fs);
    for (uint64_t i = 0; i < n; ++i) Encode(from, PositionValue(from, i), data.data() + i * fs);
    ASSERT_TRUE(arr->Write(kAll, ByteView(data)).ok());
    for (DataTypeId to : kTypes) {
      if (!internal::IsExactConversion(from, to)) continue;
      const size_t ts = DataType(to).size();
      for (const Region& r : {kAll, kPart}) {
        std::vector<uint8_t> out(r.num_elements() * ts, 0xee);
        Status s = arr->Read(r, MutableByteView(out), to);
        ASSERT_TRUE(s.ok()) << Name(from) << " -> " << Name(to) << ": " << s;
        for (uint64_t k = 0; k < r.num_elements(); ++k) {
          const long double want = PositionValue(from, Index(r, k, 23));
          ASSERT_EQ(Decode(to, out.data() + k * ts), want)
              << Name(from) << " -> " << Name(to) << " element " << k;
        }
      }
      // The reverse write: `to` values into the `from` array where the pair is exact both ways
      // only for equal types; here write `from`-valued data given as `to` elements (exact values).
      std::vector<uint8_t> back(kPart.num_elements() * ts);
      for (uint64_t k = 0; k < kPart.num_elements(); ++k) {
        Encode(to, PositionValue(from, Index(kPart, k, 23)), back.data() + k * ts);
      }
      WriteOptions narrow;
      narrow.convert = Conversion::kAllowNarrowing;
      Status ws = arr->Write(kPart, ByteView(back), to, narrow);
      ASSERT_TRUE(ws.ok()) << Name(to) << " -> " << Name(from) << ": " << ws;
      std::vector<uint8_t> same(n * fs);
      ASSERT_TRUE(arr->Read(kAll, MutableByteView(same)).ok());
      EXPECT_EQ(same, data) << Name(to) << " -> " << Name(from);
    }
  }
}

TEST_P(MemoryTypes, NarrowingIsRefusedWithoutTheOption) {
  for (DataTypeId from : kTypes) {
    auto arr = Make(from);
    ASSERT_NE(arr, nullptr);
    for (DataTypeId to : kTypes) {
      if (internal::IsExactConversion(from, to)) continue;
      std::vector<uint8_t> out(kPart.num_elements() * DataType(to).size());
      Status s = arr->Read(kPart, MutableByteView(out), to);
      EXPECT_TRUE(s.IsInvalidArgument()) << s;
      EXPECT_NE(s.message().find(Name(from)), std::string::npos) << s;
      EXPECT_NE(s.message().find(Name(to)), std::string::npos) << s;
      // The write direction: `to` elements into a `from` array, when that narrows.
      if (!internal::IsExactConversion(to, from)) {
        Status w = arr->Write(kPart, ByteView(out), to);
        EXPECT_TRUE(w.IsInvalidArgument()) << w;
        EXPECT_NE(w.message().find(Name(from)), std::string::npos) << w;
      }
    }
    EXPECT_EQ(StoredChunks(), 0u) << "nothing written";
  }
}

TEST_P(MemoryTypes, NarrowingAllowedConvertsValuesThatFit) {
  ReadOptions ro;
  ro.convert = Conversion::kAllowNarrowing;
  for (DataTypeId from : kTypes) {
    auto arr = Make(from);
    ASSERT_NE(arr, nullptr);
    const size_t fs = DataType(from).size();
    const uint64_t n = kAll.num_elements();
    std::vector<uint8_t> data(n * fs);
    // 0..1 for bool, else 0..100: every type holds them.
    auto value = [&](uint64_t i) -> long double {
      return from == DataTypeId::kBool ? i % 2 : i % 101;
    };
    for (uint64_t i = 0; i < n; ++i) Encode(from, value(i), data.data() + i * fs);
    ASSERT_TRUE(arr->Write(kAll, ByteView(data)).ok());
    for (DataTypeId to : kTypes) {
      if (to == DataTypeId::kBool && from != DataTypeId::kBool) continue;  // below
      const size_t ts = DataType(to).size();
      std::vector<uint8_t> out(kPart.num_elements() * ts);
      Status s = arr->Read(kPart, MutableByteView(out), to, ro);
      ASSERT_TRUE(s.ok()) << Name(from) << " -> " << Name(to) << ": " << s;
      for (uint64_t k = 0; k < kPart.num_elements(); ++k) {
        ASSERT_EQ(Decode(to, out.data() + k * ts), value(Index(kPart, k, 23)))
            << Name(from) << " -> " << Name(to) << " element " << k;
      }
    }
  }
}

TEST_P(MemoryTypes, OutOfRangeReadNamesTheElement) {
  ReadOptions ro;
  ro.convert = Conversion::kAllowNarrowing;
  auto arr = Make(DataTypeId::kInt16);
  ASSERT_NE(arr, nullptr);
  std::vector<int16_t> v(kAll.num_elements(), 5);
  v[10 * 23 + 7] = 300;  // element (10, 7): (7, 5) of kPart, index 7 * 14 + 5 = 103
  ASSERT_TRUE(arr->Write(kAll, std::span<const int16_t>(v)).ok());
  std::vector<int8_t> out(kPart.num_elements());
  Status s = arr->Read(kPart, std::span<int8_t>(out), ro);
  ASSERT_TRUE(s.IsInvalidArgument()) << s;
  EXPECT_NE(s.message().find("element 103 "), std::string::npos) << s;
  EXPECT_NE(s.message().find("300"), std::string::npos) << s;
  EXPECT_NE(s.message().find("int8"), std::string::npos) << s;
  // No saturation either way: uint8 refuses it too, int32 takes it.
  // (A std::span<uint8_t> is the untyped byte form, so uint8 is named as the memory type.)
  std::vector<uint8_t> u(kPart.num_elements());
  s = arr->Read(kPart, MutableByteView(u), DataTypeId::kUInt8, ro);
  EXPECT_TRUE(s.IsInvalidArgument()) << s;
  EXPECT_NE(s.message().find("element 103 "), std::string::npos) << s;
  std::vector<int32_t> w(kPart.num_elements());
  ASSERT_TRUE(arr->Read(kPart, std::span<int32_t>(w)).ok());
  EXPECT_EQ(w[103], 300);
  EXPECT_EQ(w[0], 5);
  // -1 into an unsigned type fails; 2 into bool fails, 1 reads as true.
  v[10 * 23 + 7] = -1;
  ASSERT_TRUE(arr->Write(kAll, std::span<const int16_t>(v)).ok());
  std::vector<uint16_t> u16(kPart.num_elements());
  s = arr->Read(kPart, std::span<uint16_t>(u16), ro);
  EXPECT_TRUE(s.IsInvalidArgument()) << s;
  std::vector<uint8_t> b(kPart.num_elements());
  EXPECT_TRUE(arr->Read(kPart, MutableByteView(b), DataTypeId::kBool, ro).IsInvalidArgument());
  std::fill(v.begin(), v.end(), 1);
  v[0] = 0;
  ASSERT_TRUE(arr->Write(kAll, std::span<const int16_t>(v)).ok());
  EXPECT_TRUE(arr->Read(kAll, MutableByteView(b), DataTypeId::kBool, ro).IsInvalidArgument())
      << "buffer size checked";
  std::vector<uint8_t> ball(kAll.num_elements());
  ASSERT_TRUE(arr->Read(kAll, MutableByteView(ball), DataTypeId::kBool, ro).ok());
  EXPECT_EQ(ball[0], 0);
  EXPECT_EQ(ball[1], 1);
}

TEST_P(MemoryTypes, FloatToIntTruncatesAndRefusesNaN) {
  ReadOptions ro;
  ro.convert = Conversion::kAllowNarrowing;
  auto arr = Make(DataTypeId::kFloat64);
  ASSERT_NE(arr, nullptr);
  const Region r{{0, 0}, {1, 6}};
  std::vector<double> v = {2.7, -2.7, -0.5, 0.99, 127.9, -128.9};
  ASSERT_TRUE(arr->Write(r, std::span<const double>(v)).ok());
  std::vector<int8_t> i8(6);
  ASSERT_TRUE(arr->Read(r, std::span<int8_t>(i8), ro).ok());
  EXPECT_EQ(i8, (std::vector<int8_t>{2, -2, 0, 0, 127, -128}));
  std::vector<int32_t> i32(6);
  EXPECT_TRUE(arr->Read(r, std::span<int32_t>(i32)).IsInvalidArgument()) << "needs the option";
  // -0.5 truncates to 0, which uint8 holds; -2.7 does not fit.
  std::vector<uint8_t> u8(6);
  Status s = arr->Read(r, MutableByteView(u8), DataTypeId::kUInt8, ro);
  ASSERT_TRUE(s.IsInvalidArgument()) << s;
  // Elements 1 (-2.7) and 5 (-128.9) do not fit; chunks convert in parallel, so either is named.
  EXPECT_TRUE(s.message().find("element 1 ") != std::string::npos ||
              s.message().find("element 5 ") != std::string::npos)
      << s;
  v = {1.0, std::nan(""), 3.0, 4.0, 5.0, 6.0};
  ASSERT_TRUE(arr->Write(r, std::span<const double>(v)).ok());
  s = arr->Read(r, std::span<int32_t>(i32), ro);
  ASSERT_TRUE(s.IsInvalidArgument()) << s;
  EXPECT_NE(s.message().find("element 1 "), std::string::npos) << s;
  EXPECT_NE(s.message().find("nan"), std::string::npos) << s;
  v = {1.0, std::numeric_limits<double>::infinity(), 3.0, 4.0, 5.0, 6.0};
  ASSERT_TRUE(arr->Write(r, std::span<const double>(v)).ok());
  std::vector<int64_t> i64(6);
  EXPECT_TRUE(arr->Read(r, std::span<int64_t>(i64), ro).IsInvalidArgument());
  // int64 limits: 2^63 does not fit, -2^63 does.
  v = {-9223372036854775808.0, 9223372036854775808.0, 0, 0, 0, 0};
  ASSERT_TRUE(arr->Write(r, std::span<const double>(v)).ok());
  s = arr->Read(r, std::span<int64_t>(i64), ro);
  ASSERT_TRUE(s.IsInvalidArgument()) << s;
  EXPECT_NE(s.message().find("element 1 "), std::string::npos) << s;
}

TEST_P(MemoryTypes, FloatNarrowingRoundsAndRefusesOverflow) {
  ReadOptions ro;
  ro.convert = Conversion::kAllowNarrowing;
  auto arr = Make(DataTypeId::kFloat64);
  ASSERT_NE(arr, nullptr);
  const Region r{{2, 0}, {1, 5}};
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> v = {0.1, -inf, std::nan(""), 3.4028235e38, 1e-50};
  ASSERT_TRUE(arr->Write(r, std::span<const double>(v)).ok());
  std::vector<float> f(5);
  ASSERT_TRUE(arr->Read(r, std::span<float>(f), ro).ok());
  EXPECT_EQ(f[0], 0.1f);
  EXPECT_EQ(f[1], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(f[2]));
  EXPECT_EQ(f[3], std::numeric_limits<float>::max());
  EXPECT_EQ(f[4], 0.0f);
  EXPECT_TRUE(arr->Read(r, std::span<float>(f)).IsInvalidArgument()) << "needs the option";
  // 2^128 - 2^103 is the midpoint between the largest float and 2^128: it rounds to infinity,
  // one float64 ulp below it rounds to the largest float.
  v[3] = std::nextafter(std::ldexp(1.0, 128) - std::ldexp(1.0, 103), 0.0);
  ASSERT_TRUE(arr->Write(r, std::span<const double>(v)).ok());
  ASSERT_TRUE(arr->Read(r, std::span<float>(f), ro).ok());
  EXPECT_EQ(f[3], std::numeric_limits<float>::max());
  v[3] = -(std::ldexp(1.0, 128) - std::ldexp(1.0, 103));
  ASSERT_TRUE(arr->Write(r, std::span<const double>(v)).ok());
  Status s = arr->Read(r, std::span<float>(f), ro);
  ASSERT_TRUE(s.IsInvalidArgument()) << s;
  EXPECT_NE(s.message().find("element 3 "), std::string::npos) << s;
  // float16: 65519 rounds to 65504, 65520 overflows.
  v = {65504, 65519, -65519, 0.5, 65520};
  ASSERT_TRUE(arr->Write(r, std::span<const double>(v)).ok());
  std::vector<uint16_t> h(5);
  s = arr->Read(r, MutableByteView(reinterpret_cast<uint8_t*>(h.data()), 10), DataTypeId::kFloat16,
                ro);
  ASSERT_TRUE(s.IsInvalidArgument()) << s;
  EXPECT_NE(s.message().find("element 4 "), std::string::npos) << s;
  const Region r4{{2, 0}, {1, 4}};
  ASSERT_TRUE(arr->Read(r4, MutableByteView(reinterpret_cast<uint8_t*>(h.data()), 8),
                        DataTypeId::kFloat16, ro)
                  .ok());
  EXPECT_EQ(internal::HalfToDouble(h[0]), 65504);
  EXPECT_EQ(internal::HalfToDouble(h[1]), 65504);
  EXPECT_EQ(internal::HalfToDouble(h[2]), -65504);
  EXPECT_EQ(internal::HalfToDouble(h[3]), 0.5);
}

TEST_P(MemoryTypes, FailedNarrowingWriteWritesNothing) {
  WriteOptions wo;
  wo.convert = Conversion::kAllowNarrowing;
  auto arr = Make(DataTypeId::kInt8);
  ASSERT_NE(arr, nullptr);
  std::vector<int32_t> in(kAll.num_elements(), 9);
  in[500] = 1000;
  EXPECT_TRUE(arr->Write(kAll, std::span<const int32_t>(in)).IsInvalidArgument())
      << "needs the option";
  Status s = arr->Write(kAll, std::span<const int32_t>(in), wo);
  ASSERT_TRUE(s.IsInvalidArgument()) << s;
  EXPECT_NE(s.message().find("element 500 "), std::string::npos) << s;
  EXPECT_NE(s.message().find("1000"), std::string::npos) << s;
  EXPECT_EQ(StoredChunks(), 0u) << "nothing written";
  in[500] = -128;
  ASSERT_TRUE(arr->Write(kAll, std::span<const int32_t>(in), wo).ok());
  std::vector<int8_t> back(kAll.num_elements());
  ASSERT_TRUE(arr->Read(kAll, std::span<int8_t>(back)).ok());
  EXPECT_EQ(back[500], -128);
  EXPECT_EQ(back[0], 9);
  EXPECT_EQ(back[kAll.num_elements() - 1], 9);
  // A partial write of doubles into the int8 array, truncated toward zero.
  std::vector<double> d(kPart.num_elements(), -3.9);
  ASSERT_TRUE(arr->Write(kPart, std::span<const double>(d), wo).ok());
  ASSERT_TRUE(arr->Read(kAll, std::span<int8_t>(back)).ok());
  EXPECT_EQ(back[3 * 23 + 2], -3);
  EXPECT_EQ(back[3 * 23 + 1], 9);
  d[7] = std::nan("");
  s = arr->Write(kPart, std::span<const double>(d), wo);
  ASSERT_TRUE(s.IsInvalidArgument()) << s;
  EXPECT_NE(s.message().find("element 7 "), std::string::npos) << s;
}

TEST_P(MemoryTypes, FillValuesOfMissingChunksConvert) {
  auto arr = Make(DataTypeId::kInt16, {7, 0});  // fill value 7
  ASSERT_NE(arr, nullptr);
  const Region one{{9, 4}, {2, 3}};
  std::vector<int16_t> w(6, -2);
  ASSERT_TRUE(arr->Write(one, std::span<const int16_t>(w)).ok());
  std::vector<double> out(kPart.num_elements());
  ASSERT_TRUE(arr->Read(kPart, std::span<double>(out)).ok());
  for (uint64_t k = 0; k < out.size(); ++k) {
    const uint64_t row = 3 + k / 14, col = 2 + k % 14;
    const bool written = row >= 9 && row < 11 && col >= 4 && col < 7;
    ASSERT_EQ(out[k], written ? -2.0 : 7.0) << k;
  }
  // A NaN fill value: float64 keeps it, integers refuse it.
  const double nan = std::nan("");
  std::vector<uint8_t> fill(4);
  const float fnan = static_cast<float>(nan);
  std::memcpy(fill.data(), &fnan, 4);
  auto f = Make(DataTypeId::kFloat32, fill);
  ASSERT_NE(f, nullptr);
  ASSERT_TRUE(f->Read(kPart, std::span<double>(out)).ok());
  EXPECT_TRUE(std::isnan(out[0]) && std::isnan(out.back()));
  ReadOptions ro;
  ro.convert = Conversion::kAllowNarrowing;
  std::vector<int32_t> i(kPart.num_elements());
  Status s = f->Read(kPart, std::span<int32_t>(i), ro);
  ASSERT_TRUE(s.IsInvalidArgument()) << s;
  EXPECT_NE(s.message().find("nan"), std::string::npos) << s;
}

TEST_P(MemoryTypes, TypedSpansConvertAndSameTypeStaysDirect) {
  auto arr = Make(DataTypeId::kFloat32);
  ASSERT_NE(arr, nullptr);
  std::vector<float> v(kAll.num_elements());
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) * 1.1f;
  ASSERT_TRUE(arr->Write(kAll, std::span<const float>(v)).ok());
  std::vector<double> d(kAll.num_elements());
  ASSERT_TRUE(arr->Read(kAll, std::span<double>(d)).ok());
  for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(d[i], static_cast<double>(v[i]));
  std::vector<float> f(kAll.num_elements());
  ASSERT_TRUE(arr->Read(kAll, std::span<float>(f)).ok());
  EXPECT_EQ(f, v);
  // Doubles written into the float32 array: exact values need no option only when exact both
  // ways, which float64 -> float32 is not.
  EXPECT_TRUE(arr->Write(kAll, std::span<const double>(d)).IsInvalidArgument());
  WriteOptions wo;
  wo.convert = Conversion::kAllowNarrowing;
  ASSERT_TRUE(arr->Write(kAll, std::span<const double>(d), wo).ok());
  ASSERT_TRUE(arr->Read(kAll, std::span<float>(f)).ok());
  EXPECT_EQ(f, v);
  // Complex and other types are outside conversion.
  std::vector<std::complex<float>> c(kAll.num_elements());
  Status s = arr->Read(kAll, std::span<std::complex<float>>(c));
  EXPECT_TRUE(s.IsInvalidArgument()) << s;
}

INSTANTIATE_TEST_SUITE_P(Layouts, MemoryTypes,
                         ::testing::Values(Layout{"Fused", false, PipelineKind::kFused},
                                           Layout{"Batched", false, PipelineKind::kBatched},
                                           Layout{"ShardedFused", true, PipelineKind::kFused},
                                           Layout{"ShardedBatched", true, PipelineKind::kBatched},
                                           Layout{"FusedIoLanes", false, PipelineKind::kFused, 64},
                                           Layout{"ShardedIoLanes", true, PipelineKind::kFused,
                                                  64}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(MemoryTypesRank0, OneElementConverts) {
  ArrayMetadata m;
  m.data_type = DataType(DataTypeId::kUInt8);
  m.fill_value = FillValue{{200}};
  m.codecs = Json::array({{{"name", "bytes"}}});
  auto arr = Array::Create(MemoryStore::Create(), "", m);
  ASSERT_TRUE(arr.ok()) << arr.status();
  std::vector<float> f(1);
  ASSERT_TRUE((*arr)->Read(Region{{}, {}}, std::span<float>(f)).ok());
  EXPECT_EQ(f[0], 200.0f);
  std::vector<int8_t> i(1);
  ReadOptions ro;
  ro.convert = Conversion::kAllowNarrowing;
  EXPECT_TRUE((*arr)->Read(Region{{}, {}}, std::span<int8_t>(i), ro).IsInvalidArgument());
}

}  // namespace
}  // namespace zarrpp
