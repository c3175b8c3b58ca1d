#include "service/job_manager.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <random>

#include <fmt/format.h>

#include "core/log.h"
#include "core/time.h"
#include "pipeline/progress.h"
#include "service/catalog_backends.h"

namespace deskpipe::service {

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string NewTaskId() {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  return fmt::format("{:016x}{:016x}", random(), random());
}

std::string HostName() {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  return name;
}

// Queue times strictly increase within the process, so jobs queued in one millisecond keep their order.
int64_t QueueTimeMs() {
  static std::atomic<int64_t> last{0};
  int64_t now = NowMs();
  int64_t seen = last.load();
  while (true) {
    const int64_t next = std::max(now, seen + 1);
    if (last.compare_exchange_weak(seen, next)) return next;
  }
}

// True when `owner` ("host:pid", or "host:pid:…" as written before worker ids) names a process of this host
// that no longer exists. Another host's worker, or a worker id of another shape: only its lease tells.
bool OwnerIsGone(const std::string& owner) {
  const size_t first = owner.find(':');
  if (first == std::string::npos) return false;
  const std::string pid_text = owner.substr(first + 1, owner.find(':', first + 1) - first - 1);
  if (owner.substr(0, first) != HostName() || pid_text.empty()) return false;
  if (pid_text.find_first_not_of("0123456789") != std::string::npos) return false;
  const pid_t pid = static_cast<pid_t>(std::atoll(pid_text.c_str()));
  return pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH) || pid == getpid();
}

nlohmann::json IsoOrNull(int64_t unix_ms) {
  return unix_ms > 0 ? nlohmann::json(FormatTimestamp(unix_ms / 1000)) : nlohmann::json(nullptr);
}

// The status fields of a progress snapshot (pipeline/progress.h).
nlohmann::json ProgressFields(const nlohmann::json& snapshot) {
  nlohmann::json fields = {
      {"total_items", snapshot.value("total_items", nlohmann::json(nullptr))},
      {"processed_items", 0},
      {"failed_items", snapshot.value("failed_items", 0)},
      {"current_stage", snapshot.value("current_stage", nlohmann::json(nullptr))},
      {"completion_fraction", snapshot.value("completion_fraction", nlohmann::json(nullptr))},
      {"eta_seconds", snapshot.value("eta_seconds", nlohmann::json(nullptr))},
      {"streams", snapshot.value("streams", nlohmann::json::object())}};
  if (snapshot.contains("processed_items")) {
    fields["processed_items"] = snapshot["processed_items"];
  } else {
    int64_t stored = 0;
    for (const auto& [name, stream] : fields["streams"].items()) {
      stored += stream.value("/stages/store/count"_json_pointer, int64_t{0});
    }
    fields["processed_items"] = stored;
  }
  return fields;
}

// Shares the runner's progress tracker while the run lasts; RunFinished waits for a snapshot in progress.
class TrackerWatcher : public ProgressWatcher {
 public:
  void RunStarted(const ProgressTracker& tracker) override {
    std::lock_guard lock(mutex_);
    tracker_ = &tracker;
  }
  void RunFinished() override {
    std::lock_guard lock(mutex_);
    if (tracker_ != nullptr) last_ = tracker_->Snapshot();
    tracker_ = nullptr;
  }
  // The tracker's snapshot now, or the last one taken before the run finished; null before it started.
  nlohmann::json Snapshot() {
    std::lock_guard lock(mutex_);
    return tracker_ != nullptr ? tracker_->Snapshot() : last_;
  }

 private:
  std::mutex mutex_;
  const ProgressTracker* tracker_ = nullptr;
  nlohmann::json last_ = nullptr;
};

}  // namespace

std::string DefaultWorkerId() { return fmt::format("{}:{}", HostName(), getpid()); }

