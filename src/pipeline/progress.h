// Progress of a sync per stream and per stage (issue 8, point 2): counts, rates and an ETA, rendered as live
// bars on a terminal or as plain periodic lines otherwise, and as JSON for the store's run record.
//
// The ETA: Freshdesk gives no totals for its lists, but a stream read in updated_at order (tickets) tells how
// far it is through time: fraction = (latest updated_at read − first one) / (now − first one). A stream whose
// batches stop arriving in that order (the KB walk) gets no fraction and no ETA, only rates.
//
// Thread-safety: every method may be called from any thread (one mutex). Lifetime: outlives the stages that
// report into it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace deskpipe {

enum class Stage { kFetch, kTransform, kExtract, kChunk, kEmbed, kStore };
inline constexpr int kStageCount = 6;
const char* StageName(Stage stage);
// What a stage counts: records (fetch, transform, store), attachments (extract), documents (chunk), chunks
// (embed).
const char* StageUnit(Stage stage);

class ProgressTracker {
 public:
  using Clock = std::chrono::steady_clock;
  // `now_unix` gives the wall clock in Unix seconds (the ETA compares it with updated_at); injectable for tests.
  explicit ProgressTracker(std::function<Clock::time_point()> now = Clock::now,
                           std::function<int64_t()> now_unix = nullptr);

  void StreamStarted(const std::string& stream);
  void Add(const std::string& stream, Stage stage, int64_t count);
  // Records the updated_at range (Unix seconds) of one fetched batch, in fetch order; feeds the ETA.
  void ObserveUpdatedAt(const std::string& stream, int64_t min_updated_at, int64_t max_updated_at);
  void StreamFinished(const std::string& stream, const std::string& state);  // "done", "skipped", "stopped", "failed"

  // {"elapsed_seconds": s, "streams": {name: {"state", "elapsed_seconds", "fraction"?, "eta_seconds"?,
  //   "stages": {stage: {"count", "unit", "per_second"}}}}}
  nlohmann::json Snapshot() const;

  // Human text of a snapshot: one line per stream ("tickets  fetch 1200 records 240/s · … · 45% ETA 0:32").
  static std::vector<std::string> Lines(const nlohmann::json& snapshot, bool with_bars);

 private:
  struct StreamState {
    std::string state = "running";
    Clock::time_point started;
    std::optional<Clock::time_point> finished;
    int64_t counts[kStageCount] = {};
    std::optional<int64_t> first_updated_at;
    int64_t last_max_updated_at = 0;
    bool time_ordered = true;
  };

  std::function<Clock::time_point()> now_;
  std::function<int64_t()> now_unix_;
  Clock::time_point started_;
  mutable std::mutex mutex_;
  std::vector<std::string> order_;  // streams in the order they started
  std::map<std::string, StreamState> streams_;
};

// Draws a tracker's snapshots while a sync runs: on a terminal, bars redrawn in place every `interval`; on
// anything else, one plain line per stream every `plain_interval`. Also calls `on_tick` (e.g. persist to SQL)
// every `persist_interval`. Stop() (or destruction) draws the final state once.
// Thread-safety: Start/Stop from one thread; runs its own thread in between.
class ProgressDisplay {
 public:
  enum class Mode { kNone, kAuto, kPlain, kTerminal };
  struct Options {
    Mode mode = Mode::kAuto;  // kAuto: kTerminal when stderr is a TTY, else kPlain
    std::chrono::milliseconds interval{250};
    std::chrono::milliseconds plain_interval{10000};
    std::chrono::milliseconds persist_interval{5000};
    std::function<void(const nlohmann::json&)> on_tick;  // may be empty
    FILE* out = stderr;
  };

  ProgressDisplay(const ProgressTracker& tracker, Options options);
  ~ProgressDisplay();
  void Start();
  void Stop();

 private:
  void Loop();
  void Draw(bool final_draw);

  const ProgressTracker& tracker_;
  Options options_;
  Mode mode_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
  size_t lines_drawn_ = 0;
};

}  // namespace deskpipe
