#include "platforms/zendesk/mapping.h"

#include <charconv>
#include <optional>
#include <string>

#include "core/ids.h"
#include "core/json_text.h"
#include "core/time.h"

namespace deskpipe::zendesk {
namespace {

using nlohmann::json;

constexpr const char* kPlatform = "zendesk";

std::optional<int64_t> IntField(const json& object, const char* key) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  if (it == object.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    int64_t value = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec == std::errc() && ptr == s.data() + s.size() && !s.empty()) return value;
  }
  return std::nullopt;
}

std::string StringField(const json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

json Field(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? json(nullptr) : *it;
}

json IdOrNull(const json& object, const char* key) {
  auto id = IntField(object, key);
  return id ? json(*id) : json(nullptr);
}

template <class Map>
json NameOrNull(const Map& names, const json& id) {
  if (!id.is_number_integer()) return nullptr;
  auto it = names.find(id.get<int64_t>());
  return it == names.end() ? json(nullptr) : json(it->second);
}

json UserNameOrNull(const MappingContext& context, const json& id) {
  if (!id.is_number_integer()) return nullptr;
  auto it = context.users.find(id.get<int64_t>());
  return it == context.users.end() || it->second.name.empty() ? json(nullptr) : json(it->second.name);
}

std::string Describe(const char* kind, const json& object) {
  auto id = IntField(object, "id");
  return std::string("Zendesk ") + kind + (id ? " " + std::to_string(*id) : std::string(" (no id)"));
}

Result<int64_t> RequiredId(const json& object, const char* kind) {
  if (!object.is_object())
    return Error(InvalidRecord(std::string("Zendesk ") + kind + " is not a JSON object"));
  auto id = IntField(object, "id");
  if (!id) return Error(InvalidRecord(Describe(kind, object) + ": missing or non-integer 'id'"));
  return *id;
}

Result<std::string> RequiredTimestamp(const json& object, const char* key, const char* kind) {
  json value = Field(object, key);
  if (!value.is_string()) return Error(InvalidRecord(Describe(kind, object) + ": missing '" + key + "'"));
  auto normalized = NormalizeTimestamp(value.get<std::string>());
  if (!normalized) {
    return Error(InvalidRecord(Describe(kind, object) + ": unreadable '" + key + "' (" +
                               normalized.error().message() + ")"));
  }
  return *normalized;
}

// The fields every record has. A comment has no updated_at: `updated_key` names the one to read.
Result<Record> BaseRecord(const json& object, const char* kind, const std::string& type,
                          const std::string& original_id, const MappingContext& context,
                          bool timestamps_required, const char* updated_key = "updated_at") {
  Record record;
  auto id = MakeDocumentId(context.tenant_id, kPlatform, original_id);
  if (!id) return Error(InvalidRecord("cannot build a record id: " + id.error().message()));
  record.id = std::move(*id);
  record.original_id = original_id;
  record.tenant_id = context.tenant_id;
  record.platform = kPlatform;
  record.type = type;
  if (timestamps_required) {
    ASSIGN_OR_RETURN(record.created_at, RequiredTimestamp(object, "created_at", kind));
    ASSIGN_OR_RETURN(record.updated_at, RequiredTimestamp(object, updated_key, kind));
  } else {
    if (auto t = RequiredTimestamp(object, "created_at", kind)) record.created_at = *t;
    if (auto t = RequiredTimestamp(object, updated_key, kind)) record.updated_at = *t;
  }
  record.raw = CompactJson(object);
  return record;
}

std::string Qualified(const char* type, int64_t id) { return QualifiedOriginalId(type, std::to_string(id)); }

json StringArray(const json& object, const char* key) {
  json out = json::array();
  json value = Field(object, key);
  if (value.is_array()) {
    for (const auto& v : value) {
      if (v.is_string()) out.push_back(v);
    }
  }
  return out;
}

}  // namespace

std::string TicketRecordId(const std::string& tenant, int64_t id) {
  auto record_id = MakeDocumentId(tenant, kPlatform, std::to_string(id));
  return record_id ? *record_id : std::string();
}

std::string PriorityLabel(const std::string& priority) { return priority == "normal" ? "medium" : priority; }

void LearnTicketField(const json& field, MappingContext& context) {
  auto id = IntField(field, "id");
  if (!id) return;
  context.field_titles[*id] = StringField(field, "title");
  json options = Field(field, "custom_field_options");
  if (!options.is_array()) return;
  auto& names = context.field_options[*id];
  for (const auto& option : options) {
    std::string value = StringField(option, "value");
    if (!value.empty()) names[value] = StringField(option, "name");
  }
}

