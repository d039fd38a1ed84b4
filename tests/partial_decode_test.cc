// Partial decoding: a read of a small part of a chunk fetches only the span of the stored value
// holding it (codecs/partial_decode.h, src/pipeline/span_read.h). Every element's bytes encode its
// position, so a wrong span or a wrong offset inside it can never pass.
#include "codecs/partial_decode.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include "zarrpp/array.h"
#include "zarrpp/json.h"
#include "zarrpp/local_store.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/store_wrappers.h"

namespace zarrpp {
namespace {

// The bytes of the element at C-order index `i` of the array.
uint8_t ByteOf(uint64_t i, size_t b) {
  uint64_t h = (i + 1) * 0x9E3779B97F4A7C15ULL + b * 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 29;
  h *= 0x94D049BB133111EBULL;
  h ^= h >> 32;
  return static_cast<uint8_t>(h);
}

Bytes Expected(const std::vector<uint64_t>& shape, const Region& r, size_t esize) {
  Bytes out(r.num_elements() * esize);
  const size_t rank = shape.size();
  std::vector<uint64_t> c(rank, 0);
  for (uint64_t k = 0; k < r.num_elements(); ++k) {
    uint64_t i = 0;
    for (size_t d = 0; d < rank; ++d) i = i * shape[d] + r.origin[d] + c[d];
    for (size_t b = 0; b < esize; ++b) out[k * esize + b] = ByteOf(i, b);
    for (size_t d = rank; d-- > 0;) {
      if (++c[d] < r.shape[d]) break;
      c[d] = 0;
    }
  }
  return out;
}

ArrayMetadata Meta(std::vector<uint64_t> shape, std::vector<uint64_t> chunks, DataTypeId t,
                   const char* codecs) {
  ArrayMetadata m;
  m.shape = std::move(shape);
  m.chunk_shape = std::move(chunks);
  m.data_type = DataType(t);
  m.fill_value = FillValue::Zero(m.data_type);
  m.codecs = Json::parse(codecs);
  return m;
}

constexpr const char* kLittle = R"([{"name":"bytes","configuration":{"endian":"little"}}])";
constexpr const char* kBig = R"([{"name":"bytes","configuration":{"endian":"big"}}])";
constexpr const char* kTranspose =
    R"([{"name":"transpose","configuration":{"order":[1,0,2]}},
        {"name":"bytes","configuration":{"endian":"little"}}])";
constexpr const char* kTwoTransposesBig =
    R"([{"name":"transpose","configuration":{"order":[2,0,1]}},
        {"name":"transpose","configuration":{"order":[0,2,1]}},
        {"name":"bytes","configuration":{"endian":"big"}}])";
constexpr const char* kCrc =
    R"([{"name":"bytes","configuration":{"endian":"little"}},{"name":"crc32c"}])";
constexpr const char* kZstd =
    R"([{"name":"bytes","configuration":{"endian":"little"}},{"name":"zstd","configuration":{"level":1}}])";

constexpr const char* kBlosc =
    R"([{"name":"bytes","configuration":{"endian":"little"}},
        {"name":"blosc","configuration":{"cname":"lz4","clevel":5,"shuffle":"noshuffle","blocksize":256}}])";
constexpr const char* kBloscCrc =
    R"([{"name":"bytes","configuration":{"endian":"little"}},
        {"name":"blosc","configuration":{"cname":"lz4","clevel":5,"shuffle":"noshuffle","blocksize":256}},
        {"name":"crc32c"}])";
constexpr const char* kTransposeBlosc =
    R"([{"name":"transpose","configuration":{"order":[2,1,0]}},
        {"name":"bytes","configuration":{"endian":"big"}},
        {"name":"blosc","configuration":{"cname":"zstd","clevel":1,"shuffle":"bitshuffle","typesize":4,"blocksize":512}}])";

struct Case {
  const char* name;
  const char* codecs;
  bool skip_checksum;
  bool spans;  // the chain reads parts from spans of the stored value (not the whole value)
};

std::vector<Case> Cases() {
  return {{"little", kLittle, false, true},
          {"big", kBig, false, true},
          {"transpose", kTranspose, false, true},
          {"two_transposes_big", kTwoTransposesBig, false, true},
          {"crc_skip", kCrc, true, true},
          {"crc_verify", kCrc, false, false},
          {"zstd", kZstd, false, false},
          {"blosc", kBlosc, false, false},
          {"transpose_blosc", kTransposeBlosc, false, false},
          {"blosc_crc_skip", kBloscCrc, true, false},
          {"crc_verify_blosc", kBloscCrc, false, false}};
}

