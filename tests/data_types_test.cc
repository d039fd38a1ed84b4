// The extension data types (numpy.datetime64/timedelta64, bfloat16, float8/6/4, sub-byte
// integers, complex_<float>) and the packbits codec: names, fill values in every JSON form,
// metadata and v2 dtype round trips, bytes and packbits encodings, arrays and digests.
#include <gtest/gtest.h>

#include <complex>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "codecs/codec.h"
#include "codecs/codec_chain.h"
#include "codecs/packbits_codec.h"
#include "src/metadata/float_format.h"
#include "src/metadata/metadata_v2.h"
#include "support/codec_roundtrip.h"
#include "zarrpp/array.h"
#include "zarrpp/digest.h"
#include "zarrpp/json.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/metadata.h"

namespace zarrpp {
namespace {

using test::ChainRoundTrips;
using test::MakeSpec;

DataType T(std::string_view name) {
  Result<DataType> t = DataType::FromName(name);
  EXPECT_TRUE(t.ok()) << name << ": " << t.status();
  return t.ok() ? *t : DataType();
}

const std::vector<std::string> kNewTypes = {"bfloat16",
                                            "float8_e3m4",
                                            "float8_e4m3",
                                            "float8_e4m3b11fnuz",
                                            "float8_e4m3fnuz",
                                            "float8_e5m2",
                                            "float8_e5m2fnuz",
                                            "float8_e8m0fnu",
                                            "float4_e2m1fn",
                                            "float6_e2m3fn",
                                            "float6_e3m2fn",
                                            "int2",
                                            "int4",
                                            "uint2",
                                            "uint4",
                                            "complex_bfloat16",
                                            "complex_float16",
                                            "complex_float32",
                                            "complex_float64",
                                            "complex_float8_e3m4",
                                            "complex_float8_e4m3",
                                            "complex_float8_e4m3b11fnuz",
                                            "complex_float8_e4m3fnuz",
                                            "complex_float8_e5m2",
                                            "complex_float8_e5m2fnuz",
                                            "complex_float8_e8m0fnu"};

// The fill value bytes of `json` for `type`, as an integer (little-endian).
uint64_t FillBits(const std::string& json, DataType type) {
  Result<FillValue> fv = FillValue::FromJson(Json::parse(json), type);
  EXPECT_TRUE(fv.ok()) << json << " " << type.name() << ": " << fv.status();
  if (!fv.ok()) return ~uint64_t{0};
  uint64_t v = 0;
  for (size_t i = 0; i < fv->bytes.size() && i < 8; ++i) v |= uint64_t{fv->bytes[i]} << (8 * i);
  return v;
}

Status FillError(const std::string& json, DataType type) {
  return FillValue::FromJson(Json::parse(json), type).status();
}

Json FillJson(uint64_t bits, DataType type) {
  FillValue fv{Bytes(type.size())};
  for (size_t i = 0; i < fv.bytes.size(); ++i) fv.bytes[i] = static_cast<uint8_t>(bits >> (8 * i));
  return fv.ToJson(type);
}

TEST(DataTypes, NamesRoundTrip) {
  for (const std::string& n : kNewTypes) {
    const DataType t = T(n);
    EXPECT_EQ(t.name(), n);
  }
  EXPECT_EQ(T("bfloat16").size(), 2u);
  EXPECT_EQ(T("int4").size(), 1u);
  EXPECT_EQ(T("int4").bits(), 4u);
  EXPECT_EQ(T("float6_e3m2fn").bits(), 6u);
  EXPECT_EQ(T("complex_float16").size(), 4u);
  EXPECT_EQ(T("complex_float16").component_size(), 2u);
  EXPECT_EQ(T("complex_float8_e4m3").size(), 2u);
  EXPECT_EQ(T("complex_float8_e4m3").component_size(), 1u);
  EXPECT_EQ(T("numpy.datetime64").size(), 8u);
  EXPECT_EQ(T("complex_float32").typed_id(), DataTypeId::kComplex64);
  EXPECT_EQ(DataType::FromName("float8_e4m3fn").status().code(), Status::Code::kUnsupported);
}

TEST(DataTypes, SmallFloatKnownAnswers) {
  EXPECT_EQ(FillBits("1.0", T("bfloat16")), 0x3f80u);
  EXPECT_EQ(FillBits("0.1", T("bfloat16")), 0x3dcdu);  // 0x3dcccccd rounded to nearest
  EXPECT_EQ(FillBits("\"NaN\"", T("bfloat16")), 0x7fc0u);
  EXPECT_EQ(FillBits("\"-Infinity\"", T("bfloat16")), 0xff80u);
  EXPECT_EQ(FillBits("\"0x7fc1\"", T("bfloat16")), 0x7fc1u);
  EXPECT_EQ(FillBits("1.0", T("float8_e4m3")), 0x38u);
  EXPECT_EQ(FillBits("240", T("float8_e4m3")), 0x77u);
  EXPECT_EQ(FillBits("0.001953125", T("float8_e4m3")), 0x01u);  // smallest subnormal
  EXPECT_EQ(FillBits("\"NaN\"", T("float8_e4m3")), 0x7cu);
  EXPECT_EQ(FillBits("\"Infinity\"", T("float8_e4m3")), 0x78u);
  EXPECT_EQ(FillBits("1.0", T("float8_e3m4")), 0x30u);
  EXPECT_EQ(FillBits("\"NaN\"", T("float8_e3m4")), 0x78u);
  EXPECT_EQ(FillBits("1.0", T("float8_e5m2")), 0x3cu);
  EXPECT_EQ(FillBits("57344", T("float8_e5m2")), 0x7bu);
  EXPECT_EQ(FillBits("\"NaN\"", T("float8_e5m2")), 0x7eu);
  EXPECT_EQ(FillBits("1.0", T("float8_e4m3fnuz")), 0x40u);
  EXPECT_EQ(FillBits("-0.0", T("float8_e4m3fnuz")), 0x00u);  // no negative zero
  EXPECT_EQ(FillBits("240", T("float8_e4m3fnuz")), 0x7fu);
  EXPECT_EQ(FillBits("\"NaN\"", T("float8_e4m3fnuz")), 0x80u);
  EXPECT_EQ(FillBits("1.0", T("float8_e4m3b11fnuz")), 0x58u);
  EXPECT_EQ(FillBits("1.0", T("float8_e5m2fnuz")), 0x40u);
  EXPECT_EQ(FillBits("1.0", T("float8_e8m0fnu")), 0x7fu);
  EXPECT_EQ(FillBits("0.5", T("float8_e8m0fnu")), 0x7eu);
  EXPECT_EQ(FillBits("\"NaN\"", T("float8_e8m0fnu")), 0xffu);
  EXPECT_EQ(FillBits("6", T("float4_e2m1fn")), 0x7u);
  EXPECT_EQ(FillBits("-0.5", T("float4_e2m1fn")), 0x9u);
  EXPECT_EQ(FillBits("28", T("float6_e3m2fn")), 0x1fu);
  EXPECT_EQ(FillBits("7.5", T("float6_e2m3fn")), 0x1fu);

  for (const char* bad : {"\"Infinity\"", "250.0", "1e10"}) {
    EXPECT_EQ(FillError(bad, T("float8_e4m3fnuz")).code(), Status::Code::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(FillError("\"NaN\"", T("float4_e2m1fn")).ok());
  EXPECT_FALSE(FillError("7", T("float4_e2m1fn")).ok());    // rounds past 6
  EXPECT_EQ(FillBits("241", T("float8_e4m3fnuz")), 0x7fu);  // rounds down to 240
  EXPECT_FALSE(FillError("3", T("float8_e8m0fnu")).ok());
  EXPECT_FALSE(FillError("0", T("float8_e8m0fnu")).ok());
  EXPECT_FALSE(FillError("\"0x1ff\"", T("float8_e4m3")).ok());
  EXPECT_FALSE(FillError("\"0x10\"", T("float4_e2m1fn")).ok());
  EXPECT_FALSE(FillError("\"nan\"", T("bfloat16")).ok());
  EXPECT_FALSE(FillError("true", T("bfloat16")).ok());
  EXPECT_EQ(FillError("1e39", T("bfloat16")).code(), Status::Code::kInvalidArgument);
}

TEST(DataTypes, SmallFloatEveryPatternRoundTripsThroughJson) {
  for (const char* name : {"bfloat16", "float8_e3m4", "float8_e4m3", "float8_e4m3b11fnuz",
                           "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz", "float8_e8m0fnu",
                           "float4_e2m1fn", "float6_e2m3fn", "float6_e3m2fn"}) {
    const DataType t = T(name);
    const uint32_t patterns = 1u << t.bits();
    for (uint32_t p = 0; p < patterns; ++p) {
      const Json j = FillJson(p, t);
      ASSERT_EQ(FillBits(j.dump(), t), p) << name << " pattern " << p << " wrote " << j.dump();
    }
  }
  EXPECT_EQ(FillJson(0x3dcd, T("bfloat16")), Json(0.1));
  EXPECT_EQ(FillJson(0x7fc0, T("bfloat16")), Json("NaN"));
  EXPECT_EQ(FillJson(0x7fc1, T("bfloat16")), Json("0x7fc1"));
  EXPECT_EQ(FillJson(0xff80, T("bfloat16")), Json("-Infinity"));
  EXPECT_EQ(FillJson(0x80, T("float8_e5m2fnuz")), Json("NaN"));
  EXPECT_EQ(FillJson(0x09, T("float4_e2m1fn")), Json(-0.5));
}

TEST(DataTypes, SubByteIntegerFillValues) {
  EXPECT_EQ(FillBits("-8", T("int4")), 0xf8u);  // sign-extended in its byte
  EXPECT_EQ(FillBits("7", T("int4")), 7u);
  EXPECT_EQ(FillBits("-2", T("int2")), 0xfeu);
  EXPECT_EQ(FillBits("15", T("uint4")), 15u);
  EXPECT_EQ(FillBits("3", T("uint2")), 3u);
  for (const auto& [json, name] :
       std::vector<std::pair<std::string, std::string>>{{"8", "int4"},
                                                        {"-9", "int4"},
                                                        {"2", "int2"},
                                                        {"16", "uint4"},
                                                        {"-1", "uint2"},
                                                        {"1.5", "int4"}}) {
    EXPECT_EQ(FillError(json, T(name)).code(), Status::Code::kInvalidArgument) << json << name;
  }
  EXPECT_EQ(FillJson(0xf8, T("int4")), Json(-8));
  EXPECT_EQ(FillJson(0x0f, T("int4")), Json(-1));  // the upper bits are ignored
  EXPECT_EQ(FillJson(0xf3, T("uint4")), Json(3));
}

TEST(DataTypes, V2IntegerFillValueAsDecimalString) {
  // GDAL writes uint64 fill values above 2^63 as strings in .zarray; v3 stays strict.
  Json z = {{"zarr_format", 2},
            {"shape", {10}},
            {"chunks", {4}},
            {"dtype", "<u8"},
            {"compressor", nullptr},
            {"order", "C"},
            {"fill_value", "18446744073709551615"},
            {"filters", nullptr}};
  auto m = internal::ArrayMetadataFromV2(z, Json::object(), ".zarray");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->fill_value.bytes, Bytes(8, 0xff));
  auto back = internal::ArrayMetadataToV2(*m, ".zarray");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ((*back)["fill_value"], UINT64_MAX);  // strict on write: a JSON integer
  z["dtype"] = "<i4";
  z["fill_value"] = "-5";
  m = internal::ArrayMetadataFromV2(z, Json::object(), ".zarray");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->fill_value.bytes, (Bytes{0xfb, 0xff, 0xff, 0xff}));
  z["dtype"] = "<u8";
  for (const char* bad : {"18446744073709551616", "12a", ""}) {
    z["fill_value"] = bad;
    EXPECT_FALSE(internal::ArrayMetadataFromV2(z, Json::object(), ".zarray").ok()) << bad;
  }
  EXPECT_FALSE(FillValue::FromJson(Json("5"), DataType(DataTypeId::kUInt64)).ok());
}

TEST(DataTypes, ComplexVariantFillValues) {
  EXPECT_EQ(FillBits("[1.0, -2.0]", T("complex_bfloat16")), 0xc0003f80u);
  EXPECT_EQ(FillBits("[1.0, \"NaN\"]", T("complex_float16")), 0x7e003c00u);
  EXPECT_EQ(FillBits("[\"NaN\", 1.0]", T("complex_float8_e4m3")), 0x387cu);
  EXPECT_EQ(FillBits("[\"0x7c01\", 0]", T("complex_float16")), 0x00007c01u);
  const FillValue c32 = *FillValue::FromJson(Json::parse("[0.5, -1.5]"), T("complex_float32"));
  EXPECT_EQ(
      c32.bytes,
      FillValue::FromJson(Json::parse("[0.5, -1.5]"), DataType(DataTypeId::kComplex64))->bytes);
  EXPECT_EQ(c32.ToJson(T("complex_float32")), Json::parse("[0.5, -1.5]"));
  EXPECT_FALSE(FillError("1.0", T("complex_bfloat16")).ok());
  EXPECT_EQ(FillJson(0x7c38, T("complex_float8_e4m3")), Json::parse("[1.0, \"NaN\"]"));
}

std::string TimeArrayJson(const std::string& data_type, const std::string& fill) {
  return R"({"zarr_format":3,"node_type":"array","shape":[4],"data_type":)" + data_type +
         R"(,"chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},
    "chunk_key_encoding":{"name":"default"},"fill_value":)" +
         fill + R"(,"codecs":[{"name":"bytes","configuration":{"endian":"little"}}]})";
}

