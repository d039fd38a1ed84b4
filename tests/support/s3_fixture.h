// tests/support/s3_fixture.h - S3 test stores against the server named by the environment.
//
//   ZARRPP_S3_ENDPOINT       e.g. http://127.0.0.1:7480 (unset: every S3 test skips, saying so)
//   ZARRPP_S3_ACCESS_KEY     ZARRPP_S3_SECRET_KEY     ZARRPP_S3_REGION (default us-east-1)
//   ZARRPP_S3_BUCKET_PREFIX  prefix of the bucket created for one run (default "zarrpp-test-")
//
// One bucket is created per test binary run (a unique name); every store handed out lives
// under a fresh key prefix of it. Tests start with ZARRPP_S3_TEST_OR_SKIP() (or get their
// store from FreshS3Store(), which skips). S3Environment (registered by each S3 test binary)
// deletes the bucket with its content at the end.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "zarrpp/s3_store.h"

// Skips the current test, printing why, when no S3 endpoint is configured.
#define ZARRPP_S3_TEST_OR_SKIP()                                                         \
  do {                                                                                   \
    if (const std::string reason_ = ::zarrpp::testing::S3SkipReason(); !reason_.empty()) \
      GTEST_SKIP() << reason_;                                                           \
  } while (0)

namespace zarrpp::testing {

// Options for the run's bucket (prefix empty), or nullopt when ZARRPP_S3_ENDPOINT is unset.
std::optional<S3StoreOptions> S3BaseOptions();
// Why S3 tests cannot run here ("" when they can).
std::string S3SkipReason();
// Options for a fresh, empty prefix of the run's bucket ("<tag>-<n>-<random>/").
S3StoreOptions FreshS3Options(const std::string& tag);
// An S3Store on a fresh prefix: null with a test failure when it cannot be opened, null with
// the test skipped (the reason printed) when no endpoint is configured.
std::shared_ptr<S3Store> FreshS3Store(const std::string& tag);

class S3Environment : public ::testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override;
};

}  // namespace zarrpp::testing
