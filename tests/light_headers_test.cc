// The public headers other than zarrpp/json.h do not include the JSON library, so that a
// translation unit including any one of them compiles only JSON's forward declarations
// (bench/header_cost.py measures what that saves; this test guards it cheaply).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "zarrpp/array.h"
#include "zarrpp/array_batch.h"
#include "zarrpp/bytes.h"
#include "zarrpp/caching_store.h"
#include "zarrpp/chunk_cache.h"
#include "zarrpp/chunk_grid.h"
#include "zarrpp/codecs.h"
#include "zarrpp/convert.h"
#include "zarrpp/data_type.h"
#include "zarrpp/digest.h"
#include "zarrpp/executor.h"
#include "zarrpp/future.h"
#include "zarrpp/group.h"
#include "zarrpp/hierarchy.h"
#include "zarrpp/http_store.h"
#include "zarrpp/hyperslab.h"
#include "zarrpp/json_value.h"
#include "zarrpp/local_store.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/metadata.h"
#include "zarrpp/open_store.h"
#include "zarrpp/region.h"
#include "zarrpp/s3_store.h"
#include "zarrpp/status.h"
#include "zarrpp/store.h"
#include "zarrpp/store_wrappers.h"
#include "zarrpp/strided_view.h"
#include "zarrpp/version.h"

#ifdef INCLUDE_NLOHMANN_JSON_HPP_
constexpr bool kJsonLibraryIncluded = true;
#else
constexpr bool kJsonLibraryIncluded = false;
#endif

namespace zarrpp {
namespace {

namespace fs = std::filesystem;

const fs::path kIncludeDir = fs::path(ZARRPP_SOURCE_DIR) / "include";

// The headers that `header` (a path under include/, e.g. "zarrpp/array.h") includes directly.
std::vector<std::string> DirectIncludes(const std::string& header) {
  fs::path path = kIncludeDir / header;
  if (!fs::exists(path)) path += ".in";  // version.h is generated from version.h.in
  std::ifstream in(path);
  std::vector<std::string> out;
  static const std::regex kInclude(R"(^\s*#\s*include\s*[<"]([^>"]+)[>"])");
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, kInclude)) out.push_back(m[1]);
  }
  return out;
}

// Every header reachable from `header` through zarrpp headers, mapped to the zarrpp header that
// includes it.
std::map<std::string, std::string> Reachable(const std::string& header) {
  std::map<std::string, std::string> seen;
  std::vector<std::string> stack = {header};
  while (!stack.empty()) {
    const std::string h = stack.back();
    stack.pop_back();
    for (const std::string& inc : DirectIncludes(h)) {
      if (!seen.emplace(inc, h).second) continue;
      if (inc.rfind("zarrpp/", 0) == 0) stack.push_back(inc);
    }
  }
  return seen;
}

std::vector<std::string> PublicHeaders() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(kIncludeDir / "zarrpp")) {
    std::string name = e.path().filename().string();
    if (name.size() > 3 && name.ends_with(".in")) name.resize(name.size() - 3);
    if (name.ends_with(".h")) out.push_back("zarrpp/" + name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(LightHeaders, TheJsonLibraryIsNotCompiledByTheOtherPublicHeaders) {
  EXPECT_FALSE(kJsonLibraryIncluded)
      << "a public header other than zarrpp/json.h includes <nlohmann/json.hpp>";
}

TEST(LightHeaders, OnlyJsonHReachesTheJsonLibrary) {
  const std::vector<std::string> headers = PublicHeaders();
  ASSERT_GT(headers.size(), 20u) << "no public headers under " << kIncludeDir;
  int heavy = 0;
  for (const std::string& h : headers) {
    const auto reached = Reachable(h);
    for (const auto& [inc, from] : reached) {
      // Only the forward declarations are light; any other nlohmann header compiles the library.
      if (inc.rfind("nlohmann/", 0) != 0 || inc == "nlohmann/json_fwd.hpp") continue;
      ++heavy;
      if (h != "zarrpp/json.h") {
        ADD_FAILURE() << h << " reaches <" << inc << "> (included by " << from
                      << "); only zarrpp/json.h may";
      }
    }
  }
  // json.h itself does reach the library: the scan sees includes.
  EXPECT_GE(heavy, 1);
}

TEST(LightHeaders, EveryPublicHeaderOtherThanJsonHIsIncludedAbove) {
  // This file includes every public header but json.h; a new header belongs in its list.
  std::ifstream in(fs::path(ZARRPP_SOURCE_DIR) / "tests" / "light_headers_test.cc");
  std::stringstream text;
  text << in.rdbuf();
  for (const std::string& h : PublicHeaders()) {
    if (h == "zarrpp/json.h") continue;
    EXPECT_NE(text.str().find("#include \"" + h + "\""), std::string::npos) << h;
  }
}

}  // namespace
}  // namespace zarrpp
