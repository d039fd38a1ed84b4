// The zfp codecs (spec/codecs.md "zfp"): round trips in every mode and rank, known answers from
// the zfp library's own compressor (byte-equal streams, with and without the zfpy header),
// truncated and hostile streams, unsupported types and shapes, configuration errors, and the
// Zarr v2 "zfpy" compressor.
#include <gtest/gtest.h>
#include <zfp.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "codecs/codec_chain.h"
#include "codecs/zfp_codec.h"
#include "src/metadata/metadata_v2.h"
#include "support/codec_roundtrip.h"
#include "zarrpp/array.h"
#include "zarrpp/json.h"
#include "zarrpp/memory_store.h"

namespace zarrpp {
namespace {

using test::MakeSpec;

std::shared_ptr<const ZfpCodec> Make(const Json& codec) {
  auto c = BuiltinCodecRegistry().Create(codec);
  EXPECT_TRUE(c.ok()) << codec.dump() << ": " << c.status();
  if (!c.ok()) return nullptr;
  return std::dynamic_pointer_cast<const ZfpCodec>(*c);
}

Json Zfp(Json configuration) {
  return {{"name", "zfp"}, {"configuration", std::move(configuration)}};
}

Json Zfpy(Json configuration) {
  return {{"name", "numcodecs.zfpy"}, {"configuration", std::move(configuration)}};
}

// A smooth field with some noise: what zfp is made for.
template <typename T>
std::vector<T> Field(uint64_t n, uint32_t seed = 7) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> noise(-0.01, 0.01);
  std::vector<T> v(n);
  for (uint64_t i = 0; i < n; ++i) {
    const double x = std::sin(0.05 * static_cast<double>(i)) * 100 + noise(rng);
    v[i] = static_cast<T>(std::is_integral_v<T> ? std::round(x * 1000) : x);
  }
  return v;
}

template <typename T>
ByteView View(const std::vector<T>& v) {
  return ByteView(reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(T));
}

template <typename T>
std::vector<T> RoundTrip(const ZfpCodec& codec, const ChunkSpec& spec, const std::vector<T>& in,
                         Bytes* encoded_out = nullptr) {
  Bytes encoded;
  Status st = codec.Encode(spec, View(in), encoded);
  EXPECT_TRUE(st.ok()) << st;
  std::vector<T> out(in.size());
  st =
      codec.Decode(spec, encoded,
                   MutableByteView(reinterpret_cast<uint8_t*>(out.data()), out.size() * sizeof(T)));
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_LE(encoded.size(), codec.MaxEncodedSize(spec));
  if (encoded_out) *encoded_out = std::move(encoded);
  return out;
}

const std::vector<std::vector<uint64_t>> kShapes = {{37}, {5, 7}, {3, 5, 6}, {2, 3, 4, 5}};

template <typename T>
void EveryModeRoundTrips(DataTypeId id) {
  for (const auto& shape : kShapes) {
    const ChunkSpec spec = MakeSpec(DataType(id), shape);
    const std::vector<T> in = Field<T>(spec.num_elements());
    const std::string where = DataType(id).name() + " rank " + std::to_string(shape.size());
    EXPECT_EQ(RoundTrip(*Make(Zfp({{"mode", "reversible"}})), spec, in), in) << where;
    // Fixed accuracy: every value within the tolerance (both forms).
    for (const Json& codec :
         {Zfp({{"mode", "fixed_accuracy"}, {"tolerance", 0.05}}),
          Zfpy({{"mode", 4}, {"tolerance", 0.05}, {"rate", -1}, {"precision", -1}})}) {
      if (std::is_integral_v<T>) continue;
      const std::vector<T> out = RoundTrip(*Make(codec), spec, in);
      for (size_t i = 0; i < in.size(); ++i) {
        ASSERT_LE(std::fabs(static_cast<double>(out[i]) - static_cast<double>(in[i])), 0.05)
            << where << " " << codec.dump() << " element " << i;
      }
    }
    // Fixed precision and fixed rate: close at a high setting, and the rate sets the size.
    // Integers count bit planes from the type's top bit: all of them for the integer types,
    // which the lossy transform still rounds (values here reach 1e5: within 1e-3 of that).
    const int precision = std::is_integral_v<T> ? 8 * sizeof(T) : 28;
    const int rate = std::is_integral_v<T> ? 8 * sizeof(T) : 24;
    for (const Json& codec :
         {Zfp({{"mode", "fixed_precision"}, {"precision", precision}}),
          Zfpy({{"mode", 3}, {"tolerance", -1}, {"rate", -1}, {"precision", precision}}),
          Zfp({{"mode", "fixed_rate"}, {"rate", rate}}),
          Zfpy({{"mode", 2}, {"tolerance", -1}, {"rate", rate}, {"precision", -1}})}) {
      Bytes encoded;
      const std::vector<T> out = RoundTrip(*Make(codec), spec, in, &encoded);
      for (size_t i = 0; i < in.size(); ++i) {
        ASSERT_LE(std::fabs(static_cast<double>(out[i]) - static_cast<double>(in[i])),
                  std::is_integral_v<T> ? 100 : 1e-2)
            << where << " " << codec.dump() << " element " << i;
      }
      if (codec["configuration"]["mode"] == "fixed_rate") {
        // `rate` bits per value in whole blocks of 4^d values.
        uint64_t blocks = 1;
        for (uint64_t s : shape) blocks *= (s + 3) / 4;
        const uint64_t bits = blocks * rate * (uint64_t{1} << (2 * shape.size()));
        EXPECT_EQ(encoded.size(), (bits + 63) / 64 * 8) << where;
      }
    }
  }
}

TEST(ZfpCodec, EveryModeRoundTripsFloats) {
  EveryModeRoundTrips<float>(DataTypeId::kFloat32);
  EveryModeRoundTrips<double>(DataTypeId::kFloat64);
}

TEST(ZfpCodec, EveryModeRoundTripsIntegers) {
  EveryModeRoundTrips<int32_t>(DataTypeId::kInt32);
  EveryModeRoundTrips<int64_t>(DataTypeId::kInt64);
}

TEST(ZfpCodec, SmallIntegersArePromotedAndReversibleIsExact) {
  const auto codec = Make(Zfp({{"mode", "reversible"}}));
  const ChunkSpec s8 = MakeSpec(DataType(DataTypeId::kInt8), {9, 5});
  std::vector<int8_t> i8(45);
  for (size_t i = 0; i < i8.size(); ++i) i8[i] = static_cast<int8_t>(i * 37 - 128);
  EXPECT_EQ(RoundTrip(*codec, s8, i8), i8);
  const ChunkSpec u8 = MakeSpec(DataType(DataTypeId::kUInt8), {45});
  std::vector<uint8_t> vu8(45);
  for (size_t i = 0; i < vu8.size(); ++i) vu8[i] = static_cast<uint8_t>(i * 91);
  EXPECT_EQ(RoundTrip(*codec, u8, vu8), vu8);
  const ChunkSpec s16 = MakeSpec(DataType(DataTypeId::kInt16), {3, 4, 5});
  std::vector<int16_t> i16(60);
  for (size_t i = 0; i < i16.size(); ++i) i16[i] = static_cast<int16_t>(i * 1091 - 32768);
  EXPECT_EQ(RoundTrip(*codec, s16, i16), i16);
  const ChunkSpec u16 = MakeSpec(DataType(DataTypeId::kUInt16), {60});
  std::vector<uint16_t> vu16(60);
  for (size_t i = 0; i < vu16.size(); ++i) vu16[i] = static_cast<uint16_t>(i * 1093);
  EXPECT_EQ(RoundTrip(*codec, u16, vu16), vu16);
}

TEST(ZfpCodec, MoreThanFourDimensionsDropSizeOneDimensions) {
  const auto codec = Make(Zfp({{"mode", "reversible"}}));
  const ChunkSpec spec = MakeSpec(DataType(DataTypeId::kFloat64), {4, 1, 3, 1, 2, 1});
  const std::vector<double> in = Field<double>(24);
  Bytes five;
  EXPECT_EQ(RoundTrip(*codec, spec, in, &five), in);
  // The same stream as the 3-d chunk [4, 3, 2].
  Bytes three;
  RoundTrip(*codec, MakeSpec(DataType(DataTypeId::kFloat64), {4, 3, 2}), in, &three);
  EXPECT_EQ(five, three);
  // A 0-d chunk is a 1-d field of one element.
  const std::vector<double> one = {3.25};
  EXPECT_EQ(RoundTrip(*codec, MakeSpec(DataType(DataTypeId::kFloat64), {}), one), one);
  // Five dimensions of size > 1 do not fit.
  const Status five_big =
      codec->ValidateSpec(MakeSpec(DataType(DataTypeId::kFloat64), {2, 2, 2, 2, 2}));
  EXPECT_EQ(five_big.code(), Status::Code::kUnsupported);
  EXPECT_NE(five_big.message().find("[2, 2, 2, 2, 2]"), std::string::npos) << five_big;
  // zfpy sees the numpy array as it is: rank 1 to 4 only.
  const Status zfpy5 =
      Make(Zfpy({{"mode", 4}, {"tolerance", 0.1}}))
          ->ValidateSpec(MakeSpec(DataType(DataTypeId::kFloat64), {4, 1, 3, 1, 2}));
  EXPECT_EQ(zfpy5.code(), Status::Code::kUnsupported) << zfpy5;
}

TEST(ZfpCodec, OtherTypesAreUnsupportedByName) {
  for (const Json& codec : {Zfp({{"mode", "reversible"}}), Zfpy({{"mode", 4}})}) {
    for (DataTypeId id : {DataTypeId::kUInt32, DataTypeId::kUInt64, DataTypeId::kFloat16,
                          DataTypeId::kComplex64, DataTypeId::kBool}) {
      const Status st = Make(codec)->ValidateSpec(MakeSpec(DataType(id), {8}));
      EXPECT_EQ(st.code(), Status::Code::kUnsupported) << codec.dump();
      EXPECT_NE(st.message().find(DataType(id).name()), std::string::npos) << st;
    }
  }
  const Status st =
      Make(Zfpy({{"mode", 4}}))->ValidateSpec(MakeSpec(DataType(DataTypeId::kInt16), {8}));
  EXPECT_EQ(st.code(), Status::Code::kUnsupported) << st;
}

// Compresses `in` with the zfp library's high-level API, as zarrs (no header) and zfpy (full
// header first) call it.
template <typename T>
Bytes LibraryCompress(const std::vector<T>& in, zfp_type type, std::vector<size_t> n_fastest_first,
                      bool header, void (*mode)(zfp_stream*)) {
  zfp_field* f = zfp_field_alloc();
  zfp_field_set_type(f, type);
  zfp_field_set_pointer(f, const_cast<T*>(in.data()));
  if (n_fastest_first.size() == 1) zfp_field_set_size_1d(f, n_fastest_first[0]);
  if (n_fastest_first.size() == 2) zfp_field_set_size_2d(f, n_fastest_first[0], n_fastest_first[1]);
  if (n_fastest_first.size() == 3) {
    zfp_field_set_size_3d(f, n_fastest_first[0], n_fastest_first[1], n_fastest_first[2]);
  }
  zfp_stream* zs = zfp_stream_open(nullptr);
  mode(zs);
  std::vector<uint64_t> buf(zfp_stream_maximum_size(zs, f) / 8 + 2);
  bitstream* bs = stream_open(buf.data(), buf.size() * 8);
  zfp_stream_set_bit_stream(zs, bs);
  zfp_stream_rewind(zs);
  if (header) {
    EXPECT_NE(zfp_write_header(zs, f, ZFP_HEADER_FULL), 0u);
  }
  const size_t size = zfp_compress(zs, f);
  stream_close(bs);
  zfp_stream_close(zs);
  zfp_field_free(f);
  const auto* p = reinterpret_cast<const uint8_t*>(buf.data());
  return Bytes(p, p + size);
}

TEST(ZfpCodec, StreamsEqualTheLibrarysOwn) {
  // A 3-d float64 chunk [3][5][6]: the zfp field is nx = 6, ny = 5, nz = 3.
  const std::vector<double> in = Field<double>(90);
  const ChunkSpec spec = MakeSpec(DataType(DataTypeId::kFloat64), {3, 5, 6});
  struct Case {
    Json codec;
    bool header;
    void (*mode)(zfp_stream*);
  } cases[] = {
      {Zfp({{"mode", "fixed_accuracy"}, {"tolerance", 0.01}}), false,
       [](zfp_stream* s) { zfp_stream_set_accuracy(s, 0.01); }},
      {Zfp({{"mode", "fixed_precision"}, {"precision", 19}}), false,
       [](zfp_stream* s) { zfp_stream_set_precision(s, 19); }},
      {Zfp({{"mode", "fixed_rate"}, {"rate", 10.5}}), false,
       [](zfp_stream* s) { zfp_stream_set_rate(s, 10.5, zfp_type_double, 3, zfp_false); }},
      {Zfp({{"mode", "reversible"}}), false, [](zfp_stream* s) { zfp_stream_set_reversible(s); }},
      {Zfp({{"mode", "expert"}, {"minbits", 1}, {"maxbits", 13}, {"maxprec", 19}, {"minexp", -2}}),
       false, [](zfp_stream* s) { zfp_stream_set_params(s, 1, 13, 19, -2); }},
      {Zfpy({{"mode", 4}, {"tolerance", 0.01}, {"rate", -1}, {"precision", -1}}), true,
       [](zfp_stream* s) { zfp_stream_set_accuracy(s, 0.01); }},
      {Zfpy({{"mode", 2}, {"tolerance", -1}, {"rate", 8}, {"precision", -1}}), true,
       [](zfp_stream* s) { zfp_stream_set_rate(s, 8, zfp_type_double, 3, zfp_false); }},
      // numcodecs' mode 4 with tolerance -1: zfpy leaves zfp's default (expert) parameters.
      {Zfpy({{"mode", 4}}), true, [](zfp_stream*) {}},
  };
  for (const Case& c : cases) {
    const Bytes expected = LibraryCompress(in, zfp_type_double, {6, 5, 3}, c.header, c.mode);
    const auto codec = Make(c.codec);
    Bytes ours;
    ASSERT_TRUE(codec->Encode(spec, View(in), ours).ok()) << c.codec.dump();
    EXPECT_EQ(ours, expected) << c.codec.dump();
    // And our block-by-block decoder reproduces zfp_decompress exactly.
    std::vector<double> ref(in.size()), got(in.size());
    {
      std::vector<uint64_t> buf(expected.size() / 8 + 2, 0);
      std::memcpy(buf.data(), expected.data(), expected.size());
      zfp_field* f = zfp_field_3d(ref.data(), zfp_type_double, 6, 5, 3);
      zfp_stream* zs = zfp_stream_open(nullptr);
      c.mode(zs);
      bitstream* bs = stream_open(buf.data(), buf.size() * 8);
      zfp_stream_set_bit_stream(zs, bs);
      zfp_stream_rewind(zs);
      if (c.header) {
        ASSERT_NE(zfp_read_header(zs, f, ZFP_HEADER_FULL), 0u);
      }
      ASSERT_NE(zfp_decompress(zs, f), 0u);
      stream_close(bs);
      zfp_stream_close(zs);
      zfp_field_free(f);
    }
    ASSERT_TRUE(
        codec
            ->Decode(spec, expected,
                     MutableByteView(reinterpret_cast<uint8_t*>(got.data()), got.size() * 8))
            .ok());
    EXPECT_EQ(0, std::memcmp(got.data(), ref.data(), got.size() * 8)) << c.codec.dump();
  }
}

TEST(ZfpCodec, ZfpyHeaderIsTheFullZfpHeader) {
  // 'z' 'f' 'p' then the codec version, little-endian bits: the first three bytes spell "zfp".
  const auto codec = Make(Zfpy({{"mode", 4}, {"tolerance", 0.5}}));
  const std::vector<float> in = Field<float>(16);
  Bytes encoded;
  ASSERT_TRUE(
      codec->Encode(MakeSpec(DataType(DataTypeId::kFloat32), {16}), View(in), encoded).ok());
  ASSERT_GE(encoded.size(), 4u);
  EXPECT_EQ(std::string(encoded.begin(), encoded.begin() + 3), "zfp");
  // The header must describe the chunk: the same stream read as another type or shape is
  // Corruption.
  std::vector<double> wrong_type(16);
  Status st = codec->Decode(MakeSpec(DataType(DataTypeId::kFloat64), {16}), encoded,
                            MutableByteView(reinterpret_cast<uint8_t*>(wrong_type.data()), 128));
  EXPECT_EQ(st.code(), Status::Code::kCorruption) << st;
  std::vector<float> wrong_shape(16);
  st = codec->Decode(MakeSpec(DataType(DataTypeId::kFloat32), {4, 4}), encoded,
                     MutableByteView(reinterpret_cast<uint8_t*>(wrong_shape.data()), 64));
  EXPECT_EQ(st.code(), Status::Code::kCorruption) << st;
}

TEST(ZfpCodec, TruncatedAndHostileStreamsAreCorruptionNotACrash) {
  const ChunkSpec spec = MakeSpec(DataType(DataTypeId::kFloat64), {9, 10, 11});
  const std::vector<double> in = Field<double>(990);
  std::vector<double> out(990);
  const MutableByteView view(reinterpret_cast<uint8_t*>(out.data()), out.size() * 8);
  for (const Json& j :
       {Zfp({{"mode", "reversible"}}), Zfp({{"mode", "fixed_accuracy"}, {"tolerance", 1e-3}}),
        Zfp({{"mode", "fixed_rate"}, {"rate", 16}}), Zfpy({{"mode", 4}, {"tolerance", 1e-3}}),
        Zfpy({{"mode", 3}, {"precision", 20}})}) {
    const auto codec = Make(j);
    Bytes encoded;
    ASSERT_TRUE(codec->Encode(spec, View(in), encoded).ok());
    // Every prefix shorter than the stream's last word is refused.
    const size_t whole = encoded.size();
    for (size_t len = 0; len + 8 < whole; len += std::max<size_t>(1, whole / 97)) {
      const Status st = codec->Decode(spec, ByteView(encoded.data(), len), view);
      EXPECT_EQ(st.code(), Status::Code::kCorruption) << j.dump() << " length " << len;
    }
    // Random bytes: any outcome but a crash; a failure is Corruption.
    std::mt19937 rng(3);
    for (int trial = 0; trial < 50; ++trial) {
      Bytes junk(rng() % (2 * whole + 1));
      for (auto& b : junk) b = static_cast<uint8_t>(rng());
      if (trial % 2 == 0 && junk.size() > 16) std::memcpy(junk.data(), encoded.data(), 16);
      const Status st = codec->Decode(spec, junk, view);
      EXPECT_TRUE(st.ok() || st.code() == Status::Code::kCorruption) << st;
    }
  }
}

TEST(ZfpCodec, ConfigurationsAreCheckedAndWrittenBack) {
  const Json good[] = {
      Zfp({{"mode", "fixed_rate"}, {"rate", 10.5}}),
      Zfp({{"mode", "fixed_precision"}, {"precision", 19}}),
      Zfp({{"mode", "fixed_accuracy"}, {"tolerance", 0.05}}),
      Zfp({{"mode", "reversible"}}),
      Zfp({{"mode", "expert"}, {"minbits", 1}, {"maxbits", 13}, {"maxprec", 19}, {"minexp", -2}}),
      Zfpy({{"mode", 4}, {"tolerance", 0.05}, {"rate", -1.0}, {"precision", -1}}),
  };
  for (const Json& j : good) {
    const auto codec = Make(j);
    ASSERT_NE(codec, nullptr);
    EXPECT_EQ(codec->ToJson(), j);
  }
  // numcodecs writes compression_kwargs beside the fields; it is derived from them.
  const auto nc = Make(Zfpy({{"mode", 2},
                             {"rate", 8.0},
                             {"tolerance", -1.0},
                             {"precision", -1},
                             {"compression_kwargs", {{"rate", 8.0}}}}));
  EXPECT_EQ(nc->ToJson()["configuration"]["rate"], 8.0);
  EXPECT_FALSE(nc->ToJson()["configuration"].contains("compression_kwargs"));
  // Older zarrs wrote write_header false.
  EXPECT_NE(Make(Zfp({{"mode", "reversible"}, {"write_header", false}})), nullptr);

  const Json bad[] = {
      Zfp(Json::object()),
      Zfp({{"mode", "lossless"}}),
      Zfp({{"mode", 4}}),
      Zfp({{"mode", "fixed_rate"}}),
      Zfp({{"mode", "fixed_rate"}, {"rate", 0}}),
      Zfp({{"mode", "fixed_precision"}, {"precision", 65}}),
      Zfp({{"mode", "fixed_accuracy"}, {"tolerance", -1}}),
      Zfp({{"mode", "reversible"}, {"rate", 3}}),
      Zfp({{"mode", "expert"}, {"minbits", 20}, {"maxbits", 13}, {"maxprec", 19}, {"minexp", -2}}),
      Zfp({{"mode", "expert"},
           {"minbits", 1},
           {"maxbits", 4000000000u},
           {"maxprec", 19},
           {"minexp", -2}}),
      Zfpy({{"mode", "4"}}),
      Zfpy({{"mode", 4}, {"level", 3}}),
  };
  for (const Json& j : bad) {
    auto c = BuiltinCodecRegistry().Create(j);
    EXPECT_EQ(c.status().code(), Status::Code::kInvalidArgument) << j.dump() << ": " << c.status();
  }
  auto header =
      BuiltinCodecRegistry().Create(Zfp({{"mode", "reversible"}, {"write_header", true}}));
  EXPECT_EQ(header.status().code(), Status::Code::kUnsupported) << header.status();
  // numcodecs cannot encode other modes; reading never depends on the mode.
  const auto expert = Make(Zfpy({{"mode", 1}}));
  Bytes out;
  const std::vector<float> v(4, 1.0f);
  EXPECT_EQ(expert->Encode(MakeSpec(DataType(DataTypeId::kFloat32), {4}), View(v), out).code(),
            Status::Code::kInvalidArgument);
}

TEST(ZfpCodec, ArraysInShardsAndZarrV2) {
  auto store = MemoryStore::Create();
  ArrayMetadata m;
  m.shape = {20, 30};
  m.chunk_shape = {10, 30};
  m.data_type = DataType(DataTypeId::kFloat32);
  m.fill_value = *FillValue::FromJson(0, m.data_type);
  m.codecs = Json::parse(R"([{"name":"sharding_indexed","configuration":{
      "chunk_shape":[5,6],
      "codecs":[{"name":"zfp","configuration":{"mode":"reversible"}}],
      "index_codecs":[{"name":"bytes","configuration":{"endian":"little"}},{"name":"crc32c"}]}}])");
  auto arr = Array::Create(store, "a", m);
  ASSERT_TRUE(arr.ok()) << arr.status();
  const std::vector<float> in = Field<float>(600);
  ASSERT_TRUE((*arr)->Write(Region::All({20, 30}), std::span<const float>(in)).ok());
  std::vector<float> back(600);
  ASSERT_TRUE((*arr)->Read(Region::All({20, 30}), std::span<float>(back)).ok());
  EXPECT_EQ(back, in);

  // v2: the zfpy compressor replaces the bytes codec.
  ArrayMetadata v2 = m;
  v2.zarr_format = 2;
  v2.codecs =
      Json::array({Zfpy({{"mode", 4}, {"tolerance", 0.01}, {"rate", -1}, {"precision", -1}})});
  auto a2 = Array::Create(store, "v2", v2);
  ASSERT_TRUE(a2.ok()) << a2.status();
  auto zarray = store->get("v2/.zarray");
  ASSERT_TRUE(zarray.ok() && zarray->has_value());
  const Json z = Json::parse(AsString(**zarray));
  EXPECT_EQ(
      z["compressor"],
      Json({{"id", "zfpy"}, {"mode", 4}, {"tolerance", 0.01}, {"rate", -1.0}, {"precision", -1}}));
  EXPECT_EQ(z["dtype"], "<f4");
  EXPECT_TRUE(z["filters"].is_null());
  ASSERT_TRUE((*a2)->Write(Region::All({20, 30}), std::span<const float>(in)).ok());
  auto reopened = Array::Open(store, "v2");
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  ASSERT_TRUE((*reopened)->Read(Region::All({20, 30}), std::span<float>(back)).ok());
  for (size_t i = 0; i < in.size(); ++i) ASSERT_NEAR(back[i], in[i], 0.01) << i;

  // What numcodecs cannot write is refused by name.
  const Json base = {
      {"zarr_format", 2},   {"shape", {8}},
      {"chunks", {4}},      {"dtype", "<f8"},
      {"fill_value", 0},    {"order", "C"},
      {"filters", nullptr}, {"compressor", {{"id", "zfpy"}, {"mode", 4}, {"tolerance", 0.1}}}};
  EXPECT_TRUE(internal::ArrayMetadataFromV2(base, nullptr, ".zarray").ok());
  Json filtered = base;
  filtered["filters"] = Json::array({{{"id", "delta"}, {"dtype", "<f8"}}});
  Json big = base;
  big["dtype"] = ">f8";
  for (const Json& z2 : {filtered, big}) {
    auto r = internal::ArrayMetadataFromV2(z2, nullptr, ".zarray");
    EXPECT_EQ(r.status().code(), Status::Code::kUnsupported) << r.status();
    EXPECT_NE(r.status().message().find("zfpy"), std::string::npos) << r.status();
  }
}

}  // namespace
}  // namespace zarrpp
