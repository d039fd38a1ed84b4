// The zarrpp command-line tool (src/tools/zarrpp_main.cc), run as a process on hierarchies in
// temporary directories: convert refuses destinations that overlap the source (equal, inside,
// containing, symbolic-link aliases) and sources holding links out of their root, with nothing
// written; digest and convert report every array they cannot read and still digest or convert
// the rest; info and clean exit with a message on damaged trees; clean removes crash temporaries.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#define ZARRPP_STORE_CONFORMANCE_HELPERS_ONLY  // MakeTempDir, without the store suite
#include "support/store_conformance.h"
#include "zarrpp/array.h"
#include "zarrpp/digest.h"
#include "zarrpp/local_store.h"

namespace zarrpp {
namespace {

namespace fs = std::filesystem;

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef ZARRPP_CLI
    GTEST_SKIP() << "built without the zarrpp tool (ZARRPP_BUILD_TOOLS=OFF)";
#endif
    dir_ = fs::path(testing::MakeTempDir("cli"));
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override {
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  // The zarrpp command line for `args`, quoted for sh.
  static std::string Command(const std::vector<std::string>& args) {
    std::string cmd;
#ifdef ZARRPP_CLI
    cmd = Quote(ZARRPP_CLI);
    for (const std::string& a : args) cmd += " " + Quote(a);
#endif
    return cmd;
  }

  Outcome Zarrpp(const std::vector<std::string>& args) {
    return Shell(Command(args));
  }

  Outcome Shell(std::string cmd) {
    Outcome r;
    {
      const fs::path out = dir_ / "stdout.txt", err = dir_ / "stderr.txt";
      cmd = "{ " + cmd + "; } >" + Quote(out.string()) + " 2>" + Quote(err.string());
      const int status = std::system(cmd.c_str());
      r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      r.out = ReadFile(out);
      r.err = ReadFile(err);
      fs::remove(out);
      fs::remove(err);
    }
    return r;
  }

  // A v3 hierarchy at `root`: group g, arrays g/a (int32 6x5, chunks 2x2, written) and g/b
  // (uint8 4, chunks 4, written).
  void MakeTree(const fs::path& root) {
    auto store = LocalStore::Open(root.string());
    ASSERT_TRUE(store.ok()) << store.status();
    ArrayMetadata a;
    a.shape = {6, 5};
    a.chunk_shape = {2, 2};
    a.data_type = DataType(DataTypeId::kInt32);
    auto arr = Array::Create(*store, "g/a", a);
    ASSERT_TRUE(arr.ok()) << arr.status();
    std::vector<int32_t> v(30);
    std::iota(v.begin(), v.end(), 7);
    ASSERT_TRUE((*arr)->Write(Region::All({6, 5}), std::span<const int32_t>(v)).ok());
    ArrayMetadata b;
    b.shape = {4};
    b.chunk_shape = {4};
    b.data_type = DataType(DataTypeId::kUInt8);
    auto brr = Array::Create(*store, "g/b", b);
    ASSERT_TRUE(brr.ok()) << brr.status();
    std::vector<uint8_t> w = {9, 8, 7, 6};
    ASSERT_TRUE((*brr)->Write(Region::All({4}), std::span<const uint8_t>(w)).ok());
  }

  // path -> sha256 of every array under `root` (library digest; errors fail the test).
  std::map<std::string, std::string> Digests(const fs::path& root) {
    std::map<std::string, std::string> out;
    LocalStoreOptions o;
    o.create = false;
    auto store = LocalStore::Open(root.string(), o);
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return out;
    auto entries = DigestTree(*store, "");
    EXPECT_TRUE(entries.ok()) << entries.status();
    if (!entries.ok()) return out;
    for (const auto& e : *entries) {
      EXPECT_TRUE(e.error.ok()) << e.path << ": " << e.error;
      out[e.path] = e.sha256;
    }
    return out;
  }

  // Every regular file under `root` (relative path -> bytes).
  static std::map<std::string, std::string> Files(const fs::path& root) {
    std::map<std::string, std::string> out;
    std::error_code ec;
    if (!fs::exists(root, ec)) return out;
    for (auto it = fs::recursive_directory_iterator(root, ec); it != fs::end(it); ++it) {
      if (it->is_regular_file()) {
        out[it->path().lexically_relative(root).generic_string()] = ReadFile(it->path());
      }
    }
    return out;
  }

  fs::path dir_;
};

TEST_F(Cli, ConvertOntoItselfIsRefusedAndLeavesTheSourceUntouched) {
  const fs::path src = dir_ / "src";
  MakeTree(src);
  const auto before = Digests(src);
  const auto files = Files(src);
  ASSERT_EQ(before.size(), 2u);
  Outcome r = Zarrpp({"convert", src.string(), src.string(), "--overwrite"});
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find("is the source"), std::string::npos) << r.err;
  EXPECT_EQ(Digests(src), before);
  EXPECT_EQ(Files(src), files);
}

TEST_F(Cli, ConvertOfAnArrayIntoItsOwnGroupIsRefused) {
  const fs::path root = dir_ / "t";
  MakeTree(root);
  const auto before = Digests(root);
  const auto files = Files(root);
  Outcome r =
      Zarrpp({"convert", (root / "g" / "a").string(), (root / "g").string(), "--overwrite"});
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find("contains the source"), std::string::npos) << r.err;
  EXPECT_EQ(Digests(root), before);
  EXPECT_EQ(Files(root), files);
}

