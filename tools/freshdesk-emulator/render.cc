#include "render.h"

#include <algorithm>
#include <optional>

#include "core/time.h"

namespace deskpipe::emulator {
namespace {

OrderedJson Time(int64_t unix_seconds) { return FormatTimestamp(unix_seconds); }

OrderedJson Time(const std::optional<int64_t>& unix_seconds) {
  if (!unix_seconds) return nullptr;
  return FormatTimestamp(*unix_seconds);
}

template <typename T>
OrderedJson Nullable(const std::optional<T>& value) {
  if (!value) return nullptr;
  return *value;
}

OrderedJson Strings(const std::vector<std::string>& values) {
  OrderedJson out = OrderedJson::array();
  for (const auto& value : values) out.push_back(value);
  return out;
}

OrderedJson Ids(const std::vector<int64_t>& values) {
  OrderedJson out = OrderedJson::array();
  for (int64_t value : values) out.push_back(value);
  return out;
}

}  // namespace

OrderedJson AttachmentJson(const Attachment& a, const AttachmentUrlFn& urls) {
  OrderedJson j;
  j["id"] = a.id;
  j["name"] = a.name;
  j["content_type"] = a.content_type;
  j["size"] = a.size();
  j["attachment_url"] = urls ? urls(a, false) : std::string();
  if (a.content_type.rfind("image/", 0) == 0) j["thumb_url"] = urls ? urls(a, true) : std::string();
  j["created_at"] = Time(a.created_at);
  j["updated_at"] = Time(a.updated_at);
  return j;
}

namespace {
OrderedJson Attachments(const std::vector<Attachment>& attachments, const AttachmentUrlFn& urls) {
  OrderedJson out = OrderedJson::array();
  for (const auto& a : attachments) out.push_back(AttachmentJson(a, urls));
  return out;
}
}  // namespace

OrderedJson TicketListJson(const Helpdesk& helpdesk, const Ticket& t) {
  OrderedJson j;
  j["cc_emails"] = OrderedJson::array();
  j["fwd_emails"] = OrderedJson::array();
  j["reply_cc_emails"] = OrderedJson::array();
  j["ticket_cc_emails"] = OrderedJson::array();
  j["ticket_bcc_emails"] = OrderedJson::array();
  j["fr_escalated"] = t.fr_escalated;
  j["spam"] = t.spam;
  j["email_config_id"] = t.source == 1 ? OrderedJson(helpdesk.email_config_id) : OrderedJson();
  j["group_id"] = Nullable(t.group_id);
  j["priority"] = t.priority;
  j["requester_id"] = t.requester_id;
  j["responder_id"] = Nullable(t.responder_id);
  j["source"] = t.source;
  j["company_id"] = Nullable(t.company_id);
  j["status"] = t.status;
  j["subject"] = t.subject;
  j["association_type"] = nullptr;
  j["support_email"] = t.source == 1 ? OrderedJson(helpdesk.support_email) : OrderedJson();
  j["to_emails"] = t.source == 1 ? OrderedJson::array({helpdesk.support_email}) : OrderedJson();
  j["product_id"] = nullptr;
  j["id"] = t.id;
  j["type"] = t.type;
  j["due_by"] = Time(t.due_by);
  j["fr_due_by"] = Time(t.fr_due_by);
  j["is_escalated"] = t.is_escalated;
  j["custom_fields"] = t.custom_fields;
  j["created_at"] = Time(t.created_at);
  j["updated_at"] = Time(t.updated_at);
  j["associated_tickets_count"] = nullptr;
  j["tags"] = Strings(t.tags);
  j["nr_due_by"] = nullptr;
  j["nr_escalated"] = false;
  if (t.deleted) j["deleted"] = true;
  return j;
}

OrderedJson TicketDescriptionJson(const Ticket& t) {
  OrderedJson j;
  j["description"] = t.description_html;
  j["description_text"] = t.description_text;
  return j;
}

OrderedJson RequesterJson(const Helpdesk& helpdesk, const Ticket& t) {
  const Contact* contact = helpdesk.FindContact(t.requester_id);
  if (contact == nullptr) return nullptr;
  OrderedJson j;
  j["id"] = contact->id;
  j["name"] = contact->name;
  j["email"] = contact->email;
  j["mobile"] = Nullable(contact->mobile);
  j["phone"] = Nullable(contact->phone);
  return j;
}

OrderedJson TicketStatsJson(const Ticket& t) {
  OrderedJson j;
  j["agent_responded_at"] = Time(t.stats.agent_responded_at);
  j["requester_responded_at"] = Time(t.stats.requester_responded_at);
  j["first_responded_at"] = Time(t.stats.first_responded_at);
  j["status_updated_at"] = Time(t.stats.status_updated_at);
  j["reopened_at"] = Time(t.stats.reopened_at);
  j["resolved_at"] = Time(t.stats.resolved_at);
  j["closed_at"] = Time(t.stats.closed_at);
  j["pending_since"] = Time(t.stats.pending_since);
  return j;
}

OrderedJson TicketViewJson(const Helpdesk& helpdesk, const Ticket& t, const TicketViewIncludes& includes,
                           const AttachmentUrlFn& urls) {
  OrderedJson j = TicketListJson(helpdesk, t);
  j["description"] = t.description_html;
  j["description_text"] = t.description_text;
  j["structured_description"] = nullptr;
  j["source_additional_info"] = nullptr;
  j["attachments"] = Attachments(t.attachments, urls);
  j["associated_tickets_list"] = nullptr;
  if (t.archived) j["archived"] = true;
  if (includes.conversations) {
    OrderedJson conversations = OrderedJson::array();
    auto thread = helpdesk.ConversationsOf(t);
    for (size_t i = 0; i < thread.size() && i < 10; ++i)
      conversations.push_back(ConversationJson(helpdesk, thread[i], urls));
    j["conversations"] = std::move(conversations);
  }
  if (includes.requester) j["requester"] = RequesterJson(helpdesk, t);
  if (includes.company) {
    const Company* company = t.company_id ? helpdesk.FindCompany(*t.company_id) : nullptr;
    j["company"] = company ? OrderedJson{{"id", company->id}, {"name", company->name}} : OrderedJson();
  }
  if (includes.stats) j["stats"] = TicketStatsJson(t);
  return j;
}

OrderedJson ConversationJson(const Helpdesk& helpdesk, const Conversation& c, const AttachmentUrlFn& urls) {
  std::string requester_email;
  if (const Ticket* ticket = helpdesk.FindTicket(c.ticket_id)) {
    if (const Contact* contact = helpdesk.FindContact(ticket->requester_id)) requester_email = contact->email;
  }
  const std::string support_from = helpdesk.support_name + " <" + helpdesk.support_email + ">";
  OrderedJson j;
  j["body"] = c.body_html;
  j["body_text"] = c.body_text;
  j["id"] = c.id;
  j["incoming"] = c.incoming();
  j["private"] = c.is_private();
  j["user_id"] = c.user_id;
  switch (c.kind) {
    case ConversationKind::kAgentReply:
      j["support_email"] = helpdesk.support_email;
      j["source"] = c.source();
      j["category"] = 3;
      j["to_emails"] = OrderedJson::array({requester_email});
      j["from_email"] = support_from;
      break;
    case ConversationKind::kCustomerReply:
      j["support_email"] = helpdesk.support_email;
      j["source"] = c.source();
      j["category"] = 1;
      j["to_emails"] = OrderedJson::array({helpdesk.support_email});
      j["from_email"] = requester_email;
      break;
    case ConversationKind::kPrivateNote:
      j["support_email"] = nullptr;
      j["source"] = c.source();
      j["category"] = 2;
      j["to_emails"] = OrderedJson::array();
      j["from_email"] = nullptr;
      break;
  }
  j["cc_emails"] = OrderedJson::array();
  j["bcc_emails"] = OrderedJson::array();
  j["email_failure_count"] = nullptr;
  j["outgoing_failures"] = nullptr;
  j["thread_id"] = nullptr;
  j["thread_message_id"] = nullptr;
  j["created_at"] = Time(c.created_at);
  j["updated_at"] = Time(c.updated_at);
  j["last_edited_at"] = Time(c.last_edited_at);
  j["last_edited_user_id"] = Nullable(c.last_edited_user_id);
  j["attachments"] = Attachments(c.attachments, urls);
  j["automation_id"] = nullptr;
  j["automation_type_id"] = nullptr;
  j["auto_response"] = false;
  j["ticket_id"] = c.ticket_id;
  j["source_additional_info"] = nullptr;
  return j;
}

OrderedJson AgentJson(const Agent& a) {
  OrderedJson j;
  j["available"] = a.available;
  j["occasional"] = a.occasional;
  j["id"] = a.id;
  j["ticket_scope"] = a.ticket_scope;
  j["signature"] = a.signature_html;
  j["group_ids"] = Ids(a.group_ids);
  j["role_ids"] = OrderedJson::array({67000130000 + (a.ticket_scope == 1 ? 1 : 3)});
  j["skill_ids"] = OrderedJson::array();
  j["available_since"] = nullptr;
  j["type"] = "support_agent";
  j["focus_mode"] = true;
  j["created_at"] = Time(a.created_at);
  j["updated_at"] = Time(a.updated_at);
  j["last_active_at"] = Time(a.last_login_at);
  OrderedJson contact;
  contact["active"] = true;
  contact["email"] = a.email;
  contact["job_title"] = a.job_title;
  contact["language"] = "en";
  contact["last_login_at"] = Time(a.last_login_at);
  contact["mobile"] = nullptr;
  contact["name"] = a.name;
  contact["phone"] = Nullable(a.phone);
  contact["time_zone"] = a.time_zone;
  contact["created_at"] = Time(a.created_at);
  contact["updated_at"] = Time(a.updated_at);
  j["contact"] = std::move(contact);
  return j;
}

OrderedJson GroupJson(const Group& g, bool with_agent_ids) {
  OrderedJson j;
  j["id"] = g.id;
  j["name"] = g.name;
  j["description"] = g.description;
  j["escalate_to"] = Nullable(g.escalate_to);
  j["unassigned_for"] = g.unassigned_for;
  j["business_hour_id"] = nullptr;
  j["group_type"] = "support_agent_group";
  j["auto_ticket_assign"] = g.auto_ticket_assign;
  j["created_at"] = Time(g.created_at);
  j["updated_at"] = Time(g.updated_at);
  if (with_agent_ids) j["agent_ids"] = Ids(g.agent_ids);
  return j;
}

OrderedJson ContactJson(const Contact& c) {
  OrderedJson j;
  j["active"] = c.active;
  j["address"] = nullptr;
  j["company_id"] = Nullable(c.company_id);
  j["description"] = nullptr;
  j["email"] = c.email;
  j["id"] = c.id;
  j["job_title"] = Nullable(c.job_title);
  j["language"] = c.language;
  j["mobile"] = Nullable(c.mobile);
  j["name"] = c.name;
  j["phone"] = Nullable(c.phone);
  j["time_zone"] = c.time_zone;
  j["twitter_id"] = nullptr;
  j["other_emails"] = OrderedJson::array();
  j["facebook_id"] = nullptr;
  j["unique_external_id"] = nullptr;
  j["view_all_tickets"] = false;
  j["contact_type"] = "contact";
  j["csat_rating"] = nullptr;
  j["preferred_source"] = "email";
  j["tags"] = OrderedJson::array();
  j["custom_fields"] = OrderedJson::object();
  j["created_at"] = Time(c.created_at);
  j["updated_at"] = Time(c.updated_at);
  if (c.deleted) j["deleted"] = true;
  return j;
}

OrderedJson CompanyJson(const Company& c) {
  OrderedJson j;
  j["id"] = c.id;
  j["name"] = c.name;
  j["description"] = c.description;
  j["note"] = nullptr;
  j["domains"] = Strings(c.domains);
  j["created_at"] = Time(c.created_at);
  j["updated_at"] = Time(c.updated_at);
  j["custom_fields"] = OrderedJson::object();
  j["health_score"] = c.health_score;
  j["account_tier"] = c.account_tier;
  j["renewal_date"] = Time(c.renewal_date);
  j["industry"] = Nullable(c.industry);
  return j;
}

OrderedJson CategoryJson(const Category& c) {
  OrderedJson j;
  j["id"] = c.id;
  j["name"] = c.name;
  j["description"] = c.description;
  j["visible_in_portals"] = OrderedJson::array({67000045000});
  j["created_at"] = Time(c.created_at);
  j["updated_at"] = Time(c.updated_at);
  return j;
}

namespace {
const std::string& LanguageOf(const Helpdesk& helpdesk, const std::string& language) {
  return language.empty() ? helpdesk.primary_language : language;
}

OrderedJson Hierarchy(const Helpdesk& helpdesk, const Folder* folder, const std::string& language) {
  // Category first, then the folder chain from the top-level folder down.
  std::vector<const Folder*> chain;
  for (const Folder* f = folder; f != nullptr;
       f = f->parent_folder_id ? helpdesk.FindFolder(*f->parent_folder_id) : nullptr) {
    chain.insert(chain.begin(), f);
  }
  OrderedJson hierarchy = OrderedJson::array();
  const std::string& lang = LanguageOf(helpdesk, language);
  if (folder != nullptr) {
    if (const Category* category = helpdesk.FindCategory(folder->category_id)) {
      hierarchy.push_back(
          {{"level", 0}, {"type", "category"}, {"data", {{"id", category->id}, {"name", category->name}, {"language", lang}}}});
    }
  }
  int level = 1;
  for (const Folder* f : chain) {
    hierarchy.push_back(
        {{"level", level++}, {"type", "folder"}, {"data", {{"id", f->id}, {"name", f->name}, {"language", lang}}}});
  }
  return hierarchy;
}
}  // namespace

OrderedJson FolderJson(const Helpdesk& helpdesk, const Folder& f, const std::string& language) {
  OrderedJson j;
  j["id"] = f.id;
  j["name"] = f.name;
  j["description"] = f.description;
  j["parent_folder_id"] = Nullable(f.parent_folder_id);
  // A folder's hierarchy lists its ancestors (category and parent folders), not itself.
  OrderedJson hierarchy =
      Hierarchy(helpdesk, f.parent_folder_id ? helpdesk.FindFolder(*f.parent_folder_id) : &f, language);
  if (!f.parent_folder_id && hierarchy.size() > 1) hierarchy.erase(hierarchy.size() - 1);
  j["hierarchy"] = std::move(hierarchy);
  j["articles_count"] = f.articles.size();
  j["sub_folders_count"] = f.subfolders.size();
  j["visibility"] = f.visibility;
  j["company_ids"] = f.visibility == 4 ? Ids(f.company_ids) : OrderedJson();
  j["contact_segment_ids"] = nullptr;
  j["company_segment_ids"] = nullptr;
  j["category_id"] = f.category_id;
  j["created_at"] = Time(f.created_at);
  j["updated_at"] = Time(f.updated_at);
  return j;
}

OrderedJson ArticleJson(const Helpdesk& helpdesk, const Article& a, const std::string& language) {
  const ArticleTranslation* tr = nullptr;
  if (!language.empty() && language != helpdesk.primary_language) {
    auto it = a.translations.find(language);
    if (it != a.translations.end()) tr = &it->second;
  }
  OrderedJson j;
  j["id"] = a.id;
  j["type"] = a.type;
  j["status"] = tr ? tr->status : a.status;
  j["agent_id"] = a.agent_id;
  j["category_id"] = a.category_id;
  j["folder_id"] = a.folder_id;
  j["hierarchy"] = Hierarchy(helpdesk, helpdesk.FindFolder(a.folder_id), language);
  const std::string& title = tr ? tr->title : a.title;
  j["title"] = title;
  j["description"] = tr ? tr->description_html : a.description_html;
  j["description_text"] = tr ? tr->description_text : a.description_text;
  j["seo_data"] = {{"meta_title", title}, {"meta_description", ""}, {"meta_keywords", a.meta_keywords}};
  j["tags"] = Strings(a.tags);
  j["attachments"] = OrderedJson::array();
  j["cloud_files"] = OrderedJson::array();
  j["thumbs_up"] = tr ? tr->thumbs_up : a.thumbs_up;
  j["thumbs_down"] = tr ? tr->thumbs_down : a.thumbs_down;
  j["hits"] = tr ? tr->hits : a.hits;
  j["suggested"] = 0;
  j["feedback_count"] = std::min(tr ? tr->thumbs_down : a.thumbs_down, 3);
  j["created_at"] = Time(tr ? tr->created_at : a.created_at);
  j["updated_at"] = Time(tr ? tr->updated_at : a.updated_at);
  return j;
}

OrderedJson TicketFieldJson(const TicketField& f) {
  OrderedJson j;
  j["id"] = f.id;
  j["name"] = f.name;
  j["label"] = f.label;
  j["description"] = f.label;
  j["position"] = f.position;
  j["required_for_closure"] = f.required_for_closure;
  j["required_for_agents"] = f.required_for_agents;
  j["type"] = f.type;
  j["default"] = f.is_default;
  j["customers_can_edit"] = f.customers_can_edit;
  j["label_for_customers"] = f.label_for_customers;
  j["required_for_customers"] = f.required_for_customers;
  j["displayed_to_customers"] = f.displayed_to_customers;
  j["created_at"] = Time(f.created_at);
  j["updated_at"] = Time(f.updated_at);
  if (f.choices) j["choices"] = *f.choices;
  return j;
}

OrderedJson HelpdeskSettingsJson(const Helpdesk& helpdesk) {
  OrderedJson j;
  j["primary_language"] = helpdesk.primary_language;
  j["supported_languages"] = Strings(helpdesk.supported_languages);
  j["portal_languages"] = Strings(helpdesk.supported_languages);
  j["help_widget_languages"] = OrderedJson::array();
  return j;
}

OrderedJson AccountJson(const Helpdesk& helpdesk) {
  OrderedJson j;
  j["account_id"] = 67000000001;
  j["account_name"] = "Brightline";
  j["account_domain"] = helpdesk.domain;
  j["timezone"] = "Eastern Time (US & Canada)";
  j["data_center"] = "US";
  j["tier_type"] = "Pro";
  j["total_agents"] = {{"full_time", helpdesk.agents.size()}, {"occasional", 0}, {"field_service", 0},
                       {"collaborators", 0}};
  j["address"] = nullptr;
  j["contact_person"] = {{"firstname", "Ada"}, {"lastname", "Admin"}, {"email", "admin@" + helpdesk.domain}};
  j["created_at"] = Time(helpdesk.now - 3 * 365 * 86400);
  return j;
}

std::string Dump(const OrderedJson& value) {
  return value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace deskpipe::emulator
