#include "platforms/freshdesk/freshdesk_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "platforms/freshdesk/fake_http_client.h"

namespace deskpipe::freshdesk {
namespace {

using std::chrono::milliseconds;
using testing::FakeHttpClient;
using testing::NextLink;

constexpr const char* kBase = "http://127.0.0.1:9999/api/v2";
constexpr const char* kKey = "sekr3t-api-key";

struct ClientFixture {
  FakeHttpClient http;
  std::vector<milliseconds> sleeps;
  FreshdeskClient client;
  explicit ClientFixture(FreshdeskClientOptions options = {})
      : client(kBase, kKey, http, WithFakeSleep(std::move(options), &sleeps)) {}

  static FreshdeskClientOptions WithFakeSleep(FreshdeskClientOptions options,
                                              std::vector<milliseconds>* sleeps) {
    options.sleep = [sleeps](milliseconds wait) { sleeps->push_back(wait); };
    // A frozen clock: waits are computed exactly (the client adds the time slept).
    if (!options.now) options.now = [] { return std::chrono::steady_clock::time_point{} + std::chrono::hours(1); };
    return options;
  }
};

TEST(ParseNextLinkTest, Forms) {
  EXPECT_EQ(ParseNextLink("<https://a.freshdesk.com/api/v2/tickets?page=2>; rel=\"next\""),
            "https://a.freshdesk.com/api/v2/tickets?page=2");
  EXPECT_EQ(ParseNextLink("<https://x/p1>; rel=\"prev\", <https://x/p3>;rel=next"), "https://x/p3");
  EXPECT_EQ(ParseNextLink("<https://x/p1>; rel=\"prev\""), "");
  EXPECT_EQ(ParseNextLink(""), "");
}

TEST(FreshdeskClientTest, SendsAuthAcceptAndParsesPage) {
  ClientFixture f;
  std::map<std::string, std::string> headers = NextLink(std::string(kBase) + "/tickets?page=2");
  headers["x-ratelimit-remaining"] = "426";
  headers["x-ratelimit-total"] = "700";
  f.http.Expect(std::string(kBase) + "/tickets?page=1", 200, R"([{"id": 1}])", headers);
  auto page = f.client.Get("tickets?page=1");
  ASSERT_TRUE(page) << page.error().ToString();
  EXPECT_EQ(page->body[0]["id"], 1);
  EXPECT_EQ(page->next_url, std::string(kBase) + "/tickets?page=2");
  EXPECT_EQ(page->rate.remaining, 426);
  EXPECT_EQ(page->rate.total, 700);
  ASSERT_EQ(f.http.requests().size(), 1u);
  const auto& request = f.http.requests()[0];
  EXPECT_EQ(request.basic_auth, std::string(kKey) + ":X");
  ASSERT_EQ(request.headers.size(), 1u);
  EXPECT_EQ(request.headers[0].first, "Accept");
  EXPECT_EQ(request.headers[0].second, "application/json");
}

TEST(FreshdeskClientTest, UnauthorizedNamesTheSettingNotTheKey) {
  ClientFixture f;
  f.http.Expect(
      std::string(kBase) + "/agents", 401,
      R"({"code":"invalid_credentials","message":"You have to be logged in to perform this action."})");
  auto page = f.client.Get("agents");
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(page.error().message().find("FRESHDESK_API_KEY"), std::string::npos);
  EXPECT_EQ(page.error().message().find(kKey), std::string::npos);
  EXPECT_TRUE(f.sleeps.empty());
}

TEST(FreshdeskClientTest, PageCapIsRecognisable) {
  ClientFixture f;
  f.http.Expect(
      std::string(kBase) + "/tickets?page=301", 400,
      R"({"description":"Validation failed","errors":[{"field":"page","message":"You cannot access tickets beyond the 300th page. Please provide a smaller page number.","code":"invalid_value"}]})");
  auto page = f.client.Get("tickets?page=301");
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(page.error().message().find("Validation failed"), std::string::npos);
  EXPECT_NE(page.error().message().find("page: You cannot access tickets beyond"), std::string::npos);
  EXPECT_NE(page.error().message().find("invalid_value"), std::string::npos);
  EXPECT_TRUE(f.client.last_error().page_cap);
  ASSERT_EQ(f.client.last_error().errors.size(), 1u);
  EXPECT_EQ(f.client.last_error().errors[0].code, "invalid_value");
}

TEST(FreshdeskClientTest, OtherValidationErrorIsNotPageCap) {
  ClientFixture f;
  f.http.Expect(
      std::string(kBase) + "/tickets?per_page=500", 400,
      R"({"description":"Validation failed","errors":[{"field":"per_page","message":"Must be <= 100","code":"invalid_value"}]})");
  auto page = f.client.Get("tickets?per_page=500");
  ASSERT_FALSE(page);
  EXPECT_FALSE(f.client.last_error().page_cap);
}

TEST(FreshdeskClientTest, ForbiddenCarriesCodeAndNotFound) {
  ClientFixture f;
  f.http.Expect(std::string(kBase) + "/solutions/categories", 403,
                R"({"code":"require_feature","message":"The Solutions feature is not on your plan."})");
  f.http.Expect(std::string(kBase) + "/tickets/9", 404, "");
  auto denied = f.client.Get("solutions/categories");
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(denied.error().message().find("require_feature"), std::string::npos);
  EXPECT_EQ(f.client.last_error().code, "require_feature");
  auto missing = f.client.Get("tickets/9");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);
}

TEST(FreshdeskClientTest, RateLimitHonoursRetryAfter) {
  ClientFixture f;
  f.http.Expect(std::string(kBase) + "/tickets", 429, R"({"message":"rate limited"})",
                {{"Retry-After", "7"}});
  f.http.Expect(std::string(kBase) + "/tickets", 200, "[]");
  auto page = f.client.Get("tickets");
  ASSERT_TRUE(page) << page.error().ToString();
  ASSERT_EQ(f.sleeps.size(), 1u);
  EXPECT_GE(f.sleeps[0], milliseconds(7000));
  EXPECT_LT(f.sleeps[0], milliseconds(7250));  // + a little jitter
}

TEST(FreshdeskClientTest, RateLimitedCarriesRetryAfterWhenAttemptsRunOut) {
  FreshdeskClientOptions options;
  options.max_attempts = 1;
  ClientFixture f(options);
  f.http.Expect(std::string(kBase) + "/tickets", 429, "", {{"retry-after", "31"}});
  auto page = f.client.Get("tickets");
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().code(), StatusCode::kRateLimited);
  EXPECT_EQ(page.error().retry_after(), milliseconds(31000));
}

