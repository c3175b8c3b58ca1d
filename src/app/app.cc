#include "app/app.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>

#include "app/tenant_store.h"
#include "core/ids.h"
#include "core/spelling.h"
#include "embed/embedder_factory.h"
#include "net/http_client.h"
#include "platforms/registry.h"

namespace deskpipe::app {

namespace {

// What a verb that reads the platform and writes the tenant holds for its run. Members are destroyed in
// reverse order: the store (and its lock) first, the HTTP client the source reads through last.
struct PlatformWriteSession {
  std::unique_ptr<net::HttpClient> http;
  std::unique_ptr<Source> source;
  std::unique_ptr<Embedder> embedder;
  TenantStore tenant;
};

}  // namespace

std::unique_ptr<net::HttpClient> App::MakeHttp() const {
  auto http = net::MakeCurlHttpClient();
  return hooks_.wrap_http ? hooks_.wrap_http(std::move(http)) : std::move(http);
}

Result<std::unique_ptr<Embedder>> App::MakeTenantEmbedder() const {
  return hooks_.make_embedder ? hooks_.make_embedder(config_) : MakeEmbedder(config_);
}

Result<void> App::CheckSource() {
  const auto http = MakeHttp();
  ASSIGN_OR_RETURN(auto source, CreateSource(config_, *http));
  return {};
}

namespace {

Result<PlatformWriteSession> OpenPlatformWriteSession(const Config& config, const RunnerOptions& options,
                                                      bool allow_new, const char* command,
                                                      std::unique_ptr<net::HttpClient> http,
                                                      Result<std::unique_ptr<Embedder>> embedder) {
  PlatformWriteSession session;
  session.http = std::move(http);
  ASSIGN_OR_RETURN(session.source, CreateSource(config, *session.http));
  ASSIGN_OR_RETURN(session.embedder, std::move(embedder));
  ASSIGN_OR_RETURN(session.tenant,
                   OpenTenantForWriting(config, *session.embedder, allow_new,
                                        {.wait = options.wait_for_lock, .command = command,
                                         .stop = options.stop}));
  return session;
}

}  // namespace

Result<RunSummary> App::Sync(RunnerOptions options) {
  ASSIGN_OR_RETURN(PlatformWriteSession session,
                   OpenPlatformWriteSession(config_, options, /*allow_new=*/true, "deskpipe sync", MakeHttp(),
                                            MakeTenantEmbedder()));
  Embedder& embedder = *session.embedder;
  ASSIGN_OR_RETURN(TenantProfile profile, PrepareSyncProfile(config_, embedder, session.tenant));
  Store& store = *session.tenant.store;
  options.reread_everything = profile.records_backfill;
  ApplyEmbedderCapabilities(embedder, options);
  Runner runner(config_, *session.source, embedder, store, std::move(options));
  auto summary = runner.Run();
  if (summary && !summary->stopped && profile.records_backfill) {
    profile.records_backfill = false;  // every record was read again: the backfill is complete
    RETURN_IF_ERROR(store.SaveProfile(config_.tenant_id, profile));
  }
  if (summary && summary->fetch_abandoned) {
    // The fetch thread is still inside the source: keep the source and its HTTP client alive for it. The
    // process is about to exit (a stop was requested).
    (void)session.source.release();
    (void)session.http.release();
  }
  return summary;
}

Result<RetrySummary> App::RetryFailed(RunnerOptions options, const std::vector<std::string>& streams) {
  ASSIGN_OR_RETURN(PlatformWriteSession session,
                   OpenPlatformWriteSession(config_, options, /*allow_new=*/false, "deskpipe retry-failed",
                                            MakeHttp(), MakeTenantEmbedder()));
  ApplyEmbedderCapabilities(*session.embedder, options);
  options.fetch_grace = std::chrono::hours(1);  // join the fetch: the source dies with this call
  return deskpipe::RetryFailed(config_, *session.source, *session.embedder, *session.tenant.store,
                               std::move(options), streams);
}

Result<std::vector<StoredDeadLetter>> App::DeadLetters() {
  ASSIGN_OR_RETURN(TenantStore tenant, OpenTenantForReading(config_));
  return tenant.store->ListDeadLetters(config_.tenant_id);
}

Result<std::vector<SearchHit>> App::Search(const SearchRequest& request) {
  if (request.text.find_first_not_of(" \t\r\n") == std::string::npos) {
    return Error(InvalidArgument("the search text is empty: say what to look for"));
  }
  for (const std::string& type : request.filters.types) {
    if (std::find(DocumentTypes().begin(), DocumentTypes().end(), type) != DocumentTypes().end()) continue;
    std::string message = "unknown document type '" + type + "'";
    if (std::optional<std::string> near = ClosestName(type, DocumentTypes())) {
      message += " (did you mean " + *near + "?)";
    }
    return Error(InvalidArgument(message + ": use " + ListOfNames(DocumentTypes())));
  }
  ASSIGN_OR_RETURN(auto embedder, MakeTenantEmbedder());
  ASSIGN_OR_RETURN(TenantStore tenant, OpenTenantForReading(config_, embedder.get()));
  SearchQuery query;
  static_cast<SearchFilters&>(query) = request.filters;
  query.tenant_id = config_.tenant_id;
  query.text = request.text;
  query.mode = request.mode;
  query.keyword_weight = embedder->keyword_weight();
  query.snippets = true;
  if (request.mode != SearchMode::kKeyword) {
    ASSIGN_OR_RETURN(auto vectors, embedder->Embed({request.text}));
    query.vector = std::move(vectors.at(0));
  }
  query.top_k = request.top_k;
  query.max_hits_per_document = request.per_document;
  return tenant.store->Search(query);
}

Result<SimilarOutcome> App::SimilarTickets(const std::string& ticket_id, int top_k) {
  ASSIGN_OR_RETURN(const std::string document_id, MakeDocumentId(config_.tenant_id, config_.platform, ticket_id));
  ASSIGN_OR_RETURN(auto embedder, MakeTenantEmbedder());
  ASSIGN_OR_RETURN(TenantStore tenant, OpenTenantForReading(config_, embedder.get()));
  auto similar = SimilarToTicket(*tenant.store, *embedder, config_.tenant_id, document_id, top_k);
  if (!similar && similar.error().code() == StatusCode::kNotFound) {
    return Error(NotFound("tenant " + config_.tenant_id + " has no ticket " + ticket_id + " with text"));
  }
  return similar;
}

Result<SimilarOutcome> SimilarToTicket(Store& store, Embedder& embedder, const std::string& tenant_id,
                                       const std::string& document_id, int top_k) {
  ASSIGN_OR_RETURN(std::optional<std::string> opening, store.DocumentOpening(tenant_id, document_id));
  if (!opening) return Error(NotFound("no document " + document_id + " with text"));
  // The subject and first message carry the question; a long thread's tail would only blur it.
  std::string text = opening->substr(0, 1200);
  while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80) text.pop_back();
  if (text.size() < opening->size() && !text.empty()) text.pop_back();  // a cut lead byte
  ASSIGN_OR_RETURN(auto vectors, embedder.Embed({text}));
  SearchQuery query;
  query.tenant_id = tenant_id;
  query.text = text;
  query.vector = std::move(vectors.at(0));
  query.keyword_weight = embedder.keyword_weight();
  query.max_hits_per_document = 1;
  query.types = {"ticket"};
  query.top_k = top_k + 1;  // the ticket itself is likely the best match
  SimilarOutcome outcome;
  ASSIGN_OR_RETURN(std::vector<SearchHit> tickets, store.Search(query));
  for (SearchHit& hit : tickets) {
    if (hit.document_id != document_id && static_cast<int>(outcome.tickets.size()) < top_k) {
      outcome.tickets.push_back(std::move(hit));
    }
  }
  query.types = {"article"};
  query.top_k = top_k;
  ASSIGN_OR_RETURN(outcome.articles, store.Search(query));
  return outcome;
}

