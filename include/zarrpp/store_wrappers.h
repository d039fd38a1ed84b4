// zarrpp/store_wrappers.h - stores that wrap another store to observe or perturb it.
//
// ForwardingStore the base of stores that wrap another: every operation goes to the inner store
//               unless a subclass overrides it, so a wrapper states only what it changes. It is
//               public because the public wrappers below derive from it, and because wrappers
//               written outside the library (tests, applications) need the same base.
// LatencyStore  sleeps a fixed time before every operation, to model a remote store (object
//               storage, network file system) when measuring how well callers overlap requests.
// CountingStore counts operations and bytes moved, so tests and benchmarks can assert exactly
//               how many requests a read or write issued.
//
// Both forward every operation (including get_ranges(), set_range(), list(), exists() and the
// generation, condition and lock operations, so the inner store's own implementations and
// capabilities are used) and report the inner store's capabilities unchanged (LatencyStore raises
// io_concurrency). Locks and generations are the inner store's: a lock taken through a wrapper
// excludes holders taking it through the inner store directly, and the reverse.
//
// Asynchronous operations: CountingStore forwards them to the inner store (counting them as the
// synchronous ones, and a read's bytes when it completes); its destructor waits until those it
// started have completed. LatencyStore runs them natively (capabilities().async_io): one timer
// thread delays any number of them, without a thread each. With an inner store that has
// async_io, the timer thread starts the inner operation once the latency has passed; with any
// other, the inner (synchronous) operation runs at once on the caller's thread and its result is
// delivered once the latency has passed. Callbacks run on the timer thread (or the inner store's).
// Destroying a LatencyStore completes every operation still waiting out its latency with
// IOError ("cancelled"); such an operation may already have taken effect.
//
// Thread safety: as safe as the inner store; the wrappers' own state is atomic.
// Ownership: each wrapper shares ownership of its inner store. Readers from open_reader() refer to
// their wrapper (to count or delay each read) and must not outlive it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "zarrpp/store.h"

namespace zarrpp {

// Forwards every operation of Store to an inner store. How much is forwarded is chosen at
// construction:
//   kEverything  every operation, capabilities() and description() go to the inner store as they
//                are (but for memory_readers, which is false: a read in place would bypass this
//                store), so its own implementations (direct placement, generations, conditions,
//                locks, completion-based operations) are used. A subclass that overrides set()
//                does not see writes made through set_gather(), set_if(), patch_if() or
//                set_async(), which go to the inner store directly; likewise for reads.
//   kPrimitives  only Store's required operations (get_into, set, erase, erase_prefix,
//                list_prefix, list_dir, size) and description() are forwarded; every other
//                operation is Store's default, written in terms of those of this object, so a
//                subclass overriding get_into() or set() sees every read or write whatever the
//                caller used. capabilities() are the inner store's without what the defaults
//                cannot offer: generations, conditional_writes, key_locks, set_range and async_io
//                are false.
//
// Thread safety: as safe as the inner store. Ownership: shares ownership of the inner store.
class ForwardingStore : public Store {
 public:
  enum class Forward { kEverything, kPrimitives };
  explicit ForwardingStore(std::shared_ptr<Store> inner, Forward forward = Forward::kEverything)
      : inner_(std::move(inner)), forward_(forward) {}

  const std::shared_ptr<Store>& inner() const { return inner_; }
  Forward forward() const { return forward_; }

