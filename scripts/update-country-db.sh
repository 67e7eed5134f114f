#!/usr/bin/env bash
# Refreshes the country database bundled with the Skopos server
# (internal/geo/countrydb) from the npm package
# @ip-location-db/geo-whois-asn-country-mmdb, and records its version in
# SOURCE.md. Needs npm. Usage: scripts/update-country-db.sh [version]
set -euo pipefail
cd "$(dirname "$0")/.."
PKG=@ip-location-db/geo-whois-asn-country-mmdb
VERSION=${1:-$(npm view "$PKG" version)}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
(cd "$T" && npm pack --silent "$PKG@$VERSION" >/dev/null && tar xzf ./*.tgz)
gzip -9 -c "$T/package/geo-whois-asn-country.mmdb" > internal/geo/countrydb/country.mmdb.gz
sed -i "s|^- Source: npm package .*|- Source: npm package \`$PKG\` version $VERSION|; s|fetched with \`npm pack\` on [0-9-]*|fetched with \`npm pack\` on $(date -u +%F)|" internal/geo/countrydb/SOURCE.md
go test -count=1 ./internal/geo/countrydb/
echo "country database: $PKG $VERSION ($(wc -c < internal/geo/countrydb/country.mmdb.gz) bytes compressed)"
