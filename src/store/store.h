// The sink: SQL records, chunks with keyword search, and the vector index, behind one interface so the
// embedded (SQLite + usearch) and scale-out (PostgreSQL + pgvector) backends pass the same tests.
// Thread-safety: an instance is used from one thread at a time. Lifetime: Open() → use → destroy; the
// destructor flushes the vector index.
// Folder: store/ (the sink's backends) may include core/ only: it stands beside the platforms, not above them
// (docs/ARCHITECTURE.md).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/known_record.h"
#include "core/record.h"
#include "core/status.h"
#include "store/tenant_profile.h"
#include "store/tenant_write_lock.h"

namespace deskpipe {

struct Config;

// A record or attachment that failed for good, kept with its reason so nothing is lost silently.
struct DeadLetter {
  std::string stream;
  std::string record_id;
  std::string stage;        // "fetch", "map", "transform", "embed", …
  std::string error_class;  // StatusCodeName of the failure
  std::string message;
};

// A dead letter as stored: the letter, how many times it failed, and when first and last.
struct StoredDeadLetter {
  DeadLetter letter;
  int64_t attempts = 0;
  std::string first_seen;
  std::string last_seen;
};

// The claim a batch is written under: the service's job row (service_jobs, in the store's database) must
// still carry `token` when the batch's transaction commits, else the store writes nothing of the batch and
// answers Busy ("lease lost …"). A job's token grows on every claim, so a worker whose job was taken over
// commits nothing more. The PostgreSQL store checks it inside the batch's transaction; the SQLite store
// ignores it (one process serves a SQLite data directory, so its jobs are never taken over).
struct CommitFence {
  std::string task_id;
  int64_t token = 0;
};

// Everything one batch changes, committed as one atomic step together with the cursor that produced it.
struct BatchWrite {
  std::string tenant_id;
  std::string stream;
  nlohmann::json cursor;  // null ⇒ the stream's stored cursor is left as it is
  std::vector<Record> records;      // upserted into their type's table (hybrid mode)
  std::vector<Document> documents;  // upserted; each replaces exactly its previous chunks and vectors
  std::vector<std::string> removed_ids;  // record / document ids to tombstone (rows, chunks and vectors go)
  std::vector<DeadLetter> dead_letters;  // upserted by (tenant, stream, record_id); attempts counted
  std::optional<CommitFence> fence;      // nullopt ⇒ unconditional (the CLI)
};

// Which ranked lists a search draws on. Hybrid fuses the BM25 and vector lists by their scores; keyword and
// vector return one list in its own order — to measure each against the fusion (bench/retrieval), or for a
// caller that wants exact words or meaning alone.
enum class SearchMode { kHybrid, kKeyword, kVector };

inline const char* SearchModeName(SearchMode mode) {
  switch (mode) {
    case SearchMode::kKeyword: return "keyword";
    case SearchMode::kVector: return "vector";
    case SearchMode::kHybrid: break;
  }
  return "hybrid";
}

// nullopt for a name that is none of "hybrid", "keyword", "vector".
inline std::optional<SearchMode> ParseSearchMode(const std::string& name) {
  for (SearchMode mode : {SearchMode::kHybrid, SearchMode::kKeyword, SearchMode::kVector}) {
    if (name == SearchModeName(mode)) return mode;
  }
  return std::nullopt;
}

// What a search can be narrowed to. Every filter applies inside both the keyword and the vector search
// (never after the top-k cut); empty ⇒ no restriction. Timestamps are ISO-8601, bounds inclusive.
struct SearchFilters {
  std::vector<std::string> types;       // document types ("ticket", "article")
  std::vector<std::string> statuses;    // metadata "status" ("open", "resolved", "published", …)
  std::vector<std::string> priorities;  // metadata "priority" ("low", …, "urgent")
  std::vector<std::string> groups;      // metadata "group_name", or "group_id" in decimal
  std::vector<std::string> tags;        // the document carries every one of these (metadata "tags")
  std::vector<std::string> languages;   // metadata "language" (an article's translation: "en", "de")
  std::string updated_from;             // the document's updated_at
  std::string updated_to;
  std::string created_from;             // metadata "created_at"
  std::string created_to;
  bool exclude_private = false;  // drop documents holding private notes or agent-only (non-public) articles
};

struct SearchQuery : SearchFilters {
  std::string tenant_id;
  std::string text;
  std::vector<float> vector;  // the embedded text; empty ⇒ keyword search only (required by kVector)
  SearchMode mode = SearchMode::kHybrid;
  int top_k = 5;
  // > 0: at most this many hits of one document (its best-ranked chunks), so the top_k spans more documents;
  // 0 ⇒ no cap.
  int max_hits_per_document = 0;
  // Hybrid: the keyword list's share of the fused score, the vector list's is the rest (Embedder::
  // keyword_weight() gives the one measured for the query's model).
  double keyword_weight = 0.7;
  // Each hit gets a snippet of its chunk around the query's words, those words marked (SearchHit::snippet).
  bool snippets = false;
};

struct SearchHit {
  std::string chunk_id;
  std::string document_id;
  std::string type;
  std::string title;
  std::string text;
  double score = 0;        // fused score, higher is better: mostly 0..1, above 1 for a far outlier (FuseScores)
  int keyword_rank = 0;    // 1-based rank in the BM25 list; 0 = absent
  int vector_rank = 0;     // 1-based rank in the ANN list; 0 = absent
  double keyword_score = 0;  // BM25 of the chunk for the query's words (higher is better); 0 when absent
  double vector_score = 0;   // cosine similarity of the chunk's vector to the query's; 0 when absent
  // With SearchQuery::snippets: up to ~32 words of the chunk around the query's words, HTML-escaped, each
  // word the keyword search matched (stemmed, as it matched) inside <mark>…</mark>; "…" where text was cut.
  // The chunk's opening when no word matched (a hit by meaning alone).
  std::string snippet;
  nlohmann::json metadata;
};

struct StoreStats {
  std::map<std::string, int64_t> records_by_type;    // hybrid-mode record tables
  std::map<std::string, int64_t> documents_by_type;  // active documents
  int64_t chunks = 0;
  int64_t vectors = 0;
  std::map<std::string, nlohmann::json> cursors;  // stream → cursor
  // null when no run yet; a run recorded "running" whose tenant nobody holds the write lock of (its process
  // was killed) is shown "interrupted". A failed run's summary carries its "error".
  nlohmann::json last_run;
};

// What `deskpipe reset` removed for one tenant.
struct ResetReport {
  int64_t records = 0;
  int64_t documents = 0;
  int64_t chunks = 0;
  int64_t vectors = 0;
  int64_t cursors = 0;
};

// What `deskpipe verify` found (and, with repair, mended) for one tenant. Each list names offending ids.
struct VerifyReport {
  int64_t documents = 0;
  int64_t chunks = 0;
  int64_t vectors = 0;
  std::vector<std::string> chunks_without_vector;      // chunk ids with no vector
  std::vector<int64_t> vectors_without_chunk;          // vector keys (chunk row ids) whose chunk is gone
  // Vectors of deleted chunks kept in sealed (immutable) segments: never returned by a search, not a
  // problem; repair compacts them away.
  int64_t dead_vectors = 0;
  std::vector<std::string> chunk_hash_mismatches;      // chunk ids whose text no longer hashes to content_hash
  std::vector<std::string> orphan_chunks;              // chunk ids whose document row is missing
  std::vector<std::string> cursor_problems;            // "stream: reason"
  std::vector<std::string> mode_problems;              // e.g. records not yet backfilled after a mode switch
  int64_t repaired = 0;                                // problems mended (when repair was asked)
  int64_t re_embedded = 0;                             // chunks whose vector repair computed anew
  std::vector<std::string> removed;     // what repair removed, each provably orphaned ("chunk X: no document")
  std::vector<std::string> unrepaired;  // what repair left as it was, with why ("chunk X: …")
  bool ok() const {
    return chunks_without_vector.empty() && vectors_without_chunk.empty() && chunk_hash_mismatches.empty() &&
           orphan_chunks.empty() && cursor_problems.empty() && mode_problems.empty();
  }
};

// Embeds texts with the tenant's recorded model, for repairs and re-embedding.
using EmbedTexts = std::function<Result<std::vector<std::vector<float>>>(const std::vector<std::string>& texts)>;

struct VerifyOptions {
  bool repair = false;
  // With repair: a chunk whose vector is lost and not in the embedding cache is embedded again from its text
  // with `embed` (vectors keyed by `model_id`); without `embed` it is reported, never dropped.
  std::string model_id;
  EmbedTexts embed;
};

// What `deskpipe reembed` did.
struct ReembedReport {
  int64_t chunks = 0;
  int64_t from_cache = 0;
  int64_t embedded = 0;
  std::vector<std::string> skipped;  // chunk ids without stored text (kept, still without a vector)
};

// A sync run as recorded in the store (for `status`).
struct RunRecord {
  int64_t id = 0;
  std::string started_at;
  std::string finished_at;
  std::string state;  // "running", "succeeded", "failed", "stopped", "interrupted"
  nlohmann::json summary = nlohmann::json::object();
};

class Store {
 public:
  virtual ~Store() = default;

