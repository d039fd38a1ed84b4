// Zarr v3 zarr.json parsing, validation and serialisation.
//
// Float fill values are rounded from their decimal text, not from nlohmann's double, so that a
// number lying between two floats rounds once (ties to even) even when its nearest double is
// itself a float32/float16 tie point. Parse() builds the DOM through a SAX handler that keeps the
// raw text of the fill_value's numbers; FromJson() on a DOM without that text uses the double.
#include "zarrpp/metadata.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codecs/codec_chain.h"
#include "src/checked_math.h"
#include "src/metadata/float_format.h"
#include "src/metadata/json_numbers.h"
#include "src/types/fixed_strings.h"
#include "src/types/float16.h"
#include "zarrpp/json.h"

namespace zarrpp {
namespace {

// ---------------------------------------------------------------------------------------------
// JSON text -> DOM, keeping the fill_value's number texts.

// Raw texts of the non-integer JSON numbers of a document's top-level "fill_value": `scalar` when
// it is a number, `parts[i]` for the numbers of a [re, im] array. Empty when not known.
struct FillValueText {
  std::string scalar;
  std::array<std::string, 2> parts;
};

// Deep enough for any metadata, shallow enough that no consumer recursing over the DOM can
// exhaust the stack.
constexpr size_t kMaxJsonDepth = 256;

class DomBuilder final : public Json::json_sax_t {
 public:
  DomBuilder(Json& root, FillValueText* fill_text) : root_(root), fill_text_(fill_text) {}

  const std::string& error() const { return error_; }

  bool null() override { return Add(Json(nullptr)); }
  bool boolean(bool v) override { return Add(Json(v)); }
  bool number_integer(number_integer_t v) override { return Add(Json(v)); }
  bool number_unsigned(number_unsigned_t v) override { return Add(Json(v)); }
  bool number_float(number_float_t v, const string_t& text) override {
    RecordFillText(text);
    return Add(Json(v));
  }
  bool string(string_t& v) override { return Add(Json(std::move(v))); }
  bool binary(binary_t& v) override { return Add(Json::binary(std::move(v))); }
  bool start_object(std::size_t /*elements*/) override { return Open(Json::object()); }
  bool key(string_t& k) override {
    key_ = std::move(k);
    if (stack_.size() == 1 && key_ == "fill_value" && fill_text_ != nullptr) {
      *fill_text_ = FillValueText{};  // a repeated key replaces the earlier value
    }
    return true;
  }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t /*elements*/) override { return Open(Json::array()); }
  bool end_array() override { return Close(); }
  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& ex) override {
    error_ = ex.what();
    return false;
  }

 private:
  // Inserts `v` into the open container (or makes it the root). Pointers to open containers stay
  // valid: an array gains no sibling while a child is open, and std::map nodes never move.
  Json* Insert(Json v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    Json& slot = parent[key_];
    slot = std::move(v);
    return &slot;
  }
  bool Add(Json v) {
    Insert(std::move(v));
    return true;
  }
  bool Open(Json container) {
    if (stack_.size() >= kMaxJsonDepth) {
      error_ = "nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels";
      return false;
    }
    const bool fill_array = stack_.size() == 1 && stack_[0]->is_object() && key_ == "fill_value" &&
                            container.is_array();
    stack_.push_back(Insert(std::move(container)));
    if (stack_.size() == 2) in_fill_array_ = fill_array;
    return true;
  }
  bool Close() {
    stack_.pop_back();
    if (stack_.size() < 2) in_fill_array_ = false;
    return true;
  }
  void RecordFillText(const std::string& text) {
    if (fill_text_ == nullptr) return;
    if (stack_.size() == 1 && stack_[0]->is_object() && key_ == "fill_value") {
      fill_text_->scalar = text;
    } else if (stack_.size() == 2 && in_fill_array_ && stack_[1]->size() < 2) {
      fill_text_->parts[stack_[1]->size()] = text;
    }
  }

  Json& root_;
  FillValueText* fill_text_;
  std::vector<Json*> stack_;  // open containers, outermost first
  std::string key_;           // the key of the next value inserted into an object
  bool in_fill_array_ = false;
  std::string error_;
};

Result<Json> ParseJsonText(std::string_view text, std::string_view where, FillValueText* fill) {
  Json root;
  DomBuilder builder(root, fill);
  bool ok = false;
  try {
    ok = Json::sax_parse(text.begin(), text.end(), &builder);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string(where) + ": invalid JSON: " + e.what());
  }
  if (!ok) {
    return Status::InvalidArgument(std::string(where) + ": invalid JSON: " + builder.error());
  }
  return root;
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

// A JSON value for a message, never throwing and never huge.
std::string Show(const Json& j) {
  std::string s = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  constexpr size_t kMax = 120;
  if (s.size() > kMax) s = s.substr(0, kMax) + "...";
  return s;
}

std::string Quote(std::string_view s) {
  std::string q;  // appended, not "\"" + s: GCC 12 warns falsely (-Wrestrict) on that form
  q.reserve(s.size() + 2);
  q += '"';
  q += s;
  q += '"';
  return q;
}

Status FieldError(std::string_view where, std::string_view field, std::string_view message) {
  std::string m(where);
  m += ": ";
  m += field;
  m += ": ";
  m += message;
  return Status::InvalidArgument(std::move(m));
}

template <typename T>
void StoreLE(T v, uint8_t* out) {
  std::memcpy(out, &v, sizeof(T));  // the host is little-endian (data_type.h)
}
template <typename T>
T LoadLE(const uint8_t* in) {
  T v;
  std::memcpy(&v, in, sizeof(T));
  return v;
}

using internal::AsUint;

// ---------------------------------------------------------------------------------------------
// Exact decimal comparison for float16 rounding.

// |value| = 0.digits x 10^exponent, `digits` without leading or trailing zeros (empty for zero).
struct Decimal {
  std::string digits;
  int64_t exponent = 0;
};

// The magnitude of a JSON number token (-?int(.frac)?([eE][+-]?digits)?); nullopt if malformed.
std::optional<Decimal> ParseDecimal(std::string_view text) {
  size_t i = 0;
  if (i < text.size() && text[i] == '-') ++i;
  std::string digits;
  int64_t point = 0;  // digits before the decimal point
  bool any = false;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, any = true) {
    digits += text[i];
    ++point;
  }
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, any = true) {
      digits += text[i];
    }
  }
  if (!any) return std::nullopt;
  int64_t exp = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool neg = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) neg = text[i++] == '-';
    if (i == text.size()) return std::nullopt;
    constexpr int64_t kCap = int64_t{1} << 40;  // far beyond any value that reaches a comparison
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      exp = std::min(exp * 10 + (text[i] - '0'), kCap);
    }
    if (neg) exp = -exp;
  }
  if (i != text.size()) return std::nullopt;
  const size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return Decimal{};
  const size_t last = digits.find_last_not_of('0');
  Decimal d;
  d.digits = digits.substr(first, last - first + 1);
  d.exponent = point - static_cast<int64_t>(first) + exp;
  return d;
}

// The exact decimal of the positive dyadic m * 2^k (|k| < 64).
Decimal DyadicToDecimal(uint64_t m, int k) {
  // Decimal digits, least significant first, so that multiplying by 2 or 5 is one carry pass.
  std::string digits;
  for (; m != 0; m /= 10) digits += static_cast<char>('0' + m % 10);
  const auto multiply = [&digits](int factor) {
    int carry = 0;
    for (char& c : digits) {
      const int v = (c - '0') * factor + carry;
      c = static_cast<char>('0' + v % 10);
      carry = v / 10;
    }
    for (; carry != 0; carry /= 10) digits += static_cast<char>('0' + carry % 10);
  };
  // m * 2^k is m * 2^k for k >= 0, and m * 5^-k * 10^k otherwise.
  for (int i = 0; i < (k >= 0 ? k : -k); ++i) multiply(k >= 0 ? 2 : 5);
  std::reverse(digits.begin(), digits.end());
  Decimal d;
  d.digits = digits.substr(0, digits.find_last_not_of('0') + 1);
  d.exponent = static_cast<int64_t>(digits.size()) + (k >= 0 ? 0 : k);
  return d;
}

int CompareMagnitude(const Decimal& a, const Decimal& b) {
  if (a.digits.empty() || b.digits.empty()) {
    return static_cast<int>(!a.digits.empty()) - static_cast<int>(!b.digits.empty());
  }
  if (a.exponent != b.exponent) return a.exponent < b.exponent ? -1 : 1;
  const int c = a.digits.compare(b.digits);  // no trailing zeros: longer prefix-equal is larger
  return (c > 0) - (c < 0);
}

