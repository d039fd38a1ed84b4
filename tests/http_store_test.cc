// The read-only HTTP store against real servers on 127.0.0.1 (ctest label "http"): nginx, which
// implements Range fully, and `python3 -m http.server`, which ignores Range and answers 200 with
// the whole file. The trees served were written by LocalStore; reads through HttpStore must give
// the same bytes and the same array digests. A test whose server is not installed skips, saying
// why.
#include "zarrpp/http_store.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "support/async_checks.h"
#include "support/http_servers.h"
#include "support/sample_tree.h"
#include "support/within_checks.h"
#include "zarrpp/array.h"
#include "zarrpp/digest.h"
#include "zarrpp/local_store.h"
#include "zarrpp/open_store.h"

namespace zarrpp {
namespace {

using test_support::HttpServer;

std::string TempRoot(const std::string& name) {
  const auto p = std::filesystem::temp_directory_path() /
                 ("zarrpp_http_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

// A directory with a sample tree and a few plain values, served by one server kind.
class Served {
 public:
  Served(const std::string& name, bool nginx) : root_(TempRoot(name)) {
    auto local = LocalStore::Create(root_);
    EXPECT_TRUE(local.ok()) << local.status();
    local_ = *local;
    Status s = test_support::WriteSampleTree(local_);
    EXPECT_TRUE(s.ok()) << s;
    value_.resize(100000);
    std::mt19937 rng(7);
    for (auto& b : value_) b = static_cast<uint8_t>(rng());
    EXPECT_TRUE(local_->set("blob/v", value_).ok());
    EXPECT_TRUE(local_->set("blob/empty", Bytes()).ok());
    EXPECT_TRUE(local_->set("blob/odd name+x", AsBytes(std::string("spaced"))).ok());
    server_ = nginx ? HttpServer::StartNginx(root_, why_) : HttpServer::StartPython(root_, why_);
  }
  ~Served() {
    server_.reset();
    std::filesystem::remove_all(root_);
  }
  bool up() const { return server_ != nullptr; }
  const std::string& root() const { return root_; }
  const std::string& why() const { return why_; }
  std::string url() const { return server_->url(); }
  const std::shared_ptr<LocalStore>& local() const { return local_; }
  const Bytes& value() const { return value_; }

 private:
  std::string root_;
  std::shared_ptr<LocalStore> local_;
  Bytes value_;
  std::string why_;
  std::unique_ptr<HttpServer> server_;
};

Bytes Slice(const Bytes& v, uint64_t begin, uint64_t end) {
  return Bytes(v.begin() + begin, v.begin() + end);
}

// Every range kind on the 100,000-byte value, as a server that honours Range and one that does
// not must both answer it.
void CheckRanges(Store& http, const Bytes& v) {
  Bytes out;
  auto r = http.get_into("blob/v", ByteRange::Whole(), out);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(*r);
  EXPECT_EQ(out, v);
  struct Case {
    ByteRange range;
    uint64_t begin, end;
  };
  for (const Case& c :
       {Case{ByteRange::Bounded(100, 200), 100, 200}, Case{ByteRange::Bounded(0, 1), 0, 1},
        Case{ByteRange::Bounded(99999, 100000), 99999, 100000},
        Case{ByteRange::Bounded(5000, 5000), 5000, 5000},
        Case{ByteRange::FromOffset(99990), 99990, 100000},
        Case{ByteRange::FromOffset(0), 0, 100000},
        Case{ByteRange::FromOffset(100000), 100000, 100000},
        Case{ByteRange::Suffix(16), 99984, 100000}, Case{ByteRange::Suffix(0), 100000, 100000},
        Case{ByteRange::Suffix(200000), 0, 100000}}) {
    out.assign(3, 0xAA);  // stale bytes must not survive
    auto got = http.get_into("blob/v", c.range, out);
    ASSERT_TRUE(got.ok()) << c.range.ToString() << ": " << got.status();
    EXPECT_TRUE(*got) << c.range.ToString();
    EXPECT_EQ(out, Slice(v, c.begin, c.end)) << c.range.ToString();
  }
  // Out of bounds: InvalidArgument naming the key, as every store.
  for (const ByteRange& bad : {ByteRange::Bounded(99990, 100010), ByteRange::FromOffset(100001),
                               ByteRange::Bounded(200000, 200001), ByteRange::Bounded(10, 5)}) {
    auto got = http.get_into("blob/v", bad, out);
    ASSERT_FALSE(got.ok()) << bad.ToString();
    EXPECT_EQ(got.status().code(), Status::Code::kInvalidArgument) << got.status();
    EXPECT_NE(got.status().message().find("blob/v"), std::string::npos) << got.status();
  }
  // The empty value.
  auto e = http.get_into("blob/empty", ByteRange::Whole(), out);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_TRUE(*e);
  EXPECT_TRUE(out.empty());
  e = http.get_into("blob/empty", ByteRange::Suffix(8), out);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_TRUE(*e);
  EXPECT_TRUE(out.empty());
  // A key that needs escaping.
  auto odd = http.get("blob/odd name+x");
  ASSERT_TRUE(odd.ok()) << odd.status();
  ASSERT_TRUE(odd->has_value());
  EXPECT_EQ(AsString(**odd), "spaced");
  // Missing keys are absent, not errors, for every kind of read.
  for (const ByteRange& range : {ByteRange::Whole(), ByteRange::Bounded(0, 4), ByteRange::Suffix(4),
                                 ByteRange::Bounded(3, 3)}) {
    auto m = http.get_into("blob/missing", range, out);
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_FALSE(*m) << range.ToString();
  }
  auto size = http.size("blob/v");
  ASSERT_TRUE(size.ok()) << size.status();
  EXPECT_EQ(*size, std::optional<uint64_t>(100000));
  size = http.size("blob/missing");
  ASSERT_TRUE(size.ok()) << size.status();
  EXPECT_FALSE(size->has_value());
  auto ex = http.exists("blob/empty");
  ASSERT_TRUE(ex.ok());
  EXPECT_TRUE(*ex);
  ex = http.exists("nothing/here");
  ASSERT_TRUE(ex.ok());
  EXPECT_FALSE(*ex);

  // Many ranges at once (keys repeat, one is missing): each answer is its own range.
  std::vector<KeyRange> requests;
  for (uint64_t i = 0; i < 200; ++i) {
    requests.push_back({"blob/v", ByteRange::Bounded(i * 397, i * 397 + 1 + i % 50)});
  }
  requests.push_back({"blob/missing", ByteRange::Bounded(0, 1)});
  requests.push_back({"blob/v", ByteRange::Suffix(10)});
  requests.push_back({"blob/empty", ByteRange::Whole()});
  auto many = http.get_ranges(requests);
  ASSERT_TRUE(many.ok()) << many.status();
  ASSERT_EQ(many->size(), requests.size());
  for (uint64_t i = 0; i < 200; ++i) {
    ASSERT_TRUE((*many)[i].has_value()) << i;
    EXPECT_EQ(*(*many)[i], Slice(v, i * 397, i * 397 + 1 + i % 50)) << i;
  }
  EXPECT_FALSE((*many)[200].has_value());
  ASSERT_TRUE((*many)[201].has_value());
  EXPECT_EQ(*(*many)[201], Slice(v, 99990, 100000));
  ASSERT_TRUE((*many)[202].has_value());
  EXPECT_TRUE((*many)[202]->empty());
}

// Arrays written by LocalStore read back through the HTTP store with equal digests, and a
// partial read of the sharded array gives the same elements.
void CheckArrays(const std::shared_ptr<Store>& http, const std::shared_ptr<Store>& local) {
  const std::vector<std::string> paths = test_support::SampleTreeArrays();
  auto want = test_support::DigestArrays(local, paths);
  ASSERT_TRUE(want.ok()) << want.status();
  auto got = test_support::DigestArrays(http, paths);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, *want);
  for (const Region& region :
       {Region{{3, 5}, {40, 41}}, Region{{120, 120}, {20, 30}}, Region{{255, 0}, {1, 320}}}) {
    auto l = Array::Open(local, "sharded");
    auto h = Array::Open(http, "sharded");
    ASSERT_TRUE(l.ok() && h.ok());
    std::vector<float> a(region.num_elements()), b(region.num_elements(), -1.0f);
    ASSERT_TRUE((*l)->Read(region, std::span<float>(a)).ok());
    Status s = (*h)->Read(region, std::span<float>(b));
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_EQ(a, b) << region.ToString();
  }
}

TEST(HttpStoreNginx, EveryRangeKindReturnsTheRightBytes) {
  Served served("nginx_ranges", /*nginx=*/true);
  if (!served.up()) GTEST_SKIP() << served.why();
  auto http = HttpStore::OpenUrl(served.url());
  ASSERT_TRUE(http.ok()) << http.status();
  CheckRanges(**http, served.value());
}

TEST(HttpStoreNginx, TreeWrittenByLocalStoreReadsBackWithEqualDigests) {
  Served served("nginx_tree", /*nginx=*/true);
  if (!served.up()) GTEST_SKIP() << served.why();
  auto http = OpenStore(served.url() + "/");
  ASSERT_TRUE(http.ok()) << http.status();
  CheckArrays(*http, served.local());
  // The capabilities say what HTTP can do.
  const StoreCapabilities c = (*http)->capabilities();
  EXPECT_TRUE(c.readable && c.partial_reads);
  EXPECT_FALSE(c.writable || c.erasable || c.listable);
  EXPECT_GT(c.io_concurrency, 0u);
}

TEST(HttpStoreNginx, AnArrayBelowTheBaseUrlOpensByItsOwnUrl) {
  Served served("nginx_sub", /*nginx=*/true);
  if (!served.up()) GTEST_SKIP() << served.why();
  auto http = OpenStore(served.url() + "/sub/ints");
  ASSERT_TRUE(http.ok()) << http.status();
  auto local = LocalStore::Create(served.root() + "/sub/ints");
  ASSERT_TRUE(local.ok()) << local.status();
  auto want = DigestTree(*local, "");
  auto got = DigestTree(*http, "");
  ASSERT_TRUE(want.ok() && got.ok()) << got.status();
  ASSERT_EQ(got->size(), 1u);
  ASSERT_TRUE((*got)[0].error.ok()) << (*got)[0].error;
  EXPECT_EQ((*got)[0].sha256, (*want)[0].sha256);
  // The root group cannot be digested without listing: Unsupported, saying why.
  auto root = OpenStore(served.url());
  ASSERT_TRUE(root.ok());
  auto group = DigestTree(*root, "");
  ASSERT_FALSE(group.ok());
  EXPECT_EQ(group.status().code(), Status::Code::kUnsupported) << group.status();
  EXPECT_NE(group.status().message().find("cannot list"), std::string::npos) << group.status();
}

TEST(HttpStoreNginx, WritesAndListingAreUnsupportedNamingTheOperation) {
  Served served("nginx_ro", /*nginx=*/true);
  if (!served.up()) GTEST_SKIP() << served.why();
  auto http = HttpStore::OpenUrl(served.url());
  ASSERT_TRUE(http.ok()) << http.status();
  Store& s = **http;
  for (auto [name, status] :
       {std::pair<std::string, Status>{"set", s.set("k", AsBytes(std::string("x")))},
        {"erase", s.erase("blob/v")},
        {"erase_prefix", s.erase_prefix("blob/")},
        {"set_range", s.set_range("blob/v", 0, AsBytes(std::string("x")))},
        {"list_prefix", s.list_prefix("").status()},
        {"list_dir", s.list_dir("blob/").status()},
        {"list", s.list().status()}}) {
    EXPECT_EQ(status.code(), Status::Code::kUnsupported) << name << ": " << status;
    EXPECT_NE(status.message().find(name), std::string::npos) << name << ": " << status;
  }
  // Nothing was written or erased.
  auto v = s.get("blob/v");
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ(**v, served.value());
  auto k = served.local()->exists("k");
  ASSERT_TRUE(k.ok());
  EXPECT_FALSE(*k);
}

TEST(HttpStorePythonServer, ServerIgnoringRangeStillGivesTheRightBytes) {
  Served served("python_ranges", /*nginx=*/false);
  if (!served.up()) GTEST_SKIP() << served.why();
  auto http = HttpStore::OpenUrl(served.url());
  ASSERT_TRUE(http.ok()) << http.status();
  CheckRanges(**http, served.value());
}

TEST(HttpStorePythonServer, ShardedAndChunkedArraysReadBackWithEqualDigests) {
  Served served("python_tree", /*nginx=*/false);
  if (!served.up()) GTEST_SKIP() << served.why();
  auto http = OpenStore(served.url());
  ASSERT_TRUE(http.ok()) << http.status();
  CheckArrays(*http, served.local());
}

// --- Completion-based reads (Store::get_async) on the transport's event loop -----------------

// Position-encoded values written by LocalStore are read back through get_async, all in flight
// at once, with every range kind answered as the synchronous read answers it; a missing key is
// not found, a key the server answers with an error (a directory: a redirect) is an IOError.
void CheckAsyncReads(const Served& served) {
  constexpr size_t kN = 300;
  for (size_t i = 0; i < kN; ++i) {
    ASSERT_TRUE(served.local()->set(test_support::KeyOf(i), test_support::ValueOf(i, 50 + i)).ok());
  }
  auto http = HttpStore::OpenUrl(served.url());
  ASSERT_TRUE(http.ok()) << http.status();
  EXPECT_TRUE((*http)->capabilities().async_io);
  std::vector<Bytes> out(kN);
  std::vector<Result<bool>> found(kN, Status::IOError("not called"));
  test_support::Latch latch(kN);
  for (size_t i = 0; i < kN; ++i) {
    (*http)->get_async(test_support::KeyOf(i), ByteRange::Whole(), out[i], [&, i](Result<bool> f) {
      found[i] = std::move(f);
      latch.Done();
    });
  }
  ASSERT_TRUE(latch.Wait());
  for (size_t i = 0; i < kN; ++i) {
    ASSERT_TRUE(found[i].ok()) << i << ": " << found[i].status();
    EXPECT_TRUE(*found[i]);
    EXPECT_EQ(out[i], test_support::ValueOf(i, 50 + i)) << i;
  }
  for (const ByteRange& r :
       {ByteRange::Bounded(100, 200), ByteRange::FromOffset(99990), ByteRange::Suffix(16),
        ByteRange::Bounded(5000, 5000), ByteRange::FromOffset(100000), ByteRange::Suffix(0),
        ByteRange::Suffix(200000), ByteRange::Bounded(99990, 100010),
        ByteRange::FromOffset(100001)}) {
    for (const char* key : {"blob/v", "blob/missing"}) {
      Bytes sync_out, async_out;
      Result<bool> sync = (*http)->get_into(key, r, sync_out);
      test_support::Latch one(1);
      Result<bool> async = false;
      (*http)->get_async(key, r, async_out, [&](Result<bool> f) {
        async = std::move(f);
        one.Done();
      });
      ASSERT_TRUE(one.Wait());
      ASSERT_EQ(sync.ok(), async.ok())
          << key << " " << r.ToString() << ": " << sync.status() << " / " << async.status();
      if (sync.ok()) {
        EXPECT_EQ(*sync, *async) << key << " " << r.ToString();
        EXPECT_EQ(sync_out, async_out) << key << " " << r.ToString();
      } else {
        EXPECT_EQ(sync.status().code(), async.status().code()) << r.ToString();
      }
    }
  }
  test_support::Latch one(1);
  Bytes dir;
  Result<bool> error = true;
  (*http)->get_async("blob", ByteRange::Whole(), dir, [&](Result<bool> f) {
    error = std::move(f);
    one.Done();
  });
  ASSERT_TRUE(one.Wait());
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(error.status().code(), Status::Code::kIOError) << error.status();
  EXPECT_NE(error.status().message().find("blob"), std::string::npos) << error.status();
}

TEST(HttpStoreNginx, AsyncReadsGiveTheRightBytes) {
  Served served("nginx_async", /*nginx=*/true);
  if (!served.up()) GTEST_SKIP() << served.why();
  CheckAsyncReads(served);
}

TEST(HttpStorePythonServer, AsyncReadsGiveTheRightBytes) {
  Served served("python_async", /*nginx=*/false);
  if (!served.up()) GTEST_SKIP() << served.why();
  CheckAsyncReads(served);
}

// Destroying the store with reads in flight completes every one before the destructor returns.
TEST(HttpStoreNginx, DestroyingTheStoreWithReadsPendingCompletesThem) {
  Served served("nginx_async_destroy", /*nginx=*/true);
  if (!served.up()) GTEST_SKIP() << served.why();
  auto http = HttpStore::OpenUrl(served.url());
  ASSERT_TRUE(http.ok()) << http.status();
  std::shared_ptr<HttpStore> store = std::move(*http);
  constexpr size_t kN = 300;
  std::vector<Bytes> out(kN);
  std::atomic<size_t> calls{0}, right{0};
  for (size_t i = 0; i < kN; ++i) {
    store->get_async("blob/v", ByteRange::Whole(), out[i], [&, i](Result<bool> f) {
      if (f.ok() && *f && out[i] == served.value()) right.fetch_add(1);
      calls.fetch_add(1);
    });
  }
  store.reset();
  EXPECT_EQ(calls.load(), kN);
  EXPECT_LE(right.load(), kN);
}

// get_within and get_within_async place values straight into the pieces: one that fits lands in
// their front, a larger one gives its size with nothing written, a missing one nullopt.
TEST(HttpStoreNginx, WithinReadsPlaceTheValueInThePieces) {
  Served served("nginx_within", /*nginx=*/true);
  if (!served.up()) GTEST_SKIP() << served.why();
  auto http = HttpStore::OpenUrl(served.url());
  ASSERT_TRUE(http.ok()) << http.status();
  for (size_t size : {0, 1, 1000, 70'000, 3 << 20}) {
    test_support::WithinChecks(*served.local(), **http, size);
  }
}

// Many get_within_async calls in flight at once, each into pieces of its own.
TEST(HttpStoreNginx, ManyAsyncWithinReadsInFlightGiveTheRightBytes) {
  Served served("nginx_within_many", /*nginx=*/true);
  if (!served.up()) GTEST_SKIP() << served.why();
  constexpr size_t kN = 200;
  for (size_t i = 0; i < kN; ++i) {
    ASSERT_TRUE(
        served.local()->set(test_support::KeyOf(i), test_support::ValueOf(i, 10 + i * 37)).ok());
  }
  auto http = HttpStore::OpenUrl(served.url());
  ASSERT_TRUE(http.ok()) << http.status();
  std::vector<Bytes> out(kN);
  std::vector<std::vector<MutableByteView>> pieces(kN);
  std::vector<Result<std::optional<uint64_t>>> got(kN, Status::IOError("not called"));
  test_support::Latch latch(kN);
  for (size_t i = 0; i < kN; ++i) {
    out[i].assign(10 + i * 37 + 5, 0xEE);
    const size_t half = out[i].size() / 2;
    pieces[i] = {MutableByteView(out[i].data(), half),
                 MutableByteView(out[i].data() + half, out[i].size() - half)};
    (*http)->get_within_async(test_support::KeyOf(i), pieces[i],
                              [&, i](Result<std::optional<uint64_t>> n) {
                                got[i] = std::move(n);
                                latch.Done();
                              });
  }
  ASSERT_TRUE(latch.Wait());
  for (size_t i = 0; i < kN; ++i) {
    ASSERT_TRUE(got[i].ok()) << i << ": " << got[i].status();
    ASSERT_EQ(*got[i], std::optional<uint64_t>(10 + i * 37)) << i;
    const Bytes want = test_support::ValueOf(i, 10 + i * 37);
    EXPECT_TRUE(std::equal(want.begin(), want.end(), out[i].begin())) << i;
    EXPECT_TRUE(std::all_of(out[i].begin() + static_cast<ptrdiff_t>(want.size()), out[i].end(),
                            [](uint8_t b) { return b == 0xEE; }))
        << i;
  }
}

// A server on 127.0.0.1 that answers every request with the same bytes and closes the
// connection: for answers no real server gives on purpose.
class CannedServer {
 public:
  explicit CannedServer(std::string answer) : answer_(std::move(answer)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(fd_, 64) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      return;
    }
    url_ = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
    thread_ = std::thread([this] { Serve(); });
  }
  ~CannedServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  const std::string& url() const { return url_; }
  size_t requests() const { return requests_.load(); }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      std::string request;
      char buf[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        request.append(buf, static_cast<size_t>(n));
      }
      requests_.fetch_add(1);
      size_t at = 0;
      while (at < answer_.size()) {
        const ssize_t n = ::send(c, answer_.data() + at, answer_.size() - at, MSG_NOSIGNAL);
        if (n <= 0) break;
        at += static_cast<size_t>(n);
      }
      ::shutdown(c, SHUT_RDWR);
      ::close(c);
    }
  }

