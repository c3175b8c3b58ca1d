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

// What mapping needs beyond the object itself.
struct MappingContext {
  std::string tenant_id;
  std::string portal_url;  // "https://acme.freshdesk.com" or the base URL's root, for deep links
  std::unordered_map<int64_t, std::string> agent_names;  // agent (user) id → name, from the agents stream
  std::unordered_map<int, std::string> custom_statuses;  // status id ≥ 6 → agent label, from ticket_fields
};

// A ticket (list item with include=description,requester,stats, or the view). type "ticket".
Result<Record> MapTicket(const nlohmann::json& ticket, const MappingContext& context);

// A conversation of `ticket` (the ticket's Record). type "conversation", parent_id = ticket.id.
Result<Record> MapConversation(const nlohmann::json& conversation, const Record& ticket,
                               const MappingContext& context);

// A solution article of `folder` (a folder object; its "category_name"/"category_id" are used when present,
// else the article's `hierarchy`). type "article".
Result<Record> MapArticle(const nlohmann::json& article, const nlohmann::json& folder,
                          const MappingContext& context);

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
std::string ConversationSourceLabel(int source);    // "reply", "note", …, "other"
std::string FolderVisibilityLabel(int visibility);  // "all_users", "logged_in_users", "agents", …

}  // namespace deskpipe::freshdesk
