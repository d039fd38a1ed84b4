#include "src/metadata/metadata_v2.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>

#include "codecs/blosc_codec.h"
#include "codecs/bytes_codec.h"
#include "codecs/bz2_codec.h"
#include "codecs/checksum32_codec.h"
#include "codecs/codec_chain.h"
#include "codecs/gzip_codec.h"
#include "codecs/lz4_codec.h"
#include "codecs/lzma_codec.h"
#include "codecs/shuffle_codec.h"
#include "codecs/transpose_codec.h"
#include "codecs/vlen_codec.h"
#include "codecs/zfp_codec.h"
#include "codecs/zlib_codec.h"
#include "codecs/zstd_codec.h"
#include "src/checked_math.h"
#include "zarrpp/json.h"

namespace zarrpp::internal {

namespace {

std::string Show(const Json& j) {
  std::string s = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  constexpr size_t kMax = 120;
  if (s.size() > kMax) s = s.substr(0, kMax) + "...";
  return s;
}

Status FieldError(std::string_view where, std::string_view field, const std::string& message) {
  return Status::InvalidArgument(std::string(where) + ": " + std::string(field) + ": " + message);
}

Result<std::vector<uint64_t>> ParseIntList(const Json& j, std::string_view where,
                                           std::string_view field, bool positive) {
  if (!j.is_array()) return FieldError(where, field, Show(j) + " is not a list of integers");
  std::vector<uint64_t> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const Json& v = j[i];
    const bool ok = v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
    if (!ok || (positive && v.get<uint64_t>() == 0)) {
      return FieldError(where, field,
                        "entry " + std::to_string(i) + " (" + Show(v) + ") is not " +
                            (positive ? "a positive integer" : "a non-negative integer"));
    }
    out.push_back(v.get<uint64_t>());
  }
  return out;
}

// An integer-valued JSON number as an integer JSON value (NumPy writes 0.0 for some integer fill
// values); nullopt when it has a fraction.
std::optional<Json> IntegralJson(const Json& j) {
  if (j.is_number_integer()) return j;
  if (!j.is_number_float()) return std::nullopt;
  const double d = j.get<double>();
  if (!std::isfinite(d) || std::trunc(d) != d || std::fabs(d) > 9.2e18) return std::nullopt;
  return Json(static_cast<int64_t>(d));
}

// A decimal integer written as a JSON string (GDAL writes uint64 fill values above 2^63 so;
// zarr-python reads them): the integer, or nullopt unless `j` is such a string within 64 bits.
std::optional<Json> IntegerFromString(const Json& j) {
  if (!j.is_string()) return std::nullopt;
  const std::string& s = j.get_ref<const std::string&>();
  const char* end = s.data() + s.size();
  if (!s.empty() && s[0] == '-') {
    int64_t v = 0;
    const auto r = std::from_chars(s.data(), end, v);
    if (r.ec != std::errc() || r.ptr != end) return std::nullopt;
    return Json(v);
  }
  uint64_t v = 0;
  const auto r = std::from_chars(s.data(), end, v);
  if (s.empty() || r.ec != std::errc() || r.ptr != end) return std::nullopt;
  return Json(v);
}

Result<FillValue> FillValueFromV2(const Json& j, DataType type, bool& is_null) {
  is_null = false;
  if (j.is_null()) {
    is_null = true;
    return FillValue::Zero(type);
  }
  if (type.is_variable()) {  // zarr-python 2 writes 0 for object arrays
    if (j.is_number_integer() && j.get<int64_t>() == 0) return FillValue::Zero(type);
    if (!j.is_string()) return Status::InvalidArgument(Show(j) + " is not a string, 0 or null");
    const std::string& t = j.get_ref<const std::string&>();
    return FillValue{Bytes(t.begin(), t.end())};
  }
  if (type.is_fixed_string()) {
    // zarr-python 2: base64 of the bytes for "|S", the string itself for "U"; 0 is NumPy's zero.
    if (j.is_number_integer() && j.get<int64_t>() == 0) return FillValue::Zero(type);
    if (!j.is_string()) return Status::InvalidArgument(Show(j) + " is not a string, 0 or null");
    return FillValue::FromJson(j, type);
  }
  if (type.id() == DataTypeId::kBool && j.is_number_integer()) {
    const int64_t v = j.get<int64_t>();
    if (v != 0 && v != 1) return Status::InvalidArgument(Show(j) + " is not a bool (0 or 1)");
    return FillValue{Bytes{static_cast<uint8_t>(v)}};
  }
  if (type.is_signed_int() || type.is_unsigned_int() || type.is_time()) {
    if (std::optional<Json> i = IntegerFromString(j)) return FillValue::FromJson(*i, type);
  }
  if ((type.is_signed_int() || type.is_unsigned_int()) && j.is_number_float()) {
    if (std::optional<Json> i = IntegralJson(j)) return FillValue::FromJson(*i, type);
  }
  if (type.is_time() && j.is_number_float()) {
    if (std::optional<Json> i = IntegralJson(j)) return FillValue::FromJson(*i, type);
  }
  if (type.is_complex() && (j.is_number() || j.is_string())) {
    return FillValue::FromJson(Json::array({j, 0}), type);
  }
  return FillValue::FromJson(j, type);
}

// A float component as v2 JSON: v2 has no hex form, so any NaN is written "NaN".
Json V2FloatJson(Json v3) {
  if (v3.is_string() && v3.get<std::string>().starts_with("0x")) return "NaN";
  return v3;
}

Json FillValueToV2(const ArrayMetadata& m) {
  if (m.fill_value_null) return nullptr;
  if (m.data_type.id() == DataTypeId::kBytes) return nullptr;  // empty: checked by the caller
  if (m.data_type.id() == DataTypeId::kString) return std::string(AsString(m.fill_value.bytes));
  Json j = m.fill_value.ToJson(m.data_type);
  if (m.data_type.is_float() || m.data_type.id() == DataTypeId::kBFloat16) {
    return V2FloatJson(std::move(j));
  }
  // NumPy writes datetime64/timedelta64 fill values as their int64 (NaT: INT64_MIN).
  if (m.data_type.is_time()) {
    int64_t v = 0;
    std::memcpy(&v, m.fill_value.bytes.data(), sizeof(v));
    return v;
  }
  if (m.data_type.is_complex() && j.is_array() && j.size() == 2) {
    return Json::array({V2FloatJson(j[0]), V2FloatJson(j[1])});
  }
  return j;
}

int IntField(const Json& c, std::string_view key, int fallback) {
  const auto it = c.find(key);
  if (it == c.end() || !it->is_number_integer()) return fallback;
  return it->get<int>();
}

// An encode-only level as the nearest one the encoder takes: numcodecs stores whatever level it
// was given (zstd 100, zlib -1), and decoding never depends on it. `dflt` stands for -1, the
// zlib family's "default level".
int ClampedLevel(const Json& c, std::string_view key, int fallback, int lo, int hi,
                 std::optional<int> dflt = std::nullopt) {
  const auto it = c.find(key);
  if (it == c.end() || !it->is_number_integer()) return fallback;
  if (it->is_number_unsigned() && it->get<uint64_t>() > uint64_t{INT64_MAX}) return hi;
  const int64_t v = it->get<int64_t>();
  if (v == -1 && dflt) return *dflt;
  return static_cast<int>(std::clamp<int64_t>(v, lo, hi));
}

// The v3 bytes->bytes codec JSON equal to a v2 compressor object (or a v2 filter that is a
// bytes->bytes codec: shuffle and the checksums).
Result<Json> CompressorToV3(const Json& c, DataType type, std::string_view where,
                            std::string_view field = "compressor") {
  if (!c.is_object() || !c.contains("id") || !c["id"].is_string()) {
    return FieldError(where, field, Show(c) + " is not null or an {\"id\": ...} object");
  }
  const std::string id = c["id"].get<std::string>();
  const auto check_keys = [&](std::initializer_list<std::string_view> allowed) -> Status {
    for (const auto& [k, v] : c.items()) {
      if (k == "id") continue;
      bool known = false;
      for (std::string_view a : allowed) known = known || k == a;
      if (!known) {
        return FieldError(where, field, "unknown field \"" + k + "\" for \"" + id + "\"");
      }
      const bool textual = k == "cname" || k == "checksum" || k == "shuffle" || k == "preset" ||
                           k == "filters" || k == "location";
      if (!textual && !v.is_number_integer()) {
        return FieldError(where, field,
                          "\"" + id + "\" field \"" + k + "\": " + Show(v) + " is not an integer");
      }
    }
    return Status::OK();
  };
  const auto config_without_id = [&] {
    Json conf = c;
    conf.erase("id");
    return conf;
  };
  if (id == "blosc") {
    RETURN_IF_ERROR(check_keys({"cname", "clevel", "shuffle", "blocksize"}));
    const auto cname = c.find("cname");
    if (cname != c.end() && !cname->is_string()) {
      return FieldError(where, field, "blosc cname " + Show(*cname) + " is not a string");
    }
    // numcodecs shuffles with the item size; object arrays are shuffled as bytes.
    const uint32_t item = type.is_variable() ? 1 : type.size();
    const char* names[] = {"noshuffle", "shuffle", "bitshuffle"};
    int shuffle = 1;
    if (const auto it = c.find("shuffle"); it != c.end()) {
      // GDAL writes the v3 names ("noshuffle", "shuffle", "bitshuffle") in v2 metadata too.
      if (it->is_string()) {
        shuffle = -2;
        for (int k = 0; k < 3; ++k) shuffle = *it == names[k] ? k : shuffle;
      } else if (it->is_number_integer()) {
        shuffle = it->get<int>();
      } else {
        shuffle = -2;
      }
    }
    if (shuffle == -1) shuffle = item == 1 ? 2 : 1;  // numcodecs AUTOSHUFFLE
    if (shuffle < 0 || shuffle > 2) {
      return FieldError(where, field,
                        "blosc shuffle " + Show(c["shuffle"]) +
                            " is not -1, 0, 1, 2, \"noshuffle\", \"shuffle\" or \"bitshuffle\"");
    }
    // numcodecs shuffles with the array's item size as the stride.
    return Json{{"name", "blosc"},
                {"configuration",
                 {{"cname", cname != c.end() ? cname->get<std::string>() : "lz4"},
                  {"clevel", ClampedLevel(c, "clevel", 5, 0, 9)},
                  {"shuffle", names[shuffle]},
                  {"typesize", item},
                  {"blocksize", std::max(IntField(c, "blocksize", 0), 0)}}}};
  }
  if (id == "zstd") {
    RETURN_IF_ERROR(check_keys({"level", "checksum"}));
    Json conf = {
        {"level", ClampedLevel(c, "level", 1, ZstdCodec::kMinLevel, ZstdCodec::kMaxLevel)}};
    if (const auto it = c.find("checksum"); it != c.end()) {
      if (!it->is_boolean()) {
        return FieldError(where, field, "zstd checksum " + Show(*it) + " is not a bool");
      }
      conf["checksum"] = *it;
    }
    return Json{{"name", "zstd"}, {"configuration", conf}};
  }
  if (id == "gzip" || id == "zlib") {
    RETURN_IF_ERROR(check_keys({"level"}));
    const int level = ClampedLevel(c, "level", 1, 0, 9, 6);
    return Json{{"name", id == "gzip" ? std::string("gzip") : std::string(ZlibCodec::kName)},
                {"configuration", {{"level", level}}}};
  }
  if (id == "bz2") {
    RETURN_IF_ERROR(check_keys({"level"}));
    return Json{{"name", Bz2Codec::kName},
                {"configuration", {{"level", ClampedLevel(c, "level", 1, 1, 9)}}}};
  }
  if (id == "lz4") {
    RETURN_IF_ERROR(check_keys({"acceleration"}));
    return Json{
        {"name", Lz4Codec::kName},
        {"configuration", {{"acceleration", ClampedLevel(c, "acceleration", 1, 1, 65537)}}}};
  }
  if (id == "lzma") {
    RETURN_IF_ERROR(check_keys({"format", "check", "preset", "filters"}));
    return Json{{"name", LzmaCodec::kName}, {"configuration", config_without_id()}};
  }
  if (id == "shuffle") {
    RETURN_IF_ERROR(check_keys({"elementsize"}));
    return Json{{"name", ShuffleCodec::kName}, {"configuration", config_without_id()}};
  }
  if (id == "adler32" || id == "crc32" || id == "fletcher32") {
    RETURN_IF_ERROR(check_keys({"location"}));
    return Json{{"name", "numcodecs." + id}, {"configuration", config_without_id()}};
  }
  return Status::Unsupported(
      std::string(where) + ": " + std::string(field) + ": \"" + id +
      "\" is not supported (supported: blosc, zstd, zlib, gzip, bz2, lz4, "
      "lzma" +
      (field == "compressor" ? ")" : ", shuffle, adler32, crc32, fletcher32)"));
}

// A numcodecs codec (v3 name "numcodecs.<id>", or "bitround") as its v2 filter object
// {"id": <id>, configuration...}; null for other codecs.
Result<Json> NumcodecsFilterToV2(const Codec& c) {
  const std::string_view name = c.name();
  std::string id;
  if (name.starts_with("numcodecs.")) {
    id = std::string(name.substr(10));
  } else if (name == "bitround") {
    id = "bitround";
  } else {
    return Json(nullptr);
  }
  Json j = c.ToJson();
  Json out = j.contains("configuration") ? j["configuration"] : Json::object();
  out["id"] = id;
  return out;
}

Result<Json> ReadJsonDoc(Store& store, const std::string& key) {
  ASSIGN_OR_RETURN(std::optional<Bytes> doc, store.get(key));
  if (!doc) return Json(nullptr);
  return ParseJson(AsString(*doc), key);
}

Result<Json> ReadAttributes(Store& store, std::string_view node_path) {
  const std::string key = V2KeyFor(node_path, kZattrsKey);
  ASSIGN_OR_RETURN(Json j, ReadJsonDoc(store, key));
  if (j.is_null()) return Json::object();
  if (!j.is_object()) return Status::InvalidArgument(key + ": " + Show(j) + " is not an object");
  return j;
}

// zarr-python 2 decodes metadata documents as ASCII: non-ASCII characters are written as \u
// escapes (ensure_ascii), as Python's json module does.
Status WriteJson(Store& store, const std::string& key, const Json& j) {
  const std::string text = j.dump(4, ' ', /*ensure_ascii=*/true);
  return store.set(key, AsBytes(text));
}

}  // namespace