TEST_F(Cli, ConvertIntoADirectoryInsideTheSourceIsRefused) {
  const fs::path src = dir_ / "src";
  MakeTree(src);
  const auto files = Files(src);
  Outcome r = Zarrpp({"convert", src.string(), (src / "g" / "copy").string()});
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find("lies inside the source"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(src / "g" / "copy"));
  EXPECT_EQ(Files(src), files);
}

TEST_F(Cli, ConvertIntoAnAncestorOfTheSourceIsRefused) {
  const fs::path src = dir_ / "outer" / "src";
  MakeTree(src);
  const auto files = Files(src);
  Outcome r = Zarrpp({"convert", src.string(), (dir_ / "outer").string(), "--overwrite"});
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find("contains the source"), std::string::npos) << r.err;
  EXPECT_EQ(Files(src), files);
}

TEST_F(Cli, ConvertOntoAnAliasOfTheSourceIsRefused) {
  const fs::path src = dir_ / "src";
  MakeTree(src);
  const auto before = Digests(src);
  const auto files = Files(src);
  fs::create_directory_symlink(src, dir_ / "alias");
  // A symbolic link to the source, and a path reaching it through "..".
  for (const fs::path& dst : {dir_ / "alias", dir_ / "src" / "g" / ".." / ".." / "src"}) {
    Outcome r = Zarrpp({"convert", src.string(), dst.string(), "--overwrite"});
    EXPECT_NE(r.exit_code, 0) << dst << ": " << r.out;
    EXPECT_NE(r.err.find("is the source"), std::string::npos) << dst << ": " << r.err;
    EXPECT_EQ(Digests(src), before) << dst;
    EXPECT_EQ(Files(src), files) << dst;
  }
  // The alias as the source and a directory inside the real path as the destination.
  Outcome r = Zarrpp({"convert", (dir_ / "alias").string(), (src / "inner").string()});
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find("lies inside the source"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(src / "inner"));
}

TEST_F(Cli, ConvertOntoABindMountOfTheSourceIsRefused) {
  // Two unrelated paths to one directory: only the directories' identities tell.
  const fs::path src = dir_ / "src", mnt = dir_ / "mnt";
  MakeTree(src);
  fs::create_directory(mnt);
  const auto files = Files(src);
  Outcome r = Shell("unshare -m sh -c " +
                    Quote("mount --bind " + Quote(src.string()) + " " + Quote(mnt.string()) +
                          " 2>/dev/null || exit 99; " +
                          Command({"convert", src.string(), mnt.string(), "--overwrite"}) + "; " +
                          Command({"convert", src.string(), (mnt / "g" / "x").string()})) +
                    " 2>&1");
  if (r.exit_code == 99 || r.out.find("unshare") == 0) {
    GTEST_SKIP() << "no private mount namespace here: " << r.out;
  }
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("is the source"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("lies inside the source"), std::string::npos) << r.out;
  EXPECT_EQ(Files(src), files);
  EXPECT_FALSE(fs::exists(src / "g" / "x"));
}

