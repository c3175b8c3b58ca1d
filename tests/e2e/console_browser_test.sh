#!/usr/bin/env bash
# The web console end to end in a real browser: the Freshdesk emulator, `deskpipe serve` on a fresh data dir,
# then tools/console-test/console_test.mjs drives Debian's headless Chromium (sign in, start a sync, watch
# the bar reach 100 %, search) and saves a screenshot. Both servers are stopped on every exit.
#
#   console_browser_test.sh DESKPIPE_BIN EMULATOR_BIN SCREENSHOT_PNG
# Needs: scripts/setup (chromium, curl, node and `npm ci` of tools/console-test).
set -euo pipefail

if [ $# -ne 3 ]; then
  echo "usage: $0 DESKPIPE_BIN EMULATOR_BIN SCREENSHOT_PNG" >&2
  exit 2
fi
deskpipe=$1 emulator=$2 screenshot=$3
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tool="$root/tools/console-test"
if [ ! -f "$tool/node_modules/puppeteer-core/package.json" ]; then
  echo "console_browser_test: tools/console-test has no node_modules: run scripts/setup" >&2
  exit 1
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
  # SIGTERM is a graceful stop for both servers; wait so no child outlives the test.
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME COMMAND…: runs COMMAND in the background (stdout to $tmp/NAME.out, stderr to $tmp/NAME.err) and
# sets $url from its first stdout line, "listening on http://127.0.0.1:PORT". Fails after 30 s, or at once if
# the process exits first.
start() {
  local name=$1
  shift
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 300); do
    # Only a complete first line counts: a half-written one would give a truncated port.
    if [ "$(wc -l <"$tmp/$name.out")" -ge 1 ]; then
      local line
      line=$(head -n 1 "$tmp/$name.out")
      if [[ $line == "listening on "* ]]; then
        url=${line#listening on }
        return 0
      fi
      echo "console_browser_test: $name printed '$line' instead of 'listening on URL'" >&2
      cat "$tmp/$name.err" >&2
      exit 1
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "console_browser_test: $name exited before listening:" >&2
      cat "$tmp/$name.err" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "console_browser_test: $name did not print 'listening on URL' within 30 s" >&2
  exit 1
}

# A few hundred tickets: a sync long enough for several progress events (one every 2 s), short enough for CI.
start emulator "$emulator" --port 0 --api-key any --seed 7 --tickets 300 --now 2026-11-01T00:00:00Z
emulator_url=$url

admin_token=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
start serve env DESKPIPE_ADMIN_TOKEN="$admin_token" "$deskpipe" serve --port 0 --data-dir "$tmp/data"
server_url=$url

ready=0
for _ in $(seq 150); do
  if curl -fsS -o /dev/null "$server_url/readyz"; then ready=1 && break; fi
  sleep 0.2
done
if [ $ready -ne 1 ]; then
  echo "console_browser_test: $server_url/readyz did not answer 200 within 30 s" >&2
  cat "$tmp/serve.err" >&2
  exit 1
fi

status=0
SERVER_URL="$server_url" ADMIN_TOKEN="$admin_token" EMULATOR_URL="$emulator_url" TENANT=acme \
  SCREENSHOT="$screenshot" TIMEOUT_SECONDS=120 node "$tool/console_test.mjs" || status=$?
if [ $status -ne 0 ]; then
  echo "console_browser_test: the browser test failed; the server's stderr (last 40 lines):" >&2
  tail -n 40 "$tmp/serve.err" >&2
  exit $status
fi
echo "console_browser_test: passed (screenshot $screenshot)"
