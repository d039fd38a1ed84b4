// S3Store against a real S3 server (Ceph RGW in CI): the store conformance suite, and what is
// particular to S3 (ranges on the wire, listing pages, DeleteObjects batches, multipart uploads,
// conditional creation across processes, credentials errors). Every test skips, saying why,
// when ZARRPP_S3_ENDPOINT is unset (tests/support/s3_fixture.h).
#include "zarrpp/s3_store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "stores/http/curl_transport.h"
#include "support/async_checks.h"
#include "support/disjoint_writers.h"
#include "support/s3_fixture.h"
#include "support/store_conformance.h"
#include "support/within_checks.h"
#include "zarrpp/array.h"
#include "zarrpp/json.h"

extern char** environ;

namespace {

using zarrpp::Array;
using zarrpp::ArrayMetadata;
using zarrpp::ArrayOptions;
using zarrpp::ByteRange;
using zarrpp::Bytes;
using zarrpp::ByteView;
using zarrpp::DataType;
using zarrpp::DataTypeId;
using zarrpp::FillValue;
using zarrpp::Generation;
using zarrpp::Json;
using zarrpp::Region;
using zarrpp::Result;
using zarrpp::S3Store;
using zarrpp::S3StoreOptions;
using zarrpp::Status;
using zarrpp::WriteConditions;
using zarrpp::testing::S3SkipReason;
namespace test_support = zarrpp::test_support;
using zarrpp::testing::FreshS3Options;
using zarrpp::testing::FreshS3Store;
using zarrpp::testing::Pattern;
using zarrpp::testing::StoreCase;

const auto* const g_env = ::testing::AddGlobalTestEnvironment(new zarrpp::testing::S3Environment);

INSTANTIATE_TEST_SUITE_P(
    , StoreConformance,
    ::testing::Values(StoreCase{
        "S3", [] { return std::shared_ptr<zarrpp::Store>(FreshS3Store("conformance")); }}),
    zarrpp::testing::StoreCaseName);

WriteConditions IfEqualGen(Generation g) {
  WriteConditions c;
  c.if_equal = std::move(g);
  return c;
}

TEST(S3Store, CapabilitiesOnThisEndpoint) {
  ZARRPP_S3_TEST_OR_SKIP();
  auto store = FreshS3Store("caps");
  ASSERT_NE(store, nullptr);
  const auto caps = store->capabilities();
  EXPECT_TRUE(caps.partial_reads);
  EXPECT_TRUE(caps.atomic_set);
  EXPECT_TRUE(caps.generations);
  EXPECT_FALSE(caps.set_range);
  EXPECT_FALSE(caps.key_locks);
  EXPECT_EQ(caps.io_concurrency, S3StoreOptions{}.max_in_flight);
  // The probe key never shows.
  auto keys = store->list();
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_TRUE(keys->empty());
  std::cout << "conditional_writes on " << store->description() << ": "
            << (caps.conditional_writes ? "yes" : "no") << "\n";
  if (std::getenv("ZARRPP_S3_EXPECT_CONDITIONAL")) {
    EXPECT_EQ(caps.conditional_writes,
              std::string(std::getenv("ZARRPP_S3_EXPECT_CONDITIONAL")) == "1");
  }
}

TEST(S3Store, ForcedOffConditionalWritesAreUnsupported) {
  ZARRPP_S3_TEST_OR_SKIP();
  S3StoreOptions o = FreshS3Options("nocond");
  ASSERT_FALSE(o.bucket.empty());
  o.conditional_writes = false;
  auto store = S3Store::Open(o);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_FALSE((*store)->capabilities().conditional_writes);
  const Bytes v = Pattern(10, 1);
  const ByteView piece(v);
  auto r = (*store)->set_if("k", std::span(&piece, 1), IfEqualGen(Generation::Absent()));
  EXPECT_TRUE(r.status().IsUnsupported()) << r.status();
  EXPECT_FALSE(*(*store)->exists("k"));
}

TEST(S3Store, RangesOfEveryKindOnALargeValue) {
  ZARRPP_S3_TEST_OR_SKIP();
  auto store = FreshS3Store("ranges");
  ASSERT_NE(store, nullptr);
  const Bytes v = Pattern(3 << 20, 11);
  ASSERT_TRUE(store->set("v", v).ok());
  auto sub = [&](size_t a, size_t b) { return Bytes(v.begin() + a, v.begin() + b); };
  struct Case {
    ByteRange range;
    Bytes want;
  };
  const std::vector<Case> cases = {
      {ByteRange::Whole(), v},
      {ByteRange::Bounded(0, 1), sub(0, 1)},
      {ByteRange::Bounded(12345, 1 << 20), sub(12345, 1 << 20)},
      {ByteRange::Bounded(v.size() - 1, v.size()), sub(v.size() - 1, v.size())},
      {ByteRange::FromOffset(777), sub(777, v.size())},
      {ByteRange::FromOffset(v.size()), Bytes{}},
      {ByteRange::Suffix(1), sub(v.size() - 1, v.size())},
      {ByteRange::Suffix(65536), sub(v.size() - 65536, v.size())},
      {ByteRange::Suffix(v.size() + 10), v},
  };
  std::vector<zarrpp::KeyRange> batch;
  for (const Case& c : cases) {
    auto got = store->get("v", c.range);
    ASSERT_TRUE(got.ok()) << c.range.ToString() << ": " << got.status();
    ASSERT_TRUE(got->has_value());
    EXPECT_TRUE(**got == c.want) << c.range.ToString();
    batch.push_back({"v", c.range});
  }
  // The same, concurrently through get_ranges, many times over.
  std::vector<zarrpp::KeyRange> many;
  for (int i = 0; i < 20; ++i) many.insert(many.end(), batch.begin(), batch.end());
  auto got = store->get_ranges(many);
  ASSERT_TRUE(got.ok()) << got.status();
  for (size_t i = 0; i < many.size(); ++i) {
    ASSERT_TRUE((*got)[i].has_value());
    EXPECT_TRUE(*(*got)[i] == cases[i % cases.size()].want) << many[i].range.ToString();
  }
  // Past the end: InvalidArgument naming the key.
  auto past = store->get("v", ByteRange::Bounded(v.size() - 5, v.size() + 5));
  EXPECT_TRUE(past.status().IsInvalidArgument()) << past.status();
  auto far = store->get("v", ByteRange::FromOffset(v.size() + 1));
  EXPECT_TRUE(far.status().IsInvalidArgument()) << far.status();
}

TEST(S3Store, KeysNeedingEscapesRoundTripAndList) {
  ZARRPP_S3_TEST_OR_SKIP();
  auto store = FreshS3Store("escapes");
  ASSERT_NE(store, nullptr);
  const std::vector<std::string> keys = {"a b/c+d", "a b/é", "x/%41", "x/q?=&#", "x/~tilde.-_"};
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSERT_TRUE(store->set(keys[i], Pattern(10 + i, static_cast<uint32_t>(i))).ok()) << keys[i];
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    auto got = store->get(keys[i]);
    ASSERT_TRUE(got.ok()) << keys[i] << ": " << got.status();
    ASSERT_TRUE(got->has_value()) << keys[i];
    EXPECT_EQ(**got, Pattern(10 + i, static_cast<uint32_t>(i))) << keys[i];
  }
  auto listed = store->list();
  ASSERT_TRUE(listed.ok()) << listed.status();
  std::vector<std::string> want = keys;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*listed, want);
  auto dir = store->list_dir("a b/");
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(dir->keys, (std::vector<std::string>{"a b/c+d", "a b/é"}));
}