std::string V2KeyFor(std::string_view node_path, std::string_view name) {
  std::string key(node_path);
  if (!key.empty()) key += '/';
  key += name;
  return key;
}

namespace {

// NumPy datetime64 / timedelta64 typestrs: "<M8", "<M8[ns]", ">m8[10s]" (8 bytes, an optional
// [<scale><unit>] suffix; no suffix is the generic unit).
Result<V2DataType> ParseV2TimeType(const std::string& s) {
  const DataTypeId id = s[1] == 'M' ? DataTypeId::kDateTime64 : DataTypeId::kTimeDelta64;
  const auto bad = [&](std::string_view why) {
    return Status::Unsupported("dtype \"" + s + "\" is not supported (" + std::string(why) + ")");
  };
  if (s.size() < 3 || s[2] != '8') return bad("datetime64/timedelta64 are 8 bytes");
  if (s[0] == '|') return bad("an 8-byte type needs byte order '<' or '>'");
  TimeUnit unit = TimeUnit::kGeneric;
  uint32_t scale = 1;
  if (s.size() > 3) {
    if (s[3] != '[' || s.back() != ']') return bad("expected a [unit] suffix");
    std::string_view inner(s.data() + 4, s.size() - 5);
    size_t digits = 0;
    while (digits < inner.size() && inner[digits] >= '0' && inner[digits] <= '9') ++digits;
    if (digits > 0) {
      uint64_t v = 0;
      const auto r = std::from_chars(inner.data(), inner.data() + digits, v);
      if (r.ec != std::errc() || v < 1 || v > INT32_MAX) {
        return bad("scale factor is not 1..2147483647");
      }
      scale = static_cast<uint32_t>(v);
    }
    const std::optional<TimeUnit> u = TimeUnitFromName(inner.substr(digits));
    if (!u || *u == TimeUnit::kGeneric) return bad("unknown time unit");
    unit = *u;
  }
  return V2DataType{DataType::Time(id, unit, scale), s[0] == '>'};
}

}  // namespace