struct JobManager::LiveJob {
  JobRecord record;  // guarded by JobManager::mutex_
  std::atomic<bool> stop{false};
  bool cancel_requested = false;  // guarded by JobManager::mutex_
  std::string lease_lost;         // why, once another worker holds the job; guarded by JobManager::mutex_
  std::shared_ptr<TrackerWatcher> watcher = std::make_shared<TrackerWatcher>();
  std::map<std::string, std::pair<int64_t, int64_t>> counted;  // stream → records, chunks put in metrics
  int64_t persisted_ms = 0;
};

JobManager::JobManager(Catalog& catalog, Metrics& metrics, RunSync run, JobManagerOptions options)
    : catalog_(catalog), metrics_(metrics), run_(std::move(run)), options_(std::move(options)) {
  if (options_.owner.empty()) options_.owner = DefaultWorkerId();
  options_.concurrency = std::max(1, options_.concurrency);
  options_.lease = std::max(options_.lease, std::chrono::milliseconds(300));
  // Renewal at a third of the lease: two renewals may fail (a slow database) before it ends.
  options_.tick = std::min(options_.tick, options_.lease / 3);
}

JobManager::~JobManager() { Shutdown(); }

Result<void> JobManager::Start() {
  const int64_t now = NowMs();
  ASSIGN_OR_RETURN(auto stranded, catalog_.JobsInStates({JobState::kRunning, JobState::kCancelling}));
  for (JobRecord& job : stranded) {
    if (!OwnerIsGone(job.owner)) continue;  // alive, or elsewhere: its lease decides
    const bool was_cancelling = job.state == JobState::kCancelling;
    job.last_error =
        was_cancelling ? job.last_error : "the server running this job stopped; resumed from its cursors";
    job.ended_at = now;
    if (auto saved = SaveTransition(job, was_cancelling ? JobState::kCancelled : JobState::kInterrupted);
        !saved) {
      if (saved.error().code() == StatusCode::kBusy) continue;  // another worker claimed it meanwhile
      return saved;
    }
    log::Warn("job interrupted: its server is gone", {{"tenant", job.tenant_id}, {"task_id", job.task_id}});
  }
  // Tenants whose latest job was interrupted (here, or by a shutdown) sync again; queued jobs are claimed.
  ASSIGN_OR_RETURN(auto interrupted, catalog_.JobsInStates({JobState::kInterrupted}));
  {
    std::lock_guard lock(mutex_);
    for (const JobRecord& job : interrupted) QueueResume(job);
    started_ = true;
    started_ms_ = now;
    wakeups_ = options_.concurrency;  // every thread looks at once
    for (int i = 0; i < options_.concurrency; ++i) workers_.emplace_back([this] { WorkerLoop(); });
    ticker_ = std::thread([this] { TickerLoop(); });
    queue_cv_.notify_all();
  }
  ReportWorker();  // listed at once, not a tick later
  log::Info("worker started", {{"worker", options_.owner},
                               {"jobs", options_.concurrency},
                               {"lease_seconds", static_cast<double>(options_.lease.count()) / 1000.0}});
  return {};
}

// Queues the tenant's sync again when `interrupted` is its latest job. Under mutex_.
void JobManager::QueueResume(const JobRecord& interrupted, const std::string& trigger) {
  auto latest = catalog_.ListJobs(interrupted.tenant_id, 1);
  if (!latest || latest->empty() || latest->front().task_id != interrupted.task_id) return;
  JobRecord resume;
  resume.task_id = NewTaskId();
  resume.tenant_id = interrupted.tenant_id;
  resume.platform = interrupted.platform;
  resume.trigger = trigger;
  resume.queued_at = QueueTimeMs();
  auto inserted = catalog_.InsertJobIfNoneActive(resume);
  if (!inserted) {
    log::Warn("cannot queue the resume of an interrupted job",
              {{"tenant", interrupted.tenant_id}, {"error", inserted.error().message()}});
    return;
  }
  if (!inserted->second) return;
  metrics_.JobStateChanged("", "queued");
  wakeups_ = std::min(wakeups_ + 1, options_.concurrency);
  queue_cv_.notify_one();
  log::Info(
      "job queued to resume an interrupted one",
      {{"tenant", interrupted.tenant_id}, {"task_id", resume.task_id}, {"resumes", interrupted.task_id}});
}