  virtual Result<nlohmann::json> LoadCursor(const std::string& tenant_id, const std::string& stream) = 0;

  // Vectors already computed by `model_id` for these chunk content hashes (the embedding cache).
  virtual Result<std::unordered_map<std::string, std::vector<float>>> CachedEmbeddings(
      const std::string& model_id, const std::vector<std::string>& content_hashes) = 0;

  // Content hash of each stored document among `ids` (absent ⇒ not stored).
  virtual Result<std::unordered_map<std::string, std::string>> DocumentHashes(
      const std::string& tenant_id, const std::vector<std::string>& ids) = 0;

  // Commits records, documents (with embedded chunks), tombstones and the cursor in one transaction.
  // `model_id` names the embedder whose vectors the chunks carry (cached for reuse).
  virtual Result<void> Commit(const BatchWrite& batch, const std::string& model_id) = 0;

  virtual Result<std::vector<SearchHit>> Search(const SearchQuery& query) = 0;

  // The text of a document's first chunk (its title and opening: a ticket's subject and first message);
  // nullopt when the tenant has no such document with text.
  virtual Result<std::optional<std::string>> DocumentOpening(const std::string& tenant_id,
                                                             const std::string& document_id) = 0;

  virtual Result<StoreStats> Stats(const std::string& tenant_id) = 0;

