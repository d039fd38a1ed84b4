#include "codecs/categorize_codec.h"

#include <cstring>

#include "src/types/fixed_strings.h"
#include "zarrpp/json.h"

namespace zarrpp {

namespace {

// The first `units` code points of valid UTF-8 `s` (all of it when it has fewer).
std::string_view FirstCodePoints(std::string_view s, uint64_t units) {
  size_t i = 0;
  for (uint64_t n = 0; i < s.size() && n < units; ++n) {
    ++i;
    while (i < s.size() && (static_cast<uint8_t>(s[i]) & 0xC0) == 0x80) ++i;
  }
  return s.substr(0, i);
}

uint64_t LoadIndex(const uint8_t* p, uint32_t size) {
  uint64_t v = 0;
  std::memcpy(&v, p, size);  // little-endian host
  return v;
}

}  // namespace

Result<std::shared_ptr<const Codec>> CategorizeCodec::Factory(const Json& configuration) {
  const Json c = configuration.is_null() ? Json::object() : configuration;
  if (!c.is_object()) {
    return Status::InvalidArgument("configuration must be an object, got " + c.dump());
  }
  std::shared_ptr<CategorizeCodec> codec(new CategorizeCodec());
  for (const auto& [key, value] : c.items()) {
    if (key != "labels" && key != "dtype" && key != "astype") {
      return Status::InvalidArgument("unexpected configuration field \"" + key + "\"");
    }
  }
  const auto labels = c.find("labels");
  if (labels == c.end() || !labels->is_array()) {
    return Status::InvalidArgument("configuration.labels must be a list of strings");
  }
  for (const Json& l : *labels) {
    if (!l.is_string()) {
      return Status::InvalidArgument("configuration.labels: " + l.dump() + " is not a string");
    }
    codec->labels_.push_back(l.get<std::string>());
  }
  if (!c.contains("dtype")) return Status::InvalidArgument("configuration.dtype is missing");
  ASSIGN_OR_RETURN(codec->dtype_, ParseDtype(c["dtype"], "dtype"));
  codec->dtype_text_ = c["dtype"].get<std::string>();
  if (codec->dtype_.id() != DataTypeId::kFixedUtf32) {
    return Status::Unsupported("configuration.dtype " + c["dtype"].dump() +
                               " is not supported (only NumPy \"U\" strings, fixed_length_utf32)");
  }
  const Json astype = c.value("astype", Json("|u1"));
  ASSIGN_OR_RETURN(codec->astype_, ParseDtype(astype, "astype"));
  codec->astype_text_ = astype.get<std::string>();
  if (!codec->astype_.is_signed_int() && !codec->astype_.is_unsigned_int()) {
    return Status::InvalidArgument("configuration.astype " + astype.dump() +
                                   " is not an integer type");
  }
  const DataType t = codec->dtype_;
  for (const std::string& l : codec->labels_) {
    Bytes whole(t.size());
    if (internal::TextToFixedElement(t, l, whole.data()).ok()) {
      codec->whole_.emplace_back(std::move(whole));
    } else {
      codec->whole_.emplace_back(std::nullopt);
    }
    Bytes cut(t.size());
    RETURN_IF_ERROR_CTX(
        internal::TextToFixedElement(t, FirstCodePoints(l, t.size() / 4), cut.data()),
        "configuration.labels: " + Json(l).dump());
    codec->cut_.push_back(std::move(cut));
  }
  return std::shared_ptr<const Codec>(std::move(codec));
}

Json CategorizeCodec::ToJson() const {
  return {
      {"name", kName},
      {"configuration", {{"labels", labels_}, {"dtype", dtype_text_}, {"astype", astype_text_}}}};
}

Status CategorizeCodec::Encode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const {
  const uint64_t n = decoded.num_elements();
  const uint32_t in = dtype_.size(), out = astype_.size();
  if (src.size() != n * in || dst.size() != n * out) {
    return Status::InvalidArgument("numcodecs.categorize: buffer sizes do not match the chunk");
  }
  for (uint64_t e = 0; e < n; ++e) {
    uint64_t index = 0;
    for (size_t i = whole_.size(); i-- > 0;) {
      if (whole_[i] && std::memcmp(whole_[i]->data(), src.data() + e * in, in) == 0) {
        index = i + 1;
        break;
      }
    }
    std::memcpy(dst.data() + e * out, &index, out);  // little-endian host; numpy casts so
  }
  return Status::OK();
}

Status CategorizeCodec::Decode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const {
  const uint64_t n = decoded.num_elements();
  const uint32_t in = astype_.size(), out = dtype_.size();
  if (src.size() != n * in || dst.size() != n * out) {
    return Status::InvalidArgument("numcodecs.categorize: buffer sizes do not match the chunk");
  }
  std::memset(dst.data(), 0, dst.size());
  for (uint64_t e = 0; e < n; ++e) {
    const uint64_t index = LoadIndex(src.data() + e * in, in);
    if (index >= 1 && index <= cut_.size()) {
      std::memcpy(dst.data() + e * out, cut_[index - 1].data(), out);
    }
  }
  return Status::OK();
}

}  // namespace zarrpp
