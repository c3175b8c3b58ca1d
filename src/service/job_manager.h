// Ingest jobs: at most one active job per tenant (queued, running or cancelling: a unique index of the
// catalog), claimed by this worker's threads from the catalog in the order they were queued (whoever waited
// longest goes first), cancelled after the batch in hand, published as live status (every tick while running,
// and on each transition) for the status route and the event stream, and kept as catalog rows so they
// outlive the process. Any number of servers sharing one PostgreSQL catalog are workers of one fleet:
//   - a claim takes a lease (`lease`, renewed every third of it while the job runs) and grows the job's
//     fencing token; every batch commit of the job and every write of its row carries the token, so a worker
//     whose lease ended (paused, partitioned, slow) commits nothing more: it notices, stops the job and logs
//     it;
//   - a job whose lease ended is claimed by any worker, which resumes it from the cursors its batches
//   committed;
//   - a job of a process of this host that is gone is marked `interrupted` at start-up, and its tenant's sync
//     queued again ("resume");
//   - on shutdown, running jobs stop after their batch in hand and end `interrupted`, with a resume queued
//   for
//     any worker; Drain() finishes the jobs in hand and claims no more;
//   - tenants with a schedule get a sync `schedule_seconds` (plus up to 10 % jitter) after their last job
//     ended, never while one is active.
// Thread-safety: every public method may be called from any thread. Lifetime: the catalog and metrics
// outlive the manager; the destructor shuts down.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
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
  int concurrency = 2;                     // jobs running at once in this worker, across tenants
  std::chrono::milliseconds tick{1000};    // progress published this often (at least thrice a lease)
  std::chrono::milliseconds lease{30000};  // a claim's lease, renewed every third of it
  std::chrono::milliseconds poll{1000};    // idle threads look for jobs queued by other workers this often
  std::string owner;                       // this worker's id (empty ⇒ DefaultWorkerId())
};

// "host:pid", the worker id when none is given.
std::string DefaultWorkerId();

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

  // Marks the jobs of dead processes of this host interrupted, queues their tenants again, then starts the
  // threads that claim jobs.
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
  // Claims no more jobs; the jobs in hand run to their end. Idempotent. Also asked through the catalog
  // (Catalog::DrainWorker, from any server), seen within a tick.
  void Drain();
  bool draining() const { return draining_.load(); }
  const std::string& worker_id() const { return options_.owner; }
  int running_jobs() const;

  // The status route's body for a job: the seed's fields (total_items, processed_items, failed_items,
  // current_stage, start_time, estimated_completion, completion_percentage) plus task_id, state, streams,
  // last_error, heartbeat_at, worker (the id of the one holding it) and the summary once ended.
  static nlohmann::json StatusJson(const JobRecord& job);

 private:
  struct LiveJob;

  void WorkerLoop();
  void TickerLoop();
  void RunJob(JobClaim claim);
  void Publish(LiveJob& live, bool persist);
  void Bump(const std::string& tenant_id);  // under mutex_
  void CheckSchedules(int64_t now_ms);
  void QueueResume(const JobRecord& interrupted, const std::string& trigger = "resume");  // under mutex_
  bool MayRetry(const JobRecord& job);  // under mutex_
  void ReportWorker();  // this worker's row in the catalog; drains when asked there
  Result<void> SaveTransition(JobRecord& job, JobState to);
  int64_t NextScheduledRun(const std::string& tenant_id, int64_t schedule_seconds) const;  // under mutex_

  Catalog& catalog_;
  Metrics& metrics_;
  RunSync run_;
  JobManagerOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable queue_cv_;   // a job was queued here, or shutdown (idle threads wait on it)
  std::condition_variable ticker_cv_;  // shutdown (the ticker waits on it between ticks)
  std::condition_variable change_cv_;  // a tenant's job changed, or shutdown
  int wakeups_ = 0;                    // jobs queued here that no idle thread looked for yet
  std::map<std::string, std::shared_ptr<LiveJob>> live_;  // tenant → its running job
  std::map<std::string, uint64_t> versions_;              // tenant → change number
  std::map<std::string, TenantRecord> scheduled_;         // tenants with a schedule
  std::map<std::string, int64_t> last_ended_ms_;          // tenant → when its last job ended
  std::atomic<bool> shutting_down_{false};
  std::atomic<bool> draining_{false};
  bool started_ = false;
  int64_t started_ms_ = 0;
  std::vector<std::thread> workers_;
  std::thread ticker_;
};

}  // namespace deskpipe::service
