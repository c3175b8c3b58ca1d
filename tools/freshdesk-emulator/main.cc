// freshdesk-emulator: serves a deterministic synthetic Freshdesk account over Freshdesk API v2 on loopback.
// The first stdout line is "listening on http://127.0.0.1:PORT"; runs until SIGINT/SIGTERM, then exits 0.
// --describe prints a JSON summary of the generated data instead of serving.

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
  bool full = false;
  bool hostile = false;
  std::string plan;
  int budget = 0;
  double minute_seconds = 60;
  double fault_rate = 0;
  std::string faults;
  uint64_t fault_seed = 0;
  bool fault_seed_set = false;
  std::string timeline_path;
  std::string dataset;
  int dataset_holdout = 0;
  std::string dataset_truth;
  int threads = 16;
  app.add_option("--port", port, "TCP port on 127.0.0.1; 0 picks a free one")->check(CLI::Range(0, 65535));
  app.add_option("--api-key", api_key, "the API key clients must send as the HTTP Basic username");
  app.add_option("--seed", seed, "seed of the synthetic data (same seed + tickets + now => same data)");
  app.add_option("--tickets", tickets, "number of tickets to generate")
      ->check(CLI::Range(0, deskpipe::emulator::kMaxTickets));
  app.add_option("--now", now_text, "the helpdesk's current time, e.g. 2026-11-24T00:00:00Z (default: now)");
  app.add_flag("--describe", describe, "print a JSON summary of the generated data and exit");
  app.add_flag("--full", full,
               "lifecycle data: spam/trashed/archived/hard-deleted tickets, attachments, deleted/blocked contacts, "
               "KB subfolders and fr/de translations");
  app.add_flag("--hostile-attachments", hostile, "with --full: about 1 attachment in 10 is broken or hostile");
  app.add_option("--plan", plan, "enforce a Freshdesk plan's rate limits: trial, growth, pro, enterprise");
  app.add_option("--budget", budget, "enforce this many credits per window (no sub-limits)")->check(CLI::Range(1, 1000000));
  app.add_option("--minute-seconds", minute_seconds, "length of a rate-limit window in seconds (default 60)")
      ->check(CLI::Range(0.01, 3600.0));
  app.add_option("--fault-rate", fault_rate, "probability of injecting a fault per API request")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--faults", faults, "fault classes: 5xx,reset,slow,truncate,malformed,429storm");
  auto* seed_option = app.add_option("--fault-seed", fault_seed, "seed of the fault draws (default: --seed)");
  auto* tickets_option = app.get_option("--tickets");
  app.add_option("--dataset", dataset,
                 "replace the synthetic tickets and KB with the real-text sets in DIR (e.g. /work/shared/data); "
                 "--tickets then caps the count");
  app.add_option("--dataset-holdout", dataset_holdout,
                 "with --dataset: keep this percentage of the dialogs and rows out of the tickets, as queries "
                 "(the same ones every run)")
      ->check(CLI::Range(0, 100));
  app.add_option("--dataset-truth", dataset_truth,
                 "with --dataset: write the ground truth (labels of tickets and articles, the held-out queries) "
                 "to FILE as JSON lines, for bench/retrieval");
  app.add_option("--timeline", timeline_path, "JSON file of scripted changes (POST /_emulator/timeline/next)");
  app.add_option("--threads", threads, "worker threads (one per open keep-alive connection)")
      ->check(CLI::Range(1, 512));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help or the error
    return code == 0 ? 0 : 2;      // usage errors exit 2, like other configuration errors
  }
  fault_seed_set = seed_option->count() > 0;
  if (!plan.empty() && budget > 0) {
    std::fprintf(stderr, "freshdesk-emulator: --plan and --budget are mutually exclusive\n");
    return 2;
  }
  if (api_key.empty()) {
    std::fprintf(stderr, "freshdesk-emulator: --api-key must not be empty\n");
    return 2;
  }

  GeneratorOptions options;
  options.seed = seed;
  options.tickets = tickets;
  options.now = deskpipe::NowUnixSeconds();
  options.full = full && dataset.empty();  // with --dataset the lifecycle data is added after loading
  options.hostile_attachments = hostile;
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
  if (!dataset.empty()) {
    deskpipe::Result<void> loaded =
        deskpipe::emulator::LoadDataset(&*helpdesk, dataset,
                                        {.max_tickets = tickets_option->count() > 0 ? tickets : 0,
                                         .holdout_percent = dataset_holdout,
                                         .truth_path = dataset_truth});
    if (loaded && full) loaded = deskpipe::emulator::EnrichHelpdesk(&*helpdesk, options);
    if (!loaded) {
      std::fprintf(stderr, "freshdesk-emulator: %s\n", loaded.error().ToString().c_str());
      return 2;
    }
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
  server_options.threads = threads;
  server_options.rate_limit_window =
      std::chrono::milliseconds(static_cast<int64_t>(minute_seconds * 1000.0 + 0.5));
  if (!plan.empty()) {
    deskpipe::Result<deskpipe::emulator::RatePlan> limits = deskpipe::emulator::PlanLimits(plan);
    if (!limits) {
      std::fprintf(stderr, "freshdesk-emulator: %s\n", limits.error().message().c_str());
      return 2;
    }
    server_options.enforce_rate_limit = true;
    server_options.rate_limit_total = limits->total;
    server_options.tickets_list_limit = limits->tickets_list;
    server_options.contacts_list_limit = limits->contacts_list;
  } else if (budget > 0) {
    server_options.enforce_rate_limit = true;
    server_options.rate_limit_total = budget;
  }
  if (!faults.empty()) {
    deskpipe::Result<unsigned> classes = deskpipe::emulator::ParseFaultClasses(faults);
    if (!classes) {
      std::fprintf(stderr, "freshdesk-emulator: %s\n", classes.error().message().c_str());
      return 2;
    }
    server_options.fault_classes = *classes;
    server_options.fault_rate = fault_rate > 0 ? fault_rate : 0.05;
  } else if (fault_rate > 0) {
    server_options.fault_classes = ~0u;  // every class
    server_options.fault_rate = fault_rate;
  }
  server_options.fault_seed = fault_seed_set ? fault_seed : seed;
  server_options.slow_ms = std::max(50, static_cast<int>(1500.0 * minute_seconds / 60.0));
  if (!timeline_path.empty()) {
    auto steps = deskpipe::emulator::LoadTimeline(timeline_path);
    if (!steps) {
      std::fprintf(stderr, "freshdesk-emulator: --timeline: %s\n", steps.error().message().c_str());
      return 2;
    }
    server_options.timeline = std::move(*steps);
  }
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
