// The fixed-length string types (spec/strings.md "Fixed-length strings"): null_terminated_bytes
// (NumPy "|S<n>") and fixed_length_utf32 (NumPy "<U<k>" / ">U<k>"): v3 metadata and fill values
// as zarr-python 3 writes them, v2 dtypes and fill values as zarr-python 2 writes them, the
// string API and the byte API on one array, and errors.
#include "src/types/fixed_strings.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "src/metadata/metadata_v2.h"
#include "zarrpp/array.h"
#include "zarrpp/json.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/metadata.h"

namespace zarrpp {
namespace {

Json V3(Json data_type, Json fill) {
  return {
      {"zarr_format", 3},
      {"node_type", "array"},
      {"shape", {5}},
      {"data_type", std::move(data_type)},
      {"chunk_grid", {{"name", "regular"}, {"configuration", {{"chunk_shape", {2}}}}}},
      {"chunk_key_encoding", {{"name", "default"}}},
      {"fill_value", std::move(fill)},
      {"codecs", Json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}})}};
}

Json Zarray(std::string dtype, Json fill) {
  return {{"zarr_format", 2}, {"shape", {5}},          {"chunks", {2}},
          {"dtype", dtype},   {"compressor", nullptr}, {"fill_value", std::move(fill)},
          {"order", "C"},     {"filters", nullptr}};
}

