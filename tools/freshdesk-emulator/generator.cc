#include "generator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <string_view>
#include <unordered_map>
#include <tuple>
#include <utility>

#include "attachments.h"
#include "core/time.h"

namespace deskpipe::emulator {
namespace {

using std::string_view;

constexpr int64_t kMinute = 60;
constexpr int64_t kHour = 3600;
constexpr int64_t kDay = 86400;

// Id bands (every non-ticket id is an int64 in the 67000000000 range, like real accounts; bands never
// overlap).
constexpr int64_t kEmailConfigId = 67000041667;
constexpr int64_t kGroupIdBase = 67000259900;
constexpr int64_t kCategoryIdBase = 67000173600;
constexpr int64_t kFolderIdBase = 67000255000;
constexpr int64_t kArticleIdBase = 67000284000;
constexpr int64_t kTicketFieldIdBase = 67000410000;
constexpr int64_t kCompanyIdBase = 67001265000;
constexpr int64_t kAgentIdBase = 67013469900;
constexpr int64_t kContactIdBase = 67042965000;
constexpr int64_t kConversationIdBase = 67105000000;
constexpr int64_t kAttachmentIdBase = 67009900000;

// ---------------------------------------------------------------------------------------------------------
// Randomness: splitmix64, so the sequence is the same on every platform and standard library.

uint64_t Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t StreamSeed(uint64_t seed, uint64_t stream, uint64_t index = 0) {
  return Mix(Mix(seed ^ (stream * 0xD1B54A32D192ED03ull)) ^ (index * 0x8CB92BA72F3D8DD7ull));
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    state_ += 0x9E3779B97F4A7C15ull;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Inclusive range; lo <= hi.
  int64_t Uniform(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Next() % static_cast<uint64_t>(hi - lo + 1));
  }
  size_t Index(size_t size) { return static_cast<size_t>(Next() % size); }
  double Real() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return Real() < p; }

  template <typename T, size_t N>
  const T& Pick(const T (&items)[N]) {
    return items[Index(N)];
  }
  template <typename T, size_t N>
  const T& Pick(const std::array<T, N>& items) {
    return items[Index(N)];
  }
  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[Index(items.size())];
  }

 private:
  uint64_t state_;
};

// ---------------------------------------------------------------------------------------------------------
// Vocabulary. Plain text (escaped when put into HTML). Features are singular noun phrases that read after a
// sentence start ("The CSV export times out …"), problems are verb phrases that follow them.

struct Area {
  string_view name;
  int group;  // index into kGroupNames
  std::array<string_view, 5> features;
  std::array<string_view, 4> problems;
  std::array<string_view, 4> actions;
  std::array<string_view, 3> tags;
  std::array<string_view, 2> workarounds;
};

constexpr Area kAreas[] = {
    {"Billing",
     1,
     {"the invoice PDF", "the billing page", "automatic card payment", "the VAT calculation",
      "the upgrade checkout"},
     {"charges us twice for the same month", "shows the old plan price", "rejects a valid company card",
      "adds VAT for a VAT-exempt customer"},
     {"change the billing email address", "download all invoices for last year",
      "switch from monthly to annual billing", "add a purchase order number to invoices"},
     {"billing", "invoices", "payments"},
     {"download the invoice from Settings > Billing > History instead of the email link",
      "remove the saved card and add it again under Settings > Billing"}},
    {"Reports",
     2,
     {"the CSV export", "the scheduled report", "the usage dashboard", "the custom report builder",
      "the Excel export"},
     {"times out on reports over 50k rows", "shows different totals than the invoice",
      "arrives without the attachment", "drops the last column"},
     {"export a report to Excel", "schedule a weekly report for several recipients",
      "share a dashboard with a client", "filter a report by a custom field"},
     {"reports", "export", "dashboard"},
     {"split the date range into smaller periods and export each one",
      "use Export > Email me the file so the export runs in the background"}},
    {"Login",
     2,
     {"SAML single sign-on", "two-factor authentication", "the password reset email", "Google sign-in",
      "the session timeout"},
     {"sends users into a login loop", "never arrives", "rejects codes from the authenticator app",
      "logs users out every few minutes"},
     {"enforce two-factor authentication for all admins", "connect Okta for single sign-on",
      "reset a user's password", "remove a former employee's access"},
     {"sso", "login", "security"},
     {"sign in through the direct login link at /login?sso=false while we fix the redirect",
      "clear the site cookies for app.brightline.example and sign in again"}},
    {"Mobile",
     0,
     {"the iOS app", "the Android app", "the push notification", "offline mode", "the barcode scanner"},
     {"crashes on startup", "does not sync changes made offline", "shows a blank screen after login",
      "drains the battery within a few hours"},
     {"install the mobile app on managed devices", "turn off push notifications for one project",
      "sign in to the app with SSO", "clear the app's local data"},
     {"mobile", "ios", "android"},
     {"update the app to the latest version from the store and restart the phone",
      "log out, remove the app's local data and log in again"}},
    {"Integrations",
     3,
     {"the Slack integration", "the Salesforce sync", "the Zapier connector", "the QuickBooks integration",
      "the Google Calendar sync"},
     {"stopped syncing new records", "creates duplicate contacts", "posts every message twice",
      "fails with an authorization error"},
     {"connect Salesforce to our workspace", "map custom fields in the Salesforce sync",
      "reconnect Slack after changing the workspace owner", "limit which projects sync to Google Calendar"},
     {"integrations", "salesforce", "slack"},
     {"disconnect the integration under Settings > Integrations and connect it again",
      "run a manual sync from the integration page until the fix is released"}},
    {"API",
     3,
     {"the REST API", "the webhook delivery", "the API rate limit", "the bulk import endpoint",
      "the API key page"},
     {"returns 429 errors well below the documented limit", "sends payloads without the customer ID",
      "returns a 500 error for large requests", "rejects a key that was created today"},
     {"rotate an API key without downtime", "verify webhook signatures",
      "page through more than 10,000 records", "create records in bulk through the API"},
     {"api", "webhooks", "developer"},
     {"retry with exponential backoff and honour the Retry-After header",
      "send smaller batches of at most 100 records per request"}},
    {"Notifications",
     0,
     {"the notification email", "the daily digest", "the reminder email", "the custom email domain",
      "the SMS alert"},
     {"lands in the spam folder", "arrives hours late", "is sent in the wrong language",
      "still shows our old logo"},
     {"send notifications from our own domain", "change the language of customer emails",
      "stop reminder emails for cancelled bookings", "add our logo to outgoing emails"},
     {"email", "notifications", "deliverability"},
     {"add our SPF and DKIM records to your DNS so the messages are signed",
      "turn the notification off and on again under Settings > Notifications"}},
    {"Scheduling",
     0,
     {"the booking page", "the recurring appointment", "the calendar view", "the time zone setting",
      "the availability editor"},
     {"shows slots in the wrong time zone", "double-books the same slot",
      "disappears after editing one occurrence", "is off by one hour after the clock change"},
     {"set different working hours per location", "let clients reschedule their own bookings",
      "block out public holidays", "embed the booking page on our website"},
     {"scheduling", "calendar", "bookings"},
     {"set the time zone on each staff profile as well as on the account",
      "recreate the recurring series from the first future occurrence"}},
    {"Permissions",
     4,
     {"the viewer role", "the invite link", "team permissions", "the audit log", "guest access"},
     {"lets viewers edit records", "has already expired when it arrives", "does not record deleted items",
      "hides shared projects from admins"},
     {"give a contractor read-only access", "transfer ownership of the account",
      "invite 200 users from a CSV file", "see who deleted a record"},
     {"permissions", "users", "admin"},
     {"remove the user from the team and invite them again with the Viewer role",
      "ask the account owner to re-send the invitation from Settings > Users"}},
    {"Import",
     2,
     {"the CSV importer", "the data migration tool", "duplicate detection", "the spreadsheet template",
      "custom field mapping"},
     {"skips rows with accented characters", "fails at 99 percent without an error",
      "merges records that are not duplicates", "turns dates into plain numbers"},
     {"import contacts from our old CRM", "undo an import", "import records with custom fields",
      "migrate attachments from our old system"},
     {"import", "migration", "csv"},
     {"save the file as UTF-8 CSV before uploading it", "import the file in batches of 5,000 rows"}},
};
constexpr size_t kAreaCount = std::size(kAreas);

constexpr string_view kGroupNames[] = {"Tier 1 Support", "Billing", "Technical Support", "Integrations",
                                       "Escalations"};
constexpr string_view kGroupDescriptions[] = {
    "First line: how-to questions, mobile apps, scheduling and notifications",
    "Invoices, payments, refunds and plan changes", "Reports, exports, imports and sign-in problems",
    "Third-party integrations, the REST API and webhooks",
    "Permissions, outages and anything a customer escalates"};

constexpr string_view kGenericProblems[] = {"fails with error 500", "is extremely slow since this morning",
                                            "stopped working for everyone on our team", "shows an empty page",
                                            "behaves differently in Safari"};
constexpr string_view kEvents[] = {
    "the last update",    "yesterday's release", "we changed our plan", "the move to the new workspace",
    "we switched to SSO", "version 4.2",         "the clock change",    "we added a second location"};
