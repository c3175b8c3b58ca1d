// `deskpipe serve-embeddings [--host H] [--port P] [--model use-lite|hashing]`: answers OpenAI-compatible
// `POST /v1/embeddings` with the local model (embed/embedding_server.h) until SIGINT or SIGTERM. Prints
// "listening on http://HOST:PORT/v1" on stdout once it accepts requests (--port 0 picks a free port). With
// DESKPIPE_SERVE_API_KEY set, requests must carry "Authorization: Bearer <key>". To become part of `serve`.
// Thread-safety: start-up code, single-threaded. Lifetime: registered callbacks refer to `flags` and `exit_code`.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/cli_common.h"

namespace deskpipe::cli {

void RegisterServeEmbeddingsCommand(CLI::App& app, Flags& flags, int& exit_code);

}  // namespace deskpipe::cli