// The float16 nearest to the decimal `text` (ties to even), given `d`, the double nearest to it.
// Rounding d alone is exact except when d lands exactly on a float16 tie point while the decimal
// does not: rounding is monotonic and every float16 tie point is a double, so the decimal and d lie
// on the same side of every tie point unless d equals one. Only then is the text compared, exactly,
// with that tie point.
uint16_t DecimalToHalf(std::string_view text, double d) {
  const uint16_t rounded = internal::DoubleToHalf(d);
  const double a = std::fabs(d);
  if (!std::isfinite(a) || a == 0 || a >= 65536.0) return rounded;
  // The float16 spacing at a: 2^-24 below 2^-14, else 2^(floor(log2 a) - 10).
  int ex = 0;
  std::frexp(a, &ex);  // a = f * 2^ex, f in [0.5, 1)
  const int step = a < 0x1p-14 ? -24 : ex - 11;
  const double units = std::ldexp(a, -step);  // exact
  const double lower = std::floor(units);
  if (units - lower != 0.5) return rounded;
  const std::optional<Decimal> exact = ParseDecimal(text);
  if (!exact) return rounded;
  const auto low = static_cast<uint64_t>(lower);
  const int c = CompareMagnitude(*exact, DyadicToDecimal(2 * low + 1, step - 1));
  const uint64_t pick = c < 0 ? low : c > 0 ? low + 1 : (low % 2 == 0 ? low : low + 1);
  const uint16_t magnitude = internal::DoubleToHalf(std::ldexp(static_cast<double>(pick), step));
  return std::signbit(d) ? static_cast<uint16_t>(magnitude | internal::kHalfSignMask) : magnitude;
}

// ---------------------------------------------------------------------------------------------
// Fill values.

std::string FloatTypeName(uint32_t size) {
  return size == 2 ? "float16" : size == 4 ? "float32" : "float64";
}

uint64_t CanonicalNaNBits(uint32_t size) {
  return size == 2 ? 0x7e00 : size == 4 ? 0x7fc00000 : 0x7ff8000000000000;
}
uint64_t InfinityBits(uint32_t size) {
  return size == 2 ? 0x7c00 : size == 4 ? 0x7f800000 : 0x7ff0000000000000;
}
uint64_t SignBit(uint32_t size) {
  return uint64_t{1} << (size * 8 - 1);
}

void StoreBits(uint64_t bits, uint32_t size, uint8_t* out) {
  for (uint32_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(bits >> (8 * i));
}
uint64_t LoadBits(uint32_t size, const uint8_t* in) {
  uint64_t bits = 0;
  for (uint32_t i = 0; i < size; ++i) bits |= uint64_t{in[i]} << (8 * i);
  return bits;
}

bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// One IEEE float of `size` bytes (2, 4, 8) from its fill_value JSON; `text` is the number's
// decimal text when known. Writes the little-endian bits to `out`.
Status ParseFloatComponent(const Json& j, uint32_t size, std::string_view text, uint8_t* out) {
  const std::string type = FloatTypeName(size);
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s == "NaN") {
      StoreBits(CanonicalNaNBits(size), size, out);
    } else if (s == "Infinity") {
      StoreBits(InfinityBits(size), size, out);
    } else if (s == "-Infinity") {
      StoreBits(InfinityBits(size) | SignBit(size), size, out);
    } else if (s.starts_with("0x")) {
      const std::string_view hex = std::string_view(s).substr(2);
      if (hex.size() != 2 * size || !std::all_of(hex.begin(), hex.end(), IsHexDigit)) {
        return Status::InvalidArgument(Quote(s) + " is not a " + type +
                                       " bit pattern (needs 0x and " + std::to_string(2 * size) +
                                       " hex digits)");
      }
      uint64_t bits = 0;
      std::from_chars(hex.data(), hex.data() + hex.size(), bits, 16);
      StoreBits(bits, size, out);
    } else {
      return Status::InvalidArgument(Quote(s) + " is not a " + type +
                                     " (expected a number, \"NaN\", \"Infinity\", \"-Infinity\" "
                                     "or a 0x hex bit pattern)");
    }
    return Status::OK();
  }
  if (!j.is_number()) {
    return Status::InvalidArgument(Show(j) + " is not a " + type +
                                   " (expected a number, \"NaN\", \"Infinity\", \"-Infinity\" or "
                                   "a 0x hex bit pattern)");
  }
  const std::string shown = text.empty() ? Show(j) : std::string(text);
  const Status overflow =
      Status::InvalidArgument(shown + " is out of range for " + type + " (use \"Infinity\")");
  if (j.is_number_integer()) {
    // Integer -> float conversions round once, to nearest even. For float16 the double is exact
    // below 2^53, and anything above overflows float16 anyway.
    const bool is_unsigned = j.is_number_unsigned();
    const uint64_t u = is_unsigned ? j.get<uint64_t>() : 0;
    const int64_t s = is_unsigned ? 0 : j.get<int64_t>();
    if (size == 8) {
      StoreLE(is_unsigned ? static_cast<double>(u) : static_cast<double>(s), out);
    } else if (size == 4) {
      const float f = is_unsigned ? static_cast<float>(u) : static_cast<float>(s);
      if (std::isinf(f)) return overflow;
      StoreLE(f, out);
    } else {
      const uint16_t h =
          internal::DoubleToHalf(is_unsigned ? static_cast<double>(u) : static_cast<double>(s));
      if (internal::HalfIsInf(h)) return overflow;
      StoreLE(h, out);
    }
    return Status::OK();
  }
  const double d = j.get<double>();
  if (!std::isfinite(d)) return overflow;
  if (size == 8) {
    StoreLE(d, out);  // nlohmann's strtod already rounded the decimal text once
  } else if (size == 4) {
    float f = static_cast<float>(d);  // may round twice when the text is unknown
    if (!text.empty()) {
      // from_chars is strtof without the locale: correctly rounded from the decimal text.
      float parsed = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
      if (ec == std::errc() && end == text.data() + text.size()) {
        f = parsed;
      } else if (ec == std::errc::result_out_of_range && std::fabs(d) < 1) {
        f = std::signbit(d) ? -0.0f : 0.0f;  // rounds to zero
      } else if (ec == std::errc::result_out_of_range) {
        return overflow;
      }
    }
    if (std::isinf(f)) return overflow;
    StoreLE(f, out);
  } else {
    const uint16_t h = text.empty() ? internal::DoubleToHalf(d) : DecimalToHalf(text, d);
    if (internal::HalfIsInf(h)) return overflow;
    StoreLE(h, out);
  }
  return Status::OK();
}

// The JSON number for a finite float component, chosen so that both the text-based and the
// double-based parse give back `bits`.
bool ComponentRoundTrips(double candidate, uint32_t size, uint64_t bits) {
  const std::string text = Json(candidate).dump();
  Bytes got(size);
  if (!ParseFloatComponent(Json(candidate), size, text, got.data()).ok()) return false;
  if (LoadBits(size, got.data()) != bits) return false;
  return ParseFloatComponent(Json(candidate), size, "", got.data()).ok() &&
         LoadBits(size, got.data()) == bits;
}

Json FloatComponentToJson(const uint8_t* in, uint32_t size) {
  const uint64_t bits = LoadBits(size, in);
  const uint64_t sign = SignBit(size);
  const uint64_t inf = InfinityBits(size);
  const uint64_t mantissa_mask = sign - 1 - inf;
  if ((bits & inf) == inf) {
    if ((bits & mantissa_mask) == 0) return (bits & sign) ? "-Infinity" : "Infinity";
    if (bits == CanonicalNaNBits(size)) return "NaN";
    std::string hex(2 * size, '0');
    for (uint32_t i = 0; i < 2 * size; ++i) {
      hex[2 * size - 1 - i] = "0123456789abcdef"[(bits >> (4 * i)) & 0xf];
    }
    return "0x" + hex;
  }
  if (size == 8) return LoadLE<double>(in);
  // The shortest decimal that reads back as the same value keeps the document readable
  // (0.1 rather than 0.100000001490116...).
  const double exact = size == 4 ? static_cast<double>(LoadLE<float>(in))
                                 : internal::HalfToDouble(LoadLE<uint16_t>(in));
  std::array<char, 64> buf;
  for (int digits = 1; digits <= 17; ++digits) {
    std::to_chars_result r{};
    if (size == 4 && digits == 1) {
      r = std::to_chars(buf.data(), buf.data() + buf.size(), LoadLE<float>(in));  // shortest
    } else {
      r = std::to_chars(buf.data(), buf.data() + buf.size(), exact, std::chars_format::scientific,
                        digits - 1);
    }
    double candidate = 0;
    std::from_chars(buf.data(), r.ptr, candidate);
    if (ComponentRoundTrips(candidate, size, bits)) return candidate;
  }
  return exact;
}

