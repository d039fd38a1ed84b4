// Zarr v2 arrays and groups (spec/zarr-v2.md): dtype strings, the .zarray <-> codec chain
// mapping, fill_value null, chunk keys, the numcodecs zlib codec, and every refusal.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numeric>

#include "codecs/zlib_codec.h"
#include "src/metadata/metadata_v2.h"
#include "zarrpp/array.h"
#include "zarrpp/json.h"
#include "zarrpp/memory_store.h"

namespace zarrpp {
namespace {

using internal::ArrayMetadataFromV2;
using internal::ArrayMetadataToV2;
using internal::ParseV2DataType;

Json Zarray(Json overrides) {
  Json z = {{"zarr_format", 2},      {"shape", {10, 6}}, {"chunks", {4, 3}}, {"dtype", "<f4"},
            {"compressor", nullptr}, {"fill_value", 0},  {"order", "C"},     {"filters", nullptr}};
  for (auto& [k, v] : overrides.items()) z[k] = v;
  return z;
}

std::string Text(const std::optional<Bytes>& b) {
  return b ? std::string(AsString(*b)) : "";
}

TEST(ZarrV2DataType, ParsesEveryNumericTypestrWithByteOrder) {
  struct Case {
    const char* typestr;
    DataTypeId id;
    bool big;
  } cases[] = {{"|b1", DataTypeId::kBool, false},      {"|i1", DataTypeId::kInt8, false},
               {"|u1", DataTypeId::kUInt8, false},     {">i2", DataTypeId::kInt16, true},
               {"<i8", DataTypeId::kInt64, false},     {">u4", DataTypeId::kUInt32, true},
               {"<f2", DataTypeId::kFloat16, false},   {">f8", DataTypeId::kFloat64, true},
               {"<c8", DataTypeId::kComplex64, false}, {">c16", DataTypeId::kComplex128, true}};
  for (const Case& c : cases) {
    auto dt = ParseV2DataType(c.typestr);
    ASSERT_TRUE(dt.ok()) << c.typestr << ": " << dt.status().ToString();
    EXPECT_EQ(dt->type.id(), c.id) << c.typestr;
    EXPECT_EQ(dt->big_endian, c.big) << c.typestr;
    auto back = internal::V2DataTypeString(dt->type, dt->big_endian);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, c.typestr);
  }
}

TEST(ZarrV2DataType, NonNumericTypesAreUnsupportedNamingTheDtype) {
  // (Fixed-length "|S<n>" / "<U<n>" are read: tests/fixed_strings_test.cc; length 0 is not.)
  for (const char* t : {"<M8[xs]", "bfloat8", "|S0", "<U0", "|O", "|V8", "<f16"}) {
    auto dt = ParseV2DataType(t);
    ASSERT_FALSE(dt.ok()) << t;
    EXPECT_EQ(dt.status().code(), Status::Code::kUnsupported) << t;
    EXPECT_NE(dt.status().message().find(t), std::string::npos) << dt.status().ToString();
  }
  auto structured = ParseV2DataType(Json::array({Json::array({"a", "<f4"})}));
  EXPECT_EQ(structured.status().code(), Status::Code::kUnsupported);
  EXPECT_EQ(ParseV2DataType("|i4").status().code(), Status::Code::kInvalidArgument);
}

TEST(ZarrV2Metadata, OrderFBigEndianAndBloscMapToTheEquivalentV3Chain) {
  Json z = Zarray(
      {{"dtype", ">i2"},
       {"order", "F"},
       {"compressor",
        {{"id", "blosc"}, {"cname", "zstd"}, {"clevel", 3}, {"shuffle", -1}, {"blocksize", 0}}}});
  auto m = ArrayMetadataFromV2(z, Json::object({{"k", "v"}}), ".zarray");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->zarr_format, 2);
  EXPECT_EQ(m->data_type.id(), DataTypeId::kInt16);
  EXPECT_EQ(m->chunk_key_encoding.kind, ChunkKeyEncoding::Kind::kV2);
  EXPECT_EQ(m->chunk_key_encoding.separator, '.');
  EXPECT_EQ(m->attributes, Json({{"k", "v"}}));
  ASSERT_EQ(m->codecs->size(), 3u);
  EXPECT_EQ(m->codecs[0]["name"], "transpose");
  EXPECT_EQ(m->codecs[0]["configuration"]["order"], Json({1, 0}));
  EXPECT_EQ(m->codecs[1]["configuration"]["endian"], "big");
  EXPECT_EQ(m->codecs[2]["name"], "blosc");
  // numcodecs' automatic shuffle: byte shuffle for multi-byte items, stride = item size.
  EXPECT_EQ(m->codecs[2]["configuration"]["shuffle"], "shuffle");
  EXPECT_EQ(m->codecs[2]["configuration"]["typesize"], 2);

