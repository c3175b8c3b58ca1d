// An Embedder that calls an OpenAI-compatible `POST {base_url}/embeddings` endpoint (OpenAI, Azure OpenAI, TEI,
// Ollama, vLLM, `deskpipe serve-embeddings`).
//
// Embed() splits the texts into requests of at most `max_batch_texts` inputs and `max_batch_tokens` estimated
// tokens, sends up to `concurrency` of them at once (one libcurl client per worker thread) and puts the vectors
// back in input order, L2-normalized. Requests go through a net::AccountRequester (one per embedder) and are
// tried up to `max_attempts` times: 429 waits the server's Retry-After (seconds or HTTP date; else exponential
// backoff with jitter) and pauses every worker of this embedder until then (a longer Retry-After than
// `max_retry_after` fails at once); 408, 5xx and transport failures (timeouts, resets) back off exponentially. Other
// statuses are classified and returned at once: 400/404/422 InvalidArgument, 401 Unauthenticated,
// 403 PermissionDenied; a 429 that outlasts the attempts is RateLimited carrying its retry_after.
// Empty texts are not sent (APIs reject them); they get the all-zero vector, as the Embedder interface allows.
//
// The API key is a secret: it travels only in the Authorization header and never appears in a log line or an
// error message (responses are quoted only after the key is masked). Plain http is refused unless the host is
// loopback, so a key never crosses a network in clear.
//
// Thread-safety: Embed() may be called from several threads (each call runs its own workers); the options
// are immutable after Create(). Lifetime: owns its HTTP clients; nothing outlives an Embed() call.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "embed/embedder.h"
#include "net/http_client.h"

namespace deskpipe {

struct OpenAiEmbedderOptions {
  std::string base_url = "https://api.openai.com/v1";  // the request goes to base_url + "/embeddings"
  std::string api_key;                                 // secret; empty ⇒ no Authorization header
  std::string model = "text-embedding-3-small";
  // Vector width. 0 ⇒ the model's known width (text-embedding-3-small/ada-002 1536, -3-large 3072), else one
  // probe request at Create(). When set explicitly it is also sent as the request's `dimensions`.
  int dimension = 0;
  int max_input_tokens = 8191;   // what max_tokens() reports (OpenAI's per-input limit)
  int max_batch_texts = 128;     // inputs per request
  int max_batch_tokens = 60000;  // estimated tokens per request
  int concurrency = 4;           // requests in flight per Embed() call
  int max_attempts = 6;          // tries per request, the first included
  std::chrono::milliseconds timeout{60000};            // per request, connect included
  std::chrono::milliseconds initial_backoff{500};      // doubled per retry, with full jitter
  std::chrono::milliseconds max_backoff{20000};
  std::chrono::milliseconds max_retry_after{120000};   // a longer Retry-After is returned as RateLimited

  // Seams for tests: how HTTP clients are made (one per worker) and how waiting is done.
  std::function<std::unique_ptr<net::HttpClient>()> make_client;  // default: net::MakeCurlHttpClient
  std::function<void(std::chrono::milliseconds)> sleep;           // default: net::SystemClock()'s
};

class OpenAiEmbedder : public Embedder {
 public:
  // InvalidArgument naming the setting for a bad base URL (not http(s), http to a non-loopback host), an
  // empty model or bad limits; the probe request's error when the dimension has to be learnt and cannot be.
  static Result<std::unique_ptr<OpenAiEmbedder>> Create(OpenAiEmbedderOptions options);
  ~OpenAiEmbedder() override;

  // "openai:<model>-<dimension>": the cache key, so a model change re-embeds.
  std::string model_id() const override;
  EmbedderCapabilities capabilities() const override { return {.network_bound = true}; }
  int dimension() const override { return options_.dimension; }
  int max_tokens() const override { return options_.max_input_tokens; }
  // No tokenizer for remote models: an upper-bound estimate, one token per 3 UTF-8 bytes (English BPE
  // averages ~4), so chunks and batches sized by it stay within the server's limits.
  int CountTokens(const std::string& text) const override;
  Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts) override;

  // Requests sent so far, retries included (for tests and logs).
  int64_t requests_sent() const;

 private:
  struct Shared;
  explicit OpenAiEmbedder(OpenAiEmbedderOptions options);
  // Sends one request through the request layer (retries included); writes vectors for `texts` into `out`.
  Result<void> EmbedBatch(net::HttpClient& client, const std::vector<std::string>& texts,
                          std::vector<std::vector<float>>& out) const;

  OpenAiEmbedderOptions options_;
  std::unique_ptr<Shared> shared_;
};

}  // namespace deskpipe
