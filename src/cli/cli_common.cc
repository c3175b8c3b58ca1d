#include "cli/cli_common.h"

#include <cstdio>

#include "app/config_sections.h"
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

void AddConfigFlags(CLI::App* command, Flags& flags, FlagScope scope) {
  for (const ConfigField& field : app::ConfigFields()) {
    if (field.flag.empty() || field.flag_scope != scope) continue;
    AddConfigFlag(command, flags, "--" + field.flag, field.key, field.doc + " (" + field.env + ")");
  }
}

void AddStoreFlags(CLI::App* command, Flags& flags) { AddConfigFlags(command, flags, FlagScope::kTenant); }

void AddSourceFlags(CLI::App* command, Flags& flags) { AddConfigFlags(command, flags, FlagScope::kSource); }

Result<Config> BuildConfig(const Flags& flags) {
  ConfigSources sources;
  sources.file = flags.config_file;
  sources.env = app::ReadEnvironment();
  sources.flags = flags.values;
  ASSIGN_OR_RETURN(Config config, app::LoadConfig(sources));
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
