#include "server.h"

#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstring>
#include <ctime>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "attachments.h"
#include "core/time.h"
#include "render.h"

namespace deskpipe::emulator {
namespace {

using std::string_view;

constexpr char kJsonContentType[] = "application/json; charset=utf-8";
constexpr char kApiPrefix[] = "/api/v2";
constexpr char kControlPrefix[] = "/_emulator/";
constexpr char kAttachmentPrefix[] = "/data/helpdesk/attachments/production/";
constexpr int64_t kDefaultPerPage = 30;
constexpr int64_t kMaxPerPage = 100;
constexpr int64_t kMaxTicketPages = 300;
constexpr int64_t kDefaultWindowSeconds = 30 * 86400;
constexpr int64_t kSearchPerPage = 30;
constexpr int64_t kMaxSearchPages = 10;
constexpr int64_t kAttachmentLifetimeSeconds = 300;  // per Freshdesk minute; scaled with the window
constexpr int kStormLength = 5;

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

// "/api/v2/tickets/17/conversations" → "/api/v2/tickets/{id}/conversations" (stats keys).
std::string EndpointKey(const std::string& method, string_view path) {
  std::string key = method + " ";
  for (const std::string& segment : SplitPath(path)) {
    const bool numeric = !segment.empty() && std::all_of(segment.begin(), segment.end(),
                                                         [](char c) { return c >= '0' && c <= '9'; });
    key += "/" + (numeric ? std::string("{id}") : segment);
  }
  return key;
}

// The sub-limit an API request counts against.
enum class Operation { kOther, kTicketsList, kContactsList };

// A ticket's list representation rendered once: `core` is the list object without its closing brace; the
// others are ",\"key\":value" fragments appended for each include.
struct RenderedTicket {
  std::string core;
  std::string description;
  std::string requester;
  std::string stats;
};

enum TicketOrder { kByCreatedAt = 0, kByUpdatedAt, kByStatus, kByDueBy, kOrderCount };

// One consistent state of the helpdesk with its pre-rendered ticket list elements and orderings. Immutable
// once built; requests hold a shared_ptr for their whole duration.
struct Snapshot {
  std::shared_ptr<const Helpdesk> desk;
  std::vector<RenderedTicket> rendered;                      // by ticket index
  std::array<std::vector<uint32_t>, kOrderCount> orderings;  // ticket indexes ascending by (key, id)
};

// `previous`: the snapshot this one replaces; its renderings are reused for tickets whose list fields cannot
// have changed (every timeline change to them moves updated_at or a state flag).
std::shared_ptr<const Snapshot> BuildSnapshot(std::shared_ptr<const Helpdesk> desk,
                                              const Snapshot* previous = nullptr) {
  auto snapshot = std::make_shared<Snapshot>();
  const auto& tickets = desk->tickets;
  snapshot->rendered.resize(tickets.size());
  for (size_t i = 0; i < tickets.size(); ++i) {
    const Ticket& t = tickets[i];
    if (t.purged) continue;
    if (previous != nullptr && i < previous->desk->tickets.size()) {
      const Ticket& before = previous->desk->tickets[i];
      if (before.updated_at == t.updated_at && before.spam == t.spam && before.deleted == t.deleted &&
          !before.purged) {
        snapshot->rendered[i] = previous->rendered[i];
        continue;
      }
    }
    RenderedTicket& r = snapshot->rendered[i];
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
    auto& index = snapshot->orderings[static_cast<size_t>(order)];
    index.resize(tickets.size());
    for (size_t i = 0; i < tickets.size(); ++i) index[i] = static_cast<uint32_t>(i);
    std::sort(index.begin(), index.end(), [&](uint32_t a, uint32_t b) {
      const int64_t ka = key(order, tickets[a]);
      const int64_t kb = key(order, tickets[b]);
      return ka != kb ? ka < kb : tickets[a].id < tickets[b].id;
    });
  }
  snapshot->desk = std::move(desk);
  return snapshot;
}

// --- /search/tickets query language (API.md §6.5) ----------------------------------------------------------

struct QueryNode {
  enum Kind { kAnd, kOr, kCondition } kind = kCondition;
  std::vector<QueryNode> children;
  std::string field;
  char comparison = '=';  // '=', '>' (≥), '<' (≤)
  bool is_null = false;
  std::string value;      // unquoted
  bool is_string = false;
};

class QueryParser {
 public:
  explicit QueryParser(string_view text) : text_(text) {}

  std::optional<QueryNode> Parse(std::string* error) {
    std::optional<QueryNode> node = ParseOr(error);
    SkipSpaces();
    if (node && pos_ != text_.size()) {
      *error = "unexpected text at position " + std::to_string(pos_ + 1);
      return std::nullopt;
    }
    return node;
  }

 private:
  void SkipSpaces() {
    while (pos_ < text_.size() && text_[pos_] == ' ') ++pos_;
  }
  bool Keyword(string_view word) {
    SkipSpaces();
    if (text_.substr(pos_, word.size()) == word &&
        (pos_ + word.size() == text_.size() || text_[pos_ + word.size()] == ' ' ||
         text_[pos_ + word.size()] == '(')) {
      pos_ += word.size();
      return true;
    }
    return false;
  }
  std::optional<QueryNode> ParseOr(std::string* error) {
    std::optional<QueryNode> first = ParseAnd(error);
    if (!first) return std::nullopt;
    QueryNode node{QueryNode::kOr, {std::move(*first)}};
    while (Keyword("OR")) {
      std::optional<QueryNode> next = ParseAnd(error);
      if (!next) return std::nullopt;
      node.children.push_back(std::move(*next));
    }
    if (node.children.size() == 1) return std::move(node.children[0]);
    return node;
  }
  std::optional<QueryNode> ParseAnd(std::string* error) {
    std::optional<QueryNode> first = ParseFactor(error);
    if (!first) return std::nullopt;
    QueryNode node{QueryNode::kAnd, {std::move(*first)}};
    while (Keyword("AND")) {
      std::optional<QueryNode> next = ParseFactor(error);
      if (!next) return std::nullopt;
      node.children.push_back(std::move(*next));
    }
    if (node.children.size() == 1) return std::move(node.children[0]);
    return node;
  }
  std::optional<QueryNode> ParseFactor(std::string* error) {
    SkipSpaces();
    if (pos_ < text_.size() && text_[pos_] == '(') {
      ++pos_;
      std::optional<QueryNode> inner = ParseOr(error);
      SkipSpaces();
      if (!inner) return std::nullopt;
      if (pos_ >= text_.size() || text_[pos_] != ')') {
        *error = "missing ')'";
        return std::nullopt;
      }
      ++pos_;
      return inner;
    }
    QueryNode node;
    const size_t start = pos_;
    while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_'))
      ++pos_;
    node.field = std::string(text_.substr(start, pos_ - start));
    if (node.field.empty() || pos_ >= text_.size() || text_[pos_] != ':') {
      *error = "expected field:value at position " + std::to_string(start + 1);
      return std::nullopt;
    }
    ++pos_;
    if (pos_ < text_.size() && (text_[pos_] == '>' || text_[pos_] == '<')) node.comparison = text_[pos_++];
    if (pos_ < text_.size() && text_[pos_] == '\'') {
      const size_t end = text_.find('\'', pos_ + 1);
      if (end == string_view::npos) {
        *error = "unterminated string";
        return std::nullopt;
      }
      node.value = std::string(text_.substr(pos_ + 1, end - pos_ - 1));
      node.is_string = true;
      pos_ = end + 1;
    } else {
      const size_t value_start = pos_;
      while (pos_ < text_.size() && text_[pos_] != ' ' && text_[pos_] != ')') ++pos_;
      node.value = std::string(text_.substr(value_start, pos_ - value_start));
      if (node.value.empty()) {
        *error = "missing value for " + node.field;
        return std::nullopt;
      }
      node.is_null = node.value == "null";
    }
    return node;
  }

