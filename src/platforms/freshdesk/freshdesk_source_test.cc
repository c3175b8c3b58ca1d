#include "platforms/freshdesk/freshdesk_source.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/time.h"
#include "platforms/freshdesk/fake_http_client.h"
#include "platforms/registry.h"

namespace deskpipe::freshdesk {
namespace {

using nlohmann::json;
using testing::FakeHttpClient;
using testing::NextLink;

const std::string kRoot = "http://127.0.0.1:9999";
const std::string kBase = kRoot + "/api/v2";
constexpr const char* kKey = "sekr3t-api-key";
constexpr const char* kStart = "2020-01-01T00:00:00Z";

Config TestConfig(int batch_size) {
  Config config;
  config.tenant_id = "acme";
  config.freshdesk_base_url = kRoot;
  config.freshdesk_api_key = kKey;
  config.start_date = kStart;
  config.collection_batch_size = batch_size;
  return config;
}

std::unique_ptr<FreshdeskSource> MakeSource(const Config& config, FakeHttpClient& http,
                                            std::vector<std::chrono::milliseconds>* sleeps = nullptr,
                                            int max_attempts = 4) {
  FreshdeskClientOptions options;
  options.max_attempts = max_attempts;
  options.sleep = [sleeps](std::chrono::milliseconds wait) {
    if (sleeps != nullptr) sleeps->push_back(wait);
  };
  auto source = FreshdeskSource::Create(config, http, options);
  EXPECT_TRUE(source) << source.error().ToString();
  return source ? std::move(*source) : nullptr;
}

std::string TicketsUrl(const std::string& since, int per_page, int page) {
  return kBase + "/tickets?updated_since=" + since +
         "&order_by=updated_at&order_type=asc&include=description,requester,stats&per_page=" +
         std::to_string(per_page) + "&page=" + std::to_string(page);
}

std::string ConversationsUrl(int64_t ticket_id) {
  return kBase + "/tickets/" + std::to_string(ticket_id) + "/conversations?per_page=100";
}

json Ticket(int64_t id, const std::string& updated_at, int status = 2) {
  return {{"id", id},
          {"subject", "ticket " + std::to_string(id)},
          {"description", "<p>help</p>"},
          {"status", status},
          {"priority", 1},
          {"requester_id", 900},
          {"responder_id", 1},
          {"created_at", "2019-12-31T00:00:00Z"},
          {"updated_at", updated_at}};
}

json Conversation(int64_t id, int64_t ticket_id) {
  return {{"id", id},
          {"ticket_id", ticket_id},
          {"user_id", 1},
          {"incoming", false},
          {"private", false},
          {"body", "<p>reply</p>"},
          {"created_at", "2020-01-01T10:00:00Z"},
          {"updated_at", "2020-01-01T10:00:00Z"}};
}

const char* kAgents = R"([{"id": 1, "contact": {"name": "Support"},
                           "created_at": "2015-08-18T16:18:05Z", "updated_at": "2015-08-18T16:18:05Z"}])";
const char* kTicketFields = R"([{"id": 10, "name": "status", "label": "Status", "type": "default_status",
                                 "choices": {"2": ["Open", "Open"], "6": ["Waiting on Customer", "Awaiting"]}}])";

void ExpectReferenceData(FakeHttpClient& http) {
  http.Expect(kBase + "/agents?per_page=100", 200, kAgents);
  http.Expect(kBase + "/ticket_fields", 200, kTicketFields);
}

std::vector<std::string> Ids(const Batch& batch) {
  std::vector<std::string> ids;
  for (const auto& r : batch.records) ids.push_back(r.original_id);
  return ids;
}

