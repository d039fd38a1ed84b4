// string and bytes arrays (spec/strings.md): the vlen codecs, the string API, v2 object arrays.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "codecs/vlen_codec.h"
#include "src/pipeline/variable_chunks.h"
#include "tests/fuzz/fuzz_chains.h"
#include "zarrpp/array.h"
#include "zarrpp/convert.h"
#include "zarrpp/digest.h"
#include "zarrpp/json.h"
#include "zarrpp/local_store.h"
#include "zarrpp/memory_store.h"

#define STRINGS_CONCAT_INNER(a, b) a##b
#define STRINGS_CONCAT(a, b) STRINGS_CONCAT_INNER(a, b)
#define ASSERT_OK_AND_ASSIGN_TEST(lhs, expr)                    \
  auto STRINGS_CONCAT(result_, __LINE__) = (expr);              \
  ASSERT_TRUE(STRINGS_CONCAT(result_, __LINE__).ok())           \
      << STRINGS_CONCAT(result_, __LINE__).status().ToString(); \
  lhs = std::move(*STRINGS_CONCAT(result_, __LINE__))

namespace zarrpp {
namespace {

Bytes FromHex(std::string_view hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string ToHex(ByteView b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t c : b) {
    s += d[c >> 4];
    s += d[c & 15];
  }
  return s;
}

ChunkSpec StringSpec(uint64_t n) {
  return ChunkSpec{{n}, DataType(DataTypeId::kString), FillValue{}};
}

ArrayMetadata StringMetadata(std::vector<uint64_t> shape, std::vector<uint64_t> chunks,
                             const char* codecs, DataTypeId id = DataTypeId::kString) {
  ArrayMetadata m;
  m.shape = std::move(shape);
  m.chunk_shape = std::move(chunks);
  m.data_type = DataType(id);
  m.codecs = Json::parse(codecs);
  return m;
}

// numcodecs 0.11: VLenUTF8().encode(np.array(["a", "", "héllo", "日本"], dtype=object)).hex()
constexpr const char* kNumcodecsVector =
    "040000000100000061000000000600000068c3a96c6c6f06000000e697a5e69cac";

TEST(VlenCodec, EncodesAsNumcodecs) {
  auto codec = VlenCodec::Make(VlenCodec::Flavor::kUtf8);
  VariableChunk c;
  for (const char* s : {"a", "", "h\xc3\xa9llo", "\xe6\x97\xa5\xe6\x9c\xac"}) c.push_back(s);
  Bytes out;
  ASSERT_TRUE(codec->EncodeVariable(StringSpec(4), c, out).ok());
  EXPECT_EQ(ToHex(out), kNumcodecsVector);
  VariableChunk back;
  ASSERT_TRUE(codec->DecodeVariable(StringSpec(4), FromHex(kNumcodecsVector), back).ok());
  ASSERT_EQ(back.size(), 4u);
  EXPECT_EQ(back.at(2), "h\xc3\xa9llo");
  EXPECT_EQ(back.at(1), "");
}

TEST(VlenCodec, CorruptValuesAreCorruption) {
  auto codec = VlenCodec::Make(VlenCodec::Flavor::kUtf8);
  VariableChunk out;
  // A length past the end of the value.
  Status s = codec->DecodeVariable(StringSpec(1), FromHex("01000000ffffff7f61"), out);
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
  EXPECT_NE(s.ToString().find("past the end"), std::string::npos) << s.ToString();
  // A count other than the chunk's.
  s = codec->DecodeVariable(StringSpec(2), FromHex("0100000000000000"), out);
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
  // A huge count that matches a huge chunk spec but cannot fit: refused before allocating.
  s = codec->DecodeVariable(StringSpec(0xffffffffu), FromHex("ffffffff00000000"), out);
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
  EXPECT_LT(out.offsets.capacity(), 1000u);
  // Trailing bytes, truncation, invalid UTF-8 in a string chunk (but fine for bytes).
  EXPECT_EQ(codec->DecodeVariable(StringSpec(1), FromHex("010000000100000061ff"), out).code(),
            Status::Code::kCorruption);
  EXPECT_EQ(codec->DecodeVariable(StringSpec(1), FromHex("010000"), out).code(),
            Status::Code::kCorruption);
  EXPECT_EQ(codec->DecodeVariable(StringSpec(1), FromHex("0100000001000000ff"), out).code(),
            Status::Code::kCorruption);
  ChunkSpec bytes_spec{{1}, DataType(DataTypeId::kBytes), FillValue{}};
  EXPECT_TRUE(codec->DecodeVariable(bytes_spec, FromHex("0100000001000000ff"), out).ok());
}

TEST(Utf8, ValidatesWellFormedness) {
  EXPECT_TRUE(IsValidUtf8("plain \xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe6\x97"));          // truncated
}

std::vector<std::string> Sample(size_t n) {
  std::vector<std::string> v;
  for (size_t i = 0; i < n; ++i) {
    switch (i % 4) {
      case 0: v.push_back("item" + std::to_string(i)); break;
      case 1: v.push_back(""); break;
      case 2: v.push_back("\xe6\x97\xa5\xe6\x9c\xac-" + std::to_string(i)); break;
      default: v.push_back(std::string(1000 + i, 'x')); break;
    }
  }
  return v;
}

class StringChains : public ::testing::TestWithParam<const char*> {};

TEST_P(StringChains, RoundTripsRegionsAndFill) {
  auto store = MemoryStore::Create();
  ArrayMetadata m = StringMetadata({10, 7}, {4, 3}, GetParam());
  m.fill_value = FillValue{Bytes{'-'}};
  ASSERT_OK_AND_ASSIGN_TEST(auto a, Array::Create(store, "s", m));
  ASSERT_OK_AND_ASSIGN_TEST(auto reopened, Array::Open(store, "s"));
  EXPECT_EQ(reopened->data_type(), DataType(DataTypeId::kString));

  // Missing chunks read as the fill value.
  auto empty = a->ReadStrings(Region{{0, 0}, {2, 2}});
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(*empty, std::vector<std::string>(4, "-"));

  const std::vector<std::string> all = Sample(70);
  ASSERT_TRUE(a->WriteStrings(Region{{0, 0}, {10, 7}}, std::span<const std::string>(all)).ok());
  // A partial write across chunks.
  std::vector<std::string_view> patch = {"p0", "", "p\xc3\xa9", "p3", "p4", "p5"};
  ASSERT_TRUE(
      a->WriteStrings(Region{{3, 2}, {2, 3}}, std::span<const std::string_view>(patch)).ok());
  std::vector<std::string> expect = all;
  for (size_t r = 0; r < 2; ++r)
    for (size_t c = 0; c < 3; ++c) expect[(3 + r) * 7 + 2 + c] = std::string(patch[r * 3 + c]);
  auto back = reopened->ReadStrings(Region{{0, 0}, {10, 7}});
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, expect);
  auto part = reopened->ReadStrings(Region{{2, 1}, {3, 4}});
  ASSERT_TRUE(part.ok());
  for (size_t r = 0; r < 3; ++r)
    for (size_t c = 0; c < 4; ++c) EXPECT_EQ((*part)[r * 4 + c], expect[(2 + r) * 7 + 1 + c]);

