#include "platforms/freshdesk/freshdesk_source.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/ids.h"
#include "core/log.h"
#include "core/time.h"
#include "platforms/freshdesk/freshdesk_settings.h"

namespace deskpipe::freshdesk {
namespace {

using nlohmann::json;

constexpr int kMaxPerPage = 100;
constexpr int kMaxFolderDepth = 16;
constexpr const char* kTicketInclude = "include=description,requester,stats";

std::optional<int64_t> JsonInt(const json& object, const char* key) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

std::optional<int64_t> JsonTime(const json& object, const char* key) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  auto ts = ParseTimestamp(it->get<std::string>());
  if (!ts) return std::nullopt;
  return *ts;
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

// A stream or object the account does not offer (feature not on the plan, endpoint absent): skipped, not
// fatal, for reference data.
bool NotOffered(const Status& status) {
  return status.code() == StatusCode::kPermissionDenied || status.code() == StatusCode::kNotFound;
}

json WithCategory(json folder, const json& category) {
  if (!folder.is_object()) return folder;
  if (!folder.contains("category_id") || folder["category_id"].is_null()) {
    folder["category_id"] = category.value("id", json());
  }
  folder["category_name"] = category.value("name", json());
  return folder;
}

const std::vector<std::string>& AllStreams() {
  static const std::vector<std::string> streams = {
      "settings",  "agents",          "groups",       "ticket_fields", "contact_fields",
      "company_fields", "companies",  "contacts",     "contacts_deleted", "tickets",
      "tickets_deleted", "tickets_spam", "tickets_reconcile", "solutions"};
  return streams;
}

}  // namespace

Result<std::unique_ptr<FreshdeskSource>> FreshdeskSource::Create(const Config& config, net::HttpClient& http,
                                                                 FreshdeskClientOptions options,
                                                                 FreshdeskSourceOptions source_options) {
  RETURN_IF_ERROR(ValidateTenantId(config.tenant_id));
  ASSIGN_OR_RETURN(std::string api_base, ResolveFreshdeskApiBase(config));
  ApplyConfigToClientOptions(config, &options);  // RATE_LIMIT_DELAY, MAX_CONCURRENT_REQUESTS, budget share
  auto start = ParseTimestamp(config.start_date);
  if (!start) return Error(InvalidArgument("DESKPIPE_START_DATE: " + start.error().message()));
  auto client = std::make_unique<FreshdeskClient>(api_base, FreshdeskSettings::FromConfig(config).api_key, http,
                                                  std::move(options));
  MappingContext context;
  context.tenant_id = config.tenant_id;
  context.portal_url = PortalUrlFromApiBase(api_base);
  context.index_drafts = source_options.index_drafts;
  auto source = std::unique_ptr<FreshdeskSource>(
      new FreshdeskSource(config, http, std::move(client), std::move(context), std::move(source_options)));
  source->start_ts_ = *start;
  return source;
}

FreshdeskSource::FreshdeskSource(const Config& config, net::HttpClient& http,
                                 std::unique_ptr<FreshdeskClient> client, MappingContext context,
                                 FreshdeskSourceOptions options)
    : config_(config),
      client_(std::move(client)),
      context_(std::move(context)),
      options_(std::move(options)),
      downloader_(http, options_.attachments),
      per_page_(std::clamp(config.collection_batch_size, 1, kMaxPerPage)) {
  options_.max_ticket_pages = std::max(1, options_.max_ticket_pages);
  options_.reconcile_batch = std::max(1, options_.reconcile_batch);
}

std::vector<std::string> FreshdeskSource::Streams() const { return AllStreams(); }

Result<Batch> FreshdeskSource::Next(const std::string& stream, const json& cursor) {
  if (stream == "settings") return NextSettings();
  if (stream == "agents" || stream == "groups") return NextPagedReference(stream, cursor);
  if (stream == "ticket_fields" || stream == "contact_fields" || stream == "company_fields") {
    return NextFieldDefinitions(stream);
  }
  if (stream == "companies" || stream == "contacts" || stream == "contacts_deleted") {
    return NextIncremental(stream, cursor);
  }
  if (stream == "tickets") return NextTickets(stream, "", cursor);
  if (stream == "tickets_deleted") return NextTickets(stream, "deleted", cursor);
  if (stream == "tickets_spam") return NextTickets(stream, "spam", cursor);
  if (stream == "tickets_reconcile") return NextReconcile(cursor);
  if (stream == "solutions") return NextSolutions(cursor);
  std::string known;
  for (const auto& name : AllStreams()) known += (known.empty() ? "" : ", ") + name;
  return Error(InvalidArgument("freshdesk has no stream '" + stream + "'; streams: " + known));
}

namespace {

// Percent-encodes everything but RFC 3986's unreserved characters (a query parameter's value).
std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

}  // namespace

Result<std::optional<int64_t>> FreshdeskSource::CountRemaining(const std::string& stream, const json& cursor) {
  if (stream == "settings") return std::optional<int64_t>(1);
  if (stream == "tickets_reconcile") {
    // Mirrors NextReconcile: the first run only records the time; a sweep not due reads nothing.
    if (cursor.is_null() || known_ == nullptr) return std::optional<int64_t>(0);
    if (cursor.is_object() && !cursor.contains("sweep_started_at")) {
      auto last = JsonTime(cursor, "last_sweep_started_at");
      if (last && NowUnix() - *last < options_.reconcile_interval.count()) return std::optional<int64_t>(0);
    }
    return std::optional<int64_t>();
  }
  if (stream != "tickets") return std::optional<int64_t>();
  ASSIGN_OR_RETURN(ListCursor window, ListCursor::Parse(cursor, start_ts_, kMaxPerPage, stream));
  const std::string day = FormatTimestamp(std::max(window.window_start, window.max_ts)).substr(0, 10);
  const std::string path = "search/tickets?query=" + UrlEncode("\"updated_at:>'" + day + "'\"");
  ASSIGN_OR_RETURN(FreshdeskPage response, client_->Get(path));
  auto total = JsonInt(response.body, "total");
  if (!total || *total < 0) {
    return Error(Unavailable("unexpected response from search/tickets: no 'total' in " +
                             std::string(response.body.type_name())));
  }
  return std::optional<int64_t>(*total);
}

std::optional<SourceUsage> FreshdeskSource::Usage() const {
  const net::RateGovernorStats stats = client_->governor().stats();
  SourceUsage usage;
  usage.credits = stats.credits;
  const double window = std::chrono::duration<double>(client_->governor().options().window).count();
  if (stats.total && *stats.total > 0 && window > 0) {
    usage.budget_credits_per_second = *stats.total * client_->governor().options().budget_share / window;
  }
  return usage;
}

int64_t FreshdeskSource::NowUnix() const { return options_.now_unix ? options_.now_unix() : NowUnixSeconds(); }

Result<std::vector<json>> FreshdeskSource::GetAll(const std::string& path) {
  std::vector<json> out;
  auto response = client_->Get(path);
  while (true) {
    if (!response) return Error(response.error());
    ASSIGN_OR_RETURN(const json* items, ExpectArray(*response, path));
    out.insert(out.end(), items->begin(), items->end());
    if (response->next_url.empty()) return out;
    response = client_->GetUrl(response->next_url);
  }
}

// ---- reference data ------------------------------------------------------------------------------------

Result<void> FreshdeskSource::LoadSettings(Batch* batch) {
  auto response = client_->Get("settings/helpdesk");
  if (!response) {
    if (!NotOffered(response.error())) return Error(response.error());
    settings_loaded_ = true;  // the KB is then walked in the default language only
    return {};
  }
  const json& settings = response->body;
  if (settings.is_object()) {
    if (settings.value("primary_language", json()).is_string()) {
      context_.primary_language = settings["primary_language"].get<std::string>();
    }
    supported_languages_.clear();
    if (settings.value("supported_languages", json()).is_array()) {
      for (const auto& language : settings["supported_languages"]) {
        if (language.is_string()) supported_languages_.push_back(language.get<std::string>());
      }
    }
  }
  settings_loaded_ = true;
  if (batch != nullptr) {
    auto record = MapHelpdeskSettings(settings, context_);
    if (record) {
      batch->records.push_back(std::move(*record));
    } else {
      batch->rejected.emplace_back("settings/helpdesk", record.error());
    }
  }
  return {};
}

Result<Batch> FreshdeskSource::NextSettings() {
  Batch batch;
  batch.stream = "settings";
  RETURN_IF_ERROR(LoadSettings(&batch));
  batch.done = true;
  batch.cursor = nullptr;
  return batch;
}

Result<Batch> FreshdeskSource::NextPagedReference(const std::string& stream, const json& cursor) {
  int page = static_cast<int>(JsonInt(cursor, "page").value_or(1));
  if (page < 1) return Error(InvalidArgument(stream + " cursor has a bad 'page': " + cursor.dump()));
  if (page == 1) paged_from_start_.insert(stream);
  const std::string path = stream + "?per_page=" + std::to_string(kMaxPerPage) + "&page=" + std::to_string(page);
  ASSIGN_OR_RETURN(FreshdeskPage response, client_->Get(path));
  ASSIGN_OR_RETURN(const json* items, ExpectArray(response, stream));

  Batch batch;
  batch.stream = stream;
  const bool agents = stream == "agents";
  for (const auto& item : *items) {
    auto record = agents ? MapAgent(item, context_) : MapGroup(item, context_);
    if (!record) {
      batch.rejected.emplace_back(ObjectLabel(agents ? "agent" : "group", item), record.error());
      continue;
    }
    if (auto id = JsonInt(item, "id")) (agents ? context_.agent_names : context_.group_names)[*id] = record->title;
    batch.records.push_back(std::move(*record));
  }
  if (response.next_url.empty()) {
    batch.done = true;
    // The next run reads from page 1 again (a null cursor would leave the stored one, the last page, in place).
    batch.cursor = json{{"page", 1}};
    if (paged_from_start_.count(stream) > 0) (agents ? agents_loaded_ : groups_loaded_) = true;
  } else {
    batch.cursor = json{{"page", page + 1}};
  }
  return batch;
}

Result<void> FreshdeskSource::LoadTicketFields(Batch* batch) {
  auto response = client_->Get("ticket_fields");
  if (!response) {
    if (batch == nullptr && NotOffered(response.error())) {
      ticket_fields_loaded_ = true;  // labels fall back to "status-<n>" and raw field names
      return {};
    }
    return Error(response.error());
  }
  ASSIGN_OR_RETURN(const json* fields, ExpectArray(*response, "ticket_fields"));
  LearnTicketFields(*fields, context_);
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

Result<Batch> FreshdeskSource::NextFieldDefinitions(const std::string& stream) {
  Batch batch;
  batch.stream = stream;
  batch.done = true;
  batch.cursor = nullptr;
  if (stream == "ticket_fields") {
    RETURN_IF_ERROR(LoadTicketFields(&batch));
    return batch;
  }
  auto response = client_->Get(stream);
  if (!response) {
    // An account (or plan) without this endpoint: nothing to label with, nothing lost.
    if (response.error().code() == StatusCode::kNotFound) return batch;
    return Error(response.error());
  }
  ASSIGN_OR_RETURN(const json* fields, ExpectArray(*response, stream));
  const std::string type = stream == "contact_fields" ? "contact_field" : "company_field";
  for (const auto& field : *fields) {
    auto record = MapFieldDefinition(field, type, context_);
    if (!record) {
      batch.rejected.emplace_back(ObjectLabel(type.c_str(), field), record.error());
      continue;
    }
    batch.records.push_back(std::move(*record));
  }
  return batch;
}

Result<Batch> FreshdeskSource::NextIncremental(const std::string& stream, const json& cursor) {
  ASSIGN_OR_RETURN(ListCursor window, ListCursor::Parse(cursor, start_ts_, kMaxPerPage, stream));
  const bool companies = stream == "companies";
  // Contacts take `_updated_since` (the spelling Freshdesk documents for contacts); companies `updated_since`.
  std::string path = companies ? "companies?updated_since=" : (stream == "contacts_deleted"
                                                                    ? "contacts?state=deleted&_updated_since="
                                                                    : "contacts?_updated_since=");
  path += FormatTimestamp(window.window_start) + "&per_page=" + std::to_string(window.per_page) +
          "&page=" + std::to_string(window.page);
  ASSIGN_OR_RETURN(FreshdeskPage response, client_->Get(path));
  ASSIGN_OR_RETURN(const json* items, ExpectArray(response, stream));

  Batch batch;
  batch.stream = stream;
  for (const auto& item : *items) {
    auto record = companies ? MapCompany(item, context_) : MapContact(item, context_);
    if (!record) {
      batch.rejected.emplace_back(ObjectLabel(companies ? "company" : "contact", item), record.error());
      continue;
    }
    const int64_t id = *JsonInt(item, "id");
    const int64_t ts = *ParseTimestamp(record->updated_at);  // mapping normalized it
    if (window.AlreadyEmitted(id, ts)) continue;
    window.Saw(id, ts);
    if (companies) context_.company_names[id] = record->title;
    batch.records.push_back(std::move(*record));
  }
  // The contacts and companies lists have no order_by, so a window is never restarted mid-way: it pages to
  // the end (no page cap on these lists, API.md §3), and the next run starts from the greatest updated_at.
  if (response.next_url.empty()) {
    batch.done = true;
    batch.cursor = window.NextWindow().ToJson();
  } else {
    window.page += 1;
    batch.cursor = window.ToJson();
  }
  return batch;
}

Result<void> FreshdeskSource::EnsureReferenceData() {
  if (!settings_loaded_) RETURN_IF_ERROR(LoadSettings(nullptr));
  auto load_names = [this](const char* path, std::unordered_map<int64_t, std::string>& names,
                           bool agents) -> Result<void> {
    auto all = GetAll(std::string(path) + "?per_page=" + std::to_string(kMaxPerPage));
    if (!all) {
      // A key without admin rights cannot list agents: map without names rather than fail the tickets.
      if (NotOffered(all.error())) return {};
      return Error(all.error());
    }
    for (const auto& item : *all) {
      auto id = JsonInt(item, "id");
      const json named = agents && item.is_object() ? item.value("contact", json()) : item;
      if (id && named.is_object() && named.value("name", json()).is_string()) {
        names[*id] = named["name"].get<std::string>();
      }
    }
    return {};
  };
  if (!agents_loaded_) {
    RETURN_IF_ERROR(load_names("agents", context_.agent_names, true));
    agents_loaded_ = true;
  }
  if (!groups_loaded_) {
    RETURN_IF_ERROR(load_names("groups", context_.group_names, false));
    groups_loaded_ = true;
  }
  if (!ticket_fields_loaded_) RETURN_IF_ERROR(LoadTicketFields(nullptr));
  return {};
}

// ---- tickets -------------------------------------------------------------------------------------------

namespace {

std::string TicketListPath(const std::string& filter, int64_t since, const char* order_by, bool descending,
                           int per_page, int page) {
  std::string path = "tickets?";
  if (!filter.empty()) path += "filter=" + filter + "&";
  path += "updated_since=" + FormatTimestamp(since) + "&order_by=" + order_by +
          "&order_type=" + (descending ? "desc" : "asc") + "&" + kTicketInclude +
          "&per_page=" + std::to_string(per_page) + "&page=" + std::to_string(page);
  return path;
}

}  // namespace

Result<std::vector<json>> FreshdeskSource::ListConversations(const std::string& ticket_path) {
  return GetAll(ticket_path + "/conversations?per_page=" + std::to_string(kMaxPerPage));
}

std::string FreshdeskSource::TicketPath(int64_t id, bool archived) {
  return (archived ? "tickets/archived/" : "tickets/") + std::to_string(id);
}

Result<void> FreshdeskSource::DropUnchanged(std::vector<json>& tickets) {
  if (known_ == nullptr || tickets.empty()) return {};
  const std::string prefix = config_.tenant_id + "_freshdesk_";
  std::vector<std::string> ids;
  ids.reserve(tickets.size());
  for (const json& ticket : tickets) ids.push_back(prefix + std::to_string(*JsonInt(ticket, "id")));
  ASSIGN_OR_RETURN(std::vector<KnownRecord> stored, known_->Lookup(ids));
  if (stored.empty()) return {};
  std::unordered_map<std::string, const KnownRecord*> by_id;
  for (const KnownRecord& entry : stored) by_id[entry.id] = &entry;
  std::vector<json> changed;
  changed.reserve(tickets.size());
  for (size_t i = 0; i < tickets.size(); ++i) {
    auto it = by_id.find(ids[i]);
    if (it != by_id.end()) {
      auto updated = NormalizeTimestamp(tickets[i].value("updated_at", std::string()));
      const bool unchanged =
          updated && *updated == it->second->updated_at && TicketState(tickets[i]) == it->second->state;
      if (unchanged) continue;
    }
    changed.push_back(std::move(tickets[i]));
  }
  tickets = std::move(changed);
  return {};
}

Result<void> FreshdeskSource::AppendTicket(const json& list_item, bool archived, Batch* batch) {
  return AppendTickets({list_item}, archived, batch);
}

Result<void> FreshdeskSource::AppendTickets(std::vector<json> items, bool archived, Batch* batch) {
  // Views (attachments, company name) and threads are fetched a group of tickets at a time: the client runs
  // them concurrently up to MAX_CONCURRENT_REQUESTS, under the account's rate governor. A group, not the
  // whole page, so the parsed threads held at once are a few tickets' (whole pages of parsed threads put
  // ~5 MB on a sync's peak).
  const size_t group = static_cast<size_t>(std::max(8, 4 * client_->max_concurrent_requests()));
  for (size_t first = 0; first < items.size(); first += group) {
    const size_t end = std::min(items.size(), first + group);
    std::vector<std::string> view_paths;
    std::vector<std::string> thread_paths;
    for (size_t i = first; i < end; ++i) {
      const std::string path = TicketPath(*JsonInt(items[i], "id"), archived);  // callers checked the id
      view_paths.push_back(archived ? path : path + "?include=company");
      thread_paths.push_back(path + "/conversations?per_page=" + std::to_string(kMaxPerPage));
    }
    std::vector<Result<FreshdeskPage>> views = client_->GetMany(view_paths);
    std::vector<Result<std::vector<ApiItem>>> threads = client_->GetAllPagesMany(thread_paths);
    for (size_t i = first; i < end; ++i) {
      const size_t k = i - first;
      RETURN_IF_ERROR(AssembleTicket(std::move(items[i]), archived, view_paths[k], std::move(views[k]),
                                     std::move(threads[k]), batch));
    }
  }
  return {};
}

Result<void> FreshdeskSource::AssembleTicket(json list_item, bool archived, const std::string& view_path,
                                             Result<FreshdeskPage> view, Result<std::vector<ApiItem>> listing,
                                             Batch* batch) {
  const std::string ticket_path = TicketPath(*JsonInt(list_item, "id"), archived);
  const std::string label = ObjectLabel("ticket", list_item);
  // The view carries the ticket-level attachments (the list does not) and the company name.
  json merged = std::move(list_item);
  if (view) {
    if (view->body.is_object()) {
      for (auto& [key, value] : view->body.items()) merged[key] = std::move(value);
    }
  } else if (!NotOffered(view.error())) {
    return Error(view.error());
  }
  auto mapped = MapTicket(merged, context_);
  if (!mapped) {
    batch->rejected.emplace_back(label, mapped.error());
    return {};
  }
  Record ticket = std::move(*mapped);
  const bool active = ticket.metadata.value("state", std::string()) == "active";

  std::vector<ApiItem> conversations;
  bool listed = true;
  if (listing) {
    conversations = std::move(*listing);
  } else {
    // Sub-resources of trashed tickets may answer 403, and a ticket can vanish between list and now.
    if (!NotOffered(listing.error())) return Error(listing.error());
    listed = false;
    if (active) batch->rejected.emplace_back(ticket.id + " conversations", listing.error());
  }

  if (options_.download_attachments) {
    auto refs = ParseAttachments(merged);
    if (!refs.empty()) {
      ticket.attachments = downloader_.DownloadAll(std::move(refs), [&]() -> Result<std::vector<AttachmentRef>> {
        ASSIGN_OR_RETURN(FreshdeskPage fresh, client_->Get(view_path));
        return ParseAttachments(fresh.body);
      });
    }
  }

  std::vector<Record> conversation_records;
  std::set<std::string> listed_ids;
  for (auto& [conversation, text] : conversations) {
    auto record = MapConversation(conversation, ticket, context_, std::move(text));
    if (!record) {
      batch->rejected.emplace_back(ObjectLabel("conversation", conversation), record.error());
      continue;
    }
    listed_ids.insert(record->id);
    if (options_.download_attachments) {
      auto refs = ParseAttachments(conversation);
      if (!refs.empty()) {
        const json conversation_id = conversation.value("id", json());
        record->attachments =
            downloader_.DownloadAll(std::move(refs), [&]() -> Result<std::vector<AttachmentRef>> {
              ASSIGN_OR_RETURN(std::vector<json> fresh, ListConversations(ticket_path));
              for (const auto& c : fresh) {
                if (c.is_object() && c.value("id", json()) == conversation_id) return ParseAttachments(c);
              }
              return std::vector<AttachmentRef>{};
            });
      }
    }
    conversation_records.push_back(std::move(*record));
  }

  // Conversations the store holds for this ticket that Freshdesk no longer lists were deleted.
  if (listed && known_ != nullptr) {
    ASSIGN_OR_RETURN(std::vector<KnownRecord> stored, known_->Children(ticket.id));
    for (const KnownRecord& child : stored) {
      if (listed_ids.count(child.id) == 0) batch->removed_ids.push_back(child.id);
    }
  }

  batch->records.push_back(std::move(ticket));
  for (Record& record : conversation_records) batch->records.push_back(std::move(record));
  return {};
}

Result<Batch> FreshdeskSource::NextTickets(const std::string& stream, const std::string& filter,
                                           const json& cursor) {
  // The cursor handed back is usually the one this process returned last: reuse its parsed form (its id
  // sets can hold tens of thousands of ids while a bulk-edited second is split).
  ListCursor window;
  auto cached = window_cache_.find(stream);
  if (cached != window_cache_.end() && cached->second.first == cursor) {
    window = std::move(cached->second.second);
    window_cache_.erase(cached);
  } else {
    ASSIGN_OR_RETURN(window, ListCursor::Parse(cursor, start_ts_, per_page_, stream));
  }
  RETURN_IF_ERROR(EnsureReferenceData());
  Result<Batch> result = window.splitting ? NextTicketSplit(stream, filter, std::move(window))
                                          : NextTicketWindow(stream, filter, std::move(window));
  if (result && pending_window_) {
    window_cache_[stream] = {result->cursor, std::move(*pending_window_)};
  }
  pending_window_.reset();
  return result;
}

void FreshdeskSource::SetTicketCursor(Batch& batch, ListCursor next) {
  batch.cursor = next.ToJson();
  pending_window_ = std::move(next);
}

Result<Batch> FreshdeskSource::NextTicketWindow(const std::string& stream, const std::string& filter,
                                                ListCursor window) {

  Batch batch;
  batch.stream = stream;
  auto response = client_->Get(
      TicketListPath(filter, window.window_start, "updated_at", false, window.per_page, window.page));
  if (!response) {
    if (!IsPageCap(response.error())) return Error(response.error());
    // The cap arrived before the page count said it would: the window ends at what it emitted.
    SetTicketCursor(batch, window.AtPageCap());
    return batch;
  }
  if (auto listed = ExpectArray(*response, stream); !listed) return Error(listed.error());
  std::vector<json> fresh;  // new or changed: read completely; moved out of the page
  for (json& ticket : response->body) {
    auto id = JsonInt(ticket, "id");
    auto ts = JsonTime(ticket, "updated_at");
    if (!id || !ts) {
      auto rejected = MapTicket(ticket, context_);  // names the missing field
      batch.rejected.emplace_back(ObjectLabel("ticket", ticket),
                                  rejected ? InvalidRecord("Freshdesk ticket: unreadable id or updated_at")
                                           : rejected.error());
      continue;
    }
    if (window.AlreadyEmitted(*id, *ts)) continue;  // emitted by the previous window
    window.Saw(*id, *ts);
    fresh.push_back(std::move(ticket));
  }
  RETURN_IF_ERROR(DropUnchanged(fresh));
  RETURN_IF_ERROR(AppendTickets(std::move(fresh), false, &batch));

  if (response->next_url.empty()) {
    batch.done = true;
    SetTicketCursor(batch, window.NextWindow());
  } else if (window.page >= options_.max_ticket_pages) {
    ListCursor next = window.AtPageCap();
    if (next.splitting) {
      log::Info("tickets window stuck inside one second; splitting it by created_at",
                {{"stream", stream}, {"second", FormatTimestamp(window.window_start)}});
    }
    SetTicketCursor(batch, std::move(next));
  } else {
    window.page += 1;
    SetTicketCursor(batch, std::move(window));
  }
  return batch;
}

Result<Batch> FreshdeskSource::NextTicketSplit(const std::string& stream, const std::string& filter,
                                               ListCursor window) {
  Batch batch;
  batch.stream = stream;
  const int64_t second = window.window_start;
  auto cannot_split = [&]() {
    return Error(Internal("more than " + std::to_string(2 * options_.max_ticket_pages) + " pages of " + stream +
                          " share updated_at " + FormatTimestamp(second) +
                          "; the created_at split cannot reach them all"));
  };
  auto response = client_->Get(TicketListPath(filter, second, "created_at", window.split_descending,
                                              window.per_page, window.split_page));
  bool at_cap = false;
  bool more = false;
  bool met = false;
  if (!response) {
    if (!IsPageCap(response.error())) return Error(response.error());
    at_cap = true;
  } else {
    if (auto listed = ExpectArray(*response, stream); !listed) return Error(listed.error());
    std::vector<json> fresh;  // moved out of the page
    for (json& ticket : response->body) {
      auto id = JsonInt(ticket, "id");
      auto ts = JsonTime(ticket, "updated_at");
      auto created = JsonTime(ticket, "created_at");
      if (!id || !ts || !created) {
        batch.rejected.emplace_back(ObjectLabel("ticket", ticket),
                                    InvalidRecord("Freshdesk ticket: unreadable id, updated_at or created_at"));
        continue;
      }
      if (window.split_descending && window.has_asc_last &&
          (*id == window.asc_last_id || *created < window.asc_last_created)) {
        met = true;  // the descending pass reached what the ascending pass covered
      }
      if (!window.split_descending) {
        window.has_asc_last = true;
        window.asc_last_id = *id;
        window.asc_last_created = *created;
      }
      // Later seconds are left to the window that follows the split.
      if (*ts != second || window.max_ids.count(*id) > 0) continue;
      window.Saw(*id, *ts);
      fresh.push_back(std::move(ticket));
    }
    RETURN_IF_ERROR(DropUnchanged(fresh));
    RETURN_IF_ERROR(AppendTickets(std::move(fresh), false, &batch));
    more = !response->next_url.empty();
    at_cap = more && window.split_page >= options_.max_ticket_pages;
  }

  if (!more && !at_cap) {
    SetTicketCursor(batch, window.AfterSplit());  // this pass saw every ticket from `second` on
  } else if (window.split_descending && met) {
    SetTicketCursor(batch, window.AfterSplit());
  } else if (at_cap) {
    if (window.split_descending || !window.has_asc_last) return cannot_split();
    window.split_descending = true;
    window.split_page = 1;
    SetTicketCursor(batch, std::move(window));
  } else {
    window.split_page += 1;
    SetTicketCursor(batch, std::move(window));
  }
  return batch;
}

// ---- reconciliation sweep ------------------------------------------------------------------------------

Result<Batch> FreshdeskSource::NextReconcile(const json& cursor) {
  Batch batch;
  batch.stream = "tickets_reconcile";
  batch.done = true;
  const int64_t now = NowUnix();
  if (cursor.is_null()) {
    // The first sync just read every ticket: the first sweep is due one interval from now.
    batch.cursor = json{{"last_sweep_started_at", FormatTimestamp(now)}};
    return batch;
  }
  if (!cursor.is_object()) {
    return Error(InvalidArgument("tickets_reconcile cursor is not a JSON object: " + cursor.dump()));
  }
  batch.cursor = cursor;
  if (known_ == nullptr) return batch;  // no store view: nothing to reconcile against

  json state = cursor;
  if (!state.contains("sweep_started_at")) {
    auto last = JsonTime(state, "last_sweep_started_at");
    if (last && now - *last < options_.reconcile_interval.count()) return batch;  // not due
    state["sweep_started_at"] = FormatTimestamp(now);
    state["after_id"] = "";
  }
  const int budget = options_.reconcile_max_probes - reconcile_probes_;
  if (budget <= 0) {
    batch.cursor = state;  // resumes next run, where it stopped
    return batch;
  }
  const std::string after_id = state.value("after_id", std::string());
  ASSIGN_OR_RETURN(std::vector<KnownRecord> entries,
                   known_->List("ticket", after_id, static_cast<size_t>(std::min(budget, options_.reconcile_batch))));
  if (entries.empty()) {
    batch.cursor = json{{"last_sweep_started_at", state["sweep_started_at"]}};  // sweep complete
    return batch;
  }
  const std::string prefix = config_.tenant_id + "_freshdesk_";
  for (const KnownRecord& entry : entries) {
    state["after_id"] = entry.id;
    if (entry.id.rfind(prefix, 0) != 0) continue;
    const std::string number = entry.id.substr(prefix.size());
    ++reconcile_probes_;
    auto view = client_->Get("tickets/" + number + "?include=company");
    if (view) {
      if (!JsonInt(view->body, "id")) continue;
      auto updated = NormalizeTimestamp(view->body.value("updated_at", std::string()));
      if (TicketState(view->body) != entry.state || !updated || *updated != entry.updated_at) {
        RETURN_IF_ERROR(AppendTicket(view->body, false, &batch));
      }
      continue;
    }
    if (view.error().code() == StatusCode::kPermissionDenied) continue;
    if (view.error().code() != StatusCode::kNotFound) return Error(view.error());
    // Hard-deleted, or archived (archived tickets 404 on the live path, API.md §6.4).
    ++reconcile_probes_;
    auto archived = client_->Get("tickets/archived/" + number);
    if (archived) {
      if (entry.state != "archived" && JsonInt(archived->body, "id")) {
        json ticket = archived->body;
        ticket["archived"] = true;
        RETURN_IF_ERROR(AppendTicket(ticket, true, &batch));
      }
      continue;
    }
    if (archived.error().code() != StatusCode::kNotFound) return Error(archived.error());
    batch.removed_ids.push_back(entry.id);
    ASSIGN_OR_RETURN(std::vector<KnownRecord> children, known_->Children(entry.id));
    for (const KnownRecord& child : children) batch.removed_ids.push_back(child.id);
  }
  batch.done = reconcile_probes_ >= options_.reconcile_max_probes;
  batch.cursor = state;
  return batch;
}

// ---- refetch (retry-failed) ----------------------------------------------------------------------------

namespace {

// What a dead letter's record id names.
struct RefetchTarget {
  std::string kind;  // "ticket", "article", "article_draft", "contact", "company", "conversation", …
  int64_t id = 0;
  std::string language;  // an article translation's language; "" = primary
};

std::optional<int64_t> ParseId(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

Result<RefetchTarget> ParseRefetchTarget(const std::string& tenant_id, const std::string& record_id) {
  auto unreadable = [&]() {
    return Error(
        InvalidRecord("freshdesk cannot re-read '" + record_id +
                      "': not a record id or '<type> <id>' of a ticket, article, contact or company"));
  };
  std::string text = record_id;
  // An attachment or a thread that failed is re-read through its parent.
  if (auto slash = text.find("/attachment-"); slash != std::string::npos) text.resize(slash);
  constexpr std::string_view kThread = " conversations";
  if (text.size() > kThread.size() &&
      text.compare(text.size() - kThread.size(), kThread.size(), kThread) == 0) {
    text.resize(text.size() - kThread.size());
  }
  RefetchTarget target;
  // "<type> <platform id>": a record that failed mapping.
  if (auto space = text.find(' '); space != std::string::npos) {
    target.kind = text.substr(0, space);
    auto id = ParseId(std::string_view(text).substr(space + 1));
    if (!id) return unreadable();
    target.id = *id;
    return target;
  }
  const std::string prefix = tenant_id + "_freshdesk_";
  if (text.rfind(prefix, 0) != 0) return unreadable();
  const std::string original = text.substr(prefix.size());
  if (auto id = ParseId(original)) {
    target.kind = "ticket";
    target.id = *id;
    return target;
  }
  // "<kind>-<id>" or, for a translated article, "<kind>-<id>-<language>".
  const size_t dash = original.find('-');
  if (dash == std::string::npos) return unreadable();
  target.kind = original.substr(0, dash);
  std::string rest = original.substr(dash + 1);
  if (auto lang = rest.find('-'); lang != std::string::npos) {
    target.language = rest.substr(lang + 1);
    rest.resize(lang);
  }
  auto id = ParseId(rest);
  if (!id) return unreadable();
  target.id = *id;
  return target;
}

}  // namespace

Result<void> FreshdeskSource::RefetchTicket(int64_t id, Batch* batch) {
  // The list's includes (description, requester, stats), so the ticket maps as a sync would map it.
  auto live = client_->Get(TicketPath(id, false) + "?include=requester,stats");
  if (live) {
    if (!JsonInt(live->body, "id")) {
      return Error(Unavailable("unexpected response from " + TicketPath(id, false) + ": no ticket id"));
    }
    return AppendTicket(live->body, false, batch);
  }
  if (live.error().code() != StatusCode::kNotFound) return Error(live.error());
  // Archived tickets answer 404 on the live path (API.md §6.4).
  auto archived = client_->Get(TicketPath(id, true));
  if (!archived) {
    if (archived.error().code() == StatusCode::kNotFound) {
      return Error(NotFound("freshdesk ticket " + std::to_string(id) + " no longer exists"));
    }
    return Error(archived.error());
  }
  json ticket = archived->body;
  if (!ticket.is_object() || !JsonInt(ticket, "id")) {
    return Error(Unavailable("unexpected response from " + TicketPath(id, true) + ": no ticket id"));
  }
  ticket["archived"] = true;
  return AppendTicket(ticket, true, batch);
}

Result<void> FreshdeskSource::RefetchConversation(int64_t id, Batch* batch) {
  const std::string number = std::to_string(id);
  const std::string prefix = config_.tenant_id + "_freshdesk_";
  const std::string record_id = prefix + QualifiedOriginalId("conversation", number);
  // Freshdesk has no endpoint for one conversation: it comes with its ticket's thread, and only the stored
  // conversation says which ticket that is.
  auto cannot = [&](const std::string& why) {
    return Error(InvalidRecord("freshdesk cannot re-read conversation " + number +
                               ": it is read with its ticket's thread, and " + why));
  };
  if (known_ == nullptr) return cannot("no view of the stored records is attached to say which ticket");
  ASSIGN_OR_RETURN(std::vector<KnownRecord> stored, known_->Lookup({record_id}));
  if (stored.empty() || stored.front().parent_id.empty()) {
    return cannot("the store holds no row of it to say which ticket (it was never stored, or the store is "
                  "vector-only and keeps no conversation rows)");
  }
  const std::string& parent = stored.front().parent_id;
  std::optional<int64_t> ticket;
  if (parent.rfind(prefix, 0) == 0) ticket = ParseId(std::string_view(parent).substr(prefix.size()));
  if (!ticket) return cannot("its stored parent '" + parent + "' is not a ticket id");
  auto read = RefetchTicket(*ticket, batch);
  if (!read) {
    if (read.error().code() == StatusCode::kNotFound) {
      return Error(NotFound("freshdesk conversation " + number + ": its ticket " + std::to_string(*ticket) +
                            " no longer exists"));
    }
    return Error(read.error());
  }
  // Deleted from the thread, the conversation is among the removed ids (the thread is diffed against the store).
  const std::string label = "conversation " + number;
  auto held = [&] {
    for (const Record& record : batch->records) {
      if (record.id == record_id) return true;
    }
    for (const auto& [rejected_id, status] : batch->rejected) {
      if (rejected_id == label) return true;
    }
    return std::find(batch->removed_ids.begin(), batch->removed_ids.end(), record_id) != batch->removed_ids.end();
  };
  if (!held()) {
    // The ticket or its thread could not be read as it is now: nothing was retried.
    std::string why = "it is not in the thread Freshdesk lists now";
    if (!batch->rejected.empty()) {
      why = batch->rejected.front().first + ": " + batch->rejected.front().second.ToString();
    }
    return Error(Unavailable("freshdesk conversation " + number + " did not come with its ticket " +
                             std::to_string(*ticket) + " (" + why + ")"));
  }
  return {};
}

Result<void> FreshdeskSource::RefetchArticle(int64_t id, const std::string& language, Batch* batch) {
  const std::string translation = language == context_.primary_language ? "" : language;
  const std::string path =
      "solutions/articles/" + std::to_string(id) + (translation.empty() ? "" : "/" + translation);
  auto response = client_->Get(path);
  if (!response) {
    if (response.error().code() == StatusCode::kNotFound) {
      return Error(NotFound("freshdesk article " + std::to_string(id) +
                            (translation.empty() ? "" : " (" + translation + ")") + " no longer exists"));
    }
    return Error(response.error());
  }
  const json& article = response->body;
  // The folder gives the article its visibility and names, as the KB walk does; the category name then comes
  // from the article's own hierarchy.
  json folder = json::object();
  if (auto folder_id = JsonInt(article, "folder_id")) {
    auto fetched = client_->Get("solutions/folders/" + std::to_string(*folder_id));
    if (fetched && fetched->body.is_object()) {
      folder = fetched->body;
    } else if (!fetched && fetched.error().code() != StatusCode::kNotFound) {
      return Error(fetched.error());
    }
  }
  auto record = MapArticle(article, folder, context_, translation);
  if (!record) {
    batch->rejected.emplace_back(ObjectLabel("article", article), record.error());
    return {};
  }
  if (options_.download_attachments) {
    auto refs = ParseAttachments(article);
    if (!refs.empty()) {
      record->attachments =
          downloader_.DownloadAll(std::move(refs), [&]() -> Result<std::vector<AttachmentRef>> {
            ASSIGN_OR_RETURN(FreshdeskPage fresh, client_->Get(path));
            return ParseAttachments(fresh.body);
          });
    }
  }
  batch->records.push_back(std::move(*record));
  return {};
}

Result<Batch> FreshdeskSource::Refetch(const std::string& stream, const std::string& record_id) {
  ASSIGN_OR_RETURN(RefetchTarget target, ParseRefetchTarget(config_.tenant_id, record_id));
  RETURN_IF_ERROR(EnsureReferenceData());
  Batch batch;
  batch.stream = stream;
  batch.cursor = nullptr;
  batch.done = true;
  const std::string id = std::to_string(target.id);
  if (target.kind == "ticket") {
    RETURN_IF_ERROR(RefetchTicket(target.id, &batch));
  } else if (target.kind == "article" || target.kind == "article_draft") {
    RETURN_IF_ERROR(RefetchArticle(target.id, target.language, &batch));
  } else if (target.kind == "contact" || target.kind == "company") {
    const bool company = target.kind == "company";
    auto response = client_->Get((company ? "companies/" : "contacts/") + id);
    if (!response) {
      if (response.error().code() == StatusCode::kNotFound) {
        return Error(NotFound("freshdesk " + target.kind + " " + id + " no longer exists"));
      }
      return Error(response.error());
    }
    auto record = company ? MapCompany(response->body, context_) : MapContact(response->body, context_);
    if (!record) {
      batch.rejected.emplace_back(target.kind + " " + id, record.error());
    } else {
      batch.records.push_back(std::move(*record));
    }
  } else if (target.kind == "conversation") {
    RETURN_IF_ERROR(RefetchConversation(target.id, &batch));
  } else {
    return Error(InvalidRecord("freshdesk cannot re-read " + target.kind + " " + id + " (" + record_id +
                               ") on its own: its stream re-reads it whole on the next sync"));
  }
  return batch;
}

// ---- solutions -----------------------------------------------------------------------------------------

std::vector<std::string> FreshdeskSource::Languages() const {
  std::vector<std::string> languages = {context_.primary_language};
  for (const auto& language : supported_languages_) {
    if (std::find(languages.begin(), languages.end(), language) == languages.end()) languages.push_back(language);
  }
  return languages;
}

Result<void> FreshdeskSource::AppendSubfolders(const json& parent, const json& category, std::vector<json>* out,
                                               int depth) {
  auto count = JsonInt(parent, "sub_folders_count");
  auto id = JsonInt(parent, "id");
  if (!count || *count <= 0 || !id || depth >= kMaxFolderDepth) return {};
  auto children = GetAll("solutions/folders/" + std::to_string(*id) + "/subfolders");
  if (!children) {
    if (children.error().code() == StatusCode::kNotFound) return {};  // removed during the walk
    return Error(children.error());
  }
  for (const auto& child : *children) {
    if (!JsonInt(child, "id")) continue;
    out->push_back(WithCategory(child, category));
    RETURN_IF_ERROR(AppendSubfolders(child, category, out, depth + 1));
  }
  return {};
}

Result<std::vector<json>> FreshdeskSource::ListFolders() {
  std::vector<json> folders;
  ASSIGN_OR_RETURN(std::vector<json> categories, GetAll("solutions/categories"));
  for (const auto& category : categories) {
    auto category_id = JsonInt(category, "id");
    if (!category_id) continue;
    auto top = GetAll("solutions/categories/" + std::to_string(*category_id) + "/folders");
    if (!top) {
      if (top.error().code() == StatusCode::kNotFound) continue;
      return Error(top.error());
    }
    for (const auto& folder : *top) {
      if (!JsonInt(folder, "id")) continue;
      folders.push_back(WithCategory(folder, category));
      RETURN_IF_ERROR(AppendSubfolders(folder, category, &folders, 1));
    }
  }
  return folders;
}

Result<Batch> FreshdeskSource::NextSolutions(const json& cursor) {
  if (cursor.is_null() || (cursor.is_object() && cursor.value("complete", false))) {
    folders_.reset();  // a new walk sees the current hierarchy
    walk_from_start_ = true;
    walk_seen_.clear();
  }
  RETURN_IF_ERROR(EnsureReferenceData());
  if (!folders_) {
    ASSIGN_OR_RETURN(std::vector<json> folders, ListFolders());
    folders_ = std::move(folders);
  }
  const std::vector<json>& folders = *folders_;
  const std::vector<std::string> languages = Languages();

  size_t language_index = static_cast<size_t>(std::max<int64_t>(JsonInt(cursor, "language_index").value_or(0), 0));
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
  auto finish = [&]() -> Result<void> {
    batch.done = true;
    // The next run walks again from the start. Not null: the store keeps its previous cursor for a null one,
    // and the next run would resume at the end of this walk instead of starting a new one.
    batch.cursor = json{{"complete", true}};
    folders_.reset();
    // Articles the store holds that this complete walk did not see have disappeared.
    if (walk_from_start_ && known_ != nullptr) {
      std::sort(walk_seen_.begin(), walk_seen_.end());
      for (const char* type : {"article", "article_draft"}) {
        std::string after;
        for (;;) {
          ASSIGN_OR_RETURN(std::vector<KnownRecord> stored, known_->List(type, after, 1000));
          if (stored.empty()) break;
          for (const KnownRecord& entry : stored) {
            if (!std::binary_search(walk_seen_.begin(), walk_seen_.end(), Hash128Of(entry.id))) {
              batch.removed_ids.push_back(entry.id);
            }
          }
          after = stored.back().id;
        }
      }
    }
    walk_from_start_ = false;
    walk_seen_ = {};  // its capacity too
    return {};
  };
  auto advance = [&](size_t next_language, size_t next_index, int next_page) -> Result<void> {
    if (next_index >= folders.size()) {
      next_language += 1;
      next_index = 0;
      next_page = 1;
    }
    if (next_language >= languages.size() || folders.empty()) return finish();
    batch.cursor = json{{"language_index", next_language},
                        {"folder_index", next_index},
                        {"folder_id", *JsonInt(folders[next_index], "id")},
                        {"page", next_page}};
    return {};
  };
  if (language_index >= languages.size() || index >= folders.size()) {
    RETURN_IF_ERROR(advance(language_index, index, 1));
    return batch;
  }

  const std::string& language = languages[language_index];
  const std::string translation = language_index == 0 ? "" : language;
  const json& folder = folders[index];
  const int64_t folder_id = *JsonInt(folder, "id");
  const std::string what = "solutions/folders/" + std::to_string(folder_id) + "/articles" +
                           (translation.empty() ? "" : "/" + translation);
  auto response = client_->Get(what + "?per_page=" + std::to_string(per_page_) + "&page=" + std::to_string(page));
  if (!response) {
    // The folder went away during the walk, or has no translation in this language.
    if (response.error().code() != StatusCode::kNotFound) return Error(response.error());
    RETURN_IF_ERROR(advance(language_index, index + 1, 1));
    return batch;
  }
  ASSIGN_OR_RETURN(const json* articles, ExpectArray(*response, what));
  std::vector<std::pair<Record, const json*>> mapped;
  for (const auto& article : *articles) {
    auto record = MapArticle(article, folder, context_, translation);
    if (!record) {
      batch.rejected.emplace_back(ObjectLabel("article", article), record.error());
      continue;
    }
    walk_seen_.push_back(Hash128Of(record->id));
    mapped.emplace_back(std::move(*record), &article);
  }
  // The KB has no updated_since: an article stored with the same updated_at is not emitted again.
  std::set<std::string> unchanged;
  if (known_ != nullptr && !mapped.empty()) {
    std::vector<std::string> ids;
    for (const auto& [record, article] : mapped) ids.push_back(record.id);
    ASSIGN_OR_RETURN(std::vector<KnownRecord> stored, known_->Lookup(ids));
    std::unordered_map<std::string, std::string> stored_updated;
    for (const auto& entry : stored) stored_updated[entry.id] = entry.updated_at;
    for (const auto& [record, article] : mapped) {
      auto it = stored_updated.find(record.id);
      if (it != stored_updated.end() && it->second == record.updated_at) unchanged.insert(record.id);
    }
  }
  for (auto& [record, article] : mapped) {
    if (unchanged.count(record.id) > 0) continue;
    if (options_.download_attachments) {
      auto refs = ParseAttachments(*article);
      if (!refs.empty()) {
        const std::string view_path = "solutions/articles/" + std::to_string(*JsonInt(*article, "id")) +
                                      (translation.empty() ? "" : "/" + translation);
        record.attachments = downloader_.DownloadAll(std::move(refs), [&]() -> Result<std::vector<AttachmentRef>> {
          ASSIGN_OR_RETURN(FreshdeskPage fresh, client_->Get(view_path));
          return ParseAttachments(fresh.body);
        });
      }
    }
    batch.records.push_back(std::move(record));
  }
  if (!response->next_url.empty()) {
    RETURN_IF_ERROR(advance(language_index, index, page + 1));
  } else {
    RETURN_IF_ERROR(advance(language_index, index + 1, 1));
  }
  return batch;
}

FreshdeskSourceOptions SourceOptionsFromConfig(const Config& config) {
  const FreshdeskSettings settings = FreshdeskSettings::FromConfig(config);
  FreshdeskSourceOptions options;
  options.attachments.max_bytes = settings.attachment_max_bytes;
  options.download_attachments = settings.attachment_max_bytes > 0;
  options.index_drafts = settings.index_drafts;
  options.reconcile_interval = std::chrono::seconds(settings.reconcile_interval);
  options.reconcile_max_probes = settings.reconcile_max_probes;
  return options;
}

Result<std::unique_ptr<Source>> CreateSource(const Config& config, net::HttpClient& http) {
  ASSIGN_OR_RETURN(std::unique_ptr<FreshdeskSource> source,
                   FreshdeskSource::Create(config, http, {}, SourceOptionsFromConfig(config)));
  return std::unique_ptr<Source>(std::move(source));
}

}  // namespace deskpipe::freshdesk
