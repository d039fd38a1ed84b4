// Hyperslab selections and strided views of caller memory (spec/selections.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "zarrpp/array.h"
#include "zarrpp/chunk_cache.h"
#include "zarrpp/codecs.h"
#include "zarrpp/hyperslab.h"
#include "zarrpp/json.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/strided_view.h"

namespace zarrpp {
namespace {

constexpr int32_t kSentinel = -7777777;

// An int32 array of `shape` whose element at C-order index i holds i + 1 (0 is the fill value).
struct Fixture {
  std::shared_ptr<MemoryStore> store = MemoryStore::Create();
  std::shared_ptr<Array> array;
  std::vector<int32_t> reference;  // C order, what the array holds

  Fixture(std::vector<uint64_t> shape, std::vector<uint64_t> chunks, bool sharded = false,
          std::vector<uint64_t> inner = {}, bool fill_it = true) {
    ArrayMetadata m;
    m.shape = shape;
    m.chunk_shape = chunks;
    m.data_type = DataType(DataTypeId::kInt32);
    if (sharded) m.codecs = Codecs::Sharding(inner, Codecs::Bytes().Zstd(1));
    auto a = Array::Create(store, "a", m);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    array = *a;
    uint64_t n = 1;
    for (uint64_t s : shape) n *= s;
    reference.assign(n, 0);
    if (fill_it) {
      std::iota(reference.begin(), reference.end(), 1);
      EXPECT_TRUE(array->Write(Region::All(shape), std::span<const int32_t>(reference)).ok());
    }
  }
  uint64_t Offset(const std::vector<uint64_t>& idx) const {
    uint64_t off = 0;
    for (size_t d = 0; d < idx.size(); ++d) off = off * array->shape()[d] + idx[d];
    return off;
  }
};

// Calls f(selection index, array index) for every element of `h`, in row-major selection order.
template <typename F>
void ForEachSelected(const Hyperslab& h, F f) {
  const size_t r = h.rank();
  const std::vector<uint64_t> shape = h.shape();
  uint64_t n = 1;
  for (uint64_t s : shape) n *= s;
  std::vector<uint64_t> sel(r), arr(r);
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t rest = i;
    for (size_t d = r; d-- > 0;) {
      sel[d] = rest % shape[d];
      rest /= shape[d];
      const uint64_t b = h.block_at(d);
      arr[d] = h.start[d] + (sel[d] / b) * h.stride_at(d) + sel[d] % b;
    }
    f(sel, arr);
  }
}

// A random strided layout for `extents`: dimensions in a random order, each padded, inside a
// buffer with a random lead-in; every other element of the buffer holds kSentinel.
struct Layout {
  std::vector<int32_t> buffer;
  size_t lead = 0;
  std::vector<uint64_t> strides;
  std::vector<uint64_t> extents;

  Layout(const std::vector<uint64_t>& ext, std::mt19937_64& rng) : extents(ext) {
    const size_t r = ext.size();
    std::vector<size_t> order(r);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);  // order[0] varies fastest
    strides.assign(r, 0);
    uint64_t s = 1 + rng() % 2;  // sometimes every other element
    for (size_t k = 0; k < r; ++k) {
      strides[order[k]] = s;
      s *= ext[order[k]] + rng() % 3;
    }
    lead = rng() % 5;
    buffer.assign(lead + s + 4, kSentinel);
  }
  StridedView<int32_t> view() {
    return StridedView<int32_t>(buffer.data() + lead, extents, strides);
  }
  int32_t& at(const std::vector<uint64_t>& idx) {
    uint64_t off = lead;
    for (size_t d = 0; d < idx.size(); ++d) off += idx[d] * strides[d];
    return buffer[off];
  }
  // Buffer positions the view covers.
  std::vector<bool> Covered() const {
    std::vector<bool> c(buffer.size(), false);
    uint64_t n = 1;
    for (uint64_t e : extents) n *= e;
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t rest = i, off = lead;
      for (size_t d = extents.size(); d-- > 0;) {
        off += (rest % extents[d]) * strides[d];
        rest /= extents[d];
      }
      c[off] = true;
    }
    return c;
  }
};

Hyperslab RandomSlab(const std::vector<uint64_t>& shape, std::mt19937_64& rng) {
  Hyperslab h;
  for (uint64_t ext : shape) {
    const uint64_t block = 1 + rng() % std::min<uint64_t>(4, ext);
    const uint64_t stride = block + rng() % 5;
    const uint64_t start = rng() % (ext - block + 1);
    const uint64_t max_count = (ext - start - block) / stride + 1;
    const uint64_t count = rng() % 16 == 0 ? 0 : 1 + rng() % max_count;
    h.start.push_back(start);
    h.stride.push_back(stride);
    h.count.push_back(count);
    h.block.push_back(block);
  }
  return h;
}

TEST(StridedView, FactoriesAndSlice) {
  std::vector<int> buf(24);
  std::iota(buf.begin(), buf.end(), 0);
  auto c = StridedView<int>::COrder(buf.data(), {2, 3, 4});
  EXPECT_EQ(c.strides(), (std::vector<uint64_t>{12, 4, 1}));
  auto f = StridedView<int>::FortranOrder(buf.data(), {2, 3, 4});
  EXPECT_EQ(f.strides(), (std::vector<uint64_t>{1, 2, 6}));
  const std::vector<uint64_t> idx = {1, 2, 3};
  EXPECT_EQ(c[idx], 23);
  EXPECT_EQ(f[idx], 1 + 4 + 18);
  auto s = c.Slice(Region{{1, 1, 2}, {1, 2, 2}});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->data(), buf.data() + 12 + 4 + 2);
  EXPECT_EQ(s->extents(), (std::vector<uint64_t>{1, 2, 2}));
  EXPECT_EQ(s->strides(), c.strides());
  EXPECT_TRUE(c.Slice(Region{{1, 1, 3}, {1, 2, 2}}).status().IsInvalidArgument());
  EXPECT_TRUE(c.Slice(Region{{0, 0}, {1, 1}}).status().IsInvalidArgument());
  StridedView<const int> k = c;  // const view of the same memory
  EXPECT_EQ(k.data(), c.data());
}

