#!/usr/bin/env bash
# Refreshes the country names and map shapes the dashboard embeds
# (internal/worldmap/world.tsv) from the npm packages world-atlas
# (countries-110m.json, ISC; Natural Earth shapes) and i18n-iso-countries
# (codes.json and langs/en.json, MIT). Needs npm.
# Usage: scripts/update-worldmap.sh [world-atlas version] [i18n-iso-countries version]
set -euo pipefail
cd "$(dirname "$0")/.."
ATLAS=${1:-2.0.2} # the last release of the 2.x layout (ids as ISO numbers)
NAMES=${2:-$(npm view i18n-iso-countries version)}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir "$T/atlas" "$T/names"
(cd "$T/atlas" && npm pack --silent "world-atlas@$ATLAS" >/dev/null && tar xzf ./*.tgz)
(cd "$T/names" && npm pack --silent "i18n-iso-countries@$NAMES" >/dev/null && tar xzf ./*.tgz)
cp "$T/atlas/package/LICENSE" internal/worldmap/LICENSE.world-atlas
cp "$T/names/package/LICENSE" internal/worldmap/LICENSE.i18n-iso-countries
go run ./internal/worldmap/gen -atlas "$T/atlas/package/countries-110m.json" \
	-codes "$T/names/package/codes.json" -names "$T/names/package/langs/en.json" \
	-version "world-atlas $ATLAS countries-110m, i18n-iso-countries $NAMES"
go test -count=1 ./internal/worldmap/...
echo "worldmap: $(awk -F'\t' 'NR>2 && $3!=""' internal/worldmap/world.tsv | wc -l) shapes, $(wc -c < internal/worldmap/world.tsv) bytes"
