#include "render.h"

#include <cstdio>

#include "core/time.h"

namespace deskpipe::zendesk_emulator {
namespace {

constexpr uint64_t kTokenKey = 0x5A3C96E1F00DBA11ull;

OrderedJson Time(int64_t t) { return FormatTimestamp(t); }
template <typename T>
OrderedJson OrNull(const std::optional<T>& v) {
  return v ? OrderedJson(*v) : OrderedJson(nullptr);
}

OrderedJson Via(const std::string& channel) {
  OrderedJson via;
  via["channel"] = channel;
  via["source"] = {{"from", OrderedJson::object()}, {"to", OrderedJson::object()}, {"rel", nullptr}};
  return via;
}

}  // namespace

std::string AttachmentToken(int64_t attachment_id) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%016llx",
                static_cast<unsigned long long>(static_cast<uint64_t>(attachment_id) ^ kTokenKey));
  return buffer;
}

std::optional<int64_t> AttachmentIdFromToken(const std::string& token) {
  if (token.size() != 16) return std::nullopt;
  uint64_t value = 0;
  for (char c : token) {
    int digit = c >= '0' && c <= '9' ? c - '0' : (c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1);
    if (digit < 0) return std::nullopt;
    value = value * 16 + static_cast<uint64_t>(digit);
  }
  return static_cast<int64_t>(value ^ kTokenKey);
}

OrderedJson AttachmentJson(const std::string& base, const Attachment& a) {
  const std::string content_url = base + "/attachments/token/" + AttachmentToken(a.id) + "/?name=" + a.name;
  OrderedJson j;
  j["url"] = base + "/api/v2/attachments/" + std::to_string(a.id) + ".json";
  j["id"] = a.id;
  j["file_name"] = a.name;
  j["content_url"] = content_url;
  j["mapped_content_url"] = content_url;
  j["content_type"] = a.content_type;
  j["size"] = a.size();
  j["width"] = nullptr;
  j["height"] = nullptr;
  j["inline"] = false;
  j["deleted"] = false;
  j["malware_access_override"] = false;
  j["malware_scan_result"] = "malware_not_found";
  j["thumbnails"] = OrderedJson::array();
  return j;
}

OrderedJson CommentJson(const std::string& base, const Comment& c) {
  OrderedJson j;
  j["id"] = c.id;
  j["type"] = "Comment";
  j["author_id"] = c.author_id;
  j["body"] = c.body;
  j["html_body"] = c.html_body;
  j["plain_body"] = c.body;
  j["public"] = c.is_public;
  OrderedJson attachments = OrderedJson::array();
  for (const auto& a : c.attachments) attachments.push_back(AttachmentJson(base, a));
  j["attachments"] = std::move(attachments);
  j["audit_id"] = c.audit_id;
  j["via"] = Via(c.channel);
  j["created_at"] = Time(c.created_at);
  j["metadata"] = {{"system", OrderedJson::object()}, {"custom", OrderedJson::object()}};
  return j;
}

OrderedJson TicketJson(const std::string& base, const Ticket& t) {
  OrderedJson j;
  j["url"] = base + "/api/v2/tickets/" + std::to_string(t.id) + ".json";
  j["id"] = t.id;
  j["external_id"] = nullptr;
  j["via"] = Via(t.channel);
  j["created_at"] = Time(t.created_at);
  j["updated_at"] = Time(t.updated_at);
  j["generated_timestamp"] = t.generated_timestamp;
  j["type"] = OrNull(t.type);
  j["subject"] = t.subject;
  j["raw_subject"] = t.subject;
  j["description"] = t.comments.empty() ? "" : t.comments.front().body;
  j["priority"] = OrNull(t.priority);
  j["status"] = t.status;
  j["recipient"] = nullptr;
  j["requester_id"] = t.requester_id;
  j["submitter_id"] = t.submitter_id;
  j["assignee_id"] = OrNull(t.assignee_id);
  j["organization_id"] = OrNull(t.organization_id);
  j["group_id"] = OrNull(t.group_id);
  j["collaborator_ids"] = OrderedJson::array();
  j["follower_ids"] = OrderedJson::array();
  j["email_cc_ids"] = OrderedJson::array();
  j["forum_topic_id"] = nullptr;
  j["problem_id"] = nullptr;
  j["has_incidents"] = false;
  j["is_public"] = true;
  j["due_at"] = nullptr;
  j["tags"] = t.tags;
  OrderedJson fields = OrderedJson::array();
  for (const auto& [id, value] : t.custom_fields) {
    OrderedJson v = value.empty() ? OrderedJson(nullptr) : OrderedJson(value);
    if (value == "true" || value == "false") v = value == "true";
    fields.push_back({{"id", id}, {"value", v}});
  }
  j["custom_fields"] = fields;
  j["fields"] = std::move(fields);
  j["satisfaction_rating"] = nullptr;
  j["sharing_agreement_ids"] = OrderedJson::array();
  j["followup_ids"] = OrderedJson::array();
  j["ticket_form_id"] = nullptr;
  j["brand_id"] = nullptr;
  j["allow_channelback"] = false;
  j["allow_attachments"] = true;
  j["from_messaging_channel"] = false;
  return j;
}

