// Pure functions from Freshdesk API v2 JSON objects to normalized Records (DESIGN §2, API.md §7–§8).
// They ignore unknown fields, tolerate missing optional ones (Freshdesk sends null for blanks) and reject a
// record only when a required field (id, created_at/updated_at) is missing or unreadable: InvalidRecord
// naming the field and the object's id. Thread-safe (no state).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>

#include "core/record.h"
#include "core/status.h"

namespace deskpipe::freshdesk {

// What mapping needs beyond the object itself: the reference data that turns ids into names and labels.
struct MappingContext {
  std::string tenant_id;
  std::string portal_url;  // "https://acme.freshdesk.com" or the base URL's root, for deep links
  std::string primary_language = "en";  // from /settings/helpdesk; other languages get prefixed deep links
  bool index_drafts = false;  // draft articles become "article" documents (else "article_draft" records)
  std::unordered_map<int64_t, std::string> agent_names;  // agent (user) id → name, from the agents stream
  std::unordered_map<int, std::string> custom_statuses;  // status id ≥ 6 → agent label, from ticket_fields
  std::unordered_map<int64_t, std::string> group_names;    // group id → name, from the groups stream
  std::unordered_map<int64_t, std::string> company_names;  // company id → name (companies stream / views)
  std::unordered_map<int, std::string> source_labels;      // ticket source id → label, from ticket_fields
  std::unordered_map<std::string, std::string> ticket_field_labels;  // custom field name → label
};

// Fills custom_statuses, source_labels and ticket_field_labels of `context` from a /ticket_fields response.
void LearnTicketFields(const nlohmann::json& fields, MappingContext& context);

// A ticket (list item with include=description,requester,stats, or the view). type "ticket".
// metadata: state ("active", "deleted" for trash, "spam", "archived" — restorable states, not tombstones),
// status/priority/source labels and ids, ticket_type, tags, custom_fields (raw) and custom_field_labels
// (label → value, from ticket_fields), requester {id,name,email}, responder_name, group_name, company
// {id,name}, url (https://{domain}/a/tickets/{id}), private=false and visibility "requester" (the ticket is
// seen by agents and its requester).
Result<Record> MapTicket(const nlohmann::json& ticket, const MappingContext& context);

// A conversation of `ticket` (the ticket's Record). type "conversation", parent_id = ticket.id.
// metadata: role, private, visibility ("agents" for a private note, else "requester"), edited
// (last_edited_at set), last_edited_at, author_name, url. `text` is the conversation's JSON text when the
// caller has it (ApiItem::text): it becomes the record's raw as is; "" serializes `conversation`.
Result<Record> MapConversation(const nlohmann::json& conversation, const Record& ticket,
                               const MappingContext& context, std::string text = {});

// A solution article of `folder` (a folder object; its "category_name"/"category_id" are used when present,
// else the article's `hierarchy`) in `language` ("" = the primary language). type "article"; a draft
// (status 1) is type "article_draft" with original_id "article_draft-<id>" unless context.index_drafts, so
// drafts are kept apart from what is indexed. A translation's original_id carries the language:
// "article-<id>-<lang>". metadata: status, draft, language, visibility (the folder's; "agents" for a
// draft), folder/category names, url (/support/solutions/articles/{id}, prefixed with /{lang} for a
// translation).
Result<Record> MapArticle(const nlohmann::json& article, const nlohmann::json& folder,
                          const MappingContext& context, const std::string& language = "");

// The record id MapArticle gives an article (published or draft) in `language` ("" = primary).
std::string ArticleOriginalId(int64_t id, const std::string& language, bool draft);

// A contact. type "contact"; title = name; state "deleted" when `deleted` is true (restorable).
Result<Record> MapContact(const nlohmann::json& contact, const MappingContext& context);

// A company. type "company"; title = name.
Result<Record> MapCompany(const nlohmann::json& company, const MappingContext& context);

// A group. type "group"; title = name.
Result<Record> MapGroup(const nlohmann::json& group, const MappingContext& context);

// A contact or company field definition: type "contact_field" / "company_field"; title = label.
Result<Record> MapFieldDefinition(const nlohmann::json& field, const std::string& type,
                                  const MappingContext& context);

// /settings/helpdesk. type "settings", original_id "settings-helpdesk".
Result<Record> MapHelpdeskSettings(const nlohmann::json& settings, const MappingContext& context);

// An agent. type "agent"; title = contact.name.
Result<Record> MapAgent(const nlohmann::json& agent, const MappingContext& context);

// A ticket field definition. type "ticket_field"; title = label.
Result<Record> MapTicketField(const nlohmann::json& field, const MappingContext& context);

// The custom statuses (id ≥ 6 → agent label) of the `status` field in a /ticket_fields response.
std::unordered_map<int, std::string> CustomStatusesFromTicketFields(const nlohmann::json& fields);

// Labels for the enumerations (API.md §8).
std::string TicketStatusLabel(int status, const MappingContext& context);  // "open", …, custom, "status-<n>"
std::string TicketPriorityLabel(int priority);      // "low" … "urgent", "priority-<n>"
std::string TicketSourceLabel(int source);          // "email", "portal", …, "other"
// The built-in label when known, else the label of the `source` ticket field's choices, else "other".
std::string TicketSourceLabel(int source, const MappingContext& context);
// "active", "deleted", "spam" or "archived" from a ticket's flags.
std::string TicketState(const nlohmann::json& ticket);
std::string ConversationSourceLabel(int source);    // "reply", "note", …, "other"
std::string FolderVisibilityLabel(int visibility);  // "all_users", "logged_in_users", "agents", …

}  // namespace deskpipe::freshdesk