std::vector<DataTypeId> Types() {
  return {DataTypeId::kUInt8, DataTypeId::kInt16, DataTypeId::kFloat32, DataTypeId::kFloat64,
          DataTypeId::kComplex128};
}

Region RandomBox(std::mt19937_64& rng, const std::vector<uint64_t>& shape, uint64_t max_extent) {
  Region r;
  for (uint64_t s : shape) {
    const uint64_t n = 1 + rng() % std::min(s, max_extent);
    r.origin.push_back(rng() % (s - n + 1));
    r.shape.push_back(n);
  }
  return r;
}

class PartialDecodeBoxes : public ::testing::TestWithParam<std::tuple<int, int, bool>> {};

// Reads of random small and large boxes equal the values written, through spans or whole chunks,
// including edge chunks (the shape is not a multiple of the chunk shape) and missing chunks.
TEST_P(PartialDecodeBoxes, RandomBoxes) {
  const auto [case_index, type_index, local] = GetParam();
  const Case c = Cases()[case_index];
  const DataTypeId type = Types()[type_index];
  std::shared_ptr<Store> base;
  std::filesystem::path dir;
  if (local) {
    dir = std::filesystem::temp_directory_path() /
          ("zarrpp_partial_decode_" + std::to_string(::getpid()) + "_" + c.name + "_" +
           std::to_string(type_index));
    std::filesystem::remove_all(dir);
    auto s = LocalStore::Create(dir.string());
    ASSERT_TRUE(s.ok()) << s.status();
    base = *s;
  } else {
    base = MemoryStore::Create();
  }
  auto counting = std::make_shared<CountingStore>(base);
  const std::vector<uint64_t> shape = {37, 23, 19};
  ArrayMetadata m = Meta(shape, {8, 10, 16}, type, c.codecs);
  const size_t esize = m.data_type.size();
  ArrayOptions opts;
  opts.verify_checksum_on_partial_reads = !c.skip_checksum;
  auto arr = Array::Create(counting, "a", m, {}, opts);
  ASSERT_TRUE(arr.ok()) << arr.status();
  // Everything but the first grid row of chunks is written, which stays missing (fill value).
  const Region written{{8, 0, 0}, {29, 23, 19}};
  ASSERT_TRUE((*arr)->Write(written, Expected(shape, written, esize)).ok());
  std::mt19937_64 rng(1234 + case_index * 16 + type_index);
  for (int iter = 0; iter < 300; ++iter) {
    const Region r = RandomBox(rng, shape, iter % 5 == 0 ? 40 : 3);
    Bytes want = Expected(shape, r, esize);
    // The part in the missing row of chunks reads as zeros.
    std::vector<uint64_t> at(3, 0);
    for (uint64_t k = 0; k < r.num_elements(); ++k) {
      if (r.origin[0] + at[0] < 8) std::memset(want.data() + k * esize, 0, esize);
      for (size_t d = 3; d-- > 0;) {
        if (++at[d] < r.shape[d]) break;
        at[d] = 0;
      }
    }
    Bytes got(want.size(), 0xEE);
    ASSERT_TRUE((*arr)->Read(r, got).ok()) << r.ToString();
    ASSERT_EQ(got, want) << c.name << " iteration " << iter << " region " << r.ToString();
  }
  // One element of a stored chunk: through a span, only its bytes are fetched.
  counting->reset();
  Bytes one(esize);
  ASSERT_TRUE((*arr)->Read(Region{{20, 7, 3}, {1, 1, 1}}, one).ok());
  EXPECT_EQ(one, Expected(shape, Region{{20, 7, 3}, {1, 1, 1}}, esize));
  const CountingStore::Counters n = counting->counters();
  if (std::string(c.name).starts_with("blosc") ||
      std::string(c.name).starts_with("transpose_blosc")) {
    // A blosc frame: its header and block starts, then the blocks holding the element, all
    // through one reader pinned to one version; less than the whole frame.
    auto stored = base->size("a/c/2/0/0");
    ASSERT_TRUE(stored.ok() && stored->has_value());
    EXPECT_EQ(n.get_into, 0u);
    EXPECT_EQ(n.open_reader, 1u);
    EXPECT_GE(n.reader_read, 2u);
    EXPECT_LE(n.reader_read, 3u);
    EXPECT_LT(n.bytes_read, **stored);
  } else {
    EXPECT_EQ(n.get_into, 1u);
    if (c.spans) {
      EXPECT_EQ(n.bytes_read, esize);
    } else {
      EXPECT_GT(n.bytes_read, esize);
    }
  }
  if (local) std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(, PartialDecodeBoxes,
                         ::testing::Combine(::testing::Range(0, 11), ::testing::Range(0, 5),
                                            ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(Cases()[std::get<0>(info.param)].name) + "_" +
                                  DataType(Types()[std::get<1>(info.param)]).name() +
                                  (std::get<2>(info.param) ? "_local" : "_memory");
                         });

// A stored value of the wrong size is Corruption naming the key for a part read too, never data.
TEST(PartialDecode, WrongSizeValueIsCorruptionNamingTheKey) {
  for (const char* codecs : {kLittle, kBig, kTranspose}) {
    auto store = MemoryStore::Create();
    ArrayMetadata m = Meta({16, 16, 16}, {8, 8, 8}, DataTypeId::kFloat32, codecs);
    auto arr = Array::Create(store, "a", m);
    ASSERT_TRUE(arr.ok()) << arr.status();
    const Region all = Region::All({16, 16, 16});
    ASSERT_TRUE((*arr)->Write(all, Expected({16, 16, 16}, all, 4)).ok());
    auto value = store->get("a/c/1/0/1");
    ASSERT_TRUE(value.ok() && value->has_value());
    for (int64_t delta : {-4, -1, 1, 4}) {
      Bytes changed = **value;
      changed.resize(static_cast<size_t>(static_cast<int64_t>(changed.size()) + delta));
      ASSERT_TRUE(store->set("a/c/1/0/1", changed).ok());
      Bytes one(4);
      // The first element: a span inside even the truncated value.
      const Status s = (*arr)->Read(Region{{8, 0, 8}, {1, 1, 1}}, one);
      EXPECT_TRUE(s.IsCorruption()) << codecs << " " << delta << ": " << s;
      EXPECT_NE(s.message().find("a/c/1/0/1"), std::string::npos) << s;
    }
  }
}

// A MemoryStore seen through a CountingStore, holding the 2-D uint16 array "a" of `m` written
// whole with Expected() values (`array` null on failure, reported).
struct CountedArray {
  std::shared_ptr<MemoryStore> base = MemoryStore::Create();
  std::shared_ptr<CountingStore> counting = std::make_shared<CountingStore>(base);
  std::shared_ptr<Array> array;
};
CountedArray WrittenCounted(const ArrayMetadata& m) {
  CountedArray c;
  auto created = Array::Create(c.counting, "a", m);
  EXPECT_TRUE(created.ok()) << created.status();
  if (!created.ok()) return c;
  const Region all = Region::All(m.shape);
  const Status written = (*created)->Write(all, Expected(m.shape, all, 2));
  EXPECT_TRUE(written.ok()) << written;
  if (written.ok()) c.array = *created;
  return c;
}

// crc32c at the end of the chain: by default a part read verifies the whole value; with
// verify_checksum_on_partial_reads = false it reads only the part, and whole-chunk reads verify.
TEST(PartialDecode, Crc32cVerifiesByDefaultAndSkipsOnlyWhenAsked) {
  const CountedArray c = WrittenCounted(Meta({64, 64}, {32, 32}, DataTypeId::kUInt16, kCrc));
  ASSERT_NE(c.array, nullptr);
  const std::shared_ptr<MemoryStore>& base = c.base;
  const std::shared_ptr<CountingStore>& counting = c.counting;
  // Flip a byte far from the element read.
  auto value = base->get("a/c/0/0");
  ASSERT_TRUE(value.ok() && value->has_value());
  Bytes damaged = **value;
  damaged[1000] ^= 0x40;
  ASSERT_TRUE(base->set("a/c/0/0", damaged).ok());
  const Region point{{0, 1}, {1, 1}};
  Bytes one(2);
  const Status verify = c.array->Read(point, one);
  EXPECT_TRUE(verify.IsCorruption()) << verify;

  ArrayOptions skip;
  skip.verify_checksum_on_partial_reads = false;
  auto fast = Array::Open(counting, "a", skip);
  ASSERT_TRUE(fast.ok()) << fast.status();
  counting->reset();
  ASSERT_TRUE((*fast)->Read(point, one).ok());
  EXPECT_EQ(one, Expected({64, 64}, point, 2));
  EXPECT_EQ(counting->counters().bytes_read, 2u);
  Bytes chunk(32 * 32 * 2);
  const Status whole = (*fast)->Read(Region{{0, 0}, {32, 32}}, chunk);
  EXPECT_TRUE(whole.IsCorruption()) << whole;
}

// blosc: a part read decompresses only the blocks holding it. A frame whose start of another block
// is damaged fails a whole-chunk read but not a read of an element of the first block.
TEST(PartialDecode, BloscDecodesOnlyTheBlocksHoldingThePart) {
  auto store = MemoryStore::Create();
  ArrayMetadata m = Meta({1024, 1024}, {1024, 1024}, DataTypeId::kUInt16,
                         R"([{"name":"bytes","configuration":{"endian":"little"}},
                             {"name":"blosc","configuration":{"cname":"lz4","clevel":5,
                              "shuffle":"shuffle","typesize":2}}])");
  auto arr = Array::Create(store, "a", m);
  ASSERT_TRUE(arr.ok()) << arr.status();
  std::vector<uint16_t> values(1024 * 1024);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<uint16_t>(i * 7);
  ASSERT_TRUE((*arr)->Write(Region::All({1024, 1024}), std::span<const uint16_t>(values)).ok());
  auto value = store->get("a/c/0/0");
  ASSERT_TRUE(value.ok() && value->has_value());
  Bytes frame = **value;
  ASSERT_EQ(frame[2] & 0x02, 0) << "the frame is stored uncompressed (memcpyed)";
  uint32_t blocksize = 0;
  std::memcpy(&blocksize, frame.data() + 8, 4);
  const uint32_t nblocks = (1024 * 1024 * 2 + blocksize - 1) / blocksize;
  if (nblocks < 2) GTEST_SKIP() << "c-blosc chose one block of " << blocksize << " bytes";
  // The start of the last block is damaged.
  const uint32_t bad = 0x7FFFFFF0;
  std::memcpy(frame.data() + 16 + 4 * (nblocks - 1), &bad, 4);
  ASSERT_TRUE(store->set("a/c/0/0", frame).ok());
  uint16_t one = 0;
  ASSERT_TRUE((*arr)->Read(Region{{1, 3}, {1, 1}}, std::span<uint16_t>(&one, 1)).ok());
  EXPECT_EQ(one, static_cast<uint16_t>(1027 * 7));
  std::vector<uint16_t> chunk(1024 * 1024);
  const Status whole = (*arr)->Read(Region{{0, 0}, {1024, 1024}}, std::span<uint16_t>(chunk));
  EXPECT_TRUE(whole.IsCorruption()) << whole;
  // A truncated frame is Corruption for a part read too.
  Bytes cut = **value;
  cut.resize(cut.size() - 3);
  ASSERT_TRUE(store->set("a/c/0/0", cut).ok());
  const Status part = (*arr)->Read(Region{{1, 3}, {1, 1}}, std::span<uint16_t>(&one, 1));
  EXPECT_TRUE(part.IsCorruption()) << part;
  EXPECT_NE(part.message().find("a/c/0/0"), std::string::npos) << part;
}

