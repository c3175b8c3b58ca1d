// Integration tests: the Zendesk emulator started in-process on a free loopback port, checked over real HTTP
// (libcurl) against the behaviours docs/zendesk-api.md records, and its response shapes against the reference
// pages' examples in fixtures/.

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/time.h"
#include "generator.h"
#include "server.h"
#include "tools/freshdesk-emulator/test_http.h"
#include "tools/zendesk-emulator/dataset.h"

namespace deskpipe::zendesk_emulator {
namespace {

using deskpipe::emulator::testing::Fetch;
using deskpipe::emulator::testing::HttpResult;
using nlohmann::json;

constexpr char kUser[] = "agent@brightline.example/token";
constexpr char kToken[] = "zd-test-token";
constexpr int kTickets = 120;

int64_t TestNow() { return *ParseTimestamp("2026-11-24T00:00:00Z"); }

std::shared_ptr<const Account> MakeAccount(int tickets = kTickets) {
  auto account = GenerateAccount({.seed = 7, .tickets = tickets, .now = TestNow()});
  EXPECT_TRUE(account.has_value());
  return std::make_shared<const Account>(std::move(*account));
}

ServerOptions Options() {
  ServerOptions options;
  options.email = "agent@brightline.example";
  options.api_token = kToken;
  return options;
}

// One server per test: timeline steps and rate-limit windows must not leak between tests.
class ZendeskEmulatorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  static void TearDownTestSuite() { curl_global_cleanup(); }

  void Start(ServerOptions options = Options(), std::shared_ptr<const Account> account = MakeAccount()) {
    server_ = std::make_unique<EmulatorServer>(std::move(account), std::move(options));
    Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
  }
  void SetUp() override { Start(); }

  std::string Api(const std::string& path) const { return server_->base_url() + "/api/v2" + path; }
  HttpResult Get(const std::string& url) const { return Fetch(url, kUser, kToken); }
  json GetJson(const std::string& url) const {
    HttpResult r = Get(url);
    EXPECT_EQ(r.status, 200) << url << " → " << r.body;
    return r.status == 200 ? r.Json() : json();
  }
  json Control(const std::string& path, const std::string& body = "") const {
    HttpResult r =
        body.empty() ? Fetch(server_->base_url() + path, "") : PostJson(server_->base_url() + path, body);
    EXPECT_EQ(r.status, 200) << path << " → " << r.body;
    return r.Json();
  }
  static HttpResult PostJson(const std::string& url, const std::string& body) {
    HttpResult result;
    CURL* curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, deskpipe::emulator::testing::WriteBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
    EXPECT_EQ(curl_easy_perform(curl), CURLE_OK);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
    curl_easy_cleanup(curl);
    return result;
  }
  json Apply(const json& step) const { return Control("/_emulator/timeline/apply", step.dump()); }
  // Applies a step, then lets the minute the exports leave out pass.
  json ApplyAndWait(const json& step) const {
    json summary = Apply(step);
    AdvanceClock(60);
    return summary;
  }
  void AdvanceClock(int seconds) const {
    HttpResult r =
        PostJson(server_->base_url() + "/_emulator/clock/advance?seconds=" + std::to_string(seconds), "");
    ASSERT_EQ(r.status, 200) << r.body;
  }

  // Walks a cursor export from start_time=0 to end_of_stream; returns every item and the last cursor.
  std::vector<json> WalkCursorExport(const std::string& resource, int per_page,
                                     std::string* last_cursor) const {
    std::vector<json> items;
    std::string url =
        Api("/incremental/" + resource + "/cursor.json?start_time=0&per_page=" + std::to_string(per_page));
    for (int pages = 0; pages < 1000; ++pages) {
      json page = GetJson(url);
      for (const auto& item : page[resource]) items.push_back(item);
      EXPECT_LE(page[resource].size(), static_cast<size_t>(per_page));
      *last_cursor = page["after_cursor"];
      if (page["end_of_stream"].get<bool>()) return items;
      url = page["after_url"];
    }
    ADD_FAILURE() << "the export never reached end_of_stream";
    return items;
  }

  // A ticket every endpoint shows (the generator soft-deletes a few).
  int64_t LiveTicket() const {
    for (const auto& t : server_->account()->tickets) {
      if (t.status != "deleted") return t.id;
    }
    return 0;
  }

