// Small reads (bench/workloads.md, "Small reads"): random single elements of W1, 1024 x 1024
// windows of W1, and a time series at one grid point of a [T, 720, 1440] float32 array chunked
// [1, 180, 360], on a local store (page cache), each beside the limit baseline in the same run:
//   - point: per element, open the chunk's file, pread the element's bytes (uncompressed), or
//     pread the compressed chunk and blosc_getitem the element (blosc-lz4: decodes only the
//     blosc block holding it), close;
//   - window: per chunk the window touches, on all cores, open, pread the chunk, copy the rows
//     out, close;
//   - series: per time step, open the chunk's file, pread the element's bytes, close;
//   - point checked (role "checked", uncompressed): the floor of a read that checks what it
//     read: open beneath the root (openat2, RESOLVE_BENEATH), pread, fstat, close;
//   - memory point (per-call overhead, W1's first 2048 x 2048 in a MemoryStore): per element,
//     find the chunk's bytes in a hash map by its key and copy the element out.
// The files are the ones the engine wrote, so both sides read the same bytes. The series cell
// also counts the engine's store requests (CountingStore) and aborts unless they equal T.
// Built with HDF5 (small_read_hdf5_bench, when libhdf5 is found), the same cells also run
// against an HDF5 file of the same shape and chunking (role "hdf5", default chunk cache).
//
//   build/bench/small_read_bench
//   build/bench/small_read_bench --benchmark_filter=point
#include <blosc.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <oneapi/tbb/parallel_for.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench_support.h"
#include "src/tools/workloads.h"
#include "zarrpp/array.h"
#include "zarrpp/json.h"
#include "zarrpp/local_store.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/store_wrappers.h"

#ifdef ZARRPP_BENCH_HDF5
#include <hdf5.h>
#endif

namespace zarrpp::bench {
namespace {

using workloads::kW1ChunkCols;
using workloads::kW1ChunkRows;
using workloads::kW1Cols;
using workloads::kW1Rows;

constexpr int kPoints = 1000;
constexpr int kWindows = 16;
constexpr uint64_t kWindow = 1024;
constexpr uint64_t kSeriesT = 365;
constexpr uint64_t kSeriesY = 720, kSeriesX = 1440, kSeriesCY = 180, kSeriesCX = 360;
constexpr uint64_t kSeriesAtY = 437, kSeriesAtX = 1001;  // the grid point

struct Point {
  uint64_t r, c;
};
const std::vector<Point>& Points() {
  static const std::vector<Point> p = [] {
    std::mt19937_64 rng(7);
    std::vector<Point> v(kPoints);
    for (Point& q : v) q = {rng() % kW1Rows, rng() % kW1Cols};
    return v;
  }();
  return p;
}
const std::vector<Point>& WindowOrigins() {
  static const std::vector<Point> p = [] {
    std::mt19937_64 rng(11);
    std::vector<Point> v(kWindows);
    for (Point& q : v) q = {rng() % (kW1Rows - kWindow + 1), rng() % (kW1Cols - kWindow + 1)};
    return v;
  }();
  return p;
}

std::string Root() {
  static const std::string dir = ScratchDir("small-read");
  return dir;
}

// The W1 array with `config` ("none", "blosc-lz4") at <root>/<config>, written once.
std::shared_ptr<Array> W1(const std::string& config) {
  static std::map<std::string, std::shared_ptr<Array>> arrays;
  auto it = arrays.find(config);
  if (it != arrays.end()) return it->second;
  auto store = Must(LocalStore::Create(Root()), "open store");
  CreateOptions create;
  create.overwrite = true;
  auto array = Must(Array::Create(store, config, workloads::W1Metadata(config), create), "create");
  std::vector<float> data(kW1Rows * kW1Cols);
  workloads::GenerateW1(data.data(), kW1Rows, kW1Cols, *DefaultExecutor());
  Check(array->Write(Region::All({kW1Rows, kW1Cols}), std::span<const float>(data)), "write W1");
  ::sync();  // no writeback of the new files while reads are timed
  arrays[config] = array;
  return array;
}

std::string ChunkPath(const std::string& config, uint64_t gr, uint64_t gc) {
  return Root() + "/" + config + "/c/" + std::to_string(gr) + "/" + std::to_string(gc);
}

// Aborts unless `got` holds the W1 values of the points.
void VerifyPoints(const std::vector<float>& got) {
  for (size_t i = 0; i < Points().size(); ++i) {
    const Point& p = Points()[i];
    if (got[i] != workloads::W1Value(static_cast<uint32_t>(p.r), static_cast<uint32_t>(p.c))) {
      std::fprintf(stderr, "point %zu: wrong value\n", i);
      std::abort();
    }
  }
}

int OpenOrDie(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) std::abort();
  return fd;
}

void PointLimit(const std::string& config, std::vector<float>& out) {
  std::vector<uint8_t> encoded;
  for (size_t i = 0; i < Points().size(); ++i) {
    const Point& p = Points()[i];
    const uint64_t gr = p.r / kW1ChunkRows, gc = p.c / kW1ChunkCols;
    const uint64_t index = (p.r % kW1ChunkRows) * kW1ChunkCols + p.c % kW1ChunkCols;
    const int fd = OpenOrDie(ChunkPath(config, gr, gc));
    if (config == "none") {
      if (::pread(fd, &out[i], 4, static_cast<off_t>(index * 4)) != 4) std::abort();
    } else {
      struct stat st;
      if (::fstat(fd, &st) != 0) std::abort();
      encoded.resize(static_cast<size_t>(st.st_size));
      if (::pread(fd, encoded.data(), encoded.size(), 0) != st.st_size) std::abort();
      if (blosc_getitem(encoded.data(), static_cast<int>(index), 1, &out[i]) != 4) std::abort();
    }
    ::close(fd);
  }
}

// The floor of a read that checks what it read: per element, open the chunk's file beneath the
// root (openat2 with RESOLVE_BENEATH, as the store does, so that no symlink leads outside),
// pread the element's bytes, fstat (the value's size, to tell a truncated chunk, and the in-place
// patch mark) and close. The engine's reads need each of these calls.
void PointChecked(int root_fd, std::vector<float>& out) {
  for (size_t i = 0; i < Points().size(); ++i) {
    const Point& p = Points()[i];
    const uint64_t gr = p.r / kW1ChunkRows, gc = p.c / kW1ChunkCols;
    const uint64_t index = (p.r % kW1ChunkRows) * kW1ChunkCols + p.c % kW1ChunkCols;
    const std::string rel = "none/c/" + std::to_string(gr) + "/" + std::to_string(gc);
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    const int fd =
        static_cast<int>(::syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof(how)));
    if (fd < 0) std::abort();
    if (::pread(fd, &out[i], 4, static_cast<off_t>(index * 4)) != 4) std::abort();
    struct stat st;
    if (::fstat(fd, &st) != 0 ||
        st.st_size != static_cast<off_t>(kW1ChunkRows * kW1ChunkCols * 4)) {
      std::abort();
    }
    ::close(fd);
  }
}

