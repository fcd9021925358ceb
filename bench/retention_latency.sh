#!/usr/bin/env bash
# Ingest latency while the retention sweeper deletes a backlog (issue #20):
#   bench/retention_latency.sh [build dir] [fill seconds] [rate]
# Fills a store with agent messages and person replies (retention off),
# backs it up, then runs nod-bench's open-loop latency twice on copies of
# it: once with retention off (baseline), once with every retention at 1s
# so that the sweeper deletes the whole backlog during the measurement.
# Prints both reports and what the sweeper deleted.
set -euo pipefail
build=${1:-build}
fill_seconds=${2:-20}
rate=${3:-1000}
server="$build/app/nod-server"
bench="$build/bench/nod-bench"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export NOD_ADMIN_PASSWORD=bench-Pw-0123456789
port=18411

start() { # data dir, extra env...
  local dir=$1
  shift
  env NOD_LISTEN=127.0.0.1:$port NOD_DATA_DIR="$dir" NOD_LOG_LEVEL=info \
    NOD_AGENT_RATE=1000000 NOD_AGENT_BURST=1000000 "$@" \
    "$server" >"$dir.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && return 0
    sleep 0.1
  done
  echo "server did not start; log: $dir.log" >&2
  exit 1
}
stop() {
  kill -TERM "$server_pid"
  wait "$server_pid" || true
}

off=(NOD_ACTIVITY_RETENTION=off NOD_DELIVERED_EVENT_RETENTION=off
     NOD_RUN_RETENTION=off NOD_MESSAGE_RETENTION=off)
echo "==> filling for ${fill_seconds}s (rest and reply phases)"
start "$work/fill" "${off[@]}"
"$bench" --url="http://127.0.0.1:$port" --phases=rest,reply \
  --seconds="$fill_seconds" --agents=16 | grep -E "^(rest|reply) " || true
token=$(curl -fs "http://127.0.0.1:$port/api/auth/login" \
  -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$NOD_ADMIN_PASSWORD\"}" | jq -r .token)
backup=$(curl -fs -X POST "http://127.0.0.1:$port/api/admin/backups" \
  -H "Authorization: Bearer $token" | jq -r .path)
stop
echo "==> store: $(du -sh --exclude=backups "$work/fill" | cut -f1)"

"$server" restore --from "$backup" --data-dir "$work/base" >/dev/null
"$server" restore --from "$backup" --data-dir "$work/sweep" >/dev/null

echo "==> baseline: retention off, open loop at ${rate}/s"
start "$work/base" "${off[@]}"
"$bench" --url="http://127.0.0.1:$port" --rate="$rate" --seconds=10 --agents=16
stop

echo "==> sweeping: every retention 1s, open loop at ${rate}/s"
# The first pass (the whole backlog) starts 3 s in: during the first
# direction's measurement.
start "$work/sweep" NOD_ACTIVITY_RETENTION=1s NOD_DELIVERED_EVENT_RETENTION=1s \
  NOD_RUN_RETENTION=1s NOD_MESSAGE_RETENTION=1s NOD_RETENTION_INTERVAL=3s
echo "bench started $(date -u +%H:%M:%S.%N | cut -c1-12)"
"$bench" --url="http://127.0.0.1:$port" --rate="$rate" --seconds=10 --agents=16
stop
echo "==> what the sweeper logged"
grep -E "retention (deleted|pass)|listening" "$work/sweep.log" | head -8
