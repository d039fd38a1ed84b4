// src/array/array_batch.cc - appends to several arrays published together (zarrpp/array_batch.h).
#include "zarrpp/array_batch.h"

#include <mutex>
#include <shared_mutex>

#include "src/array/array_impl.h"
#include "src/guard.h"

namespace zarrpp {

Status ArrayBatch::Append(const std::shared_ptr<Array>& array, ByteView data,
                          const std::vector<uint64_t>& data_shape, size_t axis) {
  if (!array) return Status::InvalidArgument("ArrayBatch::Append: null array");
  return internal::Guard("batched append to array '" + array->path() + "'", [&]() -> Status {
    Entry* entry = nullptr;
    for (size_t i = published_; i < entries_.size(); ++i) {
      if (entries_[i].array == array) entry = &entries_[i];
    }
    std::unique_lock lock(array->metadata_mu_);
    ArrayMetadata staged = entry ? entry->staged : array->impl_->metadata;
    RETURN_IF_ERROR(array->AppendChunksLocked(staged, data, data_shape, axis));
    if (entry) {
      entry->staged = std::move(staged);
    } else {
      entries_.push_back(Entry{array, array->impl_->metadata.shape, std::move(staged)});
    }
    return Status::OK();
  });
}

Status ArrayBatch::Commit() {
  return internal::Guard("ArrayBatch::Commit", [&]() -> Status {
    for (size_t i = published_; i < entries_.size(); ++i) {
      const Entry& e = entries_[i];
      std::shared_lock lock(e.array->metadata_mu_);
      if (e.array->impl_->metadata.shape != e.published_shape) {
        return Status::FailedPrecondition(
            "ArrayBatch::Commit: the shape of array '/" + e.array->path() +
            "' changed through another call since it was staged; nothing published");
      }
    }
    for (; published_ < entries_.size(); ++published_) {
      Entry& e = entries_[published_];
      std::unique_lock lock(e.array->metadata_mu_);
      RETURN_IF_ERROR_CTX(e.array->WriteMetadataLocked(e.staged),
                          "ArrayBatch::Commit of array '/" + e.array->path() + "' (" +
                              std::to_string(published_) + " of " +
                              std::to_string(entries_.size()) + " arrays published)");
    }
    entries_.clear();
    published_ = 0;
    return Status::OK();
  });
}

}  // namespace zarrpp
