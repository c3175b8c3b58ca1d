#include "net/rate_governor.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace deskpipe::net {
namespace {

std::chrono::milliseconds CeilMs(Clock::TimePoint::duration d) {
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(d);
  return std::max(ms, std::chrono::milliseconds(1));
}

int64_t Share(int64_t value, double share) {
  // floor(value × share), at least 1 so a tiny share still makes progress.
  return std::max<int64_t>(1, static_cast<int64_t>(std::floor(static_cast<double>(value) * share + 1e-9)));
}

}  // namespace

// ---- Permit ---------------------------------------------------------------------------------------------

RateGovernor::Permit::Permit(Permit&& other) noexcept
    : governor_(std::exchange(other.governor_, nullptr)), id_(other.id_), reserved_(other.reserved_) {}

RateGovernor::Permit& RateGovernor::Permit::operator=(Permit&& other) noexcept {
  if (this != &other) {
    if (governor_ != nullptr) governor_->Release(id_, ResponseCredits{});
    governor_ = std::exchange(other.governor_, nullptr);
    id_ = other.id_;
    reserved_ = other.reserved_;
  }
  return *this;
}

RateGovernor::Permit::~Permit() {
  // Ended without a response: keep the reservation (the server may have counted it).
  if (governor_ != nullptr) governor_->Release(id_, ResponseCredits{});
}

void RateGovernor::Permit::Complete(const ResponseCredits& credits) {
  if (governor_ == nullptr) return;
  governor_->Release(id_, credits);
  governor_ = nullptr;
}

// ---- RateGovernor ---------------------------------------------------------------------------------------