TEST(FreshdeskSourceTest, TicketPagesWithConversationPagesThenIncrementalRun) {
  FakeHttpClient http;
  auto source = MakeSource(TestConfig(2), http);
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->platform(), "freshdesk");
  EXPECT_EQ(source->Streams(), (std::vector<std::string>{"agents", "ticket_fields", "tickets", "solutions"}));

  // Run 1, page 1: reference data loaded on demand, two tickets, ticket 1's thread spans two pages.
  ExpectReferenceData(http);
  http.Expect(TicketsUrl(kStart, 2, 1), 200,
              json::array({Ticket(1, "2020-01-01T10:00:00Z"), Ticket(2, "2020-01-01T10:00:05Z")}).dump(),
              NextLink(TicketsUrl(kStart, 2, 2)));
  http.Expect(ConversationsUrl(1), 200, json::array({Conversation(11, 1)}).dump(),
              NextLink(ConversationsUrl(1) + "&page=2"));
  http.Expect(ConversationsUrl(1) + "&page=2", 200, json::array({Conversation(12, 1)}).dump());
  http.Expect(ConversationsUrl(2), 200, "[]");
  auto first = source->Next("tickets", nullptr);
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_EQ(Ids(*first), (std::vector<std::string>{"1", "conversation-11", "conversation-12", "2"}));
  EXPECT_FALSE(first->done);
  EXPECT_EQ(first->stream, "tickets");
  EXPECT_EQ(first->records[1].parent_id, "acme_freshdesk_1");
  EXPECT_EQ(first->records[1].metadata["role"], "agent");
  EXPECT_EQ(first->records[0].metadata["responder_name"], "Support");
  EXPECT_EQ(first->cursor["page"], 2);
  EXPECT_EQ(first->cursor["window_start"], kStart);

  // Run 1, page 2: the last page (no link) ends the stream with an incremental cursor.
  http.Expect(TicketsUrl(kStart, 2, 2), 200, json::array({Ticket(3, "2020-01-01T10:00:05Z", 6)}).dump());
  http.Expect(ConversationsUrl(3), 200, "[]");
  auto second = source->Next("tickets", first->cursor);
  ASSERT_TRUE(second) << second.error().ToString();
  EXPECT_TRUE(second->done);
  EXPECT_EQ(second->records[0].status, "Waiting on Customer");
  EXPECT_EQ(second->cursor["window_start"], "2020-01-01T10:00:05Z");
  EXPECT_EQ(second->cursor["page"], 1);
  EXPECT_EQ(second->cursor["skip_ids"], json({2, 3}));

  // Run 2 (a new process): updated_since = the max updated_at seen; ticket 2 at that second is skipped.
  FakeHttpClient http2;
  auto next_run = MakeSource(TestConfig(2), http2);
  ExpectReferenceData(http2);
  http2.Expect(TicketsUrl("2020-01-01T10:00:05Z", 2, 1), 200,
               json::array({Ticket(2, "2020-01-01T10:00:05Z"), Ticket(4, "2020-01-01T10:01:00Z")}).dump());
  http2.Expect(ConversationsUrl(4), 200, "[]");
  auto third = next_run->Next("tickets", second->cursor);
  ASSERT_TRUE(third) << third.error().ToString();
  EXPECT_EQ(Ids(*third), std::vector<std::string>{"4"});
  EXPECT_TRUE(third->done);
  EXPECT_EQ(third->cursor["window_start"], "2020-01-01T10:01:00Z");
  EXPECT_EQ(third->cursor["skip_ids"], json({4}));
}

TEST(FreshdeskSourceTest, ReferenceStreamsFeedLaterStreams) {
  FakeHttpClient http;
  auto source = MakeSource(TestConfig(100), http);
  http.Expect(kBase + "/agents?per_page=100&page=1", 200, kAgents);
  http.Expect(kBase + "/ticket_fields", 200, kTicketFields);
  http.Expect(TicketsUrl(kStart, 100, 1), 200, json::array({Ticket(5, "2020-02-01T00:00:00Z", 6)}).dump());
  http.Expect(ConversationsUrl(5), 200, "[]");

  auto agents = source->Next("agents", nullptr);
  ASSERT_TRUE(agents) << agents.error().ToString();
  EXPECT_TRUE(agents->done);
  ASSERT_EQ(agents->records.size(), 1u);
  EXPECT_EQ(agents->records[0].original_id, "agent-1");
  auto fields = source->Next("ticket_fields", nullptr);
  ASSERT_TRUE(fields) << fields.error().ToString();
  EXPECT_TRUE(fields->done);
  ASSERT_EQ(fields->records.size(), 1u);
  EXPECT_EQ(fields->records[0].type, "ticket_field");
  auto tickets = source->Next("tickets", nullptr);  // no second agents/ticket_fields request
  ASSERT_TRUE(tickets) << tickets.error().ToString();
  EXPECT_EQ(tickets->records[0].status, "Waiting on Customer");
  EXPECT_EQ(tickets->records[0].metadata["responder_name"], "Support");
}

