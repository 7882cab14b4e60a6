# bench/sections/30-loans.sh — the loans service: the portfolio query over a generated
# portfolio of 100,000 loans, and repayments recorded per second, each beside a baseline
# measured in the same run.
#
# 1. bench/loans_fixture.c, linked against the objects of the build under test, builds the
#    portfolio in the loans service's own store (the real handlers and loans_save; see its
#    header) and, before the service opens that store, measures the baselines of a portfolio
#    pass in-process: a raw LMDB cursor scan over the 100,000 summaries the portfolio reads (no
#    decoding: the floor of any pass), the same scan decoding each summary and computing its
#    state, and the loans.portfolio handler itself through the skeleton with its reply
#    serialised (no broker, no HTTP).
# 2. The gateway and hamyar-loans then start on that store (durable commits, HY_CLOCK at the
#    fixture's date). GET /v1/loans/portfolio, and ?office=rey-1 (one of the eight offices), are
#    asked LOANS_PORTFOLIO_N times one after the other: p50 and p99 (with 20 requests, p99 is the
#    slowest), against the raw scan.
# 3. POST /v1/loans/{id}/repayments over $BENCH_CONNS keep-alive connections, each request a
#    1,000-rial repayment on the next loan still being repaid (a different loan each time), for
#    5 s after 1 s of warm-up (bench/loans_repay.c: loadgen has no such mode), against the raw
#    durable LMDB puts of 10-ceilings.sh and POST /v1/persons of 20-spine.sh when that ran
#    (SPINE_POST_RPS, else its summary line), with the CPU per request and the requests per commit.
#
# The loans belong to eight offices (rey-1 .. rey-8) and offices are boundaries (issue 15): a key
# of one office lists and repays only that office's loans (403 other_office otherwise). So every
# request here, and the fixture's own, acts for the whole province (KEY_PROVINCE, office '*'),
# and the portfolio's total is checked to count every loan.

LOANS_TODAY=2024-12-15     # the fixture's "today", and HY_CLOCK of the service
LOANS_N=${HY_BENCH_LOANS:-100000}
LOANS_PORTFOLIO_N=20