TEST_F(Cli, ConvertToADistinctDirectoryStillWorks) {
  const fs::path src = dir_ / "src";
  MakeTree(src);
  // "src2" shares a prefix with "src" but is not inside it.
  Outcome r = Zarrpp({"convert", src.string(), (dir_ / "src2").string(), "--zarr-format", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Digests(dir_ / "src2"), Digests(src));
}

TEST_F(Cli, ConvertOfAChunkLinkedOutsideTheSourceIsRefused) {
  const std::string secret = "TOP-SECRET-BYTES-OUTSIDE-THE-STORE";
  WriteFile(dir_ / "outside" / "secret", secret);
  WriteFile(dir_ / "outside" / "dir" / "0", secret);
  for (const bool link_directory : {false, true}) {
    SCOPED_TRACE(link_directory ? "directory link" : "file link");
    const fs::path src = dir_ / (link_directory ? "srcd" : "srcf");
    const fs::path dst = dir_ / (link_directory ? "outd" : "outf");
    MakeTree(src);
    std::string key;
    if (link_directory) {
      // g/b's chunk directory "c" replaced by a link to a directory holding a "0" file.
      fs::remove_all(src / "g" / "b" / "c");
      fs::create_directory_symlink(dir_ / "outside" / "dir", src / "g" / "b" / "c");
      key = "g/b/c";
    } else {
      fs::remove(src / "g" / "a" / "c" / "1" / "1");
      fs::create_symlink(dir_ / "outside" / "secret", src / "g" / "a" / "c" / "1" / "1");
      key = "g/a/c/1/1";
    }
    Outcome r = Zarrpp({"convert", src.string(), dst.string()});
    EXPECT_NE(r.exit_code, 0) << r.out;
    EXPECT_NE(r.err.find("'" + key + "'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("outside the source root"), std::string::npos) << r.err;
    // Nothing was written: no metadata, no chunk, and the outside bytes nowhere.
    const auto written = Files(dst);
    EXPECT_TRUE(written.empty()) << written.begin()->first;
    for (const auto& [path, bytes] : written) {
      EXPECT_EQ(bytes.find(secret), std::string::npos) << path;
    }
  }
}

TEST_F(Cli, HostileMetadataIsAnErrorNamingTheKeyForEveryCommand) {
  const std::vector<std::string> documents = {
      "[1,2]", "{\"node_type\": 5}", "{\"node_type\": ", "\"array\"", "{\"node_type\": \"array\"}"};
  for (size_t i = 0; i < documents.size(); ++i) {
    SCOPED_TRACE(documents[i]);
    const fs::path root = dir_ / ("t" + std::to_string(i));
    MakeTree(root);
    WriteFile(root / "g" / "b" / "zarr.json", documents[i]);
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"info", (root / "g" / "b").string()},
          std::vector<std::string>{"digest", root.string()},
          std::vector<std::string>{"convert", root.string(),
                                   (dir_ / ("out" + std::to_string(i))).string()}}) {
      Outcome r = Zarrpp(args);
      EXPECT_EQ(r.exit_code, 1) << args[0] << ": " << r.err;
      EXPECT_NE(r.err.find("zarr.json"), std::string::npos) << args[0] << ": " << r.err;
    }
    // convert went on past g/b: g/a is converted whole, g/b has nothing in the destination.
    const fs::path out = dir_ / ("out" + std::to_string(i));
    const auto digests = Digests(out);
    EXPECT_EQ(digests.size(), 1u);
    EXPECT_EQ(digests.count("g/a"), 1u);
    EXPECT_FALSE(fs::exists(out / "g" / "b"));
  }
}

