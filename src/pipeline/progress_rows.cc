#include "pipeline/progress_rows.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include <fmt/format.h>

#include "pipeline/progress.h"

namespace deskpipe {
namespace {

constexpr size_t kBarWidth = 20;
constexpr size_t kMinBarWidth = 6;  // narrower, a bar says little the % does not

constexpr Stage kStagesInPipelineOrder[] = {Stage::kFetch, Stage::kTransform, Stage::kExtract,
                                            Stage::kChunk, Stage::kEmbed,     Stage::kStore};

std::string Count(int64_t n) {
  if (n >= 10'000'000) return fmt::format("{}M", n / 1'000'000);
  if (n >= 100'000) return fmt::format("{}k", n / 1000);
  return std::to_string(n);
}

bool StartsCodePoint(char byte) { return (static_cast<unsigned char>(byte) & 0xC0) != 0x80; }

// "[######......]" filled to `fraction`; without one, an empty bar whose marker moves while `alive`, so a stream
// with no known total still shows it is working.
std::string Bar(const nlohmann::json& fraction, bool alive, double elapsed_seconds, size_t width) {
  std::string inside(width, fraction.is_number() ? '.' : ' ');
  if (fraction.is_number()) {
    const auto filled = static_cast<size_t>(std::clamp(fraction.get<double>(), 0.0, 1.0) * static_cast<double>(width));
    std::fill_n(inside.begin(), std::min(filled, width), '#');
  } else if (alive) {
    inside[static_cast<size_t>(std::max(0.0, elapsed_seconds) * 4) % width] = '=';
  }
  return "[" + inside + "]";
}

// A row built from parts, each in its forms from fullest to shortest (the shortest may be "", the part left
// out), and cut down to a width by stepping parts to shorter forms in a given order.
class Row {
 public:
  // A part and the gap before it, when another part precedes it; returns its index for Step and Shown. After a
  // `tight` part (the name, the bar) comes one space, whatever the next part's gap.
  size_t Add(std::string_view gap, std::vector<std::string> forms, bool tight = false) {
    parts_.push_back({std::move(forms), gap, tight});
    return parts_.size() - 1;
  }
  // The form of `part` the last Fit chose.
  size_t Shown(size_t part) const { return parts_[part].shown; }
  // In Fit, step part `part` to shorter forms, at most down to its form `through` (npos: its last).
  void Step(size_t part, size_t through = std::string::npos) { steps_.push_back({part, through}); }

  // The row within `max_columns` (0: no limit), its parts as full as the steps allow.
  std::string Fit(size_t max_columns) {
    auto fits = [&](const std::string& text) { return max_columns == 0 || DisplayColumns(text) <= max_columns; };
    std::string text = Text();
    for (StepDown& step : steps_) {
      Part& part = parts_[step.part];
      step.from = part.shown;
      const size_t last = std::min(step.through, part.forms.size() - 1);
      while (!fits(text) && part.shown < last) {
        ++part.shown;
        text = Text();
      }
    }
    // A later step can free more room than was missing (the name's padding, the whole bar): give it back,
    // undoing the steps from the last, so what was to stay longest gets it first.
    for (auto step = steps_.rbegin(); step != steps_.rend(); ++step) {
      Part& part = parts_[step->part];
      while (part.shown > step->from) {
        --part.shown;
        if (std::string fuller = Text(); fits(fuller)) {
          text = std::move(fuller);
        } else {
          ++part.shown;
          break;
        }
      }
    }
    return fits(text) ? text : CutToColumns(text, max_columns);
  }

 private:
  struct Part {
    std::vector<std::string> forms;
    std::string_view gap;
    bool tight;
    size_t shown = 0;
  };

  // The parts in their current forms.
  std::string Text() const {
    std::string text;
    const Part* previous = nullptr;
    for (const Part& part : parts_) {
      const std::string& form = part.forms[part.shown];
      if (form.empty()) continue;
      if (previous != nullptr) text += previous->tight ? std::string_view(" ") : part.gap;
      text += form;
      previous = &part;
    }
    return text;
  }

  struct StepDown {
    size_t part;
    size_t through;
    size_t from = 0;  // the form the part was in when Fit reached this step
  };

  std::vector<Part> parts_;
  std::vector<StepDown> steps_;
};

// The name padded to `width`, then bare, then cut ever shorter ("tickets_reco…", …, "t…").
std::vector<std::string> NameForms(const std::string& name, size_t width) {
  const size_t columns = DisplayColumns(name);
  std::vector<std::string> forms = {name + std::string(width > columns ? width - columns : 0, ' '), name};
  for (size_t keep = columns; keep-- > 1;) forms.push_back(CutToColumns(name, keep) + "…");
  return forms;
}

// The forms of a bar: `widest` wide (within kMinBarWidth…kBarWidth) down to kMinBarWidth, then none. Form i is
// widest − i wide.
std::vector<std::string> BarForms(const nlohmann::json& fraction, bool alive, double elapsed_seconds, size_t widest) {
  std::vector<std::string> forms;
  for (size_t width = std::clamp(widest, kMinBarWidth, kBarWidth); width >= kMinBarWidth; --width) {
    forms.push_back(Bar(fraction, alive, elapsed_seconds, width));
  }
  forms.emplace_back();
  return forms;
}

// A bar part's width in the form Fit chose; 0 when it was left out.
size_t BarWidth(const std::vector<std::string>& forms, size_t shown) {
  return shown + 1 < forms.size() ? DisplayColumns(forms[shown]) - 2 : 0;
}

// A row as fitted, and the width of its bar (0: none).
struct FittedRow {
  std::string text;
  size_t bar_width = 0;
};

// "1100/4000", "1100/?" (no total), or "" when there is nothing to show.
std::string ProcessedOfTotal(const nlohmann::json& processed, const nlohmann::json& total) {
  if (!processed.is_number()) return "";
  if (total.is_number()) return Count(processed.get<int64_t>()) + "/" + Count(total.get<int64_t>());
  if (processed.get<int64_t>() > 0) return Count(processed.get<int64_t>()) + "/?";
  return "";
}

std::string FailedText(const nlohmann::json& failed) {
  return failed.is_number() && failed.get<int64_t>() > 0 ? fmt::format(" ({} failed)", failed.get<int64_t>()) : "";
}

// The forms of the % and ETA: "27% ETA 0:32 (budget)", "27% ETA 0:32", "27%"; kEtaWithBasis… index them
// (the shorter forms repeat the longer when there is no basis or ETA). "" without a fraction.
constexpr size_t kEtaWithoutBasis = 1;
constexpr size_t kPercentOnly = 2;
std::vector<std::string> PercentAndEtaForms(const nlohmann::json& fraction, const nlohmann::json& eta,
                                            const nlohmann::json& basis) {
  if (!fraction.is_number()) return {""};
  const std::string percent = fmt::format("{:.0f}%", fraction.get<double>() * 100);
  if (!eta.is_number()) return {percent, percent, percent};
  const std::string with_eta = percent + " ETA " + FormatDuration(eta.get<double>());
  // "time" is the stream's own guess from updated_at: not worth a label.
  if (!basis.is_string() || basis == "time") return {with_eta, with_eta, percent};
  return {with_eta + " (" + basis.get<std::string>() + ")", with_eta, percent};
}

// "fetch 728 19/s · transform 728 19/s …", then without the rates, then none.
std::vector<std::string> StageForms(const nlohmann::json& stages) {
  std::string with_rates;
  std::string counts;
  for (Stage stage : kStagesInPipelineOrder) {
    const auto found = stages.find(StageName(stage));
    if (found == stages.end()) continue;
    const std::string separator = counts.empty() ? "" : " · ";
    const std::string count = std::string(StageName(stage)) + " " + Count(found->value("count", int64_t{0}));
    with_rates += separator + count + " " + Count(static_cast<int64_t>(found->value("per_second", 0.0))) + "/s";
    counts += separator + count;
  }
  return {with_rates, counts, ""};
}

// A stream that ended: "1204 done", "300/1204 stopped (2 failed)", "skipped".
std::string Outcome(const nlohmann::json& stream) {
  const std::string state = stream.value("state", "");
  const int64_t processed = stream.value("processed", int64_t{0});
  const nlohmann::json total = stream.value("total", nlohmann::json());
  std::string count = Count(processed);
  // A stream cut short says how far it got; one that ran out has its total equal to what it stored.
  if ((state == "stopped" || state == "failed") && total.is_number() && total.get<int64_t>() > processed) {
    count += "/" + Count(total.get<int64_t>());
  }
  if (state == "skipped" && processed == 0) count.clear();
  return (count.empty() ? state : count + " " + state) + FailedText(stream.value("failed", nlohmann::json()));
}

std::vector<std::string> ElapsedForms(const nlohmann::json& seconds) {
  return {FormatDuration(seconds.is_number() ? seconds.get<double>() : 0.0), ""};
}

}  // namespace

std::string FormatDuration(double seconds) {
  const int64_t s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

size_t DisplayColumns(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), StartsCodePoint));
}

