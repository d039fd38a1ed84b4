#include "zarrpp/memory_store.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <utility>

#include "src/store_internal.h"

namespace zarrpp {

std::shared_ptr<MemoryStore> MemoryStore::Create() {
  return std::shared_ptr<MemoryStore>(new MemoryStore());
}

StoreCapabilities MemoryStore::capabilities() const {
  StoreCapabilities caps;
  caps.partial_reads = true;
  caps.set_range = true;
  caps.atomic_set = true;
  return caps;
}

MemoryStore::Value MemoryStore::Find(std::string_view key) const {
  std::lock_guard lock(mu_);
  auto it = values_.find(key);
  return it == values_.end() ? nullptr : it->second;
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
  return Replace(key, std::make_shared<Bytes>(value.begin(), value.end()));
}

Status MemoryStore::set_gather(std::string_view key, std::span<const ByteView> pieces) {
  RETURN_IF_ERROR(ValidateKey(key));
  auto fresh = std::make_shared<Bytes>();
  internal::Concatenate(pieces, *fresh);
  return Replace(key, std::move(fresh));
}

Status MemoryStore::Replace(std::string_view key, Value fresh) {
  std::unique_lock lock(mu_);
  auto it = values_.find(key);
  if (it == values_.end()) {
    values_.emplace(std::string(key), std::move(fresh));
  } else {
    // The old value is released after the lock, so writers never free large buffers under it.
    it->second.swap(fresh);
    lock.unlock();
  }
  return Status::OK();
}

Status MemoryStore::set_range(std::string_view key, uint64_t offset, ByteView value) {
  RETURN_IF_ERROR(ValidateKey(key));
  std::unique_lock lock(mu_);
  auto it = values_.find(key);
  if (it == values_.end()) {
    return Status::FailedPrecondition("set_range of key '" + std::string(key) +
                                      "': the key does not exist");
  }
  const uint64_t size = it->second->size();
  if (offset > size || value.size() > size - offset) {
    return Status::InvalidArgument("set_range of key '" + std::string(key) + "': offset " +
                                   std::to_string(offset) + " + length " +
                                   std::to_string(value.size()) + " passes the value's end " +
                                   std::to_string(size));
  }
  if (value.empty()) return Status::OK();
  // References are only taken under the lock, so a count of one means no reader can see the
  // value: patch it in place. Otherwise patch a copy, leaving readers their consistent snapshot.
  Value old;
  if (it->second.use_count() != 1) {
    old = it->second;
    it->second = std::make_shared<Bytes>(*old);
  }
  std::memcpy(it->second->data() + offset, value.data(), value.size());
  lock.unlock();
  return Status::OK();
}

Status MemoryStore::erase(std::string_view key) {
  RETURN_IF_ERROR(ValidateKey(key));
  Value old;
  std::unique_lock lock(mu_);
  auto it = values_.find(key);
  if (it != values_.end()) {
    old.swap(it->second);
    values_.erase(it);
  }
  lock.unlock();
  return Status::OK();
}

Status MemoryStore::erase_prefix(std::string_view prefix) {
  RETURN_IF_ERROR(ValidatePrefix(prefix));
  std::map<std::string, Value, std::less<>> removed;
  std::unique_lock lock(mu_);
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
