#include "store/sqlite_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <unordered_set>
#include <utility>

#include "core/file_read.h"
#include "core/hash.h"
#include "core/ids.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/time.h"
#include "store/store_common.h"

namespace deskpipe {
namespace {

using sqlite::Statement;
namespace sc = store_common;

// Migrations in order; each runs once, in a transaction, and is recorded in schema_migrations. Never edit
// a shipped migration: append a new one.
struct Migration {
  int version;
  const char* sql;
};

constexpr char kRecordColumns[] =
    "tenant_id TEXT NOT NULL, id TEXT NOT NULL, original_id TEXT NOT NULL, platform TEXT NOT NULL DEFAULT "
    "'', "
    "parent_id TEXT NOT NULL DEFAULT '', title TEXT NOT NULL DEFAULT '', content TEXT NOT NULL DEFAULT '', "
    "status TEXT NOT NULL DEFAULT '', priority TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL DEFAULT "
    "'', "
    "updated_at TEXT NOT NULL DEFAULT '', metadata TEXT NOT NULL DEFAULT '{}', raw TEXT";

std::string MigrationOneSql() {
  std::string sql;
  for (const char* table : {"tickets", "conversations", "articles"}) {
    sql += std::string("CREATE TABLE ") + table + " (" + kRecordColumns + ", PRIMARY KEY (tenant_id, id));\n";
  }
  sql += std::string("CREATE TABLE records (type TEXT NOT NULL, ") + kRecordColumns +
         ", PRIMARY KEY (tenant_id, id));\n"
         "CREATE INDEX records_type ON records (tenant_id, type);\n";
  sql += R"sql(
CREATE TABLE documents (
  tenant_id TEXT NOT NULL, id TEXT NOT NULL, platform TEXT NOT NULL DEFAULT '', type TEXT NOT NULL,
  title TEXT NOT NULL DEFAULT '', state TEXT NOT NULL DEFAULT 'active', updated_at TEXT NOT NULL DEFAULT '',
  content_hash TEXT NOT NULL, metadata TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (tenant_id, id));
CREATE INDEX documents_type ON documents (tenant_id, type, state);
CREATE TABLE chunks (
  rowid INTEGER PRIMARY KEY AUTOINCREMENT, tenant_id TEXT NOT NULL, id TEXT NOT NULL,
  document_id TEXT NOT NULL, chunk_index INTEGER NOT NULL, title TEXT NOT NULL DEFAULT '',
  text TEXT NOT NULL, content_hash TEXT NOT NULL, model_id TEXT NOT NULL,
  UNIQUE (tenant_id, id));
CREATE INDEX chunks_document ON chunks (tenant_id, document_id);
CREATE VIRTUAL TABLE chunks_fts USING fts5(
  text, title, content='chunks', content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2');
CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
  INSERT INTO chunks_fts (rowid, text, title) VALUES (new.rowid, new.text, new.title);
END;
CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
  INSERT INTO chunks_fts (chunks_fts, rowid, text, title) VALUES ('delete', old.rowid, old.text, old.title);
END;
CREATE TRIGGER chunks_fts_update AFTER UPDATE ON chunks BEGIN
  INSERT INTO chunks_fts (chunks_fts, rowid, text, title) VALUES ('delete', old.rowid, old.text, old.title);
  INSERT INTO chunks_fts (rowid, text, title) VALUES (new.rowid, new.text, new.title);
END;
CREATE TABLE embeddings (
  model_id TEXT NOT NULL, content_hash TEXT NOT NULL, dim INTEGER NOT NULL, vector BLOB NOT NULL,
  PRIMARY KEY (model_id, content_hash));
CREATE TABLE cursors (
  tenant_id TEXT NOT NULL, stream TEXT NOT NULL, cursor TEXT NOT NULL, updated_at TEXT NOT NULL,
  PRIMARY KEY (tenant_id, stream));
CREATE TABLE runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, tenant_id TEXT NOT NULL, started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL DEFAULT '', state TEXT NOT NULL, summary TEXT NOT NULL DEFAULT '{}');
CREATE INDEX runs_tenant ON runs (tenant_id, id);
CREATE TABLE dead_letters (
  tenant_id TEXT NOT NULL, stream TEXT NOT NULL, record_id TEXT NOT NULL, stage TEXT NOT NULL,
  error_class TEXT NOT NULL, message TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 1,
  first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
  PRIMARY KEY (tenant_id, stream, record_id));
CREATE TABLE meta (
  tenant_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (tenant_id, key));
)sql";
  return sql;
}

// Migration 2: the filter columns search reads, backfilled from the metadata they come from.
constexpr char kMigrationTwoSql[] = R"sql(
ALTER TABLE documents ADD COLUMN status TEXT NOT NULL DEFAULT '';
ALTER TABLE documents ADD COLUMN is_private INTEGER NOT NULL DEFAULT 0;
UPDATE documents SET status = COALESCE(json_extract(metadata, '$.status'), ''),
  is_private = (COALESCE(json_extract(metadata, '$.has_private'), 0) = 1
                OR COALESCE(json_extract(metadata, '$.private'), 0) = 1
                OR COALESCE(json_extract(metadata, '$.visibility'), '') = 'agents'
                OR COALESCE(json_extract(metadata, '$.folder_visibility'), '') = 'agents')
  WHERE json_valid(metadata);
CREATE INDEX documents_filter ON documents (tenant_id, type, status, updated_at);
)sql";

// Migration 3: a ticket's stored conversations found by parent (Store::KnownChildren, issue 4).
constexpr char kMigrationThreeSql[] = "CREATE INDEX conversations_parent ON conversations (tenant_id, parent_id);";

// Migration 4: the embedding cache split in two, because inserting into a b-tree keyed by content hash lands
// on a random page per vector, each one more page for the WAL to carry. Vectors are appended in id order and
// each chunk points at its vector; the key index is filled in sorted batches (FoldEmbeddingKeys). The FTS
// update trigger now fires only for the columns FTS holds, so pointing chunks at vectors leaves it alone.
constexpr char kMigrationFourSql[] = R"sql(
CREATE TABLE embedding_vectors (
  id INTEGER PRIMARY KEY AUTOINCREMENT, model_id TEXT NOT NULL, content_hash TEXT NOT NULL,
  dim INTEGER NOT NULL, vector BLOB NOT NULL);
CREATE TABLE embedding_keys (
  model_id TEXT NOT NULL, content_hash TEXT NOT NULL, vector_id INTEGER NOT NULL,
  PRIMARY KEY (model_id, content_hash)) WITHOUT ROWID;
INSERT INTO embedding_vectors (model_id, content_hash, dim, vector)
  SELECT model_id, content_hash, dim, vector FROM embeddings ORDER BY rowid;
INSERT INTO embedding_keys (model_id, content_hash, vector_id)
  SELECT model_id, content_hash, id FROM embedding_vectors ORDER BY model_id, content_hash;
INSERT INTO meta (tenant_id, key, value)
  SELECT '', 'embedding_keys_through', CAST(COALESCE(MAX(id), 0) AS TEXT) FROM embedding_vectors;
DROP TABLE embeddings;
DROP TRIGGER chunks_fts_update;
ALTER TABLE chunks ADD COLUMN vector_id INTEGER;
UPDATE chunks SET vector_id = (SELECT k.vector_id FROM embedding_keys k
                               WHERE k.model_id = chunks.model_id AND k.content_hash = chunks.content_hash);
CREATE TRIGGER chunks_fts_update AFTER UPDATE OF text, title ON chunks BEGIN
  INSERT INTO chunks_fts (chunks_fts, rowid, text, title) VALUES ('delete', old.rowid, old.text, old.title);
  INSERT INTO chunks_fts (rowid, text, title) VALUES (new.rowid, new.text, new.title);
END;
)sql";

// Migration 5: Commit writes a new chunk's FTS row itself. Through the insert trigger, every chunk INSERT ran
// with a statement journal, and FTS5 (SQLite 3.40) flushes its pending terms to a new segment at each statement
// savepoint: a segment per chunk, merged again and again (2.7x the insert cost). Updates and deletes keep their
// triggers, which hand FTS the old values it needs; they are the rarer writes.
constexpr char kMigrationFiveSql[] = "DROP TRIGGER chunks_fts_insert;";

// Migration 6: the rest of the search filters as columns (store_common::FilterFields), so neither side of a
// search parses each document's metadata: extracting them from the JSON took ~2 µs per chunk.
constexpr char kMigrationSixSql[] = R"sql(
ALTER TABLE documents ADD COLUMN priority TEXT NOT NULL DEFAULT '';
ALTER TABLE documents ADD COLUMN group_name TEXT NOT NULL DEFAULT '';
ALTER TABLE documents ADD COLUMN group_id TEXT NOT NULL DEFAULT '';
ALTER TABLE documents ADD COLUMN language TEXT NOT NULL DEFAULT '';
ALTER TABLE documents ADD COLUMN created_at TEXT NOT NULL DEFAULT '';
ALTER TABLE documents ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
UPDATE documents SET priority = COALESCE(CAST(json_extract(metadata, '$.priority') AS TEXT), ''),
  group_name = COALESCE(CAST(json_extract(metadata, '$.group_name') AS TEXT), ''),
  group_id = COALESCE(CAST(json_extract(metadata, '$.group_id') AS TEXT), ''),
  language = COALESCE(CAST(json_extract(metadata, '$.language') AS TEXT), ''),
  created_at = COALESCE(CAST(json_extract(metadata, '$.created_at') AS TEXT), ''),
  tags = CASE json_type(metadata, '$.tags') WHEN 'array' THEN json_extract(metadata, '$.tags') ELSE '[]' END
  WHERE json_valid(metadata);
)sql";

std::vector<std::pair<int, std::string>> Migrations() {
  return {{1, MigrationOneSql()},
          {2, kMigrationTwoSql},
          {3, kMigrationThreeSql},
          {4, kMigrationFourSql},
          {5, kMigrationFiveSql},
          {6, kMigrationSixSql}};
}

// Unkeyed vectors are folded into embedding_keys once this many have been appended (and at Flush).
constexpr int64_t kEmbeddingFoldRows = 16384;

// The upsert statement for one record table (built once per table; the text is the statement cache key).
const std::string& RecordUpsertSql(const std::string& table) {
  static const std::map<std::string, std::string> kSql = [] {
    std::map<std::string, std::string> sql;
    for (const std::string name : {"tickets", "conversations", "articles", "records"}) {
      const bool generic = name == "records";
      sql[name] = "INSERT INTO " + name + " (" + (generic ? "type, " : "") +
                  "tenant_id, id, original_id, platform, parent_id, title, content, status, priority, "
                  "created_at, updated_at, metadata, raw) VALUES (" +
                  (generic ? "?14, " : "") +
                  "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
                  "ON CONFLICT (tenant_id, id) DO UPDATE SET original_id = excluded.original_id, "
                  "platform = excluded.platform, parent_id = excluded.parent_id, title = excluded.title, "
                  "content = excluded.content, status = excluded.status, priority = excluded.priority, "
                  "created_at = excluded.created_at, updated_at = excluded.updated_at, "
                  "metadata = excluded.metadata, raw = excluded.raw" +
                  (generic ? ", type = excluded.type" : "");
    }
    return sql;
  }();
  return kSql.at(table);
}

nlohmann::json ParseJson(const std::string& text) {
  if (text.empty()) return nullptr;
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return value.is_discarded() ? nlohmann::json(text) : value;
}

std::string Now() { return FormatTimestamp(NowUnixSeconds()); }

std::vector<float> BlobToVector(const Statement& stmt, int column) {
  const int bytes = stmt.ColumnBytes(column);
  std::vector<float> vector(static_cast<size_t>(bytes) / sizeof(float));
  if (!vector.empty()) std::memcpy(vector.data(), stmt.ColumnBlob(column), vector.size() * sizeof(float));
  return vector;
}

// The in-memory key of an embedding cache entry (unkeyed_vectors_, a batch's appended vectors).
std::string EmbeddingKey(const std::string& model_id, const std::string& content_hash) {
  return model_id + '\n' + content_hash;
}

// "(?, ?, ?)" for an IN list of n values.
std::string Placeholders(size_t n) {
  std::string out = "(";
  for (size_t i = 0; i < n; ++i) out += i ? ", ?" : "?";
  return out + ")";
}

