#!/usr/bin/env bash
# The sync's progress as people and programs see it, from a real `deskpipe sync` of the emulator. The emulator
# answers about one request in twenty slowly (0.75 s), so the sync runs for some 15 s and the display draws many times.
#
#   terminal  the sync in a detached tmux pane 80 columns wide, its stdout sent to a file so that the pane holds
#             just what it writes to stderr; then the pane's whole history, wrapped rows joined (-J). Every row
#             must fit in 79 columns, every row must be a progress row (two spaces, a stream name or "all"), and
#             no stream may have more than one row. Rows that wrap, or redraws that go back over the wrong rows,
#             leave long joined lines, fragments and names repeated through the history (issue 28: ~1,300 rows
#             for a 2-minute sync).
#   json      the sync under --log-format json, stderr to a file: every line must be a JSON object (jq), with
#             "progress" events among them and exactly one final "run progress".
#
#   progress_terminal_test.sh terminal|json DESKPIPE_BIN EMULATOR_BIN
# Needs: tmux and jq (scripts/setup). Either missing fails the test.
set -euo pipefail

if [ $# -ne 3 ] || { [ "$1" != terminal ] && [ "$1" != json ]; }; then
  echo "usage: $0 terminal|json DESKPIPE_BIN EMULATOR_BIN" >&2
  exit 2
fi
mode=$1 deskpipe=$2 emulator=$3
for tool in tmux jq; do
  if ! command -v "$tool" >/dev/null; then
    echo "progress_terminal_test: $tool is not installed: run scripts/setup" >&2
    exit 1
  fi
done
# tmux needs pseudo-terminals: a bare chroot without /dev/pts mounted has none. Skipped there (ctest's
# SKIP_RETURN_CODE), not failed: progress_display_test checks the same rows under a terminal model.
if [ "$mode" = terminal ] && [ ! -e /dev/pts/ptmx ]; then
  echo "progress_terminal_test: no pseudo-terminals here (/dev/pts is not mounted): skipped" >&2
  exit 77
fi
# Characters, not bytes, in ${#line}: rows hold '·' and '…'.
export LC_ALL=C.UTF-8

tmp=$(mktemp -d)
socket="$tmp/tmux.sock"
emulator_pid=
cleanup() {
  if [ -S "$socket" ]; then
    # A sync still running is stopped with Ctrl-C (a graceful stop) before its pane goes.
    if [ ! -f "$tmp/exit" ]; then
      tmux -S "$socket" send-keys C-c 2>/dev/null || true
      for _ in $(seq 100); do [ -f "$tmp/exit" ] && break; sleep 0.1; done
    fi
    tmux -S "$socket" kill-server 2>/dev/null || true
  fi
  if [ -n "$emulator_pid" ]; then
    kill "$emulator_pid" 2>/dev/null || true
    wait "$emulator_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "progress_terminal_test ($mode): $*" >&2
  if [ -f "$tmp/pane.txt" ]; then
    echo "the pane's history:" >&2
    cat "$tmp/pane.txt" >&2
  fi
  exit 1
}

# The emulator on a free port; its first stdout line is "listening on http://127.0.0.1:PORT".
"$emulator" --port 0 --api-key progress-key --seed 5 --tickets 300 --now 2026-11-01T00:00:00Z --faults slow \
  --fault-rate 0.05 --minute-seconds 30 >"$tmp/emulator.out" 2>"$tmp/emulator.err" &
emulator_pid=$!
url=
for _ in $(seq 300); do
  if [ "$(wc -l <"$tmp/emulator.out")" -ge 1 ]; then
    line=$(head -n 1 "$tmp/emulator.out")
    [[ $line == "listening on "* ]] || fail "the emulator printed '$line' instead of 'listening on URL'"
    url=${line#listening on }
    break
  fi
  kill -0 "$emulator_pid" 2>/dev/null || fail "the emulator exited: $(cat "$tmp/emulator.err")"
  sleep 0.1
done
[ -n "$url" ] || fail "the emulator did not start within 30 s"

sync=(sync --tenant acme --data-dir "$tmp/data" --embedder hashing --base-url "$url" --api-key progress-key)

if [ "$mode" = json ]; then
  if ! "$deskpipe" --log-format json "${sync[@]}" >"$tmp/sync.out" 2>"$tmp/sync.err"; then
    cat "$tmp/sync.err" >&2
    fail "the sync failed"
  fi
  lines=0 progress=0 final=0
  while IFS= read -r line; do
    lines=$((lines + 1))
    jq -e 'type == "object"' <<<"$line" >/dev/null 2>&1 || fail "stderr line $lines is not a JSON object: $line"
    case $(jq -r '.msg' <<<"$line") in
      progress) progress=$((progress + 1)) ;;
      "run progress") if [ "$(jq -r '.final' <<<"$line")" = true ]; then final=$((final + 1)); fi ;;
    esac
  done <"$tmp/sync.err"
  [ "$progress" -ge 1 ] || fail "no progress event among $lines lines"
  [ "$final" -eq 1 ] || fail "$final final run progress events, not 1"
  grep -q '^synced' "$tmp/sync.out" || fail "the sync's summary is missing: $(cat "$tmp/sync.out")"
  echo "progress_terminal_test (json): $lines stderr lines, all JSON objects; $progress stream events"
  exit 0
