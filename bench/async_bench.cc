// A simulation that computes step t+1 while step t is encoded and stored (Array::WriteAsync,
// AppendAsync), against the same loop with synchronous writes.
//
//   A float32 [T, 180, 360] field (T = 128 steps of 253 KiB), chunks [1, 180, 360], zstd level 3,
//   on a LocalStore. Each step is "computed" by a fixed CPU loop that fills the step's buffer,
//   calibrated at start-up to take about as long as writing one step.
//
// Roles, per case ("write": Write of step t into an array created at its final shape;
// "append": Append of step t to an array that starts with no steps):
//   compute  T compute steps alone
//   store    T writes (or appends) of ready data alone
//   limit    baseline: max(compute, store), both measured in the same iteration
//   sync     compute step t, then Write/Append it, for each t
//   async    double-buffered: compute step t+1 into the other buffer while step t's
//            WriteAsync/AppendAsync runs; wait for step t-1's before reusing its buffer
//   paired   every part below back to back in one iteration (rotating their order), so that
//            ratios compare times taken under one load:
//              compute, store, async  as above
//              threads  the compute loop on one thread and the stores (of one ready buffer) on
//                       another, started together, nothing shared: what two cores give
//              handoff  the async loop's protocol by hand, without the engine: the compute thread
//                       fills two buffers in turn, the other thread stores each once filled,
//                       handed over through two spinning counters; the step's bytes move from
//                       the computing core to the storing core, as in the async loop
//              warm     handoff, but each store reads the one buffer its thread has read before:
//                       the hand-over's waits without the bytes changing cores
// Reported: every role's best time over limit's best; then, from the paired role, each part's
// median and best same-iteration ratio to max(compute, store), async over handoff (what the
// engine adds to a bare hand-over) and the process's CPU seconds (getrusage) of each part over
// those of compute and store run apart. The compute loop is calibrated per case to the
// synchronous call the case stores with (Write, or Append with its metadata write).
//
// Run (benchmarks on): TMPDIR=/dev/shm build/bench/async_bench --benchmark_filter=paired
//   --benchmark_repetitions=10 --benchmark_enable_random_interleaving=true
// (TMPDIR on tmpfs keeps the disk's write-back of earlier iterations out of the store's times.)
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "zarrpp/array.h"
#include "zarrpp/json.h"
#include "zarrpp/local_store.h"

namespace zarrpp {
namespace {

constexpr uint64_t kSteps = 128, kBuffers = 2, kNy = 180, kNx = 360, kStepElems = kNy * kNx;

using bench::Check;
using bench::Must;

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
// CPU seconds (user + system) of the whole process: the compute thread, the handle's worker, the
// executor's workers and the kernel's work for the store.
double ProcessCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec);
  };
  return s(u.ru_utime) + s(u.ru_stime);
}
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Iterations of the compute loop per element, set by Calibrate() for each case (0: write,
// 1: append) so that a compute step costs what storing a step costs in that case.
int g_work_of[2] = {1, 1};
int g_work = 1;

// A smooth field (compresses about 2:1 with zstd) that each step shifts.
const std::vector<float>& Base() {
  static const std::vector<float> v = [] {
    std::vector<float> b(kStepElems);
    for (uint64_t y = 0; y < kNy; ++y) {
      for (uint64_t x = 0; x < kNx; ++x) {
        b[y * kNx + x] = static_cast<float>(280.0 + 20.0 * std::sin(0.05 * static_cast<double>(y)) *
                                                        std::cos(0.03 * static_cast<double>(x)));
      }
    }
    return b;
  }();
  return v;
}

// Fills `out` with step `t`, spending g_work iterations of a recurrence per element so that a
// step costs a fixed amount of CPU.
void Compute(uint64_t t, std::vector<float>& out) {
  const int work = g_work;
  const std::vector<float>& base = Base();
  const float shift = 0.01f * static_cast<float>(t);
  for (uint64_t i = 0; i < kStepElems; ++i) {
    const float v = base[i] + shift;
    uint32_t h = static_cast<uint32_t>(i) ^ static_cast<uint32_t>(t);
    for (int k = 0; k < work; ++k) h = (h ^ (h >> 15)) * 2654435761u;
    out[i] = v + static_cast<float>(h & 0xff) * 1e-6f;
  }
  benchmark::DoNotOptimize(out.data());
}

std::vector<float>& StepData() {
  static std::vector<float> v = [] {
    std::vector<float> s(kStepElems);
    Compute(0, s);
    return s;
  }();
  return v;
}

ArrayMetadata Meta(uint64_t t) {
  ArrayMetadata m;
  m.shape = {t, kNy, kNx};
  m.chunk_shape = {1, kNy, kNx};
  m.data_type = DataType(DataTypeId::kFloat32);
  m.fill_value = FillValue::Zero(m.data_type);
  m.codecs = Json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
                          {{"name", "zstd"}, {"configuration", {{"level", 3}}}}});
  return m;
}

