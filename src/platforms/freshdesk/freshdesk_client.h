// FreshdeskClient: GETs Freshdesk API v2 JSON pages over an HttpClient, classifies every failure into a
// Status (API.md §5), follows `link: <…>; rel="next"` headers, spaces requests by RATE_LIMIT_DELAY and
// retries rate limits (sleeping Retry-After) and transient faults (exponential backoff with jitter) a bounded
// number of times. The API key is sent as Basic auth "key:X" and never appears in any message.
//
// Not thread-safe: one instance per task. The HttpClient passed in must outlive it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "net/http_client.h"

namespace deskpipe::freshdesk {

// The X-RateLimit-* headers of the last response (absent ones stay empty).
struct RateHeaders {
  std::optional<int64_t> total;
  std::optional<int64_t> remaining;
  std::optional<int64_t> used_current_request;
};

// One parsed response.
struct FreshdeskPage {
  nlohmann::json body;   // the parsed JSON body
  std::string next_url;  // absolute URL of the next page from the `link` header; "" on the last page
  RateHeaders rate;
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
  double rate_limit_delay = 0;  // RATE_LIMIT_DELAY: minimum seconds between two requests
  int max_attempts = 4;         // attempts per request for RateLimited / Unavailable (≥ 1)
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds default_retry_after{60000};  // a 429 without a usable Retry-After
  std::chrono::milliseconds backoff_base{1000};          // first Unavailable retry waits ~this, then doubles
  // Injected for tests: how to wait and what time it is (defaults: std::this_thread::sleep_for,
  // steady_clock).
  std::function<void(std::chrono::milliseconds)> sleep;
  std::function<std::chrono::steady_clock::time_point()> now;
};

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

  // Details of the last failure (reset on every call).
  const FreshdeskError& last_error() const { return last_error_; }

  const std::string& api_base() const { return api_base_; }

 private:
  Result<FreshdeskPage> Fetch(const std::string& url, const std::string& what);
  Result<FreshdeskPage> FetchOnce(const std::string& url, const std::string& what);
  void Sleep(std::chrono::milliseconds wait);
  std::chrono::steady_clock::time_point Now() const;

  std::string api_base_;
  std::string api_key_;
  net::HttpClient& http_;
  FreshdeskClientOptions options_;
  FreshdeskError last_error_;
  std::optional<std::chrono::steady_clock::time_point> last_request_;
  std::mt19937 rng_;
};

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
