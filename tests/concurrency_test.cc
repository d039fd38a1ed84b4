// Concurrent readers and writers of one array (spec/concurrency.md):
//  - one handle: readers of single inner chunks racing a writer that rewrites whole shards and
//    forces compactions see, for every inner chunk, its old or its new contents, never another
//    chunk's values and never Corruption (MemoryStore and LocalStore);
//  - several handles (separately opened arrays on one MemoryStore object, the same without key
//    locks so that only conditional writes coordinate them, separate LocalStore objects on one
//    root) writing disjoint regions that share shards and chunks from threads: no lost update, no
//    wrong value;
//  - several processes (fork) each opening its own LocalStore and array: the same.
// Values encode their position and the write that stored them, so a wrong value never passes.
// ZARRPP_CONCURRENCY_SECONDS (default 2) sets how long each race runs.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "support/disjoint_writers.h"
#include "zarrpp/array.h"
#include "zarrpp/json.h"
#include "zarrpp/local_store.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/store_wrappers.h"

namespace zarrpp {
namespace {

using test_support::CheckDisjoint;
using test_support::DisjointCheck;
using test_support::DisjointExpected;
using test_support::DisjointLayout;
using test_support::DisjointLayouts;
using test_support::DisjointMetadata;
using test_support::DisjointPlan;
using test_support::RunDisjointWriter;

double RaceSeconds() {
  const char* s = std::getenv("ZARRPP_CONCURRENCY_SECONDS");
  return s != nullptr ? std::atof(s) : 2.0;
}

std::string TempRoot(const std::string& name) {
  const auto root = std::filesystem::temp_directory_path() /
                    ("zarrpp_concurrency_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(root);
  return root.string();
}

Json ShardingOf(Json inner, const char* where) {
  const Json bytes = {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
  return Json::array({{{"name", "sharding_indexed"},
                       {"configuration",
                        {{"chunk_shape", std::vector<uint64_t>{8, 8}},
                         {"codecs", std::move(inner)},
                         {"index_codecs", Json::array({bytes, {{"name", "crc32c"}}})},
                         {"index_location", where}}}}});
}

// --- One handle: single-inner-chunk readers against a rewriting writer -----------------------

// The value of element (i, j) of a 64x64 array in round `round` (0..255).
uint32_t RaceValue(uint64_t i, uint64_t j, uint32_t round) {
  return static_cast<uint32_t>(((i * 64 + j + 1) << 8) | (round & 0xff));
}

struct RaceCounts {
  uint64_t reads = 0;
  uint64_t foreign = 0;     // an element holding another element's value
  uint64_t torn = 0;        // one inner chunk holding values of two rounds
  uint64_t corruption = 0;  // a read that failed with Corruption
  uint64_t other_errors = 0;
  uint64_t writes = 0;
};

// Runs readers of random single inner chunks against a writer that alternates whole-shard writes
// and inner-chunk-aligned partial writes (compressed inner chunks change size with the round, so
// partial writes move them into free space and compact the shard).
RaceCounts RaceReadersAgainstWriter(std::shared_ptr<Store> store, Json codecs,
                                    ArrayOptions options) {
  ArrayMetadata m;
  m.shape = {64, 64};
  m.chunk_shape = {32, 32};
  m.data_type = DataType(DataTypeId::kUInt32);
  m.fill_value = FillValue::Zero(m.data_type);
  m.codecs = std::move(codecs);
  CreateOptions create;
  create.overwrite = true;
  auto created = Array::Create(store, "race", m, create, options);
  EXPECT_TRUE(created.ok()) << created.status();
  if (!created.ok()) return {};
  std::shared_ptr<Array> a = *created;
  std::vector<uint32_t> all(64 * 64);
  for (uint64_t i = 0; i < 64; ++i) {
    for (uint64_t j = 0; j < 64; ++j) all[i * 64 + j] = RaceValue(i, j, 0);
  }
  EXPECT_TRUE(a->Write(Region::All({64, 64}), std::span<const uint32_t>(all)).ok());

  std::atomic<bool> stop{false};
  RaceCounts total;
  std::mutex mu;
  auto reader = [&](uint64_t seed) {
    std::mt19937_64 rng(seed);
    RaceCounts c;
    std::vector<uint32_t> got(64);
    while (!stop.load()) {
      const uint64_t ci = rng() % 8, cj = rng() % 8;
      const Region r{{ci * 8, cj * 8}, {8, 8}};
      Status s = a->Read(r, std::span<uint32_t>(got));
      ++c.reads;
      if (!s.ok()) {
        if (s.IsCorruption()) {
          ++c.corruption;
        } else {
          ++c.other_errors;
        }
        ADD_FAILURE() << s;
        continue;
      }
      const uint32_t round = got[0] & 0xff;
      for (uint64_t i = 0; i < 8; ++i) {
        for (uint64_t j = 0; j < 8; ++j) {
          const uint32_t v = got[i * 8 + j];
          if ((v >> 8) != (ci * 8 + i) * 64 + cj * 8 + j + 1) {
            ++c.foreign;
          } else if ((v & 0xff) != round) {
            ++c.torn;
          }
        }
      }
    }
    std::lock_guard l(mu);
    total.reads += c.reads;
    total.foreign += c.foreign;
    total.torn += c.torn;
    total.corruption += c.corruption;
    total.other_errors += c.other_errors;
  };
  auto writer = [&] {
    std::mt19937_64 rng(99);
    uint32_t round = 0;
    std::vector<uint32_t> buf;
    while (!stop.load()) {
      ++round;
      if (round % 5 == 0) {
        // A whole shard.
        const uint64_t si = rng() % 2, sj = rng() % 2;
        buf.resize(32 * 32);
        for (uint64_t i = 0; i < 32; ++i) {
          for (uint64_t j = 0; j < 32; ++j)
            buf[i * 32 + j] = RaceValue(si * 32 + i, sj * 32 + j, round);
        }
        Status s = a->Write(Region{{si * 32, sj * 32}, {32, 32}}, std::span<const uint32_t>(buf));
        EXPECT_TRUE(s.ok()) << s;
      } else {
        // One to four whole inner chunks of one shard.
        const uint64_t ci = rng() % 8, cj = rng() % 8;
        const uint64_t hi = std::min<uint64_t>(ci + 1 + rng() % 2, (ci / 4) * 4 + 4);
        const uint64_t hj = std::min<uint64_t>(cj + 1 + rng() % 2, (cj / 4) * 4 + 4);
        const Region r{{ci * 8, cj * 8}, {(hi - ci) * 8, (hj - cj) * 8}};
        buf.resize(r.num_elements());
        for (uint64_t i = 0; i < r.shape[0]; ++i) {
          for (uint64_t j = 0; j < r.shape[1]; ++j) {
            buf[i * r.shape[1] + j] = RaceValue(r.origin[0] + i, r.origin[1] + j, round);
          }
        }
        Status s = a->Write(r, std::span<const uint32_t>(buf));
        EXPECT_TRUE(s.ok()) << s;
      }
      std::lock_guard l(mu);
      ++total.writes;
    }
  };
  std::vector<std::thread> threads;
  threads.emplace_back(writer);
  for (uint64_t t = 0; t < 3; ++t) threads.emplace_back(reader, 7 + t);
  std::this_thread::sleep_for(std::chrono::duration<double>(RaceSeconds()));
  stop = true;
  for (auto& t : threads) t.join();
  return total;
}

void ExpectClean(const RaceCounts& c) {
  EXPECT_GT(c.reads, 0u);
  EXPECT_GT(c.writes, 0u);
  EXPECT_EQ(c.foreign, 0u) << "elements of other inner chunks in " << c.reads << " reads";
  EXPECT_EQ(c.torn, 0u);
  EXPECT_EQ(c.corruption, 0u);
  EXPECT_EQ(c.other_errors, 0u);
  std::printf("  %llu reads, %llu writes: %llu foreign, %llu torn, %llu corruption\n",
              static_cast<unsigned long long>(c.reads), static_cast<unsigned long long>(c.writes),
              static_cast<unsigned long long>(c.foreign), static_cast<unsigned long long>(c.torn),
              static_cast<unsigned long long>(c.corruption));
}

const Json kBytes = {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
const Json kZstd = {{"name", "zstd"}, {"configuration", {{"level", 1}, {"checksum", false}}}};

struct RaceCase {
  const char* name;
  bool local;
  bool compressed;
  const char* where;
  bool cache;
};

class ReadersRacingWriter : public ::testing::TestWithParam<RaceCase> {};

TEST_P(ReadersRacingWriter, EveryInnerChunkIsOldOrNew) {
  const RaceCase& rc = GetParam();
  std::shared_ptr<Store> store;
  std::string root;
  if (rc.local) {
    root = TempRoot(rc.name);
    auto opened = LocalStore::Create(root);
    ASSERT_TRUE(opened.ok()) << opened.status();
    store = *opened;
  } else {
    store = MemoryStore::Create();
  }
  ArrayOptions options;
  options.sharding.compaction_threshold = 0.3;  // compact often
  // Small inner chunks are read one by one, not as the whole shard.
  options.sharding.whole_shard_read_fraction = 0.9;
  if (rc.cache) options.sharding.index_cache_bytes = 1 << 20;
  const Json inner = rc.compressed ? Json::array({kBytes, kZstd}) : Json::array({kBytes});
  ExpectClean(RaceReadersAgainstWriter(store, ShardingOf(inner, rc.where), options));
  if (!root.empty()) std::filesystem::remove_all(root);
}

INSTANTIATE_TEST_SUITE_P(
    , ReadersRacingWriter,
    ::testing::Values(RaceCase{"memory_zstd_end", false, true, "end", false},
                      RaceCase{"memory_fixed_start_cached", false, false, "start", true},
                      RaceCase{"local_zstd_end", true, true, "end", false},
                      RaceCase{"local_zstd_start_cached", true, true, "start", true},
                      RaceCase{"local_fixed_end", true, false, "end", false}),
    [](const auto& info) { return std::string(info.param.name); });

// --- Retries, with the interference injected -------------------------------------------------

// A store whose readers report their version gone (as if the shard were replaced between every
// two reads) on every attempt, and whose conditional writes fail the first `failing_writes`
// times (as if a writer that does not lock had replaced the value in between).
class InterferingStore : public CountingStore {
 public:
  using CountingStore::CountingStore;
  bool readers_gone = false;
  int failing_writes = 0;

  Result<std::unique_ptr<ValueReader>> open_reader(std::string_view key) override {
    ASSIGN_OR_RETURN(std::unique_ptr<ValueReader> r, CountingStore::open_reader(key));
    if (!r || !readers_gone) return r;
    return std::unique_ptr<ValueReader>(new GoneAfterFirstRead(std::move(r)));
  }
  Result<std::optional<Generation>> set_if(std::string_view key, std::span<const ByteView> pieces,
                                           const WriteConditions& c) override {
    if (c.if_equal && Fail()) return std::optional<Generation>();
    return CountingStore::set_if(key, pieces, c);
  }
  Result<std::optional<Generation>> patch_if(std::string_view key,
                                             std::span<const RangeWrite> writes,
                                             const WriteConditions& c) override {
    if (c.if_equal && Fail()) return std::optional<Generation>();
    return CountingStore::patch_if(key, writes, c);
  }
  Result<bool> erase_if(std::string_view key, const WriteConditions& c) override {
    if (c.if_equal && Fail()) return false;
    return CountingStore::erase_if(key, c);
  }

 private:
  // Serves the first read (the index), then reports the version gone.
  class GoneAfterFirstRead final : public ValueReader {
   public:
    explicit GoneAfterFirstRead(std::unique_ptr<ValueReader> inner) : inner_(std::move(inner)) {}
    uint64_t size() const override { return inner_->size(); }
    const Generation& generation() const override { return inner_->generation(); }
    Result<bool> read(ByteRange range, Bytes& out) override {
      if (reads_++ > 0) return false;
      return inner_->read(range, out);
    }

   private:
    std::unique_ptr<ValueReader> inner_;
    int reads_ = 0;
  };
  bool Fail() {
    std::lock_guard l(mu_);
    if (failing_writes <= 0) return false;
    --failing_writes;
    return true;
  }
  std::mutex mu_;
};

std::shared_ptr<Array> RetryArray(std::shared_ptr<Store> store, const char* inner_chain) {
  ArrayMetadata m;
  m.shape = {32, 32};
  m.chunk_shape = {32, 32};
  m.data_type = DataType(DataTypeId::kUInt32);
  m.fill_value = FillValue::Zero(m.data_type);
  m.codecs = std::string(inner_chain) == "zstd"
                 ? ShardingOf(Json::array({kBytes, kZstd}), "end")
                 : (std::string(inner_chain) == "fixed" ? ShardingOf(Json::array({kBytes}), "start")
                                                        : Json::array({kBytes, kZstd}));
  if (std::string(inner_chain) == "chunked") m.chunk_shape = {16, 16};
  CreateOptions create;
  create.overwrite = true;
  auto a = Array::Create(std::move(store), "r", m, create);
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? *a : nullptr;
}

TEST(ShardRetries, ReadOfAShardReplacedUnderEveryReaderFallsBackToOneWholeRead) {
  auto store = std::make_shared<InterferingStore>(MemoryStore::Create());
  auto a = RetryArray(store, "zstd");
  std::vector<uint32_t> all(32 * 32);
  for (uint32_t i = 0; i < all.size(); ++i) all[i] = i + 1;
  ASSERT_TRUE(a->Write(Region::All({32, 32}), std::span<const uint32_t>(all)).ok());
  store->readers_gone = true;
  store->reset();
  std::vector<uint32_t> got(64);
  ASSERT_TRUE(a->Read(Region{{8, 16}, {8, 8}}, std::span<uint32_t>(got)).ok());
  for (uint32_t i = 0; i < 8; ++i) {
    for (uint32_t j = 0; j < 8; ++j) EXPECT_EQ(got[i * 8 + j], (8 + i) * 32 + 16 + j + 1);
  }
  const auto c = store->counters();
  EXPECT_EQ(c.open_reader, 8u);  // every attempt opened a version that was then gone
  EXPECT_EQ(c.get_into, 1u);     // and then one whole read
}

TEST(ShardRetries, PartialWritesWhoseConditionFailsAreRedoneOnTheNewValue) {
  for (const char* chain : {"zstd", "fixed", "chunked"}) {
    for (PipelineKind pipeline : {PipelineKind::kFused, PipelineKind::kBatched}) {
      auto store = std::make_shared<InterferingStore>(MemoryStore::Create());
      auto a = RetryArray(store, chain);
      std::vector<uint32_t> all(32 * 32);
      for (uint32_t i = 0; i < all.size(); ++i) all[i] = i + 1;
      ASSERT_TRUE(a->Write(Region::All({32, 32}), std::span<const uint32_t>(all)).ok());
      store->failing_writes = 3;
      store->reset();
      WriteOptions wo;
      wo.pipeline = pipeline;
      const std::vector<uint32_t> v = {7, 8, 9};
      ASSERT_TRUE(a->Write(Region{{5, 3}, {1, 3}}, std::span<const uint32_t>(v), wo).ok()) << chain;
      EXPECT_EQ(store->failing_writes, 0) << chain;
      const auto c = store->counters();
      // Three refused (before reaching the counted store), then one stored.
      EXPECT_EQ(c.set_if + c.patch_if + c.erase_if, 1u) << chain;
      std::vector<uint32_t> got(32 * 32);
      ASSERT_TRUE(a->Read(Region::All({32, 32}), std::span<uint32_t>(got)).ok());
      all[5 * 32 + 3] = 7, all[5 * 32 + 4] = 8, all[5 * 32 + 5] = 9;
      EXPECT_EQ(got, all) << chain;
    }
  }
}

// --- Several handles in one process ------------------------------------------------------------

// A MemoryStore seen as a store with generations and conditional writes but no key locks (as an
// object store): writers coordinate optimistically, retrying failed conditional writes.
class NoLocksStore : public CountingStore {
 public:
  using CountingStore::CountingStore;
  StoreCapabilities capabilities() const override {
    StoreCapabilities c = CountingStore::capabilities();
    c.key_locks = false;
    return c;
  }
  Result<std::unique_ptr<KeyLock>> lock(std::string_view key) override {
    return Status::Unsupported("no key locks: " + std::string(key));
  }
};

enum class StoreKind { kMemory, kMemoryOptimistic, kLocal };

struct HandlesCase {
  DisjointLayout layout;
  StoreKind kind;
};

std::vector<HandlesCase> HandlesCases() {
  std::vector<HandlesCase> out;
  for (const DisjointLayout& l : DisjointLayouts()) {
    for (StoreKind k : {StoreKind::kMemory, StoreKind::kMemoryOptimistic, StoreKind::kLocal}) {
      out.push_back({l, k});
    }
  }
  return out;
}

class SeveralHandles : public ::testing::TestWithParam<HandlesCase> {};

// Each writer thread opens its own handle (and, on LocalStore, its own store object on the root)
// and writes its own tiles; the tiles share inner chunks, shards and chunks.
TEST_P(SeveralHandles, DisjointWritesLoseNothing) {
  const HandlesCase& hc = GetParam();
  DisjointPlan plan;
  plan.writers = 4;
  plan.writes_per_writer = 400;
  plan.seed = 11;
  std::string root;
  std::shared_ptr<Store> mem;
  auto open_store = [&]() -> std::shared_ptr<Store> {
    if (hc.kind != StoreKind::kLocal) return mem;
    auto s = LocalStore::Create(root);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : nullptr;
  };
  if (hc.kind == StoreKind::kLocal) {
    root = TempRoot("handles_" + hc.layout.name);
  } else if (hc.kind == StoreKind::kMemory) {
    mem = MemoryStore::Create();
  } else {
    mem = std::make_shared<NoLocksStore>(MemoryStore::Create());
  }
  CreateOptions create;
  create.overwrite = true;
  ArrayOptions options;
  options.sharding.compaction_threshold = 0.3;
  ASSERT_TRUE(Array::Create(open_store(), "a", DisjointMetadata(plan, hc.layout), create).ok());
  std::vector<std::thread> threads;
  for (uint32_t w = 0; w < plan.writers; ++w) {
    threads.emplace_back([&, w] {
      ArrayOptions o = options;
      // Half the writers use the batched pipeline, which locks several keys at once.
      o.pipeline = w % 2 == 0 ? PipelineKind::kFused : PipelineKind::kBatched;
      // Some keep an index cache, which must never hide another handle's writes.
      if (w % 3 != 0) o.sharding.index_cache_bytes = 1 << 20;
      auto a = Array::Open(open_store(), "a", o);
      ASSERT_TRUE(a.ok()) << a.status();
      Status s = RunDisjointWriter(**a, plan, w);
      EXPECT_TRUE(s.ok()) << s;
    });
  }
  for (auto& t : threads) t.join();
  auto a = Array::Open(open_store(), "a");
  ASSERT_TRUE(a.ok()) << a.status();
  std::vector<uint64_t> got(plan.elements());
  Status s = (*a)->Read(Region::All(plan.shape), std::span<uint64_t>(got));
  ASSERT_TRUE(s.ok()) << s;
  const DisjointCheck c = CheckDisjoint(plan, got, DisjointExpected(plan));
  EXPECT_EQ(c.lost, 0u);
  EXPECT_EQ(c.wrong, 0u);
  if (!root.empty()) std::filesystem::remove_all(root);
}

std::string HandlesCaseName(const ::testing::TestParamInfo<HandlesCase>& info) {
  static const char* const kKinds[] = {"_memory", "_memory_optimistic", "_local"};
  return info.param.layout.name + kKinds[static_cast<int>(info.param.kind)];
}

INSTANTIATE_TEST_SUITE_P(, SeveralHandles, ::testing::ValuesIn(HandlesCases()), HandlesCaseName);

// --- Several processes -------------------------------------------------------------------------

class SeveralProcesses : public ::testing::TestWithParam<DisjointLayout> {};

// Each child process opens its own LocalStore and array and writes its tiles; the parent checks
// every element. Repeated for a few trials with different seeds.
TEST_P(SeveralProcesses, DisjointWritesLoseNothing) {
  const DisjointLayout& layout = GetParam();
  const std::string root = TempRoot("procs_" + layout.name);
  for (uint64_t trial = 0; trial < 3; ++trial) {
    DisjointPlan plan;
    plan.writers = 4;
    plan.writes_per_writer = 120;
    plan.seed = 100 + trial;
    {
      auto store = LocalStore::Create(root);
      ASSERT_TRUE(store.ok()) << store.status();
      CreateOptions create;
      create.overwrite = true;
      ASSERT_TRUE(Array::Create(*store, "a", DisjointMetadata(plan, layout), create).ok());
    }
    std::vector<pid_t> children;
    for (uint32_t w = 0; w < plan.writers; ++w) {
      const pid_t pid = ::fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        // The child: its own store object, array and executor; exit code 0 on success.
        int code = 0;
        {
          auto store = LocalStore::Create(root);
          ArrayOptions o;
          o.executor = MakeThreadPoolExecutor(2);
          o.sharding.compaction_threshold = 0.3;
          o.pipeline = w % 2 == 0 ? PipelineKind::kFused : PipelineKind::kBatched;
          if (w % 3 != 0) o.sharding.index_cache_bytes = 1 << 20;
          auto a = store.ok() ? Array::Open(*store, "a", o)
                              : Result<std::shared_ptr<Array>>(store.status());
          if (!a.ok()) {
            std::fprintf(stderr, "child %u: %s\n", w, a.status().ToString().c_str());
            code = 2;
          } else if (Status s = RunDisjointWriter(**a, plan, w); !s.ok()) {
            std::fprintf(stderr, "child %u: %s\n", w, s.ToString().c_str());
            code = 3;
          }
        }
        std::fflush(stderr);
        ::_exit(code);
      }
      children.push_back(pid);
    }
    for (pid_t pid : children) {
      int status = 0;
      ASSERT_EQ(::waitpid(pid, &status, 0), pid);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
    }
    auto store = LocalStore::Create(root);
    ASSERT_TRUE(store.ok());
    auto a = Array::Open(*store, "a");
    ASSERT_TRUE(a.ok()) << a.status();
    std::vector<uint64_t> got(plan.elements());
    Status s = (*a)->Read(Region::All(plan.shape), std::span<uint64_t>(got));
    ASSERT_TRUE(s.ok()) << s;
    const DisjointCheck c = CheckDisjoint(plan, got, DisjointExpected(plan));
    EXPECT_EQ(c.lost, 0u) << "trial " << trial;
    EXPECT_EQ(c.wrong, 0u) << "trial " << trial;
  }
  std::filesystem::remove_all(root);
}

INSTANTIATE_TEST_SUITE_P(, SeveralProcesses, ::testing::ValuesIn(DisjointLayouts()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace zarrpp
