"""The hardened front: what the gateway and its broker refuse before anything reaches a service.

Each test drives the real gateway and registry over loopback. Timing checks are generous
(seconds, not milliseconds) and set the gateway's service timeout far above them, so that a
request answered by a timeout can never pass for one answered at once.
"""
import json
import os
import random
import socket
import struct
import threading
import time

import zmq

from harness import Cluster, check, eq, person


def _rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _raw(port, data, timeout=10, src="127.0.0.1", half_close=False):
    """Sends bytes on a fresh connection and returns (status, headers text, body bytes).
    half_close ends the request stream, so a short body is not waited for."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(src, 0))
    try:
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        buf = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            buf += chunk
            head, sep, body = buf.partition(b"\r\n\r\n")
            if sep:
                clen = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if clen and len(body) >= int(clen[0].split(b":")[1]):
                    break
    finally:
        s.close()
    head, _, body = buf.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/") else 0
    return status, head.decode("latin-1"), body


def test_deep_json_body_is_400_at_once():
    # 2,047 levels: jansson parses it, but the envelope around it is deeper than a service's
    # parser takes. The gateway must refuse it itself, long before its service timeout.
    with Cluster(["registry"], env={"HY_GATEWAY_TIMEOUT_MS": "20000"}) as c:
        t0 = time.time()
        for n in (2046, 2047):
            deep = b'{"first_name":' + b"[" * n + b"]" * n + b"}"
            r = c.post("/v1/persons", raw=deep, timeout=30)
            eq(r.status, 400, f"deep body: {r}")
            eq(r.json["code"], "too_deep")
        check(time.time() - t0 < 5, "answered without waiting for a timeout")
        wide = json.dumps({f"k{i}": i for i in range(5000)}).encode()
        r = c.post("/v1/persons", raw=wide)
        eq(r.status, 400, f"wide body: {r}")
        eq(r.json["code"], "too_many_members")
        # Seventy such clients at once leave a normal request served.
        results = []
        ts = [threading.Thread(target=lambda: results.append(c.post("/v1/persons", raw=deep, timeout=30).status))
              for _ in range(70)]
        for t in ts:
            t.start()
        ok = c.post("/v1/persons", person(1))
        for t in ts:
            t.join()
        eq(ok.status, 201, f"normal request among deep ones: {ok}")
        eq(set(results), {400})
        check(time.time() - t0 < 15, "seventy deep bodies answered without timeouts")


def _ready_frames(sock, name):
    sock.send_multipart([b"HYW1", b"READY", name.encode()])


def test_foreign_worker_names_are_refused_and_expire():
    c = Cluster(["registry"])
    try:
        for role in ("social_services", "operator"):
            c.keys[role] = c.make_key(role)
        c.start_proc("gateway")
        time.sleep(0.5)
        # Forty made-up names (and a real service this deployment does not run) come first.
        fakes = []
        for i in range(40):
            s = c.zctx.socket(zmq.DEALER)
            s.setsockopt(zmq.LINGER, 0)
            s.connect(c.broker)
            _ready_frames(s, f"bogus-{i}")
            fakes.append(s)
        loans = c.zctx.socket(zmq.DEALER)
        loans.setsockopt(zmq.LINGER, 0)
        loans.connect(c.broker)
        _ready_frames(loans, "loans")
        time.sleep(0.5)
        c.start_proc("registry")
        c.wait_ready()
        c.create_offices(c.offices)   # started by hand: the harness did not create them
        eq(c.post("/v1/persons", person(1)).status, 201, "registry serves")
        # A request for a refused name is answered by the broker; the impostor gets nothing.
        r = c.call("loans", "service.status")
        eq(r["status"], 503, f"refused name: {r}")
        r = c.call("bogus-3", "service.status")
        eq(r["status"], 503, f"unknown name: {r}")
        check(not loans.poll(300), "the impostor of loans received a request")
        check(not fakes[3].poll(100), "bogus-3 received a request")
        ready = c.get("/readyz", key=None).json
        check("loans" not in ready["services"] and "bogus-3" not in ready["services"], ready)
        log = open(os.path.join(c.dir, "gateway.log"), encoding="utf-8", errors="replace").read()
        eq(log.count("announcing bogus-3 refused"), 1, "a refused name is logged once:")
        for s in fakes + [loans]:
            s.close()
        c.stop()
    except BaseException:
        c.abort()
        raise


def _zmtp_greeting():
    # ZMTP 3.0, NULL mechanism, as client.
    return (b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00" + b"NULL" + b"\x00" * 16 + b"\x00" +
            b"\x00" * 31)


def _zmtp_ready(socket_type=b"DEALER"):
    prop = b"\x0bSocket-Type" + struct.pack(">I", len(socket_type)) + socket_type
    body = b"\x05READY" + prop
    return b"\x04" + bytes([len(body)]) + body


def test_huge_frame_announcement_is_dropped():
    with Cluster(["registry"]) as c:
        pid = c.procs["gateway"].pid
        port = int(c.broker.rsplit(":", 1)[1])
        before = _rss_kb(pid)
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        cut = False
        try:
            s.sendall(_zmtp_greeting())
            s.recv(64)
            s.sendall(_zmtp_ready())
            # A message frame announcing 1 GiB, then 64 MiB of it.
            s.sendall(b"\x02" + struct.pack(">Q", 1 << 30))
            chunk = b"\x00" * (1 << 20)
            for _ in range(64):
                s.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            cut = True
        finally:
            s.close()
        time.sleep(0.5)
        grown = _rss_kb(pid) - before
        check(cut, "the broker kept reading a 1 GiB frame")
        check(grown < 16 * 1024, f"gateway grew by {grown} KiB")
        eq(c.get("/healthz", key=None).status, 200)
        eq(c.post("/v1/persons", person(1)).status, 201)


def test_slow_header_senders_do_not_lock_out_clients():
    with Cluster(["registry"]) as c:
        slow = []
        try:
            for i in range(1100):
                try:
                    s = socket.create_connection(("127.0.0.1", c.http_port), timeout=5,
                                                 source_address=(f"127.0.0.{2 + i % 4}", 0))
                    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                    slow.append(s)
                except OSError:
                    pass
            t0 = time.time()
            r = c.get("/healthz", key=None, timeout=10)
            eq(r.status, 200)
            check(time.time() - t0 < 3, f"normal client waited {time.time() - t0:.1f} s")
            eq(c.post("/v1/persons", person(1)).status, 201)
        finally:
            for s in slow:
                s.close()


def test_header_completion_timeout_closes_trickling_senders():
    with Cluster(["registry"], env={"HY_GATEWAY_HEADER_TIMEOUT_S": "2"}) as c:
        s = socket.create_connection(("127.0.0.1", c.http_port), timeout=15)
        s.sendall(b"GET /healthz HTTP/1.1\r\n")
        t0 = time.time()
        closed = False
        try:
            while time.time() - t0 < 12:
                s.sendall(b"X-Slow: 1\r\n")   # a byte now and then keeps an idle timer happy
                time.sleep(0.5)
        except (BrokenPipeError, ConnectionResetError):
            closed = True
        s.close()
        check(closed, "a connection trickling headers for 12 s was not closed")


def test_conflicting_content_length_is_refused():
    with Cluster(["registry"]) as c:
        body = json.dumps(person(1)).encode()
        req = (b"POST /v1/persons HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Authorization: Bearer " + c.keys["social_services"].encode() + b"\r\n"
               b"Content-Length: " + str(len(body)).encode() + b"\r\n"
               b"Content-Length: 5\r\nConnection: close\r\n\r\n" + body)
        status, head, out = _raw(c.http_port, req)
        eq(status, 400, f"two Content-Length: {head} {out[:200]!r}")
        eq(json.loads(out)["code"], "conflicting_content_length")
        check("application/problem+json" in head, head)
        eq(len(c.events_since("registry")), c.registry_seq0, "nothing was created")


def _fuzz_cases(rng, key):
    paths = [b"/v1/persons", b"/v1/persons/prs_1", b"/healthz", b"/v1/audit?entity=prs_1",
             b"/v1/persons?limit=x", b"/%ff%fe", b"/v1/persons/" + b"a" * 300, b"/v1/../etc"]
    methods = [b"GET", b"POST", b"PATCH", b"PUT", b"DELETE", b"OPTIONS", b"BREW", b"G\x00T"]
    bodies = [b'{"a":', b"[" * 500, b'{"x":"\xff"}', b"{}", b"null", b'{"a":1,"a":2}',
              json.dumps(person(7)).encode(), b'{"' + b"k" * 2000 + b'":1}',
              b"{" + b",".join(b'"k%d":%d' % (i, i) for i in range(300)) + b"}"]
    for _ in range(10000):
        m = rng.choice(methods)
        p = rng.choice(paths)
        b = rng.choice(bodies)
        if rng.random() < 0.3:
            i = rng.randrange(len(b) + 1)
            b = b[:i] + bytes([rng.randrange(256)]) + b[i + 1:]
        head = [m + b" " + p + b" HTTP/1.1", b"Host: x", b"Connection: close"]
        if rng.random() < 0.8:
            head.append(b"Authorization: Bearer " + key)
        if rng.random() < 0.8:
            head.append(b"Content-Type: " + rng.choice([b"application/json", b"text/plain",
                                                        b"application/json; charset=latin1"]))
        r = rng.random()
        if r < 0.6:
            head.append(b"Content-Length: %d" % len(b))
        elif r < 0.7:
            head.append(b"Content-Length: %d" % (len(b) + rng.randrange(1, 50)))
        elif r < 0.8:
            head.append(b"Transfer-Encoding: chunked")
            b = b"%x\r\n" % len(b) + b + b"\r\n0\r\n\r\n"
        elif r < 0.85:
            head.append(b"Content-Length: -1")
        if rng.random() < 0.1:
            head.append(b"X-Junk: " + bytes(rng.randrange(1, 256) for _ in range(20)).replace(b"\r", b"").replace(b"\n", b""))
        yield b"\r\n".join(head) + b"\r\n\r\n" + b


def test_fuzz_http_parser_and_broker():
    """Mutated HTTP requests and broker frames: no crash, and no 5xx for a client's mistake."""
    rounds = 3000 if os.environ.get("HY_SOAK") else 200
    rng = random.Random(int(os.environ.get("HY_FUZZ_SEED", "14")))
    with Cluster(["registry"], env={"HY_GATEWAY_TIMEOUT_MS": "20000"}) as c:
        key = c.keys["social_services"].encode()
        gen = _fuzz_cases(rng, key)
        bad, slow = [], []
        for _ in range(rounds):
            req = next(gen)
            t0 = time.time()
            status, head, out = _raw(c.http_port, req, timeout=3, half_close=True)
            slow.append((time.time() - t0, req[:80]))
            if status >= 500 or (status == 0 and c.procs["gateway"].poll() is not None):
                bad.append((status, req[:200], out[:200]))
        check(not bad, f"server errors for client mistakes: {bad[:5]}")
        print("    slowest:", sorted(slow)[-3:])
        # The broker: random frame counts and contents from a client and from a worker.
        d = c.zctx.socket(zmq.DEALER)
        d.setsockopt(zmq.LINGER, 0)
        d.connect(c.broker)
        words = [b"HYC1", b"HYW1", b"READY", b"REPLY", b"REQUEST", b"registry", b"_workers", b"",
                 b"\xff" * 300, b'{"id":"x"}', b"{" * 100]
        for _ in range(rounds):
            d.send_multipart([rng.choice(words) for _ in range(rng.randrange(1, 7))])
        d.close()
        time.sleep(0.5)
        check(c.procs["gateway"].poll() is None, "gateway died")
        c.wait_ready()
        eq(c.post("/v1/persons", person(1)).status, 201, "still serving after the fuzz")
