// zarrpp - command-line tool over Zarr hierarchies, local or in object storage.
//
// Every PATH, SRC and DST is a path or a store URL (zarrpp/open_store.h): file:///dir,
// s3://bucket/prefix (endpoint, region and credentials from the AWS_* variables, or the URL's
// ?endpoint=&region=&addressing= parameters), http(s)://host/path (read-only), memory://.
// Each subcommand documents itself (`zarrpp CMD --help`, the CommandSpec tables below); the user
// guide is docs/cli.md. Exit status: 0 success, 1 failure or problems found, 2 bad usage.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include "src/hierarchy/hierarchy_internal.h"
#include "src/tools/cli/args.h"
#include "src/tools/cli/scan.h"
#include "zarrpp/array.h"
#include "zarrpp/convert.h"
#include "zarrpp/digest.h"
#include "zarrpp/group.h"
#include "zarrpp/json.h"
#include "zarrpp/local_store.h"
#include "zarrpp/open_store.h"
#include "zarrpp/version.h"

namespace {

using zarrpp::Json;
using zarrpp::Result;
using zarrpp::Status;
using zarrpp::tools::CommandSpec;
using zarrpp::tools::OptionSpec;
using zarrpp::tools::ParsedArgs;
using zarrpp::tools::ScannedNode;
using zarrpp::tools::TreeScan;

// --- Descriptions ---------------------------------------------------------------------------

const char* const kPathNote =
    "PATH is a directory or a store URL: file:///dir, s3://bucket/prefix (credentials and\n"
    "endpoint from AWS_* variables or ?endpoint=&region=), http(s)://host/path (read-only),\n"
    "memory://.\n";

const std::vector<CommandSpec>& Commands() {
  static const std::vector<CommandSpec> commands = {
      {"info",
       "PATH [--json]",
       "describe one node: metadata, codecs, stored size; a group's whole tree",
       std::string(
           "For an array: format, shape, data type, chunk shape (and the inner chunk shape of a\n"
           "sharded array), chunk key encoding, fill value, dimension names, attributes, the\n"
           "codecs one per line, stored and logical bytes, compression ratio and the number of\n"
           "stored chunks. For a group: its format, attributes, whether it is consolidated, and a\n"
           "tree of every node below it with each array's shape, type and stored size.\n"
           "Exits 1 when a node cannot be read (after printing what could be read).\n\n") +
           kPathNote,
       {{"--json", "", "machine-readable output (schema in docs/cli.md)"}},
       {"zarrpp info data.zarr", "zarrpp info s3://bucket/data.zarr/temperature --json"},
       1,
       1},
      {"ls",
       "PATH [--recursive]",
       "list the nodes below a group with kind, shape, type, size and ratio",
       std::string(
           "One line per child of the group at PATH (the array itself when PATH is an array):\n"
           "kind, shape, data type, stored bytes, compression ratio (decoded bytes / stored\n"
           "chunk bytes) and path. Exits 1 when a node cannot be read.\n\n") +
           kPathNote,
       {{"--recursive", "", "list every node below PATH, not just the children"}},
       {"zarrpp ls data.zarr", "zarrpp ls data.zarr --recursive"},
       1,
       1},
      {"tree",
       "PATH",
       "the hierarchy below PATH as an indented tree",
       std::string(
           "Every node below PATH, indented by depth, with kind, shape, data type, stored bytes\n"
           "and compression ratio. Exits 1 when a node cannot be read.\n\n") +
           kPathNote,
       {},
       {"zarrpp tree data.zarr"},
       1,
       1},
      {"validate",
       "PATH [--jobs N]",
       "check every metadata document, chunk and shard index; report stray keys",
       std::string(
           "Reads and decodes everything under PATH: every metadata document (zarr.json,\n"
           ".zarray, .zgroup, .zattrs, .zmetadata), every stored chunk (a shard with its index\n"
           "and every inner chunk), and reports each key that cannot be read or decoded, and\n"
           "each key that belongs to no node (stray), then goes on. Exit status 0 when clean, 1\n"
           "when problems were found, 2 on bad usage.\n\n") +
           kPathNote,
       {{"--jobs", "N", "chunks decoded at once (default: 4)"}},
       {"zarrpp validate data.zarr", "zarrpp validate s3://bucket/data.zarr --jobs 16"},
       1,
       1},
      {"digest",
       "PATH [--json]",
       "SHA-256 of the contents of every array under PATH",
       std::string(
           "Prints 'SHA256  PATH DTYPE SHAPE' per array. The digest covers the logical contents\n"
           "(C order, little-endian, canonical NaN; see zarrpp/digest.h), so two copies of an\n"
           "array agree whatever their codecs, chunks or format. An array that cannot be read\n"
           "is reported and the others are still digested; the exit status is then 1.\n\n") +
           kPathNote,
       {{"--json", "",
         "{\"arrays\": [{path, data_type, shape, sha256}], \"errors\": [{path, error}]}"}},
       {"zarrpp digest data.zarr", "zarrpp digest data.zarr --json"},
       1,
       1},
      {"convert",
       "SRC DST [options]",
       "re-encode a hierarchy: format, chunks, shards, codecs",
       std::string(
           "Copies every group and array under SRC into DST, re-encoded as asked. DST equal\n"
           "to, inside or containing SRC, options an array cannot take and a non-empty DST\n"
           "(without --overwrite) are refused before anything is written, and a destination\n"
           "directory made for the call is removed again. A node that cannot be read is\n"
           "reported and the others are converted; the exit status is then 1.\n\n"
           "A progress line (bytes and chunks done, rate, ETA) is redrawn on stderr when it is a\n"
           "terminal; otherwise a plain line is printed every --progress-interval seconds.\n\n"
           "--plan FILE.json holds per-array options:\n"
           "  {\"arrays\": {\"temperature\": {\"chunks\": [1, 720, 1440], \"shards\": [24, 720, "
           "1440]},\n"
           "              \"lat\": {\"unshard\": true}}}\n"
           "(keys: chunks, shards, codecs, unshard); --chunks PATH=... given on the command\n"
           "line wins over the plan for that array.\n\n") +
           kPathNote,
       {{"--zarr-format", "2|3", "format of every written node (default: each node keeps its own)"},
        {"--chunks", "[PATH=]C0,C1,...",
         "chunk shape (inner chunk shape with --shards); with PATH= for that\narray only "
         "(repeatable)",
         true},
        {"--shards", "[PATH=]S0,S1,...",
         "shard shape, a multiple of the chunk shape; with PATH= for that\narray only "
         "(repeatable)",
         true},
        {"--codecs", "JSON", "replacement codec chain (a v3 JSON list)"},
        {"--unshard", "", "store sharded arrays unsharded (their inner chunks become chunks)"},
        {"--plan", "FILE.json", "per-array options (see above)"},
        {"--jobs", "N", "chunks copied at once (default: every core)"},
        {"--overwrite", "", "erase whatever is under DST first"},
        {"--quiet", "", "no progress output"},
        {"--progress-interval", "SECONDS",
         "seconds between progress lines when stderr is not a terminal\n(default 10)"}},
       {"zarrpp convert in.zarr out.zarr --zarr-format 3",
        "zarrpp convert in.zarr out.zarr --chunks 1,256,256 --shards 64,256,256",
        "zarrpp convert in.zarr out.zarr --chunks temperature=1,720,1440 --jobs 4",
        "zarrpp convert in.zarr out.zarr --unshard --quiet"},
       2,
       2},
      {"consolidate",
       "PATH",
       "write the consolidated metadata of a group",
       std::string(
           "Reads the metadata document of every node below the group at PATH and writes them\n"
           "into its zarr.json (consolidated_metadata) or, for Zarr v2, its .zmetadata, so that\n"
           "readers open the whole hierarchy with one request.\n\n") +
           kPathNote,
       {},
       {"zarrpp consolidate data.zarr"},
       1,
       1},
      {"clean",
       "PATH [--older-than SECONDS]",
       "remove temporaries that crashed writers left in a local directory",
       "Removes the temporary files of interrupted writes under the local directory PATH\n"
       "(other stores keep no temporaries). Only temporaries older than --older-than are\n"
       "touched, so writers still running are left alone.\n",
       {{"--older-than", "SECONDS", "minimum age of a temporary to remove (default 3600)"}},
       {"zarrpp clean data.zarr", "zarrpp clean data.zarr --older-than 600"},
       1,
       1},
      {"help",
       "[COMMAND]",
       "show the help of the tool or of one command",
       "Without COMMAND: the list of commands. With it: the same as 'zarrpp COMMAND --help'.\n",
       {},
       {"zarrpp help convert"},
       0,
       1},
      {"version",
       "",
       "print the version",
       "Prints 'zarrpp VERSION'.\n",
       {},
       {"zarrpp version"},
       0,
       0},
  };
  return commands;
}

const CommandSpec* FindCommand(const std::string& name) {
  for (const CommandSpec& c : Commands()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::string ToolHelp() {
  std::string s = std::string("zarrpp ") + zarrpp::Version() +
                  " - Zarr v3 and v2 hierarchies from the command line\n\n"
                  "usage: zarrpp COMMAND [ARGS] [OPTIONS]\n\ncommands:\n";
  for (const CommandSpec& c : Commands()) {
    s += "  " + c.name + std::string(13 - c.name.size(), ' ') + c.summary + "\n";
  }
  s += "\n'zarrpp COMMAND --help' or 'zarrpp help COMMAND' describes one command.\n"
       "Exit status: 0 success, 1 failure or problems found, 2 bad usage.\n\n"
       "examples:\n"
       "  zarrpp info data.zarr\n"
       "  zarrpp validate s3://bucket/data.zarr --jobs 16\n"
       "  zarrpp convert in.zarr out.zarr --chunks 1,256,256 --shards 64,256,256\n";
  return s;
}

int ToolUsageError(const std::string& error) {
  std::fprintf(stderr,
               "zarrpp: %s\nusage: zarrpp COMMAND [ARGS] [OPTIONS]  (see 'zarrpp --help')\n",
               error.c_str());
  return 2;
}

int UsageError(const CommandSpec& spec, const std::string& error) {
  std::fputs(zarrpp::tools::UsageErrorText(spec, error).c_str(), stderr);
  return 2;
}

int Fail(const Status& s) {
  std::fprintf(stderr, "zarrpp: %s\n", s.ToString().c_str());
  return 1;
}

// --- Formatting -----------------------------------------------------------------------------

std::string ShapeString(const std::vector<uint64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

std::string HumanBytes(uint64_t n) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (n < 1024) return std::to_string(n) + " B";
  double v = static_cast<double>(n);
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(units)) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

// Decoded bytes over stored chunk bytes; nullopt when either is unknown or zero.
std::optional<double> Ratio(uint64_t logical, uint64_t stored) {
  if (logical == 0 || stored == 0) return std::nullopt;
  return static_cast<double>(logical) / static_cast<double>(stored);
}

std::string RatioString(std::optional<double> r) {
  if (!r) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", *r);
  return buf;
}

std::string DataTypeString(const zarrpp::DataType& t) {
  std::string s = t.name();
  if (t.is_time()) {
    s += " [" + std::to_string(t.scale_factor()) + " " +
         std::string(zarrpp::TimeUnitName(t.time_unit())) + "]";
  }
  return s;
}

// The inner chunk shape of a chain that is [sharding_indexed, ...]; nullopt otherwise.
std::optional<std::vector<uint64_t>> InnerChunkShape(const Json& codecs) {
  if (!codecs.is_array() || codecs.empty() || !codecs[0].is_object()) return std::nullopt;
  const Json& c = codecs[0];
  if (c.value("name", "") != "sharding_indexed") return std::nullopt;
  const Json conf = c.value("configuration", Json::object());
  if (!conf.contains("chunk_shape") || !conf["chunk_shape"].is_array()) return std::nullopt;
  std::vector<uint64_t> out;
  for (const Json& v : conf["chunk_shape"]) {
    if (!v.is_number_unsigned()) return std::nullopt;
    out.push_back(v.get<uint64_t>());
  }
  return out;
}

// One line per codec: "name {configuration}"; a sharding codec's inner and index chains follow
// it, indented and labelled.
void CodecLines(const Json& codecs, const std::string& indent, const std::string& label,
                std::vector<std::string>& out) {
  if (!codecs.is_array()) return;
  for (const Json& c : codecs) {
    if (!c.is_object()) {
      out.push_back(indent + label + c.dump());
      continue;
    }
    Json conf = c.value("configuration", Json::object());
    Json inner, index;
    if (c.value("name", "") == "sharding_indexed" && conf.is_object()) {
      if (conf.contains("codecs")) inner = conf["codecs"];
      if (conf.contains("index_codecs")) index = conf["index_codecs"];
      conf.erase("codecs");
      conf.erase("index_codecs");
      conf.erase("chunk_shape");  // shown as inner_chunk_shape
    }
    std::string line = indent + label + c.value("name", "?");
    if (!conf.empty()) line += " " + conf.dump();
    out.push_back(line);
    CodecLines(inner, indent + "  ", "inner: ", out);
    CodecLines(index, indent + "  ", "index: ", out);
  }
}

Json OptionalNumber(bool known, uint64_t v) {
  return known ? Json(v) : Json(nullptr);
}

// The JSON description of a scanned node (schema in docs/cli.md).
Json NodeJson(const ScannedNode& n, bool sizes_known, bool full) {
  Json j = {{"path", n.path}};
  if (!n.error.ok()) {
    j["node_type"] = nullptr;
    j["error"] = n.error.ToString();
    return j;
  }
  j["node_type"] = n.is_array ? "array" : "group";
  j["zarr_format"] = n.zarr_format;
  if (!n.is_array) {
    if (full) j["attributes"] = n.group->metadata().attributes;
    return j;
  }
  const zarrpp::ArrayMetadata& m = n.array->metadata();
  j["shape"] = m.shape;
  j["data_type"] = m.data_type.name();
  j["chunk_shape"] = m.chunk_shape;
  if (m.rectilinear) j["chunk_grid"] = m.ToJson()["chunk_grid"];
  const auto inner = InnerChunkShape(m.codecs);
  j["inner_chunk_shape"] = inner ? Json(*inner) : Json(nullptr);
  uint64_t total = 1;
  for (uint64_t g : m.grid_shape()) total *= g;
  j["chunks_total"] = total;
  j["chunks_stored"] = OptionalNumber(sizes_known, n.chunk_keys.size());
  j["stored_bytes"] = OptionalNumber(sizes_known, n.chunk_bytes);
  j["metadata_bytes"] = OptionalNumber(sizes_known, n.metadata_bytes);
  const uint64_t logical = n.logical_bytes();
  j["logical_bytes"] = logical ? Json(logical) : Json(nullptr);
  const auto ratio = sizes_known ? Ratio(logical, n.chunk_bytes) : std::nullopt;
  j["compression_ratio"] = ratio ? Json(*ratio) : Json(nullptr);
  if (full) {
    j["chunk_key_encoding"] = m.chunk_key_encoding.ToJson();
    j["fill_value"] = m.fill_value.ToJson(m.data_type);
    if (m.dimension_names) {
      Json names = Json::array();
      for (const auto& name : *m.dimension_names) names.push_back(name ? Json(*name) : Json());
      j["dimension_names"] = names;
    } else {
      j["dimension_names"] = nullptr;
    }
    j["codecs"] = m.codecs;
    j["attributes"] = m.attributes;
  }
  return j;
}

// --- Opening --------------------------------------------------------------------------------

// The store at PATH and the node at its root, checked the way every reading command needs.
struct Opened {
  std::shared_ptr<zarrpp::Store> store;
  zarrpp::Node node;
};

Result<Opened> OpenRoot(const std::string& path) {
  Opened o;
  ASSIGN_OR_RETURN(o.store, zarrpp::OpenStore(path));
  const bool listable = o.store->capabilities().listable;
  ASSIGN_OR_RETURN(std::optional<zarrpp::Bytes> doc, o.store->get("zarr.json"));
  if (!doc && listable) {
    // A directory standing where the document belongs reads as absent: say which it is.
    ASSIGN_OR_RETURN(std::vector<std::string> below, o.store->list_prefix("zarr.json/"));
    if (!below.empty()) {
      return Status::Corruption(path + "/zarr.json is a directory (holding '" + below.front() +
                                "') where a metadata document belongs");
    }
  }
  zarrpp::NodeOptions node_options;
  node_options.use_consolidated = false;
  auto node = zarrpp::OpenNode(o.store, "", node_options);
  if (!node.ok()) {
    if (node.status().IsNotFound()) {
      return Status::NotFound(path + ": no zarr.json, .zgroup or .zarray");
    }
    return node.status();
  }
  o.node = std::move(*node);
  return o;
}

// Reports every node of the scan that could not be opened; returns their number.
size_t ReportNodeErrors(const TreeScan& scan) {
  size_t failed = 0;
  for (const ScannedNode& n : scan.nodes) {
    if (n.error.ok()) continue;
    ++failed;
    std::fprintf(stderr, "zarrpp: node '%s': %s\n", n.path.empty() ? "/" : n.path.c_str(),
                 n.error.ToString().c_str());
  }
  return failed;
}

// --- ls / tree ------------------------------------------------------------------------------

struct Row {
  std::string name, kind, shape, type, stored, ratio;
};

Row RowOf(const ScannedNode& n, const TreeScan& scan, std::string name) {
  Row r{std::move(name), "", "-", "-", "-", "-"};
  if (!n.error.ok()) {
    r.kind = "error";
    return r;
  }
  r.kind = n.is_array ? "array" : "group";
  if (!n.is_array) return r;
  const zarrpp::ArrayMetadata& m = n.array->metadata();
  r.shape = ShapeString(m.shape);
  r.type = DataTypeString(m.data_type);
  if (scan.sizes_known) {
    r.stored = HumanBytes(n.chunk_bytes);
    r.ratio = RatioString(Ratio(n.logical_bytes(), n.chunk_bytes));
  }
  return r;
}

// Rows in aligned columns; `name_first` puts the name column first (tree), else last (ls).
void PrintRows(const std::vector<Row>& rows, bool name_first) {
  Row header{name_first ? "node" : "path", "kind", "shape", "data_type", "stored", "ratio"};
  std::vector<Row> all = {header};
  all.insert(all.end(), rows.begin(), rows.end());
  size_t w[6] = {0, 0, 0, 0, 0, 0};
  for (const Row& r : all) {
    const std::string* f[6] = {&r.name, &r.kind, &r.shape, &r.type, &r.stored, &r.ratio};
    for (int i = 0; i < 6; ++i) w[i] = std::max(w[i], f[i]->size());
  }
  for (const Row& r : all) {
    std::string line;
    auto cell = [&](const std::string& s, size_t width, bool right) {
      const std::string pad(width - s.size(), ' ');
      line += right ? pad + s : s + pad;
      line += "  ";
    };
    if (name_first) cell(r.name, w[0], false);
    cell(r.kind, w[1], false);
    cell(r.shape, w[2], false);
    cell(r.type, w[3], false);
    cell(r.stored, w[4], true);
    cell(r.ratio, w[5], true);
    if (!name_first) line += r.name;
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::printf("%s\n", line.c_str());
  }
}

std::vector<Row> TreeRows(const TreeScan& scan) {
  std::vector<Row> rows;
  for (const ScannedNode& n : scan.nodes) {
    std::string name = std::string(2 * n.depth(), ' ') + n.name();
    if (!n.path.empty() && n.group) name += "/";
    rows.push_back(RowOf(n, scan, name));
  }
  return rows;
}

int LsOrTree(const std::string& path, bool tree, bool recursive) {
  auto opened = OpenRoot(path);
  if (!opened.ok()) return Fail(opened.status());
  auto scan = zarrpp::tools::ScanTree(opened->store);
  if (!scan.ok()) return Fail(scan.status());
  if (tree) {
    PrintRows(TreeRows(*scan), true);
  } else {
    std::vector<Row> rows;
    for (const ScannedNode& n : scan->nodes) {
      const bool shown =
          opened->node.is_array() ? n.path.empty() : (recursive ? !n.path.empty() : n.depth() == 1);
      if (shown) rows.push_back(RowOf(n, *scan, n.path.empty() ? "." : n.path));
    }
    PrintRows(rows, false);
  }
  if (!scan->listable) {
    std::fprintf(stderr, "zarrpp: %s cannot list keys: children and stored sizes are unknown\n",
                 opened->store->description().c_str());
  }
  return ReportNodeErrors(*scan) ? 1 : 0;
}

// --- info -----------------------------------------------------------------------------------

int Info(const std::string& path, bool json) {
  auto opened = OpenRoot(path);
  if (!opened.ok()) return Fail(opened.status());
  auto scanned = zarrpp::tools::ScanTree(opened->store);
  if (!scanned.ok()) return Fail(scanned.status());
  const TreeScan& scan = *scanned;
  const ScannedNode* root = nullptr;
  for (const ScannedNode& n : scan.nodes) {
    if (n.path.empty()) root = &n;
  }
  if (root == nullptr || !root->error.ok()) {
    return Fail(root ? root->error : Status::NotFound(path + ": no node at the root"));
  }
  Status layout;
  if (root->is_array) layout = zarrpp::CheckChunkKeyLayout(*root->array, scan.keys);
  size_t failed = 0;

  if (json) {
    Json j = NodeJson(*root, scan.sizes_known, true);
    j["path"] = path;
    j["listable"] = scan.listable;
    if (!root->is_array) {
      const zarrpp::GroupMetadata g = root->group->metadata();
      auto zmetadata = opened->store->exists(".zmetadata");
      if (!zmetadata.ok()) return Fail(zmetadata.status());
      j["consolidated"] = g.zarr_format == 2
                              ? *zmetadata
                              : g.extra_fields->contains(zarrpp::kConsolidatedMetadataField);
      Json nodes = Json::array();
      for (const ScannedNode& n : scan.nodes) {
        if (!n.path.empty()) nodes.push_back(NodeJson(n, scan.sizes_known, false));
      }
      j["nodes"] = nodes;
      failed = ReportNodeErrors(scan);
    }
    if (!layout.ok()) j["error"] = layout.ToString();
    std::cout << j.dump(2) << "\n";
  } else if (root->is_array) {
    const zarrpp::ArrayMetadata& m = root->array->metadata();
    std::printf("path: %s\n", path.c_str());
    std::printf("node_type: array\n");
    std::printf("zarr_format: %d\n", m.zarr_format);
    std::printf("shape: %s\n", ShapeString(m.shape).c_str());
    std::printf("data_type: %s\n", DataTypeString(m.data_type).c_str());
    if (m.rectilinear) {
      // chunk_shape is then the largest chunk; the grid lists every edge.
      std::printf("chunk_grid: rectilinear %s\n",
                  m.ToJson()["chunk_grid"]["configuration"]["chunk_shapes"].dump().c_str());
      std::printf("chunk_shape: %s (largest)\n", ShapeString(m.chunk_shape).c_str());
    } else {
      std::printf("chunk_shape: %s\n", ShapeString(m.chunk_shape).c_str());
    }
    if (const auto inner = InnerChunkShape(m.codecs)) {
      std::printf("inner_chunk_shape: %s\n", ShapeString(*inner).c_str());
    }
    std::printf("chunk_key_encoding: %s\n", m.chunk_key_encoding.ToJson().dump().c_str());
    std::printf("fill_value: %s\n", m.fill_value.ToJson(m.data_type).dump().c_str());
    if (m.dimension_names) {
      std::string names;
      for (const auto& n : *m.dimension_names) {
        names += (names.empty() ? "" : ", ") + n.value_or("-");
      }
      std::printf("dimension_names: [%s]\n", names.c_str());
    }
    std::printf("attributes: %s\n", m.attributes->dump().c_str());
    std::printf("codecs:\n");
    std::vector<std::string> lines;
    CodecLines(m.codecs, "  ", "", lines);
    for (const std::string& l : lines) std::printf("%s\n", l.c_str());
    const uint64_t logical = root->logical_bytes();
    uint64_t total = 1;
    for (uint64_t g : m.grid_shape()) total *= g;
    if (logical) {
      std::printf("logical_bytes: %llu (%s)\n", static_cast<unsigned long long>(logical),
                  HumanBytes(logical).c_str());
    }
    if (!scan.sizes_known) {
      std::printf("stored_bytes: unknown (%s cannot list keys)\n",
                  opened->store->description().c_str());
    } else {
      std::printf("stored_bytes: %llu (%s)\n", static_cast<unsigned long long>(root->chunk_bytes),
                  HumanBytes(root->chunk_bytes).c_str());
      std::printf("compression_ratio: %s\n",
                  RatioString(Ratio(logical, root->chunk_bytes)).c_str());
      std::printf("chunks_stored: %zu of %llu\n", root->chunk_keys.size(),
                  static_cast<unsigned long long>(total));
    }
  } else {
    const zarrpp::GroupMetadata g = root->group->metadata();
    std::printf("path: %s\n", path.c_str());
    std::printf("node_type: group\n");
    std::printf("zarr_format: %d\n", g.zarr_format);
    std::printf("attributes: %s\n", g.attributes->dump().c_str());
    auto zmetadata = opened->store->exists(".zmetadata");
    if (!zmetadata.ok()) return Fail(zmetadata.status());
    const bool consolidated = g.zarr_format == 2
                                  ? *zmetadata
                                  : g.extra_fields->contains(zarrpp::kConsolidatedMetadataField);
    std::printf("consolidated: %s\n", consolidated ? "yes" : "no");
    if (!scan.listable) {
      std::printf("children: unknown (%s cannot list keys)\n",
                  opened->store->description().c_str());
      return 0;
    }
    size_t arrays = 0, groups = 0;
    uint64_t stored = 0;
    for (const ScannedNode& n : scan.nodes) {
      if (n.path.empty() || !n.error.ok()) continue;
      (n.is_array ? arrays : groups) += 1;
      stored += n.chunk_bytes;
    }
    std::printf("nodes: %zu arrays, %zu groups below\n", arrays, groups);
    std::printf("stored_bytes: %llu (%s)\n", static_cast<unsigned long long>(stored),
                HumanBytes(stored).c_str());
    std::printf("tree:\n");
    std::fflush(stdout);
    PrintRows(TreeRows(scan), true);
    failed = ReportNodeErrors(scan);
  }
  // Damage found after what could be shown is reported last.
  if (!layout.ok()) return Fail(layout);
  return failed ? 1 : 0;
}

// --- validate -------------------------------------------------------------------------------

int Validate(const std::string& path, size_t jobs) {
  auto store = zarrpp::OpenStore(path);
  if (!store.ok()) return Fail(store.status());
  auto scanned = zarrpp::tools::ScanTree(*store, {.sizes = false, .io_concurrency = 16});
  if (!scanned.ok()) return Fail(scanned.status());
  const TreeScan& scan = *scanned;

  std::mutex mu;
  std::map<std::string, std::string> problems;  // key -> what is wrong with it
  auto problem = [&](const std::string& key, const std::string& what) {
    std::lock_guard lock(mu);
    problems.emplace(key, what);
  };
  if (scan.nodes.empty()) {
    problem(path, Status::NotFound("no zarr.json, .zgroup or .zarray at or below it").ToString());
  }

  struct ChunkJob {
    const ScannedNode* node;
    const std::string* key;
  };
  std::vector<ChunkJob> chunk_jobs;
  std::vector<const std::string*> documents;
  for (const ScannedNode& n : scan.nodes) {
    if (!n.error.ok()) {
      // Under the document the error names (.zattrs of a v2 node, say), else the node's own.
      std::string key = n.metadata_key;
      for (const std::string& k : n.metadata_keys) {
        if (k != n.metadata_key && n.error.message().find(k) != std::string::npos) key = k;
      }
      problem(key, n.error.ToString());
    } else if (n.is_array) {
      const Status layout = zarrpp::CheckChunkKeyLayout(*n.array, scan.keys);
      if (!layout.ok()) problem(n.path.empty() ? "/" : n.path, layout.ToString());
      for (const std::string& k : n.chunk_keys) chunk_jobs.push_back({&n, &k});
    }
    if (n.error.ok()) {
      for (const std::string& k : n.metadata_keys) documents.push_back(&k);
    }
    for (const std::string& k : n.unclassified_keys) {
      problem(k, "unchecked: its array '" + (n.path.empty() ? "/" : n.path) + "' cannot be opened");
    }
  }
  for (const std::string& k : scan.stray) {
    problem(k, "stray: belongs to no node (not a metadata document or chunk key of one)");
  }

  // The node documents were parsed when their nodes opened; attribute and consolidated
  // documents are read here.
  const Status io =
      zarrpp::internal::RunConcurrently(documents.size(), 16, false, [&](size_t i) -> Status {
        const std::string& key = *documents[i];
        const std::string name = key.substr(key.rfind('/') + 1);
        if (name != ".zattrs" && name != ".zmetadata") return Status::OK();
        auto bytes = (*store)->get(key);
        if (!bytes.ok()) {
          problem(key, bytes.status().ToString());
          return Status::OK();
        }
        if (!*bytes) return Status::OK();
        auto j = zarrpp::ParseJson(zarrpp::AsString(**bytes), key);
        if (!j.ok()) {
          problem(key, Status::Corruption(j.status().message()).ToString());
        } else if (!j->is_object()) {
          problem(key, Status::Corruption(key + ": not a JSON object").ToString());
        }
        return Status::OK();
      });
  if (!io.ok()) return Fail(io);

  std::atomic<uint64_t> bytes_decoded{0};
  const Status chunks_io =
      zarrpp::internal::RunConcurrently(chunk_jobs.size(), jobs, false, [&](size_t i) -> Status {
        const ScannedNode& n = *chunk_jobs[i].node;
        const std::string& key = *chunk_jobs[i].key;
        const zarrpp::ArrayMetadata& m = n.array->metadata();
        const std::string rel = key.substr(n.path.empty() ? 0 : n.path.size() + 1);
        auto coords = m.chunk_key_encoding.DecodeKey(rel, m.rank());
        if (!coords.ok()) return Status::OK();  // the scan classified it as a chunk key
        zarrpp::Region region{std::vector<uint64_t>(m.rank()), std::vector<uint64_t>(m.rank())};
        if (m.rectilinear) {
          const std::vector<uint64_t> grid = m.grid_shape();
          for (size_t d = 0; d < m.rank(); ++d) {
            if ((*coords)[d] >= grid[d]) return Status::OK();  // outside the array: not read
            region.origin[d] = m.rectilinear->Origin(d, (*coords)[d]);
            region.shape[d] =
                std::min(m.rectilinear->Length(d, (*coords)[d]), m.shape[d] - region.origin[d]);
          }
        }
        for (size_t d = 0; d < m.rank() && !m.rectilinear; ++d) {
          region.origin[d] = (*coords)[d] * m.chunk_shape[d];
          region.shape[d] = std::min(m.chunk_shape[d], m.shape[d] - region.origin[d]);
        }
        Status s;
        if (m.data_type.is_variable()) {
          s = n.array->ReadStrings(region).status();
        } else {
          zarrpp::Bytes buffer(region.num_elements() * m.data_type.size());
          s = n.array->Read(region, buffer);
          bytes_decoded += buffer.size();
        }
        if (!s.ok()) problem(key, s.ToString());
        return Status::OK();
      });
  if (!chunks_io.ok()) return Fail(chunks_io);

  for (const auto& [key, what] : problems) std::printf("%s: %s\n", key.c_str(), what.c_str());
  size_t arrays = 0;
  for (const ScannedNode& n : scan.nodes) arrays += n.is_array ? 1 : 0;
  std::printf("checked %zu nodes (%zu arrays), %zu metadata documents, %zu chunks (%s decoded): ",
              scan.nodes.size(), arrays, documents.size(), chunk_jobs.size(),
              HumanBytes(bytes_decoded.load()).c_str());
  if (problems.empty()) {
    std::printf("no problems\n");
    return 0;
  }
  std::printf("%zu problem%s\n", problems.size(), problems.size() == 1 ? "" : "s");
  return 1;
}

// --- digest ---------------------------------------------------------------------------------

int Digest(const std::string& path, bool json) {
  auto store = zarrpp::OpenStore(path);
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

// --- convert --------------------------------------------------------------------------------

// "a,b,c" -> {a, b, c}; "" -> {} (a 0-d shape).
Result<std::vector<uint64_t>> ParseShapeArg(const std::string& flag, const std::string& text) {
  std::vector<uint64_t> out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t j = std::min(text.find(',', i), text.size());
    const std::string part = text.substr(i, j - i);
    if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos) {
      return Status::InvalidArgument(flag + " '" + text + "': '" + part +
                                     "' is not a positive integer");
    }
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (ec != std::errc() || end != part.data() + part.size()) {
      return Status::InvalidArgument(flag + " '" + text + "': '" + part +
                                     "' does not fit in 64 bits");
    }
    out.push_back(v);
    i = j + 1;
  }
  return out;
}

Result<uint64_t> ParseCount(const std::string& flag, const std::string& text, uint64_t min,
                            uint64_t max) {
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < min || v > max) {
    return Status::InvalidArgument(flag + " '" + text + "' is not a whole number from " +
                                   std::to_string(min) + " to " + std::to_string(max));
  }
  return v;
}

// Per-array options from a plan document: {"arrays": {path: {chunks, shards, codecs, unshard}}}.
Status ReadPlan(const std::string& file, zarrpp::ConvertOptions& options) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::NotFound("--plan '" + file + "': cannot be read");
  std::stringstream ss;
  ss << in.rdbuf();
  ASSIGN_OR_RETURN(Json plan, zarrpp::ParseJson(ss.str(), "--plan '" + file + "'"));
  const std::string where = "--plan '" + file + "'";
  if (!plan.is_object() || !plan.contains("arrays") || !plan["arrays"].is_object()) {
    return Status::InvalidArgument(where + ": expected {\"arrays\": {PATH: {...}}}");
  }
  for (const auto& [key, value] : plan.items()) {
    if (key != "arrays") return Status::InvalidArgument(where + ": unknown field '" + key + "'");
  }
  for (const auto& [path, entry] : plan["arrays"].items()) {
    const std::string at = where + " array '" + path + "'";
    if (!entry.is_object()) return Status::InvalidArgument(at + ": not a JSON object");
    zarrpp::ArrayConvertOptions& o = options.arrays[path];
    for (const auto& [field, v] : entry.items()) {
      if (field == "chunks" || field == "shards") {
        if (!v.is_array()) return Status::InvalidArgument(at + ": " + field + " is not a list");
        std::vector<uint64_t> shape;
        for (const Json& e : v) {
          if (!e.is_number_unsigned() || e.get<uint64_t>() == 0) {
            return Status::InvalidArgument(at + ": " + field + " " + v.dump() +
                                           " is not a list of positive integers");
          }
          shape.push_back(e.get<uint64_t>());
        }
        (field == "chunks" ? o.chunks : o.shards) = std::move(shape);
      } else if (field == "codecs") {
        o.codecs = v;
      } else if (field == "unshard") {
        if (!v.is_boolean()) return Status::InvalidArgument(at + ": unshard is not true or false");
        o.unshard = v.get<bool>();
      } else {
        return Status::InvalidArgument(at + ": unknown field '" + field +
                                       "' (chunks, shards, codecs, unshard)");
      }
    }
  }
  return Status::OK();
}

