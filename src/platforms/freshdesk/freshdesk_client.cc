#include "platforms/freshdesk/freshdesk_client.h"

#include <algorithm>
#include <cctype>
#include <atomic>
#include <charconv>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "core/json_text.h"
#include "core/log.h"
#include "core/time.h"
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

// The older sleep/now injection as a Clock: `sleep` does not move `now`, so the time slept is added to it.
class FunctionClock : public net::Clock {
 public:
  FunctionClock(std::function<void(std::chrono::milliseconds)> sleep,
                std::function<std::chrono::steady_clock::time_point()> now)
      : sleep_(std::move(sleep)), now_(std::move(now)) {}

  TimePoint Now() override {
    TimePoint base = now_ ? now_() : std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lock(mu_);
    return base + slept_;
  }
  void SleepFor(std::chrono::milliseconds wait) override {
    if (wait.count() <= 0) return;
    if (sleep_) {
      sleep_(wait);
      std::lock_guard<std::mutex> lock(mu_);
      slept_ += wait;
    } else {
      std::this_thread::sleep_for(wait);
    }
  }
  void WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
               std::chrono::milliseconds wait) override {
    if (!sleep_) {
      if (wait.count() > 0) cv.wait_for(lock, wait);
      return;
    }
    lock.unlock();
    SleepFor(wait);
    lock.lock();
  }

 private:
  std::function<void(std::chrono::milliseconds)> sleep_;
  std::function<std::chrono::steady_clock::time_point()> now_;
  std::mutex mu_;
  std::chrono::milliseconds slept_{0};
};

// One governor and one breaker per account (api_base) in the process, alive while a client holds them.
template <typename T>
std::shared_ptr<T> SharedPerAccount(const std::string& account, const std::function<std::shared_ptr<T>()>& make) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<T>> registry;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = registry[account];
  if (auto existing = slot.lock()) return existing;
  auto created = make();
  slot = created;
  return created;
}

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

FreshdeskClient::FreshdeskClient(std::string api_base, std::string api_key, net::HttpClient& http,
                                 FreshdeskClientOptions options)
    : api_base_(std::move(api_base)),
      api_key_(std::move(api_key)),
      http_(http),
      options_(std::move(options)),
      rng_(std::random_device{}()) {
  while (!api_base_.empty() && api_base_.back() == '/') api_base_.pop_back();
  if (auto parts = net::ParseUrl(api_base_)) {
    const std::string host = parts->host.find(':') != std::string::npos ? "[" + parts->host + "]" : parts->host;
    host_port_ = host + ":" + (!parts->port.empty() ? parts->port : parts->scheme == "https" ? "443" : "80");
  } else {
    host_port_ = api_base_;
  }
  if (options_.max_attempts < 1) options_.max_attempts = 1;
  outage_limit_ = std::max<std::chrono::milliseconds>(options_.circuit_wait_max.value_or(std::chrono::minutes(10)),
                                                      std::chrono::milliseconds(0));
  retry_.max_attempts = options_.max_attempts;
  // A client told not to retry (max_attempts 1) does not retry a 429 either.
  rate_limited_attempts_ = options_.max_rate_limited_attempts > 0 ? options_.max_rate_limited_attempts
                           : options_.max_attempts == 1       ? 1
                                                               : std::max(options_.max_attempts, 10);
  retry_.backoff_base = options_.backoff_base;
  retry_.backoff_max = options_.backoff_max;
  retry_.default_retry_after = options_.default_retry_after;
  retry_.retry_after_jitter = options_.retry_after_jitter;
  max_concurrent_ = std::clamp(options_.max_concurrent_requests.value_or(4), 1, kMostConcurrentRequests);
  double share = options_.api_budget_share.value_or(1.0);
  if (!(share > 0) || share > 1) share = 1.0;

  const bool injected_time = options_.clock || options_.sleep || options_.now;
  if (options_.clock) {
    clock_ = options_.clock;
  } else if (options_.sleep || options_.now) {
    clock_ = std::make_shared<FunctionClock>(options_.sleep, options_.now);
  } else {
    clock_ = net::SystemClock();
  }

  auto make_governor = [&]() {
    net::RateGovernorOptions g;
    g.budget_share = share;
    g.max_in_flight = max_concurrent_;
    g.min_spacing = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::duration<double>(std::max(options_.rate_limit_delay, 0.0)));
    g.window = options_.rate_window;
    g.bucket_limit = &FreshdeskSubLimit;
    g.clock = clock_;
    return std::make_shared<net::RateGovernor>(std::move(g));
  };
  auto make_breaker = [&]() {
    net::CircuitBreakerOptions b;
    b.failure_threshold = options_.circuit_failure_threshold;
    b.open_for = options_.circuit_open_for;
    b.max_open_for = std::max(options_.circuit_open_for * 10, options_.circuit_open_for);
    b.clock = clock_;
    return std::make_shared<net::CircuitBreaker>(std::move(b));
  };
  if (options_.governor) {
    governor_ = options_.governor;
  } else if (injected_time) {
    governor_ = make_governor();
  } else {
    governor_ = SharedPerAccount<net::RateGovernor>(api_base_, make_governor);
  }
  if (options_.breaker) {
    breaker_ = options_.breaker;
  } else if (injected_time) {
    breaker_ = make_breaker();
  } else {
    breaker_ = SharedPerAccount<net::CircuitBreaker>(api_base_, make_breaker);
  }
}

