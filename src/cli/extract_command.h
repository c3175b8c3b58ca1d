// `deskpipe extract FILE… [--json] [--max-pdf-pages N] [--timeout S]`: prints each file's sniffed type and
// the text the index would see, or the reason it was refused — the same extraction, in the same isolated
// worker and under the same limits, as a sync applies to attachments. Exit code 0 when every file was read,
// 1 when any was refused or unreadable.
// Thread-safety: start-up code, single-threaded. Lifetime: registered callbacks refer to `flags` and
// `exit_code`.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/cli_common.h"

namespace deskpipe::cli {

void RegisterExtractCommand(CLI::App& app, Flags& flags, int& exit_code);

}  // namespace deskpipe::cli