void PointEngine(Array& a, std::vector<float>& out) {
  for (size_t i = 0; i < Points().size(); ++i) {
    const Point& p = Points()[i];
    Check(a.Read(Region{{p.r, p.c}, {1, 1}}, std::span<float>(&out[i], 1)), "point read");
  }
}

// Aborts unless `out` (kWindow x kWindow) holds W1 at window `w`.
void VerifyWindow(const std::vector<float>& out, const Point& w) {
  for (uint64_t r = 0; r < kWindow; r += 97) {
    for (uint64_t c = 0; c < kWindow; c += 89) {
      if (out[r * kWindow + c] !=
          workloads::W1Value(static_cast<uint32_t>(w.r + r), static_cast<uint32_t>(w.c + c))) {
        std::fprintf(stderr, "window: wrong value\n");
        std::abort();
      }
    }
  }
}

void WindowLimit(const Point& w, std::vector<float>& out) {
  const uint64_t r0 = w.r / kW1ChunkRows, r1 = (w.r + kWindow - 1) / kW1ChunkRows;
  const uint64_t c0 = w.c / kW1ChunkCols, c1 = (w.c + kWindow - 1) / kW1ChunkCols;
  const uint64_t nc = c1 - c0 + 1;
  tbb::parallel_for(uint64_t{0}, (r1 - r0 + 1) * nc, [&](uint64_t i) {
    thread_local std::vector<float> chunk(kW1ChunkRows * kW1ChunkCols);
    const uint64_t gr = r0 + i / nc, gc = c0 + i % nc;
    const int fd = OpenOrDie(ChunkPath("none", gr, gc));
    const ssize_t n = static_cast<ssize_t>(chunk.size() * 4);
    if (::pread(fd, chunk.data(), static_cast<size_t>(n), 0) != n) std::abort();
    ::close(fd);
    const uint64_t lo_r = std::max(w.r, gr * kW1ChunkRows);
    const uint64_t hi_r = std::min(w.r + kWindow, (gr + 1) * kW1ChunkRows);
    const uint64_t lo_c = std::max(w.c, gc * kW1ChunkCols);
    const uint64_t hi_c = std::min(w.c + kWindow, (gc + 1) * kW1ChunkCols);
    for (uint64_t r = lo_r; r < hi_r; ++r) {
      std::memcpy(&out[(r - w.r) * kWindow + (lo_c - w.c)],
                  &chunk[(r - gr * kW1ChunkRows) * kW1ChunkCols + (lo_c - gc * kW1ChunkCols)],
                  (hi_c - lo_c) * 4);
    }
  });
}

