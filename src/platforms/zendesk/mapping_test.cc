// Zendesk mapping, API-base resolution and error classification, without a network.
#include "platforms/zendesk/mapping.h"

#include <gtest/gtest.h>

#include "platforms/zendesk/zendesk_client.h"
#include "platforms/zendesk/zendesk_settings.h"

namespace deskpipe::zendesk {
namespace {

using nlohmann::json;

MappingContext Context() {
  MappingContext context;
  context.tenant_id = "acme";
  context.account_url = "https://acme.zendesk.com";
  context.users[7] = {"Ann Agent", "agent"};
  context.users[9] = {"Carl Customer", "end-user"};
  context.users[11] = {"Cc Colleague", "end-user"};
  context.group_names[3] = "Billing";
  LearnTicketField(json::parse(R"({"id": 55, "title": "Plan tier", "type": "tagger",
      "custom_field_options": [{"id": 1, "name": "Enterprise", "value": "plan_enterprise"}]})"),
                   context);
  return context;
}

json Ticket() {
  return json::parse(R"({"id": 42, "subject": "Refund", "description": "I was charged twice",
      "status": "hold", "priority": "normal", "requester_id": 9, "assignee_id": 7, "group_id": 3,
      "organization_id": null, "tags": ["billing"], "type": "question", "via": {"channel": "email"},
      "custom_fields": [{"id": 55, "value": "plan_enterprise"}, {"id": 56, "value": null}],
      "created_at": "2026-01-02T03:04:05Z", "updated_at": "2026-01-03T03:04:05Z", "generated_timestamp": 1})");
}

TEST(ZendeskMappingTest, TicketHasFreshdesksShapeAndTheAgentUiLink) {
  auto ticket = MapTicket(Ticket(), Context());
  ASSERT_TRUE(ticket) << ticket.error().ToString();
  EXPECT_EQ(ticket->id, "acme_zendesk_42");
  EXPECT_EQ(ticket->platform, "zendesk");
  EXPECT_EQ(ticket->type, "ticket");
  EXPECT_EQ(ticket->status, "hold");
  EXPECT_EQ(ticket->priority, "medium");
  EXPECT_EQ(ticket->content, "I was charged twice");
  EXPECT_EQ(ticket->metadata["url"], "https://acme.zendesk.com/agent/tickets/42");
  EXPECT_EQ(ticket->metadata["requester"]["name"], "Carl Customer");
  EXPECT_EQ(ticket->metadata["assignee_name"], "Ann Agent");
  EXPECT_EQ(ticket->metadata["group_name"], "Billing");
  EXPECT_EQ(ticket->metadata["custom_field_labels"]["Plan tier"], "Enterprise");
  EXPECT_TRUE(ticket->metadata["custom_field_labels"]["field-56"].is_null());
  EXPECT_EQ(ticket->metadata["state"], "active");
}

TEST(ZendeskMappingTest, CommentRolesFollowVisibilityAndAuthor) {
  const MappingContext context = Context();
  auto ticket = MapTicket(Ticket(), context);
  ASSERT_TRUE(ticket);
  auto comment = [&](int64_t author, bool is_public) {
    json c = {{"id", 100 + author},
              {"author_id", author},
              {"public", is_public},
              {"body", "text"},
              {"created_at", "2026-01-02T03:04:05Z"},
              {"attachments", json::array({{{"id", 5}, {"file_name", "a.txt"}, {"size", 3}}})}};
    auto r = MapComment(c, *ticket, context);
    EXPECT_TRUE(r) << r.error().ToString();
    return r ? *r : Record{};
  };
  Record by_requester = comment(9, true);
  EXPECT_EQ(by_requester.id, "acme_zendesk_conversation-109");
  EXPECT_EQ(by_requester.type, "conversation");
  EXPECT_EQ(by_requester.parent_id, "acme_zendesk_42");
  EXPECT_EQ(by_requester.updated_at, "2026-01-02T03:04:05Z");
  EXPECT_EQ(by_requester.metadata["role"], "customer");
  EXPECT_EQ(by_requester.metadata["ticket_id"], 42);
  ASSERT_EQ(by_requester.attachments.size(), 1u);
  EXPECT_EQ(by_requester.attachments[0].name, "a.txt");
  EXPECT_EQ(comment(11, true).metadata["role"], "customer");  // another end user (a CC)
  EXPECT_EQ(comment(7, true).metadata["role"], "agent");
  Record note = comment(7, false);
  EXPECT_EQ(note.metadata["role"], "private note");
  EXPECT_EQ(note.metadata["visibility"], "agents");
}

