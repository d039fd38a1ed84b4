#include "zarrpp/convert.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "codecs/codec_chain.h"
#include "src/guard.h"
#include "src/hierarchy/hierarchy_internal.h"
#include "src/metadata/metadata_v2.h"
#include "zarrpp/array.h"
#include "zarrpp/digest.h"
#include "zarrpp/json.h"
#include "zarrpp/local_store.h"

namespace zarrpp {

namespace {

std::string ShapeText(const std::vector<uint64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(v[i]);
  }
  return s + "]";
}

// The parts of a chain that is exactly [sharding_indexed]; nullopt for any other chain.
struct ShardingParts {
  std::vector<uint64_t> inner_chunks;
  Json inner_codecs;
};
std::optional<ShardingParts> AsSharded(const Json& codecs) {
  if (!codecs.is_array() || codecs.size() != 1 || !codecs[0].is_object()) return std::nullopt;
  const Json& c = codecs[0];
  if (c.value("name", "") != "sharding_indexed" || !c.contains("configuration")) {
    return std::nullopt;
  }
  const Json& conf = c["configuration"];
  if (!conf.contains("chunk_shape") || !conf.contains("codecs")) return std::nullopt;
  return ShardingParts{conf["chunk_shape"].get<std::vector<uint64_t>>(), conf["codecs"]};
}

Status CheckRank(const std::vector<uint64_t>& v, const ArrayMetadata& m, std::string_view what,
                 std::string_view where) {
  if (v.size() != m.rank()) {
    return Status::InvalidArgument(std::string(where) + ": " + std::string(what) + " " +
                                   ShapeText(v) + " has rank " + std::to_string(v.size()) +
                                   " but the array has rank " + std::to_string(m.rank()));
  }
  for (uint64_t c : v) {
    if (c == 0) {
      return Status::InvalidArgument(std::string(where) + ": " + std::string(what) + " " +
                                     ShapeText(v) + " has a zero entry");
    }
  }
  return Status::OK();
}

// A node found under the source root: its format and kind, or why its metadata document cannot
// be read as a node.
struct SourceNode {
  bool is_array = false;
  int zarr_format = 3;
  Status error;
};

// The source tree: every key under the root (sorted, as list_prefix returns them) and every
// node, by path relative to the root.
struct SourceTree {
  std::vector<std::string> keys;
  std::map<std::string, SourceNode> nodes;
};

// Why the zarr.json at `key` is not a node document, or OK with `is_array` set.
Status ReadNodeType(Store& src, const std::string& key, bool& is_array) {
  ASSIGN_OR_RETURN(std::optional<internal::StoredNode> node, internal::ReadNodeDocument(src, key));
  if (!node) return Status::NotFound(key + ": listed, but reads as absent");
  is_array = node->is_array;
  return Status::OK();
}

// Lists the tree under `root` and classifies its nodes. Only failing to list is an error of the
// call: a node document that cannot be read, does not parse or is not a node, and a directory
// standing where a node's metadata document belongs, become that node's error. Keys below such a
// directory are not nodes of their own.
Result<SourceTree> FindNodes(Store& src, const std::string& root) {
  const std::string prefix = root.empty() ? "" : root + "/";
  SourceTree tree;
  ASSIGN_OR_RETURN(tree.keys, src.list_prefix(prefix));
  const auto is_document = [](std::string_view name) {
    return name == "zarr.json" || name == internal::kZarrayKey || name == internal::kZgroupKey;
  };
  for (const std::string& key : tree.keys) {
    const std::string rel = key.substr(prefix.size());
    // A metadata document name as a directory segment: the node above it is damaged.
    size_t begin = 0;
    bool below_document = false;
    for (size_t slash = rel.find('/'); slash != std::string::npos;
         begin = slash + 1, slash = rel.find('/', begin)) {
      if (!is_document(std::string_view(rel).substr(begin, slash - begin))) continue;
      const std::string node = begin == 0 ? "" : rel.substr(0, begin - 1);
      SourceNode& n = tree.nodes[node];
      if (n.error.ok()) {
        n.is_array = false;
        n.error = Status::Corruption("key '" + prefix + rel.substr(0, slash) +
                                     "' is a directory (holding '" + key +
                                     "') where a metadata document belongs");
      }
      below_document = true;
      break;
    }
    if (below_document) continue;
    const size_t slash = rel.rfind('/');
    const std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
    const std::string node = slash == std::string::npos ? "" : rel.substr(0, slash);
    if (name == "zarr.json") {
      SourceNode& n = tree.nodes[node];
      if (!n.error.ok()) continue;
      n = SourceNode{};
      n.error = ReadNodeType(src, key, n.is_array);
    } else if ((name == internal::kZarrayKey || name == internal::kZgroupKey) &&
               !tree.nodes.contains(node)) {
      tree.nodes[node] = SourceNode{name == internal::kZarrayKey, 2, Status::OK()};
    }
  }
  return tree;
}

// Erases the documents a group write may have left (zarr.json, or .zgroup and .zattrs), so a
// group whose write failed is not left looking complete.
Status EraseGroupDocuments(Store& dst, const std::string& path) {
  Status first;
  for (const std::string& key :
       {MetadataKeyFor(path), internal::V2KeyFor(path, internal::kZgroupKey),
        internal::V2KeyFor(path, internal::kZattrsKey)}) {
    Status s = dst.erase(key);
    if (first.ok() && !s.ok()) first = s;
  }
  return first;
}

std::string Join(const std::string& root, const std::string& rel) {
  if (root.empty()) return rel;
  if (rel.empty()) return root;
  return root + "/" + rel;
}

// ConvertOptions::cancel, latched: once it has returned true the conversion stays cancelled, so
// every check after the first agrees and the hook is not called again.
class CancelCheck {
 public:
  explicit CancelCheck(const std::function<bool()>& hook) : hook_(hook) {}
  bool operator()() {
    if (fired_.load(std::memory_order_relaxed)) return true;
    if (!hook_ || !hook_()) return false;
    fired_.store(true, std::memory_order_relaxed);
    return true;
  }
  bool fired() const { return fired_.load(std::memory_order_relaxed); }
  static Status Error(std::string_view where) {
    return Status::FailedPrecondition("convert" + std::string(where) +
                                      ": cancelled (ConvertOptions::cancel)");
  }

