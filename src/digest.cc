#include "zarrpp/digest.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>

namespace zarrpp {
namespace {

template <typename U>
void CanonNan(uint8_t* p, uint64_t n_components, U canonical, unsigned exp_bits,
              unsigned mant_bits) {
  const U exp_mask = static_cast<U>(((U{1} << exp_bits) - 1) << mant_bits);
  const U mant_mask = static_cast<U>((U{1} << mant_bits) - 1);
  for (uint64_t i = 0; i < n_components; ++i, p += sizeof(U)) {
    U v;
    std::memcpy(&v, p, sizeof(U));
    if ((v & exp_mask) == exp_mask && (v & mant_mask) != 0) std::memcpy(p, &canonical, sizeof(U));
  }
}

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr);
  }
  void Update(const uint8_t* p, size_t n) { EVP_DigestUpdate(ctx_.get(), p, n); }
  std::string HexFinal() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), md, &len);
    static const char* kHex = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
      out += kHex[md[i] >> 4];
      out += kHex[md[i] & 15];
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

}  // namespace

void CanonicalizeForDigest(uint8_t* data, uint64_t n, DataType type) {
  switch (type.id()) {
    case DataTypeId::kBool:
      for (uint64_t i = 0; i < n; ++i) data[i] = data[i] != 0 ? 1 : 0;
      break;
    case DataTypeId::kFloat16: CanonNan<uint16_t>(data, n, 0x7e00, 5, 10); break;
    case DataTypeId::kFloat32: CanonNan<uint32_t>(data, n, 0x7fc00000u, 8, 23); break;
    case DataTypeId::kFloat64: CanonNan<uint64_t>(data, n, 0x7ff8000000000000ull, 11, 52); break;
    case DataTypeId::kComplex64: CanonNan<uint32_t>(data, 2 * n, 0x7fc00000u, 8, 23); break;
    case DataTypeId::kComplex128:
      CanonNan<uint64_t>(data, 2 * n, 0x7ff8000000000000ull, 11, 52);
      break;
    default: break;
  }
}

Result<std::string> ArrayDigest(const Array& array) {
  const ArrayMetadata& m = array.metadata();
  const size_t esize = m.data_type.size();
  Sha256 sha;
  if (m.rank() == 0) {
    Bytes one(esize);
    RETURN_IF_ERROR(array.Read(Region{}, one));
    CanonicalizeForDigest(one.data(), 1, m.data_type);
    sha.Update(one.data(), one.size());
    return sha.HexFinal();
  }
  for (uint64_t s : m.shape)
    if (s == 0) return sha.HexFinal();
  // Slabs along dimension 0: whole rows of chunks, grown up to ~64 MiB when rows are small.
  uint64_t row_elems = 1;
  for (size_t d = 1; d < m.rank(); ++d) row_elems *= m.shape[d];
  const uint64_t row_bytes = row_elems * esize;
  uint64_t rows = m.chunk_shape[0];
  const uint64_t target = 64ull << 20;
  if (rows * row_bytes < target)
    rows = std::max<uint64_t>(
        rows, (target / std::max<uint64_t>(row_bytes, 1)) / m.chunk_shape[0] * m.chunk_shape[0]);
  rows = std::max<uint64_t>(1, std::min(rows, m.shape[0]));
  Bytes buf;
  for (uint64_t r0 = 0; r0 < m.shape[0]; r0 += rows) {
    const uint64_t nr = std::min(rows, m.shape[0] - r0);
    Region region = Region::All(m.shape);
    region.origin[0] = r0;
    region.shape[0] = nr;
    buf.resize(nr * row_bytes);
    RETURN_IF_ERROR(array.Read(region, buf));
    CanonicalizeForDigest(buf.data(), nr * row_elems, m.data_type);
    sha.Update(buf.data(), buf.size());
  }
  return sha.HexFinal();
}

namespace {

// Digests the array at `node` into `e` (its error set on failure).
void DigestNode(const std::shared_ptr<Store>& store, const std::string& node,
                const std::vector<std::string>& keys, ArrayDigestEntry& e) {
  auto a = Array::Open(store, node);
  if (!a.ok()) {
    e.error = a.status();
    return;
  }
  e.data_type = (*a)->data_type().name();
  e.shape = (*a)->shape();
  e.error = CheckChunkKeyLayout(**a, keys);
  if (!e.error.ok()) return;
  auto digest = ArrayDigest(**a);
  if (!digest.ok()) {
    e.error = digest.status().WithContext("array '/" + node + "'");
    return;
  }
  e.sha256 = std::move(*digest);
}

// Why the document at `key` is not a node document, or OK with `is_array` set.
Status ClassifyNodeDocument(Store& store, const std::string& key, bool& present, bool& is_array) {
  present = false;
  is_array = false;
  ASSIGN_OR_RETURN(std::optional<Bytes> doc, store.get(key));
  if (!doc) return Status::OK();
  present = true;
  ASSIGN_OR_RETURN(Json j, ParseJson(AsString(*doc), key));
  if (!j.is_object()) {
    return Status::Corruption(key + ": metadata is " + std::string(j.type_name()) +
                              ", not a JSON object");
  }
  const auto type = j.find("node_type");
  if (type == j.end()) return Status::Corruption(key + ": node_type is missing");
  if (!type->is_string() || (*type != "array" && *type != "group")) {
    return Status::Corruption(key + ": node_type " + type->dump() +
                              " is neither \"array\" nor \"group\"");
  }
  is_array = *type == "array";
  return Status::OK();
}

}  // namespace

