// The catalog in SQLite: {data_dir}/service.db, WAL, one connection behind a mutex.
#include <sqlite3.h>

#include <algorithm>

#include "service/catalog_backends.h"
#include "store/sqlite_db.h"

namespace deskpipe::service {
namespace {

using namespace catalog_rows;  // NOLINT: the shared row helpers

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS service_tenants ("
    "  tenant_id TEXT PRIMARY KEY, platform TEXT NOT NULL, settings TEXT NOT NULL, sealed_secrets TEXT NOT "
    "NULL,"
    "  mode TEXT NOT NULL, embedder TEXT NOT NULL, api_budget_share REAL NOT NULL,"
    "  schedule_seconds INTEGER NOT NULL, token_hash TEXT NOT NULL, created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS service_jobs ("
    "  task_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, platform TEXT NOT NULL, trigger_kind TEXT NOT NULL,"
    "  state TEXT NOT NULL, queued_at INTEGER NOT NULL, started_at INTEGER NOT NULL, ended_at INTEGER NOT "
    "NULL,"
    "  heartbeat_at INTEGER NOT NULL, progress TEXT NOT NULL, summary TEXT NOT NULL, last_error TEXT NOT "
    "NULL,"
    "  owner TEXT NOT NULL);"
    // The tenant's one active job, enforced by the database for every connection and process.
    "CREATE UNIQUE INDEX IF NOT EXISTS service_jobs_one_active ON service_jobs (tenant_id)"
    "  WHERE state IN ('queued', 'running', 'cancelling');"
    "CREATE INDEX IF NOT EXISTS service_jobs_by_tenant ON service_jobs (tenant_id, queued_at);"
    "CREATE INDEX IF NOT EXISTS service_jobs_by_state ON service_jobs (state, queued_at);"
    "CREATE TABLE IF NOT EXISTS service_workers ("
    "  worker_id TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, started_at INTEGER NOT NULL,"
    "  heartbeat_at INTEGER NOT NULL, jobs INTEGER NOT NULL, running INTEGER NOT NULL, draining INTEGER NOT "
    "NULL);";

void BindTenant(sqlite::Statement& stmt, const TenantRecord& t) {
  stmt.Bind(1, t.tenant_id)
      .Bind(2, t.platform)
      .Bind(3, MapToJson(t.settings))
      .Bind(4, MapToJson(t.sealed_secrets))
      .Bind(5, t.mode)
      .Bind(6, t.embedder)
      .BindDouble(7, t.api_budget_share)
      .Bind(8, t.schedule_seconds)
      .Bind(9, t.token_hash)
      .Bind(10, t.created_at)
      .Bind(11, t.updated_at);
}

Result<TenantRecord> ReadTenant(const sqlite::Statement& stmt) {
  TenantRecord t;
  t.tenant_id = stmt.ColumnText(0);
  t.platform = stmt.ColumnText(1);
  ASSIGN_OR_RETURN(t.settings, MapFromJson(stmt.ColumnText(2), t.tenant_id, "settings"));
  ASSIGN_OR_RETURN(t.sealed_secrets, MapFromJson(stmt.ColumnText(3), t.tenant_id, "sealed_secrets"));
  t.mode = stmt.ColumnText(4);
  t.embedder = stmt.ColumnText(5);
  t.api_budget_share = stmt.ColumnDouble(6);
  t.schedule_seconds = stmt.ColumnInt(7);
  t.token_hash = stmt.ColumnText(8);
  t.created_at = stmt.ColumnInt(9);
  t.updated_at = stmt.ColumnInt(10);
  return t;
}

void BindJob(sqlite::Statement& stmt, const JobRecord& j) {
  stmt.Bind(1, j.task_id)
      .Bind(2, j.tenant_id)
      .Bind(3, j.platform)
      .Bind(4, j.trigger)
      .Bind(5, std::string_view(JobStateName(j.state)))
      .Bind(6, j.queued_at)
      .Bind(7, j.started_at)
      .Bind(8, j.ended_at)
      .Bind(9, j.heartbeat_at)
      .Bind(10, JsonToText(j.progress))
      .Bind(11, JsonToText(j.summary))
      .Bind(12, j.last_error)
      .Bind(13, j.owner)
      .Bind(14, j.fencing_token)
      .Bind(15, j.lease_until);
}

Result<JobRecord> ReadJob(const sqlite::Statement& stmt) {
  JobRecord j;
  j.task_id = stmt.ColumnText(0);
  j.tenant_id = stmt.ColumnText(1);
  j.platform = stmt.ColumnText(2);
  j.trigger = stmt.ColumnText(3);
  ASSIGN_OR_RETURN(j.state, StateFromText(stmt.ColumnText(4), j.task_id));
  j.queued_at = stmt.ColumnInt(5);
  j.started_at = stmt.ColumnInt(6);
  j.ended_at = stmt.ColumnInt(7);
  j.heartbeat_at = stmt.ColumnInt(8);
  ASSIGN_OR_RETURN(j.progress, JsonFromText(stmt.ColumnText(9), j.task_id, "progress"));
  ASSIGN_OR_RETURN(j.summary, JsonFromText(stmt.ColumnText(10), j.task_id, "summary"));
  j.last_error = stmt.ColumnText(11);
  j.owner = stmt.ColumnText(12);
  j.fencing_token = stmt.ColumnInt(13);
  j.lease_until = stmt.ColumnInt(14);
  return j;
}

// Steps `stmt` to its end (a statement left on a row would hold its read snapshot open), reading every row.
template <typename Row, typename Reader>
Result<std::vector<Row>> ReadAll(sqlite::Statement& stmt, Reader read) {
  std::vector<Row> rows;
  while (true) {
    auto step = stmt.Step();
    if (!step) {
      stmt.Reset();
      return Error(step.error());
    }
    if (!*step) return rows;
    auto row = read(stmt);
    if (!row) {
      stmt.Reset();
      return Error(row.error());
    }
    rows.push_back(std::move(*row));
  }
}

std::string Select(const char* columns, const std::string& from_where) {
  return std::string("SELECT ") + columns + " FROM " + from_where;
}

}  // namespace

SqliteCatalog::SqliteCatalog(std::unique_ptr<sqlite::SqliteDb> db) : db_(std::move(db)) {}
SqliteCatalog::~SqliteCatalog() = default;

Result<std::unique_ptr<SqliteCatalog>> SqliteCatalog::Open(const std::string& path) {
  ASSIGN_OR_RETURN(auto db, sqlite::SqliteDb::Open(path));
  // busy_timeout first, so that servers opening the file at once wait for each other instead of failing.
  // synchronous=FULL: a tenant or job the API acknowledged must survive a power cut; the writes are few.
  RETURN_IF_ERROR(db->Exec("PRAGMA busy_timeout=5000; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"));
  {
    sqlite::Transaction txn(*db);
    RETURN_IF_ERROR(txn.status());
    auto created = db->Exec(kSchema);
    if (!created) return Error(created.error().WithContext("creating the service catalog in " + path));
    // Added with workers: catalogs made before get the columns, zero for their rows.
    ASSIGN_OR_RETURN(sqlite::Statement * columns,
                     db->Prepare("SELECT count(*) FROM pragma_table_info('service_jobs') "
                                 "WHERE name = 'fencing_token'"));
    ASSIGN_OR_RETURN(bool row, columns->Step());
    const bool has_fencing = row && columns->ColumnInt(0) > 0;
    columns->Reset();
    if (!has_fencing) {
      auto added = db->Exec(
          "ALTER TABLE service_jobs ADD COLUMN fencing_token INTEGER NOT NULL DEFAULT 0;"
          "ALTER TABLE service_jobs ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;");
      if (!added) return Error(added.error().WithContext("adding the lease columns to " + path));
    }
    RETURN_IF_ERROR(txn.Commit());
  }
  return std::unique_ptr<SqliteCatalog>(new SqliteCatalog(std::move(db)));
}

Result<void> SqliteCatalog::PutTenant(const TenantRecord& tenant) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(
      sqlite::Statement * stmt,
      db_->Prepare(std::string("INSERT INTO service_tenants (") + kTenantColumns +
                   ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
                   "ON CONFLICT (tenant_id) DO UPDATE SET platform = excluded.platform, "
                   "settings = excluded.settings, sealed_secrets = excluded.sealed_secrets, "
                   "mode = excluded.mode, embedder = excluded.embedder, "
                   "api_budget_share = excluded.api_budget_share, "
                   "schedule_seconds = excluded.schedule_seconds, token_hash = excluded.token_hash, "
                   "created_at = excluded.created_at, updated_at = excluded.updated_at"));
  BindTenant(*stmt, tenant);
  return stmt->Run();
}

Result<std::vector<TenantRecord>> SqliteCatalog::QueryTenants(const std::string& sql,
                                                              const std::optional<std::string>& tenant_id) {
  ASSIGN_OR_RETURN(sqlite::Statement * stmt, db_->Prepare(sql));
  if (tenant_id) stmt->Bind(1, *tenant_id);
  return ReadAll<TenantRecord>(*stmt, ReadTenant);
}

Result<std::optional<TenantRecord>> SqliteCatalog::GetTenant(const std::string& tenant_id) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(auto rows,
                   QueryTenants(Select(kTenantColumns, "service_tenants WHERE tenant_id = ?1"), tenant_id));
  if (rows.empty()) return std::optional<TenantRecord>();
  return std::optional<TenantRecord>(std::move(rows.front()));
}