  StoreCapabilities capabilities() const override;
  Result<bool> get_into(std::string_view key, ByteRange range, Bytes& out) override;
  Result<bool> get_scatter(std::string_view key, std::span<const MutableByteView> pieces) override;
  Result<std::optional<uint64_t>> get_within(std::string_view key,
                                             std::span<const MutableByteView> pieces) override;
  Result<std::optional<uint64_t>> get_at(std::string_view key, uint64_t offset,
                                         MutableByteView dest) override;
  Result<std::vector<std::optional<Bytes>>> get_ranges(
      const std::vector<KeyRange>& requests) override;
  Status set(std::string_view key, ByteView value) override;
  Status set_gather(std::string_view key, std::span<const ByteView> pieces) override;
  Status set_range(std::string_view key, uint64_t offset, ByteView value) override;
  Status erase(std::string_view key) override;
  Status erase_prefix(std::string_view prefix) override;
  Result<std::vector<std::string>> list() override;
  Result<std::vector<std::string>> list_prefix(std::string_view prefix) override;
  Result<DirListing> list_dir(std::string_view prefix) override;
  Result<bool> exists(std::string_view key) override;
  Result<std::optional<uint64_t>> size(std::string_view key) override;
  Result<ReadResult> get_if(std::string_view key, ByteRange range, Bytes& out,
                            const Generation* if_equal = nullptr) override;
  Result<Generation> generation(std::string_view key) override;
  Result<std::unique_ptr<ValueReader>> open_reader(std::string_view key) override;
  Result<std::optional<Generation>> set_if(std::string_view key, std::span<const ByteView> pieces,
                                           const WriteConditions& conditions) override;
  Result<bool> erase_if(std::string_view key, const WriteConditions& conditions) override;
  Result<std::optional<Generation>> patch_if(std::string_view key,
                                             std::span<const RangeWrite> writes,
                                             const WriteConditions& conditions) override;
  Result<std::unique_ptr<KeyLock>> lock(std::string_view key) override;
  void get_async(std::string_view key, ByteRange range, Bytes& out, ReadCallback done) override;
  void get_within_async(std::string_view key, std::span<const MutableByteView> pieces,
                        SizeCallback done) override;
  void set_async(std::string_view key, std::span<const ByteView> pieces,
                 WriteCallback done) override;
  void erase_async(std::string_view key, WriteCallback done) override;
  std::string description() const override;

 protected:
  bool everything() const { return forward_ == Forward::kEverything; }
  const std::shared_ptr<Store> inner_;

 private:
  const Forward forward_;
};

class LatencyStore : public ForwardingStore {
 public:
  // Every operation sleeps for `latency` and then forwards to `inner`. capabilities() and
  // description() do not sleep: they are queries of the object, not requests to the store.
  // `completion_based` false: capabilities().async_io is false, so callers (the pipelines) keep
  // operations in flight with blocking calls on threads of their own, as for a store without
  // completion-based operations; get_async() and the others still work (natively).
  static std::shared_ptr<LatencyStore> Create(std::shared_ptr<Store> inner,
                                              std::chrono::microseconds latency,
                                              bool completion_based = true) {
    return std::make_shared<LatencyStore>(std::move(inner), latency, completion_based);
  }
  // The same as Create (creation cannot fail).
  LatencyStore(std::shared_ptr<Store> inner, std::chrono::microseconds latency,
               bool completion_based = true);
  ~LatencyStore() override;
  LatencyStore(const LatencyStore&) = delete;
  LatencyStore& operator=(const LatencyStore&) = delete;

  StoreCapabilities capabilities() const override {
    StoreCapabilities c = inner_->capabilities();
    if (latency_.count() > 0 && c.io_concurrency < kLatencyIoConcurrency) {
      c.io_concurrency = kLatencyIoConcurrency;
    }
    c.async_io = completion_based_;
    c.memory_readers = false;  // reads in place would not wait
    return c;
  }
  // The io_concurrency a LatencyStore with non-zero latency reports.
  static constexpr size_t kLatencyIoConcurrency = 64;
  Result<bool> get_into(std::string_view key, ByteRange range, Bytes& out) override;
  Result<bool> get_scatter(std::string_view key, std::span<const MutableByteView> pieces) override;
  Result<std::optional<uint64_t>> get_within(std::string_view key,
                                             std::span<const MutableByteView> pieces) override;
  Result<std::optional<uint64_t>> get_at(std::string_view key, uint64_t offset,
                                         MutableByteView dest) override;
  Result<std::vector<std::optional<Bytes>>> get_ranges(
      const std::vector<KeyRange>& requests) override;
  Status set(std::string_view key, ByteView value) override;
  Status set_gather(std::string_view key, std::span<const ByteView> pieces) override;
  Status set_range(std::string_view key, uint64_t offset, ByteView value) override;
  Status erase(std::string_view key) override;
  Status erase_prefix(std::string_view prefix) override;
  Result<std::vector<std::string>> list() override;
  Result<std::vector<std::string>> list_prefix(std::string_view prefix) override;
  Result<DirListing> list_dir(std::string_view prefix) override;
  Result<bool> exists(std::string_view key) override;
  Result<std::optional<uint64_t>> size(std::string_view key) override;
  Result<ReadResult> get_if(std::string_view key, ByteRange range, Bytes& out,
                            const Generation* if_equal = nullptr) override;
  Result<Generation> generation(std::string_view key) override;
  // The inner store's reader, wrapped so that each read() is delayed too.
  Result<std::unique_ptr<ValueReader>> open_reader(std::string_view key) override;
  Result<std::optional<Generation>> set_if(std::string_view key, std::span<const ByteView> pieces,
                                           const WriteConditions& conditions) override;
  Result<bool> erase_if(std::string_view key, const WriteConditions& conditions) override;
  Result<std::optional<Generation>> patch_if(std::string_view key,
                                             std::span<const RangeWrite> writes,
                                             const WriteConditions& conditions) override;
  // The inner store's lock; pass it as WriteConditions::held to writes through either store.
  Result<std::unique_ptr<KeyLock>> lock(std::string_view key) override;
  // Started by the timer thread once the latency has passed (see the header comment).
  void get_async(std::string_view key, ByteRange range, Bytes& out, ReadCallback done) override;
  void get_within_async(std::string_view key, std::span<const MutableByteView> pieces,
                        SizeCallback done) override;
  void set_async(std::string_view key, std::span<const ByteView> pieces,
                 WriteCallback done) override;
  void erase_async(std::string_view key, WriteCallback done) override;
  // "latency(<n>us, <inner description>)".
  std::string description() const override;

