#include "store/store_common.h"

#include <cmath>

#include <gtest/gtest.h>

namespace deskpipe::store_common {
namespace {

TEST(FuseScoresTest, NormalizesEachListByItsDistributionAndWeighsThem) {
  // BM25 and cosine on their own scales; key 2 tops the keyword list, key 5 the vector list, key 3 is second
  // in both.
  const std::vector<Candidate> keyword = {{2, 12.0}, {3, 9.0}, {1, 3.0}, {4, 2.0}};
  const std::vector<Candidate> vector = {{5, 0.91}, {3, 0.90}, {6, 0.40}, {2, 0.35}};
  auto fused = FuseScores(keyword, vector, 0.5);
  ASSERT_EQ(fused.size(), 6u);
  // Key 3 is near the top of both lists, key 2 far ahead in one and last in the other.
  EXPECT_EQ(fused[0].key, 3);
  EXPECT_EQ(fused[0].keyword_rank, 2);
  EXPECT_EQ(fused[0].vector_rank, 2);
  EXPECT_DOUBLE_EQ(fused[0].keyword_score, 9.0);
  EXPECT_DOUBLE_EQ(fused[0].vector_score, 0.90);
  // The exact value: each list's scores mapped from mean ± 3 sd onto [0, 1].
  auto normalized = [](const std::vector<Candidate>& list, double score) {
    double mean = 0, squares = 0;
    for (const Candidate& c : list) mean += c.score, squares += c.score * c.score;
    mean /= static_cast<double>(list.size());
    const double sd = std::sqrt(squares / static_cast<double>(list.size()) - mean * mean);
    return (score - (mean - 3 * sd)) / (6 * sd);
  };
  EXPECT_NEAR(fused[0].score, 0.5 * normalized(keyword, 9.0) + 0.5 * normalized(vector, 0.90), 1e-12);
  for (size_t i = 1; i < fused.size(); ++i) EXPECT_GE(fused[i - 1].score, fused[i].score);

  // All weight on keywords: the keyword list's order, then the vector-only keys (ties by key).
  auto keyword_only = FuseScores(keyword, vector, 1.0);
  std::vector<int64_t> order;
  for (const Fused& f : keyword_only) order.push_back(f.key);
  EXPECT_EQ(order, (std::vector<int64_t>{2, 3, 1, 4, 5, 6}));
  auto vector_only = FuseScores(keyword, vector, 0.0);
  EXPECT_EQ(vector_only[0].key, 5);
}

TEST(FuseScoresTest, AFlatListAndASingleCandidateDoNotDivideByZero) {
  auto fused = FuseScores({{1, 4.0}, {2, 4.0}}, {{3, 0.5}}, 0.5);
  ASSERT_EQ(fused.size(), 3u);
  for (const Fused& f : fused) EXPECT_DOUBLE_EQ(f.score, 0.5);
  EXPECT_EQ(fused[0].key, 1);  // ties by key
  EXPECT_TRUE(FuseScores({}, {}, 0.7).empty());
}

TEST(KeywordTermsTest, DropsStopWordsUnlessNothingElseIsLeft) {
  EXPECT_EQ(KeywordTerms("How do I cancel MY order?"), (std::vector<std::string>{"cancel", "order"}));
  EXPECT_EQ(KeywordTerms("to be or not to be"), (std::vector<std::string>{"not"}));
  EXPECT_EQ(KeywordTerms("to be or"), (std::vector<std::string>{"to", "be", "or"}));
}

TEST(SnippetTest, MarkedSnippetEscapesTextAndMarksMatches) {
  const std::string highlighted = std::string("a <b> & ") + kSnippetOpen + "printer" + kSnippetClose + " \"jams\"";
  EXPECT_EQ(MarkedSnippet(highlighted), "a &lt;b&gt; &amp; <mark>printer</mark> &quot;jams&quot;");
  // An unclosed mark is closed; a stray close is dropped.
  EXPECT_EQ(MarkedSnippet(std::string(1, kSnippetClose) + "x" + kSnippetOpen + "y"), "x<mark>y</mark>");
}

TEST(SnippetTest, OpeningSnippetKeepsTheFirstWordsOnOneLine) {
  EXPECT_EQ(OpeningSnippet("short <text>\nhere"), "short &lt;text&gt; here");
  std::string long_text;
  for (int i = 0; i < 40; ++i) long_text += "w" + std::to_string(i) + " ";
  const std::string snippet = OpeningSnippet(long_text);
  EXPECT_TRUE(snippet.starts_with("w0 w1 "));
  EXPECT_NE(snippet.find("w31…"), std::string::npos) << snippet;
  EXPECT_EQ(snippet.find("w32"), std::string::npos);
}

TEST(PassesFiltersTest, PriorityGroupTagsLanguageAndCreatedRange) {
  Document document;
  document.type = "ticket";
  document.updated_at = "2025-03-10T00:00:00Z";
  document.metadata = {{"status", "open"},         {"priority", "urgent"},
                       {"group_name", "Billing"},  {"group_id", 67000259900},
                       {"tags", {"vip", "refund"}}, {"created_at", "2025-03-01T08:00:00Z"}};
  const FilterFields fields = FilterFieldsOf(document);
  EXPECT_EQ(fields.group_id, "67000259900");
  auto passes = [&](auto&& set) {
    SearchQuery query;
    query.tenant_id = "acme";
    set(query);
    auto normalized = NormalizeQuery(query);
    EXPECT_TRUE(normalized.has_value());
    return PassesFilters(*normalized, document.type, fields);
  };
  EXPECT_TRUE(passes([](SearchQuery& q) { q.priorities = {"high", "urgent"}; }));
  EXPECT_FALSE(passes([](SearchQuery& q) { q.priorities = {"low"}; }));
  EXPECT_TRUE(passes([](SearchQuery& q) { q.groups = {"Billing"}; }));
  EXPECT_TRUE(passes([](SearchQuery& q) { q.groups = {"67000259900"}; }));
  EXPECT_FALSE(passes([](SearchQuery& q) { q.groups = {"Sales"}; }));
  EXPECT_TRUE(passes([](SearchQuery& q) { q.tags = {"vip", "refund"}; }));
  EXPECT_FALSE(passes([](SearchQuery& q) { q.tags = {"vip", "spam"}; }));
  EXPECT_FALSE(passes([](SearchQuery& q) { q.languages = {"en"}; }));  // a ticket without a language
  EXPECT_TRUE(passes([](SearchQuery& q) { q.created_from = "2025-03-01", q.created_to = "2025-03-01T23:00:00Z"; }));
  EXPECT_FALSE(passes([](SearchQuery& q) { q.created_from = "2025-03-02"; }));
  EXPECT_TRUE(HasMetadataFilter([] {
    SearchQuery q;
    q.tags = {"vip"};
    return q;
  }()));
}

TEST(NormalizeQueryTest, RejectsAWeightOutsideZeroToOneAndABadCreatedBound) {
  SearchQuery query;
  query.tenant_id = "acme";
  query.keyword_weight = 1.5;
  EXPECT_FALSE(NormalizeQuery(query).has_value());
  query.keyword_weight = 0.7;
  query.created_to = "yesterday";
  auto normalized = NormalizeQuery(query);
  ASSERT_FALSE(normalized.has_value());
  EXPECT_NE(normalized.error().message().find("created_to"), std::string::npos);
}

}  // namespace
}  // namespace deskpipe::store_common
