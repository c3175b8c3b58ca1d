#include "pipeline/progress_rows.h"

#include <gtest/gtest.h>

#include "pipeline/progress.h"

namespace deskpipe {
namespace {

using Clock = std::chrono::steady_clock;

class ProgressRowsTest : public ::testing::Test {
 protected:
  // A busy run: a long-named stream and tickets with every stage counting, a budget ETA, failures, and a
  // finished stream.
  nlohmann::json BusySnapshot() {
    const std::string long_name = "contact_fields_reconcile_";
    tracker_.StreamStarted("tickets");
    tracker_.SetTotal("tickets", 2000);
    for (Stage stage : {Stage::kFetch, Stage::kTransform, Stage::kStore}) tracker_.Add("tickets", stage, 728);
    tracker_.Add("tickets", Stage::kChunk, 100);
    tracker_.Add("tickets", Stage::kEmbed, 260);
    tracker_.AddFetched("tickets", 728, 2184);
    tracker_.AddProcessed("tickets", 728);
    tracker_.AddFailed("tickets", 3);
    tracker_.SetBudget(40.0);
    tracker_.StreamStarted(long_name);
    tracker_.Add(long_name, Stage::kFetch, 12);
    tracker_.AddProcessed(long_name, 12);
    tracker_.StreamStarted("groups");
    tracker_.AddProcessed("groups", 4);
    now_ += std::chrono::seconds(30);
    tracker_.StreamFinished("groups", "done");
    now_ += std::chrono::seconds(7);
    return tracker_.Snapshot();
  }

  static std::string RowOf(const std::vector<std::string>& rows, const std::string& name) {
    for (const std::string& row : rows) {
      if (row.rfind(name + " ", 0) == 0) return row;
    }
    return "(no row for " + name + ")";
  }

