#include "store/postgres_store.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/hash.h"
#include "core/ids.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/time.h"
#include "store/store_common.h"

namespace deskpipe {
namespace {

using pg::Param;
using pg::PgResult;
namespace sc = store_common;

// Taken (transaction-scoped) by every migration run, so concurrent workers migrate one after the other.
constexpr int64_t kMigrationLockKey = 0x646573b9;  // "des" + tag

constexpr char kRecordColumns[] =
    "tenant_id TEXT NOT NULL, id TEXT NOT NULL, original_id TEXT NOT NULL, platform TEXT NOT NULL DEFAULT '', "
    "parent_id TEXT NOT NULL DEFAULT '', title TEXT NOT NULL DEFAULT '', content TEXT NOT NULL DEFAULT '', "
    "status TEXT NOT NULL DEFAULT '', priority TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL DEFAULT '', "
    "updated_at TEXT NOT NULL DEFAULT '', metadata JSONB NOT NULL DEFAULT '{}', raw JSONB";

// Migration 1: everything but the vectors. Never edit a shipped migration: append a new one.
std::string MigrationOneSql() {
  std::string sql;
  for (const char* table : {"tickets", "conversations", "articles"}) {
    sql += std::string("CREATE TABLE ") + table + " (" + kRecordColumns + ", PRIMARY KEY (tenant_id, id));\n";
  }
  sql += std::string("CREATE TABLE records (type TEXT NOT NULL, ") + kRecordColumns +
         ", PRIMARY KEY (tenant_id, id));\nCREATE INDEX records_type ON records (tenant_id, type);\n";
  sql += R"sql(
CREATE TABLE documents (
  tenant_id TEXT NOT NULL, id TEXT NOT NULL, platform TEXT NOT NULL DEFAULT '', type TEXT NOT NULL,
  title TEXT NOT NULL DEFAULT '', state TEXT NOT NULL DEFAULT 'active', updated_at TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT '', is_private BOOLEAN NOT NULL DEFAULT false,
  content_hash TEXT NOT NULL, metadata JSONB NOT NULL DEFAULT '{}',
  PRIMARY KEY (tenant_id, id));
CREATE INDEX documents_filter ON documents (tenant_id, type, status, updated_at);
CREATE TABLE chunks (
  rowid BIGSERIAL PRIMARY KEY, tenant_id TEXT NOT NULL, id TEXT NOT NULL, document_id TEXT NOT NULL,
  chunk_index INTEGER NOT NULL, title TEXT NOT NULL DEFAULT '', text TEXT NOT NULL, content_hash TEXT NOT NULL,
  model_id TEXT NOT NULL,
  tsv TSVECTOR GENERATED ALWAYS AS
    (setweight(to_tsvector('english', title), 'A') || to_tsvector('english', text)) STORED,
  UNIQUE (tenant_id, id));
CREATE INDEX chunks_document ON chunks (tenant_id, document_id);
CREATE INDEX chunks_tsv ON chunks USING gin (tsv);
CREATE TABLE embeddings (
  model_id TEXT NOT NULL, content_hash TEXT NOT NULL, dim INTEGER NOT NULL, vector BYTEA NOT NULL,
  PRIMARY KEY (model_id, content_hash));
CREATE TABLE cursors (
  tenant_id TEXT NOT NULL, stream TEXT NOT NULL, cursor JSONB NOT NULL, updated_at TEXT NOT NULL,
  PRIMARY KEY (tenant_id, stream));
CREATE TABLE runs (
  id BIGSERIAL PRIMARY KEY, tenant_id TEXT NOT NULL, started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL DEFAULT '', state TEXT NOT NULL, summary JSONB NOT NULL DEFAULT '{}');
CREATE INDEX runs_tenant ON runs (tenant_id, id);
CREATE TABLE dead_letters (
  tenant_id TEXT NOT NULL, stream TEXT NOT NULL, record_id TEXT NOT NULL, stage TEXT NOT NULL,
  error_class TEXT NOT NULL, message TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 1,
  first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
  PRIMARY KEY (tenant_id, stream, record_id));
)sql";
  return sql;
}

// Migration 2 (applied once pgvector is available): the vectors, deleted with their chunk.
constexpr char kMigrationTwoSql[] = R"sql(
CREATE TABLE chunk_vectors (
  chunk_rowid BIGINT PRIMARY KEY REFERENCES chunks (rowid) ON DELETE CASCADE,
  tenant_id TEXT NOT NULL, dim INTEGER NOT NULL, embedding vector NOT NULL);
CREATE INDEX chunk_vectors_tenant ON chunk_vectors (tenant_id, dim);
)sql";

nlohmann::json ParseJson(const std::string& text) {
  if (text.empty()) return nullptr;
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return value.is_discarded() ? nlohmann::json(text) : value;
}

std::string Now() { return FormatTimestamp(NowUnixSeconds()); }

// A PostgreSQL array literal of text values: {"a","b"} with quotes and backslashes escaped.
std::string TextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::string IntArray(const std::vector<int64_t>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(values[i]);
  }
  return out + "}";
}

// A multi-row INSERT sent in statements of at most kMaxStatementBytes (SQL text + parameters): far fewer round
// trips (they dominate the cost, above all on PGlite), yet no message libpq would send in more than one piece —
// it flushes its output every 8 KB, and pglite-socket crashes on a message split across socket reads
// (electric-sql/pglite#775). A single row over the limit still goes alone, as the one-by-one path sends it.
class MultiRowInsert {
 public:
  static constexpr size_t kMaxStatementBytes = 7 * 1024;

  // `casts` gives each column's "::type" suffix ("" for none); `suffix` follows the VALUES list.
  MultiRowInsert(pg::PgConnection& conn, std::string prefix, std::vector<const char*> casts, std::string suffix)
      : conn_(conn), prefix_(std::move(prefix)), casts_(std::move(casts)), suffix_(std::move(suffix)) {}

  Result<void> Add(std::vector<Param> row) {
    size_t bytes = 16 * row.size();
    for (const Param& p : row) bytes += p.value.size();
    bytes += 8 * row.size() + 4;  // this row's placeholders in the SQL text
    if (rows_ > 0 && prefix_.size() + suffix_.size() + bytes_ + bytes > kMaxStatementBytes) RETURN_IF_ERROR(Flush());
    sql_ += rows_ ? ", (" : "(";
    for (size_t c = 0; c < row.size(); ++c) {
      sql_ += (c ? ", $" : "$") + std::to_string(params_.size() + 1) + (c < casts_.size() ? casts_[c] : "");
      params_.push_back(std::move(row[c]));
    }
    sql_ += ")";
    bytes_ += bytes;
    ++rows_;
    return {};
  }

  Result<void> Flush() {
    if (rows_ == 0) return {};
    ASSIGN_OR_RETURN(PgResult result, conn_.Exec(prefix_ + sql_ + suffix_, params_));
    results_.push_back(std::move(result));
    sql_.clear();
    params_.clear();
    bytes_ = 0;
    rows_ = 0;
    return {};
  }

  // The results of every statement sent (for RETURNING).
  const std::vector<PgResult>& results() const { return results_; }

 private:
  pg::PgConnection& conn_;
  std::string prefix_;
  std::vector<const char*> casts_;
  std::string suffix_;
  std::string sql_;
  std::vector<Param> params_;
  size_t bytes_ = 0;
  size_t rows_ = 0;
  std::vector<PgResult> results_;
};

// What a commit does with one document's chunks. `stored` maps chunk id → row of `existing` (columns rowid, id,
// content_hash, model_id): those whose id, text hash and model are unchanged are kept (same row, same vector),
// the other stored rows are stale, and the document's other chunks are fresh, each needing a vector.
struct ChunkChanges {
  bool any_kept = false;
  std::vector<int64_t> stale_rowids;
  std::vector<const Chunk*> fresh;
};

Result<ChunkChanges> PlanChunkChanges(const Document& doc, const PgResult& existing,
                                      const std::unordered_map<std::string, int>& stored,
                                      const std::string& model_id) {
  std::unordered_set<std::string> kept;
  for (const Chunk& chunk : doc.chunks) {
    auto it = stored.find(chunk.id);
    if (it != stored.end() && existing.Text(it->second, 2) == chunk.content_hash &&
        existing.Text(it->second, 3) == model_id) {
      kept.insert(chunk.id);
    }
  }
  ChunkChanges changes;
  changes.any_kept = !kept.empty();
  for (const auto& [id, row] : stored) {
    if (!kept.count(id)) changes.stale_rowids.push_back(existing.Int(row, 0));
  }
  for (const Chunk& chunk : doc.chunks) {
    if (kept.count(chunk.id)) continue;
    if (chunk.vector.empty()) {
      return Error(Internal("chunk " + chunk.id + " reached the store without a vector (the embed stage must "
                            "fill it)"));
    }
    changes.fresh.push_back(&chunk);
  }
  return changes;
}

// A kept chunk carries its document's title (FTS ranks it): renamed documents retitle them in place.
Result<void> RetitleKeptChunks(pg::PgConnection& conn, const std::string& tenant, const Document& doc) {
  RETURN_IF_ERROR(conn.Exec("UPDATE chunks SET title = $3 WHERE tenant_id = $1 AND document_id = $2 "
                            "AND title <> $3",
                            {tenant, doc.id, doc.title}));
  return {};
}

