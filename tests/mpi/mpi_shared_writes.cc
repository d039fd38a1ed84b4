// Several MPI ranks writing one array on a LocalStore (spec/concurrency.md).
//
// For each array layout (sharded with compressed and fixed-size inner chains, the index at the
// start and at the end; plain chunks) and each trial: rank 0 creates the array, a barrier, every
// rank makes hundreds of random partial writes into its own tiles (which share inner chunks,
// shards and chunks with other ranks' tiles), a barrier, then every rank reads the whole array
// and checks every element against the value the writes determine. Any lost update, wrong value
// or error fails the run.
//
// Usage: mpirun -np 4 --oversubscribe mpi_shared_writes <store root> [writes per rank] [trials]
#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "support/disjoint_writers.h"
#include "zarrpp/array.h"
#include "zarrpp/executor.h"
#include "zarrpp/local_store.h"

using namespace zarrpp;
using namespace zarrpp::test_support;

namespace {

struct Tally {
  unsigned long long lost = 0, wrong = 0, corruption = 0, errors = 0;
};

void Report(Tally& t, const Status& s, int rank, const char* what) {
  if (s.ok()) return;
  if (s.IsCorruption()) {
    ++t.corruption;
  } else {
    ++t.errors;
  }
  std::fprintf(stderr, "rank %d: %s: %s\n", rank, what, s.ToString().c_str());
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc < 2) {
    if (rank == 0) std::fprintf(stderr, "usage: %s <store root> [writes] [trials]\n", argv[0]);
    MPI_Finalize();
    return 2;
  }
  const std::string root = argv[1];
  const uint32_t writes = argc > 2 ? static_cast<uint32_t>(std::atoi(argv[2])) : 300;
  const int trials = argc > 3 ? std::atoi(argv[3]) : 2;
  if (rank == 0) std::filesystem::remove_all(root);
  MPI_Barrier(MPI_COMM_WORLD);

  auto store = LocalStore::Create(root);
  if (!store.ok()) {
    std::fprintf(stderr, "rank %d: %s\n", rank, store.status().ToString().c_str());
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  ArrayOptions options;
  options.executor = MakeThreadPoolExecutor(1);
  options.sharding.compaction_threshold = 0.3;
  options.pipeline = rank % 2 == 0 ? PipelineKind::kFused : PipelineKind::kBatched;

  Tally total;
  int runs = 0;
  for (const DisjointLayout& layout : DisjointLayouts()) {
    for (int trial = 0; trial < trials; ++trial) {
      DisjointPlan plan;
      plan.writers = static_cast<uint32_t>(size);
      plan.writes_per_writer = writes;
      plan.seed = 1000 + static_cast<uint64_t>(trial);
      const std::string path = layout.name + "_" + std::to_string(trial);
      Tally t;
      if (rank == 0) {
        CreateOptions create;
        create.overwrite = true;
        auto a = Array::Create(*store, path, DisjointMetadata(plan, layout), create);
        Report(t, a.status(), rank, "create");
      }
      MPI_Barrier(MPI_COMM_WORLD);
      auto a = Array::Open(*store, path, options);
      Report(t, a.status(), rank, "open");
      if (a.ok())
        Report(t, RunDisjointWriter(**a, plan, static_cast<uint32_t>(rank)), rank, "write");
      MPI_Barrier(MPI_COMM_WORLD);
      if (a.ok()) {
        std::vector<uint64_t> got(plan.elements());
        Status s = (*a)->Read(Region::All(plan.shape), std::span<uint64_t>(got));
        Report(t, s, rank, "read");
        if (s.ok()) {
          const DisjointCheck c = CheckDisjoint(plan, got, DisjointExpected(plan));
          t.lost += c.lost;
          t.wrong += c.wrong;
        }
      }
      Tally sum;
      MPI_Allreduce(&t, &sum, 4, MPI_UNSIGNED_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
      if (rank == 0) {
        std::printf(
            "%-18s trial %d: %d ranks x %u writes: lost %llu, wrong %llu, corruption %llu,"
            " errors %llu\n",
            layout.name.c_str(), trial, size, writes, sum.lost, sum.wrong, sum.corruption,
            sum.errors);
        std::fflush(stdout);
      }
      total.lost += sum.lost;
      total.wrong += sum.wrong;
      total.corruption += sum.corruption;
      total.errors += sum.errors;
      ++runs;
    }
  }
  const bool ok = total.lost == 0 && total.wrong == 0 && total.corruption == 0 && total.errors == 0;
  if (rank == 0) {
    std::printf("%d runs: lost %llu, wrong %llu, corruption %llu, errors %llu: %s\n", runs,
                total.lost, total.wrong, total.corruption, total.errors, ok ? "PASS" : "FAIL");
  }
  MPI_Finalize();
  return ok ? 0 : 1;
}
