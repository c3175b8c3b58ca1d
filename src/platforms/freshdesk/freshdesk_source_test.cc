#include "platforms/freshdesk/freshdesk_source.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/time.h"
#include "platforms/freshdesk/fake_freshdesk.h"
#include "platforms/freshdesk/fake_http_client.h"
#include "platforms/registry.h"

namespace deskpipe::freshdesk {
namespace {

using nlohmann::json;
using testing::FakeFreshdesk;
using testing::FakeHttpClient;
using testing::MemoryKnownRecords;

constexpr const char* kKey = "sekr3t-api-key";
const int64_t kT0 = *ParseTimestamp("2024-01-01T00:00:00Z");

Config TestConfig(int batch_size = 100) {
  Config config;
  config.tenant_id = "acme";
  config.components.Set("freshdesk_base_url", std::string(FakeFreshdesk::kRoot));
  config.components.Set("freshdesk_api_key", std::string(kKey), /*secret=*/true);
  config.collection_batch_size = batch_size;
  return config;
}

std::unique_ptr<FreshdeskSource> MakeSource(net::HttpClient& http, FreshdeskSourceOptions source_options = {},
                                            Config config = TestConfig()) {
  FreshdeskClientOptions options;
  options.max_attempts = 1;
  options.sleep = [](std::chrono::milliseconds) {};  // never sleeps; private governor per test
  options.rate_window = std::chrono::milliseconds(1);  // the fake sends no budget: keep no history
  auto source = FreshdeskSource::Create(config, http, options, std::move(source_options));
  EXPECT_TRUE(source) << source.error().ToString();
  return source ? std::move(*source) : nullptr;
}

// Drives one stream to its end the way the runner does: each batch "committed" (applied to `known` and its
// cursor saved in `cursors`, a null one leaving the saved one in place as Store::Commit does) before the next is
// asked for.
struct Harness {
  std::map<std::string, json> cursors;
  MemoryKnownRecords known;
  std::map<std::string, int> emitted;  // record id → times emitted
  std::vector<Batch> batches;
  bool keep_batches = true;  // off for the 50,000-ticket run (memory)

