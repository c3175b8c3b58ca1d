#include "embed/hashing_embedder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "embed/embedder_factory.h"

namespace deskpipe {
namespace {

double Norm(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  return std::sqrt(s);
}

double Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0;
  for (size_t i = 0; i < a.size(); ++i) dot += static_cast<double>(a[i]) * b[i];
  return dot / (Norm(a) * Norm(b));
}

TEST(HashingEmbedderTest, VectorsHaveUnitNormAndTheConfiguredDimension) {
  HashingEmbedder embedder(256);
  EXPECT_EQ(embedder.dimension(), 256);
  EXPECT_EQ(embedder.model_id(), "hashing-v1-256");
  auto vectors = embedder.Embed({"The printer on floor 3 is jammed again", "Résumé café naïve"});
  ASSERT_TRUE(vectors.has_value());
  ASSERT_EQ(vectors->size(), 2u);
  for (const auto& v : *vectors) {
    ASSERT_EQ(v.size(), 256u);
    EXPECT_NEAR(Norm(v), 1.0, 1e-5);
  }
}

TEST(HashingEmbedderTest, DefaultDimensionIs384) {
  HashingEmbedder embedder;
  EXPECT_EQ(embedder.dimension(), 384);
  EXPECT_EQ(embedder.model_id(), "hashing-v1-384");
  EXPECT_EQ(embedder.EmbedOne("hello world").size(), 384u);
  EXPECT_EQ(embedder.max_tokens(), 256);
}

TEST(HashingEmbedderTest, IsDeterministicAcrossInstancesAndCaseInsensitive) {
  HashingEmbedder a, b;
  EXPECT_EQ(a.EmbedOne("Password reset link expired"), b.EmbedOne("Password reset link expired"));
  EXPECT_EQ(a.EmbedOne("PASSWORD Reset"), a.EmbedOne("password reset"));
  EXPECT_NE(a.EmbedOne("password reset"), a.EmbedOne("reset password"));  // bigrams keep order
}

TEST(HashingEmbedderTest, SimilarTextsAreCloserThanUnrelatedOnes) {
  HashingEmbedder embedder;
  auto query = embedder.EmbedOne("cannot log in, password reset email never arrives");
  auto similar = embedder.EmbedOne("The password reset email did not arrive and I can't log in");
  auto unrelated = embedder.EmbedOne("Invoice for March shows the wrong VAT amount on shipping");
  EXPECT_GT(Cosine(query, similar), Cosine(query, unrelated) + 0.2);
  // Character grams make inflections close even without a shared word.
  EXPECT_GT(Cosine(embedder.EmbedOne("printers"), embedder.EmbedOne("printer")),
            Cosine(embedder.EmbedOne("printers"), embedder.EmbedOne("invoice")) + 0.2);
}

TEST(HashingEmbedderTest, EmptyOrWordlessTextGivesZeroVector) {
  HashingEmbedder embedder(64);
  for (const char* text : {"", "   ", "?!,.;"}) {
    auto v = embedder.EmbedOne(text);
    ASSERT_EQ(v.size(), 64u);
    EXPECT_EQ(Norm(v), 0.0) << text;
  }
}

TEST(HashingEmbedderTest, CountsWordTokens) {
  HashingEmbedder embedder;
  EXPECT_EQ(embedder.CountTokens(""), 0);
  EXPECT_EQ(embedder.CountTokens("Hello, world! It's 2025."), 5);
  EXPECT_EQ(embedder.CountTokens("  café  crème "), 2);
}

TEST(EmbedderFactoryTest, MakesEachNamedEmbedderAndRejectsOthersClearly) {
  auto hashing = MakeEmbedder("hashing");
  ASSERT_TRUE(hashing.has_value());
  EXPECT_EQ((*hashing)->model_id(), "hashing-v1-384");

  // scripts/setup fetched the weights, so "use-lite" is the real model, not the hashing fallback.
  auto lite = MakeEmbedder("use-lite");
  ASSERT_TRUE(lite.has_value()) << lite.error().ToString();
  EXPECT_EQ((*lite)->model_id(), "use-lite-v1-512");
  EXPECT_EQ((*lite)->dimension(), 512);

  auto openai = MakeEmbedder("openai");
  ASSERT_FALSE(openai.has_value());
  EXPECT_NE(openai.error().message().find("'openai'"), std::string::npos);

  auto bogus = MakeEmbedder("word2vec");
  ASSERT_FALSE(bogus.has_value());
  EXPECT_EQ(bogus.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bogus.error().message().find("hashing"), std::string::npos);
}

TEST(EmbedderFactoryTest, UseLiteFallsBackToHashingWithoutWeights) {
  const char* saved = std::getenv("DESKPIPE_ASSET_DIR");
  const std::string previous = saved ? saved : "";
  ::setenv("DESKPIPE_ASSET_DIR", "/nonexistent-deskpipe-assets", 1);
  auto embedder = MakeEmbedder("use-lite");
  if (saved) {
    ::setenv("DESKPIPE_ASSET_DIR", previous.c_str(), 1);
  } else {
    ::unsetenv("DESKPIPE_ASSET_DIR");
  }
  ASSERT_TRUE(embedder.has_value()) << embedder.error().ToString();
  EXPECT_EQ((*embedder)->model_id(), "hashing-v1-384");
}

}  // namespace
}  // namespace deskpipe
