// deskpipe: the command-line front end. Each verb parses flags into the one Config (flags > env > file),
// then calls the pipeline or the store. Exit codes: 0 success (a complete run), 1 failure, 2 configuration or
// usage error or a tenant another process is writing, 130 / 143 a run stopped by SIGINT / SIGTERM.
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/app.h"
#include "app/config_sections.h"
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
#include "cli/status_view.h"
#include "cli/verify_command.h"
#include "core/config.h"
#include "core/log.h"
#include "core/spelling.h"
#include "core/time.h"
#include "embed/embedder_factory.h"
#include "platforms/freshdesk/freshdesk_settings.h"
#include "platforms/zendesk/zendesk_settings.h"
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

// "ticket 123" from document id "demo_freshdesk_123", "article 456" from "…_article-456".
std::string RecordName(const SearchHit& hit) {
  std::string original = hit.document_id;
  // The id's last two '_'-separated parts are the platform and the original id ({tenant}_{platform}_{id}).
  if (const size_t platform_end = original.find('_', original.find('_') + 1); platform_end != std::string::npos) {
    original = original.substr(platform_end + 1);
  }
  if (original.starts_with(hit.type + "-")) original = original.substr(hit.type.size() + 1);
  return hit.type + " " + original;
}

// With links, each hit's deep link into the helpdesk (its document id when it has none); without, the record's
// type and id.
void PrintHits(const std::vector<SearchHit>& hits, bool with_links = true) {
  const bool terminal = isatty(fileno(stdout)) != 0;
  int rank = 0;
  for (const SearchHit& hit : hits) {
    const std::string url = hit.metadata.is_object() ? hit.metadata.value("url", "") : "";
    const std::string where = !with_links ? RecordName(hit) : url.empty() ? hit.document_id : url;
    const std::string excerpt = hit.snippet.empty() ? Snippet(hit.text, 160) : SnippetForPeople(hit.snippet, terminal);
    std::printf("%2d. [%s] %s  (score %.3f, keyword #%d, vector #%d)\n    %s\n    %s\n", ++rank, hit.type.c_str(),
                hit.title.c_str(), hit.score, hit.keyword_rank, hit.vector_rank, where.c_str(), excerpt.c_str());
  }
  if (hits.empty()) std::printf("no results\n");
}

// search's filters: lists take a flag per value or values separated by commas.
void AddSearchFilterOptions(CLI::App* search, SearchFilters& filters) {
  const std::tuple<const char*, std::vector<std::string>*, const char*> lists[] = {
      {"--type", &filters.types, "Only documents of these types (ticket, article)"},
      {"--status", &filters.statuses, "Only documents in these statuses (open, resolved, published, …)"},
      {"--priority", &filters.priorities, "Only tickets of these priorities (low, medium, high, urgent)"},
      {"--group", &filters.groups, "Only tickets of these groups (name or id)"},
      {"--tag", &filters.tags, "Only documents carrying every one of these tags"},
      {"--language", &filters.languages, "Only articles in these languages (en, de, …)"},
  };
  for (const auto& [flag, values, help] : lists) search->add_option(flag, *values, help)->delimiter(',');
  const std::pair<const char*, std::string*> bounds[] = {
      {"--created-from", &filters.created_from}, {"--created-to", &filters.created_to},
      {"--updated-from", &filters.updated_from}, {"--updated-to", &filters.updated_to}};
  for (const auto& [flag, value] : bounds) {
    search->add_option(flag, *value, "ISO-8601 date or time, inclusive (2025-03-01, 2025-03-01T12:00:00Z)");
  }
  search->add_flag("--public-only", filters.exclude_private,
                   "Leave out tickets with private notes and agent-only articles");
}

nlohmann::json HitsToJson(const std::vector<SearchHit>& hits) {
  nlohmann::json out = nlohmann::json::array();
  for (const SearchHit& hit : hits) out.push_back(app::HitToJson(hit));
  return out;
}

// The tenant the command line or environment names, for a message about a config that did not load.
std::string TenantNamed(const Flags& flags) {
  if (auto it = flags.values.find("tenant_id"); it != flags.values.end()) return it->second;
  const char* env = std::getenv("TENANT_ID");
  return env != nullptr && *env != '\0' ? env : "";
}