  auto back = ArrayMetadataToV2(*m, ".zarray");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ((*back)["order"], "F");
  EXPECT_EQ((*back)["dtype"], ">i2");
  EXPECT_EQ(
      (*back)["compressor"],
      Json({{"id", "blosc"}, {"cname", "zstd"}, {"clevel", 3}, {"shuffle", 1}, {"blocksize", 0}}));
  EXPECT_TRUE((*back)["filters"].is_null());
  EXPECT_EQ((*back)["dimension_separator"], ".");
}

TEST(ZarrV2Metadata, CompressorsKeepTheirNumcodecsForm) {
  for (Json c : {Json{{"id", "zlib"}, {"level", 4}}, Json{{"id", "gzip"}, {"level", 9}},
                 Json{{"id", "zstd"}, {"level", 1}}}) {
    auto m = ArrayMetadataFromV2(Zarray({{"compressor", c}}), nullptr, ".zarray");
    ASSERT_TRUE(m.ok()) << c.dump() << ": " << m.status().ToString();
    if (c["id"] == "zlib") {
      EXPECT_EQ(m->codecs[1]["name"], "numcodecs.zlib");
    }
    auto back = ArrayMetadataToV2(*m, ".zarray");
    ASSERT_TRUE(back.ok());
    EXPECT_EQ((*back)["compressor"], c);
  }
}

TEST(ZarrV2Metadata, OtherCompressorsAndFiltersAreUnsupportedByName) {
  auto pcodec = ArrayMetadataFromV2(Zarray({{"compressor", {{"id", "pcodec"}, {"level", 8}}}}),
                                    nullptr, "a/.zarray");
  ASSERT_EQ(pcodec.status().code(), Status::Code::kUnsupported);
  EXPECT_NE(pcodec.status().message().find("\"pcodec\""), std::string::npos);
  EXPECT_NE(pcodec.status().message().find("a/.zarray"), std::string::npos);
  auto pickle = ArrayMetadataFromV2(Zarray({{"filters", Json::array({{{"id", "pickle"}}})}}),
                                    nullptr, ".zarray");
  ASSERT_EQ(pickle.status().code(), Status::Code::kUnsupported);
  EXPECT_NE(pickle.status().message().find("pickle"), std::string::npos);
  EXPECT_TRUE(ArrayMetadataFromV2(Zarray({{"filters", Json::array()}}), nullptr, ".zarray").ok());
  // Filters and lz4 are read (tests/numcodecs_test.cc has the details).
  EXPECT_TRUE(
      ArrayMetadataFromV2(Zarray({{"compressor", {{"id", "lz4"}, {"acceleration", 1}}},
                                  {"filters", Json::array({{{"id", "delta"}, {"dtype", "<f4"}}})}}),
                          nullptr, ".zarray")
          .ok());
}

