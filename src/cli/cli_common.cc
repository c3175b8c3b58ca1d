#include "cli/cli_common.h"

#include <cstdio>
#include <variant>

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
    std::string help = field.doc + " (" + field.env;
    // The default, unless the doc already tells it or it is empty.
    if (const auto* text = std::get_if<std::string>(&field.default_value);
        text != nullptr && !text->empty() && !field.secret && field.doc.find("default") == std::string::npos) {
      help += "; default " + *text;
    }
    AddConfigFlag(command, flags, "--" + field.flag, field.key, help + ")");
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
  auto redacted = [&](std::string text) { return config ? RedactSecrets(*config, std::move(text)) : text; };
  const int exit_code = ExitCodeFor(status);
  if (log::CurrentFormat() == log::Format::kJson) {
    log::Error(redacted(status.message()), {{"code", StatusCodeName(status.code())}, {"exit_code", exit_code}});
  } else {
    // A usage error's class is plain from its message; a failure's (Unavailable, DataLoss, …) says what kind.
    const bool usage = status.code() == StatusCode::kInvalidArgument;
    std::fprintf(stderr, "deskpipe: %s\n", redacted(usage ? status.message() : status.ToString()).c_str());
  }
  return exit_code;
}

}  // namespace deskpipe::cli
