#include "store/sqlite_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/hash.h"
#include "embed/hashing_embedder.h"

namespace deskpipe {
namespace {

namespace fs = std::filesystem;

constexpr int kDim = 64;

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / (std::string("deskpipe_sqlite_store_test_") +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  StoreOptions Options(bool hybrid = true) {
    StoreOptions options;
    options.url = "sqlite://" + (dir_ / "db" / "deskpipe.db").string();
    options.data_dir = (dir_ / "data").string();
    options.dimension = kDim;
    options.hybrid = hybrid;
    return options;
  }

  std::unique_ptr<SqliteStore> Open(bool hybrid = true) {
    auto store = SqliteStore::Open((dir_ / "db" / "deskpipe.db").string(), Options(hybrid));
    EXPECT_TRUE(store.has_value()) << store.error().ToString();
    return store ? std::move(*store) : nullptr;
  }

  // A document whose chunks are `texts`, embedded with the hashing embedder.
  Document Doc(const std::string& tenant, const std::string& id, const std::string& type,
               const std::string& title, const std::vector<std::string>& texts) {
    Document doc;
    doc.id = id;
    doc.tenant_id = tenant;
    doc.platform = "freshdesk";
    doc.type = type;
    doc.title = title;
    doc.updated_at = "2025-03-11T09:42:17Z";
    doc.metadata = {{"status", "open"}};
    std::string all = title;
    for (size_t i = 0; i < texts.size(); ++i) {
      Chunk chunk;
      chunk.id = id + "#" + std::to_string(i);
      chunk.index = static_cast<int>(i);
      chunk.text = texts[i];
      chunk.content_hash = HashHex(texts[i]);
      chunk.vector = embedder_.EmbedOne(texts[i]);
      doc.chunks.push_back(std::move(chunk));
      all += texts[i];
    }
    doc.content_hash = HashHex(all);
    return doc;
  }

  Record Rec(const std::string& tenant, const std::string& id, const std::string& type) {
    Record r;
    r.id = id;
    r.original_id = id.substr(id.rfind('_') + 1);
    r.tenant_id = tenant;
    r.platform = "freshdesk";
    r.type = type;
    r.title = "title of " + id;
    r.content = "content of " + id;
    r.status = "open";
    r.raw = R"({"id":1})";
    return r;
  }

  BatchWrite Batch(const std::string& tenant = "acme") {
    BatchWrite batch;
    batch.tenant_id = tenant;
    batch.stream = "tickets";
    batch.cursor = {{"updated_since", "2025-03-11T09:42:17Z"}, {"page", 2}};
    batch.records = {Rec(tenant, tenant + "_freshdesk_1", "ticket"),
                     Rec(tenant, tenant + "_freshdesk_2", "ticket"),
                     Rec(tenant, tenant + "_freshdesk_agent-7", "agent")};
    batch.documents = {
        Doc(tenant, tenant + "_freshdesk_1", "ticket", "Printer jammed",
            {"Printer jammed: the office printer on floor three jams on every print job",
             "Agent: please remove the paper tray and clear the rollers"}),
        Doc(tenant, tenant + "_freshdesk_2", "ticket", "Password reset",
            {"Password reset email never arrives and I cannot log in to the portal"}),
        Doc(tenant, tenant + "_freshdesk_article-9", "article", "Refund policy",
            {"Refund policy: refunds are issued within fourteen days of purchase"}),
    };
    return batch;
  }

  int64_t Count(SqliteStore& store, const std::string& sql) {
    auto stmt = store.db().Prepare(sql);
    EXPECT_TRUE(stmt.has_value());
    auto row = (*stmt)->Step();
    EXPECT_TRUE(row.has_value() && *row) << sql;
    return (*stmt)->ColumnInt(0);
  }

  std::map<std::string, int64_t> Rowids(SqliteStore& store, const std::string& tenant) {
    std::map<std::string, int64_t> out;
    auto stmt = store.db().Prepare("SELECT id, rowid FROM chunks WHERE tenant_id = ?");
    EXPECT_TRUE(stmt.has_value());
    (*stmt)->Bind(1, tenant);
    while (true) {
      auto row = (*stmt)->Step();
      EXPECT_TRUE(row.has_value());
      if (!row || !*row) break;
      out[(*stmt)->ColumnText(0)] = (*stmt)->ColumnInt(1);
    }
    return out;
  }

  SearchQuery Query(const std::string& tenant, const std::string& text, bool with_vector = true) {
    SearchQuery query;
    query.tenant_id = tenant;
    query.text = text;
    if (with_vector) query.vector = embedder_.EmbedOne(text);
    query.top_k = 5;
    return query;
  }

  fs::path dir_;
  HashingEmbedder embedder_{kDim};
};

TEST_F(SqliteStoreTest, OpeningTwiceMigratesOnce) {
  {
    auto store = Open();
    ASSERT_TRUE(store);
    EXPECT_EQ(*store->SchemaVersion(), 6);
  }
  auto store = Open();
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->SchemaVersion(), 6);
  EXPECT_EQ(Count(*store, "SELECT COUNT(*) FROM schema_migrations"), 6);
  EXPECT_EQ(Count(*store, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'chunks_fts'"), 1);
  auto mode = store->db().Prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode.has_value());
  ASSERT_TRUE(*(*mode)->Step());
  EXPECT_EQ((*mode)->ColumnText(0), "wal");
  EXPECT_EQ(Count(*store, "PRAGMA page_size"), 16384);
}

// A database created with another page size (every store before 16 KB pages) keeps it and works as before.
TEST_F(SqliteStoreTest, AnExistingDatabaseKeepsItsPageSize) {
  fs::create_directories(dir_ / "db");
  {
    auto db = sqlite::SqliteDb::Open((dir_ / "db" / "deskpipe.db").string());
    ASSERT_TRUE(db.has_value());
    ASSERT_TRUE((*db)->Exec("PRAGMA page_size=4096; PRAGMA journal_mode=WAL; CREATE TABLE early (x);").has_value());
  }
  auto store = Open();
  ASSERT_TRUE(store);
  EXPECT_EQ(Count(*store, "PRAGMA page_size"), 4096);
  ASSERT_TRUE(store->Commit(Batch(), embedder_.model_id()).has_value());
  auto hits = store->Search(Query("acme", "printer jammed"));
  ASSERT_TRUE(hits.has_value());
  ASSERT_FALSE(hits->empty());
  EXPECT_EQ(hits->front().document_id, "acme_freshdesk_1");
}

TEST_F(SqliteStoreTest, OpenStoreParsesUrls) {
  auto store = OpenStore(Options());
  ASSERT_TRUE(store.has_value()) << store.error().ToString();
  EXPECT_TRUE(fs::exists(dir_ / "db" / "deskpipe.db"));

  // Relative: sqlite://rel/path.db resolves against the working directory.
  const fs::path old_cwd = fs::current_path();
  fs::current_path(dir_);
  StoreOptions relative = Options();
  relative.url = "sqlite://rel/dir/x.db";
  auto rel = OpenStore(relative);
  fs::current_path(old_cwd);
  ASSERT_TRUE(rel.has_value()) << rel.error().ToString();
  EXPECT_TRUE(fs::exists(dir_ / "rel" / "dir" / "x.db"));

  StoreOptions pg = Options();
  // A postgresql:// URL goes to libpq; a server that is not there is Unavailable, and the password is never
  // echoed.
  pg.url = "postgresql://user:secret@/db?host=" + (dir_ / "no-server-here").string();
  auto bad = OpenStore(pg);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(bad.error().message().find("secret"), std::string::npos);
  // libpq quotes a bad option's value; when that value is the password, it is still not shown.
  pg.url = "postgresql://user:s3cr3tpw@/db?host=" + (dir_ / "no-server-here").string() + "&port=s3cr3tpw";
  bad = OpenStore(pg);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message().find("s3cr3tpw"), std::string::npos) << bad.error().message();
  pg.url = "mysql://user:secret@host/db";
  bad = OpenStore(pg);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message().find("secret"), std::string::npos);

