// Integration tests: the emulator started in-process on a free loopback port, checked over real HTTP
// (libcurl) against the behaviours API.md describes.

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>

#include "core/time.h"
#include "generator.h"
#include "render.h"
#include "server.h"
#include "test_http.h"

namespace deskpipe::emulator {
namespace {

using nlohmann::json;

constexpr int kTickets = 250;

using namespace deskpipe::emulator::testing;

class EmulatorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    GeneratorOptions options;
    options.seed = 11;
    options.tickets = kTickets;
    options.now = *ParseTimestamp("2026-11-24T00:00:00Z");
    Result<Helpdesk> generated = GenerateHelpdesk(options);
    ASSERT_TRUE(generated.has_value());
    desk_ = std::make_shared<const Helpdesk>(std::move(*generated));
    ServerOptions server_options;
    server_options.api_key = kApiKey;
    server_ = new EmulatorServer(desk_, server_options);
    Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    desk_.reset();
    curl_global_cleanup();
  }

  static std::string Api(const std::string& path) { return server_->base_url() + "/api/v2" + path; }

  static std::shared_ptr<const Helpdesk> desk_;
  static EmulatorServer* server_;
};

std::shared_ptr<const Helpdesk> EmulatorTest::desk_;
EmulatorServer* EmulatorTest::server_ = nullptr;

TEST_F(EmulatorTest, ListensOnAFreeLoopbackPort) {
  EXPECT_GT(server_->port(), 0);
  EXPECT_EQ(server_->base_url(), "http://127.0.0.1:" + std::to_string(server_->port()));
}

TEST_F(EmulatorTest, RejectsMissingOrWrongCredentials) {
  const std::string expected =
      R"({"code":"invalid_credentials","message":"You have to be logged in to perform this action."})";
  for (const HttpResult& result : {Fetch(Api("/tickets"), ""), Fetch(Api("/tickets"), "wrong-key"),
                                   Fetch(Api("/tickets"), kApiKey, "")}) {
    EXPECT_EQ(result.status, 401);
    EXPECT_EQ(result.body, expected);
    EXPECT_EQ(result.Header("content-type"), "application/json; charset=utf-8");
    EXPECT_FALSE(result.Header("x-ratelimit-total").empty());
  }
  EXPECT_EQ(Fetch(Api("/tickets"), kApiKey, "any-password").status, 200);
}

