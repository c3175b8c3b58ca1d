#include "server.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>

#include "core/time.h"
#include "render.h"

namespace deskpipe::zendesk_emulator {
namespace {

using std::string_view;

constexpr char kJsonContentType[] = "application/json; charset=utf-8";
constexpr int64_t kExportPageSize = 1000;  // incremental exports: items per page (and the per_page maximum)
constexpr int64_t kMaxPageSize = 100;      // page[size] and per_page maximum of the list endpoints
constexpr int64_t kExcludedSeconds = 60;   // exports leave out what changed in the minute before the request
constexpr int kStormLength = 5;

struct Reply {
  int status = 200;
  std::string body;
};

Reply JsonReply(int status, const OrderedJson& body) { return Reply{status, Dump(body)}; }
Reply ApiError(int status, string_view error, string_view description) {
  OrderedJson body;
  body["error"] = error;
  body["description"] = description;
  return JsonReply(status, body);
}
Reply RecordNotFound() { return ApiError(404, "RecordNotFound", "Not found"); }
Reply InvalidPagination(string_view description) {
  return ApiError(400, "InvalidPaginationParameter", description);
}

std::optional<int64_t> ParseInt(string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<std::string> Param(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return std::nullopt;
  return req.get_param_value(name);
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

const char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string EncodeBase64(string_view data) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : data) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kBase64[(buffer >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kBase64[(buffer << (6 - bits)) & 63]);
  while (out.size() % 4 != 0) out.push_back('=');
  return out;
}

std::optional<std::string> DecodeBase64(string_view text) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    const char* at = std::strchr(kBase64, c);
    if (c == '\0' || at == nullptr) return std::nullopt;
    buffer = (buffer << 6) | static_cast<uint32_t>(at - kBase64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

// An export position: items strictly after (timestamp, id). Encoded like Zendesk's own cursors,
// base64("1576613539.0||467|").
struct ExportPosition {
  int64_t timestamp = 0;
  int64_t id = 0;
};
std::string EncodeExportCursor(const ExportPosition& p) {
  return EncodeBase64(std::to_string(p.timestamp) + ".0||" + std::to_string(p.id) + "|");
}
std::optional<ExportPosition> DecodeExportCursor(const std::string& cursor) {
  auto text = DecodeBase64(cursor);
  if (!text) return std::nullopt;
  const size_t dot = text->find(".0||");
  if (dot == std::string::npos || text->empty() || text->back() != '|') return std::nullopt;
  auto ts = ParseInt(string_view(*text).substr(0, dot));
  auto id = ParseInt(string_view(*text).substr(dot + 4, text->size() - dot - 5));
  if (!ts || !id || *ts < 0 || *id < 0) return std::nullopt;
  return ExportPosition{*ts, *id};
}

// A list cursor (page[after] / page[before]): the id of the item it points at, opaque to clients.
std::string EncodeListCursor(int64_t id) { return EncodeBase64("zdc1:" + std::to_string(id)); }
std::optional<int64_t> DecodeListCursor(const std::string& cursor) {
  auto text = DecodeBase64(cursor);
  if (!text || text->rfind("zdc1:", 0) != 0) return std::nullopt;
  return ParseInt(string_view(*text).substr(5));
}

std::string UrlEncode(string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// "/api/v2/tickets/17/comments.json" → "GET /api/v2/tickets/{id}/comments" (stats keys).
std::string EndpointKey(const std::string& method, const std::vector<std::string>& segments) {
  std::string key = method + " ";
  for (const std::string& segment : segments) {
    const bool numeric = !segment.empty() && std::all_of(segment.begin(), segment.end(), ::isdigit);
    key += "/" + (numeric ? std::string("{id}") : segment);
  }
  return key;
}

// One consistent state: the account, its export orderings (indexes sorted by (key, id)) and how far
// /_emulator/clock/advance has moved its clock since the account's last timeline step.
struct Snapshot {
  std::shared_ptr<const Account> account;
  int64_t clock_offset = 0;
  std::vector<uint32_t> tickets_by_generated;  // live tickets
  std::vector<uint32_t> users_by_updated;
  std::vector<uint32_t> organizations_by_updated;
  std::vector<uint32_t> articles_by_updated;
};

template <typename Key>
std::vector<uint32_t> SortedIndexes(size_t count, Key key, std::function<bool(size_t)> keep) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < count; ++i) {
    if (keep(i)) out.push_back(static_cast<uint32_t>(i));
  }
  std::sort(out.begin(), out.end(), [&](uint32_t a, uint32_t b) { return key(a) < key(b); });
  return out;
}

std::shared_ptr<const Snapshot> BuildSnapshot(std::shared_ptr<const Account> account) {
  auto s = std::make_shared<Snapshot>();
  const Account& a = *account;
  s->tickets_by_generated = SortedIndexes(
      a.tickets.size(),
      [&](size_t i) { return std::pair(a.tickets[i].generated_timestamp, a.tickets[i].id); },
      [&](size_t i) { return !a.tickets[i].scrubbed; });
  s->users_by_updated = SortedIndexes(
      a.users.size(), [&](size_t i) { return std::pair(a.users[i].updated_at, a.users[i].id); },
      [](size_t) { return true; });
  s->organizations_by_updated = SortedIndexes(
      a.organizations.size(),
      [&](size_t i) { return std::pair(a.organizations[i].updated_at, a.organizations[i].id); },
      [](size_t) { return true; });
  s->articles_by_updated = SortedIndexes(
      a.articles.size(), [&](size_t i) { return std::pair(a.articles[i].updated_at, a.articles[i].id); },
      [&](size_t i) { return !a.articles[i].archived; });
  s->account = std::move(account);
  return s;
}

// Request accounting per fixed window; what /_emulator/stats reports.
struct WindowStats {
  int64_t index = 0;
  int requests = 0;
  int export_requests = 0;
  int rate_limited = 0;
};

struct EndpointStats {
  int64_t requests = 0;
  std::map<int, int64_t> statuses;
};

}  // namespace

Result<RatePlan> PlanLimits(const std::string& plan, bool high_volume) {
  static const std::map<std::string, int> kPlans = {
      {"team", 200}, {"growth", 400}, {"professional", 400}, {"enterprise", 700}, {"enterprise-plus", 2500}};
  auto it = kPlans.find(plan);
  if (it == kPlans.end()) {
    return Error(InvalidArgument("unknown plan '" + plan +
                                 "' (team, growth, professional, enterprise, enterprise-plus)"));
  }
  RatePlan limits{.per_minute = it->second, .exports_per_minute = 10};
  if (high_volume || plan == "enterprise-plus")
    limits.per_minute = 2500;  // the add-on is part of Enterprise Plus
  if (high_volume) limits.exports_per_minute = 30;
  return limits;
}

Result<unsigned> ParseFaultClasses(const std::string& list) {
  unsigned mask = 0;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    const std::string name = list.substr(start, comma - start);
    if (name == "5xx")
      mask |= kFault5xx;
    else if (name == "slow")
      mask |= kFaultSlow;
    else if (name == "429storm")
      mask |= kFault429Storm;
    else if (!name.empty())
      return Error(InvalidArgument("unknown fault class '" + name + "'"));
    start = comma + 1;
  }
  if (mask == 0) return Error(InvalidArgument("no fault class given"));
  return mask;
}

struct EmulatorServer::Impl {
  Impl(std::shared_ptr<const Account> account, ServerOptions opts)
      : options(std::move(opts)), snapshot(BuildSnapshot(std::move(account))), started_at(Clock::now()) {
    for (const auto& step : options.timeline) timeline_names.push_back(step.name);
  }
  using Clock = std::chrono::steady_clock;

