#include "support/sample_tree.h"

#include <cstdint>
#include <vector>

#include "src/tools/workloads.h"
#include "zarrpp/array.h"
#include "zarrpp/digest.h"
#include "zarrpp/group.h"
#include "zarrpp/json.h"

namespace zarrpp::test_support {

namespace {

Json Blosc() {
  return {{"name", "blosc"},
          {"configuration",
           {{"cname", "lz4"},
            {"clevel", 5},
            {"shuffle", "shuffle"},
            {"typesize", 4},
            {"blocksize", 0}}}};
}
Json BytesCodec() {
  return {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
}

std::vector<float> W1Values(uint64_t rows, uint64_t cols, uint32_t row0 = 0, uint32_t col0 = 0,
                            uint32_t of_cols = 0) {
  std::vector<float> v(rows * cols);
  for (uint64_t r = 0; r < rows; ++r) {
    for (uint64_t c = 0; c < cols; ++c) {
      v[r * cols + c] =
          workloads::W1Value(static_cast<uint32_t>(r + row0), static_cast<uint32_t>(c + col0),
                             of_cols ? of_cols : static_cast<uint32_t>(cols));
    }
  }
  return v;
}

}  // namespace

std::vector<std::string> SampleTreeArrays() {
  return {"sharded", "sub/ints", "v2arr", "w1"};
}

Status WriteSampleTree(const std::shared_ptr<Store>& store) {
  GroupMetadata root;
  root.attributes = Json{{"title", "sample"}, {"n", 4}};
  ASSIGN_OR_RETURN(auto group, Group::Create(store, "", root));
  (void)group;

  // W1-style: float32, chunks that do not divide the shape, blosc.
  ArrayMetadata w1;
  w1.shape = {300, 520};
  w1.chunk_shape = {64, 128};
  w1.data_type = DataType(DataTypeId::kFloat32);
  w1.fill_value = FillValue::Zero(w1.data_type);
  w1.codecs = Json::array({BytesCodec(), Blosc()});
  ASSIGN_OR_RETURN(auto a, Array::Create(store, "w1", w1));
  const std::vector<float> all = W1Values(300, 520);
  RETURN_IF_ERROR(a->Write(Region::All(w1.shape), std::span<const float>(all)));

  // Sharded: shards of 128 x 128 with inner chunks of 32 x 32; written in full, then a partial
  // write inside one shard and one across shards.
  ArrayMetadata sh;
  sh.shape = {256, 320};
  sh.chunk_shape = {128, 128};
  sh.data_type = DataType(DataTypeId::kFloat32);
  sh.fill_value = FillValue::Zero(sh.data_type);
  sh.codecs = Json::array({{{"name", "sharding_indexed"},
                            {"configuration",
                             {{"chunk_shape", std::vector<uint64_t>{32, 32}},
                              {"codecs", Json::array({BytesCodec(), Blosc()})},
                              {"index_codecs", Json::array({BytesCodec(), {{"name", "crc32c"}}})},
                              {"index_location", "end"}}}}});
  ASSIGN_OR_RETURN(auto s, Array::Create(store, "sharded", sh));
  const std::vector<float> full = W1Values(256, 320);
  RETURN_IF_ERROR(s->Write(Region::All(sh.shape), std::span<const float>(full)));
  const std::vector<float> patch = W1Values(20, 30, 1000, 7, 999);
  RETURN_IF_ERROR(s->Write(Region{{5, 9}, {20, 30}}, std::span<const float>(patch)));
  const std::vector<float> across = W1Values(40, 100, 2000, 3, 555);
  RETURN_IF_ERROR(s->Write(Region{{100, 100}, {40, 100}}, std::span<const float>(across)));

  // Nested int32 with gzip, only some chunks written (the rest read as the fill value).
  ArrayMetadata ints;
  ints.shape = {100, 100};
  ints.chunk_shape = {30, 30};
  ints.data_type = DataType(DataTypeId::kInt32);
  ints.fill_value = FillValue::Zero(ints.data_type);
  ints.codecs = Json::array({BytesCodec(), {{"name", "gzip"}, {"configuration", {{"level", 5}}}}});
  ints.attributes = Json{{"units", "counts"}};
  ASSIGN_OR_RETURN(auto i, Array::Create(store, "sub/ints", ints));
  std::vector<int32_t> block(45 * 50);
  for (size_t k = 0; k < block.size(); ++k) block[k] = static_cast<int32_t>(k * 7919 % 100003) - 5;
  RETURN_IF_ERROR(i->Write(Region{{10, 40}, {45, 50}}, std::span<const int32_t>(block)));

  // Zarr v2.
  ArrayMetadata v2 = w1;
  v2.zarr_format = 2;
  v2.shape = {50, 60};
  v2.chunk_shape = {16, 16};
  v2.codecs = Json::array({BytesCodec()});
  ASSIGN_OR_RETURN(auto v, Array::Create(store, "v2arr", v2));
  const std::vector<float> small = W1Values(50, 60);
  RETURN_IF_ERROR(v->Write(Region::All(v2.shape), std::span<const float>(small)));
  return Status::OK();
}

Result<std::map<std::string, std::string>> DigestArrays(const std::shared_ptr<Store>& store,
                                                        const std::vector<std::string>& paths) {
  std::map<std::string, std::string> out;
  for (const std::string& path : paths) {
    ASSIGN_OR_RETURN(std::vector<ArrayDigestEntry> entries, DigestTree(store, path));
    for (const ArrayDigestEntry& e : entries) {
      if (!e.error.ok()) return e.error.WithContext("digest of '" + path + "'");
      if (e.path.empty()) out[path] = e.sha256;
    }
    if (!out.contains(path)) return Status::NotFound("no array at '" + path + "'");
  }
  return out;
}

}  // namespace zarrpp::test_support
