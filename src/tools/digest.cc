#include "zarrpp/digest.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <set>

#include "src/array/indexing.h"
#include "src/checked_math.h"
#include "src/guard.h"
#include "src/hierarchy/hierarchy_internal.h"
#include "src/metadata/float_format.h"
#include "src/metadata/metadata_v2.h"
#include "zarrpp/array.h"

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
  if (type.id() == DataTypeId::kBool) {
    for (uint64_t i = 0; i < n; ++i) data[i] = data[i] != 0 ? 1 : 0;
    return;
  }
  // Sub-byte types hash one byte per element in their canonical in-memory form.
  internal::CanonicalizeSubByte(data, n, type);
  const uint64_t components = type.is_complex() ? 2 * n : n;
  switch (type.component_id()) {
    case DataTypeId::kFloat16: CanonNan<uint16_t>(data, components, 0x7e00, 5, 10); break;
    case DataTypeId::kFloat32: CanonNan<uint32_t>(data, components, 0x7fc00000u, 8, 23); break;
    case DataTypeId::kFloat64:
      CanonNan<uint64_t>(data, components, 0x7ff8000000000000ull, 11, 52);
      break;
    default: {
      // bfloat16 and the IEEE-style float8 formats have many NaN patterns; the fnuz and e8m0
      // formats have one.
      const internal::FloatFormat* f = internal::FloatFormatOf(type.component_id());
      if (f == nullptr || f->kind != internal::FloatFormat::Kind::kIeee) break;
      if (type.component_size() == 2) {
        CanonNan<uint16_t>(data, components, static_cast<uint16_t>(f->canonical_nan()), f->exp_bits,
                           f->mant_bits);
      } else {
        CanonNan<uint8_t>(data, components, static_cast<uint8_t>(f->canonical_nan()), f->exp_bits,
                          f->mant_bits);
      }
    }
  }
}

namespace {

// The bytes of one read are at most this many (unless one element is larger).
constexpr uint64_t kSlabTarget = uint64_t{64} << 20;

// Grid positions, in dimensions [0, k], of the chunks the store holds; lookups ask whether any
// stored chunk lies in a range of dimension k below fixed positions in dimensions [0, k).
class StoredChunks {
 public:
  // Null when the store cannot list (every slab is then read).
  static Result<std::unique_ptr<StoredChunks>> List(const Array& array, size_t k) {
    Store& store = *array.store();
    if (!store.capabilities().listable) return std::unique_ptr<StoredChunks>();
    const std::string prefix = array.path().empty() ? "" : array.path() + "/";
    ASSIGN_OR_RETURN(std::vector<std::string> keys, store.list_prefix(prefix));
    auto out = std::make_unique<StoredChunks>();
    const ArrayMetadata& m = array.metadata();
    for (const std::string& key : keys) {
      auto c =
          m.chunk_key_encoding.DecodeKey(std::string_view(key).substr(prefix.size()), m.rank());
      if (!c.ok()) continue;
      c->resize(k + 1);
      out->set_.insert(std::move(*c));
    }
    return out;
  }
  // Whether a stored chunk has positions `outer` in dimensions [0, k) and lo..hi in dimension k.
  bool Any(std::vector<uint64_t>& probe, uint64_t lo, uint64_t hi) const {
    probe.back() = lo;
    const auto it = set_.lower_bound(probe);
    if (it == set_.end()) return false;
    if (!std::equal(probe.begin(), probe.end() - 1, it->begin())) return false;
    return it->back() <= hi;
  }

 private:
  std::set<std::vector<uint64_t>> set_;
};

Status CheckCancel(const DigestOptions& options, const Array& array) {
  if ((options.cancel && options.cancel()) ||
      (array.options().cancel && array.options().cancel())) {
    return Status::FailedPrecondition("digest of array '" + array.path() + "': cancelled");
  }
  return Status::OK();
}

}  // namespace