  Clock::time_point now_ = Clock::time_point(std::chrono::seconds(1000));
  int64_t now_unix_ = 2'000'000;
  ProgressTracker tracker_{[this] { return now_; }, [this] { return now_unix_; }};
};

TEST_F(ProgressRowsTest, DisplayColumnsCountCodePointsNotBytes) {
  EXPECT_EQ(DisplayColumns("fetch 1 · store 1"), 17u);
  EXPECT_EQ(DisplayColumns("…"), 1u);
  EXPECT_EQ(DisplayColumns(""), 0u);
}

TEST_F(ProgressRowsTest, RowsShowCountsRatesPercentAndEta) {
  tracker_.StreamStarted("tickets");
  tracker_.Add("tickets", Stage::kFetch, 100);
  tracker_.ObserveUpdatedAt("tickets", now_unix_ - 1000, now_unix_ - 500);
  now_ += std::chrono::seconds(20);
  const std::vector<std::string> plain = ProgressRows(tracker_.Snapshot(), {});
  ASSERT_EQ(plain.size(), 2u) << "the stream's row, then the run's";
  EXPECT_NE(plain[0].find("tickets"), std::string::npos);
  EXPECT_NE(plain[0].find("fetch 100 5/s"), std::string::npos) << plain[0];
  EXPECT_NE(plain[0].find("50%"), std::string::npos) << plain[0];
  EXPECT_NE(plain[0].find("ETA 0:20"), std::string::npos) << plain[0];
  EXPECT_EQ(plain[0].find('['), std::string::npos) << "no bars off a terminal";
  const std::vector<std::string> bars = ProgressRows(tracker_.Snapshot(), {.bars = true});
  EXPECT_NE(bars[0].find("[##########..........]"), std::string::npos) << bars[0];
}

TEST_F(ProgressRowsTest, StagesInPipelineOrder) {
  const std::string tickets = RowOf(ProgressRows(BusySnapshot(), {}), "tickets");
  const size_t fetch = tickets.find("fetch 728"), transform = tickets.find("transform 728"),
               chunk = tickets.find("chunk 100"),
               embed = tickets.find("embed 260"), store = tickets.find("store 728");
  ASSERT_NE(fetch, std::string::npos) << tickets;
  EXPECT_LT(fetch, transform) << tickets;
  EXPECT_LT(transform, chunk) << tickets;
  EXPECT_LT(chunk, embed) << tickets;
  EXPECT_LT(embed, store) << tickets;
  EXPECT_NE(store, std::string::npos) << tickets;
}

TEST_F(ProgressRowsTest, LongStreamNamesStaySeparateFromTheirCountsAndInOneColumn) {
  for (const char* stream : {"company_fields", "tickets_reconcile", "groups"}) {
    tracker_.StreamStarted(stream);
    tracker_.Add(stream, Stage::kFetch, 9);
  }
  now_ += std::chrono::seconds(1);
  std::vector<std::string> rows = ProgressRows(tracker_.Snapshot(), {});
  ASSERT_EQ(rows.size(), 4u);
  rows.pop_back();  // the run's row
  for (const std::string& row : rows) EXPECT_EQ(row.find("fetch 9"), rows[0].find("fetch 9")) << row;
  const std::string all = rows[0] + "\n" + rows[1] + "\n" + rows[2];
  EXPECT_NE(all.find("tickets_reconcile fetch 9"), std::string::npos) << all;
  EXPECT_NE(all.find("company_fields    fetch 9"), std::string::npos) << all;
}

TEST_F(ProgressRowsTest, RowsShowProcessedOverTotalAndTheRunsEta) {
  tracker_.StreamStarted("tickets");
  tracker_.SetTotal("tickets", 400);
  tracker_.AddFetched("tickets", 100, 300);
  tracker_.AddProcessed("tickets", 100);
  tracker_.SetBudget(10.0);
  tracker_.StreamStarted("contacts_deleted");
  tracker_.AddProcessed("contacts_deleted", 0);
  now_ += std::chrono::seconds(10);
  tracker_.StreamFinished("contacts_deleted", "done");
  // Streams come in name order, the run's row last.
  std::vector<std::string> rows = ProgressRows(tracker_.Snapshot(), {});
  ASSERT_EQ(rows.size(), 3u);
  const std::string tickets = RowOf(rows, "tickets");
  EXPECT_NE(tickets.find("100/400  25% ETA 1:30 (budget)"), std::string::npos) << tickets;
  EXPECT_EQ(rows.back(), RowOf(rows, "all"));
  EXPECT_NE(rows.back().find("100/400 items  25% ETA 1:30 (budget)  fetch"), std::string::npos) << rows.back();

  tracker_.StreamStarted("contacts");
  tracker_.AddProcessed("contacts", 7);
  rows = ProgressRows(tracker_.Snapshot(), {.bars = true});
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_NE(RowOf(rows, "contacts").find("7/?"), std::string::npos) << RowOf(rows, "contacts");
  EXPECT_NE(rows.back().find("107/? items"), std::string::npos) << rows.back();
  EXPECT_EQ(rows.back().find("ETA"), std::string::npos) << rows.back();
}

TEST_F(ProgressRowsTest, EveryRowFitsTheWidthWithManyStagesAndLongNames) {
  const nlohmann::json snapshot = BusySnapshot();
  const std::vector<std::string> unlimited = ProgressRows(snapshot, {.bars = true});
  ASSERT_GT(DisplayColumns(RowOf(unlimited, "tickets")), 150u) << "the test needs a row too wide for 120 columns";
  for (size_t width : {40u, 80u, 120u, 200u}) {
    const std::vector<std::string> rows = ProgressRows(snapshot, {.bars = true, .max_columns = width - 1});
    ASSERT_EQ(rows.size(), 4u);
    for (const std::string& row : rows) {
      EXPECT_LE(DisplayColumns(row), width - 1) << "width " << width << ": " << row;
      EXPECT_NO_THROW((void)nlohmann::json(row).dump()) << "a cut split a UTF-8 sequence: " << row;
    }
    // Whatever the width, the stream's name starts its row.
    EXPECT_EQ(RowOf(rows, "tickets").rfind("tickets", 0), 0u) << width;
  }
  // At 200 columns nothing has to go.
  EXPECT_EQ(RowOf(ProgressRows(snapshot, {.bars = true, .max_columns = 199}), "tickets"), RowOf(unlimited, "tickets"));
}

TEST_F(ProgressRowsTest, RatesGoFirstThenCountsThenTheBarShrinksKeepingPercentAndEta) {
  const nlohmann::json snapshot = BusySnapshot();
  const RowStyle full{.bars = true, .name_width = NameWidth(snapshot)};
  const std::string unlimited = StreamRow("tickets", snapshot["streams"]["tickets"], full);
  ASSERT_NE(unlimited.find("fetch 728 19/s"), std::string::npos) << unlimited;

  // One column short of the full row: the rates go, the counts and the full bar stay.
  RowStyle style = full;
  style.max_columns = DisplayColumns(unlimited) - 1;
  std::string row = StreamRow("tickets", snapshot["streams"]["tickets"], style);
  EXPECT_EQ(row.find("/s"), std::string::npos) << row;
  EXPECT_NE(row.find("fetch 728 · transform 728"), std::string::npos) << row;
  EXPECT_NE(row.find("[#######.............]"), std::string::npos) << row;
  EXPECT_NE(row.find("728/2000 (3 failed)  36% ETA"), std::string::npos) << row;

  // At 80 columns the stages are gone; the bar shrinks rather than lose the counts, %, ETA or elapsed time.
  style.max_columns = 79;
  row = StreamRow("tickets", snapshot["streams"]["tickets"], style);
  EXPECT_LE(DisplayColumns(row), 79u) << row;
  EXPECT_EQ(row.find("fetch"), std::string::npos) << row;
  EXPECT_EQ(row.find("[#######.............]"), std::string::npos) << row;
  EXPECT_NE(row.find("[###"), std::string::npos) << row;
  for (const char* kept : {"728/2000 (3 failed)", "36%", "ETA", "0:37"}) {
    EXPECT_NE(row.find(kept), std::string::npos) << row;
  }
  EXPECT_EQ(row.rfind("tickets" + std::string(NameWidth(snapshot) - 7, ' ') + " [", 0), 0u)
      << "the name still lines up with the others: " << row;

  // At 60 the names no longer line up: the bar keeps a few columns.
  style.max_columns = 59;
  row = StreamRow("tickets", snapshot["streams"]["tickets"], style);
  EXPECT_LE(DisplayColumns(row), 59u) << row;
  EXPECT_EQ(row.rfind("tickets [", 0), 0u) << row;
  for (const char* kept : {"728/2000", "36%", "ETA", "0:37"}) EXPECT_NE(row.find(kept), std::string::npos) << row;

  // At 40 the bar has gone too, yet the name, counts, % and ETA stay.
  style.max_columns = 39;
  row = StreamRow("tickets", snapshot["streams"]["tickets"], style);
  EXPECT_LE(DisplayColumns(row), 39u) << row;
  for (const char* kept : {"tickets", "728/2000", "36%", "ETA"}) EXPECT_NE(row.find(kept), std::string::npos) << row;
}

TEST_F(ProgressRowsTest, LiveRowsHaveBarsOfOneWidthInOneColumn) {
  const nlohmann::json snapshot = BusySnapshot();
  const RowStyle style{.bars = true, .max_columns = 79, .name_width = NameWidth(snapshot)};
  // Alone, tickets (with its failures) needs a narrower bar than the other stream.
  const std::string other = "contact_fields_reconcile_";
  const size_t tickets_bar = StreamRow("tickets", snapshot["streams"]["tickets"], style).find(']');
  ASSERT_LT(tickets_bar, StreamRow(other, snapshot["streams"][other], style).find(']'));

  const std::vector<std::string> rows = LiveRows(snapshot, {other, "tickets"}, style);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[2].rfind("all ", 0), 0u) << rows[2];
  for (const std::string& row : rows) {
    EXPECT_LE(DisplayColumns(row), 79u) << row;
    EXPECT_EQ(row.find('['), rows[0].find('[')) << row;
    EXPECT_EQ(row.find(']'), tickets_bar) << row;
    EXPECT_EQ(row.find("]  "), std::string::npos) << "one space after the bar: " << row;
  }
}

TEST_F(ProgressRowsTest, AFinishedStreamIsOneShortRow) {
  const nlohmann::json snapshot = BusySnapshot();
  const std::string groups = StreamRow("groups", snapshot["streams"]["groups"], {.bars = true, .name_width = 8});
  EXPECT_EQ(groups, "groups   4 done  0:30");

  tracker_.StreamFinished("tickets", "stopped");
  const nlohmann::json stopped = tracker_.Snapshot()["streams"]["tickets"];
  EXPECT_EQ(StreamRow("tickets", stopped, {.bars = true}), "tickets 728/2000 stopped (3 failed)  0:37");
}

TEST_F(ProgressRowsTest, ANameIsCutLastAndNeverInsideAUtf8Sequence) {
  tracker_.StreamStarted("tickets_é_archive");
  tracker_.SetTotal("tickets_é_archive", 10);
  tracker_.AddProcessed("tickets_é_archive", 5);
  now_ += std::chrono::seconds(5);
  const nlohmann::json stream = tracker_.Snapshot()["streams"]["tickets_é_archive"];
  for (size_t columns = 1; columns < 40; ++columns) {
    const std::string row = StreamRow("tickets_é_archive", stream, {.bars = true, .max_columns = columns});
    EXPECT_LE(DisplayColumns(row), columns) << row;
    EXPECT_NO_THROW((void)nlohmann::json(row).dump()) << "split UTF-8 at " << columns << ": " << row;
  }
  const std::string row = StreamRow("tickets_é_archive", stream, {.bars = true, .max_columns = 20});
  EXPECT_NE(row.find("…"), std::string::npos) << row;
  EXPECT_NE(row.find("5/10"), std::string::npos) << "the counts outlast the name: " << row;
}

}  // namespace
}  // namespace deskpipe
