// bench_fetch: how well the Freshdesk request layer uses the API budget. Starts the emulator with a plan's
// rate limits and a shortened minute, drives the Freshdesk source over every stream (a full sync), then a
// no-change resync from the saved cursors, and prints:
//   - credits used per rate-limit window ÷ budget (steady windows: the first and last, partial, excluded),
//   - 429s received,
//   - wall time ÷ lower bound, the bound being credits needed ÷ budget rate (budget / window length),
//   - for the resync: list pages per ticket pass and conversation calls.
// Figures come from the emulator's /_emulator/stats, so they are what the server saw.
//
// Two runs, each on a fresh emulator: "client" drives the request layer alone (tickets list pages, then the
// conversations of each page's tickets with GetAllPagesMany); "source" drives FreshdeskSource over every
// stream with a KnownRecords attached that holds what each batch would have stored (as the runner attaches
// the store's), then two no-change resyncs by a new source: from the saved cursors, and a re-list of every
// ticket from the start date (cursors lost) — the target there is ⌈N/100⌉ list pages per pass and 0
// conversation calls.
//
// Usage: bench_fetch [--emulator PATH] [--plan pro] [--tickets 3000] [--minute-seconds 5] [--concurrency 4]
//                    [--share 1.0] [--mode client|source|both]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/config.h"
#include "net/http_client.h"
#include "platforms/freshdesk/freshdesk_client.h"
#include "platforms/freshdesk/freshdesk_source.h"
#include "platforms/freshdesk/freshdesk_settings.h"

#ifndef DESKPIPE_EMULATOR_BIN
#define DESKPIPE_EMULATOR_BIN "freshdesk-emulator"
#endif

namespace {

using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

struct Args {
  std::string emulator = DESKPIPE_EMULATOR_BIN;
  std::string plan = "pro";
  int tickets = 3000;
  double minute_seconds = 5;
  int concurrency = 4;
  double share = 1.0;
  std::string mode = "both";  // client | source | both
};

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "bench_fetch: %s\n", message.c_str());
  std::exit(1);
}

Args ParseArgs(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value after " + flag);
      return argv[++i];
    };
    if (flag == "--emulator") {
      args.emulator = value();
    } else if (flag == "--plan") {
      args.plan = value();
    } else if (flag == "--tickets") {
      args.tickets = std::atoi(value().c_str());
    } else if (flag == "--minute-seconds") {
      args.minute_seconds = std::atof(value().c_str());
    } else if (flag == "--concurrency") {
      args.concurrency = std::atoi(value().c_str());
    } else if (flag == "--mode") {
      args.mode = value();
    } else if (flag == "--share") {
      args.share = std::atof(value().c_str());
    } else {
      Die("unknown flag " + flag + " (see the comment at the top of bench/fetch_bench.cc)");
    }
  }
  if (args.tickets < 1 || args.minute_seconds <= 0 || args.concurrency < 1 || !(args.share > 0 && args.share <= 1))
    Die("bad arguments");
  return args;
}

// The emulator as a child process; SIGTERM on destruction.
class Emulator {
 public:
  explicit Emulator(const Args& args) {
    int out[2];
    if (pipe(out) != 0) Die("pipe failed");
    std::vector<std::string> argv_s = {args.emulator,    "--port",         "0",
                                       "--tickets",      std::to_string(args.tickets),
                                       "--seed",         "7",
                                       "--now",          "2026-11-24T00:00:00Z",
                                       "--plan",         args.plan,
                                       "--minute-seconds", std::to_string(args.minute_seconds)};
    pid_ = fork();
    if (pid_ < 0) Die("fork failed");
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      std::vector<char*> argv;
      for (auto& a : argv_s) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      std::fprintf(stderr, "bench_fetch: cannot run %s: %s\n", argv[0], std::strerror(errno));
      _exit(127);
    }
    close(out[1]);
    // First stdout line: "listening on http://127.0.0.1:PORT".
    std::string line;
    char c;
    while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
    close(out[0]);
    size_t at = line.find("http://");
    if (at == std::string::npos) Die("emulator did not start (first line: '" + line + "')");
    url_ = line.substr(at);
    while (!url_.empty() && (url_.back() == '\r' || url_.back() == ' ')) url_.pop_back();
  }
  ~Emulator() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  const std::string& url() const { return url_; }

 private:
  pid_t pid_ = -1;
  std::string url_;
};

