// stores/http/curl_transport.h - HTTP requests driven by one libcurl multi event loop.
//
// A CurlTransport owns one thread running a libcurl multi handle. Callers on any thread hand it
// a batch of requests and block until every one of them has completed; the loop keeps up to
// max_in_flight transfers running at once (across all callers), reuses connections through
// the multi handle's connection cache, and retries what is worth retrying:
//   - transport failures (connection refused or reset, timeouts, a body cut short),
//   - statuses 408, 429, 500, 502, 503 and 504,
//   - a response that a request's `check` rejects (e.g. a ranged body that does not match the
//     range asked for),
// with capped exponential backoff and full jitter (delay uniform in [0, min(max, base * 2^n))).
// No other status is retried; the caller maps it.
//
// Integrity: a body shorter (or longer) than its Content-Length is a transport failure, never a
// short success.
//
// Thread safety: Perform() and Submit() may be called from any number of threads at once.
// Requests and the bodies they point to must stay alive until Perform() returns, or until
// Submit()'s callback has been called.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "zarrpp/bytes.h"
#include "zarrpp/status.h"

namespace zarrpp::http {

struct TransportOptions {
  size_t max_in_flight = 64;
  std::chrono::milliseconds request_timeout{60'000};
  std::chrono::milliseconds connect_timeout{10'000};
  int max_retries = 8;
  std::chrono::milliseconds retry_base_delay{50};
  std::chrono::milliseconds retry_max_delay{5'000};
};

struct Response {
  long status = 0;  // HTTP status; 0 when no response arrived
  // Header names lower-cased; the last value of a repeated header wins.
  std::map<std::string, std::string> headers;
  Bytes body;
  // Requests with `within`: the body bytes placed in those pieces, and whether the body was not
  // received because its announced length exceeded them (nothing placed; see Content-Length).
  uint64_t within_bytes = 0;
  bool too_large = false;
  // Non-empty when the transfer failed below HTTP (after the last retry) or `check` failed.
  std::string transport_error;
  int attempts = 0;

  const std::string* header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? nullptr : &it->second;
  }
};

struct Request {
  std::string method = "GET";  // GET, HEAD, PUT, POST, DELETE
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  // Request body, sent as the concatenation of these pieces (borrowed).
  std::vector<ByteView> body;
  // SigV4 signing ("aws:amz:<region>:s3") with these credentials; empty: unsigned.
  std::string aws_sigv4;
  std::string user;
  std::string password;
  // Bytes of the body to reserve up front (an upper bound the caller trusts), and the most
  // body bytes accepted into `sink` (more is a failure, not a growing buffer). A non-2xx body
  // going to Response::body is kept up to its first MiB.
  uint64_t reserve = 0;
  uint64_t max_body = uint64_t{1} << 40;
  // Where a 2xx body goes (its previous content is replaced); null, and for other statuses:
  // Response::body.
  Bytes* sink = nullptr;
  // When not empty, where a 2xx body goes instead of `sink`: the front of these pieces, in order
  // (borrowed, none null). A body longer than their total is not received: the transfer ends
  // with nothing placed and Response::too_large set (the length is its Content-Length).
  std::span<const MutableByteView> within;
  // Called on a completed response with a 2xx status; a non-OK result makes the attempt a
  // retryable failure (its message becomes transport_error after the last attempt).
  std::function<Status(const Response&, const Bytes& body)> check;
};

// The transport settings among a store's options (S3StoreOptions, HttpStoreOptions: the fields
// of the same names).
template <typename StoreOptions>
TransportOptions TransportOptionsOf(const StoreOptions& o) {
  TransportOptions t;
  t.max_in_flight = o.max_in_flight;
  t.request_timeout = o.request_timeout;
  t.connect_timeout = o.connect_timeout;
  t.max_retries = o.max_retries;
  t.retry_base_delay = o.retry_base_delay;
  t.retry_max_delay = o.retry_max_delay;
  return t;
}

// True for the statuses worth retrying (408, 429, 500, 502, 503, 504).
bool RetryableStatus(long status);

class CurlTransport {
 public:
  static Result<std::shared_ptr<CurlTransport>> Create(const TransportOptions& options);
  ~CurlTransport();
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  // Runs every request (concurrently, up to max_in_flight across all callers) and returns when
  // all have completed; responses[i] answers requests[i].
  void Perform(std::span<Request> requests, std::span<Response> responses);
  Response Perform(Request request);

  // Starts `request` and returns at once; `done` is called once with its response, on the loop
  // thread (or on the caller's, when the transport has been shut down). `done` must not block
  // nor call Perform() (the loop would wait on itself); it may call Submit(). The request's body
  // pieces and sink are borrowed until `done` is called.
  using Completion = std::function<void(Response& response)>;
  void Submit(Request request, Completion done);

  // Stops the loop: transfers not yet complete are completed with transport_error "transport
  // stopped", and every later request at once the same way. Idempotent; the destructor calls
  // it. Must not be called from a completion.
  void Shutdown();

  const TransportOptions& options() const { return options_; }

  class Loop;

 private:
  explicit CurlTransport(const TransportOptions& options);
  TransportOptions options_;
  std::unique_ptr<Loop> loop_;
};

}  // namespace zarrpp::http
