#!/usr/bin/env bash
# Fetches the Compose specification's JSON schema, against which tests/integration/test_ops.py
# checks docker-compose.yml. The npm package dclint (a Compose linter) ships it as
# schemas/compose.schema.json; the version is pinned and the file's hash checked, so every
# machine checks against the same schema. Only the schema is kept (no dependency installed).
#
#   docker/compose-schema.sh [DIR]     (default build/compose-schema; prints the schema's path)
set -euo pipefail
cd "$(dirname "$0")/.."
PKG=dclint@3.1.0
SHA256=46b7d35f19dd93a05f8fea530291bf84d881c1791ec167ecf0e6fb94e639d496
DIR=${1:-build/compose-schema}
OUT=$DIR/compose.schema.json
if [ -f "$OUT" ] && echo "$SHA256  $OUT" | sha256sum -c --status; then
  echo "$OUT"
  exit 0
fi
mkdir -p "$DIR"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && npm pack --silent --no-fund --no-audit "$PKG" >/dev/null )
tar -xzf "$tmp"/*.tgz -C "$tmp" package/schemas/compose.schema.json
if ! echo "$SHA256  $tmp/package/schemas/compose.schema.json" | sha256sum -c --status; then
  echo "compose-schema: $PKG ships a schema with another hash than $SHA256" >&2
  exit 1
fi
mv "$tmp/package/schemas/compose.schema.json" "$OUT"
echo "$OUT"