RateGovernor::RateGovernor(RateGovernorOptions options)
    : options_(std::move(options)), clock_(options_.clock ? options_.clock : SystemClock()) {
  if (!(options_.budget_share > 0) || options_.budget_share > 1) options_.budget_share = 1.0;
  options_.max_in_flight = std::max(options_.max_in_flight, 1);
  if (options_.window.count() <= 0) options_.window = std::chrono::milliseconds(60'000);
}

void RateGovernor::AddLocked(int64_t credits, const std::string& bucket) {
  used_ += credits;
  if (!bucket.empty()) ++bucket_calls_[bucket];
}

void RateGovernor::RemoveLocked(int64_t credits, const std::string& bucket) {
  used_ -= credits;
  if (!bucket.empty() && --bucket_calls_[bucket] <= 0) bucket_calls_.erase(bucket);
}

int RateGovernor::BucketIndexLocked(const std::string& bucket) {
  if (bucket.empty()) return -1;
  auto it = std::find(bucket_names_.begin(), bucket_names_.end(), bucket);
  if (it != bucket_names_.end()) return static_cast<int>(it - bucket_names_.begin());
  bucket_names_.push_back(bucket);
  return static_cast<int>(bucket_names_.size()) - 1;
}

void RateGovernor::PruneLocked(Clock::TimePoint now) {
  static const std::string kNoBucket;
  while (!answered_.empty() && answered_.front().leaves <= now) {
    const Answered& gone = answered_.front();
    RemoveLocked(gone.credits, gone.bucket < 0 ? kNoBucket : bucket_names_[static_cast<size_t>(gone.bucket)]);
    answered_.pop_front();
  }
}

std::optional<int64_t> RateGovernor::AllowedLocked() const {
  if (!total_) return std::nullopt;
  int64_t allowed = Share(*total_, options_.budget_share);
  // Someone else's use of the account comes out of the whole budget, not out of the others' share.
  allowed = std::min(allowed, *total_ - foreign_);
  return std::max<int64_t>(allowed, 0);
}

std::optional<int64_t> RateGovernor::BucketAllowedLocked(const std::string& bucket) const {
  if (bucket.empty() || !total_ || !options_.bucket_limit) return std::nullopt;
  auto limit = options_.bucket_limit(bucket, *total_);
  if (!limit) return std::nullopt;
  return Share(*limit, options_.budget_share);
}

std::optional<Clock::TimePoint> RateGovernor::TimeUsedFallsToLocked(int64_t target,
                                                                    const std::string& bucket) const {
  int64_t sum = 0;
  int64_t staying = 0;  // in flight: leaves only after its response
  if (bucket.empty()) {
    sum = used_;
    staying = in_flight_credits_;
  } else {
    auto calls = bucket_calls_.find(bucket);
    sum = calls == bucket_calls_.end() ? 0 : calls->second;
    auto flying = bucket_in_flight_.find(bucket);
    staying = flying == bucket_in_flight_.end() ? 0 : flying->second;
  }
  if (sum <= target) return clock_->Now();
  if (staying > target) return std::nullopt;
  for (const Answered& e : answered_) {  // in the order they leave the window
    if (!bucket.empty() && (e.bucket < 0 || bucket_names_[static_cast<size_t>(e.bucket)] != bucket)) continue;
    sum -= bucket.empty() ? e.credits : 1;
    if (sum <= target) return e.leaves;
  }
  return std::nullopt;  // unreachable: staying <= target
}

RateGovernor::Permit RateGovernor::Acquire(const RequestTicket& ticket) {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t my_turn = next_ticket_++;
  const auto started = clock_->Now();
  while (true) {
    if (my_turn != serving_) {
      cv_.wait(lock);
      continue;
    }
    const auto now = clock_->Now();
    PruneLocked(now);
    if (now < paused_until_) {
      clock_->WaitFor(lock, cv_, CeilMs(paused_until_ - now));
      continue;
    }
    // Until the first response tells the budget, one request probes alone.
    const int cap = saw_response_ || !options_.probe_first ? options_.max_in_flight : 1;
    if (in_flight_ >= cap) {
      cv_.wait(lock);
      continue;
    }
    if (options_.min_spacing.count() > 0 && last_start_ && now < *last_start_ + options_.min_spacing) {
      clock_->WaitFor(lock, cv_, CeilMs(*last_start_ + options_.min_spacing - now));
      continue;
    }
    auto learnt = learnt_cost_.find(ticket.cost_key);
    const int64_t cost =
        std::max<int64_t>(0, learnt != learnt_cost_.end() ? learnt->second : ticket.estimated_cost);
    if (auto allowed = AllowedLocked()) {
      const int64_t used = used_;
      // A request dearer than the whole budget still goes, alone.
      if (used > 0 && used + cost > *allowed) {
        auto when = TimeUsedFallsToLocked(std::max<int64_t>(*allowed - cost, 0), "");
        if (when) {
          clock_->WaitFor(lock, cv_, CeilMs(*when - now));
        } else {
          cv_.wait(lock);
        }
        continue;
      }
    }
    if (auto bucket_allowed = BucketAllowedLocked(ticket.bucket)) {
      auto found = bucket_calls_.find(ticket.bucket);
      const int64_t calls = found == bucket_calls_.end() ? 0 : found->second;
      if (calls > 0 && calls + 1 > *bucket_allowed) {
        auto when = TimeUsedFallsToLocked(*bucket_allowed - 1, ticket.bucket);
        if (when) {
          clock_->WaitFor(lock, cv_, CeilMs(*when - now));
        } else {
          cv_.wait(lock);
        }
        continue;
      }
    }
    // Admitted.
    const uint64_t id = next_id_++;
    Entry entry{cost, ticket.bucket, ticket.cost_key};
    AddLocked(entry.credits, entry.bucket);
    in_flight_credits_ += cost;
    if (!entry.bucket.empty()) ++bucket_in_flight_[entry.bucket];
    in_flight_entries_.emplace(id, std::move(entry));
    ++in_flight_;
    last_start_ = now;
    ++serving_;
    ++stats_.requests;
    stats_.max_in_flight_seen = std::max(stats_.max_in_flight_seen, in_flight_);
    stats_.waited += std::chrono::duration_cast<std::chrono::milliseconds>(now - started);
    cv_.notify_all();  // the next in line may go too
    return Permit(this, id, cost);
  }
}

void RateGovernor::Release(uint64_t id, const ResponseCredits& credits) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = clock_->Now();
  auto it = in_flight_entries_.find(id);
  if (it == in_flight_entries_.end()) return;
  Entry entry = std::move(it->second);
  in_flight_entries_.erase(it);
  --in_flight_;
  in_flight_credits_ -= entry.credits;
  if (!entry.bucket.empty() && --bucket_in_flight_[entry.bucket] <= 0) bucket_in_flight_.erase(entry.bucket);
  RemoveLocked(entry.credits, entry.bucket);
  if (credits.pause_for) {
    auto until = now + *credits.pause_for;
    if (until > paused_until_) paused_until_ = until;
    ++stats_.pauses;
  }
  if (!credits.reached_server) {
    cv_.notify_all();
    return;
  }
  if (credits.used_current_request && *credits.used_current_request >= 0) {
    entry.credits = *credits.used_current_request;
    learnt_cost_[entry.cost_key] = entry.credits;
  }
  stats_.credits += entry.credits;
  const bool unbucketed = entry.bucket.empty();
  AddLocked(entry.credits, entry.bucket);
  Answered answered{now + options_.window, entry.credits, BucketIndexLocked(entry.bucket)};
  // Responses arrive in time order, so this appends; only a clock stepped back lands earlier.
  auto later = std::upper_bound(answered_.begin(), answered_.end(), answered.leaves,
                                [](Clock::TimePoint t, const Answered& a) { return t < a.leaves; });
  answered_.insert(later, answered);
  saw_response_ = true;
  if (credits.total && *credits.total > 0) {
    total_ = *credits.total;
    stats_.total = total_;
    if (credits.remaining && unbucketed) {
      // The server's count of the window minus ours: what others (other apps, an earlier run) spent.
      PruneLocked(now);
      const int64_t server_used = *credits.total - std::max<int64_t>(*credits.remaining, 0);
      foreign_ = std::clamp<int64_t>(server_used - used_, 0, *credits.total);
      stats_.foreign_credits = foreign_;
    }
  }
  cv_.notify_all();
}

void RateGovernor::PauseFor(std::chrono::milliseconds wait) {
  std::lock_guard<std::mutex> lock(mu_);
  auto until = clock_->Now() + wait;
  if (until > paused_until_) paused_until_ = until;
  ++stats_.pauses;
  cv_.notify_all();
}

int64_t RateGovernor::ExpectedCost(const std::string& cost_key, int64_t fallback) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = learnt_cost_.find(cost_key);
  return it != learnt_cost_.end() ? it->second : fallback;
}

std::optional<int64_t> RateGovernor::EffectiveBudget() const {
  std::lock_guard<std::mutex> lock(mu_);
  return AllowedLocked();
}

RateGovernorStats RateGovernor::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace deskpipe::net
