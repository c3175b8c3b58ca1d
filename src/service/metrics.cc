#include "service/metrics.h"

#include <chrono>
#include <mutex>

#include <prometheus/text_serializer.h>

namespace deskpipe::service {

namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

Histogram::BucketBoundaries LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

class CountingHttpClient : public net::HttpClient {
 public:
  CountingHttpClient(std::unique_ptr<net::HttpClient> inner, prometheus::Counter& requests,
                     prometheus::Counter& credits, prometheus::Counter& throttled)
      : inner_(std::move(inner)), requests_(requests), credits_(credits), throttled_(throttled) {}

  Result<net::HttpResponse> Send(const net::HttpRequest& request) override {
    auto response = inner_->Send(request);
    requests_.Increment();
    if (response) {
      if (response->status == 429) throttled_.Increment();
      double credits = 1;
      const std::string used = response->Header("x-ratelimit-used-currentrequest");
      if (!used.empty()) {
        try {
          credits = std::stod(used);
        } catch (...) {  // an unreadable header still cost the request
        }
      }
      credits_.Increment(credits);
    }
    return response;
  }
  bool IsThreadSafe() const override { return inner_->IsThreadSafe(); }

 private:
  std::unique_ptr<net::HttpClient> inner_;
  prometheus::Counter& requests_;
  prometheus::Counter& credits_;
  prometheus::Counter& throttled_;
};

// Forwards to an embedder it owns or shares; serializes Embed calls when the embedder is not thread-safe
// and shared (several searches at once use one loaded model).
class TimedEmbedderImpl : public Embedder {
 public:
  TimedEmbedderImpl(std::shared_ptr<Embedder> inner, bool shared, prometheus::Histogram& seconds)
      : inner_(std::move(inner)), shared_(shared), seconds_(seconds) {}

  EmbedderCapabilities capabilities() const override { return inner_->capabilities(); }
  void SetConcurrentCalls(int calls) override {
    if (!shared_) inner_->SetConcurrentCalls(calls);
  }
  std::string model_id() const override { return inner_->model_id(); }
  int dimension() const override { return inner_->dimension(); }
  int max_tokens() const override { return inner_->max_tokens(); }
  int CountTokens(const std::string& text) const override { return inner_->CountTokens(text); }
  Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts) override {
    const auto start = std::chrono::steady_clock::now();
    Result<std::vector<std::vector<float>>> vectors = EmbedSerialized(texts);
    seconds_.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return vectors;
  }

 private:
  Result<std::vector<std::vector<float>>> EmbedSerialized(const std::vector<std::string>& texts) {
    if (!shared_ || inner_->capabilities().thread_safe) return inner_->Embed(texts);
    std::lock_guard lock(SharedMutex());
    return inner_->Embed(texts);
  }
  std::mutex& SharedMutex() {
    static std::mutex mutex;  // one per process: shared embedders are few and searches short
    return mutex;
  }

  std::shared_ptr<Embedder> inner_;
  bool shared_;
  prometheus::Histogram& seconds_;
};

}  // namespace

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      jobs_(BuildGauge().Name("deskpipe_jobs").Help("Ingest jobs by state").Register(*registry_)),
      jobs_ended_(BuildCounter()
                      .Name("deskpipe_jobs_ended_total")
                      .Help("Ingest jobs that ended, by outcome")
                      .Register(*registry_)),
      job_seconds_(BuildHistogram()
                       .Name("deskpipe_job_duration_seconds")
                       .Help("Wall time of ended ingest jobs")
                       .Register(*registry_)),
      records_(BuildCounter()
                   .Name("deskpipe_records_written_total")
                   .Help("Records committed, per tenant and stream")
                   .Register(*registry_)),
      chunks_(BuildCounter()
                  .Name("deskpipe_chunks_written_total")
                  .Help("Chunks embedded and indexed, per tenant and stream")
                  .Register(*registry_)),
      helpdesk_requests_(BuildCounter()
                             .Name("deskpipe_helpdesk_requests_total")
                             .Help("Requests sent to the tenant's helpdesk API")
                             .Register(*registry_)),
      helpdesk_credits_(BuildCounter()
                            .Name("deskpipe_helpdesk_credits_total")
                            .Help("API credits the helpdesk counted for those requests")
                            .Register(*registry_)),
      helpdesk_throttled_(BuildCounter()
                              .Name("deskpipe_helpdesk_throttled_total")
                              .Help("HTTP 429 answers received from the helpdesk")
                              .Register(*registry_)),
      embed_seconds_(BuildHistogram()
                         .Name("deskpipe_embedding_duration_seconds")
                         .Help("Latency of one embedder call (a batch of texts or a query)")
                         .Register(*registry_)),
      http_requests_(BuildCounter()
                         .Name("deskpipe_http_requests_total")
                         .Help("API requests served, by route and status code")
                         .Register(*registry_)),
      http_seconds_(BuildHistogram()
                        .Name("deskpipe_http_request_duration_seconds")
                        .Help("API request latency, by route")
                        .Register(*registry_)) {
  for (const char* state : {"queued", "running", "cancelling"}) jobs_.Add({{"state", state}});
}

std::string Metrics::Render() const { return prometheus::TextSerializer().Serialize(registry_->Collect()); }

void Metrics::JobStateChanged(const std::string& from, const std::string& to) {
  // The gauge counts live jobs; ended ones are counted by deskpipe_jobs_ended_total.
  for (const std::string& state : {from, to}) {
    if (state != "queued" && state != "running" && state != "cancelling") continue;
    jobs_.Add({{"state", state}}).Increment(state == to ? 1 : -1);
  }
}

void Metrics::JobEnded(const std::string& outcome, double seconds) {
  jobs_ended_.Add({{"state", outcome}}).Increment();
  job_seconds_.Add({{"state", outcome}}, Histogram::BucketBoundaries{1, 5, 15, 60, 300, 900, 3600, 4 * 3600})
      .Observe(seconds);
}

void Metrics::RecordsWritten(const std::string& tenant, const std::string& stream, double records) {
  if (records > 0) records_.Add({{"tenant", tenant}, {"stream", stream}}).Increment(records);
}

void Metrics::ChunksWritten(const std::string& tenant, const std::string& stream, double chunks) {
  if (chunks > 0) chunks_.Add({{"tenant", tenant}, {"stream", stream}}).Increment(chunks);
}

void Metrics::HttpRequest(const std::string& route, int status, double seconds) {
  http_requests_.Add({{"route", route}, {"code", std::to_string(status)}}).Increment();
  http_seconds_.Add({{"route", route}}, LatencyBuckets()).Observe(seconds);
}

std::unique_ptr<net::HttpClient> Metrics::CountingHttp(const std::string& tenant,
                                                       std::unique_ptr<net::HttpClient> inner) {
  return std::make_unique<CountingHttpClient>(std::move(inner), helpdesk_requests_.Add({{"tenant", tenant}}),
                                              helpdesk_credits_.Add({{"tenant", tenant}}),
                                              helpdesk_throttled_.Add({{"tenant", tenant}}));
}

std::unique_ptr<Embedder> Metrics::TimedEmbedder(std::unique_ptr<Embedder> inner) {
  return std::make_unique<TimedEmbedderImpl>(std::shared_ptr<Embedder>(std::move(inner)), false,
                                             embed_seconds_.Add({}, LatencyBuckets()));
}

std::unique_ptr<Embedder> Metrics::TimedEmbedder(std::shared_ptr<Embedder> shared) {
  return std::make_unique<TimedEmbedderImpl>(std::move(shared), true, embed_seconds_.Add({}, LatencyBuckets()));
}

}  // namespace deskpipe::service
