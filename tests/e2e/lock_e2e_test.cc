// One writer per tenant and exit codes that tell the truth, end to end: the real deskpipe binary syncs the real
// emulator, paced by a small API budget so a sync stays running while the test runs other commands against the
// same tenant. A second writer exits 2 at once naming the first; readers are not blocked; `--wait` takes over
// when the first stops; a stopped run exits 130 / 143; a killed run shows as interrupted; a failed run keeps
// its error.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e/command.h"
#include "e2e/scratch_dir_test.h"

namespace {

namespace fs = std::filesystem;
using deskpipe::e2e::CommandResult;
using deskpipe::e2e::Exit;
using deskpipe::e2e::Spawn;
using deskpipe::e2e::Wait;
using deskpipe::e2e::WaitUntilCatching;

constexpr char kKey[] = "lock-secret-key";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Polls `done` every 50 ms for up to two minutes (a loaded machine starts binaries slowly); false on timeout.
bool Eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

bool StillRunning(pid_t pid) { return waitpid(pid, nullptr, WNOHANG) == 0; }

class LockE2eTest : public deskpipe::e2e::ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    // 60 credits a minute: a sync of 60 tickets (~3 credits each) runs for minutes unless stopped.
    StartEmulator(
        {"--seed", "3", "--tickets", "60", "--now", "2026-11-01T00:00:00Z", "--api-key", kKey, "--budget", "60"});
  }

  std::vector<std::string> Deskpipe(const std::string& verb, const std::vector<std::string>& extra = {}) {
    return deskpipe::e2e::DeskpipeArgs(DESKPIPE_BIN, verb, "acme", (root_ / "data").string(), extra);
  }
  std::vector<std::string> Sync(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--base-url", emulator_->base_url(), "--api-key", kKey};
    args.insert(args.end(), extra.begin(), extra.end());
    return Deskpipe("sync", args);
  }
  CommandResult Run(const std::vector<std::string>& args) { return deskpipe::e2e::RunCommand(args, " 2>&1"); }
  // `status --json`'s last run (null when none, or when status failed).
  nlohmann::json LastRun() {
    const CommandResult status = deskpipe::e2e::RunCommand(Deskpipe("status", {"--json"}));
    if (status.exit_code != 0) return nullptr;
    return nlohmann::json::parse(status.out, nullptr, false).value("last_run", nlohmann::json());
  }
  // Waits until the last run is a running one other than `other_than`; its id, or -1.
  int64_t WaitForRunningRun(int64_t other_than = -1) {
    int64_t id = -1;
    Eventually([&] {
      const nlohmann::json run = LastRun();
      if (!run.is_object() || run["state"] != "running" || run["id"] == other_than) return false;
      id = run["id"].get<int64_t>();
      return true;
    });
    return id;
  }
  // Spawns a sync logging to `log` and waits for its run to be recorded as running.
  struct RunningSync {
    pid_t pid = -1;
    int64_t run = -1;  // -1: it never showed as running
  };
  RunningSync StartSync(const fs::path& log) {
    RunningSync sync;
    sync.pid = Spawn(Sync(), log);
    if (sync.pid > 0) sync.run = WaitForRunningRun();
    return sync;
  }
};

