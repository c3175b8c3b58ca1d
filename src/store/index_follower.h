// Applies committed vector changes to the in-memory indexes on one background thread, so the SQL of the next
// batch overlaps the graph insertions of the previous one (the insertions cost nearly as much CPU as the SQL).
// SQL stays the source of truth: a change the follower failed to apply is reported by the next Wait(), and
// the store then drops that tenant's index so it is rebuilt from SQL.
//
// Thread-safety: Submit() and Wait() are called from the owning store's thread only. Between Submit() and the
// next Wait() the submitted index belongs to the follower: the owner must Wait() before touching any index.
// Lifetime: the thread starts with the first Submit() and is joined by the destructor (after the last job);
// the indexes submitted must outlive that job.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/status.h"
#include "store/segmented_index.h"

namespace deskpipe {

class IndexFollower {
 public:
  // One batch's changes to one tenant's index: removals first, then additions.
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

  // Waits until the previous job is done, then hands `job` to the thread and returns. A failure of the
  // previous job is kept for the next Wait().
  void Submit(Job job);
  // Waits until no job is running; returns the failures since the last Wait() (usually none).
  std::vector<Failure> Wait();

 private:
  void Run();
  void WaitIdle(std::unique_lock<std::mutex>& lock);

  std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<Job> job_;  // the job handed over and not yet finished
  bool stopping_ = false;
  std::vector<Failure> failures_;
  std::thread thread_;  // last: started after the fields it uses
};

}  // namespace deskpipe