  std::unique_ptr<EmulatorServer> server_;
};

std::set<int64_t> Ids(const std::vector<json>& items) {
  std::set<int64_t> ids;
  for (const auto& item : items) ids.insert(item["id"].get<int64_t>());
  return ids;
}

json Fixture(const std::string& name) {
  std::ifstream in(std::string(ZENDESK_FIXTURES_DIR) + "/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str());
}

// Every key of the documented example is present with the same JSON type (null matches anything: the API
// sends null for blank fields; numbers match numbers).
void ExpectSameShape(const json& documented, const json& served, const std::string& where) {
  ASSERT_TRUE(served.is_object()) << where;
  for (const auto& [key, value] : documented.items()) {
    if (key == "_source") continue;
    ASSERT_TRUE(served.contains(key)) << where << ": missing \"" << key << "\"";
    const json& got = served[key];
    if (value.is_null() || got.is_null()) continue;
    EXPECT_EQ(value.is_number(), got.is_number()) << where << "." << key;
    if (!value.is_number()) {
      EXPECT_EQ(value.type_name(), std::string(got.type_name())) << where << "." << key;
    }
  }
}

TEST_F(ZendeskEmulatorTest, ApiTokenAuthAndTheErrorBodyOfAFailure) {
  const std::string id = std::to_string(LiveTicket());
  const std::string url = Api("/tickets/" + id + ".json");
  for (const HttpResult& r : {Fetch(url, ""), Fetch(url, kUser, "wrong-token"),
                              Fetch(url, "agent@brightline.example", kToken),  // password form, not a token
                              Fetch(url, "other@brightline.example/token", kToken)}) {
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.body, R"({"error":"Couldn't authenticate you"})");
    EXPECT_EQ(r.Header("content-type"), "application/json; charset=utf-8");
    EXPECT_FALSE(r.Header("x-rate-limit").empty());
  }
  HttpResult ok = Get(url);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.Json()["ticket"]["id"], LiveTicket());
  EXPECT_EQ(Get(Api("/tickets/" + id)).status, 200);  // with or without .json
}

TEST_F(ZendeskEmulatorTest, ErrorBodiesAsTheApiGivesThem) {
  HttpResult missing = Get(Api("/tickets/99999.json"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, R"({"error":"RecordNotFound","description":"Not found"})");
  EXPECT_EQ(Get(Api("/users/1.json")).body, R"({"error":"RecordNotFound","description":"Not found"})");
  EXPECT_EQ(Get(Api("/no_such_thing.json")).Json()["error"], "InvalidEndpoint");

  const std::string comments = Api("/tickets/" + std::to_string(LiveTicket()) + "/comments.json");
  HttpResult big = Get(comments + "?page[size]=101");
  EXPECT_EQ(big.status, 400);
  EXPECT_EQ(big.Json()["error"], "InvalidPaginationParameter");
  HttpResult bad_after = Get(comments + "?page[size]=10&page[after]=garbage!");
  EXPECT_EQ(bad_after.status, 400);
  EXPECT_EQ(bad_after.Json()["error"], "InvalidPaginationParameter");

  HttpResult bad_cursor = Get(Api("/incremental/tickets/cursor.json?cursor=bm90LWEtY3Vyc29y"));
  EXPECT_EQ(bad_cursor.status, 400);
  EXPECT_EQ(bad_cursor.Json()["error"], "InvalidValue");
  HttpResult recent =
      Get(Api("/incremental/tickets/cursor.json?start_time=" + std::to_string(TestNow() - 30)));
  EXPECT_EQ(recent.status, 400);
  EXPECT_EQ(recent.Json()["error"], "InvalidValue");
  EXPECT_EQ(Get(Api("/incremental/tickets/cursor.json")).status, 400);
  HttpResult post = Fetch(Api("/tickets.json"), kUser, kToken, "POST");
  EXPECT_EQ(post.status, 405);
  EXPECT_NO_THROW(post.Json());
}

TEST_F(ZendeskEmulatorTest, ResponsesHaveTheShapeOfTheDocumentedExamples) {
  const json tickets = GetJson(Api("/incremental/tickets/cursor.json?start_time=0&per_page=5"));
  const json documented_tickets = Fixture("incremental_tickets_cursor.json");
  ExpectSameShape(documented_tickets, tickets, "tickets export");
  ExpectSameShape(documented_tickets["tickets"][0], tickets["tickets"][0], "ticket");
  ExpectSameShape(documented_tickets["tickets"][0]["custom_fields"][0],
                  tickets["tickets"][0]["custom_fields"][0], "custom field");

  const json users = GetJson(Api("/incremental/users/cursor.json?start_time=0&per_page=5"));
  const json documented_users = Fixture("incremental_users_cursor.json");
  ExpectSameShape(documented_users, users, "users export");
  ExpectSameShape(documented_users["users"][0], users["users"][0], "user");

  const json orgs = GetJson(Api("/incremental/organizations.json?start_time=0"));
  const json documented_orgs = Fixture("incremental_organizations.json");
  ExpectSameShape(documented_orgs, orgs, "organizations export");
  ExpectSameShape(documented_orgs["organizations"][0], orgs["organizations"][0], "organization");

  // A ticket whose comments carry an attachment.
  const auto account = server_->account();
  int64_t with_attachment = 0;
  for (const auto& t : account->tickets) {
    for (const auto& c : t.comments) {
      if (!c.attachments.empty() && t.status != "deleted" && with_attachment == 0) with_attachment = t.id;
    }
  }
  ASSERT_NE(with_attachment, 0);
  const json comments =
      GetJson(Api("/tickets/" + std::to_string(with_attachment) + "/comments.json?page[size]=100"));
  const json documented_comments = Fixture("ticket_comments.json");
  ExpectSameShape(documented_comments, comments, "comments");
  ExpectSameShape(documented_comments["meta"], comments["meta"], "comments meta");
  ExpectSameShape(documented_comments["links"], comments["links"], "comments links");
  bool checked = false;
  for (const auto& c : comments["comments"]) {
    ExpectSameShape(documented_comments["comments"][0], c, "comment");
    if (!c["attachments"].empty()) {
      ExpectSameShape(documented_comments["comments"][0]["attachments"][0], c["attachments"][0],
                      "attachment");
      checked = true;
    }
  }
  EXPECT_TRUE(checked);

  const json deleted = GetJson(Api("/deleted_tickets.json"));
  const json documented_deleted = Fixture("deleted_tickets.json");
  ExpectSameShape(documented_deleted, deleted, "deleted tickets");
  ASSERT_FALSE(deleted["deleted_tickets"].empty());  // the generator soft-deletes ~2%
  ExpectSameShape(documented_deleted["deleted_tickets"][0], deleted["deleted_tickets"][0], "deleted ticket");

  const json articles = GetJson(Api("/help_center/articles.json"));
  const json documented_articles = Fixture("help_center_articles.json");
  ExpectSameShape(documented_articles, articles, "articles");
  ExpectSameShape(documented_articles["articles"][0], articles["articles"][0], "article");
  const json translations =
      GetJson(Api("/help_center/articles/" + std::to_string(articles["articles"][0]["id"].get<int64_t>()) +
                  "/translations.json"));
  const json documented_translations = Fixture("article_translations.json");
  ExpectSameShape(documented_translations["translations"][0], translations["translations"][0], "translation");
}

TEST_F(ZendeskEmulatorTest, WalkingTheCursorExportsYieldsExactlyTheTruth) {
  const auto account = server_->account();
  const int64_t cutoff = TestNow() - 60;
  std::set<int64_t> expected_tickets;
  for (const auto& t : account->tickets) {
    if (!t.scrubbed && t.generated_timestamp <= cutoff) expected_tickets.insert(t.id);
  }
  std::string cursor;
  const std::vector<json> tickets = WalkCursorExport("tickets", 7, &cursor);
  EXPECT_EQ(tickets.size(), expected_tickets.size()) << "an item came twice";
  EXPECT_EQ(Ids(tickets), expected_tickets);
  // Ordered by generated_timestamp, and deleted tickets are in the export with status "deleted".
  for (size_t i = 1; i < tickets.size(); ++i) {
    EXPECT_LE(tickets[i - 1]["generated_timestamp"].get<int64_t>(),
              tickets[i]["generated_timestamp"].get<int64_t>());
  }
  EXPECT_TRUE(
      std::any_of(tickets.begin(), tickets.end(), [](const json& t) { return t["status"] == "deleted"; }));
  // exclude_deleted leaves them out.
  json without = GetJson(Api("/incremental/tickets/cursor.json?start_time=0&exclude_deleted=true"));
  for (const auto& t : without["tickets"]) EXPECT_NE(t["status"], "deleted");
  EXPECT_LT(without["tickets"].size(), tickets.size());

  // The saved cursor resumes with nothing new.
  json again = GetJson(Api("/incremental/tickets/cursor.json?cursor=" + cursor));
  EXPECT_TRUE(again["tickets"].empty());
  EXPECT_TRUE(again["end_of_stream"].get<bool>());
  EXPECT_EQ(again["after_cursor"], cursor);

  std::set<int64_t> expected_users;
  for (const auto& u : account->users) {
    if (u.updated_at <= cutoff) expected_users.insert(u.id);
  }
  const std::vector<json> users = WalkCursorExport("users", 9, &cursor);
  EXPECT_EQ(users.size(), expected_users.size());
  EXPECT_EQ(Ids(users), expected_users);

  // Default page: at most 1000 per page.
  auto big = GenerateAccount({.seed = 3, .tickets = 2500, .now = TestNow()});
  ASSERT_TRUE(big.has_value());
  Start(Options(), std::make_shared<const Account>(std::move(*big)));
  json first = GetJson(Api("/incremental/tickets/cursor.json?start_time=0"));
  EXPECT_EQ(first["tickets"].size(), 1000u);
  EXPECT_FALSE(first["end_of_stream"].get<bool>());
}

TEST_F(ZendeskEmulatorTest, TheLastMinuteIsLeftOutUntilItIsOver) {
  const auto account = server_->account();
  const Ticket& last = account->tickets.back();
  ASSERT_EQ(last.generated_timestamp, TestNow() - 20);
  std::string cursor;
  const std::vector<json> tickets = WalkCursorExport("tickets", 1000, &cursor);
  EXPECT_EQ(Ids(tickets).count(last.id), 0u);
  const std::vector<json> users = WalkCursorExport("users", 1000, &cursor);
  EXPECT_EQ(Ids(users).count(account->users.back().id), 0u);  // changed 10 s before now

  AdvanceClock(45);  // the ticket's change is now 65 s old
  json later = GetJson(Api("/incremental/tickets/cursor.json?start_time=0"));
  EXPECT_TRUE(Ids(later["tickets"].get<std::vector<json>>()).count(last.id));
  // A poll from a cursor saved before the minute was over picks exactly that change up.
  Start();  // fresh server, clock back at TestNow()
  std::string saved;
  WalkCursorExport("tickets", 1000, &saved);
  AdvanceClock(45);
  json poll = GetJson(Api("/incremental/tickets/cursor.json?cursor=" + saved));
  ASSERT_EQ(poll["tickets"].size(), 1u);
  EXPECT_EQ(poll["tickets"][0]["id"], last.id);
}

TEST_F(ZendeskEmulatorTest, ExportsAreLimitedToTheirOwnRequestsPerMinute) {
  ServerOptions options = Options();
  options.enforce_rate_limit = true;
  options.plan = {.per_minute = 15, .exports_per_minute = 10};
  Start(options);
  for (int i = 0; i < 10; ++i) {
    HttpResult r = Get(Api("/incremental/tickets/cursor.json?start_time=0&per_page=1"));
    ASSERT_EQ(r.status, 200) << i;
    EXPECT_EQ(r.Header("zendesk-ratelimit-incremental-exports")
                  .rfind("total=10; remaining=" + std::to_string(9 - i) + ";", 0),
              0u)
        << r.Header("zendesk-ratelimit-incremental-exports");
  }
  HttpResult limited = Get(Api("/incremental/users/cursor.json?start_time=0"));
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.Json()["error"], "APIRateLimitExceeded");
  const int retry_after = std::stoi(limited.Header("retry-after"));
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 60);
  // Other endpoints still answer, until the account's own limit.
  HttpResult other = Get(Api("/groups.json"));
  EXPECT_EQ(other.status, 200);
  EXPECT_EQ(other.Header("x-rate-limit"), "15");
  EXPECT_EQ(other.Header("x-rate-limit-remaining"), "3");
  EXPECT_EQ(other.Header("ratelimit-remaining"), "3");
  EXPECT_FALSE(other.Header("ratelimit-reset").empty());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Get(Api("/groups.json")).status, 200);
  HttpResult account_limited = Get(Api("/groups.json"));
  EXPECT_EQ(account_limited.status, 429);
  EXPECT_EQ(account_limited.Json()["description"], "Number of allowed API requests per minute exceeded");
  EXPECT_FALSE(account_limited.Header("retry-after").empty());

  // A new window serves again.
  AdvanceClock(60);
  EXPECT_EQ(Get(Api("/incremental/users/cursor.json?start_time=0")).status, 200);
  json stats = Control("/_emulator/stats");
  EXPECT_EQ(stats["export_rate_limited"], 1);
  EXPECT_EQ(stats["rate_limited"], 2);

  auto plan = PlanLimits("team", false);
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->per_minute, 200);
  EXPECT_EQ(plan->exports_per_minute, 10);
  EXPECT_EQ(PlanLimits("professional", true)->exports_per_minute, 30);
  EXPECT_EQ(PlanLimits("professional", true)->per_minute, 2500);
  EXPECT_FALSE(PlanLimits("platinum", false).has_value());
}