  StoreOptions none = Options();
  none.url = "/just/a/path.db";
  EXPECT_EQ(OpenStore(none).error().code(), StatusCode::kInvalidArgument);
  none.url = "sqlite://";
  EXPECT_EQ(OpenStore(none).error().code(), StatusCode::kInvalidArgument);
}

TEST_F(SqliteStoreTest, ADamagedDatabaseFileIsDataLossNamingTheFileNeverTheSql) {
  const fs::path db = dir_ / "bad" / "deskpipe.db";
  fs::create_directories(db.parent_path());
  // A valid header over pages of noise: SQLite opens it lazily and fails on the first statement.
  std::string bytes(4 * 16384, '\x33');
  const std::string header = std::string("SQLite format 3") + '\0';
  bytes.replace(0, header.size(), header);
  bytes[16] = 0x40;  // page size 16384
  bytes[17] = 0x00;
  for (int i : {24, 25, 26, 27, 92, 93, 94, 95}) bytes[static_cast<size_t>(i)] = 0;
  bytes[31] = 4;  // 4 pages, as many as the file holds
  std::ofstream(db, std::ios::binary | std::ios::trunc) << bytes;
  auto store = SqliteStore::Open(db.string(), Options());
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), StatusCode::kDataLoss) << store.error().ToString();
  EXPECT_NE(store.error().message().find("the store database " + db.string()), std::string::npos)
      << store.error().message();
  EXPECT_NE(store.error().message().find("restore it from a backup"), std::string::npos) << store.error().message();
  for (const char* sql : {"PRAGMA", "CREATE", "SELECT"}) {
    EXPECT_EQ(store.error().message().find(sql), std::string::npos) << store.error().message();
  }

  const fs::path directory = dir_ / "a-directory.db";
  fs::create_directories(directory);
  auto not_file = SqliteStore::Open(directory.string(), Options());
  ASSERT_FALSE(not_file.has_value());
  EXPECT_NE(not_file.error().message().find(directory.string() + " is a directory, not a regular file"),
            std::string::npos)
      << not_file.error().message();
}

TEST_F(SqliteStoreTest, CommitThenSearchByKeywordAndByVector) {
  auto store = Open();
  ASSERT_TRUE(store->Commit(Batch(), embedder_.model_id()).has_value());

  // Keyword only.
  auto keyword = store->Search(Query("acme", "rollers", /*with_vector=*/false));
  ASSERT_TRUE(keyword.has_value()) << keyword.error().ToString();
  ASSERT_EQ(keyword->size(), 1u);
  EXPECT_EQ((*keyword)[0].chunk_id, "acme_freshdesk_1#1");
  EXPECT_EQ((*keyword)[0].document_id, "acme_freshdesk_1");
  EXPECT_EQ((*keyword)[0].type, "ticket");
  EXPECT_EQ((*keyword)[0].title, "Printer jammed");
  EXPECT_EQ((*keyword)[0].keyword_rank, 1);
  EXPECT_EQ((*keyword)[0].vector_rank, 0);
  EXPECT_EQ((*keyword)[0].metadata["status"], "open");
  EXPECT_GT((*keyword)[0].keyword_score, 0);
  EXPECT_EQ((*keyword)[0].vector_score, 0);

  // Vector only (no shared word with the stored text would be needed, but the hashing embedder needs some).
  SearchQuery vector_only = Query("acme", "password reset email");
  vector_only.text.clear();
  auto by_vector = store->Search(vector_only);
  ASSERT_TRUE(by_vector.has_value());
  ASSERT_FALSE(by_vector->empty());
  EXPECT_EQ((*by_vector)[0].chunk_id, "acme_freshdesk_2#0");
  EXPECT_EQ((*by_vector)[0].vector_rank, 1);
  EXPECT_EQ((*by_vector)[0].keyword_rank, 0);

  // Both: the chunk first in both lists is first.
  auto fused = store->Search(Query("acme", "printer jams on floor three"));
  ASSERT_TRUE(fused.has_value());
  ASSERT_GE(fused->size(), 2u);
  EXPECT_EQ((*fused)[0].chunk_id, "acme_freshdesk_1#0");
  EXPECT_EQ((*fused)[0].keyword_rank, 1);
  EXPECT_EQ((*fused)[0].vector_rank, 1);
  EXPECT_GT((*fused)[0].score, (*fused)[1].score);
  for (size_t i = 1; i < fused->size(); ++i) EXPECT_LE((*fused)[i].score, (*fused)[i - 1].score);
  EXPECT_LE(fused->size(), 5u);

  // Type filter applies to both lists.
  SearchQuery articles = Query("acme", "printer refund");
  articles.types = {"article"};
  auto filtered = store->Search(articles);
  ASSERT_TRUE(filtered.has_value());
  ASSERT_FALSE(filtered->empty());
  for (const auto& hit : *filtered) EXPECT_EQ(hit.type, "article");
}