// The batched half of PostgresStore::Commit for documents whose ids are distinct: upserts the documents,
// deletes the chunks no longer current, inserts the new chunks with their cached embeddings and vectors —
// the same rows the one-by-one path writes, in a handful of statements. Runs inside the caller's transaction.
Result<void> CommitDocumentsBatched(pg::PgConnection& conn, const StoreOptions& options, bool has_pgvector,
                                    const std::string& tenant, const std::string& model_id,
                                    const std::vector<Document>& documents) {
  {
    MultiRowInsert upsert(
        conn,
        "INSERT INTO documents (tenant_id, id, platform, type, title, state, updated_at, status, is_private, "
        "content_hash, metadata) VALUES ",
        {"", "", "", "", "", "", "", "", "::boolean", "", "::jsonb"},
        " ON CONFLICT (tenant_id, id) DO UPDATE SET platform = excluded.platform, type = excluded.type, "
        "title = excluded.title, state = excluded.state, updated_at = excluded.updated_at, "
        "status = excluded.status, is_private = excluded.is_private, content_hash = excluded.content_hash, "
        "metadata = excluded.metadata");
    for (const Document& doc : documents) {
      const sc::FilterFields fields = sc::FilterFieldsOf(doc);
      RETURN_IF_ERROR(upsert.Add({tenant, doc.id, doc.platform, doc.type, doc.title, doc.state, doc.updated_at,
                                  fields.status, fields.is_private, doc.content_hash,
                                  CompactJson(sc::VectorPayload(doc.metadata, options.include_all_metadata))}));
    }
    RETURN_IF_ERROR(upsert.Flush());
  }

  // The documents' current chunks: keep those whose id, text hash and model are unchanged (same row, same
  // vector); delete the rest.
  std::vector<std::string> ids;
  for (const Document& doc : documents) ids.push_back(doc.id);
  ASSIGN_OR_RETURN(PgResult existing,
                   conn.Exec("SELECT rowid, id, content_hash, model_id, document_id FROM chunks "
                             "WHERE tenant_id = $1 AND document_id = ANY($2::text[])",
                             {tenant, TextArray(ids)}));
  std::unordered_map<std::string, std::unordered_map<std::string, int>> existing_by_doc;
  for (int i = 0; i < existing.rows(); ++i) existing_by_doc[existing.Text(i, 4)][existing.Text(i, 1)] = i;
  std::vector<int64_t> stale;
  std::vector<std::pair<const Document*, const Chunk*>> fresh;
  for (const Document& doc : documents) {
    ASSIGN_OR_RETURN(ChunkChanges changes, PlanChunkChanges(doc, existing, existing_by_doc[doc.id], model_id));
    stale.insert(stale.end(), changes.stale_rowids.begin(), changes.stale_rowids.end());
    if (changes.any_kept) RETURN_IF_ERROR(RetitleKeptChunks(conn, tenant, doc));
    for (const Chunk* chunk : changes.fresh) fresh.emplace_back(&doc, chunk);
  }
  if (!stale.empty()) {
    RETURN_IF_ERROR(conn.Exec("DELETE FROM chunks WHERE tenant_id = $1 AND rowid = ANY($2::bigint[])",
                              {tenant, IntArray(stale)}));
  }
  if (fresh.empty()) return {};

  MultiRowInsert chunks(
      conn, "INSERT INTO chunks (tenant_id, id, document_id, chunk_index, title, text, content_hash, model_id) VALUES ",
      {"", "", "", "::integer", "", "", "", ""}, " RETURNING rowid, id");
  MultiRowInsert cache(conn, "INSERT INTO embeddings (model_id, content_hash, dim, vector) VALUES ",
                       {"", "", "::integer", "::bytea"}, " ON CONFLICT (model_id, content_hash) DO NOTHING");
  for (const auto& [doc, chunk] : fresh) {
    RETURN_IF_ERROR(chunks.Add({tenant, chunk->id, doc->id, chunk->index, doc->title,
                                options.store_original_text ? chunk->text : std::string(), chunk->content_hash,
                                model_id}));
    RETURN_IF_ERROR(cache.Add({model_id, chunk->content_hash, static_cast<int64_t>(chunk->vector.size()),
                               Param::Bytes(chunk->vector.data(), chunk->vector.size() * sizeof(float))}));
  }
  RETURN_IF_ERROR(chunks.Flush());
  RETURN_IF_ERROR(cache.Flush());
  if (!has_pgvector) return {};
  std::unordered_map<std::string, int64_t> rowid_of;
  for (const PgResult& inserted : chunks.results()) {
    for (int r = 0; r < inserted.rows(); ++r) rowid_of[inserted.Text(r, 1)] = inserted.Int(r, 0);
  }
  MultiRowInsert vectors(conn, "INSERT INTO chunk_vectors (chunk_rowid, tenant_id, dim, embedding) VALUES ",
                         {"::bigint", "", "::integer", "::vector"}, "");
  for (const auto& [doc, chunk] : fresh) {
    auto it = rowid_of.find(chunk->id);
    if (it == rowid_of.end()) return Error(Internal("chunk " + chunk->id + " was inserted without a row id"));
    RETURN_IF_ERROR(vectors.Add({it->second, tenant, static_cast<int64_t>(chunk->vector.size()),
                                 pg::VectorLiteral(chunk->vector)}));
  }
  return vectors.Flush();
}

// Appends the query's metadata filters on documents `d` to `sql`, binding values into `params`.
void AppendFilters(const SearchQuery& query, std::string& sql, std::vector<Param>& params) {
  auto next = [&params](Param p) {
    params.push_back(std::move(p));
    return "$" + std::to_string(params.size());
  };
  if (!query.types.empty()) sql += " AND d.type = ANY(" + next(TextArray(query.types)) + "::text[])";
  if (!query.statuses.empty()) sql += " AND d.status = ANY(" + next(TextArray(query.statuses)) + "::text[])";
  if (!query.updated_from.empty()) sql += " AND d.updated_at >= " + next(query.updated_from);
  if (!query.updated_to.empty()) sql += " AND d.updated_at <= " + next(query.updated_to);
  if (query.exclude_private) sql += " AND NOT d.is_private";
  if (!query.priorities.empty()) sql += " AND d.metadata->>'priority' = ANY(" + next(TextArray(query.priorities)) + "::text[])";
  if (!query.languages.empty()) sql += " AND d.metadata->>'language' = ANY(" + next(TextArray(query.languages)) + "::text[])";
  if (!query.groups.empty()) {
    const std::string groups = next(TextArray(query.groups));
    sql += " AND (d.metadata->>'group_name' = ANY(" + groups + "::text[]) OR d.metadata->>'group_id' = ANY(" + groups +
           "::text[]))";
  }
  // jsonb containment: the document's tags include every one asked for.
  if (!query.tags.empty()) sql += " AND d.metadata->'tags' @> " + next(nlohmann::json(query.tags).dump()) + "::jsonb";
  if (!query.created_from.empty()) sql += " AND d.metadata->>'created_at' >= " + next(query.created_from);
  if (!query.created_to.empty()) sql += " AND d.metadata->>'created_at' <= " + next(query.created_to);
}

}  // namespace

PostgresStore::PostgresStore(std::unique_ptr<pg::PgConnection> conn, const StoreOptions& options)
    : conn_(std::move(conn)), options_(options) {}

PostgresStore::~PostgresStore() {
  for (auto& [tenant, slot] : locks_) slot->Release();
  // A pooled or shared server session outlives this store: hand it back writable.
  if (options_.read_only && conn_) (void)conn_->ExecScript("RESET default_transaction_read_only");
}

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(const std::string& url, const StoreOptions& options) {
  if (options.dimension < 0) return Error(InvalidArgument("store vector dimension must not be negative"));
  ASSIGN_OR_RETURN(auto conn, pg::PgConnection::Connect(url));
  std::unique_ptr<PostgresStore> store(new PostgresStore(std::move(conn), options));
  if (options.read_only) {
    RETURN_IF_ERROR(store->CheckSchemaReadOnly());
  } else {
    RETURN_IF_ERROR(store->Migrate());
  }
  RETURN_IF_ERROR(store->PrepareVectorIndex());
  return store;
}

constexpr int kLatestMigration = 5;

Result<void> PostgresStore::CheckSchemaReadOnly() {
  ASSIGN_OR_RETURN(PgResult table, conn_->Exec("SELECT to_regclass('schema_migrations') IS NOT NULL"));
  if (table.Text(0, 0) != "t") {
    return Error(NotFound("no deskpipe data in this PostgreSQL database (no schema); check --store, or sync first"));
  }
  ASSIGN_OR_RETURN(PgResult applied, conn_->Exec("SELECT version FROM schema_migrations"));
  std::unordered_set<int64_t> done;
  for (int i = 0; i < applied.rows(); ++i) done.insert(applied.Int(i, 0));
  if (!done.count(kLatestMigration)) {
    return Error(InvalidArgument("this PostgreSQL database was written by an older deskpipe; run `deskpipe sync` "
                                 "once to upgrade it"));
  }
  has_pgvector_ = done.count(2) > 0;
  return conn_->ExecScript("SET default_transaction_read_only = on");
}