OrderedJson DeletedTicketJson(const Account& account, const Ticket& t) {
  OrderedJson j;
  j["id"] = t.id;
  j["subject"] = t.subject;
  const User* actor = t.deleted_by ? account.FindUser(*t.deleted_by) : nullptr;
  j["actor"] = {{"id", actor ? actor->id : 0}, {"name", actor ? actor->name : ""}};
  j["deleted_at"] = Time(t.deleted_at.value_or(t.updated_at));
  j["previous_state"] = t.previous_status;
  return j;
}

OrderedJson UserJson(const std::string& base, const User& u) {
  OrderedJson j;
  j["id"] = u.id;
  j["url"] = base + "/api/v2/users/" + std::to_string(u.id) + ".json";
  j["name"] = u.name;
  j["email"] = u.email;
  j["created_at"] = Time(u.created_at);
  j["updated_at"] = Time(u.updated_at);
  j["time_zone"] = u.time_zone;
  j["iana_time_zone"] = "Etc/UTC";
  j["phone"] = nullptr;
  j["shared_phone_number"] = nullptr;
  j["photo"] = nullptr;
  j["locale_id"] = u.locale == "fr" ? 16 : (u.locale == "de" ? 8 : 1);
  j["locale"] = u.locale;
  j["organization_id"] = OrNull(u.organization_id);
  j["role"] = u.role;
  j["verified"] = true;
  j["external_id"] = nullptr;
  j["tags"] = u.tags;
  j["alias"] = "";
  j["active"] = u.active;
  j["shared"] = false;
  j["shared_agent"] = false;
  j["last_login_at"] = u.role == "end-user" ? OrderedJson(nullptr) : Time(u.updated_at);
  j["two_factor_auth_enabled"] = nullptr;
  j["signature"] = u.role == "end-user" ? OrderedJson(nullptr) : OrderedJson("Best regards, " + u.name);
  j["details"] = "";
  j["notes"] = "";
  j["role_type"] = u.role == "agent" ? OrderedJson(0) : OrderedJson(nullptr);
  j["custom_role_id"] = nullptr;
  j["moderator"] = u.role != "end-user";
  j["ticket_restriction"] = u.role == "end-user" ? OrderedJson("requested") : OrderedJson(nullptr);
  j["only_private_comments"] = false;
  j["restricted_agent"] = false;
  j["suspended"] = u.suspended;
  j["default_group_id"] = OrNull(u.default_group_id);
  j["report_csv"] = false;
  j["user_fields"] = OrderedJson::object();
  return j;
}

OrderedJson OrganizationJson(const std::string& base, const Organization& o) {
  OrderedJson j;
  j["url"] = base + "/api/v2/organizations/" + std::to_string(o.id) + ".json";
  j["id"] = o.id;
  j["name"] = o.name;
  j["shared_tickets"] = false;
  j["shared_comments"] = false;
  j["external_id"] = nullptr;
  j["created_at"] = Time(o.created_at);
  j["updated_at"] = Time(o.updated_at);
  j["domain_names"] = o.domain_names;
  j["details"] = o.details;
  j["notes"] = "";
  j["group_id"] = OrNull(o.group_id);
  j["tags"] = o.tags;
  j["organization_fields"] = OrderedJson::object();
  return j;
}

