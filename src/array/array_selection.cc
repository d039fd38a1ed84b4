// Array::Read and Array::Write of hyperslab selections and strided views (zarrpp/array.h,
// spec/selections.md).
#include <algorithm>
#include <mutex>
#include <optional>
#include <shared_mutex>

#include "src/array/array_impl.h"
#include "src/array/selection.h"
#include "src/guard.h"
#include "src/types/memory_types.h"

namespace zarrpp {
namespace {

// What a selection call resolved to: done (an error, or nothing to move), the plain Read/Write of
// a box into a dense C-order buffer, or the strided path.
struct Resolved {
  std::optional<Status> done;
  internal::Slab slab;
  DataTypeId memory_type{};
  bool convert = false;
  bool dense = false;
};

Result<Resolved> Resolve(const Array::Impl& a, const Hyperslab& selection, const void* data,
                         size_t element_size, const std::vector<uint64_t>& extents,
                         const std::vector<uint64_t>& strides,
                         std::optional<DataTypeId> memory_type, Conversion mode, bool read,
                         const std::string& what) {
  const ArrayMetadata& m = a.metadata;
  if (m.data_type.is_variable()) {
    return Status::FailedPrecondition(what + ": data type " + m.data_type.name() +
                                      " has no fixed element size; use ReadStrings, "
                                      "WriteStrings or FillStrings");
  }
  Resolved r;
  const size_t esize = m.data_type.size();
  size_t msize = esize;
  r.memory_type = m.data_type.id();
  if (memory_type &&
      !(m.data_type.typed_id() == *memory_type && DataType(*memory_type).size() == esize)) {
    RETURN_IF_ERROR(read ? internal::CheckConversion(m.data_type.id(), *memory_type, mode, what)
                         : internal::CheckConversion(*memory_type, m.data_type.id(), mode, what));
    r.memory_type = *memory_type;
    r.convert = true;
    msize = DataType(*memory_type).size();
  }
  ASSIGN_OR_RETURN(r.slab,
                   internal::CheckHyperslab(m.shape, selection, std::max(esize, msize), what));
  RETURN_IF_ERROR(
      internal::CheckView(data, element_size, extents, strides, r.slab.shape, msize, read, what));
  if (r.slab.elements == 0) {
    r.done = Status::OK();
    return r;
  }
  r.dense = r.slab.is_box && internal::IsDenseCOrder(extents, strides);
  return r;
}

Status ReadSelection(const Array& self, Array::Impl& impl, std::shared_mutex& mu,
                     const Hyperslab& selection, const MutableElementView& out,
                     std::optional<DataTypeId> memory_type, const ReadOptions& options) {
  const std::string what = "read of array '" + impl.path + "'";
  std::optional<Region> dense;
  size_t dense_bytes = 0;
  bool convert = false;
  Status st = internal::Guard(what, [&]() -> Status {
    std::shared_lock lock(mu);
    ASSIGN_OR_RETURN(Resolved r, Resolve(impl, selection, out.data, out.element_size, out.extents,
                                         out.strides, memory_type, options.convert,
                                         /*read=*/true, what));
    if (r.done) return *r.done;
    if (r.dense) {
      dense = r.slab.box;
      dense_bytes = r.slab.elements * out.element_size;
      convert = r.convert;
      return Status::OK();
    }
    const bool batched = options.pipeline.value_or(impl.options.pipeline) == PipelineKind::kBatched;
    return internal::SelectionRead(impl, r.slab, out, r.memory_type, batched, options.cancel,
                                   "ReadOptions::cancel");
  });
  if (!st.ok() || !dense) return st;
  // A box into a dense C-order view is the plain Read (which takes the lock itself).
  const MutableByteView bytes(out.data, dense_bytes);
  return convert ? self.Read(*dense, bytes, *memory_type, options)
                 : self.Read(*dense, bytes, options);
}

Status WriteSelection(Array& self, Array::Impl& impl, std::shared_mutex& mu,
                      const Hyperslab& selection, const ElementView& in,
                      std::optional<DataTypeId> memory_type, const WriteOptions& options) {
  const std::string what = "write of array '" + impl.path + "'";
  std::optional<Region> dense;
  size_t dense_bytes = 0;
  bool convert = false;
  Status st = internal::Guard(what, [&]() -> Status {
    std::shared_lock lock(mu);
    ASSIGN_OR_RETURN(Resolved r, Resolve(impl, selection, in.data, in.element_size, in.extents,
                                         in.strides, memory_type, options.convert,
                                         /*read=*/false, what));
    if (r.done) return *r.done;
    if (r.dense) {
      dense = r.slab.box;
      dense_bytes = r.slab.elements * in.element_size;
      convert = r.convert;
      return Status::OK();
    }
    const bool batched = options.pipeline.value_or(impl.options.pipeline) == PipelineKind::kBatched;
    return internal::SelectionWrite(impl, r.slab, in, r.memory_type,
                                    options.convert == Conversion::kAllowNarrowing, batched,
                                    options.cancel, "WriteOptions::cancel");
  });
  if (!st.ok() || !dense) return st;
  const ByteView bytes(in.data, dense_bytes);
  return convert ? self.Write(*dense, bytes, *memory_type, options)
                 : self.Write(*dense, bytes, options);
}

}  // namespace

Status Array::Read(const Hyperslab& selection, const MutableElementView& out,
                   const ReadOptions& options) const {
  return ReadSelection(*this, *impl_, metadata_mu_, selection, out, std::nullopt, options);
}

Status Array::Read(const Region& region, const MutableElementView& out,
                   const ReadOptions& options) const {
  return ReadSelection(*this, *impl_, metadata_mu_, Hyperslab::Of(region), out, std::nullopt,
                       options);
}

Status Array::Read(const Hyperslab& selection, const MutableElementView& out,
                   DataTypeId memory_type, const ReadOptions& options) const {
  return ReadSelection(*this, *impl_, metadata_mu_, selection, out, memory_type, options);
}

Status Array::Write(const Hyperslab& selection, const ElementView& in,
                    const WriteOptions& options) {
  return WriteSelection(*this, *impl_, metadata_mu_, selection, in, std::nullopt, options);
}

Status Array::Write(const Region& region, const ElementView& in, const WriteOptions& options) {
  return WriteSelection(*this, *impl_, metadata_mu_, Hyperslab::Of(region), in, std::nullopt,
                        options);
}

Status Array::Write(const Hyperslab& selection, const ElementView& in, DataTypeId memory_type,
                    const WriteOptions& options) {
  return WriteSelection(*this, *impl_, metadata_mu_, selection, in, memory_type, options);
}

}  // namespace zarrpp
