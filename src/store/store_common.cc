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

std::string MetadataString(const nlohmann::json& metadata, const char* key) {
  if (!metadata.is_object()) return {};
  auto it = metadata.find(key);
  return it != metadata.end() && it->is_string() ? it->get<std::string>() : std::string();
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
  return fields;
}

nlohmann::json VectorPayload(const nlohmann::json& metadata, bool include_all) {
  if (!metadata.is_object()) return nlohmann::json::object();
  if (include_all) return metadata;
  static const char* const kKept[] = {"status",     "priority",   "created_at",        "updated_at",
                                      "original_id", "has_private", "private",          "visibility",
                                      "folder_visibility", "state", "url"};
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
  SearchQuery normalized = query;
  for (auto [name, value] : {std::pair<const char*, std::string*>{"updated_from", &normalized.updated_from},
                             {"updated_to", &normalized.updated_to}}) {
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
         !query.updated_to.empty() || query.exclude_private;
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
  return true;
}

std::vector<Fused> FuseRanks(const std::vector<int64_t>& keyword, const std::vector<int64_t>& vector) {
  std::unordered_map<int64_t, Fused> by_key;
  for (size_t i = 0; i < keyword.size(); ++i) {
    Fused& f = by_key.try_emplace(keyword[i], Fused{keyword[i], 0, 0, 0}).first->second;
    if (f.keyword_rank == 0) f.keyword_rank = static_cast<int>(i + 1);
  }
  for (size_t i = 0; i < vector.size(); ++i) {
    Fused& f = by_key.try_emplace(vector[i], Fused{vector[i], 0, 0, 0}).first->second;
    if (f.vector_rank == 0) f.vector_rank = static_cast<int>(i + 1);
  }
  std::vector<Fused> out;
  out.reserve(by_key.size());
  for (auto& [key, f] : by_key) {
    if (f.keyword_rank) f.score += 1.0 / (kRrfK + f.keyword_rank);
    if (f.vector_rank) f.score += 1.0 / (kRrfK + f.vector_rank);
    out.push_back(f);
  }
  std::sort(out.begin(), out.end(), [](const Fused& a, const Fused& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.key < b.key;
  });
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
