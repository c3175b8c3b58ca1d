// The catalog in PostgreSQL: tables service_tenants / service_jobs in the store's database, one connection
// behind a mutex.
#include <charconv>

#include "core/log.h"
#include "service/catalog_backends.h"
#include "store/pg_connection.h"

namespace deskpipe::service {
namespace {

using namespace catalog_rows;  // NOLINT: the shared row helpers
using pg::Param;
using pg::PgResult;

// Serializes schema creation between servers starting at once (concurrent CREATE TABLE IF NOT EXISTS can
// still fail on the catalog's own unique indexes). Apart from the store's migration key.
constexpr int64_t kSchemaLockKey = 0x646573c0;  // "des" + tag

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS service_tenants ("
    "  tenant_id TEXT PRIMARY KEY, platform TEXT NOT NULL, settings TEXT NOT NULL, sealed_secrets TEXT NOT "
    "NULL,"
    "  mode TEXT NOT NULL, embedder TEXT NOT NULL, api_budget_share DOUBLE PRECISION NOT NULL,"
    "  schedule_seconds BIGINT NOT NULL, token_hash TEXT NOT NULL, created_at BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS service_jobs ("
    "  task_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, platform TEXT NOT NULL, trigger_kind TEXT NOT NULL,"
    "  state TEXT NOT NULL, queued_at BIGINT NOT NULL, started_at BIGINT NOT NULL, ended_at BIGINT NOT NULL,"
    "  heartbeat_at BIGINT NOT NULL, progress TEXT NOT NULL, summary TEXT NOT NULL, last_error TEXT NOT NULL,"
    "  owner TEXT NOT NULL);"
    // Added with workers: catalogs made before get the columns, zero for their rows.
    "ALTER TABLE service_jobs ADD COLUMN IF NOT EXISTS fencing_token BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE service_jobs ADD COLUMN IF NOT EXISTS lease_until BIGINT NOT NULL DEFAULT 0;"
    // The tenant's one active job, enforced by the database for every connection and process.
    "CREATE UNIQUE INDEX IF NOT EXISTS service_jobs_one_active ON service_jobs (tenant_id)"
    "  WHERE state IN ('queued', 'running', 'cancelling');"
    "CREATE INDEX IF NOT EXISTS service_jobs_by_tenant ON service_jobs (tenant_id, queued_at);"
    "CREATE INDEX IF NOT EXISTS service_jobs_by_state ON service_jobs (state, queued_at);"
    "CREATE TABLE IF NOT EXISTS service_workers ("
    "  worker_id TEXT PRIMARY KEY, host TEXT NOT NULL, pid BIGINT NOT NULL, started_at BIGINT NOT NULL,"
    "  heartbeat_at BIGINT NOT NULL, jobs BIGINT NOT NULL, running BIGINT NOT NULL, draining INTEGER NOT "
    "NULL);";

constexpr const char* kUniqueViolation = "23505";

// The shortest text that reads back as the same double (Param has no double constructor).
std::string DoubleText(double value) {
  char buffer[32];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return error == std::errc() ? std::string(buffer, end) : "0";
}

std::vector<Param> TenantParams(const TenantRecord& t) {
  return {t.tenant_id,
          t.platform,
          MapToJson(t.settings),
          MapToJson(t.sealed_secrets),
          t.mode,
          t.embedder,
          DoubleText(t.api_budget_share),
          t.schedule_seconds,
          t.token_hash,
          t.created_at,
          t.updated_at};
}

Result<TenantRecord> ReadTenant(const PgResult& r, int row) {
  TenantRecord t;
  t.tenant_id = r.Text(row, 0);
  t.platform = r.Text(row, 1);
  ASSIGN_OR_RETURN(t.settings, MapFromJson(r.Text(row, 2), t.tenant_id, "settings"));
  ASSIGN_OR_RETURN(t.sealed_secrets, MapFromJson(r.Text(row, 3), t.tenant_id, "sealed_secrets"));
  t.mode = r.Text(row, 4);
  t.embedder = r.Text(row, 5);
  t.api_budget_share = r.Double(row, 6);
  t.schedule_seconds = r.Int(row, 7);
  t.token_hash = r.Text(row, 8);
  t.created_at = r.Int(row, 9);
  t.updated_at = r.Int(row, 10);
  return t;
}

std::vector<Param> JobParams(const JobRecord& j) {
  return {j.task_id,
          j.tenant_id,
          j.platform,
          j.trigger,
          JobStateName(j.state),
          j.queued_at,
          j.started_at,
          j.ended_at,
          j.heartbeat_at,
          JsonToText(j.progress),
          JsonToText(j.summary),
          j.last_error,
          j.owner,
          j.fencing_token,
          j.lease_until};
}

Result<JobRecord> ReadJob(const PgResult& r, int row) {
  JobRecord j;
  j.task_id = r.Text(row, 0);
  j.tenant_id = r.Text(row, 1);
  j.platform = r.Text(row, 2);
  j.trigger = r.Text(row, 3);
  ASSIGN_OR_RETURN(j.state, StateFromText(r.Text(row, 4), j.task_id));
  j.queued_at = r.Int(row, 5);
  j.started_at = r.Int(row, 6);
  j.ended_at = r.Int(row, 7);
  j.heartbeat_at = r.Int(row, 8);
  ASSIGN_OR_RETURN(j.progress, JsonFromText(r.Text(row, 9), j.task_id, "progress"));
  ASSIGN_OR_RETURN(j.summary, JsonFromText(r.Text(row, 10), j.task_id, "summary"));
  j.last_error = r.Text(row, 11);
  j.owner = r.Text(row, 12);
  j.fencing_token = r.Int(row, 13);
  j.lease_until = r.Int(row, 14);
  return j;
}

template <typename Row, typename Reader>
Result<std::vector<Row>> ReadRows(const PgResult& result, Reader read) {
  std::vector<Row> rows;
  rows.reserve(static_cast<size_t>(result.rows()));
  for (int i = 0; i < result.rows(); ++i) {
    ASSIGN_OR_RETURN(Row row, read(result, i));
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string Select(const char* columns, const std::string& from_where) {
  return std::string("SELECT ") + columns + " FROM " + from_where;
}

}  // namespace

PostgresCatalog::PostgresCatalog(std::unique_ptr<pg::PgConnection> conn) : conn_(std::move(conn)) {}
PostgresCatalog::~PostgresCatalog() = default;

Result<std::unique_ptr<PostgresCatalog>> PostgresCatalog::Open(const std::string& url) {
  ASSIGN_OR_RETURN(auto conn, pg::PgConnection::Connect(url));
  conn->set_reconnect(true);  // a database restart must not leave the worker without its catalog
  RETURN_IF_ERROR(conn->ExecScript("SET client_min_messages = warning"));
  {
    pg::PgTransaction txn(*conn);
    RETURN_IF_ERROR(txn.status());
    RETURN_IF_ERROR(conn->Exec("SELECT pg_advisory_xact_lock($1)", {kSchemaLockKey}));
    auto created = conn->ExecScript(kSchema);
    if (!created) return Error(created.error().WithContext("creating the service catalog tables"));
    RETURN_IF_ERROR(txn.Commit());
  }
  // Said once at start-up, for the operator sizing the fleet: the store picks the same way.
  ASSIGN_OR_RETURN(PgResult vector,
                   conn->Exec("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'"));
  if (vector.Int(0, 0) > 0) {
    log::Info("vector search: pgvector HNSW index (cosine), approximate, about log(chunks) per query");
  } else {
    log::Warn(
        "vector search: pgvector is not installed on this PostgreSQL server; exact scan instead: every "
        "vector "
        "query reads all of the tenant's vectors (chunks x dimension multiply-adds), fine to ~100k chunks "
        "per "
        "tenant, slow beyond; install pgvector for HNSW");
  }
  return std::unique_ptr<PostgresCatalog>(new PostgresCatalog(std::move(conn)));
}

Result<void> PostgresCatalog::PutTenant(const TenantRecord& tenant) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(
      conn_->Exec(std::string("INSERT INTO service_tenants (") + kTenantColumns +
                      ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
                      "ON CONFLICT (tenant_id) DO UPDATE SET platform = excluded.platform, "
                      "settings = excluded.settings, sealed_secrets = excluded.sealed_secrets, "
                      "mode = excluded.mode, embedder = excluded.embedder, "
                      "api_budget_share = excluded.api_budget_share, "
                      "schedule_seconds = excluded.schedule_seconds, token_hash = excluded.token_hash, "
                      "created_at = excluded.created_at, updated_at = excluded.updated_at",
                  TenantParams(tenant)));
  return {};
}

Result<std::optional<TenantRecord>> PostgresCatalog::GetTenant(const std::string& tenant_id) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(PgResult result,
                   conn_->Exec(Select(kTenantColumns, "service_tenants WHERE tenant_id = $1"), {tenant_id}));
  if (result.rows() == 0) return std::optional<TenantRecord>();
  ASSIGN_OR_RETURN(TenantRecord tenant, ReadTenant(result, 0));
  return std::optional<TenantRecord>(std::move(tenant));
}

Result<std::vector<TenantRecord>> PostgresCatalog::ListTenants() {
  std::lock_guard lock(mu_);
  // COLLATE "C": ordered by bytes, as SQLite orders them, whatever the database's locale.
  ASSIGN_OR_RETURN(PgResult result,
                   conn_->Exec(Select(kTenantColumns, "service_tenants ORDER BY tenant_id COLLATE \"C\"")));
  return ReadRows<TenantRecord>(result, ReadTenant);
}

Result<bool> PostgresCatalog::DeleteTenant(const std::string& tenant_id) {
  std::lock_guard lock(mu_);
  pg::PgTransaction txn(*conn_);
  RETURN_IF_ERROR(txn.status());
  RETURN_IF_ERROR(conn_->Exec("DELETE FROM service_jobs WHERE tenant_id = $1", {tenant_id}));
  ASSIGN_OR_RETURN(PgResult deleted,
                   conn_->Exec("DELETE FROM service_tenants WHERE tenant_id = $1", {tenant_id}));
  RETURN_IF_ERROR(txn.Commit());
  return deleted.Affected() > 0;
}

Result<std::pair<JobRecord, bool>> PostgresCatalog::InsertJobIfNoneActive(const JobRecord& job) {
  if (!IsActive(job.state)) {
    return Error(InvalidArgument(std::string("a new job must be queued, running or cancelling, not ") +
                                 JobStateName(job.state)));
  }
  std::lock_guard lock(mu_);
  const std::string insert = std::string("INSERT INTO service_jobs (") + kJobColumns +
                             ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) "
                             "ON CONFLICT (tenant_id) WHERE state IN " +
                             kActiveStates + " DO NOTHING";
  const std::string active =
      Select(kJobColumns, std::string("service_jobs WHERE tenant_id = $1 AND state IN ") + kActiveStates);
  // The insert waits for a concurrent insert of the tenant's active job to commit and then does nothing; the
  // read that follows sees that job. Only if it ended in between is there nothing to read: then try again.
  constexpr int kAttempts = 5;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    pg::PgTransaction txn(*conn_);
    RETURN_IF_ERROR(txn.status());
    ASSIGN_OR_RETURN(PgResult inserted, conn_->Exec(insert, JobParams(job)));
    if (inserted.Affected() == 1) {
      RETURN_IF_ERROR(txn.Commit());
      return std::pair<JobRecord, bool>(job, true);
    }
    ASSIGN_OR_RETURN(PgResult found, conn_->Exec(active, {job.tenant_id}));
    if (found.rows() > 0) {
      ASSIGN_OR_RETURN(JobRecord existing, ReadJob(found, 0));
      RETURN_IF_ERROR(txn.Commit());
      return std::pair<JobRecord, bool>(std::move(existing), false);
    }
  }
  return Error(Unavailable("tenant " + job.tenant_id + "'s active job kept changing; try again"));
}

