// Hostile metadata and stored bytes (spec/errors.md, "Limits"): sizes that overflow, chunks and
// shards that claim more than memory holds, compressed values that claim or produce more than
// their chunk allows, and whole-array work over arrays that are mostly fill. Each case runs where
// memory matters in a forked child under an address-space cap (setrlimit RLIMIT_AS) with a time
// limit, and checks the child's peak RSS; the CLI cases run the zarrpp binary.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "codecs/codec.h"
#include "src/checked_math.h"
#include "zarrpp/array.h"
#include "zarrpp/digest.h"
#include "zarrpp/json.h"
#include "zarrpp/local_store.h"
#include "zarrpp/memory_store.h"

#if defined(__SANITIZE_ADDRESS__)
#define ZARRPP_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ZARRPP_TEST_ASAN 1
#endif
#endif

namespace zarrpp {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;

// ---- A forked child under a memory cap.

struct ChildResult {
  bool exited = false;
  int exit_code = -1;
  int signal = 0;
  std::string message;   // what the child reported
  uint64_t max_rss = 0;  // bytes
  double seconds = 0;
};

// Runs `body` in a forked child with RLIMIT_AS = `cap` (not under AddressSanitizer, which
// reserves terabytes of address space) and SIGALRM after `timeout_s`. The child exits 0 when
// `body` returns an empty string, else 1 with the string as its message.
ChildResult RunCapped(const std::function<std::string()>& body, uint64_t cap, unsigned timeout_s) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
#ifndef ZARRPP_TEST_ASAN
    rlimit lim{cap, cap};
    setrlimit(RLIMIT_AS, &lim);
#else
    (void)cap;
#endif
    alarm(timeout_s);
    std::string msg = body();
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const std::string out = std::to_string(ru.ru_maxrss) + "\n" + msg;
    (void)!write(fds[1], out.data(), out.size());
    close(fds[1]);
    _exit(msg.empty() ? 0 : 1);
  }
  close(fds[1]);
  std::string data;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) data.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ChildResult r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.exited = WIFEXITED(status);
  r.exit_code = r.exited ? WEXITSTATUS(status) : -1;
  r.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  const size_t nl = data.find('\n');
  if (nl != std::string::npos) {
    r.max_rss = std::stoull(data.substr(0, nl)) * 1024;
    r.message = data.substr(nl + 1);
  }
  return r;
}

// The child passed, within `rss_limit` bytes of peak RSS (not checked under AddressSanitizer).
void ExpectPassed(const ChildResult& r, uint64_t rss_limit) {
  EXPECT_TRUE(r.exited) << "child killed by signal " << r.signal << " after " << r.seconds << " s";
  EXPECT_EQ(r.exit_code, 0) << r.message;
#ifndef ZARRPP_TEST_ASAN
  EXPECT_LE(r.max_rss, rss_limit) << "peak RSS " << r.max_rss / kMiB << " MiB";
#else
  (void)rss_limit;
#endif
}

// An empty string when `s` has `code` and its message contains `needle`, else a description.
std::string Expect(const Status& s, Status::Code code, std::string_view needle = "") {
  if (s.code() == code && s.message().find(needle) != std::string::npos) return "";
  return "expected " + std::string(CodeName(code)) + " containing '" + std::string(needle) +
         "', got " + s.ToString();
}

// ---- Hostile arrays on disk.

bool HaveCli() {
#ifdef ZARRPP_CLI_PATH
  return true;
#else
  return false;
#endif
}