  std::shared_ptr<const Snapshot> Current() const {
    std::lock_guard lock(snapshot_mutex);
    return snapshot;
  }

  void Handle(const httplib::Request& req, httplib::Response& res);
  void HandleControl(const httplib::Request& req, httplib::Response& res);
  void HandleAttachment(const httplib::Request& req, httplib::Response& res, const std::string& token);
  Reply Route(const Snapshot& snap, const httplib::Request& req, std::vector<std::string> segments);
  bool Authorized(const httplib::Request& req) const;

  // Account time: the account's `now` plus what /_emulator/clock/advance added since.
  static int64_t Now(const Snapshot& snap) { return snap.account->now + snap.clock_offset; }
  std::chrono::milliseconds Elapsed() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_at) +
           std::chrono::milliseconds(clock_offset_ms.load());
  }

  Reply CursorExport(const Snapshot& snap, const httplib::Request& req, bool tickets);
  Reply TimeExport(const Snapshot& snap, const httplib::Request& req, const std::string& resource);
  Reply Comments(const Snapshot& snap, const httplib::Request& req, const Ticket& ticket);
  Reply DeletedTickets(const Snapshot& snap, const httplib::Request& req);
  Reply HelpCenter(const Snapshot& snap, const httplib::Request& req, std::vector<std::string> segments);

  // A list page: offset pagination (page, per_page) unless page[size] is given (cursor pagination). Items are
  // (id, json) in their listed order; cursor pages point at ids. `help_center_offset` adds Help Center's
  // offset fields.
  Reply ListPage(const httplib::Request& req, const std::string& key,
                 const std::vector<std::pair<int64_t, OrderedJson>>& items, int64_t default_per_page,
                 bool help_center_offset = false);
  std::string Url(const httplib::Request& req,
                  const std::vector<std::pair<std::string, std::string>>& params) const;

  ServerOptions options;
  mutable std::mutex snapshot_mutex;
  std::shared_ptr<const Snapshot> snapshot;
  std::mutex timeline_mutex;  // serialises timeline steps and clock advances (each replaces the snapshot)
  size_t timeline_next = 0;
  std::vector<std::string> timeline_names;
  Clock::time_point started_at;
  std::atomic<int64_t> clock_offset_ms{0};  // moves the rate-limit windows with the account clock

  std::mutex stats_mutex;
  int64_t requests = 0;
  int64_t rate_limited = 0;
  int64_t export_rate_limited = 0;
  int64_t attachment_downloads = 0;
  int64_t attachment_bytes = 0;
  std::map<std::string, int64_t> faults;
  std::map<std::string, EndpointStats> endpoints;
  std::deque<WindowStats> windows;
  std::atomic<int> storm_left{0};
  std::atomic<uint64_t> arrivals{0};

  std::unique_ptr<httplib::Server> server;
  std::thread thread;
  int port = 0;
  bool started = false;
};

bool EmulatorServer::Impl::Authorized(const httplib::Request& req) const {
  const std::string header = req.get_header_value("Authorization");
  constexpr string_view kBasic = "Basic ";
  if (header.rfind(kBasic, 0) != 0) return false;
  auto decoded = DecodeBase64(string_view(header).substr(kBasic.size()));
  return decoded && *decoded == options.email + "/token:" + options.api_token;
}

std::string EmulatorServer::Impl::Url(const httplib::Request& req,
                                      const std::vector<std::pair<std::string, std::string>>& params) const {
  std::string url = "http://" + options.host + ":" + std::to_string(port) + req.path;
  char separator = '?';
  for (const auto& [name, value] : params) {
    url += separator + UrlEncode(name) + "=" + UrlEncode(value);
    separator = '&';
  }
  return url;
}