  string_view text_;
  size_t pos_ = 0;
};

bool CompareNumber(int64_t actual, const QueryNode& node, int64_t wanted, int64_t day_span = 0) {
  switch (node.comparison) {
    case '>':
      return actual >= wanted;
    case '<':
      return actual <= wanted + day_span;
    default:
      return day_span > 0 ? actual >= wanted && actual <= wanted + day_span : actual == wanted;
  }
}

bool MatchesQuery(const Helpdesk& desk, const Ticket& t, const QueryNode& node) {
  if (node.kind == QueryNode::kAnd) {
    return std::all_of(node.children.begin(), node.children.end(),
                       [&](const QueryNode& c) { return MatchesQuery(desk, t, c); });
  }
  if (node.kind == QueryNode::kOr) {
    return std::any_of(node.children.begin(), node.children.end(),
                       [&](const QueryNode& c) { return MatchesQuery(desk, t, c); });
  }
  auto optional_id = [&](const std::optional<int64_t>& value) {
    if (node.is_null) return !value.has_value();
    int64_t wanted = 0;
    std::from_chars(node.value.data(), node.value.data() + node.value.size(), wanted);
    return value.has_value() && CompareNumber(*value, node, wanted);
  };
  auto date = [&](int64_t value) {
    Result<int64_t> day = ParseTimestamp(node.value);  // YYYY-MM-DD: day granularity
    return day && CompareNumber(value, node, *day, 86399);
  };
  const std::string& f = node.field;
  if (f == "status") return optional_id(t.status);
  if (f == "priority") return optional_id(t.priority);
  if (f == "group_id") return optional_id(t.group_id);
  if (f == "agent_id") return optional_id(t.responder_id);
  if (f == "company_id") return optional_id(t.company_id);
  if (f == "requester_id") return optional_id(t.requester_id);
  if (f == "source") return optional_id(t.source);
  if (f == "tag") return std::find(t.tags.begin(), t.tags.end(), node.value) != t.tags.end();
  if (f == "type") return node.is_null ? t.type.empty() : t.type == node.value;
  if (f == "created_at") return date(t.created_at);
  if (f == "updated_at") return date(t.updated_at);
  if (f == "due_by") return date(t.due_by);
  if (f == "fr_due_by") return date(t.fr_due_by);
  // Custom fields by name, with or without the cf_ prefix.
  const std::string key = f.rfind("cf_", 0) == 0 ? f : "cf_" + f;
  auto it = t.custom_fields.find(key);
  if (it == t.custom_fields.end()) return false;
  if (node.is_null) return it->is_null();
  if (it->is_boolean()) return (node.value == "true") == it->get<bool>();
  if (it->is_string()) return it->get<std::string>() == node.value;
  if (it->is_number()) return std::to_string(it->get<int64_t>()) == node.value;
  return false;
}

bool KnownSearchField(const std::string& f) {
  static const std::set<std::string> kFields = {"status",     "priority",   "group_id", "agent_id", "company_id",
                                                "requester_id", "source",   "tag",      "type",     "created_at",
                                                "updated_at", "due_by",     "fr_due_by"};
  return kFields.count(f) > 0 || f.rfind("cf_", 0) == 0 || f == "plan_tier" || f == "region" ||
         f == "reproducible" || f == "order_reference";
}

bool FieldsKnown(const QueryNode& node, std::string* unknown) {
  if (node.kind != QueryNode::kCondition) {
    return std::all_of(node.children.begin(), node.children.end(),
                       [&](const QueryNode& c) { return FieldsKnown(c, unknown); });
  }
  if (KnownSearchField(node.field)) return true;
  *unknown = node.field;
  return false;
}

// --- rate limits and statistics ------------------------------------------------------------------------------

// Credits, sub-limits, windows and the counters /_emulator/stats reports. Thread-safe (one mutex; a request
// takes it twice, which is far below the cost of rendering a page).
class Meter {
 public:
  struct Decision {
    bool allowed = true;
    int retry_after_seconds = 0;
  };

  explicit Meter(const ServerOptions& options)
      : options_(options), start_(std::chrono::steady_clock::now()) {}

  // Before routing: refuses when the window's credits or the operation's sub-limit are used up.
  Decision Admit(Operation op, std::chrono::steady_clock::time_point now) {
    std::lock_guard<std::mutex> lock(mu_);
    Roll(now);
    Decision d;
    if (!options_.enforce_rate_limit) return d;
    const bool out = used_ >= options_.rate_limit_total ||
                     (op == Operation::kTicketsList && options_.tickets_list_limit > 0 &&
                      tickets_list_calls_ >= options_.tickets_list_limit) ||
                     (op == Operation::kContactsList && options_.contacts_list_limit > 0 &&
                      contacts_list_calls_ >= options_.contacts_list_limit);
    if (out) {
      d.allowed = false;
      d.retry_after_seconds = SecondsToWindowEnd(now);
    }
    return d;
  }

