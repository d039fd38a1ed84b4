// src/pipeline/chunk_cache.cc - ChunkCache entries (ChunkCacheCore), and the store wrapper through which a
// handle with a cache writes, so that every write path invalidates what it replaces.
#include "src/pipeline/chunk_cache.h"

#include <utility>

#include "src/array/array_impl.h"
#include "src/pipeline/chunk_cache_core.h"

namespace zarrpp {

namespace internal {

// ---- ChunkCacheCore
// ------------------------------------------------------------------------------

uint64_t ChunkCacheCore::StoreId(const std::shared_ptr<Store>& store) {
  std::vector<uint64_t> gone;
  uint64_t id = 0;
  {
    std::lock_guard<std::mutex> g(stores_mu_);
    for (auto it = stores_.begin(); it != stores_.end();) {
      if (it->second.store.expired()) {
        gone.push_back(it->second.id);
        it = stores_.erase(it);
      } else {
        ++it;
      }
    }
    auto it = stores_.find(store.get());
    if (it != stores_.end()) {
      id = it->second.id;
    } else {
      id = next_store_id_++;
      stores_.emplace(store.get(), StoreSlot{store, id});
    }
  }
  // Entries of destroyed store objects can never be asked for again; free their bytes.
  for (uint64_t old : gone) InvalidatePrefix(old, "");
  return id;
}

ChunkCacheCore::Entry* ChunkCacheCore::FindLocked(uint64_t store, std::string_view key,
                                                  uint64_t part) {
  auto git = groups_.find(GroupKeyView{store, key});
  if (git == groups_.end()) return nullptr;
  Lru::iterator e;
  if (part == kWhole) {
    if (!git->second.whole) return nullptr;
    e = *git->second.whole;
  } else {
    auto eit = git->second.parts.find(part);
    if (eit == git->second.parts.end()) return nullptr;
    e = eit->second;
  }
  if (e != lru_.begin()) lru_.splice(lru_.begin(), lru_, e);
  return &*e;
}

bool ChunkCacheCore::Lookup(uint64_t store, std::string_view key, uint64_t part,
                            std::shared_ptr<const Bytes>* data, Generation* generation) {
  return Visit(store, key, part, [&](const CachedValue& v) {
    *data = v.data;
    if (generation != nullptr) *generation = v.generation;
  });
}

uint64_t ChunkCacheCore::Ticket(uint64_t store, std::string_view key) const {
  return epochs_[StripeOf(store, key)].load(std::memory_order_acquire);
}

void ChunkCacheCore::RemoveLocked(Lru::iterator it) {
  Groups::value_type* group = it->group;
  bytes_ -= it->bytes;
  if (it->part == kWhole) {
    group->second.whole.reset();
  } else {
    group->second.parts.erase(it->part);
  }
  lru_.erase(it);
  if (group->second.empty()) groups_.erase(group->first);
}

bool ChunkCacheCore::Insert(uint64_t store, std::string_view key, uint64_t part, CachedValue value,
                            uint64_t bytes, uint64_t ticket) {
  const uint64_t charge = bytes + ChunkCache::kEntryOverheadBytes;
  if (!Fits(bytes)) {
    CountNotCached();
    return false;
  }
  std::vector<CachedValue> released;  // freed after the lock
  std::unique_lock<std::mutex> g(mu_);
  if (epochs_[StripeOf(store, key)].load(std::memory_order_relaxed) != ticket) {
    g.unlock();
    CountNotCached();
    return false;
  }
  auto git = groups_.find(GroupKeyView{store, key});
  if (git != groups_.end()) {
    // Same part: replaced. Other parts of another known generation: stale.
    std::vector<Lru::iterator> drop;
    git->second.ForEach([&](Lru::iterator e) {
      if (e->part == part) {
        drop.push_back(e);
      } else if (value.generation.present() && e->value.generation.present() &&
                 !(e->value.generation == value.generation)) {
        drop.push_back(e);
        stale_.fetch_add(1, std::memory_order_relaxed);
      }
    });
    for (Lru::iterator e : drop) {
      released.push_back(std::move(e->value));
      RemoveLocked(e);
    }
  }
  while (bytes_ + charge > options_.capacity_bytes && !lru_.empty()) {
    Lru::iterator victim = std::prev(lru_.end());
    released.push_back(std::move(victim->value));
    RemoveLocked(victim);
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
  git = groups_.try_emplace(GroupKey{store, std::string(key)}).first;
  lru_.push_front(Entry{&*git, part, std::move(value), charge});
  if (part == kWhole) {
    git->second.whole = lru_.begin();
  } else {
    git->second.parts[part] = lru_.begin();
  }
  bytes_ += charge;
  insertions_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void ChunkCacheCore::Invalidate(uint64_t store, std::string_view key) {
  std::vector<CachedValue> released;
  std::lock_guard<std::mutex> g(mu_);
  epochs_[StripeOf(store, key)].fetch_add(1, std::memory_order_release);
  auto git = groups_.find(GroupKeyView{store, key});
  if (git == groups_.end()) return;
  std::vector<Lru::iterator> drop;
  git->second.ForEach([&](Lru::iterator e) { drop.push_back(e); });
  for (Lru::iterator e : drop) {
    released.push_back(std::move(e->value));
    RemoveLocked(e);
  }
  invalidations_.fetch_add(drop.size(), std::memory_order_relaxed);
}

void ChunkCacheCore::InvalidatePrefix(uint64_t store, std::string_view prefix) {
  std::vector<CachedValue> released;
  std::lock_guard<std::mutex> g(mu_);
  for (auto& e : epochs_) e.fetch_add(1, std::memory_order_release);
  uint64_t n = 0;
  for (auto it = lru_.begin(); it != lru_.end();) {
    const GroupKey& k = it->group->first;
    if (k.store == store && std::string_view(k.key).substr(0, prefix.size()) == prefix) {
      released.push_back(std::move(it->value));
      auto next = std::next(it);
      RemoveLocked(it);
      it = next;
      ++n;
    } else {
      ++it;
    }
  }
  invalidations_.fetch_add(n, std::memory_order_relaxed);
}

void ChunkCacheCore::DropStale(uint64_t store, std::string_view key, const Generation& current) {
  std::vector<CachedValue> released;
  std::lock_guard<std::mutex> g(mu_);
  auto git = groups_.find(GroupKeyView{store, key});
  if (git == groups_.end()) return;
  std::vector<Lru::iterator> drop;
  git->second.ForEach([&](Lru::iterator e) {
    if (!(e->value.generation == current)) drop.push_back(e);
  });
  for (Lru::iterator e : drop) {
    released.push_back(std::move(e->value));
    RemoveLocked(e);
  }
  stale_.fetch_add(drop.size(), std::memory_order_relaxed);
}

void ChunkCacheCore::Clear() {
  Lru released;
  std::lock_guard<std::mutex> g(mu_);
  for (auto& e : epochs_) e.fetch_add(1, std::memory_order_release);
  groups_.clear();
  released.swap(lru_);
  bytes_ = 0;
}

ChunkCacheStats ChunkCacheCore::Stats() const {
  ChunkCacheStats s;
  s.hits = hits_.load();
  s.misses = misses_.load();
  s.insertions = insertions_.load();
  s.evictions = evictions_.load();
  s.invalidations = invalidations_.load();
  s.stale = stale_.load();
  s.not_cached = not_cached_.load();
  s.capacity = options_.capacity_bytes;
  std::lock_guard<std::mutex> g(mu_);
  s.entries = lru_.size();
  s.bytes = bytes_;
  return s;
}

void ChunkCacheCore::ResetStats() {
  for (auto* c :
       {&hits_, &misses_, &insertions_, &evictions_, &invalidations_, &stale_, &not_cached_}) {
    c->store(0);
  }
}

// ---- the store a handle with a cache writes through
// ----------------------------------------------

namespace {

// Forwards every operation to the inner store; every operation that can change a value drops the
// cache's entries of its key once it has completed (whatever its outcome: a failed write may
// have taken effect), before returning or calling back.
class InvalidatingStore final : public Store {
 public:
  InvalidatingStore(std::shared_ptr<Store> inner, std::shared_ptr<ChunkCacheCore> core, uint64_t id)
      : inner_(std::move(inner)), core_(std::move(core)), id_(id) {}

  StoreCapabilities capabilities() const override { return inner_->capabilities(); }
  Result<bool> get_into(std::string_view key, ByteRange range, Bytes& out) override {
    return inner_->get_into(key, range, out);
  }
  Result<bool> get_scatter(std::string_view key, std::span<const MutableByteView> pieces) override {
    return inner_->get_scatter(key, pieces);
  }
  Result<std::optional<uint64_t>> get_within(std::string_view key,
                                             std::span<const MutableByteView> pieces) override {
    return inner_->get_within(key, pieces);
  }
  Result<std::vector<std::optional<Bytes>>> get_ranges(
      const std::vector<KeyRange>& requests) override {
    return inner_->get_ranges(requests);
  }
  Status set(std::string_view key, ByteView value) override {
    Status s = inner_->set(key, value);
    core_->Invalidate(id_, key);
    return s;
  }
  Status set_gather(std::string_view key, std::span<const ByteView> pieces) override {
    Status s = inner_->set_gather(key, pieces);
    core_->Invalidate(id_, key);
    return s;
  }
  Status set_range(std::string_view key, uint64_t offset, ByteView value) override {
    Status s = inner_->set_range(key, offset, value);
    core_->Invalidate(id_, key);
    return s;
  }
  Status erase(std::string_view key) override {
    Status s = inner_->erase(key);
    core_->Invalidate(id_, key);
    return s;
  }
  Status erase_prefix(std::string_view prefix) override {
    Status s = inner_->erase_prefix(prefix);
    core_->InvalidatePrefix(id_, prefix);
    return s;
  }
  Result<std::vector<std::string>> list() override { return inner_->list(); }
  Result<std::vector<std::string>> list_prefix(std::string_view prefix) override {
    return inner_->list_prefix(prefix);
  }
  Result<DirListing> list_dir(std::string_view prefix) override { return inner_->list_dir(prefix); }
  Result<bool> exists(std::string_view key) override { return inner_->exists(key); }
  Result<std::optional<uint64_t>> size(std::string_view key) override { return inner_->size(key); }
  Result<ReadResult> get_if(std::string_view key, ByteRange range, Bytes& out,
                            const Generation* if_equal) override {
    return inner_->get_if(key, range, out, if_equal);
  }
  Result<Generation> generation(std::string_view key) override { return inner_->generation(key); }
  Result<std::unique_ptr<ValueReader>> open_reader(std::string_view key) override {
    return inner_->open_reader(key);
  }
  Result<std::optional<Generation>> set_if(std::string_view key, std::span<const ByteView> pieces,
                                           const WriteConditions& conditions) override {
    auto r = inner_->set_if(key, pieces, conditions);
    core_->Invalidate(id_, key);
    return r;
  }
  Result<bool> erase_if(std::string_view key, const WriteConditions& conditions) override {
    auto r = inner_->erase_if(key, conditions);
    core_->Invalidate(id_, key);
    return r;
  }
  Result<std::optional<Generation>> patch_if(std::string_view key,
                                             std::span<const RangeWrite> writes,
                                             const WriteConditions& conditions) override {
    auto r = inner_->patch_if(key, writes, conditions);
    core_->Invalidate(id_, key);
    return r;
  }
  Result<std::unique_ptr<KeyLock>> lock(std::string_view key) override { return inner_->lock(key); }
  void get_async(std::string_view key, ByteRange range, Bytes& out, ReadCallback done) override {
    inner_->get_async(key, range, out, std::move(done));
  }
  void get_within_async(std::string_view key, std::span<const MutableByteView> pieces,
                        SizeCallback done) override {
    inner_->get_within_async(key, pieces, std::move(done));
  }
  void set_async(std::string_view key, std::span<const ByteView> pieces,
                 WriteCallback done) override {
    inner_->set_async(
        key, pieces,
        [core = core_, id = id_, k = std::string(key), done = std::move(done)](Status s) {
          core->Invalidate(id, k);
          done(std::move(s));
        });
  }
  void erase_async(std::string_view key, WriteCallback done) override {
    inner_->erase_async(
        key, [core = core_, id = id_, k = std::string(key), done = std::move(done)](Status s) {
          core->Invalidate(id, k);
          done(std::move(s));
        });
  }
  std::string description() const override { return inner_->description(); }

  const std::shared_ptr<Store>& inner() const { return inner_; }
  const ChunkCacheCore* core() const { return core_.get(); }

 private:
  const std::shared_ptr<Store> inner_;
  const std::shared_ptr<ChunkCacheCore> core_;
  const uint64_t id_;
};

}  // namespace

void AttachChunkCache(Array::Impl& a) {
  if (!a.options.chunk_cache) return;
  const std::shared_ptr<ChunkCacheCore>& core = a.options.chunk_cache->core();
  // A handle opened on another handle's store() names the store that one wraps, so both share
  // entries, and is not wrapped twice for the same cache.
  std::shared_ptr<Store> base = a.store;
  bool wrapped = false;
  while (const auto* w = dynamic_cast<const InvalidatingStore*>(base.get())) {
    wrapped = wrapped || w->core() == core.get();
    base = w->inner();
  }
  a.cache_store_id = core->StoreId(base);
  if (!wrapped) a.store = std::make_shared<InvalidatingStore>(a.store, core, a.cache_store_id);
  const ArrayMetadata& m = a.metadata;
  if (m.data_type.is_variable()) return;
  std::vector<uint64_t> unit = m.chunk_shape;  // on a rectilinear grid, the largest chunk
  if (a.partial != nullptr) {
    const auto* sharding =
        dynamic_cast<const ShardingCodec*>(a.chain->chain().array_to_bytes().get());
    if (sharding == nullptr) return;
    unit = sharding->chunk_shape();
  }
  uint64_t bytes = m.data_type.size();
  for (uint64_t c : unit) bytes *= c;  // fits: the chain was prepared for these shapes
  if (!core->Fits(bytes)) return;      // never cached: reads take the pipelines
  a.cache_unit = std::move(unit);
  a.cache_unit_bytes = bytes;
  a.chunk_cache = core;
}

void ForgetCachedChunks(Array::Impl& a) {
  if (!a.options.chunk_cache) return;
  a.options.chunk_cache->core()->InvalidatePrefix(a.cache_store_id, a.prefix);
}

}  // namespace internal

std::shared_ptr<ChunkCache> ChunkCache::Make(const ChunkCacheOptions& options) {
  return std::shared_ptr<ChunkCache>(
      new ChunkCache(std::make_shared<internal::ChunkCacheCore>(options)));
}

uint64_t ChunkCache::capacity_bytes() const {
  return core_->capacity();
}
bool ChunkCache::revalidate() const {
  return core_->revalidate();
}
ChunkCacheStats ChunkCache::stats() const {
  return core_->Stats();
}
void ChunkCache::ResetStats() {
  core_->ResetStats();
}
void ChunkCache::Clear() {
  core_->Clear();
}

}  // namespace zarrpp