// The query's metadata filters on documents `d` as SQL conditions ("AND …"), their values appended to `binds`
// in order. The same filters as the vector side's ChunkAttrs predicate and store_common::PassesFilters.
std::string DocumentFilterSql(const SearchQuery& query, std::vector<std::string>& binds) {
  std::string sql;
  auto in_list = [&](const std::string& column, const std::vector<std::string>& values) {
    if (values.empty()) return;
    sql += " AND " + column + " IN " + Placeholders(values.size());
    binds.insert(binds.end(), values.begin(), values.end());
  };
  auto bound = [&](const std::string& column, const char* op, const std::string& value) {
    if (value.empty()) return;
    sql += " AND " + column + " " + op + " ?";
    binds.push_back(value);
  };
  in_list("d.type", query.types);
  in_list("d.status", query.statuses);
  bound("d.updated_at", ">=", query.updated_from);
  bound("d.updated_at", "<=", query.updated_to);
  if (query.exclude_private) sql += " AND d.is_private = 0";
  in_list("d.priority", query.priorities);
  in_list("d.language", query.languages);
  if (!query.groups.empty()) {
    sql += " AND ((d.group_name <> '' AND d.group_name IN " + Placeholders(query.groups.size()) +
           ") OR (d.group_id <> '' AND d.group_id IN " + Placeholders(query.groups.size()) + "))";
    binds.insert(binds.end(), query.groups.begin(), query.groups.end());
    binds.insert(binds.end(), query.groups.begin(), query.groups.end());
  }
  for (const std::string& tag : query.tags) {
    sql += " AND EXISTS (SELECT 1 FROM json_each(d.tags) WHERE value = ?)";
    binds.push_back(tag);
  }
  if (!query.created_from.empty() || !query.created_to.empty()) sql += " AND d.created_at <> ''";
  bound("d.created_at", ">=", query.created_from);
  bound("d.created_at", "<=", query.created_to);
  return sql;
}

uint32_t BigEndian(const unsigned char* bytes, int n) {
  uint32_t value = 0;
  for (int i = 0; i < n; ++i) value = (value << 8) | bytes[i];
  return value;
}

// Refuses a store file SQLite would only half-open (it reads lazily, then fails on some later statement):
// not a regular file, not readable and writable, not a SQLite database, or shorter than its header says.
// A missing or empty file is fine: SQLite makes a new database there.
Result<void> CheckDatabaseFile(const std::string& path, bool writable) {
  struct stat st {};
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return Error(DataLoss("cannot inspect the store database " + path + ": " + std::strerror(errno)));
    }
    if (writable && ::access(dir.c_str(), W_OK | X_OK) != 0) {
      return Error(PermissionDenied("cannot create the store database " + path + ": its directory " + dir +
                                    " is not writable by this user (" + std::strerror(errno) +
                                    "): give this user write access to it, or choose another --data-dir"));
    }
    return {};
  }
  if (!S_ISREG(st.st_mode)) {
    return Error(DataLoss("the store database " + path + " is " + std::string(FileKindName(st.st_mode)) +
                          ", not a regular file: point --store or --data-dir at a database file"));
  }
  if (!writable && ::access(path.c_str(), R_OK) != 0) {
    return Error(PermissionDenied("the store database " + path + " cannot be opened for reading (" +
                                  std::strerror(errno) + "): give this user read access to it"));
  }
  if (writable && (::access(path.c_str(), R_OK | W_OK) != 0 || ::access(dir.c_str(), W_OK | X_OK) != 0)) {
    const bool file_denied = ::access(path.c_str(), R_OK | W_OK) != 0;
    return Error(PermissionDenied("the store database " + path + " cannot be opened for reading and writing (" +
                                  (file_denied ? "the file" : "its directory " + dir) + ": " +
                                  std::strerror(errno) +
                                  "): give this user read and write access to it and to its directory (SQLite "
                                  "keeps its -wal and -shm files beside it)"));
  }
  if (st.st_size == 0) return {};
  unsigned char header[100] = {};
  {
    std::ifstream in(path, std::ios::binary);
    in.read(reinterpret_cast<char*>(header), sizeof(header));
    if (in.gcount() != static_cast<std::streamsize>(sizeof(header)) ||
        std::memcmp(header, "SQLite format 3", 16) != 0) {
      return Error(DataLoss("the store database " + path + " is not a SQLite database (no SQLite header): " +
                            sqlite::kStoreRepairHint));
    }
  }
  // The page count in the header is current when its "valid for" number equals the change counter. A
  // checkpoint interrupted by a crash can leave the file short of it while the WAL still holds the pages, so
  // the check applies only without a WAL to replay.
  std::error_code ec;
  const auto wal_size = std::filesystem::file_size(path + "-wal", ec);
  const bool wal_pending = !ec && wal_size > 0;
  uint32_t page_size = BigEndian(header + 16, 2);
  if (page_size == 1) page_size = 65536;
  const uint32_t pages = BigEndian(header + 28, 4);
  const bool count_valid = BigEndian(header + 24, 4) == BigEndian(header + 92, 4);
  const uint64_t expected = static_cast<uint64_t>(pages) * page_size;
  if (!wal_pending && count_valid && pages > 0 && expected > static_cast<uint64_t>(st.st_size)) {
    return Error(DataLoss("the store database " + path + " is truncated (its header counts " +
                          std::to_string(expected) + " bytes, the file holds " + std::to_string(st.st_size) +
                          "): " + sqlite::kStoreRepairHint));
  }
  return {};
}

}  // namespace

SqliteStore::SqliteStore(std::unique_ptr<sqlite::SqliteDb> db, const StoreOptions& options,
                         std::string vectors_dir)
    : db_(std::move(db)), options_(options), vectors_dir_(std::move(vectors_dir)) {}

SqliteStore::~SqliteStore() {
  // Each release saves its tenant's index under the lock; Flush() then saves the rest.
  for (auto& [tenant, slot] : locks_) slot->Release();
  (void)Flush();
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& db_path,
                                                       const StoreOptions& options) {
  if (db_path.empty()) return Error(InvalidArgument("store database path is empty"));
  if (options.dimension < 0) return Error(InvalidArgument("store vector dimension must not be negative"));
  std::filesystem::path path(db_path);
  std::error_code ec;
  std::filesystem::path data_dir =
      options.data_dir.empty() ? (path.has_parent_path() ? path.parent_path() : std::filesystem::path("."))
                               : std::filesystem::path(options.data_dir);
  if (options.read_only) {
    if (!std::filesystem::exists(path, ec)) {
      return Error(NotFound("no deskpipe data in " + data_dir.string() + " (no database at " + db_path +
                            "); check --data-dir, or sync first"));
    }
    RETURN_IF_ERROR(CheckDatabaseFile(db_path, /*writable=*/false));
    ASSIGN_OR_RETURN(auto db, sqlite::SqliteDb::OpenReadOnly(db_path));
    RETURN_IF_ERROR(db->Exec("PRAGMA busy_timeout=5000;"));
    std::unique_ptr<SqliteStore> store(new SqliteStore(std::move(db), options, (data_dir / "vectors").string()));
    store->locks_dir_ = (data_dir / "locks").string();  // read, never created: whether a writer is running
    auto version = store->SchemaVersion();
    if (!version) {
      return Error(InvalidArgument(db_path + " is not a deskpipe database (" + version.error().message() + ")"));
    }
    if (*version < Migrations().back().first) {
      return Error(InvalidArgument(db_path + " was written by an older deskpipe (schema " +
                                      std::to_string(*version) + "); run `deskpipe sync` once to upgrade it"));
    }
    RETURN_IF_ERROR(store->LoadKeysThrough());
    return store;
  }
  if (path.has_parent_path()) {
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
      return Error(InvalidArgument("cannot create directory " + path.parent_path().string() +
                                   " for the store: " + ec.message()));
    }
  }
  RETURN_IF_ERROR(CheckDatabaseFile(db_path, /*writable=*/true));
  ASSIGN_OR_RETURN(auto db, sqlite::SqliteDb::Open(db_path));
  // 16 KB pages, before WAL mode: with 4 KB ones a stored conversation (~2 KB of payload) left ~30 % of its
  // table's pages unused; a 20k-ticket store is 586 MB instead of 712 and syncs with ~6 % less CPU. Only a
  // new database takes the size; an existing one keeps its own (changing it would need a VACUUM).
  RETURN_IF_ERROR(
      db->Exec("PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
               "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;"));
  std::unique_ptr<SqliteStore> store(
      new SqliteStore(std::move(db), options, (data_dir / "vectors").string()));
  store->locks_dir_ = (data_dir / "locks").string();
  RETURN_IF_ERROR(store->Migrate());
  RETURN_IF_ERROR(store->LoadKeysThrough());
  ASSIGN_OR_RETURN(store->checkpointer_, sqlite::WalCheckpointer::Start(*store->db_, db_path, {}));
  return store;
}

Result<void> SqliteStore::Migrate() {
  RETURN_IF_ERROR(
      db_->Exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT "
                "NOT NULL)"));
  sqlite::Transaction txn(*db_);
  RETURN_IF_ERROR(txn.status());
  ASSIGN_OR_RETURN(int current, SchemaVersion());
  for (const auto& [version, sql] : Migrations()) {
    if (version <= current) continue;
    auto applied = db_->Exec(sql);
    if (!applied) return Error(applied.error().WithContext("schema migration " + std::to_string(version)));
    ASSIGN_OR_RETURN(Statement * record,
                     db_->Prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)"));
    record->Bind(1, static_cast<int64_t>(version)).Bind(2, Now());
    RETURN_IF_ERROR(record->Run());
  }
  return txn.Commit();
}

Result<int> SqliteStore::SchemaVersion() {
  ASSIGN_OR_RETURN(Statement * stmt, db_->Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  ASSIGN_OR_RETURN(bool row, stmt->Step());
  const int version = row ? static_cast<int>(stmt->ColumnInt(0)) : 0;
  stmt->Reset();  // finished: a statement left mid-read would lock migrations that drop tables
  return version;
}

std::string SqliteStore::VectorIndexPath(const std::string& tenant_id) const {
  return (std::filesystem::path(vectors_dir_) / (tenant_id + ".usearch")).string();
}

// ---- cursors, cache lookups ----

Result<nlohmann::json> SqliteStore::LoadCursor(const std::string& tenant_id, const std::string& stream) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  ASSIGN_OR_RETURN(Statement * stmt,
                   db_->Prepare("SELECT cursor FROM cursors WHERE tenant_id = ? AND stream = ?"));
  stmt->Bind(1, tenant_id).Bind(2, stream);
  ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return nlohmann::json(nullptr);
  return ParseJson(stmt->ColumnText(0));
}

Result<std::unordered_map<std::string, std::vector<float>>> SqliteStore::CachedEmbeddings(
    const std::string& model_id, const std::vector<std::string>& content_hashes) {
  std::unordered_map<std::string, std::vector<float>> found;
  ASSIGN_OR_RETURN(Statement * keyed,
                   db_->Prepare("SELECT v.dim, v.vector FROM embedding_keys k JOIN embedding_vectors v "
                                "ON v.id = k.vector_id WHERE k.model_id = ? AND k.content_hash = ?"));
  ASSIGN_OR_RETURN(Statement * by_id, db_->Prepare("SELECT dim, vector FROM embedding_vectors WHERE id = ?"));
  for (const std::string& hash : content_hashes) {
    if (found.count(hash)) continue;
    Statement* stmt = keyed;
    if (auto unkeyed = unkeyed_vectors_.find(EmbeddingKey(model_id, hash));
        unkeyed != unkeyed_vectors_.end()) {
      stmt = by_id;  // appended since the last fold: not in embedding_keys yet
      stmt->Reset();
      stmt->Bind(1, unkeyed->second);
    } else {
      stmt->Reset();
      stmt->Bind(1, model_id).Bind(2, hash);
    }
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) continue;
    std::vector<float> vector = BlobToVector(*stmt, 1);
    if (static_cast<int64_t>(vector.size()) != stmt->ColumnInt(0)) continue;  // damaged row: re-embed
    found.emplace(hash, std::move(vector));
  }
  return found;
}