TEST(DataTypes, TimeTypesParseAndWriteConfiguration) {
  auto m = ArrayMetadata::Parse(
      TimeArrayJson(R"({"name":"numpy.datetime64","configuration":{"unit":"ns","scale_factor":1}})",
                    "\"NaT\""),
      "zarr.json");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->data_type.id(), DataTypeId::kDateTime64);
  EXPECT_EQ(m->data_type.time_unit(), TimeUnit::kNanosecond);
  EXPECT_EQ(m->data_type.scale_factor(), 1u);
  int64_t fill = 0;
  std::memcpy(&fill, m->fill_value.bytes.data(), 8);
  EXPECT_EQ(fill, INT64_MIN);
  const Json out = m->ToJson();
  EXPECT_EQ(
      out["data_type"],
      Json::parse(R"({"name":"numpy.datetime64","configuration":{"unit":"ns","scale_factor":1}})"));
  EXPECT_EQ(out["fill_value"], "NaT");

  auto td = ArrayMetadata::Parse(
      TimeArrayJson(
          R"({"name":"numpy.timedelta64","configuration":{"unit":"\u03bcs","scale_factor":10}})",
          "-9223372036854775808"),
      "zarr.json");
  ASSERT_TRUE(td.ok()) << td.status();
  EXPECT_EQ(td->data_type.time_unit(), TimeUnit::kMicrosecond);
  EXPECT_EQ(td->data_type.scale_factor(), 10u);
  EXPECT_EQ(td->ToJson()["data_type"]["configuration"]["unit"], "us");
  EXPECT_EQ(td->ToJson()["fill_value"], "NaT");  // strict on write

  auto count = ArrayMetadata::Parse(
      TimeArrayJson(R"({"name":"numpy.datetime64","configuration":{"unit":"D","scale_factor":1}})",
                    "19000"),
      "zarr.json");
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(count->ToJson()["fill_value"], 19000);

  for (const char* bad :
       {R"("numpy.datetime64")", R"({"name":"numpy.datetime64","configuration":{"unit":"ns"}})",
        R"({"name":"numpy.datetime64","configuration":{"unit":"ns","scale_factor":0}})",
        R"({"name":"numpy.datetime64","configuration":{"unit":"ns","scale_factor":2147483648}})",
        R"({"name":"numpy.datetime64","configuration":{"unit":"sec","scale_factor":1}})",
        R"({"name":"numpy.timedelta64","configuration":{"unit":"s","scale_factor":1,"x":1}})"}) {
    auto r = ArrayMetadata::Parse(TimeArrayJson(bad, "0"), "zarr.json");
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << bad;
  }
  for (const char* bad : {"1.5", "\"nat\"", "[1]"}) {
    auto r = ArrayMetadata::Parse(
        TimeArrayJson(
            R"({"name":"numpy.datetime64","configuration":{"unit":"s","scale_factor":1}})", bad),
        "zarr.json");
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << bad;
  }
}