// Writes the progress line: redrawn in place on a terminal, a plain line every `interval`
// otherwise.
class ProgressPrinter {
 public:
  ProgressPrinter(bool tty, std::chrono::duration<double> interval)
      : tty_(tty), interval_(interval), start_(Clock::now()), last_(start_) {}

  void Update(const zarrpp::ConvertProgress& p) {
    std::lock_guard lock(mu_);
    latest_ = p;
    shown_ = false;
    const auto now = Clock::now();
    if (now - last_ < (tty_ ? std::chrono::duration<double>(0.2) : interval_)) return;
    last_ = now;
    Print(now);
  }

  // The last state, and the end of the redrawn line.
  void Finish() {
    std::lock_guard lock(mu_);
    if (latest_.chunks_total == 0 && latest_.nodes_total == 0) return;
    if (!shown_) Print(Clock::now());
    if (tty_) std::fputc('\n', stderr);
  }

 private:
  using Clock = std::chrono::steady_clock;

  void Print(Clock::time_point now) {
    const double seconds = std::chrono::duration<double>(now - start_).count();
    const zarrpp::ConvertProgress& p = latest_;
    shown_ = true;
    std::string line = "convert: ";
    if (p.bytes_total) {
      char pct[16];
      std::snprintf(pct, sizeof pct, " (%.0f%%)", 100.0 * p.bytes_done / p.bytes_total);
      line += HumanBytes(p.bytes_done) + " / " + HumanBytes(p.bytes_total) + pct + ", ";
    }
    line += std::to_string(p.chunks_done) + "/" + std::to_string(p.chunks_total) + " chunks, " +
            std::to_string(p.nodes_done) + "/" + std::to_string(p.nodes_total) + " nodes";
    if (seconds > 0 && p.bytes_done) {
      const double rate = p.bytes_done / seconds;
      line += ", " + HumanBytes(static_cast<uint64_t>(rate)) + "/s";
      if (p.bytes_total > p.bytes_done) {
        const auto eta = static_cast<uint64_t>((p.bytes_total - p.bytes_done) / rate);
        char buf[48];
        std::snprintf(buf, sizeof buf, ", ETA %llu:%02llu:%02llu",
                      static_cast<unsigned long long>(eta / 3600),
                      static_cast<unsigned long long>(eta / 60 % 60),
                      static_cast<unsigned long long>(eta % 60));
        line += buf;
      }
    }
    if (tty_) {
      std::fprintf(stderr, "\r%s\x1b[K", line.c_str());
    } else {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
    std::fflush(stderr);
  }

  const bool tty_;
  const std::chrono::duration<double> interval_;
  const Clock::time_point start_;
  std::mutex mu_;
  Clock::time_point last_;
  zarrpp::ConvertProgress latest_;
  bool shown_ = false;  // latest_ has been printed
};

// The first directory of `dir` and its ancestors that does not exist yet (what creating `dir`
// makes), or nullopt when `dir` exists.
std::optional<std::filesystem::path> FirstMissing(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path abs = fs::absolute(dir, ec).lexically_normal();
  if (ec) return std::nullopt;
  if (abs.has_relative_path() && abs.filename().empty()) abs = abs.parent_path();
  if (fs::exists(fs::symlink_status(abs, ec))) return std::nullopt;
  fs::path missing = abs;
  while (missing.has_parent_path() && missing.parent_path() != missing &&
         !fs::exists(fs::symlink_status(missing.parent_path(), ec))) {
    missing = missing.parent_path();
  }
  return missing;
}

// Removes `made` (a directory this call created) when it holds nothing but directories.
void RemoveIfEmpty(const std::filesystem::path& made) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(made, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_directory(ec) || it->is_symlink(ec)) return;
  }
  if (!ec) fs::remove_all(made, ec);
}

