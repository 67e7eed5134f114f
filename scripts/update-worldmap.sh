#!/usr/bin/env bash
# Refreshes the country names and map shapes the dashboard embeds
# (internal/worldmap/world.tsv) from the npm packages world-atlas
# (countries-110m.json, ISC; Natural Earth shapes) and i18n-iso-countries
# (codes.json and langs/en.json, MIT), and the region names
# (internal/worldmap/regions.tsv) from iso-3166 (2.js, MIT). Needs npm.
# Usage: scripts/update-worldmap.sh [world-atlas version] [i18n-iso-countries version] [iso-3166 version]
set -euo pipefail
cd "$(dirname "$0")/.."
ATLAS=${1:-2.0.2} # the last release of the 2.x layout (ids as ISO numbers)
NAMES=${2:-$(npm view i18n-iso-countries version)}
REGIONS=${3:-$(npm view iso-3166 version)}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir "$T/atlas" "$T/names" "$T/regions"
(cd "$T/atlas" && npm pack --silent "world-atlas@$ATLAS" >/dev/null && tar xzf ./*.tgz)
(cd "$T/names" && npm pack --silent "i18n-iso-countries@$NAMES" >/dev/null && tar xzf ./*.tgz)
(cd "$T/regions" && npm pack --silent "iso-3166@$REGIONS" >/dev/null && tar xzf ./*.tgz)
cp "$T/atlas/package/LICENSE" internal/worldmap/LICENSE.world-atlas
cp "$T/names/package/LICENSE" internal/worldmap/LICENSE.i18n-iso-countries
cp "$T/regions/package/license" internal/worldmap/LICENSE.iso-3166
# one "code<TAB>name" line per ISO 3166-2 subdivision, sorted by code
node --input-type=module -e "
import {iso31662} from '$T/regions/package/2.js'
const rows = iso31662.map(r => r.code + '\t' + r.name.replace(/[\t\n]/g, ' ')).sort()
process.stdout.write('# iso-3166 $REGIONS (MIT): ISO 3166-2 subdivision names\n' + rows.join('\n') + '\n')
" > internal/worldmap/regions.tsv
go run ./internal/worldmap/gen -atlas "$T/atlas/package/countries-110m.json" \
	-codes "$T/names/package/codes.json" -names "$T/names/package/langs/en.json" \
	-version "world-atlas $ATLAS countries-110m, i18n-iso-countries $NAMES"
go test -count=1 ./internal/worldmap/...
echo "regions: $(grep -vc '^#' internal/worldmap/regions.tsv) names"
echo "worldmap: $(awk -F'\t' 'NR>2 && $3!=""' internal/worldmap/world.tsv | wc -l) shapes, $(wc -c < internal/worldmap/world.tsv) bytes"
