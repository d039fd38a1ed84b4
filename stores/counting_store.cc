#include <utility>

#include "src/store_internal.h"
#include "zarrpp/store_wrappers.h"

namespace zarrpp {

namespace {
void Bump(std::atomic<uint64_t>& counter, uint64_t n = 1) {
  counter.fetch_add(n, std::memory_order_relaxed);
}
uint64_t Load(const std::atomic<uint64_t>& counter) {
  return counter.load(std::memory_order_relaxed);
}
}  // namespace

CountingStore::CountingStore(std::shared_ptr<Store> inner) : ForwardingStore(std::move(inner)) {}

CountingStore::~CountingStore() {
  std::unique_lock<std::mutex> l(async_mu_);
  async_cv_.wait(l, [&] { return async_pending_ == 0; });
}

void CountingStore::AsyncStarted() {
  {
    std::lock_guard<std::mutex> l(async_mu_);
    ++async_pending_;
  }
  const uint64_t now = in_flight_.fetch_add(1, std::memory_order_relaxed) + 1;
  uint64_t max = c_.max_in_flight.load(std::memory_order_relaxed);
  while (now > max &&
         !c_.max_in_flight.compare_exchange_weak(max, now, std::memory_order_relaxed)) {
  }
}

void CountingStore::AsyncDone() {
  std::lock_guard<std::mutex> l(async_mu_);
  if (--async_pending_ == 0) async_cv_.notify_all();
}

void CountingStore::get_async(std::string_view key, ByteRange range, Bytes& out,
                              ReadCallback done) {
  Bump(c_.get_into);
  AsyncStarted();
  inner_->get_async(key, range, out, [this, &out, done = std::move(done)](Result<bool> found) {
    if (found.ok() && *found) Bump(c_.bytes_read, out.size());
    // Counted as complete after the caller's callback has run, so the destructor returns only
    // once every callback has been called (the Store contract). A callback must not drop the
    // last reference to this store (it would wait on itself), as for every store.
    in_flight_.fetch_sub(1, std::memory_order_relaxed);  // further operations may start in `done`
    done(std::move(found));
    AsyncDone();
  });
}

void CountingStore::get_within_async(std::string_view key, std::span<const MutableByteView> pieces,
                                     SizeCallback done) {
  Bump(c_.get_into);
  AsyncStarted();
  inner_->get_within_async(
      key, pieces, [this, pieces, done = std::move(done)](Result<std::optional<uint64_t>> size) {
        if (size.ok() && size->has_value() && **size <= internal::PiecesSize(pieces)) {
          Bump(c_.bytes_read, **size);
        }
        in_flight_.fetch_sub(1, std::memory_order_relaxed);
        done(std::move(size));
        AsyncDone();
      });
}

void CountingStore::set_async(std::string_view key, std::span<const ByteView> pieces,
                              WriteCallback done) {
  Bump(c_.set);
  AsyncStarted();
  const uint64_t n = internal::PiecesSize(pieces);
  inner_->set_async(key, pieces, [this, n, done = std::move(done)](Status s) {
    if (s.ok()) Bump(c_.bytes_written, n);
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    done(std::move(s));
    AsyncDone();
  });
}

void CountingStore::erase_async(std::string_view key, WriteCallback done) {
  Bump(c_.erase);
  AsyncStarted();
  inner_->erase_async(key, [this, done = std::move(done)](Status s) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    done(std::move(s));
    AsyncDone();
  });
}

CountingStore::InFlight::InFlight(CountingStore& s) : s_(s) {
  const uint64_t now = s_.in_flight_.fetch_add(1, std::memory_order_relaxed) + 1;
  uint64_t max = s_.c_.max_in_flight.load(std::memory_order_relaxed);
  while (now > max &&
         !s_.c_.max_in_flight.compare_exchange_weak(max, now, std::memory_order_relaxed)) {
  }
}
CountingStore::InFlight::~InFlight() {
  s_.in_flight_.fetch_sub(1, std::memory_order_relaxed);
}

