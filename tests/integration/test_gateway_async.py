"""Asynchronous forwarding: no HTTP thread waits on a service.

The gateway's service timeout is set far above every check here (60 s), so a request that is
answered at all within the checks was answered without waiting for a timeout; checks are by
ordering (this answer came while those requests were still stalled), not by tight timings.
"""
import json
import signal
import threading
import time

import fakeworker
from harness import Cluster, check, eq, person

SLOW = {"HY_GATEWAY_TIMEOUT_MS": "60000"}


def test_stopped_service_leaves_others_served():
    with Cluster(["registry", "networks"], env=SLOW) as c:
        eq(c.post("/v1/persons", person(1)).status, 201)
        reg = c.procs["registry"]
        reg.send_signal(signal.SIGSTOP)
        try:
            done = []
            lock = threading.Lock()

            def stalled(i):
                r = c.post("/v1/persons", person(100 + i), timeout=90)
                with lock:
                    done.append(r.status)

            ts = [threading.Thread(target=stalled, args=(i,)) for i in range(80)]
            for t in ts:
                t.start()
            time.sleep(1.0)   # the 80 are in flight, held by the stopped registry
            t0 = time.time()
            h = c.get("/healthz", key=None, timeout=30)
            eq(h.status, 200)
            n = c.get("/v1/networks/net_999", timeout=30)
            eq(n.status, 404, f"networks answers while registry is stopped: {n}")
            ready = c.get("/readyz", key=None, timeout=30)
            check(ready.status in (200, 503), ready)
            with lock:
                eq(done, [], "registry requests finished while it was stopped")
            check(time.time() - t0 < 20, "the other service's answers came without a timeout")
        finally:
            reg.send_signal(signal.SIGCONT)
        for t in ts:
            t.join()
        eq(set(done), {201}, "every stalled request is answered once the registry runs")


def test_held_requests_leave_their_slots_to_others():
    """A request held by a stopped service keeps its slot among the requests in flight
    (HY_GATEWAY_MAX_IN_FLIGHT, 64 here). Many more requests than there are slots then come and
    go to another service: every one is answered (a slot still held is skipped, not a reason to
    refuse). Only when every slot is held is one refused, 503 at once; then, the service
    running again, every held request is answered."""
    env = dict(SLOW, HY_GATEWAY_MAX_IN_FLIGHT="64")
    with Cluster(["registry", "networks"], env=env) as c:
        eq(c.post("/v1/persons", person(1)).status, 201)
        pid = c.post("/v1/persons", person(2)).json["id"]
        net = c.procs["networks"]
        net.send_signal(signal.SIGSTOP)
        held, lock, ts = [], threading.Lock(), []
        try:
            def stalled():
                r = c.get("/v1/networks/net_1", timeout=90)
                with lock:
                    held.append(r.status)

            def hold(n):
                for _ in range(n):
                    t = threading.Thread(target=stalled)
                    t.start()
                    ts.append(t)
                time.sleep(1.0)

            hold(8)
            statuses = [c.get(f"/v1/persons/{pid}").status for _ in range(400)]
            eq(sorted(set(statuses)), [200], "requests to registry while 8 slots are held")
            hold(56)   # every slot held
            r = c.get(f"/v1/persons/{pid}", timeout=30)
            eq(r.status, 503, f"a request beyond the slots: {r}")
            with lock:
                eq(held, [], "the held requests are still held")
        finally:
            net.send_signal(signal.SIGCONT)
        for t in ts:
            t.join()
        eq(len(held), 64)
        eq(set(held), {404}, "every held request is answered once networks runs")
        eq(c.get(f"/v1/persons/{pid}").status, 200)


def _with_fake(answer, check_fn):
    """A gateway whose registry is a test worker answering every request with answer()."""
    c = Cluster(["registry"], env=SLOW)
    try:
        for role in ("social_services", "operator"):
            c.keys[role] = c.make_key(role)
        c.start_proc("gateway")
        desc = fakeworker.description("registry", [fakeworker.op("persons.create", "POST", "/v1/persons",
                                                                 ok_status=201)], "prs")
        halt = fakeworker.start(c, "registry", desc, answer)
        try:
            c.wait_ready()
            check_fn(c)
        finally:
            halt()
        c.stop()
    except BaseException:
        c.abort()
        raise


def test_reply_without_request_id_is_answered_at_once():
    # A service that could not read the request (so cannot echo its id) still answers, and
    # the gateway matches the answer by its own tag: no timeout.
    def answer(req):
        return json.dumps({"id": "", "status": 400, "error": {
            "code": "malformed_request", "detail": "could not parse"}}).encode()

    def run(c):
        t0 = time.time()
        r = c.post("/v1/persons", person(1), timeout=90)
        eq(r.status, 400, f"{r}")
        eq(r.json["code"], "malformed_request")
        check(time.time() - t0 < 20, "answered without waiting for the service timeout")
    _with_fake(answer, run)


def test_malformed_reply_is_502_at_once():
    def run(c):
        t0 = time.time()
        r = c.post("/v1/persons", person(1), timeout=90)
        eq(r.status, 502, f"{r}")
        eq(r.json["code"], "bad_gateway")
        check(time.time() - t0 < 20, "answered without waiting for the service timeout")
    _with_fake(lambda req: b"{not json", run)
