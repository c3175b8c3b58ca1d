#include "cli/progress_display.h"

#include <gtest/gtest.h>

#include <sstream>

#include "core/log.h"
#include "pipeline/progress_rows.h"

namespace deskpipe::cli {
namespace {

using Clock = std::chrono::steady_clock;

// The text's lines, without their terminal control sequences (ESC [ … letter) and carriage returns.
std::vector<std::string> VisibleLines(const std::string& text) {
  std::string visible;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b' && i + 1 < text.size() && text[i + 1] == '[') {
      i += 2;
      while (i < text.size() && !std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
      continue;
    }
    if (text[i] != '\r') visible += text[i];
  }
  std::vector<std::string> lines;
  std::istringstream in(visible);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

size_t CountOf(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class ProgressRendererTest : public ::testing::Test {
 protected:
  // Tickets and a long-named stream running with every stage counting; tickets 36 % through.
  void StartBusyRun() {
    tracker_.StreamStarted("tickets");
    tracker_.SetTotal("tickets", 2000);
    for (Stage stage : {Stage::kFetch, Stage::kTransform, Stage::kChunk, Stage::kEmbed, Stage::kStore}) {
      tracker_.Add("tickets", stage, 728);
    }
    tracker_.AddProcessed("tickets", 728);
    tracker_.StreamStarted("satisfaction_ratings_reconcile");
    tracker_.Add("satisfaction_ratings_reconcile", Stage::kFetch, 40);
    tracker_.AddProcessed("satisfaction_ratings_reconcile", 40);
    now_ += std::chrono::seconds(37);
  }

  Clock::time_point now_ = Clock::time_point(std::chrono::seconds(1000));
  ProgressTracker tracker_{[this] { return now_; }, [] { return int64_t{2'000'000}; }};
};

TEST_F(ProgressRendererTest, TerminalRowsFitTheWidthAndTheNextDrawGoesBackOverThemExactly) {
  StartBusyRun();
  for (size_t columns : {40u, 80u, 120u, 200u}) {
    ProgressRenderer renderer(ProgressMode::kTerminal);
    const std::string first = renderer.Draw(tracker_.Snapshot(), false, {.columns = columns, .rows = 30}).text;
    const std::vector<std::string> rows = VisibleLines(first);
    ASSERT_EQ(rows.size(), 3u) << "two running streams and the run: " << first;
    for (const std::string& row : rows) EXPECT_LE(DisplayColumns(row), columns - 1) << columns << ": " << row;
    EXPECT_EQ(rows[1].rfind("  tickets", 0), 0u) << rows[1];
    for (const char* kept : {"728/2000", "36%", "ETA"}) EXPECT_NE(rows[1].find(kept), std::string::npos) << rows[1];
    if (columns >= 80) {
      EXPECT_NE(rows[1].find("[#"), std::string::npos) << "a bar at " << columns << ": " << rows[1];
    }

    now_ += std::chrono::seconds(1);
    const std::string second = renderer.Draw(tracker_.Snapshot(), false, {.columns = columns, .rows = 30}).text;
    EXPECT_EQ(second.rfind("\x1b[3A", 0), 0u) << "up over the three rows drawn: " << second;
  }
}

TEST_F(ProgressRendererTest, TerminalWritesAnEndedStreamOnceAsOneShortLine) {
  StartBusyRun();
  ProgressRenderer renderer(ProgressMode::kTerminal);
  const ProgressRenderer::Screen screen{.columns = 80, .rows = 30};
  renderer.Draw(tracker_.Snapshot(), false, screen);
  tracker_.StreamFinished("satisfaction_ratings_reconcile", "done");
  now_ += std::chrono::seconds(1);
  const std::string ended = renderer.Draw(tracker_.Snapshot(), false, screen).text;
  const std::vector<std::string> rows = VisibleLines(ended);
  ASSERT_EQ(rows.size(), 3u) << ended;
  EXPECT_EQ(rows[0].rfind("  satisfaction_ratings_reconcile 40 done  0:37", 0), 0u) << rows[0];
  EXPECT_EQ(rows[0].find('['), std::string::npos) << rows[0];
  EXPECT_EQ(ended.rfind("\x1b[3A", 0), 0u) << ended;

  now_ += std::chrono::seconds(1);
  const std::string next = renderer.Draw(tracker_.Snapshot(), false, screen).text;
  EXPECT_EQ(next.rfind("\x1b[2A", 0), 0u) << "the ended stream's line stays where it is: " << next;
  EXPECT_EQ(next.find("satisfaction_ratings_reconcile"), std::string::npos) << next;

  tracker_.StreamFinished("tickets", "done");
  const std::string last = renderer.Draw(tracker_.Snapshot(), true, screen).text;
  EXPECT_EQ(CountOf(last, "tickets"), 1u) << last;
  EXPECT_NE(last.find("all"), std::string::npos) << last;
  EXPECT_NE(last.find("done"), std::string::npos) << last;
}

TEST_F(ProgressRendererTest, TerminalKeepsTheRowsItRedrawsOnTheScreen) {
  for (int i = 0; i < 30; ++i) tracker_.StreamStarted("stream_" + std::to_string(i));
  ProgressRenderer renderer(ProgressMode::kTerminal);
  const std::string text = renderer.Draw(tracker_.Snapshot(), false, {.columns = 80, .rows = 10}).text;
  const std::vector<std::string> rows = VisibleLines(text);
  ASSERT_EQ(rows.size(), 9u) << text;
  EXPECT_NE(rows[7].find("23 more running"), std::string::npos) << rows[7];
  EXPECT_EQ(rows[8].rfind("  all", 0), 0u) << rows[8];
}

TEST_F(ProgressRendererTest, PlainWritesRunningStreamsEachDrawAndAnEndedStreamOnce) {
  StartBusyRun();
  ProgressRenderer renderer(ProgressMode::kPlain);
  std::vector<std::string> lines = VisibleLines(renderer.Draw(tracker_.Snapshot(), false, {}).text);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].rfind("  progress satisfaction_ratings_reconcile fetch 40 1/s", 0), 0u) << lines[0];
  EXPECT_EQ(lines[1].rfind("  progress tickets ", 0), 0u) << lines[1];
  EXPECT_NE(lines[1].find("fetch 728 19/s"), std::string::npos) << "the whole row off a terminal: " << lines[1];
  EXPECT_EQ(lines[2].rfind("  progress all ", 0), 0u) << lines[2];

  tracker_.StreamFinished("satisfaction_ratings_reconcile", "done");
  lines = VisibleLines(renderer.Draw(tracker_.Snapshot(), false, {}).text);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].rfind("  progress satisfaction_ratings_reconcile 40 done", 0), 0u) << lines[0];