class Hostile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("zarrpp_hostile_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Put(const std::string& key, std::string_view bytes) {
    const fs::path p = dir_ / key;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  std::shared_ptr<Store> OpenStore() {
    auto s = LocalStore::Open(dir_.string());
    EXPECT_TRUE(s.ok()) << s.status();
    return *s;
  }
  static ArrayOptions SmallOptions() {
    ArrayOptions o;
    o.executor = InlineExecutor();
    return o;
  }
  static std::string V3(const std::string& shape, const std::string& chunks,
                        const std::string& dtype, const std::string& codecs) {
    return R"({"zarr_format":3,"node_type":"array","shape":)" + shape + R"(,"data_type":")" +
           dtype + R"(","chunk_grid":{"name":"regular","configuration":{"chunk_shape":)" + chunks +
           R"(}},"chunk_key_encoding":{"name":"default"},"fill_value":0,"codecs":)" + codecs + "}";
  }
  // Runs the CLI; returns its exit code (or -signal) and its stderr in `err`.
  int Cli(const std::string& args, std::string* err) {
#ifndef ZARRPP_CLI_PATH
#define ZARRPP_CLI_PATH ""
#endif
    const fs::path errfile = dir_ / "cli.stderr";
    const std::string cmd =
        std::string(ZARRPP_CLI_PATH) + " " + args + " >/dev/null 2>" + errfile.string();
    const int status = std::system(cmd.c_str());
    std::ifstream in(errfile);
    err->assign(std::istreambuf_iterator<char>(in), {});
    if (WIFSIGNALED(status)) return -WTERMSIG(status);
    const int code = WEXITSTATUS(status);
    return code >= 128 ? -(code - 128) : code;
  }

  fs::path dir_;
};

// ---- 1. Sizes that overflow uint64.

TEST(CheckedMath, OverflowIsInvalidArgumentNamingTheField) {
  EXPECT_EQ(*internal::CheckedMul(uint64_t{1} << 32, uint64_t{1} << 31, "x"), uint64_t{1} << 63);
  Status s = internal::CheckedMul(uint64_t{1} << 32, uint64_t{1} << 32, "chunk bytes").status();
  EXPECT_TRUE(s.IsInvalidArgument()) << s;
  EXPECT_NE(s.message().find("chunk bytes"), std::string::npos) << s;
  EXPECT_TRUE(internal::CheckedAdd(UINT64_MAX, 1, "end").status().IsInvalidArgument());
  const std::vector<uint64_t> shape = {1, uint64_t{1} << 32, uint64_t{1} << 32};
  s = internal::CheckedProduct(shape, "region shape").status();
  EXPECT_TRUE(s.IsInvalidArgument()) << s;
  EXPECT_NE(s.message().find("region shape"), std::string::npos) << s;
  EXPECT_EQ(*internal::CheckedProduct(std::vector<uint64_t>{0, UINT64_MAX, UINT64_MAX}, "z"), 0u);
  EXPECT_TRUE(internal::CheckedProduct(std::vector<uint64_t>{uint64_t{1} << 62}, "b", 8)
                  .status()
                  .IsInvalidArgument());
}

TEST_F(Hostile, ShapeWhoseBytesOverflowIsInvalidArgumentAtOpen) {
  // A 250-byte zarr.json with shape [1, 2^32, 2^32] and one stored chunk.
  Put("zarr.json", V3("[1,4294967296,4294967296]", "[1,1,4096]", "uint8", R"([{"name":"bytes"}])"));
  Put("c/0/0/0", std::string(4096, 'A'));
  auto store = OpenStore();
  const ChildResult r = RunCapped(
      [&] {
        auto a = Array::Open(store, "", SmallOptions());
        return Expect(a.status(), Status::Code::kInvalidArgument, "shape");
      },
      2 * kGiB, 20);
  ExpectPassed(r, 256 * kMiB);
}

TEST_F(Hostile, V2ShapeWhoseBytesOverflowIsInvalidArgumentAtOpen) {
  Put(".zarray", R"({"zarr_format":2,"shape":[4294967296,4294967296],"chunks":[1,4096],)"
                 R"("dtype":"<f8","compressor":null,"fill_value":0,"order":"C","filters":null})");
  auto a = Array::Open(OpenStore(), "", SmallOptions());
  EXPECT_TRUE(a.status().IsInvalidArgument()) << a.status();
  EXPECT_NE(a.status().message().find("shape"), std::string::npos) << a.status();
}

TEST_F(Hostile, ChunkGridPastTwoToTheSixtyFourIsInvalidArgument) {
  // 2^64 - 1 elements in chunks of 2^63 + 1: the second chunk ends past 2^64.
  Put("zarr.json",
      V3("[18446744073709551615]", "[9223372036854775809]", "bool", R"([{"name":"bytes"}])"));
  auto a = Array::Open(OpenStore(), "", SmallOptions());
  EXPECT_TRUE(a.status().IsInvalidArgument()) << a.status();
}