OrderedJson GroupJson(const std::string& base, const Group& g) {
  OrderedJson j;
  j["url"] = base + "/api/v2/groups/" + std::to_string(g.id) + ".json";
  j["id"] = g.id;
  j["is_public"] = true;
  j["name"] = g.name;
  j["description"] = g.description;
  j["default"] = g.is_default;
  j["deleted"] = false;
  j["created_at"] = Time(g.created_at);
  j["updated_at"] = Time(g.updated_at);
  return j;
}

OrderedJson TicketFieldJson(const std::string& base, const TicketField& f) {
  OrderedJson j;
  j["url"] = base + "/api/v2/ticket_fields/" + std::to_string(f.id) + ".json";
  j["id"] = f.id;
  j["type"] = f.type;
  j["title"] = f.title;
  j["raw_title"] = f.title;
  j["description"] = f.description;
  j["raw_description"] = f.description;
  j["position"] = f.position;
  j["active"] = f.active;
  j["required"] = f.required;
  j["collapsed_for_agents"] = false;
  j["regexp_for_validation"] = nullptr;
  j["title_in_portal"] = f.title;
  j["raw_title_in_portal"] = f.title;
  j["visible_in_portal"] = !f.removable;
  j["editable_in_portal"] = false;
  j["required_in_portal"] = false;
  j["tag"] = nullptr;
  j["created_at"] = Time(f.created_at);
  j["updated_at"] = Time(f.updated_at);
  j["removable"] = f.removable;
  j["key"] = nullptr;
  j["agent_description"] = nullptr;
  if (f.type == "tagger") {
    OrderedJson options = OrderedJson::array();
    for (const auto& o : f.options) {
      options.push_back(
          {{"id", o.id}, {"name", o.name}, {"raw_name", o.name}, {"value", o.value}, {"default", false}});
    }
    j["custom_field_options"] = std::move(options);
  }
  return j;
}

OrderedJson TicketEventJson(const std::string& base, const Account& account, const TicketEvent& e,
                            bool comment_events) {
  OrderedJson j;
  j["id"] = e.id;
  j["ticket_id"] = e.ticket_id;
  j["timestamp"] = e.timestamp;
  j["created_at"] = Time(e.timestamp);
  j["updater_id"] = e.updater_id;
  j["via"] = "Web form";
  j["system"] = OrderedJson::object();
  j["metadata"] = OrderedJson::object();
  j["event_type"] = e.event_type;
  OrderedJson children = OrderedJson::array();
  int64_t child_id = e.id * 10;
  for (const auto& [field, value, previous] : e.changes) {
    OrderedJson c;
    c["id"] = ++child_id;
    c["via"] = "Web form";
    c["via_reference_id"] = nullptr;
    c[field] = value;
    if (!e.created) c["previous_value"] = previous;
    c["event_type"] = e.created ? "Create" : "Change";
    children.push_back(std::move(c));
  }
  const Ticket* ticket = account.FindTicket(e.ticket_id);
  const Comment* comment =
      ticket != nullptr && e.comment_index >= 0 && e.comment_index < static_cast<int>(ticket->comments.size())
          ? &ticket->comments[static_cast<size_t>(e.comment_index)]
          : nullptr;
  if (comment != nullptr && comment_events) {
    OrderedJson c;
    c["id"] = comment->id;
    c["via"] = Via(comment->channel);
    c["via_reference_id"] = nullptr;
    c["type"] = "Comment";
    c["author_id"] = comment->author_id;
    c["body"] = comment->body;
    c["html_body"] = comment->html_body;
    c["plain_body"] = comment->body;
    c["public"] = comment->is_public;
    OrderedJson attachments = OrderedJson::array();
    for (const auto& a : comment->attachments) attachments.push_back(AttachmentJson(base, a));
    c["attachments"] = std::move(attachments);
    c["audit_id"] = comment->audit_id;
    c["created_at"] = Time(comment->created_at);
    c["event_type"] = "Comment";
    children.push_back(std::move(c));
  } else {
    j["comment_present"] = comment != nullptr;
    j["comment_public"] = comment != nullptr && comment->is_public;
  }
  j["child_events"] = std::move(children);
  return j;
}

