// AccountRequester: the one request layer of an API account. Every request of a helpdesk platform or of a
// remote model service goes through Send, which
//   - waits while the account's circuit breaker is open (riding out an outage up to unreachable_timeout,
//     reporting it once per outage_report_interval), when the policy has a breaker;
//   - takes a permit of the account's RateGovernor (budget read from the rate headers, concurrency, spacing,
//     the pause a 429 set), sends, and gives the permit back with what the response said;
//   - retries what the client classified as transient (kUnavailable) or rate limited (kRateLimited): a 429
//     pauses every request of the account for its Retry-After, a transient failure backs off (RetryPolicy);
//     this is the only place that sleeps for a retry.
// What differs between APIs is an AccountPolicy: how to read the rate headers and Retry-After, the retry
// bounds and backoff, the budget share and concurrency, the breaker and the unreachable timeout. What a
// response means (which status is a 429, a 5xx, a usable answer; the error's wording) stays with the client,
// in the ResponseReader it passes to Send.
//
// Sharing: requesters built with the same non-empty AccountPolicy::account share the governor and the breaker
// (the first one's options win), so every client of an account in the process is budgeted and broken as one.
//
// Thread-safety: Send may run on several threads at once. Lifetime: the governor and breaker live while a
// requester holds them; the HttpClient given to Send must outlive the call.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>

#include "core/status.h"
#include "net/circuit_breaker.h"
#include "net/clock.h"
#include "net/http_client.h"
#include "net/rate_governor.h"
#include "net/retry_policy.h"

namespace deskpipe::net {

// The rate headers of one response (absent ones stay empty).
struct RateHeaders {
  std::optional<int64_t> total;
  std::optional<int64_t> remaining;
  std::optional<int64_t> used_current_request;
};

struct AccountPolicy {
  // Requesters with the same key share the governor and breaker (e.g. the API root); "" keeps them private.
  std::string account;
  // The API root; its host:port names the account in outage messages ("acme.freshdesk.com:443 refuses…").
  std::string base_url;

  // How a response states the budget (e.g. X-RateLimit-Total/-Remaining/-Used-CurrentRequest); null: it
  // does not, and only concurrency, spacing and pauses govern.
  std::function<RateHeaders(const HttpResponse&)> read_rate_headers;
  // The wait a 429 asks for (Retry-After); used when the client's Status carries none. Null: none.
  std::function<std::optional<std::chrono::milliseconds>(const HttpResponse&)> read_retry_after;

  // Backoff and max_attempts: the attempts a request gets for transient failures.
  RetryPolicy retry;
  // 429s a request may get, counted apart from retry.max_attempts (a 429 storm is waited out without using
  // up the attempts meant for 5xx). 0: 429s count among retry.max_attempts.
  int max_rate_limited_attempts = 0;
  // A 429 asking for a longer wait fails the request at once (and pauses nothing). Unset: any wait is kept.
  std::optional<std::chrono::milliseconds> max_retry_after;

  // Budget share, concurrency, spacing, window, sub-budgets (its clock is replaced by `clock`).
  RateGovernorOptions budget;

  // The breaker; unset: none (no outage waiting, no outage naming).
  std::optional<CircuitBreakerOptions> breaker;
  // How long the account may stay unreachable (breaker open, counted from its first opening after the last
  // success) while requests wait for its half-open probe; then every request fails at once naming the
  // outage. 0: an open breaker fails the request at once.
  std::chrono::milliseconds unreachable_timeout{600'000};
  // While the breaker is open, the outage warning is logged when it opens and then once per this interval.
  std::chrono::milliseconds outage_report_interval{60'000};

  // Time source of every wait (tests: FakeClock). Default: SystemClock().
  std::shared_ptr<Clock> clock;
  // Use these instead of building or looking up the account's own (tests, benchmarks).
  std::shared_ptr<RateGovernor> shared_governor;
  std::shared_ptr<CircuitBreaker> shared_breaker;
};

// What the client that knows the API makes of each attempt.
struct ResponseReader {
  // The attempt's Status from what came back: OK for a usable answer, else the failure classified — a 429
  // as kRateLimited, 5xx/timeouts/resets as kUnavailable (retried), anything else final. Runs before the
  // request's budget slot is freed: keep it cheap. Must not put secrets in messages.
  std::function<Status(const Result<HttpResponse>& response)> classify;
  // Takes a usable answer (e.g. parses its body); a failure is treated like a classified one. Optional.
  std::function<Status(HttpResponse& response)> take;
};

// How a Send ended.
struct SendOutcome {
  Status status;      // OK, or the last failure as classified (or the breaker's refusal)
  int attempts = 0;   // requests sent
  // The account's breaker or its unreachable bound refused the request (status says so); nothing more to add.
  bool refused = false;
  // The failure was worth retrying but the attempts allowed ran out.
  bool out_of_attempts = false;
  // What the last failure says about the server after "host:port ": "answers HTTP 503", "refuses
  // connections", "sends unusable responses"; "" after a success.
  std::string cause;

  bool ok() const { return status.ok(); }
};

class AccountRequester {
 public:
  explicit AccountRequester(AccountPolicy policy);
  AccountRequester(const AccountRequester&) = delete;
  AccountRequester& operator=(const AccountRequester&) = delete;

  // Sends `request` until it succeeds or must stop (see the top). `ticket` is what the governor charges;
  // `what` names the request in the layer's own messages (never a secret).
  SendOutcome Send(HttpClient& http, const HttpRequest& request, const RequestTicket& ticket,
                   const std::string& what, const ResponseReader& reader);

  // The outcome's status worded for the caller: "gave up after N attempts" once several were sent for a
  // transient or rate-limited failure, and, for an account with a breaker, "host:port <cause>" before an
  // unavailable one. A refusal is returned as is.
  Status Explain(const SendOutcome& outcome) const;

  const std::string& host_port() const { return host_port_; }
  RateGovernor& governor() { return *governor_; }
  // Null when the policy has no breaker.
  CircuitBreaker* breaker() { return breaker_.get(); }
  const AccountPolicy& policy() const { return policy_; }

 private:
  struct Attempt {
    Status status;
    std::string cause;
    bool final = false;  // a 429 asking for longer than max_retry_after
  };
  // One request through the governor. `failure_number` is the count this failure would have (its backoff).
  Attempt SendOnce(HttpClient& http, const HttpRequest& request, const RequestTicket& ticket,
                   const ResponseReader& reader, int failure_number);
  std::chrono::milliseconds Backoff(int failure_number, const Status& error);
  // Unavailable naming the outage once the breaker has been open for unreachable_timeout; OK otherwise.
  Status OutageOver(const std::string& what);
  // Logs the outage warning when it is this request's turn (one per outage_report_interval per account).
  void ReportOutage(Clock::TimePoint deadline);

  AccountPolicy policy_;
  std::string host_port_;
  std::shared_ptr<Clock> clock_;
  std::shared_ptr<RateGovernor> governor_;
  std::shared_ptr<CircuitBreaker> breaker_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
};

}  // namespace deskpipe::net
