// codecs/numcodecs_filter_parse.h - the "dtype"/"astype" pair the numcodecs value filters share.
#pragma once

#include "codecs/numcodecs_config.h"
#include "zarrpp/json.h"

namespace zarrpp::internal {

// Reads `dtype_key` (required) and `astype_key` (optional unless `astype_required`; absent means
// the same as dtype) as JSON strings.
inline Result<std::pair<Json, Json>> ReadDtypePair(ConfigReader& r, const std::string& dtype_key,
                                                   const std::string& astype_key,
                                                   bool astype_required = false) {
  const std::optional<Json> d = r.Raw(dtype_key);
  if (!d) return Status::InvalidArgument("configuration." + dtype_key + " is required");
  const std::optional<Json> a = r.Raw(astype_key);
  if (!a && astype_required) {
    return Status::InvalidArgument("configuration." + astype_key + " is required");
  }
  return std::make_pair(*d, a ? *a : *d);
}

}  // namespace zarrpp::internal