  // Filling with the fill value erases the chunks it covers.
  ASSERT_TRUE(a->FillStrings(Region{{0, 0}, {4, 3}}, "-").ok());
  ASSERT_OK_AND_ASSIGN_TEST(auto gone, store->exists(a->ChunkKey({0, 0})));
  EXPECT_FALSE(gone);
  auto filled = a->ReadStrings(Region{{0, 0}, {1, 1}});
  ASSERT_TRUE(filled.ok());
  EXPECT_EQ((*filled)[0], "-");
}

INSTANTIATE_TEST_SUITE_P(
    Codecs, StringChains,
    ::testing::Values(R"([{"name":"vlen-utf8"}])",
                      R"([{"name":"vlen-utf8"},{"name":"zstd","configuration":{"level":3}}])",
                      R"([{"name":"vlen-utf8"},{"name":"gzip","configuration":{"level":5}}])",
                      R"([{"name":"transpose","configuration":{"order":[1,0]}},
                          {"name":"vlen-utf8"}])",
                      R"([{"name":"vlen-utf8"},{"name":"blosc","configuration":{"cname":"lz4",
                          "clevel":5,"shuffle":"noshuffle","blocksize":0}},{"name":"crc32c"}])",
                      R"([{"name":"sharding_indexed","configuration":{"chunk_shape":[2,3],
                          "codecs":[{"name":"vlen-utf8"},{"name":"zstd","configuration":
                          {"level":1}}],"index_codecs":[{"name":"bytes","configuration":
                          {"endian":"little"}},{"name":"crc32c"}]}}])",
                      R"([{"name":"sharding_indexed","configuration":{"chunk_shape":[1,1],
                          "codecs":[{"name":"vlen-utf8"}],"index_location":"start",
                          "index_codecs":[{"name":"bytes","configuration":
                          {"endian":"little"}}]}}])"));

