"""Several "hosts" on one machine (Linux network namespaces joined by a private bridge), and a
Hamyar deployment spread over them; helpers of tests/integration/test_ops.py.

A Hosts object makes one namespace holding a bridge and, per host, a namespace with a veth pair
whose one end (eth0, an address of 10.213.0.0/24) is in the host's namespace and whose other
end is on the bridge. Nothing is made in the root namespace: the addresses exist only inside the
namespaces made here, and traffic between them never leaves the machine. cleanup() deletes
every namespace (which deletes their links); call it in a finally block.

A Deployment runs the gateway and services in those hosts with CURVE on: each host holds every
.pub (its allow-list) and its own .key, as docker-compose.yml gives them; the test talks HTTP to
the gateway from a client host with curl inside that host's namespace.

Run as a program, this file is a small ZeroMQ client for the tests to start inside a host's
namespace:
    python3 netns.py sub ENDPOINT SERVER_NAME CURVE_DIR CLIENT_NAME SECONDS
subscribes to every topic of ENDPOINT as a CURVE client (CLIENT_NAME's key pair in CURVE_DIR,
the server's public key SERVER_NAME.pub there; CLIENT_NAME "-" for plaintext), prints "ready",
then prints one line per message received until SECONDS have passed, then "done N".
"""
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

from harness import BUILD, ROOT, TestFailure, check, eq

SUBNET = "10.213.0"
KEY_NAMES = ["gateway", "registry", "loans", "networks", "microfund", "insurance", "reporting",
             "hamyarctl", "fund-sync"]
PUB_PORT = {"registry": 7101, "loans": 7102, "networks": 7103, "microfund": 7104, "insurance": 7105}


def bin_path(name):
    return os.path.join(ROOT, BUILD, "bin", name)


def services_in_tree():
    return sorted(os.path.basename(os.path.dirname(p))
                  for p in glob.glob(os.path.join(ROOT, "services", "*", "main.c")))


def built_services():
    return [s for s in services_in_tree() if os.access(bin_path("hamyar-" + s), os.X_OK)]