 private:
  const std::function<bool()>& hook_;
  std::atomic<bool> fired_{false};
};

// The chain that checks chunks copied as stored bytes, when every chunk (shard) of `dst` is a
// stored chunk of `src` byte for byte: same shape, and chunks that decode to the same values with
// either array's metadata (ChunksCompatible), of a fixed-size data type. Null otherwise (or with
// ConvertOptions::reencode): every chunk is decoded and encoded again.
std::shared_ptr<const PreparedChain> RawCopyApplies(const Array& src, const Array& dst,
                                                    const ConvertOptions& options) {
  const ArrayMetadata& m = src.metadata();
  if (options.reencode || m.data_type.is_variable() || src.shape() != dst.shape() ||
      m.rectilinear || dst.metadata().rectilinear || !ChunksCompatible(m, dst.metadata())) {
    return nullptr;
  }
  auto chain = CodecChain::FromJson(m.codecs);
  if (!chain.ok()) return nullptr;
  auto prepared = chain->Prepare(ChunkSpec{m.chunk_shape, m.data_type, m.fill_value});
  return prepared.ok() ? *prepared : nullptr;
}

// ConvertOptions::progress: counters updated by the copy tasks, reports serialised.
class ProgressReporter {
 public:
  explicit ProgressReporter(const std::function<void(const ConvertProgress&)>& hook)
      : hook_(hook) {}
  void SetTotals(uint64_t bytes, uint64_t chunks, uint64_t nodes) {
    std::lock_guard lock(mu_);
    state_.bytes_total = bytes;
    state_.chunks_total = chunks;
    state_.nodes_total = nodes;
    Send();
  }
  void StartArray(const std::string& path) {
    std::lock_guard lock(mu_);
    state_.current = path;
  }
  void ChunkDone(uint64_t bytes) {
    std::lock_guard lock(mu_);
    state_.bytes_done += bytes;
    ++state_.chunks_done;
    Send();
  }
  // A node finished; `skipped_bytes` and `skipped_chunks` are what its copy did not reach (it
  // failed or was not an array to copy), so the totals stay reachable.
  void NodeDone(uint64_t skipped_bytes, uint64_t skipped_chunks) {
    std::lock_guard lock(mu_);
    state_.bytes_total -= std::min(state_.bytes_total, skipped_bytes);
    state_.chunks_total -= std::min(state_.chunks_total, skipped_chunks);
    ++state_.nodes_done;
    state_.current.clear();
    Send();
  }
  uint64_t chunks_done() const {
    std::lock_guard lock(mu_);
    return state_.chunks_done;
  }
  uint64_t bytes_done() const {
    std::lock_guard lock(mu_);
    return state_.bytes_done;
  }

