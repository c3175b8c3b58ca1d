// The CLI as a newcomer meets it: a mistyped verb or option, a value out of range, an empty search, a missing
// default, a failure under --json or --log-format json. Each must answer with the flag or value the user
// typed, what is allowed, and exit 2 for usage — never a flag that does not exist, a retry of an impossible
// URL, an arbitrary result, or text where JSON was asked for.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "e2e/command.h"
#include "e2e/scratch_dir_test.h"

namespace {

namespace fs = std::filesystem;
using deskpipe::e2e::CommandResult;

class CliMessagesE2eTest : public deskpipe::e2e::ScratchDirTest {
 protected:
  // `deskpipe ARGS…` with stderr captured into the output.
  CommandResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), DESKPIPE_BIN);
    return deskpipe::e2e::RunCommand(args, " 2>&1");
  }
  // stdout and stderr apart: `deskpipe ARGS… 2>FILE`, then the file.
  std::pair<CommandResult, std::string> RunSplit(std::vector<std::string> args) {
    const fs::path err = root_ / "stderr";
    args.insert(args.begin(), DESKPIPE_BIN);
    CommandResult out = deskpipe::e2e::RunCommand(args, " 2>" + deskpipe::e2e::ShellQuote(err.string()));
    std::ifstream in(err);
    std::stringstream text;
    text << in.rdbuf();
    return {out, text.str()};
  }
  std::string DataDir() const { return (root_ / "data").string(); }
  // The flags of tenant acme in DataDir(), hashing embedder.
  std::vector<std::string> StoreFlags() const {
    return {"--tenant", "acme", "--data-dir", DataDir(), "--embedder", "hashing"};
  }
  // Syncs tenant acme from an emulator of 30 tickets (a fatal failure when it cannot).
  void SyncFromEmulator() {
    StartEmulator(
        {"--seed", "5", "--tickets", "30", "--now", "2026-11-01T00:00:00Z", "--api-key", "cli-messages-key"});
    ASSERT_FALSE(HasFatalFailure());
    std::vector<std::string> sync = {"sync", "--base-url", emulator_->base_url(), "--api-key", "cli-messages-key"};
    for (const std::string& flag : StoreFlags()) sync.push_back(flag);
    ASSERT_EQ(Run(sync).exit_code, 0);
  }
};

void ExpectUsageError(const CommandResult& out, const std::string& message) {
  EXPECT_EQ(out.exit_code, 2) << out.out;
  EXPECT_NE(out.out.find(message), std::string::npos) << "expected: " << message << "\ngot: " << out.out;
}

// Every line parses as a JSON object with a level and a message.
void ExpectAllJson(const std::string& text) {
  std::istringstream lines(text);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    ++count;
    const auto parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(parsed.is_object()) << "not JSON: " << line;
    EXPECT_TRUE(parsed.contains("level") && parsed.contains("msg")) << line;
  }
  EXPECT_GT(count, 0);
}

TEST_F(CliMessagesE2eTest, UnknownVerbsAndOptionsSuggestTheNearestOne) {
  ExpectUsageError(Run({"serch", "refund"}), "unknown command 'serch' (did you mean search?)");
  ExpectUsageError(Run({"frobnicate"}), "unknown command 'frobnicate': the commands are demo, sync, search");
  ExpectUsageError(Run({"sync", "--tenant-id", "acme"}),
                   "unknown option --tenant-id for sync (did you mean --tenant?)");
  ExpectUsageError(Run({"sync", "--collection-batch-size", "5"}),
                   "unknown option --collection-batch-size for sync (did you mean --batch-size?)");
  ExpectUsageError(Run({"status", "--tenent", "acme"}), "(did you mean --tenant?)");
}

TEST_F(CliMessagesE2eTest, BadValuesNameTheFlagAsTyped) {
  const CommandResult tenant = Run({"status", "--tenant", "Acme", "--data-dir", DataDir()});
  ExpectUsageError(tenant, "invalid tenant_id (from flag --tenant): tenant id 'Acme' is invalid");
  EXPECT_EQ(tenant.out.find("--tenant-id"), std::string::npos) << tenant.out;
  const CommandResult batch = Run({"sync", "--batch-size", "0", "--data-dir", DataDir()});
  ExpectUsageError(batch, "invalid collection_batch_size (from flag --batch-size): 0 is not in 1..10000");
  EXPECT_EQ(batch.out.find("--collection-batch-size"), std::string::npos) << batch.out;
}