# The fixture links the build's own objects, so it is built per run into the data directory;
# the load generator is a plain bench program, built into $TOOLS like run.sh's.
s_loans_tools() {
  local flags=(-std=c11 -Wall -Wextra -Werror -O2 -g -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L)
  local build=${BIN%/bin} objs=() o
  for o in "$build"/services/loans/*.o; do [ "${o##*/}" = main.o ] || objs+=("$o"); done
  if [ ${#objs[@]} -eq 0 ] || [ ! -f "$build/libhamyar.a" ]; then
    echo "bench: no loans objects in $build (build it with the loans service)" >&2
    return 1
  fi
  ${CC:-gcc} "${flags[@]}" -Ishared -Iservices/loans -o "$BENCH_DIR/loans_fixture" \
    bench/loans_fixture.c "${objs[@]}" "$build/libhamyar.a" -lzmq -llmdb -ljansson -lsodium -lpthread
  if [ ! -x "$TOOLS/loans_repay" ] || [ bench/loans_repay.c -nt "$TOOLS/loans_repay" ]; then
    ${CC:-gcc} "${flags[@]}" -o "$TOOLS/loans_repay" bench/loans_repay.c -lpthread
  fi
}

s_loans_row() {   # s_loans_row LABEL UNIT RATIO-TEXT
  bench_row "$(printf '%-44s %9s %-6s p50 %s ms, p99 %s ms   %s' "$1" "$(bench_int "$M_RPS")" "$2" \
    "$M_P50" "$M_P99" "$3")"
  [ "$M_BAD" -eq 0 ] || bench_note "$M_BAD answers were not 2xx or broke off (the first are shown above)"
}

# One portfolio query, checked: the total counts every loan disbursed as of today.
s_loans_check_portfolio() {
  local body
  body=$(curl -sS -H "Authorization: Bearer $KEY_PROVINCE" \
    "http://127.0.0.1:$HY_HTTP_PORT/v1/loans/portfolio") || return 1
  LOANS_PORT_BYTES=${#body}
  LOANS_PORT_TOTAL=$(printf '%s' "$body" | python3 -c '
import json, sys
t = json.load(sys.stdin)["total"]
print(t["loans"], t["par30_bp"], t["active_loans"], t["repayment_rate_bp"])' 2>/dev/null || echo "? ? ? ?")
}

# bench_measure with the repayment load generator in loadgen's place (lib.sh's bench_load
# runs $TOOLS/loadgen; it is swapped for the one measurement and put back).
s_loans_measure_repay() {
  local saved; saved=$(declare -f bench_load)
  # shellcheck disable=SC2317  # called by bench_measure
  bench_load() { "$TOOLS/loans_repay" --port "$HY_HTTP_PORT" "$@" 2> >(sed 's/^/     /' >&2); }
  bench_measure loans "$@"
  eval "$saved"
}

# POST /v1/persons req/s of 20-spine.sh in this run, or nothing: SPINE_POST_RPS when the spine
# section sets it, else read back from its summary line.
s_loans_persons_rps() {
  if [ -n "${SPINE_POST_RPS:-}" ]; then echo "$SPINE_POST_RPS"; return; fi
  local line
  for line in "${BENCH_SUMMARY[@]+"${BENCH_SUMMARY[@]}"}"; do
    case "$line" in
      "POST /v1/persons, $BENCH_CONNS conns: "*)
        line=${line#*conns: }; echo "${line%% req/s*}" | tr -d ,; return ;;
    esac
  done
}

bench_loans() {
  bench_section "loans: portfolio over $(bench_int "$LOANS_N") loans, repayments (durable), $BENCH_THREADS gateway threads"
  if [ ! -x "$BIN/hamyar-loans" ]; then
    bench_row "skipped: $BIN/hamyar-loans is missing (build with the loans service)"
    return 0
  fi
  s_loans_tools || return 0
  local ids="$BENCH_DIR/loans-ids" F
  mkdir -p "$BENCH_DIR/loans/var"
  F=$("$BENCH_DIR/loans_fixture" --dir "$BENCH_DIR/loans/var/loans" --loans "$LOANS_N" \
      --today "$LOANS_TODAY" --ids "$ids" --rounds "$LOANS_PORTFOLIO_N" 2>"$BENCH_DIR/loans-fixture.log") || {
    echo "bench: the loans fixture failed (see $BENCH_DIR/loans-fixture.log):" >&2
    sed 's/^/     /' "$BENCH_DIR/loans-fixture.log" >&2
    return 0
  }
  local scan decode handler handler_office
  scan=$(bench_kv "$F" scan_ms); decode=$(bench_kv "$F" decode_ms)
  handler=$(bench_kv "$F" handler_ms); handler_office=$(bench_kv "$F" handler_office_ms)
  bench_row "$(printf 'fixture: %s loans (%s through the handlers, %s requests; the rest copies by loans_save) in %s s, %s MB store' \
    "$(bench_int "$(bench_kv "$F" loans)")" "$(bench_int "$(bench_kv "$F" through_handlers)")" \
    "$(bench_int "$(bench_kv "$F" requests)")" "$(bench_kv "$F" load_s)" "$(bench_kv "$F" store_mb)")"
  bench_note "$(printf 'borrowers: %s on time, %s late by 1-3 installments, %s never paid (%s of them written off); %s closed; %s still repaying' \
    "$(bench_int "$(bench_kv "$F" on_time)")" "$(bench_int "$(bench_kv "$F" late)")" \
    "$(bench_int "$(bench_kv "$F" silent)")" "$(bench_int "$(bench_kv "$F" written_off)")" \
    "$(bench_int "$(bench_kv "$F" closed)")" "$(bench_int "$(bench_kv "$F" repayable)")")"
  bench_row "$(printf '%-58s %8s ms   (min %s ms; %s summaries, %s MB)' \
    "baseline: raw LMDB cursor scan of the summaries, no decoding" "$scan" "$(bench_kv "$F" scan_min_ms)" \
    "$(bench_int "$(bench_kv "$F" summaries)")" "$(bench_calc "int($(bench_kv "$F" summary_bytes) / 104857.6) / 10")")"
  bench_row "$(printf '%-58s %8s ms   (min %s ms) = %s× the raw scan' \
    "the same scan decoding each summary and computing its state" "$decode" \
    "$(bench_kv "$F" decode_min_ms)" "$(bench_ratio "$decode" "$scan" 1)")"
  bench_row "$(printf '%-58s %8s ms   (min %s ms) = %s× the raw scan; ?office=rey-1 %s ms' \
    "loans.portfolio handler in-process, reply serialised" "$handler" \
    "$(bench_kv "$F" handler_min_ms)" "$(bench_ratio "$handler" "$scan" 1)" "$handler_office")"
  bench_note "(each the median of $LOANS_PORTFOLIO_N passes, in the fixture, before the service opened the store)"

  bench_cluster_start loans loans HY_GATEWAY_THREADS="$BENCH_THREADS" HY_CLOCK="$LOANS_TODAY" \
    HY_MAP_SIZE_MB=4096
  s_loans_check_portfolio
  local total; read -r -a total <<<"$LOANS_PORT_TOTAL"
  [ "${total[0]}" = "$LOANS_N" ] ||
    bench_note "WARNING: the portfolio counts ${total[0]} loans, not $LOANS_N: the key does not see them all"
  bench_note "$(printf 'GET /v1/loans/portfolio: %s loans, %s active, PAR30 %s bp, repayment rate %s bp; %s bytes' \
    "${total[0]}" "${total[2]}" "${total[1]}" "${total[3]}" "$LOANS_PORT_BYTES")"

  bench_measure loans --mode get --path /v1/loans/portfolio --key "$KEY_PROVINCE" \
    --conns 1 --threads 1 --requests "$LOANS_PORTFOLIO_N"
  local port_p50=$M_P50 port_p99=$M_P99 port_us=$M_US_ALL port_svc_us=$M_US_SVC
  s_loans_row "GET /v1/loans/portfolio, 1 conn, $LOANS_PORTFOLIO_N in a row" "req/s" \
    "p50 = $(bench_ratio "$M_P50" "$scan" 1)× the raw scan"
  # /proc counts CPU in clock ticks (10 ms): over 20 queries only the service's share is steady.
  bench_note "$(printf 'CPU per query: %.1f ms in the loans process, %.1f ms everything else (gateway, broker, client; 10 ms clock ticks)' \
    "$(bench_calc "$M_US_SVC / 1000")" "$(bench_calc "($M_US_ALL - $M_US_SVC) / 1000")")"
  bench_measure loans --mode get --path "/v1/loans/portfolio?office=rey-1" --key "$KEY_PROVINCE" \
    --conns 1 --threads 1 --requests "$LOANS_PORTFOLIO_N"
  local office_p50=$M_P50 office_p99=$M_P99
  s_loans_row "GET /v1/loans/portfolio?office=rey-1" "req/s" \
    "p50 = $(bench_ratio "$M_P50" "$scan" 1)× the raw scan"

  s_loans_measure_repay --key "$KEY_PROVINCE" --ids "$ids" --date "$LOANS_TODAY" \
    --amount 1000 --seed "$RANDOM" --conns "$BENCH_CONNS" --warmup 1 --duration "$(bench_secs 5)"
  local rep_rps=$M_RPS rep_p50=$M_P50 rep_p99=$M_P99 rep_batch=$M_BATCH rep_us=$M_US_ALL \
        rep_others=$M_OTHERS
  local vs_persons="" persons_rps
  persons_rps=$(s_loans_persons_rps)
  [ -z "$persons_rps" ] ||
    vs_persons="; $(bench_ratio "$M_RPS" "$persons_rps") of POST /v1/persons ($(bench_int "$persons_rps")/s)"
  s_loans_row "POST /v1/loans/{id}/repayments, $BENCH_CONNS conns" "req/s" \
    "$(bench_ratio "$M_RPS" "$CEIL_LMDB_PUTS" 1)× raw durable LMDB puts; $M_BATCH requests per commit$vs_persons"
  bench_cpu_row loans
  bench_note "$(bench_kv "$M" answered) repayments recorded on as many loans (of $(bench_int "$(bench_kv "$F" repayable)") still being repaid)"

  # Reads beside the writer (issue 13): the same repayment load while one client asks for the
  # portfolio back to back; the reader threads serve it, so a repayment should not wait behind a
  # 40 ms scan. Target: p99 at most 2x the p99 of the run above.
  local dur; dur=$(bench_secs 5)
  "$TOOLS/loadgen" --port "$HY_HTTP_PORT" --mode get --path /v1/loans/portfolio \
    --key "$KEY_PROVINCE" --conns 1 --threads 1 --warmup 0 \
    --duration "$(bench_calc "$dur + 1.5")" >"$BENCH_DIR/loans-portfolio-load" 2>&1 &
  local port_load=$!
  s_loans_measure_repay --key "$KEY_PROVINCE" --ids "$ids" --date "$LOANS_TODAY" \
    --amount 1000 --seed "$RANDOM" --conns "$BENCH_CONNS" --warmup 1 --duration "$dur"
  wait "$port_load" || true
  local loaded_p99=$M_P99 port_q
  port_q=$(bench_kv "$(cat "$BENCH_DIR/loans-portfolio-load")" answered)
  s_loans_row "  the same while portfolio queries run back to back" "req/s" \
    "p99 = $(bench_ratio "$loaded_p99" "$rep_p99")× the p99 alone (target ≤ 2×); ${port_q:-?} portfolio queries meanwhile"
  bench_cluster_stop

  BENCH_SUMMARY+=(
    "$(printf 'GET /v1/loans/portfolio over %s loans: p50 %s ms, p99 %s ms = %s× a raw LMDB scan of the summaries (%s ms); in-process handler %s ms; ?office= p50 %s ms, p99 %s ms' \
      "$(bench_int "$LOANS_N")" "$port_p50" "$port_p99" "$(bench_ratio "$port_p50" "$scan" 1)" "$scan" \
      "$handler" "$office_p50" "$office_p99")"
    "$(printf '    %.1f ms of CPU per query, %.1f ms of it in the loans process (a reader thread: the writer goes on meanwhile) (decoding and computing the summaries alone: %s ms)' \
      "$(bench_calc "$port_us / 1000")" "$(bench_calc "$port_svc_us / 1000")" "$decode")"
    "$(printf 'POST /v1/loans/{id}/repayments, %s conns: %s req/s, p50 %s ms, p99 %s ms — %s× raw durable LMDB puts (%s/s), %s requests per commit%s' \
      "$BENCH_CONNS" "$(bench_int "$rep_rps")" "$rep_p50" "$rep_p99" \
      "$(bench_ratio "$rep_rps" "$CEIL_LMDB_PUTS" 1)" "$(bench_int "$CEIL_LMDB_PUTS")" "$rep_batch" "$vs_persons")"
    "$(printf '    %.0f µs of CPU per repayment, so %s idle cores would allow %s/s (other processes held %s cores)' \
      "$rep_us" "$NCPU" "$(bench_int "$(bench_calc "$NCPU * 1000000 / $rep_us")")" "$rep_others")"
    "$(printf '    while portfolio queries run back to back (%s of them): repayments p99 %s ms = %s× the p99 alone (target ≤ 2×)' \
      "${port_q:-?}" "$loaded_p99" "$(bench_ratio "$loaded_p99" "$rep_p99")")"
  )
}