TEST(HostileRegion, ReadOfARegionPastTheArrayIsInvalidArgument) {
  auto store = MemoryStore::Create();
  ArrayMetadata m;
  m.shape = {uint64_t{1} << 40, uint64_t{1} << 20};
  m.chunk_shape = {1, 1024};
  m.data_type = DataType(DataTypeId::kUInt8);
  auto a = Array::Create(store, "a", m);
  ASSERT_TRUE(a.ok()) << a.status();
  uint8_t buf[16];
  // origin + shape wraps around 2^64.
  Region r{{UINT64_MAX - 1, 0}, {4, 4}};
  EXPECT_TRUE((*a)->Read(r, MutableByteView(buf, 16)).IsInvalidArgument());
  // A buffer whose size matches the wrapped product is still refused.
  Region big{{0, 0}, {uint64_t{1} << 40, uint64_t{1} << 20}};
  EXPECT_TRUE((*a)->Read(big, MutableByteView(buf, 0)).IsInvalidArgument());
}

TEST_F(Hostile, CliDigestOfOverflowingShapeFailsCleanly) {
  if (!HaveCli()) GTEST_SKIP() << "the zarrpp tool is not built";
  Put("zarr.json", V3("[1,4294967296,4294967296]", "[1,1,4096]", "uint8", R"([{"name":"bytes"}])"));
  Put("c/0/0/0", std::string(4096, 'A'));
  std::string err;
  EXPECT_EQ(Cli("digest " + dir_.string(), &err), 1) << err;
  EXPECT_NE(err.find("InvalidArgument"), std::string::npos) << err;
}

// ---- 2. Exceptions and allocations that cannot succeed.

TEST_F(Hostile, HugeChunkIsUnsupportedAtOpenV3) {
  Put("zarr.json", V3("[1099511627776]", "[1099511627776]", "uint8",
                      R"([{"name":"bytes"},{"name":"zstd","configuration":{"level":0}}])"));
  Put("c/0", "not a zstd frame");
  auto store = OpenStore();
  const ChildResult r = RunCapped(
      [&] {
        auto a = Array::Open(store, "", SmallOptions());
        return Expect(a.status(), Status::Code::kUnsupported, "max_decoded_chunk_bytes");
      },
      2 * kGiB, 20);
  ExpectPassed(r, 256 * kMiB);
}

TEST_F(Hostile, HugeChunkIsUnsupportedAtOpenV2) {
  Put(".zarray", R"({"zarr_format":2,"shape":[1099511627776],"chunks":[1099511627776],)"
                 R"("dtype":"|u1","compressor":null,"fill_value":0,"order":"C","filters":null})");
  Put("0", "xyz");
  auto a = Array::Open(OpenStore(), "", SmallOptions());
  EXPECT_TRUE(a.status().IsUnsupported()) << a.status();
  EXPECT_NE(a.status().message().find("1099511627776"), std::string::npos) << a.status();
}

TEST_F(Hostile, ReadOfHugeChunkPastTheLimitReturnsAnErrorInsteadOfAborting) {
#ifdef ZARRPP_TEST_ASAN
  GTEST_SKIP() << "AddressSanitizer aborts on a 1 TiB allocation before it can fail";
#endif
  // The limit raised by the caller: the allocation fails under the cap and is an error value.
  for (const bool v2 : {false, true}) {
    if (v2) {
      fs::remove_all(dir_);
      fs::create_directories(dir_);
      Put(".zarray", R"({"zarr_format":2,"shape":[1099511627776],"chunks":[1099511627776],)"
                     R"("dtype":"|u1","compressor":null,"fill_value":0,"order":"C",)"
                     R"("filters":null})");
      Put("0", "xyz");
    } else {
      Put("zarr.json", V3("[1099511627776]", "[1099511627776]", "uint8",
                          R"([{"name":"bytes"},{"name":"zstd","configuration":{"level":0}}])"));
      Put("c/0", "not a zstd frame");
    }
    auto store = OpenStore();
    const ChildResult r = RunCapped(
        [&]() -> std::string {
          ArrayOptions o = SmallOptions();
          o.max_decoded_chunk_bytes = UINT64_MAX;
          auto a = Array::Open(store, "", o);
          if (!a.ok()) return a.status().ToString();
          uint8_t one = 0;
          Status s = (*a)->Read(Region{{5}, {1}}, MutableByteView(&one, 1));
          if (s.ok()) return "read of a 1 TiB chunk succeeded";
          return "";
        },
        2 * kGiB, 30);
    ExpectPassed(r, 512 * kMiB);
  }
}

