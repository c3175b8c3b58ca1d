// The embedded store: one SQLite database (WAL) holding records, documents, chunks with FTS5 keyword search,
// the embedding cache, cursors, runs and dead letters — every table scoped by tenant_id — plus one segmented
// usearch index per tenant under {data_dir}/vectors/{tenant}.usearch*, keyed by the chunk's SQLite rowid.
//
// The vector index is a cache of SQL: Commit() writes SQL (and bumps the tenant's meta.vector_generation) in
// one transaction, then queues the same changes for a background follower that applies them to the index's
// growing segment while the next batches' SQL runs (every other use of an index waits for it); full segments
// are sealed to files the writer no longer holds. Flush() saves the growing segment and a `.gen` sidecar; a
// growing segment whose sidecar is missing or disagrees with SQL (a crash between commit and flush) is
// refilled from `chunks JOIN embedding_vectors` when first opened. Vector candidates are re-ranked by the
// exact cosine of their stored float vectors (the index keeps int8 codes).
//
// Thread-safety: one thread at a time (see Store). Lifetime: Open() → use → destroy (flushes).
#pragma once

#include <climits>
#include <cstdint>
#include <map>
#include <unordered_map>
#include <vector>
#include <memory>
#include <string>

#include "store/index_follower.h"
#include "store/sqlite_db.h"
#include "store/store.h"
#include "store/store_common.h"
#include "store/vector_index.h"
#include "store/wal_checkpointer.h"

namespace deskpipe {

class SqliteStore : public Store {
 public:
  // Opens or creates the database at `db_path` (its parent directory is created) and applies pending
  // migrations. Vector indexes live under options.data_dir (default: the database's directory).
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& db_path, const StoreOptions& options);
  ~SqliteStore() override;

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
  // An flock(2) on {data_dir}/locks/{tenant}.lock, which also holds the holder's LockHolder JSON. Releasing
  // saves the tenant's index and drops it from memory first, so this store never writes it unlocked later.
  Result<std::unique_ptr<TenantWriteLock>> LockTenantForWrite(const std::string& tenant_id,
                                                               const WriteLockOptions& options) override;
  Result<std::optional<LockHolder>> TenantWriter(const std::string& tenant_id) override;
  Result<int> SchemaVersion() override;
  std::string BackendName() const override { return "sqlite"; }

  // The tenant's lock file (for tests).
  std::string LockFilePath(const std::string& tenant_id) const;

  // Where the tenant's vector index lives (for tests and `reset`).
  std::string VectorIndexPath(const std::string& tenant_id) const;
  // Builds a safe FTS5 MATCH expression from free text: each word quoted, OR-ed; empty when no word.
  static std::string FtsMatchExpression(const std::string& text);
  // Direct access for tests and maintenance tools.
  sqlite::SqliteDb& db() { return *db_; }

 private:
  SqliteStore(std::unique_ptr<sqlite::SqliteDb> db, const StoreOptions& options, std::string vectors_dir);

  // What the search filters read of a chunk, kept in memory beside the tenant's index so the ANN filter
  // predicate costs a hash lookup, not a query.
  struct ChunkAttrs {
    int32_t type = -1;    // interned document type
    int32_t status = -1;  // interned metadata status
    int64_t updated_at = INT64_MIN;  // Unix seconds; INT64_MIN when unknown
    int64_t created_at = INT64_MIN;  // metadata created_at, likewise
    int32_t priority = -1;    // interned metadata values ("" when absent)
    int32_t group_name = -1;
    int32_t group_id = -1;
    int32_t language = -1;
    int32_t tags = -1;  // the interned tag list (kTagsPrefix + its JSON text), shared by documents alike
    bool is_private = false;
  };
  // Filter fields by chunk rowid: a hash for the lookups inside the graph search, and the entries in a flat
  // array, because a filter's selectivity is measured by scanning them (a hash map's nodes cost a cache miss
  // each: 5 ms for 100,000 chunks, against 0.3 ms for the array).
  class AttrMap {
   public:
    void Set(int64_t key, const ChunkAttrs& attrs);
    void Erase(int64_t key);
    const ChunkAttrs* Find(int64_t key) const {
      auto it = slots_.find(key);
      return it == slots_.end() ? nullptr : &entries_[it->second].second;
    }
    // Calls f(key, attrs) for every live entry; stops when f returns false.
    template <typename F>
    void Scan(F&& f) const {
      for (const auto& [key, attrs] : entries_) {
        if (key != kErased && !f(key, attrs)) return;
      }
    }

   private:
    static constexpr int64_t kErased = -1;
    std::unordered_map<int64_t, uint32_t> slots_;           // key → index in entries_
    std::vector<std::pair<int64_t, ChunkAttrs>> entries_;  // erased ones keep kErased until compacted
  };