TEST(DataTypes, V2TimeAndBFloat16Dtypes) {
  struct Case {
    const char* dtype;
    DataTypeId id;
    TimeUnit unit;
    uint32_t scale;
    bool big;
  };
  for (const Case& c :
       std::vector<Case>{{"<M8[ns]", DataTypeId::kDateTime64, TimeUnit::kNanosecond, 1, false},
                         {">m8[s]", DataTypeId::kTimeDelta64, TimeUnit::kSecond, 1, true},
                         {"<M8[10s]", DataTypeId::kDateTime64, TimeUnit::kSecond, 10, false},
                         {"<m8[us]", DataTypeId::kTimeDelta64, TimeUnit::kMicrosecond, 1, false},
                         {"<M8[D]", DataTypeId::kDateTime64, TimeUnit::kDay, 1, false},
                         {"<M8", DataTypeId::kDateTime64, TimeUnit::kGeneric, 1, false}}) {
    auto t = internal::ParseV2DataType(Json(c.dtype));
    ASSERT_TRUE(t.ok()) << c.dtype << ": " << t.status();
    EXPECT_EQ(t->type.id(), c.id) << c.dtype;
    EXPECT_EQ(t->type.time_unit(), c.unit) << c.dtype;
    EXPECT_EQ(t->type.scale_factor(), c.scale) << c.dtype;
    EXPECT_EQ(t->big_endian, c.big) << c.dtype;
    auto back = internal::V2DataTypeString(t->type, t->big_endian);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, c.dtype);
  }
  auto bf = internal::ParseV2DataType(Json("bfloat16"));
  ASSERT_TRUE(bf.ok()) << bf.status();
  EXPECT_EQ(bf->type.id(), DataTypeId::kBFloat16);
  EXPECT_EQ(*internal::V2DataTypeString(bf->type, false), "bfloat16");
  for (const char* bad :
       {"<M8[xs]", "<M8[0s]", "<M4[s]", "|M8[s]", "<M8[s", "float8_e4m3fn", "<V2", "int4", "<f3"}) {
    EXPECT_EQ(internal::ParseV2DataType(Json(bad)).status().code(), Status::Code::kUnsupported)
        << bad;
  }
  EXPECT_EQ(internal::V2DataTypeString(T("float8_e4m3"), false).status().code(),
            Status::Code::kUnsupported);
}

