// stores/http/curl_transport.cc - the libcurl multi event loop behind the object stores.
#include "stores/http/curl_transport.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

namespace zarrpp::http {

bool RetryableStatus(long status) {
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
         status == 504;
}

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMaxErrorBody = 1 << 20;

bool RetryableCurlCode(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_READ_ERROR: return true;
    default: return false;
  }
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

std::once_flag g_curl_init;

struct Batch {
  std::mutex mu;
  std::condition_variable cv;
  size_t remaining = 0;
};

// The sockets of the loop's connections (touched by the loop thread only).
using Sockets = std::vector<curl_socket_t>;

struct Transfer;
// A request started with Submit(): the transfer owns its request, response and completion.
struct Owned;

struct Transfer {
  Sockets* sockets = nullptr;
  Request* req = nullptr;
  Response* resp = nullptr;
  Batch* batch = nullptr;  // Perform(): the batch to count down
  Owned* owned = nullptr;  // Submit(): deleted once its completion has run
  int attempt = 0;
  Clock::time_point due;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  Bytes* target = nullptr;
  // Upload position.
  size_t piece = 0;
  size_t piece_offset = 0;
  uint64_t upload_size = 0;
  bool overflow = false;
  bool out_of_memory = false;
  // A 2xx body going to req->within: the next piece and the offset in it.
  bool into_within = false;
  size_t within_piece = 0;
  size_t within_offset = 0;
  char errbuf[CURL_ERROR_SIZE] = {};
};

struct Owned {
  Transfer transfer;
  Request request;
  Response response;
  CurlTransport::Completion done;
};

// Completes one transfer: counts down its batch, or runs and frees a submitted one.
void Signal(Transfer* t) {
  if (Owned* o = t->owned) {
    o->done(o->response);
    delete o;
    return;
  }
  Batch* b = t->batch;
  std::lock_guard<std::mutex> lock(b->mu);
  if (--b->remaining == 0) b->cv.notify_all();
}

size_t WriteBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * nmemb;
  if (t->into_within) {
    const auto& pieces = t->req->within;
    Response& resp = *t->resp;
    if (resp.too_large) return 0;  // announced too long: ends the transfer, nothing placed
    uint64_t room = 0;
    for (size_t i = t->within_piece; i < pieces.size(); ++i) room += pieces[i].size();
    room -= t->within_offset;
    if (n > room) {
      // Longer than the pieces without a Content-Length saying so: a failed transfer.
      t->overflow = true;
      return 0;
    }
    size_t done = 0;
    while (done < n) {
      MutableByteView p = pieces[t->within_piece];
      const size_t take = std::min(n - done, p.size() - t->within_offset);
      std::memcpy(p.data() + t->within_offset, data + done, take);
      done += take;
      t->within_offset += take;
      if (t->within_offset == p.size()) {
        ++t->within_piece;
        t->within_offset = 0;
      }
    }
    resp.within_bytes += n;
    return n;
  }
  Bytes& out = *t->target;
  if (t->target != t->req->sink && t->req->sink != nullptr) {
    // An error document: keep its first kMaxErrorBody bytes (enough for any S3 <Error>).
    const size_t keep = out.size() < kMaxErrorBody ? std::min(n, kMaxErrorBody - out.size()) : 0;
    out.insert(out.end(), reinterpret_cast<const uint8_t*>(data),
               reinterpret_cast<const uint8_t*>(data) + keep);
    return n;
  }
  if (out.size() + n > t->req->max_body) {
    t->overflow = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  try {
    out.insert(out.end(), reinterpret_cast<const uint8_t*>(data),
               reinterpret_cast<const uint8_t*>(data) + n);
  } catch (const std::bad_alloc&) {
    t->out_of_memory = true;
    return 0;
  }
  return n;
}

size_t ReadHeader(char* data, size_t size, size_t nitems, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * nitems;
  std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    t->resp->headers.clear();  // a new response (after 100 Continue or a redirect)
    // Only a 2xx body goes to the caller's sink; an error document goes to Response::body.
    long code = 0;
    const size_t sp = line.find(' ');
    if (sp != std::string_view::npos) {
      std::string_view rest = line.substr(sp + 1);
      std::from_chars(rest.data(), rest.data() + std::min<size_t>(rest.size(), 3), code);
    }
    const bool ok = code >= 200 && code < 300;
    t->into_within = ok && !t->req->within.empty();
    t->within_piece = 0;
    t->within_offset = 0;
    t->resp->within_bytes = 0;
    t->resp->too_large = false;
    Bytes* want = (t->req->sink && ok && !t->into_within) ? t->req->sink : &t->resp->body;
    if (want != t->target) {
      t->target->clear();
      t->target = want;
      t->target->clear();
    }
    return n;
  }
  if (line == "\r\n" || line == "\n") {
    // End of the headers. A server that writes the headers and the body of a small response
    // separately (Ceph RGW does) holds the body under Nagle until the headers are acknowledged,
    // and Linux delays that ACK by 40 ms on a connection in interactive mode: acknowledge now.
    // libcurl does not tell which connection a transfer uses, so every connection of the loop
    // is asked (on those with no ACK pending this only re-enables quick ACKs).
    for (curl_socket_t fd : *t->sockets) {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
    }
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  std::string name = Lower(Trim(line.substr(0, colon)));
  std::string_view value = Trim(line.substr(colon + 1));
  if (name == "content-length") {
    uint64_t length = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
    if (ec == std::errc() && t->into_within && t->req->method != "HEAD") {
      uint64_t room = 0;
      for (const MutableByteView& p : t->req->within) room += p.size();
      if (length > room) t->resp->too_large = true;
    } else if (ec == std::errc() && length <= t->req->max_body && t->req->method != "HEAD") {
      // Reserve what the server announces, but no more than the caller expects (or 64 MiB):
      // a hostile Content-Length must not allocate, the vector grows with bytes that arrive.
      const uint64_t want = std::min(length, std::max<uint64_t>(t->req->reserve, 64ull << 20));
      try {
        if (t->target->capacity() < want) t->target->reserve(want);
      } catch (const std::bad_alloc&) {
      }
    }
    (void)p;
  }
  t->resp->headers[std::move(name)] = std::string(value);
  return n;
}

size_t ReadUpload(char* buffer, size_t size, size_t nitems, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t room = size * nitems;
  size_t done = 0;
  const auto& pieces = t->req->body;
  while (done < room && t->piece < pieces.size()) {
    ByteView p = pieces[t->piece];
    const size_t take = std::min(room - done, p.size() - t->piece_offset);
    if (take > 0) std::memcpy(buffer + done, p.data() + t->piece_offset, take);
    done += take;
    t->piece_offset += take;
    if (t->piece_offset == p.size()) {
      ++t->piece;
      t->piece_offset = 0;
    }
  }
  return done;
}

int OnSocketOpen(void* user, curl_socket_t fd, curlsocktype purpose) {
  if (purpose == CURLSOCKTYPE_IPCXN) static_cast<Sockets*>(user)->push_back(fd);
  return CURL_SOCKOPT_OK;
}

int OnSocketClose(void* user, curl_socket_t fd) {
  auto* sockets = static_cast<Sockets*>(user);
  sockets->erase(std::remove(sockets->begin(), sockets->end(), fd), sockets->end());
  return close(fd);
}

int SeekUpload(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0) return CURL_SEEKFUNC_CANTSEEK;
  uint64_t left = static_cast<uint64_t>(offset);
  t->piece = 0;
  t->piece_offset = 0;
  const auto& pieces = t->req->body;
  while (t->piece < pieces.size() && left >= pieces[t->piece].size()) {
    left -= pieces[t->piece].size();
    ++t->piece;
  }
  if (t->piece == pieces.size() && left > 0) return CURL_SEEKFUNC_FAIL;
  t->piece_offset = static_cast<size_t>(left);
  return CURL_SEEKFUNC_OK;
}

}  // namespace

