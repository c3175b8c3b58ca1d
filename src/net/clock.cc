#include "net/clock.h"

#include <thread>

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

}  // namespace

std::shared_ptr<Clock> SystemClock() {
  static const std::shared_ptr<Clock> clock = std::make_shared<SteadyClock>();
  return clock;
}

}  // namespace deskpipe::net