TEST(StridedView, FromStdMdspan) {
#if defined(__cpp_lib_mdspan)
  std::vector<int32_t> buf(12);
  std::mdspan<int32_t, std::dextents<size_t, 2>, std::layout_left> m(buf.data(), 3, 4);
  StridedView<int32_t> v = m;
  EXPECT_EQ(v.extents(), (std::vector<uint64_t>{3, 4}));
  EXPECT_EQ(v.strides(), (std::vector<uint64_t>{1, 3}));
#else
  GTEST_SKIP() << "the standard library has no std::mdspan (__cpp_lib_mdspan undefined)";
#endif
}

TEST(StridedRead, FortranOrderEqualsTransposedCRead) {
  Fixture fx({7, 9, 5}, {3, 4, 2});
  std::vector<int32_t> f(7 * 9 * 5, kSentinel);
  ASSERT_TRUE(fx.array
                  ->Read(Region{{0, 0, 0}, {7, 9, 5}},
                         StridedView<int32_t>::FortranOrder(f.data(), {7, 9, 5}))
                  .ok());
  for (uint64_t i = 0; i < 7; ++i) {
    for (uint64_t j = 0; j < 9; ++j) {
      for (uint64_t k = 0; k < 5; ++k) {
        ASSERT_EQ(f[i + 7 * (j + 9 * k)], fx.reference[(i * 9 + j) * 5 + k]);
      }
    }
  }
}

// A MemoryStore lends chunks in place to strided reads (StoreCapabilities::memory_readers): a
// reader (its own handle) racing a writer that replaces every chunk, uncompressed and with zstd,
// sees each chunk whole from one write: every element of a chunk's part of the Fortran-order view
// is that write's version times 1e6 plus the element's position, and versions never go back.
TEST(StridedRead, ChunksReadInPlaceAreWholeWhileAWriterReplacesThem) {
  for (bool zstd : {false, true}) {
    auto store = MemoryStore::Create();
    ASSERT_TRUE(store->capabilities().memory_readers);
    ArrayMetadata m;
    m.shape = {64, 48};
    m.chunk_shape = {16, 16};
    m.data_type = DataType(DataTypeId::kInt32);
    if (zstd) m.codecs = Codecs::Bytes().Zstd(1);
    auto created = Array::Create(store, "a", m);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    std::shared_ptr<Array> a = *created;
    const uint64_t n = 64 * 48;
    auto version = [&](int32_t v) {
      std::vector<int32_t> data(n);
      for (uint64_t i = 0; i < n; ++i) data[i] = v * 1000000 + static_cast<int32_t>(i);
      return data;
    };
    ASSERT_TRUE(a->Write(Region::All(m.shape), std::span<const int32_t>(version(0))).ok());
    constexpr int32_t kVersions = 200;
    std::atomic<bool> done{false};
    std::atomic<int> write_failures{0};
    std::thread writer([&] {
      for (int32_t v = 1; v <= kVersions; ++v) {
        if (!a->Write(Region::All(m.shape), std::span<const int32_t>(version(v))).ok()) {
          ++write_failures;
        }
      }
      done = true;
    });
    // The reader has a handle of its own on the same store.
    auto opened = Array::Open(store, "a");
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    std::shared_ptr<Array> reader = *opened;
    std::vector<int32_t> seen(4 * 3, 0);  // the last version seen per chunk
    int reads = 0;
    while (!done.load() || reads < 3) {
      std::vector<int32_t> f(n, kSentinel);
      ASSERT_TRUE(
          reader->Read(Region::All(m.shape), StridedView<int32_t>::FortranOrder(f.data(), {64, 48}))
              .ok());
      ++reads;
      for (uint64_t cy = 0; cy < 4; ++cy) {
        for (uint64_t cx = 0; cx < 3; ++cx) {
          const int32_t v = f[(cx * 16) * 64 + cy * 16] / 1000000;
          ASSERT_GE(v, seen[cy * 3 + cx]) << "chunk " << cy << "," << cx << " went back";
          seen[cy * 3 + cx] = v;
          for (uint64_t y = cy * 16; y < cy * 16 + 16; ++y) {
            for (uint64_t x = cx * 16; x < cx * 16 + 16; ++x) {
              ASSERT_EQ(f[x * 64 + y], v * 1000000 + static_cast<int32_t>(y * 48 + x))
                  << "chunk " << cy << "," << cx << " element " << y << "," << x << " zstd "
                  << zstd;
            }
          }
        }
      }
    }
    writer.join();
    EXPECT_EQ(write_failures.load(), 0);
    std::vector<int32_t> last(n);
    ASSERT_TRUE(
        a->Read(Region::All(m.shape), StridedView<int32_t>::FortranOrder(last.data(), {64, 48}))
            .ok());
    EXPECT_EQ(last[0], kVersions * 1000000);
  }
}

TEST(StridedRead, ColumnOfAMatrix) {
  Fixture fx({20, 6}, {7, 4});
  // A 20 x 10 matrix of the caller; column 3 receives array column 4.
  std::vector<int32_t> matrix(20 * 10, kSentinel);
  StridedView<int32_t> column(matrix.data() + 3, {20, 1}, {10, 1});
  ASSERT_TRUE(fx.array->Read(Region{{0, 4}, {20, 1}}, column).ok());
  for (uint64_t r = 0; r < 20; ++r) {
    for (uint64_t c = 0; c < 10; ++c) {
      const int32_t want = c == 3 ? fx.reference[r * 6 + 4] : kSentinel;
      ASSERT_EQ(matrix[r * 10 + c], want) << r << "," << c;
    }
  }
  // And written back from a column into array column 0.
  ASSERT_TRUE(fx.array->Write(Region{{0, 0}, {20, 1}}, StridedView<const int32_t>(column)).ok());
  std::vector<int32_t> all(20 * 6);
  ASSERT_TRUE(fx.array->Read(Region::All({20, 6}), std::span<int32_t>(all)).ok());
  for (uint64_t r = 0; r < 20; ++r) {
    EXPECT_EQ(all[r * 6 + 0], fx.reference[r * 6 + 4]);
    EXPECT_EQ(all[r * 6 + 1], fx.reference[r * 6 + 1]);
  }
}