TEST_F(SqliteStoreTest, VectorRanksAreExactCosinesNotTheIndexsInt8Estimates) {
  // Found by a search over 3-d vectors: for the query (0, 1, 0), A's cosine is 0.0174 and B's 0.0119, but
  // their int8 codes estimate 0.0143 and 0.0157. The store must re-rank by the stored float vectors.
  StoreOptions options = Options();
  options.dimension = 3;
  auto opened = SqliteStore::Open((dir_ / "db" / "deskpipe.db").string(), options);
  ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
  auto& store = *opened;
  BatchWrite batch;
  batch.tenant_id = "acme";
  batch.stream = "tickets";
  for (const auto& [id, vector] : {std::pair<std::string, std::vector<float>>{"a", {1.0f, 0.0192f, -0.46f}},
                                   {"b", {1.0f, 0.012f, -0.11f}}}) {
    Document doc;
    doc.id = id;
    doc.tenant_id = "acme";
    doc.platform = "freshdesk";
    doc.type = "ticket";
    doc.content_hash = HashHex(id);
    Chunk chunk;
    chunk.id = id + "#0";
    chunk.text = "text of " + id;
    chunk.content_hash = HashHex(chunk.text);
    chunk.vector = vector;
    doc.chunks.push_back(chunk);
    batch.documents.push_back(doc);
  }
  ASSERT_TRUE(store->Commit(batch, "test-model").has_value());
  SearchQuery query;
  query.tenant_id = "acme";
  query.vector = {0.0f, 1.0f, 0.0f};
  query.top_k = 2;
  auto hits = store->Search(query);
  ASSERT_TRUE(hits.has_value()) << hits.error().ToString();
  ASSERT_EQ(hits->size(), 2u);
  EXPECT_EQ((*hits)[0].document_id, "a");
  EXPECT_EQ((*hits)[0].vector_rank, 1);
  EXPECT_EQ((*hits)[1].document_id, "b");
}

TEST_F(SqliteStoreTest, FusedOrderRanksAgreementAboveSingleListHits) {
  auto store = Open();
  ASSERT_TRUE(store->Commit(Batch(), embedder_.model_id()).has_value());
  auto hits = store->Search(Query("acme", "refund policy purchase"));
  ASSERT_TRUE(hits.has_value());
  ASSERT_FALSE(hits->empty());
  EXPECT_EQ((*hits)[0].document_id, "acme_freshdesk_article-9");
  EXPECT_GT((*hits)[0].keyword_rank, 0);
  EXPECT_GT((*hits)[0].vector_rank, 0);
  for (size_t i = 0; i < hits->size(); ++i) {
    const SearchHit& hit = (*hits)[i];
    if (i > 0) {
      EXPECT_LE(hit.score, (*hits)[i - 1].score);
    }
    // Each list's own score travels with the hit: BM25 > 0 where the words matched, the cosine where the
    // vector list had it.
    EXPECT_EQ(hit.keyword_rank > 0, hit.keyword_score > 0) << hit.chunk_id;
    if (hit.vector_rank == 0) {
      EXPECT_EQ(hit.vector_score, 0) << hit.chunk_id;
    }
    EXPECT_LE(hit.vector_score, 1.0 + 1e-6);
  }
}

TEST_F(SqliteStoreTest, ReplayingABatchChangesNothing) {
  auto store = Open();
  ASSERT_TRUE(store->Commit(Batch(), embedder_.model_id()).has_value());
  auto digest = store->ComputeDigest("acme");
  auto stats = store->Stats("acme");
  auto rowids = Rowids(*store, "acme");
  ASSERT_TRUE(digest.has_value() && stats.has_value());
  EXPECT_EQ(digest->documents, 3);
  EXPECT_EQ(digest->chunks, 4);
  EXPECT_EQ(digest->hex.size(), 16u);

  ASSERT_TRUE(store->Commit(Batch(), embedder_.model_id()).has_value());
  auto digest2 = store->ComputeDigest("acme");
  auto stats2 = store->Stats("acme");
  EXPECT_EQ(digest2->hex, digest->hex);
  EXPECT_EQ(stats2->chunks, 4);
  EXPECT_EQ(stats2->vectors, 4);
  EXPECT_EQ(stats2->records_by_type, stats->records_by_type);
  EXPECT_EQ(stats2->documents_by_type, stats->documents_by_type);
  EXPECT_EQ(Rowids(*store, "acme"), rowids);  // no vector churn
  EXPECT_EQ(Count(*store, "SELECT COUNT(*) FROM embedding_vectors"), 4);
  EXPECT_EQ(Count(*store, "SELECT COUNT(*) FROM chunks_fts"), 4);
}

TEST_F(SqliteStoreTest, ChangingOneDocumentReplacesExactlyItsChunks) {
  auto store = Open();
  ASSERT_TRUE(store->Commit(Batch(), embedder_.model_id()).has_value());
  auto before = Rowids(*store, "acme");

  BatchWrite change;
  change.tenant_id = "acme";
  change.stream = "tickets";
  change.cursor = {{"page", 3}};
  // Ticket 1: chunk 0 unchanged, chunk 1 rewritten, and chunk 1 of the old version had two chunks → now one
  // new text at index 1 and no index 2.
  change.documents = {Doc("acme", "acme_freshdesk_1", "ticket", "Printer jammed",
                          {"Printer jammed: the office printer on floor three jams on every print job",
                           "Agent: we replaced the fuser unit yesterday"})};
  ASSERT_TRUE(store->Commit(change, embedder_.model_id()).has_value());

  auto after = Rowids(*store, "acme");
  ASSERT_EQ(after.size(), 4u);
  EXPECT_EQ(after["acme_freshdesk_1#0"], before["acme_freshdesk_1#0"]);  // unchanged chunk keeps its key
  EXPECT_NE(after["acme_freshdesk_1#1"], before["acme_freshdesk_1#1"]);
  EXPECT_EQ(after["acme_freshdesk_2#0"], before["acme_freshdesk_2#0"]);

  auto stats = store->Stats("acme");
  EXPECT_EQ(stats->chunks, 4);
  EXPECT_EQ(stats->vectors, 4);  // the old vector went with its chunk
  auto old_text = store->Search(Query("acme", "rollers", false));
  EXPECT_TRUE(old_text->empty());
  auto new_text = store->Search(Query("acme", "fuser"));
  ASSERT_FALSE(new_text->empty());
  EXPECT_EQ((*new_text)[0].chunk_id, "acme_freshdesk_1#1");
  EXPECT_EQ((*new_text)[0].vector_rank, 1);

  // Shrinking a document drops its trailing chunks.
  change.documents = {Doc("acme", "acme_freshdesk_1", "ticket", "Printer jammed", {"just one chunk now"})};
  ASSERT_TRUE(store->Commit(change, embedder_.model_id()).has_value());
  EXPECT_EQ(store->Stats("acme")->chunks, 3);
  EXPECT_EQ(store->Stats("acme")->vectors, 3);
  EXPECT_EQ(Count(*store, "SELECT COUNT(*) FROM chunks_fts"), 3);
}

