// The composition root: the one place that builds a verb's parts — HTTP client, source, embedder and store —
// from a Config and runs it. Every front end is a thin parser over it (the CLI verbs in cli/; the HTTP service
// next), so none of them builds an embedder or opens a store itself.
//
// Each call builds the parts it needs, uses them and lets them go: writers (Sync, RetryFailed, Reset, Verify
// with repair, Reembed) under the tenant's write lock (kBusy naming the holder, or waiting per
// WriteLockOptions), readers (Search, Status, Digest, DeadLetters, Verify) on a read-only store checked
// against the tenant's recorded profile (app/tenant_store.h).
// Thread-safety: an App holds only its Config; calls on different tenants' Apps may run at once, and calls
// for one tenant are kept apart by the tenant's lock. Lifetime: the caller's; nothing outlives a call.
// Folder: app/ may include every folder but cli/ (docs/ARCHITECTURE.md).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/status.h"
#include "embed/embedder.h"
#include "net/http_client.h"
#include "pipeline/retry_failed.h"
#include "pipeline/runner.h"
#include "store/store.h"

namespace deskpipe::app {

// The types of searchable documents: every platform maps its tickets and knowledge-base articles to these.
inline const std::vector<std::string>& DocumentTypes() {
  static const std::vector<std::string> types = {"ticket", "article"};
  return types;
}

struct SearchRequest {
  std::string text;
  int top_k = 10;
  int per_document = 1;  // most hits per document (its best chunks); 0 ⇒ no cap
  SearchMode mode = SearchMode::kHybrid;  // keyword ⇒ the query is not embedded
  SearchFilters filters;                  // types must be DocumentTypes()
};

// A tenant's counts, cursors and last run, and what its data was made with.
struct TenantStatus {
  StoreStats stats;
  TenantProfile profile;  // as recorded at the tenant's first sync
};

// What a copilot shows beside an open ticket.
struct SimilarOutcome {
  std::vector<SearchHit> tickets;   // the most similar other tickets, one hit each
  std::vector<SearchHit> articles;  // the knowledge-base articles that best answer it, one hit each
};

// App::SimilarTickets on an open store and embedder (bench/retrieval measures it this way): the query is the
// ticket's subject and first message, the ticket itself left out. NotFound when the ticket has no text.
Result<SimilarOutcome> SimilarToTicket(Store& store, Embedder& embedder, const std::string& tenant_id,
                                       const std::string& document_id, int top_k);

struct VerifyOutcome {
  VerifyReport found;          // before any repair (with the mode problems)
  VerifyReport final_report;   // after the repair, or `found` when none ran
  bool mended = false;         // a repair ran
};

struct ReembedOutcome {
  TenantProfile from;
  TenantProfile to;
  ReembedReport report;
};

// What a front end may change in the parts App builds (the service counts a tenant's helpdesk requests, times
// its embedder and keeps one loaded model for its searches). Empty members leave App's own way.
struct AppHooks {
  // Receives the HTTP client App built and returns it, or another one sending through it.
  std::function<std::unique_ptr<net::HttpClient>(std::unique_ptr<net::HttpClient>)> wrap_http;
  // Builds the embedder for a config instead of embed/embedder_factory.h's MakeEmbedder.
  std::function<Result<std::unique_ptr<Embedder>>(const Config&)> make_embedder;
};

class App {
 public:
  explicit App(Config config, AppHooks hooks = {}) : config_(std::move(config)), hooks_(std::move(hooks)) {}
  const Config& config() const { return config_; }

  // Builds the tenant's source without sending anything: the platform's config errors (a base URL outside
  // loopback and the allowlist, a missing domain, …) as InvalidArgument.
  Result<void> CheckSource();

  // One sync of the tenant (RunnerOptions as for Runner; the embedder's capabilities are applied).
  Result<RunSummary> Sync(RunnerOptions options = {});
  // Re-reads the tenant's dead letters (of `streams`, or all) from the platform (pipeline/retry_failed.h).
  Result<RetrySummary> RetryFailed(RunnerOptions options = {}, const std::vector<std::string>& streams = {});
  Result<std::vector<StoredDeadLetter>> DeadLetters();

  // Hybrid search with the tenant's own embedder (another one is refused, naming both). InvalidArgument for
  // empty text or a type that is not a document type (core/record.h), before anything is opened.
  Result<std::vector<SearchHit>> Search(const SearchRequest& request);
  // The tickets most like ticket `ticket_id` (the platform's id) by its subject and first message, itself
  // excluded, and the articles that best answer it: `top_k` of each. NotFound when the tenant has no such
  // ticket.
  Result<SimilarOutcome> SimilarTickets(const std::string& ticket_id, int top_k);
  Result<TenantStatus> Status();
  Result<Store::Digest> Digest();

  Result<ResetReport> Reset(const WriteLockOptions& lock);
  // Without repair: read-only. With it: under the lock, lost vectors embedded again with the configured
  // embedder (which must be the tenant's).
  Result<VerifyOutcome> Verify(bool repair, const WriteLockOptions& lock = {});
  // Moves the tenant to the configured embedder; `starting` (may be empty) is told from → to before the work.
  Result<ReembedOutcome> Reembed(const WriteLockOptions& lock,
                                 const std::function<void(const TenantProfile& from, const TenantProfile& to)>&
                                     starting = {});

 private:
  std::unique_ptr<net::HttpClient> MakeHttp() const;
  Result<std::unique_ptr<Embedder>> MakeTenantEmbedder() const;

  Config config_;
  AppHooks hooks_;
};

// A search hit as the CLI's `search --json` and the service print it.
nlohmann::json HitToJson(const SearchHit& hit);

}  // namespace deskpipe::app