Result<V2DataType> ParseV2DataType(const Json& dtype) {
  if (!dtype.is_string()) {
    return Status::Unsupported("dtype " + Show(dtype) +
                               " is not supported (structured dtypes are not; only numeric and "
                               "bool typestrs)");
  }
  const std::string s = dtype.get<std::string>();
  const auto unsupported = [&] {
    return Status::Unsupported("dtype \"" + s +
                               "\" is not supported (only b1, i1-i8, u1-u8, f2-f8, c8, c16, "
                               "M8[unit], m8[unit], S<n>, U<n>, bfloat16)");
  };
  // TensorStore's extension: "bfloat16" is always little-endian bfloat16.
  if (s == "bfloat16") return V2DataType{DataType(DataTypeId::kBFloat16), false};
  if (s.size() < 2 || (s[0] != '<' && s[0] != '>' && s[0] != '|')) return unsupported();
  const char kind = s[1];
  if (kind == 'M' || kind == 'm') return ParseV2TimeType(s);
  unsigned size = 0;
  const auto [end, ec] = std::from_chars(s.data() + 2, s.data() + s.size(), size);
  if (ec != std::errc() || end != s.data() + s.size()) return unsupported();
  if (kind == 'S' || kind == 'U') {
    // NumPy's fixed-length strings: "|S<n>" bytes, "<U<k>" / ">U<k>" UTF-32 code units.
    const uint64_t bytes = uint64_t{size} * (kind == 'U' ? 4 : 1);
    if (size == 0 || bytes > 2147483644) {
      return Status::Unsupported("dtype \"" + s + "\" is not supported (length 1 to " +
                                 (kind == 'U' ? "536870911" : "2147483644") + ")");
    }
    const DataTypeId fid = kind == 'U' ? DataTypeId::kFixedUtf32 : DataTypeId::kFixedBytes;
    return V2DataType{DataType(fid, static_cast<uint32_t>(bytes)), kind == 'U' && s[0] == '>'};
  }
  DataTypeId id;
  switch (kind) {
    case 'b':
      if (size != 1) return unsupported();
      id = DataTypeId::kBool;
      break;
    case 'i':
    case 'u': {
      const bool u = kind == 'u';
      switch (size) {
        case 1: id = u ? DataTypeId::kUInt8 : DataTypeId::kInt8; break;
        case 2: id = u ? DataTypeId::kUInt16 : DataTypeId::kInt16; break;
        case 4: id = u ? DataTypeId::kUInt32 : DataTypeId::kInt32; break;
        case 8: id = u ? DataTypeId::kUInt64 : DataTypeId::kInt64; break;
        default: return unsupported();
      }
      break;
    }
    case 'f':
      switch (size) {
        case 2: id = DataTypeId::kFloat16; break;
        case 4: id = DataTypeId::kFloat32; break;
        case 8: id = DataTypeId::kFloat64; break;
        default: return unsupported();
      }
      break;
    case 'c':
      switch (size) {
        case 8: id = DataTypeId::kComplex64; break;
        case 16: id = DataTypeId::kComplex128; break;
        default: return unsupported();
      }
      break;
    default: return unsupported();
  }
  V2DataType out{DataType(id), s[0] == '>'};
  if (out.type.size() > 1 && s[0] == '|') {
    return Status::InvalidArgument("dtype \"" + s + "\": a " + std::to_string(size) +
                                   "-byte type needs byte order '<' or '>', not '|'");
  }
  if (out.type.size() == 1) out.big_endian = false;
  return out;
}

