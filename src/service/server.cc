#include "service/server.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <vector>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "app/app.h"
#include "app/config_sections.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/time.h"
#include "embed/embedder_factory.h"
#include "net/url.h"
#include "service/assets.h"
#include "service/catalog.h"
#include "service/job_manager.h"
#include "service/metrics.h"
#include "service/secrets.h"
#include "service/tenant_settings.h"

namespace deskpipe::service {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr size_t kBodyLimit = 1 << 20;

// Who is calling: the admin, one tenant, or nobody authenticated.
struct Caller {
  enum class Role { kNone, kAdmin, kTenant } role = Role::kNone;
  std::string tenant_id;  // kTenant
  std::string limit_key;  // the rate limiter's bucket: the token's hash, else the client address
};

// What a route needs from the caller.
enum class Access { kPublic, kAdmin, kTenant /* its own tenant, or the admin */ };

struct Param {
  const char* name;
  const char* in;  // "path" | "query"
  const char* type;  // "string" | "integer" | "boolean"
  bool required;
  const char* description;
};

// One request being served and who sent it.
struct Exchange {
  const httplib::Request& req;
  httplib::Response& res;
  Caller caller;
};

// Per request, on the thread that serves it (httplib serves a request start to end on one thread): what the
// access log and the metrics need once the response is written.
struct RequestContext {
  Clock::time_point start;
  std::string route;
  std::string tenant;
  bool active = false;
  bool counted = false;  // in the metrics already: a routed request is counted before its response is sent
};
thread_local RequestContext request_context;

void SendJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void SendError(httplib::Response& res, int status, std::string_view code, std::string_view message,
               std::string_view field = {}) {
  json error = {{"code", code}, {"message", message}};
  if (!field.empty()) error["field"] = field;
  SendJson(res, status, {{"error", error}});
}

// The HTTP status for a failed call into the app.
int HttpStatusFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kBusy: return 409;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied: return 502;  // the helpdesk refused the tenant's credentials
    default: return 500;
  }
}

std::string CodeFor(int status) {
  switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 409: return "conflict";
    case 413: return "payload_too_large";
    case 415: return "unsupported_media_type";
    case 429: return "rate_limited";
    case 502: return "helpdesk_refused";
    case 503: return "unavailable";
    default: return "internal";
  }
}

// A token bucket per key.
class RateLimiter {
 public:
  RateLimiter(double per_second, double burst) : per_second_(per_second), burst_(std::max(1.0, burst)) {}
  // 0 when allowed, else the seconds to wait.
  double Take(const std::string& key) {
    if (per_second_ <= 0) return 0;
    std::lock_guard lock(mutex_);
    const Clock::time_point now = Clock::now();
    auto [it, inserted] = buckets_.try_emplace(key, Bucket{burst_, now});
    Bucket& bucket = it->second;
    bucket.tokens = std::min(
        burst_, bucket.tokens + per_second_ * std::chrono::duration<double>(now - bucket.at).count());
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    if (buckets_.size() > 100000) buckets_.clear();  // bounded memory under a flood of new keys
    return (1 - bucket.tokens) / per_second_;
  }

 private:
  struct Bucket {
    double tokens;
    Clock::time_point at;
  };
  double per_second_;
  double burst_;
  std::mutex mutex_;
  std::map<std::string, Bucket> buckets_;
};


}  // namespace

struct Server::Impl {
  ServerOptions options;
  Config base;  // the server's own settings (data dir, store, logging, allowlist)
  std::optional<SecretBox> box;
  std::string admin_hash;
  std::unique_ptr<Catalog> catalog;
  Metrics metrics;
  std::unique_ptr<JobManager> jobs;
  RateLimiter limiter;
  httplib::Server http;
  std::atomic<bool> stopping{false};

  std::mutex tokens_mutex;
  std::map<std::string, std::string> tenant_by_token_hash;

  std::mutex embedders_mutex;
  std::map<std::string, std::shared_ptr<Embedder>> search_embedders;  // by embedder name

  struct Route {
    const char* method;
    const char* path;  // OpenAPI form: /api/tenants/{tenant_id}
    const char* summary;
    Access access;
    std::vector<Param> params;
    bool json_body;
    void (Impl::*handler)(Exchange&);
    std::regex pattern;
  };
  std::vector<Route> routes;

  explicit Impl(ServerOptions opts)
      : options(std::move(opts)), limiter(options.requests_per_second, options.burst) {}

  // --- set-up -----------------------------------------------------------------------------------------------

  void DeclareRoutes();
  void Install();
  json OpenApi() const;

  // --- auth and plumbing ------------------------------------------------------------------------------------

  Caller Authenticate(const httplib::Request& req, bool allow_query_token) {
    Caller caller;
    caller.limit_key = "addr:" + req.remote_addr;
    if (options.insecure_no_auth) {
      caller.role = Caller::Role::kAdmin;
      return caller;
    }
    std::string token;
    const std::string header = req.get_header_value("Authorization");
    if (header.rfind("Bearer ", 0) == 0) {
      token = header.substr(7);
    } else if (allow_query_token && req.has_param("access_token")) {
      token = req.get_param_value("access_token");
    }
    if (token.empty()) return caller;
    const std::string hash = HashToken(token);
    caller.limit_key = hash;
    if (!admin_hash.empty() && ConstantTimeEqual(hash, admin_hash)) {
      caller.role = Caller::Role::kAdmin;
      return caller;
    }
    std::lock_guard lock(tokens_mutex);
    if (auto it = tenant_by_token_hash.find(hash); it != tenant_by_token_hash.end()) {
      caller.role = Caller::Role::kTenant;
      caller.tenant_id = it->second;
    }
    return caller;
  }

