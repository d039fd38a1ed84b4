// zarrpp - command-line tool over Zarr hierarchies, local or in object storage.
//
// Every PATH, SRC and DST is a path or a store URL (zarrpp/open_store.h): file:///dir,
// s3://bucket/prefix (endpoint, region and credentials from the AWS_* variables, or the URL's
// ?endpoint=&region=&addressing= parameters), http(s)://host/path (read-only), memory://.
//
//   zarrpp info PATH              node type, shape, data type, chunks, codecs, stored bytes, chunks
//                                 (stored bytes and children need a store that can list)
//   zarrpp digest PATH [--json]   SHA-256 of every array under PATH (see zarrpp/digest.h); an
//                                 array that cannot be read is reported and the rest digested,
//                                 the exit status then being 1
//   zarrpp convert SRC DST [--zarr-format 2|3] [--chunks a,b,...] [--shards a,b,...]
//                  [--codecs JSON] [--overwrite]
//                                 re-encode every array and group under SRC into DST
//                                 (see zarrpp/convert.h); DST equal to, inside or containing SRC
//                                 is refused before anything is written; a node that cannot be
//                                 read is reported and the rest converted, the exit status then
//                                 being 1
//   zarrpp clean PATH [--older-than SECONDS]
//                                 remove temporaries that crashed writers left under PATH
//                                 (default: older than 3600 s; local directories only)
//   zarrpp consolidate PATH|URL   write the consolidated metadata of the group at PATH (its
//                                 zarr.json's consolidated_metadata, or .zmetadata for v2)
#include <charconv>
#include <chrono>
#include <cstdio>
#include <exception>
#include <iostream>
#include <new>
#include <string>
#include <vector>

#include "zarrpp/array.h"
#include "zarrpp/convert.h"
#include "zarrpp/digest.h"
#include "zarrpp/group.h"
#include "zarrpp/local_store.h"
#include "zarrpp/open_store.h"
#include "zarrpp/version.h"

