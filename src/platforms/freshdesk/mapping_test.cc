#include "platforms/freshdesk/mapping.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "core/json_text.h"

namespace deskpipe::freshdesk {
namespace {

using nlohmann::json;

json LoadFixture(const std::string& name) {
  const std::string path =
      std::string(DESKPIPE_SHARED_DIR) + "/freshdesk/samples/python-freshdesk/v2/" + name;
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "cannot read fixture " << path;
    return nullptr;
  }
  return json::parse(in);
}

MappingContext Context() {
  MappingContext context;
  context.tenant_id = "acme";
  context.portal_url = "https://acme.freshdesk.com";
  context.agent_names = {{67013469919, "Tom Agent"}, {1, "Support"}};
  return context;
}

// API.md §10.1 (trimmed).
const char* kApiTicket = R"({
  "id": 48213, "subject": "CSV export times out on reports over 50k rows",
  "description": "<div>Hello,<br>Exporting…</div>", "description_text": "Hello,\nExporting…",
  "status": 3, "priority": 2, "source": 1, "type": "Problem",
  "requester_id": 67042965499, "responder_id": 67013469919, "group_id": 67000259997, "company_id": 67001265522,
  "spam": false, "tags": ["export", "reports"],
  "custom_fields": { "cf_plan_tier": "Enterprise", "cf_region": "EU", "cf_reproducible": true },
  "created_at": "2025-03-11T09:42:17Z", "updated_at": "2025-03-12T08:05:51Z",
  "requester": { "id": 67042965499, "name": "Priya Natarajan", "email": "priya@globex.example" }
})";

TEST(MapTicketTest, FixtureTicket) {
  auto record = MapTicket(LoadFixture("ticket_1.json"), Context());
  ASSERT_TRUE(record) << record.error().ToString();
  EXPECT_EQ(record->id, "acme_freshdesk_1");
  EXPECT_EQ(record->original_id, "1");
  EXPECT_EQ(record->type, "ticket");
  EXPECT_EQ(record->platform, "freshdesk");
  EXPECT_EQ(record->title, "This is a sample ticket");
  EXPECT_EQ(record->content, "<div>This is a sample ticket, feel free to delete it.</div>");
  EXPECT_TRUE(record->content_is_html);
  EXPECT_EQ(record->status, "open");
  EXPECT_EQ(record->priority, "low");  // 1 is Low per the API, not the seed's "high"
  EXPECT_EQ(record->created_at, "2016-05-18T04:36:04Z");
  EXPECT_EQ(record->updated_at, "2016-05-18T23:42:50Z");
  EXPECT_EQ(record->metadata["requester"]["id"], 6012691534LL);
  EXPECT_EQ(record->metadata["responder_id"], 6010396333LL);
  EXPECT_EQ(record->metadata["tags"], json({"foo", "bar"}));
  EXPECT_EQ(record->metadata["source"], "portal");
  EXPECT_EQ(record->metadata["ticket_type"], "Question");
  EXPECT_EQ(record->metadata["url"], "https://acme.freshdesk.com/a/tickets/1");
  EXPECT_EQ(record->metadata["role"], "customer");
  EXPECT_EQ(record->metadata["spam"], false);
  EXPECT_EQ(json::parse(record->raw)["id"], 1);  // the payload as sent, kept as JSON text
}

TEST(MapTicketTest, ApiExampleWithInt64IdsAndRequester) {
  auto record = MapTicket(json::parse(kApiTicket), Context());
  ASSERT_TRUE(record) << record.error().ToString();
  EXPECT_EQ(record->id, "acme_freshdesk_48213");
  EXPECT_EQ(record->status, "pending");
  EXPECT_EQ(record->priority, "medium");
  EXPECT_EQ(record->metadata["requester"]["id"].get<int64_t>(), 67042965499);
  EXPECT_EQ(record->metadata["requester"]["name"], "Priya Natarajan");
  EXPECT_EQ(record->metadata["requester"]["email"], "priya@globex.example");
  EXPECT_EQ(record->metadata["responder_name"], "Tom Agent");
  EXPECT_EQ(record->metadata["company_id"].get<int64_t>(), 67001265522);
  EXPECT_EQ(record->metadata["source"], "email");
  EXPECT_EQ(record->metadata["custom_fields"]["cf_region"], "EU");
}

