#include "pipeline/progress.h"

#include <algorithm>
#include <cmath>
#include <string_view>

#include "core/time.h"

namespace deskpipe {
namespace {

constexpr Stage kStages[kStageCount] = {Stage::kFetch, Stage::kTransform, Stage::kExtract,
                                        Stage::kChunk, Stage::kEmbed,     Stage::kStore};

double Seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The stages a batch passes through, in pipeline order, for current_stage (extract is part of transform).
constexpr Stage kBatchStages[] = {Stage::kTransform, Stage::kChunk, Stage::kEmbed, Stage::kStore};

double Round1(double x) { return std::round(x * 10) / 10; }

}  // namespace

const char* StageName(Stage stage) {
  switch (stage) {
    case Stage::kFetch: return "fetch";
    case Stage::kTransform: return "transform";
    case Stage::kExtract: return "extract";
    case Stage::kChunk: return "chunk";
    case Stage::kEmbed: return "embed";
    case Stage::kStore: return "store";
  }
  return "?";
}

const char* StageUnit(Stage stage) {
  switch (stage) {
    case Stage::kExtract: return "attachments";
    case Stage::kChunk: return "documents";
    case Stage::kEmbed: return "chunks";
    default: return "records";
  }
}

ProgressTracker::ProgressTracker(std::function<Clock::time_point()> now, std::function<int64_t()> now_unix)
    : now_(std::move(now)), now_unix_(now_unix ? std::move(now_unix) : std::function<int64_t()>(NowUnixSeconds)) {
  started_ = now_();
}

void ProgressTracker::StreamStarted(const std::string& stream) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = streams_.try_emplace(stream);
  if (inserted) order_.push_back(stream);
  it->second.state = "running";
  it->second.started = now_();
  it->second.finished.reset();
}

void ProgressTracker::Add(const std::string& stream, Stage stage, int64_t count) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = streams_.try_emplace(stream);
  if (inserted) {
    order_.push_back(stream);
    it->second.started = now_();
  }
  it->second.counts[static_cast<int>(stage)] += count;
}

void ProgressTracker::ObserveUpdatedAt(const std::string& stream, int64_t min_updated_at, int64_t max_updated_at) {
  std::lock_guard lock(mutex_);
  StreamState& s = State(stream);
  if (!s.first_updated_at) s.first_updated_at = min_updated_at;
  // Batches of a stream read in updated_at order never go back in time; one that does means no ETA.
  if (max_updated_at < s.last_max_updated_at) s.time_ordered = false;
  s.last_max_updated_at = std::max(s.last_max_updated_at, max_updated_at);
}

void ProgressTracker::StreamFinished(const std::string& stream, const std::string& state) {
  std::lock_guard lock(mutex_);
  StreamState& s = State(stream);
  s.state = state;
  s.finished = now_();
  if (state == "done" || state == "skipped") s.total = s.processed;
}

void ProgressTracker::SetTotal(const std::string& stream, std::optional<int64_t> total) {
  std::lock_guard lock(mutex_);
  StreamState& s = State(stream);
  s.total = total ? std::optional<int64_t>(std::max<int64_t>(0, *total)) : std::nullopt;
  s.counted = s.total;
}

void ProgressTracker::AddFetched(const std::string& stream, int64_t items, std::optional<int64_t> credits) {
  std::lock_guard lock(mutex_);
  StreamState& s = State(stream);
  s.fetched_items += items;
  if (credits) {
    s.credits += *credits;
    s.credits_measured = true;
  }
}

void ProgressTracker::FetchFinished(const std::string& stream) {
  std::lock_guard lock(mutex_);
  State(stream).fetch_over = true;
}

void ProgressTracker::AddProcessed(const std::string& stream, int64_t items) {
  std::lock_guard lock(mutex_);
  State(stream).processed += items;
}

void ProgressTracker::AddFailed(const std::string& stream, int64_t records) {
  std::lock_guard lock(mutex_);
  State(stream).failed += records;
}

void ProgressTracker::BatchThrough(const std::string& stream, Stage stage) {
  std::lock_guard lock(mutex_);
  ++State(stream).batches[static_cast<int>(stage)];
}

void ProgressTracker::SetBudget(std::optional<double> credits_per_second) {
  std::lock_guard lock(mutex_);
  budget_per_second_ = credits_per_second && *credits_per_second > 0 ? credits_per_second : std::nullopt;
}

ProgressTracker::StreamState& ProgressTracker::State(const std::string& stream) {
  auto [it, inserted] = streams_.try_emplace(stream);
  if (inserted) {
    order_.push_back(stream);
    it->second.started = now_();
  }
  return it->second;
}