TEST(ZarrV2Metadata, ChainsWithoutAV2FormAreRefusedNamingTheCodec) {
  auto m = ArrayMetadataFromV2(Zarray({}), nullptr, ".zarray");
  ASSERT_TRUE(m.ok());
  m->codecs = Json::array(
      {{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}, {{"name", "crc32c"}}});
  auto crc = ArrayMetadataToV2(*m, "x/.zarray");
  ASSERT_EQ(crc.status().code(), Status::Code::kUnsupported);
  EXPECT_NE(crc.status().message().find("crc32c"), std::string::npos);
  m->codecs = Json::array({{{"name", "transpose"}, {"configuration", {{"order", {0, 1}}}}},
                           {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}});
  auto c_order = ArrayMetadataToV2(*m, ".zarray");
  ASSERT_TRUE(c_order.ok());
  EXPECT_EQ((*c_order)["order"], "C");
}

TEST(ZarrV2Metadata, NullFillValueReadsAsZeroAndIsWrittenBackAsNull) {
  auto m =
      ArrayMetadataFromV2(Zarray({{"fill_value", nullptr}, {"dtype", "<f8"}}), nullptr, ".zarray");
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->fill_value_null);
  EXPECT_EQ(m->fill_value, FillValue::Zero(m->data_type));
  EXPECT_TRUE((*ArrayMetadataToV2(*m, ".zarray"))["fill_value"].is_null());

  auto nan = ArrayMetadataFromV2(Zarray({{"fill_value", "NaN"}}), nullptr, ".zarray");
  ASSERT_TRUE(nan.ok());
  uint32_t bits;
  std::memcpy(&bits, nan->fill_value.bytes.data(), 4);
  EXPECT_EQ(bits, 0x7fc00000u);
  auto complex = ArrayMetadataFromV2(
      Zarray({{"dtype", ">c16"}, {"fill_value", Json::array({"-Infinity", 2.0})}}), nullptr,
      ".zarray");
  ASSERT_TRUE(complex.ok());
  double parts[2];
  std::memcpy(parts, complex->fill_value.bytes.data(), 16);
  EXPECT_TRUE(std::isinf(parts[0]) && parts[0] < 0);
  EXPECT_EQ(parts[1], 2.0);
  EXPECT_EQ((*ArrayMetadataToV2(*complex, ".zarray"))["fill_value"],
            Json::array({"-Infinity", 2.0}));
}

