#include "store/sqlite_db.h"

#include <filesystem>

#include <sqlite3.h>

namespace deskpipe::sqlite {

Status DatabaseFileError(const std::string& file, int rc) {
  const std::string name = file.empty() ? std::string("(in memory)") : file;
  const std::string what = std::string(sqlite3_errstr(rc)) + ", sqlite code " + std::to_string(rc);
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLoss("the store database " + name + " is damaged (" + what + "): " + kStoreRepairHint);
    case SQLITE_IOERR:
      return DataLoss("the store database " + name + " cannot be read or written (" + what +
                      "): check the disk; if the file is damaged, " + kStoreRepairHint);
    default:
      return DataLoss("the store database " + name + " cannot be opened for reading and writing (" + what +
                      "): give this user read and write access to it and to its directory (SQLite keeps its "
                      "-wal and -shm files beside it)");
  }
}

Status SqliteError(sqlite3* db, int rc, std::string_view context) {
  const int primary = rc & 0xff;
  // The file itself is the problem: say which file and the way out, not which statement met it.
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB || primary == SQLITE_IOERR ||
      primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN || primary == SQLITE_PERM) {
    const char* file = db != nullptr ? sqlite3_db_filename(db, "main") : nullptr;
    return DatabaseFileError(file != nullptr ? file : "", rc);
  }
  std::string message = std::string(context) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)) +
                        " (sqlite code " + std::to_string(rc) + ")";
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return Unavailable(std::move(message));
  return Internal(std::move(message));
}

namespace {

std::string Abbreviate(const std::string& sql) { return sql.size() > 80 ? sql.substr(0, 77) + "..." : sql; }

}  // namespace

Statement::Statement(sqlite3* db, sqlite3_stmt* stmt, std::string sql)
    : db_(db), stmt_(stmt), sql_(std::move(sql)) {}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::Bind(int index, std::string_view text) {
  int rc = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_.ok()) bind_error_ = SqliteError(db_, rc, "bind in " + Abbreviate(sql_));
  return *this;
}

Statement& Statement::Bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_error_.ok()) bind_error_ = SqliteError(db_, rc, "bind in " + Abbreviate(sql_));
  return *this;
}

Statement& Statement::BindDouble(int index, double value) {
  int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK && bind_error_.ok()) bind_error_ = SqliteError(db_, rc, "bind in " + Abbreviate(sql_));
  return *this;
}

Statement& Statement::BindBlob(int index, const void* data, size_t bytes) {
  int rc = sqlite3_bind_blob64(stmt_, index, data, bytes, SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_error_.ok()) bind_error_ = SqliteError(db_, rc, "bind in " + Abbreviate(sql_));
  return *this;
}

Statement& Statement::BindNull(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_error_.ok()) bind_error_ = SqliteError(db_, rc, "bind in " + Abbreviate(sql_));
  return *this;
}

Result<bool> Statement::Step() {
  if (!bind_error_.ok()) return Error(bind_error_);
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Error(SqliteError(db_, rc, Abbreviate(sql_)));
}

Result<void> Statement::Run() {
  while (true) {
    ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return {};
  }
}

int64_t Statement::ColumnInt(int index) const { return sqlite3_column_int64(stmt_, index); }
double Statement::ColumnDouble(int index) const { return sqlite3_column_double(stmt_, index); }
std::string Statement::ColumnText(int index) const {
  const unsigned char* text = sqlite3_column_text(stmt_, index);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, index)));
}
bool Statement::ColumnIsNull(int index) const { return sqlite3_column_type(stmt_, index) == SQLITE_NULL; }
const void* Statement::ColumnBlob(int index) const { return sqlite3_column_blob(stmt_, index); }
int Statement::ColumnBytes(int index) const { return sqlite3_column_bytes(stmt_, index); }

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_error_ = Status::Ok();
}

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_close(db);
    return Error(DatabaseFileError(path, rc));
  }
  sqlite3_extended_result_codes(db, 1);
  return std::unique_ptr<SqliteDb>(new SqliteDb(db));
}

Result<std::unique_ptr<SqliteDb>> SqliteDb::OpenReadOnly(const std::string& path) {
  std::string uri = "file:";
  for (char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      static constexpr char kHex[] = "0123456789ABCDEF";
      uri += '%';
      uri += kHex[(static_cast<unsigned char>(c) >> 4) & 0xF];
      uri += kHex[static_cast<unsigned char>(c) & 0xF];
    } else {
      uri += c;
    }
  }
  std::error_code ec;
  uri += std::filesystem::exists(path + "-wal", ec) ? "?mode=ro" : "?immutable=1";
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status status = SqliteError(db, rc, "cannot open database " + path + " for reading");
    sqlite3_close(db);
    return Error(status);
  }
  sqlite3_extended_result_codes(db, 1);
  return std::unique_ptr<SqliteDb>(new SqliteDb(db));
}

SqliteDb::~SqliteDb() {
  statements_.clear();  // finalize before close
  sqlite3_close(db_);
}

Result<void> SqliteDb::Exec(const std::string& sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    std::string message = error ? error : sqlite3_errstr(rc);
    sqlite3_free(error);
    Status status = SqliteError(db_, rc, Abbreviate(sql));
    if (status.code() == StatusCode::kDataLoss) return Error(status);
    return Error(Status(status.code(), Abbreviate(sql) + ": " + message));
  }
  return {};
}

Result<Statement*> SqliteDb::Prepare(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) {
    it->second->Reset();
    return it->second.get();
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                              &stmt, nullptr);
  if (rc != SQLITE_OK) return Error(SqliteError(db_, rc, "prepare " + Abbreviate(sql)));
  auto owned = std::make_unique<Statement>(db_, stmt, sql);
  Statement* raw = owned.get();
  statements_.emplace(sql, std::move(owned));
  return raw;
}

void SqliteDb::ResetStatements() {
  for (auto& [sql, statement] : statements_) statement->Reset();
}

int64_t SqliteDb::LastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }
int SqliteDb::Changes() const { return sqlite3_changes(db_); }

Transaction::Transaction(SqliteDb& db) : db_(db), begin_((db.ResetStatements(), db.Exec("BEGIN IMMEDIATE"))) {
  open_ = begin_.has_value();
}

Transaction::~Transaction() {
  if (open_) (void)db_.Exec("ROLLBACK");
}

Result<void> Transaction::Commit() {
  if (!open_) return Error(Internal("commit of a transaction that is not open"));
  RETURN_IF_ERROR(db_.Exec("COMMIT"));
  open_ = false;
  return {};
}

ReadTransaction::ReadTransaction(SqliteDb& db) : db_(db), begin_((db.ResetStatements(), db.Exec("BEGIN"))) {}

ReadTransaction::~ReadTransaction() {
  if (!begin_) return;
  db_.ResetStatements();  // a statement still on a row would make COMMIT fail and keep the snapshot open
  (void)db_.Exec("COMMIT");
}

}  // namespace deskpipe::sqlite