TEST_F(ZendeskEmulatorTest, CommentsPageByCursorAndByOffset) {
  const auto account = server_->account();
  const Ticket* longest = nullptr;
  for (const auto& t : account->tickets) {
    if (t.status != "deleted" && (longest == nullptr || t.comments.size() > longest->comments.size()))
      longest = &t;
  }
  ASSERT_NE(longest, nullptr);
  ASSERT_GE(longest->comments.size(), 4u);
  std::vector<int64_t> expected;
  for (const auto& c : longest->comments) expected.push_back(c.id);

  std::vector<int64_t> got;
  std::string url = Api("/tickets/" + std::to_string(longest->id) + "/comments.json?page[size]=2");
  for (int pages = 0; pages < 100; ++pages) {
    json page = GetJson(url);
    for (const auto& c : page["comments"]) got.push_back(c["id"]);
    if (!page["meta"]["has_more"].get<bool>()) break;
    url = page["links"]["next"];
  }
  EXPECT_EQ(got, expected);

  json desc = GetJson(
      Api("/tickets/" + std::to_string(longest->id) + "/comments.json?page[size]=100&sort_order=desc"));
  EXPECT_EQ(desc["comments"][0]["id"], expected.back());

  std::vector<int64_t> offset;
  url = Api("/tickets/" + std::to_string(longest->id) + "/comments.json?per_page=3");
  for (int pages = 0; pages < 100 && !url.empty(); ++pages) {
    json page = GetJson(url);
    for (const auto& c : page["comments"]) offset.push_back(c["id"]);
    EXPECT_EQ(page["count"], expected.size());
    url = page["next_page"].is_null() ? "" : page["next_page"].get<std::string>();
  }
  EXPECT_EQ(offset, expected);

  // The first comment is the description; private notes are listed with public: false.
  EXPECT_EQ(GetJson(Api("/tickets/" + std::to_string(longest->id) + ".json"))["ticket"]["description"],
            longest->comments[0].body);
}

