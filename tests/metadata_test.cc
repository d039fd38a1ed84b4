// Tests for data types, fill values, chunk key encodings and zarr.json array/group metadata.
#include "zarrpp/metadata.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "src/types/float16.h"
#include "zarrpp/data_type.h"
#include "zarrpp/json.h"

namespace zarrpp {
namespace {

using ::testing::HasSubstr;

// ---------------------------------------------------------------------------------------------
// Helpers.

// A valid array document whose fields can be replaced. `fill` and the others are raw JSON text.
struct Doc {
  std::string shape = "[10, 20]";
  std::string data_type = "\"float32\"";
  std::string chunk_grid = R"({"name": "regular", "configuration": {"chunk_shape": [5, 5]}})";
  std::string chunk_key_encoding = R"({"name": "default"})";
  std::string fill_value = "0";
  std::string codecs = R"([{"name": "bytes", "configuration": {"endian": "little"}}])";
  std::string extra;  // appended fields, e.g. R"(, "attributes": {})"
  std::string zarr_format = "3";
  std::string node_type = "\"array\"";
  bool omit_shape = false;
  bool omit_fill_value = false;

  std::string Text() const {
    std::string t = "{\"zarr_format\": " + zarr_format + ", \"node_type\": " + node_type;
    if (!omit_shape) t += ", \"shape\": " + shape;
    t += ", \"data_type\": " + data_type + ", \"chunk_grid\": " + chunk_grid +
         ", \"chunk_key_encoding\": " + chunk_key_encoding;
    if (!omit_fill_value) t += ", \"fill_value\": " + fill_value;
    t += ", \"codecs\": " + codecs + extra + "}";
    return t;
  }
};

Result<ArrayMetadata> ParseDoc(const Doc& d) {
  return ArrayMetadata::Parse(d.Text());
}

// The fill value of `data_type` parsed from the JSON text `fill` through a whole document, which
// keeps the decimal text of the numbers.
Result<FillValue> ParseFill(const std::string& fill, const std::string& data_type) {
  Doc d;
  d.fill_value = fill;
  d.data_type = "\"" + data_type + "\"";
  ASSIGN_OR_RETURN(ArrayMetadata m, ParseDoc(d));
  return m.fill_value;
}

uint64_t Bits(const FillValue& f) {
  uint64_t b = 0;
  for (size_t i = 0; i < f.bytes.size() && i < 8; ++i) b |= uint64_t{f.bytes[i]} << (8 * i);
  return b;
}

uint64_t FillBits(const std::string& fill, const std::string& data_type) {
  Result<FillValue> r = ParseFill(fill, data_type);
  EXPECT_TRUE(r.ok()) << fill << " as " << data_type << ": " << r.status();
  return r.ok() ? Bits(*r) : ~uint64_t{0};
}

FillValue FromBits(uint64_t bits, uint32_t size) {
  FillValue f{Bytes(size)};
  for (uint32_t i = 0; i < size; ++i) f.bytes[i] = static_cast<uint8_t>(bits >> (8 * i));
  return f;
}

uint32_t F32Bits(float f) {
  return std::bit_cast<uint32_t>(f);
}

// Expects `r` to fail with `code` and a message containing every one of `parts`.
template <typename R>
void ExpectError(const R& r, Status::Code code, std::vector<std::string> parts) {
  const Status s = internal::AsStatus(r);
  ASSERT_FALSE(s.ok()) << "expected " << CodeName(code);
  EXPECT_EQ(s.code(), code) << s;
  for (const auto& p : parts) EXPECT_THAT(s.message(), HasSubstr(p));
}

DataType Type(std::string_view name) {
  return *DataType::FromName(name);
}

// ---------------------------------------------------------------------------------------------
// Data types.

TEST(DataType, EveryCoreNameParsesAndPrintsBack) {
  const std::vector<std::pair<std::string, uint32_t>> names = {
      {"bool", 1},    {"int8", 1},    {"int16", 2},     {"int32", 4},      {"int64", 8},
      {"uint8", 1},   {"uint16", 2},  {"uint32", 4},    {"uint64", 8},     {"float16", 2},
      {"float32", 4}, {"float64", 8}, {"complex64", 8}, {"complex128", 16}};
  for (const auto& [name, size] : names) {
    Result<DataType> t = DataType::FromName(name);
    ASSERT_TRUE(t.ok()) << name << ": " << t.status();
    EXPECT_EQ(t->name(), name);
    EXPECT_EQ(t->size(), size) << name;
  }
}

TEST(DataType, RawBitsTakesPositiveMultiplesOfEight) {
  Result<DataType> r16 = DataType::FromName("r16");
  ASSERT_TRUE(r16.ok());
  EXPECT_EQ(r16->id(), DataTypeId::kRawBits);
  EXPECT_EQ(r16->size(), 2u);
  EXPECT_EQ(r16->name(), "r16");
  EXPECT_EQ(DataType::FromName("r8")->size(), 1u);
  for (const char* bad : {"r0", "r12", "r", "r08", "r-8", "r8x", "rx"}) {
    ExpectError(DataType::FromName(bad), Status::Code::kUnsupported, {bad});
  }
}

TEST(DataType, UnknownNameIsUnsupportedNamingIt) {
  ExpectError(DataType::FromName("float8"), Status::Code::kUnsupported, {"\"float8\""});
  ExpectError(DataType::FromName(""), Status::Code::kUnsupported, {"data type"});
  ExpectError(DataType::FromName("Float32"), Status::Code::kUnsupported, {"Float32"});
}

TEST(DataType, ComponentSizeIsTheSwapUnit) {
  EXPECT_EQ(Type("complex64").component_size(), 4u);
  EXPECT_EQ(Type("complex128").component_size(), 8u);
  EXPECT_EQ(Type("bool").component_size(), 1u);
  EXPECT_EQ(Type("r64").component_size(), 1u);
  EXPECT_EQ(Type("int32").component_size(), 4u);
  EXPECT_EQ(Type("float16").component_size(), 2u);
}

// ---------------------------------------------------------------------------------------------
// float16 conversions.

TEST(Float16, WideningIsExact) {
  EXPECT_EQ(internal::HalfToDouble(0x3c00), 1.0);
  EXPECT_EQ(internal::HalfToDouble(0xc000), -2.0);
  EXPECT_EQ(internal::HalfToDouble(0x7bff), 65504.0);
  EXPECT_EQ(internal::HalfToDouble(0x0001), std::ldexp(1.0, -24));
  EXPECT_EQ(internal::HalfToDouble(0x03ff), std::ldexp(1023.0, -24));
  EXPECT_EQ(internal::HalfToDouble(0x0400), std::ldexp(1.0, -14));
  EXPECT_TRUE(std::signbit(internal::HalfToDouble(0x8000)));
  EXPECT_EQ(internal::HalfToDouble(0x7c00), INFINITY);
  EXPECT_TRUE(std::isnan(internal::HalfToDouble(0x7e00)));
  EXPECT_EQ(internal::HalfToFloat(0x3555), 0.333251953125f);
}

TEST(Float16, EveryHalfSurvivesWideningAndNarrowing) {
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    const auto v = static_cast<uint16_t>(h);
    ASSERT_EQ(internal::DoubleToHalf(internal::HalfToDouble(v)), v) << std::hex << h;
    ASSERT_EQ(internal::FloatToHalf(internal::HalfToFloat(v)), v) << std::hex << h;
  }
}

TEST(Float16, NarrowingTiesRoundToEven) {
  EXPECT_EQ(internal::DoubleToHalf(2049.0), internal::DoubleToHalf(2048.0));
  EXPECT_EQ(internal::DoubleToHalf(2051.0), internal::DoubleToHalf(2052.0));
  EXPECT_EQ(internal::DoubleToHalf(2049.0000001), internal::DoubleToHalf(2050.0));
  EXPECT_EQ(internal::DoubleToHalf(65519.0), 0x7bff);
  EXPECT_EQ(internal::DoubleToHalf(65520.0), 0x7c00);  // tie with 2^16 goes to infinity (even)
  EXPECT_EQ(internal::DoubleToHalf(std::ldexp(1.0, -25)), 0x0000);     // tie with 0
  EXPECT_EQ(internal::DoubleToHalf(std::ldexp(3.0, -25)), 0x0002);     // tie 1 vs 2 -> 2
  EXPECT_EQ(internal::DoubleToHalf(-std::ldexp(1.0, -26)), 0x8000);    // signed zero
  EXPECT_EQ(internal::DoubleToHalf(std::ldexp(2047.0, -25)), 0x0400);  // carries to normal
  EXPECT_EQ(internal::DoubleToHalf(1e300), 0x7c00);
  EXPECT_EQ(internal::DoubleToHalf(-1e300), 0xfc00);
}

TEST(Float16, NarrowingPicksTheNearestHalf) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> exponent(-26, 16);
  for (int i = 0; i < 200000; ++i) {
    const double d = std::exp2(exponent(rng)) * ((rng() & 1) ? -1 : 1);
    const uint16_t h = internal::DoubleToHalf(d);
    const double got = internal::HalfToDouble(h);
    if (std::isinf(got)) {
      ASSERT_GE(std::fabs(d), 65520.0) << d;
      continue;
    }
    const double err = std::fabs(got - d);
    for (int delta : {-1, 1}) {
      const uint16_t n = static_cast<uint16_t>((h & 0x7fff) + delta) | (h & 0x8000);
      if ((h & 0x7fff) == 0 && delta < 0) continue;
      const double other = internal::HalfToDouble(n);
      if (std::isinf(other)) continue;
      const double other_err = std::fabs(other - d);
      ASSERT_LE(err, other_err) << d;
      if (err == other_err) {
        ASSERT_EQ(h & 1, 0) << d;  // ties go to the even mantissa
      }
    }
  }
}