 private:
  void Send() {
    if (hook_) hook_(state_);
  }
  const std::function<void(const ConvertProgress&)>& hook_;
  mutable std::mutex mu_;
  ConvertProgress state_;
};

// Decoded bytes of every target chunk of `m` (0 for variable-size types), and their number.
std::pair<uint64_t, uint64_t> CopyVolume(const ArrayMetadata& m) {
  uint64_t chunks = 1;
  for (uint64_t g : m.grid_shape()) chunks *= g;
  uint64_t bytes = m.data_type.is_variable() ? 0 : m.data_type.size();
  for (uint64_t s : m.shape) bytes *= s;
  return {bytes, chunks};
}

// Copies every target chunk (shard) of `dst` from `src`, at most `in_flight` chunks at a time,
// checking `cancelled` before each chunk. With `raw` (RawCopyApplies) each chunk moves as its
// stored bytes once it has decoded with `raw` (so a damaged source chunk fails the array as on
// the decoding path); otherwise it is read, decoded, encoded and written.
Status CopyContents(const Array& src, Array& dst, Executor& executor, uint64_t max_buffer_bytes,
                    CancelCheck& cancelled, ProgressReporter& progress, uint64_t& chunks,
                    const std::shared_ptr<const PreparedChain>& raw) {
  const ArrayMetadata& m = dst.metadata();
  const std::vector<uint64_t> grid = m.grid_shape();
  uint64_t total = 1;
  for (uint64_t g : grid) total *= g;
  if (total == 0) return Status::OK();
  uint64_t unit_bytes = m.data_type.size();
  for (size_t d = 0; d < m.rank(); ++d) unit_bytes *= std::min(m.chunk_shape[d], m.shape[d]);
  const uint64_t batch =
      std::max<uint64_t>(1, max_buffer_bytes / std::max<uint64_t>(unit_bytes, 1));
  std::mutex mu;
  Status first_error;
  std::atomic<bool> failed{false};
  for (uint64_t begin = 0; begin < total && !failed; begin += batch) {
    const uint64_t n = std::min(batch, total - begin);
    executor.ParallelFor(n, 1, [&](size_t b, size_t e) {
      Bytes buffer;
      ChainScratch scratch;
      for (size_t i = b; i < e && !failed; ++i) {
        if (cancelled()) {
          std::lock_guard lock(mu);
          if (!failed) first_error = CancelCheck::Error(" of array '/" + dst.path() + "'");
          failed = true;
          return;
        }
        uint64_t linear = begin + i;
        Region region{std::vector<uint64_t>(m.rank()), std::vector<uint64_t>(m.rank())};
        for (size_t d = m.rank(); d-- > 0;) {
          const uint64_t c = linear % grid[d];
          linear /= grid[d];
          if (m.rectilinear) {
            region.origin[d] = m.rectilinear->Origin(d, c);
            region.shape[d] = std::min(m.rectilinear->Length(d, c), m.shape[d] - region.origin[d]);
            continue;
          }
          region.origin[d] = c * m.chunk_shape[d];
          region.shape[d] = std::min(m.chunk_shape[d], m.shape[d] - region.origin[d]);
        }
        Status s;
        if (raw) {
          std::vector<uint64_t> coords(m.rank());
          for (size_t d = 0; d < m.rank(); ++d) coords[d] = region.origin[d] / m.chunk_shape[d];
          Result<std::optional<Bytes>> stored = src.ReadChunkEncoded(ChunkLevel::kStored, coords);
          s = stored.status();
          if (s.ok() && *stored) {
            buffer.resize(raw->decoded_spec().num_bytes());
            s = raw->Decode(**stored, buffer, scratch)
                    .WithContext("chunk '" + src.ChunkKey(coords) + "' of array '/" + src.path() +
                                 "'");
          }
          if (s.ok() && *stored) {
            s = dst.WriteChunkEncoded(ChunkLevel::kStored, coords, ByteView(**stored));
          }
        } else if (m.data_type.is_variable()) {
          Result<std::vector<std::string>> values = src.ReadStrings(region);
          s = values.ok() ? dst.WriteStrings(region, std::span<const std::string>(*values))
                          : values.status();
        } else {
          buffer.resize(region.num_elements() * m.data_type.size());
          s = src.Read(region, buffer);
          if (s.ok()) s = dst.Write(region, buffer);
        }
        if (!s.ok()) {
          std::lock_guard lock(mu);
          if (!failed) first_error = s;
          failed = true;
        } else {
          progress.ChunkDone(
              m.data_type.is_variable() ? 0 : region.num_elements() * m.data_type.size());
        }
      }
    });
    chunks += n;
  }
  return first_error;
}

namespace fs = std::filesystem;

// The path with every existing part resolved (symlinks, ".", ".."), the rest normalised.
Result<fs::path> ResolvedPath(const fs::path& p) {
  std::error_code ec;
  fs::path abs = fs::absolute(p, ec);
  if (!ec) abs = fs::weakly_canonical(abs, ec);
  if (ec) {
    return Status::IOError("convert: cannot resolve '" + p.string() + "': " + ec.message());
  }
  abs = abs.lexically_normal();
  if (abs.has_relative_path() && abs.filename().empty()) abs = abs.parent_path();  // "a/b/"
  return abs;
}

// True when `inner` is `outer` or lies below it (whole components).
bool IsWithin(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin();
  for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
    if (o->empty() && std::next(o) == outer.end()) break;  // trailing separator
    if (i == inner.end() || *i != *o) return false;
  }
  return true;
}

