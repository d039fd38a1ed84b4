#include "src/pipeline/variable_chunks.h"

#include <algorithm>
#include <cstring>

#include "codecs/sharding_codec.h"
#include "codecs/sharding_index.h"
#include "codecs/transpose_codec.h"
#include "src/first_error.h"
#include "src/pipeline/key_locks.h"
#include "src/pipeline/pipeline.h"
#include "zarrpp/json.h"

namespace zarrpp::internal {

namespace {

// The flat C-order index in a box of `outer` shape of every element of the sub-box (origin,
// shape), visited in the sub-box's C order.
template <typename F>
void ForEachInBox(const std::vector<uint64_t>& outer, const std::vector<uint64_t>& origin,
                  const std::vector<uint64_t>& shape, F&& f) {
  const size_t r = outer.size();
  uint64_t n = 1;
  for (uint64_t s : shape) n *= s;
  if (n == 0) return;
  std::vector<uint64_t> pos(r, 0);
  for (uint64_t k = 0; k < n; ++k) {
    uint64_t flat = 0;
    for (size_t d = 0; d < r; ++d) flat = flat * outer[d] + origin[d] + pos[d];
    f(k, flat);
    for (size_t d = r; d-- > 0;) {
      if (++pos[d] < shape[d]) break;
      pos[d] = 0;
    }
  }
}

std::string_view FillOf(const ChunkSpec& spec) {
  return AsString(spec.fill_value.bytes);
}

// Bytes->bytes decoding of a value whose decoded size is not known in advance.
Result<ByteView> DecodeBytesToBytes(const CodecChain& chain, ByteView encoded, uint64_t max_decoded,
                                    Bytes (&bufs)[2]) {
  ByteView cur = encoded;
  const auto& bb = chain.bytes_to_bytes();
  for (size_t k = bb.size(); k-- > 0;) {
    auto holds = [&](const Bytes& b) {
      return !cur.empty() && !b.empty() && cur.data() >= b.data() &&
             cur.data() < b.data() + b.size();
    };
    Bytes& scratch = holds(bufs[0]) ? bufs[1] : bufs[0];
    const uint64_t expected =
        std::min<uint64_t>(max_decoded, std::max<uint64_t>(uint64_t{64} << 10, 4 * cur.size()));
    ASSIGN_OR_RETURN_CTX(
        cur, bb[k]->Decode(cur, DecodedSize(std::nullopt, expected, max_decoded), scratch),
        "codec '" + std::string(bb[k]->name()) + "'");
  }
  return cur;
}

Status DecodeShard(const ShardingCodec& sh, const ChunkSpec& spec, ByteView blob,
                   uint64_t max_decoded, const std::string& key, VariableChunk& out) {
  ASSIGN_OR_RETURN(auto L, sh.Prepare(spec));
  ASSIGN_OR_RETURN(std::shared_ptr<ShardIndex> index, IndexOfBlob(*L, blob, key));
  const ChunkSpec inner{L->inner_shape, spec.dtype, spec.fill_value};
  const uint64_t n_inner_elems = inner.num_elements();
  std::vector<VariableChunk> inners(L->n_inner);
  std::vector<uint8_t> present(L->n_inner, 0);
  for (uint64_t j = 0; j < L->n_inner; ++j) {
    if (!index->present(j)) continue;
    const ByteView v = blob.subspan(index->offset(j), index->nbytes(j));
    RETURN_IF_ERROR_CTX(DecodeVariableChunk(sh.codecs(), inner, v, max_decoded, key, inners[j]),
                        Coords(*L, j));
    present[j] = 1;
  }
  // Element e of the shard lies in inner chunk j at position k.
  const size_t r = spec.shape.size();
  const uint64_t n = spec.num_elements();
  std::vector<uint64_t> pos(r, 0);
  out = VariableChunk();
  const std::string_view fill = FillOf(spec);
  for (uint64_t e = 0; e < n; ++e) {
    uint64_t j = 0, k = 0;
    for (size_t d = 0; d < r; ++d) {
      j = j * L->grid[d] + pos[d] / L->inner_shape[d];
      k = k * L->inner_shape[d] + pos[d] % L->inner_shape[d];
    }
    out.push_back(present[j] ? inners[j].at(k) : fill);
    for (size_t d = r; d-- > 0;) {
      if (++pos[d] < spec.shape[d]) break;
      pos[d] = 0;
    }
  }
  (void)n_inner_elems;
  return Status::OK();
}

Status EncodeShard(const ShardingCodec& sh, const ChunkSpec& spec, const VariableChunk& chunk,
                   const std::string& key, Bytes& out) {
  ASSIGN_OR_RETURN(auto L, sh.Prepare(spec));
  const ChunkSpec inner{L->inner_shape, spec.dtype, spec.fill_value};
  const std::string_view fill = FillOf(spec);
  std::vector<uint64_t> entries(2 * L->n_inner, kEmpty);
  Bytes data;
  Bytes enc;
  std::vector<uint64_t> g;
  std::vector<uint64_t> origin(spec.shape.size());
  for (uint64_t j = 0; j < L->n_inner; ++j) {
    L->GridCoords(j, g);
    for (size_t d = 0; d < g.size(); ++d) origin[d] = g[d] * L->inner_shape[d];
    VariableChunk part;
    bool all_fill = true;
    ForEachInBox(spec.shape, origin, L->inner_shape, [&](uint64_t, uint64_t flat) {
      const std::string_view v = chunk.at(flat);
      all_fill = all_fill && v == fill;
      part.push_back(v);
    });
    if (all_fill) continue;
    RETURN_IF_ERROR_CTX(EncodeVariableChunk(sh.codecs(), inner, part, key, enc), Coords(*L, j));
    const uint64_t base =
        sh.index_location() == ShardingCodec::IndexLocation::kStart ? L->index_size : 0;
    entries[2 * j] = base + data.size();
    entries[2 * j + 1] = enc.size();
    data.insert(data.end(), enc.begin(), enc.end());
  }
  out.clear();
  if (data.empty() &&
      std::all_of(entries.begin(), entries.end(), [](uint64_t e) { return e == kEmpty; })) {
    return Status::OK();
  }
  out.resize(data.size() + L->index_size);
  const bool start = sh.index_location() == ShardingCodec::IndexLocation::kStart;
  RETURN_IF_ERROR(EncodeIndex(*L, entries, out.data() + (start ? 0 : data.size()), key));
  if (!data.empty())
    std::memcpy(out.data() + (start ? L->index_size : 0), data.data(), data.size());
  return Status::OK();
}

// The specs entering each array->array codec (front: the chunk's) and, last, the array->bytes
// codec's.
Result<std::vector<ChunkSpec>> StageSpecs(const CodecChain& chain, const ChunkSpec& spec) {
  std::vector<ChunkSpec> specs{spec};
  for (const auto& aa : chain.array_to_array()) {
    ASSIGN_OR_RETURN(ChunkSpec next, aa->EncodedSpec(specs.back()));
    specs.push_back(std::move(next));
  }
  return specs;
}

// Permutes the elements of `in` (shape decoded.shape) as transpose `order` encodes them
// (`encode`), or back (`!encode`, `in` then has the encoded shape).
Result<VariableChunk> PermuteElements(const ArrayToArrayCodec& aa, const ChunkSpec& decoded,
                                      const VariableChunk& in, bool encode) {
  const auto* t = dynamic_cast<const TransposeCodec*>(&aa);
  if (t == nullptr) {
    return Status::Unsupported("codec '" + std::string(aa.name()) + "' is not supported for " +
                               decoded.dtype.name() + " arrays");
  }
  const std::vector<uint32_t>& order = t->options().order;
  const size_t r = order.size();
  std::vector<uint64_t> eshape(r);
  for (size_t i = 0; i < r; ++i) eshape[i] = decoded.shape[order[i]];
  const uint64_t n = decoded.num_elements();
  // For element k of the encoded array (C order, coords e): its decoded index.
  std::vector<uint64_t> dstride(r, 1);
  for (size_t d = r; d-- > 1;) dstride[d - 1] = dstride[d] * decoded.shape[d];
  std::vector<uint64_t> e(r, 0);
  std::vector<uint64_t> map(n);
  for (uint64_t k = 0; k < n; ++k) {
    uint64_t flat = 0;
    for (size_t i = 0; i < r; ++i) flat += e[i] * dstride[order[i]];
    map[k] = flat;
    for (size_t d = r; d-- > 0;) {
      if (++e[d] < eshape[d]) break;
      e[d] = 0;
    }
  }
  VariableChunk out;
  if (encode) {
    for (uint64_t k = 0; k < n; ++k) out.push_back(in.at(map[k]));
  } else {
    std::vector<uint64_t> inverse(n);
    for (uint64_t k = 0; k < n; ++k) inverse[map[k]] = k;
    for (uint64_t d = 0; d < n; ++d) out.push_back(in.at(inverse[d]));
  }
  return out;
}

}  // namespace

Status DecodeVariableChunk(const CodecChain& chain, const ChunkSpec& spec, ByteView encoded,
                           uint64_t max_decoded, const std::string& key, VariableChunk& out) {
  Bytes bufs[2];
  ASSIGN_OR_RETURN(ByteView bytes, DecodeBytesToBytes(chain, encoded, max_decoded, bufs));
  ASSIGN_OR_RETURN(std::vector<ChunkSpec> specs, StageSpecs(chain, spec));
  const ArrayToBytesCodec* ab = chain.array_to_bytes().get();
  if (const auto* vlen = dynamic_cast<const VlenCodec*>(ab)) {
    RETURN_IF_ERROR(vlen->DecodeVariable(specs.back(), bytes, out));
  } else if (const auto* sh = dynamic_cast<const ShardingCodec*>(ab)) {
    RETURN_IF_ERROR(DecodeShard(*sh, specs.back(), bytes, max_decoded, key, out));
  } else {
    return Status::Unsupported("codec '" + std::string(ab->name()) + "' cannot decode " +
                               spec.dtype.name() + " chunks");
  }
  const auto& aa = chain.array_to_array();
  for (size_t i = aa.size(); i-- > 0;) {
    ASSIGN_OR_RETURN(out, PermuteElements(*aa[i], specs[i], out, /*encode=*/false));
  }
  return Status::OK();
}

Status EncodeVariableChunk(const CodecChain& chain, const ChunkSpec& spec,
                           const VariableChunk& chunk, const std::string& key, Bytes& out) {
  const ArrayToBytesCodec* ab = chain.array_to_bytes().get();
  ASSIGN_OR_RETURN(std::vector<ChunkSpec> specs, StageSpecs(chain, spec));
  const VariableChunk* elements = &chunk;
  VariableChunk permuted;
  const auto& aa = chain.array_to_array();
  for (size_t i = 0; i < aa.size(); ++i) {
    ASSIGN_OR_RETURN(permuted, PermuteElements(*aa[i], specs[i], *elements, /*encode=*/true));
    elements = &permuted;
  }
  Bytes cur;
  if (const auto* vlen = dynamic_cast<const VlenCodec*>(ab)) {
    RETURN_IF_ERROR(vlen->EncodeVariable(specs.back(), *elements, cur));
  } else if (const auto* sh = dynamic_cast<const ShardingCodec*>(ab)) {
    RETURN_IF_ERROR(EncodeShard(*sh, specs.back(), *elements, key, cur));
    if (cur.empty()) {
      out.clear();
      return Status::OK();
    }
  } else {
    return Status::Unsupported("codec '" + std::string(ab->name()) + "' cannot encode " +
                               spec.dtype.name() + " chunks");
  }
  for (const auto& bb : chain.bytes_to_bytes()) {
    Bytes next;
    RETURN_IF_ERROR_CTX(bb->Encode(cur, next), "codec '" + std::string(bb->name()) + "'");
    cur.swap(next);
  }
  out.swap(cur);
  return Status::OK();
}

namespace {

ChunkSpec SpecOf(const Array::Impl& a) {
  const ArrayMetadata& m = a.metadata;
  return ChunkSpec{m.chunk_shape, m.data_type, m.fill_value};
}

// Runs fn(i) for i in [0, n) on the array's executor, one chunk per task; the first error wins.
Status ForEachChunk(Array::Impl& a, uint64_t n, const std::function<Status(uint64_t)>& fn) {
  FirstError first;
  a.executor->ParallelFor(static_cast<size_t>(n), 1, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end && !first.failed(); ++i) {
      Status s = fn(i);
      if (!s.ok()) first.Set(std::move(s));
    }
  });
  return first.status();
}

}  // namespace

