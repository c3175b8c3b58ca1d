// deskpipe: the command-line front end. Each verb parses flags into the one Config (flags > env > file),
// then calls the pipeline or the store. Exit codes: 0 success (a complete run), 1 failure, 2 configuration or
// usage error or a tenant another process is writing, 130 / 143 a run stopped by SIGINT / SIGTERM.
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/app.h"
#include "cli/cli_common.h"
#include "cli/embed_command.h"
#include "cli/emulator_process.h"
#include "cli/extract_command.h"
#include "cli/progress_display.h"
#include "cli/reembed_command.h"
#include "cli/reset_command.h"
#include "cli/retry_failed_command.h"
#include "cli/serve_command.h"
#include "cli/serve_embeddings_command.h"
#include "cli/verify_command.h"
#include "core/config.h"
#include "core/log.h"
#include "embed/embedder_factory.h"
#include "platforms/freshdesk/freshdesk_settings.h"
#include "pipeline/runner.h"
#include "pipeline/stop_signal.h"
#include "store/store.h"

namespace deskpipe::cli {
namespace {

// Live progress per stream and stage: bars redrawn in place on a terminal, a plain line per running stream every
// 10 s otherwise (logs, CI), log events under --log-format json (see progress_display.h). SIGINT/SIGTERM stop
// the run gracefully (see pipeline/stop_signal.h).
RunnerOptions ProgressOptions(bool quiet = false) {
  RunnerOptions options;
  if (!quiet) options.progress_watcher = std::make_shared<ProgressDisplay>();
  InstallStopSignalHandlers();
  options.stop = &ProcessStopFlag();
  return options;
}

void PrintSummary(const RunSummary& summary) {
  std::printf("%s in %.1f s: %lld documents written, %lld unchanged, %lld chunks embedded, %lld from cache, "
              "%lld dead letters\n",
              summary.stopped ? "stopped (cursors saved; run sync again to resume)" : "synced", summary.seconds,
              static_cast<long long>(summary.documents_written), static_cast<long long>(summary.documents_unchanged),
              static_cast<long long>(summary.chunks_embedded), static_cast<long long>(summary.chunks_cached),
              static_cast<long long>(summary.dead_letters));
  for (const auto& [stream, s] : summary.streams) {
    if (s.skipped) std::printf("  stream %s skipped: %s\n", stream.c_str(), s.skip_reason.c_str());
  }
  if (summary.dead_letters > 0) std::printf("  dead letters can be retried with: deskpipe retry-failed\n");
}

// A run's exit code: 0 only when it completed; a stopped one exits as the signal that stopped it.
int RunExitCode(const RunSummary& summary) { return summary.stopped ? StopExitCode() : kExitOk; }

// A writer stopped while it waited for the tenant's lock exits as a stopped run, not as a failure.
int FailOrStopped(const Config& config, const Status& status) {
  const int code = Fail(&config, status);
  return status.code() == StatusCode::kCancelled && ProcessStopFlag().load() ? StopExitCode() : code;
}

// After a stop that left the fetch thread in the network, return without running static destructors under it.
int ExitAfterStop(const RunSummary& summary, int code) {
  if (!summary.fetch_abandoned) return code;
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(code);
}

std::string Snippet(const std::string& text, size_t max_bytes) {
  std::string flat;
  flat.reserve(std::min(text.size(), max_bytes + 4));
  for (char c : text) {
    if (flat.size() >= max_bytes) break;
    flat.push_back(c == '\n' ? ' ' : c);
  }
  // Do not cut a UTF-8 sequence in half.
  while (!flat.empty() && (static_cast<unsigned char>(flat.back()) & 0xC0) == 0x80) flat.pop_back();
  if (!flat.empty() && static_cast<unsigned char>(flat.back()) >= 0xC0) flat.pop_back();
  return flat.size() < text.size() ? flat + "…" : flat;
}

void PrintHits(const std::vector<SearchHit>& hits) {
  int rank = 0;
  for (const SearchHit& hit : hits) {
    std::string url = hit.metadata.is_object() ? hit.metadata.value("url", "") : "";
    std::printf("%2d. [%s] %s  (score %.4f, keyword #%d, vector #%d)\n    %s\n    %s\n", ++rank, hit.type.c_str(),
                hit.title.c_str(), hit.score, hit.keyword_rank, hit.vector_rank,
                url.empty() ? hit.document_id.c_str() : url.c_str(), Snippet(hit.text, 160).c_str());
  }
  if (hits.empty()) std::printf("no results\n");
}

nlohmann::json HitsToJson(const std::vector<SearchHit>& hits) {
  nlohmann::json out = nlohmann::json::array();
  for (const SearchHit& hit : hits) out.push_back(app::HitToJson(hit));
  return out;
}

nlohmann::json StatsToJson(const std::string& tenant, const StoreStats& stats) {
  nlohmann::json cursors = nlohmann::json::object();
  for (const auto& [stream, cursor] : stats.cursors) cursors[stream] = cursor;
  return {{"tenant", tenant},
          {"records", stats.records_by_type},
          {"documents", stats.documents_by_type},
          {"chunks", stats.chunks},
          {"vectors", stats.vectors},
          {"cursors", cursors},
          {"last_run", stats.last_run}};
}

// One line for a run: its state, times and the summary's totals. Per-stream progress is left to --json.
std::string DescribeRun(const nlohmann::json& run) {
  std::string line = "last run";
  if (run.contains("id")) line += " #" + run["id"].dump();
  if (run.contains("state") && run["state"].is_string()) line += " " + run["state"].get<std::string>();
  const std::string started = run.value("started_at", ""), finished = run.value("finished_at", "");
  if (!started.empty()) line += ", started " + started;
  if (!finished.empty()) line += ", finished " + finished;
  const nlohmann::json summary = run.value("summary", nlohmann::json::object());
  std::string totals;
  for (const auto& [key, value] : summary.items()) {
    if (!value.is_number() && !value.is_boolean()) continue;
    std::string shown = value.dump();
    if (value.is_number_float()) shown = fmt::format("{:.1f}", value.get<double>());
    totals += (totals.empty() ? "" : ", ") + key + " " + shown;
  }
  if (!totals.empty()) line += ": " + totals;
  if (auto error = summary.find("error"); error != summary.end() && error->is_string()) {
    line += "\n  error: " + error->get<std::string>();
  }
  return line;
}

void PrintStats(const std::string& tenant, const StoreStats& stats) {
  std::printf("tenant %s\n", tenant.c_str());
  std::printf("documents:");
  for (const auto& [type, n] : stats.documents_by_type) std::printf(" %s %lld", type.c_str(), static_cast<long long>(n));
  std::printf("\nrecords:  ");
  for (const auto& [type, n] : stats.records_by_type) std::printf(" %s %lld", type.c_str(), static_cast<long long>(n));
  std::printf("\nchunks %lld, vectors %lld\n", static_cast<long long>(stats.chunks),
              static_cast<long long>(stats.vectors));
  for (const auto& [stream, cursor] : stats.cursors) std::printf("cursor %s: %s\n", stream.c_str(), cursor.dump().c_str());
  if (!stats.last_run.is_null()) std::printf("%s\n", DescribeRun(stats.last_run).c_str());
}

int CommandSync(const Flags& flags, bool wait, bool json) {
  auto config = BuildConfig(flags);
  if (!config) return Fail(nullptr, config.error());
  RunnerOptions options = ProgressOptions();
  options.wait_for_lock = wait;
  auto summary = app::App(*config).Sync(std::move(options));
  if (!summary) return FailOrStopped(*config, summary.error());
  if (json) {
    std::printf("%s\n", summary->ToJson().dump().c_str());
  } else {
    PrintSummary(*summary);
  }
  return ExitAfterStop(*summary, RunExitCode(*summary));
}

int CommandSearch(const Flags& flags, const std::string& text, int top_k, const std::vector<std::string>& types,
                  int per_document, bool json) {
  auto config = BuildConfig(flags);
  if (!config) return Fail(nullptr, config.error());
  auto hits = app::App(*config).Search({.text = text, .top_k = top_k, .types = types, .per_document = per_document});
  if (!hits) return Fail(&*config, hits.error());
  if (json) {
    std::printf("%s\n", HitsToJson(*hits).dump().c_str());
  } else {
    PrintHits(*hits);
  }
  return kExitOk;
}

int CommandStatus(const Flags& flags, bool json) {
  auto config = BuildConfig(flags);
  if (!config) return Fail(nullptr, config.error());
  auto stats = app::App(*config).Status();
  if (!stats) return Fail(&*config, stats.error());
  if (json) {
    std::printf("%s\n", StatsToJson(config->tenant_id, *stats).dump().c_str());
  } else {
    PrintStats(config->tenant_id, *stats);
  }
  return kExitOk;
}

int CommandDigest(const Flags& flags) {
  auto config = BuildConfig(flags);
  if (!config) return Fail(nullptr, config.error());
  auto digest = app::App(*config).Digest();
  if (!digest) return Fail(&*config, digest.error());
  std::printf("digest %s documents %lld chunks %lld\n", digest->hex.c_str(), static_cast<long long>(digest->documents),
              static_cast<long long>(digest->chunks));
  return kExitOk;
}

int CommandDemo(Flags flags, int tickets, int seed, const std::vector<std::string>& queries) {
  // The demo's helpdesk is the bundled emulator; credentials and URL are its own.
  flags.values.emplace("tenant_id", "demo");
  auto config = BuildConfig(flags);
  if (!config) return Fail(nullptr, config.error());
  std::printf("deskpipe demo: starting the Freshdesk emulator (%d synthetic tickets, seed %d)\n", tickets, seed);
  const std::string api_key = "demo-key";
  auto emulator = EmulatorProcess::Start(
      FindEmulatorBinary(), {"--tickets", std::to_string(tickets), "--seed", std::to_string(seed), "--api-key", api_key});
  if (!emulator) return Fail(&*config, emulator.error());
  freshdesk::FreshdeskSettings helpdesk = freshdesk::FreshdeskSettings::FromConfig(*config);
  helpdesk.base_url = emulator->base_url();
  helpdesk.domain.clear();
  helpdesk.api_key = api_key;
  helpdesk.WriteTo(*config);
  std::printf("syncing %s into %s\n", emulator->base_url().c_str(), config->EffectiveStoreUrl().c_str());

  app::App deskpipe(*config);
  auto summary = deskpipe.Sync(ProgressOptions());
  if (!summary) return FailOrStopped(*config, summary.error());
  PrintSummary(*summary);
  if (summary->stopped) return ExitAfterStop(*summary, RunExitCode(*summary));

  auto stats = deskpipe.Status();
  if (!stats) return Fail(&*config, stats.error());
  PrintStats(config->tenant_id, *stats);
  for (const std::string& query : queries) {
    std::printf("\nsearch: \"%s\"\n", query.c_str());
    auto hits = deskpipe.Search({.text = query, .top_k = 3, .per_document = 1});
    if (!hits) return Fail(&*config, hits.error());
    PrintHits(*hits);
  }
  return kExitOk;
}

int Main(int argc, char** argv) {
  CLI::App app{"deskpipe: syncs a helpdesk into SQL and a vector index, and searches it"};
  app.require_subcommand(1);
  Flags flags;
  app.add_option_function<std::string>(
      "--config", [&flags](const std::string& path) { flags.config_file = path; }, "TOML config file");
  AddConfigFlags(&app, flags, FlagScope::kGlobal);  // --log-format, --log-level

  int exit_code = kExitOk;

  CLI::App* demo = app.add_subcommand("demo", "Start the bundled emulator, sync it, and search it");
  int demo_tickets = 200;
  int demo_seed = 42;
  std::vector<std::string> demo_queries = {"I was charged twice for my subscription",
                                           "how do I export a report to CSV"};
  AddStoreFlags(demo, flags);
  demo->add_option("--tickets", demo_tickets, "Synthetic tickets to generate")->capture_default_str();
  demo->add_option("--seed", demo_seed, "Generator seed")->capture_default_str();
  demo->add_option("--query", demo_queries, "Sample searches to run after the sync");
  demo->callback([&] { exit_code = CommandDemo(flags, demo_tickets, demo_seed, demo_queries); });

  CLI::App* sync = app.add_subcommand("sync", "Sync a Freshdesk helpdesk into the store");
  AddStoreFlags(sync, flags);
  AddSourceFlags(sync, flags);
  bool sync_json = false;
  bool sync_wait = false;
  sync->add_flag("--json", sync_json, "Print the run summary as JSON");
  sync->add_flag("--wait", sync_wait, "If another process is writing the tenant, wait for it (default: exit 2)");
  sync->callback([&] { exit_code = CommandSync(flags, sync_wait, sync_json); });

  CLI::App* search = app.add_subcommand("search", "Search what was synced (BM25 + vector, fused by rank)");
  std::string search_text;
  int top_k = 5;
  int per_document = 0;
  bool search_json = false;
  std::vector<std::string> types;
  AddStoreFlags(search, flags);
  search->add_option("text", search_text, "What to look for")->required();
  search->add_option("--top-k", top_k, "Number of hits")->capture_default_str()->check(CLI::Range(1, 1000));
  search->add_option("--type", types, "Only documents of these types (ticket, article)");
  search->add_option("--per-document", per_document,
                     "At most this many hits of one document, its best chunks (0: no cap)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  search->add_flag("--json", search_json, "Print JSON");
  search->callback(
      [&] { exit_code = CommandSearch(flags, search_text, top_k, types, per_document, search_json); });

  CLI::App* status = app.add_subcommand("status", "Counts per type, cursors and the last run");
  bool status_json = false;
  AddStoreFlags(status, flags);
  status->add_flag("--json", status_json, "Print JSON");
  status->callback([&] { exit_code = CommandStatus(flags, status_json); });

  CLI::App* digest = app.add_subcommand("digest", "One line digest of a tenant's documents and chunks");
  AddStoreFlags(digest, flags);
  digest->callback([&] { exit_code = CommandDigest(flags); });

  RegisterEmbedCommand(app, flags, exit_code);
  RegisterServeCommand(app, flags, exit_code);
  RegisterServeEmbeddingsCommand(app, flags, exit_code);
  RegisterRetryFailedCommand(app, flags, exit_code);
  RegisterExtractCommand(app, flags, exit_code);
  RegisterResetCommand(app, flags, exit_code);
  RegisterVerifyCommand(app, flags, exit_code);
  RegisterReembedCommand(app, flags, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitConfig;
  }
  return exit_code;
}

}  // namespace
}  // namespace deskpipe::cli

int main(int argc, char** argv) {
  // Before anything else: OpenBLAS picks its kernels when it loads, so a better core type needs a re-exec.
  deskpipe::PrepareProcessForEmbedders(argv);
  // A fixed mmap threshold. glibc otherwise raises it to the largest block freed so far (API pages run to
  // ~300 KB), and from then on such blocks come from the arenas and leave holes there when freed; fixed, they
  // go back to the system. Part of keeping a long sync's peak memory flat (issue 8.8; figures in the README).
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  return deskpipe::cli::Main(argc, argv);
}
