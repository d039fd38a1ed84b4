#include "zarrpp/http_store.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "src/store_internal.h"
#include "stores/http/curl_transport.h"

namespace zarrpp {

namespace {

std::string Quote(std::string_view key) {
  // Built by appending: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string temporaries.
  std::string s;
  s += '\'';
  s += key;
  s += '\'';
  return s;
}

// The key as a URL path: every byte outside the unreserved set (and "/") percent-escaped.
std::string EscapeKey(std::string_view key) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    const unsigned char u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~' || c == '/') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

// "http://user:secret@host/p" -> "http://host/p": what messages and description() show.
std::string WithoutUserInfo(const std::string& url) {
  const size_t authority = url.find("://");
  if (authority == std::string::npos) return url;
  const size_t begin = authority + 3;
  const size_t end = url.find('/', begin);
  const size_t at = url.rfind('@', end == std::string::npos ? url.size() : end);
  if (at == std::string::npos || at < begin) return url;
  return url.substr(0, begin) + url.substr(at + 1);
}

bool ParseU64(std::string_view s, uint64_t& v) {
  if (s.empty()) return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

// Content-Range "bytes FIRST-LAST/TOTAL" or "bytes */TOTAL" (TOTAL may be "*").
struct ContentRange {
  bool has_span = false;
  uint64_t first = 0, last = 0;
  bool has_total = false;
  uint64_t total = 0;
};
bool ParseContentRange(std::string_view text, ContentRange& cr) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r')) text.remove_suffix(1);
  if (!text.starts_with("bytes ")) return false;
  text.remove_prefix(6);
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return false;
  const std::string_view span = text.substr(0, slash), total = text.substr(slash + 1);
  if (span != "*") {
    const size_t dash = span.find('-');
    if (dash == std::string_view::npos || !ParseU64(span.substr(0, dash), cr.first) ||
        !ParseU64(span.substr(dash + 1), cr.last) || cr.last < cr.first) {
      return false;
    }
    cr.has_span = true;
  }
  if (total != "*") {
    if (!ParseU64(total, cr.total)) return false;
    cr.has_total = true;
  }
  return true;
}

// The Range header for a range that HTTP can express (not Whole, not empty).
std::string RangeHeader(const ByteRange& r) {
  switch (r.kind) {
    case ByteRange::Kind::kBounded:
      return "Range: bytes=" + std::to_string(r.start) + "-" + std::to_string(r.end - 1);
    case ByteRange::Kind::kFromOffset: return "Range: bytes=" + std::to_string(r.start) + "-";
    case ByteRange::Kind::kSuffix: return "Range: bytes=-" + std::to_string(r.suffix);
    case ByteRange::Kind::kWhole: break;
  }
  return "";
}

// A range HTTP cannot ask for: the empty ones. Their answer needs only the value's size.
bool IsEmptyRange(const ByteRange& r) {
  return (r.kind == ByteRange::Kind::kBounded && r.end == r.start) ||
         (r.kind == ByteRange::Kind::kSuffix && r.suffix == 0);
}

class HttpStoreImpl final : public HttpStore {
 public:
  HttpStoreImpl(HttpStoreOptions options, std::shared_ptr<http::CurlTransport> transport)
      : options_(std::move(options)),
        shown_(WithoutUserInfo(options_.base_url)),
        transport_(std::move(transport)) {}

  StoreCapabilities capabilities() const override {
    StoreCapabilities c;
    c.readable = true;
    c.writable = c.erasable = c.listable = false;
    c.partial_reads = true;
    c.set_range = false;
    c.atomic_set = false;
    c.io_concurrency = options_.max_in_flight;
    c.async_io = true;
    return c;
  }

  Result<bool> get_into(std::string_view key, ByteRange range, Bytes& out) override {
    RETURN_IF_ERROR(ValidateKey(key));
    RETURN_IF_ERROR(CheckRange(key, range));
    if (IsEmptyRange(range)) return GetEmpty(key, range, out);
    http::Request request = MakeGet(key, range);
    request.sink = &out;
    http::Response response = transport_->Perform(std::move(request));
    return Interpret(key, range, response, out);
  }

