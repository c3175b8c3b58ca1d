// bench/memory: peak RSS of `deskpipe sync` (hashing embedder) over helpdesks of 10k, 50k and 100k tickets
// (issue 8, point 8: target < 300 MB and < 10 % growth from 10k to 100k). The bounded queues between stages
// are what keeps it flat: only a few batches are ever in memory.
//
//   bench_memory [tickets …] [--embedder hashing|use-lite]     (default: 10000 50000 100000, hashing)
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "sync_bench_common.h"

int main(int argc, char** argv) {
  using namespace deskpipe::bench;
  std::vector<int> sizes;
  std::string embedder = "hashing";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--embedder" && i + 1 < argc) {
      embedder = argv[++i];
    } else {
      sizes.push_back(std::atoi(arg.c_str()));
    }
  }
  if (sizes.empty()) sizes = {10000, 50000, 100000};
  const fs::path root = fs::temp_directory_path() / ("deskpipe-bench-memory-" + std::to_string(getpid()));
  const fs::path log = root / "sync.log";
  fs::create_directories(root);

  std::printf("%-10s %-10s %10s %12s %14s %16s\n", "tickets", "embedder", "seconds", "tickets/s", "peak RSS MB",
              "CPU ms/ticket");
  double first_rss = 0;
  double last_rss = 0;
  for (int tickets : sizes) {
    auto emulator = StartEmulator(tickets);
    if (!emulator) {
      std::fprintf(stderr, "%s\n", emulator.error().ToString().c_str());
      return 1;
    }
    const SyncMeasurement m = MeasureSync(emulator->base_url(), root / "data", embedder, log);
    if (!m.ok) {
      std::fprintf(stderr, "sync of %d tickets failed; see %s\n", tickets, log.c_str());
      return 1;
    }
    std::printf("%-10d %-10s %10.1f %12.0f %14.1f %16.2f\n", tickets, embedder.c_str(), m.seconds,
                tickets / m.seconds, m.peak_rss_mb, m.cpu_seconds * 1000 / tickets);
    std::fflush(stdout);
    if (first_rss == 0) first_rss = m.peak_rss_mb;
    last_rss = m.peak_rss_mb;
  }
  if (sizes.size() > 1) {
    std::printf("growth from %d to %d tickets: %+.1f %%\n", sizes.front(), sizes.back(),
                (last_rss - first_rss) / first_rss * 100);
  }
  fs::remove_all(root);
  return 0;
}