constexpr string_view kScopes[] = {"users in our Berlin office", "one of our sub-accounts",
                                   "new team members",           "our admin account",
                                   "customers paying in EUR",    "a few Android devices",
                                   "everyone in the Sales team", "records created before March"};
constexpr string_view kEnvironments[] = {
    "Chrome on Windows 11", "Safari on macOS", "Android 14", "iOS 17", "Firefox ESR", "Edge",
    "the desktop app"};
constexpr string_view kErrors[] = {"Something went wrong. Please try again later.",
                                   "Request timed out (code 504)",
                                   "Invalid signature",
                                   "Access denied: missing scope read:reports",
                                   "Unexpected token < in JSON at position 0",
                                   "Payment method declined"};
constexpr string_view kFirstNames[] = {
    "Priya",  "Tom",    "Amara", "Lukas",  "Sofia", "Daniel", "Mei",    "Jonas", "Fatima", "Oliver",
    "Chloe",  "Mateo",  "Aisha", "Henrik", "Yuki",  "Grace",  "Rafael", "Nina",  "Samuel", "Leila",
    "Marcus", "Elena",  "Kwame", "Hannah", "Diego", "Ingrid", "Arjun",  "Zoe",   "Tobias", "Noor",
    "Ethan",  "Camila", "Pavel", "Ruth",   "Kenji", "Layla",  "Felix",  "Ana",   "Omar",   "Clara",
    "Victor", "Maya",   "Isaac", "Freya",  "Andre", "Lucia",  "Ravi",   "Emma",  "Niko",   "Sara"};
constexpr string_view kLastNames[] = {
    "Natarajan", "Becker",  "Okafor",  "Fischer",  "Rossi",     "Kim",    "Chen",    "Larsen",  "Haddad",
    "Turner",    "Dubois",  "Alvarez", "Bello",    "Lindqvist", "Tanaka", "Murphy",  "Costa",   "Novak",
    "Reed",      "Karimi",  "Johnson", "Petrova",  "Mensah",    "Weber",  "Morales", "Berg",    "Sharma",
    "Walsh",     "Schmidt", "Aziz",    "Brooks",   "Silva",     "Ivanov", "Cohen",   "Sato",    "Nasser",
    "Wagner",    "Santos",  "Farouk",  "Meyer",    "Hughes",    "Patel",  "Wright",  "Nilsson", "Mendes",
    "Romero",    "Iyer",    "Clarke",  "Virtanen", "Lopez"};
constexpr string_view kCompanyFirst[] = {"Northwind", "Bluefin",    "Harbor",    "Summit",      "Copperleaf",
                                         "Redwood",   "Silverline", "Oakridge",  "Brightwater", "Granite",
                                         "Juniper",   "Maple",      "Evergreen", "Sunrise",     "Ironbridge",
                                         "Lakeside",  "Cobalt",     "Meridian",  "Willow",      "Falcon"};
constexpr string_view kCompanySecond[] = {"Logistics", "Dental",     "Analytics", "Fitness",    "Legal",
                                          "Realty",    "Architects", "Clinics",   "Foods",      "Travel",
                                          "Robotics",  "Studios",    "Academy",   "Outfitters", "Energy"};
constexpr string_view kIndustries[] = {"Logistics",  "Healthcare", "Professional Services",
                                       "Retail",     "Education",  "Manufacturing",
                                       "Hospitality"};
constexpr string_view kTimeZones[] = {"Eastern Time (US & Canada)",
                                      "Pacific Time (US & Canada)",
                                      "London",
                                      "Berlin",
                                      "Chennai",
                                      "Sydney",
                                      "Tokyo",
                                      "Sao Paulo"};
constexpr string_view kJobTitles[] = {"Support Engineer", "Billing Specialist", "Technical Support Engineer",
                                      "Integration Specialist", "Support Team Lead"};  // by primary group
constexpr string_view kContactTitles[] = {"Office Manager",   "Operations Lead", "IT Administrator",
                                          "Finance Director", "Founder",         "Practice Manager",
                                          "Developer"};
constexpr string_view kPlanTiers[] = {"Starter", "Growth", "Business", "Enterprise"};
constexpr string_view kRegions[] = {"US", "EU", "APAC"};
constexpr string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr string_view kWeekdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

// ---------------------------------------------------------------------------------------------------------
// Text helpers.

std::string Escape(string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string Capitalize(string_view text) {
  std::string out(text);
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 'a' + 'A');
  return out;
}