TEST(DataTypes, V2MetadataOfTimeAndBFloat16RoundTrips) {
  const Json z = {{"zarr_format", 2},      {"shape", {10}},
                  {"chunks", {4}},         {"dtype", ">m8[15m]"},
                  {"compressor", nullptr}, {"fill_value", -9223372036854775807LL - 1},
                  {"order", "C"},          {"filters", nullptr}};
  auto m = internal::ArrayMetadataFromV2(z, Json::object(), ".zarray");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->data_type, DataType::Time(DataTypeId::kTimeDelta64, TimeUnit::kMinute, 15));
  EXPECT_EQ(m->codecs[0]["configuration"]["endian"], "big");
  EXPECT_EQ(m->fill_value.ToJson(m->data_type), "NaT");
  auto back = internal::ArrayMetadataToV2(*m, ".zarray");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ((*back)["dtype"], ">m8[15m]");
  EXPECT_EQ((*back)["fill_value"], INT64_MIN);
  // zarr-python writes "NaT"-less integer fills; a v2 "NaT" string is read too.
  Json nat = z;
  nat["fill_value"] = "NaT";
  EXPECT_TRUE(internal::ArrayMetadataFromV2(nat, Json::object(), ".zarray").ok());

  Json bf = z;
  bf["dtype"] = "bfloat16";
  bf["fill_value"] = "NaN";
  auto b = internal::ArrayMetadataFromV2(bf, Json::object(), ".zarray");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->data_type.id(), DataTypeId::kBFloat16);
  EXPECT_EQ(b->fill_value.bytes, (Bytes{0xc0, 0x7f}));
  auto bback = internal::ArrayMetadataToV2(*b, ".zarray");
  ASSERT_TRUE(bback.ok()) << bback.status();
  EXPECT_EQ((*bback)["dtype"], "bfloat16");
  EXPECT_EQ((*bback)["fill_value"], "NaN");
}