Result<std::vector<TenantRecord>> SqliteCatalog::ListTenants() {
  std::lock_guard lock(mu_);
  return QueryTenants(Select(kTenantColumns, "service_tenants ORDER BY tenant_id"), std::nullopt);
}

Result<bool> SqliteCatalog::DeleteTenant(const std::string& tenant_id) {
  std::lock_guard lock(mu_);
  sqlite::Transaction txn(*db_);
  RETURN_IF_ERROR(txn.status());
  ASSIGN_OR_RETURN(sqlite::Statement * jobs, db_->Prepare("DELETE FROM service_jobs WHERE tenant_id = ?1"));
  RETURN_IF_ERROR(jobs->Bind(1, tenant_id).Run());
  ASSIGN_OR_RETURN(sqlite::Statement * tenant,
                   db_->Prepare("DELETE FROM service_tenants WHERE tenant_id = ?1"));
  RETURN_IF_ERROR(tenant->Bind(1, tenant_id).Run());
  const bool existed = db_->Changes() > 0;
  RETURN_IF_ERROR(txn.Commit());
  return existed;
}

Result<std::vector<JobRecord>> SqliteCatalog::QueryJobs(const std::string& sql,
                                                        const std::vector<std::string>& texts,
                                                        std::optional<int64_t> int_param) {
  ASSIGN_OR_RETURN(sqlite::Statement * stmt, db_->Prepare(sql));
  int index = 1;
  for (const std::string& text : texts) stmt->Bind(index++, text);
  if (int_param) stmt->Bind(index, *int_param);
  return ReadAll<JobRecord>(*stmt, ReadJob);
}

