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


def _gated_registry(**env):
    """A registry whose audit.list read waits inside its read transaction while the returned
    gate file exists (HY_TEST_SLOW_OP / HY_TEST_READ_GATE): (cluster, gate path)."""
    c = Cluster(["registry"], env={"HY_TEST_SLOW_OP": "audit.list", **env})
    gate = os.path.join(c.dir, "gate")
    c.env["HY_TEST_READ_GATE"] = gate
    return c, gate


def test_write_commits_while_a_long_read_runs():
    """A read held open (test gate inside its read transaction) does not hold up a write: the
    write is acknowledged, and readable, before the read is let go. Ordering, not timing."""
    c, gate = _gated_registry()
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


def _wait_dead(proc, limit=30):
    try:
        return proc.wait(timeout=limit)
    except Exception:
        return None


def test_replica_killed_mid_page_resumes_exactly_once():
    """A new reporting replica dies (SIGKILL, test hook) half-way through applying its first
    page, inside the page's transaction; restarted, it ends with exactly the figures of a
    replica that never stopped: nothing of the half page was kept, nothing counted twice."""
    import test_reporting as R
    with Cluster(["registry", "reporting"], clock="2025-01-15") as c:
        R._load(c, 200, 150, 20)
        heads = R._heads(c, ["registry"])
        R._wait_current(c, heads)
        data2 = os.path.join(c.dir, "reporting-2")
        marker = os.path.join(c.dir, "killed-mid-page")
        c.env["HY_TEST_KILL_MID_PAGE"] = marker
        p = c.start_proc("reporting", ["--data", data2, "--pub", "none"], tag="reporting-2")
        del c.env["HY_TEST_KILL_MID_PAGE"]
        eq(_wait_dead(p), -9, "the replica killed itself in the middle of its first page:")
        check(os.path.exists(marker), "the hook ran")
        eq(R._cursor(data2), 0, "nothing of the page was committed:")
        c.start_proc("reporting", ["--data", data2, "--pub", "none"], tag="reporting-2")
        pids = {c.procs["reporting"].pid, c.procs["reporting-2"].pid}
        R._wait_current(c, heads, pids=pids)
        urls = ["/v1/reports/half-year?year=1402&half=1",
                "/v1/reports/indicators?from=2023-03-21&to=2024-12-31&group_by=neighbourhood"]
        got = R._answers(c, pids, urls)
        for url in urls:
            eq(got[(c.procs["reporting"].pid, url)], got[(c.procs["reporting-2"].pid, url)],
               f"same figures after a kill in the middle of a page: {url}")


def test_fund_consumer_killed_mid_page_resumes_exactly_once():
    """hamyar-fund-sync dies (SIGKILL, test hook) after writing half of a page (a line cut in
    two) and before its fsync and cursor; restarted, its file holds every event once, in order,
    byte for byte the outbox's."""
    import test_insurance as I
    with Cluster(["registry", "insurance"], env={"HY_LOG_LEVEL": "warn"}, clock=I.TODAY) as c:
        people = I._register(c, 150)
        I._enrol_all(c, people)
        truth = c.events_since("insurance")
        out, state = os.path.join(c.dir, "fund.jsonl"), os.path.join(c.dir, "fund.state")
        marker = os.path.join(c.dir, "killed-mid-page")
        args = ["--zmq-broker", c.broker, "--zmq-pub", c.env["HY_PUB_INSURANCE"],
                "--state", state, "--out", out]
        c.env["HY_TEST_KILL_MID_PAGE"] = marker
        p = I._fund_sync(c, "fund-sync", args)
        del c.env["HY_TEST_KILL_MID_PAGE"]
        eq(_wait_dead(p), -9, "the consumer killed itself in the middle of a page:")
        check(os.path.exists(marker), "the hook ran")
        with open(out, "rb") as f:
            check(not f.read().endswith(b"\n"), "the file ends in a partial line after the kill")
        I._fund_sync(c, "fund-sync", args)
        eq(I._wait_lines(out, len(truth)), len(truth), "every event handed on after the restart:")
        time.sleep(0.5)
        lines = I._read_lines(out)
        eq([e["seq"] for e in lines], list(range(1, len(truth) + 1)), "1..last once each:")
        check(lines == truth, "the events are the outbox's, unchanged")
