// `deskpipe retry-failed [--stream S…] [--list] [--json]`: runs the dead letters (records that failed for good)
// through the pipeline again, or with --list shows them: stream, id, stage, error class, message, attempts.
// Thread-safety: start-up code, single-threaded. Lifetime: registered callbacks refer to `flags` and `exit_code`.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/cli_common.h"

namespace deskpipe::cli {

void RegisterRetryFailedCommand(CLI::App& app, Flags& flags, int& exit_code);

}  // namespace deskpipe::cli
