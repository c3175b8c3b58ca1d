-- wrk script for bench/serve/run.sh: sends every request with the Bearer token from $DESKPIPE_TOKEN, and at
-- the end prints one machine-readable line for run.sh to parse (wrk's own --latency report stays above it):
--   RESULT <requests/s> <p50 µs> <p99 µs> <non-2xx responses> <socket errors>
local token = os.getenv("DESKPIPE_TOKEN")
if token == nil or token == "" then
  io.stderr:write("auth.lua: DESKPIPE_TOKEN is not set\n")
  os.exit(2)
end
wrk.headers["Authorization"] = "Bearer " .. token

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %.1f %d %d %d %d\n", summary.requests / (summary.duration / 1e6),
                         latency:percentile(50), latency:percentile(99), e.status,
                         e.connect + e.read + e.write + e.timeout))
end