TEST(StringArray, BytesTypeKeepsNulsAndBinary) {
  auto store = MemoryStore::Create();
  ArrayMetadata m = StringMetadata(
      {5}, {2}, R"([{"name":"vlen-bytes"},{"name":"zstd","configuration":{"level":1}}])",
      DataTypeId::kBytes);
  ASSERT_OK_AND_ASSIGN_TEST(auto a, Array::Create(store, "b", m));
  const std::vector<std::string> v = {std::string("a\0b", 3), std::string("\xff\xfe", 2), "",
                                      std::string(3, '\0'), "z"};
  ASSERT_TRUE(a->WriteStrings(Region{{0}, {5}}, std::span<const std::string>(v)).ok());
  auto back = a->ReadStrings(Region{{0}, {5}});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, v);
  const Json doc = a->metadata().ToJson();
  EXPECT_EQ(doc["data_type"], "bytes");
  EXPECT_EQ(doc["fill_value"], "");
}

TEST(StringArray, FillValueForms) {
  ASSERT_OK_AND_ASSIGN_TEST(FillValue s,
                            FillValue::FromJson(Json("h\xc3\xa9"), DataType(DataTypeId::kString)));
  EXPECT_EQ(AsString(s.bytes), "h\xc3\xa9");
  EXPECT_FALSE(FillValue::FromJson(Json(0), DataType(DataTypeId::kString)).ok());
  ASSERT_OK_AND_ASSIGN_TEST(FillValue b,
                            FillValue::FromJson(Json("AAEC"), DataType(DataTypeId::kBytes)));
  EXPECT_EQ(b.bytes, (Bytes{0, 1, 2}));
  EXPECT_EQ(b.ToJson(DataType(DataTypeId::kBytes)), "AAEC");
  ASSERT_OK_AND_ASSIGN_TEST(
      FillValue l, FillValue::FromJson(Json::parse("[104, 105]"), DataType(DataTypeId::kBytes)));
  EXPECT_EQ(AsString(l.bytes), "hi");
  EXPECT_FALSE(FillValue::FromJson(Json("A"), DataType(DataTypeId::kBytes)).ok());
  ASSERT_OK_AND_ASSIGN_TEST(DataType alias, DataType::FromName("variable_length_bytes"));
  EXPECT_EQ(alias, DataType(DataTypeId::kBytes));
}