TEST_F(LockE2eTest, SecondWriterExitsTwoNamingTheHolderAndWaitTakesOverWhenItStops) {
  const fs::path first_log = root_ / "first.log";
  const auto [first, first_run] = StartSync(first_log);
  ASSERT_GT(first_run, 0) << ReadFile(first_log);
  ASSERT_TRUE(StillRunning(first)) << ReadFile(first_log);

  // Every writer of the tenant is refused at once, with who holds it and how to wait.
  const CommandResult second = Run(Sync());
  EXPECT_EQ(second.exit_code, 2) << second.out;
  EXPECT_NE(second.out.find("tenant acme is being written by pid " + std::to_string(first)), std::string::npos)
      << second.out;
  EXPECT_NE(second.out.find("(deskpipe sync); pass --wait to wait for it"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find(" since 20"), std::string::npos) << second.out;
  const CommandResult reset = Run(Deskpipe("reset"));
  EXPECT_EQ(reset.exit_code, 2) << reset.out;
  EXPECT_NE(reset.out.find("pid " + std::to_string(first)), std::string::npos) << reset.out;
  EXPECT_EQ(Run(Deskpipe("verify", {"--repair"})).exit_code, 2);
  EXPECT_EQ(Run(Deskpipe("retry-failed", {"--base-url", emulator_->base_url(), "--api-key", kKey})).exit_code, 2);

  // Readers take no lock.
  const CommandResult status = Run(Deskpipe("status"));
  EXPECT_EQ(status.exit_code, 0) << status.out;
  EXPECT_NE(status.out.find("last run    #" + std::to_string(first_run) + " running"), std::string::npos) << status.out;
  const CommandResult search = Run(Deskpipe("search", {"refund"}));
  EXPECT_EQ(search.exit_code, 0) << search.out;
  ASSERT_TRUE(StillRunning(first)) << "the checks above must have run against a live writer";

  // A waiting writer waits, then takes over once the first one stops.
  const fs::path waiter_log = root_ / "waiter.log";
  const pid_t waiter = Spawn(Sync({"--wait"}), waiter_log);
  ASSERT_GT(waiter, 0);
  ASSERT_TRUE(Eventually([&] { return ReadFile(waiter_log).find("waiting for") != std::string::npos; }))
      << ReadFile(waiter_log);
  EXPECT_TRUE(StillRunning(waiter));
  EXPECT_EQ(LastRun()["id"], first_run);

  ASSERT_TRUE(WaitUntilCatching(first, SIGINT));
  kill(first, SIGINT);
  const Exit first_exit = Wait(first);
  EXPECT_TRUE(first_exit.exited && first_exit.code == 130) << "exit " << first_exit.code << " signal "
                                                           << first_exit.signal << "\n" << ReadFile(first_log);
  EXPECT_NE(ReadFile(first_log).find("cursors saved: run the same command again to resume"), std::string::npos)
      << ReadFile(first_log);

  const int64_t waiter_run = WaitForRunningRun(first_run);
  ASSERT_GT(waiter_run, first_run) << ReadFile(waiter_log);
  ASSERT_TRUE(WaitUntilCatching(waiter, SIGTERM));
  kill(waiter, SIGTERM);
  const Exit waiter_exit = Wait(waiter);
  EXPECT_TRUE(waiter_exit.exited && waiter_exit.code == 143) << "exit " << waiter_exit.code << " signal "
                                                             << waiter_exit.signal << "\n" << ReadFile(waiter_log);
  EXPECT_EQ(LastRun()["state"], "stopped");

  // One writer at a time left the vector index whole.
  const CommandResult verify = Run(Deskpipe("verify"));
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
}

TEST_F(LockE2eTest, AKilledRunShowsInterruptedAndAFailedRunKeepsItsError) {
  const fs::path log = root_ / "killed.log";
  const auto [killed, run] = StartSync(log);
  ASSERT_GT(run, 0) << ReadFile(log);
  kill(killed, SIGKILL);
  const Exit killed_exit = Wait(killed);
  ASSERT_EQ(killed_exit.signal, SIGKILL);

  const nlohmann::json interrupted = LastRun();
  EXPECT_EQ(interrupted["id"], run);
  EXPECT_EQ(interrupted["state"], "interrupted") << interrupted.dump();
  const CommandResult status = Run(Deskpipe("status"));
  EXPECT_NE(status.out.find("last run    #" + std::to_string(run) + " interrupted"), std::string::npos) << status.out;

  // A run refused by Freshdesk fails (exit 2) and keeps why, without the key.
  const CommandResult refused = Run(Deskpipe("sync", {"--base-url", emulator_->base_url(), "--api-key", "wrong-9876"}));
  EXPECT_EQ(refused.exit_code, 2) << refused.out;
  const nlohmann::json failed = LastRun();
  EXPECT_GT(failed["id"].get<int64_t>(), run);
  EXPECT_EQ(failed["state"], "failed") << failed.dump();
  const std::string error = failed["summary"].value("error", "");
  EXPECT_NE(error.find("FRESHDESK_API_KEY"), std::string::npos) << failed.dump();
  EXPECT_EQ(failed.dump().find("wrong-9876"), std::string::npos) << failed.dump();
  const CommandResult failed_status = Run(Deskpipe("status"));
  EXPECT_NE(failed_status.out.find("failed"), std::string::npos) << failed_status.out;
  EXPECT_NE(failed_status.out.find("error: " + error), std::string::npos) << failed_status.out;
}

}  // namespace