Result<std::string> V2DataTypeString(DataType type, bool big_endian) {
  if (type.id() == DataTypeId::kBFloat16 && !big_endian) return std::string("bfloat16");
  if (type.is_time()) {
    std::string s = big_endian ? ">" : "<";
    s += type.id() == DataTypeId::kDateTime64 ? "M8" : "m8";
    if (type.time_unit() != TimeUnit::kGeneric) {
      s += '[';
      if (type.scale_factor() != 1) s += std::to_string(type.scale_factor());
      s += TimeUnitName(type.time_unit());
      s += ']';
    }
    return s;
  }
  if (type.id() == DataTypeId::kFixedBytes) return "|S" + std::to_string(type.size());
  if (type.id() == DataTypeId::kFixedUtf32) {
    return (big_endian ? ">U" : "<U") + std::to_string(type.size() / 4);
  }
  char kind;
  unsigned size = type.size();
  switch (type.id()) {
    case DataTypeId::kBool: kind = 'b'; break;
    case DataTypeId::kInt8:
    case DataTypeId::kInt16:
    case DataTypeId::kInt32:
    case DataTypeId::kInt64: kind = 'i'; break;
    case DataTypeId::kUInt8:
    case DataTypeId::kUInt16:
    case DataTypeId::kUInt32:
    case DataTypeId::kUInt64: kind = 'u'; break;
    case DataTypeId::kFloat16:
    case DataTypeId::kFloat32:
    case DataTypeId::kFloat64: kind = 'f'; break;
    case DataTypeId::kComplex64:
    case DataTypeId::kComplex128: kind = 'c'; break;
    default: return Status::Unsupported("data type " + type.name() + " has no Zarr v2 dtype");
  }
  std::string s(1, size == 1 ? '|' : (big_endian ? '>' : '<'));
  s += kind;
  s += std::to_string(size);
  return s;
}

