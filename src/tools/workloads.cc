#include "src/tools/workloads.h"

#include "zarrpp/json.h"

namespace zarrpp::workloads {

void GenerateW1(float* out, uint64_t rows, uint64_t cols, Executor& executor) {
  executor.ParallelFor(rows, 64, [&](size_t b, size_t e) {
    for (size_t r = b; r < e; ++r) {
      float* row = out + r * cols;
      for (uint64_t c = 0; c < cols; ++c) {
        row[c] = W1Value(static_cast<uint32_t>(r), static_cast<uint32_t>(c),
                         static_cast<uint32_t>(cols));
      }
    }
  });
}

Json W1Codecs(const std::string& config) {
  const Json bytes = {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
  const Json blosc = {{"name", "blosc"},
                      {"configuration",
                       {{"cname", "lz4"},
                        {"clevel", 5},
                        {"shuffle", "shuffle"},
                        {"typesize", 4},
                        {"blocksize", 0}}}};
  if (config == "none") return Json::array({bytes});
  if (config == "blosc-lz4") return Json::array({bytes, blosc});
  if (config == "zstd3") {
    return Json::array(
        {bytes, {{"name", "zstd"}, {"configuration", {{"level", 3}, {"checksum", false}}}}});
  }
  if (config == "sharded-blosc-lz4") {
    Json sharding = {{"name", "sharding_indexed"},
                     {"configuration",
                      {{"chunk_shape", {kW1ChunkRows, kW1ChunkCols}},
                       {"codecs", Json::array({bytes, blosc})},
                       {"index_codecs", Json::array({bytes, {{"name", "crc32c"}}})},
                       {"index_location", "end"}}}};
    return Json::array({sharding});
  }
  return Json();
}

ArrayMetadata W1Metadata(const std::string& config, uint64_t rows, uint64_t cols) {
  ArrayMetadata m;
  m.shape = {rows, cols};
  m.data_type = DataType(DataTypeId::kFloat32);
  if (config == "sharded-blosc-lz4") {
    m.chunk_shape = {2048, 2048};
  } else {
    m.chunk_shape = {kW1ChunkRows, kW1ChunkCols};
  }
  m.fill_value = FillValue::Zero(m.data_type);
  m.codecs = W1Codecs(config);
  return m;
}

}  // namespace zarrpp::workloads
