#!/usr/bin/env bash
# Reproduces the figures of BENCHMARKS.md: embedded mode (skopos serve) and
# SDK mode (examples/nethttp in front of a PocketBase), each loaded by
# cmd/skopos-load, plus PocketBase's raw create rates measured in the same
# run. Usage: scripts/bench.sh [runs=3] [events=20000] [visitors=2000] [concurrency=32]
RUNS=${1:-3} EVENTS=${2:-20000} VISITORS=${3:-2000} CONC=${4:-32}
. "$(dirname "$0")/bench-lib.sh"
EMAIL=bench@example.com PASS=bench-password-1

serve() { # $1 port $2 dir
  SKOPOS_ADMIN_EMAIL=$EMAIL SKOPOS_ADMIN_PASSWORD=$PASS "$BIN/skopos" serve --http 127.0.0.1:$1 --dir "$2" >"$2.log" 2>&1 &
  for _ in $(seq 100); do grep -q "trackingId" "$2.log" 2>/dev/null && break; sleep 0.1; done
  sleep 0.5
  grep "demo website trackingId" "$2.log" | awk '{print $NF}'
}

for run in $(seq "$RUNS"); do
  # embedded: the load goes straight to skopos serve
  D=$(mktemp -d); TID=$(serve 18201 "$D/pb")
  "$BIN/skopos-load" -url http://127.0.0.1:18201/api/event -events "$EVENTS" -visitors "$VISITORS" \
    -concurrency "$CONC" -pb-url http://127.0.0.1:18201 -pb-email $EMAIL -pb-password $PASS -site "$TID" 2>/dev/null | tail -1 | sed "s/^/embedded run $run: /"
  pkill -f "serve --http 127.0.0.1:18201" || true; sleep 1

  # SDK mode: nethttp (package skopos, REST store) in front of a PocketBase
  D=$(mktemp -d); TID=$(serve 18202 "$D/pb")
  SKOPOS_SITE_ID=$TID POCKETBASE_URL=http://127.0.0.1:18202 POCKETBASE_ADMIN_EMAIL=$EMAIL POCKETBASE_ADMIN_PASSWORD=$PASS PORT=18203 \
    "$BIN/nethttp" 2>"$D/sdk.log" &
  SDKPID=$!
  for _ in $(seq 100); do grep -q listening "$D/sdk.log" 2>/dev/null && break; sleep 0.1; done
  "$BIN/skopos-load" -url http://127.0.0.1:18203/api/event -events "$EVENTS" -visitors "$VISITORS" -concurrency "$CONC" \
    -pb-url http://127.0.0.1:18202 -pb-email $EMAIL -pb-password $PASS -site "$TID" 2>/dev/null | tail -1 | sed "s/^/sdk run $run: /"
  echo "sdk run $run: peak RSS of the SDK process: $(awk '/VmHWM/ {print $2, $3}' /proc/$SDKPID/status)"
  kill -TERM $SDKPID || true; wait $SDKPID || true
  pkill -f "serve --http 127.0.0.1:18202" || true; sleep 1
done

# PocketBase's raw create rates and the pipeline's, in one go test run
SKOPOS_BENCH_EVENTS=$EVENTS go test -run '^$' -bench 'Pipeline|Raw' -benchtime 1x -count "$RUNS" ./internal/pipeline/ | grep Benchmark