// Writes `n` keys "<dir>/<i>" with many writers at once.
void WriteMany(zarrpp::Store& store, const std::string& dir, int n) {
  std::atomic<int> next{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 32; ++t) {
    threads.emplace_back([&] {
      const Bytes v = {1, 2, 3};
      for (int i = next++; i < n; i = next++) {
        if (!store.set(dir + "/" + std::to_string(i), v).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
}

TEST(S3Store, ErasePrefixOfMoreThanOneBatchAndListingAcrossPages) {
  ZARRPP_S3_TEST_OR_SKIP();
  auto store = FreshS3Store("bulk");
  ASSERT_NE(store, nullptr);
  constexpr int kKeys = 2500;
  WriteMany(*store, "d", kKeys);
  ASSERT_TRUE(store->set("keep", Bytes{9}).ok());
  auto listed = store->list_prefix("d/");
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->size(), size_t{kKeys});
  EXPECT_TRUE(std::is_sorted(listed->begin(), listed->end()));
  auto dir = store->list_dir("");
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(dir->keys, std::vector<std::string>{"keep"});
  EXPECT_EQ(dir->prefixes, std::vector<std::string>{"d/"});
  ASSERT_TRUE(store->erase_prefix("d/").ok());
  auto after = store->list();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(*after, std::vector<std::string>{"keep"});
}

TEST(S3Store, MultipartUploadAboveTheThreshold) {
  ZARRPP_S3_TEST_OR_SKIP();
  S3StoreOptions o = FreshS3Options("multipart");
  ASSERT_FALSE(o.bucket.empty());
  o.multipart_threshold = 6 << 20;
  o.multipart_part_size = 5 << 20;
  auto opened = S3Store::Open(o);
  ASSERT_TRUE(opened.ok()) << opened.status();
  auto store = *opened;
  const Bytes a = Pattern((7 << 20) + 3, 1), b = Pattern((5 << 20) + 11, 2);
  const std::vector<ByteView> pieces = {ByteView(a), ByteView(b)};
  ASSERT_TRUE(store->set_gather("big", pieces).ok());
  Bytes want = a;
  want.insert(want.end(), b.begin(), b.end());
  auto got = store->get("big");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_TRUE(**got == want);
  EXPECT_EQ(*store->size("big"), std::optional<uint64_t>(want.size()));
  auto tail = store->get("big", ByteRange::Suffix(100));
  ASSERT_TRUE(tail.ok());
  EXPECT_TRUE(**tail == Bytes(want.end() - 100, want.end()));
  // A rewrite of the same bytes is a new generation, and get_if reports the current one.
  auto g1 = store->generation("big");
  ASSERT_TRUE(store->set_gather("big", pieces).ok());
  auto g2 = store->generation("big");
  ASSERT_TRUE(g1.ok() && g2.ok());
  EXPECT_FALSE(*g1 == *g2);
  Bytes out;
  auto r = store->get_if("big", ByteRange::Bounded(0, 10), out, &*g2);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->condition_met);
  EXPECT_EQ(out, Bytes(want.begin(), want.begin() + 10));
}

// The process side of the cross-process race: run by the test below with the bucket, prefix
// and key in the environment; exits 0 when it created the key, 3 when the key already existed.
TEST(S3RaceChild, CreateOnce) {
  const char* bucket = std::getenv("ZARRPP_S3_RACE_BUCKET");
  if (!bucket) GTEST_SKIP() << "only run as a child of S3Store.CreateOnlyRaceBetweenProcesses";
  auto base = zarrpp::testing::S3BaseOptions();
  ASSERT_TRUE(base.has_value());
  base->bucket = bucket;
  base->prefix = std::getenv("ZARRPP_S3_RACE_PREFIX");
  auto store = S3Store::Open(*base);
  ASSERT_TRUE(store.ok()) << store.status();
  const Bytes v = Pattern(1000, static_cast<uint32_t>(getpid()));
  const ByteView piece(v);
  auto r = (*store)->set_if("zarr.json", std::span(&piece, 1), IfEqualGen(Generation::Absent()));
  ASSERT_TRUE(r.ok()) << r.status();
  std::_Exit(r->has_value() ? 0 : 3);
}

TEST(S3Store, CreateOnlyRaceBetweenProcesses) {
  ZARRPP_S3_TEST_OR_SKIP();
  S3StoreOptions o = FreshS3Options("race");
  ASSERT_FALSE(o.bucket.empty());
  auto store = S3Store::Open(o);
  ASSERT_TRUE(store.ok()) << store.status();
  if (!(*store)->capabilities().conditional_writes)
    GTEST_SKIP() << "the endpoint has no conditional writes";
  constexpr int kProcesses = 4;
  std::vector<pid_t> pids;
  std::string self = "/proc/self/exe";
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  ASSERT_GT(n, 0);
  exe[n] = 0;
  for (int i = 0; i < kProcesses; ++i) {
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) env.emplace_back(*e);
    env.push_back("ZARRPP_S3_RACE_BUCKET=" + o.bucket);
    env.push_back("ZARRPP_S3_RACE_PREFIX=" + o.prefix);
    std::vector<char*> envp;
    for (auto& s : env) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string filter = "--gtest_filter=S3RaceChild.CreateOnce";
    char* argv[] = {exe, filter.data(), nullptr};
    pid_t pid = 0;
    ASSERT_EQ(posix_spawn(&pid, exe, nullptr, nullptr, argv, envp.data()), 0);
    pids.push_back(pid);
  }
  int winners = 0, losers = 0;
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 0) ++winners;
    if (WEXITSTATUS(status) == 3) ++losers;
  }
  EXPECT_EQ(winners, 1);
  EXPECT_EQ(losers, kProcesses - 1);
  auto got = (*store)->get("zarr.json");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->size(), 1000u);
}

