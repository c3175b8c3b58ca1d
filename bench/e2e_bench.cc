// bench/e2e: tickets per second of a whole `deskpipe sync` — the emulator's HTTP API, mapping, threads,
// chunking, embedding and the SQLite + usearch store — for a helpdesk of 20,000 tickets with their threads,
// once per embedder (issue 8, point 9: targets ≥ 3,000/s with hashing, ≥ 300/s with USE-lite).
//
//   bench_e2e [--tickets N] [--embedder NAME …]     (default: 20000; hashing and use-lite)
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sync_bench_common.h"

int main(int argc, char** argv) {
  using namespace deskpipe::bench;
  int tickets = 20000;
  std::vector<std::string> embedders;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--tickets" && i + 1 < argc) {
      tickets = std::atoi(argv[++i]);
    } else if (arg == "--embedder" && i + 1 < argc) {
      embedders.push_back(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: bench_e2e [--tickets N] [--embedder NAME …]\n");
      return 2;
    }
  }
  if (embedders.empty()) embedders = {"hashing", "use-lite"};
  const fs::path root = fs::temp_directory_path() / ("deskpipe-bench-e2e-" + std::to_string(getpid()));
  const fs::path log = root / "sync.log";
  fs::create_directories(root);

  auto emulator = StartEmulator(tickets);
  if (!emulator) {
    std::fprintf(stderr, "%s\n", emulator.error().ToString().c_str());
    return 1;
  }
  if (const char* core = std::getenv("OPENBLAS_CORETYPE")) {
    std::printf("OPENBLAS_CORETYPE=%s in the environment: USE-lite runs on those kernels (unset: deskpipe picks)\n",
                core);
  }
  // The emulator shares the machine's cores with the sync: its CPU per ticket is what a real Freshdesk would
  // not take from deskpipe.
  std::printf("%-10s %8s %10s %12s %12s %14s %16s %18s\n", "embedder", "tickets", "seconds", "tickets/s", "chunks",
              "peak RSS MB", "CPU ms/ticket", "emulator ms/ticket");
  for (const std::string& embedder : embedders) {
    const double emulator_before = ProcessCpuSeconds(emulator->pid());
    const SyncMeasurement m = MeasureSync(emulator->base_url(), root / ("data-" + embedder), embedder, log);
    const double emulator_cpu = ProcessCpuSeconds(emulator->pid()) - emulator_before;
    if (!m.ok) {
      std::fprintf(stderr, "sync with %s failed; see %s\n", embedder.c_str(), log.c_str());
      return 1;
    }
    long long chunks = 0;
    try {
      chunks = nlohmann::json::parse(m.output).value("chunks_written", 0LL);
    } catch (const std::exception&) {
    }
    std::printf("%-10s %8d %10.1f %12.0f %12lld %14.1f %16.2f %18.2f\n", embedder.c_str(), tickets, m.seconds,
                tickets / m.seconds, chunks, m.peak_rss_mb, m.cpu_seconds * 1000 / tickets,
                emulator_cpu * 1000 / tickets);
    std::fflush(stdout);
  }
  fs::remove_all(root);
  return 0;
}
