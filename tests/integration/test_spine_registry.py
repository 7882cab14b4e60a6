"""The registry's side of the spine (issue 14 item 4): what GET and POST of a person cost the
service, and that the cheaper paths answer exactly what the old ones did."""
import os
import threading
import time

from harness import Cluster, check, eq, person
from test_skeleton import _gated_registry, _wait_file


def test_spine_point_read_is_not_queued_behind_readers():
    """A read of one record by its id (persons.get: a point read) is answered by the reactor
    itself, with no hop to a reader thread: with the only reader held inside a long read (test
    gate), GET /v1/persons/{id} is still answered, and the long read is still held. Ordering,
    not timing."""
    c, gate = _gated_registry(HY_READERS="1")
    with c:
        r = c.post("/v1/persons", person(1))
        eq(r.status, 201, f"first person: {r}")
        pid = r.json["id"]
        open(gate, "w").close()
        slow = {}

        def long_read():
            slow["r"] = c.get(f"/v1/audit?entity={pid}", key="auditor", timeout=60)

        t = threading.Thread(target=long_read)
        t.start()
        try:
            check(_wait_file(gate + ".entered"), "the read never reached its read transaction")
            g = c.get(f"/v1/persons/{pid}", timeout=4)
            eq(g.status, 200, f"a point read while the only reader is held: {g}")
            eq(g.json["id"], pid, "the person read")
            check("r" not in slow, f"the long read finished before the point read: {slow}")
        finally:
            os.unlink(gate)
            t.join(60)
        eq(slow["r"].status, 200, f"the long read itself: {slow.get('r')}")


def test_spine_person_text_served_as_stored():
    """POST answers the person as stored and GET serves the stored text as is: the same bytes
    from POST, GET and an idempotent replay, and the same ETag from two GETs (the service's
    hash of the result's text; 304 for If-None-Match); a change gives a new text and a new tag;
    another office's key gets the restricted stub, not the record."""
    with Cluster(["registry"]) as c:
        body = person(7, first_name="  زهرا ", mobile="۰۹۱۲۱۲۳۴۵۶۷")
        p = c.post("/v1/persons", body, headers={"Idempotency-Key": "spine-7"})
        eq(p.status, 201, f"registered: {p}")
        pid = p.json["id"]
        g = c.get(f"/v1/persons/{pid}")
        eq(g.status, 200, f"read back: {g}")
        eq(g.raw, p.raw, "GET serves the bytes POST answered")
        tag = g.headers.get("ETag", "").strip('"')
        eq(len(tag), 32, f"a GET has an ETag: {g.headers}")
        eq(c.get(f"/v1/persons/{pid}").headers.get("ETag", "").strip('"'), tag, "the same tag again:")
        eq(g.json["mobile"], "09121234567", "the stored canonical mobile")
        eq(g.json["first_name"], "زهرا", "the name as typed, trimmed")
        again = c.post("/v1/persons", body, headers={"Idempotency-Key": "spine-7"})
        eq(again.status, 201, f"replayed: {again}")
        eq(again.raw, p.raw, "the replay answers the same bytes")
        u = c.patch(f"/v1/persons/{pid}", {"mobile": "09127654321"},
                    headers={"If-Match": f'"{tag}"'})
        eq(u.status, 200, f"changed: {u}")
        g2 = c.get(f"/v1/persons/{pid}")
        eq(g2.json["mobile"], "09127654321", "the change is served")
        tag2 = g2.headers.get("ETag", "").strip('"')
        check(tag2 != tag, "a changed person has a new ETag")
        nm = c.get(f"/v1/persons/{pid}", headers={"If-None-Match": f'"{tag2}"'})
        eq(nm.status, 304, f"If-None-Match with the served tag: {nm}")
        other = c.make_key("social_services", office="rey-2")
        time.sleep(1.2)   # the gateway rereads its keys file at most once a second
        s = c.get(f"/v1/persons/{pid}", key=other)
        eq(s.status, 200, f"another office's read: {s}")
        eq(s.json, {"id": pid, "office": p.json["office"], "restricted": True},
           "another office sees the stub only:")
