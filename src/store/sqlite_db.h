// Thin RAII wrappers over the SQLite C API: a connection that caches prepared statements by SQL text, a
// statement with typed binds/columns, and a transaction that rolls back unless committed. No ORM.
// Thread-safety: a SqliteDb and its statements are used from one thread at a time. Lifetime: statements are
// owned by the SqliteDb and finalized before the connection closes; a Statement* stays valid as long as its
// SqliteDb lives.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace deskpipe::sqlite {

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt, std::string sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binds are 1-based, like SQLite's.
  Statement& Bind(int index, std::string_view text);
  Statement& Bind(int index, int64_t value);
  Statement& BindDouble(int index, double value);
  Statement& BindBlob(int index, const void* data, size_t bytes);
  Statement& BindNull(int index);

  // Steps once: true when a row is available, false when done.
  Result<bool> Step();
  // Steps to completion, ignoring rows.
  Result<void> Run();

  int64_t ColumnInt(int index) const;
  double ColumnDouble(int index) const;
  std::string ColumnText(int index) const;
  bool ColumnIsNull(int index) const;
  const void* ColumnBlob(int index) const;
  int ColumnBytes(int index) const;

  // Resets the statement and clears its bindings (done by SqliteDb::Prepare before each reuse).
  void Reset();

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  std::string sql_;
  Status bind_error_;
};

class SqliteDb {
 public:
  // Opens (creating) the database file at `path`.
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path);
  // Opens the database at `path` for reading only, creating nothing. Without a -wal file beside it (no writer
  // has it open) it is opened immutable, so not even a -shm file is made; with one, read-only in WAL mode.
  static Result<std::unique_ptr<SqliteDb>> OpenReadOnly(const std::string& path);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more statements without results (DDL, PRAGMA, BEGIN/COMMIT).
  Result<void> Exec(const std::string& sql);
  // The cached prepared statement for `sql`, reset and with bindings cleared.
  Result<Statement*> Prepare(const std::string& sql);
  // Resets every cached statement. A statement left on a row keeps its read snapshot open, and while any
  // snapshot is older than the WAL's end a checkpoint cannot restart the WAL, which then grows without bound.
  void ResetStatements();

  int64_t LastInsertRowid() const;
  int Changes() const;
  sqlite3* handle() const { return db_; }

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  std::unordered_map<std::string, std::unique_ptr<Statement>> statements_;
};

// BEGIN IMMEDIATE on construction (check status()), ROLLBACK on destruction unless Commit() succeeded.
// Construction resets every cached statement first (see SqliteDb::ResetStatements), so no statement may be
// in the middle of its rows when a transaction begins.
class Transaction {
 public:
  explicit Transaction(SqliteDb& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  const Result<void>& status() const { return begin_; }
  Result<void> Commit();

 private:
  SqliteDb& db_;
  Result<void> begin_;
  bool open_ = false;
};

// A deferred (read) transaction: the queries run while it lives see one snapshot, and take the WAL's read lock
// once instead of once per statement (two fcntl calls each way). Ends on destruction. Same reset rule as
// Transaction. Must not be nested in another transaction.
class ReadTransaction {
 public:
  explicit ReadTransaction(SqliteDb& db);
  ~ReadTransaction();
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

  const Result<void>& status() const { return begin_; }

 private:
  SqliteDb& db_;
  Result<void> begin_;
};

// What to do about a damaged store database, for every message that reports one.
inline constexpr const char* kStoreRepairHint =
    "restore it from a backup, or move it (with its -wal and -shm files) aside and run `deskpipe sync` again to "
    "rebuild the store from the helpdesk";

// SQLITE_BUSY / SQLITE_LOCKED → Unavailable (retryable); a damaged, unreadable or read-only database file
// (CORRUPT, NOTADB, IOERR, READONLY, CANTOPEN, PERM) → DataLoss naming the file and the way out, never the
// statement; anything else → Internal.
Status SqliteError(sqlite3* db, int rc, std::string_view context);

// The DataLoss SqliteError gives for such a code, for the database file `file`.
Status DatabaseFileError(const std::string& file, int rc);

}  // namespace deskpipe::sqlite