  // The body lands in the front of the pieces as it arrives: no buffer of the store's between.
  Result<std::optional<uint64_t>> get_within(std::string_view key,
                                             std::span<const MutableByteView> pieces) override {
    RETURN_IF_ERROR(ValidateKey(key));
    if (internal::PiecesSize(pieces) == 0) return Store::get_within(key, pieces);
    return WithinAnswer(key, transport_->Perform(WithinRequest(key, pieces)));
  }

  ~HttpStoreImpl() override {
    // Completes every pending operation while the store they refer to is still whole.
    transport_->Shutdown();
  }

  // On the transport's event loop; an empty range (only the size is needed) and the rare answer
  // that needs the value's size (416 without it) are finished synchronously: the first here, the
  // second with a HEAD submitted from the loop.
  void get_async(std::string_view key, ByteRange range, Bytes& out, ReadCallback done) override {
    if (Status v = ValidateKey(key); !v.ok()) return done(v);
    if (Status v = CheckRange(key, range); !v.ok()) return done(v);
    if (IsEmptyRange(range)) return done(GetEmpty(key, range, out));
    http::Request request = MakeGet(key, range);
    request.sink = &out;
    transport_->Submit(std::move(request), [this, key = std::string(key), range, &out,
                                            done = std::move(done)](http::Response& r) mutable {
      const std::string* header = r.header("content-range");
      ContentRange cr;
      const bool size_known = header && ParseContentRange(*header, cr) && cr.has_total;
      if (r.status == 416 && r.transport_error.empty() && !size_known) {
        http::Request head;
        head.method = "HEAD";
        head.url = UrlOf(key);
        transport_->Submit(std::move(head), [this, key, range, &out,
                                             done = std::move(done)](http::Response& h) {
          Result<std::optional<uint64_t>> n = SizeFrom(key, h);
          if (!n.ok()) return done(n.status());
          if (!n->has_value()) return done(false);
          Result<std::pair<uint64_t, uint64_t>> span = range.Resolve(**n, key);
          if (!span.ok()) return done(span.status());
          if (span->first != span->second) {
            return done(Status::IOError("GET " + Shown(key) + " " + range.ToString() +
                                        ": the server answered 416 (range not satisfiable) for a "
                                        "range inside the value (size " +
                                        std::to_string(**n) + ")"));
          }
          out.clear();
          done(true);
        });
        return;
      }
      done(Interpret(key, range, r, out));
    });
  }

  // On the transport's event loop, placing the body as get_within() does.
  void get_within_async(std::string_view key, std::span<const MutableByteView> pieces,
                        SizeCallback done) override {
    if (Status v = ValidateKey(key); !v.ok()) return done(v);
    if (internal::PiecesSize(pieces) == 0) return done(Store::get_within(key, pieces));
    transport_->Submit(WithinRequest(key, pieces),
                       [this, key = std::string(key), done = std::move(done)](http::Response& r) {
                         done(WithinAnswer(key, r));
                       });
  }

  Result<std::vector<std::optional<Bytes>>> get_ranges(
      const std::vector<KeyRange>& requests) override {
    for (const KeyRange& r : requests) {
      RETURN_IF_ERROR(ValidateKey(r.key));
      RETURN_IF_ERROR(CheckRange(r.key, r.range));
    }
    std::vector<std::optional<Bytes>> out(requests.size());
    // One request per distinct key when the server is known to ignore Range (each answer is the
    // whole value, so it is read once and sliced); one per range otherwise. Empty ranges need
    // only the value's size.
    const bool whole_values = ranges_ignored_.load(std::memory_order_relaxed);
    std::vector<http::Request> batch;
    std::vector<std::vector<size_t>> served;  // batch index -> indices of `requests`
    std::map<std::string_view, size_t> by_key;
    std::vector<size_t> empties;
    for (size_t i = 0; i < requests.size(); ++i) {
      const KeyRange& r = requests[i];
      if (IsEmptyRange(r.range)) {
        empties.push_back(i);
        continue;
      }
      if (whole_values) {
        auto [it, fresh] = by_key.emplace(r.key, batch.size());
        if (!fresh) {
          served[it->second].push_back(i);
          continue;
        }
        batch.push_back(MakeGet(r.key, ByteRange::Whole()));
      } else {
        batch.push_back(MakeGet(r.key, r.range));
      }
      served.push_back({i});
    }
    std::vector<http::Response> responses(batch.size());
    transport_->Perform(batch, responses);
    for (size_t b = 0; b < batch.size(); ++b) {
      for (size_t i : served[b]) {
        const KeyRange& r = requests[i];
        Bytes bytes;
        if (whole_values) {
          // Each piece is cut from the whole value; the response keeps it for the next piece.
          ASSIGN_OR_RETURN(bool found,
                           Interpret(r.key, ByteRange::Whole(), responses[b], responses[b].body));
          if (!found) continue;
          ASSIGN_OR_RETURN(auto span, r.range.Resolve(responses[b].body.size(), r.key));
          bytes.assign(responses[b].body.begin() + span.first,
                       responses[b].body.begin() + span.second);
        } else {
          ASSIGN_OR_RETURN(bool found, Interpret(r.key, r.range, responses[b], responses[b].body));
          if (!found) continue;
          bytes = std::move(responses[b].body);
        }
        out[i] = std::move(bytes);
      }
    }
    for (size_t i : empties) {
      Bytes bytes;
      ASSIGN_OR_RETURN(bool found, GetEmpty(requests[i].key, requests[i].range, bytes));
      if (found) out[i] = std::move(bytes);
    }
    return out;
  }

