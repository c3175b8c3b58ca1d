#!/usr/bin/env bash
# How `deskpipe serve` answers reads while it syncs: wrk against the status and search routes, first with the
# server idle, then while a fresh full sync of a second tenant runs in the same process. Prints one table.
#
#   bench/serve/run.sh            (after scripts/build; needs wrk, curl and node: scripts/setup)
# env: DESKPIPE, EMULATOR (default build/release/…), TICKETS (5000: the helpdesk both tenants sync),
#      DURATION (15s per wrk run), CONNECTIONS (32), THREADS (2), QUERY ("password reset")
#
# Both tenants sync the same emulator (one helpdesk, two stores). Tenant A is synced once first so search has
# an index; tenant B's sync is the load. Each "during" run checks that B is still syncing when it ends: if B
# finished early, that cell is marked "*" (raise TICKETS). On 2 shared cores wrk, the server and the sync
# compete for CPU, so read the columns against each other, not as absolute capacity.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
deskpipe=${DESKPIPE:-$root/build/release/deskpipe}
emulator=${EMULATOR:-$root/build/release/freshdesk-emulator}
tickets=${TICKETS:-5000}
duration=${DURATION:-15s}
connections=${CONNECTIONS:-32}
threads=${THREADS:-2}
query=${QUERY:-password reset}
lua="$root/bench/serve/auth.lua"

for tool in wrk curl node; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing: run scripts/setup" >&2; exit 1; }
done
for binary in "$deskpipe" "$emulator"; do
  [ -x "$binary" ] || { echo "run.sh: $binary is missing: run scripts/build" >&2; exit 1; }
done

tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { echo "run.sh: $*" >&2; }

# start NAME COMMAND…: background COMMAND, sets $url from its first stdout line "listening on URL".
start() {
  local name=$1
  shift
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1200); do  # generating a large helpdesk takes a few seconds: allow 120 s
    if [ "$(wc -l <"$tmp/$name.out")" -ge 1 ]; then
      local line
      line=$(head -n 1 "$tmp/$name.out")
      [[ $line == "listening on "* ]] || { say "$name printed '$line'"; cat "$tmp/$name.err" >&2; exit 1; }
      url=${line#listening on }
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { say "$name exited before listening"; cat "$tmp/$name.err" >&2; exit 1; }
    sleep 0.1
  done
  say "$name did not print 'listening on URL' within 120 s"
  exit 1
}

token=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
# api METHOD PATH [JSON]: the response body; exits on a non-2xx answer.
api() {
  local args=(-fsS -X "$1" -H "Authorization: Bearer $token")
  [ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data "$3")
  curl "${args[@]}" "$server$2" || { say "$1 $2 failed"; tail -n 20 "$tmp/serve.err" >&2; exit 1; }
}
# field NAME: that top-level field of the JSON on stdin ("" when null or absent).
field() { node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
  const v = JSON.parse(s)[process.argv[1]]; console.log(v === null || v === undefined ? "" : v); })' "$1"; }
state_of() { api GET "/api/ingest/status?tenant_id=$1" | field state; }

put_tenant() {
  api PUT "/api/tenants/$1" "{\"platform\":\"freshdesk\",\"base_url\":\"$emulator_url\",\"api_key\":\"any\",\
\"mode\":\"hybrid\",\"schedule_seconds\":0}" >/dev/null
}

say "emulator with $tickets tickets"
start emulator "$emulator" --port 0 --api-key any --seed 42 --tickets "$tickets" --now 2026-11-01T00:00:00Z
emulator_url=$url
# --rate-limit 0: the per-token limiter would answer most of wrk's requests 429; this measures the server.
start serve env DESKPIPE_ADMIN_TOKEN="$token" "$deskpipe" serve --port 0 --data-dir "$tmp/data" --rate-limit 0
server=$url
for _ in $(seq 300); do curl -fsS -o /dev/null "$server/readyz" && break; sleep 0.2; done
curl -fsS -o /dev/null "$server/readyz" || { say "$server/readyz is not 200"; exit 1; }
say "serving at $server"

put_tenant bench-a
put_tenant bench-b
started=$(date +%s)
api POST "/api/ingest/start?tenant_id=bench-a" >/dev/null
say "syncing bench-a once (search needs an index)…"
while :; do
  state=$(state_of bench-a)
  case $state in
    succeeded) break ;;
    queued | running | cancelling) ;;
    *) say "bench-a's sync ended '$state'"; exit 1 ;;
  esac
  if (($(date +%s) - started > 3600)); then say "bench-a's sync still $state after an hour"; exit 1; fi
  sleep 2
done
say "bench-a synced in $(($(date +%s) - started)) s"

# URL-encode the query with node rather than trusting the shell with spaces and symbols.
q=$(node -e 'console.log(encodeURIComponent(process.argv[1]))' "$query")
declare -A urls=(
  [status]="$server/api/ingest/status?tenant_id=bench-a"
  [search]="$server/api/search?tenant_id=bench-a&q=$q&top_k=10"
)
declare -A results

# measure PHASE NAME: one wrk run; stores "req/s p50 p99 http_errors socket_errors" in results[PHASE.NAME].
measure() {
  local log="$tmp/wrk-$1-$2.txt"
  say "wrk $1 $2 ($duration, $connections connections, $threads threads)"
  DESKPIPE_TOKEN=$token wrk --latency -t "$threads" -c "$connections" -d "$duration" -s "$lua" "${urls[$2]}" >"$log"
  results[$1.$2]=$(sed -n 's/^RESULT //p' "$log")
  [ -n "${results[$1.$2]}" ] || { say "wrk printed no RESULT line:"; cat "$log" >&2; exit 1; }
}

for name in status search; do measure idle "$name"; done

api POST "/api/ingest/start?tenant_id=bench-b" >/dev/null
# Measure only once B is really syncing (past queued), so the first run is not half idle.
for _ in $(seq 150); do [ "$(state_of bench-b)" = running ] && break; sleep 0.2; done
say "bench-b is $(state_of bench-b)"
declare -A overlap
for name in status search; do
  measure sync "$name"
  # Still running at the end of the run ⇒ the whole run overlapped the sync.
  [ "$(state_of bench-b)" = running ] && overlap[$name]="" || overlap[$name]="*"
done
say "bench-b is $(state_of bench-b) after the measurements"
api POST "/api/ingest/cancel?tenant_id=bench-b" >/dev/null 2>&1 || true

# ms from µs, one decimal.
ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }
printf '\n%-8s | %10s %8s %8s %7s | %10s %8s %8s %7s\n' route "idle r/s" "p50 ms" "p99 ms" errors \
  "sync r/s" "p50 ms" "p99 ms" errors
printf -- '---------+---------------------------------------+----------------------------------------\n'
for name in status search; do
  read -r idle_rps idle_p50 idle_p99 idle_http idle_sock <<<"${results[idle.$name]}"
  read -r sync_rps sync_p50 sync_p99 sync_http sync_sock <<<"${results[sync.$name]}"
  printf '%-8s | %10s %8s %8s %7s | %10s %8s %8s %7s\n' "$name" "$idle_rps" "$(ms "$idle_p50")" "$(ms "$idle_p99")" \
    "$((idle_http + idle_sock))" "$sync_rps${overlap[$name]}" "$(ms "$sync_p50")" "$(ms "$sync_p99")" \
    "$((sync_http + sync_sock))"
done
echo "($tickets tickets; wrk -t$threads -c$connections -d$duration; errors = HTTP ≥ 400 + socket errors;" \
  "* = bench-b's sync had ended before that run did)"
