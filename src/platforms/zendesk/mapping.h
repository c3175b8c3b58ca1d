// Pure functions from Zendesk API v2 JSON objects (docs/zendesk-api.md) to the Records Freshdesk's mapping
// also produces, so transforms, search and the service read both alike: a ticket (type "ticket", original id
// its number) with its comments as "conversation" records (parent_id the ticket's record id, metadata role
// "customer" / "agent" / "private note"), and reference data under typed ids ("user-<id>",
// "organization-<id>", "group-<id>", "ticket_field-<id>"). Unknown fields are ignored, blanks (null)
// tolerated; a record is rejected only when a required field (id, created_at/updated_at) is missing or
// unreadable: InvalidRecord naming the field and the object's id. Thread-safe (no state).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>

#include "core/record.h"
#include "core/status.h"

namespace deskpipe::zendesk {

// What mapping needs beyond the object itself.
struct MappingContext {
  std::string tenant_id;
  std::string account_url;  // "https://acme.zendesk.com" or the base URL's root, for deep links
  struct User {
    std::string name;
    std::string role;  // "end-user", "agent", "admin"
  };
  std::unordered_map<int64_t, User> users;                      // from the users stream
  std::unordered_map<int64_t, std::string> group_names;         // from the groups stream
  std::unordered_map<int64_t, std::string> organization_names;  // from the organizations stream
  std::unordered_map<int64_t, std::string> field_titles;        // ticket field id → title
  // Ticket field id → (option value, i.e. the tag → option name), for drop-down ("tagger") fields.
  std::unordered_map<int64_t, std::unordered_map<std::string, std::string>> field_options;
};

// Learns titles and drop-down option names from a ticket field (GET /ticket_fields element).
void LearnTicketField(const nlohmann::json& field, MappingContext& context);

// A ticket from the export or GET /tickets/{id}. type "ticket"; content the description (first comment,
// plain text); status Zendesk's (new, open, pending, hold, solved, closed); priority low/medium/high/urgent
// (Zendesk's "normal" is "medium", as Freshdesk's); metadata: state "active", requester {id,name},
// assignee_id/assignee_name, group_id/group_name, organization {id,name}, tags, ticket_type, channel,
// custom_fields ({id: value}) and custom_field_labels (title → value, drop-downs as option names),
// url (the agent UI: {account_url}/agent/tickets/{id}), role "customer", private false.
Result<Record> MapTicket(const nlohmann::json& ticket, const MappingContext& context);

// A comment of `ticket` (its Record). type "conversation", original id "conversation-<id>", content the
// comment's plain text (`body`, as the description is). metadata: role ("private note" when not public,
// "customer" when written by the requester or an end user, else "agent"), private, visibility, user_id,
// author_name, ticket_id, channel, url (the ticket's). Attachments are listed without bytes.
Result<Record> MapComment(const nlohmann::json& comment, const Record& ticket, const MappingContext& context);

// A user. type "user", original id "user-<id>"; title the name; metadata role, email, organization_id,
// active, state ("active", or "deleted" for an inactive user, restorable).
Result<Record> MapUser(const nlohmann::json& user, const MappingContext& context);
// An organization: type "organization", "organization-<id>"; title the name.
Result<Record> MapOrganization(const nlohmann::json& organization, const MappingContext& context);
// A group: type "group", "group-<id>"; title the name.
Result<Record> MapGroup(const nlohmann::json& group, const MappingContext& context);
// A ticket field: type "ticket_field", "ticket_field-<id>"; title the title; metadata type, options.
Result<Record> MapTicketField(const nlohmann::json& field, const MappingContext& context);

// One translation of a Help Center article (GET /help_center/articles/{id}/translations element), its own
// document: type "article", original id "article-<id>" in the article's source locale and
// "article-<id>-<locale>" in the others; a draft translation is kept apart from what is indexed, as
// Freshdesk's drafts are: type "article_draft", "article_draft-<id>[-<locale>]". title, content (HTML) and
// updated_at the translation's; status "published" / "draft"; metadata language (the locale), source_locale,
// outdated, draft, section_id, url (the translation's html_url, the Help Center page), state "active",
// visibility "all_users".
Result<Record> MapArticleTranslation(const nlohmann::json& translation, const nlohmann::json& article,
                                     const MappingContext& context);

// The original id of article `id` in `locale` (`source_locale`: no suffix), published or draft.
std::string ArticleOriginalId(int64_t id, const std::string& locale, const std::string& source_locale,
                              bool draft);

// The record id of ticket `id` for `tenant` ("acme_zendesk_42").
std::string TicketRecordId(const std::string& tenant, int64_t id);

// Zendesk's priority as the record's label: "normal" → "medium", others as sent.
std::string PriorityLabel(const std::string& priority);

}  // namespace deskpipe::zendesk
