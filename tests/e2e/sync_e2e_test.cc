// End to end: the real freshdesk-emulator binary serves a synthetic helpdesk, the real deskpipe binary syncs
// it into a temporary data directory, and the test checks what landed against what the emulator generated.
#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/emulator_process.h"
#include "e2e/command.h"
#include "e2e/scratch_dir_test.h"

namespace {

namespace fs = std::filesystem;

using deskpipe::e2e::CommandResult;

// Runs a command (see e2e/command.h); stderr is captured too when `with_stderr`.
CommandResult RunCommand(const std::vector<std::string>& args, bool with_stderr = false) {
  return deskpipe::e2e::RunCommand(args, with_stderr ? " 2>&1" : "");
}

std::string CollapseSpaces(const std::string& text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = !out.empty();
    } else {
      if (space) out.push_back(' ');
      out.push_back(c);
      space = false;
    }
  }
  return out;
}

// The ticket document's chunks, concatenated in order, read straight from the SQLite store.
std::string ThreadText(const fs::path& db_path, const std::string& document_id) {
  sqlite3* db = nullptr;
  std::string text;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return text;
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "SELECT text FROM chunks WHERE document_id = ? ORDER BY chunk_index", -1, &stmt, nullptr);
  sqlite3_bind_text(stmt, 1, document_id.c_str(), -1, SQLITE_TRANSIENT);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    text += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    text += "\n";
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return text;
}

