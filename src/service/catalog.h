// The service's own rows: the tenants it serves (platform settings, sealed helpdesk secrets, token hash,
// schedule) and their ingest jobs (state, progress, summary, heartbeat). Kept beside the tenants' data in the
// store the server was given: `{data_dir}/service.db` for SQLite (its own file, so the CLI's read-only verbs
// never see a writer on deskpipe.db because of the service), tables `service_tenants` / `service_jobs` in the
// same database for PostgreSQL.
//
// The catalog holds no secret in clear: callers seal API keys (service/secrets.h) and hash tokens before
// handing records in.
// Thread-safety: every method may be called from any thread (one connection behind a mutex). Lifetime: the
// server's.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace deskpipe::service {

struct TenantRecord {
  std::string tenant_id;
  std::string platform;  // "freshdesk"
  // The platform's settings as the config loader's keys → text ("freshdesk_domain" → "acme"), secrets
  // excluded.
  std::map<std::string, std::string> settings;
  // The platform's secret settings, each sealed (SecretBox::Seal): "freshdesk_api_key" → sealed text.
  std::map<std::string, std::string> sealed_secrets;
  std::string mode = "hybrid";   // "hybrid" | "vector-only"
  std::string embedder;          // empty ⇒ the server's default
  double api_budget_share = 0;   // 0 ⇒ the server's default
  int64_t schedule_seconds = 0;  // 0 ⇒ no schedule
  std::string token_hash;        // HashToken of the tenant's token
  int64_t created_at = 0;        // Unix seconds
  int64_t updated_at = 0;
};

enum class JobState { kQueued, kRunning, kCancelling, kSucceeded, kFailed, kCancelled, kInterrupted };
const char* JobStateName(JobState state);  // "queued", "running", …
std::optional<JobState> ParseJobState(std::string_view name);
// Queued, running or cancelling: the tenant's one active job.
bool IsActive(JobState state);

struct JobRecord {
  std::string task_id;  // a UUID-like random id
  std::string tenant_id;
  std::string platform;
  std::string trigger;  // "api", "schedule", "resume"
  JobState state = JobState::kQueued;
  int64_t queued_at = 0;  // Unix milliseconds, for all four
  int64_t started_at = 0;
  int64_t ended_at = 0;
  int64_t heartbeat_at = 0;
  nlohmann::json progress = nullptr;  // the last status snapshot (the status route's fields)
  nlohmann::json summary = nullptr;   // the run summary once ended
  std::string last_error;
  std::string owner;  // the worker (--worker-id) holding it; empty while queued
  // Grows by one on every claim. Writes of the job row and the store's batch commits are refused unless
  // they carry the current value, so a worker that lost its job changes nothing more.
  int64_t fencing_token = 0;
  int64_t lease_until = 0;  // Unix ms; a running job whose lease is past may be claimed by any worker
};

// What ClaimJob took: the job, now the claimer's, and whom it was taken from (a takeover when
// previous_state is running or cancelling).
struct JobClaim {
  JobRecord job;
  JobState previous_state = JobState::kQueued;
  std::string previous_owner;
};

// A worker of the fleet (`deskpipe serve` process) as it last reported itself.
struct WorkerRecord {
  std::string worker_id;
  std::string host;
  int64_t pid = 0;
  int64_t started_at = 0;    // Unix ms
  int64_t heartbeat_at = 0;  // Unix ms, every tick
  int64_t jobs = 0;          // --jobs
  int64_t running = 0;       // jobs in hand at the heartbeat
  bool draining = false;     // claims no new job
};

class Catalog {
 public:
  virtual ~Catalog() = default;

  // `store_url` as Config::EffectiveStoreUrl: sqlite://… ⇒ service.db in that file's directory;
  // postgres://… or postgresql://… ⇒ that database. Creates the tables when missing.
  static Result<std::unique_ptr<Catalog>> Open(const std::string& store_url);

  // Inserts or replaces the tenant (by tenant_id).
  virtual Result<void> PutTenant(const TenantRecord& tenant) = 0;
  virtual Result<std::optional<TenantRecord>> GetTenant(const std::string& tenant_id) = 0;
  virtual Result<std::vector<TenantRecord>> ListTenants() = 0;  // by tenant_id
  // Removes the tenant and its jobs; false when there was none.
  virtual Result<bool> DeleteTenant(const std::string& tenant_id) = 0;

  // Inserts `job` as the tenant's active job unless it already has one (queued, running or cancelling): then
  // returns that one and false. Atomic across connections (a unique index on the active job per tenant).
  virtual Result<std::pair<JobRecord, bool>> InsertJobIfNoneActive(const JobRecord& job) = 0;
  // Replaces the row of job.task_id (every field but the token), provided its fencing token is still
  // job.fencing_token. NotFound when there is no row; Busy ("lease lost …") when another claim moved the
  // token.
  virtual Result<void> UpdateJob(const JobRecord& job) = 0;
  // Claims the job that waited longest among the queued ones and those whose lease ended before `now_ms`:
  // its token grows by one, `owner` holds it until `lease_until_ms`, a queued one becomes running (a
  // cancelling one stays cancelling). Skips rows another claimer holds locked; nullopt when none is free.
  virtual Result<std::optional<JobClaim>> ClaimJob(const std::string& owner, int64_t now_ms,
                                                   int64_t lease_until_ms) = 0;
  // Renews the lease of `job` (heartbeat_at, lease_until, progress) if its token is still
  // job.fencing_token; returns the row's state (another worker may have asked to cancel). Busy
  // ("lease lost …") when the token moved, NotFound when the row is gone.
  virtual Result<JobState> RenewLease(const JobRecord& job) = 0;
  virtual Result<std::optional<JobRecord>> GetJob(const std::string& task_id) = 0;
  // The tenant's jobs, newest first (by queued_at), at most `limit`.
  virtual Result<std::vector<JobRecord>> ListJobs(const std::string& tenant_id, int limit) = 0;
  // Every job in one of `states`, oldest queued first (across tenants).
  virtual Result<std::vector<JobRecord>> JobsInStates(const std::vector<JobState>& states) = 0;

  // Inserts or refreshes the worker's row; returns whether it is to drain (asked through DrainWorker, by any
  // server, since this process started, or worker.draining).
  virtual Result<bool> PutWorker(const WorkerRecord& worker) = 0;
  virtual Result<std::vector<WorkerRecord>> ListWorkers() = 0;  // by worker_id
  // Asks the worker to drain; false when there is no such worker.
  virtual Result<bool> DrainWorker(const std::string& worker_id) = 0;
};

}  // namespace deskpipe::service