Result<int64_t> SqliteStore::StoreVector(const std::string& model_id, const Chunk& chunk,
                                         std::unordered_map<std::string, int64_t>& appended) {
  const std::string key = EmbeddingKey(model_id, chunk.content_hash);
  if (auto it = appended.find(key); it != appended.end()) return it->second;
  if (auto it = unkeyed_vectors_.find(key); it != unkeyed_vectors_.end()) return it->second;
  const int64_t bytes = static_cast<int64_t>(chunk.vector.size() * sizeof(float));
  ASSIGN_OR_RETURN(Statement * keyed,
                   db_->Prepare("SELECT k.vector_id FROM embedding_keys k JOIN embedding_vectors v "
                                "ON v.id = k.vector_id WHERE k.model_id = ? AND k.content_hash = ? "
                                "AND v.dim = ? AND length(v.vector) = ?"));
  keyed->Bind(1, model_id).Bind(2, chunk.content_hash).Bind(3, static_cast<int64_t>(chunk.vector.size()));
  keyed->Bind(4, bytes);
  ASSIGN_OR_RETURN(bool row, keyed->Step());
  if (row) return keyed->ColumnInt(0);
  // New (or its cached copy is damaged): appended, and keyed by the next fold.
  ASSIGN_OR_RETURN(Statement * insert,
                   db_->Prepare("INSERT INTO embedding_vectors (model_id, content_hash, dim, vector) "
                                "VALUES (?, ?, ?, ?)"));
  insert->Bind(1, model_id).Bind(2, chunk.content_hash).Bind(3, static_cast<int64_t>(chunk.vector.size()));
  insert->BindBlob(4, chunk.vector.data(), static_cast<size_t>(bytes));
  RETURN_IF_ERROR(insert->Run());
  const int64_t id = db_->LastInsertRowid();
  appended.emplace(key, id);
  return id;
}

Result<int64_t> SqliteStore::FoldEmbeddingKeys() {
  ASSIGN_OR_RETURN(Statement * last, db_->Prepare("SELECT COALESCE(MAX(id), 0) FROM embedding_vectors"));
  ASSIGN_OR_RETURN(bool row, last->Step());
  const int64_t through = row ? last->ColumnInt(0) : 0;
  if (through <= keys_through_) return keys_through_;
  // Sorted, so each page of the key index is written once per fold rather than once per vector. Where a text
  // was stored twice (its key was not yet visible, or the keyed copy is damaged) the newest copy wins.
  ASSIGN_OR_RETURN(
      Statement * fold,
      db_->Prepare("INSERT INTO embedding_keys (model_id, content_hash, vector_id) "
                   "SELECT model_id, content_hash, id FROM embedding_vectors WHERE id > ? AND id <= ? "
                   "ORDER BY model_id, content_hash, id ON CONFLICT (model_id, content_hash) "
                   "DO UPDATE SET vector_id = excluded.vector_id"));
  fold->Bind(1, keys_through_).Bind(2, through);
  RETURN_IF_ERROR(fold->Run());
  ASSIGN_OR_RETURN(
      Statement * mark,
      db_->Prepare("INSERT INTO meta (tenant_id, key, value) VALUES ('', 'embedding_keys_through', ?) "
                   "ON CONFLICT (tenant_id, key) DO UPDATE SET value = excluded.value"));
  mark->Bind(1, std::to_string(through));
  RETURN_IF_ERROR(mark->Run());
  return through;
}

Result<void> SqliteStore::FoldUnkeyedVectors() {
  sqlite::Transaction txn(*db_);
  RETURN_IF_ERROR(txn.status());
  ASSIGN_OR_RETURN(int64_t through, FoldEmbeddingKeys());
  RETURN_IF_ERROR(txn.Commit());
  keys_through_ = through;
  unkeyed_vectors_.clear();
  return {};
}

Result<void> SqliteStore::LoadKeysThrough() {
  ASSIGN_OR_RETURN(Statement * stmt,
                   db_->Prepare("SELECT CAST(value AS INTEGER) FROM meta WHERE tenant_id = '' AND "
                                "key = 'embedding_keys_through'"));
  ASSIGN_OR_RETURN(bool row, stmt->Step());
  keys_through_ = row ? stmt->ColumnInt(0) : 0;
  stmt->Reset();  // no read snapshot left open
  return {};
}

Result<std::unordered_map<std::string, std::string>> SqliteStore::DocumentHashes(
    const std::string& tenant_id, const std::vector<std::string>& ids) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  std::unordered_map<std::string, std::string> found;
  ASSIGN_OR_RETURN(Statement * stmt,
                   db_->Prepare("SELECT content_hash FROM documents WHERE tenant_id = ? AND id = ?"));
  for (const std::string& id : ids) {
    stmt->Reset();
    stmt->Bind(1, tenant_id).Bind(2, id);
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (row) found[id] = stmt->ColumnText(0);
  }
  return found;
}

// ---- commit ----

