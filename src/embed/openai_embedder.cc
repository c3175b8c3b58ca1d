#include "embed/openai_embedder.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <cmath>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/json_text.h"
#include "core/log.h"
#include "net/account_requester.h"
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

// The embeddings endpoint as an account: no budget headers are read (nothing is paced but by 429s), a 429
// pauses every request of this embedder for its Retry-After, and every failure counts among max_attempts.
net::AccountPolicy EmbeddingsPolicy(const OpenAiEmbedderOptions& options) {
  net::AccountPolicy policy;
  policy.base_url = options.base_url;
  policy.read_retry_after = net::RetryAfterOf;
  policy.retry.max_attempts = options.max_attempts;
  policy.retry.backoff_base = options.initial_backoff;
  policy.retry.backoff_max = options.max_backoff;
  policy.retry.backoff_jitter = 0.5;
  policy.retry.jitter_lowers = true;
  policy.retry.default_retry_after.reset();  // no Retry-After: back off
  policy.retry.retry_after_jitter = milliseconds(0);
  policy.max_retry_after = options.max_retry_after;
  policy.budget.probe_first = false;
  policy.budget.max_in_flight = 1 << 20;  // each Embed() call bounds its own concurrency
  policy.clock = options.sleep ? net::MakeFunctionClock(options.sleep, nullptr) : net::SystemClock();
  return policy;
}

}  // namespace

// State shared by the workers of every Embed() call: idle HTTP clients (kept for keep-alive) and the request
// layer (whose governor holds the pause a 429 sets).
struct OpenAiEmbedder::Shared {
  explicit Shared(net::AccountPolicy policy) : requester(std::move(policy)) {}
  std::mutex mutex;
  std::vector<std::unique_ptr<net::HttpClient>> idle_clients;
  net::AccountRequester requester;
  std::atomic<int64_t> requests{0};
  bool send_dimensions = false;
};

OpenAiEmbedder::OpenAiEmbedder(OpenAiEmbedderOptions options)
    : options_(std::move(options)), shared_(std::make_unique<Shared>(EmbeddingsPolicy(options_))) {}

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
  auto work = [&] {
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
      auto sent = EmbedBatch(*client, batch_texts, vectors);
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
  for (size_t w = 1; w < workers; ++w) threads.emplace_back(work);
  work();
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
                                        std::vector<std::vector<float>>& out) const {
  nlohmann::json body = {{"model", options_.model}, {"input", texts}, {"encoding_format", "float"}};
  if (shared_->send_dimensions) body["dimensions"] = options_.dimension;
  net::HttpRequest request;
  request.method = "POST";
  request.url = options_.base_url + "/embeddings";
  request.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  if (!options_.api_key.empty()) request.headers.emplace_back("Authorization", "Bearer " + options_.api_key);
  request.body = CompactJson(body);
  request.timeout = options_.timeout;

  const std::string what_prefix = "POST " + request.url + " (model " + options_.model + ")";
  net::ResponseReader reader;
  reader.classify = [&](const Result<net::HttpResponse>& response) -> Status {
    ++shared_->requests;
    // Transport failure (refused, reset, timeout): transient.
    if (!response) {
      return Unavailable(what_prefix + ": " + log::MaskSecret(response.error().message(), options_.api_key));
    }
    if (response->status == 200) return Status::Ok();
    const std::string what = what_prefix + ": HTTP " + std::to_string(response->status) + ": " +
                             net::ServerErrorMessage(response->body, options_.api_key);
    return net::ClassifyHttpStatus(response->status, what, "openai_api_key");
  };
  reader.take = [&](net::HttpResponse& response) -> Status {
    auto json = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object() || !json.contains("data") || !json["data"].is_array()) {
      return Internal(what_prefix + ": the response has no \"data\" array");
    }
    const auto& data = json["data"];
    if (data.size() != texts.size()) {
      return Internal(what_prefix + ": " + std::to_string(data.size()) + " embeddings for " +
                      std::to_string(texts.size()) + " inputs");
    }
    out.assign(texts.size(), {});
    for (size_t k = 0; k < data.size(); ++k) {
      const auto& item = data[k];
      const size_t index =
          item.is_object() && item.contains("index") && item["index"].is_number_unsigned() ? item["index"].get<size_t>() : k;
      if (index >= texts.size() || !out[index].empty() || !item.is_object() || !item.contains("embedding") ||
          !item["embedding"].is_array()) {
        return Internal(what_prefix + ": malformed or duplicate item " + std::to_string(k) + " in \"data\"");
      }
      std::vector<float> v;
      v.reserve(item["embedding"].size());
      double norm = 0;
      for (const auto& x : item["embedding"]) {
        if (!x.is_number()) return Internal(what_prefix + ": a non-number in embedding " + std::to_string(index));
        v.push_back(x.get<float>());
        norm += static_cast<double>(v.back()) * v.back();
      }
      if (v.empty() || (options_.dimension > 0 && static_cast<int>(v.size()) != options_.dimension)) {
        return InvalidArgument(what_prefix + ": embedding of width " + std::to_string(v.size()) + ", expected " +
                               std::to_string(options_.dimension) + " (check openai_embedding_dimension)");
      }
      if (norm > 0) {
        const float inv = static_cast<float>(1.0 / std::sqrt(norm));
        for (float& x : v) x *= inv;
      }
      out[index] = std::move(v);
    }
    return Status::Ok();
  };
  net::SendOutcome outcome = shared_->requester.Send(client, request, net::RequestTicket{}, what_prefix, reader);
  if (outcome.ok()) return {};
  if (outcome.out_of_attempts) {
    return Error(outcome.status.WithContext("after " + std::to_string(options_.max_attempts) + " attempts"));
  }
  return Error(outcome.status);
}

}  // namespace deskpipe