Result<std::pair<JobRecord, bool>> SqliteCatalog::InsertJobIfNoneActive(const JobRecord& job) {
  if (!IsActive(job.state)) {
    return Error(InvalidArgument(std::string("a new job must be queued, running or cancelling, not ") +
                                 JobStateName(job.state)));
  }
  std::lock_guard lock(mu_);
  // BEGIN IMMEDIATE takes the database's write lock, so the conflicting row read below is the one that
  // blocked the insert, whichever connection or process wrote it.
  sqlite::Transaction txn(*db_);
  RETURN_IF_ERROR(txn.status());
  ASSIGN_OR_RETURN(sqlite::Statement * insert,
                   db_->Prepare(std::string("INSERT INTO service_jobs (") + kJobColumns +
                                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) "
                                "ON CONFLICT (tenant_id) WHERE state IN " +
                                kActiveStates + " DO NOTHING"));
  BindJob(*insert, job);
  RETURN_IF_ERROR(insert->Run());
  if (db_->Changes() == 1) {
    RETURN_IF_ERROR(txn.Commit());
    return std::pair<JobRecord, bool>(job, true);
  }
  ASSIGN_OR_RETURN(
      auto active,
      QueryJobs(
          Select(kJobColumns, std::string("service_jobs WHERE tenant_id = ?1 AND state IN ") + kActiveStates),
          {job.tenant_id}, std::nullopt));
  if (active.empty()) {
    return Error(Internal("job " + job.task_id + " was not inserted, yet tenant " + job.tenant_id +
                          " has no active job"));
  }
  return std::pair<JobRecord, bool>(std::move(active.front()), false);
}

