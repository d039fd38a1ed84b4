// codecs/stream_decode.h - bounded decoding of compressed streams whose decoded size is not
// recorded up front (bz2, lzma).
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "codecs/codec.h"

namespace zarrpp::internal {

// One call of a streaming decoder: writes at most `avail` bytes at `out`, adds what it wrote to
// `written`, and returns true once the stream has ended. Input that ends before the stream does,
// or that is malformed, is Corruption.
using StreamStep = std::function<Result<bool>(uint8_t* out, size_t avail, size_t& written)>;

// Runs `step` into `scratch` within the bounds of `size` (see DecodedSize): an exact size is
// allocated once; otherwise the buffer starts at the chunk's expected size (or 4 x the input when
// smaller) and doubles, never past size.max. A stream that decodes to more than the bound, or to a
// size other than the exact one, is Corruption naming `codec`.
Result<ByteView> StreamDecode(std::string_view codec, uint64_t in_size, DecodedSize size,
                              const StreamStep& step, Bytes& scratch);

}  // namespace zarrpp::internal
