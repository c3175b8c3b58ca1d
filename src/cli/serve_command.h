// `deskpipe serve`: runs the ingestion service (service/server.h) until SIGINT or SIGTERM.
// Thread-safety: start-up code, main thread. Lifetime: registered once on the CLI app.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/cli_common.h"

namespace deskpipe::cli {

void RegisterServeCommand(CLI::App& app, Flags& flags, int& exit_code);

}  // namespace deskpipe::cli
