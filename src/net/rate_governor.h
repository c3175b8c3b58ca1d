// RateGovernor: admits the requests of one API account so that, together, they stay inside the account's
// per-window credit budget (Freshdesk: "calls per minute", API.md §4) without a 429 in steady state.
//
//  - Budget: credits per window, learnt from every response's total header (X-RateLimit-Total), times
//    `budget_share` (leave room for the customer's other apps). Before the first response the budget is
//    unknown and one request goes at a time (the probe; `probe_first` false skips it, for an API whose
//    budget is never read); a server that sends no total header is not budgeted (only the concurrency cap,
//    the spacing and pauses apply).
//  - Cost: each request reserves the credits it is anticipated to cost before it is sent: the last cost learnt
//    for its `cost_key` (X-RateLimit-Used-CurrentRequest), else the caller's estimate (e.g. +2 per include).
//    The reservation is corrected to the real cost when the response arrives.
//  - Window: a sliding window of `window` length. A credit counts from the moment its request is sent until
//    `window` after its response arrived — the server received it somewhere in between, so this can never
//    undercount whatever window (fixed or sliding) the server uses.
//  - Sub-budgets: a request may name a bucket (e.g. "tickets_list"); `bucket_limit` maps a bucket and the total
//    to its own calls-per-window limit (times `budget_share`).
//  - Foreign use: X-RateLimit-Remaining lower than our own accounting says means someone else (another app,
//    a previous run) is using the account; that usage is subtracted from what we admit until the server says
//    otherwise.
//  - Pause: PauseFor (a 429's Retry-After) stops every admission of the account until it ends.
//  - Concurrency: at most `max_in_flight` requests between Acquire and Complete; `min_spacing` between two
//    request starts (RATE_LIMIT_DELAY).
// Waiters are admitted in arrival order (no starvation of expensive requests).
//
// Thread-safe: one instance per account shared by every request of it (std::shared_ptr). A Permit must not
// outlive its governor.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "net/clock.h"

namespace deskpipe::net {

struct RateGovernorOptions {
  double budget_share = 1.0;  // in (0, 1]
  int max_in_flight = 4;      // ≥ 1
  std::chrono::milliseconds min_spacing{0};
  std::chrono::milliseconds window{60'000};
  // Until the first response, one request at a time, so the budget is learnt before it is spent.
  bool probe_first = true;
  // Calls per window allowed for a bucket given the account's total budget; nullopt = no sub-budget.
  std::function<std::optional<int64_t>(const std::string& bucket, int64_t total)> bucket_limit;
  std::shared_ptr<Clock> clock;  // default SystemClock()
};

// What the governor needs to know about a request before it is sent.
struct RequestTicket {
  std::string cost_key;        // requests with the same key cost the same, e.g. "GET tickets?include=stats"
  std::string bucket;          // sub-budget name, "" for none
  int64_t estimated_cost = 1;  // used until a cost for cost_key has been learnt
};

// What the response said (all optional: headers may be absent; a transport failure has none).
struct ResponseCredits {
  std::optional<int64_t> total;                 // X-RateLimit-Total
  std::optional<int64_t> remaining;             // X-RateLimit-Remaining
  std::optional<int64_t> used_current_request;  // X-RateLimit-Used-CurrentRequest
  bool reached_server = true;                   // false for DNS/connect failures: nothing was counted
  // A 429: every admission of the account waits this long from now. Applied before the slot is freed, so no
  // request of this process slips in between the 429 and the pause.
  std::optional<std::chrono::milliseconds> pause_for;
};

struct RateGovernorStats {
  int64_t requests = 0;          // admitted
  int64_t credits = 0;           // credits charged (reservations corrected by responses)
  int64_t pauses = 0;            // PauseFor calls
  int max_in_flight_seen = 0;
  std::chrono::milliseconds waited{0};  // total time admissions waited (summed over waiters)
  std::optional<int64_t> total;         // latest X-RateLimit-Total
  int64_t foreign_credits = 0;          // current estimate of other users' credits in the window
};

class RateGovernor {
 public:
  // One admitted request; Complete() (or destruction, as a failure that reached no server) ends it.
  class Permit {
   public:
    Permit() = default;
    Permit(Permit&& other) noexcept;
    Permit& operator=(Permit&& other) noexcept;
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    ~Permit();

