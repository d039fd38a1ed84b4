// Convert of W1 (bench/workloads.md) between two local stores with an unchanged chunk grid and
// codec chain: the stored chunks copied as bytes (the default when source and target chunks are
// compatible) against decoding and re-encoding every chunk (ConvertOptions::reencode), the
// baseline, in the same run. The ratio column is raw copy time / re-encode time.
//
//   build-bench/bench/convert_bench
//   build-bench/bench/convert_bench --benchmark_filter=zstd3
#include <filesystem>
#include <string>
#include <vector>

#include "bench_support.h"
#include "src/tools/workloads.h"
#include "zarrpp/array.h"
#include "zarrpp/convert.h"
#include "zarrpp/local_store.h"

namespace zarrpp::bench {
namespace {

std::string SourceDir(const std::string& config) {
  static std::string dir = ScratchDir("convert-src");
  return dir + "/" + config;
}
std::string TargetDir(const std::string& role) {
  static std::string dir = ScratchDir("convert-dst");
  return dir + "/" + role;
}

// Writes W1 with `config`'s chain once per process.
Status EnsureSource(const std::string& config) {
  static std::vector<std::string> done;
  for (const std::string& d : done) {
    if (d == config) return Status::OK();
  }
  std::vector<float> data(workloads::kW1Rows * workloads::kW1Cols);
  workloads::GenerateW1(data.data(), workloads::kW1Rows, workloads::kW1Cols, *DefaultExecutor());
  std::filesystem::create_directories(SourceDir(config));
  ASSIGN_OR_RETURN(auto store, LocalStore::Create(SourceDir(config)));
  ASSIGN_OR_RETURN(auto array, Array::Create(store, "w1", workloads::W1Metadata(config)));
  RETURN_IF_ERROR(array->Write(Region::All(array->shape()), std::span<const float>(data)));
  done.push_back(config);
  return Status::OK();
}

void RunConvert(benchmark::State& st, const std::string& config, bool reencode) {
  if (Status s = EnsureSource(config); !s.ok()) return st.SkipWithError(s.ToString().c_str());
  const std::string role = reencode ? "reencode" : "engine";
  std::filesystem::create_directories(TargetDir(role));
  auto src = LocalStore::Create(SourceDir(config));
  auto dst = LocalStore::Create(TargetDir(role));
  if (!src.ok() || !dst.ok()) return st.SkipWithError("cannot open the stores");
  ConvertOptions o;
  o.overwrite = true;
  o.reencode = reencode;
  for (auto _ : st) {
    auto report = Convert(*src, "w1", *dst, "w1", o);
    if (!report.ok() || report->failed() != 0) {
      return st.SkipWithError(report.ok() ? "a node failed" : report.status().ToString().c_str());
    }
  }
  // The copy holds W1's values.
  auto a = Array::Open(*dst, "w1");
  if (!a.ok()) return st.SkipWithError(a.status().ToString().c_str());
  std::vector<float> row(workloads::kW1Cols);
  const uint64_t r = workloads::kW1Rows - 3;
  if (!(*a)->Read(Region{{r, 0}, {1, workloads::kW1Cols}}, std::span<float>(row)).ok())
    return st.SkipWithError("reading the copy failed");
  for (uint32_t c = 0; c < workloads::kW1Cols; ++c) {
    if (row[c] != workloads::W1Value(static_cast<uint32_t>(r), c))
      return st.SkipWithError("the copy holds other values");
  }
  st.SetBytesProcessed(int64_t(st.iterations()) *
                       int64_t(workloads::kW1Rows * workloads::kW1Cols * 4));
}

}  // namespace
}  // namespace zarrpp::bench

int main(int argc, char** argv) {
  for (const char* c : {"zstd3", "blosc-lz4"}) {
    const std::string config = c;
    benchmark::RegisterBenchmark(
        ("W1-convert/" + config + "/engine").c_str(),
        [config](benchmark::State& st) { zarrpp::bench::RunConvert(st, config, false); })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->MinTime(2.0);
    benchmark::RegisterBenchmark(
        ("W1-convert/" + config + "/reencode").c_str(),
        [config](benchmark::State& st) { zarrpp::bench::RunConvert(st, config, true); })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->MinTime(2.0);
  }
  int rc = zarrpp::bench::RunWithRatios(
      argc, argv, "reencode", "Convert of W1, local to local: raw chunk copy vs decode+encode");
  zarrpp::bench::RemoveDir(zarrpp::bench::ScratchDir("convert-src"));
  zarrpp::bench::RemoveDir(zarrpp::bench::ScratchDir("convert-dst"));
  return rc;
}
