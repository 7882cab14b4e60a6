# bench/sections/60-import.sh — importing an agency's list (issue 18): 100,000 rows (HY_BENCH_
# IMPORT_ROWS) of a CSV in the form agencies send (UTF-8 BOM, Persian headers, Persian digits,
# Jalali dates, IDs without their leading zero), sent with `hamyarctl import` in 64 KiB parts
# (HY_BENCH_IMPORT_PART_KB to change)
# and applied by the registry's background step, beside POST /v1/persons measured in the same
# run, on the same cluster, just before. The import runs alone: nothing else is sent while it
# runs, and it is timed from the first byte sent to its "done" (upload and parsing included,
# "done" polled every 20 ms). Then a second list of as many other persons is sent while one
# client registers persons one at a time (a single connection) for as long as the first import
# took: the p99 of those registrations is the cost an import puts on an office at work, against
# the same client's p99 with no import running. (Until 4 December 2026 that client ran during
# the timed import, for a fixed 5 s after the upload, so the import could not be timed at less
# than the upload plus 5.5 s: its rate was under-reported whenever it was faster than that.)
#
# Target: ≥ 5 × POST /v1/persons per second. The CPU each imported row cost (registry
# and gateway) is printed beside the CPU of one POST: on a machine shared with other work the
# rates follow the load, the CPU figures much less. Last, bench/import_writer.c (built against
# the registry objects of the build measured) imports HY_BENCH_IMPORT_WRITER_ROWS (20,000) rows
# of the same list with no sockets at all and prints the CPU the registry's one writer thread
# spent per row: the steadiest figure of the section, for comparing two builds.

s_import_csv() {   # s_import_csv N [FROM]: rows FROM+1..FROM+N, every national ID valid and unique
  awk -v n="$1" -v from="${2:-0}" 'BEGIN {
    split("۰ ۱ ۲ ۳ ۴ ۵ ۶ ۷ ۸ ۹", fa, " ")
    split("فاطمه زهرا مریم معصومه سکینه کبری مهری آمنه", first, " ")
    split("رضایی محمدی کریمی حسینی یزدانی کاظمی نیکزاد احمدی", last, " ")
    printf "\xef\xbb\xbfکد ملی,نام,نام خانوادگی,تاریخ تولد,جنسیت,تلفن همراه,تعداد افراد خانوار\r\n"
    for (k = from + 1; k <= from + n; k++) {
      base = sprintf("%09d", (k * 7919 + 80000011) % 1000000000)
      s = 0; for (i = 1; i <= 9; i++) s += substr(base, i, 1) * (11 - i)
      r = s % 11; nid = base (r < 2 ? r : 11 - r)
      sub(/^0/, "", nid)
      bd = sprintf("13%02d/%02d/%02d", 40 + k % 45, 1 + k % 12, 1 + k % 28)
      out = ""
      for (i = 1; i <= length(bd); i++) { c = substr(bd, i, 1); out = out (c ~ /[0-9]/ ? fa[c + 1] : c) }
      printf "%s,%s,%s%d,%s,زن,0912%07d,%d\r\n", nid, first[1 + k % 8], last[1 + k % 8], k, out, k % 10000000, 1 + k % 6
    }
  }'
}

s_proc_ticks() {   # s_proc_ticks PID: CPU ticks of the process, threads that have ended included
  awk '{ sub(/^.*\) /, ""); split($0, f, " "); print f[12] + f[13] }' "/proc/$1/stat"
}

s_import_get() {   # s_import_get ID FIELD: a number of the import's JSON
  curl -sS -H "Authorization: Bearer $KEY_SOCIAL_SERVICES" "http://127.0.0.1:$HY_HTTP_PORT/v1/imports/$1" |
    grep -o "\"$2\":[0-9]*" | head -1 | cut -d: -f2
}

s_import_state() {
  curl -sS -H "Authorization: Bearer $KEY_SOCIAL_SERVICES" "http://127.0.0.1:$HY_HTTP_PORT/v1/imports/$1" |
    grep -o '"state":"[a-z]*"' | cut -d'"' -f4
}

# s_import_writer: the registry writer's CPU per imported row with no sockets (bench/
# import_writer.c, built here against the registry objects and headers of the build measured)
s_import_writer() {
  local src; src=$(cd "$ROOT/$BUILD/../.." && pwd)
  local bin="$BENCH_DIR/import_writer" objs=() o
  for o in "$ROOT/$BUILD"/services/registry/*.o; do [ "${o##*/}" = main.o ] || objs+=("$o"); done
  ${CC:-gcc} -std=c11 -Wall -Wextra -Werror -O2 -g -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L \
    -I"$src/shared" -I"$src/services/registry" -o "$bin" bench/import_writer.c "${objs[@]}" \
    "$ROOT/$BUILD/libhamyar.a" -lzmq -llmdb -ljansson -lsodium -lpthread $BENCH_MALLOC || return 1
  mkdir -p "$BENCH_DIR/import-writer"
  HY_LOG_LEVEL=warn "$bin" "${HY_BENCH_IMPORT_WRITER_ROWS:-20000}" "$BENCH_DIR/import-writer" | tail -1
}

