"""The fund's feed carries the whole life of an enrolment (issue 17, insurance item 4): refusals,
contributions by Jalali month, suspensions and reinstatements reach hamyar-fund-sync like the
requests do — gapless, in order, each once in effect — while the insurance service and both
consumers (ZeroMQ and HTTP) are killed with kill -9 at seeded random moments.
"""
import os
import random
import threading
import time

from harness import BUILD, Cluster, check, eq
from test_insurance import _chaos, _count_lines, _read_lines, _register

TODAY = "2025-01-15"   # 1403/10/26
PAY = {"amount_rials": 1000, "subsidy_rials": 700, "person_rials": 300}
REFUSED = ["requested", "approved", "submitted", "refused"]
INSURED = ["requested", "approved", "submitted", "confirmed", "contribution_recorded",
           "suspended", "contribution_recorded", "reinstated"]


def _steps(i, who):
    """The requests of person i's enrolment after the request itself: every third is refused by
    the fund; the others are confirmed (numbers in Persian digits for some), pay Dey, are
    suspended, pay Bahman while suspended and are reinstated."""
    fund = "insurance_fund"
    if i % 3 == 0:
        return [("approve", None, None), ("submit", None, None),
                ("refuse", {"reason_code": "documents_incomplete", "detail": f"مدارک {i}"}, fund)]
    number = str(50000 + i)
    if i % 2:
        number = number.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    return [("approve", None, None), ("submit", None, None),
            ("confirm", {"insurance_number": number}, fund),
            ("contributions", dict(PAY, month_jalali="1403/10"), None),
            ("suspend", {"reason": "بیماری"}, None),
            ("contributions", dict(PAY, month="2025-02"), None),   # the Gregorian form: Bahman
            ("reinstate", None, None)]


def test_refusal_reinstatement_and_contributions_reach_the_fund_exactly_once():
    n = 60 if "asan" in BUILD else 240
    rnd = random.Random(20250115)
    with Cluster(["registry", "insurance"], env={"HY_LOG_LEVEL": "warn"}, clock=TODAY) as c:
        people = _register(c, n, base=3000, threads=8)
        files = {tag: (os.path.join(c.dir, tag + ".jsonl"), os.path.join(c.dir, tag + ".state"))
                 for tag in ("fund-sync-zmq", "fund-sync-http")}
        argv = {
            "fund-sync-zmq": ["--zmq-broker", c.broker, "--zmq-pub", c.env["HY_PUB_INSURANCE"]],
            "fund-sync-http": ["--http", f"http://127.0.0.1:{c.http_port}",
                               "--key", c.keys["insurance_fund"], "--wait", "5"],
        }

        def start(tag):
            out, state = files[tag]
            c.start_proc("fund-sync", argv[tag] + ["--state", state, "--out", out], tag=tag)

        for tag in files:
            start(tag)
        ids = [None] * n
        failures = []
        deadline = time.time() + 240

        def ask(path, body, key, idem, ok):
            """POSTs until the service answers ok (retries keep the Idempotency-Key, so a
            request acknowledged before a kill is not applied twice)."""
            while time.time() < deadline:
                try:
                    r = c.post(path, body, key=key or "social_services",
                               headers={"Idempotency-Key": idem}, timeout=10)
                except OSError:
                    r = None
                if r is not None and r.status == ok:
                    return r
                if r is not None and r.status < 500:
                    failures.append((path, r.status, r.json))
                    return None
                time.sleep(0.1)
            failures.append((path, "deadline"))
            return None

        def worker(w, threads):
            for i in range(w, n, threads):
                pid, bid, field = people[i]
                r = ask("/v1/enrolments", {"person_id": pid, "business_id": bid, "field": field,
                                           "start_date_jalali": "1403/10/01"}, None, f"e-{i}", 201)
                if r is None:
                    return
                ids[i] = r.json["id"]
                for k, (verb, body, key) in enumerate(_steps(i, people[i])):
                    want = 201 if verb == "contributions" else 200
                    if ask(f"/v1/enrolments/{ids[i]}/{verb}", body, key, f"s-{i}-{k}", want) is None:
                        return

        workers = [threading.Thread(target=worker, args=(w, 8)) for w in range(8)]
        for t in workers:
            t.start()
        kills = {"insurance": 0, "fund-sync-zmq": 0, "fund-sync-http": 0}
        done = threading.Event()

        def chaos():
            _chaos(c, kills, start, rnd, done, 12, (0.2, 0.8), 0.5)
        chaos_t = threading.Thread(target=chaos)
        chaos_t.start()
        for t in workers:
            t.join()
        done.set()
        chaos_t.join()
        eq(failures, [], "every request answered as expected:")
        check(min(kills.values()) >= 1, f"each process was killed at least once: {kills}")
        for tag in files:   # one more kill -9 of each consumer, then let them catch up
            c.kill(tag)
            start(tag)
        c.wait_ready()
        c.wait_serving("insurance")   # the broker may still list a killed worker for a moment
        truth = c.events_since("insurance")
        last = truth[-1]["seq"]
        eq([e["seq"] for e in truth], list(range(1, last + 1)), "the outbox is gapless:")
        by_enrolment = {}
        for e in truth:
            by_enrolment.setdefault(e["subject"], []).append(e["type"].rsplit(".", 1)[1])
        for i, eid in enumerate(ids):
            eq(by_enrolment.get(eid), REFUSED if i % 3 == 0 else INSURED,
               f"{eid}: each step once, in order:")
        wait_until = time.time() + 90
        while time.time() < wait_until and not all(_count_lines(f[0]) >= last for f in files.values()):
            time.sleep(0.5)
        for tag, (out, _) in files.items():
            lines = _read_lines(out)
            eq([e["seq"] for e in lines], list(range(1, last + 1)), f"{tag}: 1..{last} once each:")
            check(lines == truth, f"{tag}: the events are the outbox's, unchanged")
        got = _read_lines(files["fund-sync-http"][0])
        refusals = [e["data"]["refusal"]["reason_code"] for e in got
                    if e["type"] == "insurance.enrolment.refused"]
        eq(refusals, ["documents_incomplete"] * len(range(0, n, 3)), "the refusals reached the fund:")
        months = sorted(e["data"]["contribution"]["month_jalali"] for e in got
                        if e["type"] == "insurance.enrolment.contribution_recorded")
        insured = n - len(range(0, n, 3))
        eq(months, ["1403/10"] * insured + ["1403/11"] * insured, "the contributions, by Jalali month:")
        numbers = {e["data"]["insurance_number"] for e in got
                   if e["type"] == "insurance.enrolment.reinstated"}
        eq(numbers, {str(50000 + i) for i in range(n) if i % 3}, "insurance numbers in ASCII digits:")
        print(f"    ({n} enrolments, {last} events, kills {kills})")