TEST(FixedStrings, V3MetadataAsZarrPython3WritesIt) {
  const Json s5 = {{"name", "null_terminated_bytes"}, {"configuration", {{"length_bytes", 5}}}};
  auto m = ArrayMetadata::FromJson(V3(s5, "cQ=="));  // base64 of "q"
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->data_type, DataType(DataTypeId::kFixedBytes, 5));
  EXPECT_EQ(m->data_type.size(), 5u);
  EXPECT_EQ(m->fill_value.bytes, (Bytes{'q', 0, 0, 0, 0}));
  const Json back = m->ToJson();
  EXPECT_EQ(back["data_type"], s5);
  EXPECT_EQ(back["fill_value"], "cQ==");

  const Json u3 = {{"name", "fixed_length_utf32"}, {"configuration", {{"length_bytes", 12}}}};
  auto u = ArrayMetadata::FromJson(V3(u3, "h\u00e9"));
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->data_type, DataType(DataTypeId::kFixedUtf32, 12));
  EXPECT_EQ(u->data_type.component_size(), 4u);
  EXPECT_EQ(u->fill_value.bytes, (Bytes{'h', 0, 0, 0, 0xe9, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(u->ToJson()["data_type"], u3);
  EXPECT_EQ(u->ToJson()["fill_value"], "h\u00e9");

  // Errors name the problem.
  const struct {
    Json data_type;
    Json fill;
    Status::Code code;
  } bad[] = {
      {"null_terminated_bytes", "", Status::Code::kInvalidArgument},  // no configuration
      {{{"name", "fixed_length_utf32"}, {"configuration", {{"length_bytes", 6}}}},
       "",
       Status::Code::kInvalidArgument},
      {{{"name", "null_terminated_bytes"}, {"configuration", {{"length_bytes", 0}}}},
       "",
       Status::Code::kUnsupported},
      {{{"name", "null_terminated_bytes"}, {"configuration", {{"size", 4}}}},
       "",
       Status::Code::kInvalidArgument},
      {s5, "not base64!", Status::Code::kInvalidArgument},
      {s5, "YWJjZGVmZw==", Status::Code::kInvalidArgument},  // 7 bytes into 5
      {u3, "abcd", Status::Code::kInvalidArgument},          // 4 code points into 3
      {u3, 5, Status::Code::kInvalidArgument},
  };
  for (const auto& b : bad) {
    auto r = ArrayMetadata::FromJson(V3(b.data_type, b.fill));
    EXPECT_EQ(r.status().code(), b.code)
        << b.data_type.dump() << " " << b.fill.dump() << ": " << r.status();
  }
}

TEST(FixedStrings, V2DtypesAndFillValuesAsZarrPython2WritesThem) {
  struct Case {
    const char* dtype;
    Json fill;
    DataType type;
    bool big;
    Bytes fill_bytes;
  } cases[] = {
      {"|S5", "MA==", DataType(DataTypeId::kFixedBytes, 5), false, {'0', 0, 0, 0, 0}},
      {"|S3", "cQ==", DataType(DataTypeId::kFixedBytes, 3), false, {'q', 0, 0}},
      {"|S2", nullptr, DataType(DataTypeId::kFixedBytes, 2), false, {0, 0}},
      {"<U2", "zz", DataType(DataTypeId::kFixedUtf32, 8), false, {'z', 0, 0, 0, 'z', 0, 0, 0}},
      {">U1", "", DataType(DataTypeId::kFixedUtf32, 4), true, {0, 0, 0, 0}},
      {"<U1", 0, DataType(DataTypeId::kFixedUtf32, 4), false, {0, 0, 0, 0}},
  };
  for (const Case& c : cases) {
    auto m = internal::ArrayMetadataFromV2(Zarray(c.dtype, c.fill), nullptr, ".zarray");
    ASSERT_TRUE(m.ok()) << c.dtype << ": " << m.status();
    EXPECT_EQ(m->data_type, c.type) << c.dtype;
    EXPECT_EQ(m->fill_value.bytes, c.fill_bytes) << c.dtype;
    auto back = internal::ArrayMetadataToV2(*m, ".zarray");
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ((*back)["dtype"], c.dtype);
    if (!c.fill.is_number()) {
      EXPECT_EQ((*back)["fill_value"], c.fill) << c.dtype;
    }
  }
  for (const char* dtype : {"|S0", "<U0", "|V8"}) {
    auto r = internal::ArrayMetadataFromV2(Zarray(dtype, nullptr), nullptr, ".zarray");
    EXPECT_EQ(r.status().code(), Status::Code::kUnsupported) << dtype << ": " << r.status();
    EXPECT_NE(r.status().message().find(dtype), std::string::npos) << r.status();
  }
}

TEST(FixedStrings, StringApiPadsAndStripsAndByteApiSeesElements) {
  for (bool v2 : {false, true}) {
    auto store = MemoryStore::Create();
    ArrayMetadata m;
    m.zarr_format = v2 ? 2 : 3;
    m.shape = {5};
    m.chunk_shape = {2};
    m.data_type = DataType(DataTypeId::kFixedUtf32, 12);
    m.fill_value = *FillValue::FromJson("-", m.data_type);
    m.codecs = Json::array({{{"name", "bytes"}, {"configuration", {{"endian", "big"}}}}});
    auto arr = Array::Create(store, "u", m);
    ASSERT_TRUE(arr.ok()) << arr.status();
    const std::vector<std::string> in = {"h\u00e9", "\u65e5\u672c\u8a9e"};
    ASSERT_TRUE((*arr)->WriteStrings(Region{{1}, {2}}, std::span<const std::string>(in)).ok());
    auto all = (*arr)->ReadStrings(Region::All({5}));
    ASSERT_TRUE(all.ok()) << all.status();
    EXPECT_EQ(*all, (std::vector<std::string>{"-", "h\u00e9", "\u65e5\u672c\u8a9e", "-", "-"}));
    // Big-endian UTF-32 code units in the stored chunk.
    auto chunk = store->get(v2 ? "u/0" : "u/c/0");
    ASSERT_TRUE(chunk.ok() && chunk->has_value());
    EXPECT_EQ(Bytes((*chunk)->begin() + 12, (*chunk)->begin() + 20),
              (Bytes{0, 0, 0, 'h', 0, 0, 0, 0xe9}));
    // The byte API reads host-order elements.
    Bytes raw(12);
    ASSERT_TRUE((*arr)->Read(Region{{1}, {1}}, MutableByteView(raw)).ok());
    EXPECT_EQ(raw, (Bytes{'h', 0, 0, 0, 0xe9, 0, 0, 0, 0, 0, 0, 0}));
    if (v2) {
      auto z = store->get("u/.zarray");
      ASSERT_TRUE(z.ok() && z->has_value());
      const Json j = Json::parse(AsString(**z));
      EXPECT_EQ(j["dtype"], ">U3");
      EXPECT_EQ(j["fill_value"], "-");
    }
    // Too long, or not UTF-8: InvalidArgument naming the value, nothing written.
    const std::vector<std::string> bad = {"ok", "four"};
    const Status st = (*arr)->WriteStrings(Region{{3}, {2}}, std::span<const std::string>(bad));
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << st;
    EXPECT_NE(st.message().find("value 1"), std::string::npos) << st;
    const std::vector<std::string> not_utf8 = {"\xff"};
    EXPECT_EQ((*arr)->WriteStrings(Region{{0}, {1}}, std::span<const std::string>(not_utf8)).code(),
              Status::Code::kInvalidArgument);
    EXPECT_EQ((*arr)->ReadStrings(Region::All({5}))->at(3), "-");
  }

  // Bytes: NULs inside are kept, trailing ones are padding.
  auto store = MemoryStore::Create();
  ArrayMetadata m;
  m.shape = {3};
  m.chunk_shape = {3};
  m.data_type = DataType(DataTypeId::kFixedBytes, 4);
  m.fill_value = FillValue::Zero(m.data_type);
  m.codecs = Json::array({{{"name", "bytes"}}});
  auto arr = Array::Create(store, "s", m);
  ASSERT_TRUE(arr.ok()) << arr.status();
  const std::vector<std::string> in = {std::string("a\0b", 3), "abcd", ""};
  ASSERT_TRUE((*arr)->WriteStrings(Region::All({3}), std::span<const std::string>(in)).ok());
  auto back = (*arr)->ReadStrings(Region::All({3}));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, in);
  auto chunk = store->get("s/c/0");
  ASSERT_TRUE(chunk.ok() && chunk->has_value());
  EXPECT_EQ(**chunk, (Bytes{'a', 0, 'b', 0, 'a', 'b', 'c', 'd', 0, 0, 0, 0}));
  const std::vector<std::string> too_long = {"abcde", "", ""};
  EXPECT_EQ((*arr)->WriteStrings(Region::All({3}), std::span<const std::string>(too_long)).code(),
            Status::Code::kInvalidArgument);
}

TEST(FixedStrings, StoredCodeUnitsThatAreNotCodePointsAreCorruption) {
  const DataType t(DataTypeId::kFixedUtf32, 8);
  const uint8_t surrogate[8] = {0x00, 0xd8, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(internal::FixedElementToText(t, surrogate).status().code(), Status::Code::kCorruption);
  const uint8_t big[8] = {0, 0, 0x11, 0, 0, 0, 0, 0};
  EXPECT_EQ(internal::FixedElementToText(t, big).status().code(), Status::Code::kCorruption);
  const uint8_t ok[8] = {0x00, 0xf6, 0x01, 0, 0, 0, 0, 0};  // U+1F600
  EXPECT_EQ(*internal::FixedElementToText(t, ok), "\U0001f600");
}

}  // namespace
}  // namespace zarrpp