// The emulator's "429 storm" (issue 8 point 4): this request and the next four are refused. 429s have their own
// allowance, so the storm is waited out (Retry-After each time) and the 5xx attempts stay untouched.
TEST(FreshdeskClientTest, A429StormIsWaitedOutApartFromTheTransientAttempts) {
  ClientFixture f;  // max_attempts 4
  for (int i = 0; i < 5; ++i) f.http.Expect(std::string(kBase) + "/tickets", 429, "", {{"Retry-After", "1"}});
  f.http.Expect(std::string(kBase) + "/tickets", 503, "<html>Service Unavailable</html>");
  f.http.Expect(std::string(kBase) + "/tickets", 200, "[]");
  auto page = f.client.Get("tickets");
  ASSERT_TRUE(page) << page.error().ToString();
  EXPECT_EQ(f.http.requests().size(), 7u);
}

TEST(FreshdeskClientTest, RateLimitedAttemptsAreBoundedToo) {
  FreshdeskClientOptions options;
  options.max_rate_limited_attempts = 3;
  ClientFixture f(options);
  for (int i = 0; i < 3; ++i) f.http.Expect(std::string(kBase) + "/tickets", 429, "", {{"Retry-After", "2"}});
  auto page = f.client.Get("tickets");
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().code(), StatusCode::kRateLimited);
  EXPECT_NE(page.error().message().find("gave up after 3 attempts"), std::string::npos) << page.error().message();
  EXPECT_EQ(f.http.requests().size(), 3u);
}

TEST(FreshdeskClientTest, ServerErrorsBackOffThenGiveUp) {
  ClientFixture f;
  for (int i = 0; i < 4; ++i)
    f.http.Expect(std::string(kBase) + "/tickets", 503, "<html>Service Unavailable</html>");
  auto page = f.client.Get("tickets");
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().code(), StatusCode::kUnavailable);
  EXPECT_NE(page.error().message().find("503"), std::string::npos);
  ASSERT_EQ(f.sleeps.size(), 3u);  // between the 4 attempts
  EXPECT_GE(f.sleeps[0], milliseconds(1000));
  EXPECT_GE(f.sleeps[1], milliseconds(2000));
  EXPECT_GE(f.sleeps[2], milliseconds(4000));
  EXPECT_LE(f.sleeps[2], milliseconds(6000));
}

