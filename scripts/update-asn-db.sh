#!/usr/bin/env bash
# Refreshes the ASN database bundled with the Skopos server
# (internal/ipinfo) from the npm package @ip-location-db/asn, converting
# its CSV files into the compact table the package embeds, and records
# its version in SOURCE.md. Needs npm and Go.
# Usage: scripts/update-asn-db.sh [version]
set -euo pipefail
cd "$(dirname "$0")/.."
PKG=@ip-location-db/asn
VERSION=${1:-$(npm view "$PKG" version)}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
(cd "$T" && npm pack --silent "$PKG@$VERSION" >/dev/null && tar xzf ./*.tgz)
go run ./internal/ipinfo/cmd/build-asn-db internal/ipinfo/asn.bin.gz "$T/package/asn-ipv4.csv" "$T/package/asn-ipv6.csv"
sed -i "s|^- Source: npm package .*|- Source: npm package \`$PKG\` version $VERSION|; s|fetched with \`npm pack\` on [0-9-]*|fetched with \`npm pack\` on $(date -u +%F)|" internal/ipinfo/SOURCE.md
go test -count=1 ./internal/ipinfo/
echo "ASN database: $PKG $VERSION ($(wc -c < internal/ipinfo/asn.bin.gz) bytes compressed)"
