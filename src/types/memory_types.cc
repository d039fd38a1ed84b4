#include "src/types/memory_types.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <tuple>
#include <utility>

#include "src/array/indexing.h"
#include "src/first_error.h"
#include "src/pipeline/pipeline.h"
#include "src/types/float16.h"

namespace zarrpp::internal {
namespace {

enum class Kind { kBool, kSigned, kUnsigned, kFloat };

// One convertible type: its storage, kind and significant binary digits (for floats the
// significand's, hidden bit included).
template <typename S, Kind K, int Digits, bool Half = false>
struct Type {
  using Storage = S;
  static constexpr Kind kind = K;
  static constexpr int digits = Digits;
  static constexpr bool half = Half;
};

// Indexed by DataTypeId (kBool = 0 ... kFloat64 = 11).
using Types =
    std::tuple<Type<uint8_t, Kind::kBool, 1>, Type<int8_t, Kind::kSigned, 7>,
               Type<int16_t, Kind::kSigned, 15>, Type<int32_t, Kind::kSigned, 31>,
               Type<int64_t, Kind::kSigned, 63>, Type<uint8_t, Kind::kUnsigned, 8>,
               Type<uint16_t, Kind::kUnsigned, 16>, Type<uint32_t, Kind::kUnsigned, 32>,
               Type<uint64_t, Kind::kUnsigned, 64>, Type<uint16_t, Kind::kFloat, 11, true>,
               Type<float, Kind::kFloat, 24>, Type<double, Kind::kFloat, 53>>;
constexpr size_t kNumTypes = std::tuple_size_v<Types>;
static_assert(static_cast<size_t>(DataTypeId::kFloat64) + 1 == kNumTypes);

template <typename F, typename T>
constexpr bool Exact() {
  if constexpr (std::is_same_v<F, T> || F::kind == Kind::kBool) {
    return true;
  } else if constexpr (T::kind == Kind::kBool) {
    return false;
  } else if constexpr (F::kind == Kind::kFloat) {
    return T::kind == Kind::kFloat && T::digits > F::digits;
  } else if constexpr (T::kind == Kind::kFloat) {
    return F::digits <= T::digits;
  } else if constexpr (F::kind == Kind::kSigned && T::kind == Kind::kUnsigned) {
    return false;
  } else {
    return T::digits >= F::digits;
  }
}

// A float element as a double (exact).
template <typename F>
double ToDouble(typename F::Storage v) {
  if constexpr (F::half) {
    return HalfToDouble(v);
  } else {
    return static_cast<double>(v);
  }
}

// 2^n as a double (exact for the n used here).
constexpr double Pow2(int n) {
  double r = 1;
  for (int i = 0; i < n; ++i) r *= 2;
  return r;
}

// Converts one element; false when it does not fit (the rules of Conversion::kAllowNarrowing).
template <typename F, typename T>
inline bool ConvertOne(typename F::Storage v, typename T::Storage& out) {
  using TS = typename T::Storage;
  if constexpr (std::is_same_v<F, T>) {
    out = v;
    return true;
  } else if constexpr (F::kind == Kind::kBool) {
    const bool b = v != 0;
    if constexpr (T::half) {
      out = b ? 0x3c00 : 0;
    } else {
      out = static_cast<TS>(b ? 1 : 0);
    }
    return true;
  } else if constexpr (T::kind == Kind::kBool) {
    if constexpr (F::kind == Kind::kFloat) {
      const double t = std::trunc(ToDouble<F>(v));
      if (!(t == 0 || t == 1)) return false;  // NaN fails too
      out = t == 1 ? 1 : 0;
    } else {
      if (!(v == 0 || v == 1)) return false;
      out = static_cast<TS>(v);
    }
    return true;
  } else if constexpr (T::kind != Kind::kFloat) {  // to an integer
    if constexpr (F::kind == Kind::kFloat) {
      const double t = std::trunc(ToDouble<F>(v));
      constexpr double lo = T::kind == Kind::kSigned ? -Pow2(T::digits) : 0.0;
      constexpr double hi = Pow2(T::digits);   // exclusive
      if (!(t >= lo && t < hi)) return false;  // NaN and infinities fail too
      out = static_cast<TS>(t);
      return true;
    } else {
      if (!std::in_range<TS>(v)) return false;
      out = static_cast<TS>(v);
      return true;
    }
  } else if constexpr (T::half) {  // to float16
    const double d = F::kind == Kind::kFloat ? ToDouble<F>(v) : static_cast<double>(v);
    const uint16_t h = DoubleToHalf(d);
    if (HalfIsInf(h) && !std::isinf(d)) return false;
    out = h;
    return true;
  } else if constexpr (F::half) {  // float16 to float32/float64: exact
    out = static_cast<TS>(HalfToDouble(v));
    return true;
  } else if constexpr (F::kind == Kind::kFloat) {  // float to float
    if constexpr (!Exact<F, T>()) {
      // float64 -> float32: magnitudes from 2^128 - 2^103 (the midpoint between the largest
      // float and 2^128) round to infinity; converting them is undefined behaviour in C++.
      static_assert(T::digits == 24 && F::digits == 53);
      constexpr double limit = Pow2(128) - Pow2(103);
      if (std::isfinite(v) && !(std::fabs(v) < limit)) return false;
    }
    out = static_cast<TS>(v);
    return true;
  } else {  // integer to float32/float64: one rounding, never out of range
    out = static_cast<TS>(v);
    return true;
  }
}

template <typename F, typename T>
uint64_t Run(const uint8_t* src, uint8_t* dst, uint64_t n) {
  using FS = typename F::Storage;
  using TS = typename T::Storage;
  if constexpr (std::is_same_v<F, T>) {
    std::memcpy(dst, src, n * sizeof(FS));
    return n;
  } else if constexpr (Exact<F, T>()) {
    for (uint64_t i = 0; i < n; ++i) {
      FS v;
      TS o{};
      std::memcpy(&v, src + i * sizeof(FS), sizeof(FS));
      ConvertOne<F, T>(v, o);
      std::memcpy(dst + i * sizeof(TS), &o, sizeof(TS));
    }
    return n;
  } else {
    for (uint64_t i = 0; i < n; ++i) {
      FS v;
      TS o{};
      std::memcpy(&v, src + i * sizeof(FS), sizeof(FS));
      if (!ConvertOne<F, T>(v, o)) return i;
      std::memcpy(dst + i * sizeof(TS), &o, sizeof(TS));
    }
    return n;
  }
}

using RunFn = uint64_t (*)(const uint8_t*, uint8_t*, uint64_t);

template <size_t I, size_t... J>
constexpr std::array<RunFn, kNumTypes> RunRow(std::index_sequence<J...>) {
  return {&Run<std::tuple_element_t<I, Types>, std::tuple_element_t<J, Types>>...};
}
template <size_t... I>
constexpr std::array<std::array<RunFn, kNumTypes>, kNumTypes> RunTable(std::index_sequence<I...>) {
  return {RunRow<I>(std::make_index_sequence<kNumTypes>{})...};
}
constexpr auto kRun = RunTable(std::make_index_sequence<kNumTypes>{});

template <size_t I, size_t... J>
constexpr std::array<bool, kNumTypes> ExactRow(std::index_sequence<J...>) {
  return {Exact<std::tuple_element_t<I, Types>, std::tuple_element_t<J, Types>>()...};
}
template <size_t... I>
constexpr std::array<std::array<bool, kNumTypes>, kNumTypes> ExactTable(std::index_sequence<I...>) {
  return {ExactRow<I>(std::make_index_sequence<kNumTypes>{})...};
}
constexpr auto kExact = ExactTable(std::make_index_sequence<kNumTypes>{});

size_t Index(DataTypeId id) {
  return static_cast<size_t>(id);
}

std::string TypeName(DataTypeId id) {
  return DataType(id).name();
}

}  // namespace

bool IsConvertibleType(DataTypeId id) {
  return Index(id) < kNumTypes;
}

bool IsExactConversion(DataTypeId from, DataTypeId to) {
  return kExact[Index(from)][Index(to)];
}

Status CheckConversion(DataTypeId from, DataTypeId to, Conversion mode, const std::string& what) {
  if (!IsConvertibleType(from) || !IsConvertibleType(to)) {
    return Status::InvalidArgument(
        what + ": cannot convert between data type " + DataType(from).name() + " and memory type " +
        DataType(to).name() +
        " (conversion covers bool, int8..int64, uint8..uint64, float16, float32, float64)");
  }
  if (mode != Conversion::kAllowNarrowing && !IsExactConversion(from, to)) {
    return Status::InvalidArgument(what + ": converting " + TypeName(from) + " to " + TypeName(to) +
                                   " is not exact for every value; pass "
                                   "Conversion::kAllowNarrowing to allow it");
  }
  return Status::OK();
}

uint64_t ConvertElements(const uint8_t* src, DataTypeId from, uint8_t* dst, DataTypeId to,
                         uint64_t n) {
  return kRun[Index(from)][Index(to)](src, dst, n);
}

std::string FormatElement(const uint8_t* p, DataTypeId type) {
  char buf[64];
  switch (type) {
    case DataTypeId::kBool: return p[0] != 0 ? "true" : "false";
    case DataTypeId::kInt8: return std::to_string(static_cast<int8_t>(p[0]));
    case DataTypeId::kUInt8: return std::to_string(p[0]);
    case DataTypeId::kInt16: {
      int16_t v;
      std::memcpy(&v, p, 2);
      return std::to_string(v);
    }
    case DataTypeId::kUInt16: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return std::to_string(v);
    }
    case DataTypeId::kInt32: {
      int32_t v;
      std::memcpy(&v, p, 4);
      return std::to_string(v);
    }
    case DataTypeId::kUInt32: {
      uint32_t v;
      std::memcpy(&v, p, 4);
      return std::to_string(v);
    }
    case DataTypeId::kInt64: {
      int64_t v;
      std::memcpy(&v, p, 8);
      return std::to_string(v);
    }
    case DataTypeId::kUInt64: {
      uint64_t v;
      std::memcpy(&v, p, 8);
      return std::to_string(v);
    }
    case DataTypeId::kFloat16: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      std::snprintf(buf, sizeof(buf), "%.5g", HalfToDouble(v));
      return buf;
    }
    case DataTypeId::kFloat32: {
      float v;
      std::memcpy(&v, p, 4);
      std::snprintf(buf, sizeof(buf), "%.9g", static_cast<double>(v));
      return buf;
    }
    case DataTypeId::kFloat64: {
      double v;
      std::memcpy(&v, p, 8);
      std::snprintf(buf, sizeof(buf), "%.17g", v);
      return buf;
    }
    default: return "?";
  }
}

