#include "net/rate_governor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

namespace deskpipe::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Fixture {
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  std::unique_ptr<RateGovernor> governor;

  explicit Fixture(RateGovernorOptions options = {}) {
    options.clock = clock;
    governor = std::make_unique<RateGovernor>(std::move(options));
  }
  // Sends one request of `cost` credits whose response reports `total` and the cost; returns the time
  // it was admitted.
  Clock::TimePoint Send(const std::string& key, int64_t cost, int64_t total, const std::string& bucket = "",
                        int64_t estimate = 1) {
    auto permit = governor->Acquire({key, bucket, estimate});
    auto admitted = clock->Now();
    permit.Complete({total, std::nullopt, cost, true});
    return admitted;
  }
};

TEST(RateGovernorTest, StaysInsideTheBudgetOfEverySlidingWindow) {
  RateGovernorOptions options;
  options.window = seconds(60);
  Fixture f(options);
  std::vector<std::pair<Clock::TimePoint, int64_t>> sent;
  for (int i = 0; i < 200; ++i) {
    int64_t cost = 1 + (i % 3) * 2;  // 1, 3, 5 credits
    sent.emplace_back(f.Send("GET k" + std::to_string(i % 3), cost, /*total=*/100), cost);
    f.clock->Advance(milliseconds(10));  // time the response took
  }
  // Whatever 60 s window you look at, at most 100 credits were sent in it.
  for (size_t i = 0; i < sent.size(); ++i) {
    int64_t in_window = 0;
    for (size_t j = i; j < sent.size() && sent[j].first < sent[i].first + seconds(60); ++j) {
      in_window += sent[j].second;
    }
    EXPECT_LE(in_window, 100) << "window starting at request " << i;
  }
  // And the governor did wait (the requests needed ~600 credits: about 6 windows).
  auto elapsed = sent.back().first - sent.front().first;
  EXPECT_GE(elapsed, seconds(5 * 60));
  EXPECT_LE(elapsed, seconds(6 * 60 + 10));
}

TEST(RateGovernorTest, UsesTheWholeBudgetBeforeWaiting) {
  Fixture f;
  auto start = f.clock->Now();
  for (int i = 0; i < 50; ++i) f.Send("GET x", 2, 100);
  EXPECT_EQ(f.clock->Now(), start) << "100 credits fit in the first window: no wait";
  f.Send("GET x", 2, 100);
  EXPECT_GE(f.clock->Now(), start + seconds(60));
}

TEST(RateGovernorTest, BudgetShareLeavesRoom) {
  RateGovernorOptions options;
  options.budget_share = 0.25;
  Fixture f(options);
  auto start = f.clock->Now();
  for (int i = 0; i < 25; ++i) f.Send("GET x", 1, 100);
  EXPECT_EQ(f.clock->Now(), start);
  EXPECT_EQ(f.governor->EffectiveBudget(), 25);
  f.Send("GET x", 1, 100);  // the 26th needs the next window
  EXPECT_GE(f.clock->Now(), start + seconds(60));
}

TEST(RateGovernorTest, AnticipatesEstimatedCostThenLearnsIt) {
  Fixture f;
  f.Send("GET probe", 1, 20);
  // A list with includes is estimated at 7 before any was sent: only 2 fit in the 19 credits left... after
  // the first response corrects it to 3, more fit.
  EXPECT_EQ(f.governor->ExpectedCost("GET tickets?include=a,b,c", 7), 7);
  auto permit = f.governor->Acquire({"GET tickets?include=a,b,c", "", 7});
  EXPECT_EQ(permit.reserved_credits(), 7);
  permit.Complete({20, std::nullopt, 3, true});
  EXPECT_EQ(f.governor->ExpectedCost("GET tickets?include=a,b,c", 7), 3);
  auto second = f.governor->Acquire({"GET tickets?include=a,b,c", "", 7});
  EXPECT_EQ(second.reserved_credits(), 3);
  second.Complete({20, std::nullopt, 3, true});
  EXPECT_EQ(f.governor->stats().credits, 1 + 3 + 3);
}