TEST_F(Cli, DigestReportsEveryMalformedArrayAndDigestsTheRest) {
  const fs::path root = dir_ / "t";
  MakeTree(root);
  const auto good = Digests(root);
  ASSERT_EQ(good.size(), 2u);
  // Six damaged arrays beside the two good ones.
  {
    auto store = LocalStore::Open(root.string());
    ASSERT_TRUE(store.ok());
    ArrayMetadata m;
    m.shape = {8};
    m.chunk_shape = {4};
    m.data_type = DataType(DataTypeId::kInt64);
    std::vector<int64_t> v(8, 123456789);
    for (const char* name : {"bad/trunc", "bad/dirchunk", "bad/filedir"}) {
      auto arr = Array::Create(*store, name, m);
      ASSERT_TRUE(arr.ok()) << arr.status();
      ASSERT_TRUE((*arr)->Write(Region::All({8}), std::span<const int64_t>(v)).ok());
    }
  }
  WriteFile(root / "bad" / "json" / "zarr.json", "{\"zarr_format\": 3, \"node_type\": ");
  WriteFile(root / "bad" / "list" / "zarr.json", "[1,2]");
  const fs::path chunk = root / "bad" / "trunc" / "c" / "1";
  const std::string bytes = ReadFile(chunk);
  ASSERT_GT(bytes.size(), 4u);
  WriteFile(chunk, bytes.substr(0, bytes.size() / 2));
  fs::remove(root / "bad" / "dirchunk" / "c" / "0");
  WriteFile(root / "bad" / "dirchunk" / "c" / "0" / "stray", "x");
  WriteFile(root / "bad" / "dirmeta" / "zarr.json" / "stray", "{}");
  fs::remove_all(root / "bad" / "filedir" / "c");
  WriteFile(root / "bad" / "filedir" / "c", "not a directory");

  Outcome r = Zarrpp({"digest", root.string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  for (const auto& [path, sha] : good) {
    EXPECT_NE(r.out.find(sha + "  " + path + " "), std::string::npos) << path << "\n" << r.out;
  }
  for (const char* bad :
       {"bad/json", "bad/list", "bad/trunc", "bad/dirchunk", "bad/filedir", "bad/dirmeta"}) {
    EXPECT_NE(r.err.find("'" + std::string(bad) + "'"), std::string::npos) << bad << "\n" << r.err;
    EXPECT_EQ(r.out.find(bad), std::string::npos) << bad << "\n" << r.out;
  }
  EXPECT_NE(r.err.find("bad/dirchunk/c/0' is a directory"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'bad/filedir/c' is a value where a directory"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'bad/dirmeta/zarr.json' is a directory"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("6 of 8 nodes could not be digested"), std::string::npos) << r.err;

  Outcome j = Zarrpp({"digest", root.string(), "--json"});
  EXPECT_EQ(j.exit_code, 1) << j.err;
  auto doc = ParseJson(j.out, "stdout");
  ASSERT_TRUE(doc.ok()) << doc.status() << "\n" << j.out;
  ASSERT_EQ((*doc)["arrays"].size(), 2u);
  for (const Json& a : (*doc)["arrays"]) {
    EXPECT_EQ(a["sha256"], good.at(a["path"].get<std::string>())) << a.dump();
  }
  ASSERT_EQ((*doc)["errors"].size(), 6u);
  std::vector<std::string> failed;
  for (const Json& e : (*doc)["errors"]) failed.push_back(e["path"].get<std::string>());
  EXPECT_EQ(failed, (std::vector<std::string>{"bad/dirchunk", "bad/dirmeta", "bad/filedir",
                                              "bad/json", "bad/list", "bad/trunc"}));
}

// Writes `array`'s zarr.json back with its codec chain replaced by `codecs`.
void ReplaceCodecs(const fs::path& array, const Json& codecs) {
  Json doc = Json::parse(ReadFile(array / "zarr.json"));
  doc["codecs"] = codecs;
  WriteFile(array / "zarr.json", doc.dump());
}

TEST_F(Cli, ConvertReportsEveryUnreadableArrayAndConvertsTheRest) {
  const fs::path root = dir_ / "t";
  MakeTree(root);
  {
    auto store = LocalStore::Open(root.string());
    ASSERT_TRUE(store.ok());
    ArrayMetadata m;
    m.shape = {8};
    m.chunk_shape = {4};
    m.data_type = DataType(DataTypeId::kInt64);
    std::vector<int64_t> v(8);
    std::iota(v.begin(), v.end(), 1000);
    // A good array beside the bad ones (sorted between them), and the arrays to damage.
    for (const char* name : {"bad/good", "bad/trunc", "bad/codec", "bad/dirchunk"}) {
      auto arr = Array::Create(*store, name, m);
      ASSERT_TRUE(arr.ok()) << arr.status();
      ASSERT_TRUE((*arr)->Write(Region::All({8}), std::span<const int64_t>(v)).ok());
    }
  }
  const auto good = Digests(root);
  ASSERT_EQ(good.size(), 6u);
  WriteFile(root / "bad" / "json" / "zarr.json", "{\"zarr_format\": 3, \"node_type\": ");
  WriteFile(root / "bad" / "list" / "zarr.json", "[1,2]");
  // The second chunk cut short: the first decodes, so a partial destination could be left.
  const fs::path chunk = root / "bad" / "trunc" / "c" / "1";
  const std::string bytes = ReadFile(chunk);
  ASSERT_GT(bytes.size(), 4u);
  WriteFile(chunk, bytes.substr(0, bytes.size() / 2));
  ReplaceCodecs(root / "bad" / "codec",
                Json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
                             {{"name", "no_such_codec"}}}));
  fs::remove(root / "bad" / "dirchunk" / "c" / "0");
  WriteFile(root / "bad" / "dirchunk" / "c" / "0" / "stray", "x");
  const std::vector<std::string> bad = {"bad/codec", "bad/dirchunk", "bad/json", "bad/list",
                                        "bad/trunc"};

  for (const char* format : {"3", "2"}) {
    SCOPED_TRACE(std::string("zarr format ") + format);
    const fs::path out = dir_ / (std::string("out") + format);
    Outcome r = Zarrpp({"convert", root.string(), out.string(), "--zarr-format", format});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.out.find("converted 3 arrays"), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("5 of 11 nodes could not be converted"), std::string::npos) << r.err;
    for (const std::string& b : bad) {
      EXPECT_NE(r.err.find("convert of '" + b + "' failed"), std::string::npos) << b << "\n"
                                                                                << r.err;
    }
    EXPECT_NE(r.err.find("no_such_codec"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("'bad/dirchunk/c/0' is a directory"), std::string::npos) << r.err;
    // The destination holds exactly the good arrays, each with its source's contents: no bad
    // array left anything that reads as an array (Digests fails the test on any error).
    const auto converted = Digests(out);
    std::map<std::string, std::string> expected = good;
    for (const std::string& b : bad) expected.erase(b);
    EXPECT_EQ(converted, expected);
    auto dst = LocalStore::Open(out.string());
    ASSERT_TRUE(dst.ok());
    for (const std::string& b : bad) {
      EXPECT_FALSE(Array::Open(*dst, b).ok()) << b;
      EXPECT_TRUE(Files(out / b).empty()) << b;
    }
  }
}

TEST_F(Cli, InfoAndCleanOnAHostileTreeExitWithAMessage) {
  const fs::path root = dir_ / "t";
  MakeTree(root);
  WriteFile(root / "json" / "zarr.json", "{\"zarr_format\": 3, \"node_type\": ");
  WriteFile(root / "dirmeta" / "zarr.json" / "stray", "{}");
  WriteFile(root / "g" / "a" / "zarr.json", "{\"zarr_format\": 3, \"node_type\": \"array\"}");
  ReplaceCodecs(root / "g" / "b", Json::array({{{"name", "no_such_codec"}}}));
  fs::create_directory_symlink(root / "loop", root / "loop");  // a link to itself
  fs::create_symlink(root / "gone", root / "g" / "dangling");
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : {Case{{"info", (root / "json").string()}, "invalid JSON"},
                        Case{{"info", (root / "dirmeta").string()}, "is a directory"},
                        Case{{"info", (root / "g" / "a").string()}, "zarr.json"},
                        Case{{"info", (root / "g" / "b").string()}, "no_such_codec"},
                        Case{{"info", (root / "loop").string()}, "loop"},
                        Case{{"clean", root.string()}, "clean"}}) {
    SCOPED_TRACE(c.args[0] + " " + c.args[1]);
    Outcome r = Zarrpp(c.args);
    // Exited (no signal) with 0 or 1, and a failure says why.
    ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.exit_code << " " << r.err;
    if (c.args[0] == "info") {
      EXPECT_EQ(r.exit_code, 1) << r.out;
    }
    if (r.exit_code == 1) {
      EXPECT_NE(r.err.find("zarrpp: "), std::string::npos) << r.err;
      EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    }
  }
}