TEST_F(ZendeskEmulatorTest, AttachmentsDownloadFromTheirContentUrl) {
  const auto account = server_->account();
  const Attachment* attachment = nullptr;
  int64_t ticket = 0;
  for (const auto& t : account->tickets) {
    for (const auto& c : t.comments) {
      if (!c.attachments.empty() && attachment == nullptr && t.status != "deleted") {
        attachment = &c.attachments[0];
        ticket = t.id;
      }
    }
  }
  ASSERT_NE(attachment, nullptr);
  json comments = GetJson(Api("/tickets/" + std::to_string(ticket) + "/comments.json"));
  std::string content_url;
  for (const auto& c : comments["comments"]) {
    for (const auto& a : c["attachments"]) {
      if (a["id"] == attachment->id) {
        content_url = a["content_url"];
        EXPECT_EQ(a["size"], attachment->size());
        EXPECT_EQ(a["file_name"], attachment->name);
      }
    }
  }
  ASSERT_FALSE(content_url.empty());
  HttpResult file = Fetch(content_url, "");
  EXPECT_EQ(file.status, 200);
  EXPECT_EQ(file.body, *attachment->bytes);
  EXPECT_EQ(file.Header("content-type"), attachment->content_type);
  EXPECT_EQ(Fetch(content_url.substr(0, content_url.find("?")) + "?name=other.txt", "").status, 404);
  EXPECT_EQ(Control("/_emulator/stats")["attachment_downloads"], 1);
}