Result<void> PostgresCatalog::UpdateJob(const JobRecord& job) {
  std::lock_guard lock(mu_);
  auto updated = conn_->Exec(
      "UPDATE service_jobs SET tenant_id = $2, platform = $3, trigger_kind = $4, state = $5, queued_at = $6, "
      "started_at = $7, ended_at = $8, heartbeat_at = $9, progress = $10, summary = $11, last_error = $12, "
      "owner = $13, lease_until = $15 WHERE task_id = $1 AND fencing_token = $14",
      JobParams(job));
  if (!updated) {
    if (conn_->last_sqlstate() == kUniqueViolation) {
      return Error(InvalidArgument("job " + job.task_id + " cannot be made " + JobStateName(job.state) +
                                   ": tenant " + job.tenant_id + " already has an active job"));
    }
    return Error(updated.error());
  }
  if (updated->Affected() == 0) return Error(RefusedWrite(job));
  return {};
}

// Why a fenced write of `job` hit no row: the row is gone, or another claim moved its token. Under mu_.
Status PostgresCatalog::RefusedWrite(const JobRecord& job) {
  auto holder =
      conn_->Exec("SELECT owner, fencing_token FROM service_jobs WHERE task_id = $1", {job.task_id});
  if (!holder) return holder.error();
  if (holder->rows() == 0) return NotFound("no job " + job.task_id);
  return LeaseLost(job.task_id, holder->Text(0, 0), holder->Int(0, 1), job.fencing_token);
}

