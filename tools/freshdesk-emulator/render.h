// Freshdesk API v2 JSON representations of the emulator's model objects (API.md §7 and §10): same field names
// and shapes as Freshdesk, blank fields present as null, whole-second UTC timestamps. Objects keep
// Freshdesk's usual key order (ordered_json), so a given Helpdesk always renders to the same bytes.
//
// Pure functions over an immutable Helpdesk; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "helpdesk.h"

namespace deskpipe::emulator {

using OrderedJson = nlohmann::ordered_json;

// The fields every tickets-list element has (no description, requester, stats or attachments).
OrderedJson TicketListJson(const Helpdesk& helpdesk, const Ticket& ticket);
// {"description": …, "description_text": …} — added to list elements by include=description.
OrderedJson TicketDescriptionJson(const Ticket& ticket);
// The `requester` object ({id,name,email,mobile,phone}); null when the contact is unknown.
OrderedJson RequesterJson(const Helpdesk& helpdesk, const Ticket& ticket);
OrderedJson TicketStatsJson(const Ticket& ticket);

struct TicketViewIncludes {
  bool conversations = false;  // first 10 only, oldest first
  bool requester = false;
  bool company = false;
  bool stats = false;
};
// GET /tickets/{id}: list fields + description, description_text, attachments ([]), association fields.
OrderedJson TicketViewJson(const Helpdesk& helpdesk, const Ticket& ticket,
                           const TicketViewIncludes& includes);

OrderedJson ConversationJson(const Helpdesk& helpdesk, const Conversation& conversation);

OrderedJson AgentJson(const Agent& agent);
OrderedJson GroupJson(const Group& group,
                      bool with_agent_ids);  // the list omits agent_ids, the view has them
OrderedJson ContactJson(const Contact& contact);
OrderedJson CompanyJson(const Company& company);
OrderedJson CategoryJson(const Category& category);
OrderedJson FolderJson(const Helpdesk& helpdesk, const Folder& folder);
OrderedJson ArticleJson(const Helpdesk& helpdesk, const Article& article);
OrderedJson TicketFieldJson(const TicketField& field);
OrderedJson HelpdeskSettingsJson(const Helpdesk& helpdesk);

// Compact JSON; invalid UTF-8 (only possible in echoed request text) is replaced, never thrown.
std::string Dump(const OrderedJson& value);

}  // namespace deskpipe::emulator
