// Each stage on its own, with its inputs made by hand.
#include <atomic>
#include <string>
#include <unordered_map>
#include <vector>

#include <gtest/gtest.h>

#include "embed/hashing_embedder.h"
#include "pipeline/stages/chunk_stage.h"
#include "pipeline/stages/document_stage.h"
#include "pipeline/stages/embed_stage.h"
#include "pipeline/stages/extract_stage.h"
#include "pipeline/stages/transform_stage.h"
#include "transforms/chunker.h"
#include "transforms/thread.h"

namespace deskpipe::stages {
namespace {

Record MakeRecord(const std::string& type, const std::string& id, const std::string& content) {
  Record record;
  record.id = id;
  record.original_id = id;
  record.tenant_id = "acme";
  record.platform = "freshdesk";
  record.type = type;
  record.title = "Title of " + id;
  record.content = content;
  record.updated_at = "2026-01-01T00:00:00Z";
  return record;
}

TEST(TransformStageTest, RejectedRecordsAreFetchLettersWhenTransientAndMapLettersOtherwise) {
  std::vector<DeadLetter> letters;
  AddRejectedRecordLetters("tickets",
                           {{"ticket 1", Unavailable("503 after 5 tries")}, {"ticket 2", InvalidRecord("no requester")}},
                           letters);
  ASSERT_EQ(letters.size(), 2u);
  EXPECT_EQ(letters[0].stage, "fetch");
  EXPECT_EQ(letters[0].error_class, "Unavailable");
  EXPECT_EQ(letters[1].stage, "map");
  EXPECT_EQ(letters[1].message, "no requester");
}

TEST(TransformStageTest, AnUnconvertibleRecordIsALetterAndTheOthersKeepTheirOrder) {
  std::vector<Record> records = {MakeRecord("ticket", "1", "<p>first</p>"), MakeRecord("ticket", "2", ""),
                                 MakeRecord("ticket", "3", "third")};
  records[0].content_is_html = true;
  for (int i = 0; i < 5000; ++i) records[1].content += "<b>";  // nests deeper than HTML → text takes
  records[1].content_is_html = true;
  std::vector<DeadLetter> letters;
  TransformRecords("tickets", records, letters);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].id, "1");
  EXPECT_FALSE(records[0].content_is_html);
  EXPECT_EQ(records[0].content.find('<'), std::string::npos) << records[0].content;
  EXPECT_EQ(records[1].id, "3");
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].record_id, "2");
  EXPECT_EQ(letters[0].stage, "transform");
}

TEST(ExtractStageTest, WithoutAnExtractorEveryAttachmentIsALetterAndTheFactoryIsAskedOnce) {
  int created = 0;
  ExtractStage stage([&]() -> Result<extract::Extractor> {
    ++created;
    return Error(InvalidArgument("deskpipe-extract-worker not found"));
  });
  std::vector<Record> plain = {MakeRecord("ticket", "1", "no files")};
  std::vector<DeadLetter> letters;
  EXPECT_EQ(stage.Run("tickets", plain, letters), 0);
  EXPECT_EQ(created, 0) << "no attachment, no extractor needed";

  std::vector<Record> records = {MakeRecord("ticket", "2", "files")};
  Attachment readable;
  readable.id = "a";
  readable.name = "a.txt";
  readable.bytes = "hello";
  Attachment lost;
  lost.id = "b";
  lost.download_error = "HTTP 404";
  records[0].attachments = {readable, lost};
  EXPECT_EQ(stage.Run("tickets", records, letters), 0);
  EXPECT_EQ(stage.Run("tickets", records, letters), 0);
  EXPECT_EQ(created, 1);
  ASSERT_EQ(letters.size(), 4u);
  EXPECT_EQ(letters[0].record_id, "2/attachment-a");
  EXPECT_EQ(letters[0].stage, "extract");
  EXPECT_EQ(letters[0].error_class, "InvalidArgument");
  EXPECT_EQ(letters[1].record_id, "2/attachment-b");
  EXPECT_EQ(letters[1].stage, "download");
}

TEST(DocumentStageTest, TheStoredHashCoversTheMetadataAsWellAsTheText) {
  std::vector<Record> records = {MakeRecord("ticket", "1", "The printer is on fire")};
  records[0].status = "open";
  const std::vector<Document> open = BuildBatchDocuments(records);
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(BuildBatchDocuments(records)[0].content_hash, open[0].content_hash) << "a function of its input";
  EXPECT_NE(open[0].content_hash, transforms::DocumentContentHash(open[0]));

  records[0].status = "closed";
  const std::vector<Document> closed = BuildBatchDocuments(records);
  EXPECT_EQ(transforms::DocumentContentHash(closed[0]), transforms::DocumentContentHash(open[0]));
  EXPECT_NE(closed[0].content_hash, open[0].content_hash) << "a status change rewrites the document";
}

Document MakeDocument(const std::string& id, const std::string& hash, const std::string& text) {
  Document document;
  document.id = id;
  document.title = "Title " + id;
  document.content_hash = hash;
  document.sections.push_back({"customer", text});
  return document;
}