  std::chrono::microseconds latency() const { return latency_; }

 private:
  class DelayedReader;
  struct Timed;
  // Heap order of timed_: the front is the earliest due (the first submitted among equals).
  static bool Later(const std::unique_ptr<Timed>& a, const std::unique_ptr<Timed>& b);
  void Delay() const;
  // Runs `run(false)` on the timer thread once the latency has passed, or `run(true)` when the
  // store is destroyed first.
  void After(std::function<void(bool cancelled)> run);
  void TimerLoop();

  const std::chrono::microseconds latency_;
  const bool completion_based_;
  const bool inner_async_;  // inner_->capabilities().async_io
  // The timer thread, started by the first asynchronous operation.
  std::mutex timer_mu_;
  std::condition_variable timer_cv_;
  std::vector<std::unique_ptr<Timed>> timed_;  // a min-heap on (due, sequence); guarded
  uint64_t timer_seq_ = 0;                     // guarded by timer_mu_
  bool timer_stop_ = false;                    // guarded by timer_mu_
  std::thread timer_;
};

class CountingStore : public ForwardingStore {
 public:
  // A snapshot of the counters. Operation counts include calls that failed; byte counts include
  // only bytes actually transferred by successful calls.
  struct Counters {
    uint64_t get_into = 0;    // get_into(), get_scatter(), get_within() and get_at() calls (get()
                              // is one)
    uint64_t get_ranges = 0;  // get_ranges() calls
    uint64_t ranges_requested = 0;  // requests across all get_ranges() calls
    uint64_t set = 0;
    uint64_t set_range = 0;
    uint64_t erase = 0;
    uint64_t erase_prefix = 0;
    uint64_t list = 0;
    uint64_t list_prefix = 0;
    uint64_t list_dir = 0;
    uint64_t exists = 0;
    uint64_t size = 0;
    uint64_t get_if = 0;
    uint64_t generation = 0;
    uint64_t open_reader = 0;
    uint64_t reader_read = 0;  // read() calls of readers from open_reader()
    uint64_t set_if = 0;
    uint64_t erase_if = 0;
    uint64_t patch_if = 0;
    uint64_t lock = 0;
    uint64_t bytes_read = 0;     // bytes returned by get_into(), get_scatter(), get_within(),
                                 // get_at(), get_ranges(), get_if() and readers' read()
    uint64_t bytes_written = 0;  // bytes passed to successful set(), set_gather(), set_range(),
                                 // set_if() and patch_if() calls that wrote
    uint64_t max_in_flight = 0;  // the most operations running at once (reset() restarts it)

    friend bool operator==(const Counters&, const Counters&) = default;
  };