Result<void> SqliteStore::Commit(const BatchWrite& batch, const std::string& model_id) {
  const std::string& tenant = batch.tenant_id;
  RETURN_IF_ERROR(ValidateTenantId(tenant));
  if (batch.stream.empty())
    return Error(InvalidArgument("batch for tenant " + tenant + " has no stream name"));

  // Validate before touching anything, so a bad batch changes nothing.
  for (const Record& record : batch.records) {
    if (!record.tenant_id.empty() && record.tenant_id != tenant) {
      return Error(InvalidArgument("record " + record.id + " belongs to tenant '" + record.tenant_id +
                                   "', batch is for '" + tenant + "'"));
    }
    if (record.id.empty())
      return Error(InvalidArgument("record without id in batch of stream " + batch.stream));
  }
  bool has_vectors = false;
  for (const Document& doc : batch.documents) {
    if (!doc.tenant_id.empty() && doc.tenant_id != tenant) {
      return Error(InvalidArgument("document " + doc.id + " belongs to tenant '" + doc.tenant_id +
                                   "', batch is for '" + tenant + "'"));
    }
    if (doc.id.empty())
      return Error(InvalidArgument("document without id in batch of stream " + batch.stream));
    has_vectors = has_vectors || !doc.chunks.empty();
  }
  if (has_vectors && model_id.empty()) return Error(InvalidArgument("commit with chunks needs a model id"));

  // Open (or rebuild) the index before the transaction, so a rebuild sees the pre-commit state and the
  // changes below apply on top of it exactly once. An open index is not waited for: the follower may still
  // be applying the previous batch while this one's SQL runs.
  bool indexed = false;
  if (options_.dimension > 0) {
    if (!indexes_.count(tenant)) RETURN_IF_ERROR(TenantIndex(tenant));
    indexed = true;
  }

  std::vector<int64_t> removed_keys;
  std::vector<std::pair<int64_t, const std::vector<float>*>> added;
  std::unordered_map<std::string, int64_t> appended_vectors;  // this batch's new cache rows, by EmbeddingKey()
  const std::string now = Now();

  sqlite::Transaction txn(*db_);
  RETURN_IF_ERROR(txn.status());

  if (options_.WritesRecords()) {
    for (const Record& r : batch.records) {
      const std::string table = sc::RecordTable(r.type);
      const bool generic = table == "records";
      const std::string& sql = RecordUpsertSql(table);
      ASSIGN_OR_RETURN(Statement * stmt, db_->Prepare(sql));
      stmt->Bind(1, tenant).Bind(2, r.id).Bind(3, r.original_id).Bind(4, r.platform).Bind(5, r.parent_id);
      stmt->Bind(6, r.title).Bind(7, r.content).Bind(8, r.status).Bind(9, r.priority).Bind(10, r.created_at);
      stmt->Bind(11, r.updated_at).Bind(12, CompactJson(r.metadata));
      if (r.raw.empty()) {
        stmt->BindNull(13);
      } else {
        stmt->Bind(13, r.raw);
      }
      if (generic) stmt->Bind(14, r.type);
      RETURN_IF_ERROR(stmt->Run());
    }
  }

  for (const Document& doc : batch.documents) {
    ASSIGN_OR_RETURN(
        Statement * upsert,
        db_->Prepare("INSERT INTO documents (tenant_id, id, platform, type, title, state, updated_at, "
                     "content_hash, metadata, status, is_private, priority, group_name, group_id, language, "
                     "created_at, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                     "ON CONFLICT (tenant_id, id) DO UPDATE SET platform = excluded.platform, "
                     "type = excluded.type, title = excluded.title, state = excluded.state, "
                     "updated_at = excluded.updated_at, content_hash = excluded.content_hash, "
                     "metadata = excluded.metadata, status = excluded.status, is_private = excluded.is_private, "
                     "priority = excluded.priority, group_name = excluded.group_name, group_id = excluded.group_id, "
                     "language = excluded.language, created_at = excluded.created_at, tags = excluded.tags"));
    const sc::FilterFields fields = sc::FilterFieldsOf(doc);
    upsert->Bind(1, tenant).Bind(2, doc.id).Bind(3, doc.platform).Bind(4, doc.type).Bind(5, doc.title);
    upsert->Bind(6, doc.state).Bind(7, doc.updated_at).Bind(8, doc.content_hash);
    upsert->Bind(9, CompactJson(sc::VectorPayload(doc.metadata, options_.include_all_metadata)));
    upsert->Bind(10, fields.status).Bind(11, static_cast<int64_t>(fields.is_private ? 1 : 0));
    upsert->Bind(12, fields.priority).Bind(13, fields.group_name).Bind(14, fields.group_id);
    upsert->Bind(15, fields.language).Bind(16, fields.created_at).Bind(17, nlohmann::json(fields.tags).dump());
    RETURN_IF_ERROR(upsert->Run());

    // The document's current chunks: keep those whose id, text hash and model are unchanged (same rowid, so
    // the same vector key: no churn), delete the rest.
    struct Existing {
      int64_t rowid;
      std::string content_hash;
      std::string model_id;
      std::string title;
    };
    std::unordered_map<std::string, Existing> existing;
    {
      ASSIGN_OR_RETURN(Statement * select_chunks,
                       db_->Prepare("SELECT rowid, id, content_hash, model_id, title FROM chunks "
                                    "WHERE tenant_id = ? AND document_id = ?"));
      select_chunks->Bind(1, tenant).Bind(2, doc.id);
      while (true) {
        ASSIGN_OR_RETURN(bool row, select_chunks->Step());
        if (!row) break;
        existing.emplace(select_chunks->ColumnText(1),
                         Existing{select_chunks->ColumnInt(0), select_chunks->ColumnText(2),
                                  select_chunks->ColumnText(3), select_chunks->ColumnText(4)});
      }
    }
    std::unordered_set<std::string> kept;
    for (const Chunk& chunk : doc.chunks) {
      auto it = existing.find(chunk.id);
      if (it != existing.end() && it->second.content_hash == chunk.content_hash &&
          it->second.model_id == model_id) {
        kept.insert(chunk.id);
      }
    }
    for (const auto& [id, old] : existing) {
      if (kept.count(id)) continue;
      ASSIGN_OR_RETURN(Statement * del, db_->Prepare("DELETE FROM chunks WHERE rowid = ?"));
      del->Bind(1, old.rowid);
      RETURN_IF_ERROR(del->Run());
      removed_keys.push_back(old.rowid);
    }
    std::unordered_set<std::string> seen;
    for (const Chunk& chunk : doc.chunks) {
      if (!seen.insert(chunk.id).second) {
        return Error(InvalidArgument("document " + doc.id + " has chunk id " + chunk.id + " twice"));
      }
      if (kept.count(chunk.id)) {
        const Existing& old = existing.at(chunk.id);
        if (old.title != doc.title) {
          ASSIGN_OR_RETURN(Statement * retitle, db_->Prepare("UPDATE chunks SET title = ? WHERE rowid = ?"));
          retitle->Bind(1, doc.title).Bind(2, old.rowid);
          RETURN_IF_ERROR(retitle->Run());
        }
        continue;
      }
      if (chunk.vector.empty()) {
        return Error(Internal("chunk " + chunk.id +
                              " reached the store without a vector (the embed stage "
                              "must fill it)"));
      }
      if (options_.dimension > 0 && chunk.vector.size() != static_cast<size_t>(options_.dimension)) {
        return Error(Internal("chunk " + chunk.id + " has a " + std::to_string(chunk.vector.size()) +
                              "-d vector; the store expects " + std::to_string(options_.dimension)));
      }
      ASSIGN_OR_RETURN(int64_t vector_id, StoreVector(model_id, chunk, appended_vectors));
      ASSIGN_OR_RETURN(
          Statement * insert,
          db_->Prepare("INSERT INTO chunks (tenant_id, id, document_id, chunk_index, title, text, "
                       "content_hash, model_id, vector_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
      const std::string_view stored_text = options_.store_original_text ? std::string_view(chunk.text) : "";
      insert->Bind(1, tenant).Bind(2, chunk.id).Bind(3, doc.id).Bind(4, static_cast<int64_t>(chunk.index));
      insert->Bind(5, doc.title).Bind(6, stored_text);
      insert->Bind(7, chunk.content_hash).Bind(8, model_id).Bind(9, vector_id);
      RETURN_IF_ERROR(insert->Run());
      const int64_t rowid = db_->LastInsertRowid();
      // Not a trigger: see migration 5.
      ASSIGN_OR_RETURN(Statement * index_text,
                       db_->Prepare("INSERT INTO chunks_fts (rowid, text, title) VALUES (?, ?, ?)"));
      index_text->Bind(1, rowid).Bind(2, stored_text).Bind(3, doc.title);
      RETURN_IF_ERROR(index_text->Run());
      added.emplace_back(rowid, &chunk.vector);
    }
  }

  for (const std::string& id : batch.removed_ids) {
    for (const char* table : {"tickets", "conversations", "articles", "records", "documents"}) {
      ASSIGN_OR_RETURN(Statement * del,
                       db_->Prepare(std::string("DELETE FROM ") + table + " WHERE tenant_id = ? AND id = ?"));
      del->Bind(1, tenant).Bind(2, id);
      RETURN_IF_ERROR(del->Run());
    }
    ASSIGN_OR_RETURN(Statement * select_chunks,
                     db_->Prepare("SELECT rowid FROM chunks WHERE tenant_id = ? AND document_id = ?"));
    select_chunks->Bind(1, tenant).Bind(2, id);
    while (true) {
      ASSIGN_OR_RETURN(bool row, select_chunks->Step());
      if (!row) break;
      removed_keys.push_back(select_chunks->ColumnInt(0));
    }
    ASSIGN_OR_RETURN(Statement * del,
                     db_->Prepare("DELETE FROM chunks WHERE tenant_id = ? AND document_id = ?"));
    del->Bind(1, tenant).Bind(2, id);
    RETURN_IF_ERROR(del->Run());
  }

  for (const DeadLetter& letter : batch.dead_letters) {
    ASSIGN_OR_RETURN(
        Statement * stmt,
        db_->Prepare("INSERT INTO dead_letters (tenant_id, stream, record_id, stage, error_class, "
                     "message, attempts, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?) "
                     "ON CONFLICT (tenant_id, stream, record_id) DO UPDATE SET stage = excluded.stage, "
                     "error_class = excluded.error_class, message = excluded.message, "
                     "attempts = attempts + 1, last_seen = excluded.last_seen"));
    stmt->Bind(1, tenant)
        .Bind(2, letter.stream.empty() ? batch.stream : letter.stream)
        .Bind(3, letter.record_id);
    stmt->Bind(4, letter.stage).Bind(5, letter.error_class).Bind(6, letter.message).Bind(7, now).Bind(8, now);
    RETURN_IF_ERROR(stmt->Run());
  }

  if (!batch.cursor.is_null()) {  // a batch without a cursor leaves the stream's cursor where it was
    ASSIGN_OR_RETURN(
        Statement * stmt,
        db_->Prepare("INSERT INTO cursors (tenant_id, stream, cursor, updated_at) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT (tenant_id, stream) DO UPDATE SET cursor = excluded.cursor, "
                     "updated_at = excluded.updated_at"));
    stmt->Bind(1, tenant).Bind(2, batch.stream).Bind(3, CompactJson(batch.cursor)).Bind(4, now);
    RETURN_IF_ERROR(stmt->Run());
  }

  const bool vectors_changed = !removed_keys.empty() || !added.empty();
  int64_t new_generation = -1;
  if (vectors_changed) {
    ASSIGN_OR_RETURN(
        Statement * stmt,
        db_->Prepare("INSERT INTO meta (tenant_id, key, value) VALUES (?, 'vector_generation', '1') "
                     "ON CONFLICT (tenant_id, key) DO UPDATE SET "
                     "value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) RETURNING CAST(value AS INTEGER)"));
    stmt->Bind(1, tenant);
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (row) new_generation = stmt->ColumnInt(0);
    stmt->Reset();
  }

  const bool fold =
      static_cast<int64_t>(unkeyed_vectors_.size() + appended_vectors.size()) >= kEmbeddingFoldRows;
  int64_t keys_through = keys_through_;
  if (fold) {
    ASSIGN_OR_RETURN(keys_through, FoldEmbeddingKeys());
  }

  RETURN_IF_ERROR(txn.Commit());
  // Only now, so a rolled-back batch leaves no entry pointing at a vector row that was never written.
  if (fold) {
    keys_through_ = keys_through;
    unkeyed_vectors_.clear();
  } else {
    unkeyed_vectors_.merge(appended_vectors);
  }
  if (options_.after_sql_commit_for_test) options_.after_sql_commit_for_test();

  if (auto loaded = attrs_.find(tenant); indexed && loaded != attrs_.end()) {
    // The filter fields of every chunk this batch touched (a status change keeps chunks but moves filters);
    // they are kept only once a search has loaded them.
    AttrMap& attrs = loaded->second;
    for (int64_t key : removed_keys) attrs.Erase(key);
    for (const Document& doc : batch.documents) {
      if (auto refreshed = RefreshAttrs(tenant, doc.id, attrs); !refreshed) {
        DropIndex(tenant);
        return Error(refreshed.error().WithContext("filter fields of tenant " + tenant + " (will be reloaded)"));
      }
    }
  }
  if (!indexed || !vectors_changed) return {};
  // The index will hold this commit's changes: it reflects the generation just written.
  index_generations_[tenant] = new_generation;
  // SQL is committed; the follower applies the same changes to the index while the caller goes on.
  IndexFollower::Job job;
  job.tenant_id = tenant;
  job.removed_keys = std::move(removed_keys);
  job.added.reserve(added.size());
  for (const auto& [key, vector] : added) job.added.emplace_back(key, *vector);
  // A failed job's index is dropped (waiting for the queue first) before more jobs go to it.
  if (follower_.HasFailures()) CatchUpIndexes();
  auto open = indexes_.find(tenant);
  if (open == indexes_.end()) return {};  // reopening rebuilds it from SQL, this batch included
  job.index = open->second.get();
  follower_.Submit(std::move(job));
  return {};
}

void SqliteStore::CatchUpIndexes() {
  for (const IndexFollower::Failure& failure : follower_.Wait()) {
    log::Warn("vector index update failed; the index will be rebuilt from SQL",
              {{"tenant", failure.tenant_id}, {"error", failure.status.ToString()}});
    ForgetIndex(failure.tenant_id);
  }
}

// ---- vector index lifecycle ----

Result<int64_t> SqliteStore::VectorGeneration(const std::string& tenant_id) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   db_->Prepare("SELECT CAST(value AS INTEGER) FROM meta WHERE tenant_id = ? AND key = "
                                "'vector_generation'"));
  stmt->Bind(1, tenant_id);
  ASSIGN_OR_RETURN(bool row, stmt->Step());
  const int64_t generation = row ? stmt->ColumnInt(0) : 0;
  stmt->Reset();  // no read snapshot left open
  return generation;
}

Result<SegmentedIndex*> SqliteStore::TenantIndex(const std::string& tenant_id) {
  if (options_.dimension <= 0) {
    return Error(
        InvalidArgument("the store was opened without a vector dimension; vector operations need one"));
  }
  CatchUpIndexes();
  auto it = indexes_.find(tenant_id);
  if (it != indexes_.end()) return it->second.get();
  // Read before the refill: rows a writer commits meanwhile may be in the index, but its label stays older, so
  // a saved copy is refilled again rather than trusted.
  ASSIGN_OR_RETURN(int64_t generation, VectorGeneration(tenant_id));
  ASSIGN_OR_RETURN(auto index, OpenIndex(tenant_id, generation));
  index_generations_[tenant_id] = generation;
  if (index->stale()) {
    if (auto refilled = RefillIndex(tenant_id, *index); !refilled) {
      index_generations_.erase(tenant_id);
      return Error(refilled.error());
    }
  }
  SegmentedIndex* raw = index.get();
  indexes_[tenant_id] = std::move(index);
  return raw;
}

Result<std::unique_ptr<SegmentedIndex>> SqliteStore::OpenIndex(const std::string& tenant_id) {
  ASSIGN_OR_RETURN(int64_t generation, VectorGeneration(tenant_id));
  return OpenIndex(tenant_id, generation);
}

Result<std::unique_ptr<SegmentedIndex>> SqliteStore::OpenIndex(const std::string& tenant_id, int64_t generation) {
  SegmentedIndex::Options options;
  options.dimension = options_.dimension;
  options.seal_at = options_.vector_segment_size;
  options.read_only = options_.read_only;
  return SegmentedIndex::Open(VectorIndexPath(tenant_id), options, generation);
}

Result<const SqliteStore::AttrMap*> SqliteStore::TenantAttrs(const std::string& tenant_id) {
  auto it = attrs_.find(tenant_id);
  if (it != attrs_.end()) return &it->second;
  AttrMap attrs;
  RETURN_IF_ERROR(LoadAttrs(tenant_id, attrs));
  return &(attrs_[tenant_id] = std::move(attrs));
}

Result<SegmentedIndex*> SqliteStore::RebuildIndex(const std::string& tenant_id) {
  CatchUpIndexes();
  ForgetIndex(tenant_id);
  RETURN_IF_ERROR(SegmentedIndex::RemoveFiles(VectorIndexPath(tenant_id)));
  return TenantIndex(tenant_id);
}

Result<void> SqliteStore::RefillIndex(const std::string& tenant_id, SegmentedIndex& index) {
  // In key order, so a segment sealed midway holds exactly the keys below the rest.
  ASSIGN_OR_RETURN(Statement * stmt,
                   db_->Prepare("SELECT c.rowid, v.vector FROM chunks c JOIN embedding_vectors v "
                                "ON v.id = c.vector_id WHERE c.tenant_id = ? AND v.dim = ? AND c.rowid > ? "
                                "ORDER BY c.rowid"));
  stmt->Bind(1, tenant_id).Bind(2, static_cast<int64_t>(options_.dimension)).Bind(3, index.sealed_through());
  // While another process writes the tenant, its index files are that writer's: refill in memory only.
  ASSIGN_OR_RETURN(const bool other_writer, OtherProcessWrites(tenant_id));
  const bool persist = !other_writer;
  // Added in slices, each spread over the cores by AddBatch; full segments are sealed as they fill.
  constexpr size_t kRefillSlice = 4096;
  std::vector<std::pair<int64_t, std::vector<float>>> slice;
  auto add_slice = [&]() -> Result<void> {
    std::vector<std::pair<int64_t, const std::vector<float>*>> items;
    items.reserve(slice.size());
    for (const auto& [key, vector] : slice) items.emplace_back(key, &vector);
    RETURN_IF_ERROR(index.AddBatch(items));
    slice.clear();
    return persist ? index.SealIfFull() : Result<void>();
  };
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    std::vector<float> vector = BlobToVector(*stmt, 1);
    if (vector.size() != static_cast<size_t>(options_.dimension)) continue;
    slice.emplace_back(stmt->ColumnInt(0), std::move(vector));
    if (slice.size() == kRefillSlice) RETURN_IF_ERROR(add_slice());
  }
  RETURN_IF_ERROR(add_slice());
  return persist ? SaveIndex(tenant_id, index) : Result<void>();
}

