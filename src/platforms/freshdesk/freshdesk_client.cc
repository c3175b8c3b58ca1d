#include "platforms/freshdesk/freshdesk_client.h"

#include <algorithm>
#include <cctype>
#include <atomic>
#include <charconv>
#include <map>
#include <mutex>
#include <utility>

#include "core/json_text.h"
#include "core/log.h"
#include "net/api_error.h"
#include "net/url.h"
#include "platforms/freshdesk/freshdesk_settings.h"

namespace deskpipe::freshdesk {
namespace {

std::string ToLower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Trim(std::string_view s) {
  size_t begin = 0;
  size_t end = s.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(s[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(s[end - 1]))) --end;
  return std::string(s.substr(begin, end - begin));
}

std::optional<int64_t> ParseInt(const std::string& text) {
  std::string t = Trim(text);
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
  if (ec != std::errc() || ptr != t.data() + t.size() || t.empty()) return std::nullopt;
  return value;
}

std::string JsonString(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

}  // namespace

std::string ParseNextLink(const std::string& link_header) {
  // link: <url1>; rel="next", <url2>; rel="prev"
  size_t pos = 0;
  while (pos < link_header.size()) {
    size_t open = link_header.find('<', pos);
    if (open == std::string::npos) break;
    size_t close = link_header.find('>', open);
    if (close == std::string::npos) break;
    std::string url = link_header.substr(open + 1, close - open - 1);
    size_t next_entry = link_header.find('<', close);
    std::string params = ToLower(link_header.substr(
        close + 1, (next_entry == std::string::npos ? link_header.size() : next_entry) - close - 1));
    // Accept rel="next", rel=next, and rel="next prev"-style lists.
    size_t rel = params.find("rel");
    while (rel != std::string::npos) {
      size_t eq = params.find('=', rel);
      if (eq == std::string::npos) break;
      std::string value = Trim(params.substr(eq + 1));
      size_t end = value.find_first_of(";,");
      if (end != std::string::npos) value = value.substr(0, end);
      value.erase(std::remove(value.begin(), value.end(), '"'), value.end());
      size_t start = 0;
      std::string v = Trim(value);
      while (start <= v.size()) {
        size_t space = v.find(' ', start);
        if (space == std::string::npos) space = v.size();
        if (v.substr(start, space - start) == "next") return Trim(url);
        start = space + 1;
      }
      rel = params.find("rel", eq);
    }
    if (next_entry == std::string::npos) break;
    pos = next_entry;
  }
  return "";
}

Status ClassifyFreshdeskError(const net::HttpResponse& response, const std::string& what,
                              FreshdeskError* details) {
  FreshdeskError info;
  info.http_status = response.status;
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_object()) {
    info.description = JsonString(body, "description");
    if (info.description.empty()) info.description = JsonString(body, "message");
    info.code = JsonString(body, "code");
    auto errors = body.find("errors");
    if (errors != body.end() && errors->is_array()) {
      for (const auto& e : *errors) {
        FreshdeskFieldError fe{JsonString(e, "field"), JsonString(e, "message"), JsonString(e, "code")};
        if (response.status == 400 && fe.field == "page" && fe.code == "invalid_value") info.page_cap = true;
        info.errors.push_back(std::move(fe));
      }
    }
  }
  // The summary: description, code and each field error, e.g.
  // "Validation failed [page: You cannot access … (invalid_value)]".
  std::string summary = info.description;
  if (!info.code.empty()) summary += (summary.empty() ? "" : " ") + std::string("(") + info.code + ")";
  if (!info.errors.empty()) {
    summary += summary.empty() ? "[" : " [";
    for (size_t i = 0; i < info.errors.size(); ++i) {
      const auto& e = info.errors[i];
      if (i > 0) summary += "; ";
      if (!e.field.empty()) summary += e.field + ": ";
      summary += e.message;
      if (!e.code.empty()) summary += " (" + e.code + ")";
    }
    summary += "]";
  }
  if (summary.empty() && !body.is_object()) {
    // A proxy's HTML/text error page: quote a short, single-line prefix.
    std::string text = Trim(response.body.substr(0, 120));
    std::replace_if(
        text.begin(), text.end(), [](unsigned char c) { return c < ' '; }, ' ');
    summary = text.empty() ? "empty body" : "non-JSON body: " + text;
  }

