// The embedding cache through the real runner and SQLite store: a re-sync of unchanged text computes no
// embedding, a changed document re-embeds only its new text, and text already embedded under the same model
// (same content hash) is reused even by a new document. A counting embedder sees every Embed call; the source
// is a fake that serves the same knowledge-base articles on every run.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "embed/hashing_embedder.h"
#include "pipeline/runner.h"
#include "store/store.h"

namespace deskpipe {
namespace {

// Counts calls and texts; vectors come from the hashing embedder.
class CountingEmbedder : public Embedder {
 public:
  std::string model_id() const override { return inner_.model_id(); }
  int dimension() const override { return inner_.dimension(); }
  int max_tokens() const override { return 128; }
  int CountTokens(const std::string& text) const override { return inner_.CountTokens(text); }
  Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts) override {
    ++calls;
    embedded.insert(embedded.end(), texts.begin(), texts.end());
    return inner_.Embed(texts);
  }
  int calls = 0;
  std::vector<std::string> embedded;

 private:
  HashingEmbedder inner_{64};
};

// One stream of articles, all in one batch, served whole on every run regardless of the cursor (so every
// re-sync presents the same text again).
class FakeArticleSource : public Source {
 public:
  std::string platform() const override { return "freshdesk"; }
  std::vector<std::string> Streams() const override { return {"articles"}; }
  Result<Batch> Next(const std::string& stream, const nlohmann::json&) override {
    Batch batch;
    batch.stream = stream;
    for (const auto& [id, text] : articles) {
      Record r;
      r.id = "acme_freshdesk_article-" + id;
      r.original_id = "article-" + id;
      r.tenant_id = "acme";
      r.platform = "freshdesk";
      r.type = "article";
      r.title = titles.count(id) ? titles.at(id) : "Article " + id;
      r.content = text;
      r.status = "published";
      r.created_at = "2025-01-01T00:00:00Z";
      r.updated_at = "2025-01-02T00:00:00Z";
      batch.records.push_back(std::move(r));
    }
    batch.cursor = {{"runs", ++runs}};
    batch.done = true;
    return batch;
  }
  std::map<std::string, std::string> articles, titles;
  int runs = 0;
};

class EmbeddingCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("deskpipe-embedding-cache-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    config_.tenant_id = "acme";
    config_.data_dir = dir_.string();
    config_.store_url = "sqlite://" + (dir_ / "deskpipe.db").string();
    StoreOptions options;
    options.url = config_.store_url;
    options.data_dir = config_.data_dir;
    options.dimension = embedder_.dimension();
    auto store = OpenStore(options);
    ASSERT_TRUE(store) << store.error().ToString();
    store_ = std::move(*store);
    for (int i = 0; i < 5; ++i) {
      source_.articles[std::to_string(i)] =
          "How to fix problem " + std::to_string(i) + ". Open the settings page, choose billing, and press retry. "
          "If the charge still shows twice, write to support with the invoice number.";
    }
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  RunSummary Sync() {
    Runner runner(config_, source_, embedder_, *store_);
    auto summary = runner.Run();
    EXPECT_TRUE(summary) << summary.error().ToString();
    return summary ? *summary : RunSummary{};
  }

  std::filesystem::path dir_;
  Config config_;
  CountingEmbedder embedder_;
  FakeArticleSource source_;
  std::unique_ptr<Store> store_;
};

TEST_F(EmbeddingCacheTest, ResyncOfUnchangedTextComputesNoEmbedding) {
  const RunSummary first = Sync();
  EXPECT_EQ(first.documents_written, 5);
  ASSERT_GT(embedder_.calls, 0);
  EXPECT_EQ(first.chunks_embedded, static_cast<int64_t>(embedder_.embedded.size()));
  EXPECT_GE(first.chunks_embedded, 5);

  embedder_.calls = 0;
  embedder_.embedded.clear();
  const RunSummary second = Sync();
  EXPECT_EQ(source_.runs, 2);
  EXPECT_EQ(embedder_.calls, 0);
  EXPECT_EQ(second.chunks_embedded, 0);
  EXPECT_EQ(second.documents_unchanged, 5);
  EXPECT_EQ(second.documents_written, 0);
}

TEST_F(EmbeddingCacheTest, ChangedDocumentReembedsOnlyItsNewText) {
  Sync();
  embedder_.calls = 0;
  embedder_.embedded.clear();
  source_.articles["3"] = "A completely new answer about exporting reports to CSV from the dashboard.";
  const RunSummary summary = Sync();
  EXPECT_EQ(summary.documents_written, 1);
  EXPECT_EQ(summary.documents_unchanged, 4);
  ASSERT_EQ(embedder_.embedded.size(), 1u);
  EXPECT_NE(embedder_.embedded[0].find("exporting reports"), std::string::npos);
  EXPECT_EQ(summary.chunks_embedded, 1);
}

TEST_F(EmbeddingCacheTest, SameTextInANewDocumentComesFromTheCache) {
  Sync();
  embedder_.calls = 0;
  embedder_.embedded.clear();
  // A new article with exactly the title and text of article 2: new document, known chunk text.
  source_.articles["9"] = source_.articles["2"];
  source_.titles["9"] = "Article 2";
  const RunSummary summary = Sync();
  EXPECT_EQ(summary.documents_written, 1);
  EXPECT_EQ(embedder_.calls, 0);
  EXPECT_EQ(summary.chunks_embedded, 0);
  EXPECT_GE(summary.chunks_cached, 1);
}

}  // namespace
}  // namespace deskpipe
