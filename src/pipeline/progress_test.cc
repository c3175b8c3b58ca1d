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

TEST_F(ProgressTrackerTest, TotalsAndFractionComeFromCounts) {
  nlohmann::json snapshot = tracker_.Snapshot();
  EXPECT_TRUE(snapshot["total_items"].is_null()) << "nothing started, nothing counted";
  EXPECT_EQ(snapshot["current_stage"], "fetch");

  tracker_.StreamStarted("settings");
  tracker_.SetTotal("settings", 1);
  tracker_.AddProcessed("settings", 1);
  tracker_.StreamFinished("settings", "done");
  tracker_.StreamStarted("tickets");
  tracker_.SetTotal("tickets", 400);
  tracker_.AddProcessed("tickets", 100);
  tracker_.AddFailed("tickets", 2);
  snapshot = tracker_.Snapshot();
  EXPECT_EQ(snapshot["total_items"], 401);
  EXPECT_EQ(snapshot["processed_items"], 101);
  EXPECT_EQ(snapshot["failed_items"], 2);
  EXPECT_DOUBLE_EQ(snapshot["completion_fraction"].get<double>(), 0.252);  // 101 / 401
  const nlohmann::json& tickets = snapshot["streams"]["tickets"];
  EXPECT_EQ(tickets["total"], 400);
  EXPECT_EQ(tickets["counted"], 400);
  EXPECT_EQ(tickets["processed"], 100);
  EXPECT_EQ(tickets["failed"], 2);
  EXPECT_DOUBLE_EQ(tickets["fraction"].get<double>(), 0.25);
  EXPECT_EQ(snapshot["streams"]["settings"]["total"], 1);
}

TEST_F(ProgressTrackerTest, NoTotalWhileAStreamWithStoredItemsHasNoCount) {
  tracker_.StreamStarted("tickets_deleted");  // started, nothing stored yet: does not hide the total
  tracker_.StreamStarted("tickets");
  tracker_.SetTotal("tickets", 10);
  EXPECT_EQ(tracker_.Snapshot()["total_items"], 10);

  tracker_.StreamStarted("contacts");
  tracker_.SetTotal("contacts", std::nullopt);
  tracker_.AddProcessed("contacts", 5);
  tracker_.ObserveUpdatedAt("contacts", now_unix_ - 1000, now_unix_ - 500);
  now_ += std::chrono::seconds(5);
  nlohmann::json snapshot = tracker_.Snapshot();
  EXPECT_TRUE(snapshot["total_items"].is_null());
  EXPECT_TRUE(snapshot["completion_fraction"].is_null());
  EXPECT_TRUE(snapshot["eta_seconds"].is_null());
  EXPECT_TRUE(snapshot["eta_basis"].is_null());
  EXPECT_EQ(snapshot["processed_items"], 5);
  EXPECT_TRUE(snapshot["streams"]["contacts"]["total"].is_null());
  EXPECT_TRUE(snapshot["streams"]["contacts"]["counted"].is_null());
  // The time guess stays, labelled as such.
  EXPECT_EQ(snapshot["streams"]["contacts"]["eta_basis"], "time");

  // Once it ends done, what it stored is its total.
  tracker_.StreamFinished("contacts", "done");
  snapshot = tracker_.Snapshot();
  EXPECT_EQ(snapshot["streams"]["contacts"]["total"], 5);
  EXPECT_EQ(snapshot["total_items"], 15);
}

TEST_F(ProgressTrackerTest, ProcessedNeverExceedsTheReportedTotal) {
  tracker_.StreamStarted("tickets");
  tracker_.SetTotal("tickets", 10);  // an index that lagged counted too few
  tracker_.AddProcessed("tickets", 12);
  nlohmann::json snapshot = tracker_.Snapshot();
  EXPECT_EQ(snapshot["streams"]["tickets"]["total"], 12);
  EXPECT_EQ(snapshot["streams"]["tickets"]["counted"], 10);
  EXPECT_EQ(snapshot["total_items"], 12);
  EXPECT_DOUBLE_EQ(snapshot["completion_fraction"].get<double>(), 1.0);

  // An upper bound (tickets of the cursor's day counted again): done, the total is what was stored.
  tracker_.StreamStarted("tickets_spam");
  tracker_.SetTotal("tickets_spam", 30);
  tracker_.AddProcessed("tickets_spam", 8);
  EXPECT_DOUBLE_EQ(tracker_.Snapshot()["completion_fraction"].get<double>(), 0.476);  // 20 / 42
  tracker_.StreamFinished("tickets_spam", "done");
  tracker_.StreamFinished("tickets", "done");
  snapshot = tracker_.Snapshot();
  EXPECT_EQ(snapshot["streams"]["tickets_spam"]["total"], 8);
  EXPECT_EQ(snapshot["total_items"], 20);
  EXPECT_EQ(snapshot["processed_items"], 20);
  EXPECT_DOUBLE_EQ(snapshot["completion_fraction"].get<double>(), 1.0);
  EXPECT_EQ(snapshot["current_stage"], "done");
  EXPECT_EQ(snapshot["eta_seconds"], 0);
}