bench_import() {
  local rows=${HY_BENCH_IMPORT_ROWS:-100000}
  bench_section "import: an agency's list of $rows rows (CSV, UTF-8 BOM, Persian headers and digits) beside POST /v1/persons"
  bench_cluster_start import registry HY_GATEWAY_THREADS="$BENCH_THREADS"
  local op=(-sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY_OPERATOR" -H 'Content-Type: application/json')
  curl "${op[@]}" -d '{"code":"rey-1","name":"دفتر شهرری ۱","province":"تهران","city":"تهران"}' \
    "http://127.0.0.1:$HY_HTTP_PORT/v1/offices" >/dev/null
  curl "${op[@]}" -d '{"code":"behzisti","name":"بهزیستی"}' "http://127.0.0.1:$HY_HTTP_PORT/v1/agencies" >/dev/null

  # POST /v1/persons on the same cluster, just before the import
  bench_measure registry --mode post-persons --key "$KEY_SOCIAL_SERVICES" --conns "$BENCH_CONNS" \
    --threads 2 --warmup 1 --duration "$(bench_secs 5)" --seed 500000000
  local post_rps=$M_RPS post_us=$M_US_ALL post_svc_us=$M_US_SVC
  bench_row "$(printf '%-44s %9s req/s    p50 %s ms, p99 %s ms' "POST /v1/persons, $BENCH_CONNS conns" \
    "$(bench_int "$M_RPS")" "$M_P50" "$M_P99")"
  M=$(bench_load --mode post-persons --key "$KEY_SOCIAL_SERVICES" --conns 1 --threads 1 --warmup 0.5 \
      --duration "$(bench_secs 3)" --seed 600000000)
  local idle_p99; idle_p99=$(bench_kv "$M" p99_ms)
  bench_row "$(printf '%-44s %9s req/s    p50 %s ms, p99 %s ms' "POST /v1/persons, 1 conn, no import" \
    "$(bench_int "$(bench_kv "$M" rps)")" "$(bench_kv "$M" p50_ms)" "$idle_p99")"

  local file="$BENCH_DIR/import.csv"
  s_import_csv "$rows" >"$file"
  local t0 t1 id state=""
  # 1. The rate: the list uploaded and applied with nothing else running, timed from the first
  #    byte sent to the import's "done" (polled every 20 ms)
  bench_snapshot "$GW_PID" "${SVC_PIDS[registry]}" >"$BENCH_DIR/imp-snap0"
  local reg_ticks0; reg_ticks0=$(s_proc_ticks "${SVC_PIDS[registry]}")
  t0=$(date +%s.%N)
  id=$(HY_API_KEY=$KEY_SOCIAL_SERVICES "$BIN/hamyarctl" import "$file" ${HY_BENCH_IMPORT_PART_KB:+--part-kb "$HY_BENCH_IMPORT_PART_KB"} --agency behzisti \
       --date 1402/06/15 2>>"$BENCH_DIR/import-ctl.log") || { bench_note "hamyarctl import failed: $(tail -3 "$BENCH_DIR/import-ctl.log")"; bench_cluster_stop; return; }
  local t_sent; t_sent=$(date +%s.%N)
  local done_at_sent; done_at_sent=$(s_import_get "$id" done)
  for _ in $(seq 1 30000); do
    state=$(s_import_state "$id")
    [ "$state" = done ] && break
    sleep 0.02
  done
  t1=$(date +%s.%N)
  bench_snapshot "$GW_PID" "${SVC_PIDS[registry]}" >"$BENCH_DIR/imp-snap1"
  local reg_ticks1; reg_ticks1=$(s_proc_ticks "${SVC_PIDS[registry]}")
  bench_note "$(printf '%s (%s MB) sent in %.2f s, %s rows applied by then' "$id" \
    "$(bench_calc "$(stat -c %s "$file") / 1048576")" "$(bench_calc "$t_sent - $t0")" "${done_at_sent:-?}")"
  local rps secs; rps=$(bench_calc "$rows / ($t1 - $t0)"); secs=$(bench_calc "$t1 - $t0")
  # CPU per row: the registry's whole process (its threads that have ended, import_prep.c's,
  # are only there) and the gateway's
  local cpu_reg cpu_gw row_us
  cpu_reg=$(bench_calc "($reg_ticks1 - $reg_ticks0) / $(getconf CLK_TCK)")
  cpu_gw=$(bench_cpu_delta "$BENCH_DIR/imp-snap0" "$BENCH_DIR/imp-snap1" "$GW_PID" .)
  row_us=$(bench_calc "($cpu_reg + $cpu_gw) * 1000000 / $rows")
  # the registry's reactor (the one writer: what bounds the rate) and its other threads
  # (import_prep.c's, reading and checking rows ahead of it; the flusher; intake)
  local cpu_writer cpu_prep writer_us prep_us
  cpu_writer=$(bench_cpu_delta "$BENCH_DIR/imp-snap0" "$BENCH_DIR/imp-snap1" "${SVC_PIDS[registry]}" '^hamyar')
  cpu_prep=$(bench_calc "$cpu_reg - $cpu_writer")
  writer_us=$(bench_calc "$cpu_writer * 1000000 / $rows")
  prep_us=$(bench_calc "$cpu_prep * 1000000 / $rows")
  bench_row "$(printf '%-44s %9s rows/s   %s rows in %.2f s, state %s' "import, upload to done" \
    "$(bench_int "$rps")" "$rows" "$secs" "$state")"
  bench_note "$(printf 'CPU per imported row (registry and gateway, upload included): %.0f µs, against %.0f µs per POST /v1/persons (all processes): %s× cheaper' \
    "$row_us" "$post_us" "$(bench_ratio "$post_us" "$row_us" 1)")"
  bench_note "$(printf 'registry reactor (the writer) per imported row: %.0f µs; its other threads (hy-import-prep reading and checking rows ahead, hy-flusher, hy-intake): %.0f µs' \
    "$writer_us" "$prep_us")"
  bench_note "counts: $(curl -sS -H "Authorization: Bearer $KEY_SOCIAL_SERVICES" \
    "http://127.0.0.1:$HY_HTTP_PORT/v1/imports/$id" | grep -o '"counts":{[^}]*}')"
  # 2. The cost to an office at work: a second list of as many other persons, sent while one
  #    client registers persons one at a time, for as long as the first import took
  local file2="$BENCH_DIR/import2.csv" ctl_pid id2
  s_import_csv "$rows" "$rows" >"$file2"
  (HY_API_KEY=$KEY_SOCIAL_SERVICES "$BIN/hamyarctl" import "$file2" ${HY_BENCH_IMPORT_PART_KB:+--part-kb "$HY_BENCH_IMPORT_PART_KB"} --agency behzisti \
     --date 1402/06/15 >"$BENCH_DIR/import2.id" 2>>"$BENCH_DIR/import-ctl.log") &
  ctl_pid=$!
  M=$(bench_load --mode post-persons --key "$KEY_SOCIAL_SERVICES" --conns 1 --threads 1 --warmup 0.2 \
      --duration "$(bench_calc "$secs < 1 ? 1 : $secs")" --seed 700000000)
  wait "$ctl_pid"
  id2=$(cat "$BENCH_DIR/import2.id")
  local busy_p99 busy_rps done_at_end
  busy_p99=$(bench_kv "$M" p99_ms); busy_rps=$(bench_kv "$M" rps)
  done_at_end=$(s_import_get "$id2" done)
  bench_row "$(printf '%-44s %9s req/s    p50 %s ms, p99 %s ms (%s ms with no import)' \
    "POST /v1/persons, 1 conn, during an import" "$(bench_int "$busy_rps")" "$(bench_kv "$M" p50_ms)" \
    "$busy_p99" "$idle_p99")"
  bench_note "$(printf 'the second import (%s) had applied %s of its %s rows when that client stopped' "$id2" "${done_at_end:-?}" "$rows")"
  bench_cluster_stop
  local W wr_up wr_apply wr_all wr_proc
  if W=$(s_import_writer); then
    wr_up=$(bench_kv "$W" writer_upload_us); wr_apply=$(bench_kv "$W" writer_apply_us)
    wr_all=$(bench_kv "$W" writer_us); wr_proc=$(bench_kv "$W" process_us)
    bench_row "$(printf '%-44s %9s µs/row   upload %s + apply %s; the whole process %s µs/row' \
      "registry writer, no sockets ($(bench_kv "$W" rows) rows)" "$wr_all" "$wr_up" "$wr_apply" "$wr_proc")"
  else
    bench_note "bench/import_writer.c did not build or run against $BUILD"
  fi
  BENCH_SUMMARY+=(
    "$(printf 'import of %s rows: %s rows/s = %s× POST /v1/persons (%s req/s, %s conns) in the same run; target ≥ 5×: %s' \
      "$rows" "$(bench_int "$rps")" "$(bench_ratio "$rps" "$post_rps" 1)" "$(bench_int "$post_rps")" "$BENCH_CONNS" \
      "$(awk -v a="$rps" -v b="$post_rps" 'BEGIN { print (b > 0 && a >= 5 * b) ? "met" : "NOT met" }')")"
    "$(printf '    CPU per imported row %.0f µs against %.0f µs per POST /v1/persons (%s×): the steadier figure on a shared machine' \
      "$row_us" "$post_us" "$(bench_ratio "$post_us" "$row_us" 1)")"
    "$(printf '    the registry writer per imported row %.0f µs (%.0f µs more on the thread reading rows ahead)' "$writer_us" "$prep_us")"
    "$(printf '    the registry writer with no sockets (bench/import_writer.c): %s µs per row (upload %s, apply %s); process %s' "${wr_all:-?}" "${wr_up:-?}" "${wr_apply:-?}" "${wr_proc:-?}")"
    "$(printf '    a single registration during the import: p99 %s ms (%s ms with no import)' "$busy_p99" "$idle_p99")"
  )
}
