// Tests for the built-in codecs, the registry and codec chains.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <complex>
#include <cstring>
#include <string>
#include <vector>

#include "codecs/blosc_codec.h"
#include "codecs/bytes_codec.h"
#include "codecs/codec.h"
#include "codecs/codec_chain.h"
#include "codecs/crc32c_codec.h"
#include "codecs/gzip_codec.h"
#include "codecs/transpose_codec.h"
#include "codecs/zstd_codec.h"
#include "support/codec_roundtrip.h"
#include "zarrpp/json.h"

namespace zarrpp {
namespace {

using test::AllDataTypes;
using test::BytesCodecRoundTrips;
using test::ChainRoundTrips;
using test::MakeSpec;
using test::TestBytes;
using test::TestChunk;

const DataType kUInt8(DataTypeId::kUInt8);
const DataType kUInt16(DataTypeId::kUInt16);
const DataType kInt32(DataTypeId::kInt32);
const DataType kFloat32(DataTypeId::kFloat32);

std::shared_ptr<const Codec> MustCreate(const Json& j) {
  auto codec = BuiltinCodecRegistry().Create(j);
  EXPECT_TRUE(codec.ok()) << j.dump() << ": " << codec.status();
  return codec.ok() ? *codec : nullptr;
}

const BytesToBytesCodec& AsBytesToBytes(const std::shared_ptr<const Codec>& c) {
  return static_cast<const BytesToBytesCodec&>(*c);
}

std::shared_ptr<const PreparedChain> MustPrepare(const Json& codecs, const ChunkSpec& spec) {
  auto chain = CodecChain::FromJson(codecs);
  EXPECT_TRUE(chain.ok()) << chain.status();
  if (!chain.ok()) return nullptr;
  auto prepared = chain->Prepare(spec);
  EXPECT_TRUE(prepared.ok()) << prepared.status();
  return prepared.ok() ? *prepared : nullptr;
}

Status PrepareStatus(const Json& codecs, const ChunkSpec& spec) {
  auto chain = CodecChain::FromJson(codecs);
  if (!chain.ok()) return chain.status();
  return chain->Prepare(spec).status();
}

Json BytesLE() {
  return {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
}
Json BytesBE() {
  return {{"name", "bytes"}, {"configuration", {{"endian", "big"}}}};
}

// Reference encoders and decoders (zlib, libzstd) for interoperability checks. The test binary
// links only zarrpp, which keeps those libraries private, so their entry points are resolved at
// run time from the copies zarrpp already loaded.
template <typename Fn>
Fn* Resolve(const char* library, const char* symbol) {
  void* handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    ADD_FAILURE() << "cannot load " << library << ": " << dlerror();
    return nullptr;
  }
  void* fn = dlsym(handle, symbol);
  if (fn == nullptr) ADD_FAILURE() << "cannot find " << symbol << " in " << library;
  return reinterpret_cast<Fn*>(fn);
}
#define REFERENCE_FN(library, name) \
  static const auto ref_##name = Resolve<decltype(name)>(library, #name)
#define ZSTD_FN(name) REFERENCE_FN("libzstd.so.1", name)
#define ZLIB_FN(name) REFERENCE_FN("libz.so.1", name)

// Typical corruptions of a valid encoding: truncations at several points and pure garbage.
std::vector<Bytes> DamagedVariants(const Bytes& good) {
  std::vector<Bytes> out;
  for (size_t len : {size_t{0}, size_t{1}, size_t{3}, size_t{5}, size_t{15}, size_t{16},
                     good.size() / 2, good.size() - 1}) {
    if (len < good.size()) out.emplace_back(good.begin(), good.begin() + len);
  }
  out.push_back(TestBytes(good.size(), 99));
  out.push_back(TestBytes(64, 7));
  return out;
}

// Asserts that every damaged variant of `good` fails with Corruption through every decode path.
void ExpectDamageIsCorruption(const BytesToBytesCodec& codec, const Bytes& good,
                              size_t decoded_size) {
  for (const Bytes& bad : DamagedVariants(good)) {
    Bytes scratch;
    auto known = codec.Decode(bad, decoded_size, scratch);
    EXPECT_TRUE(known.status().IsCorruption())
        << codec.name() << " " << bad.size() << " bytes: " << known.status();
    auto unknown = codec.Decode(bad, std::nullopt, scratch);
    EXPECT_TRUE(unknown.status().IsCorruption())
        << codec.name() << " " << bad.size() << " bytes, size unknown: " << unknown.status();
    Bytes out(decoded_size);
    Status into = codec.DecodeInto(bad, out);
    EXPECT_TRUE(into.IsCorruption()) << codec.name() << " " << bad.size() << " bytes: " << into;
  }
}

// ---------------------------------------------------------------------------------------------
// Every codec, every data type.

TEST(Codecs, EveryCodecRoundTripsEveryDataType) {
  for (const DataType& dtype : AllDataTypes()) {
    const ChunkSpec spec = MakeSpec(dtype, {6, 7});
    const Bytes chunk = TestChunk(dtype, spec.num_elements());
    const Json blosc = {{"name", "blosc"},
                        {"configuration",
                         {{"cname", "lz4"},
                          {"clevel", 5},
                          {"shuffle", "shuffle"},
                          {"typesize", dtype.size()},
                          {"blocksize", 0}}}};
    const std::vector<Json> chains = {
        Json::array({BytesLE()}),
        Json::array({BytesBE()}),
        Json::array({{{"name", "transpose"}, {"configuration", {{"order", {1, 0}}}}}, BytesBE()}),
        Json::array({BytesLE(), blosc}),
        Json::array({BytesBE(), {{"name", "zstd"}, {"configuration", {{"level", 3}}}}}),
        Json::array({BytesLE(), {{"name", "gzip"}, {"configuration", {{"level", 5}}}}}),
        Json::array({BytesBE(), "crc32c"}),
    };
    for (const Json& codecs : chains) {
      EXPECT_TRUE(ChainRoundTrips(codecs, spec, chunk)) << dtype.name();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// bytes

TEST(BytesCodec, BigEndianWritesMostSignificantByteFirst) {
  auto prepared = MustPrepare(Json::array({BytesBE()}), MakeSpec(kUInt16, {2}));
  ASSERT_NE(prepared, nullptr);
  const uint16_t values[2] = {0x0102, 0xA0B0};
  ChainScratch scratch;
  auto encoded = prepared->Encode({reinterpret_cast<const uint8_t*>(values), 4}, scratch);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_EQ(Bytes(encoded->begin(), encoded->end()), (Bytes{0x01, 0x02, 0xA0, 0xB0}));
}

TEST(BytesCodec, LittleEndianWritesLeastSignificantByteFirst) {
  auto prepared = MustPrepare(Json::array({BytesLE()}), MakeSpec(kInt32, {1}));
  ASSERT_NE(prepared, nullptr);
  const int32_t value = 0x01020304;
  ChainScratch scratch;
  auto encoded = prepared->Encode({reinterpret_cast<const uint8_t*>(&value), 4}, scratch);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_EQ(Bytes(encoded->begin(), encoded->end()), (Bytes{0x04, 0x03, 0x02, 0x01}));
}

TEST(BytesCodec, BigEndianComplexSwapsEachPartSeparately) {
  const DataType c64(DataTypeId::kComplex64);
  auto prepared = MustPrepare(Json::array({BytesBE()}), MakeSpec(c64, {1}));
  ASSERT_NE(prepared, nullptr);
  const std::complex<float> value(1.0f, 2.0f);  // 0x3F800000, 0x40000000
  ChainScratch scratch;
  auto encoded = prepared->Encode({reinterpret_cast<const uint8_t*>(&value), 8}, scratch);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_EQ(Bytes(encoded->begin(), encoded->end()),
            (Bytes{0x3F, 0x80, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00}));
}

TEST(BytesCodec, BigEndianFloat64KnownBytes) {
  const DataType f64(DataTypeId::kFloat64);
  auto prepared = MustPrepare(Json::array({BytesBE()}), MakeSpec(f64, {1}));
  ASSERT_NE(prepared, nullptr);
  const double value = 1.0;  // 0x3FF0000000000000
  ChainScratch scratch;
  auto encoded = prepared->Encode({reinterpret_cast<const uint8_t*>(&value), 8}, scratch);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_EQ(Bytes(encoded->begin(), encoded->end()), (Bytes{0x3F, 0xF0, 0, 0, 0, 0, 0, 0}));
}

TEST(BytesCodec, RawBitsAndBoolAreNeverSwapped) {
  const DataType r24(DataTypeId::kRawBits, 3);
  auto prepared = MustPrepare(Json::array({BytesBE()}), MakeSpec(r24, {2}));
  ASSERT_NE(prepared, nullptr);
  const Bytes raw = {1, 2, 3, 4, 5, 6};
  ChainScratch scratch;
  auto encoded = prepared->Encode(raw, scratch);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_EQ(Bytes(encoded->begin(), encoded->end()), raw);

  const DataType b(DataTypeId::kBool);
  auto bytes = BytesCodec::Make({BytesCodec::Endian::kBig});
  EXPECT_TRUE(bytes->IsIdentity(MakeSpec(b, {4})));
  EXPECT_TRUE(bytes->IsIdentity(MakeSpec(r24, {4})));
  EXPECT_FALSE(bytes->IsIdentity(MakeSpec(kUInt16, {4})));
}

TEST(BytesCodec, IsIdentityForLittleEndianAndOneByteTypes) {
  auto little = BytesCodec::Make({BytesCodec::Endian::kLittle});
  auto none = BytesCodec::Make({});
  EXPECT_TRUE(little->IsIdentity(MakeSpec(kFloat32, {3})));
  EXPECT_TRUE(none->IsIdentity(MakeSpec(kUInt8, {3})));
  EXPECT_EQ(little->EncodedSize(MakeSpec(kFloat32, {3, 5})), std::optional<uint64_t>(60));
}

TEST(BytesCodec, MissingEndianIsRefusedForMultiByteTypes) {
  Status s = PrepareStatus(Json::array({{{"name", "bytes"}}}), MakeSpec(kUInt16, {4}));
  EXPECT_TRUE(s.IsInvalidArgument()) << s;
  EXPECT_NE(s.message().find("endian"), std::string::npos) << s;
  EXPECT_NE(s.message().find("uint16"), std::string::npos) << s;
}

TEST(BytesCodec, MissingEndianIsAcceptedWithoutByteOrder) {
  // Short-hand and object forms, for 1-byte types and for r<N> (raw bytes have no byte order).
  for (const Json& bytes : {Json("bytes"), Json{{"name", "bytes"}}}) {
    for (const DataType& dtype : {kUInt8, DataType(DataTypeId::kInt8), DataType(DataTypeId::kBool),
                                  DataType(DataTypeId::kRawBits, 2)}) {
      const ChunkSpec spec = MakeSpec(dtype, {5});
      EXPECT_TRUE(ChainRoundTrips(Json::array({bytes}), spec, TestChunk(dtype, 5))) << dtype.name();
    }
  }
}

TEST(BytesCodec, UnknownEndianValueIsInvalidArgument) {
  auto codec =
      BuiltinCodecRegistry().Create({{"name", "bytes"}, {"configuration", {{"endian", "middle"}}}});
  EXPECT_TRUE(codec.status().IsInvalidArgument()) << codec.status();
  EXPECT_NE(codec.status().message().find("middle"), std::string::npos);
  auto extra = BuiltinCodecRegistry().Create(
      {{"name", "bytes"}, {"configuration", {{"endian", "little"}, {"order", "C"}}}});
  EXPECT_TRUE(extra.status().IsInvalidArgument()) << extra.status();
}

TEST(BytesCodec, WrongEncodedSizeIsCorruption) {
  auto prepared = MustPrepare(Json::array({BytesBE()}), MakeSpec(kUInt16, {4}));
  ASSERT_NE(prepared, nullptr);
  ChainScratch scratch;
  Bytes out(8);
  for (size_t n : {0, 7, 9}) {
    Status s = prepared->Decode(Bytes(n, 1), out, scratch);
    EXPECT_TRUE(s.IsCorruption()) << n << ": " << s;
  }
  // The identity path checks too.
  auto identity = MustPrepare(Json::array({BytesLE()}), MakeSpec(kUInt16, {4}));
  ASSERT_NE(identity, nullptr);
  EXPECT_TRUE(identity->Decode(Bytes(7, 1), out, scratch).IsCorruption());
}

// ---------------------------------------------------------------------------------------------
// transpose

TEST(TransposeCodec, TwoByThreeTransposesToThreeByTwo) {
  auto codec = TransposeCodec::Make({{1, 0}});
  ASSERT_TRUE(codec.ok()) << codec.status();
  const ChunkSpec spec = MakeSpec(kUInt8, {2, 3});
  auto encoded_spec = (*codec)->EncodedSpec(spec);
  ASSERT_TRUE(encoded_spec.ok());
  EXPECT_EQ(encoded_spec->shape, (std::vector<uint64_t>{3, 2}));
  const Bytes in = {0, 1, 2, 3, 4, 5};  // [[0,1,2],[3,4,5]]
  Bytes out(6);
  ASSERT_TRUE((*codec)->Encode(spec, in, out).ok());
  EXPECT_EQ(out, (Bytes{0, 3, 1, 4, 2, 5}));  // [[0,3],[1,4],[2,5]]
  Bytes back(6);
  ASSERT_TRUE((*codec)->Decode(spec, out, back).ok());
  EXPECT_EQ(back, in);
}

TEST(TransposeCodec, ThreeDPermutationMatchesDefinitionForEveryElementSize) {
  const std::vector<uint64_t> shape = {3, 4, 5};
  for (const std::vector<uint32_t>& order :
       std::vector<std::vector<uint32_t>>{{2, 0, 1}, {1, 2, 0}, {0, 2, 1}, {2, 1, 0}, {0, 1, 2}}) {
    auto codec = TransposeCodec::Make({order});
    ASSERT_TRUE(codec.ok());
    for (const DataType& dtype : AllDataTypes()) {
      const size_t es = dtype.size();
      const ChunkSpec spec = MakeSpec(dtype, shape);
      const Bytes in = TestChunk(dtype, spec.num_elements(), 3);
      Bytes out(in.size());
      ASSERT_TRUE((*codec)->Encode(spec, in, out).ok());
      // out[pos_out] = in[pos_in] with pos_out[i] = pos_in[order[i]].
      const uint64_t os[3] = {shape[order[0]], shape[order[1]], shape[order[2]]};
      bool all_equal = true;
      for (uint64_t a = 0; a < shape[0]; ++a)
        for (uint64_t b = 0; b < shape[1]; ++b)
          for (uint64_t c = 0; c < shape[2]; ++c) {
            const uint64_t pin[3] = {a, b, c};
            const uint64_t pout[3] = {pin[order[0]], pin[order[1]], pin[order[2]]};
            const uint64_t in_index = (a * shape[1] + b) * shape[2] + c;
            const uint64_t out_index = (pout[0] * os[1] + pout[1]) * os[2] + pout[2];
            all_equal = all_equal && std::memcmp(&out[out_index * es], &in[in_index * es], es) == 0;
          }
      EXPECT_TRUE(all_equal) << dtype.name() << " order " << Json(order).dump();
      Bytes back(in.size());
      ASSERT_TRUE((*codec)->Decode(spec, out, back).ok());
      EXPECT_EQ(back, in) << dtype.name() << " order " << Json(order).dump();
    }
  }
}

TEST(TransposeCodec, HigherRankAndUnitAxesRoundTrip) {
  const ChunkSpec spec = MakeSpec(DataType(DataTypeId::kUInt16), {2, 1, 3, 4, 2});
  const Bytes chunk = TestChunk(spec.dtype, spec.num_elements());
  const Json codecs = Json::array(
      {{{"name", "transpose"}, {"configuration", {{"order", {4, 2, 0, 3, 1}}}}}, BytesLE()});
  EXPECT_TRUE(ChainRoundTrips(codecs, spec, chunk));
  const ChunkSpec scalar = MakeSpec(kFloat32, {});
  EXPECT_TRUE(ChainRoundTrips(
      Json::array(
          {{{"name", "transpose"}, {"configuration", {{"order", Json::array()}}}}, BytesLE()}),
      scalar, TestChunk(kFloat32, 1)));
}

TEST(TransposeCodec, RefusesCAndFStrings) {
  for (const char* s : {"C", "F"}) {
    auto codec =
        BuiltinCodecRegistry().Create({{"name", "transpose"}, {"configuration", {{"order", s}}}});
    EXPECT_TRUE(codec.status().IsInvalidArgument()) << codec.status();
    EXPECT_NE(codec.status().message().find("transpose"), std::string::npos);
  }
}

TEST(TransposeCodec, RefusesNonPermutations) {
  for (const Json& order : {Json{0, 0}, Json{0, 2}, Json{1}, Json{-1, 0}, Json{0.5, 1}}) {
    auto codec = BuiltinCodecRegistry().Create(
        {{"name", "transpose"}, {"configuration", {{"order", order}}}});
    EXPECT_TRUE(codec.status().IsInvalidArgument()) << order.dump() << ": " << codec.status();
  }
  auto missing = BuiltinCodecRegistry().Create({{"name", "transpose"}});
  EXPECT_TRUE(missing.status().IsInvalidArgument()) << missing.status();
}

TEST(TransposeCodec, OrderOfWrongRankIsRefusedAtPrepare) {
  Status s = PrepareStatus(
      Json::array({{{"name", "transpose"}, {"configuration", {{"order", {1, 0}}}}}, BytesLE()}),
      MakeSpec(kFloat32, {2, 3, 4}));
  EXPECT_TRUE(s.IsInvalidArgument()) << s;
  EXPECT_NE(s.message().find("rank 3"), std::string::npos) << s;
}

// ---------------------------------------------------------------------------------------------
// blosc

TEST(BloscCodec, EveryCnameAndShuffleRoundTrips) {
  const Bytes data = TestChunk(kFloat32, 4096);
  for (const char* cname : {"lz4", "lz4hc", "blosclz", "zstd", "zlib"}) {
    for (const char* shuffle : {"noshuffle", "shuffle", "bitshuffle"}) {
      for (int clevel : {0, 5, 9}) {
        const Json j = {{"name", "blosc"},
                        {"configuration",
                         {{"cname", cname},
                          {"clevel", clevel},
                          {"shuffle", shuffle},
                          {"typesize", 4},
                          {"blocksize", 0}}}};
        auto codec = MustCreate(j);
        ASSERT_NE(codec, nullptr);
        EXPECT_TRUE(BytesCodecRoundTrips(AsBytesToBytes(codec), data)) << j.dump();
        EXPECT_TRUE(BytesCodecRoundTrips(AsBytesToBytes(codec), {})) << j.dump();
      }
    }
  }
}

// EncodeKeep gives the bytes Encode gives, in the front of a buffer it grows but never shrinks:
// a buffer at the worst-case size from an earlier chunk is reused as it is.
TEST(Codecs, EncodeKeepMatchesEncodeAndKeepsTheBuffer) {
  const Json configs[] = {
      {{"name", "blosc"},
       {"configuration",
        {{"cname", "lz4"},
         {"clevel", 5},
         {"shuffle", "shuffle"},
         {"typesize", 4},
         {"blocksize", 0}}}},
      {{"name", "zstd"}, {"configuration", {{"level", 3}, {"checksum", false}}}},
      {{"name", "gzip"}, {"configuration", {{"level", 1}}}},
      {{"name", "crc32c"}}};
  const Bytes noisy = TestBytes(50000);
  const Bytes smooth(50000, 7);
  for (const Json& j : configs) {
    auto codec = MustCreate(j);
    ASSERT_NE(codec, nullptr) << j.dump();
    const BytesToBytesCodec& c = AsBytesToBytes(codec);
    Bytes buf;
    for (const Bytes* in : {&noisy, &smooth, &noisy}) {
      Bytes want;
      ASSERT_TRUE(c.Encode(*in, want).ok()) << j.dump();
      const size_t before = buf.size();
      auto got = c.EncodeKeep(*in, buf);
      ASSERT_TRUE(got.ok()) << j.dump() << got.status();
      EXPECT_EQ(Bytes(got->begin(), got->end()), want) << j.dump();
      EXPECT_EQ(got->data(), buf.data()) << j.dump();
      if (j["name"] != "crc32c") {
        EXPECT_GE(buf.size(), before) << j.dump();
      }
      Bytes back;
      auto decoded = c.Decode(*got, in->size(), back);
      ASSERT_TRUE(decoded.ok()) << j.dump() << decoded.status();
      EXPECT_EQ(Bytes(decoded->begin(), decoded->end()), *in) << j.dump();
    }
  }
}

TEST(BloscCodec, ExplicitBlocksizeAndNoTypesizeWithNoShuffle) {
  auto codec = MustCreate(
      {{"name", "blosc"},
       {"configuration",
        {{"cname", "blosclz"}, {"clevel", 3}, {"shuffle", "noshuffle"}, {"blocksize", 1024}}}});
  ASSERT_NE(codec, nullptr);
  EXPECT_TRUE(BytesCodecRoundTrips(AsBytesToBytes(codec), TestBytes(10000)));
  EXPECT_EQ(AsBytesToBytes(codec).EncodedSize(100), std::nullopt);
}

TEST(BloscCodec, InvalidConfigurationsAreRefused) {
  auto config = [](Json patch) {
    Json c = {{"cname", "lz4"}, {"clevel", 5}, {"shuffle", "shuffle"}, {"typesize", 4}};
    c.merge_patch(patch);
    return Json{{"name", "blosc"}, {"configuration", c}};
  };
  // snappy is built when the linked c-blosc has it (Debian's does), else Unsupported by name.
  auto snappy = BuiltinCodecRegistry().Create(config({{"cname", "snappy"}}));
  if (!snappy.ok()) {
    EXPECT_TRUE(snappy.status().IsUnsupported()) << snappy.status();
    EXPECT_NE(snappy.status().message().find("snappy"), std::string::npos);
  }
  for (const Json& patch : {Json{{"cname", "lzma"}}, Json{{"clevel", 10}}, Json{{"clevel", -1}},
                            Json{{"shuffle", "auto"}}, Json{{"typesize", 0}},
                            Json{{"typesize", nullptr}}, Json{{"blocksize", -1}},
                            Json{{"extra", 1}}, Json{{"clevel", 2.5}}, Json{{"cname", nullptr}}}) {
    auto codec = BuiltinCodecRegistry().Create(config(patch));
    EXPECT_TRUE(codec.status().IsInvalidArgument()) << patch.dump() << ": " << codec.status();
  }
  // typesize is required unless noshuffle.
  auto no_typesize = BuiltinCodecRegistry().Create(
      {{"name", "blosc"},
       {"configuration", {{"cname", "lz4"}, {"clevel", 5}, {"shuffle", "bitshuffle"}}}});
  EXPECT_TRUE(no_typesize.status().IsInvalidArgument()) << no_typesize.status();
  EXPECT_NE(no_typesize.status().message().find("typesize"), std::string::npos);
}

TEST(BloscCodec, TruncatedAndGarbageFramesAreCorruption) {
  auto codec = BloscCodec::Make({"zstd", 5, BloscCodec::Shuffle::kShuffle, 4, 0});
  ASSERT_TRUE(codec.ok()) << codec.status();
  const Bytes data = TestChunk(kFloat32, 2048);
  Bytes good;
  ASSERT_TRUE((*codec)->Encode(data, good).ok());
  ExpectDamageIsCorruption(**codec, good, data.size());
  // A header that claims a different decoded size.
  Bytes out(data.size() - 4);
  EXPECT_TRUE((*codec)->DecodeInto(good, out).IsCorruption());
  // Corrupted payload bytes behind a valid header.
  Bytes flipped = good;
  for (size_t i = 16; i < flipped.size(); i += 7) flipped[i] ^= 0x5A;
  Bytes scratch;
  EXPECT_FALSE((*codec)->Decode(flipped, data.size(), scratch).ok());
}

TEST(BloscCodec, W1ConfigurationJson) {
  auto codec = BloscCodec::Make({"lz4", 5, BloscCodec::Shuffle::kShuffle, 4, 0});
  ASSERT_TRUE(codec.ok());
  EXPECT_EQ((*codec)->ToJson(),
            Json::parse(R"({"name":"blosc","configuration":{"cname":"lz4","clevel":5,)"
                        R"("shuffle":"shuffle","typesize":4,"blocksize":0}})"));
}

TEST(BloscCodec, MoreInternalThreadsDecodeTheSame) {
  auto codec = BloscCodec::Make({"lz4", 5, BloscCodec::Shuffle::kShuffle, 4, 4096}, 2);
  ASSERT_TRUE(codec.ok()) << codec.status();
  EXPECT_TRUE(BytesCodecRoundTrips(**codec, TestChunk(kFloat32, 1 << 16)));
  EXPECT_TRUE(BloscCodec::Make({"lz4", 5, BloscCodec::Shuffle::kShuffle, 4, 0}, 0)
                  .status()
                  .IsInvalidArgument());
}

// ---------------------------------------------------------------------------------------------
// zstd

TEST(ZstdCodec, RoundTripsAcrossLevelsWithAndWithoutChecksum) {
  const Bytes data = TestBytes(50000);
  for (int level : {-131072, -5, 0, 1, 3, 9}) {
    for (bool checksum : {false, true}) {
      auto codec = ZstdCodec::Make({level, checksum});
      ASSERT_TRUE(codec.ok()) << codec.status();
      EXPECT_TRUE(BytesCodecRoundTrips(**codec, data)) << level << " " << checksum;
      EXPECT_TRUE(BytesCodecRoundTrips(**codec, {})) << level;
    }
  }
}

Bytes CompressWithoutContentSize(ByteView data) {
  ZSTD_FN(ZSTD_createCCtx);
  ZSTD_FN(ZSTD_CCtx_setParameter);
  ZSTD_FN(ZSTD_compressBound);
  ZSTD_FN(ZSTD_compressStream2);
  ZSTD_FN(ZSTD_isError);
  ZSTD_FN(ZSTD_freeCCtx);
  ZSTD_CCtx* cctx = ref_ZSTD_createCCtx();
  ref_ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3);
  ref_ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
  Bytes out(ref_ZSTD_compressBound(data.size()) + 64);
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  size_t ret;
  do {
    ret = ref_ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_end);
  } while (ret != 0 && !ref_ZSTD_isError(ret));
  ref_ZSTD_freeCCtx(cctx);
  EXPECT_FALSE(ref_ZSTD_isError(ret));
  out.resize(o.pos);
  return out;
}

unsigned long long FrameContentSize(ByteView frame) {
  ZSTD_FN(ZSTD_getFrameContentSize);
  return ref_ZSTD_getFrameContentSize(frame.data(), frame.size());
}

TEST(ZstdCodec, FrameWithoutContentSizeDecodes) {
  const Bytes data = TestBytes(300000);
  const Bytes frame = CompressWithoutContentSize(data);
  ASSERT_EQ(FrameContentSize(frame), ZSTD_CONTENTSIZE_UNKNOWN);
  auto codec = ZstdCodec::Make({0, false});
  ASSERT_TRUE(codec.ok());
  for (bool known : {true, false}) {
    Bytes scratch;
    auto decoded = (*codec)->Decode(
        frame, known ? std::optional<uint64_t>(data.size()) : std::nullopt, scratch);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_TRUE(std::equal(decoded->begin(), decoded->end(), data.begin(), data.end()));
  }
  Bytes out(data.size());
  ASSERT_TRUE((*codec)->DecodeInto(frame, out).ok());
  EXPECT_EQ(out, data);
  // An expected size that disagrees with the frame is Corruption, either way.
  Bytes shorter(data.size() - 1), longer(data.size() + 1);
  EXPECT_TRUE((*codec)->DecodeInto(frame, shorter).IsCorruption());
  EXPECT_TRUE((*codec)->DecodeInto(frame, longer).IsCorruption());
}

TEST(ZstdCodec, EmptyFrameWithoutContentSizeDecodes) {
  const Bytes frame = CompressWithoutContentSize({});
  auto codec = ZstdCodec::Make({0, false});
  ASSERT_TRUE(codec.ok());
  Bytes scratch;
  auto decoded = (*codec)->Decode(frame, std::nullopt, scratch);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(decoded->empty());
  Bytes none;
  EXPECT_TRUE((*codec)->DecodeInto(frame, none).ok());
  Bytes one(1);
  EXPECT_TRUE((*codec)->DecodeInto(frame, one).IsCorruption());
}

TEST(ZstdCodec, ContentSizeMismatchIsCorruption) {
  auto codec = ZstdCodec::Make({3, false});
  ASSERT_TRUE(codec.ok());
  const Bytes data = TestBytes(1000);
  Bytes frame;
  ASSERT_TRUE((*codec)->Encode(data, frame).ok());
  Bytes scratch;
  auto r = (*codec)->Decode(frame, 999, scratch);
  EXPECT_TRUE(r.status().IsCorruption()) << r.status();
  EXPECT_NE(r.status().message().find("999"), std::string::npos) << r.status();
}

TEST(ZstdCodec, TruncatedAndGarbageFramesAreCorruption) {
  for (bool content_size : {true, false}) {
    auto codec = ZstdCodec::Make({3, true});
    ASSERT_TRUE(codec.ok());
    const Bytes data = TestBytes(20000);
    Bytes good;
    if (content_size) {
      ASSERT_TRUE((*codec)->Encode(data, good).ok());
    } else {
      good = CompressWithoutContentSize(data);
    }
    ExpectDamageIsCorruption(**codec, good, data.size());
    // Trailing bytes after a complete frame.
    Bytes trailing = good;
    trailing.push_back(0);
    Bytes out(data.size());
    EXPECT_TRUE((*codec)->DecodeInto(trailing, out).IsCorruption()) << content_size;
  }
}

TEST(ZstdCodec, ChecksumMismatchIsCorruption) {
  auto codec = ZstdCodec::Make({1, true});
  ASSERT_TRUE(codec.ok());
  const Bytes data(5000, 7);
  Bytes frame;
  ASSERT_TRUE((*codec)->Encode(data, frame).ok());
  frame.back() ^= 0xFF;  // the last 4 bytes are the content checksum
  Bytes out(data.size());
  Status s = (*codec)->DecodeInto(frame, out);
  EXPECT_TRUE(s.IsCorruption()) << s;
}

TEST(ZstdCodec, HugeClaimedSizeIsRefusedWithoutAllocating) {
  auto codec = ZstdCodec::Make({3, false});
  ASSERT_TRUE(codec.ok());
  Bytes frame;
  ASSERT_TRUE((*codec)->Encode(TestBytes(100), frame).ok());
  // Frame header: magic (4), descriptor (1, FCS field size in the top 2 bits), then the size.
  const uint8_t descriptor = frame[4];
  ASSERT_EQ(descriptor >> 6, 0) << "expected a 1-byte content size for a 100-byte input";
  Bytes forged = {0x28, 0xB5, 0x2F, 0xFD, static_cast<uint8_t>(0xC0 | (descriptor & 0x3F))};
  const size_t header_rest = (descriptor & 0x20) ? 0 : 1;  // window descriptor present?
  for (size_t i = 0; i < header_rest; ++i) forged.push_back(frame[5 + i]);
  for (int i = 0; i < 8; ++i) forged.push_back(i == 5 ? 0x01 : 0x00);  // 2^40 bytes
  forged.insert(forged.end(), frame.begin() + 5 + header_rest + 1, frame.end());
  Bytes scratch;
  auto r = (*codec)->Decode(forged, std::nullopt, scratch);
  EXPECT_TRUE(r.status().IsCorruption()) << r.status();
  EXPECT_NE(r.status().message().find("implausible"), std::string::npos) << r.status();
  EXPECT_LT(scratch.capacity(), size_t{1} << 20);
}

TEST(ZstdCodec, ConfigurationValidationAndJson) {
  for (const Json& config : {Json{{"level", 23}}, Json{{"level", -131073}}, Json::object(),
                             Json{{"level", 1}, {"checksum", "yes"}}, Json{{"level", 1.5}},
                             Json{{"level", 1}, {"extra", 0}}}) {
    auto codec = BuiltinCodecRegistry().Create({{"name", "zstd"}, {"configuration", config}});
    EXPECT_TRUE(codec.status().IsInvalidArgument()) << config.dump() << ": " << codec.status();
  }
  // checksum is written only when true, and both forms are read.
  EXPECT_EQ(MustCreate({{"name", "zstd"}, {"configuration", {{"level", 0}, {"checksum", false}}}})
                ->ToJson(),
            Json::parse(R"({"name":"zstd","configuration":{"level":0}})"));
  EXPECT_EQ(MustCreate({{"name", "zstd"}, {"configuration", {{"level", 22}, {"checksum", true}}}})
                ->ToJson(),
            Json::parse(R"({"name":"zstd","configuration":{"level":22,"checksum":true}})"));
}

// ---------------------------------------------------------------------------------------------
// gzip

TEST(GzipCodec, RoundTripsAtEveryLevel) {
  const Bytes data = TestBytes(40000);
  for (int level = 0; level <= 9; ++level) {
    auto codec = GzipCodec::Make({level});
    ASSERT_TRUE(codec.ok()) << codec.status();
    EXPECT_TRUE(BytesCodecRoundTrips(**codec, data)) << level;
    EXPECT_TRUE(BytesCodecRoundTrips(**codec, {})) << level;
  }
}

Bytes ZlibGzip(ByteView data) {
  ZLIB_FN(deflateInit2_);
  ZLIB_FN(deflateBound);
  ZLIB_FN(deflate);
  ZLIB_FN(deflateEnd);
  z_stream zs{};
  // windowBits 31: a gzip (RFC 1952) wrapper around the DEFLATE stream.
  EXPECT_EQ(ref_deflateInit2_(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                              static_cast<int>(sizeof(z_stream))),
            Z_OK);
  Bytes out(ref_deflateBound(&zs, data.size()) + 32);
  zs.next_in = const_cast<Bytef*>(data.data());
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(ref_deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  ref_deflateEnd(&zs);
  return out;
}

Bytes ZlibGunzip(ByteView data, size_t expected) {
  ZLIB_FN(inflateInit2_);
  ZLIB_FN(inflate);
  ZLIB_FN(inflateEnd);
  z_stream zs{};
  EXPECT_EQ(ref_inflateInit2_(&zs, 31, ZLIB_VERSION, static_cast<int>(sizeof(z_stream))), Z_OK);
  Bytes out(expected + 16);
  zs.next_in = const_cast<Bytef*>(data.data());
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(ref_inflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  ref_inflateEnd(&zs);
  return out;
}

TEST(GzipCodec, DecodesStreamsWrittenByZlib) {
  const Bytes data = TestBytes(123457);
  const Bytes stream = ZlibGzip(data);
  ASSERT_GE(stream.size(), 2u);
  ASSERT_EQ(stream[0], 0x1F);
  auto codec = GzipCodec::Make({5});
  ASSERT_TRUE(codec.ok());
  for (bool known : {true, false}) {
    Bytes scratch;
    auto decoded = (*codec)->Decode(
        stream, known ? std::optional<uint64_t>(data.size()) : std::nullopt, scratch);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_TRUE(std::equal(decoded->begin(), decoded->end(), data.begin(), data.end()));
  }
}

TEST(GzipCodec, OutputIsRfc1952GzipReadableByZlib) {
  const Bytes data = TestBytes(70000);
  auto codec = GzipCodec::Make({6});
  ASSERT_TRUE(codec.ok());
  Bytes stream;
  ASSERT_TRUE((*codec)->Encode(data, stream).ok());
  ASSERT_GE(stream.size(), 18u);
  EXPECT_EQ(stream[0], 0x1F);
  EXPECT_EQ(stream[1], 0x8B);
  EXPECT_EQ(stream[2], 8);  // CM = deflate
  EXPECT_EQ(ZlibGunzip(stream, data.size()), data);
}

TEST(GzipCodec, TruncatedAndGarbageStreamsAreCorruption) {
  auto codec = GzipCodec::Make({5});
  ASSERT_TRUE(codec.ok());
  const Bytes data = TestBytes(30000);
  Bytes good;
  ASSERT_TRUE((*codec)->Encode(data, good).ok());
  ExpectDamageIsCorruption(**codec, good, data.size());
  Bytes out(data.size() + 1);
  EXPECT_TRUE((*codec)->DecodeInto(good, out).IsCorruption());
  Bytes bad_crc = good;
  bad_crc[bad_crc.size() - 6] ^= 1;  // CRC32 field of the trailer
  Bytes scratch;
  EXPECT_TRUE((*codec)->Decode(bad_crc, std::nullopt, scratch).status().IsCorruption());
}

TEST(GzipCodec, LevelValidation) {
  for (const Json& config :
       {Json{{"level", 10}}, Json{{"level", -1}}, Json::object(), Json{{"level", "5"}}}) {
    auto codec = BuiltinCodecRegistry().Create({{"name", "gzip"}, {"configuration", config}});
    EXPECT_TRUE(codec.status().IsInvalidArgument()) << config.dump() << ": " << codec.status();
  }
}

TEST(Compressors, RandomBitFlipsAreCorruptionOrHarmless) {
  const std::vector<Json> configs = {
      Json::parse(R"({"name":"blosc","configuration":{"cname":"lz4","clevel":5,)"
                  R"("shuffle":"shuffle","typesize":4,"blocksize":0}})"),
      Json::parse(R"({"name":"blosc","configuration":{"cname":"zstd","clevel":5,)"
                  R"("shuffle":"bitshuffle","typesize":4,"blocksize":0}})"),
      Json::parse(R"({"name":"zstd","configuration":{"level":3}})"),
      Json::parse(R"({"name":"gzip","configuration":{"level":5}})"),
  };
  const Bytes data = TestBytes(9000, 5);
  for (const Json& j : configs) {
    auto codec = MustCreate(j);
    ASSERT_NE(codec, nullptr);
    const BytesToBytesCodec& c = AsBytesToBytes(codec);
    Bytes good;
    ASSERT_TRUE(c.Encode(data, good).ok());
    uint32_t x = 12345;
    for (int trial = 0; trial < 300; ++trial) {
      Bytes bad = good;
      for (int flips = 0; flips < 1 + trial % 4; ++flips) {
        x = x * 1664525u + 1013904223u;
        bad[(x >> 8) % bad.size()] ^= static_cast<uint8_t>(1u << (x & 7));
      }
      Bytes scratch;
      for (std::optional<uint64_t> size :
           {std::optional<uint64_t>(data.size()), std::optional<uint64_t>()}) {
        auto r = c.Decode(bad, size, scratch);
        EXPECT_TRUE(r.ok() || r.status().IsCorruption()) << j.dump() << ": " << r.status();
      }
      Bytes out(data.size());
      Status s = c.DecodeInto(bad, out);
      EXPECT_TRUE(s.ok() || s.IsCorruption()) << j.dump() << ": " << s;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// crc32c

TEST(Crc32c, Rfc3720KnownAnswers) {
  EXPECT_EQ(Crc32c(AsBytes("123456789")), 0xE3069283u);
  EXPECT_EQ(Crc32c(Bytes(32, 0x00)), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(Bytes(32, 0xFF)), 0x62A8AB43u);
  Bytes ascending(32);
  for (int i = 0; i < 32; ++i) ascending[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(Crc32c(ascending), 0x46DD794Eu);
  Bytes descending(32);
  for (int i = 0; i < 32; ++i) descending[i] = static_cast<uint8_t>(31 - i);
  EXPECT_EQ(Crc32c(descending), 0x113FDB5Cu);
  EXPECT_EQ(Crc32c({}), 0u);
}

TEST(Crc32cCodec, AppendsLittleEndianChecksum) {
  auto codec = MustCreate("crc32c");
  ASSERT_NE(codec, nullptr);
  Bytes out;
  ASSERT_TRUE(AsBytesToBytes(codec).Encode(AsBytes("123456789"), out).ok());
  ASSERT_EQ(out.size(), 13u);
  EXPECT_EQ(Bytes(out.end() - 4, out.end()), (Bytes{0x83, 0x92, 0x06, 0xE3}));
  EXPECT_EQ(AsBytesToBytes(codec).EncodedSize(9), std::optional<uint64_t>(13));
  EXPECT_TRUE(BytesCodecRoundTrips(AsBytesToBytes(codec), TestBytes(1000)));
  EXPECT_TRUE(BytesCodecRoundTrips(AsBytesToBytes(codec), {}));
}

TEST(Crc32cCodec, DecodeReturnsViewOfInputWithoutCopy) {
  auto codec = Crc32cCodec::Make();
  Bytes encoded;
  ASSERT_TRUE(codec->Encode(AsBytes("abcdef"), encoded).ok());
  Bytes scratch;
  auto decoded = codec->Decode(encoded, 6, scratch);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->data(), encoded.data());
  EXPECT_EQ(decoded->size(), 6u);
  EXPECT_TRUE(scratch.empty());
}

TEST(Crc32cCodec, MismatchIsCorruptionNamingBothValues) {
  auto codec = Crc32cCodec::Make();
  Bytes encoded;
  ASSERT_TRUE(codec->Encode(AsBytes("123456789"), encoded).ok());
  encoded[0] ^= 1;
  Bytes scratch;
  auto r = codec->Decode(encoded, std::nullopt, scratch);
  ASSERT_TRUE(r.status().IsCorruption()) << r.status();
  const uint32_t computed = Crc32c(ByteView(encoded).first(9));
  char expected[96];
  std::snprintf(expected, sizeof(expected),
                "crc32c checksum mismatch: stored 0xE3069283, computed 0x%08X", computed);
  EXPECT_EQ(r.status().message(), expected);
  Bytes out(9);
  EXPECT_TRUE(codec->DecodeInto(encoded, out).IsCorruption());
}

TEST(Crc32cCodec, InputShorterThanChecksumIsCorruption) {
  auto codec = Crc32cCodec::Make();
  for (size_t n = 0; n < 4; ++n) {
    Bytes scratch;
    auto r = codec->Decode(Bytes(n, 0), std::nullopt, scratch);
    EXPECT_TRUE(r.status().IsCorruption()) << n << ": " << r.status();
  }
  // A valid checksum of a payload with the wrong size.
  Bytes encoded;
  ASSERT_TRUE(codec->Encode(AsBytes("abc"), encoded).ok());
  Bytes scratch;
  EXPECT_TRUE(codec->Decode(encoded, 4, scratch).status().IsCorruption());
}

TEST(Crc32cCodec, ConfigurationFieldsAreRefused) {
  auto r = BuiltinCodecRegistry().Create(
      {{"name", "crc32c"}, {"configuration", {{"endian", "little"}}}});
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status();
  EXPECT_TRUE(
      BuiltinCodecRegistry().Create({{"name", "crc32c"}, {"configuration", Json::object()}}).ok());
}

// ---------------------------------------------------------------------------------------------
// Registry and codec JSON

TEST(ParseCodecJson, AcceptsNameStringAndObjectForms) {
  auto s = ParseCodecJson("gzip");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->name, "gzip");
  EXPECT_EQ(s->configuration, Json::object());
  EXPECT_TRUE(s->must_understand);
  auto o = ParseCodecJson(
      {{"name", "zstd"}, {"configuration", {{"level", 1}}}, {"must_understand", false}});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->name, "zstd");
  EXPECT_EQ(o->configuration, (Json{{"level", 1}}));
  EXPECT_FALSE(o->must_understand);
}

TEST(ParseCodecJson, MalformedEntriesAreInvalidArgumentNamingTheCodec) {
  auto extra = ParseCodecJson({{"name", "zstd"}, {"level", 1}});
  EXPECT_TRUE(extra.status().IsInvalidArgument());
  EXPECT_NE(extra.status().message().find("zstd"), std::string::npos) << extra.status();
  EXPECT_NE(extra.status().message().find("level"), std::string::npos) << extra.status();
  auto config = ParseCodecJson({{"name", "gzip"}, {"configuration", 5}});
  EXPECT_TRUE(config.status().IsInvalidArgument());
  EXPECT_NE(config.status().message().find("gzip"), std::string::npos) << config.status();
  auto mu = ParseCodecJson({{"name", "gzip"}, {"must_understand", "no"}});
  EXPECT_TRUE(mu.status().IsInvalidArgument());
  for (const Json& j : {Json(5), Json::array(), Json{{"configuration", Json::object()}},
                        Json{{"name", 3}}, Json(""), Json(nullptr)}) {
    EXPECT_TRUE(ParseCodecJson(j).status().IsInvalidArgument()) << j.dump();
  }
}

TEST(CodecRegistry, UnknownCodecIsUnsupportedNamingIt) {
  auto r = BuiltinCodecRegistry().Create({{"name", "lzma"}});
  EXPECT_TRUE(r.status().IsUnsupported()) << r.status();
  EXPECT_NE(r.status().message().find("lzma"), std::string::npos);
  auto chain = CodecChain::FromJson(Json::array({BytesLE(), "numcodecs.pcodec"}));
  EXPECT_TRUE(chain.status().IsUnsupported()) << chain.status();
  EXPECT_NE(chain.status().message().find("numcodecs.pcodec"), std::string::npos);
}

TEST(CodecRegistry, BuiltinListAndReplacement) {
  for (const char* name : {"bytes", "transpose", "blosc", "zstd", "gzip", "crc32c"}) {
    EXPECT_TRUE(BuiltinCodecRegistry().Contains(name)) << name;
  }
  EXPECT_FALSE(BuiltinCodecRegistry().Contains("snappy"));
  CodecRegistry registry;
  RegisterBuiltinCodecs(registry);
  // Replacing a factory: "gzip" now builds crc32c codecs.
  registry.Register("gzip", [](const Json&) -> Result<std::shared_ptr<const Codec>> {
    return std::shared_ptr<const Codec>(Crc32cCodec::Make());
  });
  auto r = registry.Create("gzip");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->name(), "crc32c");
}

TEST(CodecJson, EveryCodecConfigurationRoundTripsThroughToJson) {
  const std::vector<Json> codecs = {
      Json::parse(R"({"name":"bytes"})"),
      Json::parse(R"({"name":"bytes","configuration":{"endian":"little"}})"),
      Json::parse(R"({"name":"bytes","configuration":{"endian":"big"}})"),
      Json::parse(R"({"name":"transpose","configuration":{"order":[2,0,1]}})"),
      Json::parse(R"({"name":"blosc","configuration":{"cname":"lz4","clevel":5,)"
                  R"("shuffle":"shuffle","typesize":4,"blocksize":0}})"),
      Json::parse(R"({"name":"blosc","configuration":{"cname":"zstd","clevel":9,)"
                  R"("shuffle":"bitshuffle","typesize":1,"blocksize":65536}})"),
      Json::parse(R"({"name":"blosc","configuration":{"cname":"zlib","clevel":0,)"
                  R"("shuffle":"noshuffle","blocksize":0}})"),
      Json::parse(R"({"name":"zstd","configuration":{"level":-7}})"),
      Json::parse(R"({"name":"zstd","configuration":{"level":3,"checksum":true}})"),
      Json::parse(R"({"name":"gzip","configuration":{"level":9}})"),
      Json::parse(R"({"name":"crc32c"})"),
  };
  for (const Json& j : codecs) {
    auto first = MustCreate(j);
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->ToJson(), j);
    auto second = MustCreate(first->ToJson());
    ASSERT_NE(second, nullptr);
    EXPECT_EQ(second->ToJson(), j);
  }
  // Typed equality of the parsed options.
  auto blosc = BloscCodec::OptionsFromJson(codecs[5]["configuration"]);
  ASSERT_TRUE(blosc.ok());
  auto made = BloscCodec::Make(*blosc);
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(BloscCodec::OptionsFromJson((*made)->ToJson()["configuration"]).value(), *blosc);
  EXPECT_EQ(ZstdCodec::OptionsFromJson({{"level", 3}, {"checksum", false}}).value(),
            ZstdCodec::OptionsFromJson({{"level", 3}}).value());
}

// ---------------------------------------------------------------------------------------------
// Chains

TEST(CodecChain, OrderingErrorsNameTheCodecAndPosition) {
  const Json transpose = {{"name", "transpose"}, {"configuration", {{"order", {0}}}}};
  struct Case {
    Json codecs;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {Json::array({BytesLE(), BytesLE()}), "'bytes' at position 1"},
      {Json::array({"crc32c", BytesLE()}), "'crc32c' at position 0"},
      {Json::array({BytesLE(), transpose}), "'transpose' at position 1"},
      {Json::array({transpose, "crc32c"}), "'crc32c' at position 1"},
      {Json::array({transpose}), "no array->bytes"},
      {Json::array(), "no array->bytes"},
  };
  for (const Case& c : cases) {
    auto chain = CodecChain::FromJson(c.codecs);
    EXPECT_TRUE(chain.status().IsInvalidArgument()) << c.codecs.dump() << ": " << chain.status();
    EXPECT_NE(chain.status().message().find(c.needle), std::string::npos) << chain.status();
  }
  EXPECT_TRUE(CodecChain::FromJson(Json::object()).status().IsInvalidArgument());
  EXPECT_TRUE(CodecChain::FromCodecs({nullptr}).status().IsInvalidArgument());
}

TEST(CodecChain, ToJsonRoundTrips) {
  const Json codecs =
      Json::parse(R"([{"name":"transpose","configuration":{"order":[1,0]}},)"
                  R"({"name":"bytes","configuration":{"endian":"big"}},)"
                  R"({"name":"zstd","configuration":{"level":1}},{"name":"crc32c"}])");
  auto chain = CodecChain::FromJson(codecs);
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_EQ(chain->ToJson(), codecs);
  EXPECT_EQ(chain->array_to_array().size(), 1u);
  EXPECT_EQ(chain->bytes_to_bytes().size(), 2u);
  EXPECT_EQ(CodecChain::FromJson(chain->ToJson())->ToJson(), codecs);
}

TEST(PreparedChain, TransposeBigEndianBloscCrc32cRoundTrips) {
  const Json codecs = Json::parse(
      R"([{"name":"transpose","configuration":{"order":[1,2,0]}},)"
      R"({"name":"bytes","configuration":{"endian":"big"}},)"
      R"({"name":"blosc","configuration":{"cname":"zstd","clevel":3,"shuffle":"shuffle",)"
      R"("typesize":4,"blocksize":0}},"crc32c"])");
  const ChunkSpec spec = MakeSpec(kFloat32, {8, 16, 3});
  const Bytes chunk = TestChunk(kFloat32, spec.num_elements());
  EXPECT_TRUE(ChainRoundTrips(codecs, spec, chunk));
  auto prepared = MustPrepare(codecs, spec);
  ASSERT_NE(prepared, nullptr);
  EXPECT_EQ(prepared->array_to_bytes_spec().shape, (std::vector<uint64_t>{16, 3, 8}));
  EXPECT_EQ(prepared->encoded_size(), std::nullopt);
  // A flipped bit anywhere is caught by the checksum.
  ChainScratch scratch;
  auto encoded = prepared->Encode(chunk, scratch);
  ASSERT_TRUE(encoded.ok());
  Bytes stored(encoded->begin(), encoded->end());
  stored[stored.size() / 2] ^= 0x10;
  Bytes out(chunk.size());
  Status s = prepared->Decode(stored, out, scratch);
  EXPECT_TRUE(s.IsCorruption()) << s;
}

TEST(PreparedChain, SeveralBytesToBytesCodecsRoundTrip) {
  const ChunkSpec spec = MakeSpec(DataType(DataTypeId::kInt64), {100});
  const Bytes chunk = TestChunk(spec.dtype, 100);
  EXPECT_TRUE(ChainRoundTrips(Json::array({BytesBE(),
                                           {{"name", "zstd"}, {"configuration", {{"level", 1}}}},
                                           {{"name", "gzip"}, {"configuration", {{"level", 1}}}},
                                           "crc32c"}),
                              spec, chunk));
  EXPECT_TRUE(ChainRoundTrips(
      Json::array(
          {BytesLE(), "crc32c", "crc32c", {{"name", "gzip"}, {"configuration", {{"level", 1}}}}}),
      spec, chunk));
  const Json transposes = {{"name", "transpose"}, {"configuration", {{"order", {1, 0}}}}};
  EXPECT_TRUE(ChainRoundTrips(Json::array({transposes, transposes, BytesLE(), "crc32c"}),
                              MakeSpec(spec.dtype, {4, 25}), chunk));
}

TEST(PreparedChain, EncodedSizeIsFixedOnlyWithoutCompressors) {
  const ChunkSpec spec = MakeSpec(kFloat32, {10, 10});
  auto fixed = MustPrepare(Json::array({BytesLE(), "crc32c"}), spec);
  ASSERT_NE(fixed, nullptr);
  EXPECT_EQ(fixed->encoded_size(), std::optional<uint64_t>(100 * 4 + 4));
  auto two = MustPrepare(Json::array({BytesLE(), "crc32c", "crc32c"}), spec);
  ASSERT_NE(two, nullptr);
  EXPECT_EQ(two->encoded_size(), std::optional<uint64_t>(100 * 4 + 8));
  auto compressed = MustPrepare(
      Json::array({BytesLE(), {{"name", "gzip"}, {"configuration", {{"level", 1}}}}, "crc32c"}),
      spec);
  ASSERT_NE(compressed, nullptr);
  EXPECT_EQ(compressed->encoded_size(), std::nullopt);
}

TEST(PreparedChain, IdentityEncodeReturnsViewOfInput) {
  const ChunkSpec spec = MakeSpec(kFloat32, {64});
  auto prepared = MustPrepare(Json::array({BytesLE()}), spec);
  ASSERT_NE(prepared, nullptr);
  const Bytes chunk = TestChunk(kFloat32, 64);
  ChainScratch scratch;
  auto encoded = prepared->Encode(chunk, scratch);
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(encoded->data(), chunk.data());
  EXPECT_EQ(encoded->size(), chunk.size());
  EXPECT_TRUE(scratch.a.empty() && scratch.b.empty() && scratch.c.empty());
  Bytes out(chunk.size());
  ASSERT_TRUE(prepared->Decode(chunk, out, scratch).ok());
  EXPECT_EQ(out, chunk);
}

TEST(PreparedChain, DirectDecodeUsesNoScratchAndWarmCallsReuseBuffers) {
  const ChunkSpec spec = MakeSpec(kFloat32, {32, 32});
  const Bytes chunk = TestChunk(kFloat32, spec.num_elements());
  // bytes little + one compressor: the compressor decodes straight into `out`.
  auto direct = MustPrepare(
      Json::array({BytesLE(), {{"name", "zstd"}, {"configuration", {{"level", 1}}}}}), spec);
  ASSERT_NE(direct, nullptr);
  ChainScratch scratch;
  auto encoded = direct->Encode(chunk, scratch);
  ASSERT_TRUE(encoded.ok());
  Bytes stored(encoded->begin(), encoded->end());
  ChainScratch decode_scratch;
  Bytes out(chunk.size());
  ASSERT_TRUE(direct->Decode(stored, out, decode_scratch).ok());
  EXPECT_EQ(out, chunk);
  EXPECT_TRUE(decode_scratch.a.empty() && decode_scratch.b.empty() && decode_scratch.c.empty());

  // A general chain: after one call, further calls keep the same buffers.
  auto general =
      MustPrepare(Json::array({{{"name", "transpose"}, {"configuration", {{"order", {1, 0}}}}},
                               BytesBE(),
                               {{"name", "gzip"}, {"configuration", {{"level", 1}}}},
                               "crc32c"}),
                  spec);
  ASSERT_NE(general, nullptr);
  auto enc = general->Encode(chunk, scratch);
  ASSERT_TRUE(enc.ok());
  stored.assign(enc->begin(), enc->end());
  ASSERT_TRUE(general->Decode(stored, out, scratch).ok());
  EXPECT_EQ(out, chunk);
  const uint8_t* a = scratch.a.data();
  const uint8_t* b = scratch.b.data();
  const uint8_t* c = scratch.c.data();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(general->Encode(chunk, scratch).ok());
    ASSERT_TRUE(general->Decode(stored, out, scratch).ok());
  }
  EXPECT_EQ(out, chunk);
  EXPECT_EQ(scratch.a.data(), a);
  EXPECT_EQ(scratch.b.data(), b);
  EXPECT_EQ(scratch.c.data(), c);
}

// An array->bytes codec that reports every chunk as not worth storing.
class EraseEverythingCodec final : public ArrayToBytesCodec {
 public:
  std::string_view name() const override { return "erase_everything"; }
  Json ToJson() const override { return {{"name", "erase_everything"}}; }
  Status ValidateSpec(const ChunkSpec&) const override { return Status::OK(); }
  std::optional<uint64_t> EncodedSize(const ChunkSpec&) const override { return std::nullopt; }
  Status Encode(const ChunkSpec&, ByteView, Bytes& out) const override {
    out.clear();
    return Status::OK();
  }
  Status Decode(const ChunkSpec&, ByteView, MutableByteView) const override {
    return Status::Corruption("erase_everything: nothing to decode");
  }
};

TEST(PreparedChain, EmptyArrayToBytesOutputSkipsBytesToBytesCodecs) {
  auto chain = CodecChain::FromCodecs({std::make_shared<EraseEverythingCodec>(),
                                       Crc32cCodec::Make(), ZstdCodec::Make({1, false}).value()});
  ASSERT_TRUE(chain.ok()) << chain.status();
  auto prepared = chain->Prepare(MakeSpec(kFloat32, {4}));
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  ChainScratch scratch;
  auto encoded = (*prepared)->Encode(Bytes(16, 1), scratch);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_TRUE(encoded->empty());
}

TEST(PreparedChain, WrongBufferSizesAreRefused) {
  const ChunkSpec spec = MakeSpec(kFloat32, {10});
  auto prepared = MustPrepare(Json::array({BytesLE(), "crc32c"}), spec);
  ASSERT_NE(prepared, nullptr);
  ChainScratch scratch;
  EXPECT_TRUE(prepared->Encode(Bytes(39), scratch).status().IsInvalidArgument());
  Bytes out(41);
  EXPECT_TRUE(prepared->Decode(Bytes(44), out, scratch).IsInvalidArgument());
  Bytes right(40);
  EXPECT_TRUE(prepared->Decode(Bytes(43), right, scratch).IsCorruption());
}

TEST(PreparedChain, EmptyChunkRoundTrips) {
  const ChunkSpec spec = MakeSpec(kFloat32, {0, 5});
  for (const Json& codecs :
       {Json::array({BytesBE(), "crc32c"}),
        Json::array({BytesLE(), {{"name", "zstd"}, {"configuration", {{"level", 1}}}}}),
        Json::array(
            {{{"name", "transpose"}, {"configuration", {{"order", {1, 0}}}}},
             BytesLE(),
             {{"name", "blosc"},
              {"configuration", {{"cname", "lz4"}, {"clevel", 1}, {"shuffle", "noshuffle"}}}}})}) {
    EXPECT_TRUE(ChainRoundTrips(codecs, spec, {}));
  }
}

}  // namespace
}  // namespace zarrpp
