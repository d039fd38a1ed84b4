// src/pipeline/shape_chains.h - the codecs of an array whose chunks differ in shape.
//
// On a rectilinear chunk grid every chunk has its own shape, so the codec chain (and the span
// decoder of partial reads) is prepared per distinct chunk shape and shared by the workers of a
// handle. The pipelines walk such a grid as they walk a regular one (ChunksTouching, LocateChunk
// in src/pipeline/pipeline.h) and take each chunk's codecs from here (BindCodecs).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "codecs/codec_chain.h"
#include "codecs/partial_decode.h"
#include "src/array/array_impl.h"
#include "src/pipeline/pipeline.h"

namespace zarrpp::internal {

// What the pipelines need to decode and encode chunks of one shape.
struct ShapeCodecs {
  uint64_t owner = 0;  // ShapeChains::id() of the handle's codecs that prepared it
  std::vector<uint64_t> shape;
  std::shared_ptr<const PreparedChain> chain;
  std::shared_ptr<const SpanDecoder> span_decoder;  // null when the chain has none
};

// Codecs of one codec list prepared per chunk shape. Holds at most kMaxShapes at once (then it
// starts again), so a grid of many distinct shapes costs bounded memory; a caller keeps what it
// was given alive for as long as it uses it. Thread-safe.
class ShapeChains {
 public:
  static constexpr size_t kMaxShapes = 1024;
  ShapeChains(CodecChain chain, DataType dtype, FillValue fill, bool skip_checksum)
      : chain_(std::move(chain)),
        dtype_(dtype),
        fill_(std::move(fill)),
        skip_checksum_(skip_checksum) {}
  Result<std::shared_ptr<const ShapeCodecs>> For(const std::vector<uint64_t>& shape);
  // Unique in the process, so that codecs a scratch object still holds are never taken for
  // another handle's.
  uint64_t id() const { return id_; }

 private:
  CodecChain chain_;
  DataType dtype_;
  FillValue fill_;
  bool skip_checksum_;
  const uint64_t id_ = next_id_.fetch_add(1) + 1;
  static inline std::atomic<uint64_t> next_id_{0};
  std::mutex mu_;
  std::map<std::vector<uint64_t>, std::shared_ptr<const ShapeCodecs>> prepared_;
};

// Sets up a.shape_chains for a rectilinear array (a.metadata.rectilinear set) and checks that
// sharding can cut every chunk shape into its inner chunks: InvalidArgument naming the dimension
// and the edge otherwise.
Status PrepareShapeChains(Array::Impl& a, const CodecChain& chain);

// ChunksTouching and LocateChunk (src/pipeline/pipeline.h) on a rectilinear grid.
ChunkSpan ChunksTouchingGrid(const ChunkGrid& g, const Region& region);
void LocateChunkOnGrid(const ArrayMetadata& m, const Region& region, const ChunkSpan& span,
                       uint64_t index, ChunkPart& part);

// The region of the chunk at `coords`, clipped to the array's shape (either grid).
Region ChunkRegionOf(const ArrayMetadata& m, const std::vector<uint64_t>& coords);

}  // namespace zarrpp::internal
