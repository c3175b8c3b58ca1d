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

// True when `owner` ("host:pid:start") names a process of this host that no longer exists.
bool OwnerIsGone(const std::string& owner) {
  const size_t first = owner.find(':');
  const size_t second = owner.find(':', first + 1);
  if (first == std::string::npos || second == std::string::npos) return false;
  if (owner.substr(0, first) != HostName()) return false;  // another host: only its heartbeat tells
  const pid_t pid = static_cast<pid_t>(std::atoll(owner.substr(first + 1, second - first - 1).c_str()));
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

struct JobManager::LiveJob {
  JobRecord record;  // guarded by JobManager::mutex_
  std::atomic<bool> stop{false};
  bool cancel_requested = false;  // guarded by JobManager::mutex_
  std::shared_ptr<TrackerWatcher> watcher = std::make_shared<TrackerWatcher>();
  std::map<std::string, std::pair<int64_t, int64_t>> counted;  // stream → records, chunks put in metrics
  int64_t persisted_ms = 0;
};

JobManager::JobManager(Catalog& catalog, Metrics& metrics, RunSync run, JobManagerOptions options)
    : catalog_(catalog), metrics_(metrics), run_(std::move(run)), options_(std::move(options)) {
  if (options_.owner.empty()) options_.owner = fmt::format("{}:{}:{}", HostName(), getpid(), NowMs());
  options_.concurrency = std::max(1, options_.concurrency);
}

JobManager::~JobManager() { Shutdown(); }

Result<void> JobManager::Start() {
  const int64_t now = NowMs();
  ASSIGN_OR_RETURN(auto stranded, catalog_.JobsInStates({JobState::kRunning, JobState::kCancelling}));
  for (JobRecord& job : stranded) {
    if (!OwnerIsGone(job.owner) && now - job.heartbeat_at < options_.stale_after.count()) continue;
    const bool was_cancelling = job.state == JobState::kCancelling;
    job.last_error =
        was_cancelling ? job.last_error : "the server running this job stopped; resumed from its cursors";
    job.ended_at = now;
    RETURN_IF_ERROR(SaveTransition(job, was_cancelling ? JobState::kCancelled : JobState::kInterrupted));
    log::Warn("job interrupted: its server is gone", {{"tenant", job.tenant_id}, {"task_id", job.task_id}});
  }
  // Tenants whose latest job was interrupted (here, or by a shutdown) sync again; queued jobs are adopted.
  ASSIGN_OR_RETURN(auto interrupted, catalog_.JobsInStates({JobState::kInterrupted}));
  for (const JobRecord& job : interrupted) {
    ASSIGN_OR_RETURN(auto latest, catalog_.ListJobs(job.tenant_id, 1));
    if (latest.empty() || latest[0].task_id != job.task_id) continue;
    JobRecord resume;
    resume.task_id = NewTaskId();
    resume.tenant_id = job.tenant_id;
    resume.platform = job.platform;
    resume.trigger = "resume";
    resume.queued_at = NowMs();
    ASSIGN_OR_RETURN(auto inserted, catalog_.InsertJobIfNoneActive(resume));
    if (inserted.second) {
      metrics_.JobStateChanged("", "queued");
      log::Info("job queued to resume an interrupted one",
                {{"tenant", job.tenant_id}, {"task_id", resume.task_id}, {"resumes", job.task_id}});
    }
  }
  ASSIGN_OR_RETURN(auto queued, catalog_.JobsInStates({JobState::kQueued}));
  std::lock_guard lock(mutex_);
  for (const JobRecord& job : queued) queue_.push_back(job.task_id);
  started_ = true;
  for (int i = 0; i < options_.concurrency; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  ticker_ = std::thread([this] { TickerLoop(); });
  queue_cv_.notify_all();
  return {};
}

Result<JobManager::Started> JobManager::Enqueue(const TenantRecord& tenant, const std::string& trigger) {
  if (shutting_down_) return Error(Unavailable("the server is shutting down"));
  JobRecord job;
  job.task_id = NewTaskId();
  job.tenant_id = tenant.tenant_id;
  job.platform = tenant.platform;
  job.trigger = trigger;
  job.queued_at = NowMs();
  std::lock_guard lock(mutex_);
  // The catalog's unique index keeps one active job per tenant across processes; the mutex orders ours.
  ASSIGN_OR_RETURN(auto inserted, catalog_.InsertJobIfNoneActive(job));
  if (!inserted.second) {
    if (auto live = live_.find(tenant.tenant_id); live != live_.end())
      return Started{live->second->record, false};
    return Started{inserted.first, false};
  }
  metrics_.JobStateChanged("", "queued");
  queue_.push_back(job.task_id);
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
  ASSIGN_OR_RETURN(auto jobs, catalog_.ListJobs(tenant_id, 1));
  if (jobs.empty() || !IsActive(jobs[0].state)) {
    return Error(NotFound(fmt::format("tenant {} has no queued or running job", tenant_id)));
  }
  JobRecord job = jobs[0];
  if (job.state != JobState::kQueued) {
    // Running in another server process: only that one holds its stop flag.
    return Error(
        Status(StatusCode::kBusy, fmt::format("job {} runs in another server ({})", job.task_id, job.owner)));
  }
  std::erase(queue_, job.task_id);
  job.ended_at = NowMs();
  RETURN_IF_ERROR(SaveTransition(job, JobState::kCancelled));
  last_ended_ms_[tenant_id] = job.ended_at;
  Bump(tenant_id);
  log::Info("job cancelled before it started", {{"tenant", tenant_id}, {"task_id", job.task_id}});
  return job;
}

Result<std::optional<JobRecord>> JobManager::Current(const std::string& tenant_id) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = live_.find(tenant_id); it != live_.end()) return std::optional<JobRecord>(it->second->record);
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
  while (true) {
    std::string task_id;
    {
      std::unique_lock lock(mutex_);
      queue_cv_.wait(lock, [&] { return shutting_down_ || !queue_.empty(); });
      if (shutting_down_) return;
      task_id = queue_.front();
      queue_.pop_front();
    }
    RunJob(task_id);
  }
}

