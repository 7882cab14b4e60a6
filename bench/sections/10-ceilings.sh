# bench/sections/10-ceilings.sh — the baselines every other section is measured against,
# taken in the same run on the same machine: what HTTP alone and durable LMDB alone can do.
#
# Exports:
#   CEIL_BARE_RPS              bare libmicrohttpd answering a constant, same threading as the gateway
#   CEIL_BARE_US               CPU µs per bare request, server and load generator together
#   CEIL_LMDB_PUTS             raw durable LMDB puts per second, one put per transaction
#   CEIL_LMDB_BATCH_PUTS       the same with CEIL_LMDB_BATCH puts per transaction
#   CEIL_PIPE_W_RPS, _W_US     bare pipeline, write: MHD + jansson + ZeroMQ + durable LMDB group
#                              commit (bench/bare_pipeline.c); CPU µs per request, all processes
#   CEIL_PIPE_R_RPS, _R_US     the same with an LMDB read

bench_ceilings() {
  bench_section "ceilings (measured in this run, on this machine)"

  # Durable LMDB, in the directory the services' data goes to (the same filesystem).
  local out
  out=$("$TOOLS/lmdb_puts" --dir "$BENCH_DIR/lmdb-1" --seconds "$(bench_secs 3)" --batch 1)
  CEIL_LMDB_PUTS=$(bench_kv "$out" puts_per_s)
  bench_row "$(printf '%-58s %9s puts/s   commit p50 %s ms, p99 %s ms' \
    "raw durable LMDB puts, 1 put per transaction (fsync each)" "$(bench_int "$CEIL_LMDB_PUTS")" \
    "$(bench_kv "$out" commit_p50_ms)" "$(bench_kv "$out" commit_p99_ms)")"
  CEIL_LMDB_BATCH=16
  out=$("$TOOLS/lmdb_puts" --dir "$BENCH_DIR/lmdb-16" --seconds "$(bench_secs 2)" --batch "$CEIL_LMDB_BATCH")
  CEIL_LMDB_BATCH_PUTS=$(bench_kv "$out" puts_per_s)
  bench_row "$(printf '%-58s %9s puts/s   commit p50 %s ms, p99 %s ms' \
    "raw durable LMDB puts, $CEIL_LMDB_BATCH per transaction" "$(bench_int "$CEIL_LMDB_BATCH_PUTS")" \
    "$(bench_kv "$out" commit_p50_ms)" "$(bench_kv "$out" commit_p99_ms)")"
  rm -rf "$BENCH_DIR/lmdb-1" "$BENCH_DIR/lmdb-16"

  # Bare HTTP: MHD started as the gateway starts it, answering a constant.
  local base; base=$(bench_free_base)
  bench_start bare-mhd "$TOOLS/bare_mhd" --port "$base" --threads "$BENCH_THREADS"
  local pid=$BENCH_PID
  for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$base/" >/dev/null 2>&1 && break; sleep 0.1; done
  bench_snapshot "$pid" >"$BENCH_DIR/snap0"
  out=$("$TOOLS/loadgen" --port "$base" --mode get --path / --conns "$BENCH_CONNS" --threads 2 \
        --warmup 1 --duration "$(bench_secs 5)")
  bench_snapshot "$pid" >"$BENCH_DIR/snap1"
  bench_stop "$pid"
  CEIL_BARE_RPS=$(bench_kv "$out" rps)
  CEIL_BARE_US=$(bench_calc "($(bench_cpu_delta "$BENCH_DIR/snap0" "$BENCH_DIR/snap1" "$pid" .) + \
    $(bench_kv "$out" cpu_s)) * 1000000 / $(bench_kv "$out" answered)")
  bench_row "$(printf '%-58s %9s req/s    p50 %s ms, p99 %s ms' \
    "bare libmicrohttpd, constant JSON, $BENCH_THREADS threads, $BENCH_CONNS conns" \
    "$(bench_int "$CEIL_BARE_RPS")" "$(bench_kv "$out" p50_ms)" "$(bench_kv "$out" p99_ms)")"
  bench_note "$(printf 'CPU per request: %.0f µs, server and load generator together' "$CEIL_BARE_US")"
  export CEIL_BARE_RPS CEIL_BARE_US CEIL_LMDB_PUTS CEIL_LMDB_BATCH_PUTS CEIL_LMDB_BATCH
  s_ceil_pipeline
}