  std::string answer_;
  int fd_ = -1;
  std::string url_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> requests_{0};
};

// Answers that are not a value (a body cut short, one longer than the pieces without saying so,
// a 206 nobody asked for, a server error) are a clear IOError naming the key, from get_within and
// get_within_async alike, and nothing is written outside the pieces.
TEST(HttpStore, MisbehavingServerWithinReadsAreIOErrorsWrittenInsideThePieces) {
  const std::string body(300, 'v');
  struct Case {
    const char* what;
    std::string answer;
  };
  const std::vector<Case> cases = {
      {"short body", "HTTP/1.1 200 OK\r\nContent-Length: 150\r\n\r\n" + body.substr(0, 60)},
      {"long body without length", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body},
      {"206 unasked",
       "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 5-14/300\r\nContent-Length: "
       "10\r\n\r\n" +
           body.substr(0, 10)},
      {"500", "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    CannedServer server(c.answer);
    ASSERT_FALSE(server.url().empty()) << "no listening socket";
    HttpStoreOptions o;
    o.base_url = server.url();
    o.max_retries = 1;
    o.retry_base_delay = std::chrono::milliseconds(1);
    o.retry_max_delay = std::chrono::milliseconds(2);
    auto http = HttpStore::Open(o);
    ASSERT_TRUE(http.ok()) << http.status();
    for (bool async : {false, true}) {
      SCOPED_TRACE(async ? "get_within_async" : "get_within");
      // 200 bytes of pieces between guard bytes.
      Bytes buffer(232, 0xEE);
      const std::vector<MutableByteView> pieces = {MutableByteView(buffer.data() + 16, 50),
                                                   MutableByteView(buffer.data() + 66, 150)};
      Result<std::optional<uint64_t>> got = Status::IOError("not called");
      if (async) {
        test_support::Latch one(1);
        (*http)->get_within_async("a/key", pieces, [&](Result<std::optional<uint64_t>> n) {
          got = std::move(n);
          one.Done();
        });
        ASSERT_TRUE(one.Wait());
      } else {
        got = (*http)->get_within("a/key", pieces);
      }
      ASSERT_FALSE(got.ok()) << (got->has_value() ? std::to_string(**got) : "nullopt");
      EXPECT_EQ(got.status().code(), Status::Code::kIOError) << got.status();
      EXPECT_NE(got.status().message().find("a/key"), std::string::npos) << got.status();
      EXPECT_TRUE(
          std::all_of(buffer.begin(), buffer.begin() + 16, [](uint8_t b) { return b == 0xEE; }));
      EXPECT_TRUE(
          std::all_of(buffer.end() - 16, buffer.end(), [](uint8_t b) { return b == 0xEE; }));
    }
  }
}

// A Content-Length larger than the pieces: the body is not received and its size is returned.
TEST(HttpStore, AnnouncedLengthLargerThanThePiecesGivesTheSizeWithNothingWritten) {
  CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'v'));
  ASSERT_FALSE(server.url().empty()) << "no listening socket";
  auto http = HttpStore::OpenUrl(server.url());
  ASSERT_TRUE(http.ok()) << http.status();
  Bytes buffer(100, 0xEE);
  const std::vector<MutableByteView> pieces = {MutableByteView(buffer.data(), buffer.size())};
  auto got = (*http)->get_within("k", pieces);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, std::optional<uint64_t>(5000));
  EXPECT_TRUE(std::all_of(buffer.begin(), buffer.end(), [](uint8_t b) { return b == 0xEE; }));
}

