// bench_store: the store's write and search figures per backend (issue 7 point 8).
//   chunk upserts/s  — documents of 4 chunks (512-d vectors + ~60 words of text each), committed 100 documents
//                      per batch with their cursor, as the runner does;
//   filtered search  — vector search (top 10) under a broad filter (status + no private notes, ~19 % pass) and
//                      a very selective one (articles, one status, one month: well under 1 %), p50 / p99 latency
//                      and recall@10 against an exact scan of the chunks that pass the filter.
// Backends: sqlite (SQLite + usearch in a temp dir), postgres (a PostgreSQL 15 server started here, no
// pgvector: exact scans), pglite (PGlite with pgvector, started here). Prints one block per backend.
//
// Usage: bench_store [--chunks 100000] [--dim 512] [--queries 200] [--backends sqlite,postgres,pglite]
//                    [--pg-chunks N] (chunk count for the two PostgreSQL backends; default --chunks)
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/hash.h"
#include "store/store.h"
#include "store/store_common.h"
#include "store/testing/pg_test_servers.h"

namespace {

using namespace deskpipe;
using Clock = std::chrono::steady_clock;

struct Options {
  int chunks = 100000;
  int pg_chunks = -1;
  int dim = 512;
  int queries = 200;
  std::vector<std::string> backends = {"sqlite", "postgres", "pglite"};
};

struct ChunkInfo {
  std::string id;
  std::string type;
  store_common::FilterFields fields;
  std::vector<float> vector;
};

// Clustered unit vectors (like embeddings of related tickets) and filler text.
class Corpus {
 public:
  Corpus(int chunks, int dim) : dim_(dim), rng_(7) {
    std::normal_distribution<float> normal(0, 1);
    for (int c = 0; c < 200; ++c) {
      std::vector<float> center(static_cast<size_t>(dim));
      for (float& x : center) x = normal(rng_);
      centers_.push_back(Normalize(center));
    }
    const char* words[] = {"printer", "invoice", "refund", "password", "login", "export", "report", "vpn",
                           "laptop", "battery", "email", "billing", "account", "upgrade", "error", "sync",
                           "calendar", "mobile", "android", "iphone", "crash", "slow", "timeout", "customer"};
    for (const char* w : words) words_.push_back(w);
    const std::string statuses[] = {"open", "pending", "resolved", "closed"};
    std::uniform_int_distribution<int> center_pick(0, 199);
    std::uniform_int_distribution<int> day(0, 364);
    std::uniform_int_distribution<int> percent(0, 99);
    for (int i = 0; i < chunks; ++i) {
      ChunkInfo info;
      const int doc = i / 4;
      info.id = "bench_freshdesk_" + std::to_string(doc) + "#" + std::to_string(i % 4);
      if (i % 4 == 0) {
        doc_type_ = percent(rng_) < 15 ? "article" : "ticket";
        doc_fields_.status = statuses[static_cast<size_t>(percent(rng_)) % 4];
        doc_fields_.updated_at = FormatDay(day(rng_));
        doc_fields_.is_private = percent(rng_) < 20;
        doc_center_ = center_pick(rng_);
      }
      info.type = doc_type_;
      info.fields = doc_fields_;
      std::vector<float> v = centers_[static_cast<size_t>(doc_center_)];
      for (float& x : v) x += 0.35f * normal(rng_) / std::sqrt(static_cast<float>(dim) / 64.0f);
      info.vector = Normalize(v);
      chunks_.push_back(std::move(info));
    }
  }

  const std::vector<ChunkInfo>& chunks() const { return chunks_; }

  std::string Text(int i) {
    std::uniform_int_distribution<size_t> pick(0, words_.size() - 1);
    std::string text = "chunk " + std::to_string(i);
    for (int w = 0; w < 60; ++w) text += " " + words_[pick(rng_)];
    return text;
  }

  std::vector<float> QueryVector() {
    std::uniform_int_distribution<size_t> pick(0, chunks_.size() - 1);
    std::normal_distribution<float> normal(0, 1);
    std::vector<float> v = chunks_[pick(rng_)].vector;
    for (float& x : v) x += 0.2f * normal(rng_) / std::sqrt(static_cast<float>(dim_) / 64.0f);
    return Normalize(v);
  }

