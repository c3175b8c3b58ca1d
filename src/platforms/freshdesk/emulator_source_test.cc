// The Freshdesk source against the emulator (tools/freshdesk-emulator, in-process on a loopback port, real
// HTTP through libcurl): after a full sync and after a timeline of changes, what the source emitted equals the
// emulator's /_emulator/truth; a no-change resync makes no per-ticket calls (counted by /_emulator/stats);
// thousands of tickets bulk-edited in one second all arrive exactly once.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/time.h"
#include "generator.h"
#include "net/http_client.h"
#include "platforms/freshdesk/fake_freshdesk.h"
#include "platforms/freshdesk/freshdesk_source.h"
#include "server.h"

namespace deskpipe::freshdesk {
namespace {

using nlohmann::json;
using testing::MemoryKnownRecords;

const int64_t kNow = *ParseTimestamp("2026-11-01T00:00:00Z");
// A shortened rate-limit "minute" on both sides: the client still paces the list sub-limits of API.md §4, just
// over a one-second window.
constexpr std::chrono::milliseconds kWindow{1000};

class Emulator {
 public:
  // The budget is raised far above any plan: the client's governor honours X-RateLimit-Total, and these tests
  // are about completeness, not pacing.
  Emulator(int tickets, bool full) : http_(net::MakeCurlHttpClient()) {
    auto desk = emulator::GenerateHelpdesk({.seed = 11, .tickets = tickets, .now = kNow, .full = full});
    EXPECT_TRUE(desk) << desk.error().ToString();
    server_ = std::make_unique<emulator::EmulatorServer>(std::make_shared<const emulator::Helpdesk>(std::move(*desk)),
                                                         emulator::ServerOptions{.api_key = "emu-key", .rate_limit_total = 1'000'000,
                                                                                 .rate_limit_window = kWindow});
    Status started = server_->Start();
    EXPECT_TRUE(started.ok()) << started.ToString();
  }

  json Control(const std::string& method, const std::string& path, const std::string& body = "") {
    net::HttpRequest request;
    request.method = method;
    request.url = server_->base_url() + path;
    request.body = body;
    if (method == "POST") request.headers.push_back({"Content-Type", "application/json"});
    auto response = http_->Send(request);
    EXPECT_TRUE(response && response->status == 200)
        << path << ": " << (response ? std::to_string(response->status) + " " + response->body : response.error().ToString());
    return response && response->status == 200 ? json::parse(response->body) : json();
  }
  int64_t Requests(const json& stats, const std::string& endpoint) {
    auto it = stats["endpoints"].find(endpoint);
    return it == stats["endpoints"].end() ? 0 : (*it)["requests"].get<int64_t>();
  }

  Config MakeConfig(int batch_size = 100) const {
    Config config;
    config.tenant_id = "acme";
    config.components.Set("freshdesk_base_url", std::string(server_->base_url()));
    config.components.Set("freshdesk_api_key", std::string("emu-key"), /*secret=*/true);
    config.collection_batch_size = batch_size;
    return config;
  }
  net::HttpClient& http() { return *http_; }

 private:
  std::unique_ptr<net::HttpClient> http_;
  std::unique_ptr<emulator::EmulatorServer> server_;
};

struct Sync {
  std::map<std::string, json> cursors;
  MemoryKnownRecords known;
  std::map<std::string, int> emitted;
  std::map<std::string, Record> last;  // tickets and articles: the last version emitted

