#include "codecs/packbits_codec.h"

#include <cstring>
#include <string>

#include "src/checked_math.h"
#include "zarrpp/json.h"

namespace zarrpp {

namespace {

Result<std::optional<uint32_t>> BitField(const Json& v, std::string_view key) {
  if (v.is_null()) return std::optional<uint32_t>();
  if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 63) {
    return Status::InvalidArgument("configuration." + std::string(key) + " must be null or an " +
                                   "integer 0..63, got " + v.dump());
  }
  return std::optional<uint32_t>(static_cast<uint32_t>(v.get<int64_t>()));
}

uint64_t LoadComponent(const uint8_t* p, uint32_t bytes) {
  uint64_t v = 0;
  for (uint32_t i = 0; i < bytes; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

void StoreComponent(uint64_t v, uint8_t* p, uint32_t bytes) {
  for (uint32_t i = 0; i < bytes; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

Result<PackBitsCodec::Options> PackBitsCodec::OptionsFromJson(const Json& configuration) {
  Options options;
  if (configuration.is_null()) return options;
  if (!configuration.is_object()) {
    return Status::InvalidArgument("configuration must be an object, got " + configuration.dump());
  }
  for (const auto& [key, value] : configuration.items()) {
    if (key == "padding_encoding") {
      if (value == "none") {
        options.padding = Padding::kNone;
      } else if (value == "first_byte") {
        options.padding = Padding::kFirstByte;
      } else if (value == "last_byte") {
        options.padding = Padding::kLastByte;
      } else {
        return Status::InvalidArgument(
            "configuration.padding_encoding must be \"none\", \"first_byte\" or \"last_byte\", "
            "got " +
            value.dump());
      }
    } else if (key == "first_bit") {
      ASSIGN_OR_RETURN(options.first_bit, BitField(value, key));
    } else if (key == "last_bit") {
      ASSIGN_OR_RETURN(options.last_bit, BitField(value, key));
    } else {
      return Status::InvalidArgument("unexpected configuration field \"" + key + "\"");
    }
  }
  return options;
}

Result<std::shared_ptr<const PackBitsCodec>> PackBitsCodec::Make(Options options) {
  if (options.first_bit && options.last_bit && *options.last_bit < *options.first_bit) {
    return Status::InvalidArgument("packbits: last_bit " + std::to_string(*options.last_bit) +
                                   " is less than first_bit " + std::to_string(*options.first_bit));
  }
  return std::shared_ptr<const PackBitsCodec>(new PackBitsCodec(options));
}

Result<std::shared_ptr<const Codec>> PackBitsCodec::Factory(const Json& configuration) {
  ASSIGN_OR_RETURN(Options options, OptionsFromJson(configuration));
  ASSIGN_OR_RETURN(auto codec, Make(options));
  return std::shared_ptr<const Codec>(std::move(codec));
}

Json PackBitsCodec::ToJson() const {
  const char* padding = options_.padding == Padding::kFirstByte  ? "first_byte"
                        : options_.padding == Padding::kLastByte ? "last_byte"
                                                                 : "none";
  Json c = {{"padding_encoding", padding}};
  if (options_.first_bit) c["first_bit"] = *options_.first_bit;
  if (options_.last_bit) c["last_bit"] = *options_.last_bit;
  return {{"name", "packbits"}, {"configuration", std::move(c)}};
}

Result<PackBitsCodec::Layout> PackBitsCodec::LayoutFor(const ChunkSpec& decoded) const {
  const DataType t = decoded.dtype;
  if (t.id() == DataTypeId::kRawBits) {
    return Status::InvalidArgument("packbits: data type " + t.name() + " is not supported");
  }
  Layout l;
  const uint32_t n = t.bits();
  l.components = t.is_complex() ? 2 : 1;
  l.component_bytes = t.component_size();
  l.first = options_.first_bit.value_or(0);
  const uint32_t last = options_.last_bit.value_or(n - 1);
  if (last >= n || l.first > last) {
    return Status::InvalidArgument("packbits: bits " + std::to_string(l.first) + ".." +
                                   std::to_string(last) + " do not lie within the " +
                                   std::to_string(n) + "-bit components of " + t.name());
  }
  l.width = last - l.first + 1;
  const DataTypeId id = t.id();
  l.sign_extend =
      t.is_signed_int() || t.is_time() || id == DataTypeId::kInt2 || id == DataTypeId::kInt4;
  return l;
}

Status PackBitsCodec::ValidateSpec(const ChunkSpec& decoded) const {
  return LayoutFor(decoded).status();
}

std::optional<uint64_t> PackBitsCodec::EncodedSize(const ChunkSpec& decoded) const {
  const Result<Layout> l = LayoutFor(decoded);
  if (!l.ok()) return std::nullopt;
  const uint64_t bits = decoded.num_elements() * l->components * l->width;
  return (bits + 7) / 8 + (options_.padding == Padding::kNone ? 0 : 1);
}

Status PackBitsCodec::Encode(const ChunkSpec& decoded, ByteView array, Bytes& out) const {
  ASSIGN_OR_RETURN(const Layout l, LayoutFor(decoded));
  if (array.size() != decoded.num_bytes()) {
    return Status::InvalidArgument("packbits: chunk has " + std::to_string(array.size()) +
                                   " bytes, expected " + std::to_string(decoded.num_bytes()));
  }
  const uint64_t n_components = decoded.num_elements() * l.components;
  const uint64_t bits = n_components * l.width;
  const uint64_t packed = (bits + 7) / 8;
  const bool pad_byte = options_.padding != Padding::kNone;
  out.assign(packed + (pad_byte ? 1 : 0), 0);
  uint8_t* dst = out.data() + (options_.padding == Padding::kFirstByte ? 1 : 0);
  const uint64_t mask = l.width == 64 ? ~uint64_t{0} : (uint64_t{1} << l.width) - 1;
  const bool is_bool = decoded.dtype.id() == DataTypeId::kBool;
  uint64_t pos = 0;  // bit position in the sequence
  for (uint64_t c = 0; c < n_components; ++c, pos += l.width) {
    const uint8_t* src = array.data() + c * l.component_bytes;
    uint64_t v = is_bool ? (src[0] != 0 ? 1 : 0) : LoadComponent(src, l.component_bytes);
    v = (v >> l.first) & mask;
    // Spread the value over the bytes it touches, low bits first.
    uint64_t byte = pos / 8;
    uint32_t shift = static_cast<uint32_t>(pos % 8);
    uint32_t left = l.width;
    while (left > 0) {
      dst[byte] |= static_cast<uint8_t>(v << shift);
      const uint32_t took = 8 - shift;
      if (took >= left) break;
      v >>= took;
      left -= took;
      shift = 0;
      ++byte;
    }
  }
  if (pad_byte) {
    const auto padding = static_cast<uint8_t>(packed * 8 - bits);
    out[options_.padding == Padding::kFirstByte ? 0 : packed] = padding;
  }
  return Status::OK();
}

Status PackBitsCodec::Decode(const ChunkSpec& decoded, ByteView encoded,
                             MutableByteView array) const {
  ASSIGN_OR_RETURN(const Layout l, LayoutFor(decoded));
  if (array.size() != decoded.num_bytes()) {
    return Status::InvalidArgument("packbits: output has " + std::to_string(array.size()) +
                                   " bytes, expected " + std::to_string(decoded.num_bytes()));
  }
  const uint64_t n_components = decoded.num_elements() * l.components;
  const uint64_t bits = n_components * l.width;
  const uint64_t packed = (bits + 7) / 8;
  const bool pad_byte = options_.padding != Padding::kNone;
  if (encoded.size() != packed + (pad_byte ? 1 : 0)) {
    return Status::Corruption("packbits: encoded chunk has " + std::to_string(encoded.size()) +
                              " bytes, expected " + std::to_string(packed + (pad_byte ? 1 : 0)));
  }
  const uint8_t* src = encoded.data() + (options_.padding == Padding::kFirstByte ? 1 : 0);
  if (pad_byte) {
    const uint8_t got = encoded[options_.padding == Padding::kFirstByte ? 0 : packed];
    if (got != packed * 8 - bits) {
      return Status::Corruption("packbits: padding byte says " + std::to_string(got) +
                                " bits, expected " + std::to_string(packed * 8 - bits));
    }
  }
  std::memset(array.data(), 0, array.size());
  uint64_t pos = 0;
  for (uint64_t c = 0; c < n_components; ++c, pos += l.width) {
    uint64_t v = 0;
    uint64_t byte = pos / 8;
    uint32_t shift = static_cast<uint32_t>(pos % 8);
    uint32_t got = 0;
    while (got < l.width) {
      v |= (uint64_t{src[byte]} >> shift) << got;
      got += 8 - shift;
      shift = 0;
      ++byte;
    }
    if (l.width < 64) v &= (uint64_t{1} << l.width) - 1;
    v <<= l.first;
    const uint32_t top = l.first + l.width;  // bits above this are extension
    if (l.sign_extend && top < 64 && ((v >> (top - 1)) & 1) != 0) v |= ~uint64_t{0} << top;
    StoreComponent(v, array.data() + c * l.component_bytes, l.component_bytes);
  }
  return Status::OK();
}

}  // namespace zarrpp