  // Counts the operations on `inner`, from zero.
  static std::shared_ptr<CountingStore> Create(std::shared_ptr<Store> inner) {
    return std::make_shared<CountingStore>(std::move(inner));
  }
  // The same as Create (creation cannot fail).
  explicit CountingStore(std::shared_ptr<Store> inner);
  // Waits for the asynchronous operations started through this wrapper to complete.
  ~CountingStore() override;
  CountingStore(const CountingStore&) = delete;
  CountingStore& operator=(const CountingStore&) = delete;

  // A consistent value per field; fields are read one by one, so a snapshot taken while other
  // threads run may mix moments.
  Counters counters() const;
  void reset();

  Result<bool> get_into(std::string_view key, ByteRange range, Bytes& out) override;
  Result<bool> get_scatter(std::string_view key, std::span<const MutableByteView> pieces) override;
  Result<std::optional<uint64_t>> get_within(std::string_view key,
                                             std::span<const MutableByteView> pieces) override;
  Result<std::optional<uint64_t>> get_at(std::string_view key, uint64_t offset,
                                         MutableByteView dest) override;
  Result<std::vector<std::optional<Bytes>>> get_ranges(
      const std::vector<KeyRange>& requests) override;
  Status set(std::string_view key, ByteView value) override;
  Status set_gather(std::string_view key, std::span<const ByteView> pieces) override;
  Status set_range(std::string_view key, uint64_t offset, ByteView value) override;
  Status erase(std::string_view key) override;
  Status erase_prefix(std::string_view prefix) override;
  Result<std::vector<std::string>> list() override;
  Result<std::vector<std::string>> list_prefix(std::string_view prefix) override;
  Result<DirListing> list_dir(std::string_view prefix) override;
  Result<bool> exists(std::string_view key) override;
  Result<std::optional<uint64_t>> size(std::string_view key) override;
  Result<ReadResult> get_if(std::string_view key, ByteRange range, Bytes& out,
                            const Generation* if_equal = nullptr) override;
  Result<Generation> generation(std::string_view key) override;
  // The inner store's reader, wrapped so that each read() is counted too.
  Result<std::unique_ptr<ValueReader>> open_reader(std::string_view key) override;
  Result<std::optional<Generation>> set_if(std::string_view key, std::span<const ByteView> pieces,
                                           const WriteConditions& conditions) override;
  Result<bool> erase_if(std::string_view key, const WriteConditions& conditions) override;
  Result<std::optional<Generation>> patch_if(std::string_view key,
                                             std::span<const RangeWrite> writes,
                                             const WriteConditions& conditions) override;
  // The inner store's lock; pass it as WriteConditions::held to writes through either store.
  Result<std::unique_ptr<KeyLock>> lock(std::string_view key) override;
  // Forwarded to the inner store; counted as get_into(), set() and erase().
  void get_async(std::string_view key, ByteRange range, Bytes& out, ReadCallback done) override;
  void get_within_async(std::string_view key, std::span<const MutableByteView> pieces,
                        SizeCallback done) override;
  void set_async(std::string_view key, std::span<const ByteView> pieces,
                 WriteCallback done) override;
  void erase_async(std::string_view key, WriteCallback done) override;
  // "counting(<inner description>)".
  std::string description() const override;

 private:
  // Accounting of asynchronous operations: started (in flight and pending), and their callbacks
  // returned (no longer pending; the destructor waits for none pending).
  void AsyncStarted();
  void AsyncDone();
  struct AtomicCounters {
    std::atomic<uint64_t> get_into{0}, get_ranges{0}, ranges_requested{0}, set{0}, set_range{0},
        erase{0}, erase_prefix{0}, list{0}, list_prefix{0}, list_dir{0}, exists{0}, size{0},
        get_if{0}, generation{0}, open_reader{0}, reader_read{0}, set_if{0}, erase_if{0},
        patch_if{0}, lock{0}, bytes_read{0}, bytes_written{0}, max_in_flight{0};
  };
  // Counts one operation as running for its lifetime.
  class InFlight {
   public:
    explicit InFlight(CountingStore& s);
    ~InFlight();
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

   private:
    CountingStore& s_;
  };

  class CountedReader;

  AtomicCounters c_;
  std::atomic<uint64_t> in_flight_{0};
  std::mutex async_mu_;
  std::condition_variable async_cv_;
  uint64_t async_pending_ = 0;  // guarded by async_mu_
};

}  // namespace zarrpp
