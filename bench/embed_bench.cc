// Embedding throughput of the USE-lite embedder, side by side with the JavaScript reference in the same run.
//
//   bench_embed [--rounds N] [--model-dir DIR] [--blas all|openblas,blis,eigen] [--no-js] [--no-reexec]
//
// Prints, for every BLAS backend that can run here (gemm.h) and batch sizes 32 and 256: sentences/s on 256
// support-style sentences (≈ 25 tokens) and on 128-token chunks (what `deskpipe sync` embeds), with the
// model's own threading (one shard per core). Then the JS reference (tools/use-lite-reference/embed.js, the
// npm package's own implementation on TF.js) on the same sentences at the same batch sizes, its time taken
// inside model.embed() only, and the vectors of both compared by cosine. Finally OpenBLAS without the
// OPENBLAS_CORETYPE fix, measured in a child process (OpenBLAS picks its kernels when it loads).
// Like deskpipe, the bench re-executes itself with OPENBLAS_CORETYPE set when OpenBLAS would pick a pre-AVX2
// kernel set (--no-reexec skips that). Figures vary with load on the machine: compare rows of one run.
#include <cblas.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "embed/use_lite/blas_runtime.h"
#include "embed/use_lite/gemm.h"
#include "embed/use_lite/use_lite_embedder.h"

namespace {

using deskpipe::embed::UseLiteEmbedder;
using Clock = std::chrono::steady_clock;

// Deterministic support-ticket sentences of varied length (about 10 to 45 tokens), some non-ASCII.
std::vector<std::string> MakeSentences(int count) {
  const char* subjects[] = {"My order",        "The invoice for March", "Our team account", "The mobile app",
                            "The password",    "This subscription",     "The refund",       "My delivery",
                            "La facture",      "Die Bestellung",        "The CSV export",   "Two-factor login"};
  const char* problems[] = {"has not arrived even though the tracking page says it was delivered yesterday",
                            "shows a charge twice and I would like the duplicate payment reversed please",
                            "keeps logging me out every few minutes since the latest update on Android",
                            "cannot be changed because the reset email never reaches my inbox or spam folder",
                            "was cancelled without notice",
                            "is missing two items from the package, the box looked damaged when it came",
                            "n'est pas arrivée", "ist noch nicht angekommen — bitte prüfen Sie das",
                            "fails with error 500", "is slow"};
  const char* asks[] = {"Could you check what happened and tell me when it will be fixed?",
                        "What information do you need from me to sort this out today?",
                        "Please escalate this to a supervisor, it is the third time I write.", "Thanks!", ""};
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    std::string s = std::string(subjects[i % 12]) + " " + problems[(i / 12 + i) % 10] + ". " + asks[(i / 3) % 5];
    if (i % 4 == 0) s += " Ticket #" + std::to_string(10000 + i * 37) + ".";
    out.push_back(s);
  }
  return out;
}

// Chunks of about 128 tokens: several sentences joined, cut to the model's limit by the tokenizer's count.
std::vector<std::string> MakeChunks(const UseLiteEmbedder& embedder, int count) {
  const std::vector<std::string> sentences = MakeSentences(count * 8 + 8);
  std::vector<std::string> chunks;
  size_t next = 0;
  for (int c = 0; c < count; ++c) {
    std::string chunk;
    while (true) {
      std::string longer = chunk.empty() ? sentences[next] : chunk + " " + sentences[next];
      if (embedder.CountTokens(longer) > embedder.max_tokens() && !chunk.empty()) break;
      chunk = std::move(longer);
      next = (next + 1) % sentences.size();
    }
    chunks.push_back(chunk);
  }
  return chunks;
}

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

struct Rate {
  double per_second = 0;      // texts per wall-clock second (best round)
  double cpu_ms_per_text = 0; // process CPU time (user + sys, all threads) per text, same round
};

// Embeds `texts` in batches of `batch`, best of `rounds` passes over all of them. On a busy machine the wall
// rate drops while CPU time per text stays a fair measure of the work done.
Rate Throughput(UseLiteEmbedder& embedder, const std::vector<std::string>& texts, size_t batch, int rounds) {
  Rate best;
  for (int r = 0; r < rounds; ++r) {
    const auto start = Clock::now();
    const double cpu_start = CpuSeconds();
    for (size_t i = 0; i < texts.size(); i += batch) {
      std::vector<std::string> slice(texts.begin() + i, texts.begin() + std::min(texts.size(), i + batch));
      if (!embedder.Embed(slice)) {
        std::fprintf(stderr, "bench_embed: embedding failed\n");
        std::exit(1);
      }
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const double rate = static_cast<double>(texts.size()) / seconds;
    if (rate > best.per_second) {
      best.per_second = rate;
      best.cpu_ms_per_text = (CpuSeconds() - cpu_start) * 1000 / static_cast<double>(texts.size());
    }
  }
  return best;
}

double Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  return na > 0 && nb > 0 ? dot / std::sqrt(na * nb) : (na == nb ? 1.0 : 0.0);
}

