"""The service skeleton: reads on reader threads beside the writer."""
import os
import threading
import time

from harness import Cluster, check, eq, person


def _wait_file(path, limit=30.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if os.path.exists(path):
            return True
        time.sleep(0.02)
    return False


def test_write_commits_while_a_long_read_runs():
    """A read held open (test gate inside its read transaction) does not hold up a write: the
    write is acknowledged, and readable, before the read is let go. Ordering, not timing."""
    c = Cluster(["registry"], env={"HY_TEST_SLOW_OP": "audit.list"})
    gate = os.path.join(c.dir, "gate")
    c.env["HY_TEST_READ_GATE"] = gate
    with c:
        r = c.post("/v1/persons", person(1))
        eq(r.status, 201, f"first person: {r}")
        pid = r.json["id"]
        open(gate, "w").close()
        slow = {}

        def long_read():
            slow["r"] = c.get(f"/v1/audit?entity={pid}", key="auditor", timeout=60)
            slow["done_at"] = time.monotonic()

        t = threading.Thread(target=long_read)
        t.start()
        try:
            check(_wait_file(gate + ".entered"), "the read never reached its read transaction")
            w = c.post("/v1/persons", person(2))
            eq(w.status, 201, f"a write while the read is held: {w}")
            g = c.get(f"/v1/persons/{w.json['id']}")
            eq(g.status, 200, f"a second read while the first is held: {g}")
            check("r" not in slow, f"the long read finished before the write: {slow}")
        finally:
            os.unlink(gate)
            t.join(60)
        eq(slow["r"].status, 200, f"the long read itself: {slow.get('r')}")
        eq(len(slow["r"].json["items"]), 1, "the long read saw its own snapshot:")