  std::string status_text = "HTTP " + std::to_string(response.status);
  Status status;
  if (response.status == 400) {
    status = InvalidArgument("Freshdesk rejected " + what + " (" + status_text + "): " + summary);
  } else if (response.status == 401) {
    status =
        Unauthenticated("Freshdesk rejected the API key (HTTP 401): check FRESHDESK_API_KEY / --api-key");
  } else if (response.status == 403) {
    status = PermissionDenied("Freshdesk denied " + what + " (" + status_text + ", code " +
                              (info.code.empty() ? std::string("unknown") : info.code) + "): " + summary);
  } else if (response.status == 404) {
    status = NotFound("Freshdesk has no " + what + " (" + status_text + ")");
  } else if (response.status == 429) {
    std::chrono::milliseconds wait{0};
    auto seconds = ParseInt(response.Header("retry-after"));
    if (seconds && *seconds >= 0) wait = std::chrono::seconds(*seconds);
    status = RateLimited("Freshdesk rate limit reached on " + what + " (HTTP 429, Retry-After " +
                         (seconds ? std::to_string(*seconds) + "s" : std::string("absent")) + ")");
    if (seconds && *seconds >= 0) status.set_retry_after(wait);
  } else if (response.status >= 500) {
    status = Unavailable("Freshdesk server error on " + what + " (" + status_text + "): " + summary);
  } else {
    status = Internal("unexpected response to " + what + " (" + status_text + "): " + summary);
  }
  if (details != nullptr) *details = std::move(info);
  return status;
}

namespace {

constexpr const char* kPageCapMarker = "tickets page cap reached";

std::string UrlDecodeComma(std::string s) {
  for (size_t p = s.find("%2"); p != std::string::npos; p = s.find("%2", p)) {
    if (p + 2 < s.size() && (s[p + 2] == 'C' || s[p + 2] == 'c')) {
      s.replace(p, 3, ",");
    } else {
      ++p;
    }
  }
  return s;
}

bool AllDigits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

}  // namespace

void ApplyConfigToClientOptions(const Config& config, FreshdeskClientOptions* options) {
  if (options->rate_limit_delay <= 0) options->rate_limit_delay = config.rate_limit_delay;
  if (!options->max_concurrent_requests) options->max_concurrent_requests = config.max_concurrent_requests;
  if (!options->api_budget_share) options->api_budget_share = config.api_budget_share;
  if (!options->circuit_wait_max) options->circuit_wait_max = std::chrono::seconds(config.unreachable_timeout);
}

bool IsPageCap(const Status& status) {
  return status.code() == StatusCode::kInvalidArgument &&
         status.message().find(kPageCapMarker) != std::string::npos;
}

std::optional<int64_t> FreshdeskSubLimit(const std::string& bucket, int64_t total) {
  if (bucket != "tickets_list" && bucket != "contacts_list") return std::nullopt;
  // API.md §4: plan total → list sub-limit (the same for tickets and contacts).
  static const std::pair<int64_t, int64_t> kPlans[] = {
      {2000, 400}, {1000, 300}, {700, 200}, {400, 100}, {200, 20}};
  for (const auto& [plan_total, sub_limit] : kPlans) {
    if (total >= plan_total) return sub_limit;
  }
  return std::nullopt;  // trial: no sub-limit
}

net::RequestTicket FreshdeskRequestTicket(const std::string& path_and_query) {
  std::string path = path_and_query;
  std::string query;
  if (size_t q = path.find('?'); q != std::string::npos) {
    query = path.substr(q + 1);
    path.erase(q);
  }
  while (!path.empty() && path.front() == '/') path.erase(path.begin());
  while (!path.empty() && path.back() == '/') path.pop_back();
  // Path template: ids become {id} so every ticket's conversations share one learnt cost.
  std::vector<std::string> segments;
  for (size_t pos = 0; pos <= path.size();) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    std::string segment = path.substr(pos, slash - pos);
    segments.push_back(AllDigits(segment) ? "{id}" : segment);
    pos = slash + 1;
  }
  std::string templ;
  for (size_t i = 0; i < segments.size(); ++i) templ += (i > 0 ? "/" : "") + segments[i];

  std::vector<std::string> includes;
  for (size_t pos = 0; pos <= query.size();) {
    size_t amp = query.find('&', pos);
    if (amp == std::string::npos) amp = query.size();
    std::string param = query.substr(pos, amp - pos);
    if (param.rfind("include=", 0) == 0) {
      std::string list = UrlDecodeComma(param.substr(8));
      for (size_t p = 0; p <= list.size();) {
        size_t comma = list.find(',', p);
        if (comma == std::string::npos) comma = list.size();
        std::string value = Trim(list.substr(p, comma - p));
        if (!value.empty() && std::find(includes.begin(), includes.end(), value) == includes.end()) {
          includes.push_back(value);
        }
        p = comma + 1;
      }
    }
    pos = amp + 1;
  }
  std::sort(includes.begin(), includes.end());

