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
// thread pool reading the immutable Helpdesk. Lifetime: the destructor stops the server and joins its
// threads.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/status.h"
#include "helpdesk.h"

namespace deskpipe::emulator {

struct ServerOptions {
  // Interface to bind; loopback only is the intended use.
  std::string host = "127.0.0.1";
  // TCP port; 0 picks a free one (read it back with port()).
  int port = 0;
  // The only accepted HTTP Basic username (Freshdesk API key); the password may be anything non-empty.
  std::string api_key = "demo-key";
  // X-RateLimit-Total: credits per window. Not enforced yet (no 429s); Remaining counts down per window.
  int rate_limit_total = 5000;
  // Length of a rate-limit "minute" (shortened by tests that exercise budgets).
  std::chrono::milliseconds rate_limit_window{60'000};
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

  // The bound port (0 before Start).
  int port() const;
  // "http://127.0.0.1:PORT" — the helpdesk root; the API lives under base_url() + "/api/v2".
  std::string base_url() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace deskpipe::emulator
