// A thin RAII layer over libpq: one connection, parameterized statements (text parameters, optional binary
// ones for bytea), results read as text, and a transaction that rolls back unless committed. No ORM.
// Thread-safety: a PgConnection is used from one thread at a time. Lifetime: PgResult owns its PGresult and
// may outlive the connection; a PgTransaction must not outlive its connection.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

struct pg_conn;
struct pg_result;

namespace deskpipe::pg {

// One statement parameter: text (the PostgreSQL input syntax), binary bytes (bytea) or NULL.
struct Param {
  std::string value;
  bool is_null = false;
  bool binary = false;

  Param(std::string text) : value(std::move(text)) {}  // NOLINT: implicit on purpose
  Param(const char* text) : value(text) {}             // NOLINT
  Param(int64_t number) : value(std::to_string(number)) {}  // NOLINT
  Param(int number) : value(std::to_string(number)) {}      // NOLINT
  Param(bool flag) : value(flag ? "true" : "false") {}      // NOLINT
  static Param Null() {
    Param p("");
    p.is_null = true;
    return p;
  }
  static Param Bytes(const void* data, size_t size) {
    Param p(std::string(static_cast<const char*>(data), size));
    p.binary = true;
    return p;
  }
};

class PgResult {
 public:
  explicit PgResult(pg_result* result);
  ~PgResult();
  PgResult(PgResult&& other) noexcept;
  PgResult& operator=(PgResult&& other) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;

  int rows() const;
  std::string Text(int row, int column) const;
  int64_t Int(int row, int column) const;
  double Double(int row, int column) const;
  bool Bool(int row, int column) const;
  bool IsNull(int row, int column) const;
  // A bytea column (hex text format) decoded to bytes.
  std::string Bytes(int row, int column) const;
  // Rows changed by INSERT/UPDATE/DELETE.
  int64_t Affected() const;
  pg_result* raw() const { return result_; }

 private:
  pg_result* result_;
};

class PgConnection {
 public:
  // Connects with a libpq URI or keyword string (postgresql://user@host/db?host=/socket/dir). Errors never
  // echo the connection string (it may hold a password).
  static Result<std::unique_ptr<PgConnection>> Connect(const std::string& url);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs `sql` with $1… parameters. A failed statement is Internal (Unavailable when the connection broke or
  // on serialization/deadlock failures), naming the SQL's first characters and the server's message.
  Result<PgResult> Exec(std::string_view sql, const std::vector<Param>& params = {});
  // Runs one or more statements without parameters (DDL, SET).
  Result<void> ExecScript(const std::string& sql);
  // Server-side SQLSTATE of the last failure ("" when none).
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  // Reconnect before a statement when the connection broke (a server restart). Only for a connection whose
  // session holds nothing (no session lock, no open transaction across calls): the service's catalog.
  void set_reconnect(bool reconnect) { reconnect_ = reconnect; }

 private:
  explicit PgConnection(pg_conn* conn) : conn_(conn) {}
  void ReconnectIfBroken();
  pg_conn* conn_;
  bool reconnect_ = false;
  std::string last_sqlstate_;
};

// BEGIN on construction (check status()), ROLLBACK on destruction unless Commit() succeeded.
class PgTransaction {
 public:
  explicit PgTransaction(PgConnection& conn);
  ~PgTransaction();
  PgTransaction(const PgTransaction&) = delete;
  PgTransaction& operator=(const PgTransaction&) = delete;

  const Result<void>& status() const { return begin_; }
  Result<void> Commit();

 private:
  PgConnection& conn_;
  Result<void> begin_;
  bool open_ = false;
};

// The PostgreSQL text form of a float vector: "[0.1,0.2,…]" (pgvector's input syntax), exact round trip.
std::string VectorLiteral(const std::vector<float>& vector);
// Parses "[0.1,0.2,…]"; empty on malformed input.
std::vector<float> ParseVectorLiteral(std::string_view text);

}  // namespace deskpipe::pg