// Commit writes new chunks' FTS rows itself (migration 5); updates and deletes go through triggers. FTS5's
// integrity check compares the index with the chunks table after each kind of write.
TEST_F(SqliteStoreTest, KeywordIndexFollowsEveryKindOfChunkWrite) {
  auto store = Open();
  auto index_is_consistent = [&] {
    return store->db().Exec("INSERT INTO chunks_fts (chunks_fts, rank) VALUES ('integrity-check', 1)").has_value();
  };
  auto matches = [&](const std::string& words) {
    return Count(*store, "SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH '" + words + "'");
  };
  ASSERT_TRUE(store->Commit(Batch(), embedder_.model_id()).has_value());
  EXPECT_TRUE(index_is_consistent());
  EXPECT_EQ(matches("rollers"), 1);
  EXPECT_EQ(matches("title:printer"), 2);

  BatchWrite change;
  change.tenant_id = "acme";
  change.stream = "tickets";
  change.documents = {Doc("acme", "acme_freshdesk_1", "ticket", "Printer jammed",
                          {"Printer jammed: the office printer on floor three jams on every print job",
                           "Agent: we replaced the fuser unit yesterday"}),
                      Doc("acme", "acme_freshdesk_2", "ticket", "Login trouble",
                          {"Password reset email never arrives and I cannot log in to the portal"})};
  ASSERT_TRUE(store->Commit(change, embedder_.model_id()).has_value());
  EXPECT_TRUE(index_is_consistent());
  EXPECT_EQ(matches("rollers"), 0);
  EXPECT_EQ(matches("fuser"), 1);
  EXPECT_EQ(matches("title:password"), 0);  // retitled in place
  EXPECT_EQ(matches("title:login"), 1);

  BatchWrite tomb;
  tomb.tenant_id = "acme";
  tomb.stream = "deleted_tickets";
  tomb.removed_ids = {"acme_freshdesk_1"};
  ASSERT_TRUE(store->Commit(tomb, embedder_.model_id()).has_value());
  EXPECT_TRUE(index_is_consistent());
  EXPECT_EQ(matches("fuser"), 0);
  EXPECT_EQ(matches("printer"), 0);
  EXPECT_EQ(matches("refunds"), 1);

  // The check itself catches a chunk the index never saw.
  ASSERT_TRUE(store->db()
                  .Exec("INSERT INTO chunks (tenant_id, id, document_id, chunk_index, title, text, content_hash, "
                        "model_id) VALUES ('acme', 'stray#0', 'stray', 0, 'Stray', 'unindexed words', 'h', 'm')")
                  .has_value());
  EXPECT_FALSE(index_is_consistent());
}

TEST_F(SqliteStoreTest, TombstoneRemovesRowsChunksAndVectors) {
  auto store = Open();
  ASSERT_TRUE(store->Commit(Batch(), embedder_.model_id()).has_value());
  BatchWrite tomb;
  tomb.tenant_id = "acme";
  tomb.stream = "deleted_tickets";
  tomb.cursor = {{"page", 1}};
  tomb.removed_ids = {"acme_freshdesk_1", "acme_freshdesk_unknown"};
  ASSERT_TRUE(store->Commit(tomb, embedder_.model_id()).has_value());

  auto stats = store->Stats("acme");
  EXPECT_EQ(stats->records_by_type["ticket"], 1);
  EXPECT_EQ(stats->documents_by_type["ticket"], 1);
  EXPECT_EQ(stats->chunks, 2);
  EXPECT_EQ(stats->vectors, 2);
  auto hits = store->Search(Query("acme", "printer jammed rollers"));
  ASSERT_TRUE(hits.has_value());
  for (const auto& hit : *hits) EXPECT_NE(hit.document_id, "acme_freshdesk_1");
  EXPECT_EQ(Count(*store, "SELECT COUNT(*) FROM tickets WHERE id = 'acme_freshdesk_1'"), 0);
}

TEST_F(SqliteStoreTest, TenantsAreIsolated) {
  auto store = Open();
  ASSERT_TRUE(store->Commit(Batch("acme"), embedder_.model_id()).has_value());
  ASSERT_TRUE(store->BeginRun("acme").has_value());

  auto hits = store->Search(Query("globex", "printer jammed"));
  ASSERT_TRUE(hits.has_value());
  EXPECT_TRUE(hits->empty());
  auto stats = store->Stats("globex");
  EXPECT_TRUE(stats->records_by_type.empty());
  EXPECT_TRUE(stats->documents_by_type.empty());
  EXPECT_EQ(stats->chunks, 0);
  EXPECT_EQ(stats->vectors, 0);
  EXPECT_TRUE(stats->cursors.empty());
  EXPECT_TRUE(stats->last_run.is_null());
  EXPECT_EQ(store->ComputeDigest("globex")->documents, 0);
  EXPECT_NE(store->ComputeDigest("globex")->hex, store->ComputeDigest("acme")->hex);
  EXPECT_TRUE(store->LoadCursor("globex", "tickets")->is_null());
  EXPECT_TRUE(store->DocumentHashes("globex", {"acme_freshdesk_1"})->empty());

  // Same ids in another tenant do not collide.
  BatchWrite other = Batch("acme");
  other.tenant_id = "globex";
  for (auto& r : other.records) r.tenant_id = "globex";
  for (auto& d : other.documents) d.tenant_id = "globex";
  ASSERT_TRUE(store->Commit(other, embedder_.model_id()).has_value());
  EXPECT_EQ(store->Stats("globex")->chunks, 4);
  EXPECT_EQ(store->Stats("acme")->chunks, 4);

  EXPECT_EQ(store->Search(Query("Bad Tenant!", "x")).error().code(), StatusCode::kInvalidArgument);
  BatchWrite mixed = Batch("acme");
  mixed.documents[0].tenant_id = "globex";
  EXPECT_EQ(store->Commit(mixed, embedder_.model_id()).error().code(), StatusCode::kInvalidArgument);
}