TEST(S3Store, CreateOnlyRaceBetweenHandles) {
  ZARRPP_S3_TEST_OR_SKIP();
  S3StoreOptions o = FreshS3Options("handles");
  ASSERT_FALSE(o.bucket.empty());
  auto a = S3Store::Open(o), b = S3Store::Open(o);
  ASSERT_TRUE(a.ok() && b.ok());
  if (!(*a)->capabilities().conditional_writes)
    GTEST_SKIP() << "the endpoint has no conditional writes";
  std::atomic<int> winners{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto& s = (t % 2 ? *a : *b);
      const Bytes v = Pattern(100, static_cast<uint32_t>(t));
      const ByteView piece(v);
      auto r = s->set_if("k", std::span(&piece, 1), IfEqualGen(Generation::Absent()));
      if (!r.ok()) ++errors;
      if (r.ok() && r->has_value()) ++winners;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(winners.load(), 1);
}

TEST(S3Store, WrongSecretIsPermissionDeniedWithoutTheSecret) {
  ZARRPP_S3_TEST_OR_SKIP();
  S3StoreOptions o = FreshS3Options("denied");
  ASSERT_FALSE(o.bucket.empty());
  if (o.anonymous) GTEST_SKIP() << "no credentials configured";
  o.secret_access_key = "NotTheSecret-e3b0c44298fc1c149afb";
  o.conditional_writes = false;
  auto store = S3Store::Open(o);
  ASSERT_TRUE(store.ok()) << store.status();  // HEAD bucket: 403 is not fatal at open
  auto got = (*store)->get("some/key");
  EXPECT_TRUE(got.status().IsPermissionDenied()) << got.status();
  EXPECT_NE(got.status().message().find("some/key"), std::string::npos) << got.status();
  EXPECT_NE(got.status().message().find(o.bucket), std::string::npos) << got.status();
  zarrpp::Status put = (*store)->set("some/key", Bytes{1});
  EXPECT_TRUE(put.IsPermissionDenied()) << put;
  const std::string real_secret = FreshS3Options("x").secret_access_key;
  for (const std::string& text : {got.status().message(), put.message(), (*store)->description()}) {
    EXPECT_EQ(text.find(o.secret_access_key), std::string::npos) << text;
    if (!real_secret.empty()) {
      EXPECT_EQ(text.find(real_secret), std::string::npos) << text;
    }
  }
}

TEST(S3Store, MissingBucketIsNotFound) {
  ZARRPP_S3_TEST_OR_SKIP();
  S3StoreOptions o = FreshS3Options("nobucket");
  ASSERT_FALSE(o.bucket.empty());
  o.bucket += "-missing";
  auto store = S3Store::Open(o);
  EXPECT_TRUE(store.status().IsNotFound()) << store.status();
  o.verify_bucket = false;
  o.conditional_writes = false;
  auto lazy = S3Store::Open(o);
  ASSERT_TRUE(lazy.ok()) << lazy.status();
  auto got = (*lazy)->get("k");
  EXPECT_TRUE(got.status().IsNotFound()) << got.status();
  auto listed = (*lazy)->list();
  EXPECT_TRUE(listed.status().IsNotFound()) << listed.status();
}

TEST(S3Store, OpenUrlReachesTheSameObjects) {
  ZARRPP_S3_TEST_OR_SKIP();
  S3StoreOptions o = FreshS3Options("url");
  ASSERT_FALSE(o.bucket.empty());
  auto store = S3Store::Open(o);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->set("a/b", Pattern(5, 5)).ok());
  setenv("AWS_ACCESS_KEY_ID", o.access_key_id.c_str(), 1);
  setenv("AWS_SECRET_ACCESS_KEY", o.secret_access_key.c_str(), 1);
  const std::string url = "s3://" + o.bucket + "/" + o.prefix + "?endpoint=" + o.endpoint +
                          "&region=" + o.region + "&addressing=path";
  auto by_url = S3Store::OpenUrl(url);
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  ASSERT_TRUE(by_url.ok()) << by_url.status();
  auto got = (*by_url)->get("a/b");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, Pattern(5, 5));
}

