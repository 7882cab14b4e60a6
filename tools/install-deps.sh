#!/usr/bin/env bash
# Installs what Hamyar needs to build, run and test on Debian 12, only what is missing.
# Run as root (as `make run` and `make test` do on a fresh machine).
set -euo pipefail
PKGS=(gcc make pkg-config libzmq3-dev liblmdb-dev libjansson-dev libmicrohttpd-dev libsodium-dev libcurl4-openssl-dev
      lmdb-utils curl python3 python3-zmq python3-jsonschema iproute2 procps)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "not root: run as root, or install these packages: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