// One component of an extension float type (bfloat16, float8_*, float6_*, float4_e2m1fn):
// "NaN", "Infinity", "-Infinity", a "0x..." bit pattern, or a number rounded to the nearest
// value (ties to even). Writes the pattern's `size` little-endian bytes to `out`.
Status ParseSmallFloat(const Json& j, DataTypeId id, uint32_t size, uint8_t* out) {
  const internal::FloatFormat& f = *internal::FloatFormatOf(id);
  const std::string type = DataType(id).name();
  std::optional<uint32_t> pattern;
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    if (s == "NaN" || s == "Infinity" || s == "-Infinity") {
      pattern = f.FromDouble(s == "NaN" ? std::nan("") : s == "Infinity" ? HUGE_VAL : -HUGE_VAL);
      if (!pattern) return Status::InvalidArgument(Quote(s) + " has no representation in " + type);
    } else if (s.size() > 2 && s[0] == '0' && s[1] == 'x') {
      const size_t digits = (f.bits + 3) / 4;
      bool hex = s.size() - 2 <= 2 * size;
      for (size_t i = 2; hex && i < s.size(); ++i) hex = IsHexDigit(s[i]);
      uint64_t v = 0;
      if (hex) std::from_chars(s.data() + 2, s.data() + s.size(), v, 16);
      if (!hex || v >> f.bits != 0) {
        return Status::InvalidArgument(Quote(s) + " is not a " + std::to_string(f.bits) +
                                       "-bit pattern for " + type + " (expected \"0x\" and " +
                                       std::to_string(digits) + " hex digits)");
      }
      pattern = static_cast<uint32_t>(v);
    } else {
      return Status::InvalidArgument(Quote(s) + " is not a number, \"NaN\", \"Infinity\", " +
                                     "\"-Infinity\" or a \"0x\" bit pattern for " + type);
    }
  } else if (j.is_number()) {
    const double d = j.get<double>();
    pattern = f.FromDouble(d);
    if (!pattern) {
      return Status::InvalidArgument(Show(j) + " is out of range for " + type +
                                     " (or not one of its values)");
    }
  } else {
    return Status::InvalidArgument(Show(j) + " is not a number or string for " + type);
  }
  StoreBits(*pattern, size, out);
  return Status::OK();
}

// The JSON of an extension float component: the shortest decimal that reads back as the same
// pattern, "NaN" for the canonical NaN, "Infinity"/"-Infinity", else a "0x..." pattern.
Json SmallFloatToJson(const uint8_t* in, DataTypeId id, uint32_t size) {
  const internal::FloatFormat& f = *internal::FloatFormatOf(id);
  const auto pattern = static_cast<uint32_t>(LoadBits(size, in) & ((uint64_t{1} << f.bits) - 1));
  if (f.IsNan(pattern)) {
    if (pattern == f.canonical_nan()) return "NaN";
    std::string hex(2 * size, '0');
    for (uint32_t i = 0; i < 2 * size; ++i) {
      hex[2 * size - 1 - i] = "0123456789abcdef"[(pattern >> (4 * i)) & 0xf];
    }
    return "0x" + hex;
  }
  if (f.IsInf(pattern)) return (pattern & f.sign_bit()) ? "-Infinity" : "Infinity";
  const double exact = f.ToDouble(pattern);
  std::array<char, 64> buf;
  for (int digits = 1; digits <= 17; ++digits) {
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), exact,
                                 std::chars_format::scientific, digits - 1);
    double candidate = 0;
    std::from_chars(buf.data(), r.ptr, candidate);
    if (f.FromDouble(candidate) == pattern) return candidate;
  }
  return exact;
}

// One component of a float or complex type, by component type.
Status ParseAnyFloatComponent(const Json& j, DataTypeId id, uint32_t size, std::string_view text,
                              uint8_t* out) {
  if (internal::FloatFormatOf(id) != nullptr) return ParseSmallFloat(j, id, size, out);
  return ParseFloatComponent(j, size, text, out);
}
Json AnyFloatComponentToJson(const uint8_t* in, DataTypeId id, uint32_t size) {
  if (internal::FloatFormatOf(id) != nullptr) return SmallFloatToJson(in, id, size);
  return FloatComponentToJson(in, size);
}

