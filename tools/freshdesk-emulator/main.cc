// freshdesk-emulator: serves a deterministic synthetic Freshdesk account over Freshdesk API v2 on loopback.
// The first stdout line is "listening on http://127.0.0.1:PORT"; runs until SIGINT/SIGTERM, then exits 0.
// --describe prints a JSON summary of the generated data instead of serving.

#include <pthread.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

#include "core/time.h"
#include "generator.h"
#include "render.h"
#include "server.h"

namespace {

using deskpipe::emulator::EmulatorServer;
using deskpipe::emulator::GeneratorOptions;
using deskpipe::emulator::ServerOptions;

int Run(int argc, char** argv) {
  CLI::App app{"Freshdesk API v2 emulator: a synthetic helpdesk served on 127.0.0.1 under /api/v2"};
  int port = 0;
  std::string api_key = "demo-key";
  uint64_t seed = 42;
  int tickets = 200;
  std::string now_text;
  bool describe = false;
  app.add_option("--port", port, "TCP port on 127.0.0.1; 0 picks a free one")->check(CLI::Range(0, 65535));
  app.add_option("--api-key", api_key, "the API key clients must send as the HTTP Basic username");
  app.add_option("--seed", seed, "seed of the synthetic data (same seed + tickets + now => same data)");
  app.add_option("--tickets", tickets, "number of tickets to generate")
      ->check(CLI::Range(0, deskpipe::emulator::kMaxTickets));
  app.add_option("--now", now_text, "the helpdesk's current time, e.g. 2026-11-24T00:00:00Z (default: now)");
  app.add_flag("--describe", describe, "print a JSON summary of the generated data and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help or the error
    return code == 0 ? 0 : 2;      // usage errors exit 2, like other configuration errors
  }
  if (api_key.empty()) {
    std::fprintf(stderr, "freshdesk-emulator: --api-key must not be empty\n");
    return 2;
  }

  GeneratorOptions options;
  options.seed = seed;
  options.tickets = tickets;
  options.now = deskpipe::NowUnixSeconds();
  if (!now_text.empty()) {
    deskpipe::Result<int64_t> now = deskpipe::ParseTimestamp(now_text);
    if (!now) {
      std::fprintf(stderr, "freshdesk-emulator: --now: %s\n", now.error().message().c_str());
      return 2;
    }
    options.now = *now;
  }
  deskpipe::Result<deskpipe::emulator::Helpdesk> helpdesk = deskpipe::emulator::GenerateHelpdesk(options);
  if (!helpdesk) {
    std::fprintf(stderr, "freshdesk-emulator: %s\n", helpdesk.error().ToString().c_str());
    return 2;
  }
  if (describe) {
    std::printf("%s\n", deskpipe::emulator::Dump(deskpipe::emulator::DescribeHelpdesk(*helpdesk)).c_str());
    return 0;
  }

  // Block the stop signals before any thread starts so every thread inherits the mask; this thread then waits
  // for them synchronously.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  ServerOptions server_options;
  server_options.port = port;
  server_options.api_key = api_key;
  EmulatorServer server(std::make_shared<const deskpipe::emulator::Helpdesk>(std::move(*helpdesk)),
                        server_options);
  if (deskpipe::Status started = server.Start(); !started.ok()) {
    std::fprintf(stderr, "freshdesk-emulator: %s\n", started.ToString().c_str());
    return 1;
  }
  std::printf("listening on %s\n", server.base_url().c_str());
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  server.Stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
