#include "src/pipeline/span_read.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "codecs/partial_decode.h"
#include "src/array/indexing.h"

namespace zarrpp::internal {

namespace {
// What one store operation costs, in decoded bytes copied, for planning: a request for a few
// bytes of each of many chunks is still worth spreading over workers.
constexpr uint64_t kStoreOperationBytes = 16 << 10;
}  // namespace

uint64_t ReadWorkPerChunk(const Array::Impl& a, const Region& region, uint64_t n_chunks) {
  const uint64_t chunk_bytes = a.chain->decoded_spec().num_bytes();
  // A compressed frame is fetched whole and its blocks decompressed: work of a chunk's order.
  if (a.span_decoder == nullptr || a.span_decoder->compressed() || n_chunks == 0) {
    return chunk_bytes;
  }
  const uint64_t region_bytes = region.num_elements() * a.metadata.data_type.size();
  // Whole chunks are decoded unless the parts are small (ReadPartFromSpan decides per chunk):
  // judged by the span of a part of the region's shape clipped to a chunk.
  if (region_bytes / n_chunks > chunk_bytes / 2) return chunk_bytes;
  if (a.span_decoder->SpanSize(region.shape, &a.metadata.chunk_shape) >
      a.span_decoder->span_space() / 2) {
    return chunk_bytes;
  }
  return std::max<uint64_t>(1, region_bytes / n_chunks);
}

bool ReadInline(const Array::Impl& a, uint64_t n_chunks, uint64_t work_per_chunk) {
  if (a.io_lanes > 0) return false;
  return n_chunks * (work_per_chunk + kStoreOperationBytes) <= a.options.min_task_bytes;
}

Result<bool> ReadPartFromSpan(const Array::Impl& a, const Region& region, MutableByteView out,
                              const ChunkPart& p, const std::string& key, ScratchPool::Scratch& s,
                              bool on_lane) {
  if (p.span_decoder == nullptr || p.covers_chunk) return false;
  const SpanDecoder& d = *p.span_decoder;
  if (d.compressed() && on_lane) return false;
  const SpanDecoder::Span span = d.SpanOf(p.in_chunk.data(), p.shape);
  // Past half the chunk a whole read costs about the same and verifies what it can.
  if (span.end - span.begin > d.span_space() / 2) return false;
  const size_t esize = a.metadata.data_type.size();
  auto fill = [&] {
    FillBox(out.data(), region.shape, p.in_region.data(), p.shape,
            a.metadata.fill_value.bytes.data(), esize);
    return true;
  };
  if (d.compressed() && a.store->capabilities().partial_reads) {
    // The frame's header, block starts and the blocks holding the span, all from one version
    // of the value (a reader pinned to it; a version replaced meanwhile is read again).
    s.chunk.resize(span.end - span.begin);
    for (int attempt = 0; attempt < 3; ++attempt) {
      ASSIGN_OR_RETURN(std::unique_ptr<ValueReader> reader, a.store->open_reader(key));
      if (reader == nullptr) return fill();
      auto read = [&](uint64_t at, MutableByteView dest) -> Result<bool> {
        ASSIGN_OR_RETURN(bool current,
                         reader->read(ByteRange::Bounded(at, at + dest.size()), s.fetched));
        if (!current) return false;
        if (s.fetched.size() != dest.size()) {
          return Status::Corruption("read " + std::to_string(s.fetched.size()) + " bytes at " +
                                    std::to_string(at) + ", asked for " +
                                    std::to_string(dest.size()));
        }
        std::memcpy(dest.data(), s.fetched.data(), dest.size());
        return true;
      };
      Result<bool> current = d.SpanFromReader(reader->size(), read, span, s.chunk.data(), s.extra);
      if (!current.ok()) return current.status().WithContext("chunk '" + key + "'");
      if (!*current) continue;
      RETURN_IF_ERROR_CTX(d.DecodeBox(p.shape, s.chunk, out.data(), region.shape,
                                      p.in_region.data(), s.chain.a, s.chain.b),
                          "chunk '" + key + "'");
      return true;
    }
    // Replaced on every attempt: the whole value below is one version by itself.
  }
  if (d.compressed()) {
    // The whole frame, of which only the blocks holding the span are decompressed.
    ASSIGN_OR_RETURN(bool found, a.store->get_into(key, ByteRange::Whole(), s.fetched));
    if (!found) return fill();
    s.chunk.resize(span.end - span.begin);
    RETURN_IF_ERROR_CTX(d.SpanFromValue(s.fetched, span, s.chunk.data(), s.extra),
                        "chunk '" + key + "'");
    RETURN_IF_ERROR_CTX(d.DecodeBox(p.shape, s.chunk, out.data(), region.shape, p.in_region.data(),
                                    s.chain.a, s.chain.b),
                        "chunk '" + key + "'");
    return true;
  }
  s.fetched.resize(span.end - span.begin);
  ASSIGN_OR_RETURN(std::optional<uint64_t> size, a.store->get_at(key, span.begin, s.fetched));
  if (!size) return fill();
  if (*size != d.value_size()) {
    return Status::Corruption("chunk '" + key + "': holds " + std::to_string(*size) +
                              " bytes, expected " + std::to_string(d.value_size()));
  }
  RETURN_IF_ERROR_CTX(d.DecodeBox(p.shape, s.fetched, out.data(), region.shape, p.in_region.data(),
                                  s.chunk, s.extra),
                      "chunk '" + key + "'");
  return true;
}

}  // namespace zarrpp::internal
