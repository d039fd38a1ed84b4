// src/store_internal.h - helpers shared by the stores' get_scatter() and get_within()
// implementations, and by readers of whole values.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "zarrpp/bytes.h"
#include "zarrpp/status.h"
#include "zarrpp/store.h"

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

// The whole value at `key` in `bytes`: from a store with memory_readers, the store's own bytes,
// valid while `pinned` (the reader holding them) lives; else a copy in `copy`, read with get_if
// when `with_generation` (the generation is Unknown otherwise). found is false when missing.
Result<ReadResult> ReadWhole(Store& store, std::string_view key, bool with_generation,
                             std::unique_ptr<ValueReader>& pinned, Bytes& copy, ByteView& bytes);

}  // namespace zarrpp::internal