void EmulatorServer::Impl::Handle(const httplib::Request& req, httplib::Response& res) {
  const std::string& path = req.path;
  if (path.rfind("/_emulator/", 0) == 0) return HandleControl(req, res);
  std::vector<std::string> segments = SplitPath(path);
  if (segments.size() == 3 && segments[0] == "attachments" && segments[1] == "token" && req.method == "GET") {
    return HandleAttachment(req, res, segments[2]);
  }
  if (!segments.empty()) {  // "tickets.json" and "tickets" are the same resource
    std::string& last = segments.back();
    if (last.size() > 5 && last.compare(last.size() - 5, 5, ".json") == 0) last.resize(last.size() - 5);
  }
  const bool api = segments.size() >= 2 && segments[0] == "api" && segments[1] == "v2";
  const bool export_endpoint =
      api && segments.size() >= 3 &&
      (segments[2] == "incremental" ||
       (segments.size() >= 4 && segments[2] == "help_center" && segments[3] == "incremental"));
  const std::string endpoint = EndpointKey(req.method, segments);
  auto snap = Current();

  // Faults happen in front of the account, like a proxy or load balancer.
  unsigned fault = 0;
  bool html_5xx = false;  // a 5xx fault answers like a proxy (503 HTML) or like the app (500 JSON)
  if (api && options.fault_rate > 0 && options.fault_classes != 0) {
    const uint64_t n = arrivals.fetch_add(1);
    uint64_t h = (options.fault_seed + 1) * 0x9E3779B97F4A7C15ull ^ (n + 1) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
    h *= 0x94D049BB133111EBull;
    h ^= h >> 29;
    if (static_cast<double>(h % 1'000'000) / 1e6 < options.fault_rate) {
      std::vector<unsigned> classes;
      for (unsigned c : {kFault5xx, kFaultSlow, kFault429Storm}) {
        if (options.fault_classes & c) classes.push_back(c);
      }
      fault = classes[(h >> 20) % classes.size()];
      html_5xx = ((h >> 40) & 1) != 0;
    }
  }
  bool storm = false;
  if (fault == kFault429Storm) storm_left.store(kStormLength);
  if (api) {
    int left = storm_left.load();
    while (left > 0 && !storm_left.compare_exchange_weak(left, left - 1)) {
    }
    storm = left > 0;
  }

  // Rate limits: fixed windows from start; every /api/v2 request counts, exports also against their own
  // limit.
  const int64_t window_ms = std::max<int64_t>(1, options.rate_limit_window.count());
  const int64_t elapsed = Elapsed().count();
  const int64_t window_index = elapsed / window_ms;
  const int64_t reset_seconds = std::max<int64_t>(1, (window_ms - elapsed % window_ms + 999) / 1000);
  int used = 0;
  int exports_used = 0;
  bool limited = false;
  bool export_limited = false;
  // Only requests that reach the account (not faults, not unauthenticated) can be refused by its limits.
  const bool authorized = api && Authorized(req);
  const bool reaches_account = authorized && fault != kFault5xx && !storm;
  {
    std::lock_guard lock(stats_mutex);
    if (api) {
      if (windows.empty() || windows.back().index != window_index) {
        windows.push_back({.index = window_index});
        if (windows.size() > 100) windows.pop_front();
      }
      WindowStats& w = windows.back();
      if (reaches_account && options.enforce_rate_limit && w.requests >= options.plan.per_minute) {
        limited = true;
      } else if (reaches_account && options.enforce_rate_limit && export_endpoint &&
                 w.export_requests >= options.plan.exports_per_minute) {
        export_limited = true;
      }
      ++w.requests;
      if (export_endpoint && !limited) ++w.export_requests;
      if (limited || export_limited) ++w.rate_limited;
      used = w.requests;
      exports_used = w.export_requests;
      ++requests;
      if (limited || export_limited) ++rate_limited;
      if (export_limited) ++export_rate_limited;
      if (fault != 0) {
        const char* name = fault == kFault5xx ? "5xx" : fault == kFaultSlow ? "slow" : "429storm";
        ++faults[name];
      }
    }
  }

  Reply reply;
  if (!api) {
    reply = ApiError(404, "InvalidEndpoint", "Not found");
  } else if (fault == kFault5xx) {
    reply = html_5xx ? Reply{503, "<html><body><h1>503 Service Unavailable</h1></body></html>"}
                     : ApiError(500, "InternalError", "Something went wrong");
  } else if (storm) {
    reply = ApiError(429, "APIRateLimitExceeded", "Number of allowed API requests per minute exceeded");
  } else if (!authorized) {
    reply = JsonReply(401, OrderedJson{{"error", "Couldn't authenticate you"}});
  } else if (limited) {
    reply = ApiError(429, "APIRateLimitExceeded", "Number of allowed API requests per minute exceeded");
  } else if (export_limited) {
    reply = ApiError(429, "APIRateLimitExceeded",
                     "Number of allowed incremental export API requests per minute exceeded");
  } else if (req.method != "GET") {
    reply = ApiError(405, "MethodNotAllowed", "The emulator serves GET requests only");
    res.set_header("Allow", "GET");
  } else {
    try {
      reply = Route(*snap, req, segments);
    } catch (const std::exception& e) {
      reply = ApiError(500, "InternalError", e.what());
    }
  }
  if (fault == kFaultSlow) std::this_thread::sleep_for(std::chrono::milliseconds(options.slow_ms));

  const int limit = options.plan.per_minute;
  const int remaining = std::max(0, limit - used);
  res.status = reply.status;
  if (api) {
    res.set_header("X-Rate-Limit", std::to_string(limit));
    res.set_header("X-Rate-Limit-Remaining", std::to_string(remaining));
    res.set_header("ratelimit-limit", std::to_string(limit));
    res.set_header("ratelimit-remaining", std::to_string(remaining));
    res.set_header("ratelimit-reset", std::to_string(reset_seconds));
    if (export_endpoint) {
      const int export_remaining = std::max(0, options.plan.exports_per_minute - exports_used);
      res.set_header("Zendesk-RateLimit-incremental-exports",
                     "total=" + std::to_string(options.plan.exports_per_minute) + "; remaining=" +
                         std::to_string(export_remaining) + "; resets=" + std::to_string(reset_seconds));
    }
    if (reply.status == 429) res.set_header("Retry-After", storm ? "1" : std::to_string(reset_seconds));
  }
  const bool html = !reply.body.empty() && reply.body[0] == '<';
  res.set_content(std::move(reply.body), html ? "text/html" : kJsonContentType);
  std::lock_guard lock(stats_mutex);
  auto& e = endpoints[endpoint];
  ++e.requests;
  ++e.statuses[res.status];
}

void EmulatorServer::Impl::HandleAttachment(const httplib::Request& req, httplib::Response& res,
                                            const std::string& token) {
  auto snap = Current();
  auto id = AttachmentIdFromToken(token);
  const Attachment* attachment = id ? snap->account->FindAttachment(*id) : nullptr;
  if (attachment == nullptr || !attachment->bytes || req.get_param_value("name") != attachment->name) {
    res.status = 404;
    res.set_content("<html><body>The page you were looking for doesn't exist.</body></html>", "text/html");
    return;
  }
  {
    std::lock_guard lock(stats_mutex);
    ++attachment_downloads;
    attachment_bytes += static_cast<int64_t>(attachment->size());
  }
  res.status = 200;
  res.set_header("Content-Disposition", "attachment; filename=\"" + attachment->name + "\"");
  res.set_content(*attachment->bytes, attachment->content_type);
}

