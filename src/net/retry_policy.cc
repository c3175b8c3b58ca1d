#include "net/retry_policy.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace deskpipe::net {

std::chrono::milliseconds RetryPolicy::Backoff(int attempt, const Status& error, std::mt19937_64& rng) const {
  using std::chrono::milliseconds;
  if (error.code() == StatusCode::kRateLimited && (error.retry_after() || default_retry_after)) {
    // The server states the exact wait: blind backoff would over-wait (wasted quota) or under-wait (more 429s).
    milliseconds wait = error.retry_after() ? *error.retry_after() : *default_retry_after;
    if (retry_after_jitter.count() > 0) {
      std::uniform_int_distribution<int64_t> jitter(0, retry_after_jitter.count() - 1);
      wait += milliseconds(jitter(rng));
    }
    return wait;
  }
  // base × 2^(attempt−1), capped; computed in double so a large attempt cannot overflow.
  double doubled = static_cast<double>(backoff_base.count()) * std::ldexp(1.0, std::clamp(attempt - 1, 0, 62));
  int64_t exponential =
      static_cast<int64_t>(std::max(0.0, std::min(doubled, static_cast<double>(backoff_max.count()))));
  const double jitter_share = jitter_lowers ? std::clamp(backoff_jitter, 0.0, 1.0) : std::max(backoff_jitter, 0.0);
  int64_t spread = static_cast<int64_t>(static_cast<double>(exponential) * jitter_share);
  int64_t extra = 0;
  if (spread > 0) {
    std::uniform_int_distribution<int64_t> jitter(0, spread);
    extra = jitter(rng);
  }
  return milliseconds(jitter_lowers ? exponential - extra : exponential + extra);
}

}  // namespace deskpipe::net
