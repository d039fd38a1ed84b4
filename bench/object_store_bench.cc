// Object-store benchmarks: W1 blosc-lz4 and the W2 sharded layout on S3 (Ceph RGW over loopback)
// against the limit of that server, and the same cells on a memory store behind 10 ms of latency.
//
//   ZARRPP_S3_ENDPOINT=http://127.0.0.1:7490 ZARRPP_S3_ACCESS_KEY=zarrAK \
//   ZARRPP_S3_SECRET_KEY=zarrSK build/bench/object_store_bench
//
// Cells (each a ratio in the same run):
//   W1 write / read     Array::Write / Read of W1 (8192 x 8192 float32, 256 chunks, blosc-lz4)
//                       against the limit: the same 256 encoded objects PUT / GET through the
//                       same libcurl event loop at the same concurrency, with no Zarr work.
//   W2 write / read     uint8 100,000,000, chunks 100,000 in shards of 10,000,000 (zstd 3), the
//                       same comparison with the 10 shard objects.
//   W2 1 % read         every 100th inner chunk read whole (10 of 1,000): store requests counted
//                       against index reads + touched inner chunks.
//   threads             threads of the process during a read of 1,024 chunks with 256 requests in
//                       flight, against 2 x cores + 8.
// The latency rows use a MemoryStore behind LatencyStore(10 ms); their "limit" is the time the
// requests take when all are in flight at once: ceil(requests / in flight) x 10 ms.
// Every cell runs twice: "completion" rows on the stores' completion-based operations, "blocking"
// rows on the same store with those hidden (the I/O-thread lanes; the form before them).
// Without ZARRPP_S3_ENDPOINT the S3 rows are skipped (said on stderr).
//
//   ... ZARRPP_RGW_RUN_DIR=<rgw.sh DIR>/run build/bench/object_store_bench --bound N
// runs only the S3 W1 cells, N interleaved repetitions, with the CPU seconds of this process and
// of the server's processes for the Zarr run and the limit run, and the bound they set on 2 shared
// cores (BoundCells below).
#include <blosc.h>
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "src/tools/workloads.h"
#include "stores/http/curl_transport.h"
#include "stores/s3/s3_util.h"
#include "zarrpp/array.h"
#include "zarrpp/executor.h"
#include "zarrpp/json.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/s3_store.h"
#include "zarrpp/store_wrappers.h"

namespace zarrpp {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

size_t ThreadCount() {
  size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
  }
  return n;
}