TEST(StringArray, WrongApiAndBadValuesAreRefused) {
  auto store = MemoryStore::Create();
  ASSERT_OK_AND_ASSIGN_TEST(auto a, Array::Create(store, "s", StringMetadata({4}, {2}, "[]")));
  EXPECT_EQ(a->metadata().codecs[0]["name"], "vlen-utf8");
  Bytes buf(16);
  EXPECT_EQ(a->Read(Region{{0}, {4}}, buf).code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(a->Write(Region{{0}, {4}}, buf).code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(a->Fill(Region{{0}, {4}}, ByteView(buf).first(0)).code(),
            Status::Code::kFailedPrecondition);
  EXPECT_EQ(a->Append(ByteView(buf), {1}, 0).code(), Status::Code::kFailedPrecondition);
  std::vector<std::string> bad = {"ok", "\xff", "a", "b"};
  Status s = a->WriteStrings(Region{{0}, {4}}, std::span<const std::string>(bad));
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.ToString().find("value 1"), std::string::npos) << s.ToString();
  ASSERT_OK_AND_ASSIGN_TEST(auto none, store->list_prefix("s/c/"));
  EXPECT_TRUE(none.empty());
  std::vector<std::string> three = {"a", "b", "c"};
  EXPECT_EQ(a->WriteStrings(Region{{0}, {4}}, std::span<const std::string>(three)).code(),
            Status::Code::kInvalidArgument);
  // A stored element that is not UTF-8: Corruption naming the chunk.
  ASSERT_TRUE(store->set("s/c/1", FromHex("020000000100000061010000008f")).ok());
  auto r = a->ReadStrings(Region{{0}, {4}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_NE(r.status().ToString().find("s/c/1"), std::string::npos) << r.status().ToString();
  // Numeric arrays refuse the string API; bytes codec refuses string arrays.
  ArrayMetadata f;
  f.shape = {4};
  f.chunk_shape = {2};
  f.data_type = DataType(DataTypeId::kInt32);
  ASSERT_OK_AND_ASSIGN_TEST(auto num, Array::Create(store, "n", f));
  EXPECT_EQ(num->ReadStrings(Region{{0}, {4}}).status().code(), Status::Code::kFailedPrecondition);
  EXPECT_FALSE(Array::Create(store, "x", StringMetadata({4}, {2}, R"([{"name":"bytes"}])")).ok());
}

TEST(StringArray, HugeChunksAreRefusedAtOpen) {
  auto store = MemoryStore::Create();
  ArrayOptions o;
  o.max_decoded_chunk_bytes = 1 << 20;
  auto a = Array::Create(store, "s", StringMetadata({1 << 20}, {1 << 20}, "[]"), {}, o);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Status::Code::kUnsupported) << a.status().ToString();
  // A shard is decoded whole: its size counts, not its inner chunks'.
  auto b = Array::Create(store, "t", StringMetadata({1 << 20}, {1 << 20}, R"([{"name":
      "sharding_indexed","configuration":{"chunk_shape":[16],"codecs":[{"name":"vlen-utf8"}],
      "index_codecs":[{"name":"bytes","configuration":{"endian":"little"}}]}}])"),
                         {}, o);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Status::Code::kUnsupported) << b.status().ToString();
}

// The zarr.json zarr-python 3 writes for a string array, and a 0-d string array.
TEST(StringArray, ReadsZarrPython3DocumentAndZeroD) {
  auto store = MemoryStore::Create();
  ASSERT_TRUE(store
                  ->set("z/zarr.json", AsBytes(std::string(R"({"zarr_format":3,"node_type":"array",
      "shape":[],"data_type":"string","chunk_grid":{"name":"regular","configuration":
      {"chunk_shape":[]}},"chunk_key_encoding":{"name":"default","configuration":
      {"separator":"/"}},"fill_value":"","codecs":[{"name":"vlen-utf8","configuration":{}},
      {"name":"zstd","configuration":{"level":0,"checksum":false}}],"attributes":{},
      "dimension_names":null,"storage_transformers":[]})")))
                  .ok());
  ASSERT_OK_AND_ASSIGN_TEST(auto a, Array::Open(store, "z"));
  auto empty = a->ReadStrings(Region{});
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(*empty, std::vector<std::string>{""});
  std::vector<std::string> one = {"scalar \xc3\xa9"};
  ASSERT_TRUE(a->WriteStrings(Region{}, std::span<const std::string>(one)).ok());
  ASSERT_OK_AND_ASSIGN_TEST(auto stored, store->exists("z/c"));
  EXPECT_TRUE(stored);
  auto back = a->ReadStrings(Region{});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, one);
}