TEST(FreshdeskClientTest, MalformedJsonIsUnavailable) {
  FreshdeskClientOptions options;
  options.max_attempts = 1;
  ClientFixture f(options);
  f.http.Expect(std::string(kBase) + "/tickets?page=1", 200, R"([{"id": 1}, {"id":)");
  auto page = f.client.Get("tickets?page=1");
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().code(), StatusCode::kUnavailable);
  EXPECT_NE(page.error().message().find("malformed JSON from tickets?page=1"), std::string::npos)
      << page.error().message();
}

TEST(FreshdeskClientTest, TransportErrorRetriedAndKeyNeverEchoed) {
  FreshdeskClientOptions options;
  options.max_attempts = 2;
  options.circuit_wait_max = std::chrono::milliseconds(0);  // no outage riding: max_attempts alone bounds it
  ClientFixture f(options);
  f.http.ExpectTransportError(std::string(kBase) + "/agents", Unavailable(std::string("reset by ") + kKey));
  f.http.Expect(std::string(kBase) + "/agents", 200, "[]");
  EXPECT_TRUE(f.client.Get("agents"));
  EXPECT_EQ(f.sleeps.size(), 1u);

  f.http.ExpectTransportError(std::string(kBase) + "/agents", Unavailable(std::string("reset by ") + kKey));
  f.http.ExpectTransportError(std::string(kBase) + "/agents", Unavailable(std::string("reset by ") + kKey));
  auto page = f.client.Get("agents");
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().message().find(kKey), std::string::npos) << page.error().message();
}

TEST(FreshdeskClientTest, LinkToAnotherOriginIsNotFollowed) {
  ClientFixture f;
  auto page = f.client.GetUrl("https://evil.example.com/api/v2/tickets?page=2");
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(f.http.requests().empty());

  f.http.Expect(std::string(kBase) + "/tickets?page=2", 200, "[]");
  EXPECT_TRUE(f.client.GetUrl(std::string(kBase) + "/tickets?page=2"));
}

TEST(FreshdeskClientTest, RateLimitDelaySpacesRequests) {
  auto now = std::chrono::steady_clock::time_point{};
  FreshdeskClientOptions options;
  options.rate_limit_delay = 0.5;
  options.now = [&now] { return now; };
  ClientFixture f(options);
  f.http.Expect(std::string(kBase) + "/a", 200, "[]");
  f.http.Expect(std::string(kBase) + "/b", 200, "[]");
  f.http.Expect(std::string(kBase) + "/c", 200, "[]");
  ASSERT_TRUE(f.client.Get("a"));
  EXPECT_TRUE(f.sleeps.empty());
  now += milliseconds(200);
  ASSERT_TRUE(f.client.Get("b"));
  ASSERT_EQ(f.sleeps.size(), 1u);
  EXPECT_EQ(f.sleeps[0], milliseconds(300));
  now += milliseconds(900);
  ASSERT_TRUE(f.client.Get("c"));
  EXPECT_EQ(f.sleeps.size(), 1u);
}

// ---- request layer: governor, classification, breaker, batches --------------------------------------------

std::map<std::string, std::string> Credits(int64_t total, int64_t remaining, int64_t used) {
  return {{"X-RateLimit-Total", std::to_string(total)},
          {"X-RateLimit-Remaining", std::to_string(remaining)},
          {"X-RateLimit-Used-CurrentRequest", std::to_string(used)}};
}

struct ClockFixture {
  FakeHttpClient http;
  std::shared_ptr<net::FakeClock> clock = std::make_shared<net::FakeClock>();
  std::unique_ptr<FreshdeskClient> client;
  explicit ClockFixture(FreshdeskClientOptions options = {}) {
    options.clock = clock;
    client = std::make_unique<FreshdeskClient>(kBase, kKey, http, std::move(options));
  }
};