// `word` as a shell would need it typed.
std::string ShellWord(const std::string& word) {
  const bool plain = !word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                             "0123456789_./-+:=@%") == std::string::npos;
  if (plain) return word;
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// --json's answer when the run did not happen or failed: the same object shape, "ok": false and the error.
void PrintJsonFailure(const Config* config, const std::string& tenant, const Status& status) {
  const std::string message = config ? RedactSecrets(*config, status.message()) : status.message();
  const nlohmann::json out = {{"ok", false},
                              {"tenant", tenant},
                              {"error", {{"code", StatusCodeName(status.code())}, {"message", message}}},
                              {"exit_code", ExitCodeFor(status)}};
  std::printf("%s\n", out.dump().c_str());
}

int CommandSync(const Flags& flags, bool wait, bool json) {
  auto config = BuildConfig(flags);
  if (!config) {
    if (json) PrintJsonFailure(nullptr, TenantNamed(flags), config.error());
    return Fail(nullptr, config.error());
  }
  RunnerOptions options = ProgressOptions();
  options.wait_for_lock = wait;
  auto summary = app::App(*config).Sync(std::move(options));
  if (!summary) {
    if (json) PrintJsonFailure(&*config, config->tenant_id, summary.error());
    return FailOrStopped(*config, summary.error());
  }
  if (json) {
    nlohmann::json out = summary->ToJson();
    out["ok"] = !summary->stopped;
    out["tenant"] = config->tenant_id;
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::fputs(DescribeRun(config->tenant_id, *summary).c_str(), stdout);
  }
  return ExitAfterStop(*summary, RunExitCode(*summary));
}

int CommandSearch(const Flags& flags, const std::string& text, int top_k, const SearchFilters& filters,
                  int per_document, const std::string& mode, bool json) {
  auto config = BuildConfig(flags);
  if (!config) return Fail(nullptr, config.error());
  auto hits = app::App(*config).Search({.text = text,
                                        .top_k = top_k,
                                        .per_document = per_document,
                                        .mode = ParseSearchMode(mode).value_or(SearchMode::kHybrid),
                                        .filters = filters});
  if (!hits) return Fail(&*config, hits.error());
  if (json) {
    std::printf("%s\n", HitsToJson(*hits).dump().c_str());
  } else {
    PrintHits(*hits);
  }
  return kExitOk;
}

int CommandStatus(const Flags& flags, bool json, bool verbose) {
  auto config = BuildConfig(flags);
  if (!config) return Fail(nullptr, config.error());
  auto status = app::App(*config).Status();
  if (!status) return Fail(&*config, status.error());
  if (json) {
    std::printf("%s\n", StatusJson(config->tenant_id, config->platform, *status).dump().c_str());
  } else {
    std::fputs(DescribeStatus(config->tenant_id, config->platform, *status, verbose, NowUnixSeconds()).c_str(),
               stdout);
  }
  return kExitOk;
}