namespace {

// Each element as its u64 little-endian byte length and its bytes, in C order (spec/strings.md).
// Read a row of chunks (along dimension 0) at a time.
Result<std::string> VariableDigest(const Array& array, const DigestOptions& options) {
  const ArrayMetadata& m = array.metadata();
  Sha256 sha;
  auto hash = [&](const std::vector<std::string>& values) {
    for (const std::string& v : values) {
      uint8_t len[8];
      for (int b = 0; b < 8; ++b) len[b] = static_cast<uint8_t>(uint64_t{v.size()} >> (8 * b));
      sha.Update(len, 8);
      sha.Update(reinterpret_cast<const uint8_t*>(v.data()), v.size());
    }
  };
  if (m.rank() == 0) {
    ASSIGN_OR_RETURN(std::vector<std::string> one, array.ReadStrings(Region{}));
    hash(one);
    return sha.HexFinal();
  }
  for (uint64_t s : m.shape)
    if (s == 0) return sha.HexFinal();
  for (uint64_t p = 0; p < m.shape[0]; p += m.chunk_shape[0]) {
    RETURN_IF_ERROR(CheckCancel(options, array));
    Region region = Region::All(m.shape);
    region.origin[0] = p;
    region.shape[0] = std::min(m.chunk_shape[0], m.shape[0] - p);
    ASSIGN_OR_RETURN(std::vector<std::string> values, array.ReadStrings(region));
    hash(values);
  }
  return sha.HexFinal();
}

}  // namespace

Result<std::string> ArrayDigest(const Array& array, const DigestOptions& options) {
  const ArrayMetadata& m = array.metadata();
  if (m.data_type.is_variable()) return VariableDigest(array, options);
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
  ASSIGN_OR_RETURN(const uint64_t total,
                   internal::CheckedProduct(m.shape, "digest: array shape", esize));
  if (total > options.max_bytes) {
    return Status::Unsupported("digest of array '" + array.path() + "': its " +
                               std::to_string(total) + " bytes exceed the limit of " +
                               std::to_string(options.max_bytes) + " (DigestOptions::max_bytes)");
  }
  // Reads are C-order runs: one position in each dimension before k, a block of `step` positions
  // in dimension k (whole chunks when they fit), everything after k. k is the first dimension
  // whose trailing part fits in the slab target.
  const size_t r = m.rank();
  std::vector<uint64_t> tail(r + 1, esize);  // tail[d]: bytes of one position in dimension d-1
  for (size_t d = r; d-- > 0;) tail[d] = tail[d + 1] * m.shape[d];
  size_t k = 0;
  while (k + 1 < r && tail[k + 1] > kSlabTarget) ++k;
  const uint64_t unit = tail[k + 1];  // bytes of one position in dimension k
  uint64_t step = std::max<uint64_t>(1, kSlabTarget / std::max<uint64_t>(unit, 1));
  if (step >= m.chunk_shape[k]) step -= step % m.chunk_shape[k];
  step = std::min(step, m.shape[k]);
  // The listing of stored chunks skips reading runs that hold none; it probes the regular grid,
  // so a rectilinear array reads every run.
  std::unique_ptr<StoredChunks> stored;
  if (!m.rectilinear) {
    ASSIGN_OR_RETURN(stored, StoredChunks::List(array, k));
  }

  Bytes buf;
  Bytes fill;  // canonical fill-value bytes, built on first use
  std::vector<uint64_t> outer(k, 0);
  std::vector<uint64_t> probe(k + 1, 0);
  while (true) {
    for (uint64_t p = 0; p < m.shape[k]; p += step) {
      RETURN_IF_ERROR(CheckCancel(options, array));
      const uint64_t n = std::min(step, m.shape[k] - p);
      const uint64_t bytes = n * unit;
      bool any = true;
      if (stored) {
        for (size_t d = 0; d < k; ++d) probe[d] = outer[d] / m.chunk_shape[d];
        any = stored->Any(probe, p / m.chunk_shape[k], (p + n - 1) / m.chunk_shape[k]);
      }
      if (!any) {
        if (fill.empty()) {
          fill.resize(std::min(std::max(kSlabTarget, static_cast<uint64_t>(esize)), total));
          internal::FillElements(fill.data(), fill.size() / esize, m.fill_value.bytes.data(),
                                 esize);
          CanonicalizeForDigest(fill.data(), fill.size() / esize, m.data_type);
        }
        const uint64_t whole = fill.size() / esize * esize;
        for (uint64_t done = 0; done < bytes;) {
          const uint64_t piece = std::min(whole, bytes - done);
          sha.Update(fill.data(), piece);
          done += piece;
        }
        continue;
      }
      Region region = Region::All(m.shape);
      for (size_t d = 0; d < k; ++d) {
        region.origin[d] = outer[d];
        region.shape[d] = 1;
      }
      region.origin[k] = p;
      region.shape[k] = n;
      buf.resize(bytes);
      RETURN_IF_ERROR(array.Read(region, buf));
      CanonicalizeForDigest(buf.data(), bytes / esize, m.data_type);
      sha.Update(buf.data(), buf.size());
    }
    // Next position in dimensions [0, k).
    size_t d = k;
    while (d > 0) {
      --d;
      if (++outer[d] < m.shape[d]) break;
      outer[d] = 0;
      if (d == 0) return sha.HexFinal();
    }
    if (k == 0) return sha.HexFinal();
  }
}