TEST(RateGovernorTest, AResponseAnsweredEarlierLeavesTheWindowEarlierEvenWhenRecordedLater) {
  Fixture f;
  const auto start = f.clock->Now();
  f.Send("GET probe", 1, 10);  // budget learnt: 10; its credit leaves at start + 60 s
  f.clock->Advance(seconds(10));
  f.Send("GET a", 4, 10);  // leaves at start + 70 s
  f.clock->StepBack(seconds(8));
  f.Send("GET b", 4, 10);  // recorded after a, but leaves first: at start + 62 s
  // 9 of 10 credits are in use; 5 more fit once the probe and b have left, before a does.
  const auto admitted = f.Send("GET c", 5, 10, "", /*estimate=*/5);
  EXPECT_GE(admitted, start + seconds(62));
  EXPECT_LT(admitted, start + seconds(70)) << "b's credits must leave at its own time, not after a's";
}

TEST(RateGovernorTest, ReservationBlocksBeforeTheResponseArrives) {
  // Two requests in flight at once: the second must count the first's anticipated credits.
  RateGovernorOptions options;
  options.max_in_flight = 4;
  Fixture f(options);
  f.Send("GET probe", 1, 10);  // budget learnt: 10
  auto a = f.governor->Acquire({"GET big", "", 8});
  auto start = f.clock->Now();
  // 1 + 8 used; a 2-credit request must wait for the probe's credit to leave the window.
  auto b = f.governor->Acquire({"GET small", "", 2});
  EXPECT_GE(f.clock->Now(), start + seconds(59));
  a.Complete({10, std::nullopt, 8, true});
  b.Complete({10, std::nullopt, 2, true});
}

TEST(RateGovernorTest, SubBudgetLimitsCallsOfItsBucketOnly) {
  RateGovernorOptions options;
  options.bucket_limit = [](const std::string& bucket, int64_t total) -> std::optional<int64_t> {
    if (bucket == "tickets_list" && total == 400) return 3;
    return std::nullopt;
  };
  Fixture f(options);
  auto start = f.clock->Now();
  for (int i = 0; i < 3; ++i) f.Send("GET tickets", 7, 400, "tickets_list", 7);
  for (int i = 0; i < 10; ++i) f.Send("GET other", 1, 400);  // other calls are not held back
  EXPECT_EQ(f.clock->Now(), start);
  f.Send("GET tickets", 7, 400, "tickets_list", 7);  // 4th list call: next window
  EXPECT_GE(f.clock->Now(), start + seconds(60));
}

TEST(RateGovernorTest, PauseHoldsEveryRequestUntilRetryAfter) {
  Fixture f;
  f.Send("GET x", 1, 100);
  auto start = f.clock->Now();
  f.governor->PauseFor(seconds(7));
  f.governor->PauseFor(seconds(3));  // never shortens
  f.Send("GET y", 1, 100);
  EXPECT_EQ(f.clock->Now(), start + seconds(7));
  EXPECT_EQ(f.governor->stats().pauses, 2);
}

TEST(RateGovernorTest, MinimumSpacing) {
  RateGovernorOptions options;
  options.min_spacing = milliseconds(500);
  Fixture f(options);
  auto t0 = f.Send("GET a", 1, 1000);
  f.clock->Advance(milliseconds(200));
  auto t1 = f.Send("GET b", 1, 1000);
  EXPECT_EQ(t1 - t0, milliseconds(500));
  f.clock->Advance(milliseconds(900));
  auto t2 = f.Send("GET c", 1, 1000);
  EXPECT_EQ(t2 - t1, milliseconds(900));
}