Result<TenantStatus> App::Status() {
  ASSIGN_OR_RETURN(TenantStore tenant, OpenTenantForReading(config_));
  ASSIGN_OR_RETURN(StoreStats stats, tenant.store->Stats(config_.tenant_id));
  return TenantStatus{std::move(stats), tenant.profile};
}

Result<Store::Digest> App::Digest() {
  ASSIGN_OR_RETURN(TenantStore tenant, OpenTenantForReading(config_));
  return tenant.store->ComputeDigest(config_.tenant_id);
}

Result<ResetReport> App::Reset(const WriteLockOptions& lock) {
  ASSIGN_OR_RETURN(TenantStore tenant, OpenTenantAsRecorded(config_, lock));
  return tenant.store->ResetTenant(config_.tenant_id);
}

Result<VerifyOutcome> App::Verify(bool repair, const WriteLockOptions& lock) {
  // Without repair nothing is written and no embedder is loaded; with it, the tenant's own embedder embeds
  // again what the cache no longer holds.
  std::unique_ptr<Embedder> embedder;
  TenantStore tenant;
  if (repair) {
    ASSIGN_OR_RETURN(embedder, MakeTenantEmbedder());
    ASSIGN_OR_RETURN(tenant, OpenTenantForWriting(config_, *embedder, /*allow_new=*/false, lock));
  } else {
    ASSIGN_OR_RETURN(tenant, OpenTenantForReading(config_));
  }
  Store& store = *tenant.store;
  const std::vector<std::string> mode_problems = ModeProblems(config_, tenant.profile);
  VerifyOutcome outcome;
  ASSIGN_OR_RETURN(outcome.found, store.Verify(config_.tenant_id, /*repair=*/false));
  outcome.found.mode_problems = mode_problems;
  outcome.final_report = outcome.found;
  if (!repair || (outcome.found.ok() && outcome.found.dead_vectors == 0)) return outcome;
  VerifyOptions options;
  options.repair = true;
  options.model_id = embedder->model_id();
  options.embed = [&embedder](const std::vector<std::string>& texts) { return embedder->Embed(texts); };
  ASSIGN_OR_RETURN(VerifyReport repaired, store.VerifyTenant(config_.tenant_id, options));
  ASSIGN_OR_RETURN(outcome.final_report, store.Verify(config_.tenant_id, /*repair=*/false));
  outcome.final_report.mode_problems = mode_problems;
  outcome.final_report.repaired = repaired.repaired;
  outcome.final_report.re_embedded = repaired.re_embedded;
  outcome.final_report.removed = repaired.removed;
  outcome.final_report.unrepaired = repaired.unrepaired;
  outcome.mended = true;
  return outcome;
}

