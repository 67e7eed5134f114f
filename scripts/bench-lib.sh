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
