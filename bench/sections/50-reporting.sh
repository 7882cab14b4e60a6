# bench/sections/50-reporting.sh — the reporting replica: catch-up of a new replica over a
# generated programme, then the half-year report beside a full recomputation.
#
# 1. bench/event_store.c writes the sources' outboxes directly, in the skeleton's format (see
#    40-insurance.sh): REP_PERSONS registry.person.registered, REP_LOANS loans.loan.disbursed
#    (each disbursing a whole loan to one of those persons) and REP_ENROLMENTS
#    insurance.enrolment.requested, dates over Solar Hijri 1403. The loans and insurance stores
#    get their "registry" cursor at the head, so they do not replay the registry meanwhile.
#    Sizes scale with HY_BENCH_SCALE (1 = 1,000,000 / 100,000 / 50,000).
# 2. The gateway, hamyar-registry, hamyar-loans and hamyar-insurance start on those stores
#    (networks and microfund are not started: a source with no worker has nothing to catch up
#    from). Then one hamyar-reporting starts from an empty store; it serves nothing until it has
#    caught up, so the catch-up time is from its start until service.status answers with every
#    cursor at its source's head: events per second.
# 3. GET /v1/reports/half-year?year=1403&half=2, REP_REPORT_N times in a row (200: with 20, p99
#    was the slowest single answer): p50, p99, max and the CPU each answer cost by process; the
#    same for an any-period indicators table (distinct people exact), one submission of office
#    rey-1's report (every figure with the ids of the records behind it) timed with curl, and the
#    timeline of a person with 1,000 events (one registration and 999 counselling sessions, posted
#    through the gateway).
# 4. Baseline, after the services stop: a full recomputation — every stored event of the three
#    outboxes read and decoded once (jansson) and the half's counts computed from scratch
#    (beneficiaries, loans disbursed and their rials, distinct borrowers, enrolments). Those
#    counts are printed beside the report's, as a check.

REP_PERSONS=$(awk -v s="${HY_BENCH_SCALE:-1}" 'BEGIN { print int(1000000 * s) }')
REP_LOANS=$(awk -v s="${HY_BENCH_SCALE:-1}" 'BEGIN { print int(100000 * s) }')
REP_ENROLMENTS=$(awk -v s="${HY_BENCH_SCALE:-1}" 'BEGIN { print int(50000 * s) }')
REP_REPORT_N=${HY_BENCH_REP_N:-200}
REP_CATCHUP_S=${HY_BENCH_REP_CATCHUP_S:-1800}   # how long a new replica may take to catch up
REP_PATH="/v1/reports/half-year?year=1403&half=2"
REP_ANY_PATH="/v1/reports/indicators?from=2024-05-01&to=2025-01-31"

# "cursor_registry cursor_loans cursor_insurance" from the replica's service.status, or nothing.
s_rep_cursors() {
  local doc
  doc=$("$TOOLS/svc_status" --broker "$HY_BROKER" --service reporting 2>/dev/null) || return 0
  # until it has caught up the replica is not served (503): no python per poll meanwhile, a
  # process that would take CPU from the replica being measured
  [[ $doc == *'"cursor"'* ]] || return 0
  printf '%s' "$doc" | python3 -c '
import json, sys
d = json.load(sys.stdin)
def find(o):
    if isinstance(o, dict):
        if "registry" in o and isinstance(o["registry"], dict) and "cursor" in o["registry"]:
            return o
        for v in o.values():
            r = find(v)
            if r: return r
    return None
c = find(d) or {}
print(*[c.get(s, {}).get("cursor", 0) for s in ("registry", "loans", "insurance")])' 2>/dev/null || true
}

