# bench/sections/40-insurance.sh — the insurance fund's feed: how soon a consumer hears of an
# acknowledged enrolment, and how fast a consumer starting from zero catches up on a long
# outbox, beside a raw LMDB read of the same events.
#
# 1. Latency. The gateway, hamyar-registry and hamyar-insurance (durable commits). bench/
#    insurance_feed.c subscribes to the insurance PUB socket, then INS_LAT_N times, one after the
#    other over one keep-alive connection: registers a person, creates her business, requests
#    her enrolment; latency = the moment its event reached the subscriber − the moment the 201
#    was read (negative when the event came first). p50, p99.
# 2. Catch-up. bench/event_store.c writes INS_EVENTS insurance.enrolment.requested events
#    straight into a fresh insurance store's "_outbox" database, in the skeleton's format (u64
#    big-endian sequence -> CloudEvent JSON as hy_emit writes it; no enrolment records, audit
#    or actor rows: the feed reads only the outbox). Going through the handlers would take
#    ~10 minutes per million at the durable rates of 20-spine. Baseline: a raw LMDB cursor pass
#    over those rows (no decoding), median of 3, before the service opens the store. Then
#    hamyar-insurance starts on the store and hamyar-fund-sync runs from an empty state
#    (--zmq-broker/--zmq-pub, --out FILE: one JSON line per event, fsync per batch) until the
#    last sequence is in FILE: events per second, against the raw read.

INS_LAT_N=${HY_BENCH_ENROLMENTS:-500}
INS_EVENTS=${HY_BENCH_EVENTS:-1000000}

s_ins_tools() {
  local flags=(-std=c11 -Wall -Wextra -Werror -O2 -g -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L)
  if [ ! -x "$TOOLS/event_store" ] || [ bench/event_store.c -nt "$TOOLS/event_store" ]; then
    ${CC:-gcc} "${flags[@]}" -o "$TOOLS/event_store" bench/event_store.c -llmdb -ljansson || return 1
  fi
  if [ ! -x "$TOOLS/insurance_feed" ] || [ bench/insurance_feed.c -nt "$TOOLS/insurance_feed" ]; then
    ${CC:-gcc} "${flags[@]}" -D_GNU_SOURCE -o "$TOOLS/insurance_feed" bench/insurance_feed.c -lzmq -lpthread || return 1
  fi
}

# The highest "seq" (the number; "sequence" is its zero-padded string) among the last lines of
# FILE (0 when none).
s_ins_last_seq() {
  local s
  s=$(tail -c 4096 "$1" 2>/dev/null | grep -o '"seq":[0-9]*' | tail -1 | cut -d: -f2)
  echo "${s:-0}"
}