TEST_F(ZendeskEmulatorTest, TicketEventsAndOrganizationsAreTimeBasedExports) {
  const auto account = server_->account();
  json events = GetJson(Api("/incremental/ticket_events.json?start_time=0&include=comment_events"));
  ASSERT_FALSE(events["ticket_events"].empty());
  EXPECT_TRUE(events.contains("end_time"));
  EXPECT_TRUE(events.contains("next_page"));
  bool comment_seen = false;
  for (const auto& e : events["ticket_events"]) {
    for (const auto& child : e["child_events"]) {
      if (child["event_type"] == "Comment" && !comment_seen) {
        comment_seen = true;
        ExpectSameShape(Fixture("ticket_event_comment.json"), child, "comment child event");
      }
    }
  }
  EXPECT_TRUE(comment_seen);
  json plain = GetJson(Api("/incremental/ticket_events.json?start_time=0"));
  EXPECT_TRUE(plain["ticket_events"][0].contains("comment_present"));

  // Walking by next_page / end_time until end_of_stream covers every organization (duplicates allowed).
  std::set<int64_t> seen;
  std::string url = Api("/incremental/organizations.json?start_time=0&per_page=2");
  for (int pages = 0; pages < 1000; ++pages) {
    json page = GetJson(url);
    for (const auto& o : page["organizations"]) seen.insert(o["id"].get<int64_t>());
    if (page["end_of_stream"].get<bool>()) break;
    url = page["next_page"];
  }
  std::set<int64_t> expected;
  for (const auto& o : account->organizations) expected.insert(o.id);
  EXPECT_EQ(seen, expected);

  // The time-based ticket export reaches the same tickets as the cursor-based one.
  seen.clear();
  url = Api("/incremental/tickets.json?start_time=0&per_page=25");
  for (int pages = 0; pages < 1000; ++pages) {
    json page = GetJson(url);
    EXPECT_EQ(page["count"], page["tickets"].size());
    for (const auto& t : page["tickets"]) seen.insert(t["id"].get<int64_t>());
    if (page["end_of_stream"].get<bool>()) break;
    url = page["next_page"];
  }
  expected.clear();
  for (const auto& t : account->tickets) {
    if (t.generated_timestamp <= TestNow() - 60) expected.insert(t.id);
  }
  EXPECT_EQ(seen, expected);
}

