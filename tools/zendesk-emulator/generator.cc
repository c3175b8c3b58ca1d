#include "generator.h"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "attachments.h"

namespace deskpipe::zendesk_emulator {
namespace {

constexpr int64_t kDay = 86400;
constexpr int64_t kAgentBase = 361'000'000'000;
constexpr int64_t kEndUserBase = 362'000'000'000;
constexpr int64_t kOrganizationBase = 363'000'000'000;
constexpr int64_t kGroupBase = 364'000'000'000;
constexpr int64_t kFieldBase = 365'000'000'000;
constexpr int64_t kOptionBase = 365'100'000'000;
constexpr int64_t kCategoryBase = 380'000'000'000;
constexpr int64_t kSectionBase = 381'000'000'000;
constexpr int64_t kArticleBase = 382'000'000'000;
constexpr int64_t kSequenceBase = 370'000'000'000;  // comments, audits, attachments, translations

// splitmix64: portable, so the same seed gives the same account with any standard library.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  int64_t Below(int64_t n) { return n <= 0 ? 0 : static_cast<int64_t>(Next() % static_cast<uint64_t>(n)); }
  bool Chance(int percent) { return Below(100) < percent; }
  template <typename T, size_t N>
  const T& Pick(const std::array<T, N>& items) {
    return items[static_cast<size_t>(Below(N))];
  }

 private:
  uint64_t state_;
};

const std::array<const char*, 16> kFirstNames = {"Ada",   "Ben",  "Chloe", "Dev",   "Elif",  "Farid",
                                                 "Grace", "Hugo", "Ines",  "Jonas", "Kemal", "Lena",
                                                 "Marta", "Nils", "Omar",  "Priya"};
const std::array<const char*, 12> kLastNames = {"Okafor", "Lindqvist", "Moreau", "Tanaka",  "Novak", "Silva",
                                                "Brandt", "Costa",     "Haddad", "Iverson", "Kowal", "Reyes"};
const std::array<const char*, 10> kCompanies = {
    "Northwind",       "Acme Freight", "Bluefin Labs", "Cobalt Health",    "Delta Print",
    "Evergreen Foods", "Fjord Media",  "Granite Bank", "Harbor Logistics", "Ionic Retail"};
const std::array<const char*, 8> kAreas = {"billing",  "exports", "single sign-on",   "the mobile app",
                                           "webhooks", "reports", "user invitations", "the API"};
const std::array<const char*, 8> kProblems = {"fails with an error",
                                              "is very slow",
                                              "shows the wrong totals",
                                              "stopped working after the update",
                                              "times out for large accounts",
                                              "sends duplicate emails",
                                              "cannot be enabled",
                                              "logs me out"};
const std::array<const char*, 6> kAsks = {"Could you look into it?",          "Is there a workaround?",
                                          "This blocks our month-end close.", "Our whole team is affected.",
                                          "It worked fine last week.",        "Please advise."};
const std::array<const char*, 6> kReplies = {
    "Thanks for the details. We reproduced it and a fix is scheduled for the next release.",
    "Could you send us the time it happened and a screenshot of the error?",
    "Please clear the cache and sign in again; that resets the session token.",
    "We changed the setting on our side. Can you try again now?",
    "This is a known issue; as a workaround, export in smaller date ranges.",
    "I have escalated this to our engineers and will update you tomorrow."};
const std::array<const char*, 4> kCustomerReplies = {"That worked, thank you!", "Still failing on my side.",
                                                     "Attached is the screenshot you asked for.",
                                                     "Any update on this?"};
const std::array<const char*, 4> kNotes = {
    "Customer is on the enterprise plan, prioritise.", "Linked to the incident from Tuesday.",
    "Checked the logs: token expired at 09:14 UTC.", "Waiting for engineering to confirm the root cause."};
const std::array<const char*, 6> kChannels = {"web", "email", "email", "api", "chat", "mobile"};

std::string Escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else
      out += c;
  }
  return out;
}

// Zendesk's html_body wraps each paragraph; the plain body is the text itself.
std::string CommentHtml(const std::string& text) {
  return "<div class=\"zd-comment\" dir=\"auto\"><p dir=\"auto\">" + Escape(text) + "</p></div>";
}

