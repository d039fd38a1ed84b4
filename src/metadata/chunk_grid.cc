#include "zarrpp/chunk_grid.h"

#include <algorithm>
#include <string>

#include "src/checked_math.h"

namespace zarrpp {

ChunkGrid ChunkGrid::Regular(const std::vector<uint64_t>& chunk_shape) {
  ChunkGrid g;
  g.axes_.resize(chunk_shape.size());
  for (size_t d = 0; d < chunk_shape.size(); ++d) g.axes_[d].regular = chunk_shape[d];
  return g;
}

Result<ChunkGrid> ChunkGrid::FromAxes(std::vector<AxisSpec> axes) {
  ChunkGrid g;
  g.axes_.resize(axes.size());
  for (size_t d = 0; d < axes.size(); ++d) {
    const std::string where = "chunk_shapes entry " + std::to_string(d);
    Axis& a = g.axes_[d];
    if (axes[d].regular != 0) {
      if (!axes[d].runs.empty()) {
        return Status::InvalidArgument(where + ": both a regular length and a list");
      }
      a.regular = axes[d].regular;
      continue;
    }
    if (axes[d].runs.empty()) {
      return Status::InvalidArgument(where + ": an empty list of chunk edge lengths");
    }
    for (const Run& r : axes[d].runs) {
      if (r.length == 0) return Status::InvalidArgument(where + ": a chunk edge length is 0");
      if (r.count == 0) return Status::InvalidArgument(where + ": a run-length count is 0");
      if (!a.runs.empty() && a.runs.back().length == r.length) {
        ASSIGN_OR_RETURN(a.runs.back().count, internal::CheckedAdd(a.runs.back().count, r.count,
                                                                   where + ": chunk count"));
      } else {
        a.runs.push_back(r);
      }
    }
    a.first_chunk.reserve(a.runs.size());
    a.first_elem.reserve(a.runs.size());
    uint64_t chunk = 0;
    uint64_t elem = 0;
    for (const Run& r : a.runs) {
      a.first_chunk.push_back(chunk);
      a.first_elem.push_back(elem);
      ASSIGN_OR_RETURN(chunk, internal::CheckedAdd(chunk, r.count, where + ": chunk count"));
      ASSIGN_OR_RETURN(uint64_t span,
                       internal::CheckedMul(r.length, r.count, where + ": sum of edge lengths"));
      ASSIGN_OR_RETURN(elem, internal::CheckedAdd(elem, span, where + ": sum of edge lengths"));
    }
    a.count = chunk;
    a.extent = elem;
  }
  return g;
}

bool ChunkGrid::is_regular() const {
  return std::all_of(axes_.begin(), axes_.end(), [](const Axis& a) { return a.regular != 0; });
}

ChunkGrid::AxisSpec ChunkGrid::axis(size_t d) const {
  return AxisSpec{axes_[d].regular, axes_[d].runs};
}

size_t ChunkGrid::RunOfChunk(const Axis& a, uint64_t i) const {
  auto it = std::upper_bound(a.first_chunk.begin(), a.first_chunk.end(), i);
  return static_cast<size_t>(it - a.first_chunk.begin()) - 1;
}

uint64_t ChunkGrid::Index(size_t d, uint64_t x) const {
  const Axis& a = axes_[d];
  if (a.regular != 0) return x / a.regular;
  auto it = std::upper_bound(a.first_elem.begin(), a.first_elem.end(), x);
  const size_t r = static_cast<size_t>(it - a.first_elem.begin()) - 1;
  return a.first_chunk[r] + (x - a.first_elem[r]) / a.runs[r].length;
}

uint64_t ChunkGrid::Origin(size_t d, uint64_t i) const {
  const Axis& a = axes_[d];
  if (a.regular != 0) return i * a.regular;
  const size_t r = RunOfChunk(a, i);
  return a.first_elem[r] + (i - a.first_chunk[r]) * a.runs[r].length;
}

uint64_t ChunkGrid::Length(size_t d, uint64_t i) const {
  const Axis& a = axes_[d];
  if (a.regular != 0) return a.regular;
  return a.runs[RunOfChunk(a, i)].length;
}

uint64_t ChunkGrid::Extent(size_t d) const {
  return axes_[d].regular != 0 ? UINT64_MAX : axes_[d].extent;
}

uint64_t ChunkGrid::Count(size_t d) const {
  return axes_[d].regular != 0 ? UINT64_MAX : axes_[d].count;
}

uint64_t ChunkGrid::ChunksCovering(size_t d, uint64_t extent) const {
  if (extent == 0) return 0;
  const Axis& a = axes_[d];
  if (a.regular != 0) return extent / a.regular + (extent % a.regular != 0 ? 1 : 0);
  return Index(d, extent - 1) + 1;
}

uint64_t ChunkGrid::RoundUp(size_t d, uint64_t extent) const {
  if (extent == 0) return 0;
  const uint64_t i = Index(d, extent - 1);
  return internal::SaturatingAdd(Origin(d, i), Length(d, i));
}

uint64_t ChunkGrid::MaxLength(size_t d) const {
  const Axis& a = axes_[d];
  if (a.regular != 0) return a.regular;
  uint64_t m = 0;
  for (const Run& r : a.runs) m = std::max(m, r.length);
  return m;
}

std::vector<uint64_t> ChunkGrid::DistinctLengths(size_t d) const {
  const Axis& a = axes_[d];
  if (a.regular != 0) return {a.regular};
  std::vector<uint64_t> v;
  v.reserve(a.runs.size());
  for (const Run& r : a.runs) v.push_back(r.length);
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

std::vector<uint64_t> ChunkGrid::ChunkShape(const uint64_t* coords) const {
  std::vector<uint64_t> s(axes_.size());
  for (size_t d = 0; d < axes_.size(); ++d) s[d] = Length(d, coords[d]);
  return s;
}

bool ChunkGrid::Covers(const std::vector<uint64_t>& shape) const {
  if (shape.size() != axes_.size()) return false;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] > Extent(d)) return false;
  }
  return true;
}

bool operator==(const ChunkGrid& a, const ChunkGrid& b) {
  if (a.axes_.size() != b.axes_.size()) return false;
  for (size_t d = 0; d < a.axes_.size(); ++d) {
    if (a.axes_[d].regular != b.axes_[d].regular || a.axes_[d].runs != b.axes_[d].runs) {
      return false;
    }
  }
  return true;
}

}  // namespace zarrpp
