// A program that knows zarrpp only through its installed headers and package config.
#include <zarrpp/array.h>
#include <zarrpp/json.h>  // installed, and finds nlohmann/json through the package's dependency
#include <zarrpp/memory_store.h>
#include <zarrpp/version.h>

#include <cstdio>
#include <string>
#include <vector>

int main() {
  auto store = zarrpp::MemoryStore::Create();
  zarrpp::ArrayMetadata m;
  m.shape = {2, 3};
  m.chunk_shape = {1, 2};
  m.data_type = zarrpp::DataType(zarrpp::DataTypeId::kInt32);
  m.attributes = {{"units", "K"}};
  auto array = zarrpp::Array::Create(store, "x", m);
  if (!array.ok()) return std::fprintf(stderr, "%s\n", array.status().ToString().c_str()), 1;
  std::vector<int32_t> in = {1, 2, 3, 4, 5, 6}, out(6);
  if (!(*array)->Write(zarrpp::Region::All(m.shape), std::span<const int32_t>(in)).ok()) return 1;
  if (!(*array)->Read(zarrpp::Region::All(m.shape), std::span<int32_t>(out)).ok()) return 1;
  if (in != out) return 1;
  auto attributes = (*array)->attributes();
  if (!attributes.ok() || *attributes != zarrpp::Json{{"units", "K"}}) return 1;
  if (std::string(zarrpp::Version()) != ZARRPP_VERSION_STRING) return 1;
  std::printf("consumer: %zu elements round-tripped, zarrpp %s\n", out.size(), zarrpp::Version());
  return 0;
}
