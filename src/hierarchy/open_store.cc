#include "zarrpp/open_store.h"

#include <cctype>
#include <string>

#include "zarrpp/http_store.h"
#include "zarrpp/local_store.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/s3_store.h"

namespace zarrpp {

namespace {

// The scheme of "scheme://...", lower-cased; empty when `text` is not such a URL (a path).
std::string SchemeOf(std::string_view text) {
  const size_t sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) return "";
  if (!std::isalpha(static_cast<unsigned char>(text[0]))) return "";
  std::string scheme;
  for (char c : text.substr(0, sep)) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '+' && c != '-' && c != '.') return "";
    scheme += static_cast<char>(std::tolower(u));
  }
  return scheme;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The path of a file URL: "file:///p" and "file://localhost/p" -> "/p", escapes decoded.
Result<std::string> FilePath(std::string_view url) {
  std::string_view rest = url.substr(url.find("://") + 3);
  if (rest.starts_with("localhost/")) rest.remove_prefix(9);
  if (!rest.starts_with('/')) {
    const std::string host(rest.substr(0, rest.find('/')));
    return Status::InvalidArgument("file URL '" + std::string(url) + "': host '" + host +
                                   "' is not supported (use file:///absolute/path)");
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return Status::InvalidArgument("file URL '" + std::string(url) +
                                   "' has a query or fragment (escape '?' as %3F, '#' as %23)");
  }
  std::string path;
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] != '%') {
      path += rest[i];
      continue;
    }
    const int hi = i + 2 < rest.size() ? HexValue(rest[i + 1]) : -1;
    const int lo = i + 2 < rest.size() ? HexValue(rest[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return Status::InvalidArgument("file URL '" + std::string(url) + "': '%' at offset " +
                                     std::to_string(i + 7) + " is not followed by two hex digits");
    }
    const char c = static_cast<char>(hi * 16 + lo);
    if (c == '\0') {
      return Status::InvalidArgument("file URL '" + std::string(url) + "' decodes to a NUL byte");
    }
    path += c;
    i += 2;
  }
  return path;
}

}  // namespace

Result<std::optional<std::string>> LocalPathOf(std::string_view url_or_path) {
  if (url_or_path.empty()) return Status::InvalidArgument("empty store URL or path");
  const std::string scheme = SchemeOf(url_or_path);
  if (scheme.empty()) return std::optional<std::string>(std::string(url_or_path));
  if (scheme != "file") return std::optional<std::string>();
  ASSIGN_OR_RETURN(std::string path, FilePath(url_or_path));
  return std::optional<std::string>(std::move(path));
}

Result<std::shared_ptr<Store>> OpenStore(std::string_view url_or_path, OpenStoreOptions options) {
  if (url_or_path.empty()) return Status::InvalidArgument("empty store URL or path");
  const std::string scheme = SchemeOf(url_or_path);
  if (scheme.empty() || scheme == "file") {
    std::string path(url_or_path);
    if (!scheme.empty()) {
      ASSIGN_OR_RETURN(path, FilePath(url_or_path));
    }
    LocalStoreOptions local;
    local.create = options.create;
    ASSIGN_OR_RETURN(std::shared_ptr<LocalStore> store, LocalStore::Open(std::move(path), local));
    return std::shared_ptr<Store>(std::move(store));
  }
  if (scheme == "memory") {
    if (url_or_path.size() != std::string_view("memory://").size()) {
      return Status::InvalidArgument("memory URL '" + std::string(url_or_path) +
                                     "': only \"memory://\" (a new, empty store) is supported");
    }
    return std::shared_ptr<Store>(MemoryStore::Create());
  }
  if (scheme == "s3") {
    ASSIGN_OR_RETURN(std::shared_ptr<S3Store> store, S3Store::OpenUrl(url_or_path));
    return std::shared_ptr<Store>(std::move(store));
  }
  if (scheme == "http" || scheme == "https") {
    ASSIGN_OR_RETURN(std::shared_ptr<HttpStore> store, HttpStore::OpenUrl(url_or_path));
    return std::shared_ptr<Store>(std::move(store));
  }
  return Status::InvalidArgument("store URL scheme '" + scheme + "' (in '" +
                                 std::string(url_or_path.substr(0, url_or_path.find("://") + 3)) +
                                 "...') is not supported; use file://, memory://, s3://, http:// "
                                 "or https://, or a plain path");
}

}  // namespace zarrpp