Result<void> PostgresStore::Migrate() {
  RETURN_IF_ERROR(conn_->ExecScript("SET client_min_messages = warning"));
  ASSIGN_OR_RETURN(PgResult available,
                   conn_->Exec("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'"));
  const bool vector_available = available.Int(0, 0) > 0;

  pg::PgTransaction txn(*conn_);
  RETURN_IF_ERROR(txn.status());
  RETURN_IF_ERROR(conn_->Exec("SELECT pg_advisory_xact_lock($1)", {kMigrationLockKey}));
  // Under the lock: two processes opening a new database at once race on CREATE TABLE IF NOT EXISTS
  // (both see no table, one fails on the type's unique name).
  RETURN_IF_ERROR(conn_->Exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"));
  ASSIGN_OR_RETURN(PgResult applied, conn_->Exec("SELECT version FROM schema_migrations"));
  std::unordered_set<int64_t> done;
  for (int i = 0; i < applied.rows(); ++i) done.insert(applied.Int(i, 0));

  std::vector<std::pair<int, std::string>> pending;
  if (!done.count(1)) pending.emplace_back(1, MigrationOneSql());
  if (!done.count(2) && vector_available) {
    pending.emplace_back(2, std::string("CREATE EXTENSION IF NOT EXISTS vector;\n") + kMigrationTwoSql);
  }
  // Migration 3: a ticket's stored conversations found by parent (Store::KnownChildren, issue 4).
  if (!done.count(3)) {
    pending.emplace_back(3, "CREATE INDEX conversations_parent ON conversations (tenant_id, parent_id)");
  }
  // Migration 4: what each tenant's data was made with (TenantProfile).
  if (!done.count(4)) {
    pending.emplace_back(4, "CREATE TABLE tenant_profiles (tenant_id TEXT PRIMARY KEY, profile JSONB NOT NULL, "
                            "updated_at TEXT NOT NULL)");
  }
  // Migration 5: who holds each tenant's write lock (LockHolder JSON), for the message a second writer gets.
  if (!done.count(5)) {
    pending.emplace_back(5, "CREATE TABLE tenant_writers (tenant_id TEXT PRIMARY KEY, holder TEXT NOT NULL)");
  }
  for (const auto& [version, sql] : pending) {
    auto ran = conn_->ExecScript(sql);
    if (!ran) return Error(ran.error().WithContext("schema migration " + std::to_string(version)));
    RETURN_IF_ERROR(conn_->Exec("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                                {version, Now()}));
  }
  RETURN_IF_ERROR(txn.Commit());
  has_pgvector_ = done.count(2) > 0 || vector_available;
  return {};
}

Result<int> PostgresStore::SchemaVersion() {
  ASSIGN_OR_RETURN(PgResult result, conn_->Exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  return static_cast<int>(result.Int(0, 0));
}

Result<void> PostgresStore::PrepareVectorIndex() {
  if (!has_pgvector_ || options_.dimension <= 0) return {};
  const std::string n = std::to_string(options_.dimension);
  // One HNSW index per dimension in use, over the typed cast, restricted to that dimension's rows.
  if (!options_.read_only) RETURN_IF_ERROR(conn_->ExecScript("CREATE INDEX IF NOT EXISTS chunk_vectors_hnsw_" + n +
                                    " ON chunk_vectors USING hnsw ((embedding::vector(" + n +
                                    ")) vector_cosine_ops) WHERE dim = " + n));
  // pgvector ≥ 0.8: keep scanning the graph until enough rows pass the filters (filtered ANN, not post-filter).
  if (!conn_->ExecScript("SET hnsw.iterative_scan = relaxed_order; SET hnsw.ef_search = 100")) {
    (void)conn_->ExecScript("SET hnsw.ef_search = 100");
  }
  return {};
}

// ---- cursors, cache lookups ----

Result<nlohmann::json> PostgresStore::LoadCursor(const std::string& tenant_id, const std::string& stream) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  ASSIGN_OR_RETURN(PgResult result, conn_->Exec("SELECT cursor::text FROM cursors WHERE tenant_id = $1 AND "
                                                "stream = $2",
                                                {tenant_id, stream}));
  if (result.rows() == 0) return nlohmann::json(nullptr);
  return ParseJson(result.Text(0, 0));
}

Result<std::unordered_map<std::string, std::vector<float>>> PostgresStore::CachedEmbeddings(
    const std::string& model_id, const std::vector<std::string>& content_hashes) {
  std::unordered_map<std::string, std::vector<float>> found;
  if (content_hashes.empty()) return found;
  ASSIGN_OR_RETURN(PgResult result,
                   conn_->Exec("SELECT content_hash, dim, vector FROM embeddings WHERE model_id = $1 AND "
                               "content_hash = ANY($2::text[])",
                               {model_id, TextArray(content_hashes)}));
  for (int i = 0; i < result.rows(); ++i) {
    std::vector<float> vector = sc::VectorFromBytes(result.Bytes(i, 2));
    if (static_cast<int64_t>(vector.size()) != result.Int(i, 1)) continue;  // damaged row: re-embed
    found.emplace(result.Text(i, 0), std::move(vector));
  }
  return found;
}

Result<std::unordered_map<std::string, std::string>> PostgresStore::DocumentHashes(
    const std::string& tenant_id, const std::vector<std::string>& ids) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  std::unordered_map<std::string, std::string> found;
  if (ids.empty()) return found;
  ASSIGN_OR_RETURN(PgResult result, conn_->Exec("SELECT id, content_hash FROM documents WHERE tenant_id = $1 "
                                                "AND id = ANY($2::text[])",
                                                {tenant_id, TextArray(ids)}));
  for (int i = 0; i < result.rows(); ++i) found[result.Text(i, 0)] = result.Text(i, 1);
  return found;
}

// ---- commit ----

Result<void> PostgresStore::Commit(const BatchWrite& batch, const std::string& model_id) {
  const std::string& tenant = batch.tenant_id;
  RETURN_IF_ERROR(ValidateTenantId(tenant));
  if (batch.stream.empty()) return Error(InvalidArgument("batch for tenant " + tenant + " has no stream name"));
  bool has_vectors = false;
  for (const Record& record : batch.records) {
    if (!record.tenant_id.empty() && record.tenant_id != tenant) {
      return Error(InvalidArgument("record " + record.id + " belongs to tenant '" + record.tenant_id +
                                   "', batch is for '" + tenant + "'"));
    }
    if (record.id.empty()) return Error(InvalidArgument("record without id in batch of stream " + batch.stream));
  }
  for (const Document& doc : batch.documents) {
    if (!doc.tenant_id.empty() && doc.tenant_id != tenant) {
      return Error(InvalidArgument("document " + doc.id + " belongs to tenant '" + doc.tenant_id +
                                   "', batch is for '" + tenant + "'"));
    }
    if (doc.id.empty()) return Error(InvalidArgument("document without id in batch of stream " + batch.stream));
    std::unordered_set<std::string> seen;
    for (const Chunk& chunk : doc.chunks) {
      if (!seen.insert(chunk.id).second) {
        return Error(InvalidArgument("document " + doc.id + " has chunk id " + chunk.id + " twice"));
      }
      if (options_.dimension > 0 && !chunk.vector.empty() &&
          chunk.vector.size() != static_cast<size_t>(options_.dimension)) {
        return Error(Internal("chunk " + chunk.id + " has a " + std::to_string(chunk.vector.size()) +
                              "-d vector; the store expects " + std::to_string(options_.dimension)));
      }
    }
    has_vectors = has_vectors || !doc.chunks.empty();
  }
  if (has_vectors && model_id.empty()) return Error(InvalidArgument("commit with chunks needs a model id"));

  const std::string now = Now();
  pg::PgTransaction txn(*conn_);
  RETURN_IF_ERROR(txn.status());
  // Two workers committing batches of one tenant serialize here; other tenants are not blocked.
  RETURN_IF_ERROR(conn_->Exec("SELECT pg_advisory_xact_lock(hashtext($1))", {tenant}));
  if (batch.fence) {
    // FOR SHARE holds the token until this transaction ends: a claim taking the job over waits for (or
    // skips) this commit, so the batch is in before the new holder starts, or never.
    ASSIGN_OR_RETURN(PgResult holder, conn_->Exec("SELECT fencing_token, owner FROM service_jobs "
                                                  "WHERE task_id = $1 FOR SHARE",
                                                  {batch.fence->task_id}));
    if (holder.rows() == 0 || holder.Int(0, 0) != batch.fence->token) {
      const std::string owner = holder.rows() == 0 ? "(none: the job is gone)" : holder.Text(0, 1);
      return Error(Status(StatusCode::kBusy,
                          "lease lost: job " + batch.fence->task_id + " was taken over by worker " + owner +
                              "; stopping without committing"));
    }
  }

  if (options_.WritesRecords()) {
    for (const Record& r : batch.records) {
      const std::string table = sc::RecordTable(r.type);
      const bool generic = table == "records";
      const std::string sql =
          "INSERT INTO " + table + " (" + (generic ? "type, " : "") +
          "tenant_id, id, original_id, platform, parent_id, title, content, status, priority, created_at, "
          "updated_at, metadata, raw) VALUES (" +
          (generic ? "$14, " : "") +
          "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13::jsonb) ON CONFLICT (tenant_id, id) DO "
          "UPDATE SET original_id = excluded.original_id, platform = excluded.platform, parent_id = "
          "excluded.parent_id, title = excluded.title, content = excluded.content, status = excluded.status, "
          "priority = excluded.priority, created_at = excluded.created_at, updated_at = excluded.updated_at, "
          "metadata = excluded.metadata, raw = excluded.raw" +
          (generic ? ", type = excluded.type" : "");
      std::vector<Param> params = {tenant,     r.id,          r.original_id, r.platform, r.parent_id,
                                   r.title,    r.content,     r.status,      r.priority, r.created_at,
                                   r.updated_at, CompactJson(r.metadata),
                                   r.raw.empty() ? Param::Null() : Param(r.raw)};
      if (generic) params.emplace_back(r.type);
      RETURN_IF_ERROR(conn_->Exec(sql, params));
    }
  }

  // Documents, chunks and vectors go in a few multi-row statements per batch: round trips dominate the cost
  // (above all on PGlite). A batch naming a document twice takes the one-by-one path, which applies them in
  // order (a multi-row upsert cannot touch one row twice).
  std::unordered_set<std::string> batch_doc_ids;
  bool repeated_doc = false;
  for (const Document& doc : batch.documents) repeated_doc = repeated_doc || !batch_doc_ids.insert(doc.id).second;
  if (!repeated_doc) {
    RETURN_IF_ERROR(CommitDocumentsBatched(*conn_, options_, has_pgvector_, tenant, model_id, batch.documents));
  } else {
    for (const Document& doc : batch.documents) {
      const sc::FilterFields fields = sc::FilterFieldsOf(doc);
      RETURN_IF_ERROR(conn_->Exec(
          "INSERT INTO documents (tenant_id, id, platform, type, title, state, updated_at, status, is_private, "
          "content_hash, metadata) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb) "
          "ON CONFLICT (tenant_id, id) DO UPDATE SET platform = excluded.platform, type = excluded.type, "
          "title = excluded.title, state = excluded.state, updated_at = excluded.updated_at, "
          "status = excluded.status, is_private = excluded.is_private, content_hash = excluded.content_hash, "
          "metadata = excluded.metadata",
          {tenant, doc.id, doc.platform, doc.type, doc.title, doc.state, doc.updated_at, fields.status,
           fields.is_private, doc.content_hash,
           CompactJson(sc::VectorPayload(doc.metadata, options_.include_all_metadata))}));

      // Keep chunks whose id, text hash and model are unchanged (same row, same vector); delete the rest.
      ASSIGN_OR_RETURN(PgResult existing,
                       conn_->Exec("SELECT rowid, id, content_hash, model_id, title FROM chunks "
                                   "WHERE tenant_id = $1 AND document_id = $2",
                                   {tenant, doc.id}));
      std::unordered_map<std::string, int> existing_row;
      for (int i = 0; i < existing.rows(); ++i) existing_row[existing.Text(i, 1)] = i;
      ASSIGN_OR_RETURN(ChunkChanges changes, PlanChunkChanges(doc, existing, existing_row, model_id));
      if (!changes.stale_rowids.empty()) {
        RETURN_IF_ERROR(conn_->Exec("DELETE FROM chunks WHERE tenant_id = $1 AND rowid = ANY($2::bigint[])",
                                    {tenant, IntArray(changes.stale_rowids)}));
      }
      if (changes.any_kept) RETURN_IF_ERROR(RetitleKeptChunks(*conn_, tenant, doc));
      for (const Chunk* fresh_chunk : changes.fresh) {
        const Chunk& chunk = *fresh_chunk;
        ASSIGN_OR_RETURN(PgResult inserted,
                         conn_->Exec("INSERT INTO chunks (tenant_id, id, document_id, chunk_index, title, text, "
                                     "content_hash, model_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING rowid",
                                     {tenant, chunk.id, doc.id, chunk.index, doc.title,
                                      options_.store_original_text ? chunk.text : std::string(), chunk.content_hash,
                                      model_id}));
        const int64_t rowid = inserted.Int(0, 0);
        RETURN_IF_ERROR(conn_->Exec("INSERT INTO embeddings (model_id, content_hash, dim, vector) VALUES ($1, $2, "
                                    "$3, $4) ON CONFLICT (model_id, content_hash) DO NOTHING",
                                    {model_id, chunk.content_hash, static_cast<int64_t>(chunk.vector.size()),
                                     Param::Bytes(chunk.vector.data(), chunk.vector.size() * sizeof(float))}));
        if (has_pgvector_) {
          RETURN_IF_ERROR(conn_->Exec("INSERT INTO chunk_vectors (chunk_rowid, tenant_id, dim, embedding) VALUES "
                                      "($1, $2, $3, $4::vector)",
                                      {rowid, tenant, static_cast<int64_t>(chunk.vector.size()),
                                       pg::VectorLiteral(chunk.vector)}));
        }
      }
    }

  }

  if (!batch.removed_ids.empty()) {
    const std::string ids = TextArray(batch.removed_ids);
    for (const char* table : {"tickets", "conversations", "articles", "records", "documents"}) {
      RETURN_IF_ERROR(conn_->Exec(std::string("DELETE FROM ") + table +
                                      " WHERE tenant_id = $1 AND id = ANY($2::text[])",
                                  {tenant, ids}));
    }
    RETURN_IF_ERROR(conn_->Exec("DELETE FROM chunks WHERE tenant_id = $1 AND document_id = ANY($2::text[])",
                                {tenant, ids}));
  }

  for (const DeadLetter& letter : batch.dead_letters) {
    RETURN_IF_ERROR(conn_->Exec(
        "INSERT INTO dead_letters (tenant_id, stream, record_id, stage, error_class, message, attempts, "
        "first_seen, last_seen) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7) ON CONFLICT (tenant_id, stream, "
        "record_id) DO UPDATE SET stage = excluded.stage, error_class = excluded.error_class, message = "
        "excluded.message, attempts = dead_letters.attempts + 1, last_seen = excluded.last_seen",
        {tenant, letter.stream.empty() ? batch.stream : letter.stream, letter.record_id, letter.stage,
         letter.error_class, letter.message, now}));
  }

  if (!batch.cursor.is_null()) {  // a batch without a cursor leaves the stream's cursor where it was
    RETURN_IF_ERROR(conn_->Exec("INSERT INTO cursors (tenant_id, stream, cursor, updated_at) VALUES ($1, $2, "
                                "$3::jsonb, $4) ON CONFLICT (tenant_id, stream) DO UPDATE SET cursor = "
                                "excluded.cursor, updated_at = excluded.updated_at",
                                {tenant, batch.stream, CompactJson(batch.cursor), now}));
  }
  RETURN_IF_ERROR(txn.Commit());
  if (options_.after_sql_commit_for_test) options_.after_sql_commit_for_test();
  return {};
}

Result<void> PostgresStore::Flush() { return {}; }  // every write is durable at commit

// ---- search ----

Result<std::vector<sc::Candidate>> PostgresStore::KeywordCandidates(const SearchQuery& query) {
  std::vector<sc::Candidate> ranked;
  const std::vector<std::string> terms = sc::KeywordTerms(query.text);
  if (terms.empty()) return ranked;
  // websearch_to_tsquery never fails on user text; quoted words joined by "or" rank any-word matches.
  std::string websearch;
  for (const std::string& term : terms) websearch += (websearch.empty() ? "\"" : " or \"") + term + "\"";
  std::vector<Param> params = {query.tenant_id, websearch};
  std::string sql =
      "SELECT c.rowid, ts_rank_cd(c.tsv, q) AS rank FROM chunks c JOIN documents d ON d.tenant_id = "
      "c.tenant_id AND d.id = c.document_id, websearch_to_tsquery('english', $2) q WHERE c.tenant_id = $1 AND "
      "c.tsv @@ q";
  AppendFilters(query, sql, params);
  sql += " ORDER BY rank DESC, c.rowid LIMIT " + std::to_string(sc::kCandidateCount);
  ASSIGN_OR_RETURN(PgResult result, conn_->Exec(sql, params));
  for (int i = 0; i < result.rows(); ++i) ranked.push_back({result.Int(i, 0), std::stod(result.Text(i, 1))});
  return ranked;
}

Result<std::vector<sc::Candidate>> PostgresStore::VectorCandidates(const SearchQuery& query) {
  std::vector<sc::Candidate> ranked;
  if (options_.dimension <= 0) {
    return Error(InvalidArgument("the store was opened without a vector dimension; vector search needs one"));
  }
  if (query.vector.size() != static_cast<size_t>(options_.dimension)) {
    return Error(InvalidArgument("query vector has " + std::to_string(query.vector.size()) +
                                 " dimensions, the store has " + std::to_string(options_.dimension)));
  }
  const std::string n = std::to_string(options_.dimension);
  const std::string limit = std::to_string(sc::kCandidateCount);
  if (has_pgvector_) {
    std::vector<Param> params = {query.tenant_id};
    std::string where = " FROM chunk_vectors v JOIN chunks c ON c.rowid = v.chunk_rowid JOIN documents d ON "
                        "d.tenant_id = c.tenant_id AND d.id = c.document_id WHERE v.tenant_id = $1 AND v.dim = " +
                        n;
    AppendFilters(query, where, params);
    // How many vectors pass the filters decides the plan: few ⇒ exact scan over exactly those rows.
    ASSIGN_OR_RETURN(PgResult counted, conn_->Exec("SELECT count(*) FROM (SELECT 1" + where + " LIMIT " +
                                                       std::to_string(options_.exact_scan_max_candidates + 1) + ") s",
                                                   params));
    const bool exact = counted.Int(0, 0) <= options_.exact_scan_max_candidates;
    params.emplace_back(pg::VectorLiteral(query.vector));
    const std::string q = "$" + std::to_string(params.size()) + "::vector(" + n + ")";
    // "+ 0" hides the distance from the HNSW index, forcing the exact plan.
    const std::string distance = "(v.embedding::vector(" + n + ") <=> " + q + ")" + (exact ? " + 0" : "");
    const std::string sql = "SELECT rowid, distance FROM (SELECT c.rowid, " + distance + " AS distance" + where +
                            " ORDER BY distance LIMIT " + limit + ") s ORDER BY distance, rowid";
    ASSIGN_OR_RETURN(PgResult result, conn_->Exec(sql, params));
    for (int i = 0; i < result.rows(); ++i) ranked.push_back({result.Int(i, 0), 1.0 - std::stod(result.Text(i, 1))});
    return ranked;
  }
  // No pgvector on this server: exact scan over the cached vectors of the tenant's filtered chunks.
  std::vector<Param> params = {query.tenant_id};
  std::string sql =
      "SELECT c.rowid, e.vector FROM chunks c JOIN documents d ON d.tenant_id = c.tenant_id AND d.id = "
      "c.document_id JOIN embeddings e ON e.model_id = c.model_id AND e.content_hash = c.content_hash "
      "WHERE c.tenant_id = $1 AND e.dim = " + n;
  AppendFilters(query, sql, params);
  ASSIGN_OR_RETURN(PgResult result, conn_->Exec(sql, params));
  std::vector<std::pair<float, int64_t>> scored;
  scored.reserve(static_cast<size_t>(result.rows()));
  for (int i = 0; i < result.rows(); ++i) {
    const std::vector<float> vector = sc::VectorFromBytes(result.Bytes(i, 1));
    if (vector.size() != query.vector.size()) continue;
    scored.emplace_back(-sc::Cosine(vector.data(), query.vector.data(), vector.size()), result.Int(i, 0));
  }
  const size_t keep = std::min(scored.size(), static_cast<size_t>(sc::kCandidateCount));
  std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(keep), scored.end());
  for (size_t i = 0; i < keep; ++i) ranked.push_back({scored[i].second, -scored[i].first});
  return ranked;
}

Result<std::vector<SearchHit>> PostgresStore::Search(const SearchQuery& raw_query) {
  ASSIGN_OR_RETURN(SearchQuery query, sc::NormalizeQuery(raw_query));
  if (query.top_k <= 0) return std::vector<SearchHit>{};
  std::vector<sc::Candidate> keyword;
  if (query.mode != SearchMode::kVector) {
    ASSIGN_OR_RETURN(keyword, KeywordCandidates(query));
  }
  std::vector<sc::Candidate> vector;
  if (!query.vector.empty() && query.mode != SearchMode::kKeyword) {
    ASSIGN_OR_RETURN(vector, VectorCandidates(query));
  }
  std::vector<sc::Fused> fused = sc::FuseScores(keyword, vector, sc::KeywordWeight(query));
  // With a cap per document, hits past the top_k may be needed: their details are fetched in the same query.
  if (query.max_hits_per_document == 0 && fused.size() > static_cast<size_t>(query.top_k)) {
    fused.resize(static_cast<size_t>(query.top_k));
  }
  std::vector<SearchHit> hits;
  if (fused.empty()) return hits;
  std::vector<int64_t> keys;
  for (const sc::Fused& f : fused) keys.push_back(f.key);
  ASSIGN_OR_RETURN(PgResult details,
                   conn_->Exec("SELECT c.rowid, c.id, c.document_id, c.text, d.type, d.title, d.metadata::text "
                               "FROM chunks c JOIN documents d ON d.tenant_id = c.tenant_id AND d.id = "
                               "c.document_id WHERE c.tenant_id = $1 AND c.rowid = ANY($2::bigint[])",
                               {query.tenant_id, IntArray(keys)}));
  std::unordered_map<int64_t, int> row_of;
  for (int i = 0; i < details.rows(); ++i) row_of[details.Int(i, 0)] = i;
  sc::HitsPerDocument per_document(query.max_hits_per_document);
  for (const sc::Fused& f : fused) {
    if (hits.size() >= static_cast<size_t>(query.top_k)) break;
    auto it = row_of.find(f.key);
    if (it == row_of.end()) continue;
    const int row = it->second;
    SearchHit hit;
    hit.document_id = details.Text(row, 2);
    if (!per_document.Admit(hit.document_id)) continue;
    hit.chunk_id = details.Text(row, 1);
    hit.text = details.Text(row, 3);
    hit.type = details.Text(row, 4);
    hit.title = details.Text(row, 5);
    hit.metadata = ParseJson(details.Text(row, 6));
    if (!hit.metadata.is_object()) hit.metadata = nlohmann::json::object();
    if (options_.store_original_text) hit.metadata[options_.content_field] = hit.text;
    hit.score = f.score;
    hit.keyword_rank = f.keyword_rank;
    hit.vector_rank = f.vector_rank;
    hit.keyword_score = f.keyword_score;
    hit.vector_score = f.vector_score;
    hits.push_back(std::move(hit));
  }
  if (query.snippets) RETURN_IF_ERROR(AddSnippets(query, hits));
  return hits;
}

Result<void> PostgresStore::AddSnippets(const SearchQuery& query, std::vector<SearchHit>& hits) {
  if (hits.empty()) return {};
  const std::vector<std::string> terms = sc::KeywordTerms(query.text);
  std::string websearch;
  for (const std::string& term : terms) websearch += (websearch.empty() ? "\"" : " or \"") + term + "\"";
  if (websearch.empty()) {  // no word to mark (and an empty tsquery draws a server NOTICE)
    for (SearchHit& hit : hits) hit.snippet = sc::OpeningSnippet(hit.text);
    return {};
  }
  std::vector<std::string> ids;
  for (const SearchHit& hit : hits) ids.push_back(hit.chunk_id);
  const std::string options = std::string("StartSel=\"") + sc::kSnippetOpen + "\", StopSel=\"" +
                              sc::kSnippetClose + "\", MaxWords=" + std::to_string(sc::kSnippetWords) +
                              ", MinWords=" + std::to_string(sc::kSnippetWords / 2) + ", ShortWord=2";
  // ts_headline drops what looks like an HTML tag; text is text here, so '<' and '>' go through it as two
  // control characters and come back after.
  ASSIGN_OR_RETURN(PgResult result,
                   conn_->Exec("SELECT c.id, ts_headline('english', translate(c.text, '<>', E'\\x04\\x05'), "
                               "websearch_to_tsquery('english', $3), $4) "
                               "FROM chunks c WHERE c.tenant_id = $1 AND c.id = ANY($2::text[])",
                               {query.tenant_id, TextArray(ids), websearch, options}));
  std::unordered_map<std::string, std::string> highlighted;
  for (int i = 0; i < result.rows(); ++i) {
    std::string text = result.Text(i, 1);
    for (char& c : text) c = c == '\x04' ? '<' : c == '\x05' ? '>' : c;
    highlighted[result.Text(i, 0)] = std::move(text);
  }
  for (SearchHit& hit : hits) {
    auto it = highlighted.find(hit.chunk_id);
    hit.snippet = it != highlighted.end() && it->second.find(sc::kSnippetOpen) != std::string::npos
                      ? sc::MarkedSnippet(it->second)
                      : sc::OpeningSnippet(hit.text);
  }
  return {};
}

// ---- stats, digest, runs ----

Result<StoreStats> PostgresStore::Stats(const std::string& tenant_id) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  StoreStats stats;
  const std::pair<const char*, const char*> typed[] = {
      {"ticket", "tickets"}, {"conversation", "conversations"}, {"article", "articles"}};
  for (const auto& [type, table] : typed) {
    ASSIGN_OR_RETURN(PgResult result,
                     conn_->Exec(std::string("SELECT count(*) FROM ") + table + " WHERE tenant_id = $1", {tenant_id}));
    if (result.Int(0, 0) > 0) stats.records_by_type[type] = result.Int(0, 0);
  }
  {
    ASSIGN_OR_RETURN(PgResult result,
                     conn_->Exec("SELECT type, count(*) FROM records WHERE tenant_id = $1 GROUP BY type", {tenant_id}));
    for (int i = 0; i < result.rows(); ++i) stats.records_by_type[result.Text(i, 0)] += result.Int(i, 1);
  }
  {
    ASSIGN_OR_RETURN(PgResult result, conn_->Exec("SELECT type, count(*) FROM documents WHERE tenant_id = $1 AND "
                                                  "state = 'active' GROUP BY type",
                                                  {tenant_id}));
    for (int i = 0; i < result.rows(); ++i) stats.documents_by_type[result.Text(i, 0)] = result.Int(i, 1);
  }
  {
    ASSIGN_OR_RETURN(PgResult result, conn_->Exec("SELECT count(*) FROM chunks WHERE tenant_id = $1", {tenant_id}));
    stats.chunks = result.Int(0, 0);
  }
  if (options_.dimension > 0) {
    const std::string sql =
        has_pgvector_ ? "SELECT count(*) FROM chunk_vectors WHERE tenant_id = $1 AND dim = $2"
                      : "SELECT count(*) FROM chunks c JOIN embeddings e ON e.model_id = c.model_id AND "
                        "e.content_hash = c.content_hash WHERE c.tenant_id = $1 AND e.dim = $2";
    ASSIGN_OR_RETURN(PgResult result, conn_->Exec(sql, {tenant_id, options_.dimension}));
    stats.vectors = result.Int(0, 0);
  }
  {
    ASSIGN_OR_RETURN(PgResult result, conn_->Exec("SELECT stream, cursor::text FROM cursors WHERE tenant_id = $1 "
                                                  "ORDER BY stream COLLATE \"C\"",
                                                  {tenant_id}));
    for (int i = 0; i < result.rows(); ++i) stats.cursors[result.Text(i, 0)] = ParseJson(result.Text(i, 1));
  }
  {
    ASSIGN_OR_RETURN(PgResult result, conn_->Exec("SELECT id, started_at, finished_at, state, summary::text FROM "
                                                  "runs WHERE tenant_id = $1 ORDER BY id DESC LIMIT 1",
                                                  {tenant_id}));
    if (result.rows() > 0) {
      stats.last_run = {{"id", result.Int(0, 0)},
                        {"started_at", result.Text(0, 1)},
                        {"finished_at", result.Text(0, 2)},
                        {"state", result.Text(0, 3)},
                        {"summary", ParseJson(result.Text(0, 4))}};
    }
  }
  if (stats.last_run.is_object() && stats.last_run["state"] == "running") {
    ASSIGN_OR_RETURN(auto writer, TenantWriter(tenant_id));
    if (!writer) stats.last_run["state"] = "interrupted";
  }
  return stats;
}

