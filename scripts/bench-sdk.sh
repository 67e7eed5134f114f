#!/usr/bin/env bash
# SDK mode through the Skopos server (issue "SDK mode through the Skopos
# server"), in one run per round, against the same load:
#   embedded    the load goes straight to `skopos serve`
#   sdk-ingest  examples/nethttp (spool on) → skopos serve's ingest route
#   sdk-batch   examples/nethttp (SKOPOS_ROUTE=batch) → PocketBase's batch API on the same server
#   rr-2        two nethttp instances, each visitor's requests alternating
#               between them, one restarted mid-run; then the server's
#               database is checked (summaries and sessions vs raw events)
# CPU per stored event of the app and of the server from /proc, peak RSS of the app.
# Usage: scripts/bench-sdk.sh [runs=3] [events=20000] [visitors=2000] [concurrency=32]
RUNS=${1:-3} EVENTS=${2:-20000} VISITORS=${3:-2000} CONC=${4:-32}
. "$(dirname "$0")/bench-lib.sh"
EMAIL=bench@example.com PASS=bench-password-1 SPORT=18301
TCK=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }   # user+system ticks
per_event() { awk -v a="$1" -v b="$2" -v t="$TCK" -v n="$3" 'BEGIN { if (n > 0) printf "%.1f", (b-a)/t*1e6/n; else print "-" }'; }

serve() { # $1 dir → sets SPID, TID
  SKOPOS_ADMIN_EMAIL=$EMAIL SKOPOS_ADMIN_PASSWORD=$PASS "$BIN/skopos" serve --http 127.0.0.1:$SPORT --dir "$1" >"$1.log" 2>&1 &
  SPID=$!
  for _ in $(seq 200); do grep -q "Server started" "$1.log" 2>/dev/null && break; sleep 0.1; done
  TID=$(grep "demo website trackingId" "$1.log" | awk '{print $NF}')
}
app() { # $1 port $2 log, env ROUTE SPOOL → echoes the pid
  SKOPOS_SITE_ID=$TID POCKETBASE_URL=http://127.0.0.1:$SPORT POCKETBASE_ADMIN_EMAIL=$EMAIL POCKETBASE_ADMIN_PASSWORD=$PASS \
    PORT=$1 SKOPOS_ROUTE=${ROUTE:-} SKOPOS_SPOOL_DIR=${SPOOL:-} "$BIN/nethttp" >/dev/null 2>"$2" &
  local pid=$!
  for _ in $(seq 100); do grep -q listening "$2" 2>/dev/null && break; sleep 0.1; done
  echo $pid
}
load() { # $1 url(s)
  "$BIN/skopos-load" -url "$1" -events "$EVENTS" -visitors "$VISITORS" -concurrency "$CONC" -settle 30s \
    -pb-url http://127.0.0.1:$SPORT -pb-email $EMAIL -pb-password $PASS -site "$TID" 2>/dev/null | tail -1
}
stored() { echo "$1" | sed 's/.*"stored":\([0-9]*\).*/\1/'; }
stop() { kill -TERM "$@" 2>/dev/null || true; for p in "$@"; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done; }

for run in $(seq "$RUNS"); do
  D=$(mktemp -d); serve "$D/pb"; s0=$(cpu $SPID)
  out=$(load http://127.0.0.1:$SPORT/api/event); s1=$(cpu $SPID)
  echo "run $run embedded: $out server_cpu_us_per_event=$(per_event $s0 $s1 "$(stored "$out")")"
  stop $SPID; rm -rf "$D"

  for mode in sdk-ingest sdk-batch; do
    D=$(mktemp -d); serve "$D/pb"
    if [ $mode = sdk-batch ]; then ROUTE=batch; SPOOL=""; else ROUTE=""; SPOOL="$D/spool"; fi
    APID=$(ROUTE=$ROUTE SPOOL=$SPOOL app 18303 "$D/app.log")
    s0=$(cpu $SPID); a0=$(cpu $APID)
    out=$(load http://127.0.0.1:18303/api/event); s1=$(cpu $SPID); a1=$(cpu $APID)
    n=$(stored "$out")
    echo "run $run $mode: $out app_cpu_us_per_event=$(per_event $a0 $a1 "$n") server_cpu_us_per_event=$(per_event $s0 $s1 "$n") app_peak_rss=$(awk '/VmHWM/ {print $2 $3}' /proc/$APID/status)"
    stop $APID $SPID; rm -rf "$D"
  done

  D=$(mktemp -d); serve "$D/pb"
  A1=$(ROUTE="" SPOOL="$D/spool1" app 18303 "$D/app1.log"); A2=$(ROUTE="" SPOOL="$D/spool2" app 18304 "$D/app2.log")
  # the load lasts a few seconds: restart the first instance a moment in
  ( sleep 0.7; kill -TERM $A1; while kill -0 $A1 2>/dev/null; do sleep 0.1; done
    ROUTE="" SPOOL="$D/spool1" app 18303 "$D/app1b.log" >/dev/null ) &
  RESTARTER=$!
  out=$(load http://127.0.0.1:18303/api/event,http://127.0.0.1:18304/api/event)
  wait $RESTARTER
  echo "run $run rr-2 (one instance restarted): $out"
  stop $(pgrep -f "$BIN/nethttp" || true)
  stop $SPID
  SKOPOS_CHECK_DB="$D/pb/data.db" go test -count=1 -run TestDataDir -v ./internal/summarytest/ 2>&1 | grep -E "differ|FAIL|--- " | sed "s/^/run $run rr-2 check: /"
  rm -rf "$D"
done
