"""A test worker: a Python process that speaks the worker protocol (broker.h) for a service.

It heartbeats READY with the digest of the description it announces, answers
service.describe with that description, and every other request with answer(request bytes)
-> reply bytes. Used to change what a service announces or answers without a C build.
"""
import hashlib
import json
import threading
import time

import zmq


def digest(desc):
    """The digest of a description (describe.h): SHA-256 of its sorted compact JSON."""
    d = {k: v for k, v in desc.items() if k != "digest"}
    text = json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def op(name, method, path, roles=1, ok_status=200, args=None):
    return {"op": name, "method": method, "path": path, "roles": roles, "ok_status": ok_status,
            "list": False, "long_poll": False, "formats": None, "summary": name,
            "args": args, "result": None}


def description(service, ops, id_prefixes=""):
    d = {"service": service, "id_prefixes": id_prefixes, "events": [], "ops": ops}
    d["digest"] = digest(d)
    return d


def _run(zctx, broker, name, desc, answer, stop):
    s = zctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(broker)
    next_ready = 0
    while not stop.is_set():
        if time.time() >= next_ready:
            s.send_multipart([b"HYW1", b"READY", name.encode(), desc["digest"].encode()])
            next_ready = time.time() + 1
        if not s.poll(100):
            continue
        f = s.recv_multipart()
        if len(f) != 4 or f[1] != b"REQUEST":
            continue
        try:
            req = json.loads(f[3])
        except ValueError:
            req = {}
        if req.get("op") == "service.describe":
            out = json.dumps({"id": req["id"], "status": 200, "result": desc}).encode()
        else:
            out = answer(f[3])
        s.send_multipart([b"HYW1", b"REPLY", f[2], out])
    s.close()


def start(cluster, name, desc, answer):
    """Starts the worker in a thread; returns a function that stops it."""
    stop = threading.Event()
    t = threading.Thread(target=_run, args=(cluster.zctx, cluster.broker, name, desc, answer, stop),
                         daemon=True)
    t.start()

    def halt():
        stop.set()
        t.join()
    return halt


def answer_ops(handlers):
    """An answer function calling handlers[op](args) -> result (200), else 404 unknown_op."""
    def answer(raw):
        req = json.loads(raw)
        fn = handlers.get(req.get("op"))
        if fn:
            rep = {"id": req["id"], "status": 200, "result": fn(req.get("args", {}))}
        else:
            rep = {"id": req.get("id", ""), "status": 404,
                   "error": {"code": "unknown_op", "detail": str(req.get("op"))}}
        return json.dumps(rep).encode()
    return answer