OrderedJson CategoryJson(const std::string& base, const Account& account, const Category& c,
                         const std::string& locale) {
  OrderedJson j;
  j["id"] = c.id;
  j["url"] = base + "/api/v2/help_center/" + locale + "/categories/" + std::to_string(c.id) + ".json";
  j["html_url"] = base + "/hc/" + locale + "/categories/" + std::to_string(c.id);
  j["position"] = c.position;
  j["created_at"] = Time(c.created_at);
  j["updated_at"] = Time(c.updated_at);
  j["name"] = c.name;
  j["description"] = c.description;
  j["locale"] = locale;
  j["source_locale"] = account.default_locale;
  j["outdated"] = false;
  return j;
}

OrderedJson SectionJson(const std::string& base, const Account& account, const Section& s,
                        const std::string& locale) {
  OrderedJson j;
  j["id"] = s.id;
  j["url"] = base + "/api/v2/help_center/" + locale + "/sections/" + std::to_string(s.id) + ".json";
  j["html_url"] = base + "/hc/" + locale + "/sections/" + std::to_string(s.id);
  j["category_id"] = s.category_id;
  j["position"] = s.position;
  j["sorting"] = "manual";
  j["created_at"] = Time(s.created_at);
  j["updated_at"] = Time(s.updated_at);
  j["name"] = s.name;
  j["description"] = s.description;
  j["locale"] = locale;
  j["source_locale"] = account.default_locale;
  j["outdated"] = false;
  j["parent_section_id"] = nullptr;
  j["theme_template"] = "section_page";
  return j;
}

OrderedJson ArticleJson(const std::string& base, const Article& a, const ArticleTranslation& t) {
  OrderedJson j;
  j["id"] = a.id;
  j["url"] = base + "/api/v2/help_center/" + t.locale + "/articles/" + std::to_string(a.id) + ".json";
  j["html_url"] = base + "/hc/" + t.locale + "/articles/" + std::to_string(a.id);
  j["author_id"] = a.author_id;
  j["comments_disabled"] = false;
  j["draft"] = t.draft;
  j["promoted"] = a.promoted;
  j["position"] = a.position;
  j["vote_sum"] = 0;
  j["vote_count"] = 0;
  j["section_id"] = a.section_id;
  j["created_at"] = Time(a.created_at);
  j["updated_at"] = Time(a.updated_at);
  j["name"] = t.title;
  j["title"] = t.title;
  j["source_locale"] = a.source_locale;
  j["locale"] = t.locale;
  j["outdated"] = t.outdated;
  OrderedJson outdated_locales = OrderedJson::array();
  for (const auto& other : a.translations) {
    if (other.outdated) outdated_locales.push_back(other.locale);
  }
  j["outdated_locales"] = std::move(outdated_locales);
  j["edited_at"] = Time(a.edited_at);
  j["user_segment_id"] = nullptr;
  j["permission_group_id"] = 1;
  j["content_tag_ids"] = OrderedJson::array();
  j["label_names"] = a.label_names;
  j["body"] = t.body;
  return j;
}

OrderedJson TranslationJson(const std::string& base, const Article& a, const ArticleTranslation& t) {
  OrderedJson j;
  j["id"] = t.id;
  j["url"] =
      base + "/api/v2/help_center/articles/" + std::to_string(a.id) + "/translations/" + t.locale + ".json";
  j["html_url"] = base + "/hc/" + t.locale + "/articles/" + std::to_string(a.id);
  j["source_id"] = a.id;
  j["source_type"] = "Article";
  j["locale"] = t.locale;
  j["title"] = t.title;
  j["body"] = t.body;
  j["outdated"] = t.outdated;
  j["draft"] = t.draft;
  j["hidden"] = false;
  j["created_at"] = Time(t.created_at);
  j["updated_at"] = Time(t.updated_at);
  j["updated_by_id"] = a.author_id;
  j["created_by_id"] = a.author_id;
  return j;
}

std::string Dump(const OrderedJson& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace deskpipe::zendesk_emulator
