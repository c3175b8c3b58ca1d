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

}  // namespace
}  // namespace deskpipe
