#include "zarrpp/array.h"

#include <charconv>
#include <cstring>

#include "src/array_impl.h"
#include "src/pipeline.h"

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
        return Status::InvalidArgument("node path contains a NUL byte");
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
  std::vector<uint64_t> c(coords, coords + metadata.rank());
  std::string key = prefix;
  key += metadata.chunk_key_encoding.EncodeKey(c);
  return key;
}

Array::Array(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Array::~Array() = default;

const ArrayMetadata& Array::metadata() const { return impl_->metadata; }
const std::string& Array::path() const { return impl_->path; }
const std::shared_ptr<Store>& Array::store() const { return impl_->store; }
const ArrayOptions& Array::options() const { return impl_->options; }
std::string Array::ChunkKey(const std::vector<uint64_t>& coords) const {
  return impl_->ChunkKey(coords.data());
}
std::string Array::MetadataKey() const { return MetadataKeyFor(impl_->path); }

namespace {

Json DefaultCodecs(DataType type) {
  Json bytes = {{"name", "bytes"}};
  if (type.size() > 1 && type.id() != DataTypeId::kRawBits) {
    bytes["configuration"] = {{"endian", "little"}};
  }
  return Json::array({bytes, {{"name", "zstd"}, {"configuration", {{"level", 0}, {"checksum", false}}}}});
}

Result<std::unique_ptr<Array::Impl>> MakeImpl(std::shared_ptr<Store> store, std::string path,
                                              ArrayMetadata metadata, const ArrayOptions& options) {
  auto impl = std::make_unique<Array::Impl>();
  impl->store = std::move(store);
  impl->path = std::move(path);
  impl->prefix = impl->path.empty() ? "" : impl->path + "/";
  impl->options = options;
  impl->executor = options.executor ? options.executor : DefaultExecutor();
  const std::string where = MetadataKeyFor(impl->path);
  ASSIGN_OR_RETURN_CTX(CodecChain chain, CodecChain::FromJson(metadata.codecs), where + ": codecs");
  ChunkSpec spec{metadata.chunk_shape, metadata.data_type, metadata.fill_value};
  ASSIGN_OR_RETURN_CTX(impl->chain, chain.Prepare(spec), where + ": codecs");
  impl->metadata = std::move(metadata);
  return impl;
}

}  // namespace

Result<std::shared_ptr<Array>> Array::Create(std::shared_ptr<Store> store, std::string_view path,
                                             ArrayMetadata metadata, const CreateOptions& create,
                                             const ArrayOptions& options) {
  if (!store) return Status::InvalidArgument("Array::Create: null store");
  ASSIGN_OR_RETURN(std::string norm, NormalizeNodePath(path));
  const std::string key = MetadataKeyFor(norm);
  if (metadata.codecs.is_null() || (metadata.codecs.is_array() && metadata.codecs.empty())) {
    metadata.codecs = DefaultCodecs(metadata.data_type);
  }
  if (metadata.fill_value.bytes.empty()) metadata.fill_value = FillValue::Zero(metadata.data_type);
  // Validate exactly as a reader would: serialise and parse back.
  RETURN_IF_ERROR(metadata.Validate(key));
  ASSIGN_OR_RETURN(ArrayMetadata parsed, ArrayMetadata::FromJson(metadata.ToJson(), key));
  ASSIGN_OR_RETURN(auto impl, MakeImpl(store, norm, std::move(parsed), options));

  ASSIGN_OR_RETURN(bool exists, store->exists(key));
  if (exists) {
    if (!create.overwrite) {
      return Status::AlreadyExists("a node already exists at '" + norm + "' (" + key + ")");
    }
    RETURN_IF_ERROR(store->erase_prefix(norm.empty() ? "" : norm + "/"));
  }
  const std::string text = impl->metadata.ToJson().dump(2);
  RETURN_IF_ERROR(store->set(key, AsBytes(text)));
  return std::shared_ptr<Array>(new Array(std::move(impl)));
}

Result<std::shared_ptr<Array>> Array::Open(std::shared_ptr<Store> store, std::string_view path,
                                           const ArrayOptions& options) {
  if (!store) return Status::InvalidArgument("Array::Open: null store");
  ASSIGN_OR_RETURN(std::string norm, NormalizeNodePath(path));
  const std::string key = MetadataKeyFor(norm);
  ASSIGN_OR_RETURN(std::optional<Bytes> doc, store->get(key));
  if (!doc) return Status::NotFound("no array at '" + norm + "': '" + key + "' is missing");
  ASSIGN_OR_RETURN(Json j, ParseJson(AsString(*doc), key));
  if (j.is_object() && j.contains("node_type") && j["node_type"] == "group") {
    return Status::FailedPrecondition("'" + norm + "' is a group, not an array (" + key + ")");
  }
  ASSIGN_OR_RETURN(ArrayMetadata metadata, ArrayMetadata::FromJson(j, key));
  ASSIGN_OR_RETURN(auto impl, MakeImpl(std::move(store), norm, std::move(metadata), options));
  return std::shared_ptr<Array>(new Array(std::move(impl)));
}

Status Array::CheckType(DataTypeId id, size_t size) const {
  const DataType t = impl_->metadata.data_type;
  if (t.id() != id || t.size() != size) {
    return Status::InvalidArgument("array '" + impl_->path + "' has data type " + t.name() +
                                   ", which does not match the buffer's element type");
  }
  return Status::OK();
}

namespace {

Status CheckRegion(const Array::Impl& a, const Region& region, size_t buffer_bytes,
                   std::string_view op) {
  const ArrayMetadata& m = a.metadata;
  const std::string what = std::string(op) + " of array '" + a.path + "'";
  if (region.origin.size() != m.rank() || region.shape.size() != m.rank()) {
    return Status::InvalidArgument(what + ": region " + region.ToString() + " has rank " +
                                   std::to_string(region.shape.size()) + ", array has rank " +
                                   std::to_string(m.rank()));
  }
  for (size_t d = 0; d < m.rank(); ++d) {
    if (region.origin[d] > m.shape[d] || region.shape[d] > m.shape[d] - region.origin[d]) {
      return Status::InvalidArgument(what + ": region " + region.ToString() +
                                     " is out of bounds in dimension " + std::to_string(d) +
                                     " (size " + std::to_string(m.shape[d]) + ")");
    }
  }
  const uint64_t need = region.num_elements() * m.data_type.size();
  if (buffer_bytes != need) {
    return Status::InvalidArgument(what + ": buffer holds " + std::to_string(buffer_bytes) +
                                   " bytes, region " + region.ToString() + " needs " +
                                   std::to_string(need));
  }
  return Status::OK();
}

}  // namespace

Status Array::Read(const Region& region, MutableByteView out) const {
  RETURN_IF_ERROR(CheckRegion(*impl_, region, out.size(), "read"));
  if (impl_->options.pipeline == PipelineKind::kBatched) {
    return internal::BatchedRead(*impl_, region, out);
  }
  return internal::FusedRead(*impl_, region, out);
}

Status Array::Write(const Region& region, ByteView in) {
  RETURN_IF_ERROR(CheckRegion(*impl_, region, in.size(), "write"));
  internal::WriteSource src{in.data(), false};
  if (impl_->options.pipeline == PipelineKind::kBatched) {
    return internal::BatchedWrite(*impl_, region, src);
  }
  return internal::FusedWrite(*impl_, region, src);
}

Status Array::Fill(const Region& region, ByteView element) {
  const size_t esize = impl_->metadata.data_type.size();
  if (element.size() != esize) {
    return Status::InvalidArgument("fill of array '" + impl_->path + "': element has " +
                                   std::to_string(element.size()) + " bytes, data type " +
                                   impl_->metadata.data_type.name() + " needs " +
                                   std::to_string(esize));
  }
  RETURN_IF_ERROR(CheckRegion(*impl_, region, region.num_elements() * esize, "fill"));
  internal::WriteSource src{element.data(), true};
  if (impl_->options.pipeline == PipelineKind::kBatched) {
    return internal::BatchedWrite(*impl_, region, src);
  }
  return internal::FusedWrite(*impl_, region, src);
}

Status Array::SetAttributes(Json attributes) {
  if (!attributes.is_object()) {
    return Status::InvalidArgument("attributes of array '" + impl_->path + "' must be a JSON object");
  }
  impl_->metadata.attributes = std::move(attributes);
  const std::string text = impl_->metadata.ToJson().dump(2);
  return impl_->store->set(MetadataKey(), AsBytes(text));
}

}  // namespace zarrpp
