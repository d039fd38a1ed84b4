// src/store_internal.h - helpers shared by the stores' get_scatter() and get_within()
// implementations.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string_view>

#include "zarrpp/bytes.h"
#include "zarrpp/status.h"

namespace zarrpp::internal {

// The bytes `pieces` take in all (skipped pieces included); for scatter and gather lists alike.
template <typename View>
uint64_t PiecesSize(std::span<const View> pieces) {
  uint64_t n = 0;
  for (const View& p : pieces) n += p.size();
  return n;
}
// The concatenation of `pieces` (a gather list) in `out`.
void Concatenate(std::span<const ByteView> pieces, Bytes& out);
// Corruption naming the key, the value's size and the pieces' total.
Status ScatterSizeMismatch(std::string_view key, uint64_t value_size, uint64_t expected);
// Calls fn(part, at) for each piece covering the first `n` bytes of `pieces`, in order: `part` is
// the piece cut to those bytes (null data for a skipped piece), `at` where it starts in them.
// Stops at, and returns, the first error fn returns.
template <typename Fn>
Status ForEachFrontPiece(std::span<const MutableByteView> pieces, uint64_t n, Fn fn) {
  uint64_t at = 0;
  for (const MutableByteView& p : pieces) {
    if (at == n) break;
    const uint64_t k = std::min<uint64_t>(p.size(), n - at);
    RETURN_IF_ERROR(fn(MutableByteView(p.data(), k), at));
    at += k;
  }
  return Status::OK();
}
// Copies `value` (at most PiecesSize(pieces) bytes) into the front of the pieces, skipping null
// ones.
void ScatterCopy(ByteView value, std::span<const MutableByteView> pieces);

}  // namespace zarrpp::internal
