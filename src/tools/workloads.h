// src/tools/workloads.h - the reference workloads (bench/workloads.md), generated in process
// so the demo, tests and benchmarks use identical data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "zarrpp/executor.h"
#include "zarrpp/json.h"
#include "zarrpp/metadata.h"

namespace zarrpp::workloads {

// W1: float32 8192 x 8192, chunks 256 x 1024.
inline constexpr uint64_t kW1Rows = 8192;
inline constexpr uint64_t kW1Cols = 8192;
inline constexpr uint64_t kW1ChunkRows = 256;
inline constexpr uint64_t kW1ChunkCols = 1024;
inline constexpr const char* kW1Sha256 =
    "f95edb5ba57228bd0237b8003e4424eb6355a48cd3ed8a04866378281d4675f3";

// The W1 value at (r, c) of an array with `cols` columns.
inline float W1Value(uint32_t r, uint32_t c, uint32_t cols = kW1Cols) {
  uint32_t i = r * cols + c;
  uint32_t h = i * 0x9E3779B1u;
  h ^= h >> 16;
  h *= 0x85EBCA6Bu;
  h ^= h >> 13;
  return static_cast<float>(r) * 0.5f + static_cast<float>(c % 977) * 0.25f +
         static_cast<float>(h >> 24) / 2048.0f;
}

// Fills `out` (rows x cols, C order) with W1 values, in parallel on `executor`.
void GenerateW1(float* out, uint64_t rows, uint64_t cols, Executor& executor);

// The codec chains of W1: "none", "blosc-lz4", "zstd3", "sharded-blosc-lz4".
Json W1Codecs(const std::string& config);
// Array metadata for W1 with the given codec configuration.
ArrayMetadata W1Metadata(const std::string& config, uint64_t rows = kW1Rows,
                         uint64_t cols = kW1Cols);

}  // namespace zarrpp::workloads