Result<JobManager::Started> JobManager::Enqueue(const TenantRecord& tenant, const std::string& trigger) {
  if (shutting_down_) return Error(Unavailable("the server is shutting down"));
  JobRecord job;
  job.task_id = NewTaskId();
  job.tenant_id = tenant.tenant_id;
  job.platform = tenant.platform;
  job.trigger = trigger;
  job.queued_at = QueueTimeMs();
  std::lock_guard lock(mutex_);
  // The catalog's unique index keeps one active job per tenant across processes; the mutex orders ours.
  ASSIGN_OR_RETURN(auto inserted, catalog_.InsertJobIfNoneActive(job));
  if (!inserted.second) {
    if (auto live = live_.find(tenant.tenant_id); live != live_.end())
      return Started{live->second->record, false};
    return Started{inserted.first, false};
  }
  metrics_.JobStateChanged("", "queued");
  wakeups_ = std::min(wakeups_ + 1, options_.concurrency);
  Bump(job.tenant_id);
  queue_cv_.notify_one();
  log::Info("job queued", {{"tenant", job.tenant_id}, {"task_id", job.task_id}, {"trigger", trigger}});
  return Started{inserted.first, true};
}

Result<JobRecord> JobManager::Cancel(const std::string& tenant_id) {
  std::lock_guard lock(mutex_);
  if (auto it = live_.find(tenant_id); it != live_.end()) {
    LiveJob& live = *it->second;
    if (!live.cancel_requested) {
      live.cancel_requested = true;
      live.stop = true;
      RETURN_IF_ERROR(SaveTransition(live.record, JobState::kCancelling));
      Bump(tenant_id);
      log::Info("job cancelling", {{"tenant", tenant_id}, {"task_id", live.record.task_id}});
    }
    return live.record;
  }
  // Held by another worker, or queued: the row is changed under its fencing token, so a claim in between
  // makes the write fail and the loop reads the job again.
  constexpr int kAttempts = 3;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    ASSIGN_OR_RETURN(auto jobs, catalog_.ListJobs(tenant_id, 1));
    if (jobs.empty() || !IsActive(jobs[0].state)) {
      return Error(NotFound(fmt::format("tenant {} has no queued or running job", tenant_id)));
    }
    JobRecord job = jobs[0];
    if (job.state == JobState::kCancelling) return job;
    const bool queued = job.state == JobState::kQueued;
    if (queued) job.ended_at = NowMs();
    // A running job's worker sees `cancelling` when it next renews its lease, and stops after its batch.
    auto saved = SaveTransition(job, queued ? JobState::kCancelled : JobState::kCancelling);
    if (!saved && saved.error().code() == StatusCode::kBusy) continue;
    RETURN_IF_ERROR(saved);
    if (queued) last_ended_ms_[tenant_id] = job.ended_at;
    Bump(tenant_id);
    log::Info(queued ? "job cancelled before it started" : "job cancelling in its worker",
              {{"tenant", tenant_id}, {"task_id", job.task_id}, {"worker", job.owner}});
    return job;
  }
  return Error(Unavailable(fmt::format("tenant {}'s job kept changing hands; try again", tenant_id)));
}

Result<std::optional<JobRecord>> JobManager::Current(const std::string& tenant_id) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = live_.find(tenant_id); it != live_.end())
      return std::optional<JobRecord>(it->second->record);
  }
  ASSIGN_OR_RETURN(auto jobs, catalog_.ListJobs(tenant_id, 1));
  if (jobs.empty()) return std::optional<JobRecord>();
  return std::optional<JobRecord>(jobs[0]);
}

