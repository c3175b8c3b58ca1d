// `deskpipe embed [--model use-lite|hashing|openai] [--json]`: one text per stdin line in, one JSON array of
// floats per line out, in order — for inspecting vectors and comparing with other implementations (for example
// tools/use-lite-reference/embed.js, which reads and writes the same format).
// Thread-safety: start-up code, single-threaded. Lifetime: registered callbacks refer to `flags` and `exit_code`.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/cli_common.h"

namespace deskpipe::cli {

void RegisterEmbedCommand(CLI::App& app, Flags& flags, int& exit_code);

}  // namespace deskpipe::cli
