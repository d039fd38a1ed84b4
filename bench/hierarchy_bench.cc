// W4: creating a hierarchy of 1,000 nodes (groups three levels deep, arrays as leaves) with one
// CreateHierarchy call against creating the same nodes one by one (Group::Create and
// Array::Create in parent-first order), on a memory store with 5 ms latency per operation and
// on a local store. Each iteration times both on fresh stores and reports
//   one_by_one_ms  the baseline,
//   batch_ms       CreateHierarchy (also the benchmark's manual time),
//   speedup        one_by_one_ms / batch_ms.
// Run: build-*/bench/hierarchy_bench  (about 15 s on a 5 ms store, most of it the baseline).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "zarrpp/array.h"
#include "zarrpp/group.h"
#include "zarrpp/hierarchy.h"
#include "zarrpp/json.h"
#include "zarrpp/local_store.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/store_wrappers.h"

namespace zarrpp {
namespace {

constexpr int kNodes = 1000;

// 5 groups, 5 below each, 4 below each of those (130 groups in three levels), and 870 arrays
// spread over the 100 deepest groups.
NodeMap Tree() {
  NodeMap nodes;
  std::vector<std::string> leaves_parents;
  for (int a = 0; a < 5; ++a) {
    const std::string l1 = "g" + std::to_string(a);
    nodes.emplace(l1, GroupMetadata{});
    for (int b = 0; b < 5; ++b) {
      const std::string l2 = l1 + "/h" + std::to_string(b);
      nodes.emplace(l2, GroupMetadata{});
      for (int c = 0; c < 4; ++c) {
        const std::string l3 = l2 + "/k" + std::to_string(c);
        nodes.emplace(l3, GroupMetadata{});
        leaves_parents.push_back(l3);
      }
    }
  }
  ArrayMetadata m;
  m.shape = {1000, 100};
  m.chunk_shape = {100, 100};
  m.data_type = DataType(DataTypeId::kFloat32);
  m.attributes = {{"units", "K"}};
  for (int i = 0; nodes.size() < kNodes; ++i) {
    nodes.emplace(leaves_parents[i % leaves_parents.size()] + "/a" + std::to_string(i), m);
  }
  return nodes;
}

// Creates every node with its own call, parents first (the map is sorted, so a parent comes
// before its children).
Status CreateOneByOne(const std::shared_ptr<Store>& store, const NodeMap& nodes) {
  for (const auto& [path, metadata] : nodes) {
    if (const auto* g = std::get_if<GroupMetadata>(&metadata)) {
      RETURN_IF_ERROR(Group::Create(store, path, *g).status());
    } else {
      RETURN_IF_ERROR(Array::Create(store, path, std::get<ArrayMetadata>(metadata)).status());
    }
  }
  return Status::OK();
}

template <typename F>
double TimeMs(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

void Check(benchmark::State& state, const Status& s) {
  if (!s.ok()) state.SkipWithError(s.ToString().c_str());
}

// Runs both ways on stores from `make_store` and reports the ratio.
template <typename MakeStore>
void Compare(benchmark::State& state, MakeStore make_store) {
  const NodeMap nodes = Tree();
  double one_by_one_total = 0, batch_total = 0;
  for (auto _ : state) {
    std::shared_ptr<Store> a = make_store();
    Status s;
    one_by_one_total += TimeMs([&] { s = CreateOneByOne(a, nodes); });
    Check(state, s);
    std::shared_ptr<Store> b = make_store();
    Result<std::vector<Node>> created = Status::IOError("not run");
    const double ms = TimeMs([&] { created = CreateHierarchy(b, nodes); });
    Check(state, created.status());
    if (created.ok() && created->size() != kNodes + 1) {  // + the implicit root group
      state.SkipWithError("CreateHierarchy wrote an unexpected number of nodes");
    }
    batch_total += ms;
    state.SetIterationTime(ms / 1000.0);
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["one_by_one_ms"] = one_by_one_total / n;
  state.counters["batch_ms"] = batch_total / n;
  state.counters["speedup"] = one_by_one_total / batch_total;
  state.counters["nodes"] = kNodes;
}

void BM_W4_MemoryStore5msLatency(benchmark::State& state) {
  Compare(state, [] {
    return std::make_shared<LatencyStore>(MemoryStore::Create(), std::chrono::milliseconds(5));
  });
}
// One iteration: the baseline alone takes about 1,000 x 2 round trips of 5 ms.
BENCHMARK(BM_W4_MemoryStore5msLatency)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

void BM_W4_LocalStore(benchmark::State& state) {
  const std::filesystem::path root =
      std::filesystem::temp_directory_path() / ("zarrpp_w4_" + std::to_string(::getpid()));
  int round = 0;
  Compare(state, [&] {
    const std::filesystem::path dir = root / std::to_string(round++);
    std::filesystem::remove_all(dir);
    auto store = LocalStore::Create(dir.string());
    if (!store.ok()) {
      std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
      std::abort();
    }
    return std::shared_ptr<Store>(*store);
  });
  std::filesystem::remove_all(root);
}
BENCHMARK(BM_W4_LocalStore)->Iterations(5)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace zarrpp

BENCHMARK_MAIN();