// The shard index of 2^32 inner chunks would be 64 GiB; opening must not depend on the count.
TEST_F(Hostile, ShardWithTwoToTheThirtyTwoInnerChunksIsUnsupportedAtOpen) {
  Put("zarr.json",
      V3("[4294967296]", "[4294967296]", "uint8",
         R"([{"name":"sharding_indexed","configuration":{"chunk_shape":[1],)"
         R"("codecs":[{"name":"bytes"}],"index_codecs":[{"name":"bytes","configuration":)"
         R"({"endian":"little"}},{"name":"crc32c"}],"index_location":"end"}}])"));
  auto store = OpenStore();
  const ChildResult r = RunCapped(
      [&] {
        auto a = Array::Open(store, "", SmallOptions());
        return Expect(a.status(), Status::Code::kUnsupported, "max_inner_chunks_per_shard");
      },
      2 * kGiB, 20);
  ExpectPassed(r, 256 * kMiB);
  EXPECT_LT(r.seconds, 5.0);
}

TEST_F(Hostile, OpeningAShardOfManyInnerChunksCostsNothingUpFront) {
  // 2^26 inner chunks, the limit raised to allow them: the Morton order is not tabulated at open.
  Put("zarr.json",
      V3("[67108864]", "[67108864]", "uint8",
         R"([{"name":"sharding_indexed","configuration":{"chunk_shape":[1],)"
         R"("codecs":[{"name":"bytes"}],"index_codecs":[{"name":"bytes","configuration":)"
         R"({"endian":"little"}},{"name":"crc32c"}],"index_location":"end"}}])"));
  auto store = OpenStore();
  const ChildResult r = RunCapped(
      [&]() -> std::string {
        ArrayOptions o = SmallOptions();
        o.max_inner_chunks_per_shard = uint64_t{1} << 27;
        auto a = Array::Open(store, "", o);
        return a.ok() ? "" : a.status().ToString();
      },
      2 * kGiB, 20);
  ExpectPassed(r, 128 * kMiB);
  EXPECT_LT(r.seconds, 3.0);
}

TEST_F(Hostile, InnerChunksPerShardLimitIsPerHandle) {
  Put("zarr.json",
      V3("[4096]", "[4096]", "uint8",
         R"([{"name":"sharding_indexed","configuration":{"chunk_shape":[1],)"
         R"("codecs":[{"name":"bytes"}],"index_codecs":[{"name":"bytes","configuration":)"
         R"({"endian":"little"}}],"index_location":"end"}}])"));
  ArrayOptions o = SmallOptions();
  o.max_inner_chunks_per_shard = 4095;
  auto a = Array::Open(OpenStore(), "", o);
  EXPECT_TRUE(a.status().IsUnsupported()) << a.status();
  EXPECT_NE(a.status().message().find("4096"), std::string::npos) << a.status();
  EXPECT_NE(a.status().message().find("4095"), std::string::npos) << a.status();
  o.max_inner_chunks_per_shard = 4096;
  EXPECT_TRUE(Array::Open(OpenStore(), "", o).ok());
}

TEST_F(Hostile, CliInfoOfANonObjectZarrJsonFailsCleanly) {
  if (!HaveCli()) GTEST_SKIP() << "the zarrpp tool is not built";
  Put("zarr.json", "[1,2]");
  std::string err;
  EXPECT_EQ(Cli("info " + dir_.string(), &err), 1) << err;
  EXPECT_NE(err.find("Corruption"), std::string::npos) << err;
  Put("zarr.json", R"({"node_type":5,"attributes":[]})");
  EXPECT_EQ(Cli("info " + dir_.string(), &err), 1) << err;
}

