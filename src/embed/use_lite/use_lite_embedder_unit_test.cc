#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <thread>

#include "embed/use_lite/gemm.h"
#include "embed/use_lite/use_lite_embedder.h"

namespace deskpipe::embed {
namespace {

float Dot(const std::vector<float>& a, const std::vector<float>& b) {
  float s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

float MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

// One text's vector from two batches. Float32 products give it to the last bits; bfloat16 ones (onednn-bf16)
// to cosine 0.99999, since rounding to bfloat16 can turn a last-bit difference into a step (onednn_gemm.cc).
::testing::AssertionResult SameVector(const std::vector<float>& a, const std::vector<float>& b) {
  if (GemmBackendName() == "onednn-bf16") {
    const float cosine = Dot(a, b);  // both unit length
    if (cosine >= 0.99999f) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "cosine " << cosine << " under bfloat16 products";
  }
  const float diff = MaxAbsDiff(a, b);
  if (diff < 1e-5f) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "largest difference " << diff;
}

class UseLiteEmbedderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto loaded = UseLiteEmbedder::Load(UseLiteEmbedder::DefaultModelDir());
    ASSERT_TRUE(loaded) << loaded.error().ToString();
    embedder_ = loaded->release();
  }
  static void TearDownTestSuite() { delete embedder_; }
  static UseLiteEmbedder* embedder_;
};
UseLiteEmbedder* UseLiteEmbedderTest::embedder_ = nullptr;

std::string LongText() {
  std::string text;
  for (int i = 0; i < 60; ++i) text += "word" + std::to_string(i) + " and ";
  return text;
}

TEST_F(UseLiteEmbedderTest, DescribesTheModel) {
  EXPECT_EQ(embedder_->model_id(), "use-lite-v1-512");
  EXPECT_EQ(embedder_->dimension(), 512);
  EXPECT_EQ(embedder_->max_tokens(), 128);
  EXPECT_EQ(embedder_->CountTokens("Hello world"), 3);
  EXPECT_EQ(embedder_->CountTokens(""), 0);
  EXPECT_GT(embedder_->CountTokens(LongText()), 128);  // counts are not clipped
}

TEST_F(UseLiteEmbedderTest, VectorsAreUnitLengthIncludingEmptyText) {
  auto vectors = embedder_->Embed({"How do I reset my password?", "", "🙂", LongText()});
  ASSERT_TRUE(vectors) << vectors.error().ToString();
  ASSERT_EQ(vectors->size(), 4u);
  for (const auto& v : *vectors) {
    ASSERT_EQ(v.size(), 512u);
    EXPECT_NEAR(Dot(v, v), 1.0f, 1e-4);
  }
  EXPECT_LT(Dot((*vectors)[0], (*vectors)[1]), 0.99f);  // empty text is not just any vector
}

TEST_F(UseLiteEmbedderTest, SimilarQuestionsAreCloserThanUnrelatedOnes) {
  auto v = embedder_->Embed({"How do I reset my password?", "I forgot my password and cannot log in",
                             "The weather is sunny and warm today"});
  ASSERT_TRUE(v);
  EXPECT_GT(Dot((*v)[0], (*v)[1]), Dot((*v)[0], (*v)[2]) + 0.2f);
}

TEST_F(UseLiteEmbedderTest, ResultDoesNotDependOnBatching) {
  const std::vector<std::string> texts = {"short", "a somewhat longer sentence about invoices", "",
                                          LongText()};
  const std::string chosen = GemmBackendName();
  for (const std::string& backend : AvailableGemmBackends()) {
    ASSERT_TRUE(SetGemmBackend(backend));
    auto together = embedder_->Embed(texts);
    ASSERT_TRUE(together);
    for (size_t i = 0; i < texts.size(); ++i) {
      auto alone = embedder_->Embed({texts[i]});
      ASSERT_TRUE(alone);
      EXPECT_TRUE(SameVector((*together)[i], (*alone)[0])) << backend << ", text " << i;
    }
  }
  ASSERT_TRUE(SetGemmBackend(chosen));
}

TEST_F(UseLiteEmbedderTest, TextsBeyondMaxTokensAreTruncated) {
  const std::string text = LongText();
  const std::vector<int> ids = embedder_->Tokenize(text);
  ASSERT_GT(ids.size(), 128u);
  auto full = embedder_->Embed({text, text + " completely different ending about cats"});
  auto first128 = embedder_->EmbedIds({std::vector<int>(ids.begin(), ids.begin() + 128)});
  auto first100 = embedder_->EmbedIds({std::vector<int>(ids.begin(), ids.begin() + 100)});
  ASSERT_TRUE(full && first128 && first100);
  EXPECT_TRUE(SameVector((*full)[0], (*first128)[0]));
  EXPECT_TRUE(SameVector((*full)[0], (*full)[1]));  // what follows token 128 is ignored
  EXPECT_GT(MaxAbsDiff((*full)[0], (*first100)[0]), 1e-3f);
}

TEST_F(UseLiteEmbedderTest, RejectsIdsOutsideTheVocabulary) {
  auto bad = embedder_->EmbedIds({{5, 9}, {1, 100000}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.error().message().find("100000"), std::string::npos);
}

TEST_F(UseLiteEmbedderTest, ConcurrentCallsGiveTheSameVectors) {
  std::vector<std::string> texts;
  for (int i = 0; i < 40; ++i) texts.push_back("ticket " + std::to_string(i) + " about a late delivery");
  auto serial = embedder_->Embed(texts);
  ASSERT_TRUE(serial);
  std::vector<std::vector<std::vector<float>>> results(2);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] { results[t] = embedder_->Embed(texts).value(); });
  }
  for (auto& th : threads) th.join();
  for (const auto& r : results) {
    ASSERT_EQ(r.size(), texts.size());
    for (size_t i = 0; i < texts.size(); ++i) EXPECT_LT(MaxAbsDiff(r[i], (*serial)[i]), 1e-5f);
  }
}