Status CheckChunkKeyLayout(const Array& a, const std::vector<std::string>& keys) {
  const ArrayMetadata& m = a.metadata();
  const std::string prefix = a.path().empty() ? "" : a.path() + "/";
  // Sorted keys: the array's own are one run starting at the first key >= prefix.
  for (auto it = std::lower_bound(keys.begin(), keys.end(), prefix);
       it != keys.end() && it->starts_with(prefix); ++it) {
    const std::string& key = *it;
    const std::string_view rel = std::string_view(key).substr(prefix.size());
    if (m.chunk_key_encoding.DecodeKey(rel, m.rank()).ok()) continue;
    for (size_t slash = rel.find('/'); slash != std::string_view::npos;
         slash = rel.find('/', slash + 1)) {
      if (m.chunk_key_encoding.DecodeKey(rel.substr(0, slash), m.rank()).ok()) {
        return Status::Corruption("key '" + prefix + std::string(rel.substr(0, slash)) +
                                  "' is a directory (holding '" + key +
                                  "') where a chunk value belongs");
      }
    }
    if (m.chunk_key_encoding.separator != '/') continue;
    std::string longer(rel);
    for (size_t n = 0; n < m.rank(); ++n) {
      longer += "/0";
      if (m.chunk_key_encoding.DecodeKey(longer, m.rank()).ok()) {
        return Status::Corruption("key '" + key +
                                  "' is a value where a directory of chunks belongs");
      }
    }
  }
  return Status::OK();
}

Result<std::vector<ArrayDigestEntry>> DigestTree(std::shared_ptr<Store> store,
                                                 std::string_view path) {
  if (!store) return Status::InvalidArgument("DigestTree: null store");
  ASSIGN_OR_RETURN(std::string root, NormalizeNodePath(path));
  const std::string prefix = root.empty() ? "" : root + "/";
  std::vector<std::string> meta_keys;
  // The node itself, then everything below it.
  meta_keys.push_back(MetadataKeyFor(root));
  ASSIGN_OR_RETURN(std::vector<std::string> keys, store->list_prefix(prefix));
  for (const std::string& k : keys) {
    if (k == meta_keys.front()) continue;
    if (k.size() >= 10 && k.compare(k.size() - 10, 10, "/zarr.json") == 0) meta_keys.push_back(k);
    // Zarr v2 arrays (src/metadata_v2.h).
    if (k == ".zarray" || k.ends_with("/.zarray")) meta_keys.push_back(k);
  }
  std::vector<ArrayDigestEntry> out;
  for (const std::string& k : meta_keys) {
    std::string node;
    ArrayDigestEntry e;
    if (k.ends_with(".zarray")) {
      node = k.size() > 7 ? k.substr(0, k.size() - 8) : "";
    } else {
      node = k.size() > 10 ? k.substr(0, k.size() - 10) : "";
      bool present = false, is_array = false;
      e.error = ClassifyNodeDocument(*store, k, present, is_array);
      if (e.error.ok() && (!present || !is_array)) continue;
    }
    if (e.error.ok()) DigestNode(store, node, keys, e);
    e.path = node.substr(std::min(node.size(), prefix.size()));
    if (node == root) e.path = "";
    out.push_back(std::move(e));
  }
  // A directory standing where a node's metadata document belongs (listed keys below it) would
  // otherwise hide the node: it is reported as that node's error.
  std::map<std::string, std::string> directory_docs;  // document key -> a key below it
  for (const std::string& k : keys) {
    for (const std::string name : {"zarr.json", ".zarray"}) {
      const size_t at = k.starts_with(name + "/") ? 0 : k.find("/" + name + "/");
      if (at == std::string::npos) continue;
      const std::string doc = at == 0 ? name : k.substr(0, at) + "/" + name;
      directory_docs.emplace(doc, k);
    }
  }
  for (const auto& [doc, below] : directory_docs) {
    const std::string node =
        doc.find('/') == std::string::npos ? std::string() : doc.substr(0, doc.rfind('/'));
    ArrayDigestEntry e;
    e.path = node == root ? "" : node.substr(std::min(node.size(), prefix.size()));
    e.error = Status::Corruption("key '" + doc + "' is a directory (holding '" + below +
                                 "') where a metadata document belongs");
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(),
            [](const ArrayDigestEntry& a, const ArrayDigestEntry& b) { return a.path < b.path; });
  return out;
}

}  // namespace zarrpp
