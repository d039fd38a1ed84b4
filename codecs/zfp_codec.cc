#include "codecs/zfp_codec.h"

#include <zfp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "zarrpp/json.h"

namespace zarrpp {

namespace {

// A block never reads more than this many bits whatever maxbits says: at most 64 bit planes of
// 4^4 values, each plane its value bits and as many group-test bits, plus the block's exponent.
constexpr uint64_t kBlockReadCapBits = 64 * 2 * 256 + 64;
// Expert minbits/maxbits beyond this are refused: no block of zfp needs more (ZFP_MAX_BITS is
// 16658), and decoding pads its input by one block's worth.
constexpr uint32_t kMaxBlockBits = 1u << 18;

struct StreamCloser {
  void operator()(zfp_stream* s) const { zfp_stream_close(s); }
};
struct FieldFreer {
  void operator()(zfp_field* f) const { zfp_field_free(f); }
};
struct BitstreamCloser {
  void operator()(bitstream* b) const { stream_close(b); }
};
using StreamPtr = std::unique_ptr<zfp_stream, StreamCloser>;
using FieldPtr = std::unique_ptr<zfp_field, FieldFreer>;
using BitstreamPtr = std::unique_ptr<bitstream, BitstreamCloser>;

// How a chunk maps onto a zfp field.
struct Geometry {
  zfp_type type = zfp_type_none;
  DataTypeId source = DataTypeId::kFloat32;
  bool promoted = false;  // int8/uint8/int16/uint16 stored as int32
  uint32_t dims = 1;
  size_t n[4] = {1, 1, 1, 1};  // nx (fastest) .. nw
  uint64_t elements = 1;
};

std::string FlavorName(ZfpCodec::Flavor f) {
  return std::string(f == ZfpCodec::Flavor::kZfp ? ZfpCodec::kZfpName : ZfpCodec::kZfpyName);
}

std::string ShapeText(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

Result<Geometry> GeometryFor(const ChunkSpec& spec, ZfpCodec::Flavor flavor) {
  Geometry g;
  g.source = spec.dtype.id();
  switch (g.source) {
    case DataTypeId::kFloat32: g.type = zfp_type_float; break;
    case DataTypeId::kFloat64: g.type = zfp_type_double; break;
    case DataTypeId::kInt32: g.type = zfp_type_int32; break;
    case DataTypeId::kInt64: g.type = zfp_type_int64; break;
    case DataTypeId::kInt8:
    case DataTypeId::kUInt8:
    case DataTypeId::kInt16:
    case DataTypeId::kUInt16:
      if (flavor == ZfpCodec::Flavor::kZfp) {
        g.type = zfp_type_int32;
        g.promoted = true;
      }
      break;
    default: break;
  }
  if (g.type == zfp_type_none) {
    return Status::Unsupported(FlavorName(flavor) + ": data type " + spec.dtype.name() +
                               " is not supported (" +
                               (flavor == ZfpCodec::Flavor::kZfp
                                    ? "float32, float64, int32, int64, int8, uint8, int16, uint16"
                                    : "float32, float64, int32, int64") +
                               ")");
  }
  std::vector<uint64_t> dims = spec.shape;
  if (flavor == ZfpCodec::Flavor::kZfp && (dims.empty() || dims.size() > 4)) {
    std::erase(dims, uint64_t{1});
    if (dims.empty()) dims.push_back(1);
  }
  if (dims.empty() || dims.size() > 4) {
    return Status::Unsupported(FlavorName(flavor) + ": chunk shape " + ShapeText(spec.shape) +
                               " has " + (dims.empty() ? "no" : "more than 4") +
                               " dimensions zfp can take (1 to 4" +
                               (flavor == ZfpCodec::Flavor::kZfp ? " of size > 1)" : ")"));
  }
  g.dims = static_cast<uint32_t>(dims.size());
  for (uint32_t i = 0; i < g.dims; ++i) {
    if (dims[g.dims - 1 - i] == 0) {
      return Status::InvalidArgument(FlavorName(flavor) + ": empty chunk shape " +
                                     ShapeText(spec.shape));
    }
    g.n[i] = dims[g.dims - 1 - i];
    g.elements *= dims[g.dims - 1 - i];
  }
  return g;
}

size_t ScalarSize(zfp_type t) {
  return t == zfp_type_float || t == zfp_type_int32 ? 4 : 8;
}

FieldPtr MakeField(const Geometry& g, void* data) {
  FieldPtr f(zfp_field_alloc());
  if (!f) return f;
  zfp_field_set_type(f.get(), g.type);
  switch (g.dims) {
    case 1: zfp_field_set_size_1d(f.get(), g.n[0]); break;
    case 2: zfp_field_set_size_2d(f.get(), g.n[0], g.n[1]); break;
    case 3: zfp_field_set_size_3d(f.get(), g.n[0], g.n[1], g.n[2]); break;
    default: zfp_field_set_size_4d(f.get(), g.n[0], g.n[1], g.n[2], g.n[3]); break;
  }
  zfp_field_set_pointer(f.get(), data);
  return f;
}

// Sets the stream's mode from the configuration; InvalidArgument when zfp refuses it.
Status ApplyMode(zfp_stream* zs, const ZfpCodec::Options& o, const Geometry& g) {
  using Mode = ZfpCodec::Mode;
  if (o.flavor == ZfpCodec::Flavor::kZfpy) {
    // numcodecs passes only its mode's parameter, and zfpy sets it when it is >= 0; otherwise
    // the stream keeps zfp's defaults.
    if (o.zfpy_mode == 4 && o.tolerance >= 0) zfp_stream_set_accuracy(zs, o.tolerance);
    if (o.zfpy_mode == 2 && o.rate >= 0) {
      zfp_stream_set_rate(zs, o.rate, g.type, g.dims, zfp_false);
    }
    if (o.zfpy_mode == 3 && o.precision >= 0) {
      zfp_stream_set_precision(zs, static_cast<uint>(o.precision));
    }
    return Status::OK();
  }
  switch (o.mode) {
    case Mode::kFixedRate: zfp_stream_set_rate(zs, o.rate, g.type, g.dims, zfp_false); break;
    case Mode::kFixedPrecision: zfp_stream_set_precision(zs, static_cast<uint>(o.precision)); break;
    case Mode::kFixedAccuracy: zfp_stream_set_accuracy(zs, o.tolerance); break;
    case Mode::kReversible: zfp_stream_set_reversible(zs); break;
    case Mode::kExpert:
      if (!zfp_stream_set_params(zs, o.minbits, o.maxbits, o.maxprec, o.minexp)) {
        return Status::InvalidArgument("zfp: expert parameters minbits " +
                                       std::to_string(o.minbits) + ", maxbits " +
                                       std::to_string(o.maxbits) + ", maxprec " +
                                       std::to_string(o.maxprec) + " are refused by zfp");
      }
      break;
  }
  return Status::OK();
}

// The most bits one block's decoding may read for the stream's current parameters.
uint64_t BlockReadBits(const zfp_stream* zs) {
  uint minbits = 0, maxbits = 0, maxprec = 0;
  int minexp = 0;
  zfp_stream_params(zs, &minbits, &maxbits, &maxprec, &minexp);
  return std::max<uint64_t>(minbits, std::min<uint64_t>(maxbits, kBlockReadCapBits)) + 64;
}

#define ZARRPP_ZFP_DECODE_BLOCK(T, S)                                                             \
  void DecodeBlock(zfp_stream* zs, T* p, uint32_t dims, const size_t* n, const ptrdiff_t* s) {    \
    switch (dims) {                                                                               \
      case 1: zfp_decode_partial_block_strided_##S##_1(zs, p, n[0], s[0]); break;                 \
      case 2: zfp_decode_partial_block_strided_##S##_2(zs, p, n[0], n[1], s[0], s[1]); break;     \
      case 3:                                                                                     \
        zfp_decode_partial_block_strided_##S##_3(zs, p, n[0], n[1], n[2], s[0], s[1], s[2]);      \
        break;                                                                                    \
      default:                                                                                    \
        zfp_decode_partial_block_strided_##S##_4(zs, p, n[0], n[1], n[2], n[3], s[0], s[1], s[2], \
                                                 s[3]);                                           \
        break;                                                                                    \
    }                                                                                             \
  }
ZARRPP_ZFP_DECODE_BLOCK(float, float)
ZARRPP_ZFP_DECODE_BLOCK(double, double)
ZARRPP_ZFP_DECODE_BLOCK(int32, int32)
ZARRPP_ZFP_DECODE_BLOCK(int64, int64)
#undef ZARRPP_ZFP_DECODE_BLOCK

// Decodes the field block by block in zfp's order (x fastest), as zfp_decompress does, stopping
// with Corruption as soon as the stream has been read past `limit_bits`.
template <typename T>
Status DecodeBlocks(zfp_stream* zs, bitstream* bs, uint64_t limit_bits, const Geometry& g, T* out) {
  const ptrdiff_t s[4] = {1, static_cast<ptrdiff_t>(g.n[0]),
                          static_cast<ptrdiff_t>(g.n[0] * g.n[1]),
                          static_cast<ptrdiff_t>(g.n[0] * g.n[1] * g.n[2])};
  for (size_t w = 0; w < g.n[3]; w += 4) {
    for (size_t z = 0; z < g.n[2]; z += 4) {
      for (size_t y = 0; y < g.n[1]; y += 4) {
        for (size_t x = 0; x < g.n[0]; x += 4) {
          const size_t part[4] = {std::min<size_t>(4, g.n[0] - x), std::min<size_t>(4, g.n[1] - y),
                                  std::min<size_t>(4, g.n[2] - z), std::min<size_t>(4, g.n[3] - w)};
          T* p = out + x * s[0] + y * s[1] + z * s[2] + w * s[3];
          DecodeBlock(zs, p, g.dims, part, s);
          if (stream_rtell(bs) > limit_bits) {
            return Status::Corruption(
                "zfp stream is truncated: " + std::to_string((limit_bits + 7) / 8) +
                " bytes do not hold the chunk's blocks");
          }
        }
      }
    }
  }
  return Status::OK();
}

int32_t Promote(DataTypeId id, const uint8_t* p) {
  switch (id) {
    case DataTypeId::kInt8: return int32_t{static_cast<int8_t>(p[0])} * (1 << 23);
    case DataTypeId::kUInt8: return (int32_t{p[0]} - 0x80) * (1 << 23);
    case DataTypeId::kInt16: {
      int16_t v;
      std::memcpy(&v, p, 2);
      return int32_t{v} * (1 << 15);
    }
    default: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return (int32_t{v} - 0x8000) * (1 << 15);
    }
  }
}

void Demote(DataTypeId id, int32_t v, uint8_t* p) {
  switch (id) {
    case DataTypeId::kInt8: {
      const auto o = static_cast<int8_t>(std::clamp(v >> 23, -0x80, 0x7f));
      std::memcpy(p, &o, 1);
      break;
    }
    case DataTypeId::kUInt8:
      p[0] = static_cast<uint8_t>(std::clamp((v >> 23) + 0x80, 0, 0xff));
      break;
    case DataTypeId::kInt16: {
      const auto o = static_cast<int16_t>(std::clamp(v >> 15, -0x8000, 0x7fff));
      std::memcpy(p, &o, 2);
      break;
    }
    default: {
      const auto o = static_cast<uint16_t>(std::clamp((v >> 15) + 0x8000, 0, 0xffff));
      std::memcpy(p, &o, 2);
      break;
    }
  }
}

Result<double> NumberField(const Json& c, std::string_view key, std::string_view codec) {
  const auto it = c.find(key);
  if (it == c.end() || !it->is_number()) {
    return Status::InvalidArgument(std::string(codec) + ": configuration." + std::string(key) +
                                   " must be a number" +
                                   (it == c.end() ? " (missing)" : ", got " + it->dump()));
  }
  return it->get<double>();
}

Result<int64_t> IntegerField(const Json& c, std::string_view key, std::string_view codec) {
  const auto it = c.find(key);
  if (it != c.end() && it->is_number_float()) {
    const double d = it->get<double>();
    if (std::trunc(d) == d && std::fabs(d) < 1e15) return static_cast<int64_t>(d);
  }
  if (it == c.end() || !it->is_number_integer() ||
      (it->is_number_unsigned() && it->get<uint64_t>() > uint64_t{INT64_MAX})) {
    return Status::InvalidArgument(std::string(codec) + ": configuration." + std::string(key) +
                                   " must be an integer" +
                                   (it == c.end() ? " (missing)" : ", got " + it->dump()));
  }
  return it->get<int64_t>();
}

}  // namespace

