"""A Swarm of three nodes, each a container running its own engine (node/Dockerfile),
on a network of the suite's engine. The project's image is loaded into each node (no registry),
services are placed by node labels as the README says, and a node is stopped while people are
registered through the gateway."""
import os
import subprocess
import threading
import time

from lib import (DOCKER, ENV, IMAGE, SERVICES, Api, add_key, check, docker, eq, person, sh,
                 wait_for)

NET = "hyct-nodes"
NODES = ["hyct-node-1", "hyct-node-2", "hyct-node-3"]
NODE_IMAGE = "hamyar-ct-node:latest"
STACK = "hamyar"
# As the README: node-1 gateway and registry, node-2 loans and networks, node-3 microfund and
# insurance; reporting anywhere.
LABELS = {NODES[0]: ["gateway", "registry"], NODES[1]: ["loans", "networks"],
          NODES[2]: ["microfund", "insurance"]}


# What a node needs to run an engine. Not --privileged: it asks for every capability, and a
# machine that lacks one in its bounding set (CAP_SYS_RESOURCE, in containers and some CI) cannot
# give it. Every other capability, no seccomp or AppArmor profile, /proc unmasked, the host's
# cgroups writable (each node's containers under a parent cgroup of its own).
NODE_OPTS = ["--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE", "--security-opt", "seccomp=unconfined",
             "--security-opt", "apparmor=unconfined", "--security-opt", "systempaths=unconfined",
             "--tmpfs", "/run", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw"]
NODE_CMD = ["dockerd", "--dns", "127.0.0.1", "--storage-driver", "overlay2", "--log-level", "warn"]


def build_node_image():
    """The node image (docker.io on debian:12-slim); needs the engine in build mode."""
    r = subprocess.run([DOCKER, "build", "--network", "host", "-t", NODE_IMAGE,
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "node")],
                       env=ENV, capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise AssertionError(f"node image: {r.stdout[-2000:]}\n{r.stderr[-1500:]}")


def node(n, *args, **kw):
    """A docker command run inside node n (its own engine)."""
    return sh(DOCKER, "exec", n, "docker", *args, **kw)


class Cluster:
    def __init__(self, work, port):
        self.work = work
        self.port = port
        self.started = False

    def ip(self, n):
        return docker("inspect", "-f", f"{{{{(index .NetworkSettings.Networks \"{NET}\").IPAddress}}}}",
                      n).strip()

    def down(self):
        for n in NODES:
            docker("rm", "-f", "-v", n, check_rc=False)
        docker("network", "rm", NET, check_rc=False)
        self.started = False


def start_nodes(cl):
    """Three privileged nodes, each with its engine; the project's image loaded into each."""
    cl.started = True
    docker("network", "create", NET)
    for n in NODES:
        docker("run", "-d", *NODE_OPTS, "--name", n, "--hostname", n, "--network", NET,
               NODE_IMAGE, *NODE_CMD, "--cgroup-parent", n)
    for n in NODES:
        wait_for(f"the engine of {n}", lambda: node(n, "version", check_rc=False).returncode == 0,
                 90, 1)
    save = subprocess.run([DOCKER, "save", IMAGE], env=ENV, capture_output=True, timeout=300)
    check(save.returncode == 0, f"docker save: {save.stderr[-500:]}")
    for n in NODES:
        r = subprocess.run([DOCKER, "exec", "-i", n, "docker", "load"], env=ENV, input=save.stdout,
                           capture_output=True, timeout=300)
        check(r.returncode == 0, f"docker load on {n}: {r.stderr[-500:]}")


def form_swarm(cl):
    """swarm init on node-1, the two others join as workers; labels as the README; deploy."""
    ip1 = cl.ip(NODES[0])
    node(NODES[0], "swarm", "init", "--advertise-addr", ip1)
    token = node(NODES[0], "swarm", "join-token", "-q", "worker").strip()
    for n in NODES[1:]:
        node(n, "swarm", "join", "--token", token, "--advertise-addr", cl.ip(n), f"{ip1}:2377")
    for n, services in LABELS.items():
        labels = []
        for s in services:
            labels += ["--label-add", f"hamyar.{s}=true"]
        node(NODES[0], "node", "update", *labels, n)
    # The stack's files and keys go to node-1, the manager (paths relative to the compose file).
    sh(DOCKER, "cp", cl.work + "/.", f"{NODES[0]}:/stack")
    out = sh(DOCKER, "exec", "-w", "/stack", NODES[0], "docker", "stack", "deploy", "-c",
             "swarm-base.yml", "-c", "swarm.yml", "--resolve-image", "never", STACK, timeout=300)
    check("Creating service" in out, out)
    cl.api = Api(cl.port)
    cl.api.host = cl.ip(NODES[0])


def ready_placed(cl):
    """Ready through the gateway's port on node-1; every service on the node of its label."""
    cl.api.wait_ready(timeout=300, workers={s: 1 for s in SERVICES})
    for n, services in LABELS.items():
        running = node(n, "ps", "--format", "{{.Label \"com.docker.swarm.service.name\"}}").split()
        for s in services:
            check(f"{STACK}_{s}" in running, f"{s} runs on {n}: {running}")
    gw = node(NODES[0], "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={STACK}_gateway"
              ).split()[0]
    add_key([DOCKER, "exec", NODES[0], "docker", "exec", gw], cl.api, "social_services")


def node_stopped(cl):
    """node-3 (microfund, insurance) stopped while people are registered: every acknowledged
    write is kept, the gateway names what is missing, and all is ready once it is back."""
    acked, refused, stop = [], [], threading.Event()
    base = int(time.time()) % 100000 * 100 + 50

    def writer():
        n = 0
        while not stop.is_set():
            n += 1
            try:
                r = cl.api.post("/v1/persons", person(base + n), timeout=10)
                (acked if r.status == 201 else refused).append(
                    r.json["id"] if r.status == 201 else r.status)
            except OSError as e:
                refused.append(str(e))
            time.sleep(0.05)
    t = threading.Thread(target=writer)
    t.start()
    try:
        time.sleep(2)
        docker("stop", "-t", "5", NODES[2])

        def missing():
            r = cl.api.get("/readyz", key=None)
            return r.status == 503 and set(r.json.get("missing", [])) >= {"microfund", "insurance"}
        wait_for("the gateway says microfund and insurance are missing", missing, 60, 1)
        n = len(acked)
        wait_for("registrations go on without node-3", lambda: len(acked) > n + 5, 30)
        docker("start", NODES[2])
        cl.api.wait_ready(timeout=240, workers={s: 1 for s in SERVICES})
    finally:
        stop.set()
        t.join()
    print(f"    {len(acked)} writes acknowledged, {len(refused)} refused")
    lost = [pid for pid in acked if cl.api.get(f"/v1/persons/{pid}").status != 200]
    eq(lost, [], "acknowledged writes lost:")


PREREQUISITES = (start_nodes, form_swarm)
STEPS = [start_nodes, form_swarm, ready_placed, node_stopped]