// A blosc part is read in pieces (header, block starts, blocks) from one version of the value:
// a reader racing whole-chunk writes of other versions sees one version's element, never bytes
// of two frames decoded together.
TEST(PartialDecode, BloscPartsOfAChunkReplacedMeanwhileAreOneVersion) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("zarrpp_partial_blosc_race_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto store = LocalStore::Create(dir.string());
  ASSERT_TRUE(store.ok()) << store.status();
  ArrayMetadata m = Meta({64, 256}, {64, 256}, DataTypeId::kUInt32,
                         R"([{"name":"bytes","configuration":{"endian":"little"}},
                             {"name":"blosc","configuration":{"cname":"lz4","clevel":5,
                              "shuffle":"shuffle","typesize":4,"blocksize":4096}}])");
  auto arr = Array::Create(*store, "a", m);
  ASSERT_TRUE(arr.ok()) << arr.status();
  constexpr uint32_t kVersions = 400;
  // Version v: element i holds v * 65536 + i (the chunk has 16,384 elements); versions differ
  // in how well they compress, so frames and block starts move between versions.
  auto version = [](uint32_t v) {
    std::vector<uint32_t> out(64 * 256);
    for (uint32_t i = 0; i < out.size(); ++i) {
      out[i] = v * 65536 + (v % 3 == 0 ? i : (i * 2654435761u) % 16384);
    }
    return out;
  };
  ASSERT_TRUE((*arr)->Write(Region::All({64, 256}), std::span<const uint32_t>(version(1))).ok());
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (uint32_t v = 2; v < kVersions; ++v) {
      EXPECT_TRUE(
          (*arr)->Write(Region::All({64, 256}), std::span<const uint32_t>(version(v))).ok());
    }
    done = true;
  });
  std::mt19937_64 rng(7);
  int reads = 0, wrong = 0;
  while (!done.load()) {
    const uint64_t r = rng() % 64, c = rng() % 256;
    const uint32_t i = static_cast<uint32_t>(r * 256 + c);
    uint32_t got = 0;
    const Status st = (*arr)->Read(Region{{r, c}, {1, 1}}, std::span<uint32_t>(&got, 1));
    ASSERT_TRUE(st.ok()) << st;
    const uint32_t v = got / 65536;
    if (v < 1 || v >= kVersions || got != version(v)[i]) ++wrong;
    ++reads;
  }
  writer.join();
  EXPECT_EQ(wrong, 0) << "of " << reads << " reads";
  EXPECT_GT(reads, 0);
  std::filesystem::remove_all(dir);
}

