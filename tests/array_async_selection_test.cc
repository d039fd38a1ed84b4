// Array::ReadAsync / WriteAsync with a Hyperslab or Region and a strided view (typed, untyped,
// with a memory type): values that encode their position, the caller's memory outside the view
// left alone, errors through the Future (bounds, view extents, a cancelled request, a failing
// store), and several threads issuing selection calls on disjoint parts of one handle.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/async_arrays.h"
#include "support/worker_block.h"
#include "zarrpp/array.h"
#include "zarrpp/future.h"
#include "zarrpp/hyperslab.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/strided_view.h"

namespace zarrpp {
namespace {

using test_support::FirstCheckGate;
using test_support::MakeAsyncTestArray;
using test_support::WorkerBlock;

constexpr uint32_t kUntouched = 0xdeadbeef;

// The value stored at (r, c) of an array with `cols` columns by writer `version`.
uint32_t Value(uint32_t version, uint64_t r, uint64_t c, uint64_t cols) {
  return version * 1'000'000u + static_cast<uint32_t>(r * cols + c);
}

std::vector<uint32_t> ReadAll(Array& a) {
  std::vector<uint32_t> out(Region::All(a.shape()).num_elements());
  const Status s = a.Read(Region::All(a.shape()), std::span<uint32_t>(out));
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

TEST(ArrayAsyncSelection, HyperslabWriteFromFortranViewReadIntoPaddedView) {
  auto a = MakeAsyncTestArray(MemoryStore::Create(), {20, 30}, {4, 7});
  ASSERT_NE(a, nullptr);
  // Rows 1, 4, 7, 10 (blocks of 2: 1-2, 4-5, ...), columns 3, 8, 13 (blocks of 3).
  const Hyperslab slab{{1, 3}, {3, 5}, {4, 3}, {2, 3}};
  const std::vector<uint64_t> shape = slab.shape();  // {8, 9}
  std::vector<uint64_t> rows, cols;
  for (uint64_t i = 0; i < 4; ++i) rows.insert(rows.end(), {1 + 3 * i, 2 + 3 * i});
  for (uint64_t j = 0; j < 3; ++j) cols.insert(cols.end(), {3 + 5 * j, 4 + 5 * j, 5 + 5 * j});
  // The source in Fortran order.
  std::vector<uint32_t> src(shape[0] * shape[1]);
  for (uint64_t i = 0; i < shape[0]; ++i) {
    for (uint64_t j = 0; j < shape[1]; ++j) src[j * shape[0] + i] = Value(1, rows[i], cols[j], 30);
  }
  Future<Status> w =
      a->WriteAsync(slab, StridedView<const uint32_t>::FortranOrder(src.data(), shape));
  // A read into a view with padded rows (stride 12 for 9 elements), queued behind the write.
  std::vector<uint32_t> dst(shape[0] * 12, kUntouched);
  Future<Status> r = a->ReadAsync(slab, StridedView<uint32_t>(dst.data(), shape, {12, 1}));
  ASSERT_TRUE(w.wait().ok()) << w.wait();
  ASSERT_TRUE(r.wait().ok()) << r.wait();
  for (uint64_t i = 0; i < shape[0]; ++i) {
    for (uint64_t j = 0; j < 12; ++j) {
      const uint32_t want = j < shape[1] ? Value(1, rows[i], cols[j], 30) : kUntouched;
      ASSERT_EQ(dst[i * 12 + j], want) << "view element " << i << ", " << j;
    }
  }
  // Every element outside the selection stays at the fill value.
  const std::vector<uint32_t> all = ReadAll(*a);
  for (uint64_t i = 0; i < 20; ++i) {
    for (uint64_t j = 0; j < 30; ++j) {
      const bool selected = std::find(rows.begin(), rows.end(), i) != rows.end() &&
                            std::find(cols.begin(), cols.end(), j) != cols.end();
      ASSERT_EQ(all[i * 30 + j], selected ? Value(1, i, j, 30) : 0u) << i << ", " << j;
    }
  }
}

TEST(ArrayAsyncSelection, RegionViewsAndDenseSpansAndUntypedViews) {
  auto a = MakeAsyncTestArray(MemoryStore::Create(), {12, 10}, {5, 4});
  ASSERT_NE(a, nullptr);
  const Region region{{2, 1}, {6, 8}};
  // A column-major view of a region, written through the typed Region form.
  std::vector<uint32_t> src(48);
  for (uint64_t i = 0; i < 6; ++i) {
    for (uint64_t j = 0; j < 8; ++j) src[j * 6 + i] = Value(2, 2 + i, 1 + j, 10);
  }
  ASSERT_TRUE(
      a->WriteAsync(region, StridedView<uint32_t>::FortranOrder(src.data(), {6, 8})).wait().ok());
  // A dense span of the hyperslab's shape: every other row of the region.
  const Hyperslab every_other{{2, 1}, {2, 1}, {3, 1}, {1, 8}};
  std::vector<uint32_t> dense(24, kUntouched);
  Future<Status> f = a->ReadAsync(every_other, std::span<uint32_t>(dense));
  ASSERT_TRUE(f.wait().ok()) << f.wait();
  for (uint64_t i = 0; i < 3; ++i) {
    for (uint64_t j = 0; j < 8; ++j) {
      ASSERT_EQ(dense[i * 8 + j], Value(2, 2 + 2 * i, 1 + j, 10)) << i << ", " << j;
    }
  }
  // The untyped forms, a column of the array read into every third element of a buffer.
  std::vector<uint32_t> column(36, kUntouched);
  const MutableElementView view{
      reinterpret_cast<uint8_t*>(column.data()), sizeof(uint32_t), {12, 1}, {3, 1}};
  const Hyperslab col{{0, 4}, {1, 1}, {12, 1}, {1, 1}};
  ASSERT_TRUE(a->ReadAsync(col, view).wait().ok());
  for (uint64_t i = 0; i < 36; ++i) {
    const uint64_t r = i / 3;
    const uint32_t want = i % 3 != 0 ? kUntouched : (r >= 2 && r < 8 ? Value(2, r, 4, 10) : 0u);
    ASSERT_EQ(column[i], want) << i;
  }
  // An untyped write from a repeated element (stride 0), then read back whole.
  const uint32_t seven = 7;
  const ElementView sevens(reinterpret_cast<const uint8_t*>(&seven), sizeof(uint32_t), {12, 1},
                           {0, 0});
  ASSERT_TRUE(a->WriteAsync(col, sevens).wait().ok());
  const std::vector<uint32_t> all = ReadAll(*a);
  for (uint64_t r = 0; r < 12; ++r) ASSERT_EQ(all[r * 10 + 4], 7u) << r;
  EXPECT_EQ(all[2 * 10 + 1], Value(2, 2, 1, 10));
}

TEST(ArrayAsyncSelection, MemoryTypeViewsConvert) {
  auto a = MakeAsyncTestArray(MemoryStore::Create(), {6, 6}, {4, 4});
  ASSERT_NE(a, nullptr);
  const Hyperslab slab{{0, 0}, {2, 2}, {3, 3}, {1, 1}};  // even rows and columns
  std::vector<uint16_t> src(9);
  for (uint64_t i = 0; i < 9; ++i) src[i] = static_cast<uint16_t>(100 + i);
  ASSERT_TRUE(a->WriteAsync(slab, StridedView<uint16_t>::COrder(src.data(), {3, 3})).wait().ok());
  // Read as double through the untyped form with a memory type, Fortran order.
  std::vector<double> out(9, -1.0);
  MutableElementView view{reinterpret_cast<uint8_t*>(out.data()), sizeof(double), {3, 3}, {1, 3}};
  Future<Status> f = a->ReadAsync(slab, view, DataTypeId::kFloat64);
  ASSERT_TRUE(f.wait().ok()) << f.wait();
  for (uint64_t i = 0; i < 3; ++i) {
    for (uint64_t j = 0; j < 3; ++j)
      EXPECT_EQ(out[j * 3 + i], 100.0 + static_cast<double>(i * 3 + j));
  }
  // A value that does not fit the data type fails the write before any I/O.
  std::vector<int64_t> negative(9, -5);
  Future<Status> bad = a->WriteAsync(slab, StridedView<int64_t>::COrder(negative.data(), {3, 3}));
  EXPECT_TRUE(bad.wait().IsInvalidArgument()) << bad.wait();
  EXPECT_EQ(ReadAll(*a)[0], 100u);
}

TEST(ArrayAsyncSelection, ErrorsComeBackThroughTheFuture) {
  auto a = MakeAsyncTestArray(MemoryStore::Create(), {10, 10}, {5, 5});
  ASSERT_NE(a, nullptr);
  std::vector<uint32_t> buf(200, 9);
  // Out of bounds: the last block ends at row 4 + 2 * 3 + 1 = 11.
  const Hyperslab past_end{{4, 0}, {3, 1}, {3, 2}, {1, 1}};
  Future<Status> oob = a->ReadAsync(past_end, StridedView<uint32_t>::COrder(buf.data(), {3, 2}));
  // Extents of the view differ from the selection's shape.
  const Hyperslab box{{0, 0}, {1, 1}, {2, 3}, {1, 1}};
  Future<Status> extents =
      a->WriteAsync(box, StridedView<const uint32_t>::COrder(buf.data(), {3, 2}));
  // Rank of the view differs.
  Future<Status> rank = a->ReadAsync(box, StridedView<uint32_t>(buf.data(), {6}, {1}));
  // A read view that maps two elements to one address.
  Future<Status> overlap = a->ReadAsync(box, StridedView<uint32_t>(buf.data(), {2, 3}, {1, 1}));
  // A dense span of the wrong size.
  Future<Status> dense = a->WriteAsync(box, std::span<uint32_t>(buf.data(), 5));
  // An element size that is neither the data type's nor a memory type's.
  MutableElementView odd{reinterpret_cast<uint8_t*>(buf.data()), 3, {2, 3}, {3, 1}};
  Future<Status> element_size = a->ReadAsync(box, odd);
  // The queue goes on after errors.
  Future<Status> good = a->WriteAsync(box, StridedView<uint32_t>::COrder(buf.data(), {2, 3}));
  for (Future<Status>* f : {&oob, &extents, &rank, &overlap, &dense, &element_size}) {
    EXPECT_TRUE(f->wait().IsInvalidArgument()) << f->wait();
  }
  EXPECT_NE(oob.wait().message().find("dimension 0"), std::string::npos) << oob.wait();
  ASSERT_TRUE(good.wait().ok()) << good.wait();
  const std::vector<uint32_t> all = ReadAll(*a);
  EXPECT_EQ(all[0], 9u);
  EXPECT_EQ(all[12], 9u);
  EXPECT_EQ(all[13], 0u);
}

TEST(ArrayAsyncSelection, CancelDropsQueuedSelectionCalls) {
  auto a = MakeAsyncTestArray(MemoryStore::Create(), {8, 8}, {4, 4});
  ASSERT_NE(a, nullptr);
  const std::vector<uint32_t> ones(64, 1);
  std::vector<uint32_t> twos(64, 2), out(64, kUntouched);
  WorkerBlock block;
  Future<Status> first = block.Hold(
      [&] { return a->WriteAsync(Region::All(a->shape()), std::span<const uint32_t>(ones)); });
  block.WaitEntered();
  const Hyperslab slab{{0, 0}, {2, 2}, {4, 4}, {1, 1}};
  Future<Status> write = a->WriteAsync(slab, StridedView<uint32_t>::COrder(twos.data(), {4, 4}));
  Future<Status> read = a->ReadAsync(slab, StridedView<uint32_t>::COrder(out.data(), {4, 4}));
  EXPECT_TRUE(write.cancel());
  EXPECT_TRUE(read.cancel());
  EXPECT_TRUE(write.ready());
  EXPECT_NE(write.wait().message().find("cancelled before it started"), std::string::npos)
      << write.wait();
  EXPECT_TRUE(read.wait().IsFailedPrecondition()) << read.wait();
  block.Release();
  ASSERT_TRUE(first.wait().ok()) << first.wait();
  EXPECT_EQ(ReadAll(*a), ones);                           // the write never ran
  EXPECT_EQ(out, std::vector<uint32_t>(64, kUntouched));  // nor the read
}

TEST(ArrayAsyncSelection, CancelStopsARunningSelectionWrite) {
  // One chunk per row: a write of many rows goes in slabs, cancellation checked before each.
  auto a = MakeAsyncTestArray(MemoryStore::Create(), {256, 4}, {1, 4});
  ASSERT_NE(a, nullptr);
  std::vector<uint32_t> values(256 * 4);
  for (uint64_t r = 0; r < 256; ++r) {
    for (uint64_t c = 0; c < 4; ++c) values[r * 4 + c] = Value(1, r, c, 4);
  }
  FirstCheckGate gate;
  WriteOptions options;
  options.cancel = gate.hook();
  Future<Status> f = a->WriteAsync(Hyperslab::Of(Region::All(a->shape())),
                                   StridedView<uint32_t>::COrder(values.data(), {256, 4}), options);
  gate.WaitStarted();
  EXPECT_FALSE(f.cancel());  // running: asked to stop
  gate.Release();
  const Status s = f.wait();
  ASSERT_TRUE(s.IsFailedPrecondition()) << s;
  EXPECT_NE(s.message().find("cancelled while running"), std::string::npos) << s;
  const std::vector<uint32_t> got = ReadAll(*a);
  EXPECT_EQ(got[0], Value(1, 0, 0, 4));
  EXPECT_EQ(got[255 * 4 + 3], 0u);  // the last slab was never written
}

// A store whose chunk reads and writes fail once `fail` is set (zarr.json still works).
class FailingChunkStore : public Store {
 public:
  std::atomic<bool> fail{false};
  StoreCapabilities capabilities() const override {
    StoreCapabilities c = inner_->capabilities();
    c.conditional_writes = false;
    c.generations = false;
    c.set_range = false;
    c.key_locks = false;
    return c;
  }
  Result<bool> get_into(std::string_view key, ByteRange range, Bytes& out) override {
    if (fail && IsChunk(key)) return Status::IOError("refused reading '" + std::string(key) + "'");
    return inner_->get_into(key, range, out);
  }
  Status set(std::string_view key, ByteView value) override {
    if (fail && IsChunk(key)) return Status::IOError("refused writing '" + std::string(key) + "'");
    return inner_->set(key, value);
  }
  Status erase(std::string_view key) override { return inner_->erase(key); }
  Status erase_prefix(std::string_view prefix) override { return inner_->erase_prefix(prefix); }
  Result<std::vector<std::string>> list_prefix(std::string_view prefix) override {
    return inner_->list_prefix(prefix);
  }
  Result<DirListing> list_dir(std::string_view prefix) override { return inner_->list_dir(prefix); }
  Result<std::optional<uint64_t>> size(std::string_view key) override { return inner_->size(key); }
  std::string description() const override { return "chunk-failing store"; }

 private:
  static bool IsChunk(std::string_view key) { return key.find("/c/") != std::string_view::npos; }
  std::shared_ptr<MemoryStore> inner_ = MemoryStore::Create();
};

TEST(ArrayAsyncSelection, AFailingStoreFailsTheFuture) {
  auto store = std::make_shared<FailingChunkStore>();
  auto a = MakeAsyncTestArray(store, {8, 8}, {4, 4});
  ASSERT_NE(a, nullptr);
  std::vector<uint32_t> buf(16, 3);
  const Hyperslab slab{{1, 1}, {2, 2}, {4, 4}, {1, 1}};
  const Status first =
      a->WriteAsync(slab, StridedView<uint32_t>::COrder(buf.data(), {4, 4})).wait();
  ASSERT_TRUE(first.ok()) << first;
  store->fail = true;
  Future<Status> w = a->WriteAsync(slab, StridedView<uint32_t>::COrder(buf.data(), {4, 4}));
  Future<Status> r = a->ReadAsync(slab, StridedView<uint32_t>::COrder(buf.data(), {4, 4}));
  EXPECT_TRUE(w.wait().IsIOError()) << w.wait();
  EXPECT_TRUE(r.wait().IsIOError()) << r.wait();
  EXPECT_NE(w.wait().message().find("'a/c/"), std::string::npos) << w.wait();
  store->fail = false;
  std::vector<uint32_t> out(16, kUntouched);
  ASSERT_TRUE(a->ReadAsync(slab, StridedView<uint32_t>::COrder(out.data(), {4, 4})).wait().ok());
  EXPECT_EQ(out, std::vector<uint32_t>(16, 3));
}

TEST(ArrayAsyncSelection, ThreadsOnDisjointSelectionsOfOneHandle) {
  // Four threads, each owning the rows r with r % 4 == t (a strided hyperslab crossing every
  // chunk), write their rows in Fortran order, read them back into a padded view, and repeat
  // with a new version: reads see each thread's own latest write.
  constexpr uint64_t kRows = 32, kCols = 24, kThreads = 4, kRounds = 6;
  auto a = MakeAsyncTestArray(MemoryStore::Create(), {kRows, kCols}, {8, 6});
  ASSERT_NE(a, nullptr);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (uint64_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const Hyperslab mine{{t, 0}, {kThreads, 1}, {kRows / kThreads, 1}, {1, kCols}};
      const std::vector<uint64_t> shape = mine.shape();
      for (uint32_t round = 1; round <= kRounds; ++round) {
        std::vector<uint32_t> src(shape[0] * shape[1]);
        for (uint64_t i = 0; i < shape[0]; ++i) {
          for (uint64_t j = 0; j < shape[1]; ++j) {
            src[j * shape[0] + i] = Value(round, t + kThreads * i, j, kCols);
          }
        }
        Future<Status> w =
            a->WriteAsync(mine, StridedView<uint32_t>::FortranOrder(src.data(), shape));
        std::vector<uint32_t> dst(shape[0] * (kCols + 2), kUntouched);
        Future<Status> r =
            a->ReadAsync(mine, StridedView<uint32_t>(dst.data(), shape, {kCols + 2, 1}));
        if (!w.wait().ok() || !r.wait().ok()) {
          ++failures;
          continue;
        }
        for (uint64_t i = 0; i < shape[0]; ++i) {
          for (uint64_t j = 0; j < kCols + 2; ++j) {
            const uint32_t want = j < kCols ? Value(round, t + kThreads * i, j, kCols) : kUntouched;
            if (dst[i * (kCols + 2) + j] != want) ++failures;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  const std::vector<uint32_t> all = ReadAll(*a);
  for (uint64_t r = 0; r < kRows; ++r) {
    for (uint64_t c = 0; c < kCols; ++c) {
      ASSERT_EQ(all[r * kCols + c], Value(kRounds, r, c, kCols)) << r << ", " << c;
    }
  }
}

}  // namespace
}  // namespace zarrpp