TEST_F(Hostile, CliConvertWithAnOversizedNumberFailsCleanly) {
  if (!HaveCli()) GTEST_SKIP() << "the zarrpp tool is not built";
  Put("zarr.json", R"({"zarr_format":3,"node_type":"group"})");
  std::string err;
  EXPECT_EQ(Cli("convert " + dir_.string() + " " + (dir_ / "out").string() +
                    " --chunks 99999999999999999999999",
                &err),
            1)
      << err;
  EXPECT_NE(err.find("InvalidArgument"), std::string::npos) << err;
  EXPECT_EQ(
      Cli("convert " + dir_.string() + " " + (dir_ / "out").string() + " --shards 1,-2", &err), 1)
      << err;
}

// ---- 3. Decompression bombs: what a value claims or produces past its chunk.

// A zstd frame of `blocks` RLE blocks of 128 KiB each; `content` is announced when set.
std::string ZstdRleFrame(std::optional<uint64_t> content, int blocks) {
  std::string f = "\x28\xb5\x2f\xfd";
  if (content) {
    f += '\xe0';  // 8-byte content size, single segment
    for (int i = 0; i < 8; ++i) f += static_cast<char>((*content >> (8 * i)) & 0xff);
  } else {
    f += '\x00';
    f += '\x38';  // window 128 KiB
  }
  for (int b = 0; b < blocks; ++b) {
    const uint32_t h = (b + 1 == blocks ? 1u : 0u) | (1u << 1) | (uint32_t{131072} << 3);
    f += static_cast<char>(h & 0xff);
    f += static_cast<char>((h >> 8) & 0xff);
    f += static_cast<char>((h >> 16) & 0xff);
    f += 'z';
  }
  return f;
}

constexpr const char* kZstd = R"({"name":"zstd","configuration":{"level":0}})";

TEST_F(Hostile, CompressorAfterCompressorClaimingSixteenGiBIsCorruption) {
  Put("zarr.json", V3("[65536]", "[65536]", "uint8",
                      std::string(R"([{"name":"bytes"},)") + kZstd + "," + kZstd + "]"));
  Put("c/0", ZstdRleFrame(uint64_t{16} << 30, 64 * 1024));  // 256 KiB, claims 16 GiB
  auto store = OpenStore();
  const ChildResult r = RunCapped(
      [&]() -> std::string {
        auto a = Array::Open(store, "", SmallOptions());
        if (!a.ok()) return a.status().ToString();
        uint8_t one = 0;
        return Expect((*a)->Read(Region{{0}, {1}}, MutableByteView(&one, 1)),
                      Status::Code::kCorruption, "zstd");
      },
      2 * kGiB, 20);
  ExpectPassed(r, 256 * kMiB);
  EXPECT_LT(r.seconds, 5.0);
}

TEST_F(Hostile, CompressedShardClaimingFourGiBIsCorruption) {
  Put("zarr.json",
      V3("[1048576]", "[1048576]", "uint8",
         std::string(R"([{"name":"sharding_indexed","configuration":{"chunk_shape":[1024],)"
                     R"("codecs":[{"name":"bytes"}],"index_codecs":[{"name":"bytes",)"
                     R"("configuration":{"endian":"little"}}],"index_location":"end"}},)") +
             kZstd + "]"));
  Put("c/0", ZstdRleFrame(uint64_t{4} << 30, 64 * 1024));
  auto store = OpenStore();
  const ChildResult r = RunCapped(
      [&]() -> std::string {
        auto a = Array::Open(store, "", SmallOptions());
        if (!a.ok()) return a.status().ToString();
        uint8_t one = 0;
        return Expect((*a)->Read(Region{{0}, {1}}, MutableByteView(&one, 1)),
                      Status::Code::kCorruption, "zstd");
      },
      2 * kGiB, 20);
  ExpectPassed(r, 256 * kMiB);
  EXPECT_LT(r.seconds, 5.0);
}

