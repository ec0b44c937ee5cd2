#include <gtest/gtest.h>

#include "asl/json.hpp"
#include "asl/modelcard.hpp"

namespace {

TEST(ModelCard, DefaultLettersAreTheTwentyFourStaticOnes) {
  const auto& l = asl::default_letters();
  ASSERT_EQ(l.size(), 24u);
  EXPECT_EQ(l.front(), "A");
  EXPECT_EQ(l.back(), "Y");
  for (const auto& s : l) {
    EXPECT_NE(s, "J");
    EXPECT_NE(s, "Z");
  }
}

TEST(ModelCard, PropsRoundTrip) {
  asl::ModelCard c;
  c.precision = "int8";
  c.source_sha256 = "abc";
  c.extra["test_accuracy"] = "0.996";
  const auto back = asl::ModelCard::from_props(c.to_props());
  EXPECT_EQ(back.letters, c.letters);
  EXPECT_EQ(back.precision, "int8");
  EXPECT_EQ(back.source_sha256, "abc");
  EXPECT_EQ(back.input_size, 28);
  EXPECT_DOUBLE_EQ(back.input_scale, 1.0 / 255.0);
  EXPECT_EQ(back.extra.at("test_accuracy"), "0.996");
}

TEST(ModelCard, ParsesPythonWrittenProps) {
  const auto card = asl::ModelCard::from_props({
      {"asl_edge.letters", "A,B,C"},
      {"asl_edge.input_size", "32"},
      {"asl_edge.input_scale", "0.00392156862745098"},
      {"asl_edge.precision", "fp16"},
      {"asl_edge.extra.accuracy", "0.99"},
      {"other.key", "ignored"},
  });
  EXPECT_EQ(card.letters, (std::vector<std::string>{"A", "B", "C"}));
  EXPECT_EQ(card.input_size, 32);
  EXPECT_EQ(static_cast<float>(card.input_scale), static_cast<float>(1.0 / 255.0));
  EXPECT_EQ(card.precision, "fp16");
  EXPECT_EQ(card.extra.at("accuracy"), "0.99");
}

TEST(ModelCard, NormalizeRoundTripsAndDefaultsToNone) {
  asl::ModelCard c;
  EXPECT_EQ(c.normalize, "none");
  c.normalize = "standardize";
  EXPECT_EQ(c.to_props().at("asl_edge.normalize"), "standardize");
  EXPECT_EQ(asl::ModelCard::from_props(c.to_props()).normalize, "standardize");
  // a model exported before the key existed
  EXPECT_EQ(asl::ModelCard::from_props({{"asl_edge.letters", "A,B"}}).normalize, "none");
}

TEST(ModelCard, TrainingPhotosRoundTripAndDefaultToNone) {
  asl::ModelCard c;
  EXPECT_TRUE(c.training_photos.empty());
  EXPECT_EQ(c.to_props().at("asl_edge.training_photos"), "");  // as Python writes it
  c.training_photos = {"0123456789abcdef", "fedcba9876543210"};
  EXPECT_EQ(c.to_props().at("asl_edge.training_photos"), "0123456789abcdef,fedcba9876543210");
  EXPECT_EQ(asl::ModelCard::from_props(c.to_props()).training_photos, c.training_photos);
  EXPECT_TRUE(asl::ModelCard::from_props({{"asl_edge.letters", "A,B"},
                                          {"asl_edge.training_photos", ""}})
                  .training_photos.empty());
}

TEST(ModelCard, MissingMetadataSaysSo) {
  try {
    asl::ModelCard::from_props({{"producer", "x"}});
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "model has no asl_edge metadata (was it exported by asl-export?)");
  }
  EXPECT_THROW(asl::ModelCard::from_props({{"asl_edge.letters", "A"}, {"asl_edge.input_size", "x"}}),
               std::invalid_argument);
}

TEST(Json, ParsesAndQuotes) {
  const auto v = asl::json::parse(R"({"a": [1, 2.5, "x\"y\u00e9"], "b": {"c": true, "d": null}})");
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.find("a")->array.size(), 3u);
  EXPECT_DOUBLE_EQ(v.find("a")->array[1].number, 2.5);
  EXPECT_EQ(v.find("a")->array[2].string, "x\"y\xc3\xa9");
  EXPECT_TRUE(v.find("b")->find("c")->boolean);
  EXPECT_EQ(asl::json::quote("a\"b\n"), "\"a\\\"b\\n\"");
  EXPECT_EQ(asl::json::number(0.1, 17), "0.1");
  EXPECT_THROW(asl::json::parse("{\"a\": }"), std::invalid_argument);
  EXPECT_THROW(asl::json::parse("[1] x"), std::invalid_argument);
}

}  // namespace

#include "asl/sha256.hpp"

namespace {

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(asl::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(asl::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(asl::sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

}  // namespace