// A fake Freshdesk whose ticket list obeys updated_since / page over a fixed set of tickets, capped at
// kMaxTicketPages pages, with per_page 1.
struct CappedTickets {
  std::vector<std::pair<int64_t, int64_t>> tickets;  // (id, updated_at), ordered by updated_at
  bool cap_with_400 = false;
  int cap_page = kMaxTicketPages;

  std::optional<net::HttpResponse> operator()(const net::HttpRequest& request) const {
    net::HttpResponse response;
    response.status = 200;
    if (request.url.find("/conversations") != std::string::npos) {
      response.body = "[]";
      return response;
    }
    const std::string prefix = kBase + "/tickets?updated_since=";
    if (request.url.rfind(prefix, 0) != 0) return std::nullopt;
    std::string since = request.url.substr(prefix.size(), 20);
    int page = std::stoi(request.url.substr(request.url.rfind("&page=") + 6));
    int64_t since_ts = *ParseTimestamp(since);
    if (page > cap_page) {
      response.status = 400;
      response.body =
          R"({"description":"Validation failed","errors":[{"field":"page","message":"You cannot access tickets beyond the 300th page. Please provide a smaller page number.","code":"invalid_value"}]})";
      return response;
    }
    std::vector<std::pair<int64_t, int64_t>> matching;
    for (const auto& t : tickets) {
      if (t.second >= since_ts) matching.push_back(t);
    }
    json body = json::array();
    if (static_cast<size_t>(page) <= matching.size()) {
      const auto& t = matching[page - 1];
      body.push_back(Ticket(t.first, FormatTimestamp(t.second)));
    }
    response.body = body.dump();
    bool more = static_cast<size_t>(page) < matching.size();
    if (more && (cap_with_400 || page < kMaxTicketPages)) {
      response.headers =
          NextLink(request.url.substr(0, request.url.rfind("&page=")) + "&page=" + std::to_string(page + 1));
    } else if (more) {
      response.headers = NextLink(request.url + "x");  // page 300 still says there is more
    }
    return response;
  }
};

void RunPageCapScenario(bool cap_with_400) {
  const int64_t t0 = *ParseTimestamp("2021-06-01T00:00:00Z");
  CappedTickets fake;
  fake.cap_with_400 = cap_with_400;
  fake.cap_page = cap_with_400 ? 120 : kMaxTicketPages;  // a 400 may arrive before page 300
  const int total = 305;
  const int64_t shared_second_from = cap_with_400 ? 119 : 299;
  for (int64_t id = 1; id <= total; ++id) {
    // Two tickets share the boundary second, so the skip set matters.
    int64_t offset = id <= shared_second_from       ? id
                     : id == shared_second_from + 1 ? shared_second_from
                                                    : id - 1;
    fake.tickets.emplace_back(id, t0 + offset);
  }
  FakeHttpClient http;
  http.set_handler(fake);
  Config config = TestConfig(1);
  config.start_date = FormatTimestamp(t0);
  auto source = MakeSource(config, http);
  ExpectReferenceData(http);

  std::multiset<std::string> emitted;
  json cursor = nullptr;
  std::vector<std::string> windows;
  for (int call = 0; call < 1000; ++call) {
    auto batch = source->Next("tickets", cursor);
    ASSERT_TRUE(batch) << batch.error().ToString();
    for (const auto& r : batch->records) {
      if (r.type == "ticket") emitted.insert(r.original_id);
    }
    if (batch->cursor["page"] == 1 && batch->cursor["window_start"] != cursor.value("window_start", json())) {
      windows.push_back(batch->cursor["window_start"].get<std::string>());
    }
    cursor = batch->cursor;
    if (batch->done) break;
  }
  // Every ticket exactly once.
  EXPECT_EQ(emitted.size(), static_cast<size_t>(total));
  for (int id = 1; id <= total; ++id) EXPECT_EQ(emitted.count(std::to_string(id)), 1u) << id;
  // The re-window started at the max updated_at of the first window.
  ASSERT_GE(windows.size(), 2u);
  EXPECT_EQ(windows[0], FormatTimestamp(t0 + shared_second_from));
  // And the new window's first request carried that updated_since.
  bool saw = false;
  for (const auto& r : http.requests()) {
    if (r.url == TicketsUrl(windows[0], 1, 1)) saw = true;
  }
  EXPECT_TRUE(saw);
  EXPECT_EQ(cursor["window_start"], FormatTimestamp(t0 + total - 1));
}

