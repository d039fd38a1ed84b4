#include <utility>

#include "zarrpp/store_wrappers.h"

namespace zarrpp {

StoreCapabilities ForwardingStore::capabilities() const {
  StoreCapabilities c = inner_->capabilities();
  // A read in place would not pass through this store's overrides.
  c.memory_readers = false;
  if (!everything()) {
    c.generations = c.conditional_writes = c.key_locks = c.set_range = c.async_io = false;
  }
  return c;
}

Result<bool> ForwardingStore::get_into(std::string_view key, ByteRange range, Bytes& out) {
  return inner_->get_into(key, range, out);
}

Result<bool> ForwardingStore::get_scatter(std::string_view key,
                                          std::span<const MutableByteView> pieces) {
  return everything() ? inner_->get_scatter(key, pieces) : Store::get_scatter(key, pieces);
}

Result<std::optional<uint64_t>> ForwardingStore::get_within(
    std::string_view key, std::span<const MutableByteView> pieces) {
  return everything() ? inner_->get_within(key, pieces) : Store::get_within(key, pieces);
}

Result<std::optional<uint64_t>> ForwardingStore::get_at(std::string_view key, uint64_t offset,
                                                        MutableByteView dest) {
  return everything() ? inner_->get_at(key, offset, dest) : Store::get_at(key, offset, dest);
}

Result<std::vector<std::optional<Bytes>>> ForwardingStore::get_ranges(
    const std::vector<KeyRange>& requests) {
  return everything() ? inner_->get_ranges(requests) : Store::get_ranges(requests);
}

Status ForwardingStore::set(std::string_view key, ByteView value) {
  return inner_->set(key, value);
}

Status ForwardingStore::set_gather(std::string_view key, std::span<const ByteView> pieces) {
  return everything() ? inner_->set_gather(key, pieces) : Store::set_gather(key, pieces);
}

Status ForwardingStore::set_range(std::string_view key, uint64_t offset, ByteView value) {
  return everything() ? inner_->set_range(key, offset, value)
                      : Store::set_range(key, offset, value);
}

Status ForwardingStore::erase(std::string_view key) {
  return inner_->erase(key);
}

Status ForwardingStore::erase_prefix(std::string_view prefix) {
  return inner_->erase_prefix(prefix);
}

Result<std::vector<std::string>> ForwardingStore::list() {
  return everything() ? inner_->list() : Store::list();
}

Result<std::vector<std::string>> ForwardingStore::list_prefix(std::string_view prefix) {
  return inner_->list_prefix(prefix);
}

Result<DirListing> ForwardingStore::list_dir(std::string_view prefix) {
  return inner_->list_dir(prefix);
}

Result<bool> ForwardingStore::exists(std::string_view key) {
  return everything() ? inner_->exists(key) : Store::exists(key);
}

Result<std::optional<uint64_t>> ForwardingStore::size(std::string_view key) {
  return inner_->size(key);
}

Result<ReadResult> ForwardingStore::get_if(std::string_view key, ByteRange range, Bytes& out,
                                           const Generation* if_equal) {
  return everything() ? inner_->get_if(key, range, out, if_equal)
                      : Store::get_if(key, range, out, if_equal);
}

Result<Generation> ForwardingStore::generation(std::string_view key) {
  return everything() ? inner_->generation(key) : Store::generation(key);
}

Result<std::unique_ptr<ValueReader>> ForwardingStore::open_reader(std::string_view key) {
  return everything() ? inner_->open_reader(key) : Store::open_reader(key);
}

Result<std::optional<Generation>> ForwardingStore::set_if(std::string_view key,
                                                          std::span<const ByteView> pieces,
                                                          const WriteConditions& conditions) {
  return everything() ? inner_->set_if(key, pieces, conditions)
                      : Store::set_if(key, pieces, conditions);
}

Result<bool> ForwardingStore::erase_if(std::string_view key, const WriteConditions& conditions) {
  return everything() ? inner_->erase_if(key, conditions) : Store::erase_if(key, conditions);
}

Result<std::optional<Generation>> ForwardingStore::patch_if(std::string_view key,
                                                            std::span<const RangeWrite> writes,
                                                            const WriteConditions& conditions) {
  return everything() ? inner_->patch_if(key, writes, conditions)
                      : Store::patch_if(key, writes, conditions);
}

Result<std::unique_ptr<KeyLock>> ForwardingStore::lock(std::string_view key) {
  return everything() ? inner_->lock(key) : Store::lock(key);
}

void ForwardingStore::get_async(std::string_view key, ByteRange range, Bytes& out,
                                ReadCallback done) {
  if (everything()) return inner_->get_async(key, range, out, std::move(done));
  Store::get_async(key, range, out, std::move(done));
}

void ForwardingStore::get_within_async(std::string_view key,
                                       std::span<const MutableByteView> pieces, SizeCallback done) {
  if (everything()) return inner_->get_within_async(key, pieces, std::move(done));
  Store::get_within_async(key, pieces, std::move(done));
}

void ForwardingStore::set_async(std::string_view key, std::span<const ByteView> pieces,
                                WriteCallback done) {
  if (everything()) return inner_->set_async(key, pieces, std::move(done));
  Store::set_async(key, pieces, std::move(done));
}

void ForwardingStore::erase_async(std::string_view key, WriteCallback done) {
  if (everything()) return inner_->erase_async(key, std::move(done));
  Store::erase_async(key, std::move(done));
}

std::string ForwardingStore::description() const {
  return inner_->description();
}

}  // namespace zarrpp