// Sharded arrays on S3 take the read-modify-write path of a shard (no set_range, no locks),
// conditioned on the ETag read. Writers on separate handles updating disjoint regions that share
// shards must lose nothing.
TEST(S3Store, DisjointWritersOnSeparateHandlesLoseNothingInSharedShards) {
  ZARRPP_S3_TEST_OR_SKIP();
  S3StoreOptions o = FreshS3Options("disjoint");
  ASSERT_FALSE(o.bucket.empty());
  auto probe = S3Store::Open(o);
  ASSERT_TRUE(probe.ok()) << probe.status();
  if (!(*probe)->capabilities().conditional_writes)
    GTEST_SKIP() << "several writers of one shard need conditional writes on this endpoint";
  using namespace zarrpp::test_support;
  DisjointPlan plan;
  plan.shape = {32, 48};
  plan.writers = 3;
  plan.writes_per_writer = 25;
  plan.seed = 5;
  for (const DisjointLayout& layout : DisjointLayouts()) {
    SCOPED_TRACE(layout.name);
    zarrpp::CreateOptions create;
    create.overwrite = true;
    ASSERT_TRUE(
        zarrpp::Array::Create(*probe, layout.name, DisjointMetadata(plan, layout), create).ok());
    std::vector<std::thread> threads;
    for (uint32_t w = 0; w < plan.writers; ++w) {
      threads.emplace_back([&, w] {
        auto handle = S3Store::Open(o);
        ASSERT_TRUE(handle.ok()) << handle.status();
        auto a = zarrpp::Array::Open(*handle, layout.name);
        ASSERT_TRUE(a.ok()) << a.status();
        zarrpp::Status s = RunDisjointWriter(**a, plan, w);
        EXPECT_TRUE(s.ok()) << s;
      });
    }
    for (auto& t : threads) t.join();
    auto a = zarrpp::Array::Open(*probe, layout.name);
    ASSERT_TRUE(a.ok()) << a.status();
    std::vector<uint64_t> got(plan.elements());
    zarrpp::Status s = (*a)->Read(zarrpp::Region::All(plan.shape), std::span<uint64_t>(got));
    ASSERT_TRUE(s.ok()) << s;
    const DisjointCheck c = CheckDisjoint(plan, got, DisjointExpected(plan));
    EXPECT_EQ(c.lost, 0u);
    EXPECT_EQ(c.wrong, 0u);
  }
}