TEST(RateGovernorTest, ForeignUseReportedByRemainingIsLeftAlone) {
  Fixture f;
  // The server says 60 of 100 are already used though we sent 1: another app uses 59.
  auto permit = f.governor->Acquire({"GET x", "", 1});
  permit.Complete({100, 40, 1, true});
  EXPECT_EQ(f.governor->stats().foreign_credits, 59);
  EXPECT_EQ(f.governor->EffectiveBudget(), 41);
  auto start = f.clock->Now();
  for (int i = 0; i < 40; ++i) {
    auto p = f.governor->Acquire({"GET x", "", 1});
    p.Complete({100, std::nullopt, 1, true});  // no remaining: estimate kept
  }
  EXPECT_EQ(f.clock->Now(), start);
  auto last = f.governor->Acquire({"GET x", "", 1});
  EXPECT_GT(f.clock->Now(), start);
  // The other app stopped: the server reports everything free again.
  last.Complete({100, 99, 1, true});  // only our own request counted
  EXPECT_EQ(f.governor->stats().foreign_credits, 0);
}

TEST(RateGovernorTest, AWorkerTakingOverAJobStartsFromTheAccountsRemainingCreditsNotAFullBudget) {
  // The tenant's share is half of a 100-credit window. Its previous worker died after 70 credits of this
  // window were spent; the new worker's governor is fresh: its first request (the probe) reads the headers.
  RateGovernorOptions options;
  options.budget_share = 0.5;
  Fixture f(options);
  auto probe = f.governor->Acquire({"GET x", "", 1});
  probe.Complete({100, 29, 1, true});  // 71 used in the window: 70 before us, 1 ours
  EXPECT_EQ(f.governor->stats().foreign_credits, 70);
  EXPECT_EQ(f.governor->EffectiveBudget(), 30);  // what the account has left, not the share's 50
  const auto start = f.clock->Now();
  for (int i = 0; i < 29; ++i) {  // the probe plus these 29: the 30 left
    auto p = f.governor->Acquire({"GET x", "", 1});
    p.Complete({100, std::nullopt, 1, true});
  }
  EXPECT_EQ(f.clock->Now(), start);
  auto over = f.governor->Acquire({"GET x", "", 1});  // one more would overdraw the account: it waits
  EXPECT_GT(f.clock->Now(), start);
  over.Complete({100, std::nullopt, 1, true});
}

TEST(RateGovernorTest, UnknownBudgetProbesOneAtATimeThenRunsConcurrently) {
  RateGovernorOptions options;
  options.max_in_flight = 3;
  options.clock = SystemClock();  // real threads below; no time assertions
  RateGovernor governor(options);
  std::atomic<int> in_flight{0};
  std::atomic<int> max_seen{0};
  std::atomic<bool> first_done{false};
  std::atomic<int> overlapped_probe{0};
  auto work = [&] {
    auto permit = governor.Acquire({"GET x", "", 1});
    int now = ++in_flight;
    int prev = max_seen.load();
    while (now > prev && !max_seen.compare_exchange_weak(prev, now)) {
    }
    if (!first_done.load() && now > 1) ++overlapped_probe;
    std::this_thread::sleep_for(milliseconds(first_done.load() ? 2 : 20));
    --in_flight;
    first_done = true;
    permit.Complete({1000, std::nullopt, 1, true});
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 12; ++i) threads.emplace_back(work);
  for (auto& t : threads) t.join();
  EXPECT_EQ(overlapped_probe.load(), 0) << "nothing may run beside the first (budget-probing) request";
  EXPECT_LE(max_seen.load(), 3);
  EXPECT_LE(governor.stats().max_in_flight_seen, 3);
  EXPECT_EQ(governor.stats().requests, 12);
}

TEST(RateGovernorTest, DroppedPermitKeepsItsReservationAndFreesTheSlot) {
  RateGovernorOptions options;
  options.max_in_flight = 1;
  Fixture f(options);
  f.Send("GET probe", 1, 10);
  { auto dropped = f.governor->Acquire({"GET x", "", 9}); }
  auto start = f.clock->Now();
  f.Send("GET y", 1, 10);  // slot free, but 10 credits used: waits for the window
  EXPECT_GE(f.clock->Now(), start + seconds(59));
}

}  // namespace
}  // namespace deskpipe::net
