#include "cli/retry_failed_command.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/app.h"
#include "cli/progress_display.h"
#include "pipeline/retry_failed.h"
#include "pipeline/runner.h"
#include "pipeline/stop_signal.h"

namespace deskpipe::cli {
namespace {

int ListDeadLetters(const Config& config, const std::vector<std::string>& streams, bool json) {
  auto letters = app::App(config).DeadLetters();
  if (!letters) return Fail(&config, letters.error());
  nlohmann::json out = nlohmann::json::array();
  for (const StoredDeadLetter& stored : *letters) {
    const DeadLetter& l = stored.letter;
    if (!streams.empty() && std::find(streams.begin(), streams.end(), l.stream) == streams.end()) continue;
    out.push_back({{"stream", l.stream}, {"record_id", l.record_id}, {"stage", l.stage},
                   {"error_class", l.error_class}, {"message", l.message}, {"attempts", stored.attempts},
                   {"first_seen", stored.first_seen}, {"last_seen", stored.last_seen}});
  }
  if (json) {
    std::printf("%s\n", out.dump().c_str());
    return kExitOk;
  }
  for (const auto& l : out) {
    std::printf("%-12s %-32s %-9s %-14s attempts %lld  %s\n", l["stream"].get<std::string>().c_str(),
                l["record_id"].get<std::string>().c_str(), l["stage"].get<std::string>().c_str(),
                l["error_class"].get<std::string>().c_str(), static_cast<long long>(l["attempts"].get<int64_t>()),
                l["message"].get<std::string>().c_str());
  }
  std::printf("%zu dead letters\n", out.size());
  return kExitOk;
}

int CommandRetryFailed(const Flags& flags, const std::vector<std::string>& streams, bool list, bool wait,
                       bool json) {
  auto config = BuildConfig(flags);
  if (!config) return Fail(nullptr, config.error());
  if (list) return ListDeadLetters(*config, streams, json);
  RunnerOptions options;
  if (!json) options.progress_watcher = std::make_shared<ProgressDisplay>();
  InstallStopSignalHandlers();
  options.stop = &ProcessStopFlag();
  options.wait_for_lock = wait;
  auto summary = app::App(*config).RetryFailed(options, streams);
  if (!summary) {
    const int code = Fail(&*config, summary.error());
    return summary.error().code() == StatusCode::kCancelled && ProcessStopFlag().load() ? StopExitCode() : code;
  }
  if (json) {
    std::printf("%s\n", summary->ToJson().dump().c_str());
  } else {
    std::printf(
        "retried %lld dead letters: %lld went through, %lld gone from the helpdesk, %lld still failing, %lld left "
        "as they were\n",
        static_cast<long long>(summary->retried), static_cast<long long>(summary->resolved),
        static_cast<long long>(summary->gone), static_cast<long long>(summary->still_failing),
        static_cast<long long>(summary->not_retryable + summary->not_reread));
    for (const UnretriedLetter& letter : summary->not_retried) {
      std::printf("  %-12s %-32s %s: %s\n", letter.stream.c_str(), letter.record_id.c_str(),
                  letter.retryable ? "not re-read this time" : "not retryable", letter.reason.c_str());
    }
  }
  return summary->run.stopped ? StopExitCode() : kExitOk;
}

}  // namespace

void RegisterRetryFailedCommand(CLI::App& app, Flags& flags, int& exit_code) {
  CLI::App* command = app.add_subcommand("retry-failed", "Run the records that failed for good (dead letters) again");
  AddStoreFlags(command, flags);
  AddSourceFlags(command, flags);
  auto streams = std::make_shared<std::vector<std::string>>();
  auto list = std::make_shared<bool>(false);
  auto json = std::make_shared<bool>(false);
  auto wait = std::make_shared<bool>(false);
  command->add_option("--stream", *streams, "Only the dead letters of these streams");
  command->add_flag("--list", *list, "List the dead letters instead of retrying them");
  command->add_flag("--json", *json, "Print JSON");
  command->add_flag("--wait", *wait, "If another process is writing the tenant, wait for it (default: exit 2)");
  command->callback([&flags, &exit_code, streams, list, wait, json] {
    exit_code = CommandRetryFailed(flags, *streams, *list, *wait, *json);
  });
}

}  // namespace deskpipe::cli
