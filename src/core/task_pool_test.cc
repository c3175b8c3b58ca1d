#include "core/task_pool.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace deskpipe {
namespace {

long ThreadId() { return syscall(SYS_gettid); }

TEST(TaskPoolTest, RunsEveryIndexOnce) {
  TaskPool pool(3);
  std::vector<std::atomic<int>> runs(1000);
  pool.Run(runs.size(), 4, [&](size_t i) { ++runs[i]; });
  for (size_t i = 0; i < runs.size(); ++i) ASSERT_EQ(runs[i].load(), 1) << "index " << i;
}

TEST(TaskPoolTest, RunsUpToMaxThreadsAtOnce) {
  TaskPool pool(7);
  std::mutex mu;
  std::condition_variable cv;
  int inside = 0;
  int most = 0;
  bool all_met = true;
  // Each of the first four tasks waits (up to 10 s) until four are inside together: only four threads at
  // once can get past it.
  pool.Run(8, 4, [&](size_t i) {
    std::unique_lock lock(mu);
    most = std::max(most, ++inside);
    cv.notify_all();
    if (i < 4 && !cv.wait_for(lock, std::chrono::seconds(10), [&] { return most >= 4; })) all_met = false;
    --inside;
  });
  EXPECT_TRUE(all_met) << "four tasks never ran together";
  EXPECT_EQ(most, 4) << "more than max_threads ran at once";
}

TEST(TaskPoolTest, KeepsItsThreadsFromCallToCall) {
  TaskPool pool(3);
  std::mutex mu;
  std::set<long> threads;
  for (int call = 0; call < 50; ++call) {
    pool.Run(16, 4, [&](size_t) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      std::lock_guard lock(mu);
      threads.insert(ThreadId());
    });
  }
  EXPECT_GT(threads.size(), 1u);
  EXPECT_LE(threads.size(), 4u) << "threads were started per call";  // kernel thread ids are not reused soon
}

TEST(TaskPoolTest, OneThreadRunsInOrderOnTheCaller) {
  TaskPool pool(3);
  std::vector<size_t> order;
  const long caller = ThreadId();
  bool elsewhere = false;
  pool.Run(5, 1, [&](size_t i) {
    order.push_back(i);
    if (ThreadId() != caller) elsewhere = true;
  });
  EXPECT_EQ(order, (std::vector<size_t>{0, 1, 2, 3, 4}));
  EXPECT_FALSE(elsewhere);
}

TEST(TaskPoolTest, ConcurrentAndNestedCallsAllFinish) {
  TaskPool pool(3);
  std::vector<std::atomic<int>> runs(4 * 20 * 10);
  std::vector<std::thread> callers;
  for (size_t c = 0; c < 4; ++c) {
    callers.emplace_back([&, c] {
      pool.Run(20, 4, [&](size_t outer) {
        // A task that runs a call of its own, as a request that pages would.
        pool.Run(10, 4, [&](size_t inner) { ++runs[(c * 20 + outer) * 10 + inner]; });
      });
    });
  }
  for (std::thread& caller : callers) caller.join();
  for (size_t i = 0; i < runs.size(); ++i) ASSERT_EQ(runs[i].load(), 1) << "index " << i;
}

}  // namespace
}  // namespace deskpipe