Result<Record> MapTicket(const json& ticket, const MappingContext& context) {
  ASSIGN_OR_RETURN(int64_t id, RequiredId(ticket, "ticket"));
  ASSIGN_OR_RETURN(Record record, BaseRecord(ticket, "ticket", "ticket", std::to_string(id), context, true));
  record.title = StringField(ticket, "subject");
  record.content = StringField(ticket, "description");
  record.status = StringField(ticket, "status");
  record.priority = PriorityLabel(StringField(ticket, "priority"));

  json& m = record.metadata;
  m["requester"] = {{"id", IdOrNull(ticket, "requester_id")},
                    {"name", UserNameOrNull(context, IdOrNull(ticket, "requester_id"))}};
  m["assignee_id"] = IdOrNull(ticket, "assignee_id");
  m["assignee_name"] = UserNameOrNull(context, m["assignee_id"]);
  m["group_id"] = IdOrNull(ticket, "group_id");
  m["group_name"] = NameOrNull(context.group_names, m["group_id"]);
  m["organization"] = {{"id", IdOrNull(ticket, "organization_id")},
                       {"name", NameOrNull(context.organization_names, IdOrNull(ticket, "organization_id"))}};
  m["tags"] = StringArray(ticket, "tags");
  m["ticket_type"] = Field(ticket, "type");
  m["zendesk_priority"] = Field(ticket, "priority");
  json via = Field(ticket, "via");
  m["channel"] = via.is_object() ? Field(via, "channel") : json(nullptr);
  json custom = json::object();
  json labelled = json::object();
  json fields = Field(ticket, "custom_fields");
  if (fields.is_array()) {
    for (const auto& f : fields) {
      auto field_id = IntField(f, "id");
      if (!field_id) continue;
      json value = Field(f, "value");
      custom[std::to_string(*field_id)] = value;
      auto title = context.field_titles.find(*field_id);
      const std::string label = title != context.field_titles.end() && !title->second.empty()
                                    ? title->second
                                    : "field-" + std::to_string(*field_id);
      json shown = value;
      if (auto options = context.field_options.find(*field_id);
          options != context.field_options.end() && value.is_string()) {
        auto name = options->second.find(value.get<std::string>());
        if (name != options->second.end()) shown = name->second;
      }
      labelled[label] = shown;
    }
  }
  m["custom_fields"] = std::move(custom);
  m["custom_field_labels"] = std::move(labelled);
  m["url"] = context.account_url + "/agent/tickets/" + std::to_string(id);
  m["state"] = "active";
  m["private"] = false;
  m["visibility"] = "requester";
  m["role"] = "customer";
  m["generated_timestamp"] = Field(ticket, "generated_timestamp");
  return record;
}

Result<Record> MapComment(const json& comment, const Record& ticket, const MappingContext& context) {
  ASSIGN_OR_RETURN(int64_t id, RequiredId(comment, "comment"));
  // A comment is never edited in place (only redacted): created_at is its update time too.
  ASSIGN_OR_RETURN(Record record, BaseRecord(comment, "comment", "conversation",
                                             Qualified("conversation", id), context, true, "created_at"));
  record.title = ticket.title;
  record.parent_id = ticket.id;
  record.content = StringField(comment, "body");

  const json public_flag = Field(comment, "public");
  const bool is_private = public_flag.is_boolean() && !public_flag.get<bool>();
  const json author_id = IdOrNull(comment, "author_id");
  const auto requester = ticket.metadata.find("requester");
  const json requester_id =
      requester != ticket.metadata.end() && requester->is_object() ? requester->value("id", json()) : json();
  bool by_end_user = !author_id.is_null() && author_id == requester_id;
  if (!by_end_user && author_id.is_number_integer()) {
    auto user = context.users.find(author_id.get<int64_t>());
    by_end_user = user != context.users.end() && user->second.role == "end-user";
  }
  json& m = record.metadata;
  m["role"] = is_private ? "private note" : by_end_user ? "customer" : "agent";
  m["private"] = is_private;
  m["visibility"] = is_private ? "agents" : "requester";
  m["user_id"] = author_id;
  m["author_name"] = UserNameOrNull(context, author_id);
  m["ticket_id"] = IdOrNull(json{{"id", ticket.original_id}}, "id");
  json via = Field(comment, "via");
  m["channel"] = via.is_object() ? Field(via, "channel") : json(nullptr);
  const auto url = ticket.metadata.find("url");
  m["url"] = url != ticket.metadata.end() && url->is_string() ? *url : json("");
  json attachments = Field(comment, "attachments");
  if (attachments.is_array()) {
    for (const auto& a : attachments) {
      Attachment attachment;
      auto attachment_id = IntField(a, "id");
      attachment.id = attachment_id ? std::to_string(*attachment_id) : "";
      attachment.name = StringField(a, "file_name");
      attachment.declared_type = StringField(a, "content_type");
      attachment.size = IntField(a, "size").value_or(0);
      attachment.download_error = "not downloaded";
      record.attachments.push_back(std::move(attachment));
    }
  }
  return record;
}

