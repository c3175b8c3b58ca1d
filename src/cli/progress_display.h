// The live progress of a sync on stderr: on a terminal, one bar line per stream redrawn in place (ANSI cursor
// movement) every `interval`; on anything else (logs, CI), one plain line per stream every `plain_interval`.
// The final state is drawn once when the run finishes. It reads the runner's ProgressTracker
// (pipeline/progress.h), which knows nothing of terminals.
//
// Thread-safety: the runner calls RunStarted / RunFinished from one thread; the display draws from a thread
// of its own in between. Lifetime: must outlive the run it watches (the runner holds it through RunnerOptions).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <mutex>
#include <thread>

#include "pipeline/progress.h"

namespace deskpipe::cli {

class ProgressDisplay : public ProgressWatcher {
 public:
  enum class Mode { kAuto, kPlain, kTerminal };
  struct Options {
    Mode mode = Mode::kAuto;  // kAuto: kTerminal when `out` is a TTY, else kPlain
    std::chrono::milliseconds interval{250};
    std::chrono::milliseconds plain_interval{10000};
    FILE* out = stderr;
  };

  explicit ProgressDisplay(Options options);
  ProgressDisplay() : ProgressDisplay(Options{}) {}
  ~ProgressDisplay() override;

  void RunStarted(const ProgressTracker& tracker) override;
  void RunFinished() override;

 private:
  void Loop();
  void Draw(bool final_draw);

  Options options_;
  Mode mode_;
  const ProgressTracker* tracker_ = nullptr;  // set while a run is watched
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
  size_t lines_drawn_ = 0;
};

}  // namespace deskpipe::cli
