// Clock: where the request layer (rate governor, retries, circuit breaker) reads the time and waits, so tests
// can swap in FakeClock and never sleep. SystemClock() is steady_clock + real waits. Implementations are
// thread-safe; share them through std::shared_ptr (every user holds one, so lifetime takes care of itself).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace deskpipe::net {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;
  virtual TimePoint Now() = 0;
  // Sleeps `wait` (no lock held).
  virtual void SleepFor(std::chrono::milliseconds wait) = 0;
  // Waits up to `wait` on `cv`; `lock` is held on entry and on return. May return early when notified (the
  // caller re-checks its condition).
  virtual void WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                       std::chrono::milliseconds wait) = 0;
};

// The process's real clock (steady_clock, real sleeps). Never null.
std::shared_ptr<Clock> SystemClock();

// A clock made of a sleep function and a time function (the injection points older than Clock; either may be
// null: real sleeps, steady_clock). `sleep` is taken not to move `now`, so the time slept is added to it; with
// a `sleep`, WaitFor sleeps the whole wait (no early wake-up).
std::shared_ptr<Clock> MakeFunctionClock(std::function<void(std::chrono::milliseconds)> sleep,
                                         std::function<std::chrono::steady_clock::time_point()> now);

// A clock that moves only when someone sleeps or waits on it (or Advance is called): SleepFor / WaitFor
// advance Now() by the wait and return at once. Records every sleep/wait. Thread-safe, but meant for
// single-threaded tests (a waiter on a condition variable is not woken by time moving).
class FakeClock : public Clock {
 public:
  explicit FakeClock(TimePoint start = TimePoint{} + std::chrono::hours(1)) : now_(start) {}

  TimePoint Now() override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  void SleepFor(std::chrono::milliseconds wait) override { Advance(wait, /*record=*/true); }
  void WaitFor(std::unique_lock<std::mutex>& /*lock*/, std::condition_variable& /*cv*/,
               std::chrono::milliseconds wait) override {
    Advance(wait, /*record=*/true);
  }
  // Moves time forward without recording a sleep (time passing while the test "does work").
  void Advance(std::chrono::milliseconds by, bool record = false) {
    std::lock_guard<std::mutex> lock(mu_);
    if (by.count() <= 0) return;
    now_ += by;
    if (record) sleeps_.push_back(by);
  }
  // Moves time backward, as a stepped wall clock would; for code that must cope with it.
  void StepBack(std::chrono::milliseconds by) {
    std::lock_guard<std::mutex> lock(mu_);
    if (by.count() > 0) now_ -= by;
  }
  std::vector<std::chrono::milliseconds> sleeps() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sleeps_;
  }
  std::chrono::milliseconds total_slept() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::chrono::milliseconds sum{0};
    for (auto s : sleeps_) sum += s;
    return sum;
  }

 private:
  mutable std::mutex mu_;
  TimePoint now_;
  std::vector<std::chrono::milliseconds> sleeps_;
};

}  // namespace deskpipe::net
