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
  changed_.wait(lock, [this] { return jobs_.empty(); });
}

bool IndexFollower::TenantFailed(const std::string& tenant_id) const {
  for (const Failure& failure : failures_) {
    if (failure.tenant_id == tenant_id) return true;
  }
  return false;
}

void IndexFollower::Submit(Job job) {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return jobs_.size() < kMaxPending; });
    jobs_.push_back(std::move(job));
    if (!thread_.joinable()) thread_ = std::thread(&IndexFollower::Run, this);
  }
  changed_.notify_all();
}

bool IndexFollower::HasFailures() {
  std::lock_guard<std::mutex> lock(mutex_);
  return !failures_.empty();
}

std::vector<IndexFollower::Failure> IndexFollower::Wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  WaitIdle(lock);
  return std::exchange(failures_, {});
}

Status IndexFollower::Apply(Job& job) {
  if (auto sealed = job.index->SealIfFull(); !sealed) return sealed.error();
  for (int64_t key : job.removed_keys) {
    if (auto removed = job.index->Remove(key); !removed) return removed.error();
  }
  std::vector<std::pair<int64_t, const std::vector<float>*>> items;
  items.reserve(job.added.size());
  for (const auto& [key, vector] : job.added) items.emplace_back(key, &vector);
  // One thread: the owner's next SQL batch, the critical path of a sync, runs on the other core.
  if (auto added = job.index->AddBatch(items, 1); !added) return added.error();
  return Status();
}

void IndexFollower::Run() {
  pthread_setname_np(pthread_self(), "dp-index");  // names the thread in top -H and perf
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) return;                      // stopping, nothing left
    Job& job = jobs_.front();                       // stays put: deque growth at the back does not move it
    const bool skip = TenantFailed(job.tenant_id);  // its index no longer matches SQL and will be dropped
    lock.unlock();

    const Status status = skip ? Status() : Apply(job);

    lock.lock();
    if (!status.ok()) failures_.push_back({job.tenant_id, status});
    jobs_.pop_front();
    changed_.notify_all();
  }
}

}  // namespace deskpipe
