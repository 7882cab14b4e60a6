#!/usr/bin/env bash
# Installs the third-party checkers the standards tests run, pinned, from the npm registry:
#   @stoplight/prism-cli  validating proxy: the API's traffic against its OpenAPI document
#   @redocly/cli          OpenAPI lint
# into HY_NPM_PREFIX (default /opt/hamyar-npm; tests/integration/test_standards_prism.py uses
# it), and prints the directory of their executables. Offline-tolerant: when the pinned versions
# are installed already, nothing is fetched.
#   tools/npm-tools.sh
set -euo pipefail
PREFIX=${HY_NPM_PREFIX:-/opt/hamyar-npm}
PKGS=("@stoplight/prism-cli@5.16.0" "@redocly/cli@2.77.0")
have() {  # have NAME VERSION: the package is installed at that version
  local f="$PREFIX/node_modules/$1/package.json"
  [ -f "$f" ] && grep -q "\"version\": *\"$2\"" "$f"
}
missing=()
for p in "${PKGS[@]}"; do
  name=${p%@*}
  have "$name" "${p##*@}" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v npm >/dev/null 2>&1 || { echo "npm-tools: npm is missing (apt-get install npm)" >&2; exit 1; }
  mkdir -p "$PREFIX"
  npm install --silent --no-fund --no-audit --prefix "$PREFIX" "${missing[@]}" >&2
fi
echo "$PREFIX/node_modules/.bin"