TEST(StringArray, ResizeResetsTheCutPart) {
  auto store = MemoryStore::Create();
  ASSERT_OK_AND_ASSIGN_TEST(auto a, Array::Create(store, "s", StringMetadata({6}, {4}, "[]")));
  std::vector<std::string> v = {"a", "b", "c", "d", "e", "f"};
  ASSERT_TRUE(a->WriteStrings(Region{{0}, {6}}, std::span<const std::string>(v)).ok());
  ASSERT_TRUE(a->Resize({3}).ok());
  ASSERT_TRUE(a->Resize({6}).ok());
  auto back = a->ReadStrings(Region{{0}, {6}});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, (std::vector<std::string>{"a", "b", "c", "", "", ""}));
}

TEST(StringArray, DigestHashesLengthAndBytes) {
  auto store = MemoryStore::Create();
  ASSERT_OK_AND_ASSIGN_TEST(auto a, Array::Create(store, "s", StringMetadata({2}, {1}, "[]")));
  std::vector<std::string> v = {"a", ""};
  ASSERT_TRUE(a->WriteStrings(Region{{0}, {2}}, std::span<const std::string>(v)).ok());
  ASSERT_OK_AND_ASSIGN_TEST(std::string d, ArrayDigest(*a));
  // sha256 of 01 00.. 61 00 00..: printf '\x01\0\0\0\0\0\0\0a\0\0\0\0\0\0\0\0' | sha256sum
  EXPECT_EQ(d, "49a1af1b982d48d444434b4fdd5a935bad437b5e211cfd8c9f18b975e2cc1e31");
}