TEST_F(ZendeskEmulatorTest, TimelineStepsShowInExportsAndDeletedTickets) {
  const auto account = server_->account();
  std::string cursor;
  WalkCursorExport("tickets", 1000, &cursor);
  int64_t victim = 0;
  for (const auto& t : account->tickets) {
    if (t.status != "deleted" && victim == 0 && t.id != account->tickets.back().id) victim = t.id;
  }
  ASSERT_NE(victim, 0);

  // A soft delete: 404 on the ticket, listed in deleted_tickets, exported with status "deleted".
  json summary = ApplyAndWait({{"name", "delete"},
                               {"advance_seconds", 120},
                               {"actions", {{{"op", "delete_ticket"}, {"ids", {victim}}}}}});
  EXPECT_EQ(summary["tickets_changed"], 1);
  EXPECT_EQ(Get(Api("/tickets/" + std::to_string(victim) + ".json")).status, 404);
  json deleted = GetJson(Api("/deleted_tickets.json?page[size]=100"));
  auto find_deleted = [&](const json& list) {
    for (const auto& d : list["deleted_tickets"]) {
      if (d["id"] == victim) return d;
    }
    return json();
  };
  ASSERT_FALSE(find_deleted(deleted).is_null());
  EXPECT_EQ(find_deleted(deleted)["previous_state"],
            account->tickets[static_cast<size_t>(victim - 1)].status);
  json poll = GetJson(Api("/incremental/tickets/cursor.json?cursor=" + cursor));
  ASSERT_EQ(poll["tickets"].size(), 2u);  // the victim and the ticket that was inside the last minute
  json exported;
  for (const auto& t : poll["tickets"]) {
    if (t["id"] == victim) exported = t;
  }
  EXPECT_EQ(exported["status"], "deleted");
  cursor = poll["after_cursor"];

  // Restore: back to its status, out of deleted_tickets, exported again.
  ApplyAndWait({{"name", "restore"},
                {"advance_seconds", 120},
                {"actions", {{{"op", "restore_ticket"}, {"ticket", victim}}}}});
  EXPECT_EQ(Get(Api("/tickets/" + std::to_string(victim) + ".json")).status, 200);
  EXPECT_TRUE(find_deleted(GetJson(Api("/deleted_tickets.json"))).is_null());
  poll = GetJson(Api("/incremental/tickets/cursor.json?cursor=" + cursor));
  ASSERT_EQ(poll["tickets"].size(), 1u);
  EXPECT_EQ(poll["tickets"][0]["status"], account->tickets[static_cast<size_t>(victim - 1)].status);
  cursor = poll["after_cursor"];

  // A new comment (with an attachment) bumps the ticket and pages in.
  const size_t comments_before = account->tickets[static_cast<size_t>(victim - 1)].comments.size();
  ApplyAndWait({{"name", "reply"},
                {"advance_seconds", 120},
                {"actions",
                 {{{"op", "add_comment"},
                   {"ticket", victim},
                   {"body", "Fixed on our side."},
                   {"public", true},
                   {"author_id", account->users[1].id},
                   {"attachments", {"txt"}}}}}});
  json comments = GetJson(Api("/tickets/" + std::to_string(victim) + "/comments.json"));
  ASSERT_EQ(comments["comments"].size(), comments_before + 1);
  EXPECT_EQ(comments["comments"].back()["body"], "Fixed on our side.");
  EXPECT_EQ(comments["comments"].back()["attachments"].size(), 1u);
  poll = GetJson(Api("/incremental/tickets/cursor.json?cursor=" + cursor));
  ASSERT_EQ(poll["tickets"].size(), 1u);
  cursor = poll["after_cursor"];

  // A system update moves generated_timestamp only: exported again with the same updated_at.
  const std::string updated_at = poll["tickets"][0]["updated_at"];
  ApplyAndWait({{"name", "system"},
                {"advance_seconds", 120},
                {"actions", {{{"op", "system_update"}, {"ticket", victim}}}}});
  poll = GetJson(Api("/incremental/tickets/cursor.json?cursor=" + cursor));
  ASSERT_EQ(poll["tickets"].size(), 1u);
  EXPECT_EQ(poll["tickets"][0]["updated_at"], updated_at);
  cursor = poll["after_cursor"];

  // Scrub (permanent delete) only after a soft delete; then the ticket is gone everywhere.
  HttpResult refused = PostJson(server_->base_url() + "/_emulator/timeline/apply",
                                json({{"actions", {{{"op", "scrub_ticket"}, {"ticket", victim}}}}}).dump());
  EXPECT_EQ(refused.status, 400);
  ApplyAndWait(
      {{"name", "delete+scrub"},
       {"advance_seconds", 120},
       {"actions",
        {{{"op", "delete_ticket"}, {"ticket", victim}}, {{"op", "scrub_ticket"}, {"ticket", victim}}}}});
  EXPECT_TRUE(find_deleted(GetJson(Api("/deleted_tickets.json"))).is_null());
  EXPECT_EQ(Get(Api("/tickets/" + std::to_string(victim) + "/comments.json")).status, 404);
  std::string full;
  EXPECT_EQ(Ids(WalkCursorExport("tickets", 1000, &full)).count(victim), 0u);
  json truth = Control("/_emulator/truth");
  EXPECT_EQ(truth["scrubbed_ticket_ids"], json::array({victim}));
}

