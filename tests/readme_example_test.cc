// The README's example, compiled and run as written, so the documentation cannot rot.
#include <gtest/gtest.h>

#include <filesystem>

#include "zarrpp/array.h"
#include "zarrpp/codecs.h"
#include "zarrpp/local_store.h"

// The example needs no JSON: it builds with the light public headers alone.
#ifdef INCLUDE_NLOHMANN_JSON_HPP_
#error "the README example should not need <zarrpp/json.h>"
#endif

namespace {

using namespace zarrpp;

// --- begin README example (kept identical to README.md) ---
Status Example() {
  ASSIGN_OR_RETURN(auto store, LocalStore::Create("data.zarr"));
  ArrayMetadata m;
  m.shape = {1000, 1000};
  m.chunk_shape = {100, 250};
  m.data_type = DataType(DataTypeId::kFloat32);
  m.codecs = Codecs::Bytes().Zstd(3);  // or any chain as JSON: see zarrpp/codecs.h
  ASSIGN_OR_RETURN(auto array, Array::Create(store, "measurements/temperature", m));

  std::vector<float> rows(10 * 1000, 21.5f);
  RETURN_IF_ERROR(array->Write(Region{{500, 0}, {10, 1000}}, std::span<const float>(rows)));

  std::vector<float> patch(4 * 4);  // missing chunks read as the fill value (0 here)
  return array->Read(Region{{498, 10}, {4, 4}}, std::span<float>(patch));
}
// --- end README example ---

TEST(ReadmeExample, RunsAndWritesWhatItSays) {
  auto dir =
      std::filesystem::temp_directory_path() / ("zarrpp_readme_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto old = std::filesystem::current_path();
  std::filesystem::current_path(dir);
  Status s = Example();
  ASSERT_TRUE(s.ok()) << s;
  auto store = LocalStore::Open("data.zarr");
  ASSERT_TRUE(store.ok());
  auto array = Array::Open(*store, "measurements/temperature");
  ASSERT_TRUE(array.ok()) << array.status();
  std::vector<float> patch(16);
  ASSERT_TRUE((*array)->Read(Region{{498, 10}, {4, 4}}, std::span<float>(patch)).ok());
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) EXPECT_EQ(patch[r * 4 + c], r >= 2 ? 21.5f : 0.0f);
  // The parent group was created with the array.
  EXPECT_TRUE(*(*store)->exists("measurements/zarr.json"));
  std::filesystem::current_path(old);
  std::filesystem::remove_all(dir);
}

}  // namespace