std::string Lower(string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string Slug(string_view text) {
  std::string out;
  for (char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      out.push_back(c);
    } else if (c >= 'A' && c <= 'Z') {
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else if (!out.empty() && out.back() != '-') {
      out.push_back('-');
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

std::string FirstName(const std::string& full_name) { return full_name.substr(0, full_name.find(' ')); }

// "Tue, 11 Mar 2025 at 11:02" (UTC), for quote headers.
std::string QuoteDate(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%s, %d %s %d at %02d:%02d", kWeekdays[tm.tm_wday].data(), tm.tm_mday,
                kMonths[tm.tm_mon].data(), tm.tm_year + 1900, tm.tm_hour, tm.tm_min);
  return buffer;
}

std::string Truncate(const std::string& text, size_t max_chars) {
  if (text.size() <= max_chars) return text;
  size_t cut = text.rfind(' ', max_chars);
  if (cut == std::string::npos || cut < max_chars / 2) cut = max_chars;
  return text.substr(0, cut) + " …";
}

bool IsBlockTag(string_view name) {
  static constexpr string_view kBlocks[] = {"p",  "div", "li", "ol", "ul",    "h1",         "h2", "h3",
                                            "h4", "h5",  "h6", "tr", "table", "blockquote", "pre"};
  return std::find(std::begin(kBlocks), std::end(kBlocks), name) != std::end(kBlocks);
}

// ---------------------------------------------------------------------------------------------------------
// The generator proper.

struct Context {
  Helpdesk* desk = nullptr;
  uint64_t seed = 0;
  std::vector<std::vector<size_t>> articles_by_area;  // published article indexes per area
  std::vector<std::string> article_urls;              // by article index
};

std::string SupportUrl(const Helpdesk& desk, int64_t article_id) {
  return "https://" + desk.domain + "/support/solutions/articles/" + std::to_string(article_id);
}

std::string PhoneNumber(Rng& rng) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "+1 555 01%02d %03d", static_cast<int>(rng.Uniform(0, 99)),
                static_cast<int>(rng.Uniform(0, 999)));
  return buffer;
}

std::string UniqueName(Rng& rng, std::unordered_map<std::string, int>* used) {
  for (;;) {
    std::string name = std::string(rng.Pick(kFirstNames)) + " " + std::string(rng.Pick(kLastNames));
    int& count = (*used)[name];
    ++count;
    if (count == 1 || used->size() > 2000) return name;  // 2,500 combinations; duplicates allowed once full
  }
}

std::string EmailFor(const std::string& name, const std::string& domain,
                     std::unordered_map<std::string, int>* used) {
  std::string local = Lower(name);
  std::replace(local.begin(), local.end(), ' ', '.');
  std::string email = local + "@" + domain;
  int& count = (*used)[email];
  ++count;
  if (count > 1) email = local + std::to_string(count) + "@" + domain;
  return email;
}

void GenerateReferenceData(Context* ctx, int ticket_count) {
  Helpdesk& desk = *ctx->desk;
  Rng rng(StreamSeed(ctx->seed, 1));
  const int64_t account_created = desk.now - 3 * 365 * kDay;

  for (size_t g = 0; g < std::size(kGroupNames); ++g) {
    Group group;
    group.id = kGroupIdBase + static_cast<int64_t>(g);
    group.name = std::string(kGroupNames[g]);
    group.description = std::string(kGroupDescriptions[g]);
    group.unassigned_for = rng.Pick({"30m", "1h", "2h", "4h"});
    group.auto_ticket_assign = static_cast<int>(g % 2);
    group.created_at = account_created + static_cast<int64_t>(g) * kDay;
    group.updated_at = group.created_at + rng.Uniform(0, 400) * kDay;
    desk.groups.push_back(std::move(group));
  }

  std::unordered_map<std::string, int> used_names;
  std::unordered_map<std::string, int> used_emails;
  constexpr int kAgents = 20;
  for (int i = 0; i < kAgents; ++i) {
    Agent agent;
    agent.id = kAgentIdBase + i;
    agent.name = UniqueName(rng, &used_names);
    agent.email = EmailFor(agent.name, "brightline.example", &used_emails);
    agent.job_title = std::string(kJobTitles[static_cast<size_t>(i) % std::size(kJobTitles)]);
    if (rng.Chance(0.6)) agent.phone = PhoneNumber(rng);
    agent.time_zone = std::string(rng.Pick(kTimeZones));
    agent.signature_html = "<div dir=\"ltr\"><p>" + Escape(agent.name) + "<br>" + Escape(agent.job_title) +
                           ", Brightline Support<br>" + Escape(agent.email) + "</p></div>";
    agent.ticket_scope = i < 3 ? 1 : static_cast<int>(rng.Uniform(1, 2));
    agent.available = rng.Chance(0.7);
    agent.occasional = i >= kAgents - 2;
    size_t primary = static_cast<size_t>(i) % desk.groups.size();
    agent.group_ids.push_back(desk.groups[primary].id);
    desk.groups[primary].agent_ids.push_back(agent.id);
    if (i % 4 == 1 && primary != 4) {
      agent.group_ids.push_back(desk.groups[4].id);
      desk.groups[4].agent_ids.push_back(agent.id);
    }
    agent.created_at = account_created + rng.Uniform(0, 300) * kDay + rng.Uniform(0, kDay - 1);
    agent.updated_at = agent.created_at + rng.Uniform(0, 500) * kDay;
    agent.last_login_at = desk.now - rng.Uniform(kHour, 20 * kDay);
    desk.agents.push_back(std::move(agent));
  }
  for (auto& group : desk.groups) group.escalate_to = group.agent_ids.front();

  const int company_count = std::clamp(ticket_count / 20, 10, 400);
  std::unordered_map<std::string, int> used_companies;
  for (int i = 0; i < company_count; ++i) {
    Company company;
    company.id = kCompanyIdBase + i;
    for (;;) {
      std::string name = std::string(rng.Pick(kCompanyFirst)) + " " + std::string(rng.Pick(kCompanySecond));
      if (rng.Chance(0.12))
        name = std::string(rng.Pick(kLastNames)) + " & " + std::string(rng.Pick(kLastNames));
      int& count = used_companies[name];
      ++count;
      if (count > 1) name += " " + std::to_string(count);
      company.name = name;
      break;
    }
    company.domains.push_back(Slug(company.name) + ".example");
    company.description = "Customer since " + std::to_string(2019 + rng.Uniform(0, 5));
    company.health_score = rng.Pick({"Happy", "Doing okay", "At risk"});
    company.account_tier = rng.Pick({"Basic", "Premium", "Enterprise"});
    if (rng.Chance(0.8)) company.industry = std::string(rng.Pick(kIndustries));
    if (rng.Chance(0.7)) company.renewal_date = (desk.now / kDay + rng.Uniform(10, 365)) * kDay;
    company.created_at = account_created + rng.Uniform(0, 360) * kDay + rng.Uniform(0, kDay - 1);
    company.updated_at = company.created_at + rng.Uniform(0, 700) * kDay;
    desk.companies.push_back(std::move(company));
  }

  const int contact_count = std::max(40, ticket_count / 3);
  for (int i = 0; i < contact_count; ++i) {
    Contact contact;
    contact.id = kContactIdBase + i;
    contact.name = UniqueName(rng, &used_names);
    std::string domain = "mailbox.example";
    if (rng.Chance(0.85)) {
      const Company& company = desk.companies[rng.Index(desk.companies.size())];
      contact.company_id = company.id;
      domain = company.domains.front();
    }
    contact.email = EmailFor(contact.name, domain, &used_emails);
    if (rng.Chance(0.5)) contact.phone = PhoneNumber(rng);
    if (rng.Chance(0.3)) contact.mobile = PhoneNumber(rng);
    if (rng.Chance(0.6)) contact.job_title = std::string(rng.Pick(kContactTitles));
    contact.time_zone = std::string(rng.Pick(kTimeZones));
    contact.active = rng.Chance(0.9);
    contact.created_at = account_created + rng.Uniform(0, 360) * kDay + rng.Uniform(0, kDay - 1);
    contact.updated_at = contact.created_at + rng.Uniform(0, 700) * kDay;
    desk.contacts.push_back(std::move(contact));
  }
}

// --- Knowledge base -------------------------------------------------------------------------------------

struct FolderSpec {
  string_view name;
  string_view description;
  int visibility;
  std::array<int, 2> areas;  // indexes into kAreas (-1 = none)
};
struct CategorySpec {
  string_view name;
  string_view description;
  std::array<FolderSpec, 3> folders;  // name empty = unused
};

constexpr CategorySpec kCategories[] = {
    {"Getting Started",
     "Set up your Brightline workspace and bring your data in",
     {{{"Account setup", "Users, roles and signing in", 1, {8, 2}},
       {"Importing your data", "Moving from spreadsheets and other tools", 1, {9, -1}},
       {"Enterprise onboarding", "Guides for customers on a managed rollout", 4, {2, 8}}}}},
    {"Billing & Plans",
     "Invoices, payments and changing your plan",
     {{{"Invoices & payments", "Paying, refunds and invoice details", 1, {0, -1}},
       {"Plans & upgrades", "What each plan includes", 1, {0, -1}},
       {"", "", 0, {-1, -1}}}}},
    {"Reports & Integrations",
     "Getting data out of Brightline and connecting other tools",
     {{{"Reports & exports", "Dashboards, scheduled reports and exports", 1, {1, -1}},
       {"Integrations", "Slack, Salesforce, Zapier and more", 1, {4, -1}},
       {"API & webhooks", "For developers", 2, {5, -1}}}}},
    {"Using Brightline",
     "Everyday scheduling, notifications and the mobile apps",
     {{{"Scheduling", "Bookings, calendars and availability", 1, {7, -1}},
       {"Mobile apps", "iOS and Android", 1, {3, -1}},
       {"Notifications", "Email and SMS messages", 1, {6, -1}}}}},
    {"Support Playbooks",
     "Internal runbooks for the support team",
     {{{"Troubleshooting runbooks", "Known issues and how to confirm them", 3, {2, 5}},
       {"", "", 0, {-1, -1}},
       {"", "", 0, {-1, -1}}}}},
};

std::string UiStep(Rng& rng, const Area& area, string_view feature) {
  switch (rng.Uniform(0, 6)) {
    case 0:
      return "Go to <b>Settings &gt; " + Escape(area.name) + "</b>.";
    case 1:
      return "Open " + Escape(feature) + " from the main menu.";
    case 2:
      return "Click <b>Edit</b> next to the setting you want to change.";
    case 3:
      return "Choose the option you need and click <b>Save</b>.";
    case 4:
      return "Wait a few minutes for the change to apply, then reload the page.";
    case 5:
      return "Check the confirmation message at the top of the page.";
    default:
      return "Sign out and sign in again so the new settings are picked up.";
  }
}

std::string ListHtml(const char* tag, const std::vector<std::string>& items_html) {
  std::string out = std::string("<") + tag + ">";
  for (const auto& item : items_html) out += "<li>" + item + "</li>";
  out += std::string("</") + tag + ">";
  return out;
}

void GenerateKnowledgeBase(Context* ctx, int ticket_count) {
  Helpdesk& desk = *ctx->desk;
  Rng rng(StreamSeed(ctx->seed, 2));
  const int64_t kb_start = desk.now - 900 * kDay;

  std::vector<std::vector<int>> folder_areas;
  for (size_t c = 0; c < std::size(kCategories); ++c) {
    const CategorySpec& spec = kCategories[c];
    Category category;
    category.id = kCategoryIdBase + static_cast<int64_t>(c);
    category.name = std::string(spec.name);
    category.description = std::string(spec.description);
    category.created_at = kb_start + static_cast<int64_t>(c) * kDay + rng.Uniform(0, kDay - 1);
    category.updated_at = category.created_at + rng.Uniform(0, 200) * kDay;
    for (const FolderSpec& folder_spec : spec.folders) {
      if (folder_spec.name.empty()) continue;
      Folder folder;
      folder.id = kFolderIdBase + static_cast<int64_t>(desk.folders.size());
      folder.category_id = category.id;
      folder.name = std::string(folder_spec.name);
      folder.description = std::string(folder_spec.description);
      folder.visibility = folder_spec.visibility;
      if (folder.visibility == 4) {
        for (size_t k = 0; k < 3 && k < desk.companies.size(); ++k)
          folder.company_ids.push_back(desk.companies[k].id);
      }
      folder.created_at = category.created_at + rng.Uniform(0, 30) * kDay;
      folder.updated_at = folder.created_at + rng.Uniform(0, 200) * kDay;
      std::vector<int> areas;
      for (int a : folder_spec.areas) {
        if (a >= 0) areas.push_back(a);
      }
      folder_areas.push_back(std::move(areas));
      desk.folders.push_back(std::move(folder));
    }
    desk.categories.push_back(std::move(category));
  }

  const int article_count = std::max(10, ticket_count / 4);
  ctx->articles_by_area.assign(kAreaCount, {});
  for (int i = 0; i < article_count; ++i) {
    Rng r(StreamSeed(ctx->seed, 3, static_cast<uint64_t>(i)));
    // The first articles go one per folder so no folder is empty.
    const size_t folder_index =
        static_cast<size_t>(i) < desk.folders.size() ? static_cast<size_t>(i) : r.Index(desk.folders.size());
    Folder& folder = desk.folders[folder_index];
    const int area_index = r.Pick(folder_areas[folder_index]);
    const Area& area = kAreas[area_index];
    const string_view feature = r.Pick(area.features);
    const string_view problem = r.Pick(area.problems);
    const string_view action = r.Pick(area.actions);

    Article article;
    article.id = kArticleIdBase + i;
    article.folder_id = folder.id;
    article.category_id = folder.category_id;
    article.agent_id = desk.agents[r.Index(desk.agents.size())].id;
    article.type = r.Chance(0.85) ? 1 : 2;
    article.status = r.Chance(0.85) ? 2 : 1;
    switch (r.Uniform(0, 5)) {
      case 0:
        article.title = "How to " + std::string(action);
        break;
      case 1:
        article.title = "Troubleshooting: " + std::string(feature) + " " + std::string(problem);
        break;
      case 2:
        article.title = Capitalize(feature) + ": frequently asked questions";
        break;
      case 3:
        article.title = "Getting started with " + std::string(feature);
        break;
      case 4:
        article.title = "Why " + std::string(feature) + " " + std::string(problem);
        break;
      default:
        article.title = "Can I " + std::string(action) + "?";
        break;
    }

    std::string html;
    html += "<p>This article explains how to " + Escape(action) + " and what to check when " +
            Escape(feature) + " " + Escape(problem) +
            ". It applies to every Brightline plan unless noted otherwise.</p>";
    html += "<h2>Before you begin</h2>";
    html += ListHtml(
        "ul", {"You need the <b>Admin</b> or <b>Owner</b> role.",
               "Make sure you are on the latest version of the " + Escape(area.name) + " settings page.",
               "Have the details of the " + Escape(feature) + " you want to change at hand."});
    html += "<h2>Steps</h2>";
    std::vector<std::string> steps;
    const int step_count = static_cast<int>(r.Uniform(3, 6));
    for (int s = 0; s < step_count; ++s) steps.push_back(UiStep(r, area, feature));
    html += ListHtml("ol", steps);
    if (r.Chance(0.2)) {
      html += "<h2>Limits by plan</h2><table><tbody><tr><th>Plan</th><th>Limit</th></tr>";
      int limit = static_cast<int>(r.Uniform(1, 5)) * 1000;
      for (string_view tier : kPlanTiers) {
        html += "<tr><td>" + std::string(tier) + "</td><td>" + std::to_string(limit) + " per day</td></tr>";
        limit *= 2;
      }
      html += "</tbody></table>";
    }
    html += "<h2>Troubleshooting</h2>";
    html += "<h3>" + Escape(Capitalize(feature)) + " " + Escape(problem) + "</h3>";
    html += "<p>This usually happens after a settings change. As a workaround, " +
            Escape(r.Pick(area.workarounds)) +
            ". If that does not help, contact support with the time it happened.</p>";
    html += "<h3>" + Escape(Capitalize(feature)) + " " + Escape(r.Pick(kGenericProblems)) + "</h3>";
    html +=
        "<p>Check our status page first; if there is no incident, send us the browser and the exact error "
        "message, for example &quot;" +
        Escape(r.Pick(kErrors)) + "&quot;.</p>";
    if (i > 0 && r.Chance(0.3)) {
      const Article& other = desk.articles[r.Index(desk.articles.size())];
      html +=
          "<p>See also: <a href=\"" + SupportUrl(desk, other.id) + "\">" + Escape(other.title) + "</a></p>";
    }
    article.description_html = std::move(html);
    article.description_text = GeneratedHtmlToText(article.description_html, false);
    for (string_view tag : area.tags) {
      if (r.Chance(0.6)) article.tags.emplace_back(tag);
    }
    article.meta_keywords = std::string(area.tags[0]) + ", " + std::string(area.tags[1]);
    article.thumbs_up = static_cast<int>(r.Uniform(0, 60));
    article.thumbs_down = static_cast<int>(r.Uniform(0, 8));
    article.hits = static_cast<int>(r.Uniform(article.thumbs_up, 3000));
    article.created_at =
        std::max(folder.created_at, kb_start + r.Uniform(0, 860) * kDay + r.Uniform(0, kDay - 1));
    article.updated_at =
        article.created_at + r.Uniform(0, std::max<int64_t>(0, desk.now - kDay - article.created_at));
    folder.articles.push_back(desk.articles.size());
    if (article.status == 2)
      ctx->articles_by_area[static_cast<size_t>(area_index)].push_back(desk.articles.size());
    ctx->article_urls.push_back(SupportUrl(desk, article.id));
    desk.articles.push_back(std::move(article));
  }
}

// --- Tickets --------------------------------------------------------------------------------------------

struct TicketDraft {
  const Area* area = nullptr;
  size_t area_index = 0;
  std::string feature;
  std::string problem;
  std::string action;
  const Contact* requester = nullptr;
  const Agent* responder = nullptr;
};

int PickStatus(Rng& rng, int64_t age_seconds) {
  const double r = rng.Real();
  if (age_seconds < 3 * kDay) {
    return r < 0.45 ? 2 : r < 0.70 ? 3 : r < 0.80 ? 6 : r < 0.95 ? 4 : 5;
  }
  if (age_seconds < 30 * kDay) {
    return r < 0.15 ? 2 : r < 0.30 ? 3 : r < 0.38 ? 6 : r < 0.70 ? 4 : 5;
  }
  return r < 0.03 ? 2 : r < 0.05 ? 3 : r < 0.06 ? 6 : r < 0.25 ? 4 : 5;
}

std::string Subject(Rng& rng, const TicketDraft& d, std::string* type) {
  const std::string feature = Capitalize(d.feature);
  switch (rng.Uniform(0, 9)) {
    case 0:
      *type = "Problem";
      return feature + " " + d.problem;
    case 1:
      *type = "Incident";
      return feature + " " + d.problem + " since " + std::string(rng.Pick(kEvents));
    case 2:
      *type = "Problem";
      return feature + " " + d.problem + " for " + std::string(rng.Pick(kScopes));
    case 3:
      *type = "Question";
      return "How do I " + d.action + "?";
    case 4:
      *type = "Question";
      return "Question about " + d.feature + " for " + std::string(rng.Pick(kScopes));
    case 5:
      *type = "Problem";
      return "Unable to " + d.action + " (" + std::string(rng.Pick(kEnvironments)) + ")";
    case 6:
      *type = "Incident";
      return feature + " " + d.problem + " (" + std::string(rng.Pick(kEnvironments)) + ")";
    case 7:
      *type = "Incident";
      return "Urgent: " + d.feature + " " + d.problem;
    case 8:
      *type = "Feature Request";
      return "Is it possible to " + d.action + "?";
    default:
      *type = "Problem";
      return feature + " " + d.problem + " after " + std::string(rng.Pick(kEvents));
  }
}

std::string Description(Rng& rng, const Helpdesk& desk, const TicketDraft& d, const std::string& type) {
  const std::string first = FirstName(d.requester->name);
  std::string html =
      "<div>" +
      std::string(rng.Pick({"Hello,", "Hi team,", "Hi Brightline support,", "Good morning,", "Hi there,"})) +
      "</div><div><br></div>";
  if (type == "Question" || type == "Feature Request") {
    html += "<div>We would like to " + Escape(d.action) +
            ", but I could not find how to do it in the help center. " + "We have " +
            std::to_string(rng.Uniform(3, 250)) + " people on the account who need this.</div>";
  } else if (rng.Chance(0.5)) {
    html += "<div>Since " + Escape(rng.Pick(kEvents)) + ", " + Escape(d.feature) + " " + Escape(d.problem) +
            " when we try to " + Escape(d.action) + ".</div>";
  } else {
    html += "<div>We are trying to " + Escape(d.action) + ", but " + Escape(d.feature) + " " +
            Escape(d.problem) + ". It started " +
            std::string(rng.Pick({"this morning", "yesterday afternoon", "on Monday", "after the weekend",
                                  "about a week ago"})) +
            ".</div>";
  }
  if (type != "Question" && type != "Feature Request" && rng.Chance(0.45)) {
    html += "<div><br></div><div>Steps to reproduce:</div>";
    std::vector<std::string> steps = {
        "Sign in as an admin.",
        "Open " + Escape(d.feature) + " from <b>Settings &gt; " + Escape(d.area->name) + "</b>.",
        "Try to " + Escape(d.action) + "."};
    if (rng.Chance(0.5)) steps.push_back("Wait about " + std::to_string(rng.Uniform(1, 5)) + " minutes.");
    html += ListHtml("ol", steps);
  }
  html += "<div><br></div><div>";
  switch (rng.Uniform(0, 4)) {
    case 0:
      html += "It affects about " + std::to_string(rng.Uniform(2, 80)) + " of our users.";
      break;
    case 1:
      html += "We tried clearing the browser cache and signing out and back in, but nothing changed.";
      break;
    case 2:
      html += "This is blocking our month-end close, so a quick answer would be much appreciated.";
      break;
    case 3:
      html += "The error message says &quot;" + Escape(rng.Pick(kErrors)) + "&quot;.";
      break;
    default:
      html += "It works fine for " + Escape(rng.Pick(kScopes)) + ", which makes it even stranger.";
      break;
  }
  html += "</div>";
  if (rng.Chance(0.35)) {
    const std::string domain = d.requester->email.substr(d.requester->email.find('@') + 1);
    char code[16];
    std::snprintf(code, sizeof(code), "%08llx", static_cast<unsigned long long>(rng.Next() & 0xffffffffull));
    const std::string url = "https://files." + domain + "/shared/" + code;
    html += "<div><br></div><div>Screenshot: <a href=\"" + url + "\">" + url + "</a></div>";
  }
  std::string signoff = "<div><br></div><div>" +
                        std::string(rng.Pick({"Thanks,", "Thank you,", "Best,", "Kind regards,"})) + "<br>" +
                        Escape(first);
  if (d.requester->company_id) {
    const Company* company = desk.FindCompany(*d.requester->company_id);
    if (company) signoff += "<br>" + Escape(company->name);
  }
  html += signoff + "</div>";
  return html;
}

std::string QuoteBlock(const Helpdesk& desk, const Conversation& previous) {
  std::string who;
  std::string email;
  if (const Agent* agent = desk.FindAgent(previous.user_id)) {
    who = agent->name;
    email = desk.support_email;
  } else if (const Contact* contact = desk.FindContact(previous.user_id)) {
    who = contact->name;
    email = contact->email;
  }
  return "<div class=\"freshdesk_quote\"><blockquote class=\"freshdesk_quote\">On " +
         QuoteDate(previous.created_at) + ", " + Escape(who) + " &lt;" + Escape(email) + "&gt; wrote:<br>" +
         Escape(Truncate(previous.body_text, 240)) + "</blockquote></div>";
}

std::string AgentReplyBody(Rng& rng, const Context& ctx, const TicketDraft& d, const Agent& agent,
                           bool first_reply, const Conversation* quote) {
  const Helpdesk& desk = *ctx.desk;
  std::string html = "<div>Hi " + Escape(FirstName(d.requester->name)) + ",<br><br>";
  if (first_reply) {
    html += rng.Chance(0.5) ? "Thanks for contacting Brightline Support about " + Escape(d.feature) + "."
                            : "Thank you for the detailed report, it really helps.";
  } else {
    html += rng.Pick({"Thanks for getting back to me.", "Thanks for the update and the extra details.",
                      "Sorry for the wait on this one.", "Good news on this one."});
  }
  html += " ";
  const int64_t middle = rng.Uniform(0, 5);
  switch (middle) {
    case 0:
      html += "I was able to reproduce this on our side and have passed it to our engineering team.";
      break;
    case 1:
      html += "Could you send us a screenshot of the error and the approximate time it happened?";
      break;
    case 2:
      html += "This is caused by a known issue with " + Escape(d.feature) +
              ", and a fix is planned for the next release.";
      break;
    case 3:
      html += "As a workaround, you can " + Escape(rng.Pick(d.area->workarounds)) + ".";
      break;
    case 4:
      html += "I have checked your account and " + Escape(d.feature) + " is configured correctly.";
      break;
    default:
      html += "To " + Escape(d.action) + ", follow these steps:";
      break;
  }
  html += "</div>";
  if (middle == 5) {
    std::vector<std::string> steps;
    const int n = static_cast<int>(rng.Uniform(2, 4));
    for (int s = 0; s < n; ++s) steps.push_back(UiStep(rng, *d.area, d.feature));
    html += ListHtml("ol", steps);
  }
  const auto& related = ctx.articles_by_area[d.area_index];
  if (!related.empty() && rng.Chance(0.3)) {
    const size_t a = related[rng.Index(related.size())];
    html += "<div><br>You can find more details in our help article: <a href=\"" + ctx.article_urls[a] +
            "\">" + Escape(desk.articles[a].title) + "</a>.</div>";
  }
  html += "<div><br>" +
          std::string(rng.Pick({"Let me know if there is anything else I can help with.",
                                "I will keep you posted.", "Have a great day!"})) +
          "<br><br>Best regards,<br>" + Escape(FirstName(agent.name)) + "</div>";
  html += agent.signature_html;
  if (quote != nullptr) html += QuoteBlock(desk, *quote);
  return html;
}

std::string CustomerReplyBody(Rng& rng, const Helpdesk& desk, const TicketDraft& d, const Agent& agent,
                              const Conversation* quote) {
  std::string html = "<div>Hi " + Escape(FirstName(agent.name)) + ",<br><br>";
  switch (rng.Uniform(0, 7)) {
    case 0:
      html += "Thanks for the quick reply.";
      break;
    case 1:
      html += "I tried that, but the problem is still there.";
      break;
    case 2:
      html += "Here is the screenshot you asked for.";
      break;
    case 3:
      html += "It happened again this morning around " + std::to_string(rng.Uniform(7, 11)) + ":" +
              std::to_string(rng.Uniform(10, 59)) + " our time.";
      break;
    case 4:
      html += "That worked, thank you so much!";
      break;
    case 5:
      html += "Is there any update on this? We are still waiting for a fix.";
      break;
    case 6:
      html += "We are still seeing this for " + Escape(rng.Pick(kScopes)) + ".";
      break;
    default:
      html += "Sorry for the late reply, I was out of the office.";
      break;
  }
  html += " " +
          std::string(rng.Pick(
              {"Our admins are asking about it every day.", "Let me know if you need anything else from us.",
               "I can jump on a call if that helps.", "The rest of the team has not noticed anything."}));
  html += "<br><br>Thanks,<br>" + Escape(FirstName(d.requester->name)) + "</div>";
  if (quote != nullptr) html += QuoteBlock(desk, *quote);
  return html;
}

std::string PrivateNoteBody(Rng& rng, const Helpdesk& desk, const TicketDraft& d,
                            const nlohmann::ordered_json& cf) {
  std::string html = "<div>";
  switch (rng.Uniform(0, 6)) {
    case 0:
      html += "Reproduced on staging with the customer's settings.";
      break;
    case 1:
      html += "Escalating to " + Escape(kGroupNames[static_cast<size_t>(d.area->group)]) +
              ", this looks related to BL-" + std::to_string(rng.Uniform(1000, 9999)) + ".";
      break;
    case 2:
      html += "Customer is on the " + Escape(cf.value("cf_plan_tier", std::string("Growth"))) +
              " plan, renewal is due in " + std::string(rng.Pick(kMonths)) + ".";
      break;
    case 3:
      html += "Checked the logs: " + std::to_string(rng.Uniform(3, 400)) +
              " failed requests between 09:00 and 09:30 UTC.";
      break;
    case 4:
      html += Escape(FirstName(desk.agents[rng.Index(desk.agents.size())].name)) +
              ", could you take a look? This looks like the " + Escape(d.feature) + " regression.";
      break;
    case 5:
      html += "Called the customer, they will test again tomorrow morning.";
      break;
    default:
      html += "Internal: do not promise a date for the fix yet, engineering is still investigating.";
      break;
  }
  html += " " + std::string(rng.Pick({"Keeping the ticket on hold until then.", "Linked the internal issue.",
                                      "No refund needed.", "Will follow up after the standup."}));
  html += "</div>";
  return html;
}

ConversationKind NextKind(Rng& rng, const std::optional<ConversationKind>& previous) {
  const double r = rng.Real();
  if (!previous) {
    return r < 0.72   ? ConversationKind::kAgentReply
           : r < 0.87 ? ConversationKind::kPrivateNote
                      : ConversationKind::kCustomerReply;
  }
  switch (*previous) {
    case ConversationKind::kAgentReply:
      return r < 0.60   ? ConversationKind::kCustomerReply
             : r < 0.78 ? ConversationKind::kPrivateNote
                        : ConversationKind::kAgentReply;
    case ConversationKind::kCustomerReply:
      return r < 0.70   ? ConversationKind::kAgentReply
             : r < 0.95 ? ConversationKind::kPrivateNote
                        : ConversationKind::kCustomerReply;
    case ConversationKind::kPrivateNote:
      return r < 0.70   ? ConversationKind::kAgentReply
             : r < 0.90 ? ConversationKind::kCustomerReply
                        : ConversationKind::kPrivateNote;
  }
  return ConversationKind::kAgentReply;
}

void GenerateTicket(Context* ctx, int64_t id, int64_t created_at) {
  Helpdesk& desk = *ctx->desk;
  Rng rng(StreamSeed(ctx->seed, 5, static_cast<uint64_t>(id)));

  TicketDraft d;
  d.area_index = rng.Index(kAreaCount);
  d.area = &kAreas[d.area_index];
  d.feature = std::string(rng.Pick(d.area->features));
  d.problem = std::string(rng.Chance(0.75) ? rng.Pick(d.area->problems) : rng.Pick(kGenericProblems));
  d.action = std::string(rng.Pick(d.area->actions));
  d.requester = &desk.contacts[rng.Index(desk.contacts.size())];

  Ticket t;
  t.id = id;
  t.created_at = created_at;
  t.subject = Subject(rng, d, &t.type);
  if (d.area_index == 0 && rng.Chance(0.3)) t.type = "Refund";
  t.priority = static_cast<int>(rng.Chance(0.5) ? 1 : rng.Uniform(1, 4));
  const double source_roll = rng.Real();
  t.source = source_roll < 0.55   ? 1
             : source_roll < 0.80 ? 2
             : source_roll < 0.88 ? 3
             : source_roll < 0.95 ? 7
             : source_roll < 0.98 ? 9
                                  : 10;
  t.requester_id = d.requester->id;
  t.company_id = d.requester->company_id;

  const Group* group = nullptr;
  if (rng.Chance(0.94)) {
    group = &desk.groups[static_cast<size_t>(d.area->group)];
    t.group_id = group->id;
    d.responder = desk.FindAgent(group->agent_ids[rng.Index(group->agent_ids.size())]);
  } else {
    d.responder = &desk.agents[rng.Index(desk.agents.size())];
  }

  // Tags and custom fields.
  for (string_view tag : d.area->tags) {
    if (rng.Chance(0.35)) t.tags.emplace_back(tag);
  }
  if (rng.Chance(0.15)) t.tags.emplace_back(rng.Pick({"vip", "bug", "how-to", "follow-up", "churn-risk"}));
  t.custom_fields["cf_plan_tier"] = std::string(rng.Pick(kPlanTiers));
  t.custom_fields["cf_region"] = std::string(rng.Pick(kRegions));
  const double repro = rng.Real();
  t.custom_fields["cf_reproducible"] = repro < 0.4   ? nlohmann::ordered_json(true)
                                       : repro < 0.7 ? nlohmann::ordered_json(false)
                                                     : nlohmann::ordered_json();
  if (d.area_index == 0) {
    t.custom_fields["cf_order_reference"] =
        "INV-" + std::to_string(2024 + rng.Uniform(0, 2)) + "-" + std::to_string(rng.Uniform(10000, 99999));
  } else {
    t.custom_fields["cf_order_reference"] = nullptr;
  }

  t.description_html = Description(rng, desk, d, t.type);
  t.description_text = GeneratedHtmlToText(t.description_html, true);

  // Thread: 1–15 conversations, shorter threads more likely.
  const int count = 1 + static_cast<int>(14.0 * std::pow(rng.Real(), 1.7) + 0.5);
  std::vector<int64_t> gaps;
  gaps.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    gaps.push_back(i == 0 ? rng.Uniform(5 * kMinute, 30 * kHour) : rng.Uniform(2 * kMinute, 3 * kDay));
  }
  int64_t total = 0;
  for (int64_t g : gaps) total += g;
  const int64_t available = std::max<int64_t>(0, desk.now - created_at - 2 * kMinute);
  if (total > available) {
    for (int64_t& g : gaps) g = g * available / total;  // g ≤ 3 days, available ≤ 2 years: no overflow
  }

  t.first_conversation = desk.conversations.size();
  int64_t at = created_at;
  int64_t latest = created_at;
  if (t.source == 7) {
    // Chat tickets: the transcript's first message is both the description and the first conversation.
    Conversation first;
    first.id = kConversationIdBase + static_cast<int64_t>(desk.conversations.size());
    first.ticket_id = id;
    first.kind = ConversationKind::kCustomerReply;
    first.user_id = d.requester->id;
    first.created_at = first.updated_at = created_at;
    first.body_html = t.description_html;
    first.body_text = GeneratedHtmlToText(first.body_html, false);
    desk.conversations.push_back(std::move(first));
  }
  std::optional<ConversationKind> previous_kind;
  const Conversation* last_public = nullptr;
  size_t last_public_index = 0;
  bool have_public = false;
  for (int i = 0; i < count; ++i) {
    at += gaps[static_cast<size_t>(i)];
    Conversation c;
    c.id = kConversationIdBase + static_cast<int64_t>(desk.conversations.size());
    c.ticket_id = id;
    c.kind = NextKind(rng, previous_kind);
    c.created_at = at;
    c.updated_at = at;
    last_public = have_public ? &desk.conversations[last_public_index] : nullptr;
    switch (c.kind) {
      case ConversationKind::kAgentReply: {
        const bool first_reply = !t.stats.first_responded_at.has_value();
        const Conversation* quote =
            (last_public && last_public->kind == ConversationKind::kCustomerReply && rng.Chance(0.25))
                ? last_public
                : nullptr;
        c.user_id = d.responder->id;
        c.body_html = AgentReplyBody(rng, *ctx, d, *d.responder, first_reply, quote);
        if (first_reply) t.stats.first_responded_at = at;
        t.stats.agent_responded_at = at;
        break;
      }
      case ConversationKind::kCustomerReply: {
        const Conversation* quote =
            (last_public && last_public->kind == ConversationKind::kAgentReply && rng.Chance(0.6))
                ? last_public
                : nullptr;
        c.user_id = d.requester->id;
        c.body_html = CustomerReplyBody(rng, desk, d, *d.responder, quote);
        t.stats.requester_responded_at = at;
        break;
      }
      case ConversationKind::kPrivateNote: {
        c.user_id = rng.Chance(0.8) ? d.responder->id : desk.agents[rng.Index(desk.agents.size())].id;
        c.body_html = PrivateNoteBody(rng, desk, d, t.custom_fields);
        if (rng.Chance(0.15)) {
          const int64_t edited = std::min(desk.now, at + rng.Uniform(kMinute, 2 * kHour));
          c.last_edited_at = edited;
          c.last_edited_user_id = c.user_id;
          c.updated_at = edited;
        }
        break;
      }
    }
    c.body_text = GeneratedHtmlToText(c.body_html, false);
    latest = std::max({latest, c.created_at, c.updated_at});
    previous_kind = c.kind;
    if (c.kind != ConversationKind::kPrivateNote) {
      have_public = true;
      last_public_index = desk.conversations.size();
    }
    desk.conversations.push_back(std::move(c));
  }
  t.conversation_count = desk.conversations.size() - t.first_conversation;
  t.responder_id = d.responder->id;

  // Status and the times that follow from it; updated_at is the latest activity (a status change may come a
  // little after the last message).
  t.status = PickStatus(rng, desk.now - created_at);
  t.updated_at = std::min(desk.now, latest + rng.Uniform(0, 15 * kMinute));
  t.stats.status_updated_at = t.updated_at;
  if (t.status == 4 || t.status == 5) t.stats.resolved_at = t.updated_at;
  if (t.status == 5) t.stats.closed_at = t.updated_at;
  if (t.status == 3) t.stats.pending_since = t.updated_at;
  if (t.status == 2 && t.conversation_count > 3 && rng.Chance(0.1)) t.stats.reopened_at = t.updated_at;

  static constexpr int64_t kResolveWithin[] = {0, 3 * kDay, 2 * kDay, kDay, 4 * kHour};
  static constexpr int64_t kRespondWithin[] = {0, 24 * kHour, 8 * kHour, 4 * kHour, kHour};
  t.due_by = created_at + kResolveWithin[t.priority];
  t.fr_due_by = created_at + kRespondWithin[t.priority];
  t.fr_escalated =
      t.stats.first_responded_at ? *t.stats.first_responded_at > t.fr_due_by : desk.now > t.fr_due_by;
  t.is_escalated = (t.status == 2 || t.status == 3 || t.status == 6) && desk.now > t.due_by;
  desk.tickets.push_back(std::move(t));
}