uint64_t JobManager::WaitForChange(const std::string& tenant_id, uint64_t seen,
                                   std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  change_cv_.wait_until(lock, deadline, [&] { return shutting_down_ || versions_[tenant_id] != seen; });
  return versions_[tenant_id];
}

void JobManager::TenantsChanged(std::vector<TenantRecord> tenants) {
  std::lock_guard lock(mutex_);
  scheduled_.clear();
  for (TenantRecord& tenant : tenants) {
    if (tenant.schedule_seconds <= 0) continue;
    // A schedule counts from the tenant's last job, also one of an earlier process: a restart must not sync
    // every scheduled tenant at once.
    if (!last_ended_ms_.contains(tenant.tenant_id)) {
      if (auto latest = catalog_.ListJobs(tenant.tenant_id, 1); latest && !latest->empty()) {
        const JobRecord& job = latest->front();
        if (!IsActive(job.state)) last_ended_ms_[tenant.tenant_id] = job.ended_at;
      }
    }
    scheduled_[tenant.tenant_id] = std::move(tenant);
  }
}

void JobManager::Forget(const std::string& tenant_id) {
  (void)Cancel(tenant_id);
  std::unique_lock lock(mutex_);
  change_cv_.wait(lock, [&] { return !live_.contains(tenant_id); });
  scheduled_.erase(tenant_id);
  last_ended_ms_.erase(tenant_id);
}

void JobManager::Drain() {
  if (draining_.exchange(true)) return;
  log::Info("worker draining: the jobs in hand finish, no new ones are claimed",
            {{"worker", options_.owner}, {"running", running_jobs()}});
}

void JobManager::Shutdown() {
  {
    std::lock_guard lock(mutex_);
    if (shutting_down_.exchange(true)) return;
    for (auto& [tenant, live] : live_) live->stop = true;
  }
  queue_cv_.notify_all();
  ticker_cv_.notify_all();
  change_cv_.notify_all();
  for (std::thread& worker : workers_) worker.join();
  if (ticker_.joinable()) ticker_.join();
}

int JobManager::running_jobs() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(live_.size());
}

void JobManager::WorkerLoop() {
  bool look_now = true;  // at start and after a job: there may be more waiting
  while (true) {
    {
      std::unique_lock lock(mutex_);
      if (!look_now) {
        // Jobs queued by other workers are found by polling; ours wake a thread at once.
        queue_cv_.wait_for(lock, options_.poll, [&] { return shutting_down_ || wakeups_ > 0; });
      }
      if (shutting_down_) return;
      if (wakeups_ > 0) --wakeups_;
      look_now = false;
      if (draining_) continue;
    }
    const int64_t now = NowMs();
    auto claim = catalog_.ClaimJob(options_.owner, now, now + options_.lease.count());
    if (!claim) {
      log::Warn("cannot claim a job", {{"worker", options_.owner}, {"error", claim.error().message()}});
      continue;
    }
    if (!*claim) continue;
    RunJob(std::move(**claim));
    look_now = true;
  }
}