namespace {

using zarrpp::Json;

constexpr const char* kUsage =
    "usage:\n"
    "  zarrpp info PATH\n"
    "  zarrpp digest PATH [--json]\n"
    "  zarrpp convert SRC DST [--zarr-format 2|3] [--chunks a,b,...]\n"
    "                 [--shards a,b,...] [--codecs JSON] [--overwrite]\n"
    "  zarrpp clean PATH [--older-than SECONDS]\n"
    "  zarrpp consolidate PATH\n"
    "  zarrpp --help | --version\n";

// Bad usage: the usage on stderr, exit status 2.
int Usage() {
  std::fputs(kUsage, stderr);
  return 2;
}

// Asked-for help: the usage on stdout, exit status 0.
int Help() {
  std::printf("zarrpp %s - Zarr v3 and v2 hierarchies from the command line\n\n%s",
              zarrpp::Version(), kUsage);
  return 0;
}

int Fail(const zarrpp::Status& s) {
  std::fprintf(stderr, "zarrpp: %s\n", s.ToString().c_str());
  return 1;
}

std::string ShapeString(const std::vector<uint64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// The store at a path or URL, never creating anything.
zarrpp::Result<std::shared_ptr<zarrpp::Store>> OpenExisting(const std::string& path) {
  return zarrpp::OpenStore(path);
}

int Info(const std::string& path) {
  auto store = OpenExisting(path);
  if (!store.ok()) return Fail(store.status());
  const bool listable = (*store)->capabilities().listable;
  auto doc = (*store)->get("zarr.json");
  if (!doc.ok()) return Fail(doc.status());
  if (!doc->has_value() && listable) {
    // A directory standing where the document belongs reads as absent: say which it is.
    auto below = (*store)->list_prefix("zarr.json/");
    if (!below.ok()) return Fail(below.status());
    if (!below->empty()) {
      return Fail(zarrpp::Status::Corruption(path + "/zarr.json is a directory (holding '" +
                                             below->front() +
                                             "') where a metadata document belongs"));
    }
  }
  // The node as the Group API sees it: zarr.json, else Zarr v2's .zgroup or .zarray.
  zarrpp::NodeOptions node_options;
  node_options.use_consolidated = false;
  auto node = zarrpp::OpenNode(*store, "", node_options);
  if (!node.ok()) {
    if (node.status().IsNotFound()) {
      return Fail(zarrpp::Status::NotFound(path + ": no zarr.json, .zgroup or .zarray"));
    }
    return Fail(node.status());
  }
  if (node->is_group()) {
    const zarrpp::GroupMetadata g = node->group->metadata();
    std::printf("node_type: group\n");
    std::printf("zarr_format: %d\n", g.zarr_format);
    std::printf("attributes: %s\n", g.attributes.dump().c_str());
    auto zmetadata = (*store)->exists(".zmetadata");
    if (!zmetadata.ok()) return Fail(zmetadata.status());
    const bool consolidated = g.zarr_format == 2
                                  ? *zmetadata
                                  : g.extra_fields.contains(zarrpp::kConsolidatedMetadataField);
    std::printf("consolidated: %s\n", consolidated ? "yes" : "no");
    if (!listable) {
      std::printf("children: unknown (%s cannot list keys)\n", (*store)->description().c_str());
      return 0;
    }
    auto listing = (*store)->list_dir("");
    if (!listing.ok()) return Fail(listing.status());
    std::printf("children: %zu\n", listing->prefixes.size());
    for (const std::string& p : listing->prefixes) std::printf("  %s\n", p.c_str());
    return 0;
  }
  const std::shared_ptr<zarrpp::Array> array = node->array;
  const zarrpp::ArrayMetadata& m = array->metadata();
  const uint64_t logical = [&] {
    uint64_t n = m.data_type.size();
    for (uint64_t s : m.shape) n *= s;
    return n;
  }();
  std::printf("node_type: array\n");
  std::printf("zarr_format: %d\n", m.zarr_format);
  std::printf("shape: %s\n", ShapeString(m.shape).c_str());
  std::printf("data_type: %s%s\n", m.data_type.name().c_str(),
              m.data_type.is_time()
                  ? (" [" + std::to_string(m.data_type.scale_factor()) + " " +
                     std::string(zarrpp::TimeUnitName(m.data_type.time_unit())) + "]")
                        .c_str()
                  : "");
  if (m.dimension_names) {
    std::string names;
    for (const auto& n : *m.dimension_names) names += (names.empty() ? "" : ", ") + n.value_or("-");
    std::printf("dimension_names: [%s]\n", names.c_str());
  }
  std::printf("chunks: %s\n", ShapeString(m.chunk_shape).c_str());
  std::printf("codecs: %s\n", m.codecs.dump().c_str());
  std::printf("fill_value: %s\n", m.fill_value.ToJson(m.data_type).dump().c_str());
  if (!listable) {
    std::printf("stored_bytes: unknown (%s cannot list keys)\n", (*store)->description().c_str());
    std::printf("logical_bytes: %llu\n", static_cast<unsigned long long>(logical));
    return 0;
  }
  auto keys = (*store)->list();
  if (!keys.ok()) return Fail(keys.status());
  uint64_t stored = 0, chunks = 0;
  for (const std::string& k : *keys) {
    if (k == "zarr.json" || k == ".zarray" || k == ".zattrs") continue;
    auto coords = m.chunk_key_encoding.DecodeKey(k, m.rank());
    if (!coords.ok()) continue;
    auto size = (*store)->size(k);
    if (!size.ok()) return Fail(size.status());
    if (*size) {
      stored += **size;
      ++chunks;
    }
  }
  std::printf("stored_bytes: %llu\n", static_cast<unsigned long long>(stored));
  std::printf("logical_bytes: %llu\n", static_cast<unsigned long long>(logical));
  std::printf("chunks_stored: %llu\n", static_cast<unsigned long long>(chunks));
  // Damage that reads would take for missing chunks is reported, after what could be shown.
  zarrpp::Status layout = zarrpp::CheckChunkKeyLayout(*array, *keys);
  if (!layout.ok()) return Fail(layout);
  return 0;
}

int Digest(const std::string& path, bool json) {
  auto store = OpenExisting(path);
  if (!store.ok()) return Fail(store.status());
  auto entries = zarrpp::DigestTree(*store, "");
  if (!entries.ok()) return Fail(entries.status());
  // Every array that could not be read is reported (on stderr, and under "errors" with --json);
  // the others are still digested, and the exit status tells that some failed.
  size_t failed = 0;
  Json arrays = Json::array();
  Json errors = Json::array();
  for (const auto& e : *entries) {
    const std::string shown = e.path.empty() ? "." : e.path;
    if (!e.error.ok()) {
      ++failed;
      std::fprintf(stderr, "zarrpp: digest of '%s' failed: %s\n", shown.c_str(),
                   e.error.ToString().c_str());
      if (json) errors.push_back({{"path", e.path}, {"error", e.error.ToString()}});
      continue;
    }
    if (json) {
      arrays.push_back(
          {{"path", e.path}, {"data_type", e.data_type}, {"shape", e.shape}, {"sha256", e.sha256}});
    } else {
      std::printf("%s  %s %s %s\n", e.sha256.c_str(), shown.c_str(), e.data_type.c_str(),
                  ShapeString(e.shape).c_str());
    }
  }
  if (json) {
    Json out{{"arrays", arrays}};
    if (failed) out["errors"] = errors;
    std::cout << out.dump() << "\n";
  }
  if (failed) {
    std::fprintf(stderr, "zarrpp: %zu of %zu nodes could not be digested\n", failed,
                 entries->size());
    return 1;
  }
  return 0;
}

// "a,b,c" -> {a, b, c}; "" -> {} (a 0-d shape).
zarrpp::Result<std::vector<uint64_t>> ParseShapeArg(const std::string& flag,
                                                    const std::string& text) {
  std::vector<uint64_t> out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t j = std::min(text.find(',', i), text.size());
    const std::string part = text.substr(i, j - i);
    if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos) {
      return zarrpp::Status::InvalidArgument(flag + " '" + text + "': '" + part +
                                             "' is not a positive integer");
    }
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (ec != std::errc() || end != part.data() + part.size()) {
      return zarrpp::Status::InvalidArgument(flag + " '" + text + "': '" + part +
                                             "' does not fit in 64 bits");
    }
    out.push_back(v);
    i = j + 1;
  }
  return out;
}