  // After routing: charges the request and returns the credits left in the window.
  int Charge(const std::string& endpoint, Operation op, int credits, int status,
             std::chrono::steady_clock::time_point now) {
    std::lock_guard<std::mutex> lock(mu_);
    Roll(now);
    used_ += credits;
    if (op == Operation::kTicketsList) ++tickets_list_calls_;
    if (op == Operation::kContactsList) ++contacts_list_calls_;
    EndpointStats& e = endpoints_[endpoint];
    ++e.requests;
    e.credits += credits;
    ++e.by_status[status];
    ++requests_;
    credits_total_ += credits;
    ++current_.requests;
    current_.credits += credits;
    if (status == 429) {
      ++rate_limited_;
      ++current_.rate_limited;
    }
    return std::max(0, options_.rate_limit_total - used_);
  }

  int SecondsToWindowEnd(std::chrono::steady_clock::time_point now) const {
    const auto window_end = start_ + options_.rate_limit_window * (window_index_ + 1);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(window_end - now).count();
    return static_cast<int>(std::max<int64_t>(1, (left + 999) / 1000));
  }

  void CountFault(const char* fault_class) {
    std::lock_guard<std::mutex> lock(mu_);
    ++faults_[fault_class];
  }
  void CountDownload(size_t bytes, bool ok) {
    std::lock_guard<std::mutex> lock(mu_);
    ++(ok ? downloads_ : downloads_refused_);
    download_bytes_ += bytes;
  }

  OrderedJson Stats(std::chrono::steady_clock::time_point now) {
    std::lock_guard<std::mutex> lock(mu_);
    Roll(now);
    OrderedJson out;
    out["requests"] = requests_;
    out["credits"] = credits_total_;
    out["rate_limited"] = rate_limited_;
    out["rate_limit"] = {{"total", options_.rate_limit_total},
                         {"enforced", options_.enforce_rate_limit},
                         {"tickets_list_limit", options_.tickets_list_limit},
                         {"contacts_list_limit", options_.contacts_list_limit},
                         {"window_ms", options_.rate_limit_window.count()},
                         {"used_in_window", used_},
                         {"remaining", std::max(0, options_.rate_limit_total - used_)}};
    OrderedJson faults = OrderedJson::object();
    for (const char* name : {"5xx", "reset", "slow", "truncate", "malformed", "429storm"})
      faults[name] = faults_.count(name) ? faults_.at(name) : 0;
    out["faults"] = std::move(faults);
    OrderedJson endpoints = OrderedJson::object();
    for (const auto& [key, e] : endpoints_) {
      OrderedJson statuses = OrderedJson::object();
      for (const auto& [status, count] : e.by_status) statuses[std::to_string(status)] = count;
      endpoints[key] = {{"requests", e.requests}, {"credits", e.credits}, {"statuses", std::move(statuses)}};
    }
    out["endpoints"] = std::move(endpoints);
    OrderedJson windows = OrderedJson::array();
    auto window_json = [](const WindowStats& w) {
      return OrderedJson{{"index", w.index},           {"requests", w.requests},
                         {"credits", w.credits},       {"rate_limited", w.rate_limited},
                         {"tickets_list_calls", w.tickets_list_calls},
                         {"contacts_list_calls", w.contacts_list_calls}};
    };
    for (const auto& w : history_) windows.push_back(window_json(w));
    WindowStats current = current_;
    current.tickets_list_calls = tickets_list_calls_;
    current.contacts_list_calls = contacts_list_calls_;
    windows.push_back(window_json(current));
    out["windows"] = std::move(windows);
    out["attachment_downloads"] = downloads_;
    out["attachment_downloads_refused"] = downloads_refused_;
    out["attachment_bytes"] = download_bytes_;
    return out;
  }

 private:
  struct EndpointStats {
    int64_t requests = 0;
    int64_t credits = 0;
    std::map<int, int64_t> by_status;
  };
  struct WindowStats {
    int64_t index = 0;
    int64_t requests = 0;
    int64_t credits = 0;
    int64_t rate_limited = 0;
    int64_t tickets_list_calls = 0;
    int64_t contacts_list_calls = 0;
  };

  void Roll(std::chrono::steady_clock::time_point now) {
    const int64_t index = std::max<int64_t>(0, (now - start_) / options_.rate_limit_window);
    if (index == window_index_) return;
    current_.tickets_list_calls = tickets_list_calls_;
    current_.contacts_list_calls = contacts_list_calls_;
    history_.push_back(current_);
    if (history_.size() > 100) history_.pop_front();
    window_index_ = index;
    current_ = WindowStats{index};
    used_ = tickets_list_calls_ = contacts_list_calls_ = 0;
  }

  const ServerOptions& options_;
  const std::chrono::steady_clock::time_point start_;
  std::mutex mu_;
  int64_t window_index_ = 0;
  int used_ = 0;
  int tickets_list_calls_ = 0;
  int contacts_list_calls_ = 0;
  int64_t requests_ = 0, credits_total_ = 0, rate_limited_ = 0;
  int64_t downloads_ = 0, downloads_refused_ = 0, download_bytes_ = 0;
  std::map<std::string, EndpointStats> endpoints_;
  std::map<std::string, int64_t> faults_;
  WindowStats current_;
  std::deque<WindowStats> history_;
};

// Resets the TCP connection of `req` (RST, no response byte): finds the accepted socket by its peer port,
// sets SO_LINGER 0 and atomically replaces the descriptor with an unconnected socket, so the server's own
// later write and close hit the placeholder, never a reused descriptor.
bool ResetConnection(const httplib::Request& req, int server_port) {
  for (int fd = 3; fd < 65536; ++fd) {
    sockaddr_storage local{}, peer{};
    socklen_t local_len = sizeof(local), peer_len = sizeof(peer);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) {
      if (errno == EBADF && fd > 4096) break;
      continue;
    }
    if (local.ss_family != AF_INET) continue;
    if (ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port) != server_port) continue;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) continue;
    if (ntohs(reinterpret_cast<sockaddr_in*>(&peer)->sin_port) != req.remote_port) continue;
    linger hard{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
    const int placeholder = socket(AF_INET, SOCK_STREAM, 0);
    if (placeholder < 0) return false;
    dup2(placeholder, fd);
    close(placeholder);
    return true;
  }
  return false;
}

// "20250312T080602Z" ⇄ Unix seconds (the X-Amz-Date form).
std::string AmzDate(int64_t unix_seconds) {
  const std::string iso = FormatTimestamp(unix_seconds);  // 2025-03-12T08:06:02Z
  std::string out;
  for (char c : iso) {
    if (c != '-' && c != ':') out += c;
  }
  return out;
}

