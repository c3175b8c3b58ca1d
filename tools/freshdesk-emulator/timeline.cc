#include "timeline.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "attachments.h"
#include "core/time.h"
#include "generator.h"

namespace deskpipe::emulator {
namespace {

using nlohmann::json;

constexpr const char* kOps[] = {"update_ticket", "bulk_edit",     "create_ticket", "add_conversation",
                                "edit_note",     "trash",         "spam",          "restore",
                                "hard_delete",   "archive",       "kb_edit",       "kb_unpublish",
                                "kb_publish",    "kb_delete",     "contact_delete", "contact_restore",
                                "contact_block"};

std::string Where(size_t step, const std::string& name, size_t action) {
  std::string where = "timeline step " + std::to_string(step + 1);
  if (!name.empty()) where += " (\"" + name + "\")";
  if (action != static_cast<size_t>(-1)) where += " action " + std::to_string(action + 1);
  return where;
}

Status Bad(const std::string& where, const std::string& what) { return InvalidArgument(where + ": " + what); }

// Ticket ids an action names: "ids": [..] and/or "range": [first, last] (inclusive).
Result<std::vector<int64_t>> TicketIds(const json& action, const std::string& where) {
  std::vector<int64_t> ids;
  if (action.contains("ids")) {
    if (!action["ids"].is_array()) return Error(Bad(where, "\"ids\" must be an array of ticket ids"));
    for (const auto& id : action["ids"]) {
      if (!id.is_number_integer()) return Error(Bad(where, "\"ids\" must hold integers"));
      ids.push_back(id.get<int64_t>());
    }
  }
  if (action.contains("range")) {
    const json& range = action["range"];
    if (!range.is_array() || range.size() != 2 || !range[0].is_number_integer() || !range[1].is_number_integer() ||
        range[0].get<int64_t>() > range[1].get<int64_t>()) {
      return Error(Bad(where, "\"range\" must be [first_id, last_id] with first_id <= last_id"));
    }
    for (int64_t id = range[0].get<int64_t>(); id <= range[1].get<int64_t>(); ++id) ids.push_back(id);
  }
  if (action.contains("ticket")) {
    if (!action["ticket"].is_number_integer()) return Error(Bad(where, "\"ticket\" must be a ticket id"));
    ids.push_back(action["ticket"].get<int64_t>());
  }
  return ids;
}

std::string StringField(const json& action, const char* key, const std::string& fallback = "") {
  auto it = action.find(key);
  return it != action.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// Plain text of HTML the timeline author wrote (tags dropped, entities of GeneratedHtmlToText decoded).
std::string TextOf(const std::string& html, bool keep_newlines) { return GeneratedHtmlToText(html, keep_newlines); }

void InsertConversation(Helpdesk* desk, size_t ticket_index, Conversation c) {
  Ticket& t = desk->tickets[ticket_index];
  const size_t position = t.first_conversation + t.conversation_count;
  desk->conversations.insert(desk->conversations.begin() + static_cast<std::ptrdiff_t>(position), std::move(c));
  for (size_t i = 0; i < desk->tickets.size(); ++i) {
    if (i != ticket_index && desk->tickets[i].first_conversation >= position) ++desk->tickets[i].first_conversation;
  }
  ++t.conversation_count;
}

void RebuildFolderArticles(Helpdesk* desk) {
  for (Folder& f : desk->folders) f.articles.clear();
  for (size_t i = 0; i < desk->articles.size(); ++i) {
    if (Folder* f = desk->MutableFolder(desk->articles[i].folder_id)) f->articles.push_back(i);
  }
}

Status ValidateAction(const json& action, const std::string& where) {
  if (!action.is_object()) return Bad(where, "an action must be an object");
  const std::string op = StringField(action, "op");
  if (op.empty()) return Bad(where, "missing \"op\"");
  if (std::find_if(std::begin(kOps), std::end(kOps), [&](const char* k) { return op == k; }) == std::end(kOps)) {
    std::string known;
    for (const char* k : kOps) known += (known.empty() ? "" : ", ") + std::string(k);
    return Bad(where, "unknown op \"" + op + "\" (known: " + known + ")");
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<TimelineStep>> ParseTimeline(const json& document) {
  const json* steps = &document;
  if (document.is_object()) {
    if (!document.contains("steps")) return Error(InvalidArgument("timeline: missing \"steps\""));
    steps = &document["steps"];
  }
  if (!steps->is_array()) return Error(InvalidArgument("timeline: \"steps\" must be an array"));
  std::vector<TimelineStep> out;
  for (size_t i = 0; i < steps->size(); ++i) {
    const json& step = (*steps)[i];
    if (!step.is_object()) return Error(Bad(Where(i, "", static_cast<size_t>(-1)), "a step must be an object"));
    TimelineStep parsed;
    parsed.name = StringField(step, "name");
    const std::string where = Where(i, parsed.name, static_cast<size_t>(-1));
    if (step.contains("advance_seconds") &&
        (!step["advance_seconds"].is_number_integer() || step["advance_seconds"].get<int64_t>() < 0)) {
      return Error(Bad(where, "\"advance_seconds\" must be a non-negative integer"));
    }
    if (!step.contains("actions") || !step["actions"].is_array())
      return Error(Bad(where, "\"actions\" must be an array"));
    for (size_t a = 0; a < step["actions"].size(); ++a) {
      if (Status s = ValidateAction(step["actions"][a], Where(i, parsed.name, a)); !s.ok()) return Error(s);
    }
    parsed.spec = step;
    out.push_back(std::move(parsed));
  }
  return out;
}

Result<std::vector<TimelineStep>> LoadTimeline(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error(NotFound("cannot read the timeline file " + path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  json document = json::parse(buffer.str(), nullptr, false);
  if (document.is_discarded()) return Error(InvalidArgument("timeline file " + path + " is not valid JSON"));
  auto steps = ParseTimeline(document);
  if (!steps) return Error(InvalidArgument(path + ": " + steps.error().message()));
  return steps;
}

Result<nlohmann::ordered_json> ApplyTimelineStep(Helpdesk* desk, const TimelineStep& step) {
  const json& spec = step.spec;
  const int64_t advance = spec.value("advance_seconds", int64_t{60});
  desk->now += advance;
  const int64_t now = desk->now;
  std::set<int64_t> tickets_changed;
  int conversations_added = 0, conversations_edited = 0, articles_changed = 0, contacts_changed = 0;
  int64_t next_conversation = NextConversationId(*desk);
  int64_t next_attachment = NextAttachmentId(*desk);
  bool kb_layout_changed = false;

  const json& actions = spec["actions"];
  for (size_t a = 0; a < actions.size(); ++a) {
    const json& action = actions[a];
    const std::string where = Where(0, step.name, a);
    const std::string op = action["op"].get<std::string>();
    auto ticket_at = [&](int64_t id) -> Result<Ticket*> {
      Ticket* t = desk->MutableTicket(id);
      if (t == nullptr || t->purged) return Error(Bad(where, "no ticket " + std::to_string(id)));
      return t;
    };
    auto attachments_for = [&](int64_t ticket_id) -> Result<std::vector<Attachment>> {
      std::vector<Attachment> out;
      if (!action.contains("attachments")) return out;
      if (!action["attachments"].is_array()) return Error(Bad(where, "\"attachments\" must be an array of kinds"));
      for (const auto& kind_name : action["attachments"]) {
        AttachmentKind kind;
        if (!kind_name.is_string() || !ParseAttachmentKind(kind_name.get<std::string>(), &kind)) {
          return Error(Bad(where, "unknown attachment kind " + kind_name.dump() +
                                      " (pdf, png, docx, csv, txt, broken_pdf, hostile_docx, hostile_png)"));
        }
        const int64_t id = next_attachment++;
        ASSIGN_OR_RETURN(Attachment attachment,
                         BuildAttachment(id, kind, "timeline-" + std::to_string(id),
                                         "Timeline attachment " + std::to_string(id) + " for ticket " +
                                             std::to_string(ticket_id) + ".",
                                         now));
        out.push_back(std::move(attachment));
      }
      return out;
    };

    if (op == "update_ticket" || op == "bulk_edit") {
      ASSIGN_OR_RETURN(std::vector<int64_t> ids, TicketIds(action, where));
      if (ids.empty()) return Error(Bad(where, op + " needs \"ids\", \"range\" or \"ticket\""));
      for (int64_t id : ids) {
        ASSIGN_OR_RETURN(Ticket * t, ticket_at(id));
        if (t->archived) return Error(Bad(where, "ticket " + std::to_string(id) + " is archived (read-only)"));
        if (action.contains("status")) {
          t->status = action["status"].get<int>();
          t->stats.status_updated_at = now;
          if (t->status == 4 || t->status == 5) t->stats.resolved_at = now;
          if (t->status == 5) t->stats.closed_at = now;
        }
        if (action.contains("priority")) t->priority = action["priority"].get<int>();
        if (action.contains("subject")) t->subject = action["subject"].get<std::string>();
        if (action.contains("type")) t->type = action["type"].get<std::string>();
        if (action.contains("responder_id")) t->responder_id = action["responder_id"].get<int64_t>();
        if (action.contains("tags")) t->tags = action["tags"].get<std::vector<std::string>>();
        if (action.contains("add_tag")) {
          const std::string tag = action["add_tag"].get<std::string>();
          if (std::find(t->tags.begin(), t->tags.end(), tag) == t->tags.end()) t->tags.push_back(tag);
        }
        if (action.contains("custom_fields") && action["custom_fields"].is_object()) {
          for (const auto& [key, value] : action["custom_fields"].items()) t->custom_fields[key] = value;
        }
        t->updated_at = now;  // whole second: a bulk edit stamps every ticket with the same second
        tickets_changed.insert(id);
      }
    } else if (op == "create_ticket") {
      Ticket t;
      t.id = static_cast<int64_t>(desk->tickets.size()) + 1;
      t.subject = StringField(action, "subject", "New ticket " + std::to_string(t.id));
      t.description_html = StringField(action, "description", "<div>" + t.subject + "</div>");
      t.description_text = TextOf(t.description_html, true);
      t.status = action.value("status", 2);
      t.priority = action.value("priority", 1);
      t.source = action.value("source", 1);
      t.type = StringField(action, "type", "Question");
      const int64_t requester = action.value("requester_id", desk->contacts.empty() ? int64_t{0} : desk->contacts[0].id);
      const Contact* contact = desk->FindContact(requester);
      if (contact == nullptr) return Error(Bad(where, "no contact " + std::to_string(requester)));
      t.requester_id = requester;
      t.company_id = contact->company_id;
      t.custom_fields = {{"cf_plan_tier", nullptr}, {"cf_region", nullptr}, {"cf_reproducible", nullptr},
                         {"cf_order_reference", nullptr}};
      t.created_at = t.updated_at = now;
      t.due_by = now + 3 * 86400;
      t.fr_due_by = now + 86400;
      t.first_conversation = desk->conversations.size();
      ASSIGN_OR_RETURN(t.attachments, attachments_for(t.id));
      tickets_changed.insert(t.id);
      desk->tickets.push_back(std::move(t));
    } else if (op == "add_conversation") {
      ASSIGN_OR_RETURN(std::vector<int64_t> ids, TicketIds(action, where));
      if (ids.empty()) return Error(Bad(where, "add_conversation needs \"ticket\" (or \"ids\"/\"range\")"));
      const std::string kind = StringField(action, "kind", "agent_reply");
      if (kind != "agent_reply" && kind != "customer_reply" && kind != "private_note")
        return Error(Bad(where, "\"kind\" must be agent_reply, customer_reply or private_note"));
      for (int64_t id : ids) {
        ASSIGN_OR_RETURN(Ticket * t, ticket_at(id));
        if (t->archived) return Error(Bad(where, "ticket " + std::to_string(id) + " is archived (read-only)"));
        Conversation c;
        c.id = next_conversation++;
        c.ticket_id = id;
        c.kind = kind == "agent_reply"      ? ConversationKind::kAgentReply
                 : kind == "customer_reply" ? ConversationKind::kCustomerReply
                                            : ConversationKind::kPrivateNote;
        c.user_id = c.kind == ConversationKind::kCustomerReply
                        ? t->requester_id
                        : action.value("user_id", t->responder_id.value_or(desk->agents.front().id));
        c.body_html = StringField(action, "body", "<div>Update on ticket " + std::to_string(id) + ".</div>");
        c.body_text = TextOf(c.body_html, false);
        c.created_at = c.updated_at = now;
        ASSIGN_OR_RETURN(c.attachments, attachments_for(id));
        if (c.kind == ConversationKind::kAgentReply) {
          t->stats.agent_responded_at = now;
          if (!t->stats.first_responded_at) t->stats.first_responded_at = now;
        } else if (c.kind == ConversationKind::kCustomerReply) {
          t->stats.requester_responded_at = now;
        }
        t->updated_at = now;
        tickets_changed.insert(id);
        InsertConversation(desk, static_cast<size_t>(id - 1), std::move(c));
        ++conversations_added;
      }
    } else if (op == "edit_note") {
      if (!action.contains("conversation") || !action["conversation"].is_number_integer())
        return Error(Bad(where, "edit_note needs \"conversation\": id"));
      desk->BuildIndexes();  // conversations may have moved in this step
      Conversation* c = desk->MutableConversation(action["conversation"].get<int64_t>());
      if (c == nullptr) return Error(Bad(where, "no conversation " + action["conversation"].dump()));
      c->body_html = StringField(action, "body", c->body_html + "<div>(edited)</div>");
      c->body_text = TextOf(c->body_html, false);
      c->updated_at = now;
      c->last_edited_at = now;
      c->last_edited_user_id = c->user_id;
      ++conversations_edited;
      // [INFER] editing a note does not bump the ticket's updated_at unless the step says so.
      if (action.value("bump_ticket", false)) {
        desk->MutableTicket(c->ticket_id)->updated_at = now;
        tickets_changed.insert(c->ticket_id);
      }
    } else if (op == "trash" || op == "spam" || op == "restore" || op == "hard_delete" || op == "archive") {
      ASSIGN_OR_RETURN(std::vector<int64_t> ids, TicketIds(action, where));
      if (ids.empty()) return Error(Bad(where, op + " needs \"ids\", \"range\" or \"ticket\""));
      for (int64_t id : ids) {
        ASSIGN_OR_RETURN(Ticket * t, ticket_at(id));
        if (op == "hard_delete") {
          t->purged = true;
        } else if (op == "archive") {
          if (t->status != 5)
            return Error(Bad(where, "ticket " + std::to_string(id) + " is not closed (status " +
                                        std::to_string(t->status) + "); only closed tickets are archived"));
          t->archived = true;  // archiving does not change updated_at
        } else {
          if (t->archived) return Error(Bad(where, "ticket " + std::to_string(id) + " is archived (read-only)"));
          if (op == "trash") t->deleted = true;
          if (op == "spam") t->spam = true;
          if (op == "restore") t->deleted = t->spam = false;
          t->updated_at = now;  // [INFER] moving to/from trash or spam bumps updated_at
        }
        tickets_changed.insert(id);
      }
    } else if (op == "kb_edit" || op == "kb_unpublish" || op == "kb_publish" || op == "kb_delete") {
      if (!action.contains("article") || !action["article"].is_number_integer())
        return Error(Bad(where, op + " needs \"article\": id"));
      const int64_t id = action["article"].get<int64_t>();
      Article* article = desk->MutableArticle(id);
      if (article == nullptr) return Error(Bad(where, "no article " + std::to_string(id)));
      const std::string language = StringField(action, "language");
      ArticleTranslation* tr = nullptr;
      if (!language.empty() && language != desk->primary_language) {
        auto it = article->translations.find(language);
        if (it == article->translations.end())
          return Error(Bad(where, "article " + std::to_string(id) + " has no " + language + " version"));
        tr = &it->second;
      }
      if (op == "kb_delete") {
        if (tr != nullptr) {
          article->translations.erase(language);
        } else {
          desk->articles.erase(desk->articles.begin() + (article - desk->articles.data()));
          kb_layout_changed = true;
          desk->BuildIndexes();
          RebuildFolderArticles(desk);
        }
      } else if (op == "kb_edit") {
        std::string& title = tr ? tr->title : article->title;
        std::string& html = tr ? tr->description_html : article->description_html;
        std::string& text = tr ? tr->description_text : article->description_text;
        title = StringField(action, "title", title);
        html = StringField(action, "body", html + "<p>Updated.</p>");
        text = TextOf(html, false);
        (tr ? tr->updated_at : article->updated_at) = now;
      } else {
        (tr ? tr->status : article->status) = op == "kb_publish" ? 2 : 1;
        (tr ? tr->updated_at : article->updated_at) = now;
      }
      ++articles_changed;
    } else if (op == "contact_delete" || op == "contact_restore" || op == "contact_block") {
      if (!action.contains("ids") || !action["ids"].is_array())
        return Error(Bad(where, op + " needs \"ids\": [contact ids]"));
      for (const auto& id_json : action["ids"]) {
        Contact* c = id_json.is_number_integer() ? desk->MutableContact(id_json.get<int64_t>()) : nullptr;
        if (c == nullptr) return Error(Bad(where, "no contact " + id_json.dump()));
        c->deleted = op == "contact_delete";
        c->blocked = op == "contact_block";
        c->updated_at = now;
        ++contacts_changed;
      }
    }
  }
  (void)kb_layout_changed;
  desk->BuildIndexes();

  nlohmann::ordered_json summary;
  summary["name"] = step.name;
  summary["now"] = FormatTimestamp(now);
  summary["tickets_changed"] = tickets_changed.size();
  nlohmann::ordered_json listed = nlohmann::ordered_json::array();
  for (int64_t id : tickets_changed) {
    if (listed.size() >= 100) break;
    listed.push_back(id);
  }
  summary["ticket_ids"] = std::move(listed);
  summary["conversations_added"] = conversations_added;
  summary["conversations_edited"] = conversations_edited;
  summary["articles_changed"] = articles_changed;
  summary["contacts_changed"] = contacts_changed;
  return summary;
}

}  // namespace deskpipe::emulator
