#include "cli/progress_display.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>

#include "core/log.h"
#include "pipeline/progress_rows.h"

namespace deskpipe::cli {
namespace {

constexpr std::string_view kTerminalIndent = "  ";
constexpr std::string_view kPlainPrefix = "  progress ";
// Erase the line the cursor is on; erase from the cursor to the end of the screen.
constexpr std::string_view kEraseLine = "\r\x1b[2K";
constexpr std::string_view kEraseBelow = "\x1b[J";

bool Running(const nlohmann::json& stream) { return stream.value("state", "") == "running"; }

const nlohmann::json& Streams(const nlohmann::json& snapshot) {
  static const nlohmann::json kNone = nlohmann::json::object();
  const auto streams = snapshot.find("streams");
  return streams != snapshot.end() && streams->is_object() ? *streams : kNone;
}

// A stream's event fields: its snapshot entry and its name.
nlohmann::json StreamFields(const std::string& name, const nlohmann::json& stream) {
  nlohmann::json fields = {{"stream", name}};
  fields.update(stream);
  return fields;
}

size_t PositiveFromEnvironment(const char* name, size_t fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr) return fallback;
  char* end = nullptr;
  const long parsed = std::strtol(value, &end, 10);
  return end != value && *end == '\0' && parsed > 0 ? static_cast<size_t>(parsed) : fallback;
}

ProgressMode Resolve(ProgressMode mode, FILE* out) {
  if (mode != ProgressMode::kAuto) return mode;
  if (log::CurrentFormat() == log::Format::kJson) return ProgressMode::kJson;
  return isatty(fileno(out)) ? ProgressMode::kTerminal : ProgressMode::kPlain;
}

}  // namespace

