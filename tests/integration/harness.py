"""Harness for Hamyar's integration tests: real binaries on loopback, driven over HTTP and ZeroMQ.

A Cluster starts the gateway (with its broker) and the chosen services on free loopback ports,
with their data in a fresh temporary directory and API keys made by hamyarctl. Tests talk to it
the way integrators do: HTTP through the gateway, SUB to a service's events, and requests to the
broker (events.since) as a subscriber would.

Tests are plain functions named test_*; run.py discovers them and prints "N passed, N failed".
"""
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import zmq

import events_check

BUILD = os.environ.get("HY_BUILD", "build/release")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ALL_SERVICES = ["registry"]
PUB_OFFSET = {"registry": 1, "loans": 2, "networks": 3, "microfund": 4, "insurance": 5, "reporting": 6}
START_GRACE_S = 1.0   # a process this young may not handle SIGTERM yet (stop waits for it)


# The offices the tests' data names. Every record the registry writes must name an office that
# exists and a person's neighbourhood must be one her office covers, so every cluster that runs the
# registry starts with these (Cluster.create_offices): the default keys act for rey-1; tests also
# write for rey-2; the neighbourhoods are every one a test gives a person, in either office.
TEST_HOODS = ["شهرری", "دولت‌آباد", "hood-c"]
TEST_OFFICES = [
    {"code": "rey-1", "name": "دفتر تسهیل‌گری شهرری ۱", "province": "تهران", "city": "تهران",
     "neighbourhoods": TEST_HOODS},
    {"code": "rey-2", "name": "دفتر تسهیل‌گری شهرری ۲", "province": "تهران", "city": "تهران",
     "neighbourhoods": TEST_HOODS},
]


class TestFailure(AssertionError):
    pass


def check(cond, msg="check failed"):
    if not cond:
        raise TestFailure(msg)


def eq(a, b, msg=""):
    if a != b:
        raise TestFailure(f"{msg} expected {b!r}, got {a!r}")


def ok(r, what, status=(200, 201)):
    """The JSON of an answer whose status is status (one, or a tuple of them), else a failure
    naming what was asked."""
    check(r.status in ((status,) if isinstance(status, int) else status), f"{what}: {r}")
    return r.json


def refused(r, status, code, field=None):
    """An answer refused with status and the problem code (and, when given, its field)."""
    eq(r.status, status, f"{code}: {r}")
    eq((r.json or {}).get("code"), code, f"{r}")
    if field:
        eq(r.json.get("field"), field, f"{r}")


