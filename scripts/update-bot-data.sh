#!/usr/bin/env bash
# Refreshes internal/botdetect/data/isbot.txt from the npm package isbot
# (default: the version in data/SOURCE.md; pass another as $1), then
# update the version in SOURCE.md and run go test ./internal/botdetect.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=${1:-$(sed -n 's/.*\*\*\([0-9.]*\)\*\*.*/\1/p' "$root/internal/botdetect/data/SOURCE.md" | head -1)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "isbot@$version" >/dev/null
tar xzf "isbot-$version.tgz"
node -e 'const {list} = require("./package/index.js"); process.stdout.write(list.join("\n") + "\n")' > "$root/internal/botdetect/data/isbot.txt"
echo "isbot $version: $(wc -l < "$root/internal/botdetect/data/isbot.txt") patterns → internal/botdetect/data/isbot.txt"