int Convert(const CommandSpec& spec, const ParsedArgs& args) {
  zarrpp::ConvertOptions options;
  options.overwrite = args.has("--overwrite");
  options.unshard = args.has("--unshard");
  if (auto v = args.get("--zarr-format")) {
    if (*v != "2" && *v != "3") return UsageError(spec, "--zarr-format '" + *v + "' is not 2 or 3");
    options.zarr_format = *v == "2" ? 2 : 3;
  }
  if (auto plan = args.get("--plan")) {
    Status s = ReadPlan(*plan, options);
    if (!s.ok()) return Fail(s);
  }
  for (const std::string flag : {"--chunks", "--shards"}) {
    for (const std::string& value : args.all(flag)) {
      const size_t eq = value.rfind('=');
      auto shape = ParseShapeArg(flag, eq == std::string::npos ? value : value.substr(eq + 1));
      if (!shape.ok()) return Fail(shape.status());
      if (eq == std::string::npos) {
        auto& all = flag == "--chunks" ? options.chunks : options.shards;
        if (all) return UsageError(spec, flag + " without PATH= given twice");
        all = std::move(*shape);
      } else {
        zarrpp::ArrayConvertOptions& o = options.arrays[value.substr(0, eq)];
        (flag == "--chunks" ? o.chunks : o.shards) = std::move(*shape);
      }
    }
  }
  if (auto v = args.get("--codecs")) {
    auto j = zarrpp::ParseJson(*v, "--codecs");
    if (!j.ok()) return Fail(j.status());
    options.codecs = std::move(*j);
  }
  if (options.unshard && options.shards) {
    return UsageError(spec, "--unshard and --shards exclude each other");
  }
  if (auto v = args.get("--jobs")) {
    auto n = ParseCount("--jobs", *v, 1, 4096);
    if (!n.ok()) return UsageError(spec, n.status().message());
    options.executor = zarrpp::MakeTbbExecutor(*n);
  }
  double interval = 10;
  if (auto v = args.get("--progress-interval")) {
    auto n = ParseCount("--progress-interval", *v, 0, 86400);
    if (!n.ok()) return UsageError(spec, n.status().message());
    interval = static_cast<double>(*n);
  }
  const bool quiet = args.has("--quiet");
  ProgressPrinter printer(isatty(STDERR_FILENO) != 0, std::chrono::duration<double>(interval));
  if (!quiet) {
    options.progress = [&printer](const zarrpp::ConvertProgress& p) { printer.Update(p); };
  }

  const std::string& src_arg = args.positional[0];
  const std::string& dst_arg = args.positional[1];
  auto src = zarrpp::OpenStore(src_arg);
  if (!src.ok()) return Fail(src.status());
  auto src_dir = zarrpp::LocalPathOf(src_arg);
  if (!src_dir.ok()) return Fail(src_dir.status());
  auto dst_dir = zarrpp::LocalPathOf(dst_arg);
  if (!dst_dir.ok()) return Fail(dst_dir.status());
  // Before a local destination directory is created: it must not be (an alias of) the source,
  // lie inside it or contain it. Convert checks again on the opened stores.
  if (*src_dir && *dst_dir) {
    Status distinct = zarrpp::CheckDisjointDirectories(**src_dir, **dst_dir);
    if (!distinct.ok()) return Fail(distinct);
  }
  // A local destination directory made here is removed again if the conversion is refused.
  const std::optional<std::filesystem::path> made =
      *dst_dir ? FirstMissing(**dst_dir) : std::nullopt;
  zarrpp::OpenStoreOptions create;
  create.create = true;
  auto dst = zarrpp::OpenStore(dst_arg, create);
  if (!dst.ok()) return Fail(dst.status());
  auto report = zarrpp::Convert(*src, "", *dst, "", options);
  if (!quiet) printer.Finish();
  if (!report.ok()) {
    dst->reset();
    if (made) RemoveIfEmpty(*made);
    return Fail(report.status());
  }
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

// --- consolidate, clean ---------------------------------------------------------------------

// LocalStore::RemoveStaleTemporaries when this build's LocalStore has it, else Unsupported.
template <typename S>
Result<uint64_t> RemoveStaleTemporaries(S& store, std::chrono::seconds older_than) {
  if constexpr (requires { store.RemoveStaleTemporaries(older_than); }) {
    return store.RemoveStaleTemporaries(older_than);
  } else {
    return Status::Unsupported("clean: this build's LocalStore (" + store.description() +
                               ") cannot remove stale temporaries");
  }
}

int ConsolidateCommand(const std::string& path) {
  auto store = zarrpp::OpenStore(path);
  if (!store.ok()) return Fail(store.status());
  Status s = zarrpp::Consolidate(*store, "");
  if (!s.ok()) return Fail(s);
  return 0;
}

int Clean(const std::string& path, const std::optional<std::string>& older) {
  std::chrono::seconds older_than(3600);
  if (older) {
    const std::string& v = *older;
    if (v.empty() || v.size() > 12 || v.find_first_not_of("0123456789") != std::string::npos) {
      return Fail(Status::InvalidArgument("--older-than '" + v + "' is not a number of seconds"));
    }
    older_than = std::chrono::seconds(std::stoll(v));
  }
  zarrpp::LocalStoreOptions o;  // Open never creates: a missing path is NotFound
  o.remove_stale_temporaries_after = std::chrono::seconds(0);  // this command does it, and counts
  auto dir = zarrpp::LocalPathOf(path);
  if (!dir.ok()) return Fail(dir.status());
  if (!*dir) {
    return Fail(Status::InvalidArgument("clean: '" + path.substr(0, path.find("://") + 3) +
                                        "...' is not a local directory; only local stores keep "
                                        "temporaries"));
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
  if (args.empty()) return ToolUsageError("no command given");
  const std::string& name = args[0];
  if (name == "--version") {
    std::printf("zarrpp %s\n", zarrpp::Version());
    return 0;
  }
  if (name == "--help" || name == "-h") {
    std::fputs(ToolHelp().c_str(), stdout);
    return 0;
  }
  const CommandSpec* spec = FindCommand(name);
  if (spec == nullptr) {
    return ToolUsageError(name.starts_with("-") ? "unknown option '" + name + "'"
                                                : "unknown command '" + name + "'");
  }
  ParsedArgs parsed;
  std::string error;
  switch (zarrpp::tools::ParseArgs(*spec, {args.begin() + 1, args.end()}, parsed, error)) {
    case zarrpp::tools::ParseResult::kHelp:
      std::fputs(zarrpp::tools::HelpText(*spec).c_str(), stdout);
      return 0;
    case zarrpp::tools::ParseResult::kUsageError: return UsageError(*spec, error);
    case zarrpp::tools::ParseResult::kOk: break;
  }
  const std::vector<std::string>& pos = parsed.positional;
  if (name == "help") {
    if (pos.empty()) {
      std::fputs(ToolHelp().c_str(), stdout);
      return 0;
    }
    const CommandSpec* about = FindCommand(pos[0]);
    if (about == nullptr) return UsageError(*spec, "unknown command '" + pos[0] + "'");
    std::fputs(zarrpp::tools::HelpText(*about).c_str(), stdout);
    return 0;
  }
  if (name == "version") {
    std::printf("zarrpp %s\n", zarrpp::Version());
    return 0;
  }
  if (name == "info") return Info(pos[0], parsed.has("--json"));
  if (name == "ls") return LsOrTree(pos[0], false, parsed.has("--recursive"));
  if (name == "tree") return LsOrTree(pos[0], true, true);
  if (name == "validate") {
    size_t jobs = 4;
    if (auto v = parsed.get("--jobs")) {
      auto n = ParseCount("--jobs", *v, 1, 4096);
      if (!n.ok()) return UsageError(*spec, n.status().message());
      jobs = *n;
    }
    return Validate(pos[0], jobs);
  }
  if (name == "digest") return Digest(pos[0], parsed.has("--json"));
  if (name == "convert") return Convert(*spec, parsed);
  if (name == "consolidate") return ConsolidateCommand(pos[0]);
  if (name == "clean") return Clean(pos[0], parsed.get("--older-than"));
  return ToolUsageError("unknown command '" + name + "'");
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