TEST(FreshdeskRequestTicketTest, CostKeysBucketsAndIncludeCredits) {
  auto list = FreshdeskRequestTicket(
      "tickets?updated_since=2020-01-01T00:00:00Z&order_by=updated_at&include=stats,description,requester&page=3");
  EXPECT_EQ(list.bucket, "tickets_list");
  EXPECT_EQ(list.estimated_cost, 7);  // 1 + 2 per include (API.md §4)
  EXPECT_EQ(list.cost_key, "GET tickets?include=description,requester,stats");
  auto encoded = FreshdeskRequestTicket("tickets?include=description%2Cstats&filter=deleted");
  EXPECT_EQ(encoded.estimated_cost, 5);
  EXPECT_EQ(encoded.bucket, "tickets_list");
  auto view = FreshdeskRequestTicket("tickets/48213?include=conversations");
  EXPECT_EQ(view.bucket, "");
  EXPECT_EQ(view.estimated_cost, 2);
  EXPECT_EQ(view.cost_key, "GET tickets/{id}?include=conversations");
  auto conversations = FreshdeskRequestTicket("tickets/7/conversations?per_page=100&page=2");
  EXPECT_EQ(conversations.cost_key, FreshdeskRequestTicket("tickets/9/conversations").cost_key);
  EXPECT_EQ(conversations.estimated_cost, 1);
  EXPECT_EQ(FreshdeskRequestTicket("contacts?updated_since=x").bucket, "contacts_list");
  EXPECT_EQ(FreshdeskRequestTicket("contacts/5").bucket, "");
  EXPECT_EQ(FreshdeskRequestTicket("search/tickets?query=x").bucket, "");
}

TEST(FreshdeskSubLimitTest, PlanTable) {
  EXPECT_EQ(FreshdeskSubLimit("tickets_list", 50), std::nullopt);
  EXPECT_EQ(FreshdeskSubLimit("tickets_list", 200), 20);
  EXPECT_EQ(FreshdeskSubLimit("contacts_list", 400), 100);
  EXPECT_EQ(FreshdeskSubLimit("tickets_list", 700), 200);
  EXPECT_EQ(FreshdeskSubLimit("tickets_list", 1000), 300);
  EXPECT_EQ(FreshdeskSubLimit("tickets_list", 2000), 400);
  EXPECT_EQ(FreshdeskSubLimit("other", 2000), std::nullopt);
}

TEST(FreshdeskClientGovernorTest, BudgetFromHeadersHoldsTheNextRequestUntilTheWindowFrees) {
  FreshdeskClientOptions options;
  options.rate_window = std::chrono::seconds(60);
  ClockFixture f(options);
  f.http.Expect(std::string(kBase) + "/agents", 200, "[]", Credits(10, 9, 1));
  f.http.Expect(std::string(kBase) + "/tickets?include=stats", 200, "[]", Credits(10, 6, 3));
  f.http.Expect(std::string(kBase) + "/tickets?include=stats", 200, "[]", Credits(10, 3, 3));
  f.http.Expect(std::string(kBase) + "/tickets?include=stats", 200, "[]", Credits(10, 7, 3));
  auto start = f.clock->Now();
  ASSERT_TRUE(f.client->Get("agents"));
  ASSERT_TRUE(f.client->Get("tickets?include=stats"));
  ASSERT_TRUE(f.client->Get("tickets?include=stats"));
  EXPECT_EQ(f.clock->Now(), start) << "7 of 10 credits: no wait yet";
  ASSERT_TRUE(f.client->Get("tickets?include=stats"));  // 7 + 3 = 10: fits exactly
  EXPECT_EQ(f.clock->Now(), start);
  f.http.Expect(std::string(kBase) + "/agents", 200, "[]", Credits(10, 9, 1));
  ASSERT_TRUE(f.client->Get("agents"));  // 11 > 10: waits for the first credit to leave the window
  EXPECT_GE(f.clock->Now(), start + std::chrono::seconds(60));
  EXPECT_EQ(f.client->governor().stats().credits, 11);
}

TEST(FreshdeskClientGovernorTest, BudgetShareAndConfig) {
  Config config;
  config.max_concurrent_requests = 9;
  config.api_budget_share = 0.5;
  config.rate_limit_delay = 0.25;
  FreshdeskClientOptions options;
  ApplyConfigToClientOptions(config, &options);
  EXPECT_EQ(options.max_concurrent_requests, 9);
  EXPECT_EQ(options.api_budget_share, 0.5);
  EXPECT_EQ(options.rate_limit_delay, 0.25);
  FreshdeskClientOptions explicit_options;
  explicit_options.max_concurrent_requests = 2;
  ApplyConfigToClientOptions(config, &explicit_options);
  EXPECT_EQ(explicit_options.max_concurrent_requests, 2) << "explicit options win";

  ClockFixture f(options);
  f.http.Expect(std::string(kBase) + "/agents", 200, "[]", Credits(400, 399, 1));
  ASSERT_TRUE(f.client->Get("agents"));
  EXPECT_EQ(f.client->governor().EffectiveBudget(), 200);
  EXPECT_EQ(f.client->max_concurrent_requests(), 9);
  EXPECT_EQ(f.client->governor().options().min_spacing, milliseconds(250));
}

