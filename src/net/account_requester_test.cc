#include "net/account_requester.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace deskpipe::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Answers from a script, in order, noting when (on the test's clock) each request was sent.
class ScriptedHttp : public HttpClient {
 public:
  explicit ScriptedHttp(std::shared_ptr<Clock> clock) : clock_(std::move(clock)) {}

  void Answer(long status, std::map<std::string, std::string> headers = {}) {
    HttpResponse response;
    response.status = status;
    response.headers = std::move(headers);
    script_.push_back(response);
  }
  void FailTransport(std::string message) { script_.push_back(Error(Unavailable(std::move(message)))); }

  Result<HttpResponse> Send(const HttpRequest& request) override {
    sent_at.push_back(clock_->Now());
    urls.push_back(request.url);
    if (script_.empty()) return Error(Internal("unexpected request to " + request.url));
    Result<HttpResponse> next = script_.front();
    script_.pop_front();
    return next;
  }

  std::vector<Clock::TimePoint> sent_at;
  std::vector<std::string> urls;

 private:
  std::shared_ptr<Clock> clock_;
  std::deque<Result<HttpResponse>> script_;
};

// The classification a client would do: 2xx usable, 429 rate limited, 5xx unavailable, else final.
ResponseReader PlainReader() {
  ResponseReader reader;
  reader.classify = [](const Result<HttpResponse>& response) -> Status {
    if (!response) return response.error();
    if (response->status >= 200 && response->status < 300) return Status::Ok();
    const std::string what = "GET thing: HTTP " + std::to_string(response->status);
    if (response->status == 429) return RateLimited(what);
    if (response->status >= 500) return Unavailable(what);
    return NotFound(what);
  };
  return reader;
}

AccountPolicy TestPolicy(std::shared_ptr<Clock> clock) {
  AccountPolicy policy;
  policy.base_url = "http://127.0.0.1:9/api";
  policy.read_retry_after = [](const HttpResponse& response) -> std::optional<milliseconds> {
    const std::string value = response.Header("retry-after");
    if (value.empty()) return std::nullopt;
    return seconds(std::atoi(value.c_str()));
  };
  policy.retry.max_attempts = 4;
  policy.retry.backoff_base = milliseconds(100);
  policy.retry.backoff_jitter = 0;
  policy.retry.retry_after_jitter = milliseconds(0);
  policy.clock = std::move(clock);
  return policy;
}

HttpRequest Get() {
  HttpRequest request;
  request.url = "http://127.0.0.1:9/api/thing";
  return request;
}

TEST(AccountRequesterTest, RetriesATransientFailureThenSucceeds) {
  auto clock = std::make_shared<FakeClock>();
  ScriptedHttp http(clock);
  http.Answer(503);
  http.FailTransport("GET http://127.0.0.1:9/api/thing failed (connection refused): nobody listens");
  http.Answer(200);
  AccountRequester requester(TestPolicy(clock));
  SendOutcome outcome = requester.Send(http, Get(), {}, "GET thing", PlainReader());
  ASSERT_TRUE(outcome.ok()) << outcome.status.ToString();
  EXPECT_EQ(outcome.attempts, 3);
  EXPECT_EQ(http.urls.size(), 3u);
  // Doubling backoff between the attempts, waited on the injected clock.
  EXPECT_EQ(clock->sleeps(), (std::vector<milliseconds>{milliseconds(100), milliseconds(200)}));
}

TEST(AccountRequesterTest, GivesUpAfterMaxAttemptsAndExplainsWhy) {
  auto clock = std::make_shared<FakeClock>();
  ScriptedHttp http(clock);
  for (int i = 0; i < 2; ++i) http.Answer(502);
  AccountPolicy policy = TestPolicy(clock);
  policy.retry.max_attempts = 2;
  policy.breaker = CircuitBreakerOptions{};  // to be named as host:port in the explanation
  AccountRequester requester(std::move(policy));
  SendOutcome outcome = requester.Send(http, Get(), {}, "GET thing", PlainReader());
  ASSERT_FALSE(outcome.ok());
  EXPECT_TRUE(outcome.out_of_attempts);
  EXPECT_EQ(outcome.attempts, 2);
  EXPECT_EQ(outcome.cause, "answers HTTP 502");
  EXPECT_EQ(requester.Explain(outcome).message(),
            "127.0.0.1:9 answers HTTP 502: gave up after 2 attempts: GET thing: HTTP 502");
}

