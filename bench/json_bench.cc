// Parsing Freshdesk API pages: deskpipe's ParseJsonText (simdjson, then the nlohmann value the mapping works on)
// side by side with nlohmann's own parse, on real-shaped pages the emulator serves.
//
//   bench_json [--tickets N] [--rounds R]     (default: 2,000 tickets; each page parsed R = 20 times a way)
//
// Fetches the tickets list pages (100 tickets, include=description,requester,stats) and every ticket's
// conversations page once over loopback, then times, per page kind:
//   nlohmann            nlohmann::json::parse
//   ParseJsonText       the same value from simdjson
//   + item texts        ParseJsonText also giving each item's text as sent (what GetAllPages returns)
//   nlohmann + dump     nlohmann's parse, then every item serialized again (how a record's raw was made)
// Prints µs per page and MB/s; the value built is checked equal to nlohmann's for every page.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/json_text.h"
#include "core/time.h"
#include "generator.h"
#include "net/http_client.h"
#include "server.h"

namespace {

using Clock = std::chrono::steady_clock;

std::string Get(deskpipe::net::HttpClient& http, const std::string& url) {
  deskpipe::net::HttpRequest request;
  request.url = url;
  request.basic_auth = "bench-key:X";
  auto response = http.Send(request);
  if (!response || response->status != 200) {
    const std::string why = response ? "HTTP " + std::to_string(response->status) : response.error().ToString();
    std::fprintf(stderr, "bench_json: GET %s failed (%s)\n", url.c_str(), why.c_str());
    std::exit(1);
  }
  return std::move(response->body);
}

// Seconds per call of `parse` over every page, `rounds` times.
double Time(const std::vector<std::string>& pages, int rounds, const std::function<size_t(const std::string&)>& parse) {
  size_t sink = 0;
  const auto start = Clock::now();
  for (int r = 0; r < rounds; ++r) {
    for (const std::string& page : pages) sink += parse(page);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (sink == 42) std::printf(" ");  // keeps the work observable
  return seconds / static_cast<double>(rounds * pages.size());
}

void Compare(const char* kind, const std::vector<std::string>& pages, int rounds) {
  size_t bytes = 0;
  for (const std::string& page : pages) {
    bytes += page.size();
    auto fast = deskpipe::ParseJsonText(page);
    if (!fast || *fast != nlohmann::json::parse(page)) {
      std::fprintf(stderr, "bench_json: ParseJsonText and nlohmann disagree on a %s page\n", kind);
      std::exit(1);
    }
  }
  const double mean_bytes = static_cast<double>(bytes) / static_cast<double>(pages.size());
  struct Way {
    const char* name;
    std::function<size_t(const std::string&)> parse;
  };
  const std::vector<Way> ways = {
      {"nlohmann", [](const std::string& page) { return nlohmann::json::parse(page).size(); }},
      {"ParseJsonText", [](const std::string& page) { return deskpipe::ParseJsonText(page)->size(); }},
      {"+ item texts",
       [](const std::string& page) {
         std::vector<std::string> texts;
         return deskpipe::ParseJsonText(page, &texts)->size() + texts.size();
       }},
      {"nlohmann + dump",
       [](const std::string& page) {
         size_t n = 0;
         for (const auto& item : nlohmann::json::parse(page)) n += deskpipe::CompactJson(item).size();
         return n;
       }},
  };
  std::printf("%s pages: %zu, %.1f KB each on average\n", kind, pages.size(), mean_bytes / 1024);
  double baseline = 0;
  for (const Way& way : ways) {
    const double seconds = Time(pages, rounds, way.parse);
    if (baseline == 0) baseline = seconds;
    std::printf("  %-16s %10.1f us/page %9.1f MB/s %7.2fx nlohmann's time\n", way.name, seconds * 1e6,
                mean_bytes / seconds / 1e6, seconds / baseline);
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int tickets = 2000;
  int rounds = 20;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--tickets" && i + 1 < argc) {
      tickets = std::atoi(argv[++i]);
    } else if (arg == "--rounds" && i + 1 < argc) {
      rounds = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: bench_json [--tickets N] [--rounds R]\n");
      return 2;
    }
  }
  if (tickets <= 0 || rounds <= 0) {
    std::fprintf(stderr, "bench_json: --tickets and --rounds must be positive\n");
    return 2;
  }
  deskpipe::emulator::GeneratorOptions options;
  options.tickets = tickets;
  options.now = *deskpipe::ParseTimestamp("2026-11-24T00:00:00Z");
  auto desk = deskpipe::emulator::GenerateHelpdesk(options);
  if (!desk) {
    std::fprintf(stderr, "bench_json: %s\n", desk.error().ToString().c_str());
    return 1;
  }
  deskpipe::emulator::ServerOptions server_options;
  server_options.api_key = "bench-key";
  deskpipe::emulator::EmulatorServer server(std::make_shared<const deskpipe::emulator::Helpdesk>(std::move(*desk)),
                                            server_options);
  if (deskpipe::Status started = server.Start(); !started.ok()) {
    std::fprintf(stderr, "bench_json: %s\n", started.ToString().c_str());
    return 1;
  }
  auto http = deskpipe::net::MakeCurlHttpClient();
  const std::string api = server.base_url() + "/api/v2";
  std::vector<std::string> lists;
  for (int page = 1; page <= (tickets + 99) / 100; ++page) {
    lists.push_back(Get(*http, api +
                                   "/tickets?updated_since=1970-01-01T00:00:00Z&order_by=updated_at&order_type=asc"
                                   "&include=description,requester,stats&per_page=100&page=" +
                                   std::to_string(page)));
  }
  std::vector<std::string> threads;
  for (int id = 1; id <= tickets; ++id) {
    threads.push_back(Get(*http, api + "/tickets/" + std::to_string(id) + "/conversations?per_page=100"));
  }
  server.Stop();

  Compare("tickets list", lists, rounds);
  Compare("conversations", threads, rounds);
  return 0;
}