// The most threads seen while `fn` runs (sampled every millisecond).
template <typename Fn>
size_t PeakThreads(Fn&& fn) {
  std::atomic<bool> done{false};
  std::atomic<size_t> peak{ThreadCount()};
  std::thread sampler([&] {
    while (!done.load()) {
      const size_t n = ThreadCount();
      size_t p = peak.load();
      while (n > p && !peak.compare_exchange_weak(p, n)) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  fn();
  done = true;
  sampler.join();
  return peak.load() - 1;  // not the sampler itself
}

struct Row {
  std::string cell;
  double engine = 0;
  double limit = 0;
  std::string note;
};
std::vector<Row>& Rows() {
  static std::vector<Row> rows;
  return rows;
}

void Fail(const std::string& what, const Status& s) {
  std::fprintf(stderr, "object_store_bench: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

template <typename T>
T Must(Result<T> r, const std::string& what) {
  if (!r.ok()) Fail(what, r.status());
  return std::move(*r);
}

// Best of `reps` runs of fn (seconds).
template <typename Fn>
double Best(int reps, Fn&& fn) {
  double best = 1e300;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    fn();
    best = std::min(best, Seconds(t0, Clock::now()));
  }
  return best;
}

struct S3Env {
  S3StoreOptions options;
  bool present = false;
};

S3Env FromEnvironment() {
  S3Env e;
  const char* endpoint = std::getenv("ZARRPP_S3_ENDPOINT");
  if (endpoint == nullptr || !*endpoint) return e;
  e.present = true;
  e.options.endpoint = endpoint;
  const char* region = std::getenv("ZARRPP_S3_REGION");
  e.options.region = region ? region : "us-east-1";
  const char* ak = std::getenv("ZARRPP_S3_ACCESS_KEY");
  const char* sk = std::getenv("ZARRPP_S3_SECRET_KEY");
  e.options.access_key_id = ak ? ak : "";
  e.options.secret_access_key = sk ? sk : "";
  e.options.addressing = S3StoreOptions::Addressing::kPath;
  std::random_device rd;
  e.options.bucket = "zarrpp-bench-" + std::to_string(rd() % 100000000);
  e.options.max_in_flight = 64;
  return e;
}

// The objects an engine write stored (key -> bytes), read back for the limit runs.
std::vector<std::pair<std::string, Bytes>> Objects(Store& store, const std::string& prefix) {
  std::vector<std::pair<std::string, Bytes>> out;
  for (const std::string& key : Must(store.list_prefix(prefix), "list")) {
    auto v = Must(store.get(key), "get " + key);
    if (v) out.emplace_back(key, std::move(*v));
  }
  return out;
}

// Raw PUTs / GETs of `objects` through one event loop of `in_flight`: the server's limit.
struct RawS3 {
  std::shared_ptr<http::CurlTransport> transport;
  S3StoreOptions o;
  std::string Url(const std::string& key) const { return o.endpoint + "/" + o.bucket + "/" + key; }
  void Fill(http::Request& r) const {
    r.aws_sigv4 = "aws:amz:" + o.region + ":s3";
    r.user = o.access_key_id;
    r.password = o.secret_access_key;
    r.headers.push_back("x-amz-content-sha256: UNSIGNED-PAYLOAD");
  }
  // ZARRPP_BENCH_LIMIT_MD5=1: the limit's PUTs carry a Content-MD5 too, computed once before (the
  // server's share of checking it, without the client's).
  mutable std::vector<std::string> md5;
  void Put(const std::vector<std::pair<std::string, Bytes>>& objects) const {
    const char* with_md5 = std::getenv("ZARRPP_BENCH_LIMIT_MD5");
    if (with_md5 && std::string(with_md5) == "1" && md5.size() != objects.size()) {
      md5.clear();
      for (const auto& o : objects) {
        const ByteView v(o.second.data(), o.second.size());
        md5.push_back("Content-MD5: " + s3::ContentMd5(std::span<const ByteView>(&v, 1)));
      }
    }
    std::vector<http::Request> req(objects.size());
    std::vector<http::Response> resp(objects.size());
    for (size_t i = 0; i < objects.size(); ++i) {
      req[i].method = "PUT";
      req[i].url = Url("limit/" + objects[i].first);
      Fill(req[i]);
      if (md5.size() == objects.size()) req[i].headers.push_back(md5[i]);
      req[i].body = {ByteView(objects[i].second.data(), objects[i].second.size())};
    }
    transport->Perform(req, resp);
    for (auto& r : resp) {
      if (r.status != 200) Fail("raw PUT", Status::IOError(std::to_string(r.status)));
    }
  }
  void Get(const std::vector<std::pair<std::string, Bytes>>& objects,
           std::vector<Bytes>& sinks) const {
    std::vector<http::Request> req(objects.size());
    std::vector<http::Response> resp(objects.size());
    sinks.resize(objects.size());
    for (size_t i = 0; i < objects.size(); ++i) {
      req[i].url = Url("limit/" + objects[i].first);
      Fill(req[i]);
      req[i].reserve = objects[i].second.size();
      req[i].sink = &sinks[i];
    }
    transport->Perform(req, resp);
    for (size_t i = 0; i < resp.size(); ++i) {
      if (resp[i].status != 200 || sinks[i].size() != objects[i].second.size()) {
        Fail("raw GET", Status::IOError(std::to_string(resp[i].status)));
      }
    }
  }
};

ArrayMetadata W2Sharded() {
  ArrayMetadata m;
  m.shape = {100'000'000};
  m.chunk_shape = {10'000'000};
  m.data_type = DataType(DataTypeId::kUInt8);
  const Json inner =
      Json::array({{{"name", "bytes"}}, {{"name", "zstd"}, {"configuration", {{"level", 3}}}}});
  const Json index = Json::array(
      {{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}, {{"name", "crc32c"}}});
  m.codecs = Json::array({{{"name", "sharding_indexed"},
                           {"configuration",
                            {{"chunk_shape", {uint64_t{100'000}}},
                             {"codecs", inner},
                             {"index_codecs", index},
                             {"index_location", "end"}}}}});
  return m;
}

void RunCells(const std::string& label, const std::shared_ptr<Store>& store, const RawS3* raw,
              double latency_s, size_t in_flight) {
  const uint64_t rows = workloads::kW1Rows, cols = workloads::kW1Cols;
  std::vector<float> w1(rows * cols), back(rows * cols);
  workloads::GenerateW1(w1.data(), rows, cols, *DefaultExecutor());
  ArrayOptions ao;
  ao.io_concurrency = in_flight;
  CreateOptions overwrite;
  overwrite.overwrite = true;

  // W1 write and read.
  auto w1a = Must(Array::Create(store, "w1", workloads::W1Metadata("blosc-lz4"), overwrite, ao),
                  "create w1");
  const double w1_write = Best(3, [&] {
    Status s = w1a->Write(Region::All({rows, cols}), std::span<const float>(w1));
    if (!s.ok()) Fail("W1 write", s);
  });
  double w1_read = 0;
  const size_t w1_peak = PeakThreads([&] {
    w1_read = Best(3, [&] {
      Status s = w1a->Read(Region::All({rows, cols}), std::span<float>(back));
      if (!s.ok()) Fail("W1 read", s);
    });
  });
  if (back != w1) Fail("W1 read", Status::Corruption("values differ"));
  const auto w1_objects = Objects(*store, "w1/c/");
  double w1_put_limit = 0, w1_get_limit = 0;
  if (raw) {
    w1_put_limit = Best(3, [&] { raw->Put(w1_objects); });
    std::vector<Bytes> sinks;
    w1_get_limit = Best(3, [&] { raw->Get(w1_objects, sinks); });
  } else {
    const double rounds = std::ceil(double(w1_objects.size()) / double(in_flight));
    w1_put_limit = w1_get_limit = rounds * latency_s;
  }
  Rows().push_back({label + " W1 blosc-lz4 write (256 chunks)", w1_write, w1_put_limit, ""});
  Rows().push_back({label + " W1 blosc-lz4 read", w1_read, w1_get_limit,
                    "peak " + std::to_string(w1_peak) + " threads"});

  // W2 sharded: write, read, 1 % of the inner chunks.
  const ArrayMetadata w2m = W2Sharded();
  std::vector<uint8_t> w2(w2m.shape[0]), w2back(w2m.shape[0]);
  for (size_t i = 0; i < w2.size(); ++i) w2[i] = static_cast<uint8_t>((i * 2654435761u) >> 27);
  auto w2a = Must(Array::Create(store, "w2", w2m, overwrite, ao), "create w2");
  const double w2_write = Best(2, [&] {
    Status s = w2a->Write(Region::All(w2m.shape), std::span<const uint8_t>(w2));
    if (!s.ok()) Fail("W2 write", s);
  });
  const double w2_read = Best(2, [&] {
    Status s = w2a->Read(Region::All(w2m.shape), std::span<uint8_t>(w2back));
    if (!s.ok()) Fail("W2 read", s);
  });
  if (w2back != w2) Fail("W2 read", Status::Corruption("values differ"));
  const auto w2_objects = Objects(*store, "w2/c/");
  double w2_put_limit = 0, w2_get_limit = 0;
  if (raw) {
    w2_put_limit = Best(2, [&] { raw->Put(w2_objects); });
    std::vector<Bytes> sinks;
    w2_get_limit = Best(2, [&] { raw->Get(w2_objects, sinks); });
  } else {
    w2_put_limit = w2_get_limit =
        std::ceil(double(w2_objects.size()) / double(in_flight)) * latency_s;
  }
  Rows().push_back(
      {label + " W2 sharded write (10 shards x 100 inner)", w2_write, w2_put_limit, ""});
  Rows().push_back({label + " W2 sharded read", w2_read, w2_get_limit, ""});

  // 1 %: inner chunks 0, 100, 200, ... (one in every shard), read whole, counted.
  auto counting = std::make_shared<CountingStore>(store);
  auto w2c = Must(Array::Open(counting, "w2", ao), "open w2 counted");
  std::vector<uint8_t> one(100'000);
  counting->reset();
  const double strided = Best(1, [&] {
    for (uint64_t k = 0; k < 1000; k += 100) {
      Status s = w2c->Read(Region{{k * 100'000}, {100'000}}, std::span<uint8_t>(one));
      if (!s.ok()) Fail("W2 1% read", s);
      if (std::memcmp(one.data(), w2.data() + k * 100'000, one.size()) != 0)
        Fail("W2 1% read", Status::Corruption("values differ"));
    }
  });
  const auto c = counting->counters();
  const uint64_t requests = c.get_into + c.get_ranges + c.get_if + c.reader_read + c.size;
  char note[160];
  std::snprintf(note, sizeof(note),
                "%llu requests (get/get_if/reader reads/size); bound 10 index + 10 chunks = 20",
                static_cast<unsigned long long>(requests));
  Rows().push_back(
      {label + " W2 1% of inner chunks (10 of 1,000)", strided, raw ? 0.0 : 20 * latency_s, note});

  // Threads during a 1,024-chunk read with 256 in flight.
  ArrayMetadata many;
  many.shape = {1024 * 4096};
  many.chunk_shape = {4096};
  many.data_type = DataType(DataTypeId::kUInt8);
  ArrayOptions wide;
  wide.io_concurrency = 256;
  auto ma = Must(Array::Create(store, "many", many, overwrite, wide), "create many");
  std::vector<uint8_t> mv(many.shape[0], 7), mb(many.shape[0]);
  if (Status s = ma->Write(Region::All(many.shape), std::span<const uint8_t>(mv)); !s.ok())
    Fail("many write", s);
  double many_read = 0;
  const size_t peak = PeakThreads([&] {
    many_read = Best(1, [&] {
      if (Status s = ma->Read(Region::All(many.shape), std::span<uint8_t>(mb)); !s.ok())
        Fail("many read", s);
    });
  });
  std::snprintf(note, sizeof(note), "peak %zu threads; goal < 2 x %u cores + 8 = %u", peak,
                std::thread::hardware_concurrency(), 2 * std::thread::hardware_concurrency() + 8);
  Rows().push_back(
      {label + " 1,024-chunk read, 256 in flight", many_read, raw ? 0.0 : 4 * latency_s, note});
}

// --- The CPU bound of the W1 cells (--bound N) --------------------------------------------------
//
// Client and server share the machine's cores, so a cell cannot take less wall time than the CPU
// it needs divided by the cores: wall >= (CPU_server + CPU_client) / cores. Each run measures the
// CPU seconds of this process (getrusage) and of the server's processes (utime + stime from
// /proc/<pid>/stat, pids from the *.pid files in ZARRPP_RGW_RUN_DIR: the gateway, its OSD and
// monitor), and the busy CPU of the whole machine (/proc/stat), for the Zarr run and for the limit
// run, interleaved over N repetitions.

struct CpuSample {
  double wall = 0;
  double client = 0;   // this process, user + system
  double server = 0;   // the server's processes, user + system
  double machine = 0;  // every process on the machine, user + system (busy time of all cores)
};

double ClientCpu() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto sec = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) * 1e-6; };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

std::vector<int> ServerPids() {
  std::vector<int> pids;
  const char* dir = std::getenv("ZARRPP_RGW_RUN_DIR");
  if (dir == nullptr || !*dir) return pids;
  if (DIR* d = ::opendir(dir)) {
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name.size() < 5 || name.substr(name.size() - 4) != ".pid") continue;
      std::ifstream f(std::string(dir) + "/" + name);
      int pid = 0;
      if (f >> pid && pid > 0) pids.push_back(pid);
    }
    ::closedir(d);
  }
  return pids;
}

// utime + stime of `pid` in seconds (fields 14 and 15 of /proc/<pid>/stat).
double ProcessCpu(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return 0;
  const size_t close = line.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return 0;
  std::vector<std::string> fields;
  size_t at = close + 2;
  while (at < line.size()) {
    const size_t sp = line.find(' ', at);
    fields.push_back(line.substr(at, sp == std::string::npos ? std::string::npos : sp - at));
    if (sp == std::string::npos) break;
    at = sp + 1;
  }
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  if (fields.size() < 13) return 0;
  const double tick = double(::sysconf(_SC_CLK_TCK));
  return (std::stod(fields[11]) + std::stod(fields[12])) / tick;
}

double MachineCpu() {
  std::ifstream f("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  f >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  return (user + nice + system + irq + softirq + steal) / double(::sysconf(_SC_CLK_TCK));
}

template <typename Fn>
CpuSample Measure(const std::vector<int>& server, Fn&& fn) {
  auto server_cpu = [&] {
    double s = 0;
    for (int pid : server) s += ProcessCpu(pid);
    return s;
  };
  const double c0 = ClientCpu(), s0 = server_cpu(), m0 = MachineCpu();
  const auto t0 = Clock::now();
  fn();
  const auto t1 = Clock::now();
  return {Seconds(t0, t1), ClientCpu() - c0, server_cpu() - s0, MachineCpu() - m0};
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void BoundCells(const std::shared_ptr<Store>& store, const RawS3& raw, int reps) {
  const std::vector<int> server = ServerPids();
  if (server.empty()) {
    std::fprintf(stderr,
                 "object_store_bench: --bound needs ZARRPP_RGW_RUN_DIR (the run directory of "
                 "tests/services/rgw.sh, with the servers' .pid files)\n");
    std::exit(2);
  }
  const double cores = double(std::thread::hardware_concurrency());
  const uint64_t rows = workloads::kW1Rows, cols = workloads::kW1Cols;
  std::vector<float> w1(rows * cols), back(rows * cols);
  workloads::GenerateW1(w1.data(), rows, cols, *DefaultExecutor());
  ArrayOptions ao;
  ao.io_concurrency = raw.o.max_in_flight;
  // For comparisons: the Zarr run's requests in flight and in-flight budget.
  if (const char* v = std::getenv("ZARRPP_BENCH_IO_CONCURRENCY")) ao.io_concurrency = std::stoul(v);
  if (const char* v = std::getenv("ZARRPP_BENCH_INFLIGHT_BYTES")) {
    ao.max_inflight_bytes = std::stoull(v);
  }
  CreateOptions overwrite;
  overwrite.overwrite = true;
  auto a = Must(Array::Create(store, "w1", workloads::W1Metadata("blosc-lz4"), overwrite, ao),
                "create w1");
  auto write = [&] {
    if (Status s = a->Write(Region::All({rows, cols}), std::span<const float>(w1)); !s.ok())
      Fail("W1 write", s);
  };
  auto read = [&] {
    if (Status s = a->Read(Region::All({rows, cols}), std::span<float>(back)); !s.ok())
      Fail("W1 read", s);
  };
  write();
  read();
  if (back != w1) Fail("W1 read", Status::Corruption("values differ"));
  // Requests in flight during a read (untimed, through a counting wrapper).
  size_t read_in_flight = 0;
  {
    auto counting = std::make_shared<CountingStore>(store);
    auto ca = Must(Array::Open(counting, "w1", ao), "open w1 counted");
    // The first read gives this handle its estimate of the encoded size, as the timed runs have.
    if (Status s = ca->Read(Region::All({rows, cols}), std::span<float>(back)); !s.ok())
      Fail("W1 read", s);
    counting->reset();
    if (Status s = ca->Read(Region::All({rows, cols}), std::span<float>(back)); !s.ok())
      Fail("W1 read", s);
    read_in_flight = counting->counters().max_in_flight;
  }
  const auto objects = Objects(*store, "w1/c/");
  uint64_t stored = 0;
  for (const auto& o : objects) stored += o.second.size();
  std::vector<Bytes> sinks;
  raw.Put(objects);
  raw.Get(objects, sinks);

  // [cell][0 = zarr, 1 = limit]
  std::vector<CpuSample> runs[2][2];
  for (int r = 0; r < reps; ++r) {
    // Alternate which of the pair goes first, so neither always follows the other.
    const bool zarr_first = r % 2 == 0;
    for (int cell = 0; cell < 2; ++cell) {
      for (int k = 0; k < 2; ++k) {
        const bool zarr = (k == 0) == zarr_first;
        CpuSample s = Measure(server, [&] {
          if (cell == 0) {
            zarr ? write() : raw.Put(objects);
          } else {
            zarr ? read() : raw.Get(objects, sinks);
          }
        });
        runs[cell][zarr ? 0 : 1].push_back(s);
      }
    }
  }
  std::printf(
      "\nW1 blosc-lz4 on S3 (%zu objects, %.1f MiB stored), %d interleaved repetitions, %g cores, "
      "Zarr: %zu in flight, budget %s (a read reached %zu in flight); medians (CPU in s)\n\n",
      objects.size(), double(stored) / (1 << 20), reps, cores, ao.io_concurrency,
      ao.max_inflight_bytes ? std::to_string(ao.max_inflight_bytes).c_str() : "default",
      read_in_flight);
  std::printf(
      "| cell | zarr wall | limit wall | ratio (min-max) | client CPU zarr / limit | server CPU "
      "zarr / limit | other CPU zarr / limit | limit's own bound | bound ratio | CPU ratio |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n");
  for (int cell = 0; cell < 2; ++cell) {
    auto med = [&](int which, double CpuSample::*f) {
      std::vector<double> v;
      for (const auto& s : runs[cell][which]) v.push_back(s.*f);
      return Median(v);
    };
    auto others = [&](int which) {
      std::vector<double> v;
      for (const auto& s : runs[cell][which])
        v.push_back(std::max(0.0, s.machine - s.client - s.server));
      return Median(v);
    };
    std::vector<double> ratios;
    for (int r = 0; r < reps; ++r) ratios.push_back(runs[cell][0][r].wall / runs[cell][1][r].wall);
    const double zw = med(0, &CpuSample::wall), lw = med(1, &CpuSample::wall);
    const double zc = med(0, &CpuSample::client), lc = med(1, &CpuSample::client);
    const double zs = med(0, &CpuSample::server), ls = med(1, &CpuSample::server);
    std::printf(
        "| W1 %s | %.3f | %.3f | %.2f (%.2f-%.2f) | %.3f / %.3f | %.3f / %.3f | %.3f / %.3f | "
        "%.2f | %.2f | %.2f |\n",
        cell == 0 ? "write" : "read", zw, lw, zw / lw,
        *std::min_element(ratios.begin(), ratios.end()),
        *std::max_element(ratios.begin(), ratios.end()), zc, lc, zs, ls, others(0), others(1),
        (ls + lc) / cores / lw, (zs + zc) / cores / lw, (zs + zc) / (ls + lc));
  }
  // What the Content-MD5 of every PUT costs: the digest of the stored bytes, timed alone.
  const double md5_cpu = [&] {
    const double c0 = ClientCpu();
    size_t sink = 0;
    for (const auto& o : objects) {
      const ByteView v(o.second.data(), o.second.size());
      sink += s3::ContentMd5(std::span<const ByteView>(&v, 1)).size();
    }
    if (sink == 0) std::printf("(no digests)\n");
    return ClientCpu() - c0;
  }();
  std::printf("\nContent-MD5 of the %zu stored objects: %.3f s of CPU.\n", objects.size(), md5_cpu);
  std::printf(
      "\nratio: zarr wall / limit wall (medians; min-max over the repetitions' pairs). "
      "limit's own bound: (server + client CPU of the limit run) / cores / limit wall. "
      "bound ratio: (server + client CPU of the Zarr run) / cores / limit wall, the least ratio "
      "the Zarr run can reach on these cores. CPU ratio: (server + client CPU of the Zarr run) / "
      "(the same of the limit run): the least ratio once the limit run is CPU-bound itself (its "
      "own bound near 1, as on an idle machine).\n");
}

// The same store with its completion-based operations hidden (capabilities().async_io false):
// the pipelines then keep requests in flight with blocking calls on I/O threads, as they do for
// stores without that form. A LatencyStore of zero latency forwards every call unchanged.
std::shared_ptr<Store> Blocking(std::shared_ptr<Store> store, std::chrono::microseconds latency) {
  return std::make_shared<LatencyStore>(std::move(store), latency, /*completion_based=*/false);
}

}  // namespace
}  // namespace zarrpp

// Rows "completion": the pipelines on the store's completion-based operations (get_async,
// set_async). Rows "blocking": the same store and cells with those hidden (I/O threads that
// block, one per request in flight). The blocking rows run last: their I/O thread pools stay for
// the life of the process and would count in the completion rows' thread peaks.
int main(int argc, char** argv) {
  using namespace zarrpp;
  blosc_init();
  const auto ms10 = std::chrono::milliseconds(10);
  S3Env env = FromEnvironment();
  std::shared_ptr<S3Store> s3;
  std::optional<RawS3> raw;
  if (!env.present) {
    std::fprintf(stderr,
                 "object_store_bench: S3 rows skipped: ZARRPP_S3_ENDPOINT is not set (see the "
                 "header of bench/object_store_bench.cc)\n");
  } else {
    if (Status s = S3Store::CreateBucket(env.options); !s.ok()) Fail("create bucket", s);
    s3 = Must(S3Store::Open(env.options), "open S3");
    http::TransportOptions t;
    t.max_in_flight = env.options.max_in_flight;
    raw = RawS3{Must(http::CurlTransport::Create(t), "transport"), env.options};
  }
  if (argc == 3 && std::string(argv[1]) == "--bound") {
    if (!s3) return 2;
    BoundCells(s3, *raw, std::max(1, std::atoi(argv[2])));
    (void)s3->erase_prefix("");
    return 0;
  }
  // Memory behind 10 ms of latency, then S3; each with completion-based operations.
  RunCells("latency10ms completion", std::make_shared<LatencyStore>(MemoryStore::Create(), ms10),
           nullptr, 0.010, 64);
  if (s3) RunCells("s3-rgw completion", s3, &*raw, 0, env.options.max_in_flight);
  RunCells("latency10ms blocking", Blocking(MemoryStore::Create(), ms10), nullptr, 0.010, 64);
  if (s3) {
    RunCells("s3-rgw blocking", Blocking(s3, std::chrono::microseconds(0)), &*raw, 0,
             env.options.max_in_flight);
    (void)s3->erase_prefix("");
  }
  std::printf("\n| cell | engine s | limit s | engine / limit | note |\n|---|---|---|---|---|\n");
  for (const auto& r : Rows()) {
    if (r.limit > 0) {
      std::printf("| %s | %.4f | %.4f | %.2f | %s |\n", r.cell.c_str(), r.engine, r.limit,
                  r.engine / r.limit, r.note.c_str());
    } else {
      std::printf("| %s | %.4f | - | - | %s |\n", r.cell.c_str(), r.engine, r.note.c_str());
    }
  }
  return 0;
}