void JobManager::RunJob(JobClaim claim) {
  const int64_t now = NowMs();
  const std::string task_id = claim.job.task_id;
  const bool takeover = claim.previous_state != JobState::kQueued;
  if (takeover) {
    log::Warn("job taken over: the lease of its worker ended; resuming from the committed cursors",
              {{"tenant", claim.job.tenant_id},
               {"task_id", task_id},
               {"from_worker", claim.previous_owner},
               {"worker", options_.owner},
               {"fencing_token", claim.job.fencing_token}});
  }
  auto live = std::make_shared<LiveJob>();
  live->record = std::move(claim.job);
  live->persisted_ms = now;
  JobRecord& record = live->record;
  auto tenant = catalog_.GetTenant(record.tenant_id);
  {
    std::lock_guard lock(mutex_);
    if (!takeover) metrics_.JobStateChanged("queued", "running");
    // Taken over while cancelling, or its tenant is gone: ended without running.
    if (record.state == JobState::kCancelling || !tenant || !*tenant) {
      const bool cancelled = record.state == JobState::kCancelling;
      record.ended_at = now;
      if (!cancelled) record.last_error = tenant ? "the tenant was deleted" : tenant.error().message();
      (void)SaveTransition(record, cancelled ? JobState::kCancelled : JobState::kFailed);
      last_ended_ms_[record.tenant_id] = now;
      Bump(record.tenant_id);
      return;
    }
    live->stop = shutting_down_.load();  // claimed as the server stops: ends interrupted at once
    live_[record.tenant_id] = live;
    Bump(record.tenant_id);
  }
  log::Info("job started", {{"tenant", record.tenant_id},
                            {"task_id", task_id},
                            {"worker", options_.owner},
                            {"fencing_token", record.fencing_token}});

  RunnerOptions options;
  options.stop = &live->stop;
  options.progress_watcher = live->watcher;
  options.wait_for_lock = true;  // a CLI writer of the tenant finishes first; the job heartbeats meanwhile
  options.commit_fence = CommitFence{task_id, record.fencing_token};
  Result<RunSummary> summary = run_(**tenant, std::move(options));

  std::lock_guard lock(mutex_);
  Publish(*live, /*persist=*/false);
  if (live->lease_lost.empty() && !summary && summary.error().code() == StatusCode::kBusy) {
    // A refused commit: the fence saw another worker's token. The row says whose.
    if (auto row = catalog_.GetJob(task_id); row && *row && (*row)->fencing_token != record.fencing_token) {
      live->lease_lost =
          catalog_rows::LeaseLost(task_id, (*row)->owner, (*row)->fencing_token, record.fencing_token)
              .message();
    }
  }
  JobState outcome = JobState::kFailed;
  if (live->lease_lost.empty()) {
    record.ended_at = NowMs();
    if (summary && !summary->stopped) {
      outcome = JobState::kSucceeded;
      if (record.progress.is_object()) {
        record.progress["completion_fraction"] = 1.0;
        record.progress["eta_seconds"] = 0;
        record.progress["current_stage"] = "done";
      }
    } else if (live->cancel_requested) {
      outcome = JobState::kCancelled;
    } else if (summary || (summary.error().code() == StatusCode::kCancelled && shutting_down_)) {
      outcome = JobState::kInterrupted;
      record.last_error = "the server stopped; the job resumes from its cursors";
    } else if (summary.error().code() == StatusCode::kUnavailable && MayRetry(record)) {
      // The store (a database restart) or the helpdesk was unreachable past the retries: paused, not failed.
      outcome = JobState::kInterrupted;
      record.last_error = summary.error().ToString() + "; queued to resume from its cursors";
    } else {
      outcome = JobState::kFailed;
      record.last_error = summary.error().ToString();
    }
    if (summary) record.summary = summary->ToJson();
    if (auto saved = SaveTransition(record, outcome); !saved) {
      if (saved.error().code() == StatusCode::kBusy) {
        live->lease_lost = saved.error().message();
      } else {
        log::Error("cannot record the end of a job",
                   {{"task_id", task_id}, {"error", saved.error().message()}});
      }
    }
  }
  live_.erase(record.tenant_id);
  Bump(record.tenant_id);
  if (!live->lease_lost.empty()) {
    // The job is another worker's now: its row and its store are left to that one.
    log::Warn(live->lease_lost + "; stopping without committing",
              {{"tenant", record.tenant_id}, {"task_id", task_id}, {"worker", options_.owner}});
    return;
  }
  metrics_.JobEnded(JobStateName(outcome), static_cast<double>(record.ended_at - record.started_at) / 1000.0);
  last_ended_ms_[record.tenant_id] = record.ended_at;
  log::Info("job ended", {{"tenant", record.tenant_id},
                          {"task_id", task_id},
                          {"state", JobStateName(outcome)},
                          {"error", record.last_error}});
  // Stopped with the server, or by an outage: any worker of the fleet may go on with it.
  if (outcome == JobState::kInterrupted) QueueResume(record, shutting_down_ ? "resume" : "retry");
}