TEST_F(Hostile, FrameWithoutASizeThatOutgrowsItsChunkStopsAtTheBound) {
  // 8 KiB of RLE blocks decoding to 256 MiB, no announced size: the decoder stops once the
  // output passes what a compressed 64 KiB chunk can be.
  Put("zarr.json", V3("[65536]", "[65536]", "uint8",
                      std::string(R"([{"name":"bytes"},)") + kZstd + "," + kZstd + "]"));
  Put("c/0", ZstdRleFrame(std::nullopt, 2048));
  auto store = OpenStore();
  const ChildResult r = RunCapped(
      [&]() -> std::string {
        auto a = Array::Open(store, "", SmallOptions());
        if (!a.ok()) return a.status().ToString();
        uint8_t one = 0;
        return Expect((*a)->Read(Region{{0}, {1}}, MutableByteView(&one, 1)),
                      Status::Code::kCorruption, "more than");
      },
      2 * kGiB, 20);
  ExpectPassed(r, 128 * kMiB);
  EXPECT_LT(r.seconds, 5.0);
}

TEST_F(Hostile, GzipStreamClaimingFourGiBCommitsOnlyWhatItsChunkAllows) {
  // 64 MiB of zeros compress to ~64 KiB; ISIZE is then forged to claim 4 GiB - 1.
  auto gzip =
      BuiltinCodecRegistry().Create(Json::parse(R"({"name":"gzip","configuration":{"level":1}})"));
  ASSERT_TRUE(gzip.ok()) << gzip.status();
  Bytes stream;
  ASSERT_TRUE(
      static_cast<const BytesToBytesCodec&>(**gzip).Encode(Bytes(64 * kMiB, 0), stream).ok());
  for (size_t i = 0; i < 4; ++i) stream[stream.size() - 4 + i] = 0xff;
  Put("zarr.json", V3("[65536]", "[65536]", "uint8",
                      std::string(R"([{"name":"bytes"},)") + kZstd +
                          R"(,{"name":"gzip","configuration":{"level":1}}])"));
  Put("c/0", std::string(reinterpret_cast<const char*>(stream.data()), stream.size()));
  auto store = OpenStore();
  const ChildResult r = RunCapped(
      [&]() -> std::string {
        auto a = Array::Open(store, "", SmallOptions());
        if (!a.ok()) return a.status().ToString();
        uint8_t one = 0;
        return Expect((*a)->Read(Region{{0}, {1}}, MutableByteView(&one, 1)),
                      Status::Code::kCorruption, "gzip");
      },
      2 * kGiB, 20);
  ExpectPassed(r, 128 * kMiB);
  EXPECT_LT(r.seconds, 5.0);
}

// ---- 4. Work follows what is stored.

TEST_F(Hostile, DigestOfAHugeAllFillArrayIsUnsupportedNotEndless) {
  Put("zarr.json", V3("[4611686018427387904]", "[1048576]", "uint8", R"([{"name":"bytes"}])"));
  auto store = OpenStore();
  const ChildResult r = RunCapped(
      [&]() -> std::string {
        auto d = DigestTree(store, "");
        if (!d.ok()) return "DigestTree failed: " + d.status().ToString();
        if (d->size() != 1) return "expected one entry, got " + std::to_string(d->size());
        return Expect((*d)[0].error, Status::Code::kUnsupported, "max_bytes");
      },
      2 * kGiB, 20);
  ExpectPassed(r, 256 * kMiB);
  EXPECT_LT(r.seconds, 5.0);
  std::string err;
  if (HaveCli()) {
    EXPECT_EQ(Cli("digest " + dir_.string(), &err), 1) << err;
    EXPECT_NE(err.find("Unsupported"), std::string::npos) << err;
  }
}

std::string Sha256Hex(const uint8_t* p, size_t n) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(p, n, md, &len, EVP_sha256(), nullptr);
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", md[i]);
    out += b;
  }
  return out;
}