TEST(MapTicketTest, StatusAndPriorityLabels) {
  MappingContext context = Context();
  context.custom_statuses = {{6, "Waiting on Customer"}};
  json ticket = json::parse(kApiTicket);
  const std::pair<int, const char*> statuses[] = {
      {2, "open"},    {3, "pending"}, {4, "resolved"}, {5, "closed"}, {6, "Waiting on Customer"},
      {9, "status-9"}};
  for (auto [status, label] : statuses) {
    ticket["status"] = status;
    EXPECT_EQ(MapTicket(ticket, context)->status, label) << status;
  }
  const std::pair<int, const char*> priorities[] = {{1, "low"}, {2, "medium"}, {3, "high"}, {4, "urgent"}};
  for (auto [priority, label] : priorities) {
    ticket["priority"] = priority;
    EXPECT_EQ(MapTicket(ticket, context)->priority, label) << priority;
  }
}

TEST(MapTicketTest, FallsBackToDescriptionTextAndNormalizesOffsets) {
  json ticket = json::parse(kApiTicket);
  ticket["description"] = nullptr;
  ticket["created_at"] = "2014-07-28T16:20:03+05:30";
  auto record = MapTicket(ticket, Context());
  ASSERT_TRUE(record);
  EXPECT_EQ(record->content, "Hello,\nExporting…");
  EXPECT_FALSE(record->content_is_html);
  EXPECT_EQ(record->created_at, "2014-07-28T10:50:03Z");
}

TEST(MapTicketTest, RejectsBadRecordsWithReasons) {
  json no_id = json::parse(kApiTicket);
  no_id.erase("id");
  auto a = MapTicket(no_id, Context());
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code(), StatusCode::kInvalidRecord);
  EXPECT_NE(a.error().message().find("'id'"), std::string::npos) << a.error().message();

  json bad_time = json::parse(kApiTicket);
  bad_time["updated_at"] = "yesterday";
  auto b = MapTicket(bad_time, Context());
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code(), StatusCode::kInvalidRecord);
  EXPECT_NE(b.error().message().find("updated_at"), std::string::npos) << b.error().message();
  EXPECT_NE(b.error().message().find("48213"), std::string::npos) << b.error().message();

  json no_created = json::parse(kApiTicket);
  no_created["created_at"] = nullptr;
  auto c = MapTicket(no_created, Context());
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("created_at"), std::string::npos);

  auto d = MapTicket(json::array(), Context());
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code(), StatusCode::kInvalidRecord);
}

TEST(MapConversationTest, FixtureRolesAndParent) {
  auto ticket = MapTicket(LoadFixture("ticket_1.json"), Context());
  ASSERT_TRUE(ticket);
  json conversations = LoadFixture("conversations.json");
  ASSERT_EQ(conversations.size(), 2u);

  auto note = MapConversation(conversations[0], *ticket, Context());
  ASSERT_TRUE(note) << note.error().ToString();
  EXPECT_EQ(note->id, "acme_freshdesk_conversation-1");
  EXPECT_EQ(note->original_id, "conversation-1");
  EXPECT_EQ(note->type, "conversation");
  EXPECT_EQ(note->parent_id, "acme_freshdesk_1");
  EXPECT_EQ(note->metadata["role"], "private note");
  EXPECT_EQ(note->metadata["private"], true);
  EXPECT_EQ(note->metadata["source"], "note");
  EXPECT_EQ(note->content, "<div>This is a private note</div>");

  auto reply = MapConversation(conversations[1], *ticket, Context());
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->metadata["role"], "agent");
  EXPECT_EQ(reply->metadata["author_name"], "Support");
  EXPECT_EQ(reply->metadata["source"], "reply");
}

TEST(MapConversationTest, CustomerRoles) {
  auto ticket = MapTicket(json::parse(kApiTicket), Context());
  ASSERT_TRUE(ticket);
  json incoming = {{"id", 67105779552},
                   {"user_id", 555},
                   {"incoming", true},
                   {"private", false},
                   {"source", 0},
                   {"body", "<p>thanks</p>"},
                   {"created_at", "2025-03-12T08:05:51Z"},
                   {"updated_at", "2025-03-12T08:05:51Z"}};
  auto a = MapConversation(incoming, *ticket, Context());
  ASSERT_TRUE(a);
  EXPECT_EQ(a->metadata["role"], "customer");
  EXPECT_EQ(a->original_id, "conversation-67105779552");

  json from_requester = incoming;
  from_requester["incoming"] = false;
  from_requester["user_id"] = 67042965499;
  auto b = MapConversation(from_requester, *ticket, Context());
  ASSERT_TRUE(b);
  EXPECT_EQ(b->metadata["role"], "customer");
  EXPECT_EQ(b->metadata["author_name"], "Priya Natarajan");

  json bad = incoming;
  bad["created_at"] = "not a time";
  auto c = MapConversation(bad, *ticket, Context());
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), StatusCode::kInvalidRecord);
  EXPECT_NE(c.error().message().find("conversation 67105779552"), std::string::npos) << c.error().message();
}

