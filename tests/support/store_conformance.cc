#define ZARRPP_STORE_CONFORMANCE_HELPERS_ONLY
#include "support/store_conformance.h"

#include <stdlib.h>

#include <filesystem>
#include <system_error>

namespace zarrpp::testing {

Bytes Filled(size_t size, uint8_t byte) {
  return Bytes(size, byte);
}

Bytes Pattern(size_t size, uint32_t seed) {
  Bytes out(size);
  uint32_t x = seed * 2654435761u + 12345u;
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    out[i] = static_cast<uint8_t>(x >> 24);
  }
  return out;
}

bool Homogeneous(const Bytes& value) {
  return std::all_of(value.begin(), value.end(), [&](uint8_t b) { return b == value[0]; });
}

std::string MakeTempDir(const std::string& tag) {
  std::string base = ::testing::TempDir();
  if (base.empty()) base = "/tmp/";
  if (base.back() != '/') base += '/';
  std::string pattern = base + "zarrpp-" + tag + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << pattern << " failed";
    return {};
  }
  return pattern;
}

std::shared_ptr<Store> RemoveDirOnRelease(std::shared_ptr<Store> store, std::string dir) {
  Store* raw = store.get();
  return std::shared_ptr<Store>(raw,
                                [store = std::move(store), dir = std::move(dir)](Store*) mutable {
                                  store.reset();
                                  std::error_code ec;
                                  std::filesystem::remove_all(dir, ec);
                                });
}

}  // namespace zarrpp::testing