TEST_F(EmulatorTest, EveryResponseCarriesFreshdeskHeaders) {
  HttpResult result = Fetch(Api("/tickets?include=description,requester,stats&updated_since=2020-01-01"));
  ASSERT_EQ(result.status, 200);
  EXPECT_EQ(result.Header("content-type"), "application/json; charset=utf-8");
  EXPECT_EQ(result.Header("x-ratelimit-total"), "5000");
  EXPECT_FALSE(result.Header("x-ratelimit-remaining").empty());
  EXPECT_EQ(result.Header("x-ratelimit-used-currentrequest"), "7");  // 1 + 2 per include value
  EXPECT_EQ(result.Header("x-freshdesk-api-version"), "latest=v2; requested=v2");
  EXPECT_EQ(Fetch(Api("/tickets?include=stats")).Header("x-ratelimit-used-currentrequest"), "3");
  EXPECT_EQ(Fetch(Api("/agents")).Header("x-ratelimit-used-currentrequest"), "1");

  HttpResult missing = Fetch(Api("/no/such/thing"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.Json()["code"], "not_found");
  EXPECT_EQ(missing.Header("x-freshdesk-api-version"), "latest=v2; requested=v2");
  EXPECT_EQ(Fetch(server_->base_url() + "/tickets").status, 404);
  HttpResult post = Fetch(Api("/tickets"), kApiKey, "X", "POST");
  EXPECT_EQ(post.status, 405);
  EXPECT_NO_THROW(post.Json());
  EXPECT_EQ(Fetch(Api("/tickets/1"), kApiKey, "X", "DELETE").status, 405);
}

TEST_F(EmulatorTest, DefaultWindowIsTicketsCreatedInTheLast30Days) {
  std::vector<int64_t> expected;
  for (const auto& t : desk_->tickets) {
    if (t.created_at >= desk_->now - 30 * 86400) expected.push_back(t.id);
  }
  ASSERT_GT(expected.size(), 0u);
  ASSERT_LT(expected.size(), desk_->tickets.size());
  std::reverse(expected.begin(), expected.end());  // created_at desc is the default order

  HttpResult result = Fetch(Api("/tickets?per_page=100"));
  ASSERT_EQ(result.status, 200);
  std::vector<int64_t> got;
  for (const auto& t : result.Json()) got.push_back(t["id"].get<int64_t>());
  EXPECT_EQ(got, expected);

  // updated_since widens it to every ticket updated since then, regardless of creation.
  const std::string since = FormatTimestamp(desk_->now - 400 * 86400);
  size_t want = 0;
  for (const auto& t : desk_->tickets) want += t.updated_at >= desk_->now - 400 * 86400 ? 1 : 0;
  size_t seen = 0;
  for (std::string url = Api("/tickets?per_page=100&updated_since=" + since); !url.empty();) {
    HttpResult page = Fetch(url);
    ASSERT_EQ(page.status, 200);
    for (const auto& t : page.Json()) {
      EXPECT_GE(*ParseTimestamp(t["updated_at"].get<std::string>()), desk_->now - 400 * 86400);
      ++seen;
    }
    url = NextUrl(page);
  }
  EXPECT_EQ(seen, want);
  EXPECT_GT(want, expected.size());
}

TEST_F(EmulatorTest, PerPageDefaultMaximumAndValidation) {
  const std::string all = "/tickets?updated_since=1970-01-01T00:00:00Z";
  EXPECT_EQ(Fetch(Api(all)).Json().size(), 30u);
  EXPECT_EQ(Fetch(Api(all + "&per_page=100")).Json().size(), 100u);
  EXPECT_EQ(Fetch(Api(all + "&per_page=7")).Json().size(), 7u);
  for (const char* bad : {"101", "0", "-5", "abc", ""}) {
    HttpResult result = Fetch(Api(all + "&per_page=" + bad));
    EXPECT_EQ(result.status, 400) << bad;
    json body = result.Json();
    EXPECT_EQ(body["description"], "Validation failed");
    ASSERT_EQ(body["errors"].size(), 1u);
    EXPECT_EQ(body["errors"][0]["field"], "per_page");
    EXPECT_EQ(body["errors"][0]["code"], "invalid_value");
  }
  HttpResult conversations = Fetch(Api("/tickets/1/conversations?per_page=500"));
  EXPECT_EQ(conversations.status, 400);
  EXPECT_EQ(Fetch(Api("/tickets?order_by=priority")).status, 400);
  EXPECT_EQ(Fetch(Api("/tickets?include=everything")).status, 400);
  EXPECT_EQ(Fetch(Api("/tickets?updated_since=yesterday")).status, 400);
  HttpResult unknown = Fetch(Api("/tickets?colour=blue"));
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.Json()["errors"][0]["code"], "invalid_field");
}

TEST_F(EmulatorTest, PageBeyond300IsTheExactFreshdeskError) {
  HttpResult result = Fetch(Api("/tickets?updated_since=1970-01-01T00:00:00Z&per_page=100&page=301"));
  EXPECT_EQ(result.status, 400);
  EXPECT_EQ(
      result.body,
      R"({"description":"Validation failed","errors":[{"field":"page","message":"You cannot access tickets )"
      R"(beyond the 300th page. Please provide a smaller page number.","code":"invalid_value"}]})");
  EXPECT_EQ(Fetch(Api("/tickets?updated_since=1970-01-01T00:00:00Z&page=300")).status, 200);
  EXPECT_EQ(Fetch(Api("/tickets?updated_since=1970-01-01T00:00:00Z&page=300")).body, "[]");
  EXPECT_EQ(Fetch(Api("/tickets?page=0")).status, 400);
}

