# bench/lib.sh — helpers shared by the benchmark sections (sourced by bench/run.sh).
#
# A section starts the real binaries with bench_cluster_start, drives them with
# bench_measure (bench/loadgen.c, plus the CPU every thread used from /proc and the service's
# batch counters), and prints rows with bench_row / bench_note. Everything listens on loopback
# only, on ports found free at start, with data under $BENCH_DIR (a fresh temporary directory).
#
# Variables a section can read: BIN (the binaries under test), TOOLS (the bench programs),
# BENCH_DIR, NCPU, BENCH_THREADS, BENCH_CONNS, and what earlier sections exported (CEIL_* from
# sections/10-ceilings.sh).
# shellcheck shell=bash disable=SC2153  # BENCH_DIR, BIN, TOOLS, NCPU come from run.sh

# ---- numbers -------------------------------------------------------------------------------

# 12345.6 -> 12,346
bench_int() {
  awk -v x="$1" 'BEGIN { s = sprintf("%.0f", x); n = ""; while (length(s) > 3) {
    n = "," substr(s, length(s) - 2) n; s = substr(s, 1, length(s) - 3) } print s n }'
}

# bench_ratio A B [digits]: A / B, or "n/a" when B is 0 or empty
bench_ratio() {
  awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.*f\n", d, a / b }'
}

# bench_kv "k1=v1 k2=v2" k2 -> v2
bench_kv() {
  printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}

# bench_calc EXPR: floating-point arithmetic (awk syntax), printed with up to 6 significant digits
bench_calc() {
  awk "BEGIN { print $1 }"
}

bench_row() {   # bench_row TEXT...: one line of the report, indented under its section
  printf '  %s\n' "$*"
}

bench_section() {   # bench_section TITLE
  printf '\n== %s\n' "$1"
}

bench_note() {
  printf '     %s\n' "$*"
}

# ---- processes -----------------------------------------------------------------------------

BENCH_PIDS=()

# A base port with base..base+19 free on loopback.
bench_free_base() {
  local base p busy
  for _ in $(seq 1 200); do
    base=$(( (RANDOM % 2000) * 20 + 20000 ))
    busy=$(ss -Htan "( sport >= :$base and sport <= :$((base + 19)) )" 2>/dev/null | head -1)
    [ -z "$busy" ] && { echo "$base"; return 0; }
  done
  echo "bench: no free port range on loopback" >&2
  return 1
}

# bench_start TAG CMD...: starts CMD in the background, output in $BENCH_DIR/TAG.log; the pid
# is left in BENCH_PID and remembered for bench_stop_all.
bench_start() {
  local tag=$1; shift
  "$@" >>"$BENCH_DIR/$tag.log" 2>&1 &
  BENCH_PID=$!
  BENCH_PIDS+=("$BENCH_PID")
}

# bench_stop PID...: SIGTERM, then up to 15 s for a clean exit, then SIGKILL. Prints nothing
# when every process exited 0; otherwise a warning per process.
bench_stop() {
  local pid rc
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "bench: process $pid did not stop in 15 s; killed" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rc=0; wait "$pid" 2>/dev/null || rc=$?
    [ "$rc" -eq 0 ] || echo "bench: process $pid exited $rc (logs in $BENCH_DIR)" >&2
    local keep=()
    for p in "${BENCH_PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
    BENCH_PIDS=("${keep[@]+"${keep[@]}"}")
  done
}