  net::RequestTicket ticket;
  ticket.cost_key = "GET " + templ;
  if (!includes.empty()) {
    ticket.cost_key += "?include=";
    for (size_t i = 0; i < includes.size(); ++i) ticket.cost_key += (i > 0 ? "," : "") + includes[i];
  }
  const auto n = static_cast<int64_t>(includes.size());
  if (templ == "tickets") {
    ticket.bucket = "tickets_list";
    ticket.estimated_cost = 1 + 2 * n;  // API.md §4: +2 credits per include on the list
  } else if (templ == "contacts") {
    ticket.bucket = "contacts_list";
  } else if (templ == "tickets/{id}" || templ == "tickets/archived/{id}") {
    ticket.estimated_cost = 1 + n;  // +1 per include on a view
  }
  return ticket;
}

namespace {

// Freshdesk's Retry-After: whole seconds.
std::optional<std::chrono::milliseconds> FreshdeskRetryAfter(const net::HttpResponse& response) {
  auto seconds = ParseInt(response.Header("retry-after"));
  if (!seconds || *seconds < 0) return std::nullopt;
  return std::chrono::seconds(*seconds);
}

net::RateHeaders ReadFreshdeskRateHeaders(const net::HttpResponse& response) {
  net::RateHeaders rate;
  rate.total = ParseInt(response.Header("x-ratelimit-total"));
  rate.remaining = ParseInt(response.Header("x-ratelimit-remaining"));
  rate.used_current_request = ParseInt(response.Header("x-ratelimit-used-currentrequest"));
  return rate;
}

}  // namespace

FreshdeskClient::FreshdeskClient(std::string api_base, std::string api_key, net::HttpClient& http,
                                 FreshdeskClientOptions options)
    : api_base_(std::move(api_base)), api_key_(std::move(api_key)), http_(http), options_(std::move(options)) {
  while (!api_base_.empty() && api_base_.back() == '/') api_base_.pop_back();
  if (options_.max_attempts < 1) options_.max_attempts = 1;
  max_concurrent_ = std::clamp(options_.max_concurrent_requests.value_or(4), 1, kMostConcurrentRequests);
  double share = options_.api_budget_share.value_or(1.0);
  if (!(share > 0) || share > 1) share = 1.0;

  net::AccountPolicy policy;
  const bool injected_time = options_.clock || options_.sleep || options_.now;
  policy.account = injected_time ? "" : api_base_;  // a test's own clock gets a private governor and breaker
  policy.base_url = api_base_;
  policy.read_rate_headers = &ReadFreshdeskRateHeaders;
  policy.read_retry_after = &FreshdeskRetryAfter;
  policy.retry.max_attempts = options_.max_attempts;
  policy.retry.backoff_base = options_.backoff_base;
  policy.retry.backoff_max = options_.backoff_max;
  policy.retry.default_retry_after = options_.default_retry_after;
  policy.retry.retry_after_jitter = options_.retry_after_jitter;
  // A client told not to retry (max_attempts 1) does not retry a 429 either.
  policy.max_rate_limited_attempts = options_.max_rate_limited_attempts > 0 ? options_.max_rate_limited_attempts
                                     : options_.max_attempts == 1         ? 1
                                                                          : std::max(options_.max_attempts, 10);
  policy.budget.budget_share = share;
  policy.budget.max_in_flight = max_concurrent_;
  policy.budget.min_spacing = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::duration<double>(std::max(options_.rate_limit_delay, 0.0)));
  policy.budget.window = options_.rate_window;
  policy.budget.bucket_limit = &FreshdeskSubLimit;
  net::CircuitBreakerOptions breaker;
  breaker.failure_threshold = options_.circuit_failure_threshold;
  breaker.open_for = options_.circuit_open_for;
  breaker.max_open_for = std::max(options_.circuit_open_for * 10, options_.circuit_open_for);
  policy.breaker = breaker;
  policy.unreachable_timeout = options_.circuit_wait_max.value_or(std::chrono::minutes(10));
  policy.outage_report_interval = options_.outage_report_interval;
  if (options_.clock) {
    policy.clock = options_.clock;
  } else if (options_.sleep || options_.now) {
    policy.clock = net::MakeFunctionClock(options_.sleep, options_.now);
  }
  policy.shared_governor = options_.governor;
  policy.shared_breaker = options_.breaker;
  requester_ = std::make_unique<net::AccountRequester>(std::move(policy));
}

std::string FreshdeskClient::UrlFor(const std::string& path_and_query) const {
  std::string path = path_and_query;
  while (!path.empty() && path.front() == '/') path.erase(path.begin());
  return api_base_ + "/" + path;
}