nlohmann::json ProgressTracker::Snapshot() const {
  std::lock_guard lock(mutex_);
  const Clock::time_point now = now_();
  nlohmann::json streams = nlohmann::json::object();
  int64_t total_items = 0;
  bool any_total = false;
  bool total_unknown = false;
  int64_t processed_items = 0;
  int64_t failed_items = 0;
  std::optional<double> eta;  // over the running streams with a total
  bool eta_unknown = false;
  double largest_eta = -1;
  std::string eta_basis;
  const char* current_stage = order_.empty() ? "fetch" : "done";
  for (const std::string& name : order_) {
    const StreamState& s = streams_.at(name);
    const double elapsed = Seconds(s.finished.value_or(now) - s.started);
    nlohmann::json stages = nlohmann::json::object();
    for (Stage stage : kStages) {
      const int64_t n = s.counts[static_cast<int>(stage)];
      if (n == 0) continue;
      stages[StageName(stage)] = {{"count", n},
                                  {"unit", StageUnit(stage)},
                                  {"per_second", elapsed > 0 ? Round1(n / elapsed) : 0.0}};
    }
    // Never fewer than stored: a count from an index that lags can be short.
    // A flag and a value, not an optional: GCC 12 warns (-Wmaybe-uninitialized) on the optional here.
    const bool has_total = s.total.has_value();
    const int64_t total = has_total ? std::max(*s.total, s.processed) : 0;
    nlohmann::json entry = {{"state", s.state},
                            {"elapsed_seconds", Round1(elapsed)},
                            {"total", has_total ? nlohmann::json(total) : nlohmann::json()},
                            {"counted", s.counted ? nlohmann::json(*s.counted) : nlohmann::json()},
                            {"processed", s.processed},
                            {"failed", s.failed},
                            {"stages", stages}};
    processed_items += s.processed;
    failed_items += s.failed;
    if (has_total) {
      total_items += total;
      any_total = true;
    } else if (s.processed > 0) {
      total_unknown = true;
    }
    const bool running = s.state == "running";
    if (running && std::string_view(current_stage) == "done") {
      current_stage = "fetch";
      if (s.fetch_over) {
        current_stage = "store";
        for (Stage stage : kBatchStages) {
          if (s.batches[static_cast<int>(stage)] < s.batches[static_cast<int>(Stage::kFetch)]) {
            current_stage = StageName(stage);
            break;
          }
        }
      }
    }
    if (has_total) {
      entry["fraction"] = total > 0 ? std::round(std::min(1.0, static_cast<double>(s.processed) / total) * 1000) / 1000
                                     : 1.0;
      if (running) {
        const int64_t left = total - s.processed;
        std::optional<double> by_budget;
        std::optional<double> by_rate;
        if (s.credits_measured && s.fetched_items > 0 && budget_per_second_) {
          by_budget = left * (static_cast<double>(s.credits) / s.fetched_items) / *budget_per_second_;
        }
        if (s.processed > 0 && elapsed > 0) by_rate = left / (s.processed / elapsed);
        if (left == 0) by_rate = 0.0;
        if (by_budget || by_rate) {
          const bool budget_slower = by_budget && (!by_rate || *by_budget >= *by_rate);
          const double seconds = budget_slower ? *by_budget : *by_rate;
          const char* basis = budget_slower ? "budget" : "measured";
          entry["eta_seconds"] = std::round(seconds);
          entry["eta_basis"] = basis;
          eta = eta.value_or(0.0) + seconds;
          if (seconds > largest_eta) {
            largest_eta = seconds;
            eta_basis = basis;
          }
        } else {
          eta_unknown = true;
        }
      }
    } else if (running && s.time_ordered && s.first_updated_at) {
      const double span = static_cast<double>(now_unix_() - *s.first_updated_at);
      const double covered = static_cast<double>(s.last_max_updated_at - *s.first_updated_at);
      if (span > 0 && covered > 0) {
        const double fraction = std::clamp(covered / span, 0.0, 1.0);
        entry["fraction"] = std::round(fraction * 1000) / 1000;
        if (fraction > 0.0 && fraction < 1.0) {
          entry["eta_seconds"] = std::round(elapsed * (1 - fraction) / fraction);
          entry["eta_basis"] = "time";
        }
      }
    }
    if (running && !has_total) eta_unknown = true;
    streams[name] = std::move(entry);
  }
  const bool total_known = any_total && !total_unknown;
  nlohmann::json out = {{"elapsed_seconds", Round1(Seconds(now - started_))},
                        {"total_items", total_known ? nlohmann::json(total_items) : nlohmann::json()},
                        {"processed_items", processed_items},
                        {"failed_items", failed_items},
                        {"current_stage", current_stage},
                        {"completion_fraction", nlohmann::json()},
                        {"eta_seconds", nlohmann::json()},
                        {"eta_basis", nlohmann::json()},
                        {"streams", streams}};
  if (total_known) {
    out["completion_fraction"] =
        total_items > 0
            ? std::round(std::min(1.0, static_cast<double>(processed_items) / total_items) * 1000) / 1000
            : 1.0;
    if (!eta_unknown) {
      out["eta_seconds"] = std::round(eta.value_or(0.0));
      out["eta_basis"] = eta_basis.empty() ? nlohmann::json() : nlohmann::json(eta_basis);
    }
  }
  return out;
}

}  // namespace deskpipe