struct JsRun {
  bool ok = false;
  double sentences_per_second = 0;
  double cpu_ms_per_text = 0;
  std::vector<std::vector<float>> vectors;
  std::string error;
};

// Runs the JS reference on `texts` (JSON lines) at `batch`, timing model.embed() only.
JsRun RunJs(const std::vector<std::string>& texts, int batch) {
  JsRun run;
  char dir_template[] = "/tmp/bench-embed-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) {
    run.error = "mkdtemp failed";
    return run;
  }
  const std::string dir = dir_template;
  {
    std::ofstream in(dir + "/in.jsonl");
    for (const auto& t : texts) in << nlohmann::json(t).dump() << "\n";
  }
  const std::string command = "node " USE_LITE_REFERENCE_DIR "/embed.js --json --time --batch-size " +
                              std::to_string(batch) + " < " + dir + "/in.jsonl > " + dir + "/out.jsonl 2> " + dir +
                              "/err.txt";
  const int status = std::system(command.c_str());
  std::ifstream err(dir + "/err.txt");
  std::string line, last;
  while (std::getline(err, line)) last = line;
  if (status != 0) {
    run.error = "node exited with " + std::to_string(status) + ": " + last;
  } else {
    auto timing = nlohmann::json::parse(last, nullptr, false);
    std::ifstream out(dir + "/out.jsonl");
    while (std::getline(out, line)) run.vectors.push_back(nlohmann::json::parse(line).get<std::vector<float>>());
    if (timing.is_object() && timing.contains("seconds") && run.vectors.size() == texts.size()) {
      run.sentences_per_second = static_cast<double>(texts.size()) / timing["seconds"].get<double>();
      run.cpu_ms_per_text = timing.value("cpu_seconds", 0.0) * 1000 / static_cast<double>(texts.size());
      run.ok = true;
    } else {
      run.error = "unexpected output from embed.js: " + last;
    }
  }
  std::system(("rm -rf " + dir).c_str());
  return run;
}