TEST_F(Cli, InfoReportsChunkLayoutDamage) {
  const fs::path root = dir_ / "t";
  MakeTree(root);
  const fs::path array = root / "g" / "a";
  Outcome intact = Zarrpp({"info", array.string()});
  EXPECT_EQ(intact.exit_code, 0) << intact.err;
  EXPECT_NE(intact.out.find("chunks_stored: 9"), std::string::npos) << intact.out;
  fs::remove(array / "c" / "2" / "1");
  WriteFile(array / "c" / "2" / "1" / "stray", "x");
  Outcome damaged = Zarrpp({"info", array.string()});
  EXPECT_EQ(damaged.exit_code, 1) << damaged.out;
  EXPECT_NE(damaged.out.find("shape: [6, 5]"), std::string::npos) << damaged.out;
  EXPECT_NE(damaged.err.find("'c/2/1' is a directory"), std::string::npos) << damaged.err;
  Outcome list = Zarrpp({"info", (root / "g" / "b").string()});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  WriteFile(root / "g" / "b" / "zarr.json", "[1,2]");
  list = Zarrpp({"info", (root / "g" / "b").string()});
  EXPECT_EQ(list.exit_code, 1);
  EXPECT_NE(list.err.find("not a JSON object"), std::string::npos) << list.err;
}

