#!/usr/bin/env bash
# Installs what Hamyar needs to build, run and test on Debian 12, only what is missing.
# Run as root (as `make run` and `make test` do on a fresh machine).
#   tools/install-deps.sh           everything: build, run, test
#   tools/install-deps.sh --build   only what building needs (docker/Dockerfile's build stage)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_PKGS=(gcc make pkg-config libzmq3-dev liblmdb-dev libjansson-dev libmicrohttpd-dev libsodium-dev
            libcurl4-openssl-dev zlib1g-dev libjemalloc-dev)
# Tests: lmdb-utils, curl, Python with pyzmq, jsonschema and yaml (the compose file check),
# iproute2 (network namespaces of the multi-host test), procps, chromium (the printable report
# page and the office console are checked in headless Chromium) and fonts-farsiweb (a Persian
# font for that page, which the gateway also serves to the console: bookworm has no
# fonts-vazirmatn).
# The container suite (tests/containers): Debian's Docker engine and client (docker.io, 20.10),
# Compose v1 (docker-compose, 1.29) and debootstrap (the debian:12-slim base image is made from
# the Debian mirror: no registry is needed).
# prometheus: its promtool checks the gateway's /metrics (test_monitoring).
TEST_PKGS=(lmdb-utils curl python3 python3-zmq python3-jsonschema python3-yaml iproute2 procps
           chromium fonts-farsiweb docker.io docker-compose debootstrap prometheus)
PKGS=("${BUILD_PKGS[@]}")
[ "${1:-}" = "--build" ] || PKGS+=("${TEST_PKGS[@]}")
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "not root: run as root, or install these packages: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
[ "${1:-}" = "--build" ] && exit 0
# The Compose specification's JSON schema for the compose file check (from the npm registry,
# pinned); a machine without npm gets a clear failure from that one test, not from here.
if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm || true
fi
# The AsyncAPI reference parser (pinned) checks /v1/asyncapi.json (test_events), installed in
# build/asyncapi-parser so that nothing is installed globally.
ASYNCAPI_PARSER=@asyncapi/parser@3.6.6
if command -v npm >/dev/null 2>&1; then
  docker/compose-schema.sh >/dev/null || echo "warning: the Compose schema could not be fetched" >&2
  if [ ! -f build/asyncapi-parser/node_modules/@asyncapi/parser/package.json ] ||
     ! grep -q '"version": "3.6.6"' build/asyncapi-parser/node_modules/@asyncapi/parser/package.json; then
    mkdir -p build/asyncapi-parser
    [ -f build/asyncapi-parser/package.json ] || echo '{"private": true}' > build/asyncapi-parser/package.json
    npm install --prefix build/asyncapi-parser --no-fund --no-audit --silent "$ASYNCAPI_PARSER" ||
      echo "warning: $ASYNCAPI_PARSER could not be installed: test_events will fail" >&2
  fi
  # Prism and Redocly CLI for the OpenAPI checks (tests/integration/test_standards_prism.py).
  tools/npm-tools.sh >/dev/null || echo "warning: Prism and Redocly could not be installed" >&2
else
  echo "warning: npm is missing: the compose file check (test_ops) and the OpenAPI checks" \
       "(test_standards_prism) will fail" >&2
fi
# The office console's tests (tests/console): puppeteer-core and axe-core from npm, pinned by
# tests/console/package-lock.json; they drive the chromium installed above, with the Persian
# font of fonts-farsiweb that the gateway serves at /console/fonts/.
if command -v npm >/dev/null 2>&1 && [ ! -d tests/console/node_modules/puppeteer-core ]; then
  (cd tests/console && npm ci --no-audit --no-fund --silent) ||
    echo "warning: the console tests' npm packages could not be installed" >&2
fi
