#include "cli/cli_common.h"

#include <cstdio>

#include "core/log.h"

namespace deskpipe::cli {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied:
    case StatusCode::kBusy:  // another writer holds the tenant: nothing was done
      return kExitConfig;
    default:
      return kExitFailure;
  }
}

void AddConfigFlag(CLI::App* command, Flags& flags, const std::string& name, const std::string& key,
                   const std::string& help) {
  command->add_option_function<std::string>(
      name, [&flags, key](const std::string& value) { flags.values[key] = value; }, help);
}

void AddStoreFlags(CLI::App* command, Flags& flags) {
  AddConfigFlag(command, flags, "--tenant", "tenant_id", "Tenant id ([a-z0-9][a-z0-9-]{0,63}; TENANT_ID)");
  AddConfigFlag(command, flags, "--data-dir", "data_dir", "Data directory (DESKPIPE_DATA_DIR)");
  AddConfigFlag(command, flags, "--store", "store_url", "Store URL: sqlite://PATH or postgresql://… (DESKPIPE_STORE_URL)");
  AddConfigFlag(command, flags, "--embedder", "embedder", "Embedder: use-lite (default), hashing or openai (DESKPIPE_EMBEDDER)");
}

void AddSourceFlags(CLI::App* command, Flags& flags) {
  AddConfigFlag(command, flags, "--domain", "freshdesk_domain", "Freshdesk domain, acme or acme.freshdesk.com");
  AddConfigFlag(command, flags, "--base-url", "freshdesk_base_url",
                "Helpdesk root URL (loopback or DESKPIPE_ALLOWED_HOSTS only)");
  AddConfigFlag(command, flags, "--api-key", "freshdesk_api_key", "Freshdesk API key (prefer FRESHDESK_API_KEY)");
  AddConfigFlag(command, flags, "--start-date", "start_date", "Sync history from this date (default: all)");
  AddConfigFlag(command, flags, "--batch-size", "collection_batch_size", "Records per batch (COLLECTION_BATCH_SIZE)");
  AddConfigFlag(command, flags, "--api-budget-share", "api_budget_share",
                "Fraction of the account's API budget to use, (0, 1] (default 1.0; DESKPIPE_API_BUDGET_SHARE)");
  AddConfigFlag(command, flags, "--unreachable-timeout", "unreachable_timeout",
                "Seconds an unreachable helpdesk is retried before the sync fails (default 600; "
                "DESKPIPE_UNREACHABLE_TIMEOUT)");
}

Result<Config> BuildConfig(const Flags& flags) {
  ConfigSources sources;
  sources.file = flags.config_file;
  sources.env = ReadEnvironment();
  sources.flags = flags.values;
  ASSIGN_OR_RETURN(Config config, LoadConfig(sources));
  RETURN_IF_ERROR(log::Configure(config.log_format, config.log_level));
  RegisterLogSecrets(config);
  return config;
}

int Fail(const Config* config, const Status& status) {
  std::string message = status.ToString();
  if (config) message = RedactSecrets(*config, message);
  std::fprintf(stderr, "deskpipe: %s\n", message.c_str());
  return ExitCodeFor(status);
}

}  // namespace deskpipe::cli