Result<ArrayMetadata> ArrayMetadataFromV2(const Json& z, const Json& zattrs,
                                          std::string_view where) {
  if (!z.is_object()) {
    return Status::InvalidArgument(std::string(where) + ": " + Show(z) + " is not a JSON object");
  }
  const auto fmt = z.find("zarr_format");
  if (fmt == z.end()) return FieldError(where, "zarr_format", "missing (required)");
  if (*fmt != 2) {
    return Status::Unsupported(std::string(where) + ": zarr_format: " + Show(*fmt) +
                               " is not supported in .zarray (expected 2)");
  }
  const auto required = [&](std::string_view field) -> Result<const Json*> {
    const auto it = z.find(field);
    if (it == z.end()) return FieldError(where, field, "missing (required)");
    return &*it;
  };
  ArrayMetadata m;
  m.zarr_format = 2;
  ASSIGN_OR_RETURN(const Json* shape, required("shape"));
  ASSIGN_OR_RETURN(m.shape, ParseIntList(*shape, where, "shape", /*positive=*/false));
  ASSIGN_OR_RETURN(const Json* chunks, required("chunks"));
  ASSIGN_OR_RETURN(m.chunk_shape, ParseIntList(*chunks, where, "chunks", /*positive=*/true));
  if (m.chunk_shape.size() != m.shape.size()) {
    return FieldError(where, "chunks",
                      "rank " + std::to_string(m.chunk_shape.size()) + " but shape has rank " +
                          std::to_string(m.shape.size()));
  }
  ASSIGN_OR_RETURN(const Json* dtype, required("dtype"));
  // An object dtype's element type is its filter's: vlen-utf8 (string) or vlen-bytes (bytes).
  Json object_codec;
  V2DataType dt;
  if (*dtype == "|O") {
    const auto f = z.find("filters");
    const Json* first = f != z.end() && f->is_array() && f->size() == 1 ? &(*f)[0] : nullptr;
    const Json id = first && first->is_object() ? first->value("id", Json()) : Json();
    if (id == "vlen-utf8" || id == "vlen-bytes") {
      dt.type = DataType(id == "vlen-utf8" ? DataTypeId::kString : DataTypeId::kBytes);
      object_codec = {{"name", id}};
    } else {
      return Status::Unsupported(std::string(where) + ": dtype \"|O\" with filters " +
                                 (f == z.end() ? std::string("null") : Show(*f)) +
                                 " is not supported (only one vlen-utf8 or vlen-bytes filter)");
    }
  } else {
    ASSIGN_OR_RETURN_CTX(dt, ParseV2DataType(*dtype), std::string(where) + ": dtype");
  }
  m.data_type = dt.type;
  // Byte offsets inside a chunk and inside the whole array must fit in 64 bits.
  if (!internal::CheckedProduct(m.chunk_shape, "", m.data_type.size()).ok()) {
    return FieldError(
        where, "chunks",
        "a chunk of " + Show(*chunks) + " " + m.data_type.name() + " elements exceeds 2^64 bytes");
  }
  if (!internal::CheckedProduct(m.shape, "", m.data_type.size()).ok()) {
    return FieldError(where, "shape",
                      Show(*shape) + " of " + m.data_type.name() + " exceeds 2^64 bytes");
  }
  for (size_t i = 0; i < m.shape.size(); ++i) {
    const uint64_t c = m.chunk_shape[i];
    const uint64_t grid = m.shape[i] / c + (m.shape[i] % c != 0 ? 1 : 0);
    if (!internal::CheckedMul(grid, c, "").ok()) {
      return FieldError(where, "chunks",
                        "the chunks covering dimension " + std::to_string(i) + " (" +
                            std::to_string(grid) + " x " + std::to_string(c) +
                            ") extend past 2^64");
    }
  }

  const Json fill = z.value("fill_value", Json(nullptr));
  ASSIGN_OR_RETURN_CTX(m.fill_value, FillValueFromV2(fill, m.data_type, m.fill_value_null),
                       std::string(where) + ": fill_value");

  std::string order = "C";
  if (const auto it = z.find("order"); it != z.end()) {
    if (*it != "C" && *it != "F")
      return FieldError(where, "order", Show(*it) + " is not \"C\" or \"F\"");
    order = it->get<std::string>();
  }
  // Filters: numcodecs' value filters become array->array codecs (after the transpose of order
  // "F": numcodecs flattens the chunk in its memory order), the byte filters bytes->bytes codecs
  // before the compressor. The bytes codec stores the last value filter's output type. An object
  // array's one vlen filter is its array->bytes codec (object_codec above).
  Json aa_filters = Json::array(), bb_filters = Json::array();
  DataType stored_type = m.data_type;
  bool stored_big = dt.big_endian;
  if (const auto it = z.find("filters");
      object_codec.is_null() && it != z.end() && !it->is_null()) {
    if (!it->is_array()) return FieldError(where, "filters", Show(*it) + " is not null or a list");
    for (size_t i = 0; i < it->size(); ++i) {
      const Json& f = (*it)[i];
      const std::string field = "filters[" + std::to_string(i) + "]";
      if (!f.is_object() || !f.contains("id") || !f["id"].is_string()) {
        return FieldError(where, field, Show(f) + " is not an {\"id\": ...} object");
      }
      const std::string id = f["id"].get<std::string>();
      if (id == "delta" || id == "fixedscaleoffset" || id == "quantize" || id == "astype" ||
          id == "bitround" || id == "categorize") {
        if (!bb_filters.empty()) {
          return Status::Unsupported(std::string(where) + ": " + field + ": \"" + id +
                                     "\" follows a byte filter, which has no Zarr v3 form");
        }
        Json conf = f;
        conf.erase("id");
        const Json codec = {{"name", "numcodecs." + id}, {"configuration", conf}};
        const std::string out_key = id == "astype" ? "encode_dtype" : "astype";
        const std::string in_key = id == "astype" ? "decode_dtype" : "dtype";
        const Json* out = conf.contains(out_key)  ? &conf[out_key]
                          : conf.contains(in_key) ? &conf[in_key]
                                                  : nullptr;
        if (const auto in = conf.find(in_key); in != conf.end() && in->is_string()) {
          // numcodecs views the chunk's bytes as the filter's dtype: a byte order other than the
          // one the chunk is in would reinterpret them, which the chain does not model.
          ASSIGN_OR_RETURN_CTX(V2DataType t, ParseV2DataType(*in),
                               std::string(where) + ": " + field + ": " + id);
          if (t.type.size() > 1 && t.type == stored_type && t.big_endian != stored_big) {
            return Status::Unsupported(std::string(where) + ": " + field + ": \"" + id +
                                       "\" views the chunk as " + in->get<std::string>() +
                                       ", the other byte order than the data it is given");
          }
        }
        if (out != nullptr) {
          ASSIGN_OR_RETURN_CTX(V2DataType t, ParseV2DataType(*out),
                               std::string(where) + ": " + field + ": " + id);
          stored_type = t.type;
          stored_big = t.big_endian;
        }
        aa_filters.push_back(codec);
      } else if (id == "packbits" || id == "vlen-utf8" || id == "vlen-bytes" ||
                 id == "vlen-array" || id == "json2" || id == "msgpack2" || id == "pickle" ||
                 id == "base64") {
        return Status::Unsupported(std::string(where) + ": " + field + ": \"" + id +
                                   "\" is not supported");
      } else {
        ASSIGN_OR_RETURN(Json c, CompressorToV3(f, stored_type, where, field));
        bb_filters.push_back(std::move(c));
      }
    }
  }
  m.chunk_key_encoding.kind = ChunkKeyEncoding::Kind::kV2;
  m.chunk_key_encoding.separator = '.';
  if (const auto it = z.find("dimension_separator"); it != z.end() && !it->is_null()) {
    if (*it != "." && *it != "/") {
      return FieldError(where, "dimension_separator", Show(*it) + " is not \".\" or \"/\"");
    }
    m.chunk_key_encoding.separator = it->get<std::string>()[0];
  }

  Json codecs = Json::array();
  if (order == "F" && m.rank() > 1) {
    Json reversed = Json::array();
    for (size_t i = m.rank(); i-- > 0;) reversed.push_back(i);
    codecs.push_back({{"name", "transpose"}, {"configuration", {{"order", reversed}}}});
  }
  for (const Json& f : aa_filters) codecs.push_back(f);
  Json bytes = {{"name", "bytes"}};
  if (stored_type.size() > 1) {
    bytes["configuration"] = {{"endian", stored_big ? "big" : "little"}};
  }
  const auto compressor = z.find("compressor");
  const bool zfpy =
      compressor != z.end() && compressor->is_object() && compressor->value("id", Json()) == "zfpy";
  if (zfpy) {
    // numcodecs' zfpy compresses the chunk as an N-d array: it takes the place of the bytes
    // codec. After a filter (which hands it a flat or byte array), in order F or big-endian,
    // numcodecs cannot write it.
    if (!object_codec.is_null() || !aa_filters.empty() || !bb_filters.empty() ||
        (order == "F" && m.rank() > 1) || (stored_big && stored_type.size() > 1)) {
      return Status::Unsupported(std::string(where) +
                                 ": compressor: \"zfpy\" is supported only for C-order, "
                                 "little-endian arrays without filters");
    }
    Json conf = *compressor;
    conf.erase("id");
    codecs.push_back({{"name", ZfpCodec::kZfpyName}, {"configuration", conf}});
  } else {
    codecs.push_back(object_codec.is_null() ? bytes : object_codec);
  }
  for (const Json& f : bb_filters) codecs.push_back(f);
  if (compressor != z.end() && !compressor->is_null() && !zfpy) {
    ASSIGN_OR_RETURN(Json c, CompressorToV3(*compressor, m.data_type, where));
    codecs.push_back(std::move(c));
  }
  ASSIGN_OR_RETURN_CTX(CodecChain chain, CodecChain::FromJson(codecs), std::string(where));
  ASSIGN_OR_RETURN_CTX(auto prepared,
                       chain.Prepare(ChunkSpec{m.chunk_shape, m.data_type, m.fill_value}),
                       std::string(where));
  (void)prepared;
  m.codecs = chain.ToJson();

  if (!zattrs.is_null() && !zattrs.is_object()) {
    return Status::InvalidArgument(std::string(where) + ": .zattrs: " + Show(zattrs) +
                                   " is not an object");
  }
  m.attributes = zattrs.is_object() ? zattrs : Json::object();
  // xarray's convention: the dimension names of a v2 array are the attribute _ARRAY_DIMENSIONS.
  // The attribute stays (it is the user's); a malformed one is ignored, as xarray's readers do.
  if (const auto it = m.attributes->find(kArrayDimensionsAttribute);
      it != m.attributes->end() && it->is_array() && it->size() == m.rank()) {
    std::vector<std::optional<std::string>> names;
    for (const Json& n : *it) {
      if (!n.is_string()) break;
      names.push_back(n.get<std::string>());
    }
    if (names.size() == m.rank()) m.dimension_names = std::move(names);
  }
  return m;
}