TEST(FreshdeskSourceTest, Page300StartsNewWindowWithoutLossOrDuplicates) { RunPageCapScenario(false); }

TEST(FreshdeskSourceTest, PageCap400StartsNewWindow) { RunPageCapScenario(true); }

TEST(FreshdeskSourceTest, UnauthorizedStopsWithSettingName) {
  FakeHttpClient http;
  auto source = MakeSource(TestConfig(10), http);
  http.Expect(kBase + "/agents?per_page=100", 401, R"({"code":"invalid_credentials","message":"nope"})");
  auto batch = source->Next("tickets", nullptr);
  ASSERT_FALSE(batch);
  EXPECT_EQ(batch.error().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(batch.error().message().find("FRESHDESK_API_KEY"), std::string::npos);
  EXPECT_EQ(batch.error().message().find(kKey), std::string::npos);
}

TEST(FreshdeskSourceTest, RateLimitHonouredThroughInjectedSleep) {
  FakeHttpClient http;
  std::vector<std::chrono::milliseconds> sleeps;
  auto source = MakeSource(TestConfig(10), http, &sleeps);
  http.Expect(kBase + "/agents?per_page=100&page=1", 429, "", {{"Retry-After", "12"}});
  http.Expect(kBase + "/agents?per_page=100&page=1", 200, kAgents);
  auto batch = source->Next("agents", nullptr);
  ASSERT_TRUE(batch) << batch.error().ToString();
  ASSERT_EQ(sleeps.size(), 1u);
  EXPECT_EQ(sleeps[0], std::chrono::milliseconds(12000));
}

TEST(FreshdeskSourceTest, MalformedPageIsUnavailable) {
  FakeHttpClient http;
  auto source = MakeSource(TestConfig(10), http, nullptr, /*max_attempts=*/1);
  ExpectReferenceData(http);
  http.Expect(TicketsUrl(kStart, 10, 1), 200, "[{\"id\": 1,");
  auto batch = source->Next("tickets", nullptr);
  ASSERT_FALSE(batch);
  EXPECT_EQ(batch.error().code(), StatusCode::kUnavailable);
  EXPECT_NE(batch.error().message().find("malformed JSON"), std::string::npos);
}

TEST(FreshdeskSourceTest, BadTicketIsRejectedAndTheBatchGoesOn) {
  FakeHttpClient http;
  auto source = MakeSource(TestConfig(10), http);
  ExpectReferenceData(http);
  json bad = Ticket(7, "never");
  http.Expect(TicketsUrl(kStart, 10, 1), 200, json::array({bad, Ticket(8, "2020-03-01T00:00:00Z")}).dump());
  http.Expect(ConversationsUrl(8), 200, "[]");
  auto batch = source->Next("tickets", nullptr);
  ASSERT_TRUE(batch) << batch.error().ToString();
  EXPECT_EQ(Ids(*batch), std::vector<std::string>{"8"});
  ASSERT_EQ(batch->rejected.size(), 1u);
  EXPECT_EQ(batch->rejected[0].first, "ticket 7");
  EXPECT_EQ(batch->rejected[0].second.code(), StatusCode::kInvalidRecord);
  EXPECT_NE(batch->rejected[0].second.message().find("updated_at"), std::string::npos);
  EXPECT_TRUE(batch->done);
}

json Article(int64_t id, int64_t folder_id) {
  return {{"id", id},
          {"status", 2},
          {"folder_id", folder_id},
          {"title", "a" + std::to_string(id)},
          {"description", "<p>x</p>"},
          {"created_at", "2020-10-06T11:05:53Z"},
          {"updated_at", "2020-10-06T11:05:53Z"}};
}

void ExpectHierarchy(FakeHttpClient& http) {
  http.Expect(kBase + "/solutions/categories", 200, R"([{"id": 2, "name": "General"}])");
  http.Expect(kBase + "/solutions/categories/2/folders", 200,
              R"([{"id": 3, "name": "Getting Started", "visibility": 1, "sub_folders_count": 1},
                  {"id": 5, "name": "Internal", "visibility": 3}])");
  http.Expect(kBase + "/solutions/folders/3/subfolders", 200,
              R"([{"id": 4, "name": "Nested", "visibility": 2}])");
}