Result<std::optional<std::string>> PostgresStore::DocumentOpening(const std::string& tenant_id,
                                                                  const std::string& document_id) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  ASSIGN_OR_RETURN(PgResult opening, conn_->Exec("SELECT text FROM chunks WHERE tenant_id = $1 AND document_id = $2 "
                                                 "ORDER BY chunk_index LIMIT 1",
                                                 {tenant_id, document_id}));
  if (opening.rows() == 0) return std::optional<std::string>();
  return std::optional<std::string>(opening.Text(0, 0));
}

Result<Store::Digest> PostgresStore::ComputeDigest(const std::string& tenant_id) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  Digest digest;
  HashBuilder hash;
  // COLLATE "C": byte order, the same order SQLite uses, so both backends digest equal data equally.
  ASSIGN_OR_RETURN(PgResult documents, conn_->Exec("SELECT id, content_hash, state FROM documents WHERE tenant_id "
                                                   "= $1 ORDER BY id COLLATE \"C\"",
                                                   {tenant_id}));
  for (int i = 0; i < documents.rows(); ++i) {
    hash.Add(documents.Text(i, 0)).Add(documents.Text(i, 1)).Add(documents.Text(i, 2));
    ++digest.documents;
  }
  ASSIGN_OR_RETURN(PgResult chunks, conn_->Exec("SELECT id, content_hash FROM chunks WHERE tenant_id = $1 ORDER BY "
                                                "id COLLATE \"C\"",
                                                {tenant_id}));
  for (int i = 0; i < chunks.rows(); ++i) {
    hash.Add(chunks.Text(i, 0)).Add(chunks.Text(i, 1));
    ++digest.chunks;
  }
  digest.hex = hash.Hex();
  return digest;
}

