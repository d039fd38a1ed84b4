// Array::ReadAsync, WriteAsync and AppendAsync: one FIFO queue per handle, served by one thread
// of the handle that runs the synchronous calls (spec/async.md).
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "src/array/array_impl.h"
#include "src/guard.h"
#include "zarrpp/array.h"
#include "zarrpp/future.h"

namespace zarrpp {
namespace internal {

// The arguments of one AppendAsync.
struct AppendArgs {
  ByteView data;
  std::vector<uint64_t> shape;
  size_t axis = 0;
};

class AsyncQueue {
 public:
  // Runs the operation; `cancelled` is its cancellation hook (true once Future::cancel was
  // called while it runs).
  using Run = std::function<Status(const std::function<bool()>& cancelled)>;
  // Runs appends queued back to back as one: the chunks of each in turn, then one metadata
  // write; sets each one's Status.
  using AppendRun = std::function<void(const std::vector<const AppendArgs*>& jobs,
                                       std::vector<Status>& statuses)>;

  // Queues an append. Appends of one handle that are queued back to back when the first of them
  // starts run as one group (at most kMaxGroup, holding at most kMaxGroupBytes of data), so the
  // array's metadata is written once for the group instead of once per append.
  Future<Status> SubmitAppend(const std::string& what, AppendArgs args, AppendRun run) {
    auto append = std::make_shared<AppendArgs>(std::move(args));
    Run single = [append, run](const std::function<bool()>&) {
      std::vector<Status> statuses(1);
      run({append.get()}, statuses);
      return statuses[0];
    };
    return Submit(what, false, std::move(single), std::move(append), std::move(run));
  }

  // `what` names the operation in the statuses the queue makes ("write of array 'a'");
  // `interruptible` says whether `run` polls its hook.
  Future<Status> Submit(const std::string& what, bool interruptible, Run run,
                        std::shared_ptr<AppendArgs> append = nullptr, AppendRun group = nullptr) {
    auto state = std::make_shared<FutureState<Status>>(
        Status::FailedPrecondition(what + ": cancelled before it started"));
    {
      std::lock_guard lock(shared_->mu);
      if (shared_->stop) {
        return Future<Status>::Ready(
            Status::FailedPrecondition(what + ": the array handle is being destroyed"));
      }
      shared_->queue.push_back(
          Request{state, std::move(run), what, interruptible, std::move(append), std::move(group)});
      if (!thread_.joinable()) {
        try {
          thread_ = std::thread(Loop, shared_);
        } catch (...) {
          shared_->queue.pop_back();
          throw;
        }
        thread_id_ = thread_.get_id();
      }
    }
    shared_->cv.notify_one();
    return Future<Status>(std::move(state));
  }

  // Runs every queued operation, then stops the thread. From the queue's own thread (a callback
  // that destroys the Array) the rest of the queue runs right here and the thread, which holds its
  // own reference to the queue's state, ends after the callback returns.
  void Shutdown() {
    std::thread::id id;
    {
      std::lock_guard lock(shared_->mu);
      shared_->stop = true;
      id = thread_id_;
    }
    shared_->cv.notify_all();
    if (!thread_.joinable()) return;
    if (id == std::this_thread::get_id()) {
      Drain(*shared_);
      thread_.detach();
      return;
    }
    thread_.join();
  }

 private:
  struct Request {
    std::shared_ptr<FutureState<Status>> state;
    Run run;
    std::string what;
    bool interruptible = false;
    std::shared_ptr<AppendArgs> append;  // set for an append, with `group`
    AppendRun group;
  };
  static constexpr size_t kMaxGroup = 16;
  static constexpr uint64_t kMaxGroupBytes = uint64_t{256} << 20;
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Request> queue;
    bool stop = false;
  };

