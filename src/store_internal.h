// src/store_internal.h - helpers shared by the stores' get_scatter() implementations.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "zarrpp/bytes.h"
#include "zarrpp/status.h"

namespace zarrpp::internal {

// The bytes `pieces` take in all (skipped pieces included).
uint64_t ScatterSize(std::span<const MutableByteView> pieces);
// Corruption naming the key, the value's size and the pieces' total.
Status ScatterSizeMismatch(std::string_view key, uint64_t value_size, uint64_t expected);
// Copies `value` (exactly ScatterSize(pieces) bytes) into the pieces, skipping null ones.
void ScatterCopy(ByteView value, std::span<const MutableByteView> pieces);

}  // namespace zarrpp::internal
