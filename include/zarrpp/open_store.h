// zarrpp/open_store.h - opens a store from a URL or a path.
//
//   "file:///abs/path", "/abs/path", "rel/path"   LocalStore
//   "memory://"                                   a new, empty MemoryStore
//   "s3://bucket/prefix?endpoint=..&region=..&addressing=path|virtual&profile=.."
//                                                  S3Store (S3Store::OpenUrl)
//   "http://host/path", "https://host/path"       HttpStore (read-only)
//
// A URL with any other scheme is InvalidArgument naming the scheme. Opening never creates
// anything unless OpenStoreOptions::create is set (a local root directory).
#pragma once

#include <memory>
#include <string_view>

#include "zarrpp/store.h"

namespace zarrpp {

struct OpenStoreOptions {
  // Create a missing local root directory (file URLs and paths only).
  bool create = false;
};

Result<std::shared_ptr<Store>> OpenStore(std::string_view url_or_path, OpenStoreOptions options = {});

}  // namespace zarrpp
