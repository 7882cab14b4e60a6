"""Reporting never waits on the registry from inside its feed (issue 13 item 2).

An event of another source naming a person the replica has not seen yet parks that source's feed
(the registry is asked, asynchronously, to catch up) instead of calling the registry from inside
the write transaction. With the registry stopped (SIGSTOP) the replica keeps answering reports at
once, the event waits (it is neither lost nor counted unattributed while the registry cannot say),
and once the registry answers again it is applied exactly once.

The loans source here is a test worker (fakeworker.py) serving events.since from a list, so the
event can name a person the registry does not have.
"""
import signal
import threading
import time

import fakeworker
from harness import Cluster, check, eq, person

REPORT = "/v1/reports/half-year?year=1403&half=2"


def _loan_event(seq, person_id, amount):
    n = seq
    return {"specversion": "1.0", "id": f"loans-{n}", "source": "hamyar/loans",
            "type": "loans.loan.disbursed", "time": "2024-11-01T08:00:00Z", "subject": f"loan_{n}",
            "sequence": f"{n:020d}", "seq": n,
            "data": {"id": f"loan_{n}", "person_id": person_id, "office": "rey-1",
                     "date": "2024-11-01", "amount_rials": amount, "fully_disbursed": False}}


class FakeLoans:
    """events.since over a list; remembers when an event was first handed out."""

    def __init__(self):
        self.events = []
        self.lock = threading.Lock()
        self.handed = {}

    def since(self, args):
        after, limit = int(args.get("after", 0)), int(args.get("limit", 1000))
        with self.lock:
            out = [e for e in self.events if e["seq"] > after][:limit]
            for e in out:
                self.handed.setdefault(e["seq"], time.time())
            return {"events": out, "last_seq": len(self.events)}

    def add(self, ev):
        with self.lock:
            self.events.append(ev)


def _report(c):
    r = c.get(REPORT)
    eq(r.status, 200, f"report: {r}")
    return r.json


def _wait(c, what, pred, timeout=30):
    deadline, last = time.time() + timeout, None
    while time.time() < deadline:
        last = _report(c)
        if pred(last):
            return last
        time.sleep(0.1)
    raise AssertionError(f"{what}: last report {last}")


def test_stalled_registry_delays_no_report_and_the_event_waits():
    loans = FakeLoans()
    desc = fakeworker.description("loans", [])
    with Cluster(["registry", "reporting"], clock="2025-01-15",
                 env={"HY_SERVICES": "registry,loans,reporting", "HY_PARK_MS": "1000"}) as c:
        halt = fakeworker.start(c, "loans", desc, fakeworker.answer_ops({"events.since": loans.since}))
        try:
            r = c.post("/v1/persons", person(7101))
            check(r.status == 201, f"register: {r}")
            known = r.json["id"]
            head = c.events_since("registry")[-1]["seq"]
            _wait(c, "reporting caught up with the registry",
                  lambda j: j["as_of"]["registry"]["seq"] >= head)
            # a loan to a person reporting knows: applied at once
            loans.add(_loan_event(1, known, 5000))
            base = _wait(c, "the known borrower's loan", lambda j: j["as_of"]["loans"]["seq"] >= 1)
            rials0 = base["indicators"]["loans_disbursed_rials"]
            eq(rials0, 5000, "the known borrower's loan counted")
            reg = c.procs["registry"]
            reg.send_signal(signal.SIGSTOP)
            try:
                loans.add(_loan_event(2, "prs_999999", 7000))   # nobody the replica has seen
                deadline = time.time() + 10
                while 2 not in loans.handed and time.time() < deadline:
                    time.sleep(0.01)
                check(2 in loans.handed, "the replica never fetched the loan to an unknown person")
                # the replica has the event now: reports keep coming back at once
                worst, t_end = 0.0, time.time() + 2.5
                while time.time() < t_end:
                    t0 = time.time()
                    j = _report(c)
                    worst = max(worst, time.time() - t0)
                    # while the registry cannot say who she is, the event is not counted
                    eq(j["as_of"]["loans"]["seq"], 1, "applied before the registry could answer:")
                    eq(j["indicators"]["loans_disbursed_rials"], rials0, "counted unattributed:")
                check(worst < 1.5, f"a report waited {worst:.2f} s behind the stalled registry")
            finally:
                reg.send_signal(signal.SIGCONT)
            # the registry answers again: the event is applied, once
            after = _wait(c, "the loan applied once the registry answers",
                          lambda j: j["as_of"]["loans"]["seq"] >= 2, timeout=40)
            eq(after["indicators"]["loans_disbursed_rials"], rials0 + 7000, "applied exactly once:")
            loans.add(_loan_event(3, known, 1000))
            after = _wait(c, "the feed goes on", lambda j: j["as_of"]["loans"]["seq"] >= 3)
            eq(after["indicators"]["loans_disbursed_rials"], rials0 + 8000, "the feed goes on:")
        finally:
            halt()