std::string CutToColumns(std::string_view text, size_t columns) {
  size_t seen = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (!StartsCodePoint(text[i])) continue;
    if (seen == columns) return std::string(text.substr(0, i));
    ++seen;
  }
  return std::string(text);
}

size_t NameWidth(const nlohmann::json& snapshot) {
  const auto streams = snapshot.find("streams");
  if (streams == snapshot.end() || streams->empty()) return 0;
  size_t width = DisplayColumns("all");
  for (const auto& [name, stream] : streams->items()) width = std::max(width, DisplayColumns(name));
  return width;
}

namespace {

FittedRow FitStreamRow(const std::string& name, const nlohmann::json& stream, const RowStyle& style) {
  Row row;
  const size_t name_part = row.Add("", NameForms(name, style.name_width), /*tight=*/true);
  const nlohmann::json elapsed = stream.value("elapsed_seconds", nlohmann::json());
  if (stream.value("state", "") != "running") {
    row.Add(" ", {Outcome(stream)});
    const size_t elapsed_part = row.Add("  ", ElapsedForms(elapsed));
    row.Step(name_part, 1);
    row.Step(elapsed_part);
    row.Step(name_part);
    return {row.Fit(style.max_columns)};
  }
  const nlohmann::json fraction = stream.value("fraction", nlohmann::json());
  std::vector<std::string> bar_forms;
  size_t bar_part = 0;
  if (style.bars) {
    bar_forms = BarForms(fraction, true, elapsed.is_number() ? elapsed.get<double>() : 0, style.bar_width);
    bar_part = row.Add(" ", bar_forms, /*tight=*/true);
  }
  const size_t stages_part = row.Add(" ", StageForms(stream.value("stages", nlohmann::json::object())));
  row.Add("  ",
          {ProcessedOfTotal(stream.value("processed", nlohmann::json()), stream.value("total", nlohmann::json()))});
  const size_t failed_part = row.Add("", {FailedText(stream.value("failed", nlohmann::json())), ""});
  const size_t eta_part = row.Add("  ", PercentAndEtaForms(fraction, stream.value("eta_seconds", nlohmann::json()),
                                                           stream.value("eta_basis", nlohmann::json())));
  const size_t elapsed_part = row.Add("  ", ElapsedForms(elapsed));
  row.Step(stages_part);
  row.Step(eta_part, kEtaWithoutBasis);
  if (style.bars) row.Step(bar_part, bar_forms.size() - 2);  // down to kMinBarWidth
  row.Step(name_part, 1);
  if (style.bars) row.Step(bar_part);
  row.Step(elapsed_part);
  row.Step(failed_part);
  row.Step(name_part);
  row.Step(eta_part, kPercentOnly);
  std::string text = row.Fit(style.max_columns);
  return {std::move(text), style.bars ? BarWidth(bar_forms, row.Shown(bar_part)) : 0};
}

FittedRow FitRunRow(const nlohmann::json& snapshot, const RowStyle& style) {
  Row row;
  const size_t name_part = row.Add("", NameForms("all", style.name_width), /*tight=*/true);
  const nlohmann::json fraction = snapshot.value("completion_fraction", nlohmann::json());
  const std::string stage = snapshot.value("current_stage", "");
  const bool running = stage != "done";
  std::vector<std::string> bar_forms;
  size_t bar_part = 0;
  if (style.bars) {
    bar_forms = BarForms(fraction, running, snapshot.value("elapsed_seconds", 0.0), style.bar_width);
    bar_part = row.Add(" ", bar_forms, /*tight=*/true);
  }
  const std::string items = ProcessedOfTotal(snapshot.value("processed_items", nlohmann::json()),
                                             snapshot.value("total_items", nlohmann::json()));
  row.Add(" ", {(items.empty() ? std::string("0/?") : items) + " items"});
  const size_t failed_part = row.Add("", {FailedText(snapshot.value("failed_items", nlohmann::json())), ""});
  // The ETA of a run that is over says nothing.
  const nlohmann::json eta = running ? snapshot.value("eta_seconds", nlohmann::json()) : nlohmann::json();
  const size_t eta_part =
      row.Add("  ", PercentAndEtaForms(fraction, eta, snapshot.value("eta_basis", nlohmann::json())));
  const size_t stage_part = row.Add("  ", {stage, ""});
  const size_t elapsed_part = row.Add("  ", ElapsedForms(snapshot.value("elapsed_seconds", nlohmann::json())));
  row.Step(eta_part, kEtaWithoutBasis);
  if (style.bars) row.Step(bar_part, bar_forms.size() - 2);  // down to kMinBarWidth
  row.Step(name_part, 1);
  if (style.bars) row.Step(bar_part);
  row.Step(stage_part);
  row.Step(elapsed_part);
  row.Step(failed_part);
  row.Step(name_part);
  row.Step(eta_part, kPercentOnly);
  std::string text = row.Fit(style.max_columns);
  return {std::move(text), style.bars ? BarWidth(bar_forms, row.Shown(bar_part)) : 0};
}

}  // namespace

