// Pieces both store backends share so they behave the same: query words, record tables, the fields that
// search filters read, the vector-side payload (VECTOR_DB_* options), reciprocal-rank fusion and query
// validation. Stateless free functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/record.h"
#include "core/status.h"
#include "store/store.h"

namespace deskpipe::store_common {

inline constexpr int kCandidateCount = 50;  // per list, before fusion
inline constexpr int kRrfK = 60;            // reciprocal-rank fusion constant

// Lower-cased words of free text (ASCII letters/digits and any non-ASCII byte), deduplicated, at most 32.
std::vector<std::string> QueryTerms(const std::string& text);

// Which table holds records of `type` in hybrid mode: tickets, conversations, articles, else records.
const char* RecordTable(const std::string& type);
inline constexpr const char* kRecordTables[] = {"tickets", "conversations", "articles", "records"};

// The per-document fields search filters read.
struct FilterFields {
  std::string status;      // metadata "status" ("" when absent)
  std::string updated_at;  // the document's updated_at (UTC ISO-8601)
  bool is_private = false;  // has private notes, or agent-only visibility
};
FilterFields FilterFieldsOf(const Document& document);

// The metadata stored with a document's chunks: all of it, or (include_all = false) only the filter and
// display keys.
nlohmann::json VectorPayload(const nlohmann::json& metadata, bool include_all);

// Checks a query's tenant id and date bounds; returns a copy with the bounds normalized to UTC "…Z" so they
// compare as strings with stored timestamps.
Result<SearchQuery> NormalizeQuery(const SearchQuery& query);

// True when `fields` of a document of `type` pass the query's metadata filters.
bool PassesFilters(const SearchQuery& query, const std::string& type, const FilterFields& fields);
bool HasMetadataFilter(const SearchQuery& query);

struct Fused {
  int64_t key;
  double score;
  int keyword_rank;
  int vector_rank;
};
// Reciprocal-rank fusion of two ranked key lists (best first); ties broken by key.
std::vector<Fused> FuseRanks(const std::vector<int64_t>& keyword, const std::vector<int64_t>& vector);

// SearchQuery::max_hits_per_document for one search: offered hits in rank order, admits at most that many of
// each document (every hit when it is 0).
class HitsPerDocument {
 public:
  explicit HitsPerDocument(int max_per_document) : max_(max_per_document) {}
  bool Admit(const std::string& document_id) { return max_ <= 0 || ++admitted_[document_id] <= max_; }

 private:
  int max_;
  std::unordered_map<std::string, int> admitted_;
};

// Cosine similarity of two equal-length vectors (0 when either is zero).
float Cosine(const float* a, const float* b, size_t n);

// A float vector from raw little-endian bytes (the embeddings cache's blob); empty when misaligned.
std::vector<float> VectorFromBytes(const std::string& bytes);

}  // namespace deskpipe::store_common
