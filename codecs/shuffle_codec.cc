#include "codecs/shuffle_codec.h"

#include <cstring>
#include <string>

#include "codecs/numcodecs_config.h"
#include "zarrpp/json.h"

namespace zarrpp {

Result<std::shared_ptr<const Codec>> ShuffleCodec::Factory(const Json& configuration) {
  ASSIGN_OR_RETURN(internal::ConfigReader r, internal::ConfigReader::Make(configuration));
  ASSIGN_OR_RETURN(std::optional<int64_t> e, r.Int("elementsize"));
  RETURN_IF_ERROR(r.Finish());
  if (e && (*e < 0 || *e > (1 << 20))) {
    return Status::InvalidArgument("configuration.elementsize must be in 0..2^20, got " +
                                   std::to_string(*e));
  }
  return std::shared_ptr<const Codec>(Make(e ? static_cast<uint32_t>(*e) : 4));
}

std::shared_ptr<const ShuffleCodec> ShuffleCodec::Make(uint32_t elementsize) {
  return std::shared_ptr<const ShuffleCodec>(new ShuffleCodec(elementsize));
}

Json ShuffleCodec::ToJson() const {
  return {{"name", kName}, {"configuration", {{"elementsize", elementsize_}}}};
}

Status ShuffleCodec::Encode(ByteView in, Bytes& out) const {
  out.resize(in.size());
  if (elementsize_ <= 1) {
    if (!in.empty()) std::memcpy(out.data(), in.data(), in.size());
    return Status::OK();
  }
  if (in.size() % elementsize_ != 0) {
    out.clear();
    return Status::InvalidArgument("shuffle: " + std::to_string(in.size()) +
                                   " bytes are not a multiple of elementsize " +
                                   std::to_string(elementsize_));
  }
  const size_t n = in.size() / elementsize_;
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < elementsize_; ++j) out[j * n + i] = in[i * elementsize_ + j];
  }
  return Status::OK();
}

Result<ByteView> ShuffleCodec::Decode(ByteView in, DecodedSize size, Bytes& scratch) const {
  if (size.exact && in.size() != *size.exact) {
    return Status::Corruption("shuffle: " + std::to_string(in.size()) + " bytes, expected " +
                              std::to_string(*size.exact));
  }
  if (!size.exact && in.size() > size.max) {
    return Status::Corruption("shuffle: " + std::to_string(in.size()) + " bytes, more than the " +
                              std::to_string(size.max) + " the chunk allows");
  }
  if (elementsize_ <= 1) return in;
  if (in.size() % elementsize_ != 0) {
    return Status::Corruption("shuffle: " + std::to_string(in.size()) +
                              " bytes are not a multiple of elementsize " +
                              std::to_string(elementsize_));
  }
  scratch.resize(in.size());
  const size_t n = in.size() / elementsize_;
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < elementsize_; ++j) scratch[i * elementsize_ + j] = in[j * n + i];
  }
  return ByteView(scratch);
}

}  // namespace zarrpp