  Status set(std::string_view key, ByteView) override { return ReadOnly("set", key); }
  Status set_range(std::string_view key, uint64_t, ByteView) override {
    return ReadOnly("set_range", key);
  }
  Status erase(std::string_view key) override { return ReadOnly("erase", key); }
  Status erase_prefix(std::string_view prefix) override { return ReadOnly("erase_prefix", prefix); }
  Result<std::vector<std::string>> list() override { return CannotList("list", ""); }
  Result<std::vector<std::string>> list_prefix(std::string_view prefix) override {
    return CannotList("list_prefix", prefix);
  }
  Result<DirListing> list_dir(std::string_view prefix) override {
    return CannotList("list_dir", prefix);
  }

  Result<bool> exists(std::string_view key) override {
    ASSIGN_OR_RETURN(std::optional<uint64_t> n, size(key));
    return n.has_value();
  }

  Result<std::optional<uint64_t>> size(std::string_view key) override {
    RETURN_IF_ERROR(ValidateKey(key));
    http::Request request;
    request.method = "HEAD";
    request.url = UrlOf(key);
    return SizeFrom(key, transport_->Perform(std::move(request)));
  }

  // The value size a HEAD answered (nullopt: missing).
  Result<std::optional<uint64_t>> SizeFrom(std::string_view key, const http::Response& response) {
    if (!response.transport_error.empty() || response.status == 0) {
      return Status::IOError("HEAD " + Shown(key) + ": " + response.transport_error);
    }
    if (response.status == 404 || response.status == 410) return std::optional<uint64_t>();
    RETURN_IF_ERROR(StatusError("HEAD", key, response));
    const std::string* length = response.header("content-length");
    uint64_t n = 0;
    if (!length || !ParseU64(*length, n)) {
      return Status::IOError("HEAD " + Shown(key) + ": the answer has " +
                             (length ? "an invalid Content-Length '" + *length + "'"
                                     : std::string("no Content-Length")));
    }
    return std::optional<uint64_t>(n);
  }

  std::string description() const override { return shown_; }

 private:
  std::string UrlOf(std::string_view key) const { return options_.base_url + "/" + EscapeKey(key); }
  std::string Shown(std::string_view key) const { return shown_ + "/" + EscapeKey(key); }

  Status ReadOnly(std::string_view op, std::string_view key) const {
    return Status::Unsupported(std::string(op) + " of " + Quote(key) + ": the HTTP store " +
                               shown_ + " is read-only");
  }
  Status CannotList(std::string_view op, std::string_view prefix) const {
    return Status::Unsupported(std::string(op) + " of prefix " + Quote(prefix) +
                               ": the HTTP store " + shown_ +
                               " cannot list keys (HTTP has no listing); open nodes by path");
  }
  Status CheckRange(std::string_view key, const ByteRange& r) const {
    if (r.kind == ByteRange::Kind::kBounded && r.end < r.start) {
      return Status::InvalidArgument("byte range " + r.ToString() + " of key " + Quote(key) +
                                     ": end " + std::to_string(r.end) + " is before start " +
                                     std::to_string(r.start));
    }
    return Status::OK();
  }

