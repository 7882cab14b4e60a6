"""The container suite: the project's image, compose file and Swarm deployment under a real
Docker engine of its own (engine.sh), then everything it started stopped.

Usage: run.py [name-prefix]      (run by tools/test.sh after the unit and integration tests)
  HY_CONTAINERS=0      skip (said loudly)
  HY_DOCKER_CACHE      the engine's directory (default /var/cache/hamyar-docker)
  HY_CT_SKIP_BUILD=1   use the engine's hamyar:latest as it is (iterating on the tests)
  HY_CT_KEEP_ENGINE=1  leave the engine running at the end (iterating; engine.sh stop stops it)
  HY_CT_MULTINODE=0    without the three-node Swarm (nodes: containers each running an engine)
Prints each step with its time, a table of the times, and closes with "N passed, N failed".
A step whose prerequisite failed is counted as failed, with that reason. Steps come in groups
(compose_, swarm_: one node, swarm3_: three nodes); a name prefix runs the groups it matches.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

import compose_steps
import multinode_steps
import swarm_steps
from lib import CACHE, DOCKER, ENV, HERE, IMAGE, ROOT, TestFailure, check, docker, free_port, sh

ENGINE = os.path.join(HERE, "engine.sh")


class Suite:
    def __init__(self, only):
        self.only = only
        self.passed = self.failed = 0
        self.times = []
        self.broken = None   # the failed prerequisite that stops the steps after it

    def step(self, name, fn, *args, prerequisite=False, always=False):
        if self.only and not name.startswith(self.only) and not prerequisite and not always:
            return
        t0 = time.time()
        try:
            if self.broken and not always:
                raise TestFailure(f"not run: {self.broken} failed")
            fn(*args)
            self.passed += 1
            status = "ok  "
        except Exception as e:
            self.failed += 1
            status = "FAIL"
            if not self.broken:
                traceback.print_exc(limit=4)
            else:
                print(f"     {e}")
            if prerequisite:
                self.broken = self.broken or name
        took = time.time() - t0
        self.times.append((name, took, status.strip()))
        print(f"{status} containers.{name} ({took:.1f}s)", flush=True)


def skip(reason):
    bar = "!" * 78
    print(f"{bar}\n!! CONTAINER SUITE SKIPPED: {reason}\n!! (docker/Dockerfile, docker-compose.yml"
          f" and Swarm were NOT run under an engine)\n{bar}")
    print("0 passed, 0 failed")
    return 0


def build_image():
    """docker build of docker/Dockerfile from the working tree (the build uses the host's
    network: the engine has no default bridge)."""
    if os.environ.get("HY_CT_SKIP_BUILD") == "1":
        docker("image", "inspect", IMAGE)
        return
    r = subprocess.run([DOCKER, "build", "--network", "host", "-f", "docker/Dockerfile", "-t", IMAGE,
                        "."], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=1500)
    if r.returncode != 0:
        raise TestFailure(f"docker build failed:\n{r.stdout[-3000:]}\n{r.stderr[-2000:]}")
    # Dangling images of earlier builds would fill the cache directory run after run.
    docker("image", "prune", "-f", check_rc=False)


def make_work(work, port, swarm_port):
    """The work directory: the project's compose file and Swarm override, the published port
    changed to a free one, and CURVE keys made with the image's hamyarctl (the README's way)."""
    with open(os.path.join(ROOT, "docker-compose.yml")) as f:
        text = f.read()
    for name, p in (("docker-compose.yml", port), ("swarm-base.yml", swarm_port)):
        new, n = re.subn(r"\bpublished: 8080\b", f"published: {p}", text)
        check(n == 1, "docker-compose.yml publishes 8080 once")
        with open(os.path.join(work, name), "w") as f:
            f.write(new)
    shutil.copy(os.path.join(ROOT, "docker", "swarm.yml"), work)
    keys = os.path.join(work, "deploy", "keys")
    os.makedirs(keys)
    docker("run", "--rm", "--network", "none", "--user", "0:0", "-v", f"{keys}:/keys", IMAGE,
           "hamyarctl", "curve", "keygen", "--all", "--dir", "/keys")
    for name in os.listdir(keys):
        if name.endswith(".key"):
            os.chown(os.path.join(keys, name), 0, 10001)
            os.chmod(os.path.join(keys, name), 0o640)


def cleanup(work, project, stack, cluster=None):
    """Whatever happened: compose down, stack rm and swarm leave, then the engine stopped (by
    its pid) and its mounts undone."""
    try:
        if project:
            project.down()
        if stack:
            stack.down()
        if cluster:
            cluster.down()
        # What stacks leave in the data root (stopped containers, stack volumes, Swarm's
        # docker_gwbridge) would pile up run after run: the base image and build cache stay.
        for what in ("container", "volume", "network"):
            docker(what, "prune", "-f", check_rc=False, timeout=120)
    except Exception as e:   # the engine's stop below still runs
        print(f"cleanup: {e}")
    if os.environ.get("HY_CT_KEEP_ENGINE") == "1":
        print("HY_CT_KEEP_ENGINE=1: the engine is left running (tests/containers/engine.sh stop)")
    else:
        subprocess.run([ENGINE, "stop"], env=ENV, timeout=120)
    if work:
        shutil.rmtree(work, ignore_errors=True)


def main():
    only = sys.argv[1] if len(sys.argv) > 1 else ""
    names = ["engine_start", "base_image", "image_build", "engine_restart_isolated_dns",
             "keys_and_files"] + \
        ["compose_" + f.__name__ for f in compose_steps.STEPS] + ["compose_down"] + \
        ["swarm_" + f.__name__ for f in swarm_steps.STEPS] + ["swarm_down"] + \
        ["swarm3_" + f.__name__ for f in multinode_steps.STEPS] + ["swarm3_down"]
    if only and not any(n.startswith(only) for n in names):
        print(f"container suite: no step starts with {only!r} (steps: {' '.join(names)})")
        print("0 passed, 0 failed")
        return 0
    if os.environ.get("HY_CONTAINERS") == "0":
        return skip("HY_CONTAINERS=0")
    r = subprocess.run([ENGINE, "why-not"], capture_output=True, text=True)
    if r.returncode != 0:
        return skip(r.stdout.strip() or r.stderr.strip())

    def on_signal(sig, frame):
        raise SystemExit(f"signal {sig}")
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)

    suite, work, project, stack, cluster = Suite(only), None, None, None, None
    multinode = os.environ.get("HY_CT_MULTINODE", "1") != "0"
    groups = {"compose_": compose_steps.STEPS, "swarm_": swarm_steps.STEPS,
              "swarm3_": multinode_steps.STEPS if multinode else []}
    # A group (its prerequisites too) runs when one of its steps is asked for.
    want = {g: any((g + f.__name__).startswith(only) for f in steps) for g, steps in groups.items()}
    t_all = time.time()
    try:
        suite.step("engine_start", lambda: sh(ENGINE, "start", timeout=120), prerequisite=True)
        suite.step("base_image", lambda: sh(ENGINE, "base-image", timeout=900), prerequisite=True)
        suite.step("image_build", build_image, prerequisite=True)
        if want["swarm3_"]:
            suite.step("node_image_build", multinode_steps.build_node_image, prerequisite=True)
        suite.step("engine_restart_isolated_dns", lambda: sh(ENGINE, "start", "run", timeout=180),
                   prerequisite=True)
        work = tempfile.mkdtemp(prefix="hamyar-ct-")
        port, swarm_port = free_port(), free_port()
        suite.step("keys_and_files", make_work, work, port, swarm_port, prerequisite=True)
        broken = suite.broken   # each group runs even when a step of another failed
        if want["compose_"]:
            project = compose_steps.Project(work, port)
            for fn in compose_steps.STEPS:
                suite.step("compose_" + fn.__name__, fn, project,
                           prerequisite=fn is compose_steps.up_ready)
            suite.step("compose_down", project.down, always=True)
            project = None
        if want["swarm_"]:
            suite.broken = broken
            stack = swarm_steps.Stack(work, swarm_port)
            for fn in swarm_steps.STEPS:
                suite.step("swarm_" + fn.__name__, fn, stack,
                           prerequisite=fn in swarm_steps.PREREQUISITES)
            suite.step("swarm_down", stack.down, always=True)
            stack = None
        if want["swarm3_"]:
            suite.broken = broken
            cluster = multinode_steps.Cluster(work, swarm_port)
            for fn in multinode_steps.STEPS:
                suite.step("swarm3_" + fn.__name__, fn, cluster,
                           prerequisite=fn in multinode_steps.PREREQUISITES)
            suite.step("swarm3_down", cluster.down, always=True)
            cluster = None
    finally:
        t0 = time.time()
        cleanup(work, project, stack, cluster)
        suite.times.append(("cleanup (engine stopped)", time.time() - t0, "ok"))
        left = subprocess.run(["pgrep", "-f", f"dockerd .*{CACHE}"], capture_output=True, text=True)
        if left.stdout.strip() and os.environ.get("HY_CT_KEEP_ENGINE") != "1":
            print(f"FAIL containers.nothing_left_running: dockerd still runs: {left.stdout.split()}")
            suite.failed += 1
    print("== container suite step times")
    for name, took, status in suite.times:
        print(f"   {name:<45} {took:7.1f}s  {status}")
    print(f"   {'total':<45} {time.time() - t_all:7.1f}s")
    print(f"{suite.passed} passed, {suite.failed} failed")
    return 1 if suite.failed else 0


if __name__ == "__main__":
    sys.exit(main())
