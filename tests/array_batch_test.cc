// ArrayBatch: appends to several arrays, chunks first and metadata documents last in staging
// order; what readers see before, during and after Commit, and after a crash simulated at every
// store write of the batch.
#include "zarrpp/array_batch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>

#include "zarrpp/array.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/store_wrappers.h"

namespace zarrpp {
namespace {

// Forwards to a MemoryStore; the set() numbered `die_at` (from 0) and every later one fail, as
// if the writing process died there. Conditional writes and locks are not offered, so every
// write is a set() or an erase().
class DyingStore : public ForwardingStore {
 public:
  explicit DyingStore(std::shared_ptr<Store> inner)
      : ForwardingStore(std::move(inner), Forward::kPrimitives) {}
  void DieAt(uint64_t n) {
    die_at_ = n;
    sets_ = 0;
  }
  uint64_t sets() const { return sets_; }
  Status set(std::string_view key, ByteView value) override {
    if (sets_++ >= die_at_) return Status::IOError("died before set of '" + std::string(key) + "'");
    return inner_->set(key, value);
  }
  Status erase(std::string_view key) override {
    if (sets_ >= die_at_) return Status::IOError("died");
    return inner_->erase(key);
  }
  std::string description() const override { return "dying(" + inner_->description() + ")"; }