Result<void> SqliteStore::SaveIndex(const std::string& tenant_id, SegmentedIndex& index) {
  // Labelled with the generation the index reflects, not SQL's current one: a copy older than SQL is refilled
  // when next opened instead of being trusted.
  auto known = index_generations_.find(tenant_id);
  if (known != index_generations_.end()) return index.Save(known->second);
  ASSIGN_OR_RETURN(int64_t generation, VectorGeneration(tenant_id));
  return index.Save(generation);
}

Result<bool> SqliteStore::OtherProcessWrites(const std::string& tenant_id) {
  if (auto it = locks_.find(tenant_id); it != locks_.end() && it->second->held()) return false;
  ASSIGN_OR_RETURN(auto writer, TenantWriter(tenant_id));
  return writer.has_value();
}

Result<int64_t> SqliteStore::VectorCount(const std::string& tenant_id) {
  ASSIGN_OR_RETURN(SegmentedIndex * index, TenantIndex(tenant_id));
  // Sealed segments hold every chunk in their key range (verify checks that), besides dead vectors.
  ASSIGN_OR_RETURN(Statement * stmt,
                   db_->Prepare("SELECT COUNT(*) FROM chunks WHERE tenant_id = ? AND rowid <= ?"));
  stmt->Bind(1, tenant_id).Bind(2, index->sealed_through());
  ASSIGN_OR_RETURN(bool row, stmt->Step());
  return static_cast<int64_t>(index->growing_size()) + (row ? stmt->ColumnInt(0) : 0);
}

void SqliteStore::DropIndex(const std::string& tenant_id) {
  CatchUpIndexes();
  ForgetIndex(tenant_id);
}

void SqliteStore::ForgetIndex(const std::string& tenant_id) {
  indexes_.erase(tenant_id);
  index_generations_.erase(tenant_id);
  attrs_.erase(tenant_id);
  if (options_.read_only) return;
  std::error_code ec;
  std::filesystem::remove(VectorIndexPath(tenant_id) + ".gen", ec);
}

Result<void> SqliteStore::Flush() {
  if (options_.read_only) return {};
  CatchUpIndexes();
  Status first;
  if (!unkeyed_vectors_.empty()) {
    if (auto folded = FoldUnkeyedVectors(); !folded) first = folded.error();
  }
  for (auto& [tenant, index] : indexes_) {
    // A reader does not save over the files of a tenant another process is writing.
    auto other_writer = OtherProcessWrites(tenant);
    if (other_writer && *other_writer) continue;
    auto saved = SaveIndex(tenant, *index);
    if (!saved && first.ok()) first = saved.error();
  }
  return ToResult(first);
}

// ---- search ----

std::string SqliteStore::FtsMatchExpression(const std::string& text) {
  std::string expression;
  for (const std::string& term : sc::KeywordTerms(text)) {
    if (!expression.empty()) expression += " OR ";
    // Terms hold only letters, digits and non-ASCII bytes, so they cannot contain '"'; quoting makes even
    // "AND", "NEAR" or "title" plain words rather than FTS5 syntax.
    expression += '"' + term + '"';
  }
  return expression;
}

int32_t SqliteStore::Intern(const std::string& value) {
  auto [it, inserted] = interned_.try_emplace(value, static_cast<int32_t>(interned_.size()));
  return it->second;
}

int32_t SqliteStore::InternedId(const std::string& value) const {
  auto it = interned_.find(value);
  return it == interned_.end() ? -1 : it->second;
}

namespace {
constexpr char kAttrSelect[] =
    "SELECT c.rowid, d.type, d.status, d.updated_at, d.is_private, d.created_at, d.priority, d.group_name, "
    "d.group_id, d.language, d.tags FROM chunks c JOIN documents d "
    "ON d.tenant_id = c.tenant_id AND d.id = c.document_id WHERE c.tenant_id = ?";
// Interned tag lists are kept apart from other interned values by this prefix.
constexpr char kTagsPrefix[] = "\x01tags\x01";
}  // namespace

SqliteStore::ChunkAttrs SqliteStore::AttrsOfRow(const Statement& stmt) {
  ChunkAttrs a;
  a.type = Intern(stmt.ColumnText(1));
  a.status = Intern(stmt.ColumnText(2));
  auto updated = ParseTimestamp(stmt.ColumnText(3));
  a.updated_at = updated ? *updated : INT64_MIN;
  a.is_private = stmt.ColumnInt(4) != 0;
  auto created = ParseTimestamp(stmt.ColumnText(5));
  a.created_at = created ? *created : INT64_MIN;
  a.priority = Intern(stmt.ColumnText(6));
  a.group_name = Intern(stmt.ColumnText(7));
  a.group_id = Intern(stmt.ColumnText(8));
  a.language = Intern(stmt.ColumnText(9));
  a.tags = Intern(kTagsPrefix + stmt.ColumnText(10));
  return a;
}

Result<void> SqliteStore::LoadAttrs(const std::string& tenant_id, AttrMap& attrs) {
  attrs = AttrMap();
  ASSIGN_OR_RETURN(Statement * stmt, db_->Prepare(kAttrSelect));
  stmt->Bind(1, tenant_id);
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    attrs.Set(stmt->ColumnInt(0), AttrsOfRow(*stmt));
  }
  return {};
}

void SqliteStore::AttrMap::Set(int64_t key, const ChunkAttrs& attrs) {
  auto [it, inserted] = slots_.try_emplace(key, static_cast<uint32_t>(entries_.size()));
  if (inserted) {
    entries_.emplace_back(key, attrs);
  } else {
    entries_[it->second].second = attrs;
  }
}

void SqliteStore::AttrMap::Erase(int64_t key) {
  auto it = slots_.find(key);
  if (it == slots_.end()) return;
  entries_[it->second].first = kErased;
  slots_.erase(it);
  if (slots_.size() * 2 >= entries_.size()) return;
  // Mostly erased: compact, so scans do not walk the dead.
  std::vector<std::pair<int64_t, ChunkAttrs>> live;
  live.reserve(slots_.size());
  for (const auto& entry : entries_) {
    if (entry.first == kErased) continue;
    slots_[entry.first] = static_cast<uint32_t>(live.size());
    live.push_back(entry);
  }
  entries_ = std::move(live);
}

Result<void> SqliteStore::RefreshAttrs(const std::string& tenant_id, const std::string& document_id,
                                       AttrMap& attrs) {
  ASSIGN_OR_RETURN(Statement * stmt, db_->Prepare(std::string(kAttrSelect) + " AND c.document_id = ?"));
  stmt->Bind(1, tenant_id).Bind(2, document_id);
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    attrs.Set(stmt->ColumnInt(0), AttrsOfRow(*stmt));
  }
  return {};
}

Result<std::vector<sc::Candidate>> SqliteStore::VectorCandidates(const SearchQuery& query) {
  ASSIGN_OR_RETURN(auto candidates, IndexCandidates(query));
  return RankExactly(query.vector, candidates);
}

Result<std::vector<sc::Candidate>> SqliteStore::RankExactly(
    const std::vector<float>& query, const std::vector<std::pair<int64_t, float>>& candidates) {
  ASSIGN_OR_RETURN(
      Statement * stmt,
      db_->Prepare("SELECT v.vector FROM chunks c JOIN embedding_vectors v ON v.id = c.vector_id "
                   "WHERE c.rowid = ?"));
  std::vector<sc::Candidate> ranked;
  ranked.reserve(candidates.size());
  for (const auto& [key, approximate] : candidates) {
    stmt->Reset();
    stmt->Bind(1, key);
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    const std::vector<float> vector = row ? BlobToVector(*stmt, 0) : std::vector<float>();
    // Without its stored vector (a cache row gone) the index's estimate stands.
    ranked.push_back({key, vector.size() == query.size() ? sc::Cosine(query.data(), vector.data(), query.size())
                                                         : approximate});
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.score > b.score; });
  return ranked;
}

Result<std::vector<std::pair<int64_t, float>>> SqliteStore::IndexCandidates(const SearchQuery& query) {
  std::vector<std::pair<int64_t, float>> none;
  ASSIGN_OR_RETURN(SegmentedIndex * index, TenantIndex(query.tenant_id));
  ASSIGN_OR_RETURN(const AttrMap* attr_map, TenantAttrs(query.tenant_id));
  const AttrMap& attrs = *attr_map;
  if (!sc::HasMetadataFilter(query)) {
    if (!index->requires_filter()) return index->Search(query.vector, sc::kCandidateCount);
    // Sealed segments keep deleted chunks' vectors: only keys with filter fields are live.
    return index->Search(query.vector, sc::kCandidateCount,
                         [&attrs](int64_t key) { return attrs.Find(key) != nullptr; });
  }
  // The filter as interned ids and epoch bounds, so the predicate inside the graph search is cheap.
  auto interned = [this](const std::vector<std::string>& values) {
    std::vector<int32_t> ids;
    for (const std::string& value : values) ids.push_back(InternedId(value));
    return ids;
  };
  const std::vector<int32_t> types = interned(query.types), statuses = interned(query.statuses),
                             priorities = interned(query.priorities), groups = interned(query.groups),
                             languages = interned(query.languages);
  auto one_of = [](const std::vector<int32_t>& wanted, int32_t value) {
    return wanted.empty() || std::find(wanted.begin(), wanted.end(), value) != wanted.end();
  };
  struct Range {
    bool on;
    int64_t from, to;
    bool Holds(int64_t t) const { return !on || (t != INT64_MIN && t >= from && t <= to); }
  };
  auto range = [](const std::string& from, const std::string& to) {
    return Range{!from.empty() || !to.empty(), from.empty() ? INT64_MIN : ParseTimestamp(from).value_or(INT64_MIN),
                 to.empty() ? INT64_MAX : ParseTimestamp(to).value_or(INT64_MAX)};
  };
  const Range updated = range(query.updated_from, query.updated_to);
  const Range created = range(query.created_from, query.created_to);
  // Tag lists are few: each is checked once here, not once per chunk.
  std::vector<int32_t> tag_lists;
  if (!query.tags.empty()) {
    const std::string prefix = kTagsPrefix;
    for (const auto& [value, id] : interned_) {
      if (value.compare(0, prefix.size(), prefix) != 0) continue;
      const nlohmann::json list = ParseJson(value.substr(prefix.size()));
      if (!list.is_array()) continue;
      if (std::all_of(query.tags.begin(), query.tags.end(), [&list](const std::string& tag) {
            return std::find(list.begin(), list.end(), tag) != list.end();
          })) {
        tag_lists.push_back(id);
      }
    }
    if (tag_lists.empty()) return none;
  }
  auto passes = [&](const ChunkAttrs& a) {
    if (!one_of(types, a.type) || !one_of(statuses, a.status) || !one_of(priorities, a.priority)) return false;
    if (!one_of(languages, a.language) || !one_of(tag_lists, a.tags)) return false;
    if (!groups.empty() && !one_of(groups, a.group_name) && !one_of(groups, a.group_id)) return false;
    if (!updated.Holds(a.updated_at) || !created.Holds(a.created_at)) return false;
    if (query.exclude_private && a.is_private) return false;
    return true;
  };
  // Collect the chunks that pass while they are few: a very selective filter is answered exactly. Once more
  // pass than an exact scan should take, stop counting: the graph search it is, and the share passing so far
  // estimates the filter's selectivity.
  std::vector<int64_t> allowed;
  int64_t passing = 0;
  size_t scanned = 0;
  attrs.Scan([&](int64_t key, const ChunkAttrs& a) {
    ++scanned;
    if (!passes(a)) return true;
    if (++passing > options_.exact_scan_max_candidates) return false;
    allowed.push_back(key);
    return true;
  });
  if (passing == 0) return none;
  if (passing <= options_.exact_scan_max_candidates) {
    return index->ExactSearch(query.vector, sc::kCandidateCount, allowed);
  }
  // usearch keeps only passing nodes in its candidate list, so a filter letting a fraction f through walks
  // ~1/f times more of the graph than an unfiltered search with the same expansion: scale the expansion by
  // 1.5 f (at least the candidate count). bench_store, 100,000 chunks, a 20 % filter: recall@10 0.985 at 2 ms
  // CPU on real-text vectors (unfiltered 0.987); on near-random vectors 0.47 (unfiltered 0.55).
  const double fraction = static_cast<double>(passing) / static_cast<double>(std::max<size_t>(1, scanned));
  const size_t base = index->params().expansion_search;
  const size_t expansion = std::clamp<size_t>(static_cast<size_t>(static_cast<double>(base) * 1.5 * fraction),
                                              static_cast<size_t>(sc::kCandidateCount), base);
  return index->Search(
      query.vector, sc::kCandidateCount,
      [&](int64_t key) {
        const ChunkAttrs* a = attrs.Find(key);
        return a != nullptr && passes(*a);
      },
      expansion);
}