int CommandSimilar(const Flags& flags, const std::string& ticket_id, int top_k, bool json) {
  auto config = BuildConfig(flags);
  if (!config) return Fail(nullptr, config.error());
  auto similar = app::App(*config).SimilarTickets(ticket_id, top_k);
  if (!similar) return Fail(&*config, similar.error());
  if (json) {
    const nlohmann::json out = {{"ticket_id", ticket_id},
                                {"tickets", HitsToJson(similar->tickets)},
                                {"articles", HitsToJson(similar->articles)}};
    std::printf("%s\n", out.dump().c_str());
    return kExitOk;
  }
  std::printf("tickets like ticket %s:\n", ticket_id.c_str());
  PrintHits(similar->tickets);
  std::printf("\narticles that may answer it:\n");
  PrintHits(similar->articles);
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

int CommandDemo(Flags flags, int tickets, int seed, const std::vector<std::string>& queries,
                const std::string& platform) {
  // The demo's helpdesk is the bundled emulator; credentials and URL are its own.
  flags.values.emplace("tenant_id", "demo");
  flags.values["platform"] = platform;
  auto config = BuildConfig(flags);
  if (!config) return Fail(nullptr, config.error());
  const bool zendesk = platform == "zendesk";
  std::printf("deskpipe demo: starting the %s emulator (%d synthetic tickets, seed %d)\n",
              zendesk ? "Zendesk" : "Freshdesk", tickets, seed);
  const std::string api_key = "demo-key";
  const std::string email = "admin@brightline.example";
  std::vector<std::string> args = {"--tickets", std::to_string(tickets), "--seed", std::to_string(seed)};
  for (const std::string& arg : zendesk ? std::vector<std::string>{"--email", email, "--api-token", api_key}
                                        : std::vector<std::string>{"--api-key", api_key}) {
    args.push_back(arg);
  }
  auto emulator = EmulatorProcess::Start(zendesk ? FindZendeskEmulatorBinary() : FindEmulatorBinary(), args);
  if (!emulator) return Fail(&*config, emulator.error());
  if (zendesk) {
    zendesk::ZendeskSettings helpdesk = zendesk::ZendeskSettings::FromConfig(*config);
    helpdesk.base_url = emulator->base_url();
    helpdesk.subdomain.clear();
    helpdesk.email = email;
    helpdesk.api_token = api_key;
    helpdesk.WriteTo(*config);
  } else {
    freshdesk::FreshdeskSettings helpdesk = freshdesk::FreshdeskSettings::FromConfig(*config);
    helpdesk.base_url = emulator->base_url();
    helpdesk.domain.clear();
    helpdesk.api_key = api_key;
    helpdesk.WriteTo(*config);
  }
  std::printf("syncing %s into %s\n", emulator->base_url().c_str(), config->EffectiveStoreUrl().c_str());
  std::fflush(stdout);  // before the progress on stderr, also when stdout is a pipe

  app::App deskpipe(*config);
  auto summary = deskpipe.Sync(ProgressOptions());
  if (!summary) return FailOrStopped(*config, summary.error());
  std::fputs(DescribeRun(config->tenant_id, *summary).c_str(), stdout);
  if (summary->stopped) return ExitAfterStop(*summary, RunExitCode(*summary));

  auto status = deskpipe.Status();
  if (!status) return Fail(&*config, status.error());
  std::printf("\n%s", DescribeStatus(config->tenant_id, config->platform, *status, false, NowUnixSeconds()).c_str());
  for (const std::string& query : queries) {
    std::printf("\nsearch: \"%s\"\n", query.c_str());
    auto hits = deskpipe.Search({.text = query, .top_k = 3, .per_document = 1});
    if (!hits) return Fail(&*config, hits.error());
    // The hits' links would point at the emulator, which stops with the demo: name the records instead.
    PrintHits(*hits, /*with_links=*/false);
  }
  const std::string where = config->store_url.empty() ? "--data-dir " + ShellWord(config->data_dir) : "--store …";
  std::printf("\nThe emulator stops with the demo; what it synced stays. Search it again with:\n"
              "  deskpipe search --tenant %s %s \"your question\"\n",
              config->tenant_id.c_str(), where.c_str());
  return kExitOk;
}

// The long options `command` takes, with their dashes.
std::vector<std::string> LongOptions(const CLI::App& command) {
  std::vector<std::string> names;
  for (const CLI::Option* option : command.get_options()) {
    for (const std::string& name : option->get_lnames()) names.push_back("--" + name);
  }
  return names;
}

// "… (did you mean X?)" when one of `names` is close to `typed`.
std::string DidYouMean(const std::string& typed, const std::vector<std::string>& names) {
  const std::optional<std::string> near = ClosestName(typed, names);
  return near ? " (did you mean " + *near + "?)" : "";
}

// What CLI11 would report less helpfully ("A subcommand is required", "The following arguments were not
// expected: x --tenant-id"): an unknown verb, or an option the verb does not take, with the likeliest meant.
std::optional<std::string> UsageProblem(CLI::App& app, int argc, char** argv) {
  std::vector<std::string> verbs;
  for (const CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; })) {
    verbs.push_back(command->get_name());
  }
  CLI::App* verb = nullptr;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.starts_with("--")) {
      const std::string name = arg.substr(0, arg.find('='));
      const CLI::Option* option = verb != nullptr ? verb->get_option_no_throw(name) : nullptr;
      if (option == nullptr) option = app.get_option_no_throw(name);
      if (option == nullptr) {
        std::vector<std::string> known = LongOptions(app);
        if (verb != nullptr) {
          for (std::string& long_name : LongOptions(*verb)) known.push_back(std::move(long_name));
        }
        std::string hint = DidYouMean(name, known);
        // A setting's key spelled as a flag (--collection-batch-size for collection_batch_size's --batch-size).
        for (const ConfigField& field : app::ConfigFields()) {
          std::string as_flag = "--" + field.key;
          std::replace(as_flag.begin(), as_flag.end(), '_', '-');
          if (as_flag == name && !field.flag.empty()) hint = " (did you mean --" + field.flag + "?)";
        }
        return "unknown option " + name + (verb != nullptr ? " for " + verb->get_name() : std::string()) + hint +
               "; --help lists them";
      }
      if (option->get_type_size_max() > 0 && arg.find('=') == std::string::npos) ++i;  // its value
      continue;
    }
    if (arg.starts_with("-") || verb != nullptr) continue;  // short options, positional arguments
    if (std::find(verbs.begin(), verbs.end(), arg) == verbs.end()) {
      return "unknown command '" + arg + "'" + DidYouMean(arg, verbs) + ": the commands are " + ListOfNames(verbs) +
             " (deskpipe --help describes them)";
    }
    verb = app.get_subcommand(arg);
  }
  return std::nullopt;
}