// The series array: only the chunks holding the grid point are written.
struct Series {
  std::shared_ptr<CountingStore> counting;
  std::shared_ptr<Array> array;
};
float SeriesValue(uint64_t t, uint64_t y, uint64_t x) {
  return static_cast<float>(t) * 1000.0f + static_cast<float>(y % 97) + static_cast<float>(x % 89);
}
Series& SeriesArray() {
  static Series* s = [] {
    auto* out = new Series;
    auto store = Must(LocalStore::Create(Root()), "open store");
    out->counting = std::make_shared<CountingStore>(store);
    ArrayMetadata m;
    m.shape = {kSeriesT, kSeriesY, kSeriesX};
    m.chunk_shape = {1, kSeriesCY, kSeriesCX};
    m.data_type = DataType(DataTypeId::kFloat32);
    m.fill_value = FillValue::Zero(m.data_type);
    m.codecs = workloads::W1Codecs("none");
    CreateOptions create;
    create.overwrite = true;
    out->array = Must(Array::Create(out->counting, "series", m, create), "create series");
    const uint64_t y0 = kSeriesAtY / kSeriesCY * kSeriesCY, x0 = kSeriesAtX / kSeriesCX * kSeriesCX;
    std::vector<float> block(kSeriesT * kSeriesCY * kSeriesCX);
    for (uint64_t t = 0; t < kSeriesT; ++t) {
      for (uint64_t y = 0; y < kSeriesCY; ++y) {
        for (uint64_t x = 0; x < kSeriesCX; ++x) {
          block[(t * kSeriesCY + y) * kSeriesCX + x] = SeriesValue(t, y0 + y, x0 + x);
        }
      }
    }
    Check(out->array->Write(Region{{0, y0, x0}, {kSeriesT, kSeriesCY, kSeriesCX}},
                            std::span<const float>(block)),
          "write series");
    ::sync();
    return out;
  }();
  return *s;
}
void VerifySeries(const std::vector<float>& got) {
  for (uint64_t t = 0; t < kSeriesT; ++t) {
    if (got[t] != SeriesValue(t, kSeriesAtY, kSeriesAtX)) {
      std::fprintf(stderr, "series: wrong value at t=%llu\n", static_cast<unsigned long long>(t));
      std::abort();
    }
  }
}

void SeriesLimit(std::vector<float>& out) {
  const uint64_t gy = kSeriesAtY / kSeriesCY, gx = kSeriesAtX / kSeriesCX;
  const uint64_t index = (kSeriesAtY % kSeriesCY) * kSeriesCX + kSeriesAtX % kSeriesCX;
  for (uint64_t t = 0; t < kSeriesT; ++t) {
    const std::string path = Root() + "/series/c/" + std::to_string(t) + "/" + std::to_string(gy) +
                             "/" + std::to_string(gx);
    const int fd = OpenOrDie(path);
    if (::pread(fd, &out[t], 4, static_cast<off_t>(index * 4)) != 4) std::abort();
    ::close(fd);
  }
}