Reply EmulatorServer::Impl::Route(const Snapshot& snap, const httplib::Request& req,
                                  std::vector<std::string> s) {
  const Account& a = *snap.account;
  const std::string base = "http://" + options.host + ":" + std::to_string(port);
  const size_t n = s.size();
  auto id_at = [&](size_t i) { return i < n ? ParseInt(s[i]) : std::nullopt; };
  if (n >= 3 && s[2] == "incremental") {
    if (n == 5 && s[4] == "cursor" && (s[3] == "tickets" || s[3] == "users")) {
      return CursorExport(snap, req, s[3] == "tickets");
    }
    if (n == 4 &&
        (s[3] == "tickets" || s[3] == "users" || s[3] == "organizations" || s[3] == "ticket_events")) {
      return TimeExport(snap, req, s[3]);
    }
    return ApiError(404, "InvalidEndpoint", "Not found");
  }
  if (n >= 3 && s[2] == "help_center") return HelpCenter(snap, req, std::move(s));
  if (n == 3 && s[2] == "deleted_tickets") return DeletedTickets(snap, req);
  if (n >= 4 && s[2] == "tickets") {
    auto id = id_at(3);
    const Ticket* t = id ? a.FindLiveTicket(*id) : nullptr;
    if (t == nullptr || t->status == "deleted") return RecordNotFound();
    if (n == 4) return JsonReply(200, OrderedJson{{"ticket", TicketJson(base, *t)}});
    if (n == 5 && s[4] == "comments") return Comments(snap, req, *t);
    return ApiError(404, "InvalidEndpoint", "Not found");
  }
  if (n == 4 && s[2] == "users") {
    auto id = id_at(3);
    const User* u = id ? a.FindUser(*id) : nullptr;
    return u ? JsonReply(200, OrderedJson{{"user", UserJson(base, *u)}}) : RecordNotFound();
  }
  if (n >= 3 && s[2] == "organizations") {
    if (n == 4) {
      auto id = id_at(3);
      const Organization* o = id ? a.FindOrganization(*id) : nullptr;
      return o ? JsonReply(200, OrderedJson{{"organization", OrganizationJson(base, *o)}}) : RecordNotFound();
    }
    std::vector<std::pair<int64_t, OrderedJson>> items;
    for (const auto& o : a.organizations) items.emplace_back(o.id, OrganizationJson(base, o));
    return ListPage(req, "organizations", items, 100);
  }
  if (n >= 3 && s[2] == "groups") {
    if (n == 4) {
      auto id = id_at(3);
      const Group* g = id ? a.FindGroup(*id) : nullptr;
      return g ? JsonReply(200, OrderedJson{{"group", GroupJson(base, *g)}}) : RecordNotFound();
    }
    std::vector<std::pair<int64_t, OrderedJson>> items;
    for (const auto& g : a.groups) items.emplace_back(g.id, GroupJson(base, g));
    return ListPage(req, "groups", items, 100);
  }
  if (n >= 3 && s[2] == "ticket_fields") {
    if (n == 4) {
      auto id = id_at(3);
      for (const auto& f : a.ticket_fields) {
        if (id && f.id == *id) return JsonReply(200, OrderedJson{{"ticket_field", TicketFieldJson(base, f)}});
      }
      return RecordNotFound();
    }
    // Not paginated: every field in one response, with a count.
    OrderedJson fields = OrderedJson::array();
    for (const auto& f : a.ticket_fields) fields.push_back(TicketFieldJson(base, f));
    OrderedJson body;
    body["ticket_fields"] = std::move(fields);
    body["next_page"] = nullptr;
    body["previous_page"] = nullptr;
    body["count"] = a.ticket_fields.size();
    return JsonReply(200, body);
  }
  return ApiError(404, "InvalidEndpoint", "Not found");
}

Reply EmulatorServer::Impl::CursorExport(const Snapshot& snap, const httplib::Request& req, bool tickets) {
  const Account& a = *snap.account;
  const std::string base = "http://" + options.host + ":" + std::to_string(port);
  const int64_t now = Now(snap);
  const int64_t cutoff = now - kExcludedSeconds;
  ExportPosition from;
  if (auto cursor = Param(req, "cursor")) {
    auto position = DecodeExportCursor(*cursor);
    if (!position) return ApiError(400, "InvalidValue", "Invalid cursor");
    from = *position;
  } else if (auto start = Param(req, "start_time")) {
    auto start_time = ParseInt(*start);
    if (!start_time || *start_time < 0) return ApiError(400, "InvalidValue", "start_time is invalid");
    if (*start_time > cutoff) {
      return ApiError(400, "InvalidValue", "Too recent start_time. Use a start_time older than 1 minute.");
    }
    from = {*start_time, 0};  // (t, 0) exclusive: every item with key ≥ t, since ids are positive
  } else {
    return ApiError(400, "InvalidValue", "start_time or cursor is required");
  }
  int64_t per_page = kExportPageSize;
  if (auto p = Param(req, "per_page")) {
    auto v = ParseInt(*p);
    if (!v || *v < 1) return ApiError(400, "InvalidValue", "per_page is invalid");
    per_page = std::min(*v, kExportPageSize);
  }
  const bool exclude_deleted = Param(req, "exclude_deleted").value_or("false") == "true";

  const auto& order = tickets ? snap.tickets_by_generated : snap.users_by_updated;
  auto key = [&](uint32_t i) {
    return tickets ? std::pair(a.tickets[i].generated_timestamp, a.tickets[i].id)
                   : std::pair(a.users[i].updated_at, a.users[i].id);
  };
  auto it = std::upper_bound(order.begin(), order.end(), std::pair(from.timestamp, from.id),
                             [&](const std::pair<int64_t, int64_t>& p, uint32_t i) { return p < key(i); });
  OrderedJson items = OrderedJson::array();
  ExportPosition last = from;
  bool more = false;
  for (; it != order.end(); ++it) {
    const auto k = key(*it);
    if (k.first > cutoff) break;
    if (static_cast<int64_t>(items.size()) == per_page) {
      more = true;
      break;
    }
    last = {k.first, k.second};
    if (tickets) {
      const Ticket& t = a.tickets[*it];
      if (exclude_deleted && t.status == "deleted") continue;
      items.push_back(TicketJson(base, t));
    } else {
      items.push_back(UserJson(base, a.users[*it]));
    }
  }
  const std::string cursor = EncodeExportCursor(last);
  // after_url keeps the caller's other parameters (per_page, exclude_deleted, include).
  std::vector<std::pair<std::string, std::string>> next = {{"cursor", cursor}};
  for (const auto& [name, value] : req.params) {
    if (name != "cursor" && name != "start_time") next.emplace_back(name, value);
  }
  OrderedJson body;
  body[tickets ? "tickets" : "users"] = std::move(items);
  body["after_url"] = Url(req, next);
  body["after_cursor"] = cursor;
  body["before_url"] = nullptr;
  body["before_cursor"] = nullptr;
  body["end_of_stream"] = !more;
  return JsonReply(200, body);
}