TEST(AccountRequesterTest, HonoursRetryAfterThroughTheClock) {
  auto clock = std::make_shared<FakeClock>();
  ScriptedHttp http(clock);
  http.Answer(429, {{"retry-after", "7"}});
  http.Answer(200);
  AccountRequester requester(TestPolicy(clock));
  SendOutcome outcome = requester.Send(http, Get(), {}, "GET thing", PlainReader());
  ASSERT_TRUE(outcome.ok()) << outcome.status.ToString();
  ASSERT_EQ(http.sent_at.size(), 2u);
  EXPECT_EQ(http.sent_at[1] - http.sent_at[0], seconds(7));
  EXPECT_EQ(clock->total_slept(), seconds(7));
  EXPECT_EQ(requester.governor().stats().pauses, 1);
}

TEST(AccountRequesterTest, ARetryAfterLongerThanAllowedFailsAtOnceWithoutPausing) {
  auto clock = std::make_shared<FakeClock>();
  ScriptedHttp http(clock);
  http.Answer(429, {{"retry-after", "90"}});
  AccountPolicy policy = TestPolicy(clock);
  policy.max_retry_after = seconds(10);
  AccountRequester requester(std::move(policy));
  SendOutcome outcome = requester.Send(http, Get(), {}, "GET thing", PlainReader());
  EXPECT_EQ(outcome.status.code(), StatusCode::kRateLimited);
  EXPECT_EQ(outcome.status.retry_after(), seconds(90));
  EXPECT_FALSE(outcome.out_of_attempts);
  EXPECT_EQ(outcome.attempts, 1);
  EXPECT_EQ(requester.governor().stats().pauses, 0);
  EXPECT_TRUE(clock->sleeps().empty());
}

TEST(AccountRequesterTest, RateLimitsCountedApartDoNotUseUpTheTransientAttempts) {
  auto clock = std::make_shared<FakeClock>();
  ScriptedHttp http(clock);
  for (int i = 0; i < 3; ++i) http.Answer(429, {{"retry-after", "1"}});
  http.Answer(503);
  http.Answer(200);
  AccountPolicy policy = TestPolicy(clock);
  policy.retry.max_attempts = 2;
  policy.max_rate_limited_attempts = 5;
  AccountRequester requester(std::move(policy));
  SendOutcome outcome = requester.Send(http, Get(), {}, "GET thing", PlainReader());
  ASSERT_TRUE(outcome.ok()) << outcome.status.ToString();
  EXPECT_EQ(outcome.attempts, 5);
}

TEST(AccountRequesterTest, NonRetryableStatusIsReturnedAtOnce) {
  auto clock = std::make_shared<FakeClock>();
  ScriptedHttp http(clock);
  http.Answer(404);
  AccountRequester requester(TestPolicy(clock));
  SendOutcome outcome = requester.Send(http, Get(), {}, "GET thing", PlainReader());
  EXPECT_EQ(outcome.status.code(), StatusCode::kNotFound);
  EXPECT_EQ(outcome.attempts, 1);
  EXPECT_FALSE(outcome.out_of_attempts);
  EXPECT_EQ(requester.Explain(outcome).message(), "GET thing: HTTP 404") << "nothing to add to a final answer";
  EXPECT_TRUE(clock->sleeps().empty());
}

TEST(AccountRequesterTest, AFailingTakeIsRetriedLikeAClassifiedFailure) {
  auto clock = std::make_shared<FakeClock>();
  ScriptedHttp http(clock);
  http.Answer(200);
  http.Answer(200);
  ResponseReader reader = PlainReader();
  int takes = 0;
  reader.take = [&](HttpResponse&) { return ++takes == 1 ? Unavailable("truncated body") : Status::Ok(); };
  AccountRequester requester(TestPolicy(clock));
  SendOutcome outcome = requester.Send(http, Get(), {}, "GET thing", reader);
  ASSERT_TRUE(outcome.ok()) << outcome.status.ToString();
  EXPECT_EQ(takes, 2);
}

