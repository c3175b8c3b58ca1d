#include "net/clock.h"

#include <thread>
#include <utility>

namespace deskpipe::net {
namespace {

class SteadyClock : public Clock {
 public:
  TimePoint Now() override { return std::chrono::steady_clock::now(); }
  void SleepFor(std::chrono::milliseconds wait) override {
    if (wait.count() > 0) std::this_thread::sleep_for(wait);
  }
  void WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
               std::chrono::milliseconds wait) override {
    if (wait.count() > 0) cv.wait_for(lock, wait);
  }
};

class FunctionClock : public Clock {
 public:
  FunctionClock(std::function<void(std::chrono::milliseconds)> sleep,
                std::function<std::chrono::steady_clock::time_point()> now)
      : sleep_(std::move(sleep)), now_(std::move(now)) {}

  TimePoint Now() override {
    TimePoint base = now_ ? now_() : std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lock(mu_);
    return base + slept_;
  }
  void SleepFor(std::chrono::milliseconds wait) override {
    if (wait.count() <= 0) return;
    if (sleep_) {
      sleep_(wait);
      std::lock_guard<std::mutex> lock(mu_);
      slept_ += wait;
    } else {
      std::this_thread::sleep_for(wait);
    }
  }
  void WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
               std::chrono::milliseconds wait) override {
    if (!sleep_) {
      if (wait.count() > 0) cv.wait_for(lock, wait);
      return;
    }
    lock.unlock();
    SleepFor(wait);
    lock.lock();
  }

 private:
  std::function<void(std::chrono::milliseconds)> sleep_;
  std::function<std::chrono::steady_clock::time_point()> now_;
  std::mutex mu_;
  std::chrono::milliseconds slept_{0};
};

}  // namespace

std::shared_ptr<Clock> SystemClock() {
  static const std::shared_ptr<Clock> clock = std::make_shared<SteadyClock>();
  return clock;
}

std::shared_ptr<Clock> MakeFunctionClock(std::function<void(std::chrono::milliseconds)> sleep,
                                         std::function<std::chrono::steady_clock::time_point()> now) {
  return std::make_shared<FunctionClock>(std::move(sleep), std::move(now));
}

}  // namespace deskpipe::net