  void Run(FreshdeskSource& source, const std::vector<std::string>& streams) {
    source.AttachKnownRecords(&known);
    for (const auto& stream : streams) {
      for (int i = 0; i < 100000; ++i) {
        auto batch = source.Next(stream, cursors[stream]);
        ASSERT_TRUE(batch) << stream << ": " << batch.error().ToString();
        EXPECT_TRUE(batch->rejected.empty()) << stream << ": " << batch->rejected.front().first << " "
                                             << batch->rejected.front().second.ToString();
        for (const auto& r : batch->records) {
          ++emitted[r.id];
          if (r.type == "ticket" || r.type == "article" || r.type == "article_draft") last[r.id] = r;
        }
        known.Apply(*batch);
        if (!batch->cursor.is_null()) cursors[stream] = batch->cursor;  // as the store: null leaves it as is
        if (batch->done) break;
      }
    }
  }
};

std::unique_ptr<FreshdeskSource> MakeSource(Emulator& emulator, const Config& config, int64_t* now) {
  FreshdeskSourceOptions options;
  options.reconcile_interval = std::chrono::seconds(3600);
  options.now_unix = [now] { return *now; };
  FreshdeskClientOptions client_options;
  client_options.rate_window = kWindow;
  auto source = FreshdeskSource::Create(config, emulator.http(), client_options, options);
  EXPECT_TRUE(source) << source.error().ToString();
  return source ? std::move(*source) : nullptr;
}

std::string TicketId(int64_t id) { return "acme_freshdesk_" + std::to_string(id); }

// Compares what the source emitted (as the store would hold it) with the emulator's truth. `known_archived`
// are the archived tickets a sync can know of (archived ones are in no list, API.md §6.4).
void ExpectMatchesTruth(const json& truth, const Sync& sync) {
  std::map<std::string, std::string> expected_tickets;  // id → state
  std::set<std::string> expected_conversations;
  for (const auto& t : truth["tickets"]) {
    const std::string id = TicketId(t["id"].get<int64_t>());
    const bool archived = t.value("archived", false);
    if (archived && !sync.known.records.count(id)) continue;  // never listed, never known: not findable
    expected_tickets[id] = archived ? "archived" : t.value("deleted", false) ? "deleted"
                                                   : t.value("spam", false)  ? "spam"
                                                                             : "active";
    if (!archived && !t.value("deleted", false) && !t.value("spam", false)) {
      for (const auto& c : t["conversations"]) {
        expected_conversations.insert("acme_freshdesk_conversation-" + std::to_string(c["id"].get<int64_t>()));
      }
    }
  }
  std::map<std::string, std::string> stored_tickets;
  std::set<std::string> stored_conversations;
  for (const auto& [id, r] : sync.known.records) {
    if (id.find("conversation-") != std::string::npos) {
      auto parent = sync.known.records.find(r.parent_id);
      if (parent != sync.known.records.end() && parent->second.state == "active") stored_conversations.insert(id);
    } else if (id.find('-') == std::string::npos) {
      stored_tickets[id] = r.state;
    }
  }
  EXPECT_EQ(stored_tickets, expected_tickets);
  EXPECT_EQ(stored_conversations, expected_conversations);
  for (const auto& t : truth["tickets"]) {
    auto it = sync.last.find(TicketId(t["id"].get<int64_t>()));
    if (it != sync.last.end() && expected_tickets.count(it->first)) {
      EXPECT_EQ(it->second.title, t["subject"].get<std::string>()) << it->first;
    }
  }

  std::set<std::string> expected_articles;
  auto add = [&](const json& a, const std::string& suffix) {
    const bool draft = a["status"] == 1;
    expected_articles.insert(std::string("acme_freshdesk_") + (draft ? "article_draft-" : "article-") +
                             std::to_string(a["id"].get<int64_t>()) + suffix);
  };
  for (const auto& a : truth["articles"]) {
    add(a, "");
    for (const auto& [language, translation] : a["translations"].items()) add(translation, "-" + language);
  }
  std::set<std::string> stored_articles;
  for (const auto& [id, r] : sync.known.records) {
    if (id.find("_article-") != std::string::npos || id.find("_article_draft-") != std::string::npos) {
      stored_articles.insert(id);
    }
  }
  EXPECT_EQ(stored_articles, expected_articles);
}

TEST(EmulatorSourceTest, FullHelpdeskThroughATimelineMatchesTruth) {
  Emulator emulator(160, /*full=*/true);
  int64_t now = kNow;
  Sync sync;
  auto source = MakeSource(emulator, emulator.MakeConfig(), &now);
  ASSERT_NE(source, nullptr);
  const std::vector<std::string> streams = source->Streams();
  sync.Run(*source, streams);
  if (HasFatalFailure()) return;
  json truth = emulator.Control("GET", "/_emulator/truth");
  ExpectMatchesTruth(truth, sync);

  // A no-change resync from a new process: list calls only.
  json before = emulator.Control("GET", "/_emulator/stats");
  auto again = MakeSource(emulator, emulator.MakeConfig(), &now);
  const int emitted_before = static_cast<int>(sync.emitted.size());
  std::map<std::string, int> counts_before = sync.emitted;
  sync.Run(*again, streams);
  json after = emulator.Control("GET", "/_emulator/stats");
  for (const char* endpoint : {"GET /api/v2/tickets/{id}", "GET /api/v2/tickets/{id}/conversations",
                               "GET /api/v2/tickets/archived/{id}"}) {
    EXPECT_EQ(emulator.Requests(after, endpoint), emulator.Requests(before, endpoint)) << endpoint;
  }
  EXPECT_EQ(static_cast<int>(sync.emitted.size()), emitted_before);
  for (const auto& [id, n] : sync.emitted) {
    if (id.find('-') == std::string::npos || id.find("conversation-") != std::string::npos) {
      EXPECT_EQ(n, counts_before[id]) << id << " re-read without a change";
    }
  }

  // A timeline of changes on tickets that are active now.
  std::vector<int64_t> active;
  int64_t closed = 0;
  for (const auto& t : truth["tickets"]) {
    if (t.value("archived", false) || t.value("deleted", false) || t.value("spam", false)) continue;
    if (t["status"] == 5 && closed == 0) {
      closed = t["id"].get<int64_t>();
      continue;
    }
    active.push_back(t["id"].get<int64_t>());
  }
  ASSERT_GE(active.size(), 30u);
  ASSERT_NE(closed, 0);
  int64_t edited_article = truth["articles"][0]["id"].get<int64_t>();
  int64_t deleted_article = truth["articles"][1]["id"].get<int64_t>();
  json step = {{"name", "changes"},
               {"advance_seconds", 60},
               {"actions",
                json::array({{{"op", "bulk_edit"}, {"ids", std::vector<int64_t>(active.begin(), active.begin() + 20)},
                              {"subject", "bulk edited"}},
                             {{"op", "add_conversation"}, {"ticket", active[20]}, {"kind", "customer_reply"},
                              {"body", "<p>one more question</p>"}},
                             {{"op", "trash"}, {"ids", {active[21]}}},
                             {{"op", "spam"}, {"ids", {active[22]}}},
                             {{"op", "hard_delete"}, {"ids", {active[23]}}},
                             {{"op", "archive"}, {"ids", {closed}}},
                             {{"op", "kb_edit"}, {"article", edited_article}, {"title", "Edited title"},
                              {"body", "<p>edited body</p>"}},
                             {{"op", "kb_delete"}, {"article", deleted_article}}})}};
  emulator.Control("POST", "/_emulator/timeline/apply", step.dump());
  now += 2 * 3600;  // the reconciliation sweep is due
  auto third = MakeSource(emulator, emulator.MakeConfig(), &now);
  sync.Run(*third, streams);
  json changed = emulator.Control("GET", "/_emulator/truth");
  ExpectMatchesTruth(changed, sync);
  EXPECT_EQ(sync.known.records.count(TicketId(active[23])), 0u) << "hard delete tombstoned";
  EXPECT_EQ(sync.known.records.at(TicketId(closed)).state, "archived");
  EXPECT_EQ(sync.last.at("acme_freshdesk_article-" + std::to_string(edited_article)).title, "Edited title");
  EXPECT_EQ(sync.last.at(TicketId(active[0])).title, "bulk edited");
}

// retry-failed's Refetch: one record read again, by any id a dead letter may carry.
// The tickets count (for progress totals) is the emulator's search total (API.md §6.5): on a first run exactly
// the tickets the tickets stream then reads (the full helpdesk's spam, trashed and archived ones in neither);
// from the saved cursor, the listable tickets updated on or after the day it resumes from.
TEST(EmulatorSourceTest, TicketsCountIsTheSearchTotalFromTheCursorsDay) {
  Emulator emulator(240, /*full=*/true);
  int64_t now = kNow;
  auto source = MakeSource(emulator, emulator.MakeConfig(), &now);
  ASSERT_NE(source, nullptr);
  auto counted = source->CountRemaining("tickets", nullptr);
  ASSERT_TRUE(counted) << counted.error().ToString();
  ASSERT_TRUE(counted->has_value());
  Sync sync;
  sync.Run(*source, {"tickets"});
  if (HasFatalFailure()) return;
  int read = 0;
  for (const auto& [id, n] : sync.emitted) read += id.find('-') == std::string::npos ? 1 : 0;
  EXPECT_EQ(**counted, read);

  const json& cursor = sync.cursors["tickets"];
  int64_t resume = *ParseTimestamp(cursor["window_start"].get<std::string>());
  if (cursor.contains("max_updated_at")) {
    resume = std::max(resume, *ParseTimestamp(cursor["max_updated_at"].get<std::string>()));
  }
  const int64_t day = resume - resume % 86400;
  const json truth = emulator.Control("GET", "/_emulator/truth");
  int expected = 0;
  int listable = 0;
  for (const auto& t : truth["tickets"]) {
    if (t.value("archived", false) || t.value("deleted", false) || t.value("spam", false)) continue;
    ++listable;
    if (*ParseTimestamp(t["updated_at"].get<std::string>()) >= day) ++expected;
  }
  EXPECT_EQ(read, listable);
  EXPECT_LT(listable, static_cast<int>(truth["tickets"].size())) << "the full helpdesk has unlisted tickets";
  auto resumed = source->CountRemaining("tickets", cursor);
  ASSERT_TRUE(resumed) << resumed.error().ToString();
  EXPECT_EQ(*resumed, std::optional<int64_t>(expected));
  EXPECT_GE(expected, 1) << "the last ticket read was updated on the cursor's day";
  EXPECT_LT(expected, listable);
}

TEST(EmulatorSourceTest, RefetchReadsOneRecordAgain) {
  Emulator emulator(60, /*full=*/true);
  int64_t now = kNow;
  auto source = MakeSource(emulator, emulator.MakeConfig(), &now);
  ASSERT_NE(source, nullptr);
  json truth = emulator.Control("GET", "/_emulator/truth");
  const json* active = nullptr;
  const json* archived = nullptr;
  const json* trashed = nullptr;
  for (const auto& t : truth["tickets"]) {
    if (t.value("archived", false)) {
      if (!archived) archived = &t;
    } else if (t.value("deleted", false)) {
      if (!trashed) trashed = &t;
    } else if (!t.value("spam", false) && !t["conversations"].empty() && !active) {
      active = &t;
    }
  }
  ASSERT_TRUE(active && archived);
  const int64_t id = (*active)["id"].get<int64_t>();
  std::set<std::string> expected_thread = {TicketId(id)};
  for (const auto& c : (*active)["conversations"]) {
    expected_thread.insert("acme_freshdesk_conversation-" + std::to_string(c["id"].get<int64_t>()));
  }
  for (const std::string& letter :
       {TicketId(id), "ticket " + std::to_string(id), TicketId(id) + " conversations",
        TicketId(id) + "/attachment-67009900001"}) {
    auto batch = source->Refetch("tickets", letter);
    ASSERT_TRUE(batch) << letter << ": " << batch.error().ToString();
    std::set<std::string> ids;
    for (const auto& r : batch->records) ids.insert(r.id);
    EXPECT_EQ(ids, expected_thread) << letter;
    EXPECT_TRUE(batch->done);
    EXPECT_TRUE(batch->cursor.is_null());
    EXPECT_EQ(batch->records.front().title, (*active)["subject"].get<std::string>());
    EXPECT_EQ(batch->records.front().metadata.value("state", ""), "active");
  }
  // An archived ticket comes from the archive; a trashed one keeps its state.
  auto from_archive = source->Refetch("tickets_reconcile", TicketId((*archived)["id"].get<int64_t>()));
  ASSERT_TRUE(from_archive) << from_archive.error().ToString();
  EXPECT_EQ(from_archive->records.front().metadata.value("state", ""), "archived");
  if (trashed) {
    auto in_trash = source->Refetch("tickets_deleted", TicketId((*trashed)["id"].get<int64_t>()));
    ASSERT_TRUE(in_trash) << in_trash.error().ToString();
    EXPECT_EQ(in_trash->records.front().metadata.value("state", ""), "deleted");
  }
  // A hard-deleted ticket is NotFound (retry-failed counts it gone).
  ASSERT_FALSE(truth["purged_ticket_ids"].empty());
  auto purged = source->Refetch("tickets", TicketId(truth["purged_ticket_ids"][0].get<int64_t>()));
  ASSERT_FALSE(purged);
  EXPECT_EQ(purged.error().code(), StatusCode::kNotFound);

  // Articles in the primary language and in a translation, with their titles.
  const json* translated = nullptr;
  for (const auto& a : truth["articles"]) {
    if (a["status"] == 2 && a.contains("translations") && a["translations"].contains("fr") &&
        a["translations"]["fr"]["status"] == 2) {
      translated = &a;
      break;
    }
  }
  ASSERT_TRUE(translated);
  const std::string article = std::to_string((*translated)["id"].get<int64_t>());
  auto primary = source->Refetch("solutions", "acme_freshdesk_article-" + article);
  ASSERT_TRUE(primary) << primary.error().ToString();
  ASSERT_EQ(primary->records.size(), 1u);
  EXPECT_EQ(primary->records[0].id, "acme_freshdesk_article-" + article);
  EXPECT_EQ(primary->records[0].title, (*translated)["title"].get<std::string>());
  auto french = source->Refetch("solutions", "acme_freshdesk_article-" + article + "-fr");
  ASSERT_TRUE(french) << french.error().ToString();
  ASSERT_EQ(french->records.size(), 1u);
  EXPECT_EQ(french->records[0].id, "acme_freshdesk_article-" + article + "-fr");
  EXPECT_EQ(french->records[0].title, (*translated)["translations"]["fr"]["title"].get<std::string>());
  auto by_label = source->Refetch("solutions", "article " + article);
  ASSERT_TRUE(by_label) << by_label.error().ToString();
  EXPECT_EQ(by_label->records.at(0).id, "acme_freshdesk_article-" + article);

  // A contact and a company.
  const std::string contact = std::to_string(truth["contacts"][0]["id"].get<int64_t>());
  auto contact_batch = source->Refetch("contacts", "acme_freshdesk_contact-" + contact);
  ASSERT_TRUE(contact_batch) << contact_batch.error().ToString();
  EXPECT_EQ(contact_batch->records.at(0).id, "acme_freshdesk_contact-" + contact);
  const std::string company = std::to_string(truth["companies"][0]["id"].get<int64_t>());
  auto company_batch = source->Refetch("companies", "company " + company);
  ASSERT_TRUE(company_batch) << company_batch.error().ToString();
  EXPECT_EQ(company_batch->records.at(0).title, truth["companies"][0]["name"].get<std::string>());

  // A conversation has no endpoint of its own: its letter (its attachment's, its mapping failure's) is read with
  // its ticket's whole thread, the ticket found through the stored conversation.
  const std::string conversation =
      "acme_freshdesk_conversation-" + std::to_string((*active)["conversations"][0]["id"].get<int64_t>());
  MemoryKnownRecords known;
  known.records[conversation] = KnownRecord{conversation, "", "", TicketId(id)};
  source->AttachKnownRecords(&known);
  for (const std::string& letter :
       {conversation, conversation + "/attachment-67009900001",
        "conversation " + conversation.substr(conversation.rfind('-') + 1)}) {
    auto batch = source->Refetch("tickets", letter);
    ASSERT_TRUE(batch) << letter << ": " << batch.error().ToString();
    std::set<std::string> ids;
    for (const auto& r : batch->records) ids.insert(r.id);
    EXPECT_EQ(ids, expected_thread) << letter;
    EXPECT_TRUE(batch->removed_ids.empty()) << letter;
  }
  // One deleted from its thread comes back as removed; one whose ticket was hard-deleted is NotFound; one the
  // store does not know cannot be re-read.
  const std::string deleted = "acme_freshdesk_conversation-999";
  known.records[deleted] = KnownRecord{deleted, "", "", TicketId(id)};
  auto without = source->Refetch("tickets", deleted);
  ASSERT_TRUE(without) << without.error().ToString();
  EXPECT_EQ(without->removed_ids, std::vector<std::string>{deleted});
  known.records[deleted].parent_id = TicketId(truth["purged_ticket_ids"][0].get<int64_t>());
  auto orphan = source->Refetch("tickets", deleted);
  ASSERT_FALSE(orphan);
  EXPECT_EQ(orphan.error().code(), StatusCode::kNotFound) << orphan.error().ToString();
  known.records.erase(deleted);
  auto unknown = source->Refetch("tickets", deleted);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), StatusCode::kInvalidRecord) << unknown.error().ToString();
  source->AttachKnownRecords(nullptr);