void GenerateTicketFields(Helpdesk* desk) {
  using ordered_json = nlohmann::ordered_json;
  const int64_t created = desk->now - 3 * 365 * kDay;
  int position = 0;
  auto add = [&](std::string name, std::string label, std::string customer_label, std::string type,
                 bool is_default, std::optional<ordered_json> choices, bool required_for_agents,
                 bool shown_to_customers) {
    TicketField field;
    field.id = kTicketFieldIdBase + position;
    field.name = std::move(name);
    field.label = std::move(label);
    field.label_for_customers = std::move(customer_label);
    field.type = std::move(type);
    field.is_default = is_default;
    field.position = ++position;
    field.required_for_agents = required_for_agents;
    field.required_for_customers = field.name == "requester" || field.name == "subject";
    field.customers_can_edit = shown_to_customers && field.name != "status";
    field.displayed_to_customers = shown_to_customers;
    field.choices = std::move(choices);
    field.created_at = created;
    field.updated_at = created + static_cast<int64_t>(position) * kDay;
    desk->ticket_fields.push_back(std::move(field));
  };
  ordered_json groups = ordered_json::object();
  for (const auto& group : desk->groups) groups[group.name] = group.id;
  ordered_json agents = ordered_json::object();
  for (const auto& agent : desk->agents) agents[agent.name] = agent.id;

  add("requester", "Search a requester", "Requester", "default_requester", true, std::nullopt, true, true);
  add("subject", "Subject", "Subject", "default_subject", true, std::nullopt, true, true);
  add("ticket_type", "Type", "Type", "default_ticket_type", true,
      ordered_json::array({"Question", "Incident", "Problem", "Feature Request", "Refund"}), false, true);
  add("source", "Source", "Source", "default_source", true,
      ordered_json{{"Email", 1},
                   {"Portal", 2},
                   {"Phone", 3},
                   {"Chat", 7},
                   {"Feedback Widget", 9},
                   {"Outbound Email", 10}},
      false, false);
  add("status", "Status", "Status", "default_status", true,
      ordered_json{{"2", {"Open", "Being Processed"}},
                   {"3", {"Pending", "Awaiting your Reply"}},
                   {"4", {"Resolved", "This ticket has been Resolved"}},
                   {"5", {"Closed", "This ticket has been Closed"}},
                   {"6", {"Waiting on Customer", "Awaiting your Reply"}},
                   {"7", {"Waiting on Third Party", "Being Processed"}}},
      true, true);
  add("priority", "Priority", "Priority", "default_priority", true,
      ordered_json{{"Low", 1}, {"Medium", 2}, {"High", 3}, {"Urgent", 4}}, true, false);
  add("group", "Group", "Group", "default_group", true, groups, false, false);
  add("agent", "Agent", "Agent", "default_agent", true, agents, false, true);
  add("description", "Description", "Description", "default_description", true, std::nullopt, true, true);
  add("company", "Company", "Company", "default_company", true, std::nullopt, false, true);
  add("cf_plan_tier", "Plan tier", "Plan", "custom_dropdown", false,
      ordered_json::array({"Starter", "Growth", "Business", "Enterprise"}), false, false);
  add("cf_region", "Region", "Region", "custom_dropdown", false, ordered_json::array({"US", "EU", "APAC"}),
      false, false);
  add("cf_reproducible", "Reproducible", "Reproducible", "custom_checkbox", false, std::nullopt, false,
      false);
  add("cf_order_reference", "Order reference", "Invoice or order number", "custom_text", false, std::nullopt,
      false, true);
}