json Stats(deskpipe::net::HttpClient& http, const std::string& root) {
  deskpipe::net::HttpRequest request;
  request.url = root + "/_emulator/stats";
  auto response = http.Send(request);
  if (!response || response->status != 200) Die("cannot read " + request.url);
  return json::parse(response->body);
}

int64_t EndpointRequests(const json& stats, const std::string& needle, bool exact) {
  int64_t n = 0;
  for (const auto& [key, value] : stats["endpoints"].items()) {
    bool match = exact ? key == needle : key.find(needle) != std::string::npos;
    if (match) n += value["requests"].get<int64_t>();
  }
  return n;
}

// What a store would hold after each batch: the KnownRecords the runner gives a source, kept in memory so the
// bench measures requests, not the store.
class MemoryKnown : public deskpipe::KnownRecords {
 public:
  void Apply(const deskpipe::Batch& batch) {
    for (const auto& id : batch.removed_ids) records_.erase(id);
    for (const auto& r : batch.records) {
      records_[r.id] = {
          deskpipe::KnownRecord{r.id, r.updated_at, r.metadata.value("state", r.status), r.parent_id},
          r.type};
    }
  }
  deskpipe::Result<std::vector<deskpipe::KnownRecord>> List(const std::string& type,
                                                            const std::string& after_id,
                                                            size_t limit) override {
    std::vector<deskpipe::KnownRecord> out;
    for (auto it = records_.upper_bound(after_id); it != records_.end() && out.size() < limit; ++it) {
      if (it->second.second == type) out.push_back(it->second.first);
    }
    return out;
  }
  deskpipe::Result<std::vector<deskpipe::KnownRecord>> Children(const std::string& parent_id) override {
    std::vector<deskpipe::KnownRecord> out;
    for (const auto& [id, entry] : records_) {
      if (entry.first.parent_id == parent_id) out.push_back(entry.first);
    }
    return out;
  }
  deskpipe::Result<std::vector<deskpipe::KnownRecord>> Lookup(const std::vector<std::string>& ids) override {
    std::vector<deskpipe::KnownRecord> out;
    for (const auto& id : ids) {
      if (auto it = records_.find(id); it != records_.end()) out.push_back(it->second.first);
    }
    return out;
  }

 private:
  std::map<std::string, std::pair<deskpipe::KnownRecord, std::string>> records_;  // id → (known, type)
};

struct SyncResult {
  double seconds = 0;
  std::map<std::string, json> cursors;
  std::map<std::string, int64_t> records;
};

// Every stream to its end, each batch applied to `known` before the next (as the runner commits). `between`
// is called before and after each stream (the resyncs count requests per ticket pass).
SyncResult Sync(deskpipe::freshdesk::FreshdeskSource& source, const std::map<std::string, json>& start,
                MemoryKnown& known, const std::function<void(const std::string&, bool)>& between = {}) {
  SyncResult result;
  auto t0 = SteadyClock::now();
  source.AttachKnownRecords(&known);
  for (const std::string& stream : source.Streams()) {
    json cursor = start.count(stream) ? start.at(stream) : json();
    if (between) between(stream, false);
    for (int guard = 0; guard < 1'000'000; ++guard) {
      auto batch = source.Next(stream, cursor);
      if (!batch) Die("stream " + stream + ": " + batch.error().ToString());
      result.records[stream] += static_cast<int64_t>(batch->records.size());
      known.Apply(*batch);
      cursor = batch->cursor;
      if (batch->done) break;
    }
    if (between) between(stream, true);
    result.cursors[stream] = cursor;
  }
  source.AttachKnownRecords(nullptr);
  result.seconds = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  return result;
}