// Why `dst` may not receive a conversion of `src` ("" when it may): the same location, or one
// inside the other; node paths compare by segments, file system paths by components.
std::string Overlap(const std::string& src, const std::string& dst, bool within_is_path) {
  auto inside = [&](const std::string& inner, const std::string& outer) {
    if (within_is_path) return IsWithin(fs::path(inner), fs::path(outer));
    return outer.empty() || inner == outer || inner.starts_with(outer + "/");
  };
  if (src == dst) return "is the source";
  if (inside(dst, src)) return "lies inside the source";
  if (inside(src, dst)) return "contains the source";
  return "";
}

// The (device, inode) of `p` and of each existing ancestor, nearest first; `p` itself may be
// missing (then only its existing ancestors are listed).
std::vector<std::pair<dev_t, ino_t>> IdentityChain(const fs::path& p) {
  std::vector<std::pair<dev_t, ino_t>> chain;
  for (fs::path at = p;; at = at.parent_path()) {
    struct stat st;
    if (::stat(at.c_str(), &st) == 0) chain.emplace_back(st.st_dev, st.st_ino);
    if (at == at.parent_path() || at.empty()) break;
  }
  return chain;
}

// Overlap that path comparison cannot see: the same directory reached by two unrelated paths
// (a bind mount). Compares the identities of existing directories.
std::string OverlapByIdentity(const fs::path& src, const fs::path& dst) {
  struct stat s, d;
  const bool src_exists = ::stat(src.c_str(), &s) == 0;
  const bool dst_exists = ::stat(dst.c_str(), &d) == 0;
  if (src_exists && dst_exists && s.st_dev == d.st_dev && s.st_ino == d.st_ino) {
    return "is the source";
  }
  if (src_exists) {
    for (const auto& id : IdentityChain(dst)) {
      if (id == std::make_pair(s.st_dev, s.st_ino)) return "lies inside the source";
    }
  }
  if (dst_exists) {
    for (const auto& id : IdentityChain(src)) {
      if (id == std::make_pair(d.st_dev, d.st_ino)) return "contains the source";
    }
  }
  return "";
}

// The directory a LocalStore node lives in; nullopt for any other store.
std::optional<std::string> LocalDirectory(const std::shared_ptr<Store>& store,
                                          const std::string& node) {
  const auto* local = dynamic_cast<const LocalStore*>(store.get());
  if (local == nullptr) return std::nullopt;
  return node.empty() ? local->root() : local->root() + "/" + node;
}

// Refuses a source tree holding a symbolic link (to a file or a directory) that resolves outside
// the source store's root: converting would copy bytes that are not part of the store. Also
// refuses one that resolves into the destination directory `dst_dir` (when the destination is
// a LocalStore): the destination is erased and rewritten while the source is read through it.
// Walks the source directory without following directory links; dangling links read as missing
// and are allowed.
Status CheckSourceLinks(const LocalStore& store, const std::string& node,
                        const std::optional<std::string>& dst_dir) {
  ASSIGN_OR_RETURN(fs::path root, ResolvedPath(store.root()));
  std::optional<fs::path> dst;
  if (dst_dir) {
    ASSIGN_OR_RETURN(dst, ResolvedPath(*dst_dir));
  }
  const fs::path start = node.empty() ? fs::path(store.root()) : fs::path(store.root()) / node;
  std::error_code ec;
  auto check = [&](const fs::path& entry) -> Status {
    std::error_code lec;
    if (!fs::is_symlink(fs::symlink_status(entry, lec)) || lec) return Status::OK();
    const fs::path target = fs::canonical(entry, lec);
    if (lec) return Status::OK();  // dangling: reads as missing
    const std::string key = entry.lexically_relative(store.root()).generic_string();
    if (dst && IsWithin(target, *dst)) {
      return Status::InvalidArgument("convert: source key '" + key + "' is a symbolic link to '" +
                                     target.string() + "', inside the destination '" +
                                     dst->string() + "'; nothing was written");
    }
    if (IsWithin(target, root)) return Status::OK();
    return Status::FailedPrecondition("convert: source key '" + key + "' is a symbolic link to '" +
                                      target.string() + "', outside the source root '" +
                                      root.string() +
                                      "'; refusing to copy data from outside the source");
  };
  if (!fs::exists(fs::symlink_status(start, ec))) return Status::OK();
  RETURN_IF_ERROR(check(start));
  if (!fs::is_directory(start, ec)) return Status::OK();
  fs::recursive_directory_iterator it(start, fs::directory_options::none, ec);
  if (ec) {
    return Status::IOError("convert: cannot walk '" + start.string() + "': " + ec.message());
  }
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    RETURN_IF_ERROR(check(it->path()));
  }
  if (ec) {
    return Status::IOError("convert: cannot walk '" + start.string() + "': " + ec.message());
  }
  return Status::OK();
}