  static void Execute(Request& r) {
    if (!r.state->TryStart()) return;  // cancelled while queued: already done
    bool fired = false;
    const std::function<bool()> hook = [&] {
      if (!r.state->cancel_requested()) return false;
      fired = true;
      return true;
    };
    Status s = Guard(r.what, [&] { return r.run(hook); });
    if (fired && r.interruptible && s.code() == Status::Code::kFailedPrecondition) {
      s = Status::FailedPrecondition(r.what + ": cancelled while running");
    }
    r.state->Complete(std::move(s));
  }

  // Pops and runs requests until the queue is empty.
  static void Drain(Shared& s) {
    for (;;) {
      Request r;
      {
        std::lock_guard lock(s.mu);
        if (s.queue.empty()) return;
        r = std::move(s.queue.front());
        s.queue.pop_front();
      }
      Execute(r);
    }
  }

  // Runs an append and the appends taken with it (started ones only: a cancelled one is done).
  static void ExecuteGroup(std::vector<Request>& group) {
    std::vector<Request*> started;
    std::vector<const AppendArgs*> jobs;
    for (Request& r : group) {
      if (!r.state->TryStart()) continue;
      started.push_back(&r);
      jobs.push_back(r.append.get());
    }
    if (started.empty()) return;
    std::vector<Status> statuses(started.size());
    const Status s = Guard(started.front()->what, [&] {
      group.front().group(jobs, statuses);
      return Status::OK();
    });
    for (size_t i = 0; i < started.size(); ++i) {
      started[i]->state->Complete(s.ok() ? std::move(statuses[i]) : s);
    }
  }

  static void Loop(std::shared_ptr<Shared> s) {
    for (;;) {
      std::vector<Request> group;
      {
        std::unique_lock lock(s->mu);
        s->cv.wait(lock, [&] { return s->stop || !s->queue.empty(); });
        if (s->queue.empty()) return;  // stopped and drained
        group.push_back(std::move(s->queue.front()));
        s->queue.pop_front();
        if (group.front().append) {
          uint64_t bytes = group.front().append->data.size();
          while (!s->queue.empty() && s->queue.front().append && group.size() < kMaxGroup &&
                 bytes + s->queue.front().append->data.size() <= kMaxGroupBytes) {
            bytes += s->queue.front().append->data.size();
            group.push_back(std::move(s->queue.front()));
            s->queue.pop_front();
          }
        }
      }
      if (group.size() == 1) {
        Execute(group.front());
      } else {
        ExecuteGroup(group);
      }
    }
  }

  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
  std::thread thread_;  // started by the first Submit, under shared_->mu
  std::thread::id thread_id_;
};

namespace {

AsyncQueue& QueueOf(const Array::Impl& a) {
  std::call_once(a.async_once, [&] { a.async = std::make_shared<AsyncQueue>(); });
  return *a.async;
}

// Queues `run` on the handle's queue; an exception while queueing (out of memory, no thread)
// becomes a Future that is already done with its Status.
Future<Status> Enqueue(const Array::Impl& a, const std::string& what, bool interruptible,
                       AsyncQueue::Run run) {
  Future<Status> f;
  Status s = Guard(what, [&]() -> Status {
    f = QueueOf(a).Submit(what, interruptible, std::move(run));
    return Status::OK();
  });
  if (!s.ok()) return Future<Status>::Ready(std::move(s));
  return f;
}

// Runs the caller's hook as well as the queue's.
std::function<bool()> Both(std::function<bool()> user, const std::function<bool()>& queue) {
  return [user = std::move(user), &queue] { return queue() || (user && user()); };
}

}  // namespace

void ShutdownAsync(Array::Impl& a) {
  if (a.async) a.async->Shutdown();
}

}  // namespace internal

Future<Status> Array::ReadAsync(const Region& region, MutableByteView out,
                                ReadOptions options) const {
  const std::string what = "read of array '" + impl_->path + "'";
  return internal::Enqueue(
      *impl_, what, true,
      [this, region, out, options = std::move(options)](const std::function<bool()>& cancelled) {
        ReadOptions o = options;
        o.cancel = internal::Both(options.cancel, cancelled);
        return Read(region, out, o);
      });
}