  Result<void> Migrate();
  // The embedding cache: vectors appended to embedding_vectors (each chunk names its row), found by
  // (model, content hash) through embedding_keys, which is filled in sorted folds; the vectors appended
  // since the last fold are found through unkeyed_vectors_.
  // The cache row holding chunk.vector: an existing one, or one appended (and recorded in `appended`).
  Result<int64_t> StoreVector(const std::string& model_id, const Chunk& chunk,
                              std::unordered_map<std::string, int64_t>& appended);
  // Keys every vector appended since keys_through_ (inside the caller's transaction); returns the new mark.
  Result<int64_t> FoldEmbeddingKeys();
  Result<void> FoldUnkeyedVectors();  // FoldEmbeddingKeys in its own transaction
  Result<void> LoadKeysThrough();
  Result<void> LoadAttrs(const std::string& tenant_id, AttrMap& attrs);
  ChunkAttrs AttrsOfRow(const sqlite::Statement& row);  // a row of kAttrSelect
  // SearchHit::snippet of chunk `key` (its text `text`) for an FTS5 MATCH expression ("" ⇒ its opening).
  Result<std::string> Snippet(int64_t key, const std::string& match, const std::string& text);
  Result<void> RefreshAttrs(const std::string& tenant_id, const std::string& document_id, AttrMap& attrs);
  int32_t Intern(const std::string& value);
  int32_t InternedId(const std::string& value) const;  // -1 when never seen
  // The vector side's ranked chunk rowids: the index's candidates (int8 codes: approximate scores) re-ranked by
  // the exact cosine of their stored float vectors.
  Result<std::vector<store_common::Candidate>> VectorCandidates(const SearchQuery& query);
  Result<std::vector<std::pair<int64_t, float>>> IndexCandidates(const SearchQuery& query);
  Result<std::vector<store_common::Candidate>> RankExactly(
      const std::vector<float>& query, const std::vector<std::pair<int64_t, float>>& candidates);
  // The tenant's open index: opened on first use, its growing segment refilled from SQL when stale.
  Result<SegmentedIndex*> TenantIndex(const std::string& tenant_id);
  Result<std::unique_ptr<SegmentedIndex>> OpenIndex(const std::string& tenant_id);
  Result<std::unique_ptr<SegmentedIndex>> OpenIndex(const std::string& tenant_id, int64_t generation);
  Result<void> RefillIndex(const std::string& tenant_id, SegmentedIndex& index);
  // Points each chunk (rowid → its text) at a vector of `model_id`: the cached one, else one `embed` computes
  // (none without `embed`); inside the caller's transaction. Returns the rowids left without one.
  Result<std::vector<int64_t>> AttachVectors(const std::string& model_id,
                                             const std::vector<std::pair<int64_t, std::string>>& texts,
                                             const EmbedTexts& embed);
  Result<void> BumpVectorGeneration(const std::string& tenant_id);
  // Every segment rebuilt from SQL (verify --repair).
  Result<SegmentedIndex*> RebuildIndex(const std::string& tenant_id);
  // The filter fields, loaded by the first search (a sync that never searches does not hold them).
  Result<const AttrMap*> TenantAttrs(const std::string& tenant_id);
  Result<int64_t> VectorCount(const std::string& tenant_id);
  Result<int64_t> VectorGeneration(const std::string& tenant_id);
  // Saves with the generation the index reflects (index_generations_).
  Result<void> SaveIndex(const std::string& tenant_id, SegmentedIndex& index);
  // Whether another process holds the tenant's write lock (then its index files are not this store's to write).
  Result<bool> OtherProcessWrites(const std::string& tenant_id);
  // Waits for the follower (below) and drops the index of every tenant whose update failed.
  void CatchUpIndexes();
  // CatchUpIndexes(), then forgets the tenant's index (and its sidecar) so the next use rebuilds it.
  void DropIndex(const std::string& tenant_id);
  void ForgetIndex(const std::string& tenant_id);

  std::unique_ptr<sqlite::SqliteDb> db_;
  std::unique_ptr<sqlite::WalCheckpointer> checkpointer_;  // after db_: destroyed before it
  StoreOptions options_;
  std::string vectors_dir_;
  std::string locks_dir_;
  std::map<std::string, std::shared_ptr<TenantWriteLock::Slot>> locks_;  // tenant → write lock granted here
  std::map<std::string, std::unique_ptr<SegmentedIndex>> indexes_;  // tenant → open index
  std::map<std::string, int64_t> index_generations_;  // tenant → the SQL vector generation its open index reflects
  std::map<std::string, AttrMap> attrs_;                          // tenant → chunk rowid → filter fields
  std::unordered_map<std::string, int32_t> interned_;
  bool reads_mapped_ = false;  // mmap_size raised by the first search
  int64_t keys_through_ = 0;   // embedding_vectors ids up to this one are in embedding_keys
  std::unordered_map<std::string, int64_t> unkeyed_vectors_;  // model + hash → id, for ids past keys_through_
  IndexFollower follower_;  // last: destroyed (joined) before the indexes it writes to
};

}  // namespace deskpipe
