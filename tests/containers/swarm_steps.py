"""Swarm on one node: the project's compose file with the override for kernels without ip_vs
(docker/swarm.yml), deployed with --resolve-image never (no registry here)."""
import threading
import time

from lib import (DOCKER, SERVICES, Api, add_key, check, docker, eq, person, replica_hosts, sh,
                 wait_for)

STACK = "hyst"


class Stack:
    def __init__(self, work, port):
        self.work = work
        self.port = port
        self.api = Api(port)
        self.joined = False

    def task_container(self, service):
        """A running container of the stack's service on this node."""
        ids = docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={STACK}_{service}",
                     "--filter", "status=running").split()
        check(ids, f"no running container of {STACK}_{service}")
        return ids[0]

    def exec_prefix(self, service="gateway"):
        return [DOCKER, "exec", self.task_container(service)]

    def down(self):
        if not self.joined:
            return
        docker("stack", "rm", STACK, check_rc=False)
        wait_for("the stack's containers gone", lambda: not docker(
            "ps", "-aq", "--filter", f"label=com.docker.stack.namespace={STACK}").split(), 120, 1)
        docker("swarm", "leave", "--force", check_rc=False)
        self.joined = False


def init_deploy(st):
    """swarm init on loopback, every placement label on this node, stack deploy."""
    docker("swarm", "init", "--advertise-addr", "127.0.0.1", "--listen-addr", "127.0.0.1:2377")
    st.joined = True
    node = docker("node", "ls", "-q").split()[0]
    labels = []
    for s in ["gateway"] + SERVICES:
        labels += ["--label-add", f"hamyar.{s}=true"]
    docker("node", "update", *labels, node)
    out = sh("sh", "-c", f"cd {st.work} && /usr/bin/docker stack deploy -c swarm-base.yml "
                         f"-c swarm.yml --resolve-image never {STACK}", timeout=300)
    print("    " + out.strip().replace("\n", "\n    ")[:600])


def ready(st):
    """Every service ready by /readyz through the gateway's host-mode port."""
    st.api.wait_ready(timeout=300, workers={s: 1 for s in SERVICES})
    add_key(st.exec_prefix(), st.api, "social_services")


def scale(st):
    """docker service scale reporting=3: three workers, each answering service.status."""
    docker("service", "scale", "-d", f"{STACK}_reporting=3")
    st.api.wait_ready(timeout=240, workers={"reporting": 3})

    def three():
        return len(replica_hosts(st.exec_prefix(), "reporting")) == 3
    wait_for("three reporting replicas answer", three, 60, 1)


def rolling_update(st):
    """docker service update --force of registry (stop-first) while a writer registers people:
    every write the gateway acknowledged (201) is there afterwards."""
    acked, refused, stop = [], [], threading.Event()
    base = int(time.time()) % 100000 * 100

    def writer():
        n = 0
        while not stop.is_set():
            n += 1
            try:
                r = st.api.post("/v1/persons", person(base + n), timeout=10)
                (acked if r.status == 201 else refused).append(r.json["id"] if r.status == 201
                                                               else r.status)
            except OSError as e:
                refused.append(str(e))
            time.sleep(0.05)
    t = threading.Thread(target=writer)
    t.start()
    try:
        time.sleep(2)
        before = len(acked)
        docker("service", "update", "--force", "-d", f"{STACK}_registry")
        wait_for("the update converges", lambda: docker(
            "service", "inspect", "-f", "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}",
            f"{STACK}_registry").strip() == "completed", 180, 1)
        st.api.wait_ready(timeout=120, workers={"registry": 1})
        n = len(acked)
        wait_for("writes acknowledged after the update", lambda: len(acked) > n + 3, 60)
    finally:
        stop.set()
        t.join()
    check(before > 0, "writes were acknowledged before the update")
    print(f"    {len(acked)} writes acknowledged, {len(refused)} refused during the update "
          f"({sorted(set(map(str, refused)))[:5]})")
    lost = [pid for pid in acked if st.api.get(f"/v1/persons/{pid}").status != 200]
    eq(lost, [], "acknowledged writes lost:")


PREREQUISITES = (init_deploy, ready)
STEPS = [init_deploy, ready, scale, rolling_update]
