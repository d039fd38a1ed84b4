// zarrpp/http_store.h - a read-only Store over HTTP(S): the key "a/b/c" is GET <base>/a/b/c.
//
// Ranged reads use Range requests; a 206 is checked against the range asked for, and a server
// that answers 200 to a Range request is handled by taking the bytes asked for from the whole
// value (read once), never by returning wrong bytes. 404 (and 403 where the server hides
// missing files behind it is NOT assumed) is missing. HEAD gives exists/size. Listing is
// Unsupported naming the operation; every write is Unsupported.
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
