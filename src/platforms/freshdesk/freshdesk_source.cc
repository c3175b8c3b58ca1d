#include "platforms/freshdesk/freshdesk_source.h"

#include <algorithm>
#include <set>
#include <utility>

#include "core/ids.h"
#include "core/time.h"

namespace deskpipe::freshdesk {
namespace {

using nlohmann::json;

constexpr int kMaxPerPage = 100;
constexpr int kMaxFolderDepth = 16;

std::optional<int64_t> JsonInt(const json& object, const char* key) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

std::string ObjectLabel(const char* kind, const json& object) {
  auto id = JsonInt(object, "id");
  return std::string(kind) + " " + (id ? std::to_string(*id) : std::string("(no id)"));
}

Result<const json*> ExpectArray(const FreshdeskPage& page, const std::string& what) {
  if (!page.body.is_array()) {
    return Error(Unavailable("unexpected response from " + what + ": expected a JSON array, got " +
                             std::string(page.body.type_name())));
  }
  return &page.body;
}

// The tickets stream's cursor, parsed.
struct TicketWindow {
  std::string window_start;  // normalized UTC
  int64_t window_start_ts = 0;
  int page = 1;
  int per_page = kMaxPerPage;
  std::set<int64_t> skip_ids;
  int64_t max_ts = 0;
  std::set<int64_t> max_ids;

  json ToJson() const {
    return json{{"window_start", window_start},
                {"page", page},
                {"per_page", per_page},
                {"skip_ids", json(std::vector<int64_t>(skip_ids.begin(), skip_ids.end()))},
                {"max_updated_at", FormatTimestamp(max_ts)},
                {"max_ids", json(std::vector<int64_t>(max_ids.begin(), max_ids.end()))}};
  }

  // A fresh window starting where this one's emitted tickets end.
  TicketWindow Next() const {
    TicketWindow next;
    next.window_start = FormatTimestamp(max_ts);
    next.window_start_ts = max_ts;
    next.page = 1;
    next.per_page = per_page;
    next.skip_ids = max_ids;
    next.max_ts = max_ts;
    next.max_ids = max_ids;
    return next;
  }