TEST(StridedRead, SliceOfALargerBufferLeavesTheRestUntouched) {
  Fixture fx({11, 13}, {4, 5});
  std::vector<int32_t> big(30 * 40, kSentinel);
  auto whole = StridedView<int32_t>::COrder(big.data(), {30, 40});
  auto part = whole.Slice(Region{{5, 7}, {6, 9}});
  ASSERT_TRUE(part.ok());
  ASSERT_TRUE(fx.array->Read(Region{{3, 2}, {6, 9}}, *part).ok());
  for (uint64_t r = 0; r < 30; ++r) {
    for (uint64_t c = 0; c < 40; ++c) {
      const bool inside = r >= 5 && r < 11 && c >= 7 && c < 16;
      const int32_t want = inside ? fx.reference[(r - 5 + 3) * 13 + (c - 7 + 2)] : kSentinel;
      ASSERT_EQ(big[r * 40 + c], want) << r << "," << c;
    }
  }
}

TEST(StridedRead, DenseCOrderViewMatchesPlainRead) {
  Fixture fx({9, 8}, {4, 3});
  std::vector<int32_t> a(5 * 6), b(5 * 6);
  const Region r{{2, 1}, {5, 6}};
  ASSERT_TRUE(fx.array->Read(r, std::span<int32_t>(a)).ok());
  ASSERT_TRUE(fx.array->Read(r, StridedView<int32_t>::COrder(b.data(), {5, 6})).ok());
  EXPECT_EQ(a, b);
}

// Hyperslab reads into random strided views against a brute-force reference, over many shapes,
// chunkings (edge chunks included), both pipelines, sharded and not.
void RandomReads(bool sharded, PipelineKind pipeline) {
  for (uint64_t seed = 0; seed < 60; ++seed) {
    std::mt19937_64 rng(seed * 7919 + (sharded ? 1 : 0));
    const size_t rank = 1 + rng() % 3;
    std::vector<uint64_t> shape, chunks, inner;
    for (size_t d = 0; d < rank; ++d) {
      shape.push_back(1 + rng() % 19);
      const uint64_t in = 1 + rng() % 3;
      inner.push_back(in);
      chunks.push_back(sharded ? in * (1 + rng() % 3) : 1 + rng() % 7);
    }
    Fixture fx(shape, chunks, sharded, inner);
    for (int trial = 0; trial < 8; ++trial) {
      const Hyperslab h = RandomSlab(shape, rng);
      Layout out(h.shape(), rng);
      ReadOptions ro;
      ro.pipeline = pipeline;
      const Status st = fx.array->Read(h, out.view(), ro);
      ASSERT_TRUE(st.ok()) << st.ToString() << " " << h.ToString();
      std::vector<bool> seen = out.Covered();
      ForEachSelected(h, [&](const std::vector<uint64_t>& sel, const std::vector<uint64_t>& arr) {
        ASSERT_EQ(out.at(sel), fx.reference[fx.Offset(arr)])
            << "seed " << seed << " " << h.ToString();
      });
      for (size_t i = 0; i < out.buffer.size(); ++i) {
        if (!seen[i]) {
          ASSERT_EQ(out.buffer[i], kSentinel) << "seed " << seed << " position " << i;
        }
      }
      // The dense C-order form agrees.
      std::vector<int32_t> dense(h.shape().empty() ? 1 : 0);
      uint64_t n = 1;
      for (uint64_t s : h.shape()) n *= s;
      dense.assign(n, kSentinel);
      ASSERT_TRUE(fx.array->Read(h, std::span<int32_t>(dense)).ok());
      uint64_t i = 0;
      ForEachSelected(h, [&](const std::vector<uint64_t>&, const std::vector<uint64_t>& arr) {
        ASSERT_EQ(dense[i++], fx.reference[fx.Offset(arr)]);
      });
    }
  }
}

TEST(Hyperslab, RandomReadsMatchBruteForce) {
  RandomReads(false, PipelineKind::kFused);
}
TEST(Hyperslab, RandomReadsMatchBruteForceBatched) {
  RandomReads(false, PipelineKind::kBatched);
}
TEST(Hyperslab, RandomReadsMatchBruteForceSharded) {
  RandomReads(true, PipelineKind::kFused);
}

// Hyperslab writes from random strided sources, then reads of the whole array, against a
// reference model: unselected elements keep their values.
void RandomWrites(bool sharded) {
  for (uint64_t seed = 0; seed < 40; ++seed) {
    std::mt19937_64 rng(seed * 104729 + (sharded ? 5 : 0));
    const size_t rank = 1 + rng() % 3;
    std::vector<uint64_t> shape, chunks, inner;
    for (size_t d = 0; d < rank; ++d) {
      shape.push_back(1 + rng() % 15);
      const uint64_t in = 1 + rng() % 3;
      inner.push_back(in);
      chunks.push_back(sharded ? in * (1 + rng() % 3) : 1 + rng() % 6);
    }
    Fixture fx(shape, chunks, sharded, inner);
    for (int trial = 0; trial < 6; ++trial) {
      const Hyperslab h = RandomSlab(shape, rng);
      Layout in(h.shape(), rng);
      int32_t next = static_cast<int32_t>(1000000 * (trial + 1));
      ForEachSelected(h, [&](const std::vector<uint64_t>& sel, const std::vector<uint64_t>& arr) {
        in.at(sel) = next;
        fx.reference[fx.Offset(arr)] = next;
        ++next;
      });
      WriteOptions wo;
      wo.pipeline = trial % 2 ? PipelineKind::kBatched : PipelineKind::kFused;
      const Status st = fx.array->Write(h, StridedView<const int32_t>(in.view()), wo);
      ASSERT_TRUE(st.ok()) << st.ToString() << " " << h.ToString();
      std::vector<int32_t> all(fx.reference.size());
      ASSERT_TRUE(fx.array->Read(Region::All(shape), std::span<int32_t>(all)).ok());
      ASSERT_EQ(all, fx.reference) << "seed " << seed << " trial " << trial << " " << h.ToString();
    }
  }
}

