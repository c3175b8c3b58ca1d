// The emulator's HTTP layer: serves a Helpdesk as Freshdesk API v2 under /api/v2 on a loopback port
// (cpp-httplib), with Freshdesk's auth, paging, Link headers, validation errors and rate-limit headers as
// /work/shared/freshdesk/API.md describes. See README.md in this folder for every endpoint and the behaviours
// chosen where the API reference is uncertain.
//
// Usage (tests start it in-process on port 0):
//   auto helpdesk = std::make_shared<const Helpdesk>(*GenerateHelpdesk({.seed = 1, .tickets = 50, .now =
//   t})); EmulatorServer server(helpdesk, ServerOptions{.api_key = "k"}); if (Status s = server.Start();
//   !s.ok()) …; … requests to server.base_url() + "/api/v2/tickets" … server.Stop();  // or let the
//   destructor do it
//
// Thread-safety: Start/Stop/port/base_url from one controlling thread; requests are served concurrently by a
// thread pool reading immutable snapshots; a timeline step builds a new snapshot and swaps it in atomically.
// Lifetime: the destructor stops the server and joins its
// threads.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "helpdesk.h"
#include "timeline.h"

namespace deskpipe::emulator {

// Fault classes --faults can inject (API.md §5 failure modes a client must survive).
enum FaultClass : unsigned {
  kFault5xx = 1u << 0,       // 500/502/503/504 with a proxy-style HTML or JSON body
  kFaultReset = 1u << 1,     // the TCP connection is reset before any response byte
  kFaultSlow = 1u << 2,      // the response is delayed by `slow_ms`
  kFaultTruncate = 1u << 3,  // headers promise the full body, the connection closes halfway through it
  kFaultMalformed = 1u << 4, // 200 with a body that is not valid JSON
  kFault429Storm = 1u << 5,  // this and the next few requests get 429 with Retry-After: 1
};
// "5xx,reset,slow,truncate,malformed,429storm" → mask; InvalidArgument names an unknown class.
Result<unsigned> ParseFaultClasses(const std::string& list);

// Rate-limit plans of API.md §4: credits per window and the tickets-list / contacts-list sub-limits (calls).
struct RatePlan {
  int total = 0;
  int tickets_list = 0;   // 0 = no sub-limit
  int contacts_list = 0;  // 0 = no sub-limit
};
// trial 50/-/-, growth 200/20/20, pro 400/100/100, enterprise 700/200/200; InvalidArgument otherwise.
Result<RatePlan> PlanLimits(const std::string& plan);

struct ServerOptions {
  // Interface to bind; loopback only is the intended use.
  std::string host = "127.0.0.1";
  // TCP port; 0 picks a free one (read it back with port()).
  int port = 0;
  // The only accepted HTTP Basic username (Freshdesk API key); the password may be anything non-empty.
  std::string api_key = "demo-key";
  // X-RateLimit-Total: credits per window.
  int rate_limit_total = 5000;
  // When true, requests beyond the window's credits (or a sub-limit) get 429 + Retry-After; when false the
  // headers count down but nothing is refused (the default, so unthrottled benchmarks are possible).
  bool enforce_rate_limit = false;
  int tickets_list_limit = 0;   // calls per window to GET /tickets; 0 = none
  int contacts_list_limit = 0;  // calls per window to GET /contacts; 0 = none
  // Length of a rate-limit "minute" (shortened by tests and benchmarks). Attachment URL lifetimes (300 s)
  // scale with it.
  std::chrono::milliseconds rate_limit_window{60'000};
  // Fault injection: probability per /api/v2 request and the classes to choose from (uniformly).
  double fault_rate = 0;
  unsigned fault_classes = 0;
  uint64_t fault_seed = 42;
  int slow_ms = 1500;
  // Steps POST /_emulator/timeline/next applies in order.
  std::vector<TimelineStep> timeline;
  // Key of the attachment URL signatures.
  std::string signing_secret = "emulator-signing-secret";
  // Worker threads serving connections (each keep-alive connection holds one while open).
  int threads = 16;
  // Idle keep-alive connections are closed after this long; also bounds how long Stop() can wait.
  int keep_alive_timeout_seconds = 2;
};

class EmulatorServer {
 public:
  EmulatorServer(std::shared_ptr<const Helpdesk> helpdesk, ServerOptions options);
  ~EmulatorServer();
  EmulatorServer(const EmulatorServer&) = delete;
  EmulatorServer& operator=(const EmulatorServer&) = delete;

  // Binds and starts serving on a background thread. Unavailable if the address cannot be bound;
  // InvalidArgument if already started.
  Status Start();
  // Stops accepting, finishes in-flight requests, joins the threads. Idempotent.
  void Stop();

  // The current helpdesk snapshot (what /_emulator/truth shows).
  std::shared_ptr<const Helpdesk> helpdesk() const;

  // The bound port (0 before Start).
  int port() const;
  // "http://127.0.0.1:PORT" — the helpdesk root; the API lives under base_url() + "/api/v2".
  std::string base_url() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace deskpipe::emulator
