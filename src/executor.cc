#include "zarrpp/executor.h"

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

namespace zarrpp {
namespace {

class InlineExecutorImpl final : public Executor {
 public:
  size_t concurrency() const override { return 1; }
  void ParallelFor(size_t n, size_t /*grain*/,
                   const std::function<void(size_t, size_t)>& body) override {
    if (n > 0) body(0, n);
  }
};

class TbbExecutor final : public Executor {
 public:
  explicit TbbExecutor(size_t concurrency)
      : concurrency_(concurrency), arena_(static_cast<int>(concurrency)) {}

  size_t concurrency() const override { return concurrency_; }

  void ParallelFor(size_t n, size_t grain,
                   const std::function<void(size_t, size_t)>& body) override {
    if (n == 0) return;
    grain = std::max<size_t>(grain, 1);
    // A single range, or a single worker: no task machinery at all.
    if (n <= grain || concurrency_ == 1) {
      body(0, n);
      return;
    }
    auto run = [&] {
      // simple_partitioner honours the grain exactly, so a task is never bigger than the caller's
      // estimate of "worth one dispatch" and never smaller either.
      tbb::parallel_for(
          tbb::blocked_range<size_t>(0, n, grain),
          [&](const tbb::blocked_range<size_t>& r) { body(r.begin(), r.end()); },
          tbb::simple_partitioner());
    };
    if (tbb::this_task_arena::current_thread_index() != tbb::task_arena::not_initialized &&
        tbb::this_task_arena::max_concurrency() == static_cast<int>(concurrency_)) {
      // Already inside a TBB arena (nested call): run there; the calling thread takes part.
      // Isolated: while it waits, the calling thread runs only this loop's tasks, never an outer
      // task of another chunk, which could wait on a lock the caller holds (a chunk or store key
      // lock held across a read-modify-write) and deadlock.
      tbb::this_task_arena::isolate(run);
    } else {
      // A thread entering the arena (a caller, or an I/O thread holding a key lock) is isolated
      // for the same reason.
      arena_.execute([&] { tbb::this_task_arena::isolate(run); });
    }
  }

 private:
  size_t concurrency_;
  tbb::task_arena arena_;
};

// A fixed set of threads serving ParallelFor calls from a shared queue of ranges. The caller
// also works through its own ranges, so a call always makes progress even when every pool thread
// is busy with other calls.
class ThreadPoolExecutor final : public Executor {
 public:
  explicit ThreadPoolExecutor(size_t threads) : size_(std::max<size_t>(1, threads)) {
    for (size_t i = 0; i < size_; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  }
  ~ThreadPoolExecutor() override {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

  size_t concurrency() const override { return size_; }

  void ParallelFor(size_t n, size_t grain,
                   const std::function<void(size_t, size_t)>& body) override {
    if (n == 0) return;
    grain = std::max<size_t>(grain, 1);
    if (n <= grain || on_worker_) {
      body(0, n);
      return;
    }
    // One job shared by the caller and up to size_ helpers; ranges are claimed atomically.
    auto job = std::make_shared<Job>();
    job->n = n;
    job->grain = grain;
    job->body = &body;
    const size_t ranges = (n + grain - 1) / grain;
    const size_t helpers = std::min(size_, ranges - 1);
    {
      std::lock_guard<std::mutex> l(mu_);
      // Running out of memory while queueing only means fewer helpers: the caller works through
      // whatever they do not claim. Letting it escape would leave queued helpers holding `body`,
      // a reference into the caller's frame.
      try {
        for (size_t i = 0; i < helpers; ++i) queue_.push_back(job);
      } catch (const std::bad_alloc&) {
      }
    }
    if (helpers == 1)
      cv_.notify_one();
    else
      cv_.notify_all();
    job->Work();
    // Wait for ranges claimed by helpers to finish, then hand the first exception any body threw
    // (on this thread or a pool thread) to the caller.
    std::unique_lock<std::mutex> l(job->mu);
    job->cv.wait(l, [&] { return job->done == ranges; });
    if (job->error) std::rethrow_exception(job->error);
  }

 private:
  struct Job {
    size_t n = 0, grain = 1;
    const std::function<void(size_t, size_t)>* body = nullptr;
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex mu;
    std::condition_variable cv;
    size_t done = 0;           // guarded by mu
    std::exception_ptr error;  // the first exception a body threw; guarded by mu
    // Never throws: an exception from a body must not unwind a pool thread (std::terminate) nor
    // leave its range uncounted (the caller would wait forever). Once a body has thrown, ranges
    // not yet started are counted without running, as oneTBB cancels the rest of its loop.
    void Work() noexcept {
      while (true) {
        size_t b = next.fetch_add(grain);
        if (b >= n) return;
        std::exception_ptr thrown;
        if (!failed.load(std::memory_order_relaxed)) {
          try {
            (*body)(b, std::min(n, b + grain));
          } catch (...) {
            thrown = std::current_exception();
            failed.store(true, std::memory_order_relaxed);
          }
        }
        std::lock_guard<std::mutex> l(mu);
        if (thrown && !error) error = std::move(thrown);
        if (++done == (n + grain - 1) / grain) cv.notify_all();
      }
    }
  };

  void WorkerLoop() {
    on_worker_ = true;
    while (true) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
        if (stop_ && queue_.empty()) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job->Work();
    }
  }

  const size_t size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
  static thread_local bool on_worker_;
};

thread_local bool ThreadPoolExecutor::on_worker_ = false;

}  // namespace

std::shared_ptr<Executor> MakeThreadPoolExecutor(size_t threads) {
  return std::make_shared<ThreadPoolExecutor>(threads);
}

std::shared_ptr<Executor> DefaultIoExecutor() {
  return SharedIoExecutor(64);
}

std::shared_ptr<Executor> SharedIoExecutor(size_t threads) {
  static std::mutex mu;
  static auto* pools = new std::map<size_t, std::shared_ptr<Executor>>;  // lives until exit
  std::lock_guard<std::mutex> l(mu);
  auto& slot = (*pools)[threads];
  if (!slot) slot = MakeThreadPoolExecutor(threads);
  return slot;
}

std::shared_ptr<Executor> InlineExecutor() {
  static std::shared_ptr<Executor> inline_executor = std::make_shared<InlineExecutorImpl>();
  return inline_executor;
}

std::shared_ptr<Executor> MakeTbbExecutor(size_t concurrency) {
  if (concurrency == 0) {
    concurrency = std::max<size_t>(1, std::thread::hardware_concurrency());
  }
  return std::make_shared<TbbExecutor>(concurrency);
}

std::shared_ptr<Executor> DefaultExecutor() {
  static std::shared_ptr<Executor> default_executor = MakeTbbExecutor(0);
  return default_executor;
}

}  // namespace zarrpp
