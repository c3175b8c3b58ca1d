#include "pipeline/progress.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/time.h"

namespace deskpipe {
namespace {

constexpr Stage kStages[kStageCount] = {Stage::kFetch, Stage::kTransform, Stage::kExtract,
                                        Stage::kChunk, Stage::kEmbed,     Stage::kStore};

double Seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string FormatDuration(double seconds) {
  const int64_t s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

std::string Count(int64_t n) {
  if (n >= 10'000'000) return fmt::format("{}M", n / 1'000'000);
  if (n >= 100'000) return fmt::format("{}k", n / 1000);
  return std::to_string(n);
}

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
  StreamState& s = streams_[stream];
  if (!s.first_updated_at) s.first_updated_at = min_updated_at;
  // Batches of a stream read in updated_at order never go back in time; one that does means no ETA.
  if (max_updated_at < s.last_max_updated_at) s.time_ordered = false;
  s.last_max_updated_at = std::max(s.last_max_updated_at, max_updated_at);
}

void ProgressTracker::StreamFinished(const std::string& stream, const std::string& state) {
  std::lock_guard lock(mutex_);
  StreamState& s = streams_[stream];
  s.state = state;
  s.finished = now_();
}

nlohmann::json ProgressTracker::Snapshot() const {
  std::lock_guard lock(mutex_);
  const Clock::time_point now = now_();
  nlohmann::json streams = nlohmann::json::object();
  for (const std::string& name : order_) {
    const StreamState& s = streams_.at(name);
    const double elapsed = Seconds(s.finished.value_or(now) - s.started);
    nlohmann::json stages = nlohmann::json::object();
    for (Stage stage : kStages) {
      const int64_t n = s.counts[static_cast<int>(stage)];
      if (n == 0) continue;
      stages[StageName(stage)] = {{"count", n},
                                  {"unit", StageUnit(stage)},
                                  {"per_second", elapsed > 0 ? std::round(n / elapsed * 10) / 10 : 0.0}};
    }
    nlohmann::json entry = {{"state", s.state}, {"elapsed_seconds", std::round(elapsed * 10) / 10},
                            {"stages", stages}};
    if (s.state == "done") {
      entry["fraction"] = 1.0;
    } else if (s.state == "running" && s.time_ordered && s.first_updated_at) {
      const double span = static_cast<double>(now_unix_() - *s.first_updated_at);
      const double covered = static_cast<double>(s.last_max_updated_at - *s.first_updated_at);
      if (span > 0 && covered > 0) {
        const double fraction = std::clamp(covered / span, 0.0, 1.0);
        entry["fraction"] = std::round(fraction * 1000) / 1000;
        if (fraction > 0.0 && fraction < 1.0) entry["eta_seconds"] = std::round(elapsed * (1 - fraction) / fraction);
      }
    }
    streams[name] = std::move(entry);
  }
  return {{"elapsed_seconds", std::round(Seconds(now - started_) * 10) / 10}, {"streams", streams}};
}

std::vector<std::string> ProgressTracker::Lines(const nlohmann::json& snapshot, bool with_bars) {
  std::vector<std::string> lines;
  if (!snapshot.contains("streams")) return lines;
  size_t name_width = 0;  // names line up in one column, however long the longest
  for (const auto& [name, s] : snapshot["streams"].items()) name_width = std::max(name_width, name.size());
  for (const auto& [name, s] : snapshot["streams"].items()) {
    std::string line = fmt::format("{:<{}} ", name, name_width);
    if (with_bars) {
      constexpr int kWidth = 20;
      const size_t bar_start = line.size() + 1;
      if (s.contains("fraction")) {
        const int filled = static_cast<int>(s["fraction"].get<double>() * kWidth);
        line += "[" + std::string(filled, '#') + std::string(kWidth - filled, '.') + "] ";
      } else {
        line += "[" + std::string(kWidth, ' ') + "] ";
        // A moving marker shows a stream without a known total is alive.
        if (s["state"] == "running") {
          const int at = static_cast<int>(s["elapsed_seconds"].get<double>() * 4) % kWidth;
          line[bar_start + static_cast<size_t>(at)] = '=';
        }
      }
    }
    bool first = true;
    for (const auto& [stage, c] : s["stages"].items()) {
      line += fmt::format("{}{} {} {}/s", first ? "" : " · ", stage, Count(c["count"].get<int64_t>()),
                          Count(static_cast<int64_t>(c["per_second"].get<double>())));
      first = false;
    }
    if (s["state"] != "running") {
      line += "  " + s["state"].get<std::string>();
    } else if (s.contains("fraction")) {
      line += fmt::format("  {:.0f}%", s["fraction"].get<double>() * 100);
      if (s.contains("eta_seconds")) line += " ETA " + FormatDuration(s["eta_seconds"].get<double>());
    }
    line += "  " + FormatDuration(s["elapsed_seconds"].get<double>());
    lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace deskpipe
