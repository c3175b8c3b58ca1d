#include "net/circuit_breaker.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "net/retry_policy.h"

namespace deskpipe::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct BreakerFixture {
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  CircuitBreaker breaker{CircuitBreakerOptions{3, seconds(10), seconds(25), clock}};

  Status Attempt(bool succeeds) {
    CircuitBreaker::Admission admission;
    Status allowed = breaker.Allow("tickets", &admission);
    if (!allowed.ok()) return allowed;
    if (succeeds) {
      breaker.RecordSuccess(admission);
    } else {
      breaker.RecordFailure(admission);
    }
    return Status::Ok();
  }
};

TEST(CircuitBreakerTest, OpensAfterConsecutiveFailuresAndRefusesFast) {
  BreakerFixture f;
  EXPECT_TRUE(f.Attempt(false).ok());
  EXPECT_TRUE(f.Attempt(false).ok());
  EXPECT_TRUE(f.Attempt(true).ok());  // a success resets the count
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(f.Attempt(false).ok());
  EXPECT_EQ(f.breaker.state(), CircuitBreaker::State::kOpen);
  Status refused = f.Attempt(true);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.code(), StatusCode::kUnavailable);
  EXPECT_NE(refused.message().find("circuit breaker is open"), std::string::npos) << refused.message();
  EXPECT_NE(refused.message().find("tickets"), std::string::npos);
  EXPECT_EQ(refused.retry_after(), seconds(10));
}

TEST(CircuitBreakerTest, HalfOpensToOneProbeThenClosesOnSuccess) {
  BreakerFixture f;
  for (int i = 0; i < 3; ++i) (void)f.Attempt(false);
  f.clock->Advance(seconds(10));
  EXPECT_EQ(f.breaker.state(), CircuitBreaker::State::kHalfOpen);
  CircuitBreaker::Admission probe;
  ASSERT_TRUE(f.breaker.Allow("a", &probe).ok());
  EXPECT_TRUE(probe.is_probe);
  CircuitBreaker::Admission other;
  EXPECT_FALSE(f.breaker.Allow("b", &other).ok()) << "only one probe at a time";
  f.breaker.RecordSuccess(probe);
  EXPECT_EQ(f.breaker.state(), CircuitBreaker::State::kClosed);
  EXPECT_TRUE(f.Attempt(true).ok());
}

TEST(CircuitBreakerTest, FailedProbeReopensForLongerCapped) {
  BreakerFixture f;
  for (int i = 0; i < 3; ++i) (void)f.Attempt(false);
  f.clock->Advance(seconds(10));
  EXPECT_TRUE(f.Attempt(false).ok());  // the probe fails
  Status refused = f.Attempt(true);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.retry_after(), seconds(20));
  f.clock->Advance(seconds(20));
  EXPECT_TRUE(f.Attempt(false).ok());
  EXPECT_EQ(f.Attempt(true).retry_after(), seconds(25));  // capped at max_open_for
  EXPECT_EQ(f.breaker.times_opened(), 3);
}

TEST(CircuitBreakerTest, NeutralOutcomeFreesTheProbe) {
  BreakerFixture f;
  for (int i = 0; i < 3; ++i) (void)f.Attempt(false);
  f.clock->Advance(seconds(10));
  CircuitBreaker::Admission probe;
  ASSERT_TRUE(f.breaker.Allow("a", &probe).ok());
  f.breaker.RecordNeutral(probe);
  CircuitBreaker::Admission next;
  EXPECT_TRUE(f.breaker.Allow("a", &next).ok());
  EXPECT_TRUE(next.is_probe);
}

TEST(RetryPolicyTest, ExponentialWithBoundedJitterAndCap) {
  RetryPolicy policy;
  policy.backoff_base = milliseconds(1000);
  policy.backoff_max = milliseconds(8000);
  policy.backoff_jitter = 0.5;
  std::mt19937_64 rng(7);
  Status unavailable = Unavailable("503");
  bool saw_jitter = false;
  for (int round = 0; round < 50; ++round) {
    for (int attempt = 1; attempt <= 6; ++attempt) {
      auto wait = policy.Backoff(attempt, unavailable, rng);
      int64_t expected = std::min<int64_t>(1000LL << (attempt - 1), 8000);
      EXPECT_GE(wait.count(), expected);
      EXPECT_LE(wait.count(), expected + expected / 2);
      saw_jitter = saw_jitter || wait.count() != expected;
    }
  }
  EXPECT_TRUE(saw_jitter);
  EXPECT_LE(policy.Backoff(1000, unavailable, rng).count(), 12000) << "no overflow at huge attempt numbers";
}

TEST(RetryPolicyTest, RateLimitWaitsRetryAfterPlusSmallJitter) {
  RetryPolicy policy;
  policy.retry_after_jitter = milliseconds(250);
  std::mt19937_64 rng(1);
  Status limited = RateLimited("429");
  limited.set_retry_after(seconds(7));
  for (int i = 0; i < 20; ++i) {
    auto wait = policy.Backoff(1, limited, rng);
    EXPECT_GE(wait, seconds(7));
    EXPECT_LT(wait, milliseconds(7250));
  }
  policy.default_retry_after = seconds(60);
  EXPECT_GE(policy.Backoff(1, RateLimited("no header"), rng), seconds(60));
  EXPECT_TRUE(RetryPolicy::IsRetryable(StatusCode::kUnavailable));
  EXPECT_TRUE(RetryPolicy::IsRetryable(StatusCode::kRateLimited));
  EXPECT_FALSE(RetryPolicy::IsRetryable(StatusCode::kNotFound));
  EXPECT_FALSE(RetryPolicy::IsRetryable(StatusCode::kUnauthenticated));
}

}  // namespace
}  // namespace deskpipe::net
