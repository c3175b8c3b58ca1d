// Progress of a sync per stream and per stage: counts, rates and an ETA, as JSON for the store's run record
// and as text lines for a display (drawing them is the front end's business: see cli/progress_display.h).
//
// The ETA: Freshdesk gives no totals for its lists, but a stream read in updated_at order (tickets) tells how
// far it is through time: fraction = (latest updated_at read − first one) / (now − first one). A stream whose
// batches stop arriving in that order (the KB walk) gets no fraction and no ETA, only rates.
//
// Thread-safety: every method may be called from any thread (one mutex). Lifetime: outlives the stages that
// report into it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
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

// Something that shows a run's progress while it runs (the CLI's terminal or plain-line display, in cli/).
// The runner calls RunStarted when its threads start and RunFinished once its stages are done, before the run
// is recorded as finished; both from the thread that called Runner::Run.
class ProgressWatcher {
 public:
  virtual ~ProgressWatcher() = default;
  // `tracker` outlives the matching RunFinished.
  virtual void RunStarted(const ProgressTracker& tracker) = 0;
  virtual void RunFinished() = 0;
};

}  // namespace deskpipe