namespace {

// Digests the array at `node` into `e` (its error set on failure).
void DigestNode(const std::shared_ptr<Store>& store, const std::string& node,
                const std::vector<std::string>& keys, const DigestOptions& options,
                ArrayDigestEntry& e) {
  auto a = Array::Open(store, node);
  if (!a.ok()) {
    e.error = a.status();
    return;
  }
  e.data_type = (*a)->data_type().name();
  e.shape = (*a)->shape();
  e.error = CheckChunkKeyLayout(**a, keys);
  if (!e.error.ok()) return;
  auto digest = ArrayDigest(**a, options);
  if (!digest.ok()) {
    e.error = digest.status().WithContext("array '/" + node + "'");
    return;
  }
  e.sha256 = std::move(*digest);
}

// Why the document at `key` is not a node document, or OK with `is_array` set.
Status ClassifyNodeDocument(Store& store, const std::string& key, bool& present, bool& is_array) {
  ASSIGN_OR_RETURN(std::optional<internal::StoredNode> node,
                   internal::ReadNodeDocument(store, key));
  present = node.has_value();
  is_array = present && node->is_array;
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

namespace {

// A store that cannot list (HttpStore): only the node at `root` can be found, by its metadata
// document. An array gets its one entry; a group's arrays cannot be found (Unsupported).
Result<std::vector<ArrayDigestEntry>> DigestUnlisted(const std::shared_ptr<Store>& store,
                                                     const std::string& root,
                                                     const DigestOptions& options) {
  const std::string key = MetadataKeyFor(root);
  ArrayDigestEntry e;
  bool present = false, is_array = false;
  e.error = ClassifyNodeDocument(*store, key, present, is_array);
  if (e.error.ok() && present && !is_array) {
    return Status::Unsupported("digest of the group '/" + root + "': the store " +
                               store->description() +
                               " cannot list keys, so the arrays below the group cannot be "
                               "found; digest each array by its path");
  }
  if (e.error.ok() && !present) {
    ASSIGN_OR_RETURN(bool v2, store->exists(internal::V2KeyFor(root, internal::kZarrayKey)));
    if (!v2) {
      return Status::NotFound("digest of '/" + root + "': no array or group (no " + key +
                              " or .zarray) in " + store->description());
    }
  }
  if (e.error.ok()) DigestNode(store, root, {}, options, e);
  std::vector<ArrayDigestEntry> out;
  out.push_back(std::move(e));
  return out;
}

Result<std::vector<ArrayDigestEntry>> DigestTreeUnguarded(const std::shared_ptr<Store>& store,
                                                          std::string_view path,
                                                          const DigestOptions& options) {
  ASSIGN_OR_RETURN(std::string root, NormalizeNodePath(path));
  const std::string prefix = root.empty() ? "" : root + "/";
  if (!store->capabilities().listable) return DigestUnlisted(store, root, options);
  std::vector<std::string> meta_keys;
  // The node itself, then everything below it.
  meta_keys.push_back(MetadataKeyFor(root));
  ASSIGN_OR_RETURN(std::vector<std::string> keys, store->list_prefix(prefix));
  for (const std::string& k : keys) {
    if (k == meta_keys.front()) continue;
    if (k.size() >= 10 && k.compare(k.size() - 10, 10, "/zarr.json") == 0) meta_keys.push_back(k);
    // Zarr v2 arrays (src/metadata/metadata_v2.h).
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
    if (e.error.ok()) DigestNode(store, node, keys, options, e);
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

}  // namespace

Result<std::vector<ArrayDigestEntry>> DigestTree(std::shared_ptr<Store> store,
                                                 std::string_view path,
                                                 const DigestOptions& options) {
  if (!store) return Status::InvalidArgument("DigestTree: null store");
  return internal::Guard("digest of '" + std::string(path) + "'",
                         [&]() { return DigestTreeUnguarded(store, path, options); });
}

}  // namespace zarrpp
