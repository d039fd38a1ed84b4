// src/pipeline/chunk_cache.h - the hooks through which an Array handle uses its ChunkCache
// (ArrayOptions::chunk_cache; contract in zarrpp/chunk_cache.h, spec/caches.md).
#pragma once

#include "zarrpp/array.h"
#include "zarrpp/region.h"

namespace zarrpp::internal {

// At open: wraps the handle's store so that its writes invalidate the cache, and enables cached
// reads when the array's cache unit (chunk, or inner chunk when sharded) fits in the cache.
// Needs the handle's metadata, chain and `partial` set. No-op without a cache.
void AttachChunkCache(Array::Impl& a);
// At creation (Attach): drops every entry under the array's path.
void ForgetCachedChunks(Array::Impl& a);
// Reads `region` into `out` through the cache (a.chunk_cache set): cached units are copied out
// on the calling thread; missing ones are fetched, decoded, kept and copied (on the executor when
// there are several).
Status CachedRead(Array::Impl& a, const Region& region, MutableByteView out);
// As CachedRead, into a strided destination: `out` is where the region's origin goes and
// out_strides (rank entries, bytes) the destination's strides. Each unit's box is copied from the
// cached decoded unit straight into place.
Status CachedReadStrided(Array::Impl& a, const Region& region, uint8_t* out,
                         const uint64_t* out_strides);

}  // namespace zarrpp::internal
