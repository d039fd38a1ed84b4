// JsonValue (zarrpp/json_value.h): the value type of the metadata fields that hold JSON.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <utility>

#include "zarrpp/codecs.h"
#include "zarrpp/json.h"
#include "zarrpp/metadata.h"

namespace zarrpp {
namespace {

TEST(JsonValue, DefaultIsAnEmptyObjectAndEmptyArrayIsAnArray) {
  const JsonValue object;
  EXPECT_TRUE(object->is_object());
  EXPECT_TRUE(object->empty());
  const JsonValue array = JsonValue::EmptyArray();
  EXPECT_TRUE(array->is_array());
  EXPECT_TRUE(array->empty());
  EXPECT_EQ(*object, Json::object());
  EXPECT_EQ(*array, Json::array());
}

TEST(JsonValue, MetadataFieldsDefaultAsTheyDid) {
  ArrayMetadata m;
  EXPECT_EQ(m.codecs, Json::array());
  EXPECT_EQ(m.attributes, Json::object());
  EXPECT_EQ(m.extra_fields, Json::object());
  GroupMetadata g;
  EXPECT_EQ(g.attributes, Json::object());
  EXPECT_EQ(g.extra_fields, Json::object());
}

TEST(JsonValue, BracesMeanWhatTheyMeanForJson) {
  JsonValue one_pair;
  one_pair = {{"units", "K"}};
  EXPECT_EQ(one_pair, (Json{{"units", "K"}}));
  EXPECT_TRUE(one_pair->is_object());
  JsonValue two_pairs = {{"units", "K"}, {"n", 2}};
  EXPECT_EQ(two_pairs->at("n"), 2);
  JsonValue numbers = {1, 2, 3};
  EXPECT_EQ(numbers, Json::array({1, 2, 3}));
}

TEST(JsonValue, CopiesAreDeepAndMovesLeaveAnEmptyValue) {
  JsonValue a = Json{{"k", Json::array({1, 2})}};
  JsonValue b = a;
  (*b)["k"].push_back(3);
  EXPECT_EQ(a->at("k").size(), 2u);
  EXPECT_EQ(b->at("k").size(), 3u);
  EXPECT_NE(a, b);

  JsonValue c = std::move(b);
  EXPECT_EQ(c->at("k").size(), 3u);
  EXPECT_EQ(b, Json::object());  // NOLINT(bugprone-use-after-move): moved-from is empty

  JsonValue codecs = JsonValue::EmptyArray();
  JsonValue taken = std::move(codecs);
  EXPECT_EQ(codecs, Json::array());  // NOLINT(bugprone-use-after-move)

  a = c;
  EXPECT_EQ(a, c);
  a = a;  // self-assignment keeps the value
  EXPECT_EQ(a, c);
  Json out = *std::move(c);
  EXPECT_EQ(out.at("k"), Json::array({1, 2, 3}));
}

TEST(JsonValue, ElementAccessAsJson) {
  JsonValue v;
  v["a"] = 1;
  v["b"]["c"] = "d";
  EXPECT_EQ(v, (Json{{"a", 1}, {"b", {{"c", "d"}}}}));
  const JsonValue& cv = v;
  EXPECT_EQ(cv["a"], 1);
  JsonValue list = Json::array({"x", "y"});
  EXPECT_EQ(list[1], "y");
  EXPECT_EQ(std::as_const(list)[0], "x");
  const Json& as_json = list;  // converts where a const Json& is wanted
  EXPECT_EQ(as_json.size(), 2u);
}

TEST(JsonValue, PrintsAsJsonText) {
  std::ostringstream os;
  os << JsonValue(Json{{"k", 1}});
  EXPECT_EQ(os.str(), R"({"k":1})");
}

TEST(JsonValue, TakesACodecChainAndSerialisesWithTheMetadata) {
  ArrayMetadata m;
  m.shape = {4};
  m.chunk_shape = {2};
  m.data_type = DataType(DataTypeId::kUInt8);
  m.fill_value = FillValue::Zero(m.data_type);
  m.codecs = Codecs::Bytes().Zstd(3);
  m.attributes = {{"units", "K"}};
  EXPECT_EQ(m.codecs, Codecs::Bytes().Zstd(3).ToJson());
  ASSERT_TRUE(m.Validate().ok()) << m.Validate();
  const Json doc = m.ToJson();
  EXPECT_EQ(doc.at("attributes"), (Json{{"units", "K"}}));
  auto back = ArrayMetadata::FromJson(doc);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->attributes, m.attributes);
  ASSERT_EQ(back->codecs->size(), 2u);  // normalised on parsing: compare what was chosen
  EXPECT_EQ(back->codecs[1]["name"], "zstd");
  EXPECT_EQ(back->codecs[1]["configuration"]["level"], 3);
}

}  // namespace
}  // namespace zarrpp
