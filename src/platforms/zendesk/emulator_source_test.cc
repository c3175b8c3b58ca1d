// The Zendesk source against the emulator (tools/zendesk-emulator, in-process on a loopback port, real HTTP
// through libcurl): what a sync stored equals the emulator's /_emulator/truth after a full sync and after
// each change (new comments, updates, deletes, restores, scrubs, system updates, article edits, new
// translations, unpublish, publish, archive); the export's last minute
// arrives on the next poll; unchanged tickets' comments are not re-read.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/time.h"
#include "generator.h"
#include "net/http_client.h"
#include "platforms/zendesk/zendesk_source.h"
#include "server.h"

namespace deskpipe::zendesk {
namespace {

using nlohmann::json;

const int64_t kNow = *ParseTimestamp("2026-11-24T00:00:00Z");
// A shortened rate-limit "minute" on both sides, so the export sub-budget (10 calls a window) paces quickly.
constexpr std::chrono::milliseconds kWindow{1000};
constexpr char kEmail[] = "agent@brightline.example";
constexpr char kToken[] = "zd-source-token";

class Emulator {
 public:
  explicit Emulator(int tickets, double fault_rate = 0) : http_(net::MakeCurlHttpClient()) {
    auto account = zendesk_emulator::GenerateAccount({.seed = 9, .tickets = tickets, .now = kNow});
    EXPECT_TRUE(account) << account.error().ToString();
    zendesk_emulator::ServerOptions options;
    options.email = kEmail;
    options.api_token = kToken;
    options.rate_limit_window = kWindow;
    options.fault_rate = fault_rate;
    options.fault_classes =
        zendesk_emulator::kFault5xx | zendesk_emulator::kFaultSlow | zendesk_emulator::kFault429Storm;
    options.slow_ms = 200;
    server_ = std::make_unique<zendesk_emulator::EmulatorServer>(
        std::make_shared<const zendesk_emulator::Account>(std::move(*account)), options);
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
        << path << ": "
        << (response ? std::to_string(response->status) + " " + response->body : response.error().ToString());
    return response && response->status == 200 ? json::parse(response->body) : json();
  }
  // Applies a step and moves the clock past the export's excluded minute.
  void Step(const json& actions) {
    Control("POST", "/_emulator/timeline/apply", json{{"name", "step"}, {"actions", actions}}.dump());
    Control("POST", "/_emulator/clock/advance?seconds=61");
  }
  int64_t Requests(const std::string& endpoint) {
    json stats = Control("GET", "/_emulator/stats");
    auto it = stats["endpoints"].find(endpoint);
    return it == stats["endpoints"].end() ? 0 : (*it)["requests"].get<int64_t>();
  }

  Config MakeConfig(int batch_size = 50) const {
    Config config;
    config.tenant_id = "acme";
    config.components.Set("zendesk_base_url", std::string(server_->base_url()));
    config.components.Set("zendesk_email", std::string(kEmail));
    config.components.Set("zendesk_api_token", std::string(kToken), /*secret=*/true);
    config.collection_batch_size = batch_size;
    return config;
  }
  net::HttpClient& http() { return *http_; }

 private:
  std::unique_ptr<net::HttpClient> http_;
  std::unique_ptr<zendesk_emulator::EmulatorServer> server_;
};

// The store's view for the source, fed from committed batches (records keep their type, as the store does).
class MemoryKnownRecords : public KnownRecords {
 public:
  void Apply(const Batch& batch) {
    for (const auto& id : batch.removed_ids) records_.erase(id);
    for (const auto& r : batch.records) {
      records_[r.id] = {r.type, {r.id, r.updated_at, r.metadata.value("state", r.status), r.parent_id}};
    }
  }
  Result<std::vector<KnownRecord>> List(const std::string& type, const std::string& after_id,
                                        size_t limit) override {
    std::vector<KnownRecord> out;
    for (auto it = records_.upper_bound(after_id); it != records_.end() && out.size() < limit; ++it) {
      if (it->second.first == type) out.push_back(it->second.second);
    }
    return out;
  }
  Result<std::vector<KnownRecord>> Children(const std::string& parent_id) override {
    std::vector<KnownRecord> out;
    for (const auto& [id, r] : records_) {
      if (r.second.parent_id == parent_id) out.push_back(r.second);
    }
    return out;
  }
  Result<std::vector<KnownRecord>> Lookup(const std::vector<std::string>& ids) override {
    std::vector<KnownRecord> out;
    for (const auto& id : ids) {
      if (auto it = records_.find(id); it != records_.end()) out.push_back(it->second.second);
    }
    return out;
  }

