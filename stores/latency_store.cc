#include <algorithm>
#include <memory>
#include <new>
#include <thread>
#include <utility>

#include "zarrpp/store_wrappers.h"

namespace zarrpp {

LatencyStore::LatencyStore(std::shared_ptr<Store> inner, std::chrono::microseconds latency,
                           bool completion_based)
    : ForwardingStore(std::move(inner)),
      latency_(latency),
      completion_based_(completion_based),
      inner_async_(inner_->capabilities().async_io) {}

struct LatencyStore::Timed {
  std::chrono::steady_clock::time_point due;
  uint64_t seq = 0;
  std::function<void(bool cancelled)> run;
};

LatencyStore::~LatencyStore() {
  {
    std::lock_guard<std::mutex> l(timer_mu_);
    timer_stop_ = true;
  }
  timer_cv_.notify_all();
  if (timer_.joinable()) timer_.join();
  // The timer thread has stopped: what is left waited out no latency yet and never started.
  for (std::unique_ptr<Timed>& t : timed_) t->run(/*cancelled=*/true);
  timed_.clear();
}

void LatencyStore::After(std::function<void(bool cancelled)> run) {
  auto t = std::make_unique<Timed>();
  t->due = std::chrono::steady_clock::now() + latency_;
  t->run = std::move(run);
  {
    std::lock_guard<std::mutex> l(timer_mu_);
    if (!timer_stop_) {
      if (!timer_.joinable()) timer_ = std::thread([this] { TimerLoop(); });
      t->seq = timer_seq_++;
      timed_.push_back(std::move(t));
      std::push_heap(timed_.begin(), timed_.end(), Later);
    }
  }
  if (t) {
    t->run(/*cancelled=*/true);  // submitted while the store is being destroyed
    return;
  }
  timer_cv_.notify_one();
}

void LatencyStore::TimerLoop() {
  std::unique_lock<std::mutex> l(timer_mu_);
  while (!timer_stop_) {
    if (timed_.empty()) {
      timer_cv_.wait(l);
      continue;
    }
    const auto due = timed_.front()->due;
    if (std::chrono::steady_clock::now() < due) {
      timer_cv_.wait_until(l, due);
      continue;
    }
    std::pop_heap(timed_.begin(), timed_.end(), Later);
    std::unique_ptr<Timed> t = std::move(timed_.back());
    timed_.pop_back();
    l.unlock();
    t->run(/*cancelled=*/false);
    t.reset();
    l.lock();
  }
}

bool LatencyStore::Later(const std::unique_ptr<Timed>& a, const std::unique_ptr<Timed>& b) {
  if (a->due != b->due) return a->due > b->due;
  return a->seq > b->seq;
}

namespace {

Status Cancelled(std::string_view op, std::string_view key) {
  return Status::IOError(std::string(op) + " of key '" + std::string(key) +
                         "' cancelled: the latency store was destroyed before it completed");
}
}  // namespace

namespace {

// Starts the inner store's operation on the timer thread. Out of memory there (a value too large
// to hold) completes the operation with IOError instead of ending the timer thread, provided the
// inner store had not called back yet.
template <typename Done, typename Start>
void StartInner(std::string_view op, const std::string& key, const Done& done, Start start) {
  auto called = std::make_shared<bool>(false);
  try {
    start(Done([called, done](auto result) {
      *called = true;
      done(std::move(result));
    }));
  } catch (const std::bad_alloc&) {
    if (!*called) {
      done(Status::IOError(std::string(op) + " of key '" + key + "': out of memory"));
    }
  }
}

}  // namespace

// An inner store with completion-based operations is started once the latency has passed. Any
// other inner store runs the operation at once, on the caller's thread (as a server works while
// the response travels), and its result is delivered when the latency has passed: the timer
// thread only waits, so the inner store's work is spread over the callers as with blocking calls.
void LatencyStore::get_async(std::string_view key, ByteRange range, Bytes& out, ReadCallback done) {
  if (!inner_async_) {
    After([key = std::string(key), r = inner_->get_into(key, range, out),
           done = std::move(done)](bool cancelled) mutable {
      if (cancelled) return done(Cancelled("get", key));
      done(std::move(r));
    });
    return;
  }
  After([this, key = std::string(key), range, &out, done = std::move(done)](bool cancelled) {
    if (cancelled) return done(Cancelled("get", key));
    StartInner("get", key, done,
               [&](ReadCallback cb) { inner_->get_async(key, range, out, std::move(cb)); });
  });
}

void LatencyStore::get_within_async(std::string_view key, std::span<const MutableByteView> pieces,
                                    SizeCallback done) {
  if (!inner_async_) {
    After([key = std::string(key), r = inner_->get_within(key, pieces),
           done = std::move(done)](bool cancelled) mutable {
      if (cancelled) return done(Cancelled("get", key));
      done(std::move(r));
    });
    return;
  }
  After([this, key = std::string(key), pieces, done = std::move(done)](bool cancelled) {
    if (cancelled) return done(Cancelled("get", key));
    StartInner("get", key, done,
               [&](SizeCallback cb) { inner_->get_within_async(key, pieces, std::move(cb)); });
  });
}

void LatencyStore::set_async(std::string_view key, std::span<const ByteView> pieces,
                             WriteCallback done) {
  if (!inner_async_) {
    After([key = std::string(key), s = inner_->set_gather(key, pieces),
           done = std::move(done)](bool cancelled) mutable {
      if (cancelled) return done(Cancelled("set", key));
      done(std::move(s));
    });
    return;
  }
  After([this, key = std::string(key), pieces, done = std::move(done)](bool cancelled) {
    if (cancelled) return done(Cancelled("set", key));
    StartInner("set", key, done,
               [&](WriteCallback cb) { inner_->set_async(key, pieces, std::move(cb)); });
  });
}

void LatencyStore::erase_async(std::string_view key, WriteCallback done) {
  if (!inner_async_) {
    After([key = std::string(key), s = inner_->erase(key),
           done = std::move(done)](bool cancelled) mutable {
      if (cancelled) return done(Cancelled("erase", key));
      done(std::move(s));
    });
    return;
  }
  After([this, key = std::string(key), done = std::move(done)](bool cancelled) {
    if (cancelled) return done(Cancelled("erase", key));
    StartInner("erase", key, done,
               [&](WriteCallback cb) { inner_->erase_async(key, std::move(cb)); });
  });
}

// sleep_for may wake early on some platforms; looping on a steady clock guarantees at least
// the configured latency, which is what callers measure against.
void LatencyStore::Delay() const {
  if (latency_.count() <= 0) return;
  const auto deadline = std::chrono::steady_clock::now() + latency_;
  for (auto now = std::chrono::steady_clock::now(); now < deadline;
       now = std::chrono::steady_clock::now()) {
    std::this_thread::sleep_for(deadline - now);
  }
}

Result<bool> LatencyStore::get_into(std::string_view key, ByteRange range, Bytes& out) {
  Delay();
  return inner_->get_into(key, range, out);
}

Result<bool> LatencyStore::get_scatter(std::string_view key,
                                       std::span<const MutableByteView> pieces) {
  Delay();
  return inner_->get_scatter(key, pieces);
}

Result<std::optional<uint64_t>> LatencyStore::get_at(std::string_view key, uint64_t offset,
                                                     MutableByteView dest) {
  Delay();
  return inner_->get_at(key, offset, dest);
}

Result<std::optional<uint64_t>> LatencyStore::get_within(std::string_view key,
                                                         std::span<const MutableByteView> pieces) {
  Delay();
  return inner_->get_within(key, pieces);
}

Status LatencyStore::set_gather(std::string_view key, std::span<const ByteView> pieces) {
  Delay();
  return inner_->set_gather(key, pieces);
}

Result<std::vector<std::optional<Bytes>>> LatencyStore::get_ranges(
    const std::vector<KeyRange>& requests) {
  Delay();
  return inner_->get_ranges(requests);
}

Status LatencyStore::set(std::string_view key, ByteView value) {
  Delay();
  return inner_->set(key, value);
}

Status LatencyStore::set_range(std::string_view key, uint64_t offset, ByteView value) {
  Delay();
  return inner_->set_range(key, offset, value);
}

Status LatencyStore::erase(std::string_view key) {
  Delay();
  return inner_->erase(key);
}

Status LatencyStore::erase_prefix(std::string_view prefix) {
  Delay();
  return inner_->erase_prefix(prefix);
}

Result<std::vector<std::string>> LatencyStore::list() {
  Delay();
  return inner_->list();
}

Result<std::vector<std::string>> LatencyStore::list_prefix(std::string_view prefix) {
  Delay();
  return inner_->list_prefix(prefix);
}

Result<DirListing> LatencyStore::list_dir(std::string_view prefix) {
  Delay();
  return inner_->list_dir(prefix);
}

Result<bool> LatencyStore::exists(std::string_view key) {
  Delay();
  return inner_->exists(key);
}

Result<std::optional<uint64_t>> LatencyStore::size(std::string_view key) {
  Delay();
  return inner_->size(key);
}

// Each read() of the inner reader is one more request, so it waits the latency too.
class LatencyStore::DelayedReader final : public ValueReader {
 public:
  DelayedReader(const LatencyStore& store, std::unique_ptr<ValueReader> inner)
      : store_(store), inner_(std::move(inner)) {}
  uint64_t size() const override { return inner_->size(); }
  const Generation& generation() const override { return inner_->generation(); }
  Result<bool> read(ByteRange range, Bytes& out) override {
    store_.Delay();
    return inner_->read(range, out);
  }