uint64_t ConvertBox(const uint8_t* src, DataTypeId from, const std::vector<uint64_t>& src_shape,
                    const uint64_t* src_origin, uint8_t* dst, DataTypeId to,
                    const std::vector<uint64_t>& dst_shape, const uint64_t* dst_origin,
                    const std::vector<uint64_t>& box_shape) {
  const RunFn run_fn = kRun[Index(from)][Index(to)];
  const size_t ssize = DataType(from).size();
  const size_t dsize = DataType(to).size();
  const size_t rank = box_shape.size();
  if (rank == 0) return run_fn(src, dst, 1) == 1 ? 1 : 0;
  uint64_t total = 1;
  for (uint64_t s : box_shape) total *= s;
  if (total == 0) return 0;
  // Trailing dimensions the box spans in both buffers form one run.
  size_t outer = rank;
  uint64_t run = 1;
  while (outer > 0) {
    const size_t k = outer - 1;
    run *= box_shape[k];
    outer = k;
    if (box_shape[k] != src_shape[k] || box_shape[k] != dst_shape[k]) break;
  }
  std::vector<uint64_t> src_stride(rank), dst_stride(rank);  // in elements
  uint64_t s = 1, t = 1;
  for (size_t d = rank; d-- > 0;) {
    src_stride[d] = s;
    dst_stride[d] = t;
    s *= src_shape[d];
    t *= dst_shape[d];
  }
  uint64_t sp = 0, dp = 0;
  for (size_t d = 0; d < rank; ++d) {
    sp += src_origin[d] * src_stride[d];
    dp += dst_origin[d] * dst_stride[d];
  }
  std::vector<uint64_t> idx(outer, 0);
  uint64_t done = 0;
  while (true) {
    const uint64_t got = run_fn(src + sp * ssize, dst + dp * dsize, run);
    if (got != run) return done + got;
    done += run;
    size_t d = outer;
    while (true) {
      if (d == 0) return total;
      --d;
      sp += src_stride[d];
      dp += dst_stride[d];
      if (++idx[d] < box_shape[d]) break;
      sp -= src_stride[d] * box_shape[d];
      dp -= dst_stride[d] * box_shape[d];
      idx[d] = 0;
    }
  }
}