Future<Status> Array::WriteAsync(const Region& region, ByteView in, WriteOptions options) {
  const std::string what = "write of array '" + impl_->path + "'";
  return internal::Enqueue(
      *impl_, what, true,
      [this, region, in, options = std::move(options)](const std::function<bool()>& cancelled) {
        WriteOptions o = options;
        o.cancel = internal::Both(options.cancel, cancelled);
        return Write(region, in, o);
      });
}

Future<Status> Array::ReadAsync(const Hyperslab& selection, MutableElementView out,
                                ReadOptions options) const {
  const std::string what = "selection read of array '" + impl_->path + "'";
  return internal::Enqueue(*impl_, what, true,
                           [this, selection, out = std::move(out),
                            options = std::move(options)](const std::function<bool()>& cancelled) {
                             ReadOptions o = options;
                             o.cancel = internal::Both(options.cancel, cancelled);
                             return Read(selection, out, o);
                           });
}

Future<Status> Array::ReadAsync(const Hyperslab& selection, MutableElementView out,
                                DataTypeId memory_type, ReadOptions options) const {
  const std::string what = "selection read of array '" + impl_->path + "'";
  return internal::Enqueue(*impl_, what, true,
                           [this, selection, out = std::move(out), memory_type,
                            options = std::move(options)](const std::function<bool()>& cancelled) {
                             ReadOptions o = options;
                             o.cancel = internal::Both(options.cancel, cancelled);
                             return Read(selection, out, memory_type, o);
                           });
}

Future<Status> Array::WriteAsync(const Hyperslab& selection, ElementView in, WriteOptions options) {
  const std::string what = "selection write of array '" + impl_->path + "'";
  return internal::Enqueue(*impl_, what, true,
                           [this, selection, in = std::move(in),
                            options = std::move(options)](const std::function<bool()>& cancelled) {
                             WriteOptions o = options;
                             o.cancel = internal::Both(options.cancel, cancelled);
                             return Write(selection, in, o);
                           });
}

Future<Status> Array::WriteAsync(const Hyperslab& selection, ElementView in, DataTypeId memory_type,
                                 WriteOptions options) {
  const std::string what = "selection write of array '" + impl_->path + "'";
  return internal::Enqueue(*impl_, what, true,
                           [this, selection, in = std::move(in), memory_type,
                            options = std::move(options)](const std::function<bool()>& cancelled) {
                             WriteOptions o = options;
                             o.cancel = internal::Both(options.cancel, cancelled);
                             return Write(selection, in, memory_type, o);
                           });
}

Future<Status> Array::AppendAsync(ByteView data, std::vector<uint64_t> data_shape, size_t axis) {
  const std::string what = "append to array '" + impl_->path + "'";
  Future<Status> f;
  Status s = internal::Guard(what, [&]() -> Status {
    f = internal::QueueOf(*impl_).SubmitAppend(
        what, internal::AppendArgs{data, std::move(data_shape), axis},
        [this](const std::vector<const internal::AppendArgs*>& jobs,
               std::vector<Status>& statuses) {
          // As Append for each in turn, except that the metadata is written once, after the
          // chunks of all of them: each one that grew the array succeeds once it is written.
          std::unique_lock lock(metadata_mu_);
          ArrayMetadata staged = impl_->metadata;
          std::vector<size_t> grew;
          for (size_t i = 0; i < jobs.size(); ++i) {
            const std::vector<uint64_t> before = staged.shape;
            statuses[i] = AppendChunksLocked(staged, jobs[i]->data, jobs[i]->shape, jobs[i]->axis);
            if (statuses[i].ok() && staged.shape != before) grew.push_back(i);
          }
          if (grew.empty()) return;
          const Status written = WriteMetadataLocked(std::move(staged));
          if (!written.ok()) {
            for (size_t i : grew) statuses[i] = written;
          }
        });
    return Status::OK();
  });
  if (!s.ok()) return Future<Status>::Ready(std::move(s));
  return f;
}

}  // namespace zarrpp
