// Embedding throughput of the USE-lite embedder: batches of 64 typical ~40-token chunks, printed as
// sentences/second. Usage: bench_embed [batches=20] [model_dir]
// OpenBLAS reads OPENBLAS_CORETYPE and OPENBLAS_NUM_THREADS when the library loads, so compare runs like
//   OPENBLAS_CORETYPE=Haswell bench_embed      vs      bench_embed
// The program prints the core OpenBLAS picked and its thread count with the figures.
#include <cblas.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "embed/use_lite/use_lite_embedder.h"

namespace {

// Deterministic support-ticket-like chunks of about 40 tokens.
std::vector<std::string> MakeChunks(int count) {
  const char* subjects[] = {"My order",     "The invoice",       "Our account", "The mobile app",
                            "The password", "This subscription", "The refund",  "My delivery"};
  const char* problems[] = {"has not arrived even though the tracking page says it was delivered yesterday",
                            "shows a charge twice and I would like the duplicate payment reversed please",
                            "keeps logging me out every few minutes since the latest update on Android",
                            "cannot be changed because the reset email never reaches my inbox or spam folder",
                            "was cancelled without notice and I still see the renewal on my credit card",
                            "is missing two items from the package, the box looked damaged when it came"};
  const char* asks[] = {"Could you check what happened and tell me when it will be fixed?",
                        "What information do you need from me to sort this out today?",
                        "Please escalate this to a supervisor, it is the third time I write."};
  std::vector<std::string> chunks;
  for (int i = 0; i < count; ++i) {
    chunks.push_back(std::string(subjects[i % 8]) + " " + problems[(i / 8) % 6] + ". " + asks[(i / 48) % 3] +
                     " Ticket #" + std::to_string(10000 + i) + ".");
  }
  return chunks;
}

}  // namespace

int main(int argc, char** argv) {
  const int batches = argc > 1 ? std::atoi(argv[1]) : 20;
  const std::string dir = argc > 2 ? argv[2] : deskpipe::embed::UseLiteEmbedder::DefaultModelDir();
  auto loaded = deskpipe::embed::UseLiteEmbedder::Load(dir);
  if (!loaded) {
    std::fprintf(stderr, "bench_embed: %s\n", loaded.error().ToString().c_str());
    return 1;
  }
  auto& embedder = **loaded;
  const std::vector<std::string> chunks = MakeChunks(64);
  long tokens = 0;
  for (const auto& c : chunks) tokens += embedder.CountTokens(c);

  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  std::printf("openblas core=%s threads=%d OPENBLAS_CORETYPE=%s\n", openblas_get_corename(),
              openblas_get_num_threads(), coretype ? coretype : "(unset)");
  std::printf("batch=64 chunks, %.1f tokens/chunk on average\n", static_cast<double>(tokens) / 64);

  if (!embedder.Embed(chunks)) return 1;  // warm-up
  const auto start = std::chrono::steady_clock::now();
  for (int b = 0; b < batches; ++b) {
    auto vectors = embedder.Embed(chunks);
    if (!vectors) {
      std::fprintf(stderr, "bench_embed: %s\n", vectors.error().ToString().c_str());
      return 1;
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%d batches in %.3f s: %.1f sentences/s\n", batches, seconds, batches * 64 / seconds);

  // Tokenizer alone, for scale.
  const auto t0 = std::chrono::steady_clock::now();
  for (int b = 0; b < batches; ++b) {
    for (const auto& c : chunks) tokens += embedder.CountTokens(c);
  }
  const double tok_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("tokenizer alone: %.1f sentences/s\n", batches * 64 / tok_seconds);
  return 0;
}
