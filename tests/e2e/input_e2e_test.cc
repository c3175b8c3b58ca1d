// What a user hands deskpipe can be anything: `extract` and `--config` given a device, a FIFO or a directory,
// and a store whose database or vector index file is damaged or out of reach. Each must get a message naming
// the path and what is wrong (and, for a store, what to do), a failing exit code, and nothing else lost — never
// a read of /dev/zero into memory, a wait on a FIFO, a raw SQL error or a sync reported as a success.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e/command.h"
#include "e2e/scratch_dir_test.h"

namespace {

namespace fs = std::filesystem;
using deskpipe::e2e::CommandResult;
using deskpipe::e2e::ShellQuote;

// Runs `script` under /bin/sh with stderr captured too. The scripts bound what a regression could cost (an
// address-space limit, a timeout) so that it fails the test instead of the machine.
CommandResult Shell(const std::string& script) { return deskpipe::e2e::RunCommand({"/bin/sh", "-c", script}, " 2>&1"); }

void WriteFile(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// No statement text in a message meant for a user.
void ExpectNoSql(const std::string& out) {
  for (const char* sql : {"PRAGMA", "SELECT", "CREATE TABLE", "INSERT", "sqlite code 26 in"}) {
    EXPECT_EQ(out.find(sql), std::string::npos) << "raw SQL in: " << out;
  }
}

class InputE2eTest : public deskpipe::e2e::ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    fs::permissions(root_, fs::perms::all);  // a test below runs deskpipe as another user
  }
  // `deskpipe VERB --tenant input --data-dir DIR --embedder hashing EXTRA…` as a shell command line.
  std::string Deskpipe(const std::string& verb, const fs::path& dir, const std::vector<std::string>& extra = {}) {
    std::string line;
    for (const std::string& arg : deskpipe::e2e::DeskpipeArgs(DESKPIPE_BIN, verb, "input", dir.string(), extra)) {
      line += (line.empty() ? "" : " ") + ShellQuote(arg);
    }
    return line;
  }
};

