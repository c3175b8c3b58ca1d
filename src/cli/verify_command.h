// `deskpipe verify --tenant T [--repair] [--json]` (the seed's data integrity checks): every chunk has exactly
// one vector and every vector a chunk, stored chunk hashes match stored text, chunks belong to stored
// documents, cursors are readable. Prints what it finds; --repair mends what SQL can rebuild (vectors from the
// stored embeddings; unrebuildable chunks are dropped and their documents marked for the next sync).
// Exit 0 when clean (or fully repaired), 1 when problems remain.
// Thread-safety: start-up code, single-threaded. Lifetime: registered callbacks refer to `flags` and `exit_code`.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/cli_common.h"

namespace deskpipe::cli {

void RegisterVerifyCommand(CLI::App& app, Flags& flags, int& exit_code);

}  // namespace deskpipe::cli