Result<FreshdeskPage> FreshdeskClient::Get(const std::string& path_and_query) {
  std::string path = path_and_query;
  while (!path.empty() && path.front() == '/') path.erase(path.begin());
  FreshdeskError details;
  auto page = Fetch(api_base_ + "/" + path, path, &details);
  last_error_ = std::move(details);
  return page;
}

namespace {

// `absolute_url` relative to the API base when it is on the base's origin; nullopt otherwise.
std::optional<std::string> SameOriginPath(const std::string& api_base, const std::string& absolute_url) {
  auto base = net::ParseUrl(api_base);
  auto target = net::ParseUrl(absolute_url);
  if (!base || !target || net::Origin(*base) != net::Origin(*target)) return std::nullopt;
  std::string what = absolute_url;
  if (what.rfind(api_base + "/", 0) == 0) what = what.substr(api_base.size() + 1);
  return what;
}

Status ForeignLink(const std::string& api_base, const std::string& url) {
  return InvalidArgument("Freshdesk returned a next-page link outside " + api_base + ": '" + url +
                         "'; not following it");
}

}  // namespace

Result<FreshdeskPage> FreshdeskClient::GetUrl(const std::string& absolute_url) {
  last_error_ = FreshdeskError{};
  auto what = SameOriginPath(api_base_, absolute_url);
  if (!what) return Error(ForeignLink(api_base_, absolute_url));
  FreshdeskError details;
  auto page = Fetch(absolute_url, *what, &details);
  last_error_ = std::move(details);
  return page;
}

Result<FreshdeskPage> FreshdeskClient::Fetch(const std::string& url, const std::string& what,
                                             FreshdeskError* details, bool item_texts) {
  net::HttpRequest request;
  request.method = "GET";
  request.url = url;
  request.headers.emplace_back("Accept", "application/json");
  request.basic_auth = api_key_ + ":X";
  request.timeout = options_.request_timeout;

  FreshdeskPage page;
  net::ResponseReader reader;
  reader.classify = [&](const Result<net::HttpResponse>& response) -> Status {
    *details = FreshdeskError{};
    if (!response) {
      // Defence in depth: the key must never travel in a message, whatever the transport said.
      const Status& error = response.error();
      std::string message = log::MaskSecret(error.message(), api_key_);
      details->description = message;
      return Status(error.code(), message);
    }
    if (response->status >= 200 && response->status < 300) return Status::Ok();
    Status status = ClassifyFreshdeskError(*response, what, details);
    if (details->page_cap) {
      status = InvalidArgument(std::string(kPageCapMarker) + " (HTTP 400 on " + what + "): " + status.message());
    }
    return status;
  };
  reader.take = [&](net::HttpResponse& response) -> Status {
    page = FreshdeskPage{};
    auto body = ParseJsonText(response.body, item_texts ? &page.item_texts : nullptr);
    if (!body) return Unavailable("malformed JSON from " + what + ": " + body.error().message());
    page.body = std::move(*body);
    page.next_url = ParseNextLink(response.Header("link"));
    page.rate = ReadFreshdeskRateHeaders(response);
    return Status::Ok();
  };
  net::SendOutcome outcome = requester_->Send(http_, request, FreshdeskRequestTicket(what), what, reader);
  if (!outcome.ok()) return Error(requester_->Explain(outcome));
  return page;
}

void FreshdeskClient::RunParallel(size_t count, const std::function<void(size_t)>& task) {
  requests_.Run(count, http_.IsThreadSafe() ? static_cast<size_t>(max_concurrent_) : 1, task);
}

std::vector<Result<FreshdeskPage>> FreshdeskClient::GetMany(const std::vector<std::string>& paths_and_queries) {
  std::vector<Result<FreshdeskPage>> results(paths_and_queries.size(),
                                             Error(Internal("request not run")));
  std::atomic<bool> unauthenticated{false};
  std::mutex fatal_mu;
  Status fatal;
  RunParallel(paths_and_queries.size(), [&](size_t i) {
    if (unauthenticated.load()) {
      std::lock_guard<std::mutex> lock(fatal_mu);
      results[i] = Error(fatal);
      return;
    }
    std::string path = paths_and_queries[i];
    while (!path.empty() && path.front() == '/') path.erase(path.begin());
    FreshdeskError details;
    results[i] = Fetch(api_base_ + "/" + path, path, &details);
    if (!results[i] && results[i].error().code() == StatusCode::kUnauthenticated) {
      std::lock_guard<std::mutex> lock(fatal_mu);
      fatal = results[i].error();
      unauthenticated = true;
    }
  });
  return results;
}

