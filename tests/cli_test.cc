// The zarrpp command-line tool (src/tools/cli/zarrpp_main.cc), run as a process on hierarchies in
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
#include "zarrpp/json.h"
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
    auto store = LocalStore::Create(root.string());
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
    auto store = LocalStore::Open(root.string());
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

TEST_F(Cli, ConvertCreatesAMissingNestedDestination) {
  const fs::path src = dir_ / "src";
  MakeTree(src);
  const fs::path dst = dir_ / "out" / "deeper" / "dst";
  Outcome r = Zarrpp({"convert", src.string(), "file://" + dst.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Digests(dst), Digests(src));
}

TEST_F(Cli, ReadingCommandsOnAMissingPathCreateNothing) {
  const fs::path missing = dir_ / "no" / "such.zarr";
  for (const std::string& where : {missing.string(), "file://" + missing.string()}) {
    for (const std::vector<std::string>& args :
         std::vector<std::vector<std::string>>{{"info", where},
                                               {"info", where, "--json"},
                                               {"ls", where},
                                               {"tree", where},
                                               {"validate", where},
                                               {"digest", where},
                                               {"consolidate", where},
                                               {"clean", where}}) {
      SCOPED_TRACE(args[0] + " " + where);
      Outcome r = Zarrpp(args);
      EXPECT_NE(r.exit_code, 0) << r.out;
      EXPECT_NE(r.err.find(missing.string()), std::string::npos) << r.err;
      struct stat st;
      EXPECT_NE(::lstat((dir_ / "no").c_str(), &st), 0) << "created " << (dir_ / "no");
    }
  }
  // A relative path that looks like a URL is never taken as a directory name.
  Outcome r = Shell("cd " + Quote(dir_.string()) + " && " + Command({"info", "file:rel/x"}));
  EXPECT_NE(r.exit_code, 0);
  struct stat st;
  EXPECT_NE(::lstat((dir_ / "file:rel").c_str(), &st), 0);
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
    auto store = LocalStore::Create(root.string());
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
    auto store = LocalStore::Create(root.string());
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
    auto dst = LocalStore::Create(out.string());
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

// A sharded int16 array at `root`/s: shape 8x8, shards 4x8, inner chunks 2x4, raw bytes inside
// (so stored sizes are exact), dimension names [y, x], attribute units=K, every element written.
void MakeShardedArray(const fs::path& root) {
  auto store = LocalStore::Create(root.string());
  ASSERT_TRUE(store.ok()) << store.status();
  ArrayMetadata m;
  m.shape = {8, 8};
  m.chunk_shape = {4, 8};
  m.data_type = DataType(DataTypeId::kInt16);
  m.dimension_names = std::vector<std::optional<std::string>>{"y", "x"};
  m.attributes = {{"units", "K"}};
  m.codecs = Json::array(
      {{{"name", "sharding_indexed"},
        {"configuration",
         {{"chunk_shape", std::vector<uint64_t>{2, 4}},
          {"codecs", Json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}})},
          {"index_codecs",
           Json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
                        {{"name", "crc32c"}}})},
          {"index_location", "end"}}}}});
  auto arr = Array::Create(*store, "s", m);
  ASSERT_TRUE(arr.ok()) << arr.status();
  std::vector<int16_t> v(64);
  std::iota(v.begin(), v.end(), 1);
  ASSERT_TRUE((*arr)->Write(Region::All({8, 8}), std::span<const int16_t>(v)).ok());
}

