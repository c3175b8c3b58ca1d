#include "cli/emulator_process.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace deskpipe::cli {

std::string FindEmulatorBinary() {
  if (const char* explicit_path = std::getenv("DESKPIPE_EMULATOR"); explicit_path && *explicit_path) {
    return explicit_path;
  }
  std::error_code error;
  auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) return "freshdesk-emulator";
  return (self.parent_path() / "freshdesk-emulator").string();
}

std::string FindZendeskEmulatorBinary() {
  if (const char* explicit_path = std::getenv("DESKPIPE_ZENDESK_EMULATOR"); explicit_path && *explicit_path) {
    return explicit_path;
  }
  std::error_code error;
  auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) return "zendesk-emulator";
  return (self.parent_path() / "zendesk-emulator").string();
}

Result<EmulatorProcess> EmulatorProcess::Start(const std::string& binary, const std::vector<std::string>& args,
                                               int port) {
  if (access(binary.c_str(), X_OK) != 0) {
    return Error(InvalidArgument("the emulator was not found at " + binary +
                                 ": build it, or set DESKPIPE_EMULATOR (DESKPIPE_ZENDESK_EMULATOR for Zendesk)"));
  }
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return Error(Internal("pipe() failed"));

  std::vector<std::string> argv_storage = {binary, "--port", std::to_string(port)};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  pid_t pid = -1;
  int spawned = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (spawned != 0) {
    close(pipe_fds[0]);
    return Error(Internal("could not start " + binary));
  }

  // The first line is "listening on http://127.0.0.1:PORT".
  std::string line;
  char c;
  while (read(pipe_fds[0], &c, 1) == 1 && c != '\n') line.push_back(c);
  close(pipe_fds[0]);
  const std::string prefix = "listening on ";
  if (line.rfind(prefix, 0) != 0) {
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
    return Error(Internal("the emulator did not start (it printed '" + line + "')"));
  }
  return EmulatorProcess(pid, line.substr(prefix.size()));
}

EmulatorProcess::EmulatorProcess(EmulatorProcess&& other) noexcept
    : pid_(other.pid_), base_url_(std::move(other.base_url_)) {
  other.pid_ = -1;
}

EmulatorProcess::~EmulatorProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  waitpid(pid_, nullptr, 0);
}

}  // namespace deskpipe::cli
