// CircuitBreaker: stops a failing account from being hammered. Closed: requests flow; `failure_threshold`
// consecutive transient failures open it. Open: requests are refused at once (Unavailable, with the time
// to wait as retry_after) for `open_for`. Then half-open: exactly one request (the probe) is let through;
// its success closes the breaker, its failure re-opens it for twice as long (capped at `max_open_for`).
// Only transient failures count (5xx, timeouts, resets); a 4xx or a 429 says the server is up.
// It also keeps the account's outage for the caller to report and bound: when it first opened after the last
// success (open_since), the last failure's cause, and whose turn it is to log the outage (TakeReportTurn).
// Thread-safe: one instance per account shared by every request (std::shared_ptr).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/status.h"
#include "net/clock.h"

namespace deskpipe::net {

struct CircuitBreakerOptions {
  int failure_threshold = 5;
  std::chrono::milliseconds open_for{30'000};
  std::chrono::milliseconds max_open_for{300'000};
  std::shared_ptr<Clock> clock;  // default SystemClock()
};

class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };

  // The caller's ticket for one attempt: is_probe tells Record* that this attempt was the half-open probe.
  struct Admission {
    bool is_probe = false;
  };

  explicit CircuitBreaker(CircuitBreakerOptions options = {});

  // OK to send (fills *admission), or Unavailable naming `what`, with retry_after = time until a probe may go.
  Status Allow(const std::string& what, Admission* admission);
  void RecordSuccess(const Admission& admission);
  // `cause` says what went wrong (e.g. "refuses connections"); kept for last_cause().
  void RecordFailure(const Admission& admission, std::string cause = {});
  // The attempt ended without telling anything about the server (e.g. cancelled): frees the probe slot.
  void RecordNeutral(const Admission& admission);

  State state() const;
  int times_opened() const;
  int failure_threshold() const { return options_.failure_threshold; }
  // True once any attempt got an answer (RecordSuccess): the server was reachable at some point.
  bool ever_answered() const;

  // When the breaker opened after the last success; nullopt while it is closed. Re-opening after a failed
  // probe keeps the first time: an outage lasts from its first open to the next success.
  std::optional<Clock::TimePoint> open_since() const;
  // The cause given with the last failure ("" when none was given).
  std::string last_cause() const;
  // True for one caller per `interval` while the breaker is not closed (and for the first caller after it
  // opens), so an outage is reported once per interval for the whole account rather than by every request.
  bool TakeReportTurn(std::chrono::milliseconds interval);

 private:
  void OpenLocked(Clock::TimePoint now);

  CircuitBreakerOptions options_;
  std::shared_ptr<Clock> clock_;
  mutable std::mutex mu_;
  State state_ = State::kClosed;
  int consecutive_failures_ = 0;
  std::chrono::milliseconds current_open_for_;
  Clock::TimePoint open_until_{};
  bool probe_in_flight_ = false;
  int times_opened_ = 0;
  bool ever_answered_ = false;
  std::optional<Clock::TimePoint> open_since_;
  std::optional<Clock::TimePoint> last_report_;
  std::string last_cause_;
};

std::string_view CircuitStateName(CircuitBreaker::State state);

}  // namespace deskpipe::net