bench_reporting() {
  bench_section "reporting: new replica catch-up, half-year report over $(bench_int "$REP_PERSONS") persons, $(bench_int "$REP_LOANS") loans, $(bench_int "$REP_ENROLMENTS") enrolments"
  local b
  for b in hamyar-registry hamyar-loans hamyar-insurance hamyar-reporting; do
    [ -x "$BIN/$b" ] || { bench_row "skipped: $BIN/$b is missing"; return 0; }
  done
  if [ ! -x "$TOOLS/event_store" ] || [ bench/event_store.c -nt "$TOOLS/event_store" ]; then
    ${CC:-gcc} -std=c11 -Wall -Wextra -Werror -O2 -g -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L \
      -o "$TOOLS/event_store" bench/event_store.c -llmdb -ljansson || { bench_row "skipped: event_store did not build"; return 0; }
  fi
  [ "$BENCH_SCALE" = 1 ] || bench_note "sizes scaled by HY_BENCH_SCALE=$BENCH_SCALE"

  # ---- 1. the sources' stores ----
  local dir="$BENCH_DIR/rep" var G1 G2 G3 t0 t1
  var="$dir/var"; mkdir -p "$var"
  t0=$(date +%s.%N)
  if ! G1=$("$TOOLS/event_store" gen --dir "$var/registry" --kind registry --n "$REP_PERSONS") ||
     ! G2=$("$TOOLS/event_store" gen --dir "$var/loans" --kind loans --n "$REP_LOANS" --persons "$REP_PERSONS" \
            --cursor registry="$REP_PERSONS") ||
     ! G3=$("$TOOLS/event_store" gen --dir "$var/insurance" --kind insurance --n "$REP_ENROLMENTS" \
            --persons "$REP_PERSONS" --cursor registry="$REP_PERSONS"); then
    bench_row "generating the stores failed"; return 0
  fi
  t1=$(date +%s.%N)
  local total=$((REP_PERSONS + REP_LOANS + REP_ENROLMENTS))
  bench_row "$(printf 'sources: %s events (%s + %s + %s), %s MB of CloudEvent JSON, written to the outboxes directly in %.1f s' \
    "$(bench_int "$total")" "$(bench_int "$REP_PERSONS")" "$(bench_int "$REP_LOANS")" "$(bench_int "$REP_ENROLMENTS")" \
    "$(bench_calc "int(($(bench_kv "$G1" bytes) + $(bench_kv "$G2" bytes) + $(bench_kv "$G3" bytes)) / 104857.6) / 10")" \
    "$(bench_calc "$t1 - $t0")")"

  # ---- 2. catch-up of a new replica ----
  # the broker takes only HY_SERVICES' names: reporting is listed though it starts later
  bench_cluster_start rep "registry loans insurance" HY_GATEWAY_THREADS="$BENCH_THREADS" HY_MAP_SIZE_MB=4096 \
    HY_SERVICES=registry,loans,insurance,reporting
  local rpid cur=() deadline ok=0
  t0=$(date +%s.%N)
  bench_start rep-reporting "$BIN/hamyar-reporting"
  rpid=$BENCH_PID
  # HY_BENCH_REP_PERF=FILE: a perf profile (call graphs) of the replica's catch-up, into FILE
  local perf_pid=""
  if [ -n "${HY_BENCH_REP_PERF:-}" ] && command -v perf >/dev/null; then
    perf record -q ${HY_BENCH_REP_PERF_ARGS:---call-graph dwarf,8192 -F 300} -o "$HY_BENCH_REP_PERF" -p "$rpid" >>"$BENCH_DIR/perf.log" 2>&1 &
    perf_pid=$!
  fi
  # shellcheck disable=SC2034  # read by bench_measure (lib.sh)
  SVC_PIDS["reporting"]=$rpid   # for bench_measure (lib.sh's associative array)
  deadline=$(($(date +%s) + REP_CATCHUP_S))   # integers: bench_calc (awk %.6g) rounds epoch seconds
  while kill -0 "$rpid" 2>/dev/null; do
    read -r -a cur <<<"$(s_rep_cursors)"
    if [ ${#cur[@]} -eq 3 ] && [ "${cur[0]}" -ge "$REP_PERSONS" ] && [ "${cur[1]}" -ge "$REP_LOANS" ] &&
       [ "${cur[2]}" -ge "$REP_ENROLMENTS" ]; then ok=1; break; fi
    [ "$(date +%s)" -gt "$deadline" ] && break
    sleep 0.1
  done
  t1=$(date +%s.%N)
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid" 2>/dev/null; wait "$perf_pid" 2>/dev/null || true; fi
  local secs rate rep_cpu
  rep_cpu=$(awk '{ printf "%.1f", ($14 + $15) / 100 }' "/proc/$rpid/stat" 2>/dev/null || echo "?")
  local rep_io   # what the replica handed the kernel to write meanwhile (its commits' pages)
  rep_io=$(awk '/^wchar:/ { w = $2 } /^syscw:/ { c = $2 } END { if (w != "") printf "%d MB in %d write calls", w / 1048576, c }' \
    "/proc/$rpid/io" 2>/dev/null || true)
  secs=$(bench_calc "$t1 - $t0"); rate=$(bench_calc "$total / $secs")
  if [ "$ok" -eq 1 ]; then
    bench_row "$(printf '%-58s %10s events/s  (%s events in %.1f s)' \
      "new replica from empty to every source's head" "$(bench_int "$rate")" "$(bench_int "$total")" "$secs")"
    bench_note "timed from the replica's start until service.status (answered only once it has caught up) shows every cursor at its head; polled every 0.1 s; the replica used $rep_cpu s of CPU meanwhile${rep_io:+ and wrote $rep_io}"
  else
    bench_row "catch-up did not finish in $REP_CATCHUP_S s (cursors: ${cur[*]:-none}); logs in $BENCH_DIR"
    bench_cluster_stop
    return 0
  fi

  # ---- 3. the half-year report ----
  local body rep_from rep_to rep_counts
  body=$(curl -sS -H "Authorization: Bearer $KEY_PROVINCE" "http://127.0.0.1:$HY_HTTP_PORT$REP_PATH" || true)
  read -r rep_from rep_to <<<"$(printf '%s' "$body" | python3 -c '
import json, sys
d = json.load(sys.stdin); print(d.get("from", "2024-09-22"), d.get("to", "2025-03-20"))' 2>/dev/null || echo "2024-09-22 2025-03-20")"
  printf '%s' "$body" >"$dir/half-year.json"
  rep_counts=$(printf '%s' "$body" | python3 -c '
import json, sys
i = json.load(sys.stdin).get("indicators", {})
print(*[i.get(k, "?") for k in ("beneficiaries_new", "people_with_loans", "loans_disbursed_rials", "insurance_enrolled")])' 2>/dev/null || echo "? ? ? ?")
  bench_measure reporting --mode get --path "$REP_PATH" --key "$KEY_PROVINCE" \
    --conns 1 --threads 1 --requests "$REP_REPORT_N"
  local rep_p50=$M_P50 rep_p99=$M_P99 rep_tl_p50 rep_tl_p99
  bench_row "$(printf '%-58s p50 %s ms, p99 %s ms (max %s ms)' "GET $REP_PATH, $REP_REPORT_N in a row" "$M_P50" "$M_P99" "$(bench_kv "$M" max_ms)")"
  [ "$M_BAD" -eq 0 ] || bench_note "$M_BAD answers were not 2xx"
  bench_cpu_row reporting
  # any period (not a half: distinct people from first/last marks and gaps, distinct.c)
  bench_measure reporting --mode get --path "$REP_ANY_PATH" --key "$KEY_PROVINCE" \
    --conns 1 --threads 1 --requests "$REP_REPORT_N"
  local any_p50=$M_P50 any_p99=$M_P99
  bench_row "$(printf '%-58s p50 %s ms, p99 %s ms (max %s ms)' "GET $REP_ANY_PATH" "$M_P50" "$M_P99" "$(bench_kv "$M" max_ms)")"
  [ "$M_BAD" -eq 0 ] || bench_note "$M_BAD answers were not 2xx"
  bench_cpu_row reporting
  # a submission: every figure frozen with the ids behind it, over every office (provincial key)
  local pkey sub_s sub_bytes sub_status
  pkey=$("$BIN/hamyarctl" keys add --role social_services --office '*' --file "$HY_KEYS_FILE" 2>/dev/null |
         grep -o 'hy_[A-Za-z0-9_-]*' | tail -1)
  sleep 1.2   # the gateway rereads its keys file at most once a second
  read -r sub_s sub_bytes sub_status <<<"$(curl -sS -o "$dir/submission.json" -w '%{time_total} %{size_download} %{http_code}' \
    -H "Authorization: Bearer $pkey" -H 'Content-Type: application/json' \
    -d '{"year":1403,"half":2,"office":"rey-1"}' "http://127.0.0.1:$HY_HTTP_PORT/v1/reports/half-year/submissions" || echo "0 0 0")"
  bench_row "$(printf '%-58s %8.0f ms  (%s bytes with the records behind each figure)' \
    "POST submission of office rey-1's 1403/2 (provincial key)" "$(bench_calc "$sub_s * 1000")" "$(bench_int "$sub_bytes")")"
  [ "$sub_status" = 201 ] ||
    bench_note "the submission was refused: HTTP $sub_status $(head -c 300 "$dir/submission.json")"
  # a person's timeline of 1,000 events: a new person of rey-1 and 999 counselling sessions of
  # hers, posted through the gateway (the registry checks every participant), followed by the
  # replica; then REP_REPORT_N timelines in a row. The registry numbers her from its own counter,
  # which the generated outbox did not move: her id is a generated person's too, whose registration
  # is then in her timeline (1,001 events), hence the provincial key for reading it.
  local tl_id tl_path tl_bytes=0 tl_n=0
  tl_id=$(python3 - "$HY_HTTP_PORT" "$KEY_SOCIAL_SERVICES" <<'PY' 2>>"$BENCH_DIR/timeline.log" || true
import datetime, http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=30)
H = {"Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/json"}
def post(path, body):
    c.request("POST", path, json.dumps(body), H)
    r = c.getresponse(); d = r.read()
    if r.status not in (200, 201):
        raise SystemExit(f"{path}: {r.status} {d[:300]!r}")
    return json.loads(d)
d9 = "987654320"   # a national ID with its check digit
r = sum(int(d9[i]) * (10 - i) for i in range(9)) % 11
pid = post("/v1/persons", {"national_id": d9 + str(r if r < 2 else 11 - r), "first_name": "مریم",
                           "last_name": "احمدی", "birth_date": "1985-04-12", "sex": "female",
                           "mobile": "09120000001", "province": "تهران", "city": "تهران",
                           "neighbourhood": "hood-1", "household_size": 3, "head_of_household": True,
                           "referral": {"source": "self"}, "registered_on": "2023-03-21"})["id"]
day = datetime.date(2023, 4, 1)
for i in range(999):
    post("/v1/activities", {"kind": "counselling", "date": (day + datetime.timedelta(days=i % 600)).isoformat(),
                            "person_ids": [pid]})
print(pid)
PY
)
  if [ -n "$tl_id" ]; then
    tl_path="/v1/persons/$tl_id/timeline"
    for _ in $(seq 1 600); do   # until the replica has all 1,000 (60 s at most)
      read -r tl_bytes tl_n <<<"$(curl -sS -H "Authorization: Bearer $KEY_PROVINCE" "http://127.0.0.1:$HY_HTTP_PORT$tl_path" |
        python3 -c 'import json, sys; d = sys.stdin.read(); n = len(json.loads(d).get("events", [])); print(len(d) if n >= 1000 else 0, n)' 2>/dev/null || echo 0 0)"
      [ "${tl_bytes:-0}" -gt 0 ] && break
      sleep 0.1
    done
  fi
  if [ "${tl_bytes:-0}" -gt 0 ]; then
    bench_measure reporting --mode get --path "$tl_path" --key "$KEY_PROVINCE" \
      --conns 1 --threads 1 --requests "$REP_REPORT_N"
    rep_tl_p50=$M_P50 rep_tl_p99=$M_P99
    bench_row "$(printf '%-58s p50 %s ms, p99 %s ms (max %s ms)' "GET a timeline of $(bench_int "$tl_n") events ($(bench_int "$tl_bytes") bytes)" "$M_P50" "$M_P99" "$(bench_kv "$M" max_ms)")"
    [ "$M_BAD" -eq 0 ] || bench_note "$M_BAD answers were not 2xx"
    bench_cpu_row reporting
  else
    rep_tl_p50="?" rep_tl_p99="?"
    bench_row "timeline of 1,000 events: not measured (the person or her sessions were refused, or the replica did not follow in 60 s; $BENCH_DIR/timeline.log)"
  fi
  local rc4; read -r -a rc4 <<<"$rep_counts"
  bench_note "$(printf 'report %s..%s, %s bytes of JSON: %s new beneficiaries, %s people with loans, %s rials disbursed, %s enrolments' \
    "$rep_from" "$rep_to" "${#body}" "$(bench_int "${rc4[0]}")" "$(bench_int "${rc4[1]}")" "$(bench_int "${rc4[2]}")" "$(bench_int "${rc4[3]}")")"
  bench_stop "$rpid"; unset 'SVC_PIDS[reporting]'
  bench_cluster_stop

  # ---- 4. full recomputation ----
  local R rec_ms
  R=$("$TOOLS/event_store" recompute --from "$rep_from" --to "$rep_to" "$var/registry" "$var/loans" "$var/insurance")
  rec_ms=$(bench_kv "$R" recompute_ms)
  bench_row "$(printf '%-58s %10s ms = %s× the report p50' \
    "baseline: full recomputation (read + decode every event once)" "$rec_ms" "$(bench_ratio "$rec_ms" "$rep_p50" 0)")"
  bench_note "$(printf 'recomputed for %s..%s: %s beneficiaries, %s loans disbursed (%s rials) to %s borrowers, %s enrolments requested' \
    "$rep_from" "$rep_to" "$(bench_int "$(bench_kv "$R" beneficiaries)")" "$(bench_int "$(bench_kv "$R" loans)")" \
    "$(bench_int "$(bench_kv "$R" loan_rials)")" "$(bench_int "$(bench_kv "$R" borrowers)")" "$(bench_int "$(bench_kv "$R" enrolments)")")"
  local rec_rate; rec_rate=$(bench_calc "$total * 1000 / $rec_ms")
  bench_row "$(printf '%-58s %10s events/s = %s of the read + decode baseline (%s events/s; target >= 0.5)' \
    "new replica catch-up against read + decode" "$(bench_int "$rate")" "$(bench_ratio "$rate" "$rec_rate" 2)" "$(bench_int "$rec_rate")")"
  # the same in CPU seconds: on a shared machine wall time measures the neighbours too
  local rec_cpu; rec_cpu=$(bench_kv "$R" cpu_ms)
  if [ -n "$rec_cpu" ] && [ "$rep_cpu" != "?" ]; then
    bench_row "$(printf '%-58s %10s s of CPU = %s of the read + decode baseline (%s s of CPU; target >= 0.5)' \
      "new replica catch-up against read + decode, in CPU" "$rep_cpu" \
      "$(bench_ratio "$rec_cpu" "$(bench_calc "$rep_cpu * 1000")" 2)" "$(bench_calc "int($rec_cpu / 100) / 10")")"
    bench_note "CPU of the replica from its start until caught up (/proc/PID/stat), of the baseline from clock_gettime(CLOCK_PROCESS_CPUTIME_ID)"
  fi
  local same=differ
  [ "$(bench_kv "$R" beneficiaries) $(bench_kv "$R" borrowers) $(bench_kv "$R" loan_rials) $(bench_kv "$R" enrolments)" = "${rc4[*]}" ] && same=match
  bench_note "those four counts $same the report's"

  BENCH_SUMMARY+=(
    "$(printf 'reporting: half-year report over %s persons, %s loans, %s enrolments: p50 %s ms, p99 %s ms; a full recomputation from the events %s ms (%s× slower)' \
      "$(bench_int "$REP_PERSONS")" "$(bench_int "$REP_LOANS")" "$(bench_int "$REP_ENROLMENTS")" "$rep_p50" "$rep_p99" \
      "$rec_ms" "$(bench_ratio "$rec_ms" "$rep_p50" 0)")"
    "$(printf 'reporting: any-period report (%s) p50 %s ms, p99 %s ms' "$REP_ANY_PATH" "$any_p50" "$any_p99")"
    "$(printf 'reporting: a timeline of 1,000 events p50 %s ms, p99 %s ms' "$rep_tl_p50" "$rep_tl_p99")"
    "$(printf 'reporting: new replica catch-up: %s events/s (%s events in %.1f s, from empty to every source'"'"'s head) = %s of read + decode (%s events/s; target >= 0.5)' \
      "$(bench_int "$rate")" "$(bench_int "$total")" "$secs" "$(bench_ratio "$rate" "$rec_rate" 2)" "$(bench_int "$rec_rate")")"
  )
  [ -n "$rec_cpu" ] && [ "$rep_cpu" != "?" ] && BENCH_SUMMARY+=(
    "$(printf 'reporting: new replica catch-up in CPU: %s s against %s s to read + decode = %s (target >= 0.5)' \
      "$rep_cpu" "$(bench_calc "int($rec_cpu / 100) / 10")" "$(bench_ratio "$rec_cpu" "$(bench_calc "$rep_cpu * 1000")" 2)")"
  )
}
