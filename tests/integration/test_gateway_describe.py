"""Routes announced by the services: the gateway links no service code.

A service answers service.describe with its op table and puts the table's digest in its READY
heartbeat; the gateway builds (and rebuilds) its routes from that. These tests change what a
service announces without touching the gateway: a test worker (a Python process speaking the
worker protocol) announces the real registry's description with an extra op, or a route that
another service already owns.
"""
import json
import os
import time

import fakeworker
from harness import Cluster, check, eq, person


def test_service_that_adds_an_op_is_routed_without_touching_the_gateway():
    with Cluster(["registry"]) as c:
        eq(c.get("/v1/hello").status, 404, "no such route yet")
        desc = c.call("registry", "service.describe")["result"]
        eq(desc["service"], "registry")
        eq(desc["digest"], fakeworker.digest(desc), "the digest is the hash of the description:")
        check(any(o["op"] == "persons.create" for o in desc["ops"]), "persons.create announced")
        # The registry is replaced by a version that has one more op (the gateway stays up).
        desc["ops"].append({"op": "hello.get", "method": "GET", "path": "/v1/hello", "roles": 1,
                            "ok_status": 200, "list": False, "long_poll": False, "formats": None,
                            "summary": "Says hello", "result": None,
                            "args": [{"name": "to", "type": "string", "required": False,
                                      "query": False, "nullable": False, "enums": None,
                                      "min": 0, "max": 0, "max_len": 0, "doc": "whom",
                                      "elem": None, "sub": None}]})
        desc["digest"] = fakeworker.digest(desc)
        c.kill("registry")
        halt = fakeworker.start(c, "registry", desc, fakeworker.answer_ops(
            {"hello.get": lambda a: {"hello": a.get("to", "world")}}))
        try:
            deadline = time.time() + 15
            r = None
            while time.time() < deadline:
                r = c.get("/v1/hello?to=maryam")
                if r.status == 200:
                    break
                time.sleep(0.2)
            eq(r.status, 200, f"the new op is routed: {r}")
            eq(r.json, {"hello": "maryam"})
            eq(c.get("/v1/hello?nobody=1").status, 400, "its arguments are checked by the gateway")
            spec = c.get("/v1/openapi.json", key=None).json
            check("/v1/hello" in spec["paths"], "and it is in the OpenAPI document")
            kept = os.path.join(c.dir, "var", "gateway", "registry.json")
            eq(json.load(open(kept))["digest"], desc["digest"], "the description is kept on disk:")
        finally:
            halt()


def test_two_services_claiming_one_route_is_a_loud_error():
    c = Cluster(["registry", "networks"])
    try:
        for role in ("social_services", "operator"):
            c.keys[role] = c.make_key(role)
        c.start_proc("gateway")
        c.start_proc("registry")
        # The first service to claim a route keeps it: the registry's routes are installed before
        # the impostor announces (on a loaded machine its description could otherwise come second)
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                if c.get("/v1/offices", key="operator").status == 200:
                    break
            except OSError:
                pass   # the gateway is still starting
            time.sleep(0.1)
        desc = fakeworker.description("networks", [fakeworker.op("networks.steal", "POST", "/v1/persons")])
        halt = fakeworker.start(c, "networks", desc, fakeworker.answer_ops({}))
        try:
            deadline = time.time() + 15
            r = None
            while time.time() < deadline:
                try:
                    r = c.get("/readyz", key=None)
                    routed = ((r.json or {}).get("services") or {}).get("registry", {})
                    # the clash, and the registry's own routes installed (either may come first)
                    if r.json and r.json.get("conflict") and routed.get("workers", 0) > 0:
                        break
                except OSError:
                    pass   # the gateway is still starting
                time.sleep(0.2)
            eq(r.status, 503, f"not ready with a clash: {r}")
            check("/v1/persons" in r.json["conflict"], r.json)
            c.create_offices(c.offices)   # started by hand: the harness did not create them
            eq(c.post("/v1/persons", person(1)).status, 201, "the registry keeps its route")
            log = open(os.path.join(c.dir, "gateway.log"), encoding="utf-8").read()
            check('"level":"error"' in log and "clashes" in log, "the clash is logged as an error")
        finally:
            halt()
        c.stop()
    except BaseException:
        c.abort()
        raise


def test_gateway_starts_with_the_kept_descriptions():
    with Cluster(["registry"]) as c:
        r = c.post("/v1/persons", person(1))
        eq(r.status, 201)
        pid = r.json["id"]
        c.kill("registry")
        c.kill("gateway")
        c.start_proc("gateway")
        deadline = time.time() + 10
        g = None
        while time.time() < deadline:
            try:
                g = c.get(f"/v1/persons/{pid}")
                break
            except OSError:
                time.sleep(0.1)
        eq(g.status, 503, f"the route is known before the registry is back: {g}")
        eq(g.json["code"], "service_unavailable")
        c.start_proc("registry")
        c.wait_ready()
        eq(c.get(f"/v1/persons/{pid}").status, 200)