def ctl(env, *args, timeout=60):
    return subprocess.run([bin_path("hamyarctl"), *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HY_")}
    env.update(extra)
    return env


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


class Hosts:
    def __init__(self, tag=None):
        self.tag = tag or f"hy{os.getpid() % 100000}"
        self.bridge_ns = f"{self.tag}-br"
        self.hosts = {}          # name -> (namespace, address)
        self.made = []           # namespaces made, for cleanup

    def _add_ns(self, ns):
        _ip("netns", "add", ns)
        self.made.append(ns)
        _ip("-n", ns, "link", "set", "lo", "up")

    def setup(self):
        self._add_ns(self.bridge_ns)
        _ip("-n", self.bridge_ns, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.bridge_ns, "link", "set", "br0", "up")
        return self

    def add(self, name, last_octet):
        """A host in a namespace of its own, with address 10.213.0.<last_octet>."""
        ns = f"{self.tag}-{name}"
        addr = f"{SUBNET}.{last_octet}"
        peer = f"v{last_octet}"
        self._add_ns(ns)
        _ip("-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", peer,
            "netns", self.bridge_ns)
        _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", "eth0")
        _ip("-n", ns, "link", "set", "eth0", "up")
        _ip("-n", self.bridge_ns, "link", "set", peer, "master", "br0")
        _ip("-n", self.bridge_ns, "link", "set", peer, "up")
        self.hosts[name] = (ns, addr)
        return addr

    def addr(self, name):
        return self.hosts[name][1]

    def cmd(self, name, argv):
        """argv run inside host name's network namespace."""
        return ["ip", "netns", "exec", self.hosts[name][0], *argv]

    def cleanup(self):
        errors = []
        for ns in reversed(self.made):
            r = _ip("netns", "del", ns, check=False)
            if r.returncode != 0 and "No such file" not in r.stderr:
                errors.append(f"{ns}: {r.stderr.strip()}")
        self.made = []
        return errors


class Deployment:
    """The gateway, every built service and two reporting replicas, each in its own namespace."""

    def __init__(self, hosts, tmp, services):
        self.h, self.tmp, self.services = hosts, tmp, services
        self.procs, self.logs = {}, {}
        self.keys = os.path.join(tmp, "keys")
        r = ctl(clean_env(), "curve", "keygen", "--all", "--dir", self.keys)
        eq(r.returncode, 0, f"curve keygen --all: {r.stderr}")
        eq(sorted(os.listdir(self.keys)), sorted([k + ".key" for k in KEY_NAMES] + [k + ".pub" for k in KEY_NAMES]),
           "one pair per process:")
        self.keys_file = os.path.join(tmp, "api-keys")
        self.api = {}
        for role in ("social_services", "operator"):
            out = ctl(clean_env(), "keys", "add", "--role", role, "--office", "rey-1",
                       "--file", self.keys_file).stdout
            self.api[role] = out.split()[-1]

    def curve_dir(self, tag, key_name):
        """What one host holds: every .pub (its allow-list) and its own .key."""
        d = os.path.join(self.tmp, "curve-" + tag)
        os.makedirs(d, exist_ok=True)
        for k in KEY_NAMES:
            shutil.copy(os.path.join(self.keys, k + ".pub"), d)
        shutil.copy(os.path.join(self.keys, key_name + ".key"), d)
        return d

    def env(self, tag, key_name, **extra):
        env = clean_env(HY_BROKER=f"tcp://{self.h.addr('gateway')}:7100",
                         HY_CURVE_DIR=self.curve_dir(tag, key_name),
                         HY_DATA_DIR=os.path.join(self.tmp, "data-" + tag),
                         HY_CLOCK="2024-06-15", HY_LOG_LEVEL="info",
                         ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=23",
                         UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=24")
        for s in self.services:
            if s in PUB_PORT:
                env[f"HY_PUB_{s.upper()}"] = f"tcp://{self.h.addr(s)}:{PUB_PORT[s]}"
        env.update(extra)
        return env

    def start(self, tag, host, argv, env):
        log = open(os.path.join(self.tmp, tag + ".log"), "ab")
        self.logs[tag] = log
        self.procs[tag] = subprocess.Popen(self.h.cmd(host, argv), env=env, stdout=log, stderr=log,
                                           cwd=self.tmp)

    def log(self, tag):
        self.logs[tag].flush()
        with open(os.path.join(self.tmp, tag + ".log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def http(self, method, path, body=None, role="social_services"):
        argv = ["curl", "-sS", "-m", "15", "-X", method, "-w", "\n%{http_code}",
                "-H", "Accept: application/json"]
        if role:
            argv += ["-H", "Authorization: Bearer " + self.api[role]]
        data = None
        if body is not None:
            argv += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
            data = json.dumps(body, ensure_ascii=False).encode()
        argv.append(f"http://{self.h.addr('gateway')}:8080{path}")
        r = subprocess.run(self.h.cmd("client", argv), input=data, capture_output=True, timeout=30)
        text, _, code = r.stdout.decode("utf-8", "replace").rpartition("\n")
        check(code.isdigit(), f"{method} {path}: curl failed: {r.stderr.decode()[-300:]}")
        try:
            return int(code), json.loads(text) if text.strip() else None
        except ValueError:
            return int(code), text

    def stop(self):
        bad = []
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for tag, p in self.procs.items():
            try:
                rc = p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                rc = "hung"
            if rc != 0:
                bad.append(f"{tag} exited {rc}:\n{self.log(tag)[-2000:]}")
        for log in self.logs.values():
            log.close()
        return bad


def wait_ready(d, want, timeout=40):
    deadline, last = time.time() + timeout, None
    while time.time() < deadline:
        code, body = d.http("GET", "/readyz", role=None)
        last = body
        if isinstance(body, dict):
            live = {s: (v.get("workers", 0) if isinstance(v, dict) else v)
                    for s, v in body.get("services", {}).items()}
            if all(live.get(s, 0) >= n for s, n in want.items()):
                return
        time.sleep(0.3)
    raise TestFailure(f"not ready across hosts: {last}")


def leftover_namespaces(tag):
    out = _ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(tag + "-")]


def _read_key(path):
    with open(path, "rb") as f:
        return f.read().strip()


def _sub(endpoint, server, curve_dir, name, seconds):
    import zmq
    ctx = zmq.Context()
    s = ctx.socket(zmq.SUB)
    s.setsockopt(zmq.LINGER, 0)
    if name != "-":
        s.curve_serverkey = _read_key(os.path.join(curve_dir, server + ".pub"))
        s.curve_publickey = _read_key(os.path.join(curve_dir, name + ".pub"))
        s.curve_secretkey = _read_key(os.path.join(curve_dir, name + ".key"))
    s.setsockopt(zmq.SUBSCRIBE, b"")
    s.connect(endpoint)
    print("ready", flush=True)
    n = 0
    deadline = time.time() + seconds
    while time.time() < deadline:
        if s.poll(100):
            topic = s.recv_multipart()[0]
            n += 1
            print("event", topic.decode(), flush=True)
    print("done", n, flush=True)
    s.close()
    ctx.term()


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "sub":
        _sub(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], float(sys.argv[6]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