bench_stop_all() {
  [ ${#BENCH_PIDS[@]} -eq 0 ] || bench_stop "${BENCH_PIDS[@]}"
}

# ---- the system under test -----------------------------------------------------------------

# bench_cluster_start NAME "SERVICES" [VAR=VALUE...]: starts hamyar-gateway (with its broker)
# and hamyar-SERVICE for each service, data in $BENCH_DIR/NAME, durable commits (the default),
# and waits until /readyz says every one of them has a worker (HY_SERVICES names them). Sets
# HY_HTTP_PORT, HY_BROKER, GW_PID, SVC_PIDS (service -> pid), KEY_<ROLE> for
# social_services, operator, auditor (keys of office rey-1: since offices are boundaries, a
# social_services one writes and lists only rey-1's records), and KEY_PROVINCE, a
# social_services key of the whole province (--office '*') for data spread over the offices.
# Extra VAR=VALUE pairs are exported to every process (HY_GATEWAY_THREADS=64, ...) until
# bench_cluster_stop.
# Request logs: the gateway writes one line per request to stderr whatever HY_LOG_LEVEL says,
# so every process's stderr goes to a file; services run with HY_LOG_LEVEL=warn.
declare -A SVC_PIDS
bench_cluster_start() {
  local name=$1 services=$2; shift 2
  local base; base=$(bench_free_base) || return 1
  local dir="$BENCH_DIR/$name"
  mkdir -p "$dir"
  export HY_DATA_DIR="$dir/var" HY_KEYS_FILE="$dir/keys" HY_HTTP_ADDR=127.0.0.1
  export HY_HTTP_PORT=$base HY_BROKER="tcp://127.0.0.1:$((base + 10))"
  export HY_BROKER_BIND="$HY_BROKER" HY_LOG_LEVEL=warn
  HY_SERVICES=$(echo "$services" | tr ' ' ','); export HY_SERVICES   # what /readyz waits for
  local n=1 s
  for s in registry loans networks microfund insurance reporting; do
    export "HY_PUB_${s^^}=tcp://127.0.0.1:$((base + 10 + n))"; n=$((n + 1))
  done
  local kv
  BENCH_EXTRA_VARS=()
  for kv in "$@"; do export "${kv?}"; BENCH_EXTRA_VARS+=("${kv%%=*}"); done
  local role
  for role in social_services operator auditor; do
    local key
    key=$("$BIN/hamyarctl" keys add --role "$role" --office rey-1 --file "$HY_KEYS_FILE" 2>>"$dir/hamyarctl.log" |
          grep -o 'hy_[A-Za-z0-9_-]*' | tail -1)
    [ -n "$key" ] || { echo "bench: hamyarctl made no key" >&2; return 1; }
    printf -v "KEY_${role^^}" '%s' "$key"
  done
  KEY_PROVINCE=$("$BIN/hamyarctl" keys add --role social_services --office '*' --file "$HY_KEYS_FILE" \
                 2>>"$dir/hamyarctl.log" | grep -o 'hy_[A-Za-z0-9_-]*' | tail -1)
  [ -n "$KEY_PROVINCE" ] || { echo "bench: hamyarctl made no province key" >&2; return 1; }
  bench_start "$name-gateway" "$BIN/hamyar-gateway"
  GW_PID=$BENCH_PID
  SVC_PIDS=()
  for s in $services; do
    bench_start "$name-$s" "$BIN/hamyar-$s"
    SVC_PIDS[$s]=$BENCH_PID
  done
  local want=0 body
  for _ in $(seq 1 200); do
    body=$(curl -sS "http://127.0.0.1:$HY_HTTP_PORT/readyz" 2>/dev/null || true)
    case "$body" in *'"ready":true'*) want=1; break ;; esac
    # a deployment that lists a service started later (reporting's catch-up): the ones started
    printf '%s' "$body" | python3 -c '
import json, sys
s = json.load(sys.stdin).get("services", {})
sys.exit(0 if all(s.get(n, {}).get("workers", 0) > 0 for n in sys.argv[1:]) else 1)' $services 2>/dev/null &&
      { want=1; break; }
    sleep 0.1
  done
  if [ "$want" -ne 1 ]; then
    echo "bench: $name not ready after 20 s: $body (logs in $dir and $BENCH_DIR)" >&2
    return 1
  fi
  # The registry refuses a person of an unknown office: create the eight the keys and the
  # generated data name (rey-1 .. rey-8), as an operator would before the first registration.
  case " $services " in
    *" registry "*)
      local o code
      for o in 1 2 3 4 5 6 7 8; do
        code=$(curl -sS -o "$dir/office.json" -w '%{http_code}' -X POST \
          -H "Authorization: Bearer $KEY_OPERATOR" -H 'Content-Type: application/json' \
          --data "{\"code\":\"rey-$o\",\"name\":\"دفتر تسهیل‌گری شهرری $o\",\"province\":\"تهران\",\"city\":\"تهران\",\"neighbourhoods\":[\"hood-$o\"]}" \
          "http://127.0.0.1:$HY_HTTP_PORT/v1/offices") || code=000
        case "$code" in
          201|409) ;;
          *) echo "bench: creating office rey-$o answered $code: $(cat "$dir/office.json" 2>/dev/null)" >&2
             return 1 ;;
        esac
      done ;;
  esac
}

