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

// Lower-cased words of free text (ASCII letters/digits and any non-ASCII byte), deduplicated, at most 32.
std::vector<std::string> QueryTerms(const std::string& text);
// The words the keyword search looks for: QueryTerms without English stop words ("i", "the", "to", …),
// which match most chunks, weigh almost nothing in BM25 and make the search walk their long posting lists;
// all of QueryTerms when nothing else is left ("to be or not to be").
std::vector<std::string> KeywordTerms(const std::string& text);

// Which table holds records of `type` in hybrid mode: tickets, conversations, articles, else records.
const char* RecordTable(const std::string& type);
inline constexpr const char* kRecordTables[] = {"tickets", "conversations", "articles", "records"};

// The per-document fields search filters read.
struct FilterFields {
  std::string status;      // metadata "status" ("" when absent)
  std::string updated_at;  // the document's updated_at (UTC ISO-8601)
  bool is_private = false;  // has private notes, or agent-only visibility
  std::string priority;    // metadata "priority"
  std::string group_name;  // metadata "group_name"
  std::string group_id;    // metadata "group_id" in decimal
  std::string language;    // metadata "language"
  std::string created_at;  // metadata "created_at"
  std::vector<std::string> tags;  // metadata "tags"
};
FilterFields FilterFieldsOf(const Document& document);

// The metadata stored with a document's chunks: all of it, or (include_all = false) only the filter and
// display keys.
nlohmann::json VectorPayload(const nlohmann::json& metadata, bool include_all);

// Checks a query's tenant id, weights and date bounds; returns a copy with the bounds normalized to UTC "…Z"
// so they compare as strings with stored timestamps.
Result<SearchQuery> NormalizeQuery(const SearchQuery& query);

// True when `fields` of a document of `type` pass the query's metadata filters.
bool PassesFilters(const SearchQuery& query, const std::string& type, const FilterFields& fields);
bool HasMetadataFilter(const SearchQuery& query);
// The keyword list's share of the fused score for the query's mode: all of it or none for one list alone.
double KeywordWeight(const SearchQuery& query);

// One entry of a ranked candidate list: a chunk's key and its score on that list's own scale (BM25, higher is
// better; cosine similarity).
struct Candidate {
  int64_t key;
  double score;
};
struct Fused {
  int64_t key;
  double score;
  int keyword_rank;  // 1-based; 0 = absent
  int vector_rank;
  double keyword_score;  // the list's own score; 0 when absent
  double vector_score;
};
// Distribution-based score fusion of two ranked candidate lists (best first): each list's scores are mapped
// from [mean - 3 sd, mean + 3 sd] of that list onto [0, 1], so BM25 and cosine become comparable and a list
// whose top stands far above its rest weighs more than one that is flat; a candidate absent from a list gets
// nothing from it. The fused score is keyword_weight * keyword + (1 - keyword_weight) * vector. Ties are
// broken by key. (Reciprocal-rank fusion, which this replaced, ignores how far apart scores are; see the
// README's "Retrieval quality" for both measured.)
std::vector<Fused> FuseScores(const std::vector<Candidate>& keyword, const std::vector<Candidate>& vector,
                              double keyword_weight);

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

// SearchHit::snippet from a backend's highlighted excerpt, in which each matched word stands between
// kSnippetOpen and kSnippetClose: the text HTML-escaped, the marks made <mark>…</mark>.
inline constexpr char kSnippetOpen = '\x02';
inline constexpr char kSnippetClose = '\x03';
inline constexpr int kSnippetWords = 32;
std::string MarkedSnippet(const std::string& highlighted);
// SearchHit::snippet for a hit no query word matched: the first kSnippetWords words, HTML-escaped.
std::string OpeningSnippet(const std::string& text);

// Cosine similarity of two equal-length vectors (0 when either is zero).
float Cosine(const float* a, const float* b, size_t n);

// A float vector from raw little-endian bytes (the embeddings cache's blob); empty when misaligned.
std::vector<float> VectorFromBytes(const std::string& bytes);

}  // namespace deskpipe::store_common
