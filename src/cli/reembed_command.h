// `deskpipe reembed --tenant T --embedder E [--json]`: re-embeds a tenant's chunks from their stored text with
// another embedder (the embedding cache first), then swaps the new vectors in atomically and records E as the
// tenant's embedder, so later verbs take --embedder E. Until the swap, searches see the old vectors.
// Thread-safety: start-up code, single-threaded. Lifetime: registered callbacks refer to `flags` and `exit_code`.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/cli_common.h"

namespace deskpipe::cli {

void RegisterReembedCommand(CLI::App& app, Flags& flags, int& exit_code);

}  // namespace deskpipe::cli