TEST_F(SqliteStoreTest, TheWalIsCheckpointedWhileCursorsAreReadBetweenCommits) {
  // A sync reads its cursor (a statement that stops on its row) between commits. Were that statement left
  // open, its read snapshot would pin the WAL: no checkpoint, the database file never grows, the WAL does.
  const fs::path db_path = dir_ / "db" / "deskpipe.db";
  auto store = Open();
  const std::string filler(64 * 1024, 'x');
  for (int i = 0; i < 120; ++i) {  // ~8 MB of records: several auto-checkpoints' worth (1,000 pages each)
    ASSERT_TRUE(store->LoadCursor("acme", "tickets").has_value());
    BatchWrite batch;
    batch.tenant_id = "acme";
    batch.stream = "tickets";
    batch.cursor = {{"page", i}};
    Record record = Rec("acme", "acme_freshdesk_" + std::to_string(i), "ticket");
    record.content = filler + std::to_string(i);
    batch.records.push_back(record);
    ASSERT_TRUE(store->Commit(batch, embedder_.model_id()).has_value());
  }
  // Checkpoints run on the store's background thread: give it time (up to 30 s) to catch up.
  for (int i = 0; i < 3000 && fs::file_size(db_path) <= 4u << 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GT(fs::file_size(db_path), 4u << 20) << "nothing was checkpointed into the database file";
  // How far the WAL grows meanwhile depends on the background thread's timing; its bound and its restarts
  // are WalCheckpointerTest's.
}

TEST_F(SqliteStoreTest, CursorIsSavedWithTheBatch) {
  auto store = Open();
  EXPECT_TRUE(store->LoadCursor("acme", "tickets")->is_null());
  ASSERT_TRUE(store->Commit(Batch(), embedder_.model_id()).has_value());
  auto cursor = store->LoadCursor("acme", "tickets");
  ASSERT_TRUE(cursor.has_value());
  EXPECT_EQ(*cursor, Batch().cursor);
  EXPECT_EQ(store->Stats("acme")->cursors["tickets"], Batch().cursor);

  // A failed batch saves neither its rows nor its cursor.
  BatchWrite broken = Batch();
  broken.cursor = {{"page", 99}};
  broken.documents[1].chunks[0].vector.clear();
  broken.documents[1].chunks[0].content_hash = "changed";
  auto result = store->Commit(broken, embedder_.model_id());
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), StatusCode::kInternal);
  EXPECT_EQ(*store->LoadCursor("acme", "tickets"), Batch().cursor);
  EXPECT_EQ(store->Stats("acme")->chunks, 4);
}

TEST_F(SqliteStoreTest, EmbeddingCacheReturnsStoredVectorsAndDocumentHashes) {
  auto store = Open();
  BatchWrite batch = Batch();
  ASSERT_TRUE(store->Commit(batch, embedder_.model_id()).has_value());
  const Chunk& chunk = batch.documents[0].chunks[0];
  auto cached = store->CachedEmbeddings(embedder_.model_id(), {chunk.content_hash, "0000000000000000"});
  ASSERT_TRUE(cached.has_value());
  ASSERT_EQ(cached->size(), 1u);
  EXPECT_EQ(cached->at(chunk.content_hash), chunk.vector);
  EXPECT_TRUE(store->CachedEmbeddings("other-model", {chunk.content_hash})->empty());

  auto hashes = store->DocumentHashes("acme", {"acme_freshdesk_2", "acme_freshdesk_404"});
  ASSERT_TRUE(hashes.has_value());
  ASSERT_EQ(hashes->size(), 1u);
  EXPECT_EQ(hashes->at("acme_freshdesk_2"), batch.documents[1].content_hash);
}

// The cache's vectors are appended and keyed in sorted folds: before a fold they are found through the
// store's memory, after it (and in the next process) through embedding_keys; the same text is stored once
// whether it repeats within a batch, before the fold or after it.
TEST_F(SqliteStoreTest, EmbeddingCacheStoresEachTextOnceBeforeAndAfterItsKeysAreFolded) {
  const std::string printer = "Printer jammed: the office printer on floor three jams on every print job";
  {
    auto store = Open();
    BatchWrite batch = Batch();
    batch.documents.push_back(Doc("acme", "acme_freshdesk_3", "ticket", "Same text", {printer}));
    ASSERT_TRUE(store->Commit(batch, embedder_.model_id()).has_value());
    EXPECT_EQ(Count(*store, "SELECT COUNT(*) FROM embedding_vectors"), 4);
    EXPECT_EQ(Count(*store, "SELECT COUNT(*) FROM embedding_keys"), 0);  // not folded yet
    auto cached = store->CachedEmbeddings(embedder_.model_id(), {HashHex(printer)});
    ASSERT_TRUE(cached.has_value());
    EXPECT_EQ(cached->size(), 1u);

    BatchWrite again;
    again.tenant_id = "acme";
    again.stream = "tickets";
    again.documents = {Doc("acme", "acme_freshdesk_4", "ticket", "Again", {printer})};
    ASSERT_TRUE(store->Commit(again, embedder_.model_id()).has_value());
    EXPECT_EQ(Count(*store, "SELECT COUNT(*) FROM embedding_vectors"), 4);
  }  // closing folds
  auto store = Open();
  EXPECT_EQ(Count(*store, "SELECT COUNT(*) FROM embedding_keys"), 4);
  EXPECT_EQ(Count(*store,
                  "SELECT CAST(value AS INTEGER) FROM meta WHERE tenant_id = '' AND "
                  "key = 'embedding_keys_through'"),
            Count(*store, "SELECT MAX(id) FROM embedding_vectors"));
  auto cached = store->CachedEmbeddings(embedder_.model_id(), {HashHex(printer), HashHex("never stored")});
  ASSERT_TRUE(cached.has_value());
  ASSERT_EQ(cached->size(), 1u);
  EXPECT_EQ(cached->at(HashHex(printer)), embedder_.EmbedOne(printer));

  BatchWrite later;
  later.tenant_id = "acme";
  later.stream = "tickets";
  later.documents = {Doc("acme", "acme_freshdesk_5", "ticket", "Later", {printer, "A text never seen"})};
  ASSERT_TRUE(store->Commit(later, embedder_.model_id()).has_value());
  EXPECT_EQ(Count(*store, "SELECT COUNT(*) FROM embedding_vectors"), 5);
  EXPECT_EQ(Count(*store, "SELECT COUNT(DISTINCT vector_id) FROM chunks WHERE text = '" + printer + "'"), 1);
  auto verified = store->Verify("acme", false);
  ASSERT_TRUE(verified.has_value());
  EXPECT_TRUE(verified->ok());
  EXPECT_EQ(verified->chunks, 8);
}

