// CircuitBreaker: stops a failing account from being hammered. Closed: requests flow; `failure_threshold`
// consecutive transient failures open it. Open: requests are refused at once (Unavailable, with the time
// to wait as retry_after) for `open_for`. Then half-open: exactly one request (the probe) is let through;
// its success closes the breaker, its failure re-opens it for twice as long (capped at `max_open_for`).
// Only transient failures count (5xx, timeouts, resets); a 4xx or a 429 says the server is up.
// Thread-safe: one instance per account shared by every request (std::shared_ptr).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
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
  void RecordFailure(const Admission& admission);
  // The attempt ended without telling anything about the server (e.g. cancelled): frees the probe slot.
  void RecordNeutral(const Admission& admission);

  State state() const;
  int times_opened() const;

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
};

std::string_view CircuitStateName(CircuitBreaker::State state);

}  // namespace deskpipe::net