TEST_F(InputE2eTest, ExtractRefusesDevicesFifosAndDirectoriesByName) {
  const fs::path fifo = root_ / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const fs::path text = root_ / "note.txt";
  WriteFile(text, "the printer jams on page two\n");
  // Under 2 GB of address space and a timeout: /dev/zero was read whole (7 GB in 14 s) and a FIFO blocked.
  const CommandResult out = Shell("ulimit -v 2000000; exec timeout 120 " + ShellQuote(DESKPIPE_BIN) +
                                  " extract --max-file-bytes 1048576 /dev/zero " + ShellQuote(fifo.string()) + " " +
                                  ShellQuote(root_.string()) + " " + ShellQuote(text.string()));
  EXPECT_EQ(out.exit_code, 1) << out.out;
  EXPECT_NE(out.out.find("/dev/zero is a character device, not a regular file"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find(fifo.string() + " is a FIFO (named pipe), not a regular file"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find(root_.string() + " is a directory, not a regular file"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("the printer jams on page two"), std::string::npos) << "the regular file is still read: "
                                                                            << out.out;
}

TEST_F(InputE2eTest, ExtractStopsReadingAtMaxFileBytes) {
  const fs::path big = root_ / "big.txt";
  WriteFile(big, std::string(4096, 'x'));
  const CommandResult out =
      Shell("exec timeout 120 " + ShellQuote(DESKPIPE_BIN) + " extract --max-file-bytes 1000 " + ShellQuote(big.string()));
  EXPECT_EQ(out.exit_code, 1) << out.out;
  EXPECT_NE(out.out.find(big.string() + " is larger than 1000 bytes (--max-file-bytes)"), std::string::npos) << out.out;
}

TEST_F(InputE2eTest, ConfigFileThatIsNotAFileIsAConfigurationError) {
  const fs::path fifo = root_ / "config.toml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& path : {std::string("/dev/zero"), fifo.string()}) {
    const CommandResult out = Shell("ulimit -v 2000000; exec timeout 120 " + ShellQuote(DESKPIPE_BIN) + " --config " +
                                    ShellQuote(path) + " status --data-dir " + ShellQuote((root_ / "data").string()));
    EXPECT_EQ(out.exit_code, 2) << path << ": " << out.out;
    EXPECT_NE(out.out.find(path + " is a "), std::string::npos) << out.out;
    EXPECT_NE(out.out.find(", not a regular file"), std::string::npos) << out.out;
  }
}

TEST_F(InputE2eTest, AStoreThatIsNotADatabaseFailsNamingTheFileAndTheWayOut) {
  const fs::path dir = root_ / "garbage";
  fs::create_directories(dir);
  const fs::path db = dir / "deskpipe.db";
  WriteFile(db, std::string(8192, '\x5a'));
  for (const std::string verb : {"status", "sync"}) {
    const std::vector<std::string> source = {"--base-url", "http://127.0.0.1:9", "--api-key", "input-key"};
    const CommandResult out = Shell(Deskpipe(verb, dir, verb == "sync" ? source : std::vector<std::string>{}));
    EXPECT_EQ(out.exit_code, 1) << verb << ": " << out.out;
    EXPECT_NE(out.out.find("the store database " + db.string() + " is not a SQLite database"), std::string::npos)
        << verb << ": " << out.out;
    EXPECT_NE(out.out.find("restore it from a backup"), std::string::npos) << out.out;
    ExpectNoSql(out.out);
  }
  EXPECT_EQ(fs::file_size(db), 8192u) << "a damaged store is reported, never overwritten";
}

TEST_F(InputE2eTest, AReadOnlyDataDirectoryIsNamedWithItsCauseAndTheWayOut) {
  const fs::path dir = root_ / "read-only";
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                           fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  // As `nobody` when the test runs as root, for whom every directory is writable.
  const std::string as_other_user = geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : "";
  const CommandResult out =
      Shell(as_other_user + Deskpipe("sync", dir, {"--base-url", "http://127.0.0.1:9", "--api-key", "input-key"}));
  EXPECT_EQ(out.exit_code, 2) << out.out;
  EXPECT_NE(out.out.find("cannot create the store database " + (dir / "deskpipe.db").string() + ": its directory " +
                         dir.string() + " is not writable by this user (Permission denied): give this user write "
                         "access to it, or choose another --data-dir"),
            std::string::npos)
      << out.out;
  ExpectNoSql(out.out);
  EXPECT_EQ(out.out.find("Internal"), std::string::npos) << out.out;
  EXPECT_TRUE(fs::is_empty(dir));
}

TEST_F(InputE2eTest, ATruncatedStoreOrAnUnreadableOneFailsTheSyncAndAnUnreadableVectorIndexIsRebuilt) {
  StartEmulator({"--seed", "3", "--tickets", "40", "--now", "2026-11-01T00:00:00Z", "--api-key", "input-key"});
  ASSERT_FALSE(HasFatalFailure());
  const std::vector<std::string> source = {"--base-url", emulator_->base_url(), "--api-key", "input-key"};
  const fs::path dir = root_ / "store";
  const CommandResult first = Shell(Deskpipe("sync", dir, source));
  ASSERT_EQ(first.exit_code, 0) << first.out;

  // The growing vector file overwritten: found unreadable, said so, rebuilt from SQL; search still answers.
  const fs::path vectors = dir / "vectors" / "input.usearch";
  ASSERT_TRUE(fs::exists(vectors));
  WriteFile(vectors, std::string(4096, '\x01'));
  const CommandResult search = Shell(Deskpipe("search", dir, {"printer", "--json"}));
  EXPECT_EQ(search.exit_code, 0) << search.out;
  EXPECT_NE(search.out.find("vector index " + vectors.string() + " is unreadable; rebuilding it from SQL"),
            std::string::npos)
      << search.out;

  // Unreadable by the user running deskpipe (as `nobody` when the test runs as root, which reads anything).
  const fs::path db = dir / "deskpipe.db";
  ASSERT_TRUE(fs::exists(db));
  const fs::path wal = dir / "deskpipe.db-wal";
  ASSERT_TRUE(!fs::exists(wal) || fs::file_size(wal) == 0) << "the sync left its WAL behind";
  fs::permissions(dir, fs::perms::all);
  fs::permissions(db, fs::perms::none);
  const std::string as_other_user = geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : "";
  const CommandResult denied = Shell(as_other_user + Deskpipe("status", dir));
  EXPECT_EQ(denied.exit_code, 2) << "a permission to fix, like a setting" << denied.out;
  EXPECT_NE(denied.out.find("the store database " + db.string() + " cannot be opened for reading"),
            std::string::npos)
      << denied.out;
  EXPECT_NE(denied.out.find("Permission denied"), std::string::npos) << denied.out;
  fs::permissions(db, fs::perms::owner_read | fs::perms::owner_write);

  // Cut in half: the sync fails before it starts, naming the file; the bytes are left as they were.
  const auto size = fs::file_size(db);
  fs::resize_file(db, size / 2);
  const CommandResult truncated = Shell(Deskpipe("sync", dir, source));
  EXPECT_EQ(truncated.exit_code, 1) << truncated.out;
  EXPECT_NE(truncated.out.find("the store database " + db.string() + " is truncated"), std::string::npos)
      << truncated.out;
  EXPECT_NE(truncated.out.find("restore it from a backup"), std::string::npos) << truncated.out;
  EXPECT_EQ(truncated.out.find("synced tenant"), std::string::npos) << "a damaged store must never sync as a success";
  ExpectNoSql(truncated.out);
  EXPECT_EQ(fs::file_size(db), size / 2);
}

}  // namespace