std::optional<int64_t> ParseAmzDate(const std::string& text) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return std::nullopt;
  const std::string iso = text.substr(0, 4) + "-" + text.substr(4, 2) + "-" + text.substr(6, 2) + "T" +
                          text.substr(9, 2) + ":" + text.substr(11, 2) + ":" + text.substr(13, 2) + "Z";
  Result<int64_t> parsed = ParseTimestamp(iso);
  if (!parsed) return std::nullopt;
  return *parsed;
}

std::string S3Error(const std::string& code, const std::string& message) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + code + "</Code><Message>" + message +
         "</Message></Error>";
}

}  // namespace

Result<unsigned> ParseFaultClasses(const std::string& list) {
  unsigned mask = 0;
  for (const std::string& item : SplitComma(list)) {
    if (item == "5xx") {
      mask |= kFault5xx;
    } else if (item == "reset") {
      mask |= kFaultReset;
    } else if (item == "slow") {
      mask |= kFaultSlow;
    } else if (item == "truncate") {
      mask |= kFaultTruncate;
    } else if (item == "malformed") {
      mask |= kFaultMalformed;
    } else if (item == "429storm") {
      mask |= kFault429Storm;
    } else {
      return Error(InvalidArgument("--faults: unknown fault class '" + item +
                                   "' (known: 5xx, reset, slow, truncate, malformed, 429storm)"));
    }
  }
  return mask;
}

Result<RatePlan> PlanLimits(const std::string& plan) {
  if (plan == "trial") return RatePlan{50, 0, 0};
  if (plan == "growth") return RatePlan{200, 20, 20};
  if (plan == "pro") return RatePlan{400, 100, 100};
  if (plan == "enterprise") return RatePlan{700, 200, 200};
  return Error(InvalidArgument("--plan: unknown plan '" + plan + "' (trial, growth, pro, enterprise)"));
}

struct EmulatorServer::Impl {
  Impl(std::shared_ptr<const Helpdesk> desk_in, ServerOptions options_in)
      : options(std::move(options_in)), meter(options), snapshot(BuildSnapshot(std::move(desk_in))) {}