TEST(ZarrV2Array, CreateWritesZarrayZattrsAndAncestorGroups) {
  auto store = MemoryStore::Create();
  ArrayMetadata m;
  m.zarr_format = 2;
  m.shape = {5, 4};
  m.chunk_shape = {2, 3};
  m.data_type = DataType(DataTypeId::kInt32);
  m.chunk_key_encoding = ChunkKeyEncoding{ChunkKeyEncoding::Kind::kV2, '/'};
  m.codecs = Json::array({{{"name", "bytes"}, {"configuration", {{"endian", "big"}}}},
                          {{"name", "numcodecs.zlib"}, {"configuration", {{"level", 5}}}}});
  m.attributes = {{"units", "m"}};
  auto a = Array::Create(store, "g/h/arr", m);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ((*a)->MetadataKey(), "g/h/arr/.zarray");
  const Json z = Json::parse(Text(*store->get("g/h/arr/.zarray")));
  EXPECT_EQ(z["dtype"], ">i4");
  EXPECT_EQ(z["compressor"], Json({{"id", "zlib"}, {"level", 5}}));
  EXPECT_EQ(z["dimension_separator"], "/");
  EXPECT_EQ(Json::parse(Text(*store->get("g/h/arr/.zattrs"))), Json({{"units", "m"}}));
  for (const char* g : {".zgroup", "g/.zgroup", "g/h/.zgroup"}) {
    EXPECT_EQ(Json::parse(Text(*store->get(g))), Json({{"zarr_format", 2}})) << g;
  }
  EXPECT_FALSE(*store->exists("g/h/arr/zarr.json"));

  std::vector<int32_t> data(20);
  std::iota(data.begin(), data.end(), -3);
  ASSERT_TRUE((*a)->Write(Region::All({5, 4}), std::span<const int32_t>(data)).ok());
  EXPECT_TRUE(*store->exists("g/h/arr/2/1"));  // v2 keys: no "c" prefix
  auto opened = Array::Open(store, "g/h/arr");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ((*opened)->metadata().zarr_format, 2);
  std::vector<int32_t> back(20);
  ASSERT_TRUE((*opened)->Read(Region::All({5, 4}), std::span<int32_t>(back)).ok());
  EXPECT_EQ(back, data);

  ASSERT_TRUE((*opened)->SetAttributes({{"units", "km"}}).ok());
  EXPECT_EQ(Json::parse(Text(*store->get("g/h/arr/.zattrs"))), Json({{"units", "km"}}));
  EXPECT_EQ(Json::parse(Text(*store->get("g/h/arr/.zarray"))), z);

  EXPECT_EQ(Array::Create(store, "g/h/arr", m).status().code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(Array::Create(store, "g/h/arr/sub", m).status().code(),
            Status::Code::kFailedPrecondition);
  EXPECT_EQ(Array::Open(store, "g/h").status().code(), Status::Code::kFailedPrecondition);
}

TEST(ZarrV2Array, ZeroDimensionalArrayUsesKeyZero) {
  auto store = MemoryStore::Create();
  ArrayMetadata m;
  m.zarr_format = 2;
  m.data_type = DataType(DataTypeId::kFloat64);
  m.fill_value_null = true;
  auto a = Array::Create(store, "", m);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(Json::parse(Text(*store->get(".zarray")))["fill_value"].is_null());
  double v = 0;
  ASSERT_TRUE((*a)->Read(Region{}, MutableByteView(reinterpret_cast<uint8_t*>(&v), 8)).ok());
  EXPECT_EQ(v, 0.0);  // null reads as zero
  v = 2.5;
  ASSERT_TRUE((*a)->Write(Region{}, ByteView(reinterpret_cast<uint8_t*>(&v), 8)).ok());
  EXPECT_TRUE(*store->exists("0"));
}

TEST(ZlibCodec, DecodesAZlibStreamAndRoundTrips) {
  // zlib.compress(b"zarr zarr zarr", 6) from CPython's zlib module.
  const Bytes stream = {120, 156, 171, 74, 44, 42, 82, 168, 130, 17, 0, 41, 66, 5, 126};
  auto codec = ZlibCodec::Make({6});
  ASSERT_TRUE(codec.ok());
  Bytes scratch;
  auto decoded = (*codec)->Decode(stream, std::nullopt, scratch);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(decoded->data()), decoded->size()),
            "zarr zarr zarr");
  Bytes encoded;
  ASSERT_TRUE((*codec)->Encode(*decoded, encoded).ok());
  EXPECT_EQ(encoded[0], 0x78);  // a zlib header, not gzip
  Bytes out(14);
  ASSERT_TRUE((*codec)->DecodeInto(encoded, out).ok());
  EXPECT_EQ(std::string(out.begin(), out.end()), "zarr zarr zarr");
  Bytes truncated(stream.begin(), stream.end() - 3);
  EXPECT_EQ((*codec)->DecodeInto(truncated, out).code(), Status::Code::kCorruption);
  // The level only matters for encoding: 12 encodes at 9, numcodecs' -1 at zlib's default 6.
  EXPECT_EQ((*ZlibCodec::Factory(Json{{"level", 12}}))->ToJson()["configuration"]["level"], 9);
  EXPECT_EQ((*ZlibCodec::Factory(Json{{"level", -1}}))->ToJson()["configuration"]["level"], 6);
  EXPECT_EQ(ZlibCodec::Factory(Json{{"level", "5"}}).status().code(),
            Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace zarrpp