TEST_F(ProgressTrackerTest, EtaIsTheSlowerOfTheBudgetAndTheMeasuredRate) {
  tracker_.StreamStarted("tickets");
  tracker_.SetTotal("tickets", 400);
  tracker_.AddFetched("tickets", 0, 1);     // the count's search
  tracker_.AddFetched("tickets", 100, 299);  // 300 credits for 100 tickets: 3 per ticket
  tracker_.AddProcessed("tickets", 100);
  now_ += std::chrono::seconds(10);  // 10 tickets/s stored
  nlohmann::json snapshot = tracker_.Snapshot();
  ASSERT_FALSE(snapshot["eta_seconds"].is_null());
  EXPECT_EQ(snapshot["eta_basis"], "measured") << "no budget known: the measured rate alone";
  EXPECT_DOUBLE_EQ(snapshot["eta_seconds"].get<double>(), 30.0);  // 300 left at 10/s

  tracker_.SetBudget(10.0);  // 10 credits/s: 300 tickets × 3 credits ÷ 10 = 90 s, slower than 30 s
  snapshot = tracker_.Snapshot();
  EXPECT_EQ(snapshot["eta_basis"], "budget");
  EXPECT_DOUBLE_EQ(snapshot["eta_seconds"].get<double>(), 90.0);
  EXPECT_EQ(snapshot["streams"]["tickets"]["eta_basis"], "budget");
  EXPECT_DOUBLE_EQ(snapshot["streams"]["tickets"]["eta_seconds"].get<double>(), 90.0);

  tracker_.SetBudget(100.0);  // 9 s by the budget: the measured 30 s is slower
  snapshot = tracker_.Snapshot();
  EXPECT_EQ(snapshot["eta_basis"], "measured");
  EXPECT_DOUBLE_EQ(snapshot["eta_seconds"].get<double>(), 30.0);

  tracker_.SetBudget(std::nullopt);
  tracker_.StreamStarted("solutions");  // running without a count: the run's ETA is unknown again
  snapshot = tracker_.Snapshot();
  EXPECT_TRUE(snapshot["eta_seconds"].is_null());
  EXPECT_EQ(snapshot["total_items"], 400) << "no items stored yet: it does not hide the total";
}

TEST_F(ProgressTrackerTest, EtaUnknownBeforeAnythingIsMeasured) {
  tracker_.StreamStarted("tickets");
  tracker_.SetTotal("tickets", 50);
  tracker_.SetBudget(10.0);
  nlohmann::json snapshot = tracker_.Snapshot();
  EXPECT_EQ(snapshot["total_items"], 50);
  EXPECT_DOUBLE_EQ(snapshot["completion_fraction"].get<double>(), 0.0);
  EXPECT_TRUE(snapshot["eta_seconds"].is_null()) << "no credits per ticket and no rate yet";
  EXPECT_FALSE(snapshot["streams"]["tickets"].contains("eta_seconds"));
}

TEST_F(ProgressTrackerTest, CurrentStageIsTheEarliestWithWorkLeftOnTheEarliestRunningStream) {
  tracker_.StreamStarted("tickets");
  tracker_.BatchThrough("tickets", Stage::kFetch);
  tracker_.BatchThrough("tickets", Stage::kFetch);
  EXPECT_EQ(tracker_.Snapshot()["current_stage"], "fetch");
  tracker_.FetchFinished("tickets");
  EXPECT_EQ(tracker_.Snapshot()["current_stage"], "transform");
  for (Stage stage : {Stage::kTransform, Stage::kTransform, Stage::kChunk, Stage::kChunk, Stage::kEmbed}) {
    tracker_.BatchThrough("tickets", stage);
  }
  tracker_.StreamStarted("solutions");  // a later stream fetching does not hide the earlier one's embedding
  EXPECT_EQ(tracker_.Snapshot()["current_stage"], "embed");
  tracker_.BatchThrough("tickets", Stage::kEmbed);
  tracker_.BatchThrough("tickets", Stage::kStore);
  EXPECT_EQ(tracker_.Snapshot()["current_stage"], "store");
  tracker_.StreamFinished("tickets", "done");
  EXPECT_EQ(tracker_.Snapshot()["current_stage"], "fetch") << "solutions is still reading";
  tracker_.StreamFinished("solutions", "done");
  EXPECT_EQ(tracker_.Snapshot()["current_stage"], "done");
}

}  // namespace
}  // namespace deskpipe
