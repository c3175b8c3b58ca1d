#include "platforms/zendesk/zendesk_source.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/hash.h"
#include "core/ids.h"
#include "core/time.h"
#include "net/url.h"
#include "platforms/zendesk/zendesk_settings.h"

namespace deskpipe::zendesk {
namespace {

using nlohmann::json;

constexpr int kCommentPageSize = 100;                             // §6: page[size] ≤ 100
constexpr int kMaxExportPerPage = 1000;                           // §2
constexpr int64_t kDefaultAttachmentMaxBytes = 20 * 1024 * 1024;  // attachment_max_bytes' default

// Export cursors are base64 ('+', '/', '='): percent-encode everything but unreserved characters.
std::string PercentEncode(const std::string& text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string CursorString(const json& cursor, const char* key) {
  if (!cursor.is_object()) return "";
  auto it = cursor.find(key);
  return it != cursor.end() && it->is_string() ? it->get<std::string>() : "";
}

// The array `key` of `page`, or Unavailable naming what was read.
Result<json> Items(json& page, const std::string& key, const std::string& what) {
  auto it = page.find(key);
  if (it == page.end() || !it->is_array()) {
    return Error(Unavailable("Zendesk answered " + what + " without a '" + key + "' array"));
  }
  return std::move(*it);
}

std::string Rejected(const char* kind, const json& object) {
  const json id = object.is_object() ? object.value("id", json()) : json();
  return std::string(kind) + " " + (id.is_null() ? std::string("(no id)") : id.dump());
}

}  // namespace

Result<std::unique_ptr<ZendeskSource>> ZendeskSource::Create(const Config& config, net::HttpClient& http,
                                                             ZendeskClientOptions options) {
  ASSIGN_OR_RETURN(std::string api_base, ResolveZendeskApiBase(config));
  auto start = ParseTimestamp(config.start_date);
  if (!start) {
    return Error(InvalidArgument("DESKPIPE_START_DATE '" + config.start_date +
                                 "' is not a timestamp: " + start.error().message()));
  }
  ApplyConfigToClientOptions(config, &options);
  const ZendeskSettings settings = ZendeskSettings::FromConfig(config);
  auto client =
      std::make_unique<ZendeskClient>(api_base, settings.email, settings.api_token, http, std::move(options));
  MappingContext context;
  context.tenant_id = config.tenant_id;
  context.account_url = AccountUrlFromApiBase(api_base);
  const int per_page = std::clamp(config.collection_batch_size, 1, kMaxExportPerPage);
  const int* max_bytes = config.components.Get<int>("attachment_max_bytes");
  return std::unique_ptr<ZendeskSource>(
      new ZendeskSource(std::move(client), http, std::move(context), std::max<int64_t>(*start, 0), per_page,
                        max_bytes ? *max_bytes : kDefaultAttachmentMaxBytes));
}

ZendeskSource::ZendeskSource(std::unique_ptr<ZendeskClient> client, net::HttpClient& http,
                             MappingContext context, int64_t start_ts, int per_page,
                             int64_t attachment_max_bytes)
    : client_(std::move(client)),
      http_(http),
      context_(std::move(context)),
      start_ts_(start_ts),
      per_page_(per_page),
      attachment_max_bytes_(attachment_max_bytes) {}

void ZendeskSource::DownloadAttachments(const json& comment, Record* record) {
  const json list = comment.value("attachments", json());
  if (!list.is_array() || list.size() != record->attachments.size()) return;
  for (size_t i = 0; i < list.size(); ++i) {
    Attachment& attachment = record->attachments[i];
    if (attachment.size > attachment_max_bytes_) {
      attachment.download_error = "not downloaded: declared size " + std::to_string(attachment.size) +
                                  " bytes exceeds the limit of " + std::to_string(attachment_max_bytes_);
      continue;
    }
    const std::string url = list[i].is_object() && list[i].value("content_url", json()).is_string()
                                ? list[i]["content_url"].get<std::string>()
                                : "";
    auto parts = net::ParseUrl(url);
    if (!parts || (parts->scheme != "http" && parts->scheme != "https")) {
      attachment.download_error = "not downloaded: no http(s) content_url";
      continue;
    }
    net::HttpRequest request;
    request.method = "GET";
    request.url = url;
    request.timeout = std::chrono::seconds(60);
    auto response = http_.Send(request);
    if (!response) {
      attachment.download_error = "download failed: " + response.error().message();
    } else if (response->status != 200) {
      attachment.download_error = "download failed: HTTP " + std::to_string(response->status);
    } else if (static_cast<int64_t>(response->body.size()) > attachment_max_bytes_) {
      attachment.download_error = "discarded: downloaded size exceeds the limit of " +
                                  std::to_string(attachment_max_bytes_) + " bytes";
    } else {
      attachment.bytes = std::move(response->body);
      attachment.content_hash = HashHex(attachment.bytes);
      attachment.download_error.clear();
    }
  }
}

std::vector<std::string> ZendeskSource::Streams() const {
  return {"groups", "ticket_fields", "organizations", "users", "tickets", "articles"};
}

Result<Batch> ZendeskSource::Next(const std::string& stream, const json& cursor) {
  if (stream == "groups") return NextGroups();
  if (stream == "ticket_fields") return NextTicketFields();
  if (stream == "organizations") return NextOrganizations();
  if (stream == "users") return NextUsers(cursor);
  if (stream == "tickets") return NextTickets(cursor);
  if (stream == "articles") return NextArticles(cursor);
  return Error(InvalidArgument("the Zendesk platform has no stream '" + stream + "'"));
}

std::optional<SourceUsage> ZendeskSource::Usage() const {
  const net::RateGovernorStats stats = client_->governor().stats();
  SourceUsage usage;
  usage.credits = stats.credits;
  const double window = std::chrono::duration<double>(client_->governor().options().window).count();
  if (stats.total && *stats.total > 0 && window > 0) {
    usage.budget_credits_per_second = *stats.total * client_->governor().options().budget_share / window;
  }
  return usage;
}

Result<std::vector<json>> ZendeskSource::ListAll(const std::string& path, const std::string& key) {
  std::vector<json> out;
  ASSIGN_OR_RETURN(json page, client_->Get(path));
  while (true) {
    ASSIGN_OR_RETURN(json items, Items(page, key, path));
    for (auto& item : items) out.push_back(std::move(item));
    // Cursor pagination (meta.has_more, links.next), else offset pagination's next_page.
    std::string next;
    if (page.contains("meta") && page["meta"].is_object()) {
      if (page["meta"].value("has_more", false) && page.contains("links") && page["links"].is_object()) {
        next = CursorString(page["links"], "next");
      }
    } else {
      next = CursorString(page, "next_page");
    }
    if (next.empty()) return out;
    ASSIGN_OR_RETURN(page, client_->GetUrl(next));
  }
}

Result<Batch> ZendeskSource::NextGroups() {
  Batch batch{.stream = "groups"};
  ASSIGN_OR_RETURN(std::vector<json> groups, ListAll("groups.json?page[size]=100", "groups"));
  for (const auto& group : groups) {
    auto record = MapGroup(group, context_);
    if (!record) {
      batch.rejected.emplace_back(Rejected("group", group), record.error());
      continue;
    }
    if (auto id = group.find("id"); id != group.end() && id->is_number_integer()) {
      context_.group_names[id->get<int64_t>()] = record->title;
    }
    batch.records.push_back(std::move(*record));
  }
  batch.cursor = {{"complete", true}};  // a full list: read whole again next run
  batch.done = true;
  return batch;
}

Result<Batch> ZendeskSource::NextTicketFields() {
  Batch batch{.stream = "ticket_fields"};
  ASSIGN_OR_RETURN(std::vector<json> fields, ListAll("ticket_fields.json", "ticket_fields"));
  for (const auto& field : fields) {
    auto record = MapTicketField(field, context_);
    if (!record) {
      batch.rejected.emplace_back(Rejected("ticket_field", field), record.error());
      continue;
    }
    LearnTicketField(field, context_);
    batch.records.push_back(std::move(*record));
  }
  batch.cursor = {{"complete", true}};
  batch.done = true;
  return batch;
}

Result<Batch> ZendeskSource::NextOrganizations() {
  Batch batch{.stream = "organizations"};
  ASSIGN_OR_RETURN(std::vector<json> organizations,
                   ListAll("organizations.json?page[size]=100", "organizations"));
  for (const auto& organization : organizations) {
    auto record = MapOrganization(organization, context_);
    if (!record) {
      batch.rejected.emplace_back(Rejected("organization", organization), record.error());
      continue;
    }
    if (auto id = organization.find("id"); id != organization.end() && id->is_number_integer()) {
      context_.organization_names[id->get<int64_t>()] = record->title;
    }
    batch.records.push_back(std::move(*record));
  }
  batch.cursor = {{"complete", true}};
  batch.done = true;
  return batch;
}

Result<json> ZendeskSource::ExportPage(const std::string& resource, const json& cursor, Batch* batch) {
  const std::string after = CursorString(cursor, "after_cursor");
  std::string path = "incremental/" + resource + "/cursor.json?per_page=" + std::to_string(per_page_);
  path += after.empty() ? "&start_time=" + std::to_string(start_ts_) : "&cursor=" + PercentEncode(after);
  ASSIGN_OR_RETURN(json page, client_->Get(path));
  const std::string next = CursorString(page, "after_cursor");
  // An empty page may carry no new cursor: keep the one we have rather than restart from start_time.
  batch->cursor = json{{"after_cursor", next.empty() ? after : next}};
  if (next.empty() && after.empty()) batch->cursor = nullptr;
  batch->done = page.value("end_of_stream", true);
  return page;
}

Result<Batch> ZendeskSource::NextUsers(const json& cursor) {
  Batch batch{.stream = "users"};
  ASSIGN_OR_RETURN(json page, ExportPage("users", cursor, &batch));
  ASSIGN_OR_RETURN(json users, Items(page, "users", "the users export"));
  for (const auto& user : users) {
    auto record = MapUser(user, context_);
    if (!record) {
      batch.rejected.emplace_back(Rejected("user", user), record.error());
      continue;
    }
    if (auto id = user.find("id"); id != user.end() && id->is_number_integer()) {
      const json& role = record->metadata["role"];
      context_.users[id->get<int64_t>()] = {record->title, role.is_string() ? role.get<std::string>() : ""};
    }
    batch.records.push_back(std::move(*record));
  }
  return batch;
}

Result<void> ZendeskSource::LearnUsers(const std::vector<int64_t>& ids) {
  for (int64_t id : ids) {
    if (context_.users.count(id)) continue;
    auto page = client_->Get("users/" + std::to_string(id) + ".json");
    if (!page && page.error().code() == StatusCode::kNotFound) {
      context_.users[id] = {};  // gone: not asked again
      continue;
    }
    if (!page) return Error(page.error());
    const json user = page->value("user", json::object());
    if (!user.is_object())
      return Error(Unavailable("Zendesk answered users/" + std::to_string(id) + " without a user"));
    context_.users[id] = {user.value("name", json()).is_string() ? user["name"].get<std::string>() : "",
                          user.value("role", json()).is_string() ? user["role"].get<std::string>() : ""};
  }
  return {};
}

Result<void> ZendeskSource::Tombstone(const std::string& ticket_id, Batch* batch) {
  batch->removed_ids.push_back(ticket_id);
  if (known_ == nullptr) return {};
  ASSIGN_OR_RETURN(std::vector<KnownRecord> children, known_->Children(ticket_id));
  for (const auto& child : children) batch->removed_ids.push_back(child.id);
  return {};
}

Result<Batch> ZendeskSource::NextTickets(const json& cursor) {
  Batch batch{.stream = "tickets"};
  ASSIGN_OR_RETURN(json page, ExportPage("tickets", cursor, &batch));
  ASSIGN_OR_RETURN(json tickets, Items(page, "tickets", "the tickets export"));

  // What the store holds of this page's tickets: unchanged ones are skipped (§2: a system update re-exports a
  // ticket whose updated_at did not move).
  std::unordered_map<std::string, KnownRecord> stored;
  if (known_ != nullptr) {
    std::vector<std::string> ids;
    for (const auto& ticket : tickets) {
      if (auto id = ticket.find("id"); ticket.is_object() && id != ticket.end() && id->is_number_integer()) {
        ids.push_back(TicketRecordId(context_.tenant_id, id->get<int64_t>()));
      }
    }
    ASSIGN_OR_RETURN(std::vector<KnownRecord> known, known_->Lookup(ids));
    for (auto& k : known) stored.emplace(k.id, std::move(k));
  }

  for (const auto& ticket : tickets) {
    if (ticket.is_object() && ticket.value("status", json()) == "deleted") {
      if (auto id = ticket.find("id"); id != ticket.end() && id->is_number_integer()) {
        RETURN_IF_ERROR(Tombstone(TicketRecordId(context_.tenant_id, id->get<int64_t>()), &batch));
      } else {
        batch.rejected.emplace_back(Rejected("ticket", ticket),
                                    InvalidRecord("a deleted ticket without an id"));
      }
      continue;
    }
    auto record = MapTicket(ticket, context_);
    if (!record) {
      batch.rejected.emplace_back(Rejected("ticket", ticket), record.error());
      continue;
    }
    if (auto it = stored.find(record->id);
        it != stored.end() && it->second.updated_at == record->updated_at && it->second.state == "active") {
      continue;  // unchanged since stored
    }
    // Mapped again once its requester and assignee are known (MapTicket accepted it: an object).
    std::vector<int64_t> people;
    for (const char* key : {"requester_id", "assignee_id"}) {
      if (const json id = ticket.value(key, json()); id.is_number_integer())
        people.push_back(id.get<int64_t>());
    }
    RETURN_IF_ERROR(LearnUsers(people));
    ASSIGN_OR_RETURN(*record, MapTicket(ticket, context_));
    auto comments = ListAll(
        "tickets/" + record->original_id + "/comments.json?page[size]=" + std::to_string(kCommentPageSize),
        "comments");
    if (!comments && comments.error().code() == StatusCode::kNotFound) {
      RETURN_IF_ERROR(Tombstone(record->id, &batch));  // deleted since the export page was made
      continue;
    }
    if (!comments) return Error(comments.error());
    std::vector<int64_t> authors;
    for (const auto& comment : *comments) {
      if (!comment.is_object()) continue;  // MapComment rejects it below
      if (const json id = comment.value("author_id", json()); id.is_number_integer()) {
        authors.push_back(id.get<int64_t>());
      }
    }
    RETURN_IF_ERROR(LearnUsers(authors));
    Record ticket_record = std::move(*record);
    std::vector<Record> thread;
    for (const auto& comment : *comments) {
      auto mapped = MapComment(comment, ticket_record, context_);
      if (!mapped) {
        batch.rejected.emplace_back(Rejected("conversation", comment), mapped.error());
        continue;
      }
      DownloadAttachments(comment, &*mapped);
      thread.push_back(std::move(*mapped));
    }
    batch.records.push_back(std::move(ticket_record));
    for (auto& r : thread) batch.records.push_back(std::move(r));
  }
  return batch;
}

Result<Batch> ZendeskSource::NextArticles(const json& cursor) {
  Batch batch{.stream = "articles"};
  int64_t start = start_ts_;
  if (cursor.is_object() && cursor.contains("start_time") && cursor["start_time"].is_number_integer()) {
    start = cursor["start_time"].get<int64_t>();
  }
  const std::string path = "help_center/incremental/articles.json?start_time=" + std::to_string(start);
  ASSIGN_OR_RETURN(json page, client_->Get(path));
  ASSIGN_OR_RETURN(json articles, Items(page, "articles", "the Help Center article export"));
  const json end_time = page.value("end_time", json());
  const bool more = page.value("next_page", json()).is_string() && articles.size() >= kMaxExportPerPage;
  // An end_time that does not move would read the same page forever: end the stream there instead.
  batch.done = !more || !end_time.is_number_integer() || end_time.get<int64_t>() <= start;
  batch.cursor = json{{"start_time", end_time.is_number_integer() ? end_time.get<int64_t>() : start}};

  for (const auto& article : articles) {
    const json id = article.is_object() ? article.value("id", json()) : json();
    if (!id.is_number_integer()) {
      batch.rejected.emplace_back(Rejected("article", article),
                                  InvalidRecord("a Zendesk article without an id"));
      continue;
    }
    auto translations =
        ListAll("help_center/articles/" + id.dump() + "/translations.json?page[size]=100", "translations");
    if (!translations && translations.error().code() == StatusCode::kNotFound)
      continue;  // archived meanwhile
    if (!translations) return Error(translations.error());
    for (const auto& translation : *translations) {
      auto record = MapArticleTranslation(translation, article, context_);
      if (!record) {
        batch.rejected.emplace_back(Rejected("article", article), record.error());
        continue;
      }
      // The other variant (published ⇄ draft) of this translation leaves the store.
      const bool draft = record->type == "article_draft";
      const std::string locale = record->metadata["language"].get<std::string>();
      const std::string source = record->metadata["source_locale"].get<std::string>();
      auto other = MakeDocumentId(context_.tenant_id, "zendesk",
                                  ArticleOriginalId(id.get<int64_t>(), locale, source, !draft));
      if (other) batch.removed_ids.push_back(*other);
      batch.records.push_back(std::move(*record));
    }
  }
  if (batch.done && known_ != nullptr) RETURN_IF_ERROR(RemoveArchivedArticles(&batch));
  return batch;
}

Result<void> ZendeskSource::RemoveArchivedArticles(Batch* batch) {
  ASSIGN_OR_RETURN(std::vector<json> live, ListAll("help_center/articles.json?page[size]=100", "articles"));
  std::unordered_set<int64_t> live_ids;
  for (const auto& article : live) {
    if (auto id = article.find("id"); article.is_object() && id != article.end() && id->is_number_integer()) {
      live_ids.insert(id->get<int64_t>());
    }
  }
  // Stored ids sort together by prefix; other platforms' records of the tenant are skipped.
  const std::string prefix = context_.tenant_id + "_zendesk_";
  for (const std::string type : {"article", "article_draft"}) {
    const std::string id_prefix = prefix + type + "-";
    std::string after = id_prefix;
    while (true) {
      ASSIGN_OR_RETURN(std::vector<KnownRecord> stored, known_->List(type, after, 500));
      if (stored.empty()) break;
      for (const auto& record : stored) {
        if (record.id.rfind(id_prefix, 0) != 0) continue;
        // "…_article-<id>[-<locale>]"
        const std::string rest = record.id.substr(id_prefix.size());
        int64_t article_id = 0;
        auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), article_id);
        if (ec != std::errc() || ptr == rest.data()) continue;
        if (!live_ids.count(article_id)) batch->removed_ids.push_back(record.id);
      }
      if (stored.back().id.rfind(id_prefix, 0) != 0 && stored.back().id > id_prefix) break;
      after = stored.back().id;
    }
  }
  return {};
}

Result<std::unique_ptr<Source>> CreateSource(const Config& config, net::HttpClient& http) {
  ASSIGN_OR_RETURN(std::unique_ptr<ZendeskSource> source, ZendeskSource::Create(config, http));
  return std::unique_ptr<Source>(std::move(source));
}

}  // namespace deskpipe::zendesk