Json V2AttributesOf(const ArrayMetadata& m) {
  Json attributes = m.attributes->is_object() ? *m.attributes : Json::object();
  if (!m.dimension_names || attributes.contains(kArrayDimensionsAttribute)) return attributes;
  Json names = Json::array();
  for (const auto& n : *m.dimension_names) {
    if (!n) return attributes;  // v2 has no unnamed dimension: xarray needs every name
    names.push_back(*n);
  }
  attributes[kArrayDimensionsAttribute] = std::move(names);
  return attributes;
}

namespace {

// The v2 compressor object equal to a bytes->bytes codec, or null when it has none.
Json V2Compressor(const BytesToBytesCodec& bb) {
  if (const auto* b = dynamic_cast<const BloscCodec*>(&bb)) {
    const auto& o = b->options();
    const int shuffle = o.shuffle == BloscCodec::Shuffle::kNoShuffle ? 0
                        : o.shuffle == BloscCodec::Shuffle::kShuffle ? 1
                                                                     : 2;
    return {{"id", "blosc"},
            {"cname", o.cname},
            {"clevel", o.clevel},
            {"shuffle", shuffle},
            {"blocksize", o.blocksize}};
  }
  if (const auto* zs = dynamic_cast<const ZstdCodec*>(&bb)) {
    Json c = {{"id", "zstd"}, {"level", zs->options().level}};
    if (zs->options().checksum) c["checksum"] = true;
    return c;
  }
  if (const auto* gz = dynamic_cast<const GzipCodec*>(&bb)) {
    return {{"id", "gzip"}, {"level", gz->options().level}};
  }
  const std::string_view name = bb.name();
  if (name == ZlibCodec::kName || name == Bz2Codec::kName || name == Lz4Codec::kName ||
      name == LzmaCodec::kName) {
    Result<Json> f = NumcodecsFilterToV2(bb);
    return f.ok() ? *f : Json(nullptr);
  }
  return nullptr;
}

}  // namespace