Result<std::vector<std::string>> VariableRead(Array::Impl& a, const Region& region) {
  const ArrayMetadata& m = a.metadata;
  std::vector<std::string> out(region.num_elements());
  if (out.empty()) return out;
  const ChunkSpan span = ChunksTouching(m, region);
  const ChunkSpec spec = SpecOf(a);
  const std::string fill(FillOf(spec));
  RETURN_IF_ERROR(ForEachChunk(a, span.total, [&](uint64_t i) -> Status {
    ChunkPart p;
    LocateChunk(m, region, span, i, p);
    const std::string key = a.ChunkKey(p.coords.data());
    ASSIGN_OR_RETURN(std::optional<Bytes> stored, a.store->get(key));
    if (!stored) {
      ForEachInBox(region.shape, p.in_region, p.shape,
                   [&](uint64_t, uint64_t flat) { out[flat] = fill; });
      return Status::OK();
    }
    VariableChunk chunk;
    RETURN_IF_ERROR_CTX(DecodeVariableChunk(a.chain->chain(), spec, *stored,
                                            a.options.max_decoded_chunk_bytes, key, chunk),
                        "chunk '" + key + "'");
    std::vector<uint64_t> targets;
    targets.reserve(chunk.size());
    ForEachInBox(region.shape, p.in_region, p.shape,
                 [&](uint64_t, uint64_t flat) { targets.push_back(flat); });
    uint64_t t = 0;
    ForEachInBox(m.chunk_shape, p.in_chunk, p.shape,
                 [&](uint64_t, uint64_t flat) { out[targets[t++]] = std::string(chunk.at(flat)); });
    return Status::OK();
  }));
  return out;
}

