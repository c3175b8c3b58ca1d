// Ingest jobs: at most one active job per tenant (queued, running or cancelling), run by a fixed number of
// workers in the order they were queued (whoever waited longest goes first), cancelled after the batch in
// hand, published as live status (every tick while running, and on each transition) for the status route
// and the event stream, and kept as catalog rows so they outlive the process:
//   - each running job heartbeats every tick; a running job of a process that is gone (same host, pid dead) or
//     whose heartbeat is older than `stale_after` is marked `interrupted`, and the tenant's sync is queued
//     again ("resume"): it goes on from the cursors its batches committed;
//   - on shutdown, running jobs stop after their batch in hand and end `interrupted`; Start() on the next run
//     queues them again;
//   - tenants with a schedule get a sync `schedule_seconds` (plus up to 10 % jitter) after their last job
//     ended, never while one is active.
// Thread-safety: every public method may be called from any thread. Lifetime: the catalog and metrics
// outlive the manager; the destructor shuts down.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/run_summary.h"
#include "pipeline/runner.h"
#include "service/catalog.h"
#include "service/metrics.h"

namespace deskpipe::service {

struct JobManagerOptions {
  int concurrency = 2;                           // jobs running at once, across tenants
  std::chrono::milliseconds tick{1000};          // progress published and heartbeat written this often
  std::chrono::milliseconds stale_after{30000};  // a heartbeat this old means the job's process is gone
  std::string owner;                             // this process, "host:pid:start" (empty ⇒ made up)
};

class JobManager {
 public:
  // Runs one sync of the tenant with `options` (stop flag, progress watcher set by the manager). Given by the
  // server: it builds the tenant's Config and App.
  using RunSync = std::function<Result<RunSummary>(const TenantRecord& tenant, RunnerOptions options)>;
  // Reads a tenant (schedules, runs); nullopt when deleted.
  using LoadTenant = std::function<Result<std::optional<TenantRecord>>(const std::string& tenant_id)>;

  JobManager(Catalog& catalog, Metrics& metrics, RunSync run, JobManagerOptions options);
  ~JobManager();
  JobManager(const JobManager&) = delete;
  JobManager& operator=(const JobManager&) = delete;

  // Marks the jobs of dead processes interrupted, queues their tenants again, then starts the workers.
  Result<void> Start();

  struct Started {
    JobRecord job;
    bool created = false;  // false: the tenant's active job, returned as is
  };
  // Queues a sync of the tenant unless it has an active job. Unavailable while shutting down.
  Result<Started> Enqueue(const TenantRecord& tenant, const std::string& trigger);
  // Cancels the tenant's active job: a queued one at once, a running one after its batch in hand
  // (`cancelling`, then `cancelled`). NotFound when there is none.
  Result<JobRecord> Cancel(const std::string& tenant_id);
  // The tenant's active job with its live progress, else its latest job; nullopt when it never had one.
  Result<std::optional<JobRecord>> Current(const std::string& tenant_id);
  // Blocks until the tenant's job changed (progress or state) after `seen`, `deadline` passes, or shutdown;
  // returns the tenant's current change number (0 before its first change).
  uint64_t WaitForChange(const std::string& tenant_id, uint64_t seen,
                         std::chrono::steady_clock::time_point deadline);
  // The tenants and their schedules changed (put, delete): read them again.
  void TenantsChanged(std::vector<TenantRecord> tenants);
  // A deleted tenant: cancels its job and waits until none of its jobs runs.
  void Forget(const std::string& tenant_id);

  // Stops taking jobs; running jobs stop after their batch in hand and end `interrupted`. Idempotent.
  void Shutdown();
  bool shutting_down() const { return shutting_down_.load(); }
  int running_jobs() const;

  // The status route's body for a job: the seed's fields (total_items, processed_items, failed_items,
  // current_stage, start_time, estimated_completion, completion_percentage) plus task_id, state, streams,
  // last_error, heartbeat_at and the summary once ended.
  static nlohmann::json StatusJson(const JobRecord& job);

 private:
  struct LiveJob;

  void WorkerLoop();
  void TickerLoop();
  void RunJob(const std::string& task_id);
  void Publish(LiveJob& live, bool persist);
  void Bump(const std::string& tenant_id);  // under mutex_
  void CheckSchedules(int64_t now_ms);
  void ReapStaleJobs(int64_t now_ms);
  Result<void> SaveTransition(JobRecord& job, JobState to);
  int64_t NextScheduledRun(const std::string& tenant_id, int64_t schedule_seconds) const;  // under mutex_

  Catalog& catalog_;
  Metrics& metrics_;
  RunSync run_;
  JobManagerOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable queue_cv_;   // a job was queued, or shutdown (the workers wait on it)
  std::condition_variable ticker_cv_;  // shutdown (the ticker waits on it between ticks)
  std::condition_variable change_cv_;  // a tenant's job changed, or shutdown
  std::deque<std::string> queue_;      // task ids, oldest first
  std::map<std::string, std::shared_ptr<LiveJob>> live_;  // tenant → its running job
  std::map<std::string, uint64_t> versions_;               // tenant → change number
  std::map<std::string, TenantRecord> scheduled_;          // tenants with a schedule
  std::map<std::string, int64_t> last_ended_ms_;           // tenant → when its last job ended
  std::atomic<bool> shutting_down_{false};
  bool started_ = false;
  std::vector<std::thread> workers_;
  std::thread ticker_;
};

}  // namespace deskpipe::service