struct Fixture {
  std::string dir;
  std::shared_ptr<Store> store;
  int next = 0;
  Fixture() : dir(bench::ScratchDir("async")) {
    store = Must<std::shared_ptr<LocalStore>>(LocalStore::Create(dir), "open store");
  }
  ~Fixture() { bench::RemoveDir(dir); }
  // A new array: at its final shape for writes, with no steps for appends.
  std::shared_ptr<Array> NewArray(bool append) {
    CreateOptions create;
    create.overwrite = true;
    return Must(
        Array::Create(store, "a" + std::to_string(next++ % 4), Meta(append ? 0 : kSteps), create),
        "create");
  }
};

Fixture& F() {
  static Fixture f;
  return f;
}

Region StepRegion(uint64_t t) {
  return Region{{t, 0, 0}, {1, kNy, kNx}};
}

Status StoreStep(Array& a, bool append, uint64_t t, const std::vector<float>& data) {
  const std::span<const float> in(data);
  return append ? a.Append(in, {1, kNy, kNx}, 0) : a.Write(StepRegion(t), in);
}

Future<Status> StoreStepAsync(Array& a, bool append, uint64_t t, const std::vector<float>& data) {
  const std::span<const float> in(data);
  return append ? a.AppendAsync(in, {1, kNy, kNx}, 0) : a.WriteAsync(StepRegion(t), in);
}

double TimeCompute() {
  std::vector<float> buf(kStepElems);
  const auto t0 = Clock::now();
  for (uint64_t t = 0; t < kSteps; ++t) Compute(t, buf);
  return Seconds(t0, Clock::now());
}

double TimeStore(bool append) {
  auto a = F().NewArray(append);
  const auto t0 = Clock::now();
  for (uint64_t t = 0; t < kSteps; ++t) Check(StoreStep(*a, append, t, StepData()), "store");
  return Seconds(t0, Clock::now());
}

double TimeSync(bool append) {
  auto a = F().NewArray(append);
  std::vector<float> buf(kStepElems);
  const auto t0 = Clock::now();
  for (uint64_t t = 0; t < kSteps; ++t) {
    Compute(t, buf);
    Check(StoreStep(*a, append, t, buf), "sync store");
  }
  return Seconds(t0, Clock::now());
}

double TimeAsync(bool append) {
  auto a = F().NewArray(append);
  std::vector<std::vector<float>> bufs(kBuffers, std::vector<float>(kStepElems));
  std::vector<Future<Status>> pending(kBuffers);
  const auto t0 = Clock::now();
  for (uint64_t t = 0; t < kSteps; ++t) {
    std::vector<float>& buf = bufs[t % kBuffers];
    // Step t-kBuffers used this buffer: its store must be done before the buffer is refilled.
    if (pending[t % kBuffers].valid()) Check(pending[t % kBuffers].wait(), "async store");
    Compute(t, buf);
    pending[t % kBuffers] = StoreStepAsync(*a, append, t, buf);
  }
  for (auto& p : pending) {
    if (p.valid()) Check(p.wait(), "async store");
  }
  return Seconds(t0, Clock::now());
}

// Compute and store with nothing between them: the compute loop on a thread of its own and the
// stores on this one, started together, no buffer handed over. What the machine gives two
// independent streams of this work, the floor any overlapping loop can reach.
double TimeThreads(bool append) {
  auto a = F().NewArray(append);
  std::atomic<int> ready{0};
  double compute = 0;
  std::thread c([&] {
    ready.fetch_add(1);
    while (ready.load() < 2) {
    }
    compute = TimeCompute();
  });
  ready.fetch_add(1);
  while (ready.load() < 2) {
  }
  const auto t0 = Clock::now();
  for (uint64_t t = 0; t < kSteps; ++t) Check(StoreStep(*a, append, t, StepData()), "store");
  const double store = Seconds(t0, Clock::now());
  c.join();
  return std::max(store, compute);
}

