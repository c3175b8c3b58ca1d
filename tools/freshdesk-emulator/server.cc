#include "server.h"

#include <httplib.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/time.h"
#include "render.h"

namespace deskpipe::emulator {
namespace {

using std::string_view;

constexpr char kJsonContentType[] = "application/json; charset=utf-8";
constexpr char kApiPrefix[] = "/api/v2";
constexpr int64_t kDefaultPerPage = 30;
constexpr int64_t kMaxPerPage = 100;
constexpr int64_t kMaxTicketPages = 300;
constexpr int64_t kDefaultWindowSeconds = 30 * 86400;

// What a route produced; Handle() turns it into the HTTP response.
struct Reply {
  int status = 200;
  std::string body;
  std::optional<std::string> link;  // the rel="next" URL
  int credits = 1;                  // X-RateLimit-Used-CurrentRequest
};

struct FieldError {
  std::string field;
  std::string message;
  std::string code = "invalid_value";
};

Reply JsonReply(int status, const OrderedJson& body) { return Reply{status, Dump(body), std::nullopt, 1}; }

Reply CodeError(int status, string_view code, string_view message) {
  OrderedJson body;
  body["code"] = code;
  body["message"] = message;
  return JsonReply(status, body);
}

Reply NotFound(string_view what) { return CodeError(404, "not_found", what); }

Reply ValidationFailed(const std::vector<FieldError>& errors) {
  OrderedJson list = OrderedJson::array();
  for (const auto& e : errors) list.push_back({{"field", e.field}, {"message", e.message}, {"code", e.code}});
  OrderedJson body;
  body["description"] = "Validation failed";
  body["errors"] = std::move(list);
  return JsonReply(400, body);
}

// Non-negative decimal integer without sign or spaces; nullopt otherwise (incl. overflow).
std::optional<int64_t> ParseCount(string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

std::vector<std::string> SplitComma(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) out.push_back(std::move(item));
    start = comma + 1;
  }
  return out;
}

std::vector<std::string> SplitPath(string_view path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < path.size()) {
    size_t slash = path.find('/', start);
    if (slash == string_view::npos) slash = path.size();
    if (slash > start) out.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

std::optional<std::string> DecodeBase64(string_view text) {
  auto value_of = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    const int v = value_of(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

std::optional<std::string> Param(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return std::nullopt;
  return req.get_param_value(name);
}

// Per-window credit counter behind the X-RateLimit-* headers. Thread-safe.
class RateBudget {
 public:
  RateBudget(int total, std::chrono::milliseconds window) : total_(total), window_(window) {}

  // Charges `credits` and returns the credits left in the current window (never negative).
  int Charge(int credits) {
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    if (now - window_start_ >= window_) {
      window_start_ = now;
      used_ = 0;
    }
    used_ += credits;
    return std::max(0, total_ - used_);
  }
  int total() const { return total_; }

 private:
  const int total_;
  const std::chrono::milliseconds window_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point window_start_ = std::chrono::steady_clock::now();
  int used_ = 0;
};

// A ticket's list representation rendered once: `core` is the list object without its closing brace; the
// others are ",\"key\":value" fragments appended for each include.
struct RenderedTicket {
  std::string core;
  std::string description;
  std::string requester;
  std::string stats;
};

enum TicketOrder { kByCreatedAt = 0, kByUpdatedAt, kByStatus, kByDueBy, kOrderCount };

}  // namespace

struct EmulatorServer::Impl {
  Impl(std::shared_ptr<const Helpdesk> desk_in, ServerOptions options_in)
      : desk(std::move(desk_in)),
        options(std::move(options_in)),
        budget(options.rate_limit_total, options.rate_limit_window) {
    RenderTickets();
  }

  void RenderTickets();
  void Handle(const httplib::Request& req, httplib::Response& res, bool read_method);
  Reply Route(const httplib::Request& req);
  bool Authorized(const httplib::Request& req) const;

  // Collection helpers.
  struct Paging {
    int64_t page = 1;
    int64_t per_page = kDefaultPerPage;
  };
  Paging ParsePaging(const httplib::Request& req, std::vector<FieldError>* errors) const;
  void CheckParams(const httplib::Request& req, std::initializer_list<string_view> allowed,
                   std::vector<FieldError>* errors) const;
  std::string NextLink(const httplib::Request& req, int64_t next_page) const;
  // Renders items [first, first+count) of a `total`-long collection as a page, with the Link header.
  Reply Page(const httplib::Request& req, const Paging& paging, size_t total,
             const std::function<std::string(size_t)>& render_item) const;

  // Routes.
  Reply ListTickets(const httplib::Request& req);
  Reply ViewTicket(const httplib::Request& req, const Ticket& ticket);
  Reply ListConversations(const httplib::Request& req, const Ticket& ticket);
  Reply Solutions(const httplib::Request& req, std::vector<std::string> segments);
  Reply ListContacts(const httplib::Request& req);
  Reply ListCompanies(const httplib::Request& req);
  Reply ListTicketFields(const httplib::Request& req);

  std::shared_ptr<const Helpdesk> desk;
  const ServerOptions options;
  RateBudget budget;
  std::vector<RenderedTicket> rendered;                      // by ticket index
  std::array<std::vector<uint32_t>, kOrderCount> orderings;  // ticket indexes ascending by (key, id)

  std::unique_ptr<httplib::Server> server;
  std::thread thread;
  int port = 0;
  bool started = false;
};

void EmulatorServer::Impl::RenderTickets() {
  const auto& tickets = desk->tickets;
  rendered.resize(tickets.size());
  for (size_t i = 0; i < tickets.size(); ++i) {
    const Ticket& t = tickets[i];
    RenderedTicket& r = rendered[i];
    r.core = Dump(TicketListJson(*desk, t));
    r.core.pop_back();  // the closing brace
    std::string description = Dump(TicketDescriptionJson(t));
    r.description = "," + description.substr(1, description.size() - 2);
    r.requester = ",\"requester\":" + Dump(RequesterJson(*desk, t));
    r.stats = ",\"stats\":" + Dump(TicketStatsJson(t));
  }
  auto key = [&](int order, const Ticket& t) -> int64_t {
    switch (order) {
      case kByUpdatedAt:
        return t.updated_at;
      case kByStatus:
        return t.status;
      case kByDueBy:
        return t.due_by;
      default:
        return t.created_at;
    }
  };
  for (int order = 0; order < kOrderCount; ++order) {
    auto& index = orderings[static_cast<size_t>(order)];
    index.resize(tickets.size());
    for (size_t i = 0; i < tickets.size(); ++i) index[i] = static_cast<uint32_t>(i);
    std::sort(index.begin(), index.end(), [&](uint32_t a, uint32_t b) {
      const int64_t ka = key(order, tickets[a]);
      const int64_t kb = key(order, tickets[b]);
      return ka != kb ? ka < kb : tickets[a].id < tickets[b].id;
    });
  }
}

bool EmulatorServer::Impl::Authorized(const httplib::Request& req) const {
  const std::string header = req.get_header_value("Authorization");
  constexpr string_view kBasic = "Basic ";
  if (header.size() <= kBasic.size() || header.compare(0, kBasic.size(), kBasic) != 0) return false;
  std::optional<std::string> decoded = DecodeBase64(string_view(header).substr(kBasic.size()));
  if (!decoded) return false;
  const size_t colon = decoded->find(':');
  if (colon == std::string::npos || colon + 1 == decoded->size()) return false;  // password must be non-empty
  return string_view(*decoded).substr(0, colon) == options.api_key;
}

void EmulatorServer::Impl::Handle(const httplib::Request& req, httplib::Response& res, bool read_method) {
  Reply reply;
  try {
    if (!Authorized(req)) {
      reply = CodeError(401, "invalid_credentials", "You have to be logged in to perform this action.");
    } else if (!read_method) {
      reply = CodeError(405, "method_not_allowed", "This emulator is read-only: only GET is supported.");
      res.set_header("Allow", "GET");
    } else {
      reply = Route(req);
    }
  } catch (const std::exception& e) {
    reply = CodeError(500, "internal_error", std::string("emulator error: ") + e.what());
  }
  const int remaining = budget.Charge(reply.credits);
  res.status = reply.status;
  res.set_header("X-RateLimit-Total", std::to_string(budget.total()));
  res.set_header("X-RateLimit-Remaining", std::to_string(remaining));
  res.set_header("X-RateLimit-Used-CurrentRequest", std::to_string(reply.credits));
  res.set_header("X-Freshdesk-Api-Version", "latest=v2; requested=v2");
  if (reply.link) res.set_header("link", "<" + *reply.link + ">; rel=\"next\"");
  res.set_content(std::move(reply.body), kJsonContentType);
}

Reply EmulatorServer::Impl::Route(const httplib::Request& req) {
  const std::string accept = req.get_header_value("Accept");
  if (!accept.empty() && accept.find("application/json") == std::string::npos &&
      accept.find("*/*") == std::string::npos) {
    return CodeError(406, "invalid_accept_header",
                     "Only application/json and */* are supported in 'Accept'.");
  }
  const string_view path = req.path;
  const string_view prefix = kApiPrefix;
  if (path.size() < prefix.size() || path.substr(0, prefix.size()) != prefix ||
      (path.size() > prefix.size() && path[prefix.size()] != '/')) {
    return NotFound("No such URL: " + req.path);
  }
  std::vector<std::string> s = SplitPath(path.substr(prefix.size()));
  const size_t n = s.size();
  auto id_at = [&](size_t i) { return ParseCount(s[i]); };
  auto not_found = [&] { return NotFound("No such URL: " + req.path); };
  if (n == 0) return not_found();
  const std::string& root = s[0];

  if (root == "tickets") {
    if (n == 1) return ListTickets(req);
    const std::optional<int64_t> id = id_at(1);
    if (!id) return not_found();
    const Ticket* ticket = desk->FindTicket(*id);
    if (n > 3 || (n == 3 && s[2] != "conversations")) return not_found();
    if (ticket == nullptr) return NotFound("There is no ticket with id " + std::to_string(*id));
    return n == 2 ? ViewTicket(req, *ticket) : ListConversations(req, *ticket);
  }
  if (root == "solutions") return Solutions(req, std::move(s));

  if (root == "agents") {
    if (n == 1) {
      std::vector<FieldError> errors;
      CheckParams(req, {"page", "per_page", "email", "mobile", "phone", "state"}, &errors);
      const Paging paging = ParsePaging(req, &errors);
      if (!errors.empty()) return ValidationFailed(errors);
      std::vector<const Agent*> agents;
      const std::string email = Param(req, "email").value_or("");
      const std::string state = Param(req, "state").value_or("");
      for (const auto& agent : desk->agents) {
        if (!email.empty() && agent.email != email) continue;
        if (state == "fulltime" && agent.occasional) continue;
        if (state == "occasional" && !agent.occasional) continue;
        agents.push_back(&agent);
      }
      return Page(req, paging, agents.size(), [&](size_t i) { return Dump(AgentJson(*agents[i])); });
    }
    if (n == 2 && s[1] == "me") return JsonReply(200, AgentJson(desk->agents.front()));
    const std::optional<int64_t> id = id_at(1);
    if (n != 2 || !id) return not_found();
    const Agent* agent = desk->FindAgent(*id);
    return agent ? JsonReply(200, AgentJson(*agent)) : NotFound("There is no agent with id " + s[1]);
  }
  if (root == "groups") {
    if (n == 1) {
      std::vector<FieldError> errors;
      CheckParams(req, {"page", "per_page"}, &errors);
      const Paging paging = ParsePaging(req, &errors);
      if (!errors.empty()) return ValidationFailed(errors);
      return Page(req, paging, desk->groups.size(),
                  [&](size_t i) { return Dump(GroupJson(desk->groups[i], false)); });
    }
    const std::optional<int64_t> id = id_at(1);
    if (n != 2 || !id) return not_found();
    const Group* group = desk->FindGroup(*id);
    return group ? JsonReply(200, GroupJson(*group, true)) : NotFound("There is no group with id " + s[1]);
  }
  if (root == "contacts") {
    if (n == 1) return ListContacts(req);
    const std::optional<int64_t> id = id_at(1);
    if (n != 2 || !id) return not_found();
    const Contact* contact = desk->FindContact(*id);
    return contact ? JsonReply(200, ContactJson(*contact)) : NotFound("There is no contact with id " + s[1]);
  }
  if (root == "companies") {
    if (n == 1) return ListCompanies(req);
    const std::optional<int64_t> id = id_at(1);
    if (n != 2 || !id) return not_found();
    const Company* company = desk->FindCompany(*id);
    return company ? JsonReply(200, CompanyJson(*company)) : NotFound("There is no company with id " + s[1]);
  }
  if (root == "ticket_fields" && n == 1) return ListTicketFields(req);
  if (root == "settings" && n == 2 && s[1] == "helpdesk") return JsonReply(200, HelpdeskSettingsJson(*desk));
  return not_found();
}

EmulatorServer::Impl::Paging EmulatorServer::Impl::ParsePaging(const httplib::Request& req,
                                                               std::vector<FieldError>* errors) const {
  Paging paging;
  if (auto text = Param(req, "page")) {
    std::optional<int64_t> page = ParseCount(*text);
    if (!page || *page < 1) {
      errors->push_back({"page", "It should be a Positive Integer"});
    } else {
      paging.page = *page;
    }
  }
  if (auto text = Param(req, "per_page")) {
    std::optional<int64_t> per_page = ParseCount(*text);
    if (!per_page || *per_page < 1 || *per_page > kMaxPerPage) {
      errors->push_back({"per_page", "It should be a Positive Integer less than or equal to 100"});
    } else {
      paging.per_page = *per_page;
    }
  }
  return paging;
}

void EmulatorServer::Impl::CheckParams(const httplib::Request& req,
                                       std::initializer_list<string_view> allowed,
                                       std::vector<FieldError>* errors) const {
  std::set<std::string> reported;
  for (const auto& [name, value] : req.params) {
    if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) continue;
    if (reported.insert(name).second)
      errors->push_back({name, "Unexpected/invalid field in request", "invalid_field"});
  }
}

std::string EmulatorServer::Impl::NextLink(const httplib::Request& req, int64_t next_page) const {
  // Keep the caller's query exactly as sent (order and encoding), replacing only page=.
  const std::string& target = req.target;
  const size_t question = target.find('?');
  const std::string path = question == std::string::npos ? target : target.substr(0, question);
  std::string query;
  bool replaced = false;
  if (question != std::string::npos) {
    const string_view raw = string_view(target).substr(question + 1);
    size_t start = 0;
    while (start <= raw.size()) {
      size_t amp = raw.find('&', start);
      if (amp == string_view::npos) amp = raw.size();
      string_view pair = raw.substr(start, amp - start);
      if (!pair.empty()) {
        if (!query.empty()) query += '&';
        const string_view key = pair.substr(0, pair.find('='));
        if (key == "page") {
          query += "page=" + std::to_string(next_page);
          replaced = true;
        } else {
          query += pair;
        }
      }
      start = amp + 1;
    }
  }
  if (!replaced) query += (query.empty() ? "" : "&") + std::string("page=") + std::to_string(next_page);
  return "http://" + options.host + ":" + std::to_string(port) + path + "?" + query;
}

Reply EmulatorServer::Impl::Page(const httplib::Request& req, const Paging& paging, size_t total,
                                 const std::function<std::string(size_t)>& render_item) const {
  const uint64_t first = static_cast<uint64_t>(paging.page - 1) * static_cast<uint64_t>(paging.per_page);
  Reply reply;
  reply.body = "[";
  for (uint64_t i = first; i < total && i < first + static_cast<uint64_t>(paging.per_page); ++i) {
    if (i != first) reply.body += ',';
    reply.body += render_item(static_cast<size_t>(i));
  }
  reply.body += ']';
  if (first + static_cast<uint64_t>(paging.per_page) < total) reply.link = NextLink(req, paging.page + 1);
  return reply;
}

Reply EmulatorServer::Impl::ListTickets(const httplib::Request& req) {
  std::vector<FieldError> errors;
  CheckParams(req,
              {"updated_since", "order_by", "order_type", "include", "filter", "page", "per_page",
               "requester_id", "email", "unique_external_id", "company_id"},
              &errors);

  std::optional<int64_t> updated_since;
  if (auto text = Param(req, "updated_since")) {
    Result<int64_t> parsed = ParseTimestamp(*text);
    if (parsed) {
      updated_since = *parsed;
    } else {
      errors.push_back({"updated_since", "It should be in the 'valid date time' format"});
    }
  }
  int order = kByCreatedAt;
  if (auto text = Param(req, "order_by")) {
    if (*text == "created_at") {
      order = kByCreatedAt;
    } else if (*text == "updated_at") {
      order = kByUpdatedAt;
    } else if (*text == "status") {
      order = kByStatus;
    } else if (*text == "due_by") {
      order = kByDueBy;
    } else {
      errors.push_back(
          {"order_by", "It should be one of these values: 'created_at,due_by,updated_at,status'"});
    }
  }
  bool ascending = false;
  if (auto text = Param(req, "order_type")) {
    if (*text == "asc" || *text == "desc") {
      ascending = *text == "asc";
    } else {
      errors.push_back({"order_type", "It should be one of these values: 'asc,desc'"});
    }
  }
  bool with_description = false, with_requester = false, with_stats = false;
  if (auto text = Param(req, "include")) {
    for (const std::string& item : SplitComma(*text)) {
      if (item == "description") {
        with_description = true;
      } else if (item == "requester") {
        with_requester = true;
      } else if (item == "stats") {
        with_stats = true;
      } else {
        errors.push_back({"include", "It should be one of these values: 'description,requester,stats'"});
        break;
      }
    }
  }
  const std::string filter = Param(req, "filter").value_or("");
  if (!filter.empty() && filter != "new_and_my_open" && filter != "watching" && filter != "spam" &&
      filter != "deleted") {
    errors.push_back({"filter", "It should be one of these values: 'new_and_my_open,watching,spam,deleted'"});
  }
  std::optional<int64_t> requester_id, company_id;
  if (auto text = Param(req, "requester_id")) {
    requester_id = ParseCount(*text);
    if (!requester_id) errors.push_back({"requester_id", "It should be a Positive Integer"});
  }
  if (auto text = Param(req, "company_id")) {
    company_id = ParseCount(*text);
    if (!company_id) errors.push_back({"company_id", "It should be a Positive Integer"});
  }
  const std::optional<std::string> email = Param(req, "email");
  const bool by_external_id = req.has_param("unique_external_id");
  const Paging paging = ParsePaging(req, &errors);
  if (paging.page > kMaxTicketPages) {
    errors.push_back(
        {"page", "You cannot access tickets beyond the 300th page. Please provide a smaller page number."});
  }
  if (!errors.empty()) return ValidationFailed(errors);

  // Matching tickets in the requested order (ties broken by id, so paging is stable).
  const auto& tickets = desk->tickets;
  const int64_t me = desk->agents.empty() ? 0 : desk->agents.front().id;
  std::vector<uint32_t> matches;
  const bool no_match = filter == "spam" || filter == "deleted" || filter == "watching" || by_external_id;
  if (!no_match) {
    const auto& index = orderings[static_cast<size_t>(order)];
    matches.reserve(index.size());
    for (size_t k = 0; k < index.size(); ++k) {
      const uint32_t i = ascending ? index[k] : index[index.size() - 1 - k];
      const Ticket& t = tickets[i];
      if (updated_since ? t.updated_at < *updated_since : t.created_at < desk->now - kDefaultWindowSeconds)
        continue;
      if (requester_id && t.requester_id != *requester_id) continue;
      if (company_id && t.company_id != *company_id) continue;
      if (email) {
        const Contact* requester = desk->FindContact(t.requester_id);
        if (requester == nullptr || requester->email != *email) continue;
      }
      if (filter == "new_and_my_open" && !(t.status == 2 && (!t.responder_id || *t.responder_id == me)))
        continue;
      matches.push_back(i);
    }
  }
  Reply reply = Page(req, paging, matches.size(), [&](size_t k) {
    const RenderedTicket& r = rendered[matches[k]];
    std::string item = r.core;
    if (with_description) item += r.description;
    if (with_requester) item += r.requester;
    if (with_stats) item += r.stats;
    item += '}';
    return item;
  });
  reply.credits = 1 + 2 * (int{with_description} + int{with_requester} + int{with_stats});
  return reply;
}

Reply EmulatorServer::Impl::ViewTicket(const httplib::Request& req, const Ticket& ticket) {
  std::vector<FieldError> errors;
  CheckParams(req, {"include"}, &errors);
  TicketViewIncludes includes;
  int count = 0;
  if (auto text = Param(req, "include")) {
    for (const std::string& item : SplitComma(*text)) {
      bool* flag = item == "conversations" ? &includes.conversations
                   : item == "requester"   ? &includes.requester
                   : item == "company"     ? &includes.company
                   : item == "stats"       ? &includes.stats
                                           : nullptr;
      if (flag == nullptr) {
        errors.push_back(
            {"include", "It should be one of these values: 'conversations,requester,company,stats'"});
        break;
      }
      if (!*flag) ++count;
      *flag = true;
    }
  }
  if (!errors.empty()) return ValidationFailed(errors);
  Reply reply = JsonReply(200, TicketViewJson(*desk, ticket, includes));
  reply.credits = 1 + count;
  return reply;
}

Reply EmulatorServer::Impl::ListConversations(const httplib::Request& req, const Ticket& ticket) {
  std::vector<FieldError> errors;
  CheckParams(req, {"page", "per_page"}, &errors);
  const Paging paging = ParsePaging(req, &errors);
  if (!errors.empty()) return ValidationFailed(errors);
  auto conversations = desk->ConversationsOf(ticket);
  return Page(req, paging, conversations.size(),
              [&](size_t i) { return Dump(ConversationJson(*desk, conversations[i])); });
}

Reply EmulatorServer::Impl::Solutions(const httplib::Request& req, std::vector<std::string> s) {
  // Language variants (…/{language_code}): the account only has "en", the primary language.
  if (s.size() > 2 && s.back() == "en") s.pop_back();
  const size_t n = s.size();
  auto not_found = [&] { return NotFound("No such URL: " + req.path); };
  auto paged = [&](size_t total, const std::function<std::string(size_t)>& render) {
    std::vector<FieldError> errors;
    CheckParams(req, {"page", "per_page"}, &errors);
    const Paging paging = ParsePaging(req, &errors);
    if (!errors.empty()) return ValidationFailed(errors);
    return Page(req, paging, total, render);
  };
  if (n < 2) return not_found();
  const std::optional<int64_t> id = n >= 3 ? ParseCount(s[2]) : std::nullopt;
  if (s[1] == "categories") {
    if (n == 2) {
      return paged(desk->categories.size(),
                   [&](size_t i) { return Dump(CategoryJson(desk->categories[i])); });
    }
    if (!id) return not_found();
    const Category* category = desk->FindCategory(*id);
    if (n > 4 || (n == 4 && s[3] != "folders")) return not_found();
    if (category == nullptr) return NotFound("There is no solution category with id " + s[2]);
    if (n == 3) return JsonReply(200, CategoryJson(*category));
    std::vector<const Folder*> folders;
    for (const auto& folder : desk->folders) {
      if (folder.category_id == category->id) folders.push_back(&folder);
    }
    return paged(folders.size(), [&](size_t i) { return Dump(FolderJson(*desk, *folders[i])); });
  }
  if (s[1] == "folders" && id) {
    const Folder* folder = desk->FindFolder(*id);
    if (n > 4 || (n == 4 && s[3] != "articles" && s[3] != "subfolders")) return not_found();
    if (folder == nullptr) return NotFound("There is no solution folder with id " + s[2]);
    if (n == 3) return JsonReply(200, FolderJson(*desk, *folder));
    if (s[3] == "subfolders") return paged(0, [](size_t) { return std::string(); });
    return paged(folder->articles.size(),
                 [&](size_t i) { return Dump(ArticleJson(*desk, desk->articles[folder->articles[i]])); });
  }
  if (s[1] == "articles" && id && n == 3) {
    const Article* article = desk->FindArticle(*id);
    if (article == nullptr) return NotFound("There is no solution article with id " + s[2]);
    return JsonReply(200, ArticleJson(*desk, *article));
  }
  return not_found();
}

Reply EmulatorServer::Impl::ListContacts(const httplib::Request& req) {
  std::vector<FieldError> errors;
  CheckParams(req,
              {"page", "per_page", "updated_since", "_updated_since", "email", "mobile", "phone",
               "company_id", "state", "contact_type"},
              &errors);
  std::optional<int64_t> since;
  for (const char* name : {"updated_since", "_updated_since"}) {
    if (auto text = Param(req, name)) {
      Result<int64_t> parsed = ParseTimestamp(*text);
      if (parsed) {
        since = *parsed;
      } else {
        errors.push_back({name, "It should be in the 'valid date time' format"});
      }
    }
  }
  std::optional<int64_t> company_id;
  if (auto text = Param(req, "company_id")) {
    company_id = ParseCount(*text);
    if (!company_id) errors.push_back({"company_id", "It should be a Positive Integer"});
  }
  const std::string state = Param(req, "state").value_or("");
  if (!state.empty() && state != "blocked" && state != "deleted" && state != "unverified" &&
      state != "verified") {
    errors.push_back({"state", "It should be one of these values: 'blocked,deleted,unverified,verified'"});
  }
  const std::string contact_type = Param(req, "contact_type").value_or("");
  if (!contact_type.empty() && contact_type != "contact" && contact_type != "visitor") {
    errors.push_back({"contact_type", "It should be one of these values: 'contact,visitor'"});
  }
  const Paging paging = ParsePaging(req, &errors);
  if (!errors.empty()) return ValidationFailed(errors);
  const std::optional<std::string> email = Param(req, "email");
  const std::optional<std::string> phone = Param(req, "phone");
  const std::optional<std::string> mobile = Param(req, "mobile");
  std::vector<const Contact*> contacts;
  if (state != "blocked" && state != "deleted" && contact_type != "visitor") {
    for (const auto& contact : desk->contacts) {
      if (since && contact.updated_at < *since) continue;
      if (company_id && contact.company_id != *company_id) continue;
      if (email && contact.email != *email) continue;
      if (phone && contact.phone != *phone) continue;
      if (mobile && contact.mobile != *mobile) continue;
      if (state == "unverified" && contact.active) continue;
      if (state == "verified" && !contact.active) continue;
      contacts.push_back(&contact);
    }
  }
  return Page(req, paging, contacts.size(), [&](size_t i) { return Dump(ContactJson(*contacts[i])); });
}

Reply EmulatorServer::Impl::ListCompanies(const httplib::Request& req) {
  std::vector<FieldError> errors;
  CheckParams(req, {"page", "per_page", "updated_since", "_updated_since"}, &errors);
  std::optional<int64_t> since;
  for (const char* name : {"updated_since", "_updated_since"}) {
    if (auto text = Param(req, name)) {
      Result<int64_t> parsed = ParseTimestamp(*text);
      if (parsed) {
        since = *parsed;
      } else {
        errors.push_back({name, "It should be in the 'valid date time' format"});
      }
    }
  }
  const Paging paging = ParsePaging(req, &errors);
  if (!errors.empty()) return ValidationFailed(errors);
  std::vector<const Company*> companies;
  for (const auto& company : desk->companies) {
    if (since && company.updated_at < *since) continue;
    companies.push_back(&company);
  }
  return Page(req, paging, companies.size(), [&](size_t i) { return Dump(CompanyJson(*companies[i])); });
}

Reply EmulatorServer::Impl::ListTicketFields(const httplib::Request& req) {
  std::vector<FieldError> errors;
  CheckParams(req, {"type"}, &errors);
  if (!errors.empty()) return ValidationFailed(errors);
  const std::optional<std::string> type = Param(req, "type");
  OrderedJson out = OrderedJson::array();
  for (const auto& field : desk->ticket_fields) {
    if (type && field.type != *type) continue;
    out.push_back(TicketFieldJson(field));
  }
  return JsonReply(200, out);
}

// ---------------------------------------------------------------------------------------------------------

EmulatorServer::EmulatorServer(std::shared_ptr<const Helpdesk> helpdesk, ServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(helpdesk), std::move(options))) {}

EmulatorServer::~EmulatorServer() { Stop(); }

Status EmulatorServer::Start() {
  Impl& impl = *impl_;
  if (impl.started) return InvalidArgument("the emulator server is already started");
  impl.server = std::make_unique<httplib::Server>();
  httplib::Server& server = *impl.server;
  const size_t threads = static_cast<size_t>(std::max(1, impl.options.threads));
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_keep_alive_max_count(1000);
  server.set_keep_alive_timeout(std::max(1, impl.options.keep_alive_timeout_seconds));
  auto read = [&impl](const httplib::Request& req, httplib::Response& res) { impl.Handle(req, res, true); };
  auto write = [&impl](const httplib::Request& req, httplib::Response& res) { impl.Handle(req, res, false); };
  server.Get(".*", read);
  server.Post(".*", write);
  server.Put(".*", write);
  server.Patch(".*", write);
  server.Delete(".*", write);
  // Errors httplib raises itself (bad request line, unsupported method, …) also get a JSON body.
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      res.set_content(Dump(OrderedJson{{"code", "invalid_request"},
                                       {"message", "The request could not be handled (HTTP " +
                                                       std::to_string(res.status) + ")"}}),
                      kJsonContentType);
    }
  });

  int bound = -1;
  if (impl.options.port == 0) {
    bound = server.bind_to_any_port(impl.options.host);
  } else if (server.bind_to_port(impl.options.host, impl.options.port)) {
    bound = impl.options.port;
  }
  if (bound <= 0) {
    impl.server.reset();
    return Unavailable("could not listen on " + impl.options.host + ":" + std::to_string(impl.options.port));
  }
  impl.port = bound;
  impl.thread = std::thread([&server] { server.listen_after_bind(); });
  // stop() only works once the accept loop runs; the socket already listens, so this wait is short.
  for (int i = 0; i < 5000 && !server.is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  impl.started = true;
  return Status::Ok();
}

void EmulatorServer::Stop() {
  Impl& impl = *impl_;
  if (!impl.started) return;
  impl.server->stop();
  if (impl.thread.joinable()) impl.thread.join();
  impl.server.reset();
  impl.started = false;
}

int EmulatorServer::port() const { return impl_->port; }

std::string EmulatorServer::base_url() const {
  return "http://" + impl_->options.host + ":" + std::to_string(impl_->port);
}

}  // namespace deskpipe::emulator