TEST(Float16, NaNKeepsSignAndPayload) {
  EXPECT_EQ(internal::FloatToHalf(std::bit_cast<float>(0xffc02000u)), 0xfe01);
  EXPECT_EQ(internal::DoubleToHalf(std::bit_cast<double>(0x7ff8000000000000ull)), 0x7e00);
  // A signalling NaN whose payload lies below the kept bits stays a NaN.
  EXPECT_TRUE(internal::HalfIsNaN(internal::FloatToHalf(std::bit_cast<float>(0x7f800001u))));
  EXPECT_EQ(std::bit_cast<uint32_t>(internal::HalfToFloat(0x7d01)), 0x7fa02000u);
}

// ---------------------------------------------------------------------------------------------
// Fill values.

TEST(FillValue, BoolIsTrueOrFalse) {
  EXPECT_EQ(FillBits("true", "bool"), 1u);
  EXPECT_EQ(FillBits("false", "bool"), 0u);
  ExpectError(ParseFill("1", "bool"), Status::Code::kInvalidArgument, {"fill_value", "bool"});
  EXPECT_EQ(FillValue{{1}}.ToJson(Type("bool")), Json(true));
}

TEST(FillValue, IntegersAtTheirLimits) {
  EXPECT_EQ(FillBits("-128", "int8"), 0x80u);
  EXPECT_EQ(FillBits("127", "int8"), 0x7fu);
  EXPECT_EQ(FillBits("-32768", "int16"), 0x8000u);
  EXPECT_EQ(FillBits("-2147483648", "int32"), 0x80000000u);
  EXPECT_EQ(FillBits("-9223372036854775808", "int64"), 0x8000000000000000u);
  EXPECT_EQ(FillBits("9223372036854775807", "int64"), 0x7fffffffffffffffu);
  EXPECT_EQ(FillBits("255", "uint8"), 0xffu);
  EXPECT_EQ(FillBits("65535", "uint16"), 0xffffu);
  EXPECT_EQ(FillBits("4294967295", "uint32"), 0xffffffffu);
  EXPECT_EQ(FillBits("18446744073709551615", "uint64"), 0xffffffffffffffffu);
}

TEST(FillValue, IntegerOutOfRangeIsRefusedNamingValueAndType) {
  ExpectError(ParseFill("300", "uint8"), Status::Code::kInvalidArgument,
              {"zarr.json: fill_value: 300 is out of range for uint8"});
  ExpectError(ParseFill("128", "int8"), Status::Code::kInvalidArgument, {"128", "int8"});
  ExpectError(ParseFill("-129", "int8"), Status::Code::kInvalidArgument, {"-129", "int8"});
  ExpectError(ParseFill("-1", "uint64"), Status::Code::kInvalidArgument, {"-1", "uint64"});
  ExpectError(ParseFill("9223372036854775808", "int64"), Status::Code::kInvalidArgument,
              {"9223372036854775808", "out of range", "int64"});
  ExpectError(ParseFill("18446744073709551616", "uint64"), Status::Code::kInvalidArgument,
              {"18446744073709551616 is out of range for uint64"});
}

TEST(FillValue, IntegerWithFractionOrExponentIsRefused) {
  ExpectError(ParseFill("1.0", "int32"), Status::Code::kInvalidArgument,
              {"fill_value", "1.0", "not a JSON integer"});
  ExpectError(ParseFill("1e3", "uint16"), Status::Code::kInvalidArgument,
              {"fill_value", "1e3", "not a JSON integer"});
  ExpectError(ParseFill("\"1\"", "uint16"), Status::Code::kInvalidArgument, {"fill_value"});
  ExpectError(FillValue::FromJson(Json(1.5), Type("int8")), Status::Code::kInvalidArgument,
              {"1.5", "int8"});
}