#ifdef ZARRPP_BENCH_HDF5
// An HDF5 file holding W1 ("none" layout: float32, chunks 256 x 1024, no filter) and the series
// array, written once.
struct Hdf5 {
  hid_t file = -1, w1 = -1, series = -1;
};
Hdf5& Hdf5File() {
  static Hdf5* h = [] {
    auto* out = new Hdf5;
    const std::string path = Root() + "/h5.h5";
    hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    {
      hsize_t dims[2] = {kW1Rows, kW1Cols}, chunks[2] = {kW1ChunkRows, kW1ChunkCols};
      hid_t space = H5Screate_simple(2, dims, nullptr);
      hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
      H5Pset_chunk(dcpl, 2, chunks);
      hid_t d = H5Dcreate2(f, "w1", H5T_NATIVE_FLOAT, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
      std::vector<float> data(kW1Rows * kW1Cols);
      workloads::GenerateW1(data.data(), kW1Rows, kW1Cols, *DefaultExecutor());
      if (H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) < 0)
        std::abort();
      H5Dclose(d);
      H5Pclose(dcpl);
      H5Sclose(space);
    }
    {
      hsize_t dims[3] = {kSeriesT, kSeriesY, kSeriesX}, chunks[3] = {1, kSeriesCY, kSeriesCX};
      hid_t space = H5Screate_simple(3, dims, nullptr);
      hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
      H5Pset_chunk(dcpl, 3, chunks);
      hid_t d = H5Dcreate2(f, "series", H5T_NATIVE_FLOAT, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
      const uint64_t y0 = kSeriesAtY / kSeriesCY * kSeriesCY;
      const uint64_t x0 = kSeriesAtX / kSeriesCX * kSeriesCX;
      std::vector<float> block(kSeriesT * kSeriesCY * kSeriesCX);
      for (uint64_t t = 0; t < kSeriesT; ++t)
        for (uint64_t y = 0; y < kSeriesCY; ++y)
          for (uint64_t x = 0; x < kSeriesCX; ++x)
            block[(t * kSeriesCY + y) * kSeriesCX + x] = SeriesValue(t, y0 + y, x0 + x);
      hsize_t start[3] = {0, y0, x0}, count[3] = {kSeriesT, kSeriesCY, kSeriesCX};
      hid_t mem = H5Screate_simple(3, count, nullptr);
      H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr);
      if (H5Dwrite(d, H5T_NATIVE_FLOAT, mem, space, H5P_DEFAULT, block.data()) < 0) std::abort();
      H5Sclose(mem);
      H5Dclose(d);
      H5Pclose(dcpl);
      H5Sclose(space);
    }
    H5Fclose(f);
    ::sync();
    // Reopened for reading, as a reader would.
    out->file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    out->w1 = H5Dopen2(out->file, "w1", H5P_DEFAULT);
    out->series = H5Dopen2(out->file, "series", H5P_DEFAULT);
    return out;
  }();
  return *h;
}

// Reads the box (start, count) of `d` into `out`.
void Hdf5Read(hid_t d, int rank, const hsize_t* start, const hsize_t* count, float* out) {
  hid_t space = H5Dget_space(d);
  H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr);
  hid_t mem = H5Screate_simple(rank, count, nullptr);
  if (H5Dread(d, H5T_NATIVE_FLOAT, mem, space, H5P_DEFAULT, out) < 0) std::abort();
  H5Sclose(mem);
  H5Sclose(space);
}
#endif

// W1's first kMemRows x kMemCols in a MemoryStore, and the same chunks in a hash map.
constexpr uint64_t kMemRows = 2048, kMemCols = 2048;
struct MemoryW1 {
  std::shared_ptr<Array> array;
  std::unordered_map<std::string, std::vector<float>> chunks;
};
MemoryW1& Memory() {
  static MemoryW1* m = [] {
    auto* out = new MemoryW1;
    auto store = MemoryStore::Create();
    out->array =
        Must(Array::Create(store, "", workloads::W1Metadata("none", kMemRows, kMemCols)), "create");
    std::vector<float> data(kMemRows * kMemCols);
    workloads::GenerateW1(data.data(), kMemRows, kMemCols, *DefaultExecutor());
    Check(out->array->Write(Region::All({kMemRows, kMemCols}), std::span<const float>(data)),
          "write");
    for (uint64_t gr = 0; gr < kMemRows / kW1ChunkRows; ++gr) {
      for (uint64_t gc = 0; gc < kMemCols / kW1ChunkCols; ++gc) {
        std::vector<float>& c = out->chunks["c/" + std::to_string(gr) + "/" + std::to_string(gc)];
        c.resize(kW1ChunkRows * kW1ChunkCols);
        for (uint64_t r = 0; r < kW1ChunkRows; ++r) {
          std::memcpy(&c[r * kW1ChunkCols],
                      &data[(gr * kW1ChunkRows + r) * kMemCols + gc * kW1ChunkCols],
                      kW1ChunkCols * 4);
        }
      }
    }
    return out;
  }();
  return *m;
}
// The points, folded into the memory array.
Point MemoryPoint(size_t i) {
  return {Points()[i].r % kMemRows, Points()[i].c % kMemCols};
}
void VerifyMemoryPoints(const std::vector<float>& got) {
  for (size_t i = 0; i < got.size(); ++i) {
    const Point p = MemoryPoint(i);
    if (got[i] != workloads::W1Value(static_cast<uint32_t>(p.r), static_cast<uint32_t>(p.c),
                                     static_cast<uint32_t>(kMemCols))) {
      std::fprintf(stderr, "memory point %zu: wrong value\n", i);
      std::abort();
    }
  }
}

