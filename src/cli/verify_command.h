// `deskpipe verify --tenant T [--repair] [--json]` (the seed's data integrity checks): every chunk has exactly
// one vector and every vector a chunk, stored chunk hashes match stored text, chunks belong to stored
// documents, cursors are readable, the configured mode matches the recorded one. Without --repair it opens the
// store read-only. --repair gives lost vectors back (from the embedding cache, else embedded again with the
// tenant's recorded embedder, which --embedder must name), removes only what is provably orphaned and lists
// it, and reports the rest. Exit 0 when clean (or fully repaired), 1 when problems remain.
// Thread-safety: start-up code, single-threaded. Lifetime: registered callbacks refer to `flags` and `exit_code`.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/cli_common.h"

namespace deskpipe::cli {

void RegisterVerifyCommand(CLI::App& app, Flags& flags, int& exit_code);

}  // namespace deskpipe::cli