TEST_F(Cli, ConsolidateWritesTheFieldAndInfoReportsV2Nodes) {
  const fs::path root = dir_ / "t";
  MakeTree(root);
  Outcome c = Zarrpp({"consolidate", root.string()});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  const Json doc = Json::parse(ReadFile(root / "zarr.json"));
  const Json& entries = doc["consolidated_metadata"]["metadata"];
  EXPECT_EQ(entries.size(), 3u) << doc.dump();
  EXPECT_EQ(entries["g/a"]["shape"], (Json{6, 5}));
  EXPECT_EQ(entries["g"]["node_type"], "group");
  Outcome info = Zarrpp({"info", root.string()});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("consolidated: yes"), std::string::npos) << info.out;
  EXPECT_EQ(Zarrpp({"consolidate", (root / "g" / "a").string()}).exit_code, 1);

  // A v2 tree: info on its group and on its array.
  const fs::path v2 = dir_ / "v2";
  fs::create_directories(v2 / "x");
  WriteFile(v2 / ".zgroup", R"({"zarr_format": 2})");
  WriteFile(v2 / "x" / ".zarray",
            R"({"zarr_format": 2, "shape": [3], "chunks": [2], "dtype": "<i2", "compressor": null,
                "fill_value": 0, "order": "C", "filters": null})");
  WriteFile(v2 / "x" / "0", std::string("\x01\x00\x02\x00", 4));
  Outcome group = Zarrpp({"info", v2.string()});
  ASSERT_EQ(group.exit_code, 0) << group.err;
  EXPECT_NE(group.out.find("zarr_format: 2"), std::string::npos) << group.out;
  EXPECT_NE(group.out.find("consolidated: no"), std::string::npos) << group.out;
  Outcome array = Zarrpp({"info", (v2 / "x").string()});
  ASSERT_EQ(array.exit_code, 0) << array.err;
  EXPECT_NE(array.out.find("shape: [3]"), std::string::npos) << array.out;
  EXPECT_NE(array.out.find("chunks_stored: 1"), std::string::npos) << array.out;
  ASSERT_EQ(Zarrpp({"consolidate", v2.string()}).exit_code, 0);
  EXPECT_TRUE(fs::exists(v2 / ".zmetadata"));
  EXPECT_NE(Zarrpp({"info", v2.string()}).out.find("consolidated: yes"), std::string::npos);
}

TEST_F(Cli, DigestOfAnIntactTreeExitsZero) {
  const fs::path root = dir_ / "t";
  MakeTree(root);
  Outcome r = Zarrpp({"digest", root.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  for (const auto& [path, sha] : Digests(root)) {
    EXPECT_NE(r.out.find(sha + "  " + path + " "), std::string::npos) << path;
  }
}

// True when this build's LocalStore can remove crash temporaries (the clean command's backend).
template <typename S>
constexpr bool HasRemoveStaleTemporaries() {
  return requires(S & s) {
    s.RemoveStaleTemporaries(std::chrono::seconds(1));
  };
}

TEST_F(Cli, CleanRemovesOnlyStaleTemporaries) {
  const fs::path root = dir_ / "t";
  MakeTree(root);
  const auto files = Files(root);
  // Named as LocalStore names its temporaries (pid, nonce, counter) by a writer that crashed.
  const fs::path stale = root / "g" / "a" / ".zarrpp-tmp-99999-00000000deadbeef-0";
  WriteFile(stale, "half a chunk");
  struct utimbuf old_times {};
  old_times.actime = old_times.modtime = ::time(nullptr) - 7200;
  ASSERT_EQ(::utime(stale.c_str(), &old_times), 0);
  // One of a writer still running: younger than --older-than, it stays.
  const fs::path fresh = root / "g" / "b" / ".zarrpp-tmp-99999-00000000deadbeef-1";
  WriteFile(fresh, "a chunk being written");

  Outcome bad = Zarrpp({"clean", root.string(), "--older-than", "soon"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("--older-than 'soon'"), std::string::npos) << bad.err;

  Outcome r = Zarrpp({"clean", root.string(), "--older-than", "60"});
  if constexpr (HasRemoveStaleTemporaries<LocalStore>()) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("removed 1 stale"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(stale));
  } else {
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_NE(r.err.find("cannot remove stale temporaries"), std::string::npos) << r.err;
    EXPECT_TRUE(fs::exists(stale));
  }
  EXPECT_TRUE(fs::exists(fresh));
  fs::remove(stale);
  fs::remove(fresh);
  EXPECT_EQ(Files(root), files);
}

}  // namespace
}  // namespace zarrpp
