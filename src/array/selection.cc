#include "src/array/selection.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <numeric>
#include <optional>

#include "src/array/indexing.h"
#include "src/checked_math.h"
#include "src/first_error.h"
#include "src/pipeline/chunk_cache.h"
#include "src/pipeline/pipeline.h"
#include "src/pipeline/strided_copy.h"
#include "src/store_internal.h"
#include "src/types/memory_types.h"

namespace zarrpp {

std::string Hyperslab::ToString() const {
  std::string s = "[";
  for (size_t d = 0; d < start.size(); ++d) {
    if (d > 0) s += ", ";
    s += "start=" + std::to_string(start[d]) + " stride=" + std::to_string(stride_at(d)) +
         " count=" + (d < count.size() ? std::to_string(count[d]) : std::string("?")) +
         " block=" + std::to_string(block_at(d));
  }
  return s + "]";
}

namespace internal {
namespace {

std::string Dim(size_t d) {
  return "dimension " + std::to_string(d);
}

// A run of selected indices along one dimension: `len` indices from array index `at`, which are
// selection indices `out`, `out + 1`, ... of that dimension.
struct Run {
  uint64_t at;
  uint64_t len;
  uint64_t out;
};

// True when the selection along `d` is one run of consecutive indices.
bool Contiguous(const Slab& s, size_t d) {
  return s.count[d] <= 1 || s.stride[d] == s.block[d];
}

// The runs of the selection along `d` inside the array indices [lo, hi), in order, adjacent runs
// merged.
void RunsIn(const Slab& s, size_t d, uint64_t lo, uint64_t hi, std::vector<Run>& runs) {
  runs.clear();
  const uint64_t st = s.start[d], sd = s.stride[d], b = s.block[d], n = s.count[d];
  if (Contiguous(s, d)) {
    const uint64_t a = std::max(lo, st), e = std::min(hi, st + s.shape[d]);
    if (a < e) runs.push_back(Run{a, e - a, a - st});
    return;
  }
  // Block i is [st + i * sd, st + i * sd + b); it meets [lo, hi) when it ends after lo and starts
  // before hi.
  const uint64_t i0 = lo < st + b ? 0 : (lo - st - b) / sd + 1;
  const uint64_t i1 = hi <= st ? 0 : std::min(n, (hi - st - 1) / sd + 1);
  for (uint64_t i = i0; i < i1; ++i) {
    const uint64_t bs = st + i * sd;
    const uint64_t a = std::max(bs, lo), e = std::min(bs + b, hi);
    if (a >= e) continue;
    const uint64_t out = i * b + (a - bs);
    if (!runs.empty() && runs.back().at + runs.back().len == a &&
        runs.back().out + runs.back().len == out) {
      runs.back().len += e - a;
    } else {
      runs.push_back(Run{a, e - a, out});
    }
  }
}

// The chunks along one dimension that hold a selected index, in order.
struct DimChunks {
  bool range = false;  // chunks first .. first + n - 1
  uint64_t first = 0;
  uint64_t n = 0;
  std::vector<uint64_t> list;  // otherwise
  uint64_t at(uint64_t k) const { return range ? first + k : list[k]; }
};

DimChunks ChunksOf(const Slab& s, size_t d, uint64_t c) {
  DimChunks dc;
  if (Contiguous(s, d)) {
    dc.range = true;
    dc.first = s.start[d] / c;
    dc.n = (s.start[d] + s.shape[d] - 1) / c - dc.first + 1;
    return dc;
  }
  for (uint64_t i = 0; i < s.count[d]; ++i) {
    const uint64_t bs = s.start[d] + i * s.stride[d];
    uint64_t c0 = bs / c;
    const uint64_t c1 = (bs + s.block[d] - 1) / c;
    if (!dc.list.empty()) c0 = std::max(c0, dc.list.back() + 1);
    for (uint64_t k = c0; k <= c1; ++k) dc.list.push_back(k);
  }
  dc.n = dc.list.size();
  return dc;
}

// Moves the elements of the product of `runs` between a C-order box (pointer `bp` at the box's
// origin `box_origin`, strides `bstride` in bytes) and the caller's view (pointer `vp` at the
// selection's origin, strides `vstride` in bytes), visiting the dimensions in `order` (outermost
// first; level `level` is dimension order[level]). leaf(box, box_stride, view, view_stride, n)
// moves one run along the innermost dimension and returns how many elements it moved; fewer than
// n stops the walk with the selection coordinates of the failed element in `at`.
template <typename Leaf>
bool Walk(size_t level, const size_t* order, const std::vector<std::vector<Run>>& runs,
          const uint64_t* box_origin, const uint64_t* bstride, const uint64_t* vstride, uint8_t* bp,
          uint8_t* vp, std::vector<uint64_t>& at, Leaf& leaf) {
  const size_t d = order[level];
  if (level + 1 == runs.size()) {
    for (const Run& run : runs[d]) {
      uint8_t* b = bp + (run.at - box_origin[d]) * bstride[d];
      uint8_t* v = vp + run.out * vstride[d];
      const uint64_t got = leaf(b, bstride[d], v, vstride[d], run.len);
      if (got != run.len) {
        at[d] = run.out + got;
        return false;
      }
    }
    return true;
  }
  for (const Run& run : runs[d]) {
    uint8_t* b = bp + (run.at - box_origin[d]) * bstride[d];
    uint8_t* v = vp + run.out * vstride[d];
    for (uint64_t j = 0; j < run.len; ++j) {
      at[d] = run.out + j;
      if (!Walk(level + 1, order, runs, box_origin, bstride, vstride, b, v, at, leaf)) {
        return false;
      }
      b += bstride[d];
      v += vstride[d];
    }
  }
  return true;
}

// The order in which to visit the dimensions: the view's largest stride outermost and its
// smallest innermost, so the caller's memory (large, not in cache) is walked in address order
// while the scratch box (one chunk, in cache) takes the strided side. C order for a C-order view.
std::vector<size_t> ViewOrder(const std::vector<uint64_t>& strides,
                              const std::vector<uint64_t>& extents) {
  std::vector<size_t> order(strides.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    const uint64_t sx = extents[x] <= 1 ? std::numeric_limits<uint64_t>::max() : strides[x];
    const uint64_t sy = extents[y] <= 1 ? std::numeric_limits<uint64_t>::max() : strides[y];
    return sx > sy;
  });
  return order;
}

// The order for a copy without conversion: ViewOrder, except that the box's contiguous dimension
// (the last) moves next to the innermost, so the last two levels are one 2-D copy that is
// contiguous on both sides along the innermost (a memcpy per row) or on each side along a
// different one (a tiled transpose, e.g. into a Fortran-order view).
std::vector<size_t> CopyOrder(std::vector<size_t> order) {
  const size_t r = order.size();
  if (r < 2 || order[r - 1] == r - 1) return order;
  order.erase(std::find(order.begin(), order.end(), r - 1));
  order.insert(order.end() - 1, r - 1);
  return order;
}

// Copies, without conversion, the elements of the product of `runs` between a C-order box and
// the caller's view (pointers and byte strides as for Walk), visiting the dimensions in `order`;
// the last two levels are one CopyStrided2D per pair of runs. to_view: box -> view, else
// view -> box.
void CopyRuns(size_t level, const size_t* order, const std::vector<std::vector<Run>>& runs,
              const uint64_t* box_origin, const uint64_t* bstride, const uint64_t* vstride,
              uint8_t* bp, uint8_t* vp, size_t esize, bool to_view) {
  const size_t r = runs.size();
  const size_t d = order[level];
  if (level + 1 == r) {  // rank 1
    for (const Run& run : runs[d]) {
      uint8_t* b = bp + (run.at - box_origin[d]) * bstride[d];
      uint8_t* v = vp + run.out * vstride[d];
      if (to_view) {
        CopyStrided1D(b, bstride[d], v, vstride[d], run.len, esize);
      } else {
        CopyStrided1D(v, vstride[d], b, bstride[d], run.len, esize);
      }
    }
    return;
  }
  if (level + 2 == r) {
    const size_t e = order[level + 1];
    for (const Run& ro : runs[d]) {
      for (const Run& ri : runs[e]) {
        uint8_t* b =
            bp + (ro.at - box_origin[d]) * bstride[d] + (ri.at - box_origin[e]) * bstride[e];
        uint8_t* v = vp + ro.out * vstride[d] + ri.out * vstride[e];
        if (to_view) {
          CopyStrided2D(b, bstride[d], bstride[e], v, vstride[d], vstride[e], ro.len, ri.len,
                        esize);
        } else {
          CopyStrided2D(v, vstride[d], vstride[e], b, bstride[d], bstride[e], ro.len, ri.len,
                        esize);
        }
      }
    }
    return;
  }
  for (const Run& run : runs[d]) {
    uint8_t* b = bp + (run.at - box_origin[d]) * bstride[d];
    uint8_t* v = vp + run.out * vstride[d];
    for (uint64_t j = 0; j < run.len; ++j) {
      CopyRuns(level + 1, order, runs, box_origin, bstride, vstride, b, v, esize, to_view);
      b += bstride[d];
      v += vstride[d];
    }
  }
}

// Converts n elements of `from` at src (stride ss bytes) to `to` at dst (stride ds bytes);
// returns how many converted before the first that does not fit.
uint64_t ConvertStrided(const uint8_t* src, DataTypeId from, uint64_t ss, uint8_t* dst,
                        DataTypeId to, uint64_t ds, uint64_t n, size_t from_size, size_t to_size) {
  if (ss == from_size && ds == to_size) return ConvertElements(src, from, dst, to, n);
  for (uint64_t i = 0; i < n; ++i) {
    if (ConvertElements(src + i * ss, from, dst + i * ds, to, 1) != 1) return i;
  }
  return n;
}

uint64_t LinearIndex(const std::vector<uint64_t>& shape, const std::vector<uint64_t>& at) {
  uint64_t off = 0;
  for (size_t d = 0; d < shape.size(); ++d) off = off * shape[d] + at[d];
  return off;
}

bool OneRunEach(const std::vector<std::vector<Run>>& runs) {
  for (const std::vector<Run>& rd : runs) {
    if (rd.size() != 1) return false;
  }
  return true;
}

// Where the first element of the runs (one per dimension) goes in the view.
uint8_t* ViewAt(const MutableElementView& out, const std::vector<std::vector<Run>>& runs,
                const std::vector<uint64_t>& vstride) {
  uint8_t* at = out.data;
  for (size_t d = 0; d < runs.size(); ++d) at += runs[d][0].out * vstride[d];
  return at;
}

// Reads `box` (inside one shard, one run per dimension) of a sharded array straight into the
// view: the codec decodes each touched inner chunk once and copies its part into place.
Status ShardPartIntoView(Array::Impl& a, const std::vector<std::vector<Run>>& runs,
                         const Region& box, const MutableElementView& out,
                         const std::vector<uint64_t>& vstride, bool batched) {
  const ArrayMetadata& m = a.metadata;
  const size_t r = m.rank();
  std::vector<uint64_t> coords(r), in_chunk(r), zero(r, 0);
  for (size_t d = 0; d < r; ++d) {
    coords[d] = box.origin[d] / m.chunk_shape[d];
    in_chunk[d] = box.origin[d] - coords[d] * m.chunk_shape[d];
  }
  PartialCodecContext ctx = PartialContextFor(a, coords.data(), a.ChunkKey(coords.data()));
  ctx.staged = batched;
  ctx.out_strides = vstride.data();
  return a.partial->PartialDecode(a.chain->decoded_spec(), ctx, in_chunk.data(), box.shape,
                                  ViewAt(out, runs, vstride), box.shape, zero.data());
}

Status Cancelled(const Array::Impl& a, const std::function<bool()>& cancel, const char* name,
                 const char* op) {
  if (a.options.cancel && a.options.cancel()) {
    return Status::FailedPrecondition(std::string(op) + " of array '" + a.path +
                                      "': cancelled (ArrayOptions::cancel)");
  }
  if (cancel && cancel()) {
    return Status::FailedPrecondition(std::string(op) + " of array '" + a.path + "': cancelled (" +
                                      name + ")");
  }
  return Status::OK();
}

// The scratch a task may hold for its part of a selection in a sharded array: beyond this,
// shards are split into cells of whole inner chunks.
constexpr uint64_t kMaxCellBytes = uint64_t{16} << 20;

// The cells of the grid the selection is planned on: each task handles the selected elements of
// one cell. The chunk shape, except for a sharded array whose shards exceed kMaxCellBytes (and
// one inner chunk): then a box of whole inner chunks that divides the shard, as large as fits
// (trailing dimensions first), so a task's scratch stays bounded and cells never straddle shards.
std::vector<uint64_t> CellShape(const Array::Impl& a) {
  const ArrayMetadata& m = a.metadata;
  const ShardingCodec* sharding =
      a.partial == nullptr
          ? nullptr
          : dynamic_cast<const ShardingCodec*>(a.chain->chain().array_to_bytes().get());
  const uint64_t esize = std::max<uint64_t>(1, m.data_type.size());
  if (sharding == nullptr || m.chunk_elements() * esize <= kMaxCellBytes) return m.chunk_shape;
  const std::vector<uint64_t>& inner = sharding->chunk_shape();
  uint64_t bytes = esize;
  for (uint64_t e : inner) bytes *= e;
  std::vector<uint64_t> cell = inner;
  for (size_t d = m.rank(); d-- > 0;) {
    const uint64_t per = m.chunk_shape[d] / inner[d];
    uint64_t f = std::min<uint64_t>(per, std::max<uint64_t>(1, kMaxCellBytes / bytes));
    while (per % f != 0) --f;
    cell[d] = inner[d] * f;
    bytes *= f;
    if (f < per) break;
  }
  return cell;
}

// The cells holding a selected element, and where each one's part of the selection lies.
struct Plan {
  std::vector<uint64_t> cell;
  std::vector<DimChunks> dims;
  uint64_t total = 1;  // cells
};

Plan PlanChunks(const Array::Impl& a, const Slab& s) {
  Plan p;
  p.cell = CellShape(a);
  for (size_t d = 0; d < a.metadata.rank(); ++d) {
    p.dims.push_back(ChunksOf(s, d, p.cell[d]));
    p.total *= p.dims.back().n;  // at most s.elements: every cell holds a selected element
  }
  return p;
}

// The runs of cell `index` (C order over the plan's cells) per dimension, and the box that bounds
// them.
void LocatePart(const ArrayMetadata& m, const Slab& s, const Plan& p, uint64_t index,
                std::vector<std::vector<Run>>& runs, Region& box) {
  const size_t r = m.rank();
  runs.resize(r);
  box.origin.resize(r);
  box.shape.resize(r);
  for (size_t d = r; d-- > 0;) {
    const uint64_t k = index % p.dims[d].n;
    index /= p.dims[d].n;
    const uint64_t c = p.cell[d];
    const uint64_t lo = p.dims[d].at(k) * c;
    const uint64_t hi = std::min(lo + c, m.shape[d]);
    RunsIn(s, d, lo, hi, runs[d]);
    box.origin[d] = runs[d].front().at;
    box.shape[d] = runs[d].back().at + runs[d].back().len - box.origin[d];
  }
}

// The bytes one task of `plan` holds decoded (a cell of elements of `esize` bytes), at least
// min_task_bytes so that dispatch never dominates. Cells are at most a chunk, whose size the
// handle's limits already bound, so the product cannot overflow.
uint64_t PartBytes(const Array::Impl& a, const Plan& plan, size_t esize) {
  uint64_t bytes = std::max<size_t>(1, esize);
  for (uint64_t c : plan.cell) bytes *= c;
  return std::max<uint64_t>(a.options.min_task_bytes, bytes);
}

Status DoesNotFit(const Array::Impl& a, const char* op, uint64_t index, const std::string& value,
                  DataTypeId from, DataTypeId to) {
  return Status::InvalidArgument(std::string(op) + " of array '" + a.path + "': element " +
                                 std::to_string(index) + " of the selection (" +
                                 DataType(from).name() + " value " + value + ") does not fit in " +
                                 DataType(to).name());
}

std::vector<uint64_t> ByteStrides(const std::vector<uint64_t>& strides, size_t esize) {
  std::vector<uint64_t> b(strides.size());
  for (size_t d = 0; d < strides.size(); ++d) b[d] = strides[d] * esize;
  return b;
}

// The decoded chunk at `coords` (C order, the full chunk shape) in the task's scratch: fetched
// whole, then decoded under a CPU token taken into `token` (an identity chain's stored bytes are
// the chunk); a missing chunk is the fill value.
Result<uint8_t*> DecodedChunk(const Array::Impl& a, const uint64_t* coords,
                              ScratchPool::Scratch& sc, CpuGate* gate,
                              std::optional<CpuToken>& token, bool batched = false) {
  const ArrayMetadata& m = a.metadata;
  const size_t esize = m.data_type.size();
  const uint64_t chunk_bytes = a.chain->decoded_spec().num_bytes();
  const std::string key = a.ChunkKey(coords);
  // The encoded chunk: the store's own bytes when it holds them in memory (pinned in `sc` until
  // the caller has copied out of them), else a copy in sc.fetched.
  ByteView encoded;
  ASSIGN_OR_RETURN(const ReadResult read,
                   internal::ReadWhole(*a.store, key, false, sc.pinned, sc.fetched, encoded));
  token.emplace(gate);
  if (!read.found) {
    sc.chunk.resize(chunk_bytes);
    FillElements(sc.chunk.data(), chunk_bytes / esize, m.fill_value.bytes.data(), esize);
    return sc.chunk.data();
  }
  if (a.chain->is_identity()) {
    if (encoded.size() != chunk_bytes) {
      return Status::Corruption("chunk '" + key + "': holds " + std::to_string(encoded.size()) +
                                " bytes, expected " + std::to_string(chunk_bytes));
    }
    // Only read from: the caller copies out of it into its view.
    return const_cast<uint8_t*>(encoded.data());
  }
  if (batched) {
    // The batched pipeline's decode: one codec at a time, each into a buffer of its own.
    std::vector<Bytes> decoded;
    RETURN_IF_ERROR(a.chain->DecodeBatch({encoded}, {1}, decoded, *InlineExecutor(), 1,
                                         [&](size_t) { return "chunk '" + key + "'"; }));
    sc.chunk.swap(decoded[0]);
    return sc.chunk.data();
  }
  sc.chunk.resize(chunk_bytes);
  RETURN_IF_ERROR_CTX(a.chain->Decode(encoded, sc.chunk, sc.chain), "chunk '" + key + "'");
  return sc.chunk.data();
}

}  // namespace

Result<Slab> CheckHyperslab(const std::vector<uint64_t>& array_shape, const Hyperslab& h,
                            size_t element_size, const std::string& what) {
  const size_t r = array_shape.size();
  if (h.start.size() != r || h.count.size() != r || (!h.stride.empty() && h.stride.size() != r) ||
      (!h.block.empty() && h.block.size() != r)) {
    return Status::InvalidArgument(
        what + ": hyperslab with start, stride, count, block of " + std::to_string(h.start.size()) +
        ", " + std::to_string(h.stride.size()) + ", " + std::to_string(h.count.size()) + ", " +
        std::to_string(h.block.size()) + " entries for an array of rank " + std::to_string(r) +
        " (stride and block may be empty)");
  }
  Slab s;
  s.start = h.start;
  s.count = h.count;
  s.stride.resize(r);
  s.block.resize(r);
  s.shape.resize(r);
  bool empty = false;
  for (size_t d = 0; d < r; ++d) {
    s.stride[d] = h.stride_at(d);
    s.block[d] = h.block_at(d);
    const uint64_t st = s.stride[d], b = s.block[d], n = s.count[d];
    if (st == 0) return Status::InvalidArgument(what + ": " + Dim(d) + ": stride is 0");
    if (n > 1 && st < b) {
      return Status::InvalidArgument(what + ": " + Dim(d) + ": stride " + std::to_string(st) +
                                     " is less than block " + std::to_string(b) +
                                     " (blocks would overlap)");
    }
    auto ext = CheckedMul(n, b, "count * block");
    if (!ext.ok()) {
      return Status::InvalidArgument(what + ": " + Dim(d) + ": count " + std::to_string(n) +
                                     " * block " + std::to_string(b) + " overflows");
    }
    s.shape[d] = *ext;
    if (*ext == 0) {
      empty = true;
      continue;
    }
    const uint64_t span_blocks = SaturatingMul(n - 1, st);
    const uint64_t last = SaturatingAdd(SaturatingAdd(h.start[d], span_blocks), b - 1);
    if (last >= array_shape[d]) {
      return Status::InvalidArgument(
          what + ": " + Dim(d) + ": hyperslab (start " + std::to_string(h.start[d]) + ", stride " +
          std::to_string(st) + ", count " + std::to_string(n) + ", block " + std::to_string(b) +
          ") reaches index " +
          (last == std::numeric_limits<uint64_t>::max() ? std::string("beyond 2^64")
                                                        : std::to_string(last)) +
          ", outside the array's extent " + std::to_string(array_shape[d]));
    }
  }
  s.elements = 1;
  for (size_t d = 0; d < r; ++d) {
    auto e = CheckedMul(s.elements, s.shape[d], "elements");
    if (!e.ok()) return Status::InvalidArgument(what + ": the hyperslab's element count overflows");
    s.elements = *e;
  }
  if (empty) s.elements = 0;
  if (!CheckedMul(s.elements, std::max<size_t>(1, element_size), "bytes").ok()) {
    return Status::InvalidArgument(what + ": the hyperslab's byte size overflows");
  }
  s.is_box = true;
  for (size_t d = 0; d < r; ++d) s.is_box = s.is_box && Contiguous(s, d);
  if (s.is_box) s.box = Region{s.start, s.shape};
  return s;
}

bool IsDenseCOrder(const std::vector<uint64_t>& extents, const std::vector<uint64_t>& strides) {
  uint64_t n = 1;
  for (size_t d = extents.size(); d-- > 0;) {
    if (extents[d] != 1 && strides[d] != n) return false;
    n *= extents[d];
  }
  return true;
}

Status CheckView(const void* data, size_t element_size, const std::vector<uint64_t>& extents,
                 const std::vector<uint64_t>& strides, const std::vector<uint64_t>& shape,
                 size_t expected_element_size, bool destination, const std::string& what) {
  const size_t r = shape.size();
  if (extents.size() != r || strides.size() != r) {
    return Status::InvalidArgument(what + ": view with " + std::to_string(extents.size()) +
                                   " extents and " + std::to_string(strides.size()) +
                                   " strides for a selection of rank " + std::to_string(r));
  }
  if (element_size != expected_element_size) {
    return Status::InvalidArgument(what + ": view of " + std::to_string(element_size) +
                                   "-byte elements, expected " +
                                   std::to_string(expected_element_size) + "-byte elements");
  }
  bool empty = false;
  for (size_t d = 0; d < r; ++d) {
    if (extents[d] != shape[d]) {
      return Status::InvalidArgument(what + ": " + Dim(d) + ": view extent " +
                                     std::to_string(extents[d]) + ", selection extent " +
                                     std::to_string(shape[d]));
    }
    empty = empty || extents[d] == 0;
  }
  if (empty) return Status::OK();
  if (data == nullptr) return Status::InvalidArgument(what + ": view of null memory");
  uint64_t span = 0;  // elements after the first
  for (size_t d = 0; d < r; ++d) {
    auto part = CheckedMul(extents[d] - 1, strides[d], "span");
    auto sum = part.ok() ? CheckedAdd(span, *part, "span") : part;
    if (!sum.ok()) {
      return Status::InvalidArgument(
          what + ": " + Dim(d) + ": view extent " + std::to_string(extents[d]) + " with stride " +
          std::to_string(strides[d]) + " reaches beyond the address space");
    }
    span = *sum;
  }
  const auto bytes = CheckedMul(span, element_size, "bytes");
  const uint64_t room = std::numeric_limits<uintptr_t>::max() - reinterpret_cast<uintptr_t>(data);
  if (!bytes.ok() || *bytes >= static_cast<uint64_t>(std::numeric_limits<ptrdiff_t>::max()) ||
      *bytes > room || room - *bytes < element_size) {
    return Status::InvalidArgument(what + ": the view spans " + std::to_string(span) +
                                   " elements past its start, beyond the address space");
  }
  if (!destination) return Status::OK();
  std::vector<size_t> dims;
  for (size_t d = 0; d < r; ++d) {
    if (extents[d] > 1) dims.push_back(d);
  }
  std::stable_sort(dims.begin(), dims.end(),
                   [&](size_t x, size_t y) { return strides[x] < strides[y]; });
  for (size_t k = 0; k < dims.size(); ++k) {
    const size_t d = dims[k];
    if (strides[d] == 0) {
      return Status::InvalidArgument(what + ": " + Dim(d) + ": stride 0 puts " +
                                     std::to_string(extents[d]) +
                                     " elements of the view at one address");
    }
    if (k > 0) {
      const size_t p = dims[k - 1];
      if (strides[d] < SaturatingMul(strides[p], extents[p])) {
        return Status::InvalidArgument(
            what + ": " + Dim(d) + " (stride " + std::to_string(strides[d]) + ") and " + Dim(p) +
            " (stride " + std::to_string(strides[p]) + ", extent " + std::to_string(extents[p]) +
            ") overlap: a read's view must not put two elements at one address");
      }
    }
  }
  return Status::OK();
}

Status SelectionRead(Array::Impl& a, const Slab& s, const MutableElementView& out,
                     DataTypeId memory_type, bool batched, const std::function<bool()>& cancel,
                     const char* cancel_name) {
  const ArrayMetadata& m = a.metadata;
  const DataTypeId from = m.data_type.id();
  const size_t esize = m.data_type.size();
  const size_t msize = out.element_size;
  const bool convert = memory_type != from;
  const size_t r = m.rank();
  const std::vector<uint64_t> vstride = ByteStrides(out.strides, msize);
  const std::vector<size_t> order = ViewOrder(out.strides, out.extents);
  const std::vector<size_t> copy_order = CopyOrder(order);
  if (r == 0) {
    RETURN_IF_ERROR(Cancelled(a, cancel, cancel_name, "read"));
    std::vector<uint8_t> one(esize);
    const Region all{{}, {}};
    RETURN_IF_ERROR(batched ? BatchedRead(a, all, one) : FusedRead(a, all, one));
    if (!convert) {
      std::memcpy(out.data, one.data(), esize);
    } else if (ConvertElements(one.data(), from, out.data, memory_type, 1) != 1) {
      return DoesNotFit(a, "read", 0, FormatElement(one.data(), from), from, memory_type);
    }
    return Status::OK();
  }
  const Plan plan = PlanChunks(a, s);
  const uint64_t part_bytes = PartBytes(a, plan, esize);
  // A chunk of an unsharded array, read without a cache or completion-based store operations,
  // is decoded once (by the batched pipeline codec by codec) and its selected part copied
  // straight into the view (no copy of the box between them); a part read from spans of its
  // chunk (span_decoder) is that only when it is the whole chunk.
  const bool direct = a.partial == nullptr && !a.chunk_cache && !a.async_io && !m.rectilinear &&
                      plan.cell == m.chunk_shape;
  // A cell of a sharded array whose part of the selection has no gaps is decoded by the codec
  // straight into the view: each inner chunk decoded once and copied (ctx.out_strides).
  const bool direct_sharded = a.partial != nullptr && !m.rectilinear && !a.chunk_cache && !convert;
  // Through a chunk cache, each unit's part is copied from the cached decoded unit into the view.
  const bool direct_cached = a.chunk_cache && !m.rectilinear && !convert;
  FirstError err;
  ForEachTask(
      a, plan.total, part_bytes, err, [&](ScratchPool::Scratch& sc, CpuGate* gate, uint64_t i) {
        // A chunk read in place is released once this task has copied out of it.
        struct Unpin {
          ScratchPool::Scratch& sc;
          ~Unpin() { sc.pinned.reset(); }
        } unpin{sc};
        Status st = [&]() -> Status {
          RETURN_IF_ERROR(Cancelled(a, cancel, cancel_name, "read"));
          std::vector<std::vector<Run>> runs;
          Region box;
          LocatePart(m, s, plan, i, runs, box);
          if (direct_sharded && OneRunEach(runs)) {
            return ShardPartIntoView(a, runs, box, out, vstride, batched);
          }
          if (direct_cached && OneRunEach(runs)) {
            return CachedReadStrided(a, box, ViewAt(out, runs, vstride), vstride.data());
          }
          // `src` holds the elements of `box`: the decoded chunk itself when the part is read
          // straight from its chunk, else the box read through the pipeline.
          uint8_t* src = nullptr;
          std::optional<CpuToken> token;
          if (direct && (a.span_decoder == nullptr || box.num_elements() == m.chunk_elements())) {
            std::vector<uint64_t> coords(r);
            for (size_t d = 0; d < r; ++d) {
              coords[d] = box.origin[d] / m.chunk_shape[d];
              box.origin[d] = coords[d] * m.chunk_shape[d];
              box.shape[d] = m.chunk_shape[d];
            }
            ASSIGN_OR_RETURN(src, DecodedChunk(a, coords.data(), sc, gate, token, batched));
          } else {
            sc.extra.resize(box.num_elements() * esize);
            RETURN_IF_ERROR(batched ? BatchedRead(a, box, sc.extra) : FusedRead(a, box, sc.extra));
            token.emplace(gate);
            src = sc.extra.data();
          }
          const std::vector<uint64_t> bstride = ByteStrides(COrderStrides(box.shape), esize);
          std::vector<uint64_t> at(r, 0);
          if (!convert) {
            CopyRuns(0, copy_order.data(), runs, box.origin.data(), bstride.data(), vstride.data(),
                     src, out.data, esize, /*to_view=*/true);
            return Status::OK();
          }
          auto leaf = [&](uint8_t* b, uint64_t bs, uint8_t* v, uint64_t vs, uint64_t n) {
            return ConvertStrided(b, from, bs, v, memory_type, vs, n, esize, msize);
          };
          if (!Walk(0, order.data(), runs, box.origin.data(), bstride.data(), vstride.data(), src,
                    out.data, at, leaf)) {
            std::vector<uint64_t> in_box(r);
            for (size_t d = 0; d < r; ++d) {
              // The array index of selection index at[d] along d.
              const uint64_t blk = at[d] / s.block[d], j = at[d] % s.block[d];
              in_box[d] = s.start[d] + blk * s.stride[d] + j - box.origin[d];
            }
            const uint8_t* e = src + LinearIndex(box.shape, in_box) * esize;
            return DoesNotFit(a, "read", LinearIndex(s.shape, at), FormatElement(e, from), from,
                              memory_type);
          }
          return Status::OK();
        }();
        if (!st.ok()) err.Set(std::move(st));
      });
  return err.status();
}

Status SelectionWrite(Array::Impl& a, const Slab& s, const ElementView& in, DataTypeId memory_type,
                      bool narrowing, bool batched, const std::function<bool()>& cancel,
                      const char* cancel_name) {
  const ArrayMetadata& m = a.metadata;
  const DataTypeId to = m.data_type.id();
  const size_t esize = m.data_type.size();
  const size_t msize = in.element_size;
  const bool convert = memory_type != to;
  const size_t r = m.rank();
  const std::vector<uint64_t> vstride = ByteStrides(in.strides, msize);
  const std::vector<size_t> order = ViewOrder(in.strides, in.extents);
  const std::vector<size_t> copy_order = CopyOrder(order);
  uint8_t* vbase = const_cast<uint8_t*>(in.data);  // only read through
  if (convert && narrowing && !IsExactConversion(memory_type, to)) {
    // Every element must convert before anything is written.
    std::vector<std::vector<Run>> all(r);
    for (size_t d = 0; d < r; ++d) all[d] = {Run{0, s.shape[d], 0}};
    std::vector<uint64_t> zero(r, 0), at(r, 0);
    std::vector<size_t> corder(r);  // C order: the first element that does not fit is reported
    std::iota(corder.begin(), corder.end(), 0);
    uint8_t tmp[16];
    auto leaf = [&](uint8_t*, uint64_t, uint8_t* v, uint64_t vs, uint64_t n) -> uint64_t {
      for (uint64_t i = 0; i < n; ++i) {
        if (ConvertElements(v + i * vs, memory_type, tmp, to, 1) != 1) return i;
      }
      return n;
    };
    const bool ok = r == 0 ? leaf(nullptr, 0, vbase, 0, 1) == 1
                           : Walk(0, corder.data(), all, zero.data(), zero.data(), vstride.data(),
                                  tmp, vbase, at, leaf);
    if (!ok) {
      uint64_t off = 0;
      for (size_t d = 0; d < r; ++d) off += at[d] * in.strides[d];
      return DoesNotFit(a, "write", LinearIndex(s.shape, at),
                        FormatElement(in.data + off * msize, memory_type), memory_type, to);
    }
  }
  if (r == 0) {
    RETURN_IF_ERROR(Cancelled(a, cancel, cancel_name, "write"));
    std::vector<uint8_t> one(esize);
    if (!convert) {
      std::memcpy(one.data(), in.data, esize);
    } else if (ConvertElements(in.data, memory_type, one.data(), to, 1) != 1) {
      return DoesNotFit(a, "write", 0, FormatElement(in.data, memory_type), memory_type, to);
    }
    const Region all{{}, {}};
    const WriteSource src{one.data(), false};
    return batched ? BatchedWrite(a, all, src) : FusedWrite(a, all, src);
  }
  const Plan plan = PlanChunks(a, s);
  const uint64_t part_bytes = PartBytes(a, plan, esize);
  FirstError err;
  ForEachTask(
      a, plan.total, part_bytes, err, [&](ScratchPool::Scratch& sc, CpuGate* gate, uint64_t i) {
        Status st = [&]() -> Status {
          RETURN_IF_ERROR(Cancelled(a, cancel, cancel_name, "write"));
          std::vector<std::vector<Run>> runs;
          Region bound;
          LocatePart(m, s, plan, i, runs, bound);
          // Each box of the product of runs is one partial write (one when the chunk's part of
          // the selection has no gaps), so elements between blocks keep what is stored.
          std::vector<size_t> k(r, 0);
          std::vector<std::vector<Run>> one(r, std::vector<Run>(1));
          Region box{std::vector<uint64_t>(r), std::vector<uint64_t>(r)};
          std::vector<uint64_t> at(r, 0);
          while (true) {
            for (size_t d = 0; d < r; ++d) {
              one[d][0] = runs[d][k[d]];
              box.origin[d] = one[d][0].at;
              box.shape[d] = one[d][0].len;
            }
            sc.extra.resize(box.num_elements() * esize);
            {
              CpuToken token(gate);
              const std::vector<uint64_t> bstride = ByteStrides(COrderStrides(box.shape), esize);
              if (!convert) {
                CopyRuns(0, copy_order.data(), one, box.origin.data(), bstride.data(),
                         vstride.data(), sc.extra.data(), vbase, esize, /*to_view=*/false);
              } else {
                auto leaf = [&](uint8_t* b, uint64_t bs, uint8_t* v, uint64_t vs, uint64_t n) {
                  return ConvertStrided(v, memory_type, vs, b, to, bs, n, msize, esize);
                };
                if (!Walk(0, order.data(), one, box.origin.data(), bstride.data(), vstride.data(),
                          sc.extra.data(), vbase, at, leaf)) {
                  // Only without the check above, which an exact pair never needs.
                  uint64_t off = 0;
                  for (size_t d = 0; d < r; ++d) off += at[d] * in.strides[d];
                  return DoesNotFit(a, "write", LinearIndex(s.shape, at),
                                    FormatElement(in.data + off * msize, memory_type), memory_type,
                                    to);
                }
              }
            }
            const WriteSource src{sc.extra.data(), false};
            RETURN_IF_ERROR(batched ? BatchedWrite(a, box, src) : FusedWrite(a, box, src));
            size_t d = r;
            while (d > 0) {
              --d;
              if (++k[d] < runs[d].size()) break;
              k[d] = 0;
              if (d == 0) return Status::OK();
            }
            if (r == 0) return Status::OK();
          }
        }();
        if (!st.ok()) err.Set(std::move(st));
      });
  return err.status();
}

}  // namespace internal
}  // namespace zarrpp
