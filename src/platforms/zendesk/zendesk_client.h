// ZendeskClient: GETs Zendesk API v2 JSON pages (docs/zendesk-api.md) through the account's request layer, a
// net::AccountRequester with Zendesk's policy:
//   - the governor (one per account in the process): budget from X-Rate-Limit × api_budget_share, every
//     request costing 1; the incremental exports (`incremental/…`, the Help Center article export too) as a
//     sub-budget of 10 calls per window (§4); a 429 pauses every request of the account for Retry-After
//     (whole seconds);
//   - retries: 5xx, timeouts, resets, malformed bodies → backoff; 429 → Retry-After, bounded apart;
//   - the circuit breaker, as Freshdesk's.
// Classification: 401 → Unauthenticated naming ZENDESK_EMAIL / ZENDESK_API_TOKEN (stop the job); 403 →
// PermissionDenied; 404 → NotFound; 400 → InvalidArgument with Zendesk's `error`/`description`; 429 →
// RateLimited; 5xx → Unavailable. Auth is Basic "{email}/token:{api_token}"; the token never appears in a
// message.
//
// Thread-safety: Get and GetUrl may be called from several threads if the HttpClient is thread-safe. The
// HttpClient passed in must outlive the client.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/config.h"
#include "core/status.h"
#include "net/account_requester.h"
#include "net/clock.h"
#include "net/http_client.h"

namespace deskpipe::zendesk {

// The incremental exports' calls per rate window (§4: 10 a minute; 30 with High Volume, which the headers do
// not reveal to the governor, so the lower figure is used).
inline constexpr int64_t kExportCallsPerWindow = 10;

struct ZendeskClientOptions {
  int max_attempts = 4;                // attempts per request for Unavailable (≥ 1)
  int max_rate_limited_attempts = 10;  // 429s tolerated per request, counted apart
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds default_retry_after{60000};
  std::chrono::milliseconds backoff_base{1000};
  std::chrono::milliseconds backoff_max{60000};
  std::chrono::milliseconds retry_after_jitter{250};
  std::optional<int> max_concurrent_requests;  // unset: the Config's MAX_CONCURRENT_REQUESTS
  std::optional<double> api_budget_share;      // unset: the Config's --api-budget-share
  std::chrono::milliseconds rate_window{
      60000};  // the server's rate-limit "minute" (emulator tests shorten it)
  std::optional<std::chrono::milliseconds> circuit_wait_max;  // unset: the Config's unreachable_timeout
  std::shared_ptr<net::Clock> clock;  // tests: a FakeClock (then the governor and breaker are private)
};

// Fills the unset options from the config (concurrency, budget share, unreachable timeout).
void ApplyConfigToClientOptions(const Config& config, ZendeskClientOptions* options);

class ZendeskClient {
 public:
  // `api_base` is the absolute API root, e.g. "https://acme.zendesk.com/api/v2" (no trailing slash).
  ZendeskClient(std::string api_base, std::string email, std::string api_token, net::HttpClient& http,
                ZendeskClientOptions options = {});

  ZendeskClient(const ZendeskClient&) = delete;
  ZendeskClient& operator=(const ZendeskClient&) = delete;

  // GET {api_base}/{path_and_query}; the parsed JSON object.
  Result<nlohmann::json> Get(const std::string& path_and_query);
  // GET an absolute URL from a response (after_url, links.next). It must be on the API base's origin, so the
  // credentials are never sent elsewhere; InvalidArgument otherwise.
  Result<nlohmann::json> GetUrl(const std::string& absolute_url);

  const std::string& api_base() const { return api_base_; }
  net::RateGovernor& governor() { return requester_->governor(); }

 private:
  Result<nlohmann::json> Fetch(const std::string& url, const std::string& what);

  std::string api_base_;
  std::string email_;
  std::string api_token_;
  net::HttpClient& http_;
  ZendeskClientOptions options_;
  std::unique_ptr<net::AccountRequester> requester_;
};

// What the governor needs to know of a request to `path_and_query`: cost key (ids as {id}), the export
// sub-budget ("incremental_exports") for export paths, cost 1.
net::RequestTicket ZendeskRequestTicket(const std::string& path_and_query);

// Calls per window of `bucket` ("incremental_exports" → kExportCallsPerWindow; others none).
std::optional<int64_t> ZendeskSubLimit(const std::string& bucket, int64_t total);

// Classifies a non-2xx response. `what` names the request (a path, never credentials).
Status ClassifyZendeskError(const net::HttpResponse& response, const std::string& what);

// The API root from the config:
// - zendesk_base_url (an account root such as "http://127.0.0.1:8080"; "/api/v2" appended), accepted only
//   when its host is loopback or listed in allowed_hosts;
// - else zendesk_subdomain "acme" / "acme.zendesk.com" → "https://acme.zendesk.com/api/v2";
// - else InvalidArgument. Also InvalidArgument when the email or the API token is empty.
Result<std::string> ResolveZendeskApiBase(const Config& config);

// "https://acme.zendesk.com/api/v2" → "https://acme.zendesk.com" (for deep links).
std::string AccountUrlFromApiBase(const std::string& api_base);

}  // namespace deskpipe::zendesk