TEST_F(ZendeskEmulatorTest, HelpCenterLocalesTranslationsAndTheirTimeline) {
  json locales = GetJson(Api("/help_center/locales.json"));
  EXPECT_EQ(locales["default_locale"], "en-us");
  EXPECT_EQ(locales["locales"], json::array({"en-us", "fr", "de"}));
  const auto account = server_->account();
  size_t french = 0;
  const Article* untranslated = nullptr;
  for (const auto& a : account->articles) {
    if (a.Find("fr") != nullptr)
      ++french;
    else if (untranslated == nullptr)
      untranslated = &a;
  }
  json fr = GetJson(Api("/help_center/fr/articles.json?per_page=100"));
  EXPECT_EQ(fr["count"], french);
  for (const auto& a : fr["articles"]) EXPECT_EQ(a["locale"], "fr");
  EXPECT_EQ(Get(Api("/help_center/xx/articles.json")).status, 404);
  ASSERT_NE(untranslated, nullptr);
  const std::string id = std::to_string(untranslated->id);
  EXPECT_EQ(Get(Api("/help_center/fr/articles/" + id + ".json")).status, 404);

  // Cursor pagination on Help Center lists.
  std::set<int64_t> walked;
  std::string url = Api("/help_center/articles.json?page[size]=7");
  for (int pages = 0; pages < 100; ++pages) {
    json page = GetJson(url);
    for (const auto& a : page["articles"]) walked.insert(a["id"].get<int64_t>());
    if (!page["meta"]["has_more"].get<bool>()) break;
    url = page["links"]["next"];
  }
  EXPECT_EQ(walked.size(), account->articles.size());

  // The incremental article export: changed articles by updated_at, the last minute left out.
  json changed = GetJson(Api("/help_center/incremental/articles.json?start_time=0"));
  EXPECT_EQ(changed["count"], account->articles.size());
  EXPECT_EQ(changed["articles"].size(), account->articles.size());
  EXPECT_TRUE(changed.contains("end_time"));

  Apply({{"name", "translate"},
         {"actions",
          {{{"op", "add_translation"},
            {"article", untranslated->id},
            {"locale", "fr"},
            {"title", "Bonjour"},
            {"body", "<p>Salut</p>"}}}}});
  EXPECT_EQ(GetJson(Api("/help_center/fr/articles/" + id + ".json"))["article"]["title"], "Bonjour");
  EXPECT_EQ(GetJson(Api("/help_center/articles/" + id + "/translations.json"))["translations"].size(),
            untranslated->translations.size() + 1);

  Apply({{"name", "edit source"},
         {"actions",
          {{{"op", "article_edit"}, {"article", untranslated->id}, {"body", "<p>New steps.</p>"}}}}});
  json article = GetJson(Api("/help_center/en-us/articles/" + id + ".json"))["article"];
  EXPECT_EQ(article["body"], "<p>New steps.</p>");
  EXPECT_TRUE(GetJson(Api("/help_center/fr/articles/" + id + ".json"))["article"]["outdated"].get<bool>());

  Apply({{"name", "unpublish"}, {"actions", {{{"op", "unpublish"}, {"article", untranslated->id}}}}});
  EXPECT_TRUE(GetJson(Api("/help_center/articles/" + id + ".json"))["article"]["draft"].get<bool>());
  Apply({{"name", "archive"}, {"actions", {{{"op", "archive_article"}, {"article", untranslated->id}}}}});
  EXPECT_EQ(Get(Api("/help_center/articles/" + id + ".json")).status, 404);

  // Those changes are in the article export once their minute is over, and not before.
  const int64_t before = changed["end_time"];
  json recent =
      GetJson(Api("/help_center/incremental/articles.json?start_time=" + std::to_string(before + 1)));
  EXPECT_EQ(recent["count"], 0);
  AdvanceClock(60);
  recent = GetJson(Api("/help_center/incremental/articles.json?start_time=" + std::to_string(before + 1)));
  ASSERT_EQ(recent["count"], 0) << "an archived article is in no list";
  const int64_t other =
      account->articles[0].id == untranslated->id ? account->articles[1].id : account->articles[0].id;
  Apply({{"name", "edit another"},
         {"actions", {{{"op", "article_edit"}, {"article", other}, {"title", "Renamed"}}}}});
  AdvanceClock(60);
  recent = GetJson(Api("/help_center/incremental/articles.json?start_time=" + std::to_string(before + 1)));
  ASSERT_EQ(recent["count"], 1);
  EXPECT_EQ(recent["articles"][0]["title"], "Renamed");
}