Status VariableWrite(Array::Impl& a, const Region& region,
                     const std::function<std::string_view(uint64_t)>& value) {
  const ArrayMetadata& m = a.metadata;
  if (region.num_elements() == 0) return Status::OK();
  const ChunkSpan span = ChunksTouching(m, region);
  const ChunkSpec spec = SpecOf(a);
  const std::string_view fill = FillOf(spec);
  const uint64_t chunk_elems = spec.num_elements();
  return ForEachChunk(a, span.total, [&](uint64_t i) -> Status {
    ChunkPart p;
    LocateChunk(m, region, span, i, p);
    const std::string key = a.ChunkKey(p.coords.data());
    const std::string where = "chunk '" + key + "'";
    const KeyLocks::Guard lock = a.chunk_locks.Lock(key);
    const bool rmw = !p.covers_in_bounds;
    StoreLocks store_lock;
    if (rmw) {
      ASSIGN_OR_RETURN(store_lock, StoreLocks::Take(*a.store, {key}));
    }
    const StoreCapabilities caps = a.store->capabilities();
    WriteConditions cond;
    cond.held = store_lock.held(key);
    std::vector<uint64_t> sources;
    sources.reserve(chunk_elems);
    ForEachInBox(region.shape, p.in_region, p.shape,
                 [&](uint64_t, uint64_t flat) { sources.push_back(flat); });
    for (int attempt = 0;; ++attempt) {
      if (attempt > 0) {
        if (attempt >= kWriteAttempts) return ConflictsExhausted(key);
        BackoffAfterConflict(attempt - 1);
      }
      // The chunk as stored (or the fill value), as one string_view per element.
      VariableChunk old;
      bool found = false;
      if (rmw) {
        Bytes fetched;
        ASSIGN_OR_RETURN(ReadResult got, a.store->get_if(key, ByteRange::Whole(), fetched));
        found = got.found;
        if (caps.conditional_writes && caps.generations) cond.if_equal = got.generation;
        if (found) {
          RETURN_IF_ERROR_CTX(DecodeVariableChunk(a.chain->chain(), spec, fetched,
                                                  a.options.max_decoded_chunk_bytes, key, old),
                              where);
        }
      }
      std::vector<std::string_view> elems(chunk_elems, fill);
      if (found) {
        for (uint64_t e = 0; e < chunk_elems; ++e) elems[e] = old.at(e);
      }
      uint64_t t = 0;
      ForEachInBox(m.chunk_shape, p.in_chunk, p.shape,
                   [&](uint64_t, uint64_t flat) { elems[flat] = value(sources[t++]); });
      bool empty = !a.options.write_empty_chunks;
      VariableChunk next;
      for (const std::string_view v : elems) {
        empty = empty && v == fill;
        next.push_back(v);
      }
      std::optional<ByteView> encoded;
      Bytes enc;
      if (!empty) {
        RETURN_IF_ERROR_CTX(EncodeVariableChunk(a.chain->chain(), spec, next, key, enc), where);
        if (!enc.empty()) encoded = ByteView(enc);
      }
      ASSIGN_OR_RETURN(bool stored, StoreChunk(*a.store, key, encoded, cond));
      if (stored) return Status::OK();
    }
  });
}

}  // namespace zarrpp::internal
