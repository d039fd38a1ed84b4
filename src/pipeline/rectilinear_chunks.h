// src/pipeline/rectilinear_chunks.h - reads and writes of arrays on a rectilinear chunk grid.
//
// Every chunk of such a grid has its own shape, so the codec chain is prepared per distinct
// chunk shape (ShapeChains, shared by the workers of a handle). Reads fetch, decode and scatter
// whole chunks; writes gather into the chunk (reading it first when the write covers only part
// of its in-bounds elements), encode and store it, one task per chunk under the chunk's key lock.
// Chunk keys are those of the regular grid at the same grid position.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "codecs/codec_chain.h"
#include "src/array/array_impl.h"
#include "src/pipeline/pipeline.h"

namespace zarrpp::internal {

// Chains of one codec list prepared per chunk shape. Holds at most kMaxShapes at once (then it
// starts again), so a grid of many distinct shapes costs bounded memory.
class ShapeChains {
 public:
  static constexpr size_t kMaxShapes = 1024;
  ShapeChains(CodecChain chain, DataType dtype, FillValue fill)
      : chain_(std::move(chain)), dtype_(dtype), fill_(std::move(fill)) {}
  Result<std::shared_ptr<const PreparedChain>> For(const std::vector<uint64_t>& shape);

 private:
  CodecChain chain_;
  DataType dtype_;
  FillValue fill_;
  std::mutex mu_;
  std::map<std::vector<uint64_t>, std::shared_ptr<const PreparedChain>> prepared_;
};

// Sets up a.shape_chains for a rectilinear array (a.metadata.rectilinear set) and checks that
// sharding can cut every chunk shape into its inner chunks: InvalidArgument naming the dimension
// and the edge otherwise.
Status PrepareRectilinear(Array::Impl& a, const CodecChain& chain);

// The region of the chunk at `coords`, clipped to the array's shape.
Region RectilinearChunkRegion(const ArrayMetadata& m, const std::vector<uint64_t>& coords);

Status RectilinearRead(Array::Impl& a, const Region& region, MutableByteView out);
Status RectilinearWrite(Array::Impl& a, const Region& region, WriteSource src);

}  // namespace zarrpp::internal