// Prints the budget figures of one run from the emulator's stats.
void PrintBudgetFigures(const char* title, double seconds, const json& stats) {
  const int64_t budget = stats["rate_limit"]["total"].get<int64_t>();
  const int64_t credits = stats["credits"].get<int64_t>();
  const int64_t rejected = stats["rate_limited"].get<int64_t>();
  const double window_s = stats["rate_limit"]["window_ms"].get<double>() / 1000.0;
  const int64_t credits_needed = credits - rejected;  // a 429 costs 1 and does no work
  const double bound_s = static_cast<double>(credits_needed) / (static_cast<double>(budget) / window_s);

  std::vector<double> ratios;
  std::vector<int64_t> used_windows;
  for (const auto& w : stats["windows"]) {
    if (w["credits"].get<int64_t>() > 0) used_windows.push_back(w["credits"].get<int64_t>());
  }
  for (size_t i = 1; i + 1 < used_windows.size(); ++i) {
    ratios.push_back(static_cast<double>(used_windows[i]) / static_cast<double>(budget));
  }
  double mean = 0, low = ratios.empty() ? 0 : 1e9;
  for (double r : ratios) {
    mean += r;
    low = std::min(low, r);
  }
  if (!ratios.empty()) mean /= static_cast<double>(ratios.size());
  std::printf("\n%s: %.1f s wall, %lld requests, %lld credits (%lld needed), budget %lld per %.2f s\n", title,
              seconds, static_cast<long long>(stats["requests"].get<int64_t>()), static_cast<long long>(credits),
              static_cast<long long>(credits_needed), static_cast<long long>(budget), window_s);
  std::printf("  credits per window / budget (steady windows %zu of %zu): mean %.3f, min %.3f  [windows:",
              ratios.size(), used_windows.size(), mean, low);
  for (int64_t w : used_windows) std::printf(" %lld", static_cast<long long>(w));
  std::printf("]\n");
  std::printf("  429s received: %lld\n", static_cast<long long>(rejected));
  std::printf("  wall time / lower bound: %.1f s / %.1f s = %.3f\n", seconds, bound_s, seconds / bound_s);
  std::fflush(stdout);
}

deskpipe::Config BenchConfig(const Args& args, const Emulator& emulator) {
  deskpipe::Config config;
  config.tenant_id = "bench";
  deskpipe::freshdesk::FreshdeskSettings helpdesk;
  helpdesk.base_url = emulator.url();
  helpdesk.api_key = "demo-key";
  helpdesk.WriteTo(config);
  config.collection_batch_size = 100;
  config.max_concurrent_requests = args.concurrency;
  config.api_budget_share = args.share;
  return config;
}

deskpipe::freshdesk::FreshdeskClientOptions BenchOptions(const Args& args, const deskpipe::Config& config) {
  deskpipe::freshdesk::FreshdeskClientOptions options;
  options.rate_window = std::chrono::milliseconds(static_cast<int64_t>(args.minute_seconds * 1000 + 0.5));
  deskpipe::freshdesk::ApplyConfigToClientOptions(config, &options);
  return options;
}

// A no-change resync by a new source (a new process) from `cursors`: requests per ticket pass, from the
// stats.
void NoChangeResync(const Args& args, const Emulator& emulator, deskpipe::net::HttpClient& http,
                    const std::map<std::string, json>& cursors, MemoryKnown& known, const char* title) {
  deskpipe::Config config = BenchConfig(args, emulator);
  auto source = deskpipe::freshdesk::FreshdeskSource::Create(config, http, BenchOptions(args, config));
  if (!source) Die(source.error().ToString());
  json before = Stats(http, emulator.url());
  json pass_start;
  std::string passes;
  SyncResult resync = Sync(**source, cursors, known, [&](const std::string& stream, bool after) {
    if (stream.rfind("tickets", 0) != 0 || stream == "tickets_reconcile") return;
    json now = Stats(http, emulator.url());
    if (!after) {
      pass_start = std::move(now);
      return;
    }
    char line[200];
    std::snprintf(line, sizeof line, " %s: %lld list pages, %lld views, %lld conversation calls;",
                  stream.c_str(),
                  static_cast<long long>(EndpointRequests(now, "GET /api/v2/tickets", true) -
                                         EndpointRequests(pass_start, "GET /api/v2/tickets", true)),
                  static_cast<long long>(EndpointRequests(now, "GET /api/v2/tickets/{id}", true) -
                                         EndpointRequests(pass_start, "GET /api/v2/tickets/{id}", true)),
                  static_cast<long long>(EndpointRequests(now, "conversations", false) -
                                         EndpointRequests(pass_start, "conversations", false)));
    passes += line;
  });
  json after = Stats(http, emulator.url());
  int64_t records = 0;
  for (const auto& [stream, n] : resync.records) {
    if (stream.rfind("tickets", 0) == 0) records += n;
  }
  std::printf(
      "\n%s: %.1f s, %lld requests, %lld ticket records re-emitted, 429s %lld\n ", title, resync.seconds,
      static_cast<long long>(after["requests"].get<int64_t>() - before["requests"].get<int64_t>()),
      static_cast<long long>(records),
      static_cast<long long>(after["rate_limited"].get<int64_t>() - before["rate_limited"].get<int64_t>()));
  std::printf("%s\n  conversation calls over the whole resync: %lld\n", passes.c_str(),
              static_cast<long long>(EndpointRequests(after, "conversations", false) -
                                     EndpointRequests(before, "conversations", false)));
  std::fflush(stdout);
}