TEST(FillValue, IntegersWriteBackAsJsonIntegers) {
  for (const char* t : {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}) {
    const DataType type = Type(t);
    Result<FillValue> f = FillValue::FromJson(Json(100), type);
    ASSERT_TRUE(f.ok()) << t << ": " << f.status();
    EXPECT_EQ(f->ToJson(type).dump(), "100") << t;
  }
  EXPECT_EQ(FromBits(0x80, 1).ToJson(Type("int8")).dump(), "-128");
  EXPECT_EQ(FromBits(~uint64_t{0}, 8).ToJson(Type("uint64")).dump(), "18446744073709551615");
}

TEST(FillValue, NaNStringIsTheCanonicalNaN) {
  EXPECT_EQ(FillBits("\"NaN\"", "float16"), 0x7e00u);
  EXPECT_EQ(FillBits("\"NaN\"", "float32"), 0x7fc00000u);
  EXPECT_EQ(FillBits("\"NaN\"", "float64"), 0x7ff8000000000000u);
  for (const char* t : {"float16", "float32", "float64"}) {
    const DataType type = Type(t);
    EXPECT_EQ(FillValue::FromJson("NaN", type)->ToJson(type), Json("NaN")) << t;
  }
}

TEST(FillValue, InfinitiesRoundTrip) {
  EXPECT_EQ(FillBits("\"Infinity\"", "float16"), 0x7c00u);
  EXPECT_EQ(FillBits("\"-Infinity\"", "float16"), 0xfc00u);
  EXPECT_EQ(FillBits("\"Infinity\"", "float32"), 0x7f800000u);
  EXPECT_EQ(FillBits("\"-Infinity\"", "float64"), 0xfff0000000000000u);
  EXPECT_EQ(FromBits(0xff800000, 4).ToJson(Type("float32")), Json("-Infinity"));
  EXPECT_EQ(FromBits(0x7ff0000000000000, 8).ToJson(Type("float64")), Json("Infinity"));
}

TEST(FillValue, HexGivesTheBitPattern) {
  EXPECT_EQ(FillBits("\"0x7e00\"", "float16"), 0x7e00u);
  EXPECT_EQ(FillBits("\"0x3C00\"", "float16"), 0x3c00u);
  EXPECT_EQ(FillBits("\"0x3f800000\"", "float32"), 0x3f800000u);
  EXPECT_EQ(FillBits("\"0x7ff0000000000001\"", "float64"), 0x7ff0000000000001u);
  // A hex that is an ordinary number is written back as the number.
  EXPECT_EQ(FromBits(0x3f800000, 4).ToJson(Type("float32")).dump(), "1.0");
}

TEST(FillValue, PayloadNaNStaysAndIsWrittenBackAsHex) {
  const uint64_t bits = FillBits("\"0x7fc00001\"", "float32");
  EXPECT_EQ(bits, 0x7fc00001u);
  EXPECT_EQ(FromBits(bits, 4).ToJson(Type("float32")), Json("0x7fc00001"));
  EXPECT_EQ(FromBits(0xfe00, 2).ToJson(Type("float16")), Json("0xfe00"));  // negative NaN
  EXPECT_EQ(FromBits(0x7ff0000000000001, 8).ToJson(Type("float64")), Json("0x7ff0000000000001"));
}

TEST(FillValue, HexWithWrongWidthIsRefused) {
  ExpectError(ParseFill("\"0x7e00\"", "float32"), Status::Code::kInvalidArgument,
              {"fill_value", "0x7e00", "float32", "8 hex digits"});
  ExpectError(ParseFill("\"0x7fc00000\"", "float16"), Status::Code::kInvalidArgument,
              {"0x7fc00000", "float16"});
  ExpectError(ParseFill("\"0x7ff800000000000\"", "float64"), Status::Code::kInvalidArgument,
              {"float64", "16 hex digits"});
  ExpectError(ParseFill("\"0x7g00\"", "float16"), Status::Code::kInvalidArgument, {"0x7g00"});
  ExpectError(ParseFill("\"nan\"", "float32"), Status::Code::kInvalidArgument, {"\"nan\""});
}

TEST(FillValue, NegativeZeroRoundTrips) {
  for (const auto& [t, sign] : std::vector<std::pair<std::string, uint64_t>>{
           {"float16", 0x8000}, {"float32", 0x80000000}, {"float64", 0x8000000000000000}}) {
    const uint64_t bits = FillBits("-0.0", t);
    EXPECT_EQ(bits, sign) << t;
    const Json written = FromBits(bits, Type(t).size()).ToJson(Type(t));
    EXPECT_EQ(FillBits(written.dump(), t), sign) << t << " wrote " << written.dump();
  }
}

TEST(FillValue, Float32IntegersTiesRoundToEven) {
  EXPECT_EQ(FillBits("16777217", "float32"), F32Bits(16777216.0f));
  EXPECT_EQ(FillBits("16777219", "float32"), F32Bits(16777220.0f));
  EXPECT_EQ(FillBits("16777217.0", "float32"), F32Bits(16777216.0f));
}

TEST(FillValue, Float32RoundsFromTheDecimalText) {
  // 1 + 2^-24 exactly is a tie between 1 and 1 + 2^-23: even wins.
  EXPECT_EQ(FillBits("1.00000005960464477539062500", "float32"), F32Bits(1.0f));
  // A hair above the tie; its nearest double is the tie itself, so only the text tells.
  EXPECT_EQ(FillBits("1.00000005960464477539062501", "float32"), 0x3f800001u);
  EXPECT_EQ(FillBits("16777217.000000000001", "float32"), F32Bits(16777218.0f));
  EXPECT_EQ(FillBits("16777216.999999999999", "float32"), F32Bits(16777216.0f));
}

TEST(FillValue, Float16TiesRoundToEven) {
  EXPECT_EQ(FillBits("2049", "float16"), 0x6800u);  // 2048
  EXPECT_EQ(FillBits("2051", "float16"), 0x6802u);  // 2052
  EXPECT_EQ(FillBits("2049.0", "float16"), 0x6800u);
  EXPECT_EQ(FillBits("-2051", "float16"), 0xe802u);
}

