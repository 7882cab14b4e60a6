# bench/sections/25-stall.sh — one stopped service must not slow the others: the latency of
# GET /v1/persons/{id} (registry) while the networks service is SIGSTOPped with requests for
# it in flight, against the same GET with nothing stopped.
#
# The gateway forwards asynchronously (gateway/forward.c): the requests for the stopped
# service wait in the forwarder until their deadline; no HTTP thread waits with them.

bench_stall() {
  bench_section "a stopped service: registry GET p99 while networks is SIGSTOPped with requests in flight"
  local ids="$BENCH_DIR/stall-ids"
  bench_cluster_start stall "registry networks" HY_GATEWAY_THREADS="$BENCH_THREADS"
  bench_load --mode post-persons --key "$KEY_SOCIAL_SERVICES" --conns 16 --threads 2 --warmup 0 \
    --duration "$(bench_secs 2)" --seed 900000000 --ids "$ids" >/dev/null
  bench_measure registry --mode get-ids --key "$KEY_SOCIAL_SERVICES" --conns "$BENCH_CONNS" \
    --threads 2 --warmup 1 --duration "$(bench_secs 4)" --ids "$ids"
  local calm_p99=$M_P99 calm_rps=$M_RPS
  bench_row "$(printf '%-44s %9s req/s    p50 %s ms, p99 %s ms' "GET, nothing stopped" \
    "$(bench_int "$M_RPS")" "$M_P50" "$M_P99")"

  local secs; secs=$(bench_secs 4)
  kill -STOP "${SVC_PIDS[networks]}"
  "$TOOLS/loadgen" --port "$HY_HTTP_PORT" --mode get --path /v1/networks/net_1 \
    --key "$KEY_SOCIAL_SERVICES" --conns 32 --threads 1 --warmup 0 \
    --duration "$(bench_calc "$secs + 2")" >"$BENCH_DIR/stall-bg.out" 2>/dev/null &
  local bg=$!
  sleep 0.5
  bench_measure registry --mode get-ids --key "$KEY_SOCIAL_SERVICES" --conns "$BENCH_CONNS" \
    --threads 2 --warmup 1 --duration "$secs" --ids "$ids"
  kill -CONT "${SVC_PIDS[networks]}"
  wait "$bg" || true
  bench_row "$(printf '%-44s %9s req/s    p50 %s ms, p99 %s ms' "GET, networks stopped (32 requests held)" \
    "$(bench_int "$M_RPS")" "$M_P50" "$M_P99")"
  bench_cpu_row registry
  bench_cluster_stop
  local ratio; ratio=$(bench_ratio "$M_P99" "$calm_p99")
  BENCH_SUMMARY+=(
    "$(printf 'GET p99 with another service stopped: %s ms against %s ms with nothing stopped (%s×; %s against %s req/s)' \
      "$M_P99" "$calm_p99" "$ratio" "$(bench_int "$M_RPS")" "$(bench_int "$calm_rps")")"
    "$(printf '    target within 2×: %s' "$(awk -v r="$ratio" 'BEGIN { print (r + 0 <= 2) ? "met" : "NOT met" }')")"
  )
}
