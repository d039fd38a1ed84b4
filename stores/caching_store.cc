// stores/caching_store.cc - CachingStore: whole values kept in memory (zarrpp/caching_store.h).
#include "zarrpp/caching_store.h"

#include <utility>

#include "src/pipeline/chunk_cache_core.h"

namespace zarrpp {

using internal::ChunkCacheCore;

namespace {
// Entries of a CachingStore all belong to its one inner store.
constexpr uint64_t kStore = 0;
constexpr uint64_t kWhole = ChunkCacheCore::kWhole;
}  // namespace

CachingStore::CachingStore(std::shared_ptr<Store> inner, const ChunkCacheOptions& options)
    : inner_(std::move(inner)),
      core_(std::make_shared<ChunkCacheCore>(options)),
      generations_(inner_->capabilities().generations) {}

ChunkCacheStats CachingStore::stats() const {
  return core_->Stats();
}
void CachingStore::ResetStats() {
  core_->ResetStats();
}
void CachingStore::Clear() {
  core_->Clear();
}

Result<std::optional<bool>> CachingStore::Serve(std::string_view key, ByteRange range, Bytes& out,
                                                Generation* generation) {
  if (core_->revalidate() && !generations_) return std::optional<bool>();
  std::shared_ptr<const Bytes> data;
  Generation held;
  if (!core_->Lookup(kStore, key, kWhole, &data, &held)) return std::optional<bool>();
  if (core_->revalidate()) {
    ASSIGN_OR_RETURN(Generation now, inner_->generation(key));
    if (!(now == held)) {
      core_->DropStale(kStore, key, now);
      return std::optional<bool>();
    }
  }
  if (generation != nullptr) *generation = held;
  if (!data) {
    out.clear();
    return std::optional<bool>(false);
  }
  ASSIGN_OR_RETURN(auto span, range.Resolve(data->size(), key));
  out.assign(data->begin() + static_cast<ptrdiff_t>(span.first),
             data->begin() + static_cast<ptrdiff_t>(span.second));
  return std::optional<bool>(true);
}

Result<ReadResult> CachingStore::Fill(std::string_view key, ByteRange range, Bytes& out,
                                      const Generation* if_equal) {
  const bool keep =
      range.kind == ByteRange::Kind::kWhole && !(core_->revalidate() && !generations_);
  if (!keep) return inner_->get_if(key, range, out, if_equal);
  const uint64_t ticket = core_->Ticket(kStore, key);
  ASSIGN_OR_RETURN(ReadResult rr, inner_->get_if(key, range, out, if_equal));
  if (!rr.condition_met) return rr;
  internal::CachedValue v;
  v.generation = rr.generation;
  uint64_t bytes = 0;
  if (rr.found) {
    if (!core_->Fits(out.size())) {
      core_->CountNotCached();
      return rr;
    }
    v.data = std::make_shared<const Bytes>(out);
    bytes = out.size();
  }
  core_->Insert(kStore, key, kWhole, std::move(v), bytes, ticket);
  return rr;
}

Result<bool> CachingStore::get_into(std::string_view key, ByteRange range, Bytes& out) {
  ASSIGN_OR_RETURN(std::optional<bool> served, Serve(key, range, out, nullptr));
  if (served) return *served;
  ASSIGN_OR_RETURN(ReadResult rr, Fill(key, range, out, nullptr));
  return rr.found;
}

Result<ReadResult> CachingStore::get_if(std::string_view key, ByteRange range, Bytes& out,
                                        const Generation* if_equal) {
  Generation held;
  ASSIGN_OR_RETURN(std::optional<bool> served, Serve(key, range, out, &held));
  if (served && (if_equal == nullptr || *if_equal == held)) {
    ReadResult rr;
    rr.found = *served;
    rr.generation = std::move(held);
    return rr;
  }
  return Fill(key, range, out, if_equal);
}

Status CachingStore::set(std::string_view key, ByteView value) {
  Status s = inner_->set(key, value);
  core_->Invalidate(kStore, key);
  return s;
}
Status CachingStore::set_gather(std::string_view key, std::span<const ByteView> pieces) {
  Status s = inner_->set_gather(key, pieces);
  core_->Invalidate(kStore, key);
  return s;
}
Status CachingStore::set_range(std::string_view key, uint64_t offset, ByteView value) {
  Status s = inner_->set_range(key, offset, value);
  core_->Invalidate(kStore, key);
  return s;
}
Status CachingStore::erase(std::string_view key) {
  Status s = inner_->erase(key);
  core_->Invalidate(kStore, key);
  return s;
}
Status CachingStore::erase_prefix(std::string_view prefix) {
  Status s = inner_->erase_prefix(prefix);
  core_->InvalidatePrefix(kStore, prefix);
  return s;
}
Result<std::optional<Generation>> CachingStore::set_if(std::string_view key,
                                                       std::span<const ByteView> pieces,
                                                       const WriteConditions& conditions) {
  auto r = inner_->set_if(key, pieces, conditions);
  core_->Invalidate(kStore, key);
  return r;
}
Result<bool> CachingStore::erase_if(std::string_view key, const WriteConditions& conditions) {
  auto r = inner_->erase_if(key, conditions);
  core_->Invalidate(kStore, key);
  return r;
}
Result<std::optional<Generation>> CachingStore::patch_if(std::string_view key,
                                                         std::span<const RangeWrite> writes,
                                                         const WriteConditions& conditions) {
  auto r = inner_->patch_if(key, writes, conditions);
  core_->Invalidate(kStore, key);
  return r;
}

Result<std::vector<std::string>> CachingStore::list() {
  return inner_->list();
}
Result<std::vector<std::string>> CachingStore::list_prefix(std::string_view prefix) {
  return inner_->list_prefix(prefix);
}
Result<DirListing> CachingStore::list_dir(std::string_view prefix) {
  return inner_->list_dir(prefix);
}

Result<bool> CachingStore::exists(std::string_view key) {
  std::shared_ptr<const Bytes> data;
  if (!core_->revalidate() && core_->Lookup(kStore, key, kWhole, &data)) return data != nullptr;
  return inner_->exists(key);
}

Result<std::optional<uint64_t>> CachingStore::size(std::string_view key) {
  std::shared_ptr<const Bytes> data;
  if (!core_->revalidate() && core_->Lookup(kStore, key, kWhole, &data)) {
    if (!data) return std::optional<uint64_t>();
    return std::optional<uint64_t>(data->size());
  }
  return inner_->size(key);
}

Result<Generation> CachingStore::generation(std::string_view key) {
  return inner_->generation(key);
}

Result<std::unique_ptr<KeyLock>> CachingStore::lock(std::string_view key) {
  return inner_->lock(key);
}

void CachingStore::get_async(std::string_view key, ByteRange range, Bytes& out, ReadCallback done) {
  {
    Result<std::optional<bool>> served = Serve(key, range, out, nullptr);
    if (!served.ok()) return done(served.status());
    if (*served) return done(**served);
  }
  const bool keep = range.kind == ByteRange::Kind::kWhole && !core_->revalidate();
  if (!keep) return inner_->get_async(key, range, out, std::move(done));
  const uint64_t ticket = core_->Ticket(kStore, key);
  inner_->get_async(key, range, out,
                    [core = core_, k = std::string(key), &out, ticket,
                     done = std::move(done)](Result<bool> found) {
                      // Without a generation (the asynchronous read reports none), the entry is
                      // kept only because this store does not revalidate.
                      if (found.ok() && (!*found || core->Fits(out.size()))) {
                        internal::CachedValue v;
                        if (*found) v.data = std::make_shared<const Bytes>(out);
                        const uint64_t bytes = *found ? out.size() : 0;
                        core->Insert(kStore, k, kWhole, std::move(v), bytes, ticket);
                      }
                      done(std::move(found));
                    });
}

void CachingStore::set_async(std::string_view key, std::span<const ByteView> pieces,
                             WriteCallback done) {
  inner_->set_async(key, pieces,
                    [core = core_, k = std::string(key), done = std::move(done)](Status s) {
                      core->Invalidate(kStore, k);
                      done(std::move(s));
                    });
}

void CachingStore::erase_async(std::string_view key, WriteCallback done) {
  inner_->erase_async(key, [core = core_, k = std::string(key), done = std::move(done)](Status s) {
    core->Invalidate(kStore, k);
    done(std::move(s));
  });
}

std::string CachingStore::description() const {
  return "caching(" + inner_->description() + ")";
}

}  // namespace zarrpp