TEST(ChunkStageTest, UnchangedDocumentsAreDroppedAndTheRestChunkedInOrder) {
  std::vector<Document> documents = {MakeDocument("1", "h1", "one"), MakeDocument("2", "h2", "two"),
                                     MakeDocument("3", "h3", "three")};
  std::vector<std::string> asked;
  auto stored = [&](const std::vector<std::string>& ids) -> Result<std::unordered_map<std::string, std::string>> {
    asked = ids;
    return std::unordered_map<std::string, std::string>{{"1", "old"}, {"2", "h2"}};
  };
  auto chunked = ChunkChangedDocuments(documents, stored, {.max_tokens = 64, .overlap_tokens = 8},
                                       [](std::string_view text) { return transforms::CountWordTokens(text); });
  ASSERT_TRUE(chunked.has_value()) << chunked.error().ToString();
  EXPECT_EQ(asked, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(chunked->unchanged, 1);
  ASSERT_EQ(chunked->changed.size(), 2u);
  EXPECT_EQ(chunked->changed[0].id, "1");
  EXPECT_EQ(chunked->changed[1].id, "3");
  for (const Document& document : chunked->changed) EXPECT_FALSE(document.chunks.empty());

  auto failing = [](const std::vector<std::string>&) -> Result<std::unordered_map<std::string, std::string>> {
    return Error(Unavailable("database is locked"));
  };
  EXPECT_FALSE(ChunkChangedDocuments(documents, failing, {}, transforms::CountWordTokens).has_value());
}

// Counts its calls and the texts it was given; optionally answers with one vector too few.
class CountingEmbedder : public HashingEmbedder {
 public:
  explicit CountingEmbedder(bool network_bound = false) : HashingEmbedder(16), network_bound_(network_bound) {}
  EmbedderCapabilities capabilities() const override {
    return {.thread_safe = true, .network_bound = network_bound_};
  }
  Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts) override {
    ++calls;
    largest_call = std::max(largest_call, texts.size());
    embedded += texts.size();
    auto vectors = HashingEmbedder::Embed(texts);
    if (vectors && short_answer) vectors->pop_back();
    return vectors;
  }
  int calls = 0;
  size_t largest_call = 0;
  size_t embedded = 0;
  bool short_answer = false;

 private:
  bool network_bound_;
};

Chunk MakeChunk(const std::string& text) {
  Chunk chunk;
  chunk.text = text;
  chunk.content_hash = "hash of " + text;
  return chunk;
}

TEST(EmbedStageTest, CachedVectorsAreReusedAndEachNewTextIsEmbeddedOnceInBatches) {
  CountingEmbedder embedder;
  const std::vector<float> cached_vector(16, 0.25f);
  EmbedStage stage(embedder, /*batch_size=*/2, /*serialize=*/true,
                   [&](const std::vector<std::string>&) -> Result<std::unordered_map<std::string, std::vector<float>>> {
                     return std::unordered_map<std::string, std::vector<float>>{{"hash of cached", cached_vector}};
                   });
  EXPECT_FALSE(stage.network_bound());
  std::vector<Document> documents(2);
  documents[0].chunks = {MakeChunk("cached"), MakeChunk("alpha"), MakeChunk("beta")};
  documents[1].chunks = {MakeChunk("alpha"), MakeChunk("gamma")};
  int64_t heard = 0;
  auto counts = stage.Run(documents, [&](int64_t vectors) { heard += vectors; });
  ASSERT_TRUE(counts.has_value()) << counts.error().ToString();
  EXPECT_EQ(counts->cached, 1);
  EXPECT_EQ(counts->embedded, 3) << "alpha twice in the batch is embedded once";
  EXPECT_EQ(heard, 4);
  EXPECT_EQ(embedder.calls, 2);
  EXPECT_EQ(embedder.largest_call, 2u);
  EXPECT_EQ(documents[0].chunks[0].vector, cached_vector);
  EXPECT_EQ(documents[0].chunks[1].vector, documents[1].chunks[0].vector);
  for (const Document& document : documents) {
    for (const Chunk& chunk : document.chunks) EXPECT_EQ(chunk.vector.size(), 16u) << chunk.text;
  }
}

TEST(EmbedStageTest, AnAnswerWithTheWrongNumberOfVectorsFailsAndTheCapabilityIsReported) {
  CountingEmbedder embedder(/*network_bound=*/true);
  embedder.short_answer = true;
  EmbedStage stage(embedder, 8, false,
                   [](const std::vector<std::string>&) -> Result<std::unordered_map<std::string, std::vector<float>>> {
                     return std::unordered_map<std::string, std::vector<float>>{};
                   });
  EXPECT_TRUE(stage.network_bound());
  std::vector<Document> documents(1);
  documents[0].chunks = {MakeChunk("one"), MakeChunk("two")};
  auto counts = stage.Run(documents);
  ASSERT_FALSE(counts.has_value());
  EXPECT_EQ(counts.error().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace deskpipe::stages
