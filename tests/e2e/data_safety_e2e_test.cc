// End to end: what a careless user does must never lose or silently corrupt a tenant's data. The real
// deskpipe binary against the real emulator: another embedder is refused (and `reembed` switches), repair
// never deletes indexed text, read-only verbs write nothing (also on a read-only mount), a typo or an unknown
// tenant is an error, and switching vector-only → hybrid backfills the SQL records.
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e/command.h"
#include "e2e/scratch_dir_test.h"

namespace {

namespace fs = std::filesystem;

using deskpipe::e2e::CommandResult;
using deskpipe::e2e::ShellQuote;

constexpr char kKey[] = "safety-key";

// The JSON document a --json verb printed last (stderr's progress lines come before it).
nlohmann::json LastJson(const std::string& out) {
  size_t line = out.rfind("\n{");
  const size_t array = out.rfind("\n[");
  if (line == std::string::npos || (array != std::string::npos && array > line)) line = array;
  return nlohmann::json::parse(out.substr(line == std::string::npos ? 0 : line + 1));
}

class DataSafetyE2eTest : public deskpipe::e2e::ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    StartEmulator({"--seed", "5", "--tickets", "40", "--now", "2026-11-01T00:00:00Z", "--api-key", kKey});
  }

  // `deskpipe VERB --tenant acme --data-dir DIR EXTRA…` with stderr captured.
  CommandResult Run(const std::string& verb, const std::vector<std::string>& extra = {},
                    const std::vector<std::string>& env = {}) {
    std::vector<std::string> args = env;
    args.insert(args.end(), {DESKPIPE_BIN, verb, "--tenant", "acme", "--data-dir", root_.string()});
    args.insert(args.end(), extra.begin(), extra.end());
    return deskpipe::e2e::RunCommand(args, " 2>&1");
  }
  CommandResult Sync(const std::vector<std::string>& extra, const std::vector<std::string>& env = {}) {
    std::vector<std::string> args = {"--base-url", emulator_->base_url(), "--api-key", kKey};
    args.insert(args.end(), extra.begin(), extra.end());
    return Run("sync", args, env);
  }
  nlohmann::json Status(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    CommandResult status = Run("status", args);
    EXPECT_EQ(status.exit_code, 0) << status.out;
    return status.exit_code == 0 ? nlohmann::json::parse(status.out) : nlohmann::json::object();
  }

  // Every file under the data directory: size and modification time.
  std::map<std::string, std::pair<uintmax_t, fs::file_time_type>> Listing() {
    std::map<std::string, std::pair<uintmax_t, fs::file_time_type>> files;
    for (const auto& entry : fs::recursive_directory_iterator(root_)) {
      files[entry.path().string()] = {entry.is_regular_file() ? entry.file_size() : 0, entry.last_write_time()};
    }
    return files;
  }
};

TEST_F(DataSafetyE2eTest, AnotherEmbedderIsRefusedAndRepairNeverDeletes) {
  CommandResult synced = Sync({"--embedder", "hashing"});
  ASSERT_EQ(synced.exit_code, 0) << synced.out;
  const nlohmann::json before = Status();
  const int chunks = before["chunks"].get<int>();
  ASSERT_GT(chunks, 0);
  EXPECT_EQ(before["vectors"], chunks);

  // The default embedder (use-lite) is not the tenant's: repair, sync and search refuse, naming both models
  // and the command that switches.
  for (const std::string verb : {"verify", "sync", "search"}) {
    CommandResult refused = verb == "verify"   ? Run("verify", {"--repair"})
                            : verb == "sync"   ? Sync({})
                                               : Run("search", {"password reset"});
    EXPECT_EQ(refused.exit_code, 2) << verb << ": " << refused.out;
    EXPECT_NE(refused.out.find("tenant acme was embedded with hashing"), std::string::npos) << refused.out;
    EXPECT_NE(refused.out.find("deskpipe reembed --tenant acme --embedder use-lite"), std::string::npos)
        << refused.out;
  }
  EXPECT_EQ(Status()["chunks"], chunks);
  EXPECT_EQ(Status()["vectors"], chunks);

  // The index files lost: SQL's copy of every vector brings them back, and repair deletes nothing.
  fs::remove_all(root_ / "vectors");
  CommandResult rebuilt = Run("verify", {"--json"});
  EXPECT_EQ(rebuilt.exit_code, 0) << rebuilt.out;
  EXPECT_EQ(LastJson(rebuilt.out)["found"]["vectors"], chunks) << rebuilt.out;
  CommandResult repaired = Run("verify", {"--repair", "--embedder", "hashing", "--json"});
  ASSERT_EQ(repaired.exit_code, 0) << repaired.out;
  const nlohmann::json report = LastJson(repaired.out)["after_repair"];
  EXPECT_TRUE(report["ok"].get<bool>()) << repaired.out;
  EXPECT_TRUE(report["removed"].empty()) << repaired.out;
  EXPECT_EQ(report["chunks"], chunks);
  EXPECT_EQ(report["vectors"], chunks);
}

