// bench_retrieval: retrieval quality of one synced tenant, per query set and search mode.
// Reads the ground truth the emulator wrote (`freshdesk-emulator --dataset DIR --dataset-holdout P
// --dataset-truth FILE`, see tools/freshdesk-emulator/dataset.h): the label of every synced ticket and article,
// and the held-out queries with theirs. Each query is searched as `deskpipe search` would (the tenant's own
// embedder, loaded once, and its keyword weight; the store opened once, read-only) in the keyword, vector and
// hybrid modes, for the top 10 distinct documents of the query's relevant type (tickets for Bitext and IBM,
// articles for ABCD). A document is relevant when it has the query's label in the query's set. Mode "similar"
// is `deskpipe similar` (app::SimilarToTicket): a sample of synced tickets of each set, each the query, the
// other tickets of its label relevant.
//
// Per set × mode × half it prints: queries (with at least one relevant document; the others are counted apart),
// precision@10 of distinct documents, MRR@10, nDCG@10 (binary gains; the ideal ranking puts min(relevant, 10)
// relevant documents first) and the p50 latency of a search (embedding the query + the store's search). Halves:
// a query's half is fixed by a hash of its id, "tune" or "test"; whatever is tuned (the fusion weights, the stop
// words) is chosen on the tuning half only, so the test half stays unseen.
//
// Output: one tab-separated line per row, "row\t<set>\t<embedder>\t<mode>\t<half>\t<queries>\t<skipped>\t<P@10>
// \t<MRR@10>\t<nDCG@10>\t<p50 ms>", for bench/retrieval/run.sh to lay out.
//
// Usage: bench_retrieval --truth FILE --data-dir DIR [--tenant bench] [--embedder use-lite] [--top-k 10]
//                        [--similar-sample 400] [--dump-candidates FILE]
// Single-threaded; the embedder and store live for the run.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/app.h"
#include "app/config_sections.h"
#include "app/tenant_store.h"
#include "core/hash.h"
#include "core/ids.h"
#include "embed/embedder_factory.h"

