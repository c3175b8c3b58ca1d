#include "net/account_requester.h"

#include <algorithm>
#include <map>
#include <utility>

#include "core/log.h"
#include "core/time.h"
#include "net/url.h"

namespace deskpipe::net {
namespace {

using std::chrono::milliseconds;

// One governor and one breaker per account in the process, alive while a requester holds them.
template <typename T>
std::shared_ptr<T> SharedPerAccount(const std::string& account, const std::function<std::shared_ptr<T>()>& make) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<T>> registry;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = registry[account];
  if (auto existing = slot.lock()) return existing;
  auto created = make();
  slot = created;
  return created;
}

std::string HostPort(const std::string& base_url) {
  auto parts = ParseUrl(base_url);
  if (!parts) return base_url;
  const std::string host = parts->host.find(':') != std::string::npos ? "[" + parts->host + "]" : parts->host;
  return host + ":" + (!parts->port.empty() ? parts->port : parts->scheme == "https" ? "443" : "80");
}

// "06:12:05 UTC" for a point of `clock`'s time, through the wall clock.
std::string WallTimeOfDay(Clock& clock, Clock::TimePoint at) {
  const auto wall = std::chrono::system_clock::now() +
                    std::chrono::duration_cast<std::chrono::system_clock::duration>(at - clock.Now());
  const std::string stamp = FormatTimestamp(std::chrono::system_clock::to_time_t(wall));  // …THH:MM:SSZ
  const size_t t = stamp.find('T');
  return (t == std::string::npos ? stamp : stamp.substr(t + 1, 8)) + " UTC";
}

SendOutcome OutOfAttempts(SendOutcome outcome) {
  outcome.out_of_attempts = true;
  return outcome;
}

std::string SecondsText(milliseconds ms) { return std::to_string((ms.count() + 999) / 1000) + " s"; }

// What a failed attempt says about the server. `http_status` is 0 when no error response came back.
std::string FailureCause(const Status& error, long http_status) {
  if (http_status >= 500) return "answers HTTP " + std::to_string(http_status);
  if (http_status == 0 && error.message().find(" failed (") != std::string::npos) {
    return DescribeTransportFailure(error.message());
  }
  return "sends unusable responses";
}

}  // namespace

AccountRequester::AccountRequester(AccountPolicy policy)
    : policy_(std::move(policy)),
      host_port_(HostPort(policy_.base_url)),
      clock_(policy_.clock ? policy_.clock : SystemClock()),
      rng_(std::random_device{}()) {
  policy_.retry.max_attempts = std::max(policy_.retry.max_attempts, 1);
  policy_.unreachable_timeout = std::max(policy_.unreachable_timeout, milliseconds(0));

  auto make_governor = [&] {
    RateGovernorOptions options = policy_.budget;
    options.clock = clock_;
    return std::make_shared<RateGovernor>(std::move(options));
  };
  if (policy_.shared_governor) {
    governor_ = policy_.shared_governor;
  } else if (policy_.account.empty()) {
    governor_ = make_governor();
  } else {
    governor_ = SharedPerAccount<RateGovernor>(policy_.account, make_governor);
  }

  if (!policy_.breaker) return;
  auto make_breaker = [&] {
    CircuitBreakerOptions options = *policy_.breaker;
    options.clock = clock_;
    return std::make_shared<CircuitBreaker>(std::move(options));
  };
  if (policy_.shared_breaker) {
    breaker_ = policy_.shared_breaker;
  } else if (policy_.account.empty()) {
    breaker_ = make_breaker();
  } else {
    breaker_ = SharedPerAccount<CircuitBreaker>(policy_.account, make_breaker);
  }
}

milliseconds AccountRequester::Backoff(int failure_number, const Status& error) {
  std::lock_guard<std::mutex> lock(rng_mu_);
  return policy_.retry.Backoff(failure_number, error, rng_);
}