Result<int64_t> PostgresStore::BeginRun(const std::string& tenant_id) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  RETURN_IF_ERROR(conn_->Exec("UPDATE runs SET state = 'interrupted', finished_at = $1 WHERE tenant_id = $2 AND "
                              "state = 'running'",
                              {Now(), tenant_id}));
  ASSIGN_OR_RETURN(PgResult result, conn_->Exec("INSERT INTO runs (tenant_id, started_at, state, summary) VALUES "
                                                "($1, $2, 'running', '{}') RETURNING id",
                                                {tenant_id, Now()}));
  return result.Int(0, 0);
}

Result<void> PostgresStore::FinishRun(const std::string& tenant_id, int64_t run_id, const std::string& state,
                                      const nlohmann::json& summary) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  ASSIGN_OR_RETURN(PgResult result,
                   conn_->Exec("UPDATE runs SET finished_at = $1, state = $2, summary = $3::jsonb WHERE id = $4 "
                               "AND tenant_id = $5",
                               {Now(), state, CompactJson(summary.is_null() ? nlohmann::json::object() : summary),
                                run_id, tenant_id}));
  if (result.Affected() == 0) {
    return Error(NotFound("run " + std::to_string(run_id) + " of tenant " + tenant_id + " does not exist"));
  }
  return {};
}