// An outage resumes a tenant's sync at most kMaxRetries times in a row (the helpdesk may stay down).
bool JobManager::MayRetry(const JobRecord& job) {
  constexpr int kMaxRetries = 3;
  auto latest = catalog_.ListJobs(job.tenant_id, kMaxRetries);
  if (!latest) return true;  // the catalog is down too: the job's lease decides
  int in_a_row = 0;
  for (const JobRecord& earlier : *latest) {
    if (earlier.trigger != "retry") break;
    ++in_a_row;
  }
  return in_a_row < kMaxRetries;
}

// Under mutex_: the live snapshot into the record, the metrics' counters moved on, the heartbeat written.
void JobManager::Publish(LiveJob& live, bool persist) {
  const nlohmann::json snapshot = live.watcher->Snapshot();
  if (snapshot.is_object()) {
    live.record.progress = ProgressFields(snapshot);
    const nlohmann::json streams = snapshot.value("streams", nlohmann::json::object());
    for (const auto& [stream, detail] : streams.items()) {
      const int64_t records = detail.value("/stages/store/count"_json_pointer, int64_t{0});
      const int64_t chunks = detail.value("/stages/embed/count"_json_pointer, int64_t{0});
      auto& [counted_records, counted_chunks] = live.counted[stream];
      metrics_.RecordsWritten(live.record.tenant_id, stream, static_cast<double>(records - counted_records));
      metrics_.ChunksWritten(live.record.tenant_id, stream, static_cast<double>(chunks - counted_chunks));
      counted_records = std::max(counted_records, records);
      counted_chunks = std::max(counted_chunks, chunks);
    }
  }
  live.record.heartbeat_at = NowMs();
  if (persist && live.lease_lost.empty()) {
    live.record.lease_until = live.record.heartbeat_at + options_.lease.count();
    auto renewed = catalog_.RenewLease(live.record);
    if (!renewed && renewed.error().code() == StatusCode::kBusy) {
      // Another worker took the job over: the fence refuses our next commit; stop before it.
      live.lease_lost = renewed.error().message();
      live.stop = true;
      log::Warn(live.lease_lost, {{"tenant", live.record.tenant_id}, {"worker", options_.owner}});
    } else if (!renewed) {
      log::Warn("cannot renew a job's lease",
                {{"task_id", live.record.task_id}, {"error", renewed.error().message()}});
    } else if (*renewed == JobState::kCancelling && !live.cancel_requested) {
      // Cancelled through another worker's API.
      live.cancel_requested = true;
      live.stop = true;
      live.record.state = JobState::kCancelling;
      log::Info("job cancelling", {{"tenant", live.record.tenant_id}, {"task_id", live.record.task_id}});
    }
    live.persisted_ms = live.record.heartbeat_at;
  }
  Bump(live.record.tenant_id);
}

void JobManager::TickerLoop() {
  while (true) {
    {
      std::unique_lock lock(mutex_);
      if (ticker_cv_.wait_for(lock, options_.tick, [&] { return shutting_down_.load(); })) return;
      for (auto& [tenant, live] : live_) Publish(*live, /*persist=*/true);
    }
    ReportWorker();
    CheckSchedules(NowMs());
  }
}

void JobManager::ReportWorker() {
  WorkerRecord me;
  me.worker_id = options_.owner;
  me.host = HostName();
  me.pid = getpid();
  me.started_at = started_ms_;
  me.heartbeat_at = NowMs();
  me.jobs = options_.concurrency;
  me.running = running_jobs();
  me.draining = draining_;
  auto drain = catalog_.PutWorker(me);
  if (!drain) {
    log::Warn("cannot report this worker", {{"worker", options_.owner}, {"error", drain.error().message()}});
  } else if (*drain && !draining_) {
    Drain();
  }
}

