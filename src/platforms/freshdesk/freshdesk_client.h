// FreshdeskClient: GETs Freshdesk API v2 JSON pages over an HttpClient, classifies every failure into a
// Status (API.md §5), follows `link: <…>; rel="next"` headers, and sends every request through the account's
// request layer, a net::AccountRequester with Freshdesk's policy:
//   - the governor (one per account, shared by every request and every client of that account in the
//     process): budget from X-RateLimit-Total × api_budget_share, per-request cost learnt from
//     X-RateLimit-Used-CurrentRequest (include credits anticipated before sending), separate calls-per-window
//     sub-budgets for the tickets-list and contacts-list operations, a 429 pauses every request of the account
//     for Retry-After (whole seconds), at most max_concurrent_requests in flight, RATE_LIMIT_DELAY as a
//     minimum spacing;
//   - retries: 5xx, timeouts, resets, truncated or malformed bodies → exponential backoff with jitter, bounded
//     by max_attempts; 429 → Retry-After, bounded apart (max_rate_limited_attempts);
//   - the circuit breaker (one per account): opens after repeated transient failures, half-opens to probe;
//     a request waits for the probe (up to circuit_wait_max) rather than failing while it is open.
// An outage (the breaker open) is logged as a warning — "127.0.0.1:8080 refuses connections; circuit open,
// retrying until 06:12:05 UTC" — when it starts and every outage_report_interval while it lasts, and bounded by
// circuit_wait_max for the whole account.
// Classification: 401 → Unauthenticated naming FRESHDESK_API_KEY (stop the job); 403 → PermissionDenied
// (skip that stream, report it); 404 → NotFound (the caller runs its deletion/archive check); the tickets
// list's page-cap 400 → InvalidArgument for which IsPageCap() is true (re-window); other 400 → InvalidArgument.
// The API key is sent as Basic auth "key:X" and never appears in any message.
//
// Thread-safe: Get, GetUrl, GetMany, GetAllPages and GetAllPagesMany may be called from several threads
// (requests in parallel need an HttpClient whose IsThreadSafe() is true, like MakeCurlHttpClient(); with
// any other HttpClient, e.g. the scripted fake of the tests, GetMany runs its requests one after another in
// order). last_error() is the only per-client state: read it only from a single-threaded caller. The
// HttpClient passed in must outlive the client.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "core/task_pool.h"
#include "net/account_requester.h"
#include "net/circuit_breaker.h"
#include "net/clock.h"
#include "net/http_client.h"
#include "net/rate_governor.h"