class CurlTransport::Loop {
 public:
  explicit Loop(const TransportOptions& options) : options_(options) {
    multi_ = curl_multi_init();
    curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                      static_cast<long>(options_.max_in_flight));
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(options_.max_in_flight));
    thread_ = std::thread([this] { Run(); });
  }

  ~Loop() {
    Stop();
    for (CURL* e : idle_) curl_easy_cleanup(e);
    curl_multi_cleanup(multi_);
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      stop_ = true;
    }
    curl_multi_wakeup(multi_);
    thread_.join();
  }

  bool ok() const { return multi_ != nullptr; }

  void Submit(std::vector<Transfer*>& transfers) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!stop_) {
        for (Transfer* t : transfers) incoming_.push_back(t);
        transfers.clear();
      }
    }
    // Stopped: nothing will run them.
    for (Transfer* t : transfers) Complete(t, "transport stopped");
    curl_multi_wakeup(multi_);
  }

 private:
  void Run() {
    std::mt19937_64 rng(std::random_device{}());
    while (true) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) break;
        for (Transfer* t : incoming_) ready_.push_back(t);
        incoming_.clear();
      }
      const auto now = Clock::now();
      for (auto it = waiting_.begin(); it != waiting_.end();) {
        if ((*it)->due <= now) {
          ready_.push_back(*it);
          it = waiting_.erase(it);
        } else {
          ++it;
        }
      }
      while (active_ < options_.max_in_flight && !ready_.empty()) {
        Transfer* t = ready_.front();
        ready_.pop_front();
        Start(t);
      }
      int running = 0;
      curl_multi_perform(multi_, &running);
      int queued = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
        if (msg->msg != CURLMSG_DONE) continue;
        Transfer* t = nullptr;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
        Finish(t, msg->data.result, rng);
      }
      int timeout_ms = 1000;
      if (!ready_.empty() && active_ < options_.max_in_flight) timeout_ms = 0;
      const auto after = Clock::now();
      for (Transfer* t : waiting_) {
        const auto wait =
            std::chrono::duration_cast<std::chrono::milliseconds>(t->due - after).count();
        timeout_ms = std::min<int>(timeout_ms, static_cast<int>(std::max<int64_t>(0, wait)));
      }
      curl_multi_poll(multi_, nullptr, 0, timeout_ms, nullptr);
    }
    // Stopping: fail whatever is left so no caller waits forever.
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (Transfer* t : incoming_) ready_.push_back(t);
      incoming_.clear();
    }
    for (Transfer* t : ready_) Complete(t, "transport stopped");
    for (Transfer* t : waiting_) Complete(t, "transport stopped");
    for (Transfer* t : active_set_) {
      curl_multi_remove_handle(multi_, t->easy);
      curl_easy_cleanup(t->easy);
      t->easy = nullptr;
      Complete(t, "transport stopped");  // frees the header list
    }
  }

  void Start(Transfer* t) {
    CURL* e;
    if (!idle_.empty()) {
      e = idle_.back();
      idle_.pop_back();
      curl_easy_reset(e);
    } else {
      e = curl_easy_init();
    }
    t->easy = e;
    t->sockets = &sockets_;
    Request& r = *t->req;
    Response& resp = *t->resp;
    resp.status = 0;
    resp.headers.clear();
    resp.transport_error.clear();
    resp.attempts = t->attempt + 1;
    t->target = r.sink ? r.sink : &resp.body;
    t->target->clear();
    if (r.reserve && t->target->capacity() < r.reserve) {
      try {
        t->target->reserve(r.reserve);
      } catch (const std::bad_alloc&) {
      }
    }
    t->overflow = false;
    t->out_of_memory = false;
    t->into_within = false;
    t->within_piece = 0;
    t->within_offset = 0;
    resp.within_bytes = 0;
    resp.too_large = false;
    t->piece = 0;
    t->piece_offset = 0;
    t->errbuf[0] = 0;
    if (t->headers) {
      curl_slist_free_all(t->headers);
      t->headers = nullptr;
    }
    for (const std::string& h : r.headers) t->headers = curl_slist_append(t->headers, h.c_str());
    // "Expect:" (suppressing 100-continue) is not added: libcurl's SigV4 signer would sign it
    // as an empty header it then never sends, and the server would refuse the signature.

    curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, WriteBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, ReadHeader);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, OnSocketOpen);
    curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, &sockets_);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, OnSocketClose);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, &sockets_);
    if (r.method == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (r.method == "PUT" || r.method == "POST") {
      uint64_t total = 0;
      for (ByteView p : r.body) total += p.size();
      t->upload_size = total;
      curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(total));
      curl_easy_setopt(e, CURLOPT_READFUNCTION, ReadUpload);
      curl_easy_setopt(e, CURLOPT_READDATA, t);
      curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, SeekUpload);
      curl_easy_setopt(e, CURLOPT_SEEKDATA, t);
      if (r.method == "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "POST");
    } else if (r.method != "GET") {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }
    if (!r.aws_sigv4.empty()) {
      curl_easy_setopt(e, CURLOPT_AWS_SIGV4, r.aws_sigv4.c_str());
      curl_easy_setopt(e, CURLOPT_USERNAME, r.user.c_str());
      curl_easy_setopt(e, CURLOPT_PASSWORD, r.password.c_str());
    }
    curl_multi_add_handle(multi_, e);
    ++active_;
    active_set_.push_back(t);
  }

  void Finish(Transfer* t, CURLcode code, std::mt19937_64& rng) {
    CURL* e = t->easy;
    Response& resp = *t->resp;
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(multi_, e);
    idle_.push_back(e);
    t->easy = nullptr;
    --active_;
    active_set_.erase(std::find(active_set_.begin(), active_set_.end(), t));

    std::string failure;
    bool retry = false;
    if (code != CURLE_OK && t->into_within && resp.too_large && !t->overflow) {
      // Ended on purpose: the body announced is longer than the pieces. Not a failure.
      resp.status = status;
      Complete(t, {});
      return;
    }
    if (code != CURLE_OK) {
      failure = curl_easy_strerror(code);
      if (t->errbuf[0]) failure += std::string(" (") + t->errbuf + ")";
      if (t->overflow && t->into_within) {
        failure = "response body longer than its Content-Length and the pieces it goes to";
      } else if (t->overflow) {
        failure =
            "response body larger than the " + std::to_string(t->req->max_body) + " bytes expected";
      }
      retry = !t->overflow && RetryableCurlCode(code);
      status = 0;
    } else {
      resp.status = status;
      if (RetryableStatus(status)) {
        retry = true;
      } else if (status >= 200 && status < 300 && t->req->method != "HEAD") {
        // A body of another length than announced is a failed transfer.
        if (const std::string* cl = resp.header("content-length")) {
          uint64_t length = 0;
          auto [p, ec] = std::from_chars(cl->data(), cl->data() + cl->size(), length);
          (void)p;
          const uint64_t got = t->into_within ? resp.within_bytes : t->target->size();
          if (t->into_within && resp.too_large) {
            // Not received on purpose: nothing to compare.
          } else if (ec != std::errc() || length != got) {
            failure = "response body of " + std::to_string(got) + " bytes, Content-Length " + *cl;
            retry = true;
          }
        }
        if (failure.empty() && t->req->check && !t->into_within) {
          Status s = t->req->check(resp, *t->target);
          if (!s.ok()) {
            failure = s.message();
            retry = true;
          }
        }
      }
    }
    resp.status = status;
    if (retry && t->attempt < options_.max_retries) {
      const auto base = options_.retry_base_delay.count();
      const int shift = std::min(t->attempt, 30);
      const int64_t cap = std::min<int64_t>(options_.retry_max_delay.count(),
                                            base * (int64_t{1} << std::min(shift, 20)));
      std::uniform_int_distribution<int64_t> jitter(0, std::max<int64_t>(0, cap));
      ++t->attempt;
      t->due = Clock::now() + std::chrono::milliseconds(jitter(rng));
      waiting_.push_back(t);
      return;
    }
    if (!failure.empty() && (code != CURLE_OK || !RetryableStatus(status))) {
      Complete(t, std::move(failure));
    } else {
      Complete(t, {});
    }
  }

  void Complete(Transfer* t, std::string failure) {
    t->resp->transport_error = std::move(failure);
    if (!t->resp->transport_error.empty()) {
      if (t->resp->status != 0 && t->resp->status < 300) t->resp->status = 0;
    }
    if (t->headers) {
      curl_slist_free_all(t->headers);
      t->headers = nullptr;
    }
    Signal(t);
  }

  TransportOptions options_;
  CURLM* multi_ = nullptr;
  std::thread thread_;
  std::mutex mu_;
  bool stop_ = false;
  std::vector<Transfer*> incoming_;
  std::deque<Transfer*> ready_;
  std::vector<Transfer*> waiting_;
  std::vector<Transfer*> active_set_;
  size_t active_ = 0;
  std::vector<CURL*> idle_;
  Sockets sockets_;
};

