// Arrays, hierarchies, convert and conditional creation on the S3 store, against the server that
// ZARRPP_S3_ENDPOINT names (tests/support/s3_fixture.h; CI runs a Ceph RADOS Gateway started by
// tests/services/rgw.sh). Every result is compared with the same work done on a local or memory
// store: digests must be equal. Without ZARRPP_S3_ENDPOINT every test skips, saying why.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "src/tools/workloads.h"
#include "support/create_race.h"
#include "support/s3_fixture.h"
#include "support/sample_tree.h"
#include "zarrpp/array.h"
#include "zarrpp/convert.h"
#include "zarrpp/digest.h"
#include "zarrpp/executor.h"
#include "zarrpp/hierarchy.h"
#include "zarrpp/json.h"
#include "zarrpp/local_store.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/open_store.h"
#include "zarrpp/s3_store.h"

namespace {
const auto* const g_env = ::testing::AddGlobalTestEnvironment(new zarrpp::testing::S3Environment);
}  // namespace

namespace zarrpp {
namespace {

namespace fs = std::filesystem;

std::string TempRoot(const std::string& name) {
  const fs::path p =
      fs::temp_directory_path() / ("zarrpp_s3arr_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p.string();
}

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// The s3:// URL of a fresh prefix of the run's bucket.
std::string FreshUrl(const std::string& tag) {
  const S3StoreOptions o = testing::FreshS3Options(tag);
  return "s3://" + o.bucket + "/" + o.prefix;
}

// W1 (float32, chunks 256 x 1024, blosc-lz4) at 1024 x 2048: eight chunks of 1 MiB.
TEST(S3Arrays, W1RoundTripHasTheDigestOfALocalStore) {
  auto s3 = testing::FreshS3Store("w1");
  if (!s3) return;
  const uint64_t rows = 1024, cols = 2048;
  const ArrayMetadata m = workloads::W1Metadata("blosc-lz4", rows, cols);
  std::vector<float> values(rows * cols);
  auto executor = MakeThreadPoolExecutor(2);
  workloads::GenerateW1(values.data(), rows, cols, *executor);
  const std::string root = TempRoot("w1");
  auto local = LocalStore::Create(root);
  ASSERT_TRUE(local.ok()) << local.status();
  std::string digests[2];
  int n = 0;
  for (std::shared_ptr<Store> store :
       {std::shared_ptr<Store>(s3), std::shared_ptr<Store>(*local)}) {
    auto a = Array::Create(store, "w1", m);
    ASSERT_TRUE(a.ok()) << store->description() << ": " << a.status();
    Status w = (*a)->Write(Region::All(m.shape), std::span<const float>(values));
    ASSERT_TRUE(w.ok()) << w;
    // Read back through a fresh handle and compare every element.
    auto b = Array::Open(store, "w1");
    ASSERT_TRUE(b.ok()) << b.status();
    std::vector<float> back(values.size(), -1.0f);
    Status r = (*b)->Read(Region::All(m.shape), std::span<float>(back));
    ASSERT_TRUE(r.ok()) << r;
    EXPECT_TRUE(back == values) << store->description();
    auto d = ArrayDigest(**b);
    ASSERT_TRUE(d.ok()) << d.status();
    digests[n++] = *d;
  }
  EXPECT_EQ(digests[0], digests[1]);
  // Same chunk objects, same sizes.
  auto keys = s3->list_prefix("w1/c/");
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(keys->size(), 8u);
  fs::remove_all(root);
}

// Sharded arrays written in full and then partially (read-modify-write of shards on S3), a
// chunked array with missing chunks and a Zarr v2 array: digests equal to a memory store's, and
// partial reads equal element by element.
TEST(S3Arrays, ShardedAndChunkedArraysMatchAMemoryStore) {
  auto s3 = testing::FreshS3Store("tree");
  if (!s3) return;
  auto memory = MemoryStore::Create();
  ASSERT_TRUE(test_support::WriteSampleTree(memory).ok());
  Status s = test_support::WriteSampleTree(s3);
  ASSERT_TRUE(s.ok()) << s;
  const auto paths = test_support::SampleTreeArrays();
  auto want = test_support::DigestArrays(memory, paths);
  auto got = test_support::DigestArrays(s3, paths);
  ASSERT_TRUE(want.ok()) << want.status();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, *want);
  // The whole tree digests the same too (S3 lists).
  auto tree_s3 = DigestTree(s3, "");
  auto tree_mem = DigestTree(memory, "");
  ASSERT_TRUE(tree_s3.ok() && tree_mem.ok());
  ASSERT_EQ(tree_s3->size(), tree_mem->size());
  for (size_t i = 0; i < tree_s3->size(); ++i) {
    EXPECT_EQ((*tree_s3)[i].path, (*tree_mem)[i].path);
    EXPECT_EQ((*tree_s3)[i].sha256, (*tree_mem)[i].sha256) << (*tree_s3)[i].path;
  }
  for (const Region& region :
       {Region{{0, 0}, {1, 1}}, Region{{31, 31}, {2, 2}}, Region{{100, 90}, {60, 200}}}) {
    auto a = Array::Open(s3, "sharded");
    auto b = Array::Open(memory, "sharded");
    ASSERT_TRUE(a.ok() && b.ok());
    std::vector<float> x(region.num_elements(), -1.0f), y(region.num_elements(), -2.0f);
    ASSERT_TRUE((*a)->Read(region, std::span<float>(x)).ok());
    ASSERT_TRUE((*b)->Read(region, std::span<float>(y)).ok());
    EXPECT_EQ(x, y) << region.ToString();
  }
}

TEST(S3Arrays, CreateHierarchyOfAThousandNodes) {
  auto s3 = testing::FreshS3Store("h1000");
  if (!s3) return;
  NodeMap nodes;
  for (int g = 0; g < 10; ++g) {
    const std::string group = "g" + std::to_string(g);
    GroupMetadata gm;
    gm.attributes = Json{{"index", g}};
    nodes.emplace(group, gm);
    for (int a = 0; a < 99; ++a) {
      ArrayMetadata m;
      m.shape = {10, static_cast<uint64_t>(a + 1)};
      m.chunk_shape = {5, 5};
      m.data_type = DataType(DataTypeId::kInt16);
      m.codecs = Json::parse(R"([{"name":"bytes","configuration":{"endian":"little"}}])");
      nodes.emplace(group + "/a" + std::to_string(a), m);
    }
  }
  ASSERT_EQ(nodes.size(), 1000u);
  auto created = CreateHierarchy(s3, nodes);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->size(), 1001u);  // and the implicit root group
  auto keys = s3->list_prefix("");
  ASSERT_TRUE(keys.ok()) << keys.status();
  size_t documents = 0;
  for (const std::string& k : *keys) documents += k.ends_with("zarr.json") ? 1 : 0;
  EXPECT_EQ(documents, 1001u);
  auto g7 = s3->list_dir("g7/");
  ASSERT_TRUE(g7.ok()) << g7.status();
  EXPECT_EQ(g7->prefixes.size(), 99u);
  auto a = Array::Open(s3, "g7/a41");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ((*a)->shape(), (std::vector<uint64_t>{10, 42}));
  // Again without overwrite: every named node exists.
  auto again = CreateHierarchy(s3, nodes);
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(again.status().IsAlreadyExists()) << again.status();
}

TEST(S3Arrays, ConvertLocalToS3AndBackKeepsEveryDigest) {
  if (const std::string why = testing::S3SkipReason(); !why.empty()) GTEST_SKIP() << why;
  const std::string src_root = TempRoot("conv_src"), back_root = TempRoot("conv_back");
  auto src = LocalStore::Create(src_root);
  ASSERT_TRUE(src.ok());
  ASSERT_TRUE(test_support::WriteSampleTree(*src).ok());
  auto s3_store = testing::FreshS3Store("convert");
  ASSERT_NE(s3_store, nullptr);
  auto to = Convert(*src, "", s3_store, "");
  ASSERT_TRUE(to.ok()) << to.status();
  EXPECT_EQ(to->failed(), 0u);
  OpenStoreOptions create;
  create.create = true;
  auto back = OpenStore(back_root, create);
  ASSERT_TRUE(back.ok());
  auto from = Convert(s3_store, "", *back, "");
  ASSERT_TRUE(from.ok()) << from.status();
  EXPECT_EQ(from->failed(), 0u);
  const auto paths = test_support::SampleTreeArrays();
  auto d_src = test_support::DigestArrays(*src, paths);
  auto d_s3 = test_support::DigestArrays(s3_store, paths);
  auto d_back = test_support::DigestArrays(*back, paths);
  ASSERT_TRUE(d_src.ok() && d_s3.ok() && d_back.ok());
  EXPECT_EQ(*d_s3, *d_src);
  EXPECT_EQ(*d_back, *d_src);
  fs::remove_all(src_root);
  fs::remove_all(back_root);
}

#ifdef ZARRPP_CLI
#define ZARRPP_CLI_OR_EMPTY ZARRPP_CLI
#else
#define ZARRPP_CLI_OR_EMPTY ""
#endif

struct Outcome {
  int exit_code = -1;
  std::string out, err;
};

// Runs the zarrpp tool with the AWS variables pointing at the test server.
Outcome RunCli(const std::vector<std::string>& args, const std::string& work) {
  const auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v ? v : "");
  };
  std::string region = env("ZARRPP_S3_REGION");
  if (region.empty()) region = "us-east-1";
  // Built by appending: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string temporaries.
  std::string cmd = "env -u AWS_ENDPOINT_URL_S3 -u AWS_PROFILE";
  for (const auto& [name, value] :
       {std::pair<const char*, std::string>{"AWS_ENDPOINT_URL", env("ZARRPP_S3_ENDPOINT")},
        {"AWS_REGION", region},
        {"AWS_ACCESS_KEY_ID", env("ZARRPP_S3_ACCESS_KEY")},
        {"AWS_SECRET_ACCESS_KEY", env("ZARRPP_S3_SECRET_KEY")}}) {
    cmd += ' ';
    cmd += name;
    cmd += '=';
    cmd += Quote(value);
  }
  cmd += ' ';
  cmd += Quote(ZARRPP_CLI_OR_EMPTY);
  for (const std::string& a : args) {
    cmd += ' ';
    cmd += Quote(a);
  }
  const std::string out = work + "/cli.out", err = work + "/cli.err";
  cmd += " >";
  cmd += Quote(out);
  cmd += " 2>";
  cmd += Quote(err);
  const int status = std::system(cmd.c_str());
  Outcome o;
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::stringstream so, se;
  so << std::ifstream(out).rdbuf();
  se << std::ifstream(err).rdbuf();
  o.out = so.str();
  o.err = se.str();
  return o;
}

