#include "zarrpp/memory_store.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <utility>

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

Result<bool> MemoryStore::get_into(std::string_view key, ByteRange range, Bytes& out) {
  RETURN_IF_ERROR(ValidateKey(key));
  std::shared_lock lock(mu_);
  auto it = values_.find(key);
  if (it == values_.end()) return false;
  const Bytes& value = it->second;
  ASSIGN_OR_RETURN(auto bounds, range.Resolve(value.size(), key));
  out.assign(value.begin() + static_cast<ptrdiff_t>(bounds.first),
             value.begin() + static_cast<ptrdiff_t>(bounds.second));
  return true;
}

Status MemoryStore::set(std::string_view key, ByteView value) {
  RETURN_IF_ERROR(ValidateKey(key));
  Bytes copy(value.begin(), value.end());
  std::unique_lock lock(mu_);
  auto it = values_.find(key);
  if (it == values_.end()) {
    values_.emplace(std::string(key), std::move(copy));
  } else {
    // The old value is released after the lock, so writers never free large buffers under it.
    it->second.swap(copy);
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
  Bytes& target = it->second;
  if (offset > target.size() || value.size() > target.size() - offset) {
    return Status::InvalidArgument("set_range of key '" + std::string(key) + "': offset " +
                                   std::to_string(offset) + " + length " +
                                   std::to_string(value.size()) + " passes the value's end " +
                                   std::to_string(target.size()));
  }
  if (!value.empty()) std::memcpy(target.data() + offset, value.data(), value.size());
  return Status::OK();
}

Status MemoryStore::erase(std::string_view key) {
  RETURN_IF_ERROR(ValidateKey(key));
  Bytes old;
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
  std::map<std::string, Bytes, std::less<>> removed;
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
  std::shared_lock lock(mu_);
  for (auto it = values_.lower_bound(prefix); it != values_.end() && it->first.starts_with(prefix);
       ++it) {
    keys.push_back(it->first);
  }
  return keys;
}

Result<DirListing> MemoryStore::list_dir(std::string_view prefix) {
  RETURN_IF_ERROR(ValidatePrefix(prefix));
  DirListing listing;
  std::shared_lock lock(mu_);
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
  std::shared_lock lock(mu_);
  auto it = values_.find(key);
  if (it == values_.end()) return std::optional<uint64_t>();
  return std::optional<uint64_t>(it->second.size());
}

}  // namespace zarrpp