Result<std::vector<SearchHit>> SqliteStore::Search(const SearchQuery& raw_query) {
  ASSIGN_OR_RETURN(SearchQuery query, sc::NormalizeQuery(raw_query));
  const std::string& tenant = query.tenant_id;
  if (query.top_k <= 0) return std::vector<SearchHit>{};
  if (!reads_mapped_) {
    // A store that serves searches reads the database through a memory map: re-ranking and hit details
    // touch pages all over the chunks and embeddings, and pread calls cost ~10× a mapped read. A sync
    // that never searches keeps SQLite's small page cache, so its memory does not grow with the database.
    RETURN_IF_ERROR(db_->Exec("PRAGMA mmap_size = 4294967296"));
    reads_mapped_ = true;
  }

  std::vector<sc::Candidate> keyword;
  const std::string match = query.mode == SearchMode::kVector ? "" : FtsMatchExpression(query.text);
  if (!match.empty()) {
    std::vector<std::string> binds = {match, tenant};
    const std::string sql =
        "SELECT c.rowid, -bm25(chunks_fts) FROM chunks_fts JOIN chunks c ON c.rowid = chunks_fts.rowid "
        "JOIN documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id "
        "WHERE chunks_fts MATCH ? AND c.tenant_id = ?" +
        DocumentFilterSql(query, binds) + " ORDER BY bm25(chunks_fts), c.rowid LIMIT " +
        std::to_string(sc::kCandidateCount);
    ASSIGN_OR_RETURN(Statement * stmt, db_->Prepare(sql));
    for (size_t i = 0; i < binds.size(); ++i) stmt->Bind(static_cast<int>(i + 1), binds[i]);
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      keyword.push_back({stmt->ColumnInt(0), stmt->ColumnDouble(1)});
    }
  }

  std::vector<sc::Candidate> vector;
  if (!query.vector.empty() && query.mode != SearchMode::kKeyword) {
    ASSIGN_OR_RETURN(vector, VectorCandidates(query));
  }

  std::vector<SearchHit> hits;
  ASSIGN_OR_RETURN(
      Statement * detail,
      db_->Prepare("SELECT c.id, c.document_id, c.text, d.type, d.title, d.metadata FROM chunks c "
                   "JOIN documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id "
                   "WHERE c.rowid = ? AND c.tenant_id = ?"));
  // Vector hits are marked too where they share words with the query.
  const std::string snippet_match = query.snippets ? FtsMatchExpression(query.text) : "";
  sc::HitsPerDocument per_document(query.max_hits_per_document);
  for (const sc::Fused& f : sc::FuseScores(keyword, vector, sc::KeywordWeight(query))) {
    if (hits.size() >= static_cast<size_t>(query.top_k)) break;
    detail->Reset();
    detail->Bind(1, f.key).Bind(2, tenant);
    ASSIGN_OR_RETURN(bool row, detail->Step());
    if (!row) continue;  // a vector whose chunk is gone (index ahead of SQL): skip it
    SearchHit hit;
    hit.document_id = detail->ColumnText(1);
    if (!per_document.Admit(hit.document_id)) continue;
    hit.chunk_id = detail->ColumnText(0);
    hit.text = detail->ColumnText(2);
    hit.type = detail->ColumnText(3);
    hit.title = detail->ColumnText(4);
    hit.metadata = ParseJson(detail->ColumnText(5));
    if (!hit.metadata.is_object()) hit.metadata = nlohmann::json::object();
    if (options_.store_original_text) hit.metadata[options_.content_field] = hit.text;
    hit.score = f.score;
    hit.keyword_rank = f.keyword_rank;
    hit.vector_rank = f.vector_rank;
    hit.keyword_score = f.keyword_score;
    hit.vector_score = f.vector_score;
    if (query.snippets) {
      ASSIGN_OR_RETURN(hit.snippet, Snippet(f.key, snippet_match, hit.text));
    }
    hits.push_back(std::move(hit));
  }
  return hits;
}

Result<std::string> SqliteStore::Snippet(int64_t key, const std::string& match, const std::string& text) {
  if (match.empty()) return sc::OpeningSnippet(text);
  ASSIGN_OR_RETURN(Statement * stmt,
                   db_->Prepare(std::string("SELECT snippet(chunks_fts, 0, char(") +
                                std::to_string(static_cast<int>(sc::kSnippetOpen)) + "), char(" +
                                std::to_string(static_cast<int>(sc::kSnippetClose)) + "), '…', " +
                                std::to_string(sc::kSnippetWords) +
                                ") FROM chunks_fts WHERE chunks_fts MATCH ? AND rowid = ?"));
  stmt->Bind(1, match).Bind(2, key);
  ASSIGN_OR_RETURN(bool row, stmt->Step());
  const std::string highlighted = row ? stmt->ColumnText(0) : std::string();
  stmt->Reset();
  // The words may all have matched the title, which the snippet is not taken from.
  if (highlighted.find(sc::kSnippetOpen) == std::string::npos) return sc::OpeningSnippet(text);
  return sc::MarkedSnippet(highlighted);
}

// ---- stats, digest, runs ----

Result<StoreStats> SqliteStore::Stats(const std::string& tenant_id) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  StoreStats stats;
  const std::pair<const char*, const char*> typed[] = {
      {"ticket", "tickets"}, {"conversation", "conversations"}, {"article", "articles"}};
  for (const auto& [type, table] : typed) {
    ASSIGN_OR_RETURN(Statement * stmt,
                     db_->Prepare(std::string("SELECT COUNT(*) FROM ") + table + " WHERE tenant_id = ?"));
    stmt->Bind(1, tenant_id);
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (row && stmt->ColumnInt(0) > 0) stats.records_by_type[type] = stmt->ColumnInt(0);
  }
  {
    ASSIGN_OR_RETURN(Statement * stmt,
                     db_->Prepare("SELECT type, COUNT(*) FROM records WHERE tenant_id = ? GROUP BY type"));
    stmt->Bind(1, tenant_id);
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      stats.records_by_type[stmt->ColumnText(0)] += stmt->ColumnInt(1);
    }
  }
  {
    ASSIGN_OR_RETURN(Statement * stmt,
                     db_->Prepare("SELECT type, COUNT(*) FROM documents WHERE tenant_id = ? "
                                  "AND state = 'active' GROUP BY type"));
    stmt->Bind(1, tenant_id);
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      stats.documents_by_type[stmt->ColumnText(0)] = stmt->ColumnInt(1);
    }
  }
  {
    ASSIGN_OR_RETURN(Statement * stmt, db_->Prepare("SELECT COUNT(*) FROM chunks WHERE tenant_id = ?"));
    stmt->Bind(1, tenant_id);
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    stats.chunks = row ? stmt->ColumnInt(0) : 0;
  }
  if (options_.dimension > 0) {
    ASSIGN_OR_RETURN(stats.vectors, VectorCount(tenant_id));
  }
  {
    ASSIGN_OR_RETURN(Statement * stmt,
                     db_->Prepare("SELECT stream, cursor FROM cursors WHERE tenant_id = ? ORDER BY stream"));
    stmt->Bind(1, tenant_id);
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      stats.cursors[stmt->ColumnText(0)] = ParseJson(stmt->ColumnText(1));
    }
  }
  {
    ASSIGN_OR_RETURN(Statement * stmt,
                     db_->Prepare("SELECT id, started_at, finished_at, state, summary FROM runs "
                                  "WHERE tenant_id = ? ORDER BY id DESC LIMIT 1"));
    stmt->Bind(1, tenant_id);
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (row) {
      stats.last_run = {{"id", stmt->ColumnInt(0)},
                        {"started_at", stmt->ColumnText(1)},
                        {"finished_at", stmt->ColumnText(2)},
                        {"state", stmt->ColumnText(3)},
                        {"summary", ParseJson(stmt->ColumnText(4))}};
    }
  }
  if (stats.last_run.is_object() && stats.last_run["state"] == "running") {
    ASSIGN_OR_RETURN(auto writer, TenantWriter(tenant_id));
    if (!writer) stats.last_run["state"] = "interrupted";
  }
  return stats;
}

Result<std::optional<std::string>> SqliteStore::DocumentOpening(const std::string& tenant_id,
                                                                const std::string& document_id) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  ASSIGN_OR_RETURN(Statement * stmt, db_->Prepare("SELECT text FROM chunks WHERE tenant_id = ? AND document_id = ? "
                                                  "ORDER BY chunk_index LIMIT 1"));
  stmt->Bind(1, tenant_id).Bind(2, document_id);
  ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(stmt->ColumnText(0));
}

Result<Store::Digest> SqliteStore::ComputeDigest(const std::string& tenant_id) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  Digest digest;
  HashBuilder hash;
  {
    ASSIGN_OR_RETURN(Statement * stmt, db_->Prepare("SELECT id, content_hash, state FROM documents "
                                                    "WHERE tenant_id = ? ORDER BY id"));
    stmt->Bind(1, tenant_id);
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      hash.Add(stmt->ColumnText(0)).Add(stmt->ColumnText(1)).Add(stmt->ColumnText(2));
      ++digest.documents;
    }
  }
  {
    ASSIGN_OR_RETURN(Statement * stmt,
                     db_->Prepare("SELECT id, content_hash FROM chunks WHERE tenant_id = ? ORDER BY id"));
    stmt->Bind(1, tenant_id);
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      hash.Add(stmt->ColumnText(0)).Add(stmt->ColumnText(1));
      ++digest.chunks;
    }
  }
  digest.hex = hash.Hex();
  return digest;
}

Result<int64_t> SqliteStore::BeginRun(const std::string& tenant_id) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  {
    ASSIGN_OR_RETURN(Statement * stale, db_->Prepare("UPDATE runs SET state = 'interrupted', finished_at = ? "
                                                     "WHERE tenant_id = ? AND state = 'running'"));
    stale->Bind(1, Now()).Bind(2, tenant_id);
    RETURN_IF_ERROR(stale->Run());
  }
  ASSIGN_OR_RETURN(Statement * stmt, db_->Prepare("INSERT INTO runs (tenant_id, started_at, state, summary) "
                                                  "VALUES (?, ?, 'running', '{}')"));
  stmt->Bind(1, tenant_id).Bind(2, Now());
  RETURN_IF_ERROR(stmt->Run());
  return db_->LastInsertRowid();
}

Result<void> SqliteStore::FinishRun(const std::string& tenant_id, int64_t run_id, const std::string& state,
                                    const nlohmann::json& summary) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  ASSIGN_OR_RETURN(Statement * stmt, db_->Prepare("UPDATE runs SET finished_at = ?, state = ?, summary = ? "
                                                  "WHERE id = ? AND tenant_id = ?"));
  stmt->Bind(1, Now()).Bind(2, state).Bind(3, CompactJson(summary.is_null() ? nlohmann::json::object() : summary));
  stmt->Bind(4, run_id).Bind(5, tenant_id);
  RETURN_IF_ERROR(stmt->Run());
  if (db_->Changes() == 0) {
    return Error(NotFound("run " + std::to_string(run_id) + " of tenant " + tenant_id + " does not exist"));
  }
  return {};
}

// ---- the tenant write lock ----

namespace {

LockHolder ReadLockHolder(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return LockHolder::FromJson(text.str());
}

}  // namespace

std::string SqliteStore::LockFilePath(const std::string& tenant_id) const {
  return (std::filesystem::path(locks_dir_) / (tenant_id + ".lock")).string();
}