// A time series at one grid point: one ranged read per chunk, each of one element.
TEST(PartialDecode, TimeSeriesIsOneSmallReadPerChunk) {
  auto base = MemoryStore::Create();
  auto counting = std::make_shared<CountingStore>(base);
  const uint64_t T = 40;
  ArrayMetadata m = Meta({T, 36, 72}, {1, 9, 18}, DataTypeId::kFloat32, kLittle);
  auto arr = Array::Create(counting, "a", m);
  ASSERT_TRUE(arr.ok()) << arr.status();
  const Region all = Region::All({T, 36, 72});
  ASSERT_TRUE((*arr)->Write(all, Expected({T, 36, 72}, all, 4)).ok());
  counting->reset();
  const Region series{{0, 20, 50}, {T, 1, 1}};
  Bytes got(T * 4);
  ASSERT_TRUE((*arr)->Read(series, got).ok());
  EXPECT_EQ(got, Expected({T, 36, 72}, series, 4));
  const CountingStore::Counters n = counting->counters();
  EXPECT_EQ(n.get_into, T);
  EXPECT_EQ(n.bytes_read, T * 4);
}

// Store::get_at: the bytes at an offset and the value's size, also for a read past the end.
class GetAtStore : public MemoryStore {
 public:
  // The Store default (through open_reader), not MemoryStore's own.
  Result<std::optional<uint64_t>> get_at(std::string_view key, uint64_t offset,
                                         MutableByteView dest) override {
    return Store::get_at(key, offset, dest);
  }
};