TEST(FreshdeskClientGovernorTest, A429PausesEveryRequestOfTheAccount) {
  FreshdeskClientOptions options;
  options.max_attempts = 1;
  options.retry_after_jitter = milliseconds(0);
  ClockFixture f(options);
  f.http.Expect(std::string(kBase) + "/tickets", 429, "", {{"Retry-After", "5"}});
  f.http.Expect(std::string(kBase) + "/agents", 200, "[]");
  auto start = f.clock->Now();
  auto limited = f.client->Get("tickets");
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error().code(), StatusCode::kRateLimited);
  // Another request (another stream) must not go before Retry-After has passed.
  ASSERT_TRUE(f.client->Get("agents"));
  EXPECT_EQ(f.clock->Now(), start + std::chrono::seconds(5));
}

TEST(FreshdeskClientGovernorTest, GovernorIsSharedByClientsOfTheSameAccount) {
  FakeHttpClient http;
  FreshdeskClient a(kBase, kKey, http);
  FreshdeskClient b(kBase, kKey, http);
  FreshdeskClient other("http://127.0.0.1:9998/api/v2", kKey, http);
  EXPECT_EQ(&a.governor(), &b.governor());
  EXPECT_EQ(&a.breaker(), &b.breaker());
  EXPECT_NE(&a.governor(), &other.governor());
}

TEST(FreshdeskClientClassifyTest, PageCapIsADistinctStatus) {
  FreshdeskClientOptions options;
  ClockFixture f(options);
  f.http.Expect(
      std::string(kBase) + "/tickets?page=301", 400,
      R"({"description":"Validation failed","errors":[{"field":"page","message":"You cannot access tickets beyond the 300th page. Please provide a smaller page number.","code":"invalid_value"}]})");
  f.http.Expect(
      std::string(kBase) + "/tickets?per_page=500", 400,
      R"({"description":"Validation failed","errors":[{"field":"per_page","message":"Must be <= 100","code":"invalid_value"}]})");
  auto capped = f.client->Get("tickets?page=301");
  ASSERT_FALSE(capped);
  EXPECT_TRUE(IsPageCap(capped.error())) << capped.error().ToString();
  EXPECT_TRUE(IsPageCap(capped.error().WithContext("tickets stream")));
  auto other = f.client->Get("tickets?per_page=500");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(IsPageCap(other.error()));
  EXPECT_TRUE(f.clock->sleeps().empty()) << "a 400 is not retried";
}

TEST(FreshdeskClientBreakerTest, RepeatedFailuresOpenTheBreakerThenAProbeClosesIt) {
  FreshdeskClientOptions options;
  options.max_attempts = 1;
  options.circuit_wait_max = milliseconds(0);  // fail fast while open, to see the refusal
  options.circuit_failure_threshold = 3;
  options.circuit_open_for = std::chrono::seconds(30);
  ClockFixture f(options);
  for (int i = 0; i < 3; ++i) f.http.Expect(std::string(kBase) + "/agents", 502, "bad gateway");
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(f.client->Get("agents"));
  // Open: refused without a request (the fake would fail on an unexpected one).
  auto refused = f.client->Get("agents");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), StatusCode::kUnavailable);
  EXPECT_NE(refused.error().message().find("circuit breaker is open"), std::string::npos);
  EXPECT_EQ(f.http.requests().size(), 3u);
  // After the open period one probe goes; its success closes the breaker.
  f.clock->Advance(std::chrono::seconds(30));
  f.http.Expect(std::string(kBase) + "/agents", 200, "[]");
  f.http.Expect(std::string(kBase) + "/groups", 200, "[]");
  EXPECT_TRUE(f.client->Get("agents"));
  EXPECT_TRUE(f.client->Get("groups"));
  EXPECT_EQ(f.client->breaker().state(), net::CircuitBreaker::State::kClosed);
}