TEST_F(EmulatorTest, FollowingLinksVisitsEveryTicketOnceInUpdatedOrder) {
  const std::string first =
      "/tickets?updated_since=1970-01-01T00:00:00Z&order_by=updated_at&order_type=asc"
      "&include=description&per_page=100";
  std::vector<int64_t> ids;
  int64_t previous_updated = 0;
  int64_t previous_id = 0;
  int pages = 0;
  for (std::string url = Api(first); !url.empty(); ++pages) {
    HttpResult page = Fetch(url);
    ASSERT_EQ(page.status, 200) << url;
    const json tickets = page.Json();
    for (const auto& t : tickets) {
      const int64_t updated = *ParseTimestamp(t["updated_at"].get<std::string>());
      const int64_t id = t["id"].get<int64_t>();
      EXPECT_TRUE(updated > previous_updated || (updated == previous_updated && id > previous_id));
      previous_updated = updated;
      previous_id = id;
      ids.push_back(id);
    }
    url = NextUrl(page);
    if (!url.empty()) {
      // The next link keeps the original parameters and moves page on.
      EXPECT_EQ(url.rfind(server_->base_url() + "/api/v2/tickets?", 0), 0u) << url;
      EXPECT_NE(url.find("order_by=updated_at"), std::string::npos) << url;
      EXPECT_NE(url.find("include=description"), std::string::npos) << url;
      EXPECT_NE(url.find("page=" + std::to_string(pages + 2)), std::string::npos) << url;
      EXPECT_EQ(tickets.size(), 100u);
    } else {
      EXPECT_EQ(page.Header("link"), "");
    }
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(ids.size(), static_cast<size_t>(kTickets));
  EXPECT_EQ(std::set<int64_t>(ids.begin(), ids.end()).size(), static_cast<size_t>(kTickets));
}

TEST_F(EmulatorTest, DescriptionOnlyWithInclude) {
  const json without = Fetch(Api("/tickets?updated_since=2000-01-01&per_page=5")).Json();
  const json with = Fetch(Api("/tickets?updated_since=2000-01-01&per_page=5&include=description")).Json();
  ASSERT_EQ(without.size(), 5u);
  ASSERT_EQ(with.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_FALSE(without[i].contains("description"));
    EXPECT_FALSE(without[i].contains("description_text"));
    EXPECT_FALSE(without[i].contains("attachments"));
    EXPECT_TRUE(with[i]["description"].is_string());
    EXPECT_TRUE(with[i]["description_text"].is_string());
    EXPECT_EQ(with[i]["description_text"], desk_->FindTicket(with[i]["id"])->description_text);
    EXPECT_TRUE(without[i].contains("responder_id"));  // blank fields are present (as null when blank)
    EXPECT_TRUE(without[i]["product_id"].is_null());
  }
  const json stats =
      Fetch(Api("/tickets?updated_since=2000-01-01&per_page=1&include=requester,stats")).Json();
  EXPECT_TRUE(stats[0]["requester"]["email"].is_string());
  EXPECT_TRUE(stats[0]["stats"].contains("first_responded_at"));
  EXPECT_FALSE(stats[0].contains("description"));
}

TEST_F(EmulatorTest, ViewTicketHasDescriptionAttachmentsAndFirstTenConversations) {
  const Ticket* longest = &desk_->tickets[0];
  for (const auto& t : desk_->tickets) {
    if (t.conversation_count > longest->conversation_count) longest = &t;
  }
  ASSERT_GT(longest->conversation_count, 10u);
  HttpResult result = Fetch(Api("/tickets/" + std::to_string(longest->id) + "?include=conversations,stats"));
  ASSERT_EQ(result.status, 200);
  EXPECT_EQ(result.Header("x-ratelimit-used-currentrequest"), "3");
  const json ticket = result.Json();
  EXPECT_EQ(ticket["id"], longest->id);
  EXPECT_EQ(ticket["description"], longest->description_html);
  EXPECT_EQ(ticket["attachments"], json::array());
  ASSERT_EQ(ticket["conversations"].size(), 10u);
  EXPECT_EQ(ticket["conversations"][0]["id"], desk_->ConversationsOf(*longest)[0].id);
  EXPECT_TRUE(ticket.contains("stats"));

  HttpResult missing = Fetch(Api("/tickets/999999"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.Json()["code"], "not_found");
  EXPECT_EQ(Fetch(Api("/tickets/999999/conversations")).status, 404);
  EXPECT_EQ(Fetch(Api("/tickets/1?include=notes")).status, 400);
}

TEST_F(EmulatorTest, ConversationsPageThroughTheWholeThread) {
  size_t total = 0;
  for (const auto& ticket : desk_->tickets) {
    if (ticket.id % 25 != 0) continue;  // a spread of tickets keeps the test quick
    std::vector<int64_t> ids;
    for (std::string url = Api("/tickets/" + std::to_string(ticket.id) + "/conversations?per_page=2");
         !url.empty();) {
      HttpResult page = Fetch(url);
      ASSERT_EQ(page.status, 200);
      for (const auto& c : page.Json()) {
        ids.push_back(c["id"].get<int64_t>());
        EXPECT_EQ(c["ticket_id"], ticket.id);
        for (const char* key : {"body", "body_text", "incoming", "private", "source", "user_id",
                                "attachments", "last_edited_at", "created_at", "updated_at"}) {
          EXPECT_TRUE(c.contains(key)) << key;
        }
      }
      url = NextUrl(page);
    }
    ASSERT_EQ(ids.size(), ticket.conversation_count) << "ticket " << ticket.id;
    auto expected = desk_->ConversationsOf(ticket);
    for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], expected[i].id);
    total += ids.size();
  }
  EXPECT_GT(total, 0u);
  // Default page size 30 > the longest thread: one page, no link.
  HttpResult whole = Fetch(Api("/tickets/1/conversations"));
  EXPECT_EQ(whole.Json().size(), desk_->tickets[0].conversation_count);
  EXPECT_EQ(whole.Header("link"), "");
}

