// Throughput of the Freshdesk emulator, unthrottled: it must never be the bottleneck of a deskpipe benchmark.
//
//   bench_emulator [--tickets N] [--seconds S] [--connections C] [--full]
//
// Generates a helpdesk (default 20,000 tickets), serves it in-process on a loopback port, and drives it with C
// client threads (libcurl, one keep-alive connection each) for S seconds per scenario:
//   tickets-list   GET /tickets?updated_since=…&order_by=updated_at&order_type=asc&include=description,
//                  requester,stats&per_page=100&page=k, k cycling over every page
//   conversations  GET /tickets/{id}/conversations?per_page=100 for ids cycling over all tickets
//   ticket-view    GET /tickets/{id}?include=conversations
// Prints requests/s and MB/s of response JSON per scenario, plus generation time. The clients share the 2
// cores with the server, so the figures are a lower bound on what the server alone can do.
#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/time.h"
#include "generator.h"
#include "server.h"

namespace {

using deskpipe::emulator::EmulatorServer;
using Clock = std::chrono::steady_clock;

size_t CountBytes(char*, size_t size, size_t count, void* total) {
  *static_cast<size_t*>(total) += size * count;
  return size * count;
}

struct Totals {
  std::atomic<int64_t> requests{0};
  std::atomic<int64_t> bytes{0};
  std::atomic<int64_t> failures{0};
};

void RunScenario(const char* name, int connections, double seconds,
                 const std::function<std::string(int64_t)>& url_for) {
  Totals totals;
  std::atomic<int64_t> next{0};
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  const auto start = Clock::now();
  std::vector<std::thread> clients;
  for (int c = 0; c < connections; ++c) {
    clients.emplace_back([&] {
      CURL* curl = curl_easy_init();
      size_t bytes = 0;
      curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, CountBytes);
      curl_easy_setopt(curl, CURLOPT_WRITEDATA, &bytes);
      curl_easy_setopt(curl, CURLOPT_USERPWD, "bench-key:X");
      curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
      while (Clock::now() < deadline) {
        const std::string url = url_for(next.fetch_add(1));
        curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
        bytes = 0;
        long status = 0;
        const CURLcode code = curl_easy_perform(curl);
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        if (code != CURLE_OK || status != 200) {
          totals.failures.fetch_add(1);
          continue;
        }
        totals.requests.fetch_add(1);
        totals.bytes.fetch_add(static_cast<int64_t>(bytes));
      }
      curl_easy_cleanup(curl);
    });
  }
  for (auto& t : clients) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("%-14s %2d conn  %9.0f requests/s  %8.1f MB/s  (%lld requests, %.1f MB, %lld failures, %.1f s)\n", name,
              connections, static_cast<double>(totals.requests.load()) / elapsed,
              static_cast<double>(totals.bytes.load()) / elapsed / 1e6, static_cast<long long>(totals.requests.load()),
              static_cast<double>(totals.bytes.load()) / 1e6, static_cast<long long>(totals.failures.load()), elapsed);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int tickets = 20000;
  double seconds = 5;
  std::vector<int> connection_counts = {1, 4};
  bool full = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_emulator: %s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--tickets") {
      tickets = std::atoi(value());
    } else if (arg == "--seconds") {
      seconds = std::atof(value());
    } else if (arg == "--connections") {
      connection_counts = {std::max(1, std::atoi(value()))};
    } else if (arg == "--full") {
      full = true;
    } else {
      std::fprintf(stderr, "usage: bench_emulator [--tickets N] [--seconds S] [--connections C] [--full]\n");
      return 2;
    }
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  deskpipe::emulator::GeneratorOptions options;
  options.tickets = tickets;
  options.now = *deskpipe::ParseTimestamp("2026-11-24T00:00:00Z");
  options.full = full;
  const auto generation_start = Clock::now();
  auto desk = deskpipe::emulator::GenerateHelpdesk(options);
  if (!desk) {
    std::fprintf(stderr, "bench_emulator: %s\n", desk.error().ToString().c_str());
    return 1;
  }
  const double generation = std::chrono::duration<double>(Clock::now() - generation_start).count();
  const size_t conversation_count = desk->conversations.size();
  deskpipe::emulator::ServerOptions server_options;
  server_options.api_key = "bench-key";
  server_options.threads = 16;
  const auto serve_start = Clock::now();
  EmulatorServer server(std::make_shared<const deskpipe::emulator::Helpdesk>(std::move(*desk)), server_options);
  if (deskpipe::Status started = server.Start(); !started.ok()) {
    std::fprintf(stderr, "bench_emulator: %s\n", started.ToString().c_str());
    return 1;
  }
  const double prerender = std::chrono::duration<double>(Clock::now() - serve_start).count();
  std::printf("emulator: %d tickets, %zu conversations%s; generated in %.2f s, pre-rendered in %.2f s; %u cores\n",
              tickets, conversation_count, full ? " (--full)" : "", generation, prerender,
              std::thread::hardware_concurrency());
  const std::string api = server.base_url() + "/api/v2";
  const int64_t pages = std::max<int64_t>(1, std::min<int64_t>(300, (tickets + 99) / 100));
  for (int connections : connection_counts) {
    RunScenario("tickets-list", connections, seconds, [&](int64_t n) {
      return api +
             "/tickets?updated_since=1970-01-01T00:00:00Z&order_by=updated_at&order_type=asc"
             "&include=description,requester,stats&per_page=100&page=" +
             std::to_string(n % pages + 1);
    });
    RunScenario("conversations", connections, seconds, [&](int64_t n) {
      return api + "/tickets/" + std::to_string(n % std::max(1, tickets) + 1) + "/conversations?per_page=100";
    });
    RunScenario("ticket-view", connections, seconds, [&](int64_t n) {
      return api + "/tickets/" + std::to_string(n % std::max(1, tickets) + 1) + "?include=conversations";
    });
  }
  server.Stop();
  curl_global_cleanup();
  return 0;
}
