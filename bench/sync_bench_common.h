// Shared by the sync benchmarks (bench/memory_bench.cc, bench/e2e_bench.cc): starts the real emulator binary
// with N synthetic tickets, runs the real `deskpipe sync` into a fresh data directory, and measures the sync
// process (wall time, peak RSS from wait4). Header-only; single-threaded.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

extern char** environ;

namespace deskpipe::bench {

namespace fs = std::filesystem;

inline std::vector<char*> Argv(std::vector<std::string>& storage) {
  std::vector<char*> argv;
  for (auto& a : storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  return argv;
}

// The emulator binary serving `tickets` synthetic tickets on a free port; stopped on destruction.
class Emulator {
 public:
  Emulator(int tickets, std::vector<std::string> extra = {}) {
    int fds[2];
    if (pipe(fds) != 0) return;
    std::vector<std::string> args = {EMULATOR_BIN, "--port", "0", "--seed", "5", "--tickets", std::to_string(tickets),
                                     "--now", "2026-11-01T00:00:00Z", "--api-key", "bench-key"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv = Argv(args);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn(&pid_, EMULATOR_BIN, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    std::string line;
    char c;
    while (read(fds[0], &c, 1) == 1 && c != '\n') line.push_back(c);
    close(fds[0]);
    if (line.rfind("listening on ", 0) == 0) url_ = line.substr(13);
  }
  ~Emulator() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  const std::string& url() const { return url_; }

 private:
  pid_t pid_ = -1;
  std::string url_;
};

struct SyncMeasurement {
  bool ok = false;
  double seconds = 0;
  double peak_rss_mb = 0;
  std::string output;  // the sync's stdout (the --json summary)
};

// Runs `deskpipe sync --json` against `url` into `data_dir` with `embedder`; stderr goes to `log`.
inline SyncMeasurement MeasureSync(const std::string& url, const fs::path& data_dir, const std::string& embedder,
                                   const fs::path& log) {
  SyncMeasurement m;
  fs::remove_all(data_dir);
  fs::create_directories(data_dir);
  const fs::path out = data_dir / "summary.json";
  std::vector<std::string> args = {DESKPIPE_BIN, "sync", "--tenant", "bench", "--data-dir", data_dir.string(),
                                   "--embedder", embedder, "--base-url", url, "--api-key", "bench-key", "--json"};
  std::vector<char*> argv = Argv(args);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  const auto started = std::chrono::steady_clock::now();
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) return m;
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  struct rusage usage = {};
  wait4(pid, &status, 0, &usage);
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  m.peak_rss_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
  m.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (FILE* f = std::fopen(out.c_str(), "r")) {
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), f)) > 0) m.output.append(buffer, n);
    std::fclose(f);
  }
  return m;
}

}  // namespace deskpipe::bench
