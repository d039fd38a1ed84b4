// Zarr v2 arrays with numcodecs filters and compressors, against zarr-python 2.13 and numcodecs
// (Debian's /usr/bin/python3): we read what it writes and it reads what we write
// (tests/interop/numcodecs_v2_peer.py). Without that interpreter the tests skip, saying so.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "src/metadata/metadata_v2.h"
#include "zarrpp/array.h"
#include "zarrpp/json.h"
#include "zarrpp/local_store.h"

namespace zarrpp {
namespace {

namespace fs = std::filesystem;

const char* kPython = "/usr/bin/python3";

fs::path Peer() {
  return ZARRPP_NUMCODECS_PEER;
}

// Empty when the peer can run, else why not.
std::string PeerMissing() {
  if (!fs::exists(kPython)) return std::string(kPython) + " is not installed";
  if (!fs::exists(Peer())) return Peer().string() + " is missing";
  const std::string probe = std::string(kPython) + " -c 'import zarr, numcodecs' >/dev/null 2>&1";
  if (std::system(probe.c_str()) != 0)
    return "zarr or numcodecs is not importable by /usr/bin/python3";
  return "";
}

// Runs the peer; returns its exit code and appends its output to `log`.
int RunPeer(const std::string& mode, const fs::path& dir, std::string& log) {
  const std::string cmd = "cd / && " + std::string(kPython) + " " + Peer().string() + " " + mode +
                          " " + dir.string() + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[512];
  while (fgets(buf, sizeof(buf), p) != nullptr) log += buf;
  const int rc = pclose(p);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

fs::path FreshDir(const std::string& name) {
  const fs::path d =
      fs::temp_directory_path() / ("zarrpp_numcodecs_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

Bytes ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(NumcodecsInterop, WeReadWhatZarrPython2Wrote) {
  if (const std::string why = PeerMissing(); !why.empty()) GTEST_SKIP() << why;
  const fs::path dir = FreshDir("peer_writes");
  std::string log;
  ASSERT_EQ(RunPeer("write", dir, log), 0) << log;
  auto store = LocalStore::Create(dir.string());
  ASSERT_TRUE(store.ok()) << store.status();
  int arrays = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".expected") continue;
    const std::string name = entry.path().stem().string();
    auto a = Array::Open(*store, name);
    ASSERT_TRUE(a.ok()) << name << ": " << a.status();
    const ArrayMetadata& m = (*a)->metadata();
    uint64_t n = 1;
    for (uint64_t s : m.shape) n *= s;
    Bytes got(n * m.data_type.size());
    ASSERT_TRUE((*a)->Read(Region::All(m.shape), MutableByteView(got)).ok()) << name;
    EXPECT_EQ(got, ReadFile(entry.path())) << name << " codecs " << m.codecs->dump();
    ++arrays;
  }
  EXPECT_EQ(arrays, 9) << log;
  fs::remove_all(dir);
}

struct WriteCase {
  const char* name;
  Json zarray;
};

// Values for `type`, little-endian: a deterministic mix the filters keep (mostly) exactly.
Bytes Values(DataType type, uint64_t n) {
  Bytes out(n * type.size());
  for (uint64_t i = 0; i < n; ++i) {
    const double x = std::sin(0.37 * static_cast<double>(i)) * 90.0;
    uint8_t* p = out.data() + i * type.size();
    switch (type.id()) {
      case DataTypeId::kFloat64: std::memcpy(p, &x, 8); break;
      case DataTypeId::kFloat32: {
        const float f = static_cast<float>(x);
        std::memcpy(p, &f, 4);
        break;
      }
      case DataTypeId::kInt32: {
        const int32_t v = static_cast<int32_t>(i * 5) - 40;
        std::memcpy(p, &v, 4);
        break;
      }
      case DataTypeId::kUInt16: {
        const uint16_t v = static_cast<uint16_t>(i * 97);
        std::memcpy(p, &v, 2);
        break;
      }
      case DataTypeId::kInt64: {
        const int64_t v = static_cast<int64_t>(i * i * i) - 1000;
        std::memcpy(p, &v, 8);
        break;
      }
      default: p[0] = static_cast<uint8_t>(i * 3); break;
    }
  }
  return out;
}

TEST(NumcodecsInterop, ZarrPython2ReadsWhatWeWrote) {
  if (const std::string why = PeerMissing(); !why.empty()) GTEST_SKIP() << why;
  const Json base = {{"zarr_format", 2},
                     {"fill_value", 0},
                     {"order", "C"},
                     {"compressor", nullptr},
                     {"filters", nullptr}};
  auto with = [&](Json z) {
    for (auto& [k, v] : base.items()) {
      if (!z.contains(k)) z[k] = v;
    }
    return z;
  };
  const WriteCase cases[] = {
      {"delta_lz4",
       with({{"shape", {20, 15}},
             {"chunks", {7, 4}},
             {"dtype", "<i4"},
             {"filters", Json::array({{{"id", "delta"}, {"dtype", "<i4"}, {"astype", "<i2"}}})},
             {"compressor", {{"id", "lz4"}, {"acceleration", 1}}}})},
      {"fso_bz2", with({{"shape", {30}},
                        {"chunks", {8}},
                        {"dtype", "<f8"},
                        {"filters", Json::array({{{"id", "fixedscaleoffset"},
                                                  {"offset", 10},
                                                  {"scale", 100},
                                                  {"dtype", "<f8"},
                                                  {"astype", "<i4"}}})},
                        {"compressor", {{"id", "bz2"}, {"level", 5}}}})},
      {"quantize_lzma",
       with({{"shape", {12, 10}},
             {"chunks", {5, 5}},
             {"dtype", "<f4"},
             {"filters",
              Json::array(
                  {{{"id", "quantize"}, {"digits", 2}, {"dtype", "<f4"}, {"astype", "<f4"}}})},
             {"compressor",
              {{"id", "lzma"},
               {"format", 1},
               {"check", -1},
               {"preset", nullptr},
               {"filters", nullptr}}}})},
      {"astype_zlib",
       with({{"shape", {25}},
             {"chunks", {10}},
             {"dtype", "<f8"},
             {"filters",
              Json::array({{{"id", "astype"}, {"encode_dtype", "<f4"}, {"decode_dtype", "<f8"}}})},
             {"compressor", {{"id", "zlib"}, {"level", 1}}}})},
      {"bitround_zstd", with({{"shape", {120}},
                              {"chunks", {40}},
                              {"dtype", "<f4"},
                              {"filters", Json::array({{{"id", "bitround"}, {"keepbits", 6}}})},
                              {"compressor", {{"id", "zstd"}, {"level", 3}}}})},
      {"shuffle_fletcher_gzip",
       with({{"shape", {16, 16}},
             {"chunks", {5, 7}},
             {"dtype", "<u2"},
             {"filters",
              Json::array({{{"id", "shuffle"}, {"elementsize", 2}}, {{"id", "adler32"}}})},
             {"compressor", {{"id", "gzip"}, {"level", 6}}}})},
      {"delta_forder_snappy",
       with({{"shape", {6, 9}},
             {"chunks", {4, 4}},
             {"dtype", "<i8"},
             {"order", "F"},
             {"filters", Json::array({{{"id", "delta"}, {"dtype", "<i8"}, {"astype", "<i8"}}})},
             {"compressor",
              {{"id", "blosc"},
               {"cname", "snappy"},
               {"clevel", 5},
               {"shuffle", 2},
               {"blocksize", 0}}}})},
      {"crc32_nocompressor", with({{"shape", {50}},
                                   {"chunks", {16}},
                                   {"dtype", "|u1"},
                                   {"filters", Json::array({{{"id", "crc32"}}})}})},
  };
  const fs::path dir = FreshDir("we_write");
  auto store = LocalStore::Create(dir.string());
  ASSERT_TRUE(store.ok()) << store.status();
  for (const WriteCase& c : cases) {
    auto m = internal::ArrayMetadataFromV2(c.zarray, nullptr, c.name);
    ASSERT_TRUE(m.ok()) << c.name << ": " << m.status();
    auto a = Array::Create(*store, c.name, *m);
    ASSERT_TRUE(a.ok()) << c.name << ": " << a.status();
    uint64_t n = 1;
    for (uint64_t s : m->shape) n *= s;
    const Bytes values = Values(m->data_type, n);
    ASSERT_TRUE((*a)->Write(Region::All(m->shape), ByteView(values)).ok()) << c.name;
    std::ofstream(dir / (std::string(c.name) + ".input"), std::ios::binary)
        .write(reinterpret_cast<const char*>(values.data()),
               static_cast<std::streamsize>(values.size()));
  }
  std::string log;
  EXPECT_EQ(RunPeer("read", dir, log), 0) << log;
  EXPECT_NE(log.find("8/8 arrays match"), std::string::npos) << log;
  std::printf("%s", log.c_str());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace zarrpp