TEST(StringArray, V2ObjectArraysMapToVlenFilters) {
  auto store = MemoryStore::Create();
  ArrayMetadata m = StringMetadata({5}, {2}, R"([{"name":"vlen-utf8"},{"name":"zstd",
      "configuration":{"level":1}}])");
  m.zarr_format = 2;
  m.fill_value = FillValue{Bytes{'?'}};
  ASSERT_OK_AND_ASSIGN_TEST(auto a, Array::Create(store, "v2", m));
  auto doc = store->get("v2/.zarray");
  ASSERT_TRUE(doc.ok() && doc->has_value());
  const Json z = Json::parse(AsString(**doc));
  EXPECT_EQ(z["dtype"], "|O");
  EXPECT_EQ(z["filters"], Json::parse(R"([{"id":"vlen-utf8"}])"));
  EXPECT_EQ(z["compressor"]["id"], "zstd");
  EXPECT_EQ(z["fill_value"], "?");
  std::vector<std::string> v = {"x", "", "\xc3\xa9", "long string", "z"};
  ASSERT_TRUE(a->WriteStrings(Region{{2}, {3}}, std::span<const std::string>(v).subspan(2)).ok());
  ASSERT_OK_AND_ASSIGN_TEST(auto b, Array::Open(store, "v2"));
  auto back = b->ReadStrings(Region{{0}, {5}});
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, (std::vector<std::string>{"?", "?", "\xc3\xa9", "long string", "z"}));
  // zarr-python 2's own form: fill_value 0, blosc with auto shuffle.
  ASSERT_TRUE(store
                  ->set("p/.zarray", AsBytes(std::string(R"({"zarr_format":2,"shape":[3],
      "chunks":[3],"dtype":"|O","fill_value":0,"order":"C","filters":[{"id":"vlen-bytes"}],
      "compressor":{"id":"blosc","cname":"lz4","clevel":5,"shuffle":-1,"blocksize":0}})")))
                  .ok());
  ASSERT_OK_AND_ASSIGN_TEST(auto p, Array::Open(store, "p"));
  EXPECT_EQ(p->data_type(), DataType(DataTypeId::kBytes));
  auto missing = p->ReadStrings(Region{{0}, {3}});
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(*missing, std::vector<std::string>(3, ""));
  ASSERT_TRUE(store
                  ->set("q/.zarray", AsBytes(std::string(R"({"zarr_format":2,"shape":[3],
      "chunks":[3],"dtype":"|O","fill_value":0,"order":"C","filters":[{"id":"pickle"}],
      "compressor":null})")))
                  .ok());
  EXPECT_EQ(Array::Open(store, "q").status().code(), Status::Code::kUnsupported);
}

TEST(StringArray, ConvertBetweenV2AndV3) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("zarrpp_strings_convert_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  ASSERT_OK_AND_ASSIGN_TEST(auto src, LocalStore::Create((dir / "src").string()));
  ArrayMetadata m = StringMetadata(
      {9}, {4}, R"([{"name":"vlen-utf8"},{"name":"zstd","configuration":{"level":1}}])");
  m.zarr_format = 2;
  ASSERT_OK_AND_ASSIGN_TEST(auto a, Array::Create(src, "a", m));
  const std::vector<std::string> v = Sample(9);
  ASSERT_TRUE(a->WriteStrings(Region{{0}, {9}}, std::span<const std::string>(v)).ok());
  ASSERT_OK_AND_ASSIGN_TEST(std::string d_src, ArrayDigest(*a));
  ASSERT_OK_AND_ASSIGN_TEST(auto v3store, LocalStore::Create((dir / "v3").string()));
  ConvertOptions o;
  o.zarr_format = 3;
  auto r3 = Convert(src, "", v3store, "", o);
  ASSERT_TRUE(r3.ok()) << r3.status().ToString();
  ASSERT_OK_AND_ASSIGN_TEST(auto b, Array::Open(v3store, "a"));
  EXPECT_EQ(b->metadata().zarr_format, 3);
  EXPECT_EQ(b->data_type(), DataType(DataTypeId::kString));
  ASSERT_OK_AND_ASSIGN_TEST(std::string d_v3, ArrayDigest(*b));
  EXPECT_EQ(d_src, d_v3);
  o.zarr_format = 2;
  ASSERT_OK_AND_ASSIGN_TEST(auto back_store, LocalStore::Create((dir / "back").string()));
  auto r2 = Convert(v3store, "", back_store, "", o);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  ASSERT_OK_AND_ASSIGN_TEST(auto c, Array::Open(back_store, "a"));
  auto values = c->ReadStrings(Region{{0}, {9}});
  ASSERT_TRUE(values.ok());
  EXPECT_EQ(*values, v);
  std::filesystem::remove_all(dir);
}

// zarr-python 2.13 (the Debian interpreter at /usr/bin/python3) writes and reads v2 object arrays
// with the vlen-utf8 and vlen-bytes filters.
TEST(StringArray, ZarrPython2ReadsAndWritesObjectArrays) {
  if (std::system("/usr/bin/python3 -c 'import zarr, numcodecs' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "/usr/bin/python3 with zarr 2 and numcodecs is not available";
  }
  const auto dir =
      std::filesystem::temp_directory_path() / ("zarrpp_strings_py_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string script = (dir / "peer.py").string();
  {
    std::ofstream py(script);
    py << R"(import sys, zarr, numcodecs
root = sys.argv[1]
if sys.argv[2] == "write":
    g = zarr.open_group(root, mode="w")
    s = g.create("s", shape=(7,), chunks=(3,), dtype=str, compressor=numcodecs.Zstd(level=3))
    s[0:5] = ["a", "", "h\u00e9llo", "\u65e5\u672c", "x" * 300]
    b = g.create("b", shape=(4,), chunks=(2,), dtype=bytes)
    b[:] = [b"a\x00b", b"", b"\xff", b"z"]
else:
    s = zarr.open_array(root + "/ours_s", mode="r")
    b = zarr.open_array(root + "/ours_b", mode="r")
    print(repr(list(s[:])))
    print(repr(list(b[:])))
)";
  }
  const std::string data = (dir / "data").string();  // the peer's "w" mode empties it
  ASSERT_EQ(std::system(("/usr/bin/python3 " + script + " " + data + " write").c_str()), 0);
  ASSERT_OK_AND_ASSIGN_TEST(auto store, LocalStore::Create(data));
  ASSERT_OK_AND_ASSIGN_TEST(auto s, Array::Open(store, "s"));
  EXPECT_EQ(s->data_type(), DataType(DataTypeId::kString));
  auto sv = s->ReadStrings(Region{{0}, {5}});
  ASSERT_TRUE(sv.ok()) << sv.status().ToString();
  EXPECT_EQ(*sv, (std::vector<std::string>{"a", "", "h\xc3\xa9llo", "\xe6\x97\xa5\xe6\x9c\xac",
                                           std::string(300, 'x')}));
  ASSERT_OK_AND_ASSIGN_TEST(auto b, Array::Open(store, "b"));
  auto bv = b->ReadStrings(Region{{0}, {4}});
  ASSERT_TRUE(bv.ok()) << bv.status().ToString();
  EXPECT_EQ(*bv, (std::vector<std::string>{std::string("a\0b", 3), "", "\xff", "z"}));

  // Ours, read by zarr-python 2.
  ArrayMetadata ms = StringMetadata({3}, {2}, R"([{"name":"vlen-utf8"},{"name":"blosc",
      "configuration":{"cname":"lz4","clevel":5,"shuffle":"noshuffle","blocksize":0}}])");
  ms.zarr_format = 2;
  ASSERT_OK_AND_ASSIGN_TEST(auto os, Array::Create(store, "ours_s", ms));
  std::vector<std::string> v = {"q", "\xc3\xa9t\xc3\xa9", ""};
  ASSERT_TRUE(os->WriteStrings(Region{{0}, {3}}, std::span<const std::string>(v)).ok());
  ArrayMetadata mb = StringMetadata({2}, {2}, R"([{"name":"vlen-bytes"},{"name":"zstd",
      "configuration":{"level":1}}])",
                                    DataTypeId::kBytes);
  mb.zarr_format = 2;
  ASSERT_OK_AND_ASSIGN_TEST(auto ob, Array::Create(store, "ours_b", mb));
  std::vector<std::string> w = {std::string("\0\1", 2), "end"};
  ASSERT_TRUE(ob->WriteStrings(Region{{0}, {2}}, std::span<const std::string>(w)).ok());
  const std::string out = (dir / "out.txt").string();
  ASSERT_EQ(std::system(("/usr/bin/python3 " + script + " " + data + " read > " + out).c_str()), 0);
  std::ifstream in(out);
  std::string line1, line2;
  std::getline(in, line1);
  std::getline(in, line2);
  EXPECT_EQ(line1, "['q', '\xc3\xa9t\xc3\xa9', '']");
  EXPECT_EQ(line2, "[b'\\x00\\x01', b'end']");
  std::filesystem::remove_all(dir);
}

