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

#include "src/array_impl.h"
#include "src/guard.h"
#include "zarrpp/array.h"
#include "zarrpp/future.h"

namespace zarrpp {
namespace internal {

class AsyncQueue {
 public:
  // Runs the operation; `cancelled` is its cancellation hook (true once Future::cancel was
  // called while it runs).
  using Run = std::function<Status(const std::function<bool()>& cancelled)>;

  // `what` names the operation in the statuses the queue makes ("write of array 'a'");
  // `interruptible` says whether `run` polls its hook.
  Future<Status> Submit(const std::string& what, bool interruptible, Run run) {
    auto state = std::make_shared<FutureState<Status>>(
        Status::FailedPrecondition(what + ": cancelled before it started"));
    {
      std::lock_guard lock(shared_->mu);
      if (shared_->stop) {
        return Future<Status>::Ready(
            Status::FailedPrecondition(what + ": the array handle is being destroyed"));
      }
      shared_->queue.push_back(Request{state, std::move(run), what, interruptible});
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
  };
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

  static void Loop(std::shared_ptr<Shared> s) {
    for (;;) {
      Request r;
      {
        std::unique_lock lock(s->mu);
        s->cv.wait(lock, [&] { return s->stop || !s->queue.empty(); });
        if (s->queue.empty()) return;  // stopped and drained
        r = std::move(s->queue.front());
        s->queue.pop_front();
      }
      Execute(r);
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

Future<Status> Array::AppendAsync(ByteView data, std::vector<uint64_t> data_shape, size_t axis) {
  const std::string what = "append to array '" + impl_->path + "'";
  return internal::Enqueue(
      *impl_, what, false,
      [this, data, data_shape = std::move(data_shape), axis](
          const std::function<bool()>& /*cancelled*/) { return Append(data, data_shape, axis); });
}

}  // namespace zarrpp
