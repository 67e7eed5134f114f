#!/usr/bin/env bash
# Rebuilds internal/uaname/testdata/browsers.json (see SOURCE.md there):
# every published version of the npm package top-user-agents (MIT), the
# union of their lists, named by ua-parser-js 2.0.10 (the parser of the
# Skopos Node SDK). Needs node and npm.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists"
cd "$work"
for v in $(npm view top-user-agents versions --json | node -e 'JSON.parse(require("fs").readFileSync(0)).forEach(v => console.log(v))'); do
  npm pack --silent "top-user-agents@$v" >/dev/null
  mkdir "x" && tar xzf "top-user-agents-$v.tgz" -C x
  # the package's main list (src/index.json, or index.json in old versions)
  f=$(ls x/package/src/index.json x/package/index.json 2>/dev/null | head -1 || true)
  if [ -n "$f" ]; then cp "$f" "lists/$v.json"; fi
  rm -rf x "top-user-agents-$v.tgz"
done
cp "$root/scripts/ua-corpus/package.json" "$root/scripts/ua-corpus/build.mjs" "$root/scripts/ua-corpus/formats.txt" .
npm install --silent --no-audit --no-fund >/dev/null
node build.mjs lists "$root/internal/uaname/testdata/browsers.json" formats.txt "$root/internal/uaname/testdata/formats.json"