// --- Faults: a proxy of our own between the store and the server (tests/s3/fault_proxy.py) ---

namespace fault {

// The fault proxy, started for one test and stopped (by pid) when destroyed.
class Proxy {
 public:
  // Empty reason: running on port(). Otherwise why it could not start.
  Proxy(const std::vector<std::string>& args) {
    const char* endpoint = std::getenv("ZARRPP_S3_ENDPOINT");
    std::string up = endpoint ? endpoint : "";
    if (!up.starts_with("http://")) {
      reason_ = "the fault proxy speaks plain HTTP; ZARRPP_S3_ENDPOINT is '" + up + "'";
      return;
    }
    up = up.substr(7);
    while (!up.empty() && up.back() == '/') up.pop_back();
    if (access(ZARRPP_FAULT_PROXY, R_OK) != 0 || access("/usr/bin/python3", X_OK) != 0) {
      reason_ = "/usr/bin/python3 or " + std::string(ZARRPP_FAULT_PROXY) + " is missing";
      return;
    }
    int out[2];
    if (pipe(out) != 0) {
      reason_ = "pipe failed";
      return;
    }
    std::vector<std::string> argv_s = {"/usr/bin/python3", ZARRPP_FAULT_PROXY, "--upstream", up};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    const int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    if (rc != 0) {
      close(out[0]);
      pid_ = 0;
      reason_ = "could not start the fault proxy";
      return;
    }
    std::string line;
    char c;
    while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
    close(out[0]);
    if (!line.starts_with("PORT ")) {
      reason_ = "the fault proxy did not report its port: '" + line + "'";
      return;
    }
    port_ = std::stoi(line.substr(5));
  }
  ~Proxy() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  const std::string& reason() const { return reason_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // {"requests": n, "faults": n}
  std::pair<int, int> Stats() const {
    zarrpp::http::TransportOptions t;
    auto transport = zarrpp::http::CurlTransport::Create(t);
    if (!transport.ok()) return {-1, -1};
    zarrpp::http::Request req;
    req.url = endpoint() + "/__fault/stats";
    zarrpp::http::Response r = (*transport)->Perform(std::move(req));
    std::string body(r.body.begin(), r.body.end());
    auto num = [&](const std::string& name) {
      size_t at = body.find("\"" + name + "\": ");
      return at == std::string::npos ? -1 : std::stoi(body.substr(at + name.size() + 4));
    };
    return {num("requests"), num("faults")};
  }

 private:
  pid_t pid_ = 0;
  int port_ = 0;
  std::string reason_;
};

// The same bucket and prefix as `direct`, reached through the proxy.
S3StoreOptions Through(const Proxy& proxy, S3StoreOptions direct) {
  direct.endpoint = proxy.endpoint();
  direct.conditional_writes = false;  // no probe requests through the proxy
  direct.verify_bucket = false;
  direct.retry_base_delay = std::chrono::milliseconds(5);
  direct.retry_max_delay = std::chrono::milliseconds(50);
  return direct;
}

#define START_PROXY(proxy, ...)                                \
  ZARRPP_S3_TEST_OR_SKIP();                                    \
  Proxy proxy(std::vector<std::string>{__VA_ARGS__});          \
  if (!proxy.reason().empty()) GTEST_SKIP() << proxy.reason(); \
  S3StoreOptions direct_options = FreshS3Options("fault");     \
  ASSERT_FALSE(direct_options.bucket.empty());                 \
  auto direct_opened = S3Store::Open(direct_options);          \
  ASSERT_TRUE(direct_opened.ok()) << direct_opened.status();   \
  std::shared_ptr<S3Store> direct = *direct_opened

std::shared_ptr<S3Store> OpenThrough(const Proxy& proxy, const S3StoreOptions& direct,
                                     int max_retries = 8,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  S3StoreOptions o = Through(proxy, direct);
  o.max_retries = max_retries;
  o.request_timeout = timeout;
  auto s = S3Store::Open(o);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : nullptr;
}

TEST(S3Faults, ConnectionResetsAreRetriedAndReadsReturnTheRightBytes) {
  START_PROXY(proxy, "--mode", "reset", "--count", "3", "--match", "GET");
  const Bytes v = Pattern(200000, 3);
  ASSERT_TRUE(direct->set("k", v).ok());
  auto store = OpenThrough(proxy, direct_options);
  ASSERT_NE(store, nullptr);
  auto got = store->get("k");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_TRUE(**got == v);
  auto ranged = store->get("k", ByteRange::Suffix(1000));
  ASSERT_TRUE(ranged.ok()) << ranged.status();
  EXPECT_TRUE(**ranged == Bytes(v.end() - 1000, v.end()));
  EXPECT_EQ(proxy.Stats().second, 3);
}

TEST(S3Faults, SlowDownBurstsAreRetriedForReadsAndWrites) {
  START_PROXY(proxy, "--mode", "slowdown", "--count", "6");
  auto store = OpenThrough(proxy, direct_options);
  ASSERT_NE(store, nullptr);
  const Bytes v = Pattern(5000, 4);
  ASSERT_TRUE(store->set("k", v).ok());
  auto got = store->get("k", ByteRange::Bounded(100, 200));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(**got == Bytes(v.begin() + 100, v.begin() + 200));
  EXPECT_EQ(proxy.Stats().second, 6);
}

TEST(S3Faults, SlowDownBeyondTheRetriesIsAnIOErrorNamingTheStatus) {
  START_PROXY(proxy, "--mode", "slowdown", "--count", "1000");
  auto store = OpenThrough(proxy, direct_options, 2);
  ASSERT_NE(store, nullptr);
  auto got = store->get("k");
  ASSERT_TRUE(got.status().IsIOError()) << got.status();
  EXPECT_NE(got.status().message().find("503"), std::string::npos) << got.status();
  EXPECT_NE(got.status().message().find("SlowDown"), std::string::npos) << got.status();
  EXPECT_EQ(proxy.Stats().first, 3);  // the first attempt and two retries
}

TEST(S3Faults, ClientErrorsAreNotRetried) {
  START_PROXY(proxy, "--mode", "status", "--status", "400", "--count", "1000");
  auto store = OpenThrough(proxy, direct_options);
  ASSERT_NE(store, nullptr);
  auto got = store->get("k");
  ASSERT_TRUE(got.status().IsIOError()) << got.status();
  EXPECT_NE(got.status().message().find("400"), std::string::npos) << got.status();
  EXPECT_EQ(proxy.Stats().first, 1);
}

TEST(S3Faults, TruncatedBodiesAreRetriedAndNeverReturnedShort) {
  START_PROXY(proxy, "--mode", "truncate", "--count", "4", "--match", "GET");
  const Bytes v = Pattern(300000, 5);
  ASSERT_TRUE(direct->set("k", v).ok());
  auto store = OpenThrough(proxy, direct_options);
  ASSERT_NE(store, nullptr);
  auto whole = store->get("k");
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_TRUE(**whole == v);
  std::vector<zarrpp::KeyRange> ranges;
  for (int i = 0; i < 6; ++i)
    ranges.push_back({"k", ByteRange::Bounded(i * 1000, i * 1000 + 5000)});
  auto many = store->get_ranges(ranges);
  ASSERT_TRUE(many.ok()) << many.status();
  for (int i = 0; i < 6; ++i)
    EXPECT_TRUE(*(*many)[i] == Bytes(v.begin() + i * 1000, v.begin() + i * 1000 + 5000));
  EXPECT_EQ(proxy.Stats().second, 4);
}

TEST(S3Faults, TruncationBeyondTheRetriesIsAnError) {
  START_PROXY(proxy, "--mode", "truncate", "--count", "1000", "--match", "GET");
  const Bytes v = Pattern(100000, 6);
  ASSERT_TRUE(direct->set("k", v).ok());
  auto store = OpenThrough(proxy, direct_options, 2);
  ASSERT_NE(store, nullptr);
  Bytes out;
  auto got = store->get_into("k", ByteRange::FromOffset(10), out);
  ASSERT_TRUE(got.status().IsIOError()) << got.status();
  EXPECT_NE(got.status().message().find("'k'"), std::string::npos) << got.status();
}

TEST(S3Faults, SlowResponsesTimeOutAndAreRetried) {
  START_PROXY(proxy, "--mode", "slow", "--delay-ms", "3000", "--count", "2", "--match", "GET");
  const Bytes v = Pattern(1000, 7);
  ASSERT_TRUE(direct->set("k", v).ok());
  auto store = OpenThrough(proxy, direct_options, 8, std::chrono::milliseconds(500));
  ASSERT_NE(store, nullptr);
  const auto t0 = std::chrono::steady_clock::now();
  auto got = store->get("k");
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(**got == v);
  EXPECT_LT(took, std::chrono::milliseconds(2500));  // not waiting for the slow answers
  EXPECT_EQ(proxy.Stats().second, 2);
}

TEST(S3Faults, TimeoutsBeyondTheRetriesAreAnIOError) {
  START_PROXY(proxy, "--mode", "slow", "--delay-ms", "2000", "--count", "1000");
  auto store = OpenThrough(proxy, direct_options, 1, std::chrono::milliseconds(300));
  ASSERT_NE(store, nullptr);
  auto got = store->get("k");
  ASSERT_TRUE(got.status().IsIOError()) << got.status();
  EXPECT_NE(got.status().message().find("2 attempts"), std::string::npos) << got.status();
}

TEST(S3Faults, APutCutMidBodyLeavesTheOldValue) {
  START_PROXY(proxy, "--mode", "cut_upload", "--count", "1000", "--match", "PUT");
  const Bytes old_value = Pattern(400000, 8), new_value = Pattern(400000, 9);
  ASSERT_TRUE(direct->set("k", old_value).ok());
  auto store = OpenThrough(proxy, direct_options, 2);
  ASSERT_NE(store, nullptr);
  zarrpp::Status s = store->set("k", new_value);
  EXPECT_TRUE(s.IsIOError()) << s;
  auto got = direct->get("k");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_TRUE(**got == old_value);
  EXPECT_EQ(proxy.Stats().second, 3);
}

TEST(S3Faults, APutCutOnceIsRetriedWhole) {
  START_PROXY(proxy, "--mode", "cut_upload", "--count", "1", "--match", "PUT");
  const Bytes old_value = Pattern(400000, 8), new_value = Pattern(400000, 9);
  ASSERT_TRUE(direct->set("k", old_value).ok());
  auto store = OpenThrough(proxy, direct_options);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->set("k", new_value).ok());
  auto got = direct->get("k");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(**got == new_value);
  EXPECT_EQ(proxy.Stats().second, 1);
}

// Incomplete multipart uploads under the prefix of `o` (ListMultipartUploads), or -1.
int PendingUploads(const S3StoreOptions& o) {
  auto transport = zarrpp::http::CurlTransport::Create({});
  if (!transport.ok()) return -1;
  zarrpp::http::Request req;
  req.url = o.endpoint + "/" + o.bucket + "?prefix=" + o.prefix.substr(0, o.prefix.size() - 1) +
            "%2F&uploads=";
  req.aws_sigv4 = "aws:amz:" + o.region + ":s3";
  req.user = o.access_key_id;
  req.password = o.secret_access_key;
  req.headers.push_back("x-amz-content-sha256: UNSIGNED-PAYLOAD");
  zarrpp::http::Response r = (*transport)->Perform(std::move(req));
  if (r.status != 200) return -1;
  std::string body(r.body.begin(), r.body.end());
  int n = 0;
  for (size_t at = body.find("<Upload>"); at != std::string::npos;
       at = body.find("<Upload>", at + 1))
    ++n;
  return n;
}

TEST(S3Faults, AFailedMultipartUploadIsAbortedAndLeavesTheOldValue) {
  START_PROXY(proxy, "--mode", "cut_upload", "--count", "1000", "--match", "PUT");
  const Bytes old_value = Pattern(1000, 1);
  ASSERT_TRUE(direct->set("big", old_value).ok());
  S3StoreOptions o = Through(proxy, direct_options);
  o.max_retries = 1;
  o.multipart_threshold = 6 << 20;
  o.multipart_part_size = 5 << 20;
  auto store = S3Store::Open(o);
  ASSERT_TRUE(store.ok()) << store.status();
  zarrpp::Status s = (*store)->set("big", Pattern(12 << 20, 2));
  EXPECT_TRUE(s.IsIOError()) << s;
  EXPECT_GE(proxy.Stats().second, 2);
  auto got = direct->get("big");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(**got == old_value);
  EXPECT_EQ(PendingUploads(direct_options), 0);
}

TEST(S3Faults, AsyncOperationsGiveTheServersErrors) {
  START_PROXY(proxy, "--mode", "status", "--status", "500", "--count", "100000", "--match", "ANY");
  auto store = OpenThrough(proxy, direct_options, /*max_retries=*/0);
  ASSERT_NE(store, nullptr);
  test_support::Latch latch(3);
  Bytes out;
  Result<bool> read = true;
  Status written, erased;
  store->get_async("k", ByteRange::Whole(), out, [&](Result<bool> f) {
    read = std::move(f);
    latch.Done();
  });
  const Bytes v = Pattern(100, 1);
  const ByteView view(v);
  store->set_async("k", std::span<const ByteView>(&view, 1), [&](Status s) {
    written = std::move(s);
    latch.Done();
  });
  store->erase_async("k", [&](Status s) {
    erased = std::move(s);
    latch.Done();
  });
  ASSERT_TRUE(latch.Wait());
  for (const Status& s : {read.status(), written, erased}) {
    EXPECT_TRUE(s.IsIOError()) << s;
    EXPECT_NE(s.message().find("500"), std::string::npos) << s;
    EXPECT_NE(s.message().find("'k'"), std::string::npos) << s;
  }
}

}  // namespace fault