TEST(HttpStore, UnreachableServerIsAnIOErrorNamingTheUrl) {
  HttpStoreOptions o;
  o.base_url = "http://127.0.0.1:" + std::to_string(test_support::FreeLocalPort()) + "/base";
  o.max_retries = 1;
  o.retry_base_delay = std::chrono::milliseconds(1);
  o.connect_timeout = std::chrono::milliseconds(500);
  auto http = HttpStore::Open(o);
  ASSERT_TRUE(http.ok()) << http.status();
  auto got = (*http)->get("a/b");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Status::Code::kIOError) << got.status();
  EXPECT_NE(got.status().message().find("/base/a/b"), std::string::npos) << got.status();
}

TEST(HttpStore, BadBaseUrlsAreInvalidArgumentAndSecretsAreNotShown) {
  for (const char* bad : {"ftp://host/x", "http://", "http://host/x?y=1", "host/x"}) {
    auto http = HttpStore::OpenUrl(bad);
    ASSERT_FALSE(http.ok()) << bad;
    EXPECT_EQ(http.status().code(), Status::Code::kInvalidArgument) << http.status();
  }
  auto http = HttpStore::OpenUrl("http://user:hunter2@127.0.0.1:1/data/");
  ASSERT_TRUE(http.ok()) << http.status();
  EXPECT_EQ((*http)->description(), "http://127.0.0.1:1/data");
}

}  // namespace
}  // namespace zarrpp