// ---- the tenant write lock ----

namespace {

// The advisory lock key of a tenant: 64 bits of a hash, apart from the migration key's space by its prefix.
int64_t TenantLockKey(const std::string& tenant_id) {
  return static_cast<int64_t>(Hash64("deskpipe tenant write lock\n" + tenant_id));
}

}  // namespace

Result<std::unique_ptr<TenantWriteLock>> PostgresStore::LockTenantForWrite(const std::string& tenant_id,
                                                                           const WriteLockOptions& options) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  if (auto it = locks_.find(tenant_id); it != locks_.end() && it->second->held()) {
    return Error(Internal("tenant " + tenant_id + "'s write lock is already held by this store"));
  }
  const int64_t key = TenantLockKey(tenant_id);
  RETURN_IF_ERROR(AcquireTenantLock(
      tenant_id, options,
      [this, key]() -> Result<bool> {
        ASSIGN_OR_RETURN(PgResult result, conn_->Exec("SELECT pg_try_advisory_lock($1::bigint)", {key}));
        return result.Bool(0, 0);
      },
      [this, &tenant_id] {
        auto result = conn_->Exec("SELECT holder FROM tenant_writers WHERE tenant_id = $1", {tenant_id});
        return result && result->rows() > 0 ? LockHolder::FromJson(result->Text(0, 0)) : LockHolder();
      }));
  auto recorded = conn_->Exec("INSERT INTO tenant_writers (tenant_id, holder) VALUES ($1, $2) ON CONFLICT "
                              "(tenant_id) DO UPDATE SET holder = EXCLUDED.holder",
                              {tenant_id, LockHolder::Self(options.command).ToJson()});
  if (!recorded) log::Warn("could not record the lock holder", {{"error", recorded.error().ToString()}});
  auto slot = std::make_shared<TenantWriteLock::Slot>([this, key] {
    if (auto unlocked = conn_->Exec("SELECT pg_advisory_unlock($1::bigint)", {key}); !unlocked) {
      log::Warn("advisory unlock failed; the lock goes with the connection",
                {{"error", unlocked.error().ToString()}});
    }
  });
  locks_[tenant_id] = slot;
  return std::make_unique<TenantWriteLock>(tenant_id, std::move(slot));
}

Result<std::optional<LockHolder>> PostgresStore::TenantWriter(const std::string& tenant_id) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  // A bigint advisory key shows in pg_locks as classid = its high 32 bits, objid = its low 32, objsubid = 1.
  const uint64_t key = static_cast<uint64_t>(TenantLockKey(tenant_id));
  ASSIGN_OR_RETURN(PgResult held,
                   conn_->Exec("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
                               "database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND "
                               "classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1",
                               {static_cast<int64_t>(key >> 32), static_cast<int64_t>(key & 0xffffffffu)}));
  if (held.Int(0, 0) == 0) return std::optional<LockHolder>();
  ASSIGN_OR_RETURN(PgResult holder, conn_->Exec("SELECT holder FROM tenant_writers WHERE tenant_id = $1", {tenant_id}));
  return std::optional<LockHolder>(holder.rows() > 0 ? LockHolder::FromJson(holder.Text(0, 0)) : LockHolder());
}

// ---- dead letters ----

Result<std::vector<StoredDeadLetter>> PostgresStore::ListDeadLetters(const std::string& tenant_id,
                                                                     const std::string& stream) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  ASSIGN_OR_RETURN(PgResult result,
                   conn_->Exec("SELECT stream, record_id, stage, error_class, message, attempts, first_seen, "
                               "last_seen FROM dead_letters WHERE tenant_id = $1 AND ($2 = '' OR stream = $2) "
                               "ORDER BY stream COLLATE \"C\", record_id COLLATE \"C\"",
                               {tenant_id, stream}));
  std::vector<StoredDeadLetter> letters;
  for (int i = 0; i < result.rows(); ++i) {
    StoredDeadLetter stored;
    stored.letter = {result.Text(i, 0), result.Text(i, 1), result.Text(i, 2), result.Text(i, 3), result.Text(i, 4)};
    stored.attempts = result.Int(i, 5);
    stored.first_seen = result.Text(i, 6);
    stored.last_seen = result.Text(i, 7);
    letters.push_back(std::move(stored));
  }
  return letters;
}

Result<void> PostgresStore::ResolveDeadLetter(const std::string& tenant_id, const std::string& stream,
                                              const std::string& record_id) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  RETURN_IF_ERROR(conn_->Exec("DELETE FROM dead_letters WHERE tenant_id = $1 AND stream = $2 AND record_id = $3",
                              {tenant_id, stream, record_id}));
  return {};
}

// ---- maintenance ----