TEST(FreshdeskClientBreakerTest, OpeningMidRetryFailsFastWithRetryAfterWhenNotAllowedToWait) {
  FreshdeskClientOptions options;
  options.max_attempts = 6;
  options.circuit_wait_max = milliseconds(0);
  options.circuit_failure_threshold = 2;
  options.circuit_open_for = std::chrono::seconds(5);
  options.backoff_base = milliseconds(100);
  ClockFixture f(options);
  f.http.Expect(std::string(kBase) + "/agents", 503, "");
  f.http.Expect(std::string(kBase) + "/agents", 503, "");
  auto page = f.client->Get("agents");
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().code(), StatusCode::kUnavailable);
  EXPECT_NE(page.error().message().find("circuit breaker is open"), std::string::npos);
  ASSERT_TRUE(page.error().retry_after());
  EXPECT_GT(*page.error().retry_after(), std::chrono::seconds(4));  // the open period minus one backoff
  EXPECT_LE(*page.error().retry_after(), std::chrono::seconds(5));
  EXPECT_EQ(f.http.requests().size(), 2u);
  EXPECT_LT(f.clock->total_slept(), std::chrono::seconds(1)) << "no waiting for the breaker inside the client";
}

TEST(FreshdeskClientBreakerTest, AShortOutageIsWaitedOutThroughTheHalfOpenProbe) {
  FreshdeskClientOptions options;
  options.max_attempts = 6;
  options.circuit_failure_threshold = 2;
  options.circuit_open_for = std::chrono::seconds(5);
  options.backoff_base = milliseconds(100);
  ClockFixture f(options);
  f.http.Expect(std::string(kBase) + "/agents", 503, "");
  f.http.Expect(std::string(kBase) + "/agents", 503, "");
  f.http.Expect(std::string(kBase) + "/agents", 200, "[]");  // the probe, once the open period is over
  auto page = f.client->Get("agents");
  ASSERT_TRUE(page) << page.error().ToString();
  EXPECT_EQ(f.http.requests().size(), 3u);
  EXPECT_GE(f.clock->total_slept(), std::chrono::seconds(4)) << "waited for the breaker to half-open";
  EXPECT_EQ(f.client->breaker().state(), net::CircuitBreaker::State::kClosed);
}

TEST(FreshdeskClientBreakerTest, AnOutageLongerThanTheWaitAllowanceFailsNamingTheBreaker) {
  FreshdeskClientOptions options;
  options.max_attempts = 100;
  options.circuit_failure_threshold = 2;
  options.circuit_open_for = std::chrono::seconds(5);
  options.circuit_wait_max = std::chrono::seconds(30);
  options.backoff_base = milliseconds(100);
  ClockFixture f(options);
  for (int i = 0; i < 4; ++i) f.http.Expect(std::string(kBase) + "/agents", 503, "");
  auto page = f.client->Get("agents");
  ASSERT_FALSE(page);
  EXPECT_NE(page.error().message().find("circuit breaker is open"), std::string::npos) << page.error().ToString();
  // Probes at +5 s and +10 s (doubling) failed; the next wait (20 s) would pass the 30 s allowance.
  EXPECT_EQ(f.http.requests().size(), 4u);
  EXPECT_LT(f.clock->total_slept(), std::chrono::seconds(31));
}

TEST(FreshdeskClientBreakerTest, AnOutageIsReportedRepeatedlyThenEndsEveryRequestAtTheAccountBound) {
  FreshdeskClientOptions options;
  options.max_attempts = 4;
  options.circuit_failure_threshold = 2;
  options.circuit_open_for = std::chrono::seconds(5);
  options.circuit_wait_max = std::chrono::seconds(130);
  options.outage_report_interval = std::chrono::seconds(60);
  options.backoff_base = milliseconds(100);
  ClockFixture f(options);
  const Status refused = Unavailable("GET " + std::string(kBase) +
                                     "/agents failed (connection refused): Failed to connect to 127.0.0.1 port "
                                     "9999: Connection refused");
  // Two failures open the breaker; probes at +5, +15, +35, +75 s fail (open periods double, capped at 50 s).
  for (int i = 0; i < 7; ++i) f.http.ExpectTransportError(std::string(kBase) + "/agents", refused);
  ::testing::internal::CaptureStderr();
  auto page = f.client->Get("agents");
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().code(), StatusCode::kUnavailable);
  // The request outlived its own four attempts: during an outage the account's bound decides.
  EXPECT_GT(f.http.requests().size(), 4u);
  EXPECT_GE(f.clock->total_slept(), std::chrono::seconds(129));
  EXPECT_NE(page.error().message().find("127.0.0.1:9999 refuses connections"), std::string::npos)
      << page.error().message();
  EXPECT_NE(page.error().message().find("unreachable_timeout (130 s)"), std::string::npos) << page.error().message();
  // Warned when it opened and again a minute later (probes at +75 and +125 s), naming host, cause and deadline.
  const std::string warning = "127.0.0.1:9999 refuses connections; circuit open, retrying until ";
  size_t warnings = 0;
  for (size_t at = log.find(warning); at != std::string::npos; at = log.find(warning, at + 1)) ++warnings;
  EXPECT_EQ(warnings, 2u) << log;
  EXPECT_EQ(log.find(kKey), std::string::npos) << "the API key leaked into a warning";

  // The bound is the account's: another request now fails at once, without a request or a wait.
  const size_t sent = f.http.requests().size();
  const auto slept = f.clock->total_slept();
  auto next = f.client->Get("groups");
  ASSERT_FALSE(next);
  EXPECT_NE(next.error().message().find("refuses connections"), std::string::npos) << next.error().message();
  EXPECT_EQ(f.http.requests().size(), sent);
  EXPECT_EQ(f.clock->total_slept(), slept);
}

