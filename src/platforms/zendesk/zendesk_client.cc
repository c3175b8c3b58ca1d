#include "platforms/zendesk/zendesk_client.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <utility>
#include <vector>

#include "core/json_text.h"
#include "core/log.h"
#include "net/url.h"
#include "platforms/zendesk/zendesk_settings.h"

namespace deskpipe::zendesk {
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

bool AllDigits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::optional<std::chrono::milliseconds> ZendeskRetryAfter(const net::HttpResponse& response) {
  auto seconds = ParseInt(response.Header("retry-after"));
  if (!seconds || *seconds < 0) return std::nullopt;
  return std::chrono::seconds(*seconds);
}

// §4: X-Rate-Limit / X-Rate-Limit-Remaining on every response; each request costs 1.
net::RateHeaders ReadZendeskRateHeaders(const net::HttpResponse& response) {
  net::RateHeaders rate;
  rate.total = ParseInt(response.Header("x-rate-limit"));
  rate.remaining = ParseInt(response.Header("x-rate-limit-remaining"));
  if (rate.total) rate.used_current_request = 1;
  return rate;
}

std::string BodyString(const nlohmann::json& body, const char* key) {
  if (!body.is_object()) return "";
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

}  // namespace

void ApplyConfigToClientOptions(const Config& config, ZendeskClientOptions* options) {
  if (!options->max_concurrent_requests) options->max_concurrent_requests = config.max_concurrent_requests;
  if (!options->api_budget_share) options->api_budget_share = config.api_budget_share;
  if (!options->circuit_wait_max)
    options->circuit_wait_max = std::chrono::seconds(config.unreachable_timeout);
}

std::optional<int64_t> ZendeskSubLimit(const std::string& bucket, int64_t /*total*/) {
  if (bucket == "incremental_exports") return kExportCallsPerWindow;
  return std::nullopt;
}

net::RequestTicket ZendeskRequestTicket(const std::string& path_and_query) {
  std::string path = path_and_query.substr(0, path_and_query.find('?'));
  while (!path.empty() && path.front() == '/') path.erase(path.begin());
  std::string templ;
  for (size_t pos = 0; pos <= path.size();) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    std::string segment = path.substr(pos, slash - pos);
    templ += (pos > 0 ? "/" : "") + (AllDigits(segment) ? std::string("{id}") : segment);
    pos = slash + 1;
  }
  net::RequestTicket ticket;
  ticket.cost_key = "GET " + templ;
  if (templ.rfind("incremental/", 0) == 0 || templ.rfind("help_center/incremental/", 0) == 0) {
    ticket.bucket = "incremental_exports";
  }
  return ticket;
}

Status ClassifyZendeskError(const net::HttpResponse& response, const std::string& what) {
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  std::string summary = BodyString(body, "error");
  if (std::string description = BodyString(body, "description"); !description.empty()) {
    summary += (summary.empty() ? "" : ": ") + description;
  }
  if (summary.empty()) {
    std::string text = Trim(response.body.substr(0, 120));
    std::replace_if(
        text.begin(), text.end(), [](unsigned char c) { return c < ' '; }, ' ');
    summary = text.empty() ? "empty body" : "non-JSON body: " + text;
  }
  const std::string status_text = "HTTP " + std::to_string(response.status);
  switch (response.status) {
    case 400:
      return InvalidArgument("Zendesk rejected " + what + " (" + status_text + "): " + summary);
    case 401:
      return Unauthenticated(
          "Zendesk rejected the credentials (HTTP 401): check ZENDESK_EMAIL / ZENDESK_API_TOKEN "
          "(--email, --api-token)");
    case 403:
      return PermissionDenied("Zendesk denied " + what + " (" + status_text + "): " + summary);
    case 404:
      return NotFound("Zendesk has no " + what + " (" + status_text + ")");
    case 429: {
      auto wait = ZendeskRetryAfter(response);
      Status status =
          RateLimited("Zendesk rate limit reached on " + what + " (HTTP 429, Retry-After " +
                      (wait ? std::to_string(wait->count() / 1000) + "s" : std::string("absent")) + ")");
      if (wait) status.set_retry_after(*wait);
      return status;
    }
    default:
      break;
  }
  if (response.status >= 500) {
    return Unavailable("Zendesk server error on " + what + " (" + status_text + "): " + summary);
  }
  return Internal("unexpected response to " + what + " (" + status_text + "): " + summary);
}

ZendeskClient::ZendeskClient(std::string api_base, std::string email, std::string api_token,
                             net::HttpClient& http, ZendeskClientOptions options)
    : api_base_(std::move(api_base)),
      email_(std::move(email)),
      api_token_(std::move(api_token)),
      http_(http),
      options_(std::move(options)) {
  while (!api_base_.empty() && api_base_.back() == '/') api_base_.pop_back();
  double share = options_.api_budget_share.value_or(1.0);
  if (!(share > 0) || share > 1) share = 1.0;

  net::AccountPolicy policy;
  policy.account = options_.clock ? "" : api_base_;  // a test's own clock gets a private governor and breaker
  policy.base_url = api_base_;
  policy.read_rate_headers = &ReadZendeskRateHeaders;
  policy.read_retry_after = &ZendeskRetryAfter;
  policy.retry.max_attempts = std::max(options_.max_attempts, 1);
  policy.retry.backoff_base = options_.backoff_base;
  policy.retry.backoff_max = options_.backoff_max;
  policy.retry.default_retry_after = options_.default_retry_after;
  policy.retry.retry_after_jitter = options_.retry_after_jitter;
  policy.max_rate_limited_attempts = std::max(options_.max_rate_limited_attempts, 1);
  policy.budget.budget_share = share;
  policy.budget.max_in_flight = std::clamp(options_.max_concurrent_requests.value_or(4), 1, 64);
  policy.budget.window = options_.rate_window;
  policy.budget.bucket_limit = &ZendeskSubLimit;
  net::CircuitBreakerOptions breaker;
  policy.breaker = breaker;
  policy.unreachable_timeout = options_.circuit_wait_max.value_or(std::chrono::minutes(10));
  policy.clock = options_.clock;
  requester_ = std::make_unique<net::AccountRequester>(std::move(policy));
}