Result<ResetReport> PostgresStore::ResetTenant(const std::string& tenant_id) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  ResetReport report;
  pg::PgTransaction txn(*conn_);
  RETURN_IF_ERROR(txn.status());
  RETURN_IF_ERROR(conn_->Exec("SELECT pg_advisory_xact_lock(hashtext($1))", {tenant_id}));
  if (has_pgvector_) {
    ASSIGN_OR_RETURN(PgResult vectors,
                     conn_->Exec("DELETE FROM chunk_vectors WHERE tenant_id = $1", {tenant_id}));
    report.vectors = vectors.Affected();
  } else if (options_.dimension > 0) {
    ASSIGN_OR_RETURN(StoreStats stats, Stats(tenant_id));
    report.vectors = stats.vectors;
  }
  for (const char* table : sc::kRecordTables) {
    ASSIGN_OR_RETURN(PgResult deleted,
                     conn_->Exec(std::string("DELETE FROM ") + table + " WHERE tenant_id = $1", {tenant_id}));
    report.records += deleted.Affected();
  }
  ASSIGN_OR_RETURN(PgResult chunks, conn_->Exec("DELETE FROM chunks WHERE tenant_id = $1", {tenant_id}));
  report.chunks = chunks.Affected();
  ASSIGN_OR_RETURN(PgResult documents, conn_->Exec("DELETE FROM documents WHERE tenant_id = $1", {tenant_id}));
  report.documents = documents.Affected();
  ASSIGN_OR_RETURN(PgResult cursors, conn_->Exec("DELETE FROM cursors WHERE tenant_id = $1", {tenant_id}));
  report.cursors = cursors.Affected();
  RETURN_IF_ERROR(conn_->Exec("DELETE FROM runs WHERE tenant_id = $1", {tenant_id}));
  RETURN_IF_ERROR(conn_->Exec("DELETE FROM dead_letters WHERE tenant_id = $1", {tenant_id}));
  RETURN_IF_ERROR(conn_->Exec("DELETE FROM tenant_profiles WHERE tenant_id = $1", {tenant_id}));
  // The embedding cache is shared by content hash: drop the entries no remaining chunk of any tenant uses.
  RETURN_IF_ERROR(conn_->Exec("DELETE FROM embeddings e WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE "
                              "c.model_id = e.model_id AND c.content_hash = e.content_hash)"));
  RETURN_IF_ERROR(txn.Commit());
  return report;
}

Result<VerifyReport> PostgresStore::VerifyTenant(const std::string& tenant_id, const VerifyOptions& options) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  VerifyReport report;
  ASSIGN_OR_RETURN(StoreStats stats, Stats(tenant_id));
  report.chunks = stats.chunks;
  report.vectors = stats.vectors;
  for (const auto& [type, count] : stats.documents_by_type) report.documents += count;

  // Chunks without a vector (of this store's dimension).
  std::vector<int64_t> missing_rowids;
  std::unordered_map<int64_t, std::string> chunk_ids;
  if (options_.dimension > 0) {
    const std::string sql =
        has_pgvector_
            ? "SELECT c.rowid, c.id FROM chunks c LEFT JOIN chunk_vectors v ON v.chunk_rowid = c.rowid AND v.dim = "
              "$2 WHERE c.tenant_id = $1 AND v.chunk_rowid IS NULL ORDER BY c.id COLLATE \"C\""
            : "SELECT c.rowid, c.id FROM chunks c LEFT JOIN embeddings e ON e.model_id = c.model_id AND "
              "e.content_hash = c.content_hash AND e.dim = $2 WHERE c.tenant_id = $1 AND e.content_hash IS NULL "
              "ORDER BY c.id COLLATE \"C\"";
    ASSIGN_OR_RETURN(PgResult missing, conn_->Exec(sql, {tenant_id, options_.dimension}));
    for (int i = 0; i < missing.rows(); ++i) {
      missing_rowids.push_back(missing.Int(i, 0));
      report.chunks_without_vector.push_back(missing.Text(i, 1));
      chunk_ids[missing.Int(i, 0)] = missing.Text(i, 1);
    }
  }
  if (has_pgvector_) {
    // A vector whose chunk is another tenant's or gone (the foreign key makes "gone" impossible; the tenant
    // mismatch is what a hand edit could cause).
    ASSIGN_OR_RETURN(PgResult stray, conn_->Exec("SELECT v.chunk_rowid FROM chunk_vectors v LEFT JOIN chunks c ON "
                                                 "c.rowid = v.chunk_rowid AND c.tenant_id = v.tenant_id WHERE "
                                                 "v.tenant_id = $1 AND c.rowid IS NULL",
                                                 {tenant_id}));
    for (int i = 0; i < stray.rows(); ++i) report.vectors_without_chunk.push_back(stray.Int(i, 0));
  }
  std::vector<int64_t> bad_rowids;
  if (options_.store_original_text) {
    ASSIGN_OR_RETURN(PgResult chunks, conn_->Exec("SELECT rowid, id, text, content_hash FROM chunks WHERE "
                                                  "tenant_id = $1 ORDER BY id COLLATE \"C\"",
                                                  {tenant_id}));
    for (int i = 0; i < chunks.rows(); ++i) {
      if (HashHex(chunks.Text(i, 2)) != chunks.Text(i, 3)) {
        bad_rowids.push_back(chunks.Int(i, 0));
        report.chunk_hash_mismatches.push_back(chunks.Text(i, 1));
        chunk_ids[chunks.Int(i, 0)] = chunks.Text(i, 1);
      }
    }
  }
  ASSIGN_OR_RETURN(PgResult orphans, conn_->Exec("SELECT c.rowid, c.id FROM chunks c LEFT JOIN documents d ON "
                                                 "d.tenant_id = c.tenant_id AND d.id = c.document_id WHERE "
                                                 "c.tenant_id = $1 AND d.id IS NULL ORDER BY c.id COLLATE \"C\"",
                                                 {tenant_id}));
  std::vector<int64_t> orphan_rowids;
  for (int i = 0; i < orphans.rows(); ++i) {
    orphan_rowids.push_back(orphans.Int(i, 0));
    report.orphan_chunks.push_back(orphans.Text(i, 1));
    chunk_ids[orphans.Int(i, 0)] = orphans.Text(i, 1);
  }
  for (const auto& [stream, cursor] : stats.cursors) {
    if (!cursor.is_object()) report.cursor_problems.push_back(stream + ": cursor is not a JSON object");
  }
  if (!options.repair || report.ok()) return report;
  std::string model_id = options.model_id;
  if (model_id.empty()) {
    ASSIGN_OR_RETURN(auto profile, LoadProfile(tenant_id));
    if (profile) model_id = profile->model_id;
  }

  pg::PgTransaction txn(*conn_);
  RETURN_IF_ERROR(txn.status());
  RETURN_IF_ERROR(conn_->Exec("SELECT pg_advisory_xact_lock(hashtext($1))", {tenant_id}));
  if (!report.vectors_without_chunk.empty()) {
    ASSIGN_OR_RETURN(PgResult removed, conn_->Exec("DELETE FROM chunk_vectors WHERE tenant_id = $1 AND chunk_rowid "
                                                   "= ANY($2::bigint[])",
                                                   {tenant_id, IntArray(report.vectors_without_chunk)}));
    report.repaired += removed.Affected();
  }
  if (has_pgvector_ && !missing_rowids.empty()) {
    // Rebuild from the embedding cache where it still holds the vector.
    ASSIGN_OR_RETURN(PgResult cached,
                     conn_->Exec("SELECT c.rowid, e.vector FROM chunks c JOIN embeddings e ON e.model_id = "
                                 "c.model_id AND e.content_hash = c.content_hash AND e.dim = $3 WHERE c.tenant_id "
                                 "= $1 AND c.rowid = ANY($2::bigint[])",
                                 {tenant_id, IntArray(missing_rowids), options_.dimension}));
    std::unordered_set<int64_t> rebuilt;
    for (int i = 0; i < cached.rows(); ++i) {
      const std::vector<float> vector = sc::VectorFromBytes(cached.Bytes(i, 1));
      RETURN_IF_ERROR(conn_->Exec("INSERT INTO chunk_vectors (chunk_rowid, tenant_id, dim, embedding) VALUES ($1, "
                                  "$2, $3, $4::vector) ON CONFLICT (chunk_rowid) DO NOTHING",
                                  {cached.Int(i, 0), tenant_id, options_.dimension, pg::VectorLiteral(vector)}));
      rebuilt.insert(cached.Int(i, 0));
      ++report.repaired;
    }
    std::vector<int64_t> still_missing;
    for (int64_t rowid : missing_rowids) {
      if (!rebuilt.count(rowid)) still_missing.push_back(rowid);
    }
    missing_rowids = std::move(still_missing);
  }
  // An orphan needs no vector: it is removed below.
  {
    std::unordered_set<int64_t> orphan_set(orphan_rowids.begin(), orphan_rowids.end());
    std::unordered_set<int64_t> bad_set(bad_rowids.begin(), bad_rowids.end());
    std::vector<int64_t> still_missing;
    for (int64_t rowid : missing_rowids) {
      if (!orphan_set.count(rowid) && !bad_set.count(rowid)) still_missing.push_back(rowid);
    }
    missing_rowids = std::move(still_missing);
  }
  // A chunk whose vector is gone and not cached: embedded again from its stored text, else reported.
  if (!missing_rowids.empty() && options.embed && !model_id.empty() && options_.store_original_text) {
    ASSIGN_OR_RETURN(PgResult texts, conn_->Exec("SELECT rowid, text, content_hash FROM chunks WHERE tenant_id = $1 "
                                                 "AND rowid = ANY($2::bigint[]) ORDER BY rowid",
                                                 {tenant_id, IntArray(missing_rowids)}));
    std::vector<std::string> batch;
    for (int i = 0; i < texts.rows(); ++i) batch.push_back(texts.Text(i, 1));
    ASSIGN_OR_RETURN(auto vectors, options.embed(batch));
    if (vectors.size() != batch.size()) return Error(Internal("the embedder answered a different count"));
    std::unordered_set<int64_t> embedded;
    for (int i = 0; i < texts.rows(); ++i) {
      if (static_cast<int>(vectors[i].size()) != options_.dimension) {
        return Error(InvalidArgument("the embedder gives " + std::to_string(vectors[i].size()) +
                                     "-d vectors; the tenant's are " + std::to_string(options_.dimension) + "-d"));
      }
      RETURN_IF_ERROR(PutVector(tenant_id, texts.Int(i, 0), model_id, texts.Text(i, 2), vectors[i]));
      embedded.insert(texts.Int(i, 0));
      ++report.re_embedded;
      ++report.repaired;
    }
    std::vector<int64_t> still_missing;
    for (int64_t rowid : missing_rowids) {
      if (!embedded.count(rowid)) still_missing.push_back(rowid);
    }
    missing_rowids = std::move(still_missing);
  }
  for (int64_t rowid : missing_rowids) {
    report.unrepaired.push_back("chunk " + chunk_ids[rowid] +
                                ": its vector is lost and not in the embedding cache; run verify --repair with the "
                                "tenant's embedder to embed it again");
  }
  // Damaged text is kept (it is what keyword search finds) and its document's hash forgotten, so the next sync
  // that reads the document rewrites it.
  if (!bad_rowids.empty()) {
    RETURN_IF_ERROR(conn_->Exec("UPDATE documents d SET content_hash = '' FROM chunks c WHERE c.tenant_id = $1 AND "
                                "c.rowid = ANY($2::bigint[]) AND d.tenant_id = c.tenant_id AND d.id = c.document_id",
                                {tenant_id, IntArray(bad_rowids)}));
    for (int64_t rowid : bad_rowids) {
      report.unrepaired.push_back("chunk " + chunk_ids[rowid] +
                                  ": its text does not match its hash (changed outside deskpipe); kept, and its "
                                  "document is rewritten when a sync next reads it");
    }
  }
  // Only what is provably orphaned goes: chunks whose document row is gone.
  if (!orphan_rowids.empty()) {
    ASSIGN_OR_RETURN(PgResult removed, conn_->Exec("DELETE FROM chunks WHERE tenant_id = $1 AND rowid = "
                                                   "ANY($2::bigint[])",
                                                   {tenant_id, IntArray(orphan_rowids)}));
    report.repaired += removed.Affected();
    for (int64_t rowid : orphan_rowids) report.removed.push_back("chunk " + chunk_ids[rowid] + ": its document is gone");
  }
  for (int64_t key : report.vectors_without_chunk) {
    report.removed.push_back("vector " + std::to_string(key) + ": its chunk is gone");
  }
  RETURN_IF_ERROR(txn.Commit());
  return report;
}

