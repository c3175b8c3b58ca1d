// Zendesk JSON representations of the emulator's model objects: the field names, shapes and key order of the
// API reference's examples (docs/zendesk-api.md), null for blank optionals, whole-second UTC timestamps
// "YYYY-MM-DDTHH:MM:SSZ". `base` is the account root (e.g. "http://127.0.0.1:PORT") for `url` fields.
//
// Pure functions over an immutable Account; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "account.h"

namespace deskpipe::zendesk_emulator {

using OrderedJson = nlohmann::ordered_json;

// The download token in an attachment's content_url, and back (nullopt when not one of ours).
std::string AttachmentToken(int64_t attachment_id);
std::optional<int64_t> AttachmentIdFromToken(const std::string& token);

OrderedJson AttachmentJson(const std::string& base, const Attachment& attachment);
OrderedJson CommentJson(const std::string& base, const Comment& comment);
OrderedJson TicketJson(const std::string& base, const Ticket& ticket);
// deleted_tickets element: {id, subject, actor{id,name}, deleted_at, previous_state}.
OrderedJson DeletedTicketJson(const Account& account, const Ticket& ticket);
OrderedJson UserJson(const std::string& base, const User& user);
OrderedJson OrganizationJson(const std::string& base, const Organization& organization);
OrderedJson GroupJson(const std::string& base, const Group& group);
OrderedJson TicketFieldJson(const std::string& base, const TicketField& field);
// One ticket_events element; `comment_events`: the comment as a child event (include=comment_events),
// otherwise only comment_present/comment_public on the audit.
OrderedJson TicketEventJson(const std::string& base, const Account& account, const TicketEvent& event,
                            bool comment_events);

OrderedJson CategoryJson(const std::string& base, const Account& account, const Category& category,
                         const std::string& locale);
OrderedJson SectionJson(const std::string& base, const Account& account, const Section& section,
                        const std::string& locale);
// The article in `translation`'s locale (title, body, draft, outdated and locale come from it).
OrderedJson ArticleJson(const std::string& base, const Article& article,
                        const ArticleTranslation& translation);
OrderedJson TranslationJson(const std::string& base, const Article& article,
                            const ArticleTranslation& translation);

// Compact JSON; invalid UTF-8 is replaced, never thrown.
std::string Dump(const OrderedJson& value);

}  // namespace deskpipe::zendesk_emulator
