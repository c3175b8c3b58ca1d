#include "pipeline/progress.h"

#include <gtest/gtest.h>

namespace deskpipe {
namespace {

using Clock = std::chrono::steady_clock;

class ProgressTrackerTest : public ::testing::Test {
 protected:
  Clock::time_point now_ = Clock::time_point(std::chrono::seconds(1000));
  int64_t now_unix_ = 2'000'000;
  ProgressTracker tracker_{[this] { return now_; }, [this] { return now_unix_; }};
};

TEST_F(ProgressTrackerTest, CountsAndRatesPerStreamAndStage) {
  tracker_.StreamStarted("tickets");
  tracker_.Add("tickets", Stage::kFetch, 300);
  tracker_.Add("tickets", Stage::kEmbed, 1200);
  now_ += std::chrono::seconds(10);
  const nlohmann::json snapshot = tracker_.Snapshot();
  const nlohmann::json& stages = snapshot["streams"]["tickets"]["stages"];
  EXPECT_EQ(stages["fetch"]["count"], 300);
  EXPECT_DOUBLE_EQ(stages["fetch"]["per_second"].get<double>(), 30.0);
  EXPECT_EQ(stages["embed"]["unit"], "chunks");
  EXPECT_DOUBLE_EQ(stages["embed"]["per_second"].get<double>(), 120.0);
  EXPECT_FALSE(stages.contains("store")) << "a stage with nothing done is not shown";
}

TEST_F(ProgressTrackerTest, EtaFromHowFarThroughTimeAnOrderedStreamIs) {
  tracker_.StreamStarted("tickets");
  // First batch starts 1000 s before now; after 10 s the stream has read up to 250 s of that span.
  tracker_.ObserveUpdatedAt("tickets", now_unix_ - 1000, now_unix_ - 900);
  tracker_.ObserveUpdatedAt("tickets", now_unix_ - 900, now_unix_ - 750);
  now_ += std::chrono::seconds(10);
  nlohmann::json s = tracker_.Snapshot()["streams"]["tickets"];
  EXPECT_DOUBLE_EQ(s["fraction"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(s["eta_seconds"].get<double>(), 30.0);  // 10 s for a quarter ⇒ 30 s for the rest

  tracker_.StreamFinished("tickets", "done");
  s = tracker_.Snapshot()["streams"]["tickets"];
  EXPECT_EQ(s["state"], "done");
  EXPECT_DOUBLE_EQ(s["fraction"].get<double>(), 1.0);
  EXPECT_FALSE(s.contains("eta_seconds"));
}

TEST_F(ProgressTrackerTest, NoEtaForAStreamNotReadInTimeOrder) {
  tracker_.StreamStarted("solutions");
  tracker_.ObserveUpdatedAt("solutions", now_unix_ - 1000, now_unix_ - 500);
  tracker_.ObserveUpdatedAt("solutions", now_unix_ - 3000, now_unix_ - 2000);
  now_ += std::chrono::seconds(5);
  const nlohmann::json s = tracker_.Snapshot()["streams"]["solutions"];
  EXPECT_FALSE(s.contains("fraction"));
  EXPECT_FALSE(s.contains("eta_seconds"));
}

TEST_F(ProgressTrackerTest, LinesShowCountsRatesPercentAndEta) {
  tracker_.StreamStarted("tickets");
  tracker_.Add("tickets", Stage::kFetch, 100);
  tracker_.ObserveUpdatedAt("tickets", now_unix_ - 1000, now_unix_ - 500);
  now_ += std::chrono::seconds(20);
  const std::vector<std::string> plain = ProgressTracker::Lines(tracker_.Snapshot(), false);
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_NE(plain[0].find("tickets"), std::string::npos);
  EXPECT_NE(plain[0].find("fetch 100 5/s"), std::string::npos) << plain[0];
  EXPECT_NE(plain[0].find("50%"), std::string::npos) << plain[0];
  EXPECT_NE(plain[0].find("ETA 0:20"), std::string::npos) << plain[0];
  EXPECT_EQ(plain[0].find('['), std::string::npos) << "no bars off a terminal";
  const std::vector<std::string> bars = ProgressTracker::Lines(tracker_.Snapshot(), true);
  EXPECT_NE(bars[0].find("[##########..........]"), std::string::npos) << bars[0];
}

TEST_F(ProgressTrackerTest, LongStreamNamesStaySeparateFromTheirCountsAndInOneColumn) {
  for (const char* stream : {"company_fields", "tickets_reconcile", "groups"}) {
    tracker_.StreamStarted(stream);
    tracker_.Add(stream, Stage::kFetch, 9);
  }
  now_ += std::chrono::seconds(1);
  const std::vector<std::string> lines = ProgressTracker::Lines(tracker_.Snapshot(), false);
  ASSERT_EQ(lines.size(), 3u);
  for (const std::string& line : lines) EXPECT_EQ(line.find("fetch 9"), lines[0].find("fetch 9")) << line;
  const std::string all = lines[0] + "\n" + lines[1] + "\n" + lines[2];
  EXPECT_NE(all.find("tickets_reconcile fetch 9"), std::string::npos) << all;
  EXPECT_NE(all.find("company_fields    fetch 9"), std::string::npos) << all;
}

}  // namespace
}  // namespace deskpipe
