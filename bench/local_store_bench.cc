// bench/local_store_bench.cc - what LocalStore's containment, generations and locks cost.
//
// "set4k/engine" is LocalStore::set of 4 KiB (key lock file, O_EXCL temporary under an OFD lock,
// fresh mtime, renameat, all beneath the root descriptor); "set4k/limit" is the bare
// open/write/close/rename of the same bytes to the same paths. "get4k" compares get_into (openat2
// beneath the root, shared OFD lock, fstat, pread) with bare open/pread/close. Each iteration
// writes or reads 20 directories x 50 keys.
#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "bench_support.h"
#include "zarrpp/local_store.h"

namespace {

constexpr int kDirs = 20, kPerDir = 50;

std::vector<std::string> Keys() {
  std::vector<std::string> keys;
  for (int i = 0; i < kDirs * kPerDir; ++i) {
    keys.push_back(std::to_string(i % kDirs) + "/" + std::to_string(i / kDirs));
  }
  return keys;
}

struct Fixture {
  std::string root = zarrpp::bench::ScratchDir("local_store_bench");
  std::shared_ptr<zarrpp::LocalStore> store = *zarrpp::LocalStore::Create(root);
  std::vector<std::string> keys = Keys();
  zarrpp::Bytes value = zarrpp::Bytes(4096, 7);
  ~Fixture() { zarrpp::bench::RemoveDir(root); }
};

void BM_SetEngine(benchmark::State& state) {
  Fixture f;
  for (auto _ : state) {
    for (const std::string& k : f.keys) {
      if (!f.store->set(k, f.value).ok()) state.SkipWithError("set failed");
    }
  }
}

void BM_SetLimit(benchmark::State& state) {
  Fixture f;
  for (const std::string& k : f.keys) (void)f.store->set(k, f.value);  // the directories
  for (auto _ : state) {
    for (const std::string& k : f.keys) {
      const std::string path = f.root + "/" + k, tmp = path + ".tmp";
      int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd < 0 || ::write(fd, f.value.data(), f.value.size()) != 4096) {
        state.SkipWithError("write failed");
      }
      ::close(fd);
      ::rename(tmp.c_str(), path.c_str());
    }
  }
}

void BM_GetEngine(benchmark::State& state) {
  Fixture f;
  for (const std::string& k : f.keys) (void)f.store->set(k, f.value);
  zarrpp::Bytes out;
  for (auto _ : state) {
    for (const std::string& k : f.keys) {
      if (!f.store->get_into(k, zarrpp::ByteRange::Whole(), out).ok()) {
        state.SkipWithError("get failed");
      }
    }
  }
}

void BM_GetLimit(benchmark::State& state) {
  Fixture f;
  for (const std::string& k : f.keys) (void)f.store->set(k, f.value);
  zarrpp::Bytes out(4096);
  for (auto _ : state) {
    for (const std::string& k : f.keys) {
      const std::string path = f.root + "/" + k;
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || ::pread(fd, out.data(), out.size(), 0) != 4096) {
        state.SkipWithError("read failed");
      }
      ::close(fd);
    }
  }
}

BENCHMARK(BM_SetEngine)->Name("set4k/engine")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SetLimit)->Name("set4k/limit")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GetEngine)->Name("get4k/engine")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GetLimit)->Name("get4k/limit")->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  return zarrpp::bench::RunWithRatios(argc, argv, "limit",
                                      "LocalStore::set / get_into of 4 KiB vs bare syscalls");
}