Comment MakeComment(int64_t* next_id, int64_t author, const std::string& text, bool is_public,
                    const std::string& channel, int64_t at) {
  Comment c;
  c.id = (*next_id)++;
  c.audit_id = (*next_id)++;
  c.author_id = author;
  c.body = text;
  c.html_body = CommentHtml(text);
  c.is_public = is_public;
  c.channel = channel;
  c.created_at = at;
  return c;
}

}  // namespace

void BuildTicketEvents(Account* account) {
  account->ticket_events.clear();
  for (const Ticket& t : account->tickets) {
    if (t.scrubbed) continue;
    for (size_t i = 0; i < t.comments.size(); ++i) {
      TicketEvent e;
      e.id = t.comments[i].audit_id;
      e.ticket_id = t.id;
      e.updater_id = t.comments[i].author_id;
      e.timestamp = t.comments[i].created_at;
      e.comment_index = static_cast<int>(i);
      if (i == 0) {
        e.created = true;
        e.changes.emplace_back("subject", t.subject, "");
        e.changes.emplace_back("status", "new", "");
        e.changes.emplace_back("requester_id", std::to_string(t.requester_id), "");
      }
      account->ticket_events.push_back(std::move(e));
    }
    if (t.updated_at > (t.comments.empty() ? t.created_at : t.comments.back().created_at)) {
      TicketEvent e;
      e.id = t.comments.empty() ? t.id : t.comments.back().audit_id + 1'000'000'000;  // disjoint band
      e.ticket_id = t.id;
      e.updater_id = t.assignee_id.value_or(t.requester_id);
      e.timestamp = t.updated_at;
      e.changes.emplace_back("status", t.status == "deleted" ? t.previous_status : t.status, "open");
      account->ticket_events.push_back(std::move(e));
    }
  }
  std::sort(account->ticket_events.begin(), account->ticket_events.end(),
            [](const TicketEvent& a, const TicketEvent& b) {
              return a.timestamp != b.timestamp ? a.timestamp < b.timestamp : a.id < b.id;
            });
}