TEST(DataTypes, BytesCodecRoundTripsBothEndians) {
  for (const std::string& n : kNewTypes) {
    const DataType t = T(n);
    const ChunkSpec spec = MakeSpec(t, {3, 5});
    Bytes chunk = test::TestChunk(t, 15);
    internal::CanonicalizeSubByte(chunk.data(), 15, t);
    for (const char* endian : {"little", "big"}) {
      const Json codecs = {{{"name", "bytes"}, {"configuration", {{"endian", endian}}}}};
      EXPECT_TRUE(ChainRoundTrips(codecs, spec, chunk)) << n << " " << endian;
      const Json transposed = {{{"name", "transpose"}, {"configuration", {{"order", {1, 0}}}}},
                               {{"name", "bytes"}, {"configuration", {{"endian", endian}}}}};
      EXPECT_TRUE(ChainRoundTrips(transposed, spec, chunk)) << n << " " << endian;
    }
  }
}

TEST(DataTypes, BytesCodecBigEndianSwapsComponents) {
  auto chain =
      CodecChain::FromJson(Json::parse(R"([{"name":"bytes","configuration":{"endian":"big"}}])"));
  ASSERT_TRUE(chain.ok());
  const ChunkSpec spec = MakeSpec(T("complex_bfloat16"), {1});
  const Bytes in = {0x80, 0x3f, 0x00, 0xc0};  // [1, -2]
  Bytes out;
  ASSERT_TRUE(chain->array_to_bytes()->Encode(spec, in, out).ok());
  EXPECT_EQ(out, (Bytes{0x3f, 0x80, 0xc0, 0x00}));
  const ChunkSpec dt = MakeSpec(T("numpy.datetime64"), {1});
  const Bytes one = {1, 0, 0, 0, 0, 0, 0, 0};
  ASSERT_TRUE(chain->array_to_bytes()->Encode(dt, one, out).ok());
  EXPECT_EQ(out, (Bytes{0, 0, 0, 0, 0, 0, 0, 1}));
}