TEST(FreshdeskClientBreakerTest, ARequestFailingAloneNamesHostAndCause) {
  FreshdeskClientOptions options;
  options.max_attempts = 2;
  options.backoff_base = milliseconds(100);
  ClockFixture f(options);
  for (int i = 0; i < 2; ++i) f.http.Expect(std::string(kBase) + "/agents", 503, "");
  auto page = f.client->Get("agents");
  ASSERT_FALSE(page);
  EXPECT_NE(page.error().message().find("127.0.0.1:9999 answers HTTP 503"), std::string::npos)
      << page.error().message();
}

TEST(FreshdeskClientBatchTest, GetAllPagesManyFollowsPagesAndKeepsFailuresApart) {
  ClockFixture f;
  const std::string base = kBase;
  f.http.Expect(base + "/tickets/1/conversations?per_page=100", 200, R"([{"id":11},{"id":12}])",
                NextLink(base + "/tickets/1/conversations?per_page=100&page=2"));
  f.http.Expect(base + "/tickets/1/conversations?per_page=100&page=2", 200, R"([{"id":13}])");
  f.http.Expect(base + "/tickets/2/conversations?per_page=100", 404,
                R"({"code":"not_found","message":"gone"})");
  f.http.Expect(base + "/tickets/3/conversations?per_page=100", 200, "[]");
  auto results = f.client->GetAllPagesMany({"tickets/1/conversations?per_page=100",
                                            "tickets/2/conversations?per_page=100",
                                            "tickets/3/conversations?per_page=100"});
  ASSERT_EQ(results.size(), 3u);
  ASSERT_TRUE(results[0]);
  ASSERT_EQ(results[0]->size(), 3u);
  EXPECT_EQ((*results[0])[2].value["id"], 13);
  EXPECT_EQ((*results[0])[2].text, R"({"id":13})");
  ASSERT_FALSE(results[1]);
  EXPECT_EQ(results[1].error().code(), StatusCode::kNotFound);
  ASSERT_TRUE(results[2]);
  EXPECT_TRUE(results[2]->empty());
}

TEST(FreshdeskClientBatchTest, GetAllPagesRefusesForeignLinksAndNonArrays) {
  ClockFixture f;
  const std::string base = kBase;
  f.http.Expect(base + "/a", 200, "[1]", NextLink("https://evil.example.com/api/v2/a?page=2"));
  f.http.Expect(base + "/b", 200, R"({"not":"an array"})");
  auto foreign = f.client->GetAllPages("a");
  ASSERT_FALSE(foreign);
  EXPECT_EQ(foreign.error().code(), StatusCode::kInvalidArgument);
  auto object = f.client->GetAllPages("b");
  ASSERT_FALSE(object);
  EXPECT_NE(object.error().message().find("expected a JSON array from b"), std::string::npos);
}

TEST(FreshdeskClientBatchTest, UnauthorizedStopsTheBatch) {
  ClockFixture f;
  const std::string base = kBase;
  f.http.Expect(base + "/tickets/1", 200, "{}");
  f.http.Expect(base + "/tickets/2", 401, R"({"code":"invalid_credentials","message":"no"})");
  auto results = f.client->GetMany({"tickets/1", "tickets/2", "tickets/3", "tickets/4"});
  ASSERT_EQ(results.size(), 4u);
  EXPECT_TRUE(results[0]);
  for (size_t i = 1; i < 4; ++i) {
    ASSERT_FALSE(results[i]);
    EXPECT_EQ(results[i].error().code(), StatusCode::kUnauthenticated);
    EXPECT_NE(results[i].error().message().find("FRESHDESK_API_KEY"), std::string::npos);
  }
  EXPECT_EQ(f.http.requests().size(), 2u) << "no request after the 401";
}

