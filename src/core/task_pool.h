// TaskPool: runs task(i) for every i in [0, count) on the calling thread plus up to max_threads - 1 helper
// threads that live as long as the pool. Made for the Freshdesk client's concurrent requests: a sync makes
// thousands of such calls, and a thread started per call cost a clone, a fresh stack and a cold malloc cache
// every time.
// Thread-safety: Run may be called from several threads at once, and from inside a task; each call is a job
// of its own, and its caller works on it too, so a call finishes even when every helper is busy elsewhere.
// Lifetime: helpers start on first use; destruction joins them and must not overlap a Run.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

namespace deskpipe {

class TaskPool {
 public:
  // At most `helpers` threads besides the callers.
  explicit TaskPool(size_t helpers);
  ~TaskPool();
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  // Returns once task(i) has returned for every i. At most max_threads run this call's tasks at once (the
  // caller included); 1 or a pool without helpers runs them in order on the calling thread. A task must not
  // throw.
  void Run(size_t count, size_t max_threads, const std::function<void(size_t)>& task);

 private:
  struct Job;
  void HelperLoop();
  // Runs the job's unclaimed indices on this thread until none is left.
  static void Work(Job& job);

  const size_t helpers_;
  std::mutex mutex_;
  std::condition_variable work_;      // a job was queued, or the pool stops
  std::condition_variable detached_;  // a helper left a job
  std::list<Job*> jobs_;              // jobs helpers may still join, oldest first
  std::vector<std::thread> threads_;
  bool stopping_ = false;
};

}  // namespace deskpipe