namespace {

// Chunk-aligned boxes ("tiles") of a region: each one chunk or, for chunks smaller than
// min_task_bytes, a box of whole chunks along the trailing dimensions up to about that size.
struct Tiling {
  ChunkSpan span;
  std::vector<uint64_t> per;    // chunks per tile along each dimension
  std::vector<uint64_t> tiles;  // tiles along each dimension
  uint64_t total = 0;
};

Tiling TileRegion(const Array::Impl& a, const Region& region, size_t elem_bytes) {
  const ArrayMetadata& m = a.metadata;
  Tiling t;
  t.span = ChunksTouching(m, region);
  const size_t r = m.rank();
  t.per.assign(r, 1);
  t.tiles.assign(r, 1);
  t.total = t.span.total;
  if (t.total == 0 || r == 0) return t;
  const uint64_t chunk_bytes = std::max<uint64_t>(1, m.chunk_elements() * elem_bytes);
  uint64_t budget = std::max<uint64_t>(1, a.options.min_task_bytes / chunk_bytes);
  for (size_t d = r; d-- > 0;) {
    t.per[d] = std::min(t.span.count[d], budget);
    budget = t.per[d] == t.span.count[d] ? std::max<uint64_t>(1, budget / t.per[d]) : 1;
  }
  t.total = 1;
  for (size_t d = 0; d < r; ++d) {
    t.tiles[d] = (t.span.count[d] + t.per[d] - 1) / t.per[d];
    t.total *= t.tiles[d];
  }
  return t;
}

// The part of `region` tile `index` covers: `sub` in array coordinates and its origin in the
// region buffer.
void LocateTile(const ArrayMetadata& m, const Region& region, const Tiling& t, uint64_t index,
                Region& sub, std::vector<uint64_t>& in_region) {
  const size_t r = m.rank();
  sub.origin.resize(r);
  sub.shape.resize(r);
  in_region.resize(r);
  for (size_t d = r; d-- > 0;) {
    const uint64_t tc = index % t.tiles[d];
    index /= t.tiles[d];
    const uint64_t c = m.chunk_shape[d];
    const uint64_t first = t.span.first[d] + tc * t.per[d];
    const uint64_t last = std::min(first + t.per[d], t.span.first[d] + t.span.count[d]);
    const uint64_t lo = std::max(first * c, region.origin[d]);
    const uint64_t hi = std::min(last * c, region.origin[d] + region.shape[d]);
    sub.origin[d] = lo;
    sub.shape[d] = hi - lo;
    in_region[d] = lo - region.origin[d];
  }
}

// The C-order index in `region` of element `box_index` of the box at `in_region` of `box_shape`.
uint64_t RegionIndex(const Region& region, const std::vector<uint64_t>& in_region,
                     const std::vector<uint64_t>& box_shape, uint64_t box_index) {
  const size_t r = box_shape.size();
  std::vector<uint64_t> at(r);
  for (size_t d = r; d-- > 0;) {
    at[d] = in_region[d] + box_index % box_shape[d];
    box_index /= box_shape[d];
  }
  return LinearOffset(region.shape, at.data());
}

Status DoesNotFit(const Array::Impl& a, std::string_view op, uint64_t index, std::string value,
                  DataTypeId from, DataTypeId to) {
  return Status::InvalidArgument(std::string(op) + " of array '" + a.path + "': element " +
                                 std::to_string(index) + " of the region (" + TypeName(from) +
                                 " value " + value + ") does not fit in " + TypeName(to));
}

Status Cancelled(const Array::Impl& a, std::string_view op) {
  return Status::FailedPrecondition(std::string(op) + " of array '" + a.path +
                                    "': cancelled (ArrayOptions::cancel)");
}

}  // namespace