// The fill value of `type` from `j`; `text` holds the decimal texts of its numbers when known.
// Base64 (RFC 4648, with padding): zarr-python 3's fill value form for the bytes type.
std::string Base64Encode(ByteView in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (size_t i = 0; i < in.size(); i += 3) {
    const uint32_t n = (uint32_t{in[i]} << 16) |
                       (i + 1 < in.size() ? uint32_t{in[i + 1]} << 8 : 0) |
                       (i + 2 < in.size() ? uint32_t{in[i + 2]} : 0);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

std::optional<Bytes> Base64Decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (in.size() % 4 != 0) return std::nullopt;
  Bytes out;
  out.reserve(in.size() / 4 * 3);
  for (size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = in[i + k];
      if (c == '=' && i + 4 == in.size() && k >= 2) {
        v[k] = 0;
        ++pad;
      } else if (pad > 0 || (v[k] = value(c)) < 0) {
        return std::nullopt;
      }
    }
    const uint32_t n =
        (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | uint32_t(v[3]);
    out.push_back(static_cast<uint8_t>(n >> 16));
    if (pad < 2) out.push_back(static_cast<uint8_t>(n >> 8));
    if (pad < 1) out.push_back(static_cast<uint8_t>(n));
  }
  return out;
}

Result<FillValue> ParseFillValue(const Json& j, DataType type, const FillValueText& text) {
  if (type.id() == DataTypeId::kString) {
    if (!j.is_string()) return Status::InvalidArgument(Show(j) + " is not a string for string");
    const std::string& s = j.get_ref<const std::string&>();
    return FillValue{Bytes(s.begin(), s.end())};
  }
  if (type.id() == DataTypeId::kBytes) {
    if (j.is_string()) {
      std::optional<Bytes> b = Base64Decode(j.get_ref<const std::string&>());
      if (!b) return Status::InvalidArgument(Show(j) + " is not base64 for bytes");
      return FillValue{std::move(*b)};
    }
    if (!j.is_array()) {
      return Status::InvalidArgument(Show(j) +
                                     " is not a base64 string or a list of integers 0..255 "
                                     "for bytes");
    }
    Bytes b;
    for (size_t i = 0; i < j.size(); ++i) {
      const std::optional<uint64_t> v = AsUint(j[i]);
      if (!v || *v > 255) {
        return Status::InvalidArgument(Show(j) + ": byte " + std::to_string(i) +
                                       " is not an integer 0..255 for bytes");
      }
      b.push_back(static_cast<uint8_t>(*v));
    }
    return FillValue{std::move(b)};
  }
  if (type.is_fixed_string()) {
    // zarr-python 3: base64 of the bytes (trailing NULs stripped) / the string itself.
    FillValue fv{Bytes(type.size(), 0)};
    if (type.id() == DataTypeId::kFixedBytes) {
      if (!j.is_string()) {
        return Status::InvalidArgument(Show(j) + " is not a base64 string for " + type.name());
      }
      std::optional<Bytes> b = Base64Decode(j.get_ref<const std::string&>());
      if (!b) return Status::InvalidArgument(Show(j) + " is not base64 for " + type.name());
      RETURN_IF_ERROR_CTX(internal::TextToFixedElement(type, AsString(*b), fv.bytes.data()),
                          Show(j));
      return fv;
    }
    if (!j.is_string()) {
      return Status::InvalidArgument(Show(j) + " is not a string for " + type.name());
    }
    RETURN_IF_ERROR_CTX(
        internal::TextToFixedElement(type, j.get_ref<const std::string&>(), fv.bytes.data()),
        Show(j));
    return fv;
  }
  FillValue fv{Bytes(type.size(), 0)};
  uint8_t* out = fv.bytes.data();
  const std::string type_name = type.name();
  switch (type.id()) {
    case DataTypeId::kBool:
      if (!j.is_boolean()) {
        return Status::InvalidArgument(Show(j) + " is not a bool (expected true or false)");
      }
      out[0] = j.get<bool>() ? 1 : 0;
      return fv;
    case DataTypeId::kInt8:
    case DataTypeId::kInt16:
    case DataTypeId::kInt32:
    case DataTypeId::kInt64:
    case DataTypeId::kUInt8:
    case DataTypeId::kUInt16:
    case DataTypeId::kUInt32:
    case DataTypeId::kUInt64:
    case DataTypeId::kInt2:
    case DataTypeId::kInt4:
    case DataTypeId::kUInt2:
    case DataTypeId::kUInt4: {
      const std::string shown = text.scalar.empty() ? Show(j) : text.scalar;
      const Status out_of_range =
          Status::InvalidArgument(shown + " is out of range for " + type_name);
      if (j.is_number_float()) {
        // nlohmann gives integers beyond 64 bits as floats; their text has no '.', 'e' or 'E'.
        const bool integer_text =
            !text.scalar.empty() && text.scalar.find_first_of(".eE") == std::string::npos;
        if (integer_text) return out_of_range;
        return Status::InvalidArgument(
            shown + " is not a JSON integer (no fraction or exponent) for " + type_name);
      }
      if (!j.is_number_integer()) {
        return Status::InvalidArgument(shown + " is not an integer for " + type_name);
      }
      const uint32_t bits = type.bits();
      if (type.is_signed_int() || type.id() == DataTypeId::kInt2 ||
          type.id() == DataTypeId::kInt4) {
        if (j.is_number_unsigned() && j.get<uint64_t>() > uint64_t{INT64_MAX}) return out_of_range;
        const int64_t v = j.get<int64_t>();
        const int64_t max = bits == 64 ? INT64_MAX : (int64_t{1} << (bits - 1)) - 1;
        const int64_t min = -max - 1;
        if (v < min || v > max) return out_of_range;
        StoreBits(static_cast<uint64_t>(v), type.size(), out);
      } else {
        const std::optional<uint64_t> u = AsUint(j);
        if (!u) return out_of_range;  // negative
        const uint64_t v = *u;
        const uint64_t max = bits == 64 ? UINT64_MAX : (uint64_t{1} << bits) - 1;
        if (v > max) return out_of_range;
        StoreBits(v, type.size(), out);
      }
      return fv;
    }
    case DataTypeId::kFloat16:
    case DataTypeId::kFloat32:
    case DataTypeId::kFloat64:
      RETURN_IF_ERROR(ParseFloatComponent(j, type.size(), text.scalar, out));
      return fv;
    case DataTypeId::kDateTime64:
    case DataTypeId::kTimeDelta64: {
      // An int64 count, or "NaT" (INT64_MIN).
      if (j.is_string() && j.get<std::string>() == "NaT") {
        StoreLE(INT64_MIN, out);
        return fv;
      }
      if (!j.is_number()) {
        return Status::InvalidArgument(Show(j) + " is not an integer or \"NaT\" for " + type_name);
      }
      ASSIGN_OR_RETURN(FillValue count, ParseFillValue(j, DataType(DataTypeId::kInt64), text));
      return count;
    }
    case DataTypeId::kBFloat16:
    case DataTypeId::kFloat8E3M4:
    case DataTypeId::kFloat8E4M3:
    case DataTypeId::kFloat8E4M3B11FNUZ:
    case DataTypeId::kFloat8E4M3FNUZ:
    case DataTypeId::kFloat8E5M2:
    case DataTypeId::kFloat8E5M2FNUZ:
    case DataTypeId::kFloat8E8M0FNU:
    case DataTypeId::kFloat4E2M1FN:
    case DataTypeId::kFloat6E2M3FN:
    case DataTypeId::kFloat6E3M2FN:
      RETURN_IF_ERROR(ParseSmallFloat(j, type.id(), type.size(), out));
      return fv;
    case DataTypeId::kComplex64:
    case DataTypeId::kComplex128:
    case DataTypeId::kComplexBFloat16:
    case DataTypeId::kComplexFloat16:
    case DataTypeId::kComplexFloat32:
    case DataTypeId::kComplexFloat64:
    case DataTypeId::kComplexFloat8E3M4:
    case DataTypeId::kComplexFloat8E4M3:
    case DataTypeId::kComplexFloat8E4M3B11FNUZ:
    case DataTypeId::kComplexFloat8E4M3FNUZ:
    case DataTypeId::kComplexFloat8E5M2:
    case DataTypeId::kComplexFloat8E5M2FNUZ:
    case DataTypeId::kComplexFloat8E8M0FNU: {
      if (!j.is_array() || j.size() != 2) {
        return Status::InvalidArgument(Show(j) + " is not a " + type_name +
                                       " (expected [real, imaginary])");
      }
      const uint32_t half = type.size() / 2;
      const DataTypeId part = type.component_id();
      RETURN_IF_ERROR_CTX(ParseAnyFloatComponent(j[0], part, half, text.parts[0], out),
                          "real part");
      RETURN_IF_ERROR_CTX(ParseAnyFloatComponent(j[1], part, half, text.parts[1], out + half),
                          "imaginary part");
      return fv;
    }
    case DataTypeId::kString:  // handled above
    case DataTypeId::kBytes:
    case DataTypeId::kFixedBytes:
    case DataTypeId::kFixedUtf32: break;
    case DataTypeId::kRawBits: {
      if (!j.is_array() || j.size() != type.size()) {
        return Status::InvalidArgument(Show(j) + " is not a " + type_name + " (expected " +
                                       std::to_string(type.size()) + " integers 0..255)");
      }
      for (size_t i = 0; i < j.size(); ++i) {
        const std::optional<uint64_t> b = AsUint(j[i]);
        if (!b || *b > 255) {
          return Status::InvalidArgument(Show(j) + ": byte " + std::to_string(i) + " (" +
                                         Show(j[i]) + ") is not an integer 0..255 for " +
                                         type_name);
        }
        out[i] = static_cast<uint8_t>(*b);
      }
      return fv;
    }
  }
  return Status::Unsupported("data type " + type_name + " has no fill value encoding");
}

// ---------------------------------------------------------------------------------------------
// Metadata fields.

// An extension point value: "name" or {"name", "configuration", "must_understand"}.
struct Extension {
  std::string name;
  Json configuration = Json::object();
};

// data_type, chunk_grid and chunk_key_encoding: must_understand:false is not allowed on them.
// Messages name no field; callers add it.
Result<Extension> ParseExtension(const Json& j) {
  if (j.is_string()) return Extension{j.get<std::string>()};
  if (!j.is_object()) {
    return Status::InvalidArgument(Show(j) +
                                   " is not a name or a {\"name\", \"configuration\"} object");
  }
  Extension ext;
  for (const auto& [k, v] : j.items()) {
    if (k == "name") {
      if (!v.is_string()) return Status::InvalidArgument("name " + Show(v) + " is not a string");
      ext.name = v.get<std::string>();
    } else if (k == "configuration") {
      if (!v.is_object()) {
        return Status::InvalidArgument("configuration " + Show(v) + " is not an object");
      }
      ext.configuration = v;
    } else if (k == "must_understand") {
      if (!v.is_boolean()) {
        return Status::InvalidArgument("must_understand " + Show(v) + " is not a bool");
      }
      if (!v.get<bool>()) {
        return Status::InvalidArgument("\"must_understand\": false is not allowed here");
      }
    } else {
      return Status::InvalidArgument("unknown key " + Quote(k));
    }
  }
  if (!j.contains("name")) return Status::InvalidArgument("name is missing");
  return ext;
}

// null_terminated_bytes / fixed_length_utf32 from {"length_bytes": n}: n >= 1 (a zero-size
// element has no representation here: Unsupported), a multiple of 4 up to 2147483644 for UTF-32.
Result<DataType> FixedStringTypeFromConfiguration(const Extension& dt) {
  const bool utf32 = dt.name == "fixed_length_utf32";
  const Json& c = dt.configuration;
  for (const auto& [k, v] : c.items()) {
    if (k != "length_bytes") {
      return Status::InvalidArgument(Quote(dt.name) + ": unknown configuration key " + Quote(k));
    }
  }
  const auto it = c.find("length_bytes");
  uint64_t n = 0;
  bool integer = false;
  if (it != c.end() && it->is_number_integer()) {
    if (const std::optional<uint64_t> u = AsUint(*it)) {
      n = *u;
      integer = true;
    }
  }
  const uint64_t max = utf32 ? 2147483644 : UINT32_MAX;
  if (!integer || n > max || (utf32 && n % 4 != 0)) {
    return Status::InvalidArgument(
        Quote(dt.name) + " needs configuration {\"length_bytes\": " +
        (utf32 ? "a multiple of 4 in 0..2147483644" : "an integer 0..4294967295") + "}, got " +
        Show(c));
  }
  if (n == 0) {
    return Status::Unsupported(Quote(dt.name) + " with length_bytes 0 is not supported");
  }
  return DataType(utf32 ? DataTypeId::kFixedUtf32 : DataTypeId::kFixedBytes,
                  static_cast<uint32_t>(n));
}

// numpy.datetime64 / numpy.timedelta64 from {"unit": ..., "scale_factor": 1..2^31-1}; both
// fields are required and no other is allowed.
Result<DataType> TimeTypeFromConfiguration(DataTypeId id, const Extension& dt) {
  const Json& c = dt.configuration;
  for (const auto& [k, v] : c.items()) {
    if (k != "unit" && k != "scale_factor") {
      return Status::InvalidArgument(Quote(dt.name) + ": unknown configuration key " + Quote(k));
    }
  }
  const auto unit = c.find("unit");
  const auto scale = c.find("scale_factor");
  if (unit == c.end() || scale == c.end()) {
    return Status::InvalidArgument(
        Quote(dt.name) + " needs configuration {\"unit\", \"scale_factor\"}, got " + Show(c));
  }
  std::optional<TimeUnit> u;
  if (unit->is_string()) u = TimeUnitFromName(unit->get<std::string>());
  if (!u) {
    return Status::InvalidArgument(Quote(dt.name) + ": unit " + Show(*unit) +
                                   " is not a NumPy unit (Y M W D h m s ms us ns ps fs as "
                                   "generic)");
  }
  const std::optional<uint64_t> sf = AsUint(*scale);
  if (!scale->is_number_integer() || !sf || *sf < 1 || *sf > INT32_MAX) {
    return Status::InvalidArgument(Quote(dt.name) + ": scale_factor " + Show(*scale) +
                                   " is not an integer 1..2147483647");
  }
  return DataType::Time(id, *u, static_cast<uint32_t>(*sf));
}

Result<std::vector<uint64_t>> ParseShapeList(const Json& j, std::string_view where,
                                             std::string_view field, bool positive) {
  if (!j.is_array()) return FieldError(where, field, Show(j) + " is not a list of integers");
  std::vector<uint64_t> out;
  out.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    const std::optional<uint64_t> v = AsUint(j[i]);
    if (!v || (positive && *v == 0)) {
      return FieldError(where, field,
                        "entry " + std::to_string(i) + " (" + Show(j[i]) + ") is not " +
                            (positive ? "a positive integer" : "a non-negative integer"));
    }
    out.push_back(*v);
  }
  return out;
}