CountingStore::Counters CountingStore::counters() const {
  Counters c;
  c.get_into = Load(c_.get_into);
  c.get_ranges = Load(c_.get_ranges);
  c.ranges_requested = Load(c_.ranges_requested);
  c.set = Load(c_.set);
  c.set_range = Load(c_.set_range);
  c.erase = Load(c_.erase);
  c.erase_prefix = Load(c_.erase_prefix);
  c.list = Load(c_.list);
  c.list_prefix = Load(c_.list_prefix);
  c.list_dir = Load(c_.list_dir);
  c.exists = Load(c_.exists);
  c.size = Load(c_.size);
  c.get_if = Load(c_.get_if);
  c.generation = Load(c_.generation);
  c.open_reader = Load(c_.open_reader);
  c.reader_read = Load(c_.reader_read);
  c.set_if = Load(c_.set_if);
  c.erase_if = Load(c_.erase_if);
  c.patch_if = Load(c_.patch_if);
  c.lock = Load(c_.lock);
  c.bytes_read = Load(c_.bytes_read);
  c.bytes_written = Load(c_.bytes_written);
  c.max_in_flight = Load(c_.max_in_flight);
  return c;
}

void CountingStore::reset() {
  for (std::atomic<uint64_t>* a :
       {&c_.get_into,    &c_.get_ranges,    &c_.ranges_requested, &c_.set,
        &c_.set_range,   &c_.erase,         &c_.erase_prefix,     &c_.list,
        &c_.list_prefix, &c_.list_dir,      &c_.exists,           &c_.size,
        &c_.get_if,      &c_.generation,    &c_.open_reader,      &c_.reader_read,
        &c_.set_if,      &c_.erase_if,      &c_.patch_if,         &c_.lock,
        &c_.bytes_read,  &c_.bytes_written, &c_.max_in_flight}) {
    a->store(0, std::memory_order_relaxed);
  }
}

Result<bool> CountingStore::get_into(std::string_view key, ByteRange range, Bytes& out) {
  Bump(c_.get_into);
  const InFlight running(*this);
  Result<bool> found = inner_->get_into(key, range, out);
  if (found.ok() && *found) Bump(c_.bytes_read, out.size());
  return found;
}

Result<bool> CountingStore::get_scatter(std::string_view key,
                                        std::span<const MutableByteView> pieces) {
  Bump(c_.get_into);
  const InFlight running(*this);
  Result<bool> found = inner_->get_scatter(key, pieces);
  if (found.ok() && *found) Bump(c_.bytes_read, internal::PiecesSize(pieces));
  return found;
}

Result<std::optional<uint64_t>> CountingStore::get_at(std::string_view key, uint64_t offset,
                                                      MutableByteView dest) {
  Bump(c_.get_into);
  const InFlight running(*this);
  Result<std::optional<uint64_t>> size = inner_->get_at(key, offset, dest);
  if (size.ok() && size->has_value() && offset <= **size && dest.size() <= **size - offset) {
    Bump(c_.bytes_read, dest.size());
  }
  return size;
}

Result<std::optional<uint64_t>> CountingStore::get_within(std::string_view key,
                                                          std::span<const MutableByteView> pieces) {
  Bump(c_.get_into);
  const InFlight running(*this);
  Result<std::optional<uint64_t>> size = inner_->get_within(key, pieces);
  if (size.ok() && size->has_value() && **size <= internal::PiecesSize(pieces)) {
    Bump(c_.bytes_read, **size);
  }
  return size;
}

Status CountingStore::set_gather(std::string_view key, std::span<const ByteView> pieces) {
  Bump(c_.set);
  const InFlight running(*this);
  Status s = inner_->set_gather(key, pieces);
  if (s.ok()) Bump(c_.bytes_written, internal::PiecesSize(pieces));
  return s;
}

Result<std::vector<std::optional<Bytes>>> CountingStore::get_ranges(
    const std::vector<KeyRange>& requests) {
  Bump(c_.get_ranges);
  Bump(c_.ranges_requested, requests.size());
  const InFlight running(*this);
  auto values = inner_->get_ranges(requests);
  if (values.ok()) {
    uint64_t n = 0;
    for (const auto& v : *values) n += v ? v->size() : 0;
    Bump(c_.bytes_read, n);
  }
  return values;
}

Status CountingStore::set(std::string_view key, ByteView value) {
  Bump(c_.set);
  const InFlight running(*this);
  Status s = inner_->set(key, value);
  if (s.ok()) Bump(c_.bytes_written, value.size());
  return s;
}

Status CountingStore::set_range(std::string_view key, uint64_t offset, ByteView value) {
  Bump(c_.set_range);
  const InFlight running(*this);
  Status s = inner_->set_range(key, offset, value);
  if (s.ok()) Bump(c_.bytes_written, value.size());
  return s;
}