TEST_F(CliMessagesE2eTest, ValuesOutOfRangeAreUsageErrorsBeforeAnyRequest) {
  const CommandResult port = Run({"sync", "--tenant", "acme", "--data-dir", DataDir(), "--base-url",
                                  "http://127.0.0.1:99999", "--api-key", "cli-messages-key"});
  ExpectUsageError(port,
                   "the Freshdesk base URL 'http://127.0.0.1:99999' (--base-url, FRESHDESK_BASE_URL) is not "
                   "an http(s) URL");
  EXPECT_NE(port.out.find("a port in 1..65535"), std::string::npos) << port.out;
  EXPECT_EQ(port.out.find("attempt"), std::string::npos)
      << "nothing is sent to an impossible URL: " << port.out;
  EXPECT_FALSE(fs::exists(DataDir())) << "a refused sync creates no store";

  for (const std::string where : {"before", "after"}) {
    std::vector<std::string> args = {"status", "--data-dir", DataDir()};
    const std::vector<std::string> config = {"--config", root_.string()};
    args.insert(where == "before" ? args.begin() : args.end(), config.begin(), config.end());
    ExpectUsageError(Run(args), root_.string() + " is a directory, not a regular file");
  }
}

TEST_F(CliMessagesE2eTest, SearchRefusesEmptyTextAndUnknownTypes) {
  const std::vector<std::string> store = StoreFlags();
  SyncFromEmulator();
  ASSERT_FALSE(HasFatalFailure());

  auto search = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"search"};
    args.insert(args.end(), store.begin(), store.end());
    args.insert(args.end(), extra.begin(), extra.end());
    return Run(args);
  };
  ExpectUsageError(search({""}), "the search text is empty");
  ExpectUsageError(search({"   "}), "the search text is empty");
  ExpectUsageError(search({"refund", "--type", "bogus"}),
                   "unknown document type 'bogus': use ticket or article");
  ExpectUsageError(search({"refund", "--type", "Ticket"}),
                   "unknown document type 'Ticket' (did you mean ticket?)");
  const CommandResult tickets = search({"refund", "--type", "ticket", "--json"});
  ASSERT_EQ(tickets.exit_code, 0) << tickets.out;
  const nlohmann::json hits = nlohmann::json::parse(tickets.out.substr(tickets.out.find('[')));
  ASSERT_FALSE(hits.empty());
  for (const auto& hit : hits) EXPECT_EQ(hit["type"], "ticket");
}

TEST_F(CliMessagesE2eTest, SimilarShowsOtherTicketsAndArticlesOrSaysTheTicketIsUnknown) {
  const std::vector<std::string> store = StoreFlags();
  SyncFromEmulator();
  ASSERT_FALSE(HasFatalFailure());

  auto similar = [&](const std::string& ticket, std::vector<std::string> extra) {
    std::vector<std::string> args = {"similar", "--ticket", ticket};
    args.insert(args.end(), store.begin(), store.end());
    args.insert(args.end(), extra.begin(), extra.end());
    return Run(args);
  };
  const CommandResult found = similar("3", {"--top-k", "4", "--json"});
  ASSERT_EQ(found.exit_code, 0) << found.out;
  const nlohmann::json answer = nlohmann::json::parse(found.out.substr(found.out.find("{\"")));
  ASSERT_FALSE(answer["tickets"].empty());
  EXPECT_LE(answer["tickets"].size(), 4u);
  for (const auto& hit : answer["tickets"]) {
    EXPECT_EQ(hit["type"], "ticket");
    EXPECT_NE(hit["document_id"], "acme_freshdesk_3") << "the ticket itself is not like itself";
  }
  ASSERT_FALSE(answer["articles"].empty());
  for (const auto& hit : answer["articles"]) EXPECT_EQ(hit["type"], "article");

  const CommandResult unknown = similar("99999999", {});
  EXPECT_EQ(unknown.exit_code, 1) << unknown.out;
  EXPECT_NE(unknown.out.find("tenant acme has no ticket 99999999"), std::string::npos) << unknown.out;
  ExpectUsageError(Run({"similar", "--tenant", "acme"}), "--ticket is required");
}