int Convert(const std::vector<std::string>& args) {
  if (args.size() < 3) return Usage();
  zarrpp::ConvertOptions options;
  for (size_t i = 3; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (flag == "--overwrite") {
      options.overwrite = true;
      continue;
    }
    if (i + 1 >= args.size()) return Usage();
    const std::string& value = args[++i];
    if (flag == "--zarr-format") {
      if (value != "2" && value != "3") {
        return Fail(zarrpp::Status::InvalidArgument("--zarr-format '" + value + "' is not 2 or 3"));
      }
      options.zarr_format = value == "2" ? 2 : 3;
    } else if (flag == "--chunks" || flag == "--shards") {
      auto shape = ParseShapeArg(flag, value);
      if (!shape.ok()) return Fail(shape.status());
      (flag == "--chunks" ? options.chunks : options.shards) = std::move(*shape);
    } else if (flag == "--codecs") {
      auto j = zarrpp::ParseJson(value, "--codecs");
      if (!j.ok()) return Fail(j.status());
      options.codecs = std::move(*j);
    } else {
      return Usage();
    }
  }
  auto src = OpenExisting(args[1]);
  if (!src.ok()) return Fail(src.status());
  auto src_dir = zarrpp::LocalPathOf(args[1]);
  if (!src_dir.ok()) return Fail(src_dir.status());
  auto dst_dir = zarrpp::LocalPathOf(args[2]);
  if (!dst_dir.ok()) return Fail(dst_dir.status());
  // Before a local destination directory is created: it must not be (an alias of) the source,
  // lie inside it or contain it. Convert checks again on the opened stores.
  if (*src_dir && *dst_dir) {
    zarrpp::Status distinct = zarrpp::CheckDisjointDirectories(**src_dir, **dst_dir);
    if (!distinct.ok()) return Fail(distinct);
  }
  zarrpp::OpenStoreOptions create;
  create.create = true;  // a local destination directory is made
  auto dst = zarrpp::OpenStore(args[2], create);
  if (!dst.ok()) return Fail(dst.status());
  auto report = zarrpp::Convert(*src, "", *dst, "", options);
  if (!report.ok()) return Fail(report.status());
  // Every node that could not be converted is reported; the others were, and the exit status
  // tells that some failed.
  for (const zarrpp::ConvertNodeResult& n : report->nodes) {
    if (n.error.ok()) continue;
    std::fprintf(stderr, "zarrpp: convert of '%s' failed: %s\n",
                 n.path.empty() ? "." : n.path.c_str(), n.error.ToString().c_str());
  }
  std::printf("converted %llu arrays, %llu groups, %llu chunks\n",
              static_cast<unsigned long long>(report->arrays),
              static_cast<unsigned long long>(report->groups),
              static_cast<unsigned long long>(report->chunks_copied));
  if (const uint64_t failed = report->failed()) {
    std::fprintf(stderr, "zarrpp: %llu of %zu nodes could not be converted\n",
                 static_cast<unsigned long long>(failed), report->nodes.size());
    return 1;
  }
  return 0;
}

