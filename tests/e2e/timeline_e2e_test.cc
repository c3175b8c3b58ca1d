// Issue 4, point 10, in a real sync: the emulator binary (started with --timeline) changes its helpdesk step
// by step — updates, new conversations, an edited note, trash, spam, restore, hard delete, archive, a new
// ticket, KB edits, an unpublished and a deleted article — and after every step a sync (app::App::Sync: the real
// runner, the Freshdesk source with the store's KnownRecords attached, the SQLite store) must leave the store
// holding exactly what /_emulator/truth says: ticket ids, states, subjects and descriptions, each active
// ticket's conversation ids with their bodies, article ids (drafts apart) with their titles, and the new text
// in the search chunks. Then `retry-failed` re-reads dead letters through FreshdeskSource::Refetch. Runs in
// well under a minute.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "app/app.h"
#include "cli/emulator_process.h"
#include "core/config.h"
#include "net/http_client.h"
#include "pipeline/retry_failed.h"
#include "pipeline/runner.h"
#include "store/sqlite_store.h"

namespace deskpipe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kApiKey[] = "timeline-key";
// The emulator's fixed data: seed, size and clock (so a restart serves the same helpdesk).
const std::vector<std::string> kDataArgs = {
    "--seed",    "7",     "--tickets",        "40", "--full", "--now", "2026-11-01T00:00:00Z",
    "--api-key", kApiKey, "--minute-seconds", "2"};

std::string TicketId(int64_t id) { return "acme_freshdesk_" + std::to_string(id); }
std::string ConversationId(int64_t id) { return "acme_freshdesk_conversation-" + std::to_string(id); }

// What the SQLite store holds for tenant acme.
struct Stored {
  std::map<std::string, std::pair<std::string, std::string>> tickets;  // document id → (state, title)
  std::map<std::string, json> ticket_raw;                              // tickets table: id → raw payload
  std::map<std::string, std::pair<std::string, json>> conversations;   // id → (parent id, raw payload)
  std::map<std::string, std::string> articles;                         // id → title (articles and drafts)
  std::map<std::string, std::string> chunk_text;                       // document id → its chunks' text
};