TEST(FillValue, Float16RoundsFromTheDecimalText) {
  // Each text's nearest double is a float16 tie point; the text lies just beside it.
  EXPECT_EQ(FillBits("2049.00000000000000000001", "float16"), 0x6801u);  // 2050
  EXPECT_EQ(FillBits("2050.99999999999999999999", "float16"), 0x6801u);  // 2050
  EXPECT_EQ(FillBits("-2049.00000000000000000001", "float16"), 0xe801u);
  // 2^-25 (a tie between 0 and the smallest subnormal) plus a little.
  EXPECT_EQ(FillBits("2.98023223876953125e-8", "float16"), 0x0000u);
  EXPECT_EQ(FillBits("2.980232238769531250000000001e-8", "float16"), 0x0001u);
  EXPECT_EQ(FillBits("1.00048828125", "float16"), 0x3c00u);  // 1 + 2^-11: tie, even
  EXPECT_EQ(FillBits("1.00048828125000000000001", "float16"), 0x3c01u);
  EXPECT_EQ(FillBits("65519.999999999999999", "float16"), 0x7bffu);
}

TEST(FillValue, WithoutTextTheDoubleIsRounded) {
  EXPECT_EQ(Bits(*FillValue::FromJson(Json(2049.0), Type("float16"))), 0x6800u);
  EXPECT_EQ(Bits(*FillValue::FromJson(Json(0.1), Type("float32"))), F32Bits(0.1f));
  EXPECT_EQ(Bits(*FillValue::FromJson(Json(16777219), Type("float32"))), F32Bits(16777220.0f));
}

TEST(FillValue, FloatOverflowIsRefusedAndUnderflowIsZero) {
  ExpectError(ParseFill("65520", "float16"), Status::Code::kInvalidArgument,
              {"fill_value: 65520 is out of range for float16"});
  ExpectError(ParseFill("1e39", "float32"), Status::Code::kInvalidArgument,
              {"1e39 is out of range for float32"});
  ExpectError(ParseFill("1e400", "float64"), Status::Code::kInvalidArgument, {"1e400"});
  ExpectError(FillValue::FromJson(Json(INFINITY), Type("float64")), Status::Code::kInvalidArgument,
              {"out of range for float64"});
  EXPECT_EQ(FillBits("65519", "float16"), 0x7bffu);
  EXPECT_EQ(FillBits("1e-50", "float32"), 0u);
  EXPECT_EQ(FillBits("-1e-50", "float32"), 0x80000000u);
  EXPECT_EQ(FillBits("1e-10", "float16"), 0u);
  EXPECT_EQ(FillBits("1e-45", "float32"), 1u);  // the smallest subnormal
}

TEST(FillValue, FloatsWriteShortestNumbers) {
  EXPECT_EQ(FillValue::FromJson(Json(0.1), Type("float32"))->ToJson(Type("float32")).dump(), "0.1");
  EXPECT_EQ(FillValue::FromJson(Json(0.1), Type("float16"))->ToJson(Type("float16")).dump(), "0.1");
  EXPECT_EQ(FillValue::FromJson(Json(0.1), Type("float64"))->ToJson(Type("float64")).dump(), "0.1");
  EXPECT_EQ(FillValue::FromJson(Json(-2.5), Type("float16"))->ToJson(Type("float16")).dump(),
            "-2.5");
}

TEST(FillValue, EveryFloat16WritesBackToItsBits) {
  const DataType f16 = Type("float16");
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    const FillValue f = FromBits(h, 2);
    const std::string text = f.ToJson(f16).dump();
    Result<Json> j = ParseJson(text, "test");
    ASSERT_TRUE(j.ok());
    Result<FillValue> back = FillValue::FromJson(*j, f16);
    ASSERT_TRUE(back.ok()) << text << ": " << back.status();
    ASSERT_EQ(Bits(*back), h) << text;
  }
}

TEST(FillValue, SampledFloat32sWriteBackToTheirBits) {
  const DataType f32 = Type("float32");
  for (uint64_t b = 0; b <= 0xffffffffu; b += 65521) {
    const FillValue f = FromBits(b, 4);
    const std::string text = f.ToJson(f32).dump();
    Result<FillValue> back = FillValue::FromJson(*ParseJson(text, "test"), f32);
    ASSERT_TRUE(back.ok()) << text << ": " << back.status();
    ASSERT_EQ(Bits(*back), b) << text;
  }
  // Through the document path, which rounds from the text.
  for (uint64_t b = 0x00000001; b <= 0x7f7fffffu; b += 0x00fedcb1) {
    const std::string text = FromBits(b, 4).ToJson(f32).dump();
    ASSERT_EQ(FillBits(text, "float32"), b) << text;
  }
}

TEST(FillValue, ComplexPartsAreFloats) {
  Result<FillValue> c = ParseFill("[1.5, \"NaN\"]", "complex64");
  ASSERT_TRUE(c.ok()) << c.status();
  float re, im;
  std::memcpy(&re, c->bytes.data(), 4);
  std::memcpy(&im, c->bytes.data() + 4, 4);
  EXPECT_EQ(re, 1.5f);
  EXPECT_EQ(F32Bits(im), 0x7fc00000u);
  EXPECT_EQ(c->ToJson(Type("complex64")), Json::parse(R"([1.5, "NaN"])"));

  Result<FillValue> z = ParseFill(R"(["-Infinity", "0x7ff0000000000001"])", "complex128");
  ASSERT_TRUE(z.ok()) << z.status();
  EXPECT_EQ(z->ToJson(Type("complex128")), Json::parse(R"(["-Infinity", "0x7ff0000000000001"])"));
  // The imaginary part rounds from its own text.
  Result<FillValue> t = ParseFill("[0, 16777217.000000000001]", "complex64");
  ASSERT_TRUE(t.ok()) << t.status();
  std::memcpy(&im, t->bytes.data() + 4, 4);
  EXPECT_EQ(im, 16777218.0f);
}

TEST(FillValue, MalformedComplexIsRefused) {
  ExpectError(ParseFill("[1]", "complex64"), Status::Code::kInvalidArgument,
              {"fill_value", "complex64", "[real, imaginary]"});
  ExpectError(ParseFill("1.0", "complex128"), Status::Code::kInvalidArgument, {"complex128"});
  ExpectError(ParseFill("[1, \"x\"]", "complex64"), Status::Code::kInvalidArgument,
              {"imaginary part", "\"x\""});
  ExpectError(ParseFill("[\"0x7e00\", 0]", "complex64"), Status::Code::kInvalidArgument,
              {"real part", "0x7e00", "float32"});
}

TEST(FillValue, RawBitsAreBytes) {
  Result<FillValue> r = ParseFill("[1, 2]", "r16");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->bytes, (Bytes{1, 2}));
  EXPECT_EQ(r->ToJson(Type("r16")), Json::parse("[1, 2]"));
  ExpectError(ParseFill("[1]", "r16"), Status::Code::kInvalidArgument, {"r16", "2 integers"});
  ExpectError(ParseFill("[256, 0]", "r16"), Status::Code::kInvalidArgument, {"256", "0..255"});
  ExpectError(ParseFill("[-1, 0]", "r16"), Status::Code::kInvalidArgument, {"-1"});
}