// --- Completion-based operations (Store::get_async, set_async, erase_async) ------------------

TEST(S3Async, PositionValuesRoundTripWithManyInFlight) {
  auto store = FreshS3Store("async");
  if (!store) return;
  EXPECT_TRUE(store->capabilities().async_io);
  test_support::AsyncRoundTrip(*store, 600);
}

TEST(S3Async, RangesPastTheEndAndEmptyRangesAnswerAsTheSynchronousRead) {
  auto store = FreshS3Store("async-ranges");
  if (!store) return;
  const Bytes v = Pattern(1000, 4);
  ASSERT_TRUE(store->set("k", v).ok());
  struct Case {
    ByteRange range;
  };
  for (const ByteRange& r :
       {ByteRange::FromOffset(1000), ByteRange::Bounded(5, 5), ByteRange::Suffix(0),
        ByteRange::Suffix(5000), ByteRange::Bounded(990, 1010), ByteRange::FromOffset(1001)}) {
    Bytes sync_out, async_out;
    Result<bool> sync = store->get_into("k", r, sync_out);
    test_support::Latch latch(1);
    Result<bool> async = false;
    store->get_async("k", r, async_out, [&](Result<bool> f) {
      async = std::move(f);
      latch.Done();
    });
    ASSERT_TRUE(latch.Wait());
    ASSERT_EQ(sync.ok(), async.ok())
        << r.ToString() << ": " << sync.status() << " / " << async.status();
    if (sync.ok()) {
      EXPECT_EQ(*sync, *async) << r.ToString();
      EXPECT_EQ(sync_out, async_out) << r.ToString();
    } else {
      EXPECT_EQ(sync.status().code(), async.status().code()) << r.ToString();
    }
  }
}

