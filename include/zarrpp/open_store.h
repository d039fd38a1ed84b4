// zarrpp/open_store.h - opens a store from a URL or a path.
//
//   "file:///abs/path", "file://localhost/abs/path", "/abs/path", "rel/path"
//                                                  LocalStore (percent-escapes of file URLs
//                                                  decoded; a plain path is taken as written)
//   "memory://"                                   a new, empty MemoryStore
//   "s3://bucket/prefix?endpoint=..&region=..&addressing=path|virtual&profile=.."
//                                                  S3Store (S3Store::OpenUrl; the environment
//                                                  conventions of the AWS tools apply)
//   "http://host/path", "https://host/path"       HttpStore (read-only; HttpStore::OpenUrl)
//
// The scheme is matched without regard to case. A URL with any other scheme is InvalidArgument
// naming the scheme and the supported ones. Opening never creates anything unless
// OpenStoreOptions::create is set (a local root directory; a missing one is otherwise NotFound).
//
// Thread safety: OpenStore is safe to call concurrently; the store returned is as thread-safe as
// its type (every store is).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "zarrpp/store.h"

namespace zarrpp {

struct OpenStoreOptions {
  // Create a missing local root directory (file URLs and paths only). Default false.
  bool create = false;
};

Result<std::shared_ptr<Store>> OpenStore(std::string_view url_or_path,
                                         OpenStoreOptions options = {});

// The local directory that OpenStore would open for `url_or_path` (a plain path as written, a
// file URL decoded), or nullopt for a URL of another scheme. A malformed file URL is
// InvalidArgument. Lets a caller check directories (CheckDisjointDirectories) before creating one.
Result<std::optional<std::string>> LocalPathOf(std::string_view url_or_path);

}  // namespace zarrpp
