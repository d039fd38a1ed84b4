// bench/bench_support.h - shared pieces of the zarrpp benchmarks.
//
// Every figure zarrpp quotes is a ratio against a baseline measured in the same run. Benchmarks
// name themselves "<case>/<role>", where <role> is "engine" or a baseline role such as "limit";
// RatioReporter prints, after the usual output, a table of engine time / baseline time for every
// case that has both.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "zarrpp/status.h"

namespace zarrpp::bench {

// Setup steps of a benchmark must succeed: a failure prints what failed and aborts the run.
inline void Check(const Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
    std::abort();
  }
}
template <typename T>
T Must(Result<T> r, const char* what) {
  Check(r.status(), what);
  return std::move(r).value();
}

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  // `baseline_role` is the role engine times are divided by (e.g. "limit").
  explicit RatioReporter(std::string baseline_role, std::string title)
      : baseline_role_(std::move(baseline_role)), title_(std::move(title)) {}
  // Several roles compared with one baseline: one time and one ratio column per role.
  RatioReporter(std::string baseline_role, std::string title, std::vector<std::string> roles)
      : baseline_role_(std::move(baseline_role)),
        title_(std::move(title)),
        roles_(std::move(roles)) {}
  void ReportRuns(const std::vector<Run>& runs) override;
  void Finalize() override;

 private:
  void FinalizeRoles();

  std::string baseline_role_;
  std::string title_;
  std::vector<std::string> roles_ = {"engine"};
  // case -> role -> best seconds (minimum over repetitions)
  std::map<std::string, std::map<std::string, double>> best_;
  std::vector<std::string> order_;
};

// Runs the registered benchmarks with a RatioReporter; returns the process exit code.
int RunWithRatios(int argc, char** argv, const std::string& baseline_role,
                  const std::string& title);
// The same with the given roles each compared with `baseline_role`.
int RunWithRatios(int argc, char** argv, const std::string& baseline_role, const std::string& title,
                  const std::vector<std::string>& roles);

// A fresh directory under the system temp dir (removed and re-created).
std::string ScratchDir(const std::string& name);
void RemoveDir(const std::string& path);

}  // namespace zarrpp::bench