Status CountingStore::erase(std::string_view key) {
  Bump(c_.erase);
  const InFlight running(*this);
  return inner_->erase(key);
}

Status CountingStore::erase_prefix(std::string_view prefix) {
  Bump(c_.erase_prefix);
  const InFlight running(*this);
  return inner_->erase_prefix(prefix);
}

Result<std::vector<std::string>> CountingStore::list() {
  Bump(c_.list);
  const InFlight running(*this);
  return inner_->list();
}

Result<std::vector<std::string>> CountingStore::list_prefix(std::string_view prefix) {
  Bump(c_.list_prefix);
  const InFlight running(*this);
  return inner_->list_prefix(prefix);
}

Result<DirListing> CountingStore::list_dir(std::string_view prefix) {
  Bump(c_.list_dir);
  const InFlight running(*this);
  return inner_->list_dir(prefix);
}

Result<bool> CountingStore::exists(std::string_view key) {
  Bump(c_.exists);
  const InFlight running(*this);
  return inner_->exists(key);
}

Result<std::optional<uint64_t>> CountingStore::size(std::string_view key) {
  Bump(c_.size);
  const InFlight running(*this);
  return inner_->size(key);
}

// Counts each read() of the inner reader. Holds the store's counters through the store, so the
// reader must not outlive its CountingStore (as any reader must not outlive its store).
class CountingStore::CountedReader final : public ValueReader {
 public:
  CountedReader(CountingStore& store, std::unique_ptr<ValueReader> inner)
      : store_(store), inner_(std::move(inner)) {}
  uint64_t size() const override { return inner_->size(); }
  const Generation& generation() const override { return inner_->generation(); }
  Result<bool> read(ByteRange range, Bytes& out) override {
    Bump(store_.c_.reader_read);
    const InFlight running(store_);
    Result<bool> read = inner_->read(range, out);
    if (read.ok() && *read) Bump(store_.c_.bytes_read, out.size());
    return read;
  }

 private:
  CountingStore& store_;
  std::unique_ptr<ValueReader> inner_;
};

Result<ReadResult> CountingStore::get_if(std::string_view key, ByteRange range, Bytes& out,
                                         const Generation* if_equal) {
  Bump(c_.get_if);
  const InFlight running(*this);
  Result<ReadResult> r = inner_->get_if(key, range, out, if_equal);
  if (r.ok() && r->found && r->condition_met) Bump(c_.bytes_read, out.size());
  return r;
}

Result<Generation> CountingStore::generation(std::string_view key) {
  Bump(c_.generation);
  const InFlight running(*this);
  return inner_->generation(key);
}

Result<std::unique_ptr<ValueReader>> CountingStore::open_reader(std::string_view key) {
  Bump(c_.open_reader);
  const InFlight running(*this);
  ASSIGN_OR_RETURN(std::unique_ptr<ValueReader> reader, inner_->open_reader(key));
  if (!reader) return reader;
  return std::unique_ptr<ValueReader>(new CountedReader(*this, std::move(reader)));
}

Result<std::optional<Generation>> CountingStore::set_if(std::string_view key,
                                                        std::span<const ByteView> pieces,
                                                        const WriteConditions& conditions) {
  Bump(c_.set_if);
  const InFlight running(*this);
  Result<std::optional<Generation>> r = inner_->set_if(key, pieces, conditions);
  if (r.ok() && r->has_value()) Bump(c_.bytes_written, internal::PiecesSize(pieces));
  return r;
}

Result<bool> CountingStore::erase_if(std::string_view key, const WriteConditions& conditions) {
  Bump(c_.erase_if);
  const InFlight running(*this);
  return inner_->erase_if(key, conditions);
}

Result<std::optional<Generation>> CountingStore::patch_if(std::string_view key,
                                                          std::span<const RangeWrite> writes,
                                                          const WriteConditions& conditions) {
  Bump(c_.patch_if);
  const InFlight running(*this);
  Result<std::optional<Generation>> r = inner_->patch_if(key, writes, conditions);
  if (r.ok() && r->has_value()) {
    uint64_t n = 0;
    for (const RangeWrite& w : writes) n += w.bytes.size();
    Bump(c_.bytes_written, n);
  }
  return r;
}

Result<std::unique_ptr<KeyLock>> CountingStore::lock(std::string_view key) {
  Bump(c_.lock);
  const InFlight running(*this);
  return inner_->lock(key);
}

std::string CountingStore::description() const {
  return "counting(" + inner_->description() + ")";
}

}  // namespace zarrpp