 private:
  const LatencyStore& store_;
  std::unique_ptr<ValueReader> inner_;
};

Result<ReadResult> LatencyStore::get_if(std::string_view key, ByteRange range, Bytes& out,
                                        const Generation* if_equal) {
  Delay();
  return inner_->get_if(key, range, out, if_equal);
}

Result<Generation> LatencyStore::generation(std::string_view key) {
  Delay();
  return inner_->generation(key);
}

Result<std::unique_ptr<ValueReader>> LatencyStore::open_reader(std::string_view key) {
  Delay();
  ASSIGN_OR_RETURN(std::unique_ptr<ValueReader> reader, inner_->open_reader(key));
  if (!reader) return reader;
  return std::unique_ptr<ValueReader>(new DelayedReader(*this, std::move(reader)));
}

Result<std::optional<Generation>> LatencyStore::set_if(std::string_view key,
                                                       std::span<const ByteView> pieces,
                                                       const WriteConditions& conditions) {
  Delay();
  return inner_->set_if(key, pieces, conditions);
}

Result<bool> LatencyStore::erase_if(std::string_view key, const WriteConditions& conditions) {
  Delay();
  return inner_->erase_if(key, conditions);
}

Result<std::optional<Generation>> LatencyStore::patch_if(std::string_view key,
                                                         std::span<const RangeWrite> writes,
                                                         const WriteConditions& conditions) {
  Delay();
  return inner_->patch_if(key, writes, conditions);
}

Result<std::unique_ptr<KeyLock>> LatencyStore::lock(std::string_view key) {
  Delay();
  return inner_->lock(key);
}

std::string LatencyStore::description() const {
  return "latency(" + std::to_string(latency_.count()) + "us, " + inner_->description() + ")";
}

}  // namespace zarrpp