  Result<void> Drain(FreshdeskSource& source, const std::string& stream, int max_batches = 100000) {
    for (int i = 0; i < max_batches; ++i) {
      auto batch = source.Next(stream, cursors[stream]);
      if (!batch) return Error(batch.error());
      for (const auto& r : batch->records) ++emitted[r.id];
      known.Apply(*batch);
      if (!batch->cursor.is_null()) cursors[stream] = batch->cursor;  // as the store: null leaves the cursor as is
      const bool done = batch->done;
      if (keep_batches) batches.push_back(std::move(*batch));
      if (done) return {};
    }
    return Error(Internal("stream " + stream + " did not finish"));
  }
  int Emitted(const std::string& type) const {
    int n = 0;
    for (const auto& b : batches) {
      for (const auto& r : b.records) n += r.type == type ? 1 : 0;
    }
    return n;
  }
  const Record* Last(const std::string& id) const {
    const Record* found = nullptr;
    for (const auto& b : batches) {
      for (const auto& r : b.records) {
        if (r.id == id) found = &r;
      }
    }
    return found;
  }
  std::set<std::string> Removed() const {
    std::set<std::string> out;
    for (const auto& b : batches) out.insert(b.removed_ids.begin(), b.removed_ids.end());
    return out;
  }
};

json Conversation(int64_t id, int64_t ticket_id, int64_t ts, bool is_private = false) {
  return {{"id", id},
          {"ticket_id", ticket_id},
          {"user_id", 1},
          {"incoming", false},
          {"private", is_private},
          {"source", is_private ? 2 : 0},
          {"body", "<p>reply " + std::to_string(id) + "</p>"},
          {"last_edited_at", nullptr},
          {"created_at", FormatTimestamp(ts)},
          {"updated_at", FormatTimestamp(ts)}};
}

void AddReferenceData(FakeFreshdesk& fd) {
  fd.agents = json::array({{{"id", 1},
                            {"contact", {{"name", "Alice Agent"}}},
                            {"created_at", "2015-08-18T16:18:05Z"},
                            {"updated_at", "2015-08-18T16:18:05Z"}}});
  fd.groups = json::array({{{"id", 70}, {"name", "Billing"}}});
  fd.ticket_fields = json::parse(R"([
    {"id": 10, "name": "status", "label": "Status", "type": "default_status", "default": true,
     "choices": {"2": ["Open", "Open"], "6": ["Waiting on Customer", "Awaiting your Reply"]}},
    {"id": 11, "name": "source", "label": "Source", "type": "default_source", "default": true,
     "choices": {"Email": 1, "Portal": 2, "Carrier Pigeon": 14}},
    {"id": 12, "name": "cf_plan_tier", "label": "Plan tier", "type": "custom_dropdown", "default": false}])");
}

std::string TicketId(int64_t id) { return "acme_freshdesk_" + std::to_string(id); }

// ---- tickets -------------------------------------------------------------------------------------------

TEST(FreshdeskSourceTest, FirstRunReadsEveryTicketWithThreadLabelsAndAttachments) {
  FakeFreshdesk fd;
  AddReferenceData(fd);
  for (int64_t id = 1; id <= 250; ++id) {
    auto& t = fd.AddTicket(id, kT0 + id, kT0 + 1000 + id / 3);  // three tickets per second
    t.group_id = 70;
    t.company_id = 5;
    if (id % 50 == 0) t.conversations.push_back(Conversation(10000 + id, id, kT0 + 2000));
  }
  fd.tickets[7].status = 6;
  fd.tickets[7].source = 14;
  fd.AddAttachment(fd.tickets[8], 501, "ticket attachment bytes");
  fd.tickets[50].conversations[0]["attachment_ids"] = json::array({502});
  fd.files[502] = "conversation attachment";
  fd.signature[502] = 1;
  for (int i = 0; i < 120; ++i) fd.tickets[100].conversations.push_back(Conversation(20000 + i, 100, kT0 + 3000 + i, i % 3 == 0));

  auto source = MakeSource(fd);
  Harness h;
  ASSERT_TRUE(h.Drain(*source, "tickets"));
  EXPECT_EQ(h.Emitted("ticket"), 250);
  for (int64_t id = 1; id <= 250; ++id) EXPECT_EQ(h.emitted[TicketId(id)], 1) << id;
  EXPECT_EQ(h.Emitted("conversation"), 5 + 120);  // every page of ticket 100's thread (per_page=100)
  EXPECT_EQ(fd.counts["view"], 250);
  EXPECT_EQ(fd.counts["list"], 3 + 3);  // 3 ticket pages; agents, groups, ticket_fields

  // Labels (issue 5.2).
  const Record* t7 = h.Last(TicketId(7));
  ASSERT_NE(t7, nullptr);
  EXPECT_EQ(t7->status, "Waiting on Customer");
  EXPECT_EQ(t7->metadata["source"], "Carrier Pigeon");
  EXPECT_EQ(t7->metadata["group_name"], "Billing");
  EXPECT_EQ(t7->metadata["company"]["name"], "Company 5");
  EXPECT_EQ(t7->metadata["responder_name"], "Alice Agent");
  EXPECT_EQ(t7->metadata["requester"]["name"], "Rita Requester");
  EXPECT_EQ(t7->metadata["custom_field_labels"]["Plan tier"], "Pro");
  EXPECT_EQ(t7->metadata["url"], std::string(FakeFreshdesk::kRoot) + "/a/tickets/7");
  EXPECT_EQ(t7->metadata["state"], "active");
  const Record* note = h.Last("acme_freshdesk_conversation-20000");
  ASSERT_NE(note, nullptr);
  EXPECT_EQ(note->metadata["private"], true);
  EXPECT_EQ(note->metadata["visibility"], "agents");

  // Attachments downloaded with a content hash, no URL kept.
  const Record* t8 = h.Last(TicketId(8));
  ASSERT_EQ(t8->attachments.size(), 1u);
  EXPECT_EQ(t8->attachments[0].bytes, "ticket attachment bytes");
  EXPECT_EQ(t8->attachments[0].content_hash.size(), 16u);
  EXPECT_EQ(t8->attachments[0].id, "501");
  const Record* c50 = h.Last("acme_freshdesk_conversation-10050");
  ASSERT_EQ(c50->attachments.size(), 1u);
  EXPECT_EQ(c50->attachments[0].bytes, "conversation attachment");
}

TEST(FreshdeskSourceTest, NoChangeResyncMakesOnlyListCalls) {
  FakeFreshdesk fd;
  AddReferenceData(fd);
  for (int64_t id = 1; id <= 1000; ++id) {
    fd.AddTicket(id, kT0, kT0 + id / 7).conversations.push_back(Conversation(5000 + id, id, kT0));
  }
  Harness h;
  {
    auto source = MakeSource(fd);
    for (const char* stream : {"tickets", "tickets_deleted", "tickets_spam"}) ASSERT_TRUE(h.Drain(*source, stream));
  }
  EXPECT_EQ(h.Emitted("ticket"), 1000);
  fd.counts.clear();
  const size_t before = h.batches.size();
  auto source = MakeSource(fd);  // a new process with the saved cursors
  for (const char* stream : {"tickets", "tickets_deleted", "tickets_spam"}) ASSERT_TRUE(h.Drain(*source, stream));
  size_t records = 0;
  for (size_t i = before; i < h.batches.size(); ++i) records += h.batches[i].records.size();
  EXPECT_EQ(records, 0u);
  EXPECT_EQ(fd.counts["view"], 0);
  EXPECT_EQ(fd.counts["conversations"], 0);
  EXPECT_EQ(fd.counts["download"], 0);
  EXPECT_EQ(fd.counts["list"], 3 + 2 + 1);  // one page per pass; agents, groups, ticket_fields

  // One ticket changes: exactly it is re-read (view + conversations), nothing else.
  fd.tickets[500].updated = kT0 + 9999;
  fd.counts.clear();
  ASSERT_TRUE(h.Drain(*source, "tickets"));
  EXPECT_EQ(h.emitted[TicketId(500)], 2);
  EXPECT_EQ(fd.counts["view"], 1);
  EXPECT_EQ(fd.counts["conversations"], 1);
}

// A resync that re-lists everything (cursors lost, or a new start date) with the store attached: list pages
// only — every listed ticket the store holds with the same updated_at and state is skipped, no view, no
// thread.
TEST(FreshdeskSourceTest, RelistWithTheStoreAttachedRereadsNoUnchangedThread) {
  FakeFreshdesk fd;
  AddReferenceData(fd);
  for (int64_t id = 1; id <= 250; ++id) {
    fd.AddTicket(id, kT0, kT0 + id).conversations.push_back(Conversation(5000 + id, id, kT0));
  }
  fd.tickets[7].deleted = true;
  Harness h;
  {
    auto source = MakeSource(fd);
    source->AttachKnownRecords(&h.known);
    for (const char* stream : {"tickets", "tickets_deleted", "tickets_spam"})
      ASSERT_TRUE(h.Drain(*source, stream));
  }
  EXPECT_EQ(h.Emitted("ticket"), 250);
  h.cursors.clear();                    // re-list from the start date
  fd.tickets[100].updated = kT0 + 100;  // unchanged second, but moved to the trash: a changed state
  fd.tickets[100].deleted = true;
  fd.tickets[200].updated = kT0 + 9999;  // changed
  fd.counts.clear();
  auto source = MakeSource(fd);
  source->AttachKnownRecords(&h.known);
  for (const char* stream : {"tickets", "tickets_deleted", "tickets_spam"})
    ASSERT_TRUE(h.Drain(*source, stream));
  EXPECT_EQ(fd.counts["view"], 2);
  EXPECT_EQ(fd.counts["conversations"], 2);
  EXPECT_EQ(h.emitted[TicketId(100)], 2);
  EXPECT_EQ(h.emitted[TicketId(200)], 2);
  EXPECT_EQ(h.emitted[TicketId(7)], 1) << "an unchanged trashed ticket is not re-read in its own pass";
  EXPECT_EQ(h.emitted[TicketId(1)], 1);
  EXPECT_EQ(fd.counts["list"], 3 + 1 + 1 + 3);  // ⌈248/100⌉ + ⌈2/100⌉ + 1 (empty spam pass); reference data
}

TEST(FreshdeskSourceTest, FiftyThousandTicketsSharingOneSecondArriveExactlyOnce) {
  FakeFreshdesk fd;
  AddReferenceData(fd);
  const int64_t bulk = kT0 + 5000;
  int64_t id = 1;
  for (; id <= 2000; ++id) fd.AddTicket(id, kT0 + id, kT0 + id);           // history before the bulk edit
  for (; id <= 52000; ++id) fd.AddTicket(id, kT0 + (id * 7919) % 40000, bulk);  // one automation, one second
  for (; id <= 52500; ++id) fd.AddTicket(id, kT0 + id, bulk + 1 + id % 50);    // activity after it
  auto source = MakeSource(fd);
  Harness h;
  h.keep_batches = false;
  ASSERT_TRUE(h.Drain(*source, "tickets")) << "the split must cover the second";
  EXPECT_EQ(h.emitted.size(), 52500u);
  for (int64_t i = 1; i <= 52500; ++i) ASSERT_EQ(h.emitted[TicketId(i)], 1) << "ticket " << i;
  EXPECT_EQ(fd.counts["view"], 52500);  // every ticket viewed once: none re-read

  // The cursor moved past the bulk second; a resync reads nothing again.
  fd.counts.clear();
  auto again = MakeSource(fd);
  ASSERT_TRUE(h.Drain(*again, "tickets"));
  EXPECT_EQ(h.emitted.size(), 52500u);
  for (const auto& [record_id, times] : h.emitted) ASSERT_EQ(times, 1) << record_id;
  EXPECT_EQ(fd.counts["view"], 0);
}

TEST(FreshdeskSourceTest, SplitBeyondBothOrdersFailsLoudlyInsteadOfLosingTickets) {
  FakeFreshdesk fd;
  AddReferenceData(fd);
  for (int64_t id = 1; id <= 700; ++id) fd.AddTicket(id, kT0 + id, kT0 + 10);
  auto source = MakeSource(fd, {}, TestConfig(/*batch_size=*/1));  // 300 pages × 1 ticket per order
  Harness h;
  auto drained = h.Drain(*source, "tickets");
  ASSERT_FALSE(drained);
  EXPECT_EQ(drained.error().code(), StatusCode::kInternal);
  EXPECT_NE(drained.error().message().find("2024-01-01T00:00:10Z"), std::string::npos) << drained.error().message();
}

TEST(FreshdeskSourceTest, EarlyPageCap400StartsANewWindow) {
  FakeFreshdesk fd;
  AddReferenceData(fd);
  fd.page_cap = 2;  // the server refuses page 3
  for (int64_t id = 1; id <= 450; ++id) fd.AddTicket(id, kT0, kT0 + id / 2);
  auto source = MakeSource(fd);
  Harness h;
  ASSERT_TRUE(h.Drain(*source, "tickets"));
  EXPECT_EQ(h.Emitted("ticket"), 450);
  for (int64_t id = 1; id <= 450; ++id) EXPECT_EQ(h.emitted[TicketId(id)], 1) << id;
}

TEST(FreshdeskSourceTest, TrashSpamAndRestoreAreStatesInTheirOwnPasses) {
  FakeFreshdesk fd;
  AddReferenceData(fd);
  for (int64_t id = 1; id <= 5; ++id) fd.AddTicket(id, kT0, kT0 + id);
  Harness h;
  auto source = MakeSource(fd);
  for (const char* s : {"tickets", "tickets_deleted", "tickets_spam"}) ASSERT_TRUE(h.Drain(*source, s));
  EXPECT_EQ(h.Emitted("ticket"), 5);

  fd.tickets[2].deleted = true;
  fd.tickets[2].updated = kT0 + 100;
  fd.tickets[3].spam = true;
  fd.tickets[3].updated = kT0 + 100;
  for (const char* s : {"tickets", "tickets_deleted", "tickets_spam"}) ASSERT_TRUE(h.Drain(*source, s));
  EXPECT_EQ(h.Last(TicketId(2))->metadata["state"], "deleted");
  EXPECT_EQ(h.Last(TicketId(3))->metadata["state"], "spam");
  EXPECT_TRUE(h.Removed().empty()) << "trash and spam are restorable states, not tombstones";
  EXPECT_NE(h.cursors["tickets_deleted"], h.cursors["tickets_spam"]);

  fd.tickets[2].deleted = false;  // restored
  fd.tickets[2].updated = kT0 + 200;
  for (const char* s : {"tickets", "tickets_deleted", "tickets_spam"}) ASSERT_TRUE(h.Drain(*source, s));
  EXPECT_EQ(h.Last(TicketId(2))->metadata["state"], "active");
}

TEST(FreshdeskSourceTest, ConversationsDiffedAgainstTheStore) {
  FakeFreshdesk fd;
  AddReferenceData(fd);
  auto& t = fd.AddTicket(1, kT0, kT0 + 1);
  for (int64_t c = 11; c <= 13; ++c) t.conversations.push_back(Conversation(c, 1, kT0 + c));
  Harness h;
  auto source = MakeSource(fd);
  source->AttachKnownRecords(&h.known);
  ASSERT_TRUE(h.Drain(*source, "tickets"));
  EXPECT_EQ(h.known.Children(TicketId(1))->size(), 3u);

  // Conversation 12 deleted, 13 edited, 14 new.
  t.conversations.erase(t.conversations.begin() + 1);
  t.conversations[1]["body"] = "<p>edited reply</p>";
  t.conversations[1]["last_edited_at"] = FormatTimestamp(kT0 + 50);
  t.conversations[1]["updated_at"] = FormatTimestamp(kT0 + 50);
  t.conversations.push_back(Conversation(14, 1, kT0 + 60));
  t.updated = kT0 + 60;
  ASSERT_TRUE(h.Drain(*source, "tickets"));
  const Batch& last = h.batches.back();
  EXPECT_EQ(last.removed_ids, std::vector<std::string>{"acme_freshdesk_conversation-12"});
  EXPECT_EQ(h.Last("acme_freshdesk_conversation-13")->metadata["edited"], true);
  EXPECT_EQ(h.emitted["acme_freshdesk_conversation-14"], 1);
  EXPECT_EQ(h.known.Children(TicketId(1))->size(), 3u);  // 11, 13, 14
}

// ---- reconciliation ------------------------------------------------------------------------------------

TEST(FreshdeskSourceTest, ReconciliationSweepFindsHardDeletesArchivesAndMissedChanges) {
  FakeFreshdesk fd;
  AddReferenceData(fd);
  for (int64_t id = 1; id <= 6; ++id) {
    fd.AddTicket(id, kT0, kT0 + id).conversations.push_back(Conversation(100 + id, id, kT0));
  }
  int64_t now = kT0 + 100000;
  FreshdeskSourceOptions options;
  options.now_unix = [&now] { return now; };
  options.reconcile_interval = std::chrono::hours(24);
  options.reconcile_batch = 4;
  Harness h;
  auto source = MakeSource(fd, options);
  source->AttachKnownRecords(&h.known);
  ASSERT_TRUE(h.Drain(*source, "tickets"));
  ASSERT_TRUE(h.Drain(*source, "tickets_reconcile"));
  EXPECT_EQ(fd.counts["view"], 6) << "the first run only stamps the sweep time";

  fd.tickets.erase(2);            // trash emptied: gone everywhere
  fd.tickets[3].archived = true;  // archived: 404 on the live path
  fd.tickets[4].deleted = true;   // moved to trash without its updated_at moving
  now += 3600;                    // not due yet
  fd.counts.clear();
  ASSERT_TRUE(h.Drain(*source, "tickets_reconcile"));
  EXPECT_EQ(fd.NonListRequests(), 0);

  now += 24 * 3600;  // due
  ASSERT_TRUE(h.Drain(*source, "tickets_reconcile"));
  std::set<std::string> removed = h.Removed();
  EXPECT_EQ(removed, (std::set<std::string>{TicketId(2), "acme_freshdesk_conversation-102"}));
  EXPECT_EQ(h.Last(TicketId(3))->metadata["state"], "archived");
  EXPECT_EQ(h.emitted["acme_freshdesk_conversation-103"], 2) << "archived thread read from the archive";
  EXPECT_EQ(h.Last(TicketId(4))->metadata["state"], "deleted");
  EXPECT_EQ(h.emitted[TicketId(5)], 1) << "unchanged tickets are not re-read";
  EXPECT_EQ(h.known.records.count(TicketId(2)), 0u);
  EXPECT_TRUE(h.cursors["tickets_reconcile"].contains("last_sweep_started_at"));
  EXPECT_FALSE(h.cursors["tickets_reconcile"].contains("sweep_started_at")) << "sweep complete";
}

TEST(FreshdeskSourceTest, ReconciliationRespectsItsBudgetAndResumes) {
  FakeFreshdesk fd;
  AddReferenceData(fd);
  for (int64_t id = 1; id <= 10; ++id) fd.AddTicket(id, kT0, kT0 + id);
  int64_t now = kT0;
  FreshdeskSourceOptions options;
  options.now_unix = [&now] { return now; };
  options.reconcile_max_probes = 4;
  Harness h;
  {
    auto source = MakeSource(fd, options);
    source->AttachKnownRecords(&h.known);
    ASSERT_TRUE(h.Drain(*source, "tickets"));
    ASSERT_TRUE(h.Drain(*source, "tickets_reconcile"));
  }
  now += 2 * 24 * 3600;
  for (int run = 0; run < 3; ++run) {
    fd.counts.clear();
    auto source = MakeSource(fd, options);
    source->AttachKnownRecords(&h.known);
    ASSERT_TRUE(h.Drain(*source, "tickets_reconcile"));
    EXPECT_LE(fd.counts["view"], 4) << "run " << run;
    EXPECT_EQ(fd.counts["view"], run < 2 ? 4 : 2) << "run " << run;
  }
  EXPECT_FALSE(h.cursors["tickets_reconcile"].contains("sweep_started_at"));
}

// ---- attachments ---------------------------------------------------------------------------------------

TEST(FreshdeskSourceTest, ExpiredAttachmentUrlIsResignedThroughItsParent) {
  FakeFreshdesk fd;
  AddReferenceData(fd);
  auto& t = fd.AddTicket(1, kT0, kT0 + 1);
  fd.AddAttachment(t, 900, "late bytes");
  fd.AddAttachment(t, 901, std::string(5000, 'x'));
  // The URL handed out by the view expires before the download starts.
  struct Expiring : net::HttpClient {
    FakeFreshdesk& fd;
    explicit Expiring(FakeFreshdesk& f) : fd(f) {}
    int views = 0;
    Result<net::HttpResponse> Send(const net::HttpRequest& request) override {
      auto response = fd.Send(request);
      if (request.url.find("/api/v2/tickets/1?") != std::string::npos && ++views == 1) fd.ExpireUrls(900);
      return response;
    }
  } http(fd);
  FreshdeskSourceOptions options;
  options.attachments.max_bytes = 1000;
  auto source = MakeSource(http, options);
  Harness h;
  ASSERT_TRUE(h.Drain(*source, "tickets"));
  const Record* ticket = h.Last(TicketId(1));
  ASSERT_EQ(ticket->attachments.size(), 2u);
  EXPECT_EQ(ticket->attachments[0].bytes, "late bytes");
  EXPECT_TRUE(ticket->attachments[0].download_error.empty()) << ticket->attachments[0].download_error;
  EXPECT_EQ(http.views, 2) << "one view for the ticket, one to re-sign";
  EXPECT_TRUE(ticket->attachments[1].bytes.empty());
  EXPECT_NE(ticket->attachments[1].download_error.find("exceeds the limit"), std::string::npos);
  EXPECT_EQ(fd.counts["download"], 2) << "the oversized file is never requested";
  EXPECT_EQ(source->attachment_stats().resigned, 1);
}

// A finished full-refresh stream starts over on the next run, although the store keeps a cursor that a batch
// returns as null: its final cursor is not null.
TEST(FreshdeskSourceTest, FinishedPagedReferenceStreamStartsAgainAtPageOne) {
  FakeFreshdesk fd;
  AddReferenceData(fd);
  for (int64_t id = 2; id <= 150; ++id) {
    fd.agents.push_back({{"id", id}, {"contact", {{"name", "Agent " + std::to_string(id)}}},
                         {"created_at", "2015-08-18T16:18:05Z"}, {"updated_at", "2015-08-18T16:18:05Z"}});
  }
  Harness h;
  ASSERT_TRUE(h.Drain(*MakeSource(fd), "agents"));
  EXPECT_EQ(h.cursors["agents"], (json{{"page", 1}}));
  ASSERT_TRUE(h.Drain(*MakeSource(fd), "agents"));  // the next run
  EXPECT_EQ(h.emitted["acme_freshdesk_agent-1"], 2) << "page 1 read again";
  EXPECT_EQ(h.emitted["acme_freshdesk_agent-150"], 2);
}

// ---- knowledge base ------------------------------------------------------------------------------------

json Article(int64_t id, int64_t folder, int status, const std::string& updated, const std::string& title) {
  return {{"id", id},           {"folder_id", folder},   {"category_id", 1},
          {"status", status},   {"title", title},        {"description", "<p>" + title + "</p>"},
          {"agent_id", 1},      {"tags", json::array()}, {"attachments", json::array()},
          {"created_at", "2024-01-01T00:00:00Z"},        {"updated_at", updated}};
}

TEST(FreshdeskSourceTest, KnowledgeBaseEveryLanguageNestedFoldersDraftsAndTombstones) {
  FakeFreshdesk fd;
  AddReferenceData(fd);
  fd.settings = {{"primary_language", "en"}, {"supported_languages", json::array({"fr"})}};
  fd.categories = json::array({{{"id", 1}, {"name", "Guides"}}});
  fd.folders = {{{"id", 10}, {"name", "Top"}, {"category_id", 1}, {"parent_folder_id", nullptr},
                 {"sub_folders_count", 1}, {"visibility", 1}},
                {{"id", 11}, {"name", "Nested"}, {"category_id", 1}, {"parent_folder_id", 10},
                 {"sub_folders_count", 1}, {"visibility", 3}},
                {{"id", 12}, {"name", "Deeper"}, {"category_id", 1}, {"parent_folder_id", 11},
                 {"sub_folders_count", 0}, {"visibility", 1}}};
  fd.articles["en"] = {Article(100, 10, 2, "2024-02-01T00:00:00Z", "Reset a password"),
                       Article(101, 11, 2, "2024-02-01T00:00:00Z", "Export data"),
                       Article(102, 12, 1, "2024-02-01T00:00:00Z", "Unreleased feature")};
  fd.articles["fr"] = {Article(100, 10, 2, "2024-02-02T00:00:00Z", "Réinitialiser un mot de passe")};
  Harness h;
  auto source = MakeSource(fd);
  source->AttachKnownRecords(&h.known);
  ASSERT_TRUE(h.Drain(*source, "settings"));
  ASSERT_TRUE(h.Drain(*source, "solutions"));
  EXPECT_EQ(h.emitted["acme_freshdesk_article-100"], 1);
  EXPECT_EQ(h.emitted["acme_freshdesk_article-101"], 1) << "nested folder walked";
  EXPECT_EQ(h.emitted["acme_freshdesk_article_draft-102"], 1) << "draft kept apart";
  EXPECT_EQ(h.emitted["acme_freshdesk_article-102"], 0) << "draft not indexed";
  const Record* fr = h.Last("acme_freshdesk_article-100-fr");
  ASSERT_NE(fr, nullptr);
  EXPECT_EQ(fr->metadata["language"], "fr");
  EXPECT_EQ(fr->metadata["url"], std::string(FakeFreshdesk::kRoot) + "/fr/support/solutions/articles/100");
  EXPECT_EQ(h.Last("acme_freshdesk_article-101")->metadata["visibility"], "agents");
  EXPECT_EQ(h.Last("acme_freshdesk_article_draft-102")->type, "article_draft");

  EXPECT_EQ(h.cursors["solutions"], (json{{"complete", true}})) << "the next run walks again";

  // Second walk: nothing changed ⇒ nothing emitted; then 101 disappears and the draft is published.
  fd.counts.clear();
  const size_t before = h.batches.size();
  ASSERT_TRUE(h.Drain(*source, "solutions"));
  for (size_t i = before; i < h.batches.size(); ++i) EXPECT_TRUE(h.batches[i].records.empty());
  EXPECT_EQ(fd.NonListRequests(), 0);

  fd.articles["en"].erase(fd.articles["en"].begin() + 1);
  fd.articles["en"][1]["status"] = 2;
  fd.articles["en"][1]["updated_at"] = "2024-03-01T00:00:00Z";
  ASSERT_TRUE(h.Drain(*source, "solutions"));
  EXPECT_EQ(h.Removed(), (std::set<std::string>{"acme_freshdesk_article-101", "acme_freshdesk_article_draft-102"}));
  EXPECT_EQ(h.emitted["acme_freshdesk_article-102"], 1);
}

// ---- reference data ------------------------------------------------------------------------------------

TEST(FreshdeskSourceTest, ReferenceStreamsIncrementalContactsAndDeletedPass) {
  FakeFreshdesk fd;
  AddReferenceData(fd);
  fd.companies = json::array({{{"id", 5}, {"name", "Globex"}, {"created_at", "2024-01-01T00:00:00Z"},
                               {"updated_at", "2024-01-02T00:00:00Z"}}});
  fd.contacts = json::array({{{"id", 900}, {"name", "Rita"}, {"company_id", 5}, {"active", true},
                              {"created_at", "2024-01-01T00:00:00Z"}, {"updated_at", "2024-01-03T00:00:00Z"}},
                             {{"id", 901}, {"name", "Gone"}, {"deleted", true},
                              {"created_at", "2024-01-01T00:00:00Z"}, {"updated_at", "2024-01-03T00:00:00Z"}}});
  Harness h;
  auto source = MakeSource(fd);
  for (const auto& stream : source->Streams()) {
    if (stream.rfind("tickets", 0) == 0 || stream == "solutions") continue;
    ASSERT_TRUE(h.Drain(*source, stream)) << stream;
  }
  EXPECT_EQ(h.Last("acme_freshdesk_group-70")->title, "Billing");
  EXPECT_EQ(h.Last("acme_freshdesk_company-5")->title, "Globex");
  EXPECT_EQ(h.Last("acme_freshdesk_contact-900")->metadata["company_name"], "Globex");
  EXPECT_EQ(h.Last("acme_freshdesk_contact-901")->metadata["state"], "deleted");
  EXPECT_EQ(h.Last("acme_freshdesk_settings-helpdesk")->type, "settings");
  EXPECT_EQ(h.cursors["contacts"]["window_start"], "2024-01-03T00:00:00Z");

  // Incremental: only what changed since is re-emitted.
  fd.contacts[0]["updated_at"] = "2024-02-01T00:00:00Z";
  const size_t before = h.batches.size();
  for (const char* stream : {"companies", "contacts", "contacts_deleted"}) ASSERT_TRUE(h.Drain(*source, stream));
  size_t records = 0;
  for (size_t i = before; i < h.batches.size(); ++i) records += h.batches[i].records.size();
  EXPECT_EQ(records, 1u);
}

// ---- counts for progress totals ------------------------------------------------------------------------

// The tickets count is the search API's total for updated_at ≥ the day the cursor resumes from (the later of
// its window start and the greatest updated_at it emitted), or the start date's day on a first run.
TEST(FreshdeskSourceTest, TicketsAreCountedBySearchingFromTheCursorsDay) {
  FakeHttpClient http;
  Config config = TestConfig();
  config.start_date = "2023-06-15T08:30:00Z";
  auto source = MakeSource(http, {}, config);
  const std::string search = std::string(FakeFreshdesk::kRoot) + "/api/v2/search/tickets?query=";
  http.Expect(search + "%22updated_at%3A%3E%272023-06-15%27%22", 200, R"({"total":1234,"results":[]})");
  auto first = source->CountRemaining("tickets", nullptr);
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_EQ(*first, std::optional<int64_t>(1234));

  http.Expect(search + "%22updated_at%3A%3E%272024-03-06%27%22", 200, R"({"total":42,"results":[]})");
  auto resumed = source->CountRemaining(
      "tickets", json{{"window_start", "2024-03-05T17:20:00Z"}, {"max_updated_at", "2024-03-06T01:00:00Z"},
                      {"page", 3}});
  ASSERT_TRUE(resumed) << resumed.error().ToString();
  EXPECT_EQ(*resumed, std::optional<int64_t>(42));

  // A failed search is an error for the caller to log; it never looks like a count.
  http.Expect(search + "%22updated_at%3A%3E%272024-03-05%27%22", 400,
              R"({"description":"Validation failed","errors":[]})");
  auto failed = source->CountRemaining("tickets", json{{"window_start", "2024-03-05T17:20:00Z"}});
  EXPECT_FALSE(failed);
  http.Expect(search + "%22updated_at%3A%3E%272024-03-05%27%22", 200, R"({"results":[]})");
  EXPECT_FALSE(source->CountRemaining("tickets", json{{"window_start", "2024-03-05T17:20:00Z"}}));

  // Streams without a cheap exact count say so, without a request; settings is one record.
  for (const char* stream : {"tickets_deleted", "tickets_spam", "contacts", "companies", "agents", "solutions"}) {
    auto none = source->CountRemaining(stream, nullptr);
    ASSERT_TRUE(none) << stream;
    EXPECT_EQ(*none, std::nullopt) << stream;
  }
  EXPECT_EQ(*source->CountRemaining("settings", nullptr), std::optional<int64_t>(1));
  EXPECT_EQ(*source->CountRemaining("tickets_reconcile", nullptr), std::optional<int64_t>(0));
  EXPECT_EQ(http.pending(), 0u);
}

// ---- errors and configuration --------------------------------------------------------------------------

TEST(FreshdeskSourceTest, UnauthorizedStopsWithSettingName) {
  FakeHttpClient http;
  auto source = MakeSource(http);
  http.Expect(std::string(FakeFreshdesk::kRoot) + "/api/v2/settings/helpdesk", 401,
              R"({"code":"invalid_credentials","message":"nope"})");
  auto batch = source->Next("tickets", nullptr);
  ASSERT_FALSE(batch);
  EXPECT_EQ(batch.error().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(batch.error().message().find("FRESHDESK_API_KEY"), std::string::npos);
  EXPECT_EQ(batch.error().message().find(kKey), std::string::npos);
}

TEST(FreshdeskSourceTest, MalformedCursorIsAClearError) {
  FakeFreshdesk fd;
  auto source = MakeSource(fd);
  auto batch = source->Next("tickets", json{{"window_start", "yesterday"}});
  ASSERT_FALSE(batch);
  EXPECT_EQ(batch.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(batch.error().message().find("tickets cursor"), std::string::npos) << batch.error().message();
  auto ids = source->Next("tickets_spam", json{{"window_start", "2024-01-01T00:00:00Z"}, {"skip_ids", json::array({"x"})}});
  ASSERT_FALSE(ids);
  EXPECT_NE(ids.error().message().find("tickets_spam cursor 'skip_ids'"), std::string::npos) << ids.error().message();
}

TEST(FreshdeskSourceTest, UnknownStreamAndBadConfig) {
  FakeFreshdesk fd;
  auto source = MakeSource(fd);
  auto batch = source->Next("time_entries", nullptr);
  ASSERT_FALSE(batch);
  EXPECT_EQ(batch.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(batch.error().message().find("tickets_spam"), std::string::npos);

  Config config = TestConfig();
  config.components.Set("freshdesk_base_url", std::string("http://example.com"));
  auto rejected = FreshdeskSource::Create(config, fd);
  ASSERT_FALSE(rejected);
  EXPECT_NE(rejected.error().message().find("DESKPIPE_ALLOWED_HOSTS"), std::string::npos);
}

// The configuration's source keys reach the source the registry builds (issue 4: attachment_max_bytes,
// index_drafts, reconcile_interval, reconcile_max_probes).
TEST(FreshdeskSourceTest, ConfigKeysBecomeSourceOptions) {
  Config config = TestConfig();
  config.components.Set("attachment_max_bytes", 4096);
  config.components.Set("index_drafts", true);
  config.components.Set("reconcile_interval", 600);
  config.components.Set("reconcile_max_probes", 12);
  FreshdeskSourceOptions options = SourceOptionsFromConfig(config);
  EXPECT_EQ(options.attachments.max_bytes, 4096);
  EXPECT_TRUE(options.download_attachments);
  EXPECT_TRUE(options.index_drafts);
  EXPECT_EQ(options.reconcile_interval, std::chrono::seconds(600));
  EXPECT_EQ(options.reconcile_max_probes, 12);
  config.components.Set("attachment_max_bytes", 0);
  EXPECT_FALSE(SourceOptionsFromConfig(config).download_attachments);

  FakeFreshdesk http;
  config.components.Set("index_drafts", true);
  auto source = ::deskpipe::CreateSource(config, http);
  ASSERT_TRUE(source) << source.error().ToString();
  auto* freshdesk = dynamic_cast<FreshdeskSource*>(source->get());
  ASSERT_NE(freshdesk, nullptr);
  EXPECT_TRUE(freshdesk->mapping_context().index_drafts);  // drafts become indexed articles
}

TEST(RegistryTest, DispatchesOnPlatform) {
  FakeFreshdesk http;
  EXPECT_EQ(RegisteredPlatforms(), (std::vector<std::string>{"freshdesk", "zendesk"}));
  auto source = ::deskpipe::CreateSource(TestConfig(), http);
  ASSERT_TRUE(source) << source.error().ToString();
  EXPECT_EQ((*source)->platform(), "freshdesk");

  Config config = TestConfig();
  config.platform = "helpscout";
  auto unknown = ::deskpipe::CreateSource(config, http);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.error().message().find("helpscout"), std::string::npos);
  EXPECT_NE(unknown.error().message().find("zendesk"), std::string::npos);  // the known ones are listed
}

}  // namespace
}  // namespace deskpipe::freshdesk