TEST(HostileDigest, SlabsWithoutStoredChunksHashAsFillWithoutReading) {
  auto store = MemoryStore::Create();
  ArrayMetadata m;
  m.shape = {uint64_t{1} << 17, 1024};  // 128 MiB: two 64 MiB slabs
  m.chunk_shape = {1024, 1024};
  m.data_type = DataType(DataTypeId::kUInt8);
  m.fill_value = FillValue{Bytes{7}};
  auto a = Array::Create(store, "a", m);
  ASSERT_TRUE(a.ok()) << a.status();
  std::vector<uint8_t> chunk(1024 * 1024);
  for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<uint8_t>(i * 31);
  ASSERT_TRUE((*a)->Write(Region{{3072, 0}, {1024, 1024}}, ByteView(chunk)).ok());
  auto digest = ArrayDigest(**a);
  ASSERT_TRUE(digest.ok()) << digest.status();
  Bytes all(uint64_t{1} << 27);
  ASSERT_TRUE((*a)->Read(Region::All(m.shape), all).ok());
  EXPECT_EQ(*digest, Sha256Hex(all.data(), all.size()));
  DigestOptions small;
  small.max_bytes = (uint64_t{1} << 27) - 1;
  EXPECT_TRUE(ArrayDigest(**a, small).status().IsUnsupported());
  DigestOptions cancel;
  cancel.cancel = [] { return true; };
  EXPECT_TRUE(ArrayDigest(**a, cancel).status().IsFailedPrecondition());
}

TEST(HostileFill, FillOfTwoToTheFiftyWithTheFillValueFollowsTheStoredChunks) {
  auto store = MemoryStore::Create();
  ArrayMetadata m;
  m.shape = {uint64_t{1} << 50};
  m.chunk_shape = {uint64_t{1} << 16};
  m.data_type = DataType(DataTypeId::kUInt8);
  auto a = Array::Create(store, "a", m);
  ASSERT_TRUE(a.ok()) << a.status();
  std::vector<uint8_t> ones(100, 1);
  ASSERT_TRUE((*a)->Write(Region{{5}, {100}}, ByteView(ones)).ok());
  ASSERT_TRUE((*a)->Write(Region{{uint64_t{1} << 40}, {100}}, ByteView(ones)).ok());
  ASSERT_TRUE((*a)->Write(Region{{(uint64_t{1} << 50) - 100}, {100}}, ByteView(ones)).ok());
  const auto start = std::chrono::steady_clock::now();
  // Everything but the first 10 elements: the first chunk is merged, the others erased.
  ASSERT_TRUE((*a)->Fill(Region{{10}, {(uint64_t{1} << 50) - 10}}, uint8_t{0}).ok());
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
  auto keys = store->list_prefix("a/c/");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, std::vector<std::string>{"a/c/0"});
  std::vector<uint8_t> got(20);
  ASSERT_TRUE((*a)->Read(Region{{0}, {20}}, MutableByteView(got.data(), got.size())).ok());
  for (size_t i = 0; i < 20; ++i) EXPECT_EQ(got[i], i >= 5 && i < 10 ? 1 : 0) << i;
}

TEST(HostileFill, LongFillAndReadStopWhenCancelled) {
  auto store = MemoryStore::Create();
  ArrayMetadata m;
  m.shape = {uint64_t{1} << 50};
  m.chunk_shape = {uint64_t{1} << 10};
  m.data_type = DataType(DataTypeId::kUInt8);
  ArrayOptions o;
  std::atomic<int> calls{0};
  o.cancel = [&] { return ++calls > 3; };
  auto a = Array::Create(store, "a", m, {}, o);
  ASSERT_TRUE(a.ok()) << a.status();
  const auto start = std::chrono::steady_clock::now();
  Status s = (*a)->Fill(Region::All(m.shape), uint8_t{9});
  EXPECT_TRUE(s.IsFailedPrecondition()) << s;
  EXPECT_NE(s.message().find("cancelled"), std::string::npos) << s;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
  calls = 0;
  std::vector<uint8_t> buf(1 << 20);
  s = (*a)->Read(Region{{0}, {1 << 20}}, MutableByteView(buf.data(), buf.size()));
  EXPECT_TRUE(s.IsFailedPrecondition()) << s;
  calls = -1000000;
  EXPECT_TRUE((*a)->Read(Region{{0}, {1 << 20}}, MutableByteView(buf.data(), buf.size())).ok());
  for (size_t i = 0; i < 3 * 64 * 1024; ++i) ASSERT_EQ(buf[i], 9) << i;
}

}  // namespace
}  // namespace zarrpp