TEST(StoreGetAt, ReadsBytesAtOffsetAndReportsSize) {
  auto dir =
      std::filesystem::temp_directory_path() / ("zarrpp_get_at_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto local = LocalStore::Create(dir.string());
  ASSERT_TRUE(local.ok()) << local.status();
  std::vector<std::shared_ptr<Store>> stores = {MemoryStore::Create(), *local,
                                                std::make_shared<GetAtStore>(),
                                                std::make_shared<CountingStore>(*local)};
  for (const auto& s : stores) {
    Bytes value(100);
    for (size_t i = 0; i < value.size(); ++i) value[i] = static_cast<uint8_t>(i * 3);
    ASSERT_TRUE(s->set("k", value).ok());
    Bytes dest(10, 0xEE);
    auto got = s->get_at("k", 40, dest);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ(**got, 100u);
    EXPECT_EQ(dest, Bytes(value.begin() + 40, value.begin() + 50)) << s->description();
    // Past the end: the size (the bytes of `past` are unspecified).
    Bytes past(10, 0xEE);
    got = s->get_at("k", 95, past);
    ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ(**got, 100u);
    got = s->get_at("k", 1000, past);
    ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ(**got, 100u);
    got = s->get_at("missing", 0, dest);
    ASSERT_TRUE(got.ok());
    EXPECT_FALSE(got->has_value());
    EXPECT_FALSE(s->get_at("/bad", 0, dest).ok());
  }
  std::filesystem::remove_all(dir);
}

// LocalStore::get_scatter reads many pieces per call: short skipped stretches are read and dropped,
// long ones start a new call; every piece gets exactly its bytes, more pieces than one call takes.
TEST(StoreGetScatter, LocalStoreManyPiecesAndGaps) {
  auto dir =
      std::filesystem::temp_directory_path() / ("zarrpp_get_scatter_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto local = LocalStore::Create(dir.string());
  ASSERT_TRUE(local.ok()) << local.status();
  Bytes value(3 << 20);
  for (size_t i = 0; i < value.size(); ++i) value[i] = ByteOf(i, 0);
  ASSERT_TRUE((*local)->set("k", value).ok());
  std::mt19937_64 rng(5);
  for (int round = 0; round < 20; ++round) {
    std::vector<MutableByteView> pieces;
    std::vector<std::pair<uint64_t, uint64_t>> where;  // (offset, size) of each data piece
    Bytes out(value.size(), 0);
    uint64_t at = 0;
    while (at < value.size()) {
      const uint64_t kind = rng() % 100;
      uint64_t n = kind < 90 ? 1 + rng() % 300 : kind < 99 ? 1 + rng() % 3000 : 1 + rng() % 200000;
      n = std::min<uint64_t>(n, value.size() - at);
      if (rng() % 2 == 0) {
        pieces.emplace_back(static_cast<uint8_t*>(nullptr), n);
      } else {
        pieces.emplace_back(out.data() + at, n);
        where.emplace_back(at, n);
      }
      at += n;
    }
    auto got = (*local)->get_scatter("k", pieces);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_TRUE(*got);
    Bytes want(value.size(), 0);
    for (auto [o, n] : where) std::memcpy(want.data() + o, value.data() + o, n);
    ASSERT_EQ(out, want) << "round " << round << ", " << pieces.size() << " pieces";
  }
  std::filesystem::remove_all(dir);
}

// Sharded arrays whose inner chain ends in crc32c: [bytes, crc32c], [transpose, bytes, crc32c]
// and [bytes, blosc, crc32c] inside a shard of 2 x 2 inner chunks of 16 x 16 uint16.
constexpr const char* kInnerCrcChains[] = {kCrc,
                                           R"([{"name":"transpose","configuration":{"order":[1,0]}},
        {"name":"bytes","configuration":{"endian":"big"}},{"name":"crc32c"}])",
                                           R"([{"name":"bytes","configuration":{"endian":"little"}},
        {"name":"blosc","configuration":{"cname":"lz4","clevel":5,"shuffle":"shuffle","typesize":2,
                                         "blocksize":128}},
        {"name":"crc32c"}])"};