Reply EmulatorServer::Impl::TimeExport(const Snapshot& snap, const httplib::Request& req,
                                       const std::string& resource) {
  const Account& a = *snap.account;
  const std::string base = "http://" + options.host + ":" + std::to_string(port);
  const int64_t cutoff = Now(snap) - kExcludedSeconds;
  auto start = Param(req, "start_time");
  if (!start) return ApiError(400, "InvalidValue", "start_time is required");
  auto start_time = ParseInt(*start);
  if (!start_time || *start_time < 0) return ApiError(400, "InvalidValue", "start_time is invalid");
  if (*start_time > cutoff) {
    return ApiError(400, "InvalidValue", "Too recent start_time. Use a start_time older than 1 minute.");
  }
  int64_t per_page = kExportPageSize;
  if (auto p = Param(req, "per_page")) {
    auto v = ParseInt(*p);
    if (!v || *v < 1) return ApiError(400, "InvalidValue", "per_page is invalid");
    per_page = std::min(*v, kExportPageSize);
  }
  const bool comment_events = Param(req, "include").value_or("") == "comment_events";

  // (key, json) in key order, starting at start_time (inclusive), up to the cutoff.
  std::vector<std::pair<int64_t, OrderedJson>> page;
  bool more = false;
  auto add = [&](int64_t key, auto make) {
    if (key < *start_time || key > cutoff) return true;
    // A page ends after per_page items, but never between two items of the same second: the next page
    // starts at end_time (inclusive), so splitting a second would loop.
    if (static_cast<int64_t>(page.size()) >= per_page && key != page.back().first) {
      more = true;
      return false;
    }
    page.emplace_back(key, make());
    return true;
  };
  // The first index of a (key, id)-sorted order whose key is ≥ start_time.
  auto from = [&](const std::vector<uint32_t>& order, auto key) {
    return std::partition_point(order.begin(), order.end(), [&](uint32_t i) { return key(i) < *start_time; });
  };
  if (resource == "tickets") {
    const auto& order = snap.tickets_by_generated;
    for (auto it = from(order, [&](uint32_t i) { return a.tickets[i].generated_timestamp; });
         it != order.end(); ++it) {
      const Ticket& t = a.tickets[*it];
      if (!add(t.generated_timestamp, [&] { return TicketJson(base, t); })) break;
    }
  } else if (resource == "users") {
    const auto& order = snap.users_by_updated;
    for (auto it = from(order, [&](uint32_t i) { return a.users[i].updated_at; }); it != order.end(); ++it) {
      if (!add(a.users[*it].updated_at, [&] { return UserJson(base, a.users[*it]); })) break;
    }
  } else if (resource == "organizations") {
    const auto& order = snap.organizations_by_updated;
    for (auto it = from(order, [&](uint32_t i) { return a.organizations[i].updated_at; }); it != order.end();
         ++it) {
      if (!add(a.organizations[*it].updated_at, [&] { return OrganizationJson(base, a.organizations[*it]); }))
        break;
    }
  } else {
    auto first = std::lower_bound(a.ticket_events.begin(), a.ticket_events.end(), *start_time,
                                  [](const TicketEvent& e, int64_t t) { return e.timestamp < t; });
    for (auto it = first; it != a.ticket_events.end(); ++it) {
      const Ticket* t = a.FindLiveTicket(it->ticket_id);
      if (t == nullptr) continue;
      if (!add(it->timestamp, [&] { return TicketEventJson(base, a, *it, comment_events); })) break;
    }
  }
  const int64_t end_time = page.empty() ? *start_time : page.back().first;
  OrderedJson items = OrderedJson::array();
  for (auto& [key, json] : page) items.push_back(std::move(json));
  OrderedJson body;
  body[resource] = std::move(items);
  std::vector<std::pair<std::string, std::string>> next = {{"start_time", std::to_string(end_time)}};
  if (comment_events) next.emplace_back("include", "comment_events");
  body["next_page"] = Url(req, next);
  body["count"] = page.size();
  body["end_of_stream"] = !more;
  body["end_time"] = end_time;
  return JsonReply(200, body);
}