// The async loop's protocol without the engine's queue: the compute thread fills a ring of
// buffers and this thread stores each as soon as it is filled, handing buffers over through two
// counters that both sides spin on. The store reads memory the other core just wrote, as in the
// async loop; what this costs over `threads` is the hand-over itself. With `warm`, the same
// hand-over, but each store reads one buffer this thread has read before (StepData) instead of
// the one just filled: what remains is the cost of the step's bytes moving between cores.
double TimeHandoff(bool append, bool warm) {
  auto a = F().NewArray(append);
  const size_t n = kBuffers;
  std::vector<std::vector<float>> bufs(n, std::vector<float>(kStepElems));
  std::atomic<uint64_t> produced{0}, consumed{0};
  const auto t0 = Clock::now();
  std::thread c([&] {
    for (uint64_t t = 0; t < kSteps; ++t) {
      while (t - consumed.load(std::memory_order_acquire) >= n) {
      }
      Compute(t, bufs[t % n]);
      produced.store(t + 1, std::memory_order_release);
    }
  });
  for (uint64_t t = 0; t < kSteps; ++t) {
    while (produced.load(std::memory_order_acquire) <= t) {
    }
    Check(StoreStep(*a, append, t, warm ? StepData() : bufs[t % n]), "store");
    consumed.store(t + 1, std::memory_order_release);
  }
  c.join();
  return Seconds(t0, Clock::now());
}

// One measurement of the overlap: every part below back to back in one iteration (in rotating
// order), so that they see the same machine load; with the process's CPU seconds of each.
enum Part { kCompute, kStore, kThreads, kWarm, kHandoff, kAsync, kParts };
struct Paired {
  double wall[kParts] = {}, cpu[kParts] = {};
  double limit() const { return std::max(wall[kCompute], wall[kStore]); }
  double ratio() const { return wall[kAsync] / limit(); }
};
std::vector<Paired> g_paired[2];

template <class F>
double Timed(F f, double& cpu) {
  const double c0 = ProcessCpuSeconds();
  const double s = f();
  cpu = ProcessCpuSeconds() - c0;
  return s;
}

void Role(benchmark::State& state, bool append, const std::string& role) {
  g_work = g_work_of[append ? 1 : 0];
  int rotation = 0;
  for (auto _ : state) {
    double s = 0;
    if (role == "compute") {
      s = TimeCompute();
    } else if (role == "store") {
      s = TimeStore(append);
    } else if (role == "limit") {
      s = std::max(TimeCompute(), TimeStore(append));
    } else if (role == "sync") {
      s = TimeSync(append);
    } else if (role == "paired") {
      Paired p;
      for (int k = 0; k < kParts; ++k) {
        const int part = (k + rotation) % kParts;
        p.wall[part] = Timed(
            [&] {
              switch (part) {
                case kCompute: return TimeCompute();
                case kStore: return TimeStore(append);
                case kThreads: return TimeThreads(append);
                case kWarm: return TimeHandoff(append, true);
                case kHandoff: return TimeHandoff(append, false);
                default: return TimeAsync(append);
              }
            },
            p.cpu[part]);
      }
      ++rotation;
      g_paired[append ? 1 : 0].push_back(p);
      s = p.wall[kAsync];
      state.counters["ratio"] = p.ratio();
    } else {
      s = TimeAsync(append);
    }
    state.SetIterationTime(s);
  }
  state.counters["steps"] = static_cast<double>(kSteps);
  state.counters["work"] = g_work;
}

