#include "embed/openai_embedder.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/json_text.h"
#include "net/api_error.h"
#include "net/url.h"

namespace deskpipe {
namespace {

using std::chrono::milliseconds;

// Widths of the models whose width is public, so no probe is needed.
int KnownDimension(const std::string& model) {
  if (model == "text-embedding-3-small" || model == "text-embedding-ada-002") return 1536;
  if (model == "text-embedding-3-large") return 3072;
  return 0;
}

bool Retryable(long status) { return status == 408 || status == 429 || status >= 500; }

}  // namespace

// State shared by the workers of every Embed() call: idle HTTP clients (kept for keep-alive) and the time
// before which no request may go out (set by a 429).
struct OpenAiEmbedder::Shared {
  std::mutex mutex;
  std::vector<std::unique_ptr<net::HttpClient>> idle_clients;
  std::chrono::steady_clock::time_point paused_until{};
  std::atomic<int64_t> requests{0};
  bool send_dimensions = false;
};

OpenAiEmbedder::OpenAiEmbedder(OpenAiEmbedderOptions options)
    : options_(std::move(options)), shared_(std::make_unique<Shared>()) {}

OpenAiEmbedder::~OpenAiEmbedder() = default;

Result<std::unique_ptr<OpenAiEmbedder>> OpenAiEmbedder::Create(OpenAiEmbedderOptions options) {
  while (!options.base_url.empty() && options.base_url.back() == '/') options.base_url.pop_back();
  const auto url = net::ParseUrl(options.base_url);
  if (!url || (url->scheme != "http" && url->scheme != "https")) {
    return Error(InvalidArgument("openai_base_url '" + options.base_url +
                                 "' is not an http(s) URL such as https://api.openai.com/v1"));
  }
  if (url->scheme == "http" && !net::IsLoopbackHost(url->host)) {
    return Error(InvalidArgument("openai_base_url '" + options.base_url +
                                 "': plain http is allowed only to a loopback host (the API key would travel "
                                 "in clear); use https"));
  }
  if (options.model.empty()) return Error(InvalidArgument("openai_embedding_model is empty"));
  if (options.dimension < 0 || options.dimension > 65536) {
    return Error(InvalidArgument("openai_embedding_dimension " + std::to_string(options.dimension) +
                                 " is not in 0..65536"));
  }
  if (options.max_batch_texts < 1 || options.max_batch_tokens < 1 || options.concurrency < 1 ||
      options.max_attempts < 1 || options.max_input_tokens < 1) {
    return Error(InvalidArgument("OpenAI embedder: batch sizes, concurrency and attempts must be positive"));
  }
  if (!options.make_client) options.make_client = [] { return net::MakeCurlHttpClient(); };
  if (!options.sleep) options.sleep = [](milliseconds wait) { std::this_thread::sleep_for(wait); };

  const bool explicit_dimension = options.dimension > 0;
  if (!explicit_dimension) options.dimension = KnownDimension(options.model);
  auto embedder = std::unique_ptr<OpenAiEmbedder>(new OpenAiEmbedder(std::move(options)));
  embedder->shared_->send_dimensions = explicit_dimension;
  if (embedder->options_.dimension == 0) {
    // Unknown model: learn its width from one request (the store must be sized before the first batch).
    auto probe = embedder->Embed({"dimension probe"});
    if (!probe) return Error(probe.error().WithContext("learning the width of model " + embedder->options_.model));
    embedder->options_.dimension = static_cast<int>(probe->at(0).size());
  }
  return embedder;
}

std::string OpenAiEmbedder::model_id() const {
  return "openai:" + options_.model + "-" + std::to_string(options_.dimension);
}

int OpenAiEmbedder::CountTokens(const std::string& text) const {
  return static_cast<int>((text.size() + 2) / 3);
}

int64_t OpenAiEmbedder::requests_sent() const { return shared_->requests.load(); }

Result<std::vector<std::vector<float>>> OpenAiEmbedder::Embed(const std::vector<std::string>& texts) {
  std::vector<std::vector<float>> out(texts.size(), std::vector<float>(options_.dimension, 0.0f));

  // Requests: consecutive non-empty texts, bounded by count and estimated tokens (at least one text each).
  std::vector<std::vector<size_t>> batches;
  int batch_tokens = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    if (texts[i].empty()) continue;
    const int tokens = CountTokens(texts[i]);
    if (batches.empty() || static_cast<int>(batches.back().size()) >= options_.max_batch_texts ||
        batch_tokens + tokens > options_.max_batch_tokens) {
      batches.emplace_back();
      batch_tokens = 0;
    }
    batches.back().push_back(i);
    batch_tokens += tokens;
  }
  if (batches.empty()) return out;

  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex error_mutex;
  Status first_error;
  auto work = [&](uint32_t seed) {
    std::unique_ptr<net::HttpClient> client;
    {
      std::lock_guard<std::mutex> lock(shared_->mutex);
      if (!shared_->idle_clients.empty()) {
        client = std::move(shared_->idle_clients.back());
        shared_->idle_clients.pop_back();
      }
    }
    if (!client) client = options_.make_client();
    for (size_t b = next++; b < batches.size() && !failed; b = next++) {
      std::vector<std::string> batch_texts;
      for (size_t i : batches[b]) batch_texts.push_back(texts[i]);
      std::vector<std::vector<float>> vectors;
      auto sent = EmbedBatch(*client, batch_texts, vectors, seed + static_cast<uint32_t>(b));
      if (!sent) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!failed.exchange(true)) first_error = sent.error();
        break;
      }
      for (size_t k = 0; k < batches[b].size(); ++k) out[batches[b][k]] = std::move(vectors[k]);
    }
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->idle_clients.push_back(std::move(client));
  };

  const size_t workers = std::min<size_t>(static_cast<size_t>(options_.concurrency), batches.size());
  std::vector<std::thread> threads;
  for (size_t w = 1; w < workers; ++w) threads.emplace_back(work, static_cast<uint32_t>(w * 7919));
  work(0);
  for (std::thread& t : threads) t.join();
  if (failed) return Error(first_error);
  if (options_.dimension == 0) {
    // Probing: every vector must have the same width.
    for (const auto& v : out) {
      if (v.size() != out[0].size()) return Error(Internal("OpenAI embeddings: vectors of different widths"));
    }
  }
  return out;
}