TEST(Hyperslab, RandomWritesThenReads) {
  RandomWrites(false);
}
TEST(Hyperslab, RandomWritesThenReadsSharded) {
  RandomWrites(true);
}

TEST(Hyperslab, LargeShardsAreSplitIntoCellsOfInnerChunks) {
  // 18 MiB shards of 256 x 256 inner chunks: tasks take cells of whole inner chunks, not shards.
  Fixture fx({2048, 2304}, {2048, 2304}, /*sharded=*/true, {256, 256});
  const Hyperslab h{{900, 5}, {3, 7}, {100, 300}, {2, 3}};  // rows 900..1197 cross row 1024
  std::vector<int32_t> out(200 * 900, kSentinel);
  ASSERT_TRUE(fx.array->Read(h, StridedView<int32_t>::FortranOrder(out.data(), {200, 900})).ok());
  ForEachSelected(h, [&](const std::vector<uint64_t>& sel, const std::vector<uint64_t>& arr) {
    ASSERT_EQ(out[sel[0] + 200 * sel[1]], fx.reference[fx.Offset(arr)]);
  });
  // A box across the cell boundary (row 1024) from a Fortran-order source: one write per cell.
  const Hyperslab box = Hyperslab::Of(Region{{1000, 100}, {50, 600}});
  std::vector<int32_t> in(50 * 600);
  for (size_t i = 0; i < in.size(); ++i) in[i] = -static_cast<int32_t>(i);
  ASSERT_TRUE(
      fx.array->Write(box, StridedView<const int32_t>::FortranOrder(in.data(), {50, 600})).ok());
  ForEachSelected(box, [&](const std::vector<uint64_t>& sel, const std::vector<uint64_t>& arr) {
    fx.reference[fx.Offset(arr)] = in[sel[0] + 50 * sel[1]];
  });
  std::vector<int32_t> all(fx.reference.size());
  ASSERT_TRUE(fx.array->Read(Region::All({2048, 2304}), std::span<int32_t>(all)).ok());
  EXPECT_TRUE(all == fx.reference);
}

TEST(Hyperslab, HdfFiveSemantics) {
  Fixture fx({10, 12}, {4, 5});
  // Rows 1, 4, 7 (count 3, stride 3); columns 2-3 and 7-8 (count 2, stride 5, block 2).
  Hyperslab h{{1, 2}, {3, 5}, {3, 2}, {1, 2}};
  EXPECT_EQ(h.shape(), (std::vector<uint64_t>{3, 4}));
  std::vector<int32_t> out(12);
  ASSERT_TRUE(fx.array->Read(h, std::span<int32_t>(out)).ok());
  const uint64_t rows[] = {1, 4, 7};
  const uint64_t cols[] = {2, 3, 7, 8};
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 4; ++j) EXPECT_EQ(out[i * 4 + j], fx.reference[rows[i] * 12 + cols[j]]);
  }
  // Empty stride and block mean 1s.
  Hyperslab unit{{0, 0}, {}, {2, 3}, {}};
  std::vector<int32_t> u(6);
  ASSERT_TRUE(fx.array->Read(unit, std::span<int32_t>(u)).ok());
  EXPECT_EQ(u[5], fx.reference[1 * 12 + 2]);
}

TEST(Hyperslab, RankZeroArray) {
  Fixture fx({}, {});
  int32_t v = 0;
  ASSERT_TRUE(fx.array->Read(Hyperslab{}, StridedView<int32_t>(&v, {}, {})).ok());
  EXPECT_EQ(v, 1);
  const int32_t w = 42;
  ASSERT_TRUE(fx.array->Write(Hyperslab{}, StridedView<const int32_t>(&w, {}, {})).ok());
  ASSERT_TRUE(fx.array->Read(Hyperslab{}, StridedView<int32_t>(&v, {}, {})).ok());
  EXPECT_EQ(v, 42);
}

TEST(Hyperslab, BroadcastSourceWithZeroStride) {
  Fixture fx({6, 8}, {4, 4});
  const std::vector<int32_t> row = {9, 8, 7};
  // The same 3 values in every selected row.
  ASSERT_TRUE(fx.array
                  ->Write(Hyperslab{{0, 1}, {2, 2}, {3, 3}, {1, 1}},
                          StridedView<const int32_t>(row.data(), {3, 3}, {0, 1}))
                  .ok());
  std::vector<int32_t> all(48);
  ASSERT_TRUE(fx.array->Read(Region::All({6, 8}), std::span<int32_t>(all)).ok());
  for (uint64_t r = 0; r < 6; ++r) {
    for (uint64_t c = 0; c < 8; ++c) {
      int32_t want = fx.reference[r * 8 + c];
      if (r % 2 == 0 && c % 2 == 1 && c < 6) want = row[c / 2];
      EXPECT_EQ(all[r * 8 + c], want) << r << "," << c;
    }
  }
}

TEST(Hyperslab, SparseStridesSkipChunksWithoutSelectedElements) {
  Fixture fx({16, 16}, {4, 4});
  // Corrupt chunk (0, 1), which a selection of columns 0 and 8 never touches.
  ASSERT_TRUE(fx.store->set(fx.array->ChunkKey({0, 1}), ByteView()).ok());
  std::vector<int32_t> out(16 * 2);
  ASSERT_TRUE(
      fx.array->Read(Hyperslab{{0, 0}, {1, 8}, {16, 2}, {1, 1}}, std::span<int32_t>(out)).ok());
  EXPECT_EQ(out[3], fx.reference[1 * 16 + 8]);
  // A selection that does touch it reports the corruption.
  std::vector<int32_t> bad(16 * 2);
  EXPECT_FALSE(
      fx.array->Read(Hyperslab{{0, 5}, {1, 8}, {16, 2}, {1, 1}}, std::span<int32_t>(bad)).ok());
}