// get_within and get_within_async place the body in the pieces as it arrives; a value larger
// than the pieces is not read (the transfer ends early) and the next request is unaffected.
TEST(S3Async, GetWithinPlacesValuesInThePieces) {
  auto store = FreshS3Store("async-within");
  if (!store) return;
  for (size_t size : {0, 1, 1000, 3 << 20}) test_support::WithinChecks(*store, size);
}

// Destroying the store with hundreds of operations in flight completes every one (done or
// cancelled) before the destructor returns.
TEST(S3Async, DestroyingTheStoreWithOperationsPendingCompletesThem) {
  S3StoreOptions o = FreshS3Options("async-destroy");
  if (o.bucket.empty()) GTEST_SKIP() << S3SkipReason();
  auto opened = S3Store::Open(o);
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::shared_ptr<S3Store> store = std::move(*opened);
  const Bytes v = Pattern(50000, 6);
  ASSERT_TRUE(store->set("k", v).ok());
  constexpr size_t kN = 400;
  std::vector<Bytes> out(kN);
  std::atomic<size_t> calls{0}, right{0}, cancelled{0};
  for (size_t i = 0; i < kN; ++i) {
    store->get_async("k", ByteRange::Whole(), out[i], [&, i](Result<bool> f) {
      if (f.ok() && *f && out[i] == v) right.fetch_add(1);
      if (!f.ok() && f.status().message().find("stopped") != std::string::npos)
        cancelled.fetch_add(1);
      calls.fetch_add(1);
    });
  }
  store.reset();  // the last reference: the store is destroyed here
  EXPECT_EQ(calls.load(), kN);
  EXPECT_EQ(right.load() + cancelled.load(), kN);
}

