// PostgresStore's known-record queries (Store::ListKnown, KnownChildren, LookupKnown; issue 4): what the
// store holds of a tenant's records, for sources that diff against it. Ids compare and sort COLLATE "C"
// (bytes), so the order and `after_id` paging match the SQLite backend whatever the database's collation.
// Kept apart from postgres_store.cc. Same thread-safety as PostgresStore (one thread at a time).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <set>

#include "core/ids.h"
#include "store/postgres_store.h"
#include "store/store_common.h"

namespace deskpipe {
namespace {

using pg::PgResult;

// A document's known form: the record's own updated_at is in its metadata (the document's own may be a later
// conversation's); the state is the document's.
constexpr char kDocumentColumns[] =
    "id, COALESCE(metadata->>'updated_at', updated_at) AS updated_at, state, ''::text AS parent_id";
// A record-table row's known form: state from its metadata, else its status.
constexpr char kRecordColumns[] = "r.id, r.updated_at, COALESCE(r.metadata->>'state', r.status), r.parent_id";
constexpr char kWithoutDocument[] =
    " AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.tenant_id = r.tenant_id AND d.id = r.id)";

// A PostgreSQL array literal of text values: {"a","b"} with quotes and backslashes escaped.
std::string TextArray(const std::set<std::string>& values) {
  std::string out = "{";
  bool first = true;
  for (const std::string& value : values) {
    if (!first) out += ',';
    first = false;
    out += '"';
    for (char c : value) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::vector<KnownRecord> ReadAll(const PgResult& result) {
  std::vector<KnownRecord> out;
  out.reserve(static_cast<size_t>(result.rows()));
  for (int i = 0; i < result.rows(); ++i) {
    out.push_back(KnownRecord{result.Text(i, 0), result.Text(i, 1), result.Text(i, 2), result.Text(i, 3)});
  }
  return out;
}

}  // namespace

Result<std::vector<KnownRecord>> PostgresStore::ListKnown(const std::string& tenant_id,
                                                          const std::string& type,
                                                          const std::string& after_id, size_t limit) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  if (type.empty()) return Error(InvalidArgument("known records of tenant " + tenant_id + ": empty type"));
  if (limit == 0) return std::vector<KnownRecord>{};
  const std::string table = store_common::RecordTable(type);
  const std::string sql =
      std::string("SELECT * FROM (SELECT ") + kDocumentColumns +
      " FROM documents WHERE tenant_id = $1 AND type = $2 AND id COLLATE \"C\" > $3 UNION ALL SELECT " +
      kRecordColumns + " FROM " + table + " r WHERE r.tenant_id = $1 AND r.id COLLATE \"C\" > $3" +
      (table == "records" ? " AND r.type = $2" : "") + kWithoutDocument +
      ") known ORDER BY known.id COLLATE \"C\" LIMIT $4";
  const int64_t capped = static_cast<int64_t>(std::min<size_t>(limit, std::numeric_limits<int64_t>::max()));
  ASSIGN_OR_RETURN(PgResult result, conn_->Exec(sql, {tenant_id, type, after_id, capped}));
  return ReadAll(result);
}

Result<std::vector<KnownRecord>> PostgresStore::KnownChildren(const std::string& tenant_id,
                                                              const std::string& parent_id) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  if (parent_id.empty()) return std::vector<KnownRecord>{};  // "no parent" is not a parent
  ASSIGN_OR_RETURN(PgResult result,
                   conn_->Exec(std::string("SELECT ") + kRecordColumns +
                                   " FROM conversations r WHERE r.tenant_id = $1 AND r.parent_id = $2 "
                                   "ORDER BY r.id COLLATE \"C\"",
                               {tenant_id, parent_id}));
  return ReadAll(result);
}

Result<std::vector<KnownRecord>> PostgresStore::LookupKnown(const std::string& tenant_id,
                                                            const std::vector<std::string>& ids) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  if (ids.empty()) return std::vector<KnownRecord>{};
  std::string sql = std::string("SELECT * FROM (SELECT ") + kDocumentColumns +
                    " FROM documents WHERE tenant_id = $1 AND id = ANY($2::text[])";
  for (const char* table : store_common::kRecordTables) {
    sql += std::string(" UNION ALL SELECT ") + kRecordColumns + " FROM " + table +
           " r WHERE r.tenant_id = $1 AND r.id = ANY($2::text[])" + kWithoutDocument;
  }
  sql += ") known ORDER BY known.id COLLATE \"C\"";
  ASSIGN_OR_RETURN(PgResult result,
                   conn_->Exec(sql, {tenant_id, TextArray(std::set<std::string>(ids.begin(), ids.end()))}));
  std::vector<KnownRecord> out = ReadAll(result);
  // An id in two record tables (its type changed) is reported once, as SQLite's lookup does: the first.
  out.erase(std::unique(out.begin(), out.end(),
                        [](const KnownRecord& a, const KnownRecord& b) { return a.id == b.id; }),
            out.end());
  return out;
}

}  // namespace deskpipe
