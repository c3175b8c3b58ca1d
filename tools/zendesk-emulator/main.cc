// zendesk-emulator: serves a deterministic synthetic Zendesk account (Support + Help Center) over the Zendesk
// REST API on loopback. The first stdout line is "listening on http://127.0.0.1:PORT"; runs until
// SIGINT/SIGTERM, then exits 0. Usage errors exit 2, a port that cannot be bound 1.

#include <pthread.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

#include "core/time.h"
#include "dataset.h"
#include "generator.h"
#include "server.h"

namespace {

using deskpipe::zendesk_emulator::EmulatorServer;
using deskpipe::zendesk_emulator::ServerOptions;

int Run(int argc, char** argv) {
  CLI::App app{"Zendesk API emulator: a synthetic Support account and Help Center served on 127.0.0.1"};
  int port = 0;
  std::string email = "admin@brightline.example";
  std::string api_token = "demo-token";
  uint64_t seed = 42;
  int tickets = 200;
  std::string now_text;
  std::string plan;
  bool high_volume = false;
  double minute_seconds = 60;
  double fault_rate = 0;
  std::string faults;
  uint64_t fault_seed = 0;
  std::string timeline_path;
  std::string dataset;
  int threads = 16;
  app.add_option("--port", port, "TCP port on 127.0.0.1; 0 picks a free one")->check(CLI::Range(0, 65535));
  app.add_option("--email", email,
                 "the agent email of the API token credentials ({email}/token:{api_token})");
  app.add_option("--api-token", api_token, "the API token clients must send");
  app.add_option("--seed", seed, "seed of the synthetic data (same seed + tickets + now => same data)");
  auto* tickets_option = app.add_option("--tickets", tickets, "number of tickets to generate")
                             ->check(CLI::Range(0, deskpipe::zendesk_emulator::kMaxTickets));
  app.add_option("--now", now_text, "the account's current time, e.g. 2026-11-24T00:00:00Z (default: now)");
  app.add_option("--plan", plan,
                 "enforce a plan's rate limits: team, growth, professional, enterprise, enterprise-plus");
  app.add_flag("--high-volume", high_volume,
               "with --plan: the High Volume API add-on (2500/min, exports 30/min)");
  app.add_option("--minute-seconds", minute_seconds, "length of a rate-limit window in seconds (default 60)")
      ->check(CLI::Range(0.01, 3600.0));
  app.add_option("--fault-rate", fault_rate, "probability of injecting a fault per API request")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--faults", faults, "fault classes: 5xx,slow,429storm");
  auto* seed_option = app.add_option("--fault-seed", fault_seed, "seed of the fault draws (default: --seed)");
  app.add_option("--timeline", timeline_path,
                 "JSON file of scripted changes (POST /_emulator/timeline/next)");
  app.add_option("--dataset", dataset,
                 "tickets and Help Center articles from the real-text sets in DIR (e.g. /work/shared/data); "
                 "--tickets then caps the count");
  app.add_option("--threads", threads, "worker threads (one per open keep-alive connection)")
      ->check(CLI::Range(1, 512));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (email.empty() || api_token.empty()) {
    std::fprintf(stderr, "zendesk-emulator: --email and --api-token must not be empty\n");
    return 2;
  }
  if (high_volume && plan.empty()) {
    std::fprintf(stderr, "zendesk-emulator: --high-volume needs --plan\n");
    return 2;
  }
  deskpipe::zendesk_emulator::GeneratorOptions options{
      .seed = seed, .tickets = tickets, .now = deskpipe::NowUnixSeconds()};
  if (!now_text.empty()) {
    auto now = deskpipe::ParseTimestamp(now_text);
    if (!now) {
      std::fprintf(stderr, "zendesk-emulator: --now: %s\n", now.error().message().c_str());
      return 2;
    }
    options.now = *now;
  }
  auto account = deskpipe::zendesk_emulator::GenerateAccount(options);
  if (account && !dataset.empty()) {
    auto loaded = deskpipe::zendesk_emulator::LoadDataset(&*account, dataset,
                                                          tickets_option->count() > 0 ? tickets : 0, seed);
    if (!loaded) account = deskpipe::Error(loaded.error());
  }
  if (!account) {
    std::fprintf(stderr, "zendesk-emulator: %s\n", account.error().ToString().c_str());
    return 2;
  }

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  ServerOptions server_options;
  server_options.port = port;
  server_options.email = email;
  server_options.api_token = api_token;
  server_options.threads = threads;
  server_options.rate_limit_window =
      std::chrono::milliseconds(static_cast<int64_t>(minute_seconds * 1000.0 + 0.5));
  if (!plan.empty()) {
    auto limits = deskpipe::zendesk_emulator::PlanLimits(plan, high_volume);
    if (!limits) {
      std::fprintf(stderr, "zendesk-emulator: %s\n", limits.error().message().c_str());
      return 2;
    }
    server_options.plan = *limits;
    server_options.enforce_rate_limit = true;
  }
  if (!faults.empty() || fault_rate > 0) {
    unsigned classes = ~0u;
    if (!faults.empty()) {
      auto parsed = deskpipe::zendesk_emulator::ParseFaultClasses(faults);
      if (!parsed) {
        std::fprintf(stderr, "zendesk-emulator: %s\n", parsed.error().message().c_str());
        return 2;
      }
      classes = *parsed;
    }
    server_options.fault_classes = classes;
    server_options.fault_rate = fault_rate > 0 ? fault_rate : 0.05;
  }
  server_options.fault_seed = seed_option->count() > 0 ? fault_seed : seed;
  server_options.slow_ms = std::max(50, static_cast<int>(1500.0 * minute_seconds / 60.0));
  if (!timeline_path.empty()) {
    auto steps = deskpipe::zendesk_emulator::LoadTimeline(timeline_path);
    if (!steps) {
      std::fprintf(stderr, "zendesk-emulator: --timeline: %s\n", steps.error().message().c_str());
      return 2;
    }
    server_options.timeline = std::move(*steps);
  }
  EmulatorServer server(std::make_shared<const deskpipe::zendesk_emulator::Account>(std::move(*account)),
                        server_options);
  if (deskpipe::Status started = server.Start(); !started.ok()) {
    std::fprintf(stderr, "zendesk-emulator: %s\n", started.ToString().c_str());
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
