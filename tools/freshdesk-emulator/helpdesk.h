// The emulator's data model: one Freshdesk account's helpdesk as plain structs (tickets and their
// conversations, the knowledge base, agents, groups, contacts, companies). The generator fills it; the HTTP
// layer (server.h) and the JSON renderers (render.h) only read it. Field meanings follow
// /work/shared/freshdesk/API.md §7; times are Unix seconds (UTC), optional ones absent ⇒ JSON null.
//
// Thread-safety: a Helpdesk is a plain value; the server never mutates one that requests are reading. A
// timeline step copies it, edits the copy and publishes the copy (see server.cc), so readers always see a
// consistent snapshot. Lifetime: EmulatorServer holds snapshots by shared_ptr<const Helpdesk>.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace deskpipe::emulator {

// A file attached to a ticket's description, a conversation or an article. The bytes are generated once
// (attachments.h) and shared between snapshots; `size` is their length.
enum class AttachmentKind { kPdf, kPng, kDocx, kCsv, kTxt, kBrokenPdf, kHostileDocx, kHostilePng };

struct Attachment {
  int64_t id = 0;
  std::string name;  // file name, e.g. "export-error.png"
  std::string content_type;
  AttachmentKind kind = AttachmentKind::kTxt;
  std::string text;  // the known text the file shows (what an extractor/OCR should find)
  std::shared_ptr<const std::string> bytes;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  size_t size() const { return bytes ? bytes->size() : 0; }
};

struct Agent {
  int64_t id = 0;  // = the user id used in responder_id / user_id
  std::string name;
  std::string email;
  std::string job_title;
  std::optional<std::string> phone;
  std::string time_zone;
  std::string signature_html;  // appended to this agent's replies
  int ticket_scope = 1;        // 1 global, 2 group, 3 restricted
  bool available = true;
  bool occasional = false;
  std::vector<int64_t> group_ids;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  int64_t last_login_at = 0;
};