// The Freshdesk source over every stream, then the two no-change resyncs.
void RunSource(const Args& args) {
  Emulator emulator(args);
  auto http = deskpipe::net::MakeCurlHttpClient();
  deskpipe::Config config = BenchConfig(args, emulator);
  auto source = deskpipe::freshdesk::FreshdeskSource::Create(config, *http, BenchOptions(args, config));
  if (!source) Die(source.error().ToString());

  MemoryKnown known;
  SyncResult full = Sync(**source, {}, known);
  PrintBudgetFigures("source, full sync", full.seconds, Stats(*http, emulator.url()));
  for (const auto& [stream, n] : full.records)
    std::printf("  %-18s %lld records\n", stream.c_str(), static_cast<long long>(n));

  NoChangeResync(args, emulator, *http, full.cursors, known,
                 "source, no-change resync from the saved cursors");
  std::map<std::string, json> relist = full.cursors;
  for (const char* stream : {"tickets", "tickets_deleted", "tickets_spam"}) relist.erase(stream);
  NoChangeResync(args, emulator, *http, relist, known,
                 "source, no-change resync re-listing every ticket from the start date (store attached)");
}

// The request layer alone, the way a source with parallel thread fetching reads tickets: each list page
// (include=description,requester,stats), then the conversations of its tickets with GetAllPagesMany.
void RunClient(const Args& args) {
  Emulator emulator(args);
  auto http = deskpipe::net::MakeCurlHttpClient();
  deskpipe::Config config = BenchConfig(args, emulator);
  auto api_base = deskpipe::freshdesk::ResolveFreshdeskApiBase(config);
  if (!api_base) Die(api_base.error().ToString());
  const std::string api_key = deskpipe::freshdesk::FreshdeskSettings::FromConfig(config).api_key;
  deskpipe::freshdesk::FreshdeskClient client(*api_base, api_key, *http, BenchOptions(args, config));
  auto t0 = SteadyClock::now();
  int64_t tickets = 0, conversations = 0;
  auto page = client.Get(
      "tickets?updated_since=1970-01-01T00:00:00Z&order_by=updated_at&order_type=asc"
      "&include=description,requester,stats&per_page=100");
  while (true) {
    if (!page) Die("tickets list: " + page.error().ToString());
    std::vector<std::string> paths;
    for (const auto& ticket : page->body) {
      paths.push_back("tickets/" + std::to_string(ticket["id"].get<int64_t>()) + "/conversations?per_page=100");
    }
    tickets += static_cast<int64_t>(paths.size());
    for (auto& result : client.GetAllPagesMany(paths)) {
      if (!result) Die("conversations: " + result.error().ToString());
      conversations += static_cast<int64_t>(result->size());
    }
    if (page->next_url.empty()) break;
    page = client.GetUrl(page->next_url);
  }
  double seconds = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  PrintBudgetFigures("request layer (list + GetAllPagesMany)", seconds, Stats(*http, emulator.url()));
  auto gs = client.governor().stats();
  std::printf("  %lld tickets, %lld conversations; governor: %lld requests, max in flight %d, pauses %lld\n",
              static_cast<long long>(tickets), static_cast<long long>(conversations),
              static_cast<long long>(gs.requests), gs.max_in_flight_seen, static_cast<long long>(gs.pauses));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Args args = ParseArgs(argc, argv);
  std::printf("bench_fetch: plan %s, %d tickets, minute = %.2f s, concurrency %d, budget share %.2f, mode %s\n",
              args.plan.c_str(), args.tickets, args.minute_seconds, args.concurrency, args.share,
              args.mode.c_str());
  std::fflush(stdout);
  if (args.mode == "client" || args.mode == "both") RunClient(args);
  if (args.mode == "source" || args.mode == "both") RunSource(args);
  return 0;
}