Result<std::shared_ptr<const ZfpCodec>> ZfpCodec::Make(Options o) {
  const std::string who = FlavorName(o.flavor);
  const auto bad = [&](const std::string& what) {
    return Status::InvalidArgument(who + ": " + what);
  };
  if (o.flavor == Flavor::kZfpy) {
    if (!std::isfinite(o.tolerance) || !std::isfinite(o.rate)) {
      return bad("tolerance and rate must be finite");
    }
    if (o.rate > 1024) return bad("rate " + std::to_string(o.rate) + " is above 1024");
    if (o.precision > 64) return bad("precision " + std::to_string(o.precision) + " is above 64");
    return std::shared_ptr<const ZfpCodec>(new ZfpCodec(o));
  }
  switch (o.mode) {
    case Mode::kFixedRate:
      if (!(o.rate > 0 && o.rate <= 1024)) {
        return bad("rate " + std::to_string(o.rate) + " is not in (0, 1024]");
      }
      break;
    case Mode::kFixedPrecision:
      if (o.precision < 1 || o.precision > 64) {
        return bad("precision " + std::to_string(o.precision) + " is not in 1..64");
      }
      break;
    case Mode::kFixedAccuracy:
      if (!(o.tolerance >= 0) || !std::isfinite(o.tolerance)) {
        return bad("tolerance " + std::to_string(o.tolerance) + " is not a finite number >= 0");
      }
      break;
    case Mode::kReversible: break;
    case Mode::kExpert:
      if (o.minbits > o.maxbits || o.maxbits > kMaxBlockBits || o.maxprec < 1 || o.maxprec > 64 ||
          o.minexp < ZFP_MIN_EXP - 64) {
        return bad("expert parameters need minbits <= maxbits <= " + std::to_string(kMaxBlockBits) +
                   ", maxprec 1..64, minexp >= " + std::to_string(ZFP_MIN_EXP - 64) + "; got " +
                   std::to_string(o.minbits) + ", " + std::to_string(o.maxbits) + ", " +
                   std::to_string(o.maxprec) + ", " + std::to_string(o.minexp));
      }
      break;
  }
  return std::shared_ptr<const ZfpCodec>(new ZfpCodec(o));
}