TEST(AccountRequesterTest, RepeatedFailuresOpenTheBreakerWhichThenRefusesWithoutSending) {
  auto clock = std::make_shared<FakeClock>();
  ScriptedHttp http(clock);
  for (int i = 0; i < 2; ++i) http.Answer(503);
  AccountPolicy policy = TestPolicy(clock);
  policy.retry.max_attempts = 1;
  CircuitBreakerOptions breaker;
  breaker.failure_threshold = 2;
  breaker.open_for = seconds(30);
  policy.breaker = breaker;
  policy.unreachable_timeout = milliseconds(0);  // refuse at once while open
  AccountRequester requester(std::move(policy));
  for (int i = 0; i < 2; ++i) EXPECT_FALSE(requester.Send(http, Get(), {}, "GET thing", PlainReader()).ok());
  ASSERT_NE(requester.breaker(), nullptr);
  EXPECT_EQ(requester.breaker()->state(), CircuitBreaker::State::kOpen);
  SendOutcome refused = requester.Send(http, Get(), {}, "GET thing", PlainReader());
  EXPECT_TRUE(refused.refused);
  EXPECT_EQ(refused.attempts, 0);
  EXPECT_NE(refused.status.message().find("circuit breaker is open"), std::string::npos) << refused.status.message();
  EXPECT_EQ(http.urls.size(), 2u) << "no request while open";
}

TEST(AccountRequesterTest, AnOutageIsWaitedOutThroughTheHalfOpenProbe) {
  auto clock = std::make_shared<FakeClock>();
  ScriptedHttp http(clock);
  for (int i = 0; i < 2; ++i) http.FailTransport("GET http://127.0.0.1:9/api/thing failed (connection refused): x");
  http.Answer(200);
  AccountPolicy policy = TestPolicy(clock);
  CircuitBreakerOptions breaker;
  breaker.failure_threshold = 2;
  breaker.open_for = seconds(5);
  policy.breaker = breaker;
  AccountRequester requester(std::move(policy));
  SendOutcome outcome = requester.Send(http, Get(), {}, "GET thing", PlainReader());
  ASSERT_TRUE(outcome.ok()) << outcome.status.ToString();
  ASSERT_EQ(http.sent_at.size(), 3u);
  EXPECT_GE(http.sent_at[2] - http.sent_at[1], seconds(5)) << "the probe went once the open period was over";
  EXPECT_EQ(requester.breaker()->state(), CircuitBreaker::State::kClosed);
}

TEST(AccountRequesterTest, RequestersOfOneAccountShareTheGovernorAndBreaker) {
  auto clock = std::make_shared<FakeClock>();
  ScriptedHttp http(clock);
  AccountPolicy policy = TestPolicy(clock);
  policy.account = "test://account-requester-shared";
  policy.breaker = CircuitBreakerOptions{};
  AccountRequester first(policy);
  AccountRequester second(policy);
  AccountPolicy elsewhere_policy = policy;
  elsewhere_policy.account = "test://account-requester-other";
  AccountRequester elsewhere(elsewhere_policy);
  EXPECT_EQ(&first.governor(), &second.governor());
  EXPECT_EQ(first.breaker(), second.breaker());
  EXPECT_NE(&first.governor(), &elsewhere.governor());

  // A 429 answered to one user pauses the other's next request for the Retry-After.
  http.Answer(429, {{"retry-after", "5"}});
  const auto start = clock->Now();
  policy.max_rate_limited_attempts = 1;
  AccountRequester once(policy);
  EXPECT_EQ(once.Send(http, Get(), {}, "GET thing", PlainReader()).status.code(), StatusCode::kRateLimited);
  http.Answer(200);
  ASSERT_TRUE(second.Send(http, Get(), {}, "GET thing", PlainReader()).ok());
  EXPECT_EQ(http.sent_at.back() - start, seconds(5));
}

TEST(AccountRequesterTest, RateHeadersSetTheAccountBudget) {
  auto clock = std::make_shared<FakeClock>();
  ScriptedHttp http(clock);
  http.Answer(200, {{"x-total", "40"}});
  AccountPolicy policy = TestPolicy(clock);
  policy.budget.budget_share = 0.5;
  policy.read_rate_headers = [](const HttpResponse& response) {
    RateHeaders rate;
    if (!response.Header("x-total").empty()) rate.total = std::atoi(response.Header("x-total").c_str());
    return rate;
  };
  AccountRequester requester(std::move(policy));
  ASSERT_TRUE(requester.Send(http, Get(), {}, "GET thing", PlainReader()).ok());
  EXPECT_EQ(requester.governor().EffectiveBudget(), 20);
}

}  // namespace
}  // namespace deskpipe::net
