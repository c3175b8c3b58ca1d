#include "embed/hashing_embedder.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "core/hash.h"
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

// The embedder's algorithm written plainly (a map of features, strings built per word), to check the fast
// implementation against: unigrams (1.0), bigrams "a b" (0.5) and character 3-5-grams of "<word>" over code
// points (0.25), each hashed as splitmix64(xxh3(bytes) ^ seed) into bucket hash % d with the sign of its top bit,
// weighted by 1 + ln(count); then L2-normalized.
std::vector<float> ReferenceEmbedding(const std::string& text, int dimension) {
  auto mix = [](uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  };
  std::map<uint64_t, std::pair<float, int>> features;
  auto add = [&](const std::string& bytes, uint64_t seed, float weight) {
    auto& feature = features[mix(Hash64(bytes) ^ seed)];
    feature.first = weight;
    ++feature.second;
  };
  std::vector<std::string> words(1);
  for (char ch : text) {
    const unsigned char c = static_cast<unsigned char>(std::tolower(static_cast<unsigned char>(ch)));
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80) {
      words.back().push_back(static_cast<char>(c));
    } else if (!words.back().empty()) {
      words.emplace_back();
    }
  }
  if (words.back().empty()) words.pop_back();
  for (size_t i = 0; i < words.size(); ++i) {
    add(words[i], 0x9e3779b97f4a7c15ULL, 1.0f);
    if (i + 1 < words.size()) add(words[i] + " " + words[i + 1], 0xc2b2ae3d27d4eb4fULL, 0.5f);
    std::vector<std::string> chars;
    for (char ch : "<" + words[i] + ">") {
      if ((static_cast<unsigned char>(ch) & 0xC0) != 0x80 || chars.empty()) {
        chars.emplace_back(1, ch);
      } else {
        chars.back().push_back(ch);
      }
    }
    for (size_t n = 3; n <= 5; ++n) {
      for (size_t start = 0; start + n <= chars.size(); ++start) {
        std::string gram;
        for (size_t k = start; k < start + n; ++k) gram += chars[k];
        add(gram, 0x165667b19e3779f9ULL, 0.25f);
      }
    }
  }
  std::vector<double> sums(static_cast<size_t>(dimension), 0.0);
  for (const auto& [hash, feature] : features) {
    sums[hash % static_cast<uint64_t>(dimension)] +=
        ((hash >> 63) ? -1.0 : 1.0) * feature.first * (1.0 + std::log(static_cast<double>(feature.second)));
  }
  double norm = 0;
  for (double v : sums) norm += v * v;
  std::vector<float> out(sums.size(), 0.0f);
  for (size_t i = 0; i < sums.size() && norm > 0; ++i) out[i] = static_cast<float>(sums[i] / std::sqrt(norm));
  return out;
}

// One word of `length` varied letters: ~3 distinct grams per letter, far more than a text of one word usually
// has, so the embedder's feature table must grow mid-text.
std::string LongVariedWord(size_t length) {
  std::string word;
  uint32_t state = 12345;
  for (size_t i = 0; i < length; ++i) {
    state = state * 1103515245u + 12345u;
    word.push_back(static_cast<char>('a' + (state >> 16) % 26));
  }
  return word;
}

TEST(HashingEmbedderTest, MatchesThePlainlyWrittenAlgorithm) {
  const HashingEmbedder embedder(256);
  // In this order the long word's grown table is then reset for the short texts after it.
  for (const std::string& text : std::vector<std::string>{
           "Password reset link expired", "The the THE the: repeated words, repeated grams",
           "Crème brûlée — naïve café 東京 order #4711 didn't arrive!", "a", "x y", "ab\nCD\tef   gh",
           std::string(300, 'z') + " tail", LongVariedWord(3000), "after the long word", "x y"}) {
    const std::vector<float> expected = ReferenceEmbedding(text, 256);
    const std::vector<float> got = embedder.EmbedOne(text);
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-5) << text << " at " << i;
  }
}

TEST(HashingEmbedderTest, ThreadsEmbeddingAtOnceGetTheSameVectorsAsOneThread) {
  const HashingEmbedder embedder(128);
  std::vector<std::string> texts;
  for (int i = 0; i < 40; ++i) texts.push_back("ticket " + std::to_string(i) + " " + LongVariedWord(20 + i * 37));
  std::vector<std::vector<float>> expected;
  for (const std::string& text : texts) expected.push_back(embedder.EmbedOne(text));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        for (size_t i = 0; i < texts.size(); ++i) {
          const size_t pick = (i * 7 + t * 13 + round) % texts.size();
          if (embedder.EmbedOne(texts[pick]) != expected[pick]) ++mismatches[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
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