struct Group {
  int64_t id = 0;
  std::string name;
  std::string description;
  std::optional<int64_t> escalate_to;  // an agent id
  std::string unassigned_for;          // "30m", "1h", …
  int auto_ticket_assign = 0;          // 0 disabled, 1 round robin
  std::vector<int64_t> agent_ids;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct Company {
  int64_t id = 0;
  std::string name;
  std::string description;
  std::vector<std::string> domains;
  std::string health_score;  // "Happy", "Doing okay", "At risk"
  std::string account_tier;  // "Basic", "Premium", "Enterprise"
  std::optional<std::string> industry;
  std::optional<int64_t> renewal_date;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct Contact {
  int64_t id = 0;
  std::string name;
  std::string email;
  std::optional<std::string> phone;
  std::optional<std::string> mobile;
  std::optional<std::string> job_title;
  std::optional<int64_t> company_id;
  std::string time_zone;
  std::string language = "en";
  bool active = true;
  bool deleted = false;  // soft-deleted: only in state=deleted lists, view has "deleted": true
  bool blocked = false;  // only in state=blocked lists
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

enum class ConversationKind {
  kAgentReply,     // source 0, incoming false, private false, user_id an agent
  kCustomerReply,  // source 0, incoming true, private false, user_id the requester
  kPrivateNote,    // source 2, incoming false, private true, user_id an agent
};

struct Conversation {
  int64_t id = 0;
  int64_t ticket_id = 0;
  int64_t user_id = 0;
  ConversationKind kind = ConversationKind::kAgentReply;
  std::string body_html;
  std::string body_text;  // Freshdesk style: tags stripped, line breaks as spaces, quoted history kept
  int64_t created_at = 0;
  int64_t updated_at = 0;
  std::optional<int64_t> last_edited_at;  // private notes edited after the fact
  std::optional<int64_t> last_edited_user_id;
  std::vector<Attachment> attachments;

  bool incoming() const { return kind == ConversationKind::kCustomerReply; }
  bool is_private() const { return kind == ConversationKind::kPrivateNote; }
  int source() const { return kind == ConversationKind::kPrivateNote ? 2 : 0; }
};

struct TicketStats {
  std::optional<int64_t> agent_responded_at;
  std::optional<int64_t> requester_responded_at;
  std::optional<int64_t> first_responded_at;
  std::optional<int64_t> status_updated_at;
  std::optional<int64_t> reopened_at;
  std::optional<int64_t> resolved_at;
  std::optional<int64_t> closed_at;
  std::optional<int64_t> pending_since;
};

struct Ticket {
  int64_t id = 0;  // the display id: tickets are numbered 1..N in creation order
  std::string subject;
  std::string description_html;
  std::string description_text;  // Freshdesk style: tags stripped, line breaks kept as '\n'
  int status = 2;                // 2 open, 3 pending, 4 resolved, 5 closed, 6 "Waiting on Customer"
  int priority = 1;              // 1 low … 4 urgent
  int source = 1;                // 1 email, 2 portal, 3 phone, 7 chat, 9 feedback widget, 10 outbound email
  std::string type;              // one of the ticket_type choices
  int64_t requester_id = 0;
  std::optional<int64_t> responder_id;
  std::optional<int64_t> group_id;
  std::optional<int64_t> company_id;
  std::vector<std::string> tags;
  nlohmann::ordered_json custom_fields = nlohmann::ordered_json::object();  // flat, keyed by cf_ name
  bool is_escalated = false;
  bool fr_escalated = false;
  int64_t due_by = 0;
  int64_t fr_due_by = 0;
  int64_t created_at = 0;
  int64_t updated_at =
      0;  // the latest of its own activity: ≥ every conversation's created/updated/edited time
  TicketStats stats;
  std::vector<Attachment> attachments;  // the description's attachments (view only)
  bool spam = false;                    // only in filter=spam lists
  bool deleted = false;                 // in trash: only in filter=deleted lists
  bool archived = false;                // only at /tickets/archived/{id}
  bool purged = false;                  // hard-deleted: 404 everywhere, kept so ids stay index+1
  size_t first_conversation =
      0;  // this ticket's conversations are Helpdesk::conversations[first, first+count)
  size_t conversation_count = 0;
};

struct Category {
  int64_t id = 0;
  std::string name;
  std::string description;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct Folder {
  int64_t id = 0;
  int64_t category_id = 0;
  std::string name;
  std::string description;
  int visibility = 1;                // 1 all users, 2 logged-in users, 3 agents, 4 selected companies
  std::vector<int64_t> company_ids;  // for visibility 4
  int64_t created_at = 0;
  int64_t updated_at = 0;
  std::vector<size_t> articles;  // indexes into Helpdesk::articles, in id order
  std::optional<int64_t> parent_folder_id;  // set for subfolders (flexible hierarchy)
  std::vector<int64_t> subfolders;          // child folder ids, in id order
};

// One translated variant of an article (language code → variant in Article::translations).
struct ArticleTranslation {
  std::string title;
  std::string description_html;
  std::string description_text;
  int status = 2;  // drafts exist per language too
  int thumbs_up = 0;
  int thumbs_down = 0;
  int hits = 0;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct Article {
  int64_t id = 0;
  int64_t category_id = 0;
  int64_t folder_id = 0;
  int64_t agent_id = 0;
  int type = 1;    // 1 permanent, 2 workaround
  int status = 2;  // 1 draft, 2 published
  std::string title;
  std::string description_html;
  std::string description_text;  // Freshdesk style: tags stripped, structure collapsed to spaces
  std::vector<std::string> tags;
  std::string meta_keywords;
  int thumbs_up = 0;
  int thumbs_down = 0;
  int hits = 0;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  std::map<std::string, ArticleTranslation> translations;  // by language code (not the primary one)
};

// One ticket-field definition as /ticket_fields returns it. `choices` is rendered verbatim (its shape varies
// by field type: array, label→id object, id→[agent label, customer label] object).
struct TicketField {
  int64_t id = 0;
  std::string name;
  std::string label;
  std::string label_for_customers;
  std::string type;  // default_status, custom_dropdown, …
  bool is_default = true;
  int position = 0;
  bool required_for_closure = false;
  bool required_for_agents = false;
  bool required_for_customers = false;
  bool customers_can_edit = false;
  bool displayed_to_customers = false;
  std::optional<nlohmann::ordered_json> choices;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct Helpdesk {
  int64_t now = 0;     // the account's "current time": the 30-day default window is measured from here
  std::string domain;  // e.g. "brightline.freshdesk.com"
  std::string support_email;
  std::string support_name;  // "Brightline Support"
  int64_t email_config_id = 0;

  std::vector<Agent> agents;
  std::vector<Group> groups;
  std::vector<Company> companies;
  std::vector<Contact> contacts;
  std::vector<Ticket> tickets;              // tickets[i].id == i + 1
  std::vector<Conversation> conversations;  // grouped by ticket, each group oldest first
  std::vector<Category> categories;
  std::vector<Folder> folders;
  std::vector<Article> articles;
  std::vector<TicketField> ticket_fields;
  nlohmann::ordered_json contact_fields = nlohmann::ordered_json::array();  // rendered as is
  nlohmann::ordered_json company_fields = nlohmann::ordered_json::array();
  std::string primary_language = "en";
  std::vector<std::string> supported_languages;  // KB translations exist for exactly these
  std::vector<int64_t> purged_contact_ids;       // contacts hard-deleted by the timeline (truth only)

  // Lookups by id; nullptr when unknown. Valid after BuildIndexes().
  const Ticket* FindTicket(int64_t id) const;
  const Agent* FindAgent(int64_t id) const;
  const Group* FindGroup(int64_t id) const;
  const Contact* FindContact(int64_t id) const;
  const Company* FindCompany(int64_t id) const;
  const Category* FindCategory(int64_t id) const;
  const Folder* FindFolder(int64_t id) const;
  const Article* FindArticle(int64_t id) const;

  std::span<const Conversation> ConversationsOf(const Ticket& ticket) const {
    return std::span<const Conversation>(conversations)
        .subspan(ticket.first_conversation, ticket.conversation_count);
  }

  // The ticket with this id unless it was hard-deleted.
  const Ticket* FindLiveTicket(int64_t id) const {
    const Ticket* t = FindTicket(id);
    return t && !t->purged ? t : nullptr;
  }
  // Non-const lookups for the timeline (same maps).
  Ticket* MutableTicket(int64_t id) { return const_cast<Ticket*>(FindTicket(id)); }
  Contact* MutableContact(int64_t id) { return const_cast<Contact*>(FindContact(id)); }
  Folder* MutableFolder(int64_t id) { return const_cast<Folder*>(FindFolder(id)); }
  Article* MutableArticle(int64_t id) { return const_cast<Article*>(FindArticle(id)); }
  Conversation* MutableConversation(int64_t id);
  const Attachment* FindAttachment(int64_t id) const;

  // (Re)builds the id → index maps; call after filling or changing the vectors.
  void BuildIndexes();

 private:
  std::unordered_map<int64_t, size_t> agent_index_;
  std::unordered_map<int64_t, size_t> group_index_;
  std::unordered_map<int64_t, size_t> contact_index_;
  std::unordered_map<int64_t, size_t> company_index_;
  std::unordered_map<int64_t, size_t> category_index_;
  std::unordered_map<int64_t, size_t> folder_index_;
  std::unordered_map<int64_t, size_t> article_index_;
  std::unordered_map<int64_t, size_t> conversation_index_;
  struct AttachmentPlace {
    bool in_conversation = false;
    size_t owner = 0;  // index into tickets or conversations
    size_t index = 0;  // index into the owner's attachments
  };
  std::unordered_map<int64_t, AttachmentPlace> attachment_index_;  // indexes, so copies stay valid
};

}  // namespace deskpipe::emulator
