// PGlite (PostgreSQL compiled to WASM, with the real pgvector extension) served over a unix socket, so
// deskpipe's PostgreSQL store can be tested against pgvector through libpq without a pgvector build.
//
// Usage: node server.js --socket-dir DIR [--port 5432] [--data-dir DIR]
// Listens on DIR/.s.PGSQL.<port> (where libpq looks for host=DIR port=<port>), prints one line
// "ready <socket path>" on stdout once it accepts connections, and exits when stdin closes (the parent
// process went away) or on SIGTERM/SIGINT. One client connection at a time (PGlite is single-session);
// further clients wait in the socket server's queue. Without --data-dir the database lives in memory.
'use strict';

const fs = require('fs');
const path = require('path');

function parseArgs(argv) {
  const options = { port: 5432 };
  for (let i = 2; i < argv.length; i += 2) {
    const name = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`missing value for ${name}`);
    if (name === '--socket-dir') options.socketDir = value;
    else if (name === '--port') options.port = Number(value);
    else if (name === '--data-dir') options.dataDir = value;
    else throw new Error(`unknown option ${name}`);
  }
  if (!options.socketDir) throw new Error('--socket-dir is required');
  if (!Number.isInteger(options.port) || options.port <= 0) throw new Error('--port must be a positive integer');
  return options;
}

// Node.js 18 (Debian 12's) has Event and EventTarget but no global CustomEvent, which pglite-socket dispatches;
// Node 19 added it. The imports below are dynamic, so they see this definition.
if (typeof globalThis.CustomEvent !== 'function') {
  globalThis.CustomEvent = class CustomEvent extends Event {
    constructor(type, options = {}) {
      super(type, options);
      this.detail = options.detail ?? null;
    }
  };
}

async function main() {
  const options = parseArgs(process.argv);
  const { PGlite } = await import('@electric-sql/pglite');
  const { vector } = await import('@electric-sql/pglite/vector');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');

  const db = await PGlite.create({ dataDir: options.dataDir, extensions: { vector } });
  const socketPath = path.join(options.socketDir, `.s.PGSQL.${options.port}`);
  fs.rmSync(socketPath, { force: true });
  const server = new PGLiteSocketServer({ db, path: socketPath, connectionQueueTimeout: 600000 });
  await server.start();

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    try {
      await server.stop();
      await db.close();
    } finally {
      fs.rmSync(socketPath, { force: true });
      process.exit(0);
    }
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
  process.stdout.write(`ready ${socketPath}\n`);
}

main().catch((error) => {
  process.stderr.write(`pglite-server: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
