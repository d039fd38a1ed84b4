// src/types/fixed_strings.h - elements of the fixed-length string types null_terminated_bytes
// (NumPy
// "|S<n>") and fixed_length_utf32 (NumPy "<U<k>" / ">U<k>"), as the text the string API and the
// fill values use.
//
// null_terminated_bytes: n bytes; the element's value is the bytes before the trailing NULs
// (NumPy strips them; NULs inside are kept). fixed_length_utf32: k code units of UTF-32 in the
// host's (little-endian) order; the value is the code points before the trailing zero units,
// given as UTF-8.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "zarrpp/data_type.h"
#include "zarrpp/status.h"

namespace zarrpp::internal {

// The element at `p` (type.size() bytes) as text. Corruption for a fixed_length_utf32 unit that
// is not a Unicode scalar value (a surrogate or past U+10FFFF).
Result<std::string> FixedElementToText(DataType type, const uint8_t* p);
// Writes `text` as one element at `out` (type.size() bytes), NUL-padded. InvalidArgument when it
// does not fit, or (fixed_length_utf32) is not valid UTF-8.
Status TextToFixedElement(DataType type, std::string_view text, uint8_t* out);

}  // namespace zarrpp::internal