void JobManager::CheckSchedules(int64_t now_ms) {
  std::vector<TenantRecord> due;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [tenant_id, tenant] : scheduled_) {
      if (live_.contains(tenant_id)) continue;
      if (NextScheduledRun(tenant_id, tenant.schedule_seconds) <= now_ms) due.push_back(tenant);
    }
  }
  for (const TenantRecord& tenant : due) {
    auto started = Enqueue(tenant, "schedule");
    std::lock_guard lock(mutex_);
    // Whatever the outcome (queued, or another job active), wait a whole period before the next try.
    last_ended_ms_[tenant.tenant_id] = now_ms;
    if (!started)
      log::Warn("scheduled sync not queued",
                {{"tenant", tenant.tenant_id}, {"error", started.error().message()}});
  }
}

int64_t JobManager::NextScheduledRun(const std::string& tenant_id, int64_t schedule_seconds) const {
  const auto ended = last_ended_ms_.find(tenant_id);
  if (ended == last_ended_ms_.end()) return 0;  // never ran here: now
  // Up to 10 % jitter, fixed per tenant and period, so tenants sharing a schedule spread out.
  const uint64_t spread = std::hash<std::string>{}(tenant_id + std::to_string(ended->second)) % 1000;
  return ended->second + schedule_seconds * 1000 + static_cast<int64_t>(spread) * schedule_seconds / 10;
}

Result<void> JobManager::SaveTransition(JobRecord& job, JobState to) {
  const std::string from = JobStateName(job.state);
  job.state = to;
  RETURN_IF_ERROR(catalog_.UpdateJob(job));
  metrics_.JobStateChanged(from, JobStateName(to));
  return {};
}

void JobManager::Bump(const std::string& tenant_id) {
  ++versions_[tenant_id];
  change_cv_.notify_all();
}

nlohmann::json JobManager::StatusJson(const JobRecord& job) {
  const nlohmann::json progress =
      job.progress.is_object() ? job.progress : ProgressFields(nlohmann::json::object());
  nlohmann::json out = {{"tenant_id", job.tenant_id},
                        {"platform", job.platform},
                        {"task_id", job.task_id},
                        {"state", JobStateName(job.state)},
                        {"trigger", job.trigger}};
  for (const char* key : {"total_items", "processed_items", "failed_items", "current_stage"})
    out[key] = progress[key];
  out["queued_at"] = IsoOrNull(job.queued_at);
  out["start_time"] = IsoOrNull(job.started_at);
  out["end_time"] = IsoOrNull(job.ended_at);
  out["heartbeat_at"] = IsoOrNull(job.heartbeat_at);
  out["worker"] = job.owner.empty() ? nlohmann::json(nullptr) : nlohmann::json(job.owner);
  const nlohmann::json& fraction = progress["completion_fraction"];
  const nlohmann::json& eta = progress["eta_seconds"];
  if (job.state == JobState::kSucceeded) {
    out["completion_percentage"] = 100.0;
    out["estimated_completion"] = IsoOrNull(job.ended_at);
  } else {
    out["completion_percentage"] =
        fraction.is_number() ? nlohmann::json(std::round(std::min(1.0, fraction.get<double>()) * 1000) / 10)
                             : nlohmann::json(nullptr);
    out["estimated_completion"] =
        IsActive(job.state) && eta.is_number()
            ? IsoOrNull(job.heartbeat_at + static_cast<int64_t>(eta.get<double>() * 1000))
            : nlohmann::json(nullptr);
  }
  out["streams"] = progress["streams"];
  out["last_error"] = job.last_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(job.last_error);
  if (!job.summary.is_null()) out["summary"] = job.summary;
  return out;
}

}  // namespace deskpipe::service