std::string FreshdeskClient::UrlFor(const std::string& path_and_query) const {
  std::string path = path_and_query;
  while (!path.empty() && path.front() == '/') path.erase(path.begin());
  return api_base_ + "/" + path;
}

std::chrono::milliseconds FreshdeskClient::Backoff(int attempt, const Status& error) {
  std::lock_guard<std::mutex> lock(rng_mu_);
  return retry_.Backoff(attempt, error, rng_);
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
  Status last;
  int sent = 0;
  int transient_failures = 0;
  int rate_limited = 0;
  for (;;) {
    if (Status over = OutageOver(what); !over.ok()) return Error(over);
    net::CircuitBreaker::Admission admission;
    Status gate = breaker_->Allow(what, &admission);
    if (!gate.ok()) {
      // Open: wait for the half-open probe until the account's outage bound (every waiting request comes
      // back; one becomes the probe, the others are refused again until it succeeds).
      if (outage_limit_.count() <= 0) return Error(gate);
      const auto since = breaker_->open_since().value_or(clock_->Now());
      const auto deadline = since + outage_limit_;
      ReportOutage(deadline);
      auto wait = gate.retry_after().value_or(options_.circuit_open_for);
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_->Now());
      wait = std::max(std::min(wait, left), std::chrono::milliseconds(1));
      clock_->SleepFor(wait);
      continue;
    }
    *details = FreshdeskError{};
    ++sent;
    auto page = FetchOnce(url, what, details, item_texts);
    if (page) {
      breaker_->RecordSuccess(admission);
      return page;
    }
    last = page.error();
    // Only transient failures say the server is unwell; a 4xx or a 429 is an answer.
    if (last.code() == StatusCode::kUnavailable) {
      breaker_->RecordFailure(admission, FailureCause(last, *details));
    } else {
      breaker_->RecordSuccess(admission);
    }
    if (!net::RetryPolicy::IsRetryable(last.code())) break;
    if (last.code() == StatusCode::kRateLimited) {
      // A 429 is the server pacing the account, not a failure of this request: it has its own, larger
      // allowance, so a burst of 429s (another app on the account, a storm) does not exhaust the attempts
      // meant for 5xx and resets. The governor already paused the account: the next Acquire waits it out.
      if (++rate_limited >= rate_limited_attempts_) break;
      continue;
    }
    if (++transient_failures >= options_.max_attempts) {
      // During an outage the account's bound decides, not this request's attempts (OutageOver). A server
      // that answered before and now fails a lone request gets the attempts that open the breaker; one
      // never reached (a wrong URL, a dead port) fails after max_attempts.
      if (outage_limit_.count() > 0 && breaker_->open_since()) continue;
      if (outage_limit_.count() <= 0 || !breaker_->ever_answered() ||
          transient_failures >= breaker_->failure_threshold()) {
        break;
      }
    }
    clock_->SleepFor(Backoff(transient_failures, last));
  }
  if (sent > 1 && (last.code() == StatusCode::kRateLimited || last.code() == StatusCode::kUnavailable)) {
    last = last.WithContext("gave up after " + std::to_string(sent) + " attempts");
  }
  if (last.code() == StatusCode::kUnavailable) {
    last = last.WithContext(host_port_ + " " + FailureCause(last, *details));
  }
  return Error(last);
}

std::string FreshdeskClient::FailureCause(const Status& error, const FreshdeskError& details) const {
  if (details.http_status >= 500) return "answers HTTP " + std::to_string(details.http_status);
  if (details.http_status == 0 && error.message().find(" failed (") != std::string::npos) {
    return net::DescribeTransportFailure(error.message());
  }
  return "sends unusable responses";
}