ArrayMetadata ShardedMeta(const char* inner_codecs) {
  const std::string codecs =
      std::string(
          R"([{"name":"sharding_indexed","configuration":{"chunk_shape":[16,16],"codecs":)") +
      inner_codecs +
      R"(,"index_codecs":[{"name":"bytes","configuration":{"endian":"little"}},{"name":"crc32c"}]}}])";
  return Meta({64, 64}, {32, 32}, DataTypeId::kUInt16, codecs.c_str());
}

// The stored [offset, offset + nbytes) of inner chunk `j` (C order) of a shard whose index of
// 4 entries is at its end.
std::pair<uint64_t, uint64_t> InnerEntry(const Bytes& shard, size_t j) {
  const size_t index_at = shard.size() - (4 * 16 + 4);
  uint64_t offset = 0, nbytes = 0;
  std::memcpy(&offset, shard.data() + index_at + j * 16, 8);
  std::memcpy(&nbytes, shard.data() + index_at + j * 16 + 8, 8);
  return {offset, nbytes};
}

class InnerCrc : public ::testing::TestWithParam<int> {};

// With verification (the default) a part of an inner chunk reads the whole inner chunk and a
// damaged checksum is Corruption naming the shard; without it only the bytes of the part are
// fetched (uncompressed chains; a blosc inner chunk is fetched whole and only the blocks holding
// the part decompressed) and the checksum is not checked, while reads of whole inner chunks
// still verify.
TEST_P(InnerCrc, PartialReadsOfInnerChunksVerifyOnlyWhenAsked) {
  const char* inner = kInnerCrcChains[GetParam()];
  const bool compressed = GetParam() == 2;
  const CountedArray c = WrittenCounted(ShardedMeta(inner));
  ASSERT_NE(c.array, nullptr);
  const std::shared_ptr<MemoryStore>& base = c.base;
  const std::shared_ptr<CountingStore>& counting = c.counting;
  ArrayOptions skip;
  skip.verify_checksum_on_partial_reads = false;
  auto verify = Array::Open(counting, "a");
  auto fast = Array::Open(counting, "a", skip);
  ASSERT_TRUE(verify.ok() && fast.ok());
  auto shard = base->get("a/c/0/0");
  ASSERT_TRUE(shard.ok() && shard->has_value());
  const auto [offset, nbytes] = InnerEntry(**shard, 0);
  const uint64_t index_bytes = 4 * 16 + 4;
  if (!compressed) {
    ASSERT_EQ(nbytes, 16u * 16 * 2 + 4);
  }

  // One element of inner chunk (0, 0).
  const Region point{{1, 3}, {1, 1}};
  Bytes one(2);
  counting->reset();
  ASSERT_TRUE((*verify)->Read(point, one).ok());
  EXPECT_EQ(one, Expected({64, 64}, point, 2));
  EXPECT_EQ(counting->counters().bytes_read, index_bytes + nbytes);
  counting->reset();
  ASSERT_TRUE((*fast)->Read(point, one).ok());
  EXPECT_EQ(one, Expected({64, 64}, point, 2));
  if (compressed) {
    EXPECT_EQ(counting->counters().bytes_read, index_bytes + nbytes);
  } else {
    EXPECT_EQ(counting->counters().bytes_read, index_bytes + 2);
  }
  // Four elements of a row of the inner chunk: for [bytes, crc32c] one span of 8 bytes; through
  // the transpose the span runs from the first to the last of them in the encoded order.
  const Region row{{5, 0}, {1, 4}};
  Bytes row_bytes(8);
  counting->reset();
  ASSERT_TRUE((*fast)->Read(row, row_bytes).ok());
  EXPECT_EQ(row_bytes, Expected({64, 64}, row, 2));
  if (!compressed) EXPECT_LT(counting->counters().bytes_read, index_bytes + nbytes);

  // The checksum of inner chunk (0, 0) damaged.
  Bytes damaged = **shard;
  damaged[offset + nbytes - 2] ^= 0x10;
  ASSERT_TRUE(base->set("a/c/0/0", damaged).ok());
  const Status checked = (*verify)->Read(point, one);
  EXPECT_TRUE(checked.IsCorruption()) << checked;
  EXPECT_NE(checked.message().find("a/c/0/0"), std::string::npos) << checked;
  one.assign(2, 0);
  const Status unchecked = (*fast)->Read(point, one);
  ASSERT_TRUE(unchecked.ok()) << unchecked;
  EXPECT_EQ(one, Expected({64, 64}, point, 2));
  // A read of the whole inner chunk verifies with either choice.
  Bytes inner_chunk(16 * 16 * 2);
  const Status whole = (*fast)->Read(Region{{0, 0}, {16, 16}}, inner_chunk);
  EXPECT_TRUE(whole.IsCorruption()) << whole;
  // Other inner chunks are intact.
  const Region other{{20, 17}, {3, 2}};
  Bytes other_bytes(12);
  ASSERT_TRUE((*verify)->Read(other, other_bytes).ok());
  EXPECT_EQ(other_bytes, Expected({64, 64}, other, 2));
}

