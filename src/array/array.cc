#include "zarrpp/array.h"

#include <charconv>
#include <cstring>

#include "src/array/array_impl.h"
#include "src/array/indexing.h"
#include "src/checked_math.h"
#include "src/guard.h"
#include "src/hierarchy/hierarchy_internal.h"
#include "src/metadata/metadata_v2.h"
#include "src/pipeline/chunk_cache.h"
#include "src/pipeline/pipeline.h"
#include "src/pipeline/shape_chains.h"
#include "src/pipeline/variable_chunks.h"
#include "src/types/fixed_strings.h"
#include "src/types/memory_types.h"
#include "zarrpp/hierarchy.h"
#include "zarrpp/json.h"

namespace zarrpp {

std::string Region::ToString() const {
  std::string s = "[";
  for (size_t d = 0; d < shape.size(); ++d) {
    if (d) s += ", ";
    s += std::to_string(origin[d]) + ":" + std::to_string(origin[d] + shape[d]);
  }
  return s + "]";
}

Result<std::string> NormalizeNodePath(std::string_view path) {
  std::string out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = i;
    while (j < path.size() && path[j] != '/' && path[j] != '\\') ++j;
    std::string_view name = path.substr(i, j - i);
    if (!name.empty()) {
      bool only_periods = name.find_first_not_of('.') == std::string_view::npos;
      if (only_periods) {
        return Status::InvalidArgument("node path '" + std::string(path) + "': name '" +
                                       std::string(name) + "' consists only of periods");
      }
      if (name.substr(0, 2) == "__") {
        return Status::InvalidArgument("node path '" + std::string(path) + "': name '" +
                                       std::string(name) + "' starts with '__' (reserved)");
      }
      if (name == "zarr.json") {
        return Status::InvalidArgument("node path '" + std::string(path) +
                                       "': 'zarr.json' is not a valid node name");
      }
      if (name.find('\0') != std::string_view::npos) {
        return Status::InvalidArgument("node path '" + std::string(path) + "' contains a NUL byte");
      }
      if (!out.empty()) out += '/';
      out += name;
    }
    i = j + 1;
  }
  return out;
}

std::string MetadataKeyFor(std::string_view node_path) {
  if (node_path.empty()) return "zarr.json";
  std::string k(node_path);
  k += "/zarr.json";
  return k;
}

std::string Array::Impl::ChunkKey(const uint64_t* coords) const {
  std::string key;
  ChunkKeyInto(coords, key);
  return key;
}

void Array::Impl::ChunkKeyInto(const uint64_t* coords, std::string& key) const {
  key.reserve(prefix.size() + 1 + metadata.rank() * 21);
  key.assign(prefix);
  metadata.chunk_key_encoding.AppendKey(coords, metadata.rank(), key);
}