Config BaseConfig() {
  Config config;
  config.components.Set("freshdesk_api_key", std::string(kKey), /*secret=*/true);
  return config;
}

TEST(ResolveFreshdeskApiBaseTest, LoopbackBaseUrlAllowed) {
  Config config = BaseConfig();
  for (const char* url : {"http://127.0.0.1:8080", "http://127.0.0.1:8080/", "http://localhost:9/",
                          "http://[::1]:8080", "http://127.3.4.5:1/api/v2"}) {
    config.components.Set("freshdesk_base_url", std::string(url));
    auto base = ResolveFreshdeskApiBase(config);
    ASSERT_TRUE(base) << url << ": " << base.error().ToString();
    EXPECT_EQ(base->substr(base->size() - 7), "/api/v2") << *base;
    EXPECT_EQ(base->find("/api/v2/api/v2"), std::string::npos);
  }
  config.components.Set("freshdesk_base_url", std::string("http://127.0.0.1:8080/"));
  EXPECT_EQ(*ResolveFreshdeskApiBase(config), "http://127.0.0.1:8080/api/v2");
}

TEST(ResolveFreshdeskApiBaseTest, PublicHostNeedsAllowlist) {
  Config config = BaseConfig();
  config.components.Set("freshdesk_base_url", std::string("https://helpdesk.example.com"));
  auto rejected = ResolveFreshdeskApiBase(config);
  ASSERT_FALSE(rejected);
  EXPECT_EQ(rejected.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(rejected.error().message().find("FRESHDESK_BASE_URL"), std::string::npos);
  EXPECT_NE(rejected.error().message().find("DESKPIPE_ALLOWED_HOSTS"), std::string::npos);

  config.components.Set("freshdesk_base_url", std::string("http://128.0.0.1:80"));  // not 127/8
  EXPECT_FALSE(ResolveFreshdeskApiBase(config));
  config.components.Set("freshdesk_base_url", std::string("http://127.0.0.1.evil.com:80"));
  EXPECT_FALSE(ResolveFreshdeskApiBase(config));

  config.components.Set("freshdesk_base_url", std::string("https://helpdesk.example.com"));
  config.allowed_hosts = {"Helpdesk.Example.com"};
  auto allowed = ResolveFreshdeskApiBase(config);
  ASSERT_TRUE(allowed) << allowed.error().ToString();
  EXPECT_EQ(*allowed, "https://helpdesk.example.com/api/v2");
}

TEST(ResolveFreshdeskApiBaseTest, DomainForms) {
  Config config = BaseConfig();
  for (const char* domain :
       {"acme", "acme.freshdesk.com", "https://acme.freshdesk.com/", "ACME.freshdesk.com/"}) {
    config.components.Set("freshdesk_domain", std::string(domain));
    auto base = ResolveFreshdeskApiBase(config);
    ASSERT_TRUE(base) << domain << ": " << base.error().ToString();
    EXPECT_EQ(*base, "https://acme.freshdesk.com/api/v2") << domain;
  }
  config.components.Set("freshdesk_domain", std::string("support.acme.com"));
  EXPECT_FALSE(ResolveFreshdeskApiBase(config));
  EXPECT_EQ(PortalUrlFromApiBase("https://acme.freshdesk.com/api/v2"), "https://acme.freshdesk.com");
}

TEST(ResolveFreshdeskApiBaseTest, MissingSettings) {
  Config config = BaseConfig();
  auto none = ResolveFreshdeskApiBase(config);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message().find("FRESHDESK_DOMAIN"), std::string::npos);
  EXPECT_NE(none.error().message().find("--domain"), std::string::npos);

  config.components.Set("freshdesk_domain", std::string("acme"));
  config.components.Set("freshdesk_api_key", std::string(), /*secret=*/true);
  auto no_key = ResolveFreshdeskApiBase(config);
  ASSERT_FALSE(no_key);
  EXPECT_EQ(no_key.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_key.error().message().find("FRESHDESK_API_KEY"), std::string::npos);
  EXPECT_NE(no_key.error().message().find("--api-key"), std::string::npos);
}

}  // namespace
}  // namespace deskpipe::freshdesk