// Random boxes of a sharded array with a crc32c inner chain read the values written, with and
// without verification, including boxes across inner chunks and shards and a missing shard.
TEST_P(InnerCrc, RandomBoxesEqualTheReference) {
  const char* inner = kInnerCrcChains[GetParam()];
  auto store = MemoryStore::Create();
  auto created = Array::Create(store, "a", ShardedMeta(inner));
  ASSERT_TRUE(created.ok()) << created.status();
  const std::vector<uint64_t> shape = {64, 64};
  // Shard (0, 1) stays missing (fill value zero).
  for (const Region& r : {Region{{0, 0}, {32, 32}}, Region{{32, 0}, {32, 64}}}) {
    ASSERT_TRUE((*created)->Write(r, Expected(shape, r, 2)).ok());
  }
  for (bool verify : {true, false}) {
    ArrayOptions o;
    o.verify_checksum_on_partial_reads = verify;
    auto arr = Array::Open(store, "a", o);
    ASSERT_TRUE(arr.ok()) << arr.status();
    std::mt19937_64 rng(99 + GetParam());
    for (int iter = 0; iter < 200; ++iter) {
      const Region r = RandomBox(rng, shape, iter % 4 == 0 ? 40 : 5);
      Bytes want = Expected(shape, r, 2);
      for (uint64_t k = 0; k < r.num_elements(); ++k) {
        const uint64_t y = r.origin[0] + k / r.shape[1], x = r.origin[1] + k % r.shape[1];
        if (y < 32 && x >= 32) want[2 * k] = want[2 * k + 1] = 0;
      }
      Bytes got(want.size(), 0xEE);
      ASSERT_TRUE((*arr)->Read(r, got).ok()) << r.ToString();
      ASSERT_EQ(got, want) << "verify " << verify << " iteration " << iter << " " << r.ToString();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(, InnerCrc, ::testing::Range(0, 3), [](const auto& info) {
  return std::string(
      std::array<const char*, 3>{"BytesCrc", "TransposeBytesCrc", "BloscCrc"}[info.param]);
});

// Large blosc inner chunks (at least 64 KiB stored) whose part is small are read in parts: the
// frame's header and block starts, then the blocks holding the part, from the same version of
// the shard. With crc32c after blosc only when verification is off; with it on the whole inner
// chunk is read and verified.
TEST(InnerBlosc, LargeInnerChunksAreReadInParts) {
  const char* blosc =
      R"({"name":"blosc","configuration":{"cname":"lz4","clevel":5,"shuffle":"noshuffle",
          "typesize":2,"blocksize":4096}})";
  const std::string plain =
      std::string(R"([{"name":"bytes","configuration":{"endian":"little"}},)") + blosc + "]";
  const std::string crc = std::string(R"([{"name":"bytes","configuration":{"endian":"little"}},)") +
                          blosc + R"(,{"name":"crc32c"}])";
  for (const std::string& inner : {plain, crc}) {
    SCOPED_TRACE(inner);
    const bool has_crc = inner == crc;
    const std::string codecs =
        std::string(
            R"([{"name":"sharding_indexed","configuration":{"chunk_shape":[256,256],"codecs":)") +
        inner +
        R"(,"index_codecs":[{"name":"bytes","configuration":{"endian":"little"}},{"name":"crc32c"}]}}])";
    // Hashed element bytes: blosc stores them as they are (about 128 KiB per inner chunk).
    const CountedArray c =
        WrittenCounted(Meta({512, 512}, {512, 512}, DataTypeId::kUInt16, codecs.c_str()));
    ASSERT_NE(c.array, nullptr);
    const std::shared_ptr<MemoryStore>& base = c.base;
    const std::shared_ptr<CountingStore>& counting = c.counting;
    auto shard = base->get("a/c/0/0");
    ASSERT_TRUE(shard.ok() && shard->has_value());
    const uint64_t index_bytes = 4 * 16 + 4;
    for (bool verify : {true, false}) {
      SCOPED_TRACE(verify ? "verify" : "skip");
      ArrayOptions o;
      o.verify_checksum_on_partial_reads = verify;
      auto arr = Array::Open(counting, "a", o);
      ASSERT_TRUE(arr.ok()) << arr.status();
      std::mt19937_64 rng(5);
      for (int iter = 0; iter < 40; ++iter) {
        const Region r = RandomBox(rng, {512, 512}, iter % 8 == 0 ? 300 : 6);
        Bytes got(r.num_elements() * 2, 0xEE);
        ASSERT_TRUE((*arr)->Read(r, got).ok()) << r.ToString();
        ASSERT_EQ(got, Expected({512, 512}, r, 2)) << r.ToString();
      }
      // One element of inner chunk (1, 0).
      const Region point{{300, 7}, {1, 1}};
      Bytes one(2);
      counting->reset();
      ASSERT_TRUE((*arr)->Read(point, one).ok());
      EXPECT_EQ(one, Expected({512, 512}, point, 2));
      const auto [offset, nbytes] = InnerEntry(**shard, 2);
      (void)offset;
      ASSERT_GE(nbytes, uint64_t{64} << 10);
      if (has_crc && verify) {
        EXPECT_EQ(counting->counters().bytes_read, index_bytes + nbytes);
      } else {
        EXPECT_LT(counting->counters().bytes_read, index_bytes + 16 * 1024);
        EXPECT_GE(counting->counters().reader_read, 3u);  // index, header, blocks
      }
    }
  }
}

