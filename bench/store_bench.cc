// bench_store: the store's write and search figures per backend (issue 7 point 8), printed side by side.
//   chunk upserts/s  — documents of 4 chunks (512-d vectors + their full text), committed 100 documents per
//                      batch with their cursor, as the runner does, then Flush(); wall clock, and for SQLite also
//                      per CPU-second of this process (the steadier figure on a shared machine);
//   filtered search  — vector search (top 10) unfiltered, under a broad filter (one status + no private
//                      notes, ~19 % of the chunks pass) and a very selective one (articles, one status, one
//                      month: ~0.3 %): p50 / p99 latency and recall@10 against an exact scan (cosine) of the
//                      chunks that pass the filter.
// Vectors (--vectors, one or both):
//   text      — real support text from ../shared/data: windows of 1–4 consecutive sentences of the Bitext
//               customer-support responses (deduplicated), embedded with the hashing embedder; queries are
//               Bitext customer instructions, embedded the same way;
//   clustered — synthetic: 200 random unit centres, each chunk its document's centre plus heavy Gaussian noise
//               (noise norm ≈ 2.8 × the centre), queries a chunk plus noise: close to random 512-d vectors,
//               a worst case for HNSW.
// Backends: sqlite (SQLite + usearch in a temp dir), postgres (a PostgreSQL 15 server started here; without
// pgvector on this machine the store answers vector search by an exact scan of the filtered rows), pglite
// (PGlite with the real pgvector, started here; one connection at a time).
//
// Usage: bench_store [--chunks 100000] [--dim 512] [--queries 200] [--backends sqlite,postgres,pglite]
//                    [--vectors text,clustered] [--segment-size N] [--pg-chunks N] [--pglite-chunks N]
//                    [--pg-queries N] [--data-dir ../shared/data]
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/hash.h"
#include "embed/hashing_embedder.h"
#include "store/store.h"
#include "store/store_common.h"
#include "store/testing/pg_test_servers.h"
#include "store/vector_index.h"

#include "csv.h"

#ifndef DESKPIPE_SHARED_DATA_DIR
#define DESKPIPE_SHARED_DATA_DIR "../shared/data"
#endif

namespace {

using namespace deskpipe;
using Clock = std::chrono::steady_clock;

struct Options {
  int chunks = 100000;
  int pg_chunks = -1;      // default: --chunks
  int pglite_chunks = -1;  // default: --chunks
  int dim = 512;
  int queries = 200;
  int pg_queries = -1;  // default: --queries
  std::vector<std::string> backends = {"sqlite", "postgres", "pglite"};
  std::vector<std::string> vectors = {"text"};
  std::string data_dir = DESKPIPE_SHARED_DATA_DIR;
  size_t segment_size = StoreOptions().vector_segment_size;  // embedded store: vectors per index segment
};

struct ChunkInfo {
  std::string id;
  std::string type;
  store_common::FilterFields fields;
  std::string text;
  std::vector<float> vector;
};

struct Dataset {
  std::string name;
  std::vector<ChunkInfo> chunks;
  std::vector<std::vector<float>> queries;
};

std::vector<float> Normalize(std::vector<float> v) {
  double norm = 0;
  for (float x : v) norm += static_cast<double>(x) * x;
  if (norm == 0) return v;
  const float inv = static_cast<float>(1.0 / std::sqrt(norm));
  for (float& x : v) x *= inv;
  return v;
}

std::string FormatDay(int day) {
  const int64_t base = 1735689600;  // 2025-01-01T00:00:00Z
  const std::time_t t = static_cast<std::time_t>(base + int64_t{day} * 86400 + 12 * 3600);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buffer;
}

// Document-level filter fields: chunk i belongs to document i / 4; 15 % articles, four statuses, a day of 2025,
// 20 % private.
void AssignDocuments(std::vector<ChunkInfo>& chunks, std::mt19937& rng) {
  const std::string statuses[] = {"open", "pending", "resolved", "closed"};
  std::uniform_int_distribution<int> day(0, 364);
  std::uniform_int_distribution<int> percent(0, 99);
  std::string type;
  store_common::FilterFields fields;
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (i % 4 == 0) {
      type = percent(rng) < 15 ? "article" : "ticket";
      fields.status = statuses[static_cast<size_t>(percent(rng)) % 4];
      fields.updated_at = FormatDay(day(rng));
      fields.is_private = percent(rng) < 20;
    }
    chunks[i].id = "bench_freshdesk_" + std::to_string(i / 4) + "#" + std::to_string(i % 4);
    chunks[i].type = type;
    chunks[i].fields = fields;
  }
}