Status ConvertingRead(Array::Impl& a, const Region& region, MutableByteView out,
                      DataTypeId memory_type, bool batched) {
  const ArrayMetadata& m = a.metadata;
  const DataTypeId from = m.data_type.id();
  const size_t esize = m.data_type.size();
  const Tiling t = TileRegion(a, region, esize);
  if (t.total == 0) return Status::OK();
  FirstError err;
  const uint64_t tile_bytes =
      std::max<uint64_t>(a.options.min_task_bytes, m.chunk_elements() * std::max<size_t>(1, esize));
  ForEachTask(a, t.total, tile_bytes, err, [&](ScratchPool::Scratch& s, CpuGate* gate, uint64_t i) {
    Status st = [&]() -> Status {
      if (a.options.cancel && a.options.cancel()) return Cancelled(a, "read");
      Region sub;
      std::vector<uint64_t> in_region;
      LocateTile(m, region, t, i, sub, in_region);
      s.extra.resize(sub.num_elements() * esize);
      RETURN_IF_ERROR(batched ? BatchedRead(a, sub, s.extra) : FusedRead(a, sub, s.extra));
      CpuToken token(gate);
      const std::vector<uint64_t> zero(m.rank(), 0);
      const uint64_t n = sub.num_elements();
      const uint64_t got = ConvertBox(s.extra.data(), from, sub.shape, zero.data(), out.data(),
                                      memory_type, region.shape, in_region.data(), sub.shape);
      if (got != n) {
        return DoesNotFit(a, "read", RegionIndex(region, in_region, sub.shape, got),
                          FormatElement(s.extra.data() + got * esize, from), from, memory_type);
      }
      return Status::OK();
    }();
    if (!st.ok()) err.Set(std::move(st));
  });
  return err.status();
}