TEST_F(EmulatorTest, ConversationKindsFollowFreshdeskFlags) {
  for (const auto& ticket : desk_->tickets) {
    for (const auto& c : desk_->ConversationsOf(ticket)) {
      EXPECT_GE(c.created_at, ticket.created_at);
      EXPECT_LE(c.updated_at, ticket.updated_at);
      EXPECT_LE(ticket.updated_at, desk_->now);
      const json j = json::parse(Dump(ConversationJson(*desk_, c, nullptr)));
      switch (c.kind) {
        case ConversationKind::kAgentReply:
          EXPECT_TRUE(j["incoming"] == false && j["private"] == false && j["source"] == 0);
          EXPECT_NE(desk_->FindAgent(c.user_id), nullptr);
          break;
        case ConversationKind::kCustomerReply:
          EXPECT_TRUE(j["incoming"] == true && j["private"] == false && j["source"] == 0);
          EXPECT_EQ(c.user_id, ticket.requester_id);
          break;
        case ConversationKind::kPrivateNote:
          EXPECT_TRUE(j["incoming"] == false && j["private"] == true && j["source"] == 2);
          EXPECT_NE(desk_->FindAgent(c.user_id), nullptr);
          break;
      }
    }
  }
}

TEST_F(EmulatorTest, KnowledgeBaseWalkFindsEveryArticle) {
  HttpResult categories = Fetch(Api("/solutions/categories"));
  ASSERT_EQ(categories.status, 200);
  std::set<int64_t> articles;
  size_t published = 0;
  ASSERT_EQ(categories.Json().size(), desk_->categories.size());
  for (const auto& category : categories.Json()) {
    HttpResult folders =
        Fetch(Api("/solutions/categories/" + std::to_string(category["id"].get<int64_t>()) + "/folders"));
    ASSERT_EQ(folders.status, 200);
    for (const auto& folder : folders.Json()) {
      EXPECT_TRUE(folder["visibility"].is_number_integer());
      EXPECT_EQ(folder["category_id"], category["id"]);
      size_t in_folder = 0;
      for (std::string url = Api("/solutions/folders/" + std::to_string(folder["id"].get<int64_t>()) +
                                 "/articles?per_page=10");
           !url.empty();) {
        HttpResult page = Fetch(url);
        ASSERT_EQ(page.status, 200);
        for (const auto& article : page.Json()) {
          articles.insert(article["id"].get<int64_t>());
          ++in_folder;
          published += article["status"] == 2 ? 1 : 0;
          EXPECT_EQ(article["folder_id"], folder["id"]);
          ASSERT_EQ(article["hierarchy"].size(), 2u);
          EXPECT_EQ(article["hierarchy"][0]["type"], "category");
          EXPECT_EQ(article["hierarchy"][1]["data"]["name"], folder["name"]);
          EXPECT_NE(article["description"].get<std::string>().find("<h2>"), std::string::npos);
          EXPECT_TRUE(article["description_text"].is_string());
        }
        url = NextUrl(page);
      }
      EXPECT_EQ(in_folder, folder["articles_count"].get<size_t>());
    }
  }
  EXPECT_EQ(articles.size(), desk_->articles.size());
  EXPECT_EQ(articles.size(), static_cast<size_t>(kTickets / 4));
  EXPECT_GT(published, 0u);
  const int64_t one = *articles.begin();
  HttpResult article = Fetch(Api("/solutions/articles/" + std::to_string(one)));
  EXPECT_EQ(article.status, 200);
  EXPECT_EQ(article.Json()["id"], one);
  EXPECT_EQ(Fetch(Api("/solutions/articles/1")).status, 404);
}

