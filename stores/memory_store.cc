#include "zarrpp/memory_store.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <utility>

#include "src/store_internal.h"

namespace zarrpp {

namespace {

Generation GenerationOf(uint64_t n) {
  return Generation::Of(std::to_string(n));
}

// Whether a value of generation `current` (0: absent) satisfies `if_equal`.
bool ConditionHolds(const std::optional<Generation>& if_equal, uint64_t current) {
  if (!if_equal) return true;
  if (current == 0) return if_equal->absent();
  return *if_equal == GenerationOf(current);
}

Status PatchOutOfRange(std::string_view key, uint64_t offset, uint64_t length, uint64_t size) {
  return Status::InvalidArgument("patch of key '" + std::string(key) + "': offset " +
                                 std::to_string(offset) + " + length " + std::to_string(length) +
                                 " passes the value's end " + std::to_string(size));
}

// A snapshot of one version: the buffer is never modified while this reference exists.
class MemoryReader final : public ValueReader {
 public:
  MemoryReader(std::shared_ptr<Bytes> value, Generation generation, std::string key)
      : value_(std::move(value)), generation_(std::move(generation)), key_(std::move(key)) {}
  uint64_t size() const override { return value_->size(); }
  const Generation& generation() const override { return generation_; }
  Result<bool> read(ByteRange range, Bytes& out) override {
    ASSIGN_OR_RETURN(auto bounds, range.Resolve(value_->size(), key_));
    out.assign(value_->begin() + static_cast<ptrdiff_t>(bounds.first),
               value_->begin() + static_cast<ptrdiff_t>(bounds.second));
    return true;
  }
  std::optional<ByteView> memory() const override { return ByteView(*value_); }

 private:
  std::shared_ptr<Bytes> value_;
  Generation generation_;
  std::string key_;
};

}  // namespace

class MemoryStore::Lock final : public KeyLock {
 public:
  Lock(MemoryStore* store, std::string key) : store_(store), key_(std::move(key)) {}
  ~Lock() override { store_->Unlock(key_); }
  const std::string& key() const override { return key_; }
  const MemoryStore* store() const { return store_; }