# Stops what bench_cluster_start started and forgets its extra VAR=VALUE settings.
bench_cluster_stop() {
  local pids=("$GW_PID") s
  for s in "${!SVC_PIDS[@]}"; do pids+=("${SVC_PIDS[$s]}"); done
  bench_stop "${pids[@]}"
  for s in "${BENCH_EXTRA_VARS[@]+"${BENCH_EXTRA_VARS[@]}"}"; do unset "$s"; done
  BENCH_EXTRA_VARS=()
}

# bench_svc_counters SERVICE: "requests batches" from the service's service.status.
bench_svc_counters() {
  local doc
  doc=$("$TOOLS/svc_status" --broker "$HY_BROKER" --service "$1") || { echo "0 0"; return; }
  local req bat
  req=$(printf '%s' "$doc" | grep -o '"requests":[0-9]*' | cut -d: -f2)
  bat=$(printf '%s' "$doc" | grep -o '"batches":[0-9]*' | cut -d: -f2)
  echo "${req:-0} ${bat:-0}"
}

# bench_load LOADGEN-ARGS...: runs the load generator against the gateway; its stderr (the
# first refused answers, if any) is shown. Prints loadgen's key=value line.
bench_load() {
  "$TOOLS/loadgen" --port "$HY_HTTP_PORT" "$@" 2> >(sed 's/^/     /' >&2)
}

# ---- measuring -----------------------------------------------------------------------------

# CPU ticks of every thread of the given processes, one line each: "PID COMM TICKS"; then one
# line "SYS BUSY TOTAL" from /proc/stat (busy counts steal: time this guest did not get).
bench_snapshot() {
  local pid
  for pid in "$@"; do
    [ -d "/proc/$pid/task" ] || continue
    awk -v pid="$pid" '{ line = $0; comm = line; sub(/^[^(]*\(/, "", comm); sub(/\) [^)]*$/, "", comm)
        gsub(/ /, "_", comm); sub(/^.*\) /, "", line); split(line, f, " ")
        print pid, comm, f[12] + f[13] }' /proc/"$pid"/task/*/stat 2>/dev/null
  done
  awk '$1 == "cpu" { busy = $2 + $3 + $4 + $7 + $8 + $9; total = busy + $5 + $6; print "SYS", busy, total }' /proc/stat
}

# bench_cpu_delta BEFORE AFTER PID PATTERN: CPU seconds used between the snapshots by the
# threads of PID whose name matches the awk regex PATTERN ("." for all).
bench_cpu_delta() {
  local hz; hz=$(getconf CLK_TCK)
  awk -v pid="$3" -v pat="$4" -v hz="$hz" '
    FNR == NR { if ($1 == pid && $2 ~ pat) before[$2] += $3; next }
    $1 == pid && $2 ~ pat { after[$2] += $3 }
    END { s = 0; for (k in after) s += after[k] - before[k]; printf "%.3f\n", s / hz }' "$1" "$2"
}