// A 1,024-chunk read and write at 256 in flight runs with at most 2 x cores + 8 threads.
TEST(S3Async, ArrayOfManyChunksWithBoundedThreads) {
  auto store = FreshS3Store("async-array");
  if (!store) return;
  constexpr uint64_t kChunks = 1024, kElems = 256;
  ArrayMetadata m;
  m.shape = {kChunks * kElems};
  m.chunk_shape = {kElems};
  m.data_type = DataType(DataTypeId::kUInt32);
  m.fill_value = FillValue::Zero(m.data_type);
  m.codecs = Json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
                          {{"name", "zstd"}, {"configuration", {{"level", 1}}}}});
  ArrayOptions opts;
  opts.io_concurrency = 256;
  auto a = Array::Create(store, "a", m, {}, opts);
  ASSERT_TRUE(a.ok()) << a.status();
  std::vector<uint32_t> data(kChunks * kElems);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint32_t>(i * 2654435761u + 1);
  const Region all = Region::All(m.shape);
  {
    test_support::ThreadSampler threads;
    ASSERT_TRUE((*a)->Write(all, std::span<const uint32_t>(data)).ok());
    threads.Stop();
    EXPECT_LE(threads.max(), test_support::ThreadBound()) << "threads during the write";
  }
  std::vector<uint32_t> out(data.size());
  {
    test_support::ThreadSampler threads;
    ASSERT_TRUE((*a)->Read(all, std::span<uint32_t>(out)).ok());
    threads.Stop();
    EXPECT_LE(threads.max(), test_support::ThreadBound()) << "threads during the read";
  }
  EXPECT_TRUE(out == data);
}

}  // namespace
