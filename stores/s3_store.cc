// stores/s3_store.cc - S3Store: the Store interface over S3 requests (spec/stores.md, "S3").
#include "zarrpp/s3_store.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <random>

#include "src/store_internal.h"
#include "stores/http/curl_transport.h"
#include "stores/s3/s3_util.h"

namespace zarrpp {

namespace {

using http::Request;
using http::Response;

constexpr std::string_view kProbeStem = ".zarrpp-probe-";
// User metadata written with every value: a random token that makes every write a new
// generation, even a write of the bytes already stored (the ETag alone is a content hash).
constexpr const char* kWriteHeader = "x-amz-meta-zarrpp-write";
constexpr uint64_t kMinPartSize = 5ull << 20;
constexpr uint64_t kMaxSinglePut = 5ull << 30;
constexpr size_t kMaxParts = 10'000;
constexpr size_t kDeleteBatch = 1000;
constexpr uint64_t kMaxDocument = 64ull << 20;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string RandomHex(size_t bytes) {
  // Seeded per thread and again in a forked child (whose copy of the state would otherwise
  // repeat its parent's values: probe keys and write tokens of two processes must differ).
  thread_local std::mt19937_64 rng;
  thread_local pid_t seeded_for = 0;
  if (const pid_t pid = ::getpid(); pid != seeded_for) {
    std::random_device rd;
    rng.seed(rd() ^ (static_cast<uint64_t>(rd()) << 32) ^ static_cast<uint64_t>(pid));
    seeded_for = pid;
  }
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes; ++i) {
    const auto b = static_cast<uint8_t>(rng());
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

std::string Unquote(std::string_view s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return std::string(s);
}

std::string Quote(std::string_view key) {
  return "'" + std::string(key) + "'";
}

// Generation tokens: "<etag>#<write token>" (or "<etag>" for an object written without one).
struct Token {
  std::string etag;
  std::string write;
};

Token SplitToken(const std::string& token) {
  const size_t hash = token.rfind('#');
  if (hash == std::string::npos) return {token, {}};
  return {token.substr(0, hash), token.substr(hash + 1)};
}

Generation GenerationOf(const Response& r) {
  const std::string* etag = r.header("etag");
  const std::string* write = r.header(kWriteHeader);
  std::string token = etag ? Unquote(*etag) : std::string();
  if (write && !write->empty()) token += "#" + *write;
  return Generation::Of(std::move(token));
}

std::optional<uint64_t> ParseUint(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// "bytes a-b/total" -> {a, b, total}.
struct ContentRange {
  uint64_t first, last, total;
};
std::optional<ContentRange> ParseContentRange(const std::string* h) {
  if (!h) return std::nullopt;
  std::string_view s = *h;
  if (!s.starts_with("bytes ")) return std::nullopt;
  s.remove_prefix(6);
  const size_t dash = s.find('-'), slash = s.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash)
    return std::nullopt;
  auto a = ParseUint(s.substr(0, dash));
  auto b = ParseUint(s.substr(dash + 1, slash - dash - 1));
  auto t = ParseUint(s.substr(slash + 1));
  if (!a || !b || !t || *b < *a || *b >= *t) return std::nullopt;
  return ContentRange{*a, *b, *t};
}

// How one ranged read is sent.
struct ReadPlan {
  bool head_only = false;  // an empty range: only existence and size are needed
  std::string range;       // the Range header value; empty: the whole value
};

Result<ReadPlan> PlanRead(std::string_view key, const ByteRange& range) {
  ReadPlan plan;
  switch (range.kind) {
    case ByteRange::Kind::kWhole: break;
    case ByteRange::Kind::kBounded:
      if (range.end < range.start)
        return Status::InvalidArgument("byte range " + range.ToString() + " of key " + Quote(key) +
                                       ": end before start");
      if (range.end == range.start) {
        plan.head_only = true;
      } else {
        plan.range = "bytes=" + std::to_string(range.start) + "-" + std::to_string(range.end - 1);
      }
      break;
    case ByteRange::Kind::kFromOffset:
      if (range.start > 0) plan.range = "bytes=" + std::to_string(range.start) + "-";
      break;
    case ByteRange::Kind::kSuffix:
      if (range.suffix == 0) {
        plan.head_only = true;
      } else {
        plan.range = "bytes=-" + std::to_string(range.suffix);
      }
      break;
  }
  return plan;
}

class S3ValueReader;

class S3StoreImpl final : public S3Store {
 public:
  S3StoreImpl(S3StoreOptions options, std::optional<s3::Credentials> credentials,
              std::shared_ptr<http::CurlTransport> transport, std::string scheme, std::string host,
              bool virtual_hosted)
      : options_(std::move(options)),
        credentials_(std::move(credentials)),
        transport_(std::move(transport)),
        scheme_(std::move(scheme)),
        host_(std::move(host)),
        virtual_hosted_(virtual_hosted) {
    if (options_.conditional_writes) conditional_ = *options_.conditional_writes ? 1 : 0;
  }

  StoreCapabilities capabilities() const override {
    StoreCapabilities caps;
    caps.partial_reads = true;
    caps.set_range = false;
    caps.atomic_set = true;
    caps.io_concurrency = options_.max_in_flight;
    caps.generations = true;
    caps.conditional_writes = ConditionalWrites();
    caps.key_locks = false;
    caps.async_io = true;
    return caps;
  }

  std::string description() const override {
    return "s3://" + options_.bucket + "/" + options_.prefix + " (endpoint " + scheme_ + "://" +
           host_ + ", region " + options_.region + ")";
  }

  // --- reads ----------------------------------------------------------------------------------

  Result<bool> get_into(std::string_view key, ByteRange range, Bytes& out) override {
    RETURN_IF_ERROR(ValidateKey(key));
    ASSIGN_OR_RETURN(ReadResult r, Read(key, range, out, nullptr));
    return r.found;
  }

  // The body lands in the pieces as it arrives: no buffer of the store's in between.
  Result<std::optional<uint64_t>> get_within(std::string_view key,
                                             std::span<const MutableByteView> pieces) override {
    RETURN_IF_ERROR(ValidateKey(key));
    if (internal::PiecesSize(pieces) == 0) return Store::get_within(key, pieces);
    return WithinAnswer(transport_->Perform(WithinRequest(key, pieces)), key);
  }

  Result<std::vector<std::optional<Bytes>>> get_ranges(
      const std::vector<KeyRange>& requests) override {
    std::vector<std::optional<Bytes>> results(requests.size());
    if (requests.empty()) return results;
    std::vector<ReadPlan> plans(requests.size());
    std::vector<Bytes> bodies(requests.size());
    std::vector<Request> reqs(requests.size());
    for (size_t i = 0; i < requests.size(); ++i) {
      RETURN_IF_ERROR(ValidateKey(requests[i].key));
      ASSIGN_OR_RETURN(plans[i], PlanRead(requests[i].key, requests[i].range));
      reqs[i] = ReadRequest(requests[i].key, plans[i], nullptr, &bodies[i]);
    }
    std::vector<Response> resps(requests.size());
    transport_->Perform(reqs, resps);
    for (size_t i = 0; i < requests.size(); ++i) {
      ASSIGN_OR_RETURN(ReadResult r, FinishRead(requests[i].key, requests[i].range, plans[i],
                                                nullptr, resps[i], bodies[i]));
      if (r.found) results[i] = std::move(bodies[i]);
    }
    return results;
  }

  Result<ReadResult> get_if(std::string_view key, ByteRange range, Bytes& out,
                            const Generation* if_equal) override {
    RETURN_IF_ERROR(ValidateKey(key));
    return Read(key, range, out, if_equal);
  }

  Result<Generation> generation(std::string_view key) override {
    RETURN_IF_ERROR(ValidateKey(key));
    ASSIGN_OR_RETURN(Response r, Head(key));
    if (r.status == 404) return Generation::Absent();
    return GenerationOf(r);
  }

  Result<bool> exists(std::string_view key) override {
    RETURN_IF_ERROR(ValidateKey(key));
    ASSIGN_OR_RETURN(Response r, Head(key));
    return r.status != 404;
  }

  Result<std::optional<uint64_t>> size(std::string_view key) override {
    RETURN_IF_ERROR(ValidateKey(key));
    ASSIGN_OR_RETURN(Response r, Head(key));
    if (r.status == 404) return std::optional<uint64_t>();
    ASSIGN_OR_RETURN(uint64_t n, SizeOf(r, key));
    return std::optional<uint64_t>(n);
  }

  Result<std::unique_ptr<ValueReader>> open_reader(std::string_view key) override;

  // --- completion-based operations: on the transport's event loop -----------------------------

  ~S3StoreImpl() override {
    // Completes every pending operation while the store they refer to is still whole.
    transport_->Shutdown();
  }

  void get_async(std::string_view key, ByteRange range, Bytes& out, ReadCallback done) override {
    if (Status v = ValidateKey(key); !v.ok()) return done(v);
    Result<ReadPlan> plan = PlanRead(key, range);
    if (!plan.ok()) return done(plan.status());
    // An empty range needs only the value's size: answered here, synchronously.
    if (plan->head_only) return done(get_into(key, range, out));
    Request req = ReadRequest(key, *plan, nullptr, &out);
    transport_->Submit(
        std::move(req), [this, key = std::string(key), range, plan = std::move(*plan), &out,
                         done = std::move(done)](Response& r) mutable {
          if (r.status == 416 && r.transport_error.empty()) {
            // The value's size decides; the HEAD that asks for it runs on the loop too.
            transport_->Submit(Make("HEAD", ObjectUrl(key)), [this, key, range, &out,
                                                              done = std::move(done)](Response& h) {
              Found(Unsatisfiable(key, range, nullptr, HeadAnswer(std::move(h), key), out), done);
            });
            return;
          }
          if (ErrorCode(r) == "NoSuchBucket" || !r.transport_error.empty() ||
              !(r.status == 200 || r.status == 206 || r.status == 404)) {
            return done(ErrorOf(r, "GET", key));
          }
          if (r.status == 404) {
            out.clear();
            return done(false);
          }
          Found(FinishBody(key, range, plan, nullptr, r, out), done);
        });
  }

  void get_within_async(std::string_view key, std::span<const MutableByteView> pieces,
                        SizeCallback done) override {
    if (Status v = ValidateKey(key); !v.ok()) return done(v);
    if (internal::PiecesSize(pieces) == 0) return done(Store::get_within(key, pieces));
    transport_->Submit(WithinRequest(key, pieces),
                       [this, key = std::string(key), done = std::move(done)](Response& r) {
                         done(WithinAnswer(r, key));
                       });
  }

  void set_async(std::string_view key, std::span<const ByteView> pieces,
                 WriteCallback done) override {
    if (Status v = ValidateKey(key); !v.ok()) return done(v);
    uint64_t total = 0;
    for (ByteView p : pieces) total += p.size();
    // A multipart upload is a sequence of requests: run here, synchronously.
    if (total >= options_.multipart_threshold) return done(set_gather(key, pieces));
    Request req = Make("PUT", ObjectUrl(key));
    req.body.assign(pieces.begin(), pieces.end());
    if (req.body.empty()) req.body.push_back(ByteView());
    req.headers.push_back("Content-MD5: " + s3::ContentMd5(pieces));
    req.headers.push_back(std::string(kWriteHeader) + ": " + RandomHex(8));
    transport_->Submit(std::move(req),
                       [this, key = std::string(key), done = std::move(done)](Response& r) {
                         if (r.status == 200 && r.transport_error.empty())
                           return done(Status::OK());
                         done(ErrorOf(r, "PUT", key));
                       });
  }

  void erase_async(std::string_view key, WriteCallback done) override {
    if (Status v = ValidateKey(key); !v.ok()) return done(v);
    transport_->Submit(Make("DELETE", ObjectUrl(key)), [this, key = std::string(key),
                                                        done = std::move(done)](Response& r) {
      if (r.transport_error.empty() && (r.status == 204 || r.status == 200 || r.status == 404)) {
        return done(Status::OK());
      }
      done(ErrorOf(r, "erase", key));
    });
  }

  // --- writes ---------------------------------------------------------------------------------

  Status set(std::string_view key, ByteView value) override {
    return set_gather(key, std::span<const ByteView>(&value, 1));
  }

  Status set_gather(std::string_view key, std::span<const ByteView> pieces) override {
    return set_if(key, pieces, {}).status();
  }

  Result<std::optional<Generation>> set_if(std::string_view key, std::span<const ByteView> pieces,
                                           const WriteConditions& conditions) override {
    RETURN_IF_ERROR(ValidateKey(key));
    uint64_t total = 0;
    for (ByteView p : pieces) total += p.size();
    if (conditions.if_equal) {
      if (!ConditionalWrites()) {
        return Status::Unsupported("S3 set_if of key " + Quote(key) + " in bucket '" +
                                   options_.bucket + "': the endpoint " + host_ +
                                   " does not honour conditional PUTs");
      }
      if (conditions.if_equal->unknown()) return std::optional<Generation>();
      if (total > kMaxSinglePut) {
        return Status::Unsupported("S3 set_if of key " + Quote(key) + ": a conditional write of " +
                                   std::to_string(total) +
                                   " bytes is larger than one PUT (5 GiB) can carry");
      }
      return Put(key, pieces, &*conditions.if_equal);
    }
    if (total >= options_.multipart_threshold) return Multipart(key, pieces, total);
    return Put(key, pieces, nullptr);
  }

  Status erase(std::string_view key) override {
    RETURN_IF_ERROR(ValidateKey(key));
    Response r = transport_->Perform(Make("DELETE", ObjectUrl(key)));
    if (r.status == 204 || r.status == 200 || r.status == 404) return Status::OK();
    return ErrorOf(r, "erase", key);
  }

  // Not atomic: the condition is checked with a HEAD, then the object is deleted (S3 has no
  // conditional DELETE on general buckets); a write between the two is lost.
  Result<bool> erase_if(std::string_view key, const WriteConditions& conditions) override {
    RETURN_IF_ERROR(ValidateKey(key));
    if (!conditions.if_equal) {
      RETURN_IF_ERROR(erase(key));
      return true;
    }
    if (!ConditionalWrites()) {
      return Status::Unsupported("S3 erase_if of key " + Quote(key) + " in bucket '" +
                                 options_.bucket + "': the endpoint " + host_ +
                                 " does not honour conditional writes");
    }
    const Generation& want = *conditions.if_equal;
    if (want.unknown()) return false;
    ASSIGN_OR_RETURN(Generation now, generation(key));
    if (want.absent()) return now.absent();
    if (!(now == want)) return false;
    RETURN_IF_ERROR(erase(key));
    return true;
  }

  Status erase_prefix(std::string_view prefix) override {
    RETURN_IF_ERROR(ValidatePrefix(prefix));
    ASSIGN_OR_RETURN(std::vector<std::string> keys,
                     ListObjects(options_.prefix + std::string(prefix), false, nullptr));
    return DeleteObjects(keys);
  }

  // --- listing --------------------------------------------------------------------------------

  Result<std::vector<std::string>> list_prefix(std::string_view prefix) override {
    RETURN_IF_ERROR(ValidatePrefix(prefix));
    ASSIGN_OR_RETURN(std::vector<std::string> keys,
                     ListObjects(options_.prefix + std::string(prefix), false, nullptr));
    std::vector<std::string> out;
    out.reserve(keys.size());
    for (std::string& k : keys) {
      std::string rel = k.substr(options_.prefix.size());
      if (Hidden(rel)) continue;
      out.push_back(std::move(rel));
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  Result<DirListing> list_dir(std::string_view prefix) override {
    RETURN_IF_ERROR(ValidatePrefix(prefix));
    std::vector<std::string> prefixes;
    ASSIGN_OR_RETURN(std::vector<std::string> keys,
                     ListObjects(options_.prefix + std::string(prefix), true, &prefixes));
    DirListing out;
    for (std::string& k : keys) {
      std::string rel = k.substr(options_.prefix.size());
      if (Hidden(rel)) continue;
      out.keys.push_back(std::move(rel));
    }
    for (std::string& p : prefixes) out.prefixes.push_back(p.substr(options_.prefix.size()));
    std::sort(out.keys.begin(), out.keys.end());
    std::sort(out.prefixes.begin(), out.prefixes.end());
    return out;
  }

  static void Found(Result<ReadResult> r, const ReadCallback& done) {
    if (!r.ok()) return done(r.status());
    done(r->found);
  }

  // --- used by S3Store's static functions and the reader ---------------------------------------

  Status VerifyBucket() {
    Response r = transport_->Perform(Make("HEAD", BucketUrl("")));
    if (r.status == 200) return Status::OK();
    if (r.status == 404) {
      return Status::NotFound("S3 bucket '" + options_.bucket + "' does not exist at " + scheme_ +
                              "://" + host_);
    }
    if (r.status == 403) return Status::OK();  // object-level access may still be granted
    return ErrorOf(r, "HEAD of the bucket", "");
  }

  Status CreateBucketNow() {
    Request req = Make("PUT", BucketUrl(""));
    std::string body;
    if (options_.region != "us-east-1") {
      body =
          "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
          "<LocationConstraint>" +
          s3::XmlEscape(options_.region) + "</LocationConstraint></CreateBucketConfiguration>";
      req.body.push_back(AsBytes(body));
    } else {
      req.body.push_back(ByteView());
    }
    Response r = transport_->Perform(std::move(req));
    if (r.status == 200) return Status::OK();
    const std::string code = ErrorCode(r);
    if (r.status == 409 && code == "BucketAlreadyOwnedByYou") return Status::OK();
    if (r.status == 409) {
      return Status::AlreadyExists("S3 bucket '" + options_.bucket +
                                   "' exists and belongs to another account (" + code + ")");
    }
    return ErrorOf(r, "create bucket", "");
  }

  Status DeleteBucketNow() {
    Response r = transport_->Perform(Make("DELETE", BucketUrl("")));
    if (r.status == 204 || r.status == 200 || r.status == 404) return Status::OK();
    return ErrorOf(r, "delete bucket", "");
  }

  Result<ReadResult> Read(std::string_view key, const ByteRange& range, Bytes& out,
                          const Generation* cond) {
    if (cond && cond->unknown()) return ReadResult{false, false, Generation::Unknown()};
    if (cond && cond->absent()) {
      ASSIGN_OR_RETURN(Response h, Head(key));
      if (h.status == 404) return ReadResult{false, true, Generation::Absent()};
      return ReadResult{true, false, GenerationOf(h)};
    }
    ASSIGN_OR_RETURN(ReadPlan plan, PlanRead(key, range));
    // A conditional read must leave `out` untouched when the condition fails.
    Bytes scratch;
    Bytes& body = cond ? scratch : out;
    Request req = ReadRequest(key, plan, cond, &body);
    Response resp = transport_->Perform(std::move(req));
    ASSIGN_OR_RETURN(ReadResult r, FinishRead(key, range, plan, cond, resp, body));
    if (cond && r.found && r.condition_met) out.swap(scratch);
    return r;
  }

 private:
  friend class S3ValueReader;

  bool ConditionalWrites() const {
    std::call_once(probe_once_, [this] {
      if (conditional_ == 0) return;  // forced off: nothing to find out
      const int found = const_cast<S3StoreImpl*>(this)->Probe();
      if (conditional_ < 0) conditional_ = found;
    });
    return conditional_ == 1;
  }

  // Finds out once whether the endpoint honours If-None-Match: * and If-Match on PUT, and how
  // it wants the ETag of If-Match written (RGW matches only the unquoted form). Writes and then
  // deletes a reserved key under the prefix. Returns 1 when both conditions work.
  int Probe() {
    const std::string key = std::string(kProbeStem) + RandomHex(8);
    const std::string url = ObjectUrl(key);
    const Bytes payload = {'p', 'r', 'o', 'b', 'e'};
    auto put = [&](std::vector<std::string> extra) {
      Request req = Make("PUT", url);
      req.body.push_back(ByteView(payload));
      for (auto& h : extra) req.headers.push_back(std::move(h));
      return transport_->Perform(std::move(req));
    };
    int result = 0;
    Response first = put({"If-None-Match: *"});
    if (first.status == 200) {
      Response again = put({"If-None-Match: *"});
      const std::string* etag = first.header("etag");
      if (again.status == 412 && etag) {
        const std::string bare = Unquote(*etag);
        Response quoted = put({"If-Match: \"" + bare + "\""});
        if (quoted.status == 200) {
          quote_if_match_ = true;
          result = 1;
        } else if (quoted.status == 412) {
          Response plain = put({"If-Match: " + bare});
          if (plain.status == 200) {
            quote_if_match_ = false;
            result = 1;
          }
        }
      }
    }
    if (first.status == 200 || first.status == 412) {
      transport_->Perform(Make("DELETE", url));
    }
    return result;
  }

  bool Hidden(std::string_view rel) const { return rel.starts_with(kProbeStem); }

  std::string ObjectPath(std::string_view key) const {
    return s3::UriEncode(options_.prefix + std::string(key), true);
  }

  std::string ObjectUrl(std::string_view key) const {
    if (virtual_hosted_) {
      return scheme_ + "://" + options_.bucket + "." + host_ + "/" + ObjectPath(key);
    }
    return scheme_ + "://" + host_ + "/" + options_.bucket + "/" + ObjectPath(key);
  }

  // `query` is already canonical (sorted, encoded), or empty.
  std::string BucketUrl(const std::string& query) const {
    std::string url = virtual_hosted_ ? scheme_ + "://" + options_.bucket + "." + host_ + "/"
                                      : scheme_ + "://" + host_ + "/" + options_.bucket;
    if (!query.empty()) url += "?" + query;
    return url;
  }

  Request Make(std::string method, std::string url) const {
    Request req;
    req.method = std::move(method);
    req.url = std::move(url);
    // Answers other than object bodies are small XML documents.
    req.max_body = kMaxDocument;
    if (credentials_) {
      req.aws_sigv4 = "aws:amz:" + options_.region + ":s3";
      req.user = credentials_->access_key_id;
      req.password = credentials_->secret_access_key;
      req.headers.push_back("x-amz-content-sha256: UNSIGNED-PAYLOAD");
      if (!credentials_->session_token.empty())
        req.headers.push_back("x-amz-security-token: " + credentials_->session_token);
    }
    return req;
  }

  // The If-Match of a conditional PUT, as the endpoint matches it (probed).
  std::string IfMatchForWrite(const std::string& etag) const {
    return quote_if_match_ ? "If-Match: \"" + etag + "\"" : "If-Match: " + etag;
  }

  Request ReadRequest(std::string_view key, const ReadPlan& plan, const Generation* cond,
                      Bytes* sink) const {
    Request req = Make(plan.head_only ? "HEAD" : "GET", ObjectUrl(key));
    req.max_body = std::numeric_limits<uint64_t>::max();  // a value of any size
    if (!plan.range.empty()) {
      req.headers.push_back("Range: " + plan.range);
      // A 206 must carry as many bytes as its Content-Range says; anything else was cut short.
      req.check = [](const Response& r, const Bytes& body) -> Status {
        if (r.status != 206) return Status::OK();
        auto cr = ParseContentRange(r.header("content-range"));
        if (!cr) return Status::IOError("206 without a valid Content-Range");
        if (cr->last - cr->first + 1 != body.size()) {
          return Status::IOError("206 body of " + std::to_string(body.size()) +
                                 " bytes for Content-Range " + *r.header("content-range"));
        }
        return Status::OK();
      };
    }
    // Reads send the quoted ETag, which every server tested matches on GET (RGW's quirk is in
    // conditional PUTs only); the write token is compared on the answer.
    if (cond && cond->present())
      req.headers.push_back("If-Match: \"" + SplitToken(cond->token()).etag + "\"");
    if (plan.range.starts_with("bytes=") && plan.range.find('-') + 1 < plan.range.size() &&
        plan.range[6] != '-') {
      // A bounded range: the body can be no longer than the range.
      const std::string_view r = std::string_view(plan.range).substr(6);
      const size_t dash = r.find('-');
      auto first = ParseUint(r.substr(0, dash)), last = ParseUint(r.substr(dash + 1));
      if (first && last && *last >= *first) {
        req.reserve = *last - *first + 1;
        req.max_body = *last - *first + 1;
      }
    }
    req.sink = sink;
    return req;
  }

  // A GET of the whole value at `key` into the front of `pieces` (get_within).
  Request WithinRequest(std::string_view key, std::span<const MutableByteView> pieces) const {
    Request req = ReadRequest(key, ReadPlan{}, nullptr, nullptr);
    req.max_body = kMaxDocument;  // an error document; the value goes to the pieces
    req.within = pieces;
    return req;
  }

  // What get_within() returns for the answer `r` to WithinRequest().
  Result<std::optional<uint64_t>> WithinAnswer(const Response& r, std::string_view key) const {
    if (r.status == 404 && r.transport_error.empty()) {
      if (ErrorCode(r) == "NoSuchBucket") return ErrorOf(r, "GET", key);
      return std::optional<uint64_t>();
    }
    if (r.status != 200 || !r.transport_error.empty()) return ErrorOf(r, "GET", key);
    if (r.too_large) {
      const std::string* cl = r.header("content-length");
      std::optional<uint64_t> n = cl ? ParseUint(*cl) : std::nullopt;
      if (!n) {
        return Status::IOError("S3 GET of key " + Quote(key) + " in bucket '" + options_.bucket +
                               "': a body without a valid Content-Length");
      }
      return std::optional<uint64_t>(*n);
    }
    return std::optional<uint64_t>(r.within_bytes);
  }

  // Interprets the answer to ReadRequest(): `body` holds what was received.
  Result<ReadResult> FinishRead(std::string_view key, const ByteRange& range, const ReadPlan& plan,
                                const Generation* cond, const Response& r, Bytes& body) {
    if (r.status == 404 && r.transport_error.empty()) {
      if (ErrorCode(r) == "NoSuchBucket") return ErrorOf(r, "GET", key);
      body.clear();
      return ReadResult{false, cond == nullptr || cond->absent(), Generation::Absent()};
    }
    if (r.status == 412 && cond) return ReadResult{true, false, Generation::Unknown()};
    if (r.status == 416) return Unsatisfiable(key, range, cond, Head(key), body);
    if (!(r.status == 200 || r.status == 206) || !r.transport_error.empty())
      return ErrorOf(r, "GET", key);
    return FinishBody(key, range, plan, cond, r, body);
  }

  // A 416 answer: nothing of the value lies in the range. Decides from its size (the answer to
  // a HEAD, `head`) whether that is an empty read (a start at the end, a suffix of an empty
  // value) or a range past the end.
  Result<ReadResult> Unsatisfiable(std::string_view key, const ByteRange& range,
                                   const Generation* cond, const Result<Response>& head,
                                   Bytes& body) {
    {
      if (!head.ok()) return head.status();
      const Response& h = *head;
      if (h.status == 404) return ReadResult{false, cond == nullptr, Generation::Absent()};
      Generation g = GenerationOf(h);
      if (cond && !(g == *cond)) return ReadResult{true, false, g};
      ASSIGN_OR_RETURN(uint64_t size, SizeOf(h, key));
      ASSIGN_OR_RETURN(auto bounds, range.Resolve(size, key));
      if (bounds.first != bounds.second) {
        return Status::IOError("S3 GET of key " + Quote(key) + " range " + range.ToString() +
                               ": the server answered 416 for a value of " + std::to_string(size) +
                               " bytes");
      }
      body.clear();
      return ReadResult{true, true, g};
    }
  }

  // A 200 or 206 answer to ReadRequest().
  Result<ReadResult> FinishBody(std::string_view key, const ByteRange& range, const ReadPlan& plan,
                                const Generation* cond, const Response& r, Bytes& body) {
    Generation g = GenerationOf(r);
    if (cond && !(g == *cond)) {
      body.clear();
      return ReadResult{true, false, g};
    }
    if (plan.head_only) {
      ASSIGN_OR_RETURN(uint64_t size, SizeOf(r, key));
      RETURN_IF_ERROR(range.Resolve(size, key));
      body.clear();
      return ReadResult{true, true, g};
    }
    if (r.status == 200) {
      // The whole value: take the range from it (a server may ignore Range).
      if (!plan.range.empty()) {
        ASSIGN_OR_RETURN(auto bounds, range.Resolve(body.size(), key));
        if (bounds.first > 0) {
          std::copy(body.begin() + static_cast<ptrdiff_t>(bounds.first),
                    body.begin() + static_cast<ptrdiff_t>(bounds.second), body.begin());
        }
        body.resize(bounds.second - bounds.first);
      }
      return ReadResult{true, true, g};
    }
    // 206: the bytes must be exactly the range asked for.
    auto cr = ParseContentRange(r.header("content-range"));
    if (!cr) {
      return Status::IOError("S3 GET of key " + Quote(key) + ": 206 without a valid Content-Range");
    }
    ASSIGN_OR_RETURN(auto bounds, range.Resolve(cr->total, key));
    if (bounds.first != cr->first || bounds.second != cr->last + 1) {
      return Status::IOError("S3 GET of key " + Quote(key) + " range " + range.ToString() +
                             ": the server returned bytes " + std::to_string(cr->first) + "-" +
                             std::to_string(cr->last) + " of " + std::to_string(cr->total));
    }
    return ReadResult{true, true, g};
  }

  Result<Response> Head(std::string_view key) {
    return HeadAnswer(transport_->Perform(Make("HEAD", ObjectUrl(key))), key);
  }
  Result<Response> HeadAnswer(Response r, std::string_view key) {
    if (r.transport_error.empty() && (r.status == 200 || r.status == 404)) return r;
    return ErrorOf(r, "HEAD", key);
  }

  Result<uint64_t> SizeOf(const Response& r, std::string_view key) {
    const std::string* cl = r.header("content-length");
    std::optional<uint64_t> n = cl ? ParseUint(*cl) : std::nullopt;
    if (!n) {
      return Status::IOError("S3 HEAD of key " + Quote(key) + " in bucket '" + options_.bucket +
                             "': no valid Content-Length");
    }
    return *n;
  }

  Result<std::optional<Generation>> Put(std::string_view key, std::span<const ByteView> pieces,
                                        const Generation* cond) {
    const std::string write = RandomHex(8);
    Request req = Make("PUT", ObjectUrl(key));
    req.body.assign(pieces.begin(), pieces.end());
    if (req.body.empty()) req.body.push_back(ByteView());
    req.headers.push_back("Content-MD5: " + s3::ContentMd5(pieces));
    req.headers.push_back(std::string(kWriteHeader) + ": " + write);
    if (cond) {
      if (cond->absent()) {
        req.headers.push_back("If-None-Match: *");
      } else {
        req.headers.push_back(IfMatchForWrite(SplitToken(cond->token()).etag));
      }
    }
    for (int conflict = 0;; ++conflict) {
      Response r = transport_->Perform(req);
      if (r.status == 200 && r.transport_error.empty()) {
        const std::string* etag = r.header("etag");
        return std::optional<Generation>(
            Generation::Of((etag ? Unquote(*etag) : std::string()) + "#" + write));
      }
      if (cond && r.status == 412) return std::optional<Generation>();
      if (cond && r.status == 404 && !cond->absent()) return std::optional<Generation>();
      // A conditional write racing another one may be refused with 409; it is safe to retry.
      if (cond && r.status == 409 && ErrorCode(r) == "ConditionalRequestConflict" && conflict < 8)
        continue;
      if (cond && r.status == 501) {
        return Status::Unsupported("S3 set_if of key " + Quote(key) +
                                   ": the endpoint answered 501 to a conditional PUT");
      }
      return ErrorOf(r, "PUT", key);
    }
  }

  Result<std::optional<Generation>> Multipart(std::string_view key,
                                              std::span<const ByteView> pieces, uint64_t total) {
    const std::string write = RandomHex(8);
    const std::string url = ObjectUrl(key);
    Request create = Make("POST", url + "?uploads=");
    create.body.push_back(ByteView());
    create.headers.push_back(std::string(kWriteHeader) + ": " + write);
    Response cr = transport_->Perform(std::move(create));
    if (cr.status != 200 || !cr.transport_error.empty())
      return ErrorOf(cr, "create multipart upload", key);
    std::optional<std::string> upload = s3::XmlFirst(
        std::string_view(reinterpret_cast<const char*>(cr.body.data()), cr.body.size()),
        "UploadId");
    if (!upload || upload->empty())
      return Status::IOError("S3 multipart upload of key " + Quote(key) + ": no UploadId");
    const std::string upload_q = "uploadId=" + s3::UriEncode(*upload, false);
    auto abort = [&](Status why) -> Status {
      Response ar = transport_->Perform(Make("DELETE", url + "?" + upload_q));
      if (ar.status != 204 && ar.status != 200 && ar.status != 404) {
        return why.WithContext("(the upload " + *upload + " could not be aborted either: HTTP " +
                               std::to_string(ar.status) + ")");
      }
      return why;
    };

    uint64_t part_size = options_.multipart_part_size;
    if ((total + part_size - 1) / part_size > kMaxParts)
      part_size = (total + kMaxParts - 1) / kMaxParts;
    const size_t n_parts = static_cast<size_t>((total + part_size - 1) / part_size);
    std::vector<Request> parts(n_parts);
    size_t piece = 0, piece_offset = 0;
    for (size_t i = 0; i < n_parts; ++i) {
      uint64_t want = std::min<uint64_t>(part_size, total - i * part_size);
      Request& p = parts[i];
      p = Make("PUT", url + "?partNumber=" + std::to_string(i + 1) + "&" + upload_q);
      while (want > 0) {
        ByteView src = pieces[piece];
        const size_t take =
            static_cast<size_t>(std::min<uint64_t>(want, src.size() - piece_offset));
        if (take > 0) p.body.push_back(src.subspan(piece_offset, take));
        want -= take;
        piece_offset += take;
        if (piece_offset == src.size()) {
          ++piece;
          piece_offset = 0;
        }
      }
      p.headers.push_back("Content-MD5: " + s3::ContentMd5(p.body));
    }
    std::vector<Response> done(n_parts);
    transport_->Perform(parts, done);
    std::string complete = "<CompleteMultipartUpload>";
    for (size_t i = 0; i < n_parts; ++i) {
      const std::string* etag = done[i].header("etag");
      if (done[i].status != 200 || !done[i].transport_error.empty() || !etag) {
        return abort(ErrorOf(done[i], "upload part " + std::to_string(i + 1) + " of", key));
      }
      complete += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" +
                  s3::XmlEscape(*etag) + "</ETag></Part>";
    }
    complete += "</CompleteMultipartUpload>";
    Request fin = Make("POST", url + "?" + upload_q);
    fin.body.push_back(AsBytes(complete));
    Response fr = transport_->Perform(std::move(fin));
    std::string_view fbody(reinterpret_cast<const char*>(fr.body.data()), fr.body.size());
    // CompleteMultipartUpload can fail with 200 and an <Error> document.
    if (fr.status != 200 || !fr.transport_error.empty() ||
        fbody.find("<Error>") != std::string_view::npos) {
      return abort(ErrorOf(fr, "complete multipart upload of", key));
    }
    std::optional<std::string> etag = s3::XmlFirst(fbody, "ETag");
    return std::optional<Generation>(Generation::Of(Unquote(etag.value_or("")) + "#" + write));
  }

  // Keys (full object names) under `full_prefix`; with a delimiter, child prefixes too.
  Result<std::vector<std::string>> ListObjects(const std::string& full_prefix, bool delimited,
                                               std::vector<std::string>* prefixes) {
    std::vector<std::string> keys;
    std::string token;
    while (true) {
      // Parameters in canonical (sorted) order, as SigV4 signs them.
      std::string q;
      if (!token.empty()) q += "continuation-token=" + s3::UriEncode(token, false) + "&";
      if (delimited) q += "delimiter=%2F&";
      q += "list-type=2&max-keys=1000&prefix=" + s3::UriEncode(full_prefix, false);
      Response r = transport_->Perform(Make("GET", BucketUrl(q)));
      if (r.status != 200 || !r.transport_error.empty())
        return ErrorOf(r, "list", full_prefix.substr(options_.prefix.size()) + "*");
      std::string_view xml(reinterpret_cast<const char*>(r.body.data()), r.body.size());
      for (std::string_view block : s3::XmlBlocks(xml, "Contents")) {
        if (auto k = s3::XmlFirst(block, "Key")) keys.push_back(std::move(*k));
      }
      if (prefixes) {
        for (std::string_view block : s3::XmlBlocks(xml, "CommonPrefixes")) {
          if (auto p = s3::XmlFirst(block, "Prefix")) prefixes->push_back(std::move(*p));
        }
      }
      const std::optional<std::string> truncated = s3::XmlFirst(xml, "IsTruncated");
      if (truncated != "true") break;
      std::optional<std::string> next = s3::XmlFirst(xml, "NextContinuationToken");
      if (!next || next->empty() || *next == token) {
        return Status::IOError("S3 listing of '" + full_prefix + "' in bucket '" + options_.bucket +
                               "' is truncated without a continuation token");
      }
      token = std::move(*next);
    }
    return keys;
  }

  // DeleteObjects in batches of up to 1,000 keys, sent concurrently.
  Status DeleteObjects(const std::vector<std::string>& keys) {
    if (keys.empty()) return Status::OK();
    const size_t n = (keys.size() + kDeleteBatch - 1) / kDeleteBatch;
    std::vector<std::string> bodies(n);
    std::vector<Request> reqs(n);
    for (size_t b = 0; b < n; ++b) {
      std::string& body = bodies[b];
      body = "<Delete><Quiet>true</Quiet>";
      for (size_t i = b * kDeleteBatch; i < std::min(keys.size(), (b + 1) * kDeleteBatch); ++i)
        body += "<Object><Key>" + s3::XmlEscape(keys[i]) + "</Key></Object>";
      body += "</Delete>";
      reqs[b] = Make("POST", BucketUrl("delete="));
      reqs[b].body.push_back(AsBytes(body));
      reqs[b].headers.push_back("Content-MD5: " + s3::ContentMd5(reqs[b].body));
      reqs[b].headers.push_back("Content-Type: application/xml");
    }
    std::vector<Response> resps(n);
    transport_->Perform(reqs, resps);
    for (const Response& r : resps) {
      if (r.status != 200 || !r.transport_error.empty()) return ErrorOf(r, "delete objects", "");
      std::string_view xml(reinterpret_cast<const char*>(r.body.data()), r.body.size());
      std::vector<std::string_view> errors = s3::XmlBlocks(xml, "Error");
      if (!errors.empty()) {
        std::string key = s3::XmlFirst(errors[0], "Key").value_or("?");
        std::string code = s3::XmlFirst(errors[0], "Code").value_or("?");
        return Status::IOError("S3 DeleteObjects in bucket '" + options_.bucket +
                               "': " + std::to_string(errors.size()) +
                               " keys not deleted, first '" + key + "' (" + code + ")");
      }
    }
    return Status::OK();
  }

  static std::string ErrorCode(const Response& r) {
    std::string_view xml(reinterpret_cast<const char*>(r.body.data()), r.body.size());
    return s3::XmlFirst(xml, "Code").value_or("");
  }

  // The Status for a failed request. Never includes credentials.
  Status ErrorOf(const Response& r, std::string_view op, std::string_view key) const {
    std::string where = "bucket '" + options_.bucket + "'";
    if (!key.empty()) where = "key " + Quote(key) + " in " + where;
    if (r.status == 0 || (!r.transport_error.empty() && r.status < 300)) {
      return Status::IOError("S3 " + std::string(op) + " of " + where + " at " + host_ + ": " +
                             r.transport_error + " (after " + std::to_string(r.attempts) +
                             " attempts)");
    }
    std::string code = ErrorCode(r);
    std::string_view xml(reinterpret_cast<const char*>(r.body.data()), r.body.size());
    std::string message = s3::XmlFirst(xml, "Message").value_or("");
    std::string detail = "HTTP " + std::to_string(r.status);
    if (!code.empty()) detail += " " + code;
    if (!message.empty()) detail += ": " + message;
    if (r.status == 403) {
      return Status::PermissionDenied("S3 " + std::string(op) + " of " + where + " refused (" +
                                      detail + "); check the credentials and the bucket policy");
    }
    if (r.status == 404 && code == "NoSuchBucket") {
      return Status::NotFound("S3 bucket '" + options_.bucket + "' does not exist at " + host_);
    }
    if (http::RetryableStatus(r.status))
      detail += " (after " + std::to_string(r.attempts) + " attempts)";
    return Status::IOError("S3 " + std::string(op) + " of " + where + ": " + detail);
  }

  S3StoreOptions options_;
  std::optional<s3::Credentials> credentials_;
  std::shared_ptr<http::CurlTransport> transport_;
  std::string scheme_;
  std::string host_;  // host[:port][/base path]
  bool virtual_hosted_;
  mutable std::once_flag probe_once_;
  mutable std::atomic<int> conditional_{-1};
  std::atomic<bool> quote_if_match_{true};
};

// Ranges of the version seen at open: reads are conditioned on its ETag (If-Match) and its
// write token.
class S3ValueReader final : public ValueReader {
 public:
  S3ValueReader(S3StoreImpl* store, std::string key, uint64_t size, Generation generation)
      : store_(store), key_(std::move(key)), size_(size), generation_(std::move(generation)) {}
  uint64_t size() const override { return size_; }
  const Generation& generation() const override { return generation_; }
  Result<bool> read(ByteRange range, Bytes& out) override {
    ASSIGN_OR_RETURN(auto bounds, range.Resolve(size_, key_));
    if (bounds.first == bounds.second) {
      out.clear();
      return true;
    }
    ASSIGN_OR_RETURN(
        ReadResult r,
        store_->Read(key_, ByteRange::Bounded(bounds.first, bounds.second), out, &generation_));
    return r.found && r.condition_met;
  }

 private:
  S3StoreImpl* store_;
  std::string key_;
  uint64_t size_;
  Generation generation_;
};

Result<std::unique_ptr<ValueReader>> S3StoreImpl::open_reader(std::string_view key) {
  RETURN_IF_ERROR(ValidateKey(key));
  ASSIGN_OR_RETURN(Response h, Head(key));
  if (h.status == 404) return std::unique_ptr<ValueReader>();
  ASSIGN_OR_RETURN(uint64_t n, SizeOf(h, key));
  return std::unique_ptr<ValueReader>(
      new S3ValueReader(this, std::string(key), n, GenerationOf(h)));
}

// Resolves endpoint, region and addressing, and builds the store (no request is sent).
Result<std::shared_ptr<S3StoreImpl>> Build(S3StoreOptions options) {
  if (options.bucket.empty()) return Status::InvalidArgument("S3 store: bucket is empty");
  if (options.bucket.find('/') != std::string::npos)
    return Status::InvalidArgument("S3 store: bucket '" + options.bucket + "' contains '/'");
  if (!options.prefix.empty() && options.prefix.back() != '/') options.prefix += '/';
  if (!options.prefix.empty()) {
    RETURN_IF_ERROR_CTX(ValidatePrefix(options.prefix), "S3 store prefix");
  }
  if (options.region.empty()) options.region = Env("AWS_REGION");
  if (options.region.empty()) options.region = Env("AWS_DEFAULT_REGION");
  if (options.region.empty()) options.region = "us-east-1";
  if (options.endpoint.empty()) options.endpoint = Env("AWS_ENDPOINT_URL_S3");
  if (options.endpoint.empty()) options.endpoint = Env("AWS_ENDPOINT_URL");
  if (options.endpoint.empty())
    options.endpoint = "https://s3." + options.region + ".amazonaws.com";
  if (options.max_in_flight == 0)
    return Status::InvalidArgument("S3 store: max_in_flight must be at least 1");
  if (options.multipart_part_size < kMinPartSize) {
    return Status::InvalidArgument("S3 store: multipart_part_size " +
                                   std::to_string(options.multipart_part_size) +
                                   " is below the S3 minimum of 5 MiB");
  }
  if (options.multipart_threshold == 0)
    return Status::InvalidArgument("S3 store: multipart_threshold must be at least 1");
  if (options.multipart_threshold > kMaxSinglePut) options.multipart_threshold = kMaxSinglePut;

  std::string_view ep = options.endpoint;
  std::string scheme;
  if (ep.starts_with("http://")) {
    scheme = "http";
    ep.remove_prefix(7);
  } else if (ep.starts_with("https://")) {
    scheme = "https";
    ep.remove_prefix(8);
  } else {
    return Status::InvalidArgument("S3 store: endpoint '" + options.endpoint +
                                   "' is not an http:// or https:// URL");
  }
  while (!ep.empty() && ep.back() == '/') ep.remove_suffix(1);
  if (ep.empty())
    return Status::InvalidArgument("S3 store: endpoint '" + options.endpoint + "' has no host");
  std::string host(ep);
  const std::string_view hostname = ep.substr(0, ep.find_first_of(":/"));
  bool virtual_hosted = false;
  switch (options.addressing) {
    case S3StoreOptions::Addressing::kPath: break;
    case S3StoreOptions::Addressing::kVirtual: virtual_hosted = true; break;
    case S3StoreOptions::Addressing::kAuto:
      virtual_hosted = hostname.ends_with("amazonaws.com");
      break;
  }
  if (virtual_hosted && host.find('/') != std::string::npos) {
    return Status::InvalidArgument(
        "S3 store: virtual-hosted addressing needs an endpoint without "
        "a path, got '" +
        options.endpoint + "'");
  }
  ASSIGN_OR_RETURN(std::optional<s3::Credentials> credentials, s3::ResolveCredentials(options));
  ASSIGN_OR_RETURN(std::shared_ptr<http::CurlTransport> transport,
                   http::CurlTransport::Create(http::TransportOptionsOf(options)));
  return std::make_shared<S3StoreImpl>(std::move(options), std::move(credentials),
                                       std::move(transport), std::move(scheme), std::move(host),
                                       virtual_hosted);
}

}  // namespace

Result<std::shared_ptr<S3Store>> S3Store::Open(S3StoreOptions options) {
  const bool verify = options.verify_bucket;
  ASSIGN_OR_RETURN(std::shared_ptr<S3StoreImpl> store, Build(std::move(options)));
  if (verify) RETURN_IF_ERROR(store->VerifyBucket());
  return std::shared_ptr<S3Store>(std::move(store));
}

Result<std::shared_ptr<S3Store>> S3Store::OpenUrl(std::string_view url) {
  S3StoreOptions options;
  RETURN_IF_ERROR(s3::ParseS3Url(url, options));
  return Open(std::move(options));
}

Status S3Store::CreateBucket(const S3StoreOptions& options) {
  S3StoreOptions o = options;
  o.prefix.clear();
  ASSIGN_OR_RETURN(std::shared_ptr<S3StoreImpl> store, Build(std::move(o)));
  return store->CreateBucketNow();
}

Status S3Store::DeleteBucket(const S3StoreOptions& options) {
  S3StoreOptions o = options;
  o.prefix.clear();
  ASSIGN_OR_RETURN(std::shared_ptr<S3StoreImpl> store, Build(std::move(o)));
  return store->DeleteBucketNow();
}

}  // namespace zarrpp
