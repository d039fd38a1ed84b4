// Workload W1 at full size (8192 x 8192 float32, chunks 256 x 1024, blosc-lz4: 256 MiB, 256
// chunks) written to and read back from the S3 server that ZARRPP_S3_ENDPOINT names; the
// digest must be the published one (src/tools/workloads.h). Labels s3 and slow.
#include <gtest/gtest.h>

#include <cstring>

#include "src/tools/workloads.h"
#include "support/s3_fixture.h"
#include "zarrpp/array.h"
#include "zarrpp/digest.h"
#include "zarrpp/executor.h"

namespace {
const auto* const g_env = ::testing::AddGlobalTestEnvironment(new zarrpp::testing::S3Environment);
}  // namespace

namespace zarrpp {
namespace {

TEST(S3W1, FullSizeRoundTripHasThePublishedDigest) {
  auto s3 = testing::FreshS3Store("w1full");
  if (!s3) return;
  const uint64_t rows = workloads::kW1Rows, cols = workloads::kW1Cols;
  std::vector<float> data(rows * cols);
  workloads::GenerateW1(data.data(), rows, cols, *DefaultExecutor());
  auto a = Array::Create(s3, "w1", workloads::W1Metadata("blosc-lz4"));
  ASSERT_TRUE(a.ok()) << a.status();
  Status w = (*a)->Write(Region::All({rows, cols}), std::span<const float>(data));
  ASSERT_TRUE(w.ok()) << w;
  auto b = Array::Open(s3, "w1");
  ASSERT_TRUE(b.ok()) << b.status();
  std::vector<float> back(rows * cols);
  Status r = (*b)->Read(Region::All({rows, cols}), std::span<float>(back));
  ASSERT_TRUE(r.ok()) << r;
  EXPECT_EQ(std::memcmp(data.data(), back.data(), data.size() * sizeof(float)), 0);
  auto digest = ArrayDigest(**b);
  ASSERT_TRUE(digest.ok()) << digest.status();
  EXPECT_EQ(*digest, workloads::kW1Sha256);
  auto keys = s3->list_prefix("w1/c/");
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(keys->size(), 256u);
  // Leave the shared server's memory as it was.
  EXPECT_TRUE(s3->erase_prefix("").ok());
}

}  // namespace
}  // namespace zarrpp