 private:
  static std::vector<float> Normalize(std::vector<float> v) {
    double norm = 0;
    for (float x : v) norm += static_cast<double>(x) * x;
    const float inv = static_cast<float>(1.0 / std::sqrt(norm));
    for (float& x : v) x *= inv;
    return v;
  }
  static std::string FormatDay(int day) {
    const int64_t base = 1735689600;  // 2025-01-01T00:00:00Z
    const int64_t t = base + int64_t{day} * 86400 + 12 * 3600;
    std::time_t tt = static_cast<std::time_t>(t);
    char buffer[32];
    std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&tt));
    return buffer;
  }

  int dim_;
  std::mt19937 rng_;
  std::vector<std::vector<float>> centers_;
  std::vector<std::string> words_;
  std::vector<ChunkInfo> chunks_;
  std::string doc_type_;
  store_common::FilterFields doc_fields_;
  int doc_center_ = 0;
};

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t index = std::min(values.size() - 1, static_cast<size_t>(p * static_cast<double>(values.size())));
  return values[index];
}

int RunBackend(const std::string& backend, const Options& options) {
  const int chunk_count = backend == "sqlite" || options.pg_chunks < 0 ? options.chunks : options.pg_chunks;
  Corpus corpus(chunk_count, options.dim);
  const std::string model_id = "bench-" + std::to_string(options.dim);

  StoreOptions store_options;
  store_options.dimension = options.dim;
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("deskpipe_store_bench_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  if (backend == "sqlite") {
    store_options.url = "sqlite://" + (dir / "deskpipe.db").string();
    store_options.data_dir = dir.string();
  } else {
    auto url = backend == "postgres" ? testing::PostgresServerUrl() : testing::PgliteServerUrl();
    if (!url) {
      std::fprintf(stderr, "%s: %s\n", backend.c_str(), url.error().ToString().c_str());
      return 1;
    }
    if (auto reset = testing::ResetSchema(*url); !reset) {
      std::fprintf(stderr, "%s: %s\n", backend.c_str(), reset.error().ToString().c_str());
      return 1;
    }
    store_options.url = *url;
  }
  auto opened = OpenStore(store_options);
  if (!opened) {
    std::fprintf(stderr, "%s: %s\n", backend.c_str(), opened.error().ToString().c_str());
    return 1;
  }
  Store& store = **opened;

  // ---- writes ----
  const auto& chunks = corpus.chunks();
  std::vector<BatchWrite> batches;
  {
    BatchWrite batch;
    for (int i = 0; i < chunk_count; ++i) {
      if (i % 4 == 0) {
        if (batch.documents.size() == 100) {
          batches.push_back(std::move(batch));
          batch = BatchWrite();
        }
        Document doc;
        doc.id = "bench_freshdesk_" + std::to_string(i / 4);
        doc.tenant_id = "bench";
        doc.platform = "freshdesk";
        doc.type = chunks[static_cast<size_t>(i)].type;
        doc.title = "Document " + std::to_string(i / 4);
        doc.updated_at = chunks[static_cast<size_t>(i)].fields.updated_at;
        doc.metadata = {{"status", chunks[static_cast<size_t>(i)].fields.status},
                        {"has_private", chunks[static_cast<size_t>(i)].fields.is_private}};
        doc.content_hash = HashHex(doc.id);
        batch.documents.push_back(std::move(doc));
      }
      Chunk chunk;
      chunk.id = chunks[static_cast<size_t>(i)].id;
      chunk.index = i % 4;
      chunk.text = corpus.Text(i);
      chunk.content_hash = HashHex(chunk.text);
      chunk.vector = chunks[static_cast<size_t>(i)].vector;
      batch.documents.back().chunks.push_back(std::move(chunk));
    }
    if (!batch.documents.empty()) batches.push_back(std::move(batch));
  }
  const auto write_start = Clock::now();
  for (size_t b = 0; b < batches.size(); ++b) {
    BatchWrite& batch = batches[b];
    batch.tenant_id = "bench";
    batch.stream = "tickets";
    batch.cursor = {{"batch", b}};
    if (auto committed = store.Commit(batch, model_id); !committed) {
      std::fprintf(stderr, "%s: commit: %s\n", backend.c_str(), committed.error().ToString().c_str());
      return 1;
    }
  }
  if (auto flushed = store.Flush(); !flushed) {
    std::fprintf(stderr, "%s: flush: %s\n", backend.c_str(), flushed.error().ToString().c_str());
    return 1;
  }
  const double write_seconds = std::chrono::duration<double>(Clock::now() - write_start).count();
  batches.clear();

  // ---- filtered searches ----
  std::unordered_map<std::string, size_t> index_of;
  for (size_t i = 0; i < chunks.size(); ++i) index_of[chunks[i].id] = i;
  struct Scenario {
    const char* name;
    SearchQuery filter;
  };
  SearchQuery broad;
  broad.statuses = {"resolved"};
  broad.exclude_private = true;
  SearchQuery selective;
  selective.types = {"article"};
  selective.statuses = {"open"};
  selective.updated_from = "2025-03-01T00:00:00Z";
  selective.updated_to = "2025-03-31T23:59:59Z";
  SearchQuery none;
  std::printf("%s: %d chunks x %d-d\n", backend.c_str(), chunk_count, options.dim);
  std::printf("  upserts: %.0f chunks/s (%.1f s, 100 documents x 4 chunks per batch, text + vector + cursor)\n",
              chunk_count / write_seconds, write_seconds);
  for (const Scenario& scenario : {Scenario{"unfiltered", none}, Scenario{"broad filter", broad},
                                   Scenario{"selective filter", selective}}) {
    size_t passing = 0;
    for (const ChunkInfo& c : chunks) passing += store_common::PassesFilters(scenario.filter, c.type, c.fields);
    std::vector<double> latencies;
    double recall_sum = 0;
    int recall_queries = 0;
    for (int q = 0; q < options.queries; ++q) {
      SearchQuery query = scenario.filter;
      query.tenant_id = "bench";
      query.vector = corpus.QueryVector();
      query.top_k = 10;
      const auto start = Clock::now();
      auto hits = store.Search(query);
      latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      if (!hits) {
        std::fprintf(stderr, "%s: search: %s\n", backend.c_str(), hits.error().ToString().c_str());
        return 1;
      }
      // Exact top 10 among the chunks that pass.
      std::vector<std::pair<float, size_t>> exact;
      for (size_t i = 0; i < chunks.size(); ++i) {
        if (!store_common::PassesFilters(scenario.filter, chunks[i].type, chunks[i].fields)) continue;
        exact.emplace_back(-store_common::Cosine(chunks[i].vector.data(), query.vector.data(), chunks[i].vector.size()), i);
      }
      const size_t k = std::min<size_t>(10, exact.size());
      std::partial_sort(exact.begin(), exact.begin() + static_cast<std::ptrdiff_t>(k), exact.end());
      if (k == 0) continue;
      size_t found = 0;
      for (const SearchHit& hit : *hits) {
        auto it = index_of.find(hit.chunk_id);
        if (it == index_of.end()) continue;
        for (size_t j = 0; j < k; ++j) found += exact[j].second == it->second;
      }
      recall_sum += static_cast<double>(found) / static_cast<double>(k);
      ++recall_queries;
    }
    std::printf("  %-16s (%5.2f %% pass): p50 %7.2f ms  p99 %7.2f ms  recall@10 %.3f\n", scenario.name,
                100.0 * static_cast<double>(passing) / static_cast<double>(chunks.size()), Percentile(latencies, 0.5),
                Percentile(latencies, 0.99), recall_queries ? recall_sum / recall_queries : 0.0);
  }
  std::fflush(stdout);
  opened->reset();
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    const std::string value = argv[i + 1];
    if (name == "--chunks") {
      options.chunks = std::atoi(value.c_str());
    } else if (name == "--pg-chunks") {
      options.pg_chunks = std::atoi(value.c_str());
    } else if (name == "--dim") {
      options.dim = std::atoi(value.c_str());
    } else if (name == "--queries") {
      options.queries = std::atoi(value.c_str());
    } else if (name == "--backends") {
      options.backends.clear();
      std::stringstream list(value);
      std::string item;
      while (std::getline(list, item, ',')) options.backends.push_back(item);
    } else {
      std::fprintf(stderr, "unknown option %s\n", name.c_str());
      return 2;
    }
  }
  if (options.chunks <= 0 || options.dim <= 0 || options.queries <= 0) {
    std::fprintf(stderr, "--chunks, --dim and --queries must be positive\n");
    return 2;
  }
  int rc = 0;
  for (const std::string& backend : options.backends) {
    if (backend != "sqlite" && backend != "postgres" && backend != "pglite") {
      std::fprintf(stderr, "unknown backend %s (sqlite, postgres, pglite)\n", backend.c_str());
      return 2;
    }
    rc |= RunBackend(backend, options);
  }
  testing::StopTestServers();
  return rc;
}
