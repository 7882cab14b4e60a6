#!/usr/bin/env bash
# Hamyar's benchmarks: figures, never pass/fail (`make bench` runs this after building
# build/release). Everything runs on loopback, with data in a fresh temporary directory.
#
#   bench/run.sh [BUILD_DIR]           BUILD_DIR defaults to $HY_BUILD, else build/release
#
# Each file bench/sections/NN-NAME.sh is a section: it defines bench_NAME, which run.sh calls
# in the order of NN; adding a service's benchmark needs no edit here. A section prints its
# rows as it measures and may append lines to BENCH_SUMMARY, printed last. Sections see the
# helpers of bench/lib.sh and the figures of earlier ones (CEIL_* from 10-ceilings.sh), so
# ratios against a baseline always use a baseline measured in the same run.
#
# Knobs (environment):
#   HY_BENCH_ONLY="spine"        run only these sections (ceilings still run: ratios need them)
#   HY_BENCH_THREADS=4           HTTP threads of the gateway, and of the bare MHD ceiling
#   HY_BENCH_PIPE_THREADS=64     HTTP threads of the bare pipeline (each waits on its round trip)
#   HY_BENCH_CONNS=64            concurrent client connections
#   HY_BENCH_SCALE=1             multiplies every measuring duration (0.5 for a quick look)
#   HY_KEEP=1                    keep the temporary directory (data and logs) afterwards
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${1:-${HY_BUILD:-build/release}}
BIN="$ROOT/$BUILD/bin"
TOOLS="$ROOT/build/bench-tools"
NCPU=$(nproc)
BENCH_THREADS=${HY_BENCH_THREADS:-4}
BENCH_PIPE_THREADS=${HY_BENCH_PIPE_THREADS:-64}
BENCH_CONNS=${HY_BENCH_CONNS:-64}
BENCH_SCALE=${HY_BENCH_SCALE:-1}
BENCH_SUMMARY=()

# shellcheck source=bench/lib.sh
source bench/lib.sh

for b in hamyar-gateway hamyarctl hamyar-registry; do
  [ -x "$BIN/$b" ] || { echo "bench: $BIN/$b is missing: run 'make build' (or make bench)" >&2; exit 1; }
done

# The bench programs are built here, not by the main Makefile: they are not part of Hamyar.
# The bare servers (the ceilings) allocate with the same allocator as the build measured
# (BENCH_MALLOC: -ljemalloc when its programs link jemalloc, the Makefile's default), so a
# ratio never counts the allocator as Hamyar's own doing.
BENCH_MALLOC=
ldd "$BIN/hamyar-registry" 2>/dev/null | grep -q libjemalloc && BENCH_MALLOC=-ljemalloc
bench_build_tools() {
  mkdir -p "$TOOLS"
  local flags=(-std=c11 -Wall -Wextra -Werror -O2 -g -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L)
  local t libs rebuild=
  [ "$(cat "$TOOLS/.malloc" 2>/dev/null)" = "x$BENCH_MALLOC" ] || rebuild=1
  for t in loadgen:-lpthread bare_mhd:"-lmicrohttpd -lpthread $BENCH_MALLOC" lmdb_puts:-llmdb svc_status:-lzmq \
           bare_pipeline:"-lmicrohttpd -ljansson -lzmq -llmdb -lpthread $BENCH_MALLOC"; do
    libs=${t#*:}; t=${t%%:*}
    if [ -n "$rebuild" ] || [ ! -x "$TOOLS/$t" ] || [ "bench/$t.c" -nt "$TOOLS/$t" ]; then
      # shellcheck disable=SC2086
      ${CC:-gcc} "${flags[@]}" -o "$TOOLS/$t" "bench/$t.c" $libs
    fi
  done
  echo "x$BENCH_MALLOC" >"$TOOLS/.malloc"
}
bench_build_tools

BENCH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hamyar-bench.XXXXXX")
finish() {
  bench_stop_all
  if [ -n "${HY_KEEP:-}" ]; then echo "(data and logs kept in $BENCH_DIR)"; else rm -rf "$BENCH_DIR"; fi
}
trap finish EXIT
trap 'exit 130' INT TERM

# bench_secs N: N seconds times HY_BENCH_SCALE
bench_secs() { bench_calc "$1 * $BENCH_SCALE"; }

echo "Hamyar benchmarks — $(date -u '+%Y-%m-%d %H:%M UTC'), $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- 2>/dev/null || echo '+changes')"
echo "machine: $NCPU cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
echo "allocator: $([ -n "$BENCH_MALLOC" ] && echo jemalloc || echo "glibc's malloc"), in Hamyar's programs and in the bare servers of the ceilings alike"
echo "binaries: $BUILD/bin; data: $BENCH_DIR on $(df -PT "$BENCH_DIR" | awk 'NR == 2 { print $2 }') ($(findmnt -no SOURCE -T "$BENCH_DIR" 2>/dev/null || echo '?'))"
echo "gateway: HY_GATEWAY_THREADS=$BENCH_THREADS (the default is 4: no HTTP thread waits on a service); clients: $BENCH_CONNS keep-alive connections over 2 load-generator threads"
echo "logging: services at HY_LOG_LEVEL=warn; the gateway's line per request goes to a file (it ignores the level)"
awk '{ if ($1 + 0 > n) bad = 1 } END { exit !bad }' n="$NCPU" /proc/loadavg &&
  echo "NOTE: the machine was busy before the run started: absolute figures are low and noisy; the CPU-per-request lines are the steadier measure."

for f in bench/sections/*.sh; do   # the glob sorts: NN orders the sections
  name=$(basename "$f" .sh); name=${name#*-}
  if [ -n "${HY_BENCH_ONLY:-}" ] && [ "$name" != ceilings ] && [[ " $HY_BENCH_ONLY " != *" $name "* ]]; then
    continue
  fi
  # shellcheck source=/dev/null
  source "$f"
  "bench_$name"
done

if [ ${#BENCH_SUMMARY[@]} -gt 0 ]; then
  bench_section "summary"
  for line in "${BENCH_SUMMARY[@]}"; do bench_row "$line"; done
fi
