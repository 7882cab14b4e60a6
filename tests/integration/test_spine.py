"""The spine end to end: gateway -> broker -> registry -> LMDB -> events, over real sockets."""
import json
import threading
import time
import uuid

import zmq

from harness import Cluster, check, eq, make_nid, person, recv_events


def _count(c, service="registry"):
    return len(c.events_since(service)) - (c.registry_seq0 if service == "registry" else 0)


def test_register_person_end_to_end():
    with Cluster(["registry"]) as c:
        sub = c.subscribe("registry")
        body = person(1, first_name="علی", birth_date_jalali="1364/01/22")
        del body["birth_date"]
        r = c.post("/v1/persons", body)
        eq(r.status, 201, f"create: {r}")
        p = r.json
        check(p["id"].startswith("prs_"), p)
        eq(p["birth_date"], "1985-04-11", "jalali input stored as Gregorian:")
        eq(p["birth_date_jalali"], "1364/01/22", "and echoed as Jalali:")
        eq(r.headers.get("Content-Type", "").split(";")[0], "application/json")
        check(r.headers.get("X-Request-Id"), "X-Request-Id header")
        g = c.get(f"/v1/persons/{p['id']}")
        eq(g.status, 200)
        eq(g.json["national_id"], p["national_id"])
        eq(g.json["first_name"], "علی")
        evs = recv_events(sub, 1)
        eq(len(evs), 1, "one event on the PUB socket")
        topic, ev = evs[0]
        eq(topic, "registry.person.registered")
        eq(ev["specversion"], "1.0")
        eq(ev["source"], "hamyar/registry")
        eq(ev["subject"], p["id"])
        eq(ev["seq"], c.registry_seq0 + 1, "the first event after the offices:")
        since = c.events_since("registry", after=c.registry_seq0)
        eq([e["seq"] for e in since], [c.registry_seq0 + 1])
        eq(since[0]["data"]["national_id"], p["national_id"])


def test_bad_input_is_refused_and_store_unchanged():
    with Cluster(["registry"]) as c:
        eq(c.post("/v1/persons", person(1)).status, 201)
        before = _count(c)

        def refused(r, status, code, field=None):
            eq(r.status, status, f"{code}: {r}")
            eq(r.headers.get("Content-Type", "").split(";")[0], "application/problem+json")
            eq(r.json["code"], code)
            eq(r.json["status"], status)
            check(r.json.get("title") and r.json.get("detail"), f"title and detail: {r.json}")
            if field:
                eq(r.json.get("field"), field)

        refused(c.post("/v1/persons", raw=b'{"national_id": '), 400, "malformed_json")
        refused(c.post("/v1/persons", raw=b'[1,2]'), 400, "invalid_body")
        refused(c.post("/v1/persons", person(2, household_size="three")), 400, "invalid_field", "household_size")
        refused(c.post("/v1/persons", person(2, favourite_colour="blue")), 400, "unknown_field", "favourite_colour")
        refused(c.post("/v1/persons", raw=b'{"first_name":"\xff\xfe"}'), 400, "invalid_utf8")
        refused(c.post("/v1/persons", raw=b'{"x":"' + b"a" * (2 << 20) + b'"}'), 413, "body_too_large")
        refused(c.post("/v1/persons", person(2, national_id="0013542418")), 422, "invalid_national_id", "national_id")
        refused(c.post("/v1/persons", person(2, national_id="1111111111")), 422, "invalid_national_id", "national_id")
        p = person(2)
        del p["birth_date"]
        p["birth_date_jalali"] = "1400/12/30"
        refused(c.post("/v1/persons", p), 422, "invalid_date", "birth_date_jalali")
        refused(c.post("/v1/persons", person(2), key="hy_nobody_" + "x" * 43), 401, "invalid_api_key")
        refused(c.post("/v1/persons", person(2), key=None), 401, "unauthenticated")
        refused(c.post("/v1/persons", person(2), key="insurance_fund"), 403, "forbidden")
        refused(c.get("/v1/persons/prs_999"), 404, "not_found")
        refused(c.get("/v1/nowhere"), 404, "not_found")
        eq(_count(c), before, "no event for any refused request:")
        lst = c.get("/v1/persons?limit=500")
        eq(len(lst.json["items"]), 1, "still exactly one person:")


def test_duplicate_national_id_and_idempotency():
    with Cluster(["registry"]) as c:
        first = c.post("/v1/persons", person(5))
        eq(first.status, 201)
        dup = c.post("/v1/persons", person(5, first_name="زهرا"))
        eq(dup.status, 409)
        eq(dup.json["code"], "duplicate_national_id")
        eq(dup.json["existing_id"], first.json["id"])
        key = str(uuid.uuid4())
        a = c.post("/v1/persons", person(6), headers={"Idempotency-Key": key})
        b = c.post("/v1/persons", person(6), headers={"Idempotency-Key": key})
        eq(a.status, 201)
        eq(b.status, 201, "a retry with the same key gets the first answer:")
        eq(a.json["id"], b.json["id"])
        d = c.post("/v1/persons", person(7), headers={"Idempotency-Key": key})
        eq(d.status, 409)
        eq(d.json["code"], "idempotency_key_reused")
        eq(_count(c), 2, "two registrations, two events:")


