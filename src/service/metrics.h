// The service's Prometheus metrics (prometheus-cpp's registry and text format): jobs by state and their
// durations, records and chunks written per tenant and stream, helpdesk requests, credits and 429s per tenant,
// embedding latency, and the HTTP API's requests by route and code with latency histograms per route.
// Labels are tenant ids, stream names, route patterns and status codes: never a token, key or query text.
// Thread-safety: every method may be called from any thread (prometheus-cpp's metrics are atomic; families
// are guarded by the library). Lifetime: the server's; the objects it hands out (Embedder/HttpClient
// wrappers) must not outlive it.
#pragma once

#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "embed/embedder.h"
#include "net/http_client.h"

namespace deskpipe::service {

class Metrics {
 public:
  Metrics();

  // The exposition text for GET /metrics.
  std::string Render() const;

  void JobStateChanged(const std::string& from, const std::string& to);  // from "" when new
  void JobEnded(const std::string& outcome, double seconds);
  void RecordsWritten(const std::string& tenant, const std::string& stream, double records);
  void ChunksWritten(const std::string& tenant, const std::string& stream, double chunks);
  void HttpRequest(const std::string& route, int status, double seconds);

  // An HTTP client that counts the tenant's helpdesk requests, credits (X-RateLimit-Used-CurrentRequest,
  // else 1) and 429s, sending through `inner`.
  std::unique_ptr<net::HttpClient> CountingHttp(const std::string& tenant, std::unique_ptr<net::HttpClient> inner);
  // An embedder that times each Embed call of `inner` (which it owns or, when `shared`, uses).
  std::unique_ptr<Embedder> TimedEmbedder(std::unique_ptr<Embedder> inner);
  std::unique_ptr<Embedder> TimedEmbedder(std::shared_ptr<Embedder> shared);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Gauge>& jobs_;
  prometheus::Family<prometheus::Counter>& jobs_ended_;
  prometheus::Family<prometheus::Histogram>& job_seconds_;
  prometheus::Family<prometheus::Counter>& records_;
  prometheus::Family<prometheus::Counter>& chunks_;
  prometheus::Family<prometheus::Counter>& helpdesk_requests_;
  prometheus::Family<prometheus::Counter>& helpdesk_credits_;
  prometheus::Family<prometheus::Counter>& helpdesk_throttled_;
  prometheus::Family<prometheus::Histogram>& embed_seconds_;
  prometheus::Family<prometheus::Counter>& http_requests_;
  prometheus::Family<prometheus::Histogram>& http_seconds_;
};

}  // namespace deskpipe::service