bench_insurance() {
  bench_section "insurance: enrolment → fund consumer latency; consumer catch-up over $(bench_int "$INS_EVENTS") stored events"
  local b
  for b in hamyar-insurance hamyar-fund-sync; do
    [ -x "$BIN/$b" ] || { bench_row "skipped: $BIN/$b is missing"; return 0; }
  done
  s_ins_tools || { bench_row "skipped: the insurance bench tools did not build"; return 0; }

  # ---- 1. latency ----
  local n=$INS_LAT_N L
  n=$(awk -v n="$n" -v s="$BENCH_SCALE" 'BEGIN { x = int(n * s); print (x < 50 ? 50 : x) }')
  # the tool enrols from 2025-01-01: open the start-date window that far back
  bench_cluster_start inslat "registry insurance" HY_GATEWAY_THREADS="$BENCH_THREADS" \
    HY_INSURANCE_BACKDATE_MONTHS=120
  L=$("$TOOLS/insurance_feed" --port "$HY_HTTP_PORT" --key "$KEY_SOCIAL_SERVICES" \
      --pub "$HY_PUB_INSURANCE" --n "$n" --seed "$RANDOM" 2> >(sed 's/^/     /' >&2)) || L=""
  bench_cluster_stop
  local lat_p50 lat_p99
  if [ -n "$L" ]; then
    lat_p50=$(bench_kv "$L" p50_ms); lat_p99=$(bench_kv "$L" p99_ms)
    bench_row "$(printf '%-58s p50 %s ms, p99 %s ms (max %s, min %s)' \
      "enrolment 201 → event at a ZeroMQ SUB consumer, $(bench_kv "$L" n) one at a time" \
      "$lat_p50" "$lat_p99" "$(bench_kv "$L" max_ms)" "$(bench_kv "$L" min_ms)")"
    bench_note "$(printf '%s of %s events received; %s arrived before the client had read the 201 (negative latency: the service replies, then publishes, and the reply has one hop more)' \
      "$(bench_kv "$L" received)" "$(bench_kv "$L" n)" "$(bench_kv "$L" negative)")"
    bench_note "$(printf 'POST /v1/enrolments itself: p50 %s ms, p99 %s ms; request sent → event received: p50 %s ms, p99 %s ms' \
      "$(bench_kv "$L" ack_p50_ms)" "$(bench_kv "$L" ack_p99_ms)" "$(bench_kv "$L" sent_p50_ms)" "$(bench_kv "$L" sent_p99_ms)")"
  else
    bench_row "latency: the enrolment driver failed (logs in $BENCH_DIR)"
  fi

  # ---- 2. catch-up ----
  local dir="$BENCH_DIR/inscatch" G S
  mkdir -p "$dir/var"
  G=$("$TOOLS/event_store" gen --dir "$dir/var/insurance" --kind insurance --n "$INS_EVENTS") || {
    bench_row "catch-up: generating the store failed"; return 0; }
  S=$("$TOOLS/event_store" scan --dir "$dir/var/insurance" --rounds 3)
  local scan_ms raw_rate
  scan_ms=$(bench_kv "$S" scan_ms)
  raw_rate=$(bench_calc "$INS_EVENTS * 1000 / $scan_ms")
  bench_row "$(printf 'store: %s events (%s MB of CloudEvent JSON) written to _outbox directly in %s s' \
    "$(bench_int "$INS_EVENTS")" "$(bench_calc "int($(bench_kv "$G" bytes) / 104857.6) / 10")" "$(bench_kv "$G" gen_s)")"
  bench_row "$(printf '%-58s %12s events/s  (%s ms, min %s ms)' \
    "baseline: raw LMDB cursor pass over _outbox, no decoding" "$(bench_int "$raw_rate")" "$scan_ms" "$(bench_kv "$S" min_ms)")"
  local D dec_ms dec_rate
  D=$("$TOOLS/event_store" scan --dir "$dir/var/insurance" --rounds 1 --decode 1)
  dec_ms=$(bench_kv "$D" scan_ms)
  dec_rate=$(bench_calc "$INS_EVENTS * 1000 / $dec_ms")
  bench_row "$(printf '%-58s %12s events/s  (%s ms)' \
    "baseline: read + decode every event once (jansson)" "$(bench_int "$dec_rate")" "$dec_ms")"

  bench_cluster_start inscatch insurance HY_MAP_SIZE_MB=4096
  local out="$dir/fund.jsonl" t0 t1 last=0 fs_pid
  mkdir -p "$dir/fund-state"
  t0=$(date +%s.%N)
  bench_start inscatch-fundsync "$BIN/hamyar-fund-sync" --state "$dir/fund-state" \
    --zmq-broker "$HY_BROKER" --zmq-pub "$HY_PUB_INSURANCE" --out "$out"
  fs_pid=$BENCH_PID
  local limit; limit=$(awk -v n="$INS_EVENTS" 'BEGIN { print int(n / 2000) + 60 }')   # ≥ 2,000/s or give up
  # %.3f: bench_calc prints 6 significant digits, which rounds a Unix time by ~10,000 s
  local deadline; deadline=$(awk -v t="$t0" -v l="$limit" 'BEGIN { printf "%.3f", t + l }')
  while :; do
    last=$(s_ins_last_seq "$out")
    [ "$last" -ge "$INS_EVENTS" ] && break
    kill -0 "$fs_pid" 2>/dev/null || break
    awk -v d="$deadline" -v t="$(date +%s.%N)" 'BEGIN { exit !(t > d) }' && break
    sleep 0.05
  done
  t1=$(date +%s.%N)
  bench_stop "$fs_pid"
  bench_cluster_stop
  local secs rate lines
  secs=$(bench_calc "$t1 - $t0")
  lines=$(wc -l <"$out" 2>/dev/null || echo 0)
  rate=$(bench_calc "$last / $secs")
  bench_row "$(printf '%-58s %12s events/s  (%s events in %.2f s) = %s of the raw read' \
    "hamyar-fund-sync from zero over ZeroMQ, --out FILE" "$(bench_int "$rate")" "$(bench_int "$last")" "$secs" \
    "$(bench_ratio "$rate" "$raw_rate" 4)")"
  bench_row "$(printf '%-58s %12s = %s of the read + decode baseline (target >= 0.5)' \
    "hamyar-fund-sync catch-up against read + decode" "$(bench_int "$rate")" "$(bench_ratio "$rate" "$dec_rate" 2)")"
  [ "$last" -ge "$INS_EVENTS" ] || bench_note "did NOT reach the last sequence ($(bench_int "$INS_EVENTS")) within $limit s"
  bench_note "$(printf '%s lines in the output file; timing from process start (includes its start-up) to the last sequence seen in the file (polled every 50 ms)' "$(bench_int "$lines")")"
  rm -f "$out"

  BENCH_SUMMARY+=(
    "$(printf 'insurance: enrolment acknowledged → event at a ZeroMQ consumer: p50 %s ms, p99 %s ms (%s enrolments, one at a time; negative = event before the 201)' \
      "${lat_p50:-?}" "${lat_p99:-?}" "$n")"
    "$(printf 'insurance: fund consumer catch-up from zero over %s stored events: %s events/s, against a raw LMDB read of %s events/s (%s×) and a read + decode of %s events/s (%s×, target >= 0.5)' \
      "$(bench_int "$INS_EVENTS")" "$(bench_int "$rate")" "$(bench_int "$raw_rate")" "$(bench_ratio "$rate" "$raw_rate" 4)" \
      "$(bench_int "$dec_rate")" "$(bench_ratio "$rate" "$dec_rate" 2)")"
  )
}