TEST(S3Arrays, CliConvertsALocalTreeIntoS3AndBackWithEqualDigests) {
  if (const std::string why = testing::S3SkipReason(); !why.empty()) GTEST_SKIP() << why;
  if (std::string(ZARRPP_CLI_OR_EMPTY).empty()) {
    GTEST_SKIP() << "the zarrpp tool is not built (ZARRPP_BUILD_TOOLS=OFF)";
  }
  const std::string work = TempRoot("cli");
  fs::create_directories(work);
  const std::string src = work + "/w1.zarr", back = work + "/back.zarr";
  {
    auto local = LocalStore::Create(src);
    ASSERT_TRUE(local.ok());
    ASSERT_TRUE(test_support::WriteSampleTree(*local).ok());
  }
  const std::string url = FreshUrl("cli") + "w1.zarr";
  Outcome up = RunCli({"convert", src, url}, work);
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_NE(up.out.find("converted 4 arrays"), std::string::npos) << up.out;
  Outcome down = RunCli({"convert", url, back}, work);
  ASSERT_EQ(down.exit_code, 0) << down.err;
  Outcome d_src = RunCli({"digest", src}, work);
  Outcome d_s3 = RunCli({"digest", url}, work);
  Outcome d_back = RunCli({"digest", back}, work);
  ASSERT_EQ(d_src.exit_code, 0) << d_src.err;
  ASSERT_EQ(d_s3.exit_code, 0) << d_s3.err;
  ASSERT_EQ(d_back.exit_code, 0) << d_back.err;
  EXPECT_EQ(std::count(d_src.out.begin(), d_src.out.end(), '\n'), 4) << d_src.out;
  EXPECT_EQ(d_s3.out, d_src.out);
  EXPECT_EQ(d_back.out, d_src.out);
  Outcome info = RunCli({"info", url + "/sharded"}, work);
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("shape: [256, 320]"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("chunks_stored: 6"), std::string::npos) << info.out;
  // Converting into the same S3 prefix again is refused: the destination holds keys.
  Outcome twice = RunCli({"convert", src, url}, work);
  EXPECT_EQ(twice.exit_code, 1);
  EXPECT_NE(twice.err.find("FailedPrecondition"), std::string::npos) << twice.err;
  // Secrets never reach the output.
  const char* secret = std::getenv("ZARRPP_S3_SECRET_KEY");
  if (secret && *secret) {
    for (const Outcome* o : {&up, &down, &d_s3, &info, &twice}) {
      EXPECT_EQ(o->out.find(secret), std::string::npos);
      EXPECT_EQ(o->err.find(secret), std::string::npos);
    }
  }
  fs::remove_all(work);
}