TEST(Hyperslab, ZeroCountIsANoOp) {
  Fixture fx({5, 5}, {2, 2});
  int32_t dummy = kSentinel;
  StridedView<int32_t> empty(&dummy, {0, 3}, {3, 1});
  EXPECT_TRUE(fx.array->Read(Hyperslab{{0, 0}, {1, 1}, {0, 3}, {1, 1}}, empty).ok());
  EXPECT_TRUE(
      fx.array->Write(Hyperslab{{0, 0}, {1, 1}, {0, 3}, {1, 1}}, StridedView<const int32_t>(empty))
          .ok());
  EXPECT_EQ(dummy, kSentinel);
  // Rules are still checked.
  EXPECT_TRUE(fx.array->Read(Hyperslab{{0, 0}, {0, 1}, {0, 3}, {1, 1}}, empty).IsInvalidArgument());
}

TEST(Hyperslab, Errors) {
  Fixture fx({10, 10}, {4, 4});
  std::vector<int32_t> buf(100);
  auto view = [&](std::vector<uint64_t> e) { return StridedView<int32_t>::COrder(buf.data(), e); };
  auto expect_invalid = [&](const Status& s, const std::string& needle) {
    EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
    EXPECT_NE(s.message().find(needle), std::string::npos) << s.ToString();
  };
  // Rank.
  expect_invalid(fx.array->Read(Hyperslab{{0}, {1}, {2}, {1}}, view({2})), "rank 2");
  // Stride 0; stride < block; out of bounds; count * block overflow.
  expect_invalid(fx.array->Read(Hyperslab{{0, 0}, {0, 1}, {2, 2}, {1, 1}}, view({2, 2})),
                 "dimension 0: stride is 0");
  expect_invalid(fx.array->Read(Hyperslab{{0, 0}, {1, 2}, {2, 2}, {1, 3}}, view({2, 6})),
                 "dimension 1: stride 2 is less than block 3");
  expect_invalid(fx.array->Read(Hyperslab{{0, 5}, {1, 3}, {2, 2}, {1, 3}}, view({2, 6})),
                 "dimension 1");
  expect_invalid(
      fx.array->Read(Hyperslab{{0, 0}, {1, 1ull << 40}, {1, 1ull << 40}, {1, 1ull << 40}},
                     view({1, 1})),
      "overflows");
  expect_invalid(fx.array->Read(Hyperslab{{0, 9}, {1, ~0ull}, {1, 2}, {1, 1}}, view({1, 2})),
                 "beyond 2^64");
  // View extents, element size.
  expect_invalid(fx.array->Read(Hyperslab{{0, 0}, {1, 1}, {2, 3}, {1, 1}}, view({3, 2})),
                 "dimension 0: view extent 3");
  std::vector<int64_t> wide(6);
  MutableElementView untyped{reinterpret_cast<uint8_t*>(wide.data()), 8, {2, 3}, {3, 1}};
  expect_invalid(fx.array->Read(Region{{0, 0}, {2, 3}}, untyped), "8-byte elements");
  // Overlapping destination: stride 0, interleaved rows.
  expect_invalid(
      fx.array->Read(Region{{0, 0}, {2, 3}}, StridedView<int32_t>(buf.data(), {2, 3}, {0, 1})),
      "stride 0");
  expect_invalid(
      fx.array->Read(Region{{0, 0}, {2, 3}}, StridedView<int32_t>(buf.data(), {2, 3}, {2, 1})),
      "overlap");
  // ... which a write may read from.
  EXPECT_TRUE(
      fx.array
          ->Write(Region{{0, 0}, {2, 3}}, StridedView<const int32_t>(buf.data(), {2, 3}, {2, 1}))
          .ok());
  // Span beyond the address space; null memory.
  expect_invalid(fx.array->Read(Region{{0, 0}, {2, 3}},
                                StridedView<int32_t>(buf.data(), {2, 3}, {1ull << 62, 1})),
                 "address space");
  expect_invalid(
      fx.array->Read(Region{{0, 0}, {2, 3}}, StridedView<int32_t>(nullptr, {2, 3}, {3, 1})),
      "null memory");
  // A dense buffer of the wrong size.
  std::vector<int32_t> five(5);
  expect_invalid(
      fx.array->Read(Hyperslab{{0, 0}, {1, 1}, {2, 3}, {1, 1}}, std::span<int32_t>(five)), "view");
}

TEST(Hyperslab, VariableSizeTypeIsFailedPrecondition) {
  auto store = MemoryStore::Create();
  ArrayMetadata m;
  m.shape = {4};
  m.chunk_shape = {2};
  m.data_type = DataType(DataTypeId::kString);
  auto a = Array::Create(store, "s", m);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  std::vector<uint8_t> buf(16);
  MutableElementView v{buf.data(), 8, {2}, {1}};
  EXPECT_TRUE((*a)->Read(Region{{0}, {2}}, v).IsFailedPrecondition());
}

