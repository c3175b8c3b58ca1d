// The live progress of a sync on stderr, in one of three forms:
//   terminal  rows redrawn in place (ANSI cursor movement) every `interval`: one per running stream and one for
//             the run, each fitted to the terminal's width (queried at every draw) so that none wraps. A stream
//             that ends is written once, as one short line, above the rows still redrawn.
//   plain     (a pipe, a log file, CI) every `plain_interval`, one line per running stream and one for the run;
//             one line when a stream ends; never the whole table again.
//   json      (--log-format json) the same as log events, so every stderr line is JSON: "progress" (a stream:
//             its snapshot entry plus "stream"; every interval while it runs, once when it ends) and
//             "run progress" (the snapshot's run fields; "final": true on the last).
// It reads the runner's ProgressTracker (pipeline/progress.h), which knows nothing of terminals; the rows are
// pipeline/progress_rows.h's.
//
// Thread-safety: the runner calls RunStarted / RunFinished from one thread; the display draws from a thread
// of its own in between. Lifetime: must outlive the run it watches (the runner holds it through RunnerOptions).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/progress.h"

namespace deskpipe::cli {

enum class ProgressMode { kAuto, kPlain, kTerminal, kJson };

// What each draw of a display writes, from a snapshot and what earlier draws wrote (the rows a terminal draw
// left to redraw, the ended streams already reported). No clock and no I/O, so tests can drive it draw by draw;
// the display's thread is its one user otherwise. Not thread-safe.
class ProgressRenderer {
 public:
  struct Screen {
    size_t columns = 80;
    size_t rows = 24;
  };
  struct Event {
    std::string message;
    nlohmann::json fields;
  };
  struct Output {
    std::string text;           // to write as is (terminal, plain)
    std::vector<Event> events;  // to log (json)
  };

  // `mode` is kPlain, kTerminal or kJson (kAuto is drawn as kPlain).
  explicit ProgressRenderer(ProgressMode mode) : mode_(mode) {}

  // One draw of `snapshot`; the final one after the run (no rows are redrawn after it).
  Output Draw(const nlohmann::json& snapshot, bool final_draw, Screen screen);

 private:
  // The streams of `snapshot` that have ended and were not reported yet; marks them reported. A stream seen
  // running again (restarted) may be reported again.
  std::vector<std::string> NewlyEnded(const nlohmann::json& snapshot);
  std::string DrawTerminal(const nlohmann::json& snapshot, bool final_draw, Screen screen);
  std::string DrawPlain(const nlohmann::json& snapshot);
  std::vector<Event> DrawJson(const nlohmann::json& snapshot, bool final_draw);

  ProgressMode mode_;
  size_t rows_to_redraw_ = 0;  // terminal: rows the last draw wrote that the next one overwrites
  std::set<std::string> reported_;
};

class ProgressDisplay : public ProgressWatcher {
 public:
  using Mode = ProgressMode;
  struct Options {
    // kAuto: kJson under --log-format json (log::CurrentFormat), else kTerminal when `out` is a TTY, else kPlain.
    Mode mode = Mode::kAuto;
    std::chrono::milliseconds interval{250};
    std::chrono::milliseconds plain_interval{10000};  // plain and json
    FILE* out = stderr;                                // json events go to the log (stderr) instead
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
  ProgressRenderer renderer_;  // used by the drawing thread, then by RunFinished after joining it
};

// The size of the terminal `out` writes to: its window size (TIOCGWINSZ), else $COLUMNS / $LINES, else 80 × 24.
ProgressRenderer::Screen TerminalScreen(FILE* out);

}  // namespace deskpipe::cli