namespace deskpipe::freshdesk {

// The X-RateLimit-* headers of the last response (absent ones stay empty).
using RateHeaders = net::RateHeaders;

// One parsed response.
struct FreshdeskPage {
  nlohmann::json body;   // the parsed JSON body
  std::string next_url;  // absolute URL of the next page from the `link` header; "" on the last page
  RateHeaders rate;
  // Fetched for GetAllPages only: each element's JSON text as sent when the body is an array (ParseJsonText).
  std::vector<std::string> item_texts;
};

// One element of a listing: its value, and its JSON text as sent, so a record keeps the payload as text without
// serializing the value again ("" when the page was not sliceable: serialize the value then).
struct ApiItem {
  nlohmann::json value;
  std::string text;
};

// One entry of a Freshdesk error body's `errors` array.
struct FreshdeskFieldError {
  std::string field;
  std::string message;
  std::string code;
};

// The structured details of the last failed request (Status keeps only a code and a message).
struct FreshdeskError {
  long http_status = 0;
  std::string description;  // body "description" or "message"
  std::string code;         // body "code" (the {code, message} shape)
  std::vector<FreshdeskFieldError> errors;
  bool page_cap = false;  // the tickets list's "beyond the 300th page" 400 (API.md §3)
};

struct FreshdeskClientOptions {
  double rate_limit_delay = 0;  // RATE_LIMIT_DELAY: minimum seconds between two request starts
  int max_attempts = 4;         // attempts per request for Unavailable (5xx, resets, timeouts) (≥ 1)
  // 429 answers tolerated per request, counted apart from max_attempts (each waits its Retry-After, so a 429
  // storm is waited out instead of failing the request). 0 ⇒ max(max_attempts, 10), or 1 when max_attempts
  // is 1.
  int max_rate_limited_attempts = 0;
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds default_retry_after{60000};  // a 429 without a usable Retry-After
  std::chrono::milliseconds backoff_base{1000};          // first Unavailable retry waits ~this, then doubles
  std::chrono::milliseconds backoff_max{60000};          // cap of the doubling
  std::chrono::milliseconds retry_after_jitter{250};     // added (uniformly 0..this) to a Retry-After wait
  // MAX_CONCURRENT_REQUESTS (requests in flight for the account) and --api-budget-share (fraction of the
  // account's budget this process may use); unset = taken from the Config by ApplyConfigToClientOptions,
  // else 4 and 1.0.
  std::optional<int> max_concurrent_requests;
  std::optional<double> api_budget_share;
  // Length of the server's rate-limit "minute" (the emulator's --minute-seconds shortens it).
  std::chrono::milliseconds rate_window{60000};
  int circuit_failure_threshold = 5;                 // consecutive transient failures that open the breaker
  std::chrono::milliseconds circuit_open_for{30000};  // first open period (doubles on a failed probe)
  // How long the account may stay unreachable — the breaker open, counted from when it first opened after the
  // last success — while requests wait for its half-open probe (a short outage is ridden out). Once it has
  // passed, every request of the account fails at once, naming the outage (the sync fails rather than hang).
  // 0 ⇒ an open breaker fails the request at once. Unset: unreachable_timeout from the Config
  // (ApplyConfigToClientOptions), else 600 s.
  std::optional<std::chrono::milliseconds> circuit_wait_max;
  // While the breaker is open, a warning naming host:port, the cause and until when requests are retried is
  // logged when it opens and then once per this interval.
  std::chrono::milliseconds outage_report_interval{60000};
  // The account's governor and breaker. Unset: one shared by every client of the same api_base in the process
  // (created by the first; its options win) — unless a clock or sleep/now is injected, then private ones.
  std::shared_ptr<net::RateGovernor> governor;
  std::shared_ptr<net::CircuitBreaker> breaker;
  // Time source for waits (tests: a net::FakeClock). Default: the system clock.
  std::shared_ptr<net::Clock> clock;
  // Older injection points, still honoured when `clock` is unset: how to wait and what time it is. `sleep`
  // is assumed not to move `now` (the client adds the time slept to it).
  std::function<void(std::chrono::milliseconds)> sleep;
  std::function<std::chrono::steady_clock::time_point()> now;
};

// Fills the options the config decides: rate_limit_delay (when ≤ 0) from RATE_LIMIT_DELAY,
// max_concurrent_requests (when unset) from MAX_CONCURRENT_REQUESTS, api_budget_share (when unset) from
// --api-budget-share, circuit_wait_max (when unset) from unreachable_timeout. FreshdeskSource::Create should call it on the options it is given.
void ApplyConfigToClientOptions(const Config& config, FreshdeskClientOptions* options);

// True for the tickets list's "beyond the 300th page" 400 (API.md §3): the caller starts a new window.
bool IsPageCap(const Status& status);

class FreshdeskClient {
 public:
  // `api_base` is the absolute API root, e.g. "https://acme.freshdesk.com/api/v2" (no trailing slash).
  FreshdeskClient(std::string api_base, std::string api_key, net::HttpClient& http,
                  FreshdeskClientOptions options = {});

  FreshdeskClient(const FreshdeskClient&) = delete;
  FreshdeskClient& operator=(const FreshdeskClient&) = delete;

  // GET {api_base}/{path_and_query}, e.g. Get("tickets?updated_since=…&page=2").
  Result<FreshdeskPage> Get(const std::string& path_and_query);

  // GET an absolute URL taken from a `link` header. It must be on the API base's origin (scheme, host, port),
  // so the key is never sent elsewhere; InvalidArgument otherwise.
  Result<FreshdeskPage> GetUrl(const std::string& absolute_url);

  // GETs every path (as Get takes it) with up to max_concurrent_requests in flight, each governed, retried
  // and classified like Get. Results are in the order of `paths_and_queries`. After a 401 no further request
  // is sent (the rest get the same Unauthenticated). Blocks until all are done.
  std::vector<Result<FreshdeskPage>> GetMany(const std::vector<std::string>& paths_and_queries);