Reply EmulatorServer::Impl::ListPage(const httplib::Request& req, const std::string& key,
                                     const std::vector<std::pair<int64_t, OrderedJson>>& items,
                                     int64_t default_per_page, bool help_center_offset) {
  if (req.has_param("page[size]") || req.has_param("page[after]") || req.has_param("page[before]")) {
    int64_t size = default_per_page;
    if (auto p = Param(req, "page[size]")) {
      auto v = ParseInt(*p);
      if (!v || *v < 1) return InvalidPagination("page[size] must be a positive integer");
      if (*v > kMaxPageSize) return InvalidPagination("page[size] must be less than or equal to 100");
      size = *v;
    }
    auto after = Param(req, "page[after]");
    auto before = Param(req, "page[before]");
    size_t begin = 0;
    size_t end = items.size();
    if (after || before) {
      auto id = DecodeListCursor(after ? *after : *before);
      if (!id)
        return InvalidPagination(after ? "page[after] is not a valid cursor"
                                       : "page[before] is not a valid cursor");
      // Items are listed in a fixed order of ids; a cursor whose item is gone still marks a place in it.
      auto pos =
          std::find_if(items.begin(), items.end(), [&](const auto& item) { return item.first == *id; });
      const size_t at = static_cast<size_t>(pos - items.begin());
      if (after) {
        begin = pos == items.end() ? items.size() : at + 1;
        end = std::min(items.size(), begin + static_cast<size_t>(size));
      } else {
        end = pos == items.end() ? 0 : at;
        begin = end > static_cast<size_t>(size) ? end - static_cast<size_t>(size) : 0;
      }
    } else {
      end = std::min(items.size(), static_cast<size_t>(size));
    }
    OrderedJson list = OrderedJson::array();
    for (size_t i = begin; i < end; ++i) list.push_back(items[i].second);
    const bool has_more = after || !before ? end < items.size() : begin > 0;
    OrderedJson body;
    body[key] = std::move(list);
    OrderedJson meta;
    meta["has_more"] = has_more;
    meta["after_cursor"] =
        end > begin ? OrderedJson(EncodeListCursor(items[end - 1].first)) : OrderedJson(nullptr);
    meta["before_cursor"] =
        end > begin ? OrderedJson(EncodeListCursor(items[begin].first)) : OrderedJson(nullptr);
    body["meta"] = std::move(meta);
    OrderedJson links;
    links["prev"] = end > begin
                        ? OrderedJson(Url(req, {{"page[before]", EncodeListCursor(items[begin].first)},
                                                {"page[size]", std::to_string(size)}}))
                        : OrderedJson(nullptr);
    links["next"] = end > begin
                        ? OrderedJson(Url(req, {{"page[after]", EncodeListCursor(items[end - 1].first)},
                                                {"page[size]", std::to_string(size)}}))
                        : OrderedJson(nullptr);
    body["links"] = std::move(links);
    return JsonReply(200, body);
  }
  int64_t page = 1;
  int64_t per_page = default_per_page;
  if (auto p = Param(req, "page")) {
    auto v = ParseInt(*p);
    if (!v || *v < 1) return InvalidPagination("page must be a positive integer");
    page = *v;
  }
  if (auto p = Param(req, "per_page")) {
    auto v = ParseInt(*p);
    if (!v || *v < 1) return InvalidPagination("per_page must be a positive integer");
    per_page = std::min(*v, kMaxPageSize);
  }
  const int64_t total = static_cast<int64_t>(items.size());
  const int64_t begin = std::min(total, (page - 1) * per_page);
  const int64_t end = std::min(total, begin + per_page);
  OrderedJson list = OrderedJson::array();
  for (int64_t i = begin; i < end; ++i) list.push_back(items[static_cast<size_t>(i)].second);
  auto page_url = [&](int64_t p) {
    std::vector<std::pair<std::string, std::string>> params = {{"page", std::to_string(p)}};
    if (req.has_param("per_page")) params.emplace_back("per_page", std::to_string(per_page));
    return OrderedJson(Url(req, params));
  };
  OrderedJson body;
  body[key] = std::move(list);
  if (help_center_offset) {
    body["page"] = page;
    body["previous_page"] = page > 1 ? page_url(page - 1) : OrderedJson(nullptr);
    body["next_page"] = end < total ? page_url(page + 1) : OrderedJson(nullptr);
    body["per_page"] = per_page;
    body["page_count"] = (total + per_page - 1) / per_page;
    body["count"] = total;
    body["sort_by"] = "position";
    body["sort_order"] = "asc";
  } else {
    body["next_page"] = end < total ? page_url(page + 1) : OrderedJson(nullptr);
    body["previous_page"] = page > 1 ? page_url(page - 1) : OrderedJson(nullptr);
    body["count"] = total;
  }
  return JsonReply(200, body);
}

Reply EmulatorServer::Impl::Comments(const Snapshot&, const httplib::Request& req, const Ticket& ticket) {
  const std::string base = "http://" + options.host + ":" + std::to_string(port);
  const std::string order = Param(req, "sort_order").value_or("asc");
  if (order != "asc" && order != "desc")
    return ApiError(400, "InvalidValue", "sort_order must be asc or desc");
  std::vector<std::pair<int64_t, OrderedJson>> items;
  for (const Comment& c : ticket.comments) items.emplace_back(c.id, CommentJson(base, c));
  if (order == "desc") std::reverse(items.begin(), items.end());
  return ListPage(req, "comments", items, 100);
}

Reply EmulatorServer::Impl::DeletedTickets(const Snapshot& snap, const httplib::Request& req) {
  const Account& a = *snap.account;
  const std::string sort_by = Param(req, "sort_by").value_or("id");
  const std::string order = Param(req, "sort_order").value_or("asc");
  if (sort_by != "id" && sort_by != "subject" && sort_by != "deleted_at") {
    return ApiError(400, "InvalidValue", "sort_by must be id, subject or deleted_at");
  }
  if (order != "asc" && order != "desc")
    return ApiError(400, "InvalidValue", "sort_order must be asc or desc");
  std::vector<const Ticket*> deleted;
  for (const Ticket& t : a.tickets) {
    if (!t.scrubbed && t.status == "deleted") deleted.push_back(&t);
  }
  std::stable_sort(deleted.begin(), deleted.end(), [&](const Ticket* x, const Ticket* y) {
    if (sort_by == "subject" && x->subject != y->subject) return x->subject < y->subject;
    if (sort_by == "deleted_at" && x->deleted_at != y->deleted_at) return x->deleted_at < y->deleted_at;
    return x->id < y->id;
  });
  if (order == "desc") std::reverse(deleted.begin(), deleted.end());
  std::vector<std::pair<int64_t, OrderedJson>> items;
  for (const Ticket* t : deleted) items.emplace_back(t->id, DeletedTicketJson(a, *t));
  return ListPage(req, "deleted_tickets", items, 100);
}

