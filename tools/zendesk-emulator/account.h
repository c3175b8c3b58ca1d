// The Zendesk emulator's data model: one Zendesk account (Support + Help Center) as plain structs — users,
// organizations, groups, ticket fields, tickets with their comments and audits, and the Help Center's
// categories, sections, articles and translations. The generator (generator.h) fills it, the timeline
// (timeline.h) changes copies of it, the renderers (render.h) and the HTTP layer (server.h) only read it.
// Field meanings follow docs/zendesk-api.md; times are Unix seconds (UTC), absent optionals render as null.
//
// Thread-safety: a plain value; the server never mutates an Account requests are reading (a timeline step
// edits a copy and publishes it). Lifetime: EmulatorServer holds snapshots by shared_ptr<const Account>.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "helpdesk.h"  // the Freshdesk emulator's Attachment: real generated file bytes, shared

namespace deskpipe::zendesk_emulator {

using Attachment = deskpipe::emulator::Attachment;

struct User {
  int64_t id = 0;
  std::string name;
  std::string email;
  std::string role = "end-user";  // "end-user", "agent", "admin"
  std::optional<int64_t> organization_id;
  std::optional<int64_t> default_group_id;  // agents only
  std::string time_zone = "UTC";
  std::string locale = "en-US";
  bool active = true;  // false once deleted
  bool suspended = false;
  std::vector<std::string> tags;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct Organization {
  int64_t id = 0;
  std::string name;
  std::string details;
  std::vector<std::string> domain_names;
  std::optional<int64_t> group_id;
  std::vector<std::string> tags;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct Group {
  int64_t id = 0;
  std::string name;
  std::string description;
  bool is_default = false;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct FieldOption {
  int64_t id = 0;
  std::string name;   // what agents see
  std::string value;  // the tag the ticket carries
};

struct TicketField {
  int64_t id = 0;
  std::string type;   // "subject", "status", "tagger" (drop-down), "text", "checkbox", …
  std::string title;  // the label
  std::string description;
  int position = 0;
  bool active = true;
  bool required = false;
  bool removable = true;             // false for system fields
  std::vector<FieldOption> options;  // custom_field_options (tagger fields)
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct Comment {
  int64_t id = 0;
  int64_t audit_id = 0;
  int64_t author_id = 0;
  std::string html_body;
  std::string body;  // plain text
  bool is_public = true;
  std::string channel = "web";  // via.channel
  int64_t created_at = 0;
  std::vector<Attachment> attachments;
};

// A ticket; a soft delete keeps it (status "deleted", in deleted_tickets) until a scrub removes it for good.
struct Ticket {
  int64_t id = 0;
  std::string subject;
  std::string status = "open";  // new, open, pending, hold, solved, closed; "deleted" while soft-deleted
  std::string previous_status;  // the status before the delete (deleted_tickets' previous_state; restore)
  std::optional<std::string> priority;  // urgent, high, normal, low
  std::optional<std::string> type;      // problem, incident, question, task
  int64_t requester_id = 0;
  int64_t submitter_id = 0;
  std::optional<int64_t> assignee_id;
  std::optional<int64_t> group_id;
  std::optional<int64_t> organization_id;
  std::vector<std::string> tags;
  std::vector<std::pair<int64_t, std::string>> custom_fields;  // field id → value ("" renders as null)
  std::string channel = "web";
  int64_t created_at = 0;
  int64_t updated_at = 0;           // moves with every ticket event
  int64_t generated_timestamp = 0;  // moves with every change, system updates included (the export key)
  std::optional<int64_t> deleted_at;
  std::optional<int64_t> deleted_by;  // the actor of deleted_tickets
  bool scrubbed = false;              // permanently deleted: gone from every endpoint
  std::vector<Comment> comments;      // oldest first; the first is the description
};

// A ticket event of the time-based ticket_events export: one audit, with what it changed.
struct TicketEvent {
  int64_t id = 0;  // = the audit id
  int64_t ticket_id = 0;
  int64_t updater_id = 0;
  int64_t timestamp = 0;
  std::string event_type = "Audit";
  // The child events: "Create"/"Change" field events ({"field_name","value","previous_value"}) and, by index
  // into the ticket's comments, the comment this audit added (-1: none).
  std::vector<std::tuple<std::string, std::string, std::string>> changes;  // field, value, previous
  bool created = false;
  int comment_index = -1;
};

struct ArticleTranslation {
  int64_t id = 0;
  std::string locale;
  std::string title;
  std::string body;  // HTML
  bool draft = false;
  bool outdated = false;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct Article {
  int64_t id = 0;
  int64_t section_id = 0;
  int64_t author_id = 0;
  std::string source_locale = "en-us";
  std::vector<std::string> label_names;
  int position = 0;
  bool promoted = false;
  bool archived = false;  // deleted via the API: archived, 404 everywhere
  int64_t created_at = 0;
  int64_t edited_at = 0;
  int64_t updated_at = 0;
  std::vector<ArticleTranslation> translations;  // the source locale's first
  const ArticleTranslation* Find(const std::string& locale) const {
    for (const auto& t : translations) {
      if (t.locale == locale) return &t;
    }
    return nullptr;
  }
  ArticleTranslation* Find(const std::string& locale) {
    return const_cast<ArticleTranslation*>(static_cast<const Article*>(this)->Find(locale));
  }
};

struct Section {
  int64_t id = 0;
  int64_t category_id = 0;
  std::string name;
  std::string description;
  int position = 0;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct Category {
  int64_t id = 0;
  std::string name;
  std::string description;
  int position = 0;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct Account {
  int64_t now = 0;  // the account's current time; the export's last-minute cut is measured from it
  std::string subdomain = "brightline";
  std::string default_locale = "en-us";
  std::vector<std::string> locales = {"en-us"};  // Help Center locales, the default first

  std::vector<User> users;  // agents first, then end users; ordered by id
  std::vector<Organization> organizations;
  std::vector<Group> groups;
  std::vector<TicketField> ticket_fields;
  std::vector<Ticket> tickets;             // tickets[i].id == i + 1
  std::vector<TicketEvent> ticket_events;  // ordered by (timestamp, id)
  std::vector<Category> categories;
  std::vector<Section> sections;
  std::vector<Article> articles;
  int64_t next_id = 0;  // the next id the timeline hands out (comments, audits, translations, attachments)

  const Ticket* FindTicket(int64_t id) const {
    return id >= 1 && id <= static_cast<int64_t>(tickets.size()) ? &tickets[id - 1] : nullptr;
  }
  Ticket* MutableTicket(int64_t id) { return const_cast<Ticket*>(FindTicket(id)); }
  // A ticket that any endpoint can still show (not scrubbed).
  const Ticket* FindLiveTicket(int64_t id) const {
    const Ticket* t = FindTicket(id);
    return t != nullptr && !t->scrubbed ? t : nullptr;
  }
  const User* FindUser(int64_t id) const;
  User* MutableUser(int64_t id) { return const_cast<User*>(FindUser(id)); }
  const Organization* FindOrganization(int64_t id) const;
  const Group* FindGroup(int64_t id) const;
  const Category* FindCategory(int64_t id) const;
  const Section* FindSection(int64_t id) const;
  const Article* FindArticle(int64_t id) const;
  Article* MutableArticle(int64_t id) { return const_cast<Article*>(FindArticle(id)); }
  // The attachment with this id anywhere in a live ticket's comments; nullptr otherwise.
  const Attachment* FindAttachment(int64_t id) const;

  // (Re)builds the id → index maps; call after filling or changing the vectors.
  void BuildIndexes();

 private:
  std::unordered_map<int64_t, size_t> user_index_;
  std::unordered_map<int64_t, size_t> organization_index_;
  std::unordered_map<int64_t, size_t> group_index_;
  std::unordered_map<int64_t, size_t> category_index_;
  std::unordered_map<int64_t, size_t> section_index_;
  std::unordered_map<int64_t, size_t> article_index_;
  std::unordered_map<int64_t, std::pair<size_t, std::pair<size_t, size_t>>> attachment_index_;
};

}  // namespace deskpipe::zendesk_emulator