// zarr_format, node_type; the wrong node type is FailedPrecondition (the caller asked for the
// other kind of node), other values InvalidArgument or Unsupported.
Status CheckFormatAndNodeType(const Json& j, std::string_view where, std::string_view node_type) {
  if (!j.is_object()) {
    return Status::InvalidArgument(std::string(where) + ": " + Show(j) + " is not a JSON object");
  }
  const auto fmt = j.find("zarr_format");
  if (fmt == j.end()) return FieldError(where, "zarr_format", "missing (required)");
  if (!fmt->is_number_integer()) return FieldError(where, "zarr_format", Show(*fmt) + " is not 3");
  if (*fmt != 3) {
    return Status::Unsupported(std::string(where) + ": zarr_format: " + Show(*fmt) +
                               " is not supported (expected 3)");
  }
  const auto nt = j.find("node_type");
  if (nt == j.end()) return FieldError(where, "node_type", "missing (required)");
  if (*nt == "array" || *nt == "group") {
    if (*nt != node_type) {
      return Status::FailedPrecondition(std::string(where) + ": node_type: " + Show(*nt) +
                                        " where " + Quote(node_type) + " was expected");
    }
    return Status::OK();
  }
  return FieldError(where, "node_type", Show(*nt) + " is not \"array\" or \"group\"");
}

// A field outside the spec is kept only when it is an object saying "must_understand": false.
Status CheckExtraField(const std::string& key, const Json& value, std::string_view where) {
  if (value.is_object()) {
    const auto mu = value.find("must_understand");
    if (mu != value.end() && mu->is_boolean() && !mu->get<bool>()) return Status::OK();
  }
  return Status::Unsupported(std::string(where) + ": unknown field " + Quote(key) +
                             " (only fields marked \"must_understand\": false may be ignored)");
}

constexpr std::array<std::string_view, 11> kArrayFields = {
    "zarr_format",    "node_type", "shape",      "data_type",          "chunk_grid",
    "fill_value",     "codecs",    "attributes", "chunk_key_encoding", "storage_transformers",
    "dimension_names"};
constexpr std::array<std::string_view, 3> kGroupFields = {"zarr_format", "node_type", "attributes"};

template <size_t N>
bool IsKnown(const std::array<std::string_view, N>& known, std::string_view key) {
  return std::find(known.begin(), known.end(), key) != known.end();
}

template <size_t N>
Status CheckExtraFields(const Json& extra, const std::array<std::string_view, N>& known,
                        std::string_view where) {
  if (!extra.is_object()) {
    return FieldError(where, "extra_fields", Show(extra) + " is not an object");
  }
  for (const auto& [k, v] : extra.items()) {
    if (IsKnown(known, k)) return FieldError(where, k, "given as an extra field");
    RETURN_IF_ERROR(CheckExtraField(k, v, where));
  }
  return Status::OK();
}

// Checks the codec chain against the array and returns its normalised JSON.
std::vector<uint64_t> MaxChunkShape(const ChunkGrid& g) {
  std::vector<uint64_t> s(g.rank());
  for (size_t d = 0; d < g.rank(); ++d) s[d] = g.MaxLength(d);
  return s;
}

// The shape a chunk's codecs are checked against: the largest chunk.
std::vector<uint64_t> NominalChunkShape(const ArrayMetadata& m) {
  return m.rectilinear ? MaxChunkShape(*m.rectilinear) : m.chunk_shape;
}

// A positive integer of the rectilinear chunk_shapes, or InvalidArgument naming `what`.
Result<uint64_t> PositiveEdge(const Json& j, std::string_view where, const std::string& what) {
  const std::optional<uint64_t> v = AsUint(j);
  if (!v || *v == 0) {
    return FieldError(
        where, "chunk_grid",
        "configuration.chunk_shapes: " + what + " (" + Show(j) + ") is not a positive integer");
  }
  return *v;
}

// {"kind": "inline", "chunk_shapes": [...]} of the rectilinear chunk grid (zarr-extensions
// chunk-grids/rectilinear): per dimension an integer (a regular axis) or a list of edge lengths,
// each an integer or a run [length, count].
Result<ChunkGrid> ParseRectilinear(const Json& conf, std::string_view where) {
  for (const auto& [k, v] : conf.items()) {
    if (k != "kind" && k != "chunk_shapes") {
      return FieldError(where, "chunk_grid", "unknown configuration key " + Quote(k));
    }
  }
  const auto kind = conf.find("kind");
  if (kind == conf.end()) return FieldError(where, "chunk_grid", "configuration.kind is missing");
  if (!kind->is_string() || kind->get<std::string>() != "inline") {
    return FieldError(where, "chunk_grid",
                      "configuration.kind " + Show(*kind) + " is not \"inline\"");
  }
  const auto shapes = conf.find("chunk_shapes");
  if (shapes == conf.end()) {
    return FieldError(where, "chunk_grid", "configuration.chunk_shapes is missing");
  }
  if (!shapes->is_array()) {
    return FieldError(where, "chunk_grid",
                      "configuration.chunk_shapes " + Show(*shapes) + " is not a list");
  }
  std::vector<ChunkGrid::AxisSpec> axes(shapes->size());
  for (size_t d = 0; d < shapes->size(); ++d) {
    const Json& e = (*shapes)[d];
    const std::string name = "entry " + std::to_string(d);
    if (!e.is_array()) {
      ASSIGN_OR_RETURN(axes[d].regular, PositiveEdge(e, where, name));
      continue;
    }
    if (e.empty()) {
      return FieldError(where, "chunk_grid",
                        "configuration.chunk_shapes: " + name + " is an empty list");
    }
    axes[d].runs.reserve(e.size());
    for (size_t i = 0; i < e.size(); ++i) {
      const Json& x = e[i];
      const std::string item = name + " item " + std::to_string(i);
      if (!x.is_array()) {
        ASSIGN_OR_RETURN(uint64_t len, PositiveEdge(x, where, item));
        axes[d].runs.push_back({len, 1});
        continue;
      }
      if (x.size() != 2) {
        return FieldError(where, "chunk_grid",
                          "configuration.chunk_shapes: " + item + " (" + Show(x) +
                              ") is not a run [length, count]");
      }
      ASSIGN_OR_RETURN(uint64_t len, PositiveEdge(x[0], where, item + " length"));
      ASSIGN_OR_RETURN(uint64_t count, PositiveEdge(x[1], where, item + " count"));
      axes[d].runs.push_back({len, count});
    }
  }
  auto grid = ChunkGrid::FromAxes(std::move(axes));
  if (!grid.ok()) {
    return FieldError(where, "chunk_grid", "configuration." + grid.status().message());
  }
  return std::move(*grid);
}