Result<std::shared_ptr<const Codec>> ZfpCodec::Factory(const Json& configuration) {
  const Json c = configuration.is_null() ? Json::object() : configuration;
  if (!c.is_object()) {
    return Status::InvalidArgument("zfp: configuration must be an object, got " + c.dump());
  }
  const auto mode = c.find("mode");
  if (mode == c.end() || !mode->is_string()) {
    return Status::InvalidArgument(
        "zfp: configuration.mode must be one of \"fixed_rate\", \"fixed_precision\", "
        "\"fixed_accuracy\", \"reversible\", \"expert\"" +
        std::string(mode == c.end() ? " (missing)" : ", got " + mode->dump()));
  }
  Options o;
  const std::string m = mode->get<std::string>();
  std::vector<std::string_view> fields;
  if (m == "fixed_rate") {
    o.mode = Mode::kFixedRate;
    ASSIGN_OR_RETURN(o.rate, NumberField(c, "rate", "zfp"));
    fields = {"rate"};
  } else if (m == "fixed_precision") {
    o.mode = Mode::kFixedPrecision;
    ASSIGN_OR_RETURN(o.precision, IntegerField(c, "precision", "zfp"));
    fields = {"precision"};
  } else if (m == "fixed_accuracy") {
    o.mode = Mode::kFixedAccuracy;
    ASSIGN_OR_RETURN(o.tolerance, NumberField(c, "tolerance", "zfp"));
    fields = {"tolerance"};
  } else if (m == "reversible") {
    o.mode = Mode::kReversible;
  } else if (m == "expert") {
    o.mode = Mode::kExpert;
    int64_t v[4];
    const char* names[4] = {"minbits", "maxbits", "maxprec", "minexp"};
    for (int i = 0; i < 4; ++i) {
      ASSIGN_OR_RETURN(v[i], IntegerField(c, names[i], "zfp"));
      if (i < 3 && (v[i] < 0 || v[i] > int64_t{UINT32_MAX})) {
        return Status::InvalidArgument("zfp: configuration." + std::string(names[i]) + " " +
                                       std::to_string(v[i]) + " is not an unsigned integer");
      }
      fields.push_back(names[i]);
    }
    if (v[3] < INT32_MIN || v[3] > INT32_MAX) {
      return Status::InvalidArgument("zfp: configuration.minexp " + std::to_string(v[3]) +
                                     " is out of range");
    }
    o.minbits = static_cast<uint32_t>(v[0]);
    o.maxbits = static_cast<uint32_t>(v[1]);
    o.maxprec = static_cast<uint32_t>(v[2]);
    o.minexp = static_cast<int32_t>(v[3]);
  } else {
    return Status::InvalidArgument(
        "zfp: configuration.mode must be one of \"fixed_rate\", \"fixed_precision\", "
        "\"fixed_accuracy\", \"reversible\", \"expert\", got " +
        mode->dump());
  }
  for (const auto& [key, value] : c.items()) {
    if (key == "mode" || std::find(fields.begin(), fields.end(), key) != fields.end()) continue;
    // Older zarrs wrote "write_header": false (the registered codec has no header).
    if (key == "write_header" && value == false) continue;
    if (key == "write_header") {
      return Status::Unsupported("zfp: configuration.write_header " + value.dump() +
                                 " is not supported (the registered zfp codec writes no header)");
    }
    return Status::InvalidArgument("zfp: unexpected configuration field \"" + key +
                                   "\" for mode \"" + m + "\"");
  }
  ASSIGN_OR_RETURN(auto codec, Make(o));
  return std::shared_ptr<const Codec>(std::move(codec));
}

