#include "platforms/freshdesk/freshdesk_client.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <thread>
#include <utility>

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

struct UrlParts {
  std::string scheme;  // lower-cased
  std::string host;    // lower-cased, without IPv6 brackets
  std::string port;    // "" when absent
  std::string rest;    // path + query, starting with '/' or empty
};

std::optional<UrlParts> ParseUrl(const std::string& url) {
  size_t sep = url.find("://");
  if (sep == std::string::npos || sep == 0) return std::nullopt;
  UrlParts parts;
  parts.scheme = ToLower(url.substr(0, sep));
  size_t authority_begin = sep + 3;
  size_t authority_end = url.find_first_of("/?#", authority_begin);
  if (authority_end == std::string::npos) authority_end = url.size();
  std::string authority = url.substr(authority_begin, authority_end - authority_begin);
  parts.rest = url.substr(authority_end);
  if (authority.find('@') != std::string::npos) return std::nullopt;  // no userinfo in URLs we accept
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) return std::nullopt;
    parts.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return std::nullopt;
      parts.port = authority.substr(close + 2);
    }
  } else {
    size_t colon = authority.rfind(':');
    if (colon != std::string::npos) {
      parts.host = authority.substr(0, colon);
      parts.port = authority.substr(colon + 1);
    } else {
      parts.host = authority;
    }
  }
  parts.host = ToLower(parts.host);
  if (parts.host.empty()) return std::nullopt;
  for (char c : parts.port) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  return parts;
}

std::string Origin(const UrlParts& p) {
  std::string port = p.port;
  if (port.empty()) port = p.scheme == "https" ? "443" : "80";
  return p.scheme + "://" + p.host + ":" + port;
}

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1") return true;
  // 127.0.0.0/8 as a dotted quad.
  int octets = 0;
  size_t pos = 0;
  int first = -1;
  while (pos <= host.size()) {
    size_t dot = host.find('.', pos);
    if (dot == std::string::npos) dot = host.size();
    std::string part = host.substr(pos, dot - pos);
    auto value = ParseInt(part);
    if (part.empty() || part.size() > 3 || !value || *value > 255 ||
        !std::all_of(part.begin(), part.end(), [](unsigned char c) { return std::isdigit(c); })) {
      return false;
    }
    if (octets == 0) first = static_cast<int>(*value);
    ++octets;
    pos = dot + 1;
  }
  return octets == 4 && first == 127;
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

FreshdeskClient::FreshdeskClient(std::string api_base, std::string api_key, net::HttpClient& http,
                                 FreshdeskClientOptions options)
    : api_base_(std::move(api_base)),
      api_key_(std::move(api_key)),
      http_(http),
      options_(std::move(options)),
      rng_(std::random_device{}()) {
  while (!api_base_.empty() && api_base_.back() == '/') api_base_.pop_back();
  if (options_.max_attempts < 1) options_.max_attempts = 1;
}

void FreshdeskClient::Sleep(std::chrono::milliseconds wait) {
  if (wait.count() <= 0) return;
  if (options_.sleep) {
    options_.sleep(wait);
  } else {
    std::this_thread::sleep_for(wait);
  }
}

std::chrono::steady_clock::time_point FreshdeskClient::Now() const {
  return options_.now ? options_.now() : std::chrono::steady_clock::now();
}

Result<FreshdeskPage> FreshdeskClient::Get(const std::string& path_and_query) {
  std::string path = path_and_query;
  while (!path.empty() && path.front() == '/') path.erase(path.begin());
  return Fetch(api_base_ + "/" + path, path);
}

Result<FreshdeskPage> FreshdeskClient::GetUrl(const std::string& absolute_url) {
  last_error_ = FreshdeskError{};
  auto base = ParseUrl(api_base_);
  auto target = ParseUrl(absolute_url);
  if (!base || !target || Origin(*base) != Origin(*target)) {
    return Error(InvalidArgument("Freshdesk returned a next-page link outside " + api_base_ + ": '" +
                                 absolute_url + "'; not following it"));
  }
  std::string what = absolute_url;
  if (what.rfind(api_base_ + "/", 0) == 0) what = what.substr(api_base_.size() + 1);
  return Fetch(absolute_url, what);
}

