// src/pipeline/span_read.h - reads of a small part of a chunk from the byte span of its value
// holding it.
//
// When the chain has a SpanDecoder (codecs/partial_decode.h) and a request covers a small part of
// a chunk, the fused pipeline fetches only the span of the stored value that holds the part
// (Store::get_at) and decodes the part from it, instead of fetching and decoding the whole chunk.
// A missing value reads as the fill value and a value of any size other than the chain's encoded
// size is Corruption naming the key, as for whole-chunk reads.
#pragma once

#include <cstdint>
#include <string>

#include "src/pipeline/pipeline.h"

namespace zarrpp::internal {

// The decoded bytes one chunk task of a read of `region` (touching `n_chunks` chunks) works on,
// for dispatch: the region's share per chunk plus a fixed cost per store operation when its
// parts are read from spans, else the whole chunk.
uint64_t ReadWorkPerChunk(const Array::Impl& a, const Region& region, uint64_t n_chunks);

// True when the chunk tasks of a read are cheap enough together (at most
// ArrayOptions::min_task_bytes of work) to run on the calling thread, with no task dispatch.
// Never for a store whose operations wait on latency (those overlap on I/O threads).
bool ReadInline(const Array::Impl& a, uint64_t n_chunks, uint64_t work_per_chunk);

// Reads part `p` of the chunk at `key` into `out` (shape region.shape) from the span of its value
// holding it, with the part's span decoder (BindCodecs). Returns false, having done nothing, when
// the chain has no span decoder, the span is
// too large a share of the chunk to be worth it, or the chain is compressed and the task runs on
// an I/O lane (`on_lane`: whose budget accounts for fetched values only on the whole-chunk path).
Result<bool> ReadPartFromSpan(const Array::Impl& a, const Region& region, MutableByteView out,
                              const ChunkPart& p, const std::string& key, ScratchPool::Scratch& s,
                              bool on_lane);

}  // namespace zarrpp::internal
