// The scale-out store: PostgreSQL for everything — records, documents, chunks with full-text search (a
// generated `tsvector` column, GIN-indexed, ranked by ts_rank_cd), the embedding cache, cursors, runs, dead
// letters — and the vectors through pgvector (`chunk_vectors`, one HNSW index per dimension over
// `embedding::vector(N)`, cosine), so a batch, its vectors and its cursor commit in one transaction. Every table
// carries tenant_id and every query is scoped by it. Schema changes are versioned migrations in
// schema_migrations, applied under an advisory lock so concurrent workers migrate once.
//
// On a server without the pgvector extension the store still works: vectors stay in the embedding cache and
// vector search is an exact scan of the tenant's (filtered) chunks in this process — correct, but linear.
//
// Thread-safety: one thread at a time (see Store). Lifetime: Open() → use → destroy (closes the connection).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "store/pg_connection.h"
#include "store/store.h"
#include "store/store_common.h"

namespace deskpipe {

class PostgresStore : public Store {
 public:
  // Connects to `url` (postgresql://…, passed to libpq as is) and applies pending migrations.
  static Result<std::unique_ptr<PostgresStore>> Open(const std::string& url, const StoreOptions& options);
  ~PostgresStore() override;

  Result<nlohmann::json> LoadCursor(const std::string& tenant_id, const std::string& stream) override;
  Result<std::unordered_map<std::string, std::vector<float>>> CachedEmbeddings(
      const std::string& model_id, const std::vector<std::string>& content_hashes) override;
  Result<std::unordered_map<std::string, std::string>> DocumentHashes(
      const std::string& tenant_id, const std::vector<std::string>& ids) override;
  Result<void> Commit(const BatchWrite& batch, const std::string& model_id) override;
  Result<std::vector<SearchHit>> Search(const SearchQuery& query) override;
  Result<StoreStats> Stats(const std::string& tenant_id) override;
  Result<std::optional<std::string>> DocumentOpening(const std::string& tenant_id,
                                                     const std::string& document_id) override;
  Result<Digest> ComputeDigest(const std::string& tenant_id) override;
  Result<int64_t> BeginRun(const std::string& tenant_id) override;
  Result<void> FinishRun(const std::string& tenant_id, int64_t run_id, const std::string& state,
                         const nlohmann::json& summary) override;
  Result<void> Flush() override;
  Result<std::vector<StoredDeadLetter>> ListDeadLetters(const std::string& tenant_id,
                                                        const std::string& stream = "") override;
  Result<void> ResolveDeadLetter(const std::string& tenant_id, const std::string& stream,
                                 const std::string& record_id) override;
  Result<ResetReport> ResetTenant(const std::string& tenant_id) override;
  Result<VerifyReport> VerifyTenant(const std::string& tenant_id, const VerifyOptions& options) override;
  Result<std::optional<TenantProfile>> LoadProfile(const std::string& tenant_id) override;
  Result<void> SaveProfile(const std::string& tenant_id, const TenantProfile& profile) override;
  Result<ReembedReport> Reembed(const std::string& tenant_id, const TenantProfile& to,
                                const EmbedTexts& embed) override;
  // Known records (issue 4); in sqlite_known_records.cc / postgres_known_records.cc.
  Result<std::vector<KnownRecord>> ListKnown(const std::string& tenant_id, const std::string& type,
                                             const std::string& after_id, size_t limit) override;
  Result<std::vector<KnownRecord>> KnownChildren(const std::string& tenant_id,
                                                 const std::string& parent_id) override;
  Result<std::vector<KnownRecord>> LookupKnown(const std::string& tenant_id,
                                               const std::vector<std::string>& ids) override;
  // A session-level pg_try_advisory_lock on this store's connection, keyed by a hash of the tenant id; the
  // holder is recorded in tenant_writers. Closing the connection (or the process dying) releases it.
  Result<std::unique_ptr<TenantWriteLock>> LockTenantForWrite(const std::string& tenant_id,
                                                               const WriteLockOptions& options) override;
  Result<std::optional<LockHolder>> TenantWriter(const std::string& tenant_id) override;
  Result<int> SchemaVersion() override;
  std::string BackendName() const override { return "postgresql"; }

  // Whether vectors live in pgvector (else: exact scans over the embedding cache).
  bool has_pgvector() const { return has_pgvector_; }
  // Direct access for tests and maintenance tools.
  pg::PgConnection& connection() { return *conn_; }

 private:
  PostgresStore(std::unique_ptr<pg::PgConnection> conn, const StoreOptions& options);

  Result<void> Migrate();
  // For read-only verbs: checks the schema is there and current, and makes the session read-only.
  Result<void> CheckSchemaReadOnly();
  Result<void> PrepareVectorIndex();
  // Gives `chunk_rowid` the vector (and caches it under `model_id`).
  Result<void> PutVector(const std::string& tenant_id, int64_t chunk_rowid, const std::string& model_id,
                         const std::string& content_hash, const std::vector<float>& vector);
  // Ranked chunk rowids of the tenant nearest to query.vector, filters applied in the same SQL.
  Result<std::vector<store_common::Candidate>> VectorCandidates(const SearchQuery& query);
  Result<std::vector<store_common::Candidate>> KeywordCandidates(const SearchQuery& query);
  Result<void> AddSnippets(const SearchQuery& query, std::vector<SearchHit>& hits);  // SearchHit::snippet

  std::unique_ptr<pg::PgConnection> conn_;
  StoreOptions options_;
  bool has_pgvector_ = false;
  std::map<std::string, std::shared_ptr<TenantWriteLock::Slot>> locks_;  // tenant → write lock granted here
};

}  // namespace deskpipe
