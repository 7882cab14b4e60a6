#!/usr/bin/env bash
# Runs the unit and integration tests against the release build, then against the ASan+UBSan
# build, then the container suite once (tests/containers: the image, compose and Swarm under a
# Docker engine of its own; skipped, loudly, where no engine can start), and the office console's
# tests once (tests/console: headless Chromium against the release build), and closes with one
# line over all the runs: "N passed, N failed".
# tools/test.sh [unit|integration|containers|console] limits the kinds; HY_TEST_ONLY=prefix limits the
# tests (of the container suite too: e.g. HY_TEST_ONLY=swarm).
set -u
cd "$(dirname "$0")/.."
kinds="${1:-unit integration containers console}"
total_pass=0 total_fail=0 status=0
log=$(mktemp)
run() {  # run LABEL CMD...
  echo "== $1"
  shift
  "$@" 2>&1 | tee "$log" | grep -v '^{"ts"'
  local rc=${PIPESTATUS[0]}
  local line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
  if [ -z "$line" ]; then
    echo "   (no result line: counted as one failure, exit $rc)"
    total_fail=$((total_fail + 1)); status=1; return
  fi
  local p f
  p=$(echo "$line" | awk '{print $1}'); f=$(echo "$line" | awk '{print $3}')
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
  [ "$rc" -ne 0 ] && status=1
  [ "$f" -ne 0 ] && status=1
}
export ASAN_OPTIONS="detect_leaks=1:exitcode=23"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
for variant in release asan; do
  for kind in $kinds; do
    case $kind in
      unit) run "unit tests ($variant)" "build/$variant/bin/unit-tests" ${HY_TEST_ONLY:-} ;;
      integration) run "integration tests ($variant)" env HY_BUILD="build/$variant" \
                     /usr/bin/python3 tests/integration/run.py ${HY_TEST_ONLY:-} ;;
    esac
  done
done
# The container suite builds the image from the tree (a release build inside Docker): once.
case " $kinds " in
  *" containers "*) run "container suite (own dockerd)" /usr/bin/python3 tests/containers/run.py \
                      ${HY_TEST_ONLY:-} ;;
esac
# The console in a browser: once, against the release build (tests/console/run.py).
case " $kinds " in
  *" console "*) run "console tests (headless Chromium)" env HY_BUILD=build/release \
                   /usr/bin/python3 tests/console/run.py ${HY_TEST_ONLY:-} ;;
esac
rm -f "$log"
echo "$total_pass passed, $total_fail failed"
exit $status