  // GET path_and_query, then every rel="next" page; the elements of all pages' JSON arrays, in order.
  // A non-array page body is Unavailable naming the path.
  Result<std::vector<ApiItem>> GetAllPages(const std::string& path_and_query);

  // GetAllPages for many paths at once (e.g. the conversations of many tickets: each
  // "tickets/{id}/conversations?per_page=100"): pages of one path go in sequence, different paths run
  // concurrently (up to max_concurrent_requests). Results in the order of `paths_and_queries`; a failure of
  // one path (e.g. NotFound for a ticket deleted meanwhile) does not stop the others (a 401 does).
  std::vector<Result<std::vector<ApiItem>>> GetAllPagesMany(const std::vector<std::string>& paths_and_queries);

  // Details of the last failure of Get/GetUrl (reset on every call). Single-threaded callers only.
  const FreshdeskError& last_error() const { return last_error_; }

  const std::string& api_base() const { return api_base_; }
  // The account's governor and breaker (shared with other clients of the account), e.g. for stats.
  net::RateGovernor& governor() { return requester_->governor(); }
  net::CircuitBreaker& breaker() { return *requester_->breaker(); }
  int max_concurrent_requests() const { return max_concurrent_; }

 private:
  static constexpr int kMostConcurrentRequests = 64;  // the cap on max_concurrent_requests

  // With `item_texts`, the page's item_texts are filled.
  Result<FreshdeskPage> Fetch(const std::string& url, const std::string& what, FreshdeskError* details,
                              bool item_texts = false);
  Result<std::vector<ApiItem>> FetchAllPages(const std::string& path_and_query);
  // Runs task(i) for i in [0, count) on up to max_concurrent_ threads, this one and requests_' (in order on
  // this thread when the HttpClient is not thread-safe).
  void RunParallel(size_t count, const std::function<void(size_t)>& task);
  std::string UrlFor(const std::string& path_and_query) const;

  std::string api_base_;
  std::string api_key_;
  net::HttpClient& http_;
  FreshdeskClientOptions options_;
  int max_concurrent_ = 4;
  // The account's request layer: governor, breaker and retries (Freshdesk's AccountPolicy).
  std::unique_ptr<net::AccountRequester> requester_;
  FreshdeskError last_error_;
  // Helpers for RunParallel: started as calls need them, so at most max_concurrent_ - 1 ever run.
  TaskPool requests_{kMostConcurrentRequests - 1};
};

// What the rate governor needs to know of a request to `path_and_query` (relative to the API root, query
// included): its cost key (method + path with ids replaced by {id} + its include list), its sub-budget
// ("tickets_list", "contacts_list" or "") and its documented cost (tickets list: 1 + 2 per include value;
// ticket view: 1 + 1 per include; others 1).
net::RequestTicket FreshdeskRequestTicket(const std::string& path_and_query);

// Calls per window of the tickets-list / contacts-list sub-budgets for an account whose X-RateLimit-Total is
// `total` (API.md §4 table: 200→20, 400→100, 700→200, 1000→300, 2000→400; unknown plans: the nearest
// smaller plan's, and none below 200 (trial)).
std::optional<int64_t> FreshdeskSubLimit(const std::string& bucket, int64_t total);

// The `rel="next"` URL of a `link` header value, or "".
std::string ParseNextLink(const std::string& link_header);

// Classifies a non-2xx response; fills `details`. `what` names the request (path, never the key).
Status ClassifyFreshdeskError(const net::HttpResponse& response, const std::string& what,
                              FreshdeskError* details);

// The API root from the config (see DESIGN / API.md §1):
// - freshdesk_base_url (a helpdesk root such as "http://127.0.0.1:8080"; "/api/v2" is appended) — accepted
// only
//   when its host is loopback (127.0.0.0/8, localhost, ::1) or listed in allowed_hosts;
// - else freshdesk_domain "acme", "acme.freshdesk.com" (an https:// prefix or trailing '/' tolerated)
//   → "https://acme.freshdesk.com/api/v2";
// - else InvalidArgument. Also InvalidArgument when the API key is empty.
Result<std::string> ResolveFreshdeskApiBase(const Config& config);

// "https://acme.freshdesk.com/api/v2" → "https://acme.freshdesk.com" (for deep links).
std::string PortalUrlFromApiBase(const std::string& api_base);

}  // namespace deskpipe::freshdesk
