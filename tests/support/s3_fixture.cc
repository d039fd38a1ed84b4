// tests/support/s3_fixture.cc - the per-run bucket and fresh prefixes for S3 tests.
#include "support/s3_fixture.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <random>

namespace zarrpp::testing {

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string RunId() {
  static const std::string id = [] {
    std::random_device rd;
    std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                        static_cast<uint64_t>(getpid()));
    const char* hex = "0123456789abcdef";
    std::string s;
    for (int i = 0; i < 12; ++i) s += hex[rng() & 15];
    return s;
  }();
  return id;
}

std::atomic<int> g_counter{0};
std::once_flag g_bucket_once;
Status g_bucket_status;

}  // namespace

std::string S3SkipReason() {
  if (Env("ZARRPP_S3_ENDPOINT").empty()) {
    return "ZARRPP_S3_ENDPOINT is not set: no S3 server to test against (set it, with "
           "ZARRPP_S3_ACCESS_KEY, ZARRPP_S3_SECRET_KEY and ZARRPP_S3_REGION, e.g. to a Ceph RGW "
           "on http://127.0.0.1:7480)";
  }
  return "";
}

std::optional<S3StoreOptions> S3BaseOptions() {
  if (!S3SkipReason().empty()) return std::nullopt;
  S3StoreOptions o;
  o.endpoint = Env("ZARRPP_S3_ENDPOINT");
  o.region = Env("ZARRPP_S3_REGION");
  if (o.region.empty()) o.region = "us-east-1";
  o.access_key_id = Env("ZARRPP_S3_ACCESS_KEY");
  o.secret_access_key = Env("ZARRPP_S3_SECRET_KEY");
  o.anonymous = o.access_key_id.empty();
  o.addressing = S3StoreOptions::Addressing::kPath;
  std::string prefix = Env("ZARRPP_S3_BUCKET_PREFIX");
  if (prefix.empty()) prefix = "zarrpp-test-";
  o.bucket = prefix + RunId();
  return o;
}

S3StoreOptions FreshS3Options(const std::string& tag) {
  std::optional<S3StoreOptions> base = S3BaseOptions();
  if (!base) return {};
  std::call_once(g_bucket_once, [&] { g_bucket_status = S3Store::CreateBucket(*base); });
  EXPECT_TRUE(g_bucket_status.ok()) << g_bucket_status;
  S3StoreOptions o = *base;
  o.prefix = tag + "-" + std::to_string(g_counter++) + "/";
  return o;
}

namespace {
void Skip(const std::string& reason) {
  GTEST_SKIP() << reason;
}
}  // namespace

std::shared_ptr<S3Store> FreshS3Store(const std::string& tag) {
  if (const std::string reason = S3SkipReason(); !reason.empty()) {
    Skip(reason);
    return nullptr;
  }
  S3StoreOptions o = FreshS3Options(tag);
  auto store = S3Store::Open(o);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *store : nullptr;
}

void S3Environment::SetUp() {
  const std::string reason = S3SkipReason();
  if (!reason.empty()) std::cout << "Every S3 test skips: " << reason << "\n";
}

void S3Environment::TearDown() {
  std::optional<S3StoreOptions> base = S3BaseOptions();
  if (!base) return;
  bool created = false;
  std::call_once(g_bucket_once, [&] { g_bucket_status = Status::NotFound("never created"); });
  created = g_bucket_status.ok();
  if (!created) return;
  S3StoreOptions o = *base;
  o.conditional_writes = false;
  auto store = S3Store::Open(o);
  if (!store.ok()) return;
  Status erased = (*store)->erase_prefix("");
  if (!erased.ok()) {
    std::cerr << "could not empty the test bucket " << o.bucket << ": " << erased << "\n";
    return;
  }
  Status deleted = S3Store::DeleteBucket(o);
  if (!deleted.ok())
    std::cerr << "could not delete the test bucket " << o.bucket << ": " << deleted << "\n";
}

}  // namespace zarrpp::testing
