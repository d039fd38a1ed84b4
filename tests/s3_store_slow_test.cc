// S3Store listing at scale (labels s3 and slow): 100,000 keys written with many requests in
// flight, listed back through ListObjectsV2 continuation pages, then erased in DeleteObjects
// batches. Skips, saying why, when ZARRPP_S3_ENDPOINT is unset.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>
#include <vector>

#include "support/s3_fixture.h"
#include "zarrpp/s3_store.h"

namespace {

const auto* const g_env = ::testing::AddGlobalTestEnvironment(new zarrpp::testing::S3Environment);

std::string KeyOf(int i) {
  return "k/" + std::to_string(i % 100) + "/" + std::to_string(i);
}

TEST(S3StoreSlow, HundredThousandKeysListAndErase) {
  ZARRPP_S3_TEST_OR_SKIP();
  zarrpp::S3StoreOptions o = zarrpp::testing::FreshS3Options("100k");
  ASSERT_FALSE(o.bucket.empty());
  o.max_in_flight = 128;
  auto opened = zarrpp::S3Store::Open(o);
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::shared_ptr<zarrpp::S3Store> store = *opened;
  constexpr int kKeys = 100'000;
  const auto t0 = std::chrono::steady_clock::now();
  std::atomic<int> next{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 96; ++t) {
    threads.emplace_back([&] {
      const zarrpp::Bytes v = {7};
      for (int i = next++; i < kKeys; i = next++) {
        if (!store->set(KeyOf(i), v).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
  const auto t1 = std::chrono::steady_clock::now();
  auto listed = store->list_prefix("k/");
  ASSERT_TRUE(listed.ok()) << listed.status();
  const auto t2 = std::chrono::steady_clock::now();
  std::vector<std::string> want;
  for (int i = 0; i < kKeys; ++i) want.push_back(KeyOf(i));
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*listed, want);
  auto dir = store->list_dir("k/");
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(dir->prefixes.size(), 100u);
  EXPECT_TRUE(dir->keys.empty());
  ASSERT_TRUE(store->erase_prefix("").ok());
  const auto t3 = std::chrono::steady_clock::now();
  auto after = store->list();
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->empty());
  auto s = [](auto d) { return std::chrono::duration<double>(d).count(); };
  std::cout << "100,000 keys: write " << s(t1 - t0) << " s, list " << s(t2 - t1)
            << " s, erase_prefix " << s(t3 - t2) << " s\n";
}

}  // namespace