// zarrita.js (tests/interop, npm) reads v3 string arrays: its digest (spec/strings.md) of each must
// equal ours.
TEST(StringArray, ZarritaReadsOurStringArrays) {
  const std::string interop = ZARRPP_INTEROP_DIR;
  if (std::system("node --version >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "node is not installed";
  }
  if (!std::filesystem::exists(interop + "/node_modules/zarrita")) {
    GTEST_SKIP() << "zarrita.js is not installed: run `npm ci` in " << interop;
  }
  const auto dir = std::filesystem::temp_directory_path() /
                   ("zarrpp_strings_zarrita_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  ASSERT_OK_AND_ASSIGN_TEST(auto store, LocalStore::Create(dir.string()));
  const std::vector<std::string> v = Sample(42);
  const char* chains[] = {
      R"([{"name":"vlen-utf8"}])",
      R"([{"name":"vlen-utf8"},{"name":"zstd","configuration":{"level":3}}])",
      R"([{"name":"vlen-utf8"},{"name":"gzip","configuration":{"level":5}}])",
      R"([{"name":"sharding_indexed","configuration":{"chunk_shape":[2,3],"codecs":[{"name":
          "vlen-utf8"},{"name":"zstd","configuration":{"level":1}}],"index_codecs":[{"name":
          "bytes","configuration":{"endian":"little"}},{"name":"crc32c"}]}}])"};
  std::map<std::string, std::string> ours;
  for (size_t i = 0; i < std::size(chains); ++i) {
    std::string path(1, 'a');  // (not "a" + ...: GCC 12 warns falsely, -Wrestrict)
    path += std::to_string(i);
    ASSERT_OK_AND_ASSIGN_TEST(
        auto a, Array::Create(store, path, StringMetadata({7, 6}, {4, 6}, chains[i])));
    ASSERT_TRUE(a->WriteStrings(Region{{0, 0}, {7, 6}}, std::span<const std::string>(v)).ok());
    ASSERT_OK_AND_ASSIGN_TEST(ours[path], ArrayDigest(*a));
  }
  const std::string out = (dir / "digests.json").string();
  ASSERT_EQ(
      std::system(
          ("node " + interop + "/zarrita_peer.mjs digest " + dir.string() + " > " + out).c_str()),
      0);
  std::ifstream in(out);
  const Json j = Json::parse(in);
  ASSERT_EQ(j["arrays"].size(), ours.size()) << j.dump();
  for (const Json& e : j["arrays"]) {
    const std::string path = e["path"].get<std::string>();
    ASSERT_TRUE(e.contains("sha256")) << path << ": " << e.dump();
    EXPECT_EQ(e["sha256"].get<std::string>(), ours[path]) << path;
  }
  std::filesystem::remove_all(dir);
}

