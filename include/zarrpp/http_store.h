// zarrpp/http_store.h - a read-only Store over HTTP(S): the key "a/b/c" is GET <base>/a/b/c.
//
// Ranged reads use Range requests; a 206 is checked against the range asked for (its
// Content-Range and length), and a server that answers 200 to a Range request is handled by
// taking the bytes asked for from the whole value (read once), never by returning wrong bytes;
// the store then fetches each value of a get_ranges batch once. 416 resolves like
// ByteRange::Resolve (an empty read at the end, or InvalidArgument naming the key). 404 and 410
// are missing; 401 and 403 are PermissionDenied naming the key (a server hiding missing files
// behind 403 is not assumed); other statuses are IOError with the status. HEAD gives
// exists/size. Listing is Unsupported naming the operation (arrays open by path); every write
// is Unsupported. Requests run on one libcurl multi event loop (connection reuse, retries of
// connection errors, timeouts, 408, 429, 500, 502, 503, 504 with capped backoff and jitter);
// get_ranges issues its requests at once; io_concurrency is max_in_flight. get_within and
// get_within_async (on the event loop) place the body straight into the caller's pieces as it
// arrives; a value whose Content-Length exceeds them is not received (its size is returned), and
// one longer than the pieces without announcing it is an IOError with nothing written past them.
// User information in the URL is never shown in description() or messages.
//
// Thread safety: safe for concurrent calls.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "zarrpp/store.h"

namespace zarrpp {

struct HttpStoreOptions {
  // "http://host:port/path" (no trailing "/" needed).
  std::string base_url;
  size_t max_in_flight = 64;
  std::chrono::milliseconds request_timeout{60'000};
  std::chrono::milliseconds connect_timeout{10'000};
  int max_retries = 8;
  std::chrono::milliseconds retry_base_delay{50};
  std::chrono::milliseconds retry_max_delay{5'000};
};

class HttpStore : public Store {
 public:
  static Result<std::shared_ptr<HttpStore>> Open(HttpStoreOptions options);
  static Result<std::shared_ptr<HttpStore>> OpenUrl(std::string_view url);
};

}  // namespace zarrpp