Result<std::optional<JobClaim>> PostgresCatalog::ClaimJob(const std::string& owner, int64_t now_ms,
                                                          int64_t lease_until_ms) {
  std::lock_guard lock(mu_);
  // SKIP LOCKED: workers claiming at once each take a different row instead of queueing on the first. A row
  // a batch commit holds FOR SHARE (its fence check) is skipped too, and claimed on a later try.
  std::string returning;
  for (std::string_view rest = kJobColumns; !rest.empty();) {
    const size_t comma = rest.find(", ");
    returning += "j." + std::string(rest.substr(0, comma)) + ", ";
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 2);
  }
  ASSIGN_OR_RETURN(
      PgResult claimed,
      conn_->Exec(
          "WITH next AS (SELECT task_id AS next_id, state AS previous_state, owner AS previous_owner "
          "  FROM service_jobs WHERE state = 'queued' "
          "     OR (state IN ('running', 'cancelling') AND lease_until < $2) "
          "  ORDER BY queued_at, task_id COLLATE \"C\" LIMIT 1 FOR UPDATE SKIP LOCKED) "
          "UPDATE service_jobs j SET fencing_token = j.fencing_token + 1, owner = $1, heartbeat_at = $2, "
          "  lease_until = $3, started_at = CASE WHEN j.state = 'queued' THEN $2 ELSE j.started_at END, "
          "  state = CASE WHEN j.state = 'cancelling' THEN 'cancelling' ELSE 'running' END "
          "FROM next WHERE j.task_id = next.next_id RETURNING " +
              returning + "next.previous_state, next.previous_owner",
          {owner, now_ms, lease_until_ms}));
  if (claimed.rows() == 0) return std::optional<JobClaim>();
  JobClaim claim;
  ASSIGN_OR_RETURN(claim.job, ReadJob(claimed, 0));
  ASSIGN_OR_RETURN(claim.previous_state, StateFromText(claimed.Text(0, 15), claim.job.task_id));
  claim.previous_owner = claimed.Text(0, 16);
  return std::optional<JobClaim>(std::move(claim));
}

