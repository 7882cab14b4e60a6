#!/bin/sh
# hamyar-entrypoint — runs the Hamyar program named by the container's command.
#
#   hamyar-registry [flags]   or   registry [flags]   a service, the gateway, fund-sync
#   hamyarctl ...                                       the operator's tool
#   anything else                                       run as is (a shell, for a look inside)
#
# HY_DATA_PER_REPLICA=1 is for a service run as several replicas on one volume (reporting):
# each container claims its own directory $HY_DATA_DIR/replica-N, the lowest N that no running
# container holds, and keeps the claim (a flock on replica-N/.claim, inherited by the program)
# for as long as it runs. Two replicas never share an LMDB environment, a replica that is
# restarted or recreated takes a free directory back (and carries on from its cursors), and a
# new replica on an empty directory replays every source from sequence zero.
set -eu

[ $# -gt 0 ] || set -- hamyar-gateway
prog=$1
shift
case $prog in
  hamyar-*|hamyarctl) ;;
  *) if command -v "hamyar-$prog" >/dev/null 2>&1; then prog=hamyar-$prog; fi ;;
esac

# With docker compose the key files are bind mounts that keep the host's owner and mode: say
# so plainly rather than leave the program to fail on a file it cannot read.
if [ -n "${HY_CURVE_DIR:-}" ] && [ -n "${HY_CURVE_NAME:-}" ] && [ "$prog" != hamyarctl ] \
   && [ -e "$HY_CURVE_DIR/$HY_CURVE_NAME.key" ] && [ ! -r "$HY_CURVE_DIR/$HY_CURVE_NAME.key" ]; then
  echo "hamyar-entrypoint: $HY_CURVE_DIR/$HY_CURVE_NAME.key is not readable by uid $(id -u):" \
       "on the host, chgrp $(id -g) the .key files and chmod 0640 them" >&2
fi

if [ "${HY_DATA_PER_REPLICA:-0}" = 1 ] && [ "$prog" != hamyarctl ]; then
  root=${HY_DATA_DIR:?HY_DATA_DIR must be set}
  n=1
  while :; do
    dir=$root/replica-$n
    mkdir -p "$dir"
    exec 9>>"$dir/.claim"
    if flock -n 9; then
      break
    fi
    exec 9>&-
    n=$((n + 1))
    if [ "$n" -gt "${HY_REPLICA_MAX:-64}" ]; then
      echo "hamyar-entrypoint: no free replica directory under $root" >&2
      exit 1
    fi
  done
  echo "hamyar-entrypoint: this replica keeps its data in $dir" >&2
  export HY_DATA_DIR="$dir"
fi

exec "$prog" "$@"