TEST(MapConversationTest, KeepsTheTextItWasListedWithAsRaw) {
  auto ticket = MapTicket(LoadFixture("ticket_1.json"), Context());
  ASSERT_TRUE(ticket);
  const json conversation = LoadFixture("conversations.json")[1];
  // The listing's own text (key order as sent) is kept as is, not serialized from the value again.
  const std::string listed = CompactJson(conversation).replace(0, 1, "{\"zz_listed_first\":1,");
  auto with_text = MapConversation(conversation, *ticket, Context(), listed);
  ASSERT_TRUE(with_text);
  EXPECT_EQ(with_text->raw, listed);
  auto without = MapConversation(conversation, *ticket, Context());
  ASSERT_TRUE(without);
  EXPECT_EQ(without->raw, CompactJson(conversation));
}

TEST(MapArticleTest, FixtureArticles) {
  json folder = LoadFixture("solution_folders.json")[0];
  json category = LoadFixture("solution_categories.json")[0];
  folder["category_name"] = category["name"];
  folder["visibility"] = 3;
  json articles = LoadFixture("solution_articles.json");
  auto published = MapArticle(articles[0], folder, Context());
  ASSERT_TRUE(published) << published.error().ToString();
  EXPECT_EQ(published->id, "acme_freshdesk_article-4");
  EXPECT_EQ(published->type, "article");
  EXPECT_EQ(published->title, "Changing account details");
  EXPECT_EQ(published->status, "published");
  EXPECT_TRUE(published->content_is_html);
  EXPECT_EQ(published->metadata["folder_name"], "Getting Started");
  EXPECT_EQ(published->metadata["folder_id"], 3);
  EXPECT_EQ(published->metadata["category_name"], "General Category");
  EXPECT_EQ(published->metadata["category_id"], 2);
  EXPECT_EQ(published->metadata["visibility"], "agents");
  EXPECT_EQ(published->metadata["tags"], json({"foo", "bar"}));
  EXPECT_EQ(published->metadata["url"], "https://acme.freshdesk.com/support/solutions/articles/4");

  auto draft = MapArticle(articles[1], folder, Context());
  ASSERT_TRUE(draft);
  EXPECT_EQ(draft->status, "draft");
  // Drafts are kept apart from what is indexed unless configured.
  EXPECT_EQ(draft->type, "article_draft");
  EXPECT_EQ(draft->original_id, "article_draft-5");
  EXPECT_EQ(draft->metadata["visibility"], "agents");
  EXPECT_EQ(draft->metadata["private"], true);
  MappingContext indexing = Context();
  indexing.index_drafts = true;
  auto indexed = MapArticle(articles[1], folder, indexing);
  ASSERT_TRUE(indexed);
  EXPECT_EQ(indexed->type, "article");
  EXPECT_EQ(indexed->original_id, "article-5");

  auto translated = MapArticle(articles[0], folder, Context(), "fr");
  ASSERT_TRUE(translated);
  EXPECT_EQ(translated->original_id, "article-4-fr");
  EXPECT_EQ(translated->metadata["language"], "fr");
  EXPECT_EQ(translated->metadata["url"], "https://acme.freshdesk.com/fr/support/solutions/articles/4");
}