TEST_F(DataSafetyE2eTest, ReembedSwitchesTheTenantToAnotherEmbedder) {
  ASSERT_EQ(Sync({"--embedder", "hashing"}).exit_code, 0);
  const int chunks = Status()["chunks"].get<int>();
  CommandResult reembed = Run("reembed", {"--embedder", "use-lite"});
  ASSERT_EQ(reembed.exit_code, 0) << reembed.out;
  const nlohmann::json after = Status();
  EXPECT_EQ(after["chunks"], chunks);
  EXPECT_EQ(after["vectors"], chunks);
  // Now the default embedder is the tenant's: its searches use vectors, and the old one is refused.
  CommandResult search = Run("search", {"password reset", "--json"});
  ASSERT_EQ(search.exit_code, 0) << search.out;
  bool vector_hit = false;
  for (const auto& hit : LastJson(search.out)) vector_hit = vector_hit || hit["vector_rank"] > 0;
  EXPECT_TRUE(vector_hit) << search.out;
  CommandResult old = Run("search", {"password reset", "--embedder", "hashing"});
  EXPECT_EQ(old.exit_code, 2) << old.out;
  EXPECT_NE(old.out.find("was embedded with use-lite"), std::string::npos) << old.out;
  CommandResult resync = Sync({"--json"});
  ASSERT_EQ(resync.exit_code, 0) << resync.out;
  EXPECT_EQ(LastJson(resync.out)["chunks_embedded"], 0) << resync.out;
}