TEST(DataTypes, BytesCodecIgnoresUpperBitsOfSubByteTypes) {
  auto chain = CodecChain::FromJson(Json::parse(R"([{"name":"bytes"}])"));
  ASSERT_TRUE(chain.ok());
  const Bytes stored = {0x0f, 0x37, 0xf8};
  Bytes out(3);
  ASSERT_TRUE(chain->array_to_bytes()->Decode(MakeSpec(T("int4"), {3}), stored, out).ok());
  EXPECT_EQ(out, (Bytes{0xff, 0x07, 0xf8}));
  ASSERT_TRUE(chain->array_to_bytes()->Decode(MakeSpec(T("uint2"), {3}), stored, out).ok());
  EXPECT_EQ(out, (Bytes{0x03, 0x03, 0x00}));
  ASSERT_TRUE(chain->array_to_bytes()->Decode(MakeSpec(T("float6_e2m3fn"), {3}), stored, out).ok());
  EXPECT_EQ(out, (Bytes{0x0f, 0x37, 0x38}));
}

// Encodes `in` with packbits(`config`) for `type`, checks the bytes, decodes and checks `back`.
void PackBitsCase(const Json& config, DataType type, std::vector<uint64_t> shape, const Bytes& in,
                  const Bytes& encoded, const Bytes& back) {
  auto codec = PackBitsCodec::Factory(config);
  ASSERT_TRUE(codec.ok()) << codec.status();
  const auto& ab = static_cast<const ArrayToBytesCodec&>(**codec);
  const ChunkSpec spec = MakeSpec(type, std::move(shape));
  ASSERT_TRUE(ab.ValidateSpec(spec).ok()) << ab.ValidateSpec(spec);
  Bytes out;
  ASSERT_TRUE(ab.Encode(spec, in, out).ok());
  EXPECT_EQ(out, encoded) << config.dump() << " " << type.name();
  EXPECT_EQ(ab.EncodedSize(spec), encoded.size());
  Bytes dec(in.size());
  ASSERT_TRUE(ab.Decode(spec, out, dec).ok());
  EXPECT_EQ(dec, back) << config.dump() << " " << type.name();
}

TEST(PackBits, KnownAnswers) {
  const Json none = Json::object();
  // uint4 [1, 2, 3]: element i is sequence bits [4i, 4i+4), least significant bit first.
  PackBitsCase(none, T("uint4"), {3}, {1, 2, 3}, {0x21, 0x03}, {1, 2, 3});
  PackBitsCase({{"padding_encoding", "first_byte"}}, T("uint4"), {3}, {1, 2, 3}, {0x04, 0x21, 0x03},
               {1, 2, 3});
  PackBitsCase({{"padding_encoding", "last_byte"}}, T("uint4"), {3}, {1, 2, 3}, {0x21, 0x03, 0x04},
               {1, 2, 3});
  // bool: one bit each; 9 elements leave 7 padding bits.
  PackBitsCase({{"padding_encoding", "first_byte"}}, DataType(DataTypeId::kBool), {9},
               {1, 0, 1, 1, 0, 0, 0, 0, 1}, {0x07, 0x0d, 0x01}, {1, 0, 1, 1, 0, 0, 0, 0, 1});
  // int2 [-2, -1, 0, 1] = 10 11 00 01 -> 0b01'00'11'10; decoding sign-extends into the byte.
  PackBitsCase(none, T("int2"), {4}, {0xfe, 0xff, 0x00, 0x01}, {0x4e}, {0xfe, 0xff, 0x00, 0x01});
  PackBitsCase(none, T("int4"), {2}, {0xf8, 0x07}, {0x78}, {0xf8, 0x07});
  // float4_e2m1fn [6, -0.5].
  PackBitsCase(none, T("float4_e2m1fn"), {2}, {0x07, 0x09}, {0x97}, {0x07, 0x09});
  // float6_e3m2fn: 6 bits each, straddling bytes: 0x1f, 0x2a -> 011111 101010.
  PackBitsCase(none, T("float6_e3m2fn"), {2}, {0x1f, 0x2a}, {0x9f, 0x0a}, {0x1f, 0x2a});
  // uint16 bits 4..11: [0x1234, 0xabcd] -> 0x23, 0xbc; decoding shifts them back to bit 4.
  PackBitsCase({{"first_bit", 4}, {"last_bit", 11}}, DataType(DataTypeId::kUInt16), {2},
               {0x34, 0x12, 0xcd, 0xab}, {0x23, 0xbc}, {0x30, 0x02, 0xc0, 0x0b});
  // int16 bits 0..3: [-1, 7] -> 0xf, 0x7; -1 sign-extends back.
  PackBitsCase({{"first_bit", nullptr}, {"last_bit", 3}}, DataType(DataTypeId::kInt16), {2},
               {0xff, 0xff, 0x07, 0x00}, {0x7f}, {0xff, 0xff, 0x07, 0x00});
  // Whole components: the little-endian bytes.
  PackBitsCase(none, DataType(DataTypeId::kInt32), {2}, {1, 2, 3, 4, 5, 6, 7, 8},
               {1, 2, 3, 4, 5, 6, 7, 8}, {1, 2, 3, 4, 5, 6, 7, 8});
  // complex_float8_e4m3, bits 3..6 of each component.
  PackBitsCase({{"first_bit", 3}, {"last_bit", 6}}, T("complex_float8_e4m3"), {1}, {0x38, 0x40},
               {0x87}, {0x38, 0x40});
}