void JobManager::RunJob(const std::string& task_id) {
  auto job = catalog_.GetJob(task_id);
  if (!job || !*job || (*job)->state != JobState::kQueued) return;  // cancelled (or deleted) meanwhile
  auto tenant = catalog_.GetTenant((*job)->tenant_id);
  auto live = std::make_shared<LiveJob>();
  live->record = **job;
  {
    std::lock_guard lock(mutex_);
    if (shutting_down_) {
      queue_.push_front(task_id);  // stays queued for the next start
      return;
    }
    live->record.owner = options_.owner;
    live->record.started_at = live->record.heartbeat_at = live->persisted_ms = NowMs();
    if (!tenant || !*tenant) {
      live->record.ended_at = NowMs();
      live->record.last_error = tenant ? "the tenant was deleted" : tenant.error().message();
      (void)SaveTransition(live->record, JobState::kFailed);
      Bump(live->record.tenant_id);
      return;
    }
    if (auto saved = SaveTransition(live->record, JobState::kRunning); !saved) {
      log::Error("cannot start job", {{"task_id", task_id}, {"error", saved.error().message()}});
      return;
    }
    live_[live->record.tenant_id] = live;
    Bump(live->record.tenant_id);
  }
  log::Info("job started", {{"tenant", live->record.tenant_id}, {"task_id", task_id}});

  RunnerOptions options;
  options.stop = &live->stop;
  options.progress_watcher = live->watcher;
  options.wait_for_lock = true;  // a CLI writer of the tenant finishes first; the job heartbeats meanwhile
  Result<RunSummary> summary = run_(**tenant, std::move(options));

  std::lock_guard lock(mutex_);
  Publish(*live, /*persist=*/false);
  JobRecord& record = live->record;
  record.ended_at = NowMs();
  JobState outcome;
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
    record.last_error = "the server stopped; the job resumes from its cursors when it starts again";
  } else {
    outcome = JobState::kFailed;
    record.last_error = summary.error().ToString();
  }
  if (summary) record.summary = summary->ToJson();
  if (auto saved = SaveTransition(record, outcome); !saved) {
    log::Error("cannot record the end of a job", {{"task_id", task_id}, {"error", saved.error().message()}});
  }
  metrics_.JobEnded(JobStateName(outcome), static_cast<double>(record.ended_at - record.started_at) / 1000.0);
  last_ended_ms_[record.tenant_id] = record.ended_at;
  live_.erase(record.tenant_id);
  Bump(record.tenant_id);
  log::Info("job ended", {{"tenant", record.tenant_id},
                          {"task_id", task_id},
                          {"state", JobStateName(outcome)},
                          {"error", record.last_error}});
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
  if (persist) {
    if (auto saved = catalog_.UpdateJob(live.record); !saved) {
      log::Warn("cannot save a job's heartbeat",
                {{"task_id", live.record.task_id}, {"error", saved.error().message()}});
    }
    live.persisted_ms = live.record.heartbeat_at;
  }
  Bump(live.record.tenant_id);
}

void JobManager::TickerLoop() {
  int64_t last_reap = 0;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      if (ticker_cv_.wait_for(lock, options_.tick, [&] { return shutting_down_.load(); })) return;
      for (auto& [tenant, live] : live_) Publish(*live, /*persist=*/true);
    }
    const int64_t now = NowMs();
    CheckSchedules(now);
    if (now - last_reap >= options_.stale_after.count() / 2) {
      ReapStaleJobs(now);
      last_reap = now;
    }
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

void JobManager::ReapStaleJobs(int64_t now_ms) {
  auto running = catalog_.JobsInStates({JobState::kRunning, JobState::kCancelling});
  if (!running) return;
  for (JobRecord& job : *running) {
    {
      std::lock_guard lock(mutex_);
      if (auto it = live_.find(job.tenant_id); it != live_.end() && it->second->record.task_id == job.task_id) {
        continue;  // ours, heartbeating
      }
    }
    if (!OwnerIsGone(job.owner) && now_ms - job.heartbeat_at < options_.stale_after.count()) continue;
    std::lock_guard lock(mutex_);
    const bool was_cancelling = job.state == JobState::kCancelling;
    job.ended_at = now_ms;
    if (!was_cancelling) job.last_error = "the job's heartbeat stopped; resumed from its cursors";
    if (!SaveTransition(job, was_cancelling ? JobState::kCancelled : JobState::kInterrupted)) continue;
    Bump(job.tenant_id);
    log::Warn("job interrupted: its heartbeat stopped", {{"tenant", job.tenant_id}, {"task_id", job.task_id}});
    if (was_cancelling) continue;
    JobRecord resume;
    resume.task_id = NewTaskId();
    resume.tenant_id = job.tenant_id;
    resume.platform = job.platform;
    resume.trigger = "resume";
    resume.queued_at = now_ms;
    auto inserted = catalog_.InsertJobIfNoneActive(resume);
    if (inserted && inserted->second) {
      metrics_.JobStateChanged("", "queued");
      queue_.push_back(resume.task_id);
      queue_cv_.notify_one();
    }
  }
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