// ---------------------------------------------------------------------------------------------
// Chunk key encodings.

ChunkKeyEncoding Cke(const char* json) {
  return *ChunkKeyEncoding::FromJson(Json::parse(json));
}

TEST(ChunkKeyEncoding, DefaultPrefixesC) {
  const ChunkKeyEncoding slash = Cke(R"({"name": "default"})");
  EXPECT_EQ(slash.separator, '/');
  EXPECT_EQ(slash.EncodeKey({1, 23, 45}), "c/1/23/45");
  EXPECT_EQ(slash.EncodeKey({}), "c");
  EXPECT_EQ(slash.EncodeKey({0}), "c/0");
  EXPECT_EQ(slash.EncodeKey({UINT64_MAX, 0}), "c/18446744073709551615/0");
  const ChunkKeyEncoding dot = Cke(R"({"name": "default", "configuration": {"separator": "."}})");
  EXPECT_EQ(dot.EncodeKey({1, 23, 45}), "c.1.23.45");
  EXPECT_EQ(dot.EncodeKey({}), "c");
}

TEST(ChunkKeyEncoding, V2JoinsIndices) {
  const ChunkKeyEncoding dot = Cke(R"("v2")");
  EXPECT_EQ(dot.kind, ChunkKeyEncoding::Kind::kV2);
  EXPECT_EQ(dot.separator, '.');
  EXPECT_EQ(dot.EncodeKey({1, 23, 45}), "1.23.45");
  EXPECT_EQ(dot.EncodeKey({}), "0");
  const ChunkKeyEncoding slash = Cke(R"({"name": "v2", "configuration": {"separator": "/"}})");
  EXPECT_EQ(slash.EncodeKey({1, 23, 45}), "1/23/45");
  EXPECT_EQ(slash.EncodeKey({7}), "7");
}

TEST(ChunkKeyEncoding, ShortHandAndToJson) {
  EXPECT_EQ(Cke(R"("default")").ToJson(),
            Json::parse(R"({"name": "default", "configuration": {"separator": "/"}})"));
  EXPECT_EQ(Cke(R"({"name": "v2", "must_understand": true})").ToJson(),
            Json::parse(R"({"name": "v2", "configuration": {"separator": "."}})"));
}

TEST(ChunkKeyEncoding, MalformedIsRefused) {
  ExpectError(
      ChunkKeyEncoding::FromJson(Json::parse(R"({"name": "default", "must_understand": false})")),
      Status::Code::kInvalidArgument, {"must_understand"});
  ExpectError(ChunkKeyEncoding::FromJson(
                  Json::parse(R"({"name": "default", "configuration": {"separator": "-"}})")),
              Status::Code::kInvalidArgument, {"separator", "\"-\""});
  ExpectError(ChunkKeyEncoding::FromJson(Json::parse(R"({"name": "mine"})")),
              Status::Code::kUnsupported, {"\"mine\""});
  ExpectError(ChunkKeyEncoding::FromJson(Json::parse(R"({"configuration": {}})")),
              Status::Code::kInvalidArgument, {"name"});
  ExpectError(ChunkKeyEncoding::FromJson(Json::parse(R"({"name": "v2", "size": 3})")),
              Status::Code::kInvalidArgument, {"\"size\""});
  ExpectError(ChunkKeyEncoding::FromJson(Json(3)), Status::Code::kInvalidArgument, {"3"});
}

TEST(ChunkKeyEncoding, DecodeKeyInvertsEncodeKey) {
  for (const char* cfg :
       {R"("default")", R"({"name": "default", "configuration": {"separator": "."}})", R"("v2")",
        R"({"name": "v2", "configuration": {"separator": "/"}})"}) {
    const ChunkKeyEncoding e = Cke(cfg);
    for (const std::vector<uint64_t>& coords :
         std::vector<std::vector<uint64_t>>{{}, {0}, {5}, {1, 23, 45}, {UINT64_MAX, 0, 10}}) {
      const std::string key = e.EncodeKey(coords);
      Result<std::vector<uint64_t>> back = e.DecodeKey(key, coords.size());
      ASSERT_TRUE(back.ok()) << cfg << " " << key << ": " << back.status();
      EXPECT_EQ(*back, coords) << cfg << " " << key;
    }
  }
}

TEST(ChunkKeyEncoding, DecodeKeyRefusesWhatEncodeKeyWouldNotWrite) {
  const ChunkKeyEncoding d = Cke(R"("default")");
  for (const auto& [key, rank] :
       std::vector<std::pair<std::string, size_t>>{{"c/1/2", 3},
                                                   {"c/1/2/3", 2},
                                                   {"c.1.2", 2},
                                                   {"d/1", 1},
                                                   {"c/01", 1},
                                                   {"c/-1", 1},
                                                   {"c/+1", 1},
                                                   {"c/1/", 1},
                                                   {"c//1", 2},
                                                   {"c", 1},
                                                   {"1/2", 2},
                                                   {"c/", 1},
                                                   {"c/18446744073709551616", 1},
                                                   {"c/1", 0},
                                                   {"zarr.json", 0},
                                                   {"c/1x", 1}}) {
    ExpectError(d.DecodeKey(key, rank), Status::Code::kInvalidArgument, {"\"" + key + "\""});
  }
  const ChunkKeyEncoding v2 = Cke(R"("v2")");
  for (const auto& [key, rank] : std::vector<std::pair<std::string, size_t>>{
           {"c.1", 1}, {"1.2", 1}, {"1/2", 2}, {"", 1}, {"c", 0}, {".1", 1}, {"00", 1}}) {
    ExpectError(v2.DecodeKey(key, rank), Status::Code::kInvalidArgument, {"\"" + key + "\""});
  }
}

// ---------------------------------------------------------------------------------------------
// Array metadata.

constexpr const char* kFullDoc = R"({
  "zarr_format": 3,
  "node_type": "array",
  "shape": [10000, 1000],
  "data_type": "float64",
  "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1000, 100]}},
  "chunk_key_encoding": {"name": "default", "configuration": {"separator": "."}},
  "fill_value": "NaN",
  "codecs": [{"name": "bytes", "configuration": {"endian": "big"}}],
  "attributes": {"foo": 42, "bar": "apples", "baz": [1, 2, 3, 4]},
  "dimension_names": ["rows", null],
  "storage_transformers": [],
  "my_extension": {"must_understand": false, "value": [1, 2]}
})";