def test_search_normalised_names_and_pages():
    with Cluster(["registry"]) as c:
        eq(c.post("/v1/persons", person(10, first_name="علی", last_name="کریمی")).status, 201)
        eq(c.post("/v1/persons", person(11, first_name="فاطمه", last_name="محمدی‌نژاد")).status, 201)
        rey2 = c.make_key("social_services", office="rey-2")  # offices write only their own persons
        time.sleep(1.2)  # the gateway rereads its keys file at most once a second
        for i in range(12, 20):
            eq(c.post("/v1/persons", person(i, office="rey-2"), key=rey2).status, 201)
        r = c.get("/v1/persons?q=" + urlq("علي"))
        eq(r.status, 200, f"{r}")
        eq([p["first_name"] for p in r.json["items"]], ["علی"], "Arabic yeh finds Persian yeh:")
        r = c.get("/v1/persons?q=" + urlq("كريمي"))
        eq(len(r.json["items"]), 1, "Arabic kaf/yeh in the last name:")
        r = c.get("/v1/persons?q=" + urlq("محمدینژاد"))
        eq(len(r.json["items"]), 1, "ZWNJ does not matter:")
        seen = []
        cursor = None
        for _ in range(10):
            r = c.get("/v1/persons?office=rey-2&limit=3" + (f"&cursor={cursor}" if cursor else ""), key=rey2)
            eq(r.status, 200)
            seen += [p["id"] for p in r.json["items"]]
            cursor = r.json["next_cursor"]
            if not cursor:
                break
        eq(len(seen), 8, "eight persons of rey-2 over pages:")
        eq(len(set(seen)), 8, "no duplicates across pages:")


def urlq(s):
    import urllib.parse
    return urllib.parse.quote(s)


def test_audit_openapi_health_metrics():
    with Cluster(["registry"]) as c:
        p = c.post("/v1/persons", person(30)).json
        eq(c.patch(f"/v1/persons/{p['id']}", {"neighbourhood": "دولت‌آباد"}).status, 200)
        a = c.get(f"/v1/audit?entity={p['id']}", key="auditor")
        eq(a.status, 200, f"{a}")
        types = [i["type"] for i in a.json["items"]]
        eq(types, ["registry.person.registered", "registry.person.updated"])
        eq(a.json["items"][1]["actor"]["office"], "rey-1")
        check(a.json["items"][1]["actor"]["key_id"], "actor key id recorded")
        eq(c.get(f"/v1/audit?entity={p['id']}").status, 403, "social services cannot read the audit:")
        eq(c.get("/healthz", key=None).status, 200)
        rz = c.get("/readyz", key=None)
        eq(rz.status, 200)
        oa = c.get("/v1/openapi.json", key=None)
        eq(oa.status, 200)
        check(oa.json["openapi"].startswith("3.1"), "OpenAPI 3.1")
        post = oa.json["paths"]["/v1/persons"]["post"]
        check("requestBody" in post, "POST /v1/persons has a request body schema")
        m = c.get("/metrics", key="operator")
        eq(m.status, 200)
        text = m.raw.decode()
        check("hamyar_http_requests_total" in text and 'status="201"' in text, text[:500])
        eq(c.get("/metrics", key="social_services").status, 403)


def test_service_down_503_and_timeout_504():
    with Cluster(["registry"]) as c:
        eq(c.post("/v1/persons", person(40)).status, 201)
        c.kill("registry")
        time.sleep(3.6)  # the broker forgets a worker silent for 3 s
        r = c.post("/v1/persons", person(41))
        eq(r.status, 503, f"{r}")
        eq(r.json["code"], "service_unavailable")
        rz = c.get("/readyz", key=None)
        eq(rz.status, 503)
        check("registry" in rz.json.get("missing", []), rz.json)
        eq(c.get("/healthz", key=None).status, 200, "the gateway itself keeps serving:")
        # A worker that announces itself and never answers: the gateway gives 504, no hang.
        z = zmq.Context.instance().socket(zmq.DEALER)
        z.setsockopt(zmq.LINGER, 0)
        z.connect(c.broker)
        z.send_multipart([b"HYW1", b"READY", b"registry"])
        time.sleep(0.3)
        t0 = time.time()
        r = c.get("/v1/persons/prs_1")
        eq(r.status, 504, f"{r}")
        eq(r.json["code"], "service_timeout")
        check(time.time() - t0 < 10, "504 comes within the timeout")
        z.close()
        # The real registry comes back and its data is intact.
        c.start_proc("registry")
        time.sleep(3.5)  # let the silent fake worker expire
        c.wait_ready()
        g = c.get("/v1/persons?limit=10")
        eq(g.status, 200)
        eq(len(g.json["items"]), 1)


def test_kill9_loses_no_acknowledged_write():
    with Cluster(["registry"]) as c:
        acked = []
        lock = threading.Lock()
        stop = threading.Event()

        def writer(w):
            n = 0
            while not stop.is_set() and n < 400:
                i = 1000 + w * 1000 + n
                n += 1
                try:
                    r = c.post("/v1/persons", person(i), timeout=5)
                except OSError:
                    continue
                if r.status == 201:
                    with lock:
                        acked.append(r.json["id"])
        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        c.kill("registry")
        n_at_kill = len(acked)
        c.start_proc("registry")
        time.sleep(1.5)
        stop.set()
        for t in threads:
            t.join()
        c.wait_ready()
        check(n_at_kill > 20, f"writes were acknowledged before the kill ({n_at_kill})")
        for pid in acked:
            eq(c.get(f"/v1/persons/{pid}").status, 200, f"acknowledged {pid} survives:")
        evs = c.events_since("registry")
        seqs = [e["seq"] for e in evs]
        eq(seqs, list(range(1, len(seqs) + 1)), "gapless sequence:")
        registered = {e["subject"] for e in evs if e["type"] == "registry.person.registered"}
        missing = set(acked) - registered
        eq(missing, set(), "every acknowledged person has its event:")
