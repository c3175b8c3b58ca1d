#include "store/pg_connection.h"

#include <libpq-fe.h>

#include <charconv>
#include <cstdlib>
#include <cstring>

namespace deskpipe::pg {
namespace {

std::string Abbreviate(std::string_view sql) {
  std::string text(sql.substr(0, 80));
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  return sql.size() > 80 ? text + "..." : text;
}

std::string Trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

PgResult::PgResult(pg_result* result) : result_(result) {}
PgResult::~PgResult() {
  if (result_) PQclear(result_);
}
PgResult::PgResult(PgResult&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
PgResult& PgResult::operator=(PgResult&& other) noexcept {
  if (this != &other) {
    if (result_) PQclear(result_);
    result_ = other.result_;
    other.result_ = nullptr;
  }
  return *this;
}

int PgResult::rows() const { return result_ ? PQntuples(result_) : 0; }
std::string PgResult::Text(int row, int column) const {
  return std::string(PQgetvalue(result_, row, column), static_cast<size_t>(PQgetlength(result_, row, column)));
}
int64_t PgResult::Int(int row, int column) const {
  const char* text = PQgetvalue(result_, row, column);
  int64_t value = 0;
  std::from_chars(text, text + std::strlen(text), value);
  return value;
}
double PgResult::Double(int row, int column) const { return std::strtod(PQgetvalue(result_, row, column), nullptr); }
bool PgResult::Bool(int row, int column) const { return PQgetvalue(result_, row, column)[0] == 't'; }
bool PgResult::IsNull(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }
std::string PgResult::Bytes(int row, int column) const {
  const char* text = PQgetvalue(result_, row, column);
  const size_t length = static_cast<size_t>(PQgetlength(result_, row, column));
  std::string out;
  if (length < 2 || text[0] != '\\' || text[1] != 'x') return out;  // only the hex format (the default)
  out.reserve((length - 2) / 2);
  for (size_t i = 2; i + 1 < length; i += 2) {
    const int hi = HexValue(text[i]);
    const int lo = HexValue(text[i + 1]);
    if (hi < 0 || lo < 0) return {};
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}
int64_t PgResult::Affected() const {
  const char* text = PQcmdTuples(result_);
  return text && *text ? std::strtoll(text, nullptr, 10) : 0;
}

namespace {

// The passwords a connection URL carries: user:PASSWORD@ and password=PASSWORD in the query.
std::vector<std::string> UrlPasswords(const std::string& url) {
  std::vector<std::string> found;
  const size_t scheme = url.find("://");
  const size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  const size_t at = url.find('@', start);
  const size_t slash = url.find('/', start);
  if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
    const size_t colon = url.find(':', start);
    if (colon != std::string::npos && colon < at && colon + 1 < at) found.push_back(url.substr(colon + 1, at - colon - 1));
  }
  for (size_t p = url.find("password="); p != std::string::npos; p = url.find("password=", p + 1)) {
    const size_t end = url.find('&', p);
    std::string value = url.substr(p + 9, end == std::string::npos ? std::string::npos : end - p - 9);
    if (!value.empty()) found.push_back(std::move(value));
  }
  return found;
}

}  // namespace

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& url) {
  pg_conn* conn = PQconnectdb(url.c_str());
  if (conn == nullptr) return Error(Internal("libpq could not allocate a connection"));
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = Trim(PQerrorMessage(conn));
    PQfinish(conn);
    // libpq quotes offending option values; one may be the password (or sit beside it in the URL).
    for (const std::string& password : UrlPasswords(url)) {
      for (size_t p = message.find(password); p != std::string::npos; p = message.find(password, p + 3)) {
        message.replace(p, password.size(), "***");
      }
    }
    return Error(Unavailable("cannot connect to the PostgreSQL store: " + message));
  }
  // Notices (e.g. "relation already exists, skipping") are noise on stderr; drop them.
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<PgConnection>(new PgConnection(conn));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

void PgConnection::ReconnectIfBroken() {
  if (reconnect_ && PQstatus(conn_) == CONNECTION_BAD) PQreset(conn_);  // still bad: the statement says so
}

Result<PgResult> PgConnection::Exec(std::string_view sql, const std::vector<Param>& params) {
  ReconnectIfBroken();
  std::vector<const char*> values(params.size());
  std::vector<int> lengths(params.size());
  std::vector<int> formats(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    values[i] = params[i].is_null ? nullptr : params[i].value.c_str();
    lengths[i] = static_cast<int>(params[i].value.size());
    formats[i] = params[i].binary ? 1 : 0;
  }
  const std::string text(sql);
  PgResult result(PQexecParams(conn_, text.c_str(), static_cast<int>(params.size()), nullptr, values.data(),
                               lengths.data(), formats.data(), /*resultFormat=*/0));
  PGresult* res = result.raw();
  const ExecStatusType status = PQresultStatus(res);  // accepts nullptr (out of memory): fatal error
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
    last_sqlstate_.clear();
    return result;
  }
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  last_sqlstate_ = state ? state : "";
  std::string message = Trim(res ? PQresultErrorMessage(res) : PQerrorMessage(conn_));
  if (message.empty()) message = Trim(PQerrorMessage(conn_));
  std::string context = Abbreviate(sql) + ": " + message;
  if (PQstatus(conn_) != CONNECTION_OK || last_sqlstate_ == "40001" || last_sqlstate_ == "40P01" ||
      last_sqlstate_.rfind("08", 0) == 0) {
    return Error(Unavailable(std::move(context)));
  }
  return Error(Internal(std::move(context)));
}

Result<void> PgConnection::ExecScript(const std::string& sql) {
  ReconnectIfBroken();
  PgResult result(PQexec(conn_, sql.c_str()));
  PGresult* res = result.raw();
  const ExecStatusType status = PQresultStatus(res);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) return {};
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  last_sqlstate_ = state ? state : "";
  std::string message = Trim(res ? PQresultErrorMessage(res) : PQerrorMessage(conn_));
  if (PQstatus(conn_) != CONNECTION_OK) return Error(Unavailable(Abbreviate(sql) + ": " + message));
  return Error(Internal(Abbreviate(sql) + ": " + message));
}

PgTransaction::PgTransaction(PgConnection& conn) : conn_(conn), begin_(conn.ExecScript("BEGIN")) {
  open_ = begin_.has_value();
}
PgTransaction::~PgTransaction() {
  if (open_) (void)conn_.ExecScript("ROLLBACK");
}
Result<void> PgTransaction::Commit() {
  if (!open_) return Error(Internal("commit of a transaction that is not open"));
  open_ = false;  // COMMIT ends the transaction whether it succeeds or not
  return conn_.ExecScript("COMMIT");
}

std::string VectorLiteral(const std::vector<float>& vector) {
  std::string out;
  out.reserve(vector.size() * 12 + 2);
  out.push_back('[');
  char buffer[32];
  for (size_t i = 0; i < vector.size(); ++i) {
    if (i) out.push_back(',');
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), vector[i]);
    out.append(buffer, ec == std::errc() ? end : buffer);
  }
  out.push_back(']');
  return out;
}

std::vector<float> ParseVectorLiteral(std::string_view text) {
  std::vector<float> out;
  if (text.size() < 2 || text.front() != '[' || text.back() != ']') return out;
  const char* p = text.data() + 1;
  const char* end = text.data() + text.size() - 1;
  while (p < end) {
    float value = 0;
    auto [next, ec] = std::from_chars(p, end, value);
    if (ec != std::errc()) return {};
    out.push_back(value);
    p = next;
    if (p < end && *p == ',') ++p;
  }
  return out;
}

}  // namespace deskpipe::pg