SendOutcome AccountRequester::Send(HttpClient& http, const HttpRequest& request, const RequestTicket& ticket,
                                   const std::string& what, const ResponseReader& reader) {
  SendOutcome outcome;
  const bool separate_rate_limits = policy_.max_rate_limited_attempts > 0;
  int transient_failures = 0;  // with shared allowance: every failure
  int rate_limited = 0;
  for (;;) {
    CircuitBreaker::Admission admission;
    if (breaker_) {
      if (Status over = OutageOver(what); !over.ok()) {
        outcome.status = over;
        outcome.refused = true;
        return outcome;
      }
      Status gate = breaker_->Allow(what, &admission);
      if (!gate.ok()) {
        // Open: wait for the half-open probe until the account's outage bound (every waiting request comes
        // back; one becomes the probe, the others are refused again until it succeeds).
        if (policy_.unreachable_timeout.count() <= 0) {
          outcome.status = gate;
          outcome.refused = true;
          return outcome;
        }
        const auto since = breaker_->open_since().value_or(clock_->Now());
        const auto deadline = since + policy_.unreachable_timeout;
        ReportOutage(deadline);
        auto wait = gate.retry_after().value_or(policy_.breaker->open_for);
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - clock_->Now());
        wait = std::max(std::min(wait, left), milliseconds(1));
        clock_->SleepFor(wait);
        continue;
      }
    }
    ++outcome.attempts;
    Attempt attempt = SendOnce(http, request, ticket, reader, transient_failures + 1);
    outcome.status = attempt.status;
    outcome.cause = attempt.cause;
    const Status& last = outcome.status;
    if (breaker_) {
      // Only transient failures say the server is unwell; a 4xx or a 429 is an answer.
      if (last.code() == StatusCode::kUnavailable) {
        breaker_->RecordFailure(admission, attempt.cause);
      } else {
        breaker_->RecordSuccess(admission);
      }
    }
    if (last.ok()) return outcome;
    if (!RetryPolicy::IsRetryable(last.code()) || attempt.final) return outcome;
    if (last.code() == StatusCode::kRateLimited) {
      // The governor already paused the account: the next Acquire waits it out, here as in every other
      // request of the account.
      if (separate_rate_limits) {
        // A 429 is the server pacing the account, not a failure of this request: a burst of them (another
        // app on the account, a storm) does not use up the attempts meant for 5xx and resets.
        if (++rate_limited >= policy_.max_rate_limited_attempts) return OutOfAttempts(std::move(outcome));
      } else if (++transient_failures >= policy_.retry.max_attempts) {
        return OutOfAttempts(std::move(outcome));
      }
      continue;
    }
    if (++transient_failures >= policy_.retry.max_attempts) {
      if (!breaker_) return OutOfAttempts(std::move(outcome));
      // During an outage the account's bound decides, not this request's attempts (OutageOver). A server
      // that answered before and now fails a lone request gets the attempts that open the breaker; one
      // never reached (a wrong URL, a dead port) fails after max_attempts.
      const bool bounded = policy_.unreachable_timeout.count() > 0;
      if (bounded && breaker_->open_since()) continue;
      if (!bounded || !breaker_->ever_answered() || transient_failures >= breaker_->failure_threshold()) {
        return OutOfAttempts(std::move(outcome));
      }
    }
    clock_->SleepFor(Backoff(transient_failures, last));
  }
}

AccountRequester::Attempt AccountRequester::SendOnce(HttpClient& http, const HttpRequest& request,
                                                     const RequestTicket& ticket, const ResponseReader& reader,
                                                     int failure_number) {
  RateGovernor::Permit permit = governor_->Acquire(ticket);
  auto response = http.Send(request);
  Attempt attempt;
  attempt.status = reader.classify(response);
  if (!response) {
    permit.Complete(ResponseCredits{});  // may have reached the server: keep the reservation
    attempt.cause = FailureCause(attempt.status, 0);
    return attempt;
  }
  RateHeaders rate;
  if (policy_.read_rate_headers) rate = policy_.read_rate_headers(*response);
  std::optional<milliseconds> pause;
  if (attempt.status.code() == StatusCode::kRateLimited) {
    if (!attempt.status.retry_after() && policy_.read_retry_after) {
      if (auto wait = policy_.read_retry_after(*response)) attempt.status.set_retry_after(*wait);
    }
    const auto asked = attempt.status.retry_after();
    if (policy_.max_retry_after && asked && *asked > *policy_.max_retry_after) {
      attempt.final = true;  // longer than a request of this account may stall
    } else {
      // The whole account is out: pause every request of it, not only this one.
      pause = Backoff(failure_number, attempt.status);
    }
  }
  permit.Complete(ResponseCredits{rate.total, rate.remaining, rate.used_current_request, true, pause});
  const long error_status = attempt.status.ok() ? 0 : response->status;  // a usable answer that fails to read: 0
  if (attempt.status.ok() && reader.take) attempt.status = reader.take(*response);
  if (!attempt.status.ok()) attempt.cause = FailureCause(attempt.status, error_status);
  return attempt;
}

Status AccountRequester::Explain(const SendOutcome& outcome) const {
  Status status = outcome.status;
  if (outcome.refused || status.ok()) return status;
  if (outcome.attempts > 1 &&
      (status.code() == StatusCode::kRateLimited || status.code() == StatusCode::kUnavailable)) {
    status = status.WithContext("gave up after " + std::to_string(outcome.attempts) + " attempts");
  }
  if (breaker_ && status.code() == StatusCode::kUnavailable) {
    status = status.WithContext(host_port_ + " " + outcome.cause);
  }
  return status;
}

Status AccountRequester::OutageOver(const std::string& what) {
  if (policy_.unreachable_timeout.count() <= 0) return Status::Ok();
  const auto since = breaker_->open_since();
  if (!since || clock_->Now() < *since + policy_.unreachable_timeout) return Status::Ok();
  std::string cause = breaker_->last_cause();
  if (cause.empty()) cause = "fails requests";
  return Unavailable(host_port_ + " " + cause + ": the circuit breaker is open since " +
                     WallTimeOfDay(*clock_, *since) + ", longer than unreachable_timeout (" +
                     SecondsText(policy_.unreachable_timeout) + "); not sending " + what);
}

void AccountRequester::ReportOutage(Clock::TimePoint deadline) {
  if (!breaker_->TakeReportTurn(policy_.outage_report_interval)) return;
  std::string cause = breaker_->last_cause();
  if (cause.empty()) cause = "fails requests";
  const std::string until = WallTimeOfDay(*clock_, deadline);
  log::Warn(host_port_ + " " + cause + "; circuit open, retrying until " + until,
            {{"host", host_port_}, {"cause", cause}, {"until", until}});
}

}  // namespace deskpipe::net