Result<std::shared_ptr<const Codec>> ZfpCodec::ZfpyFactory(const Json& configuration) {
  const Json c = configuration.is_null() ? Json::object() : configuration;
  if (!c.is_object()) {
    return Status::InvalidArgument("numcodecs.zfpy: configuration must be an object, got " +
                                   c.dump());
  }
  Options o;
  o.flavor = Flavor::kZfpy;
  for (const auto& [key, value] : c.items()) {
    if (key == "mode") {
      ASSIGN_OR_RETURN(o.zfpy_mode, IntegerField(c, "mode", "numcodecs.zfpy"));
    } else if (key == "tolerance") {
      ASSIGN_OR_RETURN(o.tolerance, NumberField(c, "tolerance", "numcodecs.zfpy"));
    } else if (key == "rate") {
      ASSIGN_OR_RETURN(o.rate, NumberField(c, "rate", "numcodecs.zfpy"));
    } else if (key == "precision") {
      ASSIGN_OR_RETURN(o.precision, IntegerField(c, "precision", "numcodecs.zfpy"));
    } else if (key == "compression_kwargs") {
      // numcodecs derives it from mode and the parameter of that mode.
      if (!value.is_object() && !value.is_null()) {
        return Status::InvalidArgument(
            "numcodecs.zfpy: configuration.compression_kwargs must be an object, got " +
            value.dump());
      }
    } else {
      return Status::InvalidArgument("numcodecs.zfpy: unexpected configuration field \"" + key +
                                     "\"");
    }
  }
  ASSIGN_OR_RETURN(auto codec, Make(o));
  return std::shared_ptr<const Codec>(std::move(codec));
}

