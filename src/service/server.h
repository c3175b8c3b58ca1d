// `deskpipe serve`: the ingestion service a support copilot's backend calls. Tenants (each its own helpdesk
// account, its API key sealed at rest), one active ingest job per tenant with live status and an event stream,
// search, dead letters, Prometheus metrics, an OpenAPI document and a small web console — JSON over HTTP
// (cpp-httplib), every part built through the composition root (app::App) like the CLI's verbs.
//
// Auth: `Authorization: Bearer <token>`. The admin token may do everything; a tenant's token only its own
// tenant's routes; another tenant's resources answer 404 as if they did not exist. Tokens are compared by
// hash in constant time. The events route also takes `?access_token=` (a browser's EventSource cannot send
// headers).
// Thread-safety: Run() blocks the calling thread and serves on a pool; Stop() may be called from any thread
// (a signal watcher). Lifetime: a Server owns its catalog, job manager and metrics; Stop() lets running jobs
// commit their batch in hand, then Run() returns.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/config.h"
#include "core/status.h"

namespace deskpipe::service {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                     // 0 ⇒ a free port
  int jobs = 2;                        // syncs this worker runs at once, across tenants
  std::string worker_id;               // this worker in the fleet sharing the catalog; empty ⇒ "host:pid"
  int http_threads = 64;               // connections served at once (event streams hold one each)
  std::string admin_token;             // empty ⇒ none (allowed only with insecure_no_auth on loopback)
  bool insecure_no_auth = false;       // every request is admin: loopback only
  std::string master_key_hex;          // DESKPIPE_MASTER_KEY; empty ⇒ master_key_file
  std::string master_key_file;         // empty ⇒ {data_dir}/master.key, created 0600 when missing
  double requests_per_second = 50;     // per token (or per client address without one); 0 ⇒ no limit
  double burst = 100;
  std::chrono::milliseconds job_tick{1000};
  std::chrono::milliseconds lease{30000};  // a claimed job's lease (--lease-seconds), renewed every third
  // The server's settings as the config loader reads them (data directory, store, allowlist, embedder, …);
  // each tenant's Config is these plus the tenant's own.
  ConfigSources sources;
};

class Server {
 public:
  // Checks the options (auth, listen address, master key), opens the catalog and starts the jobs.
  static Result<std::unique_ptr<Server>> Create(ServerOptions options);
  ~Server();

  // Binds, calls `listening(port)` once bound, then serves until Stop(). InvalidArgument when the address
  // cannot be bound.
  Result<void> Run(const std::function<void(int port)>& listening);
  // Stops accepting, lets running jobs commit their batch in hand and stop (they resume on the next start).
  void Stop();

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace deskpipe::service