// The chains with a span decoder, and those without.
TEST(SpanDecoder, OnlyFixedOffsetChains) {
  auto prepare = [](const char* codecs) {
    auto chain = CodecChain::FromJson(Json::parse(codecs));
    EXPECT_TRUE(chain.ok()) << chain.status();
    auto p = chain->Prepare(ChunkSpec{
        {4, 6, 8}, DataType(DataTypeId::kInt32), FillValue::Zero(DataType(DataTypeId::kInt32))});
    EXPECT_TRUE(p.ok()) << p.status();
    return *p;
  };
  EXPECT_NE(SpanDecoder::For(*prepare(kLittle), false), nullptr);
  EXPECT_NE(SpanDecoder::For(*prepare(kTwoTransposesBig), false), nullptr);
  EXPECT_EQ(SpanDecoder::For(*prepare(kCrc), false), nullptr);
  EXPECT_NE(SpanDecoder::For(*prepare(kCrc), true), nullptr);
  EXPECT_EQ(SpanDecoder::For(*prepare(kZstd), true), nullptr);
  // blosc then crc32c: only when the checksum may be skipped, and the frame is the value less
  // its 4-byte suffix.
  EXPECT_EQ(SpanDecoder::For(*prepare(kBloscCrc), false), nullptr);
  auto blosc_crc = SpanDecoder::For(*prepare(kBloscCrc), true);
  ASSERT_NE(blosc_crc, nullptr);
  EXPECT_TRUE(blosc_crc->compressed());
  EXPECT_EQ(blosc_crc->suffix(), 4u);
  auto blosc = SpanDecoder::For(*prepare(kBlosc), false);
  ASSERT_NE(blosc, nullptr);
  EXPECT_TRUE(blosc->compressed());
  EXPECT_EQ(blosc->span_space(), 4u * 6 * 8 * 4);
  auto d = SpanDecoder::For(*prepare(kTranspose), false);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->value_size(), 4u * 6 * 8 * 4);
  // order [1,0,2]: encoded shape (6, 4, 8); element (1, 2, 3) is at (2, 1, 3).
  const std::vector<uint64_t> origin = {1, 2, 3}, one = {1, 1, 1};
  const SpanDecoder::Span s = d->SpanOf(origin.data(), one);
  EXPECT_EQ(s.begin, ((2 * 4 + 1) * 8 + 3) * 4u);
  EXPECT_EQ(s.end, s.begin + 4);
}

}  // namespace
}  // namespace zarrpp