Dataset ClusteredDataset(int count, int dim, int queries) {
  Dataset data;
  data.name = "clustered";
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0, 1);
  std::vector<std::vector<float>> centres;
  for (int c = 0; c < 200; ++c) {
    std::vector<float> centre(static_cast<size_t>(dim));
    for (float& x : centre) x = normal(rng);
    centres.push_back(Normalize(centre));
  }
  const char* words[] = {"printer", "invoice", "refund", "password", "login", "export", "report", "vpn",
                         "laptop", "battery", "email", "billing", "account", "upgrade", "error", "sync",
                         "calendar", "mobile", "android", "iphone", "crash", "slow", "timeout", "customer"};
  std::uniform_int_distribution<size_t> centre_pick(0, centres.size() - 1), word_pick(0, std::size(words) - 1);
  const float spread = 1.0f / std::sqrt(static_cast<float>(dim) / 64.0f);
  data.chunks.resize(static_cast<size_t>(count));
  size_t centre = 0;
  for (int i = 0; i < count; ++i) {
    if (i % 4 == 0) centre = centre_pick(rng);
    std::vector<float> v = centres[centre];
    for (float& x : v) x += 0.35f * spread * normal(rng);
    ChunkInfo& chunk = data.chunks[static_cast<size_t>(i)];
    chunk.vector = Normalize(std::move(v));
    chunk.text = "chunk " + std::to_string(i);
    for (int w = 0; w < 60; ++w) chunk.text += std::string(" ") + words[word_pick(rng)];
  }
  AssignDocuments(data.chunks, rng);
  std::uniform_int_distribution<size_t> chunk_pick(0, data.chunks.size() - 1);
  for (int q = 0; q < queries; ++q) {
    std::vector<float> v = data.chunks[chunk_pick(rng)].vector;
    for (float& x : v) x += 0.2f * spread * normal(rng);
    data.queries.push_back(Normalize(std::move(v)));
  }
  return data;
}

// ---- the real-text data set ----

// Sentences split at line breaks and at ". ", "! ", "? ".
std::vector<std::string> Sentences(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  auto flush = [&] {
    const size_t begin = current.find_first_not_of(" \t");
    if (begin != std::string::npos) out.push_back(current.substr(begin));
    current.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n' || c == '\r') {
      flush();
      continue;
    }
    current.push_back(c);
    if ((c == '.' || c == '!' || c == '?') && (i + 1 == text.size() || text[i + 1] == ' ')) flush();
  }
  flush();
  return out;
}

Result<Dataset> TextDataset(const std::string& data_dir, int count, int dim, int queries) {
  Dataset data;
  data.name = "text";
  std::vector<std::string> instructions;
  std::vector<std::vector<std::string>> responses;
  for (const char* file : {"Bitext_Sample_Customer_Support_Training_Dataset_4514rows.csv",
                           "Bitext_Sample_Customer_Support_Training_Dataset_6480rows.csv"}) {
    const std::string path = data_dir + "/bitext/" + file;
    auto rows = deskpipe::bench::ReadCsv(path);
    if (rows.empty()) return Error(NotFound("cannot read " + path + " (set --data-dir)"));
    size_t question = rows[0].size(), answer = rows[0].size();
    for (size_t i = 0; i < rows[0].size(); ++i) {
      if (rows[0][i] == "instruction") question = i;
      if (rows[0][i] == "response") answer = i;
    }
    if (question == rows[0].size() || answer == rows[0].size()) {
      return Error(InvalidArgument(path + " has no instruction/response columns"));
    }
    for (size_t r = 1; r < rows.size(); ++r) {
      if (question >= rows[r].size() || answer >= rows[r].size()) continue;
      instructions.push_back(rows[r][question]);
      responses.push_back(Sentences(rows[r][answer]));
    }
  }
  std::unordered_set<std::string> seen;
  for (size_t width : {size_t{2}, size_t{3}, size_t{1}, size_t{4}}) {
    for (const auto& sentences : responses) {
      for (size_t i = 0; i + width <= sentences.size() && data.chunks.size() < static_cast<size_t>(count); ++i) {
        std::string text = sentences[i];
        for (size_t j = 1; j < width; ++j) text += " " + sentences[i + j];
        if (text.size() < 20 || !seen.insert(text).second) continue;
        ChunkInfo chunk;
        chunk.text = std::move(text);
        data.chunks.push_back(std::move(chunk));
      }
    }
  }
  HashingEmbedder embedder(dim);
  for (ChunkInfo& chunk : data.chunks) chunk.vector = embedder.EmbedOne(chunk.text);
  std::mt19937 rng(11);
  AssignDocuments(data.chunks, rng);
  std::uniform_int_distribution<size_t> pick(0, instructions.size() - 1);
  for (int q = 0; q < queries; ++q) data.queries.push_back(embedder.EmbedOne(instructions[pick(rng)]));
  return data;
}