  // Hex digest over (document id, content hash, state) and chunk ids + hashes, in id order.
  struct Digest {
    std::string hex;
    int64_t documents = 0;
    int64_t chunks = 0;
  };
  virtual Result<Digest> ComputeDigest(const std::string& tenant_id) = 0;

  // Records a new run "running". The caller holds the tenant's write lock, so a run still recorded "running" is
  // one whose process died: it is marked "interrupted" first.
  virtual Result<int64_t> BeginRun(const std::string& tenant_id) = 0;
  virtual Result<void> FinishRun(const std::string& tenant_id, int64_t run_id, const std::string& state,
                                 const nlohmann::json& summary) = 0;
  // Saves a running job's progress snapshot as its run's summary (ENABLE_SQL_PROGRESS_LOGS), so `status` shows
  // a run in flight. The default goes through FinishRun with state "running"; a backend may override it to
  // leave finished_at empty. Added for the pipeline runtime (issue 8).
  virtual Result<void> UpdateRunProgress(const std::string& tenant_id, int64_t run_id,
                                         const nlohmann::json& progress) {
    return FinishRun(tenant_id, run_id, "running", progress);
  }

  // Flushes the vector index to disk (also done on destruction).
  virtual Result<void> Flush() = 0;

  // The tenant's dead letters (of one stream when `stream` is not empty), ordered by stream then record id.
  virtual Result<std::vector<StoredDeadLetter>> ListDeadLetters(const std::string& tenant_id,
                                                                const std::string& stream = "") = 0;
  // Removes one dead letter (its record went through); removing an absent one is not an error.
  virtual Result<void> ResolveDeadLetter(const std::string& tenant_id, const std::string& stream,
                                         const std::string& record_id) = 0;

  // Removes every row, chunk, vector, cursor, run and dead letter of one tenant — and nothing of any other.
  virtual Result<ResetReport> ResetTenant(const std::string& tenant_id) = 0;

  // Checks one tenant's integrity: every chunk has exactly one vector and every vector a chunk, stored chunk
  // hashes match stored text, chunks belong to stored documents, cursors are readable JSON objects. With
  // repair: lost vectors come back from the embedding cache or, with options.embed, from the chunk's text;
  // stray vectors and chunks without a document (provably orphaned) are removed and listed; nothing else is
  // deleted — what cannot be mended is listed in `unrepaired`.
  virtual Result<VerifyReport> VerifyTenant(const std::string& tenant_id, const VerifyOptions& options) = 0;
  Result<VerifyReport> Verify(const std::string& tenant_id, bool repair) {
    VerifyOptions options;
    options.repair = repair;
    return VerifyTenant(tenant_id, options);
  }

  // The tenant's recorded profile (tenant_profile.h); nullopt for a tenant this store has never seen. A tenant
  // synced before profiles were recorded gets one inferred from its chunks (model id only).
  virtual Result<std::optional<TenantProfile>> LoadProfile(const std::string& tenant_id) = 0;
  virtual Result<void> SaveProfile(const std::string& tenant_id, const TenantProfile& profile) = 0;

  // Re-embeds every chunk of the tenant from its stored text with `embed` (cache first, keyed by
  // `to.model_id`), then in one transaction points the chunks at the new vectors and records `to` as the
  // tenant's profile; the vector index is rebuilt from SQL. Until that commit the tenant stays as it was.
  virtual Result<ReembedReport> Reembed(const std::string& tenant_id, const TenantProfile& to,
                                        const EmbedTexts& embed) = 0;

