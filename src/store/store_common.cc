#include "store/store_common.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <unordered_map>

#include "core/ids.h"
#include "core/time.h"

namespace deskpipe::store_common {
namespace {

constexpr size_t kMaxQueryTerms = 32;

bool IsQueryWordByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

// A string value, or an integer one in decimal (ids); "" otherwise.
std::string MetadataString(const nlohmann::json& metadata, const char* key) {
  if (!metadata.is_object()) return {};
  auto it = metadata.find(key);
  if (it == metadata.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return {};
}

bool MetadataTrue(const nlohmann::json& metadata, const char* key) {
  if (!metadata.is_object()) return false;
  auto it = metadata.find(key);
  return it != metadata.end() && it->is_boolean() && it->get<bool>();
}

}  // namespace

std::vector<std::string> QueryTerms(const std::string& text) {
  std::vector<std::string> terms;
  std::set<std::string> seen;
  std::string current;
  auto flush = [&]() {
    if (current.empty()) return;
    for (char& c : current) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    if (terms.size() < kMaxQueryTerms && seen.insert(current).second) terms.push_back(current);
    current.clear();
  };
  for (char ch : text) {
    if (IsQueryWordByte(static_cast<unsigned char>(ch))) {
      current.push_back(ch);
    } else {
      flush();
    }
  }
  flush();
  return terms;
}

std::vector<std::string> KeywordTerms(const std::string& text) {
  // The stop words of Lucene's and PostgreSQL's English lists that support questions are full of.
  static const std::set<std::string, std::less<>> kStopWords = {
      "a",     "about", "am",    "an",    "and",   "any",   "are",   "as",    "at",   "be",    "been",
      "but",   "by",    "can",   "could", "did",   "do",    "does",  "for",   "from", "had",   "has",
      "have",  "he",    "her",   "him",   "his",   "how",   "i",     "if",    "im",   "in",    "into",
      "is",    "it",    "its",   "just",  "me",    "my",    "of",    "on",    "or",   "our",   "please",
      "she",   "so",    "some",  "that",  "the",   "their", "them",  "then",  "there", "these", "they",
      "this",  "those", "to",    "too",   "us",    "was",   "we",    "were",  "what", "when",  "where",
      "which", "who",   "why",   "will",  "with",  "would", "you",   "your"};
  std::vector<std::string> terms = QueryTerms(text);
  std::vector<std::string> kept;
  for (std::string& term : terms) {
    if (!kStopWords.contains(term)) kept.push_back(term);
  }
  return kept.empty() ? terms : kept;
}

const char* RecordTable(const std::string& type) {
  if (type == "ticket") return "tickets";
  if (type == "conversation") return "conversations";
  if (type == "article") return "articles";
  return "records";
}

FilterFields FilterFieldsOf(const Document& document) {
  FilterFields fields;
  fields.status = MetadataString(document.metadata, "status");
  fields.updated_at = document.updated_at;
  const std::string visibility = MetadataString(document.metadata, "visibility");
  const std::string folder_visibility = MetadataString(document.metadata, "folder_visibility");
  fields.is_private = MetadataTrue(document.metadata, "has_private") ||
                      MetadataTrue(document.metadata, "private") || visibility == "agents" ||
                      folder_visibility == "agents";
  fields.priority = MetadataString(document.metadata, "priority");
  fields.group_name = MetadataString(document.metadata, "group_name");
  fields.group_id = MetadataString(document.metadata, "group_id");
  fields.language = MetadataString(document.metadata, "language");
  fields.created_at = MetadataString(document.metadata, "created_at");
  // Stored canonical ("…Z"), so range filters compare it as a string with the query's normalized bounds.
  if (auto canonical = NormalizeTimestamp(fields.created_at)) fields.created_at = *canonical;
  if (auto it = document.metadata.find("tags"); document.metadata.is_object() && it != document.metadata.end() &&
                                                it->is_array()) {
    for (const auto& tag : *it) {
      if (tag.is_string()) fields.tags.push_back(tag.get<std::string>());
    }
  }
  return fields;
}

nlohmann::json VectorPayload(const nlohmann::json& metadata, bool include_all) {
  if (!metadata.is_object()) return nlohmann::json::object();
  if (include_all) return metadata;
  static const char* const kKept[] = {"status",     "priority",    "created_at", "updated_at",        "original_id",
                                      "has_private", "private",   "visibility", "folder_visibility", "state",
                                      "url",        "group_name",  "group_id",   "tags",              "language"};
  nlohmann::json reduced = nlohmann::json::object();
  for (const char* key : kKept) {
    auto it = metadata.find(key);
    if (it != metadata.end()) reduced[key] = *it;
  }
  return reduced;
}

Result<SearchQuery> NormalizeQuery(const SearchQuery& query) {
  RETURN_IF_ERROR(ValidateTenantId(query.tenant_id));
  if (query.max_hits_per_document < 0) {
    return Error(InvalidArgument("max_hits_per_document must not be negative (0: no cap)"));
  }
  if (query.mode == SearchMode::kVector && query.vector.empty()) {
    return Error(InvalidArgument("a vector-only search needs the query's vector"));
  }
  if (!(query.keyword_weight >= 0 && query.keyword_weight <= 1)) {
    return Error(InvalidArgument("keyword_weight must be between 0 and 1"));
  }
  SearchQuery normalized = query;
  for (auto [name, value] : {std::pair<const char*, std::string*>{"updated_from", &normalized.updated_from},
                             {"updated_to", &normalized.updated_to},
                             {"created_from", &normalized.created_from},
                             {"created_to", &normalized.created_to}}) {
    if (value->empty()) continue;
    auto canonical = NormalizeTimestamp(*value);
    if (!canonical) {
      return Error(InvalidArgument(std::string("search filter ") + name + " '" + *value +
                                   "' is not an ISO-8601 timestamp"));
    }
    *value = *canonical;
  }
  return normalized;
}

bool HasMetadataFilter(const SearchQuery& query) {
  return !query.types.empty() || !query.statuses.empty() || !query.updated_from.empty() ||
         !query.updated_to.empty() || query.exclude_private || !query.priorities.empty() ||
         !query.groups.empty() || !query.tags.empty() || !query.languages.empty() || !query.created_from.empty() ||
         !query.created_to.empty();
}

double KeywordWeight(const SearchQuery& query) {
  switch (query.mode) {
    case SearchMode::kKeyword: return 1;
    case SearchMode::kVector: return 0;
    case SearchMode::kHybrid: break;
  }
  return query.keyword_weight;
}

bool PassesFilters(const SearchQuery& query, const std::string& type, const FilterFields& fields) {
  if (!query.types.empty() && std::find(query.types.begin(), query.types.end(), type) == query.types.end()) {
    return false;
  }
  if (!query.statuses.empty() &&
      std::find(query.statuses.begin(), query.statuses.end(), fields.status) == query.statuses.end()) {
    return false;
  }
  if (!query.updated_from.empty() && fields.updated_at < query.updated_from) return false;
  if (!query.updated_to.empty() && fields.updated_at > query.updated_to) return false;
  if (query.exclude_private && fields.is_private) return false;
  auto one_of = [](const std::vector<std::string>& wanted, const std::string& value) {
    return wanted.empty() || std::find(wanted.begin(), wanted.end(), value) != wanted.end();
  };
  if (!one_of(query.priorities, fields.priority) || !one_of(query.languages, fields.language)) return false;
  if (!query.groups.empty() && !(one_of(query.groups, fields.group_name) && !fields.group_name.empty()) &&
      !(one_of(query.groups, fields.group_id) && !fields.group_id.empty())) {
    return false;
  }
  for (const std::string& tag : query.tags) {
    if (std::find(fields.tags.begin(), fields.tags.end(), tag) == fields.tags.end()) return false;
  }
  if (!query.created_from.empty() && (fields.created_at.empty() || fields.created_at < query.created_from)) {
    return false;
  }
  if (!query.created_to.empty() && (fields.created_at.empty() || fields.created_at > query.created_to)) {
    return false;
  }
  return true;
}

namespace {

// Maps each score of `list` from [mean - 3 sd, mean + 3 sd] onto [0, 1]; a score beyond ± 3 sd lands outside,
// a list of equal scores maps to 1.
std::vector<double> NormalizedScores(const std::vector<Candidate>& list) {
  std::vector<double> normalized(list.size(), 1.0);
  if (list.size() < 2) return normalized;
  double sum = 0, squares = 0;
  for (const Candidate& c : list) sum += c.score, squares += c.score * c.score;
  const double n = static_cast<double>(list.size());
  const double mean = sum / n;
  const double sd = std::sqrt(std::max(0.0, squares / n - mean * mean));
  if (sd <= 1e-12 * std::max(1.0, std::abs(mean))) return normalized;
  for (size_t i = 0; i < list.size(); ++i) normalized[i] = (list[i].score - (mean - 3 * sd)) / (6 * sd);
  return normalized;
}

}  // namespace

std::vector<Fused> FuseScores(const std::vector<Candidate>& keyword, const std::vector<Candidate>& vector,
                              double keyword_weight) {
  const double weight = std::clamp(keyword_weight, 0.0, 1.0);
  const std::vector<double> keyword_normalized = NormalizedScores(keyword);
  const std::vector<double> vector_normalized = NormalizedScores(vector);
  std::unordered_map<int64_t, Fused> by_key;
  for (size_t i = 0; i < keyword.size(); ++i) {
    Fused& f = by_key.try_emplace(keyword[i].key, Fused{keyword[i].key, 0, 0, 0, 0, 0}).first->second;
    if (f.keyword_rank != 0) continue;
    f.keyword_rank = static_cast<int>(i + 1);
    f.keyword_score = keyword[i].score;
    f.score += weight * keyword_normalized[i];
  }
  for (size_t i = 0; i < vector.size(); ++i) {
    Fused& f = by_key.try_emplace(vector[i].key, Fused{vector[i].key, 0, 0, 0, 0, 0}).first->second;
    if (f.vector_rank != 0) continue;
    f.vector_rank = static_cast<int>(i + 1);
    f.vector_score = vector[i].score;
    f.score += (1 - weight) * vector_normalized[i];
  }
  std::vector<Fused> out;
  out.reserve(by_key.size());
  for (auto& [key, f] : by_key) out.push_back(f);
  std::sort(out.begin(), out.end(), [](const Fused& a, const Fused& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.key < b.key;
  });
  return out;
}

namespace {

void AppendEscaped(char c, std::string& out) {
  switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&#39;"; break;
    default: out += c;
  }
}

}  // namespace

std::string MarkedSnippet(const std::string& highlighted) {
  std::string out;
  out.reserve(highlighted.size() + 64);
  bool open = false;
  for (char c : highlighted) {
    if (c == kSnippetOpen && !open) {
      out += "<mark>", open = true;
    } else if (c == kSnippetClose && open) {
      out += "</mark>", open = false;
    } else if (c != kSnippetOpen && c != kSnippetClose) {
      AppendEscaped(c, out);
    }
  }
  if (open) out += "</mark>";
  return out;
}

std::string OpeningSnippet(const std::string& text) {
  std::string out;
  int words = 0;
  bool in_word = false;
  size_t i = 0;
  for (; i < text.size(); ++i) {
    const bool space = text[i] == ' ' || text[i] == '\n' || text[i] == '\t' || text[i] == '\r';
    if (!space && !in_word && ++words > kSnippetWords) break;
    in_word = !space;
    AppendEscaped(space ? ' ' : text[i], out);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (i < text.size()) out += "…";
  return out;
}

float Cosine(const float* a, const float* b, size_t n) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < n; ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  if (na == 0 || nb == 0) return 0;
  return static_cast<float>(dot / (std::sqrt(na) * std::sqrt(nb)));
}

std::vector<float> VectorFromBytes(const std::string& bytes) {
  if (bytes.size() % sizeof(float) != 0) return {};
  std::vector<float> vector(bytes.size() / sizeof(float));
  if (!vector.empty()) std::memcpy(vector.data(), bytes.data(), bytes.size());
  return vector;
}

}  // namespace deskpipe::store_common