  lines = VisibleLines(renderer.Draw(tracker_.Snapshot(), false, {}).text);
  ASSERT_EQ(lines.size(), 2u) << "the ended stream is not written again";
  EXPECT_EQ(lines[0].rfind("  progress tickets ", 0), 0u) << lines[0];

  tracker_.AddProcessed("tickets", 1272);
  tracker_.StreamFinished("tickets", "done");
  const std::string last = renderer.Draw(tracker_.Snapshot(), true, {}).text;
  lines = VisibleLines(last);
  ASSERT_EQ(lines.size(), 2u) << last;
  EXPECT_EQ(lines[0].rfind("  progress tickets ", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find(" 2000 done  0:37"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("2040/2040 items  100%  done"), std::string::npos) << lines[1];
  EXPECT_EQ(last.find('\x1b'), std::string::npos) << "no terminal control off a terminal";
}

TEST_F(ProgressRendererTest, JsonEventsPerRunningStreamOnceForAnEndedOneAndAFinalOne) {
  StartBusyRun();
  ProgressRenderer renderer(ProgressMode::kJson);
  ProgressRenderer::Output output = renderer.Draw(tracker_.Snapshot(), false, {});
  EXPECT_TRUE(output.text.empty()) << output.text;
  ASSERT_EQ(output.events.size(), 3u);
  EXPECT_EQ(output.events[1].message, "progress");
  EXPECT_EQ(output.events[1].fields["stream"], "tickets");
  EXPECT_EQ(output.events[1].fields["processed"], 728);
  EXPECT_EQ(output.events[1].fields["total"], 2000);
  EXPECT_EQ(output.events[1].fields["stages"]["fetch"]["count"], 728);
  EXPECT_EQ(output.events[2].message, "run progress");
  EXPECT_FALSE(output.events[2].fields.contains("streams"));
  EXPECT_EQ(output.events[2].fields["final"], false);

  tracker_.StreamFinished("satisfaction_ratings_reconcile", "done");
  output = renderer.Draw(tracker_.Snapshot(), false, {});
  ASSERT_EQ(output.events.size(), 3u);
  EXPECT_EQ(output.events[0].fields["stream"], "satisfaction_ratings_reconcile");
  EXPECT_EQ(output.events[0].fields["state"], "done");
  tracker_.StreamFinished("tickets", "stopped");
  output = renderer.Draw(tracker_.Snapshot(), true, {});
  ASSERT_EQ(output.events.size(), 2u) << "tickets once, then the run";
  EXPECT_EQ(output.events[0].fields["state"], "stopped");
  EXPECT_EQ(output.events[1].fields["final"], true);
  EXPECT_EQ(output.events[1].fields["current_stage"], "done");
}

// The display as sync runs it under --log-format json: every line it puts on stderr is a JSON object.
TEST(ProgressDisplayTest, UnderJsonLogsEveryStderrLineIsJson) {
  ASSERT_TRUE(log::Configure("json", "info").has_value());
  ProgressTracker tracker;
  testing::internal::CaptureStderr();
  {
    ProgressDisplay display({.interval = std::chrono::milliseconds(5), .plain_interval = std::chrono::milliseconds(5)});
    display.RunStarted(tracker);
    tracker.StreamStarted("tickets");
    tracker.SetTotal("tickets", 10);
    tracker.Add("tickets", Stage::kFetch, 4);
    tracker.AddProcessed("tickets", 4);
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    tracker.AddProcessed("tickets", 6);
    tracker.StreamFinished("tickets", "done");
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    display.RunFinished();
  }
  const std::string err = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(log::Configure("text", "info").has_value());

  std::istringstream lines(err);
  int progress = 0, ended = 0, final_runs = 0;
  for (std::string line; std::getline(lines, line);) {
    nlohmann::json event;
    ASSERT_NO_THROW(event = nlohmann::json::parse(line)) << "not JSON: " << line;
    ASSERT_TRUE(event.is_object()) << line;
    if (event["msg"] == "progress") ++progress;
    if (event["msg"] == "progress" && event["state"] == "done") ++ended;
    if (event["msg"] == "run progress" && event["final"] == true) ++final_runs;
  }
  EXPECT_GE(progress, 2) << err;
  EXPECT_EQ(ended, 1) << err;
  EXPECT_EQ(final_runs, 1) << err;
}

TEST(ProgressDisplayTest, AutoIsPlainOffATerminalUnderTextLogs) {
  ASSERT_TRUE(log::Configure("text", "info").has_value());
  FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  ProgressTracker tracker;
  {
    ProgressDisplay display({.plain_interval = std::chrono::hours(1), .out = out});
    display.RunStarted(tracker);
    tracker.StreamStarted("tickets");
    tracker.StreamFinished("tickets", "done");
    display.RunFinished();
  }
  std::rewind(out);
  std::string text;
  for (int c = std::fgetc(out); c != EOF; c = std::fgetc(out)) text += static_cast<char>(c);
  std::fclose(out);
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
  EXPECT_EQ(CountOf(text, "  progress tickets 0 done"), 1u) << text;
  EXPECT_EQ(CountOf(text, "  progress all "), 1u) << text;
}

}  // namespace
}  // namespace deskpipe::cli