Result<void> PostgresStore::PutVector(const std::string& tenant_id, int64_t chunk_rowid, const std::string& model_id,
                                      const std::string& content_hash, const std::vector<float>& vector) {
  RETURN_IF_ERROR(conn_->Exec("INSERT INTO embeddings (model_id, content_hash, dim, vector) VALUES ($1, $2, $3, $4) "
                              "ON CONFLICT (model_id, content_hash) DO NOTHING",
                              {model_id, content_hash, static_cast<int64_t>(vector.size()),
                               Param::Bytes(vector.data(), vector.size() * sizeof(float))}));
  if (has_pgvector_) {
    RETURN_IF_ERROR(conn_->Exec("INSERT INTO chunk_vectors (chunk_rowid, tenant_id, dim, embedding) VALUES ($1, $2, "
                                "$3, $4::vector) ON CONFLICT (chunk_rowid) DO UPDATE SET dim = excluded.dim, "
                                "embedding = excluded.embedding",
                                {chunk_rowid, tenant_id, static_cast<int64_t>(vector.size()),
                                 pg::VectorLiteral(vector)}));
  }
  return {};
}

// ---- tenant profile, re-embedding ----

Result<std::optional<TenantProfile>> PostgresStore::LoadProfile(const std::string& tenant_id) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  ASSIGN_OR_RETURN(PgResult stored,
                   conn_->Exec("SELECT profile::text FROM tenant_profiles WHERE tenant_id = $1", {tenant_id}));
  if (stored.rows() > 0) return std::optional<TenantProfile>(TenantProfile::FromJson(ParseJson(stored.Text(0, 0))));
  // Synced before profiles were recorded: what its chunks say, if it has any; any trace of a sync otherwise.
  ASSIGN_OR_RETURN(PgResult chunk,
                   conn_->Exec("SELECT c.model_id, COALESCE((SELECT e.dim FROM embeddings e WHERE e.model_id = "
                               "c.model_id AND e.content_hash = c.content_hash), 0) FROM chunks c WHERE c.tenant_id = "
                               "$1 LIMIT 1",
                               {tenant_id}));
  if (chunk.rows() > 0) {
    TenantProfile profile;
    profile.model_id = chunk.Text(0, 0);
    profile.dimension = static_cast<int>(chunk.Int(0, 1));
    // Chunks but no record rows: it was synced in vector-only mode with minimal SQL.
    std::string any_record;
    for (const char* table : sc::kRecordTables) {
      any_record += std::string(any_record.empty() ? "" : " UNION ALL ") + "SELECT 1 FROM " + table +
                    " WHERE tenant_id = $1";
    }
    ASSIGN_OR_RETURN(PgResult records, conn_->Exec("SELECT EXISTS (" + any_record + ")", {tenant_id}));
    profile.writes_records = records.Text(0, 0) == "t";
    return std::optional<TenantProfile>(profile);
  }
  ASSIGN_OR_RETURN(PgResult trace, conn_->Exec("SELECT 1 FROM runs WHERE tenant_id = $1 UNION ALL SELECT 1 FROM "
                                               "cursors WHERE tenant_id = $1 LIMIT 1",
                                               {tenant_id}));
  if (trace.rows() > 0) return std::optional<TenantProfile>(TenantProfile{});
  return std::optional<TenantProfile>();
}

Result<void> PostgresStore::SaveProfile(const std::string& tenant_id, const TenantProfile& profile) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  RETURN_IF_ERROR(conn_->Exec("INSERT INTO tenant_profiles (tenant_id, profile, updated_at) VALUES ($1, $2::jsonb, "
                              "$3) ON CONFLICT (tenant_id) DO UPDATE SET profile = excluded.profile, updated_at = "
                              "excluded.updated_at",
                              {tenant_id, CompactJson(profile.ToJson()), Now()}));
  return {};
}

Result<ReembedReport> PostgresStore::Reembed(const std::string& tenant_id, const TenantProfile& to,
                                             const EmbedTexts& embed) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  if (to.dimension != options_.dimension || to.model_id.empty()) {
    return Error(InvalidArgument("re-embedding needs the store opened with the new embedder's dimension"));
  }
  ReembedReport report;
  // One transaction: searches see the old vectors until it commits, then only the new ones.
  pg::PgTransaction txn(*conn_);
  RETURN_IF_ERROR(txn.status());
  RETURN_IF_ERROR(conn_->Exec("SELECT pg_advisory_xact_lock(hashtext($1))", {tenant_id}));
  if (has_pgvector_) RETURN_IF_ERROR(conn_->Exec("DELETE FROM chunk_vectors WHERE tenant_id = $1", {tenant_id}));
  int64_t after = 0;
  constexpr int kPage = 256;
  while (true) {
    ASSIGN_OR_RETURN(PgResult page, conn_->Exec("SELECT rowid, id, text FROM chunks WHERE tenant_id = $1 AND rowid > "
                                                "$2 ORDER BY rowid LIMIT $3",
                                                {tenant_id, after, static_cast<int64_t>(kPage)}));
    if (page.rows() == 0) break;
    std::vector<std::string> hashes;
    std::vector<int> rows;
    for (int i = 0; i < page.rows(); ++i) {
      after = page.Int(i, 0);
      ++report.chunks;
      if (!options_.store_original_text || page.Text(i, 2).empty()) {
        report.skipped.push_back(page.Text(i, 1));
        continue;
      }
      rows.push_back(i);
      hashes.push_back(HashHex(page.Text(i, 2)));
    }
    ASSIGN_OR_RETURN(auto cached, CachedEmbeddings(to.model_id, hashes));
    std::vector<std::string> missing;
    for (size_t j = 0; j < rows.size(); ++j) {
      if (!cached.count(hashes[j])) missing.push_back(page.Text(rows[j], 2));
    }
    if (!missing.empty()) {
      ASSIGN_OR_RETURN(auto vectors, embed(missing));
      if (vectors.size() != missing.size()) return Error(Internal("the embedder answered a different count"));
      size_t next = 0;
      for (size_t j = 0; j < rows.size(); ++j) {
        if (cached.count(hashes[j])) continue;
        if (static_cast<int>(vectors[next].size()) != to.dimension) {
          return Error(InvalidArgument("the embedder gives " + std::to_string(vectors[next].size()) +
                                       "-d vectors, not " + std::to_string(to.dimension)));
        }
        cached[hashes[j]] = std::move(vectors[next++]);
        ++report.embedded;
      }
    }
    report.from_cache += static_cast<int64_t>(rows.size()) - static_cast<int64_t>(missing.size());
    for (size_t j = 0; j < rows.size(); ++j) {
      RETURN_IF_ERROR(PutVector(tenant_id, page.Int(rows[j], 0), to.model_id, hashes[j], cached[hashes[j]]));
    }
    if (page.rows() < kPage) break;
  }
  RETURN_IF_ERROR(conn_->Exec("UPDATE chunks SET model_id = $2 WHERE tenant_id = $1", {tenant_id, to.model_id}));
  RETURN_IF_ERROR(SaveProfile(tenant_id, to));
  RETURN_IF_ERROR(txn.Commit());
  return report;
}

}  // namespace deskpipe