TEST(PackBits, RejectsBadConfigurationsAndInput) {
  EXPECT_FALSE(PackBitsCodec::Factory({{"padding_encoding", "start_byte"}}).ok());
  EXPECT_FALSE(PackBitsCodec::Factory({{"first_bit", 5}, {"last_bit", 4}}).ok());
  EXPECT_FALSE(PackBitsCodec::Factory({{"first_bit", -1}}).ok());
  EXPECT_FALSE(PackBitsCodec::Factory({{"other", 1}}).ok());
  auto codec = PackBitsCodec::Factory({{"last_bit", 4}});
  ASSERT_TRUE(codec.ok());
  const auto& ab = static_cast<const ArrayToBytesCodec&>(**codec);
  EXPECT_EQ(ab.ValidateSpec(MakeSpec(T("uint4"), {2})).code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(ab.ValidateSpec(MakeSpec(T("float6_e2m3fn"), {2})).ok());
  EXPECT_EQ(ab.ValidateSpec(MakeSpec(DataType(DataTypeId::kRawBits, 2), {2})).code(),
            Status::Code::kInvalidArgument);

  auto first = PackBitsCodec::Factory({{"padding_encoding", "first_byte"}});
  const auto& fb = static_cast<const ArrayToBytesCodec&>(**first);
  Bytes out(3);
  EXPECT_EQ(fb.Decode(MakeSpec(T("uint4"), {3}), Bytes{0x03, 0x21, 0x03}, out).code(),
            Status::Code::kCorruption);  // padding byte says 3, not 4
  EXPECT_EQ(fb.Decode(MakeSpec(T("uint4"), {3}), Bytes{0x04, 0x21}, out).code(),
            Status::Code::kCorruption);
}

TEST(PackBits, RoundTripsEveryTypeThroughChains) {
  std::vector<std::string> names = kNewTypes;
  for (const char* core : {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                           "uint64", "float16", "float32", "float64", "complex64", "complex128"}) {
    names.push_back(core);
  }
  for (const std::string& n : names) {
    const DataType t = T(n);
    const ChunkSpec spec = MakeSpec(t, {3, 7});
    Bytes chunk = test::TestChunk(t, 21);
    internal::CanonicalizeSubByte(chunk.data(), 21, t);
    for (const char* padding : {"none", "first_byte", "last_byte"}) {
      const Json pb = {{"name", "packbits"}, {"configuration", {{"padding_encoding", padding}}}};
      EXPECT_TRUE(ChainRoundTrips(Json::array({pb}), spec, chunk)) << n << " " << padding;
      const Json chain =
          Json::array({{{"name", "transpose"}, {"configuration", {{"order", {1, 0}}}}},
                       pb,
                       {{"name", "zstd"}, {"configuration", {{"level", 1}, {"checksum", false}}}}});
      EXPECT_TRUE(ChainRoundTrips(chain, spec, chunk)) << n << " " << padding;
    }
  }
}

TEST(PackBits, ShardedArrayOfInt4) {
  auto store = MemoryStore::Create();
  ArrayMetadata m;
  m.shape = {10, 9};
  m.chunk_shape = {10, 9};
  m.data_type = T("int4");
  m.fill_value = *FillValue::FromJson(-3, m.data_type);
  m.codecs = Json::parse(R"([{"name":"sharding_indexed","configuration":{
      "chunk_shape":[5,3],
      "codecs":[{"name":"packbits","configuration":{"padding_encoding":"first_byte"}}],
      "index_codecs":[{"name":"bytes","configuration":{"endian":"little"}},{"name":"crc32c"}]}}])");
  auto arr = Array::Create(store, "a", m);
  ASSERT_TRUE(arr.ok()) << arr.status();
  std::vector<int8_t> in(6 * 5);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<int8_t>(static_cast<int>(i % 16) - 8);
  const Region box{{2, 1}, {6, 5}};
  ASSERT_TRUE((*arr)->Write(box, std::span<const int8_t>(in)).ok());
  auto reopened = Array::Open(store, "a");
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  std::vector<int8_t> all(90, 0);
  ASSERT_TRUE((*reopened)->Read(Region::All({10, 9}), std::span<int8_t>(all)).ok());
  for (uint64_t r = 0; r < 10; ++r) {
    for (uint64_t c = 0; c < 9; ++c) {
      const bool inside = r >= 2 && r < 8 && c >= 1 && c < 6;
      const int expected = inside ? in[(r - 2) * 5 + (c - 1)] : -3;
      ASSERT_EQ(all[r * 9 + c], expected) << r << "," << c;
    }
  }
  // Inner chunks of 15 int4 elements are 8 packed bytes plus the padding byte.
  auto shard = store->get("a/c/0/0");
  ASSERT_TRUE(shard.ok() && shard->has_value());
}

