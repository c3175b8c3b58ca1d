// RetryPolicy: which failures are worth another attempt and how long to wait before it. Transient failures
// (kUnavailable: 5xx, timeouts, resets) back off exponentially with random jitter, capped; a rate limit
// (kRateLimited) waits the server's Retry-After plus a little jitter; everything else is final. Bounded by
// max_attempts.
// Value type. Backoff() takes the random generator so callers decide about sharing it.
#pragma once

#include <chrono>
#include <optional>
#include <random>

#include "core/status.h"

namespace deskpipe::net {

struct RetryPolicy {
  int max_attempts = 4;                            // attempts per request, ≥ 1
  std::chrono::milliseconds backoff_base{1000};    // wait after the first transient failure
  std::chrono::milliseconds backoff_max{60'000};   // cap of the exponential part
  double backoff_jitter = 0.5;                     // + uniform [0, jitter × backoff]
  // Take the jitter off the backoff instead of adding it: waits in [backoff × (1 − jitter), backoff], so the
  // cap is never passed.
  bool jitter_lowers = false;
  // A 429 without a usable Retry-After; unset: back off as after a transient failure.
  std::optional<std::chrono::milliseconds> default_retry_after{60'000};
  std::chrono::milliseconds retry_after_jitter{250};      // + uniform [0, this) after a Retry-After

  static bool IsRetryable(StatusCode code) {
    return code == StatusCode::kUnavailable || code == StatusCode::kRateLimited;
  }

  // The wait after failed attempt number `attempt` (1-based) with `error`.
  std::chrono::milliseconds Backoff(int attempt, const Status& error, std::mt19937_64& rng) const;
};

}  // namespace deskpipe::net
