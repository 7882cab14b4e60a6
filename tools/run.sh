#!/usr/bin/env bash
# Starts the gateway (with its broker) and every service on loopback, data under ./var.
# Prints the URL and a demo API key per role; Ctrl-C stops every process cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-build/release}/bin"
SERVICES=$(ls services/*/main.c | cut -d/ -f2)
export HY_DATA_DIR="${HY_DATA_DIR:-$PWD/var}"
export HY_KEYS_FILE="${HY_KEYS_FILE:-$HY_DATA_DIR/keys}"
export HY_HTTP_PORT="${HY_HTTP_PORT:-8080}"
mkdir -p "$HY_DATA_DIR/logs"
DEMO="$HY_DATA_DIR/demo-keys"
if [ ! -s "$DEMO" ]; then
  # Demo keys for a local run: the keys file keeps only hashes; the plain keys are kept here,
  # readable by root only, so `make run` can show them again. Revoke them with hamyarctl.
  umask 077
  : > "$DEMO"
  for role in social_services insurance_fund operator auditor; do
    key=$("$BIN/hamyarctl" keys add --role "$role" --office rey-1 --id "demo-${role//_/-}" \
          --file "$HY_KEYS_FILE" | grep -o 'hy_[A-Za-z0-9_-]*' | tail -1)
    echo "$role $key" >> "$DEMO"
  done
fi
export HY_SERVICES="${HY_SERVICES:-$(echo $SERVICES | tr ' ' ',')}"
pids=()
stop() {
  trap - INT TERM
  echo; echo "stopping..."
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait || true
  echo "stopped."
  exit 0
}
trap stop INT TERM
"$BIN/hamyar-gateway" 2>>"$HY_DATA_DIR/logs/gateway.log" & pids+=($!)
for s in $SERVICES; do
  "$BIN/hamyar-$s" 2>>"$HY_DATA_DIR/logs/$s.log" & pids+=($!)
done
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$HY_HTTP_PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
# The demo keys act for office rey-1: create it once (the registry refuses a person of an
# unknown office). An operator creates real offices the same way: POST /v1/offices.
op_key=$(awk '$1=="operator"{print $2}' "$DEMO")
curl -sS -o /dev/null -X POST -H "Authorization: Bearer $op_key" -H 'Content-Type: application/json' \
  -d '{"code":"rey-1","name":"دفتر تسهیل‌گری شهرری ۱","province":"تهران","city":"تهران","neighbourhoods":["شهرری","دولت‌آباد","نازی‌آباد"]}' \
  "http://127.0.0.1:$HY_HTTP_PORT/v1/offices" || true
echo
echo "Hamyar is running at http://127.0.0.1:$HY_HTTP_PORT  (data in $HY_DATA_DIR, logs in $HY_DATA_DIR/logs)"
curl -sS "http://127.0.0.1:$HY_HTTP_PORT/readyz" || true
echo
echo "Demo API keys (send as 'Authorization: Bearer <key>'):"
while read -r role key; do printf '  %-16s %s\n' "$role" "$key"; done < "$DEMO"
ss_key=$(awk '$1=="social_services"{print $2}' "$DEMO")
cat <<EOT

Try:
  curl -s -H "Authorization: Bearer $ss_key" -H 'Content-Type: application/json' \\
       -d '{"national_id":"0013542419","first_name":"مریم","last_name":"احمدی","birth_date_jalali":"1364/01/22","sex":"female","referral":{"source":"self"}}' \\
       http://127.0.0.1:$HY_HTTP_PORT/v1/persons
  curl -s http://127.0.0.1:$HY_HTTP_PORT/v1/openapi.json | head -c 300

The office console: http://127.0.0.1:$HY_HTTP_PORT/console/  (sign in with a key above)

Ctrl-C stops everything.
EOT
wait