TEST(DataTypes, TypedApiReadsTimeAsInt64AndComplexVariants) {
  auto store = MemoryStore::Create();
  ArrayMetadata m;
  m.shape = {4};
  m.chunk_shape = {2};
  m.data_type = DataType::Time(DataTypeId::kDateTime64, TimeUnit::kSecond, 10);
  m.fill_value = *FillValue::FromJson("NaT", m.data_type);
  auto arr = Array::Create(store, "t", m);
  ASSERT_TRUE(arr.ok()) << arr.status();
  const std::vector<int64_t> in = {1, -2};
  ASSERT_TRUE((*arr)->Write(Region{{1}, {2}}, std::span<const int64_t>(in)).ok());
  auto reopened = Array::Open(store, "t");
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->metadata().data_type.time_unit(), TimeUnit::kSecond);
  EXPECT_EQ((*reopened)->metadata().data_type.scale_factor(), 10u);
  std::vector<int64_t> out(4);
  ASSERT_TRUE((*reopened)->Read(Region::All({4}), std::span<int64_t>(out)).ok());
  EXPECT_EQ(out, (std::vector<int64_t>{INT64_MIN, 1, -2, INT64_MIN}));
  std::vector<double> wrong(4);
  EXPECT_EQ((*reopened)->Read(Region::All({4}), std::span<double>(wrong)).code(),
            Status::Code::kInvalidArgument);

  ArrayMetadata c;
  c.shape = {2};
  c.chunk_shape = {2};
  c.data_type = T("complex_float32");
  c.fill_value = FillValue::Zero(c.data_type);
  auto carr = Array::Create(store, "c", c);
  ASSERT_TRUE(carr.ok()) << carr.status();
  const std::vector<std::complex<float>> cin = {{1, 2}, {-3, 0.5f}};
  ASSERT_TRUE((*carr)->Write(Region::All({2}), std::span<const std::complex<float>>(cin)).ok());
  std::vector<std::complex<float>> cout(2);
  ASSERT_TRUE((*carr)->Read(Region::All({2}), std::span<std::complex<float>>(cout)).ok());
  EXPECT_EQ(cout, cin);
}

TEST(DataTypes, DigestCanonicalisesSubByteAndNaNPatterns) {
  Bytes int4 = {0x0f, 0xff, 0x17};
  CanonicalizeForDigest(int4.data(), 3, T("int4"));
  EXPECT_EQ(int4, (Bytes{0xff, 0xff, 0x07}));
  Bytes uint2 = {0xff, 0x02};
  CanonicalizeForDigest(uint2.data(), 2, T("uint2"));
  EXPECT_EQ(uint2, (Bytes{0x03, 0x02}));
  Bytes bf = {0xc1, 0x7f, 0x81, 0xff, 0x80, 0x7f};  // two NaNs, then +Infinity
  CanonicalizeForDigest(bf.data(), 3, T("bfloat16"));
  EXPECT_EQ(bf, (Bytes{0xc0, 0x7f, 0xc0, 0x7f, 0x80, 0x7f}));
  Bytes e5m2 = {0x7d, 0xff, 0x7c};
  CanonicalizeForDigest(e5m2.data(), 3, T("float8_e5m2"));
  EXPECT_EQ(e5m2, (Bytes{0x7e, 0x7e, 0x7c}));
  Bytes cf16 = {0x01, 0x7c, 0x00, 0x3c};  // [NaN payload 1, 1.0]
  CanonicalizeForDigest(cf16.data(), 1, T("complex_float16"));
  EXPECT_EQ(cf16, (Bytes{0x00, 0x7e, 0x00, 0x3c}));
  Bytes fnuz = {0x80, 0x7f};
  CanonicalizeForDigest(fnuz.data(), 2, T("float8_e4m3fnuz"));
  EXPECT_EQ(fnuz, (Bytes{0x80, 0x7f}));
}

}  // namespace
}  // namespace zarrpp
