// `deskpipe reset --tenant T [--json]` (the seed's reset_vector_db): removes exactly one tenant's data — record
// rows, documents, chunks, vectors (and its usearch file), cursors, runs, dead letters — from the store the
// configuration names, and prints what it removed. Other tenants are untouched.
// Thread-safety: start-up code, single-threaded. Lifetime: registered callbacks refer to `flags` and `exit_code`.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/cli_common.h"

namespace deskpipe::cli {

void RegisterResetCommand(CLI::App& app, Flags& flags, int& exit_code);

}  // namespace deskpipe::cli