TEST(Hyperslab, ConvertingReadAndWrite) {
  Fixture fx({8, 8}, {3, 3});
  // int32 array into a Fortran-order double view.
  std::vector<double> d(4 * 3, -1);
  Hyperslab h{{1, 0}, {2, 3}, {4, 3}, {1, 1}};
  ASSERT_TRUE(fx.array->Read(h, StridedView<double>::FortranOrder(d.data(), {4, 3})).ok());
  for (uint64_t i = 0; i < 4; ++i) {
    for (uint64_t j = 0; j < 3; ++j) {
      EXPECT_EQ(d[i + 4 * j], fx.reference[(1 + 2 * i) * 8 + 3 * j]);
    }
  }
  // A narrowing read fails naming the element; an exact one is refused without kAllowNarrowing.
  std::vector<int8_t> small(12);
  EXPECT_TRUE(
      fx.array->Read(h, StridedView<int8_t>::COrder(small.data(), {4, 3})).IsInvalidArgument());
  ReadOptions narrow;
  narrow.convert = Conversion::kAllowNarrowing;
  ASSERT_TRUE(fx.array->Read(h, StridedView<int8_t>::COrder(small.data(), {4, 3}), narrow).ok());
  EXPECT_EQ(small[11], fx.reference[7 * 8 + 6]);
  // A narrowing write checks every element before any I/O.
  std::vector<double> src(12, 5.0);
  src[7] = 1e20;
  WriteOptions wn;
  wn.convert = Conversion::kAllowNarrowing;
  const Status st = fx.array->Write(h, StridedView<const double>::COrder(src.data(), {4, 3}), wn);
  EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();
  EXPECT_NE(st.message().find("element 7"), std::string::npos) << st.ToString();
  std::vector<int32_t> all(64);
  ASSERT_TRUE(fx.array->Read(Region::All({8, 8}), std::span<int32_t>(all)).ok());
  EXPECT_EQ(all, fx.reference);
  src[7] = 6.0;
  ASSERT_TRUE(
      fx.array->Write(h, StridedView<const double>::FortranOrder(src.data(), {4, 3}), wn).ok());
  ASSERT_TRUE(fx.array->Read(Region::All({8, 8}), std::span<int32_t>(all)).ok());
  EXPECT_EQ(all[(1 + 2 * 3) * 8 + 3 * 1], 6);  // selection (3, 1) is Fortran position 3 + 4
  EXPECT_EQ(all[1 * 8 + 0], 5);
}