Result<Account> GenerateAccount(const GeneratorOptions& options) {
  if (options.tickets < 0 || options.tickets > kMaxTickets) {
    return Error(InvalidArgument("tickets must be in 0.." + std::to_string(kMaxTickets)));
  }
  if (options.now <= 0) return Error(InvalidArgument("now must be a positive Unix time"));
  Rng rng(options.seed);
  Account a;
  a.now = options.now;
  a.locales = {"en-us", "fr", "de"};
  const int64_t start = options.now - 2 * 365 * kDay;
  const int64_t setup = start - 30 * kDay;  // users, groups, fields exist before the first ticket
  int64_t next_id = kSequenceBase;

  const std::array<std::pair<const char*, const char*>, 4> groups = {
      std::pair{"Support", "First line"}, std::pair{"Billing", "Invoices and plans"},
      std::pair{"Engineering", "Escalations"}, std::pair{"Onboarding", "New accounts"}};
  for (size_t i = 0; i < groups.size(); ++i) {
    a.groups.push_back({.id = kGroupBase + static_cast<int64_t>(i) + 1,
                        .name = groups[i].first,
                        .description = groups[i].second,
                        .is_default = i == 0,
                        .created_at = setup,
                        .updated_at = setup + static_cast<int64_t>(i) * 3600});
  }
  const int organizations = std::clamp(options.tickets / 20, 5, 200);
  for (int i = 0; i < organizations; ++i) {
    Organization o;
    o.id = kOrganizationBase + i + 1;
    o.name =
        std::string(kCompanies[i % kCompanies.size()]) + (i >= 10 ? " " + std::to_string(i / 10 + 1) : "");
    std::string domain = o.name;
    std::transform(domain.begin(), domain.end(), domain.begin(),
                   [](char c) { return c == ' ' ? '-' : std::tolower(c); });
    o.domain_names = {domain + ".example"};
    o.details = "Customer since " + std::to_string(2020 + i % 5);
    o.group_id = a.groups[static_cast<size_t>(i) % a.groups.size()].id;
    o.tags = {i % 3 == 0 ? "enterprise" : "smb"};
    o.created_at = setup + i * 600;
    o.updated_at = o.created_at + rng.Below(700 * kDay);
    a.organizations.push_back(std::move(o));
  }
  auto person = [&](int i) {
    return std::string(kFirstNames[static_cast<size_t>(i) % kFirstNames.size()]) + " " +
           kLastNames[static_cast<size_t>(i / 16) % kLastNames.size()];
  };
  constexpr int kAgents = 10;
  for (int i = 0; i < kAgents; ++i) {
    User u;
    u.id = kAgentBase + i + 1;
    u.name = person(i * 5 + 3);
    u.email = "agent" + std::to_string(i + 1) + "@brightline.example";
    u.role = i == 0 ? "admin" : "agent";
    u.default_group_id = a.groups[static_cast<size_t>(i) % a.groups.size()].id;
    u.created_at = setup;
    u.updated_at = setup + i * 60;
    a.users.push_back(std::move(u));
  }
  const int end_users = std::max(30, options.tickets / 3);
  for (int i = 0; i < end_users; ++i) {
    User u;
    u.id = kEndUserBase + i + 1;
    u.name = person(i);
    u.email = "customer" + std::to_string(i + 1) + "@example.com";
    u.organization_id = a.organizations[static_cast<size_t>(i) % a.organizations.size()].id;
    u.locale = i % 7 == 0 ? "fr" : (i % 11 == 0 ? "de" : "en-US");
    u.created_at = start + rng.Below(365 * kDay);
    u.updated_at = u.created_at + rng.Below(options.now - 120 - u.created_at);
    a.users.push_back(std::move(u));
  }
  a.users.back().updated_at = options.now - 10;  // inside the excluded minute

  int position = 0;
  auto system_field = [&](const char* type, const char* title, bool required) {
    a.ticket_fields.push_back({.id = kFieldBase + position + 1,
                               .type = type,
                               .title = title,
                               .position = position,
                               .required = required,
                               .removable = false,
                               .created_at = setup,
                               .updated_at = setup});
    ++position;
  };
  system_field("subject", "Subject", true);
  system_field("description", "Description", true);
  system_field("status", "Status", true);
  system_field("priority", "Priority", false);
  system_field("tickettype", "Type", false);
  system_field("group", "Group", false);
  system_field("assignee", "Assignee", false);
  int64_t option_id = kOptionBase;
  auto tagger = [&](const char* title, std::vector<std::pair<const char*, const char*>> options_list) {
    TicketField f{.id = kFieldBase + position + 1,
                  .type = "tagger",
                  .title = title,
                  .position = position,
                  .created_at = setup + kDay,
                  .updated_at = setup + 2 * kDay};
    for (const auto& [name, value] : options_list) f.options.push_back({++option_id, name, value});
    a.ticket_fields.push_back(std::move(f));
    ++position;
  };
  tagger("Plan tier",
         {{"Basic", "plan_basic"}, {"Premium", "plan_premium"}, {"Enterprise", "plan_enterprise"}});
  tagger("Region", {{"EU", "region_eu"}, {"US", "region_us"}, {"APAC", "region_apac"}});
  a.ticket_fields.push_back({.id = kFieldBase + position + 1,
                             .type = "text",
                             .title = "Order reference",
                             .position = position,
                             .created_at = setup + kDay,
                             .updated_at = setup + kDay});
  ++position;
  a.ticket_fields.push_back({.id = kFieldBase + position + 1,
                             .type = "checkbox",
                             .title = "Reproducible",
                             .position = position,
                             .created_at = setup + kDay,
                             .updated_at = setup + kDay});
  ++position;
  const TicketField& plan_field = a.ticket_fields[7];
  const TicketField& region_field = a.ticket_fields[8];
  const int64_t order_field = a.ticket_fields[9].id;
  const int64_t repro_field = a.ticket_fields[10].id;

  std::vector<int64_t> created(static_cast<size_t>(options.tickets));
  for (auto& c : created) c = start + rng.Below(2 * 365 * kDay - kDay);
  std::sort(created.begin(), created.end());
  const std::array<const char*, 4> priorities = {"low", "normal", "normal", "high"};
  const std::array<const char*, 4> types = {"question", "incident", "problem", "task"};
  for (int i = 0; i < options.tickets; ++i) {
    Ticket t;
    t.id = i + 1;
    const User& requester = a.users[static_cast<size_t>(kAgents + rng.Below(end_users))];
    t.requester_id = requester.id;
    t.submitter_id = requester.id;
    t.organization_id = requester.organization_id;
    t.created_at = created[static_cast<size_t>(i)];
    t.channel = rng.Pick(kChannels);
    const std::string area = rng.Pick(kAreas);
    const std::string problem = rng.Pick(kProblems);
    t.subject = "Problem with " + area + ": it " + problem;
    if (i % 3 == 0)
      t.subject = std::string(1, static_cast<char>(std::toupper(area[0]))) + area.substr(1) + " " + problem;
    t.priority = rng.Chance(15) ? std::nullopt : std::optional<std::string>(rng.Pick(priorities));
    t.type = rng.Chance(20) ? std::nullopt : std::optional<std::string>(rng.Pick(types));
    const size_t group = static_cast<size_t>(rng.Below(static_cast<int64_t>(a.groups.size())));
    t.group_id = a.groups[group].id;
    const int64_t agent = a.users[static_cast<size_t>(rng.Below(kAgents))].id;
    if (!rng.Chance(10)) t.assignee_id = agent;
    t.tags = {area == "billing" ? "billing" : "product", std::string(t.channel)};
    const auto& plan = plan_field.options[static_cast<size_t>(rng.Below(3))];
    const auto& region = region_field.options[static_cast<size_t>(rng.Below(3))];
    t.tags.push_back(plan.value);
    t.tags.push_back(region.value);
    t.custom_fields = {{plan_field.id, plan.value},
                       {region_field.id, region.value},
                       {order_field, rng.Chance(40) ? "ORD-" + std::to_string(10000 + rng.Below(90000)) : ""},
                       {repro_field, rng.Chance(50) ? "true" : "false"}};

    const std::string description =
        "Hello, " + area + " " + problem + " since this morning. " + rng.Pick(kAsks);
    t.comments.push_back(MakeComment(&next_id, requester.id, description, true, t.channel, t.created_at));
    const int replies = static_cast<int>(rng.Below(7));
    int64_t at = t.created_at;
    const int64_t horizon = options.now - 120;
    for (int r = 0; r < replies; ++r) {
      at += 60 + rng.Below(2 * kDay);
      if (at >= horizon) break;
      const int kind = static_cast<int>(rng.Below(3));
      if (kind == 0) {
        t.comments.push_back(
            MakeComment(&next_id, t.assignee_id.value_or(agent), rng.Pick(kReplies), true, "web", at));
      } else if (kind == 1) {
        t.comments.push_back(
            MakeComment(&next_id, requester.id, rng.Pick(kCustomerReplies), true, "email", at));
      } else {
        t.comments.push_back(
            MakeComment(&next_id, t.assignee_id.value_or(agent), rng.Pick(kNotes), false, "web", at));
      }
      if (rng.Chance(8)) {
        const std::array<deskpipe::emulator::AttachmentKind, 3> kinds = {
            deskpipe::emulator::AttachmentKind::kTxt, deskpipe::emulator::AttachmentKind::kCsv,
            deskpipe::emulator::AttachmentKind::kPdf};
        const auto kind_of_file = rng.Pick(kinds);
        const int64_t attachment_id = next_id++;
        const std::string text = "Brightline log for ticket " + std::to_string(t.id) + ": reference code Z-" +
                                 std::to_string(1000 + t.id % 9000) + ".";
        auto attachment = deskpipe::emulator::BuildAttachment(
            attachment_id, kind_of_file, "ticket-" + std::to_string(t.id) + "-log", text, at);
        if (!attachment) return Error(attachment.error());
        t.comments.back().attachments.push_back(std::move(*attachment));
      }
    }
    const int64_t age_days = (options.now - t.created_at) / kDay;
    if (age_days > 60) {
      t.status = rng.Chance(70) ? "closed" : "solved";
    } else {
      const std::array<const char*, 5> open_states = {"new", "open", "open", "pending", "hold"};
      t.status = rng.Chance(30) ? "solved" : rng.Pick(open_states);
    }
    t.updated_at = std::min(t.comments.back().created_at + rng.Below(600), horizon);
    t.generated_timestamp = t.updated_at;
    if (rng.Chance(3)) t.generated_timestamp = std::min(t.updated_at + rng.Below(30 * kDay), horizon);
    if (rng.Chance(2) || t.id % 50 == 17) {  // every account of 17+ tickets has one
      t.previous_status = t.status;
      t.status = "deleted";
      t.deleted_at = t.updated_at;
      t.deleted_by = a.users[0].id;
    }
    a.tickets.push_back(std::move(t));
  }
  if (!a.tickets.empty()) {  // one change inside the excluded minute
    Ticket& last = a.tickets.back();
    if (last.status == "deleted") {
      last.status = last.previous_status;
      last.deleted_at.reset();
      last.deleted_by.reset();
    }
    last.updated_at = options.now - 20;
    last.generated_timestamp = last.updated_at;
  }

  const std::array<std::pair<const char*, const char*>, 3> categories = {
      std::pair{"Getting started", "Set up your Brightline workspace"},
      std::pair{"Billing and plans", "Invoices, payments and plan changes"},
      std::pair{"Troubleshooting", "Fixes for common problems"}};
  for (size_t i = 0; i < categories.size(); ++i) {
    a.categories.push_back({.id = kCategoryBase + static_cast<int64_t>(i) + 1,
                            .name = categories[i].first,
                            .description = categories[i].second,
                            .position = static_cast<int>(i),
                            .created_at = setup,
                            .updated_at = setup});
  }
  for (int i = 0; i < 8; ++i) {
    a.sections.push_back({.id = kSectionBase + i + 1,
                          .category_id = a.categories[static_cast<size_t>(i % 3)].id,
                          .name = "Using " + std::string(kAreas[static_cast<size_t>(i)]),
                          .description = "Guides for " + std::string(kAreas[static_cast<size_t>(i)]),
                          .position = i,
                          .created_at = setup,
                          .updated_at = setup + i * kDay});
  }
  const int articles = std::max(10, options.tickets / 5);
  for (int i = 0; i < articles; ++i) {
    Article art;
    art.id = kArticleBase + i + 1;
    const size_t section = static_cast<size_t>(i) % a.sections.size();
    art.section_id = a.sections[section].id;
    art.author_id = a.users[static_cast<size_t>(rng.Below(kAgents))].id;
    art.position = i;
    art.promoted = i % 13 == 0;
    art.label_names = {kAreas[section]};
    art.created_at = start + rng.Below(600 * kDay);
    art.edited_at = art.created_at + rng.Below(90 * kDay);
    const std::string area = kAreas[section];
    const std::string problem = rng.Pick(kProblems);
    ArticleTranslation en{.id = next_id++,
                          .locale = "en-us",
                          .title = "When " + area + " " + problem + " (" + std::to_string(i + 1) + ")",
                          .body = "<h2>Symptoms</h2><p>" + Escape(area) + " " + problem +
                                  ".</p><h2>Fix</h2><ol><li>" + Escape(rng.Pick(kReplies)) +
                                  "</li><li>Contact support if it persists.</li></ol>",
                          .draft = rng.Chance(10),
                          .created_at = art.created_at,
                          .updated_at = art.edited_at};
    art.translations.push_back(en);
    if (rng.Chance(60)) {
      art.translations.push_back({.id = next_id++,
                                  .locale = "fr",
                                  .title = "Quand " + area + " ne marche pas (" + std::to_string(i + 1) + ")",
                                  .body = "<p>Solution : " + Escape(area) + ".</p>",
                                  .draft = rng.Chance(10),
                                  .outdated = rng.Chance(20),
                                  .created_at = art.edited_at,
                                  .updated_at = art.edited_at + kDay});
    }
    if (rng.Chance(40)) {
      art.translations.push_back({.id = next_id++,
                                  .locale = "de",
                                  .title = "Wenn " + area + " nicht geht (" + std::to_string(i + 1) + ")",
                                  .body = "<p>Lösung: " + Escape(area) + ".</p>",
                                  .created_at = art.edited_at,
                                  .updated_at = art.edited_at + 2 * kDay});
    }
    art.updated_at = art.translations.back().updated_at;
    a.articles.push_back(std::move(art));
  }
  a.next_id = next_id;
  BuildTicketEvents(&a);
  a.BuildIndexes();
  return a;
}

}  // namespace deskpipe::zendesk_emulator