Result<void> SqliteCatalog::UpdateJob(const JobRecord& job) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(
      sqlite::Statement * stmt,
      db_->Prepare("UPDATE service_jobs SET tenant_id = ?2, platform = ?3, trigger_kind = ?4, "
                   "state = ?5, queued_at = ?6, started_at = ?7, ended_at = ?8, heartbeat_at = ?9, "
                   "progress = ?10, summary = ?11, last_error = ?12, owner = ?13, lease_until = ?15 "
                   "WHERE task_id = ?1 AND fencing_token = ?14"));
  BindJob(*stmt, job);
  auto ran = stmt->Run();
  if (!ran) {
    if (sqlite3_extended_errcode(db_->handle()) == SQLITE_CONSTRAINT_UNIQUE) {
      return Error(InvalidArgument("job " + job.task_id + " cannot be made " + JobStateName(job.state) +
                                   ": tenant " + job.tenant_id + " already has an active job"));
    }
    return ran;
  }
  if (db_->Changes() == 0) return Error(RefusedWrite(job));
  return {};
}

// Why a fenced write of `job` changed no row: the row is gone, or another claim moved its token. Under mu_.
Status SqliteCatalog::RefusedWrite(const JobRecord& job) {
  auto rows = QueryJobs(Select(kJobColumns, "service_jobs WHERE task_id = ?1"), {job.task_id}, std::nullopt);
  if (!rows) return rows.error();
  if (rows->empty()) return NotFound("no job " + job.task_id);
  return LeaseLost(job.task_id, rows->front().owner, rows->front().fencing_token, job.fencing_token);
}

Result<std::optional<JobClaim>> SqliteCatalog::ClaimJob(const std::string& owner, int64_t now_ms,
                                                        int64_t lease_until_ms) {
  std::lock_guard lock(mu_);
  // BEGIN IMMEDIATE: the write lock is taken before the read, so two claimers never pick the same row.
  sqlite::Transaction txn(*db_);
  RETURN_IF_ERROR(txn.status());
  ASSIGN_OR_RETURN(auto next, QueryJobs(Select(kJobColumns,
                                               "service_jobs WHERE state = 'queued' OR (state IN ('running', "
                                               "'cancelling') AND lease_until < ?1) "
                                               "ORDER BY queued_at, task_id LIMIT 1"),
                                        {}, now_ms));
  if (next.empty()) return std::optional<JobClaim>();
  JobClaim claim;
  claim.previous_state = next.front().state;
  claim.previous_owner = next.front().owner;
  claim.job = std::move(next.front());
  JobRecord& job = claim.job;
  ++job.fencing_token;
  job.owner = owner;
  job.heartbeat_at = now_ms;
  job.lease_until = lease_until_ms;
  if (job.state == JobState::kQueued) job.started_at = now_ms;
  if (job.state != JobState::kCancelling) job.state = JobState::kRunning;
  ASSIGN_OR_RETURN(sqlite::Statement * stmt,
                   db_->Prepare("UPDATE service_jobs SET state = ?5, started_at = ?7, heartbeat_at = ?9, "
                                "owner = ?13, fencing_token = ?14, lease_until = ?15 WHERE task_id = ?1"));
  BindJob(*stmt, job);
  RETURN_IF_ERROR(stmt->Run());
  RETURN_IF_ERROR(txn.Commit());
  return std::optional<JobClaim>(std::move(claim));
}

