#include "store/index_follower.h"

#include <pthread.h>

namespace deskpipe {

IndexFollower::~IndexFollower() {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    WaitIdle(lock);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void IndexFollower::WaitIdle(std::unique_lock<std::mutex>& lock) {
  changed_.wait(lock, [this] { return !job_.has_value(); });
}

void IndexFollower::Submit(Job job) {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    WaitIdle(lock);
    job_ = std::move(job);
    if (!thread_.joinable()) thread_ = std::thread(&IndexFollower::Run, this);
  }
  changed_.notify_all();
}

std::vector<IndexFollower::Failure> IndexFollower::Wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  WaitIdle(lock);
  return std::exchange(failures_, {});
}

void IndexFollower::Run() {
  pthread_setname_np(pthread_self(), "dp-index");  // names the thread in top -H and perf
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return stopping_ || job_.has_value(); });
    if (!job_.has_value()) return;  // stopping, nothing left
    Job& job = *job_;
    lock.unlock();  // the owner only waits while the job runs

    Status failed;
    for (int64_t key : job.removed_keys) {
      if (auto removed = job.index->Remove(key); !removed) {
        failed = removed.error();
        break;
      }
    }
    if (failed.ok()) {
      std::vector<std::pair<int64_t, const std::vector<float>*>> items;
      items.reserve(job.added.size());
      for (const auto& [key, vector] : job.added) items.emplace_back(key, &vector);
      // One thread: the owner's next SQL batch, the critical path of a sync, runs on the other core.
      if (auto added = job.index->AddBatch(items, 1); !added) failed = added.error();
    }

    lock.lock();
    if (!failed.ok()) failures_.push_back({job.tenant_id, failed});
    job_.reset();
    changed_.notify_all();
  }
}

}  // namespace deskpipe
