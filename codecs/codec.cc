#include "codecs/codec.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "zarrpp/json.h"

namespace zarrpp {

uint64_t BytesToBytesCodec::MaxEncodedSize(uint64_t decoded_size) const {
  if (const std::optional<uint64_t> fixed = EncodedSize(decoded_size)) return *fixed;
  const uint64_t slack = decoded_size / 8 + (uint64_t{64} << 10);
  return decoded_size > UINT64_MAX - slack ? UINT64_MAX : decoded_size + slack;
}

Result<ByteView> BytesToBytesCodec::EncodeKeep(ByteView in, Bytes& buf) const {
  RETURN_IF_ERROR(Encode(in, buf));
  return ByteView(buf);
}

Status BytesToBytesCodec::EncodeByKeep(ByteView in, Bytes& out) const {
  Result<ByteView> enc = EncodeKeep(in, out);
  if (!enc.ok()) {
    out.clear();
    return enc.status();
  }
  out.resize(enc->size());
  return Status::OK();
}

Status BytesToBytesCodec::DecodeInto(ByteView in, MutableByteView out) const {
  // Codecs that can decode in place override this; the fallback pays one allocation and a copy.
  Bytes scratch;
  ASSIGN_OR_RETURN(ByteView decoded, Decode(in, out.size(), scratch));
  if (decoded.size() != out.size()) {
    return Status::Corruption(std::string(name()) + ": decoded " + std::to_string(decoded.size()) +
                              " bytes, expected " + std::to_string(out.size()));
  }
  if (!decoded.empty()) std::memmove(out.data(), decoded.data(), decoded.size());
  return Status::OK();
}

void CodecRegistry::Register(std::string name, CodecFactory factory) {
  for (auto& [existing, f] : factories_) {
    if (existing == name) {
      f = factory;
      return;
    }
  }
  factories_.emplace_back(std::move(name), factory);
}

bool CodecRegistry::Contains(std::string_view name) const {
  return std::any_of(factories_.begin(), factories_.end(),
                     [&](const auto& entry) { return entry.first == name; });
}

Result<std::shared_ptr<const Codec>> CodecRegistry::Create(const Json& codec_json) const {
  ASSIGN_OR_RETURN(CodecJson parsed, ParseCodecJson(codec_json));
  for (const auto& [name, factory] : factories_) {
    if (name != parsed.name) continue;
    ASSIGN_OR_RETURN_CTX(std::shared_ptr<const Codec> codec, factory(parsed.configuration),
                         "codec '" + parsed.name + "'");
    return codec;
  }
  return Status::Unsupported("codec '" + parsed.name + "' is not supported");
}

namespace {

// A short rendering of a JSON value for error messages.
std::string Describe(const Json& j) {
  std::string s = j.dump();
  constexpr size_t kMax = 80;
  if (s.size() > kMax) s = s.substr(0, kMax) + "...";
  return s;
}

}  // namespace

Result<CodecJson> ParseCodecJson(const Json& j) {
  CodecJson out;
  if (j.is_string()) {
    out.name = j.get<std::string>();
    if (out.name.empty()) return Status::InvalidArgument("codec name is an empty string");
    return out;
  }
  if (!j.is_object()) {
    return Status::InvalidArgument("codec must be a name string or an object, got " + Describe(j));
  }
  auto name_it = j.find("name");
  if (name_it == j.end() || !name_it->is_string()) {
    return Status::InvalidArgument("codec object needs a string \"name\", got " + Describe(j));
  }
  out.name = name_it->get<std::string>();
  if (out.name.empty()) return Status::InvalidArgument("codec name is an empty string");
  const std::string who = "codec '" + out.name + "'";
  for (const auto& [key, value] : j.items()) {
    if (key == "name") continue;
    if (key == "configuration") {
      if (!value.is_object()) {
        return Status::InvalidArgument(who + ": \"configuration\" must be an object, got " +
                                       Describe(value));
      }
      out.configuration = value;
    } else if (key == "must_understand") {
      if (!value.is_boolean()) {
        return Status::InvalidArgument(who + ": \"must_understand\" must be a boolean, got " +
                                       Describe(value));
      }
      out.must_understand = value.get<bool>();
    } else {
      return Status::InvalidArgument(who + ": unexpected field \"" + key + "\"");
    }
  }
  return out;
}

const CodecRegistry& BuiltinCodecRegistry() {
  static const CodecRegistry registry = [] {
    CodecRegistry r;
    RegisterBuiltinCodecs(r);
    return r;
  }();
  return registry;
}

}  // namespace zarrpp
