// SqliteStore's known-record queries (Store::ListKnown, KnownChildren, LookupKnown; issue 4): what the store
// holds of a tenant's records, for sources that diff against it. Kept apart from sqlite_store.cc, which holds
// the write and search paths. Same thread-safety as SqliteStore (one thread at a time).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <set>

#include "core/ids.h"
#include "store/sqlite_store.h"
#include "store/store_common.h"

namespace deskpipe {
namespace {

using sqlite::Statement;

// A document's known form: the record's own updated_at is in its metadata (the document's own may be a later
// conversation's); the state is the document's.
constexpr char kDocumentColumns[] =
    "id, COALESCE(CASE WHEN json_valid(metadata) THEN json_extract(metadata, '$.updated_at') END, "
    "updated_at), "
    "state, ''";
// A record-table row's known form: state from its metadata, else its status.
constexpr char kRecordColumns[] =
    "r.id, r.updated_at, COALESCE(CASE WHEN json_valid(r.metadata) THEN json_extract(r.metadata, '$.state') "
    "END, "
    "r.status), r.parent_id";

// The known records of `type` with id > ?3 of tenant ?1, type ?2, at most ?4: documents of the type, then the
// type's record-table rows that have no document.
std::string ListSql(const std::string& type) {
  const std::string table = store_common::RecordTable(type);
  return std::string("SELECT * FROM (SELECT ") + kDocumentColumns +
         " FROM documents WHERE tenant_id = ?1 AND type = ?2 AND id > ?3 UNION ALL SELECT " + kRecordColumns +
         " FROM " + table + " r WHERE r.tenant_id = ?1 AND r.id > ?3" +
         (table == "records" ? " AND r.type = ?2" : "") +
         " AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.tenant_id = ?1 AND d.id = r.id)) ORDER BY 1 "
         "LIMIT ?4";
}

KnownRecord ReadKnown(const Statement& stmt) {
  return KnownRecord{stmt.ColumnText(0), stmt.ColumnText(1), stmt.ColumnText(2), stmt.ColumnText(3)};
}

Result<void> ReadAll(Statement* stmt, std::vector<KnownRecord>& out) {
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) return {};
    out.push_back(ReadKnown(*stmt));
  }
}

bool ById(const KnownRecord& a, const KnownRecord& b) { return a.id < b.id; }

}  // namespace

Result<std::vector<KnownRecord>> SqliteStore::ListKnown(const std::string& tenant_id, const std::string& type,
                                                        const std::string& after_id, size_t limit) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  if (type.empty()) return Error(InvalidArgument("known records of tenant " + tenant_id + ": empty type"));
  std::vector<KnownRecord> out;
  if (limit == 0) return out;
  ASSIGN_OR_RETURN(Statement * stmt, db_->Prepare(ListSql(type)));
  stmt->Bind(1, tenant_id).Bind(2, type).Bind(3, after_id);
  stmt->Bind(4, static_cast<int64_t>(std::min<size_t>(limit, std::numeric_limits<int64_t>::max())));
  RETURN_IF_ERROR(ReadAll(stmt, out));
  return out;
}

Result<std::vector<KnownRecord>> SqliteStore::KnownChildren(const std::string& tenant_id,
                                                            const std::string& parent_id) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  std::vector<KnownRecord> out;
  if (parent_id.empty()) return out;  // "no parent" is not a parent
  // "+r.id": without it SQLite orders by walking the primary key, scanning every conversation of the tenant
  // for each ticket (quadratic over a sync); this way it seeks conversations_parent and sorts the few rows.
  ASSIGN_OR_RETURN(
      Statement * stmt,
      db_->Prepare(std::string("SELECT ") + kRecordColumns +
                   " FROM conversations r WHERE r.tenant_id = ? AND r.parent_id = ? ORDER BY +r.id"));
  stmt->Bind(1, tenant_id).Bind(2, parent_id);
  RETURN_IF_ERROR(ReadAll(stmt, out));
  return out;
}

Result<std::vector<KnownRecord>> SqliteStore::LookupKnown(const std::string& tenant_id,
                                                          const std::vector<std::string>& ids) {
  RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  static const std::string document_sql =
      std::string("SELECT ") + kDocumentColumns + " FROM documents WHERE tenant_id = ? AND id = ?";
  static const std::vector<std::string> record_sql = [] {
    std::vector<std::string> sql;
    for (const char* table : store_common::kRecordTables) {
      sql.push_back(std::string("SELECT ") + kRecordColumns + " FROM " + table +
                    " r WHERE r.tenant_id = ? AND r.id = ?");
    }
    return sql;
  }();
  std::vector<KnownRecord> out;
  const std::set<std::string> unique(ids.begin(), ids.end());
  // A new id costs one query per table: one snapshot for them all, not a read transaction each.
  sqlite::ReadTransaction snapshot(*db_);
  RETURN_IF_ERROR(snapshot.status());
  for (const std::string& id : unique) {
    ASSIGN_OR_RETURN(Statement * document, db_->Prepare(document_sql));
    document->Bind(1, tenant_id).Bind(2, id);
    ASSIGN_OR_RETURN(bool found, document->Step());
    if (found) out.push_back(ReadKnown(*document));
    document->Reset();
    if (found) continue;
    for (const std::string& sql : record_sql) {
      ASSIGN_OR_RETURN(Statement * record, db_->Prepare(sql));
      record->Bind(1, tenant_id).Bind(2, id);
      ASSIGN_OR_RETURN(found, record->Step());
      if (found) out.push_back(ReadKnown(*record));
      record->Reset();
      if (found) break;
    }
  }
  std::sort(out.begin(), out.end(), ById);
  return out;
}

}  // namespace deskpipe
