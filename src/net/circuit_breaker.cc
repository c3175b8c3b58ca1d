#include "net/circuit_breaker.h"

#include <algorithm>

namespace deskpipe::net {

std::string_view CircuitStateName(CircuitBreaker::State state) {
  switch (state) {
    case CircuitBreaker::State::kClosed: return "closed";
    case CircuitBreaker::State::kOpen: return "open";
    case CircuitBreaker::State::kHalfOpen: return "half-open";
  }
  return "unknown";
}

CircuitBreaker::CircuitBreaker(CircuitBreakerOptions options)
    : options_(std::move(options)),
      clock_(options_.clock ? options_.clock : SystemClock()),
      current_open_for_(options_.open_for) {
  options_.failure_threshold = std::max(options_.failure_threshold, 1);
  if (options_.max_open_for < options_.open_for) options_.max_open_for = options_.open_for;
}

Status CircuitBreaker::Allow(const std::string& what, Admission* admission) {
  std::lock_guard<std::mutex> lock(mu_);
  *admission = Admission{};
  if (state_ == State::kClosed) return Status::Ok();
  auto now = clock_->Now();
  if (state_ == State::kOpen && now >= open_until_) state_ = State::kHalfOpen;
  if (state_ == State::kHalfOpen && !probe_in_flight_) {
    probe_in_flight_ = true;
    admission->is_probe = true;
    return Status::Ok();
  }
  // Open, or half-open with the probe still out: refuse without touching the server.
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(open_until_ - now);
  if (wait.count() <= 0) wait = std::chrono::milliseconds(std::min<int64_t>(1000, options_.open_for.count()));
  Status refused = Unavailable("not sending " + what + ": the circuit breaker is " +
                               std::string(CircuitStateName(state_)) + " after " +
                               std::to_string(consecutive_failures_) +
                               " consecutive transient failures of the account; next probe in " +
                               std::to_string((wait.count() + 999) / 1000) + "s");
  refused.set_retry_after(wait);
  return refused;
}

void CircuitBreaker::RecordSuccess(const Admission& admission) {
  std::lock_guard<std::mutex> lock(mu_);
  if (admission.is_probe) probe_in_flight_ = false;
  consecutive_failures_ = 0;
  state_ = State::kClosed;
  current_open_for_ = options_.open_for;
  open_since_.reset();
  last_report_.reset();
  ever_answered_ = true;
}

void CircuitBreaker::RecordFailure(const Admission& admission, std::string cause) {
  std::lock_guard<std::mutex> lock(mu_);
  ++consecutive_failures_;
  if (!cause.empty()) last_cause_ = std::move(cause);
  auto now = clock_->Now();
  if (admission.is_probe) {
    probe_in_flight_ = false;
    current_open_for_ = std::min(current_open_for_ * 2, options_.max_open_for);
    OpenLocked(now);
    return;
  }
  if (state_ == State::kClosed && consecutive_failures_ >= options_.failure_threshold) OpenLocked(now);
}

void CircuitBreaker::RecordNeutral(const Admission& admission) {
  std::lock_guard<std::mutex> lock(mu_);
  if (admission.is_probe) probe_in_flight_ = false;
}

void CircuitBreaker::OpenLocked(Clock::TimePoint now) {
  state_ = State::kOpen;
  open_until_ = now + current_open_for_;
  if (!open_since_) open_since_ = now;
  ++times_opened_;
}

CircuitBreaker::State CircuitBreaker::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (state_ == State::kOpen && clock_->Now() >= open_until_) return State::kHalfOpen;
  return state_;
}

int CircuitBreaker::times_opened() const {
  std::lock_guard<std::mutex> lock(mu_);
  return times_opened_;
}

std::optional<Clock::TimePoint> CircuitBreaker::open_since() const {
  std::lock_guard<std::mutex> lock(mu_);
  return open_since_;
}

bool CircuitBreaker::ever_answered() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ever_answered_;
}

std::string CircuitBreaker::last_cause() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_cause_;
}

bool CircuitBreaker::TakeReportTurn(std::chrono::milliseconds interval) {
  std::lock_guard<std::mutex> lock(mu_);
  if (state_ == State::kClosed) return false;
  auto now = clock_->Now();
  if (last_report_ && now - *last_report_ < interval) return false;
  last_report_ = now;
  return true;
}

}  // namespace deskpipe::net
