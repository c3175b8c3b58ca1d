#include "core/task_pool.h"

#include <algorithm>
#include <atomic>

namespace deskpipe {

struct TaskPool::Job {
  const std::function<void(size_t)>* task;
  size_t count;
  size_t helpers_wanted;      // max_threads - 1
  size_t helpers_active = 0;  // guarded by mutex_; a helper leaves only once every index is claimed
  std::atomic<size_t> next{0};
};

TaskPool::TaskPool(size_t helpers) : helpers_(helpers) {}

TaskPool::~TaskPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

void TaskPool::Work(Job& job) {
  for (size_t i = job.next.fetch_add(1); i < job.count; i = job.next.fetch_add(1)) (*job.task)(i);
}

void TaskPool::Run(size_t count, size_t max_threads, const std::function<void(size_t)>& task) {
  const size_t wanted = std::min({count, max_threads, helpers_ + 1});
  if (wanted <= 1) {
    for (size_t i = 0; i < count; ++i) task(i);
    return;
  }
  Job job{&task, count, wanted - 1};
  std::list<Job*>::iterator queued;
  {
    std::lock_guard lock(mutex_);
    queued = jobs_.insert(jobs_.end(), &job);
    while (threads_.size() < helpers_ && threads_.size() < job.helpers_wanted) {
      threads_.emplace_back([this] { HelperLoop(); });
    }
  }
  work_.notify_all();
  Work(job);
  // Every index is claimed: no helper may join now, and the call returns once those inside are done.
  std::unique_lock lock(mutex_);
  jobs_.erase(queued);
  detached_.wait(lock, [&] { return job.helpers_active == 0; });
}

void TaskPool::HelperLoop() {
  std::unique_lock lock(mutex_);
  while (true) {
    Job* job = nullptr;
    work_.wait(lock, [&] {
      if (stopping_) return true;
      for (Job* queued : jobs_) {
        if (queued->helpers_active < queued->helpers_wanted && queued->next.load() < queued->count) {
          job = queued;
          return true;
        }
      }
      return false;
    });
    if (job == nullptr) return;  // stopping
    ++job->helpers_active;
    lock.unlock();
    Work(*job);
    lock.lock();
    if (--job->helpers_active == 0) detached_.notify_all();
  }
}

}  // namespace deskpipe