Status ConvertingWrite(Array::Impl& a, const Region& region, ByteView in, DataTypeId memory_type,
                       bool narrowing, bool batched) {
  const ArrayMetadata& m = a.metadata;
  const DataTypeId to = m.data_type.id();
  const size_t esize = m.data_type.size();
  const size_t msize = DataType(memory_type).size();
  const uint64_t n = region.num_elements();
  if (narrowing && !IsExactConversion(memory_type, to)) {
    // Every element must convert before anything is written.
    constexpr uint64_t kBlock = 8192;
    const uint64_t blocks = (n + kBlock - 1) / kBlock;
    std::atomic<uint64_t> first_bad{n};
    a.executor->ParallelFor(blocks, 16, [&](size_t begin, size_t end) {
      std::array<uint8_t, kBlock * 8> buf;
      for (size_t b = begin; b < end; ++b) {
        const uint64_t lo = b * kBlock;
        if (lo >= first_bad.load(std::memory_order_relaxed)) return;
        const uint64_t cnt = std::min(kBlock, n - lo);
        const uint64_t got =
            ConvertElements(in.data() + lo * msize, memory_type, buf.data(), to, cnt);
        if (got != cnt) {
          uint64_t cur = first_bad.load();
          while (lo + got < cur && !first_bad.compare_exchange_weak(cur, lo + got)) {
          }
          return;
        }
      }
    });
    const uint64_t bad = first_bad.load();
    if (bad != n) {
      return DoesNotFit(a, "write", bad, FormatElement(in.data() + bad * msize, memory_type),
                        memory_type, to);
    }
  }
  const Tiling t = TileRegion(a, region, std::max(esize, msize));
  if (t.total == 0) return Status::OK();
  FirstError err;
  const uint64_t tile_bytes =
      std::max<uint64_t>(a.options.min_task_bytes, m.chunk_elements() * std::max<size_t>(1, esize));
  ForEachTask(a, t.total, tile_bytes, err, [&](ScratchPool::Scratch& s, CpuGate* gate, uint64_t i) {
    Status st = [&]() -> Status {
      if (a.options.cancel && a.options.cancel()) return Cancelled(a, "write");
      Region sub;
      std::vector<uint64_t> in_region;
      LocateTile(m, region, t, i, sub, in_region);
      s.extra.resize(sub.num_elements() * esize);
      {
        CpuToken token(gate);
        const std::vector<uint64_t> zero(m.rank(), 0);
        const uint64_t cnt = sub.num_elements();
        const uint64_t got = ConvertBox(in.data(), memory_type, region.shape, in_region.data(),
                                        s.extra.data(), to, sub.shape, zero.data(), sub.shape);
        if (got != cnt) {
          // Only without the check above, which an exact pair never needs.
          const uint64_t at = RegionIndex(region, in_region, sub.shape, got);
          return DoesNotFit(a, "write", at, FormatElement(in.data() + at * msize, memory_type),
                            memory_type, to);
        }
      }
      const WriteSource src{s.extra.data(), false};
      return batched ? BatchedWrite(a, sub, src) : FusedWrite(a, sub, src);
    }();
    if (!st.ok()) err.Set(std::move(st));
  });
  return err.status();
}

}  // namespace zarrpp::internal