TEST_F(CliMessagesE2eTest, JsonAsksForJsonOnFailureToo) {
  // sync --json: a result object on stdout whether or not the run happened.
  const auto [refused, refused_err] =
      RunSplit({"sync", "--json", "--tenant", "acme", "--data-dir", DataDir(), "--base-url",
                "http://127.0.0.1:99999", "--api-key", "cli-key-123"});
  EXPECT_EQ(refused.exit_code, 2);
  const nlohmann::json answer = nlohmann::json::parse(refused.out, nullptr, false);
  ASSERT_TRUE(answer.is_object()) << refused.out;
  EXPECT_EQ(answer["ok"], false);
  EXPECT_EQ(answer["tenant"], "acme");
  EXPECT_EQ(answer["exit_code"], 2);
  EXPECT_EQ(answer["error"]["code"], "InvalidArgument");
  EXPECT_NE(answer["error"]["message"].get<std::string>().find("99999"), std::string::npos);
  const auto [bad_config, bad_config_err] = RunSplit({"sync", "--json", "--tenant", "Acme"});
  EXPECT_EQ(nlohmann::json::parse(bad_config.out, nullptr, false).value("tenant", ""), "Acme")
      << bad_config.out;

  // --log-format json: every stderr line is JSON, errors found before the config loads included.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--log-format", "json", "serch"},
        std::vector<std::string>{"sync", "--log-format", "json", "--tenant-id", "x"},
        std::vector<std::string>{"status", "--log-format=json", "--tenant", "Acme"},
        std::vector<std::string>{"status", "--log-format", "json", "--data-dir", DataDir()},
        std::vector<std::string>{"search", "--log-format", "json", "--data-dir", DataDir()}}) {
    const auto [out, err] = RunSplit(args);
    EXPECT_NE(out.exit_code, 0) << args[0];
    ExpectAllJson(err);
    const nlohmann::json last = nlohmann::json::parse(err.substr(err.rfind('{')), nullptr, false);
    EXPECT_EQ(last.value("level", ""), "error") << err;
    EXPECT_EQ(last.value("exit_code", 0), out.exit_code) << err;
  }
}

TEST_F(CliMessagesE2eTest, SecretsAreMaskedAsWholeWordsAndShortOnesLeaveTextAlone) {
  // A 1-character key masked every 'k': "acme.freshdes***.com … Freshdes*** subdomain".
  const CommandResult short_key =
      Run({"sync", "--tenant", "acme", "--data-dir", DataDir(), "--domain", "bad domain!", "--api-key", "k"});
  EXPECT_EQ(short_key.exit_code, 2) << short_key.out;
  EXPECT_NE(short_key.out.find("is not a Freshdesk subdomain: use 'acme' or 'acme.freshdesk.com'"),
            std::string::npos)
      << short_key.out;
  EXPECT_EQ(short_key.out.find("***"), std::string::npos) << short_key.out;
  EXPECT_NE(short_key.out.find("too short to be a real key"), std::string::npos) << short_key.out;
  // Also in what the request layer reports: the URL keeps its "helpdesk".
  const CommandResult refused = Run({"sync", "--tenant", "acme", "--data-dir", DataDir(), "--embedder",
                                     "hashing", "--base-url", "http://127.0.0.1:9", "--api-key", "k"});
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_NE(refused.out.find("GET http://127.0.0.1:9/api/v2/settings/helpdesk failed"), std::string::npos)
      << refused.out;
  EXPECT_EQ(refused.out.find("***"), std::string::npos) << refused.out;
  // A real key quoted back in an error is masked where it stands.
  const std::string key = "Zq81-secret-KEY-7731";
  const CommandResult quoted =
      Run({"sync", "--tenant", "acme", "--data-dir", DataDir(), "--domain", key + "!", "--api-key", key});
  EXPECT_EQ(quoted.exit_code, 2) << quoted.out;
  EXPECT_EQ(quoted.out.find(key), std::string::npos) << quoted.out;
  EXPECT_NE(quoted.out.find("FRESHDESK_DOMAIN '***!'"), std::string::npos) << quoted.out;
}

TEST_F(CliMessagesE2eTest, HelpStatesTheDefaults) {
  const CommandResult help = Run({"sync", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("(TENANT_ID; default demo)"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("(DESKPIPE_DATA_DIR; default ./deskpipe-data)"), std::string::npos) << help.out;
}

}  // namespace
