#!/usr/bin/env bash
# The intake log's sync policies by number of clients: `skopos serve` (a
# fresh data dir per run, rate limit off) loaded by wrk with
# scripts/beacon.lua for DURATION seconds; accepted beacons/s and p50/p99
# latency. wrk is used rather than cmd/skopos-load because on a 2-core
# machine the Go load tool takes the CPU the server would use. Usage:
#   scripts/bench-sync.sh [runs=3] [seconds=10] [clients="1 32 256"] [modes="default batch off"]
# "default" leaves SKOPOS_SPOOL_SYNC unset. Needs wrk (apt-get install wrk).
RUNS=${1:-3} SECS=${2:-10} CLIENTS=${3:-1 32 256} MODES=${4:-default batch off}
. "$(dirname "$0")/bench-lib.sh"
PORT=18231
for run in $(seq "$RUNS"); do
  for c in $CLIENTS; do
    for mode in $MODES; do
      D=$(mktemp -d)
      serve_sync "$D" $PORT "$mode" SKOPOS_RATE_LIMIT=off
      out=$(wrk -t"$(( c < 2 ? 1 : 2 ))" -c"$c" -d"${SECS}s" -s scripts/beacon.lua "http://127.0.0.1:$PORT/api/event" | grep '^WRK')
      echo "run $run clients=$c $mode: $out"
      stop_serve $PORT
      rm -rf "$D"
    done
  done
done