class TimelineE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("deskpipe_timeline_e2e_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    http_ = net::MakeCurlHttpClient();
  }
  void TearDown() override {
    emulator_.reset();
    fs::remove_all(dir_);
  }

  void StartEmulator(const std::vector<std::string>& extra) {
    emulator_.reset();
    std::vector<std::string> args = kDataArgs;
    args.insert(args.end(), extra.begin(), extra.end());
    auto started = cli::EmulatorProcess::Start(EMULATOR_BIN, args);
    ASSERT_TRUE(started.has_value()) << started.error().ToString();
    emulator_ = std::make_unique<cli::EmulatorProcess>(std::move(*started));
  }

  json Control(const std::string& method, const std::string& path) {
    net::HttpRequest request;
    request.method = method;
    request.url = emulator_->base_url() + path;
    if (method == "POST") request.headers.push_back({"Content-Length", "0"});
    auto response = http_->Send(request);
    EXPECT_TRUE(response && response->status == 200)
        << path << ": "
        << (response ? std::to_string(response->status) + " " + response->body : response.error().ToString());
    return response && response->status == 200 ? json::parse(response->body) : json();
  }

  Config MakeConfig() const {
    Config config;
    config.tenant_id = "acme";
    config.components.Set("freshdesk_base_url", std::string(emulator_->base_url()));
    config.components.Set("freshdesk_api_key", std::string(kApiKey), /*secret=*/true);
    config.data_dir = (dir_ / "data").string();
    config.embedder = "hashing";
    config.components.Set("reconcile_interval", 0);  // every sync after the first sweeps the stored tickets
    config.full_streaming_mode = vector_only_;
    config.components.Set("attachment_max_bytes", 0);  // attachments are not this test's subject
    return config;
  }

  void Sync() {
    RunnerOptions options;
    options.extract_attachments = false;
    auto summary = app::App(MakeConfig()).Sync(options);
    ASSERT_TRUE(summary.has_value()) << summary.error().ToString();
    EXPECT_EQ(summary->dead_letters, 0) << summary->ToJson().dump();
  }

  Stored ReadStore() {
    Stored stored;
    StoreOptions options;
    options.url = MakeConfig().EffectiveStoreUrl();
    options.data_dir = (dir_ / "data").string();
    auto store = SqliteStore::Open(options.url.substr(std::string("sqlite://").size()), options);
    EXPECT_TRUE(store.has_value()) << store.error().ToString();
    if (!store) return stored;
    auto rows = [&](const std::string& sql, auto&& each) {
      auto stmt = (*store)->db().Prepare(sql);
      ASSERT_TRUE(stmt.has_value()) << sql;
      while (true) {
        auto row = (*stmt)->Step();
        ASSERT_TRUE(row.has_value()) << sql;
        if (!*row) break;
        each(**stmt);
      }
    };
    rows("SELECT id, state, title FROM documents WHERE tenant_id = 'acme' AND type = 'ticket'",
         [&](sqlite::Statement& s) {
           stored.tickets[s.ColumnText(0)] = {s.ColumnText(1), s.ColumnText(2)};
         });
    rows("SELECT id, raw FROM tickets WHERE tenant_id = 'acme'",
         [&](sqlite::Statement& s) { stored.ticket_raw[s.ColumnText(0)] = json::parse(s.ColumnText(1)); });
    rows("SELECT id, parent_id, raw FROM conversations WHERE tenant_id = 'acme'", [&](sqlite::Statement& s) {
      stored.conversations[s.ColumnText(0)] = {s.ColumnText(1), json::parse(s.ColumnText(2))};
    });
    rows(
        "SELECT id, title FROM documents WHERE tenant_id = 'acme' AND type = 'article' UNION ALL "
        "SELECT id, title FROM records WHERE tenant_id = 'acme' AND type = 'article_draft'",
        [&](sqlite::Statement& s) { stored.articles[s.ColumnText(0)] = s.ColumnText(1); });
    rows("SELECT document_id, text FROM chunks WHERE tenant_id = 'acme' ORDER BY document_id, chunk_index",
         [&](sqlite::Statement& s) { stored.chunk_text[s.ColumnText(0)] += s.ColumnText(1) + "\n"; });
    return stored;
  }

  // Compares the store with the emulator's truth. `ever_listed`: tickets a sync could have seen outside the
  // archive (archived tickets are in no list: only those archived after a sync saw them can be known).
  void ExpectStoreEqualsTruth(const json& truth, const std::set<int64_t>& ever_listed,
                              const std::string& step) {
    SCOPED_TRACE("after step " + step);
    Stored stored = ReadStore();
    std::map<std::string, std::pair<std::string, std::string>> expected_tickets;
    std::map<std::string, std::pair<std::string, json>> expected_conversations;
    for (const json& t : truth["tickets"]) {
      const int64_t number = t["id"].get<int64_t>();
      const bool archived = t.value("archived", false);
      if (archived && !ever_listed.count(number)) continue;
      const std::string id = TicketId(number);
      const std::string state = archived                    ? "archived"
                                : t.value("deleted", false) ? "deleted"
                                : t.value("spam", false)    ? "spam"
                                                            : "active";
      expected_tickets[id] = {state, t["subject"].get<std::string>()};
      if (vector_only_) continue;  // no record tables: the documents are compared
      auto raw = stored.ticket_raw.find(id);
      if (raw == stored.ticket_raw.end()) {
        ADD_FAILURE() << id << " has no row in the tickets table";
        continue;
      }
      EXPECT_EQ(raw->second.value("subject", json()), t["subject"]) << id;
      EXPECT_EQ(raw->second.value("description_text", json()), t["description_text"]) << id;
      EXPECT_EQ(raw->second.value("updated_at", json()), t["updated_at"]) << id;
      if (state != "active")
        continue;  // a trashed or spam ticket's thread is not compared (403 on Freshdesk)
      for (const json& c : t["conversations"])
        expected_conversations[ConversationId(c["id"].get<int64_t>())] = {id, c};
    }
    EXPECT_EQ(stored.tickets, expected_tickets);
    if (vector_only_) {
      EXPECT_TRUE(stored.ticket_raw.empty() && stored.conversations.empty())
          << "vector-only keeps no records";
    } else {
      EXPECT_EQ(stored.ticket_raw.size(), expected_tickets.size());
    }

    // Conversations of active tickets: exactly truth's, with their bodies; none left of tombstoned tickets.
    for (const auto& [id, parent_raw] : stored.conversations) {
      const auto& [parent, raw] = parent_raw;
      EXPECT_TRUE(stored.tickets.count(parent)) << id << " outlived its ticket " << parent;
      auto ticket = stored.tickets.find(parent);
      if (ticket == stored.tickets.end() || ticket->second.first != "active") continue;
      auto expected = expected_conversations.find(id);
      if (expected == expected_conversations.end()) {
        ADD_FAILURE() << id << " (ticket " << parent << ") is stored but no longer in Freshdesk";
        continue;
      }
      EXPECT_EQ(parent, expected->second.first) << id;
      EXPECT_EQ(raw.value("body", json()), expected->second.second["body"]) << id;
      EXPECT_EQ(raw.value("updated_at", json()), expected->second.second["updated_at"]) << id;
    }
    for (const auto& [id, expected] : expected_conversations) {
      EXPECT_TRUE(stored.conversations.count(id)) << id << " of " << expected.first << " is missing";
    }

    // Articles (every language; drafts kept apart under their own ids, hybrid mode only) with their titles.
    std::map<std::string, std::string> expected_articles;
    auto add = [&](const json& a, const std::string& suffix) {
      const bool draft = a["status"] == 1;
      if (draft && vector_only_) return;  // drafts are records, not documents: vector-only mode keeps none
      expected_articles[std::string("acme_freshdesk_") + (draft ? "article_draft-" : "article-") +
                        std::to_string(a["id"].get<int64_t>()) + suffix] = a["title"].get<std::string>();
    };
    for (const json& a : truth["articles"]) {
      add(a, "");
      if (a.contains("translations")) {
        for (const auto& [language, translation] : a["translations"].items())
          add(translation, "-" + language);
      }
    }
    EXPECT_EQ(stored.articles, expected_articles);

    // Every stored ticket and article is searchable; nothing else has chunks.
    for (const auto& [id, state_title] : stored.tickets) {
      EXPECT_TRUE(stored.chunk_text.count(id)) << id << " has no chunks";
    }
    for (const auto& [id, text] : stored.chunk_text) {
      EXPECT_TRUE(stored.tickets.count(id) || stored.articles.count(id)) << "chunks of removed " << id;
    }
    last_ = std::move(stored);
  }

  // The timeline, step by step, each followed by a sync and the comparison; then retry-failed.
  void RunTimeline();

  fs::path dir_;
  std::unique_ptr<net::HttpClient> http_;
  std::unique_ptr<cli::EmulatorProcess> emulator_;
  Stored last_;
  bool vector_only_ = false;  // ENABLE_FULL_STREAMING_MODE with minimal SQL: documents and chunks only
};

