#!/usr/bin/env bash
# engine.sh — the container suite's own Docker engine (Debian's docker.io), apart from any other.
#
#   tests/containers/engine.sh start [build|run]
#                                           start dockerd (exit 0 when it answers), restarted if it
#                                           runs in the other mode: "build" (default) lets
#                                           containers use the host's resolver (the image build's
#                                           apt); "run" gives them Docker's DNS only
#   tests/containers/engine.sh base-image   make debian:12-slim from the Debian mirror if missing
#   tests/containers/engine.sh stop         stop it (by its pid file) and unmount what it left
#   tests/containers/engine.sh env          print DOCKER_HOST=… for a shell: eval "$(… env)"
#   tests/containers/engine.sh why-not      print why no engine can start here (exit 1), or exit 0
#
# Everything lives under HY_DOCKER_CACHE (default /var/cache/hamyar-docker), outside any clone,
# so the base image and the build cache outlive a run: data root, exec root, pid file and the
# socket unix://$HY_DOCKER_CACHE/docker.sock. The engine makes no bridge of its own (--bridge
# none: a docker0 of another engine is left alone); image builds use the host's network, and
# compose and Swarm make their own networks. In "run" mode containers resolve their peers' names
# by Docker's own DNS and nothing else (--dns 127.0.0.1: no query leaves the host, and the name
# of a stopped peer fails at once instead of waiting on an outside resolver).
set -euo pipefail
CACHE=${HY_DOCKER_CACHE:-/var/cache/hamyar-docker}
SOCK=$CACHE/docker.sock
PIDFILE=$CACHE/dockerd.pid
DOCKER=/usr/bin/docker            # docker.io's client (another in /usr/local/bin may shadow it)
export DOCKER_HOST=unix://$SOCK

why_not() {
  [ "$(id -u)" -eq 0 ] || { echo "not root"; return 1; }
  for b in /usr/sbin/dockerd "$DOCKER" /usr/bin/docker-compose /usr/sbin/debootstrap; do
    [ -x "$b" ] || { echo "$b is missing (tools/install-deps.sh installs docker.io," \
                          "docker-compose and debootstrap)"; return 1; }
  done
  grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
    { echo "the kernel has no overlay filesystem"; return 1; }
  [ -w /sys/fs/cgroup ] || { echo "/sys/fs/cgroup is not writable (not allowed to make containers)"; return 1; }
  return 0
}

alive() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

start() {
  local mode=${1:-build} dns=()
  mkdir -p "$CACHE/data" "$CACHE/exec"
  if alive && "$DOCKER" version >/dev/null 2>&1; then
    [ "$(cat "$CACHE/mode" 2>/dev/null)" = "$mode" ] && return 0
    stop
  fi
  [ "$mode" = run ] && dns=(--dns 127.0.0.1)
  rm -f "$PIDFILE" "$SOCK"
  /usr/sbin/dockerd --data-root "$CACHE/data" --exec-root "$CACHE/exec" --pidfile "$PIDFILE" \
      -H "unix://$SOCK" --bridge none "${dns[@]}" --storage-driver overlay2 --log-level warn \
      >"$CACHE/dockerd.log" 2>&1 &
  local pid=$!
  echo "$mode" >"$CACHE/mode"
  for _ in $(seq 1 120); do
    if "$DOCKER" version >/dev/null 2>&1; then
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "dockerd exited:" >&2
      tail -20 "$CACHE/dockerd.log" >&2
      return 1
    fi
    sleep 0.5
  done
  echo "dockerd did not answer in 60 s:" >&2
  tail -20 "$CACHE/dockerd.log" >&2
  return 1
}

stop() {
  if alive; then
    local pid
    pid=$(cat "$PIDFILE")
    "$DOCKER" swarm leave --force >/dev/null 2>&1 || true
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE" "$SOCK" "$CACHE/mode"
  # What an engine killed hard may leave mounted (container layers, netns, its exec root).
  awk -v c="$CACHE/" 'index($2, c) == 1 {print $2}' /proc/self/mounts | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

# The Debian mirror apt uses here (the first deb.debian.org-like URI of the main archive).
mirror() {
  local m
  m=$(grep -rhoE '^(URIs:|deb) +[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
      awk '{print $2}' | grep -E '/debian/?$' | head -1)
  echo "${m:-http://deb.debian.org/debian}"
}

base_image() {
  if "$DOCKER" image inspect debian:12-slim >/dev/null 2>&1; then
    return 0
  fi
  local dir="$CACHE/rootfs"
  rm -rf "$dir"
  echo "making debian:12-slim from $(mirror) (debootstrap, once per machine)" >&2
  /usr/sbin/debootstrap --variant=minbase bookworm "$dir" "$(mirror)" >"$CACHE/debootstrap.log" 2>&1 ||
    { tail -20 "$CACHE/debootstrap.log" >&2; return 1; }
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -c . | "$DOCKER" import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["bash"]' - debian:12-slim >/dev/null
  rm -rf "$dir"
}

case "${1:-}" in
  start) why_not >/dev/null && start "${2:-build}" ;;
  stop) stop ;;
  base-image) base_image ;;
  env) echo "export DOCKER_HOST=$DOCKER_HOST" ;;
  why-not) why_not ;;
  *) echo "usage: $0 start|stop|base-image|env|why-not" >&2; exit 2 ;;
esac
