// The numcodecs codecs (spec/codecs.md): known answers from numcodecs itself
// (tests/data/numcodecs_vectors.py) and from the checksums' definitions, round trips through
// chains and sharding, hostile input, configuration errors, and the Zarr v2 filter and compressor
// mapping (spec/zarr-v2.md).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numeric>

#include "codecs/categorize_codec.h"
#include "codecs/checksum32_codec.h"
#include "codecs/codec_chain.h"
#include "codecs/lz4_codec.h"
#include "src/metadata/metadata_v2.h"
#include "src/types/float16.h"
#include "support/codec_roundtrip.h"
#include "zarrpp/json.h"

namespace zarrpp {
namespace {

using test::BytesCodecRoundTrips;
using test::ChainRoundTrips;
using test::MakeSpec;
using test::TestBytes;

Bytes Hex(std::string_view h) {
  Bytes out(h.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<uint8_t>(std::stoi(std::string(h.substr(2 * i, 2)), nullptr, 16));
  }
  return out;
}

Bytes Text(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

template <typename T>
Bytes Of(std::initializer_list<T> values) {
  Bytes b(values.size() * sizeof(T));
  std::memcpy(b.data(), std::data(values), b.size());
  return b;
}

std::shared_ptr<const Codec> Make(const Json& j) {
  auto c = BuiltinCodecRegistry().Create(j);
  EXPECT_TRUE(c.ok()) << j.dump() << ": " << c.status();
  return c.ok() ? *c : nullptr;
}

const BytesToBytesCodec& AsBytes(const std::shared_ptr<const Codec>& c) {
  return static_cast<const BytesToBytesCodec&>(*c);
}

Bytes DecodeBytes(const Json& codec, ByteView in, DecodedSize size) {
  auto c = Make(codec);
  Bytes scratch;
  auto r = AsBytes(c).Decode(in, size, scratch);
  EXPECT_TRUE(r.ok()) << codec.dump() << ": " << r.status();
  return r.ok() ? Bytes(r->begin(), r->end()) : Bytes();
}

Bytes EncodeBytes(const Json& codec, ByteView in) {
  Bytes out;
  EXPECT_TRUE(AsBytes(Make(codec)).Encode(in, out).ok()) << codec.dump();
  return out;
}

const Bytes kText =
    Text("zarrpp numcodecs vector zarrpp numcodecs vector zarrpp numcodecs vector ");

// --- checksums --------------------------------------------------------------------------------

TEST(Checksum32, KnownAnswersFromTheDefinitions) {
  EXPECT_EQ(Adler32(Text("Wikipedia")), 0x11E60398u);  // RFC 1950's Adler-32
  EXPECT_EQ(Crc32(Text("123456789")), 0xCBF43926u);    // CRC-32/ISO-HDLC check value
  EXPECT_EQ(Adler32({}), 1u);
  EXPECT_EQ(Crc32({}), 0u);
  // Fletcher-32 over little-endian words gives 0xF04FC729 ("abcde") and 0x56502D2A ("abcdef");
  // HDF5's big-endian words swap the bytes of each 16-bit sum.
  EXPECT_EQ(Fletcher32(Text("abcde")), 0x4FF029C7u);
  EXPECT_EQ(Fletcher32(Text("abcdef")), 0x50562A2Du);
  // Long input: the folding every 360 words must match the unfolded modular sums.
  const Bytes big = TestBytes(100003, 7);
  uint64_t s1 = 0, s2 = 0;
  for (size_t i = 0; i < big.size(); i += 2) {
    const uint64_t w = (uint64_t{big[i]} << 8) | (i + 1 < big.size() ? big[i + 1] : 0);
    s1 = (s1 + w) % 65535;
    s2 = (s2 + s1) % 65535;
  }
  const uint32_t f = Fletcher32(big);
  EXPECT_EQ((f & 0xFFFF) % 65535, s1);
  EXPECT_EQ((f >> 16) % 65535, s2);
}

TEST(Checksum32Codec, NumcodecsLayoutChecksumFirstLittleEndian) {
  EXPECT_EQ(EncodeBytes({{"name", "numcodecs.adler32"}}, Text("Wikipedia")),
            Hex("9803e61157696b697065646961"));
  EXPECT_EQ(EncodeBytes({{"name", "numcodecs.crc32"}}, Text("123456789")),
            Hex("2639f4cb313233343536373839"));
  EXPECT_EQ(DecodeBytes({{"name", "numcodecs.crc32"}}, Hex("2639f4cb313233343536373839"), 9),
            Text("123456789"));
  // location "end" and fletcher32 append instead.
  EXPECT_EQ(EncodeBytes({{"name", "numcodecs.adler32"}, {"configuration", {{"location", "end"}}}},
                        Text("Wikipedia")),
            Hex("57696b6970656469619803e611"));
  EXPECT_EQ(EncodeBytes({{"name", "numcodecs.fletcher32"}}, Text("abcde")),
            Hex("6162636465c729f04f"));
}

TEST(Checksum32Codec, MismatchAndShortInputAreCorruption) {
  for (const char* name : {"numcodecs.adler32", "numcodecs.crc32", "numcodecs.fletcher32"}) {
    auto c = Make({{"name", name}});
    Bytes enc;
    ASSERT_TRUE(AsBytes(c).Encode(kText, enc).ok());
    EXPECT_TRUE(BytesCodecRoundTrips(AsBytes(c), kText));
    enc[enc.size() / 2] ^= 0x10;
    Bytes scratch;
    auto r = AsBytes(c).Decode(enc, std::nullopt, scratch);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_TRUE(r.status().IsCorruption()) << r.status();
    EXPECT_NE(r.status().message().find("mismatch"), std::string::npos) << r.status();
    auto shorter = AsBytes(c).Decode(Hex("0102"), std::nullopt, scratch);
    EXPECT_TRUE(shorter.status().IsCorruption()) << name;
  }
  auto bad = BuiltinCodecRegistry().Create(
      {{"name", "numcodecs.crc32"}, {"configuration", {{"location", "middle"}}}});
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
}

// --- compressors ------------------------------------------------------------------------------

TEST(NumcodecsCompressors, DecodeWhatNumcodecsWrote) {
  struct Vector {
    Json codec;
    const char* hex;
  } vectors[] = {
      {{{"name", "numcodecs.lz4"}},
       "48000000ff097a6172727070206e756d636f6465637320766563746f72201800185063746f7220"},
      {{{"name", "numcodecs.bz2"}},
       "425a683131415926535955a32b78000023918040002e03df102000314c00011faaa34d31a27a994a54d350da5"
       "4a4b8a71b65d3e5e14c43f17724538509055a32b780"},
      {{{"name", "numcodecs.lzma"}},
       "fd377a585a000004e6d6b4460200210116000000742fe5a3e00047001e5d003d184abdfd298b83fc2cc451830"
       "9f68fa56f378d3927581235ac0ce780000000002969d787fcad83f600013a48f0a2287d1fb6f37d0100000000"
       "04595a"},
      {{{"name", "numcodecs.lzma"}, {"configuration", {{"format", 2}, {"preset", 1}}}},
       "5d00001000ffffffffffffffff003d184aabf5832cb9a8814ff1116ffd70a1f91586515ec426c6d02be7f907f"
       "ffff5478000"},
      {{{"name", "numcodecs.zlib"}, {"configuration", {{"level", -1}}}},
       "789cab4a2c2a2a2850c82bcd4dce4f494d2e56284b4d2ec92f52a822511c0008a51bfa"},
  };
  for (const Vector& v : vectors) {
    const Bytes enc = Hex(v.hex);
    EXPECT_EQ(DecodeBytes(v.codec, enc, kText.size()), kText) << v.codec.dump();
    EXPECT_EQ(DecodeBytes(v.codec, enc, DecodedSize(std::nullopt, 16, 1 << 20)), kText)
        << v.codec.dump();
    EXPECT_TRUE(BytesCodecRoundTrips(AsBytes(Make(v.codec)), kText)) << v.codec.dump();
  }
  // The same libraries at the same settings write the same bytes as numcodecs.
  EXPECT_EQ(EncodeBytes({{"name", "numcodecs.lz4"}}, kText),
            Hex("48000000ff097a6172727070206e756d636f6465637320766563746f72201800185063746f7220"));
  EXPECT_EQ(EncodeBytes({{"name", "numcodecs.lz4"}}, {}), Hex("0000000000"));
  EXPECT_EQ(DecodeBytes({{"name", "numcodecs.lz4"}}, Hex("0000000000"), 0), Bytes());
}

TEST(NumcodecsCompressors, RoundTripSizesAndLevels) {
  const std::vector<Json> codecs = {
      {{"name", "numcodecs.lz4"}},
      {{"name", "numcodecs.lz4"}, {"configuration", {{"acceleration", 10}}}},
      {{"name", "numcodecs.bz2"}, {"configuration", {{"level", 9}}}},
      {{"name", "numcodecs.lzma"}},
      {{"name", "numcodecs.lzma"}, {"configuration", {{"preset", 0}, {"check", 0}}}},
      {{"name", "numcodecs.lzma"}, {"configuration", {{"format", 2}}}},
      {{"name", "numcodecs.shuffle"}, {"configuration", {{"elementsize", 8}}}},
      {{"name", "numcodecs.shuffle"}, {"configuration", {{"elementsize", 1}}}},
  };
  for (const Json& j : codecs) {
    auto c = Make(j);
    ASSERT_NE(c, nullptr);
    for (size_t n : {0, 8, 4096, 200000}) {
      EXPECT_TRUE(BytesCodecRoundTrips(AsBytes(c), TestBytes(n, 3))) << j.dump() << " n=" << n;
    }
  }
}

TEST(NumcodecsCompressors, EncodeOnlyParametersOutOfRangeAreClampedNotRefused) {
  auto bz2 = Make({{"name", "numcodecs.bz2"}, {"configuration", {{"level", 100}}}});
  EXPECT_EQ(bz2->ToJson()["configuration"]["level"], 9);
  auto lz4 = Make({{"name", "numcodecs.lz4"}, {"configuration", {{"acceleration", -5}}}});
  EXPECT_EQ(lz4->ToJson()["configuration"]["acceleration"], 1);
  auto lzma = Make({{"name", "numcodecs.lzma"}, {"configuration", {{"preset", 42}}}});
  EXPECT_EQ(lzma->ToJson()["configuration"]["preset"], 9);
  EXPECT_TRUE(BytesCodecRoundTrips(AsBytes(bz2), kText));
  auto raw = BuiltinCodecRegistry().Create(
      {{"name", "numcodecs.lzma"}, {"configuration", {{"format", 3}}}});
  EXPECT_EQ(raw.status().code(), Status::Code::kUnsupported);
  auto extra =
      BuiltinCodecRegistry().Create({{"name", "numcodecs.lz4"}, {"configuration", {{"level", 3}}}});
  EXPECT_EQ(extra.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(extra.status().message().find("level"), std::string::npos);
}

TEST(NumcodecsCompressors, HostileSizesAreRefusedBeforeAllocating) {
  auto lz4 = Make({{"name", "numcodecs.lz4"}});
  Bytes scratch;
  // A header announcing 4 GiB for a 5-byte block.
  auto claim =
      AsBytes(lz4).Decode(Hex("f0ffffff00"), DecodedSize(std::nullopt, 64, 1 << 30), scratch);
  ASSERT_TRUE(claim.status().IsCorruption()) << claim.status();
  EXPECT_LT(scratch.capacity(), size_t{1} << 20);
  auto wrong = AsBytes(lz4).Decode(Hex("48000000ff"), 72, scratch);
  EXPECT_TRUE(wrong.status().IsCorruption()) << wrong.status();
  EXPECT_TRUE(AsBytes(lz4).Decode(Hex("4800"), 72, scratch).status().IsCorruption());

  // Highly compressible data past what the chunk allows.
  const Bytes zeros(4 << 20, 0);
  for (const char* name : {"numcodecs.bz2", "numcodecs.lzma", "numcodecs.lz4"}) {
    auto c = Make({{"name", name}});
    Bytes enc;
    ASSERT_TRUE(AsBytes(c).Encode(zeros, enc).ok());
    Bytes out;
    auto r = AsBytes(c).Decode(enc, DecodedSize(std::nullopt, 4096, 65536), out);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_TRUE(r.status().IsCorruption()) << name << ": " << r.status();
    EXPECT_LE(out.size(), size_t{65536}) << name;
    auto exact = AsBytes(c).Decode(enc, uint64_t{1000}, out);
    EXPECT_TRUE(exact.status().IsCorruption()) << name << ": " << exact.status();
    // Truncated and garbage streams.
    auto cut = AsBytes(c).Decode(ByteView(enc).first(enc.size() / 2), std::nullopt, out);
    EXPECT_TRUE(cut.status().IsCorruption()) << name << ": " << cut.status();
    Bytes junk = TestBytes(300, 9);
    auto garbage = AsBytes(c).Decode(junk, DecodedSize(std::nullopt, 4096, 1 << 20), out);
    EXPECT_FALSE(garbage.ok()) << name;
  }
}

TEST(ShuffleCodec, MatchesNumcodecsAndRefusesPartialElements) {
  Bytes in(24);
  for (uint32_t i = 0; i < 6; ++i) std::memcpy(in.data() + 4 * i, &i, 4);
  EXPECT_EQ(EncodeBytes({{"name", "numcodecs.shuffle"}}, in),
            Hex("000102030405000000000000000000000000000000000000"));
  EXPECT_EQ(DecodeBytes({{"name", "numcodecs.shuffle"}},
                        Hex("000102030405000000000000000000000000000000000000"), 24),
            in);
  auto c = Make({{"name", "numcodecs.shuffle"}});
  Bytes out, scratch;
  EXPECT_EQ(AsBytes(c).Encode(Hex("010203"), out).code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(AsBytes(c).Decode(Hex("010203"), std::nullopt, scratch).status().IsCorruption());
}

// --- array->array -----------------------------------------------------------------------------

// Encodes `in` (decoded type `dtype`) with the one array->array codec `j` and returns the bytes.
Bytes EncodeArray(const Json& j, DataType dtype, ByteView in) {
  auto c = std::static_pointer_cast<const ArrayToArrayCodec>(Make(j));
  const ChunkSpec spec = MakeSpec(dtype, {in.size() / dtype.size()});
  auto enc_spec = c->EncodedSpec(spec);
  EXPECT_TRUE(enc_spec.ok()) << enc_spec.status();
  if (!enc_spec.ok()) return {};
  Bytes out(enc_spec->num_bytes());
  EXPECT_TRUE(c->Encode(spec, in, out).ok());
  return out;
}

Bytes DecodeArray(const Json& j, DataType dtype, uint64_t n, ByteView enc) {
  auto c = std::static_pointer_cast<const ArrayToArrayCodec>(Make(j));
  const ChunkSpec spec = MakeSpec(dtype, {n});
  Bytes out(spec.num_bytes());
  EXPECT_TRUE(c->Decode(spec, enc, out).ok());
  return out;
}

const DataType kF8(DataTypeId::kFloat64), kF4(DataTypeId::kFloat32), kI4(DataTypeId::kInt32),
    kI2(DataTypeId::kInt16), kF2(DataTypeId::kFloat16);

Bytes F8Values() {
  return Of<double>({0.0, 1.5, -2.25, 1000.125, 3.14159265, -0.001});
}
Bytes F4Values() {
  return Of<float>({0.0f, 1.5f, -2.25f, 1000.125f, 3.14159265f, -0.001f});
}

TEST(NumcodecsFilters, EncodeExactlyAsNumcodecs) {
  const Bytes i4 = Of<int32_t>({5, 7, 4, -100, INT32_MAX, INT32_MIN});
  const Json delta = {{"name", "numcodecs.delta"},
                      {"configuration", {{"dtype", "<i4"}, {"astype", "<i2"}}}};
  EXPECT_EQ(EncodeArray(delta, kI4, i4), Hex("05000200fdff98ff63000100"));
  const Json fso = {
      {"name", "numcodecs.fixedscaleoffset"},
      {"configuration", {{"offset", 1000}, {"scale", 10}, {"dtype", "<f8"}, {"astype", "<u2"}}}};
  EXPECT_EQ(EncodeArray(fso, kF8, F8Values()), Hex("f0d8ffd8dad801000fd9f0d8"));
  const Json fso4 = {
      {"name", "numcodecs.fixedscaleoffset"},
      {"configuration", {{"offset", 0.5}, {"scale", 3}, {"dtype", "<f4"}, {"astype", "|i1"}}}};
  EXPECT_EQ(EncodeArray(fso4, kF4, F4Values()), Hex("fe03f8b708fe"));
  const Json q = {{"name", "numcodecs.quantize"},
                  {"configuration", {{"digits", 2}, {"dtype", "<f8"}}}};
  EXPECT_EQ(EncodeArray(q, kF8, F8Values()),
            Hex("0000000000000000000000000000f83f00000000000002c00000000000418f400000000000200940"
                "0000000000000080"));
  const Json q2 = {{"name", "numcodecs.quantize"},
                   {"configuration", {{"digits", 1}, {"dtype", "<f4"}, {"astype", "<f2"}}}};
  EXPECT_EQ(EncodeArray(q2, kF4, F4Values()), Hex("0000003e80c0d06340420080"));
  const Json a4 = {{"name", "numcodecs.astype"},
                   {"configuration", {{"encode_dtype", "<f4"}, {"decode_dtype", "<f8"}}}};
  EXPECT_EQ(EncodeArray(a4, kF8, F8Values()),
            Hex("000000000000c03f000010c000087a44db0f49406f1283ba"));
  const Json a2 = {{"name", "numcodecs.astype"},
                   {"configuration", {{"encode_dtype", "<i2"}, {"decode_dtype", "<f8"}}}};
  EXPECT_EQ(EncodeArray(a2, kF8, F8Values()), Hex("00000100feffe80303000000"));
  const Json b5 = {{"name", "numcodecs.bitround"}, {"configuration", {{"keepbits", 5}}}};
  EXPECT_EQ(EncodeArray(b5, kF4, F4Values()),
            Hex("000000000000c03f000010c000007c4400004840000084ba"));
  const Json b0 = {{"name", "bitround"}, {"configuration", {{"keepbits", 0}}}};
  EXPECT_EQ(EncodeArray(b0, kF8, F8Values()),
            Hex("0000000000000000000000000000004000000000000000c00000000000009040000000000000104"
                "000000000000050bf"));
  Bytes f2(12);
  for (int i = 0; i < 6; ++i) {
    double d;
    std::memcpy(&d, F8Values().data() + 8 * i, 8);
    const uint16_t h = internal::DoubleToHalf(d);
    std::memcpy(f2.data() + 2 * i, &h, 2);
  }
  const Json b3 = {{"name", "numcodecs.bitround"}, {"configuration", {{"keepbits", 3}}}};
  EXPECT_EQ(EncodeArray(b3, kF2, f2), Hex("0000003e80c0006480420094"));

  // Decoding: delta and astype to a wider type are exact; fixedscaleoffset restores to 1/scale.
  // The int16 differences lost the high bits of the last two steps: the sums wrap as numpy's.
  EXPECT_EQ(DecodeArray(delta, kI4, 6, Hex("05000200fdff98ff63000100")),
            Of<int32_t>({5, 7, 4, -100, -1, 0}));
  const Bytes fso_back = DecodeArray(fso, kF8, 6, Hex("f0d8ffd8dad801000fd9f0d8"));
  double v[6];
  std::memcpy(v, fso_back.data(), sizeof(v));
  // numpy decodes the wrapped uint16 values as they are: [6553.6 6555.1 6551.4 1000.1 6556.7
  // 6553.6].
  const double expected[6] = {6553.6, 6555.1, 6551.4, 1000.1, 6556.7, 6553.6};
  for (int i = 0; i < 6; ++i) EXPECT_DOUBLE_EQ(v[i], expected[i]) << i;
}

TEST(NumcodecsFilters, DeltaRoundTripsEveryIntegerTypeWithWrapping) {
  for (const char* t : {"|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8"}) {
    auto dt = internal::ParseV2DataType(t);
    ASSERT_TRUE(dt.ok());
    const Json codecs =
        Json::array({{{"name", "numcodecs.delta"}, {"configuration", {{"dtype", t}}}},
                     {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
                     {{"name", "numcodecs.lz4"}}});
    const ChunkSpec spec = MakeSpec(dt->type, {7, 9});
    EXPECT_TRUE(ChainRoundTrips(codecs, spec, test::TestChunk(dt->type, 63, 5))) << t;
  }
  for (const char* t : {"<f2", "<f4", "<f8"}) {
    auto dt = internal::ParseV2DataType(t);
    // Small integers in float: differences and sums are exact.
    Bytes chunk(20 * dt->type.size());
    for (int i = 0; i < 20; ++i) {
      const double d = (i * 7) % 13 - 6;
      if (dt->type.size() == 2) {
        const uint16_t h = internal::DoubleToHalf(d);
        std::memcpy(chunk.data() + 2 * i, &h, 2);
      } else if (dt->type.size() == 4) {
        const float f = static_cast<float>(d);
        std::memcpy(chunk.data() + 4 * i, &f, 4);
      } else {
        std::memcpy(chunk.data() + 8 * i, &d, 8);
      }
    }
    const Json codecs =
        Json::array({{{"name", "numcodecs.delta"}, {"configuration", {{"dtype", t}}}},
                     {{"name", "bytes"}, {"configuration", {{"endian", "big"}}}}});
    EXPECT_TRUE(ChainRoundTrips(codecs, MakeSpec(dt->type, {20}), chunk)) << t;
  }
}

TEST(NumcodecsFilters, AstypeChangesTheStoredTypeAndSize) {
  // int16 data stored as float64: lossless, and the chain knows the encoded size.
  const Json codecs =
      Json::array({{{"name", "numcodecs.astype"},
                    {"configuration", {{"encode_dtype", "<f8"}, {"decode_dtype", "<i2"}}}},
                   {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}});
  auto chain = CodecChain::FromJson(codecs);
  ASSERT_TRUE(chain.ok()) << chain.status();
  ChunkSpec spec = MakeSpec(kI2, {4, 5});
  const int16_t fill = -7;
  std::memcpy(spec.fill_value.bytes.data(), &fill, 2);
  auto prepared = chain->Prepare(spec);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_EQ((*prepared)->encoded_size(), std::optional<uint64_t>(20 * 8));
  EXPECT_EQ((*prepared)->array_to_bytes_spec().dtype, kF8);
  double encoded_fill;
  std::memcpy(&encoded_fill, (*prepared)->array_to_bytes_spec().fill_value.bytes.data(), 8);
  EXPECT_EQ(encoded_fill, -7.0);
  EXPECT_TRUE(ChainRoundTrips(codecs, spec, test::TestChunk(kI2, 20, 2)));
  // A chunk of another type than decode_dtype is refused when the chain is prepared.
  auto wrong = chain->Prepare(MakeSpec(kI4, {4, 5}));
  ASSERT_EQ(wrong.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(wrong.status().message().find("int16"), std::string::npos) << wrong.status();
}

TEST(NumcodecsFilters, LossyFiltersStayWithinTheirTolerance) {
  std::vector<double> values(1000);
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(0.01 * i) * 123.456;
  const ByteView in(reinterpret_cast<const uint8_t*>(values.data()), values.size() * 8);
  struct Case {
    Json codec;
    double tolerance;
  } cases[] = {
      {{{"name", "numcodecs.quantize"}, {"configuration", {{"digits", 3}, {"dtype", "<f8"}}}},
       0.001},
      {{{"name", "numcodecs.fixedscaleoffset"},
        {"configuration", {{"offset", 0}, {"scale", 100}, {"dtype", "<f8"}, {"astype", "<i4"}}}},
       0.005},
      {{{"name", "bitround"}, {"configuration", {{"keepbits", 10}}}}, 123.456 / 1024},
      {{{"name", "numcodecs.astype"},
        {"configuration", {{"encode_dtype", "<f4"}, {"decode_dtype", "<f8"}}}},
       1e-4},
  };
  for (const Case& c : cases) {
    const Json codecs = Json::array({c.codec,
                                     {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
                                     {{"name", "numcodecs.zlib"}}});
    auto chain = CodecChain::FromJson(codecs);
    ASSERT_TRUE(chain.ok()) << chain.status();
    auto p = chain->Prepare(MakeSpec(kF8, {1000}));
    ASSERT_TRUE(p.ok()) << p.status();
    ChainScratch scratch;
    auto enc = (*p)->Encode(in, scratch);
    ASSERT_TRUE(enc.ok()) << enc.status();
    const Bytes stored(enc->begin(), enc->end());
    std::vector<double> back(1000);
    ChainScratch scratch2;
    ASSERT_TRUE((*p)->Decode(stored, MutableByteView(reinterpret_cast<uint8_t*>(back.data()), 8000),
                             scratch2)
                    .ok());
    double worst = 0;
    for (size_t i = 0; i < values.size(); ++i)
      worst = std::max(worst, std::fabs(back[i] - values[i]));
    EXPECT_LE(worst, c.tolerance) << c.codec.dump();
    EXPECT_GT(worst, 0) << c.codec.dump() << " is lossy on this data";
  }
}

TEST(BitroundCodec, IntegersRoundFromTheMostSignificantSetBit) {
  // The zarr-extensions bitround sample data (uint8, keepbits 3).
  const Json br3 = {{"name", "bitround"}, {"configuration", {{"keepbits", 3}}}};
  EXPECT_EQ(EncodeArray(br3, DataType(DataTypeId::kUInt8),
                        Of<uint8_t>({0, 1, 10, 11, 100, 123, 200, 208, 209, 255})),
            Of<uint8_t>({0, 1, 10, 12, 96, 128, 192, 192, 224, 224}));
  // zarrs' uint32 case: 0, 1024, 1280, 1664, 1685, 123145182, 4294967295.
  EXPECT_EQ(EncodeArray(br3, DataType(DataTypeId::kUInt32),
                        Of<uint32_t>({0, 1024, 1280, 1664, 1685, 123145182, 4294967295u})),
            Of<uint32_t>({0, 1024, 1280, 1536, 1792, 117440512, 3758096384u}));
  // Signed types round their two's complement pattern; int64 and the time types likewise.
  EXPECT_EQ(EncodeArray(br3, DataType(DataTypeId::kInt8), Of<int8_t>({-1, 100, -100})),
            Of<int8_t>({-32, 96, -96}));
  EXPECT_EQ(EncodeArray(br3, DataType(DataTypeId::kInt64), Of<int64_t>({1685, -1})),
            Of<int64_t>({1792, static_cast<int64_t>(0xe000000000000000ull)}));
  // Decoding is the identity; keepbits 0 is refused for integers.
  EXPECT_EQ(DecodeArray(br3, DataType(DataTypeId::kUInt16), 2, Of<uint16_t>({1685, 7})),
            Of<uint16_t>({1685, 7}));
  auto zero = CodecChain::FromJson(Json::array(
      {{{"name", "bitround"}, {"configuration", {{"keepbits", 0}}}}, {{"name", "bytes"}}}));
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(zero->Prepare(MakeSpec(DataType(DataTypeId::kUInt8), {4})).status().code(),
            Status::Code::kInvalidArgument);
}

TEST(BitroundCodec, OtherTypesAreUnsupportedAndTooManyKeepbitsInvalid) {
  auto chain = CodecChain::FromJson(Json::array(
      {{{"name", "bitround"}, {"configuration", {{"keepbits", 3}}}}, {{"name", "bytes"}}}));
  ASSERT_TRUE(chain.ok());
  EXPECT_EQ(chain->Prepare(MakeSpec(DataType(DataTypeId::kBool), {4})).status().code(),
            Status::Code::kUnsupported);
  auto big = CodecChain::FromJson(
      Json::array({{{"name", "bitround"}, {"configuration", {{"keepbits", 24}}}},
                   {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}}));
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->Prepare(MakeSpec(kF4, {4})).status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(big->Prepare(MakeSpec(kF8, {4})).ok());
  // keepbits equal to the mantissa width leaves the values as they are.
  const Bytes f4 = F4Values();
  EXPECT_EQ(EncodeArray({{"name", "bitround"}, {"configuration", {{"keepbits", 23}}}}, kF4, f4),
            f4);
}

TEST(NumcodecsFilters, ConfigurationErrorsNameTheField) {
  struct Case {
    Json codec;
    Status::Code code;
    const char* needle;
  } cases[] = {
      {{{"name", "numcodecs.delta"}}, Status::Code::kInvalidArgument, "dtype"},
      {{{"name", "numcodecs.delta"}, {"configuration", {{"dtype", "<i4"}, {"bogus", 1}}}},
       Status::Code::kInvalidArgument,
       "bogus"},
      {{{"name", "numcodecs.delta"}, {"configuration", {{"dtype", "<c8"}}}},
       Status::Code::kUnsupported,
       "complex64"},
      {{{"name", "numcodecs.quantize"}, {"configuration", {{"digits", 2}, {"dtype", "<i4"}}}},
       Status::Code::kInvalidArgument,
       "float"},
      {{{"name", "numcodecs.fixedscaleoffset"},
        {"configuration", {{"offset", 0}, {"scale", 0}, {"dtype", "<f8"}}}},
       Status::Code::kInvalidArgument,
       "scale"},
      {{{"name", "numcodecs.astype"}, {"configuration", {{"decode_dtype", "<f8"}}}},
       Status::Code::kInvalidArgument,
       "encode_dtype"},
      {{{"name", "reshape"}, {"configuration", {{"shape", {-1, -1}}}}},
       Status::Code::kInvalidArgument,
       "-1"},
      {{{"name", "reshape"}, {"configuration", {{"shape", {0}}}}},
       Status::Code::kInvalidArgument,
       "shape"},
      {{{"name", "zarrs.squeeze"}, {"configuration", {{"axes", {0}}}}},
       Status::Code::kInvalidArgument,
       "axes"},
  };
  for (const Case& c : cases) {
    auto r = BuiltinCodecRegistry().Create(c.codec);
    ASSERT_FALSE(r.ok()) << c.codec.dump();
    EXPECT_EQ(r.status().code(), c.code) << c.codec.dump() << ": " << r.status();
    EXPECT_NE(r.status().ToString().find(c.needle), std::string::npos) << r.status();
  }
}

TEST(ReshapeAndSqueeze, ShapesFollowTheConfigurationAndBytesStay) {
  auto reshape = std::static_pointer_cast<const ArrayToArrayCodec>(
      Make({{"name", "reshape"}, {"configuration", {{"shape", {{0, 1}, -1, {3}, 2}}}}}));
  auto enc = reshape->EncodedSpec(MakeSpec(kI2, {2, 3, 4, 5, 2}));
  ASSERT_TRUE(enc.ok()) << enc.status();
  EXPECT_EQ(enc->shape, (std::vector<uint64_t>{6, 4, 5, 2}));
  auto fixed = std::static_pointer_cast<const ArrayToArrayCodec>(
      Make({{"name", "reshape"}, {"configuration", {{"shape", {{0, 1}, 4, {3}, 2}}}}}));
  EXPECT_TRUE(fixed->EncodedSpec(MakeSpec(kI2, {2, 3, 4, 5, 2})).ok());
  auto bad = fixed->EncodedSpec(MakeSpec(kI2, {2, 3, 4, 5, 3}));
  ASSERT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("360"), std::string::npos) << bad.status();
  auto indivisible = reshape->EncodedSpec(MakeSpec(kI2, {1, 1, 1, 7, 3}));
  EXPECT_EQ(indivisible.status().code(), Status::Code::kInvalidArgument);
  auto squeeze =
      std::static_pointer_cast<const ArrayToArrayCodec>(Make({{"name", "zarrs.squeeze"}}));
  EXPECT_EQ(squeeze->EncodedSpec(MakeSpec(kI2, {1, 4, 1, 3}))->shape,
            (std::vector<uint64_t>{4, 3}));
  for (const Json& first : {Json{{"name", "reshape"}, {"configuration", {{"shape", {-1}}}}},
                            Json{{"name", "zarrs.squeeze"}}}) {
    // With transpose after them, the reshaped layout decides the stored bytes.
    const Json codecs = Json::array({first,
                                     {{"name", "bytes"}, {"configuration", {{"endian", "big"}}}},
                                     {{"name", "numcodecs.bz2"}}});
    EXPECT_TRUE(ChainRoundTrips(codecs, MakeSpec(kI4, {1, 6, 1, 5}), test::TestChunk(kI4, 30, 4)))
        << first.dump();
  }
}

TEST(NumcodecsCodecs, InsideShardingInnerChains) {
  const Json inner = Json::array(
      {{{"name", "numcodecs.delta"}, {"configuration", {{"dtype", "<i4"}, {"astype", "<i8"}}}},
       {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
       {{"name", "numcodecs.shuffle"}, {"configuration", {{"elementsize", 8}}}},
       {{"name", "numcodecs.lz4"}},
       {{"name", "numcodecs.adler32"}}});
  const Json codecs =
      Json::array({{{"name", "sharding_indexed"},
                    {"configuration",
                     {{"chunk_shape", Json::parse("[4, 4]")},
                      {"codecs", inner},
                      {"index_codecs",
                       Json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
                                    {{"name", "numcodecs.fletcher32"}}})}}}},
                   {{"name", "numcodecs.bz2"}}});
  EXPECT_TRUE(ChainRoundTrips(codecs, MakeSpec(kI4, {8, 12}), test::TestChunk(kI4, 96, 8)));
}

TEST(BloscCodec, SnappyRoundTripsAndNumericShuffleIsRead) {
  auto snappy = BuiltinCodecRegistry().Create(
      {{"name", "blosc"},
       {"configuration", {{"cname", "snappy"}, {"clevel", 5}, {"shuffle", 1}, {"typesize", 4}}}});
  ASSERT_TRUE(snappy.ok()) << snappy.status();
  EXPECT_EQ((*snappy)->ToJson()["configuration"]["shuffle"], "shuffle");
  EXPECT_TRUE(BytesCodecRoundTrips(AsBytes(*snappy), TestBytes(50000, 2)));
}

// --- Zarr v2 ----------------------------------------------------------------------------------

Json Zarray(Json overrides) {
  Json z = {{"zarr_format", 2},      {"shape", {10, 6}}, {"chunks", {4, 3}}, {"dtype", "<i4"},
            {"compressor", nullptr}, {"fill_value", 0},  {"order", "C"},     {"filters", nullptr}};
  for (auto& [k, v] : overrides.items()) z[k] = v;
  return z;
}

TEST(ZarrV2Numcodecs, EncodeOnlyLevelsNumcodecsWroteAreRead) {
  struct Case {
    Json compressor;
    const char* name;
    int level;
  } cases[] = {
      {{{"id", "zstd"}, {"level", 100}}, "zstd", 22},
      {{{"id", "zstd"}, {"level", -200000}}, "zstd", -131072},
      {{{"id", "gzip"}, {"level", -1}}, "gzip", 6},
      {{{"id", "zlib"}, {"level", -1}}, "numcodecs.zlib", 6},
      {{{"id", "zlib"}, {"level", 12}}, "numcodecs.zlib", 9},
      {{{"id", "bz2"}, {"level", 0}}, "numcodecs.bz2", 1},
  };
  for (const Case& c : cases) {
    auto m =
        internal::ArrayMetadataFromV2(Zarray({{"compressor", c.compressor}}), nullptr, ".zarray");
    ASSERT_TRUE(m.ok()) << c.compressor.dump() << ": " << m.status();
    EXPECT_EQ(m->codecs->back()["name"], c.name);
    EXPECT_EQ(m->codecs->back()["configuration"]["level"], c.level) << c.compressor.dump();
  }
}

TEST(ZarrV2Numcodecs, BloscShuffleAsAStringIsRead) {
  for (const char* s : {"noshuffle", "shuffle", "bitshuffle"}) {
    auto m = internal::ArrayMetadataFromV2(
        Zarray(
            {{"compressor", {{"id", "blosc"}, {"cname", "zstd"}, {"clevel", 3}, {"shuffle", s}}}}),
        nullptr, ".zarray");
    ASSERT_TRUE(m.ok()) << s << ": " << m.status();
    EXPECT_EQ(m->codecs->back()["configuration"]["shuffle"], s);
  }
  auto bad = internal::ArrayMetadataFromV2(
      Zarray({{"compressor", {{"id", "blosc"}, {"shuffle", "sideways"}}}}), nullptr, ".zarray");
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("sideways"), std::string::npos);
}

TEST(ZarrV2Numcodecs, FiltersMapIntoTheChainAndBack) {
  const Json filters = Json::array({{{"id", "delta"}, {"dtype", "<i4"}, {"astype", "<i2"}},
                                    {{"id", "shuffle"}, {"elementsize", 2}},
                                    {{"id", "crc32"}}});
  const Json compressor = {{"id", "lz4"}, {"acceleration", 1}};
  auto m = internal::ArrayMetadataFromV2(
      Zarray({{"filters", filters}, {"compressor", compressor}, {"order", "F"}}), nullptr,
      ".zarray");
  ASSERT_TRUE(m.ok()) << m.status();
  std::vector<std::string> names;
  for (const Json& c : *m->codecs) names.push_back(c["name"]);
  EXPECT_EQ(names,
            (std::vector<std::string>{"transpose", "numcodecs.delta", "bytes", "numcodecs.shuffle",
                                      "numcodecs.crc32", "numcodecs.lz4"}));
  auto back = internal::ArrayMetadataToV2(*m, ".zarray");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ((*back)["order"], "F");
  EXPECT_EQ((*back)["compressor"], compressor);
  EXPECT_EQ((*back)["filters"], filters);

  // A big-endian typestr in a filter would make numcodecs read little-endian bytes as big.
  m->codecs = Json::array({{{"name", "numcodecs.delta"}, {"configuration", {{"dtype", ">i4"}}}},
                           {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}});
  auto big = internal::ArrayMetadataToV2(*m, ".zarray");
  ASSERT_EQ(big.status().code(), Status::Code::kUnsupported);
  EXPECT_NE(big.status().message().find("numcodecs.delta"), std::string::npos) << big.status();

  // A value filter after a byte filter has no v3 form; strings filters are Unsupported by name.
  auto after = internal::ArrayMetadataFromV2(
      Zarray(
          {{"filters", Json::array({{{"id", "shuffle"}}, {{"id", "delta"}, {"dtype", "<i4"}}})}}),
      nullptr, ".zarray");
  EXPECT_EQ(after.status().code(), Status::Code::kUnsupported);
  // categorize is read for "U" arrays (CategorizeCodec tests), not for object arrays.
  auto cat = internal::ArrayMetadataFromV2(
      Zarray(
          {{"dtype", "|O"},
           {"filters", Json::array({{{"id", "categorize"}, {"labels", {"a"}}, {"dtype", "|O"}}})}}),
      nullptr, ".zarray");
  ASSERT_EQ(cat.status().code(), Status::Code::kUnsupported);
  EXPECT_NE(cat.status().message().find("categorize"), std::string::npos);
  // zfpy is read (tests/zfp_test.cc), but numcodecs cannot write it for order F.
  auto zfpy = internal::ArrayMetadataFromV2(
      Zarray({{"compressor", {{"id", "zfpy"}, {"mode", 4}}}, {"order", "F"}}), nullptr, ".zarray");
  ASSERT_EQ(zfpy.status().code(), Status::Code::kUnsupported);
  EXPECT_NE(zfpy.status().message().find("zfpy"), std::string::npos);
}

// Element bytes of a fixed_length_utf32 value (UTF-32 little-endian, zero-padded to `k` units).
Bytes Utf32(std::u32string_view s, size_t k) {
  Bytes b(4 * k, 0);
  std::memcpy(b.data(), s.data(), 4 * std::min(s.size(), k));
  return b;
}

TEST(CategorizeCodec, MatchesNumcodecs) {
  // numcodecs 0.11: Categorize(labels=["female", "male", "héllo-long"], dtype="<U5",
  // astype="<u2").encode(np.array(["male", "female", "x", "male", "", "hé"], dtype="<U5"))
  // = 02 00 00 00 00 00 02 00 00 00 00 00 (NumPy cut "female" to "femal": no label matches);
  // decode([0, 1, 2, 3, 4, 7]) = ["", "femal", "male", "héllo", "", ""].
  const Json conf = {
      {"labels", {"female", "male", "h\u00e9llo-long"}}, {"dtype", "<U5"}, {"astype", "<u2"}};
  auto codec = Make({{"name", "numcodecs.categorize"}, {"configuration", conf}});
  ASSERT_NE(codec, nullptr);
  const auto& aa = static_cast<const ArrayToArrayCodec&>(*codec);
  const DataType u5(DataTypeId::kFixedUtf32, 20);
  const ChunkSpec spec = MakeSpec(u5, {6});
  Bytes in;
  for (std::u32string_view v : {U"male", U"femal", U"x", U"male", U"", U"h\u00e9"}) {
    const Bytes e = Utf32(v, 5);
    in.insert(in.end(), e.begin(), e.end());
  }
  Bytes enc(12);
  ASSERT_TRUE(aa.Encode(spec, in, enc).ok());
  EXPECT_EQ(enc, Hex("020000000000020000000000"));
  Bytes dec(6 * 20);
  ASSERT_TRUE(aa.Decode(spec, Of<uint16_t>({0, 1, 2, 3, 4, 7}), dec).ok());
  Bytes expected;
  for (std::u32string_view v : {U"", U"femal", U"male", U"h\u00e9llo", U"", U""}) {
    const Bytes e = Utf32(v, 5);
    expected.insert(expected.end(), e.begin(), e.end());
  }
  EXPECT_EQ(dec, expected);
  EXPECT_EQ(codec->ToJson()["configuration"], conf);
  auto spec_out = aa.EncodedSpec(spec);
  ASSERT_TRUE(spec_out.ok()) << spec_out.status();
  EXPECT_EQ(spec_out->dtype, DataType(DataTypeId::kUInt16));

  // The v2 filter maps to it and back; other dtypes are refused by name.
  auto m = internal::ArrayMetadataFromV2(Zarray({{"dtype", "<U5"},
                                                 {"fill_value", ""},
                                                 {"filters", Json::array({{{"id", "categorize"},
                                                                           {"labels", {"a", "b"}},
                                                                           {"dtype", "<U5"},
                                                                           {"astype", "|u1"}}})}}),
                                         nullptr, ".zarray");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->codecs[0]["name"], "numcodecs.categorize");
  auto back = internal::ArrayMetadataToV2(*m, ".zarray");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ((*back)["filters"][0]["id"], "categorize");
  EXPECT_EQ((*back)["filters"][0]["labels"], Json({"a", "b"}));
  for (const Json& bad : {Json{{"labels", {"a"}}, {"dtype", "<i4"}},
                          Json{{"labels", {"a"}}, {"dtype", "<U2"}, {"astype", "<f4"}},
                          Json{{"labels", {1}}, {"dtype", "<U2"}}, Json{{"labels", {"a"}}}}) {
    auto r =
        BuiltinCodecRegistry().Create({{"name", "numcodecs.categorize"}, {"configuration", bad}});
    EXPECT_FALSE(r.ok()) << bad.dump();
  }
}

}  // namespace
}  // namespace zarrpp