// Every subcommand answers --help and `zarrpp help CMD` with the same text on stdout (exit 0),
// and an unknown option with the error and a one-line usage hint on stderr (exit 2).
TEST_F(Cli, EveryCommandHasHelpAndRejectsUnknownOptions) {
  for (const std::string cmd : {"info", "ls", "tree", "validate", "digest", "convert",
                                "consolidate", "clean", "help", "version"}) {
    SCOPED_TRACE(cmd);
    Outcome help = Zarrpp({cmd, "--help"});
    EXPECT_EQ(help.exit_code, 0) << help.err;
    EXPECT_NE(help.out.find("usage: zarrpp " + cmd), std::string::npos) << help.out;
    EXPECT_NE(help.out.find("options:"), std::string::npos) << help.out;
    EXPECT_NE(help.out.find("examples:\n  zarrpp " + cmd), std::string::npos) << help.out;
    EXPECT_TRUE(help.err.empty()) << help.err;
    EXPECT_EQ(Zarrpp({"help", cmd}).out, help.out);
    EXPECT_EQ(Zarrpp({cmd, "-h"}).out, help.out);

    Outcome bad = Zarrpp({cmd, "--no-such-option"});
    EXPECT_EQ(bad.exit_code, 2) << bad.err;
    EXPECT_TRUE(bad.out.empty()) << bad.out;
    const size_t usage = help.out.find("usage: zarrpp " + cmd);
    ASSERT_NE(usage, std::string::npos);
    const std::string usage_line = help.out.substr(usage, help.out.find('\n', usage) - usage);
    EXPECT_EQ(bad.err, "zarrpp " + cmd + ": unknown option '--no-such-option'\n" + usage_line +
                           "  (see 'zarrpp " + cmd + " --help')\n");
  }
  Outcome top = Zarrpp({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  for (const std::string cmd : {"info", "ls", "tree", "validate", "digest", "convert"}) {
    EXPECT_NE(top.out.find("\n  " + cmd + " "), std::string::npos) << cmd << "\n" << top.out;
  }
  EXPECT_NE(top.out.find("examples:\n  zarrpp info "), std::string::npos) << top.out;
  EXPECT_EQ(Zarrpp({"help"}).out, top.out);
  Outcome version = Zarrpp({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("zarrpp ", 0), 0u) << version.out;
  EXPECT_EQ(Zarrpp({"version"}).out, version.out);

  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c :
       {Case{{}, "no command given"}, Case{{"frobnicate"}, "unknown command 'frobnicate'"},
        Case{{"--frobnicate"}, "unknown option '--frobnicate'"}, Case{{"info"}, "missing argument"},
        Case{{"info", "a", "b"}, "unexpected argument 'b'"},
        Case{{"digest", "a", "--json=yes"}, "takes no value"},
        Case{{"validate", "a", "--jobs"}, "needs a value"},
        Case{{"validate", "a", "--jobs", "0"}, "--jobs '0' is not a whole number"},
        Case{{"convert", "a"}, "missing argument"},
        Case{{"convert", "a", "b", "--jobs", "x"}, "--jobs 'x'"},
        Case{{"convert", "a", "b", "--zarr-format", "4"}, "--zarr-format '4' is not 2 or 3"},
        Case{{"convert", "a", "b", "--unshard", "--shards", "2"}, "exclude each other"},
        Case{{"convert", "a", "b", "--codecs", "[]", "--codecs", "[]"}, "given twice"},
        Case{{"help", "frobnicate"}, "unknown command 'frobnicate'"}}) {
    std::string shown;
    for (const auto& a : c.args) shown += a + " ";
    SCOPED_TRACE(shown);
    Outcome r = Zarrpp(c.args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("\nusage: zarrpp "), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 2) << r.err;
  }
}

TEST_F(Cli, InfoShowsShardingDimensionNamesCodecsAndStoredSize) {
  const fs::path root = dir_ / "t";
  MakeShardedArray(root);
  // Two shards of 4 inner chunks of 16 bytes, each with a 4 x 16 + 4 byte index.
  const uint64_t stored = 2 * (4 * 16 + 4 * 16 + 4);
  ASSERT_EQ(
      fs::file_size(root / "s" / "c" / "0" / "0") + fs::file_size(root / "s" / "c" / "1" / "0"),
      stored);
  Outcome r = Zarrpp({"info", (root / "s").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const std::string line :
       {"node_type: array\n", "zarr_format: 3\n", "shape: [8, 8]\n", "data_type: int16\n",
        "chunk_shape: [4, 8]\n", "inner_chunk_shape: [2, 4]\n", "dimension_names: [y, x]\n",
        "attributes: {\"units\":\"K\"}\n",
        "codecs:\n  sharding_indexed {\"index_location\":\"end\"}\n"
        "    inner: bytes {\"endian\":\"little\"}\n    index: bytes {\"endian\":\"little\"}\n"
        "    index: crc32c\n",
        "logical_bytes: 128 (128 B)\n", "stored_bytes: 264 (264 B)\n", "compression_ratio: 0.48\n",
        "chunks_stored: 2 of 2\n"}) {
    EXPECT_NE(r.out.find(line), std::string::npos) << line << "\n" << r.out;
  }

  Outcome j = Zarrpp({"info", (root / "s").string(), "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  auto doc = ParseJson(j.out, "stdout");
  ASSERT_TRUE(doc.ok()) << doc.status() << "\n" << j.out;
  EXPECT_EQ((*doc)["node_type"], "array");
  EXPECT_EQ((*doc)["shape"], (Json{8, 8}));
  EXPECT_EQ((*doc)["chunk_shape"], (Json{4, 8}));
  EXPECT_EQ((*doc)["inner_chunk_shape"], (Json{2, 4}));
  EXPECT_EQ((*doc)["dimension_names"], (Json{"y", "x"}));
  EXPECT_EQ((*doc)["stored_bytes"], stored);
  EXPECT_EQ((*doc)["logical_bytes"], 128u);
  EXPECT_EQ((*doc)["chunks_stored"], 2u);
  EXPECT_EQ((*doc)["chunks_total"], 2u);
  EXPECT_DOUBLE_EQ((*doc)["compression_ratio"].get<double>(), 128.0 / stored);
  EXPECT_EQ((*doc)["attributes"]["units"], "K");
  EXPECT_EQ((*doc)["codecs"][0]["name"], "sharding_indexed");
}

TEST_F(Cli, InfoOfAGroupShowsItsTreeAndJsonListsEveryNode) {
  const fs::path root = dir_ / "t";
  MakeTree(root);
  MakeShardedArray(root);
  Outcome r = Zarrpp({"info", root.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("node_type: group\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nodes: 3 arrays, 1 groups below\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\ntree:\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n  g/ "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n    a "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n  s "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("264 B"), std::string::npos) << r.out;

  Outcome j = Zarrpp({"info", root.string(), "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  auto doc = ParseJson(j.out, "stdout");
  ASSERT_TRUE(doc.ok()) << doc.status() << "\n" << j.out;
  EXPECT_EQ((*doc)["node_type"], "group");
  EXPECT_EQ((*doc)["consolidated"], false);
  std::vector<std::string> paths;
  for (const Json& n : (*doc)["nodes"]) paths.push_back(n["path"].get<std::string>());
  EXPECT_EQ(paths, (std::vector<std::string>{"g", "g/a", "g/b", "s"}));
  EXPECT_EQ((*doc)["nodes"][1]["shape"], (Json{6, 5}));
  EXPECT_EQ((*doc)["nodes"][1]["data_type"], "int32");
  EXPECT_EQ((*doc)["nodes"][3]["stored_bytes"], 264u);

  // A node that cannot be read is shown as an error in the tree; the exit status says so.
  WriteFile(root / "g" / "b" / "zarr.json", "[1,2]");
  Outcome damaged = Zarrpp({"info", root.string()});
  EXPECT_EQ(damaged.exit_code, 1);
  EXPECT_NE(damaged.out.find("error"), std::string::npos) << damaged.out;
  EXPECT_NE(damaged.err.find("node 'g/b'"), std::string::npos) << damaged.err;
}

TEST_F(Cli, LsAndTreeShowKindShapeTypeStoredBytesAndRatio) {
  const fs::path root = dir_ / "t";
  MakeTree(root);
  MakeShardedArray(root);
  Outcome ls = Zarrpp({"ls", root.string()});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  const std::string expected_ls =
      "kind   shape   data_type  stored  ratio  path\n"
      "group  -       -               -      -  g\n"
      "array  [8, 8]  int16       264 B   0.48  s\n";
  EXPECT_EQ(ls.out, expected_ls);

  Outcome all = Zarrpp({"ls", root.string(), "--recursive"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_NE(all.out.find("  g/a\n"), std::string::npos) << all.out;
  EXPECT_NE(all.out.find("  g/b\n"), std::string::npos) << all.out;
  EXPECT_NE(all.out.find("[6, 5]"), std::string::npos) << all.out;

  Outcome one = Zarrpp({"ls", (root / "s").string()});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_NE(one.out.find("array  [8, 8]  int16       264 B   0.48  .\n"), std::string::npos)
      << one.out;

  Outcome tree = Zarrpp({"tree", root.string()});
  ASSERT_EQ(tree.exit_code, 0) << tree.err;
  const std::vector<std::string> lines = [&] {
    std::vector<std::string> out;
    std::istringstream in(tree.out);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }();
  ASSERT_EQ(lines.size(), 6u) << tree.out;
  EXPECT_EQ(lines[1].rfind("/ ", 0), 0u) << tree.out;
  EXPECT_EQ(lines[2].rfind("  g/ ", 0), 0u) << tree.out;
  EXPECT_EQ(lines[3].rfind("    a ", 0), 0u) << tree.out;
  EXPECT_NE(lines[3].find("array  [6, 5]"), std::string::npos) << tree.out;
  EXPECT_EQ(lines[4].rfind("    b ", 0), 0u) << tree.out;
  EXPECT_EQ(lines[5].rfind("  s ", 0), 0u) << tree.out;
  EXPECT_NE(lines[5].find("264 B   0.48"), std::string::npos) << tree.out;

  EXPECT_EQ(Zarrpp({"ls", (dir_ / "nothing").string()}).exit_code, 1);
  EXPECT_EQ(Zarrpp({"tree", (dir_ / "nothing").string()}).exit_code, 1);
}

TEST_F(Cli, ValidateReportsEveryDamagedAndStrayKeyAndGoesOn) {
  const fs::path root = dir_ / "t";
  MakeTree(root);
  MakeShardedArray(root);
  Outcome clean = Zarrpp({"validate", root.string()});
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  EXPECT_NE(clean.out.find("checked 5 nodes (3 arrays), 5 metadata documents, 12 chunks"),
            std::string::npos)
      << clean.out;
  EXPECT_NE(clean.out.find("no problems"), std::string::npos) << clean.out;

  // A chunk that does not decode (zstd garbage), a shard whose index checksum fails, a key
  // outside the grid, a file no node owns, and a v2 array with unparseable attributes.
  WriteFile(root / "g" / "a" / "c" / "1" / "1", "not zstd at all");
  {
    std::string shard = ReadFile(root / "s" / "c" / "1" / "0");
    shard[shard.size() - 1] ^= 0x5a;
    WriteFile(root / "s" / "c" / "1" / "0", shard);
  }
  WriteFile(root / "g" / "a" / "c" / "9" / "0", "x");
  WriteFile(root / "g" / "notes.txt", "hello");
  WriteFile(root / "v2" / ".zarray",
            R"({"zarr_format": 2, "shape": [3], "chunks": [2], "dtype": "<i2", "compressor": null,
                "fill_value": 0, "order": "C", "filters": null})");
  WriteFile(root / "v2" / "0", std::string("\x01\x00\x02\x00", 4));
  WriteFile(root / "v2" / "1", std::string("\x01", 1));  // too short
  WriteFile(root / "v2b" / ".zgroup", R"({"zarr_format": 2})");
  WriteFile(root / "v2b" / ".zattrs", "{nope");
  for (const std::string jobs : {"1", "3"}) {
    Outcome r = Zarrpp({"validate", root.string(), "--jobs", jobs});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    for (const std::string key : {"g/a/c/1/1: ", "s/c/1/0: ", "g/a/c/9/0: stray",
                                  "g/notes.txt: stray", "v2/1: ", "v2b/.zattrs: "}) {
      EXPECT_NE(("\n" + r.out).find("\n" + key), std::string::npos) << key << "\n" << r.out;
    }
    EXPECT_NE(r.out.find("6 problems\n"), std::string::npos) << r.out;
    // The intact chunks were still checked: nothing else is reported.
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 7) << r.out;
  }
  Outcome missing = Zarrpp({"validate", (dir_ / "nothing").string()});
  EXPECT_EQ(missing.exit_code, 1) << missing.out << missing.err;
}

TEST_F(Cli, ConvertTakesPerArrayChunksAPlanAndJobs) {
  const fs::path root = dir_ / "t";
  MakeTree(root);
  const auto before = Digests(root);
  // The bare form applies to every array without its own; g/a has rank 2, g/b rank 1.
  Outcome r = Zarrpp({"convert", root.string(), (dir_ / "o1").string(), "--chunks", "g/a=3,5",
                      "--chunks", "2", "--jobs", "2", "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_EQ(Json::parse(ReadFile(dir_ / "o1" / "g" / "a" /
                                 "zarr.json"))["chunk_grid"]["configuration"]["chunk_shape"],
            (Json{3, 5}));
  EXPECT_EQ(Json::parse(ReadFile(dir_ / "o1" / "g" / "b" /
                                 "zarr.json"))["chunk_grid"]["configuration"]["chunk_shape"],
            (Json{2}));
  EXPECT_EQ(Digests(dir_ / "o1"), before);

  WriteFile(dir_ / "plan.json",
            R"({"arrays": {"g/a": {"chunks": [2, 5], "shards": [6, 5]}, "g/b": {"chunks": [1]}}})");
  r = Zarrpp({"convert", root.string(), (dir_ / "o2").string(), "--plan",
              (dir_ / "plan.json").string(), "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json a = Json::parse(ReadFile(dir_ / "o2" / "g" / "a" / "zarr.json"));
  EXPECT_EQ(a["chunk_grid"]["configuration"]["chunk_shape"], (Json{6, 5}));
  EXPECT_EQ(a["codecs"][0]["configuration"]["chunk_shape"], (Json{2, 5}));
  EXPECT_EQ(Digests(dir_ / "o2"), before);

  // Bad plans and per-array options are refused before anything is written, leaving no
  // destination behind.
  WriteFile(dir_ / "bad.json", R"({"arrays": {"g/a": {"chunkz": [1, 1]}}})");
  struct Case {
    std::vector<std::string> extra;
    std::string message;
  };
  for (const Case& c : {Case{{"--plan", (dir_ / "bad.json").string()}, "unknown field 'chunkz'"},
                        Case{{"--plan", (dir_ / "none.json").string()}, "cannot be read"},
                        Case{{"--chunks", "g/zz=1"}, "'/g/zz', which is no node"},
                        Case{{"--chunks", "g=1"}, "which is a group"},
                        Case{{"--chunks", "1,2,3"}, "has rank 3 but the array has rank"}}) {
    SCOPED_TRACE(c.message);
    std::vector<std::string> args = {"convert", root.string(), (dir_ / "new" / "o").string()};
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    Outcome bad = Zarrpp(args);
    EXPECT_EQ(bad.exit_code, 1) << bad.err;
    EXPECT_NE(bad.err.find(c.message), std::string::npos) << bad.err;
    EXPECT_FALSE(fs::exists(dir_ / "new")) << bad.err;
  }
}

TEST_F(Cli, ConvertUnshardsAndReportsProgress) {
  const fs::path root = dir_ / "t";
  MakeShardedArray(root);
  const auto before = Digests(root);
  Outcome r = Zarrpp(
      {"convert", root.string(), (dir_ / "o").string(), "--unshard", "--progress-interval", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json s = Json::parse(ReadFile(dir_ / "o" / "s" / "zarr.json"));
  EXPECT_EQ(s["chunk_grid"]["configuration"]["chunk_shape"], (Json{2, 4}));
  EXPECT_EQ(s["codecs"].size(), 1u) << s.dump();
  EXPECT_EQ(s["codecs"][0]["name"], "bytes");
  EXPECT_EQ(s["dimension_names"], (Json{"y", "x"}));
  EXPECT_EQ(Digests(dir_ / "o"), before);
  // stderr is not a terminal here: plain lines, the last one complete.
  EXPECT_NE(r.err.find("convert: "), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\r'), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("128 B / 128 B (100%), 8/8 chunks, 2/2 nodes"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "converted 1 arrays, 1 groups, 8 chunks\n");

  Outcome quiet = Zarrpp({"convert", root.string(), (dir_ / "q").string(), "--quiet"});
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_TRUE(quiet.err.empty()) << quiet.err;
}

TEST_F(Cli, InfoLsAndValidateOfAStringArray) {
  const fs::path root = dir_ / "t";
  {
    auto store = LocalStore::Create(root.string());
    ASSERT_TRUE(store.ok()) << store.status();
    ArrayMetadata m;
    m.shape = {5};
    m.chunk_shape = {2};
    m.data_type = DataType(DataTypeId::kString);
    m.codecs = Json::parse(R"([{"name": "vlen-utf8"}])");
    auto arr = Array::Create(*store, "names", m);
    ASSERT_TRUE(arr.ok()) << arr.status();
    const std::vector<std::string> v = {"a", "", "h\xc3\xa9llo", "x", "yz"};
    ASSERT_TRUE((*arr)->WriteStrings(Region::All({5}), std::span<const std::string>(v)).ok());
  }
  Outcome info = Zarrpp({"info", (root / "names").string()});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("data_type: string\n"), std::string::npos) << info.out;
  EXPECT_EQ(info.out.find("logical_bytes"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("compression_ratio: -\n"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("chunks_stored: 3 of 3\n"), std::string::npos) << info.out;
  Outcome ls = Zarrpp({"ls", root.string()});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_NE(ls.out.find("array  [5]    string"), std::string::npos) << ls.out;
  Outcome ok = Zarrpp({"validate", root.string()});
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  // A chunk whose element count does not match its shape.
  WriteFile(root / "names" / "c" / "1", std::string("\x01\x00\x00\x00\x00\x00\x00\x00", 8));
  Outcome bad = Zarrpp({"validate", root.string()});
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_EQ(bad.out.rfind("names/c/1: Corruption", 0), 0u) << bad.out;
}

}  // namespace
}  // namespace zarrpp