// ---- measuring ----

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t index = std::min(values.size() - 1, static_cast<size_t>(p * static_cast<double>(values.size())));
  return values[index];
}

double ThreadCpuMilliseconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) * 1e-6;
}

double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

struct ScenarioResult {
  std::string name;
  double pass_percent = 0;
  double p50 = 0, p99 = 0, recall = 0;
  double cpu_p50 = 0;  // CPU time of this thread per search (SQLite: all of it; PostgreSQL: the client's share)
  int queries = 0;
};

struct RunResult {
  std::string backend;
  std::string vectors;
  size_t chunks = 0;
  double write_seconds = 0;
  double write_cpu_seconds = 0;  // this process only (the PostgreSQL servers run elsewhere)
  std::vector<ScenarioResult> scenarios;
};

// Exact top 10 of each query among the chunks that pass `filter`, by cosine (the vectors are unit length).
std::vector<std::vector<size_t>> ExactTopTen(const Dataset& data, const std::vector<std::vector<float>>& scores,
                                             const SearchQuery& filter) {
  std::vector<char> passes(data.chunks.size());
  for (size_t i = 0; i < data.chunks.size(); ++i) {
    passes[i] = store_common::PassesFilters(filter, data.chunks[i].type, data.chunks[i].fields);
  }
  std::vector<std::vector<size_t>> truth;
  for (const std::vector<float>& score : scores) {
    std::vector<std::pair<float, size_t>> ranked;
    for (size_t i = 0; i < score.size(); ++i) {
      if (passes[i]) ranked.emplace_back(-score[i], i);
    }
    const size_t k = std::min<size_t>(10, ranked.size());
    std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(k), ranked.end());
    std::vector<size_t> top;
    for (size_t j = 0; j < k; ++j) top.push_back(ranked[j].second);
    truth.push_back(std::move(top));
  }
  return truth;
}

