// Shared plumbing for the CLI's verbs: flags that feed the one Config (flags > env > file), derived from the
// settings' declarations (core's and every component's, app/config_sections.h), exit codes, and error
// reporting with secrets redacted. Each verb lives in its own <verb>_command.cc and adds itself to the app
// through a Register…Command(app, flags, exit_code) function called from main.cc.
// Thread-safety: single-threaded start-up code. Lifetime: Flags outlives the CLI::App that writes into it.
// Folder: cli/ sits on top and may include any folder; it builds nothing itself (docs/ARCHITECTURE.md).
#pragma once

#include <map>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "core/config.h"
#include "core/status.h"

namespace deskpipe::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitConfig = 2;  // configuration or usage error; the tenant is being written by another process

// Settings gathered from the command line, keyed as in ConfigSpec().
struct Flags {
  std::optional<std::string> config_file;
  std::map<std::string, std::string> values;
};

// 2 for configuration, credential and permission errors and a tenant another process is writing (kBusy), 1 for
// everything else.
int ExitCodeFor(const Status& status);

// Adds `--name` to `command`, storing its text under config key `key`.
void AddConfigFlag(CLI::App* command, Flags& flags, const std::string& name, const std::string& key,
                   const std::string& help);
// Adds the flag of every declared setting whose flag_scope is `scope`, its help the setting's doc and
// environment variable.
void AddConfigFlags(CLI::App* command, Flags& flags, FlagScope scope);
// The tenant verbs' flags (FlagScope::kTenant): --tenant, --data-dir, --store, --embedder.
void AddStoreFlags(CLI::App* command, Flags& flags);
// The platform-reading verbs' flags (FlagScope::kSource): --start-date, --batch-size, … and each platform's
// (Freshdesk's --domain, --base-url, --api-key).
void AddSourceFlags(CLI::App* command, Flags& flags);

// Loads the Config from file, environment and flags over every declared setting, configures logging and
// registers every secret setting's value with the logger.
Result<Config> BuildConfig(const Flags& flags);

// Reports `status` on stderr with secrets redacted and returns the exit code for it: "deskpipe: <message>" for a
// usage error, "deskpipe: <code>: <message>" otherwise; under --log-format json one error event with "code" and
// "exit_code".
int Fail(const Config* config, const Status& status);

}  // namespace deskpipe::cli
