#!/usr/bin/env bash
# Reproduces the intake-log figures of BENCHMARKS.md: a burst against
# `skopos serve` with the spool off (memory queue) and with each sync
# policy, loaded by cmd/skopos-load with verification, plus the fsync cost
# read from /metrics. Usage:
#   scripts/bench-spool.sh [runs=3] [events=100000] [visitors=10000] [concurrency=64]
# MODES picks the modes (default: memory batch always off); "default" is
# the spool with SKOPOS_SPOOL_SYNC unset. CONCS="1 32 256" sweeps the
# number of clients instead of the one concurrency argument; DURATION=10s
# sends for that long instead of a fixed number of events (a run with one
# client would otherwise take minutes).
RUNS=${1:-3} EVENTS=${2:-100000} VISITORS=${3:-10000} CONC=${4:-64}
amount=(-events "$EVENTS")
if [ -n "${DURATION:-}" ]; then amount=(-duration "$DURATION"); fi
. "$(dirname "$0")/bench-lib.sh"
EMAIL=bench@example.com PASS=bench-password-1 TOKEN=bench-metrics PORT=18211 # the superuser serve_sync creates

for run in $(seq "$RUNS"); do
  for conc in ${CONCS:-$CONC}; do
  for mode in ${MODES:-memory batch always off}; do
    D=$(mktemp -d)
    serve_sync "$D" $PORT "$mode" SKOPOS_METRICS_TOKEN=$TOKEN
    TID=$(grep "demo website trackingId" "$D/serve.log" | awk '{print $NF}')
    out=$("$BIN/skopos-load" -url http://127.0.0.1:$PORT/api/event "${amount[@]}" -visitors "$VISITORS" \
      -concurrency "$conc" -settle 60s -pb-url http://127.0.0.1:$PORT -pb-email $EMAIL -pb-password $PASS -site "$TID" 2>/dev/null | tail -1)
    m=$(curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:$PORT/metrics)
    fsum=$(echo "$m" | awk '/^skopos_spool_fsync_duration_seconds_sum/ {print $2}')
    fcnt=$(echo "$m" | awk '/^skopos_spool_fsync_duration_seconds_count/ {print $2}')
    app=$(echo "$m" | awk '/^skopos_spool_appended_total/ {print $2}')
    fsync=""
    if [ -n "${fcnt:-}" ] && [ "${fcnt%.*}" != "0" ] && [ -n "${app:-}" ]; then
      fsync=$(awk -v s="$fsum" -v c="$fcnt" -v a="$app" 'BEGIN {printf " fsyncs=%d events_per_fsync=%.1f fsync_ms_mean=%.2f fsync_us_per_event=%.2f", c, a/c, 1000*s/c, 1e6*s/a}')
    fi
    echo "run $run $mode clients=$conc: $out$fsync"
    stop_serve $PORT
    rm -rf "$D"
  done
  done
done