// /contact_fields and /company_fields: the default fields plus a few custom ones (Freshdesk's admin shapes).
void GenerateContactAndCompanyFields(Helpdesk* desk) {
  using ordered_json = nlohmann::ordered_json;
  const int64_t created = desk->now - 3 * 365 * kDay;
  auto field = [&](int64_t id, int position, const char* name, const char* label, const char* type, bool is_default,
                   const ordered_json& choices) {
    ordered_json f;
    f["id"] = id;
    f["name"] = name;
    f["label"] = label;
    f["position"] = position;
    f["required_for_agents"] = std::string_view(name) == "name";
    f["type"] = type;
    f["default"] = is_default;
    f["created_at"] = FormatTimestamp(created);
    f["updated_at"] = FormatTimestamp(created + position * kDay);
    if (!choices.is_null()) f["choices"] = choices;
    return f;
  };
  int64_t id = kTicketFieldIdBase + 500;
  int position = 0;
  for (auto [name, label, type] : {std::tuple{"name", "Full name", "default_name"},
                                   {"job_title", "Title", "default_job_title"},
                                   {"email", "Email", "default_email"},
                                   {"phone", "Work phone", "default_phone"},
                                   {"mobile", "Mobile phone", "default_mobile"},
                                   {"company_name", "Company", "default_company_name"},
                                   {"time_zone", "Time zone", "default_time_zone"},
                                   {"language", "Language", "default_language"},
                                   {"tag_names", "Tags", "default_tag_names"}}) {
    ordered_json f = field(id++, ++position, name, label, type, true, nullptr);
    f["editable_in_signup"] = std::string_view(name) == "name" || std::string_view(name) == "email";
    f["customers_can_edit"] = true;
    f["label_for_customers"] = label;
    f["required_for_customers"] = std::string_view(name) == "email";
    f["displayed_for_customers"] = true;
    desk->contact_fields.push_back(std::move(f));
  }
  {
    ordered_json f = field(id++, ++position, "cf_preferred_channel", "Preferred channel", "custom_dropdown", false,
                           ordered_json::array({"Email", "Phone", "Chat"}));
    f["editable_in_signup"] = false;
    f["customers_can_edit"] = true;
    f["label_for_customers"] = "How should we reach you?";
    f["required_for_customers"] = false;
    f["displayed_for_customers"] = true;
    desk->contact_fields.push_back(std::move(f));
  }
  position = 0;
  for (auto [name, label, type] : {std::tuple{"name", "Company Name", "default_name"},
                                   {"description", "Description", "default_description"},
                                   {"note", "Notes", "default_note"},
                                   {"domains", "Domains for this company", "default_domains"},
                                   {"health_score", "Health score", "default_health_score"},
                                   {"account_tier", "Account tier", "default_account_tier"},
                                   {"renewal_date", "Renewal date", "default_renewal_date"},
                                   {"industry", "Industry", "default_industry"}}) {
    desk->company_fields.push_back(field(id++, ++position, name, label, type, true, nullptr));
  }
  desk->company_fields.push_back(field(id++, ++position, "cf_success_manager", "Success manager", "custom_text",
                                       false, nullptr));
}

}  // namespace