Reply EmulatorServer::Impl::HelpCenter(const Snapshot& snap, const httplib::Request& req,
                                       std::vector<std::string> s) {
  const Account& a = *snap.account;
  const std::string base = "http://" + options.host + ":" + std::to_string(port);
  // s = api v2 help_center [locale] resource …
  std::vector<std::string> rest(s.begin() + 3, s.end());
  if (rest.size() == 1 && rest[0] == "locales") {
    return JsonReply(200, OrderedJson{{"locales", a.locales}, {"default_locale", a.default_locale}});
  }
  if (rest.size() == 2 && rest[0] == "incremental" && rest[1] == "articles") {
    const int64_t cutoff = Now(snap) - kExcludedSeconds;
    auto start = Param(req, "start_time");
    auto start_time = start ? ParseInt(*start) : std::nullopt;
    if (!start_time || *start_time < 0) return ApiError(400, "InvalidValue", "start_time is required");
    OrderedJson items = OrderedJson::array();
    int64_t end_time = *start_time;
    bool more = false;
    int64_t count = 0;
    for (uint32_t i : snap.articles_by_updated) {
      const Article& art = a.articles[i];
      if (art.updated_at < *start_time || art.updated_at > cutoff) continue;
      if (count >= kExportPageSize && art.updated_at != end_time) {
        more = true;
        break;
      }
      items.push_back(ArticleJson(base, art, art.translations.front()));
      end_time = art.updated_at;
      ++count;
    }
    OrderedJson body;
    body["articles"] = std::move(items);
    body["next_page"] =
        more ? OrderedJson(Url(req, {{"start_time", std::to_string(end_time)}})) : OrderedJson(nullptr);
    body["count"] = count;
    body["end_time"] = end_time;
    return JsonReply(200, body);
  }
  std::string locale = a.default_locale;
  if (!rest.empty() && std::find(a.locales.begin(), a.locales.end(), rest[0]) != a.locales.end()) {
    locale = rest[0];
    rest.erase(rest.begin());
  } else if (!rest.empty() && rest[0].size() <= 5 && !rest[0].empty() && std::isalpha(rest[0][0]) &&
             rest[0] != "articles" && rest[0] != "sections" && rest[0] != "categories") {
    return RecordNotFound();  // a locale the Help Center does not have
  }
  auto id_at = [&](size_t i) { return i < rest.size() ? ParseInt(rest[i]) : std::nullopt; };
  // Articles listed in a locale are those with a translation in it (drafts included: the API key is an
  // admin's).
  auto article_items = [&](std::function<bool(const Article&)> keep) {
    std::vector<std::pair<int64_t, OrderedJson>> items;
    for (const Article& art : a.articles) {
      if (art.archived || !keep(art)) continue;
      const ArticleTranslation* t = art.Find(locale);
      if (t != nullptr) items.emplace_back(art.id, ArticleJson(base, art, *t));
    }
    return items;
  };
  if (rest.empty()) return ApiError(404, "InvalidEndpoint", "Not found");
  if (rest[0] == "categories") {
    if (rest.size() == 1) {
      std::vector<std::pair<int64_t, OrderedJson>> items;
      for (const auto& c : a.categories) items.emplace_back(c.id, CategoryJson(base, a, c, locale));
      return ListPage(req, "categories", items, 30, true);
    }
    const Category* c = id_at(1) ? a.FindCategory(*id_at(1)) : nullptr;
    if (c == nullptr) return RecordNotFound();
    if (rest.size() == 2) return JsonReply(200, OrderedJson{{"category", CategoryJson(base, a, *c, locale)}});
    if (rest.size() == 3 && rest[2] == "sections") {
      std::vector<std::pair<int64_t, OrderedJson>> items;
      for (const auto& sec : a.sections) {
        if (sec.category_id == c->id) items.emplace_back(sec.id, SectionJson(base, a, sec, locale));
      }
      return ListPage(req, "sections", items, 30, true);
    }
    if (rest.size() == 3 && rest[2] == "articles") {
      return ListPage(req, "articles", article_items([&](const Article& art) {
                        const Section* sec = a.FindSection(art.section_id);
                        return sec != nullptr && sec->category_id == c->id;
                      }),
                      30, true);
    }
    return ApiError(404, "InvalidEndpoint", "Not found");
  }
  if (rest[0] == "sections") {
    if (rest.size() == 1) {
      std::vector<std::pair<int64_t, OrderedJson>> items;
      for (const auto& sec : a.sections) items.emplace_back(sec.id, SectionJson(base, a, sec, locale));
      return ListPage(req, "sections", items, 30, true);
    }
    const Section* sec = id_at(1) ? a.FindSection(*id_at(1)) : nullptr;
    if (sec == nullptr) return RecordNotFound();
    if (rest.size() == 2) return JsonReply(200, OrderedJson{{"section", SectionJson(base, a, *sec, locale)}});
    if (rest.size() == 3 && rest[2] == "articles") {
      return ListPage(req, "articles",
                      article_items([&](const Article& art) { return art.section_id == sec->id; }), 30, true);
    }
    return ApiError(404, "InvalidEndpoint", "Not found");
  }
  if (rest[0] == "articles") {
    if (rest.size() == 1)
      return ListPage(req, "articles", article_items([](const Article&) { return true; }), 30, true);
    const Article* art = id_at(1) ? a.FindArticle(*id_at(1)) : nullptr;
    if (art == nullptr || art->archived) return RecordNotFound();
    if (rest.size() == 2) {
      const ArticleTranslation* t = art->Find(locale);
      if (t == nullptr) return RecordNotFound();
      return JsonReply(200, OrderedJson{{"article", ArticleJson(base, *art, *t)}});
    }
    if (rest[2] == "translations") {
      if (rest.size() == 3) {
        std::vector<std::pair<int64_t, OrderedJson>> items;
        for (const auto& t : art->translations) items.emplace_back(t.id, TranslationJson(base, *art, t));
        return ListPage(req, "translations", items, 30, true);
      }
      if (rest.size() == 4) {
        const ArticleTranslation* t = art->Find(rest[3]);
        if (t == nullptr) return RecordNotFound();
        return JsonReply(200, OrderedJson{{"translation", TranslationJson(base, *art, *t)}});
      }
    }
    return ApiError(404, "InvalidEndpoint", "Not found");
  }
  return ApiError(404, "InvalidEndpoint", "Not found");
}

