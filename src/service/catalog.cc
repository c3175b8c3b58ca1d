// JobState names, Catalog::Open (the backend by URL scheme) and the row helpers both backends share.
#include "service/catalog.h"

#include <filesystem>
#include <string_view>

#include "service/catalog_backends.h"

namespace deskpipe::service {

const char* JobStateName(JobState state) {
  switch (state) {
    case JobState::kQueued:
      return "queued";
    case JobState::kRunning:
      return "running";
    case JobState::kCancelling:
      return "cancelling";
    case JobState::kSucceeded:
      return "succeeded";
    case JobState::kFailed:
      return "failed";
    case JobState::kCancelled:
      return "cancelled";
    case JobState::kInterrupted:
      return "interrupted";
  }
  return "unknown";
}

std::optional<JobState> ParseJobState(std::string_view name) {
  for (JobState state : {JobState::kQueued, JobState::kRunning, JobState::kCancelling, JobState::kSucceeded,
                         JobState::kFailed, JobState::kCancelled, JobState::kInterrupted}) {
    if (name == JobStateName(state)) return state;
  }
  return std::nullopt;
}

bool IsActive(JobState state) {
  return state == JobState::kQueued || state == JobState::kRunning || state == JobState::kCancelling;
}

Result<std::unique_ptr<Catalog>> Catalog::Open(const std::string& store_url) {
  constexpr std::string_view kSqlite = "sqlite://";
  if (store_url.rfind(kSqlite, 0) == 0) {
    const std::filesystem::path store_path = store_url.substr(kSqlite.size());
    if (store_path.empty() || store_path == "/") {
      return Error(InvalidArgument("store URL '" + store_url +
                                   "' names no database file (sqlite:///path/to/deskpipe.db)"));
    }
    // Its own file beside the store's, so the CLI's read-only verbs on deskpipe.db never meet the service's
    // writer.
    const std::filesystem::path dir = store_path.has_parent_path() ? store_path.parent_path() : ".";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return Error(InvalidArgument("cannot create directory " + dir.string() +
                                   " for the service catalog: " + ec.message()));
    }
    ASSIGN_OR_RETURN(auto catalog, SqliteCatalog::Open((dir / "service.db").string()));
    return std::unique_ptr<Catalog>(std::move(catalog));
  }
  if (store_url.rfind("postgresql://", 0) == 0 || store_url.rfind("postgres://", 0) == 0) {
    ASSIGN_OR_RETURN(auto catalog, PostgresCatalog::Open(store_url));
    return std::unique_ptr<Catalog>(std::move(catalog));
  }
  // Never echo the whole URL: a postgresql:// one may carry a password.
  const size_t scheme_end = store_url.find("://");
  if (scheme_end == std::string::npos) {
    return Error(InvalidArgument(
        "store URL must look like sqlite:///path/to/deskpipe.db or postgresql://user@host/database"));
  }
  return Error(InvalidArgument("unsupported store URL scheme '" + store_url.substr(0, scheme_end) +
                               "' (use sqlite:// or postgresql://)"));
}

namespace catalog_rows {

std::string MapToJson(const std::map<std::string, std::string>& map) {
  return JsonToText(nlohmann::json(map));
}

Result<std::map<std::string, std::string>> MapFromJson(std::string_view text, std::string_view row,
                                                       std::string_view column) {
  ASSIGN_OR_RETURN(nlohmann::json value, JsonFromText(text, row, column));
  std::map<std::string, std::string> map;
  if (!value.is_object()) {
    return Error(DataLoss("service catalog row " + std::string(row) + ": " + std::string(column) +
                          " is not a JSON object"));
  }
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string()) {
      return Error(DataLoss("service catalog row " + std::string(row) + ": " + std::string(column) + "." +
                            key + " is not a string"));
    }
    map.emplace(key, item.get<std::string>());
  }
  return map;
}

std::string JsonToText(const nlohmann::json& value) {
  // Replace, not throw, on invalid UTF-8: a status snapshot quoting a helpdesk's bytes must still be stored.
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<nlohmann::json> JsonFromText(std::string_view text, std::string_view row, std::string_view column) {
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    return Error(DataLoss("service catalog row " + std::string(row) + ": " + std::string(column) +
                          " is not valid JSON"));
  }
  return value;
}

Result<JobState> StateFromText(std::string_view text, std::string_view row) {
  auto state = ParseJobState(text);
  if (!state) {
    return Error(DataLoss("service catalog job " + std::string(row) + " has an unknown state '" +
                          std::string(text) + "'"));
  }
  return *state;
}

Status LeaseLost(const std::string& task_id, const std::string& holder, int64_t token, int64_t ours) {
  return Status(StatusCode::kBusy, "lease lost: job " + task_id + " was taken over by worker " +
                                       (holder.empty() ? "(none)" : holder) + " (fencing token " +
                                       std::to_string(token) + ", ours " + std::to_string(ours) + ")");
}

}  // namespace catalog_rows
}  // namespace deskpipe::service