std::string GeneratedHtmlToText(const std::string& html, bool keep_newlines) {
  const char brk = keep_newlines ? '\n' : ' ';
  std::string out;
  out.reserve(html.size());
  size_t i = 0;
  while (i < html.size()) {
    const char c = html[i];
    if (c == '<') {
      const size_t end = html.find('>', i);
      if (end == std::string::npos) break;
      size_t p = i + 1;
      const bool closing = p < end && html[p] == '/';
      if (closing) ++p;
      size_t q = p;
      while (q < end && ((html[q] >= 'a' && html[q] <= 'z') || (html[q] >= '0' && html[q] <= '9'))) ++q;
      const string_view name(html.data() + p, q - p);
      if (name == "br" || (closing && IsBlockTag(name))) {
        out.push_back(brk);
      } else if (closing && (name == "td" || name == "th")) {
        out.push_back(' ');
      }
      i = end + 1;
    } else if (c == '&') {
      static constexpr std::pair<string_view, string_view> kEntities[] = {
          {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&nbsp;", " "}};
      bool matched = false;
      for (const auto& [entity, replacement] : kEntities) {
        if (html.compare(i, entity.size(), entity) == 0) {
          out += replacement;
          i += entity.size();
          matched = true;
          break;
        }
      }
      if (!matched) {
        out.push_back('&');
        ++i;
      }
    } else {
      out.push_back(c);
      ++i;
    }
  }
  if (keep_newlines) {
    std::string collapsed;
    collapsed.reserve(out.size());
    int newlines = 0;
    for (char ch : out) {
      if (ch == '\n') {
        while (!collapsed.empty() && collapsed.back() == ' ') collapsed.pop_back();
        if (++newlines > 2) continue;
      } else {
        newlines = 0;
      }
      collapsed.push_back(ch);
    }
    out = std::move(collapsed);
  }
  const size_t begin = out.find_first_not_of(" \n");
  if (begin == std::string::npos) return "";
  const size_t last = out.find_last_not_of(" \n");
  return out.substr(begin, last - begin + 1);
}

namespace {

// French and German phrasebook for KB translations: the product vocabulary stays English (as real
// localised help centres do), the sentences around it are translated.
struct Phrasebook {
  const char* language;
  const char* title_prefix;
  const char* intro;
  const char* steps;
  const char* troubleshooting;
  const char* outro;
};
constexpr Phrasebook kPhrasebooks[] = {
    {"fr", "Guide : ", "Cet article explique comment proc\xC3\xA9" "der et quoi v\xC3\xA9rifier en cas de probl\xC3\xA8me.",
     "\xC3\x89tapes", "D\xC3\xA9pannage",
     "Si le probl\xC3\xA8me persiste, contactez le support avec l'heure exacte de l'erreur."},
    {"de", "Anleitung: ", "Dieser Artikel erkl\xC3\xA4rt das Vorgehen und was bei Problemen zu pr\xC3\xBC" "fen ist.",
     "Schritte", "Fehlerbehebung",
     "Wenn das Problem weiterhin besteht, wenden Sie sich mit der genauen Uhrzeit an den Support."},
};

constexpr const char* kAttachmentSubjects[] = {
    "export error", "billing statement", "SSO configuration", "webhook delivery log", "user import",
    "invoice", "API response", "dashboard screenshot", "audit trail", "integration settings"};

}  // namespace

int64_t NextConversationId(const Helpdesk& desk) {
  int64_t next = kConversationIdBase;
  for (const auto& c : desk.conversations) next = std::max(next, c.id + 1);
  return next;
}

int64_t NextAttachmentId(const Helpdesk& desk) {
  int64_t next = kAttachmentIdBase;
  for (const auto& t : desk.tickets)
    for (const auto& a : t.attachments) next = std::max(next, a.id + 1);
  for (const auto& c : desk.conversations)
    for (const auto& a : c.attachments) next = std::max(next, a.id + 1);
  return next;
}

Result<void> EnrichHelpdesk(Helpdesk* desk_ptr, const GeneratorOptions& options) {
  Helpdesk& desk = *desk_ptr;
  Rng rng(StreamSeed(options.seed, 9));
  int64_t next_attachment = kAttachmentIdBase;
  constexpr AttachmentKind kPlain[] = {AttachmentKind::kPdf, AttachmentKind::kPng, AttachmentKind::kDocx,
                                       AttachmentKind::kCsv, AttachmentKind::kTxt, AttachmentKind::kPng,
                                       AttachmentKind::kPdf};
  constexpr AttachmentKind kHostile[] = {AttachmentKind::kBrokenPdf, AttachmentKind::kHostileDocx,
                                         AttachmentKind::kHostilePng};
  auto make_attachment = [&](int64_t owner_ticket, int64_t at) -> Result<Attachment> {
    const AttachmentKind kind = options.hostile_attachments && rng.Chance(0.1) ? rng.Pick(kHostile)
                                                                               : rng.Pick(kPlain);
    const std::string subject = rng.Pick(kAttachmentSubjects);
    char code[16];
    std::snprintf(code, sizeof(code), "E-%04d", static_cast<int>(rng.Uniform(1000, 9999)));
    const std::string text = "Brightline " + subject + " for ticket " + std::to_string(owner_ticket) +
                             ": reference code " + code + ".";
    std::string name = Slug(subject) + "-" + std::to_string(owner_ticket);
    return BuildAttachment(next_attachment++, kind, std::move(name), text, at);
  };

  // Tickets: lifecycle states and attachments.
  for (Ticket& t : desk.tickets) {
    const double roll = rng.Real();
    if (roll < 0.02) {
      t.spam = true;
    } else if (roll < 0.04) {
      t.deleted = true;
    } else if (roll < 0.045) {
      t.purged = true;
    } else if (t.status == 5 && t.updated_at < desk.now - 120 * kDay && roll < 0.35) {
      t.archived = true;
    }
    if (rng.Chance(0.1)) {
      const int count = static_cast<int>(rng.Uniform(1, 2));
      for (int k = 0; k < count; ++k) {
        ASSIGN_OR_RETURN(Attachment a, make_attachment(t.id, t.created_at));
        t.attachments.push_back(std::move(a));
      }
    }
  }
  for (Conversation& c : desk.conversations) {
    if (!rng.Chance(0.03)) continue;
    ASSIGN_OR_RETURN(Attachment a, make_attachment(c.ticket_id, c.created_at));
    c.attachments.push_back(std::move(a));
  }

  // Contacts: some soft-deleted, some blocked.
  for (Contact& c : desk.contacts) {
    const double roll = rng.Real();
    if (roll < 0.03) {
      c.deleted = true;
      c.updated_at = std::max(c.updated_at, desk.now - rng.Uniform(kDay, 60 * kDay));
    } else if (roll < 0.05) {
      c.blocked = true;
    }
  }

  // KB: a subfolder (and one sub-subfolder) under the first folders, taking some of their articles.
  const size_t top_level = desk.folders.size();
  for (size_t f = 0; f < top_level && f < 4; ++f) {
    int64_t parent_id = desk.folders[f].id;
    for (int depth = 1; depth <= (f == 0 ? 2 : 1); ++depth) {
      Folder* parent = desk.MutableFolder(parent_id);
      Folder sub;
      sub.id = kFolderIdBase + static_cast<int64_t>(desk.folders.size());
      sub.category_id = parent->category_id;
      sub.parent_folder_id = parent->id;
      sub.name = parent->name + (depth == 1 ? ": advanced topics" : ": edge cases");
      sub.description = "More about " + Lower(parent->name) + ".";
      sub.visibility = parent->visibility;
      sub.company_ids = parent->company_ids;
      sub.created_at = parent->created_at + kDay;
      sub.updated_at = parent->updated_at;
      // Move every third article (keep at least one in the parent).
      std::vector<size_t> keep;
      for (size_t k = 0; k < parent->articles.size(); ++k) {
        if (k % 3 == 2) {
          sub.articles.push_back(parent->articles[k]);
        } else {
          keep.push_back(parent->articles[k]);
        }
      }
      parent->articles = std::move(keep);
      for (size_t index : sub.articles) desk.articles[index].folder_id = sub.id;
      parent->subfolders.push_back(sub.id);
      parent_id = sub.id;
      desk.folders.push_back(std::move(sub));
      desk.BuildIndexes();  // MutableFolder pointers are re-resolved each round
    }
  }

  // KB translations for the supported languages.
  desk.supported_languages = {"fr", "de"};
  for (Article& article : desk.articles) {
    for (const Phrasebook& book : kPhrasebooks) {
      if (!rng.Chance(std::string_view(book.language) == "fr" ? 0.7 : 0.5)) continue;
      ArticleTranslation tr;
      tr.title = std::string(book.title_prefix) + article.title;
      tr.description_html = "<p>" + std::string(book.intro) + "</p><h2>" + book.steps + "</h2><p>" +
                            Escape(article.title) + "</p><h2>" + book.troubleshooting + "</h2><p>" + book.outro +
                            "</p>";
      tr.description_text = GeneratedHtmlToText(tr.description_html, false);
      tr.status = rng.Chance(0.8) ? article.status : 1;
      tr.thumbs_up = static_cast<int>(rng.Uniform(0, article.thumbs_up));
      tr.thumbs_down = static_cast<int>(rng.Uniform(0, article.thumbs_down));
      tr.hits = static_cast<int>(rng.Uniform(tr.thumbs_up, std::max(tr.thumbs_up, article.hits / 3)));
      tr.created_at = std::min(desk.now, article.created_at + rng.Uniform(kDay, 30 * kDay));
      tr.updated_at = std::max(tr.created_at, article.updated_at);
      tr.updated_at = std::min(tr.updated_at, desk.now);
      article.translations.emplace(book.language, std::move(tr));
    }
  }
  desk.BuildIndexes();
  return {};
}

Result<Helpdesk> GenerateHelpdesk(const GeneratorOptions& options) {
  if (options.tickets < 0 || options.tickets > kMaxTickets) {
    return Error(InvalidArgument("ticket count " + std::to_string(options.tickets) + " is outside 0.." +
                                 std::to_string(kMaxTickets)));
  }
  if (options.now <= 3 * 365 * kDay) {
    return Error(InvalidArgument("'now' (" + std::to_string(options.now) + ") must be a time after 1973"));
  }
  Helpdesk desk;
  desk.now = options.now;
  desk.domain = "brightline.freshdesk.com";
  desk.support_email = "support@brightline.freshdesk.com";
  desk.support_name = "Brightline Support";
  desk.email_config_id = kEmailConfigId;

  Context ctx;
  ctx.desk = &desk;
  ctx.seed = options.seed;
  GenerateReferenceData(&ctx, options.tickets);
  desk.BuildIndexes();
  GenerateKnowledgeBase(&ctx, options.tickets);

  // Creation times over the two years before now, in id order (display ids grow with creation time).
  Rng times(StreamSeed(options.seed, 4));
  std::vector<int64_t> created;
  created.reserve(static_cast<size_t>(options.tickets));
  const int64_t span = 730 * kDay - 15 * kMinute;
  for (int i = 0; i < options.tickets; ++i)
    created.push_back(options.now - 730 * kDay + times.Uniform(0, span));
  std::sort(created.begin(), created.end());
  desk.tickets.reserve(created.size());
  desk.conversations.reserve(created.size() * 7);
  for (size_t i = 0; i < created.size(); ++i) GenerateTicket(&ctx, static_cast<int64_t>(i + 1), created[i]);

  GenerateTicketFields(&desk);
  GenerateContactAndCompanyFields(&desk);
  desk.BuildIndexes();
  if (options.full) RETURN_IF_ERROR(EnrichHelpdesk(&desk, options));
  return desk;
}

nlohmann::ordered_json DescribeHelpdesk(const Helpdesk& desk) {
  using ordered_json = nlohmann::ordered_json;
  int published = 0;
  for (const auto& article : desk.articles) published += article.status == 2 ? 1 : 0;
  int recent = 0;
  for (const auto& ticket : desk.tickets) recent += ticket.created_at >= desk.now - 30 * kDay ? 1 : 0;

  std::unordered_map<std::string, int> subject_counts;
  for (const auto& ticket : desk.tickets) ++subject_counts[ticket.subject];
  const Ticket* sample = nullptr;
  const size_t n = desk.tickets.size();
  for (size_t k = 0; k < n && sample == nullptr; ++k) {
    const Ticket& ticket = desk.tickets[(n / 2 + k) % n];
    if (subject_counts[ticket.subject] != 1 || ticket.conversation_count < 3) continue;
    bool agent = false, customer = false, note = false;
    for (const auto& c : desk.ConversationsOf(ticket)) {
      agent |= c.kind == ConversationKind::kAgentReply;
      customer |= c.kind == ConversationKind::kCustomerReply;
      note |= c.kind == ConversationKind::kPrivateNote;
    }
    if (agent && customer && note) sample = &ticket;
  }
  if (sample == nullptr) {
    for (const auto& ticket : desk.tickets) {
      if (sample == nullptr || ticket.conversation_count > sample->conversation_count) sample = &ticket;
    }
  }

  ordered_json out;
  out["tickets"] = desk.tickets.size();
  out["conversations"] = desk.conversations.size();
  out["articles"] = desk.articles.size();
  out["published_articles"] = published;
  out["agents"] = desk.agents.size();
  out["groups"] = desk.groups.size();
  out["contacts"] = desk.contacts.size();
  out["companies"] = desk.companies.size();
  out["categories"] = desk.categories.size();
  out["folders"] = desk.folders.size();
  out["tickets_created_last_30_days"] = recent;
  int listed = 0, spam = 0, trashed = 0, archived = 0, purged = 0;
  size_t attachments = 0, translations = 0;
  for (const auto& ticket : desk.tickets) {
    purged += ticket.purged;
    spam += !ticket.purged && ticket.spam;
    trashed += !ticket.purged && !ticket.spam && ticket.deleted;
    archived += !ticket.purged && ticket.archived;
    listed += !ticket.purged && !ticket.spam && !ticket.deleted && !ticket.archived;
    attachments += ticket.attachments.size();
  }
  for (const auto& c : desk.conversations) attachments += c.attachments.size();
  for (const auto& a : desk.articles) translations += a.translations.size();
  out["tickets"] = desk.tickets.size() - static_cast<size_t>(purged);
  out["listed_tickets"] = listed;
  out["spam_tickets"] = spam;
  out["deleted_tickets"] = trashed;
  out["archived_tickets"] = archived;
  out["purged_tickets"] = purged;
  out["attachments"] = attachments;
  out["languages"] = desk.supported_languages;
  out["translations"] = translations;
  out["now"] = FormatTimestamp(desk.now);
  if (sample != nullptr) {
    ordered_json conversations = ordered_json::array();
    for (const auto& c : desk.ConversationsOf(*sample)) {
      conversations.push_back({{"id", c.id},
                               {"body_text", c.body_text},
                               {"private", c.is_private()},
                               {"incoming", c.incoming()}});
    }
    out["sample_ticket"] = {{"id", sample->id},
                            {"subject", sample->subject},
                            {"description_text", sample->description_text},
                            {"conversations", std::move(conversations)}};
  } else {
    out["sample_ticket"] = nullptr;
  }
  return out;
}

}  // namespace deskpipe::emulator