  std::shared_ptr<const Snapshot> Current() const {
    std::lock_guard<std::mutex> lock(snapshot_mu);
    return snapshot;
  }
  // The emulator's clocks: real time plus the offset tests advance with POST /_emulator/clock/advance.
  std::chrono::steady_clock::time_point SteadyNow() const {
    return std::chrono::steady_clock::now() + std::chrono::milliseconds(clock_offset_ms.load());
  }
  int64_t WallNow() const { return NowUnixSeconds() + clock_offset_ms.load() / 1000; }
  int64_t AttachmentLifetime() const {
    return std::max<int64_t>(1, kAttachmentLifetimeSeconds * options.rate_limit_window.count() / 60'000);
  }
  AttachmentUrlFn AttachmentUrls() const;

  void Handle(const httplib::Request& req, httplib::Response& res, bool read_method);
  void HandleControl(const httplib::Request& req, httplib::Response& res);
  void HandleAttachment(const httplib::Request& req, httplib::Response& res);
  Reply Route(const Snapshot& snap, const httplib::Request& req);
  bool Authorized(const httplib::Request& req) const;
  unsigned DrawFault();

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
  Reply ListTickets(const Snapshot& snap, const httplib::Request& req);
  Reply SearchTickets(const Snapshot& snap, const httplib::Request& req);
  Reply ViewTicket(const Snapshot& snap, const httplib::Request& req, const Ticket& ticket);
  Reply ListConversations(const Snapshot& snap, const httplib::Request& req, const Ticket& ticket);
  Reply Solutions(const Snapshot& snap, const httplib::Request& req, std::vector<std::string> segments);
  Reply ListContacts(const Snapshot& snap, const httplib::Request& req);
  Reply ListCompanies(const Snapshot& snap, const httplib::Request& req);
  Reply ListTicketFields(const Snapshot& snap, const httplib::Request& req);

  // Control surface.
  OrderedJson Truth(const Snapshot& snap) const;
  Reply ApplyStep(const TimelineStep& step);

  const ServerOptions options;
  Meter meter;
  mutable std::mutex snapshot_mu;
  std::shared_ptr<const Snapshot> snapshot;  // guarded by snapshot_mu (swapped whole)
  std::mutex timeline_mu;                    // one step at a time
  size_t timeline_next = 0;                  // guarded by timeline_mu
  std::atomic<int64_t> clock_offset_ms{0};
  std::atomic<uint64_t> fault_counter{0};
  std::atomic<int> storm_left{0};

  std::unique_ptr<httplib::Server> server;
  std::thread thread;
  int port = 0;
  bool started = false;
};

AttachmentUrlFn EmulatorServer::Impl::AttachmentUrls() const {
  const int64_t issued = WallNow();
  const int64_t lifetime = AttachmentLifetime();
  const std::string base = "http://" + options.host + ":" + std::to_string(port) + kAttachmentPrefix;
  const std::string& secret = options.signing_secret;
  return [issued, lifetime, base, &secret](const Attachment& a, bool thumb) {
    return base + std::to_string(a.id) + (thumb ? "/thumb/" : "/original/") + a.name +
           "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=" + AmzDate(issued) +
           "&X-Amz-Expires=" + std::to_string(lifetime) + "&X-Amz-SignedHeaders=host&X-Amz-Signature=" +
           SignAttachment(secret, a.id, issued, lifetime);
  };
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

unsigned EmulatorServer::Impl::DrawFault() {
  if (options.fault_rate <= 0 || options.fault_classes == 0) return 0;
  // splitmix64 over (seed, request number): the n-th request's draw is fixed by the seed.
  uint64_t x = options.fault_seed + 0x9E3779B97F4A7C15ull * (fault_counter.fetch_add(1) + 1);
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  x ^= x >> 31;
  const double roll = static_cast<double>(x >> 11) * 0x1.0p-53;
  if (roll >= options.fault_rate) return 0;
  std::vector<unsigned> classes;
  for (unsigned bit = 1; bit <= kFault429Storm; bit <<= 1) {
    if (options.fault_classes & bit) classes.push_back(bit);
  }
  return classes[static_cast<size_t>((x & 0xffff) % classes.size())];
}

void EmulatorServer::Impl::Handle(const httplib::Request& req, httplib::Response& res, bool read_method) {
  const string_view path = req.path;
  if (path.rfind(kControlPrefix, 0) == 0) return HandleControl(req, res);
  if (path.rfind(kAttachmentPrefix, 0) == 0 && read_method) return HandleAttachment(req, res);

  const bool api = path == kApiPrefix || path.rfind(std::string(kApiPrefix) + "/", 0) == 0;
  const Operation op = !read_method                 ? Operation::kOther
                       : path == "/api/v2/tickets"  ? Operation::kTicketsList
                       : path == "/api/v2/contacts" ? Operation::kContactsList
                                                    : Operation::kOther;
  const std::string endpoint = EndpointKey(req.method, path);
  auto now = SteadyNow();

  // Fault injection happens in front of the helpdesk, like a proxy or load balancer would.
  unsigned fault = api ? DrawFault() : 0;
  if (fault == kFault429Storm) {
    meter.CountFault("429storm");
    storm_left.store(kStormLength);
  }
  bool storm = false;
  if (api) {
    int left = storm_left.load();
    while (left > 0 && !storm_left.compare_exchange_weak(left, left - 1)) {
    }
    storm = left > 0;
  }
  if (fault == kFaultReset) {
    meter.CountFault("reset");
    if (ResetConnection(req, port)) {
      meter.Charge(endpoint, Operation::kOther, 0, 0, now);
      return;
    }
  }
  if (fault == kFaultSlow) {
    meter.CountFault("slow");
    std::this_thread::sleep_for(std::chrono::milliseconds(options.slow_ms));
    now = SteadyNow();
  }
  if (fault == kFault5xx) {
    meter.CountFault("5xx");
    static constexpr int kStatuses[] = {500, 502, 503, 504};
    const int status = kStatuses[fault_counter.load() % 4];
    res.status = status;
    if (status == 500) {
      res.set_content(Dump(OrderedJson{{"code", "internal_error"}, {"message", "We're sorry, but something went wrong."}}),
                      kJsonContentType);
    } else {
      res.set_content("<html><head><title>" + std::to_string(status) + " Error</title></head><body><h1>" +
                          std::to_string(status) + " Error</h1><p>The upstream server is unavailable.</p></body></html>",
                      "text/html");
    }
    meter.Charge(endpoint, op, 0, status, now);
    return;
  }

  Reply reply;
  int remaining = 0;
  const Meter::Decision admitted = meter.Admit(op, now);
  if (storm || !admitted.allowed) {
    const int retry_after = storm ? 1 : admitted.retry_after_seconds;
    reply = CodeError(429, "rate_limit_exceeded",
                      "You have exceeded the limit of requests per minute. Please try again after " +
                          std::to_string(retry_after) + " seconds.");
    res.set_header("Retry-After", std::to_string(retry_after));
    remaining = meter.Charge(endpoint, op, 1, 429, now);
  } else {
    try {
      if (!Authorized(req)) {
        reply = CodeError(401, "invalid_credentials", "You have to be logged in to perform this action.");
      } else if (!read_method) {
        reply = CodeError(405, "method_not_allowed", "This emulator is read-only: only GET is supported.");
        res.set_header("Allow", "GET");
      } else {
        const std::shared_ptr<const Snapshot> snap = Current();
        reply = Route(*snap, req);
      }
    } catch (const std::exception& e) {
      reply = CodeError(500, "internal_error", std::string("emulator error: ") + e.what());
    }
    remaining = meter.Charge(endpoint, op, reply.credits, reply.status, now);
  }
  res.status = reply.status;
  res.set_header("X-RateLimit-Total", std::to_string(options.rate_limit_total));
  res.set_header("X-RateLimit-Remaining", std::to_string(remaining));
  res.set_header("X-RateLimit-Used-CurrentRequest", std::to_string(reply.status == 429 ? 1 : reply.credits));
  res.set_header("X-Freshdesk-Api-Version", "latest=v2; requested=v2");
  if (reply.link) res.set_header("link", "<" + *reply.link + ">; rel=\"next\"");

  if (fault == kFaultMalformed) {
    meter.CountFault("malformed");
    reply.body = reply.body.substr(0, reply.body.size() * 2 / 3) + "\x01<!-- upstream cut -->";
  }
  if (fault == kFaultTruncate) {
    meter.CountFault("truncate");
    auto body = std::make_shared<std::string>(std::move(reply.body));
    res.set_content_provider(body->size(), kJsonContentType,
                             [body](size_t, size_t, httplib::DataSink& sink) {
                               sink.write(body->data(), body->size() / 2);
                               return false;  // httplib closes the connection mid-body
                             });
    return;
  }
  res.set_content(std::move(reply.body), kJsonContentType);
}

void EmulatorServer::Impl::HandleAttachment(const httplib::Request& req, httplib::Response& res) {
  // /data/helpdesk/attachments/production/{id}/{original|thumb}/{name}
  const std::vector<std::string> s = SplitPath(string_view(req.path).substr(std::strlen(kAttachmentPrefix)));
  auto refuse = [&](int status, const std::string& code, const std::string& message) {
    res.status = status;
    res.set_content(S3Error(code, message), "application/xml");
    meter.CountDownload(0, false);
  };
  const std::optional<int64_t> id = s.empty() ? std::nullopt : ParseCount(s[0]);
  if (s.size() != 3 || !id || (s[1] != "original" && s[1] != "thumb"))
    return refuse(404, "NoSuchKey", "The specified key does not exist.");
  const std::optional<int64_t> issued = ParseAmzDate(Param(req, "X-Amz-Date").value_or(""));
  const std::optional<int64_t> lifetime = ParseCount(Param(req, "X-Amz-Expires").value_or(""));
  const std::string signature = Param(req, "X-Amz-Signature").value_or("");
  if (!issued || !lifetime || signature != SignAttachment(options.signing_secret, *id, *issued, *lifetime))
    return refuse(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.");
  if (WallNow() > *issued + *lifetime) return refuse(403, "AccessDenied", "Request has expired");
  const std::shared_ptr<const Snapshot> snap = Current();
  const Attachment* attachment = snap->desk->FindAttachment(*id);
  if (attachment == nullptr || !attachment->bytes) return refuse(404, "NoSuchKey", "The specified key does not exist.");
  res.status = 200;
  res.set_header("Content-Disposition", "attachment; filename=\"" + attachment->name + "\"");
  res.set_header("ETag", "\"" + SignAttachment("etag", attachment->id, 0, 0).substr(0, 32) + "\"");
  auto bytes = attachment->bytes;  // keeps the bytes alive while httplib sends them
  res.set_content_provider(bytes->size(), attachment->content_type,
                           [bytes](size_t offset, size_t length, httplib::DataSink& sink) {
                             sink.write(bytes->data() + offset, std::min(length, bytes->size() - offset));
                             return true;
                           });
  meter.CountDownload(bytes->size(), true);
}

Reply EmulatorServer::Impl::ApplyStep(const TimelineStep& step) {
  // Copy the current helpdesk, change the copy, publish it: readers never see a half-applied step.
  const std::shared_ptr<const Snapshot> before = Current();
  auto desk = std::make_shared<Helpdesk>(*before->desk);
  desk->BuildIndexes();
  Result<nlohmann::ordered_json> summary = [&]() -> Result<nlohmann::ordered_json> {
    try {
      return ApplyTimelineStep(desk.get(), step);
    } catch (const std::exception& e) {
      return Error(InvalidArgument("timeline step \"" + step.name + "\": " + e.what()));
    }
  }();
  if (!summary) return CodeError(400, "invalid_timeline_step", summary.error().message());
  std::shared_ptr<const Snapshot> after = BuildSnapshot(std::move(desk), before.get());
  {
    std::lock_guard<std::mutex> lock(snapshot_mu);
    snapshot = std::move(after);
  }
  return JsonReply(200, *summary);
}

void EmulatorServer::Impl::HandleControl(const httplib::Request& req, httplib::Response& res) {
  const std::string what = req.path.substr(std::strlen(kControlPrefix));
  Reply reply = NotFound("No such control endpoint: " + req.path);
  const bool get = req.method == "GET";
  const bool post = req.method == "POST";
  try {
    if (what == "stats" && get) {
      reply = JsonReply(200, meter.Stats(SteadyNow()));
    } else if (what == "truth" && get) {
      reply = JsonReply(200, Truth(*Current()));
    } else if (what == "timeline" && get) {
      std::lock_guard<std::mutex> lock(timeline_mu);
      OrderedJson names = OrderedJson::array();
      for (const auto& step : options.timeline) names.push_back(step.name);
      reply = JsonReply(200, {{"steps", names}, {"next", timeline_next}});
    } else if (what == "timeline/next" && post) {
      std::lock_guard<std::mutex> lock(timeline_mu);
      if (timeline_next >= options.timeline.size()) {
        reply = CodeError(409, "timeline_exhausted",
                          "no more timeline steps (" + std::to_string(options.timeline.size()) + " in total)");
      } else {
        reply = ApplyStep(options.timeline[timeline_next]);
        if (reply.status == 200) {
          OrderedJson body = OrderedJson::parse(reply.body);
          body["step"] = timeline_next + 1;
          body["remaining"] = options.timeline.size() - timeline_next - 1;
          reply = JsonReply(200, body);
          ++timeline_next;
        }
      }
    } else if (what == "timeline/apply" && post) {
      // One ad-hoc step in the request body (same format as a timeline file's step).
      nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
      if (body.is_discarded()) {
        reply = CodeError(400, "invalid_json", "the body must be one timeline step as JSON");
      } else {
        Result<std::vector<TimelineStep>> steps = ParseTimeline(nlohmann::json::array({body}));
        if (!steps) {
          reply = CodeError(400, "invalid_timeline_step", steps.error().message());
        } else {
          std::lock_guard<std::mutex> lock(timeline_mu);
          reply = ApplyStep(steps->front());
        }
      }
    } else if (what == "clock/advance" && post) {
      const std::optional<int64_t> seconds = ParseCount(Param(req, "seconds").value_or(""));
      if (!seconds) {
        reply = CodeError(400, "invalid_value", "seconds must be a non-negative integer");
      } else {
        clock_offset_ms.fetch_add(*seconds * 1000);
        reply = JsonReply(200, {{"offset_seconds", clock_offset_ms.load() / 1000}});
      }
    }
  } catch (const std::exception& e) {
    reply = CodeError(500, "internal_error", std::string("emulator error: ") + e.what());
  }
  res.status = reply.status;
  res.set_content(std::move(reply.body), kJsonContentType);
}

OrderedJson EmulatorServer::Impl::Truth(const Snapshot& snap) const {
  const Helpdesk& desk = *snap.desk;
  const AttachmentUrlFn no_urls;
  OrderedJson out;
  out["now"] = FormatTimestamp(desk.now);
  OrderedJson tickets = OrderedJson::array();
  OrderedJson purged = OrderedJson::array();
  for (const Ticket& t : desk.tickets) {
    if (t.purged) {
      purged.push_back(t.id);
      continue;
    }
    OrderedJson j = TicketViewJson(desk, t, TicketViewIncludes{}, no_urls);
    j["archived"] = t.archived;
    j["deleted"] = t.deleted;
    for (auto& a : j["attachments"]) a.erase("attachment_url"), a.erase("thumb_url");
    OrderedJson texts = OrderedJson::array();
    for (const auto& a : t.attachments)
      texts.push_back({{"id", a.id}, {"kind", AttachmentKindName(a.kind)}, {"text", a.text}});
    j["attachment_texts"] = std::move(texts);
    OrderedJson conversations = OrderedJson::array();
    for (const auto& c : desk.ConversationsOf(t)) {
      OrderedJson cj = ConversationJson(desk, c, no_urls);
      for (auto& a : cj["attachments"]) a.erase("attachment_url"), a.erase("thumb_url");
      conversations.push_back(std::move(cj));
    }
    j["conversations"] = std::move(conversations);
    tickets.push_back(std::move(j));
  }
  out["tickets"] = std::move(tickets);
  out["purged_ticket_ids"] = std::move(purged);
  OrderedJson contacts = OrderedJson::array();
  for (const auto& c : desk.contacts) {
    OrderedJson j = ContactJson(c);
    j["deleted"] = c.deleted;
    j["blocked"] = c.blocked;
    contacts.push_back(std::move(j));
  }
  out["contacts"] = std::move(contacts);
  OrderedJson companies = OrderedJson::array();
  for (const auto& c : desk.companies) companies.push_back(CompanyJson(c));
  out["companies"] = std::move(companies);
  OrderedJson agents = OrderedJson::array();
  for (const auto& a : desk.agents) agents.push_back(AgentJson(a));
  out["agents"] = std::move(agents);
  OrderedJson groups = OrderedJson::array();
  for (const auto& g : desk.groups) groups.push_back(GroupJson(g, true));
  out["groups"] = std::move(groups);
  OrderedJson categories = OrderedJson::array();
  for (const auto& c : desk.categories) categories.push_back(CategoryJson(c));
  out["categories"] = std::move(categories);
  OrderedJson folders = OrderedJson::array();
  for (const auto& f : desk.folders) folders.push_back(FolderJson(desk, f));
  out["folders"] = std::move(folders);
  OrderedJson articles = OrderedJson::array();
  for (const auto& a : desk.articles) {
    OrderedJson j = ArticleJson(desk, a);
    OrderedJson translations = OrderedJson::object();
    for (const auto& [language, tr] : a.translations) translations[language] = ArticleJson(desk, a, language);
    j["translations"] = std::move(translations);
    articles.push_back(std::move(j));
  }
  out["articles"] = std::move(articles);
  out["settings"] = HelpdeskSettingsJson(desk);
  return out;
}

Reply EmulatorServer::Impl::Route(const Snapshot& snap, const httplib::Request& req) {
  const Helpdesk* desk = snap.desk.get();
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
    if (n == 1) return ListTickets(snap, req);
    // Archived tickets live only under /tickets/archived/{id}[/conversations]; others only under /tickets/{id}.
    const bool archive_path = s[1] == "archived";
    const size_t at = archive_path ? 2 : 1;
    if (n <= at) return not_found();
    const std::optional<int64_t> id = id_at(at);
    if (!id) return not_found();
    if (n > at + 2 || (n == at + 2 && s[at + 1] != "conversations")) return not_found();
    const Ticket* ticket = desk->FindLiveTicket(*id);
    if (ticket == nullptr || ticket->archived != archive_path)
      return NotFound("There is no ticket with id " + std::to_string(*id));
    return n == at + 1 ? ViewTicket(snap, req, *ticket) : ListConversations(snap, req, *ticket);
  }
  if (root == "search" && n == 2 && s[1] == "tickets") return SearchTickets(snap, req);
  if (root == "solutions") return Solutions(snap, req, std::move(s));

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
    if (n == 1) return ListContacts(snap, req);
    const std::optional<int64_t> id = id_at(1);
    if (n != 2 || !id) return not_found();
    const Contact* contact = desk->FindContact(*id);
    return contact ? JsonReply(200, ContactJson(*contact)) : NotFound("There is no contact with id " + s[1]);
  }
  if (root == "companies") {
    if (n == 1) return ListCompanies(snap, req);
    const std::optional<int64_t> id = id_at(1);
    if (n != 2 || !id) return not_found();
    const Company* company = desk->FindCompany(*id);
    return company ? JsonReply(200, CompanyJson(*company)) : NotFound("There is no company with id " + s[1]);
  }
  if (root == "ticket_fields" && n == 1) return ListTicketFields(snap, req);
  if ((root == "contact_fields" || root == "company_fields") && n == 1) {
    std::vector<FieldError> errors;
    CheckParams(req, {}, &errors);
    if (!errors.empty()) return ValidationFailed(errors);
    return JsonReply(200, root == "contact_fields" ? desk->contact_fields : desk->company_fields);
  }
  if (root == "account" && n == 1) return JsonReply(200, AccountJson(*desk));
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

Reply EmulatorServer::Impl::ListTickets(const Snapshot& snap, const httplib::Request& req) {
  const Helpdesk* desk = snap.desk.get();
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
  const bool no_match = filter == "watching" || by_external_id;
  if (!no_match) {
    const auto& index = snap.orderings[static_cast<size_t>(order)];
    matches.reserve(std::min<size_t>(index.size(), static_cast<size_t>(paging.page * paging.per_page) + 1));
    for (size_t k = 0; k < index.size(); ++k) {
      const uint32_t i = ascending ? index[k] : index[index.size() - 1 - k];
      const Ticket& t = tickets[i];
      // Archived and hard-deleted tickets are in no list; spam and trash only in their own views.
      if (t.purged || t.archived) continue;
      if (filter == "spam" ? !t.spam : filter == "deleted" ? !(t.deleted && !t.spam) : (t.spam || t.deleted))
        continue;
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
      // Paging only needs this page's tickets and whether one more exists.
      if (matches.size() > static_cast<size_t>(paging.page * paging.per_page)) break;
    }
  }
  // Rendered straight into the body: a 100-ticket page with every include is ~200 KB.
  const size_t first = static_cast<size_t>((paging.page - 1) * paging.per_page);
  const size_t last = std::min(matches.size(), first + static_cast<size_t>(paging.per_page));
  Reply reply;
  size_t size = 2;
  for (size_t k = first; k < last; ++k) {
    const RenderedTicket& r = snap.rendered[matches[k]];
    size += r.core.size() + 2 + (with_description ? r.description.size() : 0) +
            (with_requester ? r.requester.size() : 0) + (with_stats ? r.stats.size() : 0);
  }
  reply.body.reserve(size);
  reply.body += '[';
  for (size_t k = first; k < last; ++k) {
    const RenderedTicket& r = snap.rendered[matches[k]];
    if (k != first) reply.body += ',';
    reply.body += r.core;
    if (with_description) reply.body += r.description;
    if (with_requester) reply.body += r.requester;
    if (with_stats) reply.body += r.stats;
    reply.body += '}';
  }
  reply.body += ']';
  if (matches.size() > last) reply.link = NextLink(req, paging.page + 1);
  reply.credits = 1 + 2 * (int{with_description} + int{with_requester} + int{with_stats});
  return reply;
}

Reply EmulatorServer::Impl::SearchTickets(const Snapshot& snap, const httplib::Request& req) {
  const Helpdesk* desk = snap.desk.get();
  std::vector<FieldError> errors;
  CheckParams(req, {"query", "page"}, &errors);
  std::optional<QueryNode> query;
  const std::optional<std::string> text = Param(req, "query");
  if (!text) {
    errors.push_back({"query", "It should be a/an String", "missing_field"});
  } else if (text->size() < 2 || text->front() != '"' || text->back() != '"' || text->size() > 514) {
    errors.push_back({"query", "Query should be wrapped in double quotes and at most 512 characters long"});
  } else {
    std::string error;
    query = QueryParser(string_view(*text).substr(1, text->size() - 2)).Parse(&error);
    std::string unknown;
    if (!query) {
      errors.push_back({"query", "Given query is invalid: " + error});
    } else if (!FieldsKnown(*query, &unknown)) {
      errors.push_back({unknown, "Unexpected/invalid field in request", "invalid_field"});
    }
  }
  int64_t page = 1;
  if (auto p = Param(req, "page")) {
    std::optional<int64_t> parsed = ParseCount(*p);
    if (!parsed || *parsed < 1 || *parsed > kMaxSearchPages) {
      errors.push_back({"page", "It should be a Positive Integer less than or equal to 10"});
    } else {
      page = *parsed;
    }
  }
  if (!errors.empty()) return ValidationFailed(errors);
  // Newest first; archived, spam and trashed tickets are not searchable.
  std::vector<const Ticket*> matches;
  const auto& by_created = snap.orderings[kByCreatedAt];
  for (size_t k = by_created.size(); k-- > 0;) {
    const Ticket& t = desk->tickets[by_created[k]];
    if (t.purged || t.archived || t.spam || t.deleted) continue;
    if (MatchesQuery(*desk, t, *query)) matches.push_back(&t);
  }
  std::string body = "{\"results\":[";
  const size_t first = static_cast<size_t>((page - 1) * kSearchPerPage);
  for (size_t i = first; i < matches.size() && i < first + kSearchPerPage; ++i) {
    if (i != first) body += ',';
    body += snap.rendered[static_cast<size_t>(matches[i]->id - 1)].core + "}";
  }
  body += "],\"total\":" + std::to_string(matches.size()) + "}";
  return Reply{200, std::move(body), std::nullopt, 1};
}

Reply EmulatorServer::Impl::ViewTicket(const Snapshot& snap, const httplib::Request& req, const Ticket& ticket) {
  const Helpdesk* desk = snap.desk.get();
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
  Reply reply = JsonReply(200, TicketViewJson(*desk, ticket, includes, AttachmentUrls()));
  reply.credits = 1 + count;
  return reply;
}

Reply EmulatorServer::Impl::ListConversations(const Snapshot& snap, const httplib::Request& req,
                                              const Ticket& ticket) {
  const Helpdesk* desk = snap.desk.get();
  const AttachmentUrlFn urls = AttachmentUrls();
  std::vector<FieldError> errors;
  CheckParams(req, {"page", "per_page"}, &errors);
  const Paging paging = ParsePaging(req, &errors);
  if (!errors.empty()) return ValidationFailed(errors);
  auto conversations = desk->ConversationsOf(ticket);
  return Page(req, paging, conversations.size(),
              [&](size_t i) { return Dump(ConversationJson(*desk, conversations[i], urls)); });
}

Reply EmulatorServer::Impl::Solutions(const Snapshot& snap, const httplib::Request& req,
                                      std::vector<std::string> s) {
  const Helpdesk* desk = snap.desk.get();
  auto not_found = [&] { return NotFound("No such URL: " + req.path); };
  // Language variants (…/{language_code}): the primary language or one of the supported ones.
  std::string language;
  if (s.size() > 2 && !s.back().empty() && !std::isdigit(static_cast<unsigned char>(s.back()[0])) &&
      s.back() != "folders" && s.back() != "articles" && s.back() != "subfolders") {
    language = s.back();
    s.pop_back();
    if (language != desk->primary_language &&
        std::find(desk->supported_languages.begin(), desk->supported_languages.end(), language) ==
            desk->supported_languages.end()) {
      return NotFound("The language '" + language + "' is not enabled for this helpdesk");
    }
    if (language == desk->primary_language) language.clear();
  }
  const size_t n = s.size();
  auto paged = [&](size_t total, const std::function<std::string(size_t)>& render) {
    std::vector<FieldError> errors;
    CheckParams(req, {"page", "per_page"}, &errors);
    const Paging paging = ParsePaging(req, &errors);
    if (!errors.empty()) return ValidationFailed(errors);
    return Page(req, paging, total, render);
  };
  auto translated = [&](const Article& a) { return language.empty() || a.translations.count(language) > 0; };
  if (n < 2) return not_found();
  std::optional<int64_t> id;
  if (n >= 3) id = ParseCount(s[2]);
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
    // [INFER] top-level folders only; subfolders come from /solutions/folders/{id}/subfolders.
    std::vector<const Folder*> folders;
    for (const auto& folder : desk->folders) {
      if (folder.category_id == category->id && !folder.parent_folder_id) folders.push_back(&folder);
    }
    return paged(folders.size(), [&](size_t i) { return Dump(FolderJson(*desk, *folders[i], language)); });
  }
  if (s[1] == "folders" && id) {
    const Folder* folder = desk->FindFolder(*id);
    if (n > 4 || (n == 4 && s[3] != "articles" && s[3] != "subfolders")) return not_found();
    if (folder == nullptr) return NotFound("There is no solution folder with id " + s[2]);
    if (n == 3) return JsonReply(200, FolderJson(*desk, *folder, language));
    if (s[3] == "subfolders") {
      return paged(folder->subfolders.size(), [&](size_t i) {
        return Dump(FolderJson(*desk, *desk->FindFolder(folder->subfolders[i]), language));
      });
    }
    std::vector<const Article*> articles;
    for (size_t index : folder->articles) {
      if (translated(desk->articles[index])) articles.push_back(&desk->articles[index]);
    }
    return paged(articles.size(), [&](size_t i) { return Dump(ArticleJson(*desk, *articles[i], language)); });
  }
  if (s[1] == "articles" && id && n == 3) {
    const Article* article = desk->FindArticle(*id);
    if (article == nullptr || !translated(*article))
      return NotFound("There is no solution article with id " + s[2]);
    return JsonReply(200, ArticleJson(*desk, *article, language));
  }
  return not_found();
}

Reply EmulatorServer::Impl::ListContacts(const Snapshot& snap, const httplib::Request& req) {
  const Helpdesk* desk = snap.desk.get();
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
  if (contact_type != "visitor") {
    for (const auto& contact : desk->contacts) {
      // The default list excludes deleted and blocked contacts; state=deleted|blocked lists only those.
      if (state == "deleted" ? !contact.deleted : state == "blocked" ? !contact.blocked
                                                                    : contact.deleted || contact.blocked)
        continue;
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

Reply EmulatorServer::Impl::ListCompanies(const Snapshot& snap, const httplib::Request& req) {
  const Helpdesk* desk = snap.desk.get();
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

Reply EmulatorServer::Impl::ListTicketFields(const Snapshot& snap, const httplib::Request& req) {
  const Helpdesk* desk = snap.desk.get();
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
  server.set_tcp_nodelay(true);  // small responses must not wait for the client's delayed ACK (Nagle)
  server.set_keep_alive_timeout(std::max(1, impl.options.keep_alive_timeout_seconds));
  auto read = [&impl](const httplib::Request& req, httplib::Response& res) {
    impl.Handle(req, res, req.method == "GET" || req.method == "HEAD");
  };
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

std::shared_ptr<const Helpdesk> EmulatorServer::helpdesk() const { return impl_->Current()->desk; }

std::string EmulatorServer::base_url() const {
  return "http://" + impl_->options.host + ":" + std::to_string(impl_->port);
}

}  // namespace deskpipe::emulator