  http::Request MakeGet(std::string_view key, const ByteRange& range) const {
    http::Request request;
    request.method = "GET";
    request.url = UrlOf(key);
    if (range.kind != ByteRange::Kind::kWhole) request.headers.push_back(RangeHeader(range));
    // A bounded range reserves its size, capped (the buffer grows as bytes arrive), so a huge
    // range asked for (a damaged shard index) commits no memory the server never sends.
    constexpr uint64_t kMaxReserve = uint64_t{64} << 20;
    if (range.kind == ByteRange::Kind::kBounded) {
      request.reserve = std::max<uint64_t>(1, std::min(range.end - range.start, kMaxReserve));
    }
    return request;
  }

  // A GET of the whole value at `key` into the front of `pieces` (get_within).
  http::Request WithinRequest(std::string_view key, std::span<const MutableByteView> pieces) const {
    http::Request request = MakeGet(key, ByteRange::Whole());
    request.within = pieces;
    return request;
  }

  // What get_within() returns for the answer to WithinRequest(): the bytes placed, or the size
  // of a value longer than the pieces (from its Content-Length; nothing placed).
  Result<std::optional<uint64_t>> WithinAnswer(std::string_view key,
                                               const http::Response& response) const {
    if (!response.transport_error.empty() || response.status == 0) {
      return Status::IOError("GET " + Shown(key) + ": " + response.transport_error);
    }
    if (response.status == 404 || response.status == 410) return std::optional<uint64_t>();
    RETURN_IF_ERROR(StatusError("GET", key, response));
    if (response.status != 200) {
      return Status::IOError("GET " + Shown(key) + ": unexpected HTTP " +
                             std::to_string(response.status) + " to a request without Range");
    }
    if (response.too_large) {
      const std::string* length = response.header("content-length");
      uint64_t n = 0;
      if (length == nullptr || !ParseU64(*length, n)) {
        return Status::IOError("GET " + Shown(key) + ": a body without a valid Content-Length");
      }
      return std::optional<uint64_t>(n);
    }
    return std::optional<uint64_t>(response.within_bytes);
  }

  // A status outside 2xx that is not "missing": PermissionDenied for 401/403, IOError otherwise.
  Status StatusError(std::string_view method, std::string_view key,
                     const http::Response& response) const {
    if (response.status >= 200 && response.status < 300) return Status::OK();
    const std::string what =
        std::string(method) + " " + Shown(key) + ": HTTP " + std::to_string(response.status);
    if (response.status == 401 || response.status == 403) {
      return Status::PermissionDenied(what + " (the server refused access to key " + Quote(key) +
                                      ")");
    }
    if (response.status >= 300 && response.status < 400) {
      const std::string* location = response.header("location");
      return Status::IOError(what + " redirect" +
                             (location ? " to '" + WithoutUserInfo(*location) + "'" : "") +
                             " not followed");
    }
    return Status::IOError(what);
  }

  // Empty ranges: found (and `out` emptied) when the key exists and the range fits its size.
  Result<bool> GetEmpty(std::string_view key, const ByteRange& range, Bytes& out) {
    ASSIGN_OR_RETURN(std::optional<uint64_t> n, size(key));
    if (!n) return false;
    RETURN_IF_ERROR(range.Resolve(*n, key).status());
    out.clear();
    return true;
  }