Json ZfpCodec::ToJson() const {
  const Options& o = options_;
  if (o.flavor == Flavor::kZfpy) {
    return {{"name", kZfpyName},
            {"configuration",
             {{"mode", o.zfpy_mode},
              {"tolerance", o.tolerance},
              {"rate", o.rate},
              {"precision", o.precision}}}};
  }
  Json c;
  switch (o.mode) {
    case Mode::kFixedRate: c = {{"mode", "fixed_rate"}, {"rate", o.rate}}; break;
    case Mode::kFixedPrecision:
      c = {{"mode", "fixed_precision"}, {"precision", o.precision}};
      break;
    case Mode::kFixedAccuracy: c = {{"mode", "fixed_accuracy"}, {"tolerance", o.tolerance}}; break;
    case Mode::kReversible: c = {{"mode", "reversible"}}; break;
    case Mode::kExpert:
      c = {{"mode", "expert"},
           {"minbits", o.minbits},
           {"maxbits", o.maxbits},
           {"maxprec", o.maxprec},
           {"minexp", o.minexp}};
      break;
  }
  return {{"name", kZfpName}, {"configuration", std::move(c)}};
}

Status ZfpCodec::ValidateSpec(const ChunkSpec& decoded) const {
  return GeometryFor(decoded, options_.flavor).status();
}

