// tests/support/codec_roundtrip.h - the one round-trip check every codec test uses.
//
// A round trip encodes, decodes and compares bytes, and checks the contracts around it: fixed
// encoded sizes are honoured, every decode entry point agrees, and a warmed-up ChainScratch is
// reused without reallocation.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "codecs/codec.h"
#include "codecs/codec_chain.h"
#include "zarrpp/json.h"

namespace zarrpp::test {

// Deterministic bytes mixing runs with pseudo-random values, so compressors find some structure.
Bytes TestBytes(size_t n, uint32_t seed = 1);

// Test data valid for `dtype` (bool elements are 0/1).
Bytes TestChunk(DataType dtype, uint64_t num_elements, uint32_t seed = 1);

// A spec with a zero fill value.
ChunkSpec MakeSpec(DataType dtype, std::vector<uint64_t> shape);

// Every data type zarrpp supports: bool, int8..int64, uint8..uint64, float16/32/64,
// complex64/128, r16 and r24.
std::vector<DataType> AllDataTypes();

// Builds the chain from `codecs` JSON, prepares it for `spec`, and round-trips `chunk` twice with
// the same scratch.
::testing::AssertionResult ChainRoundTrips(const Json& codecs, const ChunkSpec& spec,
                                           ByteView chunk);

// Round-trips `input` through a bytes->bytes codec with the decoded size known and unknown, and
// through DecodeInto; checks EncodedSize when the codec gives one.
::testing::AssertionResult BytesCodecRoundTrips(const BytesToBytesCodec& codec, ByteView input);

}  // namespace zarrpp::test
