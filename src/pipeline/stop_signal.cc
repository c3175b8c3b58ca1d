#include "pipeline/stop_signal.h"

#include <signal.h>
#include <unistd.h>

namespace deskpipe {
namespace {

std::atomic<bool> stop_flag{false};
std::atomic<int> signals_seen{0};
std::atomic<int> first_signal{0};

// Only async-signal-safe calls here: atomics, write(2), _exit(2).
void OnStopSignal(int signal) {
  const int seen = signals_seen.fetch_add(1) + 1;
  int none = 0;
  first_signal.compare_exchange_strong(none, signal);
  stop_flag.store(true);
  if (seen == 1) {
    static const char kMessage[] =
        "\ndeskpipe: stopping after the batches in hand (cursors are saved); signal again to stop at once\n";
    [[maybe_unused]] ssize_t n = write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
  } else {
    static const char kMessage[] = "\ndeskpipe: stopped at once; the next sync resumes from the last saved cursor\n";
    [[maybe_unused]] ssize_t n = write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
    _exit(128 + first_signal.load());
  }
}

}  // namespace

void InstallStopSignalHandlers() {
  struct sigaction action = {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

std::atomic<bool>& ProcessStopFlag() { return stop_flag; }

int StopExitCode() {
  const int signal = first_signal.load();
  return signal != 0 ? 128 + signal : 130;
}

}  // namespace deskpipe