uint64_t ZfpCodec::MaxEncodedSize(const ChunkSpec& decoded) const {
  const Result<Geometry> g = GeometryFor(decoded, options_.flavor);
  if (!g.ok()) return UINT64_MAX;
  StreamPtr zs(zfp_stream_open(nullptr));
  FieldPtr f = MakeField(*g, nullptr);
  if (!zs || !f || !ApplyMode(zs.get(), options_, *g).ok()) return UINT64_MAX;
  return zfp_stream_maximum_size(zs.get(), f.get());
}

Status ZfpCodec::Encode(const ChunkSpec& decoded, ByteView array, Bytes& out) const {
  ASSIGN_OR_RETURN(const Geometry g, GeometryFor(decoded, options_.flavor));
  const std::string who = FlavorName(options_.flavor);
  if (array.size() != decoded.num_bytes()) {
    return Status::InvalidArgument(who + ": chunk has " + std::to_string(array.size()) +
                                   " bytes, expected " + std::to_string(decoded.num_bytes()));
  }
  if (options_.flavor == Flavor::kZfpy && (options_.zfpy_mode < 2 || options_.zfpy_mode > 4)) {
    return Status::InvalidArgument("numcodecs.zfpy: mode " + std::to_string(options_.zfpy_mode) +
                                   " cannot encode (2 fixed rate, 3 fixed precision, 4 fixed "
                                   "accuracy); chunks of other modes are only read");
  }
  // zfp reads the field through typed pointers: an aligned copy unless the input already is.
  std::vector<uint64_t> staged;
  const size_t scalar = ScalarSize(g.type);
  void* data = const_cast<uint8_t*>(array.data());
  if (g.promoted) {
    staged.resize((g.elements * 4 + 7) / 8);
    auto* p = reinterpret_cast<int32_t*>(staged.data());
    const uint32_t in_size = decoded.dtype.size();
    for (uint64_t i = 0; i < g.elements; ++i) p[i] = Promote(g.source, array.data() + i * in_size);
    data = p;
  } else if (reinterpret_cast<uintptr_t>(data) % scalar != 0) {
    staged.resize((array.size() + 7) / 8);
    std::memcpy(staged.data(), array.data(), array.size());
    data = staged.data();
  }
  FieldPtr f = MakeField(g, data);
  StreamPtr zs(zfp_stream_open(nullptr));
  if (!f || !zs) return Status::IOError(who + ": out of memory");
  RETURN_IF_ERROR(ApplyMode(zs.get(), options_, g));
  const size_t max_bytes = zfp_stream_maximum_size(zs.get(), f.get());
  std::vector<uint64_t> buf(max_bytes / 8 + 2);
  BitstreamPtr bs(stream_open(buf.data(), buf.size() * 8));
  if (!bs) return Status::IOError(who + ": out of memory");
  zfp_stream_set_bit_stream(zs.get(), bs.get());
  zfp_stream_rewind(zs.get());
  if (options_.flavor == Flavor::kZfpy &&
      zfp_write_header(zs.get(), f.get(), ZFP_HEADER_FULL) == 0) {
    return Status::InvalidArgument("numcodecs.zfpy: chunk shape " + ShapeText(decoded.shape) +
                                   " does not fit a zfp header");
  }
  const size_t n = zfp_compress(zs.get(), f.get());
  if (n == 0) return Status::InvalidArgument(who + ": zfp could not compress the chunk");
  const auto* bytes = reinterpret_cast<const uint8_t*>(buf.data());
  out.assign(bytes, bytes + n);
  return Status::OK();
}