Result<nlohmann::json> ZendeskClient::Get(const std::string& path_and_query) {
  std::string path = path_and_query;
  while (!path.empty() && path.front() == '/') path.erase(path.begin());
  return Fetch(api_base_ + "/" + path, path);
}

Result<nlohmann::json> ZendeskClient::GetUrl(const std::string& absolute_url) {
  auto base = net::ParseUrl(api_base_);
  auto target = net::ParseUrl(absolute_url);
  if (!base || !target || net::Origin(*base) != net::Origin(*target)) {
    return Error(InvalidArgument("Zendesk returned a next-page link outside " + api_base_ + ": '" +
                                 absolute_url + "'; not following it"));
  }
  std::string what = absolute_url;
  if (what.rfind(api_base_ + "/", 0) == 0) what = what.substr(api_base_.size() + 1);
  return Fetch(absolute_url, what);
}

Result<nlohmann::json> ZendeskClient::Fetch(const std::string& url, const std::string& what) {
  net::HttpRequest request;
  request.method = "GET";
  request.url = url;
  request.headers.emplace_back("Accept", "application/json");
  request.basic_auth = email_ + "/token:" + api_token_;
  request.timeout = options_.request_timeout;

  nlohmann::json body;
  net::ResponseReader reader;
  reader.classify = [&](const Result<net::HttpResponse>& response) -> Status {
    if (!response) {
      // The token must never travel in a message, whatever the transport said.
      const Status& error = response.error();
      return Status(error.code(), log::MaskSecret(error.message(), api_token_));
    }
    if (response->status >= 200 && response->status < 300) return Status::Ok();
    return ClassifyZendeskError(*response, what);
  };
  reader.take = [&](net::HttpResponse& response) -> Status {
    auto parsed = ParseJsonText(response.body);
    if (!parsed) return Unavailable("malformed JSON from " + what + ": " + parsed.error().message());
    if (!parsed->is_object()) return Unavailable("expected a JSON object from " + what);
    body = std::move(*parsed);
    return Status::Ok();
  };
  net::SendOutcome outcome = requester_->Send(http_, request, ZendeskRequestTicket(what), what, reader);
  if (!outcome.ok()) return Error(requester_->Explain(outcome));
  return body;
}

Result<std::string> ResolveZendeskApiBase(const Config& config) {
  const ZendeskSettings settings = ZendeskSettings::FromConfig(config);
  if (settings.email.empty()) {
    return Error(InvalidArgument("no Zendesk agent email: set ZENDESK_EMAIL or --email"));
  }
  if (settings.api_token.empty()) {
    return Error(InvalidArgument("no Zendesk API token: set ZENDESK_API_TOKEN or --api-token"));
  }
  if (!settings.base_url.empty()) {
    return net::ApiBaseFromOverride(settings.base_url, config.allowed_hosts, {"Zendesk", "--zendesk-base-url, ZENDESK_BASE_URL",
                                                                           "ZENDESK_BASE_URL",
                                                                           "ZENDESK_SUBDOMAIN for a real Zendesk account"});
  }
  if (!settings.subdomain.empty()) {
    std::string name = ToLower(Trim(settings.subdomain));
    for (const char* prefix : {"https://", "http://"}) {
      if (name.rfind(prefix, 0) == 0) name.erase(0, std::string(prefix).size());
    }
    while (!name.empty() && name.back() == '/') name.pop_back();
    const std::string suffix = ".zendesk.com";
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      name.erase(name.size() - suffix.size());
    }
    bool valid = !name.empty() && name.front() != '-' && name.back() != '-';
    for (char c : name) valid = valid && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
    if (!valid) {
      return Error(InvalidArgument("ZENDESK_SUBDOMAIN '" + settings.subdomain +
                                   "' is not a Zendesk subdomain: use 'acme' or 'acme.zendesk.com'"));
    }
    return "https://" + name + ".zendesk.com/api/v2";
  }
  return Error(InvalidArgument(
      "no Zendesk account: set ZENDESK_SUBDOMAIN or --subdomain (or ZENDESK_BASE_URL / --zendesk-base-url)"));
}

std::string AccountUrlFromApiBase(const std::string& api_base) {
  std::string url = api_base;
  while (!url.empty() && url.back() == '/') url.pop_back();
  const std::string suffix = "/api/v2";
  if (url.size() >= suffix.size() && url.compare(url.size() - suffix.size(), suffix.size(), suffix) == 0) {
    url.erase(url.size() - suffix.size());
  }
  return url;
}

}  // namespace deskpipe::zendesk