TEST(ArrayMetadata, ParsesEveryField) {
  Result<ArrayMetadata> m = ArrayMetadata::Parse(kFullDoc);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->zarr_format, 3);
  EXPECT_EQ(m->shape, (std::vector<uint64_t>{10000, 1000}));
  EXPECT_EQ(m->data_type, Type("float64"));
  EXPECT_EQ(m->chunk_shape, (std::vector<uint64_t>{1000, 100}));
  EXPECT_EQ(m->chunk_key_encoding.kind, ChunkKeyEncoding::Kind::kDefault);
  EXPECT_EQ(m->chunk_key_encoding.separator, '.');
  EXPECT_EQ(Bits(m->fill_value), 0x7ff8000000000000u);
  EXPECT_EQ(m->codecs, Json::parse(R"([{"name": "bytes", "configuration": {"endian": "big"}}])"));
  EXPECT_EQ(m->attributes["bar"], "apples");
  ASSERT_TRUE(m->dimension_names.has_value());
  EXPECT_EQ(*m->dimension_names, (std::vector<std::optional<std::string>>{"rows", std::nullopt}));
  EXPECT_EQ(m->extra_fields,
            Json::parse(R"({"my_extension": {"must_understand": false, "value": [1, 2]}})"));
  EXPECT_EQ(m->rank(), 2u);
  EXPECT_EQ(m->grid_shape(), (std::vector<uint64_t>{10, 10}));
  EXPECT_EQ(m->chunk_elements(), 100000u);
  EXPECT_TRUE(m->Validate().ok()) << m->Validate();
}

TEST(ArrayMetadata, ToJsonOfAKnownDocumentIsExact) {
  Result<ArrayMetadata> m = ArrayMetadata::Parse(kFullDoc);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->ToJson(), Json::parse(kFullDoc));
}

TEST(ArrayMetadata, ToJsonFillsInDefaultsAndNormalises) {
  Doc d;
  d.data_type = R"({"name": "uint8"})";
  d.chunk_key_encoding = R"("v2")";
  d.codecs = R"(["bytes"])";
  d.fill_value = "7";
  Result<ArrayMetadata> m = ParseDoc(d);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->ToJson(), Json::parse(R"({
    "zarr_format": 3, "node_type": "array", "shape": [10, 20], "data_type": "uint8",
    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [5, 5]}},
    "chunk_key_encoding": {"name": "v2", "configuration": {"separator": "."}},
    "fill_value": 7, "codecs": [{"name": "bytes"}], "attributes": {},
    "storage_transformers": []})"));
}

TEST(ArrayMetadata, RoundTripIsTheIdentity) {
  std::vector<Doc> docs(4);
  docs[0].fill_value = "0.1";
  docs[1].data_type = "\"complex128\"";
  docs[1].fill_value = R"([-0.0, "0x7ff0000000000001"])";
  docs[1].extra = R"(, "dimension_names": [null, "y"], "attributes": {"a": {"b": [1.5]}})";
  docs[2].data_type = "\"r16\"";
  docs[2].fill_value = "[1, 2]";
  docs[2].codecs = R"(["bytes"])";
  docs[2].chunk_key_encoding = R"({"name": "v2", "configuration": {"separator": "/"}})";
  docs[3].data_type = "\"float16\"";
  docs[3].fill_value = "\"0x7e01\"";
  docs[3].shape = "[0, 3]";
  docs[3].extra = R"(, "x": {"must_understand": false})";
  for (const Doc& d : docs) {
    Result<ArrayMetadata> a = ParseDoc(d);
    ASSERT_TRUE(a.ok()) << d.Text() << ": " << a.status();
    const std::string text = a->ToJson().dump(2);
    Result<ArrayMetadata> b = ArrayMetadata::Parse(text);
    ASSERT_TRUE(b.ok()) << text << ": " << b.status();
    EXPECT_EQ(b->ToJson(), a->ToJson());
    EXPECT_EQ(b->fill_value, a->fill_value);
    EXPECT_EQ(b->dimension_names, a->dimension_names);
    // FromJson on a DOM sees the same document.
    Result<ArrayMetadata> c = ArrayMetadata::FromJson(a->ToJson());
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->ToJson(), a->ToJson());
  }
}

TEST(ArrayMetadata, ZeroLengthDimensionsAreAllowed) {
  Doc d;
  d.shape = "[0, 7]";
  Result<ArrayMetadata> m = ParseDoc(d);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->grid_shape(), (std::vector<uint64_t>{0, 2}));
  EXPECT_EQ(m->chunk_elements(), 25u);
}

TEST(ArrayMetadata, ZeroDimensionalArray) {
  Doc d;
  d.shape = "[]";
  d.chunk_grid = R"({"name": "regular", "configuration": {"chunk_shape": []}})";
  Result<ArrayMetadata> m = ParseDoc(d);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->rank(), 0u);
  EXPECT_TRUE(m->grid_shape().empty());
  EXPECT_EQ(m->chunk_elements(), 1u);
  EXPECT_EQ(m->chunk_key_encoding.EncodeKey({}), "c");
}

TEST(ArrayMetadata, MissingRequiredFieldsAreNamed) {
  Doc no_shape;
  no_shape.omit_shape = true;
  ExpectError(ParseDoc(no_shape), Status::Code::kInvalidArgument, {"zarr.json: shape: missing"});
  Doc no_fill;
  no_fill.omit_fill_value = true;
  ExpectError(ParseDoc(no_fill), Status::Code::kInvalidArgument, {"fill_value: missing"});
  for (const char* field : {"data_type", "chunk_grid", "chunk_key_encoding", "codecs"}) {
    Json j = Json::parse(kFullDoc);
    j.erase(field);
    ExpectError(ArrayMetadata::FromJson(j, "a/zarr.json"), Status::Code::kInvalidArgument,
                {std::string("a/zarr.json: ") + field + ": missing"});
  }
}

