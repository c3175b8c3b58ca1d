// Shared by the sync benchmarks (bench/memory_bench.cc, bench/e2e_bench.cc): starts the real emulator binary
// with N synthetic tickets, runs the real `deskpipe sync` into a fresh data directory, and measures the sync
// process (wall time, peak RSS from wait4). Header-only (link deskpipe_emulator_process); single-threaded.
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
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/emulator_process.h"
#include "core/status.h"

extern char** environ;

namespace deskpipe::bench {

namespace fs = std::filesystem;

inline std::vector<char*> Argv(std::vector<std::string>& storage) {
  std::vector<char*> argv;
  for (auto& a : storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  return argv;
}

// The emulator binary serving `tickets` synthetic tickets (fixed seed and clock, so every run syncs the same
// data) on a free port, through the same EmulatorProcess `deskpipe demo` uses; stopped on destruction.
// Unthrottled: `--budget 1000000` advertises (and enforces) a million credits per minute. Without it the
// emulator refuses nothing but still sends X-RateLimit-Total: 5000, and deskpipe's rate governor rightly paces
// itself to that: a 20,000-ticket sync (~3 credits a ticket) would then take 12 minutes whatever the pipeline
// does. The governor's tickets-list sub-limit (400 calls a minute at this total) still applies.
inline Result<cli::EmulatorProcess> StartEmulator(int tickets, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--seed", "5", "--tickets", std::to_string(tickets), "--now",
                                   "2026-11-01T00:00:00Z", "--api-key", "bench-key", "--budget", "1000000"};
  args.insert(args.end(), extra.begin(), extra.end());
  return cli::EmulatorProcess::Start(EMULATOR_BIN, args);
}

struct SyncMeasurement {
  bool ok = false;
  double seconds = 0;
  double peak_rss_mb = 0;
  double cpu_seconds = 0;  // user + system time of the sync process: steadier than wall time on a busy machine
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
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  m.cpu_seconds = seconds(usage.ru_utime) + seconds(usage.ru_stime);
  m.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (FILE* f = std::fopen(out.c_str(), "r")) {
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), f)) > 0) m.output.append(buffer, n);
    std::fclose(f);
  }
  return m;
}

// User + system CPU seconds a running process has used so far (/proc/PID/stat fields 14 and 15), or -1.
inline double ProcessCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t name_end = stat.rfind(')');  // the command name may hold spaces
  if (name_end == std::string::npos) return -1;
  std::istringstream fields(stat.substr(name_end + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {  // field 3 (state) is the first after the name
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace deskpipe::bench