fi

# The pane runs the sync, records its exit code, then stays open (until kill-server) to be captured.
{
  printf '%q ' "$deskpipe" "${sync[@]}"
  printf '>%q\n' "$tmp/sync.out"
  printf 'echo $? >%q && mv %q %q\n' "$tmp/exit.tmp" "$tmp/exit.tmp" "$tmp/exit"
  printf 'exec sleep 3600\n'
} >"$tmp/run.sh"
printf 'set -g history-limit 100000\n' >"$tmp/tmux.conf"
tmux -S "$socket" -f "$tmp/tmux.conf" new-session -d -x 80 -y 30 "bash $(printf %q "$tmp/run.sh")"
width=$(tmux -S "$socket" display-message -p '#{pane_width}')
[ "$width" = 80 ] || fail "the pane is $width columns wide, not 80"

# check_rows FILE whole|live: every non-blank row fits in 79 columns. Whole (the finished history): every row is
# a progress row and no stream has two. A live screen can hold a draw tmux has only read in part (half a row, a
# stream's old row below its new one), so it is held to the width alone. Sets $rows and $seen (name → row).
check_rows() {
  rows=0
  seen=()
  while IFS= read -r line; do
    line=${line%"${line##*[! ]}"}  # trailing blanks: cells the pane never wrote
    [ -n "$line" ] || continue
    rows=$((rows + 1))
    [ "${#line}" -le 79 ] || fail "a row of ${#line} columns (wrapped at 80): '$line'"
    if [[ $line =~ ^\ \ ([a-z_]+)\  ]]; then
      local name=${BASH_REMATCH[1]}
      if [ "$2" = whole ] && [ -n "${seen[$name]:-}" ]; then
        fail "a second row for $name: '$line' (first: '${seen[$name]}')"
      fi
      seen[$name]=$line
    elif [ "$2" = whole ]; then
      fail "not a progress row (a fragment?): '$line'"
    fi
  done <"$1"
}
declare -A seen=()

# While it runs, the screen every half second: rows that fit, and at times tickets' live bar.
live_bars=0
for _ in $(seq 480); do
  [ -f "$tmp/exit" ] && break
  if tmux -S "$socket" capture-pane -p -J >"$tmp/screen.txt" 2>/dev/null; then
    check_rows "$tmp/screen.txt" live
    if [[ ${seen[tickets]:-} == *"["*"]"* ]]; then live_bars=$((live_bars + 1)); fi
  fi
  sleep 0.5
done
[ -f "$tmp/exit" ] || fail "the sync did not finish within 240 s"
sleep 0.5  # for tmux to have read the last bytes the sync wrote
tmux -S "$socket" capture-pane -p -J -S - -E - >"$tmp/pane.txt"
[ "$(cat "$tmp/exit")" = 0 ] || fail "the sync exited with $(cat "$tmp/exit")"
grep -q '^synced' "$tmp/sync.out" || fail "the sync's summary is missing: $(cat "$tmp/sync.out")"

[ "$live_bars" -ge 1 ] || fail "no screen showed tickets' bar while the sync ran"
check_rows "$tmp/pane.txt" whole
[ -n "${seen[all]:-}" ] || fail "no row for the run ('all')"
[[ ${seen[all]} == *"100%"*"done"* ]] || fail "the run's row does not end done: '${seen[all]}'"
[ -n "${seen[tickets]:-}" ] || fail "no row for tickets"
echo "progress_terminal_test (terminal): $live_bars screens with tickets' live bar; $rows rows in the pane's" \
  "history, each under 80 columns, one per stream:"
cat "$tmp/pane.txt"