Result<Json> ArrayMetadataToV2(const ArrayMetadata& m, std::string_view where) {
  const std::string ctx = std::string(where) + ": codecs";
  ASSIGN_OR_RETURN_CTX(CodecChain chain, CodecChain::FromJson(m.codecs), ctx);
  const auto no_v2_form = [&](const Codec& c, const std::string& why) {
    return Status::Unsupported(ctx + ": codec \"" + std::string(c.name()) +
                               "\" cannot be expressed in Zarr v2 (" + why + ")");
  };
  std::string order = "C";
  Json filters = Json::array();
  const auto& aas = chain.array_to_array();
  for (size_t i = 0; i < aas.size(); ++i) {
    const Codec& aa = *aas[i];
    if (const auto* t = dynamic_cast<const TransposeCodec*>(&aa)) {
      if (i != 0) return no_v2_form(aa, "v2 has one transpose at most, before any filter");
      const std::vector<uint32_t>& o = t->options().order;
      bool identity = true, reversed = true;
      for (size_t k = 0; k < o.size(); ++k) {
        identity = identity && o[k] == k;
        reversed = reversed && o[k] == o.size() - 1 - k;
      }
      if (!identity && !reversed) {
        return no_v2_form(aa,
                          "only the identity (order \"C\") or the reversed order (order \"F\")");
      }
      if (!identity) order = "F";
      continue;
    }
    ASSIGN_OR_RETURN(Json f, NumcodecsFilterToV2(aa));
    if (f.is_null()) return no_v2_form(aa, "it is not a numcodecs filter");
    // The bytes after a value filter are stored little-endian (below): a big-endian typestr in
    // the filter would tell numcodecs otherwise.
    for (const char* key : {"dtype", "astype", "encode_dtype", "decode_dtype"}) {
      if (const auto t = f.find(key);
          t != f.end() && t->is_string() && t->get<std::string>().starts_with(">")) {
        return no_v2_form(aa, std::string(key) + " " + t->dump() +
                                  " is big-endian; v2 chunks with value filters are written "
                                  "little-endian here");
      }
    }
    filters.push_back(std::move(f));
  }
  const auto* bytes = dynamic_cast<const BytesCodec*>(chain.array_to_bytes().get());
  const auto* vlen = dynamic_cast<const VlenCodec*>(chain.array_to_bytes().get());
  const auto* zfp = dynamic_cast<const ZfpCodec*>(chain.array_to_bytes().get());
  if (zfp != nullptr) {
    // numcodecs' zfpy is the compressor and sees the chunk itself: no filter, order C.
    if (zfp->options().flavor != ZfpCodec::Flavor::kZfpy) {
      return no_v2_form(*zfp, "v2 has numcodecs.zfpy (a zfp header before the stream) only");
    }
    if (!filters.empty() || order != "C" || !chain.bytes_to_bytes().empty()) {
      return no_v2_form(*zfp, "numcodecs' zfpy takes C-order chunks without filters");
    }
    Json c = zfp->ToJson()["configuration"];
    c["id"] = "zfpy";
    ASSIGN_OR_RETURN_CTX(std::string zdtype, V2DataTypeString(m.data_type, false),
                         std::string(where) + ": dtype");
    Json z = Json::object();
    z["zarr_format"] = 2;
    z["shape"] = m.shape;
    z["chunks"] = m.chunk_shape;
    z["dtype"] = zdtype;
    z["compressor"] = std::move(c);
    z["fill_value"] = FillValueToV2(m);
    z["order"] = order;
    z["filters"] = nullptr;
    z["dimension_separator"] = std::string(1, m.chunk_key_encoding.separator);
    return z;
  }
  if (vlen != nullptr && m.data_type.id() == DataTypeId::kBytes && !m.fill_value.bytes.empty()) {
    return Status::Unsupported(std::string(where) +
                               ": fill_value: a non-empty bytes fill value has no Zarr v2 form");
  }
  if (bytes == nullptr && vlen == nullptr) {
    return no_v2_form(*chain.array_to_bytes(), "v2 chunks are plain element bytes");
  }
  const bool big = bytes != nullptr && bytes->options().endian == BytesCodec::Endian::kBig;
  if (big && !filters.empty()) {
    return no_v2_form(*chain.array_to_bytes(),
                      "big-endian chunks with value filters are not written here");
  }
  Json compressor = nullptr;
  const auto& bbs = chain.bytes_to_bytes();
  for (size_t i = 0; i < bbs.size(); ++i) {
    const BytesToBytesCodec& bb = *bbs[i];
    Json c = V2Compressor(bb);
    if (!c.is_null() && i + 1 == bbs.size()) {
      compressor = std::move(c);
      continue;
    }
    if (c.is_null()) {
      Result<Json> f = NumcodecsFilterToV2(bb);
      if (f.ok()) c = *f;
    }
    if (c.is_null()) {
      return no_v2_form(bb,
                        "v2 compressors are blosc, zstd, zlib, gzip, bz2, lz4 and lzma; byte "
                        "filters shuffle, adler32, crc32 and fletcher32");
    }
    filters.push_back(std::move(c));
  }
  std::string dtype = "|O";
  if (vlen == nullptr) {
    ASSIGN_OR_RETURN_CTX(dtype, V2DataTypeString(m.data_type, big), std::string(where) + ": dtype");
  }
  Json z = Json::object();
  z["zarr_format"] = 2;
  z["shape"] = m.shape;
  z["chunks"] = m.chunk_shape;
  z["dtype"] = dtype;
  z["compressor"] = compressor;
  z["fill_value"] = FillValueToV2(m);
  z["order"] = order;
  // An object array's vlen codec is its first filter (numcodecs encodes objects with it).
  if (vlen != nullptr) filters.insert(filters.begin(), Json{{"id", std::string(vlen->name())}});
  z["filters"] = filters.empty() ? Json(nullptr) : filters;
  z["dimension_separator"] = std::string(1, m.chunk_key_encoding.separator);
  return z;
}

Result<ArrayMetadata> NormalizeV2ArrayMetadata(ArrayMetadata m, std::string_view where) {
  if (m.chunk_key_encoding.kind != ChunkKeyEncoding::Kind::kV2) {
    // The v2 default separator applies unless the caller chose a v2 encoding explicitly.
    m.chunk_key_encoding = ChunkKeyEncoding{ChunkKeyEncoding::Kind::kV2, '.'};
  }
  if (m.dimension_names) {
    // v2 keeps them as the _ARRAY_DIMENSIONS attribute (V2AttributesOf), which names every one.
    for (const auto& n : *m.dimension_names) {
      if (!n) {
        return Status::Unsupported(std::string(where) +
                                   ": dimension_names with an unnamed dimension cannot be "
                                   "expressed in Zarr v2 (_ARRAY_DIMENSIONS names every one)");
      }
    }
    if (m.attributes->is_object()) {
      const auto it = m.attributes->find(kArrayDimensionsAttribute);
      if (it != m.attributes->end()) {
        Json names = Json::array();
        for (const auto& n : *m.dimension_names) names.push_back(*n);
        if (*it != names) {
          return Status::InvalidArgument(std::string(where) + ": dimension_names " + names.dump() +
                                         " disagree with the attribute " +
                                         std::string(kArrayDimensionsAttribute) + " " + it->dump());
        }
      }
    }
  }
  if (m.extra_fields->is_object() && !m.extra_fields->empty()) {
    return Status::Unsupported(std::string(where) + ": extra field \"" +
                               m.extra_fields->begin().key() + "\" cannot be expressed in Zarr v2");
  }
  if (!m.attributes->is_object()) {
    return Status::InvalidArgument(std::string(where) + ": attributes: " + Show(m.attributes) +
                                   " is not an object");
  }
  if (m.chunk_shape.size() != m.shape.size()) {
    return FieldError(where, "chunks",
                      "rank " + std::to_string(m.chunk_shape.size()) + " but shape has rank " +
                          std::to_string(m.shape.size()));
  }
  if (!m.data_type.is_variable() && m.fill_value.bytes.size() != m.data_type.size()) {
    return FieldError(where, "fill_value",
                      std::to_string(m.fill_value.bytes.size()) + " bytes but " +
                          m.data_type.name() + " has " + std::to_string(m.data_type.size()));
  }
  ASSIGN_OR_RETURN(Json z, ArrayMetadataToV2(m, where));
  // A null fill value reads as zero: keep the two consistent.
  if (m.fill_value_null && m.fill_value != FillValue::Zero(m.data_type)) {
    return FieldError(where, "fill_value", "null (v2) requires the type's zero as fill value");
  }
  ASSIGN_OR_RETURN(ArrayMetadata back, ArrayMetadataFromV2(z, V2AttributesOf(m), where));
  // The fill value is kept bit-exactly (v2 JSON writes every NaN as "NaN").
  if (!back.fill_value_null) back.fill_value = m.fill_value;
  return back;
}

