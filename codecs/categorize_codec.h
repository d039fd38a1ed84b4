// codecs/categorize_codec.h - `numcodecs.categorize`: numcodecs' Categorize (Zarr v2 filter
// "categorize"): each element as the 1-based index of the label it equals, 0 for none.
//
// Configuration {"labels": [strings], "dtype": typestr of the decoded strings ("<U<k>"; NumPy
// "U" arrays are the fixed_length_utf32 type), "astype": integer typestr (default "|u1")}.
// Encoding: an element equal to several labels takes the last one (numcodecs assigns in label
// order); an element equal to none is 0. Decoding: index i in 1..n is label i-1, cut to the
// element's k code points as NumPy's assignment cuts it; any other index is the empty string.
// Object ("|O") arrays, which numcodecs also takes, have no fixed-size chunks here: Unsupported.
//
// Thread safety: immutable; shared between threads.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "codecs/dtype_filter.h"
#include "zarrpp/json.h"

namespace zarrpp {

class CategorizeCodec final : public DtypeFilterCodec {
 public:
  static constexpr std::string_view kName = "numcodecs.categorize";
  static Result<std::shared_ptr<const Codec>> Factory(const Json& configuration);

  const std::vector<std::string>& labels() const { return labels_; }

  std::string_view name() const override { return kName; }
  Json ToJson() const override;
  Status Encode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const override;
  Status Decode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const override;

 private:
  CategorizeCodec() = default;
  std::vector<std::string> labels_;
  // Each label as an element of dtype: whole (for comparing; absent when it does not fit) and
  // cut to the element (for decoding).
  std::vector<std::optional<Bytes>> whole_;
  std::vector<Bytes> cut_;
};

}  // namespace zarrpp