// Vectors a crashed process appended but never keyed are keyed by the next fold, and a damaged cache row is
// not reused for a new chunk.
TEST_F(SqliteStoreTest, UnkeyedVectorsOfACrashedProcessAreKeyedLaterAndDamagedOnesNotReused) {
  const std::string refund = "Refund policy: refunds are issued within fourteen days of purchase";
  {
    auto store = Open();
    ASSERT_TRUE(store->Commit(Batch(), embedder_.model_id()).has_value());
  }
  {
    auto db = sqlite::SqliteDb::Open((dir_ / "db" / "deskpipe.db").string());
    ASSERT_TRUE(db.has_value());
    // As a crash before the fold leaves it: vectors past the mark, no keys. One vector is also truncated.
    const std::string crashed_and_damaged =
        "DELETE FROM embedding_keys; "
        "UPDATE meta SET value = '0' WHERE tenant_id = '' AND key = 'embedding_keys_through'; "
        "UPDATE embedding_vectors SET vector = substr(vector, 1, 8) WHERE content_hash = '" + HashHex(refund) + "'";
    ASSERT_TRUE((*db)->Exec(crashed_and_damaged).has_value());
  }
  auto store = Open();
  EXPECT_TRUE(store->CachedEmbeddings(embedder_.model_id(), {HashHex(refund)})->empty());
  BatchWrite batch;
  batch.tenant_id = "acme";
  batch.stream = "tickets";
  batch.documents = {Doc("acme", "acme_freshdesk_6", "ticket", "Refund again", {refund})};
  ASSERT_TRUE(store->Commit(batch, embedder_.model_id()).has_value());
  EXPECT_EQ(Count(*store, "SELECT COUNT(*) FROM embedding_vectors"), 5);  // damaged copy not reused
  ASSERT_TRUE(store->Flush().has_value());
  EXPECT_EQ(Count(*store, "SELECT COUNT(*) FROM embedding_keys"), 4);  // one key per text: the newest copy
  const std::string password = "Password reset email never arrives and I cannot log in to the portal";
  auto cached = store->CachedEmbeddings(embedder_.model_id(), {HashHex(password), HashHex(refund)});
  ASSERT_TRUE(cached.has_value());
  EXPECT_EQ(cached->size(), 2u);
  EXPECT_EQ(cached->at(HashHex(refund)), embedder_.EmbedOne(refund));
}