CurlTransport::CurlTransport(const TransportOptions& options) : options_(options) {}

CurlTransport::~CurlTransport() = default;

Result<std::shared_ptr<CurlTransport>> CurlTransport::Create(const TransportOptions& options) {
  if (options.max_in_flight == 0)
    return Status::InvalidArgument("HTTP transport: max_in_flight must be at least 1");
  if (options.max_retries < 0)
    return Status::InvalidArgument("HTTP transport: max_retries must not be negative");
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::shared_ptr<CurlTransport> t(new CurlTransport(options));
  t->loop_ = std::make_unique<Loop>(options);
  if (!t->loop_->ok()) return Status::IOError("HTTP transport: curl_multi_init failed");
  return t;
}

void CurlTransport::Perform(std::span<Request> requests, std::span<Response> responses) {
  if (requests.empty()) return;
  Batch batch;
  batch.remaining = requests.size();
  std::vector<Transfer> transfers(requests.size());
  std::vector<Transfer*> pointers;
  pointers.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    transfers[i].req = &requests[i];
    transfers[i].resp = &responses[i];
    transfers[i].batch = &batch;
    pointers.push_back(&transfers[i]);
  }
  loop_->Submit(pointers);
  std::unique_lock<std::mutex> lock(batch.mu);
  batch.cv.wait(lock, [&] { return batch.remaining == 0; });
}

void CurlTransport::Submit(Request request, Completion done) {
  auto* o = new Owned;
  o->request = std::move(request);
  o->done = std::move(done);
  o->transfer.req = &o->request;
  o->transfer.resp = &o->response;
  o->transfer.owned = o;
  std::vector<Transfer*> one{&o->transfer};
  loop_->Submit(one);
}

void CurlTransport::Shutdown() {
  if (loop_) loop_->Stop();
}

Response CurlTransport::Perform(Request request) {
  Response response;
  Perform(std::span<Request>(&request, 1), std::span<Response>(&response, 1));
  return response;
}

}  // namespace zarrpp::http