  // The tenant a route names (path or query `tenant_id`, or the JSON body's), checked against the caller: a
  // tenant token on another tenant's resource gets the same 404 as a tenant that does not exist.
  std::optional<TenantRecord> ResolveTenant(Exchange& ex, const std::string& tenant_id) {
    if (tenant_id.empty()) {
      SendError(ex.res, 400, "bad_request", "tenant_id is required", "tenant_id");
      return std::nullopt;
    }
    request_context.tenant = tenant_id;
    if (ex.caller.role == Caller::Role::kTenant && ex.caller.tenant_id != tenant_id) {
      SendError(ex.res, 404, "not_found", fmt::format("no tenant {}", tenant_id));
      return std::nullopt;
    }
    auto tenant = catalog->GetTenant(tenant_id);
    if (!tenant) {
      SendError(ex.res, 500, "internal", tenant.error().message());
      return std::nullopt;
    }
    if (!*tenant) {
      SendError(ex.res, 404, "not_found", fmt::format("no tenant {}", tenant_id));
      return std::nullopt;
    }
    return **tenant;
  }

  // The query's tenant_id, else the JSON body's.
  static std::string TenantParam(Exchange& ex, const json* body = nullptr) {
    if (ex.req.has_param("tenant_id")) return ex.req.get_param_value("tenant_id");
    if (body != nullptr && body->is_object() && body->contains("tenant_id") &&
        (*body)["tenant_id"].is_string()) {
      return (*body)["tenant_id"].get<std::string>();
    }
    return "";
  }

  Result<Config> ConfigFor(const TenantRecord& tenant) { return TenantConfig(options.sources, tenant, *box); }

  // Search reuses one loaded model per embedder name: loading USE-lite per request would cost most of it.
  // Made under the lock: concurrent first searches load the model once, not once each.
  Result<std::unique_ptr<Embedder>> SearchEmbedder(const Config& config) {
    std::lock_guard lock(embedders_mutex);
    auto it = search_embedders.find(config.embedder);
    if (it == search_embedders.end()) {
      ASSIGN_OR_RETURN(auto made, MakeEmbedder(config));
      it = search_embedders.emplace(config.embedder, std::shared_ptr<Embedder>(std::move(made))).first;
    }
    return metrics.TimedEmbedder(it->second);
  }

  app::AppHooks JobHooks(const std::string& tenant_id) {
    return {.wrap_http = [this, tenant_id](std::unique_ptr<net::HttpClient> inner) {
              return metrics.CountingHttp(tenant_id, std::move(inner));
            },
            .make_embedder = [this](const Config& config) -> Result<std::unique_ptr<Embedder>> {
              ASSIGN_OR_RETURN(auto embedder, MakeEmbedder(config));
              return metrics.TimedEmbedder(std::move(embedder));
            }};
  }

  void IndexToken(const TenantRecord& tenant) {
    std::lock_guard lock(tokens_mutex);
    std::erase_if(tenant_by_token_hash, [&](const auto& entry) { return entry.second == tenant.tenant_id; });
    if (!tenant.token_hash.empty()) tenant_by_token_hash[tenant.token_hash] = tenant.tenant_id;
  }

  void RefreshSchedules() {
    if (auto tenants = catalog->ListTenants()) jobs->TenantsChanged(std::move(*tenants));
  }

  // The body as JSON, or a 400/415 already sent.
  std::optional<json> ReadJsonBody(Exchange& ex, bool required) {
    if (ex.req.body.empty()) {
      if (required) {
        SendError(ex.res, 400, "bad_request", "a JSON body is required");
        return std::nullopt;
      }
      return json::object();
    }
    const std::string type = ex.req.get_header_value("Content-Type");
    if (type.rfind("application/json", 0) != 0) {
      SendError(ex.res, 415, "unsupported_media_type",
                fmt::format("the body must be application/json, not \"{}\"", type.substr(0, 100)));
      return std::nullopt;
    }
    json body = json::parse(ex.req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) {
      // Say where: nlohmann's parser reports the byte offset.
      try {
        const json reparsed = json::parse(ex.req.body);
      } catch (const json::parse_error& error) {
        SendError(ex.res, 400, "malformed_json",
                  fmt::format("the body is not valid JSON (at byte {})", error.byte));
        return std::nullopt;
      }
      SendError(ex.res, 400, "malformed_json", "the body is not valid JSON");
      return std::nullopt;
    }
    if (!body.is_object()) {
      SendError(ex.res, 400, "bad_request", "the body must be a JSON object");
      return std::nullopt;
    }
    return body;
  }

  // An integer query parameter in [lo, hi], or `fallback` when absent; nullopt with a 400 sent when bad.
  std::optional<int> IntParam(Exchange& ex, const char* name, int fallback, int lo, int hi) {
    if (!ex.req.has_param(name)) return fallback;
    const std::string text = ex.req.get_param_value(name);
    try {
      size_t used = 0;
      const long value = std::stol(text, &used);
      if (used == text.size() && value >= lo && value <= hi) return static_cast<int>(value);
    } catch (...) {
    }
    SendError(ex.res, 400, "bad_request", fmt::format("{} must be an integer from {} to {}", name, lo, hi),
              name);
    return std::nullopt;
  }

  // --- handlers ---------------------------------------------------------------------------------------------

  void Health(Exchange& ex) { SendJson(ex.res, 200, {{"status", "ok"}}); }

  void Ready(Exchange& ex) {
    if (stopping) return SendError(ex.res, 503, "unavailable", "the server is shutting down");
    auto tenants = catalog->ListTenants();
    if (!tenants)
      return SendError(ex.res, 503, "unavailable",
                       "the store is not reachable: " + tenants.error().message());
    SendJson(ex.res, 200,
             {{"status", "ready"}, {"tenants", tenants->size()}, {"running_jobs", jobs->running_jobs()}});
  }

  void MetricsText(Exchange& ex) {
    ex.res.status = 200;
    ex.res.set_content(metrics.Render(), "text/plain; version=0.0.4; charset=utf-8");
  }

  void OpenApiDoc(Exchange& ex) { SendJson(ex.res, 200, OpenApi()); }

