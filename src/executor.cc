#include "zarrpp/executor.h"

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <thread>

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
      run();
    } else {
      arena_.execute(run);
    }
  }

 private:
  size_t concurrency_;
  tbb::task_arena arena_;
};

}  // namespace

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