 private:
  std::map<std::string, std::pair<std::string, KnownRecord>> records_;  // id → (type, record)
};

// Stands in for the store and the runner: applies each batch, saves its cursor.
struct Sync {
  std::map<std::string, json> cursors;
  MemoryKnownRecords known;
  std::map<std::string, Record> records;  // as the store holds them

  // Reads every stream to its end; with `stop_after`, stops (like a killed process) once that many batches
  // were committed, and the batch read after them is lost uncommitted.
  // Returns the batches committed.
  int Run(ZendeskSource& source, int stop_after = -1) {
    source.AttachKnownRecords(&known);
    int committed = 0;
    for (const auto& stream : source.Streams()) {
      for (int i = 0; i < 10000; ++i) {
        auto batch = source.Next(stream, cursors[stream]);
        if (!batch) {
          ADD_FAILURE() << stream << ": " << batch.error().ToString();
          return committed;
        }
        if (committed == stop_after) return committed;
        EXPECT_TRUE(batch->rejected.empty()) << stream << ": " << batch->rejected.front().first << " "
                                             << batch->rejected.front().second.ToString();
        for (const auto& id : batch->removed_ids) records.erase(id);
        for (const auto& r : batch->records) records[r.id] = r;
        known.Apply(*batch);
        if (!batch->cursor.is_null()) cursors[stream] = batch->cursor;
        ++committed;
        if (batch->done) break;
      }
    }
    return committed;
  }
};

std::unique_ptr<ZendeskSource> MakeSource(Emulator& emulator, int batch_size = 50) {
  ZendeskClientOptions options;
  options.rate_window = kWindow;
  options.backoff_base = std::chrono::milliseconds(20);
  options.backoff_max = std::chrono::milliseconds(200);
  options.max_attempts = 8;
  auto source = ZendeskSource::Create(emulator.MakeConfig(batch_size), emulator.http(), options);
  EXPECT_TRUE(source) << source.error().ToString();
  return source ? std::move(*source) : nullptr;
}

std::string TicketId(int64_t id) { return "acme_zendesk_" + std::to_string(id); }

// The store against the truth: every exported, not deleted ticket with its status, subject and every
// comment (public flag → role); no deleted or scrubbed ticket; users, groups, organizations, fields.
void ExpectMatchesTruth(const json& truth, const Sync& sync) {
  const int64_t cutoff = truth["export_cutoff"].get<int64_t>();
  std::map<std::string, std::string> expected;  // record id → what must match
  for (const auto& t : truth["tickets"]) {
    if (t["status"] == "deleted" || t["generated_timestamp"].get<int64_t>() > cutoff) continue;
    const std::string id = TicketId(t["id"].get<int64_t>());
    expected[id] = "ticket " + t["status"].get<std::string>() + " " + t["subject"].get<std::string>();
    for (const auto& c : t["comments"]) {
      expected["acme_zendesk_conversation-" + std::to_string(c["id"].get<int64_t>())] =
          std::string("conversation ") + (c["public"].get<bool>() ? "public" : "private note") + " " + id;
    }
  }
  for (const auto& u : truth["users"]) {
    if (*ParseTimestamp(u["updated_at"].get<std::string>()) > cutoff) continue;
    expected["acme_zendesk_user-" + std::to_string(u["id"].get<int64_t>())] =
        "user " + u["name"].get<std::string>();
  }
  for (const auto& g : truth["groups"]) {
    expected["acme_zendesk_group-" + std::to_string(g["id"].get<int64_t>())] =
        "group " + g["name"].get<std::string>();
  }
  for (const auto& o : truth["organizations"]) {
    expected["acme_zendesk_organization-" + std::to_string(o["id"].get<int64_t>())] =
        "organization " + o["name"].get<std::string>();
  }
  for (const auto& f : truth["ticket_fields"]) {
    expected["acme_zendesk_ticket_field-" + std::to_string(f["id"].get<int64_t>())] =
        "ticket_field " + f["title"].get<std::string>();
  }
  std::set<std::string> recent_articles;  // changed in the excluded minute: not exported yet
  for (const auto& a : truth["articles"]) {
    const std::string id = std::to_string(a["id"].get<int64_t>());
    if (*ParseTimestamp(a["updated_at"].get<std::string>()) > cutoff) {
      recent_articles.insert(id);
      continue;
    }
    if (a["archived"].get<bool>()) continue;
    for (const auto& t : a["translations"]) {
      const std::string locale = t["locale"].get<std::string>();
      const bool draft = t["draft"].get<bool>();
      const std::string suffix = locale == a["source_locale"] ? "" : "-" + locale;
      expected["acme_zendesk_" + std::string(draft ? "article_draft-" : "article-") + id + suffix] =
          std::string(draft ? "article_draft " : "article ") + locale + " " + t["title"].get<std::string>() +
          " " + t["body"].get<std::string>();
    }
  }
  EXPECT_GT(expected.size(), 200u);
  // Every attachment of a stored comment was downloaded, as many as the truth has.
  size_t expected_attachments = 0;
  for (const auto& t : truth["tickets"]) {
    if (expected.count(TicketId(t["id"].get<int64_t>())))
      expected_attachments += t["attachment_texts"].size();
  }
  size_t downloaded = 0;
  for (const auto& [id, r] : sync.records) {
    for (const auto& a : r.attachments) {
      EXPECT_TRUE(a.download_error.empty() && !a.bytes.empty())
          << id << " " << a.name << ": " << a.download_error;
      ++downloaded;
    }
  }
  EXPECT_EQ(downloaded, expected_attachments);
  EXPECT_GT(downloaded, 0u);
  std::map<std::string, std::string> stored;
  for (const auto& [id, r] : sync.records) {
    if (r.type == "article" || r.type == "article_draft") {
      if (recent_articles.count(r.metadata["article_id"].dump())) continue;
      stored[id] = r.type + " " + r.metadata["language"].get<std::string>() + " " + r.title + " " + r.content;
    } else if (r.type == "ticket") {
      stored[id] = "ticket " + r.status + " " + r.title;
    } else if (r.type == "conversation") {
      // Names resolve in every sync, also one resumed from a users cursor that saw few users.
      EXPECT_TRUE(r.metadata["author_name"].is_string()) << id << " has no author name";
      const bool is_private = r.metadata["private"].get<bool>();
      stored[id] =
          std::string("conversation ") + (is_private ? "private note" : "public") + " " + r.parent_id;
    } else {
      stored[id] = r.type + " " + r.title;
    }
  }
  // Only the differences, so a failure names the records at fault.
  std::vector<std::string> differences;
  for (const auto& [id, want] : expected) {
    auto it = stored.find(id);
    if (it == stored.end()) {
      differences.push_back("missing " + id + ": " + want);
    } else if (it->second != want) {
      differences.push_back("differs " + id + ": " + it->second + " (want " + want + ")");
    }
  }
  for (const auto& [id, have] : stored) {
    if (!expected.count(id)) differences.push_back("extra " + id + ": " + have);
  }
  EXPECT_TRUE(differences.empty()) << differences.size() << " differences, first: " << differences.front();
  EXPECT_EQ(stored.size(), expected.size());
}

TEST(ZendeskEmulatorSourceTest, FullSyncThenEachChangeMatchesTheTruth) {
  Emulator emulator(60);
  auto source = MakeSource(emulator);
  ASSERT_TRUE(source);
  Sync sync;
  sync.Run(*source);
  json truth = emulator.Control("GET", "/_emulator/truth");
  ExpectMatchesTruth(truth, sync);
  // The generated account deletes some tickets and changes one inside the excluded minute.
  size_t deleted = 0;
  for (const auto& t : truth["tickets"]) deleted += t["status"] == "deleted";
  EXPECT_GT(deleted, 0u);
  const auto& first = sync.records.at(TicketId(1));
  EXPECT_EQ(first.metadata["url"].get<std::string>(),
            *emulator.MakeConfig().components.Get<std::string>("zendesk_base_url") + "/agent/tickets/1");

  // The excluded minute's ticket arrives on the next poll, read from the saved cursor; nothing else is
  // re-read.
  const int64_t comment_calls = emulator.Requests("GET /api/v2/tickets/{id}/comments");
  emulator.Control("POST", "/_emulator/clock/advance?seconds=61");
  sync.Run(*MakeSource(emulator));
  ExpectMatchesTruth(emulator.Control("GET", "/_emulator/truth"), sync);
  EXPECT_EQ(emulator.Requests("GET /api/v2/tickets/{id}/comments"), comment_calls + 1);

  // Find a live ticket and a deleted one to change.
  int64_t victim = 0;
  int64_t deleted_id = 0;
  for (const auto& t : truth["tickets"]) {
    if (t["status"] == "deleted" && deleted_id == 0) deleted_id = t["id"].get<int64_t>();
    if (t["status"] != "deleted" && t["id"].get<int64_t>() > 10 && victim == 0)
      victim = t["id"].get<int64_t>();
  }
  ASSERT_NE(victim, 0);
  // An article translated into French, and one without a German translation.
  int64_t article = 0;
  int64_t untranslated = 0;
  for (const auto& a : truth["articles"]) {
    std::set<std::string> locales;
    for (const auto& t : a["translations"]) locales.insert(t["locale"].get<std::string>());
    if (a["archived"].get<bool>()) continue;
    if (locales.count("fr") && article == 0) article = a["id"].get<int64_t>();
    if (!locales.count("de") && untranslated == 0) untranslated = a["id"].get<int64_t>();
  }
  ASSERT_NE(article, 0);
  ASSERT_NE(untranslated, 0);
  ASSERT_NE(deleted_id, 0);

  const std::vector<json> steps = {
      {{{"op", "add_comment"}, {"ticket", 2}, {"body", "A new public reply."}},
       {{"op", "add_comment"}, {"ticket", 2}, {"body", "An internal note."}, {"public", false}},
       {{"op", "update_ticket"}, {"ticket", 3}, {"status", "solved"}, {"subject", "Renamed"}}},
      {{{"op", "delete_ticket"}, {"ticket", victim}}},
      {{{"op", "restore_ticket"}, {"ticket", victim}}, {{"op", "system_update"}, {"ticket", 4}}},
      {{{"op", "scrub_ticket"}, {"ticket", deleted_id}}},
      {{{"op", "delete_ticket"}, {"ticket", 5}}, {{"op", "restore_ticket"}, {"ticket", 5}}},
      {{{"op", "article_edit"}, {"article", article}, {"title", "Edited"}, {"body", "<p>New steps.</p>"}}},
      {{{"op", "add_translation"},
        {"article", untranslated},
        {"locale", "de"},
        {"title", "Hallo"},
        {"body", "<p>Neu</p>"}}},
      {{{"op", "unpublish"}, {"article", article}}},
      {{{"op", "publish"}, {"article", article}}},
      {{{"op", "archive_article"}, {"article", article}}},
  };
  for (size_t i = 0; i < steps.size(); ++i) {
    SCOPED_TRACE("step " + std::to_string(i));
    emulator.Step(steps[i]);
    sync.Run(*MakeSource(emulator));
    ExpectMatchesTruth(emulator.Control("GET", "/_emulator/truth"), sync);
  }
  // The system update alone re-read nothing: only the restored tickets' threads were read again.
  EXPECT_FALSE(sync.records.count(TicketId(deleted_id)));
  EXPECT_EQ(sync.records.at(TicketId(3)).status, "solved");
  const Record& german = sync.records.at("acme_zendesk_article-" + std::to_string(untranslated) + "-de");
  EXPECT_EQ(german.metadata["language"], "de");
  EXPECT_EQ(german.title, "Hallo");
}

// Under 5xx, slow answers and 429 storms (Retry-After honoured), a full sync and a resync after changes still
// end with exactly the truth: every failure was retried, none skipped a page or a thread.
TEST(ZendeskEmulatorSourceTest, FaultsEndWithTheTruth) {
  Emulator emulator(40, /*fault_rate=*/0.08);
  Sync sync;
  sync.Run(*MakeSource(emulator));
  ExpectMatchesTruth(emulator.Control("GET", "/_emulator/truth"), sync);
  emulator.Step({{{"op", "add_comment"}, {"ticket", 2}, {"body", "After the storm."}},
                 {{"op", "delete_ticket"}, {"ticket", 3}}});
  sync.Run(*MakeSource(emulator));
  ExpectMatchesTruth(emulator.Control("GET", "/_emulator/truth"), sync);
  const json stats = emulator.Control("GET", "/_emulator/stats");
  EXPECT_GT(stats["faults"].dump().size(), 2u) << "no fault was injected: " << stats["faults"].dump();
}

// A sync stopped after each number of committed batches (its last page read but never committed) and resumed
// by a new source from the saved cursors ends with the truth, every ticket's thread whole: a cursor only
// moves with the page it covers.
TEST(ZendeskEmulatorSourceTest, AnInterruptedSyncResumesFromTheSavedCursors) {
  Emulator emulator(60);
  Sync clean;
  const int batches = clean.Run(*MakeSource(emulator, 7));
  EXPECT_GT(batches, 15);  // pages of 7 users and 7 tickets
  for (int stop = 1; stop < batches; stop += 3) {
    SCOPED_TRACE("stopped after " + std::to_string(stop) + " batches");
    Sync sync;
    sync.Run(*MakeSource(emulator, 7), stop);
    EXPECT_LT(sync.records.size(), clean.records.size());
    sync.Run(*MakeSource(emulator, 7));
    ExpectMatchesTruth(emulator.Control("GET", "/_emulator/truth"), sync);
  }
}

}  // namespace
}  // namespace deskpipe::zendesk
