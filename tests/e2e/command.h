// End-to-end test support: runs a binary (deskpipe, the emulator's tools) to completion through /bin/sh with
// its stdout captured (the credential variables deskpipe reads are removed from its environment, so a
// developer's own settings cannot leak into a test), or spawns one in the background to signal and wait for.
// Header-only; not thread-safe (popen).
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace deskpipe::e2e {

struct CommandResult {
  int exit_code = -1;  // -1 when the command could not run or died of a signal
  std::string out;
};

// `arg` quoted for /bin/sh.
inline std::string ShellQuote(const std::string& arg) {
  std::string quoted = "'";
  for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// `shell_suffix` is appended to the command line as is: a stderr redirection such as " 2>&1" or
// " 2>>'log'" (otherwise stderr passes through to the test's own).
inline CommandResult RunCommand(const std::vector<std::string>& args, const std::string& shell_suffix = "") {
  std::string command = "env -u TENANT_ID -u FRESHDESK_API_KEY -u FRESHDESK_DOMAIN -u FRESHDESK_BASE_URL";
  for (const auto& arg : args) command += " " + ShellQuote(arg);
  command += shell_suffix;
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.out.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// The arguments of `BINARY VERB --tenant TENANT --data-dir DATA_DIR --embedder hashing EXTRA…`: the deskpipe
// command line the end-to-end tests run against the emulator.
inline std::vector<std::string> DeskpipeArgs(const std::string& binary, const std::string& verb,
                                             const std::string& tenant, const std::string& data_dir,
                                             const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {binary, verb, "--tenant", tenant, "--data-dir", data_dir,
                                   "--embedder", "hashing"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// Waits until process `pid` has a handler for `signal` (its SigCgt mask in /proc), for up to 30 s. A signal sent
// before deskpipe installs its handlers takes the default action and kills it, which is not what a test of the
// handlers wants to see; under a loaded machine, loading the binary's libraries alone can outlast a short sleep.
inline bool WaitUntilCatching(pid_t pid, int signal) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    FILE* status = std::fopen(("/proc/" + std::to_string(pid) + "/status").c_str(), "r");
    if (status == nullptr) return false;
    std::array<char, 256> line;
    unsigned long long caught = 0;
    while (std::fgets(line.data(), line.size(), status) != nullptr) {
      if (std::sscanf(line.data(), "SigCgt: %llx", &caught) == 1) break;
    }
    std::fclose(status);
    if (caught & (1ULL << (signal - 1))) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

// Spawns `args` with stdout and stderr sent to `log` (appended); -1 when it could not start.
inline pid_t Spawn(std::vector<std::string> args, const std::filesystem::path& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

struct Exit {
  bool exited = false;
  int code = -1;
  int signal = 0;
};

// Waits for a spawned process to end.
inline Exit Wait(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  Exit e;
  if (WIFEXITED(status)) {
    e.exited = true;
    e.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    e.signal = WTERMSIG(status);
  }
  return e;
}

}  // namespace deskpipe::e2e