  void Console(Exchange& ex) {
    ex.res.status = 200;
    ex.res.set_header(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:");
    ex.res.set_header("X-Content-Type-Options", "nosniff");
    ex.res.set_content(std::string(ConsoleHtml()), "text/html; charset=utf-8");
  }

  void WhoAmI(Exchange& ex) {
    if (ex.caller.role == Caller::Role::kAdmin) return SendJson(ex.res, 200, {{"role", "admin"}});
    request_context.tenant = ex.caller.tenant_id;
    SendJson(ex.res, 200, {{"role", "tenant"}, {"tenant_id", ex.caller.tenant_id}});
  }

  void ListTenants(Exchange& ex) {
    auto tenants = catalog->ListTenants();
    if (!tenants) return SendError(ex.res, 500, "internal", tenants.error().message());
    json list = json::array();
    for (const TenantRecord& tenant : *tenants) list.push_back(TenantToJson(tenant));
    SendJson(ex.res, 200, {{"tenants", list}});
  }

  void GetTenant(Exchange& ex) {
    auto tenant = ResolveTenant(ex, ex.req.matches[1]);
    if (!tenant) return;
    json out = TenantToJson(*tenant);
    if (auto job = jobs->Current(tenant->tenant_id); job && *job) out["job"] = JobManager::StatusJson(**job);
    SendJson(ex.res, 200, out);
  }

  void PutTenant(Exchange& ex) {
    const std::string tenant_id = ex.req.matches[1];
    request_context.tenant = tenant_id;
    if (auto valid = ValidateTenantId(tenant_id); !valid) {
      return SendError(ex.res, 400, "bad_request", valid.error().message(), "tenant_id");
    }
    auto body = ReadJsonBody(ex, /*required=*/true);
    if (!body) return;
    auto existing = catalog->GetTenant(tenant_id);
    if (!existing) return SendError(ex.res, 500, "internal", existing.error().message());
    auto read = TenantFromRequest(tenant_id, *body, *existing, *box);
    if (auto* error = std::get_if<FieldError>(&read)) {
      return SendError(ex.res, 400, "invalid_field",
                       error->field.empty() ? error->message : error->field + ": " + error->message,
                       error->field);
    }
    TenantRecord tenant = std::get<TenantRecord>(std::move(read));
    // The whole tenant through the loader and the platform's own checks (base URL on loopback or the
    // allowlist, …): exactly what `deskpipe sync` would refuse, refused here, before anything is stored or
    // sent.
    auto config = ConfigFor(tenant);
    Status refused = config ? Status() : config.error();
    if (config) {
      if (auto checked = app::App(*config).CheckSource(); !checked) refused = checked.error();
    }
    if (!refused.ok()) {
      const FieldError error =
          PlatformSettingError(tenant, config ? RedactSecrets(*config, refused.message()) : refused.message());
      return SendError(ex.res, 400, "invalid_field", error.message, error.field);
    }
    for (const auto& entry : config->components.entries()) {
      if (entry.secret) {
        if (const auto* text = std::get_if<std::string>(&entry.value); text && !text->empty())
          log::AddSecret(*text);
      }
    }
    const bool created = !existing->has_value();
    std::string token;
    const int64_t now = NowUnixSeconds();
    if (created) {
      token = NewToken();
      tenant.token_hash = HashToken(token);
      tenant.created_at = now;
    }
    tenant.updated_at = now;
    if (auto saved = catalog->PutTenant(tenant); !saved)
      return SendError(ex.res, 500, "internal", saved.error().message());
    IndexToken(tenant);
    RefreshSchedules();
    json out = TenantToJson(tenant);
    if (created) out["token"] = token;  // shown once: only its hash is kept
    log::Info(created ? "tenant created" : "tenant updated", {{"tenant", tenant_id}});
    SendJson(ex.res, created ? 201 : 200, out);
  }

  void DeleteTenant(Exchange& ex) {
    auto tenant = ResolveTenant(ex, ex.req.matches[1]);
    if (!tenant) return;
    jobs->Forget(tenant->tenant_id);
    json removed = nullptr;
    if (auto config = ConfigFor(*tenant)) {
      auto report = app::App(*config).Reset({.wait = true, .command = "deskpipe serve (delete tenant)"});
      if (report) {
        removed = {{"records", report->records}, {"documents", report->documents}, {"chunks", report->chunks},
                   {"vectors", report->vectors}, {"cursors", report->cursors}};
      } else if (report.error().code() != StatusCode::kNotFound) {
        return SendError(ex.res, HttpStatusFor(report.error()), CodeFor(HttpStatusFor(report.error())),
                         report.error().message());
      }
    }
    if (auto deleted = catalog->DeleteTenant(tenant->tenant_id); !deleted) {
      return SendError(ex.res, 500, "internal", deleted.error().message());
    }
    IndexToken(TenantRecord{.tenant_id = tenant->tenant_id});
    RefreshSchedules();
    log::Info("tenant deleted", {{"tenant", tenant->tenant_id}});
    SendJson(ex.res, 200, {{"tenant_id", tenant->tenant_id}, {"deleted", true}, {"removed", removed}});
  }

  void RotateToken(Exchange& ex) {
    auto tenant = ResolveTenant(ex, ex.req.matches[1]);
    if (!tenant) return;
    const std::string token = NewToken();
    tenant->token_hash = HashToken(token);
    tenant->updated_at = NowUnixSeconds();
    if (auto saved = catalog->PutTenant(*tenant); !saved)
      return SendError(ex.res, 500, "internal", saved.error().message());
    IndexToken(*tenant);
    log::Info("tenant token rotated", {{"tenant", tenant->tenant_id}});
    SendJson(ex.res, 200, {{"tenant_id", tenant->tenant_id}, {"token", token}});
  }

  void StartIngest(Exchange& ex) {
    auto body = ReadJsonBody(ex, /*required=*/false);
    if (!body) return;
    auto tenant = ResolveTenant(ex, TenantParam(ex, &*body));
    if (!tenant) return;
    std::string platform = tenant->platform;
    if (ex.req.has_param("platform")) platform = ex.req.get_param_value("platform");
    if (body->contains("platform"))
      platform = (*body)["platform"].is_string() ? (*body)["platform"].get<std::string>() : "";
    if (platform != tenant->platform) {
      return SendError(ex.res, 400, "invalid_field",
                       fmt::format("platform: tenant {} is on {}, not \"{}\"", tenant->tenant_id,
                                   tenant->platform, platform),
                       "platform");
    }
    auto started = jobs->Enqueue(*tenant, "api");
    if (!started)
      return SendError(ex.res, HttpStatusFor(started.error()), CodeFor(HttpStatusFor(started.error())),
                       started.error().message());
    SendJson(ex.res, started->created ? 202 : 200,
             {{"status", started->created ? "started" : "running"},
              {"tenant_id", tenant->tenant_id},
              {"platform", tenant->platform},
              {"task_id", started->job.task_id}});
  }

  void IngestStatus(Exchange& ex) {
    auto tenant = ResolveTenant(ex, TenantParam(ex));
    if (!tenant) return;
    auto job = jobs->Current(tenant->tenant_id);
    if (!job) return SendError(ex.res, 500, "internal", job.error().message());
    if (!*job)
      return SendError(ex.res, 404, "no_job",
                       fmt::format("tenant {} has no ingest job yet", tenant->tenant_id));
    SendJson(ex.res, 200, JobManager::StatusJson(**job));
  }

  void CancelIngest(Exchange& ex) {
    auto tenant = ResolveTenant(ex, TenantParam(ex));
    if (!tenant) return;
    auto job = jobs->Cancel(tenant->tenant_id);
    if (!job) {
      const int status = job.error().code() == StatusCode::kNotFound ? 409 : HttpStatusFor(job.error());
      return SendError(ex.res, status, status == 409 ? "no_active_job" : CodeFor(status),
                       job.error().message());
    }
    SendJson(
        ex.res, 202,
        {{"status", JobStateName(job->state)}, {"tenant_id", tenant->tenant_id}, {"task_id", job->task_id}});
  }

  void IngestEvents(Exchange& ex) {
    auto tenant = ResolveTenant(ex, TenantParam(ex));
    if (!tenant) return;
    const std::string tenant_id = tenant->tenant_id;
    ex.res.status = 200;
    ex.res.set_header("Cache-Control", "no-store");
    ex.res.set_header("X-Accel-Buffering", "no");
    ex.res.set_chunked_content_provider(
        "text/event-stream", [this, tenant_id](size_t, httplib::DataSink& sink) {
          auto send = [&sink](const std::string& text) { return sink.write(text.data(), text.size()); };
          std::string last_state;
          uint64_t seen = 0;
          Clock::time_point last_write = Clock::now();
          Clock::time_point last_progress = Clock::time_point{};
          if (!send("retry: 2000\n\n")) return false;
          while (true) {
            auto job = jobs->Current(tenant_id);
            if (job && *job) {
              const json status = JobManager::StatusJson(**job);
              const std::string state = status["state"];
              const bool terminal = !IsActive((*job)->state);
              if (state != last_state) {
                if (!send("event: state\ndata: " + status.dump() + "\n\n")) return false;
                last_state = state;
                last_write = Clock::now();
              }
              if (!terminal && Clock::now() - last_progress >= std::chrono::milliseconds(900)) {
                if (!send("event: progress\ndata: " + status.dump() + "\n\n")) return false;
                last_progress = last_write = Clock::now();
              }
              if (terminal) {
                sink.done();  // the stream ends after the terminal state
                return true;
              }
            }
            if (stopping || jobs->shutting_down()) {
              send("event: shutdown\ndata: {}\n\n");
              sink.done();
              return true;
            }
            if (Clock::now() - last_write >= std::chrono::seconds(15)) {
              if (!send(": keep-alive\n\n")) return false;
              last_write = Clock::now();
            }
            seen = std::max<uint64_t>(
                1, jobs->WaitForChange(tenant_id, seen, Clock::now() + std::chrono::seconds(1)));
          }
        });
  }

  void ListJobs(Exchange& ex) {
    auto tenant = ResolveTenant(ex, TenantParam(ex));
    if (!tenant) return;
    auto limit = IntParam(ex, "limit", 20, 1, 1000);
    if (!limit) return;
    auto list = catalog->ListJobs(tenant->tenant_id, *limit);
    if (!list) return SendError(ex.res, 500, "internal", list.error().message());
    json out = json::array();
    for (const JobRecord& job : *list) out.push_back(JobManager::StatusJson(job));
    SendJson(ex.res, 200, {{"tenant_id", tenant->tenant_id}, {"jobs", out}});
  }

  // Rate limit, auth, then the route's handler.
  void Handle(const Route& route, const httplib::Request& req, httplib::Response& res) {
    Exchange ex{req, res, Authenticate(req, route.handler == &Impl::IngestEvents)};
    if (const double wait = limiter.Take(ex.caller.limit_key); wait > 0) {
      res.set_header("Retry-After", std::to_string(static_cast<int>(std::ceil(wait))));
      return SendError(res, 429, "rate_limited",
                       "too many requests for this token; retry after the Retry-After seconds");
    }
    if (route.access != Access::kPublic && ex.caller.role == Caller::Role::kNone) {
      res.set_header("WWW-Authenticate", "Bearer");
      return SendError(res, 401, "unauthorized", "a valid token is required (Authorization: Bearer …)");
    }
    if (route.access == Access::kAdmin && ex.caller.role != Caller::Role::kAdmin) {
      return SendError(res, 403, "forbidden", "this route needs the admin token");
    }
    (this->*route.handler)(ex);
  }

  void ListWorkers(Exchange& ex) {
    auto list = catalog->ListWorkers();
    if (!list) return SendError(ex.res, 500, "internal", list.error().message());
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    json out = json::array();
    for (const WorkerRecord& worker : *list) {
      out.push_back({{"worker_id", worker.worker_id},
                     {"host", worker.host},
                     {"pid", worker.pid},
                     {"started_at", FormatTimestamp(worker.started_at / 1000)},
                     {"heartbeat_at", FormatTimestamp(worker.heartbeat_at / 1000)},
                     // A worker silent for a whole lease is gone (its jobs are taken over).
                     {"alive", now - worker.heartbeat_at < options.lease.count()},
                     {"jobs", worker.jobs},
                     {"running", worker.running},
                     {"draining", worker.draining}});
    }
    SendJson(ex.res, 200, {{"this_worker", jobs->worker_id()}, {"workers", out}});
  }

  void DrainWorker(Exchange& ex) {
    const std::string id = ex.req.matches[1];
    auto found = catalog->DrainWorker(id);
    if (!found) return SendError(ex.res, 500, "internal", found.error().message());
    if (!*found) return SendError(ex.res, 404, "not_found", fmt::format("no worker {}", id.substr(0, 200)));
    if (id == jobs->worker_id()) jobs->Drain();  // others see it at their next tick
    log::Info("worker asked to drain", {{"worker", id}});
    SendJson(ex.res, 202, {{"worker_id", id}, {"draining", true}});
  }

  void Search(Exchange& ex) {
    auto tenant = ResolveTenant(ex, TenantParam(ex));
    if (!tenant) return;
    app::SearchRequest request;
    request.text = ex.req.get_param_value("q");
    if (request.text.find_first_not_of(" \t\r\n") == std::string::npos) {
      return SendError(ex.res, 400, "bad_request", "q is required: the text to look for", "q");
    }
    auto top_k = IntParam(ex, "top_k", 10, 1, 100);
    if (!top_k) return;
    auto per_document = IntParam(ex, "per_document", 1, 0, 100);
    if (!per_document) return;
    request.top_k = *top_k;
    request.per_document = *per_document;
    if (ex.req.has_param("mode")) {
      const std::string mode = ex.req.get_param_value("mode");
      std::optional<SearchMode> parsed = ParseSearchMode(mode);
      if (!parsed) {
        return SendError(ex.res, 400, "bad_request",
                         fmt::format("mode must be hybrid, keyword or vector, not \"{}\"", mode), "mode");
      }
      request.mode = *parsed;
    }
    SearchFilters& filters = request.filters;
    const std::pair<const char*, std::vector<std::string>*> lists[] = {
        {"type", &filters.types},   {"status", &filters.statuses}, {"priority", &filters.priorities},
        {"group", &filters.groups}, {"tag", &filters.tags},         {"language", &filters.languages}};
    for (const auto& [name, values] : lists) {
      for (size_t i = 0; i < ex.req.get_param_value_count(name); ++i) {
        const std::string given = ex.req.get_param_value(name, i);
        for (size_t start = 0; start <= given.size();) {
          const size_t comma = std::min(given.find(',', start), given.size());
          std::string value = given.substr(start, comma - start);
          if (value.empty()) {
            return SendError(ex.res, 400, "bad_request", fmt::format("{} has an empty value", name), name);
          }
          values->push_back(std::move(value));
          start = comma + 1;
        }
      }
    }
    const std::pair<const char*, std::string*> bounds[] = {{"created_from", &filters.created_from},
                                                           {"created_to", &filters.created_to},
                                                           {"updated_from", &filters.updated_from},
                                                           {"updated_to", &filters.updated_to}};
    for (const auto& [name, value] : bounds) {
      if (ex.req.has_param(name)) *value = ex.req.get_param_value(name);
    }
    if (ex.req.has_param("public_only")) {
      const std::string flag = ex.req.get_param_value("public_only");
      if (flag != "true" && flag != "false") {
        return SendError(ex.res, 400, "bad_request", "public_only must be true or false", "public_only");
      }
      filters.exclude_private = flag == "true";
    }
    auto config = ConfigFor(*tenant);
    if (!config) return SendError(ex.res, 500, "internal", config.error().message());
    app::App app(*config, {.make_embedder = [this](const Config& c) { return SearchEmbedder(c); }});
    auto hits = app.Search(request);
    if (!hits) {
      const int status = HttpStatusFor(hits.error());
      return SendError(ex.res, status, status == 404 ? "not_synced" : CodeFor(status),
                       RedactSecrets(*config, hits.error().message()));
    }
    json out = json::array();
    for (const SearchHit& hit : *hits) out.push_back(app::HitToJson(hit));
    SendJson(ex.res, 200, {{"tenant_id", tenant->tenant_id}, {"query", request.text}, {"hits", out}});
  }

  void SimilarTickets(Exchange& ex) {
    auto tenant = ResolveTenant(ex, ex.req.matches[1]);
    if (!tenant) return;
    auto top_k = IntParam(ex, "top_k", 5, 1, 50);
    if (!top_k) return;
    auto config = ConfigFor(*tenant);
    if (!config) return SendError(ex.res, 500, "internal", config.error().message());
    app::App app(*config, {.make_embedder = [this](const Config& c) { return SearchEmbedder(c); }});
    auto similar = app.SimilarTickets(ex.req.matches[2], *top_k);
    if (!similar) {
      const int status = HttpStatusFor(similar.error());
      return SendError(ex.res, status, CodeFor(status), RedactSecrets(*config, similar.error().message()));
    }
    json tickets = json::array(), articles = json::array();
    for (const SearchHit& hit : similar->tickets) tickets.push_back(app::HitToJson(hit));
    for (const SearchHit& hit : similar->articles) articles.push_back(app::HitToJson(hit));
    SendJson(ex.res, 200, {{"tenant_id", tenant->tenant_id}, {"ticket_id", std::string(ex.req.matches[2])},
                           {"tickets", tickets}, {"articles", articles}});
  }

  void DeadLetters(Exchange& ex) {
    auto tenant = ResolveTenant(ex, TenantParam(ex));
    if (!tenant) return;
    auto config = ConfigFor(*tenant);
    if (!config) return SendError(ex.res, 500, "internal", config.error().message());
    auto letters = app::App(*config).DeadLetters();
    if (!letters) {
      if (letters.error().code() == StatusCode::kNotFound) {
        return SendJson(ex.res, 200, {{"tenant_id", tenant->tenant_id}, {"dead_letters", json::array()}});
      }
      return SendError(ex.res, HttpStatusFor(letters.error()), CodeFor(HttpStatusFor(letters.error())),
                       letters.error().message());
    }
    json out = json::array();
    for (const StoredDeadLetter& letter : *letters) {
      out.push_back({{"stream", letter.letter.stream},   {"record_id", letter.letter.record_id},
                     {"stage", letter.letter.stage},     {"error_class", letter.letter.error_class},
                     {"message", letter.letter.message}, {"attempts", letter.attempts},
                     {"first_seen", letter.first_seen},  {"last_seen", letter.last_seen}});
    }
    SendJson(ex.res, 200, {{"tenant_id", tenant->tenant_id}, {"dead_letters", out}});
  }

  void RetryDeadLetters(Exchange& ex) {
    auto tenant = ResolveTenant(ex, TenantParam(ex));
    if (!tenant) return;
    if (auto job = jobs->Current(tenant->tenant_id); job && *job && IsActive((*job)->state)) {
      return SendError(ex.res, 409, "conflict",
                       fmt::format("tenant {} has an active job ({}); retry when it ends", tenant->tenant_id,
                                   (*job)->task_id));
    }
    auto config = ConfigFor(*tenant);
    if (!config) return SendError(ex.res, 500, "internal", config.error().message());
    RunnerOptions retry;
    retry.stop = &stopping;
    auto summary = app::App(*config, JobHooks(tenant->tenant_id)).RetryFailed(std::move(retry));
    if (!summary) {
      const int status = HttpStatusFor(summary.error());
      return SendError(ex.res, status, CodeFor(status), RedactSecrets(*config, summary.error().message()));
    }
    SendJson(ex.res, 200, {{"tenant_id", tenant->tenant_id}, {"retry", summary->ToJson()}});
  }
};

// --- routes, their access and their OpenAPI description ------------------------------------------------------

void Server::Impl::DeclareRoutes() {
  const Param tenant_query{"tenant_id", "query", "string", true, "The tenant"};
  const Param tenant_path{"tenant_id", "path", "string", true, "The tenant"};
  routes = {
      {"GET", "/healthz", "The process is up", Access::kPublic, {}, false, &Impl::Health, {}},
      {"GET", "/readyz", "The store is reachable and the server takes work", Access::kPublic, {}, false,
       &Impl::Ready, {}},
      {"GET", "/metrics", "Prometheus metrics (text format)", Access::kAdmin, {}, false, &Impl::MetricsText, {}},
      {"GET", "/openapi.json", "This document", Access::kPublic, {}, false, &Impl::OpenApiDoc, {}},
      {"GET", "/", "The web console", Access::kPublic, {}, false, &Impl::Console, {}},
      {"GET", "/api/whoami", "The caller's role (admin, or a tenant and its id)", Access::kTenant, {}, false,
       &Impl::WhoAmI, {}},
      {"GET", "/api/tenants", "Every tenant (admin)", Access::kAdmin, {}, false, &Impl::ListTenants, {}},
      {"PUT", "/api/tenants/{tenant_id}",
       "Creates or updates a tenant (admin); the first PUT answers its token, once", Access::kAdmin, {tenant_path},
       true, &Impl::PutTenant, {}},
      {"GET", "/api/tenants/{tenant_id}", "A tenant and its current job", Access::kTenant, {tenant_path}, false,
       &Impl::GetTenant, {}},
      {"DELETE", "/api/tenants/{tenant_id}", "Deletes a tenant and its data (admin)", Access::kAdmin,
       {tenant_path}, false, &Impl::DeleteTenant, {}},
      {"POST", "/api/tenants/{tenant_id}/token", "Rotates a tenant's token (admin)", Access::kAdmin, {tenant_path},
       false, &Impl::RotateToken, {}},
      {"POST", "/api/ingest/start", "Starts a sync, or answers the tenant's active one", Access::kTenant,
       {{"tenant_id", "query", "string", false, "The tenant (or in the JSON body)"},
        {"platform", "query", "string", false, "Must be the tenant's platform (default: it)"}},
       false, &Impl::StartIngest, {}},
      {"GET", "/api/ingest/status", "The tenant's active or latest job", Access::kTenant, {tenant_query}, false,
       &Impl::IngestStatus, {}},
      {"POST", "/api/ingest/cancel", "Cancels the tenant's active job after its batch in hand", Access::kTenant,
       {tenant_query}, false, &Impl::CancelIngest, {}},
      {"GET", "/api/ingest/events", "Server-Sent Events: progress, state, keep-alive", Access::kTenant,
       {tenant_query,
        {"access_token", "query", "string", false, "The token, for clients that cannot send headers"}},
       false, &Impl::IngestEvents, {}},
      {"GET", "/api/jobs", "The tenant's jobs, newest first", Access::kTenant,
       {tenant_query, {"limit", "query", "integer", false, "At most this many (1-1000, default 20)"}}, false,
       &Impl::ListJobs, {}},
      {"GET", "/api/search", "Hybrid search of the tenant's tickets and articles", Access::kTenant,
       {tenant_query,
        {"q", "query", "string", true, "What to look for"},
        {"top_k", "query", "integer", false, "Hits (1-100, default 10)"},
        {"type", "query", "string", false, "ticket or article (comma-separated or repeated)"},
        {"status", "query", "string", false, "Only these statuses (comma-separated or repeated)"},
        {"priority", "query", "string", false, "Only these priorities: low, medium, high, urgent"},
        {"group", "query", "string", false, "Only these groups, by name or id"},
        {"tag", "query", "string", false, "Only documents carrying every one of these tags"},
        {"language", "query", "string", false, "Only articles in these languages (en, de, …)"},
        {"created_from", "query", "string", false, "ISO-8601, inclusive"},
        {"created_to", "query", "string", false, "ISO-8601, inclusive"},
        {"updated_from", "query", "string", false, "ISO-8601, inclusive"},
        {"updated_to", "query", "string", false, "ISO-8601, inclusive"},
        {"public_only", "query", "boolean", false, "true: leave out private notes and agent-only articles"},
        {"per_document", "query", "integer", false, "At most this many hits per document (default 1; 0 = no cap)"},
        {"mode", "query", "string", false,
         "hybrid (default: BM25 and vector lists fused by score), keyword or vector (that list alone)"}},
       false, &Impl::Search, {}},
      {"GET", "/api/tenants/{tenant_id}/tickets/{ticket_id}/similar",
       "The tickets most like a ticket (itself excluded) and the articles that best answer it", Access::kTenant,
       {tenant_path, {"ticket_id", "path", "string", true, "The helpdesk's ticket id"},
        {"top_k", "query", "integer", false, "Hits of each kind (1-50, default 5)"}},
       false, &Impl::SimilarTickets, {}},
      {"GET", "/api/workers", "The workers sharing this catalog, their jobs and heartbeats (admin)",
       Access::kAdmin, {}, false, &Impl::ListWorkers, {}},
      {"POST", "/api/workers/{worker_id}/drain",
       "Asks a worker to finish the jobs in hand and claim no new one (admin)", Access::kAdmin,
       {{"worker_id", "path", "string", true, "The worker's id"}}, false, &Impl::DrainWorker, {}},
      {"GET", "/api/dead-letters", "Records that failed for good", Access::kTenant, {tenant_query}, false,
       &Impl::DeadLetters, {}},
      {"POST", "/api/dead-letters/retry", "Reads the dead letters again from the helpdesk", Access::kTenant,
       {tenant_query}, false, &Impl::RetryDeadLetters, {}},
  };
  for (Route& route : routes) {
    const std::string regex = std::regex_replace(route.path, std::regex(R"(\{[a-z_]+\})"), "([^/]+)");
    route.pattern = std::regex(regex);
  }
}

json Server::Impl::OpenApi() const {
  json paths = json::object();
  for (const Route& route : routes) {
    std::string method = route.method;
    std::transform(method.begin(), method.end(), method.begin(), ::tolower);
    json operation = {{"summary", route.summary},
                      {"operationId", std::string(route.method) + " " + route.path},
                      {"responses",
                       {{"200", {{"description", "OK"}}},
                        {"default", {{"description", R"(An error: {"error": {"code", "message"}})"}}}}}};
    if (route.access != Access::kPublic) operation["security"] = json::array({{{"bearer", json::array()}}});
    json parameters = json::array();
    for (const Param& param : route.params) {
      parameters.push_back({{"name", param.name},
                            {"in", param.in},
                            {"required", param.required},
                            {"description", param.description},
                            {"schema", {{"type", param.type}}}});
    }
    if (!parameters.empty()) operation["parameters"] = parameters;
    if (route.json_body) {
      operation["requestBody"] = {{"required", true},
                                  {"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}};
    }
    paths[route.path][method] = operation;
  }
  return {{"openapi", "3.0.3"},
          {"info",
           {{"title", "deskpipe"}, {"version", "1"}, {"description", "Helpdesk ingestion for support copilots"}}},
          {"paths", paths},
          {"components", {{"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}}}};
}

void Server::Impl::Install() {
  http.new_task_queue = [threads = options.http_threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(kBodyLimit);
  http.set_read_timeout(10, 0);   // a client that stalls mid-request is dropped
  http.set_write_timeout(10, 0);  // and one that stops reading
  http.set_keep_alive_timeout(5);
  http.set_keep_alive_max_count(1000);

  http.set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
    request_context = {Clock::now(), "unmatched", "", true};
    // A POST without a body and without Content-Length (`curl -X POST URL`) would make httplib read until the
    // client closes the connection; it is an empty body. The request is the server's own, not a constant.
    if ((req.method == "POST" || req.method == "PUT" || req.method == "PATCH") &&
        !req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) {
      const_cast<httplib::Request&>(req).set_header("Content-Length", "0");
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  for (const Route& route : routes) {
    auto handler = [this, &route](const httplib::Request& req, httplib::Response& res) {
      request_context.route = std::string(route.method) + " " + route.path;
      Handle(route, req, res);
      // Counted before httplib writes the response, so a client reading /metrics right after sees it.
      metrics.HttpRequest(request_context.route, res.status,
                          std::chrono::duration<double>(Clock::now() - request_context.start).count());
      request_context.counted = true;
    };
    const std::string pattern = std::regex_replace(route.path, std::regex(R"(\{[a-z_]+\})"), "([^/]+)");
    const std::string method = route.method;
    if (method == "GET") http.Get(pattern, handler);
    if (method == "PUT") http.Put(pattern, handler);
    if (method == "POST") http.Post(pattern, handler);
    if (method == "DELETE") http.Delete(pattern, handler);
  }
  // Anything else: 405 when the path exists under another method, 404 otherwise.
  auto fallback = [this](const httplib::Request& req, httplib::Response& res) {
    std::set<std::string> allowed;
    for (const Route& route : routes) {
      if (std::regex_match(req.path, route.pattern)) allowed.insert(route.method);
    }
    if (allowed.empty())
      return SendError(res, 404, "not_found", fmt::format("no route {}", req.path.substr(0, 200)));
    std::string allow;
    for (const std::string& method : allowed) allow += (allow.empty() ? "" : ", ") + method;
    res.set_header("Allow", allow);
    SendError(res, 405, "method_not_allowed", fmt::format("{} does not take {} (allowed: {})",
                                                          req.path.substr(0, 200), req.method, allow));
  };
  http.Get(".*", fallback);
  http.Put(".*", fallback);
  http.Post(".*", fallback);
  http.Delete(".*", fallback);
  http.Patch(".*", fallback);
  http.Options(".*", fallback);

  http.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request&, httplib::Response& res) -> httplib::Server::HandlerResponse {
        if (!res.body.empty() || res.is_chunked_content_provider_)
          return httplib::Server::HandlerResponse::Unhandled;
        const std::string message = res.status == 413
                                        ? fmt::format("the body is over the limit of {} bytes", kBodyLimit)
                                        : fmt::format("the request failed (HTTP {})", res.status);
        SendError(res, res.status, CodeFor(res.status), message);
        return httplib::Server::HandlerResponse::Handled;
      }));
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    log::Error("request failed with an exception", {{"error", what}});
    SendError(res, 500, "internal", "internal error");
  });
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    RequestContext context = request_context;
    request_context.active = false;
    const double seconds =
        context.active ? std::chrono::duration<double>(Clock::now() - context.start).count() : 0.0;
    const std::string route = context.active ? context.route : "unmatched";
    if (!context.counted) metrics.HttpRequest(route, res.status, seconds);
    log::Info("http", {{"method", req.method},
                       {"route", route},
                       {"status", res.status},
                       {"duration_ms", std::round(seconds * 10000) / 10},
                       {"tenant", context.tenant}});
  });
}

// --- Server
// ---------------------------------------------------------------------------------------------------

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() {
  Stop();
}

Result<std::unique_ptr<Server>> Server::Create(ServerOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  ServerOptions& opts = impl->options;
  const bool loopback = net::IsLoopbackHost(opts.host);
  if (opts.admin_token.empty() && !opts.insecure_no_auth) {
    return Error(InvalidArgument(
        "no admin token: set DESKPIPE_ADMIN_TOKEN or --admin-token-file (or, on a loopback address only, "
        "--insecure-no-auth)"));
  }
  if (opts.insecure_no_auth && !loopback) {
    return Error(InvalidArgument(
        fmt::format("--insecure-no-auth is allowed only on a loopback address, not {}", opts.host)));
  }
  if (!opts.admin_token.empty()) {
    if (opts.admin_token.size() < 16)
      return Error(InvalidArgument("the admin token must be at least 16 characters"));
    log::AddSecret(opts.admin_token);
    impl->admin_hash = HashToken(opts.admin_token);
  }
  ASSIGN_OR_RETURN(impl->base, app::LoadConfig(opts.sources));
  if (!opts.master_key_hex.empty()) {
    ASSIGN_OR_RETURN(SecretBox box, SecretBox::FromHex(opts.master_key_hex));
    impl->box.emplace(std::move(box));
  } else {
    std::string path = opts.master_key_file;
    if (path.empty()) {
      std::error_code ignored;  // a data directory that cannot be made fails just below, naming the key file
      std::filesystem::create_directories(impl->base.data_dir, ignored);
      path = impl->base.data_dir + "/master.key";
    }
    bool created = false;
    ASSIGN_OR_RETURN(SecretBox box,
                     SecretBox::FromFile(path, /*create=*/opts.master_key_file.empty(), &created));
    impl->box.emplace(std::move(box));
    if (created) {
      log::Warn("created a master key for the tenants' API keys; back it up, or set DESKPIPE_MASTER_KEY",
                {{"path", path}});
    }
  }
  ASSIGN_OR_RETURN(impl->catalog, Catalog::Open(impl->base.EffectiveStoreUrl()));
  ASSIGN_OR_RETURN(auto tenants, impl->catalog->ListTenants());
  for (const TenantRecord& tenant : tenants) {
    impl->IndexToken(tenant);
    // Their keys join the log's redaction list, like the CLI's own.
    for (const auto& [key, sealed] : tenant.sealed_secrets) {
      if (auto secret = impl->box->Open(sealed); secret && !secret->empty()) log::AddSecret(*secret);
    }
  }
  Impl* raw = impl.get();
  impl->jobs = std::make_unique<JobManager>(
      *impl->catalog, impl->metrics,
      [raw](const TenantRecord& tenant, RunnerOptions run) -> Result<RunSummary> {
        ASSIGN_OR_RETURN(Config config, raw->ConfigFor(tenant));
        auto summary = app::App(config, raw->JobHooks(tenant.tenant_id)).Sync(std::move(run));
        if (!summary)
          return Error(Status(summary.error().code(), RedactSecrets(config, summary.error().message())));
        return summary;
      },
      JobManagerOptions{
          .concurrency = opts.jobs, .tick = opts.job_tick, .lease = opts.lease, .owner = opts.worker_id});
  impl->jobs->TenantsChanged(tenants);
  RETURN_IF_ERROR(impl->jobs->Start());
  impl->DeclareRoutes();
  impl->Install();
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Result<void> Server::Run(const std::function<void(int port)>& listening) {
  int port = impl_->options.port;
  if (port == 0) {
    port = impl_->http.bind_to_any_port(impl_->options.host);
    if (port <= 0) return Error(InvalidArgument(fmt::format("cannot listen on {}", impl_->options.host)));
  } else if (!impl_->http.bind_to_port(impl_->options.host, port)) {
    return Error(InvalidArgument(fmt::format("cannot listen on {}:{} (in use, or not an address of this host)",
                                             impl_->options.host, port)));
  }
  if (listening) listening(port);
  log::Info("serving", {{"address", impl_->options.host}, {"port", port}, {"jobs", impl_->options.jobs}});
  impl_->http.listen_after_bind();
  return {};
}

void Server::Stop() {
  if (impl_->stopping.exchange(true)) return;
  log::Info("stopping: no new requests; running jobs stop after their batch in hand");
  impl_->http.stop();
  impl_->jobs->Shutdown();
}

}  // namespace deskpipe::service