TEST(Hyperslab, ConcurrentReadersOfDisjointViews) {
  Fixture fx({64, 48}, {8, 8});
  // Eight threads, thread t reads columns t, t + 8, ... into the same columns of one buffer.
  std::vector<int32_t> out(64 * 48, kSentinel);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (uint64_t t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 5; ++rep) {
        StridedView<int32_t> v(out.data() + t, {64, 6}, {48, 8});
        if (!fx.array->Read(Hyperslab{{0, t}, {1, 8}, {64, 6}, {1, 1}}, v).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(out, fx.reference);
}

TEST(Hyperslab, ConcurrentWritersOfInterleavedBlocks) {
  // Writers of disjoint hyperslabs whose blocks share every chunk: no write is lost.
  Fixture fx({32, 32}, {8, 8}, false, {}, /*fill_it=*/false);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (uint64_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<int32_t> v(32 * 8, static_cast<int32_t>(t + 1));
      if (!fx.array->Write(Hyperslab{{0, t}, {1, 4}, {32, 8}, {1, 1}}, std::span<int32_t>(v))
               .ok()) {
        ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  std::vector<int32_t> all(32 * 32);
  ASSERT_TRUE(fx.array->Read(Region::All({32, 32}), std::span<int32_t>(all)).ok());
  for (uint64_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], static_cast<int32_t>(i % 4 + 1)) << i;
}

// Element sizes 1, 2, 4, 8 and 16 bytes, moved between arrays and views in every dimension order
// (Fortran order and other transposes, with odd strides and padding), with chunks large enough
// that whole copy tiles occur: reads against the stored bytes, writes against a reference model.
struct BytesLayout {
  size_t esize;
  std::vector<uint8_t> buffer;
  size_t lead = 0;
  std::vector<uint64_t> extents, strides;

  BytesLayout(size_t e, const std::vector<uint64_t>& ext, std::mt19937_64& rng)
      : esize(e), extents(ext) {
    const size_t r = ext.size();
    std::vector<size_t> order(r);
    std::iota(order.begin(), order.end(), 0);
    if (rng() % 2) {
      std::reverse(order.begin(), order.end());  // C order
    } else if (rng() % 2) {
      std::shuffle(order.begin(), order.end(), rng);
    }  // else Fortran order: order[0] varies fastest
    strides.assign(r, 0);
    uint64_t s = rng() % 4 == 0 ? 3 : 1;  // sometimes every third element
    for (size_t k = 0; k < r; ++k) {
      strides[order[k]] = s;
      s *= ext[order[k]] + (rng() % 3 == 0 ? rng() % 3 : 0);
    }
    lead = rng() % 3;
    buffer.assign((lead + s + 2) * esize, 0xA5);
  }
  uint64_t Offset(const std::vector<uint64_t>& idx) const {
    uint64_t off = lead;
    for (size_t d = 0; d < idx.size(); ++d) off += idx[d] * strides[d];
    return off * esize;
  }
  MutableElementView view() {
    return MutableElementView{buffer.data() + lead * esize, esize, extents, strides};
  }
};

DataTypeId TypeOfSize(size_t esize) {
  switch (esize) {
    case 1: return DataTypeId::kUInt8;
    case 2: return DataTypeId::kUInt16;
    case 4: return DataTypeId::kUInt32;
    case 8: return DataTypeId::kUInt64;
    default: return DataTypeId::kComplex128;
  }
}

// cached: through a ChunkCache (each read twice: filling the cache, then served from it).
void TransposedViews(size_t esize, bool sharded, PipelineKind pipeline, bool cached = false) {
  for (uint64_t seed = 0; seed < 24; ++seed) {
    std::mt19937_64 rng(seed * 131 + esize * 7 + (sharded ? 3 : 0));
    const size_t rank = 1 + seed % 4;
    const uint64_t max_extent = rank == 1 ? 300 : rank == 2 ? 90 : rank == 3 ? 24 : 11;
    std::vector<uint64_t> shape, chunks, inner;
    for (size_t d = 0; d < rank; ++d) {
      shape.push_back(max_extent / 2 + rng() % (max_extent / 2));
      const uint64_t in = 1 + rng() % (max_extent / 3);
      inner.push_back(in);
      chunks.push_back(sharded ? in * (1 + rng() % 2) : 1 + rng() % (max_extent - 1));
    }
    ArrayMetadata m;
    m.shape = shape;
    m.chunk_shape = chunks;
    m.data_type = DataType(TypeOfSize(esize));
    // Stored (inner) chunks that are the chunk (an identity chain) or compressed.
    const Codecs chunk_codecs = seed % 2 == 0 ? Codecs::Bytes() : Codecs::Bytes().Zstd(1);
    m.codecs = sharded ? Codecs::Sharding(inner, chunk_codecs) : chunk_codecs;
    ArrayOptions options;
    if (cached) options.chunk_cache = ChunkCache::Make(uint64_t{64} << 20);
    auto created = Array::Create(MemoryStore::Create(), "a", m, CreateOptions{}, options);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    Array& array = **created;
    uint64_t n = 1;
    for (uint64_t e : shape) n *= e;
    std::vector<uint8_t> reference(n * esize);
    for (uint8_t& b : reference) b = static_cast<uint8_t>(rng() % 7 == 0 ? 0 : rng());
    ASSERT_TRUE(array.Write(Region::All(shape), ByteView(reference.data(), reference.size())).ok());
    auto offset = [&](const std::vector<uint64_t>& idx) {
      uint64_t off = 0;
      for (size_t d = 0; d < rank; ++d) off = off * shape[d] + idx[d];
      return off * esize;
    };
    for (int trial = 0; trial < 4; ++trial) {
      Hyperslab h;
      for (size_t d = 0; d < rank; ++d) {
        if (trial % 2 == 0) {  // a box
          const uint64_t start = rng() % shape[d];
          h.start.push_back(start);
          h.count.push_back(1);
          h.block.push_back(1 + rng() % (shape[d] - start));
          h.stride.push_back(1);
        } else {  // blocks with gaps
          const uint64_t block = 1 + rng() % std::max<uint64_t>(1, shape[d] / 3);
          const uint64_t stride = block + rng() % 3;
          const uint64_t start = rng() % (shape[d] - block + 1);
          h.start.push_back(start);
          h.stride.push_back(stride);
          h.block.push_back(block);
          h.count.push_back(1 + rng() % ((shape[d] - start - block) / stride + 1));
        }
      }
      const std::string what = "esize " + std::to_string(esize) + " seed " + std::to_string(seed) +
                               " trial " + std::to_string(trial) + " " + h.ToString();
      ReadOptions ro;
      ro.pipeline = pipeline;
      BytesLayout out(esize, h.shape(), rng);
      const std::vector<uint8_t> before = out.buffer;
      for (int pass = 0; pass < (cached ? 2 : 1); ++pass) {
        out.buffer = before;
        Status st = array.Read(h, out.view(), ro);
        ASSERT_TRUE(st.ok()) << st.ToString() << " " << what << " pass " << pass;
        std::vector<bool> covered(out.buffer.size(), false);
        ForEachSelected(h, [&](const std::vector<uint64_t>& sel, const std::vector<uint64_t>& arr) {
          const uint64_t o = out.Offset(sel);
          ASSERT_EQ(std::memcmp(out.buffer.data() + o, reference.data() + offset(arr), esize), 0)
              << what << " pass " << pass;
          for (size_t b = 0; b < esize; ++b) covered[o + b] = true;
        });
        for (size_t i = 0; i < out.buffer.size(); ++i) {
          if (!covered[i]) {
            ASSERT_EQ(out.buffer[i], before[i]) << what << " byte " << i << " pass " << pass;
          }
        }
      }
      // A write from another such view, then the whole array against the model.
      BytesLayout in(esize, h.shape(), rng);
      ForEachSelected(h, [&](const std::vector<uint64_t>& sel, const std::vector<uint64_t>& arr) {
        uint8_t* e = in.buffer.data() + in.Offset(sel);
        for (size_t b = 0; b < esize; ++b) e[b] = static_cast<uint8_t>(rng());
        std::memcpy(reference.data() + offset(arr), e, esize);
      });
      WriteOptions wo;
      wo.pipeline = pipeline;
      Status st = array.Write(h, ElementView(in.view()), wo);
      ASSERT_TRUE(st.ok()) << st.ToString() << " " << what;
      std::vector<uint8_t> all(reference.size());
      ASSERT_TRUE(array.Read(Region::All(shape), MutableByteView(all.data(), all.size())).ok());
      ASSERT_EQ(all, reference) << what;
    }
  }
}

TEST(StridedTranspose, ElementSizesFused) {
  for (size_t e : {1, 2, 4, 8, 16}) TransposedViews(e, false, PipelineKind::kFused);
}
TEST(StridedTranspose, ElementSizesBatched) {
  for (size_t e : {1, 2, 4, 8, 16}) TransposedViews(e, false, PipelineKind::kBatched);
}
TEST(StridedTranspose, ElementSizesSharded) {
  for (size_t e : {1, 2, 4, 8, 16}) TransposedViews(e, true, PipelineKind::kFused);
}

TEST(StridedTranspose, ElementSizesShardedBatched) {
  for (size_t e : {1, 2, 4, 8, 16}) TransposedViews(e, true, PipelineKind::kBatched);
}
TEST(StridedTranspose, ElementSizesCached) {
  for (size_t e : {1, 2, 4, 8, 16}) TransposedViews(e, false, PipelineKind::kFused, true);
}
TEST(StridedTranspose, ElementSizesShardedCached) {
  for (size_t e : {1, 2, 4, 8, 16}) TransposedViews(e, true, PipelineKind::kFused, true);
}

// Arrays of ranks 1-4 with partial edge chunks, only part of them written (missing chunks,
// shards and inner chunks read as the fill value), read whole into a padded Fortran-order view
// on every read path: fused and batched, unsharded and sharded, raw and compressed, with and
// without a chunk cache.
TEST(StridedTranspose, MissingChunksAndEdgesOnEveryReadPath) {
  const int32_t fill = -5;
  for (size_t rank = 1; rank <= 4; ++rank) {
    const std::vector<uint64_t> all = {45, 23, 11, 7};
    const std::vector<uint64_t> shape(all.begin(), all.begin() + static_cast<ptrdiff_t>(rank));
    for (int layout = 0; layout < 4; ++layout) {
      const bool sharded = layout >= 2, compressed = layout % 2 == 1;
      for (bool cached : {false, true}) {
        for (PipelineKind pipeline : {PipelineKind::kFused, PipelineKind::kBatched}) {
          const std::string what = "rank " + std::to_string(rank) + " layout " +
                                   std::to_string(layout) + (cached ? " cached" : "") +
                                   (pipeline == PipelineKind::kBatched ? " batched" : " fused");
          ArrayMetadata m;
          m.shape = shape;
          std::vector<uint64_t> inner;
          for (size_t d = 0; d < rank; ++d) {
            inner.push_back(d == 0 ? 4 : 3);
            m.chunk_shape.push_back(sharded ? inner[d] * 2 : (d == 0 ? 8 : 4));
          }
          m.data_type = DataType(DataTypeId::kInt32);
          Bytes fill_bytes(sizeof fill);
          std::memcpy(fill_bytes.data(), &fill, sizeof fill);
          m.fill_value = FillValue{fill_bytes};
          const Codecs chunk_codecs = compressed ? Codecs::Bytes().Zstd(1) : Codecs::Bytes();
          m.codecs = sharded ? Codecs::Sharding(inner, chunk_codecs) : chunk_codecs;
          ArrayOptions options;
          if (cached) options.chunk_cache = ChunkCache::Make(uint64_t{16} << 20);
          auto a = Array::Create(MemoryStore::Create(), "a", m, CreateOptions{}, options);
          ASSERT_TRUE(a.ok()) << a.status().ToString();
          // A box from index 5 to one before the end of each dimension: chunks and inner chunks
          // before it stay missing, and it ends inside the partial edge chunks.
          Region part;
          uint64_t n = 1, total = 1;
          for (size_t d = 0; d < rank; ++d) {
            part.origin.push_back(std::min<uint64_t>(5, shape[d] - 2));
            part.shape.push_back(shape[d] - 1 - part.origin.back());
            n *= part.shape.back();
            total *= shape[d];
          }
          std::vector<int32_t> values(n);
          std::iota(values.begin(), values.end(), 1);
          ASSERT_TRUE((*a)->Write(part, std::span<const int32_t>(values)).ok()) << what;
          std::vector<int32_t> model(total, fill);
          for (uint64_t i = 0; i < n; ++i) {
            uint64_t rest = i, off = 0, mul = 1;
            std::vector<uint64_t> idx(rank);
            for (size_t d = rank; d-- > 0;) {
              idx[d] = part.origin[d] + rest % part.shape[d];
              rest /= part.shape[d];
            }
            for (size_t d = rank; d-- > 0;) {
              off += idx[d] * mul;
              mul *= shape[d];
            }
            model[off] = values[i];
          }
          // Fortran order with the first dimension padded by 3, inside sentinels.
          std::vector<uint64_t> strides(rank);
          uint64_t s = 1;
          for (size_t d = 0; d < rank; ++d) {
            strides[d] = s;
            s *= shape[d] + (d == 0 ? 3 : 0);
          }
          std::vector<int32_t> buffer(s + 8, kSentinel);
          StridedView<int32_t> view(buffer.data() + 4, shape, strides);
          ReadOptions ro;
          ro.pipeline = pipeline;
          for (int pass = 0; pass < (cached ? 2 : 1); ++pass) {
            std::fill(buffer.begin(), buffer.end(), kSentinel);
            const Status st = (*a)->Read(Region::All(shape), view, ro);
            ASSERT_TRUE(st.ok()) << st.ToString() << " " << what;
            std::vector<bool> covered(buffer.size(), false);
            for (uint64_t i = 0; i < total; ++i) {
              uint64_t rest = i, off = 4;
              for (size_t d = rank; d-- > 0;) {
                off += (rest % shape[d]) * strides[d];
                rest /= shape[d];
              }
              ASSERT_EQ(buffer[off], model[i]) << what << " element " << i << " pass " << pass;
              covered[off] = true;
            }
            for (size_t i = 0; i < buffer.size(); ++i) {
              if (!covered[i]) {
                ASSERT_EQ(buffer[i], kSentinel) << what << " position " << i;
              }
            }
          }
        }
      }
    }
  }
}

TEST(StridedTranspose, MissingChunksReadAsFillValueIntoAFortranView) {
  for (bool compressed : {false, true}) {
    ArrayMetadata m;
    m.shape = {40, 37};
    m.chunk_shape = {16, 16};
    m.data_type = DataType(DataTypeId::kInt32);
    const int32_t fill = -5;
    Bytes fill_bytes(sizeof fill);
    std::memcpy(fill_bytes.data(), &fill, sizeof fill);
    m.fill_value = FillValue{fill_bytes};
    m.codecs = compressed ? Codecs::Bytes().Zstd(1) : Codecs::Bytes();
    auto a = Array::Create(MemoryStore::Create(), "a", m);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    std::vector<int32_t> model(40 * 37, -5);
    std::vector<int32_t> part(20 * 10);
    std::iota(part.begin(), part.end(), 1);
    ASSERT_TRUE((*a)->Write(Region{{17, 3}, {20, 10}}, std::span<const int32_t>(part)).ok());
    for (uint64_t i = 0; i < 20; ++i) {
      for (uint64_t j = 0; j < 10; ++j) model[(17 + i) * 37 + 3 + j] = part[i * 10 + j];
    }
    std::vector<int32_t> f(40 * 37, kSentinel);
    ASSERT_TRUE(
        (*a)->Read(Region::All({40, 37}), StridedView<int32_t>::FortranOrder(f.data(), {40, 37}))
            .ok());
    for (uint64_t i = 0; i < 40; ++i) {
      for (uint64_t j = 0; j < 37; ++j)
        ASSERT_EQ(f[i + 40 * j], model[i * 37 + j]) << i << "," << j;
    }
  }
}

}  // namespace
}  // namespace zarrpp