Result<void> OpenAiEmbedder::EmbedBatch(net::HttpClient& client, const std::vector<std::string>& texts,
                                        std::vector<std::vector<float>>& out, uint32_t seed) const {
  nlohmann::json body = {{"model", options_.model}, {"input", texts}, {"encoding_format", "float"}};
  if (shared_->send_dimensions) body["dimensions"] = options_.dimension;
  net::HttpRequest request;
  request.method = "POST";
  request.url = options_.base_url + "/embeddings";
  request.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  if (!options_.api_key.empty()) request.headers.emplace_back("Authorization", "Bearer " + options_.api_key);
  request.body = CompactJson(body);
  request.timeout = options_.timeout;

  std::minstd_rand jitter(seed ? seed : 1);
  const std::string what_prefix = "POST " + request.url + " (model " + options_.model + ")";
  Status last;
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    // Honour a pause set by any worker's 429 before sending.
    milliseconds pause{0};
    {
      std::lock_guard<std::mutex> lock(shared_->mutex);
      const auto now = std::chrono::steady_clock::now();
      if (shared_->paused_until > now) {
        pause = std::chrono::duration_cast<milliseconds>(shared_->paused_until - now) + milliseconds(1);
      }
    }
    if (pause.count() > 0) options_.sleep(pause);

    ++shared_->requests;
    auto response = client.Send(request);
    std::optional<milliseconds> retry_after;
    if (!response) {
      // Transport failure (refused, reset, timeout): transient.
      last = Unavailable(what_prefix + ": " + response.error().message());
    } else if (response->status == 200) {
      auto json = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
      if (!json.is_object() || !json.contains("data") || !json["data"].is_array()) {
        return Error(Internal(what_prefix + ": the response has no \"data\" array"));
      }
      const auto& data = json["data"];
      if (data.size() != texts.size()) {
        return Error(Internal(what_prefix + ": " + std::to_string(data.size()) + " embeddings for " +
                              std::to_string(texts.size()) + " inputs"));
      }
      out.assign(texts.size(), {});
      for (size_t k = 0; k < data.size(); ++k) {
        const auto& item = data[k];
        const size_t index =
            item.is_object() && item.contains("index") && item["index"].is_number_unsigned() ? item["index"].get<size_t>() : k;
        if (index >= texts.size() || !out[index].empty() || !item.is_object() || !item.contains("embedding") ||
            !item["embedding"].is_array()) {
          return Error(Internal(what_prefix + ": malformed or duplicate item " + std::to_string(k) + " in \"data\""));
        }
        std::vector<float> v;
        v.reserve(item["embedding"].size());
        double norm = 0;
        for (const auto& x : item["embedding"]) {
          if (!x.is_number()) return Error(Internal(what_prefix + ": a non-number in embedding " + std::to_string(index)));
          v.push_back(x.get<float>());
          norm += static_cast<double>(v.back()) * v.back();
        }
        if (v.empty() || (options_.dimension > 0 && static_cast<int>(v.size()) != options_.dimension)) {
          return Error(InvalidArgument(what_prefix + ": embedding of width " + std::to_string(v.size()) +
                                       ", expected " + std::to_string(options_.dimension) +
                                       " (check openai_embedding_dimension)"));
        }
        if (norm > 0) {
          const float inv = static_cast<float>(1.0 / std::sqrt(norm));
          for (float& x : v) x *= inv;
        }
        out[index] = std::move(v);
      }
      return {};
    } else {
      const std::string what = what_prefix + ": HTTP " + std::to_string(response->status) + ": " +
                               net::ServerErrorMessage(response->body, options_.api_key);
      last = net::ClassifyHttpStatus(response->status, what, "openai_api_key");
      if (!Retryable(response->status)) return Error(last);
      if (response->status == 429) {
        retry_after = net::ParseRetryAfter(response->Header("retry-after"), std::chrono::system_clock::now());
        if (retry_after) last.set_retry_after(*retry_after);
        if (retry_after && *retry_after > options_.max_retry_after) return Error(last);
      }
    }
    if (attempt + 1 == options_.max_attempts) break;

    milliseconds wait;
    if (retry_after) {
      wait = *retry_after;
    } else {
      // Exponential backoff with full jitter.
      const int64_t cap = std::min<int64_t>(options_.max_backoff.count(),
                                            options_.initial_backoff.count() << std::min(attempt, 20));
      wait = milliseconds(std::uniform_int_distribution<int64_t>(cap / 2, std::max<int64_t>(cap, 1))(jitter));
    }
    if (response && response->status == 429) {
      // A rate limit applies to the account: pause every worker, this one included.
      std::lock_guard<std::mutex> lock(shared_->mutex);
      shared_->paused_until = std::max(shared_->paused_until, std::chrono::steady_clock::now() + wait);
    } else {
      options_.sleep(wait);
    }
  }
  return Error(last.WithContext("after " + std::to_string(options_.max_attempts) + " attempts"));
}

}  // namespace deskpipe