namespace {

// "06:12:05 UTC" for a point of `clock`'s time, through the wall clock.
std::string WallTimeOfDay(net::Clock& clock, net::Clock::TimePoint at) {
  const auto wall = std::chrono::system_clock::now() +
                    std::chrono::duration_cast<std::chrono::system_clock::duration>(at - clock.Now());
  const std::string stamp = FormatTimestamp(std::chrono::system_clock::to_time_t(wall));  // …THH:MM:SSZ
  const size_t t = stamp.find('T');
  return (t == std::string::npos ? stamp : stamp.substr(t + 1, 8)) + " UTC";
}

std::string SecondsText(std::chrono::milliseconds ms) {
  return std::to_string((ms.count() + 999) / 1000) + " s";
}

}  // namespace

Status FreshdeskClient::OutageOver(const std::string& what) {
  if (outage_limit_.count() <= 0) return Status::Ok();
  const auto since = breaker_->open_since();
  if (!since || clock_->Now() < *since + outage_limit_) return Status::Ok();
  std::string cause = breaker_->last_cause();
  if (cause.empty()) cause = "fails requests";
  return Unavailable(host_port_ + " " + cause + ": the circuit breaker is open since " +
                     WallTimeOfDay(*clock_, *since) + ", longer than unreachable_timeout (" +
                     SecondsText(outage_limit_) + "); not sending " + what);
}

void FreshdeskClient::ReportOutage(net::Clock::TimePoint deadline) {
  if (!breaker_->TakeReportTurn(options_.outage_report_interval)) return;
  std::string cause = breaker_->last_cause();
  if (cause.empty()) cause = "fails requests";
  const std::string until = WallTimeOfDay(*clock_, deadline);
  log::Warn(host_port_ + " " + cause + "; circuit open, retrying until " + until,
            {{"host", host_port_}, {"cause", cause}, {"until", until}});
}

Result<FreshdeskPage> FreshdeskClient::FetchOnce(const std::string& url, const std::string& what,
                                                 FreshdeskError* details, bool item_texts) {
  net::RateGovernor::Permit permit = governor_->Acquire(FreshdeskRequestTicket(what));

  net::HttpRequest request;
  request.method = "GET";
  request.url = url;
  request.headers.emplace_back("Accept", "application/json");
  request.basic_auth = api_key_ + ":X";
  request.timeout = options_.request_timeout;

  auto response = http_.Send(request);
  if (!response) {
    permit.Complete(net::ResponseCredits{});  // may have reached the server: keep the reservation
    Status error = response.error();
    std::string message = error.message();
    // Defence in depth: the key must never travel in a message, whatever the transport said.
    if (!api_key_.empty()) {
      for (size_t p = message.find(api_key_); p != std::string::npos; p = message.find(api_key_, p)) {
        message.replace(p, api_key_.size(), "***");
      }
    }
    details->description = message;
    return Error(Status(error.code(), message));
  }
  RateHeaders rate;
  rate.total = ParseInt(response->Header("x-ratelimit-total"));
  rate.remaining = ParseInt(response->Header("x-ratelimit-remaining"));
  rate.used_current_request = ParseInt(response->Header("x-ratelimit-used-currentrequest"));
  if (response->status < 200 || response->status >= 300) {
    Status status = ClassifyFreshdeskError(*response, what, details);
    std::optional<std::chrono::milliseconds> pause;
    // The whole account is out: pause every request of it (Retry-After + jitter), not only this one.
    if (status.code() == StatusCode::kRateLimited) pause = Backoff(1, status);
    permit.Complete(net::ResponseCredits{rate.total, rate.remaining, rate.used_current_request, true, pause});
    if (details->page_cap) {
      status = InvalidArgument(std::string(kPageCapMarker) + " (HTTP 400 on " + what + "): " + status.message());
    }
    return Error(status);
  }
  permit.Complete(net::ResponseCredits{rate.total, rate.remaining, rate.used_current_request, true, {}});

  FreshdeskPage page;
  auto body = ParseJsonText(response->body, item_texts ? &page.item_texts : nullptr);
  if (!body) return Error(Unavailable("malformed JSON from " + what + ": " + body.error().message()));
  page.body = std::move(*body);
  page.next_url = ParseNextLink(response->Header("link"));
  page.rate = rate;
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
    std::string url = Trim(settings.base_url);
    auto parts = net::ParseUrl(url);
    if (!parts || (parts->scheme != "http" && parts->scheme != "https")) {
      return Error(InvalidArgument("FRESHDESK_BASE_URL '" + url +
                                   "' is not an http(s) URL like http://127.0.0.1:8080"));
    }
    bool allowed = net::IsLoopbackHost(parts->host);
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