// Refuses a destination that is the source, lies inside it or contains it, before anything is
// written: converting would erase (overwrite) or grow the source while reading it. Nodes of one
// store compare by node path; LocalStore locations (of one store or two) also by resolved file
// system path, which sees a node directory that is a link to another.
Status CheckDistinctNodes(const std::shared_ptr<Store>& src, const std::string& src_root,
                          const std::shared_ptr<Store>& dst, const std::string& dst_root) {
  if (src == dst) {
    const std::string why = Overlap(src_root, dst_root, /*within_is_path=*/false);
    if (!why.empty()) {
      return Status::InvalidArgument("convert: destination '/" + dst_root + "' in " +
                                     dst->description() + " " + why + " '/" + src_root + "'");
    }
  }
  const std::optional<std::string> src_dir = LocalDirectory(src, src_root);
  const std::optional<std::string> dst_dir = LocalDirectory(dst, dst_root);
  if (src_dir && dst_dir) return CheckDisjointDirectories(*src_dir, *dst_dir);
  return Status::OK();
}

}  // namespace

Status CheckDisjointDirectories(std::string_view source_dir, std::string_view destination_dir) {
  ASSIGN_OR_RETURN(fs::path src, ResolvedPath(fs::path(std::string(source_dir))));
  ASSIGN_OR_RETURN(fs::path dst, ResolvedPath(fs::path(std::string(destination_dir))));
  std::string why = Overlap(src.string(), dst.string(), /*within_is_path=*/true);
  if (why.empty()) why = OverlapByIdentity(src, dst);
  if (why.empty()) return Status::OK();
  return Status::InvalidArgument("convert: destination '" + std::string(destination_dir) + "' (" +
                                 dst.string() + ") " + why + " '" + std::string(source_dir) +
                                 "' (" + src.string() + "); nothing was written");
}

Result<ArrayMetadata> ConvertedArrayMetadata(const ArrayMetadata& source,
                                             const ConvertOptions& options,
                                             std::string_view where) {
  const int format = options.zarr_format.value_or(source.zarr_format);
  if (format != 2 && format != 3) {
    return Status::InvalidArgument(std::string(where) + ": zarr_format " + std::to_string(format) +
                                   " is not 2 or 3");
  }
  ArrayMetadata t = source;
  t.zarr_format = format;
  const std::optional<ShardingParts> sharded = AsSharded(source.codecs);
  if (options.chunk_grid && (options.chunks || options.shards || options.unshard)) {
    return Status::InvalidArgument(std::string(where) +
                                   ": chunk_grid excludes chunks, shards and unshard");
  }
  // A regular chunk shape given for the target replaces a rectilinear source grid.
  if (options.chunks || options.shards || (options.unshard && sharded)) t.rectilinear.reset();
  if (options.chunk_grid) {
    if (options.chunk_grid->rank() != source.rank()) {
      return Status::InvalidArgument(std::string(where) + ": chunk_grid has rank " +
                                     std::to_string(options.chunk_grid->rank()) +
                                     ", the array has rank " + std::to_string(source.rank()));
    }
    t.rectilinear = *options.chunk_grid;
    for (size_t d = 0; d < t.rank(); ++d) t.chunk_shape[d] = t.rectilinear->MaxLength(d);
  }
  if (t.rectilinear && format == 2) {
    return Status::Unsupported(std::string(where) +
                               ": a rectilinear chunk grid has no zarr_format 2 form; give a "
                               "regular chunk shape (chunks)");
  }
  if (options.unshard && options.shards) {
    return Status::InvalidArgument(std::string(where) +
                                   ": unshard and shards exclude each other (shards " +
                                   ShapeText(*options.shards) + ")");
  }
  if (options.unshard && sharded) {
    const std::vector<uint64_t> chunks = options.chunks ? *options.chunks : sharded->inner_chunks;
    RETURN_IF_ERROR(CheckRank(chunks, source, "chunks", where));
    t.chunk_shape = chunks;
    t.codecs = options.codecs ? **options.codecs : sharded->inner_codecs;
  } else if (options.shards) {
    const std::vector<uint64_t> inner =
        options.chunks ? *options.chunks : (sharded ? sharded->inner_chunks : source.chunk_shape);
    RETURN_IF_ERROR(CheckRank(inner, source, "chunks", where));
    RETURN_IF_ERROR(CheckRank(*options.shards, source, "shards", where));
    for (size_t d = 0; d < inner.size(); ++d) {
      if ((*options.shards)[d] % inner[d] != 0) {
        return Status::InvalidArgument(std::string(where) + ": shards " +
                                       ShapeText(*options.shards) +
                                       " is not a multiple of the chunk shape " + ShapeText(inner) +
                                       " in dimension " + std::to_string(d));
      }
    }
    const Json inner_codecs =
        options.codecs ? **options.codecs : (sharded ? sharded->inner_codecs : *source.codecs);
    t.chunk_shape = *options.shards;
    t.codecs = Json::array(
        {{{"name", "sharding_indexed"},
          {"configuration",
           {{"chunk_shape", inner},
            {"codecs", inner_codecs},
            {"index_codecs",
             Json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
                          {{"name", "crc32c"}}})},
            {"index_location", "end"}}}}});
  } else {
    if (options.chunks) {
      RETURN_IF_ERROR(CheckRank(*options.chunks, source, "chunks", where));
      t.chunk_shape = *options.chunks;
    }
    if (options.codecs) t.codecs = *options.codecs;
  }
  if (options.codecs && (!(*options.codecs)->is_array() || (*options.codecs)->empty())) {
    return Status::InvalidArgument(std::string(where) + ": codecs " + (*options.codecs)->dump() +
                                   " is not a non-empty list of codecs");
  }

  if (format == 2) {
    if (source.zarr_format != 2) {
      // v3 -> v2: the separator stays; fields v2 has no place for are dropped.
      t.chunk_key_encoding =
          ChunkKeyEncoding{ChunkKeyEncoding::Kind::kV2, source.chunk_key_encoding.separator};
      // Dimension names travel as the _ARRAY_DIMENSIONS attribute (V2AttributesOf), which
      // names every dimension: names with a gap are dropped.
      if (t.dimension_names && std::any_of(t.dimension_names->begin(), t.dimension_names->end(),
                                           [](const auto& n) { return !n.has_value(); })) {
        t.dimension_names.reset();
      }
      t.extra_fields = Json::object();
      t.fill_value_null = false;
    }
    return internal::NormalizeV2ArrayMetadata(std::move(t), where);
  }
  if (source.zarr_format == 2) {
    // v2 -> v3: the v3 default chunk key encoding; a null fill value becomes the zero it reads as.
    t.chunk_key_encoding = ChunkKeyEncoding{};
    t.fill_value_null = false;
    // The names read from _ARRAY_DIMENSIONS become dimension_names; the attribute goes.
    if (t.dimension_names && t.attributes->is_object()) {
      t.attributes->erase(std::string(internal::kArrayDimensionsAttribute));
    }
  }
  RETURN_IF_ERROR(t.Validate(where));
  return ArrayMetadata::FromJson(t.ToJson(), where);
}

