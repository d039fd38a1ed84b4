#include "bench_support.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace zarrpp::bench {

void RatioReporter::ReportRuns(const std::vector<Run>& runs) {
  ConsoleReporter::ReportRuns(runs);
  for (const Run& r : runs) {
    if (r.run_type != Run::RT_Iteration || r.error_occurred) continue;
    // Names look like "<case>/<role>" possibly followed by "/repeats:N", "/real_time" etc.
    std::string name = r.run_name.function_name;
    size_t slash = name.rfind('/');
    if (slash == std::string::npos) continue;
    std::string c = name.substr(0, slash), role = name.substr(slash + 1);
    const double seconds = r.GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(r.time_unit);
    auto& slot = best_[c];
    if (slot.empty() && std::find(order_.begin(), order_.end(), c) == order_.end())
      order_.push_back(c);
    auto it = slot.find(role);
    if (it == slot.end() || seconds < it->second) slot[role] = seconds;
  }
}

void RatioReporter::Finalize() {
  ConsoleReporter::Finalize();
  if (roles_.size() != 1 || roles_[0] != "engine") return FinalizeRoles();
  std::printf("\n%s (best of repetitions; ratio = engine / %s)\n", title_.c_str(),
              baseline_role_.c_str());
  std::printf("| case | engine (s) | %s (s) | ratio |\n|---|---|---|---|\n",
              baseline_role_.c_str());
  for (const std::string& c : order_) {
    const auto& roles = best_[c];
    auto e = roles.find("engine");
    auto b = roles.find(baseline_role_);
    if (e == roles.end() || b == roles.end()) continue;
    std::printf("| %s | %.4f | %.4f | %.2fx |\n", c.c_str(), e->second, b->second,
                e->second / b->second);
  }
  std::fflush(stdout);
}

void RatioReporter::FinalizeRoles() {
  std::printf("\n%s (best of repetitions; ratio = role / %s)\n| case | %s (s) |", title_.c_str(),
              baseline_role_.c_str(), baseline_role_.c_str());
  for (const std::string& r : roles_) std::printf(" %s (s) | %s ratio |", r.c_str(), r.c_str());
  std::printf("\n|---|---|");
  for (size_t i = 0; i < roles_.size(); ++i) std::printf("---|---|");
  std::printf("\n");
  for (const std::string& c : order_) {
    const auto& roles = best_[c];
    auto b = roles.find(baseline_role_);
    if (b == roles.end()) continue;
    std::printf("| %s | %.4f |", c.c_str(), b->second);
    for (const std::string& r : roles_) {
      auto e = roles.find(r);
      if (e == roles.end()) {
        std::printf(" - | - |");
      } else {
        std::printf(" %.4f | %.2fx |", e->second, e->second / b->second);
      }
    }
    std::printf("\n");
  }
  std::fflush(stdout);
}

int RunWithRatios(int argc, char** argv, const std::string& baseline_role, const std::string& title,
                  const std::vector<std::string>& roles) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter(baseline_role, title, roles);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}

int RunWithRatios(int argc, char** argv, const std::string& baseline_role,
                  const std::string& title) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter(baseline_role, title);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}

std::string ScratchDir(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() /
           ("zarrpp-bench-" + std::to_string(::getpid()) + "-" + name);
  std::error_code ec;
  std::filesystem::remove_all(p, ec);
  std::filesystem::create_directories(p, ec);
  return p.string();
}

void RemoveDir(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

}  // namespace zarrpp::bench