Result<RunResult> RunBackend(const std::string& backend, const Dataset& data, const Options& options) {
  RunResult run;
  run.backend = backend;
  run.vectors = data.name;
  run.chunks = data.chunks.size();
  const std::string model_id = "bench-" + std::to_string(options.dim);

  StoreOptions store_options;
  store_options.dimension = options.dim;
  store_options.vector_segment_size = options.segment_size;
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("deskpipe_store_bench_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  if (backend == "sqlite") {
    store_options.url = "sqlite://" + (dir / "deskpipe.db").string();
    store_options.data_dir = dir.string();
  } else {
    ASSIGN_OR_RETURN(std::string url,
                     backend == "postgres" ? testing::PostgresServerUrl() : testing::PgliteServerUrl());
    RETURN_IF_ERROR(testing::ResetSchema(url));
    store_options.url = url;
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(store_options));

  // ---- writes ----
  const auto& chunks = data.chunks;
  std::vector<BatchWrite> batches;
  {
    BatchWrite batch;
    for (size_t i = 0; i < chunks.size(); ++i) {
      if (i % 4 == 0) {
        if (batch.documents.size() == 100) {
          batches.push_back(std::move(batch));
          batch = BatchWrite();
        }
        Document doc;
        doc.id = "bench_freshdesk_" + std::to_string(i / 4);
        doc.tenant_id = "bench";
        doc.platform = "freshdesk";
        doc.type = chunks[i].type;
        doc.title = "Document " + std::to_string(i / 4);
        doc.updated_at = chunks[i].fields.updated_at;
        doc.metadata = {{"status", chunks[i].fields.status}, {"has_private", chunks[i].fields.is_private}};
        doc.content_hash = HashHex(doc.id);
        batch.documents.push_back(std::move(doc));
      }
      Chunk chunk;
      chunk.id = chunks[i].id;
      chunk.index = static_cast<int>(i % 4);
      chunk.text = chunks[i].text;
      chunk.content_hash = HashHex(chunk.text);
      chunk.vector = chunks[i].vector;
      batch.documents.back().chunks.push_back(std::move(chunk));
    }
    if (!batch.documents.empty()) batches.push_back(std::move(batch));
  }
  const double cpu_start = ProcessCpuSeconds();
  const auto write_start = Clock::now();
  for (size_t b = 0; b < batches.size(); ++b) {
    BatchWrite& batch = batches[b];
    batch.tenant_id = "bench";
    batch.stream = "tickets";
    batch.cursor = {{"batch", b}};
    auto committed = store->Commit(batch, model_id);
    if (!committed) return Error(committed.error().WithContext("commit of batch " + std::to_string(b)));
  }
  RETURN_IF_ERROR(store->Flush());
  run.write_seconds = std::chrono::duration<double>(Clock::now() - write_start).count();
  run.write_cpu_seconds = ProcessCpuSeconds() - cpu_start;
  batches.clear();
  std::printf("%s/%s: %zu chunks written in %.1f s (%.0f chunks/s)\n", backend.c_str(), data.name.c_str(),
              chunks.size(), run.write_seconds, static_cast<double>(chunks.size()) / run.write_seconds);
  std::fflush(stdout);

  // ---- searches ----
  const int queries = backend == "sqlite" || options.pg_queries < 0
                          ? std::min<int>(options.queries, static_cast<int>(data.queries.size()))
                          : std::min<int>(options.pg_queries, static_cast<int>(data.queries.size()));
  // Every query's cosine to every chunk, once; each scenario then ranks the chunks that pass its filter.
  std::vector<std::vector<float>> scores(static_cast<size_t>(queries));
  for (int q = 0; q < queries; ++q) {
    const std::vector<float>& query = data.queries[static_cast<size_t>(q)];
    auto& score = scores[static_cast<size_t>(q)];
    score.resize(chunks.size());
    for (size_t i = 0; i < chunks.size(); ++i) {
      score[i] = store_common::Cosine(chunks[i].vector.data(), query.data(), query.size());
    }
  }
  std::unordered_map<std::string, size_t> index_of;
  for (size_t i = 0; i < chunks.size(); ++i) index_of[chunks[i].id] = i;

  SearchQuery none;
  SearchQuery broad;
  broad.statuses = {"resolved"};
  broad.exclude_private = true;
  SearchQuery selective;
  selective.types = {"article"};
  selective.statuses = {"open"};
  selective.updated_from = "2025-03-01T00:00:00Z";
  selective.updated_to = "2025-03-31T23:59:59Z";
  const std::pair<const char*, const SearchQuery*> scenarios[] = {
      {"unfiltered", &none}, {"broad filter", &broad}, {"selective filter", &selective}};
  for (const auto& [name, filter] : scenarios) {
    ScenarioResult result;
    result.name = name;
    result.queries = queries;
    size_t passing = 0;
    for (const ChunkInfo& c : chunks) passing += store_common::PassesFilters(*filter, c.type, c.fields);
    result.pass_percent = 100.0 * static_cast<double>(passing) / static_cast<double>(chunks.size());
    const auto truth = ExactTopTen(data, scores, *filter);
    std::vector<double> latencies, cpu_times;
    double recall_sum = 0;
    int recall_queries = 0;
    for (int q = 0; q < queries; ++q) {
      SearchQuery query = *filter;
      query.tenant_id = "bench";
      query.vector = data.queries[static_cast<size_t>(q)];
      query.top_k = 10;
      const double cpu_start_ms = ThreadCpuMilliseconds();
      const auto start = Clock::now();
      auto hits = store->Search(query);
      latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      cpu_times.push_back(ThreadCpuMilliseconds() - cpu_start_ms);
      if (!hits) return Error(hits.error().WithContext(std::string("search (") + name + ")"));
      const std::vector<size_t>& exact = truth[static_cast<size_t>(q)];
      if (exact.empty()) continue;
      size_t found = 0;
      for (const SearchHit& hit : *hits) {
        auto it = index_of.find(hit.chunk_id);
        if (it != index_of.end() && std::find(exact.begin(), exact.end(), it->second) != exact.end()) ++found;
      }
      recall_sum += static_cast<double>(found) / static_cast<double>(exact.size());
      ++recall_queries;
    }
    result.p50 = Percentile(latencies, 0.5);
    result.p99 = Percentile(latencies, 0.99);
    result.recall = recall_queries ? recall_sum / recall_queries : 0.0;
    result.cpu_p50 = Percentile(cpu_times, 0.5);
    std::printf("  %-16s (%5.2f %% pass, %d queries): p50 %8.2f ms  p99 %8.2f ms  (CPU p50 %.2f ms)  recall@10 %.3f\n",
                name, result.pass_percent, queries, result.p50, result.p99, result.cpu_p50, result.recall);
    std::fflush(stdout);
    run.scenarios.push_back(result);
  }
  store.reset();
  std::filesystem::remove_all(dir);
  return run;
}