TEST(ArrayMetadata, ShapeAndChunkShapeAreChecked) {
  Doc neg;
  neg.shape = "[10, -1]";
  ExpectError(ParseDoc(neg), Status::Code::kInvalidArgument, {"shape", "-1", "non-negative"});
  Doc frac;
  frac.shape = "[10, 2.5]";
  ExpectError(ParseDoc(frac), Status::Code::kInvalidArgument, {"shape", "2.5"});
  Doc not_list;
  not_list.shape = "10";
  ExpectError(ParseDoc(not_list), Status::Code::kInvalidArgument, {"shape", "10"});
  Doc zero;
  zero.chunk_grid = R"({"name": "regular", "configuration": {"chunk_shape": [5, 0]}})";
  ExpectError(ParseDoc(zero), Status::Code::kInvalidArgument,
              {"chunk_grid", "chunk_shape", "positive"});
  Doc rank;
  rank.chunk_grid = R"({"name": "regular", "configuration": {"chunk_shape": [5, 5, 5]}})";
  ExpectError(ParseDoc(rank), Status::Code::kInvalidArgument,
              {"chunk_grid", "rank 3", "shape has rank 2"});
  Doc no_chunks;
  no_chunks.chunk_grid = R"("regular")";
  ExpectError(ParseDoc(no_chunks), Status::Code::kInvalidArgument, {"chunk_grid", "chunk_shape"});
  Doc rect;
  rect.chunk_grid = R"({"name": "rectilinear", "configuration": {}})";
  ExpectError(ParseDoc(rect), Status::Code::kInvalidArgument, {"chunk_grid", "kind"});
  Doc other;
  other.chunk_grid = R"({"name": "hexagonal", "configuration": {}})";
  ExpectError(ParseDoc(other), Status::Code::kUnsupported, {"chunk_grid", "\"hexagonal\""});
  Doc huge;
  huge.shape = "[10, 20, 30]";
  huge.chunk_grid =
      R"({"name": "regular", "configuration": {"chunk_shape": [4294967296, 4294967296, 2]}})";
  ExpectError(ParseDoc(huge), Status::Code::kInvalidArgument, {"chunk_grid", "2^64"});
}

TEST(ArrayMetadata, DataTypeIsChecked) {
  Doc bad;
  bad.data_type = "\"float128\"";
  ExpectError(ParseDoc(bad), Status::Code::kUnsupported, {"zarr.json: data_type", "float128"});
  Doc number;
  number.data_type = "5";
  ExpectError(ParseDoc(number), Status::Code::kInvalidArgument, {"data_type", "5"});
  Doc optional;
  optional.data_type = R"({"name": "float32", "must_understand": false})";
  ExpectError(ParseDoc(optional), Status::Code::kInvalidArgument, {"data_type", "must_understand"});
  Doc configured;
  configured.data_type = R"({"name": "float32", "configuration": {"x": 1}})";
  ExpectError(ParseDoc(configured), Status::Code::kInvalidArgument, {"data_type", "configuration"});
}

TEST(ArrayMetadata, ChunkKeyEncodingErrorsNameTheField) {
  Doc d;
  d.chunk_key_encoding = R"({"name": "default", "must_understand": false})";
  ExpectError(ParseDoc(d), Status::Code::kInvalidArgument,
              {"zarr.json: chunk_key_encoding", "must_understand"});
  d.chunk_key_encoding = R"({"name": "default", "configuration": {"separator": ","}})";
  ExpectError(ParseDoc(d), Status::Code::kInvalidArgument,
              {"zarr.json: chunk_key_encoding", "separator"});
}

TEST(ArrayMetadata, CodecsAreValidatedAgainstTheArray) {
  Doc empty;
  empty.codecs = "[]";
  ExpectError(ParseDoc(empty), Status::Code::kInvalidArgument, {"zarr.json: codecs"});
  Doc unknown;
  unknown.codecs = R"([{"name": "bytes", "configuration": {"endian": "little"}}, "lzma9000"])";
  ExpectError(ParseDoc(unknown), Status::Code::kUnsupported, {"zarr.json: codecs", "lzma9000"});
  Doc no_endian;  // float32 needs the bytes codec's endian
  no_endian.codecs = R"(["bytes"])";
  ExpectError(ParseDoc(no_endian), Status::Code::kInvalidArgument, {"zarr.json: codecs", "endian"});
}

TEST(ArrayMetadata, UnknownFieldWithoutMustUnderstandFalseIsUnsupported) {
  Doc d;
  d.extra = R"(, "my_field": {"value": 1})";
  ExpectError(ParseDoc(d), Status::Code::kUnsupported, {"zarr.json", "\"my_field\""});
  d.extra = R"(, "my_field": {"must_understand": true})";
  ExpectError(ParseDoc(d), Status::Code::kUnsupported, {"\"my_field\""});
  d.extra = R"(, "my_field": 3)";
  ExpectError(ParseDoc(d), Status::Code::kUnsupported, {"\"my_field\""});
}

TEST(ArrayMetadata, UnknownFieldWithMustUnderstandFalseIsKeptAndWrittenBack) {
  Doc d;
  d.extra = R"(, "my_field": {"must_understand": false, "nested": {"k": [1, "two"]}})";
  Result<ArrayMetadata> m = ParseDoc(d);
  ASSERT_TRUE(m.ok()) << m.status();
  const Json field = Json::parse(R"({"must_understand": false, "nested": {"k": [1, "two"]}})");
  EXPECT_EQ(m->extra_fields["my_field"], field);
  EXPECT_EQ(m->ToJson()["my_field"], field);
}

TEST(ArrayMetadata, StorageTransformersMustBeEmpty) {
  Doc d;
  d.extra = R"(, "storage_transformers": [{"name": "sharding_storage"}])";
  ExpectError(ParseDoc(d), Status::Code::kUnsupported,
              {"storage_transformers", "sharding_storage"});
  d.extra = R"(, "storage_transformers": {})";
  ExpectError(ParseDoc(d), Status::Code::kInvalidArgument, {"storage_transformers"});
  d.extra = R"(, "storage_transformers": [])";
  EXPECT_TRUE(ParseDoc(d).ok());
}

TEST(ArrayMetadata, DimensionNamesAreChecked) {
  Doc d;
  d.extra = R"(, "dimension_names": ["x"])";
  ExpectError(ParseDoc(d), Status::Code::kInvalidArgument,
              {"dimension_names", "1 names", "rank 2"});
  d.extra = R"(, "dimension_names": ["x", 3])";
  ExpectError(ParseDoc(d), Status::Code::kInvalidArgument, {"dimension_names", "3"});
  d.extra = R"(, "dimension_names": ["x", "x"])";  // distinct names are not required
  EXPECT_TRUE(ParseDoc(d).ok());
}

TEST(ArrayMetadata, FormatAndNodeTypeAreChecked) {
  Doc v2;
  v2.zarr_format = "2";
  ExpectError(ParseDoc(v2), Status::Code::kUnsupported, {"zarr_format", "2"});
  Doc text;
  text.zarr_format = "\"3\"";
  ExpectError(ParseDoc(text), Status::Code::kInvalidArgument, {"zarr_format"});
  Doc group;
  group.node_type = "\"group\"";
  ExpectError(ParseDoc(group), Status::Code::kFailedPrecondition, {"node_type", "\"group\""});
  Doc other;
  other.node_type = "\"table\"";
  ExpectError(ParseDoc(other), Status::Code::kInvalidArgument, {"node_type", "\"table\""});
  ExpectError(ArrayMetadata::FromJson(Json::array()), Status::Code::kInvalidArgument,
              {"zarr.json", "not a JSON object"});
}