  void Saw(int64_t id, int64_t ts) {
    if (ts > max_ts) {
      max_ts = ts;
      max_ids.clear();
    }
    if (ts == max_ts) max_ids.insert(id);
  }
};

Result<std::set<int64_t>> IdSet(const json& cursor, const char* key) {
  std::set<int64_t> out;
  auto it = cursor.find(key);
  if (it == cursor.end() || it->is_null()) return out;
  if (!it->is_array())
    return Error(InvalidArgument(std::string("tickets cursor: '") + key + "' is not an array"));
  for (const auto& v : *it) {
    if (!v.is_number_integer()) {
      return Error(InvalidArgument(std::string("tickets cursor: '") + key + "' holds a non-integer id"));
    }
    out.insert(v.get<int64_t>());
  }
  return out;
}

Result<TicketWindow> ParseTicketCursor(const json& cursor, const std::string& start_date, int per_page) {
  TicketWindow w;
  if (cursor.is_null()) {
    auto start = ParseTimestamp(start_date);
    if (!start) return Error(InvalidArgument("DESKPIPE_START_DATE: " + start.error().message()));
    w.window_start_ts = *start;
    w.window_start = FormatTimestamp(*start);
    w.per_page = per_page;
    w.max_ts = *start;
    return w;
  }
  if (!cursor.is_object())
    return Error(InvalidArgument("tickets cursor is not a JSON object: " + cursor.dump()));
  auto start = cursor.find("window_start");
  if (start == cursor.end() || !start->is_string()) {
    return Error(InvalidArgument("tickets cursor has no 'window_start': " + cursor.dump()));
  }
  auto start_ts = ParseTimestamp(start->get<std::string>());
  if (!start_ts) return Error(InvalidArgument("tickets cursor: " + start_ts.error().message()));
  w.window_start_ts = *start_ts;
  w.window_start = FormatTimestamp(*start_ts);
  w.page = static_cast<int>(JsonInt(cursor, "page").value_or(1));
  w.per_page = static_cast<int>(JsonInt(cursor, "per_page").value_or(per_page));
  if (w.page < 1 || w.per_page < 1 || w.per_page > kMaxPerPage) {
    return Error(InvalidArgument("tickets cursor has a bad 'page' or 'per_page': " + cursor.dump()));
  }
  ASSIGN_OR_RETURN(w.skip_ids, IdSet(cursor, "skip_ids"));
  ASSIGN_OR_RETURN(w.max_ids, IdSet(cursor, "max_ids"));
  w.max_ts = w.window_start_ts;
  auto max = cursor.find("max_updated_at");
  if (max != cursor.end() && max->is_string()) {
    auto max_ts = ParseTimestamp(max->get<std::string>());
    if (!max_ts) return Error(InvalidArgument("tickets cursor: " + max_ts.error().message()));
    w.max_ts = std::max(*max_ts, w.window_start_ts);
  }
  return w;
}

}  // namespace

Result<std::unique_ptr<FreshdeskSource>> FreshdeskSource::Create(const Config& config, net::HttpClient& http,
                                                                 FreshdeskClientOptions options) {
  RETURN_IF_ERROR(ValidateTenantId(config.tenant_id));
  ASSIGN_OR_RETURN(std::string api_base, ResolveFreshdeskApiBase(config));
  if (options.rate_limit_delay <= 0) options.rate_limit_delay = config.rate_limit_delay;
  auto client =
      std::make_unique<FreshdeskClient>(api_base, config.freshdesk_api_key, http, std::move(options));
  MappingContext context;
  context.tenant_id = config.tenant_id;
  context.portal_url = PortalUrlFromApiBase(api_base);
  return std::unique_ptr<FreshdeskSource>(new FreshdeskSource(config, std::move(client), std::move(context)));
}

FreshdeskSource::FreshdeskSource(const Config& config, std::unique_ptr<FreshdeskClient> client,
                                 MappingContext context)
    : config_(config),
      client_(std::move(client)),
      context_(std::move(context)),
      per_page_(std::clamp(config.collection_batch_size, 1, kMaxPerPage)) {}

std::vector<std::string> FreshdeskSource::Streams() const {
  return {"agents", "ticket_fields", "tickets", "solutions"};
}

Result<Batch> FreshdeskSource::Next(const std::string& stream, const json& cursor) {
  if (stream == "agents") return NextAgents(cursor);
  if (stream == "ticket_fields") return NextTicketFields(cursor);
  if (stream == "tickets") return NextTickets(cursor);
  if (stream == "solutions") return NextSolutions(cursor);
  return Error(InvalidArgument("freshdesk has no stream '" + stream +
                               "'; streams: agents, ticket_fields, tickets, solutions"));
}

// ---- agents and ticket fields ---------------------------------------------------------------------------

Result<Batch> FreshdeskSource::NextAgents(const json& cursor) {
  int page = static_cast<int>(JsonInt(cursor, "page").value_or(1));
  if (page < 1) return Error(InvalidArgument("agents cursor has a bad 'page': " + cursor.dump()));
  if (page == 1) agents_stream_from_start_ = true;
  const std::string path = "agents?per_page=" + std::to_string(kMaxPerPage) + "&page=" + std::to_string(page);
  ASSIGN_OR_RETURN(FreshdeskPage response, client_->Get(path));
  ASSIGN_OR_RETURN(const json* agents, ExpectArray(response, "agents"));

  Batch batch;
  batch.stream = "agents";
  for (const auto& agent : *agents) {
    auto record = MapAgent(agent, context_);
    if (!record) {
      batch.rejected.emplace_back(ObjectLabel("agent", agent), record.error());
      continue;
    }
    if (auto id = JsonInt(agent, "id")) context_.agent_names[*id] = record->title;
    batch.records.push_back(std::move(*record));
  }
  if (response.next_url.empty()) {
    batch.done = true;
    batch.cursor = nullptr;
    if (agents_stream_from_start_) agents_loaded_ = true;
  } else {
    batch.cursor = json{{"page", page + 1}};
  }
  return batch;
}

Result<void> FreshdeskSource::LoadAllAgents() {
  auto response = client_->Get("agents?per_page=" + std::to_string(kMaxPerPage));
  while (true) {
    if (!response) {
      // A key without admin rights cannot list agents: map without names rather than fail the tickets.
      if (response.error().code() == StatusCode::kPermissionDenied) break;
      return Error(response.error());
    }
    ASSIGN_OR_RETURN(const json* agents, ExpectArray(*response, "agents"));
    for (const auto& agent : *agents) {
      auto id = JsonInt(agent, "id");
      auto contact = agent.is_object() ? agent.value("contact", json()) : json();
      if (id && contact.is_object() && contact.value("name", json()).is_string()) {
        context_.agent_names[*id] = contact["name"].get<std::string>();
      }
    }
    if (response->next_url.empty()) break;
    response = client_->GetUrl(response->next_url);
  }
  agents_loaded_ = true;
  return {};
}

Result<void> FreshdeskSource::LoadTicketFields(Batch* batch) {
  auto response = client_->Get("ticket_fields");
  if (!response) {
    if (batch == nullptr && response.error().code() == StatusCode::kPermissionDenied) {
      ticket_fields_loaded_ = true;  // labels fall back to "status-<n>"
      return {};
    }
    return Error(response.error());
  }
  ASSIGN_OR_RETURN(const json* fields, ExpectArray(*response, "ticket_fields"));
  for (auto& [status, label] : CustomStatusesFromTicketFields(*fields))
    context_.custom_statuses[status] = label;
  ticket_fields_loaded_ = true;
  if (batch != nullptr) {
    for (const auto& field : *fields) {
      auto record = MapTicketField(field, context_);
      if (!record) {
        batch->rejected.emplace_back(ObjectLabel("ticket_field", field), record.error());
        continue;
      }
      batch->records.push_back(std::move(*record));
    }
  }
  return {};
}

Result<Batch> FreshdeskSource::NextTicketFields(const json& /*cursor*/) {
  Batch batch;
  batch.stream = "ticket_fields";
  RETURN_IF_ERROR(LoadTicketFields(&batch));
  batch.done = true;
  batch.cursor = nullptr;
  return batch;
}

Result<void> FreshdeskSource::EnsureReferenceData() {
  if (!agents_loaded_) RETURN_IF_ERROR(LoadAllAgents());
  if (!ticket_fields_loaded_) RETURN_IF_ERROR(LoadTicketFields(nullptr));
  return {};
}

// ---- tickets -------------------------------------------------------------------------------------------

Result<void> FreshdeskSource::AppendConversations(const Record& ticket, int64_t ticket_id, Batch* batch) {
  const std::string what = "tickets/" + std::to_string(ticket_id) + "/conversations";
  auto response = client_->Get(what + "?per_page=" + std::to_string(kMaxPerPage));
  while (true) {
    if (!response) {
      // A ticket deleted or moved between the list and this call: keep the ticket, report the thread.
      StatusCode code = response.error().code();
      if (code == StatusCode::kNotFound || code == StatusCode::kPermissionDenied) {
        batch->rejected.emplace_back(ticket.id + " conversations", response.error());
        return {};
      }
      return Error(response.error());
    }
    ASSIGN_OR_RETURN(const json* conversations, ExpectArray(*response, what));
    for (const auto& conversation : *conversations) {
      auto record = MapConversation(conversation, ticket, context_);
      if (!record) {
        batch->rejected.emplace_back(ObjectLabel("conversation", conversation), record.error());
        continue;
      }
      batch->records.push_back(std::move(*record));
    }
    if (response->next_url.empty()) return {};
    response = client_->GetUrl(response->next_url);
  }
}

Result<Batch> FreshdeskSource::NextTickets(const json& cursor) {
  ASSIGN_OR_RETURN(TicketWindow window, ParseTicketCursor(cursor, config_.start_date, per_page_));
  RETURN_IF_ERROR(EnsureReferenceData());

  Batch batch;
  batch.stream = "tickets";
  const std::string path =
      "tickets?updated_since=" + window.window_start +
      "&order_by=updated_at&order_type=asc&include=description,requester,stats&per_page=" +
      std::to_string(window.per_page) + "&page=" + std::to_string(window.page);
  auto response = client_->Get(path);
  if (!response) {
    if (!client_->last_error().page_cap) return Error(response.error());
    // The page cap arrived before we expected it: re-window from what this window emitted.
    TicketWindow next = window.Next();
    if (next.window_start_ts == window.window_start_ts && next.skip_ids == window.skip_ids) {
      return Error(Internal("Freshdesk refused page " + std::to_string(window.page) +
                            " of the tickets window " + window.window_start +
                            " and no ticket advanced it; cannot make progress"));
    }
    batch.cursor = next.ToJson();
    return batch;
  }
  ASSIGN_OR_RETURN(const json* tickets, ExpectArray(*response, "tickets"));

  for (const auto& ticket : *tickets) {
    auto record = MapTicket(ticket, context_);
    if (!record) {
      batch.rejected.emplace_back(ObjectLabel("ticket", ticket), record.error());
      continue;
    }
    const int64_t id = *JsonInt(ticket, "id");  // MapTicket checked it
    auto ts = ParseTimestamp(record->updated_at);
    if (!ts) {
      batch.rejected.emplace_back(record->id, ts.error());
      continue;
    }
    if (*ts <= window.window_start_ts && window.skip_ids.count(id) > 0)
      continue;  // emitted by the last window
    window.Saw(id, *ts);
    Record ticket_record = std::move(*record);
    batch.records.push_back(ticket_record);
    RETURN_IF_ERROR(AppendConversations(ticket_record, id, &batch));
  }

  if (response->next_url.empty()) {
    batch.done = true;
    batch.cursor = window.Next().ToJson();
  } else if (window.page >= kMaxTicketPages) {
    TicketWindow next = window.Next();
    if (next.window_start_ts == window.window_start_ts && next.skip_ids == window.skip_ids) {
      return Error(Internal("more than " + std::to_string(kMaxTicketPages) +
                            " pages of tickets share updated_at " + window.window_start +
                            "; splitting one second is not supported yet"));
    }
    batch.cursor = next.ToJson();
  } else {
    window.page += 1;
    batch.cursor = window.ToJson();
  }
  return batch;
}

// ---- solutions -----------------------------------------------------------------------------------------

namespace {

Result<std::vector<json>> GetAll(FreshdeskClient& client, const std::string& path) {
  std::vector<json> out;
  auto response = client.Get(path);
  while (true) {
    if (!response) return Error(response.error());
    ASSIGN_OR_RETURN(const json* items, ExpectArray(*response, path));
    out.insert(out.end(), items->begin(), items->end());
    if (response->next_url.empty()) return out;
    response = client.GetUrl(response->next_url);
  }
}

json WithCategory(json folder, const json& category) {
  if (!folder.is_object()) return folder;
  if (!folder.contains("category_id") || folder["category_id"].is_null()) {
    folder["category_id"] = category.value("id", json());
  }
  folder["category_name"] = category.value("name", json());
  return folder;
}

}  // namespace

Result<void> FreshdeskSource::AppendSubfolders(const json& parent, const json& category,
                                               std::vector<json>* out, int depth) {
  auto count = JsonInt(parent, "sub_folders_count");
  auto id = JsonInt(parent, "id");
  if (!count || *count <= 0 || !id || depth >= kMaxFolderDepth) return {};
  ASSIGN_OR_RETURN(std::vector<json> children,
                   GetAll(*client_, "solutions/folders/" + std::to_string(*id) + "/subfolders"));
  for (const auto& child : children) {
    out->push_back(WithCategory(child, category));
    RETURN_IF_ERROR(AppendSubfolders(child, category, out, depth + 1));
  }
  return {};
}

Result<std::vector<json>> FreshdeskSource::ListFolders() {
  std::vector<json> folders;
  ASSIGN_OR_RETURN(std::vector<json> categories, GetAll(*client_, "solutions/categories"));
  for (const auto& category : categories) {
    auto category_id = JsonInt(category, "id");
    if (!category_id) continue;
    ASSIGN_OR_RETURN(std::vector<json> top,
                     GetAll(*client_, "solutions/categories/" + std::to_string(*category_id) + "/folders"));
    for (const auto& folder : top) {
      if (!JsonInt(folder, "id")) continue;
      folders.push_back(WithCategory(folder, category));
      RETURN_IF_ERROR(AppendSubfolders(folder, category, &folders, 1));
    }
  }
  return folders;
}

Result<Batch> FreshdeskSource::NextSolutions(const json& cursor) {
  if (cursor.is_null()) folders_.reset();  // a new walk sees the current hierarchy
  if (!folders_) {
    ASSIGN_OR_RETURN(std::vector<json> folders, ListFolders());
    folders_ = std::move(folders);
  }
  const std::vector<json>& folders = *folders_;

  size_t index = static_cast<size_t>(std::max<int64_t>(JsonInt(cursor, "folder_index").value_or(0), 0));
  int page = static_cast<int>(std::max<int64_t>(JsonInt(cursor, "page").value_or(1), 1));
  if (auto folder_id = JsonInt(cursor, "folder_id")) {
    // The hierarchy may have changed since the cursor was saved: find the folder by id; if it is gone,
    // continue from the same position.
    if (index >= folders.size() || JsonInt(folders[index], "id") != folder_id) {
      for (size_t i = 0; i < folders.size(); ++i) {
        if (JsonInt(folders[i], "id") == folder_id) {
          index = i;
          break;
        }
      }
      if (index >= folders.size() || JsonInt(folders[index], "id") != folder_id) page = 1;
    }
  }

  Batch batch;
  batch.stream = "solutions";
  auto finish_or_advance = [&](size_t next_index, int next_page) {
    if (next_index >= folders.size()) {
      batch.done = true;
      batch.cursor = nullptr;
      folders_.reset();
    } else {
      batch.cursor = json{{"folder_index", next_index},
                          {"folder_id", *JsonInt(folders[next_index], "id")},
                          {"page", next_page}};
    }
  };
  if (index >= folders.size()) {
    finish_or_advance(index, 1);
    return batch;
  }

  const json& folder = folders[index];
  const int64_t folder_id = *JsonInt(folder, "id");
  const std::string what = "solutions/folders/" + std::to_string(folder_id) + "/articles";
  auto response =
      client_->Get(what + "?per_page=" + std::to_string(per_page_) + "&page=" + std::to_string(page));
  if (!response) {
    if (response.error().code() != StatusCode::kNotFound) return Error(response.error());
    finish_or_advance(index + 1, 1);  // the folder went away during the walk
    return batch;
  }
  ASSIGN_OR_RETURN(const json* articles, ExpectArray(*response, what));
  for (const auto& article : *articles) {
    auto record = MapArticle(article, folder, context_);
    if (!record) {
      batch.rejected.emplace_back(ObjectLabel("article", article), record.error());
      continue;
    }
    batch.records.push_back(std::move(*record));
  }
  if (!response->next_url.empty()) {
    finish_or_advance(index, page + 1);
  } else {
    finish_or_advance(index + 1, 1);
  }
  return batch;
}

Result<std::unique_ptr<Source>> CreateSource(const Config& config, net::HttpClient& http) {
  ASSIGN_OR_RETURN(std::unique_ptr<FreshdeskSource> source, FreshdeskSource::Create(config, http));
  return std::unique_ptr<Source>(std::move(source));
}

}  // namespace deskpipe::freshdesk
