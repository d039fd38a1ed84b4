#include "src/types/fixed_strings.h"

#include <cstring>

#include "src/types/utf8.h"

namespace zarrpp::internal {

namespace {

// The next code point of valid UTF-8 at s[i], advancing i; -1 when the bytes there are not one
// (overlong forms, surrogates and values past U+10FFFF included).
int64_t NextCodePoint(std::string_view s, size_t& i) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t c = b(i);
  int n = 0;
  uint32_t cp = 0;
  if (c < 0x80) {
    ++i;
    return c;
  } else if ((c & 0xE0) == 0xC0) {
    n = 1;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 2;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 3;
    cp = c & 0x07;
  } else {
    return -1;
  }
  if (i + static_cast<size_t>(n) >= s.size()) return -1;
  for (int k = 1; k <= n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  static constexpr uint32_t kMin[4] = {0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  i += n + 1;
  return cp;
}

}  // namespace

Result<std::string> FixedElementToText(DataType type, const uint8_t* p) {
  const uint32_t size = type.size();
  if (type.id() == DataTypeId::kFixedBytes) {
    uint32_t n = size;
    while (n > 0 && p[n - 1] == 0) --n;
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  uint32_t units = size / 4;
  const auto unit = [&](uint32_t k) {
    uint32_t u;
    std::memcpy(&u, p + 4 * k, 4);
    return u;
  };
  while (units > 0 && unit(units - 1) == 0) --units;
  std::string out;
  out.reserve(units);
  for (uint32_t k = 0; k < units; ++k) {
    const uint32_t cp = unit(k);
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return Status::Corruption("UTF-32 code unit " + std::to_string(cp) + " of a " + type.name() +
                                " element is not a Unicode scalar value");
    }
    AppendUtf8(out, cp);
  }
  return out;
}

Status TextToFixedElement(DataType type, std::string_view text, uint8_t* out) {
  const uint32_t size = type.size();
  std::memset(out, 0, size);
  if (type.id() == DataTypeId::kFixedBytes) {
    if (text.size() > size) {
      return Status::InvalidArgument(std::to_string(text.size()) + " bytes do not fit a " +
                                     std::to_string(size) + "-byte " + type.name() + " element");
    }
    if (!text.empty()) std::memcpy(out, text.data(), text.size());
    return Status::OK();
  }
  const uint32_t units = size / 4;
  uint32_t k = 0;
  for (size_t i = 0; i < text.size();) {
    const int64_t cp = NextCodePoint(text, i);
    if (cp < 0) return Status::InvalidArgument("text is not valid UTF-8");
    if (k == units) {
      return Status::InvalidArgument("text has more than the " + std::to_string(units) +
                                     " code points of a " + type.name() + " element");
    }
    const auto u = static_cast<uint32_t>(cp);
    std::memcpy(out + 4 * k, &u, 4);
    ++k;
  }
  return Status::OK();
}

}  // namespace zarrpp::internal