TEST_F(EmulatorTest, ReferenceData) {
  const json agents = Fetch(Api("/agents?per_page=100")).Json();
  ASSERT_EQ(agents.size(), 20u);
  EXPECT_TRUE(agents[0]["contact"]["name"].is_string());
  EXPECT_TRUE(agents[0]["contact"]["email"].is_string());
  EXPECT_TRUE(agents[0]["signature"].is_string());
  EXPECT_GE(agents[0]["id"].get<int64_t>(), 67000000000);
  EXPECT_EQ(Fetch(Api("/groups")).Json().size(), desk_->groups.size());
  EXPECT_EQ(Fetch(Api("/companies?per_page=100")).Json().size(), desk_->companies.size());
  EXPECT_EQ(Fetch(Api("/contacts?per_page=100")).Json().size(),
            std::min<size_t>(100, desk_->contacts.size()));
  const json fields = Fetch(Api("/ticket_fields")).Json();
  bool custom_status = false;
  for (const auto& field : fields) {
    if (field["name"] == "status") custom_status = field["choices"]["6"][0] == "Waiting on Customer";
  }
  EXPECT_TRUE(custom_status);
  EXPECT_EQ(Fetch(Api("/settings/helpdesk")).Json()["primary_language"], "en");
}

TEST_F(EmulatorTest, TimestampsAreWholeSecondUtc) {
  const std::regex kUtc(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)");
  const json ticket = Fetch(Api("/tickets/3?include=conversations,stats")).Json();
  for (const char* key : {"created_at", "updated_at", "due_by", "fr_due_by"}) {
    EXPECT_TRUE(std::regex_match(ticket[key].get<std::string>(), kUtc)) << key;
  }
  for (const auto& c : ticket["conversations"]) {
    EXPECT_TRUE(std::regex_match(c["created_at"].get<std::string>(), kUtc));
  }
}