// --log-format json (or DESKPIPE_LOG_FORMAT=json) from argv before CLI11 parses it, so that a usage error
// found before the config loads is already JSON.
void UseJsonLogsIfAsked(int argc, char** argv) {
  const char* env = std::getenv("DESKPIPE_LOG_FORMAT");
  std::string format = env != nullptr ? env : "";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg == "--log-format" && i + 1 < argc) format = argv[++i];
    if (arg.starts_with("--log-format=")) format = arg.substr(std::string_view("--log-format=").size());
  }
  if (format == "json") (void)log::Configure("json", "info");
}

int Main(int argc, char** argv) {
  CLI::App app{"deskpipe: syncs a helpdesk into SQL and a vector index, and searches it"};
  app.require_subcommand(1);
  app.fallthrough();  // --config, --log-format and --log-level also after the verb
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
  std::string demo_platform = "freshdesk";
  demo->add_option("--query", demo_queries, "Sample searches to run after the sync");
  demo->add_option("--platform", demo_platform, "Which bundled emulator to sync")
      ->check(CLI::IsMember({"freshdesk", "zendesk"}))
      ->capture_default_str();
  demo->callback([&] { exit_code = CommandDemo(flags, demo_tickets, demo_seed, demo_queries, demo_platform); });

  CLI::App* sync = app.add_subcommand("sync", "Sync a helpdesk (--platform) into the store");
  AddStoreFlags(sync, flags);
  AddSourceFlags(sync, flags);
  bool sync_json = false;
  bool sync_wait = false;
  sync->add_flag("--json", sync_json, "Print the run summary as JSON");
  sync->add_flag("--wait", sync_wait, "If another process is writing the tenant, wait for it (default: exit 2)");
  sync->callback([&] { exit_code = CommandSync(flags, sync_wait, sync_json); });

  CLI::App* search = app.add_subcommand("search", "Search what was synced (BM25 + vector, fused by score)");
  std::string search_text;
  int top_k = 5;
  int per_document = 1;
  bool search_json = false;
  SearchFilters filters;
  AddStoreFlags(search, flags);
  search->add_option("text", search_text, "What to look for")->required();
  search->add_option("--top-k", top_k, "Number of hits")->capture_default_str()->check(CLI::Range(1, 1000));
  search->add_option("--per-document", per_document,
                     "At most this many hits of one document, its best chunks (0: no cap)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  std::string search_mode = "hybrid";
  search->add_option("--mode", search_mode,
                     "hybrid: BM25 and vector lists fused by score; keyword or vector: that list alone")
      ->capture_default_str()
      ->check(CLI::IsMember({"hybrid", "keyword", "vector"}));
  AddSearchFilterOptions(search, filters);
  search->add_flag("--json", search_json, "Print JSON");
  search->callback([&] {
    exit_code = CommandSearch(flags, search_text, top_k, filters, per_document, search_mode, search_json);
  });

  CLI::App* status = app.add_subcommand("status", "Counts per type, embedder, mode and the last run");
  bool status_json = false;
  bool status_verbose = false;
  AddStoreFlags(status, flags);
  status->add_flag("--json", status_json, "Print JSON (cursors included)");
  status->add_flag("--verbose", status_verbose, "Also print each stream's cursor");
  status->callback([&] { exit_code = CommandStatus(flags, status_json, status_verbose); });

  CLI::App* similar =
      app.add_subcommand("similar", "The tickets most like one ticket, and the articles that answer it");
  std::string similar_ticket;
  int similar_top_k = 5;
  bool similar_json = false;
  AddStoreFlags(similar, flags);
  similar->add_option("--ticket", similar_ticket, "The helpdesk's id of the ticket (e.g. 123)")->required();
  similar->add_option("--top-k", similar_top_k, "Tickets, and articles, to show")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  similar->add_flag("--json", similar_json, "Print JSON");
  similar->callback([&] { exit_code = CommandSimilar(flags, similar_ticket, similar_top_k, similar_json); });

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

  UseJsonLogsIfAsked(argc, argv);
  if (std::optional<std::string> problem = UsageProblem(app, argc, argv)) {
    return Fail(nullptr, InvalidArgument(*problem));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (log::CurrentFormat() == log::Format::kJson) return Fail(nullptr, InvalidArgument(e.what()));
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
