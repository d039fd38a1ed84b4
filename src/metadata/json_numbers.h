// src/metadata/json_numbers.h - reading integers from JSON values, whichever way they were built.
#pragma once

#include <cstdint>
#include <optional>

#include "zarrpp/json.h"
#include "zarrpp/metadata.h"

namespace zarrpp::internal {

// A JSON integer >= 0 as uint64 (nlohmann keeps integers parsed from text as unsigned, but
// integers built in C++ from signed values as signed); nullopt for anything else.
inline std::optional<uint64_t> AsUint(const Json& j) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer() && j.get<int64_t>() >= 0)
    return static_cast<uint64_t>(j.get<int64_t>());
  return std::nullopt;
}

}  // namespace zarrpp::internal
