// The catalog's two backends, private to service/ (everyone else goes through Catalog::Open): SQLite in its
// own service.db, PostgreSQL in the store's database. Both keep the same two tables, with JSON values as
// text, and enforce "one active job per tenant" with a unique partial index, so it holds across connections
// and processes. Thread-safety: each method takes the instance's one mutex around its connection. Lifetime:
// the caller's.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "service/catalog.h"

namespace deskpipe::sqlite {
class SqliteDb;
}
namespace deskpipe::pg {
class PgConnection;
}

namespace deskpipe::service {

class SqliteCatalog final : public Catalog {
 public:
  // Opens (creating) the database file at `path`, in WAL mode, and creates the tables when missing.
  static Result<std::unique_ptr<SqliteCatalog>> Open(const std::string& path);
  ~SqliteCatalog() override;

  Result<void> PutTenant(const TenantRecord& tenant) override;
  Result<std::optional<TenantRecord>> GetTenant(const std::string& tenant_id) override;
  Result<std::vector<TenantRecord>> ListTenants() override;
  Result<bool> DeleteTenant(const std::string& tenant_id) override;
  Result<std::pair<JobRecord, bool>> InsertJobIfNoneActive(const JobRecord& job) override;
  Result<void> UpdateJob(const JobRecord& job) override;
  Result<std::optional<JobClaim>> ClaimJob(const std::string& owner, int64_t now_ms,
                                           int64_t lease_until_ms) override;
  Result<JobState> RenewLease(const JobRecord& job) override;
  Result<bool> PutWorker(const WorkerRecord& worker) override;
  Result<std::vector<WorkerRecord>> ListWorkers() override;
  Result<bool> DrainWorker(const std::string& worker_id) override;
  Result<std::optional<JobRecord>> GetJob(const std::string& task_id) override;
  Result<std::vector<JobRecord>> ListJobs(const std::string& tenant_id, int limit) override;
  Result<std::vector<JobRecord>> JobsInStates(const std::vector<JobState>& states) override;

 private:
  explicit SqliteCatalog(std::unique_ptr<sqlite::SqliteDb> db);
  Status RefusedWrite(const JobRecord& job);
  Result<std::vector<TenantRecord>> QueryTenants(const std::string& sql,
                                                 const std::optional<std::string>& tenant_id);
  Result<std::vector<JobRecord>> QueryJobs(const std::string& sql, const std::vector<std::string>& texts,
                                           std::optional<int64_t> int_param);  // bound after the texts

  std::mutex mu_;
  std::unique_ptr<sqlite::SqliteDb> db_;
};

class PostgresCatalog final : public Catalog {
 public:
  // Connects with the libpq URL and creates the tables when missing.
  static Result<std::unique_ptr<PostgresCatalog>> Open(const std::string& url);
  ~PostgresCatalog() override;

  Result<void> PutTenant(const TenantRecord& tenant) override;
  Result<std::optional<TenantRecord>> GetTenant(const std::string& tenant_id) override;
  Result<std::vector<TenantRecord>> ListTenants() override;
  Result<bool> DeleteTenant(const std::string& tenant_id) override;
  Result<std::pair<JobRecord, bool>> InsertJobIfNoneActive(const JobRecord& job) override;
  Result<void> UpdateJob(const JobRecord& job) override;
  Result<std::optional<JobClaim>> ClaimJob(const std::string& owner, int64_t now_ms,
                                           int64_t lease_until_ms) override;
  Result<JobState> RenewLease(const JobRecord& job) override;
  Result<bool> PutWorker(const WorkerRecord& worker) override;
  Result<std::vector<WorkerRecord>> ListWorkers() override;
  Result<bool> DrainWorker(const std::string& worker_id) override;
  Result<std::optional<JobRecord>> GetJob(const std::string& task_id) override;
  Result<std::vector<JobRecord>> ListJobs(const std::string& tenant_id, int limit) override;
  Result<std::vector<JobRecord>> JobsInStates(const std::vector<JobState>& states) override;

 private:
  explicit PostgresCatalog(std::unique_ptr<pg::PgConnection> conn);
  Status RefusedWrite(const JobRecord& job);

  std::mutex mu_;
  std::unique_ptr<pg::PgConnection> conn_;
};

// Shared by both backends: the row values that are JSON text, and the SQL both spell the same way.
namespace catalog_rows {

// The state list of the unique partial index, also the predicate an upsert names to use that index.
inline constexpr const char* kActiveStates = "('queued', 'running', 'cancelling')";
// The job columns in the order both backends select and bind them.
inline constexpr const char* kJobColumns =
    "task_id, tenant_id, platform, trigger_kind, state, queued_at, started_at, ended_at, heartbeat_at, "
    "progress, "
    "summary, last_error, owner, fencing_token, lease_until";
// The worker table, the same in both (a restarted worker, a new started_at, drops an old drain request).
inline constexpr const char* kWorkerColumns =
    "worker_id, host, pid, started_at, heartbeat_at, jobs, running, draining";
inline constexpr const char* kPutWorkerSql =
    "INSERT INTO service_workers (worker_id, host, pid, started_at, heartbeat_at, jobs, running, draining) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (worker_id) DO UPDATE SET host = excluded.host, "
    "pid = excluded.pid, heartbeat_at = excluded.heartbeat_at, jobs = excluded.jobs, running = "
    "excluded.running, "
    "draining = CASE WHEN service_workers.started_at = excluded.started_at "
    "THEN service_workers.draining | excluded.draining ELSE excluded.draining END, "
    "started_at = excluded.started_at RETURNING draining";
// The tenant columns, likewise.
inline constexpr const char* kTenantColumns =
    "tenant_id, platform, settings, sealed_secrets, mode, embedder, api_budget_share, schedule_seconds, "
    "token_hash, created_at, updated_at";

std::string MapToJson(const std::map<std::string, std::string>& map);
// A value that does not parse is DataLoss naming the row and the column (the table was written by hand).
Result<std::map<std::string, std::string>> MapFromJson(std::string_view text, std::string_view row,
                                                       std::string_view column);
std::string JsonToText(const nlohmann::json& value);
Result<nlohmann::json> JsonFromText(std::string_view text, std::string_view row, std::string_view column);
Result<JobState> StateFromText(std::string_view text, std::string_view row);
// Busy, naming who holds `task_id` now: the refusal of a write whose fencing token is no longer current.
Status LeaseLost(const std::string& task_id, const std::string& holder, int64_t token, int64_t ours);

}  // namespace catalog_rows
}  // namespace deskpipe::service