std::vector<std::string> Split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(item);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 3;
  std::string dir = UseLiteEmbedder::DefaultModelDir();
  std::string blas = "all";
  bool js = true, reexec = true, child = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--rounds" && i + 1 < argc) {
      rounds = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--model-dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (a == "--blas" && i + 1 < argc) {
      blas = argv[++i];
    } else if (a == "--no-js") {
      js = false;
    } else if (a == "--no-reexec") {
      reexec = false;
    } else if (a == "--child") {  // one row for the parent: no JS, no further children
      child = true;
      js = false;
    } else {
      std::fprintf(stderr, "usage: bench_embed [--rounds N] [--model-dir DIR] [--blas all|a,b] [--no-js] [--no-reexec]\n");
      return 2;
    }
  }
  if (reexec) deskpipe::embed::ReexecWithBetterBlasCoreIfNeeded(argv);

  auto loaded = UseLiteEmbedder::Load(dir);
  if (!loaded) {
    std::fprintf(stderr, "bench_embed: %s\n", loaded.error().ToString().c_str());
    return 1;
  }
  UseLiteEmbedder& embedder = **loaded;
  const std::string default_backend = deskpipe::embed::GemmBackendName();
  const std::vector<std::string> sentences = MakeSentences(256);
  const std::vector<std::string> chunks = MakeChunks(embedder, 256);
  long sentence_tokens = 0, chunk_tokens = 0;
  for (const auto& s : sentences) sentence_tokens += embedder.CountTokens(s);
  for (const auto& c : chunks) chunk_tokens += std::min(embedder.CountTokens(c), embedder.max_tokens());

  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  if (!child) {
    std::printf("cores %u, model threads %d, default BLAS %s, OpenBLAS core %s (OPENBLAS_CORETYPE=%s)\n",
                std::thread::hardware_concurrency(), std::getenv("DESKPIPE_EMBED_THREADS") ? std::atoi(std::getenv("DESKPIPE_EMBED_THREADS")) : static_cast<int>(std::thread::hardware_concurrency()),
                default_backend.c_str(), openblas_get_corename(), coretype ? coretype : "unset");
    std::printf("256 sentences, %.1f tokens each on average; 256 chunks, %.1f tokens each; best of %d rounds\n\n",
                static_cast<double>(sentence_tokens) / 256, static_cast<double>(chunk_tokens) / 256, rounds);
    std::printf("texts/s = wall-clock rate; (x ms) = CPU time per text, all threads\n");
    std::printf("%-28s %20s %20s %20s %20s\n", "C++ USE-lite, BLAS", "sentences/s b=32", "sentences/s b=256",
                "chunks/s b=32", "chunks/s b=256");
  }

  std::vector<std::string> backends = blas == "all" ? deskpipe::embed::AvailableGemmBackends() : Split(blas);
  std::map<std::string, std::vector<std::vector<float>>> reference_vectors;
  Rate default_32, default_256;
  for (const std::string& backend : backends) {
    if (auto set = deskpipe::embed::SetGemmBackend(backend); !set) {
      std::printf("%-28s %s\n", backend.c_str(), set.error().ToString().c_str());
      continue;
    }
    auto vectors = embedder.Embed(sentences);
    if (!vectors) return 1;
    reference_vectors[backend] = *vectors;
    const Rate s32 = Throughput(embedder, sentences, 32, rounds);
    const Rate s256 = Throughput(embedder, sentences, 256, rounds);
    const Rate c32 = Throughput(embedder, chunks, 32, rounds);
    const Rate c256 = Throughput(embedder, chunks, 256, rounds);
    std::string label = backend;
    if (backend == "openblas") label += std::string(" (") + openblas_get_corename() + ")";
    if (backend == default_backend && !child) label += " *default";
    auto cell = [](const Rate& r) {
      char text[64];
      std::snprintf(text, sizeof text, "%7.1f (%6.2f ms)", r.per_second, r.cpu_ms_per_text);
      return std::string(text);
    };
    std::printf("%-28s %20s %20s %20s %20s\n", label.c_str(), cell(s32).c_str(), cell(s256).c_str(),
                cell(c32).c_str(), cell(c256).c_str());
    std::fflush(stdout);
    if (backend == default_backend) {
      default_32 = s32;
      default_256 = s256;
    }
  }
  if (child) return 0;
  if (reference_vectors.count("openblas")) {
    for (const auto& [backend, vectors] : reference_vectors) {
      double worst = 1;
      for (size_t i = 0; i < vectors.size(); ++i) worst = std::min(worst, Cosine(vectors[i], reference_vectors["openblas"][i]));
      std::printf("  %s vs openblas: min cosine %.6f\n", backend.c_str(), worst);
    }
  }

  // OpenBLAS as Debian's library picks it on its own (no OPENBLAS_CORETYPE), in a child process.
  if (reexec && std::find(backends.begin(), backends.end(), "openblas") != backends.end()) {
    const std::string command = "env -u OPENBLAS_CORETYPE /proc/" + std::to_string(getpid()) +
                                "/exe --child --no-reexec --blas openblas --rounds " + std::to_string(rounds);
    std::fflush(stdout);
    if (std::system(command.c_str()) != 0) std::printf("openblas without OPENBLAS_CORETYPE: child failed\n");
  }

  // Tokenizer alone, for scale.
  const auto t0 = Clock::now();
  long tokens = 0;
  for (int r = 0; r < 20; ++r) {
    for (const auto& c : chunks) tokens += embedder.CountTokens(c);
  }
  std::printf("\ntokenizer alone: %.0f chunks/s (%ld tokens)\n",
              20 * 256 / std::chrono::duration<double>(Clock::now() - t0).count(), tokens);

  if (js) {
    std::printf("\nJS reference (tools/use-lite-reference/embed.js, TF.js), same 256 sentences:\n");
    const auto& ours = reference_vectors.count(default_backend) ? reference_vectors[default_backend]
                                                                : reference_vectors.begin()->second;
    for (int batch : {32, 256}) {
      JsRun run = RunJs(sentences, batch);
      if (!run.ok) {
        std::printf("  batch %d: %s\n", batch, run.error.c_str());
        continue;
      }
      double worst = 1;
      for (size_t i = 0; i < run.vectors.size(); ++i) worst = std::min(worst, Cosine(run.vectors[i], ours[i]));
      const Rate cpp = batch == 32 ? default_32 : default_256;
      std::printf("  batch %3d: JS %6.1f sentences/s (%6.2f ms CPU each); C++ (%s) %6.1f sentences/s (%5.2f ms) = "
                  "%.1fx by wall clock, %.1fx by CPU time; min cosine %.6f\n",
                  batch, run.sentences_per_second, run.cpu_ms_per_text, default_backend.c_str(), cpp.per_second,
                  cpp.cpu_ms_per_text, cpp.per_second / run.sentences_per_second,
                  cpp.cpu_ms_per_text > 0 ? run.cpu_ms_per_text / cpp.cpu_ms_per_text : 0.0, worst);
      std::fflush(stdout);
    }
  }
  return 0;
}
