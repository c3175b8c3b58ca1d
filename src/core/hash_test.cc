#include "core/hash.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace deskpipe {
namespace {

TEST(HashTest, KnownValues) {
  // xxh3-64 reference values; a change here would invalidate every stored content hash.
  EXPECT_EQ(HashHex(""), "2d06800538d394c2");
  EXPECT_EQ(HashHex("deskpipe"), "7fbee8696fa70a77");
  EXPECT_EQ(Hash64("deskpipe"), 0x7fbee8696fa70a77ULL);
}

TEST(HashTest, Hash128KnownValueAndDistinctIds) {
  // xxh3-128 of the empty input (the reference implementation's test vector).
  EXPECT_EQ(Hash128Of(""), (Hash128{0x99aa06d3014798d8ULL, 0x6001c324468d497fULL}));
  // Ids that differ in one digit, as a knowledge-base walk's do, all get their own digest.
  std::set<Hash128> digests;
  for (int i = 0; i < 25000; ++i) digests.insert(Hash128Of("acme_freshdesk_article_" + std::to_string(i)));
  EXPECT_EQ(digests.size(), 25000u);
  EXPECT_EQ(Hash128Of("acme_freshdesk_article_7"), Hash128Of(std::string("acme_freshdesk_article_") + "7"));
}

TEST(HashTest, DeterministicAndSensitive) {
  const std::string text = "The printer on floor 3 is out of toner.";
  EXPECT_EQ(HashHex(text), HashHex(std::string(text)));
  EXPECT_NE(HashHex(text), HashHex(text + " "));
  EXPECT_EQ(HashHex(text).size(), 16u);
}

TEST(HashTest, ToHex64PadsToSixteenDigits) {
  EXPECT_EQ(ToHex64(0), "0000000000000000");
  EXPECT_EQ(ToHex64(0xabcULL), "0000000000000abc");
  EXPECT_EQ(ToHex64(~0ULL), "ffffffffffffffff");
}

TEST(HashTest, BuilderIsDeterministic) {
  HashBuilder a;
  a.Add("title").Add("body");
  HashBuilder b;
  b.Add("title").Add("body");
  EXPECT_EQ(a.Value(), b.Value());
  EXPECT_EQ(a.Hex(), ToHex64(a.Value()));
  EXPECT_EQ(a.Value(), a.Value());  // Value() does not consume the state
}

TEST(HashTest, BuilderLengthPrefixesPieces) {
  HashBuilder ab_c;
  ab_c.Add("ab").Add("c");
  HashBuilder a_bc;
  a_bc.Add("a").Add("bc");
  EXPECT_NE(ab_c.Value(), a_bc.Value());

  HashBuilder abc;
  abc.Add("abc");
  EXPECT_NE(abc.Value(), ab_c.Value());
  EXPECT_NE(abc.Value(), Hash64("abc"));

  HashBuilder empty_then_x;
  empty_then_x.Add("").Add("x");
  HashBuilder x;
  x.Add("x");
  EXPECT_NE(empty_then_x.Value(), x.Value());
}

}  // namespace
}  // namespace deskpipe