Result<std::vector<ApiItem>> FreshdeskClient::FetchAllPages(const std::string& path_and_query) {
  std::string path = path_and_query;
  while (!path.empty() && path.front() == '/') path.erase(path.begin());
  std::vector<ApiItem> items;
  std::string url = api_base_ + "/" + path;
  std::string what = path;
  while (true) {
    FreshdeskError details;
    ASSIGN_OR_RETURN(FreshdeskPage page, Fetch(url, what, &details, /*item_texts=*/true));
    if (!page.body.is_array()) {
      return Error(Unavailable("expected a JSON array from " + what + ", got " +
                               std::string(page.body.type_name())));
    }
    const bool sliced = page.item_texts.size() == page.body.size();
    for (size_t i = 0; i < page.body.size(); ++i) {
      items.push_back({std::move(page.body[i]), sliced ? std::move(page.item_texts[i]) : std::string()});
    }
    if (page.next_url.empty()) return items;
    auto next = SameOriginPath(api_base_, page.next_url);
    if (!next) return Error(ForeignLink(api_base_, page.next_url));
    url = page.next_url;
    what = *next;
  }
}

Result<std::vector<ApiItem>> FreshdeskClient::GetAllPages(const std::string& path_and_query) {
  return FetchAllPages(path_and_query);
}

std::vector<Result<std::vector<ApiItem>>> FreshdeskClient::GetAllPagesMany(
    const std::vector<std::string>& paths_and_queries) {
  std::vector<Result<std::vector<ApiItem>>> results(paths_and_queries.size(), Error(Internal("request not run")));
  std::atomic<bool> unauthenticated{false};
  std::mutex fatal_mu;
  Status fatal;
  RunParallel(paths_and_queries.size(), [&](size_t i) {
    if (unauthenticated.load()) {
      std::lock_guard<std::mutex> lock(fatal_mu);
      results[i] = Error(fatal);
      return;
    }
    results[i] = FetchAllPages(paths_and_queries[i]);
    if (!results[i] && results[i].error().code() == StatusCode::kUnauthenticated) {
      std::lock_guard<std::mutex> lock(fatal_mu);
      fatal = results[i].error();
      unauthenticated = true;
    }
  });
  return results;
}

Result<std::string> ResolveFreshdeskApiBase(const Config& config) {
  const FreshdeskSettings settings = FreshdeskSettings::FromConfig(config);
  if (settings.api_key.empty()) {
    return Error(InvalidArgument("no Freshdesk API key: set FRESHDESK_API_KEY or --api-key"));
  }
  if (!settings.base_url.empty()) {
    return net::ApiBaseFromOverride(settings.base_url, config.allowed_hosts, {"Freshdesk", "--base-url, FRESHDESK_BASE_URL",
                                                                           "FRESHDESK_BASE_URL",
                                                                           "FRESHDESK_DOMAIN for a real Freshdesk account"});
  }
  if (!settings.domain.empty()) {
    std::string domain = ToLower(Trim(settings.domain));
    for (const char* prefix : {"https://", "http://"}) {
      if (domain.rfind(prefix, 0) == 0) domain.erase(0, std::string(prefix).size());
    }
    while (!domain.empty() && domain.back() == '/') domain.pop_back();
    const std::string suffix = ".freshdesk.com";
    if (domain.size() > suffix.size() &&
        domain.compare(domain.size() - suffix.size(), suffix.size(), suffix) == 0) {
      domain.erase(domain.size() - suffix.size());
    }
    bool valid = !domain.empty() && domain.front() != '-' && domain.back() != '-';
    for (char c : domain) {
      valid = valid && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
    }
    if (!valid) {
      return Error(
          InvalidArgument("FRESHDESK_DOMAIN '" + settings.domain +
                          "' is not a Freshdesk subdomain: use 'acme' or 'acme.freshdesk.com' (custom "
                          "helpdesk domains do not serve the API)"));
    }
    return "https://" + domain + ".freshdesk.com/api/v2";
  }
  return Error(
      InvalidArgument("no Freshdesk account: set FRESHDESK_DOMAIN or --domain "
                      "(or FRESHDESK_BASE_URL / --base-url)"));
}

std::string PortalUrlFromApiBase(const std::string& api_base) {
  std::string url = api_base;
  while (!url.empty() && url.back() == '/') url.pop_back();
  const std::string suffix = "/api/v2";
  if (url.size() >= suffix.size() && url.compare(url.size() - suffix.size(), suffix.size(), suffix) == 0) {
    url.erase(url.size() - suffix.size());
  }
  return url;
}

}  // namespace deskpipe::freshdesk