# s_pipe_run LABEL LOADGEN-ARGS...: one load run against the bare pipeline; sets P_RPS P_US and
# prints the row with the CPU per request of each process.
s_pipe_run() {
  local label=$1; shift
  bench_snapshot "$PIPE_HTTP" "$PIPE_WORKER" >"$BENCH_DIR/snap0"
  local out; out=$("$TOOLS/loadgen" --port "$PIPE_PORT" "$@")
  bench_snapshot "$PIPE_HTTP" "$PIPE_WORKER" >"$BENCH_DIR/snap1"
  local n; n=$(bench_kv "$out" answered); [ "${n:-0}" -gt 0 ] || n=1
  local http worker load
  http=$(bench_calc "$(bench_cpu_delta "$BENCH_DIR/snap0" "$BENCH_DIR/snap1" "$PIPE_HTTP" .) * 1000000 / $n")
  worker=$(bench_calc "$(bench_cpu_delta "$BENCH_DIR/snap0" "$BENCH_DIR/snap1" "$PIPE_WORKER" .) * 1000000 / $n")
  load=$(bench_calc "$(bench_kv "$out" cpu_s) * 1000000 / $n")
  P_RPS=$(bench_kv "$out" rps)
  P_US=$(bench_calc "$http + $worker + $load")
  bench_row "$(printf '%-58s %9s req/s    p50 %s ms, p99 %s ms' "$label" "$(bench_int "$P_RPS")" \
    "$(bench_kv "$out" p50_ms)" "$(bench_kv "$out" p99_ms)")"
  bench_note "$(printf 'CPU per request by process: HTTP side %.0f µs, worker %.0f µs, load generator %.0f µs; total %.0f µs' \
    "$http" "$worker" "$load" "$P_US")"
}

# s_pipe_start / s_pipe_stop: the bare pipeline's two processes (HTTP side and worker), on a
# port of their own; 20-spine.sh starts them again beside the cluster to pair its rounds.
s_pipe_start() {
  PIPE_PORT=$(bench_free_base)
  local ep="tcp://127.0.0.1:$((PIPE_PORT + 1))"
  bench_start bare-worker "$TOOLS/bare_pipeline" worker --endpoint "$ep" --dir "$BENCH_DIR/pipe-lmdb-$PIPE_PORT"
  PIPE_WORKER=$BENCH_PID
  bench_start bare-http "$TOOLS/bare_pipeline" http --port "$PIPE_PORT" --endpoint "$ep" \
    --threads "$BENCH_PIPE_THREADS"
  PIPE_HTTP=$BENCH_PID
  for _ in $(seq 1 50); do   # any answer (404 included) means it listens
    curl -sS -o /dev/null "http://127.0.0.1:$PIPE_PORT/v1/persons/none" 2>/dev/null && break
    sleep 0.1
  done
}
s_pipe_stop() {
  bench_stop "$PIPE_HTTP" "$PIPE_WORKER"
  rm -rf "$BENCH_DIR/pipe-lmdb-$PIPE_PORT"
}

# s_pipe_write LABEL SECONDS [IDS-FILE]: one write run of the bare pipeline (P_RPS, P_US).
s_pipe_write() {
  s_pipe_run "$1" --mode post-persons --path /v1/persons --key none --conns "$BENCH_CONNS" \
    --threads 2 --warmup 1 --duration "$(bench_secs "$2")" --ids "${3:-/dev/null}"
}

# The bare pipeline: what HTTP + JSON + ZeroMQ + durable LMDB cost with nothing of Hamyar's.
s_ceil_pipeline() {
  local ids="$BENCH_DIR/pipe-ids"
  s_pipe_start
  s_pipe_write "bare pipeline write (MHD+jansson+ZeroMQ+LMDB group commit), $BENCH_CONNS conns" 5 "$ids"
  CEIL_PIPE_W_RPS=$P_RPS CEIL_PIPE_W_US=$P_US
  s_pipe_run "bare pipeline read (the same, one LMDB read per request), $BENCH_CONNS conns" \
    --mode get-ids --path /v1/persons/ --conns "$BENCH_CONNS" --threads 2 --warmup 1 \
    --duration "$(bench_secs 5)" --ids "$ids"
  CEIL_PIPE_R_RPS=$P_RPS CEIL_PIPE_R_US=$P_US
  bench_note "bare pipeline: $BENCH_PIPE_THREADS HTTP threads, each waiting on its round trip (the simplest fast shape)"
  s_pipe_stop
  export CEIL_PIPE_W_RPS CEIL_PIPE_W_US CEIL_PIPE_R_RPS CEIL_PIPE_R_US
}
