// The Zendesk emulator's HTTP layer: serves an Account as the Zendesk Support and Help Center APIs under
// /api/v2 on a loopback port (cpp-httplib) — API-token auth, the incremental exports (cursor-based for
// tickets and users, time-based for ticket events, organizations and the rest), comments with cursor
// pagination, deleted tickets, attachment downloads, per-plan rate limits with Zendesk's headers and
// Retry-After, and the API's error bodies. README.md in this folder lists every endpoint; docs/zendesk-api.md
// gives the sources.
//
// Usage (tests start it in-process on port 0):
//   auto account = std::make_shared<const Account>(*GenerateAccount({.seed = 1, .tickets = 50, .now = t}));
//   EmulatorServer server(account, ServerOptions{}); if (Status s = server.Start(); !s.ok()) …;
//   … requests to server.base_url() + "/api/v2/incremental/tickets/cursor.json?start_time=0" … server.Stop();
//
// Thread-safety: Start/Stop/port/base_url from one controlling thread; requests are served concurrently by a
// thread pool reading immutable snapshots; a timeline step builds a new snapshot and swaps it in atomically.
// Lifetime: the destructor stops the server and joins its threads.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "account.h"
#include "core/status.h"
#include "timeline.h"

namespace deskpipe::zendesk_emulator {

// Requests per minute of a Zendesk plan (Support and Help Center API), and of the incremental exports.
struct RatePlan {
  int per_minute = 700;
  int exports_per_minute = 10;
};
// team 200, growth 400, professional 400, enterprise 700, enterprise-plus 2500; exports 10 (30 with
// `high_volume`, which also lifts the account to 2500). InvalidArgument for another name.
Result<RatePlan> PlanLimits(const std::string& plan, bool high_volume);

// Fault classes --faults can inject in front of the API.
enum FaultClass : unsigned {
  kFault5xx = 1u << 0,       // 500 JSON or 502/503 HTML, like a proxy
  kFaultSlow = 1u << 1,      // the response is delayed by `slow_ms`
  kFault429Storm = 1u << 2,  // this and the next 4 requests get 429 with Retry-After: 1
};
// "5xx,slow,429storm" → mask; InvalidArgument names an unknown class.
Result<unsigned> ParseFaultClasses(const std::string& list);

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0 picks a free one
  // The API token credentials: HTTP Basic "{email}/token:{api_token}".
  std::string email = "admin@brightline.example";
  std::string api_token = "demo-token";
  RatePlan plan;
  // When false the rate-limit headers count down but nothing is refused (unthrottled benchmarks).
  bool enforce_rate_limit = false;
  // Length of a rate-limit "minute" (shortened by tests); Retry-After and ratelimit-reset are real seconds.
  std::chrono::milliseconds rate_limit_window{60'000};
  double fault_rate = 0;
  unsigned fault_classes = 0;
  uint64_t fault_seed = 42;
  int slow_ms = 1500;
  std::vector<TimelineStep> timeline;  // POST /_emulator/timeline/next applies them in order
  int threads = 16;
  int keep_alive_timeout_seconds = 2;
};

class EmulatorServer {
 public:
  EmulatorServer(std::shared_ptr<const Account> account, ServerOptions options);
  ~EmulatorServer();
  EmulatorServer(const EmulatorServer&) = delete;
  EmulatorServer& operator=(const EmulatorServer&) = delete;

  // Binds and serves on background threads. Unavailable if the address cannot be bound; InvalidArgument if
  // already started.
  Status Start();
  // Stops accepting, finishes in-flight requests, joins the threads. Idempotent.
  void Stop();

  // The current account snapshot (what /_emulator/truth shows).
  std::shared_ptr<const Account> account() const;
  int port() const;
  // "http://127.0.0.1:PORT": the account root; the API lives under base_url() + "/api/v2".
  std::string base_url() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace deskpipe::zendesk_emulator
