#include "core/spelling.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace deskpipe {
namespace {

const std::vector<std::string> kVerbs = {"demo", "sync", "search", "status", "digest", "serve", "reset"};

TEST(Spelling, SuggestsTheNearestVerb) {
  EXPECT_EQ(ClosestName("serch", kVerbs), "search");
  EXPECT_EQ(ClosestName("serach", kVerbs), "search");  // a swap is one edit
  EXPECT_EQ(ClosestName("synk", kVerbs), "sync");
  EXPECT_EQ(ClosestName("Status", kVerbs), "status");  // case is not a typo of another name
  EXPECT_EQ(ClosestName("Ticket", std::vector<std::string>{"ticket", "article"}), "ticket");
}

TEST(Spelling, NoSuggestionForFarOrExactNames) {
  EXPECT_EQ(ClosestName("frobnicate", kVerbs), std::nullopt);
  EXPECT_EQ(ClosestName("x", kVerbs), std::nullopt);
  EXPECT_EQ(ClosestName("sync", kVerbs), std::nullopt);
  EXPECT_EQ(ClosestName("bogus", std::vector<std::string>{"ticket", "article"}), std::nullopt);
}

TEST(Spelling, ListsNamesInProse) {
  EXPECT_EQ(ListOfNames(std::vector<std::string>{"ticket"}), "ticket");
  EXPECT_EQ(ListOfNames(std::vector<std::string>{"ticket", "article"}), "ticket or article");
  EXPECT_EQ(ListOfNames(std::vector<std::string>{"a", "b", "c"}), "a, b or c");
}

}  // namespace
}  // namespace deskpipe