# bench_measure SERVICE LOADGEN-ARGS...: one load run against the running cluster, counting
# the CPU every part of the path used. Sets:
#   M            loadgen's key=value line;  M_RPS M_P50 M_P99 M_ANSWERED M_BAD (non-2xx + I/O)
#   M_US_HTTP    gateway HTTP threads (MHD pool: parsing, keys, JSON; they never wait)
#   M_US_FWD     gateway forwarder thread (the one socket to the broker, replies matched by tag)
#   M_US_BROKER  gateway broker thread (and the idle main thread; the catalog and guard tickers)
#   M_US_GWZMQ   gateway ZeroMQ I/O thread
#   M_US_SVC     the service's reactor (and its reader threads);   M_US_SVCZMQ  its ZeroMQ I/O
#                thread;   M_US_SVCAUX  its hy-* threads (hy-intake decoding the next batch,
#                hy-flusher starting a commit's writeback, hy-import-prep)
#   M_US_LOAD    the load generator;      M_US_ALL     all of the above
#                (each in CPU microseconds per answered request, warm-up included)
#   M_OTHERS     cores busy with other processes of the machine during the run (noise)
#   M_BATCH      requests per LMDB batch of SERVICE during the run
# shellcheck disable=SC2034  # the M_* are read by the sections
bench_measure() {
  local svc=$1; shift
  local spid=${SVC_PIDS[$svc]}
  local s0="$BENCH_DIR/snap0" s1="$BENCH_DIR/snap1" c0 c1
  c0=$(bench_svc_counters "$svc")
  bench_snapshot "$GW_PID" "$spid" >"$s0"
  M=$(bench_load "$@")
  bench_snapshot "$GW_PID" "$spid" >"$s1"
  c1=$(bench_svc_counters "$svc")
  M_RPS=$(bench_kv "$M" rps); M_P50=$(bench_kv "$M" p50_ms); M_P99=$(bench_kv "$M" p99_ms)
  M_ANSWERED=$(bench_kv "$M" answered)
  M_BAD=$(( $(bench_kv "$M" non2xx) + $(bench_kv "$M" io_errors) ))
  local n=$M_ANSWERED; [ "${n:-0}" -gt 0 ] || n=1
  local per="* 1000000 / $n"
  M_US_HTTP=$(bench_calc "$(bench_cpu_delta "$s0" "$s1" "$GW_PID" '^MHD') $per")
  M_US_FWD=$(bench_calc "$(bench_cpu_delta "$s0" "$s1" "$GW_PID" '^hy-forward') $per")
  M_US_BROKER=$(bench_calc "$(bench_cpu_delta "$s0" "$s1" "$GW_PID" '^(hamyar|hy-catalog|hy-guard|hy-log)') $per")
  M_US_GWZMQ=$(bench_calc "$(bench_cpu_delta "$s0" "$s1" "$GW_PID" '^ZMQ') $per")
  M_US_SVC=$(bench_calc "$(bench_cpu_delta "$s0" "$s1" "$spid" '^hamyar') $per")
  M_US_SVCZMQ=$(bench_calc "$(bench_cpu_delta "$s0" "$s1" "$spid" '^ZMQ') $per")
  M_US_SVCAUX=$(bench_calc "$(bench_cpu_delta "$s0" "$s1" "$spid" '^hy-') $per")
  M_US_LOAD=$(bench_calc "$(bench_kv "$M" cpu_s) $per")
  M_US_GW=$(bench_calc "$M_US_HTTP + $M_US_FWD + $M_US_BROKER + $M_US_GWZMQ")
  M_US_SVCALL=$(bench_calc "$M_US_SVC + $M_US_SVCAUX + $M_US_SVCZMQ")
  M_US_ALL=$(bench_calc "$M_US_GW + $M_US_SVCALL + $M_US_LOAD")
  local hz; hz=$(getconf CLK_TCK)
  M_OTHERS=$(awk -v hz="$hz" -v ncpu="$NCPU" -v ours="$M_US_ALL" -v n="$n" '
    $1 == "SYS" { if (FNR == NR) { b0 = $2; t0 = $3 } else { b1 = $2; t1 = $3 } }
    END { wall = (t1 - t0) / ncpu; o = (b1 - b0) / hz - ours * n / 1e6
          if (o < 0) o = 0
          printf "%.2f\n", (wall > 0) ? o / (wall / hz) : 0 }' "$s0" "$s1")
  local r0 b0 r1 b1
  read -r r0 b0 <<<"$c0"; read -r r1 b1 <<<"$c1"
  M_BATCH=$(bench_ratio "$((r1 - r0 - 1))" "$((b1 - b0 - 1))" 1)
}

# bench_cpu_row SERVICE: two notes under a measured row: where the CPU went per request, and
# the rate NCPU cores would reach at that cost if nothing else ran on them.
bench_cpu_row() {
  local f='%.0f'
  bench_note "$(printf "CPU per request by process: gateway $f µs (HTTP threads $f, forwarder $f, broker $f, ZMQ I/O $f); %s $f (reactor $f, hy-* helpers $f, ZMQ I/O $f); load generator $f; total $f µs" \
    "$M_US_GW" "$M_US_HTTP" "$M_US_FWD" "$M_US_BROKER" "$M_US_GWZMQ" "$1" "$M_US_SVCALL" "$M_US_SVC" "$M_US_SVCAUX" "$M_US_SVCZMQ" "$M_US_LOAD" "$M_US_ALL")"
  bench_note "$(printf "at that cost %s cores would serve %s req/s; other processes kept %s cores busy during the run" \
    "$NCPU" "$(bench_int "$(bench_calc "$NCPU * 1000000 / ($M_US_ALL > 0 ? $M_US_ALL : 1)")")" "$M_OTHERS")"
}