def _ephemeral_low():
    """The lowest port the kernel hands out to outgoing connections (32768 on Linux)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _free_base():
    """A base port with base..base+19 free on loopback, below the ephemeral range: polling a
    port nothing listens on yet from inside that range can connect the client to itself (TCP
    simultaneous open), and the "reply" is its own request."""
    top = max(_ephemeral_low(), 12000) - 20
    for _ in range(200):
        base = random.randrange(10000, top, 20)
        try:
            socks = []
            for p in range(base, base + 20):
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", p))
                socks.append(s)
            for s in socks:
                s.close()
            return base
        except OSError:
            for s in socks:
                s.close()
    raise RuntimeError("no free port range")


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.raw = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return f"<{self.status} {self.raw[:300]!r}>"


class Cluster:
    def __init__(self, services=None, env=None, clock=None, offices=None):
        self.services = list(services or ALL_SERVICES)
        self.offices = TEST_OFFICES if offices is None else offices
        self.registry_seq0 = 0  # registry events written by the set-up (the offices)
        self.dir = tempfile.mkdtemp(prefix="hamyar-it-")
        self.base = _free_base()
        self.http_port = self.base
        self.broker = f"tcp://127.0.0.1:{self.base + 10}"
        self.procs = {}
        self.logs = {}
        self.keys = {}
        self.env = dict(os.environ)
        self.env.update({
            "HY_DATA_DIR": os.path.join(self.dir, "var"),
            "HY_BROKER": self.broker,
            "HY_BROKER_BIND": self.broker + ",inproc://broker",
            "HY_HTTP_PORT": str(self.http_port),
            "HY_HTTP_ADDR": "127.0.0.1",
            "HY_KEYS_FILE": os.path.join(self.dir, "keys"),
            "HY_GATEWAY_TIMEOUT_MS": "5000",
            "HY_SERVICES": ",".join(self.services),
            "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=23",
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=24",
        })
        for name, off in PUB_OFFSET.items():
            self.env[f"HY_PUB_{name.upper()}"] = f"tcp://127.0.0.1:{self.base + 10 + off}"
        if clock:
            self.env["HY_CLOCK"] = clock
        if env:
            self.env.update(env)
        self.zctx = zmq.Context.instance()

    # ---- processes ---------------------------------------------------------------------------
    def bin(self, name):
        return os.path.join(ROOT, BUILD, "bin", name)

    def make_key(self, role, office="rey-1", key_id=None):
        args = [self.bin("hamyarctl"), "keys", "add", "--role", role, "--file", self.env["HY_KEYS_FILE"]]
        if office:
            args += ["--office", office]
        if key_id:
            args += ["--id", key_id]
        out = subprocess.run(args, env=self.env, capture_output=True, text=True, check=True).stdout
        key = [w for w in out.split() if w.startswith("hy_")]
        check(key, f"hamyarctl printed no key: {out!r}")
        return key[-1]

    def province_key(self):
        """A social-services key of every office ('*': the provincial social-affairs office), made
        once per cluster: an office key's reports are its own office's."""
        if "province" not in self.keys:
            self.keys["province"] = self.make_key("social_services", office="*")
            time.sleep(1.2)   # the gateway rereads its keys file at most once a second
        return self.keys["province"]

    def start(self):
        for role in ("social_services", "insurance_fund", "operator", "auditor"):
            self.keys[role] = self.make_key(role)
        self.start_proc("gateway")
        for s in self.services:
            self.start_proc(s)
        self.wait_ready()
        if "registry" in self.services:
            self.create_offices(self.offices)
        return self

    def create_offices(self, offices):
        """Creates offices through the gateway with the operator key; one that exists already (a
        cluster started on kept data) is left as it is."""
        for office in offices:
            r = self.post("/v1/offices", office, key="operator")
            # /readyz may say ready a moment before the gateway has installed the routes it built
            # from the registry's description (gateway/catalog.c marks the service described,
            # keeps the description on disk, then installs): a 404 of the route itself is asked
            # again for a few seconds.
            deadline = time.time() + 5
            while (r.status == 404 and (r.json or {}).get("detail") == "no such resource"
                   and time.time() < deadline):
                time.sleep(0.05)
                r = self.post("/v1/offices", office, key="operator")
            check(r.status in (201, 409), f"office {office['code']}: {r}")
        if offices:
            self.registry_seq0 = len(self.events_since("registry"))

    def start_proc(self, name, extra_args=(), tag=None):
        tag = tag or name
        exe = self.bin("hamyar-" + name)
        if tag in self.logs:
            self.logs[tag].close()  # a restart of the same tag: the new process appends
        log = open(os.path.join(self.dir, tag + ".log"), "ab")
        self.logs[tag] = log
        self.procs[tag] = subprocess.Popen([exe, *extra_args], env=self.env, stdout=log, stderr=log,
                                           cwd=self.dir)
        self.procs[tag]._started = time.time()
        return self.procs[tag]

    def kill(self, tag, sig=signal.SIGKILL):
        p = self.procs.get(tag)
        if p and p.poll() is None:
            p.send_signal(sig)
            p.wait(timeout=30)
        return p.returncode if p else None

    def wait_ready(self, timeout=20, services=None):
        want = set(services or self.services)
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                r = self.get("/readyz", key=None)
                last = r
                live = set((r.json or {}).get("services", {}).keys()) if r.json else set()
                live = {s for s, v in (r.json or {}).get("services", {}).items()
                        if (v.get("workers", 0) if isinstance(v, dict) else v)}
                if want <= live:
                    return
            except (OSError, http.client.HTTPException):   # not listening yet
                pass
            time.sleep(0.1)
        raise TestFailure(f"services not ready: {last!r}")

    def wait_serving(self, service, timeout=20):
        """Waits until a request through the broker really reaches a live worker of service.
        After a restart the broker may still list the killed worker for up to 3 s, so /readyz
        alone is not proof."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if self.call(service, "service.status", timeout=1).get("status") == 200:
                    return
            except TestFailure:
                pass
            time.sleep(0.1)
        raise TestFailure(f"{service} does not answer")

    def restart(self, tag, service=None, extra_args=()):
        """kill -9 a process, start it again, and wait until it serves."""
        self.kill(tag)
        self.start_proc(service or tag, extra_args, tag=tag)
        self.wait_serving(service or tag)

    def stop(self):
        """SIGTERM everything; a process that does not exit 0 (crash, leak under ASan) fails."""
        bad = []
        # A process started a moment ago (a consumer restarted by a chaos thread just before the
        # test ended) may not have installed its SIGTERM handler yet, above all under ASan, whose
        # start-up runs before main: it would die of the signal (-15) having done nothing wrong.
        young = [p._started for p in self.procs.values()
                 if p.poll() is None and hasattr(p, "_started")]
        if young:
            time.sleep(max(0.0, max(young) + START_GRACE_S - time.time()))
        for tag, p in self.procs.items():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for tag, p in self.procs.items():
            try:
                rc = p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                rc = "hung"
            if rc not in (0, -9, -signal.SIGKILL) and not getattr(p, "_expected_dead", False):
                bad.append((tag, rc))
        for log in self.logs.values():
            log.close()
        if bad:
            tails = []
            for tag, rc in bad:
                path = os.path.join(self.dir, tag + ".log")
                with open(path, "rb") as f:
                    tails.append(f"--- {tag} exited {rc}:\n" + f.read()[-3000:].decode("utf-8", "replace"))
            raise TestFailure("processes did not stop cleanly:\n" + "\n".join(tails))
        if not os.environ.get("HY_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.abort()
            raise

    def __exit__(self, et, ev, tb):
        if et is None:
            if not os.environ.get("HY_SKIP_EVENT_CHECK"):
                try:
                    events_check.check_cluster(self, TestFailure)   # every event vs its schema
                except BaseException:
                    self.abort()
                    raise
            self.stop()
        else:
            self.abort()
        return False

    def abort(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        for log in self.logs.values():
            log.close()
        print(f"    (logs kept in {self.dir})")

    # ---- HTTP --------------------------------------------------------------------------------
    def request(self, method, path, body=None, key="social_services", headers=None, raw=None,
                timeout=15):
        url = f"http://127.0.0.1:{self.http_port}{path}"
        h = {"Accept": "application/json"}
        data = None
        if raw is not None:
            data = raw
            h["Content-Type"] = "application/json"
        elif body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            h["Content-Type"] = "application/json"
        if key:
            h["Authorization"] = "Bearer " + (self.keys.get(key, key))
        h.update(headers or {})
        req = urllib.request.Request(url, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return Response(resp.status, dict(resp.headers), resp.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, dict(e.headers), e.read())

    def get(self, path, key="social_services", **kw):
        return self.request("GET", path, key=key, **kw)

    def post(self, path, body=None, key="social_services", **kw):
        return self.request("POST", path, body=body, key=key, **kw)

    def patch(self, path, body=None, key="social_services", **kw):
        return self.request("PATCH", path, body=body, key=key, **kw)

    # ---- ZeroMQ ------------------------------------------------------------------------------
    def subscribe(self, service, topic=""):
        s = self.zctx.socket(zmq.SUB)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt_string(zmq.SUBSCRIBE, topic)
        s.connect(self.env[f"HY_PUB_{service.upper()}"])
        time.sleep(0.3)  # slow joiner: let the subscription reach the publisher
        return s

    def call(self, service, op, args=None, role="operator", timeout=5):
        """A request to a service through the broker, as a subscriber or tool sends it."""
        s = self.zctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(self.broker)
        rid = str(uuid.uuid4())
        req = {"v": 1, "op": op, "id": rid, "actor": {"key_id": "test", "role": role, "office": ""},
               "args": args or {}}
        s.send_multipart([b"HYC1", service.encode(), json.dumps(req).encode()])
        if not s.poll(timeout * 1000):
            s.close()
            raise TestFailure(f"{service} {op}: no reply")
        frames = s.recv_multipart()
        s.close()
        return json.loads(frames[2])

    def events_since(self, service, after=0, limit=10000):
        out = []
        while True:
            r = self.call(service, "events.since", {"after": after, "limit": limit})
            check(r.get("status") == 200, f"events.since failed: {r}")
            evs = r["result"]["events"]
            out += evs
            # a page ends early at a byte ceiling: last_seq (the head) says whether more waits
            if not evs or evs[-1]["seq"] >= r["result"].get("last_seq", 0):
                return out
            after = evs[-1]["seq"]


def recv_events(sock, n, timeout=5.0):
    got = []
    deadline = time.time() + timeout
    while len(got) < n and time.time() < deadline:
        if sock.poll(100):
            topic, body = sock.recv_multipart()
            got.append((topic.decode(), json.loads(body)))
    return got


# ---- test data -------------------------------------------------------------------------------
def nid_check_digit(d9):
    s = sum(int(d9[i]) * (10 - i) for i in range(9))
    r = s % 11
    return str(r if r < 2 else 11 - r)


def make_nid(n):
    """A valid national ID derived from n (never all-equal digits)."""
    base = f"{(n * 7919 + 12345) % 10**9:09d}"
    nid = base + nid_check_digit(base)
    if len(set(nid)) == 1:
        return make_nid(n + 1)
    return nid


def person(n, **over):
    p = {
        "national_id": make_nid(n),
        "first_name": "مریم",
        "last_name": f"احمدی{n}",
        "birth_date": "1985-04-12",
        "sex": "female",
        "mobile": "0912" + f"{n % 10**7:07d}",
        "province": "تهران",
        "city": "تهران",
        "neighbourhood": "شهرری",
        "household_size": 3,
        "head_of_household": True,
        "referral": {"source": "self"},
    }
    p.update(over)
    return p