Result<JobState> PostgresCatalog::RenewLease(const JobRecord& job) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(PgResult renewed,
                   conn_->Exec("UPDATE service_jobs SET heartbeat_at = $3, lease_until = $4, progress = $5 "
                               "WHERE task_id = $1 AND fencing_token = $2 RETURNING state",
                               {job.task_id, job.fencing_token, job.heartbeat_at, job.lease_until,
                                JsonToText(job.progress)}));
  if (renewed.rows() == 0) return Error(RefusedWrite(job));
  return StateFromText(renewed.Text(0, 0), job.task_id);
}

Result<std::optional<JobRecord>> PostgresCatalog::GetJob(const std::string& task_id) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(PgResult result,
                   conn_->Exec(Select(kJobColumns, "service_jobs WHERE task_id = $1"), {task_id}));
  if (result.rows() == 0) return std::optional<JobRecord>();
  ASSIGN_OR_RETURN(JobRecord job, ReadJob(result, 0));
  return std::optional<JobRecord>(std::move(job));
}

Result<std::vector<JobRecord>> PostgresCatalog::ListJobs(const std::string& tenant_id, int limit) {
  if (limit <= 0) return std::vector<JobRecord>();
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(PgResult result,
                   conn_->Exec(Select(kJobColumns,
                                      "service_jobs WHERE tenant_id = $1 "
                                      "ORDER BY queued_at DESC, task_id COLLATE \"C\" DESC LIMIT $2"),
                               {tenant_id, limit}));
  return ReadRows<JobRecord>(result, ReadJob);
}

Result<std::vector<JobRecord>> PostgresCatalog::JobsInStates(const std::vector<JobState>& states) {
  if (states.empty()) return std::vector<JobRecord>();
  // The state names are fixed lowercase words, safe inside an array literal.
  std::string names = "{";
  for (JobState state : states) names += std::string(names.size() > 1 ? "," : "") + JobStateName(state);
  names += "}";
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(PgResult result, conn_->Exec(Select(kJobColumns,
                                                       "service_jobs WHERE state = ANY($1::text[]) "
                                                       "ORDER BY queued_at, task_id COLLATE \"C\""),
                                                {names}));
  return ReadRows<JobRecord>(result, ReadJob);
}

Result<bool> PostgresCatalog::PutWorker(const WorkerRecord& w) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(PgResult result,
                   conn_->Exec(kPutWorkerSql, {w.worker_id, w.host, w.pid, w.started_at, w.heartbeat_at,
                                               w.jobs, w.running, int64_t{w.draining ? 1 : 0}}));
  return result.rows() > 0 && result.Int(0, 0) != 0;
}

Result<std::vector<WorkerRecord>> PostgresCatalog::ListWorkers() {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(PgResult result,
                   conn_->Exec(Select(kWorkerColumns, "service_workers ORDER BY worker_id COLLATE \"C\"")));
  std::vector<WorkerRecord> workers;
  for (int i = 0; i < result.rows(); ++i) {
    workers.push_back({result.Text(i, 0), result.Text(i, 1), result.Int(i, 2), result.Int(i, 3),
                       result.Int(i, 4), result.Int(i, 5), result.Int(i, 6), result.Int(i, 7) != 0});
  }
  return workers;
}

Result<bool> PostgresCatalog::DrainWorker(const std::string& worker_id) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(PgResult result,
                   conn_->Exec("UPDATE service_workers SET draining = 1 WHERE worker_id = $1", {worker_id}));
  return result.Affected() > 0;
}

}  // namespace deskpipe::service
