#include "platforms/freshdesk/mapping.h"

#include <charconv>
#include <optional>
#include <string>

#include "core/ids.h"
#include "core/json_text.h"
#include "core/time.h"

namespace deskpipe::freshdesk {
namespace {

using nlohmann::json;

constexpr const char* kPlatform = "freshdesk";

// A whole string of decimal digits (an optional leading '-'), or nullopt.
std::optional<int64_t> ParseInteger(const std::string& s) {
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec == std::errc() && ptr == s.data() + s.size() && !s.empty()) return value;
  return std::nullopt;
}

// An integer field; Freshdesk ids exceed 32 bits. Accepts JSON integers and all-digit strings.
std::optional<int64_t> IntField(const json& object, const char* key) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  if (it == object.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) return ParseInteger(it->get_ref<const std::string&>());
  return std::nullopt;
}

std::string StringField(const json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

bool BoolField(const json& object, const char* key) {
  if (!object.is_object()) return false;
  auto it = object.find(key);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

// The value as sent, or null when absent.
json Field(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? json(nullptr) : *it;
}

json IdOrNull(const json& object, const char* key) {
  auto id = IntField(object, key);
  return id ? json(*id) : json(nullptr);
}

// A ticket record's original id is its Freshdesk id in decimal.
json TicketNumber(const Record& ticket) {
  auto id = ParseInteger(ticket.original_id);
  return id ? json(*id) : json(nullptr);
}

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

// "ticket 42" / "conversation 7" / "ticket (no id)" for messages.
std::string Describe(const char* kind, const json& object) {
  auto id = IntField(object, "id");
  return std::string("Freshdesk ") + kind + (id ? " " + std::to_string(*id) : std::string(" (no id)"));
}

Result<int64_t> RequiredId(const json& object, const char* kind) {
  if (!object.is_object()) {
    return Error(InvalidRecord(std::string("Freshdesk ") + kind + " is not a JSON object"));
  }
  auto id = IntField(object, "id");
  if (!id) return Error(InvalidRecord(Describe(kind, object) + ": missing or non-integer 'id'"));
  return *id;
}

Result<std::string> RequiredTimestamp(const json& object, const char* key, const char* kind) {
  json value = Field(object, key);
  if (!value.is_string()) {
    return Error(InvalidRecord(Describe(kind, object) + ": missing '" + key + "'"));
  }
  auto normalized = NormalizeTimestamp(value.get<std::string>());
  if (!normalized) {
    return Error(InvalidRecord(Describe(kind, object) + ": unreadable '" + key + "' (" +
                               normalized.error().message() + ")"));
  }
  return *normalized;
}

Result<std::string> DocumentId(const MappingContext& context, const std::string& original_id) {
  auto id = MakeDocumentId(context.tenant_id, kPlatform, original_id);
  if (!id) return Error(InvalidRecord("cannot build a record id: " + id.error().message()));
  return *id;
}

// Fills the fields every record has. `text` is `object`'s JSON text when the caller has it ("": serialized).
Result<Record> BaseRecord(const json& object, const char* kind, const std::string& type,
                          const std::string& original_id, const MappingContext& context,
                          bool timestamps_required, std::string text = {}) {
  Record record;
  ASSIGN_OR_RETURN(record.id, DocumentId(context, original_id));
  record.original_id = original_id;
  record.tenant_id = context.tenant_id;
  record.platform = kPlatform;
  record.type = type;
  if (timestamps_required) {
    ASSIGN_OR_RETURN(record.created_at, RequiredTimestamp(object, "created_at", kind));
    ASSIGN_OR_RETURN(record.updated_at, RequiredTimestamp(object, "updated_at", kind));
  } else {
    if (auto t = RequiredTimestamp(object, "created_at", kind)) record.created_at = *t;
    if (auto t = RequiredTimestamp(object, "updated_at", kind)) record.updated_at = *t;
  }
  record.raw = text.empty() ? CompactJson(object) : std::move(text);
  return record;
}

// HTML when present, else the text variant.
void SetContent(Record& record, const json& object, const char* html_key, const char* text_key) {
  std::string html = StringField(object, html_key);
  if (!html.empty()) {
    record.content = std::move(html);
    record.content_is_html = true;
  } else {
    record.content = StringField(object, text_key);
    record.content_is_html = false;
  }
}

std::string AgentName(const MappingContext& context, const json& id) {
  if (!id.is_number_integer()) return "";
  auto it = context.agent_names.find(id.get<int64_t>());
  return it == context.agent_names.end() ? "" : it->second;
}

json NameOrNull(const std::unordered_map<int64_t, std::string>& names, const json& id) {
  if (!id.is_number_integer()) return nullptr;
  auto it = names.find(id.get<int64_t>());
  return it == names.end() ? json(nullptr) : json(it->second);
}

}  // namespace

std::string TicketStatusLabel(int status, const MappingContext& context) {
  switch (status) {
    case 2:
      return "open";
    case 3:
      return "pending";
    case 4:
      return "resolved";
    case 5:
      return "closed";
    default:
      break;
  }
  auto it = context.custom_statuses.find(status);
  if (it != context.custom_statuses.end() && !it->second.empty()) return it->second;
  return "status-" + std::to_string(status);
}

std::string TicketPriorityLabel(int priority) {
  switch (priority) {
    case 1:
      return "low";
    case 2:
      return "medium";
    case 3:
      return "high";
    case 4:
      return "urgent";
    default:
      return "priority-" + std::to_string(priority);
  }
}

std::string TicketSourceLabel(int source) {
  switch (source) {
    case 1:
      return "email";
    case 2:
      return "portal";
    case 3:
      return "phone";
    case 4:
      return "forum";
    case 5:
      return "twitter";
    case 6:
      return "facebook";
    case 7:
      return "chat";
    case 8:
      return "mobihelp";
    case 9:
      return "feedback_widget";
    case 10:
      return "outbound_email";
    case 11:
      return "ecommerce";
    case 12:
      return "bot";
    case 13:
      return "whatsapp";
    case 15:
      return "web_chat";
    default:
      return "other";
  }
}

std::string TicketSourceLabel(int source, const MappingContext& context) {
  std::string label = TicketSourceLabel(source);
  if (label != "other") return label;
  auto it = context.source_labels.find(source);
  return it != context.source_labels.end() && !it->second.empty() ? it->second : label;
}

std::string TicketState(const json& ticket) {
  if (BoolField(ticket, "archived")) return "archived";
  if (BoolField(ticket, "deleted")) return "deleted";
  if (BoolField(ticket, "spam")) return "spam";
  return "active";
}

std::string ConversationSourceLabel(int source) {
  switch (source) {
    case 0:
      return "reply";
    case 2:
      return "note";
    case 5:
      return "tweet";
    case 6:
      return "survey_feedback";
    case 7:
      return "facebook_post";
    case 8:
      return "forwarded_email";
    case 9:
      return "phone";
    case 11:
      return "ecommerce";
    default:
      return "other";
  }
}

std::string FolderVisibilityLabel(int visibility) {
  switch (visibility) {
    case 1:
      return "all_users";
    case 2:
      return "logged_in_users";
    case 3:
      return "agents";
    case 4:
      return "selected_companies";
    case 5:
      return "bots";
    default:
      return "visibility-" + std::to_string(visibility);
  }
}

Result<Record> MapTicket(const json& ticket, const MappingContext& context) {
  ASSIGN_OR_RETURN(int64_t id, RequiredId(ticket, "ticket"));
  ASSIGN_OR_RETURN(Record record, BaseRecord(ticket, "ticket", "ticket", std::to_string(id), context, true));
  record.title = StringField(ticket, "subject");
  SetContent(record, ticket, "description", "description_text");
  if (auto status = IntField(ticket, "status"))
    record.status = TicketStatusLabel(static_cast<int>(*status), context);
  if (auto priority = IntField(ticket, "priority"))
    record.priority = TicketPriorityLabel(static_cast<int>(*priority));

  json& m = record.metadata;
  json requester = {{"id", IdOrNull(ticket, "requester_id")}, {"name", nullptr}, {"email", nullptr}};
  json embedded = Field(ticket, "requester");
  if (embedded.is_object()) {
    if (requester["id"].is_null()) requester["id"] = IdOrNull(embedded, "id");
    requester["name"] = Field(embedded, "name");
    requester["email"] = Field(embedded, "email");
  }
  m["requester"] = requester;
  m["responder_id"] = IdOrNull(ticket, "responder_id");
  std::string responder_name = AgentName(context, m["responder_id"]);
  m["responder_name"] = responder_name.empty() ? json(nullptr) : json(responder_name);
  m["group_id"] = IdOrNull(ticket, "group_id");
  m["group_name"] = NameOrNull(context.group_names, m["group_id"]);
  m["company_id"] = IdOrNull(ticket, "company_id");
  // The view's include=company carries the name; else the companies stream's.
  json company = Field(ticket, "company");
  json company_name = company.is_object() && company.value("name", json()).is_string()
                          ? company["name"]
                          : NameOrNull(context.company_names, m["company_id"]);
  if (m["company_id"].is_null() && company.is_object()) m["company_id"] = IdOrNull(company, "id");
  m["company"] = {{"id", m["company_id"]}, {"name", company_name}};
  m["product_id"] = IdOrNull(ticket, "product_id");
  m["tags"] = StringArray(ticket, "tags");
  if (auto source = IntField(ticket, "source")) {
    m["source"] = TicketSourceLabel(static_cast<int>(*source), context);
    m["source_id"] = *source;
  } else {
    m["source"] = nullptr;
  }
  m["ticket_type"] = Field(ticket, "type");
  json custom = Field(ticket, "custom_fields");
  m["custom_fields"] = custom.is_object() ? custom : json::object();
  json labelled = json::object();
  for (const auto& [name, value] : m["custom_fields"].items()) {
    auto label = context.ticket_field_labels.find(name);
    labelled[label != context.ticket_field_labels.end() ? label->second : name] = value;
  }
  m["custom_field_labels"] = std::move(labelled);
  if (auto status = IntField(ticket, "status")) m["status_id"] = *status;
  if (auto priority = IntField(ticket, "priority")) m["priority_id"] = *priority;
  m["url"] = context.portal_url + "/a/tickets/" + std::to_string(id);
  m["spam"] = BoolField(ticket, "spam");
  m["deleted"] = BoolField(ticket, "deleted");
  m["archived"] = BoolField(ticket, "archived");
  m["state"] = TicketState(ticket);
  m["private"] = false;
  m["visibility"] = "requester";
  m["due_by"] = Field(ticket, "due_by");
  m["role"] = "customer";
  return record;
}

Result<Record> MapConversation(const json& conversation, const Record& ticket, const MappingContext& context,
                               std::string text) {
  ASSIGN_OR_RETURN(int64_t id, RequiredId(conversation, "conversation"));
  ASSIGN_OR_RETURN(Record record, BaseRecord(conversation, "conversation", "conversation",
                                             QualifiedOriginalId("conversation", std::to_string(id)), context,
                                             true, std::move(text)));
  record.title = ticket.title;
  record.parent_id = ticket.id;
  SetContent(record, conversation, "body", "body_text");

  const bool is_private = BoolField(conversation, "private");
  const bool incoming = BoolField(conversation, "incoming");
  json user_id = IdOrNull(conversation, "user_id");
  json requester_id =
      ticket.metadata.contains("requester") ? ticket.metadata["requester"].value("id", json()) : json();
  const bool is_requester = !user_id.is_null() && user_id == requester_id;

  std::string role;
  if (is_private) {
    role = "private note";
  } else if (incoming || is_requester) {
    role = "customer";
  } else {
    role = "agent";  // a known agent, or an outgoing message from inside the helpdesk
  }

  std::string author = AgentName(context, user_id);
  if (author.empty() && is_requester) {
    json name = ticket.metadata["requester"].value("name", json());
    if (name.is_string()) author = name.get<std::string>();
  }

  json& m = record.metadata;
  m["role"] = role;
  m["private"] = is_private;
  m["visibility"] = is_private ? "agents" : "requester";
  m["incoming"] = incoming;
  m["last_edited_at"] = Field(conversation, "last_edited_at");
  m["edited"] = Field(conversation, "last_edited_at").is_string();
  if (auto source = IntField(conversation, "source")) {
    m["source"] = ConversationSourceLabel(static_cast<int>(*source));
    m["source_id"] = *source;
  } else {
    m["source"] = nullptr;
  }
  m["user_id"] = user_id;
  m["author_name"] = author.empty() ? json(nullptr) : json(author);
  m["ticket_id"] = TicketNumber(ticket);
  m["from_email"] = Field(conversation, "from_email");
  m["url"] = ticket.metadata.value("url", std::string());
  return record;
}

std::string ArticleOriginalId(int64_t id, const std::string& language, bool draft) {
  std::string local = std::to_string(id);
  if (!language.empty()) local += "-" + language;
  return QualifiedOriginalId(draft ? "article_draft" : "article", local);
}

Result<Record> MapArticle(const json& article, const json& folder, const MappingContext& context,
                          const std::string& language) {
  ASSIGN_OR_RETURN(int64_t id, RequiredId(article, "article"));
  const auto status = IntField(article, "status");
  const bool draft = status && *status == 1;
  const bool kept_apart = draft && !context.index_drafts;
  const std::string translation = language == context.primary_language ? "" : language;
  ASSIGN_OR_RETURN(Record record,
                   BaseRecord(article, "article", kept_apart ? "article_draft" : "article",
                              ArticleOriginalId(id, translation, kept_apart), context, true));
  record.title = StringField(article, "title");
  SetContent(record, article, "description", "description_text");
  if (status) {
    record.status = *status == 2 ? "published" : *status == 1 ? "draft" : "status-" + std::to_string(*status);
  }

  // Names from the folder we walked, else from the article's own hierarchy.
  json folder_id = IdOrNull(folder, "id");
  if (folder_id.is_null()) folder_id = IdOrNull(article, "folder_id");
  json folder_name = Field(folder, "name");
  json category_id = IdOrNull(folder, "category_id");
  if (category_id.is_null()) category_id = IdOrNull(article, "category_id");
  json category_name = Field(folder, "category_name");
  json hierarchy = Field(article, "hierarchy");
  if (hierarchy.is_array()) {
    for (const auto& level : hierarchy) {
      if (!level.is_object()) continue;
      json data = Field(level, "data");
      if (StringField(level, "type") == "category" && category_name.is_null())
        category_name = Field(data, "name");
      if (StringField(level, "type") == "folder" && folder_name.is_null() &&
          IdOrNull(data, "id") == folder_id) {
        folder_name = Field(data, "name");
      }
    }
  }

  json& m = record.metadata;
  m["folder_id"] = folder_id;
  m["folder_name"] = folder_name;
  m["category_id"] = category_id;
  m["category_name"] = category_name;
  if (auto visibility = IntField(folder, "visibility")) {
    m["visibility"] = FolderVisibilityLabel(static_cast<int>(*visibility));
    m["visibility_id"] = *visibility;
  } else {
    m["visibility"] = nullptr;
  }
  m["tags"] = StringArray(article, "tags");
  m["agent_id"] = IdOrNull(article, "agent_id");
  std::string author = AgentName(context, m["agent_id"]);
  m["author_name"] = author.empty() ? json(nullptr) : json(author);
  m["article_type"] = Field(article, "type");
  m["article_id"] = id;
  m["draft"] = draft;
  m["language"] = language.empty() ? context.primary_language : language;
  if (draft) m["visibility"] = "agents";  // a draft is seen by agents only, whatever its folder says
  m["private"] = draft;
  m["state"] = "active";
  m["url"] = context.portal_url + (translation.empty() ? "" : "/" + translation) +
             "/support/solutions/articles/" + std::to_string(id);
  return record;
}

Result<Record> MapAgent(const json& agent, const MappingContext& context) {
  ASSIGN_OR_RETURN(int64_t id, RequiredId(agent, "agent"));
  ASSIGN_OR_RETURN(
      Record record,
      BaseRecord(agent, "agent", "agent", QualifiedOriginalId("agent", std::to_string(id)), context, true));
  json contact = Field(agent, "contact");
  record.title = StringField(contact, "name");
  json& m = record.metadata;
  m["email"] = Field(contact, "email");
  m["job_title"] = Field(contact, "job_title");
  m["active"] = Field(contact, "active");
  m["available"] = Field(agent, "available");
  m["occasional"] = Field(agent, "occasional");
  m["ticket_scope"] = Field(agent, "ticket_scope");
  m["agent_type"] = Field(agent, "type");
  m["group_ids"] = Field(agent, "group_ids");
  m["role_ids"] = Field(agent, "role_ids");
  m["role"] = "agent";
  return record;
}

Result<Record> MapTicketField(const json& field, const MappingContext& context) {
  ASSIGN_OR_RETURN(int64_t id, RequiredId(field, "ticket field"));
  ASSIGN_OR_RETURN(Record record,
                   BaseRecord(field, "ticket field", "ticket_field",
                              QualifiedOriginalId("ticket_field", std::to_string(id)), context, false));
  record.title = StringField(field, "label");
  json& m = record.metadata;
  m["name"] = Field(field, "name");
  m["field_type"] = Field(field, "type");
  m["choices"] = Field(field, "choices");
  m["position"] = Field(field, "position");
  return record;
}

std::unordered_map<int, std::string> CustomStatusesFromTicketFields(const json& fields) {
  std::unordered_map<int, std::string> out;
  if (!fields.is_array()) return out;
  for (const auto& field : fields) {
    if (StringField(field, "name") != "status" && StringField(field, "type") != "default_status") continue;
    json choices = Field(field, "choices");
    if (!choices.is_object()) continue;
    // {"2": ["Open", "Being Processed"], "6": ["Waiting on Customer", "Awaiting your Reply"]}
    for (const auto& [key, value] : choices.items()) {
      int status = 0;
      auto [ptr, ec] = std::from_chars(key.data(), key.data() + key.size(), status);
      if (ec != std::errc() || ptr != key.data() + key.size() || status < 6) continue;
      std::string label;
      if (value.is_array() && !value.empty() && value[0].is_string()) label = value[0].get<std::string>();
      if (value.is_string()) label = value.get<std::string>();
      if (!label.empty()) out[status] = label;
    }
  }
  return out;
}

void LearnTicketFields(const json& fields, MappingContext& context) {
  for (auto& [status, label] : CustomStatusesFromTicketFields(fields)) context.custom_statuses[status] = label;
  if (!fields.is_array()) return;
  for (const auto& field : fields) {
    const std::string name = StringField(field, "name");
    const std::string label = StringField(field, "label");
    if (name == "source" || StringField(field, "type") == "default_source") {
      // {"Email": 1, "Portal": 2, …}: label → id.
      json choices = Field(field, "choices");
      if (choices.is_object()) {
        for (const auto& [choice, value] : choices.items()) {
          if (value.is_number_integer()) context.source_labels[value.get<int>()] = choice;
        }
      }
    }
    if (!name.empty() && !label.empty() && !BoolField(field, "default")) context.ticket_field_labels[name] = label;
  }
}

Result<Record> MapContact(const json& contact, const MappingContext& context) {
  ASSIGN_OR_RETURN(int64_t id, RequiredId(contact, "contact"));
  ASSIGN_OR_RETURN(Record record, BaseRecord(contact, "contact", "contact",
                                             QualifiedOriginalId("contact", std::to_string(id)), context, true));
  record.title = StringField(contact, "name");
  const bool deleted = BoolField(contact, "deleted");
  record.status = deleted ? "deleted" : BoolField(contact, "active") ? "active" : "unverified";
  json& m = record.metadata;
  m["email"] = Field(contact, "email");
  m["company_id"] = IdOrNull(contact, "company_id");
  m["company_name"] = NameOrNull(context.company_names, m["company_id"]);
  m["job_title"] = Field(contact, "job_title");
  m["language"] = Field(contact, "language");
  m["tags"] = StringArray(contact, "tags");
  json custom = Field(contact, "custom_fields");
  m["custom_fields"] = custom.is_object() ? custom : json::object();
  m["state"] = deleted ? "deleted" : "active";
  m["role"] = "customer";
  return record;
}

Result<Record> MapCompany(const json& company, const MappingContext& context) {
  ASSIGN_OR_RETURN(int64_t id, RequiredId(company, "company"));
  ASSIGN_OR_RETURN(Record record, BaseRecord(company, "company", "company",
                                             QualifiedOriginalId("company", std::to_string(id)), context, true));
  record.title = StringField(company, "name");
  json& m = record.metadata;
  m["domains"] = StringArray(company, "domains");
  m["industry"] = Field(company, "industry");
  m["account_tier"] = Field(company, "account_tier");
  m["health_score"] = Field(company, "health_score");
  json custom = Field(company, "custom_fields");
  m["custom_fields"] = custom.is_object() ? custom : json::object();
  return record;
}

Result<Record> MapGroup(const json& group, const MappingContext& context) {
  ASSIGN_OR_RETURN(int64_t id, RequiredId(group, "group"));
  ASSIGN_OR_RETURN(Record record, BaseRecord(group, "group", "group",
                                             QualifiedOriginalId("group", std::to_string(id)), context, false));
  record.title = StringField(group, "name");
  record.content = StringField(group, "description");
  json& m = record.metadata;
  m["escalate_to"] = IdOrNull(group, "escalate_to");
  m["group_type"] = Field(group, "group_type");
  return record;
}

Result<Record> MapFieldDefinition(const json& field, const std::string& type, const MappingContext& context) {
  ASSIGN_OR_RETURN(int64_t id, RequiredId(field, type.c_str()));
  ASSIGN_OR_RETURN(Record record, BaseRecord(field, type.c_str(), type,
                                             QualifiedOriginalId(type, std::to_string(id)), context, false));
  record.title = StringField(field, "label");
  json& m = record.metadata;
  m["name"] = Field(field, "name");
  m["field_type"] = Field(field, "type");
  m["choices"] = Field(field, "choices");
  m["position"] = Field(field, "position");
  return record;
}

Result<Record> MapHelpdeskSettings(const json& settings, const MappingContext& context) {
  if (!settings.is_object()) return Error(InvalidRecord("Freshdesk /settings/helpdesk is not a JSON object"));
  Record record;
  ASSIGN_OR_RETURN(record.id, DocumentId(context, "settings-helpdesk"));
  record.original_id = "settings-helpdesk";
  record.tenant_id = context.tenant_id;
  record.platform = kPlatform;
  record.type = "settings";
  record.title = "helpdesk settings";
  record.raw = CompactJson(settings);
  record.metadata["primary_language"] = Field(settings, "primary_language");
  record.metadata["supported_languages"] = StringArray(settings, "supported_languages");
  record.metadata["portal_languages"] = StringArray(settings, "portal_languages");
  return record;
}

}  // namespace deskpipe::freshdesk