Result<std::optional<ArrayMetadata>> ReadV2ArrayMetadata(Store& store, std::string_view node_path) {
  const std::string key = V2KeyFor(node_path, kZarrayKey);
  ASSIGN_OR_RETURN(std::optional<Bytes> doc, store.get(key));
  if (!doc) {
    ASSIGN_OR_RETURN(bool group, store.exists(V2KeyFor(node_path, kZgroupKey)));
    if (group) {
      return Status::FailedPrecondition("'" + std::string(node_path) +
                                        "' is a Zarr v2 group, not an array (" +
                                        V2KeyFor(node_path, kZgroupKey) + ")");
    }
    return std::optional<ArrayMetadata>();
  }
  ASSIGN_OR_RETURN(Json z, ParseJson(AsString(*doc), key));
  ASSIGN_OR_RETURN(Json attrs, ReadAttributes(store, node_path));
  ASSIGN_OR_RETURN(ArrayMetadata m, ArrayMetadataFromV2(z, attrs, key));
  return std::optional<ArrayMetadata>(std::move(m));
}

Status WriteV2ArrayMetadata(Store& store, std::string_view node_path, const ArrayMetadata& m) {
  const std::string key = V2KeyFor(node_path, kZarrayKey);
  ASSIGN_OR_RETURN(Json z, ArrayMetadataToV2(m, key));
  RETURN_IF_ERROR(WriteJson(store, key, z));
  return WriteV2Attributes(store, node_path, V2AttributesOf(m));
}

Status WriteV2Attributes(Store& store, std::string_view node_path, const Json& attributes) {
  const std::string key = V2KeyFor(node_path, kZattrsKey);
  if (!attributes.is_object()) {
    return Status::InvalidArgument(key + ": attributes " + Show(attributes) +
                                   " are not a JSON object");
  }
  return WriteJson(store, key, attributes);
}

Result<std::optional<GroupMetadata>> ReadV2GroupMetadata(Store& store, std::string_view node_path) {
  const std::string key = V2KeyFor(node_path, kZgroupKey);
  ASSIGN_OR_RETURN(Json z, ReadJsonDoc(store, key));
  if (z.is_null()) return std::optional<GroupMetadata>();
  if (!z.is_object() || !z.contains("zarr_format")) {
    return FieldError(key, "zarr_format", "missing (required)");
  }
  if (z["zarr_format"] != 2) {
    return Status::Unsupported(key + ": zarr_format: " + Show(z["zarr_format"]) +
                               " is not supported in .zgroup (expected 2)");
  }
  GroupMetadata g;
  g.zarr_format = 2;
  ASSIGN_OR_RETURN(g.attributes, ReadAttributes(store, node_path));
  return std::optional<GroupMetadata>(std::move(g));
}

Status WriteV2GroupMetadata(Store& store, std::string_view node_path, const GroupMetadata& g) {
  RETURN_IF_ERROR(WriteJson(store, V2KeyFor(node_path, kZgroupKey), Json{{"zarr_format", 2}}));
  return WriteV2Attributes(store, node_path, g.attributes);
}

Result<bool> NodeExists(Store& store, std::string_view node_path) {
  const std::string v3 = node_path.empty() ? "zarr.json" : std::string(node_path) + "/zarr.json";
  for (const std::string& key :
       {v3, V2KeyFor(node_path, kZarrayKey), V2KeyFor(node_path, kZgroupKey)}) {
    ASSIGN_OR_RETURN(bool e, store.exists(key));
    if (e) return true;
  }
  return false;
}

Status WriteArrayMetadataDocuments(Store& store, std::string_view node_path,
                                   const ArrayMetadata& m) {
  if (m.zarr_format == 2) return WriteV2ArrayMetadata(store, node_path, m);
  return store.set(MetadataKeyFor(node_path), AsBytes(m.ToJson().dump(2)));
}

std::string ArrayMetadataKeyFor(std::string_view node_path, int zarr_format) {
  return zarr_format == 2 ? V2KeyFor(node_path, kZarrayKey) : MetadataKeyFor(node_path);
}

Result<std::shared_ptr<Array>> CreateV2Array(std::shared_ptr<Store> store, const std::string& path,
                                             ArrayMetadata metadata, bool overwrite,
                                             const ArrayOptions& options) {
  ASSIGN_OR_RETURN(std::shared_ptr<Array> array,
                   Array::Attach(store, path, std::move(metadata), options));
  // Ancestors (the root first): groups stay, arrays refuse, missing ones are written after the
  // checks.
  std::vector<std::string> ancestors;
  if (!path.empty()) ancestors.push_back("");
  for (size_t pos = path.find('/'); pos != std::string::npos; pos = path.find('/', pos + 1)) {
    ancestors.push_back(path.substr(0, pos));
  }
  std::vector<std::string> missing;
  for (const std::string& ancestor : ancestors) {
    const std::string zarray = V2KeyFor(ancestor, kZarrayKey);
    ASSIGN_OR_RETURN(bool v2_array, store->exists(zarray));
    bool v3_array = false;
    const std::string zarr_json = MetadataKeyFor(ancestor);
    ASSIGN_OR_RETURN(std::optional<Bytes> doc, store->get(zarr_json));
    if (doc) {
      ASSIGN_OR_RETURN(Json j, ParseJson(AsString(*doc), zarr_json));
      v3_array = !j.is_object() || j.value("node_type", "") != "group";
    }
    if (v2_array || v3_array) {
      return Status::FailedPrecondition("cannot create array '/" + path + "': its ancestor '/" +
                                        ancestor + "' is an array (" +
                                        (v2_array ? zarray : zarr_json) + ")");
    }
    ASSIGN_OR_RETURN(bool exists, NodeExists(*store, ancestor));
    if (!exists) missing.push_back(ancestor);
  }
  ASSIGN_OR_RETURN(bool exists, NodeExists(*store, path));
  if (exists) {
    if (!overwrite) {
      return Status::AlreadyExists("a node already exists at '/" + path + "'");
    }
    if (path.empty()) {
      RETURN_IF_ERROR(store->erase_prefix(""));
    } else {
      RETURN_IF_ERROR(store->erase_prefix(path + "/"));
    }
  }
  GroupMetadata group;
  group.zarr_format = 2;
  for (const std::string& g : missing) RETURN_IF_ERROR(WriteV2GroupMetadata(*store, g, group));
  RETURN_IF_ERROR(WriteV2ArrayMetadata(*store, path, array->metadata()));
  return array;
}

}  // namespace zarrpp::internal