// Four processes race to create one array on the server: its create-only PUT
// (If-None-Match: *) lets exactly one win; the others get AlreadyExists.
TEST(S3Arrays, ProcessesRacingToCreateOneArrayExactlyOneWins) {
  auto s3 = testing::FreshS3Store("race");
  if (!s3) return;
  if (!s3->capabilities().conditional_writes) {
    GTEST_SKIP() << "the S3 endpoint " << s3->description()
                 << " does not honour If-None-Match on PUT (no conditional writes)";
  }
  // Each child opens its own store and probes the endpoint itself, at the same moment as the
  // others: their probe keys must differ (the random state is reseeded after fork).
  S3StoreOptions options = testing::FreshS3Options("race");
  for (int round = 0; round < 3; ++round) {
    const test_support::CreateRaceOutcome out = test_support::RaceArrayCreation(
        [&]() -> Result<std::shared_ptr<Store>> {
          ASSIGN_OR_RETURN(auto store, S3Store::Open(options));
          return std::shared_ptr<Store>(std::move(store));
        },
        "race/a" + std::to_string(round), 4);
    EXPECT_EQ(out.created, 1) << "round " << round;
    EXPECT_EQ(out.already_exists, 3) << "round " << round;
    EXPECT_EQ(out.failed, 0) << "round " << round;
  }
}

}  // namespace
}  // namespace zarrpp
