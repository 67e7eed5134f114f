# Sourced by the bench*.sh scripts: builds the binaries they run into a
# temporary folder ($BIN) that is removed, with every server the script
# started, when the script exits.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(mktemp -d)
trap 'pkill -P $$ 2>/dev/null || true; rm -rf "$BIN"' EXIT
go build -o "$BIN/skopos" ./cmd/skopos
go build -o "$BIN/skopos-load" ./cmd/skopos-load
go build -o "$BIN/nethttp" ./examples/nethttp

# serve_sync DIR PORT MODE [VAR=value ...] starts `skopos serve` on a fresh
# data dir under DIR, with the intake log in MODE ("memory": no log;
# "default": SKOPOS_SPOOL_SYNC unset; else that policy) and the extra
# variables, and waits until it listens; its log is DIR/serve.log.
serve_sync() {
  local dir=$1 port=$2 mode=$3; shift 3
  local envs=(SKOPOS_ADMIN_EMAIL=bench@example.com SKOPOS_ADMIN_PASSWORD=bench-password-1 "$@")
  case $mode in
    memory) envs+=(SKOPOS_SPOOL=off) ;;
    default) ;;
    *) envs+=(SKOPOS_SPOOL_SYNC=$mode) ;;
  esac
  env "${envs[@]}" "$BIN/skopos" serve --http 127.0.0.1:"$port" --dir "$dir/pb" >"$dir/serve.log" 2>&1 &
  for _ in $(seq 200); do grep -q "Server started" "$dir/serve.log" 2>/dev/null && break; sleep 0.1; done
}

# stop_serve PORT stops the server serve_sync started on PORT and waits
# until it is gone.
stop_serve() {
  pkill -f "serve --http 127.0.0.1:$1" || true
  for _ in $(seq 100); do pgrep -f "serve --http 127.0.0.1:$1" >/dev/null || break; sleep 0.1; done
}