// The paired measurements: each part's wall time over max(compute, store) of the same iteration
// (median and best over the iterations), async over handoff (what the engine's queue adds to a
// bare hand-over of the same buffers), and each part's process CPU seconds over the CPU of
// compute and store run apart.
void PrintPaired() {
  std::printf(
      "\nOverlap measured in one iteration (all parts back to back; %u cores; ratios: median "
      "over iterations of part / max(compute, store), best in brackets)\n"
      "| case | n | compute ms | store ms | threads | warm | handoff | async | async / handoff "
      "| CPU over compute + store: threads, warm, handoff, async |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n",
      std::max(1u, std::thread::hardware_concurrency()));
  auto sorted = [](std::vector<double> x) {
    std::sort(x.begin(), x.end());
    return x;
  };
  for (int c = 0; c < 2; ++c) {
    const std::vector<Paired>& v = g_paired[c];
    if (v.empty()) continue;
    std::vector<double> ratio[kParts], over, cpu[kParts], compute, store;
    for (const Paired& p : v) {
      for (int part = 0; part < kParts; ++part) {
        ratio[part].push_back(p.wall[part] / p.limit());
        cpu[part].push_back(p.cpu[part] / (p.cpu[kCompute] + p.cpu[kStore]));
      }
      over.push_back(p.wall[kAsync] / p.wall[kHandoff]);
      compute.push_back(p.wall[kCompute]);
      store.push_back(p.wall[kStore]);
    }
    auto med = [&](const std::vector<double>& x) { return sorted(x)[x.size() / 2]; };
    auto cell = [&](int part) {
      char b[64];
      std::snprintf(b, sizeof b, "%.2fx (%.2fx)", med(ratio[part]), sorted(ratio[part]).front());
      return std::string(b);
    };
    std::printf("| %s | %zu | %.1f | %.1f | %s | %s | %s | %s | %.2fx | %.2f, %.2f, %.2f, %.2f |\n",
                c == 0 ? "write" : "append", v.size(), med(compute) * 1e3, med(store) * 1e3,
                cell(kThreads).c_str(), cell(kWarm).c_str(), cell(kHandoff).c_str(),
                cell(kAsync).c_str(), med(over), med(cpu[kThreads]), med(cpu[kWarm]),
                med(cpu[kHandoff]), med(cpu[kAsync]));
  }
  std::fflush(stdout);
}

// Sets g_work_of[case] so that computing one step takes as much CPU as storing one step in that
// case takes wall time: the synchronous Write of a step, or the synchronous Append (chunk and
// metadata) of a step, exactly the call the async loop queues.
void Calibrate() {
  std::vector<float> buf(kStepElems);
  auto cpu_per_step = [&] {
    double best = 1e9;
    for (int rep = 0; rep < 5; ++rep) {
      const double t0 = ThreadCpuSeconds();
      Compute(0, buf);
      best = std::min(best, ThreadCpuSeconds() - t0);
    }
    return best;
  };
  for (int c = 0; c < 2; ++c) {
    const bool append = c == 1;
    double store = 1e9;
    for (int rep = 0; rep < 3; ++rep) {
      auto a = F().NewArray(append);
      const auto t0 = Clock::now();
      for (uint64_t t = 0; t < 8; ++t) Check(StoreStep(*a, append, t, StepData()), "calibrate");
      store = std::min(store, Seconds(t0, Clock::now()) / 8);
    }
    // On a loaded machine a compute step's wall time also counts the time other processes hold
    // its core, so the CPU time is matched.
    g_work = 64;
    for (int round = 0; round < 4; ++round) {
      const double scaled = static_cast<double>(g_work) * store / cpu_per_step();
      g_work = std::max(1, static_cast<int>(std::lround(scaled)));
    }
    g_work_of[c] = g_work;
    std::printf(
        "calibration (%s): store %.3f ms/step (wall), compute %.3f ms/step (CPU; %d "
        "iterations/element)\n",
        append ? "append" : "write", store * 1e3, cpu_per_step() * 1e3, g_work);
  }
}

}  // namespace
}  // namespace zarrpp

int main(int argc, char** argv) {
  using zarrpp::Role;
  zarrpp::Calibrate();
  for (const char* c : {"write", "append"}) {
    const bool append = std::string(c) == "append";
    for (const char* role : {"limit", "compute", "store", "sync", "async", "paired"}) {
      benchmark::RegisterBenchmark(
          (std::string(c) + "/" + role).c_str(),
          [append, r = std::string(role)](benchmark::State& s) { Role(s, append, r); })
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond)
          ->Iterations(2);
    }
  }
  const int rc = zarrpp::bench::RunWithRatios(argc, argv, "limit",
                                              "Compute overlapped with stores (T = 32 steps)",
                                              {"compute", "store", "sync", "async"});
  zarrpp::PrintPaired();
  return rc;
}