ProgressRenderer::Screen TerminalScreen(FILE* out) {
  winsize size{};
  if (ioctl(fileno(out), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
    return {.columns = size.ws_col, .rows = size.ws_row > 0 ? size.ws_row : size_t{24}};
  }
  return {.columns = PositiveFromEnvironment("COLUMNS", 80), .rows = PositiveFromEnvironment("LINES", 24)};
}

ProgressRenderer::Output ProgressRenderer::Draw(const nlohmann::json& snapshot, bool final_draw, Screen screen) {
  switch (mode_) {
    case ProgressMode::kTerminal: return {.text = DrawTerminal(snapshot, final_draw, screen)};
    case ProgressMode::kJson: return {.events = DrawJson(snapshot, final_draw)};
    default: return {.text = DrawPlain(snapshot)};
  }
}

std::vector<std::string> ProgressRenderer::NewlyEnded(const nlohmann::json& snapshot) {
  std::vector<std::string> ended;
  for (const auto& [name, stream] : Streams(snapshot).items()) {
    if (Running(stream)) {
      reported_.erase(name);
    } else if (reported_.insert(name).second) {
      ended.push_back(name);
    }
  }
  return ended;
}

std::string ProgressRenderer::DrawTerminal(const nlohmann::json& snapshot, bool final_draw, Screen screen) {
  const nlohmann::json& streams = Streams(snapshot);
  // One column spare: a row that fills the last column leaves some terminals about to wrap.
  const size_t indent = kTerminalIndent.size();
  const RowStyle style{.bars = true,
                       .max_columns = screen.columns > indent + 1 ? screen.columns - indent - 1 : 1,
                       .name_width = NameWidth(snapshot)};
  std::string out;
  // Back to the first row the last draw left to redraw. Rows never wrap, so rows drawn are rows to go up.
  if (rows_to_redraw_ > 0) out += fmt::format("\x1b[{}A", rows_to_redraw_);
  auto write_row = [&](const std::string& row) {
    out += kEraseLine;
    out += kTerminalIndent;
    out += row;
    out += '\n';
  };
  // Streams that ended: once, where they scroll away with the terminal's history.
  for (const std::string& name : NewlyEnded(snapshot)) write_row(StreamRow(name, streams[name], style));

  std::vector<std::string> running;
  for (const auto& [name, stream] : streams.items()) {
    if (Running(stream)) running.push_back(name);
  }
  std::vector<std::string> rows;
  if (!streams.empty()) {
    // Rows above the top of the screen cannot be gone back to: what is redrawn stays within it.
    const size_t fits_on_screen = screen.rows > 1 ? screen.rows - 1 : 1;
    size_t hidden = 0;
    if (running.size() + 1 > fits_on_screen) {
      const size_t kept = fits_on_screen >= 2 ? fits_on_screen - 2 : 0;
      hidden = running.size() - kept;
      running.resize(kept);
    }
    rows = LiveRows(snapshot, running, style);
    if (hidden > 0 && fits_on_screen >= 2) {
      rows.insert(rows.end() - 1, CutToColumns(fmt::format("… {} more running", hidden), style.max_columns));
    }
  }
  for (const std::string& row : rows) write_row(row);
  out += kEraseBelow;  // what is left of a taller draw
  rows_to_redraw_ = final_draw ? 0 : rows.size();
  return out;
}

std::string ProgressRenderer::DrawPlain(const nlohmann::json& snapshot) {
  const nlohmann::json& streams = Streams(snapshot);
  const RowStyle style{.name_width = NameWidth(snapshot)};
  std::string out;
  auto write_line = [&](const std::string& row) {
    out += kPlainPrefix;
    out += row;
    out += '\n';
  };
  for (const std::string& name : NewlyEnded(snapshot)) write_line(StreamRow(name, streams[name], style));
  for (const auto& [name, stream] : streams.items()) {
    if (Running(stream)) write_line(StreamRow(name, stream, style));
  }
  if (!streams.empty()) write_line(RunRow(snapshot, style));
  return out;
}

std::vector<ProgressRenderer::Event> ProgressRenderer::DrawJson(const nlohmann::json& snapshot, bool final_draw) {
  const nlohmann::json& streams = Streams(snapshot);
  std::vector<Event> events;
  for (const std::string& name : NewlyEnded(snapshot)) {
    events.push_back({"progress", StreamFields(name, streams[name])});
  }
  for (const auto& [name, stream] : streams.items()) {
    if (Running(stream)) events.push_back({"progress", StreamFields(name, stream)});
  }
  if (!streams.empty() || final_draw) {
    nlohmann::json run = snapshot;
    run.erase("streams");
    run["final"] = final_draw;
    events.push_back({"run progress", std::move(run)});
  }
  return events;
}

ProgressDisplay::ProgressDisplay(Options options)
    : options_(options), mode_(Resolve(options_.mode, options_.out)), renderer_(mode_) {}

ProgressDisplay::~ProgressDisplay() { RunFinished(); }

void ProgressDisplay::RunStarted(const ProgressTracker& tracker) {
  if (thread_.joinable()) return;
  tracker_ = &tracker;
  stopping_ = false;
  renderer_ = ProgressRenderer(mode_);
  thread_ = std::thread([this] { Loop(); });
}

void ProgressDisplay::RunFinished() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  Draw(/*final_draw=*/true);
  tracker_ = nullptr;
}

void ProgressDisplay::Loop() {
  const auto tick = mode_ == Mode::kTerminal ? options_.interval : options_.plain_interval;
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, tick, [&] { return stopping_; })) {
    lock.unlock();
    Draw(false);
    lock.lock();
  }
}

void ProgressDisplay::Draw(bool final_draw) {
  // The width is asked at every draw: the terminal may have been resized since the last.
  const ProgressRenderer::Screen screen =
      mode_ == Mode::kTerminal ? TerminalScreen(options_.out) : ProgressRenderer::Screen{};
  const ProgressRenderer::Output output = renderer_.Draw(tracker_->Snapshot(), final_draw, screen);
  if (!output.text.empty()) {
    std::fputs(output.text.c_str(), options_.out);
    std::fflush(options_.out);
  }
  for (const ProgressRenderer::Event& event : output.events) log::Info(event.message, event.fields);
}

}  // namespace deskpipe::cli