void EmulatorServer::Impl::HandleControl(const httplib::Request& req, httplib::Response& res) {
  const std::string base = "http://" + options.host + ":" + std::to_string(port);
  auto reply = [&](int status, const OrderedJson& body) {
    res.status = status;
    res.set_content(Dump(body), kJsonContentType);
  };
  if (req.path == "/_emulator/stats" && req.method == "GET") {
    std::lock_guard lock(stats_mutex);
    OrderedJson body;
    body["requests"] = requests;
    body["rate_limited"] = rate_limited;
    body["export_rate_limited"] = export_rate_limited;
    body["rate_limit"] = {{"per_minute", options.plan.per_minute},
                          {"exports_per_minute", options.plan.exports_per_minute},
                          {"enforced", options.enforce_rate_limit},
                          {"window_ms", options.rate_limit_window.count()}};
    body["faults"] = faults;
    OrderedJson eps = OrderedJson::object();
    for (const auto& [key, e] : endpoints) {
      OrderedJson statuses = OrderedJson::object();
      for (const auto& [status, count] : e.statuses) statuses[std::to_string(status)] = count;
      eps[key] = {{"requests", e.requests}, {"statuses", statuses}};
    }
    body["endpoints"] = std::move(eps);
    OrderedJson ws = OrderedJson::array();
    for (const auto& w : windows) {
      ws.push_back({{"index", w.index},
                    {"requests", w.requests},
                    {"export_requests", w.export_requests},
                    {"rate_limited", w.rate_limited}});
    }
    body["windows"] = std::move(ws);
    body["attachment_downloads"] = attachment_downloads;
    body["attachment_bytes"] = attachment_bytes;
    return reply(200, body);
  }
  if (req.path == "/_emulator/truth" && req.method == "GET") {
    auto snap = Current();
    const Account& a = *snap->account;
    OrderedJson body;
    body["now"] = Now(*snap);
    body["export_cutoff"] = Now(*snap) - kExcludedSeconds;
    OrderedJson tickets = OrderedJson::array();
    OrderedJson scrubbed = OrderedJson::array();
    for (const Ticket& t : a.tickets) {
      if (t.scrubbed) {
        scrubbed.push_back(t.id);
        continue;
      }
      OrderedJson j = TicketJson(base, t);
      OrderedJson comments = OrderedJson::array();
      for (const auto& c : t.comments) comments.push_back(CommentJson(base, c));
      j["comments"] = std::move(comments);
      OrderedJson texts = OrderedJson::array();
      for (const auto& c : t.comments) {
        for (const auto& att : c.attachments) texts.push_back(att.text);
      }
      j["attachment_texts"] = std::move(texts);
      tickets.push_back(std::move(j));
    }
    body["tickets"] = std::move(tickets);
    body["scrubbed_ticket_ids"] = std::move(scrubbed);
    OrderedJson users = OrderedJson::array();
    for (const auto& u : a.users) users.push_back(UserJson(base, u));
    body["users"] = std::move(users);
    OrderedJson orgs = OrderedJson::array();
    for (const auto& o : a.organizations) orgs.push_back(OrganizationJson(base, o));
    body["organizations"] = std::move(orgs);
    OrderedJson groups = OrderedJson::array();
    for (const auto& g : a.groups) groups.push_back(GroupJson(base, g));
    body["groups"] = std::move(groups);
    OrderedJson fields = OrderedJson::array();
    for (const auto& f : a.ticket_fields) fields.push_back(TicketFieldJson(base, f));
    body["ticket_fields"] = std::move(fields);
    OrderedJson categories = OrderedJson::array();
    for (const auto& c : a.categories) categories.push_back(CategoryJson(base, a, c, a.default_locale));
    body["categories"] = std::move(categories);
    OrderedJson sections = OrderedJson::array();
    for (const auto& sec : a.sections) sections.push_back(SectionJson(base, a, sec, a.default_locale));
    body["sections"] = std::move(sections);
    OrderedJson articles = OrderedJson::array();
    for (const auto& art : a.articles) {
      OrderedJson j = ArticleJson(base, art, art.translations.front());
      j["archived"] = art.archived;
      OrderedJson translations = OrderedJson::array();
      for (const auto& t : art.translations) translations.push_back(TranslationJson(base, art, t));
      j["translations"] = std::move(translations);
      articles.push_back(std::move(j));
    }
    body["articles"] = std::move(articles);
    body["locales"] = a.locales;
    return reply(200, body);
  }
  if (req.path == "/_emulator/timeline" && req.method == "GET") {
    std::lock_guard lock(timeline_mutex);
    return reply(200, OrderedJson{{"steps", timeline_names}, {"next", timeline_next}});
  }
  if ((req.path == "/_emulator/timeline/next" || req.path == "/_emulator/timeline/apply") &&
      req.method == "POST") {
    std::lock_guard lock(timeline_mutex);
    TimelineStep step;
    const bool next = req.path == "/_emulator/timeline/next";
    if (next) {
      if (timeline_next >= options.timeline.size()) {
        return reply(409, OrderedJson{{"error", "no timeline step left"}});
      }
      step = options.timeline[timeline_next];
    } else {
      auto parsed = nlohmann::json::parse(req.body, nullptr, false);
      if (parsed.is_discarded()) return reply(400, OrderedJson{{"error", "the body is not JSON"}});
      auto steps = ParseTimeline(nlohmann::json::array({parsed}));
      if (!steps) return reply(400, OrderedJson{{"error", steps.error().message()}});
      step = (*steps)[0];
    }
    // The step edits a copy that replaces the served account at once, so no request sees half a step.
    auto current = Current();
    auto copy = std::make_shared<Account>(*current->account);
    copy->now += current->clock_offset;  // the advanced clock becomes the account's
    auto summary = ApplyTimelineStep(copy.get(), step);
    if (!summary) return reply(400, OrderedJson{{"error", summary.error().message()}});
    auto built = BuildSnapshot(std::move(copy));
    {
      std::lock_guard snap_lock(snapshot_mutex);
      snapshot = std::move(built);
    }
    if (next) ++timeline_next;
    (*summary)["step"] = timeline_next;
    (*summary)["remaining"] = options.timeline.size() - timeline_next;
    return reply(200, *summary);
  }
  if (req.path == "/_emulator/clock/advance" && req.method == "POST") {
    auto seconds = ParseInt(req.get_param_value("seconds"));
    if (!seconds || *seconds < 0)
      return reply(400, OrderedJson{{"error", "seconds must be a whole number ≥ 0"}});
    std::lock_guard lock(timeline_mutex);
    auto advanced = std::make_shared<Snapshot>(*Current());
    advanced->clock_offset += *seconds;
    clock_offset_ms += *seconds * 1000;
    const int64_t now = Now(*advanced);
    {
      std::lock_guard snap_lock(snapshot_mutex);
      snapshot = std::move(advanced);
    }
    return reply(200, OrderedJson{{"now", now}});
  }
  reply(404, OrderedJson{{"error", "unknown control request"}});
}

EmulatorServer::EmulatorServer(std::shared_ptr<const Account> account, ServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(account), std::move(options))) {}

EmulatorServer::~EmulatorServer() { Stop(); }

Status EmulatorServer::Start() {
  Impl& impl = *impl_;
  if (impl.started) return InvalidArgument("the emulator server is already started");
  impl.server = std::make_unique<httplib::Server>();
  httplib::Server& server = *impl.server;
  const size_t threads = static_cast<size_t>(std::max(1, impl.options.threads));
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_keep_alive_max_count(1000);
  server.set_tcp_nodelay(true);
  server.set_keep_alive_timeout(std::max(1, impl.options.keep_alive_timeout_seconds));
  auto handle = [&impl](const httplib::Request& req, httplib::Response& res) { impl.Handle(req, res); };
  server.Get(".*", handle);
  server.Post(".*", handle);
  server.Put(".*", handle);
  server.Patch(".*", handle);
  server.Delete(".*", handle);
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

std::shared_ptr<const Account> EmulatorServer::account() const { return impl_->Current()->account; }
int EmulatorServer::port() const { return impl_->port; }
std::string EmulatorServer::base_url() const {
  return "http://" + impl_->options.host + ":" + std::to_string(impl_->port);
}

}  // namespace deskpipe::zendesk_emulator