 private:
  MemoryStore* store_;
  std::string key_;
};

std::shared_ptr<MemoryStore> MemoryStore::Create() {
  return std::make_shared<MemoryStore>();
}

StoreCapabilities MemoryStore::capabilities() const {
  StoreCapabilities caps;
  caps.partial_reads = true;
  caps.set_range = true;
  caps.memory_readers = true;
  caps.atomic_set = true;
  caps.generations = true;
  caps.conditional_writes = true;
  caps.key_locks = true;
  return caps;
}

MemoryStore::Value MemoryStore::Find(std::string_view key) const {
  std::lock_guard lock(mu_);
  auto it = values_.find(key);
  return it == values_.end() ? nullptr : it->second.bytes;
}

Status MemoryStore::CheckHeld(std::string_view key, const KeyLock* held) const {
  if (held == nullptr) return Status::OK();
  const auto* mine = dynamic_cast<const Lock*>(held);
  if (mine == nullptr || mine->store() != this) {
    return Status::InvalidArgument("write of key '" + std::string(key) +
                                   "': the held lock was not taken from this store");
  }
  if (mine->key() != key) {
    return Status::InvalidArgument("write of key '" + std::string(key) +
                                   "': the held lock is of key '" + mine->key() + "'");
  }
  return Status::OK();
}

void MemoryStore::AwaitUnlocked(std::unique_lock<std::mutex>& lock, std::string_view key,
                                const KeyLock* held) {
  if (held != nullptr || locked_.empty()) return;
  unlocked_.wait(lock, [&] { return locked_.find(key) == locked_.end(); });
}

void MemoryStore::Unlock(const std::string& key) {
  {
    std::lock_guard lock(mu_);
    locked_.erase(key);
  }
  unlocked_.notify_all();
}

Result<std::unique_ptr<KeyLock>> MemoryStore::lock(std::string_view key) {
  RETURN_IF_ERROR(ValidateKey(key));
  std::unique_lock lock(mu_);
  unlocked_.wait(lock, [&] { return locked_.find(key) == locked_.end(); });
  locked_.emplace(key);
  return std::unique_ptr<KeyLock>(new Lock(this, std::string(key)));
}

Result<bool> MemoryStore::get_into(std::string_view key, ByteRange range, Bytes& out) {
  RETURN_IF_ERROR(ValidateKey(key));
  const Value value = Find(key);
  if (!value) return false;
  // The value is never modified while a reader holds a reference (see set_range), so the copy
  // needs no lock.
  ASSIGN_OR_RETURN(auto bounds, range.Resolve(value->size(), key));
  out.assign(value->begin() + static_cast<ptrdiff_t>(bounds.first),
             value->begin() + static_cast<ptrdiff_t>(bounds.second));
  return true;
}

Result<ReadResult> MemoryStore::get_if(std::string_view key, ByteRange range, Bytes& out,
                                       const Generation* if_equal) {
  RETURN_IF_ERROR(ValidateKey(key));
  Value value;
  uint64_t generation = 0;
  {
    std::lock_guard lock(mu_);
    auto it = values_.find(key);
    if (it != values_.end()) {
      value = it->second.bytes;
      generation = it->second.generation;
    }
  }
  ReadResult r;
  r.generation = value ? GenerationOf(generation) : Generation::Absent();
  if (if_equal != nullptr && !(*if_equal == r.generation)) {
    r.condition_met = false;
    return r;
  }
  if (!value) return r;
  ASSIGN_OR_RETURN(auto bounds, range.Resolve(value->size(), key));
  out.assign(value->begin() + static_cast<ptrdiff_t>(bounds.first),
             value->begin() + static_cast<ptrdiff_t>(bounds.second));
  r.found = true;
  return r;
}

Result<Generation> MemoryStore::generation(std::string_view key) {
  RETURN_IF_ERROR(ValidateKey(key));
  std::lock_guard lock(mu_);
  auto it = values_.find(key);
  if (it == values_.end()) return Generation::Absent();
  return GenerationOf(it->second.generation);
}

Result<std::unique_ptr<ValueReader>> MemoryStore::open_reader(std::string_view key) {
  RETURN_IF_ERROR(ValidateKey(key));
  std::unique_lock lock(mu_);
  auto it = values_.find(key);
  if (it == values_.end()) return std::unique_ptr<ValueReader>();
  Value value = it->second.bytes;
  const uint64_t generation = it->second.generation;
  lock.unlock();
  return std::unique_ptr<ValueReader>(
      new MemoryReader(std::move(value), GenerationOf(generation), std::string(key)));
}

Result<bool> MemoryStore::get_scatter(std::string_view key,
                                      std::span<const MutableByteView> pieces) {
  RETURN_IF_ERROR(ValidateKey(key));
  const Value value = Find(key);
  if (!value) return false;
  const uint64_t expected = internal::PiecesSize(pieces);
  if (value->size() != expected) return internal::ScatterSizeMismatch(key, value->size(), expected);
  internal::ScatterCopy(*value, pieces);
  return true;
}

Result<std::optional<uint64_t>> MemoryStore::get_at(std::string_view key, uint64_t offset,
                                                    MutableByteView dest) {
  RETURN_IF_ERROR(ValidateKey(key));
  const Value value = Find(key);
  if (!value) return std::optional<uint64_t>();
  const uint64_t size = value->size();
  if (offset <= size && dest.size() <= size - offset && !dest.empty()) {
    std::memcpy(dest.data(), value->data() + offset, dest.size());
  }
  return std::optional<uint64_t>(size);
}

Result<std::optional<uint64_t>> MemoryStore::get_within(std::string_view key,
                                                        std::span<const MutableByteView> pieces) {
  RETURN_IF_ERROR(ValidateKey(key));
  const Value value = Find(key);
  if (!value) return std::optional<uint64_t>();
  if (value->size() <= internal::PiecesSize(pieces)) internal::ScatterCopy(*value, pieces);
  return std::optional<uint64_t>(value->size());
}

Status MemoryStore::set(std::string_view key, ByteView value) {
  RETURN_IF_ERROR(ValidateKey(key));
  return Replace(key, std::make_shared<Bytes>(value.begin(), value.end()), {}).status();
}

Status MemoryStore::set_gather(std::string_view key, std::span<const ByteView> pieces) {
  RETURN_IF_ERROR(ValidateKey(key));
  auto fresh = std::make_shared<Bytes>();
  internal::Concatenate(pieces, *fresh);
  return Replace(key, std::move(fresh), {}).status();
}

Result<std::optional<Generation>> MemoryStore::set_if(std::string_view key,
                                                      std::span<const ByteView> pieces,
                                                      const WriteConditions& conditions) {
  RETURN_IF_ERROR(ValidateKey(key));
  RETURN_IF_ERROR(CheckHeld(key, conditions.held));
  auto fresh = std::make_shared<Bytes>();
  internal::Concatenate(pieces, *fresh);
  return Replace(key, std::move(fresh), conditions);
}

Result<std::optional<Generation>> MemoryStore::Replace(std::string_view key, Value fresh,
                                                       const WriteConditions& conditions) {
  std::unique_lock lock(mu_);
  AwaitUnlocked(lock, key, conditions.held);
  auto it = values_.find(key);
  if (!ConditionHolds(conditions.if_equal, it == values_.end() ? 0 : it->second.generation)) {
    return std::optional<Generation>();
  }
  const uint64_t generation = ++last_generation_;
  if (it == values_.end()) {
    values_.emplace(std::string(key), Entry{std::move(fresh), generation});
  } else {
    // The old value is released after the lock, so writers never free large buffers under it.
    it->second.bytes.swap(fresh);
    it->second.generation = generation;
    lock.unlock();
  }
  return std::optional<Generation>(GenerationOf(generation));
}

Status MemoryStore::set_range(std::string_view key, uint64_t offset, ByteView value) {
  RETURN_IF_ERROR(ValidateKey(key));
  const RangeWrite write{offset, value};
  auto r = Patch(key, std::span<const RangeWrite>(&write, 1), {}, false);
  if (!r.ok() && r.status().IsFailedPrecondition()) {
    return Status::FailedPrecondition("set_range of key '" + std::string(key) +
                                      "': the key does not exist");
  }
  return r.status();
}

Result<std::optional<Generation>> MemoryStore::patch_if(std::string_view key,
                                                        std::span<const RangeWrite> writes,
                                                        const WriteConditions& conditions) {
  return Patch(key, writes, conditions, true);
}

Result<std::optional<Generation>> MemoryStore::Patch(std::string_view key,
                                                     std::span<const RangeWrite> writes,
                                                     const WriteConditions& conditions,
                                                     bool may_extend) {
  RETURN_IF_ERROR(ValidateKey(key));
  RETURN_IF_ERROR(CheckHeld(key, conditions.held));
  // Patches do not wait for key locks (as in every store): condition them on a generation.
  std::unique_lock lock(mu_);
  auto it = values_.find(key);
  if (it == values_.end()) {
    if (conditions.if_equal && !conditions.if_equal->absent()) return std::optional<Generation>();
    return Status::FailedPrecondition("patch of key '" + std::string(key) +
                                      "': the key does not exist");
  }
  if (!ConditionHolds(conditions.if_equal, it->second.generation)) {
    return std::optional<Generation>();
  }
  const uint64_t size = it->second.bytes->size();
  bool any = false;
  uint64_t end = size;  // the value's end as the writes before this one leave it
  for (const RangeWrite& w : writes) {
    if (w.offset > end || w.bytes.size() > (may_extend ? UINT64_MAX : end) - w.offset) {
      return PatchOutOfRange(key, w.offset, w.bytes.size(), end);
    }
    end = std::max(end, w.offset + w.bytes.size());
    any = any || !w.bytes.empty();
  }
  if (!any) return std::optional<Generation>(GenerationOf(it->second.generation));
  // References are only taken under the lock, so a count of one means no reader can see the
  // value: patch it in place. Otherwise patch a copy, leaving readers their consistent snapshot.
  Value old;
  if (it->second.bytes.use_count() != 1) {
    old = it->second.bytes;
    auto copy = std::make_shared<Bytes>();
    copy->reserve(end);
    copy->assign(old->begin(), old->end());
    it->second.bytes = std::move(copy);
  }
  if (end > size) it->second.bytes->resize(end);
  for (const RangeWrite& w : writes) {
    if (!w.bytes.empty()) {
      std::memcpy(it->second.bytes->data() + w.offset, w.bytes.data(), w.bytes.size());
    }
  }
  const uint64_t generation = ++last_generation_;
  it->second.generation = generation;
  lock.unlock();
  return std::optional<Generation>(GenerationOf(generation));
}

Status MemoryStore::erase(std::string_view key) {
  return erase_if(key, {}).status();
}

Result<bool> MemoryStore::erase_if(std::string_view key, const WriteConditions& conditions) {
  RETURN_IF_ERROR(ValidateKey(key));
  RETURN_IF_ERROR(CheckHeld(key, conditions.held));
  Value old;
  std::unique_lock lock(mu_);
  AwaitUnlocked(lock, key, conditions.held);
  auto it = values_.find(key);
  if (!ConditionHolds(conditions.if_equal, it == values_.end() ? 0 : it->second.generation)) {
    return false;
  }
  if (it != values_.end()) {
    old.swap(it->second.bytes);
    values_.erase(it);
  }
  lock.unlock();
  return true;
}

Status MemoryStore::erase_prefix(std::string_view prefix) {
  RETURN_IF_ERROR(ValidatePrefix(prefix));
  Map removed;
  std::unique_lock lock(mu_);
  // Key locks are not waited for: a holder of a key under the prefix may be the caller.
  auto first = values_.lower_bound(prefix);
  auto last = first;
  while (last != values_.end() && last->first.starts_with(prefix)) ++last;
  // Keys with one prefix are contiguous in sorted order, so one splice removes them all.
  while (first != last) removed.insert(values_.extract(first++));
  lock.unlock();
  return Status::OK();
}

Result<std::vector<std::string>> MemoryStore::list_prefix(std::string_view prefix) {
  RETURN_IF_ERROR(ValidatePrefix(prefix));
  std::vector<std::string> keys;
  std::lock_guard lock(mu_);
  for (auto it = values_.lower_bound(prefix); it != values_.end() && it->first.starts_with(prefix);
       ++it) {
    keys.push_back(it->first);
  }
  return keys;
}

Result<DirListing> MemoryStore::list_dir(std::string_view prefix) {
  RETURN_IF_ERROR(ValidatePrefix(prefix));
  DirListing listing;
  std::lock_guard lock(mu_);
  auto it = values_.lower_bound(prefix);
  while (it != values_.end() && it->first.starts_with(prefix)) {
    const std::string& key = it->first;
    size_t slash = key.find('/', prefix.size());
    if (slash == std::string::npos) {
      listing.keys.push_back(key);
      ++it;
      continue;
    }
    // Every key under this child prefix sorts before child + ('/' + 1), so skip them in one seek.
    std::string child = key.substr(0, slash + 1);
    std::string after = child;
    after.back() = static_cast<char>('/' + 1);
    listing.prefixes.push_back(std::move(child));
    it = values_.lower_bound(after);
  }
  return listing;
}

Result<std::optional<uint64_t>> MemoryStore::size(std::string_view key) {
  RETURN_IF_ERROR(ValidateKey(key));
  const Value value = Find(key);
  if (!value) return std::optional<uint64_t>();
  return std::optional<uint64_t>(value->size());
}

}  // namespace zarrpp