Array::Array(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Array::~Array() {
  if (impl_) internal::ShutdownAsync(*impl_);
}

const ArrayMetadata& Array::metadata() const {
  return impl_->metadata;
}
size_t Array::io_concurrency() const {
  return impl_->io_lanes;
}
const std::string& Array::path() const {
  return impl_->path;
}
const std::shared_ptr<Store>& Array::store() const {
  return impl_->store;
}
const ArrayOptions& Array::options() const {
  return impl_->options;
}
std::string Array::ChunkKey(const std::vector<uint64_t>& coords) const {
  return impl_->ChunkKey(coords.data());
}
std::string Array::MetadataKey() const {
  return internal::ArrayMetadataKeyFor(impl_->path, impl_->metadata.zarr_format);
}

namespace {

Json DefaultCodecs(DataType type) {
  Json bytes = {{"name", "bytes"}};
  if (type.is_variable()) {
    bytes = {{"name", type.id() == DataTypeId::kString ? "vlen-utf8" : "vlen-bytes"}};
  } else if (type.component_size() > 1) {
    bytes["configuration"] = {{"endian", "little"}};
  }
  return Json::array(
      {bytes, {{"name", "zstd"}, {"configuration", {{"level", 0}, {"checksum", false}}}}});
}

std::string ShapeText(const std::vector<uint64_t>& shape) {
  std::string t = "[";
  for (size_t i = 0; i < shape.size(); ++i) t += (i ? ", " : "") + std::to_string(shape[i]);
  return t + "]";
}

// The shape's bytes and the chunk grid's extent fit in 64 bits (as parsing checks for stored
// metadata); for shapes computed by Resize and Append.
Status CheckShapeFits(const ArrayMetadata& m, const std::string& what) {
  RETURN_IF_ERROR_CTX(internal::CheckedProduct(m.shape, "shape", m.data_type.size()), what);
  if (m.rectilinear) {
    // The chunk edges are part of the metadata: a shape must stay inside the chunks declared.
    for (size_t d = 0; d < m.rank() && d < m.rectilinear->rank(); ++d) {
      if (m.shape[d] > m.rectilinear->Extent(d)) {
        return Status::InvalidArgument(
            what + ": extent " + std::to_string(m.shape[d]) + " of dimension " + std::to_string(d) +
            " exceeds the rectilinear chunk_grid, whose chunk_shapes cover " +
            std::to_string(m.rectilinear->Extent(d)) + " elements");
      }
    }
  }
  for (size_t d = 0; d < m.rank() && d < m.chunk_shape.size(); ++d) {
    const uint64_t c = m.chunk_shape[d];
    const uint64_t grid = m.shape[d] / c + (m.shape[d] % c != 0 ? 1 : 0);
    RETURN_IF_ERROR_CTX(
        internal::CheckedMul(grid, c, "chunks covering dimension " + std::to_string(d)), what);
  }
  return Status::OK();
}

// The limits of ArrayOptions for chunks of `chain` (and, for sharding, for its inner chunks at
// every level). Unsupported names the value and the limit.
Status CheckChainLimits(const PreparedChain& chain, const ArrayOptions& o) {
  const ChunkSpec& spec = chain.decoded_spec();
  const auto* sharding = dynamic_cast<const ShardingCodec*>(chain.chain().array_to_bytes().get());
  // A chain of exactly [sharding_indexed] reads and writes shards in parts: its inner chunks are
  // what is held in memory.
  // Variable-size chunks (and shards) are decoded whole; each element costs at least its offset
  // and a view of it (16 bytes) before any of its bytes.
  const bool variable = spec.dtype.is_variable();
  const bool in_parts = sharding && !variable && chain.chain().array_to_array().empty() &&
                        chain.chain().bytes_to_bytes().empty();
  const uint64_t decoded_bytes =
      variable ? internal::SaturatingMul(spec.num_elements(), 16) : spec.num_bytes();
  if (!in_parts && decoded_bytes > o.max_decoded_chunk_bytes) {
    return Status::Unsupported("a decoded chunk of shape " + ShapeText(spec.shape) + " holds " +
                               std::to_string(decoded_bytes) + " bytes, more than the limit of " +
                               std::to_string(o.max_decoded_chunk_bytes) +
                               " (ArrayOptions::max_decoded_chunk_bytes)");
  }
  if (!sharding) return Status::OK();
  const ChunkSpec& shard = chain.array_to_bytes_spec();
  const std::vector<uint64_t>& inner = sharding->chunk_shape();
  uint64_t n_inner = 1;
  for (size_t d = 0; d < inner.size() && d < shard.shape.size(); ++d) {
    n_inner = internal::SaturatingMul(n_inner, shard.shape[d] / inner[d]);
  }
  if (n_inner > o.max_inner_chunks_per_shard) {
    return Status::Unsupported("a shard of shape " + ShapeText(shard.shape) + " has " +
                               std::to_string(n_inner) + " inner chunks of shape " +
                               ShapeText(inner) + ", more than the limit of " +
                               std::to_string(o.max_inner_chunks_per_shard) +
                               " (ArrayOptions::max_inner_chunks_per_shard)");
  }
  ASSIGN_OR_RETURN(auto inner_chain,
                   sharding->codecs().Prepare(ChunkSpec{inner, shard.dtype, shard.fill_value}));
  return CheckChainLimits(*inner_chain, o).WithContext("sharding_indexed inner chunks");
}

Result<std::unique_ptr<Array::Impl>> MakeImpl(std::shared_ptr<Store> store, std::string path,
                                              ArrayMetadata metadata, const ArrayOptions& options) {
  auto impl = std::make_unique<Array::Impl>();
  impl->store = std::move(store);
  impl->path = std::move(path);
  impl->prefix = impl->path.empty() ? "" : impl->path + "/";
  impl->options = options;
  impl->executor = options.executor ? options.executor : DefaultExecutor();
  const size_t io =
      options.io_concurrency ? options.io_concurrency : impl->store->capabilities().io_concurrency;
  if (io > impl->executor->concurrency()) {
    // A store with completion-based operations needs no thread per operation in flight: the I/O
    // pool is created only if a path without that form asks for it (IoExecutorOf()).
    impl->async_io = impl->store->capabilities().async_io;
    impl->io_executor = options.io_executor ? options.io_executor
                        : impl->async_io    ? nullptr
                                            : SharedIoExecutor(io);
    impl->cpu_gate =
        std::make_unique<internal::CpuGate>(std::max<size_t>(1, impl->executor->concurrency()));
  }
  const std::string where = MetadataKeyFor(impl->path);
  ASSIGN_OR_RETURN_CTX(CodecChain chain, CodecChain::FromJson(metadata.codecs), where + ": codecs");
  ChunkSpec spec{metadata.chunk_shape, metadata.data_type, metadata.fill_value};
  ASSIGN_OR_RETURN_CTX(impl->chain, chain.Prepare(spec), where + ": codecs");
  RETURN_IF_ERROR_CTX(CheckChainLimits(*impl->chain, options), where);
  // Parts of a chunk can be read or written only when no other codec wraps the array->bytes one.
  if (chain.array_to_array().empty() && chain.bytes_to_bytes().empty()) {
    impl->partial =
        dynamic_cast<const PartialArrayToBytesCodec*>(impl->chain->chain().array_to_bytes().get());
  }
  impl->span_decoder = SpanDecoder::For(*impl->chain, !options.verify_checksum_on_partial_reads);
  if (impl->partial && options.sharding.index_cache_bytes > 0) {
    impl->index_cache = std::make_unique<ShardIndexCache>(options.sharding.index_cache_bytes);
  }
  if (impl->io_executor || impl->async_io) {
    const uint64_t workers = std::max<size_t>(1, impl->executor->concurrency());
    const uint64_t chunk = std::max<uint64_t>(1, impl->chain->decoded_spec().num_bytes());
    impl->io_lanes = io;
    impl->inflight_bytes = options.max_inflight_bytes != 0
                               ? options.max_inflight_bytes
                               : (uint64_t{12} << 20) + 2 * workers * chunk;
  }
  impl->metadata = std::move(metadata);
  if (impl->metadata.rectilinear) {
    RETURN_IF_ERROR_CTX(internal::PrepareShapeChains(*impl, chain), where);
  }
  internal::AttachChunkCache(*impl);
  return impl;
}

}  // namespace

Result<std::shared_ptr<Array>> Array::Attach(std::shared_ptr<Store> store, std::string path,
                                             ArrayMetadata metadata, const ArrayOptions& options) {
  return internal::Guard(
      "Array::Attach of '" + path + "'", [&]() -> Result<std::shared_ptr<Array>> {
        if (!store) return Status::InvalidArgument("Array::Attach: null store");
        ASSIGN_OR_RETURN(std::string norm, NormalizeNodePath(path));
        if (norm != path) {
          return Status::InvalidArgument("Array::Attach: path '" + path + "' is not normalised ('" +
                                         norm + "')");
        }
        const std::string key = MetadataKeyFor(norm);
        if (metadata.codecs->is_null() ||
            (metadata.codecs->is_array() && metadata.codecs->empty())) {
          metadata.codecs = DefaultCodecs(metadata.data_type);
        }
        if (metadata.fill_value.bytes.empty())
          metadata.fill_value = FillValue::Zero(metadata.data_type);
        if (metadata.zarr_format == 2) {  // .zarray (src/metadata/metadata_v2.h)
          const std::string v2_key = internal::ArrayMetadataKeyFor(norm, 2);
          ASSIGN_OR_RETURN(ArrayMetadata v2,
                           internal::NormalizeV2ArrayMetadata(std::move(metadata), v2_key));
          ASSIGN_OR_RETURN(auto impl, MakeImpl(std::move(store), norm, std::move(v2), options));
          internal::ForgetCachedChunks(*impl);
          return std::shared_ptr<Array>(new Array(std::move(impl)));
        }
        // Validate exactly as a reader would: serialise and parse back.
        RETURN_IF_ERROR(metadata.Validate(key));
        ASSIGN_OR_RETURN(ArrayMetadata parsed, ArrayMetadata::FromJson(metadata.ToJson(), key));
        ASSIGN_OR_RETURN(auto impl, MakeImpl(std::move(store), norm, std::move(parsed), options));
        internal::ForgetCachedChunks(*impl);
        return std::shared_ptr<Array>(new Array(std::move(impl)));
      });
}

// Creation shares CreateHierarchy's rules: missing ancestor groups are written, an array
// ancestor is refused, and every check runs before the first write.
Result<std::shared_ptr<Array>> Array::Create(std::shared_ptr<Store> store, std::string_view path,
                                             ArrayMetadata metadata, const CreateOptions& create,
                                             const ArrayOptions& options) {
  return internal::Guard(
      "Array::Create of '" + std::string(path) + "'", [&]() -> Result<std::shared_ptr<Array>> {
        if (!store) return Status::InvalidArgument("Array::Create: null store");
        ASSIGN_OR_RETURN(std::string norm, NormalizeNodePath(path));
        if (metadata.zarr_format == 2) {
          return internal::CreateV2Array(std::move(store), norm, std::move(metadata),
                                         create.overwrite, options);
        }
        HierarchyOptions h;
        h.overwrite = create.overwrite;
        h.node.array_options = options;
        ASSIGN_OR_RETURN(std::vector<Node> created,
                         CreateHierarchy(std::move(store), {{norm, std::move(metadata)}}, h));
        for (Node& node : created) {
          if (node.path == norm) return std::move(node.array);
        }
        return Status::IOError("Array::Create: '/" + norm + "' was not written");
      });
}

Result<std::shared_ptr<Array>> Array::Open(std::shared_ptr<Store> store, std::string_view path,
                                           const ArrayOptions& options) {
  return internal::Guard(
      "Array::Open of '" + std::string(path) + "'", [&]() -> Result<std::shared_ptr<Array>> {
        if (!store) return Status::InvalidArgument("Array::Open: null store");
        ASSIGN_OR_RETURN(std::string norm, NormalizeNodePath(path));
        const std::string key = MetadataKeyFor(norm);
        ASSIGN_OR_RETURN(std::optional<Bytes> doc, store->get(key));
        if (!doc) {  // Zarr v2: .zarray (src/metadata/metadata_v2.h)
          ASSIGN_OR_RETURN(std::optional<ArrayMetadata> v2,
                           internal::ReadV2ArrayMetadata(*store, norm));
          if (!v2) {
            return Status::NotFound("no array at '" + norm + "': '" + key + "' (or '" +
                                    internal::ArrayMetadataKeyFor(norm, 2) + "') is missing");
          }
          ASSIGN_OR_RETURN(auto impl, MakeImpl(std::move(store), norm, std::move(*v2), options));
          return std::shared_ptr<Array>(new Array(std::move(impl)));
        }
        // Parse keeps the fill value's decimal text, so float32/float16 fills round once, exactly.
        ASSIGN_OR_RETURN(ArrayMetadata metadata, ArrayMetadata::Parse(AsString(*doc), key));
        ASSIGN_OR_RETURN(auto impl, MakeImpl(std::move(store), norm, std::move(metadata), options));
        return std::shared_ptr<Array>(new Array(std::move(impl)));
      });
}

Status Array::CheckType(DataTypeId id, size_t size) const {
  const DataType t = impl_->metadata.data_type;
  if (t.typed_id() != id || t.size() != size) {
    return Status::InvalidArgument("array '" + impl_->path + "' has data type " + t.name() +
                                   ", which does not match the buffer's element type");
  }
  return Status::OK();
}

bool Array::SameType(DataTypeId id, size_t size) const {
  const DataType t = impl_->metadata.data_type;
  return t.typed_id() == id && t.size() == size;
}

namespace {

// `buffer_bytes` unset: no caller buffer (Fill); the region's byte size must still fit.
Status CheckRegion(const Array::Impl& a, const Region& region, std::optional<size_t> buffer_bytes,
                   std::string_view op) {
  const ArrayMetadata& m = a.metadata;
  // Built only for an error: small reads would pay more for it than for the read.
  const auto what = [&] { return std::string(op) + " of array '" + a.path + "'"; };
  if (region.origin.size() != m.rank() || region.shape.size() != m.rank()) {
    return Status::InvalidArgument(what() + ": region " + region.ToString() + " has rank " +
                                   std::to_string(region.shape.size()) + ", array has rank " +
                                   std::to_string(m.rank()));
  }
  for (size_t d = 0; d < m.rank(); ++d) {
    if (region.origin[d] > m.shape[d] || region.shape[d] > m.shape[d] - region.origin[d]) {
      return Status::InvalidArgument(what() + ": region " + region.ToString() +
                                     " is out of bounds in dimension " + std::to_string(d) +
                                     " (size " + std::to_string(m.shape[d]) + ")");
    }
  }
  Result<uint64_t> checked =
      internal::CheckedProduct(region.shape, "region shape", m.data_type.size());
  if (!checked.ok()) return checked.status().WithContext(what());
  const uint64_t need = *checked;
  if (buffer_bytes && *buffer_bytes != need) {
    return Status::InvalidArgument(what() + ": buffer holds " + std::to_string(*buffer_bytes) +
                                   " bytes, region " + region.ToString() + " needs " +
                                   std::to_string(need));
  }
  return Status::OK();
}

}  // namespace

namespace {

// The byte API has no form for variable-size elements, and the string API none for fixed ones.
Status CheckFixedSize(const Array::Impl& a, std::string_view op) {
  if (!a.metadata.data_type.is_variable()) return Status::OK();
  return Status::FailedPrecondition(std::string(op) + " of array '" + a.path + "': data type " +
                                    a.metadata.data_type.name() +
                                    " has no fixed element size; use ReadStrings, WriteStrings "
                                    "or FillStrings");
}

Status CheckVariableSize(const Array::Impl& a, std::string_view op) {
  if (a.metadata.data_type.is_variable()) return Status::OK();
  return Status::FailedPrecondition(std::string(op) + " of array '" + a.path + "': data type " +
                                    a.metadata.data_type.name() +
                                    " is not string or bytes; use Read, Write or Fill");
}

Status Cancelled(const Array::Impl& a, std::string_view op) {
  return Status::FailedPrecondition(std::string(op) + " of array '" + a.path +
                                    "': cancelled (ArrayOptions::cancel)");
}

// The cancellation hooks of one call: the handle's (ArrayOptions::cancel) and the call's
// (ReadOptions/WriteOptions::cancel, named `call_name`).
struct CancelHooks {
  const Array::Impl& a;
  const std::function<bool()>& call;
  std::string_view call_name;

  bool any() const { return static_cast<bool>(a.options.cancel) || static_cast<bool>(call); }
  // The error to stop with when a hook fires, else OK.
  Status Check(std::string_view op) const {
    if (a.options.cancel && a.options.cancel()) return Cancelled(a, op);
    if (call && call()) {
      return Status::FailedPrecondition(std::string(op) + " of array '" + a.path +
                                        "': cancelled (" + std::string(call_name) + ")");
    }
    return Status::OK();
  }
};

// Runs `body(slab, byte_offset)` over slabs of `region` along dimension 0, each a few rows of
// chunks, checking the cancellation hooks before each. A slab along dimension 0 is a contiguous
// part of a C-order region buffer, starting `byte_offset` bytes in. Without a cancel hook, or
// for a region inside one row of chunks, the body runs once on the whole region.
template <typename Body>
Status ForEachSlab(const Array::Impl& a, const Region& region, std::string_view op,
                   const CancelHooks& cancel, Body&& body) {
  const ArrayMetadata& m = a.metadata;
  if (!cancel.any() || m.rank() == 0 || region.shape[0] == 0) return body(region, 0);
  if (m.rectilinear) {
    RETURN_IF_ERROR(cancel.Check(op));
    return body(region, 0);
  }
  const uint64_t c0 = m.chunk_shape[0];
  const uint64_t first = region.origin[0] / c0;
  const uint64_t last = (region.origin[0] + region.shape[0] - 1) / c0;
  if (first == last) {
    RETURN_IF_ERROR(cancel.Check(op));
    return body(region, 0);
  }
  // Chunks per row of chunks, so that a slab holds at least ~64 chunks.
  uint64_t per_row = 1;
  for (size_t d = 1; d < m.rank(); ++d) {
    if (region.shape[d] == 0) return body(region, 0);
    const uint64_t c = m.chunk_shape[d];
    per_row = internal::SaturatingMul(
        per_row, (region.origin[d] + region.shape[d] - 1) / c - region.origin[d] / c + 1);
  }
  const uint64_t rows_of_chunks = std::max<uint64_t>(1, 64 / std::max<uint64_t>(per_row, 1));
  uint64_t row_bytes = m.data_type.size();
  for (size_t d = 1; d < m.rank(); ++d) row_bytes *= region.shape[d];  // fits: region checked
  const uint64_t end = region.origin[0] + region.shape[0];
  uint64_t lo = region.origin[0];
  while (lo < end) {
    RETURN_IF_ERROR(cancel.Check(op));
    const uint64_t chunk_row = lo / c0;
    const uint64_t hi_chunk =
        internal::SaturatingMul(internal::SaturatingAdd(chunk_row, rows_of_chunks), c0);
    const uint64_t hi = std::min(end, hi_chunk);
    Region slab = region;
    slab.origin[0] = lo;
    slab.shape[0] = hi - lo;
    RETURN_IF_ERROR(body(slab, (lo - region.origin[0]) * row_bytes));
    lo = hi;
  }
  return Status::OK();
}

// Fill with the fill value where writing it would store nothing (write_empty_chunks off): only
// the chunks that are stored change, so the work follows the listing of stored chunks instead of
// the size of the region. Returns false (and does nothing) when that does not apply or would not
// pay: the store cannot list, or the region touches few more chunks than are stored.
Result<bool> FillByErasing(Array::Impl& a, const Region& region, ByteView element,
                           const WriteOptions& options) {
  const ArrayMetadata& m = a.metadata;
  if (a.options.write_empty_chunks || !a.store->capabilities().listable || m.rank() == 0 ||
      m.rectilinear) {
    return false;
  }
  if (!internal::AllEqualFill(element.data(), 1, m.fill_value.bytes.data(), m.data_type) ||
      !internal::AllEqualFill(m.fill_value.bytes.data(), 1, element.data(), m.data_type)) {
    return false;
  }
  uint64_t touched = 1;
  for (size_t d = 0; d < m.rank(); ++d) {
    if (region.shape[d] == 0) return true;  // nothing to do
    const uint64_t c = m.chunk_shape[d];
    touched = internal::SaturatingMul(
        touched, (region.origin[d] + region.shape[d] - 1) / c - region.origin[d] / c + 1);
  }
  if (touched <= 256) return false;
  ASSIGN_OR_RETURN(std::vector<std::string> keys, a.store->list_prefix(a.prefix));
  if (touched <= 4 * static_cast<uint64_t>(keys.size())) return false;
  const bool batched = options.pipeline.value_or(a.options.pipeline) == PipelineKind::kBatched;
  const internal::WriteSource src{element.data(), true};
  const std::vector<uint64_t> grid = m.grid_shape();
  for (const std::string& key : keys) {
    auto coords =
        m.chunk_key_encoding.DecodeKey(std::string_view(key).substr(a.prefix.size()), m.rank());
    if (!coords.ok()) continue;  // zarr.json, or a key of a nested node
    Region part{std::vector<uint64_t>(m.rank()), std::vector<uint64_t>(m.rank())};
    bool inside = true;
    for (size_t d = 0; d < m.rank() && inside; ++d) {
      const uint64_t c = m.chunk_shape[d];
      const uint64_t lo = (*coords)[d] * c;  // fits: the grid is checked against 2^64 at open
      if ((*coords)[d] >= grid[d]) {
        inside = false;
        break;
      }
      const uint64_t hi = lo + c;
      const uint64_t a_lo = std::max(lo, region.origin[d]);
      const uint64_t a_hi = std::min(hi, region.origin[d] + region.shape[d]);
      if (a_lo >= a_hi) inside = false;
      part.origin[d] = a_lo;
      part.shape[d] = a_lo < a_hi ? a_hi - a_lo : 0;
    }
    if (!inside) continue;
    const CancelHooks cancel{a, options.cancel, "WriteOptions::cancel"};
    RETURN_IF_ERROR(cancel.Check("fill"));
    RETURN_IF_ERROR(batched ? internal::BatchedWrite(a, part, src)
                            : internal::FusedWrite(a, part, src));
  }
  return true;
}

}  // namespace

Status Array::Read(const Region& region, MutableByteView out, const ReadOptions& options) const {
  const auto what = [&] { return "read of array '" + impl_->path + "'"; };
  return internal::GuardLazy(what, [&]() -> Status {
    std::shared_lock lock(metadata_mu_);
    RETURN_IF_ERROR(CheckFixedSize(*impl_, "read"));
    RETURN_IF_ERROR(CheckRegion(*impl_, region, out.size(), "read"));
    const bool batched =
        options.pipeline.value_or(impl_->options.pipeline) == PipelineKind::kBatched;
    const CancelHooks cancel{*impl_, options.cancel, "ReadOptions::cancel"};
    return ForEachSlab(*impl_, region, "read", cancel, [&](const Region& slab, uint64_t offset) {
      const MutableByteView part = out.subspan(offset, out.size() - offset);
      return batched ? internal::BatchedRead(*impl_, slab, part)
                     : internal::FusedRead(*impl_, slab, part);
    });
  });
}

Status Array::Write(const Region& region, ByteView in, const WriteOptions& options) {
  return internal::Guard("write of array '" + impl_->path + "'", [&]() -> Status {
    std::shared_lock lock(metadata_mu_);
    RETURN_IF_ERROR(CheckFixedSize(*impl_, "write"));
    RETURN_IF_ERROR(CheckRegion(*impl_, region, in.size(), "write"));
    const bool batched =
        options.pipeline.value_or(impl_->options.pipeline) == PipelineKind::kBatched;
    const CancelHooks cancel{*impl_, options.cancel, "WriteOptions::cancel"};
    return ForEachSlab(*impl_, region, "write", cancel, [&](const Region& slab, uint64_t offset) {
      const internal::WriteSource src{in.data() + offset, false};
      return batched ? internal::BatchedWrite(*impl_, slab, src)
                     : internal::FusedWrite(*impl_, slab, src);
    });
  });
}

Status Array::Read(const Region& region, MutableByteView out, DataTypeId memory_type,
                   const ReadOptions& options) const {
  if (SameType(memory_type, DataType(memory_type).size())) return Read(region, out, options);
  const std::string what = "read of array '" + impl_->path + "'";
  return internal::Guard(what, [&]() -> Status {
    std::shared_lock lock(metadata_mu_);
    RETURN_IF_ERROR(internal::CheckConversion(impl_->metadata.data_type.id(), memory_type,
                                              options.convert, what));
    const size_t msize = DataType(memory_type).size();
    if (out.size() % msize != 0) {
      return Status::InvalidArgument(what + ": buffer of " + std::to_string(out.size()) +
                                     " bytes is not a whole number of " +
                                     DataType(memory_type).name() + " elements");
    }
    RETURN_IF_ERROR(CheckRegion(*impl_, region, std::nullopt, "read"));
    if (out.size() / msize != region.num_elements()) {
      return Status::InvalidArgument(what + ": buffer holds " + std::to_string(out.size() / msize) +
                                     " elements, region " + region.ToString() + " has " +
                                     std::to_string(region.num_elements()));
    }
    const bool batched =
        options.pipeline.value_or(impl_->options.pipeline) == PipelineKind::kBatched;
    return internal::ConvertingRead(*impl_, region, out, memory_type, batched);
  });
}

Status Array::Write(const Region& region, ByteView in, DataTypeId memory_type,
                    const WriteOptions& options) {
  if (SameType(memory_type, DataType(memory_type).size())) return Write(region, in, options);
  const std::string what = "write of array '" + impl_->path + "'";
  return internal::Guard(what, [&]() -> Status {
    std::shared_lock lock(metadata_mu_);
    RETURN_IF_ERROR(internal::CheckConversion(memory_type, impl_->metadata.data_type.id(),
                                              options.convert, what));
    const size_t msize = DataType(memory_type).size();
    if (in.size() % msize != 0) {
      return Status::InvalidArgument(what + ": buffer of " + std::to_string(in.size()) +
                                     " bytes is not a whole number of " +
                                     DataType(memory_type).name() + " elements");
    }
    RETURN_IF_ERROR(CheckRegion(*impl_, region, std::nullopt, "write"));
    if (in.size() / msize != region.num_elements()) {
      return Status::InvalidArgument(what + ": buffer holds " + std::to_string(in.size() / msize) +
                                     " elements, region " + region.ToString() + " has " +
                                     std::to_string(region.num_elements()));
    }
    const bool batched =
        options.pipeline.value_or(impl_->options.pipeline) == PipelineKind::kBatched;
    return internal::ConvertingWrite(*impl_, region, in, memory_type,
                                     options.convert == Conversion::kAllowNarrowing, batched);
  });
}

Status Array::Fill(const Region& region, ByteView element, const WriteOptions& options) {
  return internal::Guard("fill of array '" + impl_->path + "'", [&]() -> Status {
    std::shared_lock lock(metadata_mu_);
    RETURN_IF_ERROR(CheckFixedSize(*impl_, "fill"));
    const size_t esize = impl_->metadata.data_type.size();
    if (element.size() != esize) {
      return Status::InvalidArgument("fill of array '" + impl_->path + "': element has " +
                                     std::to_string(element.size()) + " bytes, data type " +
                                     impl_->metadata.data_type.name() + " needs " +
                                     std::to_string(esize));
    }
    RETURN_IF_ERROR(CheckRegion(*impl_, region, std::nullopt, "fill"));
    ASSIGN_OR_RETURN(bool done, FillByErasing(*impl_, region, element, options));
    if (done) return Status::OK();
    const bool batched =
        options.pipeline.value_or(impl_->options.pipeline) == PipelineKind::kBatched;
    const internal::WriteSource src{element.data(), true};
    const CancelHooks cancel{*impl_, options.cancel, "WriteOptions::cancel"};
    return ForEachSlab(*impl_, region, "fill", cancel,
                       [&](const Region& slab, uint64_t /*offset*/) {
                         return batched ? internal::BatchedWrite(*impl_, slab, src)
                                        : internal::FusedWrite(*impl_, slab, src);
                       });
  });
}

// ---- Variable-size elements (src/pipeline/variable_chunks.h).

Result<std::vector<std::string>> Array::ReadStrings(const Region& region) const {
  if (impl_->metadata.data_type.is_fixed_string()) {
    // Fixed-length strings: the elements through the byte API, then as text.
    const DataType type = impl_->metadata.data_type;
    return internal::Guard(
        "read of array '" + impl_->path + "'", [&]() -> Result<std::vector<std::string>> {
          {
            std::shared_lock lock(metadata_mu_);
            RETURN_IF_ERROR(CheckRegion(*impl_, region, std::nullopt, "read"));
          }
          ASSIGN_OR_RETURN(const uint64_t bytes,
                           internal::CheckedMul(region.num_elements(), type.size(), "read"));
          Bytes buf(bytes);
          RETURN_IF_ERROR(Read(region, MutableByteView(buf)));
          std::vector<std::string> out(region.num_elements());
          for (uint64_t i = 0; i < out.size(); ++i) {
            ASSIGN_OR_RETURN_CTX(
                out[i], internal::FixedElementToText(type, buf.data() + i * type.size()),
                "read of array '" + impl_->path + "': element " + std::to_string(i));
          }
          return out;
        });
  }
  return internal::Guard("read of array '" + impl_->path + "'",
                         [&]() -> Result<std::vector<std::string>> {
                           std::shared_lock lock(metadata_mu_);
                           RETURN_IF_ERROR(CheckVariableSize(*impl_, "read"));
                           RETURN_IF_ERROR(CheckRegion(*impl_, region, std::nullopt, "read"));
                           return internal::VariableRead(*impl_, region);
                         });
}

Status Array::WriteVariable(const Region& region, uint64_t count,
                            const std::function<std::string_view(uint64_t)>& value) {
  if (impl_->metadata.data_type.is_fixed_string()) {
    // Fixed-length strings: each value as an element, then the byte API.
    const DataType type = impl_->metadata.data_type;
    return internal::Guard("write of array '" + impl_->path + "'", [&]() -> Status {
      const std::string what = "write of array '" + impl_->path + "'";
      {
        std::shared_lock lock(metadata_mu_);
        RETURN_IF_ERROR(CheckRegion(*impl_, region, std::nullopt, "write"));
      }
      if (count != region.num_elements()) {
        return Status::InvalidArgument(what + ": " + std::to_string(count) + " values, region " +
                                       region.ToString() + " has " +
                                       std::to_string(region.num_elements()) + " elements");
      }
      ASSIGN_OR_RETURN(const uint64_t bytes, internal::CheckedMul(count, type.size(), "write"));
      Bytes buf(bytes);
      for (uint64_t i = 0; i < count; ++i) {
        RETURN_IF_ERROR_CTX(
            internal::TextToFixedElement(type, value(i), buf.data() + i * type.size()),
            what + ": value " + std::to_string(i));
      }
      return Write(region, ByteView(buf));
    });
  }
  return internal::Guard("write of array '" + impl_->path + "'", [&]() -> Status {
    std::shared_lock lock(metadata_mu_);
    RETURN_IF_ERROR(CheckVariableSize(*impl_, "write"));
    RETURN_IF_ERROR(CheckRegion(*impl_, region, std::nullopt, "write"));
    const std::string what = "write of array '" + impl_->path + "'";
    if (count != region.num_elements()) {
      return Status::InvalidArgument(what + ": " + std::to_string(count) + " values, region " +
                                     region.ToString() + " has " +
                                     std::to_string(region.num_elements()) + " elements");
    }
    if (impl_->metadata.data_type.id() == DataTypeId::kString) {
      for (uint64_t i = 0; i < count; ++i) {
        if (!IsValidUtf8(value(i))) {
          return Status::InvalidArgument(what + ": value " + std::to_string(i) +
                                         " is not valid UTF-8");
        }
      }
    }
    return internal::VariableWrite(*impl_, region, value);
  });
}

Status Array::WriteStrings(const Region& region, std::span<const std::string> values) {
  return WriteVariable(region, values.size(),
                       [&](uint64_t i) { return std::string_view(values[i]); });
}

Status Array::WriteStrings(const Region& region, std::span<const std::string_view> values) {
  return WriteVariable(region, values.size(), [&](uint64_t i) { return values[i]; });
}

Status Array::FillStrings(const Region& region, std::string_view value) {
  uint64_t n = 0;
  if (region.shape.size() == impl_->metadata.rank()) n = region.num_elements();
  return WriteVariable(region, n, [value](uint64_t) { return value; });
}

// ---- Attributes and shape changes: exclusive on metadata_mu_, one zarr.json write each.

Status Array::WriteMetadataLocked(ArrayMetadata metadata) {
  RETURN_IF_ERROR(internal::WriteArrayMetadataDocuments(*impl_->store, impl_->path, metadata));
  impl_->metadata = std::move(metadata);
  return Status::OK();
}

Result<Json> Array::attributes() const {
  if (impl_->metadata.zarr_format == 2) {
    ASSIGN_OR_RETURN(std::optional<ArrayMetadata> v2,
                     internal::ReadV2ArrayMetadata(*impl_->store, impl_->path));
    if (!v2) {
      return Status::NotFound("array '/" + impl_->path + "' is gone: '" + MetadataKey() +
                              "' is missing");
    }
    return *std::move(v2->attributes);
  }
  const std::string key = MetadataKey();
  ASSIGN_OR_RETURN(auto stored, internal::ReadNodeDocument(*impl_->store, key));
  if (!stored)
    return Status::NotFound("array '/" + impl_->path + "' is gone: '" + key + "' is missing");
  if (!stored->is_array) {
    return Status::FailedPrecondition("'/" + impl_->path + "' is now a group, not an array (" +
                                      key + ")");
  }
  const auto it = stored->document.find("attributes");
  if (it == stored->document.end()) return Json::object();
  if (!it->is_object()) {
    return Status::InvalidArgument(key + ": attributes " + it->dump() + " is not an object");
  }
  return *it;
}

Status Array::SetAttributes(Json attributes) {
  if (!attributes.is_object()) {
    return Status::InvalidArgument("attributes of array '/" + impl_->path +
                                   "' must be a JSON object, got " + attributes.dump());
  }
  std::unique_lock lock(metadata_mu_);
  ArrayMetadata m = impl_->metadata;
  m.attributes = std::move(attributes);
  return WriteMetadataLocked(std::move(m));
}

Status Array::UpdateAttributes(const Json& patch) {
  std::unique_lock lock(metadata_mu_);
  ASSIGN_OR_RETURN(Json current, attributes());
  ASSIGN_OR_RETURN(Json merged, internal::MergeAttributes(std::move(current), patch,
                                                          "array '/" + impl_->path + "'"));
  ArrayMetadata m = impl_->metadata;
  m.attributes = std::move(merged);
  return WriteMetadataLocked(std::move(m));
}

namespace {

// Erases the stored chunks of `a` (still at its old shape) that lie wholly outside the shape of
// `next`. Listing finds the chunks that exist, so the cost follows what is stored, not the size
// of the old grid; stores that cannot list get every grid position of the old shape that is
// outside.
Status EraseChunksOutside(const Array::Impl& a, const ArrayMetadata& next, size_t io_concurrency) {
  const ArrayMetadata& m = a.metadata;
  const std::vector<uint64_t> old_shape = m.shape;
  const std::vector<uint64_t> grid = next.grid_shape();
  auto outside = [&](const std::vector<uint64_t>& c) {
    for (size_t d = 0; d < c.size(); ++d) {
      if (c[d] >= grid[d]) return true;
    }
    return false;
  };
  std::vector<std::string> doomed;
  if (a.store->capabilities().listable) {
    ASSIGN_OR_RETURN(std::vector<std::string> keys, a.store->list_prefix(a.prefix));
    for (const std::string& key : keys) {
      auto coords =
          m.chunk_key_encoding.DecodeKey(std::string_view(key).substr(a.prefix.size()), m.rank());
      if (coords.ok() && outside(*coords)) doomed.push_back(key);  // else zarr.json etc.
    }
  } else {
    ArrayMetadata old = m;
    old.shape = old_shape;
    const std::vector<uint64_t> old_grid = old.grid_shape();
    std::vector<uint64_t> c(m.rank(), 0);
    uint64_t total = 1;
    for (uint64_t g : old_grid) total *= g;
    for (uint64_t i = 0; i < total; ++i) {
      if (outside(c)) doomed.push_back(a.prefix + m.chunk_key_encoding.EncodeKey(c));
      for (size_t d = c.size(); d-- > 0;) {
        if (++c[d] < old_grid[d]) break;
        c[d] = 0;
      }
    }
  }
  return internal::RunConcurrently(doomed.size(), io_concurrency, /*stop_on_error=*/true,
                                   [&](size_t i) { return a.store->erase(doomed[i]); });
}

// Resets to the fill value every element of `a` (still at its old shape) that lies outside
// `new_shape` but inside a chunk that the new shape keeps (a chunk straddling the new edge).
// The region {x : x outside new_shape, x < E} with E = min(old, new rounded up to chunks) is
// covered by one box per dimension d: x_k < new_k for k < d, new_d <= x_d < E_d, x_k < E_k
// for k > d. A chunk left holding only the fill value is erased as any write would.
Status ResetCutPartOfEdgeChunks(Array::Impl& a, const std::vector<uint64_t>& new_shape) {
  const ArrayMetadata& m = a.metadata;
  const size_t rank = m.rank();
  std::vector<uint64_t> edge(rank);
  const ChunkGrid grid = m.grid();
  for (size_t d = 0; d < rank; ++d) {
    edge[d] = std::min(m.shape[d], grid.RoundUp(d, new_shape[d]));
  }
  const bool variable = m.data_type.is_variable();
  Bytes fill = m.fill_value.bytes;
  if (!variable && fill.size() != m.data_type.size()) fill.assign(m.data_type.size(), 0);
  for (size_t d = 0; d < rank; ++d) {
    if (new_shape[d] >= edge[d]) continue;
    Region box{std::vector<uint64_t>(rank, 0), std::vector<uint64_t>(rank)};
    bool empty = false;
    for (size_t k = 0; k < rank; ++k) {
      if (k < d) box.shape[k] = std::min(new_shape[k], m.shape[k]);
      if (k == d) {
        box.origin[k] = new_shape[k];
        box.shape[k] = edge[k] - new_shape[k];
      }
      if (k > d) box.shape[k] = edge[k];
      empty |= box.shape[k] == 0;
    }
    if (empty) continue;
    if (variable) {
      const std::string_view v = AsString(fill);
      RETURN_IF_ERROR(internal::VariableWrite(a, box, [v](uint64_t) { return v; }));
      continue;
    }
    internal::WriteSource src{fill.data(), true};
    RETURN_IF_ERROR(a.options.pipeline == PipelineKind::kBatched
                        ? internal::BatchedWrite(a, box, src)
                        : internal::FusedWrite(a, box, src));
  }
  return Status::OK();
}

}  // namespace

Status Array::Resize(std::vector<uint64_t> new_shape, const ResizeOptions& options) {
  std::unique_lock lock(metadata_mu_);
  const ArrayMetadata& m = impl_->metadata;
  if (new_shape.size() != m.rank()) {
    return Status::InvalidArgument("resize of array '/" + impl_->path + "': new shape has rank " +
                                   std::to_string(new_shape.size()) + ", array has rank " +
                                   std::to_string(m.rank()));
  }
  bool shrinks = false;
  for (size_t d = 0; d < new_shape.size(); ++d) shrinks |= new_shape[d] < m.shape[d];
  ArrayMetadata next = m;
  next.shape = std::move(new_shape);
  RETURN_IF_ERROR(CheckShapeFits(next, "resize of array '/" + impl_->path + "'"));
  if (shrinks && options.erase_outside_chunks) {
    // The data goes before the metadata: while the stored shape is still the old one, the cut
    // part of every chunk straddling the new edge is reset to the fill value and every chunk
    // wholly outside is erased. Only then does the shape shrink, so no stored shape ever hides
    // old values that a later grow would show again. A failure stops here with the old shape
    // (the elements being discarded may be partly reset already).
    const std::string what = "resize of array '/" + impl_->path + "'";
    RETURN_IF_ERROR_CTX(ResetCutPartOfEdgeChunks(*impl_, next.shape), what);
    RETURN_IF_ERROR_CTX(EraseChunksOutside(*impl_, next, options.io_concurrency), what);
  }
  return WriteMetadataLocked(std::move(next));
}

Status Array::Append(ByteView data, const std::vector<uint64_t>& data_shape, size_t axis) {
  std::unique_lock lock(metadata_mu_);
  ArrayMetadata staged = impl_->metadata;
  const uint64_t old_extent = staged.rank() > axis ? staged.shape[axis] : 0;
  RETURN_IF_ERROR(AppendChunksLocked(staged, data, data_shape, axis));
  if (staged.shape[axis] == old_extent) return Status::OK();  // nothing appended
  return WriteMetadataLocked(std::move(staged));
}

Status Array::AppendChunksLocked(ArrayMetadata& staged, ByteView data,
                                 const std::vector<uint64_t>& data_shape, size_t axis) {
  const ArrayMetadata published = impl_->metadata;
  ArrayMetadata& m = impl_->metadata;
  m = staged;
  const std::string what = "append to array '/" + impl_->path + "'";
  Status s = [&]() -> Status {
    RETURN_IF_ERROR(CheckFixedSize(*impl_, "append"));
    if (axis >= m.rank()) {
      return Status::InvalidArgument(what + ": axis " + std::to_string(axis) +
                                     " is out of range for rank " + std::to_string(m.rank()));
    }
    if (data_shape.size() != m.rank()) {
      return Status::InvalidArgument(what + ": data has rank " + std::to_string(data_shape.size()) +
                                     ", array has rank " + std::to_string(m.rank()));
    }
    for (size_t d = 0; d < m.rank(); ++d) {
      if (d != axis && data_shape[d] != m.shape[d]) {
        return Status::InvalidArgument(what + ": data has extent " + std::to_string(data_shape[d]) +
                                       " in dimension " + std::to_string(d) + ", array has " +
                                       std::to_string(m.shape[d]));
      }
    }
    if (data_shape[axis] > UINT64_MAX - m.shape[axis]) {
      return Status::InvalidArgument(what + ": extent " + std::to_string(m.shape[axis]) + " + " +
                                     std::to_string(data_shape[axis]) + " overflows");
    }
    Region region{std::vector<uint64_t>(m.rank(), 0), data_shape};
    region.origin[axis] = m.shape[axis];
    m.shape[axis] += data_shape[axis];
    RETURN_IF_ERROR(CheckShapeFits(m, what));
    RETURN_IF_ERROR(CheckRegion(*impl_, region, data.size(), "append"));
    if (data_shape[axis] == 0) return Status::OK();
    internal::WriteSource src{data.data(), false};
    RETURN_IF_ERROR(impl_->options.pipeline == PipelineKind::kBatched
                        ? internal::BatchedWrite(*impl_, region, src)
                        : internal::FusedWrite(*impl_, region, src));
    staged.shape = m.shape;
    return Status::OK();
  }();
  m = published;
  return s;
}

}  // namespace zarrpp