Result<JobState> SqliteCatalog::RenewLease(const JobRecord& job) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(
      sqlite::Statement * stmt,
      db_->Prepare("UPDATE service_jobs SET heartbeat_at = ?9, progress = ?10, lease_until = ?15 "
                   "WHERE task_id = ?1 AND fencing_token = ?14 RETURNING state"));
  BindJob(*stmt, job);
  ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) {
    stmt->Reset();
    return Error(RefusedWrite(job));
  }
  auto state = StateFromText(stmt->ColumnText(0), job.task_id);
  ASSIGN_OR_RETURN(bool more, stmt->Step());
  (void)more;
  stmt->Reset();
  return state;
}

Result<std::optional<JobRecord>> SqliteCatalog::GetJob(const std::string& task_id) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(
      auto rows, QueryJobs(Select(kJobColumns, "service_jobs WHERE task_id = ?1"), {task_id}, std::nullopt));
  if (rows.empty()) return std::optional<JobRecord>();
  return std::optional<JobRecord>(std::move(rows.front()));
}

Result<std::vector<JobRecord>> SqliteCatalog::ListJobs(const std::string& tenant_id, int limit) {
  if (limit <= 0) return std::vector<JobRecord>();
  std::lock_guard lock(mu_);
  return QueryJobs(
      Select(kJobColumns, "service_jobs WHERE tenant_id = ?1 ORDER BY queued_at DESC, task_id DESC LIMIT ?2"),
      {tenant_id}, limit);
}

Result<std::vector<JobRecord>> SqliteCatalog::JobsInStates(const std::vector<JobState>& states) {
  if (states.empty()) return std::vector<JobRecord>();
  std::vector<std::string> names;
  std::string placeholders;
  for (JobState state : states) {
    names.emplace_back(JobStateName(state));
    placeholders += (placeholders.empty() ? "?" : ", ?") + std::to_string(names.size());
  }
  std::lock_guard lock(mu_);
  return QueryJobs(
      Select(kJobColumns, "service_jobs WHERE state IN (" + placeholders + ") ORDER BY queued_at, task_id"),
      names, std::nullopt);
}

Result<bool> SqliteCatalog::PutWorker(const WorkerRecord& w) {
  std::lock_guard lock(mu_);
  std::string sql = kPutWorkerSql;
  std::replace(sql.begin(), sql.end(), '$', '?');
  ASSIGN_OR_RETURN(sqlite::Statement * stmt, db_->Prepare(sql));
  stmt->Bind(1, w.worker_id)
      .Bind(2, w.host)
      .Bind(3, w.pid)
      .Bind(4, w.started_at)
      .Bind(5, w.heartbeat_at)
      .Bind(6, w.jobs)
      .Bind(7, w.running)
      .Bind(8, int64_t{w.draining ? 1 : 0});
  ASSIGN_OR_RETURN(bool row, stmt->Step());
  const bool draining = row && stmt->ColumnInt(0) != 0;
  if (row) {
    auto rest = stmt->Step();
    (void)rest;
  }
  stmt->Reset();
  return draining;
}

Result<std::vector<WorkerRecord>> SqliteCatalog::ListWorkers() {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(sqlite::Statement * stmt,
                   db_->Prepare(Select(kWorkerColumns, "service_workers ORDER BY worker_id")));
  return ReadAll<WorkerRecord>(*stmt, [](const sqlite::Statement& row) -> Result<WorkerRecord> {
    return WorkerRecord{row.ColumnText(0), row.ColumnText(1), row.ColumnInt(2), row.ColumnInt(3),
                        row.ColumnInt(4),  row.ColumnInt(5),  row.ColumnInt(6), row.ColumnInt(7) != 0};
  });
}

Result<bool> SqliteCatalog::DrainWorker(const std::string& worker_id) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(sqlite::Statement * stmt,
                   db_->Prepare("UPDATE service_workers SET draining = 1 WHERE worker_id = ?1"));
  RETURN_IF_ERROR(stmt->Bind(1, worker_id).Run());
  return db_->Changes() > 0;
}

}  // namespace deskpipe::service
