// Parity of the two pipelines (spec/pipeline.md): the same sequence of writes through the fused
// and the batched pipeline leaves the same set of keys with the same bytes, and each pipeline
// reads the other's store as the expected array. The matrix crosses codec chains, layouts
// (unsharded, sharded, nested sharding; shapes with partial edge chunks) and write sequences
// (whole writes, partial writes, scalar fills, writes that empty chunks).
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "zarrpp/array.h"
#include "zarrpp/json.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/store_wrappers.h"

namespace zarrpp {
namespace {

const std::vector<uint64_t> kShape = {50, 70};

Json Bytes_() {
  return {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}};
}

Json Chain(const std::string& codec) {
  if (codec == "raw") return Json::array({Bytes_()});
  if (codec == "blosc") {
    return Json::array({Bytes_(),
                        {{"name", "blosc"},
                         {"configuration",
                          {{"cname", "lz4"},
                           {"clevel", 5},
                           {"shuffle", "shuffle"},
                           {"typesize", 2},
                           {"blocksize", 0}}}}});
  }
  if (codec == "zstd") {
    return Json::array(
        {Bytes_(), {{"name", "zstd"}, {"configuration", {{"level", 3}, {"checksum", false}}}}});
  }
  if (codec == "gzip")
    return Json::array({Bytes_(), {{"name", "gzip"}, {"configuration", {{"level", 1}}}}});
  // transpose + bytes + crc32c: an array->array and a bytes->bytes codec around the bytes codec.
  return Json::array({{{"name", "transpose"}, {"configuration", {{"order", {1, 0}}}}},
                      Bytes_(),
                      {{"name", "crc32c"}}});
}

Json Sharding(std::vector<uint64_t> inner, Json codecs) {
  return {{"name", "sharding_indexed"},
          {"configuration",
           {{"chunk_shape", std::move(inner)},
            {"codecs", std::move(codecs)},
            {"index_codecs", Json::array({Bytes_(), {{"name", "crc32c"}}})},
            {"index_location", "end"}}}};
}

ArrayMetadata Meta(const std::string& codec, const std::string& layout) {
  ArrayMetadata m;
  m.shape = kShape;
  m.data_type = DataType(DataTypeId::kUInt16);
  m.fill_value = FillValue::Zero(m.data_type);
  if (layout == "plain") {
    m.chunk_shape = {16, 32};
    m.codecs = Chain(codec);
  } else if (layout == "sharded") {
    m.chunk_shape = {32, 64};
    m.codecs = Json::array({Sharding({16, 32}, Chain(codec))});
  } else {  // nested: shards of 32 x 64 holding shards of 16 x 32 holding chunks of 8 x 16
    m.chunk_shape = {32, 64};
    m.codecs = Json::array({Sharding({16, 32}, Json::array({Sharding({8, 16}, Chain(codec))}))});
  }
  return m;
}

// One step of a write sequence, applied to the array and to a reference C-order vector.
struct Step {
  enum Kind { kWrite, kFill } kind;
  Region region;
  uint16_t value;  // kFill: the value; kWrite: a seed for the pattern
};

void Apply(const Step& s, std::vector<uint16_t>& ref, std::vector<uint16_t>& buf) {
  buf.assign(s.region.num_elements(), 0);
  size_t k = 0;
  for (uint64_t r = 0; r < s.region.shape[0]; ++r) {
    for (uint64_t c = 0; c < s.region.shape[1]; ++c, ++k) {
      const uint64_t rr = s.region.origin[0] + r, cc = s.region.origin[1] + c;
      const uint16_t v = s.kind == Step::kFill
                             ? s.value
                             : static_cast<uint16_t>(s.value * 1000 + (rr * 131 + cc * 7) % 997);
      buf[k] = v;
      ref[rr * kShape[1] + cc] = v;
    }
  }
}

std::map<std::string, std::vector<Step>> Sequences() {
  const Region all = Region::All(kShape);
  return {
      {"whole", {{Step::kWrite, all, 1}}},
      {"partials",
       {{Step::kWrite, Region{{3, 5}, {20, 40}}, 2},
        {Step::kWrite, Region{{30, 50}, {20, 20}}, 3},
        {Step::kWrite, Region{{0, 0}, {1, 1}}, 4}}},
      {"fills",
       {{Step::kFill, all, 7},
        {Step::kFill, Region{{10, 10}, {35, 33}}, 9},
        {Step::kWrite, Region{{16, 32}, {16, 32}}, 5}}},
      {"emptying",
       {{Step::kWrite, all, 6},
        {Step::kFill, Region{{0, 0}, {32, 64}}, 0},   // chunks and a whole shard become empty
        {Step::kFill, Region{{40, 0}, {10, 70}}, 0},  // edge chunks become empty
        {Step::kWrite, Region{{5, 60}, {30, 10}}, 8}}},
  };
}

std::map<std::string, Bytes> Contents(Store& s) {
  std::map<std::string, Bytes> out;
  auto keys = s.list();
  EXPECT_TRUE(keys.ok());
  for (const std::string& k : *keys) {
    auto v = s.get(k);
    EXPECT_TRUE(v.ok() && v->has_value()) << k;
    out[k] = **v;
  }
  return out;
}

struct Param {
  std::string codec, layout, sequence;
};

class PipelineParity : public ::testing::TestWithParam<Param> {};

TEST_P(PipelineParity, SameStoresAndCrossReads) {
  const Param p = GetParam();
  const ArrayMetadata meta = Meta(p.codec, p.layout);
  const std::vector<Step> steps = Sequences().at(p.sequence);

  std::map<PipelineKind, std::shared_ptr<MemoryStore>> stores;
  std::vector<uint16_t> ref(kShape[0] * kShape[1], 0), buf;
  for (PipelineKind kind : {PipelineKind::kFused, PipelineKind::kBatched}) {
    ArrayOptions o;
    o.pipeline = kind;
    stores[kind] = MemoryStore::Create();
    auto a = Array::Create(stores[kind], "a", meta, {}, o);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    std::fill(ref.begin(), ref.end(), 0);
    for (const Step& s : steps) {
      Apply(s, ref, buf);
      Status st = s.kind == Step::kFill ? (*a)->Fill(s.region, s.value)
                                        : (*a)->Write(s.region, std::span<const uint16_t>(buf));
      ASSERT_TRUE(st.ok()) << st.ToString();
    }
  }
  const auto fused = Contents(*stores[PipelineKind::kFused]);
  const auto batched = Contents(*stores[PipelineKind::kBatched]);
  std::vector<std::string> fk, bk;
  for (const auto& [k, v] : fused) fk.push_back(k);
  for (const auto& [k, v] : batched) bk.push_back(k);
  EXPECT_EQ(fk, bk) << "the pipelines stored different sets of keys";
  for (const auto& [k, v] : fused) {
    auto it = batched.find(k);
    if (it != batched.end()) {
      EXPECT_TRUE(it->second == v) << "key '" << k << "' differs";
    }
  }

  // Each pipeline reads both stores (its own and the other's) as the reference, whole and in a
  // region that cuts through chunks and shards; the per-call option picks the pipeline.
  const Region part{{7, 13}, {31, 45}};
  std::vector<uint16_t> want_part(part.num_elements());
  for (uint64_t r = 0; r < part.shape[0]; ++r) {
    for (uint64_t c = 0; c < part.shape[1]; ++c) {
      want_part[r * part.shape[1] + c] = ref[(part.origin[0] + r) * kShape[1] + part.origin[1] + c];
    }
  }
  for (const auto& [writer, store] : stores) {
    auto a = Array::Open(store, "a");
    ASSERT_TRUE(a.ok());
    for (PipelineKind reader : {PipelineKind::kFused, PipelineKind::kBatched}) {
      ReadOptions ro;
      ro.pipeline = reader;
      std::vector<uint16_t> out(ref.size(), 0xFFFF);
      ASSERT_TRUE((*a)->Read(Region::All(kShape), std::span<uint16_t>(out), ro).ok());
      EXPECT_EQ(out, ref) << "reader " << static_cast<int>(reader) << " writer "
                          << static_cast<int>(writer);
      std::vector<uint16_t> got(part.num_elements(), 0xFFFF);
      ASSERT_TRUE((*a)->Read(part, std::span<uint16_t>(got), ro).ok());
      EXPECT_EQ(got, want_part);
    }
  }
}

std::vector<Param> AllParams() {
  std::vector<Param> out;
  for (const char* codec : {"raw", "blosc", "zstd", "gzip", "transpose-crc32c"}) {
    for (const char* layout : {"plain", "sharded", "nested"}) {
      for (const auto& [seq, steps] : Sequences()) out.push_back({codec, layout, seq});
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(All, PipelineParity, ::testing::ValuesIn(AllParams()),
                         [](const ::testing::TestParamInfo<Param>& i) {
                           std::string n =
                               i.param.codec + "_" + i.param.layout + "_" + i.param.sequence;
                           for (char& ch : n) {
                             if (ch == '-') ch = '_';
                           }
                           return n;
                         });

// The per-call option overrides the handle's pipeline for one call; mixing pipelines on one
// handle gives the same store as either alone.
TEST(PipelineParity, PerCallOverrideMixesPipelinesOnOneHandle) {
  const ArrayMetadata meta = Meta("zstd", "plain");
  auto mixed = MemoryStore::Create();
  auto fused_only = MemoryStore::Create();
  ArrayOptions batched_default;
  batched_default.pipeline = PipelineKind::kBatched;
  auto a = Array::Create(mixed, "a", meta, {}, batched_default);
  auto b = Array::Create(fused_only, "a", meta);
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<uint16_t> ref(kShape[0] * kShape[1], 0), buf;
  const Step s1{Step::kWrite, Region{{2, 3}, {40, 50}}, 1};
  const Step s2{Step::kFill, Region{{20, 20}, {30, 50}}, 4};
  Apply(s1, ref, buf);
  WriteOptions fused;
  fused.pipeline = PipelineKind::kFused;
  ASSERT_TRUE((*a)->Write(s1.region, std::span<const uint16_t>(buf), fused).ok());
  ASSERT_TRUE((*b)->Write(s1.region, std::span<const uint16_t>(buf)).ok());
  Apply(s2, ref, buf);
  ASSERT_TRUE((*a)->Fill(s2.region, s2.value).ok());  // the handle's default: batched
  ASSERT_TRUE((*b)->Fill(s2.region, s2.value).ok());
  EXPECT_EQ(Contents(*mixed), Contents(*fused_only));
  std::vector<uint16_t> out(ref.size());
  ReadOptions ro;
  ro.pipeline = PipelineKind::kFused;
  ASSERT_TRUE((*a)->Read(Region::All(kShape), std::span<uint16_t>(out), ro).ok());
  EXPECT_EQ(out, ref);
}

}  // namespace
}  // namespace zarrpp