void Setup(benchmark::internal::Benchmark* b) {
  b->Iterations(1)->Repetitions(7)->UseRealTime()->Unit(benchmark::kMicrosecond);
}

void RegisterAll() {
  Setup(benchmark::RegisterBenchmark("memory_point/none/limit", [](benchmark::State& st) {
    MemoryW1& m = Memory();
    std::vector<float> out(kPoints);
    for (auto _ : st) {
      for (size_t i = 0; i < out.size(); ++i) {
        const Point p = MemoryPoint(i);
        const std::string key =
            "c/" + std::to_string(p.r / kW1ChunkRows) + "/" + std::to_string(p.c / kW1ChunkCols);
        const std::vector<float>& c = m.chunks.at(key);
        std::memcpy(&out[i], &c[(p.r % kW1ChunkRows) * kW1ChunkCols + p.c % kW1ChunkCols], 4);
      }
    }
    VerifyMemoryPoints(out);
  }));
  Setup(benchmark::RegisterBenchmark("memory_point/none/engine", [](benchmark::State& st) {
    MemoryW1& m = Memory();
    std::vector<float> out(kPoints);
    for (auto _ : st) {
      for (size_t i = 0; i < out.size(); ++i) {
        const Point p = MemoryPoint(i);
        Check(m.array->Read(Region{{p.r, p.c}, {1, 1}}, std::span<float>(&out[i], 1)), "read");
      }
    }
    VerifyMemoryPoints(out);
  }));
  for (const std::string config : {"none", "blosc-lz4"}) {
    Setup(benchmark::RegisterBenchmark(("point/" + config + "/limit").c_str(),
                                       [config](benchmark::State& st) {
                                         W1(config);
                                         std::vector<float> out(kPoints);
                                         for (auto _ : st) PointLimit(config, out);
                                         VerifyPoints(out);
                                       }));
    Setup(benchmark::RegisterBenchmark(
        ("point/" + config + "/engine").c_str(), [config](benchmark::State& st) {
          W1(config);
          auto store = Must(LocalStore::Create(Root()), "open store");
          auto a = Must(Array::Open(store, config), "open W1");
          std::vector<float> out(kPoints);
          for (auto _ : st) PointEngine(*a, out);
          VerifyPoints(out);
        }));
    if (config == "none") {
      Setup(benchmark::RegisterBenchmark("point/none/checked", [](benchmark::State& st) {
        W1("none");
        const int root_fd = ::open(Root().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0) std::abort();
        std::vector<float> out(kPoints);
        for (auto _ : st) PointChecked(root_fd, out);
        ::close(root_fd);
        VerifyPoints(out);
      }));
      // The store alone: LocalStore::get_at of each element (what the engine's read costs
      // below the array layer).
      Setup(benchmark::RegisterBenchmark("point/none/store", [](benchmark::State& st) {
        W1("none");
        auto store = Must(LocalStore::Create(Root()), "open store");
        std::vector<float> out(kPoints);
        for (auto _ : st) {
          for (size_t i = 0; i < Points().size(); ++i) {
            const Point& p = Points()[i];
            const std::string key = "none/c/" + std::to_string(p.r / kW1ChunkRows) + "/" +
                                    std::to_string(p.c / kW1ChunkCols);
            const uint64_t index = (p.r % kW1ChunkRows) * kW1ChunkCols + p.c % kW1ChunkCols;
            auto got = store->get_at(key, index * 4,
                                     MutableByteView(reinterpret_cast<uint8_t*>(&out[i]), 4));
            if (!got.ok() || !got->has_value()) std::abort();
          }
        }
        VerifyPoints(out);
      }));
    }
#ifdef ZARRPP_BENCH_HDF5
    if (config == "none") {
      Setup(benchmark::RegisterBenchmark(("point/" + config + "/hdf5").c_str(),
                                         [](benchmark::State& st) {
                                           Hdf5& h = Hdf5File();
                                           std::vector<float> out(kPoints);
                                           for (auto _ : st) {
                                             for (size_t i = 0; i < Points().size(); ++i) {
                                               hsize_t start[2] = {Points()[i].r, Points()[i].c};
                                               hsize_t count[2] = {1, 1};
                                               Hdf5Read(h.w1, 2, start, count, &out[i]);
                                             }
                                           }
                                           VerifyPoints(out);
                                         }));
    }
#endif
  }
  Setup(benchmark::RegisterBenchmark("window/none/limit", [](benchmark::State& st) {
    W1("none");
    std::vector<float> out(kWindow * kWindow);
    for (auto _ : st) {
      for (const Point& w : WindowOrigins()) WindowLimit(w, out);
    }
    VerifyWindow(out, WindowOrigins().back());
  }));
  Setup(benchmark::RegisterBenchmark("window/none/engine", [](benchmark::State& st) {
    W1("none");
    auto store = Must(LocalStore::Create(Root()), "open store");
    auto a = Must(Array::Open(store, "none"), "open W1");
    std::vector<float> out(kWindow * kWindow);
    for (auto _ : st) {
      for (const Point& w : WindowOrigins()) {
        Check(a->Read(Region{{w.r, w.c}, {kWindow, kWindow}}, std::span<float>(out)), "window");
      }
    }
    VerifyWindow(out, WindowOrigins().back());
  }));
  Setup(benchmark::RegisterBenchmark("series/none/limit", [](benchmark::State& st) {
    SeriesArray();
    std::vector<float> out(kSeriesT);
    for (auto _ : st) SeriesLimit(out);
    VerifySeries(out);
  }));
  Setup(benchmark::RegisterBenchmark("series/none/engine", [](benchmark::State& st) {
    Series& s = SeriesArray();
    std::vector<float> out(kSeriesT);
    const Region series{{0, kSeriesAtY, kSeriesAtX}, {kSeriesT, 1, 1}};
    for (auto _ : st) {
      s.counting->reset();
      Check(s.array->Read(series, std::span<float>(out)), "series read");
      const CountingStore::Counters n = s.counting->counters();
      if (n.get_into != kSeriesT || n.open_reader != 0 || n.get_ranges != 0 || n.size != 0 ||
          n.get_if != 0 || n.bytes_read != kSeriesT * 4) {
        std::fprintf(stderr, "series: %llu requests (%llu bytes) for T = %llu\n",
                     static_cast<unsigned long long>(n.get_into + n.open_reader + n.get_ranges),
                     static_cast<unsigned long long>(n.bytes_read),
                     static_cast<unsigned long long>(kSeriesT));
        std::abort();
      }
    }
    VerifySeries(out);
    st.counters["requests"] = static_cast<double>(s.counting->counters().get_into);
  }));
#ifdef ZARRPP_BENCH_HDF5
  Setup(benchmark::RegisterBenchmark("window/none/hdf5", [](benchmark::State& st) {
    Hdf5& h = Hdf5File();
    std::vector<float> out(kWindow * kWindow);
    for (auto _ : st) {
      for (const Point& w : WindowOrigins()) {
        hsize_t start[2] = {w.r, w.c}, count[2] = {kWindow, kWindow};
        Hdf5Read(h.w1, 2, start, count, out.data());
      }
    }
    VerifyWindow(out, WindowOrigins().back());
  }));
  Setup(benchmark::RegisterBenchmark("series/none/hdf5", [](benchmark::State& st) {
    Hdf5& h = Hdf5File();
    std::vector<float> out(kSeriesT);
    for (auto _ : st) {
      hsize_t start[3] = {0, kSeriesAtY, kSeriesAtX}, count[3] = {kSeriesT, 1, 1};
      Hdf5Read(h.series, 3, start, count, out.data());
    }
    VerifySeries(out);
  }));
#endif
}

}  // namespace
}  // namespace zarrpp::bench

int main(int argc, char** argv) {
  blosc_init();
  zarrpp::bench::RegisterAll();
#ifdef ZARRPP_BENCH_HDF5
  const std::vector<std::string> roles = {"engine", "store", "checked", "hdf5"};
#else
  const std::vector<std::string> roles = {"engine", "store", "checked"};
#endif
  const int rc = zarrpp::bench::RunWithRatios(
      argc, argv, "limit", "Small reads on a local store: engine vs limit baseline", roles);
  zarrpp::bench::RemoveDir(zarrpp::bench::Root());
  return rc;
}