std::string StreamRow(const std::string& name, const nlohmann::json& stream, const RowStyle& style) {
  return FitStreamRow(name, stream, style).text;
}

std::string RunRow(const nlohmann::json& snapshot, const RowStyle& style) { return FitRunRow(snapshot, style).text; }

std::vector<std::string> LiveRows(const nlohmann::json& snapshot, const std::vector<std::string>& streams,
                                  RowStyle style) {
  const nlohmann::json& entries = snapshot.at("streams");
  std::vector<FittedRow> rows;
  for (const std::string& name : streams) rows.push_back(FitStreamRow(name, entries.at(name), style));
  rows.push_back(FitRunRow(snapshot, style));
  // Bars line up when they are as wide as the narrowest one a row needed (a row that needed none keeps none).
  size_t narrowest = style.bar_width;
  for (const FittedRow& row : rows) {
    if (row.bar_width > 0) narrowest = std::min(narrowest, row.bar_width);
  }
  std::vector<std::string> texts;
  if (narrowest < style.bar_width) {
    style.bar_width = narrowest;
    for (const std::string& name : streams) texts.push_back(StreamRow(name, entries.at(name), style));
    texts.push_back(RunRow(snapshot, style));
  } else {
    for (FittedRow& row : rows) texts.push_back(std::move(row.text));
  }
  return texts;
}

std::vector<std::string> ProgressRows(const nlohmann::json& snapshot, RowStyle style) {
  std::vector<std::string> rows;
  const auto streams = snapshot.find("streams");
  if (streams == snapshot.end()) return rows;
  style.name_width = std::max(style.name_width, NameWidth(snapshot));
  for (const auto& [name, stream] : streams->items()) rows.push_back(StreamRow(name, stream, style));
  if (snapshot.contains("processed_items") && !streams->empty()) rows.push_back(RunRow(snapshot, style));
  return rows;
}

}  // namespace deskpipe