// LocalStore::RemoveStaleTemporaries when this build's LocalStore has it, else Unsupported.
template <typename S>
zarrpp::Result<uint64_t> RemoveStaleTemporaries(S& store, std::chrono::seconds older_than) {
  if constexpr (requires { store.RemoveStaleTemporaries(older_than); }) {
    return store.RemoveStaleTemporaries(older_than);
  } else {
    return zarrpp::Status::Unsupported("clean: this build's LocalStore (" + store.description() +
                                       ") cannot remove stale temporaries");
  }
}

int ConsolidateCommand(const std::string& path) {
  auto store = OpenExisting(path);
  if (!store.ok()) return Fail(store.status());
  zarrpp::Status s = zarrpp::Consolidate(*store, "");
  if (!s.ok()) return Fail(s);
  return 0;
}

int Clean(const std::vector<std::string>& args) {
  if (args.size() != 2 && args.size() != 4) return Usage();
  std::chrono::seconds older_than(3600);
  if (args.size() == 4) {
    if (args[2] != "--older-than") return Usage();
    const std::string& v = args[3];
    if (v.empty() || v.size() > 12 || v.find_first_not_of("0123456789") != std::string::npos) {
      return Fail(
          zarrpp::Status::InvalidArgument("--older-than '" + v + "' is not a number of seconds"));
    }
    older_than = std::chrono::seconds(std::stoll(v));
  }
  zarrpp::LocalStoreOptions o;
  o.create = false;
  o.remove_stale_temporaries_after = std::chrono::seconds(0);  // this command does it, and counts
  auto dir = zarrpp::LocalPathOf(args[1]);
  if (!dir.ok()) return Fail(dir.status());
  if (!*dir) {
    return Fail(zarrpp::Status::InvalidArgument(
        "clean: '" + args[1].substr(0, args[1].find("://") + 3) +
        "...' is not a local directory; only local stores keep temporaries"));
  }
  auto store = zarrpp::LocalStore::Open(**dir, o);
  if (!store.ok()) return Fail(store.status());
  auto removed = RemoveStaleTemporaries(**store, older_than);
  if (!removed.ok()) return Fail(removed.status());
  std::printf("removed %llu stale temporaries\n", static_cast<unsigned long long>(*removed));
  return 0;
}

}  // namespace

int Run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return Usage();
  if (args[0] == "--version" || args[0] == "version") {
    std::printf("zarrpp %s\n", zarrpp::Version());
    return 0;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") return Help();
  if (args[0] == "info" && args.size() == 2) return Info(args[1]);
  if (args[0] == "digest" && (args.size() == 2 || (args.size() == 3 && args[2] == "--json"))) {
    return Digest(args[1], args.size() == 3);
  }
  if (args[0] == "convert") return Convert(args);
  if (args[0] == "clean") return Clean(args);
  if (args[0] == "consolidate" && args.size() == 2) return ConsolidateCommand(args[1]);
  return Usage();
}

// No exception ends the process: whatever escapes the library or the argument handling is
// reported like any other error.
int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "zarrpp: IOError: out of memory\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "zarrpp: IOError: unexpected error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "zarrpp: IOError: unexpected error\n");
  }
  return 1;
}
