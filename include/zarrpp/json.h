// zarrpp/json.h - JSON access for zarrpp: the JSON library (nlohmann/json) in full, and the
// operations of JsonValue (json_value.h) that need it.
//
// The other public headers only forward-declare `Json`, so that including them stays cheap. A
// translation unit that reads or builds JSON documents (metadata fields, attributes, codec
// configurations, the results of ParseJson or ToJson) includes this header as well:
//   #include <zarrpp/array.h>
//   #include <zarrpp/json.h>
//   ASSIGN_OR_RETURN(Json attributes, array->attributes());
//
// Thread safety: as nlohmann::json and JsonValue.
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>

#include "zarrpp/json_value.h"

namespace zarrpp {

// Writes the document as Json's operator<< does (compact JSON text).
std::ostream& operator<<(std::ostream& os, const JsonValue& value);

}  // namespace zarrpp