namespace {

Result<ConvertReport> ConvertUnguarded(std::shared_ptr<Store> src, std::string_view src_path,
                                       std::shared_ptr<Store> dst, std::string_view dst_path,
                                       const ConvertOptions& options) {
  if (!src || !dst) return Status::InvalidArgument("Convert: null store");
  ASSIGN_OR_RETURN(std::string src_root, NormalizeNodePath(src_path));
  ASSIGN_OR_RETURN(std::string dst_root, NormalizeNodePath(dst_path));
  const std::shared_ptr<Executor> executor =
      options.executor ? options.executor : DefaultExecutor();
  RETURN_IF_ERROR(CheckDistinctNodes(src, src_root, dst, dst_root));
  if (const auto* local = dynamic_cast<const LocalStore*>(src.get())) {
    RETURN_IF_ERROR(CheckSourceLinks(*local, src_root, LocalDirectory(dst, dst_root)));
  }

  ASSIGN_OR_RETURN(SourceTree tree, FindNodes(*src, src_root));
  if (tree.nodes.empty()) {
    return Status::NotFound("convert: no Zarr node (zarr.json, .zarray or .zgroup) at or under '/" +
                            src_root + "' in " + src->description());
  }

  // Per-array options name arrays of the source: anything else is refused before any write.
  std::map<std::string, ArrayConvertOptions> per_array;
  for (const auto& [key, o] : options.arrays) {
    ASSIGN_OR_RETURN_CTX(std::string rel, NormalizeNodePath(key), "convert: per-array options");
    const auto node = tree.nodes.find(rel);
    if (node == tree.nodes.end()) {
      return Status::InvalidArgument("convert: per-array options name '/" + rel +
                                     "', which is no node under '/" + src_root + "' in " +
                                     src->description() + "; nothing was written");
    }
    if (!node->second.is_array && node->second.error.ok()) {
      return Status::InvalidArgument("convert: per-array options name '/" + rel +
                                     "', which is a group; nothing was written");
    }
    // Keys that normalise to the same path merge, field by field.
    ArrayConvertOptions& merged = per_array[rel];
    if (o.chunks) merged.chunks = o.chunks;
    if (o.shards) merged.shards = o.shards;
    if (o.codecs) merged.codecs = o.codecs;
    if (o.unshard) merged.unshard = o.unshard;
  }

  CancelCheck cancelled(options.cancel);
  ProgressReporter progress(options.progress);
  ConvertReport report;
  // Every readable source node's metadata is mapped (and the target chain built) before anything
  // is written, so options the target cannot express stop the conversion with an untouched
  // destination. A node that cannot be read is a result, not a stop: it is reported and the
  // others are converted.
  struct Plan {
    std::string rel;
    bool is_array = false;
    int format = 3;
    std::shared_ptr<Array> source;
    ArrayMetadata target;
    std::shared_ptr<Array> target_array;
    GroupMetadata group;
    bool implied = false;
    size_t result = 0;  // index in report.nodes (not for implied groups)
  };
  std::vector<Plan> plans;
  std::set<std::string> present;
  for (const auto& [rel, node] : tree.nodes) {
    present.insert(rel);
    report.nodes.push_back(ConvertNodeResult{rel, node.is_array, node.error});
    if (!node.error.ok()) continue;
    ConvertNodeResult& result = report.nodes.back();
    Plan p;
    p.rel = rel;
    p.is_array = node.is_array;
    p.format = options.zarr_format.value_or(node.zarr_format);
    p.result = report.nodes.size() - 1;
    const std::string where = "array '/" + rel + "'";
    if (node.is_array) {
      ArrayOptions read_options;
      read_options.executor = executor;
      auto opened = Array::Open(src, Join(src_root, rel), read_options);
      if (!opened.ok()) {
        result.error = opened.status();
        continue;
      }
      p.source = std::move(*opened);
      // A directory at a chunk key (or a value where a directory of chunks belongs) would read as
      // missing chunks and be converted to fill values.
      result.error = CheckChunkKeyLayout(*p.source, tree.keys);
      if (!result.error.ok()) continue;
      ConvertOptions array_options;
      array_options.zarr_format = options.zarr_format;
      array_options.chunks = options.chunks;
      array_options.shards = options.shards;
      array_options.codecs = options.codecs;
      array_options.unshard = options.unshard;
      array_options.chunk_grid = options.chunk_grid;
      if (const auto o = per_array.find(rel); o != per_array.end()) {
        if (o->second.chunks) array_options.chunks = o->second.chunks;
        if (o->second.shards) array_options.shards = o->second.shards;
        if (o->second.codecs) array_options.codecs = o->second.codecs;
        if (o->second.unshard) array_options.unshard = *o->second.unshard;
      }
      ASSIGN_OR_RETURN_CTX(
          p.target, ConvertedArrayMetadata(p.source->metadata(), array_options, where), "convert");
      ArrayOptions ao;
      ao.executor = executor;
      // zarr-python 2 leaves missing chunks of a null-fill array uninitialised: store them all.
      ao.write_empty_chunks = p.target.zarr_format == 2 && p.target.fill_value_null;
      ASSIGN_OR_RETURN_CTX(p.target_array, Array::Attach(dst, Join(dst_root, rel), p.target, ao),
                           "convert: " + where);
    } else {
      Status read;
      if (node.zarr_format == 2) {
        auto g = internal::ReadV2GroupMetadata(*src, Join(src_root, rel));
        read = g.status();
        if (g.ok() && *g) p.group = std::move(**g);
      } else {
        const std::string key = MetadataKeyFor(Join(src_root, rel));
        auto doc = src->get(key);
        read = doc.status();
        if (doc.ok() && *doc) {
          auto g = GroupMetadata::Parse(AsString(**doc), key);
          read = g.status();
          if (g.ok()) p.group = std::move(*g);
        }
      }
      if (!read.ok()) {
        result.error = read;
        continue;
      }
      p.group.zarr_format = p.format;
      p.group.extra_fields = Json::object();  // consolidated metadata would be stale
    }
    plans.push_back(std::move(p));
  }
  // Ancestors of every node that the source leaves implicit become groups (v2 requires them). A
  // node that failed is not one of them: nothing is written in its place.
  for (const auto& [rel, node] : tree.nodes) {
    for (size_t pos = rel.find('/');; pos = rel.find('/', pos + 1)) {
      const std::string ancestor = pos == std::string::npos ? "" : rel.substr(0, pos);
      if (!rel.empty() && !present.contains(ancestor)) {
        present.insert(ancestor);
        Plan p;
        p.rel = ancestor;
        p.format = options.zarr_format.value_or(node.zarr_format);
        p.group.zarr_format = p.format;
        p.implied = true;
        plans.push_back(std::move(p));
      }
      if (pos == std::string::npos) break;
    }
  }

  // Cancelled while planning: nothing has been written or erased yet.
  if (cancelled()) return CancelCheck::Error("");
  const std::string dst_prefix = dst_root.empty() ? "" : dst_root + "/";
  ASSIGN_OR_RETURN(std::vector<std::string> existing, dst->list_prefix(dst_prefix));
  ASSIGN_OR_RETURN(bool dst_node, internal::NodeExists(*dst, dst_root));
  if (!existing.empty() || dst_node) {
    if (!options.overwrite) {
      return Status::FailedPrecondition(
          "convert: destination '/" + dst_root + "' in " + dst->description() + " is not empty (" +
          std::to_string(existing.size()) + " keys" +
          (existing.empty() ? "" : ", e.g. '" + existing.front() + "'") +
          "); pass overwrite to replace it");
    }
    RETURN_IF_ERROR(dst->erase_prefix(dst_prefix));
  }
  if (plans.empty()) return report;  // every node failed: each is reported

  std::sort(plans.begin(), plans.end(), [](const Plan& a, const Plan& b) { return a.rel < b.rel; });
  {
    uint64_t bytes = 0, chunks = 0;
    for (const Plan& p : plans) {
      if (!p.is_array) continue;
      const auto [b, c] = CopyVolume(p.target);
      bytes += b;
      chunks += c;
    }
    progress.SetTotals(bytes, chunks, plans.size());
  }
  // Missing ancestors of the destination become groups too (v2 requires them), in the format of
  // the converted root (or, when the root failed, of the first node converted).
  if (!dst_root.empty()) {
    const Plan& first = plans.front();
    const int format = first.is_array ? first.target.zarr_format : first.group.zarr_format;
    std::vector<std::string> ancestors = {""};
    for (size_t pos = dst_root.find('/'); pos != std::string::npos;
         pos = dst_root.find('/', pos + 1)) {
      ancestors.push_back(dst_root.substr(0, pos));
    }
    for (const std::string& ancestor : ancestors) {
      ASSIGN_OR_RETURN(bool exists, internal::NodeExists(*dst, ancestor));
      if (exists) continue;
      GroupMetadata g;
      g.zarr_format = format;
      if (format == 2) {
        RETURN_IF_ERROR(internal::WriteV2GroupMetadata(*dst, ancestor, g));
      } else {
        RETURN_IF_ERROR(dst->set(MetadataKeyFor(ancestor), AsBytes(g.ToJson().dump(2))));
      }
      ++report.groups;
    }
  }
  // Plans run in path order, so a node is written before anything below it and erasing a failed
  // node's prefix never reaches a node converted earlier.
  for (Plan& p : plans) {
    // Cancellation stops between nodes and, inside an array, between chunks: the nodes written
    // so far are complete, the array being copied is erased below like any failed one.
    if (cancelled()) return CancelCheck::Error("");
    const std::string path = Join(dst_root, p.rel);
    Status written;
    uint64_t chunks_before = 0, bytes_before = 0;
    if (!p.is_array) {
      if (p.format == 2) {
        written = internal::WriteV2GroupMetadata(*dst, path, p.group);
      } else {
        written = dst->set(MetadataKeyFor(path), AsBytes(p.group.ToJson().dump(2)));
      }
      if (written.ok()) {
        ++report.groups;
      } else {
        // .zgroup may stand without its .zattrs: the node must not look complete.
        written = written.WithContext("writing group '/" + path + "'");
        Status erased = EraseGroupDocuments(*dst, path);
        if (!erased.ok()) {
          written = Status(written.code(),
                           written.message() +
                               "; erasing its partial documents failed too: " + erased.ToString());
        }
      }
    } else {
      // Contents first, metadata last: until its metadata is written the destination node is no
      // array, and a failure erases what was written under it.
      progress.StartArray(p.rel);
      chunks_before = progress.chunks_done();
      bytes_before = progress.bytes_done();
      written = CopyContents(*p.source, *p.target_array, *executor, options.max_buffer_bytes,
                             cancelled, progress, report.chunks_copied,
                             RawCopyApplies(*p.source, *p.target_array, options));
      if (written.ok()) {
        written = internal::WriteArrayMetadataDocuments(*dst, path, p.target_array->metadata())
                      .WithContext("writing array '/" + path + "'");
      }
      if (written.ok()) {
        ++report.arrays;
      } else {
        Status erased = dst->erase_prefix(path.empty() ? "" : path + "/");
        if (!erased.ok()) {
          written = Status(written.code(), written.message() +
                                               "; erasing its partial destination failed too: " +
                                               erased.ToString());
        }
      }
    }
    if (p.is_array) {
      const auto [bytes, chunks] = CopyVolume(p.target);
      progress.NodeDone(bytes - std::min(bytes, progress.bytes_done() - bytes_before),
                        chunks - std::min(chunks, progress.chunks_done() - chunks_before));
    } else {
      progress.NodeDone(0, 0);
    }
    if (!written.ok() && !p.implied) {
      report.nodes[p.result].error = written;
    } else if (!written.ok()) {
      report.nodes.push_back(ConvertNodeResult{p.rel, false, written});
    }
  }
  // A copy stopped by cancellation (its array erased above) ends the call, not just that node.
  if (cancelled.fired()) return CancelCheck::Error("");
  std::sort(report.nodes.begin(), report.nodes.end(),
            [](const ConvertNodeResult& a, const ConvertNodeResult& b) { return a.path < b.path; });
  return report;
}

}  // namespace

Result<ConvertReport> Convert(std::shared_ptr<Store> src, std::string_view src_path,
                              std::shared_ptr<Store> dst, std::string_view dst_path,
                              const ConvertOptions& options) {
  return internal::Guard("convert", [&] {
    return ConvertUnguarded(std::move(src), src_path, std::move(dst), dst_path, options);
  });
}

uint64_t ConvertReport::failed() const {
  uint64_t n = 0;
  for (const ConvertNodeResult& r : nodes) n += r.error.ok() ? 0 : 1;
  return n;
}

}  // namespace zarrpp