Result<Record> MapUser(const json& user, const MappingContext& context) {
  ASSIGN_OR_RETURN(int64_t id, RequiredId(user, "user"));
  ASSIGN_OR_RETURN(Record record, BaseRecord(user, "user", "user", Qualified("user", id), context, false));
  record.title = StringField(user, "name");
  const json active = Field(user, "active");
  const bool is_active = !active.is_boolean() || active.get<bool>();
  json& m = record.metadata;
  m["role"] = Field(user, "role");
  m["email"] = Field(user, "email");
  m["organization_id"] = IdOrNull(user, "organization_id");
  m["active"] = is_active;
  m["state"] = is_active ? "active" : "deleted";
  return record;
}

Result<Record> MapOrganization(const json& organization, const MappingContext& context) {
  ASSIGN_OR_RETURN(int64_t id, RequiredId(organization, "organization"));
  ASSIGN_OR_RETURN(Record record, BaseRecord(organization, "organization", "organization",
                                             Qualified("organization", id), context, false));
  record.title = StringField(organization, "name");
  record.metadata["domain_names"] = StringArray(organization, "domain_names");
  record.metadata["tags"] = StringArray(organization, "tags");
  return record;
}

Result<Record> MapGroup(const json& group, const MappingContext& context) {
  ASSIGN_OR_RETURN(int64_t id, RequiredId(group, "group"));
  ASSIGN_OR_RETURN(Record record,
                   BaseRecord(group, "group", "group", Qualified("group", id), context, false));
  record.title = StringField(group, "name");
  return record;
}

Result<Record> MapTicketField(const json& field, const MappingContext& context) {
  ASSIGN_OR_RETURN(int64_t id, RequiredId(field, "ticket field"));
  ASSIGN_OR_RETURN(Record record, BaseRecord(field, "ticket field", "ticket_field",
                                             Qualified("ticket_field", id), context, false));
  record.title = StringField(field, "title");
  record.metadata["field_type"] = Field(field, "type");
  record.metadata["active"] = Field(field, "active");
  json options = json::object();
  json list = Field(field, "custom_field_options");
  if (list.is_array()) {
    for (const auto& option : list) {
      std::string value = StringField(option, "value");
      if (!value.empty()) options[value] = StringField(option, "name");
    }
  }
  record.metadata["options"] = std::move(options);
  return record;
}

std::string ArticleOriginalId(int64_t id, const std::string& locale, const std::string& source_locale,
                              bool draft) {
  std::string local = std::to_string(id);
  if (locale != source_locale) local += "-" + locale;
  return QualifiedOriginalId(draft ? "article_draft" : "article", local);
}

Result<Record> MapArticleTranslation(const json& translation, const json& article,
                                     const MappingContext& context) {
  ASSIGN_OR_RETURN(int64_t id, RequiredId(article, "article"));
  if (!translation.is_object()) {
    return Error(
        InvalidRecord("Zendesk article " + std::to_string(id) + ": a translation is not a JSON object"));
  }
  const std::string locale = StringField(translation, "locale");
  if (locale.empty()) {
    return Error(InvalidRecord("Zendesk article " + std::to_string(id) + ": a translation without 'locale'"));
  }
  std::string source_locale = StringField(article, "source_locale");
  if (source_locale.empty()) source_locale = StringField(article, "locale");
  const json draft_flag = Field(translation, "draft");
  const bool draft = draft_flag.is_boolean() && draft_flag.get<bool>();
  const std::string kind = "article " + std::to_string(id) + " translation";
  ASSIGN_OR_RETURN(Record record,
                   BaseRecord(translation, kind.c_str(), draft ? "article_draft" : "article",
                              ArticleOriginalId(id, locale, source_locale, draft), context, true));
  record.title = StringField(translation, "title");
  record.content = StringField(translation, "body");
  record.content_is_html = true;
  record.status = draft ? "draft" : "published";
  json& m = record.metadata;
  m["article_id"] = id;
  m["language"] = locale;
  m["source_locale"] = source_locale;
  m["outdated"] = Field(translation, "outdated");
  m["draft"] = draft;
  m["section_id"] = IdOrNull(article, "section_id");
  m["url"] = Field(translation, "html_url");
  m["state"] = "active";
  m["visibility"] = draft ? "agents" : "all_users";
  m["label_names"] = StringArray(article, "label_names");
  return record;
}

}  // namespace deskpipe::zendesk
