// Applies committed vector changes to the in-memory indexes on one background thread, so the SQL of the next
// batches overlaps the graph insertions of the previous ones (the insertions cost nearly as much CPU as the
// SQL). Up to kMaxPending jobs queue up, so a slow batch on either side does not stall the other.
// SQL stays the source of truth: a change the follower failed to apply is reported by the next Wait(), the
// tenant's later jobs are skipped, and the store then drops that tenant's index so it is rebuilt from SQL.
//
// Thread-safety: Submit(), Wait() and HasFailures() are called from the owning store's thread only. Between
// Submit() and the next Wait() the submitted index belongs to the follower: the owner must Wait() before
// touching any index.
// Lifetime: the thread starts with the first Submit() and is joined by the destructor (after the last job);
// the indexes submitted must outlive that job.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/status.h"
#include "store/segmented_index.h"

namespace deskpipe {

class IndexFollower {
 public:
  // One batch's changes to one tenant's index: a full growing segment sealed first, then removals, then
  // additions.
  struct Job {
    std::string tenant_id;
    SegmentedIndex* index = nullptr;
    std::vector<int64_t> removed_keys;
    std::vector<std::pair<int64_t, std::vector<float>>> added;
  };
  // A job that failed: its tenant's index no longer matches SQL.
  struct Failure {
    std::string tenant_id;
    Status status;
  };

  IndexFollower() = default;
  ~IndexFollower();
  IndexFollower(const IndexFollower&) = delete;
  IndexFollower& operator=(const IndexFollower&) = delete;

  static constexpr size_t kMaxPending = 4;  // jobs queued or running; each holds one batch's vectors

  // Queues `job` (waiting only while kMaxPending jobs are pending) and returns. Failures are kept for Wait().
  void Submit(Job job);
  // Waits until no job is pending; returns the failures since the last Wait() (usually none).
  std::vector<Failure> Wait();
  // Whether a job failed since the last Wait(); does not wait.
  bool HasFailures();

 private:
  void Run();
  static Status Apply(Job& job);  // on the thread, without the lock
  void WaitIdle(std::unique_lock<std::mutex>& lock);
  bool TenantFailed(const std::string& tenant_id) const;  // under mutex_

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Job> jobs_;  // handed over and not yet finished; the front one runs
  bool stopping_ = false;
  std::vector<Failure> failures_;
  std::thread thread_;  // last: started after the fields it uses
};

}  // namespace deskpipe
