#include "core/json_text.h"

#include <gtest/gtest.h>

namespace deskpipe {
namespace {

TEST(CompactJsonTest, WritesWithoutSpaces) {
  EXPECT_EQ(CompactJson({{"id", 7}, {"tags", {"a", "b"}}}), R"({"id":7,"tags":["a","b"]})");
  EXPECT_EQ(CompactJson(nullptr), "null");
}

TEST(CompactJsonTest, ReplacesInvalidUtf8InsteadOfThrowing) {
  const std::string broken = std::string("caf") + '\xC3' + "!";  // a lead byte with no continuation
  EXPECT_EQ(CompactJson({{"body", broken}}), "{\"body\":\"caf\xEF\xBF\xBD!\"}");
}

TEST(ParseJsonTextTest, GivesWhatNlohmannGives) {
  const std::string page = R"([{"id": 11, "tags": ["a", "é"], "n": -3, "big": 18446744073709551615,
    "ratio": 0.25, "ok": true, "none": null, "nested": {"b": [1, {"c": "}"}]}, "esc": "a\"\n\u00e9"},
    {"id": 12, "id": 13}])";
  std::vector<std::string> texts;
  auto parsed = ParseJsonText(page, &texts);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().ToString();
  EXPECT_EQ(texts.size(), 2u) << "simdjson's parse, not the fallback, built the value";
  const nlohmann::json expected = nlohmann::json::parse(page);
  EXPECT_EQ(*parsed, expected);
  EXPECT_EQ(parsed->dump(), expected.dump());
  // Same types, not only equal values: a non-negative integer is unsigned, as nlohmann makes it.
  EXPECT_TRUE((*parsed)[0]["id"].is_number_unsigned());
  EXPECT_TRUE((*parsed)[0]["n"].is_number_integer() && !(*parsed)[0]["n"].is_number_unsigned());
  EXPECT_EQ((*parsed)[1]["id"], 13) << "of a repeated key the last one wins";
}

TEST(ParseJsonTextTest, GivesEachArrayItemsTextAsSent) {
  std::vector<std::string> texts = {"stale"};
  const std::string page = "[ {\"id\": 11, \"body\": \"<b>}</b>\", \"to\": [\"a\", {\"b\": 1}]} ,\n"
                           " {\"id\":12}\t, 3 , \"x\" ,[1, [2]], null ]";
  auto parsed = ParseJsonText(page, &texts);
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(texts.size(), 6u);
  EXPECT_EQ(texts[0], R"({"id": 11, "body": "<b>}</b>", "to": ["a", {"b": 1}]})");  // spacing inside kept
  EXPECT_EQ(texts[1], R"({"id":12})");  // whitespace after an item is not part of it
  EXPECT_EQ(texts[2], "3");
  EXPECT_EQ(texts[3], R"("x")");
  EXPECT_EQ(texts[4], "[1, [2]]");
  EXPECT_EQ(texts[5], "null");
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(nlohmann::json::parse(texts[i]), (*parsed)[i]);

  ASSERT_TRUE(ParseJsonText(R"({"id":1})", &texts).has_value());
  EXPECT_TRUE(texts.empty()) << "an object has no items";
}

TEST(ParseJsonTextTest, BigAndSmallTextsAlternating) {
  // Over 64 KB a text gets a parser of its own; the thread's kept parser still serves the small ones after.
  nlohmann::json big = nlohmann::json::array();
  for (int i = 0; i < 3000; ++i) big.push_back({{"id", i}, {"body", std::string(40, 'a' + i % 26)}});
  const std::string big_text = big.dump();
  ASSERT_GT(big_text.size(), 64u * 1024);
  for (int round = 0; round < 3; ++round) {
    std::vector<std::string> texts;
    auto parsed = ParseJsonText(big_text, &texts);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, big);
    ASSERT_EQ(texts.size(), 3000u);
    EXPECT_EQ(texts[2999], big[2999].dump());
    auto small = ParseJsonText(R"([{"id":1}])", &texts);
    ASSERT_TRUE(small.has_value());
    EXPECT_EQ((*small)[0]["id"], 1);
  }
}

TEST(ParseJsonTextTest, AnIntegerBeyond64BitsIsADoubleAsNlohmannReadsIt) {
  std::vector<std::string> texts;
  auto parsed = ParseJsonText(R"([{"id":123456789012345678901234567890}])", &texts);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_TRUE((*parsed)[0]["id"].is_number_float());
  EXPECT_TRUE(texts.empty()) << "nlohmann's parse has no item texts to give";
}

TEST(ParseJsonTextTest, MalformedTextSaysWhere) {
  for (const std::string& bad : std::vector<std::string>{"[{\"id\":1,}]", "[1, 2", "", "[\"caf\xC3\"]"}) {
    auto parsed = ParseJsonText(bad);
    ASSERT_FALSE(parsed.has_value()) << bad;
    EXPECT_EQ(parsed.error().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message().find("parse error"), std::string::npos) << parsed.error().message();
  }
}

}  // namespace
}  // namespace deskpipe