// The codec_chain fuzz corpus holds a valid chunk for each variable-size chain (its first byte
// picks the chain), so fuzzing starts from values that decode.
TEST(StringArray, FuzzSeedsOfVlenChainsDecode) {
  const std::string corpus = std::string(ZARRPP_INTEROP_DIR) + "/../fuzz/corpus/codec_chain";
  int checked = 0;
  for (size_t k = 0; k < fuzz::kNumChains; ++k) {
    if (!DataType(fuzz::kChains[k].type).is_variable()) continue;
    std::ifstream f(corpus + "/seed-" + std::to_string(k), std::ios::binary);
    ASSERT_TRUE(f.good()) << "no seed for chain " << k;
    const std::string seed((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    ASSERT_EQ(static_cast<uint8_t>(seed[0]), k);
    auto store = MemoryStore::Create();
    ASSERT_OK_AND_ASSIGN_TEST(
        auto a, Array::Create(store, "a",
                              StringMetadata({16, 16}, {16, 16}, fuzz::kChains[k].codecs,
                                             fuzz::kChains[k].type)));
    ASSERT_TRUE(store->set("a/c/0/0", AsBytes(std::string_view(seed).substr(1))).ok());
    auto values = a->ReadStrings(Region{{0, 0}, {16, 16}});
    ASSERT_TRUE(values.ok()) << k << ": " << values.status().ToString();
    EXPECT_EQ((*values)[9], "jj") << k;  // 9 % 7 copies of the 10th letter
    EXPECT_EQ((*values)[200], "") << k;
    ++checked;
  }
  EXPECT_EQ(checked, 3);
}

}  // namespace
}  // namespace zarrpp