// The digits of v.
size_t DecimalWidth(uint64_t v) {
  size_t n = 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}

// The chunk_grid object of a rectilinear grid in canonical form: an integer for a regular axis,
// a list for the others where each run is written as a pair [length, count] when that is
// shorter than repeating the length.
Json RectilinearToJson(const ChunkGrid& g) {
  Json shapes = Json::array();
  for (size_t d = 0; d < g.rank(); ++d) {
    const ChunkGrid::AxisSpec a = g.axis(d);
    if (a.regular != 0) {
      shapes.push_back(a.regular);
      continue;
    }
    Json list = Json::array();
    for (const ChunkGrid::Run& r : a.runs) {
      const uint64_t w = DecimalWidth(r.length);
      const bool pair =
          r.count > 1 && (r.count > 64 || r.count * (w + 1) - 1 > w + DecimalWidth(r.count) + 3);
      if (pair) {
        list.push_back(Json::array({r.length, r.count}));
      } else {
        for (uint64_t i = 0; i < r.count; ++i) list.push_back(r.length);
      }
    }
    shapes.push_back(std::move(list));
  }
  return {{"name", "rectilinear"},
          {"configuration", {{"kind", "inline"}, {"chunk_shapes", std::move(shapes)}}}};
}

Result<Json> NormaliseCodecs(const ArrayMetadata& m, std::string_view where) {
  const std::string context = std::string(where) + ": codecs";
  if (!m.codecs->is_array() || m.codecs->empty()) {
    return Status::InvalidArgument(context + ": " + Show(m.codecs) +
                                   " is not a non-empty list of codecs");
  }
  ASSIGN_OR_RETURN_CTX(CodecChain chain, CodecChain::FromJson(m.codecs), context);
  ASSIGN_OR_RETURN_CTX(auto prepared,
                       chain.Prepare(ChunkSpec{NominalChunkShape(m), m.data_type, m.fill_value}),
                       context);
  (void)prepared;
  return chain.ToJson();
}

// The invariants between fields (ranks, sizes), shared by FromJson and Validate.
Status CheckConsistency(const ArrayMetadata& m, std::string_view where) {
  if (m.rectilinear) {
    const ChunkGrid& g = *m.rectilinear;
    if (g.rank() != m.shape.size()) {
      return FieldError(where, "chunk_grid",
                        "configuration.chunk_shapes has rank " + std::to_string(g.rank()) +
                            " but shape has rank " + std::to_string(m.shape.size()));
    }
    for (size_t i = 0; i < g.rank(); ++i) {
      if (m.shape[i] > g.Extent(i)) {
        return FieldError(where, "chunk_grid",
                          "configuration.chunk_shapes entry " + std::to_string(i) +
                              ": the edge lengths add up to " + std::to_string(g.Extent(i)) +
                              ", short of the shape's " + std::to_string(m.shape[i]));
      }
    }
    ArrayMetadata regular = m;
    regular.rectilinear.reset();
    regular.chunk_shape = MaxChunkShape(g);
    // Every chunk fits the largest edge of each dimension; a regular axis must still cover the
    // shape within 2^64 as the regular grid's.
    return CheckConsistency(regular, where);
  }
  if (m.chunk_shape.size() != m.shape.size()) {
    return FieldError(where, "chunk_grid",
                      "chunk_shape has rank " + std::to_string(m.chunk_shape.size()) +
                          " but shape has rank " + std::to_string(m.shape.size()));
  }
  for (size_t i = 0; i < m.chunk_shape.size(); ++i) {
    if (m.chunk_shape[i] == 0) {
      return FieldError(where, "chunk_grid", "chunk_shape entry " + std::to_string(i) + " is 0");
    }
  }
  // Byte offsets inside a chunk and inside the whole array must fit in 64 bits.
  if (!internal::CheckedProduct(m.chunk_shape, "", m.data_type.size()).ok()) {
    return FieldError(where, "chunk_grid",
                      "a chunk of chunk_shape " + Show(Json(m.chunk_shape)) + " and " +
                          m.data_type.name() + " exceeds 2^64 bytes");
  }
  if (!internal::CheckedProduct(m.shape, "", m.data_type.size()).ok()) {
    return FieldError(where, "shape",
                      Show(Json(m.shape)) + " of " + m.data_type.name() + " exceeds 2^64 bytes");
  }
  for (size_t i = 0; i < m.shape.size(); ++i) {
    const uint64_t c = m.chunk_shape[i];
    const uint64_t grid = m.shape[i] / c + (m.shape[i] % c != 0 ? 1 : 0);
    if (!internal::CheckedMul(grid, c, "").ok()) {
      return FieldError(where, "chunk_grid",
                        "the chunks covering dimension " + std::to_string(i) + " (" +
                            std::to_string(grid) + " x " + std::to_string(c) +
                            ") extend past 2^64");
    }
  }
  if (!m.data_type.is_variable() && m.fill_value.bytes.size() != m.data_type.size()) {
    return FieldError(where, "fill_value",
                      std::to_string(m.fill_value.bytes.size()) + " bytes but " +
                          m.data_type.name() + " has " + std::to_string(m.data_type.size()));
  }
  if (m.dimension_names && m.dimension_names->size() != m.shape.size()) {
    return FieldError(where, "dimension_names",
                      std::to_string(m.dimension_names->size()) + " names but shape has rank " +
                          std::to_string(m.shape.size()));
  }
  return Status::OK();
}