TEST_F(TimelineE2eTest, AfterEveryTimelineStepTheStoreEqualsTruth) { RunTimeline(); }

// Vector-only mode: the store keeps no record tables, so the source's known records are the documents
// (states, updated_at from their metadata); the reconciliation sweep and KB tombstones must work from those
// alone.
TEST_F(TimelineE2eTest, VectorOnlyModeAfterEveryTimelineStepTheDocumentsEqualTruth) {
  vector_only_ = true;
  RunTimeline();
}

void TimelineE2eTest::RunTimeline() {
  // Pick the timeline's subjects from the generated helpdesk, then serve the same helpdesk with the timeline.
  StartEmulator({});
  if (HasFatalFailure()) return;
  const json initial = Control("GET", "/_emulator/truth");
  ASSERT_TRUE(initial.is_object());
  std::vector<int64_t> active;
  int64_t closed = 0;
  int64_t note = 0, note_ticket = 0;
  for (const json& t : initial["tickets"]) {
    if (t.value("archived", false) || t.value("deleted", false) || t.value("spam", false)) continue;
    const int64_t id = t["id"].get<int64_t>();
    if (t["status"] == 5) {
      if (closed == 0) closed = id;
      continue;
    }
    active.push_back(id);
  }
  ASSERT_GE(active.size(), 9u);
  ASSERT_NE(closed, 0);
  for (size_t i = 7; i < active.size() && note == 0;
       ++i) {  // a private note on a ticket no other step touches
    for (const json& t : initial["tickets"]) {
      if (t["id"] != active[i]) continue;
      for (const json& c : t["conversations"]) {
        if (c.value("private", false)) {
          note = c["id"].get<int64_t>();
          note_ticket = active[i];
          break;
        }
      }
    }
  }
  ASSERT_NE(note, 0);
  std::vector<int64_t> published;
  for (const json& a : initial["articles"]) {
    if (a["status"] == 2) published.push_back(a["id"].get<int64_t>());
  }
  ASSERT_GE(published.size(), 3u);

  const json timeline = {
      {"steps", json::array({
                    {{"name", "updates"},
                     {"actions", json::array({{{"op", "update_ticket"},
                                               {"ids", {active[0], active[1]}},
                                               {"subject", "Timeline: renamed subject"},
                                               {"status", 3}}})}},
                    {{"name", "new conversations"},
                     {"actions", json::array({{{"op", "add_conversation"},
                                               {"ticket", active[2]},
                                               {"kind", "agent_reply"},
                                               {"body", "<p>Agent says quokkamarker alpha</p>"}},
                                              {{"op", "add_conversation"},
                                               {"ticket", active[3]},
                                               {"kind", "private_note"},
                                               {"body", "<p>Internal note quokkamarker beta</p>"}}})}},
                    {{"name", "edit a note"},
                     {"actions", json::array({{{"op", "edit_note"},
                                               {"conversation", note},
                                               {"body", "<p>Edited note quokkamarker gamma</p>"},
                                               {"bump_ticket", true}}})}},
                    {{"name", "trash"}, {"actions", json::array({{{"op", "trash"}, {"ids", {active[4]}}}})}},
                    {{"name", "spam"}, {"actions", json::array({{{"op", "spam"}, {"ids", {active[5]}}}})}},
                    {{"name", "restore"},
                     {"actions", json::array({{{"op", "restore"}, {"ids", {active[4], active[5]}}}})}},
                    {{"name", "hard delete"},
                     {"actions", json::array({{{"op", "hard_delete"}, {"ids", {active[6]}}}})}},
                    {{"name", "archive"}, {"actions", json::array({{{"op", "archive"}, {"ids", {closed}}}})}},
                    {{"name", "new ticket"},
                     {"actions", json::array({{{"op", "create_ticket"},
                                               {"subject", "Timeline: a brand new ticket"},
                                               {"description", "<p>Created quokkamarker delta</p>"}}})}},
                    {{"name", "knowledge base"},
                     {"actions", json::array({{{"op", "kb_edit"},
                                               {"article", published[0]},
                                               {"title", "Timeline: edited article"},
                                               {"body", "<p>Edited article quokkamarker epsilon</p>"}},
                                              {{"op", "kb_unpublish"}, {"article", published[1]}},
                                              {{"op", "kb_delete"}, {"article", published[2]}}})}},
                })}};
  const fs::path timeline_file = dir_ / "timeline.json";
  std::ofstream(timeline_file) << timeline.dump(1);
  StartEmulator({"--timeline", timeline_file.string()});
  if (HasFatalFailure()) return;

  std::set<int64_t> ever_listed;
  auto remember_listed = [&](const json& truth) {
    for (const json& t : truth["tickets"]) {
      if (!t.value("archived", false)) ever_listed.insert(t["id"].get<int64_t>());
    }
  };
  json truth = Control("GET", "/_emulator/truth");
  Sync();
  if (HasFatalFailure()) return;
  ExpectStoreEqualsTruth(truth, ever_listed, "initial sync");
  remember_listed(truth);

  // The marker each step leaves in a ticket's searchable text.
  const std::map<std::string, std::pair<std::string, std::string>> markers = {
      {"new conversations", {TicketId(active[2]), "quokkamarker alpha"}},
      {"edit a note", {TicketId(note_ticket), "quokkamarker gamma"}},
  };
  for (size_t step = 0; step < timeline["steps"].size(); ++step) {
    const json applied = Control("POST", "/_emulator/timeline/next");
    const std::string name = timeline["steps"][step]["name"];
    ASSERT_EQ(applied.value("name", std::string()), name);
    truth = Control("GET", "/_emulator/truth");
    Sync();
    if (HasFatalFailure()) return;
    ExpectStoreEqualsTruth(truth, ever_listed, name);
    remember_listed(truth);
    if (auto marker = markers.find(name); marker != markers.end()) {
      EXPECT_NE(last_.chunk_text[marker->second.first].find(marker->second.second), std::string::npos)
          << name << ": " << marker->second.first << " is not searchable by its new text";
    }
  }
  // The step-specific outcomes, spelled out (the truth comparison covers them; these name what broke).
  EXPECT_EQ(last_.tickets.at(TicketId(active[0])).second, "Timeline: renamed subject");
  EXPECT_EQ(last_.tickets.at(TicketId(active[4])).first, "active");  // trashed, then restored
  EXPECT_EQ(last_.tickets.at(TicketId(active[5])).first, "active");  // spam, then restored
  EXPECT_EQ(last_.tickets.count(TicketId(active[6])), 0u) << "hard delete tombstoned";
  EXPECT_EQ(last_.chunk_text.count(TicketId(active[6])), 0u) << "hard delete removed its chunks";
  EXPECT_EQ(last_.tickets.at(TicketId(closed)).first, "archived");
  EXPECT_EQ(last_.articles.count("acme_freshdesk_article-" + std::to_string(published[1])), 0u)
      << "unpublished";
  EXPECT_EQ(last_.articles.count("acme_freshdesk_article_draft-" + std::to_string(published[1])),
            vector_only_ ? 0u : 1u);
  EXPECT_EQ(last_.articles.count("acme_freshdesk_article-" + std::to_string(published[2])), 0u) << "deleted";
  EXPECT_NE(
      last_.chunk_text["acme_freshdesk_article-" + std::to_string(published[0])].find("quokkamarker epsilon"),
      std::string::npos);

  // retry-failed re-reads dead letters through FreshdeskSource::Refetch: a ticket goes through (resolved),
  // the hard-deleted one is gone, a conversation is re-read with its ticket's thread and goes through — where
  // the store keeps its row to say which ticket that is; a vector-only store keeps none, so there the letter
  // stays as it was, reported as not retryable.
  {
    StoreOptions options;
    options.url = MakeConfig().EffectiveStoreUrl();
    options.data_dir = (dir_ / "data").string();
    auto store = SqliteStore::Open(options.url.substr(std::string("sqlite://").size()), options);
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    BatchWrite letters;
    letters.tenant_id = "acme";
    letters.stream = "tickets";
    letters.dead_letters = {
        {"tickets", TicketId(active[0]), "transform", "InvalidRecord", "test: failed once"},
        {"tickets", TicketId(active[6]), "fetch", "Unavailable", "test: failed before it was deleted"},
        {"tickets", ConversationId(note), "transform", "InvalidRecord", "test: a conversation"},
    };
    ASSERT_TRUE((*store)->Commit(letters, "").has_value());
  }
  RunnerOptions options;
  options.extract_attachments = false;
  auto retried = app::App(MakeConfig()).RetryFailed(options);
  ASSERT_TRUE(retried.has_value()) << retried.error().ToString();
  EXPECT_EQ(retried->retried, 3);
  EXPECT_EQ(retried->resolved, vector_only_ ? 1 : 2);
  EXPECT_EQ(retried->gone, 1);
  EXPECT_EQ(retried->still_failing, 0);
  EXPECT_EQ(retried->not_retryable, vector_only_ ? 1 : 0) << retried->ToJson().dump();
  auto letters = app::App(MakeConfig()).DeadLetters();
  ASSERT_TRUE(letters.has_value()) << letters.error().ToString();
  if (vector_only_) {
    ASSERT_EQ(letters->size(), 1u);
    EXPECT_EQ(letters->front().letter.record_id, ConversationId(note));
    EXPECT_EQ(letters->front().letter.stage, "transform");
    EXPECT_EQ(letters->front().letter.message, "test: a conversation");
    EXPECT_EQ(letters->front().attempts, 1);
  } else {
    EXPECT_TRUE(letters->empty());
  }
  ExpectStoreEqualsTruth(Control("GET", "/_emulator/truth"), ever_listed, "retry-failed");
}

}  // namespace
}  // namespace deskpipe
