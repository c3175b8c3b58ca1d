// A second platform added the way the registry promises: the fake platform of tests/platforms/fake/ (one folder)
// and one line in the test build's registry list, synced through the CLI (deskpipe-with-fake, the same CLI code
// as deskpipe). Its settings arrive by flag, environment and TOML, its secret never reaches the output or the
// logs, its unknown keys are refused, and the production deskpipe knows nothing of it.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e/command.h"
#include "e2e/scratch_dir_test.h"

namespace deskpipe::e2e {
namespace {

namespace fs = std::filesystem;

constexpr char kToken[] = "fake-T0ken-5ecret-8841";

class FakePlatformE2eTest : public ScratchDirTest {
 protected:
  std::string WriteConfig(const std::string& name, const std::string& text) {
    const fs::path path = root_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  // `env NAME=VALUE… BINARY VERB --tenant fake1 --data-dir DIR --embedder hashing EXTRA…`, stderr included.
  CommandResult Run(const std::string& binary, const std::string& verb, const std::vector<std::string>& env,
                    const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = env;
    const std::vector<std::string> deskpipe = DeskpipeArgs(binary, verb, "fake1", (root_ / "data").string(), extra);
    args.insert(args.end(), deskpipe.begin(), deskpipe.end());
    return RunCommand(args, " 2>&1");
  }
};

TEST_F(FakePlatformE2eTest, SyncsThroughTheCliAndSearchesItsRecords) {
  const std::string config = WriteConfig("fake.toml", "platform = \"fake\"\nfake_label = \"tomlword\"\n");
  // The account by flag, the token by environment, the label and the platform by TOML (--config and the log
  // flags come before the verb).
  CommandResult sync = RunCommand({"FAKE_HELPDESK_TOKEN=" + std::string(kToken), DESKPIPE_WITH_FAKE_BIN, "--config", config,
                     "--log-format", "json", "--log-level", "debug", "sync", "--tenant", "fake1", "--data-dir",
                     (root_ / "data").string(), "--embedder", "hashing", "--fake-account", "acme-fake", "--json"},
                    " 2>&1");
  ASSERT_EQ(sync.exit_code, 0) << sync.out;
  EXPECT_EQ(sync.out.find(kToken), std::string::npos) << sync.out;
  EXPECT_NE(sync.out.find("fake helpdesk: signed in"), std::string::npos) << sync.out;  // the line was logged…
  EXPECT_NE(sync.out.find("***"), std::string::npos) << sync.out;                      // …with the token hidden

  CommandResult status = Run(DESKPIPE_WITH_FAKE_BIN, "status", {}, {"--json"});
  ASSERT_EQ(status.exit_code, 0) << status.out;
  const nlohmann::json stats = nlohmann::json::parse(status.out);
  EXPECT_EQ(stats["records"]["ticket"], 2) << status.out;
  EXPECT_EQ(stats["records"]["article"], 2) << status.out;
  EXPECT_EQ(stats["documents"]["ticket"], 2) << status.out;
  EXPECT_EQ(stats["documents"]["article"], 2) << status.out;
  EXPECT_TRUE(stats["cursors"].contains("cases")) << status.out;
  EXPECT_TRUE(stats["cursors"].contains("guides")) << status.out;
  EXPECT_EQ(status.out.find(kToken), std::string::npos);

  CommandResult search = Run(DESKPIPE_WITH_FAKE_BIN, "search", {}, {"paper jam printer", "--json"});
  ASSERT_EQ(search.exit_code, 0) << search.out;
  const nlohmann::json hits = nlohmann::json::parse(search.out);
  ASSERT_FALSE(hits.empty());
  bool found_ticket = false, found_label = false;
  for (const auto& hit : hits) {
    found_ticket = found_ticket || hit["document_id"] == "fake1_fake_1";
    found_label = found_label || (hit["text"].get<std::string>().find("tomlword") != std::string::npos &&
                                  hit["text"].get<std::string>().find("acme-fake") != std::string::npos);
  }
  EXPECT_TRUE(found_ticket) << search.out;
  EXPECT_TRUE(found_label) << search.out;  // fake_label from the file, fake_account from the flag
}

TEST_F(FakePlatformE2eTest, SecretByFlagMissingSettingsAndUnknownKeys) {
  // The token given as a flag is hidden too; a bad value of another key is named without echoing it.
  CommandResult bad = Run(DESKPIPE_WITH_FAKE_BIN, "sync", {"DESKPIPE_PLATFORM=fake"},
                          {"--fake-account", "acme-fake", "--fake-token", kToken, "--batch-size", "0"});
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
  EXPECT_NE(bad.out.find("collection_batch_size"), std::string::npos) << bad.out;
  EXPECT_EQ(bad.out.find(kToken), std::string::npos) << bad.out;

  CommandResult ok = Run(DESKPIPE_WITH_FAKE_BIN, "sync", {"DESKPIPE_PLATFORM=fake", "DESKPIPE_LOG_LEVEL=debug"},
                         {"--fake-account", "acme-fake", "--fake-token", kToken});
  ASSERT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_EQ(ok.out.find(kToken), std::string::npos) << ok.out;

  // The platform's own check, by key and source.
  const std::string bad_label = WriteConfig("label.toml", "fake_label = \"\"\n");
  CommandResult label = RunCommand({DESKPIPE_WITH_FAKE_BIN, "--config", bad_label, "status", "--tenant", "fake1",
                                    "--data-dir", (root_ / "data").string()},
                                   " 2>&1");
  EXPECT_EQ(label.exit_code, 2) << label.out;
  EXPECT_NE(label.out.find("fake_label"), std::string::npos) << label.out;
  EXPECT_NE(label.out.find(bad_label), std::string::npos) << label.out;

  // A missing token is a configuration error naming the setting.
  CommandResult no_token =
      Run(DESKPIPE_WITH_FAKE_BIN, "sync", {"DESKPIPE_PLATFORM=fake"}, {"--fake-account", "acme-fake"});
  EXPECT_EQ(no_token.exit_code, 2) << no_token.out;
  EXPECT_NE(no_token.out.find("FAKE_HELPDESK_TOKEN"), std::string::npos) << no_token.out;

  // Unknown keys still fail, naming the key.
  const std::string typo = WriteConfig("typo.toml", "platform = \"fake\"\nfake_acount = \"acme-fake\"\n");
  CommandResult unknown = RunCommand({DESKPIPE_WITH_FAKE_BIN, "--config", typo, "status", "--tenant", "fake1",
                                      "--data-dir", (root_ / "data").string()},
                                     " 2>&1");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.out;
  EXPECT_NE(unknown.out.find("unknown key 'fake_acount'"), std::string::npos) << unknown.out;

  // --help lists the fake's flags with their docs and environment variables.
  CommandResult help = RunCommand({DESKPIPE_WITH_FAKE_BIN, "sync", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--fake-account"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("FAKE_HELPDESK_TOKEN"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("--api-key"), std::string::npos) << help.out;  // Freshdesk's, still there
}

// The production binary is built with the production list: no fake platform, no fake keys or flags.
TEST_F(FakePlatformE2eTest, ProductionDeskpipeHasNoFakePlatform) {
  CommandResult unknown_platform =
      Run(DESKPIPE_BIN, "sync", {"DESKPIPE_PLATFORM=fake", "FAKE_HELPDESK_TOKEN=" + std::string(kToken)}, {});
  EXPECT_EQ(unknown_platform.exit_code, 2) << unknown_platform.out;
  EXPECT_NE(unknown_platform.out.find("unknown platform 'fake'"), std::string::npos) << unknown_platform.out;
  EXPECT_NE(unknown_platform.out.find("registered platforms: freshdesk"), std::string::npos);

  CommandResult flag = Run(DESKPIPE_BIN, "sync", {}, {"--fake-account", "acme-fake"});
  EXPECT_EQ(flag.exit_code, 2) << flag.out;
  EXPECT_NE(flag.out.find("fake-account"), std::string::npos) << flag.out;

  const std::string config = WriteConfig("fake.toml", "fake_account = \"acme-fake\"\n");
  CommandResult key = RunCommand({DESKPIPE_BIN, "--config", config, "status", "--tenant", "fake1"}, " 2>&1");
  EXPECT_EQ(key.exit_code, 2) << key.out;
  EXPECT_NE(key.out.find("unknown key 'fake_account'"), std::string::npos) << key.out;
}

}  // namespace
}  // namespace deskpipe::e2e