void PrintTable(const std::vector<RunResult>& runs) {
  std::printf("\n| backend | vectors | chunks | upserts/s (wall) | upserts per CPU-s | unfiltered p50 / p99 ms (CPU p50), "
              "recall@10 | broad filter p50 / p99 ms (CPU p50), recall@10 | selective filter p50 / p99 ms (CPU p50), "
              "recall@10 |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (const RunResult& run : runs) {
    std::printf("| %s | %s | %zu | %.0f | ", run.backend.c_str(), run.vectors.c_str(), run.chunks,
                static_cast<double>(run.chunks) / run.write_seconds);
    if (run.backend == "sqlite") {
      std::printf("%.0f |", static_cast<double>(run.chunks) / run.write_cpu_seconds);
    } else {
      std::printf("(server) |");
    }
    for (const ScenarioResult& s : run.scenarios) {
      std::printf(" %.2f / %.2f (%.2f), %.3f |", s.p50, s.p99, s.cpu_p50, s.recall);
    }
    std::printf("\n");
  }
}

std::vector<std::string> SplitList(const std::string& value) {
  std::vector<std::string> items;
  std::stringstream list(value);
  std::string item;
  while (std::getline(list, item, ',')) {
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; i += 2) {
    const std::string name = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", name.c_str());
      return 2;
    }
    const std::string value = argv[i + 1];
    if (name == "--chunks") {
      options.chunks = std::atoi(value.c_str());
    } else if (name == "--pg-chunks") {
      options.pg_chunks = std::atoi(value.c_str());
    } else if (name == "--pglite-chunks") {
      options.pglite_chunks = std::atoi(value.c_str());
    } else if (name == "--dim") {
      options.dim = std::atoi(value.c_str());
    } else if (name == "--queries") {
      options.queries = std::atoi(value.c_str());
    } else if (name == "--pg-queries") {
      options.pg_queries = std::atoi(value.c_str());
    } else if (name == "--backends") {
      options.backends = SplitList(value);
    } else if (name == "--vectors") {
      options.vectors = SplitList(value);
    } else if (name == "--data-dir") {
      options.data_dir = value;
    } else if (name == "--segment-size") {
      options.segment_size = static_cast<size_t>(std::max(std::atoi(value.c_str()), 1));
    } else {
      std::fprintf(stderr, "unknown option %s\n", name.c_str());
      return 2;
    }
  }
  if (options.chunks <= 0 || options.dim <= 0 || options.queries <= 0) {
    std::fprintf(stderr, "--chunks, --dim and --queries must be positive\n");
    return 2;
  }
  for (const std::string& backend : options.backends) {
    if (backend != "sqlite" && backend != "postgres" && backend != "pglite") {
      std::fprintf(stderr, "unknown backend %s (sqlite, postgres, pglite)\n", backend.c_str());
      return 2;
    }
  }
  for (const std::string& vectors : options.vectors) {
    if (vectors != "text" && vectors != "clustered") {
      std::fprintf(stderr, "unknown --vectors %s (text, clustered)\n", vectors.c_str());
      return 2;
    }
  }
  const VectorIndex::Params params;
  std::printf("usearch HNSW: connectivity %zu, expansion_add %zu, expansion_search %zu, distance kernel %s; "
              "%u hardware threads\n",
              params.connectivity, params.expansion_add, params.expansion_search, VectorIndex::KernelName(),
              std::thread::hardware_concurrency());
  int rc = 0;
  std::vector<RunResult> runs;
  for (const std::string& vectors : options.vectors) {
    for (const std::string& backend : options.backends) {
      int count = options.chunks;
      if (backend == "postgres" && options.pg_chunks > 0) count = options.pg_chunks;
      if (backend == "pglite" && options.pglite_chunks > 0) count = options.pglite_chunks;
      Result<Dataset> data = vectors == "text" ? TextDataset(options.data_dir, count, options.dim, options.queries)
                                               : ClusteredDataset(count, options.dim, options.queries);
      if (!data) {
        std::fprintf(stderr, "%s vectors: %s\n", vectors.c_str(), data.error().ToString().c_str());
        rc = 1;
        continue;
      }
      if (data->chunks.size() < static_cast<size_t>(count)) {
        std::printf("%s vectors: the data set holds %zu distinct chunks (asked %d)\n", vectors.c_str(),
                    data->chunks.size(), count);
      }
      auto run = RunBackend(backend, *data, options);
      if (!run) {
        std::fprintf(stderr, "%s/%s: %s\n", backend.c_str(), vectors.c_str(), run.error().ToString().c_str());
        rc = 1;
        continue;
      }
      runs.push_back(std::move(*run));
    }
  }
  PrintTable(runs);
  testing::StopTestServers();
  return rc;
}