Result<ArrayMetadata> ArrayFromJson(const Json& j, std::string_view where,
                                    const FillValueText& fill_text) {
  RETURN_IF_ERROR(CheckFormatAndNodeType(j, where, "array"));
  ArrayMetadata m;
  const auto required = [&](std::string_view field) -> Result<const Json*> {
    const auto it = j.find(field);
    if (it == j.end()) return FieldError(where, field, "missing (required)");
    return &*it;
  };

  ASSIGN_OR_RETURN(const Json* shape, required("shape"));
  ASSIGN_OR_RETURN(m.shape, ParseShapeList(*shape, where, "shape", /*positive=*/false));

  ASSIGN_OR_RETURN(const Json* data_type, required("data_type"));
  ASSIGN_OR_RETURN_CTX(Extension dt, ParseExtension(*data_type),
                       std::string(where) + ": data_type");
  if (dt.name == "null_terminated_bytes" || dt.name == "fixed_length_utf32") {
    ASSIGN_OR_RETURN_CTX(m.data_type, FixedStringTypeFromConfiguration(dt),
                         std::string(where) + ": data_type");
  } else {
    ASSIGN_OR_RETURN_CTX(m.data_type, DataType::FromName(dt.name),
                         std::string(where) + ": data_type");
  }
  if (m.data_type.is_fixed_string()) {
    // configuration checked above
  } else if (m.data_type.is_time()) {
    ASSIGN_OR_RETURN_CTX(m.data_type, TimeTypeFromConfiguration(m.data_type.id(), dt),
                         std::string(where) + ": data_type");
  } else if (!dt.configuration.empty()) {
    return FieldError(where, "data_type",
                      Quote(dt.name) + " takes no configuration, got " + Show(dt.configuration));
  }

  ASSIGN_OR_RETURN(const Json* grid, required("chunk_grid"));
  ASSIGN_OR_RETURN_CTX(Extension g, ParseExtension(*grid), std::string(where) + ": chunk_grid");
  if (g.name == "rectilinear") {
    ASSIGN_OR_RETURN(m.rectilinear, ParseRectilinear(g.configuration, where));
    m.chunk_shape = MaxChunkShape(*m.rectilinear);
  } else if (g.name != "regular") {
    return Status::Unsupported(std::string(where) + ": chunk_grid: " + Quote(g.name) +
                               " is not supported (only \"regular\" and \"rectilinear\")");
  }
  for (const auto& [k, v] : g.configuration.items()) {
    if (m.rectilinear) break;
    if (k != "chunk_shape")
      return FieldError(where, "chunk_grid", "unknown configuration key " + Quote(k));
  }
  if (!m.rectilinear) {
    if (!g.configuration.contains("chunk_shape")) {
      return FieldError(where, "chunk_grid", "configuration.chunk_shape is missing");
    }
    ASSIGN_OR_RETURN(m.chunk_shape, ParseShapeList(g.configuration["chunk_shape"], where,
                                                   "chunk_grid: chunk_shape", /*positive=*/true));
  }

  ASSIGN_OR_RETURN(const Json* cke, required("chunk_key_encoding"));
  ASSIGN_OR_RETURN_CTX(m.chunk_key_encoding, ChunkKeyEncoding::FromJson(*cke),
                       std::string(where) + ": chunk_key_encoding");

  ASSIGN_OR_RETURN(const Json* fill, required("fill_value"));
  ASSIGN_OR_RETURN_CTX(m.fill_value, ParseFillValue(*fill, m.data_type, fill_text),
                       std::string(where) + ": fill_value");

  ASSIGN_OR_RETURN(const Json* codecs, required("codecs"));
  m.codecs = *codecs;

  if (const auto it = j.find("attributes"); it != j.end()) {
    if (!it->is_object()) return FieldError(where, "attributes", Show(*it) + " is not an object");
    m.attributes = *it;
  }
  if (const auto it = j.find("storage_transformers"); it != j.end()) {
    if (!it->is_array()) {
      return FieldError(where, "storage_transformers", Show(*it) + " is not a list");
    }
    if (!it->empty()) {
      const Json& first = (*it)[0];
      const std::string name = first.is_string() ? Quote(first.get<std::string>())
                               : first.is_object() && first.contains("name") ? Show(first["name"])
                                                                             : Show(first);
      return Status::Unsupported(std::string(where) + ": storage_transformers: " + name +
                                 " is not supported (no storage transformers are)");
    }
  }
  if (const auto it = j.find("dimension_names"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) {
      return FieldError(where, "dimension_names", Show(*it) + " is not a list");
    }
    std::vector<std::optional<std::string>> names;
    for (const Json& n : *it) {
      if (n.is_null()) {
        names.emplace_back();
      } else if (n.is_string()) {
        names.emplace_back(n.get<std::string>());
      } else {
        return FieldError(where, "dimension_names", Show(n) + " is not a string or null");
      }
    }
    m.dimension_names = std::move(names);
  }
  for (const auto& [k, v] : j.items()) {
    if (IsKnown(kArrayFields, k)) continue;
    RETURN_IF_ERROR(CheckExtraField(k, v, where));
    m.extra_fields[k] = v;
  }

  RETURN_IF_ERROR(CheckConsistency(m, where));
  ASSIGN_OR_RETURN(m.codecs, NormaliseCodecs(m, where));
  return m;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Result<Json> ParseJson(std::string_view text, std::string_view where) {
  return ParseJsonText(text, where, nullptr);
}

Result<FillValue> FillValue::FromJson(const Json& j, DataType type) {
  return ParseFillValue(j, type, FillValueText{});
}

Json FillValue::ToJson(DataType type) const {
  if (type.id() == DataTypeId::kString) return std::string(AsString(bytes));
  if (type.id() == DataTypeId::kBytes) return Base64Encode(bytes);
  if (bytes.size() != type.size()) return nullptr;  // not a value of `type`; Validate says so
  if (type.is_fixed_string()) {
    Result<std::string> text = internal::FixedElementToText(type, bytes.data());
    if (!text.ok()) return nullptr;
    if (type.id() == DataTypeId::kFixedBytes) return Base64Encode(AsBytes(*text));
    return *std::move(text);
  }
  const uint8_t* in = bytes.data();
  switch (type.id()) {
    case DataTypeId::kBool: return in[0] != 0;
    case DataTypeId::kInt8: return LoadLE<int8_t>(in);
    case DataTypeId::kInt16: return LoadLE<int16_t>(in);
    case DataTypeId::kInt32: return LoadLE<int32_t>(in);
    case DataTypeId::kInt64: return LoadLE<int64_t>(in);
    case DataTypeId::kUInt8: return LoadLE<uint8_t>(in);
    case DataTypeId::kUInt16: return LoadLE<uint16_t>(in);
    case DataTypeId::kUInt32: return LoadLE<uint32_t>(in);
    case DataTypeId::kUInt64: return LoadLE<uint64_t>(in);
    case DataTypeId::kFloat16:
    case DataTypeId::kFloat32:
    case DataTypeId::kFloat64: return FloatComponentToJson(in, type.size());
    case DataTypeId::kInt2:
    case DataTypeId::kInt4: {
      // Only the low bits are the value; the byte above them is ignored.
      const uint32_t shift = 8 - type.bits();
      return static_cast<int8_t>(static_cast<int8_t>(in[0] << shift) >> shift);
    }
    case DataTypeId::kUInt2:
    case DataTypeId::kUInt4: return in[0] & ((1u << type.bits()) - 1);
    case DataTypeId::kDateTime64:
    case DataTypeId::kTimeDelta64: {
      const auto v = LoadLE<int64_t>(in);
      if (v == INT64_MIN) return "NaT";
      return v;
    }
    case DataTypeId::kBFloat16:
    case DataTypeId::kFloat8E3M4:
    case DataTypeId::kFloat8E4M3:
    case DataTypeId::kFloat8E4M3B11FNUZ:
    case DataTypeId::kFloat8E4M3FNUZ:
    case DataTypeId::kFloat8E5M2:
    case DataTypeId::kFloat8E5M2FNUZ:
    case DataTypeId::kFloat8E8M0FNU:
    case DataTypeId::kFloat4E2M1FN:
    case DataTypeId::kFloat6E2M3FN:
    case DataTypeId::kFloat6E3M2FN: return SmallFloatToJson(in, type.id(), type.size());
    case DataTypeId::kComplex64:
    case DataTypeId::kComplex128:
    case DataTypeId::kComplexBFloat16:
    case DataTypeId::kComplexFloat16:
    case DataTypeId::kComplexFloat32:
    case DataTypeId::kComplexFloat64:
    case DataTypeId::kComplexFloat8E3M4:
    case DataTypeId::kComplexFloat8E4M3:
    case DataTypeId::kComplexFloat8E4M3B11FNUZ:
    case DataTypeId::kComplexFloat8E4M3FNUZ:
    case DataTypeId::kComplexFloat8E5M2:
    case DataTypeId::kComplexFloat8E5M2FNUZ:
    case DataTypeId::kComplexFloat8E8M0FNU: {
      const uint32_t half = type.size() / 2;
      const DataTypeId part = type.component_id();
      return Json::array({AnyFloatComponentToJson(in, part, half),
                          AnyFloatComponentToJson(in + half, part, half)});
    }
    case DataTypeId::kString:  // handled above
    case DataTypeId::kBytes:
    case DataTypeId::kFixedBytes:
    case DataTypeId::kFixedUtf32: break;
    case DataTypeId::kRawBits: {
      Json out = Json::array();
      for (uint8_t b : bytes) out.push_back(b);
      return out;
    }
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Chunk key encodings.

std::string ChunkKeyEncoding::EncodeKey(const std::vector<uint64_t>& coords) const {
  std::string key;
  AppendKey(coords.data(), coords.size(), key);
  return key;
}

void ChunkKeyEncoding::AppendKey(const uint64_t* coords, size_t rank, std::string& out) const {
  const bool v2 = kind == Kind::kV2;
  if (rank == 0) {
    out += v2 ? '0' : 'c';
    return;
  }
  // "c" plus, per index, a separator and at most 20 digits: one growth at most.
  const size_t start = out.size();
  out.resize(start + 1 + rank * 21);
  char* p = out.data() + start;
  char* const end = out.data() + out.size();
  if (!v2) *p++ = 'c';
  for (size_t i = 0; i < rank; ++i) {
    if (!v2 || i > 0) *p++ = separator;
    p = std::to_chars(p, end, coords[i]).ptr;
  }
  out.resize(static_cast<size_t>(p - out.data()));
}

Result<std::vector<uint64_t>> ChunkKeyEncoding::DecodeKey(std::string_view key, size_t rank) const {
  const bool v2 = kind == Kind::kV2;
  const auto not_a_key = [&](std::string_view why) {
    return Status::InvalidArgument("chunk key " + Quote(key) + " is not a " +
                                   (v2 ? "v2" : "default") + " chunk key of rank " +
                                   std::to_string(rank) + ": " + std::string(why));
  };
  std::vector<uint64_t> coords;
  if (rank == 0) {
    if (key == (v2 ? "0" : "c")) return coords;
    return not_a_key(v2 ? "a 0-d array's only key is \"0\"" : "a 0-d array's only key is \"c\"");
  }
  std::string_view rest = key;
  if (!v2) {
    if (rest.size() < 2 || rest[0] != 'c' || rest[1] != separator) {
      return not_a_key(std::string("expected the prefix \"c") + separator + "\"");
    }
    rest.remove_prefix(2);
  }
  coords.reserve(rank);
  while (true) {
    const size_t sep = rest.find(separator);
    const std::string_view part = rest.substr(0, sep);
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    // Only the form EncodeKey writes: decimal digits, no sign, no leading zeros.
    if (part.empty() || ec != std::errc() || end != part.data() + part.size() ||
        (part.size() > 1 && part[0] == '0')) {
      return not_a_key("index " + Quote(part) + " is not a chunk index");
    }
    coords.push_back(v);
    if (sep == std::string_view::npos) break;
    rest.remove_prefix(sep + 1);
  }
  if (coords.size() != rank) return not_a_key(std::to_string(coords.size()) + " indices");
  return coords;
}

Result<ChunkKeyEncoding> ChunkKeyEncoding::FromJson(const Json& j) {
  // Errors here carry no `where`; ArrayMetadata adds "<where>: chunk_key_encoding".
  ASSIGN_OR_RETURN(Extension ext, ParseExtension(j));
  ChunkKeyEncoding e;
  if (ext.name == "default") {
    e.kind = Kind::kDefault;
    e.separator = '/';
  } else if (ext.name == "v2") {
    e.kind = Kind::kV2;
    e.separator = '.';
  } else {
    return Status::Unsupported(Quote(ext.name) + " is not supported (only \"default\" and \"v2\")");
  }
  for (const auto& [k, v] : ext.configuration.items()) {
    if (k != "separator") {
      return Status::InvalidArgument("configuration: unknown key " + Quote(k));
    }
    if (v != "/" && v != ".") {
      return Status::InvalidArgument("configuration: separator " + Show(v) +
                                     " is not \"/\" or \".\"");
    }
    e.separator = v.get<std::string>()[0];
  }
  return e;
}

Json ChunkKeyEncoding::ToJson() const {
  return {{"name", kind == Kind::kV2 ? "v2" : "default"},
          {"configuration", {{"separator", std::string(1, separator)}}}};
}

// ---------------------------------------------------------------------------------------------
// Array metadata.

std::vector<uint64_t> ArrayMetadata::grid_shape() const {
  std::vector<uint64_t> grid(shape.size(), 0);
  if (rectilinear) {
    for (size_t i = 0; i < shape.size() && i < rectilinear->rank(); ++i) {
      grid[i] = rectilinear->ChunksCovering(i, std::min(shape[i], rectilinear->Extent(i)));
    }
    return grid;
  }
  for (size_t i = 0; i < shape.size() && i < chunk_shape.size(); ++i) {
    const uint64_t c = chunk_shape[i];
    if (c != 0) grid[i] = shape[i] / c + (shape[i] % c != 0 ? 1 : 0);
  }
  return grid;
}

ChunkGrid ArrayMetadata::grid() const {
  return rectilinear ? *rectilinear : ChunkGrid::Regular(chunk_shape);
}

uint64_t ArrayMetadata::chunk_elements() const {
  uint64_t n = 1;
  for (uint64_t c : chunk_shape) n *= c;
  return n;
}

Result<ArrayMetadata> ArrayMetadata::FromJson(const Json& j, std::string_view where) {
  return ArrayFromJson(j, where, FillValueText{});
}

Result<ArrayMetadata> ArrayMetadata::Parse(std::string_view text, std::string_view where) {
  FillValueText fill_text;
  ASSIGN_OR_RETURN(Json j, ParseJsonText(text, where, &fill_text));
  return ArrayFromJson(j, where, fill_text);
}

Json ArrayMetadata::ToJson() const {
  Json j = extra_fields->is_object() ? *extra_fields : Json::object();
  j["zarr_format"] = zarr_format;
  j["node_type"] = "array";
  j["shape"] = shape;
  if (data_type.is_time()) {
    j["data_type"] = {{"name", data_type.name()},
                      {"configuration",
                       {{"unit", TimeUnitName(data_type.time_unit())},
                        {"scale_factor", data_type.scale_factor()}}}};
  } else if (data_type.is_fixed_string()) {
    j["data_type"] = {{"name", data_type.name()},
                      {"configuration", {{"length_bytes", data_type.size()}}}};
  } else {
    j["data_type"] = data_type.name();
  }
  j["chunk_grid"] =
      rectilinear ? RectilinearToJson(*rectilinear)
                  : Json{{"name", "regular"}, {"configuration", {{"chunk_shape", chunk_shape}}}};
  j["chunk_key_encoding"] = chunk_key_encoding.ToJson();
  j["fill_value"] = fill_value.ToJson(data_type);
  j["codecs"] = codecs;
  j["attributes"] = attributes;
  j["storage_transformers"] = Json::array();
  if (dimension_names) {
    Json names = Json::array();
    for (const auto& n : *dimension_names) {
      names.push_back(n ? Json(*n) : Json(nullptr));
    }
    j["dimension_names"] = std::move(names);
  }
  return j;
}

Status ArrayMetadata::Validate(std::string_view where) const {
  if (zarr_format != 3) {
    return Status::Unsupported(std::string(where) + ": zarr_format: " +
                               std::to_string(zarr_format) + " is not supported (expected 3)");
  }
  if (data_type.size() == 0 && !data_type.is_variable()) {
    return FieldError(where, "data_type", "r0 has no bytes");
  }
  if (chunk_key_encoding.separator != '/' && chunk_key_encoding.separator != '.') {
    return FieldError(
        where, "chunk_key_encoding",
        "separator '" + std::string(1, chunk_key_encoding.separator) + "' is not '/' or '.'");
  }
  if (!attributes->is_object()) {
    return FieldError(where, "attributes", Show(attributes) + " is not an object");
  }
  RETURN_IF_ERROR(CheckExtraFields(extra_fields, kArrayFields, where));
  RETURN_IF_ERROR(CheckConsistency(*this, where));
  return NormaliseCodecs(*this, where).status();
}

// ---------------------------------------------------------------------------------------------
// Group metadata.

Result<GroupMetadata> GroupMetadata::FromJson(const Json& j, std::string_view where) {
  RETURN_IF_ERROR(CheckFormatAndNodeType(j, where, "group"));
  GroupMetadata g;
  if (const auto it = j.find("attributes"); it != j.end()) {
    if (!it->is_object()) return FieldError(where, "attributes", Show(*it) + " is not an object");
    g.attributes = *it;
  }
  for (const auto& [k, v] : j.items()) {
    if (IsKnown(kGroupFields, k)) continue;
    if (k == kConsolidatedMetadataField) {
      // zarr-python writes null when a group has none; an object is the consolidated metadata
      // of the hierarchy below (hierarchy.h, Consolidate), checked where it is used.
      if (v.is_null()) continue;
      if (!v.is_object()) {
        return FieldError(where, k, Show(v) + " is not an object or null");
      }
      g.extra_fields[k] = v;
      continue;
    }
    RETURN_IF_ERROR(CheckExtraField(k, v, where));
    g.extra_fields[k] = v;
  }
  return g;
}

Result<GroupMetadata> GroupMetadata::Parse(std::string_view text, std::string_view where) {
  ASSIGN_OR_RETURN(Json j, ParseJson(text, where));
  return FromJson(j, where);
}

Json GroupMetadata::ToJson() const {
  Json j = extra_fields->is_object() ? *extra_fields : Json::object();
  j["zarr_format"] = zarr_format;
  j["node_type"] = "group";
  j["attributes"] = attributes;
  return j;
}

}  // namespace zarrpp