    void Complete(const ResponseCredits& credits);
    int64_t reserved_credits() const { return reserved_; }

   private:
    friend class RateGovernor;
    Permit(RateGovernor* governor, uint64_t id, int64_t reserved)
        : governor_(governor), id_(id), reserved_(reserved) {}
    RateGovernor* governor_ = nullptr;
    uint64_t id_ = 0;
    int64_t reserved_ = 0;
  };

  explicit RateGovernor(RateGovernorOptions options = {});
  RateGovernor(const RateGovernor&) = delete;
  RateGovernor& operator=(const RateGovernor&) = delete;

  // Blocks until the request may be sent, then reserves its credits.
  Permit Acquire(const RequestTicket& ticket);

  // Every admission of the account waits until now + `wait` (a 429's Retry-After). Never shortens a pause.
  void PauseFor(std::chrono::milliseconds wait);

  // The cost a request with this key is expected to have (learnt, else `fallback`).
  int64_t ExpectedCost(const std::string& cost_key, int64_t fallback) const;

  // Credits per window this process may use now (total × share − foreign use); nullopt while unknown.
  std::optional<int64_t> EffectiveBudget() const;

  RateGovernorStats stats() const;
  const RateGovernorOptions& options() const { return options_; }

 private:
  struct Entry {
    int64_t credits = 0;
    std::string bucket;
    std::string cost_key;
  };

  // An answered request until it leaves the window. Compact: a fast sync keeps tens of thousands of them.
  struct Answered {
    Clock::TimePoint leaves;
    int64_t credits = 0;
    int bucket = -1;  // index into bucket_names_; -1: none
  };

  void Release(uint64_t id, const ResponseCredits& credits);
  void PruneLocked(Clock::TimePoint now);
  void AddLocked(int64_t credits, const std::string& bucket);
  void RemoveLocked(int64_t credits, const std::string& bucket);
  int BucketIndexLocked(const std::string& bucket);  // -1 for no bucket
  std::optional<int64_t> AllowedLocked() const;
  std::optional<int64_t> BucketAllowedLocked(const std::string& bucket) const;
  // When the credits (or, for a bucket, the calls) in the window fall to `target`: a time, or nullopt when
  // in-flight requests must finish first.
  std::optional<Clock::TimePoint> TimeUsedFallsToLocked(int64_t target, const std::string& bucket) const;

  RateGovernorOptions options_;
  std::shared_ptr<Clock> clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Requests in the window: in flight (by id), and answered (by when they leave the window). Running sums keep
  // admission O(log n) however many requests the window holds.
  std::map<uint64_t, Entry> in_flight_entries_;
  std::deque<Answered> answered_;         // ordered by `leaves`
  std::vector<std::string> bucket_names_;  // the few buckets seen, named by Answered::bucket
  int64_t used_ = 0;                                    // credits of both
  std::map<std::string, int64_t> bucket_calls_;         // calls of both, per bucket
  std::map<std::string, int64_t> bucket_in_flight_;     // in-flight calls per bucket
  int64_t in_flight_credits_ = 0;
  std::map<std::string, int64_t> learnt_cost_;
  std::optional<int64_t> total_;
  bool saw_response_ = false;
  int64_t foreign_ = 0;
  int in_flight_ = 0;
  Clock::TimePoint paused_until_{};
  std::optional<Clock::TimePoint> last_start_;
  uint64_t next_id_ = 1;
  uint64_t next_ticket_ = 0;  // arrival order of Acquire calls
  uint64_t serving_ = 0;      // the ticket allowed to be admitted next
  RateGovernorStats stats_;
};

}  // namespace deskpipe::net
