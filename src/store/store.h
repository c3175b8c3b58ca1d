// The sink: SQL records, chunks with keyword search, and the vector index, behind one interface so the
// embedded (SQLite + usearch) and scale-out (PostgreSQL + pgvector) backends pass the same tests.
// Thread-safety: an instance is used from one thread at a time. Lifetime: Open() → use → destroy; the
// destructor flushes the vector index.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/record.h"
#include "core/status.h"

namespace deskpipe {

// A record or attachment that failed for good, kept with its reason so nothing is lost silently.
struct DeadLetter {
  std::string stream;
  std::string record_id;
  std::string stage;        // "fetch", "map", "transform", "embed", …
  std::string error_class;  // StatusCodeName of the failure
  std::string message;
};

// Everything one batch changes, committed as one atomic step together with the cursor that produced it.
struct BatchWrite {
  std::string tenant_id;
  std::string stream;
  nlohmann::json cursor;
  std::vector<Record> records;      // upserted into their type's table (hybrid mode)
  std::vector<Document> documents;  // upserted; each replaces exactly its previous chunks and vectors
  std::vector<std::string> removed_ids;  // record / document ids to tombstone (rows, chunks and vectors go)
  std::vector<DeadLetter> dead_letters;  // upserted by (tenant, stream, record_id); attempts counted
};

struct SearchQuery {
  std::string tenant_id;
  std::string text;
  std::vector<float> vector;  // the embedded text; empty ⇒ keyword search only
  int top_k = 5;
  std::vector<std::string> types;  // empty ⇒ every type
};

struct SearchHit {
  std::string chunk_id;
  std::string document_id;
  std::string type;
  std::string title;
  std::string text;
  double score = 0;        // fused reciprocal-rank score
  int keyword_rank = 0;    // 1-based rank in the BM25 list; 0 = absent
  int vector_rank = 0;     // 1-based rank in the ANN list; 0 = absent
  nlohmann::json metadata;
};

struct StoreStats {
  std::map<std::string, int64_t> records_by_type;    // hybrid-mode record tables
  std::map<std::string, int64_t> documents_by_type;  // active documents
  int64_t chunks = 0;
  int64_t vectors = 0;
  std::map<std::string, nlohmann::json> cursors;  // stream → cursor
  nlohmann::json last_run;                        // null when no run yet
};

// A sync run as recorded in the store (for `status`).
struct RunRecord {
  int64_t id = 0;
  std::string started_at;
  std::string finished_at;
  std::string state;  // "running", "succeeded", "failed"
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

  virtual Result<StoreStats> Stats(const std::string& tenant_id) = 0;

  // Hex digest over (document id, content hash, state) and chunk ids + hashes, in id order.
  struct Digest {
    std::string hex;
    int64_t documents = 0;
    int64_t chunks = 0;
  };
  virtual Result<Digest> ComputeDigest(const std::string& tenant_id) = 0;

  virtual Result<int64_t> BeginRun(const std::string& tenant_id) = 0;
  virtual Result<void> FinishRun(const std::string& tenant_id, int64_t run_id, const std::string& state,
                                 const nlohmann::json& summary) = 0;

  // Flushes the vector index to disk (also done on destruction).
  virtual Result<void> Flush() = 0;
};

struct StoreOptions {
  std::string url;        // sqlite:///path/to/deskpipe.db
  std::string data_dir;   // where per-tenant vector indexes live
  int dimension = 0;      // vector dimension of the embedder in use
  bool hybrid = true;     // false ⇒ vector-only mode: no full record tables (DESIGN §3)
};

// Opens the store named by options.url, creating or migrating its schema.
Result<std::unique_ptr<Store>> OpenStore(const StoreOptions& options);

}  // namespace deskpipe
