#!/usr/bin/env bash
# Retrieval quality on real support text: keyword only, vector only and hybrid (fused) search, and similar
# tickets, per query set and embedder, after a real `deskpipe sync` of the emulator's --dataset.
#
#   bench/retrieval/run.sh        (after building deskpipe, freshdesk-emulator and bench_retrieval)
# env: DESKPIPE, EMULATOR, BENCH (default build/release/…), DATA (default ../shared/data from the repo root),
#      EMBEDDERS ("hashing use-lite"), HOLDOUT (10: percent of the IBM dialogs and Bitext rows held out as
#      queries), TICKETS (unset: every dialog and row; else a cap before the holdout), HALF ("test"; "tune" or
#      "all" to print the other half too), DUMP (a directory: each query's whole keyword and vector candidate
#      lists go to DUMP/candidates-<embedder>.jsonl, for trying fusions offline on the tuning half)
#
# The emulator turns DATA into tickets (IBM Twitter dialogs, Bitext rows) and KB articles (ABCD guidelines) and,
# with --dataset-holdout, keeps HOLDOUT % of the dialogs and rows out of the tickets as queries; it writes the
# labels (Bitext: intent; IBM: the support article the agent linked; ABCD: flow/subflow) to a truth file that
# bench_retrieval scores against (see bench/retrieval/retrieval_bench.cc for the metrics). Nothing of DATA is
# copied into the repo; the temp directory goes at exit.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
deskpipe=${DESKPIPE:-$root/build/release/deskpipe}
emulator=${EMULATOR:-$root/build/release/freshdesk-emulator}
bench=${BENCH:-$root/build/release/bench_retrieval}
data=${DATA:-$(cd "$root/../shared/data" 2>/dev/null && pwd || echo "$root/../shared/data")}
embedders=${EMBEDDERS:-hashing use-lite}
holdout=${HOLDOUT:-10}
half=${HALF:-test}

for binary in "$deskpipe" "$emulator" "$bench"; do
  [ -x "$binary" ] || { echo "run.sh: $binary is missing: build it first" >&2; exit 1; }
done
[ -d "$data" ] || { echo "run.sh: no data sets at $data (set DATA)" >&2; exit 1; }

tmp=$(mktemp -d)
emulator_pid=
cleanup() {
  [ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null && wait "$emulator_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { echo "run.sh: $*" >&2; }

cap=()
[ -n "${TICKETS:-}" ] && cap=(--tickets "$TICKETS")
say "emulator over $data (holdout $holdout %${TICKETS:+, capped at $TICKETS})"
"$emulator" --port 0 --api-key bench-key --budget 1000000 --now 2026-11-01T00:00:00Z --dataset "$data" \
  --dataset-holdout "$holdout" --dataset-truth "$tmp/truth.jsonl" "${cap[@]}" >"$tmp/emulator.out" \
  2>"$tmp/emulator.err" &
emulator_pid=$!
for _ in $(seq 600); do
  [ -s "$tmp/emulator.out" ] && break
  kill -0 "$emulator_pid" 2>/dev/null || { say "the emulator exited"; cat "$tmp/emulator.err" >&2; exit 1; }
  sleep 0.1
done
line=$(head -n 1 "$tmp/emulator.out")
[[ $line == "listening on "* ]] || { say "the emulator printed '$line'"; exit 1; }
url=${line#listening on }
say "$(grep -c '"ticket":[0-9]' "$tmp/truth.jsonl") tickets, $(grep -c '"article":[0-9]' "$tmp/truth.jsonl")" \
  "articles, $(grep -c '"query":' "$tmp/truth.jsonl") queries"

for embedder in $embedders; do
  started=$(date +%s.%N)
  "$deskpipe" sync --tenant bench --data-dir "$tmp/$embedder" --embedder "$embedder" --base-url "$url" \
    --api-key bench-key --json >"$tmp/sync-$embedder.json" 2>"$tmp/sync-$embedder.log" ||
    { say "sync with $embedder failed"; tail -n 20 "$tmp/sync-$embedder.log" >&2; exit 1; }
  say "$embedder: synced in $(printf '%.0f' "$(echo "$(date +%s.%N) - $started" | bc)") s"
  started=$(date +%s.%N)
  dump=()
  [ -n "${DUMP:-}" ] && mkdir -p "$DUMP" && dump=(--dump-candidates "$DUMP/candidates-$embedder.jsonl")
  "$bench" --truth "$tmp/truth.jsonl" --data-dir "$tmp/$embedder" --tenant bench --embedder "$embedder" \
    "${dump[@]}" >>"$tmp/rows.tsv"
  say "$embedder: queries in $(printf '%.0f' "$(echo "$(date +%s.%N) - $started" | bc)") s"
done

# One table per half: a row per set × embedder × mode.
for h in test tune; do
  [ "$half" = all ] || [ "$half" = "$h" ] || continue
  echo
  echo "${h} half (queries held out of the sync; $([ "$h" = test ] && echo "the figures to report" || echo "for tuning only"))"
  printf '| set | embedder | mode | queries | P@10 | MRR@10 | nDCG@10 | p50 ms |\n|---|---|---|---:|---:|---:|---:|---:|\n'
  awk -F'\t' -v half="$h" '$1 == "row" && $5 == half {
      order = ($4 == "keyword" ? 1 : $4 == "vector" ? 2 : $4 == "hybrid" ? 3 : 4)
      printf "%s\t%s\t%d\t| %s | %s | %s | %s%s | %s | %s | %s | %s |\n", $2, $3, order, $2, $3, $4, $6,
             ($7 > 0 ? " (+" $7 " without a relevant document)" : ""), $8, $9, $10, $11 }' "$tmp/rows.tsv" |
    sort -t$'\t' -k1,1 -k2,2 -k3,3n | cut -f4-
done