Status ZfpCodec::Decode(const ChunkSpec& decoded, ByteView encoded, MutableByteView array) const {
  ASSIGN_OR_RETURN(const Geometry g, GeometryFor(decoded, options_.flavor));
  const std::string who = FlavorName(options_.flavor);
  if (array.size() != decoded.num_bytes()) {
    return Status::InvalidArgument(who + ": output has " + std::to_string(array.size()) +
                                   " bytes, expected " + std::to_string(decoded.num_bytes()));
  }
  StreamPtr zs(zfp_stream_open(nullptr));
  if (!zs) return Status::IOError(who + ": out of memory");
  uint64_t pad_bits = kBlockReadCapBits + 64;  // zfpy: a header's mode allows at most this
  if (options_.flavor == Flavor::kZfp) {
    RETURN_IF_ERROR(ApplyMode(zs.get(), options_, g));
    pad_bits = BlockReadBits(zs.get());
  }
  // zfp reads its input without bounds: a zero-padded copy one block longer than the value, and
  // a check after every block that the blocks so far lie within the value.
  const uint64_t limit_bits = uint64_t{encoded.size()} * 8;
  std::vector<uint64_t> buf((encoded.size() + 7) / 8 + pad_bits / 64 + 4, 0);
  if (!encoded.empty()) std::memcpy(buf.data(), encoded.data(), encoded.size());
  BitstreamPtr bs(stream_open(buf.data(), buf.size() * 8));
  if (!bs) return Status::IOError(who + ": out of memory");
  zfp_stream_set_bit_stream(zs.get(), bs.get());
  zfp_stream_rewind(zs.get());
  if (options_.flavor == Flavor::kZfpy) {
    FieldPtr header(zfp_field_alloc());
    if (!header) return Status::IOError(who + ": out of memory");
    if (zfp_read_header(zs.get(), header.get(), ZFP_HEADER_FULL) == 0 ||
        stream_rtell(bs.get()) > limit_bits) {
      return Status::Corruption("numcodecs.zfpy: value does not start with a zfp header");
    }
    size_t n[4] = {header->nx, header->ny, header->nz, header->nw};
    const uint32_t dims = zfp_field_dimensionality(header.get());
    bool same = header->type == g.type && dims == g.dims;
    for (uint32_t i = 0; i < 4 && same; ++i) same = (i < dims ? n[i] : 1) == g.n[i];
    if (!same) {
      return Status::Corruption(
          "numcodecs.zfpy: zfp header describes a " + std::to_string(dims) + "-d field of type " +
          std::to_string(static_cast<int>(header->type)) + ", not the chunk's " +
          decoded.dtype.name() + " " + ShapeText(decoded.shape));
    }
    if (BlockReadBits(zs.get()) > pad_bits) {
      return Status::Corruption("numcodecs.zfpy: zfp header mode is out of range");
    }
  }
  const size_t scalar = ScalarSize(g.type);
  std::vector<uint64_t> staged;
  void* out = array.data();
  if (g.promoted || reinterpret_cast<uintptr_t>(out) % scalar != 0) {
    staged.resize((g.elements * scalar + 7) / 8);
    out = staged.data();
  }
  Status st;
  switch (g.type) {
    case zfp_type_float:
      st = DecodeBlocks(zs.get(), bs.get(), limit_bits, g, static_cast<float*>(out));
      break;
    case zfp_type_double:
      st = DecodeBlocks(zs.get(), bs.get(), limit_bits, g, static_cast<double*>(out));
      break;
    case zfp_type_int32:
      st = DecodeBlocks(zs.get(), bs.get(), limit_bits, g, static_cast<int32*>(out));
      break;
    default: st = DecodeBlocks(zs.get(), bs.get(), limit_bits, g, static_cast<int64*>(out)); break;
  }
  if (!st.ok()) return Status::Corruption(who + ": " + st.message());
  if (g.promoted) {
    const auto* p = reinterpret_cast<const int32_t*>(staged.data());
    const uint32_t out_size = decoded.dtype.size();
    for (uint64_t i = 0; i < g.elements; ++i) Demote(g.source, p[i], array.data() + i * out_size);
  } else if (out != array.data()) {
    std::memcpy(array.data(), out, array.size());
  }
  return Status::OK();
}

}  // namespace zarrpp