TEST(ArrayMetadata, AttributesMustBeAnObject) {
  Doc d;
  d.extra = R"(, "attributes": [1])";
  ExpectError(ParseDoc(d), Status::Code::kInvalidArgument, {"attributes"});
}

TEST(ArrayMetadata, InvalidJsonTextNamesTheDocument) {
  ExpectError(ArrayMetadata::Parse("{\"zarr_format\": 3,", "a/b/zarr.json"),
              Status::Code::kInvalidArgument, {"a/b/zarr.json", "invalid JSON"});
  ExpectError(ArrayMetadata::Parse("", "x"), Status::Code::kInvalidArgument, {"x: invalid JSON"});
  ExpectError(ArrayMetadata::Parse("{} trailing"), Status::Code::kInvalidArgument,
              {"invalid JSON"});
}

TEST(ArrayMetadata, ValidateChecksMetadataBuiltInCode) {
  ArrayMetadata m;
  m.shape = {4, 4};
  m.chunk_shape = {2, 2};
  m.data_type = Type("int16");
  m.fill_value = FillValue::Zero(m.data_type);
  m.codecs = Json::parse(R"([{"name": "bytes", "configuration": {"endian": "little"}}])");
  EXPECT_TRUE(m.Validate().ok()) << m.Validate();

  ArrayMetadata rank = m;
  rank.chunk_shape = {2};
  ExpectError(rank.Validate("arr"), Status::Code::kInvalidArgument, {"arr: chunk_grid", "rank"});
  ArrayMetadata fill = m;
  fill.fill_value = FillValue{{1}};
  ExpectError(fill.Validate("arr"), Status::Code::kInvalidArgument, {"arr: fill_value", "int16"});
  ArrayMetadata no_codecs = m;
  no_codecs.codecs = Json::array();
  ExpectError(no_codecs.Validate("arr"), Status::Code::kInvalidArgument, {"arr: codecs"});
  ArrayMetadata extra = m;
  extra.extra_fields = {{"foo", {{"must_understand", true}}}};
  ExpectError(extra.Validate("arr"), Status::Code::kUnsupported, {"\"foo\""});
  ArrayMetadata names = m;
  names.dimension_names = std::vector<std::optional<std::string>>{"a"};
  ExpectError(names.Validate("arr"), Status::Code::kInvalidArgument, {"dimension_names"});
}

TEST(ArrayMetadata, MangledDocumentsFailCleanly) {
  // Truncations and byte substitutions of a valid document either parse or give a named error;
  // none may crash or throw.
  const std::string doc = kFullDoc;
  std::mt19937 rng(7);
  const std::string alphabet = "{}[]\",:0123456789.-eE+ \\axnNulltrue";
  int failures = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string t = doc;
    if (i % 3 == 0) {
      t.resize(rng() % t.size());
    } else {
      for (int k = 0; k < 1 + i % 4; ++k) t[rng() % t.size()] = alphabet[rng() % alphabet.size()];
    }
    Result<ArrayMetadata> m = ArrayMetadata::Parse(t, "mangled");
    if (!m.ok()) {
      ++failures;
      ASSERT_THAT(m.status().message(), HasSubstr("mangled")) << t;
    } else {
      ASSERT_TRUE(ArrayMetadata::Parse(m->ToJson().dump()).ok()) << t;
    }
  }
  EXPECT_GT(failures, 1000);
}

// ---------------------------------------------------------------------------------------------
// Group metadata and JSON text.

TEST(GroupMetadata, ParsesAndWritesBack) {
  const char* text = R"({"zarr_format": 3, "node_type": "group", "attributes": {"spam": "ham"}})";
  Result<GroupMetadata> g = GroupMetadata::Parse(text);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->attributes, Json::parse(R"({"spam": "ham"})"));
  EXPECT_EQ(g->ToJson(), Json::parse(text));
  Result<GroupMetadata> bare = GroupMetadata::Parse(R"({"zarr_format": 3, "node_type": "group"})");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->ToJson(),
            Json::parse(R"({"zarr_format": 3, "node_type": "group", "attributes": {}})"));
}

TEST(GroupMetadata, ConsolidatedMetadataIsKept) {
  const char* text = R"({"zarr_format": 3, "node_type": "group", "attributes": {},
    "consolidated_metadata": {"must_understand": false, "kind": "inline", "metadata": {}}})";
  Result<GroupMetadata> g = GroupMetadata::Parse(text);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->extra_fields["consolidated_metadata"]["kind"], "inline");
  EXPECT_EQ(g->ToJson(), Json::parse(text));
}

TEST(GroupMetadata, MalformedIsRefused) {
  ExpectError(GroupMetadata::Parse(R"({"zarr_format": 3, "node_type": "group", "x": {}})", "g"),
              Status::Code::kUnsupported, {"g: unknown field \"x\""});
  ExpectError(GroupMetadata::Parse(R"({"zarr_format": 3, "node_type": "array"})", "g"),
              Status::Code::kFailedPrecondition, {"g: node_type", "\"array\""});
  ExpectError(GroupMetadata::Parse(R"({"zarr_format": 2, "node_type": "group"})", "g"),
              Status::Code::kUnsupported, {"g: zarr_format"});
  ExpectError(GroupMetadata::Parse(R"({"node_type": "group"})", "g"),
              Status::Code::kInvalidArgument, {"g: zarr_format: missing"});
  ExpectError(
      GroupMetadata::Parse(R"({"zarr_format": 3, "node_type": "group", "attributes": 1})", "g"),
      Status::Code::kInvalidArgument, {"g: attributes"});
  ExpectError(GroupMetadata::Parse("{", "g"), Status::Code::kInvalidArgument, {"g: invalid JSON"});
}

TEST(ParseJson, ErrorsNameWhereAndNeverThrow) {
  ExpectError(ParseJson("[1, 2", "doc"), Status::Code::kInvalidArgument, {"doc: invalid JSON"});
  ExpectError(ParseJson("\"\xff\"", "doc"), Status::Code::kInvalidArgument, {"doc"});
  ExpectError(ParseJson(std::string(100000, '['), "deep"), Status::Code::kInvalidArgument,
              {"deep", "nesting"});
  Result<Json> ok = ParseJson(R"({"a": [1, 2.5, "x", null, true, {"b": {}}]})", "doc");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(*ok, Json::parse(R"({"a": [1, 2.5, "x", null, true, {"b": {}}]})"));
}

}  // namespace
}  // namespace zarrpp