class SyncE2eTest : public deskpipe::e2e::ScratchDirTest {
 protected:
  std::vector<std::string> Deskpipe(const std::string& verb, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {DESKPIPE_BIN, verb, "--tenant", "e2e", "--data-dir", root_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
};

TEST_F(SyncE2eTest, SyncFindsEverythingAndResyncChangesNothing) {
  const std::vector<std::string> data_args = {"--seed", "7", "--tickets", "120", "--now", "2026-11-01T00:00:00Z"};
  std::vector<std::string> describe_args = {EMULATOR_BIN, "--describe"};
  describe_args.insert(describe_args.end(), data_args.begin(), data_args.end());
  CommandResult described = RunCommand(describe_args);
  ASSERT_EQ(described.exit_code, 0);
  const nlohmann::json expected = nlohmann::json::parse(described.out);
  ASSERT_EQ(expected["tickets"], 120);

  std::vector<std::string> serve_args = data_args;
  serve_args.insert(serve_args.end(), {"--api-key", "e2e-secret-key"});
  auto emulator = deskpipe::cli::EmulatorProcess::Start(EMULATOR_BIN, serve_args);
  ASSERT_TRUE(emulator) << emulator.error().ToString();
  const std::string url = emulator->base_url();

  // A wrong key is a configuration error (exit 2) whose message names the setting, never the key.
  CommandResult refused =
      RunCommand(Deskpipe("sync", {"--base-url", url, "--api-key", "wrong-key-1234", "--json"}), true);
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.out.find("FRESHDESK_API_KEY"), std::string::npos) << refused.out;
  EXPECT_EQ(refused.out.find("wrong-key-1234"), std::string::npos) << refused.out;

  CommandResult first = RunCommand(Deskpipe("sync", {"--base-url", url, "--api-key", "e2e-secret-key", "--json"}));
  ASSERT_EQ(first.exit_code, 0) << first.out;
  const nlohmann::json first_summary = nlohmann::json::parse(first.out);
  EXPECT_GT(first_summary["chunks_embedded"].get<int>(), 0);
  EXPECT_EQ(first_summary["dead_letters"], 0);

  CommandResult status = RunCommand(Deskpipe("status", {"--json"}));
  ASSERT_EQ(status.exit_code, 0);
  const nlohmann::json stats = nlohmann::json::parse(status.out);
  EXPECT_EQ(stats["documents"]["ticket"], expected["tickets"]);
  // Draft articles are kept apart (records of type article_draft) and not indexed (issue 4 point 7).
  EXPECT_EQ(stats["documents"]["article"], expected["published_articles"]);
  EXPECT_EQ(stats["records"]["ticket"], expected["tickets"]);
  EXPECT_EQ(stats["records"]["conversation"], expected["conversations"]);
  EXPECT_EQ(stats["records"]["article"], expected["published_articles"]);
  EXPECT_EQ(stats["records"].value("article_draft", 0),
            expected["articles"].get<int>() - expected["published_articles"].get<int>());
  EXPECT_EQ(stats["chunks"], stats["vectors"]);
  EXPECT_NE(status.out.find("\"tickets\""), std::string::npos) << "tickets cursor saved";
  // The run's final progress: every item read was counted and stored; the tickets were counted up front by the
  // search API, exactly the ones the list then gave.
  const nlohmann::json& progress = stats["last_run"]["summary"]["progress"];
  EXPECT_EQ(progress["current_stage"], "done");
  EXPECT_EQ(progress["total_items"], progress["processed_items"]) << progress.dump();
  EXPECT_EQ(progress["failed_items"], 0);
  EXPECT_EQ(progress["completion_fraction"], 1.0);
  EXPECT_EQ(progress["streams"]["tickets"]["counted"], expected["listed_tickets"]) << progress.dump();
  EXPECT_EQ(progress["streams"]["tickets"]["processed"], expected["listed_tickets"]);
  EXPECT_EQ(progress["streams"]["settings"]["counted"], 1);
  // Without --json the last run is in words, and the cursors are left to --verbose.
  CommandResult status_text = RunCommand(Deskpipe("status", {}));
  ASSERT_EQ(status_text.exit_code, 0);
  EXPECT_NE(status_text.out.find("last run    #" + stats["last_run"]["id"].dump() + " succeeded "),
            std::string::npos)
      << status_text.out;
  EXPECT_NE(status_text.out.find(std::to_string(stats["last_run"]["summary"]["documents_written"].get<int>()) +
                                 " documents written"),
            std::string::npos)
      << status_text.out;
  EXPECT_NE(status_text.out.find("embedder    use-lite (use-lite-v1-512, 512-d)"), std::string::npos) << status_text.out;
  EXPECT_EQ(status_text.out.find("max_ids"), std::string::npos) << status_text.out;
  EXPECT_EQ(status_text.out.find("documents_written"), std::string::npos) << status_text.out;
  CommandResult status_verbose = RunCommand(Deskpipe("status", {"--verbose"}));
  EXPECT_NE(status_verbose.out.find("cursor tickets: {"), std::string::npos) << status_verbose.out;
  EXPECT_EQ(status_text.out.find("\"progress\""), std::string::npos) << status_text.out;
  EXPECT_EQ(status.out.find("e2e-secret-key"), std::string::npos) << "the API key leaked into status";

  // One known ticket's thread: its description and every message, in order, labelled by speaker.
  const nlohmann::json& sample = expected["sample_ticket"];
  const std::string document_id = "e2e_freshdesk_" + std::to_string(sample["id"].get<long long>());
  const std::string thread = CollapseSpaces(ThreadText(root_ / "deskpipe.db", document_id));
  ASSERT_FALSE(thread.empty());
  EXPECT_NE(thread.find(sample["subject"].get<std::string>()), std::string::npos) << thread;
  EXPECT_NE(thread.find(CollapseSpaces(sample["description_text"].get<std::string>()).substr(0, 40)),
            std::string::npos)
      << thread;
  size_t previous = 0;
  for (const auto& conversation : sample["conversations"]) {
    std::string opening = CollapseSpaces(conversation["body_text"].get<std::string>()).substr(0, 30);
    size_t at = thread.find(opening, previous);
    EXPECT_NE(at, std::string::npos) << "missing or out of order: " << opening;
    if (at != std::string::npos) previous = at;
  }
  EXPECT_NE(thread.find("[agent]"), std::string::npos);
  EXPECT_NE(thread.find("[customer]"), std::string::npos);

  // A phrase of that ticket finds it.
  CommandResult search = RunCommand(Deskpipe("search", {sample["subject"].get<std::string>(), "--json", "--top-k", "5"}));
  ASSERT_EQ(search.exit_code, 0);
  bool found = false;
  for (const auto& hit : nlohmann::json::parse(search.out)) found = found || hit["document_id"] == document_id;
  EXPECT_TRUE(found) << search.out;

  CommandResult digest_before = RunCommand(Deskpipe("digest"));
  ASSERT_EQ(digest_before.exit_code, 0);
  EXPECT_EQ(digest_before.out.rfind("digest ", 0), 0u);

  // A second sync with nothing changed: same digest, nothing embedded.
  CommandResult second = RunCommand(Deskpipe("sync", {"--base-url", url, "--api-key", "e2e-secret-key", "--json"}));
  ASSERT_EQ(second.exit_code, 0) << second.out;
  const nlohmann::json second_summary = nlohmann::json::parse(second.out);
  EXPECT_EQ(second_summary["chunks_embedded"], 0);
  EXPECT_EQ(second_summary["documents_written"], 0);
  // Counted from the cursor's day, the last tickets are counted again, read and found unchanged (skipped):
  // the total becomes what was stored.
  CommandResult second_status = RunCommand(Deskpipe("status", {"--json"}));
  ASSERT_EQ(second_status.exit_code, 0);
  const nlohmann::json second_progress = nlohmann::json::parse(second_status.out)["last_run"]["summary"]["progress"];
  EXPECT_GE(second_progress["streams"]["tickets"]["counted"].get<int>(), 1) << second_progress.dump();
  EXPECT_EQ(second_progress["streams"]["tickets"]["processed"], 0);
  EXPECT_EQ(second_progress["total_items"], second_progress["processed_items"]) << second_progress.dump();
  CommandResult digest_after = RunCommand(Deskpipe("digest"));
  EXPECT_EQ(digest_after.out, digest_before.out);
}

TEST_F(SyncE2eTest, BadConfigurationIsAClearError) {
  CommandResult bad_tenant = RunCommand({DESKPIPE_BIN, "status", "--tenant", "Bad_Tenant", "--data-dir", root_.string()});
  EXPECT_EQ(bad_tenant.exit_code, 2);
  CommandResult public_host =
      RunCommand(Deskpipe("sync", {"--base-url", "http://example.com", "--api-key", "k"}));
  EXPECT_EQ(public_host.exit_code, 2);
  CommandResult no_key = RunCommand(Deskpipe("sync", {"--domain", "acme"}));
  EXPECT_EQ(no_key.exit_code, 2);
}

// Attachments end to end: downloaded, type sniffed, text extracted (PDF by poppler, PNG by tesseract OCR) into
// the ticket's document with a provenance line; broken or hostile files become dead letters and the run goes on.
TEST_F(SyncE2eTest, AttachmentTextIsIndexedAndHostileFilesAreDeadLettered) {
  auto emulator = deskpipe::cli::EmulatorProcess::Start(
      EMULATOR_BIN, {"--seed", "11", "--tickets", "150", "--full", "--hostile-attachments", "--now",
                     "2026-11-01T00:00:00Z", "--api-key", "att-key"});
  ASSERT_TRUE(emulator) << emulator.error().ToString();
  const std::string url = emulator->base_url();
  CommandResult sync = RunCommand(
      Deskpipe("sync", {"--base-url", url, "--api-key", "att-key", "--embedder", "hashing", "--json"}));
  ASSERT_EQ(sync.exit_code, 0) << sync.out;
  const nlohmann::json summary = nlohmann::json::parse(sync.out);
  EXPECT_GT(summary.value("attachments_extracted", 0), 0) << sync.out;
  EXPECT_GT(summary.value("dead_letters", 0), 0) << "the hostile files should each cost one dead letter";

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2((root_ / "deskpipe.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  auto count = [db](const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
      n = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    return n;
  };
  EXPECT_GT(count("SELECT COUNT(*) FROM chunks WHERE text LIKE '%Attachment %(application/pdf):%'"), 0);
  EXPECT_GT(count("SELECT COUNT(*) FROM chunks WHERE text LIKE '%Attachment %(image/png):%'"), 0);
  EXPECT_GT(count("SELECT COUNT(*) FROM dead_letters WHERE stage = 'extract' AND message LIKE '%.pdf: %'"), 0);
  sqlite3_close(db);
}

// retry-failed on attachments of conversations: a conversation has no endpoint of its own, so its letter is
// retried through its ticket's thread. A first sync whose extraction worker is broken (/bin/false)
// dead-letters every attachment; a retry with the real worker sends the good files' text into their ticket's
// document and leaves the hostile files' letters with their real reason (stage extract), which the next
// retry keeps.
TEST_F(SyncE2eTest, RetryFailedRetriesAConversationsAttachmentThroughItsTicket) {
  auto emulator = deskpipe::cli::EmulatorProcess::Start(
      EMULATOR_BIN, {"--seed", "11", "--tickets", "150", "--full", "--hostile-attachments", "--now",
                     "2026-11-01T00:00:00Z", "--api-key", "retry-key"});
  ASSERT_TRUE(emulator) << emulator.error().ToString();
  const std::vector<std::string> source = {"--base-url", emulator->base_url(), "--api-key", "retry-key",
                                           "--embedder", "hashing"};
  std::vector<std::string> broken_sync = {"DESKPIPE_EXTRACT_WORKER=/bin/false"};
  for (const std::string& arg : Deskpipe("sync", source)) broken_sync.push_back(arg);
  broken_sync.push_back("--json");
  CommandResult sync = RunCommand(broken_sync);
  ASSERT_EQ(sync.exit_code, 0) << sync.out;

  // The conversations' attachment letters, by record id: stage and message.
  struct Letter {
    std::string stage, message;
    int64_t attempts = 0;
  };
  auto conversation_letters = [this]() {
    std::map<std::string, Letter> letters;
    sqlite3* db = nullptr;
    if (sqlite3_open_v2((root_ / "deskpipe.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      return letters;
    }
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db,
                       "SELECT record_id, stage, message, attempts FROM dead_letters "
                       "WHERE record_id LIKE '%\\_conversation-%/attachment-%' ESCAPE '\\'",
                       -1, &stmt, nullptr);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      letters[reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))] =
          Letter{reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1)),
                 reinterpret_cast<const char*>(sqlite3_column_text(stmt, 2)), sqlite3_column_int64(stmt, 3)};
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return letters;
  };
  const std::map<std::string, Letter> broken = conversation_letters();
  ASSERT_GE(broken.size(), 2u) << "the helpdesk should have attachments on conversations";
  for (const auto& [id, letter] : broken) EXPECT_EQ(letter.stage, "extract") << id << ": " << letter.message;

  // Where each of those attachments is: its ticket's document (the conversation's stored parent) and its file
  // name (the extraction letter's message starts with it).
  std::map<std::string, std::pair<std::string, std::string>> place;  // letter id → (document id, file name)
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2((root_ / "deskpipe.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
              SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db, "SELECT parent_id FROM conversations WHERE id = ?", -1, &stmt, nullptr);
    for (const auto& [id, letter] : broken) {
      const std::string conversation = id.substr(0, id.find("/attachment-"));
      sqlite3_bind_text(stmt, 1, conversation.c_str(), -1, SQLITE_TRANSIENT);
      if (sqlite3_step(stmt) == SQLITE_ROW) {
        place[id] = {reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)),
                     letter.message.substr(0, letter.message.find(": "))};
      }
      sqlite3_reset(stmt);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
  }
  for (const auto& [id, letter] : broken) {
    ASSERT_EQ(place.count(id), 1u) << id << ": its conversation should be stored";
    const auto& [document, name] = place[id];
    EXPECT_EQ(ThreadText(root_ / "deskpipe.db", document).find("Attachment " + name), std::string::npos)
        << id;
  }

  // With the real worker: every conversation's letter is retried through its ticket. The good files go
  // through (their text now in the ticket's document); the hostile ones fail again, at extraction, with
  // their reason.
  std::vector<std::string> retry_json = source;
  retry_json.push_back("--json");
  CommandResult retry = RunCommand(Deskpipe("retry-failed", retry_json));
  ASSERT_EQ(retry.exit_code, 0) << retry.out;
  const nlohmann::json summary = nlohmann::json::parse(retry.out);
  EXPECT_EQ(summary["not_retryable"], 0) << retry.out;
  EXPECT_EQ(summary["not_reread"], 0) << retry.out;
  const std::map<std::string, Letter> hostile = conversation_letters();
  EXPECT_LT(hostile.size(), broken.size()) << "some conversation attachments are good files";
  ASSERT_GE(hostile.size(), 1u) << "a conversation should carry a hostile file";
  for (const auto& [id, letter] : broken) {
    const auto& [document, name] = place[id];
    const bool in_thread =
        ThreadText(root_ / "deskpipe.db", document).find("Attachment " + name) != std::string::npos;
    auto still = hostile.find(id);
    if (still == hostile.end()) {
      EXPECT_TRUE(in_thread) << id << " left the dead letters, so its text should be in " << document;
      continue;
    }
    EXPECT_FALSE(in_thread) << id;
    EXPECT_EQ(still->second.stage, "extract") << id << ": " << still->second.message;
    EXPECT_EQ(still->second.message.rfind(name + ": ", 0), 0u) << id << ": " << still->second.message;
    EXPECT_NE(still->second.message, letter.message) << id << ": this attempt's reason, not the worker's";
    EXPECT_EQ(still->second.attempts, 2) << id;
  }

  // The cause persists: another retry keeps each letter's stage and reason, counting the attempt.
  retry = RunCommand(Deskpipe("retry-failed", source));
  ASSERT_EQ(retry.exit_code, 0) << retry.out;
  EXPECT_NE(retry.out.find(" dead letters: 0 went through, 0 gone from the helpdesk, "), std::string::npos)
      << retry.out;
  EXPECT_NE(retry.out.find(" still failing, 0 left as they were"), std::string::npos) << retry.out;
  const std::map<std::string, Letter> again = conversation_letters();
  ASSERT_EQ(again.size(), hostile.size());
  for (const auto& [id, letter] : hostile) {
    ASSERT_EQ(again.count(id), 1u) << id;
    EXPECT_EQ(again.at(id).stage, "extract") << id;
    EXPECT_EQ(again.at(id).message, letter.message) << id;
    EXPECT_EQ(again.at(id).attempts, 3) << id;
  }
}

}  // namespace
