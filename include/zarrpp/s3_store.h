// zarrpp/s3_store.h - a Store over an S3 bucket (AWS S3, Ceph RGW, any S3-compatible server).
//
// The key "a/b/c" is the object "<prefix>a/b/c" of the bucket. Requests are signed with SigV4
// (libcurl's signer) or sent anonymously; many requests are in flight at once through one
// event loop (libcurl multi interface) rather than one thread each.
//
// Capabilities: readable, writable, erasable, listable, partial_reads (ranged GET), atomic_set
// (a PUT replaces an object whole), generations (the ETag), conditional_writes when the
// endpoint honours If-None-Match / If-Match on PUT (detected per endpoint, or forced by
// S3StoreOptions::conditional_writes), never set_range or key_locks (S3 cannot patch bytes or
// lock), io_concurrency = S3StoreOptions::max_in_flight.
//
// Errors: 404 is "missing"; 403 is PermissionDenied naming bucket and key; other failures are
// IOError with the HTTP status and the S3 error code. Connection errors, timeouts, 408, 429, 500,
// 502, 503 and 504 are retried with capped exponential backoff and jitter; no other 4xx is.
// A body shorter than asked for is an error, never a short value. Secrets never appear in
// description(), error messages or logs.
//
// Thread safety: safe for concurrent calls from any number of threads; concurrent handles and
// processes see what S3 gives (spec/stores.md: read-after-write per object, last writer wins
// unless writes are conditioned).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "zarrpp/store.h"

namespace zarrpp {

struct S3StoreOptions {
  // "http://127.0.0.1:7480", "https://s3.eu-west-1.amazonaws.com". Empty: AWS_ENDPOINT_URL_S3,
  // then AWS_ENDPOINT_URL, then https://s3.<region>.amazonaws.com.
  std::string endpoint;
  // Empty: AWS_REGION, then AWS_DEFAULT_REGION, then "us-east-1".
  std::string region;
  std::string bucket;
  // Key prefix inside the bucket: "" or ending with "/" (a missing "/" is added).
  std::string prefix;
  enum class Addressing { kAuto, kPath, kVirtual };
  // kAuto: path-style for custom endpoints, virtual-hosted for amazonaws.com.
  Addressing addressing = Addressing::kAuto;
  // Credentials. When access_key_id is empty and anonymous is false, they come from
  // AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, then from the profile
  // (`profile`, else AWS_PROFILE, else "default") of AWS_SHARED_CREDENTIALS_FILE or
  // ~/.aws/credentials. No credentials found: anonymous.
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  std::string profile;
  bool anonymous = false;
  // Requests in flight at once (the event loop's limit and capabilities().io_concurrency).
  size_t max_in_flight = 64;
  // Per-request timeout (whole transfer) and connection timeout.
  std::chrono::milliseconds request_timeout{60'000};
  std::chrono::milliseconds connect_timeout{10'000};
  // Retries of a retryable failure after the first attempt; backoff starts at
  // retry_base_delay, doubles, is capped at retry_max_delay, with full jitter.
  int max_retries = 8;
  std::chrono::milliseconds retry_base_delay{50};
  std::chrono::milliseconds retry_max_delay{5'000};
  // Values at or above this size go up as a multipart upload (aborted on failure).
  uint64_t multipart_threshold = 64ull << 20;
  uint64_t multipart_part_size = 16ull << 20;
  // Conditional PUTs (If-None-Match: *, If-Match). nullopt: detected on first use by writing
  // and deleting a reserved key "<prefix>.zarrpp-probe-<random>" (hidden from listings).
  std::optional<bool> conditional_writes;
  // Open() sends one HEAD to the bucket: a missing bucket is NotFound there rather than every
  // key reading as missing. A 403 on it is not an error (object access may still be granted).
  bool verify_bucket = true;
};

class S3Store : public Store {
 public:
  // Opens the store. Does not create the bucket; a missing bucket is NotFound here (when
  // verify_bucket) or at the first request that can tell (GET, list).
  static Result<std::shared_ptr<S3Store>> Open(S3StoreOptions options);
  // "s3://bucket/prefix?endpoint=...&region=...&addressing=path|virtual&profile=..."; query
  // parameters override the environment.
  static Result<std::shared_ptr<S3Store>> OpenUrl(std::string_view url);
  // Creates the bucket (idempotent: an existing bucket owned by the caller is not an error).
  static Status CreateBucket(const S3StoreOptions& options);
  // Deletes the bucket, which must be empty; a missing bucket is not an error.
  static Status DeleteBucket(const S3StoreOptions& options);
};

}  // namespace zarrpp