Result<std::unique_ptr<TenantWriteLock>> SqliteStore::LockTenantForWrite(const std::string& tenant_id,
                                                                         const WriteLockOptions& options) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  if (auto it = locks_.find(tenant_id); it != locks_.end() && it->second->held()) {
    return Error(Internal("tenant " + tenant_id + "'s write lock is already held by this store"));
  }
  std::error_code ec;
  std::filesystem::create_directories(locks_dir_, ec);
  const std::string path = LockFilePath(tenant_id);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Error(InvalidArgument("cannot open the lock file " + path + ": " + std::strerror(errno)));
  auto acquired = AcquireTenantLock(
      tenant_id, options,
      [fd, &path]() -> Result<bool> {
        if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return true;
        if (errno == EWOULDBLOCK || errno == EINTR) return false;
        return Error(Internal("flock " + path + ": " + std::strerror(errno)));
      },
      [&path] { return ReadLockHolder(path); });
  if (!acquired) {
    ::close(fd);
    return Error(acquired.error());
  }
  // A read snapshot taken before the lock (while another writer still wrote) would make this writer's first
  // write fail with SQLITE_BUSY_SNAPSHOT: start from what the previous writer committed.
  db_->ResetStatements();
  // Who holds it, for the next writer's message; a failure here costs only that message.
  const std::string holder = LockHolder::Self(options.command).ToJson() + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, holder.data(), holder.size(), 0) < 0) {
    log::Warn("could not record the lock holder", {{"path", path}, {"error", std::strerror(errno)}});
  }
  auto slot = std::make_shared<TenantWriteLock::Slot>([this, tenant_id, fd] {
    CatchUpIndexes();
    if (auto it = indexes_.find(tenant_id); it != indexes_.end()) {
      if (auto saved = SaveIndex(tenant_id, *it->second); !saved) {
        log::Warn("vector index not saved; the next open rebuilds it from SQL",
                  {{"tenant", tenant_id}, {"error", saved.error().ToString()}});
      }
      indexes_.erase(it);
      attrs_.erase(tenant_id);
      index_generations_.erase(tenant_id);
    }
    ::close(fd);  // releases the flock
  });
  locks_[tenant_id] = slot;
  return std::make_unique<TenantWriteLock>(tenant_id, std::move(slot));
}

Result<std::optional<LockHolder>> SqliteStore::TenantWriter(const std::string& tenant_id) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  const std::string path = LockFilePath(tenant_id);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<LockHolder>();
    return Error(Internal("cannot open the lock file " + path + ": " + std::strerror(errno)));
  }
  // A shared lock granted ⇒ no writer; it is dropped at once (a writer trying meanwhile retries briefly).
  const bool free = ::flock(fd, LOCK_SH | LOCK_NB) == 0;
  const int error = errno;
  ::close(fd);
  if (free) return std::optional<LockHolder>();
  if (error != EWOULDBLOCK) return Error(Internal("flock " + path + ": " + std::strerror(error)));
  return std::optional<LockHolder>(ReadLockHolder(path));
}

// ---- dead letters ----

Result<std::vector<StoredDeadLetter>> SqliteStore::ListDeadLetters(const std::string& tenant_id,
                                                                   const std::string& stream) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  ASSIGN_OR_RETURN(Statement * stmt,
                   db_->Prepare("SELECT stream, record_id, stage, error_class, message, attempts, first_seen, "
                                "last_seen FROM dead_letters WHERE tenant_id = ? AND (? = '' OR stream = ?) "
                                "ORDER BY stream, record_id"));
  stmt->Bind(1, tenant_id).Bind(2, stream).Bind(3, stream);
  std::vector<StoredDeadLetter> letters;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    StoredDeadLetter stored;
    stored.letter = {stmt->ColumnText(0), stmt->ColumnText(1), stmt->ColumnText(2), stmt->ColumnText(3),
                     stmt->ColumnText(4)};
    stored.attempts = stmt->ColumnInt(5);
    stored.first_seen = stmt->ColumnText(6);
    stored.last_seen = stmt->ColumnText(7);
    letters.push_back(std::move(stored));
  }
  return letters;
}

Result<void> SqliteStore::ResolveDeadLetter(const std::string& tenant_id, const std::string& stream,
                                            const std::string& record_id) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  ASSIGN_OR_RETURN(Statement * stmt, db_->Prepare("DELETE FROM dead_letters WHERE tenant_id = ? AND stream = ? "
                                                  "AND record_id = ?"));
  stmt->Bind(1, tenant_id).Bind(2, stream).Bind(3, record_id);
  return stmt->Run();
}

// ---- maintenance ----

Result<ResetReport> SqliteStore::ResetTenant(const std::string& tenant_id) {
  CatchUpIndexes();
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  ResetReport report;
  if (options_.dimension > 0) {
    ASSIGN_OR_RETURN(report.vectors, VectorCount(tenant_id));
  }
  int64_t keys_through = keys_through_;
  {
    sqlite::Transaction txn(*db_);
    RETURN_IF_ERROR(txn.status());
    auto remove = [&](const std::string& table) -> Result<int64_t> {
      ASSIGN_OR_RETURN(Statement * del, db_->Prepare("DELETE FROM " + table + " WHERE tenant_id = ?"));
      del->Bind(1, tenant_id);
      RETURN_IF_ERROR(del->Run());
      return static_cast<int64_t>(db_->Changes());
    };
    for (const char* table : sc::kRecordTables) {
      ASSIGN_OR_RETURN(int64_t n, remove(table));
      report.records += n;
    }
    ASSIGN_OR_RETURN(report.chunks, remove("chunks"));
    ASSIGN_OR_RETURN(report.documents, remove("documents"));
    ASSIGN_OR_RETURN(report.cursors, remove("cursors"));
    for (const char* table : {"runs", "dead_letters", "meta"}) RETURN_IF_ERROR(remove(table));
    // The embedding cache is shared by content hash: drop the vectors no remaining chunk of any tenant uses
    // (keyed first, so the survivors stay findable).
    ASSIGN_OR_RETURN(keys_through, FoldEmbeddingKeys());
    RETURN_IF_ERROR(
        db_->Exec("DELETE FROM embedding_vectors WHERE id NOT IN (SELECT vector_id FROM chunks WHERE "
                  "vector_id IS NOT NULL);"
                  "DELETE FROM embedding_keys WHERE vector_id NOT IN (SELECT id FROM embedding_vectors);"));
    RETURN_IF_ERROR(txn.Commit());
  }
  keys_through_ = keys_through;
  unkeyed_vectors_.clear();
  indexes_.erase(tenant_id);
  index_generations_.erase(tenant_id);
  attrs_.erase(tenant_id);
  RETURN_IF_ERROR(SegmentedIndex::RemoveFiles(VectorIndexPath(tenant_id)));
  return report;
}

Result<VerifyReport> SqliteStore::VerifyTenant(const std::string& tenant_id, const VerifyOptions& options) {
  CatchUpIndexes();
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  VerifyReport report;
  // Chunks as SQL has them: rowid → (id, text, hash, has a cached vector, has a document).
  struct ChunkRow {
    std::string id;
    bool hash_ok = true;
    bool cached = false;
    bool has_document = true;
  };
  std::map<int64_t, ChunkRow> chunks;
  {
    ASSIGN_OR_RETURN(
        Statement * stmt,
        db_->Prepare("SELECT c.rowid, c.id, c.text, c.content_hash, v.id IS NOT NULL, d.id IS NOT NULL "
                     "FROM chunks c LEFT JOIN embedding_vectors v ON v.id = c.vector_id AND v.dim = ? "
                     "LEFT JOIN documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id "
                     "WHERE c.tenant_id = ?"));
    stmt->Bind(1, static_cast<int64_t>(options_.dimension)).Bind(2, tenant_id);
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      ChunkRow c;
      c.id = stmt->ColumnText(1);
      c.hash_ok = !options_.store_original_text || HashHex(stmt->ColumnText(2)) == stmt->ColumnText(3);
      c.cached = stmt->ColumnInt(4) != 0;
      c.has_document = stmt->ColumnInt(5) != 0;
      chunks[stmt->ColumnInt(0)] = std::move(c);
    }
  }
  report.chunks = static_cast<int64_t>(chunks.size());
  {
    ASSIGN_OR_RETURN(Statement * stmt, db_->Prepare("SELECT COUNT(*) FROM documents WHERE tenant_id = ? AND "
                                                    "state = 'active'"));
    stmt->Bind(1, tenant_id);
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    report.documents = row ? stmt->ColumnInt(0) : 0;
  }
  // The index as a search sees it: a saved copy older than SQL is brought up to date from SQL's vectors first
  // (in memory only when read-only); an unreadable one leaves every chunk reported.
  std::vector<int64_t> keys;
  int64_t sealed_through = 0;
  if (options_.dimension > 0) {
    if (auto index = TenantIndex(tenant_id); index) {
      sealed_through = (*index)->sealed_through();
      auto all = (*index)->Keys();
      if (all) keys = std::move(*all);
    }
  }
  const std::unordered_set<int64_t> key_set(keys.begin(), keys.end());
  for (int64_t key : keys) {
    if (chunks.count(key)) {
      ++report.vectors;
    } else if (key <= sealed_through) {
      ++report.dead_vectors;
    } else {
      report.vectors_without_chunk.push_back(key);
    }
  }
  int64_t restorable = 0;
  std::vector<int64_t> vectorless;  // chunks of a document whose vector SQL does not hold
  std::vector<int64_t> damaged;     // chunks whose text no longer matches its hash
  std::vector<int64_t> orphans;
  for (const auto& [rowid, c] : chunks) {
    if (options_.dimension > 0 && !key_set.count(rowid)) {
      report.chunks_without_vector.push_back(c.id);
      if (c.cached && c.has_document) ++restorable;  // a rebuild from SQL gives it back
    }
    if (!c.hash_ok) report.chunk_hash_mismatches.push_back(c.id);
    if (!c.has_document) {
      report.orphan_chunks.push_back(c.id);
      orphans.push_back(rowid);
    } else if (!c.hash_ok) {
      damaged.push_back(rowid);
    } else if (options_.dimension > 0 && !c.cached) {
      vectorless.push_back(rowid);
    }
  }
  {
    ASSIGN_OR_RETURN(Statement * stmt, db_->Prepare("SELECT stream, cursor FROM cursors WHERE tenant_id = ?"));
    stmt->Bind(1, tenant_id);
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      if (!ParseJson(stmt->ColumnText(1)).is_object()) {
        report.cursor_problems.push_back(stmt->ColumnText(0) + ": cursor is not a JSON object");
      }
    }
  }
  std::sort(report.chunks_without_vector.begin(), report.chunks_without_vector.end());
  std::sort(report.chunk_hash_mismatches.begin(), report.chunk_hash_mismatches.end());
  std::sort(report.orphan_chunks.begin(), report.orphan_chunks.end());
  if (!options.repair || (report.ok() && report.dead_vectors == 0)) return report;

  std::string model_id = options.model_id;
  if (model_id.empty()) {
    ASSIGN_OR_RETURN(auto profile, LoadProfile(tenant_id));
    if (profile) model_id = profile->model_id;
  }
  {
    sqlite::Transaction txn(*db_);
    RETURN_IF_ERROR(txn.status());
    // A chunk whose vector is gone gets it back from the embedding cache, else from its text.
    std::vector<std::pair<int64_t, std::string>> texts;
    ASSIGN_OR_RETURN(Statement * text, db_->Prepare("SELECT text FROM chunks WHERE rowid = ?"));
    for (int64_t rowid : vectorless) {
      text->Reset();
      text->Bind(1, rowid);
      ASSIGN_OR_RETURN(bool row, text->Step());
      if (row && options_.store_original_text && !model_id.empty()) {
        texts.emplace_back(rowid, text->ColumnText(0));
      } else {
        report.unrepaired.push_back("chunk " + chunks[rowid].id +
                                    ": its vector is lost and its text is not stored; it is re-embedded when its "
                                    "document next changes");
      }
    }
    text->Reset();
    ASSIGN_OR_RETURN(std::vector<int64_t> left, AttachVectors(model_id, texts, options.embed));
    for (int64_t rowid : left) {
      report.unrepaired.push_back("chunk " + chunks[rowid].id +
                                  ": its vector is lost and not in the embedding cache; run verify --repair "
                                  "with the tenant's embedder to embed it again");
    }
    report.re_embedded = static_cast<int64_t>(texts.size() - left.size());
    report.repaired += report.re_embedded;
    // Damaged text is kept (it is what keyword search finds) and its document's hash forgotten, so the next
    // sync that reads the document rewrites it.
    for (int64_t rowid : damaged) {
      ASSIGN_OR_RETURN(Statement * forget,
                       db_->Prepare("UPDATE documents SET content_hash = '' WHERE tenant_id = ? AND id = "
                                    "(SELECT document_id FROM chunks WHERE rowid = ? AND tenant_id = ?)"));
      forget->Bind(1, tenant_id).Bind(2, rowid).Bind(3, tenant_id);
      RETURN_IF_ERROR(forget->Run());
      report.unrepaired.push_back("chunk " + chunks[rowid].id +
                                  ": its text does not match its hash (changed outside deskpipe); kept, and its "
                                  "document is rewritten when a sync next reads it");
    }
    // Only what is provably orphaned goes: chunks whose document row is gone.
    for (int64_t rowid : orphans) {
      ASSIGN_OR_RETURN(Statement * del, db_->Prepare("DELETE FROM chunks WHERE rowid = ? AND tenant_id = ?"));
      del->Bind(1, rowid).Bind(2, tenant_id);
      RETURN_IF_ERROR(del->Run());
      report.removed.push_back("chunk " + chunks[rowid].id + ": its document is gone");
      ++report.repaired;
    }
    RETURN_IF_ERROR(BumpVectorGeneration(tenant_id));
    RETURN_IF_ERROR(txn.Commit());
  }
  // The index is a cache of SQL: rebuilding it mends every missing and stray vector at once, and compacts
  // the dead ones away.
  if (options_.dimension > 0) {
    RETURN_IF_ERROR(RebuildIndex(tenant_id));
    for (int64_t key : report.vectors_without_chunk) {
      report.removed.push_back("vector " + std::to_string(key) + ": its chunk is gone");
    }
    report.repaired +=
        static_cast<int64_t>(report.vectors_without_chunk.size()) + restorable + report.dead_vectors;
  }
  return report;
}

