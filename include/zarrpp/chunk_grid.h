// zarrpp/chunk_grid.h - how an array's index space is cut into chunks.
//
// A ChunkGrid holds, for each dimension, the edge lengths of the chunks along it: either one
// length repeated without end (a regular axis, as in the "regular" chunk grid) or a finite
// sequence of lengths (an axis of the "rectilinear" chunk grid, spec/metadata.md). A sequence is
// held run-length encoded, so its memory follows the size of the metadata that declared it, not
// the number of chunks. Chunk i of dimension d spans [Origin(d, i), Origin(d, i) + Length(d, i));
// a chunk may extend past the array's shape (the overhang holds the fill value, as for regular
// grids).
//
// Thread safety: values.
#pragma once

#include <cstdint>
#include <vector>

#include "zarrpp/status.h"

namespace zarrpp {

class ChunkGrid {
 public:
  // `count` consecutive chunks of edge `length` (both > 0).
  struct Run {
    uint64_t length = 0;
    uint64_t count = 0;
    friend bool operator==(const Run&, const Run&) = default;
  };
  // The chunk edges of one dimension: `regular` > 0 for an unbounded regular axis, else `runs`.
  struct AxisSpec {
    uint64_t regular = 0;
    std::vector<Run> runs;
  };

  ChunkGrid() = default;
  // The regular grid of `chunk_shape` (every entry > 0, checked by the metadata).
  static ChunkGrid Regular(const std::vector<uint64_t>& chunk_shape);
  // A grid of the given axes. Adjacent runs of equal length are merged. InvalidArgument for a
  // zero length or count, an axis with neither form, or an axis whose lengths add up past 2^64.
  static Result<ChunkGrid> FromAxes(std::vector<AxisSpec> axes);

  size_t rank() const { return axes_.size(); }
  // True when every axis is regular.
  bool is_regular() const;
  bool axis_is_regular(size_t d) const { return axes_[d].regular != 0; }
  // The axis as declared (runs merged).
  AxisSpec axis(size_t d) const;

  // The index of the chunk holding element x of dimension d; x < Extent(d).
  uint64_t Index(size_t d, uint64_t x) const;
  // The first element of chunk i of dimension d; i < Count(d).
  uint64_t Origin(size_t d, uint64_t i) const;
  // The edge length of chunk i of dimension d; i < Count(d).
  uint64_t Length(size_t d, uint64_t i) const;
  // The elements of dimension d the chunks cover: the sum of the lengths (UINT64_MAX when
  // regular). An array's extent along d may not exceed it.
  uint64_t Extent(size_t d) const;
  // The chunks declared along d (UINT64_MAX when regular).
  uint64_t Count(size_t d) const;
  // The chunks holding any of the first `extent` elements of d: ceil for a regular axis.
  uint64_t ChunksCovering(size_t d, uint64_t extent) const;
  // The end of the chunk holding element extent - 1 (0 for 0): `extent` rounded up to a chunk
  // boundary. extent <= Extent(d).
  uint64_t RoundUp(size_t d, uint64_t extent) const;
  // The largest edge length along d (the regular length for a regular axis).
  uint64_t MaxLength(size_t d) const;
  // The distinct edge lengths along d, ascending.
  std::vector<uint64_t> DistinctLengths(size_t d) const;
  // The shape of the chunk at grid position `coords` (rank entries, each < Count(d)).
  std::vector<uint64_t> ChunkShape(const uint64_t* coords) const;
  // True when every dimension covers `shape` (same rank).
  bool Covers(const std::vector<uint64_t>& shape) const;

  friend bool operator==(const ChunkGrid& a, const ChunkGrid& b);

 private:
  struct Axis {
    uint64_t regular = 0;
    std::vector<Run> runs;
    std::vector<uint64_t> first_chunk;  // per run: index of its first chunk
    std::vector<uint64_t> first_elem;   // per run: first element of its first chunk
    uint64_t count = 0;                 // chunks (runs only)
    uint64_t extent = 0;                // sum of lengths (runs only)
  };
  size_t RunOfChunk(const Axis& a, uint64_t i) const;
  std::vector<Axis> axes_;
};

}  // namespace zarrpp
