#include "embed/use_lite/sentencepiece_tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "embed/use_lite/use_lite_embedder.h"

namespace deskpipe::embed {
namespace {

// Ids 0–5 are reserved, as in the real vocabulary. Id 0 is "\uFFFD" as there: backtracking steps back over
// an unknown token by the length of piece 0 (the reference's quirk), which must be one symbol.
SentencePieceTokenizer::Vocabulary SmallVocabulary() {
  return {{"\uFFFD", 0}, {"<s>", 0}, {"</s>", 0}, {"x1", 0}, {"x2", 0}, {"x3", 0}, {"▁a", -1.0},  // 6
          {"b", -2.0},                                                                            // 7
          {"▁ab", -2.5},  // 8: beats ▁a + b (-3.0)
          {"▁", -3.0},    // 9
          {"c", -1.0},    // 10
          {"cd", -2.0},   // 11: ties with c + d (-1 + -1)
          {"d", -1.0},    // 12
          {"b", -2.0}};   // 13: a duplicate piece maps to its last id
}

TEST(SentencePieceTokenizerTest, ViterbiPicksTheBestSegmentation) {
  SentencePieceTokenizer tokenizer(SmallVocabulary());
  EXPECT_EQ(tokenizer.Encode("ab"), (std::vector<int>{8}));
  EXPECT_EQ(tokenizer.Encode("a b"), (std::vector<int>{6, 9, 13}));  // space becomes ▁; "b" is id 13
}

TEST(SentencePieceTokenizerTest, TiesGoToTheLaterStart) {
  SentencePieceTokenizer tokenizer(SmallVocabulary());
  // "▁cd": [▁][c][d] = -5 vs [▁][cd] = -5: the JS `>=` keeps the candidate starting later (d).
  EXPECT_EQ(tokenizer.Encode("cd"), (std::vector<int>{9, 10, 12}));
}

TEST(SentencePieceTokenizerTest, UnknownSymbolsCollapseAndCaseIsKept) {
  SentencePieceTokenizer tokenizer(SmallVocabulary());
  EXPECT_EQ(tokenizer.Encode("a☃☃☃b"), (std::vector<int>{6, 0, 13}));
  EXPECT_EQ(tokenizer.Encode("A"), (std::vector<int>{9, 0}));  // no lower-casing
  EXPECT_EQ(tokenizer.Encode(""), std::vector<int>{});
}

TEST(SentencePieceTokenizerTest, PreprocessingIsNfkcAndWordBoundaries) {
  EXPECT_EQ(PreprocessForSentencePiece(""), U"");
  EXPECT_EQ(PreprocessForSentencePiece("a b"), U"▁a▁b");
  EXPECT_EQ(PreprocessForSentencePiece("ﬁ①"), U"▁fi1");        // compatibility forms fold
  EXPECT_EQ(PreprocessForSentencePiece("e\u0301"), U"▁é");     // composed
  EXPECT_EQ(PreprocessForSentencePiece("a\u00a0b"), U"▁a▁b");  // NBSP becomes a space, then ▁
  EXPECT_EQ(PreprocessForSentencePiece("a\tb"), U"▁a\tb");     // other whitespace stays
}

TEST(SentencePieceTokenizerTest, InvalidUtf8BecomesReplacementCharacters) {
  EXPECT_EQ(DecodeUtf8Lossy("\xF0\x9F\x98\x80"), U"\U0001F600");
  EXPECT_EQ(DecodeUtf8Lossy("\xE2\x82"
                            "a"),
            U"\uFFFDa");                                              // truncated sequence: one U+FFFD
  EXPECT_EQ(DecodeUtf8Lossy("\xC0\x80"), U"\uFFFD\uFFFD");            // overlong: each byte replaced
  EXPECT_EQ(DecodeUtf8Lossy("\xED\xA0\x80"), U"\uFFFD\uFFFD\uFFFD");  // surrogate
  SentencePieceTokenizer tokenizer(SmallVocabulary());
  EXPECT_EQ(tokenizer.Encode("a\xFF"), (std::vector<int>{6, 0}));
}

// Ids captured from the reference (@energetic-ai/embeddings 0.2.0) for the real vocabulary.
TEST(SentencePieceTokenizerTest, RealVocabularyMatchesKnownReferenceIds) {
  auto tokenizer = SentencePieceTokenizer::Load(UseLiteEmbedder::DefaultModelDir() + "/vocab.json");
  ASSERT_TRUE(tokenizer) << tokenizer.error().ToString();
  EXPECT_EQ(tokenizer->vocabulary_size(), 8000);
  EXPECT_EQ(tokenizer->Encode("Hello world"), (std::vector<int>{341, 4125, 311}));
  EXPECT_EQ(tokenizer->Encode("How do I reset my password?"),
            (std::vector<int>{728, 64, 16, 137, 1383, 69, 5969, 54}));
  EXPECT_EQ(tokenizer->Encode("naïve café 日本語 😀"),
            (std::vector<int>{1216, 0, 105, 976, 209, 1133, 30, 0, 30, 0}));
  EXPECT_EQ(tokenizer->Encode(":)"), (std::vector<int>{30, 57, 52}));  // "▁:)" scores null: see below
  EXPECT_EQ(tokenizer->piece(341), "▁H");
}

TEST(SentencePieceTokenizerTest, LoadRejectsMalformedVocabularyNamingTheFile) {
  const auto dir = std::filesystem::temp_directory_path() / "spm_vocab_test";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "vocab.json").string();

  auto missing = SentencePieceTokenizer::Load((dir / "absent.json").string());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("absent.json"), std::string::npos);

  std::ofstream(path) << "[[\"a\", 1], [2, \"b\"]]";
  auto bad_entry = SentencePieceTokenizer::Load(path);
  ASSERT_FALSE(bad_entry);
  EXPECT_EQ(bad_entry.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_entry.error().message().find("entry 1"), std::string::npos);

  std::ofstream(path) << "[[\"a\", ";
  auto truncated = SentencePieceTokenizer::Load(path);
  ASSERT_FALSE(truncated);
  EXPECT_NE(truncated.error().message().find("vocab.json"), std::string::npos);

  // A null score (as the real vocabulary has for ':' pieces) is accepted and acts as 0 — and since a best
  // score of exactly 0 counts as unset, the later [▁][:] replaces the zero-scored [▁:], as in the reference.
  std::ofstream(path)
      << R"([["<unk>",0],["s",0],["/s",0],["e1",0],["e2",0],["e3",0],["▁:",null],["▁",-1],[":",null]])";
  auto with_null = SentencePieceTokenizer::Load(path);
  ASSERT_TRUE(with_null) << with_null.error().ToString();
  EXPECT_EQ(with_null->Encode(":"), (std::vector<int>{7, 8}));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace deskpipe::embed