Result<FreshdeskPage> FreshdeskClient::Fetch(const std::string& url, const std::string& what) {
  Status last;
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    auto page = FetchOnce(url, what);
    if (page) return page;
    last = page.error();
    if (attempt == options_.max_attempts) break;
    if (last.code() == StatusCode::kRateLimited) {
      Sleep(last.retry_after().value_or(options_.default_retry_after));
    } else if (last.code() == StatusCode::kUnavailable) {
      auto base = options_.backoff_base * (int64_t{1} << (attempt - 1));
      std::uniform_int_distribution<int64_t> jitter(0, std::max<int64_t>(base.count() / 2, 0));
      Sleep(base + std::chrono::milliseconds(jitter(rng_)));
    } else {
      break;
    }
  }
  if (last.code() == StatusCode::kRateLimited || last.code() == StatusCode::kUnavailable) {
    if (options_.max_attempts > 1) {
      last = last.WithContext("gave up after " + std::to_string(options_.max_attempts) + " attempts");
    }
  }
  return Error(last);
}

Result<FreshdeskPage> FreshdeskClient::FetchOnce(const std::string& url, const std::string& what) {
  last_error_ = FreshdeskError{};
  if (options_.rate_limit_delay > 0 && last_request_) {
    auto spacing = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::duration<double>(options_.rate_limit_delay));
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Now() - *last_request_);
    if (elapsed < spacing) Sleep(spacing - elapsed);
  }
  last_request_ = Now();

  net::HttpRequest request;
  request.method = "GET";
  request.url = url;
  request.headers.emplace_back("Accept", "application/json");
  request.basic_auth = api_key_ + ":X";
  request.timeout = options_.request_timeout;

  auto response = http_.Send(request);
  if (!response) {
    Status error = response.error();
    std::string message = error.message();
    // Defence in depth: the key must never travel in a message, whatever the transport said.
    if (!api_key_.empty()) {
      for (size_t p = message.find(api_key_); p != std::string::npos; p = message.find(api_key_, p)) {
        message.replace(p, api_key_.size(), "***");
      }
    }
    last_error_.description = message;
    return Error(Status(error.code(), message));
  }
  if (response->status < 200 || response->status >= 300) {
    return Error(ClassifyFreshdeskError(*response, what, &last_error_));
  }

  FreshdeskPage page;
  try {
    page.body = nlohmann::json::parse(response->body);
  } catch (const nlohmann::json::parse_error& e) {
    return Error(Unavailable("malformed JSON from " + what + ": " + e.what()));
  }
  page.next_url = ParseNextLink(response->Header("link"));
  page.rate.total = ParseInt(response->Header("x-ratelimit-total"));
  page.rate.remaining = ParseInt(response->Header("x-ratelimit-remaining"));
  page.rate.used_current_request = ParseInt(response->Header("x-ratelimit-used-currentrequest"));
  return page;
}

Result<std::string> ResolveFreshdeskApiBase(const Config& config) {
  if (config.freshdesk_api_key.empty()) {
    return Error(InvalidArgument("no Freshdesk API key: set FRESHDESK_API_KEY or --api-key"));
  }
  if (!config.freshdesk_base_url.empty()) {
    std::string url = Trim(config.freshdesk_base_url);
    auto parts = ParseUrl(url);
    if (!parts || (parts->scheme != "http" && parts->scheme != "https")) {
      return Error(InvalidArgument("FRESHDESK_BASE_URL '" + url +
                                   "' is not an http(s) URL like http://127.0.0.1:8080"));
    }
    bool allowed = IsLoopbackHost(parts->host);
    for (const auto& host : config.allowed_hosts) {
      if (ToLower(Trim(host)) == parts->host) allowed = true;
    }
    if (!allowed) {
      return Error(InvalidArgument("FRESHDESK_BASE_URL host '" + parts->host +
                                   "' is not loopback and not listed in DESKPIPE_ALLOWED_HOSTS; add it there "
                                   "or use FRESHDESK_DOMAIN for a real Freshdesk account"));
    }
    size_t query = url.find_first_of("?#", url.find("://") + 3);
    if (query != std::string::npos) url.erase(query);
    while (!url.empty() && url.back() == '/') url.pop_back();
    const std::string suffix = "/api/v2";
    if (url.size() < suffix.size() || url.compare(url.size() - suffix.size(), suffix.size(), suffix) != 0) {
      url += suffix;
    }
    return url;
  }
  if (!config.freshdesk_domain.empty()) {
    std::string domain = ToLower(Trim(config.freshdesk_domain));
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
          InvalidArgument("FRESHDESK_DOMAIN '" + config.freshdesk_domain +
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
