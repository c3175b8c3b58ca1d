#include "tools/zendesk-emulator/dataset.h"

#include <algorithm>

#include "tools/freshdesk-emulator/dataset.h"
#include "tools/freshdesk-emulator/generator.h"
#include "tools/zendesk-emulator/generator.h"

namespace deskpipe::zendesk_emulator {
namespace {

std::string StatusName(int freshdesk_status) {
  switch (freshdesk_status) {
    case 2:
      return "open";
    case 3:
      return "pending";
    case 4:
      return "solved";
    case 5:
      return "closed";
    default:
      return "hold";
  }
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
    else if (c == '\n')
      out += "<br>";
    else
      out += c;
  }
  return out + "</p></div>";
}

}  // namespace

Result<void> LoadDataset(Account* account, const std::string& directory, int max_tickets, uint64_t seed) {
  namespace fd = deskpipe::emulator;
  auto helpdesk = fd::GenerateHelpdesk({.seed = seed, .tickets = 0, .now = account->now});
  if (!helpdesk) return Error(helpdesk.error());
  if (auto loaded = fd::LoadDataset(&*helpdesk, directory, max_tickets); !loaded)
    return Error(loaded.error());

  std::vector<const User*> agents;
  std::vector<const User*> customers;
  for (const User& u : account->users) (u.role == "end-user" ? customers : agents).push_back(&u);
  if (agents.empty() || customers.empty())
    return Error(InvalidArgument("the account has no agents or end users"));
  int64_t next_id = account->next_id;
  std::vector<Ticket> tickets;
  for (const fd::Ticket& source : helpdesk->tickets) {
    if (source.purged) continue;
    Ticket t;
    t.id = static_cast<int64_t>(tickets.size()) + 1;
    const User& requester = *customers[static_cast<size_t>(t.id) % customers.size()];
    const User& agent = *agents[static_cast<size_t>(t.id) % agents.size()];
    t.subject = source.subject;
    t.status = StatusName(source.status);
    t.priority = std::string(source.priority >= 3 ? "high" : "normal");
    t.requester_id = requester.id;
    t.submitter_id = requester.id;
    t.organization_id = requester.organization_id;
    t.assignee_id = agent.id;
    t.group_id = agent.default_group_id;
    t.tags = source.tags;
    t.channel = source.source == 7 ? "twitter" : "email";
    t.created_at = source.created_at;
    t.updated_at = std::max(source.updated_at, source.created_at);
    t.generated_timestamp = t.updated_at;
    auto comment = [&](int64_t author, const std::string& text, bool is_public, int64_t at) {
      Comment c;
      c.id = next_id++;
      c.audit_id = next_id++;
      c.author_id = author;
      c.body = text;
      c.html_body = Html(text);
      c.is_public = is_public;
      c.channel = t.channel;
      c.created_at = at;
      t.comments.push_back(std::move(c));
    };
    comment(requester.id, source.description_text, true, source.created_at);
    for (const fd::Conversation& c : helpdesk->ConversationsOf(source)) {
      comment(c.incoming() ? requester.id : agent.id, c.body_text, !c.is_private(), c.created_at);
    }
    tickets.push_back(std::move(t));
  }
  account->tickets = std::move(tickets);

  account->sections.clear();
  account->articles.clear();
  const int64_t category = account->categories.empty() ? 0 : account->categories.front().id;
  for (const fd::Folder& folder : helpdesk->folders) {
    if (folder.articles.empty()) continue;
    Section s{.id = folder.id,
              .category_id = category,
              .name = folder.name,
              .description = folder.description,
              .position = static_cast<int>(account->sections.size()),
              .created_at = folder.created_at,
              .updated_at = folder.updated_at};
    account->sections.push_back(s);
    for (size_t index : folder.articles) {
      const fd::Article& source = helpdesk->articles[index];
      Article art;
      art.id = source.id;
      art.section_id = folder.id;
      art.author_id = agents[static_cast<size_t>(source.id) % agents.size()]->id;
      art.position = static_cast<int>(account->articles.size());
      art.label_names = source.tags;
      art.created_at = source.created_at;
      art.edited_at = source.updated_at;
      art.updated_at = source.updated_at;
      art.translations.push_back({.id = next_id++,
                                  .locale = account->default_locale,
                                  .title = source.title,
                                  .body = source.description_html,
                                  .draft = source.status == 1,
                                  .created_at = source.created_at,
                                  .updated_at = source.updated_at});
      account->articles.push_back(std::move(art));
    }
  }
  account->next_id = next_id;
  BuildTicketEvents(account);
  account->BuildIndexes();
  return {};
}

}  // namespace deskpipe::zendesk_emulator