namespace deskpipe {
namespace {

using nlohmann::json;

struct Query {
  std::string id;
  std::string set;
  std::string label;
  std::string text;
  std::string relevant_type;  // "ticket" or "article"
};

struct Truth {
  std::unordered_map<std::string, std::pair<std::string, std::string>> label_of_document;  // id → (set, label)
  std::map<std::pair<std::string, std::string>, int> relevant_count;                      // (set, label) → n
  std::vector<Query> queries;
};

Result<Truth> ReadTruth(const std::string& path, const std::string& tenant) {
  std::ifstream in(path);
  if (!in) return Error(NotFound("cannot read " + path));
  Truth truth;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json entry = json::parse(line, nullptr, false);
    if (entry.is_discarded()) return Error(InvalidArgument(path + ": not JSON: " + line.substr(0, 80)));
    const std::string set = entry.value("set", ""), label = entry.value("label", "");
    if (entry.contains("query")) {
      truth.queries.push_back({entry["query"].get<std::string>(), set, label, entry.value("text", ""),
                               entry.value("relevant_type", "ticket")});
      continue;
    }
    const bool article = entry.contains("article");
    const std::string original = std::to_string((article ? entry["article"] : entry["ticket"]).get<int64_t>());
    ASSIGN_OR_RETURN(std::string document_id,
                     MakeDocumentId(tenant, "freshdesk", article ? QualifiedOriginalId("article", original) : original));
    truth.label_of_document[document_id] = {set, label};
    ++truth.relevant_count[{set, label}];
  }
  return truth;
}

struct Tally {
  int queries = 0;
  int skipped = 0;  // no relevant document synced
  double precision = 0, reciprocal_rank = 0, ndcg = 0;
  std::vector<double> latency_ms;
};

// The keyword and vector candidate lists of one query, whole (every chunk, no cap per document), each entry
// [relevant 0/1, document id, the list's own score] — for trying fusions offline on the tuning half.
Result<json> CandidateLists(const Truth& truth, const Query& query, Embedder& embedder, Store& store,
                            const std::string& tenant) {
  json lists = {{"query", query.id}, {"set", query.set}};
  ASSIGN_OR_RETURN(auto vectors, embedder.Embed({query.text}));
  for (SearchMode mode : {SearchMode::kKeyword, SearchMode::kVector}) {
    SearchQuery search;
    search.tenant_id = tenant;
    search.text = query.text;
    search.mode = mode;
    search.top_k = 50;
    search.types = {query.relevant_type};
    search.vector = vectors.at(0);
    ASSIGN_OR_RETURN(auto hits, store.Search(search));
    json& list = lists[SearchModeName(mode)] = json::array();
    for (const SearchHit& hit : hits) {
      auto it = truth.label_of_document.find(hit.document_id);
      const bool relevant = it != truth.label_of_document.end() && it->second == std::make_pair(query.set, query.label);
      list.push_back({relevant ? 1 : 0, hit.document_id,
                      mode == SearchMode::kKeyword ? hit.keyword_score : hit.vector_score});
    }
  }
  return lists;
}

// Adds one query's precision@k, reciprocal rank and nDCG@k (binary gains) to `tally`, from whether each hit in
// rank order is relevant and how many relevant documents exist.
void Score(const std::vector<bool>& relevant_hits, int relevant, int top_k, Tally& tally) {
  int found = 0;
  double dcg = 0, first = 0;
  for (size_t rank = 0; rank < relevant_hits.size(); ++rank) {
    if (!relevant_hits[rank]) continue;
    ++found;
    dcg += 1.0 / std::log2(static_cast<double>(rank) + 2);
    if (first == 0) first = 1.0 / static_cast<double>(rank + 1);
  }
  double ideal = 0;
  for (int rank = 0; rank < std::min(relevant, top_k); ++rank) ideal += 1.0 / std::log2(rank + 2.0);
  ++tally.queries;
  tally.precision += static_cast<double>(found) / top_k;
  tally.reciprocal_rank += first;
  tally.ndcg += dcg / ideal;
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

int Run(int argc, char** argv) {
  std::string truth_path, data_dir, tenant = "bench", embedder_name = "use-lite", dump_path;
  int top_k = 10;
  int similar_sample = 400;  // synced tickets per set used as `similar` queries
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--truth") truth_path = value;
    else if (flag == "--data-dir") data_dir = value;
    else if (flag == "--tenant") tenant = value;
    else if (flag == "--embedder") embedder_name = value;
    else if (flag == "--top-k") top_k = std::stoi(value);
    else if (flag == "--dump-candidates") dump_path = value;
    else if (flag == "--similar-sample") similar_sample = std::stoi(value);
    else {
      std::fprintf(stderr, "bench_retrieval: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (truth_path.empty() || data_dir.empty()) {
    std::fprintf(stderr, "usage: bench_retrieval --truth FILE --data-dir DIR [--tenant T] [--embedder E]\n");
    return 2;
  }
  ConfigSources sources;
  sources.env = app::ReadEnvironment();
  sources.flags = {{"tenant_id", tenant}, {"data_dir", data_dir}, {"embedder", embedder_name}};
  Result<Config> config = app::LoadConfig(sources);
  if (!config) return std::fprintf(stderr, "bench_retrieval: %s\n", config.error().ToString().c_str()), 1;
  Result<Truth> truth = ReadTruth(truth_path, config->tenant_id);
  if (!truth) return std::fprintf(stderr, "bench_retrieval: %s\n", truth.error().ToString().c_str()), 1;
  auto embedder = MakeEmbedder(*config);
  if (!embedder) return std::fprintf(stderr, "bench_retrieval: %s\n", embedder.error().ToString().c_str()), 1;
  Result<TenantStore> tenant_store = OpenTenantForReading(*config, embedder->get());
  if (!tenant_store) {
    return std::fprintf(stderr, "bench_retrieval: %s\n", tenant_store.error().ToString().c_str()), 1;
  }

  std::ofstream dump;
  if (!dump_path.empty()) dump.open(dump_path);

  // (set, mode, half) → tally.
  std::map<std::tuple<std::string, std::string, std::string>, Tally> tallies;
  for (const Query& query : truth->queries) {
    const std::string half = Hash64(query.id) % 2 == 0 ? "tune" : "test";
    const auto relevant = truth->relevant_count.find({query.set, query.label});
    if (dump.is_open() && relevant != truth->relevant_count.end()) {
      Result<json> lists = CandidateLists(*truth, query, **embedder, *tenant_store->store, config->tenant_id);
      if (!lists) return std::fprintf(stderr, "bench_retrieval: %s\n", lists.error().ToString().c_str()), 1;
      (*lists)["half"] = half;
      (*lists)["relevant"] = relevant->second;
      dump << lists->dump() << '\n';
    }
    for (SearchMode mode : {SearchMode::kKeyword, SearchMode::kVector, SearchMode::kHybrid}) {
      Tally& tally = tallies[{query.set, SearchModeName(mode), half}];
      if (relevant == truth->relevant_count.end()) {
        ++tally.skipped;
        continue;
      }
      const auto start = std::chrono::steady_clock::now();
      SearchQuery search;
      search.tenant_id = config->tenant_id;
      search.text = query.text;
      search.mode = mode;
      search.top_k = top_k;
      search.types = {query.relevant_type};
      search.max_hits_per_document = 1;  // distinct documents
      search.keyword_weight = (*embedder)->keyword_weight();  // as App::Search sets it
      if (mode != SearchMode::kKeyword) {
        auto vectors = (*embedder)->Embed({query.text});
        if (!vectors) return std::fprintf(stderr, "bench_retrieval: %s\n", vectors.error().ToString().c_str()), 1;
        search.vector = std::move(vectors->at(0));
      }
      auto hits = tenant_store->store->Search(search);
      if (!hits) return std::fprintf(stderr, "bench_retrieval: %s\n", hits.error().ToString().c_str()), 1;
      tally.latency_ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());

      std::vector<bool> relevant_hits;
      for (const SearchHit& hit : *hits) {
        auto it = truth->label_of_document.find(hit.document_id);
        relevant_hits.push_back(it != truth->label_of_document.end() &&
                                it->second == std::make_pair(query.set, query.label));
      }
      Score(relevant_hits, relevant->second, top_k, tally);
    }
  }
  // Similar tickets (`deskpipe similar`): a sample of synced tickets of each set, each the query; relevant:
  // the other synced tickets of its label.
  std::map<std::string, std::vector<std::pair<uint64_t, std::string>>> tickets_of_set;
  for (const auto& [document_id, set_label] : truth->label_of_document) {
    if (document_id.find("_article-") != std::string::npos) continue;
    tickets_of_set[set_label.first].emplace_back(Hash64("similar:" + document_id), document_id);
  }
  for (auto& [set, tickets] : tickets_of_set) {
    std::sort(tickets.begin(), tickets.end());
    if (tickets.size() > static_cast<size_t>(similar_sample)) tickets.resize(static_cast<size_t>(similar_sample));
    for (const auto& [hash, document_id] : tickets) {
      const std::string half = hash % 2 == 0 ? "tune" : "test";
      Tally& tally = tallies[{set, "similar", half}];
      const auto& label = truth->label_of_document.at(document_id);
      const int relevant = truth->relevant_count.at(label) - 1;  // itself excluded
      if (relevant <= 0) {
        ++tally.skipped;
        continue;
      }
      const auto start = std::chrono::steady_clock::now();
      auto similar = app::SimilarToTicket(*tenant_store->store, **embedder, config->tenant_id, document_id, top_k);
      if (!similar) return std::fprintf(stderr, "bench_retrieval: %s\n", similar.error().ToString().c_str()), 1;
      tally.latency_ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
      std::vector<bool> hits;
      for (const SearchHit& hit : similar->tickets) {
        auto it = truth->label_of_document.find(hit.document_id);
        hits.push_back(it != truth->label_of_document.end() && it->second == label);
      }
      Score(hits, relevant, top_k, tally);
    }
  }

  for (const auto& [key, tally] : tallies) {
    const auto& [set, mode, half] = key;
    const double n = std::max(1, tally.queries);
    std::printf("row\t%s\t%s\t%s\t%s\t%d\t%d\t%.3f\t%.3f\t%.3f\t%.1f\n", set.c_str(), embedder_name.c_str(),
                mode.c_str(), half.c_str(), tally.queries, tally.skipped, tally.precision / n,
                tally.reciprocal_rank / n, tally.ndcg / n, Median(tally.latency_ms));
  }
  return 0;
}

}  // namespace
}  // namespace deskpipe

int main(int argc, char** argv) {
  deskpipe::PrepareProcessForEmbedders(argv);
  return deskpipe::Run(argc, argv);
}
