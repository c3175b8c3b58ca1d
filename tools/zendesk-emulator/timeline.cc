#include "timeline.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "attachments.h"

namespace deskpipe::zendesk_emulator {
namespace {

using nlohmann::json;

const std::set<std::string> kOps = {"update_ticket",  "add_comment",    "create_ticket",   "delete_ticket",
                                    "restore_ticket", "scrub_ticket",   "system_update",   "update_user",
                                    "delete_user",    "article_edit",   "add_translation", "unpublish",
                                    "publish",        "archive_article"};
const std::set<std::string> kStatuses = {"new", "open", "pending", "hold", "solved", "closed"};

Status Bad(const std::string& where, const std::string& what) { return InvalidArgument(where + ": " + what); }

// The ticket (or user) ids an action names: "ids":[…], "range":[first,last] or "ticket"/"user":id.
std::vector<int64_t> Ids(const json& action, const char* single) {
  std::vector<int64_t> ids;
  if (action.contains("ids")) {
    for (const auto& id : action["ids"]) ids.push_back(id.get<int64_t>());
  }
  if (action.contains("range")) {
    for (int64_t id = action["range"][0].get<int64_t>(); id <= action["range"][1].get<int64_t>(); ++id)
      ids.push_back(id);
  }
  if (action.contains(single)) ids.push_back(action[single].get<int64_t>());
  return ids;
}

std::string Html(const std::string& text) {
  std::string out = "<div class=\"zd-comment\" dir=\"auto\"><p dir=\"auto\">";
  for (char c : text) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out + "</p></div>";
}

}  // namespace

Result<std::vector<TimelineStep>> ParseTimeline(const json& document) {
  const json* steps = &document;
  if (document.is_object()) {
    if (!document.contains("steps")) return Error(InvalidArgument("a timeline needs \"steps\""));
    steps = &document["steps"];
  }
  if (!steps->is_array()) return Error(InvalidArgument("timeline steps must be an array"));
  std::vector<TimelineStep> out;
  for (size_t i = 0; i < steps->size(); ++i) {
    const json& step = (*steps)[i];
    const std::string where = "step " + std::to_string(i + 1);
    if (!step.is_object()) return Error(Bad(where, "not an object"));
    if (step.contains("advance_seconds") && !step["advance_seconds"].is_number_integer()) {
      return Error(Bad(where, "advance_seconds must be an integer"));
    }
    if (!step.contains("actions") || !step["actions"].is_array())
      return Error(Bad(where, "needs \"actions\": [...]"));
    for (size_t k = 0; k < step["actions"].size(); ++k) {
      const json& action = step["actions"][k];
      const std::string at = where + " action " + std::to_string(k + 1);
      if (!action.is_object() || !action.contains("op") || !action["op"].is_string()) {
        return Error(Bad(at, "needs an \"op\""));
      }
      const std::string op = action["op"];
      if (!kOps.count(op)) return Error(Bad(at, "unknown op '" + op + "'"));
      for (const char* key : {"ids", "range"}) {
        if (action.contains(key) &&
            (!action[key].is_array() || !std::all_of(action[key].begin(), action[key].end(),
                                                     [](const json& v) { return v.is_number_integer(); }))) {
          return Error(Bad(at, std::string(key) + " must be an array of integers"));
        }
      }
      if (action.contains("range") && action["range"].size() != 2)
        return Error(Bad(at, "range is [first, last]"));
      for (const char* key : {"ticket", "user", "article", "author_id", "requester_id", "assignee_id"}) {
        if (action.contains(key) && !action[key].is_number_integer()) {
          return Error(Bad(at, std::string(key) + " must be an integer"));
        }
      }
      for (const char* key : {"status", "priority", "subject", "body", "title", "locale", "name", "type"}) {
        if (action.contains(key) && !action[key].is_string())
          return Error(Bad(at, std::string(key) + " must be a string"));
      }
      if (action.contains("status") && !kStatuses.count(action["status"].get<std::string>())) {
        return Error(Bad(at, "unknown status"));
      }
    }
    out.push_back({step.value("name", "step " + std::to_string(i + 1)), step});
  }
  return out;
}

Result<std::vector<TimelineStep>> LoadTimeline(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error(NotFound("cannot read " + path));
  std::stringstream text;
  text << in.rdbuf();
  json document = json::parse(text.str(), nullptr, false);
  if (document.is_discarded()) return Error(InvalidArgument(path + " is not valid JSON"));
  auto steps = ParseTimeline(document);
  if (!steps) return Error(InvalidArgument(path + ": " + steps.error().message()));
  return steps;
}

Result<nlohmann::ordered_json> ApplyTimelineStep(Account* a, const TimelineStep& step) {
  const json& spec = step.spec;
  a->now += spec.value("advance_seconds", 60);
  const int64_t now = a->now;
  std::set<int64_t> tickets_changed;
  int comments_added = 0;
  std::set<int64_t> articles_changed;
  std::set<int64_t> users_changed;
  const int64_t actor = a->users.empty() ? 0 : a->users.front().id;

  auto event = [&](Ticket& t, std::vector<std::tuple<std::string, std::string, std::string>> changes,
                   int comment_index) {
    t.updated_at = now;
    t.generated_timestamp = now;
    TicketEvent e;
    e.id = comment_index >= 0 ? t.comments[static_cast<size_t>(comment_index)].audit_id : a->next_id++;
    e.ticket_id = t.id;
    e.updater_id = comment_index >= 0 ? t.comments[static_cast<size_t>(comment_index)].author_id : actor;
    e.timestamp = now;
    e.changes = std::move(changes);
    e.comment_index = comment_index;
    a->ticket_events.push_back(std::move(e));
    tickets_changed.insert(t.id);
  };
  auto add_comment = [&](Ticket& t, const json& action) -> Status {
    Comment c;
    c.id = a->next_id++;
    c.audit_id = a->next_id++;
    c.author_id = action.value("author_id", t.requester_id);
    if (a->FindUser(c.author_id) == nullptr)
      return InvalidArgument("unknown author " + std::to_string(c.author_id));
    c.body = action.value("body", std::string("A new comment."));
    c.html_body = Html(c.body);
    c.is_public = action.value("public", true);
    c.channel = action.value("channel", std::string("web"));
    c.created_at = now;
    for (const auto& kind_name : action.value("attachments", json::array())) {
      deskpipe::emulator::AttachmentKind kind;
      if (!kind_name.is_string() ||
          !deskpipe::emulator::ParseAttachmentKind(kind_name.get<std::string>(), &kind)) {
        return InvalidArgument("unknown attachment kind " + kind_name.dump());
      }
      const int64_t id = a->next_id++;
      auto attachment = deskpipe::emulator::BuildAttachment(
          id, kind, "ticket-" + std::to_string(t.id) + "-" + std::to_string(id),
          "Brightline attachment " + std::to_string(id) + " for ticket " + std::to_string(t.id) + ".", now);
      if (!attachment) return attachment.error();
      c.attachments.push_back(std::move(*attachment));
    }
    t.comments.push_back(std::move(c));
    ++comments_added;
    event(t, {}, static_cast<int>(t.comments.size()) - 1);
    return Status::Ok();
  };

  for (const json& action : spec["actions"]) {
    const std::string op = action["op"];
    const std::string where = step.name + ": " + op;
    if (op == "create_ticket") {
      Ticket t;
      t.id = static_cast<int64_t>(a->tickets.size()) + 1;
      t.subject = action.value("subject", std::string("New ticket"));
      t.status = action.value("status", std::string("new"));
      t.requester_id = action.value("requester_id", a->users.back().id);
      const User* requester = a->FindUser(t.requester_id);
      if (requester == nullptr) return Error(InvalidArgument(where + ": unknown requester"));
      t.submitter_id = t.requester_id;
      t.organization_id = requester->organization_id;
      t.created_at = now;
      a->tickets.push_back(std::move(t));
      Ticket& added = a->tickets.back();
      json first = action;
      first["author_id"] = added.requester_id;
      if (Status s = add_comment(added, first); !s.ok())
        return Error(InvalidArgument(where + ": " + s.message()));
      a->ticket_events.back().created = true;
      a->ticket_events.back().changes = {{"subject", added.subject, ""}, {"status", added.status, ""}};
      continue;
    }
    if (op == "update_user" || op == "delete_user") {
      for (int64_t id : Ids(action, "user")) {
        User* u = a->MutableUser(id);
        if (u == nullptr) return Error(InvalidArgument(where + ": unknown user " + std::to_string(id)));
        if (op == "delete_user") u->active = false;
        if (action.contains("name")) u->name = action["name"];
        if (action.contains("email")) u->email = action["email"];
        u->updated_at = now;
        users_changed.insert(id);
      }
      continue;
    }
    if (op == "article_edit" || op == "add_translation" || op == "unpublish" || op == "publish" ||
        op == "archive_article") {
      if (!action.contains("article")) return Error(InvalidArgument(where + ": needs \"article\""));
      Article* art = a->MutableArticle(action["article"].get<int64_t>());
      if (art == nullptr || art->archived) return Error(InvalidArgument(where + ": unknown article"));
      const std::string locale = action.value("locale", art->source_locale);
      if (std::find(a->locales.begin(), a->locales.end(), locale) == a->locales.end()) {
        return Error(InvalidArgument(where + ": locale " + locale + " is not a Help Center locale"));
      }
      if (op == "archive_article") {
        art->archived = true;
      } else if (op == "add_translation") {
        if (art->Find(locale) != nullptr)
          return Error(InvalidArgument(where + ": " + locale + " already exists"));
        art->translations.push_back({.id = a->next_id++,
                                     .locale = locale,
                                     .title = action.value("title", std::string("Translated article")),
                                     .body = action.value("body", std::string("<p>Translated.</p>")),
                                     .draft = action.value("draft", false),
                                     .created_at = now,
                                     .updated_at = now});
      } else {
        ArticleTranslation* t = art->Find(locale);
        if (t == nullptr) return Error(InvalidArgument(where + ": no " + locale + " translation"));
        if (op == "article_edit") {
          if (action.contains("title")) t->title = action["title"];
          if (action.contains("body")) t->body = action["body"];
          t->outdated = false;
          // Editing the source marks the other translations outdated (docs/zendesk-api.md §9, assumed).
          if (locale == art->source_locale) {
            for (auto& other : art->translations) {
              if (other.locale != locale) other.outdated = true;
            }
          }
          art->edited_at = now;
        } else {
          t->draft = op == "unpublish";
        }
        t->updated_at = now;
      }
      art->updated_at = now;
      articles_changed.insert(art->id);
      continue;
    }
    const std::vector<int64_t> ids = Ids(action, "ticket");
    if (ids.empty()) return Error(InvalidArgument(where + ": names no ticket"));
    for (int64_t id : ids) {
      Ticket* t = a->MutableTicket(id);
      if (t == nullptr || t->scrubbed)
        return Error(InvalidArgument(where + ": unknown ticket " + std::to_string(id)));
      const bool deleted = t->status == "deleted";
      if (op == "delete_ticket") {
        if (deleted)
          return Error(InvalidArgument(where + ": ticket " + std::to_string(id) + " is already deleted"));
        t->previous_status = t->status;
        t->status = "deleted";
        t->deleted_at = now;
        t->deleted_by = actor;
        event(*t, {{"status", "deleted", t->previous_status}}, -1);
      } else if (op == "restore_ticket") {
        if (!deleted)
          return Error(InvalidArgument(where + ": ticket " + std::to_string(id) + " is not deleted"));
        t->status = t->previous_status;
        t->deleted_at.reset();
        t->deleted_by.reset();
        event(*t, {{"status", t->status, "deleted"}}, -1);
      } else if (op == "scrub_ticket") {
        // Zendesk only permanently deletes a ticket that is soft-deleted first.
        if (!deleted)
          return Error(InvalidArgument(where + ": ticket " + std::to_string(id) + " is not deleted"));
        t->scrubbed = true;
        tickets_changed.insert(id);
      } else if (deleted) {
        return Error(InvalidArgument(where + ": ticket " + std::to_string(id) + " is deleted"));
      } else if (op == "system_update") {
        t->generated_timestamp = now;  // no event, updated_at stays: the export still shows the ticket again
        tickets_changed.insert(id);
      } else if (op == "add_comment") {
        if (Status s = add_comment(*t, action); !s.ok())
          return Error(InvalidArgument(where + ": " + s.message()));
      } else if (op == "update_ticket") {
        std::vector<std::tuple<std::string, std::string, std::string>> changes;
        auto set = [&](const char* key, std::string* field) {
          if (action.contains(key) && action[key].get<std::string>() != *field) {
            changes.emplace_back(key, action[key].get<std::string>(), *field);
            *field = action[key];
          }
        };
        set("status", &t->status);
        set("subject", &t->subject);
        if (action.contains("priority")) {
          changes.emplace_back("priority", action["priority"], t->priority.value_or(""));
          t->priority = action["priority"].get<std::string>();
        }
        if (action.contains("type")) t->type = action["type"].get<std::string>();
        if (action.contains("assignee_id")) {
          const int64_t assignee = action["assignee_id"];
          if (a->FindUser(assignee) == nullptr) return Error(InvalidArgument(where + ": unknown assignee"));
          changes.emplace_back("assignee_id", std::to_string(assignee),
                               std::to_string(t->assignee_id.value_or(0)));
          t->assignee_id = assignee;
        }
        if (action.contains("tags")) t->tags = action["tags"].get<std::vector<std::string>>();
        if (action.contains("add_tag")) t->tags.push_back(action["add_tag"]);
        event(*t, std::move(changes), -1);
      }
    }
  }
  a->BuildIndexes();
  nlohmann::ordered_json summary;
  summary["name"] = step.name;
  summary["now"] = now;
  summary["tickets_changed"] = tickets_changed.size();
  nlohmann::ordered_json listed = nlohmann::ordered_json::array();
  for (int64_t id : tickets_changed) {
    if (listed.size() < 100) listed.push_back(id);
  }
  summary["ticket_ids"] = std::move(listed);
  summary["comments_added"] = comments_added;
  summary["articles_changed"] = articles_changed.size();
  summary["users_changed"] = users_changed.size();
  return summary;
}

}  // namespace deskpipe::zendesk_emulator