TEST(ZendeskMappingTest, MissingFieldsAreInvalidRecordsNamingThem) {
  json ticket = Ticket();
  ticket.erase("updated_at");
  auto mapped = MapTicket(ticket, Context());
  ASSERT_FALSE(mapped);
  EXPECT_EQ(mapped.error().code(), StatusCode::kInvalidRecord);
  EXPECT_NE(mapped.error().message().find("ticket 42"), std::string::npos);
  EXPECT_NE(mapped.error().message().find("updated_at"), std::string::npos);
  EXPECT_FALSE(MapComment(json{{"author_id", 1}}, *MapTicket(Ticket(), Context()), Context()));
  EXPECT_FALSE(MapComment(json("not an object"), *MapTicket(Ticket(), Context()), Context()));
  // A comment of a record without requester or url metadata (a caller's own Record) still maps.
  Record bare;
  bare.id = "acme_zendesk_1";
  bare.original_id = "1";
  EXPECT_TRUE(MapComment(json{{"id", 5}, {"created_at", "2026-01-02T03:04:05Z"}}, bare, Context()));
}

Config WithSettings(ZendeskSettings settings) {
  Config config;
  settings.WriteTo(config);
  return config;
}

TEST(ZendeskClientTest, ApiBaseFromSubdomainOrLoopbackBaseUrl) {
  EXPECT_EQ(*ResolveZendeskApiBase(
                WithSettings({.subdomain = "Acme.zendesk.com/", .email = "a@b", .api_token = "t"})),
            "https://acme.zendesk.com/api/v2");
  EXPECT_EQ(*ResolveZendeskApiBase(
                WithSettings({.base_url = "http://127.0.0.1:8080/", .email = "a@b", .api_token = "t"})),
            "http://127.0.0.1:8080/api/v2");
  auto foreign = ResolveZendeskApiBase(
      WithSettings({.base_url = "http://evil.example", .email = "a@b", .api_token = "secret-tok"}));
  ASSERT_FALSE(foreign);
  EXPECT_NE(foreign.error().message().find("DESKPIPE_ALLOWED_HOSTS"), std::string::npos);
  auto no_token = ResolveZendeskApiBase(WithSettings({.subdomain = "acme", .email = "a@b"}));
  ASSERT_FALSE(no_token);
  EXPECT_NE(no_token.error().message().find("ZENDESK_API_TOKEN"), std::string::npos);
  EXPECT_FALSE(ResolveZendeskApiBase(WithSettings({.subdomain = "ac me", .email = "a@b", .api_token = "t"})));
}

TEST(ZendeskClientTest, TheTokenIsASecretSetting) {
  bool found = false;
  for (const ConfigField& field : SettingsSection().fields) {
    if (field.key == "zendesk_api_token") {
      found = true;
      EXPECT_TRUE(field.secret);
      EXPECT_EQ(field.env, "ZENDESK_API_TOKEN");
    }
    EXPECT_EQ(field.key.rfind("zendesk_", 0), 0u)
        << field.key << ": the service routes tenant keys by prefix";
  }
  EXPECT_TRUE(found);
}

TEST(ZendeskClientTest, ExportsShareTheExportSubBudget) {
  EXPECT_EQ(ZendeskRequestTicket("incremental/tickets/cursor.json?cursor=abc").bucket, "incremental_exports");
  EXPECT_EQ(ZendeskRequestTicket("help_center/incremental/articles.json?start_time=1").bucket,
            "incremental_exports");
  net::RequestTicket comments = ZendeskRequestTicket("tickets/42/comments.json?page[size]=100");
  EXPECT_EQ(comments.bucket, "");
  EXPECT_EQ(comments.cost_key, "GET tickets/{id}/comments.json");
  EXPECT_EQ(ZendeskSubLimit("incremental_exports", 700), kExportCallsPerWindow);
}

TEST(ZendeskClientTest, ErrorsAreClassified) {
  net::HttpResponse response;
  response.status = 401;
  response.body = R"({"error":"Couldn't authenticate you"})";
  Status status = ClassifyZendeskError(response, "tickets/1.json");
  EXPECT_EQ(status.code(), StatusCode::kUnauthenticated);
  EXPECT_NE(status.message().find("ZENDESK_API_TOKEN"), std::string::npos);
  response.status = 429;
  response.headers["retry-after"] = "7";
  status = ClassifyZendeskError(response, "tickets/1.json");
  EXPECT_EQ(status.code(), StatusCode::kRateLimited);
  EXPECT_EQ(status.retry_after(), std::chrono::seconds(7));
  response = {};
  response.status = 400;
  response.body = R"({"error":"InvalidValue","description":"Invalid cursor"})";
  status = ClassifyZendeskError(response, "incremental/tickets/cursor.json");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("Invalid cursor"), std::string::npos);
}

}  // namespace
}  // namespace deskpipe::zendesk
