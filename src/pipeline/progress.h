// Progress of a sync per stream and per stage: counts, rates, totals and an ETA, as JSON for the store's run
// record and for a display (text rows of it: progress_rows.h; drawing them is the front end's business: see
// cli/progress_display.h).
//
// Items: a stream's top-level records (a ticket with its conversations is one item, an article one, a contact
// one). A stream's total is a count of the items it has to read when the platform can give one
// (Source::CountRemaining, handed over with SetTotal), else unknown (null) — never a guess. Counts can be upper
// bounds (Freshdesk's counts a whole day again, see freshdesk_source.h), and an index that lags can count too
// few, so what is reported never has processed > total: a stream's total is at least what it stored, and when
// the stream ends done its total becomes what it stored. A stream without a count that ends done gets that
// total too.
//
// Snapshot, at top level:
//   total_items        sum of the streams' totals; null when a started stream that has stored items has none
//                      (or no stream has one). Streams not started yet are not in it, so it can grow when one
//                      starts.
//   processed_items    items stored, failed_items records dead-lettered (failed mapping, conversion, download
//                      or extraction; a stored ticket whose attachment failed is processed and one failure).
//   current_stage      of the earliest-started stream still running, the earliest stage with work left for it:
//                      "fetch" while its fetch still reads, then "transform" (with extract, document building
//                      and summaries), "chunk", "embed" or "store" for the batches it has left; "done" when no
//                      stream runs (also after a stop or a failure).
//   completion_fraction  processed / total, at most 1 (1 when the total is 0); null when total_items is.
//   eta_seconds, eta_basis  for the streams still running with a total: the items left × the API credits per
//                      item measured on that stream ÷ the budget's credits per second ("budget"), or the items
//                      left ÷ the items stored per second so far ("measured"), whichever is slower; summed over
//                      the streams. Null (basis null) when unknown.
// Per stream: "total" (null when unknown), "counted" (the platform's count as given, kept after the stream ends;
// null when none), "processed", "failed", and "fraction"/"eta_seconds"/"eta_basis"
// from these counts when the total is known. Without a total, a stream read in updated_at order still gets a
// guess of how far it is through time (basis "time"): fraction = (latest updated_at read − first one) /
// (now − first one); a stream whose batches stop arriving in that order (the KB walk) gets neither.
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
  // "done", "skipped", "stopped", "failed". Done (and skipped: nothing more is read this run) sets the stream's
  // total to the items it stored.
  void StreamFinished(const std::string& stream, const std::string& state);

  // The items `stream` has to read, as the platform counted them when it started; nullopt: no count.
  void SetTotal(const std::string& stream, std::optional<int64_t> total);
  // Items the fetch read (top-level records, rejected ones included) and the API credits it spent on the stream
  // meanwhile (nullopt: not measured); feeds the credits per item of the ETA.
  void AddFetched(const std::string& stream, int64_t items, std::optional<int64_t> credits);
  // The fetch has read the stream's last batch.
  void FetchFinished(const std::string& stream);
  // Items stored (committed) and records dead-lettered.
  void AddProcessed(const std::string& stream, int64_t items);
  void AddFailed(const std::string& stream, int64_t records);
  // One batch of `stream` is through `stage` (fetch, transform, chunk, embed, store); for current_stage.
  void BatchThrough(const std::string& stream, Stage stage);
  // The API credits per second this process may spend (the account's rate × its budget share); nullopt while
  // unknown.
  void SetBudget(std::optional<double> credits_per_second);

  // {"elapsed_seconds", "total_items", "processed_items", "failed_items", "current_stage",
  //  "completion_fraction", "eta_seconds", "eta_basis",
  //  "streams": {name: {"state", "elapsed_seconds", "total", "counted", "processed", "failed", "fraction"?,
  //    "eta_seconds"?, "eta_basis"?, "stages": {stage: {"count", "unit", "per_second"}}}}}; see above.
  nlohmann::json Snapshot() const;

 private:
  struct StreamState {
    std::string state = "running";
    Clock::time_point started;
    std::optional<Clock::time_point> finished;
    int64_t counts[kStageCount] = {};
    std::optional<int64_t> first_updated_at;
    int64_t last_max_updated_at = 0;
    bool time_ordered = true;
    std::optional<int64_t> counted;  // as the platform counted it (SetTotal)
    std::optional<int64_t> total;    // counted, or what was stored once the stream ended done
    bool fetch_over = false;
    int64_t fetched_items = 0;
    int64_t credits = 0;  // spent while fetching fetched_items
    bool credits_measured = false;
    int64_t processed = 0;
    int64_t failed = 0;
    int64_t batches[kStageCount] = {};  // batches through each stage
  };

  // The stream's state, added (in order) when new. Requires mutex_.
  StreamState& State(const std::string& stream);

  std::function<Clock::time_point()> now_;
  std::function<int64_t()> now_unix_;
  Clock::time_point started_;
  std::optional<double> budget_per_second_;
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