TEST_F(ZendeskEmulatorTest, TimelineFileStepsRunInOrder) {
  auto steps = ParseTimeline(
      json{{"steps",
            {{{"name", "one"}, {"actions", {{{"op", "update_ticket"}, {"ticket", 2}, {"status", "solved"}}}}},
             {{"name", "two"}, {"actions", json::array()}}}}});
  ASSERT_TRUE(steps.has_value()) << steps.error().ToString();
  EXPECT_FALSE(ParseTimeline(json{{"steps", {{{"actions", {{{"op", "explode"}}}}}}}}).has_value());
  EXPECT_FALSE(
      ParseTimeline(json{{"steps", {{{"actions", {{{"op", "update_ticket"}, {"status", "weird"}}}}}}}})
          .has_value());
  ServerOptions options = Options();
  options.timeline = *steps;
  Start(options);
  json first = PostJson(server_->base_url() + "/_emulator/timeline/next", "").Json();
  EXPECT_EQ(first["name"], "one");
  EXPECT_EQ(first["remaining"], 1);
  EXPECT_EQ(first["now"], TestNow() + 60);
  EXPECT_EQ(PostJson(server_->base_url() + "/_emulator/timeline/next", "").status, 200);
  EXPECT_EQ(PostJson(server_->base_url() + "/_emulator/timeline/next", "").status, 409);
}

TEST_F(ZendeskEmulatorTest, FaultsAreInjectedInFrontOfTheAccount) {
  ServerOptions options = Options();
  options.fault_rate = 1.0;
  options.fault_classes = kFault429Storm;
  Start(options);
  for (int i = 0; i < 3; ++i) {
    HttpResult r = Get(Api("/groups.json"));
    EXPECT_EQ(r.status, 429);
    EXPECT_EQ(r.Header("retry-after"), "1");
  }
  options.fault_classes = kFault5xx;
  Start(options);
  HttpResult failed = Get(Api("/groups.json"));
  EXPECT_TRUE(failed.status == 500 || failed.status == 503) << failed.status;
  json stats = Control("/_emulator/stats");
  EXPECT_EQ(stats["faults"]["5xx"], 1);
  EXPECT_FALSE(ParseFaultClasses("5xx,teleport").has_value());
  EXPECT_EQ(*ParseFaultClasses("slow,429storm"), static_cast<unsigned>(kFaultSlow | kFault429Storm));
}

TEST_F(ZendeskEmulatorTest, TheBinaryPrintsWhereItListensAndStopsOnSigterm) {
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    execl(ZENDESK_EMULATOR_BIN, ZENDESK_EMULATOR_BIN, "--port", "0", "--tickets", "20", "--now",
          "2026-11-24T00:00:00Z", "--plan", "team", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::string line;
  char c = 0;
  while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
  close(out[0]);
  const std::string prefix = "listening on http://127.0.0.1:";
  ASSERT_EQ(line.rfind(prefix, 0), 0u) << line;
  const std::string base = line.substr(std::string("listening on ").size());
  HttpResult r = Fetch(base + "/api/v2/groups.json", "admin@brightline.example/token", "demo-token");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("x-rate-limit"), "200");
  kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(ZendeskEmulatorTest, SameSeedSameData) {
  auto a = GenerateAccount({.seed = 5, .tickets = 40, .now = TestNow()});
  auto b = GenerateAccount({.seed = 5, .tickets = 40, .now = TestNow()});
  auto c = GenerateAccount({.seed = 6, .tickets = 40, .now = TestNow()});
  ASSERT_TRUE(a && b && c);
  ASSERT_EQ(a->tickets.size(), 40u);
  for (size_t i = 0; i < a->tickets.size(); ++i) {
    EXPECT_EQ(a->tickets[i].subject, b->tickets[i].subject);
    EXPECT_EQ(a->tickets[i].generated_timestamp, b->tickets[i].generated_timestamp);
  }
  bool differs = false;
  for (size_t i = 0; i < a->tickets.size(); ++i)
    differs |= a->tickets[i].created_at != c->tickets[i].created_at;
  EXPECT_TRUE(differs);
}

TEST_F(ZendeskEmulatorTest, DatasetTicketsCarryTheRealText) {
  const std::string dir = std::string(DESKPIPE_SHARED_DIR) + "/data";
  if (!std::filesystem::exists(dir + "/bitext")) GTEST_SKIP() << "no data sets at " << dir;
  auto account = GenerateAccount({.seed = 1, .tickets = 10, .now = TestNow()});
  ASSERT_TRUE(account.has_value());
  auto loaded = LoadDataset(&*account, dir, 40, 1);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().ToString();
  ASSERT_EQ(account->tickets.size(), 40u);
  for (const auto& t : account->tickets) {
    ASSERT_FALSE(t.comments.empty());
    EXPECT_FALSE(t.comments[0].body.empty());
  }
  EXPECT_FALSE(account->articles.empty());
  Start(Options(), std::make_shared<const Account>(std::move(*account)));
  std::string cursor;
  EXPECT_EQ(WalkCursorExport("tickets", 1000, &cursor).size(), 40u);
}

}  // namespace
}  // namespace deskpipe::zendesk_emulator
