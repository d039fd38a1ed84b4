// zarrpp/array_batch.h - appends to several arrays, published together: all chunks first, then
// the metadata documents in a fixed order.
//
// An appending writer of several arrays (a time coordinate and the fields indexed by it) that
// calls Array::Append on each in turn leaves them with different lengths if it dies between two
// calls. An ArrayBatch writes the chunks of every staged append first and only then, in Commit,
// the arrays' zarr.json documents, one set() each, in the order the arrays were first staged.
// No store offers a transaction over several keys, so the documents are still published one by
// one; what a reader can see at each point (spec/concurrency.md, "Several arrays"):
//
//   - Before Commit, and after a crash before it: every array has its old shape and old values.
//     Staged data lies past the stored extent (a chunk straddling the old edge is rewritten with
//     its old elements unchanged), so no reader of the stored shape sees it.
//   - During Commit, and after a crash inside it: the first k arrays in staging order have their
//     new shape and the others their old one, for some k. Never any other combination.
//   - After Commit: every array has its new shape.
//
// So stage the arrays that are indexed first and the index (coordinate) array last: a reader
// that takes the coordinate's length as the length of the data never sees a coordinate value
// whose fields are not published. After a crash, the next Append of each array writes from its
// stored extent again (overwriting the unpublished data); a Resize that grows an array instead
// shows the unpublished values where it grows (as after a failed Array::Append).
//
// Thread safety: one ArrayBatch is used by one thread at a time. The arrays' handles stay usable
// by other threads: each staged Append holds its handle exclusively while it writes chunks, as
// Array::Append does, and readers of the handle see the published shape until Commit. The shape
// of a staged array must not change through other calls before Commit (FailedPrecondition).
//
// Ownership: the batch shares ownership of the arrays it staged until Commit or destruction.
// Destroying a batch without Commit publishes nothing (the chunks written stay, unseen).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "zarrpp/array.h"
#include "zarrpp/bytes.h"
#include "zarrpp/metadata.h"
#include "zarrpp/status.h"

namespace zarrpp {

class ArrayBatch {
 public:
  ArrayBatch() = default;
  ArrayBatch(const ArrayBatch&) = delete;
  ArrayBatch& operator=(const ArrayBatch&) = delete;

  // Writes `data` (C order, `data_shape`) past the array's extent along `axis`, after whatever
  // this batch already staged for it; its metadata is not written. Checks and errors as
  // Array::Append (InvalidArgument before any I/O); a failed call stages nothing (the batch's
  // earlier appends stay staged). A null array is InvalidArgument.
  Status Append(const std::shared_ptr<Array>& array, ByteView data,
                const std::vector<uint64_t>& data_shape, size_t axis);
  template <typename T>
  Status Append(const std::shared_ptr<Array>& array, std::span<const T> data,
                const std::vector<uint64_t>& data_shape, size_t axis) {
    if (array) RETURN_IF_ERROR(array->CheckType(DataTypeOf<std::remove_cv_t<T>>::id, sizeof(T)));
    return Append(array, ByteView(reinterpret_cast<const uint8_t*>(data.data()), data.size_bytes()),
                  data_shape, axis);
  }

  // The arrays staged and not yet published, in publication order.
  size_t pending() const { return entries_.size() - published_; }

  // Publishes every staged array: first checks that each handle still has the shape it had
  // when first staged (FailedPrecondition naming the array otherwise, and nothing is published),
  // then writes each array's metadata document, one set() each, in the order the arrays were
  // first staged; each handle takes its new shape when its document is written. When writing
  // the document of array k fails, Commit returns that error naming the array: arrays before k
  // are published, k and later are not, and a later Commit publishes the rest. After a Commit
  // that succeeds the batch is empty and can be reused.
  Status Commit();

 private:
  struct Entry {
    std::shared_ptr<Array> array;
    std::vector<uint64_t> published_shape;  // the handle's shape when first staged
    ArrayMetadata staged;                   // the metadata Commit writes
  };
  std::vector<Entry> entries_;
  size_t published_ = 0;  // entries_[0, published_) are written
};

}  // namespace zarrpp