TEST_F(DataSafetyE2eTest, ReadOnlyVerbsWriteNothingAndMissingDataIsAnError) {
  ASSERT_EQ(Sync({"--embedder", "hashing"}).exit_code, 0);
  const auto before = Listing();
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"status"}, {"status", "--json"}, {"digest"}, {"verify"}, {"search", "printer", "--embedder", "hashing"}}) {
    CommandResult result = Run(args[0], std::vector<std::string>(args.begin() + 1, args.end()));
    EXPECT_EQ(result.exit_code, 0) << args[0] << ": " << result.out;
  }
  EXPECT_EQ(Listing(), before) << "a read-only verb changed the data directory";

  // A data directory this user cannot write: as root, run as nobody (the files stay root's); otherwise take the
  // write bits away for the duration.
  const std::string reads = std::string(DESKPIPE_BIN) + " status --tenant acme --data-dir " + ShellQuote(root_) +
                            " && " + DESKPIPE_BIN + " search printer --embedder hashing --tenant acme --data-dir " +
                            ShellQuote(root_);
  if (geteuid() == 0) {
    CommandResult as_nobody = deskpipe::e2e::RunCommand(
        {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c", reads}, " 2>&1");
    EXPECT_EQ(as_nobody.exit_code, 0) << as_nobody.out;
    EXPECT_NE(as_nobody.out.find("chunks"), std::string::npos) << as_nobody.out;
  } else {
    for (const auto& entry : fs::recursive_directory_iterator(root_)) {
      fs::permissions(entry.path(), fs::perms::owner_write, fs::perm_options::remove);
    }
    fs::permissions(root_, fs::perms::owner_write, fs::perm_options::remove);
    CommandResult unwritable = deskpipe::e2e::RunCommand({"sh", "-c", reads}, " 2>&1");
    fs::permissions(root_, fs::perms::owner_write, fs::perm_options::add);
    for (const auto& entry : fs::recursive_directory_iterator(root_)) {
      fs::permissions(entry.path(), fs::perms::owner_write, fs::perm_options::add);
    }
    EXPECT_EQ(unwritable.exit_code, 0) << unwritable.out;
  }
  // And on a read-only mount, where a private mount namespace can be made (root, not inside a chroot).
  if (geteuid() == 0 && deskpipe::e2e::RunCommand({"unshare", "--mount", "true"}, " 2>/dev/null").exit_code == 0) {
    CommandResult mounted = deskpipe::e2e::RunCommand(
        {"unshare", "--mount", "sh", "-c",
         "mount --bind " + ShellQuote(root_) + " " + ShellQuote(root_) + " && mount -o remount,ro,bind " +
             ShellQuote(root_) + " && " + reads},
        " 2>&1");
    EXPECT_EQ(mounted.exit_code, 0) << mounted.out;
    EXPECT_NE(mounted.out.find("chunks"), std::string::npos) << mounted.out;
  }
  EXPECT_EQ(Listing(), before);

  const fs::path typo = root_.string() + "-typo";
  CommandResult missing = deskpipe::e2e::RunCommand(
      {DESKPIPE_BIN, "status", "--tenant", "acme", "--data-dir", typo.string()}, " 2>&1");
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.out.find("no deskpipe data in " + typo.string()), std::string::npos) << missing.out;
  EXPECT_FALSE(fs::exists(typo)) << "status created the mistyped data directory";
  CommandResult search_missing = deskpipe::e2e::RunCommand(
      {DESKPIPE_BIN, "search", "printer", "--tenant", "acme", "--data-dir", typo.string()}, " 2>&1");
  EXPECT_NE(search_missing.exit_code, 0);
  EXPECT_FALSE(fs::exists(typo));

  CommandResult unknown = deskpipe::e2e::RunCommand(
      {DESKPIPE_BIN, "status", "--tenant", "zzz", "--data-dir", root_.string()}, " 2>&1");
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.out.find("tenant zzz has never been synced"), std::string::npos) << unknown.out;
  EXPECT_EQ(Listing(), before);
}

TEST_F(DataSafetyE2eTest, SwitchingVectorOnlyToHybridBackfillsTheRecords) {
  CommandResult vector_only = Sync({"--embedder", "hashing"}, {"ENABLE_FULL_STREAMING_MODE=true"});
  ASSERT_EQ(vector_only.exit_code, 0) << vector_only.out;
  const nlohmann::json lean = Status();
  EXPECT_EQ(lean["records"].value("ticket", 0), 0) << lean.dump();
  // verify, configured for hybrid, reports the gap a hybrid sync would close.
  CommandResult gap = Run("verify");
  EXPECT_EQ(gap.exit_code, 1) << gap.out;
  EXPECT_NE(gap.out.find("synced in vector-only mode, so SQL holds no records"), std::string::npos) << gap.out;
  EXPECT_EQ(Run("verify", {}, {"ENABLE_FULL_STREAMING_MODE=true"}).exit_code, 0);
  // Back to hybrid: the next sync re-reads every record into SQL, embedding nothing new.
  CommandResult hybrid = Sync({"--embedder", "hashing", "--json"});
  ASSERT_EQ(hybrid.exit_code, 0) << hybrid.out;
  EXPECT_EQ(LastJson(hybrid.out)["chunks_embedded"], 0) << hybrid.out;
  const nlohmann::json full = Status();
  EXPECT_EQ(full["records"].value("ticket", 0), 40) << full.dump();
  EXPECT_GT(full["records"].value("conversation", 0), 0) << full.dump();
  CommandResult verified = Run("verify");
  EXPECT_EQ(verified.exit_code, 0) << verified.out;
  // And back to vector-only is refused with the command that does it, never silently half-done.
  CommandResult lean_again = Sync({"--embedder", "hashing"}, {"ENABLE_FULL_STREAMING_MODE=true"});
  EXPECT_EQ(lean_again.exit_code, 2) << lean_again.out;
  EXPECT_NE(lean_again.out.find("deskpipe reset --tenant acme"), std::string::npos) << lean_again.out;
}

}  // namespace
