"""What the container suite's steps share: the engine's client, HTTP to the gateway, waiting.

Every docker command goes to the suite's own engine (DOCKER_HOST=unix://$HY_DOCKER_CACHE/
docker.sock, started by engine.sh) with Debian's client (/usr/bin/docker, 20.10) and Compose v1
(/usr/bin/docker-compose, 1.29).
"""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from harness import TEST_OFFICES, Response, TestFailure, check, eq, make_nid, person  # noqa: E402,F401

CACHE = os.environ.get("HY_DOCKER_CACHE", "/var/cache/hamyar-docker")
ENV = dict(os.environ, DOCKER_HOST=f"unix://{CACHE}/docker.sock", COMPOSE_INTERACTIVE_NO_CLI="1")
ENV.pop("DOCKER_CONTEXT", None)
DOCKER = "/usr/bin/docker"
COMPOSE = "/usr/bin/docker-compose"
IMAGE = "hamyar:latest"
SERVICES = ["registry", "loans", "networks", "microfund", "insurance", "reporting"]


def sh(*args, timeout=300, check_rc=True, input=None):
    """Runs a command against the suite's engine; returns its stdout (str). Fails with its
    output when it exits non-zero and check_rc."""
    r = subprocess.run(list(args), env=ENV, capture_output=True, text=True, timeout=timeout,
                       input=input)
    if check_rc and r.returncode != 0:
        raise TestFailure(f"{' '.join(args)} exited {r.returncode}:\n{r.stdout[-1500:]}"
                          f"\n{r.stderr[-2500:]}")
    return r.stdout if check_rc else r


def docker(*args, **kw):
    return sh(DOCKER, *args, **kw)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(what, fn, timeout, interval=0.5):
    """Calls fn until it returns a true value (returned); fails after timeout seconds with the
    last value or exception."""
    deadline, last = time.time() + timeout, None
    while time.time() < deadline:
        try:
            last = fn()
            if last:
                return last
        except (OSError, TestFailure, ValueError, KeyError) as e:
            last = e
        time.sleep(interval)
    raise TestFailure(f"{what}: not within {timeout}s (last: {last!r})")


class Api:
    """HTTP to the gateway on host:port, with API keys by role."""

    def __init__(self, port, host="127.0.0.1"):
        self.port = port
        self.host = host
        self.keys = {}

    def request(self, method, path, body=None, key="social_services", timeout=10):
        h = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            h["Content-Type"] = "application/json"
        if key:
            h["Authorization"] = "Bearer " + self.keys.get(key, key)
        req = urllib.request.Request(f"http://{self.host}:{self.port}{path}", data=data,
                                     method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return Response(resp.status, dict(resp.headers), resp.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, dict(e.headers), e.read())

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def ready(self):
        """The /readyz document when it says 200, else None."""
        r = self.get("/readyz", key=None, timeout=5)
        return r.json if r.status == 200 else None

    def wait_ready(self, timeout=180, workers=None):
        """Waits for /readyz 200 (and, with workers={service: n}, at least n workers of each)."""
        def ok():
            doc = self.ready()
            if doc and workers:
                have = {s: doc["services"].get(s, {}).get("workers", 0) for s in workers}
                return doc if all(have[s] >= n for s, n in workers.items()) else None
            return doc
        return wait_for(f"/readyz on port {self.port}" + (f" with {workers}" if workers else ""),
                        ok, timeout)


def add_key(exec_prefix, api, role, office="rey-1"):
    """Makes an API key with hamyarctl inside the gateway's container (exec_prefix: the command
    that runs a program there) and gives it to api; waits for the gateway to read it."""
    out = sh(*exec_prefix, "hamyarctl", "keys", "add", "--role", role, "--office", office)
    key = [w for w in out.split() if w.startswith("hy_")]
    check(key, f"hamyarctl printed no key: {out!r}")
    api.keys[role] = key[-1]
    wait_for(f"the gateway accepts the new {role} key",
             lambda: api.get("/v1/persons?limit=1", key=role).status != 401, 10, 0.3)
    if role == "social_services":
        ensure_offices(exec_prefix, api)
    return key[-1]


def ensure_offices(exec_prefix, api):
    """Creates the offices the test data names (the registry refuses a person of an unknown
    office) with an operator key; an office that exists already (a kept volume) is fine."""
    if "operator" not in api.keys:
        add_key(exec_prefix, api, "operator")
    for office in TEST_OFFICES:
        r = api.post("/v1/offices", office, key="operator")
        check(r.status in (201, 409), f"office {office['code']}: {r!r}")


def health_cmd(container):
    """The health check command of a container (its image config, as compose or Swarm set it)."""
    test = json.loads(docker("inspect", "-f", "{{json .Config.Healthcheck.Test}}", container))
    check(test and test[0] == "CMD", f"{container}: health check {test}")
    return test[1:]


def run_health(container):
    """Runs the container's health check as Docker would; returns (exit code, seconds, output)."""
    t0 = time.time()
    r = sh(DOCKER, "exec", container, *health_cmd(container), check_rc=False, timeout=60)
    return r.returncode, time.time() - t0, (r.stdout + r.stderr).strip()


def health_timeout(container):
    ns = json.loads(docker("inspect", "-f", "{{json .Config.Healthcheck.Timeout}}", container))
    return ns / 1e9 if ns else 30.0


def status_json(exec_prefix):
    """hamyarctl status --json run in the gateway's container (exec_prefix), as a document (its
    log lines, which Compose v1's exec mixes into stdout, left aside). status exits 1 while a
    service is down and still prints the document: the callers look at the services."""
    out = sh(*exec_prefix, "hamyarctl", "status", "--json", check_rc=False).stdout
    lines = [x for x in out.splitlines() if x.startswith('{"broker"')]
    check(lines, f"hamyarctl status --json printed no status: {out!r}")
    return json.loads(lines[-1])


def replica_hosts(exec_prefix, service):
    """The hosts of the replicas of service that answered service.status."""
    return {r["host"] for r in status_json(exec_prefix)["services"][service]["replicas"]}


def register(api, n, **over):
    """POSTs a person; returns the 201 body or raises."""
    r = api.post("/v1/persons", person(n, **over))
    eq(r.status, 201, f"register person {n}: {r!r}")
    return r.json