  // Turns the answer to a GET of `range` of `key`, whose body was received into `data`, into the
  // bytes of that range in `data`. Returns false when missing.
  Result<bool> Interpret(std::string_view key, const ByteRange& range,
                         const http::Response& response, Bytes& data) {
    if (!response.transport_error.empty() || response.status == 0) {
      return Status::IOError("GET " + Shown(key) + " " + range.ToString() + ": " +
                             response.transport_error);
    }
    if (response.status == 404 || response.status == 410) return false;
    if (response.status == 416) return Unsatisfiable(key, range, response, data);
    RETURN_IF_ERROR(StatusError("GET", key, response));
    const bool ranged = range.kind != ByteRange::Kind::kWhole;
    if (response.status == 200) {
      if (ranged) {
        // The server ignored Range and sent the whole value: cut the range from it.
        ranges_ignored_.store(true, std::memory_order_relaxed);
        ASSIGN_OR_RETURN(auto span, range.Resolve(data.size(), key));
        if (span.first > 0) {
          std::memmove(data.data(), data.data() + span.first, span.second - span.first);
        }
        data.resize(span.second - span.first);
      }
      return true;
    }
    if (response.status != 206 || !ranged) {
      return Status::IOError("GET " + Shown(key) + " " + range.ToString() + ": unexpected HTTP " +
                             std::to_string(response.status));
    }
    // 206: the span the server says it sent must be the one asked for, and the body that long.
    const std::string* header = response.header("content-range");
    ContentRange cr;
    if (!header || !ParseContentRange(*header, cr) || !cr.has_span) {
      return Status::IOError("GET " + Shown(key) + " " + range.ToString() +
                             ": 206 answer without a valid Content-Range" +
                             (header ? " ('" + *header + "')" : std::string()));
    }
    uint64_t begin = 0, end = 0;
    if (cr.has_total) {
      ASSIGN_OR_RETURN(auto span, range.Resolve(cr.total, key));
      begin = span.first;
      end = span.second;
    } else if (range.kind == ByteRange::Kind::kBounded) {
      begin = range.start;
      end = range.end;
    } else {
      return Status::IOError("GET " + Shown(key) + " " + range.ToString() +
                             ": the server did not say the value's size (Content-Range '" +
                             *header + "')");
    }
    if (cr.first != begin || cr.last + 1 != end || data.size() != end - begin) {
      return Status::IOError("GET " + Shown(key) + " " + range.ToString() +
                             ": the server answered Content-Range '" + *header + "' with " +
                             std::to_string(data.size()) + " bytes; expected bytes " +
                             std::to_string(begin) + "-" + std::to_string(end - 1));
    }
    return true;
  }

  // 416: the range starts past the value's end (or the value is empty). Per ByteRange::Resolve
  // that is an empty read at the end or InvalidArgument; the size comes from Content-Range, else
  // from a HEAD.
  Result<bool> Unsatisfiable(std::string_view key, const ByteRange& range,
                             const http::Response& response, Bytes& out) {
    const std::string* header = response.header("content-range");
    ContentRange cr;
    std::optional<uint64_t> total;
    if (header && ParseContentRange(*header, cr) && cr.has_total) {
      total = cr.total;
    } else {
      ASSIGN_OR_RETURN(total, size(key));
      if (!total) return false;
    }
    ASSIGN_OR_RETURN(auto span, range.Resolve(*total, key));
    if (span.first != span.second) {
      return Status::IOError("GET " + Shown(key) + " " + range.ToString() +
                             ": the server answered 416 (range not satisfiable) for a range "
                             "inside the value (size " +
                             std::to_string(*total) + ")");
    }
    out.clear();
    return true;
  }

  const HttpStoreOptions options_;
  const std::string shown_;
  const std::shared_ptr<http::CurlTransport> transport_;
  // Set once the server answered 200 to a Range request: ranged batches then fetch each value
  // once, whole.
  std::atomic<bool> ranges_ignored_{false};
};

}  // namespace

Result<std::shared_ptr<HttpStore>> HttpStore::Open(HttpStoreOptions options) {
  std::string& url = options.base_url;
  const std::string lower = [&] {
    std::string s = url.substr(0, std::min<size_t>(url.size(), 8));
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }();
  if (!lower.starts_with("http://") && !lower.starts_with("https://")) {
    return Status::InvalidArgument("HTTP store base URL '" + WithoutUserInfo(url) +
                                   "' does not start with http:// or https://");
  }
  if (url.find_first_of("?#") != std::string::npos) {
    return Status::InvalidArgument("HTTP store base URL '" + WithoutUserInfo(url) +
                                   "' has a query or fragment; keys are appended to its path");
  }
  while (url.size() > lower.find("://") + 3 && url.back() == '/') url.pop_back();
  if (url.size() <= url.find("://") + 3) {
    return Status::InvalidArgument("HTTP store base URL '" + url + "' names no host");
  }
  if (options.max_in_flight == 0) {
    return Status::InvalidArgument("HttpStoreOptions::max_in_flight is 0");
  }
  ASSIGN_OR_RETURN(std::shared_ptr<http::CurlTransport> transport,
                   http::CurlTransport::Create(http::TransportOptionsOf(options)));
  return std::shared_ptr<HttpStore>(
      std::make_shared<HttpStoreImpl>(std::move(options), std::move(transport)));
}

Result<std::shared_ptr<HttpStore>> HttpStore::OpenUrl(std::string_view url) {
  HttpStoreOptions options;
  options.base_url = std::string(url);
  return Open(std::move(options));
}

}  // namespace zarrpp