 private:
  std::atomic<uint64_t> die_at_{~uint64_t{0}};
  std::atomic<uint64_t> sets_{0};
};

ArrayMetadata Meta(std::vector<uint64_t> shape, std::vector<uint64_t> chunks, DataType t) {
  ArrayMetadata m;
  m.shape = std::move(shape);
  m.chunk_shape = std::move(chunks);
  m.data_type = t;
  m.fill_value = FillValue::Zero(t);
  return m;
}

struct Dataset {
  std::shared_ptr<Array> temp;  // [time, 3] float64 field
  std::shared_ptr<Array> wind;  // [time, 3] int32 field
  std::shared_ptr<Array> time;  // [time] int64 coordinate
};

Dataset Create(std::shared_ptr<Store> store) {
  Dataset d;
  d.temp = *Array::Create(store, "temp", Meta({0, 3}, {4, 3}, DataType(DataTypeId::kFloat64)));
  d.wind = *Array::Create(store, "wind", Meta({0, 3}, {4, 3}, DataType(DataTypeId::kInt32)));
  d.time = *Array::Create(store, "time", Meta({0}, {4}, DataType(DataTypeId::kInt64)));
  return d;
}

// Appends steps [t0, t0 + n) to all three arrays in one batch: fields first, coordinate last.
Status AppendSteps(ArrayBatch& batch, const Dataset& d, int64_t t0, int64_t n) {
  std::vector<double> temp;
  std::vector<int32_t> wind;
  std::vector<int64_t> time;
  for (int64_t t = t0; t < t0 + n; ++t) {
    time.push_back(1000 + t);
    for (int k = 0; k < 3; ++k) {
      temp.push_back(static_cast<double>(t) + 0.1 * k);
      wind.push_back(static_cast<int32_t>(t * 10 + k));
    }
  }
  const uint64_t un = static_cast<uint64_t>(n);
  RETURN_IF_ERROR(batch.Append(d.temp, std::span<const double>(temp), {un, 3}, 0));
  RETURN_IF_ERROR(batch.Append(d.wind, std::span<const int32_t>(wind), {un, 3}, 0));
  return batch.Append(d.time, std::span<const int64_t>(time), {un}, 0);
}

// The stored lengths of the three arrays, opened afresh as a reader would.
std::vector<uint64_t> StoredLengths(std::shared_ptr<Store> store) {
  std::vector<uint64_t> out;
  for (const char* path : {"temp", "wind", "time"}) {
    auto a = Array::Open(store, path);
    EXPECT_TRUE(a.ok()) << a.status();
    out.push_back(a.ok() ? (*a)->shape()[0] : 0);
  }
  return out;
}

// Every stored element of the three arrays holds the value its step gives it.
void ExpectValues(std::shared_ptr<Store> store) {
  auto temp = *Array::Open(store, "temp");
  auto wind = *Array::Open(store, "wind");
  auto time = *Array::Open(store, "time");
  std::vector<double> tv(temp->shape()[0] * 3);
  ASSERT_TRUE(temp->Read(Region::All(temp->shape()), std::span<double>(tv)).ok());
  std::vector<int32_t> wv(wind->shape()[0] * 3);
  ASSERT_TRUE(wind->Read(Region::All(wind->shape()), std::span<int32_t>(wv)).ok());
  std::vector<int64_t> cv(time->shape()[0]);
  ASSERT_TRUE(time->Read(Region::All(time->shape()), std::span<int64_t>(cv)).ok());
  for (size_t t = 0; t < cv.size(); ++t) EXPECT_EQ(cv[t], 1000 + static_cast<int64_t>(t));
  for (size_t i = 0; i < tv.size(); ++i) {
    EXPECT_DOUBLE_EQ(tv[i], static_cast<double>(i / 3) + 0.1 * static_cast<double>(i % 3));
  }
  for (size_t i = 0; i < wv.size(); ++i) EXPECT_EQ(wv[i], static_cast<int32_t>(i / 3 * 10 + i % 3));
}

TEST(ArrayBatch, PublishesNothingBeforeCommitAndEverythingAfter) {
  auto store = MemoryStore::Create();
  Dataset d = Create(store);
  ArrayBatch batch;
  ASSERT_TRUE(AppendSteps(batch, d, 0, 5).ok());
  ASSERT_TRUE(AppendSteps(batch, d, 5, 2).ok());  // stacks on the staged extent
  EXPECT_EQ(batch.pending(), 3u);
  EXPECT_EQ(StoredLengths(store), (std::vector<uint64_t>{0, 0, 0}));
  EXPECT_EQ(d.temp->shape()[0], 0u);  // the handle keeps the published shape too
  ASSERT_TRUE(batch.Commit().ok());
  EXPECT_EQ(batch.pending(), 0u);
  EXPECT_EQ(StoredLengths(store), (std::vector<uint64_t>{7, 7, 7}));
  EXPECT_EQ(d.time->shape()[0], 7u);
  ExpectValues(store);
  // The batch is reusable.
  ASSERT_TRUE(AppendSteps(batch, d, 7, 3).ok());
  EXPECT_EQ(StoredLengths(store), (std::vector<uint64_t>{7, 7, 7}));
  ExpectValues(store);
  ASSERT_TRUE(batch.Commit().ok());
  EXPECT_EQ(StoredLengths(store), (std::vector<uint64_t>{10, 10, 10}));
  ExpectValues(store);
}

TEST(ArrayBatch, ACrashAtAnyWriteLeavesAPrefixOfTheOrderPublished) {
  // One run without a crash counts the batch's writes; then a crash at every one of them.
  uint64_t writes = 0;
  {
    auto dying = std::make_shared<DyingStore>(MemoryStore::Create());
    Dataset d = Create(dying);
    ArrayBatch batch;
    ASSERT_TRUE(AppendSteps(batch, d, 0, 6).ok());
    ASSERT_TRUE(batch.Commit().ok());
    dying->DieAt(~uint64_t{0});
    ASSERT_TRUE(AppendSteps(batch, d, 6, 3).ok());
    ASSERT_TRUE(batch.Commit().ok());
    writes = dying->sets();
  }
  ASSERT_GT(writes, 3u);
  for (uint64_t die = 0; die < writes; ++die) {
    auto mem = MemoryStore::Create();
    auto dying = std::make_shared<DyingStore>(mem);
    Dataset d = Create(dying);
    {
      ArrayBatch first;
      ASSERT_TRUE(AppendSteps(first, d, 0, 6).ok());
      ASSERT_TRUE(first.Commit().ok());
    }
    dying->DieAt(die);
    ArrayBatch batch;
    Status s = AppendSteps(batch, d, 6, 3);
    if (s.ok()) s = batch.Commit();
    EXPECT_FALSE(s.ok()) << "crash at write " << die;
    // A reader of what the crashed writer left: each array at 6 or 9, the published ones a
    // prefix of the staging order (temp, wind, time), and every value right.
    const std::vector<uint64_t> len = StoredLengths(mem);
    for (uint64_t l : len) EXPECT_TRUE(l == 6 || l == 9) << l;
    EXPECT_GE(len[0], len[1]) << "crash at write " << die;
    EXPECT_GE(len[1], len[2]) << "crash at write " << die;
    // The coordinate is published last: only after every field.
    EXPECT_EQ(len[2] == 9, die >= writes) << "crash at write " << die;
    ExpectValues(mem);
    // A writer that opens the arrays afresh appends from the stored extents again.
    auto restarted = std::make_shared<DyingStore>(mem);
    Dataset again;
    again.temp = *Array::Open(restarted, "temp");
    again.wind = *Array::Open(restarted, "wind");
    again.time = *Array::Open(restarted, "time");
    if (len[0] == 6) {
      ArrayBatch redo;
      ASSERT_TRUE(AppendSteps(redo, again, 6, 3).ok());
      ASSERT_TRUE(redo.Commit().ok());
    } else {
      // Fields published, the coordinate not: trim the fields back to it before appending.
      ASSERT_TRUE(again.temp->Resize({len[2], 3}).ok());
      ASSERT_TRUE(again.wind->Resize({len[2], 3}).ok());
      ArrayBatch redo;
      ASSERT_TRUE(AppendSteps(redo, again, 6, 3).ok());
      ASSERT_TRUE(redo.Commit().ok());
    }
    EXPECT_EQ(StoredLengths(mem), (std::vector<uint64_t>{9, 9, 9}));
    ExpectValues(mem);
  }
}

TEST(ArrayBatch, FailedCommitPublishesTheRestWhenCalledAgain) {
  auto mem = MemoryStore::Create();
  auto dying = std::make_shared<DyingStore>(mem);
  Dataset d = Create(dying);
  ArrayBatch batch;
  ASSERT_TRUE(AppendSteps(batch, d, 0, 4).ok());
  dying->DieAt(1);  // temp's document is written, wind's fails
  Status s = batch.Commit();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("wind"), std::string::npos) << s;
  EXPECT_EQ(StoredLengths(mem), (std::vector<uint64_t>{4, 0, 0}));
  EXPECT_EQ(batch.pending(), 2u);
  dying->DieAt(~uint64_t{0});
  ASSERT_TRUE(batch.Commit().ok());
  EXPECT_EQ(StoredLengths(mem), (std::vector<uint64_t>{4, 4, 4}));
  ExpectValues(mem);
}

TEST(ArrayBatch, ErrorsStageNothing) {
  auto store = MemoryStore::Create();
  Dataset d = Create(store);
  ArrayBatch batch;
  std::vector<double> v(6);
  EXPECT_EQ(batch.Append(nullptr, ByteView(), {0, 3}, 0).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(batch.Append(d.temp, std::span<const double>(v), {2, 4}, 0).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(batch.Append(d.temp, std::span<const double>(v), {2, 3}, 2).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(batch.Append(d.temp, std::span<const double>(v), {3, 3}, 0).code(),
            Status::Code::kInvalidArgument);
  std::vector<int32_t> wrong(6);
  EXPECT_EQ(batch.Append(d.temp, std::span<const int32_t>(wrong), {2, 3}, 0).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(batch.pending(), 0u);
  ASSERT_TRUE(batch.Commit().ok());
  EXPECT_EQ(StoredLengths(store), (std::vector<uint64_t>{0, 0, 0}));
}

TEST(ArrayBatch, ShapeChangedElsewhereRefusesCommit) {
  auto store = MemoryStore::Create();
  Dataset d = Create(store);
  ArrayBatch batch;
  ASSERT_TRUE(AppendSteps(batch, d, 0, 2).ok());
  ASSERT_TRUE(d.wind->Resize({1, 3}).ok());
  Status s = batch.Commit();
  EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(s.message().find("wind"), std::string::npos) << s;
  EXPECT_EQ(StoredLengths(store), (std::vector<uint64_t>{0, 1, 0}));
}

}  // namespace
}  // namespace zarrpp