TEST_F(UseLiteEmbedderTest, LargeBatchesShardedOverThreadsEqualTextsAlone) {
  // More tokens than one pass holds (4096) and enough for every thread to get a shard.
  std::vector<std::string> texts;
  for (int i = 0; i < 120; ++i) texts.push_back(i % 7 == 0 ? LongText() : "message " + std::to_string(i) + " about a refund");
  texts.push_back("");
  auto together = embedder_->Embed(texts);
  ASSERT_TRUE(together);
  ASSERT_EQ(together->size(), texts.size());
  for (size_t i : {size_t{0}, size_t{1}, size_t{59}, size_t{63}, size_t{119}, size_t{120}}) {
    auto alone = embedder_->Embed({texts[i]});
    ASSERT_TRUE(alone);
    EXPECT_TRUE(SameVector((*together)[i], (*alone)[0])) << "text " << i;
  }
}

TEST_F(UseLiteEmbedderTest, EveryGemmBackendGivesTheSameVectors) {
  const std::vector<std::string> texts = {"How do I reset my password?", LongText(), "facture impayée ✓"};
  const std::string chosen = GemmBackendName();
  ASSERT_TRUE(SetGemmBackend("openblas"));
  auto reference = embedder_->Embed(texts);
  ASSERT_TRUE(reference);
  for (const std::string& backend : AvailableGemmBackends()) {
    ASSERT_TRUE(SetGemmBackend(backend)) << backend;
    auto vectors = embedder_->Embed(texts);
    ASSERT_TRUE(vectors) << backend;
    for (size_t i = 0; i < texts.size(); ++i) {
      if (backend == "onednn-bf16") {
        EXPECT_GE(Dot((*vectors)[i], (*reference)[i]), 0.9999f) << backend;  // the reference test's bar
      } else {
        EXPECT_LT(MaxAbsDiff((*vectors)[i], (*reference)[i]), 1e-4f) << backend;
      }
    }
  }
  EXPECT_FALSE(SetGemmBackend("mkl"));
  EXPECT_EQ(SetGemmBackend("mkl").error().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(SetGemmBackend(chosen));
}

TEST_F(UseLiteEmbedderTest, Bfloat16BackendRunsWhereTheCpuHasIt) {
  const auto available = AvailableGemmBackends();
  const bool listed = std::find(available.begin(), available.end(), "onednn-bf16") != available.end();
  EXPECT_EQ(listed, __builtin_cpu_supports("avx512bf16") != 0);
  const std::string chosen = GemmBackendName();
  auto set = SetGemmBackend("onednn-bf16");
  EXPECT_EQ(bool(set), listed);
  if (!set) {
    EXPECT_EQ(set.error().code(), StatusCode::kUnavailable);
  }
  ASSERT_TRUE(SetGemmBackend(chosen));
}

}  // namespace
}  // namespace deskpipe::embed
