#include <utility>

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

CountingStore::CountingStore(std::shared_ptr<Store> inner) : inner_(std::move(inner)) {}

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
  c.bytes_read = Load(c_.bytes_read);
  c.bytes_written = Load(c_.bytes_written);
  return c;
}

void CountingStore::reset() {
  for (std::atomic<uint64_t>* a :
       {&c_.get_into, &c_.get_ranges, &c_.ranges_requested, &c_.set, &c_.set_range, &c_.erase,
        &c_.erase_prefix, &c_.list, &c_.list_prefix, &c_.list_dir, &c_.exists, &c_.size,
        &c_.bytes_read, &c_.bytes_written}) {
    a->store(0, std::memory_order_relaxed);
  }
}

Result<bool> CountingStore::get_into(std::string_view key, ByteRange range, Bytes& out) {
  Bump(c_.get_into);
  Result<bool> found = inner_->get_into(key, range, out);
  if (found.ok() && *found) Bump(c_.bytes_read, out.size());
  return found;
}

Result<std::vector<std::optional<Bytes>>> CountingStore::get_ranges(
    const std::vector<KeyRange>& requests) {
  Bump(c_.get_ranges);
  Bump(c_.ranges_requested, requests.size());
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
  Status s = inner_->set(key, value);
  if (s.ok()) Bump(c_.bytes_written, value.size());
  return s;
}

Status CountingStore::set_range(std::string_view key, uint64_t offset, ByteView value) {
  Bump(c_.set_range);
  Status s = inner_->set_range(key, offset, value);
  if (s.ok()) Bump(c_.bytes_written, value.size());
  return s;
}

Status CountingStore::erase(std::string_view key) {
  Bump(c_.erase);
  return inner_->erase(key);
}

Status CountingStore::erase_prefix(std::string_view prefix) {
  Bump(c_.erase_prefix);
  return inner_->erase_prefix(prefix);
}

Result<std::vector<std::string>> CountingStore::list() {
  Bump(c_.list);
  return inner_->list();
}

Result<std::vector<std::string>> CountingStore::list_prefix(std::string_view prefix) {
  Bump(c_.list_prefix);
  return inner_->list_prefix(prefix);
}

Result<DirListing> CountingStore::list_dir(std::string_view prefix) {
  Bump(c_.list_dir);
  return inner_->list_dir(prefix);
}

Result<bool> CountingStore::exists(std::string_view key) {
  Bump(c_.exists);
  return inner_->exists(key);
}

Result<std::optional<uint64_t>> CountingStore::size(std::string_view key) {
  Bump(c_.size);
  return inner_->size(key);
}

std::string CountingStore::description() const {
  return "counting(" + inner_->description() + ")";
}

}  // namespace zarrpp
