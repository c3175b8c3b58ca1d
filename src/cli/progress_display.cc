#include "cli/progress_display.h"

#include <unistd.h>

#include <string>
#include <vector>

#include <fmt/format.h>

namespace deskpipe::cli {

ProgressDisplay::ProgressDisplay(Options options) : options_(options), mode_(options_.mode) {
  if (mode_ == Mode::kAuto) mode_ = isatty(fileno(options_.out)) ? Mode::kTerminal : Mode::kPlain;
}

ProgressDisplay::~ProgressDisplay() { RunFinished(); }

void ProgressDisplay::RunStarted(const ProgressTracker& tracker) {
  if (thread_.joinable()) return;
  tracker_ = &tracker;
  stopping_ = false;
  lines_drawn_ = 0;
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
  const std::vector<std::string> lines = ProgressTracker::Lines(tracker_->Snapshot(), mode_ == Mode::kTerminal);
  std::string out;
  if (mode_ == Mode::kTerminal) {
    // Move up over what was drawn last time and redraw in place.
    if (lines_drawn_ > 0) out += fmt::format("\x1b[{}A", lines_drawn_);
    for (const std::string& line : lines) out += "\r\x1b[2K  " + line + "\n";
    lines_drawn_ = lines.size();
  } else {
    for (const std::string& line : lines) out += (final_draw ? "  " : "  progress ") + line + "\n";
  }
  std::fputs(out.c_str(), options_.out);
  std::fflush(options_.out);
}

}  // namespace deskpipe::cli