TEST(MapTicketTest, LabelsFromReferenceData) {
  MappingContext context = Context();
  LearnTicketFields(json::parse(R"([
    {"id": 2, "name": "status", "label": "Status", "type": "default_status", "default": true,
     "choices": {"2": ["Open", "Open"], "7": ["Waiting on Third Party", "Being Processed"]}},
    {"id": 3, "name": "source", "label": "Source", "type": "default_source", "default": true,
     "choices": {"Email": 1, "Portal": 2, "Marketplace": 21}},
    {"id": 4, "name": "cf_plan_tier", "label": "Plan tier", "type": "custom_dropdown", "default": false},
    {"id": 5, "name": "cf_region", "label": "Region", "type": "custom_text", "default": false}])"),
                    context);
  context.group_names[67000259997] = "Tier 2";
  json ticket = json::parse(kApiTicket);
  ticket["status"] = 7;
  ticket["source"] = 21;
  ticket["company"] = {{"id", 67001265522}, {"name", "Globex"}};
  auto record = MapTicket(ticket, context);
  ASSERT_TRUE(record) << record.error().ToString();
  EXPECT_EQ(record->status, "Waiting on Third Party");
  EXPECT_EQ(record->priority, "medium");
  EXPECT_EQ(record->metadata["source"], "Marketplace");
  EXPECT_EQ(record->metadata["ticket_type"], "Problem");
  EXPECT_EQ(record->metadata["group_name"], "Tier 2");
  EXPECT_EQ(record->metadata["company"]["name"], "Globex");
  EXPECT_EQ(record->metadata["responder_name"], "Tom Agent");
  EXPECT_EQ(record->metadata["requester"]["name"], "Priya Natarajan");
  EXPECT_EQ(record->metadata["custom_field_labels"]["Plan tier"], "Enterprise");
  EXPECT_EQ(record->metadata["custom_field_labels"]["Region"], "EU");
  EXPECT_EQ(record->metadata["custom_field_labels"]["cf_reproducible"], true) << "unlabelled: raw name";
  EXPECT_EQ(record->metadata["url"], "https://acme.freshdesk.com/a/tickets/48213");
  EXPECT_EQ(record->metadata["state"], "active");
  EXPECT_EQ(record->metadata["private"], false);

  ticket["deleted"] = true;
  EXPECT_EQ(MapTicket(ticket, context)->metadata["state"], "deleted");
  ticket["deleted"] = false;
  ticket["spam"] = true;
  EXPECT_EQ(MapTicket(ticket, context)->metadata["state"], "spam");
  ticket["archived"] = true;
  EXPECT_EQ(MapTicket(ticket, context)->metadata["state"], "archived");
  ticket["source"] = 99;
  EXPECT_EQ(MapTicket(ticket, context)->metadata["source"], "other");
}

TEST(MapArticleTest, NamesFromHierarchy) {
  json article = {
      {"id", 67000284931},
      {"status", 2},
      {"folder_id", 67000255073},
      {"category_id", 67000173644},
      {"title", "Exporting large reports to CSV"},
      {"description", "<p>x</p>"},
      {"hierarchy",
       {{{"level", 0}, {"type", "category"}, {"data", {{"id", 67000173644}, {"name", "Reports & Exports"}}}},
        {{"level", 1}, {"type", "folder"}, {"data", {{"id", 67000255073}, {"name", "Exporting data"}}}}}},
      {"created_at", "2024-11-02T10:15:00Z"},
      {"updated_at", "2025-02-27T16:40:12Z"}};
  auto record = MapArticle(article, json::object(), Context());
  ASSERT_TRUE(record);
  EXPECT_EQ(record->metadata["category_name"], "Reports & Exports");
  EXPECT_EQ(record->metadata["folder_name"], "Exporting data");
  EXPECT_EQ(record->metadata["folder_id"].get<int64_t>(), 67000255073);
}

TEST(MapAgentTest, FixtureAgents) {
  json agents = LoadFixture("agents.json");
  auto record = MapAgent(agents[1], Context());
  ASSERT_TRUE(record) << record.error().ToString();
  EXPECT_EQ(record->id, "acme_freshdesk_agent-432");
  EXPECT_EQ(record->title, "Clark Kent");
  EXPECT_EQ(record->type, "agent");
}

TEST(CustomStatusesTest, FromStatusFieldChoices) {
  json fields = json::parse(R"([
    {"id": 1, "name": "subject", "type": "default_subject", "choices": []},
    {"id": 2, "name": "status", "label": "Status", "type": "default_status",
     "choices": {"2": ["Open", "Being Processed"], "6": ["Waiting on Customer", "Awaiting your Reply"],
                 "7": ["Waiting on Third Party", "Being Processed"]}}])");
  auto statuses = CustomStatusesFromTicketFields(fields);
  EXPECT_EQ(statuses.size(), 2u);
  EXPECT_EQ(statuses[6], "Waiting on Customer");
  EXPECT_EQ(statuses[7], "Waiting on Third Party");
  auto record = MapTicketField(fields[1], Context());
  ASSERT_TRUE(record);
  EXPECT_EQ(record->original_id, "ticket_field-2");
  EXPECT_EQ(record->title, "Status");
}

}  // namespace
}  // namespace deskpipe::freshdesk