Result<void> SqliteStore::BumpVectorGeneration(const std::string& tenant_id) {
  ASSIGN_OR_RETURN(
      Statement * bump,
      db_->Prepare("INSERT INTO meta (tenant_id, key, value) VALUES (?, 'vector_generation', '1') "
                   "ON CONFLICT (tenant_id, key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)"));
  bump->Bind(1, tenant_id);
  return bump->Run();
}

Result<std::vector<int64_t>> SqliteStore::AttachVectors(const std::string& model_id,
                                                        const std::vector<std::pair<int64_t, std::string>>& texts,
                                                        const EmbedTexts& embed) {
  std::vector<int64_t> left;
  constexpr size_t kBatch = 64;
  std::unordered_map<std::string, int64_t> appended;
  for (size_t begin = 0; begin < texts.size(); begin += kBatch) {
    const size_t end = std::min(texts.size(), begin + kBatch);
    std::vector<std::string> hashes;
    for (size_t i = begin; i < end; ++i) hashes.push_back(HashHex(texts[i].second));
    ASSIGN_OR_RETURN(auto cached, CachedEmbeddings(model_id, hashes));
    std::vector<size_t> missing;
    std::vector<std::string> missing_texts;
    for (size_t i = begin; i < end; ++i) {
      if (!cached.count(hashes[i - begin])) {
        missing.push_back(i);
        missing_texts.push_back(texts[i].second);
      }
    }
    if (!missing.empty() && embed) {
      ASSIGN_OR_RETURN(auto vectors, embed(missing_texts));
      if (vectors.size() != missing.size()) return Error(Internal("the embedder answered a different count"));
      for (size_t j = 0; j < missing.size(); ++j) {
        if (static_cast<int>(vectors[j].size()) != options_.dimension) {
          return Error(InvalidArgument("the embedder gives " + std::to_string(vectors[j].size()) +
                                       "-d vectors; the tenant's are " + std::to_string(options_.dimension) + "-d"));
        }
        cached[hashes[missing[j] - begin]] = std::move(vectors[j]);
      }
    }
    ASSIGN_OR_RETURN(Statement * point,
                     db_->Prepare("UPDATE chunks SET vector_id = ?, model_id = ? WHERE rowid = ?"));
    for (size_t i = begin; i < end; ++i) {
      auto found = cached.find(hashes[i - begin]);
      if (found == cached.end()) {
        left.push_back(texts[i].first);
        continue;
      }
      Chunk chunk;
      chunk.content_hash = hashes[i - begin];
      chunk.vector = found->second;
      ASSIGN_OR_RETURN(int64_t vector_id, StoreVector(model_id, chunk, appended));
      point->Reset();
      point->Bind(1, vector_id).Bind(2, model_id).Bind(3, texts[i].first);
      RETURN_IF_ERROR(point->Run());
    }
  }
  ASSIGN_OR_RETURN(keys_through_, FoldEmbeddingKeys());
  unkeyed_vectors_.clear();
  return left;
}

// ---- tenant profile, re-embedding ----

Result<std::optional<TenantProfile>> SqliteStore::LoadProfile(const std::string& tenant_id) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  ASSIGN_OR_RETURN(Statement * stmt,
                   db_->Prepare("SELECT value FROM meta WHERE tenant_id = ? AND key = 'profile'"));
  stmt->Bind(1, tenant_id);
  ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (row) {
    TenantProfile profile = TenantProfile::FromJson(ParseJson(stmt->ColumnText(0)));
    stmt->Reset();
    return std::optional<TenantProfile>(profile);
  }
  // Synced before profiles were recorded: what its chunks say, if it has any; any trace of a sync otherwise.
  ASSIGN_OR_RETURN(Statement * chunk,
                   db_->Prepare("SELECT c.model_id, COALESCE(v.dim, 0) FROM chunks c LEFT JOIN embedding_vectors v "
                                "ON v.id = c.vector_id WHERE c.tenant_id = ? LIMIT 1"));
  chunk->Bind(1, tenant_id);
  ASSIGN_OR_RETURN(bool has_chunk, chunk->Step());
  if (has_chunk) {
    TenantProfile profile;
    profile.model_id = chunk->ColumnText(0);
    profile.dimension = static_cast<int>(chunk->ColumnInt(1));
    chunk->Reset();
    // Chunks but no record rows: it was synced in vector-only mode with minimal SQL.
    std::string any_record;
    for (const char* table : sc::kRecordTables) {
      any_record += std::string(any_record.empty() ? "" : " UNION ALL ") + "SELECT 1 FROM " + table +
                    " WHERE tenant_id = ?1";
    }
    ASSIGN_OR_RETURN(Statement * records, db_->Prepare("SELECT EXISTS (" + any_record + ")"));
    records->Bind(1, tenant_id);
    ASSIGN_OR_RETURN(bool answered, records->Step());
    profile.writes_records = answered && records->ColumnInt(0) != 0;
    records->Reset();
    return std::optional<TenantProfile>(profile);
  }
  ASSIGN_OR_RETURN(Statement * trace,
                   db_->Prepare("SELECT 1 FROM runs WHERE tenant_id = ? UNION ALL "
                                "SELECT 1 FROM cursors WHERE tenant_id = ? LIMIT 1"));
  trace->Bind(1, tenant_id).Bind(2, tenant_id);
  ASSIGN_OR_RETURN(bool synced, trace->Step());
  trace->Reset();
  if (synced) return std::optional<TenantProfile>(TenantProfile{});
  return std::optional<TenantProfile>();
}

Result<void> SqliteStore::SaveProfile(const std::string& tenant_id, const TenantProfile& profile) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  ASSIGN_OR_RETURN(Statement * stmt,
                   db_->Prepare("INSERT INTO meta (tenant_id, key, value) VALUES (?, 'profile', ?) "
                                "ON CONFLICT (tenant_id, key) DO UPDATE SET value = excluded.value"));
  stmt->Bind(1, tenant_id).Bind(2, CompactJson(profile.ToJson()));
  return stmt->Run();
}

Result<ReembedReport> SqliteStore::Reembed(const std::string& tenant_id, const TenantProfile& to,
                                           const EmbedTexts& embed) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  if (to.dimension != options_.dimension || to.model_id.empty()) {
    return Error(InvalidArgument("re-embedding needs the store opened with the new embedder's dimension"));
  }
  CatchUpIndexes();
  ReembedReport report;
  // The new vectors go into the embedding cache page by page (it is keyed by model, so the tenant's chunks
  // are untouched); then one transaction points every chunk at them and records the new profile.
  std::vector<std::pair<int64_t, std::string>> page;
  int64_t after = 0;
  constexpr int64_t kPage = 512;
  constexpr size_t kBatch = 64;
  while (true) {
    ASSIGN_OR_RETURN(Statement * select,
                     db_->Prepare("SELECT rowid, id, text FROM chunks WHERE tenant_id = ? AND rowid > ? "
                                  "ORDER BY rowid LIMIT ?"));
    select->Bind(1, tenant_id).Bind(2, after).Bind(3, kPage);
    page.clear();
    int64_t rows = 0;
    while (true) {
      ASSIGN_OR_RETURN(bool row, select->Step());
      if (!row) break;
      ++rows;
      after = select->ColumnInt(0);
      std::string text = select->ColumnText(2);
      if (!options_.store_original_text || text.empty()) {
        report.skipped.push_back(select->ColumnText(1));  // left without a vector: never another model's
      } else {
        page.emplace_back(after, std::move(text));
      }
    }
    select->Reset();
    report.chunks += rows;
    if (rows == 0) break;
    std::vector<std::string> hashes;
    for (const auto& [rowid, text] : page) hashes.push_back(HashHex(text));
    ASSIGN_OR_RETURN(auto cached, CachedEmbeddings(to.model_id, hashes));
    std::vector<std::string> missing, missing_hashes;
    std::unordered_set<std::string> queued;
    for (size_t i = 0; i < page.size(); ++i) {
      if (cached.count(hashes[i])) {
        ++report.from_cache;
        continue;
      }
      ++report.embedded;
      if (queued.insert(hashes[i]).second) {
        missing.push_back(page[i].second);
        missing_hashes.push_back(hashes[i]);
      }
    }
    if (missing.empty()) continue;
    sqlite::Transaction txn(*db_);
    RETURN_IF_ERROR(txn.status());
    std::unordered_map<std::string, int64_t> appended;
    for (size_t begin = 0; begin < missing.size(); begin += kBatch) {
      const size_t end = std::min(missing.size(), begin + kBatch);
      ASSIGN_OR_RETURN(auto vectors, embed(std::vector<std::string>(missing.begin() + begin, missing.begin() + end)));
      if (vectors.size() != end - begin) return Error(Internal("the embedder answered a different count"));
      for (size_t j = begin; j < end; ++j) {
        if (static_cast<int>(vectors[j - begin].size()) != to.dimension) {
          return Error(InvalidArgument("the embedder gives " + std::to_string(vectors[j - begin].size()) +
                                       "-d vectors, not " + std::to_string(to.dimension)));
        }
        Chunk chunk;
        chunk.content_hash = missing_hashes[j];
        chunk.vector = std::move(vectors[j - begin]);
        RETURN_IF_ERROR(StoreVector(to.model_id, chunk, appended));
      }
    }
    ASSIGN_OR_RETURN(int64_t through, FoldEmbeddingKeys());
    RETURN_IF_ERROR(txn.Commit());
    keys_through_ = through;
    unkeyed_vectors_.clear();
  }
  {
    sqlite::Transaction txn(*db_);
    RETURN_IF_ERROR(txn.status());
    ASSIGN_OR_RETURN(Statement * point,
                     db_->Prepare("UPDATE chunks SET model_id = ?, vector_id = (SELECT k.vector_id FROM "
                                  "embedding_keys k WHERE k.model_id = ? AND k.content_hash = chunks.content_hash) "
                                  "WHERE tenant_id = ?"));
    point->Bind(1, to.model_id).Bind(2, to.model_id).Bind(3, tenant_id);
    RETURN_IF_ERROR(point->Run());
    RETURN_IF_ERROR(SaveProfile(tenant_id, to));
    RETURN_IF_ERROR(BumpVectorGeneration(tenant_id));
    RETURN_IF_ERROR(txn.Commit());
  }
  RETURN_IF_ERROR(RebuildIndex(tenant_id));
  return report;
}

}  // namespace deskpipe
