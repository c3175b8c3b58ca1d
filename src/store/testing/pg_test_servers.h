// Real PostgreSQL engines for tests, started by the harness: a PostgreSQL 15 server (initdb + pg_ctl, unix
// socket only, in a private temp directory; run as the `postgres` user when the tests run as root, because
// initdb refuses root) and PGlite (tools/pglite-server: PostgreSQL in WASM with the real pgvector, over a unix
// socket, one connection at a time). Each server is started once per process on first use and stopped at
// exit. Tests get a fresh, empty `public` schema through ResetSchema().
// Thread-safety: call from the test thread only. Lifetime: the process.
#pragma once

#include <string>

#include "core/status.h"

namespace deskpipe::testing {

// The libpq URL of a running PostgreSQL server without pgvector, started on first call.
Result<std::string> PostgresServerUrl();
// The libpq URL of a running PGlite server with pgvector, started on first call.
Result<std::string> PgliteServerUrl();
// Restarts the PostgreSQL server (pg_ctl restart -m fast: sessions are cut), waiting until it is back.
Result<void> RestartPostgresServer();
// Drops and recreates the `public` schema behind `url` (every table, the vector extension, everything).
Result<void> ResetSchema(const std::string& url);
// Stops every server this process started (also registered with atexit).
void StopTestServers();

}  // namespace deskpipe::testing