// A database written before migration 4 (one keyed `embeddings` table) keeps every vector: chunks point at
// them, keys find them, and the index rebuilt from SQL answers searches.
TEST_F(SqliteStoreTest, MigrationFourMovesTheEmbeddingCacheAndKeepsEveryVector) {
  {
    auto store = Open();
    ASSERT_TRUE(store->Commit(Batch(), embedder_.model_id()).has_value());
  }
  {
    auto db = sqlite::SqliteDb::Open((dir_ / "db" / "deskpipe.db").string());
    ASSERT_TRUE(db.has_value());
    auto downgraded = (*db)->Exec(R"sql(
CREATE TABLE embeddings (
  model_id TEXT NOT NULL, content_hash TEXT NOT NULL, dim INTEGER NOT NULL, vector BLOB NOT NULL,
  PRIMARY KEY (model_id, content_hash));
INSERT INTO embeddings SELECT model_id, content_hash, dim, vector FROM embedding_vectors;
DROP TABLE embedding_vectors;
DROP TABLE embedding_keys;
DROP TRIGGER chunks_fts_update;
ALTER TABLE chunks DROP COLUMN vector_id;
CREATE TRIGGER chunks_fts_update AFTER UPDATE ON chunks BEGIN
  INSERT INTO chunks_fts (chunks_fts, rowid, text, title) VALUES ('delete', old.rowid, old.text, old.title);
  INSERT INTO chunks_fts (rowid, text, title) VALUES (new.rowid, new.text, new.title);
END;
CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
  INSERT INTO chunks_fts (rowid, text, title) VALUES (new.rowid, new.text, new.title);
END;
DELETE FROM meta WHERE tenant_id = '';
ALTER TABLE documents DROP COLUMN priority;
ALTER TABLE documents DROP COLUMN group_name;
ALTER TABLE documents DROP COLUMN group_id;
ALTER TABLE documents DROP COLUMN language;
ALTER TABLE documents DROP COLUMN created_at;
ALTER TABLE documents DROP COLUMN tags;
UPDATE documents SET metadata = '{"status":"open","priority":"urgent","tags":["vip"],"group_id":501}'
  WHERE id = 'acme_freshdesk_1';
DELETE FROM schema_migrations WHERE version >= 4;
)sql");
    ASSERT_TRUE(downgraded.has_value()) << downgraded.error().ToString();
  }
  for (const char* suffix : {"", ".gen"}) {
    fs::remove(dir_ / "data" / "vectors" / (std::string("acme.usearch") + suffix));
  }
  auto store = Open();
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->SchemaVersion(), 6);
  // Migration 6 filled the filter columns from the metadata.
  SearchQuery filtered = Query("acme", "printer");
  filtered.tags = {"vip"};
  filtered.priorities = {"urgent"};
  filtered.groups = {"501"};
  auto found = store->Search(filtered);
  ASSERT_TRUE(found.has_value()) << found.error().ToString();
  ASSERT_FALSE(found->empty());
  for (const SearchHit& hit : *found) EXPECT_EQ(hit.document_id, "acme_freshdesk_1");
  EXPECT_EQ(Count(*store, "SELECT COUNT(*) FROM chunks WHERE vector_id IS NULL"), 0);
  EXPECT_EQ(Count(*store, "SELECT COUNT(*) FROM embedding_keys"), 4);
  auto hits = store->Search(Query("acme", "printer jammed"));  // the index is refilled from SQL first
  ASSERT_TRUE(hits.has_value());
  ASSERT_FALSE(hits->empty());
  EXPECT_EQ(hits->front().document_id, "acme_freshdesk_1");
  auto verified = store->Verify("acme", false);
  ASSERT_TRUE(verified.has_value()) << verified.error().ToString();
  EXPECT_TRUE(verified->ok());
  EXPECT_EQ(verified->vectors, 4);
  const std::string password = "Password reset email never arrives and I cannot log in to the portal";
  EXPECT_EQ(store->CachedEmbeddings(embedder_.model_id(), {HashHex(password)})->at(HashHex(password)),
            embedder_.EmbedOne(password));
  // Migration 5 took the insert trigger away: a chunk written now is indexed once, by Commit.
  EXPECT_EQ(Count(*store, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'chunks_fts_insert'"), 0);
  BatchWrite batch;
  batch.tenant_id = "acme";
  batch.stream = "tickets";
  batch.documents = {Doc("acme", "acme_freshdesk_8", "ticket", "Toner", {"toner cartridge leaks"})};
  ASSERT_TRUE(store->Commit(batch, embedder_.model_id()).has_value());
  EXPECT_TRUE(
      store->db().Exec("INSERT INTO chunks_fts (chunks_fts, rank) VALUES ('integrity-check', 1)").has_value());
  EXPECT_EQ(Count(*store, "SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH 'toner'"), 1);
}

TEST_F(SqliteStoreTest, FtsSyntaxInQueriesIsTreatedAsText) {
  auto store = Open();
  ASSERT_TRUE(store->Commit(Batch(), embedder_.model_id()).has_value());
  for (const char* text :
       {"\"unbalanced quote", "printer AND OR NOT", "NEAR(printer jammed)", "title:refund", "col*umn ^start",
        "-minus +plus", "a\"b'c(d)e{f}g[h]", "", "   ", "ünïcödé 東京", "'; DROP TABLE chunks; --"}) {
    auto hits = store->Search(Query("acme", text, false));
    EXPECT_TRUE(hits.has_value()) << text << ": " << hits.error().ToString();
  }
  EXPECT_EQ(SqliteStore::FtsMatchExpression("Printer \"jammed\" AND printer"),
            "\"printer\" OR \"jammed\"");  // "and" is a stop word
  EXPECT_EQ(SqliteStore::FtsMatchExpression("?!"), "");
  auto hits = store->Search(Query("acme", "title:refund", false));
  ASSERT_FALSE(hits->empty());
  EXPECT_EQ((*hits)[0].document_id, "acme_freshdesk_article-9");
  EXPECT_EQ(Count(*store, "SELECT COUNT(*) FROM chunks"), 4);
}

TEST_F(SqliteStoreTest, SealedVectorSegmentsServeSearchesThroughUpdatesAndRepairCompactsThem) {
  StoreOptions options = Options();
  options.vector_segment_size = 8;  // sealed every 8 vectors: 20 chunks make several segments
  const auto topics = std::vector<std::string>{"printer jams", "refund request", "password reset", "vpn drops",
                                               "invoice copy", "laptop battery", "email bounce", "calendar sync",
                                               "mobile crash", "export report"};
  auto open = [&] {
    auto store = SqliteStore::Open((dir_ / "db" / "deskpipe.db").string(), options);
    EXPECT_TRUE(store.has_value()) << store.error().ToString();
    return std::move(*store);
  };
  auto commit = [&](SqliteStore& store, const Document& doc) {
    BatchWrite batch;
    batch.tenant_id = "acme";
    batch.stream = "tickets";
    batch.documents = {doc};
    ASSERT_TRUE(store.Commit(batch, embedder_.model_id()).has_value());
  };
  auto top_document = [&](SqliteStore& store, const std::string& text) {
    SearchQuery query = Query("acme", text);
    query.text.clear();  // the vector side alone
    auto hits = store.Search(query);
    EXPECT_TRUE(hits.has_value());
    if (!hits || hits->empty()) return std::string("none");
    // Rank 1 of the vector list is a live chunk (a dead vector ranked first would leave a gap here).
    EXPECT_EQ((*hits)[0].vector_rank, 1) << text;
    return (*hits)[0].document_id + " " + (*hits)[0].chunk_id;
  };
  {
    auto store = open();
    for (size_t i = 0; i < topics.size(); ++i) {
      const std::string id = "acme_freshdesk_" + std::to_string(i);
      commit(*store, Doc("acme", id, "ticket", topics[i], {topics[i] + " details", topics[i] + " follow up"}));
    }
    // Ticket 0 is rewritten: its two old chunks (now in a sealed segment) die.
    commit(*store, Doc("acme", "acme_freshdesk_0", "ticket", "keyboard", {"keyboard keys stick", "keyboard"}));
    EXPECT_EQ(top_document(*store, "keyboard keys stick"), "acme_freshdesk_0 acme_freshdesk_0#0");
    EXPECT_EQ(top_document(*store, "mobile crash details"), "acme_freshdesk_8 acme_freshdesk_8#0");
    // The dead vectors of ticket 0 are never returned, even for their own text.
    EXPECT_NE(top_document(*store, "printer jams details"), "acme_freshdesk_0 acme_freshdesk_0#0");
    EXPECT_EQ(store->Stats("acme")->vectors, 20);
  }
  size_t sealed_files = 0;
  for (const auto& entry : fs::directory_iterator(dir_ / "data" / "vectors")) {
    sealed_files += entry.path().filename().string().find(".sealed-") != std::string::npos ? 1 : 0;
  }
  EXPECT_GE(sealed_files, 2u);

  auto store = open();  // reopened: sealed segments are read back from their files
  EXPECT_EQ(top_document(*store, "calendar sync follow up"), "acme_freshdesk_7 acme_freshdesk_7#1");
  auto found = store->Verify("acme", /*repair=*/false);
  ASSERT_TRUE(found.has_value()) << found.error().ToString();
  EXPECT_TRUE(found->ok());
  EXPECT_EQ(found->vectors, 20);
  EXPECT_EQ(found->dead_vectors, 2);
  auto repaired = store->Verify("acme", /*repair=*/true);
  ASSERT_TRUE(repaired.has_value()) << repaired.error().ToString();
  EXPECT_EQ(repaired->repaired, 2);
  auto after = store->Verify("acme", /*repair=*/false);
  ASSERT_TRUE(after.has_value());
  EXPECT_TRUE(after->ok());
  EXPECT_EQ(after->dead_vectors, 0);
  EXPECT_EQ(after->vectors, 20);
  EXPECT_EQ(top_document(*store, "keyboard keys stick"), "acme_freshdesk_0 acme_freshdesk_0#0");
}

TEST_F(SqliteStoreTest, VectorIndexIsRebuiltFromSqlAfterACrash) {
  const std::string index_path = (dir_ / "data" / "vectors" / "acme.usearch").string();
  {
    auto store = Open();
    ASSERT_TRUE(store->Commit(Batch(), embedder_.model_id()).has_value());
    ASSERT_TRUE(store->Flush().has_value());
    ASSERT_TRUE(fs::exists(index_path));
    ASSERT_TRUE(fs::exists(index_path + ".gen"));
    // Snapshot the flushed index, then commit more: SQL moves ahead of the snapshot.
    fs::copy_file(index_path, index_path + ".snap");
    fs::copy_file(index_path + ".gen", index_path + ".gen.snap");
    BatchWrite more;
    more.tenant_id = "acme";
    more.stream = "tickets";
    more.documents = {
        Doc("acme", "acme_freshdesk_3", "ticket", "VPN", {"VPN client disconnects every hour"})};
    ASSERT_TRUE(store->Commit(more, embedder_.model_id()).has_value());
  }
  // "Crash": the files on disk are the ones from before the last commit.
  fs::copy_file(index_path + ".snap", index_path, fs::copy_options::overwrite_existing);
  fs::copy_file(index_path + ".gen.snap", index_path + ".gen", fs::copy_options::overwrite_existing);
  {
    auto store = Open();
    SearchQuery query = Query("acme", "VPN client disconnects");
    query.text.clear();
    auto hits = store->Search(query);
    ASSERT_TRUE(hits.has_value());
    ASSERT_FALSE(hits->empty());
    EXPECT_EQ((*hits)[0].document_id, "acme_freshdesk_3");
    EXPECT_EQ(store->Stats("acme")->vectors, 5);
  }
  // Index file lost entirely.
  fs::remove(index_path);
  {
    auto store = Open();
    EXPECT_EQ(store->Stats("acme")->vectors, 5);
  }
  // Sidecar altered / corrupt index file.
  std::ofstream(index_path + ".gen") << "12345\n";
  {
    auto store = Open();
    EXPECT_EQ(store->Stats("acme")->vectors, 5);
  }
  std::ofstream(index_path, std::ios::trunc) << "garbage";
  {
    auto store = Open();
    EXPECT_EQ(store->Stats("acme")->vectors, 5);
    auto hits = store->Search(Query("acme", "password reset email"));
    ASSERT_FALSE(hits->empty());
    EXPECT_EQ((*hits)[0].document_id, "acme_freshdesk_2");
  }
}

TEST_F(SqliteStoreTest, VectorOnlyModeWritesNoRecordRows) {
  auto store = Open(/*hybrid=*/false);
  ASSERT_TRUE(store->Commit(Batch(), embedder_.model_id()).has_value());
  auto stats = store->Stats("acme");
  EXPECT_TRUE(stats->records_by_type.empty());
  EXPECT_EQ(Count(*store, "SELECT COUNT(*) FROM tickets"), 0);
  EXPECT_EQ(Count(*store, "SELECT COUNT(*) FROM records"), 0);
  EXPECT_EQ(stats->chunks, 4);
  EXPECT_EQ(stats->vectors, 4);
  EXPECT_EQ(stats->documents_by_type["ticket"], 2);
  EXPECT_FALSE(store->Search(Query("acme", "printer"))->empty());
}

TEST_F(SqliteStoreTest, HybridModeWritesRecordsIntoTheirTypeTables) {
  auto store = Open();
  ASSERT_TRUE(store->Commit(Batch(), embedder_.model_id()).has_value());
  auto stats = store->Stats("acme");
  EXPECT_EQ(stats->records_by_type["ticket"], 2);
  EXPECT_EQ(stats->records_by_type["agent"], 1);
  EXPECT_EQ(Count(*store, "SELECT COUNT(*) FROM tickets WHERE tenant_id = 'acme'"), 2);
  EXPECT_EQ(Count(*store, "SELECT COUNT(*) FROM records WHERE type = 'agent'"), 1);
}

TEST_F(SqliteStoreTest, RunsAreRecorded) {
  auto store = Open();
  auto lock = store->LockTenantForWrite("acme", {});  // a run nobody holds the lock of shows "interrupted"
  ASSERT_TRUE(lock.has_value()) << lock.error().ToString();
  auto run = store->BeginRun("acme");
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(store->Stats("acme")->last_run["state"], "running");
  ASSERT_TRUE(store->FinishRun("acme", *run, "succeeded", {{"records", 3}}).has_value());
  auto last = store->Stats("acme")->last_run;
  EXPECT_EQ(last["id"], *run);
  EXPECT_EQ(last["state"], "succeeded");
  EXPECT_EQ(last["summary"]["records"], 3);
  EXPECT_FALSE(last["finished_at"].get<std::string>().empty());
  EXPECT_EQ(store->FinishRun("globex", *run, "failed", {}).error().code(), StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, DeadLettersCountAttempts) {
  auto store = Open();
  BatchWrite batch;
  batch.tenant_id = "acme";
  batch.stream = "tickets";
  batch.dead_letters = {{"tickets", "acme_freshdesk_5", "map", "InvalidRecord", "missing subject"}};
  ASSERT_TRUE(store->Commit(batch, embedder_.model_id()).has_value());
  ASSERT_TRUE(store->Commit(batch, embedder_.model_id()).has_value());
  EXPECT_EQ(Count(*store, "SELECT attempts FROM dead_letters WHERE record_id = 'acme_freshdesk_5'"), 2);
}

}  // namespace
}  // namespace deskpipe
