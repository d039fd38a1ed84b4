// src/pipeline/variable_chunks.h - reads and writes of arrays whose data type has no fixed size
// (string, bytes). Their decoded chunks are VariableChunks (offsets + bytes, codecs/vlen_codec.h)
// and take this path instead of the fixed-size pipelines: whole chunks are fetched, decoded, merged
// and encoded, one task per chunk (spec/strings.md).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "codecs/codec_chain.h"
#include "codecs/vlen_codec.h"
#include "src/array/array_impl.h"

namespace zarrpp::internal {

// Decodes one stored value of `chain` for chunks of `spec` (bytes->bytes codecs, then vlen-* or
// sharding_indexed with variable-size inner chunks). A compressor may produce at most
// `max_decoded` bytes. `key` names the value in messages.
Status DecodeVariableChunk(const CodecChain& chain, const ChunkSpec& spec, ByteView encoded,
                           uint64_t max_decoded, const std::string& key, VariableChunk& out);
// Encodes `chunk` (spec.num_elements() elements). An empty `out` means nothing is worth storing
// (a shard whose every inner chunk is the fill value).
Status EncodeVariableChunk(const CodecChain& chain, const ChunkSpec& spec,
                           const VariableChunk& chunk, const std::string& key, Bytes& out);

// The elements of `region` (checked by the caller) in C order.
Result<std::vector<std::string>> VariableRead(Array::Impl& a, const Region& region);
// Sets every element of `region` (checked by the caller) to value(i), i its C-order index in the
// region.
Status VariableWrite(Array::Impl& a, const Region& region,
                     const std::function<std::string_view(uint64_t)>& value);

}  // namespace zarrpp::internal