// Renders everything a generated helpdesk serves, for byte comparisons.
std::string RenderAll(const Helpdesk& desk) {
  std::string out;
  TicketViewIncludes all{true, true, true, true};
  for (const auto& t : desk.tickets) out += Dump(TicketViewJson(desk, t, all, nullptr));
  for (const auto& c : desk.conversations) out += Dump(ConversationJson(desk, c, nullptr));
  for (const auto& a : desk.articles) out += Dump(ArticleJson(desk, a));
  for (const auto& a : desk.agents) out += Dump(AgentJson(a));
  for (const auto& c : desk.contacts) out += Dump(ContactJson(c));
  return out;
}

TEST(GeneratorTest, SameSeedSameBytesOtherSeedOtherData) {
  GeneratorOptions options{.seed = 5, .tickets = 120, .now = *ParseTimestamp("2026-11-24T00:00:00Z")};
  Result<Helpdesk> a = GenerateHelpdesk(options);
  Result<Helpdesk> b = GenerateHelpdesk(options);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(RenderAll(*a), RenderAll(*b));
  EXPECT_EQ(Dump(DescribeHelpdesk(*a)), Dump(DescribeHelpdesk(*b)));
  options.seed = 6;
  Result<Helpdesk> c = GenerateHelpdesk(options);
  ASSERT_TRUE(c);
  EXPECT_NE(RenderAll(*a), RenderAll(*c));
}

TEST(GeneratorTest, ShapeOfTheData) {
  GeneratorOptions options{.seed = 42, .tickets = 400, .now = *ParseTimestamp("2026-11-24T00:00:00Z")};
  Result<Helpdesk> desk = GenerateHelpdesk(options);
  ASSERT_TRUE(desk);
  EXPECT_EQ(desk->articles.size(), 100u);
  EXPECT_EQ(desk->agents.size(), 20u);
  std::set<int> statuses;
  int64_t previous_created = 0;
  for (size_t i = 0; i < desk->tickets.size(); ++i) {
    const Ticket& t = desk->tickets[i];
    EXPECT_EQ(t.id, static_cast<int64_t>(i + 1));
    EXPECT_GE(t.created_at, previous_created);  // display ids grow with creation time
    EXPECT_GE(t.created_at, options.now - 2 * 366 * 86400);
    previous_created = t.created_at;
    statuses.insert(t.status);
    EXPECT_GE(t.conversation_count, 1u);
    EXPECT_LE(t.conversation_count, t.source == 7 ? 16u : 15u);  // chats also hold their opening message
    EXPECT_GE(t.priority, 1);
    EXPECT_LE(t.priority, 4);
    auto thread = desk->ConversationsOf(t);
    EXPECT_GE(t.updated_at, thread.back().created_at);
  }
  EXPECT_EQ(statuses, (std::set<int>{2, 3, 4, 5, 6}));
  bool quoted = false;
  for (const auto& c : desk->conversations) {
    EXPECT_GE(c.id, 67000000000);
    quoted |= c.body_html.find("<div class=\"freshdesk_quote\"><blockquote class=\"freshdesk_quote\">") !=
              std::string::npos;
  }
  EXPECT_TRUE(quoted);
  EXPECT_EQ(GeneratedHtmlToText("<div>A &amp; B<br>C</div><ol><li>x</li></ol>", true), "A & B\nC\nx");

  const json describe = json::parse(Dump(DescribeHelpdesk(*desk)));
  EXPECT_EQ(describe["tickets"], 400);
  EXPECT_EQ(describe["conversations"], desk->conversations.size());
  const json& sample = describe["sample_ticket"];
  EXPECT_EQ(sample["subject"], desk->FindTicket(sample["id"])->subject);
  EXPECT_EQ(sample["conversations"].size(), desk->FindTicket(sample["id"])->conversation_count);

  EXPECT_FALSE(GenerateHelpdesk({.seed = 1, .tickets = -1, .now = options.now}).has_value());
}

}  // namespace
}  // namespace deskpipe::emulator
