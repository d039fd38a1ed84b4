// src/pipeline/chunk_cache.cc - ChunkCache entries (ChunkCacheCore), and the store wrapper through
// which a handle with a cache writes, so that every write path invalidates what it replaces.
#include "src/pipeline/chunk_cache.h"

#include <utility>

#include "src/array/array_impl.h"
#include "src/pipeline/chunk_cache_core.h"
#include "zarrpp/store_wrappers.h"

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
class InvalidatingStore final : public ForwardingStore {
 public:
  InvalidatingStore(std::shared_ptr<Store> inner, std::shared_ptr<ChunkCacheCore> core, uint64_t id)
      : ForwardingStore(std::move(inner)), core_(std::move(core)), id_(id) {}

  Status set(std::string_view key, ByteView value) override {
    return Invalidating(key, inner_->set(key, value));
  }
  Status set_gather(std::string_view key, std::span<const ByteView> pieces) override {
    return Invalidating(key, inner_->set_gather(key, pieces));
  }
  Status set_range(std::string_view key, uint64_t offset, ByteView value) override {
    return Invalidating(key, inner_->set_range(key, offset, value));
  }
  Status erase(std::string_view key) override { return Invalidating(key, inner_->erase(key)); }
  Status erase_prefix(std::string_view prefix) override {
    Status s = inner_->erase_prefix(prefix);
    core_->InvalidatePrefix(id_, prefix);
    return s;
  }
  Result<std::optional<Generation>> set_if(std::string_view key, std::span<const ByteView> pieces,
                                           const WriteConditions& conditions) override {
    return Invalidating(key, inner_->set_if(key, pieces, conditions));
  }
  Result<bool> erase_if(std::string_view key, const WriteConditions& conditions) override {
    return Invalidating(key, inner_->erase_if(key, conditions));
  }
  Result<std::optional<Generation>> patch_if(std::string_view key,
                                             std::span<const RangeWrite> writes,
                                             const WriteConditions& conditions) override {
    return Invalidating(key, inner_->patch_if(key, writes, conditions));
  }
  void set_async(std::string_view key, std::span<const ByteView> pieces,
                 WriteCallback done) override {
    inner_->set_async(key, pieces, InvalidatingCallback(key, std::move(done)));
  }
  void erase_async(std::string_view key, WriteCallback done) override {
    inner_->erase_async(key, InvalidatingCallback(key, std::move(done)));
  }

  const ChunkCacheCore* core() const { return core_.get(); }

 private:
  // `result`, once the entries of `key` are dropped.
  template <typename R>
  R Invalidating(std::string_view key, R result) {
    core_->Invalidate(id_, key);
    return result;
  }
  WriteCallback InvalidatingCallback(std::string_view key, WriteCallback done) {
    return [core = core_, id = id_, k = std::string(key), done = std::move(done)](Status s) {
      core->Invalidate(id, k);
      done(std::move(s));
    };
  }

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