Result<ReembedOutcome> App::Reembed(
    const WriteLockOptions& lock,
    const std::function<void(const TenantProfile& from, const TenantProfile& to)>& starting) {
  ASSIGN_OR_RETURN(auto embedder, MakeTenantEmbedder());
  ASSIGN_OR_RETURN(TenantStore tenant, OpenTenantAsRecorded(config_, lock, embedder->dimension()));
  ReembedOutcome outcome;
  outcome.from = tenant.profile;
  outcome.to = tenant.profile;
  const TenantProfile wanted = ProfileFor(config_, *embedder);
  outcome.to.embedder = wanted.embedder;
  outcome.to.model_id = wanted.model_id;
  outcome.to.dimension = wanted.dimension;
  if (starting) starting(outcome.from, outcome.to);
  ASSIGN_OR_RETURN(outcome.report,
                   tenant.store->Reembed(config_.tenant_id, outcome.to,
                                         [&embedder](const std::vector<std::string>& texts) {
                                           return embedder->Embed(texts);
                                         }));
  return outcome;
}

nlohmann::json HitToJson(const SearchHit& hit) {
  return {{"chunk_id", hit.chunk_id},         {"document_id", hit.document_id},
          {"type", hit.type},                 {"title", hit.title},
          {"text", hit.text},                 {"score", hit.score},
          {"keyword_rank", hit.keyword_rank}, {"vector_rank", hit.vector_rank},
          {"snippet", hit.snippet},           {"metadata", hit.metadata}};
}

}  // namespace deskpipe::app