TEST(FreshdeskSourceTest, SolutionsWalkAndResume) {
  FakeHttpClient http;
  auto source = MakeSource(TestConfig(2), http);
  ExpectHierarchy(http);
  const std::string articles3 = kBase + "/solutions/folders/3/articles?per_page=2&page=";
  http.Expect(articles3 + "1", 200, json::array({Article(31, 3), Article(32, 3)}).dump(),
              NextLink(articles3 + "2"));
  http.Expect(articles3 + "2", 200, json::array({Article(33, 3)}).dump());
  http.Expect(kBase + "/solutions/folders/4/articles?per_page=2&page=1", 200, "[]");
  http.Expect(kBase + "/solutions/folders/5/articles?per_page=2&page=1", 200,
              json::array({Article(51, 5)}).dump());

  std::vector<std::string> ids;
  json cursor = nullptr;
  json resume_cursor;
  int batches = 0;
  for (; batches < 10; ++batches) {
    auto batch = source->Next("solutions", cursor);
    ASSERT_TRUE(batch) << batch.error().ToString();
    for (const auto& r : batch->records) ids.push_back(r.original_id);
    if (batch->records.size() == 1 && batch->records[0].original_id == "article-51") {
      EXPECT_EQ(batch->records[0].metadata["visibility"], "agents");
      EXPECT_EQ(batch->records[0].metadata["category_name"], "General");
      EXPECT_EQ(batch->records[0].metadata["folder_name"], "Internal");
    }
    if (batch->cursor.is_object() && batch->cursor["folder_id"] == 5) resume_cursor = batch->cursor;
    cursor = batch->cursor;
    if (batch->done) break;
  }
  EXPECT_EQ(batches, 3);  // four batches: folder 3 ×2, folder 4, folder 5
  EXPECT_TRUE(cursor.is_null());
  EXPECT_EQ(ids, (std::vector<std::string>{"article-31", "article-32", "article-33", "article-51"}));

  // A new process resumes at folder 5 (re-listing the hierarchy, not re-reading folders 3 and 4).
  FakeHttpClient http2;
  auto restarted = MakeSource(TestConfig(2), http2);
  ExpectHierarchy(http2);
  http2.Expect(kBase + "/solutions/folders/5/articles?per_page=2&page=1", 200,
               json::array({Article(51, 5)}).dump());
  ASSERT_TRUE(resume_cursor.is_object());
  auto batch = restarted->Next("solutions", resume_cursor);
  ASSERT_TRUE(batch) << batch.error().ToString();
  EXPECT_TRUE(batch->done);
  EXPECT_EQ(Ids(*batch), std::vector<std::string>{"article-51"});
}

TEST(FreshdeskSourceTest, UnknownStreamAndBadConfig) {
  FakeHttpClient http;
  auto source = MakeSource(TestConfig(10), http);
  auto batch = source->Next("contacts", nullptr);
  ASSERT_FALSE(batch);
  EXPECT_EQ(batch.error().code(), StatusCode::kInvalidArgument);

  Config config = TestConfig(10);
  config.freshdesk_base_url = "http://example.com";
  auto rejected = FreshdeskSource::Create(config, http);
  ASSERT_FALSE(rejected);
  EXPECT_NE(rejected.error().message().find("DESKPIPE_ALLOWED_HOSTS"), std::string::npos);
}

TEST(RegistryTest, DispatchesOnPlatform) {
  FakeHttpClient http;
  EXPECT_EQ(RegisteredPlatforms(), std::vector<std::string>{"freshdesk"});
  auto source = ::deskpipe::CreateSource(TestConfig(10), http);
  ASSERT_TRUE(source) << source.error().ToString();
  EXPECT_EQ((*source)->platform(), "freshdesk");

  Config config = TestConfig(10);
  config.platform = "zendesk";
  auto unknown = ::deskpipe::CreateSource(config, http);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.error().message().find("zendesk"), std::string::npos);
  EXPECT_NE(unknown.error().message().find("freshdesk"), std::string::npos);
}

}  // namespace
}  // namespace deskpipe::freshdesk