  // What the store holds of one tenant's records, for sources that diff against it (the KnownRecords view of
  // platforms/platform.h, adapted by pipeline/store_known_records.h). A record with a document (tickets,
  // articles) is known by it: state = the document's state, updated_at = the record's own (kept in the
  // document's metadata; the document's may be a later conversation's). A record without one is known by its
  // row in the record tables (hybrid mode, or vector-only without minimal SQL): state = its metadata "state",
  // else its status. In vector-only mode with minimal SQL only documents are known: conversations and draft
  // articles live only inside their ticket's document (rewritten whole) or nowhere. Added for issue 4.
  //
  // Up to `limit` known records of `type` with id > `after_id`, in byte order of id.
  virtual Result<std::vector<KnownRecord>> ListKnown(const std::string& tenant_id, const std::string& type,
                                                     const std::string& after_id, size_t limit) = 0;
  // Known records whose parent is `parent_id` (a ticket's conversations, from the conversations table), in id
  // order.
  virtual Result<std::vector<KnownRecord>> KnownChildren(const std::string& tenant_id,
                                                         const std::string& parent_id) = 0;
  // The known records among `ids` (absent ⇒ not stored), in id order.
  virtual Result<std::vector<KnownRecord>> LookupKnown(const std::string& tenant_id,
                                                       const std::vector<std::string>& ids) = 0;

  // Takes the tenant's exclusive write lock (see tenant_write_lock.h): at once, or (options.wait) once the
  // holder lets go. Another process holding it ⇒ kBusy naming the holder. Asking again for a tenant this store
  // already holds is a bug (kInternal).
  virtual Result<std::unique_ptr<TenantWriteLock>> LockTenantForWrite(const std::string& tenant_id,
                                                                       const WriteLockOptions& options) = 0;
  // Who holds the tenant's write lock now (this store included); nullopt when nobody does. Takes no lock that a
  // writer could notice beyond a moment.
  virtual Result<std::optional<LockHolder>> TenantWriter(const std::string& tenant_id) = 0;

  // Highest applied schema migration.
  virtual Result<int> SchemaVersion() = 0;

  // "sqlite" or "postgresql".
  virtual std::string BackendName() const = 0;
};

struct StoreOptions {
  std::string url;        // sqlite:///path/to/deskpipe.db
  std::string data_dir;   // where per-tenant vector indexes live
  int dimension = 0;      // vector dimension of the embedder in use
  bool hybrid = true;     // false ⇒ vector-only mode: no full record tables (DESIGN §3)
  // VECTOR_ONLY_MODE_MINIMAL_SQL: in vector-only mode, SQL keeps only cursors, progress, content hashes and
  // dead letters (records are dropped); false keeps the record tables even in vector-only mode.
  bool minimal_sql = true;
  // VECTOR_DB_CONTENT_FIELD: the payload key under which the vector side exposes a chunk's text (SearchHit::
  // metadata[content_field]).
  std::string content_field = "content";
  // VECTOR_DB_STORE_ORIGINAL_TEXT: keep chunk text beside its vector. false ⇒ hits carry no text and keyword
  // search covers titles only.
  bool store_original_text = true;
  // VECTOR_DB_INCLUDE_ALL_METADATA: every document metadata key travels with its vectors; false ⇒ only the
  // filter and display fields (status, priority, dates, private/visibility, original_id).
  bool include_all_metadata = true;
  // A search filter letting through at most this many chunks is answered by an exact scan of exactly those
  // chunks instead of the ANN graph (which would have to wander far to find so few).
  int64_t exact_scan_max_candidates = 2000;
  // Embedded store: vectors per in-memory index segment before it is sealed to a file that the writer no
  // longer holds (so a long sync's memory stays flat; searches visit every segment). Half of 32,768 cut a
  // 100k-ticket sync's peak RSS by ~14 MB and made unfiltered searches of 100,000 chunks ~2 ms slower
  // (bench_store --segment-size).
  size_t vector_segment_size = 16384;
  // Opens without creating, migrating or writing anything (no database or vectors directory is made, no index
  // file saved): for status, search, digest and verify without repair. A missing database is NotFound.
  bool read_only = false;
  // Test hook: called after the SQL transaction of Commit() committed and before the vector index follows
  // (a test kills the process here to prove the index is repaired from SQL on the next open).
  std::function<void()> after_sql_commit_for_test;

  // Whether record tables are written: hybrid, or vector-only without minimal SQL.
  bool WritesRecords() const { return hybrid || !minimal_sql; }
};

// StoreOptions from the configuration's mode keys (ENABLE_FULL_STREAMING_MODE, VECTOR_ONLY_MODE_MINIMAL_SQL,
// VECTOR_DB_*); url/data_dir/dimension as given.
StoreOptions StoreOptionsFor(const Config& config, int dimension);

// Opens the store named by options.url, creating or migrating its schema.
Result<std::unique_ptr<Store>> OpenStore(const StoreOptions& options);

}  // namespace deskpipe
