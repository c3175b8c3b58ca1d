// Freshdesk API v2 JSON representations of the emulator's model objects (API.md §7 and §10): same field names
// and shapes as Freshdesk, blank fields present as null, whole-second UTC timestamps. Objects keep
// Freshdesk's usual key order (ordered_json), so a given Helpdesk always renders to the same bytes.
//
// Pure functions over an immutable Helpdesk; thread-safe.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "helpdesk.h"

namespace deskpipe::emulator {

using OrderedJson = nlohmann::ordered_json;

// Issues the signed, expiring URL of an attachment at render time (`thumb`: the thumbnail variant).
using AttachmentUrlFn = std::function<std::string(const Attachment& attachment, bool thumb)>;
// {id,name,content_type,size,attachment_url,(thumb_url for images),created_at,updated_at}.
OrderedJson AttachmentJson(const Attachment& attachment, const AttachmentUrlFn& urls);

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
// Deleted tickets carry "deleted": true; archived ones (archived view only) "archived": true.
OrderedJson TicketViewJson(const Helpdesk& helpdesk, const Ticket& ticket, const TicketViewIncludes& includes,
                           const AttachmentUrlFn& urls);

OrderedJson ConversationJson(const Helpdesk& helpdesk, const Conversation& conversation,
                             const AttachmentUrlFn& urls);

OrderedJson AgentJson(const Agent& agent);
OrderedJson GroupJson(const Group& group,
                      bool with_agent_ids);  // the list omits agent_ids, the view has them
OrderedJson ContactJson(const Contact& contact);  // "deleted": true only on deleted contacts
OrderedJson CompanyJson(const Company& company);
// `language`: the primary language (empty) or a code of Helpdesk::supported_languages; hierarchies carry it.
OrderedJson CategoryJson(const Category& category);
OrderedJson FolderJson(const Helpdesk& helpdesk, const Folder& folder, const std::string& language = "");
// The primary version, or the translation for `language` (caller checks it exists).
OrderedJson ArticleJson(const Helpdesk& helpdesk, const Article& article, const std::string& language = "");
OrderedJson TicketFieldJson(const TicketField& field);
OrderedJson HelpdeskSettingsJson(const Helpdesk& helpdesk);
OrderedJson AccountJson(const Helpdesk& helpdesk);

// Compact JSON; invalid UTF-8 (only possible in echoed request text) is replaced, never thrown.
std::string Dump(const OrderedJson& value);

}  // namespace deskpipe::emulator
