#include "platforms/freshdesk/freshdesk_client.h"

#include <gtest/gtest.h>

#include <chrono>
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
  EXPECT_EQ(f.sleeps[0], milliseconds(7000));
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

Config BaseConfig() {
  Config config;
  config.freshdesk_api_key = kKey;
  return config;
}

TEST(ResolveFreshdeskApiBaseTest, LoopbackBaseUrlAllowed) {
  Config config = BaseConfig();
  for (const char* url : {"http://127.0.0.1:8080", "http://127.0.0.1:8080/", "http://localhost:9/",
                          "http://[::1]:8080", "http://127.3.4.5:1/api/v2"}) {
    config.freshdesk_base_url = url;
    auto base = ResolveFreshdeskApiBase(config);
    ASSERT_TRUE(base) << url << ": " << base.error().ToString();
    EXPECT_EQ(base->substr(base->size() - 7), "/api/v2") << *base;
    EXPECT_EQ(base->find("/api/v2/api/v2"), std::string::npos);
  }
  config.freshdesk_base_url = "http://127.0.0.1:8080/";
  EXPECT_EQ(*ResolveFreshdeskApiBase(config), "http://127.0.0.1:8080/api/v2");
}

TEST(ResolveFreshdeskApiBaseTest, PublicHostNeedsAllowlist) {
  Config config = BaseConfig();
  config.freshdesk_base_url = "https://helpdesk.example.com";
  auto rejected = ResolveFreshdeskApiBase(config);
  ASSERT_FALSE(rejected);
  EXPECT_EQ(rejected.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(rejected.error().message().find("FRESHDESK_BASE_URL"), std::string::npos);
  EXPECT_NE(rejected.error().message().find("DESKPIPE_ALLOWED_HOSTS"), std::string::npos);

  config.freshdesk_base_url = "http://128.0.0.1:80";  // not 127/8
  EXPECT_FALSE(ResolveFreshdeskApiBase(config));
  config.freshdesk_base_url = "http://127.0.0.1.evil.com:80";
  EXPECT_FALSE(ResolveFreshdeskApiBase(config));

  config.freshdesk_base_url = "https://helpdesk.example.com";
  config.allowed_hosts = {"Helpdesk.Example.com"};
  auto allowed = ResolveFreshdeskApiBase(config);
  ASSERT_TRUE(allowed) << allowed.error().ToString();
  EXPECT_EQ(*allowed, "https://helpdesk.example.com/api/v2");
}

TEST(ResolveFreshdeskApiBaseTest, DomainForms) {
  Config config = BaseConfig();
  for (const char* domain :
       {"acme", "acme.freshdesk.com", "https://acme.freshdesk.com/", "ACME.freshdesk.com/"}) {
    config.freshdesk_domain = domain;
    auto base = ResolveFreshdeskApiBase(config);
    ASSERT_TRUE(base) << domain << ": " << base.error().ToString();
    EXPECT_EQ(*base, "https://acme.freshdesk.com/api/v2") << domain;
  }
  config.freshdesk_domain = "support.acme.com";
  EXPECT_FALSE(ResolveFreshdeskApiBase(config));
  EXPECT_EQ(PortalUrlFromApiBase("https://acme.freshdesk.com/api/v2"), "https://acme.freshdesk.com");
}

TEST(ResolveFreshdeskApiBaseTest, MissingSettings) {
  Config config = BaseConfig();
  auto none = ResolveFreshdeskApiBase(config);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message().find("FRESHDESK_DOMAIN"), std::string::npos);
  EXPECT_NE(none.error().message().find("--domain"), std::string::npos);

  config.freshdesk_domain = "acme";
  config.freshdesk_api_key.clear();
  auto no_key = ResolveFreshdeskApiBase(config);
  ASSERT_FALSE(no_key);
  EXPECT_EQ(no_key.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_key.error().message().find("FRESHDESK_API_KEY"), std::string::npos);
  EXPECT_NE(no_key.error().message().find("--api-key"), std::string::npos);
}

}  // namespace
}  // namespace deskpipe::freshdesk