  // What cannot be re-read, or is not an id at all: InvalidRecord (retry-failed leaves the letter as it was).
  // Without the stored records, a conversation's ticket is not known.
  for (const std::string& letter :
       {std::string("acme_freshdesk_conversation-1"), std::string("acme_freshdesk_agent-3"),
        std::string("globex_freshdesk_5"), std::string("ticket five"), std::string("")}) {
    auto refused = source->Refetch("tickets", letter);
    ASSERT_FALSE(refused) << letter;
    EXPECT_EQ(refused.error().code(), StatusCode::kInvalidRecord) << letter;
  }
}

TEST(EmulatorSourceTest, TwoThousandTicketsBulkEditedInOneSecondArriveExactlyOnce) {
  Emulator emulator(2000, /*full=*/false);
  int64_t now = kNow;
  Sync sync;
  // 5 per page: a window holds 1,500 tickets (300 pages), so 2,000 in one second need the split. (The 50,000
  // case runs against the in-memory fake in freshdesk_source_test.)
  auto source = MakeSource(emulator, emulator.MakeConfig(5), &now);
  ASSERT_NE(source, nullptr);
  sync.Run(*source, {"tickets"});
  if (HasFatalFailure()) return;
  ASSERT_EQ(sync.emitted.size() - sync.known.IdsOfType("conversation").size(), 2000u);
  for (int64_t id = 1; id <= 2000; ++id) ASSERT_EQ(sync.emitted[TicketId(id)], 1) << id;

  json step = {{"name", "automation"},
               {"advance_seconds", 60},
               {"actions", json::array({{{"op", "bulk_edit"}, {"range", {1, 2000}}, {"add_tag", "migrated"}}})}};
  emulator.Control("POST", "/_emulator/timeline/apply", step.dump());
  auto again = MakeSource(emulator, emulator.MakeConfig(5), &now);
  sync.Run(*again, {"tickets"});
  for (int64_t id = 1; id <= 2000; ++id) ASSERT_EQ(sync.emitted[TicketId(id)], 2) << "ticket " << id;
  EXPECT_TRUE(sync.cursors["tickets"].contains("window_start"));
}

}  // namespace
}  // namespace deskpipe::freshdesk
